//! Problems, not symptoms: open flags grouped by cause.
//!
//! One broken thing raises many flags: the app cannot find a module, so its containers exit 1,
//! so the targets fail their health checks, so the service cannot start tasks steadily, so
//! CloudFormation waits on the service. Each flag names what it is about (its [`Subject`]);
//! this module links those things through the store (a target → the task at its IP → the
//! task's service; a log stream → the task it names → its service; a CloudFormation resource →
//! the service or target group it created) and puts flags that share one into one
//! [`Problem`]. A problem's root is the deepest cause with the most specific rule: a log line
//! or a task's stop reason before the health checks it causes, before the service events,
//! before CloudFormation waiting; a specific rule before `unknown`, and both before the
//! summaries (crash loop, stall, `cfn.root_cause`, rollback).
//!
//! Computed from the open flags and the store whenever an output needs it (a frame, a headless
//! line, a snapshot): nothing here is kept, so nothing grows.

use std::borrow::Cow;

use rustc_hash::FxHashMap as HashMap;

use chrono::{DateTime, Utc};

use super::{Flag, Subject, fmt_duration};
use crate::model::{ResourceKey, Severity, Source, Store};

/// A root problem and the flags it explains.
#[derive(Debug, Clone)]
pub struct Problem<'a> {
    /// The deepest, most specific cause.
    pub root: &'a Flag,
    /// The other flags it explains, deepest first (task, target, service, CloudFormation).
    pub symptoms: Vec<&'a Flag>,
    /// The worst severity among its flags.
    pub severity: Severity,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
}

/// What a headless flag line names as its problem: the root flag's rule and resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProblemRef {
    pub rule: &'static str,
    pub resource: String,
}

/// A problem as the outputs list it (`status`, the summary line, reports), owned and taken at
/// one `now`.
#[derive(Debug, Clone, PartialEq)]
pub struct ProblemSummary {
    pub rule: &'static str,
    pub resource: String,
    pub severity: Severity,
    pub chain: String,
    /// Flags it groups, its root included.
    pub flags: usize,
}

impl<'a> Problem<'a> {
    pub fn summary(&self, now: DateTime<Utc>) -> ProblemSummary {
        ProblemSummary {
            rule: self.root.rule,
            resource: self.root.resource.clone(),
            severity: self.severity,
            chain: self.chain(now),
            flags: self.symptoms.len() + 1,
        }
    }

    /// The root, then its symptoms.
    pub fn flags(&self) -> impl Iterator<Item = &'a Flag> + '_ {
        std::iter::once(self.root).chain(self.symptoms.iter().copied())
    }

    pub fn reference(&self) -> ProblemRef {
        ProblemRef {
            rule: self.root.rule,
            resource: self.root.resource.clone(),
        }
    }

    /// The chain in one line, root first: "Node cannot find package 'express' → 3 tasks
    /// exited 1 → targets unhealthy → ApiService waiting 8m". Ages are taken at `now`.
    pub fn chain(&self, now: DateTime<Utc>) -> String {
        let mut parts = vec![root_phrase(self.root, now)];
        for flag in &self.symptoms {
            let phrase = symptom_phrase(flag, now);
            if !parts.contains(&phrase) {
                parts.push(phrase);
            }
        }
        parts.join(" → ")
    }

    /// "12 tasks, last 4s ago": how often the root was seen, and how recently (at `now`).
    pub fn extent(&self, now: DateTime<Utc>) -> String {
        let ago = fmt_duration(now.signed_duration_since(self.root.last_seen).num_seconds());
        if self.root.count > 1 {
            format!(
                "{} {}s, last {ago} ago",
                self.root.count,
                unit(self.root.source)
            )
        } else {
            format!("{ago} ago")
        }
    }
}

