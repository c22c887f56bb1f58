//! The ECS source: services (events, deployments with rollout state and counts) described 10
//! at a time, and their tasks, running and stopped, listed per cluster (one list serves every
//! watched service in it) and described 100 at a time. Tasks are read again only when a
//! service's answer moved, a task is on its way somewhere, or a check is due. Stopped tasks are captured while ECS still lists them (about an hour), with stop code,
//! reason and container exit codes. Each task definition is read once, for its awslogs group
//! and stream prefix.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

use aws_sdk_ecs::Client;
use aws_sdk_ecs::types::{DesiredStatus, LogDriver};
use tokio::time::Instant;

use super::Clients;
use super::discovery::{Discovery, LogConfig, ServiceRef};
use super::source::{Cadence, Closed, Polled, SourceCtx, utc};
use crate::model::{
    EcsContainer, EcsDeployment, EcsService, EcsServiceEvent, EcsServiceGone, EcsTask, EcsTaskGone,
};

/// Poll pace: fast while a service deploys or its tasks move, slow once all are steady.
pub const CADENCE: Cadence = Cadence {
    fast: Duration::from_secs(5),
    settled: Duration::from_secs(30),
    idle: Duration::from_secs(60),
};
const DESCRIBE_SERVICES_BATCH: usize = 10;
const DESCRIBE_TASKS_BATCH: usize = 100;
/// Task definitions remembered (their log configuration): a long session sees many revisions.
const TASK_DEFINITIONS_KEPT: usize = 200;

pub struct EcsSource {
    client: Client,
    profile: crate::model::Profile,
    discovery: Discovery,
    /// Each service as last reported.
    services: HashMap<ServiceRef, EcsService>,
    /// Ids of the events each service's last answer held (AWS keeps the last 100).
    seen_events: HashMap<ServiceRef, HashSet<String>>,
    /// Each cluster's tasks as last seen, by ARN: dropped once ECS stops listing them.
    tasks: HashMap<String, HashMap<String, TaskSeen>>,
    /// When each cluster's tasks were last listed.
    tasks_read: HashMap<String, Instant>,
    task_definitions: BTreeMap<String, Vec<LogConfig>>,
    busy: bool,
}

/// What was last reported of a task: enough to tell whether to describe it again.
#[derive(PartialEq)]
struct TaskSeen {
    last_status: String,
    desired_status: String,
    /// ECS listed it among the stopped tasks.
    listed_stopped: bool,
    /// Its `service:NAME` group: a shared cluster runs others' tasks too, described once and
    /// then left alone unless their service comes to be watched.
    group: Option<String>,
    /// It was sent (it belongs to a watched service).
    sent: bool,
}

impl TaskSeen {
    /// A task that is running steadily, or stopped for good, changes only by moving between
    /// the running and the stopped lists.
    fn settled(&self) -> bool {
        self.last_status == "STOPPED"
            || (self.last_status == "RUNNING" && self.desired_status == "RUNNING")
    }
}

/// A cluster's tasks are listed again at least this often even when nothing seems to move (a
/// task replaced between two polls shows in the service's events and counts first).
const TASKS_AT_LEAST_EVERY: Duration = Duration::from_secs(300);

impl EcsSource {
    pub fn new(clients: &Clients, discovery: Discovery) -> Self {
        EcsSource {
            client: clients.ecs.clone(),
            profile: clients.profile.clone(),
            discovery,
            services: HashMap::new(),
            seen_events: HashMap::new(),
            tasks: HashMap::new(),
            tasks_read: HashMap::new(),
            task_definitions: BTreeMap::new(),
            busy: true,
        }
    }

    pub async fn run(mut self, mut ctx: SourceCtx) -> Result<(), Closed> {
        loop {
            let polled = self.poll(&mut ctx).await;
            if !ctx
                .end_round(polled, &self.discovery, &CADENCE, self.busy)
                .await?
            {
                return Ok(());
            }
        }
    }

