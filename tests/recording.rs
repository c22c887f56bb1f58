//! The recording format: round trips, and clear errors (never panics) on bad input.

use std::io::Write;

use chrono::{TimeZone, Utc};
use stackwatch::model::{
    CfnEvent, EcsContainer, EcsServiceGone, EcsTask, EcsTaskGone, LogEvent, LogGap, Note,
    Observation, ObservationKind, Source, SourceState, SourceStatus, StoreCaps, TargetGone,
    Watching,
};
use stackwatch::pipeline::Pipeline;
use stackwatch::session::recording::{
    self, Header, RecordingError, RecordingReader, RecordingWriter,
};
use stackwatch::session::replay::{Replay, ReplayInput};

fn t(secs: i64) -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).unwrap() + chrono::TimeDelta::seconds(secs)
}

fn sample() -> Vec<Observation> {
    vec![
        Observation::new(
            t(1),
            CfnEvent {
                stack: "app".into(),
                stack_id: "arn:aws:cloudformation:eu-west-1:1:stack/app/1".into(),
                event_id: "e1".into(),
                logical_id: "Service".into(),
                physical_id: None,
                resource_type: "AWS::ECS::Service".into(),
                status: "CREATE_IN_PROGRESS".into(),
                reason: Some("Resource creation Initiated".into()),
                timestamp: t(0),
            },
        ),
        Observation::new(
            t(5),
            EcsTask {
                cluster: "c".into(),
                task_arn: "arn:aws:ecs:eu-west-1:1:task/c/abc".into(),
                group: Some("service:api".into()),
                task_definition: "api:1".into(),
                last_status: "STOPPED".into(),
                desired_status: "STOPPED".into(),
                stop_code: Some("EssentialContainerExited".into()),
                stopped_reason: Some("Essential container in task exited".into()),
                containers: vec![EcsContainer {
                    name: "api".into(),
                    last_status: "STOPPED".into(),
                    exit_code: Some(1),
                    reason: None,
                }],
                created_at: Some(t(2)),
                started_at: Some(t(3)),
                stopped_at: Some(t(4)),
                private_ip: None,
            },
        ),
        Observation::new(
            t(6),
            LogEvent {
                group: "/ecs/api".into(),
                stream: "ecs/api/abc".into(),
                timestamp: t(6),
                // Hostile text survives the file byte for byte; outputs sanitise it.
                message: "boom \u{1b}]52;c;eA==\u{7} \"quoted\" \u{9b}2J".into(),
                event_id: Some("1".into()),
            },
        ),
    ]
}

fn write(observations: &[Observation]) -> tempfile::NamedTempFile {
    let file = tempfile::NamedTempFile::new().unwrap();
    recording::write_all(
        file.path(),
        &Header::new(vec!["test".into()], t(0)),
        observations,
    )
    .unwrap();
    file
}

#[test]
fn observation_json_shape_is_the_documented_one() {
    let line = serde_json::to_string(&sample()[2]).unwrap();
    assert!(
        line.starts_with(
            r#"{"at":"2026-11-23T09:00:06Z","kind":"log_event","data":{"group":"/ecs/api""#
        ),
        "{line}"
    );
}

#[test]
fn write_then_read_gives_the_same_observations() {
    let file = write(&sample());
    let (header, back) = recording::read_all(file.path()).unwrap();
    assert_eq!(header.version, recording::FORMAT_VERSION);
    assert_eq!(back, sample());
}

#[test]
fn record_then_replay_gives_the_same_store() {
    let observations = sample();
    let mut direct = Pipeline::new(StoreCaps::default());
    for obs in &observations {
        direct.feed(obs, &mut Vec::new());
    }
    let file = write(&observations);
    let mut replay = Replay::from_path(file.path(), StoreCaps::default()).unwrap();
    let replayed = replay.run_to_end().unwrap();
    assert_eq!(replayed.store, direct.store);
    assert!(replay.finished);
}

#[test]
fn batches_are_flushed_as_they_are_written() {
    let file = tempfile::NamedTempFile::new().unwrap();
    let mut writer = RecordingWriter::create(file.path(), &Header::new(vec![], t(0))).unwrap();
    writer.write_batch(&sample()[..1]).unwrap();
    // Read while the writer is still open: what a kill -9 would leave.
    let (_, back) = recording::read_all(file.path()).unwrap();
    assert_eq!(back.len(), 1);
}

