//! `stackwatch explain`: what one pasted message means, by the same rules the live detector
//! runs. Pure: text in, an [`Explanation`] or a JSON object out; `main.rs` only reads stdin and
//! prints.
//!
//! Pasted text comes in every shape, so it is normalised before matching ([`normalise`]):
//! control and escape sequences stripped, a JSON blob unwrapped to its message field
//! (`message`, `reason`, `StatusReason`, …), whole AWS CLI error output cut to its
//! `An error occurred (X) when calling the Y operation: …` line, and console copy-paste with
//! hard line breaks joined again. The rules then see the normalised message, the cleaned text
//! with its line breaks (a traceback's lines), and any long quoted piece (a CloudFormation
//! reason inside a larger message); the most specific match among them wins. A message no rule
//! knows is `unknown`: warn when it reads like a failure, info otherwise (the detector's
//! fallback).

use std::borrow::Cow;
use std::io::{self, BufRead, Read, Write};

use serde::Serialize;
use serde_json::Value;

use crate::detect::{
    Classification, UNKNOWN, UserRules, reads_as_failure, text_rules, unknown, unknown_as,
};
use crate::model::{Severity, Source};
use crate::sanitize;

/// Only the head of a pasted message is read: enough for a long stack trace, and a 1 MB line
/// costs no more than this.
pub const MAX_INPUT: usize = 64 * 1024;

/// The `--source` names, as the headless JSON lines spell them.
pub const SOURCE_NAMES: [(&str, Source); 6] = [
    ("cfn", Source::Cfn),
    ("ecs-task", Source::EcsTask),
    ("ecs-service", Source::EcsService),
    ("elb", Source::Elb),
    ("log", Source::Log),
    ("api", Source::Api),
];

/// A source by its `--source` name.
pub fn parse_source(name: &str) -> Option<Source> {
    SOURCE_NAMES
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name.trim()))
        .map(|&(_, s)| s)
}

/// What a message means.
#[derive(Debug, Clone, PartialEq)]
pub struct Explanation {
    pub rule: &'static str,
    pub severity: Severity,
    pub summary: String,
    pub next_step: String,
    pub source: Source,
    /// The source was guessed from the text (no `--source`).
    pub guessed: bool,
}

/// Explains one message of `source`, or of the source guessed from the text.
pub fn explain(source: Option<Source>, text: &str) -> Explanation {
    let candidates = candidates(text);
    let (source, guessed, found) = match source {
        Some(s) => (s, false, best(s, &candidates)),
        None => {
            let (s, found) = guess(&candidates);
            (s, true, found)
        }
    };
    let c = found.unwrap_or_else(|| {
        let message = candidates.first().map_or("", String::as_str);
        // A log line's level may sit on any of its lines: look at the cleaned text too.
        if candidates.iter().any(|c| reads_as_failure(source, c)) {
            unknown_as(true, message)
        } else {
            unknown(source, message)
        }
    });
    Explanation {
        rule: c.rule,
        severity: c.severity,
        summary: sanitize::line(&c.summary).into_owned(),
        next_step: sanitize::line(&c.next_step).into_owned(),
        source,
        guessed,
    }
}

/// Like [`explain`], with the config file's rules: tried after the built-in table, before the
/// `unknown` fallback (with a guessed source: the guessed one first, then the others).
pub fn explain_with(user: &UserRules, source: Option<Source>, text: &str) -> Explanation {
    let e = explain(source, text);
    if e.rule != UNKNOWN || user.rules().is_empty() {
        return e;
    }
    let candidates = candidates(text);
    let sources: Vec<Source> = match source {
        Some(s) => vec![s],
        None => std::iter::once(e.source).chain(GUESS_ORDER).collect(),
    };
    let found = sources.into_iter().find_map(|s| {
        candidates
            .iter()
            .find_map(|c| user.classify(s, c))
            .map(|c| (s, c))
    });
    match found {
        Some((source, c)) => Explanation {
            rule: c.rule,
            severity: c.severity,
            summary: sanitize::line(&c.summary).into_owned(),
            next_step: sanitize::line(&c.next_step).into_owned(),
            source,
            guessed: e.guessed,
        },
        None => e,
    }
}

