// The ignored timing probes below read the wall clock; the rules under test never do.
#![allow(clippy::disallowed_methods)]

use super::*;

/// Real messages labelled with their rule ids, each with its source link.
const CORPUS: &str = include_str!("../../tests/data/signals-known.jsonl");
/// A written example for each rule the corpus has no real message for (the rules document).
const RULE_EXAMPLES: &str = include_str!("../../tests/data/rule-examples.jsonl");
/// The ids stackwatch promises: a rule dropped from the code fails a test.
const PROMISED_IDS: &str = include_str!("../../tests/data/rule-ids.txt");

fn source_of(name: &str) -> Source {
    match name {
        "cfn" => Source::Cfn,
        "ecs-task" => Source::EcsTask,
        "ecs-service" => Source::EcsService,
        "elb" => Source::Elb,
        "log" => Source::Log,
        "api" => Source::Api,
        other => panic!("unknown source {other}"),
    }
}

#[test]
fn corpus_known_lines_get_their_rule() {
    let implemented: std::collections::HashSet<&str> = rule_ids().collect();
    let (mut total, mut matched) = (0, 0);
    let mut corpus_matched = 0;
    let corpus_total = CORPUS.lines().filter(|l| !l.trim().is_empty()).count();
    let mut failures = Vec::new();
    for line in CORPUS.lines().chain(RULE_EXAMPLES.lines()) {
        if line.trim().is_empty() {
            continue;
        }
        let v: serde_json::Value = serde_json::from_str(line).expect("corpus line is JSON");
        let source = source_of(v["source"].as_str().unwrap());
        let text = v["text"].as_str().unwrap();
        let expect = v["expect"].as_str().unwrap();
        // Every label is a rule the table has, or `unknown` (no rule): no line is skipped.
        assert!(
            expect == "unknown" || implemented.contains(expect),
            "{expect} is labelled in tests/data but not implemented"
        );
        total += 1;
        let got = classify(source, text);
        let got_id = got.as_ref().map_or("unknown", |c| c.rule);
        if got_id == expect {
            matched += 1;
            if total <= corpus_total {
                corpus_matched += 1;
            }
            if let Some(c) = got {
                assert!(!c.summary.is_empty() && !c.next_step.is_empty());
            }
        } else {
            failures.push(format!("{expect} <- got {got_id}: {text}"));
        }
    }
    println!(
        "known corpus: {corpus_matched}/{corpus_total} labelled correctly; with the written examples {matched}/{total}"
    );
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
#[ignore]
fn print_corpus_summaries() {
    for line in CORPUS.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let c = classify(
            source_of(v["source"].as_str().unwrap()),
            v["text"].as_str().unwrap(),
        );
        println!(
            "{:40} | {}",
            c.as_ref().map_or("-", |c| c.rule),
            c.map(|c| c.summary).unwrap_or_default()
        );
    }
}

// ---------------------------------------------------------------- detector scenarios

use chrono::{TimeDelta, TimeZone};

use crate::model::{
    CfnEvent, CfnResource, EcsContainer, EcsDeployment, EcsService, EcsServiceEvent, EcsTask,
    LogEvent, Observation, SignalPolicy, StoreCaps, TargetHealth,
};
use crate::pipeline::{Pipeline, Prepared};

fn t(secs: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 12, 0, 0).unwrap() + TimeDelta::seconds(secs)
}

struct Sim {
    p: Pipeline,
    changes: Vec<FlagChange>,
    last_tick: Option<i64>,
}

/// Drives a pipeline like replay does: observations in time order, a tick every virtual second
/// in between (a fake clock, no sleeps).
impl Sim {
    fn new() -> Self {
        Sim {
            p: Pipeline::new(StoreCaps::default()),
            changes: Vec::new(),
            last_tick: None,
        }
    }
    /// The pipeline ticks up to `secs`, then ingests.
    fn feed(&mut self, secs: i64, kind: impl Into<crate::model::ObservationKind>) {
        let mut changes = Vec::new();
        self.p.feed(&Observation::new(t(secs), kind), &mut changes);
        self.keep(changes);
        self.last_tick = Some(self.last_tick.map_or(secs, |l| l.max(secs)));
    }
    fn tick(&mut self, secs: i64) {
        let mut changes = Vec::new();
        self.p.advance_to(t(secs), &mut changes);
        self.keep(changes);
        self.last_tick = Some(self.last_tick.map_or(secs, |l| l.max(secs)));
    }
    fn keep(&mut self, changes: Vec<crate::pipeline::Change>) {
        self.changes
            .extend(changes.into_iter().filter_map(|c| match c {
                crate::pipeline::Change::Flag { change, .. } => Some(change),
                crate::pipeline::Change::Row(_) => None,
            }));
    }
    /// Ticks every second from `from` to `to` inclusive, skipping seconds already ticked.
    fn run(&mut self, from: i64, to: i64) {
        let from = self.last_tick.map_or(from, |l| from.max(l + 1));
        for s in from..=to {
            self.tick(s);
        }
    }
    fn flag(&self, rule: &str) -> Option<&Flag> {
        self.p
            .detector
            .open_flags()
            .into_iter()
            .find(|f| f.rule == rule)
    }
    fn opened(&self, rule: &str) -> Vec<&Flag> {
        self.changes
            .iter()
            .filter_map(|c| match c {
                FlagChange::Opened(f) if f.rule == rule => Some(&**f),
                _ => None,
            })
            .collect()
    }
    fn resolved(&self, rule: &str) -> Vec<&Flag> {
        self.changes
            .iter()
            .filter_map(|c| match c {
                FlagChange::Resolved(f) if f.rule == rule => Some(&**f),
                _ => None,
            })
            .collect()
    }
}

fn cfn_event(
    stack: &str,
    logical: &str,
    rtype: &str,
    status: &str,
    reason: Option<&str>,
    ts: i64,
) -> CfnEvent {
    let stack_id = format!("arn:aws:cloudformation:eu-west-1:1:stack/{stack}/id");
    let is_stack = rtype == "AWS::CloudFormation::Stack" && stack.ends_with(logical);
    CfnEvent {
        stack: stack.to_string(),
        stack_id: stack_id.clone(),
        event_id: format!("{logical}-{status}-{ts}"),
        logical_id: logical.to_string(),
        physical_id: Some(if is_stack {
            stack_id
        } else {
            format!("phys-{logical}")
        }),
        resource_type: rtype.to_string(),
        status: status.to_string(),
        reason: reason.map(str::to_string),
        timestamp: t(ts),
    }
}

fn stack_row(stack: &str, status: &str, reason: Option<&str>, ts: i64) -> CfnEvent {
    let name = stack.rsplit('/').next().unwrap();
    cfn_event(
        stack,
        name,
        "AWS::CloudFormation::Stack",
        status,
        reason,
        ts,
    )
}

fn task(id: &str, service: &str, status: &str) -> EcsTask {
    EcsTask {
        cluster: "prod".into(),
        task_arn: format!("arn:aws:ecs:eu-west-1:1:task/prod/{id}"),
        group: Some(format!("service:{service}")),
        task_definition: "arn:aws:ecs:eu-west-1:1:task-definition/payments:7".into(),
        last_status: status.into(),
        desired_status: if status == "RUNNING" {
            "RUNNING"
        } else {
            "STOPPED"
        }
        .into(),
        stop_code: None,
        stopped_reason: None,
        containers: Vec::new(),
        created_at: None,
        started_at: None,
        stopped_at: None,
        private_ip: None,
    }
}

fn stopped(id: &str, service: &str, reason: &str, at: i64) -> EcsTask {
    EcsTask {
        stop_code: Some("TaskFailedToStart".into()),
        stopped_reason: Some(reason.into()),
        stopped_at: Some(t(at)),
        ..task(id, service, "STOPPED")
    }
}

fn crashed(id: &str, service: &str, started: i64, at: i64) -> EcsTask {
    EcsTask {
        stop_code: Some("EssentialContainerExited".into()),
        stopped_reason: Some("Essential container in task exited".into()),
        started_at: Some(t(started)),
        stopped_at: Some(t(at)),
        containers: vec![EcsContainer {
            name: "app".into(),
            last_status: "STOPPED".into(),
            exit_code: Some(1),
            reason: None,
        }],
        ..task(id, service, "STOPPED")
    }
}

fn running(id: &str, service: &str, started: i64) -> EcsTask {
    EcsTask {
        started_at: Some(t(started)),
        ..task(id, service, "RUNNING")
    }
}

fn service(name: &str, desired: u32, running: u32) -> EcsService {
    EcsService {
        cluster: "prod".into(),
        service: name.into(),
        arn: None,
        status: "ACTIVE".into(),
        desired,
        running,
        pending: 0,
        task_definition: None,
        deployments: Vec::new(),
    }
}

fn target(
    tg: &str,
    id: &str,
    state: &str,
    reason: Option<&str>,
    desc: Option<&str>,
) -> TargetHealth {
    TargetHealth {
        target_group: tg.into(),
        target_id: id.into(),
        port: Some(8080),
        state: state.into(),
        reason: reason.map(str::to_string),
        description: desc.map(str::to_string),
    }
}

fn log(group: &str, message: &str, ts: i64) -> LogEvent {
    LogEvent {
        group: group.into(),
        stream: "ecs/app/abc".into(),
        timestamp: t(ts),
        message: message.into(),
        event_id: None,
    }
}

const EFS_TIMEOUT: &str = "ResourceInitializationError: failed to invoke EFS utils commands to set up EFS volumes: stderr: Failed to mount fs-0abc1234def56789:/ : mount.nfs4: Connection timed out : unsuccessful EFS utils command execution; code: 32";

#[test]
fn fifty_tasks_with_one_cause_make_one_flag() {
    let mut sim = Sim::new();
    for i in 0..50 {
        let id = format!("task{i}");
        sim.feed(i * 10, stopped(&id, "payments-api", EFS_TIMEOUT, i * 10));
        // Every poll returns the stopped task again: it counts once.
        sim.feed(
            i * 10 + 5,
            stopped(&id, "payments-api", EFS_TIMEOUT, i * 10),
        );
    }
    let flags = sim.p.detector.open_flags();
    assert_eq!(flags.len(), 1, "{flags:#?}");
    let f = flags[0];
    assert_eq!(f.rule, "ecs.efs_mount_network");
    assert_eq!(f.count, 50);
    assert_eq!(f.subject, Subject::Service("payments-api".into()));
    assert_eq!(f.resource, "service payments-api");
    // One reason fifty times is one evidence item with its count.
    assert_eq!(f.evidence.len(), 1);
    assert_eq!(f.evidence[0].repeats, 50);
    assert_eq!(f.evidence.back().unwrap().resource, "task49");
    assert!(
        f.summary.contains("50 tasks, last at 12:08:10"),
        "{}",
        f.summary
    );
    assert!(
        f.summary.starts_with("EFS mount of fs-0abc1234def56789 failed: NFS port 2049 unreachable (Connection timed out)"),
        "{}",
        f.summary
    );
    assert_eq!(sim.opened("ecs.efs_mount_network").len(), 1);
}

#[test]
fn task_start_flag_resolves_once_a_newer_task_starts() {
    let mut sim = Sim::new();
    sim.feed(0, stopped("a", "payments-api", EFS_TIMEOUT, 0));
    sim.tick(1);
    assert!(sim.flag("ecs.efs_mount_network").is_some());
    // An older task still running does not count.
    sim.feed(2, running("old", "payments-api", -600));
    sim.run(2, 100);
    assert!(sim.flag("ecs.efs_mount_network").is_some());
    // A newer task got past the mount: the start failure is fixed, even if it crashes later.
    sim.feed(100, running("b", "payments-api", 100));
    sim.tick(100);
    assert!(sim.flag("ecs.efs_mount_network").is_none());
    let resolved = sim.resolved("ecs.efs_mount_network");
    assert_eq!(resolved.len(), 1);
    assert_eq!(resolved[0].resolved_at, Some(t(100)));
    assert_eq!(sim.p.detector.resolved_flags().count(), 1);
}

#[test]
fn post_start_flag_resolves_only_once_tasks_stay_up() {
    let mut sim = Sim::new();
    let mut crashed = stopped("a", "payments-api", "Essential container in task exited", 0);
    crashed.stop_code = Some("EssentialContainerExited".into());
    crashed.started_at = Some(t(-20));
    sim.feed(0, crashed);
    sim.tick(1);
    assert!(sim.flag("ecs.essential_exited").is_some());
    let mut svc = service("payments-api", 2, 2);
    svc.deployments.push(EcsDeployment {
        id: "ecs-svc/1".into(),
        status: "PRIMARY".into(),
        task_definition: "payments:7".into(),
        desired: 2,
        running: 2,
        pending: 0,
        failed_tasks: 0,
        rollout_state: Some("IN_PROGRESS".into()),
        rollout_state_reason: None,
        created_at: t(-60),
        updated_at: None,
    });
    sim.feed(10, running("b", "payments-api", 10));
    sim.feed(10, running("c", "payments-api", 10));
    sim.feed(11, svc);
    // "2/2 running" alone is not a fix: crashing apps read like that between crashes.
    sim.run(11, 129);
    assert!(
        sim.flag("ecs.essential_exited").is_some(),
        "not up long enough"
    );
    sim.run(130, 131);
    assert!(sim.flag("ecs.essential_exited").is_none());
}

#[test]
fn user_and_scaling_stops_do_not_flag() {
    let mut sim = Sim::new();
    let mut user = stopped("u", "payments-api", "drill", 0);
    user.stop_code = Some("UserInitiated".into());
    sim.feed(0, user);
    sim.feed(
        1,
        stopped(
            "s",
            "payments-api",
            "Scaling activity initiated by (deployment ecs-svc/123)",
            1,
        ),
    );
    sim.run(0, 5);
    assert!(sim.p.detector.open_flags().is_empty());
}

#[test]
fn container_reason_beats_generic_stop_reason() {
    let mut sim = Sim::new();
    let mut task = crashed("a", "payments-api", 0, 30);
    task.containers[0].reason =
        Some("OutOfMemoryError: Container killed due to memory usage".into());
    task.containers[0].exit_code = Some(137);
    sim.feed(30, task);
    assert!(sim.flag("ecs.oom").is_some());
    assert!(sim.flag("ecs.essential_exited").is_none());
}

#[test]
fn essential_exit_summary_names_the_exit_code() {
    let mut sim = Sim::new();
    sim.feed(30, crashed("a", "payments-api", 0, 30));
    let f = sim.flag("ecs.essential_exited").unwrap();
    assert!(f.summary.contains("app exit 1"), "{}", f.summary);
}

fn key(stack: &str, logical_id: &str) -> ResourceKey {
    ResourceKey {
        stack: stack.into(),
        logical_id: logical_id.into(),
    }
}

fn ecs_service_resource(sim: &mut Sim, secs: i64) {
    sim.feed(
        secs,
        cfn_event(
            "payments",
            "ApiService",
            "AWS::ECS::Service",
            "CREATE_IN_PROGRESS",
            Some("Resource creation Initiated"),
            secs,
        ),
    );
}

#[test]
fn stall_resource_warns_then_errors_then_resolves() {
    let mut sim = Sim::new();
    ecs_service_resource(&mut sim, 0);
    sim.run(0, 15 * 60 - 1);
    assert!(sim.flag("stall.resource").is_none());
    sim.tick(15 * 60);
    let f = sim.flag("stall.resource").unwrap();
    assert_eq!(f.severity, Severity::Warn);
    assert_eq!(f.subject, Subject::Resource(key("payments", "ApiService")));
    assert_eq!(f.resource, "payments/ApiService");
    sim.tick(16 * 60 + 5);
    let f = sim.flag("stall.resource").unwrap();
    assert_eq!(
        f.summary_at(t(16 * 60 + 5)),
        "ApiService (AWS::ECS::Service) CREATE_IN_PROGRESS for 16m 05s (usually 2–10 min)"
    );
    sim.run(16 * 60 + 6, 30 * 60);
    let opened = sim.opened("stall.resource");
    assert_eq!(opened.len(), 2, "warn, then the escalation to error");
    assert_eq!(opened[1].severity, Severity::Error);
    sim.feed(
        30 * 60 + 10,
        cfn_event(
            "payments",
            "ApiService",
            "AWS::ECS::Service",
            "CREATE_COMPLETE",
            None,
            30 * 60 + 10,
        ),
    );
    sim.tick(30 * 60 + 11);
    assert!(sim.flag("stall.resource").is_none());
    assert_eq!(sim.resolved("stall.resource").len(), 1);
}

