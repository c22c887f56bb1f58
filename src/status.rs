//! `stackwatch status`: one look at a deploy, no screen. A compact snapshot of the store and the
//! detector at one moment: the stacks and their status, what is in progress and for how long,
//! the services and target groups, the open flags worst first with their next steps, and the
//! root cause. As text (default), one JSON document, or Markdown for a ticket or a chat.
//! Pure: the caller passes the pipeline and `now`.

use std::fmt::Write as _;

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};

use crate::detect::{Flag, ProblemSummary, fmt_duration, problems, root_cause_line};
use crate::headless::Outcome;
use crate::model::{Severity, SourceState, cfn_status};
use crate::pipeline::Pipeline;
use crate::sanitize;
use crate::text::md_cell as cell;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum StatusFormat {
    Text,
    Json,
    Md,
}

/// How the deploy stands, and the exit code that says so: 0 settled and healthy, 1 failed or
/// rolled back (or settled with an error still open), 2 in progress or stuck. Without a stack
/// (`--cluster`), the services' rollouts say it: one failed is a failure, one going on is in
/// progress. A source that could not be read keeps a settled deploy from being called healthy:
/// 2, since one look could not see everything.
pub fn outcome(pipeline: &Pipeline) -> Outcome {
    let rollouts = || {
        pipeline
            .store
            .services
            .values()
            .filter_map(|s| s.primary()?.rollout_state.as_deref())
    };
    let by_stack = match pipeline.store.root_stack() {
        Some(_) => Outcome::of(pipeline),
        None if rollouts().any(|r| r == "FAILED") => Outcome::Failed,
        None if rollouts().any(|r| r == "IN_PROGRESS") => Outcome::Stuck,
        None => Outcome::of(pipeline),
    };
    match by_stack {
        Outcome::Complete
            if pipeline
                .detector
                .open_flags()
                .iter()
                .any(|f| f.severity >= Severity::Error) =>
        {
            Outcome::Failed
        }
        Outcome::Complete if !unread(pipeline).is_empty() => Outcome::Stuck,
        other => other,
    }
}

/// The sources whose read failed, with how: (name, state).
fn unread(pipeline: &Pipeline) -> Vec<(String, &'static str)> {
    pipeline
        .store
        .sources
        .values()
        .filter(|s| s.state != SourceState::Ok)
        .map(|s| (s.name.clone(), s.state.as_str()))
        .collect()
}

/// One service and its counts.
struct ServiceRow {
    cluster: String,
    name: String,
    status: String,
    desired: u32,
    running: u32,
    pending: u32,
    /// Tasks stackwatch saw that have not stopped.
    tasks: usize,
    /// Tasks the newest deployment saw fail.
    failed: u32,
    rollout: Option<String>,
}

/// Everything the snapshot shows, gathered once for the three formats.
struct Snapshot<'a> {
    now: DateTime<Utc>,
    outcome: Outcome,
    stacks: Vec<(String, String, Option<String>)>,
    /// (path, type, status, seconds in it)
    in_progress: Vec<(String, String, String, i64)>,
    services: Vec<ServiceRow>,
    /// (group, healthy, unhealthy, registered)
    target_groups: Vec<(String, usize, usize, usize)>,
    /// Open flags grouped by problem: each problem's root, then its symptoms.
    flags: Vec<&'a Flag>,
    /// Worst first.
    problems: Vec<ProblemSummary>,
    root_cause: Option<String>,
    /// Sources that could not be read: (name, state).
    unread: Vec<(String, &'static str)>,
}

fn gather(pipeline: &Pipeline, now: DateTime<Utc>) -> Snapshot<'_> {
    let store = &pipeline.store;
    let open = pipeline.detector.open_flags();
    let grouped = problems(&open, store);
    let root_cause = root_cause_line(&grouped, now);
    let flags: Vec<&Flag> = grouped.iter().flat_map(|p| p.flags()).collect();
    let problems = grouped.iter().map(|p| p.summary(now)).collect();
    Snapshot {
        now,
        outcome: outcome(pipeline),
        stacks: store
            .stacks
            .values()
            .map(|s| (s.path.clone(), s.status.clone(), s.reason.clone()))
            .collect(),
        in_progress: store
            .resources
            .values()
            .filter(|r| r.is_in_progress())
            .map(|r| {
                let since = r.started_at.unwrap_or(r.status_since);
                (
                    format!("{}/{}", r.key.stack, r.key.logical_id),
                    r.resource_type.clone(),
                    r.status.clone(),
                    (now - since).num_seconds().max(0),
                )
            })
            .collect(),
        services: store
            .services
            .values()
            .map(|s| ServiceRow {
                cluster: s.key.cluster.clone(),
                name: s.key.service.clone(),
                status: s.status.clone(),
                desired: s.desired,
                running: s.running,
                pending: s.pending,
                tasks: store
                    .live_tasks_of_service(&s.key.service)
                    .filter(|t| t.task.cluster == s.key.cluster)
                    .count(),
                failed: s.primary().map_or(0, |p| p.failed_tasks),
                rollout: s.primary().and_then(|p| p.rollout_state.clone()),
            })
            .collect(),
        target_groups: store
            .target_groups
            .iter()
            .map(|(arn, h)| {
                (
                    short_group(arn).to_string(),
                    h.healthy,
                    h.unhealthy,
                    h.registered,
                )
            })
            .collect(),
        flags,
        problems,
        root_cause,
        unread: unread(pipeline),
    }
}

