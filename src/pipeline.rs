//! The pure core in one piece: a store and a detector fed the same observations.

use chrono::{DateTime, Utc};

use crate::detect::Detector;
use crate::model::{Observation, Store, StoreCaps};

#[derive(Debug, Clone, Default)]
pub struct Pipeline {
    pub store: Store,
    pub detector: Detector,
}

impl Pipeline {
    pub fn new(caps: StoreCaps) -> Self {
        Pipeline {
            store: Store::new(caps),
            detector: Detector::new(),
        }
    }

    /// Applies one observation to the store, then runs the text rules on it.
    /// Returns true when it added a timeline row.
    pub fn ingest(&mut self, obs: &Observation) -> bool {
        let added = self.store.apply(obs);
        self.detector.observe(obs, &self.store);
        added
    }

    /// Runs the time-based rules at `now` (wall clock when live, virtual time in replay).
    pub fn tick(&mut self, now: DateTime<Utc>) {
        self.detector.tick(now, &self.store);
    }
}
