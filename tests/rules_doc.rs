//! `docs/rules.md` is generated from the rule table: this test builds it and fails when the
//! committed document and the code disagree. Regenerate it with
//! `STACKWATCH_WRITE_DOCS=1 cargo test --test rules_doc`.
//!
//! A text rule's "what it means" is its own summary of a real message (the labelled corpus, or a
//! written example where the corpus has none), so the document shows what a flag really says.

use std::fmt::Write as _;

use stackwatch::detect::{STATE_RULES, classify, text_rules};
use stackwatch::model::Source;

const CORPUS: &str = include_str!("data/signals-known.jsonl");
const RULE_EXAMPLES: &str = include_str!("data/rule-examples.jsonl");
const DOC_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/rules.md");

const SOURCES: [(Source, &str); 6] = [
    (
        Source::Cfn,
        "CloudFormation: stack event reasons and stack status reasons",
    ),
    (
        Source::EcsTask,
        "ECS tasks: a stopped task's reason and its containers' reasons",
    ),
    (
        Source::EcsService,
        "ECS services: service events and rollout state reasons",
    ),
    (Source::Elb, "Target health: state, reason and description"),
    (Source::Log, "Application log lines"),
    (Source::Api, "API errors pasted from a CLI or an SDK"),
];

fn source_named(name: &str) -> Source {
    SOURCES
        .iter()
        .map(|(s, _)| *s)
        .find(|s| s.as_str() == name)
        .unwrap_or_else(|| panic!("unknown source {name}"))
}

/// The first labelled message for each rule id: (source, text).
fn examples() -> Vec<(String, Source, String)> {
    CORPUS
        .lines()
        .chain(RULE_EXAMPLES.lines())
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let v: serde_json::Value = serde_json::from_str(line).expect("a JSON line");
            (
                v["expect"].as_str().unwrap().to_string(),
                source_named(v["source"].as_str().unwrap()),
                v["text"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// Text for one Markdown table cell: one line, pipes escaped.
fn cell(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace('|', "\\|")
}

fn render() -> String {
    let examples = examples();
    let rules: Vec<_> = text_rules().collect();
    let mut doc = String::new();
    doc.push_str(
        "# Rules\n\n\
<!-- Generated from the rule table by `STACKWATCH_WRITE_DOCS=1 cargo test --test rules_doc`; \
do not edit by hand. -->\n\n\
Every flag stackwatch raises carries one of these stable rule ids. Severities: `info` is \
progress and never raises a flag; `warn` may heal by itself or starts a timer; `error` will fail \
the deploy unless fixed; `fatal` needs a person before any further deploy.\n\n\
Text rules classify one message from one source. Within a source the first rule that matches \
wins, so each table runs from specific to generic. \"What it means\" is the rule's own summary \
of a real message; on a live deploy it is filled in from the message at hand (the port, the \
image, the module).\n",
    );
    for (source, title) in SOURCES {
        let _ = write!(
            doc,
            "\n## `{}`: {title}\n\n| rule | severity | what it means | next step |\n|---|---|---|---|\n",
            source.as_str()
        );
        for rule in rules.iter().filter(|r| r.sources[0] == source) {
            let (_, ex_source, text) = examples
                .iter()
                .find(|(id, _, _)| id == rule.id)
                .unwrap_or_else(|| panic!("{} has no example in tests/data", rule.id));
            let got = classify(*ex_source, text)
                .unwrap_or_else(|| panic!("the example of {} matches no rule", rule.id));
            assert_eq!(
                got.rule, rule.id,
                "the example of {} is classified as another rule",
                rule.id
            );
            let also: Vec<&str> = rule.sources[1..].iter().map(|s| s.as_str()).collect();
            let id = if also.is_empty() {
                format!("`{}`", rule.id)
            } else {
                format!("`{}` (also {})", rule.id, also.join(", "))
            };
            let _ = writeln!(
                doc,
                "| {id} | {} | {} | {} |",
                rule.severity.as_str(),
                cell(&got.summary),
                cell(rule.next_step)
            );
        }
    }
    doc.push_str(
        "\n## State rules\n\nThe detector derives these from the state of the stack, the services and \
the targets over time, not from one message.\n\n| rule | severity | fires when | next step |\n|---|---|---|---|\n",
    );
    for rule in STATE_RULES {
        let _ = writeln!(
            doc,
            "| `{}` | {} | {} | {} |",
            rule.id,
            rule.severity,
            cell(rule.fires_when),
            cell(rule.next_step)
        );
    }
    doc.push_str(
        "\n## Source health\n\n`source.throttled`, `source.unavailable`, `source.access_denied` and \
`source.credentials_expired` are not flags: they are shown as the health of each source in the \
header and in `status` lines, and never change an exit code.\n",
    );
    doc.push_str(
        "\n## No rule: `unknown`\n\nA message that no rule above knows is `unknown`. When it reads \
like a failure it is a `warn` flag with the message as its evidence, grouped and counted like any \
other flag: for CloudFormation, ECS, target health and API errors, a whole failure word in any \
case (`error`, `failed`, `exception`, `denied`, `timeout`, `unable`, `cannot`, `refused`, \
`invalid`, `not found`, `missing`, …; not `0 errors`), or a failed CloudFormation row; for log \
lines, an error level (`ERROR`, `level=error`, `\"level\":\"error\"`, `[error]`) or, on a line \
with no level, an exception marker (`Traceback`, `…Exception: `, `panicked at`) or words that \
start with a failure (`Error: …`, `Failed to …`). Otherwise it is `info`: `stackwatch explain` \
shows it, and no flag opens.\n",
    );
    doc
}

#[test]
fn rules_document_matches_the_code() {
    let doc = render();
    if std::env::var_os("STACKWATCH_WRITE_DOCS").is_some() {
        std::fs::write(DOC_PATH, &doc).expect("docs/rules.md is writable");
        return;
    }
    let committed = std::fs::read_to_string(DOC_PATH).unwrap_or_default();
    assert!(
        committed == doc,
        "docs/rules.md is stale: regenerate it with STACKWATCH_WRITE_DOCS=1 cargo test --test rules_doc"
    );
}

#[test]
fn every_text_rule_is_in_the_document_once() {
    let doc = render();
    for rule in text_rules() {
        let needle = format!("| `{}`", rule.id);
        assert_eq!(doc.matches(&needle).count(), 1, "{}", rule.id);
    }
    for rule in STATE_RULES {
        assert_eq!(doc.matches(&format!("| `{}`", rule.id)).count(), 1);
    }
}
