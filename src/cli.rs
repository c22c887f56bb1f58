//! The command line (clap derive). The commands and flags are the contract in DESIGN.md.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::session::replay::Speed;

#[derive(Debug, Parser)]
#[command(
    name = "stackwatch",
    version,
    about = "Watch a CloudFormation/ECS deploy live: one timeline, flags for what is stuck, recordings",
    long_about = "stackwatch merges CloudFormation stack events, ECS services and tasks, ALB target \
health and CloudWatch logs on one clock, flags stuck and failing states with a one-line \
explanation and a next step, and records every session for replay.\n\n\
Try it with no AWS account: stackwatch demo"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Play the bundled recording of a failing deploy (no AWS account needed)
    Demo(DemoArgs),
    /// Play a recording in the dashboard, or headless with --plain/--json
    Replay(ReplayArgs),
    /// List the built-in and user themes
    Themes,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Playback speed: a factor of real time, or "max"
    #[arg(long, default_value = "16")]
    pub speed: Speed,
    /// Write the demo recording to FILE and exit
    #[arg(long, value_name = "FILE")]
    pub export: Option<PathBuf>,
    #[command(flatten)]
    pub output: OutputArgs,
    #[command(flatten)]
    pub caps: CapArgs,
}

#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// The recording (JSON Lines) to play
    pub file: PathBuf,
    /// Playback speed: a factor of real time, or "max" (the default headless)
    #[arg(long)]
    pub speed: Option<Speed>,
    #[command(flatten)]
    pub output: OutputArgs,
    #[command(flatten)]
    pub caps: CapArgs,
}

#[derive(Debug, Args)]
pub struct OutputArgs {
    /// Colour theme (see `stackwatch themes`)
    #[arg(long, env = "STACKWATCH_THEME", default_value = "default")]
    pub theme: String,
    /// Headless: aligned text lines instead of the dashboard
    #[arg(long, conflicts_with = "json")]
    pub plain: bool,
    /// Headless: one JSON object per line instead of the dashboard
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args, Clone, Copy)]
pub struct CapArgs {
    /// Most log lines kept in memory
    #[arg(long, default_value_t = 20_000, value_name = "N")]
    pub max_log_lines: usize,
    /// Most timeline rows kept in memory
    #[arg(long, default_value_t = 50_000, value_name = "N")]
    pub max_timeline_rows: usize,
}

impl CapArgs {
    pub fn store_caps(self) -> crate::model::StoreCaps {
        crate::model::StoreCaps {
            log_lines: self.max_log_lines.max(1),
            timeline_rows: self.max_timeline_rows.max(1),
            ..Default::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn cli_is_well_formed() {
        super::Cli::command().debug_assert();
    }
}
