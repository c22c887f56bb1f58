//! What the detector does when something it followed no longer exists.

use chrono::{DateTime, Utc};

use super::{Detector, FlagKey};
use crate::model::{EcsServiceGone, Store, TargetGone, TargetKey};

impl Detector {
    /// A deleted service cannot recover, so the rules that wait for it to (crash loop, not
    /// converging, rolled back, its tasks' and events' flags) would keep their flags open for
    /// ever: they resolve now, saying why, and its per-service state is dropped.
    pub(super) fn service_gone(&mut self, at: DateTime<Utc>, g: &EcsServiceGone, store: &Store) {
        // Flags are scoped by service name: another cluster's service of that name keeps them.
        if store.services.values().any(|s| s.key.service == g.service) {
            return;
        }
        let scope = format!("svc:{}", g.service);
        let keys: Vec<FlagKey> = self.open_keys(|k, _| k.1 == scope);
        for key in keys {
            if let Some(flag) = self.open.get_mut(&key) {
                flag.summary.push_str(" (the service no longer exists)");
                self.open_rev += 1;
            }
            self.resolve(&key, at);
        }
        self.crash_stops.remove(&scope);
        self.crash_reported.remove(&scope);
        self.latest_running.remove(&scope);
        self.behind_since.remove(&g.service);
        self.ecs_rollbacks.remove(&g.service);
    }

    /// A target that left its group is forgotten, as after `unused` / `Target.NotRegistered`:
    /// the group's rules read its counts from the store, which has already dropped it.
    pub(super) fn target_gone(&mut self, g: &TargetGone) {
        self.targets_seen.remove(&TargetKey {
            target_group: g.target_group.clone(),
            target_id: g.target_id.clone(),
            port: g.port,
        });
    }
}
