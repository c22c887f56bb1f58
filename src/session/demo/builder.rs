//! A small builder for scripted scenarios: write a deploy as a story of AWS-side moments and get
//! back the observations stackwatch would have seen, in the order it would have seen them.
//!
//! Everything is deterministic: ids come from a counter run through a fixed mixing function, and
//! the time stackwatch "saw" something is the next tick of that source's poll after the AWS
//! timestamp, plus a fixed latency. No randomness, no wall clock.
//!
//! Times are offsets from the scenario start ([`mmss`] makes them readable).

use std::collections::HashMap;

use chrono::{DateTime, TimeDelta, Utc};

use crate::model::{
    CfnEvent, CfnResource, CfnStack, EcsContainer, EcsDeployment, EcsService, EcsServiceEvent,
    EcsTask, LogEvent, Observation, ObservationKind, SignalPolicy, SourceState, SourceStatus,
    TargetHealth,
};
use crate::session::recording::Header;

/// An offset of `minutes:seconds` from the scenario start: `mmss(3, 30)`.
pub const fn mmss(minutes: i64, seconds: i64) -> TimeDelta {
    TimeDelta::seconds(minutes * 60 + seconds)
}

/// An offset in milliseconds, for steps finer than a second.
pub const fn millis(ms: i64) -> TimeDelta {
    TimeDelta::milliseconds(ms)
}

/// How a source is read. An AWS-stamped thing is seen at the first poll tick at or after its
/// timestamp, plus the latency of the call (and a small fixed jitter per tick).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Feed {
    /// DescribeStackEvents / DescribeStacks.
    Cfn,
    /// DescribeServices (events, deployments) and DescribeTasks.
    Ecs,
    /// DescribeTargetHealth.
    Elb,
    /// CloudWatch Logs Live Tail.
    Logs,
}

impl Feed {
    /// (period, phase, latency) in milliseconds.
    fn timing(self) -> (i64, i64, i64) {
        match self {
            Feed::Cfn => (3_000, 0, 1_000),
            Feed::Ecs => (3_000, 1_000, 1_000),
            Feed::Elb => (3_000, 2_000, 1_000),
            Feed::Logs => (1_000, 0, 400),
        }
    }
}

/// A stack by path, with its AWS name and id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackRef {
    /// `root` or `root/NestedLogicalId`.
    pub path: String,
    pub name: String,
    pub stack_id: String,
}

/// A handle on an ECS service declared with [`ScenarioBuilder::service`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServiceId(usize);

/// A handle on a deployment declared with [`ScenarioBuilder::deployment`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeploymentId(usize);

/// A handle on a task launched with [`ScenarioBuilder::launch_task`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaskId(usize);

/// An ECS service as the builder knows it.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceRecord {
    pub cluster: String,
    pub name: String,
    pub arn: String,
    /// The essential container's name in every task.
    pub container: String,
    desired: Vec<(DateTime<Utc>, u32)>,
    status: Vec<(DateTime<Utc>, String)>,
}

#[derive(Debug, Clone, PartialEq)]
struct DeploymentRecord {
    service: ServiceId,
    id: String,
    task_definition: String,
    created_at: DateTime<Utc>,
    /// When a newer deployment replaced it as PRIMARY.
    superseded_at: Option<DateTime<Utc>>,
    rollout: Vec<(DateTime<Utc>, String, Option<String>)>,
}

#[derive(Debug, Clone, PartialEq)]
struct TaskRecord {
    deployment: DeploymentId,
    arn: String,
    created_at: DateTime<Utc>,
    started_at: Option<DateTime<Utc>>,
    stopped_at: Option<DateTime<Utc>>,
    /// When it was told to stop: from then on it is neither running nor pending.
    stopping_at: Option<DateTime<Utc>>,
    /// A stop that counts toward the deployment's `failedTasks`.
    failed: bool,
    task: EcsTask,
}