#[test]
fn healthy_sequence_raises_nothing() {
    let mut sim = Sim::new();
    let steady = EcsServiceEvent {
        cluster: "prod".into(),
        service: "payments-api".into(),
        id: "e1".into(),
        created_at: t(301),
        message: "(service payments-api) has reached a steady state.".into(),
    };
    let host = CfnResource {
        stack: "payments".into(),
        logical_id: "Host".into(),
        physical_id: None,
        resource_type: "AWS::EC2::Instance".into(),
        status: None,
        signal: Some(SignalPolicy {
            count: 1,
            timeout_s: 600,
        }),
    };
    let mut svc = service("payments-api", 1, 0);
    svc.deployments.push(EcsDeployment {
        id: "ecs-svc/1".into(),
        status: "PRIMARY".into(),
        task_definition: "payments:7".into(),
        desired: 1,
        running: 0,
        pending: 1,
        failed_tasks: 0,
        rollout_state: Some("IN_PROGRESS".into()),
        rollout_state_reason: Some("ECS deployment ecs-svc/1 in progress.".into()),
        created_at: t(1),
        updated_at: None,
    });
    let tg_state = |state: &str, reason: Option<&str>, desc: Option<&str>| {
        target("payments-api-tg", "10.0.0.1", state, reason, desc)
    };
    let s3 = "AWS::S3::Bucket";
    let ec2 = "AWS::EC2::Instance";
    let ecs = "AWS::ECS::Service";

    sim.feed(
        0,
        stack_row("payments", "CREATE_IN_PROGRESS", Some("User Initiated"), 0),
    );
    ecs_service_resource(&mut sim, 1);
    sim.feed(
        2,
        cfn_event("payments", "Bucket", s3, "CREATE_IN_PROGRESS", None, 2),
    );
    sim.feed(3, host);
    sim.feed(
        3,
        cfn_event("payments", "Host", ec2, "CREATE_IN_PROGRESS", None, 3),
    );
    sim.feed(5, svc.clone());
    sim.feed(
        30,
        cfn_event("payments", "Bucket", s3, "CREATE_COMPLETE", None, 30),
    );
    sim.feed(60, running("a", "payments-api", 55));
    svc.running = 1;
    svc.deployments[0].running = 1;
    svc.deployments[0].pending = 0;
    sim.feed(61, svc.clone());
    sim.feed(
        62,
        tg_state(
            "initial",
            Some("Elb.RegistrationInProgress"),
            Some("Target registration is in progress"),
        ),
    );
    sim.feed(
        63,
        tg_state(
            "initial",
            Some("Elb.InitialHealthChecking"),
            Some("Initial health checks in progress"),
        ),
    );
    sim.feed(64, log("/ecs/payments-api", "listening on :8080", 64));
    let signal = Some("Received SUCCESS signal with UniqueId i-0abc");
    sim.feed(
        200,
        cfn_event("payments", "Host", ec2, "CREATE_IN_PROGRESS", signal, 200),
    );
    sim.feed(
        201,
        cfn_event("payments", "Host", ec2, "CREATE_COMPLETE", None, 201),
    );
    sim.feed(210, tg_state("healthy", None, None));
    svc.deployments[0].rollout_state = Some("COMPLETED".into());
    svc.deployments[0].rollout_state_reason = Some("ECS deployment ecs-svc/1 completed.".into());
    sim.feed(250, svc);
    let consistency = Some("Eventual consistency check initiated");
    sim.feed(
        300,
        cfn_event(
            "payments",
            "ApiService",
            ecs,
            "CREATE_IN_PROGRESS",
            consistency,
            300,
        ),
    );
    sim.feed(301, steady);
    sim.feed(
        420,
        cfn_event("payments", "ApiService", ecs, "CREATE_COMPLETE", None, 420),
    );
    sim.feed(421, stack_row("payments", "CREATE_COMPLETE", None, 421));
    sim.run(422, 3600);
    assert_eq!(sim.last_tick, Some(3600));
    assert!(sim.changes.is_empty(), "{:#?}", sim.changes);
}

#[test]
fn nested_stacks_and_signalled_resources_are_not_stalls() {
    let mut sim = Sim::new();
    sim.feed(
        0,
        cfn_event(
            "payments",
            "Storage",
            "AWS::CloudFormation::Stack",
            "CREATE_IN_PROGRESS",
            None,
            0,
        ),
    );
    sim.feed(
        0,
        CfnResource {
            stack: "payments".into(),
            logical_id: "Host".into(),
            physical_id: None,
            resource_type: "AWS::EC2::Instance".into(),
            status: None,
            signal: Some(SignalPolicy {
                count: 1,
                timeout_s: 7200,
            }),
        },
    );
    sim.feed(
        0,
        cfn_event(
            "payments",
            "Host",
            "AWS::EC2::Instance",
            "CREATE_IN_PROGRESS",
            None,
            0,
        ),
    );
    sim.tick(30 * 60);
    assert!(sim.flag("stall.resource").is_none());
}

#[test]
fn signal_countdown_warns_at_half_errors_at_eighty_percent_and_resolves() {
    let mut sim = Sim::new();
    sim.feed(
        0,
        CfnResource {
            stack: "payments".into(),
            logical_id: "MigrationHost".into(),
            physical_id: None,
            resource_type: "AWS::EC2::Instance".into(),
            status: None,
            signal: Some(SignalPolicy {
                count: 1,
                timeout_s: 600,
            }),
        },
    );
    sim.feed(
        0,
        cfn_event(
            "payments",
            "MigrationHost",
            "AWS::EC2::Instance",
            "CREATE_IN_PROGRESS",
            None,
            0,
        ),
    );
    sim.run(0, 299);
    assert!(sim.flag("stall.signal_countdown").is_none());
    sim.tick(300);
    let f = sim.flag("stall.signal_countdown").unwrap();
    assert_eq!(f.severity, Severity::Warn);
    assert_eq!(
        f.summary_at(t(300)),
        "MigrationHost waits for 1 signal: 5m left of 10m"
    );
    sim.tick(408);
    let f = sim.flag("stall.signal_countdown").unwrap();
    assert_eq!(
        f.summary_at(t(408)),
        "MigrationHost waits for 1 signal: 3m 12s left of 10m"
    );
    assert_eq!(
        sim.opened("stall.signal_countdown").len(),
        1,
        "summary updates are silent"
    );
    sim.tick(480);
    assert_eq!(
        sim.flag("stall.signal_countdown").unwrap().severity,
        Severity::Error
    );
    sim.feed(
        500,
        cfn_event(
            "payments",
            "MigrationHost",
            "AWS::EC2::Instance",
            "CREATE_IN_PROGRESS",
            Some("Received SUCCESS signal with UniqueId i-0abc"),
            500,
        ),
    );
    sim.feed(
        501,
        cfn_event(
            "payments",
            "MigrationHost",
            "AWS::EC2::Instance",
            "CREATE_COMPLETE",
            None,
            501,
        ),
    );
    sim.tick(502);
    assert!(sim.flag("stall.signal_countdown").is_none());
    assert_eq!(sim.resolved("stall.signal_countdown").len(), 1);
    assert!(sim.flag("stall.resource").is_none());
}

#[test]
fn crash_loop_fires_on_third_stop_in_window_and_resolves() {
    let mut sim = Sim::new();
    sim.feed(0, service("payments-api", 1, 0));
    sim.feed(60, crashed("a", "payments-api", 30, 60));
    sim.feed(180, crashed("b", "payments-api", 150, 180));
    sim.run(0, 299);
    assert!(
        sim.flag("ecs.crash_loop").is_none(),
        "two stops are not a loop"
    );
    sim.feed(300, crashed("c", "payments-api", 270, 300));
    sim.tick(300);
    let f = sim.flag("ecs.crash_loop").unwrap();
    assert_eq!(f.severity, Severity::Error);
    assert_eq!(f.subject, Subject::Service("payments-api".into()));
    assert_eq!(f.count, 3);
    // Three stops with one reason: one evidence item, counted.
    assert_eq!(f.evidence.len(), 1);
    assert_eq!(f.evidence[0].repeats, 3);
    assert!(
        f.evidence[0].text.contains("app exit 1"),
        "{:?}",
        f.evidence
    );
    // The service recovers; the flag stays until the window holds no stop.
    sim.feed(320, running("d", "payments-api", 310));
    sim.feed(321, service("payments-api", 1, 1));
    sim.run(301, 899);
    assert!(sim.flag("ecs.crash_loop").is_some());
    sim.run(900, 901);
    assert!(sim.flag("ecs.crash_loop").is_none());
    assert_eq!(sim.resolved("ecs.crash_loop").len(), 1);
}

#[test]
fn spot_interruptions_are_not_a_crash_loop() {
    let mut sim = Sim::new();
    for (i, id) in ["a", "b", "c", "d"].iter().enumerate() {
        let at = 60 * (i as i64 + 1);
        let mut task = crashed(id, "payments-api", at - 30, at);
        task.stop_code = Some("SpotInterruption".into());
        task.stopped_reason = Some("Your Spot Task was interrupted.".into());
        sim.feed(at, task);
    }
    sim.tick(300);
    assert!(sim.flag("ecs.crash_loop").is_none());
    let f = sim.flag("ecs.spot_interruption").unwrap();
    assert_eq!((f.severity, f.count), (Severity::Warn, 4));
}

#[test]
fn stops_spread_beyond_the_window_are_not_a_crash_loop() {
    let mut sim = Sim::new();
    sim.feed(0, crashed("a", "payments-api", 0, 0));
    sim.run(0, 400);
    sim.feed(400, crashed("b", "payments-api", 390, 400));
    sim.run(400, 800);
    sim.feed(800, crashed("c", "payments-api", 790, 800));
    sim.run(800, 900);
    assert!(sim.flag("ecs.crash_loop").is_none());
}

fn failed_nested_update(sim: &mut Sim) {
    sim.feed(
        0,
        stack_row("payments", "UPDATE_IN_PROGRESS", Some("User Initiated"), 0),
    );
    sim.feed(
        10,
        cfn_event(
            "payments/Storage",
            "Database",
            "AWS::RDS::DBInstance",
            "UPDATE_FAILED",
            Some("Internal Failure"),
            40,
        ),
    );
    sim.feed(
        11,
        cfn_event(
            "payments/Storage",
            "FileSystem",
            "AWS::EFS::FileSystem",
            "UPDATE_FAILED",
            Some("Resource handler returned message: \"User: arn:aws:sts::1:assumed-role/deploy is not authorized to perform: elasticfilesystem:UpdateFileSystem\" (RequestToken: 6c1d7a2e-0000-0000-0000-000000000000, HandlerErrorCode: AccessDenied)"),
            40,
        ),
    );
    sim.feed(
        12,
        cfn_event(
            "payments/Storage",
            "Queue",
            "AWS::SQS::Queue",
            "UPDATE_FAILED",
            Some("Resource update cancelled"),
            41,
        ),
    );
    sim.feed(
        13,
        cfn_event(
            "payments",
            "Storage",
            "AWS::CloudFormation::Stack",
            "UPDATE_FAILED",
            Some("Embedded stack arn:aws:cloudformation:eu-west-1:1:stack/payments-Storage-1X2Y/abc was not successfully updated. Currently in UPDATE_ROLLBACK_IN_PROGRESS with reason: The following resource(s) failed to update: [FileSystem, Database]."),
            45,
        ),
    );
    sim.feed(
        14,
        stack_row(
            "payments",
            "UPDATE_ROLLBACK_IN_PROGRESS",
            Some("The following resource(s) failed to update: [Storage]."),
            46,
        ),
    );
}

#[test]
fn root_cause_follows_nested_stacks_and_skips_cascades() {
    let mut sim = Sim::new();
    failed_nested_update(&mut sim);
    sim.tick(15);
    let f = sim.flag("cfn.root_cause").unwrap();
    assert_eq!(f.severity, Severity::Error);
    assert_eq!(
        f.subject,
        Subject::Resource(key("payments/Storage", "FileSystem"))
    );
    assert_eq!(f.resource, "payments/Storage/FileSystem");
    assert!(
        f.summary.starts_with(
            "payments/Storage/FileSystem (AWS::EFS::FileSystem): Resource handler returned message"
        ),
        "{}",
        f.summary
    );
    assert!(f.next_step.contains("permission"), "{}", f.next_step);
    // The text flags: the access denial, the internal failure; not the cascade or summaries.
    assert!(sim.flag("cfn.access_denied").is_some());
    assert!(sim.flag("cfn.internal_failure").is_some());
    assert!(sim.flag("cfn.cascade_cancelled").is_none());
    assert!(sim.flag("cfn.nested_stack_failed").is_none());
    assert!(sim.flag("cfn.resources_failed_summary").is_none());

    sim.feed(
        100,
        stack_row("payments", "UPDATE_ROLLBACK_COMPLETE", None, 100),
    );
    sim.tick(101);
    let rb = sim.flag("deploy.rolled_back").unwrap();
    assert_eq!(rb.severity, Severity::Error);
    assert_eq!(rb.subject, Subject::Stack("payments".into()));

    // A new operation: everything about the old one resolves.
    sim.feed(
        200,
        stack_row(
            "payments",
            "UPDATE_IN_PROGRESS",
            Some("User Initiated"),
            200,
        ),
    );
    sim.tick(201);
    for rule in [
        "cfn.root_cause",
        "deploy.rolled_back",
        "cfn.access_denied",
        "cfn.internal_failure",
    ] {
        assert!(sim.flag(rule).is_none(), "{rule} still open");
        assert_eq!(sim.resolved(rule).len(), 1, "{rule}");
    }
}

#[test]
fn root_cause_subject_moves_with_the_root_cause() {
    let mut sim = Sim::new();
    failed_nested_update(&mut sim);
    sim.tick(15);
    // A failure older than the one found arrives late (another stack's events poll).
    sim.feed(
        20,
        cfn_event(
            "payments/Network",
            "Vpc",
            "AWS::EC2::VPC",
            "UPDATE_FAILED",
            Some("The maximum number of VPCs has been reached."),
            30,
        ),
    );
    sim.tick(21);
    let f = sim.flag("cfn.root_cause").unwrap();
    assert_eq!(f.subject, Subject::Resource(key("payments/Network", "Vpc")));
    assert_eq!(f.resource, "payments/Network/Vpc");
}

#[test]
fn stack_rows_and_serviceless_tasks_have_their_subjects() {
    let mut sim = Sim::new();
    sim.feed(
        0,
        stack_row(
            "payments/Storage",
            "UPDATE_ROLLBACK_IN_PROGRESS",
            Some("Error occurred during operation 'ECS Deployment Circuit Breaker was triggered'."),
            0,
        ),
    );
    let f = sim.flag("cfn.ecs_circuit_breaker").unwrap();
    assert_eq!(f.subject, Subject::Stack("payments/Storage".into()));
    assert_eq!(f.resource, "payments/Storage");

    let mut one_off = stopped("migrate1", "unused", EFS_TIMEOUT, 10);
    one_off.group = Some("family:payments".into());
    sim.feed(10, one_off);
    let f = sim.flag("ecs.efs_mount_network").unwrap();
    assert_eq!(f.subject, Subject::TaskFamily("payments".into()));
    assert_eq!(f.resource, "task family payments");
}

#[test]
fn root_cause_is_fatal_when_the_rollback_fails() {
    let mut sim = Sim::new();
    failed_nested_update(&mut sim);
    sim.tick(15);
    sim.feed(
        100,
        stack_row("payments", "UPDATE_ROLLBACK_FAILED", None, 100),
    );
    sim.tick(101);
    let f = sim.flag("cfn.root_cause").unwrap();
    assert_eq!(f.severity, Severity::Fatal);
    assert_eq!(
        sim.opened("cfn.root_cause").len(),
        2,
        "escalation re-emits Opened"
    );
}

