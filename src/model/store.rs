//! The store: current state per resource, service, task and target, plus a merged timeline and
//! log tail. Pure: it applies observations and never reads a clock.
//!
//! History is bounded by [`StoreCaps`]: the timeline and the log tail are ring buffers, and so
//! are each service's events and the stopped tasks kept for grouping.
//!
//! Applying is idempotent where live sources overlap their reads: a CloudFormation event, an
//! ECS service event or a log event applied again (same id; for a log event without one, same
//! content) changes nothing, and [`Applied::repeat`] tells the caller so the detector does not
//! count it twice. The ids are remembered in bounded windows ([`RecentKeys`],
//! [`StoreCaps::seen_ids`] each; a service's events in its own ring).

use std::collections::{BTreeMap, VecDeque};
use std::fmt::Write as _;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use chrono::{DateTime, Utc};
// Fx hashing: the keys are short ids and names from our own sources, and SipHash showed in
// ingest profiles.
use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

use super::{
    CfnEvent, CfnResource, CfnStack, EcsDeployment, EcsService, EcsServiceEvent, EcsServiceGone,
    EcsTask, EcsTaskGone, LogEvent, LogGap, Note, Observation, ObservationKind, Severity,
    SignalPolicy, Source, SourceStatus, TargetGone, TargetHealth, Watching, cfn_status, task_id_of,
};

/// How far back among the newest timeline rows a late row is placed by its time.
pub const REORDER_WINDOW: usize = 500;

/// Who owns each recent task: `svc:NAME` for a service's task, `family:NAME` for the others,
/// by task id and by private IP (a newer task at an IP takes it over). The oldest tasks are
/// forgotten past the cap.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TaskOwners {
    /// Task id → (owner, the IP recorded for it).
    by_id: HashMap<String, (String, Option<String>)>,
    /// IP → (task ARN, owner) of the newest task seen there.
    by_ip: HashMap<String, (String, String)>,
    /// Task ids in the order they were learnt.
    order: VecDeque<String>,
}

impl TaskOwners {
    fn learn(&mut self, t: &super::EcsTask, cap: usize) {
        let id = t.task_id();
        let recorded_ip = self.by_id.get(id).map(|(_, ip)| ip.as_deref());
        let new_ip = match (&t.private_ip, recorded_ip) {
            (Some(ip), Some(known)) => known != Some(ip.as_str()),
            (Some(_), None) => true,
            (None, _) => false,
        };
        if recorded_ip.is_some() && !new_ip {
            return;
        }
        let owner = t.owner_scope();
        if new_ip && let Some(ip) = &t.private_ip {
            self.by_ip
                .insert(ip.clone(), (t.task_arn.clone(), owner.clone()));
        }
        if recorded_ip.is_none() {
            self.order.push_back(id.to_string());
        }
        self.by_id
            .insert(id.to_string(), (owner, t.private_ip.clone()));
        while self.order.len() > cap {
            let Some(old) = self.order.pop_front() else {
                break;
            };
            if let Some((_, Some(ip))) = self.by_id.remove(&old)
                && self
                    .by_ip
                    .get(&ip)
                    .is_some_and(|(arn, _)| super::task_id_of(arn) == old)
            {
                self.by_ip.remove(&ip);
            }
        }
    }

    /// The owner (`svc:NAME`, `family:NAME`) of the task with this id.
    pub fn of_task(&self, task_id: &str) -> Option<&str> {
        self.by_id.get(task_id).map(|(owner, _)| owner.as_str())
    }

    /// The owner of the newest task seen at this private IP.
    pub fn of_ip(&self, ip: &str) -> Option<&str> {
        self.by_ip.get(ip).map(|(_, owner)| owner.as_str())
    }

    /// The ARN of the newest task seen at this private IP.
    pub fn task_at_ip(&self, ip: &str) -> Option<&str> {
        self.by_ip.get(ip).map(|(arn, _)| arn.as_str())
    }

    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }
}

/// Caps that bound the store's memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreCaps {
    pub timeline_rows: usize,
    pub log_lines: usize,
    pub service_events: usize,
    pub stopped_tasks: usize,
    pub failures: usize,
    /// Ids remembered per kind (CloudFormation events, log events) to apply a repeat once:
    /// overlapping reads repeat recent events, so a window of the newest is enough.
    pub seen_ids: usize,
    /// Things the sources watch ([`Store::watched`]); the oldest are forgotten past it.
    pub watched: usize,
    /// Notes kept for reports ([`Store::notes`]); the oldest are dropped past it.
    pub notes: usize,
}

impl Default for StoreCaps {
    fn default() -> Self {
        StoreCaps {
            timeline_rows: 50_000,
            log_lines: 20_000,
            service_events: 100,
            stopped_tasks: 2_000,
            failures: 500,
            seen_ids: 20_000,
            watched: 1_000,
            notes: 200,
        }
    }
}

/// What applying one observation did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Applied {
    /// It added timeline rows (the newest ones).
    pub rows_added: bool,
    /// It was applied before (same event id): nothing changed, and the detector must not see
    /// it again.
    pub repeat: bool,
}

/// How many of a full ring's oldest items go at once: a 64th of its cap (one for small caps).
/// One cold item read and freed per new item cost about a tenth of a whole replay (issue 14's
/// profile); a run of them dropped together is read in order, so the reads overlap.
fn eviction_chunk(cap: usize) -> usize {
    (cap / 64).max(1)
}

/// Makes room for one more item in a ring capped at `cap`, dropping its oldest items a chunk
/// at a time; returns how many it dropped.
fn make_room<T>(ring: &mut VecDeque<T>, cap: usize) -> u64 {
    let cap = cap.max(1);
    if ring.len() < cap {
        return 0;
    }
    let n = (ring.len() + eviction_chunk(cap) - cap).min(ring.len());
    ring.drain(..n);
    n as u64
}

/// The newest keys inserted, at most a cap of them: the oldest are forgotten first. How the
/// store remembers what it has applied without growing for the length of a session.
#[derive(Debug, Clone, PartialEq)]
pub struct RecentKeys<K: Hash + Eq> {
    set: HashSet<K>,
    order: VecDeque<K>,
}

impl<K: Hash + Eq> Default for RecentKeys<K> {
    fn default() -> Self {
        RecentKeys {
            set: HashSet::default(),
            order: VecDeque::new(),
        }
    }
}

impl<K: Hash + Eq + Clone> RecentKeys<K> {
    /// Remembers `key`, forgetting the oldest past `cap`. False when it was already there.
    pub fn insert(&mut self, key: K, cap: usize) -> bool {
        if !self.set.insert(key.clone()) {
            return false;
        }
        self.order.push_back(key);
        if self.order.len() > cap.max(1) {
            let forget = self.order.len() - cap.max(1) + eviction_chunk(cap) - 1;
            for old in self.order.drain(..forget.min(self.order.len())) {
                self.set.remove(&old);
            }
        }
        true
    }

    pub fn contains(&self, key: &K) -> bool {
        self.set.contains(key)
    }

    pub fn len(&self) -> usize {
        self.order.len()
    }

    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }
}

/// What identifies a log event across overlapping reads: a 64-bit hash of CloudWatch's
/// `eventId`, or without one of (group, stream, timestamp, message). A hash, not the text:
/// the window of 20 000 keys stays a flat table of numbers, and a false repeat needs two of
/// them to collide (about one in 10^15 per line).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct LogKey(u64);

impl LogKey {
    fn of(l: &LogEvent) -> LogKey {
        LogKey(match &l.event_id {
            Some(id) => stable_hash((0u8, id)),
            None => stable_hash((1u8, &l.group, &l.stream, l.timestamp, &l.message)),
        })
    }
}

/// What the store works out about a log line from the line alone: its repeat key, its text as
/// kept and its keyword level. A replay's reader thread works it out ahead
/// (`pipeline::Prepared`), off the pipeline's own thread.
#[derive(Debug, Clone)]
pub struct LogPrep {
    key: LogKey,
    message: Text,
    level: Severity,
}

impl LogPrep {
    pub fn of(l: &LogEvent) -> Self {
        LogPrep {
            key: LogKey::of(l),
            message: bounded(&l.message),
            level: keyword_level(&l.message),
        }
    }
}

/// A 64-bit hash that is the same in every process (SipHash with fixed keys), so a replay
/// drops as repeats what live dropped.
fn stable_hash(value: impl Hash) -> u64 {
    let mut hasher = std::hash::DefaultHasher::new();
    value.hash(&mut hasher);
    hasher.finish()
}

/// Something a source watches, by what it is and its id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct WatchKey {
    /// `stack`, `cluster`, `service`, `target_group`, `log_group`.
    pub what: String,
    pub id: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Watched {
    pub key: WatchKey,
    /// The poller family that watches it: `cfn`, `ecs`, `elb`, `logs`.
    pub source: String,
    /// How it was found (`stack resource ApiService`).
    pub via: Option<String>,
    /// When the source started watching it.
    pub since: DateTime<Utc>,
}

/// The most of a watched thing's id or origin the store keeps (ARNs are at most 2048 bytes).
const MAX_WATCHED_TEXT: usize = 2048;

/// A stack, by path (`root/NestedLogicalId`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StackState {
    pub path: String,
    pub name: String,
    pub stack_id: Option<String>,
    pub status: String,
    pub reason: Option<String>,
    /// When the current operation began (the stack row's first `*_IN_PROGRESS` after a terminal
    /// status, such as `User Initiated`).
    pub operation_started_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
}

