//! The CloudWatch Logs source: FilterLogEvents polling for every discovered group, with a
//! backfill of the last few minutes on start and an overlap window on every read, so events
//! that land late are not lost; de-duplicated by event id. (Live Tail joins beside polling in
//! the next step: it feeds the same `LogEvent`s, and this poller backfills its gaps.)

use std::collections::{HashMap, HashSet, VecDeque};
use std::time::Duration;

use aws_config::SdkConfig;
use aws_sdk_cloudwatchlogs::Client;
use chrono::{DateTime, TimeDelta, Utc};

use super::discovery::Discovery;
use super::source::{Cadence, Closed, Polled, SourceCtx};
use super::{Clients, SourceError, error};
use crate::model::LogEvent;

/// Poll pace while lines flow; quiet groups are read less and less often, up to `QUIET`.
/// Poll pace: fast while lines come, easing off as a group stays quiet.
pub const CADENCE: Cadence = Cadence {
    fast: Duration::from_secs(5),
    settled: Duration::from_secs(15),
    idle: Duration::from_secs(30),
};
/// On start, this much history is read (the crash that brought the user here).
const BACKFILL: TimeDelta = TimeDelta::minutes(5);
/// Every read starts this far before the newest event seen: CloudWatch ingests late.
const OVERLAP: TimeDelta = TimeDelta::minutes(2);
/// Pages per group per poll: a flood is read over several polls instead of stalling the rest.
const PAGES_PER_POLL: usize = 5;
/// Most event ids remembered per group (those inside the overlap window are needed).
const SEEN_CAP: usize = 50_000;

pub fn client(config: &SdkConfig, _loopback: bool) -> Client {
    Client::new(config)
}

/// One group's read position and the ids already sent inside the overlap window.
#[derive(Debug, Default)]
pub struct GroupCursor {
    newest_ms: Option<i64>,
    seen: HashSet<String>,
    order: VecDeque<(i64, String)>,
}

impl GroupCursor {
    /// Where the next read starts.
    pub fn start_ms(&self, session_start: DateTime<Utc>) -> i64 {
        let backfill = (session_start - BACKFILL).timestamp_millis();
        match self.newest_ms {
            Some(newest) => (newest - OVERLAP.num_milliseconds()).max(backfill),
            None => backfill,
        }
    }

    /// True when the event is new; remembers it.
    pub fn admit(&mut self, id: &str, timestamp_ms: i64) -> bool {
        if self.seen.contains(id) {
            return false;
        }
        self.seen.insert(id.to_string());
        self.order.push_back((timestamp_ms, id.to_string()));
        self.newest_ms = Some(self.newest_ms.map_or(timestamp_ms, |n| n.max(timestamp_ms)));
        // Forget what the next read cannot return again, and never hold more than the cap.
        let horizon = self.newest_ms.unwrap_or(timestamp_ms) - OVERLAP.num_milliseconds() - 1000;
        while let Some((ts, old)) = self.order.front() {
            if *ts >= horizon && self.order.len() <= SEEN_CAP {
                break;
            }
            self.seen.remove(old);
            self.order.pop_front();
        }
        true
    }

    pub fn remembered(&self) -> usize {
        self.seen.len()
    }
}

pub struct LogsSource {
    client: Client,
    profile: crate::model::Profile,
    discovery: Discovery,
    started: DateTime<Utc>,
    groups: HashMap<String, GroupCursor>,
}

impl LogsSource {
    pub fn new(clients: &Clients, discovery: Discovery, started: DateTime<Utc>) -> Self {
        LogsSource {
            client: clients.logs.clone(),
            profile: clients.profile.clone(),
            discovery,
            started,
            groups: HashMap::new(),
        }
    }

    pub async fn run(mut self, mut ctx: SourceCtx) -> Result<(), Closed> {
        loop {
            let polled = self.poll(&mut ctx).await;
            // No group known yet: looking again costs no call, and a group the stack names a
            // moment later is read at once instead of a settled interval late.
            let busy = self.discovery.log_groups().is_empty();
            if !ctx
                .end_round(polled.map(drop), &self.discovery, &CADENCE, busy)
                .await?
            {
                return Ok(());
            }
        }
    }

    /// One read of every group; returns how many new lines it found.
    pub(crate) async fn poll(&mut self, ctx: &mut SourceCtx) -> Result<usize, Polled> {
        let mut found = 0;
        for group in self.discovery.log_groups() {
            let cursor = self.groups.entry(group.clone()).or_default();
            let start = cursor.start_ms(self.started);
            let mut token: Option<String> = None;
            let mut fresh = Vec::new();
            let mut failed = None;
            for _ in 0..PAGES_PER_POLL {
                ctx.call().await?;
                let page = self
                    .client
                    .filter_log_events()
                    .log_group_name(&group)
                    .start_time(start)
                    .set_next_token(token.take())
                    .send()
                    .await;
                let page = match page {
                    Ok(page) => page,
                    // A group named by a task definition may not exist until its first task logs.
                    Err(e) => match error::classify(&e, &self.profile) {
                        SourceError::NotFound(_) => break,
                        other => {
                            failed = Some(other);
                            break;
                        }
                    },
                };
                let cursor = self.groups.entry(group.clone()).or_default();
                for e in page.events() {
                    let timestamp = e.timestamp().unwrap_or_default();
                    let id = match e.event_id() {
                        Some(id) => id.to_string(),
                        None => format!(
                            "{}:{timestamp}:{}",
                            e.log_stream_name().unwrap_or_default(),
                            e.message().unwrap_or_default()
                        ),
                    };
                    if !cursor.admit(&id, timestamp) {
                        continue;
                    }
                    fresh.push(LogEvent {
                        group: group.clone(),
                        stream: e.log_stream_name().unwrap_or_default().to_string(),
                        timestamp: DateTime::from_timestamp_millis(timestamp).unwrap_or_default(),
                        message: e.message().unwrap_or_default().trim_end().to_string(),
                        event_id: e.event_id().map(str::to_string),
                    });
                }
                match page.next_token() {
                    Some(next) => token = Some(next.to_string()),
                    None => break,
                }
            }
            found += fresh.len();
            // The earlier pages' lines are sent even when a later page failed: the cursor has
            // admitted them, and the next read would skip them as already seen.
            for event in fresh {
                ctx.send(event).await?;
            }
            if let Some(e) = failed {
                return Err(Polled::Failed(e));
            }
        }
        Ok(found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlapping_reads_admit_each_event_once_and_forget_old_ids() {
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
                if cursor.admit(&format!("id{s}"), ts) {
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
}
