//! Frame cost against history size (it should be flat: panes build only visible rows, and the
//! stopped tasks come grouped from the store's index), the cost of a large current state (a
//! target group with 1 000 targets), and the time from `stackwatch demo` to its first frame.

mod common;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use stackwatch::clock::{Mode, Speed};
use stackwatch::model::{Observation, ObservationKind, StoreCaps};
use stackwatch::pipeline::Pipeline;
use stackwatch::session::demo;
use stackwatch::session::recording::Header;
use stackwatch::session::replay::{Replay, ReplayInput};
use stackwatch::ui::theme;
use stackwatch::ui::{self, UiState, View};

fn draw(
    terminal: &mut Terminal<TestBackend>,
    pipeline: &Pipeline,
    header: &Header,
    ui: &UiState,
    theme: &theme::Theme,
) {
    let flags = pipeline.detector.open_flags();
    let now = pipeline.store.last_at.unwrap_or_else(common::start);
    let view = View {
        store: &pipeline.store,
        flags: &flags,
        header,
        start: common::start(),
        now,
        mode: Mode::Replay {
            paused: false,
            speed: Speed::Factor(16.0),
            finished: false,
        },
        ui,
        theme,
        detect: pipeline.detector.config(),
    };
    terminal.draw(|frame| ui::render(frame, &view)).unwrap();
}

/// The benches' stream with its targets kept to the 8 IPs of a steady service: the stream
/// itself registers a new IP every 80 observations, up to 1 000, so its current state (not
/// its history) would grow with its length. `frame/targets` measures that state on its own.
fn steady(i: u64) -> Observation {
    let mut obs = common::observation(i);
    if let ObservationKind::TargetHealth(t) = &mut obs.kind {
        t.target_id = format!("10.0.0.{}", (i / 20) % 8);
    }
    obs
}

/// A pipeline fed `n` observations, every one of them kept (caps as large as the history).
fn fed(n: u64, observation: fn(u64) -> Observation) -> Pipeline {
    let caps = StoreCaps {
        timeline_rows: n as usize,
        log_lines: n as usize,
        ..StoreCaps::default()
    };
    let mut pipeline = Pipeline::new(caps);
    let mut changes = Vec::new();
    for i in 0..n {
        pipeline.feed(&observation(i), &mut changes);
        changes.clear();
    }
    pipeline.advance_to(pipeline.store.last_at.unwrap(), &mut changes);
    pipeline
}

fn frame_cost(c: &mut Criterion) {
    let theme = theme::load_from("default", None, false).unwrap();
    let header = Header::new(vec!["bench".into()], common::start());
    let mut group = c.benchmark_group("frame");
    group.sample_size(20);
    let ui = UiState::default();
    for n in [1_000u64, 100_000, 1_000_000] {
        let pipeline = fed(n, steady);
        let mut terminal = Terminal::new(TestBackend::new(160, 48)).unwrap();
        group.bench_with_input(BenchmarkId::new("160x48", n), &n, |b, _| {
            b.iter(|| draw(&mut terminal, &pipeline, &header, &ui, &theme))
        });
    }
    // A large present instead of a long past: one group with 1 000 registered targets (AWS's
    // limit per group), all listed in the Targets pane and linked to their tasks.
    let pipeline = fed(100_000, common::observation);
    let mut terminal = Terminal::new(TestBackend::new(160, 48)).unwrap();
    group.bench_function("160x48/1000-targets", |b| {
        b.iter(|| draw(&mut terminal, &pipeline, &header, &ui, &theme))
    });
    group.finish();
}

fn demo_first_frame(c: &mut Criterion) {
    let theme = theme::load_from("default", None, false).unwrap();
    c.bench_function("demo_first_frame", |b| {
        b.iter(|| {
            let (header, observations) = demo::scenario();
            let mut replay = Replay::open(
                ReplayInput::Memory(header, observations.into()),
                StoreCaps::default(),
            )
            .unwrap();
            let mut pipeline = replay.new_pipeline();
            let start = replay.start;
            replay
                .advance(start, &mut pipeline, &mut Vec::new())
                .unwrap();
            let mut terminal = Terminal::new(TestBackend::new(160, 48)).unwrap();
            draw(
                &mut terminal,
                &pipeline,
                &replay.header,
                &UiState::default(),
                &theme,
            );
        })
    });
}

criterion_group!(benches, frame_cost, demo_first_frame);
criterion_main!(benches);
