//! The recording format: JSON Lines, a versioned header, then one observation per line.
//! `docs/recording-format.md` is the contract; change a shape here and bump the version there.

use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::path::Path;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::model::{Observation, ObservationLine};

/// The `format` value of every header.
pub const FORMAT_NAME: &str = "stackwatch-recording";
/// The major version this build reads and writes. Minor versions add optional fields and
/// kinds; a reader skips the kinds it does not know and ignores the fields.
pub const FORMAT_MAJOR: u32 = 1;
pub const FORMAT_VERSION: &str = "1.3";

/// The first line of a recording.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Header {
    pub format: String,
    /// `MAJOR.MINOR`.
    pub version: String,
    /// The stackwatch version that wrote it.
    pub stackwatch: String,
    /// The command line that made it.
    #[serde(default)]
    pub args: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// The AWS profile a live session signed in as (1.1, optional): the banner shown while
    /// its credentials are expired names it and the fix.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<crate::model::Profile>,
    pub started_at: DateTime<Utc>,
}

impl Header {
    pub fn new(args: Vec<String>, started_at: DateTime<Utc>) -> Self {
        Header {
            format: FORMAT_NAME.to_string(),
            version: FORMAT_VERSION.to_string(),
            stackwatch: env!("CARGO_PKG_VERSION").to_string(),
            args,
            account: None,
            region: None,
            profile: None,
            started_at,
        }
    }
}

#[derive(Debug, Error)]
pub enum RecordingError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: io::Error,
    },
    #[error("{path}: empty file, not a stackwatch recording")]
    Empty { path: String },
    #[error(
        "{path}:1: not a stackwatch recording (the first line must be a header with \"format\": \"{FORMAT_NAME}\"): {detail}"
    )]
    NotARecording { path: String, detail: String },
    #[error("{path}:1: recording format version {found:?} is not supported; this stackwatch {ours} reads version {FORMAT_MAJOR}.x (upgrade stackwatch to replay it)", ours = env!("CARGO_PKG_VERSION"))]
    UnsupportedVersion { path: String, found: String },
    #[error("{path}:{line}: not an observation: {detail}")]
    BadLine {
        path: String,
        line: u64,
        detail: String,
    },
}

impl RecordingError {
    /// Wraps an I/O error with the file it happened on: `.map_err(RecordingError::io(path))`.
    pub fn io(path: impl std::fmt::Display) -> impl FnOnce(io::Error) -> RecordingError {
        let path = path.to_string();
        move |source| RecordingError::Io { path, source }
    }
}

/// Writes a recording, flushing after each batch so a kill loses at most the last batch.
pub struct RecordingWriter<W: Write> {
    out: W,
    buf: Vec<u8>,
    /// Mask secrets in every observation before it is written (`watch --redact`).
    redact: bool,
    /// Values masked so far, the header's included.
    masked: usize,
}

impl RecordingWriter<BufWriter<File>> {
    pub fn create(path: &Path, header: &Header) -> Result<Self, RecordingError> {
        let io_err = |e| RecordingError::io(path.display())(e);
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(io_err)?;
        }
        let file = File::create(path).map_err(io_err)?;
        RecordingWriter::new(BufWriter::new(file), header).map_err(io_err)
    }
}

impl<W: Write> RecordingWriter<W> {
    pub fn new(mut out: W, header: &Header) -> io::Result<Self> {
        serde_json::to_writer(&mut out, header)?;
        out.write_all(b"\n")?;
        out.flush()?;
        Ok(RecordingWriter {
            out,
            buf: Vec::with_capacity(4096),
            redact: false,
            masked: 0,
        })
    }

    /// A writer that masks secrets ([`crate::redact`]) in the header's command line and in
    /// every observation it writes; the observations passed in are left as they are.
    pub fn new_redacted(out: W, header: &Header) -> io::Result<Self> {
        let mut header = header.clone();
        let masked = crate::redact::redact_header(&mut header);
        let mut writer = RecordingWriter::new(out, &header)?;
        writer.redact = true;
        writer.masked = masked;
        Ok(writer)
    }

    /// How many values this writer has masked (0 unless it redacts).
    pub fn masked(&self) -> usize {
        self.masked
    }

    /// Writes observations and flushes them.
    pub fn write_batch<'a>(
        &mut self,
        batch: impl IntoIterator<Item = &'a Observation>,
    ) -> io::Result<()> {
        self.buf.clear();
        for obs in batch {
            if self.redact {
                let mut copy = obs.clone();
                self.masked += crate::redact::redact_observation(&mut copy);
                serde_json::to_writer(&mut self.buf, &copy)?;
            } else {
                serde_json::to_writer(&mut self.buf, obs)?;
            }
            self.buf.push(b'\n');
        }
        self.out.write_all(&self.buf)?;
        self.out.flush()
    }

    pub fn into_inner(self) -> W {
        self.out
    }
}

