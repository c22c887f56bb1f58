//! State rules and resolution, run by `tick`. Each looks at current state only (in-progress
//! resources, services, target groups, open flags), never at the whole history.

use std::hash::{Hash, Hasher};

use rustc_hash::FxHasher;

use chrono::{DateTime, Utc};

use super::text_rules::{match_rule, short, tg_name};
use super::{
    CFN_SUMMARY_RULES, Clock, Detector, EVIDENCE_CAP, Evidence, Flag, FlagKey, FlagSpec, Subject,
    SummaryClock, fmt_duration,
};
use crate::model::{
    FailureRecord, ResourceKey, ResourceState, Severity, SignalPolicy, Source, Store,
};

/// ecs-task rules for tasks that had started: a newer task starting does not show a fix.
const POST_START_FAILURES: &[&str] = &[
    "ecs.essential_exited",
    "ecs.oom",
    "ecs.task_failed_elb_hc",
    "ecs.task_failed_container_hc",
    "ecs.spot_interruption",
    "ecs.host_terminated",
];

/// CFN resource types whose children are checked instead.
const NESTED_STACK: &str = "AWS::CloudFormation::Stack";

impl Detector {
    /// A new operation of the root stack starts: the CFN flags of the old one are history.
    pub(super) fn resolve_on_new_operation(&mut self, now: DateTime<Utc>, store: &Store) {
        let op = store.root_stack().and_then(|s| s.operation_started_at);
        if op == self.root_operation {
            return;
        }
        self.root_operation = op;
        let Some(start) = op else { return };
        let keys = self.open_keys(|k, f| {
            f.source == Source::Cfn
                && (k.0.starts_with("cfn.") && k.0 != "cfn.root_cause")
                && f.evidence.back().map_or(f.last_seen, |e| e.at) < start
        });
        for key in keys {
            self.resolve(&key, now);
        }
    }

    /// `stall.resource` and `stall.signal_countdown` over the in-progress resources. A flag is
    /// rebuilt only when what it says moved (its level, status, signals, the service's
    /// failure): its clock is drawn at render time, so a tick over a settled wait costs a
    /// comparison.
    pub(super) fn stall_rules(&mut self, now: DateTime<Utc>, store: &Store) {
        if !self.every_tick
            && let Some(rest) = &self.stall_rest
            && now < rest.until
            && rest.open_rev.is_none_or(|rev| rev == self.open_rev)
            && self.open_stall_flags() == rest.open_flags
        {
            return;
        }
        // The next threshold a wait crosses with nothing new observed.
        let mut until = DateTime::<Utc>::MAX_UTC;
        let mut reads_failures = false;
        let mut rebuilt: Vec<(ResourceKey, FlagSpec, Option<Vec<Evidence>>, StallBasis)> =
            Vec::new();
        let mut unchanged: Vec<&FlagKey> = Vec::new();
        let mut gone: Vec<ResourceKey> = Vec::new();
        for key in &self.in_progress {
            let Some(res) = store.resources.get(key).filter(|r| r.is_in_progress()) else {
                gone.push(key.clone());
                continue;
            };
            if res.resource_type == NESTED_STACK {
                continue; // its children are checked
            }
            if let Some(next) = self.wait_thresholds(res).filter(|t| now < *t).min() {
                until = until.min(next);
            }
            let since = in_progress_since(res);
            let elapsed = now.signed_duration_since(since).num_seconds();
            reads_failures |= res.resource_type == "AWS::ECS::Service";
            let failure = self.ecs_failure_of(res);
            let Some(level) = self.wait_level(res, failure, elapsed) else {
                continue;
            };
            let basis = self.stall_basis.get(key);
            if let Some(b) = basis
                && b.same(level, res, since, failure)
                && self.open.contains_key(&b.flag)
            {
                unchanged.push(&b.flag);
                continue;
            }
            let spec = self.wait_spec(res, since, level, failure);
            let flag: FlagKey = (spec.rule, spec.scope.clone());
            let next = StallBasis::new(flag, level, res, since, failure);
            // The evidence is rebuilt only when what it says moved (a signal, a new task
            // failure), not when only the level did.
            let evidence = match basis {
                Some(b) if self.open.contains_key(&next.flag) && b.same_facts(&next) => None,
                _ => Some(self.wait_evidence(res, since)),
            };
            rebuilt.push((key.clone(), spec, evidence, next));
        }
        let over = self.open_keys(|k, _| {
            matches!(k.0, "stall.resource" | "stall.signal_countdown")
                && !unchanged.contains(&k)
                && !rebuilt.iter().any(|(_, _, _, b)| b.flag == *k)
        });
        for key in gone {
            self.in_progress.remove(&key);
        }
        for (key, spec, evidence, basis) in rebuilt {
            self.set_state_flag(spec, now, evidence, None);
            self.stall_basis.insert(key, basis);
        }
        if self.stall_basis.len() > self.in_progress.len() {
            let in_progress = &self.in_progress;
            self.stall_basis.retain(|key, _| in_progress.contains(key));
        }
        for key in over {
            self.resolve(&key, now);
        }
        self.stall_rest = Some(StallRest {
            until,
            open_rev: reads_failures.then_some(self.open_rev),
            open_flags: self.open_stall_flags(),
        });
    }

    /// How many stall flags are open. Only these rules raise, change or resolve them, so a
    /// different count means they were resolved elsewhere (a new operation, say).
    fn open_stall_flags(&self) -> usize {
        debug_assert_eq!(
            self.open_stall,
            self.open
                .keys()
                .filter(|k| super::is_stall_rule(k.0))
                .count()
        );
        self.open_stall
    }

