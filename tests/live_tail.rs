//! Logs at full speed: `stackwatch watch` tails CloudWatch Logs with StartLiveTail through the
//! scenario driver's loopback proxy (so the SDK's `stream-` host prefix must be handled), and
//! the proxy counts the calls that show it. moto sends a session's existing lines in one update
//! and closes the stream, so every test also plays a stream that drops: the source re-opens it,
//! backfills with FilterLogEvents, and each line still shows exactly once. The tests wait on
//! lines and on call counts, never on sleeps.

#[path = "support/moto.rs"]
mod moto;
#[path = "support/watching.rs"]
mod watching;

use std::time::{Duration, Instant};

use moto::Moto;
use serde_json::Value;
use watching::{Watching, is, json, text};

const GROUP: &str = "/ecs/tail-app";
/// The source's least time between two opens of Live Tail (`REOPEN_MIN`).
const REOPEN_MIN_S: u64 = 5;

/// How many calls of `operation` (`logs.StartLiveTail`) the proxy has seen.
fn calls(moto: &Moto, operation: &str) -> u64 {
    let counted = json(&moto.get("/calls").expect("GET /calls"));
    counted["by_operation"][operation].as_u64().unwrap_or(0)
}

/// Waits until the proxy has seen more than `than` calls of `operation`.
fn wait_for_calls(moto: &Moto, operation: &str, than: u64) {
    let deadline = Instant::now() + watching::LINE_WAIT;
    while calls(moto, operation) <= than {
        assert!(
            Instant::now() < deadline,
            "no {operation} after {than} within {:?}",
            watching::LINE_WAIT
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Puts one line (its text is its identity in the output).
fn put(moto: &Moto, line: &str) {
    moto.step(
        "/logs/put",
        &format!(r#"{{"group": "{GROUP}", "stream": "web/web/tail", "lines": ["{line}"]}}"#),
    );
}

fn is_line(l: &Value, line: &str) -> bool {
    is(l, "event", "log") && text(l, "message") == line
}

/// `watch --log-group` that ends by itself after `timeout`.
fn watch(moto: &Moto, timeout: &str) -> Watching {
    Watching::start(
        moto,
        &[
            "--log-group",
            GROUP,
            "--until",
            "never",
            "--timeout",
            timeout,
            "--no-record",
        ],
    )
}

fn assert_once(lines: &[Value], wanted: &[String]) {
    for line in wanted {
        let n = lines.iter().filter(|l| is_line(l, line)).count();
        assert_eq!(n, 1, "log line {line:?} shows {n} times");
    }
}

#[test]
fn lines_arrive_by_live_tail_and_once_each_across_re_opens_and_backfills() {
    let moto = Moto::start();
    put(&moto, "before the watch");
    let started = Instant::now();
    let mut w = watch(&moto, "35s");
    let mut sent = vec!["before the watch".to_string()];
    w.expect("the line put before the watch", |l| is_line(l, &sent[0]));
    // moto closes each stream after one update: each round waits for the next open, then puts
    // a line that can only arrive through that open's backfill or the next stream.
    for round in 0..2 {
        let opens = calls(&moto, "logs.StartLiveTail");
        wait_for_calls(&moto, "logs.StartLiveTail", opens);
        let line = format!("between opens {round}");
        put(&moto, &line);
        w.expect(&line, |l| is_line(l, &line));
        sent.push(line);
    }
    let (_, lines) = w.finish();
    let watched = started.elapsed().as_secs();
    assert_once(&lines, &sent);

    let opens = calls(&moto, "logs.StartLiveTail");
    let reads = calls(&moto, "logs.FilterLogEvents");
    eprintln!("{watched} s: {opens} Live Tail opens, {reads} FilterLogEvents");
    assert!(
        opens >= 4,
        "Live Tail opened, then re-opened each round: {opens}"
    );
    // One backfill per open (one group, one page); the last open may be cut short by the exit.
    assert!(
        reads.abs_diff(opens) <= 1,
        "a backfill per open: {reads} reads for {opens} opens"
    );
    // No spin: at most one open per REOPEN_MIN while the watch ran.
    assert!(
        opens <= watched / REOPEN_MIN_S + 2,
        "{opens} opens in {watched} s"
    );
}

#[test]
fn with_backfills_denied_lines_come_through_the_stream_alone_and_the_gaps_are_marked() {
    let moto = Moto::start();
    put(&moto, "before the watch");
    // Live Tail works, FilterLogEvents is denied: every line must come through the stream
    // (no event id), and each backfill that could not run is marked as a gap.
    moto.step(
        "/fault",
        r#"{"mode": "error", "code": "AccessDeniedException", "match": ["logs.FilterLogEvents"]}"#,
    );
    let mut w = watch(&moto, "20s");
    let mut sent = vec!["before the watch".to_string()];
    let first = w.expect("the line put before the watch", |l| is_line(l, &sent[0]));
    assert!(
        first["id"].is_null(),
        "read from Live Tail, not FilterLogEvents: {first}"
    );
    let gap = w.expect("a gap marked", |l| {
        is(l, "event", "log") && text(l, "message").contains("could not be read")
    });
    assert_eq!(text(&gap, "resource"), GROUP, "{gap}");
    assert!(text(&gap, "message").contains("access denied"), "{gap}");

    let opens = calls(&moto, "logs.StartLiveTail");
    wait_for_calls(&moto, "logs.StartLiveTail", opens);
    put(&moto, "while tailing");
    sent.push("while tailing".to_string());
    let line = w.expect("the line put while tailing", |l| {
        is_line(l, "while tailing")
    });
    assert!(line["id"].is_null(), "{line}");
    let (_, lines) = w.finish();
    assert_once(&lines, &sent);
    assert!(
        calls(&moto, "logs.FilterLogEvents") >= 1,
        "backfills were tried"
    );
}

/// With `fault` played by the proxy, lines still arrive, by polling, each once; the source
/// stays ok. Returns how many times StartLiveTail was tried.
fn polls_instead(fault: &str) -> u64 {
    let moto = Moto::start();
    moto.step("/fault", fault);
    put(&moto, "before the watch");
    let mut w = watch(&moto, "20s");
    let mut sent = vec!["before the watch".to_string()];
    w.expect("the line put before the watch", |l| is_line(l, &sent[0]));
    for i in 0..2 {
        let reads = calls(&moto, "logs.FilterLogEvents");
        wait_for_calls(&moto, "logs.FilterLogEvents", reads);
        let line = format!("polled {i}");
        put(&moto, &line);
        w.expect(&line, |l| is_line(l, &line));
        sent.push(line);
    }
    let (_, lines) = w.finish();
    assert_once(&lines, &sent);
    assert!(calls(&moto, "logs.FilterLogEvents") >= 3);
    // A refusal polling stands in for is not a failure of the source.
    let unwell: Vec<&Value> = lines
        .iter()
        .filter(|l| l["type"] == "status")
        .filter_map(|l| l["sources"].as_array())
        .flatten()
        .filter(|s| s["name"] == "logs" && s["state"] != "ok")
        .collect();
    assert!(unwell.is_empty(), "logs stayed ok: {unwell:?}");
    calls(&moto, "logs.StartLiveTail")
}

#[test]
fn live_tail_refused_falls_back_to_polling_and_loses_and_repeats_nothing() {
    let tries = polls_instead(
        r#"{"mode": "error", "code": "AccessDeniedException", "match": ["logs.StartLiveTail"]}"#,
    );
    // Refused once, then polled: Live Tail is tried again only minutes later.
    assert_eq!(tries, 1);
}

#[test]
fn over_the_live_tail_quota_or_without_describe_log_groups_it_polls() {
    let tries = polls_instead(
        r#"{"mode": "error", "code": "LimitExceededException", "match": ["logs.StartLiveTail"]}"#,
    );
    assert_eq!(tries, 1);
    // No ARNs to tail without DescribeLogGroups: polled without trying.
    let tries = polls_instead(
        r#"{"mode": "error", "code": "AccessDeniedException", "match": ["logs.DescribeLogGroups"]}"#,
    );
    assert_eq!(tries, 0);
}
