//! `stackwatch watch` under pressure, against moto through the scenario driver's fault proxy:
//! AWS throttling every call for a while, the endpoint refusing connections, one service failing
//! alone, one call failing between two others. The sources back off (their calls are counted at
//! the proxy), say so in `status` lines, come back by themselves and lose or repeat nothing:
//! every CloudFormation event and log line put before, during and after a fault shows exactly
//! once, and the watch ends as the deploy does.
//!
//! A fault's length is a scenario parameter; the tests wait on lines, never on sleeps. What they
//! measure (calls during a fault against the normal pace, time to recover) is printed: run with
//! `--nocapture` to see it.

#[path = "support/moto.rs"]
mod moto;
#[path = "support/watching.rs"]
mod watching;

use std::cell::Cell;
use std::time::{Duration, Instant};

use moto::Moto;
use serde_json::Value;
use watching::{Watching, add_events, expect_events, is, json, source, state, text};

/// The live sources, as `status` lines name them.
const SOURCES: [&str; 4] = ["cfn", "ecs", "elb", "logs"];
/// How long a source may take to read again once a fault is over: its backoff doubles from its
/// poll interval (3–12 s) on each failure, so a 15 s fault can leave one waiting about 25 s.
const RECOVERY_WAIT: Duration = Duration::from_secs(50);

fn number(line: &Value, name: &str, field: &str) -> u64 {
    source(line, name)
        .and_then(|s| s[field].as_u64())
        .unwrap_or(0)
}

/// The proxy's call counts.
fn calls(moto: &Moto) -> Value {
    json(&moto.get("/calls").expect("GET /calls"))
}