/// Why and how a task stopped.
#[derive(Debug, Clone, PartialEq)]
pub struct StopInfo {
    pub stop_code: String,
    pub reason: String,
    /// The essential container's exit code; `None` when it never started.
    pub exit_code: Option<i32>,
    /// The container's own `reason`, if any.
    pub container_reason: Option<String>,
}

impl StopInfo {
    pub fn new(stop_code: &str, reason: &str, exit_code: Option<i32>) -> Self {
        StopInfo {
            stop_code: stop_code.to_string(),
            reason: reason.to_string(),
            exit_code,
            container_reason: None,
        }
    }

    /// Stops the scheduler or a user asked for, which are not failures.
    fn is_expected(&self) -> bool {
        self.stop_code == "UserInitiated"
            || self.reason.starts_with("Scaling activity initiated by")
    }
}

/// Builds a scenario: declare stacks, resources and services, then narrate what AWS did.
#[derive(Debug, Clone)]
pub struct ScenarioBuilder {
    start: DateTime<Utc>,
    header: Header,
    account: String,
    region: String,
    counter: u64,
    seq: u64,
    /// (seen at, AWS time, insertion order, observation)
    out: Vec<(DateTime<Utc>, DateTime<Utc>, u64, Observation)>,
    stacks: HashMap<String, StackRef>,
    /// (stack path, logical id) -> (type, physical id)
    resources: HashMap<(String, String), (String, Option<String>)>,
    services: Vec<ServiceRecord>,
    deployments: Vec<DeploymentRecord>,
    tasks: Vec<TaskRecord>,
}

impl ScenarioBuilder {
    /// A scenario starting at `start` in `account` and `region`; the header's arguments are
    /// `args`.
    pub fn new(start: DateTime<Utc>, account: &str, region: &str, args: Vec<String>) -> Self {
        let mut header = Header::new(args, start);
        header.account = Some(account.to_string());
        header.region = Some(region.to_string());
        ScenarioBuilder {
            start,
            header,
            account: account.to_string(),
            region: region.to_string(),
            counter: 0,
            seq: 0,
            out: Vec::new(),
            stacks: HashMap::new(),
            resources: HashMap::new(),
            services: Vec::new(),
            deployments: Vec::new(),
            tasks: Vec::new(),
        }
    }

    pub fn start(&self) -> DateTime<Utc> {
        self.start
    }

    /// The absolute time of an offset.
    pub fn time(&self, offset: TimeDelta) -> DateTime<Utc> {
        self.start + offset
    }

    pub fn account(&self) -> &str {
        &self.account
    }

    pub fn region(&self) -> &str {
        &self.region
    }

    /// How many observations so far.
    pub fn len(&self) -> usize {
        self.out.len()
    }

    pub fn is_empty(&self) -> bool {
        self.out.is_empty()
    }

    // ----- ids -----------------------------------------------------------------------------

    /// The next 64 pseudo-random bits: a counter through splitmix64. Deterministic.
    pub fn next_u64(&mut self) -> u64 {
        self.counter += 1;
        mix(self.counter.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ 0x5754_4143_4b57_4154)
    }

    /// `len` lowercase hex digits.
    pub fn hex(&mut self, len: usize) -> String {
        let mut s = String::with_capacity(len + 16);
        while s.len() < len {
            s.push_str(&format!("{:016x}", self.next_u64()));
        }
        s.truncate(len);
        s
    }

    /// A version-4-shaped UUID.
    pub fn uuid(&mut self) -> String {
        let h = self.hex(32);
        format!(
            "{}-{}-4{}-a{}-{}",
            &h[0..8],
            &h[8..12],
            &h[13..16],
            &h[17..20],
            &h[20..32]
        )
    }

    /// An EC2-style id: `sg-0…`, `i-0…`, `fs-0…` (17 hex digits after the dash).
    pub fn ec2_id(&mut self, prefix: &str) -> String {
        format!("{prefix}-0{}", self.hex(16))
    }

