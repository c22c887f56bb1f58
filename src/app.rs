//! The loop: owns the state, selects over terminal input, a tick that advances the replay,
//! and a frame deadline. It draws only when something changed, at most [`MAX_FPS`] times a
//! second; rendering only reads.

use std::io::stdout;
use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::TimeDelta;
use crossterm::event::{
    DisableMouseCapture, EnableMouseCapture, Event, EventStream, MouseEventKind,
};
use crossterm::{cursor, execute};
use futures::StreamExt;
use ratatui::DefaultTerminal;
use ratatui::layout::Rect;

use crate::pipeline::Pipeline;
use crate::session::replay::{Replay, Speed, VirtualClock};
use crate::ui::theme::Theme;
use crate::ui::{self, Action, Playback, UiState, View};

const MAX_FPS: u64 = 30;
/// How often the replay catches up with the virtual clock.
const TICK: Duration = Duration::from_millis(100);
/// At `--speed max` the replay moves at most this far per tick, so keys stay responsive.
const MAX_SPEED_STEP: TimeDelta = TimeDelta::minutes(10);
/// The speeds `+` and `-` step through.
const SPEEDS: [f64; 12] = [
    0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 60.0, 120.0, 300.0, 600.0,
];

/// Runs the dashboard until the user quits, the terminal closes, or SIGINT/SIGTERM.
pub fn run(replay: Replay, theme: Theme, speed: Speed) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let mut guard = TerminalGuard::enter()?;
    runtime.block_on(event_loop(&mut guard.terminal, replay, theme, speed))
}

/// Puts the terminal in dashboard mode and restores it when dropped: on quit, on error and
/// while unwinding. The panic hook restores it before the panic message prints.
struct TerminalGuard {
    terminal: DefaultTerminal,
}

impl TerminalGuard {
    fn enter() -> anyhow::Result<Self> {
        // ratatui's init: raw mode, alternate screen, and a panic hook that restores both.
        let terminal = ratatui::try_init().context("cannot set up the terminal")?;
        let guard = TerminalGuard { terminal };
        execute!(stdout(), EnableMouseCapture).context("cannot enable mouse capture")?;
        // Chain ours before ratatui's: mouse capture off and cursor back, then its restore,
        // then the default report.
        let ratatui_hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let _ = execute!(stdout(), DisableMouseCapture, cursor::Show);
            ratatui_hook(info);
        }));
        Ok(guard)
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        let _ = execute!(stdout(), DisableMouseCapture, cursor::Show);
        ratatui::restore();
    }
}

/// Everything the loop owns.
struct App {
    replay: Replay,
    pipeline: Pipeline,
    clock: VirtualClock,
    ui: UiState,
    theme: Theme,
}

impl App {
    fn view<'a>(&'a self, flags: &'a [&'a crate::detect::Flag]) -> View<'a> {
        View {
            store: &self.pipeline.store,
            flags,
            header: &self.replay.header,
            start: self.replay.start,
            now: self.replay.position(),
            playback: Playback {
                paused: self.clock.is_paused(),
                speed: self.clock.speed(),
                finished: self.replay.finished,
            },
            ui: &self.ui,
            theme: &self.theme,
        }
    }

    /// Brings the replay up to the virtual clock.
    fn advance(&mut self, wall: Instant) -> anyhow::Result<()> {
        let mut until = self.clock.now(wall);
        if self.clock.speed() == Speed::Max {
            if let Some(step) = self.replay.position().checked_add_signed(MAX_SPEED_STEP) {
                until = until.min(step);
            }
        }
        if until > self.replay.position() || !self.replay.finished {
            let before = self.ring_totals();
            self.replay.advance(until, &mut self.pipeline, |_, _| {})?;
            self.keep_pinned_rows(before);
        }
        Ok(())
    }

    /// How many timeline rows and log lines there have ever been.
    fn ring_totals(&self) -> (u64, u64) {
        let flags = Vec::new();
        let view = self.view(&flags);
        (ui::timeline::total(&view), ui::logs::total(&view))
    }

    /// Keeps a timeline or log selection the user moved up on the same row as rows arrive.
    fn keep_pinned_rows(&mut self, (timeline, logs): (u64, u64)) {
        let flags = Vec::new();
        let view = self.view(&flags);
        // Only a selection moved off the newest row needs the count.
        let pinned = |pane: ui::Pane| self.ui.selected(pane) > 0;
        let new_timeline = if pinned(ui::Pane::Timeline) {
            ui::timeline::kept_since(&view, timeline)
        } else {
            0
        };
        let new_logs = if pinned(ui::Pane::Logs) {
            ui::logs::kept_since(&view, logs)
        } else {
            0
        };
        self.ui.rows_arrived(ui::Pane::Timeline, new_timeline);
        self.ui.rows_arrived(ui::Pane::Logs, new_logs);
    }

    /// At `max` the clock is far ahead of the replay; before pausing or slowing down, bring
    /// it back to where the replay really is.
    fn settle_max_speed(&mut self, wall: Instant) {
        if self.clock.speed() == Speed::Max {
            self.clock.jump(self.replay.position(), wall);
        }
    }

    /// Refreshes the row counts the selection clamps to.
    fn refresh_counts(&mut self, screen: Rect) {
        let flags = self.pipeline.detector.open_flags();
        let counts = ui::row_counts(&self.view(&flags), screen);
        self.ui.counts = counts;
    }

    fn apply(&mut self, action: Action, wall: Instant) -> anyhow::Result<bool> {
        match action {
            Action::None => {}
            Action::Quit => return Ok(false),
            Action::TogglePause => {
                self.settle_max_speed(wall);
                let paused = self.clock.is_paused();
                self.clock.set_paused(!paused, wall);
            }
            Action::Seek(secs) => {
                let position = self.replay.position();
                let target = position
                    .checked_add_signed(TimeDelta::seconds(secs))
                    .unwrap_or(position)
                    .max(self.replay.start);
                self.replay.seek(target, &mut self.pipeline)?;
                self.clock.jump(self.replay.position(), wall);
            }
            Action::TaskLogs => {
                let flags = self.pipeline.detector.open_flags();
                let task = ui::popup::selected_task_id(&self.view(&flags));
                if let Some(task) = task {
                    self.ui.show_task_logs(&task);
                }
            }
            Action::Faster | Action::Slower => {
                self.settle_max_speed(wall);
                let speed = next_speed(self.clock.speed(), action == Action::Faster);
                self.clock.set_speed(speed, wall);
            }
        }
        Ok(true)
    }
}

