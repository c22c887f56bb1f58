//! Target health per target group, each target with its state, reason and description.
//! Groups sit under the service they serve when it is known (the service named the group, or
//! the group's targets are that service's tasks), so 20-odd groups read like the ECS pane.
//! Groups discovered but with no target yet are listed too.
//!
//! Linking a target to its task: an awsvpc (`ip`) target's id is the task's private IP; other
//! targets link when the task's ARN contains the target id.

use std::collections::BTreeMap;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use super::{
    Pane, View, clean, clock, filter_keeps, fit, headings, keep_with_headings, render_grouped,
    short_id, short_name,
};
use crate::model::{Store, TargetState, TaskState, WatchKey};

pub enum Row<'a> {
    /// A heading: the service whose groups follow (present when any group's service is known).
    Service { name: String, groups: usize },
    Group {
        arn: &'a str,
        healthy: usize,
        total: usize,
        /// Under a service heading.
        nested: bool,
        /// The service, when its one group stands in for its heading (one row, not two).
        service: Option<String>,
    },
    Target {
        target: &'a TargetState,
        nested: bool,
    },
}

fn is_fault(t: &TargetState) -> bool {
    !matches!(t.state.as_str(), "healthy" | "initial")
}

/// The task a target belongs to: by private IP (the newest task seen with it, from the
/// store's index: a frame must not scan every task for every target), else by a task ARN that
/// contains the target id.
pub fn linked_task<'a>(store: &'a Store, t: &TargetState) -> Option<&'a TaskState> {
    let id = t.key.target_id.as_str();
    if let Some(arn) = store.task_owners.task_at_ip(id) {
        return store.tasks.get(arn);
    }
    // An IP no task had: nothing to find by name either.
    if id.len() < 8 || id.parse::<std::net::IpAddr>().is_ok() {
        return None;
    }
    store
        .tasks
        .values()
        .filter(|task| !task.is_stopped() && task.task.task_arn.contains(id))
        .min_by(|a, b| a.task.task_arn.cmp(&b.task.task_arn))
}

/// The service a group serves: the one that named it (discovery says `service NAME`), else the
/// service of the first of its targets linked to a task.
fn service_of(store: &Store, arn: &str, members: &[&TargetState]) -> Option<String> {
    let key = WatchKey {
        what: "target_group".to_string(),
        id: arn.to_string(),
    };
    let named = store.watched.get(&key).and_then(|w| {
        w.via
            .as_deref()
            .and_then(|via| via.strip_prefix("service "))
            .map(str::to_string)
    });
    named.or_else(|| {
        members.iter().find_map(|t| {
            linked_task(store, t)
                .and_then(|task| task.task.service_name())
                .map(str::to_string)
        })
    })
}

/// Every group: those with targets seen, and those discovered with none yet.
fn groups(store: &Store) -> BTreeMap<&str, Vec<&TargetState>> {
    let mut groups: BTreeMap<&str, Vec<&TargetState>> = BTreeMap::new();
    for t in store.targets.values() {
        groups
            .entry(t.key.target_group.as_str())
            .or_default()
            .push(t);
    }
    for arn in store.target_groups.keys() {
        groups.entry(arn.as_str()).or_default();
    }
    for key in store.watched.keys().filter(|k| k.what == "target_group") {
        groups.entry(key.id.as_str()).or_default();
    }
    groups
}

pub fn rows<'a>(view: &View<'a>) -> Vec<Row<'a>> {
    let store = view.store;
    // Service name ("" when unknown) → its groups, by name: sorted like the ECS pane.
    let mut by_service: BTreeMap<String, Vec<(&'a str, Vec<&'a TargetState>)>> = BTreeMap::new();
    for (arn, members) in groups(store) {
        let service = service_of(store, arn, &members).unwrap_or_default();
        by_service.entry(service).or_default().push((arn, members));
    }
    // With no service known at all, the groups stand alone as before.
    let headed = by_service.keys().any(|s| !s.is_empty());
    // Groups of no known service go last.
    let unknown = by_service.remove("");
    let mut out = Vec::new();
    let sections = by_service
        .into_iter()
        .chain(unknown.map(|g| (String::new(), g)));
    for (service, groups) in sections {
        // A service's one group is its heading: `api  api-tg 2/2 healthy`.
        let sole = (headed && groups.len() == 1 && !service.is_empty()).then_some(service.clone());
        let nested = headed && sole.is_none();
        if nested {
            let name = if service.is_empty() {
                "no known service".to_string()
            } else {
                service
            };
            out.push(Row::Service {
                name,
                groups: groups.len(),
            });
        }
        for (arn, members) in groups {
            let healthy = members.iter().filter(|t| t.state == "healthy").count();
            out.push(Row::Group {
                arn,
                healthy,
                total: members.len(),
                nested,
                service: sole.clone(),
            });
            out.extend(
                members
                    .into_iter()
                    .map(|target| Row::Target { target, nested }),
            );
        }
    }
    if view.ui.filter.is_none() && !view.ui.faults_only {
        return out;
    }
    // Services and groups stay as headings of what passes beneath them.
    let level = |row: &Row| match row {
        Row::Service { .. } => Some(0),
        Row::Group { nested, .. } => Some(usize::from(*nested)),
        Row::Target { .. } => None,
    };
    keep_with_headings(out, level, |row| match row {
        Row::Service { name, .. } => !view.ui.faults_only && filter_keeps(view, &[name]),
        Row::Group {
            arn,
            healthy,
            total,
            service,
            ..
        } => {
            (!view.ui.faults_only || healthy < total)
                && filter_keeps(view, &[arn, service.as_deref().unwrap_or("")])
        }
        Row::Target { target: t, .. } => {
            (!view.ui.faults_only || is_fault(t))
                && filter_keeps(
                    view,
                    &[
                        &t.key.target_id,
                        &t.state,
                        t.reason.as_deref().unwrap_or(""),
                        t.description.as_deref().unwrap_or(""),
                    ],
                )
        }
    })
}

