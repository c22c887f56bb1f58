//! The detector: text rules classify single messages, state rules look at the store over time,
//! and both open flags that carry a rule id, a severity, a one-line summary and a next step.
//! Flags resolve when the condition clears. Pure: `now` is always passed in.
//!
//! Grouping: an open flag is keyed by its rule and a scope (`svc:NAME`, `tg:GROUP`,
//! `log:GROUP`, `cfn:STACK/LogicalId`, …), so one root problem makes one flag whose `count`,
//! `last_seen` and evidence grow. Each flag also carries a typed [`Subject`] (the resource,
//! stack, service, target group or log group it is about): the panes match on that, and its
//! text is the flag's `resource`.
//!
//! Which text goes to which rules: CFN event reasons (failed, rollback, stack and in-progress
//! rows) and stack status reasons → cfn; a task's stoppedReason and container reasons → ecs-task,
//! once per task when first seen STOPPED (the most specific match wins); service events →
//! ecs-service, once per event id; target health `Reason: Description` → elb, on changes only;
//! log lines → log (log rules see log lines only). Info matches never open flags, and CFN
//! summaries (cascades, "The following resource(s) failed", nested stack rows) are left to
//! `cfn.root_cause`. A message no rule knows goes to the fallback (`fallback.rs`): if it reads
//! like a failure (or is a failed CFN row) it opens an `unknown` warn flag with the message as
//! evidence, keyed and counted like any other flag; otherwise nothing.
//!
//! The user's config file (`crate::config`, docs/config.md) reaches the detector as values, no
//! global: its thresholds are the [`DetectConfig`], and its [`UserRules`] are tried after the
//! built-in table and before the fallback (ranked after every built-in rule); muted rule ids
//! raise no flags, text and state rules alike (`raise` and `set_state_flag` drop them).
//!
//! Resolution (checked in `tick` unless noted): ecs-task flags when a newer task of the service
//! has stayed RUNNING for `task_stable_s` since the last failure, or the primary deployment runs
//! all its tasks; elb flags when the target group has a healthy target and no unhealthy one;
//! ecs-service event flags on the service's next steady-state / deployment-completed event (in
//! `observe`); log flags after `log_quiet_s` without a new match; api flags after `api_quiet_s`;
//! cfn flags when a new operation of the root stack starts; every flag of an ECS service when
//! the service no longer exists (`ecs_service_gone`, in `observe`). State rules resolve when
//! their condition is false again.
//!
//! Escalation: when a repeat or a state rule raises an open flag's severity (warn → error), the
//! flag keeps its key and first_seen, takes the new severity, and `FlagChange::Opened` is emitted
//! again with the new severity, so outputs show the escalation. Summary changes alone (a
//! countdown, a stall duration, a moved root cause) are not re-emitted; severities never drop
//! while a flag is open.

// Pure: no clock here (clippy.toml names the methods).
#![deny(clippy::disallowed_methods)]

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

use chrono::{DateTime, Utc};

use log_blocks::Block;

use crate::model::{
    CfnEvent, CfnStack, EcsServiceEvent, EcsTask, LogEvent, Observation, ObservationKind,
    ResourceKey, Severity, Source, Store, TargetHealth, TargetKey, cfn_status,
};

mod clock;
mod config;
mod fallback;
mod flag_key;
mod gone;
mod log_blocks;
mod problems;
mod state_rules;
mod subject;
#[cfg(test)]
mod tests;
mod text_rules;
mod user_rules;

pub use clock::{Clock, SummaryClock};
pub use config::{DetectConfig, StallThreshold};
pub use fallback::{UNKNOWN, fallback, log_marked, reads_as_failure, unknown, unknown_as};
pub use problems::{Problem, ProblemRef, ProblemSummary, problem_refs, problems, root_cause_line};
pub use subject::Subject;
pub use text_rules::{Classification, TextRuleInfo, classify, rule_ids, rule_of, text_rules};
pub use user_rules::{UserRule, UserRules};

pub(crate) use text_rules::classify_ranked;

/// Evidence kept per flag (newest last).
pub const EVIDENCE_CAP: usize = 20;

/// A state rule as the rules document shows it: the detector derives these from the store over
/// time. Their summaries and next steps are filled in from what they find (a resource type, a
/// countdown, a root cause), so the text here is the general one.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StateRuleInfo {
    pub id: &'static str,
    /// The severity it opens with, and what it escalates to.
    pub severity: &'static str,
    pub fires_when: &'static str,
    pub next_step: &'static str,
}

/// The state rules this detector implements.
pub const STATE_RULES: &[StateRuleInfo] = &[
    StateRuleInfo {
        id: "stall.resource",
        severity: "warn, then error",
        fires_when: "a CloudFormation resource stays in an *_IN_PROGRESS state past its type's warn threshold, escalating at the alarm threshold; an ECS service whose tasks keep failing alarms at once",
        next_step: "depends on the type: for an ECS service, the stopped tasks' reasons; for an instance, its signals; for a custom resource, its Lambda's logs",
    },
    StateRuleInfo {
        id: "stall.signal_countdown",
        severity: "warn, then error",
        fires_when: "a resource with a CreationPolicy or WaitCondition waits for signals: shows the count and the time left before the timeout fires",
        next_step: "if the instance should have signalled by now, read cloud-init-output.log and cfn-init.log on it, and check its route to the CloudFormation endpoint",
    },
    StateRuleInfo {
        id: "ecs.crash_loop",
        severity: "error",
        fires_when: "one service keeps starting tasks that run and then stop (several stops within the window)",
        next_step: "the app starts then dies: read the exit codes and the last log lines of a stopped task",
    },
    StateRuleInfo {
        id: "ecs.not_converging",
        severity: "warn",
        fires_when: "running stays below desired for longer than the threshold while a deployment is in progress",
        next_step: "look at the stopped tasks' reasons and the service events: new tasks are not staying up",
    },
    StateRuleInfo {
        id: "elb.no_healthy_targets",
        severity: "error",
        fires_when: "a target group that serves the service has no healthy target past the grace period",
        next_step: "the service takes no traffic: see the targets' health reasons and the tasks' stopped reasons",
    },
    StateRuleInfo {
        id: "cfn.root_cause",
        severity: "error, fatal when the rollback fails",
        fires_when: "the operation has failed: the earliest failure that is not a cascade, nested stacks followed, shown as Parent/Child/Resource",
        next_step: "the next step of the rule that classifies the failure's reason",
    },
    StateRuleInfo {
        id: "deploy.rolled_back",
        severity: "error",
        fires_when: "the operation ends in a rollback state (even when the stack is usable again)",
        next_step: "the deploy failed even if the stack is healthy: fix the root cause, then deploy again",
    },
];