/// Groups open flags into problems, worst first (then the largest, then the most recent).
pub fn problems<'a>(flags: &[&'a Flag], store: &Store) -> Vec<Problem<'a>> {
    let links = Links::of(store);
    let mut sets = DisjointSets::new(flags.len());
    let mut owner: HashMap<Anchor, usize> = HashMap::default();
    for (i, flag) in flags.iter().enumerate() {
        for anchor in anchors(flag, store, &links) {
            match owner.get(&anchor) {
                Some(&j) => sets.union(i, j),
                None => {
                    owner.insert(anchor, i);
                }
            }
        }
    }
    let mut groups: HashMap<usize, Vec<&'a Flag>> = HashMap::default();
    let mut order = Vec::new();
    for (i, flag) in flags.iter().enumerate() {
        let set = sets.find(i);
        let group = groups.entry(set).or_default();
        if group.is_empty() {
            order.push(set);
        }
        group.push(flag);
    }
    let mut out: Vec<Problem<'a>> = order
        .into_iter()
        .filter_map(|set| groups.remove(&set))
        .map(problem_of)
        .collect();
    // Worst first; among equals, the one that explains the most, then the most recent.
    out.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then(b.symptoms.len().cmp(&a.symptoms.len()))
            .then(b.last_seen.cmp(&a.last_seen))
            .then(a.root.rule.cmp(b.root.rule))
    });
    out
}

/// The problem each of `changed` belongs to, among the `open` flags (a changed flag may be one
/// of them, or have just resolved): one grouping for the lot.
pub fn problem_refs(changed: &[&Flag], open: &[&Flag], store: &Store) -> Vec<ProblemRef> {
    let mut all: Vec<&Flag> = open.to_vec();
    for flag in changed {
        if !all.iter().any(|f| same_flag(f, flag)) {
            all.push(flag);
        }
    }
    let grouped = problems(&all, store);
    changed
        .iter()
        .map(|flag| {
            grouped
                .iter()
                .find(|p| p.flags().any(|f| same_flag(f, flag)))
                .map_or_else(
                    || ProblemRef {
                        rule: flag.rule,
                        resource: flag.resource.clone(),
                    },
                    Problem::reference,
                )
        })
        .collect()
}

fn same_flag(a: &Flag, b: &Flag) -> bool {
    a.rule == b.rule && a.subject == b.subject && a.first_seen == b.first_seen
}

fn problem_of<'a>(mut flags: Vec<&'a Flag>) -> Problem<'a> {
    flags.sort_by(|a, b| {
        layer(a)
            .cmp(&layer(b))
            .then(a.first_seen.cmp(&b.first_seen))
    });
    let root_at = flags
        .iter()
        .enumerate()
        .min_by_key(|(_, f)| (specificity(f), layer(f), f.first_seen))
        .map_or(0, |(i, _)| i);
    let root = flags.remove(root_at);
    let severity = flags
        .iter()
        .map(|f| f.severity)
        .fold(root.severity, Severity::max);
    let first_seen = flags
        .iter()
        .map(|f| f.first_seen)
        .fold(root.first_seen, DateTime::min);
    let last_seen = flags
        .iter()
        .map(|f| f.last_seen)
        .fold(root.last_seen, DateTime::max);
    Problem {
        root,
        symptoms: flags,
        severity,
        first_seen,
        last_seen,
    }
}

/// Rules that describe what happened to something rather than why: the symptoms and
/// summaries a root cause shows through. They are a problem's root only when nothing more
/// specific is there.
const SUMMARY_RULES: &[&str] = &[
    "cfn.root_cause",
    "deploy.rolled_back",
    "stall.resource",
    "ecs.crash_loop",
    "ecs.not_converging",
    "elb.no_healthy_targets",
    "ecs.essential_exited",
    "ecs.resource_init_other",
    "ecs.task_failed_elb_hc",
    "ecs.task_failed_container_hc",
    "ecs.svc_rollback",
    "ecs.circuit_breaker_failed",
    "ecs.svc_task_start_impaired",
    "ecs.svc_deployment_failed",
    "ecs.svc_deployment_failed_alarm",
    "ecs.svc_target_unhealthy",
    "ecs.svc_target_unhealthy_codes",
    "ecs.svc_target_unhealthy_timeout",
    "ecs.svc_container_hc_failed",
    "cfn.ecs_circuit_breaker",
    "cfn.ecs_service_not_stabilized",
    "cfn.not_stabilized",
    "cfn.internal_failure",
    "cfn.stack_timeout",
    "log.python_traceback",
    "log.java_exception",
];

