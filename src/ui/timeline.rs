//! The merged timeline: every source on one clock, newest at the bottom, coloured by level.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use super::{Pane, RingRows, View, clean, clock, filter_keeps, fit, render_list};
use crate::model::{Severity, TimelineEntry};

/// Rows that pass the filter, indexed into `store.timeline`.
pub fn rows(view: &View) -> RingRows {
    let filtering = view.ui.filter.is_some() || view.ui.faults_only;
    RingRows::build(view.store.timeline.len(), filtering, |i| keeps(view, i))
}

fn keeps(view: &View, ring: usize) -> bool {
    let Some(e) = view.store.timeline.get(ring) else {
        return false;
    };
    (!view.ui.faults_only || e.level >= Severity::Warn)
        && filter_keeps(view, &[&e.resource, &e.message, e.source.as_str()])
}

/// Every row the timeline has ever held (dropped ones included): a position that only grows.
pub fn total(view: &View) -> u64 {
    view.store.dropped_timeline + view.store.timeline.len() as u64
}

/// How many rows that passed the filter arrived since the total was `since`.
pub fn kept_since(view: &View, since: u64) -> usize {
    let store = view.store;
    super::count_new_rows(since, store.dropped_timeline, store.timeline.len(), |i| {
        keeps(view, i)
    })
}

/// A nested stack's rows name their stack (`Storage›FileSystem`) so the same logical id in
/// two stacks reads apart.
fn resource_label(e: &TimelineEntry) -> String {
    match e.stack.as_deref().and_then(|s| s.rsplit_once('/')) {
        Some((_, child)) => format!("{child}›{}", e.resource),
        None => e.resource.to_string(),
    }
}

pub fn row_line<'a>(view: &View, e: &TimelineEntry, width: usize) -> Line<'a> {
    let theme = view.theme;
    let resource_width = if width >= 120 { 24 } else { 14 };
    Line::from(vec![
        Span::styled(format!("{} ", clock(e.at)), theme.muted()),
        Span::styled(format!("{} ", fit(e.source.as_str(), 11)), theme.accent()),
        Span::styled(
            format!("{} ", fit(&clean(&resource_label(e)), resource_width)),
            theme.title(),
        ),
        Span::styled(clean(&e.message).into_owned(), theme.level(e.level)),
    ])
}

pub fn render(frame: &mut Frame, area: Rect, view: &View) {
    let rows = rows(view);
    let timeline = &view.store.timeline;
    let mut extra = format!("{} rows", rows.len());
    if rows.capped() {
        extra.push_str(&format!(
            " (filter scans the newest {})",
            super::FILTER_SCAN_ROWS
        ));
    }
    if view.store.dropped_timeline > 0 {
        extra.push_str(&format!(" · {} older dropped", view.store.dropped_timeline));
    }
    let width = area.width.saturating_sub(2) as usize;
    render_list(
        frame,
        area,
        view,
        Pane::Timeline,
        rows.len(),
        extra,
        |i| match rows.get(i).and_then(|ring| timeline.get(ring)) {
            Some(e) => row_line(view, e, width),
            None => Line::from(""),
        },
    );
}

pub fn details<'a>(view: &View, e: &TimelineEntry) -> Vec<Line<'a>> {
    let theme = view.theme;
    let mut lines = vec![
        Line::from(vec![
            Span::styled(
                format!("{} ", e.at.format("%Y-%m-%d %H:%M:%S%.3f UTC")),
                theme.muted(),
            ),
            Span::styled(e.source.as_str(), theme.accent()),
            Span::styled(
                format!("  {}", e.level.as_str().to_ascii_uppercase()),
                theme.level(e.level),
            ),
        ]),
        Line::from(format!("resource: {}", clean(&e.resource))),
    ];
    if let Some(stack) = &e.stack {
        lines.push(Line::from(format!("stack:    {}", clean(stack))));
    }
    if let Some(id) = &e.id {
        lines.push(Line::from(format!("id:       {}", clean(id))));
    }
    lines.push(Line::from(""));
    lines.push(Line::from(Span::styled(
        clean(&e.message).into_owned(),
        theme.level(e.level),
    )));
    lines
}