#[test]
fn root_cause_tie_prefers_a_real_reason_over_internal_failure() {
    let records = [
        crate::model::FailureRecord {
            at: t(5),
            stack: "s".into(),
            logical_id: "A".into(),
            resource_type: "AWS::X::Y".into(),
            status: "CREATE_FAILED".into(),
            reason: "Internal Failure".into(),
            is_stack_row: false,
        },
        crate::model::FailureRecord {
            at: t(5),
            stack: "s".into(),
            logical_id: "B".into(),
            resource_type: "AWS::X::Y".into(),
            status: "CREATE_FAILED".into(),
            reason: "bucket-x already exists".into(),
            is_stack_row: false,
        },
        crate::model::FailureRecord {
            at: t(1),
            stack: "s".into(),
            logical_id: "C".into(),
            resource_type: "AWS::X::Y".into(),
            status: "CREATE_FAILED".into(),
            reason: "Resource creation cancelled".into(),
            is_stack_row: false,
        },
    ];
    let cause = state_rules::find_root_cause(records.iter()).unwrap();
    assert_eq!(cause.logical_id, "B");
}

#[test]
fn ecs_rollout_failure_is_a_rolled_back_deploy() {
    let mut sim = Sim::new();
    let mut svc = service("payments-api", 1, 1);
    svc.deployments.push(EcsDeployment {
        id: "ecs-svc/2".into(),
        status: "PRIMARY".into(),
        task_definition: "payments:8".into(),
        desired: 1,
        running: 0,
        pending: 0,
        failed_tasks: 10,
        rollout_state: Some("FAILED".into()),
        rollout_state_reason: Some("ECS deployment circuit breaker: tasks failed to start.".into()),
        created_at: t(0),
        updated_at: Some(t(100)),
    });
    let old = EcsDeployment {
        id: "ecs-svc/1".into(),
        status: "ACTIVE".into(),
        task_definition: "payments:7".into(),
        desired: 1,
        running: 1,
        pending: 0,
        failed_tasks: 0,
        rollout_state: Some("COMPLETED".into()),
        rollout_state_reason: None,
        created_at: t(-1000),
        updated_at: None,
    };
    svc.deployments.push(old.clone());
    sim.feed(100, svc.clone());
    sim.tick(100);
    let f = sim.flag("deploy.rolled_back").unwrap();
    assert_eq!(f.subject, Subject::Service("payments-api".into()));
    assert_eq!(f.resource, "service payments-api");
    // The rollback ends healthy on the old task definition: still a failed deploy.
    svc.deployments = vec![EcsDeployment {
        id: "ecs-svc/3".into(),
        status: "PRIMARY".into(),
        created_at: t(150),
        ..old.clone()
    }];
    sim.feed(200, svc.clone());
    sim.feed(
        201,
        EcsServiceEvent {
            cluster: "prod".into(),
            service: "payments-api".into(),
            id: "steady".into(),
            created_at: t(201),
            message: "(service payments-api) has reached a steady state.".into(),
        },
    );
    sim.run(101, 300);
    assert!(sim.flag("deploy.rolled_back").is_some());
    // A new attempt with a fixed task definition ends it.
    svc.deployments = vec![EcsDeployment {
        id: "ecs-svc/4".into(),
        status: "PRIMARY".into(),
        task_definition: "payments:9".into(),
        created_at: t(400),
        ..old
    }];
    sim.feed(400, svc);
    sim.tick(400);
    assert!(sim.flag("deploy.rolled_back").is_none());
    assert_eq!(sim.opened("deploy.rolled_back").len(), 1);
}

#[test]
fn slow_rollout_is_not_converging_until_it_catches_up() {
    let mut sim = Sim::new();
    let mut svc = service("payments-api", 2, 0);
    svc.deployments.push(EcsDeployment {
        id: "ecs-svc/5".into(),
        status: "PRIMARY".into(),
        task_definition: "payments:9".into(),
        desired: 2,
        running: 0,
        pending: 2,
        failed_tasks: 0,
        rollout_state: Some("IN_PROGRESS".into()),
        rollout_state_reason: None,
        created_at: t(0),
        updated_at: None,
    });
    sim.feed(0, svc.clone());
    sim.run(0, 599);
    assert!(sim.flag("ecs.not_converging").is_none());
    sim.tick(600);
    let f = sim.flag("ecs.not_converging").unwrap();
    assert_eq!(f.subject, Subject::Service("payments-api".into()));
    assert_eq!(
        f.summary_at(t(600)),
        "service payments-api: 0/2 tasks running after 10m of deployment ecs-svc/5"
    );
    svc.deployments[0].running = 2;
    svc.deployments[0].rollout_state = Some("COMPLETED".into());
    sim.feed(700, svc);
    sim.tick(700);
    assert!(sim.flag("ecs.not_converging").is_none());
}

const TG: &str = "arn:aws:elasticloadbalancing:eu-west-1:1:targetgroup/payments-api-tg/0123";

#[test]
fn target_health_flags_on_changes_and_resolves_when_healthy() {
    let mut sim = Sim::new();
    let bad = || {
        target(
            TG,
            "10.0.0.1",
            "unhealthy",
            Some("Target.Timeout"),
            Some("Request timed out"),
        )
    };
    sim.feed(0, bad());
    sim.feed(10, bad());
    sim.feed(20, bad());
    let f = sim.flag("elb.target_timeout").unwrap();
    assert_eq!(f.count, 1, "same state again is not a new observation");
    assert_eq!(f.subject, Subject::TargetGroup(TG.into()));
    assert_eq!(f.resource, "tg payments-api-tg");
    sim.run(0, 59);
    assert!(sim.flag("elb.no_healthy_targets").is_none());
    sim.tick(60);
    let f = sim.flag("elb.no_healthy_targets").unwrap();
    assert_eq!(f.subject, Subject::TargetGroup(TG.into()));
    assert_eq!(f.resource, "tg payments-api-tg");
    sim.feed(70, target(TG, "10.0.0.2", "healthy", None, None));
    sim.tick(70);
    assert!(sim.flag("elb.no_healthy_targets").is_none());
    assert!(
        sim.flag("elb.target_timeout").is_some(),
        "still one unhealthy target"
    );
    sim.feed(
        80,
        target(
            TG,
            "10.0.0.1",
            "draining",
            Some("Target.DeregistrationInProgress"),
            Some("Target deregistration is in progress"),
        ),
    );
    sim.tick(80);
    assert!(sim.flag("elb.target_timeout").is_none());
}

#[test]
fn initial_health_checks_get_a_longer_grace() {
    let mut sim = Sim::new();
    sim.feed(
        0,
        target(
            TG,
            "10.0.0.1",
            "initial",
            Some("Elb.InitialHealthChecking"),
            Some("Initial health checks in progress"),
        ),
    );
    sim.run(0, 299);
    assert!(sim.flag("elb.no_healthy_targets").is_none());
    sim.tick(300);
    assert!(sim.flag("elb.no_healthy_targets").is_some());
}

#[test]
fn log_flags_group_by_log_group_and_resolve_after_quiet() {
    let mut sim = Sim::new();
    let line =
        "Error [ERR_MODULE_NOT_FOUND]: Cannot find package 'express' imported from /app/server.js";
    sim.feed(0, log("/ecs/payments-api", "starting", 0));
    sim.feed(1, log("/ecs/payments-api", line, 1));
    sim.feed(2, log("/ecs/payments-api", "info: ok", 2));
    sim.feed(100, log("/ecs/payments-api", line, 100));
    let f = sim.flag("log.node_module_not_found").unwrap();
    assert_eq!(f.count, 2);
    assert_eq!(f.subject, Subject::LogGroup("/ecs/payments-api".into()));
    assert_eq!(f.resource, "/ecs/payments-api");
    assert!(
        f.summary.contains("'express' imported from /app/server.js"),
        "{}",
        f.summary
    );
    sim.run(0, 399);
    assert!(sim.flag("log.node_module_not_found").is_some());
    sim.tick(400);
    assert!(sim.flag("log.node_module_not_found").is_none());
}

#[test]
fn an_api_error_resolves_after_its_quiet_period_of_silence() {
    let mut sim = Sim::new();
    sim.feed(
        0,
        cfn_event(
            "payments",
            "Bucket",
            "AWS::S3::Bucket",
            "CREATE_FAILED",
            Some("Rate exceeded (Service: S3, Status Code: 400)"),
            0,
        ),
    );
    assert!(sim.flag("api.throttling").is_some());
    // Nothing comes in: the ticks rest until the quiet period (300 s) ends, then resolve.
    sim.run(1, 299);
    assert!(sim.flag("api.throttling").is_some());
    sim.tick(300);
    let resolved = sim.resolved("api.throttling");
    assert_eq!(resolved.len(), 1);
    assert_eq!(resolved[0].resolved_at, Some(t(300)));
}

fn with_user_rules(user: UserRules) -> Sim {
    let mut sim = Sim::new();
    sim.p.detector = Detector::with_user_rules(DetectConfig::default(), user);
    sim
}

#[test]
fn user_rules_fire_after_the_table_and_before_unknown() {
    let rule = UserRule::new(
        "app.gateway_down",
        Source::Log,
        Severity::Error,
        r"(?i)error.*payment gateway (?P<gw>\w+) unreachable",
        "payment gateway ${gw} unreachable",
        "check the gateway's status page",
    )
    .unwrap();
    let mut sim = with_user_rules(UserRules::new(vec![rule], []));
    sim.feed(
        1,
        log("/ecs/api", "ERROR payment gateway stripe unreachable", 1),
    );
    let f = sim.flag("app.gateway_down").unwrap();
    assert_eq!(f.severity, Severity::Error);
    assert_eq!(f.summary, "payment gateway stripe unreachable");
    assert_eq!(f.next_step, "check the gateway's status page");
    assert!(sim.flag(UNKNOWN).is_none());
    // A built-in rule still comes first.
    let line = "Error [ERR_MODULE_NOT_FOUND]: Cannot find package 'express' imported from /app/server.js payment gateway x unreachable";
    sim.feed(2, log("/ecs/api", line, 2));
    assert!(sim.flag("log.node_module_not_found").is_some());
}

#[test]
fn muted_rules_raise_no_flags() {
    let muted = ["log.node_module_not_found", "ecs.crash_loop", UNKNOWN].map(String::from);
    let mut sim = with_user_rules(UserRules::new(Vec::new(), muted));
    let line =
        "Error [ERR_MODULE_NOT_FOUND]: Cannot find package 'express' imported from /app/server.js";
    sim.feed(1, log("/ecs/payments-api", line, 1));
    sim.feed(
        2,
        log(
            "/ecs/payments-api",
            "ERROR: something nobody knows failed",
            2,
        ),
    );
    sim.feed(3, service("payments-api", 1, 0));
    for (n, at) in [(1, 60), (2, 180), (3, 300)] {
        sim.feed(at, crashed(&n.to_string(), "payments-api", at - 30, at));
    }
    sim.run(0, 310);
    assert!(sim.opened("log.node_module_not_found").is_empty());
    assert!(sim.opened(UNKNOWN).is_empty());
    assert!(sim.opened("ecs.crash_loop").is_empty());
    // Not muted: still flagged.
    assert!(sim.flag("ecs.essential_exited").is_some());
}

#[test]
fn unknown_failures_still_flag_deduplicated_and_bounded() {
    let mut sim = Sim::new();
    let group = "/ecs/payments-api";
    // Error-level lines no rule knows: one `unknown` flag per log group, counted.
    for i in 0..30 {
        sim.feed(
            i,
            log(
                group,
                &format!("2026-11-30T10:00:{i:02}Z ERROR ledger sync {i} gave up"),
                i,
            ),
        );
    }
    // Lines that only mention an error, or read as progress: nothing.
    sim.feed(
        40,
        log(
            group,
            "2026-11-30T10:00:40Z INFO retried after an error",
            40,
        ),
    );
    sim.feed(41, log(group, "GET /errors 200 3ms", 41));
    let f = sim.flag(UNKNOWN).expect("an unknown flag");
    assert_eq!(f.severity, Severity::Warn);
    assert_eq!(f.count, 30);
    assert_eq!(f.evidence.len(), EVIDENCE_CAP);
    assert!(f.evidence.back().unwrap().text.contains("ledger sync 29"));
    assert!(
        f.summary.starts_with("unrecognised failure: "),
        "{}",
        f.summary
    );
    assert_eq!(
        sim.p.detector.open_flags().len(),
        1,
        "{:?}",
        sim.p.detector.open_flags()
    );
    // A service event that no rule knows but reads like a failure.
    sim.feed(
        50,
        EcsServiceEvent {
            cluster: "prod".into(),
            service: "payments-api".into(),
            id: "e1".into(),
            created_at: t(50),
            message: "(service payments-api) was unable to frobnicate the widget.".into(),
        },
    );
    let opened = sim
        .p
        .detector
        .open_flags()
        .into_iter()
        .filter(|f| f.rule == UNKNOWN)
        .count();
    assert_eq!(opened, 2);
}

#[test]
fn service_events_dedupe_and_steady_state_resolves() {
    let mut sim = Sim::new();
    let ev = |id: &str, secs: i64, msg: &str| EcsServiceEvent {
        cluster: "prod".into(),
        service: "payments-api".into(),
        id: id.into(),
        created_at: t(secs),
        message: msg.into(),
    };
    let bad = "(service payments-api) (port 8080) is unhealthy in (target-group arn:aws:elasticloadbalancing:eu-west-1:1:targetgroup/payments-api-tg/0123) due to (reason Health checks failed).";
    sim.feed(0, ev("1", 0, bad));
    sim.feed(5, ev("1", 0, bad));
    sim.feed(60, ev("2", 60, bad));
    let f = sim.flag("ecs.svc_target_unhealthy").unwrap();
    assert_eq!(f.count, 2);
    assert_eq!(f.resource, "service payments-api");
    sim.feed(
        100,
        ev(
            "3",
            100,
            "(service payments-api) has started 1 tasks: (task abc).",
        ),
    );
    assert_eq!(
        sim.p.detector.open_flags().len(),
        1,
        "info events never flag"
    );
    sim.feed(
        200,
        ev(
            "4",
            200,
            "(service payments-api) has reached a steady state.",
        ),
    );
    assert!(sim.flag("ecs.svc_target_unhealthy").is_none());
}

#[test]
fn repeated_polls_count_once() {
    let mut sim = Sim::new();
    // The operation starts before the failures (flags of an earlier operation resolve).
    sim.feed(
        0,
        stack_row("payments", "CREATE_IN_PROGRESS", Some("User Initiated"), 0),
    );
    let failed = cfn_event(
        "payments",
        "Bucket",
        "AWS::S3::Bucket",
        "CREATE_FAILED",
        Some("payments-assets already exists"),
        5,
    );
    sim.feed(5, failed.clone());
    sim.feed(10, failed);
    let stack = crate::model::CfnStack {
        stack: "payments".into(),
        name: "payments".into(),
        stack_id: None,
        status: "ROLLBACK_IN_PROGRESS".into(),
        reason: Some(
            "Stack creation time exceeded the specified timeout. Rollback requested by user."
                .into(),
        ),
    };
    sim.feed(11, stack.clone());
    sim.feed(16, stack);
    assert_eq!(sim.flag("cfn.already_exists").unwrap().count, 1);
    assert_eq!(sim.flag("cfn.stack_timeout").unwrap().count, 1);
}

#[test]
fn info_cfn_reasons_never_flag() {
    let mut sim = Sim::new();
    sim.feed(
        0,
        cfn_event(
            "payments",
            "ApiService",
            "AWS::ECS::Service",
            "UPDATE_IN_PROGRESS",
            Some("Eventual consistency check initiated"),
            0,
        ),
    );
    sim.feed(
        1,
        cfn_event(
            "payments",
            "Queue",
            "AWS::SQS::Queue",
            "CREATE_FAILED",
            Some("Resource creation cancelled"),
            1,
        ),
    );
    assert!(sim.p.detector.open_flags().is_empty());
}

// ---------------------------------------------------------------- classify

fn rule(source: Source, text: &str) -> Option<&'static str> {
    classify(source, text).map(|c| c.rule)
}