/// Whether a rule says what happened rather than why (see [`SUMMARY_RULES`]).
pub(super) fn is_summary_rule(rule: &str) -> bool {
    SUMMARY_RULES.contains(&rule)
}

/// 0: a specific rule; 1: `unknown` (it read like a failure); 2: a summary or a symptom.
fn specificity(flag: &Flag) -> u8 {
    if is_summary_rule(flag.rule) {
        2
    } else if flag.rule == super::UNKNOWN {
        1
    } else {
        0
    }
}

/// How deep in the chain a flag sits: the app's own lines first, CloudFormation waiting last.
fn layer(flag: &Flag) -> u8 {
    match (flag.source, flag.rule) {
        (Source::Log, _) => 0,
        (Source::EcsTask, "ecs.crash_loop") => 2,
        (Source::EcsTask, _) => 1,
        (Source::Elb, "elb.no_healthy_targets") => 4,
        (Source::Elb, _) => 3,
        (Source::EcsService, "ecs.not_converging") => 6,
        (Source::EcsService, "deploy.rolled_back") => 7,
        (Source::EcsService, _) => 5,
        (Source::Api, _) => 5,
        (Source::Cfn, "stall.signal_countdown") => 8,
        (Source::Cfn, "stall.resource") => 9,
        (Source::Cfn, "cfn.root_cause") => 10,
        (Source::Cfn, "deploy.rolled_back") => 11,
        (Source::Cfn, _) => 8,
        (Source::Stackwatch, _) => 12,
    }
}

fn unit(source: Source) -> &'static str {
    match source {
        Source::EcsTask => "task",
        Source::Log => "log error",
        Source::Elb => "target change",
        _ => "event",
    }
}

/// A repeated text flag's summary ends with its tally, `(8 lines, last at 09:11:57)`: the
/// problem line shows that as its extent, at `now`.
fn without_tally(summary: &str) -> &str {
    match summary.rfind(" (") {
        Some(i) if summary.ends_with(')') && summary[i..].contains(", last at ") => &summary[..i],
        _ => summary,
    }
}

fn root_phrase(flag: &Flag, now: DateTime<Utc>) -> String {
    let summary = flag.summary_at(now);
    let summary = super::text_rules::short(without_tally(&summary), 90);
    if flag.count > 1 && flag.source == Source::EcsTask {
        format!("{summary} ({} tasks)", flag.count)
    } else {
        summary
    }
}