    /// The instants at which a resource's wait reaches a threshold of `wait_level`: its
    /// signal countdown's shares of the timeout, or its type's warn and alarm times and the
    /// failing-service time.
    fn wait_thresholds(&self, res: &ResourceState) -> impl Iterator<Item = DateTime<Utc>> {
        let since = in_progress_since(res);
        let secs: [i64; 3] = match res.signal {
            Some(policy) => {
                let timeout = i64::try_from(policy.timeout_s).unwrap_or(i64::MAX);
                let warn = first_second_at_ratio(self.config.signal_warn_ratio, timeout);
                let error = first_second_at_ratio(self.config.signal_error_ratio, timeout);
                [warn, error, error]
            }
            None => {
                let threshold = self.config.stall_threshold(&res.resource_type);
                [
                    threshold.warn_s,
                    threshold.alarm_s,
                    self.config.ecs_failing_stall_s,
                ]
            }
        };
        secs.into_iter().map(move |s| after(since, s))
    }

    /// What a stall or a signal countdown rests on: the event that started the wait, the
    /// CreationPolicy or WaitCondition with its count and timeout, and for an ECS service the
    /// failure of its tasks.
    fn wait_evidence(&self, res: &ResourceState, since: DateTime<Utc>) -> Vec<Evidence> {
        let path = format!("{}/{}", res.key.stack, res.key.logical_id);
        let started = match res.reason.as_deref().filter(|r| !r.is_empty()) {
            Some(reason) => format!("{} ({}): {reason}", res.status, res.resource_type),
            None => format!("{} ({})", res.status, res.resource_type),
        };
        let mut evidence = vec![Evidence::new(
            since,
            Source::Cfn,
            path.clone(),
            super::evidence_text(&started),
        )];
        if let Some(policy) = res.signal {
            let kind = if res.resource_type == "AWS::CloudFormation::WaitCondition" {
                "WaitCondition"
            } else {
                "CreationPolicy"
            };
            evidence.push(Evidence::new(
                since,
                Source::Cfn,
                path,
                format!(
                    "{kind}: {} signal{} within {}; {} received",
                    policy.count,
                    if policy.count == 1 { "" } else { "s" },
                    fmt_duration(i64::try_from(policy.timeout_s).unwrap_or(i64::MAX)),
                    res.signals_received
                ),
            ));
        } else if let Some(failure) = self.ecs_failure_of(res)
            && let Some(last) = failure.evidence.back()
        {
            evidence.push(last.clone());
        }
        evidence
    }

    /// The worst open ECS failure flag for the service a CloudFormation `AWS::ECS::Service`
    /// resource created (its physical id is the service ARN).
    fn ecs_failure_of(&self, res: &ResourceState) -> Option<&Flag> {
        let service = res.ecs_service()?;
        self.open
            .iter()
            .filter(|((rule, s), f)| {
                s.strip_prefix("svc:") == Some(service)
                    && !rule.starts_with("stall.")
                    && f.severity >= Severity::Error
                    && matches!(f.source, Source::EcsTask | Source::EcsService)
            })
            .map(|(_, f)| f)
            .max_by_key(|f| (f.severity, f.count))
    }

    /// How far a wait has gone: a countdown to a signal timeout, a service whose tasks fail,
    /// or a resource slower than its type's thresholds (catalogue §1.7). `None` below them.
    fn wait_level(
        &self,
        res: &ResourceState,
        failure: Option<&Flag>,
        elapsed: i64,
    ) -> Option<WaitLevel> {
        if let Some(policy) = res.signal {
            let waiting = matches!(
                res.status.as_str(),
                "CREATE_IN_PROGRESS" | "UPDATE_IN_PROGRESS"
            ) && res.signals_received < policy.count
                && policy.timeout_s > 0;
            if !waiting {
                return None;
            }
            let timeout = i64::try_from(policy.timeout_s).unwrap_or(i64::MAX);
            let ratio = elapsed as f64 / timeout as f64;
            return if ratio >= self.config.signal_error_ratio {
                Some(WaitLevel::Countdown(Severity::Error))
            } else if ratio >= self.config.signal_warn_ratio {
                Some(WaitLevel::Countdown(Severity::Warn))
            } else {
                None
            };
        }
        // An ECS service whose tasks are failing alarms at once: CloudFormation would
        // otherwise wait up to 3 h.
        if failure.is_some() && elapsed >= self.config.ecs_failing_stall_s {
            return Some(WaitLevel::TasksFailing);
        }
        let threshold = self.config.stall_threshold(&res.resource_type);
        if elapsed >= threshold.alarm_s {
            Some(WaitLevel::Slow(Severity::Error))
        } else if elapsed >= threshold.warn_s {
            Some(WaitLevel::Slow(Severity::Warn))
        } else {
            None
        }
    }