/// Every text gets the rule expected of it (`None`: no rule); all mismatches are listed.
fn assert_rules<'a>(cases: impl IntoIterator<Item = (Source, &'a str, Option<&'a str>)>) {
    let wrong: Vec<String> = cases
        .into_iter()
        .filter_map(|(source, text, expect)| {
            let got = rule(source, text);
            (got != expect).then(|| format!("{expect:?} <- {got:?}: {text}"))
        })
        .collect();
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn rules_generalise_beyond_the_corpus() {
    use Source::*;
    let cases: &[(Source, &str, &str)] = &[
        (
            EcsTask,
            "Resourceinitializationerror: failed to invoke EFS utils commands to set up EFS volumes: stderr: b'mount.nfs4: Connection timed out' : unsuccessful EFS utils command execution; code: 32",
            "ecs.efs_mount_network",
        ),
        (EcsTask, EFS_TIMEOUT, "ecs.efs_mount_network"),
        (
            EcsTask,
            "ResourceInitializationError: failed to invoke EFS utils commands to set up EFS volumes: stderr: Failed to initialize TLS tunnel for fs-0abc : unsuccessful EFS utils command execution; code: 1",
            "ecs.efs_mount_network",
        ),
        (
            EcsTask,
            "Task failed ELB health checks in (target-group arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/payments-api-tg/abc)",
            "ecs.task_failed_elb_hc",
        ),
        (
            EcsTask,
            "Essential container in task exited",
            "ecs.essential_exited",
        ),
        (
            EcsTask,
            "CannotPullContainerError: pull image manifest has been retried 5 time(s): failed to resolve ref 1.dkr.ecr.eu-west-1.amazonaws.com/app:v2: 1.dkr.ecr.eu-west-1.amazonaws.com/app:v2: not found",
            "ecs.image_not_found",
        ),
        (
            EcsTask,
            "ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed: unable to retrieve secret from asm: service call has been retried 5 time(s): failed to fetch secret arn:aws:secretsmanager:eu-west-1:1:secret:db from secrets manager: AccessDeniedException: User: arn:aws:sts::1:assumed-role/exec is not authorized to perform: secretsmanager:GetSecretValue",
            "ecs.secrets_access_denied",
        ),
        (
            EcsTask,
            "ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed: unable to retrieve secret from asm: AccessDeniedException: ... dial tcp 10.0.0.1:443: i/o timeout",
            "ecs.secrets_network",
        ),
        (
            EcsTask,
            "Cannotstartcontainererror: Error response from daemon: failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: exec: \"/app/run.sh\": permission denied: unknown",
            "ecs.cannot_start_entrypoint",
        ),
        (
            EcsTask,
            "CannotInspectContainerError: Could not transition to inspecting; timed out after waiting 30s",
            "ecs.resource_init_other",
        ),
        (
            EcsService,
            "(service payments-api) (instance i-0abc) (port 8080) is unhealthy in (target-group arn:aws:elasticloadbalancing:eu-west-1:1:targetgroup/payments-api-tg/1) due to (reason Request timed out).",
            "ecs.svc_target_unhealthy_timeout",
        ),
        (
            EcsService,
            "(service payments-api) (port 8080) is unhealthy in (target-group arn:aws:elasticloadbalancing:eu-west-1:1:targetgroup/payments-api-tg/1) due to (reason Health checks failed with these codes: [502]).",
            "ecs.svc_target_unhealthy_codes",
        ),
        (
            EcsService,
            "(service payments-api) has started 2 tasks: (task a) (task b).",
            "ecs.svc_info_started_tasks",
        ),
        (
            EcsService,
            "(service payments-api) has stopped 2 running tasks: (task a) (task b).",
            "ecs.svc_info_stopped_tasks",
        ),
        (
            EcsService,
            "(service payments-api) deregistered 1 targets in (target-group arn:x)",
            "ecs.svc_info_deregistered",
        ),
        (
            EcsService,
            "(service payments-api) is unable to consistently start tasks successfully. For more information, see the Troubleshooting section.",
            "ecs.svc_task_start_impaired",
        ),
        (
            EcsService,
            "(service payments-api) (deployment ecs-svc/123) deployment failed: tasks failed to start.",
            "ecs.svc_deployment_failed",
        ),
        (
            EcsService,
            "ECS deployment circuit breaker: rolling back to deploymentId ecs-svc/1234.",
            "ecs.svc_rollback",
        ),
        (
            Elb,
            "Target.ResponseCodeMismatch: Health checks failed with these codes: [502]",
            "elb.response_code_mismatch",
        ),
        (
            Elb,
            "Target.FailedHealthChecks: Health checks failed",
            "elb.failed_health_checks",
        ),
        (
            Elb,
            "Elb.InitialHealthChecking: Initial health checks in progress",
            "elb.initial_health_checking",
        ),
        (
            Elb,
            "Elb.InternalError: Health checks failed due to an internal error",
            "elb.internal_error",
        ),
        (
            Log,
            "node:internal/errors:496\n    ErrorCaptureStackTrace(err);\n    ^\n\nError [ERR_MODULE_NOT_FOUND]: Cannot find package 'express' imported from /app/server.js\n    at new NodeError (node:internal/errors:405:5)",
            "log.node_module_not_found",
        ),
        (
            Log,
            "Error: Cannot find module 'express'\nRequire stack:\n- /app/server.js",
            "log.node_module_not_found",
        ),
        (
            Log,
            "psycopg2.OperationalError: FATAL:  password authentication failed for user \"app\"",
            "log.db_auth_failed",
        ),
        (
            Log,
            "Error: getaddrinfo ENOTFOUND db.internal",
            "log.dns_not_found",
        ),
        (
            Cfn,
            "Failed to receive 1 resource signal(s) within the specified duration",
            "cfn.signal_timeout",
        ),
        (Cfn, "Resource creation cancelled", "cfn.cascade_cancelled"),
        (
            Cfn,
            "Resource handler returned message: \"Invalid request provided: CreateService error: Target Group does not have an associated load balancer.\" (RequestToken: 0c2e4a51-1111-2222-3333-444455556666, HandlerErrorCode: InvalidRequest)",
            "cfn.handler_error",
        ),
        (
            Cfn,
            "Resource handler returned message: \"payments-assets already exists\" (RequestToken: 0c2e4a51-1111-2222-3333-444455556666, HandlerErrorCode: AlreadyExists)",
            "cfn.already_exists",
        ),
        (
            Cfn,
            "Service arn:aws:ecs:eu-west-1:1:service/prod/payments-api did not stabilize.",
            "cfn.ecs_service_not_stabilized",
        ),
        (
            Cfn,
            "Content of DNS Record is: {Name: _x.example.com.,Type: CNAME,Value: _y.acm-validations.aws.}",
            "cfn.acm_dns_validation_pending",
        ),
        (
            Api,
            "An error occurred (ExpiredToken) when calling the DescribeStacks operation: The security token included in the request is expired",
            "api.expired_token",
        ),
        (
            Api,
            "Waiter ServicesStable failed: Max attempts exceeded",
            "api.waiter_timeout",
        ),
        (
            Api,
            "An error occurred (ValidationError) when calling the UpdateStack operation: Stack:arn:aws:cloudformation:eu-west-1:1:stack/payments/abc is in UPDATE_ROLLBACK_FAILED state and can not be updated.",
            "cfn.stack_update_rollback_failed",
        ),
        (
            Api,
            "An error occurred (AccessDenied) when calling the AssumeRole operation: User: arn:aws:iam::1:user/x is not authorized to perform: sts:AssumeRole",
            "api.access_denied",
        ),
        (
            Cfn,
            "Resource of type 'AWS::ECS::Service' with identifier 'arn:aws:ecs:eu-west-1:1:service/prod/payments-api' did not stabilize.",
            "cfn.ecs_service_not_stabilized",
        ),
        (
            EcsTask,
            "CannotPullContainerError: Error response from daemon: pull access denied for payments, repository does not exist or may require 'docker login': denied: requested access to the resource is denied",
            "ecs.image_not_found",
        ),
        (
            EcsTask,
            "CannotPullContainerError: ref pull has been retried 1 time(s): failed to copy: httpReadSeeker: failed open: unexpected status code https://registry-1.docker.io/v2/library/nginx/manifests/sha256:abc: 429 Too Many Requests - Server message: toomanyrequests: You have reached your pull rate limit.",
            "ecs.image_pull_failed",
        ),
        (
            EcsTask,
            "ResourceInitializationError: failed to validate logger args: create stream has been retried 1 times: failed to create Cloudwatch log stream: RequestError: send request failed caused by: Post \"https://logs.eu-west-1.amazonaws.com/\": dial tcp 1.2.3.4:443: i/o timeout : exit status 1",
            "ecs.logger_args_network",
        ),
        (
            Log,
            "dial tcp 10.0.0.5:5432: connect: connection refused",
            "log.econnrefused",
        ),
        (
            Log,
            "Caused by: java.net.UnknownHostException: db.internal",
            "log.dns_not_found",
        ),
        (
            Log,
            "OSError: [Errno 98] Address already in use",
            "log.addr_in_use",
        ),
        (
            Log,
            "PermissionError: [Errno 13] Permission denied: '/data/x'",
            "log.permission_denied",
        ),
        (
            Log,
            "panic: runtime error: index out of range [0] with length 0",
            "log.go_panic",
        ),
        (
            Cfn,
            "WaitCondition timed out. Received 0 conditions when expecting 1",
            "cfn.signal_timeout",
        ),
        (
            Cfn,
            "CloudFormation did not receive a response from your Custom Resource. Please check your logs for requestId [0c2e4a51-1111]. If you are using the Python cfn-response module, you may need to update your Lambda function code so that CloudFormation can attach the updated version.",
            "cfn.custom_resource_timeout",
        ),
        (
            Cfn,
            "Export payments-VpcId cannot be deleted as it is in use by payments-api",
            "cfn.delete_failed_dependency",
        ),
        (
            Cfn,
            "API: ec2:CreateVpc You are not authorized to perform this operation.",
            "cfn.access_denied",
        ),
        (
            EcsTask,
            "ResourceInitializationError: unable to pull secrets or registry auth: The task cannot pull registry auth from Amazon ECR: There is a connection issue between the task and Amazon ECR. Check your task network configuration. operation error ECR: GetAuthorizationToken, exceeded maximum number of attempts, 3, https response error StatusCode: 0, RequestID: , request send failed, Post \"https://api.ecr.us-east-1.amazonaws.com/\": dial tcp 3.3.3.3:443: i/o timeout",
            "ecs.registry_auth_network",
        ),
        (
            EcsTask,
            "ResourceInitializationError: unable to pull secrets or registry auth: unable to retrieve secret from asm: There is a connection issue between the task and AWS Secrets Manager. Check your task network configuration. failed to fetch secret arn:aws:secretsmanager:us-east-1:1:secret:db",
            "ecs.secrets_network",
        ),
        (
            EcsTask,
            "CannotPullContainerError: The task cannot pull 'nginx:latest' from the registry 'docker.io'. There is a connection issue between the task and the registry. Check your task network configuration. : failed to resolve ref docker.io/library/nginx:latest: dial tcp 1.2.3.4:443: i/o timeout",
            "ecs.image_pull_network",
        ),
        (
            Log,
            "java.lang.ClassNotFoundException: com.example.Main",
            "log.java_exception",
        ),
        (
            Log,
            "botocore.exceptions.NoCredentialsError: Unable to locate credentials",
            "log.python_traceback",
        ),
        (
            Log,
            "standard_init_linux.go:228: exec user process caused: no such file or directory",
            "log.command_not_found",
        ),
        (
            Api,
            "TooManyRequestsException: Rate exceeded",
            "api.throttling",
        ),
        (
            Api,
            "An error occurred (SignatureDoesNotMatch) when calling the GetCallerIdentity operation: The request signature we calculated does not match the signature you provided.",
            "api.invalid_credentials",
        ),
        (
            Api,
            "Error when retrieving token from sso: Token has expired and refresh failed",
            "api.expired_token",
        ),
        (
            EcsTask,
            "Task stopped because ECS is performing maintenance on the underlying infrastructure hosting the task.",
            "ecs.host_terminated",
        ),
        (
            EcsTask,
            "CannotStartContainerError: Error response from daemon: failed to create task for container: failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: error during container init: error mounting \"/var/lib/ecs/data\" to rootfs: mount denied",
            "ecs.resource_init_other",
        ),
    ];
    assert_rules(
        cases
            .iter()
            .map(|(source, text, expect)| (*source, *text, Some(*expect))),
    );
}

