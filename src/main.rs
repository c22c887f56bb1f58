//! CLI dispatch only.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use chrono::Utc;
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;

use stackwatch::app::{Ended, UntilFeedEnds};
use stackwatch::aws::AwsTarget;
use stackwatch::aws::watch::{Watch, WatchPlan, session_stamp};
use stackwatch::cli::{
    CapArgs, Cli, Command, DEMO_DASHBOARD_SPEED, ExplainArgs, ExplainSource, OutputArgs,
    REPLAY_DASHBOARD_SPEED, RedactArgs, ReportArgs, ReportFormatArg, StatusArgs, TargetArgs, Until,
    WatchArgs, playback_speed,
};
use stackwatch::clock::Speed;
use stackwatch::config::Config;
use stackwatch::headless::Outcome;
use stackwatch::headless::{Format, Headless};
use stackwatch::pipeline::Pipeline;
use stackwatch::session::demo;
use stackwatch::session::feed::Feed;
use stackwatch::session::feed::Recorder;
use stackwatch::session::recorder;
use stackwatch::session::recording;
use stackwatch::session::recording::Header;
use stackwatch::session::replay::{Replay, ReplayInput};
use stackwatch::session::until::UntilRule;
use stackwatch::{app, explain, logging, sanitize, ui};

// Ingest allocates many small strings; mimalloc roughly halves their cost against glibc's malloc.
// Built without transparent huge pages (`no_thp`): with them every arena chunk it touches costs
// 2 MB of RSS, and a replay's peak was 90 MB instead of 60.
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
    // A bad config file is a bad argument for every command that detects.
    let config = || stackwatch::config::load(cli.config.as_deref());
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
            let config = config()?;
            let headless = is_headless(&args.output);
            let speed = playback_speed(args.speed, headless, DEMO_DASHBOARD_SPEED);
            play(input, speed, &args.output, args.caps, &config)
        }
        Command::Watch(args) => watch(args, &config()?),
        Command::Status(args) => status(args, &config()?),
        Command::Replay(args) => {
            let config = config()?;
            let headless = is_headless(&args.output);
            let speed = playback_speed(args.speed, headless, REPLAY_DASHBOARD_SPEED);
            check_readable(&args.file)?;
            play(
                ReplayInput::File(args.file.clone()),
                speed,
                &args.output,
                args.caps,
                &config,
            )
        }
        Command::Report(args) => report(args, &config()?),
        Command::Explain(args) => explain(args, &config()?),
        Command::Config(args) => {
            let config = config()?;
            if args.print {
                print!("{}", config.to_toml());
            } else {
                match (&config.path, stackwatch::config::default_path()) {
                    (Some(path), _) => println!("config file: {}", path.display()),
                    (None, Some(path)) => println!(
                        "config file: {} (not there: the defaults apply)",
                        path.display()
                    ),
                    (None, None) => println!("no config dir on this platform: the defaults apply"),
                }
                println!("see the effective config with: stackwatch config --print");
            }
            Ok(0)
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
        Command::Redact(args) => redact(&args),
        // Both from the same clap definitions as --help, so they never drift. Written to memory
        // first: clap_complete panics on a write error such as a closed pipe.
        Command::Completions(args) => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            let mut script = Vec::new();
            clap_complete::generate(args.shell, &mut cmd, "stackwatch", &mut script);
            print_bytes(&script)
        }
        Command::Man => {
            let mut page = Vec::new();
            clap_mangen::Man::new(<Cli as clap::CommandFactory>::command()).render(&mut page)?;
            print_bytes(&page)
        }
    }
}

/// `report`: the recording played through the pipeline (the config file's rules and
/// thresholds, as the dashboard would), written as Markdown or HTML.
fn report(args: ReportArgs, config: &Config) -> anyhow::Result<u8> {
    check_readable(&args.file)?;
    let report = stackwatch::report::from_path(&args.file, config.detector(), args.redact)?;
    let format = match args.format {
        ReportFormatArg::Md => stackwatch::report::ReportFormat::Markdown,
        ReportFormatArg::Html => stackwatch::report::ReportFormat::Html,
    };
    let text = stackwatch::report::render(&report, format);
    match args.output.as_deref() {
        None => print_bytes(text.as_bytes()),
        Some(path) if path == Path::new("-") => print_bytes(text.as_bytes()),
        Some(path) => {
            std::fs::write(path, text)
                .with_context(|| format!("cannot write {}", path.display()))?;
            eprintln!("stackwatch: wrote {}", path.display());
            Ok(0)
        }
    }
}

/// Writes to stdout; a closed pipe (`| head`) is a normal way to stop reading.
fn print_bytes(bytes: &[u8]) -> anyhow::Result<u8> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Ok(()) => Ok(0),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(0),
        Err(e) => Err(e.into()),
    }
}

