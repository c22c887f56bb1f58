//! Whole-frame snapshots on ratatui's `TestBackend`, at fixed sizes and fixed virtual times,
//! with styles (the `Buffer` Debug output), so layout and themes are both checked.
//!
//! `demo_*` snapshots play `demo::scenario()`; they change whenever the demo does (review them
//! with `cargo insta review`). `fixture_*` snapshots play the small failing deploy below, so
//! the panes are checked with content even while the demo is still a stub.

use std::sync::Arc;

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use stackwatch::clock::{Mode, Speed};
use stackwatch::detect::{DetectConfig, Evidence, Flag, Subject};
use stackwatch::model::*;
use stackwatch::pipeline::Pipeline;
use stackwatch::session::demo;
use stackwatch::session::recording::Header;
use stackwatch::session::replay::{Replay, ReplayInput};
use stackwatch::ui::theme::{self, Theme};
use stackwatch::ui::{self, Pane, UiState, View};

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).unwrap()
}

fn at(secs: i64) -> DateTime<Utc> {
    t0() + TimeDelta::seconds(secs)
}

const STACK_ID: &str = "arn:aws:cloudformation:us-east-1:123456789012:stack/payments/1";
const CHILD_ID: &str = "arn:aws:cloudformation:us-east-1:123456789012:stack/payments-Storage/2";
const TG: &str = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/payments-tg/abc";

fn cfn(
    secs: i64,
    stack: &str,
    logical: &str,
    rtype: &str,
    status: &str,
    reason: Option<&str>,
) -> Observation {
    let stack_id = if stack == "payments" {
        STACK_ID
    } else {
        CHILD_ID
    };
    let physical = if rtype == "AWS::CloudFormation::Stack"
        && (logical == "payments" || logical == "Storage" && stack != "payments")
    {
        Some(stack_id.to_string())
    } else {
        Some(format!("{logical}-phys"))
    };
    Observation::new(
        at(secs),
        CfnEvent {
            stack: stack.to_string(),
            stack_id: stack_id.to_string(),
            event_id: format!("{stack}-{logical}-{secs}"),
            logical_id: logical.to_string(),
            physical_id: physical,
            resource_type: rtype.to_string(),
            status: status.to_string(),
            reason: reason.map(str::to_string),
            timestamp: at(secs),
        },
    )
}

fn task(secs: i64, n: u32, status: &str, reason: Option<&str>, exit: Option<i32>) -> Observation {
    Observation::new(
        at(secs),
        EcsTask {
            cluster: "payments".into(),
            task_arn: format!(
                "arn:aws:ecs:us-east-1:123456789012:task/payments/{n:08x}deadbeef{n:08x}"
            ),
            group: Some("service:payments-api".into()),
            task_definition: "arn:aws:ecs:us-east-1:123456789012:task-definition/payments-api:7"
                .into(),
            last_status: status.into(),
            desired_status: if status == "STOPPED" {
                "STOPPED".into()
            } else {
                "RUNNING".into()
            },
            stop_code: (status == "STOPPED").then(|| "TaskFailedToStart".to_string()),
            stopped_reason: reason.map(str::to_string),
            containers: vec![EcsContainer {
                name: "api".into(),
                last_status: status.into(),
                exit_code: exit,
                reason: None,
            }],
            created_at: Some(at(secs - 20)),
            started_at: (status == "RUNNING").then(|| at(secs - 5)),
            stopped_at: (status == "STOPPED").then(|| at(secs)),
            private_ip: None,
        },
    )
}

