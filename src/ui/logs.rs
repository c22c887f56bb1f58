//! The log tail: every watched group merged, newest at the bottom, each line with its task.
//! A silence of more than [`GAP`] between two lines is marked, so a quiet task shows.

use chrono::TimeDelta;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use super::{Pane, RingRows, View, clean, clock, duration, filter_keeps, fit, render_list};
use crate::model::store::keyword_level;
use crate::model::{LogLine, Severity, task_id_of};

const GAP: TimeDelta = TimeDelta::seconds(60);

pub fn rows(view: &View) -> RingRows {
    let filtering = view.ui.filter.is_some() || view.ui.faults_only;
    RingRows::build(view.store.logs.len(), filtering, |i| keeps(view, i))
}

fn keeps(view: &View, ring: usize) -> bool {
    let Some(l) = view.store.logs.get(ring) else {
        return false;
    };
    (!view.ui.faults_only || keyword_level(&l.message) >= Severity::Warn)
        && filter_keeps(view, &[&l.message, &l.stream, &l.group])
}

/// Every line the tail has ever held (dropped ones included): a position that only grows.
pub fn total(view: &View) -> u64 {
    view.store.dropped_logs + view.store.logs.len() as u64
}

/// How many lines that passed the filter arrived since the total was `since`.
pub fn kept_since(view: &View, since: u64) -> usize {
    let store = view.store;
    super::count_new_rows(since, store.dropped_logs, store.logs.len(), |i| {
        keeps(view, i)
    })
}

/// The task id an awslogs stream names (`prefix/container/TASKID`), shortened.
fn task_short(stream: &str) -> String {
    task_id_of(stream).chars().take(8).collect()
}

fn row_line<'a>(view: &View, ring: usize) -> Line<'a> {
    let theme = view.theme;
    let logs = &view.store.logs;
    let Some(l) = logs.get(ring) else {
        return Line::from("");
    };
    let gap = ring
        .checked_sub(1)
        .and_then(|prev| logs.get(prev))
        .map(|prev| l.at - prev.at)
        .filter(|gap| *gap > GAP);
    let mut spans = vec![
        Span::styled(format!("{} ", clock(l.at)), theme.muted()),
        Span::styled(
            format!("{} ", fit(&clean(&task_short(&l.stream)), 8)),
            theme.accent(),
        ),
    ];
    if let Some(gap) = gap {
        spans.push(Span::styled(
            format!("┆ {} gap ┆ ", duration(gap)),
            theme.warn(),
        ));
    }
    let level = keyword_level(&l.message);
    spans.push(Span::styled(
        clean(&l.message).into_owned(),
        theme.level(level),
    ));
    Line::from(spans)
}

pub fn render(frame: &mut Frame, area: Rect, view: &View) {
    let rows = rows(view);
    let mut extra = format!("{} lines", rows.len());
    if rows.capped() {
        extra.push_str(&format!(
            " (filter scans the newest {})",
            super::FILTER_SCAN_ROWS
        ));
    }
    if view.store.dropped_logs > 0 {
        extra.push_str(&format!(" · {} older dropped", view.store.dropped_logs));
    }
    render_list(
        frame,
        area,
        view,
        Pane::Logs,
        rows.len(),
        extra,
        |i| match rows.get(i) {
            Some(ring) => row_line(view, ring),
            None => Line::from(""),
        },
    );
}

pub fn details<'a>(view: &View, l: &LogLine) -> Vec<Line<'a>> {
    let theme = view.theme;
    let mut lines = vec![
        Line::from(Span::styled(
            l.at.format("%Y-%m-%d %H:%M:%S%.3f UTC").to_string(),
            theme.muted(),
        )),
        Line::from(format!("group:  {}", clean(&l.group))),
        Line::from(format!("stream: {}", clean(&l.stream))),
        Line::from(format!("task:   {}", clean(task_id_of(&l.stream)))),
    ];
    if let Some(id) = &l.event_id {
        lines.push(Line::from(format!("id:     {}", clean(id))));
    }
    lines.push(Line::from(""));
    // Multi-line messages (stack traces) keep their lines here.
    for part in crate::sanitize::clean(&l.message, crate::sanitize::MAX_LINE_CHARS, true).lines() {
        lines.push(Line::from(part.to_string()));
    }
    lines
}
