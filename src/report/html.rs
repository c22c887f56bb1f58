//! The report as one self-contained HTML file: no script, no external asset, an inline SVG
//! Gantt chart, readable in light and dark (`prefers-color-scheme`), and print styles. Every
//! recorded text goes through [`esc`]: a log line `<script>` shows as text.

use std::fmt::Write as _;

use chrono::{DateTime, Utc};

use super::{Report, clock, short_td, when};
use crate::detect::fmt_duration;
use crate::model::Severity;
use crate::text::html_escape as esc;

const STYLE: &str = r#"
:root { color-scheme: light dark; --bg: #ffffff; --fg: #1f2328; --muted: #59636e; --line: #d1d9e0;
  --error: #cf222e; --warn: #9a6700; --ok: #1a7f37; --bar: #0969da; --panel: #f6f8fa; }
@media (prefers-color-scheme: dark) {
  :root { --bg: #0d1117; --fg: #e6edf3; --muted: #9198a1; --line: #3d444d; --error: #ff7b72;
    --warn: #d29922; --ok: #3fb950; --bar: #4493f8; --panel: #151b23; } }
body { background: var(--bg); color: var(--fg); font: 15px/1.5 system-ui, sans-serif; margin: 2rem auto;
  max-width: 72rem; padding: 0 1rem; }
h1 { font-size: 1.6rem; } h2 { border-bottom: 1px solid var(--line); padding-bottom: .2rem; margin-top: 2rem; }
h3 { font-size: 1rem; margin-bottom: .2rem; }
table { border-collapse: collapse; width: 100%; margin: .5rem 0 1rem; font-size: .9rem; }
th, td { border: 1px solid var(--line); padding: .25rem .5rem; text-align: left; vertical-align: top; }
th { background: var(--panel); }
code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: .85rem; }
pre { background: var(--panel); border: 1px solid var(--line); padding: .5rem; overflow-x: auto; white-space: pre-wrap; }
.muted { color: var(--muted); } .error, .fatal { color: var(--error); font-weight: 600; } .warn { color: var(--warn); font-weight: 600; }
.info { color: var(--muted); } .ok { color: var(--ok); font-weight: 600; }
.summary { background: var(--panel); border: 1px solid var(--line); padding: .5rem 1rem; border-radius: 6px; }
.flag { border-left: 4px solid var(--line); padding-left: .75rem; margin: 1rem 0; }
.flag.error, .flag.fatal { border-color: var(--error); font-weight: normal; color: inherit; }
.flag.warn { border-color: var(--warn); font-weight: normal; color: inherit; }
svg text { fill: var(--fg); font: 11px ui-monospace, monospace; } svg .grid { stroke: var(--line); }
svg .bar { fill: var(--bar); } svg .bar.failed { fill: var(--error); } svg .bar.open { fill: var(--warn); }
@media print { body { margin: 0; max-width: none; font-size: 11px; } .flag, table, svg { break-inside: avoid; }
  pre { white-space: pre-wrap; } a { color: inherit; } }
"#;

pub fn render(r: &Report) -> String {
    let mut out = String::new();
    let title = r.title();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>Deploy report: {t}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<h1>Deploy report: {t}</h1>\n",
        t = esc(&title)
    );
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
        "<p class=\"muted\">Written by stackwatch {} from a recording of {} observations.</p>\n</body>\n</html>",
        env!("CARGO_PKG_VERSION"),
        r.observations
    );
    out
}

fn level(s: Severity) -> &'static str {
    s.as_str()
}

