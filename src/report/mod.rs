//! `stackwatch report`: a recording turned into the handoff document the next person on call
//! reads in two minutes: what happened, the root cause, what was tried, the flags with their
//! evidence, the resources, the ECS story, the target health and the logs around each flag.
//!
//! [`gather`] plays a recording through the same pipeline as `replay` (so the flags are the
//! ones the dashboard showed) and keeps, as it goes, the few facts a report needs, each in a
//! bounded list: a recording of millions of observations makes a report in the memory of one
//! replay. [`markdown`] and [`html`] write what was gathered; neither reads the recording.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::io::BufRead;

use chrono::{DateTime, TimeDelta, Utc};

use crate::detect::{
    Detector, Flag, FlagChange, ProblemSummary, fmt_duration, problems, root_cause_line,
};
use crate::headless::Outcome;
use crate::model::{
    CfnEvent, EcsService, EcsTask, LogEvent, ObservationKind, Severity, Source, StoreCaps,
    TargetHealth, cfn_status, task_id_of,
};
use crate::pipeline::{Change, Pipeline};
use crate::session::recording::{Header, RecordingError, RecordingReader};
pub(crate) use crate::text::clock;

pub mod html;
pub mod markdown;

/// Most items kept per list: a report is read by a person.
const MOST_OPERATIONS: usize = 50;
const MOST_DEPLOYMENTS: usize = 50;
const MOST_FLAGS: usize = 200;
const MOST_STOP_REASONS: usize = 50;
const MOST_TARGET_CHANGES: usize = 100;
const MOST_TIMELINE: usize = 120;
const MOST_NOTES: usize = 200;
const MOST_RESOURCES: usize = 5_000;
/// Log lines kept to cut excerpts from, and lines per excerpt.
const LOG_RING: usize = 2_000;
const EXCERPT_LINES: usize = 8;

/// The format of the written report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportFormat {
    Markdown,
    Html,
}

/// Everything a report shows, gathered from one recording.
#[derive(Debug, Clone)]
pub struct Report {
    pub stacks: Vec<String>,
    pub account: Option<String>,
    pub region: Option<String>,
    pub command: String,
    pub start: Option<DateTime<Utc>>,
    pub end: Option<DateTime<Utc>>,
    pub observations: u64,
    pub outcome: Outcome,
    /// The root cause in one sentence, followed down its chain.
    pub root_cause: Option<String>,
    /// The problems open at the end, worst first.
    pub problems: Vec<ProblemSummary>,
    pub lead_time: Option<LeadTime>,
    pub operations: Vec<Operation>,
    pub deployments: Vec<Deployment>,
    pub notes: Vec<(DateTime<Utc>, String)>,
    /// Every flag raised, worst first.
    pub flags: Vec<ReportFlag>,
    pub resources: Vec<ResourceRow>,
    pub stop_reasons: Vec<StopReason>,
    pub target_changes: Vec<TargetChange>,
    pub timeline: Vec<Milestone>,
    /// Milestones left out of the middle of a long timeline.
    pub timeline_omitted: usize,
    /// The recording's last line was cut short (a crash) and skipped.
    pub truncated: bool,
}

/// When stackwatch first flagged a problem against when CloudFormation reported the failure.
#[derive(Debug, Clone, PartialEq)]
pub struct LeadTime {
    pub flagged_at: DateTime<Utc>,
    pub flag_rule: &'static str,
    pub cfn_failed_at: DateTime<Utc>,
}

impl LeadTime {
    /// "flagged 8m 29s before CloudFormation gave up (`rule` at …)", with the rule id marked up
    /// by `code` for the format.
    pub fn sentence(&self, code: impl Fn(&str) -> String) -> String {
        let secs = (self.cfn_failed_at - self.flagged_at).num_seconds();
        if secs >= 0 {
            format!(
                "flagged {} before CloudFormation gave up ({} at {}, CloudFormation at {})",
                fmt_duration(secs),
                code(self.flag_rule),
                clock(self.flagged_at),
                clock(self.cfn_failed_at)
            )
        } else {
            format!(
                "CloudFormation reported the failure {} before the first flag ({})",
                fmt_duration(-secs),
                code(self.flag_rule)
            )
        }
    }
}

