//! The detector: text rules classify single messages, state rules look at the store over time,
//! and both open flags that carry a rule id, a severity, a one-line summary and a next step.
//! Flags resolve when the condition clears. Pure: `now` is always passed in.

use std::collections::{BTreeMap, VecDeque};

use chrono::{DateTime, Utc};

use crate::model::{Observation, Severity, Source, Store};

/// Evidence kept per flag (newest last).
pub const EVIDENCE_CAP: usize = 20;

/// One piece of evidence a flag rests on.
#[derive(Debug, Clone, PartialEq)]
pub struct Evidence {
    pub at: DateTime<Utc>,
    pub source: Source,
    pub resource: String,
    pub text: String,
}

/// An open or resolved problem.
#[derive(Debug, Clone, PartialEq)]
pub struct Flag {
    /// A rule id from `signals/taxonomy.md`, such as `ecs.efs_mount_network`.
    pub rule: &'static str,
    pub severity: Severity,
    pub source: Source,
    /// What it is about: a logical id path, a service, a target group, a log group.
    pub resource: String,
    pub summary: String,
    pub next_step: String,
    pub evidence: VecDeque<Evidence>,
    /// How many observations matched (50 tasks dying of one cause make one flag, count 50).
    pub count: u64,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
}

/// A change the outputs report: `flag` and `resolved` lines, the flags strip.
#[derive(Debug, Clone, PartialEq)]
pub enum FlagChange {
    Opened(Flag),
    Resolved(Flag),
}

/// Open flags are keyed by rule and the resource they are about.
pub type FlagKey = (&'static str, String);

#[derive(Debug, Clone, Default)]
pub struct Detector {
    open: BTreeMap<FlagKey, Flag>,
    resolved: VecDeque<Flag>,
    changes: Vec<FlagChange>,
}

impl Detector {
    pub fn new() -> Self {
        Detector::default()
    }

    /// Runs the text rules on one observation, after the store has applied it.
    pub fn observe(&mut self, _obs: &Observation, _store: &Store) {}

    /// Runs the state rules and resolution at `now`.
    pub fn tick(&mut self, _now: DateTime<Utc>, _store: &Store) {}

    /// Open flags, worst first, then newest first.
    pub fn open_flags(&self) -> Vec<&Flag> {
        let mut flags: Vec<&Flag> = self.open.values().collect();
        flags.sort_by(|a, b| {
            b.severity
                .cmp(&a.severity)
                .then(b.last_seen.cmp(&a.last_seen))
        });
        flags
    }

    /// Flags that were open and have resolved, oldest first.
    pub fn resolved_flags(&self) -> impl Iterator<Item = &Flag> {
        self.resolved.iter()
    }

    /// Changes since the last call, in order.
    pub fn take_changes(&mut self) -> Vec<FlagChange> {
        std::mem::take(&mut self.changes)
    }
}
