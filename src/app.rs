//! The loop: owns the state, selects over input, observations, a tick and a frame deadline.

use crate::session::replay::{Replay, Speed};
use crate::ui::theme::Theme;

pub fn run(_replay: Replay, _theme: Theme, _speed: Speed) -> anyhow::Result<()> {
    anyhow::bail!("the dashboard is not built yet; use --plain or --json")
}
