//! The observation contract live sources write to: repeats apply once, things that are gone
//! leave the state and the flags that waited on them, and discovery is said once.

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use stackwatch::detect::FlagChange;
use stackwatch::model::{
    CfnEvent, EcsContainer, EcsService, EcsServiceGone, EcsTask, EcsTaskGone, Observation,
    ObservationKind, Source, StoreCaps, TargetGone, TargetHealth, Watching,
};
use stackwatch::pipeline::{Change, Pipeline};

fn t(secs: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 12, 0, 0).unwrap() + TimeDelta::seconds(secs)
}

struct Sim {
    p: Pipeline,
    changes: Vec<Change>,
}

impl Sim {
    fn new() -> Self {
        Sim {
            p: Pipeline::new(StoreCaps::default()),
            changes: Vec::new(),
        }
    }
    fn feed(&mut self, secs: i64, kind: impl Into<ObservationKind>) {
        self.p
            .feed(&Observation::new(t(secs), kind), &mut self.changes);
    }
    fn run_to(&mut self, secs: i64) {
        self.p.advance_to(t(secs), &mut self.changes);
    }
    fn open(&self, rule: &str) -> bool {
        self.p.detector.open_flags().iter().any(|f| f.rule == rule)
    }
    fn resolved(&self, rule: &str) -> Vec<String> {
        self.changes
            .iter()
            .filter_map(|c| match c {
                Change::Flag {
                    change: FlagChange::Resolved(f),
                    ..
                } if f.rule == rule => Some(f.summary.clone()),
                _ => None,
            })
            .collect()
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

fn crashed(id: &str, started: i64, stopped: i64) -> EcsTask {
    EcsTask {
        cluster: "prod".into(),
        task_arn: format!("arn:aws:ecs:eu-west-1:1:task/prod/{id}"),
        group: Some("service:api".into()),
        task_definition: "arn:aws:ecs:eu-west-1:1:task-definition/api:7".into(),
        last_status: "STOPPED".into(),
        desired_status: "STOPPED".into(),
        stop_code: Some("EssentialContainerExited".into()),
        stopped_reason: Some("Essential container in task exited".into()),
        containers: vec![EcsContainer {
            name: "app".into(),
            last_status: "STOPPED".into(),
            exit_code: Some(1),
            reason: None,
        }],
        created_at: None,
        started_at: Some(t(started)),
        stopped_at: Some(t(stopped)),
        private_ip: None,
    }
}

const TG: &str = "arn:aws:elasticloadbalancing:eu-west-1:1:targetgroup/api-tg/0123";

fn target(id: &str, state: &str, reason: Option<&str>) -> TargetHealth {
    TargetHealth {
        target_group: TG.into(),
        target_id: id.into(),
        port: Some(8080),
        state: state.into(),
        reason: reason.map(str::to_string),
        description: None,
    }
}

fn target_gone(id: &str) -> TargetGone {
    TargetGone {
        target_group: TG.into(),
        target_id: id.into(),
        port: Some(8080),
    }
}

#[test]
fn a_repeated_cfn_event_is_one_row_and_one_count() {
    let mut sim = Sim::new();
    let failed = CfnEvent {
        stack: "app".into(),
        stack_id: "arn:aws:cloudformation:eu-west-1:1:stack/app/1".into(),
        event_id: "e-1".into(),
        logical_id: "Bucket".into(),
        physical_id: None,
        resource_type: "AWS::S3::Bucket".into(),
        status: "CREATE_FAILED".into(),
        reason: Some("app-bucket already exists".into()),
        timestamp: t(0),
    };
    sim.feed(1, failed.clone());
    sim.feed(6, failed.clone());
    sim.feed(11, failed);
    let store = &sim.p.store;
    assert_eq!(store.timeline.len(), 1);
    assert_eq!(store.failures.len(), 1);
    assert_eq!(store.repeats, 2);
    let flags = sim.p.detector.open_flags();
    assert!(!flags.is_empty());
    assert!(flags.iter().all(|f| f.count == 1), "{flags:#?}");
}

#[test]
fn a_deleted_service_resolves_the_flags_that_waited_on_it() {
    let mut sim = Sim::new();
    sim.feed(0, service("api", 1, 0));
    sim.feed(60, crashed("a", 30, 60));
    sim.feed(120, crashed("b", 90, 120));
    sim.feed(180, crashed("c", 150, 180));
    sim.run_to(200);
    assert!(sim.open("ecs.crash_loop"));
    assert!(sim.open("ecs.essential_exited"));
    sim.feed(
        210,
        EcsServiceGone {
            cluster: "prod".into(),
            service: "api".into(),
        },
    );
    assert!(sim.p.store.services.is_empty());
    for rule in ["ecs.crash_loop", "ecs.essential_exited"] {
        assert!(!sim.open(rule), "{rule} still open");
        let resolved = sim.resolved(rule);
        assert_eq!(resolved.len(), 1, "{rule}");
        assert!(
            resolved[0].ends_with("(the service no longer exists)"),
            "{resolved:?}"
        );
    }
    // Time goes on: nothing comes back, nothing panics.
    sim.run_to(2_000);
    assert!(sim.p.detector.open_flags().is_empty());
}

#[test]
fn a_deleted_service_of_a_name_another_cluster_still_runs_keeps_its_flags() {
    let mut sim = Sim::new();
    sim.feed(0, service("api", 1, 0));
    sim.feed(
        0,
        EcsService {
            cluster: "other".into(),
            ..service("api", 1, 0)
        },
    );
    for (i, id) in ["a", "b", "c"].into_iter().enumerate() {
        let at = 60 * (i as i64 + 1);
        sim.feed(at, crashed(id, at - 30, at));
    }
    sim.run_to(200);
    sim.feed(
        210,
        EcsServiceGone {
            cluster: "other".into(),
            service: "api".into(),
        },
    );
    assert!(sim.open("ecs.crash_loop"));
    assert_eq!(sim.p.store.services.len(), 1);
}

#[test]
fn a_task_that_is_gone_no_longer_counts_as_running() {
    let mut sim = Sim::new();
    let running = EcsTask {
        last_status: "RUNNING".into(),
        desired_status: "RUNNING".into(),
        stop_code: None,
        stopped_reason: None,
        stopped_at: None,
        containers: Vec::new(),
        ..crashed("a", 0, 0)
    };
    sim.feed(0, running);
    sim.feed(
        30,
        EcsTaskGone {
            cluster: "prod".into(),
            task_arn: "arn:aws:ecs:eu-west-1:1:task/prod/a".into(),
        },
    );
    assert_eq!(sim.p.store.tasks_of_service("api").count(), 0);
    let row = sim.p.store.timeline.back().unwrap();
    assert_eq!(row.source, Source::EcsTask);
    assert_eq!(&*row.message, "no longer exists (was RUNNING)");
    sim.run_to(100);
}

#[test]
fn when_the_last_target_leaves_no_healthy_targets_resolves_and_starts_over() {
    let mut sim = Sim::new();
    sim.feed(0, target("10.0.0.1", "unhealthy", Some("Target.Timeout")));
    sim.run_to(60);
    assert!(sim.open("elb.no_healthy_targets"));
    sim.feed(
        70,
        target(
            "10.0.0.1",
            "draining",
            Some("Target.DeregistrationInProgress"),
        ),
    );
    sim.run_to(100);
    assert!(
        sim.open("elb.no_healthy_targets"),
        "a draining target keeps it open"
    );
    sim.feed(130, target_gone("10.0.0.1"));
    sim.run_to(131);
    // An empty group has nothing to be unhealthy: the flag resolves, as when AWS reports the
    // target `unused` / `Target.NotRegistered`, and its counts are zero.
    assert!(!sim.open("elb.no_healthy_targets"));
    let health = sim.p.store.target_groups[TG];
    assert_eq!((health.present, health.registered), (0, 0));
    assert_eq!(
        &*sim.p.store.timeline.back().unwrap().message,
        "left the target group"
    );
    // The next target starts a new grace period rather than reopening at once.
    sim.feed(140, target("10.0.0.2", "unhealthy", Some("Target.Timeout")));
    sim.run_to(190);
    assert!(!sim.open("elb.no_healthy_targets"));
    sim.run_to(200);
    assert!(sim.open("elb.no_healthy_targets"));
    // The same target gone again, or one never seen: nothing to do.
    sim.feed(210, target_gone("10.0.0.1"));
    sim.feed(210, target_gone("10.9.9.9"));
    sim.run_to(211);
    assert!(sim.open("elb.no_healthy_targets"));
}

#[test]
fn a_target_that_left_and_came_back_is_classified_again() {
    let mut sim = Sim::new();
    sim.feed(0, target("10.0.0.1", "unhealthy", Some("Target.Timeout")));
    sim.feed(10, target_gone("10.0.0.1"));
    sim.feed(20, target("10.0.0.1", "healthy", None));
    sim.run_to(21);
    // The same address again (a new task took it): its health is news, not a repeat.
    sim.feed(30, target("10.0.0.1", "unhealthy", Some("Target.Timeout")));
    let rows: Vec<&str> = sim.p.store.timeline.iter().map(|r| &*r.message).collect();
    assert_eq!(
        rows,
        [
            "unhealthy (Target.Timeout)",
            "left the target group",
            "healthy",
            "unhealthy (Target.Timeout)"
        ]
    );
}

#[test]
fn discovery_is_a_stackwatch_row_said_once() {
    let mut sim = Sim::new();
    let watching = Watching {
        source: "ecs".into(),
        what: "service".into(),
        id: "prod/api".into(),
        via: Some("stack resource ApiService".into()),
    };
    sim.feed(0, watching.clone());
    sim.feed(5, watching);
    let rows = &sim.p.store.timeline;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].source, Source::Stackwatch);
    assert_eq!(
        &*rows[0].message,
        "watching service prod/api (from stack resource ApiService)"
    );
    assert_eq!(sim.p.store.watched.len(), 1);
    assert!(sim.p.detector.open_flags().is_empty());
}