    /// `len` decimal digits, the first not zero.
    pub fn digits(&mut self, len: usize) -> String {
        let mut s = String::with_capacity(len + 20);
        while s.len() < len {
            s.push_str(&format!(
                "{:019}",
                self.next_u64() % 10_000_000_000_000_000_000
            ));
        }
        s.truncate(len);
        if s.starts_with('0') {
            s.replace_range(0..1, "7");
        }
        s
    }

    /// An upper-case suffix like CloudFormation gives nested stacks (`1R9X2K7QF3ZJ8`).
    pub fn cfn_suffix(&mut self) -> String {
        const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
        let mut v = self.next_u64();
        (0..13)
            .map(|_| {
                let c = ALPHABET[(v % 36) as usize] as char;
                v /= 36;
                c
            })
            .collect()
    }

    // ----- time seen -----------------------------------------------------------------------

    /// When stackwatch would have seen something AWS stamped at `t`, read through `feed`.
    pub fn seen_at(&self, feed: Feed, t: DateTime<Utc>) -> DateTime<Utc> {
        let (period, phase, latency) = feed.timing();
        let off = (t - self.start).num_milliseconds() - phase;
        let tick = off.div_euclid(period) + i64::from(off.rem_euclid(period) != 0);
        let jitter = (mix(tick as u64 ^ (feed as u64).wrapping_mul(0x1234_5678_9abc)) % 250) as i64;
        self.start + TimeDelta::milliseconds(tick * period + phase + latency + jitter)
    }

    /// Adds an observation seen at `at`; `aws_t` orders observations seen in the same poll.
    pub fn push(
        &mut self,
        at: DateTime<Utc>,
        aws_t: DateTime<Utc>,
        kind: impl Into<ObservationKind>,
    ) {
        self.seq += 1;
        self.out
            .push((at, aws_t, self.seq, Observation::new(at, kind)));
    }

    fn push_via(&mut self, feed: Feed, t: DateTime<Utc>, kind: impl Into<ObservationKind>) {
        let at = self.seen_at(feed, t);
        self.push(at, t, kind);
    }

    // ----- CloudFormation ------------------------------------------------------------------

    /// Declares the root stack.
    pub fn root_stack(&mut self, name: &str) -> StackRef {
        let uuid = self.uuid();
        let stack = StackRef {
            path: name.to_string(),
            name: name.to_string(),
            stack_id: format!(
                "arn:aws:cloudformation:{}:{}:stack/{name}/{uuid}",
                self.region, self.account
            ),
        };
        self.stacks.insert(stack.path.clone(), stack.clone());
        stack
    }

    /// Declares a nested stack: the `AWS::CloudFormation::Stack` resource `logical_id` in
    /// `parent`, whose child is named `<parent>-<logical_id>-<SUFFIX>`.
    pub fn nested_stack(&mut self, parent: &StackRef, logical_id: &str) -> StackRef {
        let suffix = self.cfn_suffix();
        let name = format!("{}-{logical_id}-{suffix}", parent.name);
        let uuid = self.uuid();
        let stack = StackRef {
            path: format!("{}/{logical_id}", parent.path),
            stack_id: format!(
                "arn:aws:cloudformation:{}:{}:stack/{name}/{uuid}",
                self.region, self.account
            ),
            name,
        };
        self.resources.insert(
            (parent.path.clone(), logical_id.to_string()),
            (
                "AWS::CloudFormation::Stack".to_string(),
                Some(stack.stack_id.clone()),
            ),
        );
        self.stacks.insert(stack.path.clone(), stack.clone());
        stack
    }

    /// Declares a resource of `stack` with its type and physical id (shown once creation is
    /// initiated).
    pub fn resource(
        &mut self,
        stack: &StackRef,
        logical_id: &str,
        resource_type: &str,
        physical_id: &str,
    ) {
        self.resources.insert(
            (stack.path.clone(), logical_id.to_string()),
            (resource_type.to_string(), Some(physical_id.to_string())),
        );
    }

