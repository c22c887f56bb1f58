//! The CloudFormation source: stack status, resources and events of every watched stack and
//! its nested stacks. Events are read incrementally, newest first, paging only until the last
//! event seen; the first read stops at the start of the current operation, so a stack with
//! 10,000 old events costs a page or two. Nested stacks are followed by ARN, so a deleted child
//! is still read. CreationPolicy and WaitCondition timeouts come from the template, so
//! `stall.signal_countdown` knows the real deadline.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_cloudformation::Client;
use chrono::{DateTime, Utc};
use tokio::time::Instant;

use super::Clients;
use super::discovery::{Discovery, service_cluster};
use super::source::{Cadence, Closed, Polled, SourceCtx, utc};
use crate::model::{CfnEvent, CfnResource, CfnStack, SignalPolicy, cfn_status};

/// Poll pace while an operation runs, and once every stack has settled.
/// Poll pace: fast while an operation runs, slow once every stack has settled.
pub const CADENCE: Cadence = Cadence {
    fast: Duration::from_secs(5),
    settled: Duration::from_secs(30),
    idle: Duration::from_secs(60),
};
/// The first read of a stack's events gives up paging back this far.
const FIRST_READ_PAGES: usize = 20;
/// A later read that does not find the last event seen (it aged out) stops here.
const CATCH_UP_PAGES: usize = 50;
const NESTED_STACK: &str = "AWS::CloudFormation::Stack";
/// While an operation runs, new events say when a stack moved; its status is read again when
/// they do, and at least this often in case they do not.
const STATUS_AT_LEAST_EVERY: Duration = Duration::from_secs(30);
/// While events keep coming, the resource list (which the events repeat: status, reason,
/// physical id) is read again at most this often; once the stack settles, at once.
const RESOURCES_AT_MOST_EVERY: Duration = Duration::from_secs(60);

/// What was last reported of a resource: status, physical id, signal policy.
type ResourceSeen = (Option<String>, Option<String>, Option<SignalPolicy>);

/// One watched stack: its path in the tree, its ARN (or name until the ARN is known), and
/// what was last reported of it.
struct Watched {
    path: String,
    id: String,
    cursor: EventCursor,
    status: Option<(String, Option<String>)>,
    /// Resources as last reported, by logical id.
    resources: HashMap<String, ResourceSeen>,
    /// Signal policies from the template, by logical id.
    signals: Option<HashMap<String, SignalPolicy>>,
    /// New events arrived since the resources were last listed.
    resources_stale: bool,
    /// Status and last-updated time when the events were last read: a settled stack whose
    /// DescribeStacks answer has not moved has no new events.
    events_read_at: Option<(String, Option<DateTime<Utc>>)>,
    /// When DescribeStacks was last read, and the resources listed.
    status_read: Option<Instant>,
    resources_read: Option<Instant>,
    /// The last round saw new events or a new status: its settled nested stacks are read.
    moved: bool,
}

impl Watched {
    fn new(path: String, id: String) -> Self {
        Watched {
            path,
            id,
            cursor: EventCursor::default(),
            status: None,
            resources: HashMap::new(),
            signals: None,
            resources_stale: true,
            events_read_at: None,
            status_read: None,
            resources_read: None,
            moved: true,
        }
    }
}

pub struct CfnSource {
    /// A root's events from the row that ended it, sent at the end of the round.
    held: Vec<CfnEvent>,
    client: Client,
    profile: crate::model::Profile,
    discovery: Discovery,
    stacks: Vec<Watched>,
}

impl CfnSource {
    pub fn new(clients: &Clients, discovery: Discovery, stacks: &[String]) -> Self {
        CfnSource {
            held: Vec::new(),
            client: clients.cfn.clone(),
            profile: clients.profile.clone(),
            discovery,
            stacks: stacks
                .iter()
                .map(|s| Watched::new(s.clone(), s.clone()))
                .collect(),
        }
    }

    pub async fn run(mut self, mut ctx: SourceCtx) -> Result<(), Closed> {
        loop {
            let polled = self.poll(&mut ctx).await;
            let busy = self.any_in_progress();
            if !ctx
                .end_round(polled, &self.discovery, &CADENCE, busy)
                .await?
            {
                return Ok(());
            }
        }
    }

