//! The loop: owns the state, selects over terminal input, a tick that advances the replay,
//! and a frame deadline. It draws only when something changed, at most [`MAX_FPS`] times a
//! second; rendering only reads.

use std::io::stdout;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::TimeDelta;
use crossterm::event::{
    DisableMouseCapture, EnableMouseCapture, Event, EventStream, MouseEventKind,
};
use crossterm::terminal::EnterAlternateScreen;
use crossterm::{cursor, execute};
use futures::StreamExt;
use ratatui::backend::CrosstermBackend;
use ratatui::layout::Rect;
use ratatui::{DefaultTerminal, Terminal};

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

/// Runs the dashboard until the user quits, the terminal closes, or SIGINT, SIGTERM, SIGHUP
/// or SIGQUIT arrives.
pub fn run(replay: Replay, theme: Theme, speed: Speed) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    // The handlers go in before the terminal changes mode: from then on a signal ends the loop
    // and the guard restores the terminal, whenever it arrives.
    let signals = {
        let _runtime = runtime.enter();
        Signals::register()?
    };
    let mut guard = TerminalGuard::enter()?;
    runtime.block_on(event_loop(
        &mut guard.terminal,
        replay,
        theme,
        speed,
        signals,
    ))
}

/// The signals that end the dashboard, registered up front (replacing their default action,
/// which would end the process with the terminal still in dashboard mode).
#[cfg(unix)]
struct Signals {
    interrupt: tokio::signal::unix::Signal,
    terminate: tokio::signal::unix::Signal,
    hangup: tokio::signal::unix::Signal,
    quit: tokio::signal::unix::Signal,
}

#[cfg(unix)]
impl Signals {
    /// Needs the runtime's context.
    fn register() -> anyhow::Result<Self> {
        use tokio::signal::unix::{SignalKind, signal};
        let handle = |kind, name| signal(kind).with_context(|| format!("cannot handle {name}"));
        Ok(Signals {
            interrupt: handle(SignalKind::interrupt(), "SIGINT")?,
            terminate: handle(SignalKind::terminate(), "SIGTERM")?,
            hangup: handle(SignalKind::hangup(), "SIGHUP")?,
            quit: handle(SignalKind::quit(), "SIGQUIT")?,
        })
    }

    /// Resolves when any of them arrives. Cancel-safe: a signal that arrives while this is not
    /// being polled is seen by the next call.
    async fn recv(&mut self) {
        tokio::select! {
            _ = self.interrupt.recv() => {}
            _ = self.terminate.recv() => {}
            _ = self.hangup.recv() => {}
            _ = self.quit.recv() => {}
        }
    }
}

#[cfg(windows)]
struct Signals {
    ctrl_c: tokio::signal::windows::CtrlC,
}

#[cfg(windows)]
impl Signals {
    /// Needs the runtime's context.
    fn register() -> anyhow::Result<Self> {
        let ctrl_c = tokio::signal::windows::ctrl_c().context("cannot handle Ctrl-C")?;
        Ok(Signals { ctrl_c })
    }

    async fn recv(&mut self) {
        self.ctrl_c.recv().await;
    }
}

#[cfg(not(any(unix, windows)))]
struct Signals;

#[cfg(not(any(unix, windows)))]
impl Signals {
    fn register() -> anyhow::Result<Self> {
        Ok(Signals)
    }

    async fn recv(&mut self) {
        std::future::pending::<()>().await;
    }
}

/// Puts the terminal in dashboard mode and restores it when dropped: on quit, on error and
/// while unwinding. While it lives, a panic hook restores the terminal before the panic
/// message prints; dropping it puts the previous hook back.
struct TerminalGuard {
    terminal: DefaultTerminal,
    _hook: SessionHook,
}

