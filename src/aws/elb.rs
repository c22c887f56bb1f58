//! The ELBv2 source: DescribeTargetHealth for each discovered target group (ALB and NLB
//! alike), with an observation only when a target's state, reason or description changes. A
//! target that leaves its group is reported once as AWS words it (`unused`,
//! `Target.NotRegistered`) and forgotten.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use aws_sdk_elasticloadbalancingv2::Client;

use super::Clients;
use super::discovery::Discovery;
use super::source::{Cadence, Closed, Polled, SourceCtx};
use crate::model::{TargetGone, TargetHealth};

/// Poll pace: fast while a target is not settled, slow once every target is healthy.
pub const CADENCE: Cadence = Cadence {
    fast: Duration::from_secs(10),
    settled: Duration::from_secs(30),
    idle: Duration::from_secs(60),
};

pub struct ElbSource {
    client: Client,
    profile: crate::model::Profile,
    discovery: Discovery,
    /// Each group's targets as last reported, by target id and port.
    groups: HashMap<String, HashMap<(String, Option<u16>), TargetHealth>>,
    /// Groups whose last read found every target healthy: when the budget is tight they take
    /// turns, while the others are read every round.
    settled: HashSet<String>,
    /// Where the turns of the settled groups have got to.
    turn: usize,
}

impl ElbSource {
    pub fn new(clients: &Clients, discovery: Discovery) -> Self {
        ElbSource {
            client: clients.elb.clone(),
            profile: clients.profile.clone(),
            discovery,
            groups: HashMap::new(),
            settled: HashSet::new(),
            turn: 0,
        }
    }

    pub async fn run(mut self, mut ctx: SourceCtx) -> Result<(), Closed> {
        loop {
            let polled = self.poll(&mut ctx).await;
            let busy = polled.as_ref().map_or(true, |busy| *busy);
            if !ctx
                .end_round(polled.map(drop), &self.discovery, &CADENCE, busy)
                .await?
            {
                return Ok(());
            }
        }
    }

    /// One read of the groups the budget allows (every group that is not settled, and the
    /// settled ones in turn); true while no group is known yet, a group is empty, or a target
    /// is not settled (healthy or gone).
    pub(crate) async fn poll(&mut self, ctx: &mut SourceCtx) -> Result<bool, Polled> {
        let groups = self.discovery.target_groups();
        // The stack or a service names its groups after the first polls: read them as soon
        // as they are known (reading none costs nothing).
        let mut busy = groups.is_empty();
        let allowance = ctx.calls_in(ctx.pace().of(CADENCE.settled));
        let (chosen, left_out) = choose_groups(&groups, &self.settled, &mut self.turn, allowance);
        if left_out {
            ctx.paced_now();
        }
        for group in chosen {
            ctx.call().await?;
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
            let unsettled = now.is_empty() || now.iter().any(|t| t.state != "healthy");
            busy |= unsettled;
            if unsettled {
                self.settled.remove(&group);
            } else {
                self.settled.insert(group.clone());
            }
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

/// The groups to read this round: every one not known to be settled, then settled ones in
/// turn while the allowance lasts (at least one, so each is read again in time). True when a
/// settled group had to wait for a later round.
fn choose_groups(
    groups: &[String],
    settled: &HashSet<String>,
    turn: &mut usize,
    allowance: usize,
) -> (Vec<String>, bool) {
    let (quiet, mut chosen): (Vec<&String>, Vec<&String>) =
        groups.iter().partition(|g| settled.contains(*g));
    let room = allowance.saturating_sub(chosen.len()).max(1);
    let left_out = quiet.len() > room;
    if quiet.len() <= room {
        chosen.extend(quiet);
    } else {
        let start = *turn % quiet.len();
        chosen.extend(quiet.iter().cycle().skip(start).take(room));
        *turn = (start + room) % quiet.len();
    }
    (chosen.into_iter().cloned().collect(), left_out)
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

    #[test]
    fn settled_groups_take_turns_when_the_budget_is_tight() {
        let groups: Vec<String> = (0..22).map(|i| format!("tg{i}")).collect();
        let mut settled: HashSet<String> = groups.iter().cloned().collect();
        settled.remove("tg5");
        let mut turn = 0;
        let mut read = HashSet::new();
        for round in 0..7 {
            let (chosen, left_out) = choose_groups(&groups, &settled, &mut turn, 4);
            assert!(left_out);
            assert_eq!(chosen.len(), 4, "round {round}");
            assert!(
                chosen.contains(&"tg5".to_string()),
                "the unsettled group every round"
            );
            read.extend(chosen);
        }
        assert_eq!(read.len(), 22, "every settled group within 7 rounds");
        // Room for all: all, and nothing left out.
        let (chosen, left_out) = choose_groups(&groups, &settled, &mut turn, 30);
        assert_eq!((chosen.len(), left_out), (22, false));
    }

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
