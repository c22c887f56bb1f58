//! The loop: one for every session, live or replayed, on a screen or headless. It owns the
//! pipeline and the feed, selects over terminal input (biased toward keys), signals, the feed
//! and a frame deadline, applies what the feed brings and hands the changes to the output. The
//! dashboard draws only when something changed, at most [`MAX_FPS`] times a second; headless
//! writes each change as it comes. Rendering only reads.

use std::io::Write;
use std::time::Duration;

use anyhow::Context;
use chrono::{DateTime, Utc};
use crossterm::event::{Event, EventStream, MouseEventKind};
use futures::StreamExt;
use ratatui::DefaultTerminal;
use ratatui::layout::Rect;

use crate::clock::{Mode, Speed};
use crate::detect::FlagChange;
use crate::headless::Headless;
use crate::model::{Severity, cfn_status};
use crate::pipeline::{Change, Pipeline};
use crate::session::feed::Feed;
use crate::ui::terminal::TerminalGuard;
use crate::ui::theme::Theme;
use crate::ui::{self, Action, UiState, View};

const MAX_FPS: u64 = 30;
/// The speeds `+` and `-` step through.
const SPEEDS: [f64; 12] = [
    0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 60.0, 120.0, 300.0, 600.0,
];

/// Why a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// The user pressed `q`.
    Quit,
    /// SIGINT, SIGTERM, SIGHUP or SIGQUIT (Ctrl-C on Windows).
    Signal,
    /// The recording was played to its end, or every live source stopped.
    FeedFinished,
    /// The reader of headless output went away (`| head`).
    OutputClosed,
    /// The stop rule said the watch is over.
    Stopped,
}

/// When a headless session stops besides the end of its feed: `--until` and `--timeout`.
pub trait StopRule {
    /// Checked after every change; true ends the session.
    fn done(&mut self, pipeline: &Pipeline) -> bool;
}

/// Runs until the feed ends.
pub struct UntilFeedEnds;

impl StopRule for UntilFeedEnds {
    fn done(&mut self, _: &Pipeline) -> bool {
        false
    }
}

/// Plays `feed` in the dashboard until the user quits or a signal arrives. With `bell`, the
/// terminal bell rings when a new error opens or the watched operation ends.
pub fn run_dashboard(
    feed: Feed,
    pipeline: Pipeline,
    theme: Theme,
    bell: bool,
) -> anyhow::Result<Pipeline> {
    let runtime = runtime()?;
    // The handlers go in before the terminal changes mode: from then on a signal ends the loop
    // and the guard restores the terminal, whenever it arrives.
    let mut signals = {
        let _runtime = runtime.enter();
        Signals::register()?
    };
    let mut guard = TerminalGuard::enter()?;
    let mut session = Session { feed, pipeline };
    let mut output = Output::Dashboard(Box::new(Dashboard::new(&mut guard.terminal, theme, bell)));
    runtime.block_on(session.run(&mut output, &mut signals, &mut UntilFeedEnds))?;
    Ok(session.pipeline)
}

/// What a headless run hands back: the session, the output (for the summary) and why it ended.
pub type HeadlessRun = (Session, Headless<Box<dyn Write + Send>>, Ended);

/// Plays `feed` headless, writing lines to `out`, until the feed ends or `stop` says so.
pub fn run_headless(
    feed: Feed,
    pipeline: Pipeline,
    out: Headless<Box<dyn Write + Send>>,
    stop: &mut dyn StopRule,
) -> anyhow::Result<HeadlessRun> {
    let runtime = runtime()?;
    let mut signals = {
        let _runtime = runtime.enter();
        Signals::register()?
    };
    let mut session = Session { feed, pipeline };
    let mut output = Output::Headless(out);
    let ended = runtime.block_on(session.run(&mut output, &mut signals, stop))?;
    let Output::Headless(out) = output else {
        unreachable!("the output stays headless")
    };
    Ok((session, out, ended))
}

