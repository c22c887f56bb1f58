//! The report in Markdown that renders well on GitHub: headings, tables whose cells cannot be
//! broken by recorded text (every pipe, backtick and markup character escaped), excerpts in
//! fences longer than any backtick run inside them, and a compact text Gantt chart.

use std::fmt::Write as _;

use chrono::{DateTime, Utc};

use super::{Report, clock, short_td, when};
use crate::detect::fmt_duration;
use crate::sanitize;
use crate::text::md_cell as cell;

/// Width of the text Gantt chart's bars.
const GANTT_WIDTH: usize = 40;

pub fn render(r: &Report) -> String {
    let mut out = String::new();
    let title = r.title();
    let _ = writeln!(out, "# Deploy report: {}\n", cell(&title));
    summary(&mut out, r);
    tried(&mut out, r);
    flags(&mut out, r);
    resources(&mut out, r);
    gantt(&mut out, r);
    ecs(&mut out, r);
    targets(&mut out, r);
    timeline(&mut out, r);
    let _ = writeln!(
        out,
        "---\n*Written by stackwatch {} from a recording of {} observations.*",
        env!("CARGO_PKG_VERSION"),
        r.observations
    );
    out
}

fn summary(out: &mut String, r: &Report) {
    out.push_str("## Summary\n\n");
    let _ = writeln!(out, "- **Outcome:** {}", r.outcome.as_str());
    if let Some(root) = &r.root_cause {
        let _ = writeln!(out, "- **Root cause:** {}", cell(root));
    } else {
        out.push_str("- **Root cause:** no problem was flagged\n");
    }
    if let Some(lead) = &r.lead_time {
        let line = lead.sentence(|rule| format!("`{rule}`"));
        let _ = writeln!(out, "- **Lead time:** {line}");
    }
    let account = match (&r.account, &r.region) {
        (Some(a), Some(g)) => format!("{} in {}", cell(a), cell(g)),
        (Some(a), None) => cell(a),
        (None, Some(g)) => cell(g),
        (None, None) => "-".to_string(),
    };
    let _ = writeln!(out, "- **Account and region:** {account}");
    let _ = writeln!(out, "- **Start:** {}", when(r.start));
    let _ = writeln!(out, "- **End:** {}", when(r.end));
    if let Some(d) = r.duration() {
        let _ = writeln!(out, "- **Duration:** {}", fmt_duration(d.num_seconds()));
    }
    if !r.command.is_empty() {
        let _ = writeln!(
            out,
            "- **Recorded by:** `stackwatch {}`",
            sanitize::line(&r.command).replace('`', "'")
        );
    }
    if r.truncated {
        out.push_str("- The recording's last line was cut short and was skipped.\n");
    }
    if !r.problems.is_empty() {
        out.push('\n');
        crate::text::md_problems(out, &r.problems, "what follows from it");
    }
    out.push('\n');
}

fn tried(out: &mut String, r: &Report) {
    out.push_str("## What was tried\n\n");
    if r.operations.is_empty() && r.deployments.is_empty() && r.notes.is_empty() {
        out.push_str("No stack operation, ECS deployment or note was recorded.\n\n");
        return;
    }
    for op in &r.operations {
        let took = op
            .ended
            .map(|e| format!(", took {}", fmt_duration((e - op.started).num_seconds())))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "- {} stack {} {}: **{}**{took}",
            clock(op.started),
            cell(&op.stack),
            cell(&op.kind),
            cell(&op.status)
        );
    }
    for d in &r.deployments {
        let outcome = d.rollout.as_deref().unwrap_or("no rollout state");
        let why = d
            .reason
            .as_deref()
            .map(|w| format!(" ({})", cell(w)))
            .unwrap_or_default();
        let failed = if d.failed_tasks > 0 {
            format!(", {} failed tasks", d.failed_tasks)
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "- {} ECS service {} deployment of {}: **{}**{why}{failed}",
            clock(d.created),
            cell(&d.service),
            cell(short_td(&d.task_definition)),
            cell(outcome)
        );
    }
    for (at, note) in &r.notes {
        let _ = writeln!(out, "- {} note: {}", clock(*at), cell(note));
    }
    out.push('\n');
}

