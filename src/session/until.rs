//! When a headless watch ends by itself (`--until`, `--timeout`), judged on the store at the
//! pipeline's clock: pure, so it is tested on observations with a fake clock.

use chrono::{DateTime, Utc};
use rustc_hash::FxHashSet as HashSet;

use crate::app::StopRule;
use crate::cli::Until;
use crate::model::{Store, cfn_status};
use crate::pipeline::Pipeline;

pub struct UntilRule {
    until: Until,
    /// The root stacks watched.
    stacks: Vec<String>,
    /// Stacks seen with an operation in progress: the operation to wait for.
    started: HashSet<String>,
    deadline: Option<DateTime<Utc>>,
    timed_out: bool,
}

impl UntilRule {
    pub fn new(until: Until, stacks: &[String], deadline: Option<DateTime<Utc>>) -> Self {
        UntilRule {
            until,
            stacks: stacks.to_vec(),
            started: HashSet::default(),
            deadline,
            timed_out: false,
        }
    }

    /// True when the watch ended because `--timeout` ran out.
    pub fn timed_out(&self) -> bool {
        self.timed_out
    }

    /// Every watched stack's operation has ended: the one in progress when the watch started,
    /// or, for a stack settled then, the next one to start.
    fn stacks_ended(&mut self, store: &Store) -> bool {
        let mut all = true;
        for path in &self.stacks {
            let status = store.stacks.get(path).map(|s| s.status.as_str());
            match status {
                Some(s) if cfn_status::is_in_progress(s) => {
                    self.started.insert(path.clone());
                    all = false;
                }
                Some(_) if self.started.contains(path) => {}
                _ => all = false,
            }
        }
        all
    }

    /// Every watched service's newest deployment has completed or failed.
    fn deployments_ended(store: &Store) -> bool {
        !store.services.is_empty()
            && store.services.values().all(|svc| {
                svc.primary()
                    .is_some_and(|p| match p.rollout_state.as_deref() {
                        Some(state) => state == "COMPLETED" || state == "FAILED",
                        None => p.running == p.desired,
                    })
            })
    }

    /// Services steady on one deployment, and every target group healthy.
    fn stable(store: &Store) -> bool {
        store
            .services
            .values()
            .all(|svc| svc.deployments.len() <= 1 && svc.running == svc.desired)
            && store
                .target_groups
                .values()
                .all(|g| g.healthy > 0 && g.unhealthy == 0)
    }
}

impl StopRule for UntilRule {
    fn done(&mut self, pipeline: &Pipeline) -> bool {
        if let (Some(deadline), Some(now)) = (self.deadline, pipeline.now())
            && now >= deadline
        {
            self.timed_out = true;
            return true;
        }
        let store = &pipeline.store;
        let ended = if self.stacks.is_empty() {
            UntilRule::deployments_ended(store)
        } else {
            self.stacks_ended(store)
        };
        match self.until {
            Until::Never => false,
            Until::Complete => ended,
            Until::Stable => ended && UntilRule::stable(store),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{CfnStack, Observation, StoreCaps};
    use chrono::TimeDelta;

    fn t(s: i64) -> DateTime<Utc> {
        DateTime::<Utc>::from_timestamp(1_800_000_000, 0).unwrap() + TimeDelta::seconds(s)
    }

    fn status(p: &mut Pipeline, s: i64, status: &str) {
        let stack = CfnStack {
            stack: "app".into(),
            name: "app".into(),
            stack_id: None,
            status: status.into(),
            reason: None,
        };
        p.feed(&Observation::new(t(s), stack), &mut Vec::new());
        p.advance_to(t(s), &mut Vec::new());
    }

    #[test]
    fn complete_waits_for_the_operation_in_progress_to_end() {
        let mut p = Pipeline::new(StoreCaps::default());
        let mut rule = UntilRule::new(Until::Complete, &["app".into()], None);
        status(&mut p, 0, "UPDATE_IN_PROGRESS");
        assert!(!rule.done(&p));
        status(&mut p, 10, "UPDATE_COMPLETE");
        assert!(rule.done(&p));
        assert!(!rule.timed_out());
    }

    #[test]
    fn a_settled_stack_waits_for_the_next_operation() {
        let mut p = Pipeline::new(StoreCaps::default());
        let mut rule = UntilRule::new(Until::Complete, &["app".into()], None);
        status(&mut p, 0, "UPDATE_COMPLETE");
        assert!(!rule.done(&p), "watch started before `cdk deploy`");
        status(&mut p, 5, "UPDATE_IN_PROGRESS");
        assert!(!rule.done(&p));
        status(&mut p, 9, "UPDATE_ROLLBACK_COMPLETE");
        assert!(rule.done(&p));
    }

    #[test]
    fn the_timeout_ends_a_stuck_watch_and_says_so() {
        let mut p = Pipeline::new(StoreCaps::default());
        let mut rule = UntilRule::new(Until::Complete, &["app".into()], Some(t(60)));
        status(&mut p, 0, "CREATE_IN_PROGRESS");
        p.advance_to(t(59), &mut Vec::new());
        assert!(!rule.done(&p));
        p.advance_to(t(60), &mut Vec::new());
        assert!(rule.done(&p));
        assert!(rule.timed_out());
    }

    #[test]
    fn never_only_ends_on_the_timeout() {
        let mut p = Pipeline::new(StoreCaps::default());
        let mut rule = UntilRule::new(Until::Never, &["app".into()], None);
        status(&mut p, 0, "CREATE_IN_PROGRESS");
        status(&mut p, 1, "CREATE_COMPLETE");
        assert!(!rule.done(&p));
    }
}
