//! The dashboard: layout, panes, popups and themes. Rendering only reads: it takes a [`View`]
//! of the store, the open flags and the [`UiState`], and draws one frame.
//!
//! Every pane builds only the rows it can show. The timeline and the log tail are rings of up
//! to tens of thousands of rows; they are indexed from the newest end, and a filter scans at
//! most [`FILTER_SCAN_ROWS`] of the newest rows.

use std::borrow::Cow;

use chrono::{DateTime, TimeDelta, Utc};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders, Paragraph};

use crate::clock::Mode;
use crate::detect::{DetectConfig, Flag};
use crate::model::{Store, task_id_of};
use crate::session::recording::Header;
pub use crate::text::fit;

pub mod banner;
pub mod ecs;
pub mod flags;
pub mod header;
pub mod layout;
pub mod logs;
pub mod popup;
pub mod resources;
pub mod state;
pub mod svg;
pub mod targets;
pub mod terminal;
pub mod theme;
pub mod timeline;

pub use state::{Action, Pane, Popup, RowCounts, UiState};
use theme::Theme;

/// How many of the newest timeline rows or log lines a filter looks at. Filtering the whole
/// ring on every frame would make a frame cost O(history); the status line says when the
/// limit was hit.
pub const FILTER_SCAN_ROWS: usize = 5_000;

/// Everything one frame reads.
pub struct View<'a> {
    pub store: &'a Store,
    /// Open flags, worst first.
    pub flags: &'a [&'a Flag],
    pub header: &'a Header,
    /// The first observation's time: elapsed time counts from here.
    pub start: DateTime<Utc>,
    /// The pipeline's clock: the wall clock live, virtual time in replay. All timers use it.
    pub now: DateTime<Utc>,
    /// Live or replay, paused, speed.
    pub mode: Mode,
    pub ui: &'a UiState,
    pub theme: &'a Theme,
    /// The detector's thresholds: the Resources pane marks a resource slow past its type's
    /// stall threshold, as `stall.resource` does.
    pub detect: &'a DetectConfig,
}

/// Nothing of CloudFormation to show: a watch of a cluster, services or log groups alone.
pub fn stackless(store: &crate::model::Store) -> bool {
    store.stacks.is_empty() && store.resources.is_empty()
}

/// Draws one frame.
pub fn render(frame: &mut Frame, view: &View) {
    let area = frame.area();
    frame.render_widget(Block::new().style(view.theme.base()), area);
    if area.width < 20 || area.height < 5 {
        let msg = Paragraph::new("terminal too small").style(view.theme.warn());
        frame.render_widget(msg, area);
        return;
    }
    // Grouped once per frame: the strip's height and its lines.
    let problems = flags::problems(view);
    let areas = layout::compute(
        area,
        view.ui,
        problems.len(),
        banner::shown(view.store),
        stackless(view.store),
    );
    header::render(frame, areas.header, view);
    if let Some(rect) = areas.banner {
        banner::render(frame, rect, view);
    }
    if let Some(strip) = areas.flags_strip {
        flags::render_strip(frame, strip, view, &problems);
    }
    if let Some(tabs) = areas.tabs {
        layout::render_tabs(frame, tabs, view);
    }
    for (pane, rect) in &areas.panes {
        render_pane(frame, *pane, *rect, view);
    }
    layout::render_status_line(frame, areas.status, view);
    match view.ui.popup {
        Some(Popup::Help) => popup::render_help(frame, area, view),
        Some(Popup::Details) => popup::render_details(frame, area, view),
        None => {}
    }
}

fn render_pane(frame: &mut Frame, pane: Pane, area: Rect, view: &View) {
    match pane {
        Pane::Resources => resources::render(frame, area, view),
        Pane::Timeline => timeline::render(frame, area, view),
        Pane::Ecs => ecs::render(frame, area, view),
        Pane::Targets => targets::render(frame, area, view),
        Pane::Logs => logs::render(frame, area, view),
        Pane::Flags => flags::render_pane(frame, area, view),
    }
}