/// CFN rules that summarise other failures: they never open a flag of their own
/// (`cfn.root_cause` follows them to the failure they point at).
const CFN_SUMMARY_RULES: &[&str] = &[
    "cfn.cascade_cancelled",
    "cfn.resources_failed_summary",
    "cfn.nested_stack_failed",
];

/// Longest evidence text kept.
const EVIDENCE_TEXT_MAX: usize = 500;
/// Dedup sets are pruned past this size.
const SEEN_CAP: usize = 10_000;

/// One piece of evidence a flag rests on. The same text seen again (twelve tasks stopped
/// with one reason) is one item with a count: `at` and `resource` are the newest sighting's.
#[derive(Debug, Clone, PartialEq, Hash)]
pub struct Evidence {
    pub at: DateTime<Utc>,
    pub source: Source,
    pub resource: String,
    pub text: String,
    /// How many times this text was seen (1 for a single sighting).
    pub repeats: u32,
}

impl Evidence {
    pub fn new(at: DateTime<Utc>, source: Source, resource: String, text: String) -> Self {
        Evidence {
            at,
            source,
            resource,
            text,
            repeats: 1,
        }
    }

    /// The text with its count when it was seen more than once: `… ×12`.
    pub fn counted_text(&self) -> std::borrow::Cow<'_, str> {
        if self.repeats > 1 {
            format!("{} ×{}", self.text, self.repeats).into()
        } else {
            self.text.as_str().into()
        }
    }
}

/// An open or resolved problem.
#[derive(Debug, Clone, PartialEq)]
pub struct Flag {
    /// A rule id from `signals/taxonomy.md`, such as `ecs.efs_mount_network`.
    pub rule: &'static str,
    pub severity: Severity,
    pub source: Source,
    /// What it is about; the panes match resources, services and target groups on this.
    pub subject: Subject,
    /// The subject as text (`payments/ApiService`, `service payments-api`, `tg payments-tg`),
    /// for the outputs.
    pub resource: String,
    /// What it means. A state flag's clock (`for 8m 35s`) is not in it: read the summary with
    /// [`Flag::summary_at`].
    pub summary: String,
    /// Where a clock goes in `summary`, drawn from `now` when it is shown.
    pub clock: Option<SummaryClock>,
    pub next_step: String,
    pub evidence: VecDeque<Evidence>,
    /// How many observations matched (50 tasks dying of one cause make one flag, count 50).
    pub count: u64,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
    /// The problem this flag belonged to when the change was handed on (set by the pipeline
    /// on `FlagChange`s only: the grouping moves as other flags open and resolve).
    pub problem: Option<ProblemRef>,
}

/// A change the outputs report: `flag` and `resolved` lines, the flags strip.
#[derive(Debug, Clone, PartialEq)]
pub enum FlagChange {
    // Boxed: a flag is three times the size of a timeline row, and a slice of changes is
    // mostly rows.
    Opened(Box<Flag>),
    Resolved(Box<Flag>),
}

impl FlagChange {
    pub fn flag(&self) -> &Flag {
        match self {
            FlagChange::Opened(f) | FlagChange::Resolved(f) => f,
        }
    }

    pub fn flag_mut(&mut self) -> &mut Flag {
        match self {
            FlagChange::Opened(f) | FlagChange::Resolved(f) => f,
        }
    }
}

/// Among flags of one severity, those that explain the most come first: on a small screen
/// the strip shows two or three, and the root cause or a stall says more than the newest
/// unhealthy target.
fn explains(rule: &str) -> u8 {
    match rule {
        "cfn.root_cause" => 0,
        "stall.resource" | "stall.signal_countdown" => 1,
        "ecs.crash_loop" | "elb.no_healthy_targets" | "ecs.not_converging" => 2,
        "deploy.rolled_back" => 3,
        _ => 4,
    }
}

/// Open flags are keyed by rule and the scope they are about (`svc:payments-api`).
pub type FlagKey = (&'static str, String);

/// A stop of a task that had started, kept for `ecs.crash_loop`.
#[derive(Debug, Clone)]
struct CrashStop {
    /// Observation time: the window is measured on the detector's clock.
    seen: DateTime<Utc>,
    evidence: Evidence,
}

#[derive(Debug, Clone, Default)]
pub struct Detector {
    config: DetectConfig,
    /// The config file's rules (after the built-in table) and muted ids.
    user: std::sync::Arc<UserRules>,
    open: BTreeMap<FlagKey, Flag>,
    resolved: VecDeque<Flag>,
    changes: Vec<FlagChange>,
    /// Task ARNs already classified as stopped (each stop counts once).
    stopped_seen: HashSet<String>,
    /// Event ids already classified (CFN events, service events): polls overlap.
    seen_events: SeenIds,
    /// Last (status, reason) classified per stack: DescribeStacks repeats them every poll.
    stack_reasons: HashMap<String, (String, Option<String>)>,
    /// Last (state, reason) classified per target: ELB rules run on changes only.
    targets_seen: HashMap<TargetKey, (String, Option<String>)>,
    /// Resources currently `*_IN_PROGRESS`: the stall rules look only at these.
    in_progress: BTreeSet<ResourceKey>,
    /// Per waiting resource, what its stall flag was last built from.
    stall_basis: HashMap<ResourceKey, state_rules::StallBasis>,
    /// Until when the stall rules have nothing to do (a tick runs them about once a second,
    /// most often for nothing).
    stall_rest: Option<state_rules::StallRest>,
    /// Per task scope, the newest task seen RUNNING: (started_at, task ARN).
    latest_running: HashMap<String, (DateTime<Utc>, String)>,
    /// Per service scope, recent stops of started tasks, and how many were seen in total.
    crash_stops: HashMap<String, (VecDeque<CrashStop>, u64)>,
    /// Per service scope, the (stops in window, total) the open crash-loop flag last showed.
    crash_reported: HashMap<String, (usize, u64)>,
    /// The root stack's current operation start, to resolve CFN flags on a new operation.
    root_operation: Option<DateTime<Utc>>,
    /// What `cfn.root_cause` last looked at: (failures, newest failure time, root status).
    root_cause_seen: Option<(usize, Option<DateTime<Utc>>, String)>,
    /// Per target group, since when it has had no healthy target.
    no_healthy_since: HashMap<String, state_rules::Tracked>,
    /// Per service, since when its rolling deployment has run fewer tasks than desired.
    behind_since: HashMap<String, state_rules::Tracked>,
    /// Per service, the last failed ECS deployment (`deploy.rolled_back`).
    ecs_rollbacks: HashMap<String, state_rules::RollbackEpisode>,
    /// Per log stream, the multi-line error being read (a traceback, a stack), bounded.
    log_blocks: log_blocks::Blocks,
    /// What recent multi-line blocks said, by their text.
    read_blocks: ReadBlocks,
    /// The last log line classified and its result: crash loops and retry loops print the
    /// same line again and again, and this skips the captures and summary for the repeats.
    last_log: Option<(String, Option<Classification>)>,
    /// A hash of what the root stack's `deploy.rolled_back` flag was last built from.
    root_rollback_built: Option<u64>,
    /// How many of the open flags are stall flags: the stall rules' rest compares it on every
    /// tick, and counting them in the map costs far more.
    open_stall: usize,
    /// Bumped whenever an open flag opens, changes or resolves: a tick that moved nothing
    /// lets the next ones rest.
    open_rev: u64,
    /// The last tick, when it moved nothing and nothing the state rules read has come in
    /// since: the ticks that follow may rest (see [`Detector::tick`]).
    quiet_since: Option<DateTime<Utc>>,
    /// Until when they rest: worked out at the first tick after `quiet_since`, as most quiet
    /// ticks are followed by a new observation before the next one.
    quiet_until: Option<DateTime<Utc>>,
    /// Run every rule on every tick, skipping none: what the tests compare skipping against.
    every_tick: bool,
    /// Recent classifications of reasons by text (not log lines, which rarely repeat whole
    /// and have their own one-line memory). Bounded: emptied when full.
    classified: std::cell::RefCell<ClassifiedTexts>,
    /// The time of the last tick: where a resolved state flag's clock stops.
    last_tick: Option<DateTime<Utc>>,
}

/// What a rule wants a flag to say; opening, bumping and updating share it.
#[derive(Debug, Clone)]
struct FlagSpec {
    rule: &'static str,
    severity: Severity,
    source: Source,
    scope: String,
    subject: Subject,
    summary: String,
    /// A clock drawn into `summary` when it is shown ([`SummaryClock`]).
    clock: Option<SummaryClock>,
    next_step: String,
}

/// What can be settled about an observation before the detector sees it, on another thread:
/// whether a log line matches no built-in rule and carries no failure marker. Judging log
/// lines is about a tenth of a replay's pipeline, so a replay's reader thread does it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Prejudged {
    /// `None`: not judged (not a log line, or nobody judged it); the detector judges it.
    plain_log: Option<bool>,
}