/// A small failing deploy: the API service's tasks cannot mount EFS, targets go unhealthy,
/// logs complain. Ten minutes long.
fn fixture() -> (Header, Vec<Observation>) {
    let mut header = Header::new(vec!["fixture".into()], t0());
    header.account = Some("123456789012".into());
    header.region = Some("us-east-1".into());
    let stack = "AWS::CloudFormation::Stack";
    let mut obs = vec![
        Observation::new(
            at(0),
            SourceStatus {
                name: "cfn".into(),
                state: SourceState::Ok,
                calls_per_min: 12.0,
                throttled: 0,
                stale_s: 2,
                last_ok: None,
                paced: false,
            },
        ),
        Observation::new(
            at(0),
            SourceStatus {
                name: "ecs".into(),
                state: SourceState::Throttled,
                calls_per_min: 30.0,
                throttled: 3,
                stale_s: 45,
                last_ok: None,
                paced: false,
            },
        ),
        Observation::new(
            at(0),
            SourceStatus {
                name: "logs".into(),
                state: SourceState::Ok,
                calls_per_min: 6.0,
                throttled: 0,
                stale_s: 1,
                last_ok: None,
                paced: false,
            },
        ),
        cfn(
            0,
            "payments",
            "payments",
            stack,
            "UPDATE_IN_PROGRESS",
            Some("User Initiated"),
        ),
        cfn(
            5,
            "payments",
            "Cluster",
            "AWS::ECS::Cluster",
            "CREATE_IN_PROGRESS",
            None,
        ),
        cfn(
            8,
            "payments",
            "Cluster",
            "AWS::ECS::Cluster",
            "CREATE_COMPLETE",
            None,
        ),
        cfn(6, "payments", "Storage", stack, "CREATE_IN_PROGRESS", None),
        cfn(
            7,
            "payments/Storage",
            "Storage",
            stack,
            "CREATE_IN_PROGRESS",
            Some("User Initiated"),
        ),
        cfn(
            10,
            "payments/Storage",
            "FileSystem",
            "AWS::EFS::FileSystem",
            "CREATE_IN_PROGRESS",
            None,
        ),
        cfn(
            40,
            "payments/Storage",
            "FileSystem",
            "AWS::EFS::FileSystem",
            "CREATE_COMPLETE",
            None,
        ),
        cfn(
            41,
            "payments/Storage",
            "MountTarget",
            "AWS::EFS::MountTarget",
            "CREATE_IN_PROGRESS",
            None,
        ),
        cfn(
            130,
            "payments/Storage",
            "MountTarget",
            "AWS::EFS::MountTarget",
            "CREATE_COMPLETE",
            None,
        ),
        cfn(
            131,
            "payments/Storage",
            "Storage",
            stack,
            "CREATE_COMPLETE",
            None,
        ),
        cfn(132, "payments", "Storage", stack, "CREATE_COMPLETE", None),
        cfn(
            133,
            "payments",
            "TargetGroup",
            "AWS::ElasticLoadBalancingV2::TargetGroup",
            "CREATE_COMPLETE",
            None,
        ),
        cfn(
            135,
            "payments",
            "ApiService",
            "AWS::ECS::Service",
            "CREATE_IN_PROGRESS",
            None,
        ),
        cfn(
            136,
            "payments",
            "ApiService",
            "AWS::ECS::Service",
            "CREATE_IN_PROGRESS",
            Some("Resource creation Initiated"),
        ),
        cfn(
            140,
            "payments",
            "Alarm",
            "AWS::CloudWatch::Alarm",
            "CREATE_FAILED",
            Some(
                "Resource handler returned message: \"Invalid metric \u{1b}[31mname\u{1b}[0m\" (RequestToken: 1)",
            ),
        ),
    ];
    obs.push(Observation::new(
        at(150),
        EcsService {
            cluster: "payments".into(),
            service: "payments-api".into(),
            arn: None,
            status: "ACTIVE".into(),
            desired: 2,
            running: 0,
            pending: 1,
            task_definition: Some(
                "arn:aws:ecs:us-east-1:123456789012:task-definition/payments-api:7".into(),
            ),
            deployments: vec![EcsDeployment {
                id: "ecs-svc/123".into(),
                status: "PRIMARY".into(),
                task_definition:
                    "arn:aws:ecs:us-east-1:123456789012:task-definition/payments-api:7".into(),
                desired: 2,
                running: 0,
                pending: 1,
                failed_tasks: 6,
                rollout_state: Some("IN_PROGRESS".into()),
                rollout_state_reason: Some("ECS deployment ecs-svc/123 in progress.".into()),
                created_at: at(140),
                updated_at: Some(at(150)),
            }],
        },
    ));
    let efs = "ResourceInitializationError: failed to invoke EFS utils commands to set up EFS volumes: mount.nfs4: Connection timed out";
    for i in 0..6 {
        let s = 160 + i * 60;
        obs.push(task(s, i as u32, "PROVISIONING", None, None));
        obs.push(task(s + 30, i as u32, "STOPPED", Some(efs), None));
        obs.push(Observation::new(
            at(s + 31),
            EcsServiceEvent {
                cluster: "payments".into(),
                service: "payments-api".into(),
                id: format!("ev{i}"),
                created_at: at(s + 31),
                message: format!("(service payments-api) has started 1 tasks: (task {i:08x})."),
            },
        ));
    }
    obs.push(task(
        200,
        100,
        "STOPPED",
        Some("Essential container in task exited"),
        Some(137),
    ));
    obs.push(task(400, 101, "RUNNING", None, None));
    obs.push(Observation::new(
        at(420),
        TargetHealth {
            target_group: TG.into(),
            target_id: "10.0.1.23".into(),
            port: Some(8080),
            state: "unhealthy".into(),
            reason: Some("Target.FailedHealthChecks".into()),
            description: Some("Health checks failed with these codes: [502]".into()),
        },
    ));
    obs.push(Observation::new(
        at(420),
        TargetHealth {
            target_group: TG.into(),
            target_id: "10.0.2.7".into(),
            port: Some(8080),
            state: "healthy".into(),
            reason: None,
            description: None,
        },
    ));
    for i in 0..40 {
        let s = 300 + i * 5;
        let stream = format!("api/api/{:08x}deadbeef{:08x}", 101, 101);
        let message = if i % 5 == 0 {
            format!("ERROR connection refused to db:5432 attempt {i}\u{7}")
        } else {
            format!("GET /health 200 {i}ms")
        };
        obs.push(Observation::new(
            at(s),
            LogEvent {
                group: "/ecs/payments-api".into(),
                stream,
                timestamp: at(s),
                message,
                event_id: Some(format!("e{i}")),
            },
        ));
    }
    // A silence, then one more line: the gap marker.
    obs.push(Observation::new(
        at(590),
        LogEvent {
            group: "/ecs/payments-api".into(),
            stream: "api/api/00000065deadbeef00000065".into(),
            timestamp: at(590),
            message: "worker restarted".into(),
            event_id: None,
        },
    ));
    obs.sort_by_key(|o| o.at);
    (header, obs)
}

/// A flag, as the detector will open them, for checking the strip and the markers.
fn sample_flags(now: DateTime<Utc>) -> Vec<Flag> {
    let flag =
        |rule: &'static str, severity, subject: Subject, resource: &str, summary: &str| Flag {
            rule,
            severity,
            source: Source::EcsTask,
            subject,
            resource: resource.into(),
            summary: summary.into(),
            clock: None,
            next_step: "Check the mount target's security group allows NFS (2049) from the tasks."
                .into(),
            evidence: [Evidence::new(
                now,
                Source::EcsTask,
                "payments-api".into(),
                "ResourceInitializationError: mount.nfs4: Connection timed out".into(),
            )]
            .into(),
            count: 6,
            first_seen: now - TimeDelta::seconds(200),
            last_seen: now,
            resolved_at: None,
            problem: None,
        };
    vec![
        flag(
            "ecs.efs_mount_network",
            Severity::Error,
            Subject::Resource(ResourceKey {
                stack: "payments".into(),
                logical_id: "ApiService".into(),
            }),
            "payments/ApiService",
            "Tasks cannot mount EFS: NFS traffic is blocked",
        ),
        flag(
            "elb.unhealthy_targets",
            Severity::Warn,
            Subject::TargetGroup(TG.into()),
            "payments-tg",
            "1 of 2 targets unhealthy (502)",
        ),
        flag(
            "log.error_burst",
            Severity::Warn,
            Subject::LogGroup("/ecs/payments-api".into()),
            "/ecs/payments-api",
            "ERROR lines at 1/min",
        ),
        flag(
            "cfn.resource_failed",
            Severity::Error,
            Subject::Resource(ResourceKey {
                stack: "payments".into(),
                logical_id: "Alarm".into(),
            }),
            "payments/Alarm",
            "Alarm failed: invalid metric name",
        ),
    ]
}

