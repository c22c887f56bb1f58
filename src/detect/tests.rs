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
    let mut failures = Vec::new();
    for line in CORPUS.lines().chain(RULE_EXAMPLES.lines()) {
        if line.trim().is_empty() {
            continue;
        }
        let v: serde_json::Value = serde_json::from_str(line).expect("corpus line is JSON");
        let source = source_of(v["source"].as_str().unwrap());
        let text = v["text"].as_str().unwrap();
        let expect = v["expect"].as_str().unwrap();
        total += 1;
        let got = classify(source, text);
        let got_id = got.as_ref().map(|c| c.rule);
        if got_id == Some(expect) {
            matched += 1;
            let c = got.unwrap();
            assert!(!c.summary.is_empty() && !c.next_step.is_empty());
        } else if implemented.contains(expect) {
            failures.push(format!("{expect} <- got {got_id:?}: {text}"));
        }
    }
    println!("corpus: {matched}/{total} matched");
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
use crate::pipeline::Pipeline;

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
                FlagChange::Opened(f) if f.rule == rule => Some(f),
                _ => None,
            })
            .collect()
    }
    fn resolved(&self, rule: &str) -> Vec<&Flag> {
        self.changes
            .iter()
            .filter_map(|c| match c {
                FlagChange::Resolved(f) if f.rule == rule => Some(f),
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
    assert_eq!(f.evidence.len(), EVIDENCE_CAP);
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
        f.summary,
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
        f.summary,
        "MigrationHost waits for 1 signal: 5m left of 10m"
    );
    sim.tick(408);
    let f = sim.flag("stall.signal_countdown").unwrap();
    assert_eq!(
        f.summary,
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
    assert_eq!(f.evidence.len(), 3);
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
        f.summary,
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
    let mut wrong = Vec::new();
    for (source, text, expect) in cases {
        let got = rule(*source, text);
        if got != Some(*expect) {
            wrong.push(format!("{expect} <- {got:?}: {text}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
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

#[test]
fn non_matching_log_lines_are_cheap() {
    let line = "2026-11-23T12:00:00.000Z INFO request handled method=GET path=/api/v1/payments status=200 duration_ms=12 user=42 trace=abcdef0123456789";
    let _ = classify(Source::Log, line); // compile the rules first
    let n = 20_000;
    let start = std::time::Instant::now();
    for _ in 0..n {
        assert!(rule_of(Source::Log, line).is_none());
    }
    let per = start.elapsed() / n;
    println!("non-matching log line: {per:?} per classification");
    assert!(per < std::time::Duration::from_micros(200), "{per:?}");
}

#[test]
fn the_fallback_on_non_matching_log_lines_is_cheap() {
    let line = "2026-11-23T12:00:00.000Z INFO request handled method=GET path=/api/v1/payments status=200 duration_ms=12 user=42 trace=abcdef0123456789";
    let plain = "request handled method=GET path=/api/v1/payments status=200 duration_ms=12";
    assert!(!reads_as_failure(Source::Log, line));
    let n = 20_000;
    let start = std::time::Instant::now();
    for _ in 0..n {
        assert!(!reads_as_failure(Source::Log, line));
        assert!(!reads_as_failure(Source::Log, plain));
    }
    let per = start.elapsed() / (2 * n);
    println!("fallback on a non-matching log line: {per:?}");
    assert!(per < std::time::Duration::from_micros(200), "{per:?}");
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
    assert!(ids(text_part).count() >= 114, "the promised list lost ids");
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