/// The most specific classification of `source` among the candidates (lowest table rank;
/// the earlier candidate on a tie).
fn best(source: Source, candidates: &[String]) -> Option<Classification> {
    best_ranked(source, candidates).map(|(_, c)| c)
}

fn best_ranked(source: Source, candidates: &[String]) -> Option<(usize, Classification)> {
    candidates
        .iter()
        .filter_map(|c| crate::detect::classify_ranked(source, c))
        .min_by_key(|(rank, _)| *rank)
}

/// The order sources are tried in when guessing, for ties.
const GUESS_ORDER: [Source; 6] = [
    Source::Api,
    Source::Cfn,
    Source::EcsTask,
    Source::EcsService,
    Source::Elb,
    Source::Log,
];

/// Guesses the source. A service event names its service first (`(service X) …`). Else the
/// source whose rules match with a rule of its own family (`cfn.*` for cfn, …) and the most
/// specific rule (the table runs from specific to generic, one table for all sources), else
/// the first source that matches at all, else `log` for text that carries a log level or an
/// exception, else `api`.
fn guess(candidates: &[String]) -> (Source, Option<Classification>) {
    if let Some(first) = candidates.first() {
        for (cue, source) in CUES.iter() {
            if cue.is_match(first)
                && let Some(c) = best(*source, candidates)
            {
                return (*source, Some(c));
            }
        }
    }
    let mut own: Option<(usize, Source, Classification)> = None;
    let mut any: Option<(Source, Classification)> = None;
    for source in GUESS_ORDER {
        let Some((rank, c)) = best_ranked(source, candidates) else {
            continue;
        };
        if family_of(c.rule, source) {
            if own.as_ref().is_none_or(|(r, _, _)| rank < *r) {
                own = Some((rank, source, c));
            }
        } else if any.is_none() {
            any = Some((source, c));
        }
    }
    if let Some((_, source, c)) = own {
        return (source, Some(c));
    }
    if let Some((source, c)) = any {
        return (source, Some(c));
    }
    let looks_like_log = candidates.iter().any(|c| crate::detect::log_marked(c));
    let source = if looks_like_log {
        Source::Log
    } else {
        Source::Api
    };
    (source, None)
}

/// Words that name a message's source whatever else it says: a service event names its
/// service first, a task's reason starts with the agent's error name, target health with its
/// reason code.
static CUES: std::sync::LazyLock<[(regex::Regex, Source); 3]> = std::sync::LazyLock::new(|| {
    let re = |p: &str| regex::Regex::new(p).expect("valid");
    [
        (re(r"^\(?service [^)\s]+\)? "), Source::EcsService),
        (
            re(
                r"(?i)^(?:ResourceInitializationError|Cannot(?:Pull|Start|Create|Inspect)ContainerError|OutOfMemoryError: Container|Essential container in task|Task failed|Your Spot Task|Host EC2|Scaling activity initiated)",
            ),
            Source::EcsTask,
        ),
        (re(r"^Target\.[A-Za-z]+\b"), Source::Elb),
    ]
});

/// Whether a rule id belongs to the family of `source` (`ecs.*` to both ECS sources).
fn family_of(rule: &str, source: Source) -> bool {
    let area = rule.split('.').next().unwrap_or("");
    match source {
        Source::Cfn => area == "cfn",
        Source::EcsTask | Source::EcsService => {
            area == "ecs"
                && text_rules()
                    .find(|r| r.id == rule)
                    .is_some_and(|r| r.sources.contains(&source))
        }
        Source::Elb => area == "elb",
        Source::Log => area == "log",
        Source::Api => area == "api",
        Source::Stackwatch => false,
    }
}

