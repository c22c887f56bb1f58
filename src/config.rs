//! The user's config file (docs/config.md): `--config FILE` (or `STACKWATCH_CONFIG`), else
//! `config.toml` in the platform config dir (`~/.config/stackwatch/config.toml` on Linux). A
//! missing default file means the defaults; a missing named file is an error. Reading and
//! checking the file happens here, outside the pure core: the detector receives the resulting
//! [`DetectConfig`] and [`UserRules`].
//!
//! Errors name the file, the key and the line: unknown keys (serde `deny_unknown_fields`), bad
//! values, regexes that do not compile, user rule ids that collide with a built-in one, muted
//! ids that no rule has.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::detect::{DetectConfig, Detector, STATE_RULES, UNKNOWN, UserRule, UserRules, rule_ids};
use crate::model::{Severity, Source};

/// The config file's name in the platform config dir.
pub const FILE_NAME: &str = "config.toml";

/// A config that cannot be used. Every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {file}")]
    Read {
        file: String,
        source: std::io::Error,
    },
    #[error("config file {file}, line {line}, key `{key}`: {message}")]
    Invalid {
        file: String,
        line: usize,
        key: String,
        message: String,
    },
}

/// The effective config: where it came from, the detector's thresholds, the user's rules and
/// muted ids.
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// The file read; `None` when the defaults apply.
    pub path: Option<PathBuf>,
    pub detect: DetectConfig,
    pub user: UserRules,
}

impl Config {
    /// A detector with these thresholds, rules and muted ids.
    pub fn detector(&self) -> Detector {
        Detector::with_user_rules(self.detect.clone(), self.user.clone())
    }

    /// The effective config as TOML: fed back as `--config`, it gives the same config.
    pub fn to_toml(&self) -> String {
        let file = PrintFile {
            muted: self.user.muted().iter().cloned().collect(),
            detect: self.detect.clone(),
            rules: self
                .user
                .rules()
                .iter()
                .map(|r| PrintRule {
                    id: r.id.to_string(),
                    source: r.source,
                    severity: r.severity,
                    regex: r.regex.as_str().to_string(),
                    summary: r.summary.clone(),
                    next_step: r.next_step.clone(),
                })
                .collect(),
        };
        let origin = match &self.path {
            Some(p) => format!("# stackwatch: the effective config, from {}\n", p.display()),
            None => "# stackwatch: the effective config (defaults; no config file)\n".to_string(),
        };
        let body = toml::to_string(&file).unwrap_or_else(|e| format!("# cannot print: {e}\n"));
        format!("{origin}{body}")
    }
}

/// The default file: `config.toml` in the platform config dir.
pub fn default_path() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "stackwatch").map(|d| d.config_dir().join(FILE_NAME))
}

/// The variable that names a config file when `--config` does not (set and empty: unset).
pub const ENV: &str = "STACKWATCH_CONFIG";

/// Loads `explicit`, else `$STACKWATCH_CONFIG` (either must exist), else the default file if
/// there is one, else the defaults.
pub fn load(explicit: Option<&Path>) -> Result<Config, ConfigError> {
    let named = explicit.map(Path::to_path_buf).or_else(|| {
        std::env::var_os(ENV)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    });
    let path = match named {
        Some(p) => p,
        None => match default_path() {
            Some(p) if p.exists() => p,
            _ => return Ok(Config::default()),
        },
    };
    let file = path.display().to_string();
    let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Read {
        file: file.clone(),
        source,
    })?;
    let mut config = parse(&text, &file)?;
    config.path = Some(path);
    Ok(config)
}

/// The file as the user writes it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    muted: Vec<Spanned<String>>,
    #[serde(default)]
    detect: DetectConfig,
    #[serde(default)]
    rules: Vec<RuleSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleSpec {
    id: Spanned<String>,
    source: Spanned<String>,
    regex: Spanned<String>,
    severity: Severity,
    summary: String,
    #[serde(default)]
    next_step: String,
}

/// The file as `config --print` writes it (plain values, no spans).
#[derive(Debug, Serialize)]
struct PrintFile {
    muted: Vec<String>,
    detect: DetectConfig,
    rules: Vec<PrintRule>,
}

#[derive(Debug, Serialize)]
struct PrintRule {
    id: String,
    source: Source,
    severity: Severity,
    regex: String,
    summary: String,
    next_step: String,
}

/// The sources a user rule may name, as `explain --source` and the JSON lines name them.
const SOURCES: [Source; 6] = [
    Source::Cfn,
    Source::EcsTask,
    Source::EcsService,
    Source::Elb,
    Source::Log,
    Source::Api,
];

