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