async fn sleep_until(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// What the loop owns: the feed and the pipeline it plays into.
pub struct Session {
    pub feed: Feed,
    pub pipeline: Pipeline,
}

impl Session {
    /// The pipeline's clock, or the session's start before the first tick.
    pub fn now(&self) -> DateTime<Utc> {
        self.pipeline.now().unwrap_or_else(|| self.feed.start())
    }

    async fn run(
        &mut self,
        output: &mut Output<'_>,
        signals: &mut Signals,
        stop: &mut dyn StopRule,
    ) -> anyhow::Result<Ended> {
        let mut changes: Vec<Change> = Vec::new();
        // The first frame (or line) already shows what the feed holds at its first second.
        self.feed.pump(&mut self.pipeline, &mut changes)?;
        if let Some(ended) = output.on_changes(self, &mut changes)? {
            return Ok(ended);
        }
        changes.clear();
        loop {
            output.draw_if_due(self)?;
            if output.is_headless() && (self.feed.finished() || stop.done(&self.pipeline)) {
                let ended = if self.feed.finished() {
                    Ended::FeedFinished
                } else {
                    Ended::Stopped
                };
                return Ok(ended);
            }
            let frame_at = output.frame_deadline();
            tokio::select! {
                biased;
                event = output.next_event() => {
                    if let Some(ended) = output.on_event(event, self)? {
                        return Ok(ended);
                    }
                }
                () = signals.recv() => return Ok(Ended::Signal),
                () = self.feed.wait() => {
                    self.feed.pump(&mut self.pipeline, &mut changes)?;
                    let ended = output.on_changes(self, &mut changes)?;
                    changes.clear();
                    if let Some(ended) = ended {
                        return Ok(ended);
                    }
                }
                () = sleep_until(frame_at), if frame_at.is_some() => {}
            }
        }
    }
}

/// Where a session shows what happens.
enum Output<'t> {
    Dashboard(Box<Dashboard<'t>>),
    Headless(Headless<Box<dyn Write + Send>>),
}

impl Output<'_> {
    fn is_headless(&self) -> bool {
        matches!(self, Output::Headless(_))
    }

    /// The next terminal event; never resolves headless.
    async fn next_event(&mut self) -> Option<std::io::Result<Event>> {
        match self {
            Output::Dashboard(d) => d.events.next().await,
            Output::Headless(_) => std::future::pending().await,
        }
    }

    /// When the next frame is due: only when something changed, never headless.
    fn frame_deadline(&self) -> Option<tokio::time::Instant> {
        match self {
            Output::Dashboard(d) if d.dirty => Some(d.next_frame),
            _ => None,
        }
    }

    fn on_event(
        &mut self,
        event: Option<std::io::Result<Event>>,
        session: &mut Session,
    ) -> anyhow::Result<Option<Ended>> {
        match self {
            Output::Dashboard(d) => d.on_event(event, session),
            Output::Headless(_) => Ok(None),
        }
    }

    fn on_changes(
        &mut self,
        session: &Session,
        changes: &mut Vec<Change>,
    ) -> anyhow::Result<Option<Ended>> {
        match self {
            Output::Dashboard(d) => {
                d.on_changes(session, changes);
                Ok(None)
            }
            Output::Headless(out) => {
                // Lines go out as they come: waiting would delay a flag.
                let written = out
                    .on_changes(&session.pipeline.store, changes, session.now())
                    .and_then(|()| out.flush());
                match written {
                    Ok(()) => Ok(None),
                    // A closed pipe (`| head`) is a normal way to stop reading.
                    Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
                        Ok(Some(Ended::OutputClosed))
                    }
                    Err(e) => Err(e.into()),
                }
            }
        }
    }

    fn draw_if_due(&mut self, session: &Session) -> anyhow::Result<()> {
        match self {
            Output::Dashboard(d) => d.draw_if_due(session),
            Output::Headless(_) => Ok(()),
        }
    }
}

/// The dashboard's own state: the terminal, what the user is looking at, and when to draw.
struct Dashboard<'t> {
    terminal: &'t mut DefaultTerminal,
    events: EventStream,
    ui: UiState,
    theme: Theme,
    screen: Rect,
    dirty: bool,
    next_frame: tokio::time::Instant,
    /// What the last frame showed: when it changes, redraw.
    drawn: Shown,
    /// The timeline's and the logs' totals when rows were last counted.
    totals: (u64, u64),
    bell: bool,
    /// Whether the root stack's operation was running when last looked at (for the bell).
    stack_in_progress: Option<bool>,
}