    fn any_in_progress(&self) -> bool {
        self.stacks.iter().any(|s| {
            s.status
                .as_ref()
                .is_none_or(|(status, _)| cfn_status::is_in_progress(status))
        })
    }

    /// One read of every stack, for the watch loop.
    pub(crate) async fn poll(&mut self, ctx: &mut SourceCtx) -> Result<(), Polled> {
        // Statuses go out after every event this poll read, the nested stacks' included: a
        // watch that ends on the root's terminal status (`--until complete`) has then shown
        // the events that led there, ROLLBACK_COMPLETE's own row among them.
        let (statuses, read) = self.read_stacks(ctx).await;
        // Held rows go out even after a failure: their cursor has moved past them.
        self.send_held(ctx).await?;
        if let Err(failed) = read {
            // A call failed (throttled, unreachable) after some statuses were read but before
            // every event was: sending those statuses could end the watch on the root's
            // terminal status without the events that led there. Hold them back and forget
            // them, so the next full poll reports them after its events.
            for status in statuses {
                if let Some(watched) = self.stacks.iter_mut().find(|s| s.path == status.stack) {
                    watched.status = None;
                }
            }
            return Err(failed);
        }
        for status in statuses {
            ctx.send(status).await?;
        }
        Ok(())
    }

    /// One look (`stackwatch status`): the statuses read go out even when a later call
    /// failed, since no later poll will report them and what DescribeStacks said still holds.
    pub(crate) async fn poll_once(&mut self, ctx: &mut SourceCtx) -> Result<(), Polled> {
        let (statuses, read) = self.read_stacks(ctx).await;
        self.send_held(ctx).await?;
        for status in statuses {
            ctx.send(status).await?;
        }
        read
    }

    /// Reads every stack in turn, up to the first failure; the statuses that changed.
    async fn read_stacks(&mut self, ctx: &mut SourceCtx) -> (Vec<CfnStack>, Result<(), Polled>) {
        let mut statuses = Vec::new();
        // Nested stacks before their parents (a child is always listed after its parent): a
        // parent finishes after its children, so the events that end the root come after the
        // children's last ones and `--until complete` never ends before them. Stacks found
        // during the round are read from the next one.
        let mut i = self.stacks.len();
        while i > 0 {
            i -= 1;
            if let Err(failed) = self.poll_stack(i, ctx, &mut statuses).await {
                return (statuses, Err(failed));
            }
        }
        // A root ended this round: its nested stacks may have ended after they were read
        // (between two calls of the round). Read those still in progress again, so their last
        // events go out before the row that ends the root.
        if !self.held.is_empty() {
            for i in 0..self.stacks.len() {
                let nested_in_progress = self.stacks[i].path.contains('/')
                    && self.stacks[i]
                        .status
                        .as_ref()
                        .is_some_and(|(s, _)| cfn_status::is_in_progress(s));
                if nested_in_progress
                    && let Err(failed) = self.poll_stack(i, ctx, &mut statuses).await
                {
                    return (statuses, Err(failed));
                }
            }
        }
        (statuses, Ok(()))
    }

    /// Reads one stack: sends its new events and resources, and adds its status to
    /// `statuses` when it changed.
    async fn poll_stack(
        &mut self,
        i: usize,
        ctx: &mut SourceCtx,
        statuses: &mut Vec<CfnStack>,
    ) -> Result<(), Polled> {
        let moved = self.read_stack(i, ctx, statuses).await;
        self.stacks[i].moved = matches!(moved, Ok(true));
        moved.map(drop)
    }

