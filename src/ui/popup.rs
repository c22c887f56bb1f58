//! Popups over the panes: the key help and the details of the selected row.

use ratatui::Frame;
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Clear, Paragraph, Wrap};

use super::{Pane, View, ecs, flags, logs, resources, selected_row, targets, timeline};

/// Every key, for the help popup (and the README).
pub const KEYS: [(&str, &str); 22] = [
    ("Tab / Shift-Tab", "next / previous pane"),
    ("1-6", "Resources Timeline ECS Targets Logs Flags"),
    ("j k / ↓ ↑", "move the selection"),
    ("PgDn PgUp ^d ^u", "page down / up"),
    ("g / G", "top / bottom (newest; follows new rows)"),
    ("Enter", "details of the selected row"),
    ("Esc", "close popup, clear filter, unzoom"),
    ("/", "regex filter on every pane"),
    ("f", "faults only (warn and worse)"),
    ("n", "a note on the timeline (recorded live)"),
    ("z", "zoom the focused pane"),
    ("p / Space", "pause / resume"),
    ("[ / ]", "seek 30 s back / forward (virtual time)"),
    ("+ / -", "faster / slower replay"),
    ("mouse wheel", "scroll the pane under the pointer"),
    ("click", "focus a pane"),
    ("l (in details)", "the logs of the selected task"),
    ("?", "this help"),
    ("q / Ctrl-c", "quit"),
    ("", ""),
    ("⚠", "a flag names this resource"),
    ("⏳", "in progress past its type's usual time"),
];

/// A centred rectangle `percent_x` by `percent_y` of `area`, at least `min` in size.
fn centered(area: Rect, percent_x: u16, percent_y: u16, min: (u16, u16)) -> Rect {
    // u32: a wide terminal times a percentage overflows u16.
    let percent = |side: u16, p: u16| (u32::from(side) * u32::from(p) / 100) as u16;
    let width = percent(area.width, percent_x).max(min.0).min(area.width);
    let height = percent(area.height, percent_y).max(min.1).min(area.height);
    let [row] = Layout::vertical([Constraint::Length(height)])
        .flex(Flex::Center)
        .areas(area);
    let [rect] = Layout::horizontal([Constraint::Length(width)])
        .flex(Flex::Center)
        .areas(row);
    rect
}

fn draw(frame: &mut Frame, area: Rect, view: &View, title: &str, lines: Vec<Line>, hint: &str) {
    let theme = view.theme;
    let block = Block::bordered()
        .border_type(BorderType::Double)
        .border_style(theme.border(true))
        .title(Line::from(Span::styled(
            format!(" {title} "),
            theme.title(),
        )))
        .title_bottom(Line::from(Span::styled(
            format!(" Esc close · j/k scroll{hint} "),
            theme.muted(),
        )));
    let paragraph = Paragraph::new(lines)
        .block(block)
        .style(theme.base())
        .wrap(Wrap { trim: false })
        .scroll((view.ui.popup_scroll, 0));
    frame.render_widget(Clear, area);
    frame.render_widget(paragraph, area);
}

pub fn render_help(frame: &mut Frame, area: Rect, view: &View) {
    let theme = view.theme;
    let lines: Vec<Line> = KEYS
        .iter()
        .map(|&(key, what)| {
            // Live, time is the wall clock's: only the screen can be frozen.
            let what = match key {
                _ if !view.mode.is_live() => what,
                "p / Space" => "freeze the screen / show the present (the watch goes on)",
                "[ / ]" | "+ / -" => "seek and speed: replays only",
                _ => what,
            };
            // Pad by display width: ⏳ takes two columns.
            let pad = 17usize.saturating_sub(Line::from(key).width());
            Line::from(vec![
                Span::styled(format!(" {key}{}", " ".repeat(pad)), theme.accent()),
                Span::styled(what, theme.text()),
            ])
        })
        .collect();
    let rect = centered(area, 60, 80, (66, 24));
    draw(frame, rect, view, "Keys", lines, "");
}

/// The focused pane's selected row, in full.
fn details_of<'a>(view: &View<'a>) -> (String, Vec<Line<'a>>) {
    let pane = view.ui.focus;
    let none = || vec![Line::from("nothing selected")];
    let lines = match pane {
        Pane::Resources => {
            let rows = resources::rows(view);
            selected_row(view, pane, rows.len()).map(|i| match &rows[i] {
                resources::Row::Stack(stack) => resources::stack_details(view, stack),
                resources::Row::Resource { resource, .. } => resources::details(view, resource),
            })
        }
        Pane::Timeline => {
            let rows = timeline::rows(view);
            selected_row(view, pane, rows.len())
                .and_then(|i| rows.get(i))
                .and_then(|ring| view.store.timeline.get(ring))
                .map(|e| timeline::details(view, e))
        }
        Pane::Ecs => {
            let rows = ecs::rows(view);
            selected_row(view, pane, rows.len()).map(|i| ecs::details(view, &rows[i]))
        }
        Pane::Targets => {
            let rows = targets::rows(view);
            selected_row(view, pane, rows.len()).map(|i| targets::details(view, &rows[i]))
        }
        Pane::Logs => {
            let rows = logs::rows(view);
            selected_row(view, pane, rows.len())
                .and_then(|i| rows.get(i))
                .and_then(|ring| view.store.logs.get(ring))
                .map(|l| logs::details(view, l))
        }
        Pane::Flags => {
            let rows = flags::ordered(view);
            selected_row(view, pane, rows.len()).map(|i| flags::details(view, rows[i]))
        }
    };
    (
        format!("{} details", pane.title()),
        lines.unwrap_or_else(none),
    )
}

pub fn render_details(frame: &mut Frame, area: Rect, view: &View) {
    let (title, lines) = details_of(view);
    let hint = if selected_task_id(view).is_some() {
        " · l task logs"
    } else {
        ""
    };
    let rect = centered(area, 80, 70, (60, 16));
    draw(frame, rect, view, &title, lines, hint);
}

/// The task the focused pane's selected row is about, if any: for `l` in details.
pub fn selected_task_id(view: &View) -> Option<String> {
    let pane = view.ui.focus;
    let id = match pane {
        Pane::Ecs => {
            let rows = ecs::rows(view);
            match selected_row(view, pane, rows.len()).map(|i| &rows[i])? {
                ecs::Row::Task(t) => t.task.task_id().to_string(),
                ecs::Row::Stopped(g) => g.tasks.first()?.task.task_id().to_string(),
                _ => return None,
            }
        }
        Pane::Timeline => {
            let rows = timeline::rows(view);
            let ring = rows.get(selected_row(view, pane, rows.len())?)?;
            let e = view.store.timeline.get(ring)?;
            if e.source != crate::model::Source::EcsTask {
                return None;
            }
            crate::model::task_id_of(&e.resource).to_string()
        }
        Pane::Logs => {
            let rows = logs::rows(view);
            let ring = rows.get(selected_row(view, pane, rows.len())?)?;
            crate::model::task_id_of(&view.store.logs.get(ring)?.stream).to_string()
        }
        Pane::Targets => {
            let rows = targets::rows(view);
            match selected_row(view, pane, rows.len()).map(|i| &rows[i])? {
                targets::Row::Target { target: t, .. } => targets::linked_task(view.store, t)?
                    .task
                    .task_id()
                    .to_string(),
                _ => return None,
            }
        }
        Pane::Flags => {
            let rows = flags::ordered(view);
            flags::task_of_problem(view, rows.get(selected_row(view, pane, rows.len())?)?)?
        }
        Pane::Resources => return None,
    };
    (!id.is_empty()).then_some(id)
}
