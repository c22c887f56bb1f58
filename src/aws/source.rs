//! What every source shares: its channel to the loop, the token that ends it, the session's
//! API budget, a cadence that is fast while something moves and slow once all is settled, a
//! backoff on failure, and its health (calls per minute, throttles, whether the budget slowed
//! it, the last good read), reported as a `source_status` observation when it changes and at
//! least every 15 seconds.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::time::Instant;

use chrono::{DateTime, Utc};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::SourceError;
use super::budget::{Api, Budget, Pace};
use crate::model::{Observation, ObservationKind, SourceState, SourceStatus};

/// Health is reported at least this often, so the header's calls per minute stay current
/// (the store adds a timeline row only when the state changes).
const STATUS_EVERY: Duration = Duration::from_secs(15);
/// Backoff after failures: doubles from the poll interval up to this, with jitter.
const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// How often a source whose credentials expired looks again (the provider is rebuilt at most
/// every 10 s).
const EXPIRED_RETRY: Duration = Duration::from_secs(10);
/// Settled rounds with nothing new before a source eases from its settled to its idle pace.
const QUIET_ROUNDS_TO_IDLE: u32 = 4;
/// A source whose calls waited for the budget within this long says it is paced.
const PACED_FOR: Duration = Duration::from_secs(60);

/// How often a source polls: `fast` while an operation or a deployment is in progress or a
/// poll has just seen a change, `settled` once everything has settled, easing to `idle` after
/// a stretch of quiet rounds. All at pace scale 1.
#[derive(Debug, Clone, Copy)]
pub struct Cadence {
    pub fast: Duration,
    pub settled: Duration,
    pub idle: Duration,
}

/// The loop went away: the source ends.
#[derive(Debug)]
pub struct Closed;

/// Why a poll stopped early.
pub enum Polled {
    /// A call failed: the source shows it as health and tries again later.
    Failed(SourceError),
    Closed,
}

impl Polled {
    /// A failed call, classified for the source's health.
    pub fn from_sdk<E, R>(
        err: &aws_smithy_runtime_api::client::result::SdkError<E, R>,
        profile: &crate::model::Profile,
    ) -> Polled
    where
        E: aws_smithy_types::error::metadata::ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        Polled::Failed(super::error::classify(err, profile))
    }
}

impl From<Closed> for Polled {
    fn from(_: Closed) -> Self {
        Polled::Closed
    }
}

pub struct SourceCtx {
    pub name: String,
    api: Api,
    budget: Budget,
    tx: mpsc::Sender<Observation>,
    cancel: CancellationToken,
    /// Observations sent since the round began (health reports aside): the poll saw a change.
    sent: AtomicUsize,
    quiet_rounds: u32,
    /// The last time a call waited for the budget.
    paced_at: Option<Instant>,
    /// Rounds ended so far: the first one reads everything once and always waits its turn,
    /// which is not the budget slowing the watch down.
    rounds: u32,
    /// When each call of the last minute was made (bounded by the pace: a few per second).
    calls: VecDeque<Instant>,
    state: SourceState,
    throttled: u64,
    failures: u32,
    last_ok: Option<DateTime<Utc>>,
    last_report: Option<(Instant, SourceState)>,
    jitter: u64,
}

impl SourceCtx {
    pub fn new(
        name: &str,
        api: Api,
        budget: Budget,
        tx: mpsc::Sender<Observation>,
        cancel: CancellationToken,
    ) -> Self {
        SourceCtx {
            name: name.to_string(),
            api,
            budget,
            tx,
            cancel,
            sent: AtomicUsize::new(0),
            quiet_rounds: 0,
            paced_at: None,
            rounds: 0,
            calls: VecDeque::new(),
            state: SourceState::Ok,
            throttled: 0,
            failures: 0,
            last_ok: None,
            last_report: None,
            // Sources started together must not retry in step.
            jitter: seed(name),
        }
    }

    /// Sends one observation stamped now. A full channel slows the source down (the loop is
    /// behind); a closed one ends it.
    pub async fn send(&self, kind: impl Into<ObservationKind>) -> Result<(), Closed> {
        self.sent.fetch_add(1, Ordering::Relaxed);
        self.send_quietly(kind.into()).await
    }

    /// Sends without counting it as a change (the source's own health).
    async fn send_quietly(&self, kind: ObservationKind) -> Result<(), Closed> {
        let obs = Observation::new(Utc::now(), kind);
        tokio::select! {
            sent = self.tx.send(obs) => sent.map_err(|_| Closed),
            () = self.cancel.cancelled() => Err(Closed),
        }
    }