struct Played {
    replay: Replay,
    pipeline: Pipeline,
}

impl Played {
    fn position(&self) -> DateTime<Utc> {
        self.pipeline.now().unwrap_or(self.replay.start)
    }
}

fn play(scenario: (Header, Vec<Observation>), offset: Option<TimeDelta>) -> Played {
    let (header, observations) = scenario;
    let mut replay = Replay::open(
        ReplayInput::Memory(header, Arc::from(observations)),
        StoreCaps::default(),
    )
    .unwrap();
    let mut pipeline = replay.new_pipeline();
    let to = match offset {
        Some(d) => replay.start + d,
        None => DateTime::<Utc>::MAX_UTC,
    };
    replay.advance(to, &mut pipeline, &mut Vec::new()).unwrap();
    Played { replay, pipeline }
}

fn draw(
    played: &Played,
    flags: &[Flag],
    ui: &UiState,
    theme: &Theme,
    size: (u16, u16),
) -> Terminal<TestBackend> {
    let open: Vec<&Flag> = if flags.is_empty() {
        played.pipeline.detector.open_flags()
    } else {
        flags.iter().collect()
    };
    let view = View {
        store: &played.pipeline.store,
        flags: &open,
        header: &played.replay.header,
        start: played.replay.start,
        now: played.position(),
        mode: Mode::Replay {
            paused: false,
            speed: Speed::Factor(16.0),
            finished: played.replay.finished,
        },
        ui,
        theme,
        detect: played.pipeline.detector.config(),
    };
    let mut terminal = Terminal::new(TestBackend::new(size.0, size.1)).unwrap();
    terminal.draw(|frame| ui::render(frame, &view)).unwrap();
    terminal
}

/// The text of a frame, one line per row, for eyes and `contains` checks.
fn text(terminal: &Terminal<TestBackend>) -> String {
    let buffer = terminal.backend().buffer();
    let mut out = String::new();
    for y in 0..buffer.area.height {
        for x in 0..buffer.area.width {
            out.push_str(buffer[(x, y)].symbol());
        }
        out.push('\n');
    }
    out
}

fn snapshot(name: &str, terminal: &Terminal<TestBackend>) {
    // The text first for review, then the styled buffer so themes are checked too.
    insta::assert_snapshot!(
        name,
        format!("{}\n{:?}", text(terminal), terminal.backend().buffer())
    );
}