/// `redact IN OUT`: the recording copied with every observation's secrets masked.
fn redact(args: &RedactArgs) -> anyhow::Result<u8> {
    let (input, output) = (&args.input, &args.output);
    let same = input == output
        || std::fs::canonicalize(input)
            .ok()
            .is_some_and(|i| std::fs::canonicalize(output).ok() == Some(i));
    if same {
        anyhow::bail!(
            "redact: IN and OUT are the same file ({}): write the redacted copy elsewhere",
            output.display()
        );
    }
    // A RecordingError names its file and line already.
    let mut reader = recording::RecordingReader::open(input)
        .map_err(|e| anyhow::anyhow!("cannot read recording {e}"))?;
    let mut writer = recorder::create_redacted(output, &reader.header)
        .map_err(|e| anyhow::anyhow!("cannot write {e}"))?;
    let copied = (|| -> anyhow::Result<u64> {
        let mut batch = Vec::with_capacity(1024);
        let mut count = 0;
        loop {
            let obs = reader
                .next_observation()
                .map_err(|e| anyhow::anyhow!("cannot read recording {e}"))?;
            let end = obs.is_none();
            batch.extend(obs);
            if end || batch.len() == batch.capacity() {
                writer
                    .write_batch(&batch)
                    .with_context(|| format!("cannot write {}", output.display()))?;
                count += batch.len() as u64;
                batch.clear();
            }
            if end {
                return Ok(count);
            }
        }
    })();
    let count = match copied {
        Ok(count) => count,
        Err(e) => {
            // No half-redacted copy left behind.
            drop(writer);
            let _ = std::fs::remove_file(output);
            return Err(e);
        }
    };
    eprintln!(
        "stackwatch: masked {} value(s) in {count} observation(s); wrote {}",
        writer.masked(),
        output.display()
    );
    if reader.truncated_tail {
        eprintln!("stackwatch: note: the recording's last line was cut short and was left out");
    }
    if reader.skipped_unknown_kinds > 0 {
        eprintln!(
            "stackwatch: note: {} observation(s) of kinds this version does not know were left out (they could not be redacted)",
            reader.skipped_unknown_kinds
        );
    }
    Ok(0)
}

/// `explain`: one message from TEXT or stdin, or `--jsonl` lines from stdin.
fn explain(args: ExplainArgs, config: &Config) -> anyhow::Result<u8> {
    use std::io::Write;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let written = if args.jsonl {
        explain::answer_jsonl_with(&config.user, std::io::stdin().lock(), &mut out)
    } else {
        let text = match &args.text {
            Some(text) => text.to_string_lossy().into_owned(),
            None => {
                if std::io::stdin().is_terminal() {
                    eprintln!("stackwatch: reading the message from stdin (Ctrl-D to end)");
                }
                explain::read_message(std::io::stdin().lock()).context("cannot read stdin")?
            }
        };
        let e = explain::explain_with(&config.user, args.source.map(ExplainSource::source), &text);
        let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
        write!(out, "{}", explain::render_text(&e, color))
    };
    match written.and_then(|()| out.flush()) {
        Ok(()) => Ok(0),
        // `| head` stops reading: a normal end.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(0),
        Err(e) => Err(e.into()),
    }
}

/// What the command line names, and where.
fn plan_of(args: &TargetArgs, wait: bool) -> anyhow::Result<(WatchPlan, AwsTarget)> {
    let plan = WatchPlan {
        stacks: args.stack.clone(),
        clusters: args.cluster.iter().cloned().collect(),
        services: args
            .service
            .iter()
            .filter_map(|s| Some((args.cluster.clone()?, s.clone())))
            .collect(),
        log_groups: args.log_group.clone(),
        target_groups: args.target_group.clone(),
        wait,
    };
    if plan.stacks.is_empty()
        && plan.clusters.is_empty()
        && plan.log_groups.is_empty()
        && plan.target_groups.is_empty()
    {
        anyhow::bail!(
            "nothing to watch: give --stack NAME, or --cluster C [--service S], --log-group G, --target-group ARN"
        );
    }
    let target = AwsTarget {
        profile: args.profile.clone(),
        region: args.region.clone(),
        endpoint_url: args.endpoint_url.clone(),
    };
    Ok((plan, target))
}

fn status(args: StatusArgs, config: &Config) -> anyhow::Result<u8> {
    let (plan, target) = plan_of(&args.target, false)?;
    let _log = logging::init();
    let observations = match stackwatch::aws::watch::snapshot(&target, &plan) {
        Ok(observations) => observations,
        Err(e) => {
            eprintln!("stackwatch: error: {}", sanitize::line(&e.to_string()));
            return Ok(EXIT_OWN_ERROR);
        }
    };
    let mut pipeline =
        Pipeline::new(stackwatch::model::StoreCaps::default()).with_detector(config.detector());
    let mut changes = Vec::new();
    for obs in &observations {
        pipeline.feed(obs, &mut changes);
        changes.clear();
    }
    let now = Utc::now();
    pipeline.advance_to(now, &mut changes);
    print!(
        "{}",
        stackwatch::status::render(&pipeline, now, args.format)
    );
    Ok(stackwatch::status::outcome(&pipeline).exit_code())
}