#[test]
fn a_truncated_last_line_is_tolerated() {
    let file = write(&sample());
    let text = std::fs::read_to_string(file.path()).unwrap();
    let cut = &text[..text.len() - 20];
    std::fs::write(file.path(), cut).unwrap();
    let mut reader = RecordingReader::open(file.path()).unwrap();
    let mut n = 0;
    while reader.next_observation().unwrap().is_some() {
        n += 1;
    }
    assert_eq!(n, 2);
    assert!(reader.truncated_tail);
}

#[test]
fn a_garbage_line_is_an_error_with_its_line_number() {
    let file = write(&sample());
    let mut text = std::fs::read_to_string(file.path()).unwrap();
    text.insert_str(text.find('\n').unwrap() + 1, "this is not json\n");
    std::fs::write(file.path(), text).unwrap();
    let err = recording::read_all(file.path()).unwrap_err();
    assert!(
        matches!(err, RecordingError::BadLine { line: 2, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains(":2: not an observation"), "{err}");
}

#[test]
fn a_line_that_is_not_utf8_is_an_error_with_its_line_number_and_a_cut_one_a_truncated_tail() {
    let file = write(&sample());
    let mut bytes = std::fs::read(file.path()).unwrap();
    let second = bytes.iter().position(|&b| b == b'\n').unwrap() + 1;
    // A log message with a byte that cannot start a UTF-8 character.
    let mut bad = br#"{"at":"2026-11-23T09:00:02Z","kind":"log_event","data":{"group":"g","stream":"s","timestamp":"2026-11-23T09:00:02Z","message":"caf"#.to_vec();
    bad.extend_from_slice(b"\xff\"}}\n");
    let mut with_bad = bytes.clone();
    with_bad.splice(second..second, bad);
    std::fs::write(file.path(), &with_bad).unwrap();
    let err = recording::read_all(file.path()).unwrap_err();
    assert!(
        matches!(err, RecordingError::BadLine { line: 2, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("UTF-8"), "{err}");
    // Cut in the middle of a two-byte character, without its newline: the writer stopped.
    bytes.extend_from_slice(
        "{\"at\":\"2026-11-23T09:00:09Z\",\"kind\":\"note\",\"data\":{\"text\":\"é".as_bytes(),
    );
    bytes.pop();
    std::fs::write(file.path(), &bytes).unwrap();
    let mut reader = RecordingReader::open(file.path()).unwrap();
    let mut n = 0;
    while reader.next_observation().unwrap().is_some() {
        n += 1;
    }
    assert_eq!(n, sample().len());
    assert!(reader.truncated_tail);
}

#[test]
fn an_unknown_kind_is_skipped_and_counted() {
    // What a later 1.x writer adds: a kind this version does not know, anywhere in the file.
    let file = write(&sample());
    let mut text = std::fs::read_to_string(file.path()).unwrap();
    let martian =
        r#"{"at":"2026-11-23T09:00:02Z","kind":"martian_landing","data":{"crater":{"depth":3}}}"#;
    text.insert_str(text.find('\n').unwrap() + 1, &format!("{martian}\n"));
    text.push_str(martian);
    text.push('\n');
    std::fs::write(file.path(), text).unwrap();
    let mut reader = RecordingReader::open(file.path()).unwrap();
    let mut back = Vec::new();
    while let Some(obs) = reader.next_observation().unwrap() {
        back.push(obs);
    }
    assert_eq!(back, sample());
    assert_eq!(reader.skipped_unknown_kinds, 2);
    assert!(!reader.truncated_tail);
}

#[test]
fn a_kind_that_is_not_a_kind_name_is_an_error_with_its_line_number() {
    let file = write(&sample());
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(file.path())
        .unwrap();
    writeln!(
        f,
        r#"{{"at":"2026-11-23T09:00:09Z","kind":"Martian Landing!","data":{{}}}}"#
    )
    .unwrap();
    let err = recording::read_all(file.path()).unwrap_err();
    assert!(
        matches!(err, RecordingError::BadLine { line: 5, .. }),
        "{err:?}"
    );
}

#[test]
fn the_new_kinds_and_fields_of_1_1_round_trip() {
    let observations = vec![
        Observation::new(
            t(1),
            Watching {
                source: "logs".into(),
                what: "log_group".into(),
                id: "/ecs/app".into(),
                via: Some("task definition app:7".into()),
            },
        ),
        Observation::new(
            t(2),
            EcsTaskGone {
                cluster: "c".into(),
                task_arn: "arn:aws:ecs:eu-west-1:1:task/c/abc".into(),
            },
        ),
        Observation::new(
            t(3),
            EcsServiceGone {
                cluster: "c".into(),
                service: "api".into(),
            },
        ),
        Observation::new(
            t(4),
            TargetGone {
                target_group: "arn:tg".into(),
                target_id: "10.0.1.5".into(),
                port: None,
            },
        ),
        Observation::new(
            t(5),
            SourceStatus {
                name: "ecs".into(),
                state: SourceState::Ok,
                calls_per_min: 12.0,
                throttled: 0,
                stale_s: 4,
                last_ok: Some(t(1)),
                paced: true,
            },
        ),
    ];
    let file = write(&observations);
    let text = std::fs::read_to_string(file.path()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].contains(r#""version":"1.3""#), "{}", lines[0]);
    // The documented shapes.
    assert_eq!(
        lines[1],
        r#"{"at":"2026-11-23T09:00:01Z","kind":"watching","data":{"source":"logs","what":"log_group","id":"/ecs/app","via":"task definition app:7"}}"#
    );
    assert_eq!(
        lines[2],
        r#"{"at":"2026-11-23T09:00:02Z","kind":"ecs_task_gone","data":{"cluster":"c","task_arn":"arn:aws:ecs:eu-west-1:1:task/c/abc"}}"#
    );
    assert_eq!(
        lines[3],
        r#"{"at":"2026-11-23T09:00:03Z","kind":"ecs_service_gone","data":{"cluster":"c","service":"api"}}"#
    );
    assert_eq!(
        lines[4],
        r#"{"at":"2026-11-23T09:00:04Z","kind":"target_gone","data":{"target_group":"arn:tg","target_id":"10.0.1.5"}}"#
    );
    assert_eq!(
        lines[5],
        r#"{"at":"2026-11-23T09:00:05Z","kind":"source_status","data":{"name":"ecs","state":"ok","calls_per_min":12.0,"throttled":0,"stale_s":4,"last_ok":"2026-11-23T09:00:01Z","paced":true}}"#
    );
    let (_, back) = recording::read_all(file.path()).unwrap();
    assert_eq!(back, observations);
}

#[test]
fn the_log_gap_of_1_2_round_trips_in_its_documented_shape() {
    let observations = vec![Observation::new(
        t(70),
        LogGap {
            group: "/ecs/app".into(),
            from: t(10),
            to: t(70),
            reason: "access denied: not authorized".into(),
        },
    )];
    let file = write(&observations);
    let text = std::fs::read_to_string(file.path()).unwrap();
    assert_eq!(
        text.lines().nth(1).unwrap(),
        r#"{"at":"2026-11-23T09:01:10Z","kind":"log_gap","data":{"group":"/ecs/app","from":"2026-11-23T09:00:10Z","to":"2026-11-23T09:01:10Z","reason":"access denied: not authorized"}}"#
    );
    let (_, back) = recording::read_all(file.path()).unwrap();
    assert_eq!(back, observations);
}

#[test]
fn the_note_of_1_3_round_trips_in_its_documented_shape() {
    let observations = vec![
        Observation::new(
            t(90),
            Note {
                text: "restarted the service".into(),
                author: None,
            },
        ),
        Observation::new(
            t(91),
            Note {
                text: "rolled back by hand".into(),
                author: Some("ana".into()),
            },
        ),
    ];
    let file = write(&observations);
    let text = std::fs::read_to_string(file.path()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].contains(r#""version":"1.3""#), "{}", lines[0]);
    assert_eq!(
        lines[1],
        r#"{"at":"2026-11-23T09:01:30Z","kind":"note","data":{"text":"restarted the service"}}"#
    );
    assert_eq!(
        lines[2],
        r#"{"at":"2026-11-23T09:01:31Z","kind":"note","data":{"text":"rolled back by hand","author":"ana"}}"#
    );
    let (_, back) = recording::read_all(file.path()).unwrap();
    assert_eq!(back, observations);
    assert_eq!(back[0].source(), Source::Stackwatch);
}

#[test]
fn a_replayed_note_is_on_the_timeline_and_in_the_notes_and_raises_nothing() {
    let mut observations = sample();
    observations.push(Observation::new(
        t(7),
        Note {
            text: "restarted the service".into(),
            author: None,
        },
    ));
    let file = write(&observations);
    let mut replay = Replay::from_path(file.path(), StoreCaps::default()).unwrap();
    let pipeline = replay.run_to_end().unwrap();
    let store = &pipeline.store;
    assert_eq!(store.notes.len(), 1);
    assert_eq!(&*store.notes[0].text, "restarted the service");
    assert_eq!(store.notes[0].at, t(7));
    let row = store
        .timeline
        .iter()
        .find(|r| r.note)
        .expect("a timeline row for the note");
    assert_eq!(
        (row.at, row.source, &*row.resource, &*row.message),
        (t(7), Source::Stackwatch, "note", "restarted the service")
    );
    // The rules never read a note: the same recording without it raises the same flags.
    let without = write(&sample());
    let plain = Replay::from_path(without.path(), StoreCaps::default())
        .unwrap()
        .run_to_end()
        .unwrap();
    let rules = |p: &Pipeline| {
        let mut rules: Vec<_> = p.detector.open_flags().iter().map(|f| f.rule).collect();
        rules.sort();
        rules
    };
    assert_eq!(rules(&pipeline), rules(&plain));
}

#[test]
fn a_1_2_recording_without_notes_still_reads_and_replays() {
    let file = tempfile::NamedTempFile::new().unwrap();
    let event = serde_json::to_string(&sample()[0]).unwrap();
    let log = serde_json::to_string(&sample()[2]).unwrap();
    std::fs::write(
        file.path(),
        format!(
            "{{\"format\":\"stackwatch-recording\",\"version\":\"1.2\",\"stackwatch\":\"0.1.0\",\"args\":[\"watch\"],\"started_at\":\"2026-11-23T09:00:00Z\"}}\n{event}\n{log}\n"
        ),
    )
    .unwrap();
    let (header, back) = recording::read_all(file.path()).unwrap();
    assert_eq!(header.version, "1.2");
    assert_eq!(back, vec![sample()[0].clone(), sample()[2].clone()]);
    let pipeline = Replay::from_path(file.path(), StoreCaps::default())
        .unwrap()
        .run_to_end()
        .unwrap();
    assert!(pipeline.store.notes.is_empty());
    assert_eq!(pipeline.store.timeline.len(), 2);
}

#[test]
fn a_note_typed_live_is_written_to_the_recording_and_shown() {
    use stackwatch::session::feed::Feed;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("live.jsonl");
    let header = Header::new(vec!["watch".into()], t(0));
    let writer = stackwatch::session::recorder::create(&path, &header).unwrap();
    let (_tx, rx) = tokio::sync::mpsc::channel(8);
    let mut feed = Feed::live(header, rx, Some(writer));
    let mut pipeline = Pipeline::new(StoreCaps::default());
    let mut changes = Vec::new();
    let note = Note::typed("restarted the service").unwrap();
    assert!(feed.note(note, &mut pipeline, &mut changes).unwrap());
    // Shown at once: the pipeline's change is the note's timeline row.
    assert!(
        matches!(changes.as_slice(), [stackwatch::pipeline::Change::Row(r)] if r.note && &*r.message == "restarted the service"),
        "{changes:?}"
    );
    // And on disk before the session ends (the writer flushes every batch).
    let (_, back) = recording::read_all(&path).unwrap();
    assert!(
        matches!(back.as_slice(), [Observation { kind: ObservationKind::Note(n), .. }] if n.text == "restarted the service"),
        "{back:?}"
    );
    // A replay of it shows the note again.
    let replayed = Replay::from_path(&path, StoreCaps::default())
        .unwrap()
        .run_to_end()
        .unwrap();
    assert_eq!(&*replayed.store.notes[0].text, "restarted the service");
}

#[test]
fn a_note_typed_in_a_replay_is_shown_at_the_replay_position_and_not_written() {
    use stackwatch::clock::Speed;
    use stackwatch::session::feed::Feed;
    let file = write(&sample());
    let replay = Replay::from_path(file.path(), StoreCaps::default()).unwrap();
    let mut pipeline = replay.new_pipeline();
    let mut feed = Feed::replay(replay, Speed::Max);
    let mut changes = Vec::new();
    feed.seek(5, &mut pipeline).unwrap();
    let position = pipeline.now().unwrap();
    let note = Note::typed("looks like the health check").unwrap();
    assert!(!feed.note(note, &mut pipeline, &mut changes).unwrap());
    let kept = pipeline.store.notes.back().unwrap();
    assert_eq!(kept.at, position);
    let (_, on_disk) = recording::read_all(file.path()).unwrap();
    assert_eq!(on_disk, sample(), "the replayed file is untouched");
}

#[test]
fn a_1_0_source_status_without_last_ok_keeps_its_recorded_staleness() {
    let line = r#"{"at":"2026-11-23T09:00:05Z","kind":"source_status","data":{"name":"ecs","state":"ok","calls_per_min":1.0,"throttled":0,"stale_s":45}}"#;
    let obs: Observation = serde_json::from_str(line).unwrap();
    let ObservationKind::SourceStatus(status) = obs.kind else {
        panic!("{obs:?}")
    };
    assert_eq!(status.last_ok, None);
    assert_eq!(status.stale_s_at(t(5)), 45);
    assert_eq!(status.stale_s_at(t(500)), 45);
    let live = SourceStatus {
        last_ok: Some(t(0)),
        ..status
    };
    assert_eq!(live.stale_s_at(t(5)), 5);
    assert_eq!(live.stale_s_at(t(500)), 500);
    // A clock behind the last read is not stale.
    assert_eq!(live.stale_s_at(t(-10)), 0);
}

#[test]
fn a_future_major_version_is_refused_clearly() {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        file.path(),
        "{\"format\":\"stackwatch-recording\",\"version\":\"2.0\",\"stackwatch\":\"9.0.0\",\"started_at\":\"2026-11-23T09:00:00Z\"}\n",
    )
    .unwrap();
    let err = RecordingReader::open(file.path()).err().unwrap();
    assert!(
        matches!(err, RecordingError::UnsupportedVersion { .. }),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("version \"2.0\" is not supported"),
        "{err}"
    );
}

#[test]
fn a_newer_minor_version_with_extra_fields_is_read() {
    let file = tempfile::NamedTempFile::new().unwrap();
    let obs = serde_json::to_string(&sample()[0]).unwrap();
    std::fs::write(
        file.path(),
        format!("{{\"format\":\"stackwatch-recording\",\"version\":\"1.7\",\"stackwatch\":\"1.2.0\",\"started_at\":\"2026-11-23T09:00:00Z\",\"new_field\":1}}\n{obs}\n"),
    )
    .unwrap();
    let (_, back) = recording::read_all(file.path()).unwrap();
    assert_eq!(back.len(), 1);
}

#[test]
fn empty_files_non_recordings_and_binary_garbage_are_errors_not_panics() {
    let cases: [(&[u8], &str); 4] = [
        (b"", "empty file"),
        (b"{\"hello\":1}\n", "not a stackwatch recording"),
        (b"\xff\xfe\x00garbage\n", "not a stackwatch recording"),
        (b"[1,2,3]\n{}\n", "not a stackwatch recording"),
    ];
    for (bytes, expected) in cases {
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), bytes).unwrap();
        let err = RecordingReader::open(file.path()).err().unwrap();
        assert!(err.to_string().contains(expected), "{err}");
    }
}

#[test]
fn invalid_utf8_inside_a_recording_is_a_bad_line() {
    let file = write(&sample());
    let mut bytes = std::fs::read(file.path()).unwrap();
    let second = bytes.iter().position(|&b| b == b'\n').unwrap() + 5;
    bytes[second] = 0xff;
    std::fs::write(file.path(), bytes).unwrap();
    let err = recording::read_all(file.path()).unwrap_err();
    assert!(
        matches!(err, RecordingError::BadLine { line: 2, .. }),
        "{err:?}"
    );
}

#[test]
fn replay_from_memory_matches_replay_from_file() {
    let observations = sample();
    let file = write(&observations);
    let header = Header::new(vec!["test".into()], t(0));
    let mut from_memory = Replay::open(
        ReplayInput::Memory(header, observations.into()),
        StoreCaps::default(),
    )
    .unwrap();
    let mut from_file = Replay::from_path(file.path(), StoreCaps::default()).unwrap();
    assert_eq!(
        from_memory.run_to_end().unwrap().store,
        from_file.run_to_end().unwrap().store
    );
}

#[test]
fn seeking_back_rebuilds_the_same_state() {
    let observations = sample();
    let header = Header::new(vec![], t(0));
    let mut replay = Replay::open(
        ReplayInput::Memory(header, observations.into()),
        StoreCaps::default(),
    )
    .unwrap();
    let mut pipeline = replay.new_pipeline();
    replay.seek(t(5), &mut pipeline).unwrap();
    let at_five = pipeline.store.clone();
    replay.seek(t(60), &mut pipeline).unwrap();
    assert_ne!(pipeline.store.observations, at_five.observations);
    replay.seek(t(5), &mut pipeline).unwrap();
    assert_eq!(pipeline.store, at_five);
    assert!(matches!(sample()[0].kind, ObservationKind::CfnEvent(_)));
}