/// How many rows each pane has now, and the focused pane's page height, for the loop to hand
/// to [`UiState`] so that moving the selection clamps to real rows.
pub fn row_counts(view: &View, screen: Rect) -> RowCounts {
    let areas = layout::compute(
        screen,
        view.ui,
        flags::problems(view).len(),
        banner::shown(view.store),
        stackless(view.store),
    );
    let page = areas
        .panes
        .iter()
        .find(|(p, _)| *p == view.ui.focus)
        .map_or(10, |(_, r)| r.height.saturating_sub(2) as usize);
    // Grouped panes page one line short (a heading or the next page's first row).
    let page = if is_grouped(view.ui.focus) {
        page.saturating_sub(1).max(1)
    } else {
        page
    };
    let mut rows = [0; 6];
    rows[Pane::Resources.index()] = resources::rows(view).len();
    rows[Pane::Timeline.index()] = timeline::rows(view).len();
    rows[Pane::Ecs.index()] = ecs::rows(view).len();
    rows[Pane::Targets.index()] = targets::rows(view).len();
    rows[Pane::Logs.index()] = logs::rows(view).len();
    rows[Pane::Flags.index()] = view.flags.len();
    RowCounts { rows, page }
}

/// Rows of a ring buffer (timeline or logs) that pass the filter, oldest first.
pub enum RingRows {
    /// No filter: every row, by ring index.
    All(usize),
    /// Ring indices of matching rows among the newest [`FILTER_SCAN_ROWS`], oldest first.
    Matched { indices: Vec<usize>, capped: bool },
}

impl RingRows {
    /// Scans the newest rows with `keep` when a filter or faults-only is on.
    pub fn build(len: usize, filtering: bool, keep: impl Fn(usize) -> bool) -> RingRows {
        if !filtering {
            return RingRows::All(len);
        }
        let first = len.saturating_sub(FILTER_SCAN_ROWS);
        let indices = (first..len).filter(|&i| keep(i)).collect();
        RingRows::Matched {
            indices,
            capped: first > 0,
        }
    }

