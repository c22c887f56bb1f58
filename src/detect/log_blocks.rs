//! Multi-line log errors: a Python traceback, a Java `Caused by:` chain, a Node stack, a Go or
//! Rust panic arrive as many log events of one stream (awslogs sends one event per line). They
//! are one error: one evidence item, classified by the line that decides it (a traceback's last
//! line, the deepest `Caused by:`), not one flag per line.
//!
//! Per stream, the detector keeps the block a failing line opened and appends the lines that
//! continue it (frames, `Caused by:`, a traceback's exception line). Two kinds of block:
//! - a *header* block (`Traceback (most recent call last):`, `Exception in thread "main" …`, a
//!   Rust `panicked at …:` whose message is on the next line) decides nothing by its first
//!   line: it is held and classified as a whole when it closes;
//! - any other failing line (`Error: Cannot find module 'express'`, `panic: …`) is decisive
//!   itself: its flag opens at once, and the lines that follow only grow its evidence.
//!
//! A block closes at the first line that does not continue it, after [`QUIET`] without a line,
//! or at [`MAX_LINES`]. Streams are bounded ([`MAX_STREAMS`]).

use std::collections::VecDeque;
use std::sync::LazyLock;

use chrono::{DateTime, TimeDelta, Utc};
use regex::Regex;

use super::FlagKey;

/// A block closes after this long without a line (on the pipeline's clock).
pub const QUIET: TimeDelta = TimeDelta::seconds(2);
/// Lines one block holds; the rest start afresh.
pub const MAX_LINES: usize = 60;
/// Bytes one block holds.
const MAX_BYTES: usize = 16 * 1024;
/// Streams with an open block; the oldest is closed past it.
pub const MAX_STREAMS: usize = 256;

/// A line that opens a block decided by later lines.
static HEADER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?i)^\s*(?:\S.*\s)?(?:traceback \(most recent call last\):|exception in thread "[^"]*" |thread '[^']*'(?: \(\d+\))? panicked at .*:\s*$)"#,
    )
    .expect("header regex")
});

/// Lines that continue a block whatever opened it: frames, causes, stack furniture.
static CONTINUATION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"^(?:\s|$)",                                        // indented frames, blank lines
        r"|^(?:at |Caused by:|Suppressed:|\.\.\. \d+ more)", // Java
        r"|^(?:Require stack:|- /|\{|\}|\]|Node\.js v\d)",   // Node
        r"|^(?:goroutine \d+ \[|\[signal |exit status \d)",  // Go
        r"|^[\w./*()\[\]-]+\(.*\)(?: \+0x[0-9a-f]+)?$",      // Go frame lines: main.main()
        r"|^(?:note: run with|stack backtrace:)",            // Rust
        r"|^(?:During handling of the above exception|The above exception was the direct cause)",
        r"|^Traceback \(most recent call last\):",
    ))
    .expect("continuation regex")
});

/// One stream's open block.
#[derive(Debug, Clone)]
pub struct Block {
    pub group: String,
    pub stream: String,
    pub lines: Vec<String>,
    bytes: usize,
    /// When its newest line was seen (observation time).
    pub last_at: DateTime<Utc>,
    /// The log timestamp of its first line.
    pub timestamp: DateTime<Utc>,
    /// Held until it closes (a header block); else the flag its first line raised.
    pub held: bool,
    pub flag: Option<FlagKey>,
    /// A Python traceback still waits for its exception line.
    awaiting_exception: bool,
}

impl Block {
    pub fn open(
        group: &str,
        stream: &str,
        line: &str,
        at: DateTime<Utc>,
        timestamp: DateTime<Utc>,
    ) -> Self {
        // An indented line is never the headline (Node echoes the failing source line above
        // its error): what follows decides.
        let held = HEADER.is_match(line) || line.starts_with(char::is_whitespace);
        Block {
            group: group.to_string(),
            stream: stream.to_string(),
            lines: vec![crate::model::byte_prefix(line, MAX_BYTES).to_string()],
            bytes: line.len().min(MAX_BYTES),
            last_at: at,
            timestamp,
            held,
            flag: None,
            awaiting_exception: is_python_header(line),
        }
    }