    /// `poll_stack`; true when the stack moved (new events or a new status).
    async fn read_stack(
        &mut self,
        i: usize,
        ctx: &mut SourceCtx,
        statuses: &mut Vec<CfnStack>,
    ) -> Result<bool, Polled> {
        let pace = ctx.pace();
        let watched = &self.stacks[i];
        let settled = watched
            .status
            .as_ref()
            .is_some_and(|(s, _)| !cfn_status::is_in_progress(s));
        // A settled nested stack changes only through its parent: read it when the parent
        // moved in the last round (its row for the nested stack changes first).
        if settled && let Some((parent, _)) = watched.path.rsplit_once('/') {
            let parent_moved = self
                .stacks
                .iter()
                .find(|s| s.path == parent)
                .is_none_or(|p| p.moved);
            if !parent_moved {
                return Ok(false);
            }
        }
        // While an operation runs, the events say whether anything moved: the status is read
        // again only when they hold a row of the stack itself (or a check is due).
        let mut moved = false;
        let mut events_read = false;
        let status_fresh = watched
            .status_read
            .is_some_and(|at| at.elapsed() < pace.of(STATUS_AT_LEAST_EVERY));
        if !settled && watched.status.is_some() && status_fresh {
            let id = watched.id.clone();
            let events = self.read_events(i, &id, ctx).await?;
            if events.is_empty() {
                return Ok(false);
            }
            let own_row = events.iter().any(CfnEvent::is_stack_row);
            self.send_events(i, events, ctx).await?;
            if !own_row {
                return Ok(true);
            }
            moved = true;
            events_read = true;
        }

        // Status (and the ARN, for the reads that follow).
        ctx.call().await?;
        let described = self
            .client
            .describe_stacks()
            .stack_name(&self.stacks[i].id)
            .send()
            .await
            .map_err(|e| Polled::from_sdk(&e, &self.profile))?;
        self.stacks[i].status_read = Some(Instant::now());
        let Some(stack) = described.stacks().first() else {
            return Ok(moved);
        };
        let stack_id = stack.stack_id().unwrap_or_default().to_string();
        let name = stack.stack_name().unwrap_or_default().to_string();
        let status = stack
            .stack_status()
            .map(|s| s.as_str().to_string())
            .unwrap_or_default();
        let reason = stack.stack_status_reason().map(str::to_string);
        let updated = stack.last_updated_time().or(stack.creation_time()).map(utc);
        let watched = &mut self.stacks[i];
        if !stack_id.is_empty() {
            watched.id.clone_from(&stack_id);
        }
        if watched.status.as_ref() != Some(&(status.clone(), reason.clone())) {
            moved = true;
            watched.status = Some((status.clone(), reason.clone()));
            // Read twice in one round (a root ended: see `read_stacks`): the last read holds.
            statuses.retain(|s| s.stack != watched.path);
            statuses.push(CfnStack {
                stack: watched.path.clone(),
                name,
                stack_id: (!stack_id.is_empty()).then_some(stack_id.clone()),
                status: status.clone(),
                reason,
            });
        }

        // Events since the last one seen, unless a settled stack's answer has not moved.
        let answer = (status.clone(), updated);
        let settled = !cfn_status::is_in_progress(&status);
        let unmoved = settled && self.stacks[i].events_read_at.as_ref() == Some(&answer);
        if !events_read && !unmoved {
            let events = self.read_events(i, &stack_id, ctx).await?;
            moved |= !events.is_empty();
            self.send_events(i, events, ctx).await?;
        }
        self.stacks[i].events_read_at = Some(answer);

        // Resources, when something moved (and on the first read); while events keep coming,
        // not on every round.
        if self.stacks[i].signals.is_none() {
            self.stacks[i].signals = Some(self.read_signals(i, ctx).await?);
        }
        let recently = self.stacks[i]
            .resources_read
            .is_some_and(|at| at.elapsed() < pace.of(RESOURCES_AT_MOST_EVERY));
        if self.stacks[i].resources_stale && (settled || !recently) {
            self.read_resources(i, ctx).await?;
            self.stacks[i].resources_stale = false;
            self.stacks[i].resources_read = Some(Instant::now());
        }
        Ok(moved)
    }

    async fn send_held(&mut self, ctx: &SourceCtx) -> Result<(), Closed> {
        for event in std::mem::take(&mut self.held) {
            ctx.send(event).await?;
        }
        Ok(())
    }

