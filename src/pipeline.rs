//! The pure core in one piece: a store and a detector fed the same observations, and the
//! schedule of the state rules' ticks. A source only produces observations; the pipeline turns
//! them, and the passing of time, into state and [`Change`]s; outputs read the store and the
//! changes. Pure: time comes in as an argument (wall clock live, virtual time in replay).

// Pure: no clock here (clippy.toml names the methods).
#![deny(clippy::disallowed_methods)]

use chrono::{DateTime, TimeDelta, Utc};

use crate::detect::{Detector, Flag, FlagChange, Prejudged, problem_refs};
use crate::model::{LogPrep, Observation, ObservationKind, Store, StoreCaps, TimelineEntry};

/// State rules run once per second of the pipeline's clock, so timers fire at the right time
/// even when a recording is replayed at `--speed max`.
pub const TICK_STEP: TimeDelta = TimeDelta::seconds(1);

/// Across a longer silence the state rules tick once at its start and then second by second
/// over its last stretch only: no rule looks further back than this (the longest, a
/// CreationPolicy, waits 12 h), and a recording with a gap of months must not tick for hours.
const FINE_TICK_SPAN: TimeDelta = TimeDelta::hours(13);

/// What feeding an observation or advancing time changed, in the order it happened.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// The store's timeline gained this row (one observation can add several: a service
    /// snapshot with two deployment transitions). Late rows are placed by time in the ring;
    /// here they come in the order they arrived, for outputs that print as things happen.
    Row(TimelineEntry),
    /// A flag opened, escalated or resolved at `at` on the pipeline's clock.
    Flag {
        at: DateTime<Utc>,
        change: FlagChange,
    },
}

/// What can be worked out about an observation from it alone, ahead and on another thread (a
/// replay's reader): the store's keys and texts for a log line, and whether the detector's
/// rules can match it. Log lines are most of a recording, so this takes about a tenth of a
/// replay off the pipeline's thread.
#[derive(Debug, Clone, Default)]
pub struct Prepared {
    detect: Prejudged,
    log: Option<LogPrep>,
}

