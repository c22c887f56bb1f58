//! Where things go. Small terminals get tabs: one focused pane large plus a compact timeline.
//! Terminals of at least [`GRID_MIN_WIDTH`]x[`GRID_MIN_HEIGHT`] get every pane in a grid.
//! `z` zooms the focused pane over the whole body. The loop uses the same [`compute`] to
//! find the pane under the mouse pointer. A watch with no stack (`--cluster C`) has no
//! resources: the grid gives their place to the ECS pane.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::{Pane, UiState, View, clean};

pub const GRID_MIN_WIDTH: u16 = 140;
pub const GRID_MIN_HEIGHT: u16 = 40;
/// The compact timeline under the focused pane on small terminals (with its borders).
const COMPACT_TIMELINE_HEIGHT: u16 = 7;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Areas {
    pub header: Rect,
    /// The expired-credentials banner, while it shows.
    pub banner: Option<Rect>,
    pub flags_strip: Option<Rect>,
    pub tabs: Option<Rect>,
    pub panes: Vec<(Pane, Rect)>,
    pub status: Rect,
}

pub fn is_grid(area: Rect) -> bool {
    area.width >= GRID_MIN_WIDTH && area.height >= GRID_MIN_HEIGHT
}

/// How many lines the flags strip takes for `problems` open problems (one line each).
pub fn strip_height(area: Rect, problems: usize) -> u16 {
    let most = if is_grid(area) { 5 } else { 3 };
    problems.min(most) as u16
}

/// The layout for `problems` open problems, with the credentials banner when `banner` is
/// true; `stackless`: nothing of CloudFormation to show (no stack, no resource).
pub fn compute(area: Rect, ui: &UiState, problems: usize, banner: bool, stackless: bool) -> Areas {
    let grid = is_grid(area);
    let header_height = if area.height >= 12 { 2 } else { 1 };
    // Two lines: the profile's fix is long (it wraps on 80 columns).
    let banner_height = match (banner, area.height >= 12) {
        (false, _) => 0,
        (true, true) => 2,
        (true, false) => 1,
    };
    let tabs_height = u16::from(!grid);
    let [header, banner, strip, tabs, body, status] = Layout::vertical([
        Constraint::Length(header_height),
        Constraint::Length(banner_height),
        Constraint::Length(strip_height(area, problems)),
        Constraint::Length(tabs_height),
        Constraint::Min(0),
        Constraint::Length(1),
    ])
    .areas(area);
    let banner = (banner.height > 0).then_some(banner);
    let flags_strip = (strip.height > 0).then_some(strip);
    let tabs = (tabs.height > 0).then_some(tabs);
    // The flags list has no cell in the grid: focusing it shows it over the body; so do the
    // resources when there are none to show and the user asked for them.
    let no_cell =
        ui.focus == Pane::Flags || (stackless && ui.focus == Pane::Resources && ui.focus_chosen);
    let panes = if ui.zoom || (grid && no_cell) {
        vec![(ui.focus, body)]
    } else if grid {
        grid_panes(body, stackless)
    } else {
        small_panes(body, ui.focus)
    };
    Areas {
        header,
        banner,
        flags_strip,
        tabs,
        panes,
        status,
    }
}

/// Resources | ECS on top, the timeline across the middle, Targets | Logs below. Without a
/// stack, ECS takes the whole top.
fn grid_panes(body: Rect, stackless: bool) -> Vec<(Pane, Rect)> {
    let [top, middle, bottom] = Layout::vertical([
        Constraint::Percentage(40),
        Constraint::Percentage(30),
        Constraint::Percentage(30),
    ])
    .areas(body);
    let [targets, logs] =
        Layout::horizontal([Constraint::Percentage(40), Constraint::Percentage(60)]).areas(bottom);
    let mut panes = if stackless {
        vec![(Pane::Ecs, top)]
    } else {
        let [resources, ecs] =
            Layout::horizontal([Constraint::Percentage(55), Constraint::Percentage(45)]).areas(top);
        vec![(Pane::Resources, resources), (Pane::Ecs, ecs)]
    };
    panes.extend([
        (Pane::Timeline, middle),
        (Pane::Targets, targets),
        (Pane::Logs, logs),
    ]);
    panes
}

/// The focused pane, with a compact timeline under it when there is room.
fn small_panes(body: Rect, focus: Pane) -> Vec<(Pane, Rect)> {
    if focus == Pane::Timeline || body.height < COMPACT_TIMELINE_HEIGHT * 2 {
        return vec![(focus, body)];
    }
    let [main, timeline] = Layout::vertical([
        Constraint::Min(0),
        Constraint::Length(COMPACT_TIMELINE_HEIGHT),
    ])
    .areas(body);
    vec![(focus, main), (Pane::Timeline, timeline)]
}

fn tab_label(pane: Pane, flags: usize) -> String {
    if pane == Pane::Flags && flags > 0 {
        format!(" {} {}({flags}) ", pane.index() + 1, pane.title())
    } else {
        format!(" {} {} ", pane.index() + 1, pane.title())
    }
}

/// Where each tab sits on the tabs line, so a click can focus it.
pub fn tab_areas(tabs: Rect, flags: usize) -> Vec<(Pane, Rect)> {
    let mut x = tabs.x;
    let mut out = Vec::new();
    for pane in Pane::ALL {
        let width = tab_label(pane, flags).chars().count() as u16;
        let rect = Rect::new(x, tabs.y, width, tabs.height).intersection(tabs);
        if !rect.is_empty() {
            out.push((pane, rect));
        }
        x = x.saturating_add(width);
    }
    out
}

