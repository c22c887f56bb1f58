//! A real-terminal check: the dashboard runs in a pseudo-terminal, draws its panes (and the
//! demo's flags, once the detector raises any), quits on `q`, Ctrl-c, SIGTERM, SIGHUP and
//! SIGQUIT with status 0, and leaves the terminal as it found it.

#[path = "support/terminal.rs"]
mod terminal;

use std::io::Write;
use std::time::Duration;

use terminal::{assert_restored, expect_clean_exit, read_screen, spawn_stackwatch, wait_for};

use stackwatch::detect::FlagChange;
use stackwatch::model::StoreCaps;
use stackwatch::pipeline::Change;
use stackwatch::session::demo;
use stackwatch::session::replay::{Replay, ReplayInput};

const ROWS: u16 = 40;
const COLS: u16 = 120;
const SPEED: f64 = 30.0;

/// The first flag the demo opens: its rule and how far into the demo (virtual) it opens.
fn first_demo_flag() -> Option<(&'static str, Duration)> {
    let (header, observations) = demo::scenario();
    let mut replay = Replay::open(
        ReplayInput::Memory(header, observations.into()),
        StoreCaps::default(),
    )
    .unwrap();
    let start = replay.start;
    let mut pipeline = replay.new_pipeline();
    let mut first = None;
    let mut changes = Vec::new();
    replay
        .advance(
            chrono::DateTime::<chrono::Utc>::MAX_UTC,
            &mut pipeline,
            &mut changes,
        )
        .unwrap();
    for change in changes {
        if let (
            None,
            Change::Flag {
                at,
                change: FlagChange::Opened(flag),
            },
        ) = (&first, change)
        {
            first = Some((flag.rule, (at - start).to_std().unwrap_or_default()));
        }
    }
    first
}

/// How the test ends the dashboard.
#[derive(Debug, Clone, Copy)]
enum Quit {
    /// Bytes typed at the keyboard.
    Keys(&'static [u8]),
    /// A signal sent with `kill`, by name (`TERM`, `HUP`, …).
    Signal(&'static str),
}

/// Runs `stackwatch demo` in a pty until the panes show, optionally waits for the demo's first
/// flag, quits as told, and checks the exit status and that the terminal was restored.
fn run_dashboard(quit: Quit, wait_for_flag: bool) {
    let (master, mut child) =
        spawn_stackwatch(ROWS, COLS, &["demo", "--speed", "30"], std::iter::empty());

    let (screen, reader_thread) = read_screen(&*master, ROWS, COLS);
    let mut writer = master.take_writer().unwrap();

    let panes_shown = wait_for(&screen, Duration::from_secs(20), |s| {
        s.contains("Resources") && s.contains("Timeline") && s.contains("Logs")
    });
    if let Err(contents) = panes_shown {
        panic!("the panes never appeared:\n{contents}");
    }
    assert!(
        screen.lock().unwrap().parser.screen().alternate_screen(),
        "the dashboard draws on the alternate screen"
    );

    // Once the detector has rules, the demo opens flags: the strip must show the first one.
    if wait_for_flag && let Some((rule, after)) = first_demo_flag() {
        let wall = after.div_f64(SPEED) + Duration::from_secs(10);
        if let Err(contents) = wait_for(&screen, wall, |s| s.contains(rule)) {
            panic!("flag {rule} never showed:\n{contents}");
        }
    }

    match quit {
        Quit::Keys(bytes) => {
            writer.write_all(bytes).unwrap();
            writer.flush().unwrap();
        }
        Quit::Signal(name) => {
            let pid = child.process_id().expect("a child pid");
            let killed = std::process::Command::new("kill")
                .args([&format!("-{name}"), &pid.to_string()])
                .status()
                .unwrap();
            assert!(killed.success());
        }
    }
    expect_clean_exit(&mut child, &format!("{quit:?}"));
    drop(writer);
    drop(master);
    let _ = reader_thread.join();

    assert_restored(&screen, &format!("{quit:?}"));
}

#[test]
fn dashboard_shows_panes_and_flags_and_quits_on_q() {
    run_dashboard(Quit::Keys(b"q"), true);
}

#[test]
fn ctrl_c_key_quits_and_restores_the_terminal() {
    run_dashboard(Quit::Keys(b"\x03"), false);
}

#[test]
fn sigterm_quits_and_restores_the_terminal() {
    run_dashboard(Quit::Signal("TERM"), false);
}

/// The terminal closing: the default action would end the process in raw mode.
#[test]
fn sighup_quits_and_restores_the_terminal() {
    run_dashboard(Quit::Signal("HUP"), false);
}

#[test]
fn sigquit_quits_and_restores_the_terminal() {
    run_dashboard(Quit::Signal("QUIT"), false);
}

/// Notes while watching: `n` opens the note line, the typed text shows there, Enter saves it
/// as a timeline row (the demo is paused first so newer rows do not push it out of view), and
/// `q` still quits cleanly afterwards.
#[test]
fn a_typed_note_shows_on_the_timeline() {
    let (master, mut child) =
        spawn_stackwatch(ROWS, COLS, &["demo", "--speed", "16"], std::iter::empty());
    let (screen, reader_thread) = read_screen(&*master, ROWS, COLS);
    let mut writer = master.take_writer().unwrap();
    let mut send = |bytes: &[u8]| {
        writer.write_all(bytes).unwrap();
        writer.flush().unwrap();
    };
    if let Err(contents) = wait_for(&screen, Duration::from_secs(20), |s| {
        s.contains("Timeline") && s.contains("Logs")
    }) {
        panic!("the panes never appeared:\n{contents}");
    }
    // The timeline pane, paused.
    send(b"2p");
    send(b"n");
    if let Err(contents) = wait_for(&screen, Duration::from_secs(10), |s| s.contains("note: ")) {
        panic!("the note line never opened:\n{contents}");
    }
    send(b"restarted the service");
    if let Err(contents) = wait_for(&screen, Duration::from_secs(10), |s| {
        s.contains("note: restarted the service")
    }) {
        panic!("the typed note never showed on the note line:\n{contents}");
    }
    send(b"\r");
    let shown = wait_for(&screen, Duration::from_secs(10), |s| {
        !s.contains("note: restarted")
            && s.contains("note added")
            && s.lines()
                .any(|l| l.contains("restarted the service") && !l.contains("note added"))
    });
    let contents = match shown {
        Ok(contents) => contents,
        Err(contents) => panic!("the note never showed on the timeline:\n{contents}"),
    };
    let row = contents
        .lines()
        .find(|l| l.contains("restarted the service"))
        .unwrap();
    assert!(row.contains("note"), "the row names the note: {row}");

    send(b"q");
    expect_clean_exit(&mut child, "q after a note");
    drop(writer);
    drop(master);
    let _ = reader_thread.join();
    assert_restored(&screen, "q after a note");
}