impl Prejudged {
    pub fn of(obs: &Observation) -> Self {
        match &obs.kind {
            ObservationKind::LogEvent(l) => Prejudged {
                plain_log: Some(is_plain_log(&l.message)),
            },
            _ => Prejudged::default(),
        }
    }
}

/// No log rule and no failure marker matches: one scan over the line for both (the text
/// rules' set and the fallback's failure markers together), four times faster than the two
/// apart. A match of either says nothing more: the detector then judges the line in full.
fn is_plain_log(text: &str) -> bool {
    static LOG_RULES_AND_MARKERS: std::sync::LazyLock<regex::bytes::RegexSet> =
        std::sync::LazyLock::new(|| {
            regex::bytes::RegexSetBuilder::new(
                text_rules::patterns_of(Source::Log).chain(fallback::failure_marker_patterns()),
            )
            .unicode(false)
            .size_limit(1 << 26)
            .build()
            .expect("rule patterns compile")
        });
    // Both read at most this much of a message.
    let text = crate::model::byte_prefix(text, text_rules::MAX_TEXT);
    !LOG_RULES_AND_MARKERS.is_match(text.as_bytes())
}

impl Detector {
    pub fn new() -> Self {
        Detector::default()
    }

    pub fn with_config(config: DetectConfig) -> Self {
        Detector {
            config,
            ..Detector::default()
        }
    }

    /// A detector with the config file's thresholds, rules and muted ids.
    pub fn with_user_rules(config: DetectConfig, user: UserRules) -> Self {
        Detector {
            config,
            user: std::sync::Arc::new(user),
            ..Detector::default()
        }
    }

    /// The same detector running every rule on every tick, as before quiet ticks were
    /// skipped: the tests check that skipping changes nothing.
    #[doc(hidden)]
    pub fn on_every_tick(mut self) -> Self {
        self.every_tick = true;
        self
    }

    /// A detector with no flags yet and the same thresholds, rules and muted ids (a replay
    /// that seeks back starts over with it).
    pub fn fresh(&self) -> Self {
        Detector {
            config: self.config.clone(),
            user: self.user.clone(),
            ..Detector::default()
        }
    }

    pub fn user_rules(&self) -> &UserRules {
        &self.user
    }

    pub fn config(&self) -> &DetectConfig {
        &self.config
    }

    /// Runs the text rules on one observation, after the store has applied it.
    pub fn observe(&mut self, obs: &Observation, store: &Store) {
        self.observe_prejudged(obs, Prejudged::default(), store);
    }

    /// [`Detector::observe`], with what was settled about the observation beforehand.
    pub fn observe_prejudged(&mut self, obs: &Observation, prejudged: Prejudged, store: &Store) {
        match &obs.kind {
            // No state rule reads what these move (logs, source health, notes, watch lists):
            // a log line only brings deadlines of its own, folded in after it is read.
            ObservationKind::LogEvent(_)
            | ObservationKind::SourceStatus(_)
            | ObservationKind::Watching(_)
            | ObservationKind::LogGap(_)
            | ObservationKind::Note(_) => {}
            // The store's stacks, resources, services, tasks or targets moved.
            _ => self.touch(),
        }
        match &obs.kind {
            ObservationKind::CfnEvent(e) => self.observe_cfn_event(obs.at, e, store),
            ObservationKind::CfnStack(s) => self.observe_cfn_stack(obs.at, s),
            ObservationKind::CfnResource(r) => {
                let key = ResourceKey {
                    stack: r.stack.clone(),
                    logical_id: r.logical_id.clone(),
                };
                self.track_in_progress(key, store);
            }
            ObservationKind::EcsTask(t) => self.observe_task(obs.at, t, store),
            ObservationKind::EcsServiceEvent(e) => self.observe_service_event(obs.at, e),
            ObservationKind::TargetHealth(t) => self.observe_target(obs.at, t),
            ObservationKind::LogEvent(l) => {
                self.observe_log(obs.at, l, prejudged.plain_log);
                self.fold_log_deadlines();
            }
            ObservationKind::EcsServiceGone(g) => self.service_gone(obs.at, g, store),
            ObservationKind::TargetGone(g) => self.target_gone(g),
            // A gone task needs nothing: the rules that follow tasks read them from the store.
            ObservationKind::EcsService(_)
            | ObservationKind::SourceStatus(_)
            | ObservationKind::EcsTaskGone(_)
            | ObservationKind::Watching(_)
            | ObservationKind::LogGap(_)
            // Notes are the user's words, never evidence.
            | ObservationKind::Note(_) => {}
        }
    }

