//! No silent errors: a message no text rule knows but that reads like a failure gets the
//! `unknown` rule at warn severity, so it still reaches the flags strip (catalogue §2.4's
//! fallback keywords, taxonomy "unknown"). A message that reads as progress or success stays
//! unflagged.
//!
//! This is a separate step after the rule table, never a row of it: the table answers "which
//! family is this", the fallback only "does this read like a failure".
//!
//! - CloudFormation reasons, ECS reasons and events, target health and pasted API errors: a
//!   failure word, case-insensitive and word-bounded (`error`, `failed`, `exception`,
//!   `denied`, `timeout`, `unable`, `cannot`, `refused`, …), unless the word is negated
//!   (`0 errors`, `no failures`).
//! - Log lines: the level decides, not the word. An error level (`ERROR`, `FATAL`,
//!   `level=error`, `"level":"error"`, `[error]`, pino's `"level":50`) or an exception marker
//!   (`Traceback`, `…Exception: `, `panicked at`, `Caused by:`) flags the line; an explicit
//!   info/debug/warn level keeps it quiet even when it mentions an error, so a live tail does
//!   not drown in warnings.

// Pure: no clock here (clippy.toml names the methods).
#![deny(clippy::disallowed_methods)]

use std::sync::LazyLock;

use regex::bytes::{Regex, RegexSet, RegexSetBuilder};

// Only the head of a huge message is looked at, as much as the rule table looks at.
use super::text_rules::{Classification, MAX_TEXT, short};
use crate::model::{Severity, Source};

/// The rule id of a message that no rule knows.
pub const UNKNOWN: &str = "unknown";

/// Failure words for every source but logs (word-bounded, any case).
static FAILURE_WORDS: LazyLock<Regex> = LazyLock::new(|| {
    regex::bytes::RegexBuilder::new(
        r"(?i)\b(?:errors?|error(?:ed|ing)|fail(?:s|ed|ing|ures?)?|exceptions?|denied|forbidden|unauthori[sz]ed|time[ -]?outs?|timed[ -]out|unable|cannot|can ?not|can't|couldn't|could not|refused|unreachable|unhealthy|invalid|not found|missing|rolling back|rolled back|throttl(?:ed|ing)|exceeded|crash(?:ed|es|ing)?|abort(?:ed|ing)?|killed|fatal|panic(?:ked)?|unavailable|insufficient|unsupported|not supported|no longer supported|does not exist|doesn't exist|already exists|not permitted|not allowed|not authori[sz]ed|conflict(?:s|ing)?|violat(?:ed|es|ion)|rejected|unsuccessful|not successful|no space left|out of memory|no such|exited)\b|\bNo \w+ named\b",
    )
    .unicode(false)
    .build()
    .expect("valid")
});

/// The same words said not to have happened: `0 errors`, `no failures`, `without error`.
static NEGATED: LazyLock<Regex> = LazyLock::new(|| {
    regex::bytes::RegexBuilder::new(
        r"(?i)\b(?:0|no|zero|without(?: any)?|never)\s+(?:errors?|failures?|exceptions?|timeouts?)\b|\berrors?\s*[=:]\s*(?:0|none|null|nil|false)\b",
    )
    .unicode(false)
    .build()
    .expect("valid")
});

/// Patterns of [`LOG_MARKERS`], in order.
const STRUCT_ERROR: usize = 0;
const STRUCT_OTHER: usize = 1;
const TOKEN_ERROR: usize = 2;
const TOKEN_OTHER: usize = 3;
const EXCEPTION: usize = 4;

/// Level words of an error, and of anything else.
macro_rules! error_token {
    () => {
        r"\b(?:ERROR|ERR|FATAL|CRITICAL|CRIT|SEVERE|EMERG|EMERGENCY|ALERT|PANIC)\b|(?i:[\[<](?:error|err|fatal|critical|crit|emerg|alert|severe)[\]>])|(?m:^[EF]\d{4} \d\d:\d\d:\d\d)"
    };
}
macro_rules! other_token {
    () => {
        r"\b(?:INFO|DEBUG|TRACE|WARN|WARNING|NOTICE|VERBOSE)\b|(?i:[\[<](?:info|debug|trace|warn|warning|notice)[\]>])|(?m:^[IW]\d{4} \d\d:\d\d:\d\d)"
    };
}

