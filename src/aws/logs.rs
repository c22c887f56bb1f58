//! The CloudWatch Logs source. Live Tail streams every discovered group (up to 10 groups per
//! session), re-opened before AWS's 3-hour limit and whenever a stream drops, each open followed
//! by a FilterLogEvents backfill per group from the last line seen, so nothing is lost in
//! between. Where Live Tail is refused (quota, permissions, an endpoint that does not stream),
//! the source polls FilterLogEvents instead and tries Live Tail again every few minutes.
//!
//! Both paths feed the same `LogEvent`s through one cursor per group: an overlap window on
//! every read, de-duplicated by content (Live Tail events carry no event id), in bounded
//! memory. What a backfill could not read for good is sent as a `LogGap`.

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::hash::{Hash, Hasher};
use std::time::Duration;

use aws_config::SdkConfig;
use aws_sdk_cloudwatchlogs::Client;
use aws_sdk_cloudwatchlogs::types::{LiveTailSessionUpdate, StartLiveTailResponseStream};
use chrono::{DateTime, TimeDelta, Utc};
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::discovery::Discovery;
use super::source::{Cadence, Closed, Polled, SourceCtx};
use super::{Clients, SourceError, error};
use crate::model::{LogEvent, LogGap};

/// Poll pace (and, where streams end at once, re-open pace): fast while lines come, easing off
/// as the groups stay quiet.
pub const CADENCE: Cadence = Cadence {
    fast: Duration::from_secs(5),
    settled: Duration::from_secs(15),
    idle: Duration::from_secs(60),
};
/// On start, this much history is read (the crash that brought the user here).
const BACKFILL: TimeDelta = TimeDelta::minutes(5);
/// Every read starts this far before the newest event seen: CloudWatch ingests late.
const OVERLAP: TimeDelta = TimeDelta::minutes(2);
/// Pages per group per poll: a flood is read over several polls instead of stalling the rest.
const PAGES_PER_POLL: usize = 5;
/// Pages a backfill reads per group; past that, the rest of the gap is marked, not read.
const BACKFILL_PAGES: usize = 20;
/// Most event keys remembered per group (those inside the overlap window are needed).
const SEEN_CAP: usize = 50_000;

/// Pages of a shared-prefix lookup before the rest are looked up one by one.
const PREFIX_PAGES: usize = 3;
/// Live Tail groups per session (AWS's limit).
const GROUPS_PER_SESSION: usize = 10;
/// Sessions are re-opened this long after they open, before AWS ends them at 3 hours.
const SESSION_MAX: Duration = Duration::from_secs(2 * 3600 + 50 * 60);
/// At least this long between two opens: an endpoint that closes each stream at once (moto)
/// is then read about as often as the poller would, not in a loop.
const REOPEN_MIN: Duration = Duration::from_secs(5);
/// Live Tail sends an update about every second, empty when nothing was logged: a stream
/// silent this long is dead.
const IDLE: Duration = Duration::from_secs(30);
/// StartLiveTail reads the stream's first message after the SDK's own operation timeout has
/// ended, so the whole open has a timeout of its own.
const OPEN_TIMEOUT: Duration = Duration::from_secs(20);
/// While tailing, groups discovered since the sessions opened are looked for this often.
const GROUP_CHECK: Duration = Duration::from_secs(30);
/// After Live Tail was refused, polling lasts this long before Live Tail is tried again.
const RETRY_TAIL: Duration = Duration::from_secs(600);

/// The Logs client. Against a loopback endpoint (moto, LocalStack) StartLiveTail's `stream-`
/// host prefix names a host that does not resolve, so it is stripped there; real AWS keeps it.
pub fn client(config: &SdkConfig, loopback: bool) -> Client {
    if !loopback {
        return Client::new(config);
    }
    let conf = aws_sdk_cloudwatchlogs::config::Builder::from(config)
        .interceptor(StripStreamPrefix)
        .build();
    Client::from_conf(conf)
}

/// Rewrites `://stream-HOST` to `://HOST` before the request is signed (so the signature
/// covers the host actually dialled).
#[derive(Debug)]
struct StripStreamPrefix;

impl aws_sdk_cloudwatchlogs::config::Intercept for StripStreamPrefix {
    fn name(&self) -> &'static str {
        "StripStreamPrefix"
    }

    fn modify_before_signing(
        &self,
        context: &mut aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextMut<'_>,
        _components: &aws_smithy_runtime_api::client::runtime_components::RuntimeComponents,
        _cfg: &mut aws_smithy_types::config_bag::ConfigBag,
    ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
        let request = context.request_mut();
        if request.uri().contains("://stream-") {
            let uri = request.uri().replacen("://stream-", "://", 1);
            request.set_uri(uri)?;
        }
        Ok(())
    }
}

/// One group's read position and the events already sent inside the overlap window.
#[derive(Debug, Default)]
pub struct GroupCursor {
    newest_ms: Option<i64>,
    /// Up to when a Live Tail stream was known complete for this group (after its backfill).
    covered_ms: Option<i64>,
    seen: HashSet<u64>,
    order: VecDeque<(i64, u64)>,
}

impl GroupCursor {
    /// Where the next read starts.
    pub fn start_ms(&self, session_start: DateTime<Utc>) -> i64 {
        let backfill = (session_start - BACKFILL).timestamp_millis();
        let overlap = OVERLAP.num_milliseconds();
        [self.newest_ms, self.covered_ms]
            .into_iter()
            .flatten()
            .map(|ms| ms - overlap)
            .fold(backfill, i64::max)
    }