    pub(crate) async fn poll(&mut self, ctx: &mut SourceCtx) -> Result<(), Polled> {
        for cluster in self.discovery.clusters() {
            self.list_services(&cluster, ctx).await?;
        }
        let mut by_cluster: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for s in self.discovery.services() {
            by_cluster.entry(s.cluster).or_default().push(s.service);
        }
        let mut busy = false;
        for (cluster, names) in by_cluster {
            let mut moved = false;
            for batch in names.chunks(DESCRIBE_SERVICES_BATCH) {
                let (deploying, changed) = self.describe_services(&cluster, batch, ctx).await?;
                busy |= deploying;
                moved |= deploying || changed;
            }
            let in_flight = self
                .tasks
                .get(&cluster)
                .is_some_and(|tasks| tasks.values().any(|t| t.sent && !t.settled()));
            let due = self
                .tasks_read
                .get(&cluster)
                .is_none_or(|at| at.elapsed() >= ctx.pace().of(TASKS_AT_LEAST_EVERY));
            if moved || in_flight || due {
                let services: HashSet<String> =
                    names.iter().map(|n| format!("service:{n}")).collect();
                self.read_tasks(&cluster, &services, ctx).await?;
                self.tasks_read.insert(cluster.clone(), Instant::now());
            }
        }
        self.busy = busy || self.discovery.services().is_empty();
        Ok(())
    }

