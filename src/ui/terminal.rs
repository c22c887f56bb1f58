//! The terminal in dashboard mode, and its restoration on every exit path: quit, error,
//! panic (a hook that restores first, then hands over) and the signals the loop handles.

use std::io::stdout;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Context;
use crossterm::event::{DisableMouseCapture, EnableMouseCapture};
use crossterm::terminal::EnterAlternateScreen;
use crossterm::{cursor, execute};
use ratatui::backend::CrosstermBackend;
use ratatui::{DefaultTerminal, Terminal};

/// Puts the terminal in dashboard mode and restores it when dropped: on quit, on error and
/// while unwinding. While it lives, a panic hook restores the terminal before the panic
/// message prints; dropping it puts the previous hook back.
pub struct TerminalGuard {
    pub terminal: DefaultTerminal,
    _hook: SessionHook,
}

impl TerminalGuard {
    pub fn enter() -> anyhow::Result<Self> {
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
        let screen_thread = std::thread::current().id();
        std::panic::set_hook(Box::new(move |info| {
            let on_screen_thread = std::thread::current().id() == screen_thread;
            if live.load(Ordering::SeqCst) && !on_screen_thread {
                // A live source's thread: the dashboard goes on (its supervisor shows the
                // source as unavailable), so the message goes to the log, not over the screen.
                tracing::error!(panic = %info, "a thread panicked");
                return;
            }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The panic hook is global: tests that set it take turns.
    static HOOK: std::sync::Mutex<()> = std::sync::Mutex::new(());

    #[test]
    fn the_session_panic_hook_runs_first_and_comes_off_when_dropped() {
        let _turn = HOOK.lock().unwrap_or_else(|p| p.into_inner());
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

    #[test]
    fn a_panic_on_another_thread_leaves_the_screen_alone() {
        use std::sync::atomic::AtomicUsize;
        let _turn = HOOK.lock().unwrap_or_else(|p| p.into_inner());
        static RESTORED: AtomicUsize = AtomicUsize::new(0);
        fn restore() {
            RESTORED.fetch_add(1, Ordering::SeqCst);
        }
        let hook = SessionHook::install(restore);
        let worker = std::thread::spawn(|| panic!("a source panics"));
        assert!(worker.join().is_err());
        drop(hook);
        assert_eq!(RESTORED.load(Ordering::SeqCst), 0);
    }
}
