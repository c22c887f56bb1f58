//! Headless output: `--plain` aligned text and `--json` lines, one per event, flag change and
//! source status, then a summary. Both read the pipeline after each step; neither talks to AWS.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::io::{self, Write};
use std::sync::mpsc::{SyncSender, sync_channel};
use std::thread::JoinHandle;

use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use crossterm::style::Stylize;
use serde::Serialize;
use serde_json::{Value, json};

use crate::detect::{Flag, FlagChange, problems, root_cause_line};
use crate::model::{
    Profile, Severity, Source, SourceState, SourceStatus, Store, TimelineEntry, cfn_status,
    credentials_expired_message,
};
use crate::pipeline::{Change, Pipeline};
use crate::sanitize;
use crate::text::fit;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Plain { color: bool },
    Json,
}

/// How a deploy ended, and the exit code that says so.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Complete,
    Failed,
    Stuck,
}

impl Outcome {
    pub fn exit_code(self) -> u8 {
        match self {
            Outcome::Complete => 0,
            Outcome::Failed => 1,
            Outcome::Stuck => 2,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Complete => "complete",
            Outcome::Failed => "failed",
            Outcome::Stuck => "stuck",
        }
    }

    /// Judges the deploy from the root stack's status, or from open flags without a stack.
    pub fn of(pipeline: &Pipeline) -> Outcome {
        match pipeline.store.root_stack() {
            Some(stack) if cfn_status::is_in_progress(&stack.status) => Outcome::Stuck,
            Some(stack)
                if cfn_status::is_failed(&stack.status)
                    || cfn_status::is_rollback(&stack.status) =>
            {
                Outcome::Failed
            }
            Some(_) => Outcome::Complete,
            None if pipeline
                .detector
                .open_flags()
                .iter()
                .any(|f| f.severity >= Severity::Error) =>
            {
                Outcome::Failed
            }
            None => Outcome::Complete,
        }
    }
}

/// Writes the lines of a headless run. The lines are formatted and written on a thread of
/// their own, batch by batch, flushed after each: a replay at `--speed max` spends a tenth of
/// its time there, which the pipeline no longer waits for.
pub struct Headless<W: Write + Send + 'static> {
    format: Format,
    /// Live, a `status` line comes at least this often, whether or not health changed.
    status_every: Option<TimeDelta>,
    last_status: Option<DateTime<Utc>>,
    /// Who the session signs in as: status lines name it and the fix while its credentials
    /// are expired.
    profile: Option<Profile>,
    writer: Writer<W>,
}

/// Where the lines go: the output until the first batch, then the thread that owns it.
enum Writer<W: Write + Send + 'static> {
    Idle(W),
    Running {
        batches: SyncSender<Batch>,
        thread: JoinHandle<io::Result<W>>,
    },
    /// The thread ended (the summary was written, or writing failed).
    Done,
}

/// Batches waiting for the writer: enough to smooth a burst, few enough to bound memory.
const BATCHES_AHEAD: usize = 4;

/// What the writer thread formats: changes in order, with the sources' health as the
/// `status` lines among them show it, or a line already formatted (the summary).
struct Batch {
    changes: Vec<Change>,
    sources: BTreeMap<String, SourceStatus>,
    raw: Vec<u8>,
}

/// Formats changes into lines, on the writer thread.
struct Lines<W: Write> {
    out: W,
    format: Format,
    profile: Option<Profile>,
}

fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// An `event` or `status` line, serialised straight from borrowed text: most lines of a
/// replay are these, and a map of `Value`s per line cost more than the rest of the output.
/// Fields are in alphabetical order, the order the `Value` maps wrote them in.
#[derive(Serialize)]
struct EventLine<'a> {
    at: Rfc3339,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<&'a str>,
    message: &'a str,
    resource: &'a str,
    source: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    sources: Option<Vec<SourceLine<'a>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    stack: Option<&'a str>,
    #[serde(rename = "type")]
    kind: &'static str,
}

/// A source's health in a `status` line.
#[derive(Serialize)]
struct SourceLine<'a> {
    calls_per_min: f64,
    name: Cow<'a, str>,
    paced: bool,
    stale_s: u64,
    state: &'static str,
    throttled: u64,
}

