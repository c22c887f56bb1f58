//! Starting a live watch: the first reads that must succeed before the screen opens (a stack
//! that does not exist, a wrong region, a refused endpoint, no credentials: one clear line and
//! exit 3), then one task per source on a runtime of their own, all sending into one bounded
//! channel and all ended by one token.

use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::budget::{Api, Budget, Pace};
use super::cfn::CfnSource;
use super::discovery::{Discovery, region_and_account};
use super::ecs::EcsSource;
use super::elb::ElbSource;
use super::logs::LogsSource;
use super::source::SourceCtx;
use super::{AwsTarget, Clients, SourceError, error};
use crate::model::{Observation, ObservationKind, Profile, SourceState, SourceStatus};

/// The channel from the sources to the loop: a log flood slows the sources down instead of
/// growing memory.
const CHANNEL: usize = 1024;
/// How long sources get to finish their current call when the session ends.
const SHUTDOWN: Duration = Duration::from_secs(2);
/// `--wait` looks for the stack this often.
const WAIT_POLL: Duration = Duration::from_secs(5);

/// What to watch, as the command line gives it.
#[derive(Debug, Clone, Default)]
pub struct WatchPlan {
    pub stacks: Vec<String>,
    pub clusters: Vec<String>,
    /// `--cluster C --service S`: (cluster, service).
    pub services: Vec<(String, String)>,
    pub log_groups: Vec<String>,
    pub target_groups: Vec<String>,
    /// Wait for a stack that does not exist yet.
    pub wait: bool,
}

/// Why a watch could not start: each is one line for the user, and exit code 3.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("{0}")]
    Aws(SourceError),
    #[error(
        "stack {stack} not found in {region} (check the name and --region; --wait waits for it to appear)"
    )]
    StackNotFound { stack: String, region: String },
    #[error("cannot reach the CloudFormation endpoint{endpoint}: {detail}")]
    Unreachable { endpoint: String, detail: String },
    #[error("cannot start the AWS runtime: {0}")]
    Runtime(std::io::Error),
}

/// A running watch: the sources' runtime and what ends them.
pub struct Watch {
    pub account: Option<String>,
    pub region: String,
    /// Who the sources sign in as, for the banner when the credentials expire.
    pub profile: Profile,
    cancel: CancellationToken,
    runtime: tokio::runtime::Runtime,
}

impl Watch {
    /// Connects, checks what the plan names, and starts the sources. The receiver is the
    /// other end of their channel, for the loop.
    pub fn start(
        target: &AwsTarget,
        plan: &WatchPlan,
    ) -> Result<(Watch, mpsc::Receiver<Observation>), StartError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("stackwatch-aws")
            .enable_all()
            .build()
            .map_err(StartError::Runtime)?;
        let clients = runtime
            .block_on(target.connect())
            .map_err(StartError::Aws)?;
        let account = runtime.block_on(preflight(&clients, target, plan))?;
        let (tx, observations) = mpsc::channel(CHANNEL);
        let cancel = CancellationToken::new();
        let discovery = Discovery::default();
        seed(&discovery, plan);
        let started = Utc::now();
        let budget = Budget::new(Pace::from_env());
        let ctx =
            |name: &str, api| SourceCtx::new(name, api, budget.clone(), tx.clone(), cancel.clone());
        let mut sources = JoinSet::new();
        let on = runtime.handle();
        if !plan.stacks.is_empty() {
            let cfn = CfnSource::new(&clients, discovery.clone(), &plan.stacks);
            sources.spawn_on(named("cfn", cfn.run(ctx("cfn", Api::CloudFormation))), on);
        }
        let ecs = EcsSource::new(&clients, discovery.clone());
        sources.spawn_on(named("ecs", ecs.run(ctx("ecs", Api::Ecs))), on);
        let elb = ElbSource::new(&clients, discovery.clone());
        sources.spawn_on(named("elb", elb.run(ctx("elb", Api::Elb))), on);
        let logs = LogsSource::new(&clients, discovery, started);
        sources.spawn_on(named("logs", logs.run(ctx("logs", Api::Logs))), on);
        runtime.spawn(supervise(sources, tx, cancel.clone()));
        let watch = Watch {
            account,
            region: clients.region.clone(),
            profile: clients.profile.clone(),
            cancel,
            runtime,
        };
        Ok((watch, observations))
    }

    /// Ends every source and gives them a moment to finish their call.
    pub fn stop(self) {
        self.cancel.cancel();
        self.runtime.shutdown_timeout(SHUTDOWN);
    }
}