/// `2026-11-23 09:00:00 UTC`, or `-`.
pub(crate) fn when(at: Option<DateTime<Utc>>) -> String {
    at.map_or_else(
        || "-".to_string(),
        |t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
    )
}

/// One stack operation: CREATE, UPDATE, DELETE… of a stack, and how it ended.
#[derive(Debug, Clone, PartialEq)]
pub struct Operation {
    pub stack: String,
    pub kind: String,
    pub started: DateTime<Utc>,
    pub ended: Option<DateTime<Utc>>,
    /// The last status seen: `UPDATE_ROLLBACK_COMPLETE`, `CREATE_COMPLETE`…
    pub status: String,
}

/// One ECS deployment (a task definition revision rolled out) and its outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct Deployment {
    pub service: String,
    pub id: String,
    pub task_definition: String,
    pub created: DateTime<Utc>,
    pub rollout: Option<String>,
    pub reason: Option<String>,
    pub failed_tasks: u32,
}

/// A flag as the report lists it.
#[derive(Debug, Clone)]
pub struct ReportFlag {
    pub flag: Flag,
    /// The problem it belonged to when last seen: (root rule, root resource).
    pub problem: Option<(&'static str, String)>,
    /// Log lines around it, de-duplicated: (text, count).
    pub excerpt: Vec<(String, u32)>,
}

/// A resource row: its stack path, depth under the root, and how long it took.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceRow {
    pub stack: String,
    pub depth: usize,
    pub logical_id: String,
    pub resource_type: String,
    /// How its first phase in the recording ended (`CREATE_FAILED`), if it did.
    pub outcome: Option<String>,
    /// Its status at the end of the recording.
    pub status: String,
    pub reason: Option<String>,
    /// Its first phase: from its first `*_IN_PROGRESS` to its first terminal status.
    pub started: Option<DateTime<Utc>>,
    pub finished: Option<DateTime<Utc>>,
}

impl ResourceRow {
    /// How long its first phase took, up to `end` when it has not finished.
    pub fn took(&self, end: Option<DateTime<Utc>>) -> String {
        match (self.started, self.finished.or(end)) {
            (Some(s), Some(e)) => fmt_duration((e - s).num_seconds()),
            _ => "-".to_string(),
        }
    }

    /// Its first phase failed (or was cancelled).
    pub fn failed(&self) -> bool {
        self.outcome.as_deref().is_some_and(cfn_status::is_failed)
    }

    /// `CREATE_FAILED, now DELETE_COMPLETE`, or the status alone.
    pub fn status_text(&self) -> String {
        match &self.outcome {
            Some(o) if *o != self.status => format!("{o}, now {}", self.status),
            _ => self.status.clone(),
        }
    }
}

/// Stopped tasks grouped by their reason.
#[derive(Debug, Clone, PartialEq)]
pub struct StopReason {
    pub service: String,
    pub reason: String,
    pub tasks: u32,
    pub exit_codes: Vec<i32>,
    pub first: DateTime<Utc>,
    pub last: DateTime<Utc>,
}

/// A target whose health state changed.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetChange {
    pub at: DateTime<Utc>,
    pub target_group: String,
    pub target: String,
    pub from: Option<String>,
    pub to: String,
    pub reason: Option<String>,
}

/// A row of the condensed timeline.
#[derive(Debug, Clone, PartialEq)]
pub struct Milestone {
    pub at: DateTime<Utc>,
    pub source: Source,
    pub level: Severity,
    pub resource: String,
    pub message: String,
}