/// A time written as RFC 3339 UTC to the second (`2026-11-23T09:00:00Z`) without an
/// intermediate string.
struct Rfc3339(DateTime<Utc>);

impl Rfc3339 {
    /// The time as `YYYY-MM-DDTHH:MM:SSZ`, or `None` outside years 0 to 9999. Written by
    /// hand: chrono's formatter parses its pattern on every call.
    fn fixed(&self) -> Option<[u8; 20]> {
        use chrono::{Datelike, Timelike};
        let t = self.0;
        if !(0..=9999).contains(&t.year()) {
            return None;
        }
        let mut buf = [0u8; 20];
        let mut put = |at: usize, value: u32, width: usize| {
            let mut v = value;
            for i in (0..width).rev() {
                buf[at + i] = b'0' + (v % 10) as u8;
                v /= 10;
            }
        };
        put(0, t.year() as u32, 4);
        put(5, t.month(), 2);
        put(8, t.day(), 2);
        put(11, t.hour(), 2);
        put(14, t.minute(), 2);
        put(17, t.second().min(59), 2);
        for (i, c) in [
            (4, b'-'),
            (7, b'-'),
            (10, b'T'),
            (13, b':'),
            (16, b':'),
            (19, b'Z'),
        ] {
            buf[i] = c;
        }
        Some(buf)
    }
}

impl Serialize for Rfc3339 {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.fixed() {
            Some(buf) => serializer.serialize_str(std::str::from_utf8(&buf).unwrap_or_default()),
            None => serializer.serialize_str(&rfc3339(self.0)),
        }
    }
}

impl EventLine<'_> {
    /// The line exactly as serde_json writes it, written by hand when it has no `sources`
    /// (every `event` line): serde_json looks every byte of every string up in its escape
    /// table, which was most of the writer's work, and most text needs no escape at all.
    fn write_json(&self, out: &mut impl Write) -> io::Result<()> {
        let Some(at) = self.at.fixed().filter(|_| self.sources.is_none()) else {
            return Ok(serde_json::to_writer(out, self)?);
        };
        out.write_all(b"{\"at\":\"")?;
        out.write_all(&at)?;
        out.write_all(b"\"")?;
        if let Some(id) = self.id {
            out.write_all(b",\"id\":")?;
            json_str(out, id)?;
        }
        out.write_all(b",\"message\":")?;
        json_str(out, self.message)?;
        out.write_all(b",\"resource\":")?;
        json_str(out, self.resource)?;
        out.write_all(b",\"source\":")?;
        json_str(out, self.source)?;
        if let Some(stack) = self.stack {
            out.write_all(b",\"stack\":")?;
            json_str(out, stack)?;
        }
        out.write_all(b",\"type\":")?;
        json_str(out, self.kind)?;
        out.write_all(b"}")
    }
}

/// A JSON string as serde_json writes it: as it is when no byte needs an escape (a control
/// character, a quote or a backslash), else through serde_json.
fn json_str(out: &mut impl Write, text: &str) -> io::Result<()> {
    let bytes = text.as_bytes();
    if !sanitize::every_byte(bytes, |b| b >= b' ' && b != b'"' && b != b'\\') {
        return Ok(serde_json::to_writer(out, text)?);
    }
    out.write_all(b"\"")?;
    out.write_all(bytes)?;
    out.write_all(b"\"")
}