/// The five ids of catalogue §9, written in wordings the corpus does not hold: the same meaning
/// from other frameworks and SDKs, wrapped by a console, behind a log prefix, in other case.
/// `None` = no rule (the near misses that must stay quiet).
#[test]
fn new_ids_hold_by_meaning_and_near_misses_stay_out() {
    use Source::*;
    let cases: &[(Source, &str, Option<&str>)] = &[
        // ---- log.missing_env_var: a program saying a required setting is absent
        (
            Log,
            "Error: Missing required environment variable: DATABASE_URL",
            Some("log.missing_env_var"),
        ),
        (
            Log,
            "2026-11-30T10:00:00.123Z api-1 | Error: Missing required\n  environment variable: S3_BUCKET_NAME",
            Some("log.missing_env_var"),
        ),
        (
            Log,
            "Error: S3_BUCKET_NAME is required",
            Some("log.missing_env_var"),
        ),
        (
            Log,
            "Error: NEAR_RPC_URL environment variable is not set",
            Some("log.missing_env_var"),
        ),
        (
            Log,
            "ENVIRONMENT VARIABLE NOT FOUND: DATABASE_URL",
            Some("log.missing_env_var"),
        ),
        (
            Log,
            "Error: Environment variable \"STRIPE_SECRET_KEY\" is missing",
            Some("log.missing_env_var"),
        ),
        (
            Log,
            "panic: JWT_SECRET must be set",
            Some("log.missing_env_var"),
        ),
        (
            Log,
            "thread 'main' panicked at src/main.rs:12:40:\nDATABASE_URL must be set: NotPresent\nnote: run with `RUST_BACKTRACE=1` environment variable to display a backtrace",
            Some("log.missing_env_var"),
        ),
        (
            Log,
            "thread 'main' (1) panicked at src/config.rs:8:10:\ncalled `Result::unwrap()` on an `Err` value: NotPresent",
            Some("log.missing_env_var"),
        ),
        (
            Log,
            "** (System.EnvError) could not fetch environment variable \"SECRET_KEY_BASE\" because it is not set",
            Some("log.missing_env_var"),
        ),
        (
            Log,
            "decouple.UndefinedValueError: SECRET_KEY not found. Declare it as envvar or define a default value.",
            Some("log.missing_env_var"),
        ),
        (
            Log,
            "Traceback (most recent call last):\n  File \"/app/main.py\", line 4, in <module>\n    raise ValueError(\"OPENAI_API_KEY is not set\")\nValueError: OPENAI_API_KEY is not set",
            Some("log.missing_env_var"),
        ),
        (
            Log,
            "/entrypoint.sh: line 4: DB_HOST: parameter null or not set",
            Some("log.missing_env_var"),
        ),
        (
            Log,
            "pydantic_core._pydantic_core.ValidationError: 1 validation error for AppSettings\ndatabase_url\n  Field required [type=missing, input_value={}, input_type=dict]",
            Some("log.missing_env_var"),
        ),
        (
            Log,
            "java.lang.IllegalArgumentException: Could not resolve placeholder 'DB_URL' in string value \"${DB_URL}\"",
            Some("log.missing_env_var"),
        ),
        (
            Log,
            "django.core.exceptions.ImproperlyConfigured: The SECRET_KEY setting must not be empty.",
            Some("log.missing_env_var"),
        ),
        (
            Log,
            "MissingEnvVarsError: The following variables were defined in .env.example but are not present in the environment:\n  SESSION_SECRET",
            Some("log.missing_env_var"),
        ),
        (
            Log,
            "Traceback (most recent call last):\n  File \"/app/app.py\", line 3, in <module>\n    BUCKET = os.environ[\"S3_BUCKET_NAME\"]\n  File \"<frozen os>\", line 714, in __getitem__\nKeyError: 'S3_BUCKET_NAME'",
            Some("log.missing_env_var"),
        ),
        (
            Log,
            "Error: Please define the MONGODB_URI environment variable inside .env.local",
            Some("log.missing_env_var"),
        ),
        (Log, "$PORT must be set", Some("log.missing_env_var")),
        (
            Log,
            "RuntimeError: Either 'SQLALCHEMY_DATABASE_URI' or 'SQLALCHEMY_BINDS' must be set.",
            Some("log.missing_env_var"),
        ),
        (
            Log,
            "/app/config/database.rb:3:in `fetch': key not found: \"DATABASE_URL\" (KeyError)",
            Some("log.missing_env_var"),
        ),
        (
            Log,
            "Failed to configure a DataSource: 'url' attribute is not specified and no embedded datasource could be configured.",
            Some("log.missing_env_var"),
        ),
        (
            Log,
            "Error: The OPENAI_API_KEY environment variable is missing or empty; either provide it, or instantiate the OpenAI client with an apiKey option",
            Some("log.missing_env_var"),
        ),
        // near misses: informational, a default taken, the panic note, a bare KeyError, the shell
        (Log, "Environment variables loaded from .env", None),
        (Log, "info  - Loaded env from /app/.env", None),
        (Log, "\u{27d0} injected env (0) from .env", None),
        (
            Log,
            "Missing Rails.application.secrets.secret_key_base for production environment. The secret will be generated and stored in config/secrets.yml",
            None,
        ),
        (Log, "REDIS_URL not set, using the in-memory cache", None),
        (
            Log,
            "WARN: SENTRY_DSN is not set; falling back to console logging",
            None,
        ),
        (
            Log,
            "Missing config file /etc/app/config.yaml, using defaults",
            None,
        ),
        (Log, "DATABASE_URL=postgres://db:5432/app", None),
        (
            Log,
            "WARN[0000] The \"S3_BUCKET_NAME\" variable is not set. Defaulting to a blank string.",
            None,
        ),
        (
            Log,
            "Checking for missing environment variables... none",
            None,
        ),
        (Log, "env check: 0 missing, 12 set", None),
        (
            Log,
            "note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace",
            None,
        ),
        (
            Log,
            "thread 'main' panicked at src/main.rs:3:5:\nindex out of bounds: the len is 0 but the index is 0\nnote: run with `RUST_BACKTRACE=1` environment variable to display a backtrace",
            Some("log.rust_panic"),
        ),
        (Log, "KeyError: 'user_id'", Some("log.python_traceback")),
        (
            Log,
            "./run.sh: line 9: DB_HOST: unbound variable",
            Some("log.bash_unbound_variable"),
        ),
        (
            Log,
            "Error: P1001: Can't reach database server at `http`:`5432`",
            Some("log.econnrefused"),
        ),
        // ---- log.aws_access_denied: the app's own AWS call, in any SDK's words
        (
            Log,
            "An error occurred (AccessDenied) when calling the DescribeAutoScalingGroups operation: User: arn:aws:sts::123456789012:assumed-role/nats-node/i-0abc is not authorized to perform: autoscaling:DescribeAutoScalingGroups",
            Some("log.aws_access_denied"),
        ),
        (
            Log,
            "AccessDeniedException: User: arn:aws:sts::123456789012:assumed-role/api-task/4f1c is not authorized to perform: dynamodb:PutItem on resource: arn:aws:dynamodb:eu-west-1:123456789012:table/orders",
            Some("log.aws_access_denied"),
        ),
        (
            Log,
            "operation error S3: PutObject, https response error StatusCode: 403, RequestID: 7Q2, HostID: x1, api error AccessDenied: Access Denied",
            Some("log.aws_access_denied"),
        ),
        (
            Log,
            "software.amazon.awssdk.services.s3.model.S3Exception: Access Denied (Service: S3, Status Code: 403, Request ID: 4Q2A, Extended Request ID: zz)",
            Some("log.aws_access_denied"),
        ),
        (
            Log,
            "fatal error: An error occurred (403) when calling the HeadObject operation: Forbidden",
            Some("log.aws_access_denied"),
        ),
        (
            Log,
            "An error occurred (UnauthorizedOperation) when calling the DescribeInstances operation: You are not authorized to perform this operation.",
            Some("log.aws_access_denied"),
        ),
        (
            Log,
            "Traceback (most recent call last):\n  File \"/app/upload.py\", line 9, in <module>\n    s3.put_object(Bucket=b, Key=k, Body=data)\nbotocore.exceptions.ClientError: An error occurred (AccessDenied) when calling the PutObject operation: Access Denied",
            Some("log.aws_access_denied"),
        ),
        // near misses: the filesystem, an app's own authorisation, a database, an HTTP access log
        (
            Log,
            "Error: EACCES: permission denied, open '/app/logs/app.log'",
            Some("log.permission_denied"),
        ),
        (
            Log,
            "java.nio.file.AccessDeniedException: /data/cache/index",
            Some("log.permission_denied"),
        ),
        (
            Log,
            "org.springframework.security.access.AccessDeniedException: Access is denied",
            Some("log.java_exception"),
        ),
        (
            Log,
            "Access denied for user 'app'@'10.0.1.23' (using password: YES)",
            Some("log.db_auth_failed"),
        ),
        (
            Log,
            "10.0.1.7 - - \"GET /admin HTTP/1.1\" 403 Forbidden 2ms",
            None,
        ),
        (
            Api,
            "An error occurred (AccessDenied) when calling the PutObject operation: Access Denied",
            Some("api.access_denied"),
        ),
        // ---- log.build_output_missing: the server runs, its build output is not in the image
        (
            Log,
            "Error: Could not find the build directory: /app/dist/public, make sure to build the client first",
            Some("log.build_output_missing"),
        ),
        (
            Log,
            "[Error: Could not find a production build in the\n'/app/.next' directory. Try building your app with 'next build' before starting the production server.]",
            Some("log.build_output_missing"),
        ),
        (
            Log,
            "Error: ENOENT: no such file or directory, stat '/app/build/index.html'",
            Some("log.build_output_missing"),
        ),
        (
            Log,
            "Error: ENOENT: no such file or directory, open '/app/.next/BUILD_ID'",
            Some("log.build_output_missing"),
        ),
        (
            Log,
            "Illuminate\\Foundation\\ViteManifestNotFoundException: Vite manifest not found at: /var/www/html/public/build/manifest.json",
            Some("log.build_output_missing"),
        ),
        (
            Log,
            "ValueError: Missing staticfiles manifest entry for 'css/main.css'",
            Some("log.build_output_missing"),
        ),
        (
            Log,
            "error: The directory \"dist\" does not exist. Did you build your project?",
            Some("log.build_output_missing"),
        ),
        (
            Log,
            "ActionView::Template::Error (The asset \"application.css\" is not present in the asset pipeline.",
            Some("log.build_output_missing"),
        ),
        (
            Log,
            "Exception: Unable to locate Mix file: /js/app.js.",
            Some("log.build_output_missing"),
        ),
        (
            Log,
            "** (RuntimeError) Could not find static manifest at \"/app/_build/prod/lib/web/priv/static/cache_manifest.json\". Run \"mix phx.digest\" after building your static files",
            Some("log.build_output_missing"),
        ),
        (
            Log,
            "FileNotFoundError: [Errno 2] No such file or directory: '/app/frontend/dist/index.html'",
            Some("log.build_output_missing"),
        ),
        // near misses: a missing entry file stays Node's, progress lines, other missing files
        (
            Log,
            "Error: Cannot find module '/app/dist/server.js'",
            Some("log.node_module_not_found"),
        ),
        (
            Log,
            "info  - Creating an optimized production build ...",
            None,
        ),
        (
            Log,
            "Error: ENOENT: no such file or directory, open '/app/config/settings.json'",
            None,
        ),
        // ---- ecs.secrets_not_found: the role reached the store, the reference does not resolve
        (
            EcsTask,
            "ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed: unable to retrieve secrets from ssm: service call has been retried 1 time(s): invalid ssm parameters: /prod/api/S3_BUCKET_NAME",
            Some("ecs.secrets_not_found"),
        ),
        (
            EcsTask,
            "ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed: unable to retrieve secret from asm: service call has been retried 5 time(s): failed to fetch secret arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/db from secrets manager: ResourceNotFoundException: Secrets Manager can't find the specified secret.",
            Some("ecs.secrets_not_found"),
        ),
        (
            EcsTask,
            "Resourceinitializationerror: unable to pull secrets or registry auth: execution resource retrieval failed: unable to retrieve secrets from ssm: ParameterNotFound",
            Some("ecs.secrets_not_found"),
        ),
        (
            EcsTask,
            "Fetching secret data from SSM Parameter Store in eu-west-1: invalid parameters: /prod/db/password",
            Some("ecs.secrets_not_found"),
        ),
        (
            EcsTask,
            "ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed: unable to retrieve secret from asm: service call has been retried 1 time(s): retrieved secret from Secrets Manager did not contain json key DB_PASS",
            Some("ecs.secrets_not_found"),
        ),
        (
            EcsService,
            "(service worker) was unable to place a task. Reason: Fetching secret data from SSM Parameter Store in us-east-1: invalid parameters: /prod/DD_API_KEY.",
            Some("ecs.secrets_not_found"),
        ),
        // near misses: the other secret failures keep their ids
        (
            EcsTask,
            "ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed: unable to retrieve secrets from ssm: service call has been retried 1 time(s): AccessDeniedException: User: arn:aws:sts::1:assumed-role/exec/x is not authorized to perform: ssm:GetParameters",
            Some("ecs.secrets_access_denied"),
        ),
        (
            EcsTask,
            "ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed: unable to retrieve secret from asm: service call has been retried 5 time(s): RequestError: send request failed caused by: Post \"https://secretsmanager.eu-west-1.amazonaws.com/\": dial tcp 10.0.0.1:443: i/o timeout",
            Some("ecs.secrets_network"),
        ),
        (
            EcsTask,
            "ResourceInitializationError: failed to validate logger args: create stream has been retried 1 times: failed to create Cloudwatch log stream: ResourceNotFoundException: The specified log group does not exist.",
            Some("ecs.log_group_missing"),
        ),
        // ---- cfn.template_invalid: rejected before any operation started
        (
            Cfn,
            "Template format error: YAML not well-formed. (line 12, column 3)",
            Some("cfn.template_invalid"),
        ),
        (
            Cfn,
            "Template format error: Unrecognized resource types: [AWS::EC2::VPCX]",
            Some("cfn.template_invalid"),
        ),
        (
            Cfn,
            "Template error: instance of Fn::GetAtt references undefined resource WebServer",
            Some("cfn.template_invalid"),
        ),
        (
            Cfn,
            "template format error: every Resources object must contain a Type member.",
            Some("cfn.template_invalid"),
        ),
        (
            Cfn,
            "An error occurred (ValidationError) when calling the CreateStack\noperation: Template format error: Unresolved resource dependencies [DBName] in the Resources\nblock of the template",
            Some("cfn.template_invalid"),
        ),
        (
            Cfn,
            "Invalid template property or properties [Output]",
            Some("cfn.template_invalid"),
        ),
        (
            Cfn,
            "Transform AWS::Serverless-2016-10-31 failed with: Invalid Serverless Application Specification document. Number of errors found: 1.",
            Some("cfn.template_invalid"),
        ),
        (
            Api,
            "An error occurred (ValidationError) when calling the ValidateTemplate operation: Template format error: JSON not well-formed. (line 1, column 2)",
            Some("cfn.template_invalid"),
        ),
        (
            Cfn,
            "[/Resources/Bucket/Properties/BucketName] 'null' values are not allowed in templates",
            Some("cfn.template_invalid"),
        ),
        // near misses: a hook's own validation, a stack that cannot be updated
        (
            Cfn,
            "Hook failed with message: Template failed validation, the following rule(s) failed: S3_BUCKET_SSL.",
            Some("cfn.hook_failed"),
        ),
        (
            Cfn,
            "Stack:arn:aws:cloudformation:eu-west-1:123456789012:stack/app/1 is in ROLLBACK_COMPLETE state and can not be updated.",
            Some("cfn.stack_rollback_complete_blocked"),
        ),
    ];
    assert_rules(
        cases
            .iter()
            .map(|(source, text, expect)| (*source, *text, *expect)),
    );
    let c = classify(
        Cfn,
        "failed: ValidationError: Template format error:\nUnresolved resource dependencies [TELEMETRY_DOCS_HOST,\nTELEMETRY_DOCS_PORT] in the Resources block of the template",
    )
    .unwrap();
    assert!(
        c.summary
            .contains("TELEMETRY_DOCS_HOST, TELEMETRY_DOCS_PORT"),
        "{}",
        c.summary
    );
    let c = classify(
        Log,
        "Error: Missing required environment variable: DATABASE_URL",
    )
    .unwrap();
    assert_eq!(c.summary, "required setting DATABASE_URL is missing");
    let c = classify(Cfn, "Template format error: Unresolved resource dependencies [VpcId, SubnetA] in the Resources block of the template").unwrap();
    assert!(c.summary.contains("VpcId, SubnetA"), "{}", c.summary);
}

/// The new log rules see every line of a live tail: ordinary lines that use their words, or a
/// logger's own progress level, stay quiet; the failures beside them do not.
#[test]
fn ordinary_log_lines_with_the_new_rules_words_stay_quiet() {
    let cases: &[(&str, Option<&str>)] = &[
        (
            "2026-11-30 INFO feature flag NEW_CHECKOUT not set for tenant 42",
            None,
        ),
        ("warn: OPTIONAL_FEATURE_FLAG is not set", None),
        (
            "{\"level\":\"info\",\"msg\":\"REDIS_URL is not set\"}",
            None,
        ),
        ("Listening on 0.0.0.0:8080 (set PORT to change)", None),
        ("Using DATABASE_URL from environment", None),
        ("Missing translation: en.checkout.title", None),
        (
            "Error: Config validation error: \"S3_BUCKET_NAME\" is required",
            Some("log.missing_env_var"),
        ),
        ("Request denied: AccessDenied for user 42 on /admin", None),
        ("audit: policy check AccessDenied count=0", None),
        (
            "INFO retried after AccessDeniedException, credentials refreshed",
            None,
        ),
        (
            "S3ServiceException [AccessDenied]: Access Denied",
            Some("log.aws_access_denied"),
        ),
        (
            "<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>",
            Some("log.aws_access_denied"),
        ),
        (
            "UnhandledPromiseRejectionWarning: AccessDenied: Access Denied\n    at Request.extractError (/app/node_modules/aws-sdk/lib/services/s3.js:700:35)",
            Some("log.aws_access_denied"),
        ),
        (
            "Error: ENOENT: no such file or directory, open '/app/uploads/build/a.png'",
            None,
        ),
        ("Serving static files from /app/dist", None),
        ("GET /api/build/status 200 3ms", None),
        ("WARNING: no build cache found, building from scratch", None),
        (
            "Error: ENOENT: no such file or directory, scandir '/app/dist'",
            Some("log.build_output_missing"),
        ),
    ];
    assert_rules(
        cases
            .iter()
            .map(|(text, expect)| (Source::Log, *text, *expect)),
    );
}

/// Runtimes write their crash headers at a line's start; log pipelines put a timestamp or a
/// compose column before them.
#[test]
fn crash_headers_behind_a_log_prefix() {
    let cases: &[(&str, &str)] = &[
        (
            "api-1  | panic: runtime error: invalid memory address or nil pointer dereference",
            "log.go_panic",
        ),
        (
            "2026-11-30T10:00:00.123Z panic: open /etc/app/config.yaml: no such file or directory",
            "log.go_panic",
        ),
        (
            "2026/11/30 10:00:00 fatal error: all goroutines are asleep - deadlock!",
            "log.go_panic",
        ),
        (
            "13:58:01 web.1  | Traceback (most recent call last):\n13:58:01 web.1  |   File \"app.py\", line 1, in <module>\n13:58:01 web.1  | ZeroDivisionError: division by zero",
            "log.python_traceback",
        ),
        (
            "2026-11-30 10:00:00,123 ValueError: invalid literal for int() with base 10: 'abc'",
            "log.python_traceback",
        ),
        ("worker-1  | Killed", "log.process_killed"),
    ];
    assert_rules(
        cases
            .iter()
            .map(|(text, expect)| (Source::Log, *text, Some(*expect))),
    );
    let c = classify(Source::Log, cases[3].0).unwrap();
    assert_eq!(c.summary, "uncaught ZeroDivisionError: division by zero");
    // Words that only look like a header stay quiet.
    assert_eq!(
        rule(Source::Log, "INFO don't panic: the retry worked"),
        None
    );
}