/// A resource is named by its stack path and logical id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ResourceKey {
    pub stack: String,
    pub logical_id: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ResourceState {
    pub key: ResourceKey,
    pub resource_type: String,
    pub physical_id: Option<String>,
    pub status: String,
    pub reason: Option<String>,
    /// When the resource entered its current status (AWS's event time).
    pub status_since: DateTime<Utc>,
    /// When the current `*_IN_PROGRESS` phase began, kept once it ends to show durations.
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub signal: Option<SignalPolicy>,
    pub signals_received: u32,
}

impl ResourceState {
    /// A resource seen for the first time, before any status.
    fn new(key: ResourceKey, resource_type: &str, at: DateTime<Utc>) -> Self {
        ResourceState {
            key,
            resource_type: resource_type.to_string(),
            physical_id: None,
            status: String::new(),
            reason: None,
            status_since: at,
            started_at: None,
            finished_at: None,
            signal: None,
            signals_received: 0,
        }
    }

    pub fn is_in_progress(&self) -> bool {
        cfn_status::is_in_progress(&self.status)
    }

    /// For an `AWS::ECS::Service` resource, the name of the service it created: its physical
    /// id is the service's ARN, `…:service/CLUSTER/NAME`.
    pub fn ecs_service(&self) -> Option<&str> {
        (self.resource_type == "AWS::ECS::Service")
            .then_some(self.physical_id.as_deref())
            .flatten()
            .map(task_id_of)
    }

    /// For a nested stack resource, the path of the child stack.
    pub fn child_stack_path(&self) -> Option<String> {
        (self.resource_type == "AWS::CloudFormation::Stack")
            .then(|| [&self.key.stack, "/", &self.key.logical_id].concat())
    }
}

