//! `stackwatch status` snapshots in all three formats, on the demo's failing deploy at fixed
//! virtual times (mid-deploy and after the rollback), with their exit codes. The replay's
//! virtual clock is the fixed clock: no AWS, no wall time.

use chrono::{DateTime, TimeDelta, Utc};
use stackwatch::model::StoreCaps;
use stackwatch::pipeline::Pipeline;
use stackwatch::session::demo::{self, DEMO_START};
use stackwatch::session::replay::{Replay, ReplayInput};
use stackwatch::status::{StatusFormat, outcome, render};

fn demo_at(offset: Option<TimeDelta>) -> (Pipeline, DateTime<Utc>) {
    played(demo::scenario(), offset)
}

/// A scenario replayed up to `offset` from the demo's start (or to its end).
fn played(
    (header, observations): (
        stackwatch::session::recording::Header,
        Vec<stackwatch::model::Observation>,
    ),
    offset: Option<TimeDelta>,
) -> (Pipeline, DateTime<Utc>) {
    let mut replay = Replay::open(
        ReplayInput::Memory(header, observations.into()),
        StoreCaps::default(),
    )
    .unwrap();
    let mut pipeline = replay.new_pipeline();
    let until = offset.map_or(DateTime::<Utc>::MAX_UTC, |d| DEMO_START + d);
    replay
        .advance(until, &mut pipeline, &mut Vec::new())
        .unwrap();
    let now = pipeline.now().unwrap();
    (pipeline, now)
}

#[test]
fn mid_deploy_the_snapshot_shows_what_is_stuck_and_exits_two() {
    let (pipeline, now) = demo_at(Some(TimeDelta::minutes(8)));
    assert_eq!(outcome(&pipeline).exit_code(), 2);
    let text = render(&pipeline, now, StatusFormat::Text);
    assert!(text.contains("in progress:"), "{text}");
    assert!(text.contains("ecs.efs_mount_network"), "{text}");
    snapshots("status_mid_deploy", &pipeline, now);
}

/// The snapshot in each format, as `{name}_text`, `{name}_md` and `{name}_json`.
fn snapshots(name: &str, pipeline: &Pipeline, now: DateTime<Utc>) {
    for (suffix, format) in [
        ("text", StatusFormat::Text),
        ("md", StatusFormat::Md),
        ("json", StatusFormat::Json),
    ] {
        insta::assert_snapshot!(format!("{name}_{suffix}"), render(pipeline, now, format));
    }
}

#[test]
fn after_the_rollback_the_snapshot_names_the_root_cause_and_exits_one() {
    let (pipeline, now) = demo_at(None);
    assert_eq!(outcome(&pipeline).exit_code(), 1);
    let json: serde_json::Value =
        serde_json::from_str(&render(&pipeline, now, StatusFormat::Json)).unwrap();
    assert_eq!(json["exit_code"], 1);
    assert!(
        json["root_cause"]
            .as_str()
            .is_some_and(|r| r.contains("MigrationHost")),
        "{json:#}"
    );
    snapshots("status_rolled_back", &pipeline, now);
}

#[test]
fn the_healthy_deploy_is_settled_and_exits_zero() {
    let (pipeline, now) = played(demo::healthy_scenario(), None);
    assert_eq!(outcome(&pipeline).exit_code(), 0);
    let text = render(&pipeline, now, StatusFormat::Text);
    assert!(text.contains("no open flags"), "{text}");
}

#[test]
fn a_source_that_could_not_be_read_keeps_a_settled_deploy_from_exiting_zero() {
    let (header, mut observations) = demo::healthy_scenario();
    let end = observations.last().unwrap().at;
    observations.push(stackwatch::model::Observation::new(
        end,
        stackwatch::model::SourceStatus {
            name: "ecs".into(),
            state: stackwatch::model::SourceState::Throttled,
            calls_per_min: 3.0,
            throttled: 1,
            stale_s: 0,
            last_ok: None,
            paced: false,
        },
    ));
    let (pipeline, now) = played((header, observations), None);
    assert_eq!(outcome(&pipeline).exit_code(), 2);
    let text = render(&pipeline, now, StatusFormat::Text);
    assert!(text.contains("could not read ecs: throttled"), "{text}");
    let json: serde_json::Value =
        serde_json::from_str(&render(&pipeline, now, StatusFormat::Json)).unwrap();
    assert_eq!(json["unread"][0]["source"], "ecs");
    assert_eq!(json["exit_code"], 2);
    let md = render(&pipeline, now, StatusFormat::Md);
    assert!(md.contains("Could not read **ecs**: throttled"), "{md}");
}