fn summary(out: &mut String, r: &Report) {
    out.push_str("<div class=\"summary\">\n<ul>\n");
    let outcome_class = match r.outcome {
        crate::headless::Outcome::Complete => "ok",
        crate::headless::Outcome::Failed => "error",
        crate::headless::Outcome::Stuck => "warn",
    };
    let _ = writeln!(
        out,
        "<li><b>Outcome:</b> <span class=\"{outcome_class}\">{}</span></li>",
        r.outcome.as_str()
    );
    match &r.root_cause {
        Some(root) => {
            let _ = writeln!(out, "<li><b>Root cause:</b> {}</li>", esc(root));
        }
        None => out.push_str("<li><b>Root cause:</b> no problem was flagged</li>\n"),
    }
    if let Some(lead) = &r.lead_time {
        let line = lead.sentence(|rule| format!("<code>{rule}</code>"));
        let _ = writeln!(out, "<li><b>Lead time:</b> {line}</li>");
    }
    let account = [r.account.as_deref(), r.region.as_deref()]
        .into_iter()
        .flatten()
        .map(esc)
        .collect::<Vec<_>>()
        .join(" in ");
    let _ = writeln!(
        out,
        "<li><b>Account and region:</b> {}</li>\n<li><b>Start:</b> {}</li>\n<li><b>End:</b> {}</li>",
        if account.is_empty() {
            "-".into()
        } else {
            account
        },
        when(r.start),
        when(r.end)
    );
    if let Some(d) = r.duration() {
        let _ = writeln!(
            out,
            "<li><b>Duration:</b> {}</li>",
            fmt_duration(d.num_seconds())
        );
    }
    if !r.command.is_empty() {
        let _ = writeln!(
            out,
            "<li><b>Recorded by:</b> <code>stackwatch {}</code></li>",
            esc(&r.command)
        );
    }
    if r.truncated {
        out.push_str("<li>The recording's last line was cut short and was skipped.</li>\n");
    }
    out.push_str("</ul>\n");
    if !r.problems.is_empty() {
        out.push_str("<table><tr><th>problem</th><th>root</th><th>what follows from it</th><th>flags</th></tr>\n");
        for p in &r.problems {
            let _ = writeln!(
                out,
                "<tr><td class=\"{}\">{}</td><td><code>{}</code> {}</td><td>{}</td><td>{}</td></tr>",
                level(p.severity),
                p.severity.as_str(),
                p.rule,
                esc(&p.resource),
                esc(&p.chain),
                p.flags
            );
        }
        out.push_str("</table>\n");
    }
    out.push_str("</div>\n");
}

fn tried(out: &mut String, r: &Report) {
    out.push_str("<h2>What was tried</h2>\n");
    if r.operations.is_empty() && r.deployments.is_empty() && r.notes.is_empty() {
        out.push_str("<p>No stack operation, ECS deployment or note was recorded.</p>\n");
        return;
    }
    out.push_str("<ul>\n");
    for op in &r.operations {
        let took = op
            .ended
            .map(|e| format!(", took {}", fmt_duration((e - op.started).num_seconds())))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "<li>{} stack {} {}: <b>{}</b>{took}</li>",
            clock(op.started),
            esc(&op.stack),
            esc(&op.kind),
            esc(&op.status)
        );
    }
    for d in &r.deployments {
        let why = d
            .reason
            .as_deref()
            .map(|w| format!(" ({})", esc(w)))
            .unwrap_or_default();
        let failed = if d.failed_tasks > 0 {
            format!(", {} failed tasks", d.failed_tasks)
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "<li>{} ECS service {} deployment of {}: <b>{}</b>{why}{failed}</li>",
            clock(d.created),
            esc(&d.service),
            esc(short_td(&d.task_definition)),
            esc(d.rollout.as_deref().unwrap_or("no rollout state"))
        );
    }
    for (at, note) in &r.notes {
        let _ = writeln!(out, "<li>{} note: {}</li>", clock(*at), esc(note));
    }
    out.push_str("</ul>\n");
}