    /// Something new came in that the state rules read: the next tick runs every rule.
    fn touch(&mut self) {
        self.quiet_since = None;
        self.quiet_until = None;
    }

    /// A log line can open a multi-line block or a log flag: the ticks that rest must wake
    /// when the block goes quiet or the flag's quiet period ends. (Before the rest is worked
    /// out there is nothing to fold: `next_due` reads the same deadlines.)
    fn fold_log_deadlines(&mut self) {
        if let Some(due) = self.quiet_until {
            self.quiet_until = Some(self.log_deadlines().fold(due, DateTime::min));
        }
    }

    /// When the open multi-line log blocks go quiet and the log flags' quiet periods end.
    fn log_deadlines(&self) -> impl Iterator<Item = DateTime<Utc>> + '_ {
        let quiet = self.config.log_quiet_s;
        let flags = self
            .open
            .values()
            .filter(|f| f.source == Source::Log)
            .map(move |f| state_rules::after(f.last_seen, quiet));
        self.log_blocks.next_quiet().into_iter().chain(flags)
    }

    /// Runs the state rules and resolution at `now`. A tick that follows a tick which changed
    /// nothing, with nothing fed in between, can only differ from it where time crosses a
    /// threshold: until the earliest such second ([`Detector::next_due`]) it is skipped.
    pub fn tick(&mut self, now: DateTime<Utc>, store: &Store) {
        if !self.every_tick
            && let Some(since) = self.quiet_since
        {
            // Only what the state rules do not read has come in since `since` (log lines,
            // whose deadlines `next_due` reads as they are now), so this is the rest that
            // began then.
            let due = match self.quiet_until {
                Some(due) => due,
                None => self.next_due(since, store),
            };
            self.quiet_until = Some(due);
            if now < due {
                self.last_tick = Some(now);
                return;
            }
        }
        let (rev, changes) = (self.open_rev, self.changes.len());
        self.close_quiet_blocks(now);
        self.resolve_on_new_operation(now, store);
        self.stall_rules(now, store);
        self.crash_loop(now, store);
        self.root_cause(now, store);
        self.no_healthy_targets(now, store);
        self.rolled_back(now, store);
        self.not_converging(now, store);
        self.resolve_text_flags(now, store);
        self.last_tick = Some(now);
        let quiet = self.open_rev == rev && self.changes.len() == changes;
        self.quiet_since = quiet.then_some(now);
        self.quiet_until = None;
    }

    /// Until when the ticks rest, once worked out: a tick before then changes nothing but
    /// the clock (see [`Detector::tick`]).
    pub fn resting_until(&self) -> Option<DateTime<Utc>> {
        self.quiet_since
            .and(self.quiet_until)
            .filter(|_| !self.every_tick)
    }

    /// Open flags, worst first, then newest first.
    pub fn open_flags(&self) -> Vec<&Flag> {
        let mut flags: Vec<&Flag> = self.open.values().collect();
        flags.sort_by(|a, b| {
            b.severity
                .cmp(&a.severity)
                .then(explains(a.rule).cmp(&explains(b.rule)))
                .then(b.last_seen.cmp(&a.last_seen))
        });
        flags
    }

    /// Flags that were open and have resolved, oldest first.
    pub fn resolved_flags(&self) -> impl Iterator<Item = &Flag> {
        self.resolved.iter()
    }

    /// Changes since the last call, in order.
    pub fn take_changes(&mut self) -> Vec<FlagChange> {
        std::mem::take(&mut self.changes)
    }

    // ------------------------------------------------------------ text rules per source

    fn observe_cfn_event(&mut self, at: DateTime<Utc>, e: &CfnEvent, store: &Store) {
        if !e.is_stack_row() {
            let key = ResourceKey {
                stack: e.stack.clone(),
                logical_id: e.logical_id.clone(),
            };
            self.track_in_progress(key, store);
        }
        if !self
            .seen_events
            .insert_keyed(format_args!("cfn/{}", e.event_id))
        {
            return;
        }
        let Some(reason) = e.reason.as_deref().filter(|r| !r.is_empty()) else {
            return;
        };
        // Success rows carry nothing to flag; failures, rollbacks and in-progress rows
        // (`Received FAILURE signal …`) do.
        if e.status.ends_with("_COMPLETE") && !cfn_status::is_rollback(&e.status) {
            return;
        }
        // No rule knows the reason: a failed row, or a reason that reads like a failure, is
        // still flagged (`unknown`).
        let c = match self.classify_ranked(Source::Cfn, reason) {
            Some((_, c)) => c,
            None if cfn_status::is_failed(&e.status) => fallback::unknown_as(true, reason),
            None => fallback::unknown(Source::Cfn, reason),
        };
        if c.severity == Severity::Info || CFN_SUMMARY_RULES.contains(&c.rule) {
            return;
        }
        let subject = if e.is_stack_row() {
            Subject::Stack(e.stack.clone())
        } else {
            Subject::Resource(ResourceKey {
                stack: e.stack.clone(),
                logical_id: e.logical_id.clone(),
            })
        };
        let path = subject.to_string();
        let evidence = Evidence::new(
            e.timestamp,
            Source::Cfn,
            path.clone(),
            evidence_text(&format!("{}: {reason}", e.status)),
        );
        let spec = FlagSpec {
            clock: None,
            rule: c.rule,
            severity: c.severity,
            source: Source::Cfn,
            scope: ["cfn:", &path].concat(),
            subject,
            summary: format!("{}: {}", e.logical_id, c.summary),
            next_step: c.next_step,
        };
        self.raise(spec, at, evidence, "events");
    }

    fn observe_cfn_stack(&mut self, at: DateTime<Utc>, s: &CfnStack) {
        let seen = (s.status.clone(), s.reason.clone());
        if self.stack_reasons.get(&s.stack) == Some(&seen) {
            return;
        }
        self.stack_reasons.insert(s.stack.clone(), seen);
        let Some(reason) = s.reason.as_deref().filter(|r| !r.is_empty()) else {
            return;
        };
        if !(cfn_status::is_failed(&s.status) || cfn_status::is_rollback(&s.status)) {
            return;
        }
        let Some(c) = self.classify_or_fallback(Source::Cfn, reason) else {
            return;
        };
        if c.severity == Severity::Info || CFN_SUMMARY_RULES.contains(&c.rule) {
            return;
        }
        let evidence = Evidence::new(
            at,
            Source::Cfn,
            s.stack.clone(),
            evidence_text(&format!("{}: {reason}", s.status)),
        );
        let spec = FlagSpec {
            clock: None,
            rule: c.rule,
            severity: c.severity,
            source: Source::Cfn,
            scope: ["cfn:", &s.stack].concat(),
            subject: Subject::Stack(s.stack.clone()),
            summary: format!("{}: {}", s.name, c.summary),
            next_step: c.next_step,
        };
        self.raise(spec, at, evidence, "events");
    }

    fn track_in_progress(&mut self, key: ResourceKey, store: &Store) {
        let tracked = match store.resources.get(&key) {
            Some(r) if r.is_in_progress() => {
                self.in_progress.insert(key);
                true
            }
            _ => self.in_progress.remove(&key),
        };
        if tracked {
            // A wait began, moved or ended: the stall rules look again.
            self.stall_rest = None;
        }
    }

    fn observe_task(&mut self, at: DateTime<Utc>, t: &EcsTask, store: &Store) {
        let scope = t.owner_scope();
        if t.last_status == "RUNNING" {
            let started = t.started_at.unwrap_or(at);
            let newer = self
                .latest_running
                .get(&scope)
                .is_none_or(|(s, _)| started > *s);
            if newer {
                self.latest_running
                    .insert(scope, (started, t.task_arn.clone()));
            }
            return;
        }
        if t.last_status != "STOPPED" || self.stopped_seen.contains(&t.task_arn) {
            return;
        }
        if self.stopped_seen.len() >= SEEN_CAP.max(2 * store.caps.stopped_tasks) {
            // Keep only tasks the store still holds: the others cannot come back as new.
            self.stopped_seen
                .retain(|arn| store.tasks.contains_key(arn));
        }
        self.stopped_seen.insert(t.task_arn.clone());

        // The most specific classification among the stop reason and the container reasons
        // (an OutOfMemoryError container beats "Essential container in task exited").
        let mut reasons = t
            .stopped_reason
            .iter()
            .chain(t.containers.iter().filter_map(|c| c.reason.as_ref()));
        let best = reasons
            .clone()
            .filter_map(|r| self.classify_ranked(Source::EcsTask, r))
            .min_by_key(|(rank, _)| *rank)
            .map(|(_, c)| c)
            // No rule knows any of them: the first that reads like a failure (`unknown`).
            .or_else(|| reasons.find_map(|r| fallback(Source::EcsTask, r)));
        let exits: Vec<String> = t
            .containers
            .iter()
            .filter_map(|c| c.exit_code.map(|code| format!("{} exit {code}", c.name)))
            .collect();
        let expected =
            t.is_expected_stop() || best.as_ref().is_some_and(|c| c.severity == Severity::Info);
        // Capacity going away is not the app crashing.
        let infrastructure = matches!(
            t.stop_code.as_deref(),
            Some("SpotInterruption" | "TerminationNotice")
        ) || best
            .as_ref()
            .is_some_and(|c| matches!(c.rule, "ecs.spot_interruption" | "ecs.host_terminated"));
        let stopped_at = t.stopped_at.unwrap_or(at);
        let mut text = format!("STOPPED: {}", t.stopped_reason.as_deref().unwrap_or("-"));
        for c in &t.containers {
            if let Some(r) = &c.reason {
                text.push_str(&format!(" [{}: {r}]", c.name));
            }
        }
        if !exits.is_empty() {
            text.push_str(&format!(" [{}]", exits.join(", ")));
        }
        let evidence = Evidence::new(
            stopped_at,
            Source::EcsTask,
            t.task_id().to_string(),
            evidence_text(&text),
        );

        let started = t.started_at.is_some() || !exits.is_empty();
        if started && !expected && !infrastructure && t.service_name().is_some() {
            let (stops, total) = self.crash_stops.entry(scope.clone()).or_default();
            stops.push_back(CrashStop {
                seen: at,
                evidence: evidence.clone(),
            });
            *total += 1;
            while stops.len() > EVIDENCE_CAP.max(self.config.crash_loop_stops) * 4 {
                stops.pop_front();
            }
        }

        let Some(c) = best else { return };
        if expected {
            return;
        }
        let mut summary = c.summary;
        if c.rule == "ecs.essential_exited" && !exits.is_empty() {
            summary.push_str(&format!(" ({})", exits.join(", ")));
        }
        let spec = FlagSpec {
            clock: None,
            rule: c.rule,
            severity: c.severity,
            source: Source::EcsTask,
            subject: task_subject(t),
            scope,
            summary,
            next_step: c.next_step,
        };
        self.raise(spec, at, evidence, "tasks");
    }

    fn observe_service_event(&mut self, at: DateTime<Utc>, e: &EcsServiceEvent) {
        if !self
            .seen_events
            .insert_keyed(format_args!("ecs/{}/{}/{}", e.cluster, e.service, e.id))
        {
            return;
        }
        let Some(c) = self.classify_or_fallback(Source::EcsService, &e.message) else {
            return;
        };
        let scope = ["svc:", &e.service].concat();
        if matches!(
            c.rule,
            "ecs.svc_steady_state" | "ecs.svc_deployment_completed"
        ) {
            // The service is healthy again: its event flags are over.
            let keys: Vec<FlagKey> = self
                .open
                .iter()
                .filter(|(k, f)| {
                    // Only the event rules: a rolled-back deploy stays failed once healthy.
                    k.1 == scope
                        && k.0.starts_with("ecs.")
                        && f.source == Source::EcsService
                        && f.last_seen <= at
                })
                .map(|(k, _)| k.clone())
                .collect();
            for key in keys {
                self.resolve(&key, at);
            }
            return;
        }
        if c.severity == Severity::Info {
            return;
        }
        let evidence = Evidence::new(
            e.created_at,
            Source::EcsService,
            e.service.clone(),
            evidence_text(&e.message),
        );
        let spec = FlagSpec {
            clock: None,
            rule: c.rule,
            severity: c.severity,
            source: Source::EcsService,
            scope,
            subject: Subject::Service(e.service.clone()),
            summary: c.summary,
            next_step: c.next_step,
        };
        self.raise(spec, at, evidence, "events");
    }

    fn observe_target(&mut self, at: DateTime<Utc>, t: &TargetHealth) {
        let key = TargetKey {
            target_group: t.target_group.clone(),
            target_id: t.target_id.clone(),
            port: t.port,
        };
        if t.is_gone() {
            // Gone from the group: forget it, so the seen-set stays as small as the group.
            self.targets_seen.remove(&key);
            return;
        }
        let now_seen = (t.state.clone(), t.reason.clone());
        if self.targets_seen.get(&key) == Some(&now_seen) {
            return;
        }
        self.targets_seen.insert(key, now_seen);
        let text = match (&t.reason, &t.description) {
            (Some(r), Some(d)) => [r, ": ", d].concat(),
            (Some(r), None) => r.clone(),
            (None, Some(d)) => d.clone(),
            (None, None) => return,
        };
        let Some(c) = self.classify_or_fallback(Source::Elb, &text) else {
            return;
        };
        if c.severity == Severity::Info {
            return;
        }
        let target = match t.port {
            Some(p) => format!("{}:{p}", t.target_id),
            None => t.target_id.clone(),
        };
        let evidence = Evidence::new(
            at,
            Source::Elb,
            target,
            evidence_text(&format!("{} ({text})", t.state)),
        );
        let spec = FlagSpec {
            clock: None,
            rule: c.rule,
            severity: c.severity,
            source: Source::Elb,
            scope: ["tg:", &t.target_group].concat(),
            subject: Subject::TargetGroup(t.target_group.clone()),
            summary: c.summary,
            next_step: c.next_step,
        };
        self.raise(spec, at, evidence, "targets");
    }

    fn observe_log(&mut self, at: DateTime<Utc>, l: &LogEvent, plain: Option<bool>) {
        // A line that continues its stream's open block (a frame, a `Caused by:`, the
        // traceback's exception line) joins it instead of being judged alone.
        if let Some(mut block) = self.log_blocks.take(&l.group, &l.stream) {
            if block.continues(&l.message)
                && at.signed_duration_since(block.last_at) < log_blocks::QUIET
            {
                block.push(&l.message, at);
                self.keep_block(block);
                return;
            }
            self.close_block(block);
        }
        // The common case, a line that matches nothing, costs one RegexSet scan.
        let c = match &self.last_log {
            Some((text, c)) if *text == l.message => c.clone(),
            // No built-in rule and no failure marker (settled beforehand, or by one scan
            // here): only the user's rules are left.
            _ if plain.unwrap_or_else(|| is_plain_log(&l.message)) => {
                self.user.classify(Source::Log, &l.message)
            }
            _ => {
                let c = self.classify_or_fallback(Source::Log, &l.message);
                // Only matches are remembered: most lines match nothing and differ anyway.
                if c.is_some() {
                    self.last_log = Some((l.message.clone(), c.clone()));
                }
                c
            }
        };
        let Some(c) = c else {
            return;
        };
        if c.severity == Severity::Info {
            return;
        }
        let mut block = Block::open(&l.group, &l.stream, &l.message, at, l.timestamp);
        if !block.held {
            // The line decides itself: flag it now; the lines after it only add evidence.
            let text = evidence_text(&l.message);
            block.flag = self.raise_log(c, at, l.timestamp, &l.group, &l.stream, text);
        }
        self.keep_block(block);
    }

    fn keep_block(&mut self, block: Block) {
        if let Some(oldest) = self.log_blocks.keep(block) {
            self.close_block(oldest);
        }
    }

    /// Closes blocks quiet for a while (a crash is usually the stream's last words).
    fn close_quiet_blocks(&mut self, now: DateTime<Utc>) {
        for block in self.log_blocks.quiet(now) {
            self.close_block(block);
        }
    }

    /// A closed block is one evidence item, classified by the lines that can decide it (not
    /// its frames): a held block raises its flag now; a block whose first line raised one
    /// gives that flag its whole text, and a more specific cause found further down (a
    /// `Caused by:`) raises that too.
    /// What a closed block says and its decisive line, or `None` when it says nothing: the
    /// block as a whole first, as some rules read a traceback's frames (`os.environ[…]` then
    /// `KeyError`). When that only says "a traceback", the newest line with a specific meaning
    /// decides (the deepest `Caused by:`).
    fn read_block(&self, block: &Block, whole: &str) -> Option<(Classification, String)> {
        let mut c = self
            .classify_or_fallback(Source::Log, whole)
            .filter(|c| c.severity != Severity::Info)?;
        if problems::is_summary_rule(c.rule)
            && let Some(specific) = block.decisive_candidates().find_map(|line| {
                self.classify_ranked(Source::Log, line)
                    .map(|(_, c)| c)
                    .filter(|c| c.severity != Severity::Info && !problems::is_summary_rule(c.rule))
            })
        {
            c = specific;
        }
        // The line shown first: the newest that says the same alone, else the newest that can
        // decide (a traceback's exception line).
        let decisive = block
            .decisive_candidates()
            .find(|l| {
                self.classify_ranked(Source::Log, l)
                    .is_some_and(|(_, x)| x.rule == c.rule)
            })
            .or_else(|| block.decisive_candidates().next())
            .or_else(|| block.lines.first().map(String::as_str))
            .unwrap_or_default()
            .to_string();
        Some((c, decisive))
    }

    fn close_block(&mut self, block: Block) {
        if block.lines.len() == 1 && !block.held {
            return;
        }
        // A crash loop prints the same traceback at every start, and reading one takes the
        // rules several passes: what a block says is kept by its text.
        let whole = block.lines.join("\n");
        let reading = match self.read_blocks.get(&whole) {
            Some(known) => known.clone(),
            None => {
                let reading = self.read_block(&block, &whole);
                self.read_blocks.insert(whole, reading.clone());
                reading
            }
        };
        let Some((c, decisive)) = reading else {
            return;
        };
        let text = evidence_text(&block.evidence(&decisive));
        let first = evidence_text(block.lines.first().map_or("", String::as_str));
        match &block.flag {
            Some(key) if key.0 == c.rule => {
                // The first line's sighting becomes the whole block's (other streams may
                // have counted the same first line meanwhile).
                if let Some(flag) = self.open.get_mut(key)
                    && let Some(i) = flag.evidence.iter().rposition(|e| e.text == first)
                {
                    self.open_rev += 1;
                    let mut whole = flag.evidence[i].clone();
                    whole.text = text;
                    whole.repeats = 1;
                    if flag.evidence[i].repeats > 1 {
                        flag.evidence[i].repeats -= 1;
                    } else {
                        flag.evidence.remove(i);
                    }
                    push_evidence(&mut flag.evidence, whole);
                    // The whole block says more than its first line (the package's name).
                    flag.summary = if flag.count > 1 {
                        let last_at = flag.evidence.back().map_or(flag.last_seen, |e| e.at);
                        tallied(&c.summary, flag.count, "lines", last_at)
                    } else {
                        c.summary
                    };
                }
            }
            _ => {
                self.raise_log(
                    c,
                    block.last_at,
                    block.timestamp,
                    &block.group,
                    &block.stream,
                    text,
                );
            }
        }
    }

    /// Raises a log flag on `group` with one evidence item; its key, unless muted.
    fn raise_log(
        &mut self,
        c: Classification,
        at: DateTime<Utc>,
        timestamp: DateTime<Utc>,
        group: &str,
        stream: &str,
        text: String,
    ) -> Option<FlagKey> {
        let evidence = Evidence::new(timestamp, Source::Log, stream.to_string(), text);
        let spec = FlagSpec {
            clock: None,
            rule: c.rule,
            severity: c.severity,
            source: Source::Log,
            scope: ["log:", group].concat(),
            subject: Subject::LogGroup(group.to_string()),
            summary: c.summary,
            next_step: c.next_step,
        };
        let key = (spec.rule, spec.scope.clone());
        self.raise(spec, at, evidence, "lines");
        self.open.contains_key(&key).then_some(key)
    }

    // ------------------------------------------------------------ flag bookkeeping

    /// Opens a flag, or bumps the open one with the same key (count, last_seen, evidence).
    fn raise(&mut self, spec: FlagSpec, at: DateTime<Utc>, evidence: Evidence, unit: &str) {
        if self.user.is_muted(spec.rule) {
            return;
        }
        let key: FlagKey = (spec.rule, spec.scope.clone());
        self.open_rev += 1;
        match self.open.get_mut(&key) {
            Some(flag) => {
                flag.count += 1;
                if at > flag.last_seen {
                    flag.last_seen = at;
                }
                let last_at = evidence.at;
                push_evidence(&mut flag.evidence, evidence);
                flag.summary = tallied(&spec.summary, flag.count, unit, last_at);
                flag.next_step = spec.next_step;
                if spec.severity > flag.severity {
                    flag.severity = spec.severity;
                    self.changes
                        .push(FlagChange::Opened(Box::new(flag.clone())));
                }
            }
            None => self.open_new(key, spec, at, vec![evidence], 1),
        }
    }

    fn open_new(
        &mut self,
        key: FlagKey,
        spec: FlagSpec,
        at: DateTime<Utc>,
        evidence: Vec<Evidence>,
        count: u64,
    ) {
        let mut ev = VecDeque::new();
        for e in evidence {
            push_evidence(&mut ev, e);
        }
        let flag = Flag {
            rule: spec.rule,
            severity: spec.severity,
            source: spec.source,
            resource: spec.subject.to_string(),
            subject: spec.subject,
            summary: spec.summary,
            clock: spec.clock,
            next_step: spec.next_step,
            evidence: ev,
            count,
            first_seen: at,
            last_seen: at,
            resolved_at: None,
            problem: None,
        };
        // (`open_rev` was bumped by the caller, `raise` or `set_state_flag`.)
        self.changes
            .push(FlagChange::Opened(Box::new(flag.clone())));
        self.open_stall += usize::from(is_stall_rule(key.0));
        self.open.insert(key, flag);
    }

    /// Opens or refreshes a state-rule flag: the summary follows the state; a higher
    /// severity re-emits `Opened`. `evidence` replaces the flag's evidence when given.
    fn set_state_flag(
        &mut self,
        spec: FlagSpec,
        now: DateTime<Utc>,
        evidence: Option<Vec<Evidence>>,
        count: Option<u64>,
    ) {
        if self.user.is_muted(spec.rule) {
            return;
        }
        let key: FlagKey = (spec.rule, spec.scope.clone());
        self.open_rev += 1;
        match self.open.get_mut(&key) {
            Some(flag) => {
                flag.summary = spec.summary;
                flag.clock = spec.clock;
                // One key may change subject: `cfn.root_cause` follows the root cause.
                if flag.subject != spec.subject {
                    flag.resource = spec.subject.to_string();
                    flag.subject = spec.subject;
                }
                flag.next_step = spec.next_step;
                if let Some(ev) = evidence {
                    let newest = |e: &Evidence| (e.at, e.text.clone());
                    let changed = ev.last().map(newest) != flag.evidence.back().map(newest);
                    if changed {
                        flag.last_seen = now;
                    }
                    flag.evidence.clear();
                    for e in ev {
                        push_evidence(&mut flag.evidence, e);
                    }
                }
                if let Some(count) = count {
                    flag.count = count;
                }
                if spec.severity > flag.severity {
                    flag.severity = spec.severity;
                    flag.last_seen = now;
                    self.changes
                        .push(FlagChange::Opened(Box::new(flag.clone())));
                }
            }
            None => self.open_new(
                key,
                spec,
                now,
                evidence.unwrap_or_default(),
                count.unwrap_or(1),
            ),
        }
    }

    fn resolve(&mut self, key: &FlagKey, now: DateTime<Utc>) {
        let Some(mut flag) = self.open.remove(key) else {
            return;
        };
        self.open_stall -= usize::from(is_stall_rule(key.0));
        self.open_rev += 1;
        flag.resolved_at = Some(now);
        // Its clock stops where its rule last held: the tick before this one.
        flag.stop_clock(self.last_tick.unwrap_or(now));
        self.changes
            .push(FlagChange::Resolved(Box::new(flag.clone())));
        if self.resolved.len() >= self.config.resolved_cap.max(1) {
            self.resolved.pop_front();
        }
        self.resolved.push_back(flag);
    }

    /// The flag of `rule` about `prefix` + `name` (`svc:` + a service) is open. Looked up
    /// without building a key: the rules ask on every tick.
    fn is_open(&self, rule: &'static str, prefix: &str, name: &str) -> bool {
        let key = flag_key::KeyRef { rule, prefix, name };
        self.open.contains_key(&key as &dyn flag_key::KeyParts)
    }

    /// The open flag of `rule` for `scope`, found without building a key.
    fn open_flag(&self, rule: &'static str, scope: &str) -> Option<&Flag> {
        let key = flag_key::KeyRef {
            rule,
            prefix: scope,
            name: "",
        };
        self.open.get(&key as &dyn flag_key::KeyParts)
    }

    /// Keys of open flags that match `pred`.
    fn open_keys(&self, pred: impl Fn(&FlagKey, &Flag) -> bool) -> Vec<FlagKey> {
        self.open
            .iter()
            .filter(|(k, f)| pred(k, f))
            .map(|(k, _)| k.clone())
            .collect()
    }
}

