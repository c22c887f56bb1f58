//! One API budget per AWS service for the whole session (a session talks to one region), shared
//! by every source and every watched stack: two stacks, 22 services or a flood of log groups
//! cannot add up to more calls than the budget allows. Each service has a token bucket; a call
//! that finds it empty waits its turn, and the source says in its health that the budget slowed
//! it.
//!
//! The bucket is a few lines of GCRA on tokio's clock rather than a rate-limiter crate, so
//! tests drive it with tokio's paused time instead of waiting out real minutes.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

/// The AWS services stackwatch calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    CloudFormation,
    Ecs,
    Elb,
    Logs,
}

impl Api {
    /// Calls a minute and how many may go at once, at pace scale 1. Together they stay under
    /// 60 calls a minute, the target for one deploying stack; every account limit (Logs' 5 a
    /// second, ECS's describes) is far above.
    fn quota(self) -> (u32, u32) {
        match self {
            Api::CloudFormation => (18, 3),
            Api::Ecs => (18, 3),
            Api::Elb => (8, 2),
            Api::Logs => (10, 3),
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// How fast the session runs: intervals are multiplied by the scale and budgets divided by it.
/// 1 for users; tests set `STACKWATCH_PACE_SCALE` (0.1 makes a minute six seconds) so they do
/// not wait out real minutes and still see the same calls per poll.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pace {
    scale: f64,
}

impl Default for Pace {
    fn default() -> Self {
        Pace { scale: 1.0 }
    }
}

impl Pace {
    pub const ENV: &'static str = "STACKWATCH_PACE_SCALE";

    pub fn from_env() -> Pace {
        std::env::var(Self::ENV)
            .ok()
            .and_then(|v| v.trim().parse::<f64>().ok())
            .map_or_else(Pace::default, Pace::scaled)
    }

    /// A scale between 0.01 and 10 (anything else is clamped; not a number is 1).
    pub fn scaled(scale: f64) -> Pace {
        let scale = if scale.is_finite() { scale } else { 1.0 };
        Pace {
            scale: scale.clamp(0.01, 10.0),
        }
    }

    /// A duration of the session's clock.
    pub fn of(&self, d: Duration) -> Duration {
        d.mul_f64(self.scale)
    }
}

/// A token bucket (GCRA): `per_call` apart on average, up to `burst` at once.
#[derive(Debug)]
struct Bucket {
    per_call: Duration,
    burst: u32,
    /// When the bucket is next empty-handed: the theoretical arrival time of the next call.
    tat: Option<Instant>,
}

impl Bucket {
    /// Reserves one call and returns how long to wait before making it. Reservations are
    /// served in order, so a waiting source is never starved by a busier one.
    fn reserve(&mut self, now: Instant) -> Duration {
        let tat = self.tat.map_or(now, |t| t.max(now));
        let allowance = self.per_call * self.burst.saturating_sub(1);
        let wait = (tat - now).saturating_sub(allowance);
        self.tat = Some(tat + self.per_call);
        wait
    }
}

/// The session's budgets, one per service; clones share them.
#[derive(Debug, Clone)]
pub struct Budget {
    buckets: Arc<[Mutex<Bucket>; 4]>,
    pace: Pace,
}

impl Budget {
    pub fn new(pace: Pace) -> Budget {
        Budget::with(pace, |api| {
            let (per_minute, burst) = api.quota();
            Bucket {
                per_call: pace.of(Duration::from_secs(60)) / per_minute,
                burst,
                tat: None,
            }
        })
    }

    /// No limit: `status` makes a handful of calls once and must not wait between them.
    pub fn unlimited() -> Budget {
        Budget::with(Pace::default(), |_| Bucket {
            per_call: Duration::ZERO,
            burst: 1,
            tat: None,
        })
    }

    /// One bucket per service, in `Api::index` order.
    fn with(pace: Pace, bucket: impl Fn(Api) -> Bucket) -> Budget {
        let apis = [Api::CloudFormation, Api::Ecs, Api::Elb, Api::Logs];
        Budget {
            buckets: Arc::new(apis.map(|api| Mutex::new(bucket(api)))),
            pace,
        }
    }

    pub fn pace(&self) -> Pace {
        self.pace
    }

    /// Reserves one call to `api`: how long the caller must wait before making it.
    pub fn reserve(&self, api: Api) -> Duration {
        let mut bucket = self.buckets[api.index()]
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        bucket.reserve(Instant::now())
    }

    /// How many calls to `api` the budget allows in `span`, for sources that choose what to
    /// read in a round (target groups, log groups) instead of waiting for every one.
    pub fn calls_in(&self, api: Api, span: Duration) -> usize {
        let (per_minute, _) = api.quota();
        let minute = self.pace.of(Duration::from_secs(60));
        (f64::from(per_minute) * span.as_secs_f64() / minute.as_secs_f64()).floor() as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bucket(api: Api) -> Bucket {
        let (per_minute, burst) = api.quota();
        Bucket {
            per_call: Duration::from_secs(60) / per_minute,
            burst,
            tat: None,
        }
    }

    #[test]
    fn a_burst_goes_at_once_then_calls_are_spaced_by_the_quota() {
        // ELB: 8 a minute (7.5 s apart), 2 at once.
        let mut elb = bucket(Api::Elb);
        let now = Instant::now();
        assert_eq!(elb.reserve(now), Duration::ZERO);
        assert_eq!(elb.reserve(now), Duration::ZERO);
        assert_eq!(elb.reserve(now), Duration::from_millis(7500));
        assert_eq!(elb.reserve(now), Duration::from_secs(15));
        // Other services have their own bucket.
        let budget = Budget::new(Pace::default());
        assert_eq!(budget.reserve(Api::Ecs), Duration::ZERO);
    }

    #[test]
    fn calls_waiting_their_turn_never_exceed_the_quota_in_any_minute() {
        let mut cfn = bucket(Api::CloudFormation);
        let start = Instant::now();
        let mut now = start;
        let mut made = Vec::new();
        for _ in 0..100 {
            now += cfn.reserve(now);
            made.push(now - start);
        }
        let (per_minute, burst) = Api::CloudFormation.quota();
        for (i, at) in made.iter().enumerate() {
            let in_window = made[i..]
                .iter()
                .take_while(|t| **t < *at + Duration::from_secs(60))
                .count();
            assert!(
                in_window as u32 <= per_minute + burst,
                "{in_window} at {at:?}"
            );
        }
        // 100 calls at 18 a minute take about 5.4 minutes.
        let last = *made.last().unwrap();
        assert!(
            last > Duration::from_secs(320) && last < Duration::from_secs(330),
            "{last:?}"
        );
    }

    #[test]
    fn an_idle_bucket_refills_but_saves_no_more_than_its_burst() {
        let mut logs = bucket(Api::Logs);
        let start = Instant::now();
        assert_eq!(logs.reserve(start), Duration::ZERO);
        let later = start + Duration::from_secs(600);
        for _ in 0..3 {
            assert_eq!(logs.reserve(later), Duration::ZERO);
        }
        assert!(logs.reserve(later) > Duration::ZERO);
    }

    #[test]
    fn an_unlimited_budget_never_waits() {
        let budget = Budget::unlimited();
        for _ in 0..1000 {
            assert_eq!(budget.reserve(Api::CloudFormation), Duration::ZERO);
        }
    }

    #[test]
    fn the_pace_scales_intervals_and_budgets_together() {
        let fast = Pace::scaled(0.1);
        assert_eq!(fast.of(Duration::from_secs(30)), Duration::from_secs(3));
        let budget = Budget::new(fast);
        assert_eq!(budget.calls_in(Api::Elb, Duration::from_secs(6)), 8);
        assert_eq!(
            Budget::new(Pace::default()).calls_in(Api::Elb, Duration::from_secs(30)),
            4
        );
        assert_eq!(Pace::scaled(f64::NAN), Pace::default());
        assert_eq!(
            Pace::scaled(0.0).of(Duration::from_secs(100)),
            Duration::from_secs(1)
        );
    }
}