    /// The flag a wait at `level` raises: `stall.signal_countdown` with the time left, or
    /// `stall.resource` with the time waited.
    fn wait_spec(
        &self,
        res: &ResourceState,
        since: DateTime<Utc>,
        level: WaitLevel,
        failure: Option<&Flag>,
    ) -> FlagSpec {
        let path = format!("{}/{}", res.key.stack, res.key.logical_id);
        let waiting_for = || {
            format!(
                "{} ({}) {} for ",
                res.key.logical_id, res.resource_type, res.status
            )
        };
        let (rule, severity, (summary, clock), next_step) = match level {
            WaitLevel::Countdown(severity) => {
                let policy = res.signal.unwrap_or(SignalPolicy {
                    count: 0,
                    timeout_s: 0,
                });
                let missing = policy.count.saturating_sub(res.signals_received);
                let before = format!(
                    "{} waits for {missing} signal{}: ",
                    res.key.logical_id,
                    if missing == 1 { "" } else { "s" }
                );
                let clock = Clock::Countdown {
                    since,
                    timeout_s: i64::try_from(policy.timeout_s).unwrap_or(i64::MAX),
                };
                (
                    "stall.signal_countdown",
                    severity,
                    SummaryClock::around(before, clock, ""),
                    "if the instance should have signalled by now, read /var/log/cloud-init-output.log and cfn-init.log on it, and check its route to the CloudFormation endpoint".to_string(),
                )
            }
            WaitLevel::TasksFailing => {
                let failing = failure.map_or("", |f| f.rule);
                (
                    "stall.resource",
                    Severity::Error,
                    SummaryClock::around(
                        waiting_for(),
                        Clock::Elapsed { since },
                        &format!(
                            " while its tasks fail ({failing}); CloudFormation waits up to 3 h before it gives up"
                        ),
                    ),
                    format!(
                        "fix what {failing} says, or cancel the deploy now instead of waiting for the timeout"
                    ),
                )
            }
            WaitLevel::Slow(severity) => {
                let threshold = self.config.stall_threshold(&res.resource_type);
                (
                    "stall.resource",
                    severity,
                    SummaryClock::around(
                        waiting_for(),
                        Clock::Elapsed { since },
                        &format!(" ({})", threshold.typical),
                    ),
                    stall_next_step(&res.resource_type).to_string(),
                )
            }
        };
        FlagSpec {
            clock: Some(clock),
            rule,
            severity,
            source: Source::Cfn,
            scope: format!("cfn:{path}"),
            subject: Subject::Resource(res.key.clone()),
            summary,
            next_step,
        }
    }

    /// `ecs.crash_loop`: N stops of started tasks of one service within the window.
    pub(super) fn crash_loop(&mut self, now: DateTime<Utc>, store: &Store) {
        let window = self.config.crash_loop_window_s;
        let threshold = self.config.crash_loop_stops.max(1);
        let mut fire = Vec::new();
        let mut empty = Vec::new();
        for (scope, (stops, total)) in self.crash_stops.iter_mut() {
            while stops
                .front()
                .is_some_and(|s| now.signed_duration_since(s.seen).num_seconds() > window)
            {
                stops.pop_front();
            }
            if stops.is_empty() {
                empty.push(scope.clone());
            } else if stops.len() >= threshold {
                // Rebuild the flag only when its stops changed, not on every tick.
                let key: FlagKey = ("ecs.crash_loop", scope.clone());
                let shown = (stops.len(), *total);
                if self.open.contains_key(&key) && self.crash_reported.get(scope) == Some(&shown) {
                    continue;
                }
                self.crash_reported.insert(scope.clone(), shown);
                let evidence: Vec<Evidence> = stops
                    .iter()
                    .rev()
                    .take(EVIDENCE_CAP)
                    .rev()
                    .map(|s| s.evidence.clone())
                    .collect();
                fire.push((scope.clone(), stops.len(), *total, evidence));
            }
        }
        for (scope, in_window, total, evidence) in fire {
            let name = scope.strip_prefix("svc:").unwrap_or(&scope).to_string();
            let last = evidence.last().map(|e| e.at.format("%H:%M:%S").to_string());
            let summary = format!(
                "service {name}: {in_window} started tasks stopped within {}{}",
                fmt_duration(window),
                last.map(|l| format!(", last at {l}")).unwrap_or_default()
            );
            let spec = FlagSpec {
                clock: None,
                rule: "ecs.crash_loop",
                severity: Severity::Error,
                source: Source::EcsTask,
                subject: Subject::Service(name),
                scope,
                summary,
                next_step: "the app starts then dies: read the exit codes and the last log lines of a stopped task".to_string(),
            };
            self.set_state_flag(spec, now, Some(evidence), Some(total));
        }
        for scope in empty {
            let key: FlagKey = ("ecs.crash_loop", scope.clone());
            let open = self.open.contains_key(&key);
            let name = scope.strip_prefix("svc:").unwrap_or(&scope);
            let healthy =
                find_service(store, name).is_some_and(|s| s.desired > 0 && s.running >= s.desired);
            if !open {
                self.crash_stops.remove(&scope);
                self.crash_reported.remove(&scope);
            } else if healthy {
                self.crash_stops.remove(&scope);
                self.crash_reported.remove(&scope);
                self.resolve(&key, now);
            }
        }
    }

    /// `cfn.root_cause`: the earliest failure of the current operation that is not a cascade.
    pub(super) fn root_cause(&mut self, now: DateTime<Utc>, store: &Store) {
        let root_status = store.root_stack().map(|s| s.status.as_str()).unwrap_or("");
        let seen = (
            store.failures.len(),
            store.failures.back().map(|f| f.at),
            root_status,
        );
        if self
            .root_cause_seen
            .as_ref()
            .is_some_and(|(n, at, st)| (*n, *at, st.as_str()) == seen)
        {
            return;
        }
        self.root_cause_seen = Some((seen.0, seen.1, root_status.to_string()));
        let key: FlagKey = ("cfn.root_cause", "cfn:root".to_string());
        let Some(cause) = find_root_cause(store.failures.iter()) else {
            self.resolve(&key, now);
            return;
        };
        let subject = if cause.is_stack_row {
            Subject::Stack(cause.stack.clone())
        } else {
            Subject::Resource(ResourceKey {
                stack: cause.stack.clone(),
                logical_id: cause.logical_id.clone(),
            })
        };
        let path = subject.to_string();
        let reason = short(&cause.reason, 200);
        let summary = if cause.is_stack_row {
            format!("{path} (stack): {reason}")
        } else {
            format!("{path} ({}): {reason}", cause.resource_type)
        };
        let severity = if matches!(
            root_status,
            "ROLLBACK_FAILED" | "UPDATE_ROLLBACK_FAILED" | "DELETE_FAILED"
        ) {
            Severity::Fatal
        } else {
            Severity::Error
        };
        let next_step = super::classify(Source::Cfn, &cause.reason)
            .map(|c| c.next_step)
            .unwrap_or_else(|| {
                "read the failed resource's reason, fix it and deploy again".to_string()
            });
        let evidence = Evidence::new(
            cause.at,
            Source::Cfn,
            path.clone(),
            super::evidence_text(&format!("{}: {}", cause.status, cause.reason)),
        );
        let spec = FlagSpec {
            clock: None,
            rule: "cfn.root_cause",
            severity,
            source: Source::Cfn,
            scope: key.1,
            subject,
            summary,
            next_step,
        };
        self.set_state_flag(spec, now, Some(vec![evidence]), None);
    }