/// The rules the stall rules raise (`stall.resource`, `stall.signal_countdown`).
fn is_stall_rule(rule: &str) -> bool {
    rule.starts_with("stall.")
}

/// Classifications by text, with the source each was made for.
#[derive(Debug, Clone, Default)]
struct ClassifiedTexts(HashMap<String, (Source, Option<(usize, Classification)>)>);

/// Texts remembered, and the longest one remembered.
const CLASSIFIED_CAP: usize = 1024;
const CLASSIFIED_TEXT_MAX: usize = 1024;

impl ClassifiedTexts {
    fn get(&self, source: Source, text: &str) -> Option<&Option<(usize, Classification)>> {
        self.0
            .get(text)
            .filter(|(s, _)| *s == source)
            .map(|(_, c)| c)
    }

    fn insert(&mut self, source: Source, text: &str, c: Option<(usize, Classification)>) {
        if self.0.len() >= CLASSIFIED_CAP {
            self.0.clear();
        }
        self.0.insert(text.to_string(), (source, c));
    }
}

/// What closed blocks said ([`Detector::read_block`]), by their whole text. Bounded: emptied
/// when full, and a text longer than [`READ_BLOCK_TEXT_MAX`] is not kept.
#[derive(Debug, Clone, Default)]
struct ReadBlocks(HashMap<String, Option<(Classification, String)>>);

