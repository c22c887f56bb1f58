//! The detector on the demo: the expected rule ids open (and resolve) at the expected virtual
//! times. The replay's virtual clock is the fake clock: no sleeps, no wall time.

use chrono::{DateTime, TimeDelta, Utc};
use stackwatch::detect::FlagChange;
use stackwatch::model::{Severity, StoreCaps};
use stackwatch::pipeline::Change;
use stackwatch::session::demo::{self, DEMO_START, at};
use stackwatch::session::replay::{Replay, ReplayInput};

#[derive(Debug, Clone)]
struct Seen {
    rule: &'static str,
    severity: Severity,
    resource: String,
    opened: bool,
    at: DateTime<Utc>,
}

/// Plays a scenario to its end and returns every flag change with the virtual time it happened.
fn play(
    scenario: (
        stackwatch::session::recording::Header,
        Vec<stackwatch::model::Observation>,
    ),
) -> Vec<Seen> {
    let (header, observations) = scenario;
    let mut replay = Replay::open(
        ReplayInput::Memory(header, observations.into()),
        StoreCaps::default(),
    )
    .unwrap();
    let mut pipeline = replay.new_pipeline();
    let mut seen = Vec::new();
    let mut changes = Vec::new();
    replay
        .advance(DateTime::<Utc>::MAX_UTC, &mut pipeline, &mut changes)
        .unwrap();
    for change in changes {
        let Change::Flag { at, change } = change else {
            continue;
        };
        let (flag, opened) = match change {
            FlagChange::Opened(f) => (f, true),
            FlagChange::Resolved(f) => (f, false),
        };
        seen.push(Seen {
            rule: flag.rule,
            severity: flag.severity,
            resource: flag.resource.clone(),
            opened,
            at,
        });
    }
    seen
}

fn first_open<'a>(seen: &'a [Seen], rule: &str) -> &'a Seen {
    seen.iter()
        .find(|s| s.opened && s.rule == rule)
        .unwrap_or_else(|| panic!("{rule} never opened: {seen:#?}"))
}

fn resolved<'a>(seen: &'a [Seen], rule: &str) -> Option<&'a Seen> {
    seen.iter().find(|s| !s.opened && s.rule == rule)
}

/// Asserts `when` lies in `[DEMO_START + from, DEMO_START + to]`.
fn within(when: DateTime<Utc>, from: TimeDelta, to: TimeDelta, what: &str) {
    assert!(
        when >= DEMO_START + from && when <= DEMO_START + to,
        "{what} at {when}, expected between +{}s and +{}s",
        from.num_seconds(),
        to.num_seconds()
    );
}

#[test]
fn demo_raises_the_expected_flags_at_the_expected_times() {
    let seen = play(demo::scenario());
    let s = TimeDelta::seconds;

    // Act 1: tasks die mounting EFS; within a poll it is a flag on the service.
    let efs = first_open(&seen, "ecs.efs_mount_network");
    assert_eq!(efs.severity, Severity::Error);
    assert_eq!(efs.resource, "service payments-api");
    within(
        efs.at,
        at::FIRST_EFS_FAILURE,
        at::FIRST_EFS_FAILURE + s(15),
        "efs",
    );

    // The service sits in CREATE_IN_PROGRESS while its tasks fail: flagged in about a minute,
    // not after CloudFormation's three hours.
    let stall = first_open(&seen, "stall.resource");
    assert_eq!(stall.resource, "payments-prod/ApiService");
    assert_eq!(stall.severity, Severity::Error);
    within(
        stall.at,
        at::SERVICE_CREATE + s(60),
        at::FIRST_EFS_FAILURE + s(90),
        "stall",
    );

    // The CreationPolicy countdown: warn at half of the 10 min timeout, error at 80 %.
    let countdown: Vec<&Seen> = seen
        .iter()
        .filter(|x| x.opened && x.rule == "stall.signal_countdown")
        .collect();
    assert_eq!(countdown.len(), 2, "{countdown:#?}");
    assert_eq!(countdown[0].severity, Severity::Warn);
    within(
        countdown[0].at,
        at::MIGRATION_HOST_CREATE + s(300),
        at::MIGRATION_HOST_CREATE + s(302),
        "countdown warn",
    );
    assert_eq!(countdown[1].severity, Severity::Error);
    within(
        countdown[1].at,
        at::MIGRATION_HOST_CREATE + s(480),
        at::MIGRATION_HOST_CREATE + s(482),
        "countdown error",
    );

    // The port is opened and a task starts: the EFS flag resolves.
    let efs_fixed = resolved(&seen, "ecs.efs_mount_network").expect("efs resolves");
    within(
        efs_fixed.at,
        at::FIRST_RUNNING,
        at::FIRST_RUNNING + s(10),
        "efs resolved",
    );

    // Act 2: the app crashes at start-up, its targets fail, the service crash-loops.
    let module = first_open(&seen, "log.node_module_not_found");
    within(
        module.at,
        at::FIRST_CRASH,
        at::FIRST_CRASH + s(10),
        "module not found",
    );
    let exited = first_open(&seen, "ecs.essential_exited");
    within(
        exited.at,
        at::FIRST_CRASH,
        at::FIRST_CRASH + s(30),
        "essential exited",
    );
    let unhealthy = first_open(&seen, "elb.failed_health_checks");
    within(
        unhealthy.at,
        at::FIRST_RUNNING,
        at::SIGNAL_TIMEOUT,
        "unhealthy targets",
    );
    let no_healthy = first_open(&seen, "elb.no_healthy_targets");
    within(
        no_healthy.at,
        at::FIRST_RUNNING,
        at::SIGNAL_TIMEOUT,
        "no healthy targets",
    );
    let crash_loop = first_open(&seen, "ecs.crash_loop");
    within(
        crash_loop.at,
        at::FIRST_CRASH,
        at::SIGNAL_TIMEOUT,
        "crash loop",
    );
    assert!(
        resolved(&seen, "ecs.essential_exited")
            .is_none_or(|r| r.at > DEMO_START + at::SIGNAL_TIMEOUT),
        "no flapping while the service crash-loops: {seen:#?}"
    );

    // The signal timeout fails the stack: it is the root cause, not the cancelled service.
    let timeout = first_open(&seen, "cfn.signal_timeout");
    within(
        timeout.at,
        at::SIGNAL_TIMEOUT,
        at::SIGNAL_TIMEOUT + s(5),
        "signal timeout",
    );
    let root = first_open(&seen, "cfn.root_cause");
    assert_eq!(root.resource, "payments-prod/MigrationHost");
    within(
        root.at,
        at::SIGNAL_TIMEOUT,
        at::ROLLBACK_START + s(5),
        "root cause",
    );
    assert!(seen.iter().all(|x| x.rule != "cfn.cascade_cancelled"));

    let rolled_back = first_open(&seen, "deploy.rolled_back");
    within(
        rolled_back.at,
        at::ROLLBACK_COMPLETE,
        at::END + s(5),
        "rolled back",
    );
}

