//! Replay: a recording played through the same pipeline on a virtual clock, with pause, speed
//! and seek. Replay is just another source of observations; only time is virtual.

use std::io::{BufRead, BufReader, Cursor};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, TimeDelta, Utc};

use super::recording::{Header, RecordingError, RecordingReader, RecordingWriter};
use crate::model::{Observation, StoreCaps};
use crate::pipeline::Pipeline;

/// How fast virtual time runs against the wall clock.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Speed {
    Factor(f64),
    /// As fast as the pipeline can go.
    Max,
}

impl std::str::FromStr for Speed {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.eq_ignore_ascii_case("max") {
            return Ok(Speed::Max);
        }
        match s.trim_end_matches('x').parse::<f64>() {
            Ok(f) if f.is_finite() && (0.01..=100_000.0).contains(&f) => Ok(Speed::Factor(f)),
            _ => Err(format!(
                "invalid speed {s:?}: use a number from 0.01 to 100000 (like 1, 10 or 0.5) or max"
            )),
        }
    }
}

/// Maps wall-clock instants to virtual time. Pure arithmetic: the caller passes the instant.
#[derive(Debug, Clone)]
pub struct VirtualClock {
    anchor_virtual: DateTime<Utc>,
    anchor_wall: Instant,
    speed: Speed,
    paused: bool,
}

impl VirtualClock {
    pub fn new(start: DateTime<Utc>, wall: Instant, speed: Speed) -> Self {
        VirtualClock {
            anchor_virtual: start,
            anchor_wall: wall,
            speed,
            paused: false,
        }
    }

    pub fn now(&self, wall: Instant) -> DateTime<Utc> {
        if self.paused {
            return self.anchor_virtual;
        }
        match self.speed {
            Speed::Max => DateTime::<Utc>::MAX_UTC,
            Speed::Factor(f) => {
                let elapsed = wall.saturating_duration_since(self.anchor_wall);
                // Saturating: a recording near chrono's last date must not overflow the clock.
                let virt_ms = (elapsed.as_secs_f64() * f * 1000.0) as i64;
                TimeDelta::try_milliseconds(virt_ms)
                    .and_then(|d| self.anchor_virtual.checked_add_signed(d))
                    .unwrap_or(DateTime::<Utc>::MAX_UTC)
            }
        }
    }

    pub fn speed(&self) -> Speed {
        self.speed
    }

    pub fn is_paused(&self) -> bool {
        self.paused
    }

    pub fn set_paused(&mut self, paused: bool, wall: Instant) {
        if paused != self.paused {
            self.rebase(wall);
            self.paused = paused;
        }
    }

    pub fn set_speed(&mut self, speed: Speed, wall: Instant) {
        self.rebase(wall);
        self.speed = speed;
    }

    /// Jumps virtual time to `to`, keeping speed and pause.
    pub fn jump(&mut self, to: DateTime<Utc>, wall: Instant) {
        self.anchor_virtual = to;
        self.anchor_wall = wall;
    }

    fn rebase(&mut self, wall: Instant) {
        if !self.paused && self.speed != Speed::Max {
            self.anchor_virtual = self.now(wall);
        }
        self.anchor_wall = wall;
    }
}

/// What a replay reads from: a file on disk, streamed, or observations in memory (the demo).
#[derive(Clone)]
pub enum ReplayInput {
    File(PathBuf),
    Memory(Header, Arc<[Observation]>),
}

/// One step the pipeline took while advancing.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Step {
    /// An observation was applied; `added_row` says whether it added a timeline row.
    Ingested { added_row: bool },
    /// The state rules ran at this virtual time.
    Ticked(DateTime<Utc>),
}

/// A recording being played into a pipeline.
pub struct Replay {
    input: ReplayInput,
    reader: RecordingReader<Box<dyn BufRead>>,
    lookahead: Option<Observation>,
    /// The last virtual time the state rules ran at.
    last_tick: Option<DateTime<Utc>>,
    /// The time of the last observation ingested.
    last_seen: Option<DateTime<Utc>>,
    pub header: Header,
    pub start: DateTime<Utc>,
    pub finished: bool,
    caps: StoreCaps,
}

/// State rules run once per virtual second while advancing, so timers fire at the right
/// virtual time even at `--speed max`.
const TICK_STEP: TimeDelta = TimeDelta::seconds(1);

/// Across a longer silence the state rules tick once at its start and then second by second
/// over its last stretch only: no rule looks further back than this (the longest, a
/// CreationPolicy, waits 12 h), and a recording with a gap of months must not tick for hours.
const FINE_TICK_SPAN: TimeDelta = TimeDelta::hours(13);