fn flags(out: &mut String, r: &Report) {
    out.push_str("<h2>Flags, worst first</h2>\n");
    if r.flags.is_empty() {
        out.push_str("<p>No flag was raised.</p>\n");
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
            "<div class=\"flag {l}\">\n<h3><span class=\"{l}\">{}</span> <code>{}</code> {}</h3>\n<p>{}</p>\n<ul>\n<li><b>Next step:</b> {}</li>\n<li><b>Seen:</b> {} – {}, {}; {state}</li>",
            flag.severity.as_str().to_ascii_uppercase(),
            flag.rule,
            esc(&flag.resource),
            esc(&flag.summary),
            esc(&flag.next_step),
            clock(flag.first_seen),
            clock(flag.last_seen),
            crate::text::times(flag.count),
            l = level(flag.severity),
        );
        if let Some((rule, resource)) = &f.problem
            && (*rule != flag.rule || *resource != flag.resource)
        {
            let _ = writeln!(
                out,
                "<li><b>Part of the problem:</b> <code>{rule}</code> {}</li>",
                esc(resource)
            );
        }
        out.push_str("</ul>\n");
        if !flag.evidence.is_empty() {
            out.push_str(
                "<table><tr><th>at</th><th>source</th><th>from</th><th>evidence</th></tr>\n",
            );
            for e in &flag.evidence {
                let _ = writeln!(
                    out,
                    "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                    clock(e.at),
                    e.source.as_str(),
                    esc(&e.resource),
                    esc(&e.counted_text())
                );
            }
            out.push_str("</table>\n");
        }
        if !f.excerpt.is_empty() {
            out.push_str("<p class=\"muted\">Log lines up to when it was flagged:</p>\n<pre>");
            for (text, n) in &f.excerpt {
                if *n > 1 {
                    let _ = writeln!(out, "{}  (×{n})", esc(text));
                } else {
                    let _ = writeln!(out, "{}", esc(text));
                }
            }
            out.push_str("</pre>\n");
        }
        out.push_str("</div>\n");
    }
}

fn resources(out: &mut String, r: &Report) {
    out.push_str("<h2>Resources</h2>\n");
    let rows = r.resources_in_order();
    if rows.is_empty() {
        out.push_str("<p>No CloudFormation resource was recorded.</p>\n");
        return;
    }
    out.push_str("<table><tr><th>resource</th><th>type</th><th>status</th><th>took</th><th>reason</th></tr>\n");
    for row in rows {
        let class = if row.failed() { "error" } else { "" };
        let _ = writeln!(
            out,
            "<tr><td style=\"padding-left:{}rem\">{}</td><td>{}</td><td class=\"{class}\">{}</td><td>{}</td><td>{}</td></tr>",
            0.5 + 1.25 * row.depth as f32,
            esc(&row.logical_id),
            esc(row.resource_type.trim_start_matches("AWS::")),
            esc(&row.status_text()),
            row.took(r.end),
            esc(row.reason.as_deref().unwrap_or(""))
        );
    }
    out.push_str("</table>\n");
}

/// The Gantt chart: one bar per resource from its start to its end (or the end of the
/// recording), failed bars red, unfinished ones amber.
fn gantt(out: &mut String, r: &Report) {
    let (Some(start), Some(end)) = (r.start, r.end) else {
        return;
    };
    let rows = r.gantt_rows();
    if rows.is_empty() {
        return;
    }
    let (label_w, chart_w, row_h) = (260.0_f64, 640.0_f64, 18.0_f64);
    let span = (end - start).num_seconds().max(1) as f64;
    let x = |t: DateTime<Utc>| label_w + (t - start).num_seconds().max(0) as f64 / span * chart_w;
    let height = row_h * rows.len() as f64 + 24.0;
    let _ = writeln!(
        out,
        "<h2>Gantt</h2>\n<svg id=\"gantt\" role=\"img\" aria-label=\"resource durations\" viewBox=\"0 0 {w} {height}\" width=\"100%\" xmlns=\"http://www.w3.org/2000/svg\">",
        w = label_w + chart_w + 70.0
    );
    for i in 0..=4 {
        let gx = label_w + chart_w * f64::from(i) / 4.0;
        let t = start + chrono::TimeDelta::seconds((span * f64::from(i) / 4.0) as i64);
        let _ = writeln!(
            out,
            "<line class=\"grid\" x1=\"{gx:.1}\" y1=\"0\" x2=\"{gx:.1}\" y2=\"{:.1}\"/><text x=\"{gx:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
            height - 14.0,
            height - 2.0,
            clock(t)
        );
    }
    for (i, row) in rows.iter().enumerate() {
        let Some(s) = row.started else { continue };
        let y = row_h * i as f64;
        let x0 = x(s);
        let x1 = x(row.finished.unwrap_or(end)).max(x0 + 2.0);
        let class = if row.failed() {
            "bar failed"
        } else if row.finished.is_none() {
            "bar open"
        } else {
            "bar"
        };
        let name = format!("{}{}", "\u{a0}\u{a0}".repeat(row.depth), row.logical_id);
        let _ = writeln!(
            out,
            "<text x=\"4\" y=\"{:.1}\">{}</text><rect class=\"{class}\" x=\"{x0:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" rx=\"2\"><title>{} {}: {}</title></rect><text x=\"{:.1}\" y=\"{:.1}\">{}</text>",
            y + 13.0,
            esc(&crate::text::fit(&name, 36)),
            y + 3.0,
            x1 - x0,
            row_h - 6.0,
            esc(&row.logical_id),
            esc(&row.status_text()),
            row.took(Some(end)),
            x1 + 4.0,
            y + 13.0,
            row.took(Some(end))
        );
    }
    out.push_str("</svg>\n");
}