/// A symptom in a few words.
fn symptom_phrase(flag: &Flag, now: DateTime<Utc>) -> String {
    let n = flag.count;
    match (flag.source, flag.rule) {
        (_, "ecs.essential_exited") => {
            let codes = exit_codes(flag);
            let tasks = crate::text::count_of(usize::try_from(n).unwrap_or(usize::MAX), "task");
            if codes.is_empty() {
                format!("{tasks} exited")
            } else {
                format!("{tasks} exited {}", codes.join("/"))
            }
        }
        (_, "ecs.crash_loop") => "crash loop".to_string(),
        (Source::Elb, _)
        | (
            _,
            "ecs.svc_target_unhealthy"
            | "ecs.svc_target_unhealthy_codes"
            | "ecs.svc_target_unhealthy_timeout"
            | "ecs.task_failed_elb_hc",
        ) => "targets unhealthy".to_string(),
        (_, "ecs.svc_container_hc_failed" | "ecs.task_failed_container_hc") => {
            "container health checks fail".to_string()
        }
        (_, "ecs.svc_task_start_impaired") => "service cannot start tasks steadily".to_string(),
        (_, "ecs.not_converging") => "service short of desired tasks".to_string(),
        (Source::EcsService, "deploy.rolled_back") => "deployment rolled back".to_string(),
        (Source::Cfn, "deploy.rolled_back") => "stack rolled back".to_string(),
        (_, "stall.resource" | "stall.signal_countdown") => {
            let since = flag.evidence.front().map_or(flag.first_seen, |e| e.at);
            let waited = fmt_duration(now.signed_duration_since(since).num_seconds());
            format!("{} waiting {waited}", logical_id(&flag.subject))
        }
        // The full path: in nested stacks, Parent/Child/Resource.
        (_, "cfn.root_cause") => format!("{} failed", flag.resource),
        (Source::Cfn, rule) => format!("{}: {}", logical_id(&flag.subject), rule_words(rule)),
        (Source::EcsTask, rule) => format!(
            "{}: {}",
            crate::text::count_of(usize::try_from(n).unwrap_or(usize::MAX), "task"),
            rule_words(rule)
        ),
        (_, rule) => rule_words(rule),
    }
}

/// `ecs.svc_target_unhealthy` → `svc target unhealthy`.
fn rule_words(rule: &str) -> String {
    let tail = rule.split_once('.').map_or(rule, |(_, t)| t);
    tail.replace('_', " ")
}

fn logical_id(subject: &Subject) -> String {
    match subject {
        Subject::Resource(key) => key.logical_id.clone(),
        Subject::Stack(path) => path.rsplit('/').next().unwrap_or(path).to_string(),
        other => other.to_string(),
    }
}

/// The distinct exit codes in an `ecs.essential_exited` flag's evidence (`[app exit 1]`).
fn exit_codes(flag: &Flag) -> Vec<String> {
    let mut codes: Vec<String> = Vec::new();
    for e in &flag.evidence {
        for (i, _) in e.text.match_indices(" exit ") {
            let code: String = e.text[i + 6..]
                .chars()
                .take_while(|c| c.is_ascii_digit() || *c == '-')
                .collect();
            if !code.is_empty() && !codes.contains(&code) {
                codes.push(code);
            }
        }
    }
    codes
}