#[test]
fn the_healthy_deploy_raises_no_flag_above_info() {
    let seen = play(demo::healthy_scenario());
    let loud: Vec<&Seen> = seen
        .iter()
        .filter(|s| s.severity > Severity::Info)
        .collect();
    assert!(loud.is_empty(), "{loud:#?}");
}

#[test]
fn the_flags_that_explain_most_lead_the_strip() {
    let (header, observations) = demo::scenario();
    let mut replay = Replay::open(
        ReplayInput::Memory(header, observations.into()),
        StoreCaps::default(),
    )
    .unwrap();
    let pipeline = replay.run_to_end().unwrap();
    let open = pipeline.detector.open_flags();
    let rules: Vec<&str> = open.iter().map(|f| f.rule).collect();
    assert_eq!(rules.first(), Some(&"cfn.root_cause"), "{rules:?}");
    assert!(
        open.windows(2).all(|w| w[0].severity >= w[1].severity),
        "worst first: {rules:?}"
    );
}

/// Every flag the demo raises rests on something the user can read: its details never show an
/// empty "Evidence" section, at fixed virtual times through the deploy and at its end.
#[test]
fn every_demo_flag_has_evidence() {
    let (header, observations) = demo::scenario();
    let mut replay = Replay::open(
        ReplayInput::Memory(header, observations.into()),
        StoreCaps::default(),
    )
    .unwrap();
    let mut pipeline = replay.new_pipeline();
    let mut rules_checked = std::collections::BTreeSet::new();
    let mut check = |pipeline: &stackwatch::pipeline::Pipeline, when: &str| {
        let flags = pipeline.detector.open_flags();
        let resolved = pipeline.detector.resolved_flags();
        for flag in flags.into_iter().chain(resolved) {
            assert!(
                flag.evidence.iter().any(|e| !e.text.trim().is_empty()),
                "{} on {} has no evidence at {when}",
                flag.rule,
                flag.resource
            );
            rules_checked.insert(flag.rule);
        }
    };
    for minute in [2, 4, 6, 8, 10, 12, 14] {
        let when = DEMO_START + TimeDelta::minutes(minute);
        replay
            .advance(when, &mut pipeline, &mut Vec::new())
            .unwrap();
        check(&pipeline, &format!("minute {minute}"));
    }
    replay
        .advance(DateTime::<Utc>::MAX_UTC, &mut pipeline, &mut Vec::new())
        .unwrap();
    check(&pipeline, "the end");
    for rule in [
        "stall.signal_countdown",
        "stall.resource",
        "elb.no_healthy_targets",
        "deploy.rolled_back",
        "cfn.root_cause",
        "ecs.crash_loop",
    ] {
        assert!(rules_checked.contains(rule), "the demo never raised {rule}");
    }
}

