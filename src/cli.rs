//! The command line (clap derive). The commands and flags are the contract in DESIGN.md.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::clock::Speed;

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
    /// Config file: thresholds, muted rule ids, your own rules (docs/config.md) [default:
    /// $STACKWATCH_CONFIG, else config.toml in the config dir if it exists]
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Play the bundled recording of a failing deploy (no AWS account needed)
    Demo(DemoArgs),
    /// Watch a live deploy: a stack (and what it runs), or ECS services, log groups, target groups
    Watch(WatchArgs),
    /// One look at a deploy, no screen: stack, what is in progress, services, flags, root cause
    Status(StatusArgs),
    /// Play a recording in the dashboard, or headless with --plain/--json
    Replay(ReplayArgs),
    /// Write the handoff report of a recording, in Markdown or self-contained HTML
    Report(ReportArgs),
    /// What a pasted message means: its rule id, severity, summary and next step
    Explain(ExplainArgs),
    /// The config file: where it is read from, and the effective config
    Config(ConfigArgs),
    /// List the built-in and user themes
    Themes,
    /// Copy a recording with its secrets masked (keys, tokens, passwords), to share it
    Redact(RedactArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell)
    Completions(CompletionsArgs),
    /// Print the man page (roff): stackwatch man > stackwatch.1; man ./stackwatch.1
    Man,
}

#[derive(Debug, Args)]
#[command(
    after_help = "The file: --config FILE or STACKWATCH_CONFIG, else config.toml in the config dir \
(~/.config/stackwatch/config.toml on Linux); a missing default file means the defaults. Its keys \
are in docs/config.md."
)]
pub struct ConfigArgs {
    /// Print the effective config as TOML (it can be fed back as --config)
    #[arg(long)]
    pub print: bool,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Playback speed: a factor of real time, or "max" [default: 16 in the dashboard, max
    /// headless]
    #[arg(long)]
    pub speed: Option<Speed>,
    /// Write the demo recording to FILE and exit
    #[arg(long, value_name = "FILE")]
    pub export: Option<PathBuf>,
    #[command(flatten)]
    pub output: OutputArgs,
    #[command(flatten)]
    pub caps: CapArgs,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  stackwatch watch --stack my-app                 # beside `cdk deploy`\n  stackwatch watch --stack my-app --json --until complete --timeout 30m\n  stackwatch watch --cluster prod --service api --log-group /ecs/api\n\nRecordings go to the state directory ($XDG_STATE_HOME/stackwatch/recordings); the newest 50\nare kept. Exit codes headless: 0 completed, 1 failed or rolled back, 2 stuck or timed out,\n3 stackwatch's own error."
)]
pub struct WatchArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// Record to FILE instead of the state directory
    #[arg(long, value_name = "FILE", conflicts_with = "no_record")]
    pub record: Option<PathBuf>,
    /// Do not record this session
    #[arg(long)]
    pub no_record: bool,
    /// Mask secrets (access keys, secret keys, session tokens, passwords, bearer tokens, JWTs)
    /// in the recording as it is written; the live screen still shows them as they are
    #[arg(long, conflicts_with = "no_record")]
    pub redact: bool,
    /// When a headless watch ends [default: complete with a stack, else never]
    #[arg(long, value_enum)]
    pub until: Option<Until>,
    /// Give up after this long (90s, 20m, 1h): exit 2
    #[arg(long, value_name = "DUR", value_parser = humantime::parse_duration)]
    pub timeout: Option<std::time::Duration>,
    /// Wait for a stack that does not exist yet (a first deploy started after the watch)
    #[arg(long)]
    pub wait: bool,
    /// Ring the terminal bell when the deploy ends or a new error opens
    #[arg(long)]
    pub bell: bool,
    #[command(flatten)]
    pub output: OutputArgs,
    #[command(flatten)]
    pub caps: CapArgs,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Masked, in every reason, message, log line and description (ids, ARNs and names are \
kept): AWS access key ids (AKIA[redacted]), values named as secret keys, session tokens, \
passwords, API keys or tokens (password=[redacted], \"SecretAccessKey\": \"[redacted]\"), \
passwords in URLs (postgres://app:[redacted]@db), bearer tokens and JWTs (eyJ[redacted]). The \
header is kept, its command line masked too. Observations of kinds this version does not know \
are left out. The count of masked values goes to stderr. Exit code 3 on any error."
)]
pub struct RedactArgs {
    /// The recording to read
    #[arg(value_name = "IN")]
    pub input: PathBuf,
    /// Where to write the redacted copy (not IN; replaced if it exists)
    #[arg(value_name = "OUT")]
    pub output: PathBuf,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Install:\n  stackwatch completions bash > ~/.local/share/bash-completion/completions/stackwatch\n  \
stackwatch completions zsh > ~/.zfunc/_stackwatch   # with fpath+=(~/.zfunc) before compinit\n  \
stackwatch completions fish > ~/.config/fish/completions/stackwatch.fish"
)]
pub struct CompletionsArgs {
    /// The shell to complete for
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// What to look at, and where: shared by `watch` and `status`.
#[derive(Debug, Args)]
pub struct TargetArgs {
    /// A CloudFormation stack to watch, with its nested stacks and what it runs (repeatable)
    #[arg(long, value_name = "NAME")]
    pub stack: Vec<String>,
    /// An ECS cluster: every service in it, or only those given with --service
    #[arg(long, value_name = "C")]
    pub cluster: Option<String>,
    /// An ECS service of --cluster (repeatable)
    #[arg(long, value_name = "S", requires = "cluster")]
    pub service: Vec<String>,
    /// A CloudWatch log group to tail (repeatable)
    #[arg(long, value_name = "G")]
    pub log_group: Vec<String>,
    /// A target group whose health to watch (repeatable)
    #[arg(long, value_name = "ARN")]
    pub target_group: Vec<String>,
    /// AWS profile (default: the standard chain, AWS_PROFILE)
    #[arg(long, value_name = "P")]
    pub profile: Option<String>,
    /// AWS region (default: the profile's, AWS_REGION)
    #[arg(long, value_name = "R")]
    pub region: Option<String>,
    /// Another endpoint, such as moto or LocalStack (AWS_ENDPOINT_URL is honoured too)
    #[arg(long, value_name = "URL")]
    pub endpoint_url: Option<String>,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Exit codes: 0 settled and healthy, 1 failed or rolled back, 2 in progress or stuck,\n3 stackwatch's own error."
)]
pub struct StatusArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// Text for people, one JSON document for scripts, Markdown for a ticket or a chat
    #[arg(long, value_enum, default_value = "text")]
    pub format: crate::status::StatusFormat,
}