const READ_BLOCKS_CAP: usize = 64;
const READ_BLOCK_TEXT_MAX: usize = 16 * 1024;

impl ReadBlocks {
    fn get(&self, whole: &str) -> Option<&Option<(Classification, String)>> {
        self.0.get(whole)
    }

    fn insert(&mut self, whole: String, reading: Option<(Classification, String)>) {
        if whole.len() > READ_BLOCK_TEXT_MAX {
            return;
        }
        if self.0.len() >= READ_BLOCKS_CAP {
            self.0.clear();
        }
        self.0.insert(whole, reading);
    }
}

/// A bounded set of ids: the oldest are forgotten past `SEEN_CAP`. Kept as 64-bit hashes (a
/// flat table of numbers; a false repeat needs two ids of the window to collide).
#[derive(Debug, Clone, Default)]
struct SeenIds(crate::model::RecentKeys<u64>);

impl SeenIds {
    /// True when the id written by `key` is new.
    fn insert_keyed(&mut self, key: std::fmt::Arguments) -> bool {
        use std::hash::Hasher;
        // Written straight into the hasher: the id is never built as a string.
        struct Hashing(std::hash::DefaultHasher);
        impl std::fmt::Write for Hashing {
            fn write_str(&mut self, s: &str) -> std::fmt::Result {
                self.0.write(s.as_bytes());
                Ok(())
            }
        }
        let mut hashing = Hashing(std::hash::DefaultHasher::new());
        let _ = std::fmt::Write::write_fmt(&mut hashing, key);
        self.0.insert(hashing.0.finish(), SEEN_CAP)
    }
}