    async fn list_services(&mut self, cluster: &str, ctx: &mut SourceCtx) -> Result<(), Polled> {
        let mut token = None;
        loop {
            ctx.call().await?;
            let page = self
                .client
                .list_services()
                .cluster(cluster)
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| Polled::from_sdk(&e, &self.profile))?;
            for arn in page.service_arns() {
                self.discovery
                    .add_service(cluster, arn, &format!("cluster {cluster}"));
            }
            match page.next_token() {
                Some(next) => token = Some(next.to_string()),
                None => return Ok(()),
            }
        }
    }

    /// Describes up to 10 services: whether one of them is deploying, and whether one's answer
    /// moved (counts, deployments, new events).
    async fn describe_services(
        &mut self,
        cluster: &str,
        names: &[String],
        ctx: &mut SourceCtx,
    ) -> Result<(bool, bool), Polled> {
        ctx.call().await?;
        let out = self
            .client
            .describe_services()
            .cluster(cluster)
            .set_services(Some(names.to_vec()))
            .send()
            .await
            .map_err(|e| Polled::from_sdk(&e, &self.profile))?;
        let mut busy = false;
        let mut changed = false;
        // A deleted service: MISSING, or listed as INACTIVE until ECS forgets it.
        let deleted = out
            .failures()
            .iter()
            .filter(|f| f.reason() == Some("MISSING"))
            .filter_map(|f| f.arn())
            .map(|arn| super::discovery::service_name(arn).to_string())
            .chain(
                out.services()
                    .iter()
                    .filter(|s| s.status() == Some("INACTIVE"))
                    .filter_map(|s| s.service_name().map(str::to_string)),
            );
        for name in deleted.collect::<Vec<_>>() {
            let key = ServiceRef {
                cluster: cluster.to_string(),
                service: name.clone(),
            };
            if self.services.remove(&key).is_some() {
                self.seen_events.remove(&key);
                changed = true;
                ctx.send(EcsServiceGone {
                    cluster: cluster.to_string(),
                    service: name,
                })
                .await?;
            }
        }
        for s in out
            .services()
            .iter()
            .filter(|s| s.status() != Some("INACTIVE"))
        {
            let service = service_of(cluster, s);
            let key = ServiceRef {
                cluster: cluster.to_string(),
                service: service.service.clone(),
            };
            busy |= service.deployments.len() > 1
                || service.running != service.desired
                || service.deployments.iter().any(|d| {
                    d.rollout_state.as_deref() == Some("IN_PROGRESS") && d.running < d.desired
                });
            for lb in s.load_balancers() {
                if let Some(tg) = lb.target_group_arn() {
                    self.discovery
                        .add_target_group(tg, &format!("service {}", key.service));
                }
            }
            // Events come newest first; the new ones go out oldest first.
            let seen = self.seen_events.entry(key.clone()).or_default();
            let mut fresh: Vec<EcsServiceEvent> = s
                .events()
                .iter()
                .filter(|e| e.id().is_some_and(|id| !seen.contains(id)))
                .map(|e| EcsServiceEvent {
                    cluster: cluster.to_string(),
                    service: key.service.clone(),
                    id: e.id().unwrap_or_default().to_string(),
                    created_at: e.created_at().map(utc).unwrap_or_default(),
                    message: e.message().unwrap_or_default().to_string(),
                })
                .collect();
            // Only the ids AWS still returns are worth remembering: bounded by its 100.
            *seen = s
                .events()
                .iter()
                .filter_map(|e| e.id())
                .map(str::to_string)
                .collect();
            changed |= !fresh.is_empty();
            if self.services.get(&key) != Some(&service) {
                changed = true;
                self.services.insert(key, service.clone());
                ctx.send(service).await?;
            }
            fresh.reverse();
            for event in fresh {
                ctx.send(event).await?;
            }
        }
        Ok((busy, changed))
    }

    /// Lists a cluster's tasks and describes the ones that are new or moving; sends those of
    /// the watched `services` (their `service:NAME` groups).
    async fn read_tasks(
        &mut self,
        cluster: &str,
        services: &HashSet<String>,
        ctx: &mut SourceCtx,
    ) -> Result<(), Polled> {
        let mut known = self.tasks.remove(cluster).unwrap_or_default();
        // Put back whether or not the read went through: a throttled call must not make the
        // next poll describe (and send again) every task of the cluster.
        let read = self
            .read_tasks_into(cluster, services, &mut known, ctx)
            .await;
        self.tasks.insert(cluster.to_string(), known);
        read
    }

    /// `read_tasks` with the cluster's tasks as last seen, updated as they are sent.
    async fn read_tasks_into(
        &mut self,
        cluster: &str,
        services: &HashSet<String>,
        known: &mut HashMap<String, TaskSeen>,
        ctx: &mut SourceCtx,
    ) -> Result<(), Polled> {
        let mut listed: Vec<(String, bool)> = Vec::new();
        for desired in [DesiredStatus::Running, DesiredStatus::Stopped] {
            let stopped = desired == DesiredStatus::Stopped;
            let mut token = None;
            loop {
                ctx.call().await?;
                let page = self
                    .client
                    .list_tasks()
                    .cluster(cluster)
                    .desired_status(desired.clone())
                    .set_next_token(token)
                    .send()
                    .await
                    .map_err(|e| Polled::from_sdk(&e, &self.profile))?;
                listed.extend(page.task_arns().iter().map(|arn| (arn.clone(), stopped)));
                match page.next_token() {
                    Some(next) => token = Some(next.to_string()),
                    None => break,
                }
            }
        }
        // New tasks, tasks that moved between the lists, and tasks on their way somewhere.
        let wanted: Vec<String> = listed
            .iter()
            .filter(|(arn, stopped)| {
                known.get(arn).is_none_or(|t| {
                    let watched = t.group.as_ref().is_some_and(|g| services.contains(g));
                    watched && (!t.sent || t.listed_stopped != *stopped || !t.settled())
                })
            })
            .map(|(arn, _)| arn.clone())
            .collect();
        let stopped_list: HashSet<&String> = listed
            .iter()
            .filter(|(_, stopped)| *stopped)
            .map(|(arn, _)| arn)
            .collect();
        for batch in wanted.chunks(DESCRIBE_TASKS_BATCH) {
            ctx.call().await?;
            let out = self
                .client
                .describe_tasks()
                .cluster(cluster)
                .set_tasks(Some(batch.to_vec()))
                .send()
                .await
                .map_err(|e| Polled::from_sdk(&e, &self.profile))?;
            // A task ECS no longer knows at all.
            for arn in out
                .failures()
                .iter()
                .filter(|f| f.reason() == Some("MISSING"))
                .filter_map(|f| f.arn())
            {
                if known.remove(arn).is_some() {
                    ctx.send(EcsTaskGone {
                        cluster: cluster.to_string(),
                        task_arn: arn.to_string(),
                    })
                    .await?;
                }
            }
            for t in out.tasks() {
                let task = task_of(cluster, t);
                let watched = task.group.as_ref().is_some_and(|g| services.contains(g));
                let mut seen = TaskSeen {
                    last_status: task.last_status.clone(),
                    desired_status: task.desired_status.clone(),
                    listed_stopped: stopped_list.contains(&task.task_arn),
                    group: task.group.clone(),
                    sent: false,
                };
                let unchanged = known.get(&task.task_arn).is_some_and(|t| {
                    t.sent
                        && t.last_status == seen.last_status
                        && t.desired_status == seen.desired_status
                });
                let arn = task.task_arn.clone();
                if watched && !unchanged {
                    self.read_task_definition(&task.task_definition, ctx)
                        .await?;
                    ctx.send(task).await?;
                }
                seen.sent = watched;
                // Remembered once sent: a task whose task definition could not be read is
                // described again next poll instead of never shown.
                known.insert(arn, seen);
            }
        }
        // Tasks ECS no longer lists are forgotten (stopped ones after about an hour).
        let listed: HashSet<&String> = listed.iter().map(|(arn, _)| arn).collect();
        known.retain(|arn, _| listed.contains(arn));
        Ok(())
    }

    /// Reads a task definition once, for where its containers log.
    async fn read_task_definition(&mut self, arn: &str, ctx: &mut SourceCtx) -> Result<(), Polled> {
        if arn.is_empty() || self.task_definitions.contains_key(arn) {
            return Ok(());
        }
        ctx.call().await?;
        let out = self
            .client
            .describe_task_definition()
            .task_definition(arn)
            .send()
            .await
            .map_err(|e| Polled::from_sdk(&e, &self.profile))?;
        let configs: Vec<LogConfig> = out
            .task_definition()
            .map(|td| td.container_definitions())
            .unwrap_or_default()
            .iter()
            .filter_map(|c| c.log_configuration())
            .filter(|l| *l.log_driver() == LogDriver::Awslogs)
            .filter_map(|l| {
                let options = l.options()?;
                Some(LogConfig {
                    group: options.get("awslogs-group")?.clone(),
                    stream_prefix: options.get("awslogs-stream-prefix").cloned(),
                })
            })
            .collect();
        let family = arn.rsplit('/').next().unwrap_or(arn);
        for config in &configs {
            self.discovery
                .add_log_group(&config.group, &format!("task definition {family}"));
        }
        if self.task_definitions.len() >= TASK_DEFINITIONS_KEPT {
            self.task_definitions.pop_first();
        }
        self.task_definitions.insert(arn.to_string(), configs);
        Ok(())
    }
}

