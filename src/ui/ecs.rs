//! ECS: per service its counts, its deployments (rollout state, failed tasks), its live tasks,
//! and its stopped tasks grouped by stopped reason with a count and the exit codes seen.
//! Services are grouped under their cluster when there are several. A service rolling out
//! quietly on one deployment takes one row, so 20-odd services stay readable.

use std::collections::BTreeSet;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use super::{
    Pane, View, clean, clock, duration, filter_keeps, fit, headings, keep_with_headings,
    render_grouped, short_id,
};
// `task_id_of` also gives `family:rev` from a task definition ARN: its last segment.
use crate::model::{EcsDeployment, ServiceState, TaskState, task_id_of};

/// Stopped tasks that share a stopped reason.
pub struct StoppedGroup<'a> {
    pub reason: &'a str,
    /// How many stopped with it.
    pub count: usize,
    /// The newest of them, newest first (the details list this many).
    pub tasks: Vec<&'a TaskState>,
    pub exit_codes: BTreeSet<i32>,
    /// Some of them stopped unexpectedly (not a deploy or a scale-in).
    pub unexpected: bool,
}

/// Stopped tasks a group's details name: the newest and 20 others.
const NEWEST_STOPPED: usize = 21;

pub enum Row<'a> {
    /// A heading when the services span more than one cluster.
    Cluster {
        name: &'a str,
        services: usize,
    },
    Service(&'a ServiceState),
    Deployment(&'a EcsDeployment),
    Task(&'a TaskState),
    Stopped(StoppedGroup<'a>),
}

/// A task's id, short enough for a row (cleaned).
fn task_name(t: &TaskState) -> String {
    short_id(&t.task.task_arn, 12)
}

/// Whether the service's deployments need rows of their own: a rolling update (more than one),
/// or one that is failing. Otherwise the one deployment's rollout state is on the service row.
fn shows_deployments(svc: &ServiceState) -> bool {
    svc.deployments.len() > 1
        || svc
            .deployments
            .iter()
            .any(|d| d.failed_tasks > 0 || d.rollout_state.as_deref() == Some("FAILED"))
}

fn service_rows<'a>(view: &View<'a>, svc: &'a ServiceState, out: &mut Vec<Row<'a>>) {
    out.push(Row::Service(svc));
    if shows_deployments(svc) {
        out.extend(svc.deployments.iter().map(Row::Deployment));
    }
    // The same service name can exist in two clusters.
    let mut live: Vec<&TaskState> = view
        .store
        .live_tasks_of_service(&svc.key.service)
        .filter(|t| t.task.cluster == svc.key.cluster)
        .collect();
    // Tasks come from a hash map: sort so frames are stable.
    live.sort_by(|a, b| {
        (a.task.started_at, a.first_seen, &a.task.task_arn).cmp(&(
            b.task.started_at,
            b.first_seen,
            &b.task.task_arn,
        ))
    });
    out.extend(live.into_iter().map(Row::Task));
    // Stopped tasks come grouped from the store's index, whatever the size of the ring.
    let mut groups: Vec<StoppedGroup> = view
        .store
        .stopped_groups
        .of(&svc.key.cluster, &svc.key.service)
        .map(|(reason, g)| StoppedGroup {
            reason,
            count: g.len(),
            tasks: g
                .newest()
                .filter_map(|arn| view.store.tasks.get(arn))
                .take(NEWEST_STOPPED)
                .collect(),
            exit_codes: g.exit_codes().collect(),
            unexpected: g.any_unexpected(),
        })
        .collect();
    groups.sort_by(|a, b| b.count.cmp(&a.count).then(a.reason.cmp(b.reason)));
    out.extend(groups.into_iter().map(Row::Stopped));
}

fn row_text(row: &Row) -> Vec<String> {
    match row {
        Row::Cluster { name, .. } => vec![name.to_string()],
        Row::Service(s) => vec![s.key.service.clone(), s.status.clone()],
        Row::Deployment(d) => vec![
            d.status.clone(),
            d.rollout_state.clone().unwrap_or_default(),
            d.rollout_state_reason.clone().unwrap_or_default(),
        ],
        Row::Task(t) => vec![t.task.task_arn.clone(), t.task.last_status.clone()],
        Row::Stopped(g) => vec![g.reason.to_string()],
    }
}

fn is_fault(row: &Row) -> bool {
    match row {
        Row::Cluster { .. } => false,
        Row::Service(s) => s.running < s.desired,
        Row::Deployment(d) => d.failed_tasks > 0 || d.rollout_state.as_deref() == Some("FAILED"),
        Row::Task(_) => false,
        Row::Stopped(g) => g.unexpected,
    }
}

pub fn rows<'a>(view: &View<'a>) -> Vec<Row<'a>> {
    let services = &view.store.services;
    // Services are sorted by cluster, then name: a heading where the cluster changes.
    let first = services.keys().next().map(|k| &k.cluster);
    let several = services.keys().any(|k| Some(&k.cluster) != first);
    let mut out = Vec::new();
    let mut cluster: Option<&str> = None;
    for svc in services.values() {
        if several && cluster != Some(svc.key.cluster.as_str()) {
            let name = svc.key.cluster.as_str();
            cluster = Some(name);
            let count = services.keys().filter(|k| k.cluster == name).count();
            out.push(Row::Cluster {
                name,
                services: count,
            });
        }
        service_rows(view, svc, &mut out);
    }
    if view.ui.filter.is_none() && !view.ui.faults_only {
        return out;
    }
    // Clusters and services stay as headings of what passes beneath them.
    let level = |row: &Row| match row {
        Row::Cluster { .. } => Some(0),
        Row::Service(_) => Some(1),
        _ => None,
    };
    keep_with_headings(out, level, |row| {
        (!view.ui.faults_only || is_fault(row)) && {
            let text = row_text(row);
            let refs: Vec<&str> = text.iter().map(String::as_str).collect();
            filter_keeps(view, &refs)
        }
    })
}

