//! Expired credentials, live: the sources pause with `credentials_expired`, the watch goes on,
//! and once the user logs in again (here: new keys in the credentials file) the sources resume
//! by themselves from their cursors, signing with the new keys: the provider was built again,
//! not merely retried. And an SSO login that is already expired is one clear line and exit 3.
//!
//! Against moto through the scenario driver's fault proxy, which answers every call with the
//! protocol's own expired-token error while the `expired` fault is on, and counts the calls by
//! the access key id that signed them.

#[path = "support/moto.rs"]
mod moto;
#[path = "support/watching.rs"]
mod watching;

use std::cell::Cell;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use moto::Moto;
use serde_json::Value;
use watching::{Watching, add_events, expect_events, is, json, state, text};

const SOURCES: [&str; 4] = ["cfn", "ecs", "elb", "logs"];
const OLD_KEY: &str = "AKIAOLDEXPIREDKEY0001";
const NEW_KEY: &str = "AKIANEWFRESHKEY000002";
/// The provider reads the credentials again at most every 10 s, on a failing call; the sources
/// back off while failing (up to a minute between polls).
const RENEW_WAIT: Duration = Duration::from_secs(90);

fn write_keys(path: &Path, key: &str) {
    let text =
        format!("[creds]\naws_access_key_id = {key}\naws_secret_access_key = secret-of-{key}\n");
    std::fs::write(path, text).expect("write the credentials file");
}

/// stackwatch aimed at `moto`, signing with the keys of profile `creds` in a credentials file
/// under `dir` (not with the environment's keys the other live tests use); and that file.
fn with_profile_keys(moto: &Moto, dir: &Path) -> (Command, PathBuf) {
    let credentials = dir.join("credentials");
    let config = dir.join("config");
    write_keys(&credentials, OLD_KEY);
    std::fs::write(&config, "[profile creds]\nregion = us-east-1\n").unwrap();
    let mut cmd = watching::stackwatch(moto);
    cmd.env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env("AWS_SHARED_CREDENTIALS_FILE", &credentials)
        .env("AWS_CONFIG_FILE", &config)
        .env("HOME", dir);
    (cmd, credentials)
}

/// Calls the proxy saw, by the access key id that signed them.
fn calls_by_key(moto: &Moto) -> Value {
    json(&moto.get("/calls").expect("GET /calls"))["by_key"].clone()
}