/// The texts the rules see, best first: the normalised message, the cleaned text with its
/// line breaks (when it differs), and long quoted pieces of the message.
fn candidates(text: &str) -> Vec<String> {
    let cleaned = clean(text);
    let message = normalise(text);
    let mut out: Vec<String> = Vec::with_capacity(4);
    let mut push = |s: String| {
        if !s.trim().is_empty() && !out.contains(&s) {
            out.push(s);
        }
    };
    let quoted = quoted_pieces(&message);
    push(message);
    push(cleaned.trim().to_string());
    for q in quoted {
        push(q);
    }
    if out.is_empty() {
        out.push(String::new());
    }
    out
}

/// Control and escape sequences stripped, carriage returns dropped, line breaks kept; the
/// head of a huge input only.
/// The replacement characters of invalid UTF-8 read lossily carry nothing: they go too.
fn clean(text: &str) -> Cow<'_, str> {
    let head = crate::model::byte_prefix(text, MAX_INPUT);
    match sanitize::clean(head, MAX_INPUT, true) {
        Cow::Borrowed(s) if !s.contains('\u{fffd}') => Cow::Borrowed(s),
        cleaned => Cow::Owned(cleaned.replace('\u{fffd}', "")),
    }
}

/// The message inside pasted text, on one line, ready for the rules:
///
/// - control characters and escape sequences are stripped;
/// - a JSON blob gives its message field (`StatusReason`, `ResourceStatusReason`,
///   `stoppedReason`, `reason`, `message`, `errorMessage`, …, at any depth; target health as
///   `Reason: Description`);
/// - whole AWS CLI error output is cut to its `An error occurred (X) when calling the Y
///   operation: …` line (the rules peel that wrapper themselves and keep its error code);
/// - lines are joined: with no separator when they were cut at one terminal width, else with a
///   space; runs of spaces become one.
///
/// ```
/// use stackwatch::explain::normalise;
///
/// let pasted = r#"{"StackEvents": [{"ResourceStatus": "CREATE_FAILED",
///   "ResourceStatusReason": "Resource creation cancelled"}]}"#;
/// assert_eq!(normalise(pasted), "Resource creation cancelled");
/// ```
pub fn normalise(text: &str) -> String {
    normalise_depth(text, 0)
}

fn normalise_depth(text: &str, depth: u8) -> String {
    let cleaned = clean(text);
    let trimmed = cleaned.trim();
    if depth < 3
        && let Some(inner) = json_message(trimmed)
    {
        return normalise_depth(&inner, depth + 1);
    }
    let from_cli = match trimmed.find("An error occurred (") {
        Some(pos) => &trimmed[pos..],
        None => trimmed,
    };
    join_lines(&unescape(from_cli))
}

/// A message quoted inside a JSON-encoded one (a CDK error, a log line holding JSON) keeps
/// its escapes: `\"` becomes `"`, and escaped line breaks and tabs become spaces.
fn unescape(text: &str) -> Cow<'_, str> {
    if !text.contains("\\\"") && !text.contains("\\n") && !text.contains("\\t") {
        return Cow::Borrowed(text);
    }
    Cow::Owned(
        text.replace("\\\"", "\"")
            .replace("\\r\\n", " ")
            .replace("\\n", " ")
            .replace("\\t", " "),
    )
}

/// Joins hard-wrapped lines into one.
fn join_lines(text: &str) -> String {
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim_end)
        .filter(|l| !l.trim().is_empty())
        .collect();
    // A terminal cut every line at one width (no space lost at the cut): join without one.
    // Two full-width lines at least, or one line of a given length would prove nothing.
    let cut_at_width = lines.len() > 2 && {
        let width = lines[0].chars().count();
        width >= 40
            && lines[..lines.len() - 1]
                .iter()
                .all(|l| l.chars().count() == width)
            && !lines[0].starts_with(char::is_whitespace)
    };
    let joined = if cut_at_width {
        lines.concat()
    } else {
        lines.iter().map(|l| l.trim()).collect::<Vec<_>>().join(" ")
    };
    joined.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Fields that hold the message, most telling first.
