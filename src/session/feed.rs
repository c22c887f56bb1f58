//! The one feed the loop plays: a recording on a virtual clock, or live sources on the wall
//! clock. Either way it hands observations to the pipeline and says what time it is; the loop,
//! the dashboard and the headless outputs are the same code for both.

use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};
use tokio::sync::mpsc;

use super::recording::{Header, RecordingError, RecordingWriter};
use super::replay::{Replay, SLICE};
use crate::clock::{Mode, Speed, VirtualClock};
use crate::model::{Note, Observation};
use crate::pipeline::{Change, Pipeline};

/// How often a replay catches up with its virtual clock, and live time moves on.
const REPLAY_TICK: Duration = Duration::from_millis(100);
const LIVE_TICK: Duration = Duration::from_secs(1);
/// At `--speed max` a replay moves at most this far per pump (or to its next observation),
/// so the dashboard shows it moving and keys stay responsive.
const MAX_SPEED_STEP: TimeDelta = TimeDelta::minutes(10);
/// Observations taken from the live channel per pump: a flood is applied in slices.
const LIVE_BATCH: usize = 512;

pub enum Feed {
    Replay(Box<ReplayFeed>),
    Live(Box<LiveFeed>),
}

pub struct ReplayFeed {
    replay: Replay,
    clock: VirtualClock,
    tick: Ticker,
}

/// Where a live feed records what it applies.
pub type Recorder = RecordingWriter<std::io::BufWriter<std::fs::File>>;

pub struct LiveFeed {
    header: Header,
    start: DateTime<Utc>,
    observations: mpsc::Receiver<Observation>,
    pending: Vec<Observation>,
    tick: Ticker,
    recorder: Option<Recorder>,
    paused: bool,
    /// Every source has ended (the channel closed).
    closed: bool,
}

impl Feed {
    pub fn replay(replay: Replay, speed: Speed) -> Feed {
        let clock = VirtualClock::new(replay.start, Instant::now(), speed);
        Feed::Replay(Box::new(ReplayFeed {
            replay,
            clock,
            tick: Ticker::new(REPLAY_TICK),
        }))
    }

    /// Live sources on the wall clock. Each batch is written to `recorder` before it is
    /// applied, so an observation that crashes the app is on disk.
    pub fn live(
        header: Header,
        observations: mpsc::Receiver<Observation>,
        recorder: Option<Recorder>,
    ) -> Feed {
        Feed::Live(Box::new(LiveFeed {
            start: header.started_at,
            header,
            observations,
            pending: Vec::new(),
            tick: Ticker::new(LIVE_TICK),
            recorder,
            paused: false,
            closed: false,
        }))
    }

    pub fn header(&self) -> &Header {
        match self {
            Feed::Replay(f) => &f.replay.header,
            Feed::Live(f) => &f.header,
        }
    }

    /// When the session starts: elapsed time counts from here.
    pub fn start(&self) -> DateTime<Utc> {
        match self {
            Feed::Replay(f) => f.replay.start,
            Feed::Live(f) => f.start,
        }
    }

    pub fn mode(&self) -> Mode {
        match self {
            Feed::Replay(f) => Mode::Replay {
                paused: f.clock.is_paused(),
                speed: f.clock.speed(),
                finished: f.replay.finished,
            },
            Feed::Live(f) => Mode::Live { paused: f.paused },
        }
    }

    /// A replay has been played to its end, or every live source has stopped.
    pub fn finished(&self) -> bool {
        match self {
            Feed::Replay(f) => f.replay.finished,
            Feed::Live(f) => f.closed && f.pending.is_empty(),
        }
    }

    /// True when a replayed recording's cut-short last line was skipped.
    pub fn truncated_tail(&self) -> bool {
        match self {
            Feed::Replay(f) => f.replay.truncated_tail(),
            Feed::Live(_) => false,
        }
    }

    /// How many observations of kinds this version does not know a replay skipped.
    pub fn skipped_unknown_kinds(&self) -> u64 {
        match self {
            Feed::Replay(f) => f.replay.skipped_unknown_kinds(),
            Feed::Live(_) => 0,
        }
    }

    /// Waits until there is something to apply: observations arrived, or time moved on.
    /// Cancel-safe: the loop drops this future whenever a key arrives first.
    pub async fn wait(&mut self) {
        match self {
            Feed::Replay(f) => {
                if f.clock.speed() == Speed::Max && !f.clock.is_paused() && !f.replay.finished {
                    tokio::task::yield_now().await;
                } else {
                    f.tick.tick().await;
                }
            }
            Feed::Live(f) => {
                if f.closed {
                    f.tick.tick().await;
                    return;
                }
                tokio::select! {
                    n = f.observations.recv_many(&mut f.pending, LIVE_BATCH) => {
                        if n == 0 {
                            f.closed = true;
                        }
                    }
                    _ = f.tick.tick() => {}
                }
            }
        }
    }