fn flags(out: &mut String, r: &Report) {
    out.push_str("## Flags, worst first\n\n");
    if r.flags.is_empty() {
        out.push_str("No flag was raised.\n\n");
        return;
    }
    for f in &r.flags {
        let flag = &f.flag;
        let state = match flag.resolved_at {
            Some(at) => format!("resolved at {}", clock(at)),
            None => "open at the end".to_string(),
        };
        let _ = writeln!(
            out,
            "### {} `{}` {}\n",
            flag.severity.as_str().to_ascii_uppercase(),
            flag.rule,
            cell(&flag.resource)
        );
        let _ = writeln!(out, "{}\n", cell(&flag.summary));
        let _ = writeln!(out, "- **Next step:** {}", cell(&flag.next_step));
        let _ = writeln!(
            out,
            "- **Seen:** {} – {}, {}; {state}",
            clock(flag.first_seen),
            clock(flag.last_seen),
            crate::text::times(flag.count)
        );
        if let Some((rule, resource)) = &f.problem
            && (*rule != flag.rule || *resource != flag.resource)
        {
            let _ = writeln!(
                out,
                "- **Part of the problem:** `{rule}` {}",
                cell(resource)
            );
        }
        if !flag.evidence.is_empty() {
            out.push_str("- **Evidence:**\n");
            for e in &flag.evidence {
                let _ = writeln!(
                    out,
                    "  - {} {} {}: {}",
                    clock(e.at),
                    e.source.as_str(),
                    cell(&e.resource),
                    cell(&e.counted_text())
                );
            }
        }
        if !f.excerpt.is_empty() {
            out.push_str("\nLog lines up to when it was flagged:\n\n");
            let lines: Vec<String> = f
                .excerpt
                .iter()
                .map(|(text, n)| {
                    let text = sanitize::line(text);
                    if *n > 1 {
                        format!("{text}  (×{n})")
                    } else {
                        text.into_owned()
                    }
                })
                .collect();
            fenced(out, &lines);
        }
        out.push('\n');
    }
}

/// A code block whose fence is longer than any backtick run in its lines.
fn fenced(out: &mut String, lines: &[String]) {
    let longest = lines
        .iter()
        .map(|l| l.split(|c| c != '`').map(str::len).max().unwrap_or(0))
        .max()
        .unwrap_or(0);
    let fence = "`".repeat(longest.max(2) + 1);
    let _ = writeln!(out, "{fence}text");
    for l in lines {
        let _ = writeln!(out, "{l}");
    }
    let _ = writeln!(out, "{fence}");
}

fn resources(out: &mut String, r: &Report) {
    out.push_str("## Resources\n\n");
    let rows = r.resources_in_order();
    if rows.is_empty() {
        out.push_str("No CloudFormation resource was recorded.\n\n");
        return;
    }
    out.push_str("| resource | type | status | took | reason |\n|---|---|---|---|---|\n");
    for row in rows {
        let indent = "&nbsp;&nbsp;".repeat(row.depth);
        let _ = writeln!(
            out,
            "| {indent}{} | {} | {} | {} | {} |",
            cell(&row.logical_id),
            cell(row.resource_type.trim_start_matches("AWS::")),
            cell(&row.status_text()),
            row.took(r.end),
            cell(row.reason.as_deref().unwrap_or(""))
        );
    }
    out.push('\n');
}