fn row_line<'a>(view: &View, row: &Row) -> Line<'a> {
    let theme = view.theme;
    match row {
        Row::Service { name, groups } => Line::from(vec![
            Span::styled(format!("{} ", clean(name)), theme.title()),
            Span::styled(
                format!("{groups} group{}", if *groups == 1 { "" } else { "s" }),
                theme.muted(),
            ),
        ]),
        Row::Group {
            arn,
            healthy,
            total,
            nested,
            service,
        } => {
            let mut spans = Vec::new();
            if let Some(service) = service {
                spans.push(Span::styled(format!("{}  ", clean(service)), theme.title()));
            }
            let indent = if *nested { "  " } else { "" };
            let name_style = if *nested || service.is_some() {
                theme.text()
            } else {
                theme.title()
            };
            spans.push(Span::styled(
                format!("{indent}{} ", clean(short_name(arn))),
                name_style,
            ));
            spans.push(if *total == 0 {
                Span::styled("no targets registered", theme.muted())
            } else if healthy == total {
                Span::styled(format!("{healthy}/{total} healthy"), theme.ok())
            } else {
                Span::styled(format!("{healthy}/{total} healthy"), theme.warn())
            });
            Line::from(spans)
        }
        Row::Target { target: t, nested } => {
            let indent = if *nested { "    " } else { "  " };
            let mut spans = vec![
                Span::styled(
                    format!("{indent}{} ", fit(&clean(&t.key.label()), 21)),
                    theme.text(),
                ),
                Span::styled(fit(&clean(&t.state), 10), theme.status(&t.state)),
            ];
            if let Some(task) = linked_task(view.store, t) {
                let id = short_id(&task.task.task_arn, 8);
                spans.push(Span::styled(format!(" task {id}"), theme.accent()));
            }
            if let Some(reason) = &t.reason {
                spans.push(Span::styled(format!(" {}", clean(reason)), theme.warn()));
            }
            if let Some(desc) = &t.description {
                spans.push(Span::styled(format!("  {}", clean(desc)), theme.muted()));
            }
            Line::from(spans)
        }
    }
}

pub fn render(frame: &mut Frame, area: Rect, view: &View) {
    let rows = rows(view);
    let groups = rows
        .iter()
        .filter(|r| matches!(r, Row::Group { .. }))
        .count();
    let heads = headings(&rows, |r| !matches!(r, Row::Target { .. }));
    render_grouped(
        frame,
        area,
        view,
        Pane::Targets,
        rows.len(),
        format!("{groups} group{}", if groups == 1 { "" } else { "s" }),
        |i| row_line(view, &rows[i]),
        |i| heads.get(i).copied().flatten(),
    );
}

pub fn details<'a>(view: &View, row: &Row) -> Vec<Line<'a>> {
    let theme = view.theme;
    match row {
        Row::Service { name, groups } => vec![
            Line::from(Span::styled(
                format!("service {}", clean(name)),
                theme.title(),
            )),
            Line::from(format!("{groups} target groups")),
        ],
        Row::Group {
            arn,
            healthy,
            total,
            ..
        } => vec![
            Line::from(Span::styled(
                clean(short_name(arn)).into_owned(),
                theme.title(),
            )),
            Line::from(format!("arn: {}", clean(arn))),
            Line::from(format!("{healthy} of {total} targets healthy")),
        ],
        Row::Target { target: t, .. } => {
            let mut lines = vec![
                Line::from(Span::styled(
                    format!("target {}", clean(&t.key.label())),
                    theme.title(),
                )),
                Line::from(format!("group:       {}", clean(&t.key.target_group))),
                Line::from(vec![
                    Span::raw("state:       "),
                    Span::styled(clean(&t.state).into_owned(), theme.status(&t.state)),
                    Span::raw(format!("  since {}", clock(t.since))),
                ]),
                Line::from(format!(
                    "reason:      {}",
                    clean(t.reason.as_deref().unwrap_or("-"))
                )),
                Line::from(format!(
                    "description: {}",
                    clean(t.description.as_deref().unwrap_or("-"))
                )),
            ];
            let task = linked_task(view.store, t)
                .map(|task| clean(&task.task.task_arn).into_owned())
                .unwrap_or_else(|| "no task seen with this IP or id".to_string());
            lines.push(Line::from(format!("task:        {task}")));
            lines
        }
    }
}