    /// Applies what is due: a replay up to its virtual clock, live observations as they
    /// came and then the wall clock. What changed is appended to `changes`.
    pub fn pump(
        &mut self,
        pipeline: &mut Pipeline,
        changes: &mut Vec<Change>,
    ) -> Result<(), FeedError> {
        match self {
            Feed::Replay(f) => {
                let position = pipeline.now().unwrap_or(f.replay.start);
                let mut until = f.clock.now(Instant::now());
                if f.clock.speed() == Speed::Max {
                    // Step through time, but skip a long silence at once.
                    let step = position
                        .checked_add_signed(MAX_SPEED_STEP)
                        .unwrap_or(DateTime::<Utc>::MAX_UTC);
                    until = until.min(step.max(f.replay.next_due().unwrap_or(step)));
                }
                f.replay
                    .advance_at_most(until, SLICE, pipeline, changes)
                    .map_err(FeedError::Recording)?;
            }
            Feed::Live(f) => {
                if !f.pending.is_empty() {
                    if let Some(recorder) = &mut f.recorder {
                        recorder
                            .write_batch(f.pending.iter())
                            .map_err(FeedError::Recorder)?;
                    }
                    for obs in f.pending.drain(..) {
                        pipeline.feed(&obs, changes);
                    }
                }
                // The wall clock belongs here, outside the pure core.
                pipeline.advance_to(Utc::now(), changes);
            }
        }
        Ok(())
    }

    /// A note the user typed, stamped with the session's clock (the wall clock live, the
    /// replay's position in virtual time). Live, it is written to the recording first, like
    /// every observation; a replay (or the demo) shows it without writing anything. Returns
    /// whether it was recorded.
    pub fn note(
        &mut self,
        note: Note,
        pipeline: &mut Pipeline,
        changes: &mut Vec<Change>,
    ) -> Result<bool, FeedError> {
        match self {
            Feed::Replay(f) => {
                let at = pipeline.now().unwrap_or(f.replay.start);
                pipeline.feed(&Observation::new(at, note), changes);
                Ok(false)
            }
            Feed::Live(f) => {
                let obs = Observation::new(Utc::now(), note);
                let recorded = match &mut f.recorder {
                    Some(recorder) => {
                        recorder.write_batch([&obs]).map_err(FeedError::Recorder)?;
                        true
                    }
                    None => false,
                };
                pipeline.feed(&obs, changes);
                Ok(recorded)
            }
        }
    }

    /// Pause or resume. A replay's clock stops; live, the screen freezes and the watch goes on.
    pub fn toggle_pause(&mut self, pipeline: &Pipeline) {
        match self {
            Feed::Replay(f) => {
                f.settle_max_speed(pipeline);
                let paused = f.clock.is_paused();
                f.clock.set_paused(!paused, Instant::now());
            }
            Feed::Live(f) => f.paused = !f.paused,
        }
    }

    /// A replay's speed; nothing live.
    pub fn set_speed(&mut self, pipeline: &Pipeline, next: impl FnOnce(Speed) -> Speed) {
        if let Feed::Replay(f) = self {
            f.settle_max_speed(pipeline);
            let speed = next(f.clock.speed());
            f.clock.set_speed(speed, Instant::now());
        }
    }

    /// Seeks a replay by `secs` of virtual time; nothing live.
    pub fn seek(&mut self, secs: i64, pipeline: &mut Pipeline) -> Result<(), FeedError> {
        if let Feed::Replay(f) = self {
            let position = pipeline.now().unwrap_or(f.replay.start);
            let target = position
                .checked_add_signed(TimeDelta::seconds(secs))
                .unwrap_or(position)
                .max(f.replay.start);
            f.replay
                .seek(target, pipeline)
                .map_err(FeedError::Recording)?;
            f.clock
                .jump(pipeline.now().unwrap_or(f.replay.start), Instant::now());
        }
        Ok(())
    }
}

impl ReplayFeed {
    /// At `max` the clock is far ahead of the replay; before pausing or slowing down, bring
    /// it back to where the replay really is.
    fn settle_max_speed(&mut self, pipeline: &Pipeline) {
        if self.clock.speed() == Speed::Max {
            let position = pipeline.now().unwrap_or(self.replay.start);
            self.clock.jump(position, Instant::now());
        }
    }
}

/// A periodic tick, started on first use: a feed is built before the runtime runs.
struct Ticker {
    period: Duration,
    interval: Option<tokio::time::Interval>,
}

impl Ticker {
    fn new(period: Duration) -> Self {
        Ticker {
            period,
            interval: None,
        }
    }

    async fn tick(&mut self) {
        let period = self.period;
        let interval = self.interval.get_or_insert_with(|| {
            let mut tick = tokio::time::interval(period);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
            tick
        });
        interval.tick().await;
    }
}

#[derive(Debug, thiserror::Error)]
pub enum FeedError {
    #[error(transparent)]
    Recording(RecordingError),
    #[error("cannot write the recording: {0}")]
    Recorder(std::io::Error),
}
