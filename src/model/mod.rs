//! Normalised observations: what a source saw, in stackwatch's own shapes rather than the SDK's.
//!
//! Every source (live AWS pollers, Live Tail, a replayed recording, the demo scenario) produces
//! [`Observation`]s. They are what recordings hold, so their serde shape is the recording format
//! (see `docs/recording-format.md`): change a field and you change the format version.

// Pure: no clock here (clippy.toml names the methods).
#![deny(clippy::disallowed_methods)]

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub mod store;

pub use de::ObservationLine;
pub use store::{
    Applied, FailureRecord, LogLine, LogPrep, NoteEntry, RecentKeys, ResourceKey, ResourceState,
    ServiceEventRow, ServiceKey, ServiceState, StackState, Store, StoreCaps, TargetGroupHealth,
    TargetKey, TargetState, TaskOwners, TaskState, TimelineEntry, WatchKey, Watched,
};

/// Where an observation or timeline row came from. The names are the `source` field of the
/// headless JSON lines and the `--source` values of `explain`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Source {
    Cfn,
    EcsService,
    EcsTask,
    Elb,
    Log,
    Api,
    Stackwatch,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Cfn => "cfn",
            Source::EcsService => "ecs-service",
            Source::EcsTask => "ecs-task",
            Source::Elb => "elb",
            Source::Log => "log",
            Source::Api => "api",
            Source::Stackwatch => "stackwatch",
        }
    }
}

/// How bad something is. `Info` is progress and never raises a flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warn,
    Error,
    Fatal,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warn => "warn",
            Severity::Error => "error",
            Severity::Fatal => "fatal",
        }
    }
}

/// One thing a source saw, stamped with the time stackwatch saw it (`at`). AWS's own timestamps,
/// where there are any, live inside the payload.
///
/// Serialised as `{"at": …, "kind": "<snake_case>", "data": {…}}`. Deserialisation is written
/// by hand (below) so the payload is parsed straight into its type, without the buffering that
/// `#[serde(flatten)]` costs on the replay hot path.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Observation {
    pub at: DateTime<Utc>,
    #[serde(flatten)]
    pub kind: ObservationKind,
}

impl Observation {
    pub fn new(at: DateTime<Utc>, kind: impl Into<ObservationKind>) -> Self {
        Observation {
            at,
            kind: kind.into(),
        }
    }

    /// The source family this observation belongs to.
    pub fn source(&self) -> Source {
        match &self.kind {
            ObservationKind::CfnStack(_)
            | ObservationKind::CfnEvent(_)
            | ObservationKind::CfnResource(_) => Source::Cfn,
            ObservationKind::EcsService(_)
            | ObservationKind::EcsServiceEvent(_)
            | ObservationKind::EcsServiceGone(_) => Source::EcsService,
            ObservationKind::EcsTask(_) | ObservationKind::EcsTaskGone(_) => Source::EcsTask,
            ObservationKind::TargetHealth(_) | ObservationKind::TargetGone(_) => Source::Elb,
            ObservationKind::LogEvent(_) | ObservationKind::LogGap(_) => Source::Log,
            ObservationKind::SourceStatus(_)
            | ObservationKind::Watching(_)
            | ObservationKind::Note(_) => Source::Stackwatch,
        }
    }
}

/// The payload of an observation. Serialised as `"kind": "<snake_case>", "data": {…}`.
///
/// Format 1.1 added `ecs_task_gone`, `ecs_service_gone`, `target_gone` and `watching`; 1.2
/// added `log_gap`; 1.3 added `note`. Each
/// thing that can vanish is a kind of its own rather than one `gone` kind with a `what` field:
/// a reader skips kinds it does not know, so a later version can add a new kind of
/// disappearance without breaking this one, and each payload's identifying fields are required.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "data", rename_all = "snake_case")]
pub enum ObservationKind {
    CfnStack(CfnStack),
    CfnEvent(CfnEvent),
    CfnResource(CfnResource),
    EcsService(EcsService),
    EcsServiceEvent(EcsServiceEvent),
    EcsTask(EcsTask),
    TargetHealth(TargetHealth),
    LogEvent(LogEvent),
    SourceStatus(SourceStatus),
    EcsTaskGone(EcsTaskGone),
    EcsServiceGone(EcsServiceGone),
    TargetGone(TargetGone),
    Watching(Watching),
    LogGap(LogGap),
    Note(Note),
}

mod de;
pub mod time;