/// Puts one log line (its text is its identity in the output).
fn put_log(moto: &Moto, group: &str, line: &str) {
    moto.step(
        "/logs/put",
        &format!(r#"{{"group": "{group}", "stream": "web/web/faults", "lines": ["{line}"]}}"#),
    );
}

fn expect_logs(watching: &mut Watching, lines: &[String], wait: Duration) {
    for line in lines {
        watching.expect_within(&format!("log line {line}"), wait, |l| {
            is(l, "event", "log") && text(l, "message") == *line
        });
    }
}

/// Waits until every source has said it is ok.
fn expect_all_ok(watching: &mut Watching) {
    watching.expect("every source ok", |l| {
        SOURCES.iter().all(|s| state(l, s) == "ok")
    });
}

/// Waits for `name` to turn `bad`; returns the line.
fn expect_state(watching: &mut Watching, name: &str, bad: &str) -> watching::Line {
    watching.expect_line(&format!("{name} {bad}"), |l| state(l, name) == bad)
}

/// Waits for `name` to be ok again after being `bad`; returns the line.
fn expect_recovered(watching: &mut Watching, name: &str, bad: &str) -> watching::Line {
    // Lines are offered in order: the first `bad` line arms the predicate.
    let fell = Cell::new(false);
    watching.expect_within(
        &format!("{name} ok again after {bad}"),
        RECOVERY_WAIT,
        |l| match state(l, name).as_str() {
            s if s == bad => {
                fell.set(true);
                false
            }
            "ok" => fell.get(),
            _ => false,
        },
    )
}

/// Asserts each id shows exactly once among the lines of `kind` that `key` identifies.
fn assert_once(
    lines: &[Value],
    what: &str,
    wanted: &[String],
    key: impl Fn(&Value) -> Option<String>,
) {
    for id in wanted {
        let n = lines
            .iter()
            .filter(|l| key(l).as_deref() == Some(id))
            .count();
        assert_eq!(n, 1, "{what} {id} shows {n} times");
    }
}

fn cfn_id(l: &Value) -> Option<String> {
    is(l, "event", "cfn").then(|| text(l, "id"))
}

fn log_text(l: &Value) -> Option<String> {
    is(l, "event", "log").then(|| text(l, "message"))
}

/// The stack ends well: the watch (`--until complete`) exits 0 with every line it printed.
fn complete(moto: &Moto, watching: Watching, stack: &str) -> Vec<Value> {
    moto.step(
        "/cfn/stack-status",
        &format!(r#"{{"stack": "{stack}", "status": "CREATE_COMPLETE", "event": true}}"#),
    );
    let (code, lines) = watching.finish();
    assert_eq!(code, 0, "{lines:#?}");
    assert_eq!(lines.last().unwrap()["outcome"], "complete");
    lines
}

#[test]
fn every_call_throttled_for_15s_backs_off_shows_throttled_and_loses_no_event() {
    const STACK: &str = "throttled-app";
    const FAULT: Duration = Duration::from_secs(15);
    let moto = Moto::start();
    moto.step("/setup", &format!(r#"{{"stack": "{STACK}"}}"#));
    let mut w = Watching::start(&moto, &["--stack", STACK, "--no-record"]);
    expect_all_ok(&mut w);

    // Before: events in five rounds, each once the last has shown (a poll or so apart); the
    // calls made meanwhile are the normal pace.
    moto.step("/calls/reset", "{}");
    let normal_from = Instant::now();
    let mut before = Vec::new();
    for round in 0..5 {
        let added = add_events(&moto, STACK, &format!("Before{round}x"), 2);
        expect_events(&mut w, &added, watching::LINE_WAIT);
        before.extend(added);
    }
    let normal = json(&moto.step("/calls/reset", "{}"));
    let normal_s = normal_from.elapsed().as_secs_f64();
    let normal_rate = normal["total"].as_f64().unwrap() / normal_s;

    // During: every call of every service is throttled for FAULT; events keep coming, spread
    // over the fault as each source reports it.
    // Taken before asking: no source can read again before this.
    let fault_end = Instant::now() + FAULT;
    moto.step(
        "/fault",
        &format!(r#"{{"mode": "throttle", "seconds": {}}}"#, FAULT.as_secs()),
    );
    let mut during = add_events(&moto, STACK, "During", 2);
    let mut first_throttled = Vec::new();
    for name in SOURCES {
        let line = expect_state(&mut w, name, "throttled");
        first_throttled.push(number(&line.value, name, "throttled"));
        during.extend(add_events(&moto, STACK, &format!("During{name}"), 2));
    }

    // After: each source reads again by itself, with its throttled count risen.
    let mut recovered = Vec::new();
    for (name, first) in SOURCES.iter().zip(&first_throttled) {
        let line = expect_recovered(&mut w, name, "throttled");
        assert!(
            line.at >= fault_end,
            "{name} cannot read before the fault ends"
        );
        let count = number(&line.value, name, "throttled");
        assert!(count >= (*first).max(1), "{name}: {first} then {count}");
        recovered.push((*name, line.at - fault_end, *first, count));
    }
    let cfn_count = recovered[0].3;
    assert!(
        cfn_count >= 2 && cfn_count > first_throttled[0],
        "cfn retried during the fault, and its throttled count rose: {recovered:?}"
    );
    let late = expect_events(&mut w, &during, watching::LINE_WAIT);
    let counted = calls(&moto);
    let faulted = counted["faulted"].as_u64().unwrap();
    let unfaulted_pace = normal_rate * FAULT.as_secs_f64();
    eprintln!(
        "throttle {FAULT:?}: normal {:.2} calls/s over {normal_s:.1} s ({} calls) → {unfaulted_pace:.0} \
         expected in {FAULT:?}; {faulted} calls during the fault; recovery after the fault ended \
         (source, time, throttled at first, at recovery): {recovered:?}; events added during it \
         shown {:?} after it ended",
        normal_rate,
        normal["total"],
        late - fault_end
    );
    // Backed off: at most a few tries per source, far fewer than the normal pace would make,
    // and no tight loop (each failed poll is one call).
    assert!(
        faulted >= SOURCES.len() as u64,
        "every source tried: {counted}"
    );
    assert!(
        faulted <= 4 * SOURCES.len() as u64,
        "a few tries per source: {counted}"
    );
    assert!(
        (faulted as f64) < unfaulted_pace / 2.0,
        "far fewer calls than at the normal pace: {faulted} vs {unfaulted_pace:.0}"
    );

    let after = add_events(&moto, STACK, "After", 10);
    expect_events(&mut w, &after, watching::LINE_WAIT);
    let lines = complete(&moto, w, STACK);
    let all: Vec<String> = [before, during, after].concat();
    assert_eq!(all.len(), 30);
    assert_once(&lines, "cfn event", &all, cfn_id);
}

#[test]
fn endpoint_refusing_connections_for_15s_shows_unavailable_and_resumes_from_the_cursors() {
    const STACK: &str = "refused-app";
    const FAULT: Duration = Duration::from_secs(15);
    let moto = Moto::start();
    let setup = json(&moto.step("/setup", &format!(r#"{{"stack": "{STACK}"}}"#)));
    let group = text(&setup, "log_group_name");
    let mut w = Watching::start(&moto, &["--stack", STACK, "--no-record"]);
    expect_all_ok(&mut w);
    let log_lines = |phase: &str, n: usize| -> Vec<String> {
        (0..n).map(|i| format!("{phase} line {i}")).collect()
    };

    let before = add_events(&moto, STACK, "Before", 10);
    let before_logs = log_lines("before", 3);
    for line in &before_logs {
        put_log(&moto, &group, line);
    }
    expect_events(&mut w, &before, watching::LINE_WAIT);
    expect_logs(&mut w, &before_logs, watching::LINE_WAIT);

    moto.step("/calls/reset", "{}");
    let fault_end = Instant::now() + FAULT;
    moto.step(
        "/fault",
        &format!(r#"{{"mode": "refuse", "seconds": {}}}"#, FAULT.as_secs()),
    );
    let mut during = add_events(&moto, STACK, "During", 2);
    let during_logs = log_lines("during", 5);
    put_log(&moto, &group, &during_logs[0]);
    for (i, name) in SOURCES.iter().enumerate() {
        expect_state(&mut w, name, "unavailable");
        during.extend(add_events(&moto, STACK, &format!("During{name}"), 2));
        put_log(&moto, &group, &during_logs[i + 1]);
    }
    let mut recovered = Vec::new();
    for name in SOURCES {
        let line = expect_recovered(&mut w, name, "unavailable");
        assert!(
            line.at >= fault_end,
            "{name} cannot read before the fault ends"
        );
        recovered.push((name, line.at - fault_end));
    }
    let late = expect_events(&mut w, &during, watching::LINE_WAIT);
    expect_logs(&mut w, &during_logs, watching::LINE_WAIT);
    let counted = calls(&moto);
    let refused = counted["refused"].as_u64().unwrap();
    eprintln!(
        "refuse {FAULT:?}: {refused} connections or calls refused; recovery after the fault ended: \
         {recovered:?}; events added during it shown {:?} after it ended; calls: {counted}",
        late - fault_end
    );
    assert!(
        refused >= SOURCES.len() as u64,
        "every source tried: {counted}"
    );
    assert!(
        refused <= 8 * SOURCES.len() as u64,
        "backed off, no tight loop: {counted}"
    );

    let after = add_events(&moto, STACK, "After", 10);
    let after_logs = log_lines("after", 3);
    for line in &after_logs {
        put_log(&moto, &group, line);
    }
    expect_events(&mut w, &after, watching::LINE_WAIT);
    expect_logs(&mut w, &after_logs, watching::LINE_WAIT);
    let lines = complete(&moto, w, STACK);
    assert_once(
        &lines,
        "cfn event",
        &[before, during, after].concat(),
        cfn_id,
    );
    assert_once(
        &lines,
        "log line",
        &[before_logs, during_logs, after_logs].concat(),
        log_text,
    );

    // While unavailable, each source's staleness grows from line to line. The last one back
    // is still unavailable when the one before it recovers, after the whole outage.
    let mut longest = (0, 0);
    for name in SOURCES {
        let stale: Vec<u64> = lines
            .iter()
            .filter(|l| state(l, name) == "unavailable")
            .map(|l| number(l, name, "stale_s"))
            .collect();
        assert!(!stale.is_empty(), "{name} was shown unavailable");
        assert!(
            stale.windows(2).all(|w| w[0] <= w[1]),
            "{name}'s stale_s only grows: {stale:?}"
        );
        eprintln!("{name} unavailable, stale_s: {stale:?}");
        let (first, last) = (stale[0], stale[stale.len() - 1]);
        if last > longest.1 {
            longest = (first, last);
        }
    }
    assert!(
        longest.1 >= FAULT.as_secs() - 1 && longest.0 < longest.1,
        "a source shown unavailable through the outage, its stale_s growing: {longest:?}"
    );
}

#[test]
fn logs_failing_alone_never_holds_up_the_other_sources() {
    const STACK: &str = "logs-down-app";
    let moto = Moto::start();
    let setup = json(&moto.step("/setup", &format!(r#"{{"stack": "{STACK}"}}"#)));
    let group = text(&setup, "log_group_name");
    let cluster = text(&setup, "cluster_name");
    let service = text(&setup, "service_name");
    let target_group = text(&setup, "target_group_arn");
    let mut w = Watching::start(&moto, &["--stack", STACK, "--no-record"]);
    expect_all_ok(&mut w);
    // A line read just before the fault: logs then polls at its fast pace, meets the fault
    // within 3 s and backs off from there.
    put_log(&moto, &group, "before the fault");
    expect_logs(
        &mut w,
        &["before the fault".to_string()],
        watching::LINE_WAIT,
    );

    // Every CloudWatch Logs call has its connection reset, until told otherwise.
    moto.step("/fault", r#"{"mode": "refuse", "match": ["logs."]}"#);
    put_log(&moto, &group, "during the fault");
    expect_state(&mut w, "logs", "unavailable");
    let events = add_events(&moto, STACK, "WhileLogsDown", 3);
    let message = "(service app) has started 1 tasks: (task faults).";
    moto.step(
        "/ecs/service-event",
        &format!(r#"{{"cluster": "{cluster}", "service": "{service}", "message": "{message}"}}"#),
    );
    moto.step(
        "/elb/target-health",
        &format!(
            r#"{{"target_group_arn": "{target_group}", "target_id": "10.0.9.9", "port": 80,
                "state": "unhealthy", "reason": "Target.ResponseCodeMismatch"}}"#
        ),
    );
    let since = Instant::now();
    expect_events(&mut w, &events, watching::LINE_WAIT);
    let ecs = w.latency(since, "the service event", |l| {
        is(l, "event", "ecs-service") && text(l, "message") == message
    });
    let elb = w.latency(since, "the target's health", |l| {
        is(l, "event", "elb") && l.to_string().contains("10.0.9.9")
    });
    let during = calls(&moto);
    assert_eq!(during["fault"], "refuse", "logs is still down: {during}");

    moto.step("/fault", r#"{"mode": "none"}"#);
    let back = Instant::now();
    let line = expect_recovered(&mut w, "logs", "unavailable");
    expect_logs(
        &mut w,
        &["during the fault".to_string()],
        watching::LINE_WAIT,
    );
    eprintln!(
        "logs down: ecs event after {ecs:?}, target after {elb:?}; logs back {:?} after the \
         fault ended; calls during: {during}",
        line.at.saturating_duration_since(back)
    );
    let lines = complete(&moto, w, STACK);
    assert_once(&lines, "cfn event", &events, cfn_id);
    assert_once(
        &lines,
        "log line",
        &[
            "before the fault".to_string(),
            "during the fault".to_string(),
        ],
        log_text,
    );
    for name in ["cfn", "ecs", "elb"] {
        let unwell: Vec<&Value> = lines
            .iter()
            .filter(|l| l["type"] == "status" && source(l, name).is_some())
            .filter(|l| state(l, name) != "ok")
            .collect();
        assert!(unwell.is_empty(), "{name} stayed ok: {unwell:?}");
    }
}

#[test]
fn one_call_failing_mid_poll_neither_ends_the_watch_early_nor_reads_again() {
    const STACK: &str = "held-app";
    let moto = Moto::start();
    let setup = json(&moto.step(
        "/setup",
        &format!(r#"{{"stack": "{STACK}", "nested": false}}"#),
    ));
    let mut w = Watching::start(&moto, &["--stack", STACK, "--no-record"]);
    expect_all_ok(&mut w);
    let task = json(&moto.step(
        "/ecs/run-task",
        &format!(
            r#"{{"cluster": "{}", "service": "{}"}}"#,
            text(&setup, "cluster_name"),
            text(&setup, "service_name")
        ),
    ));
    let task_id = text(&task, "task_id");
    w.expect("the running task", |l| {
        is(l, "event", "ecs-task") && l.to_string().contains(&task_id)
    });

    // DescribeStacks answers but DescribeStackEvents is throttled: a poll sees the stack
    // complete, not the events that led there. ListTasks is throttled after DescribeServices
    // answered: a poll stops before it has looked at the tasks.
    moto.step(
        "/fault",
        r#"{"mode": "throttle", "match": ["cloudformation.DescribeStackEvents", "ecs.ListTasks"]}"#,
    );
    let mut last = add_events(&moto, STACK, "Last", 1);
    let stack_event = json(&moto.step(
        "/cfn/stack-status",
        &format!(r#"{{"stack": "{STACK}", "status": "CREATE_COMPLETE", "event": true}}"#),
    ));
    last.push(text(&stack_event, "event_id"));
    // The stack's status row, sent before the source's health, would come first.
    let shown_early = Cell::new(false);
    w.expect("cfn throttled", |l| {
        let complete = is(l, "event", "cfn") && text(l, "message") == "CREATE_COMPLETE";
        shown_early.set(complete || l["type"] == "summary");
        shown_early.get() || state(l, "cfn") == "throttled"
    });
    assert!(
        !shown_early.get(),
        "the stack's final status was shown, ending the watch, before the events that led \
         there could be read:\n{}",
        w.dump()
    );
    expect_state(&mut w, "ecs", "throttled");

    // ECS reads again: its running task has not changed, so it is not described again.
    moto.step("/calls/reset", "{}");
    moto.step(
        "/fault",
        r#"{"mode": "throttle", "match": ["cloudformation.DescribeStackEvents"]}"#,
    );
    expect_recovered(&mut w, "ecs", "throttled");
    let counted = calls(&moto);
    assert_eq!(
        counted["by_operation"]["ecs.DescribeTasks"]
            .as_u64()
            .unwrap_or(0),
        0,
        "the unchanged task {task_id} was described again: {counted}"
    );

    // CloudFormation reads again: the events that led to the status it ends on are shown.
    moto.step("/fault", r#"{"mode": "none"}"#);
    let (code, lines) = w.finish();
    assert_eq!(code, 0, "{lines:#?}");
    assert_once(&lines, "cfn event", &last, cfn_id);
}

#[test]
fn status_takes_its_one_look_through_a_throttled_call() {
    let moto = Moto::start();
    moto.step("/setup", r#"{"stack": "look-app"}"#);
    // The stack's status reads, its events do not: one look has no later poll, so it shows
    // what it read (in progress: exit 2) rather than no stack at all.
    moto.step(
        "/fault",
        r#"{"mode": "throttle", "match": ["cloudformation.DescribeStackEvents"]}"#,
    );
    let out = watching::stackwatch(&moto)
        .args(["status", "--stack", "look-app", "--format", "json"])
        .output()
        .expect("runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{stdout}");
    let doc = json(&stdout);
    assert_eq!(doc["stacks"][0]["status"], "CREATE_IN_PROGRESS", "{doc}");
}

/// The endpoint goes away while a create fails: the sources are shown unavailable, resume from
/// their cursors, read every event once, raise every flag, and the watch exits 1 at the
/// rollback.
#[test]
fn a_deploy_failing_during_an_outage_is_still_flagged_and_exits_one_at_the_rollback() {
    const STACK: &str = "outage-app";
    const FAULT: Duration = Duration::from_secs(10);
    let moto = Moto::start();
    let setup = json(&moto.step("/setup", &format!(r#"{{"stack": "{STACK}"}}"#)));
    let group = text(&setup, "log_group_name");
    let mut w = Watching::start(&moto, &["--stack", STACK, "--no-record"]);
    expect_all_ok(&mut w);
    // Every source has found what it reads (the log line shows) before the outage.
    let before = add_events(&moto, STACK, "Before", 3);
    let started = "listening on :8080".to_string();
    put_log(&moto, &group, &started);
    expect_events(&mut w, &before, watching::LINE_WAIT);
    expect_logs(&mut w, std::slice::from_ref(&started), watching::LINE_WAIT);

    moto.step(
        "/fault",
        &format!(r#"{{"mode": "refuse", "seconds": {}}}"#, FAULT.as_secs()),
    );
    // The create fails and the app crashes while nothing can be read.
    let failed = text(
        &json(&moto.step(
            "/cfn/event",
            &format!(
                r#"{{"stack": "{STACK}", "logical_id": "Queue", "type": "AWS::SQS::Queue",
                    "status": "CREATE_FAILED",
                    "reason": "Resource handler returned message: \"User: arn:aws:iam::123456789012:role/deployer is not authorized to perform: sqs:createqueue\" (Service: Sqs, Status Code: 403)"}}"#
            ),
        )),
        "event_id",
    );
    put_log(&moto, &group, "Error: Cannot find module 'express'");
    for name in SOURCES {
        expect_state(&mut w, name, "unavailable");
    }
    for name in SOURCES {
        expect_recovered(&mut w, name, "unavailable");
    }
    expect_events(&mut w, std::slice::from_ref(&failed), watching::LINE_WAIT);
    let rollback = text(
        &json(&moto.step(
            "/cfn/stack-status",
            &format!(r#"{{"stack": "{STACK}", "status": "ROLLBACK_COMPLETE", "event": true}}"#),
        )),
        "event_id",
    );
    let (code, lines) = w.finish();
    assert_eq!(code, 1, "{lines:#?}");
    assert_eq!(lines.last().unwrap()["outcome"], "failed");
    assert_once(
        &lines,
        "cfn event",
        &[before, vec![failed, rollback]].concat(),
        cfn_id,
    );
    let flagged = |rule: &str, resource: &str| {
        lines.iter().any(|l| {
            l["type"] == "flag" && l["rule"] == rule && text(l, "resource").contains(resource)
        })
    };
    let on_queue = lines
        .iter()
        .filter(|l| l["type"] == "flag" && text(l, "resource").ends_with("/Queue"))
        .count();
    assert!(on_queue >= 1, "the failed resource is flagged: {lines:#?}");
    assert!(flagged("log.node_module_not_found", &group), "{lines:#?}");
    assert!(flagged("deploy.rolled_back", STACK), "{lines:#?}");
    assert!(flagged("cfn.root_cause", "Queue"), "{lines:#?}");
}