impl<W: Write + Send + 'static> Headless<W> {
    pub fn new(out: W, format: Format) -> Self {
        Headless {
            format,
            status_every: None,
            last_status: None,
            profile: None,
            writer: Writer::Idle(out),
        }
    }

    /// The profile the session signs in as (the recording header's).
    pub fn with_profile(mut self, profile: Option<Profile>) -> Self {
        self.profile = profile;
        self
    }

    /// Writes a `status` line at least every `every` (live watches: once a minute).
    pub fn with_status_every(mut self, every: TimeDelta) -> Self {
        self.status_every = Some(every);
        self
    }

    /// Writes what the pipeline changed, in order: timeline rows and flag changes; then, live,
    /// a `status` line when a minute passed without one.
    pub fn on_changes(
        &mut self,
        store: &Store,
        changes: &mut Vec<Change>,
        now: DateTime<Utc>,
    ) -> io::Result<()> {
        // Taken, not copied: the writer thread owns the batch from here.
        let mut batch = std::mem::take(changes);
        if let Some(at) = batch.iter().rev().find_map(|c| match c {
            Change::Row(entry) if is_status(entry) => Some(entry.at),
            _ => None,
        }) {
            self.last_status = Some(at);
        }
        if let Some(every) = self.status_every
            && !store.sources.is_empty()
            && self.last_status.is_none_or(|last| now - last >= every)
        {
            let health: Vec<String> = store
                .sources
                .values()
                .map(|s| format!("{} {}", s.name, s.state.as_str()))
                .collect();
            let entry = TimelineEntry {
                seq: 0,
                at: now,
                source: Source::Stackwatch,
                resource: "sources".into(),
                stack: None,
                id: None,
                message: format!("sources: {}", health.join(", ")).into(),
                level: Severity::Info,
                note: false,
            };
            self.last_status = Some(now);
            batch.push(Change::Row(entry));
        }
        if batch.is_empty() {
            return Ok(());
        }
        // Status lines show the sources' health as it stands now, when the batch is sent.
        let any_status = batch
            .iter()
            .any(|c| matches!(c, Change::Row(entry) if is_status(entry)));
        let sources = if any_status {
            store.sources.clone()
        } else {
            BTreeMap::new()
        };
        self.send(Batch {
            changes: batch,
            sources,
            raw: Vec::new(),
        })
    }

    /// Hands a batch to the writer thread (started with the first one). When the thread
    /// has stopped, its error (a closed pipe) is returned here.
    fn send(&mut self, batch: Batch) -> io::Result<()> {
        if let Writer::Idle(_) = self.writer {
            let Writer::Idle(mut out) = std::mem::replace(&mut self.writer, Writer::Done) else {
                unreachable!("checked above")
            };
            // A batch's lines are formatted into one buffer and written at once: serde's
            // many small writes cost a call through `dyn Write` each otherwise.
            let mut lines = Lines {
                out: Vec::new(),
                format: self.format,
                profile: self.profile.clone(),
            };
            let (tx, rx) = sync_channel::<Batch>(BATCHES_AHEAD);
            let thread = std::thread::Builder::new()
                .name("headless-writer".into())
                .spawn(move || {
                    for batch in rx {
                        lines.out.clear();
                        lines.write_changes(&batch.sources, &batch.changes)?;
                        out.write_all(&lines.out)?;
                        out.write_all(&batch.raw)?;
                        out.flush()?;
                    }
                    Ok(out)
                })?;
            self.writer = Writer::Running {
                batches: tx,
                thread,
            };
        }
        let sent = match &self.writer {
            Writer::Running { batches, .. } => batches.send(batch).is_ok(),
            _ => false,
        };
        if sent {
            Ok(())
        } else {
            // The thread stopped: say why.
            self.finish().map(drop).and(Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "the output was closed",
            )))
        }
    }

    /// Waits for every line to be written and returns the output.
    pub fn finish(&mut self) -> io::Result<W> {
        match std::mem::replace(&mut self.writer, Writer::Done) {
            Writer::Idle(mut out) => out.flush().map(|()| out),
            Writer::Running { batches, thread } => {
                drop(batches);
                thread
                    .join()
                    .unwrap_or_else(|_| Err(io::Error::other("the output thread panicked")))
            }
            Writer::Done => Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "the output was closed",
            )),
        }
    }
}

/// Lines already handed to the writer are written before the process goes on, whatever
/// ended the run (an error, a signal).
impl<W: Write + Send + 'static> Drop for Headless<W> {
    fn drop(&mut self) {
        if matches!(self.writer, Writer::Running { .. }) {
            let _ = self.finish();
        }
    }
}

/// A `status` line: stackwatch's own row, other than a note (the user's event).
fn is_status(entry: &TimelineEntry) -> bool {
    entry.source == Source::Stackwatch && !entry.note
}

