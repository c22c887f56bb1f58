//! The ELBv2 source: DescribeTargetHealth for each discovered target group (ALB and NLB
//! alike), with an observation only when a target's state, reason or description changes. A
//! target that leaves its group is reported once as AWS words it (`unused`,
//! `Target.NotRegistered`) and forgotten.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_elasticloadbalancingv2::Client;

use super::Clients;
use super::discovery::Discovery;
use super::source::{Closed, Polled, SourceCtx};
use crate::model::{TargetGone, TargetHealth};

pub const FAST: Duration = Duration::from_secs(5);
pub const SETTLED: Duration = Duration::from_secs(20);

pub struct ElbSource {
    client: Client,
    profile: crate::model::Profile,
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
            let polled = self.poll(&mut ctx).await;
            let busy = polled.as_ref().map_or(true, |busy| *busy);
            let interval = if busy { FAST } else { SETTLED };
            if !ctx
                .end_round(polled.map(drop), &self.discovery, interval)
                .await?
            {
                return Ok(());
            }
        }
    }

    /// One read of every group; true while no group is known yet, a group is empty, or a
    /// target is not settled (healthy or gone).
    pub(crate) async fn poll(&mut self, ctx: &mut SourceCtx) -> Result<bool, Polled> {
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
                .map_err(|e| Polled::from_sdk(&e, &self.profile))?;
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
            let (changed, gone) =
                target_changes(self.groups.entry(group.clone()).or_default(), now);
            for target in changed {
                ctx.send(target).await?;
            }
            for target in gone {
                ctx.send(target).await?;
            }
        }
        Ok(busy)
    }
}

/// What changed in a group since its last read, and the targets that left it.
fn target_changes(
    known: &mut HashMap<(String, Option<u16>), TargetHealth>,
    now: Vec<TargetHealth>,
) -> (Vec<TargetHealth>, Vec<TargetGone>) {
    let mut changed = Vec::new();
    let mut present = HashMap::with_capacity(now.len());
    for target in now {
        let key = (target.target_id.clone(), target.port);
        if known.get(&key) != Some(&target) {
            changed.push(target.clone());
        }
        present.insert(key, target);
    }
    let gone = known
        .drain()
        .filter(|(key, _)| !present.contains_key(key))
        .map(|(_, left)| TargetGone {
            target_group: left.target_group,
            target_id: left.target_id,
            port: left.port,
        })
        .collect();
    *known = present;
    (changed, gone)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(id: &str, state: &str) -> TargetHealth {
        TargetHealth {
            target_group: "arn:tg".into(),
            target_id: id.into(),
            port: Some(8080),
            state: state.into(),
            reason: None,
            description: None,
        }
    }

    #[test]
    fn only_changes_are_reported_and_a_target_that_left_is_gone_once() {
        let mut known = HashMap::new();
        let (changed, gone) = target_changes(
            &mut known,
            vec![target("a", "initial"), target("b", "healthy")],
        );
        assert_eq!((changed.len(), gone.len()), (2, 0));
        let (changed, gone) = target_changes(
            &mut known,
            vec![target("a", "initial"), target("b", "healthy")],
        );
        assert_eq!(
            (changed.len(), gone.len()),
            (0, 0),
            "an idle read says nothing"
        );
        let (changed, gone) = target_changes(&mut known, vec![target("a", "unhealthy")]);
        assert_eq!(changed, [target("a", "unhealthy")]);
        assert_eq!(gone.len(), 1);
        assert_eq!(gone[0].target_id, "b");
        let (_, gone) = target_changes(&mut known, vec![target("a", "unhealthy")]);
        assert!(gone.is_empty(), "reported once");
    }
}
