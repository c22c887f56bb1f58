//! CLI dispatch only.

use std::io::IsTerminal;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;

use stackwatch::app::{Ended, UntilFeedEnds};
use stackwatch::cli::{
    CapArgs, Cli, Command, DEMO_DASHBOARD_SPEED, OutputArgs, REPLAY_DASHBOARD_SPEED, playback_speed,
};
use stackwatch::clock::Speed;
use stackwatch::headless::{Format, Headless};
use stackwatch::session::demo;
use stackwatch::session::feed::Feed;
use stackwatch::session::recording;
use stackwatch::session::replay::{Replay, ReplayInput};
use stackwatch::{app, sanitize, ui};

// Ingest allocates many small strings; mimalloc roughly halves their cost against glibc's malloc.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Exit code for stackwatch's own errors (bad arguments, unreadable files).
const EXIT_OWN_ERROR: u8 = 3;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { EXIT_OWN_ERROR } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            // Errors can quote a recording's or a theme file's bytes: sanitise them too.
            eprintln!("stackwatch: error: {}", sanitize::line(&format!("{e:#}")));
            ExitCode::from(EXIT_OWN_ERROR)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<u8> {
    match cli.command {
        Command::Demo(args) => {
            let (header, observations) = demo::scenario();
            if let Some(path) = &args.export {
                recording::write_all(path, &header, &observations)?;
                eprintln!(
                    "wrote the demo recording ({} observations) to {}\nreplay it with: stackwatch replay {}",
                    observations.len(),
                    path.display(),
                    path.display()
                );
                return Ok(0);
            }
            let input = ReplayInput::Memory(header, observations.into());
            let headless = is_headless(&args.output);
            let speed = playback_speed(args.speed, headless, DEMO_DASHBOARD_SPEED);
            play(input, speed, &args.output, args.caps)
        }
        Command::Replay(args) => {
            let headless = is_headless(&args.output);
            let speed = playback_speed(args.speed, headless, REPLAY_DASHBOARD_SPEED);
            check_readable(&args.file)?;
            play(
                ReplayInput::File(args.file.clone()),
                speed,
                &args.output,
                args.caps,
            )
        }
        Command::Themes => {
            for info in ui::theme::list() {
                println!(
                    "{:<20} {}",
                    sanitize::line(&info.name),
                    sanitize::line(&info.origin)
                );
            }
            Ok(0)
        }
    }
}

fn check_readable(path: &Path) -> anyhow::Result<()> {
    std::fs::metadata(path).with_context(|| format!("cannot read recording {}", path.display()))?;
    Ok(())
}

fn is_headless(output: &OutputArgs) -> bool {
    output.plain || output.json || !std::io::stdout().is_terminal()
}

fn play(
    input: ReplayInput,
    speed: Speed,
    output: &OutputArgs,
    caps: CapArgs,
) -> anyhow::Result<u8> {
    // A bad theme name is a bad argument whether or not the dashboard opens.
    let theme = ui::theme::load(&output.theme)?;
    let replay = Replay::open(input, caps.store_caps())?;
    let pipeline = replay.new_pipeline();
    let feed = Feed::replay(replay, speed);
    if !is_headless(output) {
        app::run_dashboard(feed, pipeline, theme)?;
        return Ok(0);
    }
    let out = Headless::new(headless_writer(), headless_format(output));
    let (session, mut out, ended) = app::run_headless(feed, pipeline, out, &mut UntilFeedEnds)?;
    if ended == Ended::OutputClosed {
        return Ok(0);
    }
    if session.feed.truncated_tail() {
        eprintln!("stackwatch: note: the recording's last line was cut short and was skipped");
    }
    match session.feed.skipped_unknown_kinds() {
        0 => {}
        1 => eprintln!(
            "stackwatch: note: 1 observation of a kind this version does not know was skipped"
        ),
        n => eprintln!(
            "stackwatch: note: {n} observations of kinds this version does not know were skipped"
        ),
    }
    match out.summary(&session.pipeline, session.now()) {
        Ok(outcome) => Ok(outcome.exit_code()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(0),
        Err(e) => Err(e.into()),
    }
}

fn headless_format(output: &OutputArgs) -> Format {
    if output.json {
        Format::Json
    } else {
        let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
        Format::Plain { color }
    }
}

/// Standard output, buffered: the loop flushes after each batch of changes.
fn headless_writer() -> Box<dyn std::io::Write> {
    Box::new(std::io::BufWriter::with_capacity(
        1 << 16,
        std::io::stdout(),
    ))
}