/// When a line has level words of both kinds, the first one is its level
/// (`INFO request ended with ERROR 42` is an info line).
static FIRST_TOKEN: LazyLock<Regex> = LazyLock::new(|| {
    regex::bytes::RegexBuilder::new(concat!(
        "(?P<error>",
        error_token!(),
        ")|(?P<other>",
        other_token!(),
        ")"
    ))
    .unicode(false)
    .build()
    .expect("valid")
});

/// What may come before a log line's own words: a timestamp, a clock time, a compose or
/// Procfile prefix (`web-1  | `), a syslog tag (`host app[42]: `).
macro_rules! log_prefix {
    () => {
        r"(?:\[?\d{4}[-/]\d\d[-/]\d\d[T ]\d\d:\d\d:\d\d(?:[.,]\d+)?(?:Z|[+-]\d\d:?\d\d)?\]?\s+|\[?\d\d:\d\d:\d\d(?:[.,]\d+)?\]?\s+|[\w.-]+\s+\|\s+|(?:[\w.-]+\s+)?[\w.-]+\[\d+\]:\s+)"
    };
}

/// Log lines: [error level, another level, exception marker], one scan for all three.
static LOG_MARKERS: LazyLock<RegexSet> = LazyLock::new(|| {
    RegexSetBuilder::new(LOG_MARKER_PATTERNS)
        .unicode(false)
        .build()
        .expect("valid")
});

/// The markers without which a log line cannot read as a failure ([`reads_as_failure`] needs
/// a structured error level, an error level word or an exception marker).
pub(super) fn failure_marker_patterns() -> [&'static str; 3] {
    [
        LOG_MARKER_PATTERNS[STRUCT_ERROR],
        LOG_MARKER_PATTERNS[TOKEN_ERROR],
        LOG_MARKER_PATTERNS[EXCEPTION],
    ]
}

/// The patterns of [`LOG_MARKERS`] (read as bytes, without Unicode classes).
const LOG_MARKER_PATTERNS: [&str; 5] = [
    // A structured level says it all: key/value, JSON, pino's numbers.
    concat!(
        r#"(?i:\b(?:level|lvl|severity|loglevel|log_level)"?\s*[=:]\s*"?(?:error|err|eror|fatal|critical|crit|panic|emerg|emergency|alert|severe)\b)"#,
        r#"|(?i:"(?:level|severity)"\s*:\s*(?:50|60)\b)"#,
    ),
    concat!(
        r#"(?i:\b(?:level|lvl|severity|loglevel|log_level)"?\s*[=:]\s*"?(?:info|information|debug|dbug|trace|trce|warn|warning|notice|verbose)\b)"#,
        r#"|(?i:"(?:level|severity)"\s*:\s*(?:10|20|30|40)\b)"#,
    ),
    // Level words: upper-case (`ERROR`, `npm ERR!`) or bracketed (`[error]`).
    error_token!(),
    other_token!(),
    // An exception marker: a traceback, an exception type (dotted anywhere, or heading the
    // line), a panic, a Java cause chain, an unhandled rejection, a shell's own error; or
    // a line whose own words start with a failure (`Error: …`, `Failed to …`,
    // `Could not …`, `❌ Invalid …`), after its timestamp or prefix.
    concat!(
        r"Traceback \(most recent call last\)",
        r"|\b(?:[a-z_][\w$]*\.)+[A-Z][\w$]*(?:Exception|Error|Failure|Fault)(?::\s|:?$)",
        r"|\.exceptions?\.[A-Z]\w*: ",
        r"|(?m:^",
        log_prefix!(),
        r"{0,4}\s*[A-Z][\w$]*(?:Exception|Error)(?::\s|:?$))",
        r"|#<[A-Z]\w*(?:Error|Exception)\b|\([A-Z]\w*(?:Error|Exception)\)\s*$",
        r"|\bException in thread\b|(?m:^\s*Caused by: )",
        r"|\bpanicked at\b|(?m:^panic: )|(?m:^fatal error: )",
        r"|\bUnhandled(?:PromiseRejection| ?[Ee]xception| ?[Rr]ejection)\b|\buncaughtException\b",
        r"|\bSegmentation fault\b|\bcore dumped\b|: line \d+: ",
        r"|(?i:\bexit(?:ed)? (?:with )?(?:exit )?(?:code|status):? [1-9]\d*\b)",
        // A required setting said to be absent (`X is not set`, `required key X missing
        // value`), wherever it stands.
        r"|\b(?:is|are) (?:not set|not defined|required but|missing)\b|\bmust be (?:set|provided|specified)\b|\brequired key \S+ missing\b",
        r"|(?m:^",
        log_prefix!(),
        r"{0,4}\s*\W{0,3}\s*(?i:errors?|fatal|panic|critical|fail|failed|failure|missing|unable|cannot|can't|could not|couldn't|invalid|exception|uncaught|unhandled|denied|refused|timed out)\b)",
    ),
];