#[test]
fn text_from_aws_cannot_break_the_markdown() {
    let (mut pipeline, now) = demo_at(Some(TimeDelta::minutes(8)));
    let hostile = "Error: Cannot find module 'x|y<script>' | `rm -rf` \u{1b}[2J";
    let log = stackwatch::model::LogEvent {
        group: "/ecs/payments-api".into(),
        stream: "api/api/abc".into(),
        timestamp: now,
        message: hostile.into(),
        event_id: Some("hostile".into()),
    };
    pipeline.feed(
        &stackwatch::model::Observation::new(now, log),
        &mut Vec::new(),
    );
    let md = render(&pipeline, now, StatusFormat::Md);
    // Its problem's row, then its flag's row.
    let rows: Vec<&str> = md
        .lines()
        .filter(|l| l.contains("log.node_module_not_found"))
        .collect();
    assert_eq!(rows.len(), 2, "{md}");
    // Every pipe inside a cell is escaped: each row has as many separators as its header.
    let separators = |line: &str| line.replace("\\|", "").matches('|').count();
    for (row, header) in rows.iter().zip(["| problem", "| severity"]) {
        let header = md.lines().find(|l| l.starts_with(header)).unwrap();
        assert_eq!(separators(row), separators(header), "{row}");
    }
    assert!(!md.contains("<script>") && !md.contains('\u{1b}'), "{md}");
}

/// `status --cluster big` without a stack: 22 services, each with its counts, one rolled out,
/// one with failed tasks, the others rolling out.
fn cluster_of_22() -> Pipeline {
    use stackwatch::model::{EcsDeployment, EcsService, EcsTask, Observation, Watching};
    let at = DEMO_START;
    let mut pipeline = Pipeline::new(StoreCaps::default());
    let mut feed = |kind: stackwatch::model::ObservationKind| {
        pipeline.feed(&Observation::new(at, kind), &mut Vec::new());
    };
    feed(
        Watching {
            source: "ecs".into(),
            what: "cluster".into(),
            id: "big".into(),
            via: Some("--cluster".into()),
        }
        .into(),
    );
    for n in 1..=22u32 {
        let name = format!("big-svc-{n:02}");
        let td = format!("arn:aws:ecs:us-east-1:123456789012:task-definition/{name}:1");
        let (rollout, running, failed) = match n {
            5 => ("COMPLETED", 2, 0),
            9 => ("IN_PROGRESS", 0, 3),
            _ => ("IN_PROGRESS", 1, 0),
        };
        feed(
            EcsService {
                cluster: "big".into(),
                service: name.clone(),
                arn: None,
                status: "ACTIVE".into(),
                desired: 2,
                running,
                pending: 2 - running,
                task_definition: Some(td.clone()),
                deployments: vec![EcsDeployment {
                    id: format!("ecs-svc/{n}"),
                    status: "PRIMARY".into(),
                    task_definition: td.clone(),
                    desired: 2,
                    running,
                    pending: 2 - running,
                    failed_tasks: failed,
                    rollout_state: Some(rollout.into()),
                    rollout_state_reason: None,
                    created_at: at,
                    updated_at: None,
                }],
            }
            .into(),
        );
        for t in 0..running {
            feed(
                EcsTask {
                    cluster: "big".into(),
                    task_arn: format!("arn:aws:ecs:us-east-1:123456789012:task/big/{n:04}{t:028}"),
                    group: Some(format!("service:{name}")),
                    task_definition: td.clone(),
                    last_status: "RUNNING".into(),
                    desired_status: "RUNNING".into(),
                    stop_code: None,
                    stopped_reason: None,
                    containers: vec![],
                    created_at: Some(at),
                    started_at: Some(at),
                    stopped_at: None,
                    private_ip: None,
                }
                .into(),
            );
        }
    }
    pipeline.advance_to(at, &mut Vec::new());
    pipeline
}

#[test]
fn a_cluster_without_a_stack_lists_every_service_and_is_in_progress_while_one_rolls_out() {
    let pipeline = cluster_of_22();
    assert_eq!(outcome(&pipeline).exit_code(), 2);
    let text = render(&pipeline, DEMO_START, StatusFormat::Text);
    assert!(text.contains("services of cluster big (22):"), "{text}");
    let rows = text.lines().filter(|l| l.starts_with("  big-svc-")).count();
    assert_eq!(rows, 22, "{text}");
    assert!(
        text.contains("  big-svc-09  ACTIVE  running 0/2, pending 2, 0 tasks, 3 failed"),
        "{text}"
    );
    snapshots("status_cluster_of_22", &pipeline, DEMO_START);
}
