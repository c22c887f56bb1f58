//! Debian's headless chromium, as the browser check and the screenshot command run it.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The installed chromium, if any (`scripts/chromium.sh` installs it as root on Debian).
pub fn find() -> Option<PathBuf> {
    ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .into_iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
}

/// Headless with the flags that work on a closed network (DESIGN.md): no background
/// connections, a fresh profile in `profile`, no sandbox (root).
pub fn headless(browser: &Path, profile: &Path) -> Command {
    let mut cmd = Command::new(browser);
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
    ])
    .arg(format!("--user-data-dir={}", profile.display()));
    cmd
}