/// Whether a message that no rule knows reads like a failure.
pub fn reads_as_failure(source: Source, text: &str) -> bool {
    let text = crate::model::byte_prefix(text, MAX_TEXT).as_bytes();
    match source {
        Source::Log => {
            // Most lines carry no marker: a search that may stop early (and on a miss scans
            // once, more cheaply than one that tracks every pattern) settles them.
            if !LOG_MARKERS.is_match(text) {
                return false;
            }
            let found = LOG_MARKERS.matches(text);
            if found.matched(STRUCT_ERROR) || found.matched(STRUCT_OTHER) {
                return found.matched(STRUCT_ERROR);
            }
            match (found.matched(TOKEN_ERROR), found.matched(TOKEN_OTHER)) {
                (true, true) => FIRST_TOKEN
                    .captures(text)
                    .is_some_and(|c| c.name("error").is_some()),
                (error, other) if error || other => error,
                _ => found.matched(EXCEPTION),
            }
        }
        Source::Stackwatch => false,
        _ => {
            if !FAILURE_WORDS.is_match(text) {
                return false;
            }
            if !NEGATED.is_match(text) {
                return true;
            }
            // Some words are negated ("0 errors"): is another one left once those go?
            let rest = NEGATED.replace_all(text, &b" "[..]);
            FAILURE_WORDS.is_match(&rest)
        }
    }
}

/// Whether a line carries a log level or an exception marker of any kind: it looks like a log
/// line (`explain` guesses `log` for it).
pub fn log_marked(text: &str) -> bool {
    LOG_MARKERS.is_match(crate::model::byte_prefix(text, MAX_TEXT).as_bytes())
}

/// The `unknown` classification of a message that no rule knows: warn when it reads like a
/// failure, else info (shown by `explain`, never a flag).
pub fn unknown(source: Source, text: &str) -> Classification {
    unknown_as(reads_as_failure(source, text), text)
}

/// The `unknown` classification, warn when `failure` (a failed CloudFormation row says so by
/// its status, whatever its words).
pub fn unknown_as(failure: bool, text: &str) -> Classification {
    let excerpt = short(text, 160);
    if failure {
        Classification {
            rule: UNKNOWN,
            severity: Severity::Warn,
            summary: format!("unrecognised failure: {excerpt}"),
            next_step: "no rule knows this message yet: read it in full (the evidence), and the messages around it from the same resource".to_string(),
        }
    } else {
        Classification {
            rule: UNKNOWN,
            severity: Severity::Info,
            summary: if excerpt.is_empty() {
                "an empty message".to_string()
            } else {
                format!("no rule knows this message and it does not read as a failure: {excerpt}")
            },
            next_step: "nothing to do".to_string(),
        }
    }
}