    /// The physical id declared for a resource.
    pub fn physical_id(&self, stack: &StackRef, logical_id: &str) -> Option<&str> {
        self.resources
            .get(&(stack.path.clone(), logical_id.to_string()))
            .and_then(|(_, p)| p.as_deref())
    }

    /// The template says `logical_id` waits for `count` signals for `timeout_s` seconds: a
    /// `CfnResource` observation at `t`.
    pub fn signal_policy(
        &mut self,
        t: TimeDelta,
        stack: &StackRef,
        logical_id: &str,
        count: u32,
        timeout_s: u64,
    ) {
        let at = self.time(t);
        let resource_type = self
            .resources
            .get(&(stack.path.clone(), logical_id.to_string()))
            .map(|(ty, _)| ty.clone())
            .unwrap_or_default();
        self.push(
            at,
            at,
            CfnResource {
                stack: stack.path.clone(),
                logical_id: logical_id.to_string(),
                physical_id: None,
                resource_type,
                status: None,
                signal: Some(SignalPolicy { count, timeout_s }),
            },
        );
    }

    /// One raw stack event.
    #[allow(clippy::too_many_arguments)]
    pub fn stack_event(
        &mut self,
        t: TimeDelta,
        stack: &StackRef,
        logical_id: &str,
        resource_type: &str,
        physical_id: Option<&str>,
        status: &str,
        reason: Option<&str>,
    ) {
        let ts = self.time(t);
        let event_id = if physical_id == Some(stack.stack_id.as_str()) {
            self.uuid()
        } else {
            format!(
                "{logical_id}-{status}-{}",
                ts.format("%Y-%m-%dT%H:%M:%S%.3fZ")
            )
        };
        self.push_via(
            Feed::Cfn,
            ts,
            CfnEvent {
                stack: stack.path.clone(),
                stack_id: stack.stack_id.clone(),
                event_id,
                logical_id: logical_id.to_string(),
                physical_id: physical_id.map(str::to_string),
                resource_type: resource_type.to_string(),
                status: status.to_string(),
                reason: reason.map(str::to_string),
                timestamp: ts,
            },
        );
    }

    /// The stack's own row (an event whose physical id is the stack id) and the matching
    /// DescribeStacks snapshot.
    pub fn stack_status(
        &mut self,
        t: TimeDelta,
        stack: &StackRef,
        status: &str,
        reason: Option<&str>,
    ) {
        let (name, id) = (stack.name.clone(), stack.stack_id.clone());
        self.stack_event(
            t,
            stack,
            &name,
            "AWS::CloudFormation::Stack",
            Some(&id),
            status,
            reason,
        );
        let ts = self.time(t);
        self.push_via(
            Feed::Cfn,
            ts,
            CfnStack {
                stack: stack.path.clone(),
                name,
                stack_id: Some(id),
                status: status.to_string(),
                reason: reason.map(str::to_string),
            },
        );
    }

    /// An event of a declared resource (it panics on an undeclared one). The first `CREATE_IN_PROGRESS` (no reason) carries no
    /// physical id yet, as in AWS.
    pub fn resource_event(
        &mut self,
        t: TimeDelta,
        stack: &StackRef,
        logical_id: &str,
        status: &str,
        reason: Option<&str>,
    ) {
        let (resource_type, physical) = self
            .resources
            .get(&(stack.path.clone(), logical_id.to_string()))
            .cloned()
            .unwrap_or_else(|| {
                panic!(
                    "resource {logical_id} of {} is not declared: call resource() first",
                    stack.path
                )
            });
        let physical = if status == "CREATE_IN_PROGRESS" && reason.is_none() {
            None
        } else {
            physical
        };
        self.stack_event(
            t,
            stack,
            logical_id,
            &resource_type,
            physical.as_deref(),
            status,
            reason,
        );
    }

