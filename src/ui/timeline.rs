//! The merged timeline: every source on one clock, newest at the bottom, coloured by level.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use super::{Pane, Ring, RingRows, View, clean, clock, filter_keeps, fit, render_list};
use crate::model::{Severity, TimelineEntry};

/// The timeline's ring: its counts, and which rows pass the filter.
pub fn ring<'v>(view: &'v View) -> Ring<impl Fn(usize) -> bool + 'v> {
    Ring {
        dropped: view.store.dropped_timeline,
        len: view.store.timeline.len(),
        keep: move |i| keeps(view, i),
    }
}

/// Rows that pass the filter, indexed into `store.timeline`.
pub fn rows(view: &View) -> RingRows {
    ring(view).rows(view)
}

fn keeps(view: &View, ring: usize) -> bool {
    let Some(e) = view.store.timeline.get(ring) else {
        return false;
    };
    (!view.ui.faults_only || e.level >= Severity::Warn)
        && filter_keeps(view, &[&e.resource, &e.message, e.source.as_str()])
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
    let ring = ring(view);
    let rows = ring.rows(view);
    let timeline = &view.store.timeline;
    let extra = ring.title(&rows, "rows");
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