fn themes() -> [(&'static str, Theme); 2] {
    [
        ("default", theme::built_in("default").unwrap()),
        ("light", theme::built_in("light").unwrap()),
    ]
}

#[test]
fn demo_frames() {
    let points = [
        ("6m", Some(TimeDelta::minutes(6))),
        ("11m", Some(TimeDelta::minutes(11))),
        ("end", None),
    ];
    for (point, offset) in points {
        let played = play(demo::scenario(), offset);
        for (theme_name, theme) in themes() {
            for size in [(80, 24), (160, 48)] {
                let terminal = draw(&played, &[], &UiState::default(), &theme, size);
                snapshot(
                    &format!("demo_{point}_{theme_name}_{}x{}", size.0, size.1),
                    &terminal,
                );
            }
        }
    }
}

#[test]
fn fixture_frames() {
    let played = play(fixture(), Some(TimeDelta::minutes(10)));
    let flags = sample_flags(played.position());
    for (theme_name, theme) in themes() {
        for size in [(80, 24), (160, 48)] {
            let terminal = draw(&played, &flags, &UiState::default(), &theme, size);
            snapshot(
                &format!("fixture_{theme_name}_{}x{}", size.0, size.1),
                &terminal,
            );
        }
    }
    let theme = theme::built_in("default").unwrap();
    let screen = text(&draw(
        &played,
        &flags,
        &UiState::default(),
        &theme,
        (160, 48),
    ));
    for expected in [
        "Resources",
        "Timeline",
        "ECS",
        "Targets",
        "Logs",
        "payments-api",
        "Storage",
        "MountTarget",
        "ecs.efs_mount_network",
        "10.0.1.23:8080",
        "gap",
    ] {
        assert!(
            screen.contains(expected),
            "missing {expected:?} in\n{screen}"
        );
    }
    let small = text(&draw(
        &played,
        &flags,
        &UiState::default(),
        &theme,
        (80, 24),
    ));
    assert!(small.contains("+2 more problems"), "{small}");
    assert!(
        !screen.contains('\u{1b}') && !screen.contains('\u{7}'),
        "raw control characters reached the screen"
    );
}

fn key(code: KeyCode) -> KeyEvent {
    KeyEvent::new(code, KeyModifiers::NONE)
}

#[test]
fn fixture_each_pane_focused_at_80x24() {
    let played = play(fixture(), Some(TimeDelta::minutes(10)));
    let flags = sample_flags(played.position());
    let theme = theme::built_in("default").unwrap();
    for pane in Pane::ALL {
        let mut ui = UiState::default();
        ui.update(key(KeyCode::Char((b'1' + pane.index() as u8) as char)));
        let terminal = draw(&played, &flags, &ui, &theme, (80, 24));
        snapshot(
            &format!("fixture_pane_{}_80x24", pane.title().to_lowercase()),
            &terminal,
        );
    }
}

#[test]
fn popups() {
    let played = play(fixture(), Some(TimeDelta::minutes(10)));
    let flags = sample_flags(played.position());
    let theme = theme::built_in("default").unwrap();
    let mut ui = UiState::default();
    ui.update(key(KeyCode::Char('?')));
    snapshot(
        "popup_help_100x30",
        &draw(&played, &flags, &ui, &theme, (100, 30)),
    );

    // Details of the ECS stopped-task group: the task, its reason and container exit code.
    let mut ui = UiState::default();
    ui.counts.rows = [100; 6];
    ui.update(key(KeyCode::Char('3')));
    for _ in 0..3 {
        ui.update(key(KeyCode::Char('j')));
    }
    ui.update(key(KeyCode::Enter));
    let terminal = draw(&played, &flags, &ui, &theme, (100, 30));
    snapshot("popup_details_ecs_100x30", &terminal);
    assert!(text(&terminal).contains("l task logs"));

    // `l` there: the logs of that task (the running one has log lines in the fixture).
    let mut ui = UiState::default();
    ui.counts.rows = [100; 6];
    ui.update(key(KeyCode::Char('3')));
    ui.update(key(KeyCode::Char('j')));
    ui.update(key(KeyCode::Char('j')));
    ui.update(key(KeyCode::Enter));
    assert_eq!(ui.update(key(KeyCode::Char('l'))), ui::Action::TaskLogs);
    let open: Vec<&Flag> = flags.iter().collect();
    let view = View {
        store: &played.pipeline.store,
        flags: &open,
        header: &played.replay.header,
        start: played.replay.start,
        now: played.position(),
        mode: Mode::Replay {
            paused: false,
            speed: Speed::Factor(16.0),
            finished: false,
        },
        ui: &ui,
        theme: &theme,
        detect: played.pipeline.detector.config(),
    };
    let task = ui::popup::selected_task_id(&view).expect("the running task row");
    ui.show_task_logs(&task);
    let screen = text(&draw(&played, &flags, &ui, &theme, (100, 30)));
    assert!(
        screen.contains("5 Logs 41 lines") && screen.contains("worker restarted"),
        "{screen}"
    );

    // Details of a flag: summary, next step, evidence.
    let mut ui = UiState::default();
    ui.update(key(KeyCode::Char('6')));
    ui.update(key(KeyCode::Enter));
    let screen = text(&draw(&played, &flags, &ui, &theme, (100, 30)));
    assert!(
        screen.contains("Next step") && screen.contains("NFS (2049)"),
        "{screen}"
    );

    // Every pane's details popup renders, selected or not.
    for pane in Pane::ALL {
        let mut ui = UiState::default();
        ui.update(key(KeyCode::Char((b'1' + pane.index() as u8) as char)));
        ui.update(key(KeyCode::Enter));
        let screen = text(&draw(&played, &flags, &ui, &theme, (100, 30)));
        assert!(
            screen.contains(&format!("{} details", pane.title())),
            "{screen}"
        );
    }
}

#[test]
fn filter_and_faults_only() {
    let played = play(fixture(), Some(TimeDelta::minutes(10)));
    let theme = theme::built_in("default").unwrap();
    let mut ui = UiState::default();
    ui.update(key(KeyCode::Char('/')));
    for c in "mount".chars() {
        ui.update(key(KeyCode::Char(c)));
    }
    ui.update(key(KeyCode::Enter));
    let screen = text(&draw(&played, &[], &ui, &theme, (160, 48)));
    assert!(screen.contains("MountTarget"), "{screen}");
    assert!(!screen.contains("GET /health"), "{screen}");
    assert!(
        screen.contains("/mount"),
        "the status line shows the filter"
    );

    // An invalid pattern shows an error on the bottom line and never panics.
    let mut ui = UiState::default();
    ui.update(key(KeyCode::Char('/')));
    ui.update(key(KeyCode::Char('(')));
    let screen = text(&draw(&played, &[], &ui, &theme, (80, 24)));
    assert!(screen.contains("invalid regex"), "{screen}");

    let mut ui = UiState::default();
    ui.update(key(KeyCode::Char('f')));
    ui.update(key(KeyCode::Char('5')));
    let screen = text(&draw(&played, &[], &ui, &theme, (160, 48)));
    assert!(screen.contains("ERROR connection refused"), "{screen}");
    assert!(!screen.contains("GET /health"), "{screen}");
}

#[test]
fn tiny_and_odd_sizes_do_not_panic() {
    let played = play(fixture(), Some(TimeDelta::minutes(10)));
    let flags = sample_flags(played.position());
    let theme = theme::built_in("default").unwrap();
    let mut ui = UiState::default();
    for size in [
        (1, 1),
        (20, 5),
        (19, 4),
        (30, 8),
        (80, 10),
        (139, 40),
        (140, 39),
        (300, 100),
    ] {
        for zoom in [false, true] {
            for popup in [None, Some(ui::Popup::Help), Some(ui::Popup::Details)] {
                ui.zoom = zoom;
                ui.popup = popup;
                let _ = draw(&played, &flags, &ui, &theme, size);
            }
        }
    }
    ui.update(key(KeyCode::Char('?')));
    let _ = draw(&played, &flags, &ui, &theme, (20, 5));
    ui.popup = Some(ui::Popup::Details);
    let _ = draw(&played, &flags, &ui, &theme, (25, 6));
    snapshot(
        "tiny_20x5",
        &draw(&played, &flags, &UiState::default(), &theme, (20, 5)),
    );
}

#[test]
fn no_color_theme_has_no_colours() {
    let played = play(fixture(), Some(TimeDelta::minutes(10)));
    let flags = sample_flags(played.position());
    let theme = theme::monochrome();
    let terminal = draw(&played, &flags, &UiState::default(), &theme, (80, 24));
    let buffer = terminal.backend().buffer();
    for cell in buffer.content() {
        assert_eq!(cell.fg, ratatui::style::Color::Reset);
        assert_eq!(cell.bg, ratatui::style::Color::Reset);
    }
}

#[test]
fn a_frame_builds_only_visible_rows() {
    // 50k timeline rows and 20k log lines: a frame must stay fast (it indexes from the end).
    let (header, mut obs) = fixture();
    for i in 0..60_000 {
        obs.push(Observation::new(
            at(600),
            LogEvent {
                group: "/ecs/x".into(),
                stream: "a/b/c".into(),
                timestamp: at(600),
                message: format!("line {i}"),
                event_id: None,
            },
        ));
    }
    let played = play((header, obs), None);
    let theme = theme::built_in("default").unwrap();
    let started = std::time::Instant::now();
    for _ in 0..20 {
        let _ = draw(&played, &[], &UiState::default(), &theme, (160, 48));
    }
    let per_frame = started.elapsed() / 20;
    assert!(
        per_frame < std::time::Duration::from_millis(50),
        "{per_frame:?} per frame"
    );
}

/// Writes the fixture as a recording, to look at it in a real terminal:
/// `FIXTURE_OUT=/tmp/f.jsonl cargo test --test ui_snapshots -- --ignored export_fixture`
/// then `cargo run -- replay /tmp/f.jsonl`.
#[test]
#[ignore]
fn export_fixture() {
    let (header, obs) = fixture();
    let path =
        std::env::var("FIXTURE_OUT").unwrap_or_else(|_| "/tmp/stackwatch-fixture.jsonl".into());
    stackwatch::session::recording::write_all(std::path::Path::new(&path), &header, &obs).unwrap();
}

/// AWS text is untrusted: escapes, controls, wide characters, huge numbers and odd times must
/// render without panics and without raw control characters on screen.
#[test]
fn hostile_data_renders_safely() {
    let far = DateTime::<Utc>::MAX_UTC - TimeDelta::days(1);
    let nasty = "\u{1b}]0;owned\u{7}\u{1b}[2J名前\u{9b}31m\r\n\t\u{0}x".repeat(300);
    let mut store = Store::new(StoreCaps::default());
    let mut observations = vec![
        cfn(
            0,
            "payments",
            "payments",
            "AWS::CloudFormation::Stack",
            "UPDATE_IN_PROGRESS",
            Some(&nasty),
        ),
        Observation::new(
            at(1),
            CfnResource {
                stack: "payments".into(),
                logical_id: nasty.clone(),
                physical_id: Some(nasty.clone()),
                resource_type: "AWS::CloudFormation::WaitCondition".into(),
                status: Some("CREATE_IN_PROGRESS".into()),
                signal: Some(SignalPolicy {
                    count: u32::MAX,
                    timeout_s: u64::MAX,
                }),
            },
        ),
        Observation::new(
            far,
            LogEvent {
                group: nasty.clone(),
                stream: nasty.clone(),
                timestamp: far,
                message: nasty.clone(),
                event_id: None,
            },
        ),
        Observation::new(
            DateTime::<Utc>::MIN_UTC,
            LogEvent {
                group: String::new(),
                stream: String::new(),
                timestamp: DateTime::<Utc>::MIN_UTC,
                message: String::new(),
                event_id: None,
            },
        ),
        Observation::new(
            at(2),
            TargetHealth {
                target_group: nasty.clone(),
                target_id: nasty.clone(),
                port: Some(u16::MAX),
                state: nasty.clone(),
                reason: Some(nasty.clone()),
                description: Some(nasty.clone()),
            },
        ),
        Observation::new(
            at(3),
            SourceStatus {
                name: nasty.clone(),
                state: SourceState::CredentialsExpired,
                calls_per_min: f32::NAN,
                throttled: u64::MAX,
                stale_s: u64::MAX,
                last_ok: None,
                paced: false,
            },
        ),
        Observation::new(
            at(4),
            EcsService {
                cluster: nasty.clone(),
                service: "svc".into(),
                arn: None,
                status: nasty.clone(),
                desired: u32::MAX,
                running: 0,
                pending: 0,
                task_definition: Some(nasty.clone()),
                deployments: vec![],
            },
        ),
    ];
    // Task ids that are all escapes: a running task the target links to by IP, and two
    // stopped ones with one reason, so the group's details list the other's id.
    let hostile_task = |id: &str, status: &str| {
        Observation::new(
            at(5),
            EcsTask {
                cluster: nasty.clone(),
                task_arn: format!("arn:aws:ecs:us-east-1:1:task/c/{id}"),
                group: Some("service:svc".into()),
                task_definition: nasty.clone(),
                last_status: status.into(),
                desired_status: nasty.clone(),
                stop_code: None,
                stopped_reason: (status == "STOPPED").then(|| nasty.clone()),
                containers: vec![],
                created_at: None,
                started_at: None,
                stopped_at: None,
                private_ip: (status == "RUNNING").then(|| nasty.clone()),
            },
        )
    };
    observations.extend([
        hostile_task(&nasty, "RUNNING"),
        hostile_task(&format!("{nasty}1"), "STOPPED"),
        hostile_task(&format!("{nasty}2"), "STOPPED"),
        // 1.1 kinds: discovery text and a last good read at the end of time.
        Observation::new(
            at(6),
            Watching {
                source: nasty.clone(),
                what: nasty.clone(),
                id: nasty.clone(),
                via: Some(nasty.clone()),
            },
        ),
        // 1.2: a gap mark named and explained by hostile text, at the ends of time.
        Observation::new(
            at(7),
            LogGap {
                group: nasty.clone(),
                from: far,
                to: DateTime::<Utc>::MIN_UTC,
                reason: nasty.clone(),
            },
        ),
        Observation::new(
            at(6),
            SourceStatus {
                name: format!("{nasty}last_ok"),
                state: SourceState::Ok,
                calls_per_min: 1.0,
                throttled: 0,
                stale_s: 0,
                last_ok: Some(DateTime::<Utc>::MAX_UTC),
                paced: false,
            },
        ),
    ]);
    for obs in &observations {
        store.apply(obs);
    }
    let mut header = Header::new(vec![], t0());
    header.account = Some(nasty.clone());
    let theme = theme::built_in("default").unwrap();
    for now in [DateTime::<Utc>::MIN_UTC, t0(), far] {
        for pane in Pane::ALL {
            let mut ui = UiState::default();
            ui.update(key(KeyCode::Char((b'1' + pane.index() as u8) as char)));
            ui.update(key(KeyCode::Enter));
            let view = View {
                store: &store,
                flags: &[],
                header: &header,
                start: t0(),
                now,
                mode: Mode::Replay {
                    paused: true,
                    speed: Speed::Max,
                    finished: false,
                },
                ui: &ui,
                theme: &theme,
                detect: &DetectConfig::default(),
            };
            let mut terminal = Terminal::new(TestBackend::new(120, 40)).unwrap();
            terminal.draw(|frame| ui::render(frame, &view)).unwrap();
            let screen = text(&terminal);
            assert!(
                !screen.chars().any(|c| c.is_control() && c != '\n'),
                "control character on screen:\n{screen}"
            );
            // ratatui drops control characters itself; what the sanitiser also removes is the
            // rest of the sequence.
            assert!(
                !screen.contains("]0;"),
                "escape sequence on screen:\n{screen}"
            );
            // Details popups show only their first lines: check every row's in full.
            let mut details = Vec::new();
            for row in ui::ecs::rows(&view) {
                details.extend(ui::ecs::details(&view, &row));
            }
            for row in ui::targets::rows(&view) {
                details.extend(ui::targets::details(&view, &row));
            }
            assert!(
                details
                    .iter()
                    .any(|l| l.to_string().starts_with("others: "))
            );
            for line in &details {
                let line = line.to_string();
                assert!(
                    !line.chars().any(char::is_control) && !line.contains("]0;"),
                    "escape sequence in details: {line:?}"
                );
            }
        }
    }
}

#[test]
fn rows_of_the_1_1_kinds_and_live_staleness_render() {
    let mut store = Store::new(StoreCaps::default());
    let observations = [
        Observation::new(
            at(10),
            SourceStatus {
                name: "ecs".into(),
                state: SourceState::Ok,
                calls_per_min: 30.0,
                throttled: 0,
                stale_s: 10,
                last_ok: Some(at(0)),
                paced: true,
            },
        ),
        Observation::new(
            at(20),
            Watching {
                source: "logs".into(),
                what: "log_group".into(),
                id: "/ecs/app".into(),
                via: Some("task definition app:7".into()),
            },
        ),
        task(30, 1, "RUNNING", None, None),
        Observation::new(
            at(40),
            EcsTaskGone {
                cluster: "payments-cluster".into(),
                task_arn:
                    "arn:aws:ecs:us-east-1:123456789012:task/payments/00000001deadbeef00000001"
                        .into(),
            },
        ),
    ];
    for obs in &observations {
        store.apply(obs);
    }
    let header = Header::new(vec![], t0());
    let theme = theme::built_in("default").unwrap();
    let mut ui = UiState::default();
    ui.update(key(KeyCode::Char('2')));
    for (size, now) in [((80, 24), at(130)), ((160, 48), at(200))] {
        let view = View {
            store: &store,
            flags: &[],
            header: &header,
            start: t0(),
            now,
            mode: Mode::Live { paused: false },
            detect: &DetectConfig::default(),
            ui: &ui,
            theme: &theme,
        };
        let mut terminal = Terminal::new(TestBackend::new(size.0, size.1)).unwrap();
        terminal.draw(|frame| ui::render(frame, &view)).unwrap();
        let screen = text(&terminal);
        // Staleness follows the view's clock from the last good read.
        let stale = format!("stale {}s", (now - at(0)).num_seconds());
        assert!(screen.contains(&stale), "{stale}:\n{screen}");
        // The budget slowed the source: the header says so where it has room.
        if size.0 >= 160 {
            assert!(screen.contains("paced by budget"), "{screen}");
        }
        assert!(
            screen.contains("stackwatch  /ecs/app") && screen.contains("watching log group"),
            "{screen}"
        );
        assert!(
            screen.contains("no longer exists (was RUNNING)"),
            "{screen}"
        );
    }
}

#[test]
fn expired_credentials_show_a_banner_naming_the_profile_and_the_fix() {
    let status = |name: &str, state| {
        Observation::new(
            at(10),
            SourceStatus {
                name: name.into(),
                state,
                calls_per_min: 4.0,
                throttled: 0,
                stale_s: 10,
                last_ok: Some(at(0)),
                paced: false,
            },
        )
    };
    let mut store = Store::new(StoreCaps::default());
    let mut header = Header::new(vec![], t0());
    header.account = Some("123456789012".into());
    header.region = Some("us-east-1".into());
    // A name from the user's config: the escape sequence must not reach the terminal.
    header.profile = Some(Profile {
        name: "deploy\x1b[2J".into(),
        login: Login::Sso,
    });
    let theme = theme::built_in("default").unwrap();
    let ui = UiState::default();
    let frame = |store: &Store, header: &Header, size: (u16, u16)| {
        let view = View {
            store,
            flags: &[],
            header,
            start: t0(),
            now: at(40),
            mode: Mode::Live { paused: false },
            detect: &DetectConfig::default(),
            ui: &ui,
            theme: &theme,
        };
        let mut terminal = Terminal::new(TestBackend::new(size.0, size.1)).unwrap();
        terminal.draw(|frame| ui::render(frame, &view)).unwrap();
        terminal
    };
    store.apply(&status("cfn", SourceState::Ok));
    assert!(!text(&frame(&store, &header, (80, 24))).contains("credentials"));

    store.apply(&status("cfn", SourceState::CredentialsExpired));
    store.apply(&status("ecs", SourceState::Ok));
    for size in [(80, 24), (160, 48)] {
        let terminal = frame(&store, &header, size);
        let screen = text(&terminal);
        assert!(
            screen.contains("credentials of profile deploy expired")
                && screen.contains("aws sso login --profile deploy`"),
            "{screen}"
        );
        assert!(!screen.contains('\x1b'), "{screen}");
        snapshot(
            &format!("credentials_banner_{}x{}", size.0, size.1),
            &terminal,
        );
    }

    // A profile with keys: the fix fits it.
    header.profile = Some(Profile {
        name: "ci".into(),
        login: Login::Keys,
    });
    let screen = text(&frame(&store, &header, (160, 48)));
    assert!(
        screen.contains("refresh the credentials of profile ci"),
        "{screen}"
    );

    // Back to ok: the banner goes.
    store.apply(&status("cfn", SourceState::Ok));
    assert!(!text(&frame(&store, &header, (80, 24))).contains("credentials of profile"));
}

#[test]
fn a_log_gap_is_marked_in_the_log_tail() {
    let mut store = Store::new(StoreCaps::default());
    let line = |secs: i64, message: &str| {
        Observation::new(
            at(secs),
            LogEvent {
                group: "/ecs/app".into(),
                stream: "web/web/00000001deadbeef00000001".into(),
                timestamp: at(secs),
                message: message.into(),
                event_id: None,
            },
        )
    };
    let observations = [
        line(10, "listening on :8080"),
        Observation::new(
            at(40),
            LogGap {
                group: "/ecs/app".into(),
                from: at(11),
                to: at(40),
                reason: "access denied: not authorized".into(),
            },
        ),
        line(41, "GET /health 200"),
    ];
    for obs in &observations {
        store.apply(obs);
    }
    let header = Header::new(vec![], t0());
    let theme = theme::built_in("default").unwrap();
    let mut ui = UiState::default();
    ui.update(key(KeyCode::Char(
        (b'1' + Pane::Logs.index() as u8) as char,
    )));
    let view = View {
        store: &store,
        flags: &[],
        header: &header,
        start: t0(),
        now: at(60),
        mode: Mode::Live { paused: false },
        detect: &DetectConfig::default(),
        ui: &ui,
        theme: &theme,
    };
    let mut terminal = Terminal::new(TestBackend::new(120, 30)).unwrap();
    terminal.draw(|frame| ui::render(frame, &view)).unwrap();
    let screen = text(&terminal);
    assert!(
        screen.contains("┆ gap in /ecs/app ┆ lines from 09:00:11 to 09:00:40 could not be read"),
        "{screen}"
    );
    assert!(screen.contains("GET /health 200"), "{screen}");
}

/// A cluster of 22 services watched without a stack (`--cluster big`): each service with one
/// rolling deployment, one running task, its own target group (one healthy target at the
/// task's IP) and its own log group. Service 3 runs a second task (so services take unequal
/// rows and pages start inside one), service 7 is short of its desired count, service 13's
/// target group has no target yet.
fn many_services() -> (Header, Vec<Observation>) {
    let mut header = Header::new(vec!["many".into()], t0());
    header.region = Some("us-east-1".into());
    let mut obs = vec![Observation::new(
        at(0),
        Watching {
            source: "ecs".into(),
            what: "cluster".into(),
            id: "big".into(),
            via: Some("--cluster".into()),
        },
    )];
    for n in 1..=22u32 {
        let name = format!("big-svc-{n:02}");
        let tg = format!(
            "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/{name}-tg/{n:016x}"
        );
        let group = format!("/ecs/big/svc-{n:02}");
        let td = format!("arn:aws:ecs:us-east-1:123456789012:task-definition/{name}:3");
        let task_arn = format!("arn:aws:ecs:us-east-1:123456789012:task/big/{n:08x}cafe{n:020x}");
        let ip = format!("10.0.{n}.10");
        let running = u32::from(n != 7);
        let watching = |what: &str, id: &str, via: String| {
            Observation::new(
                at(1),
                Watching {
                    source: "ecs".into(),
                    what: what.into(),
                    id: id.into(),
                    via: Some(via),
                },
            )
        };
        obs.push(watching(
            "service",
            &format!("big/{name}"),
            "cluster big".into(),
        ));
        obs.push(watching("target_group", &tg, format!("service {name}")));
        obs.push(watching(
            "log_group",
            &group,
            format!("task definition {name}:3"),
        ));
        obs.push(Observation::new(
            at(2),
            EcsService {
                cluster: "big".into(),
                service: name.clone(),
                arn: None,
                status: "ACTIVE".into(),
                desired: 1,
                running,
                pending: 1 - running,
                task_definition: Some(td.clone()),
                deployments: vec![EcsDeployment {
                    id: format!("ecs-svc/{n}"),
                    status: "PRIMARY".into(),
                    task_definition: td.clone(),
                    desired: 1,
                    running,
                    pending: 1 - running,
                    failed_tasks: 0,
                    rollout_state: Some("IN_PROGRESS".into()),
                    rollout_state_reason: None,
                    created_at: at(0),
                    updated_at: None,
                }],
            },
        ));
        let tasks = if n == 3 { 2 } else { 1 };
        for t in 0..tasks {
            obs.push(Observation::new(
                at(3),
                EcsTask {
                    cluster: "big".into(),
                    task_arn: format!("{task_arn}{t}"),
                    group: Some(format!("service:{name}")),
                    task_definition: td.clone(),
                    last_status: "RUNNING".into(),
                    desired_status: "RUNNING".into(),
                    stop_code: None,
                    stopped_reason: None,
                    containers: vec![],
                    created_at: Some(at(1)),
                    started_at: Some(at(3)),
                    stopped_at: None,
                    // The first task is the target.
                    private_ip: (t == 0).then(|| ip.clone()),
                },
            ));
        }
        if n != 13 {
            obs.push(Observation::new(
                at(4),
                TargetHealth {
                    target_group: tg,
                    target_id: ip,
                    port: Some(80),
                    state: "healthy".into(),
                    reason: None,
                    description: None,
                },
            ));
        }
        obs.push(Observation::new(
            at(5),
            LogEvent {
                group,
                stream: format!("web/web/{n:08x}cafe"),
                timestamp: at(5),
                message: format!("{name} listening on :80"),
                event_id: Some(format!("log-{n}")),
            },
        ));
    }
    (header, obs)
}

/// The pane's rows page by page (PageDown, as a user scrolls): the text of every page.
fn pages(played: &Played, pane: Pane, size: (u16, u16)) -> Vec<String> {
    let theme = theme::built_in("default").unwrap();
    let mut ui = UiState::default();
    ui.update(key(KeyCode::Char((b'1' + pane.index() as u8) as char)));
    let mut pages = Vec::new();
    loop {
        let flags = played.pipeline.detector.open_flags();
        let view = View {
            store: &played.pipeline.store,
            flags: &flags,
            header: &played.replay.header,
            start: played.replay.start,
            now: played.position(),
            mode: Mode::Live { paused: false },
            ui: &ui,
            theme: &theme,
            detect: played.pipeline.detector.config(),
        };
        ui.counts = ui::row_counts(&view, ratatui::layout::Rect::new(0, 0, size.0, size.1));
        pages.push(text(&draw(played, &[], &ui, &theme, size)));
        let before = ui.selected(pane);
        ui.update(key(KeyCode::PageDown));
        if ui.selected(pane) == before {
            return pages;
        }
    }
}

#[test]
fn twenty_two_services_are_all_on_screen_grouped_and_scrollable() {
    let played = play(many_services(), None);
    let theme = theme::built_in("default").unwrap();
    // As the dashboard does once the first service shows without a stack.
    let mut opened = UiState::default();
    opened.open_on_services();
    let first = draw(&played, &[], &opened, &theme, (160, 48));
    snapshot("many_services_160x48", &first);
    let screen = text(&first);
    assert!(screen.contains("cluster big · 22 services"), "{screen}");
    // Without a stack the ECS pane takes the resources' place, and its title says how far
    // down the list the view is.
    assert!(!screen.contains("Resources"), "{screen}");
    assert!(screen.contains("1 below desired"), "{screen}");
    for size in [(160, 48), (80, 24)] {
        for pane in [Pane::Ecs, Pane::Targets] {
            let pages = pages(&played, pane, size);
            assert!(pages.len() > 1, "{pane:?} at {size:?} scrolls");
            // Every page opens on a service: its own row, or its heading carried over.
            for page in &pages {
                let top = page.lines().skip_while(|l| !l.contains('┏')).nth(1);
                let top = top.unwrap_or_default().trim_start_matches('┃');
                assert!(top.starts_with("big-svc-"), "{pane:?} at {size:?}:\n{page}");
            }
            let all = pages.join("\n");
            for n in 1..=22 {
                let name = format!("big-svc-{n:02}");
                // ECS: the service's own row; Targets: its group under it.
                let shown = match pane {
                    Pane::Ecs => all.contains(&format!("{name} ACTIVE")),
                    _ => all.contains(&format!("{name}  {name}-tg")),
                };
                assert!(shown, "{name} not in the {pane:?} pane at {size:?}:\n{all}");
            }
            if pane == Pane::Targets {
                assert!(all.contains("big-svc-13-tg no targets registered"), "{all}");
            }
        }
    }
    // Filtered down, one service remains, not 22 headings: by name, and by faults only (the
    // one short of its desired count).
    for keys in ["/svc-07\n3", "f3"] {
        let mut ui = UiState::default();
        for c in keys.chars() {
            let code = if c == '\n' {
                KeyCode::Enter
            } else {
                KeyCode::Char(c)
            };
            ui.update(key(code));
        }
        let screen = text(&draw(&played, &[], &ui, &theme, (160, 48)));
        let services = screen.matches(" ACTIVE ").count();
        assert_eq!(services, 1, "{keys:?}:\n{screen}");
        assert!(screen.contains("big-svc-07 ACTIVE"), "{keys:?}:\n{screen}");
    }
    // Each log line names its group.
    let logs = pages(&played, Pane::Logs, (160, 48)).join("\n");
    assert!(logs.contains("svc-22       "), "{logs}");
}

/// Two root stacks (a CDK app's), each with a resource: each heads its resources, and the
/// header names both when there is room, else counts them.
#[test]
fn two_stacks_head_their_resources_and_share_the_header() {
    let mut obs = Vec::new();
    for (n, stack) in ["app-network", "app-api"].into_iter().enumerate() {
        let stack_id = format!("arn:aws:cloudformation:us-east-1:123456789012:stack/{stack}/{n}");
        obs.push(Observation::new(
            at(0),
            CfnStack {
                stack: stack.into(),
                name: stack.into(),
                stack_id: Some(stack_id.clone()),
                status: "UPDATE_IN_PROGRESS".into(),
                reason: None,
            },
        ));
        obs.push(Observation::new(
            at(1),
            CfnEvent {
                stack: stack.into(),
                stack_id,
                event_id: format!("{stack}-1"),
                logical_id: format!("{stack}-queue"),
                physical_id: None,
                resource_type: "AWS::SQS::Queue".into(),
                status: "UPDATE_IN_PROGRESS".into(),
                reason: None,
                timestamp: at(1),
            },
        ));
    }
    let played = play((Header::new(vec!["two".into()], t0()), obs), None);
    let theme = theme::built_in("default").unwrap();
    let wide = text(&draw(&played, &[], &UiState::default(), &theme, (160, 48)));
    assert!(
        wide.contains("app-api UPDATE_IN_PROGRESS · app-network UPDATE_IN_PROGRESS"),
        "{wide}"
    );
    let heading = wide.find("▾ app-api UPDATE_IN_PROGRESS").expect(&wide);
    let resource = wide.find("app-api-queue").expect(&wide);
    let next = wide.find("▾ app-network UPDATE_IN_PROGRESS").expect(&wide);
    assert!(heading < resource && resource < next, "{wide}");
    let narrow = text(&draw(&played, &[], &UiState::default(), &theme, (80, 24)));
    assert!(narrow.contains("2 stacks, 2 in progress"), "{narrow}");
}
