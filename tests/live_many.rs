//! Many things at once against moto: a cluster of 22 services, each with its own target group
//! and log group (`/setup-cluster`), and two stacks watched together. Everything is discovered,
//! ECS describes are batched (counted per poll round at the endpoint), each stack's events come
//! once, the dashboard in a real terminal pages through every service, and `status --cluster`
//! lists every service with its counts.

#[path = "support/moto.rs"]
mod moto;
#[path = "support/terminal.rs"]
mod terminal;
#[path = "support/watching.rs"]
mod watching;

use std::collections::BTreeMap;
use std::io::Write;
use std::time::{Duration, Instant};

use moto::Moto;
use serde_json::Value;
use watching::{Watching, is, stackwatch, text};

const SERVICES: usize = 22;
/// Longest wait for what the budget paces over 22 groups (two minutes of pace is 24 s).
const BUDGETED_WAIT: Duration = Duration::from_secs(120);

/// Calls by "service.Operation", as the proxy in front of moto counted them.
type Calls = BTreeMap<String, u64>;

/// A cluster of `SERVICES` services built by `/setup-cluster`: its answer.
fn big_cluster(moto: &Moto) -> Value {
    let body = format!(r#"{{"cluster": "big", "services": {SERVICES}}}"#);
    let setup: Value = serde_json::from_str(&moto.step("/setup-cluster", &body)).unwrap();
    assert_eq!(setup["services"].as_array().unwrap().len(), SERVICES);
    setup
}

fn services(setup: &Value) -> &Vec<Value> {
    setup["services"].as_array().unwrap()
}

/// The counts so far (since the last `/calls/reset`).
fn calls(moto: &Moto) -> Calls {
    let answer: Value = serde_json::from_str(&moto.get("/calls").unwrap()).unwrap();
    serde_json::from_value(answer["by_operation"].clone()).unwrap()
}

/// The calls made over `window` (for calls-per-minute figures): the counts after less the
/// counts before. The wait is the measurement itself, not a synchronisation.
fn calls_over(moto: &Moto, window: Duration) -> Calls {
    let before = calls(moto);
    std::thread::sleep(window);
    let mut after = calls(moto);
    for (op, n) in &before {
        if let Some(count) = after.get_mut(op) {
            *count -= n;
        }
    }
    after.retain(|_, n| *n > 0);
    after
}

/// The calls of `rounds` whole poll rounds of the ECS source, one map each. A round starts
/// with ListServices (`--cluster` lists the cluster first), so the proxy's ordered call log
/// splits exactly into rounds whatever the pace; the calls before the first ListServices after
/// the reset belong to a round already under way and are left out.
fn ecs_rounds(moto: &Moto, rounds: usize) -> Vec<Calls> {
    moto.step("/calls/reset", "{}");
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let log: Value = serde_json::from_str(&moto.get("/calls/log").unwrap()).unwrap();
        let ecs: Vec<&str> = log["operations"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .filter(|op| op.starts_with("ecs."))
            .collect();
        let starts: Vec<usize> = (0..ecs.len())
            .filter(|&i| ecs[i] == "ecs.ListServices")
            .collect();
        // Round k is complete once round k + 1 has started.
        if starts.len() > rounds {
            return starts
                .windows(2)
                .take(rounds)
                .map(|w| {
                    let mut round = Calls::new();
                    for op in &ecs[w[0]..w[1]] {
                        *round.entry(op.to_string()).or_default() += 1;
                    }
                    round
                })
                .collect();
        }
        assert!(
            Instant::now() < deadline,
            "fewer than {rounds} ECS rounds in 120 s: {ecs:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Waits for the `watching` line that says `what id` is watched.
fn expect_watching(watching: &mut Watching, what: &str, id: &str) {
    let said = format!("watching {what} {id}");
    watching.expect(&said, |l| {
        is(l, "status", "stackwatch") && text(l, "message").starts_with(&said)
    });
}

#[test]
fn a_cluster_of_22_services_is_discovered_whole_and_described_in_batches() {
    let moto = Moto::start();
    let setup = big_cluster(&moto);
    let mut watching = Watching::start(&moto, &["--cluster", "big", "--no-record"]);
    for svc in services(&setup) {
        let name = text(svc, "service");
        expect_watching(&mut watching, "service", &format!("big/{name}"));
        expect_watching(
            &mut watching,
            "target group",
            &text(svc, "target_group_arn"),
        );
        expect_watching(&mut watching, "log group", &text(svc, "log_group"));
        watching.expect("the service's state", |l| {
            l["source"] == "ecs-service" && text(l, "resource") == name
        });
        let task = format!("{name}/{}", task_id(svc["task_arns"][0].as_str().unwrap()));
        watching.expect("its task", |l| {
            is(l, "event", "ecs-task") && text(l, "resource") == task
        });
        // Each group is tailed: a line written to it shows.
        let put = serde_json::json!({
            "group": svc["log_group"],
            "stream": format!("web/web/{}", task_id(&task)),
            "lines": [format!("{name} is listening")],
        });
        moto.step("/logs/put", &put.to_string());
    }
    // The budget paces 22 groups' reads (moto ends each Live Tail stream at once, so every
    // re-open backfills every group): lines and targets take a few budgeted rounds.
    for svc in services(&setup) {
        let line = format!("{} is listening", text(svc, "service"));
        watching.expect_within(&line, BUDGETED_WAIT, |l| {
            is(l, "event", "log") && text(l, "message") == line
        });
    }
    // Every group's one target, each read and shown.
    let mut targets = std::collections::BTreeSet::new();
    for _ in 0..SERVICES {
        let line = watching.expect_within("another group's target", BUDGETED_WAIT, |l| {
            is(l, "event", "elb") && !targets.contains(&text(l, "resource"))
        });
        targets.insert(text(&line.value, "resource"));
    }
    // Everything is known: the rounds from now on are the steady ones.
    let batches = (SERVICES as u64).div_ceil(10);
    for (i, round) in ecs_rounds(&moto, 3).iter().enumerate() {
        eprintln!("ECS round {}: {round:?}", i + 1);
        assert_eq!(round.get("ecs.ListServices"), Some(&1), "{round:?}");
        // 22 services, 10 a call: 3 DescribeServices, not one per service.
        assert_eq!(
            round.get("ecs.DescribeServices"),
            Some(&batches),
            "{round:?}"
        );
    }
    eprintln!("all sources since the reset: {:?}", calls(&moto));

    // The whole watch, all four services, within the budget: at most 60 calls a minute of
    // stackwatch's pace (a minute is PACE_SCALE minutes here), counted at the endpoint.
    let minute = Duration::from_secs(60).mul_f64(moto::PACE_SCALE);
    let window = calls_over(&moto, minute * 2);
    let total: u64 = window.values().sum();
    eprintln!("two minutes of pace, idle cluster: {total} calls {window:?}");
    assert!(
        total <= 2 * 60,
        "{total} calls in two minutes of pace: {window:?}"
    );
}

fn task_id(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

#[test]
fn two_stacks_watched_together_each_event_comes_once() {
    let moto = Moto::start();
    let mut nested = BTreeMap::new();
    for stack in ["app-a", "app-b"] {
        let setup = moto.step("/setup", &format!(r#"{{"stack": "{stack}"}}"#));
        let setup: Value = serde_json::from_str(&setup).unwrap();
        nested.insert(stack, text(&setup, "nested_stack_name"));
    }
    let mut watching = Watching::start(
        &moto,
        &["--stack", "app-a", "--stack", "app-b", "--no-record"],
    );
    for stack in ["app-a", "app-b", "app-a/Config", "app-b/Config"] {
        watching.expect(&format!("{stack}'s User Initiated event"), |l| {
            is(l, "event", "cfn")
                && l["stack"] == stack
                && text(l, "message").contains("User Initiated")
        });
    }
    // Both deploys go on between polls, interleaved; then both end.
    let mut posted = Vec::new();
    for status in ["CREATE_IN_PROGRESS", "CREATE_COMPLETE"] {
        for stack in ["app-a", "app-b"] {
            let body =
                format!(r#"{{"stack": "{stack}", "logical_id": "Service", "status": "{status}"}}"#);
            let answer: Value = serde_json::from_str(&moto.step("/cfn/event", &body)).unwrap();
            posted.push(text(&answer, "event_id"));
        }
    }
    // The nested stacks complete first, as CloudFormation does, then the roots, all at once
    // (between two polls): the watch must not end on a root's completion before it has shown
    // its child's (the source reads nested stacks before their parents).
    for stack in ["app-a", "app-b"] {
        let name = &nested[stack];
        let body = format!(r#"{{"stack": "{name}", "status": "CREATE_COMPLETE", "event": true}}"#);
        let answer: Value = serde_json::from_str(&moto.step("/cfn/stack-status", &body)).unwrap();
        posted.push(text(&answer, "event_id"));
    }
    for stack in ["app-a", "app-b"] {
        let body = format!(r#"{{"stack": "{stack}", "status": "CREATE_COMPLETE", "event": true}}"#);
        let answer: Value = serde_json::from_str(&moto.step("/cfn/stack-status", &body)).unwrap();
        posted.push(text(&answer, "event_id"));
    }
    let (code, lines) = watching.finish();
    assert_eq!(code, 0, "both stacks completed: {lines:#?}");
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for l in lines.iter().filter(|l| is(l, "event", "cfn")) {
        *seen.entry(text(l, "id")).or_default() += 1;
    }
    let twice: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        twice.is_empty(),
        "events shown more than once: {twice:?} {lines:#?}"
    );
    for id in &posted {
        assert!(seen.contains_key(id), "event {id} not shown: {lines:#?}");
    }
    // Four User Initiated, four for the services, four completions: each stack's own.
    assert_eq!(seen.len(), 12, "{seen:?}");
    for stack in ["app-a", "app-b"] {
        let own = |l: &&Value| is(l, "event", "cfn") && l["stack"] == stack;
        assert_eq!(lines.iter().filter(own).count(), 4, "{stack}: {lines:#?}");
    }
}

#[test]
fn status_of_a_cluster_lists_every_service_with_its_counts() {
    let moto = Moto::start();
    let setup = big_cluster(&moto);
    // One service is rolled out; the others are still starting their task.
    moto.step(
        "/ecs/deployment",
        r#"{"cluster": "big", "service": "big-svc-07", "rollout_state": "COMPLETED", "running": 1, "pending": 0}"#,
    );
    let run = |format: &str| {
        let out = stackwatch(&moto)
            .args(["status", "--cluster", "big", "--format", format])
            .output()
            .expect("runs");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).to_string(),
        )
    };
    let (code, json) = run("json");
    // 21 rollouts are in progress: in progress, exit 2.
    assert_eq!(code, Some(2), "{json}");
    let doc: Value = serde_json::from_str(&json).expect("one JSON document");
    let listed = doc["services"].as_array().unwrap();
    assert_eq!(listed.len(), SERVICES, "{doc:#}");
    for (svc, row) in services(&setup).iter().zip(listed) {
        assert_eq!(row["service"], svc["service"]);
        assert_eq!(row["cluster"], "big");
        assert_eq!(row["desired"], 1);
        assert_eq!(row["tasks"], 1, "its one task: {row}");
    }
    let svc7 = &listed[6];
    assert_eq!((&svc7["running"], &svc7["pending"]), (&1.into(), &0.into()));
    assert_eq!(svc7["rollout_state"], "COMPLETED");
    assert_eq!(doc["target_groups"].as_array().unwrap().len(), SERVICES);

    let (_, text) = run("text");
    for svc in services(&setup) {
        let name = svc["service"].as_str().unwrap();
        assert!(
            text.lines()
                .any(|l| l.contains(name) && l.contains("running")),
            "{name}: {text}"
        );
    }
    assert!(text.contains("running 1/1, pending 0"), "{text}");
    let (_, md) = run("md");
    let rows = md.lines().filter(|l| l.starts_with("| big-svc-")).count();
    assert_eq!(rows, SERVICES, "{md}");
}

#[test]
fn the_dashboard_opens_on_the_cluster_and_pages_through_all_22_services() {
    const ROWS: u16 = 48;
    const COLS: u16 = 160;
    let moto = Moto::start();
    big_cluster(&moto);
    let mut env = moto.env();
    env.push((
        "STACKWATCH_STATE_DIR",
        watching::state_dir().display().to_string(),
    ));
    let (master, mut child) = terminal::spawn_stackwatch(
        ROWS,
        COLS,
        &["watch", "--cluster", "big", "--no-record"],
        env,
    );
    let (screen, reader_thread) = terminal::read_screen(&*master, ROWS, COLS);
    let mut writer = master.take_writer().unwrap();
    let wait = |what: &str, check: &dyn Fn(&str) -> bool| {
        terminal::wait_for(&screen, watching::LINE_WAIT, check)
            .unwrap_or_else(|s| panic!("{what} never showed:\n{s}"))
    };
    // No stack: the header names the cluster and the dashboard opens on the ECS pane (focused:
    // a thick border), which has the resources' place.
    wait("the cluster and its services", &|s| {
        s.contains("cluster big · 22 services") && s.contains("┏ 3 ECS 22 services")
    });
    for (key, pane) in [("3", "ECS"), ("4", "Targets")] {
        writer.write_all(key.as_bytes()).unwrap();
        writer.flush().unwrap();
        for n in 1..=SERVICES {
            let name = format!("big-svc-{n:02}");
            // ECS: the service's row; Targets: its group, beside its name.
            let row = match pane {
                "ECS" => format!("{name} ACTIVE"),
                _ => format!("{name}  {name}-tg"),
            };
            let shown = |s: &str| s.contains(&row);
            if terminal::wait_for(&screen, Duration::ZERO, shown).is_err() {
                // Not on this page: the next one has it.
                writer.write_all(b"\x1b[6~").unwrap();
                writer.flush().unwrap();
                wait(&format!("{row} in {pane}"), &shown);
            }
        }
    }
    writer.write_all(b"q").unwrap();
    writer.flush().unwrap();
    terminal::expect_clean_exit(&mut child, "q");
    drop(writer);
    drop(master);
    let _ = reader_thread.join();
    terminal::assert_restored(&screen, "q");
}