    /// Whether `line` belongs to this block.
    pub fn continues(&self, line: &str) -> bool {
        if self.lines.len() >= MAX_LINES || self.bytes >= MAX_BYTES {
            return false;
        }
        if CONTINUATION.is_match(line) {
            return true;
        }
        // A traceback's exception line sits at column 0 after its frames; a Rust panic's
        // message follows its `panicked at …:` line; Node prints the error after the source
        // line and a caret under it.
        let last_said = self.lines.iter().rev().find(|l| !l.trim().is_empty());
        self.awaiting_exception
            || self
                .lines
                .last()
                .is_some_and(|l| l.contains("panicked at") && l.trim_end().ends_with(':'))
            || last_said.is_some_and(|l| {
                let t = l.trim();
                !t.is_empty() && t.chars().all(|c| c == '^')
            })
    }

    pub fn push(&mut self, line: &str, at: DateTime<Utc>) {
        let kept = crate::model::byte_prefix(line, MAX_BYTES.saturating_sub(self.bytes));
        self.bytes += kept.len();
        if is_python_header(line) {
            self.awaiting_exception = true;
        } else if self.awaiting_exception
            && !line.starts_with(char::is_whitespace)
            && !line.trim().is_empty()
            && !is_python_connector(line)
        {
            // The exception line ends the traceback (a chained one starts another).
            self.awaiting_exception = false;
        }
        self.lines.push(kept.to_string());
        self.last_at = at;
    }

    /// The lines that can decide a block, newest first: those at column 0 (exception lines,
    /// `Caused by:`, a panic's message), then the first line.
    pub fn decisive_candidates(&self) -> impl Iterator<Item = &str> {
        self.lines
            .iter()
            .rev()
            .filter(|l| !l.starts_with(char::is_whitespace) && !l.trim().is_empty())
            .map(String::as_str)
    }

    /// One evidence text: the decisive line, then how the block began.
    pub fn evidence(&self, decisive: &str) -> String {
        let first = self.lines.first().map_or("", |l| l.trim());
        if self.lines.len() == 1 {
            return first.to_string();
        }
        let decisive = decisive.trim();
        if decisive == first {
            format!("{first} [+{} more lines]", self.lines.len() - 1)
        } else {
            format!("{decisive} [{} lines from: {first}]", self.lines.len())
        }
    }
}

fn is_python_header(line: &str) -> bool {
    line.trim_start()
        .starts_with("Traceback (most recent call last):")
}

fn is_python_connector(line: &str) -> bool {
    line.starts_with("During handling of the above exception")
        || line.starts_with("The above exception was the direct cause")
}

/// The open blocks, one per stream, oldest first (bounded).
#[derive(Debug, Clone, Default)]
pub struct Blocks {
    open: VecDeque<Block>,
}

impl Blocks {
    /// The open block of a stream.
    pub fn take(&mut self, group: &str, stream: &str) -> Option<Block> {
        let i = self
            .open
            .iter()
            .position(|b| b.stream == stream && b.group == group)?;
        self.open.remove(i)
    }

    /// Keeps `block` open; returns the oldest when past [`MAX_STREAMS`], to be closed.
    pub fn keep(&mut self, block: Block) -> Option<Block> {
        self.open.push_back(block);
        if self.open.len() > MAX_STREAMS {
            self.open.pop_front()
        } else {
            None
        }
    }

    /// When the first open block will have been quiet for [`QUIET`].
    pub fn next_quiet(&self) -> Option<DateTime<Utc>> {
        self.open
            .iter()
            .map(|b| {
                b.last_at
                    .checked_add_signed(QUIET)
                    .unwrap_or(DateTime::<Utc>::MAX_UTC)
            })
            .min()
    }

    /// Blocks quiet for [`QUIET`] at `now`, removed.
    pub fn quiet(&mut self, now: DateTime<Utc>) -> Vec<Block> {
        if self.open.is_empty() {
            return Vec::new();
        }
        let (quiet, open): (Vec<Block>, Vec<Block>) = self
            .open
            .drain(..)
            .partition(|b| now.signed_duration_since(b.last_at) >= QUIET);
        self.open = open.into();
        quiet
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.open.len()
    }

    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.open.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at() -> DateTime<Utc> {
        DateTime::<Utc>::from_timestamp(1_800_000_000, 0).unwrap()
    }