    /// `elb.no_healthy_targets`: a target group with registered targets, none healthy, past
    /// the grace period. Also resolves the target-health text flags. An open flag is rebuilt
    /// only when its counts or its targets' reasons move.
    pub(super) fn no_healthy_targets(&mut self, now: DateTime<Utc>, store: &Store) {
        const RULE: &str = "elb.no_healthy_targets";
        for (group, health) in &store.target_groups {
            // Draining targets keep an open flag open: no healthy target still means no
            // traffic, and a crash loop deregisters targets as fast as it registers them.
            let tracking = self.no_healthy_since.contains_key(group);
            let no_healthy =
                health.healthy == 0 && (health.registered > 0 || (tracking && health.present > 0));
            if !no_healthy {
                // A flag opens only while its group is tracked.
                if self.no_healthy_since.remove(group).is_some() {
                    self.resolve(&(RULE, format!("tg:{group}")), now);
                }
                continue;
            }
            let tracked = Tracked::follow(&mut self.no_healthy_since, group, now);
            let since = tracked.since;
            let waited = now.signed_duration_since(since).num_seconds();
            let grace = if health.unhealthy > 0 {
                self.config.no_healthy_grace_s
            } else {
                self.config.no_healthy_initial_grace_s
            };
            if waited < grace {
                // Within the grace an open flag is not refreshed: it keeps the text it had at
                // the last tick, its clock stopped there.
                tracked.built = None;
                let last_tick = self.last_tick.unwrap_or(now);
                let key = super::flag_key::KeyRef {
                    rule: RULE,
                    prefix: "tg:",
                    name: group,
                };
                if let Some(flag) = self.open.get_mut(&key as &dyn super::flag_key::KeyParts)
                    && flag.clock.is_some()
                {
                    flag.stop_clock(last_tick);
                    self.open_rev += 1;
                }
                continue;
            }
            let scope_is_group = |scope: &str| scope.strip_prefix("tg:") == Some(group.as_str());
            // The targets' own health reasons: the newest evidence of the group's open
            // target-health flags.
            let reasons = || {
                self.open
                    .iter()
                    .filter(|((rule, scope), _)| *rule != RULE && scope_is_group(scope))
                    .filter_map(|(_, f)| f.evidence.back())
            };
            let basis = {
                let mut h = FxHasher::default();
                (since, health.registered, health.unhealthy, health.present).hash(&mut h);
                reasons().for_each(|e| e.hash(&mut h));
                h.finish()
            };
            if self.is_open(RULE, "tg:", group)
                && self.no_healthy_since.get(group).and_then(|t| t.built) == Some(basis)
            {
                continue;
            }
            let mut reasons: Vec<Evidence> = reasons().cloned().collect();
            let (summary, clock) = SummaryClock::around(
                format!("tg {}: no healthy target for ", tg_name(group)),
                Clock::Elapsed { since },
                &format!(
                    " ({} registered, {} unhealthy)",
                    health.registered, health.unhealthy
                ),
            );
            let spec = FlagSpec {
                clock: Some(clock),
                rule: RULE,
                severity: Severity::Error,
                source: Source::Elb,
                scope: format!("tg:{group}"),
                subject: Subject::TargetGroup(group.clone()),
                summary,
                next_step: "the service takes no traffic: see the targets' health reasons and the tasks' stopped reasons".to_string(),
            };
            // The counts the flag rests on, then the reasons.
            let mut evidence = vec![Evidence::new(
                since,
                Source::Elb,
                spec.subject.to_string(),
                format!(
                    "0 healthy of {} registered ({} unhealthy, {} listed)",
                    health.registered, health.unhealthy, health.present
                ),
            )];
            reasons.sort_by_key(|e| e.at);
            evidence.extend(reasons.into_iter().rev().take(EVIDENCE_CAP - 1).rev());
            self.set_state_flag(spec, now, Some(evidence), None);
            if let Some(tracked) = self.no_healthy_since.get_mut(group) {
                tracked.built = Some(basis);
            }
        }
    }

