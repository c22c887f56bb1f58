//! The demo scenario: deterministic, sorted, and telling the story the brief promises once fed
//! through the pipeline.

use chrono::TimeDelta;
use stackwatch::model::{Observation, ObservationKind, ResourceKey, Source, SourceState};
use stackwatch::pipeline::Pipeline;
use stackwatch::session::demo::{self, DEMO_START, at};
use stackwatch::session::recording;

fn run(observations: &[Observation]) -> Pipeline {
    let mut p = Pipeline::default();
    for obs in observations {
        p.feed(obs, &mut Vec::new());
    }
    p
}

#[test]
fn deterministic_and_sorted() {
    let (h1, o1) = demo::scenario();
    let (h2, o2) = demo::scenario();
    assert_eq!(h1, h2);
    assert_eq!(o1, o2);
    assert!(o1.windows(2).all(|w| w[0].at <= w[1].at), "sorted by at");
    assert_eq!(h1.started_at, DEMO_START);
    assert_eq!(h1.account.as_deref(), Some("123456789012"));
    assert_eq!(h1.region.as_deref(), Some("eu-west-1"));
    let first = o1.first().unwrap().at;
    let last = o1.last().unwrap().at;
    assert!(first >= DEMO_START);
    let span = last - DEMO_START;
    assert!(
        span >= TimeDelta::minutes(14) && span <= TimeDelta::minutes(18),
        "span {span}"
    );
    let (_, h) = demo::healthy_scenario();
    assert!(h.windows(2).all(|w| w[0].at <= w[1].at));
    assert_eq!(h, demo::healthy_scenario().1);
}

#[test]
fn aws_stamped_observations_are_seen_one_to_four_seconds_later() {
    let (_, obs) = demo::scenario();
    for o in &obs {
        let stamped = match &o.kind {
            ObservationKind::CfnEvent(e) => Some(e.timestamp),
            ObservationKind::EcsServiceEvent(e) => Some(e.created_at),
            _ => None,
        };
        if let Some(ts) = stamped {
            let delay = o.at - ts;
            assert!(
                delay >= TimeDelta::seconds(1) && delay <= TimeDelta::milliseconds(4_250),
                "{delay} for {o:?}"
            );
        }
    }
}