#[test]
fn expired_keys_pause_the_sources_until_new_keys_are_written_then_they_resume_losing_nothing() {
    const STACK: &str = "expiring-app";
    let moto = Moto::start();
    moto.step("/setup", &format!(r#"{{"stack": "{STACK}"}}"#));
    let dir = tempfile::tempdir().expect("temp dir");
    let (mut cmd, credentials) = with_profile_keys(&moto, dir.path());
    cmd.args(["watch", "--json", "--profile", "creds"])
        .args(["--stack", STACK, "--no-record"]);
    let mut w = Watching::spawn(cmd);
    w.expect("every source ok", |l| {
        SOURCES.iter().all(|s| state(l, s) == "ok")
    });
    // Discovery done: every source has something to read (and so to be refused) once the
    // keys expire.
    for what in ["service", "target group", "log group"] {
        w.expect(&format!("watching a {what}"), |l| {
            l["type"] == "status" && text(l, "message").starts_with(&format!("watching {what} "))
        });
    }
    let before = add_events(&moto, STACK, "Before", 5);
    expect_events(&mut w, &before, watching::LINE_WAIT);
    let signed = calls_by_key(&moto);
    assert!(
        signed[OLD_KEY].as_u64().unwrap_or(0) > 0 && signed.get(NEW_KEY).is_none(),
        "the profile's keys sign the calls: {signed}"
    );

    // The keys expire: every call is refused as AWS refuses expired credentials.
    moto.step("/fault", r#"{"mode": "expired"}"#);
    let mut during = add_events(&moto, STACK, "During", 2);
    for name in SOURCES {
        w.expect_line(&format!("{name} credentials_expired"), |l| {
            state(l, name) == "credentials_expired"
        });
        during.extend(add_events(&moto, STACK, &format!("During{name}"), 2));
    }

    // The status lines say whose credentials and what fits a profile with keys.
    let said = w.expect("the fix", |l| {
        l["type"] == "status" && text(l, "message").contains("credentials of profile creds expired")
    });
    let message = text(&said, "message");
    assert!(
        message.contains("refresh the credentials of profile creds") && !message.contains("sso"),
        "{message}"
    );

    // The user gets new keys. The provider reads them again by itself: calls signed with the
    // new key arrive while the fault is still on (no restart, no retry of the dead keys only).
    write_keys(&credentials, NEW_KEY);
    let written = Instant::now();
    let renewed = loop {
        let signed = calls_by_key(&moto);
        if signed[NEW_KEY].as_u64().unwrap_or(0) > 0 {
            break written.elapsed();
        }
        assert!(
            written.elapsed() < RENEW_WAIT,
            "no call signed with the new key within {RENEW_WAIT:?}: {signed}\n{}",
            w.dump()
        );
        std::thread::sleep(Duration::from_millis(250));
    };

    // The new keys work: from now on every call is signed with them.
    moto.step("/calls/reset", "{}");
    moto.step("/fault", r#"{"mode": "none"}"#);
    let back = Instant::now();
    let mut recovered = Vec::new();
    for name in SOURCES {
        let fell = Cell::new(false);
        let line = w.expect_within(&format!("{name} ok again"), RENEW_WAIT, |l| {
            match state(l, name).as_str() {
                "credentials_expired" => {
                    fell.set(true);
                    false
                }
                "ok" => fell.get(),
                _ => false,
            }
        });
        recovered.push((name, line.at.saturating_duration_since(back)));
    }
    expect_events(&mut w, &during, watching::LINE_WAIT);
    let after = add_events(&moto, STACK, "After", 5);
    expect_events(&mut w, &after, watching::LINE_WAIT);
    let signed = calls_by_key(&moto);
    eprintln!(
        "new keys read {renewed:?} after they were written; sources ok again after the fault \
         ended: {recovered:?}; calls since, by key: {signed}"
    );
    assert!(
        signed.get(OLD_KEY).is_none() && signed[NEW_KEY].as_u64().unwrap_or(0) > 0,
        "after recovery only the new key signs: {signed}"
    );

    moto.step(
        "/cfn/stack-status",
        &format!(r#"{{"stack": "{STACK}", "status": "CREATE_COMPLETE", "event": true}}"#),
    );
    let (code, lines) = w.finish();
    assert_eq!(code, 0, "{lines:#?}");
    for id in [before, during, after].concat() {
        let n = lines
            .iter()
            .filter(|l| is(l, "event", "cfn") && text(l, "id") == id)
            .count();
        assert_eq!(n, 1, "cfn event {id} shows {n} times");
    }
}

#[test]
fn status_with_expired_credentials_is_one_line_naming_the_profile_and_the_fix() {
    let moto = Moto::start();
    moto.step("/setup", r#"{"stack": "look-app"}"#);
    moto.step("/fault", r#"{"mode": "expired"}"#);
    let dir = tempfile::tempdir().expect("temp dir");
    let (mut cmd, _) = with_profile_keys(&moto, dir.path());
    let out = cmd
        .args(["status", "--profile", "creds", "--stack", "look-app"])
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("credentials of profile creds have expired")
            && stderr.contains("refresh the credentials of profile creds"),
        "{stderr}"
    );
}

/// SHA-1 of the session name `corp`: the SSO token cache's file name
/// (`printf corp | sha1sum`).
const CORP_TOKEN_FILE: &str = "ee0bfd2552fbd840c02cc48b6e823320543c450f.json";

#[test]
fn an_expired_sso_login_is_one_line_naming_the_profile_and_aws_sso_login() {
    let home = tempfile::tempdir().expect("temp dir");
    let aws = home.path().join(".aws");
    let cache = aws.join("sso").join("cache");
    std::fs::create_dir_all(&cache).unwrap();
    let config = aws.join("config");
    std::fs::write(
        &config,
        "[profile that-profile]\nsso_session = corp\nsso_account_id = 123456789012\n\
         sso_role_name = Deployer\nregion = us-east-1\n\n\
         [sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\n\
         sso_region = us-east-1\nsso_registration_scopes = sso:account:access\n",
    )
    .unwrap();
    std::fs::write(
        cache.join(CORP_TOKEN_FILE),
        r#"{"startUrl": "https://corp.awsapps.com/start", "region": "us-east-1",
            "accessToken": "expired", "expiresAt": "2020-01-01T00:00:00Z"}"#,
    )
    .unwrap();
    // Nothing else to find credentials in, and no network: the token is expired before any
    // call.
    let out = Command::new(env!("CARGO_BIN_EXE_stackwatch"))
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home.path())
        .env("AWS_CONFIG_FILE", &config)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("STACKWATCH_STATE_DIR", home.path().join("state"))
        .args([
            "watch",
            "--profile",
            "that-profile",
            "--stack",
            "x",
            "--json",
        ])
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        out.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one line: {stderr}");
    assert!(
        lines[0].contains("profile that-profile")
            && lines[0].contains("expired")
            && lines[0].contains("aws sso login --profile that-profile"),
        "{stderr}"
    );
}
