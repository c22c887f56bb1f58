//! The binary as a user runs it: help, version, errors and exit codes, headless output.

use assert_cmd::Command;
use predicates::prelude::*;

fn stackwatch() -> Command {
    let mut cmd = Command::cargo_bin("stackwatch").unwrap();
    cmd.env_remove("NO_COLOR").env_remove("STACKWATCH_THEME");
    cmd
}

#[test]
fn version_and_help_exit_zero() {
    stackwatch()
        .arg("--version")
        .assert()
        .success()
        .stdout(predicate::str::contains(env!("CARGO_PKG_VERSION")));
    stackwatch()
        .arg("--help")
        .assert()
        .success()
        .stdout(predicate::str::contains("demo").and(predicate::str::contains("replay")));
}

#[test]
fn bad_arguments_exit_three() {
    stackwatch().arg("--bogus").assert().code(3);
    stackwatch()
        .args(["replay", "x.jsonl", "--speed", "fast"])
        .assert()
        .code(3)
        .stderr(predicate::str::contains("invalid speed"));
}

#[test]
fn a_missing_recording_is_a_clear_error() {
    stackwatch()
        .args(["replay", "/nonexistent/rec.jsonl", "--json"])
        .assert()
        .code(3)
        .stderr(predicate::str::contains(
            "cannot read recording /nonexistent/rec.jsonl",
        ));
}

#[test]
fn a_garbage_recording_is_a_clear_error() {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), "garbage\n").unwrap();
    stackwatch()
        .args(["replay", "--json"])
        .arg(file.path())
        .assert()
        .code(3)
        .stderr(predicate::str::contains(":1: not a stackwatch recording"));
}

#[test]
fn demo_export_then_replay_json_gives_documented_lines() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("demo.jsonl");
    stackwatch()
        .args(["demo", "--export"])
        .arg(&path)
        .assert()
        .success();
    let out = stackwatch()
        .args(["replay", "--json", "--speed", "max"])
        .arg(&path)
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("every line is JSON"))
        .collect();
    assert!(!lines.is_empty());
    for line in &lines {
        for field in ["type", "at", "source", "resource", "message"] {
            assert!(line.get(field).is_some(), "{field} missing in {line}");
        }
    }
    let last = lines.last().unwrap();
    assert_eq!(last["type"], "summary");
    assert_eq!(
        out.status.code().unwrap() as i64,
        last["exit_code"].as_i64().unwrap()
    );
}

#[test]
fn themes_lists_the_built_in_themes() {
    stackwatch()
        .arg("themes")
        .assert()
        .success()
        .stdout(predicate::str::contains("default"));
}

#[test]
fn an_unknown_theme_is_a_clear_error_even_headless() {
    stackwatch()
        .args(["demo", "--plain", "--speed", "max", "--theme", "nope"])
        .assert()
        .code(3)
        .stderr(predicate::str::contains("nope").and(predicate::str::contains("default")));
}

#[test]
fn demo_plain_names_the_root_cause_and_exits_one() {
    stackwatch()
        .args(["demo", "--plain", "--speed", "max"])
        .env("NO_COLOR", "1")
        .assert()
        .code(1)
        .stdout(
            predicate::str::contains("FLAG error  ecs.efs_mount_network")
                .and(predicate::str::contains(
                    "root cause: payments-prod/MigrationHost",
                ))
                .and(predicate::str::contains("\x1b").not()),
        );
}

/// Writes a recording made of a header and the given observation lines.
fn recording(lines: &[&str]) -> tempfile::NamedTempFile {
    let file = tempfile::NamedTempFile::new().unwrap();
    let mut text = String::from(
        r#"{"format":"stackwatch-recording","version":"1.0","stackwatch":"0.1.0","started_at":"2026-11-23T09:00:00Z"}"#,
    );
    for line in lines {
        text.push('\n');
        text.push_str(line);
    }
    text.push('\n');
    std::fs::write(file.path(), text).unwrap();
    file
}