    /// `deploy.rolled_back`: the root stack or an ECS deployment ended in a rollback.
    pub(super) fn rolled_back(&mut self, now: DateTime<Utc>, store: &Store) {
        const RULE: &str = "deploy.rolled_back";
        if let Some(root) = store.root_stack() {
            let stack_open = self.is_open(RULE, "cfn:", &root.path);
            // The flag is built once and says the same until the stack moves (without an
            // update time, its evidence takes `now` and is built on every tick).
            let basis = root.updated_at.map(|updated| {
                let mut h = FxHasher::default();
                (&root.path, &root.name, &root.status, &root.reason, updated).hash(&mut h);
                h.finish()
            });
            match root.status.as_str() {
                "ROLLBACK_COMPLETE" | "UPDATE_ROLLBACK_COMPLETE"
                    if stack_open && basis.is_some() && self.root_rollback_built == basis => {}
                status @ ("ROLLBACK_COMPLETE" | "UPDATE_ROLLBACK_COMPLETE") => {
                    let key: FlagKey = (RULE, format!("cfn:{}", root.path));
                    let (summary, next) = if status == "ROLLBACK_COMPLETE" {
                        (
                            format!(
                                "{} ended in ROLLBACK_COMPLETE: the create failed and its resources were deleted",
                                root.name
                            ),
                            "only a delete is possible now: fix the root cause, delete the stack, create it again",
                        )
                    } else {
                        (
                            format!(
                                "{} ended in UPDATE_ROLLBACK_COMPLETE: the update failed; the stack runs the old configuration",
                                root.name
                            ),
                            "fix the root cause (cfn.root_cause) and deploy again",
                        )
                    };
                    let evidence = Evidence::new(
                        root.updated_at.unwrap_or(now),
                        Source::Cfn,
                        root.path.clone(),
                        super::evidence_text(&match root.reason.as_deref() {
                            Some(reason) if !reason.is_empty() => format!("{status}: {reason}"),
                            _ => status.to_string(),
                        }),
                    );
                    let spec = FlagSpec {
                        clock: None,
                        rule: RULE,
                        severity: Severity::Error,
                        source: Source::Cfn,
                        scope: key.1,
                        subject: Subject::Stack(root.path.clone()),
                        summary,
                        next_step: next.to_string(),
                    };
                    self.set_state_flag(spec, now, Some(vec![evidence]), None);
                    self.root_rollback_built = basis;
                }
                _ if stack_open => self.resolve(&(RULE, format!("cfn:{}", root.path)), now),
                _ => {}
            }
        }
        for svc in store.services.values() {
            let name = &svc.key.service;
            let failed = svc.deployments.iter().find(|d| {
                d.rollout_state.as_deref() == Some("FAILED")
                    || d.rollout_state_reason
                        .as_deref()
                        .is_some_and(|r| r.contains("rolling back"))
            });
            if let Some(d) = failed {
                if self
                    .ecs_rollbacks
                    .get(name)
                    .is_some_and(|ep| ep.deployment == d.id)
                {
                    continue; // already flagged (and maybe resolved) for this deployment
                }
                self.ecs_rollbacks.insert(
                    name.clone(),
                    RollbackEpisode {
                        deployment: d.id.clone(),
                        failed_task_definition: d.task_definition.clone(),
                        known_task_definitions: svc
                            .deployments
                            .iter()
                            .map(|d| d.task_definition.clone())
                            .collect(),
                        failed_at: d.updated_at.unwrap_or(now),
                        open: true,
                    },
                );
                let why = d
                    .rollout_state_reason
                    .as_deref()
                    .unwrap_or("rollout FAILED");
                let spec = FlagSpec {
                    clock: None,
                    rule: RULE,
                    severity: Severity::Error,
                    source: Source::EcsService,
                    scope: format!("svc:{name}"),
                    subject: Subject::Service(name.clone()),
                    summary: format!("service {name} deployment {} failed: {}", d.id, short(why, 160)),
                    next_step: "the deploy failed even if the service ends healthy: read the failed tasks' stopped reasons".to_string(),
                };
                let evidence = Evidence::new(
                    d.updated_at.unwrap_or(now),
                    Source::EcsService,
                    format!("service {name}"),
                    super::evidence_text(&format!(
                        "deployment {} ({}): rollout {}: {why}; {} failed tasks",
                        d.id,
                        d.task_definition,
                        d.rollout_state.as_deref().unwrap_or("?"),
                        d.failed_tasks
                    )),
                );
                self.set_state_flag(spec, now, Some(vec![evidence]), None);
                continue;
            }
            // The rollback itself ends healthy on the old task definition; the failure is over
            // only once a new attempt runs: another task definition, or the failed one completing.
            let Some(ep) = self.ecs_rollbacks.get_mut(name).filter(|ep| ep.open) else {
                continue;
            };
            let recovered = svc.primary().is_some_and(|p| {
                !ep.known_task_definitions.contains(&p.task_definition)
                    || (p.task_definition == ep.failed_task_definition
                        && p.rollout_state.as_deref() == Some("COMPLETED")
                        && p.created_at > ep.failed_at)
            });
            if recovered {
                ep.open = false;
                self.resolve(&(RULE, format!("svc:{name}")), now);
            }
        }
    }

    /// `ecs.not_converging`: a deployment in progress runs fewer tasks than desired for too long.
    /// An open flag is rebuilt only when the deployment's counts move.
    pub(super) fn not_converging(&mut self, now: DateTime<Utc>, store: &Store) {
        const RULE: &str = "ecs.not_converging";
        for svc in store.services.values() {
            let name = &svc.key.service;
            let behind = svc.primary().filter(|p| {
                let rolling =
                    p.rollout_state.as_deref() == Some("IN_PROGRESS") || svc.deployments.len() > 1;
                rolling && p.running < p.desired
            });
            let Some(p) = behind else {
                // A flag opens only while its service is tracked.
                if self.behind_since.remove(name).is_some() {
                    self.resolve(&(RULE, format!("svc:{name}")), now);
                }
                continue;
            };
            let since = Tracked::follow(&mut self.behind_since, name, now).since;
            let waited = now.signed_duration_since(since).num_seconds();
            if waited < self.config.not_converging_s {
                continue;
            }
            let basis = {
                let mut h = FxHasher::default();
                (since, &p.id, &p.task_definition).hash(&mut h);
                (p.desired, p.running, p.pending, p.failed_tasks).hash(&mut h);
                h.finish()
            };
            if self.is_open(RULE, "svc:", name)
                && self.behind_since.get(name).and_then(|t| t.built) == Some(basis)
            {
                continue;
            }
            let key: FlagKey = (RULE, format!("svc:{name}"));
            let (summary, clock) = SummaryClock::around(
                format!(
                    "service {name}: {}/{} tasks running after ",
                    p.running, p.desired
                ),
                Clock::Elapsed { since },
                &format!(" of deployment {}", p.id),
            );
            let spec = FlagSpec {
                clock: Some(clock),
                rule: RULE,
                severity: Severity::Warn,
                source: Source::EcsService,
                scope: key.1,
                subject: Subject::Service(name.clone()),
                summary,
                next_step: "look at the stopped tasks' reasons and the service events: new tasks are not staying up".to_string(),
            };
            let evidence = Evidence::new(
                since,
                Source::EcsService,
                format!("service {name}"),
                super::evidence_text(&format!(
                    "deployment {} ({}): {} desired, {} running, {} pending, {} failed tasks",
                    p.id, p.task_definition, p.desired, p.running, p.pending, p.failed_tasks
                )),
            );
            self.set_state_flag(spec, now, Some(vec![evidence]), None);
            if let Some(tracked) = self.behind_since.get_mut(name) {
                tracked.built = Some(basis);
            }
        }
    }