    pub fn len(&self) -> usize {
        match self {
            RingRows::All(n) => *n,
            RingRows::Matched { indices, .. } => indices.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The ring index of the `i`th row (oldest first).
    pub fn get(&self, i: usize) -> Option<usize> {
        match self {
            RingRows::All(n) => (i < *n).then_some(i),
            RingRows::Matched { indices, .. } => indices.get(i).copied(),
        }
    }

    pub fn capped(&self) -> bool {
        matches!(self, RingRows::Matched { capped: true, .. })
    }
}

/// A ring buffer the store keeps (the timeline or the log tail): how many rows it has dropped,
/// how many it holds, and which of those pass the filter. The two panes differ only in these.
pub struct Ring<K> {
    pub dropped: u64,
    pub len: usize,
    /// Whether the row at a ring index passes the filter and faults-only.
    pub keep: K,
}

impl<K: Fn(usize) -> bool> Ring<K> {
    /// Every row the ring has ever held (dropped ones included): a position that only grows.
    pub fn total(&self) -> u64 {
        self.dropped + self.len as u64
    }

    /// How many rows that pass the filter arrived since [`Ring::total`] was `since` (bounded
    /// by [`FILTER_SCAN_ROWS`]).
    pub fn kept_since(&self, since: u64) -> usize {
        if since >= self.total() {
            return 0;
        }
        let len = self.len;
        let first_new = usize::try_from(since.saturating_sub(self.dropped)).unwrap_or(len);
        let first = first_new.max(len.saturating_sub(FILTER_SCAN_ROWS));
        (first..len).filter(|&i| (self.keep)(i)).count()
    }

    /// The rows that pass the filter and faults-only, when either is on.
    pub fn rows(&self, view: &View) -> RingRows {
        let filtering = view.ui.filter.is_some() || view.ui.faults_only;
        RingRows::build(self.len, filtering, &self.keep)
    }

    /// The pane title's counts: `N rows`, whether the filter hit its limit, what was dropped.
    pub fn title(&self, rows: &RingRows, noun: &str) -> String {
        let mut extra = format!("{} {noun}", rows.len());
        if rows.capped() {
            extra.push_str(&format!(" (filter scans the newest {FILTER_SCAN_ROWS})"));
        }
        if self.dropped > 0 {
            extra.push_str(&format!(" · {} older dropped", self.dropped));
        }
        extra
    }
}

/// The rows a pane shows: `start..end` of `count`, and which of them is selected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub start: usize,
    pub end: usize,
    pub selected: Option<usize>,
}

/// Pages through `count` rows `height` at a time, keeping the selected row on screen.
/// For bottom-anchored panes (timeline, logs) `selected` counts up from the newest row, and
/// while it is on the last screenful that screenful is shown. Stateless, so render needs no
/// scroll feedback.
pub fn window(count: usize, selected: usize, height: usize, bottom_anchored: bool) -> Window {
    if count == 0 || height == 0 {
        return Window {
            start: 0,
            end: 0,
            selected: None,
        };
    }
    let selected = selected.min(count - 1);
    if bottom_anchored && selected < height {
        // Following the newest rows: the last page, full.
        let start = count.saturating_sub(height);
        return Window {
            start,
            end: count,
            selected: Some(count - 1 - selected),
        };
    }
    // Scrolled back (or a top-anchored pane): pages counted from the oldest row, so the page
    // stays put while new rows arrive below it.
    let row = if bottom_anchored {
        count - 1 - selected
    } else {
        selected
    };
    let start = (row / height) * height;
    Window {
        start,
        end: (start + height).min(count),
        selected: Some(row),
    }
}

/// A pane's bordered block, its title showing the key that focuses it.
pub fn pane_block<'a>(pane: Pane, view: &View, extra: String) -> Block<'a> {
    let focused = view.ui.focus == pane;
    let theme = view.theme;
    let mut title = vec![
        Span::styled(format!(" {} ", pane.index() + 1), theme.muted()),
        Span::styled(format!("{} ", pane.title()), theme.title()),
    ];
    if !extra.is_empty() {
        title.push(Span::styled(format!("{extra} "), theme.muted()));
    }
    Block::new()
        .borders(Borders::ALL)
        .border_type(if focused {
            BorderType::Thick
        } else {
            BorderType::Rounded
        })
        .border_style(theme.border(focused))
        .title(Line::from(title))
}

/// Draws rows into a pane's inner area, the selected one highlighted when focused.
pub fn draw_rows(
    frame: &mut Frame,
    inner: Rect,
    rows: Vec<Line<'_>>,
    highlight: Option<usize>,
    view: &View,
) {
    let highlight_style = view.theme.selection();
    let lines: Vec<Line> = rows
        .into_iter()
        .enumerate()
        .map(|(i, line)| {
            if Some(i) == highlight {
                // Every span takes the selection colours (span styles win over the line's),
                // so the selected row is readable whatever colours its parts had.
                let spans = line
                    .spans
                    .into_iter()
                    .map(|span| {
                        let style = span.style.patch(highlight_style);
                        span.style(style)
                    })
                    .collect::<Vec<_>>();
                Line::from(spans).style(highlight_style)
            } else {
                line
            }
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), inner);
}

/// Renders a list pane: the block, a placeholder when empty, and the visible rows only.
/// `row` builds one line from a row index; it is called for visible rows only.
pub fn render_list<'a>(
    frame: &mut Frame,
    area: Rect,
    view: &View,
    pane: Pane,
    count: usize,
    title_extra: String,
    row: impl Fn(usize) -> Line<'a>,
) {
    render_rows(frame, area, view, pane, (count, title_extra), row, None);
}

/// As [`render_list`], for a pane whose rows sit under headings: `heading(i)` is the row that
/// heads row `i` (itself for a heading). When the rows overflow, they page one line short of
/// the area: a page that starts under a heading shows that heading first, muted, so a scrolled
/// page still says whose tasks or targets these are; any other page shows the next page's
/// first row there.
#[allow(clippy::too_many_arguments)]
pub fn render_grouped<'a>(
    frame: &mut Frame,
    area: Rect,
    view: &View,
    pane: Pane,
    count: usize,
    title_extra: String,
    row: impl Fn(usize) -> Line<'a>,
    heading: impl Fn(usize) -> Option<usize>,
) {
    render_rows(
        frame,
        area,
        view,
        pane,
        (count, title_extra),
        row,
        Some(&heading),
    );
}

/// The grouped panes page one line short of their height (see [`render_grouped`]).
fn is_grouped(pane: Pane) -> bool {
    matches!(pane, Pane::Resources | Pane::Ecs | Pane::Targets)
}

