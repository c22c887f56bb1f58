//! Properties of the two readers of untrusted text: the recording reader (one line, and a whole
//! file) and `explain`'s pure entry points (`normalise`, the rules, the source guess, a
//! `--jsonl` line). Fed arbitrary bytes, arbitrary JSON and real messages of the known corpus
//! with random cuts and case changes, they never panic, and every call returns within a
//! generous bound, so a pattern that backtracks catastrophically (or code that goes quadratic on
//! a long paste) shows up here.
//!
//! The library is called, not the binary, so a few hundred cases run in seconds.

use std::io::Cursor;
use std::sync::LazyLock;
use std::time::{Duration, Instant};

use proptest::prelude::*;
use serde_json::Value;

use stackwatch::detect::{classify, unknown};
use stackwatch::explain::{SOURCE_NAMES, answer_jsonl_line, explain, normalise};
use stackwatch::model::{LogEvent, Observation, ObservationLine, Source, byte_prefix};
use stackwatch::session::recording::{Header, RecordingReader, read_all};

/// Real messages labelled with their rule ids.
const CORPUS: &str = include_str!("data/signals-known.jsonl");

/// The bound on one call of a line of up to [`SHORT`] bytes. A debug build classifies such a
/// line in well under a millisecond; this is fifty times more, so a loaded machine does not make
/// it flaky, and a pattern or a loop that goes quadratic or worse still blows through it.
const PER_CALL: Duration = Duration::from_millis(50);
/// Longer inputs (up to the 64 KiB head `explain` reads, and the rest dropped) take up to about
/// 20 ms in a debug build on a busy 2-core machine: they get more room.
const PER_LONG_CALL: Duration = Duration::from_millis(250);
const SHORT: usize = 4096;

/// Cases per property: enough to find a panic in a few runs, few enough to run in seconds.
const CASES: u32 = 256;

/// The corpus messages with their sources.
static MESSAGES: LazyLock<Vec<(Source, String)>> = LazyLock::new(|| {
    CORPUS
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: Value = serde_json::from_str(l).expect("a corpus line is JSON");
            let source = stackwatch::explain::parse_source(v["source"].as_str().unwrap())
                .expect("a known source");
            (source, v["text"].as_str().unwrap().to_string())
        })
        .collect()
});

/// Compiles every rule's regex once, outside the timed calls: the first use builds them all.
fn warm() {
    static WARM: LazyLock<()> = LazyLock::new(|| {
        for (source, text) in MESSAGES.iter() {
            let _ = explain(Some(*source), text);
            let _ = explain(None, text);
        }
    });
    LazyLock::force(&WARM);
}

/// Runs `f`, asserting it took less than [`PER_CALL`] (or [`PER_LONG_CALL`] on a long input).
fn timed<T>(what: &str, input: &str, f: impl FnOnce() -> T) -> T {
    let start = Instant::now();
    let out = f();
    let took = start.elapsed();
    let bound = if input.len() <= SHORT {
        PER_CALL
    } else {
        PER_LONG_CALL
    };
    assert!(
        took < bound,
        "{what} took {took:?} (bound {bound:?}) on {} bytes: {:.300?}",
        input.len(),
        input
    );
    out
}

/// Every pure entry point of `explain` on one text, each call timed.
fn explain_everything(source: Option<Source>, text: &str) {
    let message = timed("normalise", text, || normalise(text));
    for s in SOURCE_NAMES.map(|(_, s)| s) {
        timed("classify", &message, || classify(s, &message));
        timed("unknown", &message, || unknown(s, &message));
    }
    for given in [source, None] {
        let e = timed("explain", text, || explain(given, text));
        for field in [&e.summary, &e.next_step] {
            assert!(!field.chars().any(char::is_control), "{field:?}");
            assert!(field.len() < 4096, "{}", field.len());
        }
        if given.is_none() {
            assert!(e.guessed);
        }
    }
    let request = serde_json::json!({ "text": text }).to_string();
    for line in [text, request.as_str()] {
        let answer = timed("a --jsonl line", line, || answer_jsonl_line(line, 1));
        let v: Value = serde_json::from_str(&answer).expect("a --jsonl answer is JSON");
        assert!(v.get("rule").is_some() || v.get("error").is_some(), "{v}");
    }
}