    /// Resolution of text flags whose condition is checked over time.
    pub(super) fn resolve_text_flags(&mut self, now: DateTime<Utc>, store: &Store) {
        let mut over = Vec::new();
        let failed = self.failed_deploys(store);
        for (key, flag) in &self.open {
            // A rollback brings the old tasks back, which hides the failure without fixing it:
            // the cause stays open while the failed deploy is on record. (Checked first: it is
            // a lookup, and the recovery checks below scan the service's tasks.)
            if flag.source == Source::EcsTask && key.0 != "ecs.crash_loop" && failed.holds(&key.1) {
                continue;
            }
            // Only the API and log flags read it (date arithmetic costs, on every tick).
            let quiet = || now.signed_duration_since(flag.last_seen).num_seconds();
            let done = if key.0.starts_with("api.") {
                quiet() >= self.config.api_quiet_s
            } else {
                match flag.source {
                    Source::Log => quiet() >= self.config.log_quiet_s,
                    Source::EcsTask if key.0 != "ecs.crash_loop" => {
                        let last = flag.evidence.back().map_or(flag.last_seen, |e| e.at);
                        if POST_START_FAILURES.contains(&key.0) {
                            // While the service crash-loops, one task that starts is not a fix.
                            let looping = self.open_flag("ecs.crash_loop", &key.1).is_some();
                            !looping
                                && self.task_start_recovered(
                                    &key.1,
                                    last,
                                    flag.last_seen,
                                    now,
                                    store,
                                )
                        } else {
                            // A task that failed to start is fixed once a newer one starts: it
                            // got past the pull, the secrets and the mounts.
                            self.latest_running
                                .get(&key.1)
                                .is_some_and(|(started, _)| *started > last)
                                || self.task_start_recovered(
                                    &key.1,
                                    last,
                                    flag.last_seen,
                                    now,
                                    store,
                                )
                        }
                    }
                    Source::Elb if key.0 != "elb.no_healthy_targets" => key
                        .1
                        .strip_prefix("tg:")
                        .is_some_and(|tg| target_group_recovered(store, tg)),
                    _ => false,
                }
            };
            if done {
                over.push(key.clone());
            }
        }
        for key in over {
            self.resolve(&key, now);
        }
    }

    /// The earliest time after `now` at which a tick could move something with no new
    /// observation: a wait crossing a threshold, a crash-loop window emptying, a grace or a
    /// quiet period ending, a multi-line log block going quiet, a new task having stayed up.
    /// Where a rule reads the time in a way not listed here, the answer is the next second.
    pub(super) fn next_due(&self, now: DateTime<Utc>, store: &Store) -> DateTime<Utc> {
        let next_second = now
            .checked_add_signed(chrono::TimeDelta::seconds(1))
            .unwrap_or(DateTime::<Utc>::MAX_UTC);
        let mut due = DateTime::<Utc>::MAX_UTC;
        // Something due at `t` that has not come yet: the first tick at or after it (never
        // before the next second). Compared as instants: ticks fall on the first
        // observation's grid, which need not be whole seconds.
        let mut due_at = |t: DateTime<Utc>| {
            if now < t {
                due = due.min(t.max(next_second));
            }
        };
        for t in self.log_deadlines() {
            due_at(t);
        }
        for key in &self.in_progress {
            if let Some(res) = store.resources.get(key) {
                self.wait_thresholds(res).for_each(&mut due_at);
            }
        }
        // A rule that fires once `(now - since).num_seconds() >= secs`, that is once `secs`
        // have passed since `since`.
        let mut pending = |since: DateTime<Utc>, secs: i64| due_at(after(since, secs));
        // A stop leaves the window once it is older than the window.
        for (stops, _) in self.crash_stops.values() {
            if let Some(first) = stops.front() {
                pending(
                    first.seen,
                    self.config.crash_loop_window_s.saturating_add(1),
                );
            }
        }
        for tracked in self.no_healthy_since.values() {
            pending(tracked.since, self.config.no_healthy_grace_s);
            pending(tracked.since, self.config.no_healthy_initial_grace_s);
        }
        for tracked in self.behind_since.values() {
            pending(tracked.since, self.config.not_converging_s);
        }
        for ((rule, _), flag) in &self.open {
            if rule.starts_with("api.") {
                pending(flag.last_seen, self.config.api_quiet_s);
            }
        }
        // Without an update time, the rollback flag's evidence takes the tick's time.
        let rollback_now = store.root_stack().is_some_and(|r| {
            r.updated_at.is_none()
                && matches!(
                    r.status.as_str(),
                    "ROLLBACK_COMPLETE" | "UPDATE_ROLLBACK_COMPLETE"
                )
        });
        if rollback_now {
            return next_second;
        }
        // A task flag resolves once a newer task has stayed up for `task_stable_s`: due when
        // the newest task started, or one of the service's live tasks, has been up that long
        // (unless a failed deploy or a crash loop holds the flag open).
        let stable = self.config.task_stable_s;
        let failed = self.failed_deploys(store);
        for ((rule, scope), flag) in &self.open {
            let recovering = flag.source == Source::EcsTask
                && *rule != "ecs.crash_loop"
                && !failed.holds(scope)
                && !(POST_START_FAILURES.contains(rule)
                    && self.open_flag("ecs.crash_loop", scope).is_some());
            if !recovering {
                continue;
            }
            if let Some((started, _)) = self.latest_running.get(scope) {
                pending(*started, stable);
            }
            if let Some(name) = scope.strip_prefix("svc:") {
                for task in store.live_tasks_of_service(name) {
                    if let Some(started) = task.task.started_at {
                        pending(started, stable);
                    }
                }
            }
        }
        due
    }