/// Parses and checks a config file's text; `file` names it in errors.
pub fn parse(text: &str, file: &str) -> Result<Config, ConfigError> {
    let invalid = |offset: usize, key: String, message: String| ConfigError::Invalid {
        file: file.to_string(),
        line: line_of(text, offset),
        key,
        message,
    };
    let parsed: File = toml::from_str(text).map_err(|e| {
        let offset = e.span().map_or(0, |s| s.start);
        let message = e.message().trim().to_string();
        let key = key_at(text, offset, &message);
        invalid(offset, key, message)
    })?;

    let mut rules = Vec::new();
    let mut ids = BTreeSet::new();
    let built_in: BTreeSet<&str> = rule_ids()
        .chain(STATE_RULES.iter().map(|r| r.id))
        .chain([UNKNOWN])
        .collect();
    for (n, spec) in parsed.rules.iter().enumerate() {
        let key = |field: &str| format!("rules[{n}].{field}");
        let id = spec.id.get_ref().trim();
        if id.is_empty() || id.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(invalid(
                spec.id.span().start,
                key("id"),
                format!("rule id {id:?} must be one word, such as \"app.payment_gateway_down\""),
            ));
        }
        if built_in.contains(id) {
            return Err(invalid(
                spec.id.span().start,
                key("id"),
                format!(
                    "rule id `{id}` is a built-in rule's id: choose another (to silence the built-in one, list it in `muted`)"
                ),
            ));
        }
        if !ids.insert(id.to_string()) {
            return Err(invalid(
                spec.id.span().start,
                key("id"),
                format!("rule id `{id}` is used by an earlier rule"),
            ));
        }
        let Some(source) = SOURCES
            .into_iter()
            .find(|s| s.as_str() == spec.source.get_ref())
        else {
            return Err(invalid(
                spec.source.span().start,
                key("source"),
                format!(
                    "unknown source {:?}, expected one of cfn, ecs-task, ecs-service, elb, log, api",
                    spec.source.get_ref()
                ),
            ));
        };
        let rule = UserRule::new(
            id,
            source,
            spec.severity,
            spec.regex.get_ref(),
            &spec.summary,
            &spec.next_step,
        )
        .map_err(|e| {
            invalid(
                spec.regex.span().start,
                key("regex"),
                format!("bad regex: {}", one_line(&e.to_string())),
            )
        })?;
        rules.push(rule);
    }

    let mut muted = Vec::new();
    for (n, m) in parsed.muted.iter().enumerate() {
        let id = m.get_ref().trim();
        if !built_in.contains(id) && !ids.contains(id) {
            return Err(invalid(
                m.span().start,
                format!("muted[{n}]"),
                format!("no rule has the id `{id}` (see docs/rules.md for the ids)"),
            ));
        }
        muted.push(id.to_string());
    }
    Ok(Config {
        path: None,
        detect: parsed.detect,
        user: UserRules::new(rules, muted),
    })
}

