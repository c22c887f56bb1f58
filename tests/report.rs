//! `stackwatch report`: snapshots of the demo's report in both formats, escaping of hostile
//! recorded text, and sensible output (never a panic) from empty, cut-short and one-event
//! recordings.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use chrono::{TimeZone, Utc};
use stackwatch::model::{CfnEvent, LogEvent, Observation, TargetHealth};
use stackwatch::session::demo;
use stackwatch::session::recording::{self, Header};

fn stackwatch() -> Command {
    let mut cmd = Command::cargo_bin("stackwatch").unwrap();
    cmd.env("NO_COLOR", "1").env_remove("STACKWATCH_CONFIG");
    cmd
}

fn t(secs: i64) -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).unwrap() + chrono::TimeDelta::seconds(secs)
}

fn demo_recording(dir: &Path) -> PathBuf {
    let path = dir.join("demo.jsonl");
    let (header, observations) = demo::scenario();
    recording::write_all(&path, &header, &observations).unwrap();
    path
}

fn report(path: &Path, args: &[&str]) -> String {
    let out = stackwatch()
        .arg("report")
        .arg(path)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn the_demo_report_in_markdown_and_html() {
    let dir = tempfile::tempdir().unwrap();
    let path = demo_recording(dir.path());
    let md = report(&path, &[]);
    for expected in [
        "**Outcome:** failed",
        "**Root cause:** payments-prod/MigrationHost",
        "**Lead time:** flagged 8m 29s before CloudFormation gave up",
        "## What was tried",
        "deployment of payments-api:42",
        "## Gantt",
        "Stopped tasks by reason:",
        "## Target health",
        "Cannot find package 'express'",
    ] {
        assert!(md.contains(expected), "{expected:?} missing in\n{md}");
    }
    insta::assert_snapshot!("demo_report_md", md);
    let html = report(&path, &["--format", "html"]);
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("<svg id=\"gantt\""));
    assert!(html.contains("prefers-color-scheme: dark") && html.contains("@media print"));
    // Self-contained: no script, no external asset.
    for outside in ["<script", "src=", "href=", "@import", "url("] {
        assert!(!html.contains(outside), "{outside} in the HTML");
    }
    insta::assert_snapshot!("demo_report_html", html);
    // -o writes a file; -o - is standard output.
    let out = dir.path().join("r.html");
    report(&path, &["--format", "html", "-o", out.to_str().unwrap()]);
    assert_eq!(std::fs::read_to_string(&out).unwrap(), html);
    assert_eq!(report(&path, &["-o", "-"]), md);
}

/// A recording whose texts try to break out: HTML, Markdown tables and fences, escape
/// sequences.
fn hostile(dir: &Path) -> PathBuf {
    let nasty = "Error: <script>alert(1)</script> | col | ``` fence `x` \u{1b}[2J\u{1b}]0;title\u{7} **bold** [link](http://x)";
    let observations = vec![
        Observation::new(
            t(0),
            CfnEvent {
                stack: "app".into(),
                stack_id: "arn:aws:cloudformation:eu-west-1:1:stack/app/1".into(),
                event_id: "e0".into(),
                logical_id: "app".into(),
                physical_id: Some("arn:aws:cloudformation:eu-west-1:1:stack/app/1".into()),
                resource_type: "AWS::CloudFormation::Stack".into(),
                status: "CREATE_IN_PROGRESS".into(),
                reason: Some("User Initiated".into()),
                timestamp: t(0),
            },
        ),
        Observation::new(
            t(2),
            CfnEvent {
                stack: "app".into(),
                stack_id: "arn:aws:cloudformation:eu-west-1:1:stack/app/1".into(),
                event_id: "e1".into(),
                logical_id: "Bucket<img src=x onerror=alert(1)>".into(),
                physical_id: None,
                resource_type: "AWS::S3::Bucket".into(),
                status: "CREATE_FAILED".into(),
                reason: Some(nasty.into()),
                timestamp: t(2),
            },
        ),
        Observation::new(
            t(3),
            LogEvent {
                group: "/ecs/app".into(),
                stream: "app/web/abc".into(),
                timestamp: t(3),
                message: nasty.into(),
                event_id: Some("l1".into()),
            },
        ),
        Observation::new(
            t(4),
            TargetHealth {
                target_group: "arn:aws:elasticloadbalancing:eu-west-1:1:targetgroup/tg/1".into(),
                target_id: "10.0.0.1".into(),
                port: Some(80),
                state: "unhealthy".into(),
                reason: Some("Target.FailedHealthChecks".into()),
                description: Some(nasty.into()),
            },
        ),
        Observation::new(
            t(5),
            CfnEvent {
                stack: "app".into(),
                stack_id: "arn:aws:cloudformation:eu-west-1:1:stack/app/1".into(),
                event_id: "e2".into(),
                logical_id: "app".into(),
                physical_id: Some("arn:aws:cloudformation:eu-west-1:1:stack/app/1".into()),
                resource_type: "AWS::CloudFormation::Stack".into(),
                status: "ROLLBACK_IN_PROGRESS".into(),
                reason: Some(nasty.into()),
                timestamp: t(5),
            },
        ),
    ];
    let path = dir.join("hostile.jsonl");
    let mut header = Header::new(
        vec!["watch".into(), "--stack".into(), "app|`x`".into()],
        t(0),
    );
    header.account = Some("<b>1</b>".into());
    recording::write_all(&path, &header, &observations).unwrap();
    path
}