/// At 12 minutes the demo has nine open flags but two problems: the app cannot find a
/// module (so its tasks exit 1, its targets fail, the service cannot start tasks, and
/// CloudFormation waits on ApiService), and MigrationHost's signal countdown.
#[test]
fn at_twelve_minutes_the_demo_shows_two_problems_with_their_roots() {
    let (header, observations) = demo::scenario();
    let mut replay = Replay::open(
        ReplayInput::Memory(header, observations.into()),
        StoreCaps::default(),
    )
    .unwrap();
    let mut pipeline = replay.new_pipeline();
    let mut changes = Vec::new();
    replay
        .advance(
            DEMO_START + TimeDelta::minutes(12),
            &mut pipeline,
            &mut changes,
        )
        .unwrap();
    let open = pipeline.detector.open_flags();
    assert!(open.len() >= 8, "{} flags", open.len());
    let problems = stackwatch::detect::problems(&open, &pipeline.store);
    let roots: Vec<(&str, &str)> = problems
        .iter()
        .map(|p| (p.root.rule, p.root.resource.as_str()))
        .collect();
    assert_eq!(
        roots,
        [
            ("log.node_module_not_found", "/ecs/payments-api"),
            ("stall.signal_countdown", "payments-prod/MigrationHost"),
        ]
    );
    let module = &problems[0];
    let symptoms: Vec<&str> = module.symptoms.iter().map(|f| f.rule).collect();
    for rule in [
        "ecs.essential_exited",
        "ecs.crash_loop",
        "elb.failed_health_checks",
        "ecs.svc_task_start_impaired",
        "stall.resource",
    ] {
        assert!(
            symptoms.contains(&rule),
            "{rule} under the module problem: {symptoms:?}"
        );
    }
    let now = pipeline.now().unwrap();
    let chain = module.chain(now);
    assert!(
        chain.starts_with("Node cannot find package 'express'")
            && chain.contains("ApiService waiting"),
        "{chain}"
    );
    // Flag lines name their problem: every change of the module chain points at its root.
    let named: Vec<(&str, &str)> = changes
        .iter()
        .filter_map(|c| match c {
            Change::Flag {
                change: FlagChange::Opened(f),
                at,
            } if *at >= DEMO_START + TimeDelta::minutes(11) && f.rule == "ecs.crash_loop" => {
                f.problem.as_ref().map(|p| (p.rule, p.resource.as_str()))
            }
            _ => None,
        })
        .collect();
    assert!(
        named.contains(&("log.node_module_not_found", "/ecs/payments-api")),
        "{named:?}"
    );
}

/// Ticks after a tick that moved nothing, with nothing fed since, are skipped until a
/// threshold falls due. On both demo scenarios, every change and every open flag at every
/// minute (its text read at that minute) are the same as with every rule run every second.
#[test]
fn skipping_quiet_ticks_changes_nothing() {
    // The demo thinned out (no source status, one observation in k) leaves silences in
    // which waits cross their thresholds and quiet periods end with nothing fed, and puts
    // observations of one kind alone between ticks.
    let sparse = |every: usize, from: usize| {
        let (header, observations) = demo::scenario();
        let kept = observations
            .into_iter()
            .filter(|o| !matches!(o.kind, stackwatch::model::ObservationKind::SourceStatus(_)))
            .enumerate()
            .filter(|(i, _)| i % every == from)
            .map(|(_, o)| o)
            .collect();
        (header, kept)
    };
    let mut scenarios = vec![(demo::scenario(), true), (demo::healthy_scenario(), false)];
    for (every, from) in [(4, 0), (2, 1), (3, 2), (5, 1), (7, 3)] {
        scenarios.push((sparse(every, from), true));
    }
    for ((header, observations), flagged) in scenarios {
        let observations: std::sync::Arc<[stackwatch::model::Observation]> = observations.into();
        let open = |input: ReplayInput| Replay::open(input, StoreCaps::default()).unwrap();
        let mut skipping = open(ReplayInput::Memory(header.clone(), observations.clone()));
        let mut every = open(ReplayInput::Memory(header.clone(), observations.clone()));
        let mut fast = skipping.new_pipeline();
        let mut slow = every
            .new_pipeline()
            .with_detector(stackwatch::detect::Detector::new().on_every_tick());
        let (mut fast_changes, mut slow_changes) = (Vec::new(), Vec::new());
        let mut minute = 0;
        while !(skipping.finished && every.finished) {
            let until = DEMO_START + TimeDelta::minutes(minute);
            skipping
                .advance(until, &mut fast, &mut fast_changes)
                .unwrap();
            every.advance(until, &mut slow, &mut slow_changes).unwrap();
            assert_eq!(fast_changes, slow_changes, "changes up to minute {minute}");
            let now = fast.now().unwrap();
            let read = |p: &stackwatch::pipeline::Pipeline| -> Vec<(String, String)> {
                p.detector
                    .open_flags()
                    .iter()
                    .map(|f| (f.rule.to_string(), f.summary_at(now).into_owned()))
                    .collect()
            };
            assert_eq!(read(&fast), read(&slow), "open flags at minute {minute}");
            minute += 1;
            assert!(minute < 24 * 60, "the demo ends");
        }
        let raised = fast_changes
            .iter()
            .any(|c| matches!(c, Change::Flag { .. }));
        assert_eq!(raised, flagged, "the failing scenario raises flags");
    }
}