/// A CloudFormation failure of the current operation, kept for root-cause search.
#[derive(Debug, Clone, PartialEq)]
pub struct FailureRecord {
    pub at: DateTime<Utc>,
    pub stack: String,
    pub logical_id: String,
    pub resource_type: String,
    pub status: String,
    pub reason: String,
    pub is_stack_row: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ServiceKey {
    pub cluster: String,
    pub service: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ServiceEventRow {
    pub id: String,
    pub created_at: DateTime<Utc>,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ServiceState {
    pub key: ServiceKey,
    pub arn: Option<String>,
    pub status: String,
    pub desired: u32,
    pub running: u32,
    pub pending: u32,
    pub task_definition: Option<String>,
    pub deployments: Vec<EcsDeployment>,
    /// Newest last, capped.
    pub events: VecDeque<ServiceEventRow>,
    pub updated_at: DateTime<Utc>,
}

impl ServiceState {
    /// A service known only by name so far (events can arrive before the first snapshot).
    fn new(key: ServiceKey, at: DateTime<Utc>) -> Self {
        ServiceState {
            key,
            arn: None,
            status: String::new(),
            desired: 0,
            running: 0,
            pending: 0,
            task_definition: None,
            deployments: Vec::new(),
            events: VecDeque::new(),
            updated_at: at,
        }
    }

    pub fn primary(&self) -> Option<&EcsDeployment> {
        self.deployments.iter().find(|d| d.status == "PRIMARY")
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct TaskState {
    pub task: EcsTask,
    pub first_seen: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl TaskState {
    pub fn is_stopped(&self) -> bool {
        self.task.last_status == "STOPPED"
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TargetKey {
    pub target_group: String,
    pub target_id: String,
    pub port: Option<u16>,
}

impl TargetKey {
    /// `10.0.1.5:3000`, or the id alone when the target has no port.
    pub fn label(&self) -> String {
        match self.port {
            Some(port) => format!("{}:{port}", self.target_id),
            None => self.target_id.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct TargetState {
    pub key: TargetKey,
    pub state: String,
    pub reason: Option<String>,
    pub description: Option<String>,
    /// When it entered its current state (observation time: ELB gives none).
    pub since: DateTime<Utc>,
}

/// Shared, immutable text: a log line's message is held once by the log tail and the timeline,
/// and repeated names (log groups, streams) are interned.
pub type Text = Arc<str>;

/// How many of a target group's targets are in which health, kept as targets change so the
/// detector reads it per tick without walking every target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TargetGroupHealth {
    /// Every target the group still lists, draining ones included.
    pub present: usize,
    /// Healthy, unhealthy, initial or unavailable: registered and checked.
    pub registered: usize,
    pub healthy: usize,
    pub unhealthy: usize,
}

impl TargetGroupHealth {
    fn count(&mut self, state: &str, add: bool) {
        let step = |n: &mut usize| *n = if add { *n + 1 } else { n.saturating_sub(1) };
        if state != "unused" {
            step(&mut self.present);
        }
        match state {
            "healthy" => {
                step(&mut self.registered);
                step(&mut self.healthy);
            }
            "unhealthy" | "unhealthy.draining" => {
                step(&mut self.registered);
                step(&mut self.unhealthy);
            }
            "initial" | "unavailable" => step(&mut self.registered),
            _ => {}
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct LogLine {
    pub at: DateTime<Utc>,
    pub group: Text,
    pub stream: Text,
    pub message: Text,
    pub event_id: Option<Text>,
    /// Not a line but a mark: lines of `group` may be missing here (a `log_gap`).
    pub gap: bool,
}

/// One row of the merged timeline.
#[derive(Debug, Clone, PartialEq)]
pub struct TimelineEntry {
    /// A number that only grows, so outputs can tell new rows from old after the ring wraps.
    pub seq: u64,
    /// AWS's timestamp where there is one, else when it was observed.
    pub at: DateTime<Utc>,
    pub source: Source,
    /// Logical id, task id, target id or log stream.
    pub resource: Text,
    /// The nested stack path, for CloudFormation rows.
    pub stack: Option<Text>,
    /// The AWS id (EventId, service event id, log eventId), where AWS gives one.
    pub id: Option<Text>,
    pub message: Text,
    /// A quick status-based level for colouring and the faults-only filter; flags come from
    /// the detector.
    pub level: Severity,
    /// A note the user typed (source `stackwatch`, resource `note`): an event, not a status.
    pub note: bool,
}

/// A note the user typed (a `note` observation), kept for reports.
#[derive(Debug, Clone, PartialEq)]
pub struct NoteEntry {
    /// When it was typed, on the session's clock.
    pub at: DateTime<Utc>,
    /// At most [`super::MAX_NOTE_CHARS`] characters, not yet sanitised for a terminal.
    pub text: Text,
    pub author: Option<Text>,
}

/// A timeline row before its names are interned.
struct Row<'a> {
    at: DateTime<Utc>,
    source: Source,
    resource: &'a str,
    stack: Option<&'a str>,
    id: Option<Text>,
    message: Text,
    level: Severity,
}

/// All the state stackwatch knows, derived only from observations.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Store {
    pub caps: StoreCaps,
    pub stacks: BTreeMap<String, StackState>,
    pub resources: BTreeMap<ResourceKey, ResourceState>,
    pub services: BTreeMap<ServiceKey, ServiceState>,
    pub tasks: HashMap<String, TaskState>,
    /// The stopped tasks of each service grouped by reason, kept as tasks stop and leave the
    /// ring: the ECS pane reads a few groups per frame, not every stopped task.
    pub stopped_groups: StoppedGroups,
    /// The service (or task family) of recent tasks by task id and private IP: how a flag on
    /// a target or a log stream finds its service, after the task itself is gone.
    pub task_owners: TaskOwners,
    pub targets: BTreeMap<TargetKey, TargetState>,
    /// Per target group ARN; a group stays (all zero) once its targets are gone.
    pub target_groups: BTreeMap<String, TargetGroupHealth>,
    pub logs: VecDeque<LogLine>,
    pub timeline: VecDeque<TimelineEntry>,
    pub sources: BTreeMap<String, SourceStatus>,
    /// What the sources watch (`watching` observations), the newest [`StoreCaps::watched`].
    pub watched: BTreeMap<WatchKey, Watched>,
    /// The notes typed while watching, oldest first: the newest [`StoreCaps::notes`].
    pub notes: VecDeque<NoteEntry>,
    /// CloudFormation failures of the current operation, oldest first.
    pub failures: VecDeque<FailureRecord>,
    /// How many observations were applied, repeats included.
    pub observations: u64,
    /// Observations that were repeats of ones already applied (overlapping reads).
    pub repeats: u64,
    /// Bumped on every change; outputs redraw when it moves.
    pub revision: u64,
    pub first_at: Option<DateTime<Utc>>,
    pub last_at: Option<DateTime<Utc>>,
    /// Rows and lines that fell off the rings.
    pub dropped_timeline: u64,
    pub dropped_logs: u64,
    next_seq: u64,
    /// The rows the last `apply` added (handed on as changes; cleared by the next one).
    fresh_rows: Vec<TimelineEntry>,
    stopped_order: VecDeque<String>,
    /// ARNs of the tasks in `tasks` that have not stopped: what the recovery checks count,
    /// without walking the ring of stopped ones.
    live_tasks: HashSet<String>,
    /// Stopped tasks dropped from the ring, remembered (as many again) so re-reports are ignored.
    forgotten_tasks: HashSet<String>,
    forgotten_order: VecDeque<String>,
    /// Tasks reported gone: a late read from before cannot bring them back (ARNs are never
    /// reused), though their STOPPED report still counts.
    gone_tasks: RecentKeys<String>,
    /// 64-bit hashes of the CloudFormation event ids applied recently (see [`LogKey`]).
    seen_cfn_events: RecentKeys<u64>,
    seen_logs: RecentKeys<LogKey>,
    watched_order: VecDeque<WatchKey>,
    names: HashSet<Text>,
}

impl Store {
    pub fn new(caps: StoreCaps) -> Self {
        Store {
            caps,
            ..Store::default()
        }
    }

    /// The root stack: the first stack path without a `/`.
    pub fn root_stack(&self) -> Option<&StackState> {
        self.stacks.values().find(|s| !s.path.contains('/'))
    }

    /// Applies one observation: what it did, rows added or a repeat.
    pub fn apply(&mut self, obs: &Observation) -> Applied {
        self.apply_prepared(obs, None)
    }

    /// [`Store::apply`], with what was worked out ahead about a log line (`log` is only read
    /// for a log event, and must be [`LogPrep::of`] it).
    pub fn apply_prepared(&mut self, obs: &Observation, log: Option<&LogPrep>) -> Applied {
        self.fresh_rows.clear();
        self.observations += 1;
        self.first_at.get_or_insert(obs.at);
        if self.last_at.is_none_or(|t| obs.at > t) {
            self.last_at = Some(obs.at);
        }
        let before = self.next_seq;
        let mut repeat = false;
        match &obs.kind {
            ObservationKind::CfnStack(s) => self.apply_stack(obs.at, s),
            ObservationKind::CfnEvent(e) => repeat = !self.apply_cfn_event(e),
            ObservationKind::CfnResource(r) => self.apply_cfn_resource(obs.at, r),
            ObservationKind::EcsService(s) => self.apply_service(obs.at, s),
            ObservationKind::EcsServiceEvent(e) => repeat = !self.apply_service_event(obs.at, e),
            ObservationKind::EcsTask(t) => self.apply_task(obs.at, t),
            ObservationKind::TargetHealth(t) => self.apply_target(obs.at, t),
            ObservationKind::LogEvent(l) => repeat = !self.apply_log(l, log),
            ObservationKind::SourceStatus(s) => self.apply_source_status(obs.at, s),
            ObservationKind::EcsTaskGone(g) => self.apply_task_gone(obs.at, g),
            ObservationKind::EcsServiceGone(g) => self.apply_service_gone(obs.at, g),
            ObservationKind::TargetGone(g) => self.apply_target_gone(obs.at, g),
            ObservationKind::Watching(w) => self.apply_watching(obs.at, w),
            ObservationKind::LogGap(g) => self.apply_log_gap(g),
            ObservationKind::Note(n) => self.apply_note(obs.at, n),
        }
        if repeat {
            self.repeats += 1;
            return Applied {
                rows_added: false,
                repeat: true,
            };
        }
        self.revision += 1;
        Applied {
            rows_added: self.next_seq != before,
            repeat: false,
        }
    }

    /// One shared copy of a name that repeats (log groups, streams, logical ids).
    fn intern(&mut self, name: &str) -> Text {
        if let Some(known) = self.names.get(name) {
            return known.clone();
        }
        // Names churn with task ids; a full reset keeps the set bounded and costs one miss each.
        if self.names.len() >= 10_000 {
            self.names.clear();
        }
        let text: Text = Arc::from(name);
        self.names.insert(text.clone());
        text
    }

    fn push_row(&mut self, row: Row<'_>) {
        let entry = TimelineEntry {
            seq: 0,
            at: row.at,
            source: row.source,
            resource: self.intern(row.resource),
            stack: row.stack.map(|s| self.intern(s)),
            id: row.id,
            message: row.message,
            level: row.level,
            note: false,
        };
        self.push_entry(entry);
    }

    /// Adds a row to the timeline ring, numbering it, where it belongs by time: sources poll
    /// at different paces and logs arrive seconds late, so a late row goes in among the last
    /// [`REORDER_WINDOW`] rows instead of after them.
    fn push_entry(&mut self, mut entry: TimelineEntry) {
        entry.seq = self.next_seq;
        self.next_seq += 1;
        self.dropped_timeline += make_room(&mut self.timeline, self.caps.timeline_rows);
        let later = self
            .timeline
            .iter()
            .rev()
            .take(REORDER_WINDOW)
            .take_while(|e| e.at > entry.at)
            .count();
        self.fresh_rows.push(entry.clone());
        self.timeline.insert(self.timeline.len() - later, entry);
    }

    /// The rows the last observation added, in the order it added them.
    pub fn fresh_rows(&self) -> &[TimelineEntry] {
        &self.fresh_rows
    }

    /// Takes the rows the last observation added, in the order it added them (handing them
    /// on costs no copy).
    pub fn take_fresh_rows(&mut self) -> std::vec::Drain<'_, TimelineEntry> {
        self.fresh_rows.drain(..)
    }

    fn stack_entry(&mut self, path: &str) -> &mut StackState {
        self.stacks
            .entry(path.to_string())
            .or_insert_with(|| StackState {
                path: path.to_string(),
                name: path.rsplit('/').next().unwrap_or(path).to_string(),
                ..StackState::default()
            })
    }

    fn apply_stack(&mut self, at: DateTime<Utc>, s: &CfnStack) {
        let stack = self.stack_entry(&s.stack);
        let changed = stack.status != s.status;
        stack.name = s.name.clone();
        if s.stack_id.is_some() {
            stack.stack_id = s.stack_id.clone();
        }
        let started = changed && cfn_status::is_in_progress(&s.status);
        let was_terminal = stack.status.is_empty() || cfn_status::is_terminal(&stack.status);
        stack.status = s.status.clone();
        stack.reason = s.reason.clone();
        stack.updated_at = Some(at);
        if started && was_terminal {
            stack.operation_started_at = Some(at);
        }
        if changed {
            let message = with_reason(&s.status, s.reason.as_deref());
            self.push_row(Row {
                at,
                source: Source::Cfn,
                resource: &s.name,
                stack: Some(s.stack.as_str()),
                id: None,
                message: Text::from(message),
                level: cfn_level(&s.status),
            });
        }
    }

    /// False for a repeat (an event id already applied).
    fn apply_cfn_event(&mut self, e: &CfnEvent) -> bool {
        if !self
            .seen_cfn_events
            .insert(stable_hash(&e.event_id), self.caps.seen_ids)
        {
            return false;
        }
        let id = Text::from(e.event_id.as_str());
        let is_stack_row = e.is_stack_row();
        if is_stack_row {
            let root = !e.stack.contains('/');
            let stack = self.stack_entry(&e.stack);
            let was_terminal = stack.status.is_empty() || cfn_status::is_terminal(&stack.status);
            let new_operation = cfn_status::is_in_progress(&e.status)
                && was_terminal
                && !cfn_status::is_rollback(&e.status);
            stack.stack_id = Some(e.stack_id.clone());
            stack.name = e.logical_id.clone();
            stack.status = e.status.clone();
            stack.reason = e.reason.clone();
            stack.updated_at = Some(e.timestamp);
            if new_operation {
                stack.operation_started_at = Some(e.timestamp);
                if root {
                    // A new operation of the root stack: earlier failures are history.
                    self.failures.clear();
                }
            }
        } else {
            let key = ResourceKey {
                stack: e.stack.clone(),
                logical_id: e.logical_id.clone(),
            };
            let res = self
                .resources
                .entry(key.clone())
                .or_insert_with(|| ResourceState::new(key, &e.resource_type, e.timestamp));
            if e.physical_id.as_deref().is_some_and(|p| !p.is_empty()) {
                res.physical_id = e.physical_id.clone();
            }
            if res.status != e.status {
                if cfn_status::is_in_progress(&e.status) {
                    if !cfn_status::is_in_progress(&res.status) {
                        res.started_at = Some(e.timestamp);
                        res.finished_at = None;
                    }
                } else {
                    res.finished_at = Some(e.timestamp);
                }
                res.status = e.status.clone();
                res.status_since = e.timestamp;
            }
            if e.reason
                .as_deref()
                .is_some_and(|r| r.starts_with("Received SUCCESS signal"))
            {
                res.signals_received += 1;
            }
            res.reason = e.reason.clone();
        }
        if cfn_status::is_failed(&e.status)
            || (is_stack_row && e.status.ends_with("ROLLBACK_IN_PROGRESS"))
        {
            if self.failures.len() >= self.caps.failures.max(1) {
                self.failures.pop_front();
            }
            self.failures.push_back(FailureRecord {
                at: e.timestamp,
                stack: e.stack.clone(),
                logical_id: e.logical_id.clone(),
                resource_type: e.resource_type.clone(),
                status: e.status.clone(),
                reason: e.reason.clone().unwrap_or_default(),
                is_stack_row,
            });
        }
        self.push_row(Row {
            at: e.timestamp,
            source: Source::Cfn,
            resource: &e.logical_id,
            stack: Some(e.stack.as_str()),
            id: Some(id),
            message: Text::from(with_reason(&e.status, e.reason.as_deref())),
            level: cfn_level(&e.status),
        });
        true
    }

    fn apply_cfn_resource(&mut self, at: DateTime<Utc>, r: &CfnResource) {
        let key = ResourceKey {
            stack: r.stack.clone(),
            logical_id: r.logical_id.clone(),
        };
        let res = self
            .resources
            .entry(key.clone())
            .or_insert_with(|| ResourceState::new(key, &r.resource_type, at));
        if r.physical_id.is_some() {
            res.physical_id = r.physical_id.clone();
        }
        if r.signal.is_some() {
            res.signal = r.signal;
        }
        // Snapshot statuses only fill a gap: events carry the real transition times.
        if res.status.is_empty()
            && let Some(status) = &r.status
        {
            res.status = status.clone();
            res.status_since = at;
        }
    }

    fn apply_service(&mut self, at: DateTime<Utc>, s: &EcsService) {
        let key = ServiceKey {
            cluster: s.cluster.clone(),
            service: s.service.clone(),
        };
        let mut transitions = Vec::new();
        let svc = self
            .services
            .entry(key.clone())
            .or_insert_with(|| ServiceState::new(key, at));
        for d in &s.deployments {
            let old = svc.deployments.iter().find(|o| o.id == d.id);
            let old_state = old.and_then(|o| o.rollout_state.as_deref());
            if old.is_none() || old_state != d.rollout_state.as_deref() {
                let state = d.rollout_state.as_deref().unwrap_or(&d.status);
                let level = match state {
                    "FAILED" => Severity::Error,
                    _ => Severity::Info,
                };
                let text = ["deployment ", &d.id, " ", state].concat();
                transitions.push((
                    d.updated_at.unwrap_or(at),
                    with_reason(&text, d.rollout_state_reason.as_deref()),
                    level,
                ));
            }
        }
        svc.arn = s.arn.clone().or(svc.arn.take());
        svc.status = s.status.clone();
        svc.desired = s.desired;
        svc.running = s.running;
        svc.pending = s.pending;
        svc.task_definition = s.task_definition.clone();
        svc.deployments = s.deployments.clone();
        svc.updated_at = at;
        for (when, message, level) in transitions {
            self.push_row(Row {
                at: when,
                source: Source::EcsService,
                resource: &s.service,
                stack: None,
                id: None,
                message: Text::from(message),
                level,
            });
        }
    }

    /// False for a repeat (an event id the service still holds).
    fn apply_service_event(&mut self, at: DateTime<Utc>, e: &EcsServiceEvent) -> bool {
        let key = ServiceKey {
            cluster: e.cluster.clone(),
            service: e.service.clone(),
        };
        let cap = self.caps.service_events.max(1);
        let svc = self
            .services
            .entry(key.clone())
            .or_insert_with(|| ServiceState::new(key, at));
        // Every poll returns the newest events again; only new ids count. An event newer than
        // all we hold cannot be a repeat, which skips the scan on the common path.
        let maybe_repeat = svc
            .events
            .back()
            .is_some_and(|newest| e.created_at <= newest.created_at);
        if maybe_repeat && svc.events.iter().any(|r| r.id == e.id) {
            return false;
        }
        if svc.events.len() >= cap {
            svc.events.pop_front();
        }
        svc.events.push_back(ServiceEventRow {
            id: e.id.clone(),
            created_at: e.created_at,
            message: e.message.clone(),
        });
        self.push_row(Row {
            at: e.created_at,
            source: Source::EcsService,
            resource: &e.service,
            stack: None,
            id: Some(Text::from(e.id.as_str())),
            message: Text::from(e.message.as_str()),
            level: keyword_level(&e.message),
        });
        true
    }

    fn apply_task(&mut self, at: DateTime<Utc>, t: &EcsTask) {
        // A stopped task that fell off the ring is still listed by ECS for an hour: a later
        // poll must not bring it back as new.
        if self.forgotten_tasks.contains(&t.task_arn) {
            return;
        }
        if t.last_status != "STOPPED" && self.gone_tasks.contains(&t.task_arn) {
            return;
        }
        self.task_owners
            .learn(t, self.caps.stopped_tasks.max(1) * 4);
        let status_changed = match self.tasks.get_mut(&t.task_arn) {
            Some(existing) => {
                let changed = existing.task.last_status != t.last_status;
                self.stopped_groups.remove(existing);
                // Polls list a task again as it was: nothing to copy then.
                if existing.task != *t {
                    existing.task = t.clone();
                }
                existing.updated_at = at;
                self.stopped_groups.insert(existing);
                changed
            }
            None => {
                let state = TaskState {
                    task: t.clone(),
                    first_seen: at,
                    updated_at: at,
                };
                self.stopped_groups.insert(&state);
                self.tasks.insert(t.task_arn.clone(), state);
                true
            }
        };
        if !status_changed {
            return;
        }
        if t.last_status == "STOPPED" {
            self.live_tasks.remove(&t.task_arn);
        } else {
            self.live_tasks.insert(t.task_arn.clone());
        }
        if t.last_status == "STOPPED" {
            self.stopped_order.push_back(t.task_arn.clone());
            while self.stopped_order.len() > self.caps.stopped_tasks.max(1) {
                if let Some(old) = self.stopped_order.pop_front() {
                    if let Some(gone) = self.tasks.remove(&old) {
                        self.stopped_groups.remove(&gone);
                    }
                    self.live_tasks.remove(&old);
                    self.forgotten_tasks.insert(old.clone());
                    self.forgotten_order.push_back(old);
                }
            }
            while self.forgotten_order.len() > self.caps.stopped_tasks.max(1) {
                if let Some(old) = self.forgotten_order.pop_front() {
                    self.forgotten_tasks.remove(&old);
                }
            }
        }
        let (when, message, level) = if t.last_status == "STOPPED" {
            let mut msg = String::from("STOPPED");
            if let Some(reason) = &t.stopped_reason {
                msg.push_str(": ");
                msg.push_str(reason);
            }
            for c in &t.containers {
                if let Some(code) = c.exit_code {
                    let _ = write!(msg, " [{} exit {}]", c.name, code);
                }
                if let Some(reason) = &c.reason {
                    msg.push_str(" [");
                    msg.push_str(&c.name);
                    msg.push_str(": ");
                    msg.push_str(reason);
                    msg.push(']');
                }
            }
            let level = if t.is_expected_stop() {
                Severity::Info
            } else {
                Severity::Error
            };
            (t.stopped_at.unwrap_or(at), msg, level)
        } else {
            let when = match t.last_status.as_str() {
                "RUNNING" => t.started_at.unwrap_or(at),
                _ => at,
            };
            (when, t.last_status.clone(), Severity::Info)
        };
        let resource = match t.service_name() {
            Some(svc) => [svc, "/", task_id_of(&t.task_arn)].concat(),
            None => task_id_of(&t.task_arn).to_string(),
        };
        self.push_row(Row {
            at: when,
            source: Source::EcsTask,
            resource: &resource,
            stack: None,
            id: None,
            message: Text::from(message),
            level,
        });
    }

    fn apply_target(&mut self, at: DateTime<Utc>, t: &TargetHealth) {
        let key = TargetKey {
            target_group: t.target_group.clone(),
            target_id: t.target_id.clone(),
            port: t.port,
        };
        if t.is_gone() {
            self.remove_target(at, &key, "deregistered (Target.NotRegistered)");
            return;
        }
        // Some(old state) when the group's counts must move; Some(None) for a new target.
        let mut recount: Option<Option<String>> = None;
        let changed = match self.targets.get_mut(&key) {
            Some(existing) => {
                let changed = existing.state != t.state || existing.reason != t.reason;
                if existing.state != t.state {
                    existing.since = at;
                    recount = Some(Some(std::mem::take(&mut existing.state)));
                }
                existing.state = t.state.clone();
                existing.reason = t.reason.clone();
                existing.description = t.description.clone();
                changed
            }
            None => {
                recount = Some(None);
                self.targets.insert(
                    key.clone(),
                    TargetState {
                        key: key.clone(),
                        state: t.state.clone(),
                        reason: t.reason.clone(),
                        description: t.description.clone(),
                        since: at,
                    },
                );
                true
            }
        };
        if let Some(old_state) = recount {
            if let Some(old_state) = old_state {
                self.count_target(&key.target_group, &old_state, false);
            }
            self.count_target(&key.target_group, &t.state, true);
        }
        if changed {
            let mut message = t.state.clone();
            if let Some(reason) = &t.reason {
                message.push_str(" (");
                message.push_str(reason);
                message.push(')');
            }
            if let Some(desc) = &t.description {
                message.push_str(": ");
                message.push_str(desc);
            }
            let level = match t.state.as_str() {
                "unhealthy" | "unhealthy.draining" => Severity::Error,
                "unavailable" => Severity::Warn,
                _ => Severity::Info,
            };
            let resource = key.label();
            self.push_row(Row {
                at,
                source: Source::Elb,
                resource: &resource,
                stack: None,
                id: None,
                message: Text::from(message),
                level,
            });
        }
    }

    /// A target left its group: forgotten, the group's counts corrected, one row said.
    fn remove_target(&mut self, at: DateTime<Utc>, key: &TargetKey, message: &str) {
        if let Some(old) = self.targets.remove(key) {
            self.count_target(&key.target_group, &old.state, false);
            let resource = key.label();
            self.push_row(Row {
                at,
                source: Source::Elb,
                resource: &resource,
                stack: None,
                id: None,
                message: Text::from(message),
                level: Severity::Info,
            });
        }
    }

    fn apply_target_gone(&mut self, at: DateTime<Utc>, g: &TargetGone) {
        let key = TargetKey {
            target_group: g.target_group.clone(),
            target_id: g.target_id.clone(),
            port: g.port,
        };
        self.remove_target(at, &key, "left the target group");
    }

    /// A task that no longer exists leaves the live tasks. A stopped one is kept: it is
    /// history (ECS forgets stopped tasks after an hour; the store keeps its own ring).
    fn apply_task_gone(&mut self, at: DateTime<Utc>, g: &EcsTaskGone) {
        let cap = self.caps.stopped_tasks;
        self.gone_tasks.insert(g.task_arn.clone(), cap);
        let Some(was) = self.tasks.get(&g.task_arn).filter(|t| !t.is_stopped()) else {
            return;
        };
        let message = format!("no longer exists (was {})", was.task.last_status);
        let resource = match was.task.service_name() {
            Some(svc) => [svc, "/", task_id_of(&g.task_arn)].concat(),
            None => task_id_of(&g.task_arn).to_string(),
        };
        if let Some(gone) = self.tasks.remove(&g.task_arn) {
            self.stopped_groups.remove(&gone);
        }
        self.live_tasks.remove(&g.task_arn);
        self.push_row(Row {
            at,
            source: Source::EcsTask,
            resource: &resource,
            stack: None,
            id: None,
            message: Text::from(message),
            level: Severity::Info,
        });
    }

    /// A service that no longer exists leaves the ECS pane. Its tasks stay: a stopped task is
    /// history, and a live one is reported stopped or gone by its own source.
    fn apply_service_gone(&mut self, at: DateTime<Utc>, g: &EcsServiceGone) {
        let key = ServiceKey {
            cluster: g.cluster.clone(),
            service: g.service.clone(),
        };
        if self.services.remove(&key).is_some() {
            self.push_row(Row {
                at,
                source: Source::EcsService,
                resource: &g.service,
                stack: None,
                id: None,
                message: Text::from("service no longer exists"),
                level: Severity::Info,
            });
        }
    }

    /// A source starts watching something: remembered (the newest [`StoreCaps::watched`]) and
    /// said once on the timeline.
    fn apply_watching(&mut self, at: DateTime<Utc>, w: &Watching) {
        let key = WatchKey {
            what: super::byte_prefix(&w.what, MAX_WATCHED_TEXT).to_string(),
            id: super::byte_prefix(&w.id, MAX_WATCHED_TEXT).to_string(),
        };
        if self.watched.contains_key(&key) {
            return;
        }
        let via = w
            .via
            .as_deref()
            .filter(|v| !v.is_empty())
            .map(|v| super::byte_prefix(v, MAX_WATCHED_TEXT).to_string());
        let mut message = format!("watching {} {}", key.what.replace('_', " "), key.id);
        if let Some(via) = &via {
            message.push_str(&format!(" (from {via})"));
        }
        let resource = key.id.clone();
        self.watched_order.push_back(key.clone());
        self.watched.insert(
            key.clone(),
            Watched {
                key,
                source: super::byte_prefix(&w.source, MAX_WATCHED_TEXT).to_string(),
                via,
                since: at,
            },
        );
        while self.watched_order.len() > self.caps.watched.max(1) {
            if let Some(old) = self.watched_order.pop_front() {
                self.watched.remove(&old);
            }
        }
        self.push_row(Row {
            at,
            source: Source::Stackwatch,
            resource: &resource,
            stack: None,
            id: None,
            message: Text::from(message),
            level: Severity::Info,
        });
    }

    fn count_target(&mut self, group: &str, state: &str, add: bool) {
        match self.target_groups.get_mut(group) {
            Some(health) => health.count(state, add),
            None => {
                let mut health = TargetGroupHealth::default();
                health.count(state, add);
                self.target_groups.insert(group.to_string(), health);
            }
        }
    }

    /// False for a repeat: the same event id, or without one the same group, stream, time
    /// and message.
    fn apply_log(&mut self, l: &LogEvent, prep: Option<&LogPrep>) -> bool {
        let key = prep.map_or_else(|| LogKey::of(l), |p| p.key);
        if !self.seen_logs.insert(key, self.caps.seen_ids) {
            return false;
        }
        // Worked out only now when not ahead: a repeat needs neither.
        let (message, level) = match prep {
            Some(p) => (p.message.clone(), p.level),
            None => (bounded(&l.message), keyword_level(&l.message)),
        };
        let event_id = l.event_id.as_deref().map(Text::from);
        self.dropped_logs += make_room(&mut self.logs, self.caps.log_lines);
        let stream = self.intern(&l.stream);
        let line = LogLine {
            at: l.timestamp,
            group: self.intern(&l.group),
            stream: stream.clone(),
            message: message.clone(),
            event_id: event_id.clone(),
            gap: false,
        };
        self.logs.push_back(line);
        // Built here rather than by push_row: the stream is interned once for both rings.
        self.push_entry(TimelineEntry {
            seq: 0,
            at: l.timestamp,
            source: Source::Log,
            resource: stream,
            stack: None,
            id: event_id,
            level,
            message,
            note: false,
        });
        true
    }

    /// A stretch of a group's lines that could not be read: a mark in the log tail and a
    /// warning on the timeline.
    fn apply_log_gap(&mut self, g: &LogGap) {
        self.dropped_logs += make_room(&mut self.logs, self.caps.log_lines);
        let message = bounded(&format!(
            "lines from {} to {} could not be read: {}",
            g.from.format("%H:%M:%S"),
            g.to.format("%H:%M:%S"),
            g.reason
        ));
        let group = self.intern(&g.group);
        self.logs.push_back(LogLine {
            at: g.from,
            group: group.clone(),
            stream: Text::from(""),
            message: message.clone(),
            event_id: None,
            gap: true,
        });
        self.push_entry(TimelineEntry {
            seq: 0,
            at: g.from,
            source: Source::Log,
            resource: group,
            stack: None,
            id: None,
            level: Severity::Warn,
            message,
            note: false,
        });
    }

    /// A note: a timeline row of its own and an entry in the bounded list of notes.
    fn apply_note(&mut self, at: DateTime<Utc>, n: &Note) {
        let text = note_text(&n.text);
        if self.notes.len() >= self.caps.notes.max(1) {
            self.notes.pop_front();
        }
        self.notes.push_back(NoteEntry {
            at,
            text: text.clone(),
            author: n
                .author
                .as_deref()
                .map(|a| Text::from(super::byte_prefix(a, 200))),
        });
        let resource = self.intern("note");
        self.push_entry(TimelineEntry {
            seq: 0,
            at,
            source: Source::Stackwatch,
            resource,
            stack: None,
            id: None,
            message: text,
            level: Severity::Info,
            note: true,
        });
    }

    fn apply_source_status(&mut self, at: DateTime<Utc>, s: &SourceStatus) {
        let changed = self.sources.get(&s.name).is_none_or(|o| o.state != s.state);
        self.sources.insert(s.name.clone(), s.clone());
        if changed {
            self.push_row(Row {
                at,
                source: Source::Stackwatch,
                resource: &s.name,
                stack: None,
                id: None,
                message: Text::from(format!("source {} is {}", s.name, s.state.as_str())),
                level: match s.state {
                    super::SourceState::Ok => Severity::Info,
                    _ => Severity::Warn,
                },
            });
        }
    }

    /// Tasks of one service (by `service:NAME` group), any order.
    pub fn tasks_of_service<'a>(&'a self, service: &'a str) -> impl Iterator<Item = &'a TaskState> {
        self.tasks
            .values()
            .filter(move |t| t.task.service_name() == Some(service))
    }

    /// The tasks of a service that have not stopped (an index: the stopped ones are most of
    /// the store).
    pub fn live_tasks_of_service<'a>(
        &'a self,
        service: &'a str,
    ) -> impl Iterator<Item = &'a TaskState> {
        self.live_tasks
            .iter()
            .filter_map(|arn| self.tasks.get(arn))
            .filter(move |t| t.task.service_name() == Some(service))
    }
}

/// Stopped tasks per (cluster, service), grouped by their stopped reason.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StoppedGroups {
    services: BTreeMap<(String, String), BTreeMap<String, StoppedTasks>>,
}

/// A stopped task's place in its group: by stop time, then when last read, then ARN, newest
/// first.
type NewestFirst = std::cmp::Reverse<(Option<DateTime<Utc>>, DateTime<Utc>, String)>;

/// The stopped tasks of one service that share a reason.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StoppedTasks {
    /// Newest first: by stop time, then when last read, then ARN.
    order: std::collections::BTreeSet<NewestFirst>,
    /// How many of them exited with each code.
    exit_codes: BTreeMap<i32, usize>,
    /// How many of them stopped unexpectedly (not a deploy or a scale-in).
    unexpected: usize,
}

impl StoppedTasks {
    pub fn len(&self) -> usize {
        self.order.len()
    }

    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    /// Task ARNs, newest first.
    pub fn newest(&self) -> impl Iterator<Item = &str> {
        self.order
            .iter()
            .map(|std::cmp::Reverse((_, _, arn))| arn.as_str())
    }

    /// The exit codes seen, in order.
    pub fn exit_codes(&self) -> impl Iterator<Item = i32> + '_ {
        self.exit_codes.keys().copied()
    }

    /// Some of them stopped unexpectedly.
    pub fn any_unexpected(&self) -> bool {
        self.unexpected > 0
    }
}

impl StoppedGroups {
    /// The groups of a service, by reason.
    pub fn of(&self, cluster: &str, service: &str) -> impl Iterator<Item = (&str, &StoppedTasks)> {
        self.services
            .get(&(cluster.to_string(), service.to_string()))
            .into_iter()
            .flat_map(|groups| groups.iter().map(|(reason, g)| (reason.as_str(), g)))
    }

    fn key(t: &TaskState) -> Option<(String, String)> {
        let service = t.task.service_name().filter(|_| t.is_stopped())?;
        Some((t.task.cluster.clone(), service.to_string()))
    }

    fn sort_key(t: &TaskState) -> NewestFirst {
        std::cmp::Reverse((t.task.stopped_at, t.updated_at, t.task.task_arn.clone()))
    }

    /// Counts `t` in when it is a stopped task of a service.
    fn insert(&mut self, t: &TaskState) {
        let Some(key) = Self::key(t) else { return };
        let reason = t.task.stopped_reason.clone().unwrap_or_default();
        let group = self
            .services
            .entry(key)
            .or_default()
            .entry(reason)
            .or_default();
        if group.order.insert(Self::sort_key(t)) {
            for code in t.task.containers.iter().filter_map(|c| c.exit_code) {
                *group.exit_codes.entry(code).or_default() += 1;
            }
            group.unexpected += usize::from(!t.task.is_expected_stop());
        }
    }

    /// Counts `t` out, as it was when counted in.
    fn remove(&mut self, t: &TaskState) {
        let Some(key) = Self::key(t) else { return };
        let reason = t.task.stopped_reason.as_deref().unwrap_or_default();
        let Some(groups) = self.services.get_mut(&key) else {
            return;
        };
        let Some(group) = groups.get_mut(reason) else {
            return;
        };
        if group.order.remove(&Self::sort_key(t)) {
            for code in t.task.containers.iter().filter_map(|c| c.exit_code) {
                if let Some(n) = group.exit_codes.get_mut(&code) {
                    *n -= 1;
                    if *n == 0 {
                        group.exit_codes.remove(&code);
                    }
                }
            }
            group.unexpected -= usize::from(!t.task.is_expected_stop());
        }
        if group.order.is_empty() {
            groups.remove(reason);
            if groups.is_empty() {
                self.services.remove(&key);
            }
        }
    }
}

/// The most of one log message the store keeps: the caps count lines, so a line's bytes need a
/// bound of their own (recordings keep the whole message).
pub const MAX_STORED_TEXT: usize = 64 * 1024;

/// Text cut to [`MAX_STORED_TEXT`] bytes on a character boundary.
fn bounded(text: &str) -> Text {
    let kept = super::byte_prefix(text, MAX_STORED_TEXT);
    if kept.len() == text.len() {
        Text::from(text)
    } else {
        Text::from(format!("{kept}…"))
    }
}

/// A note's text cut to [`super::MAX_NOTE_CHARS`] characters (a recording may hold more).
fn note_text(text: &str) -> Text {
    match text.char_indices().nth(super::MAX_NOTE_CHARS) {
        Some((end, _)) => Text::from(format!("{}…", &text[..end])),
        None => Text::from(text),
    }
}

fn with_reason(status: &str, reason: Option<&str>) -> String {
    match reason {
        Some(r) if !r.is_empty() => [status, ": ", r].concat(),
        _ => status.to_string(),
    }
}

/// The level of a CloudFormation status, for colour and the faults-only filter.
pub fn cfn_level(status: &str) -> Severity {
    if cfn_status::is_failed(status) {
        Severity::Error
    } else if cfn_status::is_rollback(status) {
        Severity::Warn
    } else {
        Severity::Info
    }
}

/// A cheap keyword level for free text (service events, log lines); the detector's rules say
/// what a message means, this only decides colour and the faults-only filter.
pub fn keyword_level(text: &str) -> Severity {
    // A hand-rolled, ASCII case-insensitive scan: it runs on every log line. Dispatching on
    // the first letter keeps the common letters (e, t) to one or two short compares.
    let bytes = text.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        let words: &[&[u8]] = match b | 0x20 {
            b'e' => &[b"error", b"exception"],
            b'f' => &[b"fail", b"fatal"],
            b'u' => &[b"unhealthy", b"unable"],
            b'p' => &[b"panic"],
            b't' => &[b"traceback"],
            _ => continue,
        };
        let rest = &bytes[i..];
        if words
            .iter()
            .any(|w| rest.len() >= w.len() && rest[..w.len()].eq_ignore_ascii_case(w))
        {
            return Severity::Warn;
        }
    }
    Severity::Info
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn target(state: &str, reason: &str) -> Observation {
        Observation::new(
            Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).unwrap(),
            TargetHealth {
                target_group: "arn:tg".into(),
                target_id: "10.0.1.5".into(),
                port: Some(3000),
                state: state.into(),
                reason: Some(reason.into()),
                description: None,
            },
        )
    }

    #[test]
    fn keyword_level_finds_fault_words_in_any_case() {
        for text in [
            "ERROR: boom",
            "Unhandled Exception in thread",
            "health check FAILED",
            "Traceback (most recent call last):",
            "thread 'main' panicked",
            "x unable",
        ] {
            assert_eq!(keyword_level(text), Severity::Warn, "{text}");
        }
        for text in ["", "GET /health 200 3ms", "fa", "erro", "ünicode ✓ fine"] {
            assert_eq!(keyword_level(text), Severity::Info, "{text}");
        }
    }

    #[test]
    fn a_target_that_left_its_group_is_forgotten() {
        let mut store = Store::new(StoreCaps::default());
        store.apply(&target("draining", "Target.DeregistrationInProgress"));
        assert_eq!(store.targets.len(), 1);
        assert_eq!(store.target_groups["arn:tg"].present, 1);
        assert!(
            store
                .apply(&target("unused", "Target.NotRegistered"))
                .rows_added
        );
        assert!(store.targets.is_empty());
        assert_eq!(store.target_groups["arn:tg"], TargetGroupHealth::default());
        assert_eq!(
            &*store.timeline.back().unwrap().message,
            "deregistered (Target.NotRegistered)"
        );
        // Said again by the next poll: nothing more to say.
        assert!(
            !store
                .apply(&target("unused", "Target.NotRegistered"))
                .rows_added
        );
    }

    #[test]
    fn a_target_first_seen_with_an_empty_state_is_counted_right() {
        let mut store = Store::new(StoreCaps::default());
        store.apply(&target("", "Elb.RegistrationInProgress"));
        store.apply(&target("healthy", "Elb.RegistrationInProgress"));
        let health = store.target_groups["arn:tg"];
        assert_eq!((health.present, health.healthy), (1, 1));
    }

    #[test]
    fn stopped_tasks_dropped_from_the_ring_stay_dropped() {
        let caps = StoreCaps {
            stopped_tasks: 2,
            ..StoreCaps::default()
        };
        let mut store = Store::new(caps);
        let stopped = |id: &str| {
            Observation::new(
                Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).unwrap(),
                EcsTask {
                    cluster: "c".into(),
                    task_arn: format!("arn:aws:ecs:eu-west-1:1:task/c/{id}"),
                    group: Some("service:api".into()),
                    task_definition: "api:1".into(),
                    last_status: "STOPPED".into(),
                    desired_status: "STOPPED".into(),
                    stop_code: None,
                    stopped_reason: None,
                    containers: Vec::new(),
                    created_at: None,
                    started_at: None,
                    stopped_at: None,
                    private_ip: None,
                },
            )
        };
        for id in ["a", "b", "c"] {
            store.apply(&stopped(id));
        }
        assert_eq!(store.tasks.len(), 2);
        let rows = store.timeline.len();
        // The next poll lists "a" again: no new task, no new row.
        assert!(!store.apply(&stopped("a")).rows_added);
        assert_eq!((store.tasks.len(), store.timeline.len()), (2, rows));
    }

    #[test]
    fn notes_are_timeline_rows_and_a_bounded_list() {
        let caps = StoreCaps {
            notes: 3,
            ..StoreCaps::default()
        };
        let mut store = Store::new(caps);
        let at = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).unwrap();
        for i in 0..5 {
            let applied = store.apply(&Observation::new(
                at + chrono::TimeDelta::seconds(i),
                Note {
                    text: format!("note {i}"),
                    author: None,
                },
            ));
            assert!(applied.rows_added && !applied.repeat);
        }
        let texts: Vec<&str> = store.notes.iter().map(|n| &*n.text).collect();
        assert_eq!(
            texts,
            ["note 2", "note 3", "note 4"],
            "the newest, oldest first"
        );
        let row = store.timeline.back().unwrap();
        assert_eq!(
            (
                row.source,
                &*row.resource,
                &*row.message,
                row.level,
                row.note
            ),
            (Source::Stackwatch, "note", "note 4", Severity::Info, true)
        );
        assert_eq!(store.timeline.len(), 5);
        // A recording may hold a longer note than one typed: the store cuts it.
        store.apply(&Observation::new(
            at,
            Note {
                text: "x".repeat(10 * super::super::MAX_NOTE_CHARS),
                author: Some("ana".into()),
            },
        ));
        let kept = store.notes.back().unwrap();
        assert_eq!(kept.text.chars().count(), super::super::MAX_NOTE_CHARS + 1);
        assert_eq!(kept.author.as_deref(), Some("ana"));
    }

    #[test]
    fn huge_log_lines_are_bounded_in_memory() {
        let mut store = Store::new(StoreCaps::default());
        let at = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).unwrap();
        store.apply(&Observation::new(
            at,
            LogEvent {
                group: "g".into(),
                stream: "s".into(),
                timestamp: at,
                message: "é".repeat(MAX_STORED_TEXT),
                event_id: None,
            },
        ));
        let kept = &store.logs.back().unwrap().message;
        assert!(kept.len() <= MAX_STORED_TEXT + '…'.len_utf8());
        assert!(kept.ends_with('…'));
    }