fn gantt(out: &mut String, r: &Report) {
    let (Some(start), Some(end)) = (r.start, r.end) else {
        return;
    };
    let rows = r.gantt_rows();
    if rows.is_empty() {
        return;
    }
    let span = (end - start).num_seconds().max(1) as f64;
    let col = |t: DateTime<Utc>| -> usize {
        let x = (t - start).num_seconds().max(0) as f64 / span * GANTT_WIDTH as f64;
        (x as usize).min(GANTT_WIDTH - 1)
    };
    let width = rows
        .iter()
        .map(|row| row.logical_id.chars().count() + 2 * row.depth)
        .max()
        .unwrap_or(0)
        .min(40);
    let mut lines = Vec::new();
    for row in rows {
        let Some(s) = row.started else { continue };
        let from = col(s);
        let to = col(row.finished.unwrap_or(end)).max(from);
        let fill = if row.failed() {
            '!'
        } else if row.finished.is_none() {
            '>'
        } else {
            '='
        };
        let bar: String = (0..GANTT_WIDTH)
            .map(|i| if i >= from && i <= to { fill } else { '·' })
            .collect();
        let name = format!(
            "{}{}",
            "  ".repeat(row.depth),
            sanitize::line(&row.logical_id)
        );
        let name = crate::text::fit(&name, width);
        lines.push(format!("{name:<width$} |{bar}| {}", row.took(Some(end))));
    }
    let _ = writeln!(
        out,
        "## Gantt\n\n{} to {} ({}); `=` done, `>` still in progress, `!` failed.\n",
        clock(start),
        clock(end),
        fmt_duration((end - start).num_seconds())
    );
    fenced(out, &lines);
    out.push('\n');
}

fn ecs(out: &mut String, r: &Report) {
    if r.deployments.is_empty() && r.stop_reasons.is_empty() {
        return;
    }
    out.push_str("## ECS\n\n");
    if !r.deployments.is_empty() {
        out.push_str("| started | service | deployment | task definition | rollout | failed tasks |\n|---|---|---|---|---|---|\n");
        for d in &r.deployments {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} |",
                clock(d.created),
                cell(&d.service),
                cell(&d.id),
                cell(short_td(&d.task_definition)),
                cell(d.rollout.as_deref().unwrap_or("-")),
                d.failed_tasks
            );
        }
        out.push('\n');
    }
    if !r.stop_reasons.is_empty() {
        out.push_str("Stopped tasks by reason:\n\n| tasks | service | exit codes | first – last | reason |\n|---|---|---|---|---|\n");
        for s in &r.stop_reasons {
            let codes: Vec<String> = s.exit_codes.iter().map(i32::to_string).collect();
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} – {} | {} |",
                s.tasks,
                cell(&s.service),
                if codes.is_empty() {
                    "-".to_string()
                } else {
                    codes.join(", ")
                },
                clock(s.first),
                clock(s.last),
                cell(&s.reason)
            );
        }
        out.push('\n');
    }
}

fn targets(out: &mut String, r: &Report) {
    if r.target_changes.is_empty() {
        return;
    }
    out.push_str("## Target health\n\n| at | target group | target | change | reason |\n|---|---|---|---|---|\n");
    for t in &r.target_changes {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} → {} | {} |",
            clock(t.at),
            cell(&t.target_group),
            cell(&t.target),
            cell(t.from.as_deref().unwrap_or("new")),
            cell(&t.to),
            cell(t.reason.as_deref().unwrap_or(""))
        );
    }
    out.push('\n');
}

fn timeline(out: &mut String, r: &Report) {
    if r.timeline.is_empty() {
        return;
    }
    out.push_str(
        "## Timeline (condensed)\n\n| at | source | resource | what |\n|---|---|---|---|\n",
    );
    let half = r.timeline.len() / 2;
    for (i, m) in r.timeline.iter().enumerate() {
        if r.timeline_omitted > 0 && i == half {
            let _ = writeln!(out, "| … | | | {} rows left out |", r.timeline_omitted);
        }
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} |",
            clock(m.at),
            m.source.as_str(),
            cell(&m.resource),
            cell(&m.message)
        );
    }
    out.push('\n');
}