    /// Sends a stack's new events, and takes on what they name (a nested stack, a service…)
    /// without waiting for the next resource list.
    async fn send_events(
        &mut self,
        i: usize,
        events: Vec<CfnEvent>,
        ctx: &mut SourceCtx,
    ) -> Result<(), Closed> {
        if events.is_empty() {
            return Ok(());
        }
        self.stacks[i].resources_stale = true;
        let root = !self.stacks[i].path.contains('/');
        for event in events {
            // The stack's own rows name the stack itself.
            if event.physical_id.as_deref() != Some(event.stack_id.as_str()) {
                self.discover(
                    i,
                    &event.logical_id,
                    &event.resource_type,
                    event.physical_id.as_deref(),
                );
            }
            // The row that ends a root waits for the end of the round (see `read_stacks`), and
            // so does what follows it.
            if root
                && (!self.held.is_empty()
                    || (event.is_stack_row() && cfn_status::is_terminal(&event.status)))
            {
                self.held.push(event);
                continue;
            }
            ctx.send(event).await?;
        }
        Ok(())
    }

    async fn read_events(
        &mut self,
        i: usize,
        stack_id: &str,
        ctx: &mut SourceCtx,
    ) -> Result<Vec<CfnEvent>, Polled> {
        let path = self.stacks[i].path.clone();
        let id = self.stacks[i].id.clone();
        let mut read = self.stacks[i].cursor.start();
        let mut token: Option<String> = None;
        loop {
            ctx.call().await?;
            let page = self
                .client
                .describe_stack_events()
                .stack_name(&id)
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| Polled::from_sdk(&e, &self.profile))?;
            let events = page
                .stack_events()
                .iter()
                .map(|e| event_of(&path, stack_id, e));
            if read.take_page(events) || page.next_token().is_none() {
                break;
            }
            token = page.next_token().map(str::to_string);
        }
        Ok(self.stacks[i].cursor.finish(read))
    }

    async fn read_signals(
        &mut self,
        i: usize,
        ctx: &mut SourceCtx,
    ) -> Result<HashMap<String, SignalPolicy>, Polled> {
        ctx.call().await?;
        let template = self
            .client
            .get_template()
            .stack_name(&self.stacks[i].id)
            .send()
            .await
            .map_err(|e| Polled::from_sdk(&e, &self.profile))?;
        Ok(template
            .template_body()
            .map(signal_policies)
            .unwrap_or_default())
    }

    async fn read_resources(&mut self, i: usize, ctx: &mut SourceCtx) -> Result<(), Polled> {
        let mut token: Option<String> = None;
        let mut summaries = Vec::new();
        loop {
            ctx.call().await?;
            let page = self
                .client
                .list_stack_resources()
                .stack_name(&self.stacks[i].id)
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| Polled::from_sdk(&e, &self.profile))?;
            summaries.extend(page.stack_resource_summaries().iter().cloned());
            match page.next_token() {
                Some(next) => token = Some(next.to_string()),
                None => break,
            }
        }
        for r in summaries {
            let (Some(logical), Some(rtype)) = (r.logical_resource_id(), r.resource_type()) else {
                continue; // moto lists resources skipped by a false Condition without ids
            };
            let physical = r
                .physical_resource_id()
                .filter(|p| !p.is_empty())
                .map(str::to_string);
            let status = r.resource_status().map(|s| s.as_str().to_string());
            self.discover(i, logical, rtype, physical.as_deref());
            let watched = &mut self.stacks[i];
            let signal = watched
                .signals
                .as_ref()
                .and_then(|s| s.get(logical).copied());
            let now = (status.clone(), physical.clone(), signal);
            if watched.resources.get(logical) == Some(&now) {
                continue;
            }
            watched.resources.insert(logical.to_string(), now);
            let path = watched.path.clone();
            ctx.send(CfnResource {
                stack: path,
                logical_id: logical.to_string(),
                physical_id: physical,
                resource_type: rtype.to_string(),
                status,
                signal,
            })
            .await?;
        }
        Ok(())
    }

    /// What a resource adds to the watch: a nested stack to follow, a service, a cluster, a
    /// target group, a log group.
    fn discover(&mut self, i: usize, logical: &str, rtype: &str, physical: Option<&str>) {
        let Some(physical) = physical else { return };
        let via = format!("stack resource {logical}");
        match rtype {
            NESTED_STACK => {
                let path = format!("{}/{logical}", self.stacks[i].path);
                if !self.stacks.iter().any(|s| s.path == path) {
                    self.stacks.push(Watched::new(path, physical.to_string()));
                }
            }
            // A stack's cluster may hold services of other stacks: its own services come from
            // its `AWS::ECS::Service` resources, not from listing the cluster.
            "AWS::ECS::Service" => {
                if let Some(cluster) = service_cluster(physical) {
                    self.discovery.add_service(cluster, physical, &via);
                }
            }
            "AWS::ElasticLoadBalancingV2::TargetGroup" => {
                self.discovery.add_target_group(physical, &via);
            }
            "AWS::Logs::LogGroup" => {
                self.discovery.add_log_group(physical, &via);
            }
            _ => {}
        }
    }
}