    #[test]
    fn rings_are_bounded_by_their_caps() {
        let caps = StoreCaps {
            timeline_rows: 3,
            log_lines: 2,
            ..StoreCaps::default()
        };
        let mut store = Store::new(caps);
        for i in 0..10 {
            store.apply(&Observation::new(
                Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, i).unwrap(),
                LogEvent {
                    group: "g".into(),
                    stream: "s".into(),
                    timestamp: Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, i).unwrap(),
                    message: format!("line {i}"),
                    event_id: None,
                },
            ));
        }
        assert_eq!(store.timeline.len(), 3);
        assert_eq!(store.logs.len(), 2);
        assert_eq!(store.dropped_logs, 8);
        assert_eq!(store.dropped_timeline, 7);
        assert_eq!(&*store.logs.back().unwrap().message, "line 9");
        // Log text is held once, shared by the log tail and the timeline.
        assert!(Arc::ptr_eq(
            &store.logs.back().unwrap().message,
            &store.timeline.back().unwrap().message
        ));
    }

    fn at(secs: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).unwrap() + chrono::TimeDelta::seconds(secs)
    }

    fn log_event(secs: i64, message: &str, event_id: Option<&str>) -> Observation {
        Observation::new(
            at(secs),
            LogEvent {
                group: "/ecs/app".into(),
                stream: "app/web/1".into(),
                timestamp: at(secs),
                message: message.into(),
                event_id: event_id.map(str::to_string),
            },
        )
    }

    #[test]
    fn a_late_row_is_placed_by_its_time_and_handed_on_as_it_came() {
        let mut store = Store::new(StoreCaps::default());
        store.apply(&log_event(10, "ten", Some("a")));
        store.apply(&log_event(13, "thirteen", Some("b")));
        // Logs arrive seconds late: 12 comes after 13.
        store.apply(&log_event(12, "twelve", Some("c")));
        let order: Vec<&str> = store.timeline.iter().map(|e| &*e.message).collect();
        assert_eq!(order, ["ten", "twelve", "thirteen"]);
        let fresh: Vec<&str> = store.fresh_rows().iter().map(|e| &*e.message).collect();
        assert_eq!(fresh, ["twelve"]);
        assert_eq!(
            store.timeline[1].seq, 2,
            "numbered in the order rows arrived"
        );
    }

    fn cfn_event(id: &str) -> Observation {
        Observation::new(
            at(1),
            CfnEvent {
                stack: "app".into(),
                stack_id: "arn:stack/app/1".into(),
                event_id: id.into(),
                logical_id: "Service".into(),
                physical_id: None,
                resource_type: "AWS::ECS::Service".into(),
                status: "CREATE_FAILED".into(),
                reason: Some("boom".into()),
                timestamp: at(0),
            },
        )
    }

    fn task(id: &str, status: &str) -> Observation {
        Observation::new(
            at(2),
            EcsTask {
                cluster: "c".into(),
                task_arn: format!("arn:aws:ecs:eu-west-1:1:task/c/{id}"),
                group: Some("service:api".into()),
                task_definition: "api:1".into(),
                last_status: status.into(),
                desired_status: "RUNNING".into(),
                stop_code: None,
                stopped_reason: None,
                containers: Vec::new(),
                created_at: None,
                started_at: None,
                stopped_at: None,
                private_ip: None,
            },
        )
    }

    #[test]
    fn task_owners_follow_ids_and_ips_and_are_bounded() {
        let caps = StoreCaps {
            stopped_tasks: 2,
            ..StoreCaps::default()
        };
        let mut store = Store::new(caps);
        let at_ip = |id: &str, ip: &str, group: &str| {
            let mut obs = task(id, "RUNNING");
            if let ObservationKind::EcsTask(t) = &mut obs.kind {
                t.private_ip = Some(ip.into());
                t.group = Some(group.into());
            }
            obs
        };
        store.apply(&at_ip("t1", "10.0.0.1", "service:api"));
        assert_eq!(store.task_owners.of_task("t1"), Some("svc:api"));
        assert_eq!(store.task_owners.of_ip("10.0.0.1"), Some("svc:api"));
        // A newer task at the same IP takes it over.
        store.apply(&at_ip("t2", "10.0.0.1", "family:migrate"));
        assert_eq!(store.task_owners.of_ip("10.0.0.1"), Some("family:api"));
        // The older task read again (every poll lists it) does not take it back.
        store.apply(&at_ip("t1", "10.0.0.1", "service:api"));
        assert_eq!(store.task_owners.of_ip("10.0.0.1"), Some("family:api"));
        assert_eq!(
            store.task_owners.task_at_ip("10.0.0.1"),
            Some("arn:aws:ecs:eu-west-1:1:task/c/t2")
        );
        // Bounded: 4 × the stopped-task cap; forgetting t2 frees its IP, t1's never held it.
        for i in 0..20 {
            store.apply(&at_ip(
                &format!("n{i}"),
                &format!("10.1.0.{i}"),
                "service:api",
            ));
        }
        assert_eq!(store.task_owners.len(), 8);
        assert_eq!(store.task_owners.of_task("t1"), None);
        assert_eq!(store.task_owners.of_ip("10.0.0.1"), None);
        assert_eq!(store.task_owners.of_ip("10.1.0.19"), Some("svc:api"));
    }

    #[test]
    fn a_cfn_event_applied_twice_is_one_row_and_one_failure() {
        let mut store = Store::new(StoreCaps::default());
        let first = store.apply(&cfn_event("e1"));
        assert_eq!(
            first,
            Applied {
                rows_added: true,
                repeat: false
            }
        );
        let (rows, revision) = (store.timeline.len(), store.revision);
        let again = store.apply(&cfn_event("e1"));
        assert_eq!(
            again,
            Applied {
                rows_added: false,
                repeat: true
            }
        );
        assert_eq!(store.timeline.len(), rows);
        assert_eq!(store.failures.len(), 1);
        assert_eq!(store.revision, revision, "nothing changed: no redraw");
        assert_eq!((store.observations, store.repeats), (2, 1));
        assert!(!store.apply(&cfn_event("e2")).repeat);
    }

    #[test]
    fn a_log_event_applied_twice_is_one_line_by_id_or_by_content() {
        let mut store = Store::new(StoreCaps::default());
        assert!(!store.apply(&log_event(0, "hello", Some("1"))).repeat);
        assert!(store.apply(&log_event(0, "hello", Some("1"))).repeat);
        // Another id with the same text is another event.
        assert!(!store.apply(&log_event(0, "hello", Some("2"))).repeat);
        // Without ids: group, stream, time and message say which event it is.
        assert!(!store.apply(&log_event(1, "hello", None)).repeat);
        assert!(store.apply(&log_event(1, "hello", None)).repeat);
        assert!(!store.apply(&log_event(1, "hello again", None)).repeat);
        assert!(!store.apply(&log_event(2, "hello", None)).repeat);
        assert_eq!(store.logs.len(), 5);
        assert_eq!(store.timeline.len(), 5);
    }

    #[test]
    fn a_log_gap_is_a_mark_in_the_tail_and_a_warning_on_the_timeline() {
        let mut store = Store::new(StoreCaps::default());
        store.apply(&log_event(0, "before", None));
        let gap = LogGap {
            group: "/ecs/app".into(),
            from: at(1),
            to: at(61),
            reason: "access denied: not allowed".into(),
        };
        assert!(!store.apply(&Observation::new(at(61), gap)).repeat);
        let mark = store.logs.back().unwrap();
        assert!(mark.gap && !store.logs[0].gap);
        assert_eq!(mark.at, at(1));
        assert!(mark.message.contains("could not be read: access denied"));
        let row = store.timeline.back().unwrap();
        assert_eq!((row.source, row.level), (Source::Log, Severity::Warn));
        assert_eq!(&*row.resource, "/ecs/app");
    }

    #[test]
    fn the_seen_id_windows_never_grow_past_their_cap() {
        let caps = StoreCaps {
            seen_ids: 3,
            ..StoreCaps::default()
        };
        let mut store = Store::new(caps);
        for i in 0..50 {
            store.apply(&cfn_event(&format!("e{i}")));
            store.apply(&log_event(i, "line", Some(&format!("{i}"))));
            store.apply(&log_event(i, "no id", None));
            assert!(store.seen_cfn_events.len() <= 3);
            assert!(store.seen_logs.len() <= 3);
        }
        // The newest are still known; the oldest are forgotten (a read that old is not a
        // repeat of an overlapping poll).
        assert!(store.apply(&cfn_event("e49")).repeat);
        assert!(!store.apply(&cfn_event("e0")).repeat);
    }

    #[test]
    fn recent_keys_keep_the_newest_within_the_cap() {
        let mut keys = RecentKeys::default();
        for i in 0..10 {
            assert!(keys.insert(i, 4));
            assert!(!keys.insert(i, 4));
            assert!(keys.len() <= 4);
        }
        assert!(keys.contains(&9) && keys.contains(&6) && !keys.contains(&5));
        // A cap of zero still remembers the last one.
        assert!(keys.insert(10, 0));
        assert_eq!(keys.len(), 1);
    }

    #[test]
    fn large_rings_drop_their_oldest_a_chunk_at_a_time_and_count_every_one() {
        // A cap of 256 drops 4 at a time: the ring never holds more than its cap, keeps at
        // least cap - 4, and every row ever pushed is either held or counted as dropped.
        let mut ring: VecDeque<u32> = VecDeque::new();
        let mut dropped = 0;
        for i in 0..1000 {
            dropped += make_room(&mut ring, 256);
            ring.push_back(i);
            assert!(
                ring.len() <= 256 && (i < 252 || ring.len() >= 252),
                "{i}: {}",
                ring.len()
            );
            assert_eq!(dropped + ring.len() as u64, u64::from(i) + 1);
            assert_eq!(ring.back(), Some(&i));
        }
        let mut keys = RecentKeys::default();
        for i in 0..1000u32 {
            assert!(keys.insert(i, 256));
            assert!(keys.len() <= 256 && (i < 252 || keys.len() >= 252));
        }
        assert!(keys.contains(&999) && keys.contains(&(1000 - 252)) && !keys.contains(&700));
    }

    #[test]
    fn a_task_that_is_gone_leaves_the_live_tasks_and_stays_gone() {
        let mut store = Store::new(StoreCaps::default());
        store.apply(&task("a", "RUNNING"));
        store.apply(&task("b", "STOPPED"));
        let gone = |id: &str| {
            Observation::new(
                at(10),
                EcsTaskGone {
                    cluster: "c".into(),
                    task_arn: format!("arn:aws:ecs:eu-west-1:1:task/c/{id}"),
                },
            )
        };
        assert_eq!(store.live_tasks_of_service("api").count(), 1);
        assert!(store.apply(&gone("a")).rows_added);
        assert!(store.tasks_of_service("api").all(|t| t.is_stopped()));
        assert_eq!(store.live_tasks_of_service("api").count(), 0);
        let row = store.timeline.back().unwrap();
        assert_eq!(
            (&*row.resource, &*row.message, row.source),
            ("api/a", "no longer exists (was RUNNING)", Source::EcsTask)
        );
        // A stopped task is history: kept, nothing said.
        assert!(!store.apply(&gone("b")).rows_added);
        assert_eq!(store.tasks.len(), 1);
        // A late read from before it went does not bring it back...
        assert!(!store.apply(&task("a", "RUNNING")).rows_added);
        assert_eq!(store.tasks.len(), 1);
        // ...but its stop, with the reason, still counts.
        assert!(store.apply(&task("a", "STOPPED")).rows_added);
        assert_eq!(store.tasks.len(), 2);
        // Unknown tasks: nothing to do.
        assert!(!store.apply(&gone("zzz")).rows_added);
    }

    #[test]
    fn live_tasks_are_the_tasks_that_have_not_stopped() {
        let caps = StoreCaps {
            stopped_tasks: 2,
            ..StoreCaps::default()
        };
        let mut store = Store::new(caps);
        let live = |store: &Store| {
            let mut ids: Vec<String> = store
                .live_tasks_of_service("api")
                .map(|t| task_id_of(&t.task.task_arn).to_string())
                .collect();
            ids.sort();
            let mut expected: Vec<String> = store
                .tasks_of_service("api")
                .filter(|t| !t.is_stopped())
                .map(|t| task_id_of(&t.task.task_arn).to_string())
                .collect();
            expected.sort();
            assert_eq!(ids, expected);
            ids
        };
        store.apply(&task("a", "PENDING"));
        store.apply(&task("a", "RUNNING"));
        store.apply(&task("b", "RUNNING"));
        assert_eq!(live(&store), ["a", "b"]);
        store.apply(&task("a", "STOPPED"));
        assert_eq!(live(&store), ["b"]);
        // The ring of stopped tasks turns over; the live ones stay.
        for id in ["c", "d", "e"] {
            store.apply(&task(id, "STOPPED"));
        }
        assert_eq!(live(&store), ["b"]);
        assert!(store.live_tasks_of_service("other").next().is_none());
    }

    #[test]
    fn stopped_groups_agree_with_the_tasks_they_index() {
        let caps = StoreCaps {
            stopped_tasks: 7,
            ..StoreCaps::default()
        };
        let mut store = Store::new(caps);
        // What the index should say, recounted from the stored tasks.
        let recount = |store: &Store| {
            type Group = (Vec<String>, Vec<i32>, usize);
            let mut groups: BTreeMap<(String, String, String), Group> = BTreeMap::new();
            let mut stopped: Vec<&TaskState> =
                store.tasks.values().filter(|t| t.is_stopped()).collect();
            stopped.sort_by(|a, b| {
                (b.task.stopped_at, b.updated_at, &b.task.task_arn).cmp(&(
                    a.task.stopped_at,
                    a.updated_at,
                    &a.task.task_arn,
                ))
            });
            for t in stopped {
                let Some(service) = t.task.service_name() else {
                    continue;
                };
                let reason = t.task.stopped_reason.clone().unwrap_or_default();
                let g = groups
                    .entry((t.task.cluster.clone(), service.to_string(), reason))
                    .or_default();
                g.0.push(t.task.task_arn.clone());
                g.1.extend(t.task.containers.iter().filter_map(|c| c.exit_code));
                g.2 += usize::from(!t.task.is_expected_stop());
            }
            groups
                .into_iter()
                .map(|(k, (arns, mut codes, unexpected))| {
                    codes.sort();
                    codes.dedup();
                    (k, (arns, codes, unexpected > 0))
                })
                .collect::<Vec<_>>()
        };
        let indexed = |store: &Store| {
            let mut out = Vec::new();
            for service in ["api", "web"] {
                for (reason, g) in store.stopped_groups.of("c", service) {
                    out.push((
                        ("c".to_string(), service.to_string(), reason.to_string()),
                        (
                            g.newest().map(str::to_string).collect::<Vec<_>>(),
                            g.exit_codes().collect::<Vec<_>>(),
                            g.any_unexpected(),
                        ),
                    ));
                }
            }
            out.sort();
            out
        };
        // A fixed pseudo-random walk: tasks start, stop with one of three reasons and exit
        // codes, are read again with another reason, fall off the ring, or go.
        let mut seed = 7u64;
        let mut next = |n: u64| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) % n
        };
        for step in 0..400 {
            let id = format!("t{}", next(12));
            let service = if next(2) == 0 { "api" } else { "web" };
            let obs = match next(5) {
                0 => Observation::new(
                    at(step),
                    EcsTaskGone {
                        cluster: "c".into(),
                        task_arn: format!("arn:aws:ecs:eu-west-1:1:task/c/{id}"),
                    },
                ),
                1 => task(&id, "RUNNING"),
                _ => {
                    let mut obs = task(&id, "STOPPED");
                    if let ObservationKind::EcsTask(t) = &mut obs.kind {
                        t.group = Some(format!("service:{service}"));
                        t.stopped_reason = Some(
                            [
                                "Essential container exited",
                                "OOM",
                                "Scaling activity initiated by x",
                            ][next(3) as usize]
                                .into(),
                        );
                        t.stopped_at = Some(at(next(50) as i64));
                        t.containers = vec![crate::model::EcsContainer {
                            name: "app".into(),
                            last_status: "STOPPED".into(),
                            exit_code: Some(next(3) as i32),
                            reason: None,
                        }];
                    }
                    obs.at = at(step);
                    obs
                }
            };
            store.apply(&obs);
            assert_eq!(indexed(&store), recount(&store), "after step {step}");
        }
        assert!(!indexed(&store).is_empty());
    }

    #[test]
    fn a_service_that_is_gone_leaves_the_ecs_pane() {
        let mut store = Store::new(StoreCaps::default());
        let service = |cluster: &str| {
            Observation::new(
                at(0),
                EcsService {
                    cluster: cluster.into(),
                    service: "api".into(),
                    arn: None,
                    status: "ACTIVE".into(),
                    desired: 1,
                    running: 1,
                    pending: 0,
                    task_definition: None,
                    deployments: Vec::new(),
                },
            )
        };
        store.apply(&service("c"));
        store.apply(&service("other"));
        let gone = Observation::new(
            at(5),
            EcsServiceGone {
                cluster: "c".into(),
                service: "api".into(),
            },
        );
        assert!(store.apply(&gone).rows_added);
        assert_eq!(
            store.services.len(),
            1,
            "the same name in another cluster stays"
        );
        assert_eq!(
            &*store.timeline.back().unwrap().message,
            "service no longer exists"
        );
        assert!(!store.apply(&gone).rows_added, "said once");
    }

    #[test]
    fn a_target_that_is_gone_leaves_its_group_and_the_counts_follow() {
        let mut store = Store::new(StoreCaps::default());
        store.apply(&target("healthy", "x"));
        let mut other = target("unhealthy", "Target.Timeout");
        if let ObservationKind::TargetHealth(t) = &mut other.kind {
            t.target_id = "10.0.1.6".into();
        }
        store.apply(&other);
        let health = store.target_groups["arn:tg"];
        assert_eq!(
            (health.present, health.healthy, health.unhealthy),
            (2, 1, 1)
        );
        let gone = |port| {
            Observation::new(
                at(5),
                TargetGone {
                    target_group: "arn:tg".into(),
                    target_id: "10.0.1.5".into(),
                    port,
                },
            )
        };
        // The port is part of the target: another port is another target.
        assert!(!store.apply(&gone(Some(8080))).rows_added);
        assert!(store.apply(&gone(Some(3000))).rows_added);
        let health = store.target_groups["arn:tg"];
        assert_eq!(
            (
                health.present,
                health.registered,
                health.healthy,
                health.unhealthy
            ),
            (1, 1, 0, 1)
        );
        assert_eq!(store.targets.len(), 1);
        let row = store.timeline.back().unwrap();
        assert_eq!(
            (&*row.resource, &*row.message),
            ("10.0.1.5:3000", "left the target group")
        );
        assert!(!store.apply(&gone(Some(3000))).rows_added, "said once");
    }

    #[test]
    fn watched_things_are_said_once_and_bounded() {
        let caps = StoreCaps {
            watched: 2,
            ..StoreCaps::default()
        };
        let mut store = Store::new(caps);
        let watching = |id: &str, via: Option<&str>| {
            Observation::new(
                at(0),
                Watching {
                    source: "logs".into(),
                    what: "log_group".into(),
                    id: id.into(),
                    via: via.map(str::to_string),
                },
            )
        };
        assert!(
            store
                .apply(&watching("/ecs/app", Some("task definition app:7")))
                .rows_added
        );
        let row = store.timeline.back().unwrap();
        assert_eq!(
            (&*row.message, &*row.resource, row.source, row.level),
            (
                "watching log group /ecs/app (from task definition app:7)",
                "/ecs/app",
                Source::Stackwatch,
                Severity::Info
            )
        );
        assert!(
            !store.apply(&watching("/ecs/app", None)).rows_added,
            "said once"
        );
        store.apply(&watching("/ecs/b", None));
        assert_eq!(
            &*store.timeline.back().unwrap().message,
            "watching log group /ecs/b"
        );
        for i in 0..20 {
            store.apply(&watching(&format!("/ecs/{i}"), None));
            assert!(store.watched.len() <= 2);
            assert!(store.watched_order.len() <= 2);
        }
        let key = WatchKey {
            what: "log_group".into(),
            id: "/ecs/19".into(),
        };
        assert_eq!(store.watched[&key].source, "logs");
        // Hostile lengths are bounded.
        store.apply(&watching(&"é".repeat(10_000), Some(&"x".repeat(10_000))));
        let newest = store.timeline.back().unwrap();
        assert!(newest.message.len() < 3 * MAX_WATCHED_TEXT);
    }
}