const MESSAGE_KEYS: [&str; 12] = [
    "ResourceStatusReason",
    "StatusReason",
    "StackStatusReason",
    "stoppedReason",
    "statusReason",
    "rolloutStateReason",
    "reason",
    "errorMessage",
    "message",
    "Message",
    "error",
    "Error",
];

/// The message of a JSON blob, if the text is one and it has a message field.
fn json_message(text: &str) -> Option<String> {
    let first = text.chars().next()?;
    if !matches!(first, '{' | '[' | '"') {
        return None;
    }
    let value: Value = serde_json::from_str(text).ok()?;
    match &value {
        Value::String(s) => Some(s.clone()),
        _ => message_in(&value, 0),
    }
}

fn message_in(value: &Value, depth: u8) -> Option<String> {
    if depth > 8 {
        return None;
    }
    match value {
        Value::Object(map) => {
            // Target health: `Reason: Description`, as the detector sees it.
            let get = |k: &str| {
                map.iter()
                    .find(|(key, _)| key.eq_ignore_ascii_case(k))
                    .and_then(|(_, v)| v.as_str())
            };
            if let (Some(reason), Some(description)) = (get("Reason"), get("Description"))
                && reason.starts_with("Target.")
            {
                return Some(format!("{reason}: {description}"));
            }
            for key in MESSAGE_KEYS {
                match map.get(key) {
                    Some(Value::String(s)) if !s.trim().is_empty() => return Some(s.clone()),
                    Some(inner @ (Value::Object(_) | Value::Array(_))) => {
                        if let Some(m) = message_in(inner, depth + 1) {
                            return Some(m);
                        }
                    }
                    _ => {}
                }
            }
            map.values().find_map(|v| match v {
                Value::Object(_) | Value::Array(_) => message_in(v, depth + 1),
                _ => None,
            })
        }
        // The first element with a message: the newest event, as the CLI lists them.
        Value::Array(items) => items.iter().find_map(|v| message_in(v, depth + 1)),
        _ => None,
    }
}

/// Long quoted pieces of a message: a reason quoted inside a larger one
/// (`… failed: "Resource handler returned message: …"`).
fn quoted_pieces(text: &str) -> Vec<String> {
    const MIN: usize = 16;
    // A message quotes one reason or two; text with hundreds of quotes is not one message.
    const MOST: usize = 6;
    let mut out = Vec::new();
    for (open, close) in [('"', '"'), ('\u{201c}', '\u{201d}'), ('\'', '\'')] {
        let mut rest = text;
        while out.len() < MOST
            && let Some(start) = rest.find(open)
        {
            let after = &rest[start + open.len_utf8()..];
            let Some(end) = after.find(close) else { break };
            let piece = after[..end].trim();
            if piece.len() >= MIN && piece.contains(' ') {
                out.push(piece.to_string());
            }
            rest = &after[end + close.len_utf8()..];
        }
    }
    // After `reason:` / `with reason:`: the rest of the message.
    if let Some(pos) = text.to_ascii_lowercase().rfind("reason: ") {
        let piece = text[pos + "reason: ".len()..].trim();
        if piece.len() >= MIN {
            out.push(piece.to_string());
        }
    }
    out
}

/// The longest input line `explain --jsonl` keeps; the rest of a longer line is read and
/// dropped, and the line answered with an error.
pub const MAX_JSONL_LINE: usize = 4 << 20;

/// `explain --jsonl`: one answer per input line, in order, flushed as it goes. Lines are bytes
/// (invalid UTF-8 is read lossily) and bounded in memory.
pub fn answer_jsonl(input: impl BufRead, out: impl Write) -> io::Result<()> {
    answer_jsonl_with(&UserRules::default(), input, out)
}