    /// True when the event is new; remembers it. `key` is [`event_key`].
    pub fn admit(&mut self, key: u64, timestamp_ms: i64) -> bool {
        if !self.seen.insert(key) {
            return false;
        }
        self.order.push_back((timestamp_ms, key));
        self.newest_ms = Some(self.newest_ms.map_or(timestamp_ms, |n| n.max(timestamp_ms)));
        // Forget what the next read cannot return again, and never hold more than the cap.
        let horizon = self.newest_ms.unwrap_or(timestamp_ms) - OVERLAP.num_milliseconds() - 1000;
        while let Some(&(ts, old)) = self.order.front() {
            if ts >= horizon && self.order.len() <= SEEN_CAP {
                break;
            }
            self.seen.remove(&old);
            self.order.pop_front();
        }
        true
    }

    /// A Live Tail stream delivered everything for this group up to `ms`.
    fn covered(&mut self, ms: i64) {
        self.covered_ms = Some(self.covered_ms.map_or(ms, |c| c.max(ms)));
    }

    pub fn remembered(&self) -> usize {
        self.seen.len()
    }
}

/// What identifies a log event on both paths: Live Tail gives no event id, so the stream,
/// time and message do. (Two identical lines in one stream in the same millisecond show once.)
pub fn event_key(stream: &str, timestamp_ms: i64, message: &str) -> u64 {
    // SipHash with fixed keys: the same key for the same line on every read.
    let mut hasher = std::hash::DefaultHasher::new();
    (stream, timestamp_ms, message).hash(&mut hasher);
    hasher.finish()
}

/// The groups split into Live Tail sessions of at most [`GROUPS_PER_SESSION`].
pub fn sessions_of<T: Clone>(groups: &[T]) -> Vec<Vec<T>> {
    groups
        .chunks(GROUPS_PER_SESSION)
        .map(<[T]>::to_vec)
        .collect()
}

/// How long to wait before opening the sessions again, `age` after the last open: the pace
/// (`pace`, the source's backoff from [`REOPEN_MIN`]) counts from that open, so a stream that
/// ran for hours re-opens at once and one that closed at once waits out the rest.
pub fn reopen_wait(age: Duration, pace: Duration) -> Duration {
    pace.max(REOPEN_MIN).saturating_sub(age)
}

/// The group a Live Tail event names: its ARN (maybe with `:*`) maps back to the name.
fn group_of(identifier: &str, arns: &BTreeMap<String, String>) -> String {
    let arn = identifier.strip_suffix(":*").unwrap_or(identifier);
    if let Some((group, _)) = arns.iter().find(|(_, a)| a.as_str() == arn) {
        return group.clone();
    }
    match arn.split_once(":log-group:") {
        Some((_, name)) => name.to_string(),
        None => arn.to_string(),
    }
}

/// A failed Live Tail that polling can stand in for (quota, permissions, an endpoint that
/// does not stream), as against one to back off from and try again.
fn polling_stands_in(e: &SourceError) -> bool {
    match e {
        SourceError::AccessDenied(_) | SourceError::Other(_) => true,
        SourceError::Throttled(_)
        | SourceError::Unreachable(_)
        | SourceError::NotFound(_)
        | SourceError::CredentialsExpired { .. }
        | SourceError::NoCredentials { .. }
        | SourceError::ProfileNotDefined { .. }
        | SourceError::NoRegion { .. } => false,
    }
}

/// What a stream reader hands the source.
enum Frame {
    Start,
    Update(LiveTailSessionUpdate),
    /// The stream ended (AWS's 3-hour end, a peer that closes it after one update).
    End,
    /// The stream failed; `in_session` for AWS's own error inside a session that worked
    /// (SessionStreamingException): open it again, never fall back for it.
    Failed {
        error: SourceError,
        in_session: bool,
    },
}

/// One open Live Tail session.
struct Session {
    groups: Vec<String>,
    started: bool,
    last_frame: Instant,
    last_frame_at: DateTime<Utc>,
}

/// The open sessions and their readers, one task per stream, all sending into one bounded
/// channel. Dropped, it ends the readers and so closes the streams.
struct Streams {
    /// When the first session was opened: all are re-opened `max_age` after.
    opened: Instant,
    /// [`SESSION_MAX`] and [`IDLE`] (shorter in tests).
    max_age: Duration,
    idle: Duration,
    tx: mpsc::Sender<(usize, Frame)>,
    rx: mpsc::Receiver<(usize, Frame)>,
    readers: JoinSet<()>,
    sessions: Vec<Session>,
}

impl Streams {
    fn new() -> Self {
        // A few seconds of updates: a reader waits while the source sends what it read.
        let (tx, rx) = mpsc::channel(16);
        Streams {
            opened: Instant::now(),
            max_age: SESSION_MAX,
            idle: IDLE,
            tx,
            rx,
            readers: JoinSet::new(),
            sessions: Vec::new(),
        }
    }
}

/// How a round of tailing ended.
enum Tailed {
    /// The sessions ended (a stream closed, fell silent or hit its age, or new groups are to
    /// be tailed): open them again. With the error that closed one, if any.
    Ended(Option<SourceError>),
    /// No discovered group exists yet.
    NoGroups,
    /// Live Tail is refused: poll instead for a while.
    Refused(SourceError),
}

