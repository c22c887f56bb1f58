//! Open flags: a strip across the top whenever any are open (worst first), and the flags list
//! (pane 6) with a selection for details.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::{Pane, View, clean, clock, duration, render_list};
use crate::detect::Flag;
use crate::model::Severity;

fn severity_style(view: &View, severity: Severity) -> Style {
    view.theme.level(severity)
}

/// `SEVERITY rule  resource  age  summary`.
pub fn flag_line<'a>(view: &View, flag: &Flag) -> Line<'a> {
    let theme = view.theme;
    let age = duration(view.now - flag.first_seen);
    let mut spans = vec![
        Span::styled(
            format!(" {:<5} ", flag.severity.as_str().to_ascii_uppercase()),
            severity_style(view, flag.severity),
        ),
        Span::styled(format!("{} ", flag.rule), theme.accent()),
        Span::styled(format!(" {} ", clean(&flag.resource)), theme.title()),
        Span::styled(format!(" {age} "), theme.muted()),
    ];
    if flag.count > 1 {
        spans.push(Span::styled(format!("×{} ", flag.count), theme.muted()));
    }
    spans.push(Span::styled(
        format!(" {}", clean(&flag.summary)),
        theme.text(),
    ));
    Line::from(spans)
}

pub fn render_strip(frame: &mut Frame, area: Rect, view: &View) {
    let height = area.height as usize;
    let total = view.flags.len();
    // When they do not all fit, the last line counts the rest.
    let shown = if total > height {
        height.saturating_sub(1)
    } else {
        total
    };
    let mut lines: Vec<Line> = view.flags[..shown]
        .iter()
        .map(|f| flag_line(view, f))
        .collect();
    if shown < total {
        lines.push(Line::from(Span::styled(
            format!(" +{} more flags (press 6 to list them)", total - shown),
            view.theme.warn(),
        )));
    }
    frame.render_widget(Paragraph::new(lines).style(view.theme.flag_strip()), area);
}

pub fn render_pane(frame: &mut Frame, area: Rect, view: &View) {
    let count = view.flags.len();
    render_list(
        frame,
        area,
        view,
        Pane::Flags,
        count,
        format!("{count} open"),
        |i| flag_line(view, view.flags[i]),
    );
}

/// The full text of a flag for the details popup.
pub fn details<'a>(view: &View, flag: &Flag) -> Vec<Line<'a>> {
    let theme = view.theme;
    let mut lines = vec![
        Line::from(vec![
            Span::styled(
                flag.severity.as_str().to_ascii_uppercase(),
                severity_style(view, flag.severity),
            ),
            Span::styled(format!("  {}", flag.rule), theme.accent()),
        ]),
        Line::from(format!("resource:   {}", clean(&flag.resource))),
        Line::from(format!("source:     {}", flag.source.as_str())),
        Line::from(format!(
            "seen:       {} – {} ({})",
            clock(flag.first_seen),
            clock(flag.last_seen),
            crate::text::times(flag.count)
        )),
        Line::from(""),
        Line::from(Span::styled("Summary", theme.title())),
        Line::from(clean(&flag.summary).into_owned()),
        Line::from(""),
        Line::from(Span::styled("Next step", theme.title())),
        Line::from(clean(&flag.next_step).into_owned()),
        Line::from(""),
        Line::from(Span::styled("Evidence (newest last)", theme.title())),
    ];
    for e in &flag.evidence {
        lines.push(Line::from(vec![
            Span::styled(format!("{} ", clock(e.at)), theme.muted()),
            Span::styled(format!("{} ", e.source.as_str()), theme.accent()),
            Span::styled(format!("{}: ", clean(&e.resource)), theme.title()),
            Span::raw(clean(&e.text).into_owned()),
        ]));
    }
    lines
}