/// Like [`answer_jsonl`], with the config file's rules.
pub fn answer_jsonl_with(
    user: &UserRules,
    mut input: impl BufRead,
    mut out: impl Write,
) -> io::Result<()> {
    let mut line = Vec::new();
    let mut n = 0;
    loop {
        line.clear();
        let (read, too_long) = read_bounded_line(&mut input, &mut line, MAX_JSONL_LINE)?;
        if read == 0 {
            return Ok(());
        }
        n += 1;
        let answer = if too_long {
            serde_json::json!({
                "error": format!("line {n}: longer than {} MiB", MAX_JSONL_LINE >> 20)
            })
            .to_string()
        } else {
            let text = String::from_utf8_lossy(&line);
            answer_jsonl_line_with(user, text.trim_end_matches(['\n', '\r']), n)
        };
        writeln!(out, "{answer}")?;
    }
}

/// Reads one line into `buf`, keeping at most `max` bytes of it: (bytes read, cut short).
fn read_bounded_line(
    input: &mut impl BufRead,
    buf: &mut Vec<u8>,
    max: usize,
) -> io::Result<(usize, bool)> {
    let mut read = 0;
    let mut too_long = false;
    loop {
        let available = match input.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if available.is_empty() {
            return Ok((read, too_long));
        }
        let (chunk, done) = match available.iter().position(|&b| b == b'\n') {
            Some(i) => (&available[..=i], true),
            None => (available, false),
        };
        let room = max.saturating_sub(buf.len());
        if chunk.len() > room {
            too_long = true;
        }
        buf.extend_from_slice(&chunk[..chunk.len().min(room)]);
        let used = chunk.len();
        read += used;
        input.consume(used);
        if done {
            return Ok((read, too_long));
        }
    }
}

/// The message `explain` reads from stdin: the head of it (16 × [`MAX_INPUT`]); the rest is
/// read and dropped, so a writer piping a huge file is never cut off mid-write.
pub fn read_message(mut input: impl Read) -> io::Result<String> {
    let mut bytes = Vec::new();
    input
        .by_ref()
        .take(MAX_INPUT as u64 * 16)
        .read_to_end(&mut bytes)?;
    io::copy(&mut input, &mut io::sink())?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// One line of `explain --jsonl` output.
#[derive(Debug, Serialize)]
struct JsonAnswer<'a> {
    rule: &'a str,
    severity: &'a str,
    summary: &'a str,
    next_step: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    source: Option<&'a str>,
}

/// Answers one input line of `explain --jsonl` (`{"source","text"}`, `source` optional) with
/// one JSON object: the explanation, or `{"error": …}` for a line that is not such an object.
/// `n` is the line's number, for the error.
pub fn answer_jsonl_line(line: &str, n: usize) -> String {
    answer_jsonl_line_with(&UserRules::default(), line, n)
}

/// Like [`answer_jsonl_line`], with the config file's rules.
pub fn answer_jsonl_line_with(user: &UserRules, line: &str, n: usize) -> String {
    match explain_json_line(user, line) {
        Ok(e) => serde_json::to_string(&JsonAnswer {
            rule: e.rule,
            severity: e.severity.as_str(),
            summary: &e.summary,
            next_step: &e.next_step,
            source: e.guessed.then(|| e.source.as_str()),
        }),
        Err(why) => serde_json::to_string(&serde_json::json!({
            "error": sanitize::line(&format!("line {n}: {why}")),
        })),
    }
    .unwrap_or_else(|_| r#"{"error":"unprintable answer"}"#.to_string())
}

fn explain_json_line(user: &UserRules, line: &str) -> Result<Explanation, String> {
    let line = line.trim();
    if line.is_empty() {
        return Err("an empty line, not a JSON object".to_string());
    }
    let value: Value =
        serde_json::from_str(line).map_err(|e| format!("not a JSON object ({e})"))?;
    let Value::Object(map) = value else {
        return Err("not a JSON object".to_string());
    };
    let text = match map.get("text") {
        Some(Value::String(t)) => t,
        Some(_) => return Err("\"text\" is not a string".to_string()),
        None => return Err("no \"text\" field".to_string()),
    };
    let source = match map.get("source") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.trim().is_empty() => None,
        Some(Value::String(s)) => Some(parse_source(s).ok_or_else(|| {
            format!(
                "unknown source {:?} (one of {})",
                crate::model::byte_prefix(s, 40),
                source_list()
            )
        })?),
        Some(_) => return Err("\"source\" is not a string".to_string()),
    };
    Ok(explain_with(user, source, text))
}