/// One recording line through the line parser: an observation, a skipped kind or an error.
fn parse_line(bytes: &[u8]) {
    let shown = String::from_utf8_lossy(bytes);
    timed("a recording line", &shown, || {
        serde_json::from_slice::<ObservationLine>(bytes)
    })
    .ok();
}

/// The header a recording starts with.
fn header_line() -> String {
    let at = chrono::DateTime::parse_from_rfc3339("2026-11-30T10:00:00Z")
        .unwrap()
        .to_utc();
    serde_json::to_string(&Header::new(vec!["stackwatch".into()], at)).unwrap()
}

/// A whole file through the reader: every line read or refused with its number, in order, each
/// read timed. Also through `read_all` from a file on disk.
fn read_recording(lines: &[Vec<u8>], final_newline: bool) {
    let mut file = header_line().into_bytes();
    for (i, line) in lines.iter().enumerate() {
        file.push(b'\n');
        file.extend_from_slice(line);
        if i + 1 == lines.len() && final_newline {
            file.push(b'\n');
        }
    }
    let mut reader =
        RecordingReader::new(Cursor::new(file.clone()), "prop.jsonl").expect("the header is valid");
    let shown = String::from_utf8_lossy(&file).into_owned();
    for _ in 0..=lines.len() {
        match timed("a recording read", &shown, || reader.next_observation()) {
            Ok(Some(_)) => {}
            Ok(None) => break,
            Err(e) => {
                assert!(e.to_string().starts_with("prop.jsonl:"), "{e}");
                break;
            }
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("prop.jsonl");
    std::fs::write(&path, &file).unwrap();
    let _ = read_all(&path);
}

/// A recording line holding `message` as a log event.
fn log_line(message: &str) -> String {
    let at = chrono::DateTime::parse_from_rfc3339("2026-11-30T10:00:01Z")
        .unwrap()
        .to_utc();
    serde_json::to_string(&Observation::new(
        at,
        LogEvent {
            group: "/ecs/api".into(),
            stream: "ecs/api/0123".into(),
            timestamp: at,
            message: message.into(),
            event_id: Some("1".into()),
        },
    ))
    .unwrap()
}

fn any_source() -> impl Strategy<Value = Option<Source>> {
    prop_oneof![
        Just(None),
        (0..SOURCE_NAMES.len()).prop_map(|i| Some(SOURCE_NAMES[i].1))
    ]
}

/// Arbitrary JSON: scalars, strings with escapes and controls, nested arrays and objects whose
/// keys are sometimes the ones the readers look for.
fn any_json() -> impl Strategy<Value = Value> {
    let key = prop_oneof![
        Just("message".to_string()),
        Just("reason".to_string()),
        Just("StatusReason".to_string()),
        Just("text".to_string()),
        Just("source".to_string()),
        Just("kind".to_string()),
        Just("at".to_string()),
        "\\PC{0,8}",
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        ".{0,40}".prop_map(Value::String),
        "(ERROR|Traceback|Target\\.|\\(service |An error occurred \\()[ -~]{0,60}"
            .prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((key.clone(), inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

/// A real message, cut at a random byte and with random case changes.
#[derive(Debug, Clone, Copy)]
enum Case {
    Keep,
    Upper,
    Lower,
    /// Every character's case flipped where the mask says so.
    Mixed(u64),
}

fn any_case() -> impl Strategy<Value = Case> {
    prop_oneof![
        Just(Case::Keep),
        Just(Case::Upper),
        Just(Case::Lower),
        any::<u64>().prop_map(Case::Mixed),
    ]
}

fn recase(text: &str, case: Case) -> String {
    match case {
        Case::Keep => text.to_string(),
        Case::Upper => text.to_uppercase(),
        Case::Lower => text.to_lowercase(),
        Case::Mixed(mask) => text
            .chars()
            .enumerate()
            .map(|(i, c)| {
                if mask.rotate_left(i as u32) & 1 == 1 {
                    c.to_uppercase().next().unwrap_or(c)
                } else {
                    c.to_lowercase().next().unwrap_or(c)
                }
            })
            .collect(),
    }
}

/// (source, text): a corpus message with a random start and end cut and a case change.
fn real_message() -> impl Strategy<Value = (Source, String)> {
    (
        0..MESSAGES.len(),
        any::<prop::sample::Index>(),
        any::<prop::sample::Index>(),
        any_case(),
    )
        .prop_map(|(i, a, b, case)| {
            let (source, text) = &MESSAGES[i];
            let end = byte_prefix(text, b.index(text.len() + 1)).len();
            let start = byte_prefix(text, a.index(end + 1)).len();
            // Mostly the head of the message (a cut-off reason), sometimes a middle piece.
            let start = if a.index(4) == 0 { start } else { 0 };
            (*source, recase(&text[start..end], case))
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    #[test]
    fn explain_survives_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..512),
                                        source in any_source()) {
        warm();
        explain_everything(source, &String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn explain_survives_arbitrary_json(value in any_json(), source in any_source()) {
        warm();
        let text = value.to_string();
        explain_everything(source, &text);
        let pretty = serde_json::to_string_pretty(&value).unwrap();
        explain_everything(source, &pretty);
    }

    #[test]
    fn explain_survives_cut_and_recased_real_messages((source, text) in real_message(),
                                                      repeat in 1usize..4) {
        warm();
        explain_everything(Some(source), &text);
        // Console copy-paste: the same message several times over, one per line.
        let pasted = vec![text.as_str(); repeat].join("\n");
        explain_everything(None, &pasted);
    }

    /// Long inputs built of one piece repeated: deep JSON nesting, hundreds of quoted reasons,
    /// a message pasted over and over (the shapes that make a matcher or a parser work hardest).
    #[test]
    fn explain_survives_long_repetitive_input(
        piece in prop_oneof![
            Just("{\"a\":".to_string()),
            Just("[".to_string()),
            Just("\"quoted reason with words\" ".to_string()),
            Just("\\\"".to_string()),
            real_message().prop_map(|(_, t)| t + " "),
            "[ -~]{1,12}",
        ],
        repeat in 1usize..2000,
        source in any_source(),
    ) {
        warm();
        explain_everything(source, &piece.repeat(repeat));
    }

    #[test]
    fn a_recording_line_survives_anything(bytes in prop::collection::vec(any::<u8>(), 0..512),
                                          value in any_json(),
                                          (_, text) in real_message(),
                                          cut in any::<prop::sample::Index>()) {
        parse_line(&bytes);
        parse_line(value.to_string().as_bytes());
        // A real message as a log event: whole, and the line cut short.
        let line = log_line(&text);
        parse_line(line.as_bytes());
        parse_line(&line.as_bytes()[..cut.index(line.len() + 1)]);
        // A line with the right shape and random values for its fields.
        if let Value::Object(mut fields) = value {
            fields.insert("kind".into(), Value::from("log_event"));
            parse_line(Value::Object(fields).to_string().as_bytes());
        }
    }

    #[test]
    fn a_recording_file_survives_anything(
        lines in prop::collection::vec(
            prop_oneof![
                prop::collection::vec(any::<u8>(), 0..200),
                any_json().prop_map(|v| v.to_string().into_bytes()),
                real_message().prop_map(|(_, t)| log_line(&t).into_bytes()),
                (real_message(), any::<prop::sample::Index>()).prop_map(|((_, t), cut)| {
                    let line = log_line(&t).into_bytes();
                    line[..cut.index(line.len() + 1)].to_vec()
                }),
            ],
            0..12,
        ),
        final_newline in any::<bool>(),
    ) {
        read_recording(&lines, final_newline);
    }
}

/// A file of only good lines reads back whole: the property above is not passing because
/// the reader refuses everything.
#[test]
fn real_messages_as_log_events_read_back() {
    let lines: Vec<Vec<u8>> = MESSAGES
        .iter()
        .map(|(_, t)| log_line(t).into_bytes())
        .collect();
    let mut file = header_line().into_bytes();
    for line in &lines {
        file.push(b'\n');
        file.extend_from_slice(line);
    }
    file.push(b'\n');
    let mut reader = RecordingReader::new(Cursor::new(file), "good.jsonl").unwrap();
    let mut n = 0;
    while reader.next_observation().unwrap().is_some() {
        n += 1;
    }
    assert_eq!(n, MESSAGES.len());
}