/// Reads a recording line by line. A last line cut short (no newline, not valid JSON) is taken
/// as the tail of a killed writer and ignored; an observation of a kind this version does not
/// know (a later minor version's) is skipped and counted; any other bad line is an error with
/// its number.
pub struct RecordingReader<R: BufRead> {
    input: R,
    path: String,
    line_no: u64,
    line: Vec<u8>,
    pub header: Header,
    /// True once a cut-short last line was skipped.
    pub truncated_tail: bool,
    /// Observations skipped because their kind is unknown to this version.
    pub skipped_unknown_kinds: u64,
}

impl RecordingReader<BufReader<File>> {
    pub fn open(path: &Path) -> Result<Self, RecordingError> {
        let file = File::open(path).map_err(RecordingError::io(path.display()))?;
        RecordingReader::new(BufReader::new(file), &path.display().to_string())
    }
}

impl<R: BufRead> RecordingReader<R> {
    /// Reads and checks the header. `path` only names the input in errors.
    pub fn new(mut input: R, path: &str) -> Result<Self, RecordingError> {
        let mut line = Vec::new();
        let n = input
            .read_until(b'\n', &mut line)
            .map_err(RecordingError::io(path))?;
        if n == 0 || line.trim_ascii().is_empty() {
            return Err(RecordingError::Empty {
                path: path.to_string(),
            });
        }
        let value: serde_json::Value = serde_json::from_slice(line.trim_ascii()).map_err(|e| {
            RecordingError::NotARecording {
                path: path.to_string(),
                detail: e.to_string(),
            }
        })?;
        if value.get("format").and_then(|f| f.as_str()) != Some(FORMAT_NAME) {
            return Err(RecordingError::NotARecording {
                path: path.to_string(),
                detail: "no \"format\" field".to_string(),
            });
        }
        let version = value
            .get("version")
            .map(|v| {
                v.as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| v.to_string())
            })
            .unwrap_or_default();
        let major = version
            .split('.')
            .next()
            .and_then(|m| m.parse::<u32>().ok());
        if major != Some(FORMAT_MAJOR) {
            return Err(RecordingError::UnsupportedVersion {
                path: path.to_string(),
                found: if version.is_empty() {
                    "(none)".to_string()
                } else {
                    version
                },
            });
        }
        let header: Header =
            serde_json::from_value(value).map_err(|e| RecordingError::NotARecording {
                path: path.to_string(),
                detail: e.to_string(),
            })?;
        Ok(RecordingReader {
            input,
            path: path.to_string(),
            line_no: 1,
            line,
            header,
            truncated_tail: false,
            skipped_unknown_kinds: 0,
        })
    }

    /// The next observation, or `None` at the end.
    pub fn next_observation(&mut self) -> Result<Option<Observation>, RecordingError> {
        loop {
            self.line.clear();
            let n = self
                .input
                .read_until(b'\n', &mut self.line)
                // Lazily: this runs for every line, and the path is only needed on failure.
                .map_err(|e| RecordingError::io(&self.path)(e))?;
            if n == 0 {
                return Ok(None);
            }
            self.line_no += 1;
            let complete = self.line.ends_with(b"\n");
            let text = self.line.trim_ascii();
            if text.is_empty() {
                continue;
            }
            // Invalid UTF-8 is a bad line, like any garbage. Checked once for the line, so
            // the parser need not check each string again.
            let parsed = match std::str::from_utf8(text) {
                Ok(text) => serde_json::from_str::<ObservationLine>(text),
                Err(e) => Err(serde::de::Error::custom(format!("not UTF-8: {e}"))),
            };
            match parsed {
                Ok(ObservationLine::Known(obs)) => return Ok(Some(obs)),
                Ok(ObservationLine::UnknownKind { .. }) => {
                    self.skipped_unknown_kinds += 1;
                    continue;
                }
                Err(_) if !complete => {
                    self.truncated_tail = true;
                    return Ok(None);
                }
                Err(e) => {
                    return Err(RecordingError::BadLine {
                        path: self.path.clone(),
                        line: self.line_no,
                        detail: e.to_string(),
                    });
                }
            }
        }
    }

    /// The input's name, as used in errors.
    pub fn path(&self) -> &str {
        &self.path
    }
}

/// Reads a whole recording into memory (small files: tests, reports).
pub fn read_all(path: &Path) -> Result<(Header, Vec<Observation>), RecordingError> {
    let mut reader = RecordingReader::open(path)?;
    let mut out = Vec::new();
    while let Some(obs) = reader.next_observation()? {
        out.push(obs);
    }
    Ok((reader.header, out))
}

/// Writes a whole recording in one batch.
pub fn write_all(
    path: &Path,
    header: &Header,
    observations: &[Observation],
) -> Result<(), RecordingError> {
    let mut writer = RecordingWriter::create(path, header)?;
    writer
        .write_batch(observations)
        .map_err(RecordingError::io(path.display()))
}