#[test]
fn timestamps_at_the_end_of_time_do_not_crash_or_hang() {
    let file = recording(&[
        r#"{"at":"+262142-12-31T23:58:00Z","kind":"log_event","data":{"group":"g","stream":"s","timestamp":"2026-11-23T09:00:00Z","message":"hi"}}"#,
        r#"{"at":"+262142-12-31T23:59:59.5Z","kind":"log_event","data":{"group":"g","stream":"s","timestamp":"2026-11-23T09:00:00Z","message":"bye"}}"#,
    ]);
    stackwatch()
        .args(["replay", "--plain"])
        .arg(file.path())
        .timeout(std::time::Duration::from_secs(60))
        .assert()
        .code(0)
        .stdout(predicate::str::contains("bye"));
}

#[test]
fn a_recording_with_a_gap_of_centuries_finishes() {
    let file = recording(&[
        r#"{"at":"1900-01-01T00:00:00Z","kind":"log_event","data":{"group":"g","stream":"s","timestamp":"1900-01-01T00:00:00Z","message":"then"}}"#,
        r#"{"at":"2026-11-23T09:00:00Z","kind":"log_event","data":{"group":"g","stream":"s","timestamp":"2026-11-23T09:00:00Z","message":"now"}}"#,
    ]);
    stackwatch()
        .args(["replay", "--json"])
        .arg(file.path())
        .timeout(std::time::Duration::from_secs(60))
        .assert()
        .code(0)
        .stdout(predicate::str::contains("\"message\":\"now\""));
}

#[test]
fn error_messages_never_carry_escape_sequences_from_the_file() {
    let file = recording(&[
        "{\"at\":\"2026-11-23T09:00:00Z\",\"kind\":\"\\u001b]0;PWNED\\u0007\\u001b[2J\",\"data\":{}}",
    ]);
    stackwatch()
        .args(["replay", "--plain"])
        .arg(file.path())
        .assert()
        .code(3)
        .stderr(
            predicate::str::contains(":2: not an observation")
                .and(predicate::str::contains("\x1b").not()),
        );
}

#[test]
fn every_row_an_observation_adds_is_printed() {
    // One service snapshot with two deployment transitions makes two timeline rows.
    let file = recording(&[
        r#"{"at":"2026-11-23T09:00:00Z","kind":"ecs_service","data":{"cluster":"c","service":"api","status":"ACTIVE","desired":1,"running":0,"pending":0,"deployments":[{"id":"ecs-svc/1","status":"PRIMARY","task_definition":"td:2","desired":1,"running":0,"pending":0,"failed_tasks":0,"rollout_state":"IN_PROGRESS","created_at":"2026-11-23T09:00:00Z"},{"id":"ecs-svc/0","status":"ACTIVE","task_definition":"td:1","desired":1,"running":1,"pending":0,"failed_tasks":0,"rollout_state":"COMPLETED","created_at":"2026-11-23T08:00:00Z"}]}}"#,
    ]);
    stackwatch()
        .args(["replay", "--plain"])
        .arg(file.path())
        .env("NO_COLOR", "1")
        .assert()
        .code(0)
        .stdout(
            predicate::str::contains("deployment ecs-svc/1 IN_PROGRESS")
                .and(predicate::str::contains("deployment ecs-svc/0 COMPLETED")),
        );
}

#[test]
fn speeds_that_would_freeze_playback_are_refused() {
    for speed in ["0.0000001", "1e-320", "0", "-1", "nan", "inf"] {
        stackwatch()
            .args(["replay", "x.jsonl", &format!("--speed={speed}")])
            .assert()
            .code(3)
            .stderr(predicate::str::contains("invalid speed"));
    }
}

#[test]
fn headless_demo_without_speed_plays_at_max() {
    // At the dashboard's 16x this takes a minute; headless it runs at max. The timeout only
    // keeps a regression from hanging CI: the speed chosen is checked in `cli::tests`.
    stackwatch()
        .args(["demo", "--json"])
        .timeout(std::time::Duration::from_secs(45))
        .assert()
        .code(1)
        .stdout(predicate::str::contains("\"type\":\"summary\""));
}