macro_rules! into_kind {
    ($($t:ident),*) => {$(
        impl From<$t> for ObservationKind {
            fn from(value: $t) -> Self {
                ObservationKind::$t(value)
            }
        }
    )*};
}
into_kind!(
    CfnStack,
    CfnEvent,
    CfnResource,
    EcsService,
    EcsServiceEvent,
    EcsTask,
    TargetHealth,
    LogEvent,
    SourceStatus,
    EcsTaskGone,
    EcsServiceGone,
    TargetGone,
    Watching,
    LogGap,
    Note
);

/// A stack's status as DescribeStacks reports it.
///
/// `stack` is the stack's path: the root stack's name, then for a nested stack the logical id
/// of its `AWS::CloudFormation::Stack` resource in each parent, joined with `/`
/// (`payments/Storage`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CfnStack {
    pub stack: String,
    /// The stack's AWS name (`payments-Storage-1X2Y3Z` for a nested one).
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stack_id: Option<String>,
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// One CloudFormation stack event. The stack's own rows are the ones whose `physical_id` is the
/// stack's id, exactly as AWS reports them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CfnEvent {
    pub stack: String,
    pub stack_id: String,
    pub event_id: String,
    pub logical_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub physical_id: Option<String>,
    pub resource_type: String,
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(deserialize_with = "time::utc")]
    pub timestamp: DateTime<Utc>,
}

impl CfnEvent {
    /// True for the stack's own row (its status, not a resource's).
    pub fn is_stack_row(&self) -> bool {
        self.resource_type == "AWS::CloudFormation::Stack"
            && self.physical_id.as_deref() == Some(self.stack_id.as_str())
    }
}

/// A resource as DescribeStackResources and the template describe it. Carries what events do
/// not: the CreationPolicy / WaitCondition signal policy, read from the template.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CfnResource {
    pub stack: String,
    pub logical_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub physical_id: Option<String>,
    pub resource_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signal: Option<SignalPolicy>,
}

/// A resource waits for `count` signals for at most `timeout_s` seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignalPolicy {
    pub count: u32,
    pub timeout_s: u64,
}

/// An ECS service as DescribeServices reports it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EcsService {
    pub cluster: String,
    pub service: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arn: Option<String>,
    pub status: String,
    pub desired: u32,
    pub running: u32,
    pub pending: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_definition: Option<String>,
    #[serde(default)]
    pub deployments: Vec<EcsDeployment>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EcsDeployment {
    pub id: String,
    /// PRIMARY, ACTIVE or INACTIVE.
    pub status: String,
    pub task_definition: String,
    pub desired: u32,
    pub running: u32,
    pub pending: u32,
    pub failed_tasks: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollout_state: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollout_state_reason: Option<String>,
    #[serde(deserialize_with = "time::utc")]
    pub created_at: DateTime<Utc>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "time::utc_opt"
    )]
    pub updated_at: Option<DateTime<Utc>>,
}

/// One entry of a service's `events[]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EcsServiceEvent {
    pub cluster: String,
    pub service: String,
    pub id: String,
    #[serde(deserialize_with = "time::utc")]
    pub created_at: DateTime<Utc>,
    pub message: String,
}

/// An ECS task as DescribeTasks reports it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EcsTask {
    pub cluster: String,
    pub task_arn: String,
    /// `service:NAME` for service tasks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    pub task_definition: String,
    pub last_status: String,
    pub desired_status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped_reason: Option<String>,
    #[serde(default)]
    pub containers: Vec<EcsContainer>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "time::utc_opt"
    )]
    pub created_at: Option<DateTime<Utc>>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "time::utc_opt"
    )]
    pub started_at: Option<DateTime<Utc>>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "time::utc_opt"
    )]
    pub stopped_at: Option<DateTime<Utc>>,
    /// The awsvpc network interface's private IPv4 address (`attachments[].details`
    /// `privateIPv4Address`): the id of the task's target in an `ip` target group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private_ip: Option<String>,
}

impl EcsTask {
    /// The task id: the last segment of the ARN.
    pub fn task_id(&self) -> &str {
        task_id_of(&self.task_arn)
    }

    /// A stop a user or the scheduler's own scaling asked for: not a failure.
    pub fn is_expected_stop(&self) -> bool {
        self.stop_code.as_deref() == Some("UserInitiated")
            || self
                .stopped_reason
                .as_deref()
                .is_some_and(|r| r.starts_with("Scaling activity initiated by"))
    }

    /// The service name, from a `service:NAME` group.
    pub fn service_name(&self) -> Option<&str> {
        self.group
            .as_deref()
            .and_then(|g| g.strip_prefix("service:"))
    }