fn render_rows<'a>(
    frame: &mut Frame,
    area: Rect,
    view: &View,
    pane: Pane,
    (count, title_extra): (usize, String),
    row: impl Fn(usize) -> Line<'a>,
    heading: Option<&dyn Fn(usize) -> Option<usize>>,
) {
    // The inner height is the area's less its borders, known before the block is built.
    let height = area.height.saturating_sub(2) as usize;
    let selected = view.ui.selected(pane);
    let bottom = pane.anchored_at_bottom();
    let (win, context) = match heading {
        Some(heading) if count > height && height > 1 => {
            let page = window(count, selected, height - 1, bottom);
            match heading(page.start).filter(|&h| h < page.start) {
                Some(h) => (page, Some(h)),
                None => {
                    let end = (page.start + height).min(count);
                    (Window { end, ..page }, None)
                }
            }
        }
        _ => (window(count, selected, height, bottom), None),
    };
    let mut title_extra = title_extra;
    // A grouped pane longer than its area says which rows it shows: what is below is not lost.
    if !bottom && count > height && height > 0 {
        title_extra.push_str(&format!(" · {}–{} of {count}", win.start + 1, win.end));
    }
    let block = pane_block(pane, view, title_extra);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if count == 0 {
        let hint = Paragraph::new(Span::styled(empty_hint(pane), view.theme.muted()));
        frame.render_widget(hint, inner);
        return;
    }
    let mut lines: Vec<Line> = Vec::with_capacity(height);
    if let Some(h) = context {
        let muted = view.theme.muted();
        let spans = row(h).spans.into_iter().map(|s| s.style(muted));
        lines.push(Line::from(spans.collect::<Vec<_>>()));
    }
    let first = lines.len();
    lines.extend((win.start..win.end).map(&row));
    let highlight = (view.ui.focus == pane)
        .then(|| win.selected.map(|s| s - win.start + first))
        .flatten();
    draw_rows(frame, inner, lines, highlight, view);
}

/// The rows a filter or faults-only keeps, with their headings: `level(row)` is a heading's
/// depth (0 outermost) or None for a plain row. A heading stays when it passes itself or a row
/// beneath it does, so filtering 22 services down to one leaves one service, not 22 headings.
pub fn keep_with_headings<T>(
    rows: Vec<T>,
    level: impl Fn(&T) -> Option<usize>,
    passes: impl Fn(&T) -> bool,
) -> Vec<T> {
    let mut out = Vec::new();
    // Headings not yet shown, outermost first, each with its depth.
    let mut pending: Vec<(usize, T)> = Vec::new();
    for row in rows {
        let depth = level(&row);
        if let Some(depth) = depth {
            // A new heading closes the pending ones at its depth or deeper: nothing passed there.
            pending.retain(|(d, _)| *d < depth);
        }
        if passes(&row) {
            out.extend(pending.drain(..).map(|(_, heading)| heading));
            out.push(row);
        } else if let Some(depth) = depth {
            pending.push((depth, row));
        }
    }
    out
}

/// For each row, the nearest heading at or above it (`is_heading`), for [`render_grouped`].
pub fn headings<T>(rows: &[T], is_heading: impl Fn(&T) -> bool) -> Vec<Option<usize>> {
    let mut last = None;
    rows.iter()
        .enumerate()
        .map(|(i, r)| {
            if is_heading(r) {
                last = Some(i);
            }
            last
        })
        .collect()
}

/// What an empty pane says.
fn empty_hint(pane: Pane) -> &'static str {
    match pane {
        Pane::Resources => "no resources yet",
        Pane::Timeline => "nothing yet",
        Pane::Ecs => "no ECS services",
        Pane::Targets => "no target groups",
        Pane::Logs => "no log lines yet",
        Pane::Flags => "no open flags",
    }
}

/// The selected row index (oldest/top first) of a pane with `count` rows.
pub fn selected_row(view: &View, pane: Pane, count: usize) -> Option<usize> {
    window(count, view.ui.selected(pane), 1, pane.anchored_at_bottom()).selected
}

/// Untrusted AWS text, made safe for the terminal.
pub fn clean(text: &str) -> Cow<'_, str> {
    crate::sanitize::line(text)
}

/// The id at the end of a task ARN or an awslogs stream (`prefix/container/TASKID`), cleaned
/// and cut to its first `chars` characters.
pub fn short_id(arn_or_stream: &str, chars: usize) -> String {
    clean(task_id_of(arn_or_stream))
        .chars()
        .take(chars)
        .collect()
}