    /// The services with a failed deploy on record: their own rollback flag is open, or the
    /// failed operation's root cause is their CloudFormation resource. Every open task flag
    /// asks, on every tick: looked up once per pass.
    fn failed_deploys<'a>(&'a self, store: &'a Store) -> FailedDeploys<'a> {
        let root_cause_service = self
            .open_flag("cfn.root_cause", "cfn:root")
            .and_then(|f| match &f.subject {
                Subject::Resource(key) => store.resources.get(key),
                _ => None,
            })
            .and_then(ResourceState::ecs_service);
        FailedDeploys {
            detector: self,
            root_cause_service,
        }
    }

    /// A newer task of the scope reached RUNNING after the last failure and stayed up, or the
    /// service's primary deployment runs all its tasks.
    fn task_start_recovered(
        &self,
        scope: &str,
        last_failure: DateTime<Utc>,
        last_seen: DateTime<Utc>,
        now: DateTime<Utc>,
        store: &Store,
    ) -> bool {
        if let Some((started, arn)) = self.latest_running.get(scope) {
            let still_running = store
                .tasks
                .get(arn)
                .is_some_and(|t| t.task.last_status == "RUNNING");
            if *started > last_failure
                && still_running
                && now.signed_duration_since(*started).num_seconds() >= self.config.task_stable_s
            {
                return true;
            }
        }
        let Some(svc) = scope
            .strip_prefix("svc:")
            .and_then(|n| find_service(store, n))
        else {
            return false;
        };
        if svc.updated_at <= last_seen {
            return false;
        }
        let counts_ok = match svc.primary() {
            Some(d) => {
                d.desired > 0
                    && d.running >= d.desired
                    && d.failed_tasks == 0
                    && d.rollout_state.as_deref() != Some("FAILED")
            }
            None => svc.desired > 0 && svc.running >= svc.desired && svc.pending == 0,
        };
        if !counts_ok {
            return false;
        }
        // Counts can read "2/2 running" for a moment inside a crash loop: the running tasks
        // must also have stayed up for a while (a scan of the tasks, so only when it matters).
        let stable_since = chrono::TimeDelta::try_seconds(self.config.task_stable_s)
            .and_then(|d| now.checked_sub_signed(d))
            .unwrap_or(DateTime::<Utc>::MIN_UTC);
        let stable = store
            .live_tasks_of_service(&svc.key.service)
            .filter(|t| {
                t.task.last_status == "RUNNING"
                    && t.task.started_at.is_some_and(|s| s <= stable_since)
            })
            .count();
        stable as u32 >= svc.desired
    }
}

/// `secs` seconds after `t`, saturating at chrono's last date (a recording's signal timeout
/// or a config's threshold can be absurd; `TimeDelta::seconds` would panic on it).
pub(super) fn after(t: DateTime<Utc>, secs: i64) -> DateTime<Utc> {
    chrono::TimeDelta::try_seconds(secs)
        .and_then(|d| t.checked_add_signed(d))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// The first whole second `e` at which `e / timeout >= ratio` as [`Detector::wait_level`]
/// compares them (in floating point).
fn first_second_at_ratio(ratio: f64, timeout: i64) -> i64 {
    if timeout <= 0 || !ratio.is_finite() {
        return 0;
    }
    let reached = |e: i64| e as f64 / timeout as f64 >= ratio;
    let mut e = (ratio * timeout as f64).ceil().clamp(0.0, i64::MAX as f64) as i64;
    while e > 0 && reached(e - 1) {
        e -= 1;
    }
    while !reached(e) && e < i64::MAX {
        e += 1;
    }
    e
}

/// When a resource's current `*_IN_PROGRESS` phase began, as the stall rules time it.
pub(super) fn in_progress_since(res: &ResourceState) -> DateTime<Utc> {
    res.started_at.unwrap_or(res.status_since)
}

fn stall_next_step(resource_type: &str) -> &'static str {
    match resource_type {
        "AWS::ECS::Service" => {
            "look at the service's events and stopped tasks: ECS keeps retrying failing tasks while CloudFormation waits (up to 3 h)"
        }
        "AWS::CertificateManager::Certificate" => {
            "create the DNS validation CNAME shown in the events; check the domain's NS delegation"
        }
        "AWS::CloudFront::Distribution" => {
            "usually just slow; check the distribution in the console"
        }
        _ => "open the resource in its console or CloudTrail to see what it waits for",
    }
}

/// How far a wait has gone ([`Detector::wait_level`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum WaitLevel {
    Countdown(Severity),
    TasksFailing,
    Slow(Severity),
}

/// The services whose task flags a failed deploy holds open ([`Detector::failed_deploys`]).
struct FailedDeploys<'a> {
    /// Whose `deploy.rolled_back` flags are asked about.
    detector: &'a Detector,
    /// The service whose CloudFormation resource is the failed operation's root cause.
    root_cause_service: Option<&'a str>,
}

impl FailedDeploys<'_> {
    /// The service of `scope` (`svc:NAME`) has a failed deploy on record.
    fn holds(&self, scope: &str) -> bool {
        scope.strip_prefix("svc:").is_some_and(|name| {
            self.root_cause_service == Some(name)
                || self
                    .detector
                    .open_flag("deploy.rolled_back", scope)
                    .is_some()
        })
    }
}