fn event_of(path: &str, stack_id: &str, e: &aws_sdk_cloudformation::types::StackEvent) -> CfnEvent {
    CfnEvent {
        stack: path.to_string(),
        stack_id: e.stack_id().unwrap_or(stack_id).to_string(),
        event_id: e.event_id().unwrap_or_default().to_string(),
        logical_id: e.logical_resource_id().unwrap_or_default().to_string(),
        physical_id: e
            .physical_resource_id()
            .filter(|p| !p.is_empty())
            .map(str::to_string),
        resource_type: e.resource_type().unwrap_or_default().to_string(),
        status: e
            .resource_status()
            .map(|s| s.as_str().to_string())
            .unwrap_or_default(),
        reason: e.resource_status_reason().map(str::to_string),
        timestamp: e.timestamp().map(utc).unwrap_or_default(),
    }
}

/// Reads a stack's events incrementally. DescribeStackEvents answers newest first; a read
/// takes pages until it reaches the newest event of the previous read, or, on the first read,
/// the `User Initiated` row that started the current operation.
#[derive(Debug, Default)]
pub struct EventCursor {
    last_seen: Option<String>,
}

/// One read in progress: the new events so far, newest first.
#[derive(Debug)]
pub struct EventRead {
    first: bool,
    last_seen: Option<String>,
    new: Vec<CfnEvent>,
    pages: usize,
}

impl EventCursor {
    pub fn start(&self) -> EventRead {
        EventRead {
            first: self.last_seen.is_none(),
            last_seen: self.last_seen.clone(),
            new: Vec::new(),
            pages: 0,
        }
    }

    /// Ends a read: remembers its newest event and hands the new ones over oldest first.
    pub fn finish(&mut self, read: EventRead) -> Vec<CfnEvent> {
        let mut new = read.new;
        if let Some(newest) = new.first() {
            self.last_seen = Some(newest.event_id.clone());
        }
        new.reverse();
        new
    }
}

impl EventRead {
    /// Takes one page (newest first); true when no further page is needed.
    pub fn take_page(&mut self, page: impl IntoIterator<Item = CfnEvent>) -> bool {
        self.pages += 1;
        for event in page {
            if self.last_seen.as_deref() == Some(event.event_id.as_str()) {
                return true;
            }
            let starts_operation = event.is_stack_row()
                && cfn_status::is_in_progress(&event.status)
                && event.reason.as_deref() == Some("User Initiated");
            self.new.push(event);
            if self.first && starts_operation {
                return true;
            }
        }
        let most = if self.first {
            FIRST_READ_PAGES
        } else {
            CATCH_UP_PAGES
        };
        self.pages >= most
    }
}