    /// Tells the loop what the watch took on since the last poll (whichever source looks
    /// first sends it).
    pub async fn announce(&self, discovery: &super::discovery::Discovery) -> Result<(), Closed> {
        for watching in discovery.take_announcements() {
            self.send(watching).await?;
        }
        Ok(())
    }

    /// The session's pace, for intervals of the source's own.
    pub fn pace(&self) -> Pace {
        self.budget.pace()
    }

    /// How many calls the budget allows this source's service in `span`.
    pub fn calls_in(&self, span: Duration) -> usize {
        self.budget.calls_in(self.api, span)
    }

    /// The source chose to leave reads out of a round to stay within the budget.
    pub fn paced_now(&mut self) {
        self.paced_at = Some(Instant::now());
    }

    /// Takes one call from the budget, waiting for it when the budget is spent, and counts it
    /// for the calls-per-minute figure. Every AWS call goes through here.
    pub async fn call(&mut self) -> Result<(), Closed> {
        let wait = self.budget.reserve(self.api);
        if !wait.is_zero() {
            if self.rounds > 0 {
                self.paced_now();
            }
            if !self.sleep(wait).await {
                return Err(Closed);
            }
        }
        self.called();
        // A long round (a first read of 22 services, under the budget) still keeps its health
        // current in the header: a report is due every 15 s, not only at the end of a round.
        self.report().await
    }

    fn called(&mut self) {
        let now = Instant::now();
        self.calls.push_back(now);
        while self
            .calls
            .front()
            .is_some_and(|t| now.duration_since(*t) > Duration::from_secs(60))
        {
            self.calls.pop_front();
        }
    }

    /// A poll succeeded.
    pub fn ok(&mut self) {
        self.state = SourceState::Ok;
        self.failures = 0;
        self.last_ok = Some(Utc::now());
    }

    /// A poll failed: health follows the error, and the pace backs off.
    pub fn failed(&mut self, error: &SourceError) {
        tracing::warn!(source = %self.name, %error, "poll failed");
        self.state = error.health();
        if self.state == SourceState::Throttled {
            self.throttled += 1;
        }
        self.failures = self.failures.saturating_add(1);
    }

    /// Sends the source's health when it changed, and at least once a minute.
    pub async fn report(&mut self) -> Result<(), Closed> {
        let now = Instant::now();
        let due = match self.last_report {
            None => true,
            Some((at, state)) => state != self.state || now.duration_since(at) >= STATUS_EVERY,
        };
        if !due {
            return Ok(());
        }
        self.last_report = Some((now, self.state));
        let stale_s = self
            .last_ok
            .map_or(0, |t| (Utc::now() - t).num_seconds().max(0) as u64);
        let status = SourceStatus {
            name: self.name.clone(),
            state: self.state,
            calls_per_min: self.calls.len() as f32,
            throttled: self.throttled,
            stale_s,
            last_ok: self.last_ok,
            paced: self.paced(),
        };
        self.send_quietly(status.into()).await
    }

    /// The budget slowed this source within the last minute (of the session's pace).
    fn paced(&self) -> bool {
        let window = self.pace().of(PACED_FOR);
        self.paced_at
            .is_some_and(|at| Instant::now().duration_since(at) < window)
    }

    /// The interval before the next round: fast while `busy` or after a round that sent
    /// something new, then settled, then idle after a stretch of quiet rounds.
    pub fn cadence(&mut self, cadence: &Cadence, busy: bool) -> Duration {
        let changed = self.sent.swap(0, Ordering::Relaxed) > 0;
        let interval = if busy || changed {
            self.quiet_rounds = 0;
            cadence.fast
        } else {
            self.quiet_rounds = self.quiet_rounds.saturating_add(1);
            if self.quiet_rounds < QUIET_ROUNDS_TO_IDLE {
                cadence.settled
            } else {
                cadence.idle
            }
        };
        self.pace().of(interval)
    }