async fn named<F>(name: &'static str, source: F) -> &'static str
where
    F: Future,
{
    let _ = source.await;
    name
}

/// Waits for the sources. A source that panics is logged and shown as unavailable; the others
/// go on (a source that fails never takes the rest down).
async fn supervise(
    mut sources: JoinSet<&'static str>,
    tx: mpsc::Sender<Observation>,
    cancel: CancellationToken,
) {
    while let Some(ended) = sources.join_next().await {
        match ended {
            Ok(name) => tracing::info!(source = name, "source ended"),
            Err(e) if e.is_panic() => {
                tracing::error!(error = %e, "a source panicked");
                let status = SourceStatus {
                    name: "source".to_string(),
                    state: SourceState::Unavailable,
                    calls_per_min: 0.0,
                    throttled: 0,
                    stale_s: 0,
                    last_ok: None,
                    paced: false,
                };
                let obs = Observation::new(Utc::now(), ObservationKind::SourceStatus(status));
                let _ = tx.try_send(obs);
            }
            Err(_) => {}
        }
        if cancel.is_cancelled() {
            break;
        }
    }
}

/// The first reads: every named stack exists (or, with `--wait`, until it does). Returns the
/// account, read from the first stack's ARN.
async fn preflight(
    clients: &Clients,
    target: &AwsTarget,
    plan: &WatchPlan,
) -> Result<Option<String>, StartError> {
    let mut account = None;
    let endpoint = target
        .endpoint_url
        .clone()
        .or_else(|| std::env::var("AWS_ENDPOINT_URL").ok())
        .map(|u| format!(" at {u}"))
        .unwrap_or_default();
    for stack in &plan.stacks {
        let mut announced = false;
        loop {
            let answer = clients.cfn.describe_stacks().stack_name(stack).send().await;
            let found = match answer {
                Ok(out) => out
                    .stacks()
                    .first()
                    .and_then(|s| s.stack_id())
                    .map(str::to_string),
                Err(e) => match error::classify(&e, &clients.profile) {
                    SourceError::NotFound(_) => None,
                    SourceError::Unreachable(detail) => {
                        return Err(StartError::Unreachable {
                            endpoint: endpoint.clone(),
                            detail,
                        });
                    }
                    other => return Err(StartError::Aws(other)),
                },
            };
            match found {
                Some(arn) => {
                    if account.is_none() {
                        account = region_and_account(&arn).map(|(_, a)| a.to_string());
                    }
                    break;
                }
                None if plan.wait => {
                    if !announced {
                        eprintln!(
                            "stackwatch: waiting for stack {stack} to appear in {} …",
                            clients.region
                        );
                        announced = true;
                    }
                    tokio::time::sleep(WAIT_POLL).await;
                }
                None => {
                    return Err(StartError::StackNotFound {
                        stack: stack.clone(),
                        region: clients.region.clone(),
                    });
                }
            }
        }
    }
    Ok(account)
}

/// One look (`stackwatch status`): every source reads once, in the order discovery needs
/// (the stack names the services, the services their target groups and log groups), and the
/// observations come back for the pipeline. No task outlives it.
pub fn snapshot(target: &AwsTarget, plan: &WatchPlan) -> Result<Vec<Observation>, StartError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(StartError::Runtime)?;
    runtime.block_on(async {
        let clients = target.connect().await.map_err(StartError::Aws)?;
        preflight(&clients, target, plan).await?;
        let discovery = Discovery::default();
        seed(&discovery, plan);
        // Large enough for a stack, its services and five minutes of logs; drained as it fills.
        let (tx, mut rx) = mpsc::channel(CHANNEL);
        let collect = tokio::spawn(async move {
            let mut all = Vec::new();
            while let Some(obs) = rx.recv().await {
                all.push(obs);
            }
            all
        });
        let cancel = CancellationToken::new();
        // One look is a handful of calls, made once: nothing to pace.
        let budget = Budget::unlimited();
        let ctx =
            |name: &str, api| SourceCtx::new(name, api, budget.clone(), tx.clone(), cancel.clone());
        let closed = |_| StartError::Runtime(std::io::Error::other("the snapshot ended early"));
        if !plan.stacks.is_empty() {
            let mut cfn = CfnSource::new(&clients, discovery.clone(), &plan.stacks);
            let mut c = ctx("cfn", Api::CloudFormation);
            let polled = cfn.poll_once(&mut c).await;
            c.one_round(polled, &discovery).await.map_err(closed)?;
        }
        {
            let mut ecs = EcsSource::new(&clients, discovery.clone());
            let mut c = ctx("ecs", Api::Ecs);
            let polled = ecs.poll(&mut c).await;
            c.one_round(polled, &discovery).await.map_err(closed)?;
        }
        {
            let mut elb = ElbSource::new(&clients, discovery.clone());
            let mut c = ctx("elb", Api::Elb);
            let polled = elb.poll(&mut c).await.map(drop);
            c.one_round(polled, &discovery).await.map_err(closed)?;
        }
        {
            let mut logs = LogsSource::new(&clients, discovery.clone(), Utc::now());
            let mut c = ctx("logs", Api::Logs);
            let polled = logs.poll(&mut c).await.map(drop);
            c.one_round(polled, &discovery).await.map_err(closed)?;
        }
        // Every sender is gone (each context ended with its block): the collector finishes.
        drop(tx);
        let observations = collect
            .await
            .map_err(|e| StartError::Runtime(std::io::Error::other(e)))?;
        Ok(observations)
    })
}

/// What the command line names, before anything is discovered.
fn seed(discovery: &Discovery, plan: &WatchPlan) {
    for cluster in &plan.clusters {
        if !plan.services.iter().any(|(c, _)| c == cluster) {
            discovery.add_cluster(cluster, "--cluster");
        }
    }
    for (cluster, service) in &plan.services {
        discovery.add_service(cluster, service, "--service");
    }
    for group in &plan.log_groups {
        discovery.add_log_group(group, "--log-group");
    }
    for arn in &plan.target_groups {
        discovery.add_target_group(arn, "--target-group");
    }
}

/// When the session started, for the recording's name.
pub fn session_stamp(at: DateTime<Utc>) -> String {
    at.format("%Y%m%dT%H%M%SZ").to_string()
}
