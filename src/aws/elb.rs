//! The ELBv2 source: DescribeTargetHealth for each discovered target group (ALB and NLB
//! alike), with an observation only when a target's state, reason or description changes. A
//! target that leaves its group is reported once as AWS words it (`unused`,
//! `Target.NotRegistered`) and forgotten.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_elasticloadbalancingv2::Client;

use super::discovery::Discovery;
use super::source::{Closed, SourceCtx};
use super::{Clients, SourceError, error};
use crate::model::TargetHealth;

pub const FAST: Duration = Duration::from_secs(5);
pub const SETTLED: Duration = Duration::from_secs(20);

pub struct ElbSource {
    client: Client,
    profile: String,
    discovery: Discovery,
    /// Each group's targets as last reported, by target id and port.
    groups: HashMap<String, HashMap<(String, Option<u16>), TargetHealth>>,
}

impl ElbSource {
    pub fn new(clients: &Clients, discovery: Discovery) -> Self {
        ElbSource {
            client: clients.elb.clone(),
            profile: clients.profile.clone(),
            discovery,
            groups: HashMap::new(),
        }
    }

    pub async fn run(mut self, mut ctx: SourceCtx) -> Result<(), Closed> {
        loop {
            let busy = match self.poll(&mut ctx).await {
                Ok(busy) => {
                    ctx.ok();
                    busy
                }
                Err(Polled::Closed) => return Err(Closed),
                Err(Polled::Failed(e)) => {
                    ctx.failed(&e);
                    true
                }
            };
            ctx.report().await?;
            let wait = ctx.next_wait(if busy { FAST } else { SETTLED });
            if !ctx.sleep(wait).await {
                return Ok(());
            }
        }
    }

    /// One read of every group; true while no group is known yet, a group is empty, or a
    /// target is not settled (healthy or gone).
    async fn poll(&mut self, ctx: &mut SourceCtx) -> Result<bool, Polled> {
        let groups = self.discovery.target_groups();
        // The stack or a service names its groups after the first polls: read them as soon
        // as they are known (reading none costs nothing).
        let mut busy = groups.is_empty();
        for group in groups {
            ctx.called();
            let out = self
                .client
                .describe_target_health()
                .target_group_arn(&group)
                .send()
                .await
                .map_err(|e| Polled::Failed(error::classify(&e, &self.profile)))?;
            let now: Vec<TargetHealth> = out
                .target_health_descriptions()
                .iter()
                .filter_map(|d| {
                    let target = d.target()?;
                    let health = d.target_health();
                    Some(TargetHealth {
                        target_group: group.clone(),
                        target_id: target.id()?.to_string(),
                        port: target.port().and_then(|p| u16::try_from(p).ok()),
                        state: health
                            .and_then(|h| h.state())
                            .map(|s| s.as_str().to_string())
                            .unwrap_or_default(),
                        reason: health
                            .and_then(|h| h.reason())
                            .map(|r| r.as_str().to_string()),
                        description: health.and_then(|h| h.description()).map(str::to_string),
                    })
                })
                .collect();
            // A group with no target yet waits for a deploy's first tasks: at the settled
            // pace their registration would show up to 20 s late.
            busy |= now.is_empty() || now.iter().any(|t| t.state != "healthy");
            for change in self.changes(&group, now) {
                ctx.send(change).await?;
            }
        }
        Ok(busy)
    }

    /// What changed in a group since its last read, and what left it.
    fn changes(&mut self, group: &str, now: Vec<TargetHealth>) -> Vec<TargetHealth> {
        let known = self.groups.entry(group.to_string()).or_default();
        let mut changes = Vec::new();
        let mut present = HashMap::with_capacity(now.len());
        for target in now {
            let key = (target.target_id.clone(), target.port);
            if known.get(&key) != Some(&target) {
                changes.push(target.clone());
            }
            present.insert(key, target);
        }
        for (key, left) in known.drain() {
            if !present.contains_key(&key) && !left.is_gone() {
                changes.push(TargetHealth {
                    state: "unused".to_string(),
                    reason: Some("Target.NotRegistered".to_string()),
                    description: Some("Target is not registered to the target group".to_string()),
                    ..left
                });
            }
        }
        *known = present;
        changes
    }
}

enum Polled {
    Failed(SourceError),
    Closed,
}

impl From<Closed> for Polled {
    fn from(_: Closed) -> Self {
        Polled::Closed
    }
}