impl Prepared {
    pub fn of(obs: &Observation) -> Self {
        match &obs.kind {
            ObservationKind::LogEvent(l) => Prepared {
                detect: Prejudged::of(obs),
                log: Some(LogPrep::of(l)),
            },
            _ => Prepared::default(),
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct Pipeline {
    pub store: Store,
    pub detector: Detector,
    /// The last second of the pipeline's clock: the state rules have run at every second of
    /// the grid up to it.
    last_tick: Option<DateTime<Utc>>,
    /// Observations were fed since the state rules last ran.
    fed_since_tick: bool,
}

impl Pipeline {
    pub fn new(caps: StoreCaps) -> Self {
        Pipeline {
            store: Store::new(caps),
            detector: Detector::new(),
            last_tick: None,
            fed_since_tick: false,
        }
    }

    /// The same pipeline with this detector (the config file's thresholds and rules).
    pub fn with_detector(mut self, detector: Detector) -> Self {
        self.detector = detector;
        self
    }

    /// The pipeline's clock: the last second the state rules ran at.
    pub fn now(&self) -> Option<DateTime<Utc>> {
        self.last_tick
    }

    /// Runs the state rules at each second before the observation's time, then applies it to
    /// the store and runs the text rules on it (not on a repeat of one already applied); the
    /// state rules see it at the next second.
    /// What changed is appended to `changes`. The first observation starts the clock: the
    /// first tick lands on its second.
    pub fn feed(&mut self, obs: &Observation, changes: &mut Vec<Change>) {
        self.feed_prepared(obs, &Prepared::default(), changes);
    }

    /// [`Pipeline::feed`], with what was worked out about the observation ahead
    /// ([`Prepared::of`] it).
    pub fn feed_prepared(
        &mut self,
        obs: &Observation,
        prepared: &Prepared,
        changes: &mut Vec<Change>,
    ) {
        match self.last_tick {
            None => self.last_tick = obs.at.checked_sub_signed(TICK_STEP),
            Some(_) => self.tick_through(obs.at, false, changes),
        }
        let applied = self.store.apply_prepared(obs, prepared.log.as_ref());
        changes.extend(self.store.take_fresh_rows().map(Change::Row));
        // Overlapping reads repeat events: the store applied it once, and the detector must
        // count it once too.
        if !applied.repeat {
            self.detector
                .observe_prejudged(obs, prepared.detect, &self.store);
            self.drain_flags(obs.at, changes);
        }
        self.fed_since_tick = true;
    }

    /// Runs the state rules once per second up to and including `now` (the first call ticks
    /// at `now` itself). Time never runs backwards: when `now` brings no new second but
    /// observations came in since the last tick (live, a poll stamped just before the tick),
    /// the rules run again at the last second, so they always see the newest state.
    pub fn advance_to(&mut self, now: DateTime<Utc>, changes: &mut Vec<Change>) {
        let before = self.last_tick;
        self.tick_through(now, true, changes);
        if self.fed_since_tick
            && self.last_tick == before
            && let Some(t) = self.last_tick
        {
            self.tick(t, changes);
        }
    }

    /// Ticks each second of the grid after the last tick, up to `to` (`inclusive`) or up to
    /// just before it.
    fn tick_through(&mut self, to: DateTime<Utc>, inclusive: bool, changes: &mut Vec<Change>) {
        let due = |next: DateTime<Utc>| if inclusive { next <= to } else { next < to };
        let mut t = match self.last_tick {
            Some(t) => t,
            None => {
                self.tick(to, changes);
                return;
            }
        };
        if to - t > FINE_TICK_SPAN {
            t = to - FINE_TICK_SPAN;
            self.tick(t, changes);
        }
        while let Some(mut next) = t.checked_add_signed(TICK_STEP)
            && due(next)
        {
            // The ticks of a rest change nothing but the clock: on to the last of them.
            if let Some(until) = self.detector.resting_until()
                && next < until
            {
                let before_until = whole_steps(until - t, false);
                let before_to = whole_steps(to - t, inclusive);
                let steps = before_until.min(before_to).max(1);
                next = t + TICK_STEP * steps;
            }
            t = next;
            self.tick(t, changes);
        }
    }

    fn tick(&mut self, now: DateTime<Utc>, changes: &mut Vec<Change>) {
        self.last_tick = Some(now);
        self.fed_since_tick = false;
        self.detector.tick(now, &self.store);
        self.drain_flags(now, changes);
    }

    /// The detector's changes are handed on at once, so nothing accumulates inside it however
    /// long a session runs.
    /// Each change names the problem its flag belongs to at this moment.
    fn drain_flags(&mut self, at: DateTime<Utc>, changes: &mut Vec<Change>) {
        let mut taken = self.detector.take_changes();
        if taken.is_empty() {
            return;
        }
        let refs = {
            let changed: Vec<&Flag> = taken.iter().map(FlagChange::flag).collect();
            problem_refs(&changed, &self.detector.open_flags(), &self.store)
        };
        for (change, problem) in taken.iter_mut().zip(refs) {
            let flag = change.flag_mut();
            flag.problem = Some(problem);
            // A change says what its flag read at that moment, not what it reads later.
            flag.stop_clock(at);
        }
        changes.extend(taken.into_iter().map(|change| Change::Flag { at, change }));
    }
}

/// How many whole ticks fit in `span`, ending before its end, or at it when `inclusive`.
fn whole_steps(span: TimeDelta, inclusive: bool) -> i32 {
    let step = TICK_STEP.num_nanoseconds().unwrap_or(1);
    let span = span.num_nanoseconds().unwrap_or(i64::MAX);
    let steps = if inclusive {
        span / step
    } else {
        (span - 1) / step
    };
    i32::try_from(steps).unwrap_or(i32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{LogEvent, ObservationKind};
    use chrono::TimeZone;

    fn t(secs: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 23, 12, 0, 0).unwrap() + TimeDelta::seconds(secs)
    }

    fn log_line(secs: i64, message: &str) -> Observation {
        Observation::new(
            t(secs),
            ObservationKind::LogEvent(LogEvent {
                group: "/ecs/app".into(),
                stream: "app/web/1".into(),
                timestamp: t(secs),
                message: message.into(),
                event_id: Some(format!("e{secs}")),
            }),
        )
    }

    #[test]
    fn whole_steps_end_before_the_span_or_at_it() {
        let ms = TimeDelta::milliseconds;
        assert_eq!(whole_steps(ms(3_000), false), 2);
        assert_eq!(whole_steps(ms(3_000), true), 3);
        assert_eq!(whole_steps(ms(3_500), false), 3);
        assert_eq!(whole_steps(ms(3_500), true), 3);
        assert_eq!(whole_steps(ms(1), false), 0);
        assert_eq!(whole_steps(TimeDelta::MAX, true), i32::MAX);
    }

    #[test]
    fn time_ticks_each_second_and_never_backwards() {
        let mut p = Pipeline::new(StoreCaps::default());
        let mut changes = Vec::new();
        p.advance_to(t(0), &mut changes);
        assert_eq!(p.now(), Some(t(0)));
        p.advance_to(t(5), &mut changes);
        assert_eq!(p.now(), Some(t(5)));
        p.advance_to(t(2), &mut changes);
        assert_eq!(p.now(), Some(t(5)), "time does not run backwards");
        // A gap of a year ticks only its last stretch.
        p.advance_to(t(365 * 86_400), &mut changes);
        assert_eq!(p.now(), Some(t(365 * 86_400)));
    }

    #[test]
    fn feed_reports_rows_and_hands_flag_changes_on() {
        let mut p = Pipeline::new(StoreCaps::default());
        let mut changes = Vec::new();
        p.feed(&log_line(0, "listening on :8080"), &mut changes);
        assert!(
            matches!(changes.as_slice(), [Change::Row(r)] if r.seq == 0 && &*r.message == "listening on :8080"),
            "{changes:?}"
        );
        changes.clear();
        p.feed(
            &log_line(3, "Error: Cannot find module 'express'"),
            &mut changes,
        );
        assert!(matches!(changes.first(), Some(Change::Row(r)) if r.seq == 1));
        let opened = changes.iter().any(|c| {
            matches!(c, Change::Flag { at, change: FlagChange::Opened(f) } if f.rule == "log.node_module_not_found" && *at == t(3))
        });
        assert!(opened, "the crash opens a flag: {changes:?}");
        // Handed on, not kept: the detector holds no changes after a feed or a tick.
        assert!(p.detector.take_changes().is_empty());
    }

    #[test]
    fn state_rules_see_an_observation_at_its_own_second() {
        let mut p = Pipeline::new(StoreCaps::default());
        let mut changes = Vec::new();
        p.feed(&log_line(0, "starting"), &mut changes);
        assert_eq!(
            p.now(),
            Some(t(-1)),
            "the first observation starts the clock"
        );
        p.feed(&log_line(2, "still starting"), &mut changes);
        assert_eq!(p.now(), Some(t(1)), "ticks before the observation's second");
        p.advance_to(t(2), &mut changes);
        assert_eq!(p.now(), Some(t(2)), "and at it once it has been applied");
    }

    #[test]
    fn a_repeated_event_is_one_row_and_counts_once_in_its_flag() {
        let mut p = Pipeline::new(StoreCaps::default());
        let mut changes = Vec::new();
        let crash = log_line(3, "Error: Cannot find module 'express'");
        p.feed(&crash, &mut changes);
        changes.clear();
        // The next poll overlaps and reads the same line again.
        p.feed(&crash, &mut changes);
        assert!(changes.is_empty(), "{changes:?}");
        assert_eq!(p.store.logs.len(), 1);
        let flags = p.detector.open_flags();
        let flag = flags
            .iter()
            .find(|f| f.rule == "log.node_module_not_found")
            .unwrap();
        assert_eq!(flag.count, 1);
        // A new line of the same text is a new event.
        p.feed(
            &log_line(4, "Error: Cannot find module 'express'"),
            &mut changes,
        );
        let flags = p.detector.open_flags();
        assert_eq!(flags.iter().map(|f| f.count).max(), Some(2));
    }
}