impl Replay {
    pub fn open(input: ReplayInput, caps: StoreCaps) -> Result<Self, RecordingError> {
        let mut reader = open_reader(&input)?;
        let lookahead = reader.next_observation()?;
        let header = reader.header.clone();
        let start = lookahead.as_ref().map_or(header.started_at, |o| o.at);
        Ok(Replay {
            finished: lookahead.is_none(),
            input,
            reader,
            lookahead,
            last_tick: None,
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

    /// The virtual time reached: the last tick.
    pub fn position(&self) -> DateTime<Utc> {
        self.last_tick.unwrap_or(self.start)
    }

    /// True when a cut-short last line was skipped.
    pub fn truncated_tail(&self) -> bool {
        self.reader.truncated_tail
    }

    /// Feeds every observation due by `until` into the pipeline, ticking the state rules each
    /// virtual second on the way. `after_step` sees the pipeline after every step, so headless
    /// output can print rows and flag changes in order. Returns how many were ingested.
    pub fn advance(
        &mut self,
        until: DateTime<Utc>,
        pipeline: &mut Pipeline,
        mut after_step: impl FnMut(&mut Pipeline, Step),
    ) -> Result<usize, RecordingError> {
        let mut ingested = 0;
        loop {
            let due = match &self.lookahead {
                Some(obs) if obs.at <= until => obs.at,
                Some(_) => break,
                None => {
                    self.finished = true;
                    break;
                }
            };
            self.tick_up_to(due, pipeline, &mut after_step);
            let obs = self.lookahead.take().expect("checked above");
            let added_row = pipeline.ingest(&obs);
            self.last_seen = Some(obs.at);
            after_step(pipeline, Step::Ingested { added_row });
            ingested += 1;
            self.lookahead = self.reader.next_observation()?;
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
        self.tick_up_to(horizon, pipeline, &mut after_step);
        Ok(ingested)
    }

    fn tick_up_to(
        &mut self,
        to: DateTime<Utc>,
        pipeline: &mut Pipeline,
        after_step: &mut impl FnMut(&mut Pipeline, Step),
    ) {
        let mut t = match self.last_tick {
            Some(t) => t,
            None => {
                // The first tick lands on the first observation's second.
                self.last_tick = Some(self.start);
                pipeline.tick(self.start);
                after_step(pipeline, Step::Ticked(self.start));
                self.start
            }
        };
        if to - t > FINE_TICK_SPAN {
            t = to - FINE_TICK_SPAN;
            pipeline.tick(t);
            after_step(pipeline, Step::Ticked(t));
        }
        while let Some(next) = t.checked_add_signed(TICK_STEP)
            && next <= to
        {
            t = next;
            pipeline.tick(t);
            after_step(pipeline, Step::Ticked(t));
        }
        self.last_tick = Some(t);
    }

    /// Moves to virtual time `to`. Going back rebuilds the pipeline from the start, which is
    /// cheap because the core is pure and fast.
    pub fn seek(
        &mut self,
        to: DateTime<Utc>,
        pipeline: &mut Pipeline,
    ) -> Result<(), RecordingError> {
        let to = to.max(self.start);
        if to < self.position() {
            self.reader = open_reader(&self.input)?;
            self.lookahead = self.reader.next_observation()?;
            self.last_tick = None;
            self.last_seen = None;
            self.finished = self.lookahead.is_none();
            *pipeline = self.new_pipeline();
        }
        self.advance(to, pipeline, |_, _| {})?;
        Ok(())
    }

    /// Plays the whole recording into a new pipeline: for tests, reports and benches.
    pub fn run_to_end(&mut self) -> Result<Pipeline, RecordingError> {
        let mut pipeline = self.new_pipeline();
        self.advance(DateTime::<Utc>::MAX_UTC, &mut pipeline, |_, _| {})?;
        Ok(pipeline)
    }
}

/// `t + d`, saturating at chrono's last date instead of panicking.
fn plus(t: DateTime<Utc>, d: TimeDelta) -> DateTime<Utc> {
    t.checked_add_signed(d).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

fn open_reader(input: &ReplayInput) -> Result<RecordingReader<Box<dyn BufRead>>, RecordingError> {
    match input {
        ReplayInput::File(path) => {
            let file = std::fs::File::open(path).map_err(RecordingError::io(path.display()))?;
            let boxed: Box<dyn BufRead> = Box::new(BufReader::with_capacity(1 << 16, file));
            RecordingReader::new(boxed, &path.display().to_string())
        }
        ReplayInput::Memory(header, observations) => {
            // Serialising the demo once per (re)open keeps one reader path for files and memory.
            let mut writer =
                RecordingWriter::new(Vec::new(), header).map_err(RecordingError::io("<memory>"))?;
            writer
                .write_batch(observations.iter())
                .map_err(RecordingError::io("<memory>"))?;
            let boxed: Box<dyn BufRead> = Box::new(Cursor::new(writer.into_inner()));
            RecordingReader::new(boxed, "<demo>")
        }
    }
}