/// The things a flag is about, and the things they lead to. Borrowed from the flags and the
/// store: a grouping runs on every flag change.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Anchor<'a> {
    Service(&'a str),
    TaskFamily(&'a str),
    TargetGroup(&'a str),
    LogGroup(&'a str),
    Resource(&'a ResourceKey),
    Stack(Cow<'a, str>),
}

/// What the store says about how things connect: a task (by id or IP) to its service.
struct Links<'s> {
    owners: &'s crate::model::TaskOwners,
}

impl<'s> Links<'s> {
    fn of(store: &'s Store) -> Self {
        Links {
            owners: &store.task_owners,
        }
    }

    fn anchor(owner: &'s str) -> Option<Anchor<'s>> {
        match owner.split_once(':') {
            Some(("svc", name)) => Some(Anchor::Service(name)),
            Some(("family", name)) => Some(Anchor::TaskFamily(name)),
            _ => None,
        }
    }

    /// A target (`10.0.1.5:3000` or `10.0.1.5`) → the task at that IP → its service.
    fn of_target(&self, target: &str) -> Option<Anchor<'s>> {
        let ip = target.split(':').next().unwrap_or(target);
        self.owners.of_ip(ip).and_then(Self::anchor)
    }

    /// An awslogs stream (`prefix/container/TASK_ID`) → the task → its service.
    fn of_stream(&self, stream: &str) -> Option<Anchor<'s>> {
        self.of_task(stream.rsplit('/').next().unwrap_or(stream))
    }

    fn of_task(&self, task_id: &str) -> Option<Anchor<'s>> {
        self.owners.of_task(task_id).and_then(Self::anchor)
    }
}

fn anchors<'a>(flag: &'a Flag, store: &'a Store, links: &Links<'a>) -> Vec<Anchor<'a>> {
    let mut out = Vec::new();
    match &flag.subject {
        Subject::Service(name) => out.push(Anchor::Service(name)),
        Subject::TaskFamily(family) => out.push(Anchor::TaskFamily(family)),
        Subject::TargetGroup(arn) => {
            out.push(Anchor::TargetGroup(arn));
            // Targets are keyed by group first: only this group's are visited.
            let from = crate::model::TargetKey {
                target_group: arn.clone(),
                target_id: String::new(),
                port: None,
            };
            let targets = store
                .targets
                .range(from..)
                .take_while(|(k, _)| k.target_group == *arn)
                .filter_map(|(k, _)| links.of_target(&k.target_id));
            out.extend(targets);
        }
        Subject::LogGroup(group) => out.push(Anchor::LogGroup(group)),
        Subject::Resource(key) => {
            out.push(Anchor::Resource(key));
            if let Some(r) = store.resources.get(key) {
                if let Some(service) = r.ecs_service() {
                    out.push(Anchor::Service(service));
                }
                if let ("AWS::ElasticLoadBalancingV2::TargetGroup", Some(arn)) =
                    (r.resource_type.as_str(), r.physical_id.as_deref())
                {
                    out.push(Anchor::TargetGroup(arn));
                }
                if let Some(child) = r.child_stack_path() {
                    out.push(Anchor::Stack(Cow::Owned(child)));
                }
            }
        }
        Subject::Stack(path) => out.push(Anchor::Stack(Cow::Borrowed(path))),
    }
    // The evidence names the tasks, targets and streams behind a flag.
    for e in &flag.evidence {
        let linked = match e.source {
            Source::Elb => links.of_target(&e.resource),
            Source::Log => links.of_stream(&e.resource),
            Source::EcsTask => links.of_task(&e.resource),
            _ => None,
        };
        out.extend(linked);
    }
    // The operation's failure and its rollback are one story: the root stack's.
    if matches!(flag.rule, "cfn.root_cause" | "deploy.rolled_back") && flag.source == Source::Cfn {
        let stack = match &flag.subject {
            Subject::Resource(key) => key.stack.as_str(),
            Subject::Stack(path) => path.as_str(),
            _ => "",
        };
        let root = stack.split('/').next().unwrap_or(stack);
        out.push(Anchor::Stack(Cow::Owned(["operation:", root].concat())));
    }
    out
}

/// Union-find over flag indices.
struct DisjointSets {
    parent: Vec<usize>,
}

impl DisjointSets {
    fn new(n: usize) -> Self {
        DisjointSets {
            parent: (0..n).collect(),
        }
    }

    fn find(&mut self, mut i: usize) -> usize {
        while self.parent[i] != i {
            self.parent[i] = self.parent[self.parent[i]];
            i = self.parent[i];
        }
        i
    }

    fn union(&mut self, a: usize, b: usize) {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra != rb {
            // The earlier flag's set stays the representative: problems keep a stable order.
            let (keep, join) = if ra < rb { (ra, rb) } else { (rb, ra) };
            self.parent[join] = keep;
        }
    }
}

/// The failed operation's root cause in one line, followed down its chain: the problem that
/// holds `cfn.root_cause`, from its deepest cause ("service orders: image …:2.1.0-rc1 not
/// found (3 tasks) → deployment rolled back → Service failed"). `None` until an operation
/// has failed.
pub fn root_cause_line(problems: &[Problem], now: DateTime<Utc>) -> Option<String> {
    let p = problems
        .iter()
        .find(|p| p.flags().any(|f| f.rule == "cfn.root_cause"))?;
    if p.root.rule == "cfn.root_cause" {
        return Some(p.root.summary_at(now).into_owned());
    }
    Some(format!("{}: {}", p.root.resource, p.chain(now)))
}