    /// Begins creating a resource: `CREATE_IN_PROGRESS`, then a second later
    /// `CREATE_IN_PROGRESS` "Resource creation Initiated".
    pub fn begin_create(&mut self, t: TimeDelta, stack: &StackRef, logical_id: &str) {
        self.resource_event(t, stack, logical_id, "CREATE_IN_PROGRESS", None);
        self.resource_event(
            t + millis(1_100),
            stack,
            logical_id,
            "CREATE_IN_PROGRESS",
            Some("Resource creation Initiated"),
        );
    }

    /// A resource created in `took`: begins at `t`, `CREATE_COMPLETE` at `t + took`.
    pub fn create_resource(
        &mut self,
        t: TimeDelta,
        stack: &StackRef,
        logical_id: &str,
        took: TimeDelta,
    ) {
        self.begin_create(t, stack, logical_id);
        self.resource_event(t + took, stack, logical_id, "CREATE_COMPLETE", None);
    }

    /// A resource deleted in `took`: `DELETE_IN_PROGRESS` at `t`, `DELETE_COMPLETE` at
    /// `t + took`.
    pub fn delete_resource(
        &mut self,
        t: TimeDelta,
        stack: &StackRef,
        logical_id: &str,
        took: TimeDelta,
    ) {
        self.resource_event(t, stack, logical_id, "DELETE_IN_PROGRESS", None);
        self.resource_event(t + took, stack, logical_id, "DELETE_COMPLETE", None);
    }

    // ----- ECS -----------------------------------------------------------------------------

    /// Declares a service whose tasks run one essential container named `container`.
    pub fn service(&mut self, cluster: &str, name: &str, container: &str) -> ServiceId {
        self.services.push(ServiceRecord {
            cluster: cluster.to_string(),
            name: name.to_string(),
            arn: format!(
                "arn:aws:ecs:{}:{}:service/{cluster}/{name}",
                self.region, self.account
            ),
            container: container.to_string(),
            desired: Vec::new(),
            status: Vec::new(),
        });
        ServiceId(self.services.len() - 1)
    }

    pub fn service_record(&self, svc: ServiceId) -> &ServiceRecord {
        &self.services[svc.0]
    }

    /// The ARN of revision `revision` of task definition `family`.
    pub fn task_definition_arn(&self, family: &str, revision: u32) -> String {
        format!(
            "arn:aws:ecs:{}:{}:task-definition/{family}:{revision}",
            self.region, self.account
        )
    }

    /// The service's status (`ACTIVE`, `DRAINING`, `INACTIVE`) from `t` on.
    pub fn set_service_status(&mut self, t: TimeDelta, svc: ServiceId, status: &str) {
        let at = self.time(t);
        self.services[svc.0].status.push((at, status.to_string()));
    }

    /// The desired count from `t` on.
    pub fn set_desired(&mut self, t: TimeDelta, svc: ServiceId, desired: u32) {
        let at = self.time(t);
        self.services[svc.0].desired.push((at, desired));
    }

    /// A new PRIMARY deployment of `task_definition` created at `t`; the previous PRIMARY turns
    /// ACTIVE. Its rollout state starts `IN_PROGRESS`.
    pub fn deployment(
        &mut self,
        t: TimeDelta,
        svc: ServiceId,
        task_definition: &str,
    ) -> DeploymentId {
        let at = self.time(t);
        for d in self.deployments.iter_mut() {
            if d.service == svc && d.superseded_at.is_none() {
                d.superseded_at = Some(at);
            }
        }
        let id = format!("ecs-svc/{}", self.digits(19));
        self.deployments.push(DeploymentRecord {
            service: svc,
            id,
            task_definition: task_definition.to_string(),
            created_at: at,
            superseded_at: None,
            rollout: vec![(at, "IN_PROGRESS".to_string(), None)],
        });
        DeploymentId(self.deployments.len() - 1)
    }