fn count(n: i32) -> u32 {
    u32::try_from(n).unwrap_or(0)
}

fn service_of(cluster: &str, s: &aws_sdk_ecs::types::Service) -> EcsService {
    EcsService {
        cluster: cluster.to_string(),
        service: s.service_name().unwrap_or_default().to_string(),
        arn: s.service_arn().map(str::to_string),
        status: s.status().unwrap_or_default().to_string(),
        desired: count(s.desired_count()),
        running: count(s.running_count()),
        pending: count(s.pending_count()),
        task_definition: s.task_definition().map(str::to_string),
        deployments: s
            .deployments()
            .iter()
            .map(|d| EcsDeployment {
                id: d.id().unwrap_or_default().to_string(),
                status: d.status().unwrap_or_default().to_string(),
                task_definition: d.task_definition().unwrap_or_default().to_string(),
                desired: count(d.desired_count()),
                running: count(d.running_count()),
                pending: count(d.pending_count()),
                failed_tasks: count(d.failed_tasks()),
                rollout_state: d.rollout_state().map(|r| r.as_str().to_string()),
                rollout_state_reason: d.rollout_state_reason().map(str::to_string),
                created_at: d.created_at().map(utc).unwrap_or_default(),
                updated_at: d.updated_at().map(utc),
            })
            .collect(),
    }
}

fn task_of(cluster: &str, t: &aws_sdk_ecs::types::Task) -> EcsTask {
    // The awsvpc address: in the ENI attachment's details, or on the container.
    let from_attachment = t
        .attachments()
        .iter()
        .flat_map(|a| a.details())
        .find(|kv| kv.name() == Some("privateIPv4Address"))
        .and_then(|kv| kv.value());
    let from_container = t
        .containers()
        .iter()
        .flat_map(|c| c.network_interfaces())
        .find_map(|n| n.private_ipv4_address());
    EcsTask {
        cluster: cluster.to_string(),
        task_arn: t.task_arn().unwrap_or_default().to_string(),
        group: t.group().map(str::to_string),
        task_definition: t.task_definition_arn().unwrap_or_default().to_string(),
        last_status: t.last_status().unwrap_or_default().to_string(),
        desired_status: t.desired_status().unwrap_or_default().to_string(),
        stop_code: t.stop_code().map(|c| c.as_str().to_string()),
        stopped_reason: t.stopped_reason().map(str::to_string),
        containers: t
            .containers()
            .iter()
            .map(|c| EcsContainer {
                name: c.name().unwrap_or_default().to_string(),
                last_status: c.last_status().unwrap_or_default().to_string(),
                exit_code: c.exit_code(),
                reason: c.reason().map(str::to_string),
            })
            .collect(),
        created_at: t.created_at().map(utc),
        started_at: t.started_at().map(utc),
        stopped_at: t.stopped_at().map(utc),
        private_ip: from_attachment.or(from_container).map(str::to_string),
    }
}