/// CreationPolicy and WaitCondition signal counts and timeouts, by logical id, from a JSON
/// template (CDK writes JSON) or a YAML one (hand-written templates). A template that reads as
/// neither yields none: its stalls still show, without a countdown.
pub fn signal_policies(template: &str) -> HashMap<String, SignalPolicy> {
    let doc = match serde_json::from_str::<serde_json::Value>(template) {
        Ok(doc) => doc,
        Err(_) => match yaml_rust2::YamlLoader::load_from_str(template) {
            Ok(docs) if !docs.is_empty() => json_of(&docs[0]),
            _ => return HashMap::new(),
        },
    };
    let Some(resources) = doc.get("Resources").and_then(|r| r.as_object()) else {
        return HashMap::new();
    };
    let number = |v: Option<&serde_json::Value>| -> Option<u64> {
        match v? {
            serde_json::Value::Number(n) => n.as_u64(),
            serde_json::Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }
    };
    let mut policies = HashMap::new();
    for (logical, resource) in resources {
        let signal = resource
            .get("CreationPolicy")
            .and_then(|p| p.get("ResourceSignal"));
        let policy = if let Some(signal) = signal {
            let count = number(signal.get("Count")).unwrap_or(1);
            let timeout = signal
                .get("Timeout")
                .and_then(|t| t.as_str())
                .and_then(iso8601_seconds)
                .unwrap_or(300);
            Some((count, timeout))
        } else if resource.get("Type").and_then(|t| t.as_str())
            == Some("AWS::CloudFormation::WaitCondition")
        {
            let props = resource.get("Properties");
            let count = number(props.and_then(|p| p.get("Count"))).unwrap_or(1);
            number(props.and_then(|p| p.get("Timeout"))).map(|timeout| (count, timeout))
        } else {
            None
        };
        if let Some((count, timeout_s)) = policy {
            policies.insert(
                logical.clone(),
                SignalPolicy {
                    count: u32::try_from(count).unwrap_or(u32::MAX),
                    timeout_s,
                },
            );
        }
    }
    policies
}

/// A YAML document as JSON, enough to read a template: intrinsic-function tags (`!Ref`) are
/// dropped, keeping their value.
fn json_of(yaml: &yaml_rust2::Yaml) -> serde_json::Value {
    use serde_json::Value;
    use yaml_rust2::Yaml;
    match yaml {
        Yaml::Integer(n) => Value::from(*n),
        Yaml::Real(r) => r.parse::<f64>().map_or(Value::Null, Value::from),
        Yaml::String(s) => Value::from(s.as_str()),
        Yaml::Boolean(b) => Value::from(*b),
        Yaml::Array(items) => Value::Array(items.iter().map(json_of).collect()),
        Yaml::Hash(map) => Value::Object(
            map.iter()
                .filter_map(|(k, v)| Some((k.as_str()?.to_string(), json_of(v))))
                .collect(),
        ),
        _ => Value::Null,
    }
}