/// `arn:…:targetgroup/NAME/ID` → `NAME`.
fn short_group(arn: &str) -> &str {
    arn.split(":targetgroup/")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .unwrap_or(arn)
}

fn clean(text: &str) -> String {
    sanitize::line(text).into_owned()
}

/// Renders the snapshot at `now` in `format`.
pub fn render(pipeline: &Pipeline, now: DateTime<Utc>, format: StatusFormat) -> String {
    let snap = gather(pipeline, now);
    match format {
        StatusFormat::Text => text(&snap),
        StatusFormat::Md => markdown(&snap),
        StatusFormat::Json => {
            let mut doc = json(&snap).to_string();
            doc.push('\n');
            doc
        }
    }
}

fn text(s: &Snapshot) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "stackwatch status at {}: {}",
        s.now.to_rfc3339_opts(SecondsFormat::Secs, true),
        s.outcome.as_str()
    );
    for (name, state) in &s.unread {
        let _ = writeln!(out, "  could not read {}: {state}", clean(name));
    }
    for (path, status, reason) in &s.stacks {
        let _ = write!(out, "  stack {}  {}", clean(path), clean(status));
        if let Some(reason) = reason.as_deref().filter(|r| !r.is_empty()) {
            let _ = write!(out, "  ({})", clean(reason));
        }
        out.push('\n');
    }
    if !s.in_progress.is_empty() {
        out.push_str("in progress:\n");
        for (path, rtype, status, secs) in &s.in_progress {
            let _ = writeln!(
                out,
                "  {}  {}  {} for {}",
                clean(path),
                clean(rtype),
                clean(status),
                fmt_duration(*secs)
            );
        }
    }
    // Services come sorted by cluster: a heading each time the cluster changes.
    let mut cluster = None;
    for row in &s.services {
        if cluster != Some(&row.cluster) {
            cluster = Some(&row.cluster);
            let count = s
                .services
                .iter()
                .filter(|r| r.cluster == row.cluster)
                .count();
            let _ = writeln!(
                out,
                "services of cluster {} ({count}):",
                clean(&row.cluster)
            );
        }
        let failed = if row.failed > 0 {
            format!(", {} failed", row.failed)
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "  {}  {}  running {}/{}, pending {}, {} task{}{failed}{}",
            clean(&row.name),
            clean(&row.status),
            row.running,
            row.desired,
            row.pending,
            row.tasks,
            if row.tasks == 1 { "" } else { "s" },
            row.rollout
                .as_deref()
                .map(|r| format!(", rollout {}", clean(r)))
                .unwrap_or_default()
        );
    }
    if !s.target_groups.is_empty() {
        out.push_str("target groups:\n");
        for (name, healthy, unhealthy, registered) in &s.target_groups {
            let _ = writeln!(
                out,
                "  {}  {healthy} healthy, {unhealthy} unhealthy of {registered}",
                clean(name)
            );
        }
    }
    if !s.problems.is_empty() {
        out.push_str("problems, worst first:\n");
        for p in &s.problems {
            let _ = writeln!(
                out,
                "  {:<5} {}  {}: {} ({})",
                p.severity.as_str().to_ascii_uppercase(),
                p.rule,
                clean(&p.resource),
                clean(&p.chain),
                crate::text::count_of(p.flags, "flag")
            );
        }
    }
    if s.flags.is_empty() {
        out.push_str("no open flags\n");
    } else {
        out.push_str("flags, by problem:\n");
        for f in &s.flags {
            let _ = writeln!(
                out,
                "  {:<5} {}  {}: {}\n        → {}",
                f.severity.as_str().to_ascii_uppercase(),
                f.rule,
                clean(&f.resource),
                clean(&f.summary_at(s.now)),
                clean(&f.next_step)
            );
        }
    }
    if let Some(root) = &s.root_cause {
        let _ = writeln!(out, "root cause: {}", clean(root));
    }
    out
}

