//! The log tail: every watched group merged, newest at the bottom, each line with its task.
//! A silence of more than [`GAP`] between two lines is marked, so a quiet task shows, and so
//! is a stretch of lines the source could not read (a `log_gap`). With several groups (a
//! cluster's services), each line also names its group.

use chrono::TimeDelta;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use super::{
    Pane, Ring, RingRows, View, clean, clock, duration, filter_keeps, fit, render_list, short_id,
    short_name,
};
use crate::model::store::keyword_level;
use crate::model::{LogLine, Severity, task_id_of};

const GAP: TimeDelta = TimeDelta::seconds(60);

/// The log tail's ring: its counts, and which lines pass the filter.
pub fn ring<'v>(view: &'v View) -> Ring<impl Fn(usize) -> bool + 'v> {
    Ring {
        dropped: view.store.dropped_logs,
        len: view.store.logs.len(),
        keep: move |i| keeps(view, i),
    }
}

/// Lines that pass the filter, indexed into `store.logs`.
pub fn rows(view: &View) -> RingRows {
    ring(view).rows(view)
}

fn keeps(view: &View, ring: usize) -> bool {
    let Some(l) = view.store.logs.get(ring) else {
        return false;
    };
    // A gap is a fault of the tail itself: kept by the faults-only view.
    (!view.ui.faults_only || l.gap || keyword_level(&l.message) >= Severity::Warn)
        && filter_keeps(view, &[&l.message, &l.stream, &l.group])
}

/// The group column's width, when lines come from more than one group: the watch names
/// several, or the tail's oldest and newest lines differ.
fn group_width(view: &View) -> Option<usize> {
    let store = view.store;
    let watched = store
        .watched
        .keys()
        .filter(|k| k.what == "log_group")
        .count();
    let (first, last) = (store.logs.front(), store.logs.back());
    let mixed = first.zip(last).is_some_and(|(a, b)| a.group != b.group);
    (watched > 1 || mixed).then_some(12)
}

fn row_line<'a>(view: &View, ring: usize, groups: Option<usize>) -> Line<'a> {
    let theme = view.theme;
    let logs = &view.store.logs;
    let Some(l) = logs.get(ring) else {
        return Line::from("");
    };
    // A stretch the source could not read: marked as such, not as a line.
    if l.gap {
        return Line::from(vec![
            Span::styled(format!("{} ", clock(l.at)), theme.muted()),
            Span::styled(
                format!("┆ gap in {} ┆ {}", clean(&l.group), clean(&l.message)),
                theme.warn(),
            ),
        ]);
    }
    let gap = ring
        .checked_sub(1)
        .and_then(|prev| logs.get(prev))
        .map(|prev| l.at - prev.at)
        .filter(|gap| *gap > GAP);
    let mut spans = vec![Span::styled(format!("{} ", clock(l.at)), theme.muted())];
    if let Some(width) = groups {
        spans.push(Span::styled(
            format!("{} ", fit(&clean(short_name(&l.group)), width)),
            theme.title(),
        ));
    }
    spans.push(Span::styled(
        format!("{} ", fit(&short_id(&l.stream, 8), 8)),
        theme.accent(),
    ));
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
    let ring = ring(view);
    let rows = ring.rows(view);
    let extra = ring.title(&rows, "lines");
    let groups = group_width(view);
    render_list(
        frame,
        area,
        view,
        Pane::Logs,
        rows.len(),
        extra,
        |i| match rows.get(i) {
            Some(ring) => row_line(view, ring, groups),
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
    ];
    if l.gap {
        lines.push(Line::from(Span::styled(
            "gap:    lines of this group may be missing here",
            theme.warn(),
        )));
    } else {
        lines.push(Line::from(format!("stream: {}", clean(&l.stream))));
        lines.push(Line::from(format!(
            "task:   {}",
            clean(task_id_of(&l.stream))
        )));
    }
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