/// `cfn, ecs-task, …`.
pub fn source_list() -> String {
    SOURCE_NAMES.map(|(n, _)| n).join(", ")
}

/// The explanation as text for a person; coloured when `color`.
pub fn render_text(e: &Explanation, color: bool) -> String {
    use crossterm::style::Stylize;
    let paint = |s: &str, f: fn(&str) -> String| if color { f(s) } else { s.to_string() };
    let label = |s: &str| paint(s, |s| s.dim().to_string());
    let rule = paint(e.rule, |s| s.bold().to_string());
    let severity = match e.severity {
        Severity::Info => paint("info", |s| s.green().to_string()),
        Severity::Warn => paint("warn", |s| s.yellow().bold().to_string()),
        Severity::Error => paint("error", |s| s.red().bold().to_string()),
        Severity::Fatal => paint("fatal", |s| s.magenta().bold().to_string()),
    };
    let source = if e.guessed {
        format!("{} (guessed from the text)", e.source.as_str())
    } else {
        e.source.as_str().to_string()
    };
    format!(
        "{} {rule}\n{} {severity}\n{} {source}\n{} {}\n{} {}\n",
        label("rule:     "),
        label("severity: "),
        label("source:   "),
        label("summary:  "),
        e.summary,
        label("next step:"),
        e.next_step,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalise_cuts_cli_error_output_to_its_error_line() {
        let pasted = "$ aws cloudformation create-stack --stack-name app --template-body file://t.yml\n\
\n\
An error occurred (ValidationError) when calling the CreateStack operation: Template format\n\
error: Unresolved resource dependencies [Vpc] in the Resources block of the template\n";
        assert_eq!(
            normalise(pasted),
            "An error occurred (ValidationError) when calling the CreateStack operation: Template format error: Unresolved resource dependencies [Vpc] in the Resources block of the template"
        );
    }

    #[test]
    fn normalise_unwraps_json_blobs() {
        let task = r#"{"tasks": [{"lastStatus": "STOPPED", "stoppedReason": "Essential container in task exited", "containers": []}]}"#;
        assert_eq!(normalise(task), "Essential container in task exited");
        let sdk = r#"{"name": "ValidationError", "Error": {"Code": "ValidationError", "Message": "Stack with id app does not exist"}}"#;
        assert_eq!(normalise(sdk), "Stack with id app does not exist");
        let health = r#"{"State": "unhealthy", "Reason": "Target.Timeout", "Description": "Request timed out"}"#;
        assert_eq!(normalise(health), "Target.Timeout: Request timed out");
        let log = r#"{"level":"error","message":"connect ECONNREFUSED 10.0.0.5:5432"}"#;
        assert_eq!(normalise(log), "connect ECONNREFUSED 10.0.0.5:5432");
        // A JSON string holding the message, and JSON that is not a blob of ours.
        assert_eq!(normalise(r#""Internal Failure""#), "Internal Failure");
        assert_eq!(normalise("[1, 2]"), "[1, 2]");
        assert_eq!(normalise("{not json"), "{not json");
    }

    #[test]
    fn normalise_joins_wrapped_lines() {
        // Console copy-paste: breaks between words.
        let pasted = "Resource handler returned message: \"Error occurred during operation 'ECS\n  Deployment Circuit Breaker was triggered'.\"\n (RequestToken: 0f1e, HandlerErrorCode: GeneralServiceException)";
        assert_eq!(
            normalise(pasted),
            "Resource handler returned message: \"Error occurred during operation 'ECS Deployment Circuit Breaker was triggered'.\" (RequestToken: 0f1e, HandlerErrorCode: GeneralServiceException)"
        );
        // A terminal cut at 40 columns, inside words.
        let line =
            "CannotPullContainerError: pull image manifest has been retried 5 time(s): not found";
        let cut: Vec<String> = line
            .chars()
            .collect::<Vec<_>>()
            .chunks(40)
            .map(|c| c.iter().collect())
            .collect();
        assert_eq!(normalise(&cut.join("\r\n")), line);
    }

    #[test]
    fn normalise_strips_escape_sequences_and_controls() {
        assert_eq!(
            normalise("\x1b[31mInternal Failure\x1b[0m\x07\u{9b}2J"),
            "Internal Failure"
        );
        assert_eq!(
            normalise("\u{fffd}Internal Failure\u{fffd}"),
            "Internal Failure"
        );
    }

    #[test]
    fn normalise_unescapes_a_reason_quoted_inside_a_larger_message() {
        let cdk = r#"Error: The stack named app failed to deploy: UPDATE_ROLLBACK_COMPLETE: Resource handler returned message: \"Error occurred during operation 'ECS Deployment Circuit Breaker was triggered'.\" (RequestToken: 0f1e, HandlerErrorCode: GeneralServiceException)\n    at Object.deploy"#;
        let n = normalise(cdk);
        assert!(
            n.contains(r#"returned message: "Error occurred during operation 'ECS Deployment Circuit Breaker was triggered'." (RequestToken"#),
            "{n}"
        );
        assert!(!n.contains('\\'), "{n}");
        assert_eq!(
            explain(Some(Source::Cfn), cdk).rule,
            "cfn.ecs_circuit_breaker"
        );
        // A quoted reason stays whole in the normalised message, for the rules to find.
        let quoted = "Stack app failed:\n  \"Failed to receive 1 resource signal(s)\n  within the specified duration\"";
        assert_eq!(
            normalise(quoted),
            "Stack app failed: \"Failed to receive 1 resource signal(s) within the specified duration\""
        );
    }

    #[test]
    fn a_quoted_reason_inside_a_larger_message_is_found() {
        let pasted = "❌  app failed: Error: The stack named app failed creation, it may need to be manually deleted from the AWS console: ROLLBACK_COMPLETE: \"Failed to receive 1 resource signal(s) within the specified duration\"";
        let e = explain(Some(Source::Cfn), pasted);
        assert_eq!(e.rule, "cfn.signal_timeout", "{e:?}");
        assert!(
            quoted_pieces(pasted)
                .iter()
                .any(|q| q.starts_with("Failed to receive 1"))
        );
    }

    #[test]
    fn explain_uses_the_rules_and_the_fallback() {
        let e = explain(
            Some(Source::EcsTask),
            "CannotPullContainerError: pull image manifest has been retried 5 time(s): failed to resolve ref 1.dkr.ecr.eu-west-1.amazonaws.com/api:v2: not found",
        );
        assert_eq!(
            (e.rule, e.severity),
            ("ecs.image_not_found", Severity::Error)
        );
        let e = explain(
            Some(Source::Log),
            "2026-11-30T10:00:00Z ERROR the ledger went away",
        );
        assert_eq!((e.rule, e.severity), ("unknown", Severity::Warn));
        let e = explain(
            Some(Source::Log),
            "2026-11-30T10:00:00Z INFO error budget fine",
        );
        assert_eq!((e.rule, e.severity), ("unknown", Severity::Info));
        let e = explain(Some(Source::Log), "");
        assert_eq!((e.rule, e.severity), ("unknown", Severity::Info));
    }

    #[test]
    fn the_source_is_guessed_from_the_text() {
        let guess_of = |t: &str| {
            let e = explain(None, t);
            assert!(e.guessed);
            (e.source, e.rule)
        };
        assert_eq!(
            guess_of(
                "An error occurred (ExpiredToken) when calling the DescribeStacks operation: The security token included in the request is expired"
            ),
            (Source::Api, "api.expired_token")
        );
        assert_eq!(
            guess_of(
                "Resource handler returned message: \"Error occurred during operation 'ECS Deployment Circuit Breaker was triggered'.\" (RequestToken: 0f1e, HandlerErrorCode: GeneralServiceException)"
            ),
            (Source::Cfn, "cfn.ecs_circuit_breaker")
        );
        assert_eq!(
            guess_of("(service payments-api) has reached a steady state."),
            (Source::EcsService, "ecs.svc_steady_state")
        );
        assert_eq!(
            guess_of(
                "Error [ERR_MODULE_NOT_FOUND]: Cannot find package 'express' imported from /app/server.js"
            ),
            (Source::Log, "log.node_module_not_found")
        );
        assert_eq!(
            guess_of("2026-11-30 ERROR something nobody has seen"),
            (Source::Log, "unknown")
        );
        assert_eq!(guess_of("hello there").0, Source::Api);
    }

    #[test]
    fn jsonl_lines_answer_one_object_each() {
        let ok = answer_jsonl_line(r#"{"source":"cfn","text":"Internal Failure"}"#, 1);
        let v: Value = serde_json::from_str(&ok).unwrap();
        assert_eq!(v["rule"], "cfn.internal_failure");
        assert_eq!(v["severity"], "error");
        assert!(v.get("source").is_none(), "{ok}");
        assert!(ok.starts_with(r#"{"rule":"#), "fields in order: {ok}");
        let guessed = answer_jsonl_line(r#"{"text":"Internal Failure"}"#, 2);
        let v: Value = serde_json::from_str(&guessed).unwrap();
        assert_eq!(v["source"], "cfn");
        for (bad, why) in [
            ("garbage", "line 3: not a JSON object"),
            ("", "line 3: an empty line"),
            (r#"{"source":"cfn"}"#, "line 3: no \"text\" field"),
            (r#"{"text":5}"#, "line 3: \"text\" is not a string"),
            (r#"{"source":"s3","text":"x"}"#, "line 3: unknown source"),
            ("[1]", "line 3: not a JSON object"),
        ] {
            let v: Value = serde_json::from_str(&answer_jsonl_line(bad, 3)).unwrap();
            assert!(v["error"].as_str().unwrap().starts_with(why), "{bad}: {v}");
        }
    }

    #[test]
    fn jsonl_answers_every_line_in_order_and_bounds_long_ones() {
        let long = format!("{{\"text\":\"{}\"}}", "x".repeat(MAX_JSONL_LINE));
        let input = format!(
            "{{\"source\":\"cfn\",\"text\":\"Internal Failure\"}}\r\n{long}\nnot json\n{{\"text\":\"Internal Failure\"}}"
        );
        let mut out = Vec::new();
        answer_jsonl(
            io::BufReader::with_capacity(1024, input.as_bytes()),
            &mut out,
        )
        .unwrap();
        let lines: Vec<Value> = String::from_utf8(out)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 4, "{lines:?}");
        assert_eq!(lines[0]["rule"], "cfn.internal_failure");
        assert_eq!(lines[1]["error"], "line 2: longer than 4 MiB");
        assert!(lines[2]["error"].as_str().unwrap().starts_with("line 3: "));
        assert_eq!(lines[3]["source"], "cfn", "the last line has no newline");
    }

    #[test]
    fn a_message_is_read_up_to_its_cap_and_the_rest_drained() {
        let input = vec![b'a'; MAX_INPUT * 20];
        let mut reader = io::Cursor::new(input);
        let text = read_message(&mut reader).unwrap();
        assert_eq!(text.len(), MAX_INPUT * 16);
        assert_eq!(reader.position() as usize, MAX_INPUT * 20);
    }

    #[test]
    fn text_output_is_plain_without_colour() {
        let e = explain(Some(Source::Cfn), "Internal Failure");
        let text = render_text(&e, false);
        assert!(text.contains("rule:      cfn.internal_failure\n"), "{text}");
        assert!(!text.contains('\x1b'));
        assert!(render_text(&e, true).contains('\x1b'));
    }
}