    /// How long to wait before the next poll: `interval` while healthy, then doubling with
    /// jitter after each failure, up to a minute.
    pub fn next_wait(&mut self, interval: Duration) -> Duration {
        if self.failures == 0 {
            return interval;
        }
        // Expired credentials cost AWS nothing to refuse and come back the moment the user
        // logs in again: look every few seconds instead of backing off to a minute.
        let ceiling = if self.state == SourceState::CredentialsExpired {
            EXPIRED_RETRY
        } else {
            MAX_BACKOFF
        };
        let doubled = interval
            .saturating_mul(1 << self.failures.min(6))
            .min(self.pace().of(ceiling));
        // xorshift: enough to spread retries, no need for a random crate.
        self.jitter ^= self.jitter << 13;
        self.jitter ^= self.jitter >> 7;
        self.jitter ^= self.jitter << 17;
        let spread = doubled.as_millis() as u64 / 4 + 1;
        doubled - Duration::from_millis(self.jitter % spread)
    }

    /// Records how a single poll went and sends the source's health (`status`: one look).
    pub async fn one_round(
        &mut self,
        polled: Result<(), Polled>,
        discovery: &super::discovery::Discovery,
    ) -> Result<(), Closed> {
        self.rounds = self.rounds.saturating_add(1);
        match polled {
            Ok(()) => self.ok(),
            Err(Polled::Closed) => return Err(Closed),
            Err(Polled::Failed(e)) => self.failed(&e),
        }
        self.announce(discovery).await?;
        self.report().await
    }

    /// Ends one round of a source's loop: records how the poll went, tells the loop what the
    /// watch took on and the source's health, and waits for the next round as the cadence says
    /// (or longer after failures). False when the session is ending.
    pub async fn end_round(
        &mut self,
        polled: Result<(), Polled>,
        discovery: &super::discovery::Discovery,
        cadence: &Cadence,
        busy: bool,
    ) -> Result<bool, Closed> {
        self.one_round(polled, discovery).await?;
        let interval = self.cadence(cadence, busy);
        let wait = self.next_wait(interval);
        Ok(self.sleep(wait).await)
    }

    /// Waits `wait`; false when the session is ending.
    pub async fn sleep(&self, wait: Duration) -> bool {
        tokio::select! {
            () = tokio::time::sleep(wait) => true,
            () = self.cancel.cancelled() => false,
        }
    }
}

fn seed(name: &str) -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(1, |d| d.subsec_nanos() as u64);
    name.bytes()
        .fold(nanos | 1, |h, b| h.rotate_left(5) ^ u64::from(b))
        .max(1)
}

/// An AWS timestamp as chrono's.
pub fn utc(t: &aws_smithy_types::DateTime) -> DateTime<Utc> {
    DateTime::from_timestamp(t.secs(), t.subsec_nanos()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> SourceCtx {
        let (tx, _rx) = mpsc::channel(1);
        SourceCtx::new(
            "test",
            Api::Ecs,
            Budget::new(Pace::default()),
            tx,
            CancellationToken::new(),
        )
    }

    #[test]
    fn the_cadence_is_fast_while_busy_or_after_a_change_then_settles_then_idles() {
        let mut ctx = ctx();
        let cadence = Cadence {
            fast: Duration::from_secs(5),
            settled: Duration::from_secs(30),
            idle: Duration::from_secs(60),
        };
        assert_eq!(ctx.cadence(&cadence, true), cadence.fast);
        for _ in 1..QUIET_ROUNDS_TO_IDLE {
            assert_eq!(ctx.cadence(&cadence, false), cadence.settled);
        }
        assert_eq!(ctx.cadence(&cadence, false), cadence.idle);
        // A round that sent something is a change: fast again.
        ctx.sent.fetch_add(1, Ordering::Relaxed);
        assert_eq!(ctx.cadence(&cadence, false), cadence.fast);
        assert_eq!(ctx.cadence(&cadence, false), cadence.settled);
    }

    #[test]
    fn backoff_doubles_with_jitter_up_to_a_minute_and_resets_on_success() {
        let mut ctx = ctx();
        let interval = Duration::from_secs(5);
        assert_eq!(ctx.next_wait(interval), interval);
        let throttled = SourceError::Throttled("Rate exceeded".into());
        ctx.failed(&throttled);
        let first = ctx.next_wait(interval);
        assert!(first > Duration::from_secs(7) && first <= Duration::from_secs(10));
        for _ in 0..10 {
            ctx.failed(&throttled);
        }
        let capped = ctx.next_wait(interval);
        assert!(capped <= MAX_BACKOFF && capped > Duration::from_secs(44));
        assert_eq!(ctx.state, SourceState::Throttled);
        assert_eq!(ctx.throttled, 11);
        ctx.ok();
        assert_eq!(ctx.next_wait(interval), interval);
        assert_eq!(ctx.state, SourceState::Ok);
    }
}