/// The 1-based line of a byte offset.
fn line_of(text: &str, offset: usize) -> usize {
    let offset = offset.min(text.len());
    text.as_bytes()[..offset]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// The dotted key a toml error is about: the table the line sits in, then the key (the one
/// the message names for an unknown field, else the one on the error's line).
fn key_at(text: &str, offset: usize, message: &str) -> String {
    let offset = offset.min(text.len());
    let line_start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let line = text[line_start..].lines().next().unwrap_or("");
    let named = message
        .strip_prefix("unknown field `")
        .and_then(|rest| rest.split('`').next());
    let own = line
        .split_once('=')
        .map(|(k, _)| k.trim())
        .filter(|k| !k.is_empty() && !k.starts_with('['));
    // The table the line belongs to, and for arrays of tables their index.
    let mut table = String::new();
    let mut counts: std::collections::HashMap<String, usize> = Default::default();
    for l in text[..line_start].lines() {
        let l = l.trim();
        if let Some(name) = l.strip_prefix("[[").and_then(|r| r.split("]]").next()) {
            let name = name.trim().to_string();
            let n = counts.entry(name.clone()).or_insert(0);
            table = format!("{name}[{n}]");
            *n += 1;
        } else if let Some(name) = l.strip_prefix('[').and_then(|r| r.split(']').next()) {
            table = name.trim().to_string();
        }
    }
    match named.or(own) {
        Some(k) if table.is_empty() => k.to_string(),
        Some(k) => format!("{table}.{k}"),
        None if table.is_empty() => line.trim().trim_matches(['[', ']']).to_string(),
        None => table,
    }
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = r#"
muted = ["ecs.not_converging"]

[detect]
crash_loop_stops = 5
crash_loop_window_s = 900
signal_warn_ratio = 0.6

[[detect.stall_thresholds]]
resource_type = "AWS::ECS::Service"
warn_s = 1200
alarm_s = 2400
typical = "usually 5-15 min"

[[rules]]
id = "app.payment_gateway_down"
source = "log"
regex = '(?i)payment gateway (?P<gw>\w+) unreachable'
severity = "error"
summary = "payment gateway ${gw} is unreachable"
next_step = "check the gateway's status page"
"#;

    fn err(text: &str) -> String {
        parse(text, "my.toml").unwrap_err().to_string()
    }

    #[test]
    fn a_full_file_sets_thresholds_rules_and_mutes() {
        let c = parse(EXAMPLE, "my.toml").unwrap();
        assert_eq!(c.detect.crash_loop_stops, 5);
        assert_eq!(c.detect.crash_loop_window_s, 900);
        assert_eq!(c.detect.signal_warn_ratio, 0.6);
        assert_eq!(c.detect.signal_error_ratio, 0.8);
        assert_eq!(c.detect.stall_threshold("AWS::ECS::Service").warn_s, 1200);
        assert!(c.user.is_muted("ecs.not_converging"));
        let hit = c
            .user
            .classify(Source::Log, "payment gateway stripe unreachable")
            .unwrap();
        assert_eq!(hit.rule, "app.payment_gateway_down");
        assert_eq!(hit.summary, "payment gateway stripe is unreachable");
    }

    #[test]
    fn the_documented_example_is_a_valid_file() {
        let doc = include_str!("../docs/config.md");
        let example = doc
            .split("```toml\n")
            .nth(1)
            .and_then(|rest| rest.split("```").next())
            .expect("docs/config.md has a toml example");
        let c = parse(example, "docs/config.md").unwrap();
        assert_eq!(c.user.rules().len(), 2);
        assert!(c.user.is_muted("elb.target_timeout"));
        assert_eq!(c.detect.stall_threshold("AWS::ECS::Service").warn_s, 1200);
        assert_eq!(c.detect.not_converging_s, 600);
        let hit = c
            .user
            .classify(Source::Log, "ERROR payment gateway adyen timed out")
            .unwrap();
        assert_eq!(hit.summary, "payment gateway adyen is unreachable");
    }

    #[test]
    fn print_round_trips() {
        let c = parse(EXAMPLE, "my.toml").unwrap();
        let printed = c.to_toml();
        let again = parse(&printed, "printed.toml").unwrap();
        assert_eq!(again.to_toml(), printed);
        assert_eq!(again.detect, c.detect);
        let defaults = Config::default().to_toml();
        assert_eq!(
            parse(&defaults, "d").unwrap().detect,
            DetectConfig::default()
        );
    }

    #[test]
    fn bad_files_name_the_file_the_key_and_the_line() {
        let e = err("[detect]\ncrash_loop_stops = 3\ncrash_loop_stop = 4\n");
        assert!(
            e.starts_with(
                "config file my.toml, line 3, key `detect.crash_loop_stop`: unknown field"
            ),
            "{e}"
        );
        let e = err("colour = 1\n");
        assert!(e.contains("line 1, key `colour`: unknown field"), "{e}");
        let e = err(&EXAMPLE.replace(r"(?P<gw>\w+)", r"(?P<gw>\w+"));
        assert!(
            e.contains("line 18, key `rules[0].regex`: bad regex"),
            "{e}"
        );
        let e = err(&EXAMPLE.replace("app.payment_gateway_down", "ecs.crash_loop"));
        assert!(e.contains("line 16, key `rules[0].id`"), "{e}");
        assert!(e.contains("built-in"), "{e}");
        let e = err(&EXAMPLE.replace("\"log\"", "\"logs\""));
        assert!(
            e.contains("line 17, key `rules[0].source`: unknown source"),
            "{e}"
        );
        let e = err("muted = [\"no.such_rule\"]\n");
        assert!(e.contains("line 1, key `muted[0]`: no rule"), "{e}");
        let e = err("[detect]\nlog_quiet_s = \"soon\"\n");
        assert!(
            e.contains("line 2, key `detect.log_quiet_s`: \"soon\" is not a duration"),
            "{e}"
        );
        let e = err(&EXAMPLE.replace("\"error\"", "\"loud\""));
        assert!(e.contains("line 19, key `rules[0].severity`"), "{e}");
        let e = err(
            "[[detect.stall_thresholds]]\nresource_type = \"X\"\nwarn_s = 1\nalarm_s = 2\nwarn = 3\n",
        );
        assert!(
            e.contains("line 5, key `detect.stall_thresholds[0].warn`"),
            "{e}"
        );
    }
}