pub struct LogsSource {
    client: Client,
    profile: crate::model::Profile,
    discovery: Discovery,
    started: DateTime<Utc>,
    groups: BTreeMap<String, GroupCursor>,
    /// Group name → ARN (Live Tail takes ARNs), for groups that exist.
    arns: BTreeMap<String, String>,
    /// While Live Tail is refused: poll until then.
    polling_until: Option<Instant>,
    /// Live Tail is open (for the log: a switch between tailing and polling is said once).
    tailing: bool,
    /// The last update was sampled (said once per flood).
    sampled: bool,
}

impl LogsSource {
    pub fn new(clients: &Clients, discovery: Discovery, started: DateTime<Utc>) -> Self {
        LogsSource {
            client: clients.logs.clone(),
            profile: clients.profile.clone(),
            discovery,
            started,
            groups: BTreeMap::new(),
            arns: BTreeMap::new(),
            polling_until: None,
            tailing: false,
            sampled: false,
        }
    }

    pub async fn run(mut self, mut ctx: SourceCtx) -> Result<(), Closed> {
        loop {
            let go_on = if self.polling_until.is_none_or(|t| Instant::now() >= t) {
                self.tail_round(&mut ctx).await?
            } else {
                self.poll_round(&mut ctx).await?
            };
            if !go_on {
                return Ok(());
            }
        }
    }

    /// Tails until the sessions end, then waits for the next open. False when the session
    /// is ending.
    async fn tail_round(&mut self, ctx: &mut SourceCtx) -> Result<bool, Closed> {
        if self.polling_until.take().is_some() {
            tracing::info!("logs: trying Live Tail again");
        }
        let opened = Instant::now();
        let (polled, wait) = match self.tail(ctx).await {
            Ok(Tailed::Ended(error)) => (error.map_or(Ok(()), |e| Err(Polled::Failed(e))), None),
            // None of the groups exists yet: looked for again at the poller's quiet pace
            // (with none discovered, looking costs no call).
            Ok(Tailed::NoGroups) if self.discovery.log_groups().is_empty() => {
                (Ok(()), Some(ctx.pace().of(CADENCE.fast)))
            }
            Ok(Tailed::NoGroups) => (Ok(()), Some(ctx.pace().of(CADENCE.idle))),
            Ok(Tailed::Refused(e)) => {
                tracing::warn!(error = %e, "logs: Live Tail refused; polling FilterLogEvents");
                self.tailing = false;
                self.polling_until = Some(Instant::now() + RETRY_TAIL);
                (Ok(()), Some(Duration::ZERO))
            }
            Err(Polled::Closed) => return Err(Closed),
            Err(failed) => (Err(failed), None),
        };
        ctx.one_round(polled, &self.discovery).await?;
        // A stream that ends at once (moto) is re-opened at the poller's cadence: fast after
        // lines came, slower as the groups stay quiet; never sooner than `REOPEN_MIN`.
        let interval = ctx.cadence(&CADENCE, false).max(ctx.pace().of(REOPEN_MIN));
        let pace = ctx.next_wait(interval);
        let wait = wait.unwrap_or_else(|| reopen_wait(opened.elapsed(), pace));
        Ok(ctx.sleep(wait).await)
    }

    /// One FilterLogEvents poll of every group, then the wait for the next. False when the
    /// session is ending.
    async fn poll_round(&mut self, ctx: &mut SourceCtx) -> Result<bool, Closed> {
        let polled = self.poll(ctx).await;
        // No group known yet: looking again costs no call, and a group the stack names a
        // moment later is read at once instead of a settled interval late.
        let busy = self.discovery.log_groups().is_empty();
        ctx.end_round(polled.map(drop), &self.discovery, &CADENCE, busy)
            .await
    }