/// The width of the service name column: the longest name, within bounds.
fn name_width(view: &View) -> usize {
    view.store
        .services
        .keys()
        .map(|k| k.service.chars().count())
        .max()
        .unwrap_or(0)
        .clamp(8, 32)
}

fn row_line<'a>(view: &View, row: &Row, names: usize) -> Line<'a> {
    let theme = view.theme;
    match row {
        Row::Cluster { name, services } => Line::from(vec![
            Span::styled(format!("cluster {} ", clean(name)), theme.accent()),
            Span::styled(
                format!(
                    "{services} service{}",
                    if *services == 1 { "" } else { "s" }
                ),
                theme.muted(),
            ),
        ]),
        Row::Service(s) => {
            let counts_style = if s.running < s.desired {
                theme.warn()
            } else {
                theme.ok()
            };
            let mut spans = vec![
                Span::styled(
                    format!("{} ", fit(&clean(&s.key.service), names)),
                    theme.title(),
                ),
                Span::styled(fit(&clean(&s.status), 9), theme.status(&s.status)),
                Span::styled(
                    format!(
                        "desired {} running {} pending {}",
                        s.desired, s.running, s.pending
                    ),
                    counts_style,
                ),
            ];
            // A lone deployment's rollout, folded into this row.
            if !shows_deployments(s)
                && let Some(state) = s.primary().and_then(|p| p.rollout_state.as_deref())
            {
                spans.push(Span::raw("  "));
                spans.push(Span::styled(clean(state).into_owned(), theme.status(state)));
            }
            spans.push(Span::styled(
                format!(
                    "  {}",
                    clean(task_id_of(s.task_definition.as_deref().unwrap_or("")))
                ),
                theme.muted(),
            ));
            Line::from(spans)
        }
        Row::Deployment(d) => {
            let state = d.rollout_state.as_deref().unwrap_or("-");
            let failed_style = if d.failed_tasks > 0 {
                theme.error()
            } else {
                theme.muted()
            };
            Line::from(vec![
                Span::styled(format!("  {} ", fit(&clean(&d.status), 8)), theme.muted()),
                Span::styled(fit(&clean(state), 12), theme.status(state)),
                Span::styled(
                    format!(" run {}/{} pend {} ", d.running, d.desired, d.pending),
                    theme.text(),
                ),
                Span::styled(format!("failed {} ", d.failed_tasks), failed_style),
                Span::styled(
                    clean(task_id_of(&d.task_definition)).into_owned(),
                    theme.muted(),
                ),
            ])
        }
        Row::Task(t) => {
            let up = t
                .task
                .started_at
                .map(|s| format!(" up {}", duration(view.now - s)))
                .unwrap_or_default();
            Line::from(vec![
                Span::styled("  ▶ ", theme.ok()),
                Span::styled(format!("{} ", task_name(t)), theme.text()),
                Span::styled(
                    fit(&clean(&t.task.last_status), 12),
                    theme.status(&t.task.last_status),
                ),
                Span::styled(up, theme.muted()),
            ])
        }
        Row::Stopped(g) => {
            let style = if is_fault(row) {
                theme.error()
            } else {
                theme.muted()
            };
            let codes = if g.exit_codes.is_empty() {
                String::new()
            } else {
                let list: Vec<String> = g.exit_codes.iter().map(i32::to_string).collect();
                format!(" exit {}", list.join(","))
            };
            let reason = if g.reason.is_empty() {
                "(no reason)".to_string()
            } else {
                clean(g.reason).into_owned()
            };
            Line::from(vec![
                Span::styled(format!("  ✖ {}× stopped", g.count), style),
                Span::styled(codes, theme.warn()),
                Span::styled(format!("  {reason}"), style),
            ])
        }
    }
}

pub fn render(frame: &mut Frame, area: Rect, view: &View) {
    let rows = rows(view);
    let services = view.store.services.len();
    let mut title = format!("{services} service{}", if services == 1 { "" } else { "s" });
    // With many services, how many are short of their desired count is the first question.
    let short = view
        .store
        .services
        .values()
        .filter(|s| s.running < s.desired)
        .count();
    if services > 1 && short > 0 {
        title.push_str(&format!(" · {short} below desired"));
    }
    let names = name_width(view);
    let heads = headings(&rows, |r| {
        matches!(r, Row::Service(_) | Row::Cluster { .. })
    });
    render_grouped(
        frame,
        area,
        view,
        Pane::Ecs,
        rows.len(),
        title,
        |i| row_line(view, &rows[i], names),
        |i| heads.get(i).copied().flatten(),
    );
}