    /// The deployment's id (`ecs-svc/…`).
    pub fn deployment_id(&self, dep: DeploymentId) -> &str {
        &self.deployments[dep.0].id
    }

    /// The deployment's rollout state from `t` on.
    pub fn rollout(&mut self, t: TimeDelta, dep: DeploymentId, state: &str, reason: Option<&str>) {
        let at = self.time(t);
        self.deployments[dep.0]
            .rollout
            .push((at, state.to_string(), reason.map(str::to_string)));
    }

    /// One entry of the service's `events[]`, created at `t`.
    pub fn service_event(&mut self, t: TimeDelta, svc: ServiceId, message: &str) {
        let ts = self.time(t);
        let id = self.uuid();
        let s = &self.services[svc.0];
        let event = EcsServiceEvent {
            cluster: s.cluster.clone(),
            service: s.name.clone(),
            id,
            created_at: ts,
            message: message.to_string(),
        };
        self.push_via(Feed::Ecs, ts, event);
    }

    /// One DescribeServices snapshot at `t`, with counts derived from the tasks launched so
    /// far (call it after narrating the tasks).
    pub fn service_snapshot(&mut self, t: TimeDelta, svc: ServiceId) {
        let snap = self.service_at(svc, self.time(t));
        let at = self.time(t) + millis(400);
        self.push(at, self.time(t), snap);
    }

    /// DescribeServices snapshots every `every` from `from` to `to` (inclusive), with counts
    /// derived from the tasks launched so far.
    pub fn service_snapshots(
        &mut self,
        svc: ServiceId,
        from: TimeDelta,
        to: TimeDelta,
        every: TimeDelta,
    ) {
        let mut t = from;
        while t <= to {
            self.service_snapshot(t, svc);
            t += every;
        }
    }

    /// The service as DescribeServices would report it at `t`.
    pub fn service_at(&self, svc: ServiceId, t: DateTime<Utc>) -> EcsService {
        let s = &self.services[svc.0];
        let latest =
            |v: &[(DateTime<Utc>, u32)]| v.iter().rfind(|(at, _)| *at <= t).map(|(_, x)| *x);
        let desired = latest(&s.desired).unwrap_or(0);
        let status = s
            .status
            .iter()
            .rfind(|(at, _)| *at <= t)
            .map(|(_, x)| x.clone())
            .unwrap_or_else(|| "ACTIVE".to_string());
        let mut deployments = Vec::new();
        let (mut running_all, mut pending_all) = (0, 0);
        let mut primary_td = None;
        for (i, d) in self.deployments.iter().enumerate() {
            if d.service != svc || d.created_at > t {
                continue;
            }
            let primary = d.superseded_at.is_none_or(|s| s > t);
            let (mut running, mut pending, mut failed) = (0, 0, 0);
            let mut updated = d.created_at;
            for task in self.tasks.iter().filter(|k| k.deployment.0 == i) {
                if task.created_at > t {
                    continue;
                }
                updated = updated.max(task.created_at);
                match (task.started_at, task.stopping_at) {
                    (_, Some(stop)) if stop <= t => {
                        updated = updated.max(stop);
                        if task.failed {
                            failed += 1;
                        }
                    }
                    (Some(start), _) if start <= t => {
                        updated = updated.max(start);
                        running += 1;
                    }
                    _ => pending += 1,
                }
            }
            let (rollout_at, rollout_state, rollout_reason) = d
                .rollout
                .iter()
                .rfind(|(at, _, _)| *at <= t)
                .cloned()
                .unwrap_or((d.created_at, "IN_PROGRESS".to_string(), None));
            updated = updated.max(rollout_at);
            // ECS drops a replaced deployment once it has no tasks left.
            if !primary
                && running + pending == 0
                && d.superseded_at
                    .is_some_and(|s| t - s > TimeDelta::seconds(30))
            {
                continue;
            }
            running_all += running;
            pending_all += pending;
            if primary {
                primary_td = Some(d.task_definition.clone());
            }
            deployments.push(EcsDeployment {
                id: d.id.clone(),
                status: if primary { "PRIMARY" } else { "ACTIVE" }.to_string(),
                task_definition: d.task_definition.clone(),
                desired: if primary { desired } else { 0 },
                running,
                pending,
                failed_tasks: failed,
                rollout_state: Some(rollout_state),
                rollout_state_reason: rollout_reason,
                created_at: d.created_at,
                updated_at: Some(updated),
            });
        }
        // The PRIMARY deployment is listed first, as ECS does.
        deployments.reverse();
        EcsService {
            cluster: s.cluster.clone(),
            service: s.name.clone(),
            arn: Some(s.arn.clone()),
            status,
            desired,
            running: running_all,
            pending: pending_all,
            task_definition: primary_td,
            deployments,
        }
    }

