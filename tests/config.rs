//! The config file as a user writes it (docs/config.md): user rules fire, muted rules do not,
//! bad files are refused with the file, the key and the line (exit 3), and `config --print`
//! round-trips.

use assert_cmd::Command;
use predicates::prelude::*;

fn stackwatch() -> Command {
    let mut cmd = Command::cargo_bin("stackwatch").unwrap();
    cmd.env_remove("NO_COLOR")
        .env_remove("STACKWATCH_THEME")
        .env_remove("STACKWATCH_CONFIG")
        // No user's own config.toml leaks in.
        .env("XDG_CONFIG_HOME", "/nonexistent/stackwatch-test-config")
        .env("HOME", "/nonexistent/stackwatch-test-home");
    cmd
}

const USER_RULE: &str = r#"
muted = ["log.node_module_not_found"]

[detect]
crash_loop_stops = 4

[[rules]]
id = "app.migrations_at_start"
source = "log"
regex = 'running database (?P<what>migrations)'
severity = "warn"
summary = "the app runs ${what} at start-up"
next_step = "run migrations as a one-off task before the deploy"
"#;

fn config_file(text: &str) -> tempfile::NamedTempFile {
    let file = tempfile::Builder::new().suffix(".toml").tempfile().unwrap();
    std::fs::write(file.path(), text).unwrap();
    file
}

fn json_rules(stdout: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["type"] == "flag")
        .filter_map(|v| v["rule"].as_str().map(String::from))
        .collect()
}

#[test]
fn a_user_rule_fires_and_a_muted_rule_does_not_in_the_demo() {
    let plain = stackwatch().args(["demo", "--json"]).output().unwrap();
    let rules = json_rules(&plain.stdout);
    assert!(rules.iter().any(|r| r == "log.node_module_not_found"));
    assert!(!rules.iter().any(|r| r == "app.migrations_at_start"));

    let file = config_file(USER_RULE);
    let out = stackwatch()
        .args(["demo", "--json", "--config"])
        .arg(file.path())
        .output()
        .unwrap();
    let rules = json_rules(&out.stdout);
    assert!(
        rules.iter().any(|r| r == "app.migrations_at_start"),
        "{rules:?}"
    );
    assert!(
        !rules.iter().any(|r| r == "log.node_module_not_found"),
        "{rules:?}"
    );
}

#[test]
fn explain_knows_user_rules_after_the_built_in_ones() {
    let file = config_file(USER_RULE);
    stackwatch()
        .env("STACKWATCH_CONFIG", file.path())
        .args([
            "explain",
            "--source",
            "log",
            "[entrypoint] running database migrations",
        ])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("app.migrations_at_start").and(predicate::str::contains(
                "the app runs migrations at start-up",
            )),
        );
    // Built-in rules come first.
    stackwatch()
        .arg("--config")
        .arg(file.path())
        .args([
            "explain",
            "--source",
            "log",
            "Error [ERR_MODULE_NOT_FOUND]: Cannot find package 'express' running database migrations",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("log.node_module_not_found"));
}

fn refused(text: &str, expect: &str) {
    let file = config_file(text);
    let name = file.path().display().to_string();
    stackwatch()
        .args(["replay", "/nonexistent.jsonl", "--json", "--config"])
        .arg(file.path())
        .assert()
        .code(3)
        .stderr(predicate::str::contains(format!(
            "stackwatch: error: config file {name}, {expect}"
        )));
}

#[test]
fn bad_config_files_name_the_file_the_key_and_the_line() {
    refused(
        "[detect]\ncrash_loop_stops = 3\ncrash_loop_windows = 60\n",
        "line 3, key `detect.crash_loop_windows`: unknown field `crash_loop_windows`",
    );
    refused(
        &USER_RULE.replace("(?P<what>migrations)", "(?P<what>migrations"),
        "line 10, key `rules[0].regex`: bad regex",
    );
    refused(
        &USER_RULE.replace("app.migrations_at_start", "ecs.crash_loop"),
        "line 8, key `rules[0].id`: rule id `ecs.crash_loop` is a built-in rule's id",
    );
    refused(
        "muted = [\"log.no_such_rule\"]\n",
        "line 1, key `muted[0]`: no rule has the id `log.no_such_rule`",
    );
}

#[test]
fn a_missing_config_file_is_an_error_but_a_missing_default_is_not() {
    stackwatch()
        .args([
            "config",
            "--print",
            "--config",
            "/nonexistent/stackwatch.toml",
        ])
        .assert()
        .code(3)
        .stderr(predicate::str::contains(
            "cannot read config file /nonexistent/stackwatch.toml",
        ));
    stackwatch()
        .args(["config", "--print"])
        .assert()
        .success()
        .stdout(predicate::str::contains("crash_loop_stops = 3"));
}

#[test]
fn the_default_file_is_read_from_the_config_dir() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("stackwatch")).unwrap();
    std::fs::write(
        dir.path().join("stackwatch/config.toml"),
        "[detect]\ncrash_loop_stops = 7\n",
    )
    .unwrap();
    stackwatch()
        .env("XDG_CONFIG_HOME", dir.path())
        .env("STACKWATCH_CONFIG", "")
        .args(["config", "--print"])
        .assert()
        .success()
        .stdout(predicate::str::contains("crash_loop_stops = 7"));
    // --config wins over the default file.
    let file = config_file(USER_RULE);
    stackwatch()
        .env("XDG_CONFIG_HOME", dir.path())
        .args(["config", "--print", "--config"])
        .arg(file.path())
        .assert()
        .success()
        .stdout(predicate::str::contains("crash_loop_stops = 4"));
}

#[test]
fn config_print_round_trips() {
    let file = config_file(USER_RULE);
    let first = stackwatch()
        .args(["config", "--print", "--config"])
        .arg(file.path())
        .output()
        .unwrap();
    assert!(first.status.success());
    let printed = String::from_utf8(first.stdout).unwrap();
    assert!(printed.contains("crash_loop_stops = 4"), "{printed}");
    assert!(printed.contains("app.migrations_at_start"), "{printed}");
    let again_file = config_file(&printed);
    let again = stackwatch()
        .args(["config", "--print", "--config"])
        .arg(again_file.path())
        .output()
        .unwrap();
    assert!(again.status.success());
    let strip_origin = |s: &str| s.lines().skip(1).collect::<Vec<_>>().join("\n");
    assert_eq!(
        strip_origin(&String::from_utf8(again.stdout).unwrap()),
        strip_origin(&printed)
    );
}