#[test]
fn hostile_text_cannot_break_either_format() {
    let dir = tempfile::tempdir().unwrap();
    let path = hostile(dir.path());
    let html = report(&path, &["--format", "html"]);
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{html}"
    );
    assert!(
        !html.contains("<script") && !html.contains("<img"),
        "{html}"
    );
    assert!(!html.contains("<b>1</b>"));
    let md = report(&path, &[]);
    for text in [&html, &md] {
        assert!(
            !text.chars().any(|c| c.is_control() && c != '\n'),
            "a control character got through"
        );
    }
    // Every table row has as many cell separators as its header.
    let separators = |line: &str| line.replace("\\|", "").matches('|').count();
    let mut header = 0;
    for line in md.lines() {
        if line.starts_with("| ") && md.lines().any(|l| l.starts_with("|---")) {
            if header == 0
                || line.starts_with("| at |")
                || line.starts_with("| resource |")
                || line.starts_with("| problem |")
                || line.starts_with("| tasks |")
                || line.starts_with("| started |")
            {
                header = separators(line);
            }
            assert_eq!(separators(line), header, "{line}");
        } else if !line.starts_with('|') {
            header = 0;
        }
    }
    // Fences are longer than any backtick run inside them: each opening fence is closed by
    // the same fence, and no line inside starts one.
    let mut open_fence: Option<&str> = None;
    let mut outside = String::new();
    for line in md.lines() {
        match open_fence {
            Some(fence) if line == fence => open_fence = None,
            Some(fence) => assert!(!line.starts_with(fence), "{line}"),
            None if line.starts_with("```") => {
                open_fence = Some(line.trim_end_matches("text"));
            }
            None => {
                outside.push_str(line);
                outside.push('\n');
            }
        }
    }
    assert!(open_fence.is_none(), "an unclosed fence:\n{md}");
    // Raw HTML only inside code blocks, where it is text.
    let unescaped = outside
        .char_indices()
        .filter(|&(i, c)| c == '<' && !outside[..i].ends_with('\\'))
        .count();
    assert_eq!(unescaped, 0, "{outside}");
}