fn task_details<'a>(view: &View, t: &TaskState, lines: &mut Vec<Line<'a>>) {
    let theme = view.theme;
    let task = &t.task;
    lines.push(Line::from(Span::styled(
        format!("task {}", clean(task.task_id())),
        theme.title(),
    )));
    lines.push(Line::from(format!("arn:        {}", clean(&task.task_arn))));
    lines.push(Line::from(format!(
        "definition: {}",
        clean(task_id_of(&task.task_definition))
    )));
    lines.push(Line::from(vec![
        Span::raw("status:     "),
        Span::styled(
            clean(&task.last_status).into_owned(),
            theme.status(&task.last_status),
        ),
        Span::raw(format!(" (desired {})", clean(&task.desired_status))),
    ]));
    for (label, at) in [
        ("created:    ", task.created_at),
        ("started:    ", task.started_at),
        ("stopped:    ", task.stopped_at),
    ] {
        if let Some(at) = at {
            lines.push(Line::from(format!("{label}{}", clock(at))));
        }
    }
    if let Some(code) = &task.stop_code {
        lines.push(Line::from(format!("stop code:  {}", clean(code))));
    }
    if let Some(reason) = &task.stopped_reason {
        lines.push(Line::from(vec![
            Span::raw("reason:     "),
            Span::styled(clean(reason).into_owned(), theme.error()),
        ]));
    }
    for c in &task.containers {
        let exit = c
            .exit_code
            .map(|e| format!(" exit {e}"))
            .unwrap_or_default();
        let reason = c
            .reason
            .as_deref()
            .map(|r| format!(": {}", clean(r)))
            .unwrap_or_default();
        lines.push(Line::from(format!(
            "  container {} {}{exit}{reason}",
            clean(&c.name),
            clean(&c.last_status)
        )));
    }
}

pub fn details<'a>(view: &View, row: &Row) -> Vec<Line<'a>> {
    let theme = view.theme;
    let mut lines = Vec::new();
    match row {
        Row::Cluster { name, services } => {
            lines.push(Line::from(Span::styled(
                format!("cluster {}", clean(name)),
                theme.title(),
            )));
            lines.push(Line::from(format!("{services} services watched")));
        }
        Row::Service(s) => {
            lines.push(Line::from(Span::styled(
                format!(
                    "service {} ({})",
                    clean(&s.key.service),
                    clean(&s.key.cluster)
                ),
                theme.title(),
            )));
            lines.push(Line::from(format!(
                "status {}  desired {} running {} pending {}",
                clean(&s.status),
                s.desired,
                s.running,
                s.pending
            )));
            lines.push(Line::from(""));
            lines.push(Line::from(Span::styled(
                "Recent events (newest last)",
                theme.title(),
            )));
            let skip = s.events.len().saturating_sub(20);
            for e in s.events.iter().skip(skip) {
                lines.push(Line::from(vec![
                    Span::styled(format!("{} ", clock(e.created_at)), theme.muted()),
                    Span::raw(clean(&e.message).into_owned()),
                ]));
            }
        }
        Row::Deployment(d) => {
            lines.push(Line::from(Span::styled(
                format!("deployment {}", clean(&d.id)),
                theme.title(),
            )));
            lines.push(Line::from(format!("status:     {}", clean(&d.status))));
            lines.push(Line::from(format!(
                "rollout:    {}",
                clean(d.rollout_state.as_deref().unwrap_or("-"))
            )));
            lines.push(Line::from(format!(
                "reason:     {}",
                clean(d.rollout_state_reason.as_deref().unwrap_or("-"))
            )));
            lines.push(Line::from(format!(
                "tasks:      desired {} running {} pending {} failed {}",
                d.desired, d.running, d.pending, d.failed_tasks
            )));
            lines.push(Line::from(format!(
                "definition: {}",
                clean(&d.task_definition)
            )));
            lines.push(Line::from(format!("created:    {}", clock(d.created_at))));
        }
        Row::Task(t) => task_details(view, t, &mut lines),
        Row::Stopped(g) => {
            lines.push(Line::from(Span::styled(
                format!("{} stopped tasks with this reason", g.count),
                theme.title(),
            )));
            lines.push(Line::from(clean(g.reason).into_owned()));
            lines.push(Line::from(""));
            lines.push(Line::from(Span::styled(
                "The newest of them:",
                theme.muted(),
            )));
            if let Some(t) = g.tasks.first() {
                task_details(view, t, &mut lines);
            }
            if g.tasks.len() > 1 {
                lines.push(Line::from(""));
                let ids: Vec<String> = g
                    .tasks
                    .iter()
                    .skip(1)
                    .take(20)
                    .map(|t| task_name(t))
                    .collect();
                // `task_name` cleans each id.
                lines.push(Line::from(format!("others: {}", ids.join(" "))));
            }
        }
    }
    lines
}
