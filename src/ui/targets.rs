//! Target health per target group, each target with its state, reason and description.
//!
//! Linking a target to its task: an awsvpc (`ip`) target's id is the task's private IP; other
//! targets link when the task's ARN contains the target id.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use super::{Pane, View, clean, clock, filter_keeps, fit, render_list, short_id, short_name};
use crate::model::{Store, TargetState, TaskState};

pub enum Row<'a> {
    Group {
        arn: &'a str,
        healthy: usize,
        total: usize,
    },
    Target(&'a TargetState),
}

fn is_fault(t: &TargetState) -> bool {
    !matches!(t.state.as_str(), "healthy" | "initial")
}

/// The task a target belongs to: by private IP (the newest task with it, running ones first,
/// since IPs are reused), else by a task ARN that contains the target id.
pub fn linked_task<'a>(store: &'a Store, t: &TargetState) -> Option<&'a TaskState> {
    let id = t.key.target_id.as_str();
    let by_ip = store
        .tasks
        .values()
        .filter(|task| task.task.private_ip.as_deref() == Some(id))
        .max_by_key(|task| (!task.is_stopped(), task.first_seen));
    if by_ip.is_some() || id.len() < 8 {
        return by_ip;
    }
    store
        .tasks
        .values()
        .filter(|task| !task.is_stopped() && task.task.task_arn.contains(id))
        .min_by(|a, b| a.task.task_arn.cmp(&b.task.task_arn))
}

pub fn rows<'a>(view: &View<'a>) -> Vec<Row<'a>> {
    let mut out = Vec::new();
    let targets = &view.store.targets;
    let mut iter = targets.values().peekable();
    while let Some(first) = iter.peek() {
        let group = first.key.target_group.as_str();
        let members: Vec<&TargetState> =
            std::iter::from_fn(|| iter.next_if(|t| t.key.target_group == group)).collect();
        let healthy = members.iter().filter(|t| t.state == "healthy").count();
        out.push(Row::Group {
            arn: group,
            healthy,
            total: members.len(),
        });
        for t in members {
            let keep = (!view.ui.faults_only || is_fault(t))
                && filter_keeps(
                    view,
                    &[
                        &t.key.target_id,
                        &t.state,
                        t.reason.as_deref().unwrap_or(""),
                        t.description.as_deref().unwrap_or(""),
                    ],
                );
            if keep {
                out.push(Row::Target(t));
            }
        }
    }
    out
}

fn row_line<'a>(view: &View, row: &Row) -> Line<'a> {
    let theme = view.theme;
    match row {
        Row::Group {
            arn,
            healthy,
            total,
        } => {
            let style = if healthy == total {
                theme.ok()
            } else {
                theme.warn()
            };
            Line::from(vec![
                Span::styled(format!("{} ", clean(short_name(arn))), theme.title()),
                Span::styled(format!("{healthy}/{total} healthy"), style),
            ])
        }
        Row::Target(t) => {
            let mut spans = vec![
                Span::styled(
                    format!("  {} ", fit(&clean(&t.key.label()), 21)),
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
    render_list(
        frame,
        area,
        view,
        Pane::Targets,
        rows.len(),
        format!("{groups} group{}", if groups == 1 { "" } else { "s" }),
        |i| row_line(view, &rows[i]),
    );
}

pub fn details<'a>(view: &View, row: &Row) -> Vec<Line<'a>> {
    let theme = view.theme;
    match row {
        Row::Group {
            arn,
            healthy,
            total,
        } => vec![
            Line::from(Span::styled(
                clean(short_name(arn)).into_owned(),
                theme.title(),
            )),
            Line::from(format!("arn: {}", clean(arn))),
            Line::from(format!("{healthy} of {total} targets healthy")),
        ],
        Row::Target(t) => {
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