/// The ECS agent's own error names (agent/dockerclient/dockerapi/errors.go), older and rarer
/// than the ones the console shows most.
#[test]
fn the_agents_other_error_names() {
    use Source::EcsTask;
    let cases: &[(&str, &str)] = &[
        (
            "CannotPullContainerAuthError: Error response from daemon: pull access denied, repository does not exist or may require authorization: no basic auth credentials",
            "ecs.image_pull_forbidden",
        ),
        (
            "CannotPullECRContainerError: AccessDeniedException: User: arn:aws:sts::1:assumed-role/exec/x is not authorized to perform: ecr:BatchGetImage",
            "ecs.image_pull_forbidden",
        ),
        (
            "CannotPullECRContainerError: engine ecr credentials: not found",
            "ecs.image_pull_failed",
        ),
        (
            "CannotCreateVolumeError: Error response from daemon: create ecs-app-1-efs: VolumeDriver.Create: mounting volume failed: mount.nfs4: Connection timed out",
            "ecs.efs_mount_network",
        ),
        (
            "DockerTimeoutError: Could not transition to started; timed out after waiting 3m0s",
            "ecs.resource_init_other",
        ),
    ];
    assert_rules(
        cases
            .iter()
            .map(|(text, expect)| (EcsTask, *text, Some(*expect))),
    );
}