/// Plays the recording at `path` and gathers its report; with `redact`, secrets are masked
/// out of every text before anything reads it.
pub fn from_path(
    path: &std::path::Path,
    detector: Detector,
    redact: bool,
) -> Result<Report, RecordingError> {
    let reader = RecordingReader::open(path)?;
    gather(reader, detector, redact)
}

/// Plays a recording through a pipeline with `detector` and gathers what the report shows.
pub fn gather<R: BufRead>(
    mut reader: RecordingReader<R>,
    detector: Detector,
    redact: bool,
) -> Result<Report, RecordingError> {
    let mut header = reader.header.clone();
    if redact {
        crate::redact::redact_header(&mut header);
    }
    let mut pipeline = Pipeline::new(StoreCaps::default()).with_detector(detector);
    let mut g = Gatherer::default();
    let mut changes = Vec::new();
    let mut last = None;
    while let Some(mut obs) = reader.next_observation()? {
        if redact {
            crate::redact::redact_observation(&mut obs);
        }
        g.observe(&obs.kind, obs.at);
        pipeline.feed(&obs, &mut changes);
        g.changes(&changes);
        changes.clear();
        last = Some(obs.at);
    }
    if let Some(last) = last {
        // One tick past the last observation, as replay ends: the state rules see the end.
        pipeline.advance_to(last + TimeDelta::seconds(1), &mut changes);
        g.changes(&changes);
    }
    Ok(g.finish(&header, &pipeline, reader.truncated_tail))
}

/// A resource's first phase in the recording.
#[derive(Debug, Default)]
struct Phase {
    started: Option<DateTime<Utc>>,
    ended: Option<DateTime<Utc>>,
    status: Option<String>,
    reason: Option<String>,
}