    /// The task definition's family: `api` of `…:task-definition/api:42`.
    pub fn family(&self) -> &str {
        let def = task_id_of(&self.task_definition);
        def.split(':').next().unwrap_or(def)
    }

    /// Whose task it is: `svc:NAME` for a service's task, `family:FAMILY` for the others. The
    /// detector scopes task flags by it, and the store's task owners record it.
    pub fn owner_scope(&self) -> String {
        match self.service_name() {
            Some(s) => ["svc:", s].concat(),
            None => ["family:", self.family()].concat(),
        }
    }
}

/// The longest prefix of `text` of at most `max_bytes` bytes that ends on a character boundary:
/// how untrusted text is bounded before it is kept.
pub fn byte_prefix(text: &str, max_bytes: usize) -> &str {
    if text.len() <= max_bytes {
        return text;
    }
    let mut end = max_bytes;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// The last `/`-separated segment of an ARN or path.
pub fn task_id_of(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EcsContainer {
    pub name: String,
    pub last_status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// One target's health in one target group, as DescribeTargetHealth reports it. A target that
/// has left the group is reported once more as `unused` / `Target.NotRegistered`, AWS's own
/// words for it, and the store forgets it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TargetHealth {
    pub target_group: String,
    pub target_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    pub state: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

impl TargetHealth {
    /// The target has left the group (deregistered and drained, or its task is gone).
    pub fn is_gone(&self) -> bool {
        self.state == "unused" && self.reason.as_deref() == Some("Target.NotRegistered")
    }
}

/// One CloudWatch Logs event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogEvent {
    pub group: String,
    pub stream: String,
    #[serde(deserialize_with = "time::utc")]
    pub timestamp: DateTime<Utc>,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
}

/// Log lines of one group that could not be read (format 1.2): a Live Tail stream was
/// re-opened and the FilterLogEvents backfill behind it failed for good (the group deleted,
/// access denied) or had more lines than one backfill reads. Lines between `from` and `to`
/// may be missing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogGap {
    pub group: String,
    #[serde(deserialize_with = "time::utc")]
    pub from: DateTime<Utc>,
    #[serde(deserialize_with = "time::utc")]
    pub to: DateTime<Utc>,
    /// Why, for people: the error, or that there were too many lines.
    pub reason: String,
}

/// The most characters a note keeps: typed notes are cut here, and the store cuts longer ones
/// read from a recording.
pub const MAX_NOTE_CHARS: usize = 500;

/// A note the user typed while watching (format 1.3): `at` is when it was typed, on the
/// session's clock (the wall clock live, virtual time in a replay). Rules never read it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Note {
    pub text: String,
    /// Who wrote it, where known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
}

impl Note {
    /// A note from typed text: control characters and escape sequences stripped, surrounding
    /// space trimmed, cut at [`MAX_NOTE_CHARS`]. `None` when nothing is left.
    pub fn typed(text: &str) -> Option<Note> {
        let clean = crate::sanitize::clean(text, MAX_NOTE_CHARS, false);
        let text = clean.trim();
        (!text.is_empty()).then(|| Note {
            text: text.to_string(),
            author: None,
        })
    }
}

/// The health of one source (a poller or stream), reported when it changes and once a minute.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceStatus {
    pub name: String,
    pub state: SourceState,
    #[serde(default)]
    pub calls_per_min: f32,
    #[serde(default)]
    pub throttled: u64,
    /// Seconds since the last good read, as of the observation's `at`. Kept for 1.0 readers
    /// and recordings; [`SourceStatus::stale_s_at`] prefers `last_ok`.
    #[serde(default)]
    pub stale_s: u64,
    /// The last good read (format 1.1): staleness then follows the clock between reports.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "time::utc_opt"
    )]
    pub last_ok: Option<DateTime<Utc>>,
    /// The session's API budget slowed this source within the last minute: its reads come
    /// less often than its cadence asks (format 1.2, absent when false).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub paced: bool,
}

impl SourceStatus {
    /// Seconds since the last good read at `now`: from `last_ok` when the source gave it (so a
    /// replay shows what live showed at the same moment), else the recorded `stale_s`.
    pub fn stale_s_at(&self, now: DateTime<Utc>) -> u64 {
        match self.last_ok {
            Some(last_ok) => {
                u64::try_from(now.signed_duration_since(last_ok).num_seconds()).unwrap_or(0)
            }
            None => self.stale_s,
        }
    }
}