    /// The scheduler launches a task of `dep` at `t`: seen `PROVISIONING`.
    pub fn launch_task(&mut self, t: TimeDelta, dep: DeploymentId) -> TaskId {
        let at = self.time(t);
        let d = &self.deployments[dep.0];
        let s = &self.services[d.service.0];
        let (cluster, name, container, td) = (
            s.cluster.clone(),
            s.name.clone(),
            s.container.clone(),
            d.task_definition.clone(),
        );
        let id = self.hex(32);
        let arn = format!(
            "arn:aws:ecs:{}:{}:task/{cluster}/{id}",
            self.region, self.account
        );
        let task = EcsTask {
            cluster,
            task_arn: arn.clone(),
            group: Some(format!("service:{name}")),
            task_definition: td,
            last_status: "PROVISIONING".to_string(),
            desired_status: "RUNNING".to_string(),
            stop_code: None,
            stopped_reason: None,
            containers: vec![EcsContainer {
                name: container,
                last_status: "PENDING".to_string(),
                exit_code: None,
                reason: None,
            }],
            created_at: Some(at),
            started_at: None,
            stopped_at: None,
            private_ip: None,
        };
        self.tasks.push(TaskRecord {
            deployment: dep,
            arn,
            created_at: at,
            started_at: None,
            stopped_at: None,
            stopping_at: None,
            failed: false,
            task: task.clone(),
        });
        self.push_via(Feed::Ecs, at, task);
        TaskId(self.tasks.len() - 1)
    }

    /// The task's ARN.
    pub fn task_arn(&self, task: TaskId) -> &str {
        &self.tasks[task.0].arn
    }

    /// The task's id (32 hex digits).
    pub fn task_id(&self, task: TaskId) -> &str {
        crate::model::task_id_of(&self.tasks[task.0].arn)
    }

    fn emit_task(&mut self, t: DateTime<Utc>, task: TaskId) {
        let snapshot = self.tasks[task.0].task.clone();
        self.push_via(Feed::Ecs, t, snapshot);
    }

    /// The task is seen in `status` (`PENDING`, `ACTIVATING`…) at `t`.
    pub fn task_status(&mut self, t: TimeDelta, task: TaskId, status: &str) {
        let at = self.time(t);
        self.tasks[task.0].task.last_status = status.to_string();
        self.emit_task(at, task);
    }

    /// The task reaches `RUNNING` at `t` (`startedAt` set).
    /// The task's awsvpc private IP, carried by every later snapshot of it.
    pub fn task_ip(&mut self, task: TaskId, ip: &str) {
        self.tasks[task.0].task.private_ip = Some(ip.to_string());
    }

    pub fn task_running(&mut self, t: TimeDelta, task: TaskId) {
        let at = self.time(t);
        let rec = &mut self.tasks[task.0];
        rec.started_at = Some(at);
        rec.task.started_at = Some(at);
        rec.task.last_status = "RUNNING".to_string();
        for c in &mut rec.task.containers {
            c.last_status = "RUNNING".to_string();
        }
        self.emit_task(at, task);
    }