impl<W: Write> Lines<W> {
    fn write_changes(
        &mut self,
        sources: &BTreeMap<String, SourceStatus>,
        changes: &[Change],
    ) -> io::Result<()> {
        for change in changes {
            match change {
                Change::Row(entry) => self.write_entry(entry, sources)?,
                Change::Flag {
                    change: FlagChange::Opened(flag),
                    ..
                } => self.write_flag("flag", flag, flag.last_seen)?,
                Change::Flag {
                    change: FlagChange::Resolved(flag),
                    ..
                } => {
                    let at = flag.resolved_at.unwrap_or(flag.last_seen);
                    self.write_flag("resolved", flag, at)?
                }
            }
        }
        Ok(())
    }

    fn write_entry(
        &mut self,
        entry: &TimelineEntry,
        sources: &BTreeMap<String, SourceStatus>,
    ) -> io::Result<()> {
        // A note is stackwatch's, but it is the user's event, not the sources' status.
        let kind = if is_status(entry) { "status" } else { "event" };
        // A status line that says credentials are expired (a source turned so, or the minute's
        // summary lists one) also says whose and what to do.
        let expired = kind == "status"
            && entry
                .message
                .contains(SourceState::CredentialsExpired.as_str());
        let message = if expired {
            let fix = credentials_expired_message(self.profile.as_ref());
            Cow::Owned(sanitize::line(&format!("{}: {fix}", entry.message)).into_owned())
        } else {
            sanitize::line(&entry.message)
        };
        let resource = sanitize::line(&entry.resource);
        match self.format {
            Format::Json => {
                let id = entry.id.as_deref().map(sanitize::line);
                let stack = entry.stack.as_deref().map(sanitize::line);
                let sources = (kind == "status").then(|| {
                    sources
                        .values()
                        .map(|s| SourceLine {
                            // As a JSON number of the f64 it widens to, as before.
                            calls_per_min: f64::from(s.calls_per_min),
                            name: sanitize::line(&s.name),
                            paced: s.paced,
                            // At the line's time: the same in a replay as live.
                            stale_s: s.stale_s_at(entry.at),
                            state: s.state.as_str(),
                            throttled: s.throttled,
                        })
                        .collect()
                });
                let line = EventLine {
                    at: Rfc3339(entry.at),
                    id: id.as_deref(),
                    message: &message,
                    resource: &resource,
                    source: entry.source.as_str(),
                    sources,
                    stack: stack.as_deref(),
                    kind,
                };
                line.write_json(&mut self.out)?;
                self.out.write_all(b"\n")
            }
            Format::Plain { color } => {
                // Nested resources read as `Storage/FileSystem` in plain text; JSON keeps
                // `stack`.
                let nested_resource = match entry.stack.as_deref().and_then(|s| s.split_once('/')) {
                    Some((_, nested)) if !entry.resource.starts_with(nested) => {
                        format!("{}/{}", sanitize::line(nested), resource)
                    }
                    _ => resource.to_string(),
                };
                let level = match entry.level {
                    Severity::Info => "",
                    Severity::Warn => "!",
                    Severity::Error | Severity::Fatal => "✗",
                };
                let line = format!(
                    "{}  {:<11} {:<30} {:<1} {}",
                    rfc3339(entry.at),
                    entry.source.as_str(),
                    fit(&nested_resource, 30),
                    level,
                    message
                );
                let line = if color {
                    match entry.level {
                        Severity::Info => line.stylize(),
                        Severity::Warn => line.yellow(),
                        _ => line.red(),
                    }
                    .to_string()
                } else {
                    line
                };
                writeln!(self.out, "{line}")
            }
        }
    }

