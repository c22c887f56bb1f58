//! Regenerates the README screenshots in `screenshots/` from the demo, rendered on ratatui's
//! `TestBackend` at fixed virtual times and written as SVG by `stackwatch::ui::svg`:
//!
//! ```sh
//! cargo run --example screenshots
//! ```
//!
//! Nothing depends on the wall clock, the terminal or the environment, so the same code gives
//! the same files.

use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::layout::Rect;

use stackwatch::clock::{Mode, Speed};
use stackwatch::detect::Flag;
use stackwatch::model::StoreCaps;
use stackwatch::pipeline::Pipeline;
use stackwatch::session::demo::{self, mmss};
use stackwatch::session::replay::{Replay, ReplayInput};
use stackwatch::ui::theme::{self, Theme};
use stackwatch::ui::{self, UiState, View, svg};

/// The demo played up to a virtual time.
struct Played {
    replay: Replay,
    pipeline: Pipeline,
}

fn play(offset: TimeDelta) -> anyhow::Result<Played> {
    let (header, observations) = demo::scenario();
    let mut replay = Replay::open(
        ReplayInput::Memory(header, Arc::from(observations)),
        StoreCaps::default(),
    )?;
    let mut pipeline = replay.new_pipeline();
    let to: DateTime<Utc> = replay.start + offset;
    replay.advance(to, &mut pipeline, &mut Vec::new())?;
    Ok(Played { replay, pipeline })
}

/// One screenshot: a moment of the demo, a theme, a size, and the keys pressed first.
struct Shot {
    file: &'static str,
    at: TimeDelta,
    theme: &'static str,
    size: (u16, u16),
    keys: &'static [KeyCode],
}

const SHOTS: [Shot; 4] = [
    // The worst moment: crash loop, no healthy targets, the signal countdown running out.
    Shot {
        file: "dashboard.svg",
        at: mmss(11, 30),
        theme: "default",
        size: (160, 48),
        keys: &[],
    },
    // A stopped-task group in full: focus the ECS pane (3), move down past the service, its
    // deployment and two running tasks, and open the act-1 EFS failures.
    Shot {
        file: "details.svg",
        at: mmss(11, 30),
        theme: "default",
        size: (160, 48),
        keys: &[
            KeyCode::Char('3'),
            KeyCode::Char('j'),
            KeyCode::Char('j'),
            KeyCode::Char('j'),
            KeyCode::Char('j'),
            KeyCode::Enter,
        ],
    },
    Shot {
        file: "light.svg",
        at: mmss(11, 30),
        theme: "light",
        size: (160, 48),
        keys: &[],
    },
    // Act 1 on a small terminal: every task dies mounting EFS.
    Shot {
        file: "small.svg",
        at: mmss(6, 0),
        theme: "default",
        size: (80, 24),
        keys: &[],
    },
];

fn view<'a>(
    played: &'a Played,
    flags: &'a [&'a Flag],
    ui: &'a UiState,
    theme: &'a Theme,
) -> View<'a> {
    View {
        store: &played.pipeline.store,
        flags,
        header: &played.replay.header,
        start: played.replay.start,
        now: played.pipeline.now().unwrap_or(played.replay.start),
        // As `stackwatch demo` plays by default.
        mode: Mode::Replay {
            paused: false,
            speed: Speed::Factor(16.0),
            finished: played.replay.finished,
        },
        ui,
        theme,
        detect: played.pipeline.detector.config(),
    }
}

fn render(shot: &Shot) -> anyhow::Result<String> {
    let played = play(shot.at)?;
    let theme = theme::built_in(shot.theme)?;
    let flags = played.pipeline.detector.open_flags();
    let (width, height) = shot.size;
    let mut ui = UiState::default();
    for &code in shot.keys {
        // As the event loop does: real row counts first, so selection moves clamp to rows.
        ui.counts = ui::row_counts(
            &view(&played, &flags, &ui, &theme),
            Rect::new(0, 0, width, height),
        );
        ui.update(KeyEvent::new(code, KeyModifiers::NONE));
    }
    let mut terminal = Terminal::new(TestBackend::new(width, height))?;
    terminal.draw(|frame| ui::render(frame, &view(&played, &flags, &ui, &theme)))?;
    Ok(svg::buffer_to_svg(terminal.backend().buffer(), &theme))
}

#[path = "../tests/support/chromium.rs"]
mod chromium;

fn main() -> anyhow::Result<()> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("screenshots");
    std::fs::create_dir_all(&dir)?;
    for shot in &SHOTS {
        let svg = render(shot)?;
        let path = dir.join(shot.file);
        std::fs::write(&path, &svg)?;
        println!(
            "wrote {} ({}x{}, {} theme, start + {}, {} KB)",
            path.display(),
            shot.size.0,
            shot.size.1,
            shot.theme,
            ui::duration(shot.at),
            svg.len().div_ceil(1024)
        );
    }
    report_png(&dir)
}

/// The demo's HTML report as a PNG, rendered by headless chromium (Debian's `chromium`;
/// `scripts/chromium.sh` installs it). Without it, says so and leaves the old PNG.
fn report_png(dir: &Path) -> anyhow::Result<()> {
    let Some(browser) = chromium::find() else {
        println!("skipped report.png: chromium is not installed (scripts/chromium.sh)");
        return Ok(());
    };
    let tmp = tempfile::tempdir()?;
    let (header, observations) = stackwatch::session::demo::scenario();
    let recording = tmp.path().join("demo.jsonl");
    stackwatch::session::recording::write_all(&recording, &header, &observations)?;
    let report =
        stackwatch::report::from_path(&recording, stackwatch::detect::Detector::new(), false)?;
    let html = tmp.path().join("report.html");
    std::fs::write(
        &html,
        stackwatch::report::render(&report, stackwatch::report::ReportFormat::Html),
    )?;
    let png = dir.join("report.png");
    let status = chromium::headless(&browser, &tmp.path().join("profile"))
        .args(["--hide-scrollbars", "--window-size=1100,1500"])
        .arg(format!("--screenshot={}", png.display()))
        .arg(format!("file://{}", html.display()))
        .output()?;
    anyhow::ensure!(status.status.success(), "chromium failed: {status:?}");
    println!(
        "wrote {} (the demo's HTML report, 1100x1500)",
        png.display()
    );
    Ok(())
}