/// When a watch ends by itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Until {
    /// The watched operation ends (or, with no stack, every service's deployment ends)
    Complete,
    /// As complete, and every service is steady with healthy targets
    Stable,
    /// Only on Ctrl-C, `q` or --timeout
    Never,
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
#[command(
    after_help = "From any recording: a live watch's (the path is printed when it ends), a replay's, or \
the demo's (stackwatch demo --export demo.jsonl). The report holds the outcome and the root cause in \
one sentence, how long before CloudFormation gave up stackwatch flagged it, what was tried (stack \
operations, ECS deployments, notes), every flag with its evidence, the resources with their \
durations and a Gantt chart, the ECS story, target health changes, log lines around each flag and \
a condensed timeline.\n\nExamples:\n  stackwatch report session.jsonl > handoff.md\n  \
stackwatch report session.jsonl --format html -o handoff.html"
)]
pub struct ReportArgs {
    /// The recording (JSON Lines)
    pub file: PathBuf,
    /// md (GitHub-flavoured Markdown) or html (one self-contained file)
    #[arg(long, value_enum, default_value = "md")]
    pub format: ReportFormatArg,
    /// Write to FILE instead of standard output ("-" is standard output)
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Mask AWS keys, secrets, tokens, passwords in URLs and JWTs in everything the report shows
    #[arg(long)]
    pub redact: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportFormatArg {
    Md,
    Html,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Paste anything: a CloudFormation reason, a stopped task's reason, a service event, target \
health, a log line, whole AWS CLI error output, a JSON blob (its message field is read), text with \
its line breaks. Without --source the source is guessed from the text and named.\n\n\
Examples:\n  stackwatch explain 'Failed to receive 1 resource signal(s) within the specified duration'\n  \
aws ecs describe-tasks --cluster prod --tasks abc | stackwatch explain --source ecs-task\n  \
printf '%s\\n' '{\"source\":\"log\",\"text\":\"Error: connect ECONNREFUSED 127.0.0.1:5432\"}' | stackwatch explain --jsonl\n\n\
A message no rule knows is `unknown`: severity warn when it reads like a failure, info otherwise.\n\
Exit codes: 0 an answer was printed (with --jsonl, one JSON object per input line, `{\"error\":…}` \
for a line that is not a {\"source\",\"text\"} object); 3 bad arguments or unreadable input."
)]
pub struct ExplainArgs {
    /// Where the message comes from [default: guessed from the text]
    #[arg(long, value_enum)]
    pub source: Option<ExplainSource>,
    /// Read {"source","text"} objects, one per line, on stdin; write one JSON object per line
    #[arg(long, conflicts_with_all = ["source", "text"])]
    pub jsonl: bool,
    /// The message [default: read from stdin]
    #[arg(value_name = "TEXT")]
    pub text: Option<std::ffi::OsString>,
}

/// The sources `explain --source` takes, as the headless JSON lines name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExplainSource {
    /// A CloudFormation event reason or stack status reason
    Cfn,
    /// A stopped task's reason or a container's reason
    EcsTask,
    /// An ECS service event or rollout state reason
    EcsService,
    /// Target health: state, reason and description
    Elb,
    /// An application log line (or several)
    Log,
    /// An error pasted from a CLI or an SDK
    Api,
}