/// The fallback step after the rule table: `unknown` at warn severity for a failure-like
/// message, `None` for one that reads as progress.
pub fn fallback(source: Source, text: &str) -> Option<Classification> {
    reads_as_failure(source, text).then(|| unknown(source, text))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fails(source: Source, text: &str) -> bool {
        reads_as_failure(source, text)
    }

    #[test]
    fn failure_words_flag_unknown_messages_of_aws_sources() {
        for (source, text) in [
            (
                Source::Cfn,
                "Invalid request provided: Subnet-123 not found",
            ),
            (
                Source::Cfn,
                "The maximum number of addresses has been reached. Unable to allocate",
            ),
            (Source::EcsTask, "Task stopped: the agent was DENIED"),
            (
                Source::EcsService,
                "(service api) could not attach volume vol-1",
            ),
            (Source::Elb, "Target.Weird: Connection refused by target"),
            (Source::Api, "SomeNewException: request TIMED OUT after 30s"),
            (Source::Api, "cannot   read the stack"),
            (Source::Cfn, "Operation failed; 0 errors before this one"),
            (
                Source::Cfn,
                "The runtime parameter of nodejs12.x is no longer supported for creating or updating AWS Lambda functions.",
            ),
            (Source::Api, "Stack with id my-app does not exist"),
            (
                Source::Cfn,
                "my-bucket already exists in stack arn:aws:cloudformation:1",
            ),
        ] {
            assert!(fails(source, text), "{text}");
            let c = fallback(source, text).unwrap();
            assert_eq!((c.rule, c.severity), (UNKNOWN, Severity::Warn));
            assert!(c.summary.contains(&short(text, 40)[..10]), "{}", c.summary);
        }
    }

    #[test]
    fn progress_and_success_stay_quiet() {
        for (source, text) in [
            (
                Source::Cfn,
                "Requested update requires the creation of a new physical resource; hence creating one.",
            ),
            (Source::Cfn, "Resource creation Initiated"),
            (
                Source::EcsService,
                "(service api) has reached a steady state.",
            ),
            (Source::Api, "Successfully created/updated stack - my-app"),
            (Source::Api, "deploy finished with 0 errors and no failures"),
            (Source::Api, "errors: 0"),
            // Word-bounded: `terror`, `failover`, `CREATE_FAILED` inside an identifier.
            (Source::Cfn, "terrorbird failover ready: PROVISION_FAILED_X"),
            (Source::Api, ""),
        ] {
            assert!(!fails(source, text), "{text}");
            assert!(fallback(source, text).is_none());
            assert_eq!(unknown(source, text).severity, Severity::Info);
        }
    }

    #[test]
    fn log_lines_are_flagged_by_their_level_or_an_exception() {
        for text in [
            "2026-11-30T10:00:00Z ERROR payment worker stopped",
            "npm ERR! code ELIFECYCLE",
            r#"{"level":"error","msg":"upstream went away"}"#,
            r#"{"level":50,"time":1,"msg":"boom"}"#,
            "time=2026-11-30T10:00:00Z level=error msg=\"giving up\"",
            "2026/11/30 10:00:00 [error] 29#29: *1 upstream prematurely closed",
            "error: could not open the database",
            "Traceback (most recent call last):",
            "ValueError: invalid literal for int() with base 10: 'x'",
            "java.lang.IllegalStateException: no bean",
            "thread 'main' (13) panicked at src/main.rs:4:5:",
            "Caused by: java.net.SocketTimeoutException: Read timed out",
            "[FATAL] worker died",
            "foundry    | ./entrypoint.sh: line 107: CONTAINER_PATCHES: parameter not set",
            "2023-12-31 08:12:22 error: Environment variable not found: DATABASE_URL.",
            "13:58:01 web.1  | Traceback (most recent call last):",
            "db-1      | Error: Database is uninitialized and superuser password is not specified.",
            "\u{274c} Invalid environment variables: {",
            "Could not resolve placeholder 'writeToFile' in value \"${writeToFile}\"",
            "Missing required configuration: GITHUB_BOT_USERNAME",
            "2019/03/13 10:42:54 required key MYAPP_FOO missing value",
            "DATABASE_URL must be set",
            "E1130 12:00:00.000000   1 main.go:42] failed to connect to database",
            "Exited with code 1",
            "process exited with status 2",
            "2026-11-30 ERROR request ended, INFO follows",
            r#"{"level":"error","msg":"INFO: not a level here"}"#,
            "docker web[22644]: django.core.exceptions.ImproperlyConfigured: Set the SECRET_KEY environment variable",
            "#<ArgumentError: Missing `secret_key_base` for 'production' environment>",
            "app error: Missing `secret_key_base` for 'production' environment (RuntimeError)",
        ] {
            assert!(fails(Source::Log, text), "{text}");
        }
    }

    #[test]
    fn log_lines_that_only_mention_an_error_stay_quiet() {
        for text in [
            "2026-11-30T10:00:00Z INFO retried after an error, all good",
            r#"{"level":"info","msg":"error budget at 99.9%"}"#,
            r#"{"level":30,"msg":"no error"}"#,
            "level=warn msg=\"request failed, retrying\"",
            "WARN  connection refused, retrying in 5s",
            "GET /errors 200 3ms",
            "handled 3 errors in the last minute",
            "Prisma config detected, skipping environment variable loading.",
            "[dotenv@16.6.0] injecting env (20) from .env",
            "INFO ValueError: handled and ignored",
            "cache: error rate 0.1%",
            "docker web[1]: /app/environ.py:637: UserWarning: Error reading .env",
            "Listening on :8080 after 2 failed attempts",
            "I1130 12:00:00.000000   1 main.go:42] error budget fine",
            "worker exited with code 0",
            "2026-11-30 INFO request ended with ERROR 42, handled",
            r#"{"level":"info","msg":"ERROR budget report: all good"}"#,
        ] {
            assert!(!fails(Source::Log, text), "{text}");
        }
    }
}