/// `HH:MM:SS`, UTC.
pub use crate::text::clock;

/// A compact duration: `42s`, `4m05s`, `1h02m`.
pub fn duration(d: TimeDelta) -> String {
    let s = d.num_seconds().max(0);
    if s < 60 {
        format!("{s}s")
    } else if s < 3600 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{}h{:02}m", s / 3600, (s % 3600) / 60)
    }
}

/// A short name for a target group ARN or a log group: its last meaningful segment.
pub fn short_name(arn_or_path: &str) -> &str {
    // targetgroup/NAME/ID → NAME
    if let Some(rest) = arn_or_path.split(":targetgroup/").nth(1) {
        return rest.split('/').next().unwrap_or(rest);
    }
    arn_or_path
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or(arn_or_path)
}

/// Whether a row of text passes the filter (faults-only is checked by the caller).
pub fn filter_keeps(view: &View, text: &[&str]) -> bool {
    match view.ui.regex() {
        None => true,
        Some(re) => text.iter().any(|t| re.is_match(t)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_heading_stays_only_with_what_passes_beneath_it() {
        // (depth or None, name): clusters at 0, services at 1, tasks below.
        let rows = vec![
            (Some(0), "c1"),
            (Some(1), "api"),
            (None, "api-task"),
            (Some(1), "web"),
            (None, "web-task-bad"),
            (Some(0), "c2"),
            (Some(1), "bad-svc"),
            (None, "worker-task"),
        ];
        let kept = keep_with_headings(rows, |r| r.0, |r| r.1.contains("bad"));
        let names: Vec<&str> = kept.iter().map(|r| r.1).collect();
        assert_eq!(names, ["c1", "web", "web-task-bad", "c2", "bad-svc"]);
    }

    #[test]
    fn window_pages_from_the_right_end() {
        // Top-anchored: pages of 5 from the top.
        assert_eq!(
            window(12, 7, 5, false),
            Window {
                start: 5,
                end: 10,
                selected: Some(7)
            }
        );
        // Bottom-anchored: selected 0 = newest, the last page is full.
        assert_eq!(
            window(12, 0, 5, true),
            Window {
                start: 7,
                end: 12,
                selected: Some(11)
            }
        );
        assert_eq!(
            window(12, 11, 5, true),
            Window {
                start: 0,
                end: 5,
                selected: Some(0)
            }
        );
        // Scrolled back: the page does not move when rows arrive (selected grows with count).
        assert_eq!(window(12, 6, 5, true).start, 5);
        assert_eq!(window(15, 9, 5, true).start, 5);
        assert_eq!(window(0, 3, 5, true).selected, None);
        assert_eq!(window(3, 99, 5, false).selected, Some(2));
    }

    #[test]
    fn new_rows_are_counted_across_a_wrapped_ring() {
        let ring = |keep: fn(usize) -> bool| Ring {
            dropped: 10,
            len: 5,
            keep,
        };
        // 10 dropped, 5 held (totals 10..15); the total was 12, so ring rows 2, 3, 4 are new.
        assert_eq!(ring(|_| true).total(), 15);
        assert_eq!(ring(|_| true).kept_since(12), 3);
        assert_eq!(ring(|i| i == 4).kept_since(12), 1);
        assert_eq!(ring(|_| true).kept_since(15), 0);
        // Older than anything held: every held row is new.
        assert_eq!(ring(|_| true).kept_since(3), 5);
    }

    #[test]
    fn short_ids_are_the_last_segment_cut_and_cleaned() {
        assert_eq!(
            short_id("arn:aws:ecs:us-east-1:1:task/prod/0123456789abcdef", 8),
            "01234567"
        );
        assert_eq!(short_id("/ecs/api/abc", 8), "abc");
        assert_eq!(short_id("task/c/\u{1b}[2Jab\u{7}cd", 3), "abc");
    }

    #[test]
    fn short_names() {
        assert_eq!(
            short_name("arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/web-tg/abc"),
            "web-tg"
        );
        assert_eq!(short_name("/ecs/payments-api"), "payments-api");
        assert_eq!(fit("abcdef", 4), "abc…");
        assert_eq!(fit("ab", 4), "ab  ");
        assert_eq!(duration(TimeDelta::seconds(245)), "4m05s");
    }
}
