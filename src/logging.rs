//! stackwatch's own log: what the sources do and why they fail, written to a file in the state
//! directory (`stackwatch.log`, one file a day, the newest five kept), never to the screen.
//! `STACKWATCH_LOG` sets the level (`info` by default; `debug`, `stackwatch=trace`, …).

use tracing_appender::non_blocking::WorkerGuard;
use tracing_appender::rolling::{RollingFileAppender, Rotation};
use tracing_subscriber::EnvFilter;

/// Starts logging to the state directory; the guard flushes the log when dropped. `None` when
/// there is no state directory or it cannot be written: stackwatch runs on without a log.
pub fn init() -> Option<WorkerGuard> {
    let dir = crate::session::recorder::state_dir()?;
    std::fs::create_dir_all(&dir).ok()?;
    let appender = RollingFileAppender::builder()
        .rotation(Rotation::DAILY)
        .filename_prefix("stackwatch")
        .filename_suffix("log")
        .max_log_files(5)
        .build(&dir)
        .ok()?;
    let (writer, guard) = tracing_appender::non_blocking(appender);
    let filter =
        EnvFilter::try_from_env("STACKWATCH_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_writer(writer)
        .with_ansi(false)
        .with_env_filter(filter)
        .try_init()
        .ok()?;
    Some(guard)
}