/// The next speed up or down the ladder; `max` stays until slowed.
fn next_speed(speed: Speed, faster: bool) -> Speed {
    let current = match speed {
        Speed::Max if faster => return Speed::Max,
        Speed::Max => return Speed::Factor(SPEEDS[SPEEDS.len() - 1]),
        Speed::Factor(f) => f,
    };
    let next = if faster {
        SPEEDS.iter().copied().find(|s| *s > current)
    } else {
        SPEEDS.iter().rev().copied().find(|s| *s < current)
    };
    Speed::Factor(next.unwrap_or(current))
}

async fn event_loop(
    terminal: &mut DefaultTerminal,
    replay: Replay,
    theme: Theme,
    speed: Speed,
) -> anyhow::Result<()> {
    let pipeline = replay.new_pipeline();
    let clock = VirtualClock::new(replay.start, Instant::now(), speed);
    let mut app = App {
        replay,
        pipeline,
        clock,
        ui: UiState::default(),
        theme,
    };
    // The first frame already shows what the recording holds at its first second.
    app.advance(Instant::now())?;
    let mut events = EventStream::new();
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let frame_gap = Duration::from_millis(1000 / MAX_FPS);
    let mut next_frame = tokio::time::Instant::now();
    let mut dirty = true;
    // What the last frame showed: when it changes, redraw.
    let mut drawn = shown(&app);
    let mut screen = Rect::default();

    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    #[cfg(unix)]
    let mut sigterm = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;

    loop {
        let now = tokio::time::Instant::now();
        if dirty && now >= next_frame {
            let flags = app.pipeline.detector.open_flags();
            let view = app.view(&flags);
            let frame = terminal.draw(|frame| ui::render(frame, &view))?;
            screen = frame.area;
            drawn = shown(&app);
            dirty = false;
            next_frame = now + frame_gap;
        }

        #[cfg(unix)]
        let terminate = sigterm.recv();
        #[cfg(not(unix))]
        let terminate = std::future::pending::<Option<()>>();

        tokio::select! {
            biased;
            event = events.next() => {
                let Some(event) = event else { break };
                let wall = Instant::now();
                match event.context("cannot read the terminal")? {
                    Event::Key(key) => {
                        app.refresh_counts(screen);
                        let action = app.ui.update(key);
                        if !app.apply(action, wall)? {
                            break;
                        }
                    }
                    // Pointer motion changes nothing on screen; skip the redraw.
                    Event::Mouse(mouse)
                        if matches!(mouse.kind, MouseEventKind::Moved | MouseEventKind::Drag(_)) =>
                    {
                        continue;
                    }
                    Event::Mouse(mouse) => {
                        app.refresh_counts(screen);
                        let flags = app.pipeline.detector.open_flags().len();
                        let areas = ui::layout::compute(screen, &app.ui, flags);
                        let mut targets = areas.panes;
                        if let Some(tabs) = areas.tabs {
                            targets.extend(ui::layout::tab_areas(tabs, flags));
                        }
                        app.ui.mouse(mouse, &targets);
                    }
                    Event::Resize(..) => {
                        screen = Rect::default();
                    }
                    _ => continue,
                }
                dirty = true;
            }
            _ = &mut ctrl_c => break,
            _ = terminate => break,
            _ = tick.tick() => {
                app.advance(Instant::now())?;
                if shown(&app) != drawn {
                    dirty = true;
                }
            }
            _ = tokio::time::sleep_until(next_frame), if dirty => {}
        }
    }
    Ok(())
}

/// What a frame depends on besides the UI state: the store, the virtual second (timers), and
/// whether the recording has ended.
fn shown(app: &App) -> (u64, chrono::DateTime<chrono::Utc>, bool) {
    (
        app.pipeline.store.revision,
        app.replay.position(),
        app.replay.finished,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn speed_ladder() {
        assert_eq!(next_speed(Speed::Factor(16.0), true), Speed::Factor(30.0));
        assert_eq!(next_speed(Speed::Factor(16.0), false), Speed::Factor(8.0));
        assert_eq!(next_speed(Speed::Factor(0.25), false), Speed::Factor(0.25));
        assert_eq!(next_speed(Speed::Factor(3.0), true), Speed::Factor(4.0));
        assert_eq!(next_speed(Speed::Max, true), Speed::Max);
        assert_eq!(next_speed(Speed::Max, false), Speed::Factor(600.0));
    }
}