fn watch(args: WatchArgs, config: &Config) -> anyhow::Result<u8> {
    // A bad theme name is a bad argument whether or not the dashboard opens.
    let theme = ui::theme::load(&args.output.theme)?;
    let (plan, target) = plan_of(&args.target, args.wait)?;
    let _log = logging::init();
    let (watch, observations) = match Watch::start(&target, &plan) {
        Ok(started) => started,
        Err(e) => {
            eprintln!("stackwatch: error: {}", sanitize::line(&e.to_string()));
            return Ok(EXIT_OWN_ERROR);
        }
    };
    let started = Utc::now();
    let mut header = Header::new(std::env::args().collect(), started);
    header.account.clone_from(&watch.account);
    header.region = Some(watch.region.clone());
    header.profile = Some(watch.profile.clone());
    let (record_path, recorder) = open_recording(&args, &plan, &header)?;
    let profile = header.profile.clone();
    let feed = Feed::live(header, observations, recorder);
    let pipeline = Pipeline::new(args.caps.store_caps()).with_detector(config.detector());
    let code = if is_headless(&args.output) {
        let until = args.until.unwrap_or(if plan.stacks.is_empty() {
            Until::Never
        } else {
            Until::Complete
        });
        let deadline = args
            .timeout
            .and_then(|d| chrono::TimeDelta::from_std(d).ok())
            .and_then(|d| started.checked_add_signed(d));
        let mut rule = UntilRule::new(until, &plan.stacks, deadline);
        let out = Headless::new(headless_writer(), headless_format(&args.output))
            .with_status_every(chrono::TimeDelta::minutes(1))
            .with_profile(profile);
        let run = app::run_headless(feed, pipeline, out, &mut rule);
        watch.stop();
        let (session, mut out, ended) = run?;
        if ended == Ended::OutputClosed {
            return Ok(0);
        }
        let (outcome, note) = if rule.timed_out() {
            let after = args.timeout.map(humantime::format_duration);
            let note = after.map(|a| format!("timed out after {a}"));
            (Outcome::Stuck, note)
        } else {
            (Outcome::of(&session.pipeline), None)
        };
        exit_code_of(out.summary_as(&session.pipeline, session.now(), outcome, note.as_deref()))?
    } else {
        let run = app::run_dashboard(feed, pipeline, theme, args.bell);
        watch.stop();
        run?;
        0
    };
    if let Some(path) = record_path {
        eprintln!(
            "stackwatch: recorded to {}\nreplay it with: stackwatch replay {}",
            path.display(),
            path.display()
        );
    }
    Ok(code)
}

/// The recording for this session: `--record FILE`, none with `--no-record`, else a new file
/// in the state directory (whose oldest recordings beyond the newest 50 are removed).
fn open_recording(
    args: &WatchArgs,
    plan: &WatchPlan,
    header: &Header,
) -> anyhow::Result<(Option<PathBuf>, Option<Recorder>)> {
    if args.no_record {
        return Ok((None, None));
    }
    let name = plan
        .stacks
        .first()
        .or(plan.clusters.first())
        .map_or("watch", String::as_str);
    let in_state_dir = args.record.is_none();
    let Some(path) = args
        .record
        .clone()
        .or_else(|| recorder::default_path(name, &session_stamp(header.started_at)))
    else {
        eprintln!(
            "stackwatch: note: no state directory on this platform; not recording (use --record FILE)"
        );
        return Ok((None, None));
    };
    let writer = if args.redact {
        recorder::create_redacted(&path, header)?
    } else {
        recorder::create(&path, header)?
    };
    if in_state_dir && let Some(dir) = path.parent() {
        let _ = recorder::prune(dir, recorder::KEEP_RECORDINGS);
    }
    Ok((Some(path), Some(writer)))
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
    config: &Config,
) -> anyhow::Result<u8> {
    // A bad theme name is a bad argument whether or not the dashboard opens.
    let theme = ui::theme::load(&output.theme)?;
    let replay = Replay::open(input, caps.store_caps())?;
    let profile = replay.header.profile.clone();
    let pipeline = replay.new_pipeline().with_detector(config.detector());
    let feed = Feed::replay(replay, speed);
    if !is_headless(output) {
        app::run_dashboard(feed, pipeline, theme, false)?;
        return Ok(0);
    }
    let out = Headless::new(headless_writer(), headless_format(output)).with_profile(profile);
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
    exit_code_of(out.summary(&session.pipeline, session.now()))
}

/// The exit code a written summary says; a closed pipe (`| head`) is a normal way to stop
/// reading.
fn exit_code_of(summary: std::io::Result<Outcome>) -> anyhow::Result<u8> {
    match summary {
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
fn headless_writer() -> Box<dyn std::io::Write + Send> {
    Box::new(std::io::BufWriter::with_capacity(
        1 << 16,
        std::io::stdout(),
    ))
}