fn ecs(out: &mut String, r: &Report) {
    if r.deployments.is_empty() && r.stop_reasons.is_empty() {
        return;
    }
    out.push_str("<h2>ECS</h2>\n");
    if !r.deployments.is_empty() {
        out.push_str("<table><tr><th>started</th><th>service</th><th>deployment</th><th>task definition</th><th>rollout</th><th>failed tasks</th></tr>\n");
        for d in &r.deployments {
            let _ = writeln!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                clock(d.created),
                esc(&d.service),
                esc(&d.id),
                esc(short_td(&d.task_definition)),
                esc(d.rollout.as_deref().unwrap_or("-")),
                d.failed_tasks
            );
        }
        out.push_str("</table>\n");
    }
    if !r.stop_reasons.is_empty() {
        out.push_str("<p>Stopped tasks by reason:</p>\n<table><tr><th>tasks</th><th>service</th><th>exit codes</th><th>first – last</th><th>reason</th></tr>\n");
        for s in &r.stop_reasons {
            let codes: Vec<String> = s.exit_codes.iter().map(i32::to_string).collect();
            let _ = writeln!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{} – {}</td><td>{}</td></tr>",
                s.tasks,
                esc(&s.service),
                if codes.is_empty() {
                    "-".to_string()
                } else {
                    codes.join(", ")
                },
                clock(s.first),
                clock(s.last),
                esc(&s.reason)
            );
        }
        out.push_str("</table>\n");
    }
}

fn targets(out: &mut String, r: &Report) {
    if r.target_changes.is_empty() {
        return;
    }
    out.push_str("<h2>Target health</h2>\n<table><tr><th>at</th><th>target group</th><th>target</th><th>change</th><th>reason</th></tr>\n");
    for t in &r.target_changes {
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{} → {}</td><td>{}</td></tr>",
            clock(t.at),
            esc(&t.target_group),
            esc(&t.target),
            esc(t.from.as_deref().unwrap_or("new")),
            esc(&t.to),
            esc(t.reason.as_deref().unwrap_or(""))
        );
    }
    out.push_str("</table>\n");
}

fn timeline(out: &mut String, r: &Report) {
    if r.timeline.is_empty() {
        return;
    }
    out.push_str("<h2>Timeline (condensed)</h2>\n<table><tr><th>at</th><th>source</th><th>resource</th><th>what</th></tr>\n");
    let half = r.timeline.len() / 2;
    for (i, m) in r.timeline.iter().enumerate() {
        if r.timeline_omitted > 0 && i == half {
            let _ = writeln!(
                out,
                "<tr><td>…</td><td></td><td></td><td class=\"muted\">{} rows left out</td></tr>",
                r.timeline_omitted
            );
        }
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"{}\">{}</td></tr>",
            clock(m.at),
            m.source.as_str(),
            esc(&m.resource),
            level(m.level),
            esc(&m.message)
        );
    }
    out.push_str("</table>\n");
}