    fn write_flag(&mut self, kind: &str, flag: &Flag, at: DateTime<Utc>) -> io::Result<()> {
        match self.format {
            Format::Json => {
                let evidence: Vec<Value> = flag
                    .evidence
                    .iter()
                    .map(|e| Value::from(sanitize::line(&e.counted_text()).as_ref()))
                    .collect();
                // The root flag's rule and resource (the flag's own when it is the root).
                let problem = flag.problem.as_ref().map_or_else(
                    || json!({"rule": flag.rule, "resource": sanitize::line(&flag.resource)}),
                    |p| json!({"rule": p.rule, "resource": sanitize::line(&p.resource)}),
                );
                self.json_line(json!({
                    "type": kind,
                    "at": rfc3339(at),
                    "source": flag.source.as_str(),
                    "resource": sanitize::line(&flag.resource),
                    "message": sanitize::line(&flag.summary_at(at)),
                    "rule": flag.rule,
                    "severity": flag.severity.as_str(),
                    "summary": sanitize::line(&flag.summary_at(at)),
                    "next_step": sanitize::line(&flag.next_step),
                    "count": flag.count,
                    "evidence": evidence,
                    "problem": problem,
                }))
            }
            Format::Plain { color } => {
                let head = if kind == "flag" {
                    format!("FLAG {:<5}", flag.severity.as_str())
                } else {
                    "RESOLVED  ".to_string()
                };
                let mut line = format!(
                    "{}  {}  {}  {}: {}",
                    rfc3339(at),
                    head,
                    flag.rule,
                    sanitize::line(&flag.resource),
                    sanitize::line(&flag.summary_at(at))
                );
                if kind == "flag" {
                    line.push_str(&format!(
                        "\n{:>22}→ {}",
                        "",
                        sanitize::line(&flag.next_step)
                    ));
                }
                let line = match (color, kind) {
                    (false, _) => line,
                    (true, "flag") => line.red().bold().to_string(),
                    (true, _) => line.green().to_string(),
                };
                writeln!(self.out, "{line}")
            }
        }
    }

    fn json_line(&mut self, value: Value) -> io::Result<()> {
        serde_json::to_writer(&mut self.out, &value)?;
        self.out.write_all(b"\n")
    }
}