    fn block_of(lines: &[&str]) -> (Block, Vec<bool>) {
        let mut b = Block::open("g", "s", lines[0], at(), at());
        let mut kept = Vec::new();
        for l in &lines[1..] {
            let c = b.continues(l);
            kept.push(c);
            if c {
                b.push(l, at());
            }
        }
        (b, kept)
    }

    #[test]
    fn a_python_traceback_is_held_until_its_exception_line() {
        let (b, kept) = block_of(&[
            "Traceback (most recent call last):",
            "  File \"/app/main.py\", line 3, in <module>",
            "    bucket = os.environ[\"S3_BUCKET_NAME\"]",
            "KeyError: 'S3_BUCKET_NAME'",
            "INFO next request",
        ]);
        assert!(b.held);
        assert_eq!(kept, [true, true, true, false]);
        assert_eq!(
            b.decisive_candidates().next(),
            Some("KeyError: 'S3_BUCKET_NAME'")
        );
        assert_eq!(
            b.evidence("KeyError: 'S3_BUCKET_NAME'"),
            "KeyError: 'S3_BUCKET_NAME' [4 lines from: Traceback (most recent call last):]"
        );
    }

    #[test]
    fn java_cause_chains_node_stacks_and_panics_continue() {
        let (b, kept) = block_of(&[
            "Exception in thread \"main\" java.lang.IllegalStateException: boot failed",
            "\tat com.example.App.main(App.java:10)",
            "Caused by: java.net.UnknownHostException: db.internal",
            "\t... 3 more",
            "2026-01-01 INFO retrying",
        ]);
        assert!(b.held);
        assert_eq!(kept, [true, true, true, false]);
        let (b, kept) = block_of(&[
            "  throw new ERR_MODULE_NOT_FOUND(packageName, fileURLToPath(base), null);",
            "        ^",
            "",
            "Error [ERR_MODULE_NOT_FOUND]: Cannot find package 'express' imported from /app/server.js",
            "    at packageResolve (node:internal/modules/esm/resolve:853:9)",
            "listening on :8080",
        ]);
        assert_eq!(
            kept,
            [true, true, true, true, false],
            "the error under the caret"
        );
        assert_eq!(b.decisive_candidates().count(), 1);
        let (b, kept) = block_of(&[
            "Error: Cannot find module 'express'",
            "Require stack:",
            "- /app/server.js",
            "    at Module._resolveFilename (node:internal/modules/cjs/loader:1077:15)",
            "Node.js v18.20.4",
            "listening on :8080",
        ]);
        assert!(!b.held, "the first line decides");
        assert_eq!(kept, [true, true, true, true, false]);
        let (_, kept) = block_of(&[
            "panic: runtime error: invalid memory address or nil pointer dereference",
            "[signal SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0x4a]",
            "",
            "goroutine 1 [running]:",
            "main.main()",
            "\t/app/main.go:12 +0x1d",
            "exit status 2",
            "GET /health 200",
        ]);
        assert_eq!(kept, [true, true, true, true, true, true, false]);
        let (b, kept) = block_of(&[
            "thread 'main' panicked at src/main.rs:5:5:",
            "called `Option::unwrap()` on a `None` value",
            "note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace",
            "server started",
        ]);
        assert!(b.held);
        assert_eq!(kept, [true, true, false]);
    }

    #[test]
    fn blocks_are_bounded_in_lines_and_streams() {
        let mut b = Block::open("g", "s", "Error: boom", at(), at());
        for _ in 0..MAX_LINES * 2 {
            if b.continues("    at x") {
                b.push("    at x", at());
            }
        }
        assert_eq!(b.lines.len(), MAX_LINES);
        let mut blocks = Blocks::default();
        let mut closed = 0;
        for i in 0..MAX_STREAMS + 10 {
            let s = i.to_string();
            if blocks
                .keep(Block::open("g", &s, "Error: x", at(), at()))
                .is_some()
            {
                closed += 1;
            }
        }
        assert_eq!(blocks.len(), MAX_STREAMS);
        assert_eq!(closed, 10);
        assert_eq!(blocks.quiet(at() + QUIET).len(), MAX_STREAMS);
        assert!(blocks.is_empty());
    }
}