impl TerminalGuard {
    fn enter() -> anyhow::Result<Self> {
        // The hook goes in before anything changes; on a failure below it comes off again.
        let hook = SessionHook::install(restore_terminal);
        // What ratatui's `try_init` does, without the panic hook it would stack on ours.
        crossterm::terminal::enable_raw_mode().context("cannot set up the terminal")?;
        let terminal = match Terminal::new(CrosstermBackend::new(stdout())) {
            Ok(terminal) => terminal,
            Err(e) => {
                restore_terminal();
                return Err(e).context("cannot set up the terminal");
            }
        };
        // From here on the guard undoes everything, on error too.
        let guard = TerminalGuard {
            terminal,
            _hook: hook,
        };
        execute!(stdout(), EnterAlternateScreen).context("cannot set up the terminal")?;
        execute!(stdout(), EnableMouseCapture).context("cannot enable mouse capture")?;
        Ok(guard)
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore_terminal();
    }
}

/// Mouse capture off and the cursor back, then raw mode off and the main screen back. Each
/// step is attempted whatever the others did; none of them fails when already undone.
fn restore_terminal() {
    let _ = execute!(stdout(), DisableMouseCapture, cursor::Show);
    ratatui::restore();
}

type PanicHook = Box<dyn Fn(&std::panic::PanicHookInfo<'_>) + Sync + Send + 'static>;

/// A panic hook that calls `on_panic` before the hook it replaced, for as long as this lives.
/// Dropping it puts the replaced hook back; while the thread is panicking std forbids that,
/// so the hook then stays but only hands over to the replaced one.
struct SessionHook {
    previous: Option<Arc<PanicHook>>,
    active: Arc<AtomicBool>,
}

impl SessionHook {
    fn install(on_panic: fn()) -> Self {
        let previous = Arc::new(std::panic::take_hook());
        let active = Arc::new(AtomicBool::new(true));
        let (chained, live) = (Arc::clone(&previous), Arc::clone(&active));
        std::panic::set_hook(Box::new(move |info| {
            if live.load(Ordering::SeqCst) {
                on_panic();
            }
            chained(info);
        }));
        SessionHook {
            previous: Some(previous),
            active,
        }
    }
}

impl Drop for SessionHook {
    fn drop(&mut self) {
        self.active.store(false, Ordering::SeqCst);
        if std::thread::panicking() {
            return;
        }
        // Ours comes off (dropping its handle on the previous hook), then the previous goes back.
        drop(std::panic::take_hook());
        if let Some(previous) = self.previous.take() {
            match Arc::try_unwrap(previous) {
                Ok(previous) => std::panic::set_hook(previous),
                // A hook set over ours still holds it: chain to the previous one.
                Err(shared) => std::panic::set_hook(Box::new(move |info| shared(info))),
            }
        }
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
        if self.clock.speed() == Speed::Max
            && let Some(step) = self.replay.position().checked_add_signed(MAX_SPEED_STEP)
        {
            until = until.min(step);
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
        (
            ui::timeline::ring(&view).total(),
            ui::logs::ring(&view).total(),
        )
    }

    /// Keeps a timeline or log selection the user moved up on the same row as rows arrive.
    fn keep_pinned_rows(&mut self, (timeline, logs): (u64, u64)) {
        let flags = Vec::new();
        let view = self.view(&flags);
        // Only a selection moved off the newest row needs the count.
        let pinned = |pane: ui::Pane| self.ui.selected(pane) > 0;
        let new_timeline = if pinned(ui::Pane::Timeline) {
            ui::timeline::ring(&view).kept_since(timeline)
        } else {
            0
        };
        let new_logs = if pinned(ui::Pane::Logs) {
            ui::logs::ring(&view).kept_since(logs)
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
    mut signals: Signals,
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
            () = signals.recv() => break,
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

    #[test]
    fn the_session_panic_hook_runs_first_and_comes_off_when_dropped() {
        use std::cell::RefCell;
        thread_local! {
            // Hooks run on the panicking thread: other tests' panics do not land here.
            static SEEN: RefCell<Vec<&'static str>> = const { RefCell::new(Vec::new()) };
        }
        fn seen(what: &'static str) {
            SEEN.with(|s| s.borrow_mut().push(what));
        }
        let before = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| seen("previous")));
        {
            let _hook = SessionHook::install(|| seen("restore"));
            let _ = std::panic::catch_unwind(|| panic!("during the session"));
        }
        let _ = std::panic::catch_unwind(|| panic!("after the session"));
        std::panic::set_hook(before);
        let seen = SEEN.with(|s| s.borrow().clone());
        assert_eq!(seen, ["restore", "previous", "previous"]);
    }
}