#[test]
fn kinds_a_later_version_added_are_skipped_with_a_note() {
    let file = recording(&[
        r#"{"at":"2026-11-23T09:00:00Z","kind":"log_event","data":{"group":"g","stream":"s","timestamp":"2026-11-23T09:00:00Z","message":"before"}}"#,
        r#"{"at":"2026-11-23T09:00:01Z","kind":"martian_landing","data":{"crater":1}}"#,
        r#"{"at":"2026-11-23T09:00:02Z","kind":"martian_landing","data":{}}"#,
        r#"{"at":"2026-11-23T09:00:03Z","kind":"log_event","data":{"group":"g","stream":"s","timestamp":"2026-11-23T09:00:03Z","message":"after","added_in_1_9":true}}"#,
    ]);
    stackwatch()
        .args(["replay", "--plain"])
        .arg(file.path())
        .env("NO_COLOR", "1")
        .assert()
        .code(0)
        .stdout(predicate::str::contains("before").and(predicate::str::contains("after")))
        .stderr(predicate::str::contains(
            "note: 2 observations of kinds this version does not know were skipped",
        ));
}

#[test]
fn status_lines_give_each_source_s_staleness_at_their_own_time() {
    let file = recording(&[
        r#"{"at":"2026-11-23T09:00:10Z","kind":"source_status","data":{"name":"ecs","state":"ok","calls_per_min":6.0,"throttled":0,"stale_s":10,"last_ok":"2026-11-23T09:00:00Z"}}"#,
        r#"{"at":"2026-11-23T09:00:20Z","kind":"source_status","data":{"name":"cfn","state":"ok","stale_s":7}}"#,
        r#"{"at":"2026-11-23T09:01:40Z","kind":"source_status","data":{"name":"cfn","state":"throttled","throttled":2,"stale_s":7}}"#,
    ]);
    let out = stackwatch()
        .args(["replay", "--json"])
        .arg(file.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let lines: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let status: Vec<&serde_json::Value> = lines.iter().filter(|l| l["type"] == "status").collect();
    assert_eq!(status.len(), 3, "{lines:?}");
    let stale = |line: &serde_json::Value, name: &str| {
        line["sources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == name)
            .map(|s| s["stale_s"].as_u64().unwrap())
    };
    assert_eq!(stale(status[0], "ecs"), Some(10));
    assert_eq!(stale(status[1], "ecs"), Some(20));
    assert_eq!(stale(status[2], "ecs"), Some(100));
    // A 1.0-style status without `last_ok` keeps the staleness it recorded.
    assert_eq!(stale(status[1], "cfn"), Some(7));
    assert_eq!(stale(status[2], "cfn"), Some(7));
    for line in &status {
        for source in line["sources"].as_array().unwrap() {
            for field in ["name", "state", "calls_per_min", "throttled", "stale_s"] {
                assert!(source.get(field).is_some(), "{field} missing in {source}");
            }
        }
    }
}

#[test]
fn discovery_rows_are_status_lines_with_the_sources() {
    let file = recording(&[
        r#"{"at":"2026-11-23T09:00:10Z","kind":"source_status","data":{"name":"ecs","state":"ok","stale_s":10,"last_ok":"2026-11-23T09:00:00Z"}}"#,
        r#"{"at":"2026-11-23T09:01:40Z","kind":"watching","data":{"source":"logs","what":"log_group","id":"/ecs/app","via":"task definition app:7"}}"#,
        r#"{"at":"2026-11-23T09:01:50Z","kind":"watching","data":{"source":"logs","what":"log_group","id":"/ecs/app"}}"#,
    ]);
    let out = stackwatch()
        .args(["replay", "--json"])
        .arg(file.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let lines: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // Said once, however often the source says it.
    let watching: Vec<&serde_json::Value> = lines
        .iter()
        .filter(|l| l["message"].as_str().unwrap_or("").starts_with("watching"))
        .collect();
    assert_eq!(watching.len(), 1, "{lines:?}");
    let line = watching[0];
    assert_eq!(line["type"], "status");
    assert_eq!(line["source"], "stackwatch");
    assert_eq!(line["resource"], "/ecs/app");
    assert_eq!(
        line["message"],
        "watching log group /ecs/app (from task definition app:7)"
    );
    assert_eq!(line["sources"][0]["stale_s"], 100);
}

/// Headless flag lines name their problem (the root flag's rule and resource), evidence
/// collapses with counts, and the summary counts the problems.
#[test]
fn demo_json_flag_lines_name_their_problem() {
    let out = stackwatch().args(["demo", "--json"]).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let flags: Vec<&serde_json::Value> = lines.iter().filter(|l| l["type"] == "flag").collect();
    assert!(!flags.is_empty());
    for f in &flags {
        assert!(
            f["problem"]["rule"].is_string() && f["problem"]["resource"].is_string(),
            "{f}"
        );
    }
    let crash = flags
        .iter()
        .find(|f| f["rule"] == "ecs.crash_loop")
        .unwrap();
    assert_eq!(
        crash["problem"]["rule"], "log.node_module_not_found",
        "{crash}"
    );
    assert!(
        crash["evidence"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e.as_str().unwrap().ends_with(" ×3")),
        "{crash}"
    );
    let summary = lines.last().unwrap();
    assert!(
        summary["message"]
            .as_str()
            .unwrap()
            .contains("10 open flags in 2 problems"),
        "{summary}"
    );
    assert_eq!(summary["problems"].as_array().unwrap().len(), 2);
}

#[test]
fn completions_for_each_shell_name_the_commands_and_flags() {
    for shell in ["bash", "zsh", "fish"] {
        let out = stackwatch().args(["completions", shell]).output().unwrap();
        assert!(out.status.success(), "{shell}");
        let script = String::from_utf8(out.stdout).unwrap();
        assert!(script.contains("watch"), "{shell}: {script}");
        assert!(script.contains("stack"), "{shell}: {script}");
        // bash and zsh spell the flag out; fish names it `-l stack`.
        assert!(
            script.contains("--stack") || script.contains("-l stack"),
            "{shell}: {script}"
        );
    }
    stackwatch().args(["completions", "tcsh"]).assert().code(3);
}

#[test]
fn the_man_page_is_roff_from_the_same_definitions() {
    stackwatch().arg("man").assert().success().stdout(
        predicate::str::starts_with(".ie")
            .and(predicate::str::contains(".TH stackwatch 1"))
            .and(predicate::str::contains("watch"))
            .and(predicate::str::contains("completions")),
    );
}

#[test]
fn redact_writes_a_copy_without_secrets_and_counts_them() {
    let input = recording(&[
        r#"{"at":"2026-11-23T09:01:00Z","kind":"log_event","data":{"group":"/ecs/api","stream":"ecs/app/0f6c0b3e9d8e4f0b9c1a2b3c4d5e6f70","timestamp":"2026-11-23T09:01:00Z","message":"env AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}}"#,
        r#"{"at":"2026-11-23T09:02:00Z","kind":"ecs_task","data":{"cluster":"prod","task_arn":"arn:aws:ecs:eu-west-1:123456789012:task/prod/0f6c0b3e9d8e4f0b9c1a2b3c4d5e6f70","task_definition":"api:7","last_status":"STOPPED","desired_status":"STOPPED","stopped_reason":"Essential container exited: postgres://app:hunter2@db:5432 refused","containers":[]}}"#,
        r#"{"at":"2026-11-23T09:03:00Z","kind":"cfn_event","data":{"stack":"app","stack_id":"arn:aws:cloudformation:eu-west-1:123456789012:stack/app/3f2504e0-4f89-11d3-9a0c-0305e82c3301","event_id":"e1","logical_id":"Api","resource_type":"AWS::ECS::Service","status":"CREATE_FAILED","reason":"Resource handler returned message: \"Service arn:aws:ecs:eu-west-1:123456789012:service/prod/api did not stabilize.\"","timestamp":"2026-11-23T09:03:00Z"}}"#,
    ]);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("shared.jsonl");
    stackwatch()
        .arg("redact")
        .arg(input.path())
        .arg(&out)
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "masked 3 value(s) in 3 observation(s)",
        ));
    let text = std::fs::read_to_string(&out).unwrap();
    for secret in ["IOSFODNN7EXAMPLE", "wJalrXUtnFEMI", "hunter2"] {
        assert!(!text.contains(secret), "{secret}: {text}");
    }
    assert!(text.contains("AKIA[redacted]"));
    assert!(text.contains("postgres://app:[redacted]@db:5432"));
    // The header, ids and ARNs are kept; the unrelated reason is untouched.
    let original = std::fs::read_to_string(input.path()).unwrap();
    let json = |line: Option<&str>| -> serde_json::Value {
        let mut value: serde_json::Value = serde_json::from_str(line.unwrap()).unwrap();
        // An empty command line is written out as `"args": []`.
        value.as_object_mut().unwrap().remove("args");
        value
    };
    assert_eq!(json(text.lines().next()), json(original.lines().next()));
    assert_eq!(json(text.lines().nth(3)), json(original.lines().nth(3)));
    assert!(text.contains("task/prod/0f6c0b3e9d8e4f0b9c1a2b3c4d5e6f70"));
    // The copy replays.
    stackwatch()
        .args(["replay", "--json"])
        .arg(&out)
        .assert()
        .code(predicate::in_iter([0, 1, 2]));
}

#[test]
fn redact_refuses_to_overwrite_its_input_and_names_bad_files() {
    let input = recording(&[]);
    stackwatch()
        .arg("redact")
        .arg(input.path())
        .arg(input.path())
        .assert()
        .code(3)
        .stderr(predicate::str::contains("IN and OUT are the same file"));
    let dir = tempfile::tempdir().unwrap();
    stackwatch()
        .args(["redact", "/nonexistent/rec.jsonl"])
        .arg(dir.path().join("out.jsonl"))
        .assert()
        .code(3)
        .stderr(predicate::str::contains(
            "cannot read recording /nonexistent/rec.jsonl",
        ));
    assert!(!dir.path().join("out.jsonl").exists());
    // Nothing to redact when nothing is recorded.
    stackwatch()
        .args(["watch", "--stack", "app", "--redact", "--no-record"])
        .assert()
        .code(3);
}

/// A note in a recording replays headless as an event line from stackwatch, resource `note`,
/// sanitised like any other text; the rules ignore it (the exit status says no problem).
#[test]
fn a_recorded_note_replays_headless_as_an_event_line() {
    let file = recording(&[
        r#"{"at":"2026-11-23T09:00:10Z","kind":"log_event","data":{"group":"/ecs/app","stream":"app/web/1","timestamp":"2026-11-23T09:00:10Z","message":"listening on :8080"}}"#,
        r#"{"at":"2026-11-23T09:00:20Z","kind":"note","data":{"text":"restarted the service \u001b[2Jnow","author":"ana"}}"#,
    ]);
    let out = stackwatch()
        .args(["replay", "--json"])
        .arg(file.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let lines: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let notes: Vec<&serde_json::Value> = lines.iter().filter(|l| l["resource"] == "note").collect();
    assert_eq!(notes.len(), 1, "{lines:?}");
    let note = notes[0];
    assert_eq!(note["type"], "event");
    assert_eq!(note["source"], "stackwatch");
    assert_eq!(note["at"], "2026-11-23T09:00:20Z");
    assert_eq!(note["message"], "restarted the service now");

    stackwatch()
        .args(["replay", "--plain"])
        .arg(file.path())
        .assert()
        .code(0)
        .stdout(
            predicate::str::contains("restarted the service now")
                .and(predicate::str::contains("\x1b").not()),
        );
}