/// `PT15M`, `PT1H30M`, `PT45S` → seconds.
fn iso8601_seconds(text: &str) -> Option<u64> {
    let rest = text.trim().strip_prefix("PT")?;
    let mut total = 0u64;
    let mut digits = String::new();
    for c in rest.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let n: u64 = digits.parse().ok()?;
        digits.clear();
        total = total.checked_add(match c {
            'H' => n.checked_mul(3600)?,
            'M' => n.checked_mul(60)?,
            'S' => n,
            _ => return None,
        })?;
    }
    digits.is_empty().then_some(total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, TimeDelta, Utc};

    const STACK_ID: &str = "arn:aws:cloudformation:eu-west-1:1:stack/app/x";

    fn at(n: i64) -> DateTime<Utc> {
        DateTime::<Utc>::from_timestamp(1_800_000_000, 0).unwrap() + TimeDelta::seconds(n)
    }

    fn event(n: i64) -> CfnEvent {
        CfnEvent {
            stack: "app".into(),
            stack_id: STACK_ID.into(),
            event_id: format!("e{n}"),
            logical_id: format!("R{n}"),
            physical_id: None,
            resource_type: "AWS::SNS::Topic".into(),
            status: "CREATE_IN_PROGRESS".into(),
            reason: None,
            timestamp: at(n),
        }
    }

    fn user_initiated(n: i64) -> CfnEvent {
        CfnEvent {
            logical_id: "app".into(),
            physical_id: Some(STACK_ID.into()),
            resource_type: NESTED_STACK.into(),
            reason: Some("User Initiated".into()),
            ..event(n)
        }
    }

    /// All events up to `newest`, newest first, in pages of `size`, as AWS answers.
    fn pages(history: &[CfnEvent], size: usize) -> Vec<Vec<CfnEvent>> {
        let newest_first: Vec<CfnEvent> = history.iter().rev().cloned().collect();
        newest_first.chunks(size).map(<[_]>::to_vec).collect()
    }

    fn read(cursor: &mut EventCursor, pages: Vec<Vec<CfnEvent>>) -> (Vec<CfnEvent>, usize) {
        let mut r = cursor.start();
        let mut used = 0;
        for page in pages {
            used += 1;
            if r.take_page(page) {
                break;
            }
        }
        (cursor.finish(r), used)
    }

    #[test]
    fn first_read_stops_at_the_current_operation() {
        // 10,000 old events, then the current operation's User Initiated row and 30 more.
        let mut history: Vec<CfnEvent> = (0..10_000).map(event).collect();
        history.push(user_initiated(10_000));
        history.extend((10_001..10_031).map(event));
        let mut cursor = EventCursor::default();
        let (new, used) = read(&mut cursor, pages(&history, 100));
        assert_eq!(used, 1, "one page covers the current operation");
        assert_eq!(new.len(), 31);
        assert_eq!(new[0].event_id, "e10000", "oldest first");
        assert_eq!(new[30].event_id, "e10030");
    }

    #[test]
    fn polls_of_a_growing_stack_show_every_event_once() {
        let mut history = vec![user_initiated(0)];
        let mut cursor = EventCursor::default();
        let mut shown: Vec<String> = Vec::new();
        let mut next = 1;
        // 40 polls; between them the stack gains 0 to 250 events, read in pages of 100.
        for poll in 0..40 {
            let gained = (poll * 37) % 251;
            history.extend((next..next + gained).map(event));
            next += gained;
            let (new, _) = read(&mut cursor, pages(&history, 100));
            shown.extend(new.into_iter().map(|e| e.event_id));
        }
        let expected: Vec<String> = history.iter().map(|e| e.event_id.clone()).collect();
        assert_eq!(shown, expected, "no event twice, none missed, in order");
    }

    #[test]
    fn an_idle_poll_reads_one_page_and_finds_nothing() {
        let history: Vec<CfnEvent> = std::iter::once(user_initiated(0))
            .chain((1..500).map(event))
            .collect();
        let mut cursor = EventCursor::default();
        read(&mut cursor, pages(&history, 100));
        let (new, used) = read(&mut cursor, pages(&history, 100));
        assert!(new.is_empty());
        assert_eq!(used, 1);
    }

    #[test]
    fn signal_policies_come_from_the_template() {
        let template = r#"{"Resources": {
            "Host": {"Type": "AWS::EC2::Instance", "CreationPolicy": {"ResourceSignal": {"Count": 2, "Timeout": "PT15M"}}},
            "Wait": {"Type": "AWS::CloudFormation::WaitCondition", "Properties": {"Count": "1", "Timeout": "900", "Handle": {"Ref": "H"}}},
            "Topic": {"Type": "AWS::SNS::Topic"}
        }}"#;
        let p = signal_policies(template);
        assert_eq!(
            p["Host"],
            SignalPolicy {
                count: 2,
                timeout_s: 900
            }
        );
        assert_eq!(
            p["Wait"],
            SignalPolicy {
                count: 1,
                timeout_s: 900
            }
        );
        assert!(!p.contains_key("Topic"));
        assert!(signal_policies("Resources:\n  Host: {}").is_empty());
        assert!(signal_policies("not: [a template").is_empty());
        let yaml = "AWSTemplateFormatVersion: '2010-09-09'\nResources:\n  Host:\n    Type: AWS::EC2::Instance\n    CreationPolicy:\n      ResourceSignal:\n        Count: 1\n        Timeout: PT10M\n    Properties:\n      ImageId: !Ref AmiId\n      UserData: !Base64\n        Fn::Sub: |\n          #!/bin/bash\n          /opt/aws/bin/cfn-signal -e $? --stack ${AWS::StackName}\n";
        assert_eq!(
            signal_policies(yaml)["Host"],
            SignalPolicy {
                count: 1,
                timeout_s: 600
            }
        );
        assert_eq!(iso8601_seconds("PT1H30M"), Some(5400));
        assert_eq!(iso8601_seconds("PT45S"), Some(45));
        assert_eq!(iso8601_seconds("15M"), None);
        assert_eq!(iso8601_seconds("PT99999999999999999999H"), None);
    }
}