impl ExplainSource {
    pub fn source(self) -> crate::model::Source {
        use crate::model::Source;
        match self {
            ExplainSource::Cfn => Source::Cfn,
            ExplainSource::EcsTask => Source::EcsTask,
            ExplainSource::EcsService => Source::EcsService,
            ExplainSource::Elb => Source::Elb,
            ExplainSource::Log => Source::Log,
            ExplainSource::Api => Source::Api,
        }
    }
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

/// The dashboard's demo plays at 16x: the whole deploy in about a minute.
pub const DEMO_DASHBOARD_SPEED: Speed = Speed::Factor(16.0);
/// A replay in the dashboard plays in real time.
pub const REPLAY_DASHBOARD_SPEED: Speed = Speed::Factor(1.0);

/// The speed a playback runs at: the one asked for, else `max` headless (output for scripts and
/// pipes should not wait on a clock), else the dashboard's default.
pub fn playback_speed(requested: Option<Speed>, headless: bool, dashboard: Speed) -> Speed {
    match requested {
        Some(speed) => speed,
        None if headless => Speed::Max,
        None => dashboard,
    }
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

    use super::*;

    #[test]
    fn cli_is_well_formed() {
        super::Cli::command().debug_assert();
    }

    #[test]
    fn headless_playback_runs_at_max_unless_asked() {
        let demo = |args: &[&str]| match Cli::try_parse_from(args).unwrap().command {
            Command::Demo(d) => d.speed,
            _ => unreachable!(),
        };
        // `demo --json` without --speed: max, so it finishes in seconds, not a minute.
        let chosen = playback_speed(
            demo(&["stackwatch", "demo", "--json"]),
            true,
            DEMO_DASHBOARD_SPEED,
        );
        assert_eq!(chosen, Speed::Max);
        let chosen = playback_speed(demo(&["stackwatch", "demo"]), false, DEMO_DASHBOARD_SPEED);
        assert_eq!(chosen, Speed::Factor(16.0));
        let asked = demo(&["stackwatch", "demo", "--plain", "--speed", "4"]);
        assert_eq!(
            playback_speed(asked, true, DEMO_DASHBOARD_SPEED),
            Speed::Factor(4.0)
        );
    }
}