#[test]
fn the_failing_story_lands_in_the_store() {
    let (_, obs) = demo::scenario();
    let p = run(&obs);
    let s = &p.store;

    // Stacks: the root rolled back; the nested stack's resources live under its path.
    let root = s.root_stack().expect("root stack");
    assert_eq!(root.path, "payments-prod");
    assert_eq!(root.status, "ROLLBACK_COMPLETE");
    let nested: Vec<_> = s
        .resources
        .keys()
        .filter(|k| k.stack == "payments-prod/Storage")
        .map(|k| k.logical_id.as_str())
        .collect();
    for id in [
        "FileSystem",
        "MountTargetA",
        "MountTargetB",
        "AccessPoint",
        "EfsSecurityGroup",
    ] {
        assert!(nested.contains(&id), "{id} under payments-prod/Storage");
    }
    let child = &s.stacks["payments-prod/Storage"];
    assert!(child.name.starts_with("payments-prod-Storage-"));
    assert_eq!(child.status, "DELETE_COMPLETE");
    let storage = &s.resources[&ResourceKey {
        stack: "payments-prod".into(),
        logical_id: "Storage".into(),
    }];
    assert_eq!(
        storage.child_stack_path().as_deref(),
        Some("payments-prod/Storage")
    );
    assert_eq!(storage.status, "DELETE_COMPLETE");

    // MigrationHost: a CreationPolicy, and a failure exactly ten minutes after it began.
    let host = &s.resources[&ResourceKey {
        stack: "payments-prod".into(),
        logical_id: "MigrationHost".into(),
    }];
    let policy = host.signal.expect("signal policy");
    assert_eq!((policy.count, policy.timeout_s), (1, 600));
    let failure = s
        .failures
        .iter()
        .find(|f| f.logical_id == "MigrationHost")
        .expect("MigrationHost failed");
    assert_eq!(failure.at, DEMO_START + at::SIGNAL_TIMEOUT);
    assert!(
        failure
            .reason
            .starts_with("Failed to receive 1 resource signal(s)")
    );
    assert_eq!(
        failure.at - (DEMO_START + at::MIGRATION_HOST_CREATE),
        TimeDelta::minutes(10)
    );
    assert!(
        s.failures
            .iter()
            .any(|f| f.logical_id == "ApiService" && f.reason == "Resource creation cancelled")
    );
    // Every resource was deleted by the rollback.
    for r in s.resources.values() {
        assert_eq!(r.status, "DELETE_COMPLETE", "{:?}", r.key);
    }

    // Tasks: the EFS wave, then the crash loop.
    let tasks: Vec<_> = s.tasks_of_service("payments-api").collect();
    let efs = tasks
        .iter()
        .filter(|t| {
            t.is_stopped()
                && t.task.stop_code.as_deref() == Some("TaskFailedToStart")
                && t.task
                    .stopped_reason
                    .as_deref()
                    .is_some_and(|r| r.contains("failed to invoke EFS utils commands"))
                && t.task.containers.iter().all(|c| c.exit_code.is_none())
        })
        .count();
    assert!(efs >= 10, "{efs} EFS failures");
    let crashed: Vec<_> = tasks
        .iter()
        .filter(|t| t.is_stopped() && t.task.containers.iter().any(|c| c.exit_code == Some(1)))
        .collect();
    assert!(crashed.len() >= 4, "{} crashes", crashed.len());
    for t in &crashed {
        assert_eq!(
            t.task.stop_code.as_deref(),
            Some("EssentialContainerExited")
        );
        assert!(t.task.started_at.is_some());
        assert!(t.task.task_definition.ends_with("payments-api:42"));
        let id = t.task.task_id();
        assert_eq!(id.len(), 32);
        assert!(id.chars().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(
            t.task.task_arn,
            format!("arn:aws:ecs:eu-west-1:123456789012:task/payments-prod-cluster/{id}")
        );
    }
    // Four crashes of the crash loop fall within ten minutes.
    let mut crash_times: Vec<_> = crashed.iter().filter_map(|t| t.task.stopped_at).collect();
    crash_times.sort();
    assert!(crash_times[3] - crash_times[0] <= TimeDelta::minutes(10));
    assert!(tasks.iter().any(|t| {
        t.task
            .stopped_reason
            .as_deref()
            .is_some_and(|r| r.starts_with("Task failed ELB health checks in (target-group "))
    }));

    // Targets were unhealthy at some point; logs show the Node crash.
    assert!(
        s.timeline
            .iter()
            .any(|e| e.source == Source::Elb && e.message.starts_with("unhealthy"))
    );
    assert!(s.logs.iter().any(|l| &*l.group == "/ecs/payments-api"
        && l.stream.starts_with("ecs/api/")
        && l.message.contains("ERR_MODULE_NOT_FOUND")));
    assert!(s.logs.iter().any(|l| &*l.message == "Node.js v20.11.1"));

    // Service events and deployments.
    let svc = s
        .services
        .values()
        .find(|v| v.key.service == "payments-api")
        .expect("service");
    assert_eq!(svc.key.cluster, "payments-prod-cluster");
    let has = |needle: &str| svc.events.iter().any(|e| e.message.contains(needle));
    assert!(has("has started 2 tasks: (task "));
    assert!(has("is unable to consistently start tasks successfully."));
    assert!(has(
        "registered 1 targets in (target-group arn:aws:elasticloadbalancing:"
    ));
    assert!(has("(port 3000) is unhealthy in (target-group "));
    assert!(has("has stopped 1 running tasks: (task "));
    assert!(svc.deployments.iter().all(|d| d.id.starts_with("ecs-svc/")));
    assert_eq!(svc.status, "INACTIVE");

    // Source health: all four reported, CloudFormation throttled once and recovered.
    for name in ["cloudformation", "ecs", "elbv2", "logs"] {
        assert_eq!(s.sources[name].state, SourceState::Ok, "{name}");
    }
    assert!(
        s.timeline.iter().any(|e| e.source == Source::Stackwatch
            && &*e.message == "source cloudformation is throttled")
    );
}

#[test]
fn service_snapshots_count_like_ecs() {
    let (_, obs) = demo::scenario();
    let mut failed = std::collections::HashMap::new();
    let mut snapshots = 0;
    for o in &obs {
        if let ObservationKind::EcsService(s) = &o.kind {
            snapshots += 1;
            assert!(s.running <= 2 && s.running + s.pending <= 3, "{s:?}");
            assert!(
                s.deployments
                    .iter()
                    .filter(|d| d.status == "PRIMARY")
                    .count()
                    == 1
            );
            for d in &s.deployments {
                let before = failed.insert(d.id.clone(), d.failed_tasks).unwrap_or(0);
                assert!(d.failed_tasks >= before, "failedTasks only grows");
            }
        }
    }
    assert!(snapshots >= 25);
    assert!(failed.values().any(|&f| f >= 10));
}

#[test]
fn key_moments_match_the_observations() {
    let (_, obs) = demo::scenario();
    let first_efs = obs
        .iter()
        .find_map(|o| match &o.kind {
            ObservationKind::EcsTask(t)
                if t.stopped_reason
                    .as_deref()
                    .is_some_and(|r| r.contains("EFS utils")) =>
            {
                Some(o.at)
            }
            _ => None,
        })
        .expect("an EFS failure");
    let expected = DEMO_START + at::FIRST_EFS_FAILURE;
    assert!(first_efs >= expected && first_efs - expected <= TimeDelta::seconds(5));
    let first_crash = obs
        .iter()
        .find_map(|o| match &o.kind {
            ObservationKind::LogEvent(l) if l.message.contains("ERR_MODULE_NOT_FOUND") => {
                Some(l.timestamp)
            }
            _ => None,
        })
        .expect("a crash");
    assert!(first_crash >= DEMO_START + at::FIRST_CRASH);
    assert!(first_crash - (DEMO_START + at::FIRST_CRASH) <= TimeDelta::seconds(2));
    let rollback_complete = obs
        .iter()
        .find_map(|o| match &o.kind {
            ObservationKind::CfnEvent(e) if e.status == "ROLLBACK_COMPLETE" => Some(e.timestamp),
            _ => None,
        })
        .expect("rollback complete");
    assert_eq!(rollback_complete, DEMO_START + at::ROLLBACK_COMPLETE);
    // The :42 deployment appears at the redeploy; its first task runs at FIRST_RUNNING.
    let redeploy = obs
        .iter()
        .find_map(|o| match &o.kind {
            ObservationKind::EcsService(s) => s
                .deployments
                .iter()
                .find(|d| d.task_definition.ends_with(":42"))
                .map(|d| d.created_at),
            _ => None,
        })
        .expect("a :42 deployment");
    assert_eq!(redeploy, DEMO_START + at::REDEPLOY);
    let first_running = obs
        .iter()
        .find_map(|o| match &o.kind {
            ObservationKind::EcsTask(t) if t.last_status == "RUNNING" => t.started_at,
            _ => None,
        })
        .expect("a running task");
    assert_eq!(first_running, DEMO_START + at::FIRST_RUNNING);
    let last_efs = obs
        .iter()
        .filter_map(|o| match &o.kind {
            ObservationKind::EcsTask(t)
                if t.last_status == "DEPROVISIONING"
                    && t.stopped_reason.as_deref() == Some(demo::EFS_STOPPED_REASON) =>
            {
                Some(o.at)
            }
            _ => None,
        })
        .next_back()
        .unwrap();
    assert!(last_efs >= DEMO_START + at::LAST_EFS_FAILURE);
    assert!(last_efs < DEMO_START + at::REDEPLOY);
    let impaired = obs
        .iter()
        .find_map(|o| match &o.kind {
            ObservationKind::EcsServiceEvent(e)
                if e.message.contains("unable to consistently start tasks") =>
            {
                Some(e.created_at)
            }
            _ => None,
        })
        .unwrap();
    assert_eq!(impaired, DEMO_START + at::START_IMPAIRED);
    let throttled: Vec<_> = obs
        .iter()
        .filter_map(|o| match &o.kind {
            ObservationKind::SourceStatus(s) if s.name == "cloudformation" => Some((o.at, s.state)),
            _ => None,
        })
        .collect();
    assert!(throttled.contains(&(DEMO_START + at::CFN_THROTTLED, SourceState::Throttled)));
    assert!(throttled.contains(&(DEMO_START + at::CFN_RECOVERED, SourceState::Ok)));
    // Nothing happens in CloudFormation between the EFS fix and the redeploy.
    assert!(!obs.iter().any(|o| matches!(&o.kind,
        ObservationKind::CfnEvent(e)
            if e.timestamp > DEMO_START + at::EFS_FIX && e.timestamp < DEMO_START + at::REDEPLOY)));
}

#[test]
fn healthy_scenario_completes() {
    let (header, obs) = demo::healthy_scenario();
    assert_eq!(header.started_at, DEMO_START);
    let p = run(&obs);
    let s = &p.store;
    assert_eq!(s.root_stack().unwrap().status, "CREATE_COMPLETE");
    assert!(s.failures.is_empty());
    assert!(!s.targets.is_empty());
    assert!(s.targets.values().all(|t| t.state == "healthy"));
    let host = &s.resources[&ResourceKey {
        stack: "payments-prod".into(),
        logical_id: "MigrationHost".into(),
    }];
    assert_eq!(host.signals_received, 1);
    assert_eq!(host.status, "CREATE_COMPLETE");
    assert!(s.resources.values().all(|r| r.status == "CREATE_COMPLETE"));
    let svc = s.services.values().next().unwrap();
    assert!(
        svc.events
            .iter()
            .any(|e| e.message == "(service payments-api) has reached a steady state.")
    );
    let primary = svc.primary().unwrap();
    assert_eq!(primary.rollout_state.as_deref(), Some("COMPLETED"));
    assert_eq!((svc.desired, svc.running), (2, 2));
    assert!(s.tasks.values().all(|t| t.task.last_status == "RUNNING"));
}

#[test]
fn round_trips_through_a_recording() {
    let dir = tempfile::tempdir().unwrap();
    for (name, (header, obs)) in [
        ("demo.jsonl", demo::scenario()),
        ("healthy.jsonl", demo::healthy_scenario()),
    ] {
        let path = dir.path().join(name);
        recording::write_all(&path, &header, &obs).unwrap();
        let (h2, o2) = recording::read_all(&path).unwrap();
        assert_eq!(h2, header);
        assert_eq!(o2, obs);
    }
}

#[test]
fn the_builder_makes_other_scenarios() {
    use demo::{ScenarioBuilder, StopInfo, mmss};
    let mut b = ScenarioBuilder::new(DEMO_START, "111122223333", "us-east-1", vec![]);
    let root = b.root_stack("tiny");
    b.stack_status(
        mmss(0, 0),
        &root,
        "CREATE_IN_PROGRESS",
        Some("User Initiated"),
    );
    let svc = b.service("c", "web", "app");
    b.set_desired(mmss(0, 1), svc, 1);
    let td = b.task_definition_arn("web", 1);
    let dep = b.deployment(mmss(0, 1), svc, &td);
    let task = b.launch_task(mmss(0, 2), dep);
    b.task_running(mmss(0, 20), task);
    let stop = StopInfo::new(
        "EssentialContainerExited",
        "Essential container in task exited",
        Some(137),
    );
    b.task_stopped(mmss(0, 40), task, &stop, mmss(0, 5));
    b.service_snapshots(svc, mmss(0, 5), mmss(1, 0), mmss(0, 15));
    let (header, obs) = b.build();
    assert_eq!(header.region.as_deref(), Some("us-east-1"));
    let p = run(&obs);
    let svc = p.store.services.values().next().unwrap();
    assert_eq!(svc.primary().unwrap().failed_tasks, 1);
    assert_eq!(p.store.tasks.len(), 1);
}