impl Detector {
    /// The rule table's classification, else the user's rules' (ranked after the whole
    /// table), else `None`.
    fn classify_ranked(&self, source: Source, text: &str) -> Option<(usize, Classification)> {
        // Stop reasons and stack event reasons repeat (a crash loop stops tasks with the same
        // reason hundreds of times): the captures are taken once per text.
        let cached = source != Source::Log && text.len() <= CLASSIFIED_TEXT_MAX;
        if cached && let Some(hit) = self.classified.borrow().get(source, text) {
            return hit.clone();
        }
        let c = classify_ranked(source, text).or_else(|| {
            self.user
                .classify(source, text)
                .map(|c| (text_rules::RULES.len(), c))
        });
        if cached {
            self.classified.borrow_mut().insert(source, text, c.clone());
        }
        c
    }

    /// The rule table's (then the user's rules') classification, else the fallback's
    /// `unknown` for a message that reads like a failure (no silent errors), else `None`.
    fn classify_or_fallback(&self, source: Source, text: &str) -> Option<Classification> {
        match self.classify_ranked(source, text) {
            Some((_, c)) => Some(c),
            None => fallback(source, text),
        }
    }
}

/// Adds the newest evidence; the same text seen before moves to the end with its count.
fn push_evidence(evidence: &mut VecDeque<Evidence>, mut e: Evidence) {
    if let Some(i) = evidence
        .iter()
        .position(|old| old.text == e.text && old.source == e.source)
        && let Some(old) = evidence.remove(i)
    {
        e.repeats = e.repeats.saturating_add(old.repeats);
    }
    if evidence.len() >= EVIDENCE_CAP {
        evidence.pop_front();
    }
    evidence.push_back(e);
}