impl<W: Write + Send + 'static> Headless<W> {
    /// The closing line: outcome, root stack, open flags.
    pub fn summary(&mut self, pipeline: &Pipeline, at: DateTime<Utc>) -> io::Result<Outcome> {
        self.summary_as(pipeline, at, Outcome::of(pipeline), None)
    }

    /// The closing line with an outcome decided elsewhere (`--timeout` ran out: stuck), and a
    /// note on why the watch ended.
    pub fn summary_as(
        &mut self,
        pipeline: &Pipeline,
        at: DateTime<Utc>,
        outcome: Outcome,
        note: Option<&str>,
    ) -> io::Result<Outcome> {
        // Formatted here (it reads the pipeline), written after every line before it.
        let mut line = Lines {
            out: Vec::new(),
            format: self.format,
            profile: None,
        };
        let store = &pipeline.store;
        let stack = store.root_stack();
        let open = pipeline.detector.open_flags();
        let problems = problems(&open, store);
        let mut message = match stack {
            Some(s) => format!("{} {}", s.name, s.status),
            None => "no stack".to_string(),
        };
        message.push_str(&format!(
            "; deploy {}; {}",
            outcome.as_str(),
            crate::text::count_of(open.len(), "open flag")
        ));
        if !open.is_empty() {
            message.push_str(&format!(
                " in {}",
                crate::text::count_of(problems.len(), "problem")
            ));
        }
        if let Some(note) = note {
            message.push_str(&format!("; {note}"));
        }
        // The root cause followed down its chain says more than CloudFormation's last words
        // (often the circuit breaker or the rollback itself).
        let root_cause = root_cause_line(&problems, at);
        if let Some(line) = &root_cause {
            message.push_str(&format!("; root cause: {line}"));
        } else if let Some(p) = problems.first() {
            message.push_str(&format!("; worst: {} {}", p.root.rule, p.chain(at)));
        }
        let message = sanitize::line(&message).into_owned();
        match self.format {
            Format::Json => {
                let flags: Vec<Value> = open
                    .iter()
                    .map(|f| json!({"rule": f.rule, "severity": f.severity.as_str(), "resource": sanitize::line(&f.resource), "count": f.count}))
                    .collect();
                line.json_line(json!({
                    "type": "summary",
                    "at": rfc3339(at),
                    "source": "stackwatch",
                    "resource": stack.map(|s| sanitize::line(&s.name).into_owned()).unwrap_or_default(),
                    "message": message,
                    "outcome": outcome.as_str(),
                    "exit_code": outcome.exit_code(),
                    "observations": store.observations,
                    "open_flags": flags,
                    "problems": problems.iter().map(|p| {
                        let p = p.summary(at);
                        json!({
                            "rule": p.rule,
                            "resource": sanitize::line(&p.resource),
                            "severity": p.severity.as_str(),
                            "chain": sanitize::line(&p.chain),
                            "flags": p.flags,
                        })
                    }).collect::<Vec<_>>(),
                    "root_cause": root_cause.as_deref().map(|l| sanitize::line(l).into_owned()),
                }))?;
            }
            Format::Plain { .. } => writeln!(line.out, "{}  SUMMARY  {}", rfc3339(at), message)?,
        }
        self.send(Batch {
            changes: Vec::new(),
            sources: BTreeMap::new(),
            raw: line.out,
        })?;
        self.finish()?;
        Ok(outcome)
    }

    /// Lines are flushed by the writer thread after each batch; this reports a writer that
    /// stopped (a closed pipe) without waiting for it.
    pub fn flush(&mut self) -> io::Result<()> {
        match &self.writer {
            Writer::Running { thread, .. } if thread.is_finished() => self.finish().map(drop),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod status_tests {
    use super::*;

    #[test]
    fn times_are_written_as_before_even_at_the_edges_of_the_calendar() {
        for secs in [
            0,
            1_795_424_400,
            -62_135_596_800,
            253_402_300_799,
            253_402_300_800,
        ] {
            let at = DateTime::<Utc>::from_timestamp(secs, 0).unwrap();
            let written = serde_json::to_string(&Rfc3339(at)).unwrap();
            assert_eq!(written, format!("\"{}\"", rfc3339(at)), "{secs}");
        }
        for at in [DateTime::<Utc>::MIN_UTC, DateTime::<Utc>::MAX_UTC] {
            let at = chrono::Timelike::with_nanosecond(&at, 0).unwrap();
            let written = serde_json::to_string(&Rfc3339(at)).unwrap();
            assert_eq!(written, format!("\"{}\"", rfc3339(at)));
        }
    }

    #[test]
    fn an_event_line_written_by_hand_is_what_serde_json_writes() {
        let texts = [
            "",
            "plain text",
            "a \"quoted\" word",
            "back\\slash",
            "tab\there",
            "line\nbreak",
            "\u{1}\u{1f}\u{7f} edges",
            "ünïcode ✓ and emoji 🚀",
            "exactly sixteen!",
            "a longer text that runs past one block of sixteen bytes with a \" late",
        ];
        let times = [
            DateTime::<Utc>::from_timestamp(1_795_424_400, 0).unwrap(),
            DateTime::<Utc>::from_timestamp(253_402_300_800, 0).unwrap(),
        ];
        for text in texts {
            for other in [None, Some(text), Some("payments")] {
                for at in times {
                    let line = EventLine {
                        at: Rfc3339(at),
                        id: other,
                        message: text,
                        resource: text,
                        source: "log",
                        sources: None,
                        stack: other,
                        kind: "event",
                    };
                    let mut by_hand = Vec::new();
                    line.write_json(&mut by_hand).unwrap();
                    let by_serde = serde_json::to_vec(&line).unwrap();
                    assert_eq!(
                        String::from_utf8(by_hand).unwrap(),
                        String::from_utf8(by_serde).unwrap(),
                        "{text:?} {other:?} {at}"
                    );
                }
            }
        }
    }

    use crate::model::{Login, Observation, SourceState, SourceStatus, StoreCaps};

    /// An output shared with the test, that can be made to fail like a closed pipe.
    #[derive(Clone, Default)]
    struct Shared {
        bytes: std::sync::Arc<std::sync::Mutex<Vec<u8>>>,
        closed: std::sync::Arc<std::sync::atomic::AtomicBool>,
    }

    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if self.closed.load(std::sync::atomic::Ordering::SeqCst) {
                return Err(io::ErrorKind::BrokenPipe.into());
            }
            self.bytes.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn rows(n: usize) -> Vec<Change> {
        let t0 = DateTime::<Utc>::from_timestamp(1_800_000_000, 0).unwrap();
        (0..n)
            .map(|i| {
                Change::Row(TimelineEntry {
                    seq: i as u64,
                    at: t0,
                    source: Source::Log,
                    resource: "app/web/1".into(),
                    stack: None,
                    id: None,
                    message: format!("line {i}").into(),
                    level: Severity::Info,
                    note: false,
                })
            })
            .collect()
    }

    #[test]
    fn every_line_handed_to_the_writer_is_written_even_when_the_run_ends_early() {
        let shared = Shared::default();
        let store = Store::new(StoreCaps::default());
        let now = DateTime::<Utc>::from_timestamp(1_800_000_000, 0).unwrap();
        let mut out = Headless::new(shared.clone(), Format::Json);
        for _ in 0..20 {
            out.on_changes(&store, &mut rows(100), now).unwrap();
        }
        drop(out); // no summary: an error or a signal ended the run
        let text = String::from_utf8(shared.bytes.lock().unwrap().clone()).unwrap();
        assert_eq!(text.lines().count(), 2000);
        assert!(text.lines().all(|l| l.starts_with(r#"{"at":"#)), "{text}");
    }

    #[test]
    fn a_closed_output_is_reported_as_a_broken_pipe() {
        let shared = Shared::default();
        let store = Store::new(StoreCaps::default());
        let now = DateTime::<Utc>::from_timestamp(1_800_000_000, 0).unwrap();
        let mut out = Headless::new(shared.clone(), Format::Json);
        out.on_changes(&store, &mut rows(3), now).unwrap();
        shared
            .closed
            .store(true, std::sync::atomic::Ordering::SeqCst);
        // The writer stops at its next batch; the one after finds it gone.
        let error = (0..1000)
            .find_map(|_| out.on_changes(&store, &mut rows(3), now).err())
            .expect("the closed output is noticed");
        assert_eq!(error.kind(), io::ErrorKind::BrokenPipe);
    }

    #[test]
    fn a_live_watch_writes_a_status_line_at_least_once_a_minute() {
        let t0 = DateTime::<Utc>::from_timestamp(1_800_000_000, 0).unwrap();
        let mut store = Store::new(StoreCaps::default());
        store.apply(&Observation::new(
            t0,
            SourceStatus {
                name: "cfn".into(),
                state: SourceState::Ok,
                calls_per_min: 20.0,
                throttled: 0,
                stale_s: 0,
                last_ok: Some(t0),
                paced: false,
            },
        ));
        let mut out =
            Headless::new(Vec::new(), Format::Json).with_status_every(TimeDelta::minutes(1));
        for secs in [0, 30, 59, 60, 61, 119, 120] {
            out.on_changes(&store, &mut Vec::new(), t0 + TimeDelta::seconds(secs))
                .unwrap();
        }
        let text = String::from_utf8(out.finish().unwrap()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "at 0, 60 and 120 s:\n{text}");
        assert!(
            lines
                .iter()
                .all(|l| l.contains(r#""type":"status""#) && l.contains(r#""name":"cfn""#))
        );
    }

    #[test]
    fn while_credentials_are_expired_status_lines_name_the_profile_and_the_fix() {
        let t0 = DateTime::<Utc>::from_timestamp(1_800_000_000, 0).unwrap();
        let mut changes = Vec::new();
        let mut pipeline = Pipeline::new(StoreCaps::default());
        for (secs, state) in [(0, SourceState::Ok), (5, SourceState::CredentialsExpired)] {
            let obs = Observation::new(
                t0 + TimeDelta::seconds(secs),
                SourceStatus {
                    name: "cfn".into(),
                    state,
                    calls_per_min: 20.0,
                    throttled: 0,
                    stale_s: 0,
                    last_ok: Some(t0),
                    paced: false,
                },
            );
            pipeline.feed(&obs, &mut changes);
        }
        let profile = Profile {
            name: "dev\x1b]0;x\x07".into(),
            login: Login::Sso,
        };
        let mut out =
            Headless::new(Vec::new(), Format::Plain { color: false }).with_profile(Some(profile));
        out.on_changes(&pipeline.store, &mut changes, t0 + TimeDelta::seconds(5))
            .unwrap();
        let text = String::from_utf8(out.finish().unwrap()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2, "{text}");
        assert!(!lines[0].contains("expired"), "{text}");
        assert!(
            lines[1].contains("source cfn is credentials_expired: credentials of profile dev")
                && lines[1].contains("run `aws sso login --profile dev`"),
            "{text}"
        );
        assert!(!text.contains('\x1b') && !text.contains('\x07'), "{text}");
    }
}