    /// The task is told to stop at `t`: seen `DEPROVISIONING` with its stop code and reason,
    /// then `STOPPED` (with `stoppedAt`) `deprovision` later.
    pub fn task_stopped(
        &mut self,
        t: TimeDelta,
        task: TaskId,
        stop: &StopInfo,
        deprovision: TimeDelta,
    ) {
        let at = self.time(t);
        let rec = &mut self.tasks[task.0];
        rec.failed = !stop.is_expected();
        rec.stopping_at = Some(at);
        rec.task.desired_status = "STOPPED".to_string();
        rec.task.last_status = "DEPROVISIONING".to_string();
        rec.task.stop_code = Some(stop.stop_code.clone());
        rec.task.stopped_reason = Some(stop.reason.clone());
        for c in &mut rec.task.containers {
            c.last_status = "STOPPED".to_string();
            c.exit_code = stop.exit_code;
            c.reason = stop.container_reason.clone();
        }
        self.emit_task(at, task);
        let end = at + deprovision;
        let rec = &mut self.tasks[task.0];
        rec.stopped_at = Some(end);
        rec.task.stopped_at = Some(end);
        rec.task.last_status = "STOPPED".to_string();
        self.emit_task(end, task);
    }

    // ----- ELB, logs, sources --------------------------------------------------------------

    /// A target's health as DescribeTargetHealth reports it, from `t` on.
    #[allow(clippy::too_many_arguments)]
    pub fn target(
        &mut self,
        t: TimeDelta,
        target_group: &str,
        target_id: &str,
        port: u16,
        state: &str,
        reason: Option<&str>,
        description: Option<&str>,
    ) {
        let ts = self.time(t);
        self.push_via(
            Feed::Elb,
            ts,
            TargetHealth {
                target_group: target_group.to_string(),
                target_id: target_id.to_string(),
                port: Some(port),
                state: state.to_string(),
                reason: reason.map(str::to_string),
                description: description.map(str::to_string),
            },
        );
    }

    /// One log event, through Live Tail.
    pub fn log(&mut self, t: TimeDelta, group: &str, stream: &str, message: &str) {
        let ts = self.time(t);
        let event_id = self.digits(56);
        self.push_via(
            Feed::Logs,
            ts,
            LogEvent {
                group: group.to_string(),
                stream: stream.to_string(),
                timestamp: ts,
                message: message.to_string(),
                event_id: Some(event_id),
            },
        );
    }

    /// Several log events `step` apart, starting at `t`; empty lines are skipped, as the
    /// awslogs driver does.
    pub fn log_lines(
        &mut self,
        t: TimeDelta,
        group: &str,
        stream: &str,
        lines: &[&str],
        step: TimeDelta,
    ) {
        let mut at = t;
        for line in lines.iter().filter(|l| !l.trim().is_empty()) {
            self.log(at, group, stream, line);
            at += step;
        }
    }

    /// A source's health, as stackwatch itself reports it at `t`.
    pub fn source_status(
        &mut self,
        t: TimeDelta,
        name: &str,
        state: SourceState,
        calls_per_min: f32,
        throttled: u64,
        stale_s: u64,
    ) {
        let at = self.time(t);
        self.push(
            at,
            at,
            SourceStatus {
                name: name.to_string(),
                state,
                calls_per_min,
                throttled,
                stale_s,
                last_ok: None,
                paced: false,
            },
        );
    }

    /// The header and the observations, sorted by the time they were seen (ties by AWS time,
    /// then by the order they were written).
    pub fn build(mut self) -> (Header, Vec<Observation>) {
        self.out.sort_by_key(|a| (a.0, a.1, a.2));
        (
            self.header,
            self.out.into_iter().map(|(_, _, _, o)| o).collect(),
        )
    }
}

/// splitmix64's finaliser: a fixed, well-spread bijection on u64.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}
