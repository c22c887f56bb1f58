//! `stackwatch watch` against a real AWS API peer: each test starts its own moto (through the
//! scenario driver, on free loopback ports, stopped by PID when the test ends, pass or fail),
//! builds a stack from a real template, plays what moto cannot produce step by step, and reads
//! the binary's `--json` lines as they come.

#[path = "support/moto.rs"]
mod moto;
#[path = "support/watching.rs"]
mod watching;

use moto::Moto;
use serde_json::Value;
use watching::{Watching, is, stackwatch, text};

#[test]
fn a_stack_stuck_in_progress_past_the_timeout_exits_two() {
    let moto = Moto::start();
    moto.step("/setup", r#"{"stack": "stuck-app"}"#);
    let watching = Watching::start(
        &moto,
        &["--stack", "stuck-app", "--timeout", "4s", "--no-record"],
    );
    let (code, lines) = watching.finish();
    assert_eq!(code, 2, "{lines:?}");
    let summary = lines.last().expect("a summary line");
    assert_eq!(summary["type"], "summary");
    assert_eq!(summary["outcome"], "stuck");
    assert!(text(summary, "message").contains("timed out after 4s"));
    assert!(
        lines
            .iter()
            .any(|l| is(l, "event", "cfn") && text(l, "message").contains("User Initiated")),
        "the stack's events were read"
    );
}

#[test]
fn a_missing_stack_a_wrong_region_and_a_refused_endpoint_exit_three() {
    let moto = Moto::start();
    moto.step("/setup", r#"{"stack": "real-app"}"#);
    let run = |extra: &[&str], env: &[(&str, &str)]| {
        let out = stackwatch(&moto)
            .args(["watch", "--json", "--no-record"])
            .args(extra)
            .envs(env.iter().copied())
            .output()
            .expect("runs");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    };
    let (code, err) = run(&["--stack", "no-such-app"], &[]);
    assert_eq!(code, Some(3), "{err}");
    assert!(
        err.contains("stack no-such-app not found in us-east-1"),
        "{err}"
    );

    let (code, err) = run(&["--stack", "real-app", "--region", "eu-west-3"], &[]);
    assert_eq!(code, Some(3), "{err}");
    assert!(err.contains("not found in eu-west-3"), "{err}");

    // A port nothing listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let (code, err) = run(
        &["--stack", "real-app"],
        &[("AWS_ENDPOINT_URL", url.as_str())],
    );
    assert_eq!(code, Some(3), "{err}");
    assert!(err.contains("cannot reach"), "{err}");
    assert!(err.lines().count() <= 2, "one clear line: {err}");
}

#[test]
fn discovery_from_the_stack_name_finds_the_service_the_targets_and_the_logs() {
    let moto = Moto::start();
    let setup = moto.step("/setup", r#"{"stack": "shop"}"#);
    let setup: Value = serde_json::from_str(&setup).unwrap();
    let cluster = text(&setup, "cluster_name");
    let service = text(&setup, "service_name");
    let mut watching = Watching::start(
        &moto,
        &["--stack", "shop", "--until", "never", "--no-record"],
    );
    watching.expect("the stack's first event", |l| is(l, "event", "cfn"));
    // A task of the service starts, registers in the target group and logs.
    let task = moto.step(
        "/ecs/run-task",
        &format!(r#"{{"cluster": "{cluster}", "service": "{service}"}}"#),
    );
    let task: Value = serde_json::from_str(&task).unwrap();
    let stream = text(&task, "log_stream");
    moto.step(
        "/logs/put",
        &format!(
            r#"{{"group": "{}", "stream": "{stream}", "lines": ["listening on :8080"]}}"#,
            text(&setup, "log_group_name")
        ),
    );
    // What the stack alone led to, each said once as a `watching` status line.
    let group = text(&setup, "log_group_name");
    for (what, id) in [
        ("service", format!("{cluster}/{service}")),
        ("target group", text(&setup, "target_group_arn")),
        ("log group", group.clone()),
    ] {
        let said = format!("watching {what} {id}");
        watching.expect(&said, |l| {
            is(l, "status", "stackwatch") && text(l, "message").starts_with(&said)
        });
    }
    watching.expect("the service", |l| {
        l["source"] == "ecs-service" && text(l, "resource") == service
    });
    watching.expect("the task", |l| is(l, "event", "ecs-task"));
    watching.expect("the target's health", |l| is(l, "event", "elb"));
    watching.expect("the app's log line", |l| {
        is(l, "event", "log") && text(l, "message").contains("listening on :8080")
    });
}

#[test]
fn wait_watches_a_stack_created_after_the_watch_started() {
    let moto = Moto::start();
    let mut watching = Watching::start(
        &moto,
        &[
            "--stack",
            "late-app",
            "--wait",
            "--timeout",
            "60s",
            "--no-record",
        ],
    );
    // The first deploy starts after the watch: it waits instead of exiting 3.
    moto.step("/setup", r#"{"stack": "late-app"}"#);
    watching.expect("the new stack's first event", |l| {
        is(l, "event", "cfn") && text(l, "message").contains("User Initiated")
    });
    moto.step(
        "/cfn/stack-status",
        r#"{"stack": "late-app", "status": "CREATE_COMPLETE"}"#,
    );
    let (code, lines) = watching.finish();
    assert_eq!(code, 0, "{lines:?}");
    assert_eq!(lines.last().unwrap()["outcome"], "complete");
}

#[test]
fn until_complete_shows_the_events_that_ended_the_stack() {
    let moto = Moto::start();
    moto.step("/setup", r#"{"stack": "brief-app", "nested": false}"#);
    let mut watching = Watching::start(&moto, &["--stack", "brief-app", "--no-record"]);
    watching.expect("the stack's User Initiated event", |l| {
        is(l, "event", "cfn") && text(l, "message").contains("User Initiated")
    });
    // The last resource and the stack complete between two polls: the poll that reads the
    // final status also reads these events, and the watch must not end before showing them.
    moto.step(
        "/cfn/event",
        r#"{"stack": "brief-app", "logical_id": "Service", "status": "CREATE_COMPLETE"}"#,
    );
    moto.step(
        "/cfn/stack-status",
        r#"{"stack": "brief-app", "status": "CREATE_COMPLETE", "event": true}"#,
    );
    let (code, lines) = watching.finish();
    assert_eq!(code, 0, "{lines:?}");
    let event = |resource: &str| {
        lines.iter().any(|l| {
            is(l, "event", "cfn")
                && l["id"].is_string()
                && text(l, "resource") == resource
                && text(l, "message") == "CREATE_COMPLETE"
        })
    };
    assert!(event("Service"), "the service's event: {lines:#?}");
    assert!(event("brief-app"), "the stack's own event: {lines:#?}");
    assert_eq!(lines.last().unwrap()["outcome"], "complete");
}

#[test]
fn status_takes_one_look_and_exits_by_the_deploys_state() {
    let moto = Moto::start();
    moto.step("/setup", r#"{"stack": "look-app"}"#);
    let run = |format: &str| {
        let out = stackwatch(&moto)
            .args(["status", "--stack", "look-app", "--format", format])
            .output()
            .expect("runs");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).to_string(),
        )
    };
    // Mid-deploy: in progress, exit 2.
    let (code, json) = run("json");
    assert_eq!(code, Some(2), "{json}");
    let doc: Value = serde_json::from_str(&json).expect("one JSON document");
    assert_eq!(doc["stacks"][0]["stack"], "look-app");
    assert_eq!(doc["stacks"][0]["status"], "CREATE_IN_PROGRESS");
    assert!(doc["root_cause"].is_null());
    let (_, text) = run("text");
    assert!(
        text.contains("stack look-app  CREATE_IN_PROGRESS"),
        "{text}"
    );
    // Settled: exit 0.
    moto.step(
        "/cfn/stack-status",
        r#"{"stack": "look-app", "status": "CREATE_COMPLETE"}"#,
    );
    let (code, md) = run("md");
    assert!(md.contains("| look-app | CREATE\\_COMPLETE |"), "{md}");
    assert_eq!(code, Some(0), "{md}");
}
