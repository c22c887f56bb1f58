//! Replay: a recording played through the same pipeline on a virtual clock, with pause, speed
//! and seek. Replay is just another source of observations; only time is virtual.

use std::io::{BufRead, BufReader, Cursor};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};

use super::read_ahead::ReadAhead;
use super::recording::{Header, RecordingError, RecordingReader, RecordingWriter};
use crate::model::{Observation, StoreCaps};
use crate::pipeline::{Change, Pipeline, TICK_STEP};

/// What a replay reads from: a file on disk, streamed, or observations in memory (the demo).
#[derive(Clone)]
pub enum ReplayInput {
    File(PathBuf),
    Memory(Header, Arc<[Observation]>),
}

/// A recording being played into a pipeline.
pub struct Replay {
    input: ReplayInput,
    /// Its next observation is the one due next.
    reader: ReadAhead,
    /// The time of the last observation fed.
    last_seen: Option<DateTime<Utc>>,
    pub header: Header,
    pub start: DateTime<Utc>,
    pub finished: bool,
    caps: StoreCaps,
}

/// Observations per slice when a replay is played as fast as it goes.
pub const SLICE: usize = 4096;

impl Replay {
    pub fn open(input: ReplayInput, caps: StoreCaps) -> Result<Self, RecordingError> {
        let (header, mut reader) = open_reader(&input)?;
        reader.load()?;
        let start = reader.peek().map_or(header.started_at, |(o, _)| o.at);
        Ok(Replay {
            finished: reader.peek().is_none(),
            input,
            reader,
            last_seen: None,
            header,
            start,
            caps,
        })
    }

    pub fn from_path(path: &Path, caps: StoreCaps) -> Result<Self, RecordingError> {
        Replay::open(ReplayInput::File(path.to_path_buf()), caps)
    }

    /// A fresh pipeline with this replay's caps.
    pub fn new_pipeline(&self) -> Pipeline {
        Pipeline::new(self.caps)
    }

    /// When the next observation is due, if there is one.
    pub fn next_due(&self) -> Option<DateTime<Utc>> {
        self.reader.peek().map(|(o, _)| o.at)
    }

    /// True when a cut-short last line was skipped.
    pub fn truncated_tail(&self) -> bool {
        self.reader.truncated_tail
    }

    /// How many observations of kinds this version does not know were skipped so far.
    pub fn skipped_unknown_kinds(&self) -> u64 {
        self.reader.skipped_unknown_kinds
    }

    /// Feeds every observation due by `until` into the pipeline, which ticks the state rules
    /// each virtual second on the way; what changed is appended to `changes`. Returns how many
    /// observations were fed.
    pub fn advance(
        &mut self,
        until: DateTime<Utc>,
        pipeline: &mut Pipeline,
        changes: &mut Vec<Change>,
    ) -> Result<usize, RecordingError> {
        self.advance_at_most(until, usize::MAX, pipeline, changes)
    }

    /// Like [`Replay::advance`], stopping after `most` observations: at `--speed max` the
    /// loop plays a recording in slices, so keys stay responsive and changes are written as
    /// they come instead of piling up.
    pub fn advance_at_most(
        &mut self,
        until: DateTime<Utc>,
        most: usize,
        pipeline: &mut Pipeline,
        changes: &mut Vec<Change>,
    ) -> Result<usize, RecordingError> {
        let mut fed = 0;
        loop {
            match self.reader.peek() {
                Some(_) if fed == most => return Ok(fed),
                Some((obs, prepared)) if obs.at <= until => {
                    pipeline.feed_prepared(obs, prepared, changes);
                    self.last_seen = Some(obs.at);
                }
                Some(_) => break,
                None => {
                    self.finished = true;
                    break;
                }
            }
            fed += 1;
            self.reader.advance()?;
        }
        // Time moves on between observations too: stalls are found in the silence. At the end
        // of the recording the clock stops one tick after the last observation, so the state
        // rules see the final state.
        let horizon = if self.finished {
            until.min(
                self.last_seen
                    .map_or(self.start, |last| plus(last, TICK_STEP)),
            )
        } else {
            until
        };
        pipeline.advance_to(horizon, changes);
        Ok(fed)
    }

    /// Moves to virtual time `to`. Going back rebuilds the pipeline from the start, which is
    /// cheap because the core is pure and fast.
    pub fn seek(
        &mut self,
        to: DateTime<Utc>,
        pipeline: &mut Pipeline,
    ) -> Result<(), RecordingError> {
        let to = to.max(self.start);
        if to < pipeline.now().unwrap_or(self.start) {
            self.reader = open_reader(&self.input)?.1;
            self.reader.load()?;
            self.last_seen = None;
            self.finished = self.reader.peek().is_none();
            // Start over with the same config file's thresholds and rules.
            *pipeline = self.new_pipeline().with_detector(pipeline.detector.fresh());
        }
        self.advance(to, pipeline, &mut Vec::new())?;
        Ok(())
    }

    /// Plays the whole recording into a new pipeline: for tests, reports and benches.
    pub fn run_to_end(&mut self) -> Result<Pipeline, RecordingError> {
        let mut pipeline = self.new_pipeline();
        let mut changes = Vec::new();
        while !self.finished {
            // In slices, so the changes nobody reads here do not pile up.
            self.advance_at_most(DateTime::<Utc>::MAX_UTC, SLICE, &mut pipeline, &mut changes)?;
            changes.clear();
        }
        Ok(pipeline)
    }
}

/// `t + d`, saturating at chrono's last date instead of panicking.
fn plus(t: DateTime<Utc>, d: TimeDelta) -> DateTime<Utc> {
    t.checked_add_signed(d).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// The recording's header, and its observations parsed ahead on a thread.
fn open_reader(input: &ReplayInput) -> Result<(Header, ReadAhead), RecordingError> {
    let reader = open_parser(input)?;
    Ok((reader.header.clone(), ReadAhead::spawn(reader)))
}

fn open_parser(
    input: &ReplayInput,
) -> Result<RecordingReader<Box<dyn BufRead + Send>>, RecordingError> {
    match input {
        ReplayInput::File(path) => {
            let file = std::fs::File::open(path).map_err(RecordingError::io(path.display()))?;
            let boxed: Box<dyn BufRead + Send> = Box::new(BufReader::with_capacity(1 << 16, file));
            RecordingReader::new(boxed, &path.display().to_string())
        }
        ReplayInput::Memory(header, observations) => {
            // Serialising the demo once per (re)open keeps one reader path for files and memory.
            let mut writer =
                RecordingWriter::new(Vec::new(), header).map_err(RecordingError::io("<memory>"))?;
            writer
                .write_batch(observations.iter())
                .map_err(RecordingError::io("<memory>"))?;
            let boxed: Box<dyn BufRead + Send> = Box::new(Cursor::new(writer.into_inner()));
            RecordingReader::new(boxed, "<demo>")
        }
    }
}