/// An ECS task that no longer exists: DescribeTasks no longer knows it (`MISSING`). A task
/// merely gone from ListTasks is not gone: its STOPPED report, with the reason, is still to come.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EcsTaskGone {
    pub cluster: String,
    pub task_arn: String,
}

/// An ECS service that no longer exists (deleted, or DescribeServices reports it `MISSING`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EcsServiceGone {
    pub cluster: String,
    pub service: String,
}

/// A target no longer in its group: DescribeTargetHealth stopped listing it. Same effect as a
/// `target_health` with `unused` / `Target.NotRegistered`, for sources that only see the list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TargetGone {
    pub target_group: String,
    pub target_id: String,
    /// Part of the target's identity: the same id can be registered on several ports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
}

/// A source starts watching something new: a stack, a cluster, a service, a target group, a
/// log group. `source` and `what` are open sets (a later version may add values), so they are
/// kept as text: the values below are the ones this version writes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Watching {
    /// The poller family: `cfn`, `ecs`, `elb`, `logs`.
    pub source: String,
    /// `stack`, `cluster`, `service`, `target_group`, `log_group`.
    pub what: String,
    /// The thing's id as the source names it: a stack path, a cluster name, `cluster/service`,
    /// a target group ARN, a log group name.
    pub id: String,
    /// How it was found, for people: `stack resource ApiService`, `task definition app:7`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub via: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceState {
    Ok,
    Throttled,
    Unavailable,
    AccessDenied,
    CredentialsExpired,
}

impl SourceState {
    pub fn as_str(self) -> &'static str {
        match self {
            SourceState::Ok => "ok",
            SourceState::Throttled => "throttled",
            SourceState::Unavailable => "unavailable",
            SourceState::AccessDenied => "access_denied",
            SourceState::CredentialsExpired => "credentials_expired",
        }
    }
}

/// The AWS profile a live session signs in as, and how: what to tell the user when its
/// credentials expire. The name comes from the user's config files: outputs sanitise it like
/// any other outside text.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Profile {
    pub name: String,
    #[serde(default)]
    pub login: Login,
}

/// Where a profile's credentials come from, as far as the fix for expired ones goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Login {
    /// Keys or a credential_process in the profile (or anything else the chain finds).
    #[default]
    Keys,
    /// IAM Identity Center: `aws sso login`.
    Sso,
    /// `AWS_ACCESS_KEY_ID` in stackwatch's own environment: nothing outside can renew it.
    Environment,
}

impl Profile {
    /// What to do when the profile's credentials have expired.
    pub fn fix(&self) -> String {
        let name = &self.name;
        match self.login {
            Login::Sso => format!("run `aws sso login --profile {name}`"),
            Login::Keys => format!(
                "refresh the credentials of profile {name} (new keys in its credentials file, \
                 `aws configure --profile {name}`, or its credential_process)"
            ),
            Login::Environment => "they come from AWS_ACCESS_KEY_ID in stackwatch's environment: \
                 start it again with fresh ones"
                .to_string(),
        }
    }
}

/// What the dashboard's banner and the headless status lines say while credentials are
/// expired (no profile: a recording made before profiles were kept). Not yet sanitised.
pub fn credentials_expired_message(profile: Option<&Profile>) -> String {
    match profile {
        Some(profile) => format!(
            "credentials of profile {} expired: {}",
            profile.name,
            profile.fix()
        ),
        None => "credentials expired: log in again (aws sso login, or new keys)".to_string(),
    }
}

impl std::fmt::Display for Profile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name)
    }
}

/// CloudFormation status families, keyed on the suffix as the API model defines them.
pub mod cfn_status {
    pub fn is_in_progress(status: &str) -> bool {
        status.ends_with("_IN_PROGRESS")
    }
    pub fn is_failed(status: &str) -> bool {
        status.ends_with("_FAILED")
    }
    pub fn is_rollback(status: &str) -> bool {
        status.contains("ROLLBACK")
    }
    /// A terminal stack status: the operation is over.
    pub fn is_terminal(status: &str) -> bool {
        !is_in_progress(status) && status != "REVIEW_IN_PROGRESS"
    }
}

#[cfg(test)]
mod tests {
    use super::byte_prefix;

    #[test]
    fn byte_prefix_never_splits_a_character() {
        assert_eq!(byte_prefix("short", 10), "short");
        assert_eq!(byte_prefix("abcdef", 3), "abc");
        // "é" is two bytes: a cut inside it backs off to the character before.
        assert_eq!(byte_prefix("aé", 2), "a");
        assert_eq!(byte_prefix("éé", 0), "");
    }
}