/// Until when the stall rules have nothing to do: the next threshold a wait crosses. Their
/// flags move otherwise only with a wait's resource (which ends the rest), with the ECS
/// failure flags of a waiting service (`open_rev`, the open flags' revision, when one waits)
/// and when one of their flags is resolved elsewhere (`open_flags`, how many were open).
#[derive(Debug, Clone)]
pub(super) struct StallRest {
    until: DateTime<Utc>,
    open_rev: Option<u64>,
    open_flags: usize,
}

/// What a stall flag was last built from. While a resource reads the same, its open flag
/// already says it all, and a tick leaves it alone.
#[derive(Debug, Clone)]
pub(super) struct StallBasis {
    flag: FlagKey,
    level: WaitLevel,
    status: String,
    resource_type: String,
    since: DateTime<Utc>,
    signals_received: u32,
    reason: Option<String>,
    /// The service's worst failing flag: its rule and newest evidence (time, repeats, size).
    failure: Option<(&'static str, Option<EvidenceFacts>)>,
}

/// An evidence item's time, repeats and size: enough to tell that it moved.
type EvidenceFacts = (DateTime<Utc>, u32, usize);

fn failure_facts(failure: Option<&Flag>) -> Option<(&'static str, Option<EvidenceFacts>)> {
    failure.map(|f| {
        (
            f.rule,
            f.evidence.back().map(|e| (e.at, e.repeats, e.text.len())),
        )
    })
}

impl StallBasis {
    fn new(
        flag: FlagKey,
        level: WaitLevel,
        res: &ResourceState,
        since: DateTime<Utc>,
        failure: Option<&Flag>,
    ) -> Self {
        StallBasis {
            flag,
            level,
            status: res.status.clone(),
            resource_type: res.resource_type.clone(),
            since,
            signals_received: res.signals_received,
            reason: res.reason.clone(),
            failure: failure_facts(failure),
        }
    }

    /// The flag would read the same (compared without building anything).
    fn same(
        &self,
        level: WaitLevel,
        res: &ResourceState,
        since: DateTime<Utc>,
        failure: Option<&Flag>,
    ) -> bool {
        self.level == level
            && self.since == since
            && self.signals_received == res.signals_received
            && self.status == res.status
            && self.resource_type == res.resource_type
            && self.reason == res.reason
            && self.failure == failure_facts(failure)
    }

    /// The evidence would read the same: the start of the wait, the signals, the failure.
    fn same_facts(&self, other: &StallBasis) -> bool {
        self.since == other.since
            && self.signals_received == other.signals_received
            && self.reason == other.reason
            && self.failure.and_then(|f| f.1) == other.failure.and_then(|f| f.1)
    }
}

/// A condition followed over time (a target group with no healthy target, a deployment
/// behind): since when it has held, and what its open flag was last built from.
#[derive(Debug, Clone, Copy)]
pub(super) struct Tracked {
    pub since: DateTime<Utc>,
    /// A hash of everything the flag's text and evidence say; `None` until it is built.
    pub built: Option<u64>,
}

impl Tracked {
    /// The condition of `key`, followed from `now` unless it already was. Looked up before
    /// inserting: `entry` would copy the key (a target group's ARN) on every tick.
    fn follow<'m>(
        tracked: &'m mut rustc_hash::FxHashMap<String, Tracked>,
        key: &str,
        now: DateTime<Utc>,
    ) -> &'m mut Tracked {
        if !tracked.contains_key(key) {
            tracked.insert(
                key.to_string(),
                Tracked {
                    since: now,
                    built: None,
                },
            );
        }
        tracked.get_mut(key).expect("inserted above")
    }
}

/// A failed ECS deployment, remembered until a new attempt succeeds.
#[derive(Debug, Clone)]
pub(super) struct RollbackEpisode {
    deployment: String,
    failed_task_definition: String,
    /// Task definitions listed when it failed (the failed one and the rollback target).
    known_task_definitions: Vec<String>,
    failed_at: DateTime<Utc>,
    open: bool,
}

/// The target group has a healthy target and no unhealthy ones.
fn target_group_recovered(store: &Store, group: &str) -> bool {
    store
        .target_groups
        .get(group)
        .is_some_and(|h| h.healthy > 0 && h.unhealthy == 0)
}

fn find_service<'a>(store: &'a Store, name: &str) -> Option<&'a crate::model::ServiceState> {
    store.services.values().find(|s| s.key.service == name)
}

/// The earliest failure that is not a cascade or a summary (ties: not `Internal Failure`);
/// falls back to the earliest summary when the failures they point at were never seen.
pub(crate) fn find_root_cause<'a>(
    failures: impl Iterator<Item = &'a FailureRecord>,
) -> Option<&'a FailureRecord> {
    let mut best: Option<&FailureRecord> = None;
    let mut fallback: Option<&FailureRecord> = None;
    for f in failures {
        if f.reason.trim().is_empty() {
            continue;
        }
        let rule = match_rule(Source::Cfn, &f.reason);
        match rule {
            Some(r) if r.id == "cfn.cascade_cancelled" || r.severity == Severity::Info => continue,
            Some(r) if CFN_SUMMARY_RULES.contains(&r.id) => {
                if fallback.is_none_or(|b| f.at < b.at) {
                    fallback = Some(f);
                }
                continue;
            }
            _ => {}
        }
        let better = match best {
            None => true,
            Some(b) => {
                f.at < b.at || (f.at == b.at && is_internal_failure(b) && !is_internal_failure(f))
            }
        };
        if better {
            best = Some(f);
        }
    }
    best.or(fallback)
}

fn is_internal_failure(f: &FailureRecord) -> bool {
    f.reason.trim().trim_end_matches('.') == "Internal Failure"
}