fn markdown(s: &Snapshot) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "### stackwatch status: {} ({})\n",
        s.outcome.as_str(),
        s.now.to_rfc3339_opts(SecondsFormat::Secs, true)
    );
    for (name, state) in &s.unread {
        let _ = writeln!(out, "> Could not read **{}**: {state}.\n", cell(name));
    }
    if !s.stacks.is_empty() {
        out.push_str("| stack | status | reason |\n|---|---|---|\n");
        for (path, status, reason) in &s.stacks {
            let _ = writeln!(
                out,
                "| {} | {} | {} |",
                cell(path),
                cell(status),
                cell(reason.as_deref().unwrap_or(""))
            );
        }
        out.push('\n');
    }
    if !s.in_progress.is_empty() {
        out.push_str("| in progress | type | status | for |\n|---|---|---|---|\n");
        for (path, rtype, status, secs) in &s.in_progress {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} |",
                cell(path),
                cell(rtype),
                cell(status),
                fmt_duration(*secs)
            );
        }
        out.push('\n');
    }
    if !s.services.is_empty() {
        out.push_str(
            "| service | cluster | status | running | pending | tasks | failed | rollout |\n\
             |---|---|---|---|---|---|---|---|\n",
        );
        for row in &s.services {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {}/{} | {} | {} | {} | {} |",
                cell(&row.name),
                cell(&row.cluster),
                cell(&row.status),
                row.running,
                row.desired,
                row.pending,
                row.tasks,
                row.failed,
                cell(row.rollout.as_deref().unwrap_or(""))
            );
        }
        out.push('\n');
    }
    if !s.problems.is_empty() {
        crate::text::md_problems(&mut out, &s.problems, "chain");
        out.push('\n');
    }
    if s.flags.is_empty() {
        out.push_str("No open flags.\n");
    } else {
        out.push_str("| severity | rule | resource | what | next step |\n|---|---|---|---|---|\n");
        for f in &s.flags {
            let _ = writeln!(
                out,
                "| {} | `{}` | {} | {} | {} |",
                f.severity.as_str(),
                f.rule,
                cell(&f.resource),
                cell(&f.summary_at(s.now)),
                cell(&f.next_step)
            );
        }
    }
    if let Some(root) = &s.root_cause {
        let _ = writeln!(out, "\n**Root cause:** {}", cell(root));
    }
    out
}

fn json(s: &Snapshot) -> Value {
    json!({
        "at": s.now.to_rfc3339_opts(SecondsFormat::Secs, true),
        "outcome": s.outcome.as_str(),
        "exit_code": s.outcome.exit_code(),
        "stacks": s.stacks.iter().map(|(path, status, reason)| json!({
            "stack": clean(path),
            "status": clean(status),
            "reason": reason.as_deref().map(clean),
            "in_progress": cfn_status::is_in_progress(status),
        })).collect::<Vec<_>>(),
        "in_progress": s.in_progress.iter().map(|(path, rtype, status, secs)| json!({
            "resource": clean(path), "type": clean(rtype), "status": clean(status), "for_s": secs,
        })).collect::<Vec<_>>(),
        "services": s.services.iter().map(|row| json!({
            "service": clean(&row.name), "cluster": clean(&row.cluster), "status": clean(&row.status),
            "desired": row.desired, "running": row.running, "pending": row.pending,
            "tasks": row.tasks, "failed_tasks": row.failed,
            "rollout_state": row.rollout.as_deref().map(clean),
        })).collect::<Vec<_>>(),
        "target_groups": s.target_groups.iter().map(|(name, healthy, unhealthy, registered)| json!({
            "target_group": clean(name), "healthy": healthy, "unhealthy": unhealthy, "registered": registered,
        })).collect::<Vec<_>>(),
        "flags": s.flags.iter().map(|f| json!({
            "rule": f.rule,
            "severity": f.severity.as_str(),
            "resource": clean(&f.resource),
            "summary": clean(&f.summary_at(s.now)),
            "next_step": clean(&f.next_step),
            "count": f.count,
        })).collect::<Vec<_>>(),
        "problems": s.problems.iter().map(|p| json!({
            "rule": p.rule,
            "resource": clean(&p.resource),
            "severity": p.severity.as_str(),
            "chain": clean(&p.chain),
            "flags": p.flags,
        })).collect::<Vec<_>>(),
        "root_cause": s.root_cause.as_deref().map(clean),
        "unread": s.unread.iter().map(|(name, state)| json!({
            "source": clean(name), "state": state,
        })).collect::<Vec<_>>(),
    })
}