/// Real messages found in public issues while widening the rules (not in the known corpus),
/// each with its source.
#[test]
fn real_messages_found_while_widening() {
    use Source::*;
    let cases: &[(Source, &str, &str, &str)] = &[
        // The older agent's wording of a secret the execution role may not read.
        (
            EcsTask,
            "Fetching secret data from SSM Parameter Store in eu-west-1: AccessDeniedException: User: arn:aws:sts::123456789012:assumed-role/app-TaskExecutionRole/9e05ad12 is not authorized to perform: ssm:GetParameters on resource: arn:aws:ssm:eu-west-1:123456789012:parameter/app/db status code: 400, request id: 787934d9",
            "ecs.secrets_access_denied",
            "https://github.com/aws/aws-cdk/issues/3529",
        ),
        (
            EcsTask,
            "Fetching secret data from SSM Parameter Store in ap-northeast-1: AccessDeniedException: \nUser: arn:aws:sts::123456789012:assumed-role/NewRelicECSTaskExecution/abc \nis not authorized to perform: ssm:GetParameters on resource: arn:aws:ssm:ap-northeast-1:123456789012:parameter/aws/reference/secretsmanager/NewRelicLicenseKeySecret \nstatus code: 400, request id: 1",
            "ecs.secrets_access_denied",
            "https://github.com/newrelic/nri-ecs/issues/10",
        ),
        // ... and of one that does not exist (the ECS agent's ssmsecret resource).
        (
            EcsTask,
            "Fetching secret data from SSM Parameter Store in eu-west-1: invalid parameters: /demo/dev/MY_INVALID_PARAMETER",
            "ecs.secrets_not_found",
            "aws/amazon-ecs-agent agent/taskresource/ssmsecret (fetching secret data from SSM Parameter Store in %s: invalid parameters: %s)",
        ),
        // The app's own call, from the CLI inside the container and from the Java SDK v1.
        (
            Log,
            "An error occurred (AccessDeniedException) when calling the GetParameters operation: User: arn:aws:sts::123456789012:assumed-role/miketesting-ECSRole-us-west-2/i-081cc40f40abe42cd is not authorized to perform: ssm:GetParameters on resource: arn:aws:ssm:us-west-2:123456789012:parameter/production/API/POSTGRES_NAME",
            "log.aws_access_denied",
            "https://github.com/hackoregon/civic-devops/issues/241",
        ),
        (
            Log,
            "Exception in thread \"main\" com.amazonaws.services.simplesystemsmanagement.model.AWSSimpleSystemsManagementException: User: arn:aws:sts::123456789012:assumed-role/nodes.example.cluster.k8s.local/i-05101c6ca462115a9 is not authorized to perform: ssm:GetParameter on resource: arn:aws:ssm:us-east-1:123456789012:parameter/GREETING (Service: AWSSimpleSystemsManagement; Status Code: 400; Error Code: AccessDeniedException; Request ID: d8a3e20a)",
            "log.aws_access_denied",
            "https://github.com/aws-samples/aws-workshop-for-kubernetes/issues/250",
        ),
        // CDK's wrapped console output, and Serverless's prefix.
        (
            Cfn,
            "ObservabilityStack failed: ValidationError: Template format error:\nUnresolved resource dependencies [TELEMETRY_DOCS_HOST,\nTELEMETRY_DOCS_PORT] in the Resources block of the template",
            "cfn.template_invalid",
            "https://github.com/opensearch-project/observability-stack/pull/342",
        ),
        (
            Cfn,
            "Template validation error: Template format error: Unresolved resource dependencies [Routetable] in the Resources block of the template",
            "cfn.template_invalid",
            "https://github.com/serverless/serverless/issues/6008",
        ),
        // A shell's `set -u` stays its own id, env var or not (catalogue §9.2).
        (
            Log,
            "/code/bin/production-docker-entrypoint.sh: line 8: POSTGRES_HOST: unbound variable",
            "log.bash_unbound_variable",
            "https://github.com/hackoregon/civic-devops/issues/156",
        ),
        // Vite's preview server without a build, in both of its wordings.
        (
            Log,
            "error when starting preview server:\nError: The directory \"dist\" does not exist. Did you build your project?",
            "log.build_output_missing",
            "vitejs/vite packages/vite/src/node/preview.ts",
        ),
        (
            Log,
            "Error: \"dist\" does not exist. Did you build your project?",
            "log.build_output_missing",
            "vitejs/vite packages/vite/src/node/preview.ts (older releases)",
        ),
        // The older agent's error name for an image pull that cannot reach ECR.
        (
            EcsTask,
            "CannotPullECRContainerError: RequestError: send request failed caused by: Post \"https://api.ecr.us-west-2.amazonaws.com/\": net/http: request canceled while waiting for connection (Client.Timeout exceeded while awaiting headers)",
            "ecs.image_pull_network",
            "aws/amazon-ecs-agent agent/dockerclient/dockerapi/errors.go (CannotPullECRContainerError)",
        ),
    ];
    let mut wrong = Vec::new();
    for (source, text, expect, link) in cases {
        assert!(!link.is_empty());
        let got = rule(*source, text);
        if got != Some(*expect) {
            wrong.push(format!("{expect} <- {got:?}: {text} ({link})"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// Catalogue §9.3 and issue 12 item 4: wordings of older ids that their first patterns missed.
#[test]
fn older_rules_hold_the_wider_family() {
    use Source::*;
    let cases: &[(Source, &str, &str)] = &[
        // §9.3
        (
            Log,
            "make: cargo: No such file or directory",
            "log.command_not_found",
        ),
        (
            Log,
            "make[1]: go: Command not found",
            "log.command_not_found",
        ),
        (
            Cfn,
            "Volume vol-0a1b2c3d4e5f60718 is currently attached to i-0123456789abcdef0 (Service: AmazonEC2; Status Code: 400; Error Code: VolumeInUse; Request ID: 5d2c)",
            "cfn.delete_failed_dependency",
        ),
        (
            Cfn,
            "Stack:arn:aws:cloudformation:eu-west-1:123456789012:stack/app/1 is in CREATE_IN_PROGRESS state and can not be updated.",
            "cfn.in_progress_info",
        ),
        (
            Api,
            "An error occurred (ValidationError) when calling the UpdateStack operation: Stack:arn:aws:cloudformation:eu-west-1:123456789012:stack/app/1 is in UPDATE_IN_PROGRESS state and can not be updated.",
            "cfn.in_progress_info",
        ),
        (
            Log,
            "Error: P1001: Can't reach database server at `db.internal`:`5432`",
            "log.econnrefused",
        ),
        // item 4: a prefix before an anchored reason, new panic headers, SDK v3 waiters, ports
        (
            Cfn,
            "Hook invocations complete.  Resource creation Initiated",
            "cfn.in_progress_info",
        ),
        (
            Cfn,
            "Hook invocations complete. Resource creation initiated",
            "cfn.in_progress_info",
        ),
        (Cfn, "Hook invocations complete", "cfn.in_progress_info"),
        (
            Cfn,
            "Hook invocations complete. Resource creation cancelled",
            "cfn.cascade_cancelled",
        ),
        (
            Log,
            "thread 'main' (13) panicked at src/main.rs:4:5:\nboom",
            "log.rust_panic",
        ),
        (
            Api,
            "TimeoutError: {\"state\":\"TIMEOUT\",\"reason\":\"Waiter has timed out\",\"observedResponses\":{\"200: CREATE_IN_PROGRESS\":40}}",
            "api.waiter_timeout",
        ),
        (
            Api,
            "Error: {\"state\":\"FAILURE\",\"reason\":{\"Stacks\":[{\"StackName\":\"app\",\"StackStatus\":\"ROLLBACK_COMPLETE\"}]},\"observedResponses\":{}}",
            "api.waiter_failed",
        ),
        (
            Log,
            "Web server failed to start. Port 8080 was already in use.",
            "log.addr_in_use",
        ),
        (
            Log,
            "Port 5000 is in use by another program. Either identify and stop that program, or start the server with a different port.",
            "log.addr_in_use",
        ),
        (
            Log,
            "nginx: [emerg] bind() to 0.0.0.0:80 failed (98: Address already in use)",
            "log.addr_in_use",
        ),
        (
            Log,
            "OSError: [Errno 48] Address already in use",
            "log.addr_in_use",
        ),
        // text cut off before its last words (a console column, a 255-character reason)
        (
            Cfn,
            "The following resource(s) failed to create: [ApiService, ApiTargetGroup, MigrationH",
            "cfn.resources_failed_summary",
        ),
        (
            Cfn,
            "Stack:arn:aws:cloudformation:eu-west-1:123456789012:stack/app/1 is in ROLLBACK_COMPLETE state and can not",
            "cfn.stack_rollback_complete_blocked",
        ),
        (
            Cfn,
            "Failed to receive 1 resource signal(s) within the specifi",
            "cfn.signal_timeout",
        ),
        (
            EcsService,
            "(service api) is unable to consistently start tasks succ",
            "ecs.svc_task_start_impaired",
        ),
        (
            EcsService,
            "(service api) was unable to place a task because no container instance met all of its requirements. The closest matching (container-instance 4f1c) has insufficient memory avail",
            "ecs.svc_placement_resources",
        ),
        (
            EcsService,
            "(service api) was unable to place a task because no container instance met all of its requirements. The closest matching (container-instance 4f1c) is already using a port req",
            "ecs.svc_placement_port_in_use",
        ),
        (
            EcsService,
            "(service api) was unable to place a task because no container instance met all of its requirements. Reason: No Container Instances were found in yo",
            "ecs.svc_placement_no_instances",
        ),
        (
            EcsService,
            "(service api) was unable to stop or start tasks during a deployment because of the service deploym",
            "ecs.svc_deployment_config_deadlock",
        ),
        (
            Elb,
            "Health checks failed with these codes: [50",
            "elb.response_code_mismatch",
        ),
        (
            Log,
            "Error: Could not find a production build in the '/app/.next' direc",
            "log.build_output_missing",
        ),
        // the EC2 launch type's docker volume driver wording of an unreachable EFS
        (
            EcsTask,
            "CannotCreateContainerError: Error response from daemon: failed to mount local volume: mount fs-0123abcd.efs.eu-west-1.amazonaws.com:/:/var/lib/docker/volumes/ecs-app-1-data/_data, flags: 0x0, data: addr=10.0.1.5,nfsvers=4.1: connection timed out",
            "ecs.efs_mount_network",
        ),
    ];
    assert_rules(
        cases
            .iter()
            .map(|(source, text, expect)| (*source, *text, Some(*expect))),
    );
    let c = classify(
        Cfn,
        "Hook invocations complete.  Resource creation Initiated",
    )
    .unwrap();
    assert_eq!(c.summary, "progress: Resource creation Initiated");
}

#[test]
fn log_rules_apply_to_log_lines_only() {
    let reason =
        "ResourceInitializationError: unable to pull secrets or registry auth: something new";
    assert_eq!(
        rule(Source::EcsTask, reason),
        Some("ecs.resource_init_other")
    );
    assert_eq!(
        rule(Source::Log, "ValueError: bad"),
        Some("log.python_traceback")
    );
    assert_eq!(rule(Source::EcsTask, "ValueError: bad"), None);
    assert_eq!(rule(Source::Stackwatch, "anything"), None);
    assert_eq!(
        rule(Source::Log, "GET /api/v1/orders/42 404: not found"),
        None
    );
}

#[test]
fn classify_survives_any_input() {
    for source in [
        Source::Cfn,
        Source::EcsTask,
        Source::EcsService,
        Source::Elb,
        Source::Log,
        Source::Api,
    ] {
        assert_eq!(classify(source, ""), None);
        let _ = classify(source, "\u{0}\u{fffd}\u{10ffff}é\n\r\t");
        let huge = "é".repeat(600_000) + " Essential container in task exited";
        let _ = classify(source, &huge);
        let _ = classify(
            source,
            &"Resource handler returned message: \"".repeat(1000),
        );
        let _ = classify(source, "An error occurred (");
        let _ = classify(source, "An error occurred (X) when calling the Y operation");
    }
}

#[test]
fn summaries_fill_in_what_the_message_carries() {
    let c = classify(Source::EcsService, "(service payments-api) (port 8080) is unhealthy in (target-group arn:aws:elasticloadbalancing:eu-west-1:1:targetgroup/payments-api-tg/1) due to (reason Health checks failed with these codes: [404]).").unwrap();
    assert_eq!(
        c.summary,
        "service payments-api target on port 8080 answers health checks with HTTP 404 (tg payments-api-tg)"
    );
    let c = classify(Source::Cfn, "Resource handler returned message: \"Error occurred during operation 'ECS Deployment Circuit Breaker was triggered'.\" (RequestToken: f64cd8d2-688e-c32b-16e4-e2f891081a59, HandlerErrorCode: GeneralServiceException)").unwrap();
    assert_eq!(c.rule, "cfn.ecs_circuit_breaker");
    let c = classify(
        Source::Log,
        "Traceback (most recent call last):\n  File \"/app/main.py\", line 3, in <module>\n    import boto3\nModuleNotFoundError: No module named 'boto3'",
    )
    .unwrap();
    assert_eq!(
        c.summary,
        "uncaught ModuleNotFoundError: No module named 'boto3'"
    );
    let c = classify(Source::Cfn, "Resource handler returned message: \"Invalid request provided: bad\" (RequestToken: 0c2e4a51-1111-2222-3333-444455556666, HandlerErrorCode: InvalidRequest)").unwrap();
    assert_eq!(
        c.summary,
        "resource provider failed (InvalidRequest): Invalid request provided: bad"
    );
}

// How fast these are is measured by `cargo bench --bench classify`, not here: a test asserts
// what the answer is, never how long it took.
#[test]
fn an_ordinary_request_log_line_matches_no_rule_and_does_not_read_as_a_failure() {
    let line = "2026-11-23T12:00:00.000Z INFO request handled method=GET path=/api/v1/payments status=200 duration_ms=12 user=42 trace=abcdef0123456789";
    let plain = "request handled method=GET path=/api/v1/payments status=200 duration_ms=12";
    for text in [line, plain] {
        assert!(rule_of(Source::Log, text).is_none(), "{text}");
        assert!(!reads_as_failure(Source::Log, text), "{text}");
    }
}

#[test]
#[ignore]
fn classification_timings() {
    let big_log = "2026-11-23 INFO handled request Error-free path=/x status=200 ".repeat(600);
    let inputs: &[(Source, &str)] = &[
        (Source::EcsTask, EFS_TIMEOUT),
        (Source::EcsTask, "Essential container in task exited"),
        (
            Source::Cfn,
            "Resource handler returned message: \"Invalid request provided: bad\" (RequestToken: 0c2e4a51-1111-2222-3333-444455556666, HandlerErrorCode: InvalidRequest)",
        ),
        (
            Source::Log,
            "Error [ERR_MODULE_NOT_FOUND]: Cannot find package 'express' imported from /app/server.js",
        ),
        (Source::Log, &big_log),
    ];
    for (source, text) in inputs {
        let _ = classify(*source, text);
        let n = 2000;
        let start = std::time::Instant::now();
        for _ in 0..n {
            let _ = classify(*source, text);
        }
        println!(
            "{:?} {} bytes: {:?}",
            source,
            text.len(),
            start.elapsed() / n
        );
    }
}

#[test]
#[ignore]
fn ingest_throughput() {
    let lines = [
        "2026-11-23T12:00:00.000Z INFO request handled method=GET path=/api/v1/payments status=200 duration_ms=12",
        "GET /health 200 1ms",
        "{\"level\":\"info\",\"msg\":\"payment captured\",\"amount\":1200,\"currency\":\"EUR\",\"trace\":\"abc\"}",
        "Connected to database pool size=10",
    ];
    let mut sim = Sim::new();
    let n = 200_000;
    let obs: Vec<Observation> = (0..n)
        .map(|i| {
            Observation::new(
                t(i as i64 / 1000),
                log("/ecs/payments-api", lines[i % lines.len()], i as i64 / 1000),
            )
        })
        .collect();
    let start = std::time::Instant::now();
    for o in &obs {
        sim.p.detector.observe(o, &sim.p.store);
    }
    let detect = start.elapsed();
    let start = std::time::Instant::now();
    let mut changes = Vec::new();
    for o in &obs {
        sim.p.feed(o, &mut changes);
        changes.clear();
    }
    let ingest = start.elapsed();
    println!(
        "detect only: {:?}/obs ({:.0}/s); store+detect: {:?}/obs",
        detect / n as u32,
        n as f64 / detect.as_secs_f64(),
        ingest / n as u32
    );
}

#[test]
#[ignore]
fn first_classification_cost() {
    let start = std::time::Instant::now();
    let _ = classify(Source::Log, "hello");
    println!("first log classify: {:?}", start.elapsed());
    let start = std::time::Instant::now();
    let _ = classify(Source::EcsTask, EFS_TIMEOUT);
    println!("first task classify (captures): {:?}", start.elapsed());
}

#[test]
fn every_promised_rule_id_is_implemented() {
    let (text_part, state_part) = PROMISED_IDS
        .split_once("[state]")
        .expect("rule-ids.txt has a [state] section");
    let ids = |part: &'static str| {
        part.lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with('['))
    };
    let text_ids: std::collections::BTreeSet<&str> = rule_ids().collect();
    let missing: Vec<&str> = ids(text_part).filter(|i| !text_ids.contains(i)).collect();
    assert!(missing.is_empty(), "text rules missing: {missing:?}");
    assert!(ids(text_part).count() >= 119, "the promised list lost ids");
    let missing: Vec<&str> = ids(state_part)
        .filter(|i| !STATE_RULES.iter().any(|r| r.id == *i))
        .collect();
    assert!(missing.is_empty(), "state rules missing: {missing:?}");
    assert_eq!(ids(state_part).count(), 7, "the promised state rules");
}

#[test]
fn every_corpus_line_keeps_its_source_link() {
    for line in CORPUS.lines().chain(RULE_EXAMPLES.lines()) {
        let v: serde_json::Value = serde_json::from_str(line).expect("corpus line is JSON");
        let link = v["ref"].as_str().unwrap_or_default();
        assert!(!link.is_empty(), "no ref: {line}");
    }
}

// ---------------------------------------------------------------- problems

/// A service whose tasks crash on start: a task at 10.0.1.5 logs the error to its stream,
/// exits 1, and its target fails the health checks.
fn crashing_service(sim: &mut Sim, service: &str, ip: &str, id: &str, at: i64) {
    let group = format!("/ecs/{service}");
    sim.feed(
        at,
        EcsTask {
            private_ip: Some(ip.into()),
            ..running(id, service, at)
        },
    );
    sim.feed(
        at + 1,
        LogEvent {
            group: group.clone(),
            stream: format!("ecs/app/{id}"),
            timestamp: t(at + 1),
            message: "Error: Cannot find module 'express'".into(),
            event_id: None,
        },
    );
    sim.feed(
        at + 2,
        target(
            &format!("arn:aws:elasticloadbalancing:eu-west-1:1:targetgroup/{service}-tg/1"),
            ip,
            "unhealthy",
            Some("Target.FailedHealthChecks"),
            Some("Health checks failed"),
        ),
    );
    sim.feed(
        at + 3,
        EcsTask {
            private_ip: Some(ip.into()),
            ..crashed(id, service, at, at + 3)
        },
    );
    sim.tick(at + 6);
}

fn problem_roots(sim: &Sim) -> Vec<(&'static str, String, usize)> {
    let open = sim.p.detector.open_flags();
    problems(&open, &sim.p.store)
        .iter()
        .map(|p| (p.root.rule, p.root.resource.clone(), p.symptoms.len() + 1))
        .collect()
}

#[test]
fn unhealthy_targets_of_crashing_tasks_are_one_problem_with_the_whole_chain() {
    let mut sim = Sim::new();
    crashing_service(&mut sim, "payments-api", "10.0.1.5", "aaa111", 0);
    let open = sim.p.detector.open_flags();
    assert!(open.len() >= 3, "log, task and target flags: {open:#?}");
    let grouped = problems(&open, &sim.p.store);
    assert_eq!(grouped.len(), 1, "{grouped:#?}");
    let p = &grouped[0];
    assert_eq!(p.root.rule, "log.node_module_not_found");
    let evidence: Vec<(Source, &str)> = p
        .flags()
        .flat_map(|f| f.evidence.iter().map(|e| (e.source, e.resource.as_str())))
        .collect();
    for (source, resource) in [
        (Source::Log, "ecs/app/aaa111"),
        (Source::EcsTask, "aaa111"),
        (Source::Elb, "10.0.1.5:8080"),
    ] {
        assert!(
            evidence.contains(&(source, resource)),
            "{source:?} {resource} in {evidence:?}"
        );
    }
    let stopped = p
        .flags()
        .flat_map(|f| f.evidence.iter())
        .find(|e| e.source == Source::EcsTask)
        .unwrap();
    assert!(stopped.text.contains("Essential container in task exited"));
    assert!(stopped.text.contains("app exit 1"), "{}", stopped.text);
    let chain = p.chain(t(10));
    assert!(
        chain.starts_with("Node cannot find module 'express' → 1 task exited 1"),
        "{chain}"
    );
    assert!(chain.contains("targets unhealthy"), "{chain}");
}

#[test]
fn two_unrelated_failures_stay_two_problems() {
    let mut sim = Sim::new();
    crashing_service(&mut sim, "payments-api", "10.0.1.5", "aaa111", 0);
    crashing_service(&mut sim, "orders", "10.0.2.9", "bbb222", 20);
    let roots = problem_roots(&sim);
    assert_eq!(roots.len(), 2, "{roots:?}");
    assert!(
        roots
            .iter()
            .all(|(rule, ..)| *rule == "log.node_module_not_found")
    );
    let groups: Vec<&str> = roots.iter().map(|(_, r, _)| r.as_str()).collect();
    assert!(groups.contains(&"/ecs/payments-api") && groups.contains(&"/ecs/orders"));
}

#[test]
fn flag_changes_name_their_problem() {
    let mut sim = Sim::new();
    crashing_service(&mut sim, "payments-api", "10.0.1.5", "aaa111", 0);
    let crash = sim.opened("ecs.essential_exited");
    let problem = crash[0].problem.as_ref().unwrap();
    assert_eq!(problem.rule, "log.node_module_not_found");
    assert_eq!(problem.resource, "/ecs/payments-api");
    // The root names itself.
    let root = sim.opened("log.node_module_not_found");
    assert_eq!(
        root[0].problem.as_ref().unwrap().rule,
        "log.node_module_not_found"
    );
}

#[test]
fn identical_evidence_collapses_into_one_item_with_a_count() {
    let mut sim = Sim::new();
    for i in 0..12 {
        sim.feed(i, stopped(&format!("t{i}"), "payments-api", EFS_TIMEOUT, i));
    }
    let f = sim.flag("ecs.efs_mount_network").unwrap();
    assert_eq!(f.count, 12);
    assert_eq!(f.evidence.len(), 1, "{:#?}", f.evidence);
    let item = &f.evidence[0];
    assert_eq!(item.repeats, 12);
    assert_eq!(item.resource, "t11", "the newest sighting");
    assert!(item.counted_text().ends_with(" ×12"));
}

/// An update whose new tasks cannot pull their image: the circuit breaker rolls the service
/// back, the service is steady again on the old revision, CloudFormation fails the service
/// and rolls back.
fn image_update_rolled_back(sim: &mut Sim) {
    const IMAGE: &str = "CannotPullContainerError: pull image manifest has been retried 5 time(s): failed to resolve ref 1.dkr.ecr.eu-west-1.amazonaws.com/orders:2.1.0-rc1: 1.dkr.ecr.eu-west-1.amazonaws.com/orders:2.1.0-rc1: not found";
    sim.feed(
        0,
        stack_row("orders", "UPDATE_IN_PROGRESS", Some("User Initiated"), 0),
    );
    sim.feed(
        1,
        CfnResource {
            stack: "orders".into(),
            logical_id: "Service".into(),
            physical_id: Some("arn:aws:ecs:eu-west-1:1:service/prod/orders".into()),
            resource_type: "AWS::ECS::Service".into(),
            status: Some("UPDATE_IN_PROGRESS".into()),
            signal: None,
        },
    );
    let service_event = |status: &str, reason: Option<&str>, ts: i64| CfnEvent {
        physical_id: Some("arn:aws:ecs:eu-west-1:1:service/prod/orders".into()),
        ..cfn_event("orders", "Service", "AWS::ECS::Service", status, reason, ts)
    };
    sim.feed(2, service_event("UPDATE_IN_PROGRESS", None, 2));
    let old = EcsDeployment {
        id: "ecs-svc/1".into(),
        status: "ACTIVE".into(),
        task_definition: "orders:7".into(),
        desired: 2,
        running: 2,
        pending: 0,
        failed_tasks: 0,
        rollout_state: Some("COMPLETED".into()),
        rollout_state_reason: None,
        created_at: t(-1000),
        updated_at: None,
    };
    for i in 0..3 {
        sim.feed(
            10 + i * 10,
            stopped(&format!("new{i}"), "orders", IMAGE, 10 + i * 10),
        );
    }
    let mut svc = service("orders", 2, 2);
    svc.deployments = vec![
        EcsDeployment {
            id: "ecs-svc/2".into(),
            status: "PRIMARY".into(),
            task_definition: "orders:8".into(),
            desired: 2,
            running: 0,
            pending: 0,
            failed_tasks: 3,
            rollout_state: Some("FAILED".into()),
            rollout_state_reason: Some(
                "ECS deployment circuit breaker: tasks failed to start.".into(),
            ),
            created_at: t(2),
            updated_at: Some(t(40)),
        },
        old.clone(),
    ];
    sim.feed(40, svc.clone());
    sim.feed(
        45,
        service_event(
            "UPDATE_FAILED",
            Some("Error occurred during operation 'ECS Deployment Circuit Breaker was triggered'."),
            45,
        ),
    );
    sim.feed(
        46,
        stack_row(
            "orders",
            "UPDATE_ROLLBACK_IN_PROGRESS",
            Some("The following resource(s) failed to update: [Service]."),
            46,
        ),
    );
    // The rollback: the old revision runs again, steady.
    svc.deployments = vec![EcsDeployment {
        id: "ecs-svc/3".into(),
        status: "PRIMARY".into(),
        created_at: t(50),
        ..old
    }];
    sim.feed(60, svc);
    sim.feed(
        61,
        EcsServiceEvent {
            cluster: "prod".into(),
            service: "orders".into(),
            id: "steady".into(),
            created_at: t(61),
            message: "(service orders) has reached a steady state.".into(),
        },
    );
    sim.feed(
        90,
        stack_row("orders", "UPDATE_ROLLBACK_COMPLETE", None, 90),
    );
    sim.run(0, 400);
}

#[test]
fn a_rolled_back_image_failure_names_the_image_as_the_root_cause() {
    let mut sim = Sim::new();
    image_update_rolled_back(&mut sim);
    // The rollback hid the symptom; the cause stays open.
    let image = sim
        .flag("ecs.image_not_found")
        .expect("the image flag stays open");
    assert_eq!(image.count, 3);
    let open = sim.p.detector.open_flags();
    let grouped = problems(&open, &sim.p.store);
    assert_eq!(grouped.len(), 1, "{grouped:#?}");
    assert_eq!(grouped[0].root.rule, "ecs.image_not_found");
    let line = root_cause_line(&grouped, t(400)).unwrap();
    assert!(line.contains("orders:2.1.0-rc1"), "{line}");
    assert!(line.contains("(3 tasks)"), "{line}");
    assert!(line.contains("Service failed"), "{line}");
    // CloudFormation's words are the evidence of a symptom.
    let cfn = grouped[0]
        .flags()
        .find(|f| f.rule == "cfn.root_cause")
        .unwrap();
    assert!(
        cfn.evidence
            .iter()
            .any(|e| e.text.contains("Circuit Breaker"))
    );
}

// ---------------------------------------------------------------- multi-line log errors

fn lines_of(sim: &mut Sim, stream: &str, from: i64, lines: &[&str]) {
    for (i, line) in lines.iter().enumerate() {
        sim.feed(
            from,
            LogEvent {
                group: "/ecs/app".into(),
                stream: stream.into(),
                timestamp: t(from),
                message: (*line).into(),
                event_id: Some(format!("{stream}-{from}-{i}")),
            },
        );
    }
}

#[test]
fn a_traceback_split_over_log_events_is_one_evidence_item_classified_by_its_last_line() {
    let mut sim = Sim::new();
    lines_of(
        &mut sim,
        "app/web/1",
        0,
        &[
            "Traceback (most recent call last):",
            "  File \"/app/main.py\", line 12, in <module>",
            "    main()",
            "  File \"/app/main.py\", line 8, in main",
            "    bucket = os.environ[\"S3_BUCKET_NAME\"]",
            "  File \"<frozen os>\", line 679, in __getitem__",
            "KeyError: 'S3_BUCKET_NAME'",
        ],
    );
    // Held until its stream moves on or goes quiet.
    sim.tick(3);
    let open = sim.p.detector.open_flags();
    assert_eq!(open.len(), 1, "one error, one flag: {open:#?}");
    let f = open[0];
    assert_eq!(f.rule, "log.missing_env_var", "{}", f.summary);
    assert_eq!(f.count, 1);
    assert_eq!(f.evidence.len(), 1);
    let text = &f.evidence[0].text;
    assert!(
        text.starts_with("KeyError: 'S3_BUCKET_NAME' [7 lines from: Traceback"),
        "{text}"
    );
}

#[test]
fn a_java_cause_chain_is_decided_by_its_cause_and_a_node_stack_grows_its_flag() {
    let mut sim = Sim::new();
    lines_of(
        &mut sim,
        "app/api/1",
        0,
        &[
            "Exception in thread \"main\" java.lang.IllegalStateException: Failed to start",
            "\tat com.example.App.main(App.java:10)",
            "Caused by: java.net.UnknownHostException: db.internal: Name or service not known",
            "\t... 1 more",
        ],
    );
    // The next ordinary line closes the block at once.
    lines_of(&mut sim, "app/api/1", 1, &["INFO shutting down"]);
    assert!(sim.flag("log.dns_not_found").is_some());
    assert!(sim.flag("log.java_exception").is_none());

    lines_of(
        &mut sim,
        "app/web/2",
        10,
        &[
            "Error: Cannot find module 'express'",
            "Require stack:",
            "- /app/server.js",
            "    at Module._resolveFilename (node:internal/modules/cjs/loader:1077:15)",
        ],
    );
    // The decisive first line flags at once.
    let f = sim.flag("log.node_module_not_found").unwrap();
    assert_eq!(f.first_seen, t(10));
    sim.tick(13);
    let f = sim.flag("log.node_module_not_found").unwrap();
    assert_eq!(f.count, 1, "frames are no new lines of the error");
    assert_eq!(
        f.evidence.back().unwrap().text,
        "Error: Cannot find module 'express' [+3 more lines]"
    );
}

#[test]
fn remembered_classifications_are_the_rules_own_per_source_and_bounded() {
    let detector = Detector::new();
    let reason = "CannotPullContainerError: pull image manifest has been retried 5 time(s): failed to resolve ref docker.io/library/app:v2: not found";
    for source in [Source::EcsTask, Source::Cfn, Source::EcsTask, Source::Cfn] {
        assert_eq!(
            detector.classify_ranked(source, reason),
            super::text_rules::classify_ranked(source, reason),
            "{source:?}"
        );
    }
    // Past the cap the memory starts over instead of growing.
    for i in 0..CLASSIFIED_CAP + 10 {
        let _ = detector.classify_ranked(Source::EcsTask, &format!("Task failed {i}"));
    }
    assert!(detector.classified.borrow().0.len() <= CLASSIFIED_CAP);
    assert_eq!(
        detector.classify_ranked(Source::EcsTask, reason),
        super::text_rules::classify_ranked(Source::EcsTask, reason)
    );
}

#[test]
fn a_log_block_going_quiet_between_two_ticks_closes_at_the_next_one() {
    // Ticks fall on the first observation's grid; the traceback ends half a second off it,
    // so it goes quiet between two ticks. Skipping quiet ticks must not skip that one.
    let line = |ms: i64, message: &str| {
        let at = t(0) + chrono::TimeDelta::milliseconds(ms);
        Observation::new(
            at,
            ObservationKind::LogEvent(LogEvent {
                group: "/ecs/app".into(),
                stream: "app/web/1".into(),
                timestamp: at,
                message: message.into(),
                event_id: None,
            }),
        )
    };
    let opened_at = |detector: Detector, second_by_second: bool| {
        let mut p = Pipeline::new(StoreCaps::default()).with_detector(detector);
        let mut changes = Vec::new();
        p.feed(&line(0, "starting"), &mut changes);
        p.feed(
            &line(10_500, "Traceback (most recent call last):"),
            &mut changes,
        );
        p.feed(
            &line(10_500, "  File \"/app/main.py\", line 3, in <module>"),
            &mut changes,
        );
        p.feed(&line(10_500, "KeyError: 'S3_BUCKET_NAME'"), &mut changes);
        // Something the state rules read comes in: the tick at 12 s runs them all and works
        // out the next due time while the block, quiet at 12.5 s, is still open.
        let at = t(0) + chrono::TimeDelta::milliseconds(12_200);
        p.feed(&Observation::new(at, service("api", 1, 1)), &mut changes);
        if second_by_second {
            for s in 11..=30 {
                p.advance_to(t(s), &mut changes);
            }
        } else {
            // The resting ticks are passed over in one step (`Detector::resting_until`).
            p.advance_to(t(30), &mut changes);
        }
        changes.iter().find_map(|c| match c {
            crate::pipeline::Change::Flag {
                at,
                change: FlagChange::Opened(_),
            } => Some(*at),
            _ => None,
        })
    };
    let every = opened_at(Detector::new().on_every_tick(), true);
    assert_eq!(every, Some(t(13)), "2 s after 10.5 s, at the next tick");
    assert_eq!(opened_at(Detector::new(), true), every);
    assert_eq!(opened_at(Detector::new().on_every_tick(), false), every);
    assert_eq!(opened_at(Detector::new(), false), every);
}

/// Feeds `script` (second, observation) to a detector that lets quiet ticks rest and to one
/// that runs every rule every second; both must hand on the same changes. Returns the flag
/// changes. (Each scenario below is a case where only the observation itself can wake the
/// rule: no deadline is left that would.)
fn same_as_every_tick(script: &[(i64, ObservationKind)], end: i64) -> Vec<FlagChange> {
    let run = |detector: Detector| {
        let mut p = Pipeline::new(StoreCaps::default()).with_detector(detector);
        let mut changes = Vec::new();
        let mut script = script.iter().peekable();
        for s in 0..=end {
            while let Some((_, kind)) = script.next_if(|(at, _)| *at <= s) {
                p.feed(&Observation::new(t(s), kind.clone()), &mut changes);
            }
            p.advance_to(t(s), &mut changes);
        }
        changes
    };
    let every = run(Detector::new().on_every_tick());
    assert_eq!(run(Detector::new()), every);
    every
        .into_iter()
        .filter_map(|c| match c {
            crate::pipeline::Change::Flag { change, .. } => Some(change),
            crate::pipeline::Change::Row(_) => None,
        })
        .collect()
}

fn has_change(changes: &[FlagChange], opened: bool, rule: &str) -> bool {
    changes.iter().any(|c| match c {
        FlagChange::Opened(f) => opened && f.rule == rule,
        FlagChange::Resolved(f) => !opened && f.rule == rule,
    })
}

/// An instance waiting since 0 s, then its CreationPolicy (1 signal within `timeout_s`) read
/// from a resource listing at `at`.
fn policy_learnt_late(timeout_s: u64, at: i64) -> [(i64, ObservationKind); 2] {
    let started = cfn_event(
        "app",
        "Host",
        "AWS::EC2::Instance",
        "CREATE_IN_PROGRESS",
        None,
        0,
    );
    let host = CfnResource {
        stack: "app".into(),
        logical_id: "Host".into(),
        physical_id: None,
        resource_type: "AWS::EC2::Instance".into(),
        status: Some("CREATE_IN_PROGRESS".into()),
        signal: Some(SignalPolicy {
            count: 1,
            timeout_s,
        }),
    };
    [
        (0, started.into()),
        (at, ObservationKind::CfnResource(host)),
    ]
}

#[test]
fn a_signal_policy_learnt_late_wakes_the_stall_rules() {
    // The instance has waited 1000 s (its stall alarm crossed at 900 s) when its
    // CreationPolicy comes in from a resource listing, alone: the countdown's thresholds
    // passed before the last tick that moved anything, so no deadline is left to wake the
    // rules; the listing itself must.
    let changes = same_as_every_tick(&policy_learnt_late(600, 1000), 1020);
    assert!(has_change(&changes, true, "stall.signal_countdown"));
}

#[test]
fn task_stops_that_raise_no_flag_of_their_own_still_wake_the_crash_loop_rule() {
    // A stop reason no rule knows and that reads like nothing: no flag per task, but three
    // started tasks stopped within the window are a crash loop.
    let quiet_stop = |id: &str, at: i64| {
        let task = EcsTask {
            stopped_reason: Some("the quick brown fox".into()),
            ..crashed(id, "payments-api", at - 20, at)
        };
        (at, ObservationKind::from(task))
    };
    let script = [
        (0, service("payments-api", 1, 0).into()),
        quiet_stop("a", 60),
        quiet_stop("b", 120),
        quiet_stop("c", 180),
    ];
    let changes = same_as_every_tick(&script, 200);
    assert!(has_change(&changes, true, "ecs.crash_loop"));
}

#[test]
fn a_service_turning_healthy_after_its_crash_window_emptied_wakes_the_crash_loop_rule() {
    // The stops leave the window while the service is still down, so the flag stays; the
    // service then runs all its tasks, which alone must resolve it.
    let script = [
        (0, service("payments-api", 1, 0).into()),
        (60, crashed("a", "payments-api", 30, 60).into()),
        (120, crashed("b", "payments-api", 90, 120).into()),
        (180, crashed("c", "payments-api", 150, 180).into()),
        (1500, service("payments-api", 1, 1).into()),
    ];
    let changes = same_as_every_tick(&script, 1520);
    assert!(has_change(&changes, true, "ecs.crash_loop"));
    assert!(has_change(&changes, false, "ecs.crash_loop"));
}

#[test]
fn a_service_running_all_its_tasks_wakes_the_resolution_of_task_flags() {
    // Task b has run since before a's crash, so "a newer task started" never holds; the
    // service reporting all its tasks running, long after, is what resolves the crash flag.
    let script = [
        (0, service("payments-api", 1, 0).into()),
        (10, running("b", "payments-api", 10).into()),
        (60, crashed("a", "payments-api", 30, 60).into()),
        (1500, service("payments-api", 1, 1).into()),
    ];
    let changes = same_as_every_tick(&script, 1520);
    assert!(has_change(&changes, true, "ecs.essential_exited"));
    assert!(has_change(&changes, false, "ecs.essential_exited"));
}

#[test]
fn log_lines_prepared_ahead_come_to_the_same_rows_and_flags() {
    // Plain lines are settled beforehand; lines with a rule or a marker are not, and the
    // user's rules still see the plain ones.
    let plain = |text: &str| Prejudged::of(&Observation::new(t(0), log("/ecs/api", text, 0)));
    assert_eq!(plain("GET /health 200 3ms").plain_log, Some(true));
    assert_eq!(
        plain("payment gateway stripe unreachable").plain_log,
        Some(true)
    );
    assert_eq!(
        plain("Error: Cannot find module 'express'").plain_log,
        Some(false)
    );
    assert_eq!(
        plain("ERROR something no rule knows").plain_log,
        Some(false)
    );
    let rule = UserRule::new(
        "app.gateway_down",
        Source::Log,
        Severity::Error,
        r"payment gateway (?P<gw>\w+) unreachable",
        "payment gateway ${gw} unreachable",
        "check the gateway's status page",
    )
    .unwrap();
    let lines = [
        "GET /health 200 3ms",
        "payment gateway stripe unreachable",
        "Error: Cannot find module 'express'",
        "ERROR something no rule knows",
        "payment gateway stripe unreachable",
    ];
    let run = |prejudge: bool| {
        let user = UserRules::new(vec![rule.clone()], []);
        let mut p = Pipeline::new(StoreCaps::default())
            .with_detector(Detector::with_user_rules(DetectConfig::default(), user));
        let mut changes = Vec::new();
        for (i, text) in lines.iter().enumerate() {
            let obs = Observation::new(t(i as i64), log("/ecs/api", text, i as i64));
            let prepared = if prejudge {
                Prepared::of(&obs)
            } else {
                Prepared::default()
            };
            p.feed_prepared(&obs, &prepared, &mut changes);
            // A repeat (the same event id) is dropped by the key worked out ahead too.
            p.feed_prepared(&obs, &prepared, &mut changes);
        }
        p.advance_to(t(60), &mut changes);
        changes
    };
    let judged = run(true);
    assert_eq!(judged, run(false));
    let opened: Vec<&str> = judged
        .iter()
        .filter_map(|c| match c {
            crate::pipeline::Change::Flag {
                change: FlagChange::Opened(f),
                ..
            } => Some(f.rule),
            _ => None,
        })
        .collect();
    for rule in ["app.gateway_down", "log.node_module_not_found", UNKNOWN] {
        assert!(opened.contains(&rule), "{rule}: {opened:?}");
    }
}

#[test]
fn the_one_scan_for_plain_log_lines_agrees_with_the_rules_and_the_markers() {
    // What the detector would otherwise find with two scans: no log rule, no failure marker.
    let separate = |t: &str| rule_of(Source::Log, t).is_none() && !reads_as_failure(Source::Log, t);
    let mut texts: Vec<String> = CORPUS
        .lines()
        .chain(RULE_EXAMPLES.lines())
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("corpus line is JSON");
            v["text"].as_str().unwrap().to_string()
        })
        .collect();
    // Case-changed variants, and every message cut at many points (most of the cuts lose
    // what the rules look for).
    for t in texts.clone() {
        texts.push(t.to_lowercase());
        texts.push(t.to_uppercase());
        for cut in (1..t.len()).step_by(11).filter(|&i| t.is_char_boundary(i)) {
            texts.push(t[cut..].to_string());
            texts.push(t[..cut].to_string());
        }
    }
    texts.extend(
        [
            "",
            "GET /health 200 3ms request_id=5",
            "listening on :8080",
            "INFO request served",
            "[error] upstream timed out",
            "level=warn msg=slow",
        ]
        .map(String::from),
    );
    // Plain for the one scan is plain for the two (it may leave a line to the full
    // judgement, which finds nothing: a rule whose set pattern matches but whose own regex
    // does not); on these texts the two agree.
    let mut plain = 0;
    for t in &texts {
        assert_eq!(is_plain_log(t), separate(t), "{t:?}");
        plain += usize::from(is_plain_log(t));
    }
    assert!(
        plain > 100 && plain < texts.len() - 100,
        "{plain} of {}",
        texts.len()
    );
}

#[test]
fn an_absurd_signal_timeout_in_a_recording_does_not_panic_the_rules() {
    // A recording is untrusted: a CreationPolicy of u64::MAX seconds is read as it is.
    let changes = same_as_every_tick(&policy_learnt_late(u64::MAX, 5), 60);
    assert!(!has_change(&changes, true, "stall.signal_countdown"));
}

#[test]
fn an_absurd_log_quiet_period_in_the_config_does_not_panic_the_rules() {
    let config = DetectConfig {
        log_quiet_s: i64::MAX,
        ..DetectConfig::default()
    };
    let mut p = Pipeline::new(StoreCaps::default()).with_detector(Detector::with_config(config));
    let mut changes = Vec::new();
    let crash = log("/ecs/api", "Error: Cannot find module 'express'", 0);
    p.feed(&Observation::new(t(0), crash), &mut changes);
    p.feed(&Observation::new(t(1), service("api", 1, 1)), &mut changes);
    p.advance_to(t(30), &mut changes);
    assert!(
        p.detector
            .open_flags()
            .iter()
            .any(|f| f.rule == "log.node_module_not_found")
    );
}

#[test]
fn a_traceback_printed_again_is_read_the_same_and_counted() {
    // A crash loop prints the same traceback at every start: the second is read from what
    // the first said, and must say the same.
    let traceback = [
        "Traceback (most recent call last):",
        "  File \"/app/app.py\", line 3, in <module>",
        "    BUCKET = os.environ[\"S3_BUCKET_NAME\"]",
        "  File \"<frozen os>\", line 714, in __getitem__",
        "KeyError: 'S3_BUCKET_NAME'",
    ];
    let mut sim = Sim::new();
    for start in [0, 60] {
        for line in traceback {
            sim.feed(start, log("/ecs/app", line, start));
        }
        sim.run(start, start + 30);
    }
    let flag = sim
        .p
        .detector
        .open_flags()
        .into_iter()
        .find(|f| f.source == Source::Log)
        .cloned()
        .expect("a log flag");
    assert_eq!(flag.rule, "log.missing_env_var", "{flag:?}");
    assert_eq!(flag.count, 2, "{flag:?}");
    let texts: Vec<&str> = flag.evidence.iter().map(|e| e.text.as_str()).collect();
    assert_eq!(
        texts,
        ["KeyError: 'S3_BUCKET_NAME' [5 lines from: Traceback (most recent call last):]"],
        "{flag:?}"
    );
    assert_eq!(flag.evidence[0].repeats, 2, "{flag:?}");
}

#[test]
fn the_blocks_read_are_bounded() {
    let mut read = super::ReadBlocks::default();
    for i in 0..(super::READ_BLOCKS_CAP * 3) {
        read.insert(format!("Traceback {i}"), None);
        assert!(read.0.len() <= super::READ_BLOCKS_CAP);
    }
    read.insert("x".repeat(super::READ_BLOCK_TEXT_MAX + 1), None);
    assert!(
        !read
            .0
            .contains_key(&"x".repeat(super::READ_BLOCK_TEXT_MAX + 1))
    );
}

#[test]
fn a_tallied_summary_writes_the_time_as_chrono_does() {
    let leap = chrono::NaiveDate::from_ymd_opt(2016, 12, 31)
        .unwrap()
        .and_hms_nano_opt(23, 59, 59, 1_500_000_000)
        .unwrap()
        .and_utc();
    for at in [
        t(0),
        t(59),
        t(3_599),
        t(86_399) + TimeDelta::milliseconds(999),
        leap,
    ] {
        assert_eq!(
            super::tallied("boom", 3, "lines", at),
            format!("boom (3 lines, last at {})", at.format("%H:%M:%S")),
            "{at:?}"
        );
    }
}