/// `1 Resources  2 Timeline …`, the focused one highlighted.
pub fn render_tabs(frame: &mut Frame, area: Rect, view: &View) {
    let theme = view.theme;
    let spans: Vec<Span> = Pane::ALL
        .into_iter()
        .map(|pane| {
            let style = if pane == view.ui.focus {
                theme
                    .selection()
                    .add_modifier(ratatui::style::Modifier::BOLD)
            } else {
                theme.muted()
            };
            Span::styled(tab_label(pane, view.flags.len()), style)
        })
        .collect();
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

/// The bottom line: the filter being typed (or its error), else the filter in force and
/// the main keys.
pub fn render_status_line(frame: &mut Frame, area: Rect, view: &View) {
    let theme = view.theme;
    let ui = view.ui;
    let line = if let Some(input) = &ui.note_input {
        Line::from(vec![
            Span::styled("note: ", theme.accent()),
            Span::styled(clean(input).into_owned(), theme.text()),
            Span::styled("█", theme.muted()),
            Span::styled("  Enter save · Esc cancel", theme.muted()),
        ])
    } else if let Some(input) = &ui.filter_input {
        let mut spans = vec![
            Span::styled("/", theme.accent()),
            Span::styled(clean(input).into_owned(), theme.text()),
            Span::styled("█", theme.muted()),
        ];
        if let Some(err) = &ui.filter_error {
            spans.push(Span::styled(
                format!("  invalid regex: {}", clean(err)),
                theme.error(),
            ));
        } else {
            spans.push(Span::styled("  Enter keep · Esc clear", theme.muted()));
        }
        Line::from(spans)
    } else {
        let mut spans = Vec::new();
        if let Some(notice) = &ui.notice {
            spans.push(Span::styled(format!("{notice}  "), theme.accent()));
        }
        // `l` in details makes a filter from a task id: AWS text.
        if let Some(filter) = &ui.filter {
            spans.push(Span::styled(
                format!("/{} ", clean(&filter.pattern)),
                theme.accent(),
            ));
        }
        if ui.faults_only {
            spans.push(Span::styled("faults only ", theme.warn()));
        }
        if ui.zoom {
            spans.push(Span::styled("zoom ", theme.accent()));
        }
        let keys = [
            ("?", "help"),
            ("Tab", "pane"),
            ("Enter", "details"),
            ("/", "filter"),
            ("f", "faults"),
            ("z", "zoom"),
            ("p", "pause"),
            ("[ ]", "seek"),
            ("q", "quit"),
        ];
        // Live, time is the wall clock's: there is nothing to seek.
        let live = view.mode.is_live();
        for (key, what) in keys.into_iter().filter(|(k, _)| !(live && *k == "[ ]")) {
            spans.push(Span::styled(key, theme.accent()));
            spans.push(Span::styled(format!(" {what}  "), theme.muted()));
        }
        Line::from(spans)
    };
    frame.render_widget(Paragraph::new(line), area);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tabs_sit_side_by_side_and_clip_to_the_line() {
        let tabs = tab_areas(Rect::new(0, 5, 80, 1), 3);
        assert_eq!(tabs[0], (Pane::Resources, Rect::new(0, 5, 13, 1)));
        assert_eq!(tabs[1].1.x, 13);
        assert_eq!(tabs[5].0, Pane::Flags);
        let narrow = tab_areas(Rect::new(0, 0, 20, 1), 0);
        assert!(narrow.iter().all(|(_, r)| r.right() <= 20));
        assert_eq!(narrow.len(), 2, "tabs past the edge cannot be clicked");
    }

    #[test]
    fn grid_only_on_large_terminals_and_zoom_takes_the_body() {
        let ui = UiState::default();
        assert_eq!(
            compute(Rect::new(0, 0, 160, 48), &ui, 0, false, false)
                .panes
                .len(),
            5
        );
        assert!(
            compute(Rect::new(0, 0, 160, 48), &ui, 0, false, false)
                .tabs
                .is_none()
        );
        assert_eq!(
            compute(Rect::new(0, 0, 80, 24), &ui, 0, false, false)
                .panes
                .len(),
            2
        );
        let zoomed = UiState {
            zoom: true,
            ..UiState::default()
        };
        assert_eq!(
            compute(Rect::new(0, 0, 160, 48), &zoomed, 2, false, false)
                .panes
                .len(),
            1
        );
        // No stack: ECS takes the resources' place, and focusing them shows them alone.
        let stackless = compute(Rect::new(0, 0, 160, 48), &ui, 0, false, true).panes;
        assert_eq!(stackless[0].0, Pane::Ecs);
        assert_eq!(stackless[0].1.width, 160);
        assert_eq!(stackless.len(), 4);
        let resources = UiState {
            focus: Pane::Resources,
            focus_chosen: true,
            ..UiState::default()
        };
        assert_eq!(
            compute(Rect::new(0, 0, 160, 48), &resources, 0, false, true)
                .panes
                .len(),
            1
        );
    }

    #[test]
    fn the_banner_sits_under_the_header_and_the_body_gives_way() {
        let ui = UiState::default();
        let area = Rect::new(0, 0, 80, 24);
        let plain = compute(area, &ui, 0, false, false);
        assert_eq!(plain.banner, None);
        let with = compute(area, &ui, 0, true, false);
        assert_eq!(with.banner, Some(Rect::new(0, 2, 80, 2)));
        assert_eq!(with.tabs.unwrap().y, plain.tabs.unwrap().y + 2);
        assert_eq!(
            compute(Rect::new(0, 0, 40, 8), &ui, 0, true, false)
                .banner
                .unwrap()
                .height,
            1
        );
    }
}