/// A repeated flag's summary: `… (8 lines, last at 09:11:57)`.
fn tallied(summary: &str, count: u64, unit: &str, last_at: DateTime<Utc>) -> String {
    use chrono::Timelike;
    // As `%H:%M:%S` writes it (a leap second reads :60), without parsing that pattern each time.
    let second = last_at.second() + u32::from(last_at.nanosecond() >= 1_000_000_000);
    format!(
        "{summary} ({count} {unit}, last at {:02}:{:02}:{second:02})",
        last_at.hour(),
        last_at.minute(),
    )
}

fn evidence_text(text: &str) -> String {
    let kept = crate::model::byte_prefix(text, EVIDENCE_TEXT_MAX);
    if kept.len() == text.len() {
        text.to_string()
    } else {
        format!("{kept}…")
    }
}

/// The service a task belongs to, else its task definition family (as its owner scope).
fn task_subject(t: &EcsTask) -> Subject {
    match t.service_name() {
        Some(s) => Subject::Service(s.to_string()),
        None => Subject::TaskFamily(t.family().to_string()),
    }
}

/// `16m 05s`, `45s`, `10m`, `1h 02m`.
pub(crate) fn fmt_duration(secs: i64) -> String {
    let secs = secs.max(0);
    let (h, m, s) = (secs / 3600, (secs % 3600) / 60, secs % 60);
    if h > 0 {
        format!("{h}h {m:02}m")
    } else if m > 0 && s > 0 {
        format!("{m}m {s:02}s")
    } else if m > 0 {
        format!("{m}m")
    } else {
        format!("{s}s")
    }
}