    /// One read of every group; returns how many new lines it found.
    pub(crate) async fn poll(&mut self, ctx: &mut SourceCtx) -> Result<usize, Polled> {
        let mut found = 0;
        for group in self.discovery.log_groups() {
            match self.read_group(ctx, &group, PAGES_PER_POLL).await {
                Ok((n, _)) => found += n,
                // A group named by a task definition may not exist until its first task logs.
                Err(Polled::Failed(SourceError::NotFound(_))) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(found)
    }

    /// Reads one group with FilterLogEvents from its cursor to now, at most `pages` pages, and
    /// sends what is new. Returns how many lines were new and whether the read reached now.
    async fn read_group(
        &mut self,
        ctx: &mut SourceCtx,
        group: &str,
        pages: usize,
    ) -> Result<(usize, bool), Polled> {
        let cursor = self.groups.entry(group.to_string()).or_default();
        let start = cursor.start_ms(self.started);
        let mut token: Option<String> = None;
        let mut fresh = Vec::new();
        let mut found = 0;
        let mut outcome = Ok(false);
        for _ in 0..pages {
            ctx.call().await?;
            let page = self
                .client
                .filter_log_events()
                .log_group_name(group)
                .start_time(start)
                .set_next_token(token.take())
                .send()
                .await;
            let page = match page {
                Ok(page) => page,
                Err(e) => {
                    outcome = Err(Polled::from_sdk(&e, &self.profile));
                    break;
                }
            };
            let cursor = self.groups.entry(group.to_string()).or_default();
            for e in page.events() {
                let (stream, message) = (
                    e.log_stream_name().unwrap_or_default(),
                    e.message().unwrap_or_default(),
                );
                let timestamp = e.timestamp().unwrap_or_default();
                if cursor.admit(event_key(stream, timestamp, message), timestamp) {
                    fresh.push(log_event(group, stream, timestamp, message, e.event_id()));
                }
            }
            // Sent page by page: the cursor has admitted them (a later page failing must not
            // lose them), and at most one page is held.
            found += fresh.len();
            for event in fresh.drain(..) {
                ctx.send(event).await?;
            }
            match page.next_token() {
                Some(next) => token = Some(next.to_string()),
                None => {
                    outcome = Ok(true);
                    break;
                }
            }
        }
        outcome.map(|complete| (found, complete))
    }

    /// Finds the ARN of each discovered group not yet known (Live Tail takes ARNs, and a group
    /// that does not exist yet would fail its whole session). True when one was found.
    async fn resolve(&mut self, ctx: &mut SourceCtx) -> Result<bool, Polled> {
        let mut found = self.resolve_by_prefix(ctx).await?;
        for group in self.discovery.log_groups() {
            if self.arns.contains_key(&group) {
                continue;
            }
            ctx.call().await?;
            // Names sort first among those they prefix: one result is enough.
            let answer = self
                .client
                .describe_log_groups()
                .log_group_name_prefix(&group)
                .limit(1)
                .send()
                .await;
            let answer = match answer {
                Ok(answer) => answer,
                Err(e) => match error::classify(&e, &self.profile) {
                    SourceError::NotFound(_) => continue,
                    other => return Err(Polled::Failed(other)),
                },
            };
            let arn = answer
                .log_groups()
                .iter()
                .find(|g| g.log_group_name() == Some(group.as_str()))
                .and_then(|g| g.log_group_arn());
            if let Some(arn) = arn {
                self.arns.insert(group, arn.to_string());
                found = true;
            }
        }
        Ok(found)
    }

    /// Looks up many groups at once when their names share a prefix (a cluster's services'
    /// `/ecs/big/svc-01` … `svc-22`): a page or two instead of one call per group. What it
    /// does not find is looked up one by one.
    async fn resolve_by_prefix(&mut self, ctx: &mut SourceCtx) -> Result<bool, Polled> {
        let wanted: Vec<String> = self
            .discovery
            .log_groups()
            .into_iter()
            .filter(|g| !self.arns.contains_key(g))
            .collect();
        let prefix = common_prefix(&wanted);
        if wanted.len() < 2 || prefix.len() < 2 {
            return Ok(false);
        }
        let mut found = false;
        let mut token = None;
        for _ in 0..PREFIX_PAGES {
            ctx.call().await?;
            let answer = self
                .client
                .describe_log_groups()
                .log_group_name_prefix(prefix)
                .set_next_token(token.take())
                .send()
                .await;
            let answer = match answer {
                Ok(answer) => answer,
                Err(e) => match error::classify(&e, &self.profile) {
                    SourceError::NotFound(_) => break,
                    other => return Err(Polled::Failed(other)),
                },
            };
            for g in answer.log_groups() {
                if let (Some(name), Some(arn)) = (g.log_group_name(), g.log_group_arn())
                    && wanted.iter().any(|w| w == name)
                {
                    self.arns.insert(name.to_string(), arn.to_string());
                    found = true;
                }
            }
            match answer.next_token() {
                Some(next) if wanted.iter().any(|w| !self.arns.contains_key(w)) => {
                    token = Some(next.to_string());
                }
                _ => break,
            }
        }
        Ok(found)
    }

    /// One round of Live Tail: open the sessions, backfill each group up to the moment its
    /// stream opened, then read the streams until one ends, falls silent or ages out.
    async fn tail(&mut self, ctx: &mut SourceCtx) -> Result<Tailed, Polled> {
        match self.resolve(ctx).await {
            // Without DescribeLogGroups there are no ARNs to tail; polling needs none.
            Err(Polled::Failed(e)) if polling_stands_in(&e) => return Ok(Tailed::Refused(e)),
            resolved => resolved?,
        };
        let groups: Vec<String> = self
            .discovery
            .log_groups()
            .into_iter()
            .filter(|g| self.arns.contains_key(g))
            .collect();
        if groups.is_empty() {
            return Ok(Tailed::NoGroups);
        }
        // Open every stream first, then backfill: what lands meanwhile is read twice, and the
        // cursor admits it once.
        let mut streams = Streams::new();
        for chunk in sessions_of(&groups) {
            if let Some(refused) = self.open(ctx, chunk, &mut streams).await? {
                return Ok(Tailed::Refused(refused));
            }
        }
        if !std::mem::replace(&mut self.tailing, true) {
            tracing::info!(groups = groups.len(), "logs: tailing with Live Tail");
        }
        let opened_at = Utc::now();
        for group in &groups {
            self.backfill(ctx, group, opened_at).await?;
        }
        ctx.one_round(Ok(()), &self.discovery).await?;
        let tailed = self.read(ctx, &mut streams, &groups).await?;
        // Everything up to each stream's last frame was delivered: the next backfill need not
        // go back further than that.
        for session in &streams.sessions {
            let ms = session.last_frame_at.timestamp_millis();
            for group in &session.groups {
                self.groups.entry(group.clone()).or_default().covered(ms);
            }
        }
        Ok(tailed)
    }

    /// Opens one session and starts its reader. Some(error) when Live Tail is refused.
    async fn open(
        &mut self,
        ctx: &mut SourceCtx,
        groups: Vec<String>,
        streams: &mut Streams,
    ) -> Result<Option<SourceError>, Polled> {
        let arns: Vec<String> = groups
            .iter()
            .filter_map(|g| self.arns.get(g).cloned())
            .collect();
        ctx.call().await?;
        let open = self
            .client
            .start_live_tail()
            .set_log_group_identifiers(Some(arns))
            .send();
        let Ok(opened) = tokio::time::timeout(OPEN_TIMEOUT, open).await else {
            return Err(Polled::Failed(SourceError::Unreachable(
                "StartLiveTail timed out".to_string(),
            )));
        };
        let mut stream = match opened {
            Ok(out) => out.response_stream,
            Err(e) => {
                return match error::classify(&e, &self.profile) {
                    // A group deleted since its ARN was found: look them up again.
                    e @ SourceError::NotFound(_) => {
                        self.arns.clear();
                        Err(Polled::Failed(e))
                    }
                    e if polling_stands_in(&e) => Ok(Some(e)),
                    e => Err(Polled::Failed(e)),
                };
            }
        };
        let (tx, index, profile) = (
            streams.tx.clone(),
            streams.sessions.len(),
            self.profile.clone(),
        );
        streams.readers.spawn(async move {
            loop {
                let frame = match stream.recv().await {
                    Ok(Some(StartLiveTailResponseStream::SessionStart(_))) => Frame::Start,
                    Ok(Some(StartLiveTailResponseStream::SessionUpdate(u))) => Frame::Update(u),
                    Ok(Some(_)) => continue,
                    Ok(None) => Frame::End,
                    // AWS ends every session after 3 hours this way.
                    Err(e)
                        if e.as_service_error()
                            .is_some_and(|s| s.is_session_timeout_exception()) =>
                    {
                        Frame::End
                    }
                    Err(e) => Frame::Failed {
                        in_session: e
                            .as_service_error()
                            .is_some_and(|s| s.is_session_streaming_exception()),
                        error: error::classify(&e, &profile),
                    },
                };
                let last = matches!(frame, Frame::End | Frame::Failed { .. });
                if tx.send((index, frame)).await.is_err() || last {
                    break;
                }
            }
        });
        streams.sessions.push(Session {
            groups,
            started: false,
            last_frame: Instant::now(),
            last_frame_at: Utc::now(),
        });
        Ok(None)
    }

    /// Reads the open streams until one ends, fails or falls silent, the sessions reach
    /// `max_age` ([`SESSION_MAX`]), or a group discovered meanwhile exists and needs a session.
    async fn read(
        &mut self,
        ctx: &mut SourceCtx,
        streams: &mut Streams,
        tailing: &[String],
    ) -> Result<Tailed, Polled> {
        let opened = streams.opened;
        let mut next_check = Instant::now() + GROUP_CHECK;
        loop {
            let idle_at = streams
                .sessions
                .iter()
                .map(|s| s.last_frame + streams.idle)
                .min()
                .unwrap_or(opened);
            let wake = idle_at.min(opened + streams.max_age).min(next_check);
            let frame = tokio::select! {
                frame = streams.rx.recv() => frame,
                alive = ctx.sleep(wake.saturating_duration_since(Instant::now())) => {
                    if !alive {
                        return Err(Polled::Closed);
                    }
                    let now = Instant::now();
                    if now >= opened + streams.max_age {
                        return Ok(Tailed::Ended(None));
                    }
                    if now >= idle_at {
                        let silent = format!("Live Tail sent nothing for {:?}", streams.idle);
                        return Ok(Tailed::Ended(Some(SourceError::Unreachable(silent))));
                    }
                    next_check = now + GROUP_CHECK;
                    let discovered = self.discovery.log_groups();
                    if discovered.iter().all(|g| tailing.contains(g)) {
                        continue;
                    }
                    match self.resolve(ctx).await {
                        Ok(true) => return Ok(Tailed::Ended(None)),
                        Ok(false) => {}
                        Err(Polled::Closed) => return Err(Polled::Closed),
                        // The streams are fine: looked for again at the next check.
                        Err(Polled::Failed(e)) => tracing::warn!(error = %e, "logs: new groups"),
                    }
                    continue;
                }
            };
            let Some((index, frame)) = frame else {
                return Ok(Tailed::Ended(None));
            };
            let Some(session) = streams.sessions.get_mut(index) else {
                continue;
            };
            session.last_frame = Instant::now();
            session.last_frame_at = Utc::now();
            match frame {
                Frame::Start => session.started = true,
                Frame::Update(update) => {
                    self.admit_update(ctx, &update).await?;
                    ctx.one_round(Ok(()), &self.discovery).await?;
                }
                Frame::End => return Ok(Tailed::Ended(None)),
                // Refused before the session started: this endpoint does not stream.
                Frame::Failed { error, in_session }
                    if !session.started && !in_session && polling_stands_in(&error) =>
                {
                    return Ok(Tailed::Refused(error));
                }
                Frame::Failed { error, .. } => return Ok(Tailed::Ended(Some(error))),
            }
        }
    }

    /// Reads one group from its cursor up to now with FilterLogEvents. A read that failed for
    /// good (the group deleted, access denied) or that had more lines than a backfill reads
    /// leaves a gap, which is sent; a passing fault fails the round.
    async fn backfill(
        &mut self,
        ctx: &mut SourceCtx,
        group: &str,
        until: DateTime<Utc>,
    ) -> Result<(), Polled> {
        let from = self.groups.get(group).map_or_else(
            || (self.started - BACKFILL).timestamp_millis(),
            |c| c.start_ms(self.started),
        );
        let reason = match self.read_group(ctx, group, BACKFILL_PAGES).await {
            Ok((_, true)) => return Ok(()),
            Ok((_, false)) => "more lines than one backfill reads".to_string(),
            Err(Polled::Failed(e @ SourceError::NotFound(_))) => {
                // A deleted group is not tailed again unless it comes back.
                self.arns.remove(group);
                e.to_string()
            }
            Err(Polled::Failed(e @ SourceError::AccessDenied(_))) => e.to_string(),
            Err(e) => return Err(e),
        };
        // From the last line seen or the last gap's end, whichever is later.
        let cursor = self.groups.entry(group.to_string()).or_default();
        let from = [cursor.newest_ms, cursor.covered_ms]
            .into_iter()
            .flatten()
            .fold(from, i64::max);
        cursor.covered(until.timestamp_millis());
        ctx.send(LogGap {
            group: group.to_string(),
            from: DateTime::from_timestamp_millis(from).unwrap_or_default(),
            to: until,
            reason,
        })
        .await?;
        Ok(())
    }

    /// Sends the new lines of one Live Tail update.
    async fn admit_update(
        &mut self,
        ctx: &mut SourceCtx,
        update: &LiveTailSessionUpdate,
    ) -> Result<(), Closed> {
        let sampled = update.session_metadata().is_some_and(|m| m.sampled());
        if sampled && !self.sampled {
            tracing::warn!(
                "logs: Live Tail is sampling (over 500 lines a second): lines are skipped"
            );
        }
        self.sampled = sampled;
        for e in update.session_results() {
            let group = group_of(e.log_group_identifier().unwrap_or_default(), &self.arns);
            let (stream, message) = (
                e.log_stream_name().unwrap_or_default(),
                e.message().unwrap_or_default(),
            );
            let timestamp = e.timestamp().unwrap_or_default();
            let cursor = self.groups.entry(group.clone()).or_default();
            // Older than any read starts: its key may be forgotten, so it could repeat (moto
            // sends the group's whole history on every open). A poll leaves it out too.
            if timestamp < cursor.start_ms(self.started) {
                continue;
            }
            if cursor.admit(event_key(stream, timestamp, message), timestamp) {
                ctx.send(log_event(&group, stream, timestamp, message, None))
                    .await?;
            }
        }
        Ok(())
    }
}

fn log_event(
    group: &str,
    stream: &str,
    timestamp_ms: i64,
    message: &str,
    event_id: Option<&str>,
) -> LogEvent {
    LogEvent {
        group: group.to_string(),
        stream: stream.to_string(),
        timestamp: DateTime::from_timestamp_millis(timestamp_ms).unwrap_or_default(),
        message: message.trim_end().to_string(),
        event_id: event_id.map(str::to_string),
    }
}

/// The longest prefix all `names` share (on a char boundary).
fn common_prefix(names: &[String]) -> &str {
    let Some(first) = names.first() else {
        return "";
    };
    let mut end = first.len();
    for name in &names[1..] {
        end = first
            .char_indices()
            .zip(name.chars())
            .take_while(|((_, a), b)| a == b)
            .last()
            .map_or(0, |((i, a), _)| i + a.len_utf8())
            .min(end);
    }
    &first[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_sharing_a_prefix_are_looked_up_together() {
        let names = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            common_prefix(&names(&[
                "/ecs/big/svc-01",
                "/ecs/big/svc-22",
                "/ecs/big/svc-3"
            ])),
            "/ecs/big/svc-"
        );
        assert_eq!(common_prefix(&names(&["/ecs/app", "/shop/audit"])), "/");
        assert_eq!(common_prefix(&names(&["é1", "é2"])), "é");
        assert_eq!(common_prefix(&names(&["/a", "/a"])), "/a");
        assert_eq!(common_prefix(&[]), "");
    }
    use crate::model::{Observation, ObservationKind};
    use aws_sdk_cloudwatchlogs::types::LiveTailSessionLogEvent;
    use tokio_util::sync::CancellationToken;

    const ARN: &str = "arn:aws:logs:us-east-1:123456789012:log-group:/ecs/app";

    /// A source that makes no call, its context, and what it sends.
    fn source(started: DateTime<Utc>) -> (LogsSource, SourceCtx, mpsc::Receiver<Observation>) {
        let config = aws_sdk_cloudwatchlogs::Config::builder()
            .behavior_version(aws_sdk_cloudwatchlogs::config::BehaviorVersion::latest())
            .region(aws_sdk_cloudwatchlogs::config::Region::new("us-east-1"))
            .build();
        let source = LogsSource {
            client: Client::from_conf(config),
            profile: crate::model::Profile {
                name: "test".into(),
                login: crate::model::Login::Keys,
            },
            discovery: Discovery::default(),
            started,
            groups: BTreeMap::new(),
            arns: BTreeMap::from([("/ecs/app".to_string(), ARN.to_string())]),
            polling_until: None,
            tailing: false,
            sampled: false,
        };
        let (tx, rx) = mpsc::channel(100);
        (
            source,
            SourceCtx::new(
                "logs",
                super::super::budget::Api::Logs,
                super::super::budget::Budget::unlimited(),
                tx,
                CancellationToken::new(),
            ),
            rx,
        )
    }

    fn update(lines: &[(i64, &str)]) -> LiveTailSessionUpdate {
        let mut update = LiveTailSessionUpdate::builder();
        for (ms, message) in lines {
            update = update.session_results(
                LiveTailSessionLogEvent::builder()
                    .log_group_identifier(ARN)
                    .log_stream_name("web/1")
                    .timestamp(*ms)
                    .message(*message)
                    .build(),
            );
        }
        update.build()
    }

    /// Streams with one session of `/ecs/app` and no reader (the test sends the frames), with
    /// a short idle limit and age.
    fn one_session() -> Streams {
        let mut streams = Streams::new();
        streams.idle = Duration::from_secs(1);
        streams.max_age = Duration::from_secs(3);
        streams.sessions.push(Session {
            groups: vec!["/ecs/app".into()],
            started: false,
            last_frame: Instant::now(),
            last_frame_at: Utc::now(),
        });
        streams
    }

    #[tokio::test]
    async fn a_silent_stream_is_dropped_and_a_live_one_re_opened_at_its_age() {
        let started = DateTime::<Utc>::from_timestamp(1_800_000_000, 0).unwrap();
        let (mut source, mut ctx, _rx) = source(started);
        let tailing = ["/ecs/app".to_string()];

        // Nothing at all, not even a heartbeat: dead after IDLE.
        let mut streams = one_session();
        let tailed = source.read(&mut ctx, &mut streams, &tailing).await;
        assert!(
            matches!(tailed, Ok(Tailed::Ended(Some(SourceError::Unreachable(_))))),
            "dropped as silent"
        );
        let silent = streams.opened.elapsed();
        assert!(
            silent >= streams.idle && silent < streams.max_age,
            "{silent:?}"
        );

        // A heartbeat, an empty update every 50 ms (AWS: every second): read until the
        // sessions' age, then re-opened.
        let mut streams = one_session();
        let tx = streams.tx.clone();
        tokio::spawn(async move {
            while tx.send((0, Frame::Update(update(&[])))).await.is_ok() {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        });
        let tailed = source.read(&mut ctx, &mut streams, &tailing).await;
        assert!(matches!(tailed, Ok(Tailed::Ended(None))), "re-opened");
        let age = streams.opened.elapsed();
        assert!(age >= streams.max_age, "{age:?}");
        // Re-opened before AWS's end.
        assert!(SESSION_MAX < Duration::from_secs(3 * 3600));
    }

    #[tokio::test]
    async fn a_stream_refused_before_it_starts_falls_back_and_one_failing_later_re_opens() {
        let started = DateTime::<Utc>::from_timestamp(1_800_000_000, 0).unwrap();
        let (mut source, mut ctx, _rx) = source(started);
        let tailing = ["/ecs/app".to_string()];
        let denied = || Frame::Failed {
            error: SourceError::AccessDenied("no".into()),
            in_session: false,
        };
        let mut streams = one_session();
        streams.tx.send((0, denied())).await.unwrap();
        let tailed = source.read(&mut ctx, &mut streams, &tailing).await;
        assert!(matches!(tailed, Ok(Tailed::Refused(_))));

        let mut streams = one_session();
        streams.tx.send((0, Frame::Start)).await.unwrap();
        streams.tx.send((0, denied())).await.unwrap();
        let tailed = source.read(&mut ctx, &mut streams, &tailing).await;
        assert!(matches!(tailed, Ok(Tailed::Ended(Some(_)))));

        // AWS's own streaming error, even first: open again, never poll for it.
        let mut streams = one_session();
        let failed = Frame::Failed {
            error: SourceError::Other("SessionStreamingException: oops".into()),
            in_session: true,
        };
        streams.tx.send((0, failed)).await.unwrap();
        let tailed = source.read(&mut ctx, &mut streams, &tailing).await;
        assert!(matches!(tailed, Ok(Tailed::Ended(Some(_)))));
    }

    #[tokio::test]
    async fn a_stream_that_resends_its_history_shows_each_line_once() {
        let started = DateTime::<Utc>::from_timestamp(1_800_000_000, 0).unwrap();
        let (mut source, mut ctx, mut rx) = source(started);
        let t = started.timestamp_millis();
        // moto sends the group's whole history on every open, older than any read included.
        let history = update(&[(t - 600_000, "ancient"), (t + 1_000, "a"), (t + 2_000, "b")]);
        source.admit_update(&mut ctx, &history).await.unwrap();
        source.admit_update(&mut ctx, &history).await.unwrap();
        let more = update(&[(t + 2_000, "b"), (t + 3_000, "c")]);
        source.admit_update(&mut ctx, &more).await.unwrap();
        drop(ctx);
        let mut sent = Vec::new();
        while let Some(obs) = rx.recv().await {
            let ObservationKind::LogEvent(e) = obs.kind else {
                panic!("{obs:?}")
            };
            assert_eq!((e.group.as_str(), e.event_id), ("/ecs/app", None));
            sent.push(e.message);
        }
        assert_eq!(sent, ["a", "b", "c"]);
    }

    #[test]
    fn overlapping_reads_admit_each_event_once_and_forget_old_keys() {
        let start = DateTime::<Utc>::from_timestamp(1_800_000_000, 0).unwrap();
        let mut cursor = GroupCursor::default();
        assert_eq!(
            cursor.start_ms(start),
            (start - BACKFILL).timestamp_millis(),
            "the first read backfills"
        );
        let base = start.timestamp_millis();
        // Three overlapping reads of a stream of one event a second for ten minutes.
        let mut admitted = 0;
        for read in 0..3 {
            for s in 0..600 {
                let ts = base + s * 1000;
                if ts < cursor.start_ms(start) && read > 0 {
                    continue;
                }
                if cursor.admit(event_key("web/1", ts, &format!("line {s}")), ts) {
                    admitted += 1;
                }
            }
        }
        assert_eq!(admitted, 600, "each event once");
        assert!(
            cursor.remembered() <= 125,
            "only the overlap window is remembered: {}",
            cursor.remembered()
        );
        assert_eq!(
            cursor.start_ms(start),
            base + 599_000 - OVERLAP.num_milliseconds()
        );
    }

    #[test]
    fn the_key_window_is_bounded_by_the_cap_even_inside_the_overlap() {
        // A flood: more lines inside the overlap window than the cap.
        let mut cursor = GroupCursor::default();
        let base = 1_800_000_000_000;
        for i in 0..(SEEN_CAP as i64 + 5_000) {
            let ts = base + i / 100;
            assert!(cursor.admit(event_key("s", ts, &i.to_string()), ts));
        }
        assert_eq!(cursor.remembered(), SEEN_CAP);
        assert_eq!(cursor.order.len(), SEEN_CAP);
        // The newest are the ones kept.
        let last = SEEN_CAP as i64 + 4_999;
        let ts = base + last / 100;
        assert!(!cursor.admit(event_key("s", ts, &last.to_string()), ts));
    }

    #[test]
    fn a_live_line_and_its_backfilled_copy_share_a_key() {
        let mut cursor = GroupCursor::default();
        assert!(cursor.admit(event_key("web/1", 5, "boot"), 5));
        assert!(!cursor.admit(event_key("web/1", 5, "boot"), 5), "same line");
        assert!(
            cursor.admit(event_key("web/2", 5, "boot"), 5),
            "other stream"
        );
        assert!(cursor.admit(event_key("web/1", 6, "boot"), 6), "other time");
    }

    #[test]
    fn a_tailed_stretch_moves_the_next_backfill_forward() {
        let start = DateTime::<Utc>::from_timestamp(1_800_000_000, 0).unwrap();
        let mut cursor = GroupCursor::default();
        cursor.admit(1, start.timestamp_millis());
        let later = start.timestamp_millis() + 3_600_000;
        cursor.covered(later);
        assert_eq!(cursor.start_ms(start), later - OVERLAP.num_milliseconds());
        // Never backwards.
        cursor.covered(later - 10);
        assert_eq!(cursor.start_ms(start), later - OVERLAP.num_milliseconds());
    }

    #[test]
    fn groups_are_split_into_sessions_of_at_most_ten() {
        assert!(sessions_of::<u32>(&[]).is_empty());
        let groups: Vec<u32> = (0..25).collect();
        let sessions = sessions_of(&groups);
        assert_eq!(
            sessions.iter().map(Vec::len).collect::<Vec<_>>(),
            [10, 10, 5]
        );
        assert_eq!(sessions.concat(), groups, "each group once, in order");
        assert_eq!(sessions_of(&groups[..10]).len(), 1);
    }

    #[test]
    fn re_opens_wait_out_the_pace_from_the_last_open() {
        let s = Duration::from_secs;
        // moto closes at once: wait the rest of the minimum.
        assert_eq!(
            reopen_wait(Duration::from_millis(200), REOPEN_MIN),
            s(5) - Duration::from_millis(200)
        );
        // A stream that ran for hours re-opens at once.
        assert_eq!(reopen_wait(SESSION_MAX, REOPEN_MIN), Duration::ZERO);
        // After failures the source's backoff sets the pace, never below the minimum.
        assert_eq!(reopen_wait(s(1), s(40)), s(39));
        assert_eq!(reopen_wait(Duration::ZERO, s(1)), REOPEN_MIN);
        // Re-opened before AWS's 3-hour end.
        assert!(SESSION_MAX < s(3 * 3600) && SESSION_MAX >= s(2 * 3600 + 30 * 60));
    }

    #[test]
    fn live_tail_events_map_back_to_their_group() {
        let mut arns = BTreeMap::new();
        arns.insert(
            "/ecs/app".to_string(),
            "arn:aws:logs:us-east-1:123456789012:log-group:/ecs/app".to_string(),
        );
        let arn = "arn:aws:logs:us-east-1:123456789012:log-group:/ecs/app";
        assert_eq!(group_of(arn, &arns), "/ecs/app");
        assert_eq!(group_of(&format!("{arn}:*"), &arns), "/ecs/app");
        assert_eq!(
            group_of("arn:aws:logs:eu-west-1:1:log-group:/other", &arns),
            "/other"
        );
        assert_eq!(group_of("/plain", &arns), "/plain");
    }

    #[test]
    fn only_refusals_polling_can_stand_in_for_fall_back() {
        assert!(polling_stands_in(&SourceError::AccessDenied("no".into())));
        assert!(polling_stands_in(&SourceError::Other(
            "LimitExceededException: too many sessions".into()
        )));
        assert!(!polling_stands_in(&SourceError::Throttled("slow".into())));
        assert!(!polling_stands_in(&SourceError::Unreachable("down".into())));
    }
}