/// What a frame depends on besides the UI state: the store, the clock's second (timers), and
/// the mode.
type Shown = (u64, DateTime<Utc>, Mode);

impl<'t> Dashboard<'t> {
    fn new(terminal: &'t mut DefaultTerminal, theme: Theme, bell: bool) -> Self {
        Dashboard {
            terminal,
            events: EventStream::new(),
            ui: UiState::default(),
            theme,
            screen: Rect::default(),
            dirty: true,
            next_frame: tokio::time::Instant::now(),
            drawn: (
                u64::MAX,
                DateTime::<Utc>::MIN_UTC,
                Mode::Live { paused: false },
            ),
            totals: (0, 0),
            bell,
            stack_in_progress: None,
        }
    }

    fn view<'a>(&'a self, session: &'a Session, flags: &'a [&'a crate::detect::Flag]) -> View<'a> {
        view_of(session, flags, &self.ui, &self.theme)
    }

    fn shown(session: &Session) -> Shown {
        (
            session.pipeline.store.revision,
            session.now(),
            session.feed.mode(),
        )
    }

    fn draw_if_due(&mut self, session: &Session) -> anyhow::Result<()> {
        let now = tokio::time::Instant::now();
        if !self.dirty || now < self.next_frame {
            return Ok(());
        }
        let flags = session.pipeline.detector.open_flags();
        // Split borrows: the view reads the UI state while the terminal draws.
        let view = view_of(session, &flags, &self.ui, &self.theme);
        let frame = self.terminal.draw(|frame| ui::render(frame, &view))?;
        self.screen = frame.area;
        self.drawn = Dashboard::shown(session);
        self.dirty = false;
        self.next_frame = now + Duration::from_millis(1000 / MAX_FPS);
        Ok(())
    }

    fn on_changes(&mut self, session: &Session, changes: &[Change]) {
        if self.bell {
            self.ring_for(session, changes);
        }
        self.keep_pinned_rows(session);
        let store = &session.pipeline.store;
        if !self.ui.focus_chosen && !store.services.is_empty() && ui::stackless(store) {
            self.ui.open_on_services();
        }
        // Paused live, the screen stays as it was; the watch goes on underneath.
        if session.feed.mode() == (Mode::Live { paused: true }) {
            return;
        }
        if Dashboard::shown(session) != self.drawn {
            self.dirty = true;
        }
    }

    /// `--bell`: the terminal bell when a new error opens or the watched operation ends.
    fn ring_for(&mut self, session: &Session, changes: &[Change]) {
        let new_error = changes.iter().any(|c| {
            matches!(c, Change::Flag { change: FlagChange::Opened(f), .. } if f.severity >= Severity::Error)
        });
        let in_progress = session
            .pipeline
            .store
            .root_stack()
            .map(|s| cfn_status::is_in_progress(&s.status));
        let ended = self.stack_in_progress == Some(true) && in_progress == Some(false);
        self.stack_in_progress = in_progress;
        if new_error || ended {
            use std::io::Write as _;
            let mut out = std::io::stdout();
            let _ = out.write_all(b"\x07").and_then(|()| out.flush());
        }
    }

    /// Keeps a timeline or log selection the user moved up on the same row as rows arrive.
    fn keep_pinned_rows(&mut self, session: &Session) {
        let (totals, new_timeline, new_logs) = {
            let flags = Vec::new();
            let view = self.view(session, &flags);
            let (timeline, logs) = (ui::timeline::ring(&view), ui::logs::ring(&view));
            // Only a selection moved off the newest row needs the count.
            let pinned = |pane: ui::Pane| self.ui.selected(pane) > 0;
            let new_timeline = if pinned(ui::Pane::Timeline) {
                timeline.kept_since(self.totals.0)
            } else {
                0
            };
            let new_logs = if pinned(ui::Pane::Logs) {
                logs.kept_since(self.totals.1)
            } else {
                0
            };
            ((timeline.total(), logs.total()), new_timeline, new_logs)
        };
        self.totals = totals;
        self.ui.rows_arrived(ui::Pane::Timeline, new_timeline);
        self.ui.rows_arrived(ui::Pane::Logs, new_logs);
    }

    /// Refreshes the row counts the selection clamps to.
    fn refresh_counts(&mut self, session: &Session) {
        let flags = session.pipeline.detector.open_flags();
        let counts = ui::row_counts(&self.view(session, &flags), self.screen);
        self.ui.counts = counts;
    }

    fn on_event(
        &mut self,
        event: Option<std::io::Result<Event>>,
        session: &mut Session,
    ) -> anyhow::Result<Option<Ended>> {
        // The terminal closed.
        let Some(event) = event else {
            return Ok(Some(Ended::Quit));
        };
        match event.context("cannot read the terminal")? {
            Event::Key(key) => {
                self.refresh_counts(session);
                let action = self.ui.update(key);
                if self.apply(action, session)? {
                    return Ok(Some(Ended::Quit));
                }
            }
            // Pointer motion changes nothing on screen; skip the redraw.
            Event::Mouse(mouse)
                if matches!(mouse.kind, MouseEventKind::Moved | MouseEventKind::Drag(_)) =>
            {
                return Ok(None);
            }
            Event::Mouse(mouse) => {
                self.refresh_counts(session);
                let open = session.pipeline.detector.open_flags();
                let problems = crate::detect::problems(&open, &session.pipeline.store).len();
                let banner = ui::banner::shown(&session.pipeline.store);
                let stackless = ui::stackless(&session.pipeline.store);
                let areas = ui::layout::compute(self.screen, &self.ui, problems, banner, stackless);
                let mut targets = areas.panes;
                if let Some(tabs) = areas.tabs {
                    targets.extend(ui::layout::tab_areas(tabs, open.len()));
                }
                self.ui.mouse(mouse, &targets);
            }
            Event::Resize(..) => self.screen = Rect::default(),
            _ => return Ok(None),
        }
        self.dirty = true;
        Ok(None)
    }

    /// Applies a key's action; true when the user quits.
    fn apply(&mut self, action: Action, session: &mut Session) -> anyhow::Result<bool> {
        match action {
            Action::None => {}
            Action::Quit => return Ok(true),
            Action::TogglePause => session.feed.toggle_pause(&session.pipeline),
            Action::Seek(secs) => {
                session.feed.seek(secs, &mut session.pipeline)?;
                self.totals = (0, 0);
            }
            Action::TaskLogs => {
                let flags = session.pipeline.detector.open_flags();
                let task = ui::popup::selected_task_id(&self.view(session, &flags));
                if let Some(task) = task {
                    self.ui.show_task_logs(&task);
                }
            }
            Action::Note(note) => {
                let mut changes = Vec::new();
                let recorded = session
                    .feed
                    .note(note, &mut session.pipeline, &mut changes)?;
                self.on_changes(session, &changes);
                self.ui.notice = Some(
                    if recorded {
                        "note saved to the recording"
                    } else {
                        "note added"
                    }
                    .to_string(),
                );
            }
            Action::Faster | Action::Slower => {
                let faster = action == Action::Faster;
                session
                    .feed
                    .set_speed(&session.pipeline, |speed| next_speed(speed, faster));
            }
        }
        Ok(false)
    }
}

/// What the dashboard draws: the session's store and clock, the user's UI state.
fn view_of<'a>(
    session: &'a Session,
    flags: &'a [&'a crate::detect::Flag],
    ui: &'a UiState,
    theme: &'a Theme,
) -> View<'a> {
    View {
        store: &session.pipeline.store,
        flags,
        header: session.feed.header(),
        start: session.feed.start(),
        now: session.now(),
        mode: session.feed.mode(),
        ui,
        theme,
        detect: session.pipeline.detector.config(),
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

/// The signals that end a session, registered up front (replacing their default action, which
/// would end the process with the terminal still in dashboard mode, or a recording unflushed).
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
