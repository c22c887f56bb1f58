//! `stackwatch watch --json` as a test fixture: the child's lines arrive on a channel as it
//! prints them, each stamped with when the test received it, so a test can wait on a line
//! (never on a sleep) and measure how long a step took to show.
//!
//! ```ignore
//! #[path = "support/moto.rs"]
//! mod moto;
//! #[path = "support/watching.rs"]
//! mod watching;
//!
//! let mut w = watching::Watching::start(&moto, &["--stack", "app", "--no-record"]);
//! w.expect("the first event", |l| watching::is(l, "event", "cfn"));
//! ```
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::moto::Moto;

/// Longest wait for a line the test expects: a few polls.
pub const LINE_WAIT: Duration = Duration::from_secs(30);
/// Longest wait for the process to end once it should.
const EXIT_WAIT: Duration = Duration::from_secs(60);

/// The state directory the tests' sessions use (logs, default recordings).
pub fn state_dir() -> PathBuf {
    std::env::temp_dir().join("stackwatch-live-tests")
}

/// The binary, aimed at `moto`, with a test state directory and no colour.
pub fn stackwatch(moto: &Moto) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_stackwatch"));
    cmd.envs(moto.env())
        .env("STACKWATCH_STATE_DIR", state_dir())
        .env("NO_COLOR", "1");
    cmd
}

/// A line and when the test received it.
#[derive(Debug, Clone)]
pub struct Line {
    pub at: Instant,
    pub value: Value,
}

/// A `--json` child (`watch` or `replay`) whose lines arrive on a channel as it prints them.
pub struct Watching {
    child: Child,
    lines: Receiver<Line>,
    seen: Vec<Line>,
}

impl Watching {
    /// `stackwatch watch --json ARGS` against `moto`.
    pub fn start(moto: &Moto, args: &[&str]) -> Watching {
        let mut cmd = stackwatch(moto);
        cmd.args(["watch", "--json"]).args(args);
        Watching::spawn(cmd)
    }

    /// Any stackwatch command that prints JSON lines.
    pub fn spawn(mut cmd: Command) -> Watching {
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("stackwatch starts");
        let stdout = child.stdout.take().expect("piped");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let at = Instant::now();
                let value: Value = serde_json::from_str(&line)
                    .unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"));
                if tx.send(Line { at, value }).is_err() {
                    break;
                }
            }
        });
        Watching {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// Waits for a line that `wanted` accepts (among those seen so far, then new ones); panics
    /// with every line seen after `LINE_WAIT`.
    pub fn expect(&mut self, what: &str, wanted: impl Fn(&Value) -> bool) -> Value {
        self.expect_line(what, wanted).value
    }

    /// As `expect`, with when the line arrived.
    pub fn expect_line(&mut self, what: &str, wanted: impl Fn(&Value) -> bool) -> Line {
        self.expect_within(what, LINE_WAIT, wanted)
    }

    /// As `expect_line`, waiting up to `wait` for new lines (a source backing off after a
    /// fault may take longer than `LINE_WAIT` to read again).
    pub fn expect_within(
        &mut self,
        what: &str,
        wait: Duration,
        wanted: impl Fn(&Value) -> bool,
    ) -> Line {
        if let Some(line) = self.seen.iter().find(|l| wanted(&l.value)) {
            return line.clone();
        }
        let deadline = Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if wanted(&line.value) {
                        return line;
                    }
                }
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => {
                    panic!("no {what} within {wait:?}; lines seen:\n{}", self.dump())
                }
            }
        }
    }

    /// Waits for the line `wanted` accepts and returns how long after `since` it arrived (zero
    /// if it was already there before `since`).
    pub fn latency(
        &mut self,
        since: Instant,
        what: &str,
        wanted: impl Fn(&Value) -> bool,
    ) -> Duration {
        let line = self.expect_line(what, wanted);
        line.at.saturating_duration_since(since)
    }

    /// Waits for the process to end and returns its exit code, with every line it printed.
    pub fn finish(mut self) -> (i32, Vec<Value>) {
        let deadline = Instant::now() + EXIT_WAIT;
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                break status;
            }
            assert!(
                Instant::now() < deadline,
                "stackwatch did not end:\n{}",
                self.dump()
            );
            if let Ok(line) = self.lines.recv_timeout(Duration::from_millis(200)) {
                self.seen.push(line);
            }
        };
        // The reader thread ends at EOF: every line printed is on the channel by then.
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(5)) {
            self.seen.push(line);
        }
        let lines = std::mem::take(&mut self.seen)
            .into_iter()
            .map(|l| l.value)
            .collect();
        (status.code().unwrap_or(-1), lines)
    }

    pub fn dump(&self) -> String {
        self.seen
            .iter()
            .map(|l| l.value.to_string())
            .collect::<Vec<_>>()
            .join("\n")
    }
}

impl Drop for Watching {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A line of this `type` from this `source`.
pub fn is(line: &Value, kind: &str, source: &str) -> bool {
    line["type"] == kind && line["source"] == source
}

/// A string field, or "".
pub fn text(line: &Value, key: &str) -> String {
    line[key].as_str().unwrap_or_default().to_string()
}

/// A `flag` line of this rule.
pub fn flag(line: &Value, rule: &str) -> bool {
    line["type"] == "flag" && line["rule"] == rule
}

/// A driver answer (or any text that must be JSON) as JSON.
pub fn json(answer: &str) -> Value {
    serde_json::from_str(answer).unwrap_or_else(|e| panic!("not JSON ({e}): {answer}"))
}

/// A source's entry in a `status` line.
pub fn source<'a>(line: &'a Value, name: &str) -> Option<&'a Value> {
    if line["type"] != "status" {
        return None;
    }
    line["sources"]
        .as_array()?
        .iter()
        .find(|s| s["name"] == name)
}

/// A source's state in a `status` line, or "".
pub fn state(line: &Value, name: &str) -> String {
    source(line, name).map_or_else(String::new, |s| text(s, "state"))
}

/// Adds `n` resource events to the stack through the driver; their ids, in order.
pub fn add_events(moto: &Moto, stack: &str, phase: &str, n: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            let answer = moto.step(
                "/cfn/event",
                &format!(
                    r#"{{"stack": "{stack}", "logical_id": "{phase}{i:02}",
                        "type": "AWS::SNS::Topic", "status": "CREATE_IN_PROGRESS"}}"#
                ),
            );
            text(&json(&answer), "event_id")
        })
        .collect()
}

/// Waits for each CloudFormation event of `ids`; when the last one arrived.
pub fn expect_events(watching: &mut Watching, ids: &[String], wait: Duration) -> Instant {
    let mut last = Instant::now();
    for id in ids {
        let line = watching.expect_within(&format!("cfn event {id}"), wait, |l| {
            is(l, "event", "cfn") && text(l, "id") == *id
        });
        last = line.at;
    }
    last
}