#[derive(Default)]
struct Gatherer {
    first: Option<DateTime<Utc>>,
    last: Option<DateTime<Utc>>,
    operations: VecDeque<Operation>,
    deployments: VecDeque<Deployment>,
    notes: VecDeque<(DateTime<Utc>, String)>,
    /// Flags by (rule, resource, first seen), in the order they opened.
    flags: Vec<ReportFlag>,
    flag_index: HashMap<(&'static str, String, DateTime<Utc>), usize>,
    stops: Vec<StopReason>,
    stopped_seen: crate::model::store::RecentKeys<String>,
    targets: HashMap<(String, String), String>,
    target_changes: VecDeque<TargetChange>,
    logs: VecDeque<(DateTime<Utc>, String, String)>,
    timeline: Vec<Milestone>,
    timeline_tail: VecDeque<Milestone>,
    timeline_omitted: usize,
    first_flag: Option<(DateTime<Utc>, &'static str)>,
    phases: HashMap<(String, String), Phase>,
    cfn_failed: Option<DateTime<Utc>>,
}

impl Gatherer {
    fn observe(&mut self, kind: &ObservationKind, at: DateTime<Utc>) {
        self.first.get_or_insert(at);
        self.last = Some(self.last.map_or(at, |l| l.max(at)));
        match kind {
            ObservationKind::CfnEvent(e) => self.cfn_event(e),
            ObservationKind::EcsService(s) => self.service(s),
            ObservationKind::EcsTask(t) => self.task(t, at),
            ObservationKind::TargetHealth(t) => self.target(t, at),
            ObservationKind::LogEvent(l) => self.log(l),
            ObservationKind::Note(n) => {
                push_bounded(&mut self.notes, (at, n.text.clone()), MOST_NOTES);
                self.milestone(Milestone {
                    at,
                    source: Source::Stackwatch,
                    level: Severity::Info,
                    resource: "note".to_string(),
                    message: n.text.clone(),
                });
            }
            _ => {}
        }
    }

    fn cfn_event(&mut self, e: &CfnEvent) {
        if !e.is_stack_row() {
            self.resource_phase(e);
        }
        if !e.is_stack_row() {
            if cfn_status::is_failed(&e.status) {
                let reason = e.reason.as_deref().unwrap_or("");
                self.milestone(Milestone {
                    at: e.timestamp,
                    source: Source::Cfn,
                    level: Severity::Error,
                    resource: format!("{}/{}", e.stack, e.logical_id),
                    message: format!("{} {reason}", e.status),
                });
            }
            return;
        }
        let failed = cfn_status::is_failed(&e.status) || cfn_status::is_rollback(&e.status);
        if failed && !e.stack.contains('/') {
            self.cfn_failed.get_or_insert(e.timestamp);
        }
        self.milestone(Milestone {
            at: e.timestamp,
            source: Source::Cfn,
            level: if failed {
                Severity::Error
            } else {
                Severity::Info
            },
            resource: e.stack.clone(),
            message: match e.reason.as_deref().filter(|r| !r.is_empty()) {
                Some(r) => format!("{}: {r}", e.status),
                None => e.status.clone(),
            },
        });
        // An operation starts at a stack's first *_IN_PROGRESS after a terminal status.
        let open = self
            .operations
            .iter_mut()
            .rev()
            .find(|o| o.stack == e.stack && o.ended.is_none());
        match open {
            Some(op) => {
                op.status = e.status.clone();
                if !cfn_status::is_in_progress(&e.status) {
                    op.ended = Some(e.timestamp);
                }
            }
            None if cfn_status::is_in_progress(&e.status) => {
                let kind = e.status.split('_').next().unwrap_or("").to_string();
                push_bounded(
                    &mut self.operations,
                    Operation {
                        stack: e.stack.clone(),
                        kind,
                        started: e.timestamp,
                        ended: None,
                        status: e.status.clone(),
                    },
                    MOST_OPERATIONS,
                );
            }
            None => {}
        }
    }

    /// A resource's first phase (its create, or the update that began the recording): when it
    /// began, ended and how; a rollback's delete comes after and is not what a reader asks.
    fn resource_phase(&mut self, e: &CfnEvent) {
        let key = (e.stack.clone(), e.logical_id.clone());
        if !self.phases.contains_key(&key) && self.phases.len() >= MOST_RESOURCES {
            return;
        }
        let phase = self.phases.entry(key).or_default();
        if phase.ended.is_some() {
            return;
        }
        if cfn_status::is_in_progress(&e.status) {
            phase.started.get_or_insert(e.timestamp);
        } else {
            phase.started.get_or_insert(e.timestamp);
            phase.ended = Some(e.timestamp);
            phase.status = Some(e.status.clone());
            phase.reason = e.reason.clone().filter(|r| !r.is_empty());
        }
    }

    fn service(&mut self, s: &EcsService) {
        let mut milestones = Vec::new();
        for d in &s.deployments {
            let known = self
                .deployments
                .iter_mut()
                .find(|k| k.id == d.id && k.service == s.service);
            match known {
                Some(k) => {
                    if k.rollout != d.rollout_state && d.rollout_state.is_some() {
                        let level = match d.rollout_state.as_deref() {
                            Some("FAILED") => Severity::Error,
                            _ => Severity::Info,
                        };
                        let message = format!(
                            "deployment {} ({}) {}",
                            d.id,
                            short_td(&d.task_definition),
                            d.rollout_state.as_deref().unwrap_or("")
                        );
                        milestones.push(Milestone {
                            at: d.updated_at.unwrap_or(d.created_at),
                            source: Source::EcsService,
                            level,
                            resource: s.service.clone(),
                            message,
                        });
                    }
                    k.rollout = d.rollout_state.clone().or(k.rollout.take());
                    k.reason = d.rollout_state_reason.clone().or(k.reason.take());
                    k.failed_tasks = k.failed_tasks.max(d.failed_tasks);
                }
                None => {
                    milestones.push(Milestone {
                        at: d.created_at,
                        source: Source::EcsService,
                        level: Severity::Info,
                        resource: s.service.clone(),
                        message: format!(
                            "deployment {} of {} starts",
                            d.id,
                            short_td(&d.task_definition)
                        ),
                    });
                    push_bounded(
                        &mut self.deployments,
                        Deployment {
                            service: s.service.clone(),
                            id: d.id.clone(),
                            task_definition: d.task_definition.clone(),
                            created: d.created_at,
                            rollout: d.rollout_state.clone(),
                            reason: d.rollout_state_reason.clone(),
                            failed_tasks: d.failed_tasks,
                        },
                        MOST_DEPLOYMENTS,
                    );
                }
            }
        }
        for m in milestones {
            self.milestone(m);
        }
    }

    fn task(&mut self, t: &EcsTask, at: DateTime<Utc>) {
        if t.last_status != "STOPPED" || !self.stopped_seen.insert(t.task_arn.clone(), 10_000) {
            return;
        }
        let service = t
            .service_name()
            .map_or_else(|| t.group.clone().unwrap_or_default(), str::to_string);
        let mut reason = t.stopped_reason.clone().unwrap_or_else(|| "-".into());
        for c in &t.containers {
            if let Some(r) = &c.reason {
                reason.push_str(&format!(" [{}: {r}]", c.name));
            }
        }
        let codes = t.containers.iter().filter_map(|c| c.exit_code);
        let when = t.stopped_at.unwrap_or(at);
        let full = self.stops.len() >= MOST_STOP_REASONS;
        match self
            .stops
            .iter_mut()
            .find(|s| s.service == service && s.reason == reason)
        {
            Some(s) => {
                s.tasks += 1;
                s.first = s.first.min(when);
                s.last = s.last.max(when);
                for code in codes {
                    if !s.exit_codes.contains(&code) {
                        s.exit_codes.push(code);
                    }
                }
            }
            None if !full => self.stops.push(StopReason {
                service,
                reason,
                tasks: 1,
                exit_codes: codes.collect(),
                first: when,
                last: when,
            }),
            None => {}
        }
    }

    fn target(&mut self, t: &TargetHealth, at: DateTime<Utc>) {
        let key = (t.target_group.clone(), target_label(t));
        let from = self.targets.get(&key).cloned();
        if from.as_deref() == Some(t.state.as_str()) {
            return;
        }
        if self.targets.len() < 10_000 || from.is_some() {
            self.targets.insert(key.clone(), t.state.clone());
        }
        let reason = match (&t.reason, &t.description) {
            (Some(r), Some(d)) => Some(format!("{r}: {d}")),
            (r, d) => r.clone().or_else(|| d.clone()),
        };
        push_bounded(
            &mut self.target_changes,
            TargetChange {
                at,
                target_group: crate::detect::Subject::TargetGroup(key.0).to_string(),
                target: key.1,
                from,
                to: t.state.clone(),
                reason,
            },
            MOST_TARGET_CHANGES,
        );
    }

    fn log(&mut self, l: &LogEvent) {
        push_bounded(
            &mut self.logs,
            (
                l.timestamp,
                l.group.clone(),
                crate::model::byte_prefix(&l.message, 1_000).to_string(),
            ),
            LOG_RING,
        );
    }

    fn changes(&mut self, changes: &[Change]) {
        for change in changes {
            let Change::Flag { at, change } = change else {
                continue;
            };
            let flag = change.flag();
            let opened = matches!(change, FlagChange::Opened(_));
            let key = (flag.rule, flag.resource.clone(), flag.first_seen);
            if opened && flag.severity >= Severity::Error && self.first_flag.is_none() {
                self.first_flag = Some((*at, flag.rule));
            }
            let problem = flag.problem.as_ref().map(|p| (p.rule, p.resource.clone()));
            match self.flag_index.get(&key) {
                Some(&i) => {
                    let kept = &mut self.flags[i];
                    kept.flag = flag.clone();
                    kept.problem = problem.or(kept.problem.take());
                }
                None if self.flags.len() < MOST_FLAGS => {
                    let excerpt = self.excerpt(flag, problem.as_ref());
                    self.flag_index.insert(key, self.flags.len());
                    self.flags.push(ReportFlag {
                        flag: flag.clone(),
                        problem,
                        excerpt,
                    });
                }
                None => {}
            }
            if opened
                && !self
                    .timeline
                    .iter()
                    .any(|m| m.message.starts_with(flag.rule))
            {
                self.milestone(Milestone {
                    at: *at,
                    source: Source::Stackwatch,
                    level: flag.severity,
                    resource: flag.resource.clone(),
                    message: format!("{} flagged: {}", flag.rule, flag.summary),
                });
            }
        }
    }

    /// The log lines of the flag's log group (its own, or its problem root's) up to when it
    /// opened, de-duplicated with counts.
    fn excerpt(&self, flag: &Flag, problem: Option<&(&'static str, String)>) -> Vec<(String, u32)> {
        let group = if flag.source == Source::Log {
            flag.resource.as_str()
        } else {
            match problem {
                Some((rule, resource)) if rule.starts_with("log.") => resource.as_str(),
                _ => return Vec::new(),
            }
        };
        let until = flag.first_seen + TimeDelta::seconds(5);
        let mut lines: Vec<(String, u32)> = Vec::new();
        for (at, g, text) in self.logs.iter().rev() {
            // Stack frames and blank lines say little on their own: the messages do.
            if g != group
                || *at > until
                || text.trim().is_empty()
                || text.starts_with(char::is_whitespace)
            {
                continue;
            }
            if let Some((_, n)) = lines.iter_mut().find(|(t, _)| t == text) {
                *n += 1;
            } else if lines.len() < EXCERPT_LINES {
                lines.push((text.clone(), 1));
            } else {
                break;
            }
        }
        lines.reverse();
        lines
    }

    /// Keeps the first half of the milestones and a ring of the newest.
    fn milestone(&mut self, m: Milestone) {
        if self.timeline.len() < MOST_TIMELINE / 2 {
            self.timeline.push(m);
            return;
        }
        self.timeline_tail.push_back(m);
        if self.timeline_tail.len() > MOST_TIMELINE / 2 {
            self.timeline_tail.pop_front();
            self.timeline_omitted += 1;
        }
    }

    fn finish(mut self, header: &Header, pipeline: &Pipeline, truncated: bool) -> Report {
        let store = &pipeline.store;
        let now = pipeline.now().or(self.last).unwrap_or(header.started_at);
        // The final state of every flag: open ones with their last counts and evidence.
        for flag in pipeline
            .detector
            .open_flags()
            .into_iter()
            .chain(pipeline.detector.resolved_flags())
        {
            let key = (flag.rule, flag.resource.clone(), flag.first_seen);
            if let Some(&i) = self.flag_index.get(&key) {
                self.flags[i].flag = flag.clone();
            }
        }
        let open = pipeline.detector.open_flags();
        let grouped = problems(&open, store);
        let root_cause = root_cause_line(&grouped, now).or_else(|| {
            grouped
                .first()
                .map(|p| format!("{}: {}", p.root.resource, p.chain(now)))
        });
        let problem_rows = grouped.iter().map(|p| p.summary(now)).collect();
        let mut flags = self.flags;
        flags.sort_by(|a, b| {
            b.flag
                .severity
                .cmp(&a.flag.severity)
                .then(a.flag.first_seen.cmp(&b.flag.first_seen))
        });
        let lead_time = match (self.first_flag, self.cfn_failed) {
            (Some((flagged_at, flag_rule)), Some(cfn_failed_at)) => Some(LeadTime {
                flagged_at,
                flag_rule,
                cfn_failed_at,
            }),
            _ => None,
        };
        let resources = store
            .resources
            .values()
            .map(|r| {
                let phase = self
                    .phases
                    .get(&(r.key.stack.clone(), r.key.logical_id.clone()));
                ResourceRow {
                    depth: r.key.stack.matches('/').count(),
                    stack: r.key.stack.clone(),
                    logical_id: r.key.logical_id.clone(),
                    resource_type: r.resource_type.clone(),
                    outcome: phase.and_then(|p| p.status.clone()),
                    status: r.status.clone(),
                    reason: phase
                        .and_then(|p| p.reason.clone())
                        .or_else(|| r.reason.clone()),
                    started: phase.and_then(|p| p.started).or(r.started_at),
                    finished: phase.map_or(r.finished_at, |p| p.ended),
                }
            })
            .collect();
        let mut timeline = self.timeline;
        timeline.extend(self.timeline_tail);
        timeline.sort_by_key(|m| m.at);
        let mut stops = self.stops;
        stops.sort_by(|a, b| b.tasks.cmp(&a.tasks).then(a.first.cmp(&b.first)));
        Report {
            stacks: store
                .stacks
                .values()
                .filter(|s| !s.path.contains('/'))
                .map(|s| s.name.clone())
                .collect(),
            account: header.account.clone(),
            region: header.region.clone(),
            command: header.args.join(" "),
            start: self.first,
            end: self.last,
            observations: store.observations,
            outcome: Outcome::of(pipeline),
            root_cause,
            problems: problem_rows,
            lead_time,
            operations: self.operations.into(),
            deployments: self.deployments.into(),
            notes: self.notes.into(),
            flags,
            resources,
            stop_reasons: stops,
            target_changes: self.target_changes.into(),
            timeline,
            timeline_omitted: self.timeline_omitted,
            truncated,
        }
    }
}

fn push_bounded<T>(list: &mut VecDeque<T>, item: T, most: usize) {
    if list.len() >= most {
        list.pop_front();
    }
    list.push_back(item);
}

fn target_label(t: &TargetHealth) -> String {
    match t.port {
        Some(p) => format!("{}:{p}", t.target_id),
        None => t.target_id.clone(),
    }
}

/// `arn:…:task-definition/payments-api:42` → `payments-api:42`.
pub(crate) fn short_td(arn: &str) -> &str {
    task_id_of(arn)
}

impl Report {
    pub fn duration(&self) -> Option<TimeDelta> {
        Some(self.end? - self.start?)
    }

    /// The report's title: its stacks, or what a stackless watch was.
    pub fn title(&self) -> String {
        if self.stacks.is_empty() {
            "a watch without a stack".to_string()
        } else {
            self.stacks.join(", ")
        }
    }

    /// The Gantt chart's rows: resources in display order that have a start.
    pub fn gantt_rows(&self) -> Vec<&ResourceRow> {
        self.resources_in_order()
            .into_iter()
            .filter(|row| row.started.is_some())
            .collect()
    }

    /// Resources in display order: by stack path, nested stacks after their parent row.
    pub fn resources_in_order(&self) -> Vec<&ResourceRow> {
        let mut by_stack: BTreeMap<&str, Vec<&ResourceRow>> = BTreeMap::new();
        for r in &self.resources {
            by_stack.entry(r.stack.as_str()).or_default().push(r);
        }
        let mut out = Vec::new();
        let roots: Vec<&str> = by_stack
            .keys()
            .copied()
            .filter(|s| !s.contains('/'))
            .collect();
        for root in roots {
            push_stack(root, &by_stack, &mut out);
        }
        out
    }
}

fn push_stack<'a>(
    stack: &str,
    by_stack: &BTreeMap<&str, Vec<&'a ResourceRow>>,
    out: &mut Vec<&'a ResourceRow>,
) {
    let Some(rows) = by_stack.get(stack) else {
        return;
    };
    for r in rows {
        out.push(r);
        if r.resource_type == "AWS::CloudFormation::Stack" {
            push_stack(&format!("{stack}/{}", r.logical_id), by_stack, out);
        }
    }
}

/// Writes the report in `format`.
pub fn render(report: &Report, format: ReportFormat) -> String {
    match format {
        ReportFormat::Markdown => markdown::render(report),
        ReportFormat::Html => html::render(report),
    }
}