#[test]
fn empty_cut_short_and_one_event_recordings_give_a_report() {
    let dir = tempfile::tempdir().unwrap();
    // Header only.
    let empty = dir.path().join("empty.jsonl");
    recording::write_all(&empty, &Header::new(vec![], t(0)), &[]).unwrap();
    for format in ["md", "html"] {
        let text = report(&empty, &["--format", format]);
        assert!(text.contains("No flag was raised"), "{text}");
        assert!(
            text.contains("No CloudFormation resource was recorded"),
            "{text}"
        );
    }
    // One event.
    let one = dir.path().join("one.jsonl");
    let (_, demo_obs) = demo::scenario();
    let first_cfn = demo_obs
        .iter()
        .find(|o| matches!(o.kind, stackwatch::model::ObservationKind::CfnEvent(_)))
        .unwrap()
        .clone();
    recording::write_all(&one, &Header::new(vec![], t(0)), &[first_cfn]).unwrap();
    let text = report(&one, &[]);
    assert!(text.contains("**Outcome:** stuck"), "{text}");
    // Cut short mid-line, as a crash leaves it.
    let full = demo_recording(dir.path());
    let bytes = std::fs::read(&full).unwrap();
    let cut = dir.path().join("cut.jsonl");
    std::fs::write(&cut, &bytes[..bytes.len() * 2 / 3]).unwrap();
    let text = report(&cut, &[]);
    assert!(text.contains("last line was cut short"), "{text}");
    // Not a recording: a clear error, exit 3.
    let junk = dir.path().join("junk.txt");
    std::fs::write(&junk, "hello\n").unwrap();
    let out = stackwatch().arg("report").arg(&junk).output().unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a stackwatch recording"));
}

/// Notes taken while watching are listed under "what was tried" and on the timeline, in both
/// formats, escaped like any other text.
#[test]
fn notes_are_in_the_report() {
    let dir = tempfile::tempdir().unwrap();
    let (header, mut observations) = demo::scenario();
    let at = observations[40].at;
    observations.insert(
        41,
        Observation::new(
            at,
            stackwatch::model::Note {
                text: "opened 2049 on the EFS security group <b>by hand</b>".into(),
                author: None,
            },
        ),
    );
    let path = dir.path().join("noted.jsonl");
    recording::write_all(&path, &header, &observations).unwrap();
    let md = report(&path, &[]);
    let tried = &md[md.find("## What was tried").unwrap()..md.find("## Flags").unwrap()];
    assert!(
        tried.contains("note: opened 2049 on the EFS security group \\<b\\>by hand\\</b\\>"),
        "{tried}"
    );
    let html = report(&path, &["--format", "html"]);
    assert!(
        html.contains("note: opened 2049 on the EFS security group &lt;b&gt;by hand&lt;/b&gt;")
    );
}

/// `--redact` masks keys, tokens and passwords wherever they were recorded: log lines, reasons,
/// the command line, in both formats.
#[test]
fn redacted_reports_hold_no_secret() {
    let secrets = [
        "AKIAIOSFODNN7EXAMPLE",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
        "hunter2pass",
        "s3cr3tT0ken42xyz",
    ];
    let line = format!(
        "ERROR boto failed with aws_access_key_id={} aws_secret_access_key={} jwt {} db postgres://app:{}@db:5432/x Authorization: Bearer {}",
        secrets[0], secrets[1], secrets[2], secrets[3], secrets[4]
    );
    let dir = tempfile::tempdir().unwrap();
    let observations = vec![
        Observation::new(
            t(0),
            CfnEvent {
                stack: "app".into(),
                stack_id: "arn:aws:cloudformation:eu-west-1:1:stack/app/1".into(),
                event_id: "e1".into(),
                logical_id: "Fn".into(),
                physical_id: None,
                resource_type: "AWS::Lambda::Function".into(),
                status: "CREATE_FAILED".into(),
                reason: Some(line.clone()),
                timestamp: t(0),
            },
        ),
        Observation::new(
            t(1),
            LogEvent {
                group: "/ecs/app".into(),
                stream: "app/web/abc".into(),
                timestamp: t(1),
                message: line.clone(),
                event_id: Some("l1".into()),
            },
        ),
    ];
    let path = dir.path().join("secrets.jsonl");
    let header = Header::new(
        vec![
            "watch".into(),
            "--endpoint-url".into(),
            format!("http://u:{}@proxy", secrets[3]),
        ],
        t(0),
    );
    recording::write_all(&path, &header, &observations).unwrap();
    let plain = report(&path, &[]);
    assert!(
        secrets.iter().any(|s| plain.contains(s)),
        "the control: unredacted"
    );
    for format in ["md", "html"] {
        let text = report(&path, &["--format", format, "--redact"]);
        for secret in secrets {
            assert!(
                !text.contains(secret),
                "{secret} in the {format} report:\n{text}"
            );
        }
        assert!(text.contains("[redacted]"), "{text}");
    }
}
