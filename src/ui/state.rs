//! What the user has done to the screen: focus, selection per pane, filter, toggles, popup.
//! `update` is a pure transition from a key to a new state plus an [`Action`] for the loop,
//! so tests drive it without a terminal.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseEvent, MouseEventKind};
use ratatui::layout::{Position, Rect};
use regex::Regex;

/// The panes, in Tab order and numbered 1–6.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Pane {
    Resources,
    Timeline,
    Ecs,
    Targets,
    Logs,
    Flags,
}

impl Pane {
    pub const ALL: [Pane; 6] = [
        Pane::Resources,
        Pane::Timeline,
        Pane::Ecs,
        Pane::Targets,
        Pane::Logs,
        Pane::Flags,
    ];

    pub fn index(self) -> usize {
        Pane::ALL.iter().position(|p| *p == self).unwrap_or(0)
    }

    pub fn title(self) -> &'static str {
        match self {
            Pane::Resources => "Resources",
            Pane::Timeline => "Timeline",
            Pane::Ecs => "ECS",
            Pane::Targets => "Targets",
            Pane::Logs => "Logs",
            Pane::Flags => "Flags",
        }
    }

    fn next(self) -> Pane {
        Pane::ALL[(self.index() + 1) % Pane::ALL.len()]
    }

    fn prev(self) -> Pane {
        Pane::ALL[(self.index() + Pane::ALL.len() - 1) % Pane::ALL.len()]
    }

    /// Timeline and logs grow at the bottom, so their selection counts up from the newest row
    /// (0 = newest, and the view follows new rows).
    pub fn anchored_at_bottom(self) -> bool {
        matches!(self, Pane::Timeline | Pane::Logs)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Popup {
    Help,
    /// The focused pane's selected row, in full.
    Details,
}

/// An applied regex filter.
#[derive(Debug, Clone)]
pub struct Filter {
    pub pattern: String,
    pub regex: Regex,
}

/// What the loop must do after a key; everything else is a change of this state.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    None,
    Quit,
    TogglePause,
    /// Seek the replay by this many virtual seconds.
    Seek(i64),
    Faster,
    Slower,
    /// From a details popup: show the logs of the selected row's task.
    TaskLogs,
    /// The user typed a note: record it and show it on the timeline.
    Note(crate::model::Note),
}

/// Per-pane row counts and page height, refreshed by the loop before input is handled, so
/// moving the selection clamps to real rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RowCounts {
    pub rows: [usize; 6],
    pub page: usize,
}

impl Default for RowCounts {
    fn default() -> Self {
        RowCounts {
            rows: [0; 6],
            page: 10,
        }
    }
}

#[derive(Debug, Clone)]
pub struct UiState {
    pub focus: Pane,
    /// Selected row per pane (see [`Pane::anchored_at_bottom`]).
    pub selected: [usize; 6],
    pub filter: Option<Filter>,
    /// The filter being typed on the bottom line, if any.
    pub filter_input: Option<String>,
    /// Why the typed pattern is not a valid regex.
    pub filter_error: Option<String>,
    /// The note being typed on the bottom line, if any (`n`).
    pub note_input: Option<String>,
    /// A short word on the status line (a note was saved) until the next key.
    pub notice: Option<String>,
    /// Show only rows at warn level or worse.
    pub faults_only: bool,
    pub zoom: bool,
    pub popup: Option<Popup>,
    pub popup_scroll: u16,
    pub counts: RowCounts,
    /// The user picked a pane (key or click): the screen no longer picks one for them.
    pub focus_chosen: bool,
}

impl Default for UiState {
    fn default() -> Self {
        UiState {
            focus: Pane::Resources,
            selected: [0; 6],
            filter: None,
            filter_input: None,
            filter_error: None,
            note_input: None,
            notice: None,
            faults_only: false,
            zoom: false,
            popup: None,
            popup_scroll: 0,
            counts: RowCounts::default(),
            focus_chosen: false,
        }
    }
}

/// Mouse wheel steps.
const WHEEL_ROWS: usize = 3;

impl UiState {
    pub fn selected(&self, pane: Pane) -> usize {
        self.selected[pane.index()]
    }

    /// The regex of the applied filter.
    pub fn regex(&self) -> Option<&Regex> {
        self.filter.as_ref().map(|f| &f.regex)
    }

    /// Handles one key. Ctrl-C always quits, even inside the filter line.
    pub fn update(&mut self, key: KeyEvent) -> Action {
        if key.kind == KeyEventKind::Release {
            return Action::None;
        }
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        if ctrl && matches!(key.code, KeyCode::Char('c')) {
            return Action::Quit;
        }
        self.notice = None;
        if self.note_input.is_some() {
            return self.edit_note(key);
        }
        if self.filter_input.is_some() {
            self.edit_filter(key);
            return Action::None;
        }
        if let Some(popup) = self.popup {
            return self.popup_key(popup, key);
        }
        match key.code {
            KeyCode::Char('q') => return Action::Quit,
            KeyCode::Char('p') | KeyCode::Char(' ') => return Action::TogglePause,
            KeyCode::Char('[') => return Action::Seek(-30),
            KeyCode::Char(']') => return Action::Seek(30),
            KeyCode::Char('+') | KeyCode::Char('=') => return Action::Faster,
            KeyCode::Char('-') => return Action::Slower,
            KeyCode::Tab => self.focus(self.focus.next()),
            KeyCode::BackTab => self.focus(self.focus.prev()),
            KeyCode::Char(c @ '1'..='6') => {
                self.focus(Pane::ALL[(c as u8 - b'1') as usize]);
            }
            KeyCode::Char('j') | KeyCode::Down => self.move_by(1),
            KeyCode::Char('k') | KeyCode::Up => self.move_by(-1),
            KeyCode::PageDown => self.move_by(self.page() as isize),
            KeyCode::PageUp => self.move_by(-(self.page() as isize)),
            KeyCode::Char('d') if ctrl => self.move_by(self.page() as isize / 2),
            KeyCode::Char('u') if ctrl => self.move_by(-(self.page() as isize / 2)),
            KeyCode::Char('g') | KeyCode::Home => self.move_to_top(),
            KeyCode::Char('G') | KeyCode::End => self.move_to_bottom(),
            KeyCode::Enter => {
                self.popup = Some(Popup::Details);
                self.popup_scroll = 0;
            }
            KeyCode::Char('?') => {
                self.popup = Some(Popup::Help);
                self.popup_scroll = 0;
            }
            KeyCode::Char('/') => {
                let current = self.filter.as_ref().map(|f| f.pattern.clone());
                self.filter_input = Some(current.unwrap_or_default());
                self.filter_error = None;
            }
            KeyCode::Char('n') => self.note_input = Some(String::new()),
            KeyCode::Char('f') => {
                self.faults_only = !self.faults_only;
                self.reset_filtered_selection();
            }
            KeyCode::Char('z') => self.zoom = !self.zoom,
            KeyCode::Esc => {
                if self.filter.is_some() {
                    self.filter = None;
                    self.reset_filtered_selection();
                } else {
                    self.zoom = false;
                }
            }
            _ => {}
        }
        Action::None
    }

    fn popup_key(&mut self, popup: Popup, key: KeyEvent) -> Action {
        match key.code {
            KeyCode::Char('q') => return Action::Quit,
            KeyCode::Esc | KeyCode::Enter => self.popup = None,
            KeyCode::Char('?') if popup == Popup::Help => self.popup = None,
            KeyCode::Char('j') | KeyCode::Down => {
                self.popup_scroll = self.popup_scroll.saturating_add(1)
            }
            KeyCode::Char('k') | KeyCode::Up => {
                self.popup_scroll = self.popup_scroll.saturating_sub(1)
            }
            KeyCode::PageDown => self.popup_scroll = self.popup_scroll.saturating_add(10),
            KeyCode::PageUp => self.popup_scroll = self.popup_scroll.saturating_sub(10),
            KeyCode::Char('g') => self.popup_scroll = 0,
            KeyCode::Char('p') | KeyCode::Char(' ') => return Action::TogglePause,
            KeyCode::Char('l') if popup == Popup::Details => return Action::TaskLogs,
            _ => {}
        }
        Action::None
    }

    /// Typing on the filter line: the filter applies as you type while the pattern is valid;
    /// Enter keeps it, Esc drops it.
    fn edit_filter(&mut self, key: KeyEvent) {
        let Some(input) = self.filter_input.as_mut() else {
            return;
        };
        match key.code {
            KeyCode::Esc => {
                self.filter_input = None;
                self.filter_error = None;
                self.filter = None;
            }
            // An invalid pattern stays on the line until fixed or dropped.
            KeyCode::Enter if self.filter_error.is_none() => self.filter_input = None,
            KeyCode::Backspace => {
                input.pop();
                self.apply_typed_filter();
            }
            KeyCode::Char(c) => {
                input.push(c);
                self.apply_typed_filter();
            }
            _ => {}
        }
    }

    /// Typing a note on the bottom line: Enter saves it (an empty one is dropped), Esc
    /// cancels. Control characters are never kept, and the line stops at
    /// [`MAX_NOTE_CHARS`](crate::model::MAX_NOTE_CHARS).
    fn edit_note(&mut self, key: KeyEvent) -> Action {
        let Some(input) = self.note_input.as_mut() else {
            return Action::None;
        };
        match key.code {
            KeyCode::Esc => self.note_input = None,
            KeyCode::Enter => {
                let typed = self.note_input.take().unwrap_or_default();
                if let Some(note) = crate::model::Note::typed(&typed) {
                    return Action::Note(note);
                }
            }
            KeyCode::Backspace => {
                input.pop();
            }
            KeyCode::Char(c)
                if !c.is_control()
                    && !crate::sanitize::is_bidi_control(c)
                    && input.chars().count() < crate::model::MAX_NOTE_CHARS =>
            {
                input.push(c);
            }
            _ => {}
        }
        Action::None
    }

    fn apply_typed_filter(&mut self) {
        let Some(input) = &self.filter_input else {
            return;
        };
        if input.is_empty() {
            self.filter = None;
            self.filter_error = None;
        } else {
            // A size limit keeps a pathological pattern from eating memory; regex never
            // backtracks, so matching time stays linear.
            match regex::RegexBuilder::new(input)
                .case_insensitive(true)
                .size_limit(1 << 20)
                .build()
            {
                Ok(regex) => {
                    self.filter = Some(Filter {
                        pattern: input.clone(),
                        regex,
                    });
                    self.filter_error = None;
                }
                Err(e) => {
                    // The first line of regex's message is enough for one status line.
                    let msg = e.to_string();
                    let last = msg.lines().last().unwrap_or("invalid regex").trim();
                    self.filter_error = Some(last.to_string());
                }
            }
        }
        self.reset_filtered_selection();
    }

    /// New rows arrived at the bottom of a bottom-anchored pane. A selection that follows the
    /// newest row keeps following; one the user moved up stays on its row.
    pub fn rows_arrived(&mut self, pane: Pane, new_rows: usize) {
        let sel = &mut self.selected[pane.index()];
        if *sel > 0 {
            *sel = sel.saturating_add(new_rows);
        }
    }

    /// Jumps to the logs of one task: a filter on its id, the Logs pane, newest line.
    pub fn show_task_logs(&mut self, task_id: &str) {
        let pattern = regex::escape(task_id);
        if let Ok(regex) = regex::Regex::new(&pattern) {
            self.filter = Some(Filter { pattern, regex });
        }
        self.filter_error = None;
        self.popup = None;
        self.focus = Pane::Logs;
        self.reset_filtered_selection();
    }

    /// A new filter changes which rows exist: start again at the newest/top row.
    fn reset_filtered_selection(&mut self) {
        for pane in [Pane::Resources, Pane::Timeline, Pane::Logs] {
            self.selected[pane.index()] = 0;
        }
    }

    fn focus(&mut self, pane: Pane) {
        self.focus = pane;
        self.focus_chosen = true;
    }

    /// A watch without a stack (`--cluster C`) opens on the ECS pane once its services show:
    /// the resources pane would stay empty. Once only, and never over the user's own choice.
    pub fn open_on_services(&mut self) {
        if !self.focus_chosen && self.focus == Pane::Resources {
            self.focus = Pane::Ecs;
        }
        self.focus_chosen = true;
    }

    fn page(&self) -> usize {
        self.counts.page.max(1)
    }

    fn count(&self) -> usize {
        self.counts.rows[self.focus.index()]
    }

    /// Moves the selection `delta` rows down the screen (positive = down = newer).
    pub fn move_by(&mut self, delta: isize) {
        let pane = self.focus;
        self.move_pane(pane, delta);
    }

    fn move_pane(&mut self, pane: Pane, delta: isize) {
        let last = self.counts.rows[pane.index()].saturating_sub(1);
        let sel = &mut self.selected[pane.index()];
        // Bottom-anchored panes count up from the newest row, so "down" decreases.
        let delta = if pane.anchored_at_bottom() {
            -delta
        } else {
            delta
        };
        *sel = sel.saturating_add_signed(delta).min(last);
    }

    fn move_to_top(&mut self) {
        let last = self.count().saturating_sub(1);
        self.selected[self.focus.index()] = if self.focus.anchored_at_bottom() {
            last
        } else {
            0
        };
    }

    fn move_to_bottom(&mut self) {
        let last = self.count().saturating_sub(1);
        self.selected[self.focus.index()] = if self.focus.anchored_at_bottom() {
            0
        } else {
            last
        };
    }

    /// Mouse: the wheel scrolls the pane under the pointer (else the focused one); a click
    /// focuses the pane it lands on. `panes` are the areas the last layout gave.
    pub fn mouse(&mut self, event: MouseEvent, panes: &[(Pane, Rect)]) {
        let at = Position::new(event.column, event.row);
        let under = panes
            .iter()
            .find(|(_, rect)| rect.contains(at))
            .map(|(pane, _)| *pane);
        let delta = match event.kind {
            MouseEventKind::ScrollDown => WHEEL_ROWS as isize,
            MouseEventKind::ScrollUp => -(WHEEL_ROWS as isize),
            MouseEventKind::Down(_) => {
                if let Some(pane) = under
                    && self.popup.is_none()
                {
                    self.focus(pane);
                }
                return;
            }
            _ => return,
        };
        if self.popup.is_some() {
            self.popup_scroll = self.popup_scroll.saturating_add_signed(delta as i16);
            return;
        }
        self.move_pane(under.unwrap_or(self.focus), delta);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    fn typed(ui: &mut UiState, text: &str) {
        for c in text.chars() {
            ui.update(key(KeyCode::Char(c)));
        }
    }

    fn with_rows(rows: usize) -> UiState {
        UiState {
            counts: RowCounts {
                rows: [rows; 6],
                page: 5,
            },
            ..UiState::default()
        }
    }

    #[test]
    fn a_stackless_watch_opens_on_ecs_unless_the_user_chose() {
        let mut ui = UiState::default();
        ui.open_on_services();
        assert_eq!(ui.focus, Pane::Ecs);
        let mut ui = UiState::default();
        ui.update(key(KeyCode::Char('5')));
        ui.open_on_services();
        assert_eq!(ui.focus, Pane::Logs, "the user's choice stands");
        let mut ui = UiState::default();
        ui.update(key(KeyCode::Char('1')));
        ui.open_on_services();
        assert_eq!(ui.focus, Pane::Resources);
    }

    #[test]
    fn tab_number_and_backtab_move_focus() {
        let mut ui = UiState::default();
        assert_eq!(ui.focus, Pane::Resources);
        ui.update(key(KeyCode::Tab));
        assert_eq!(ui.focus, Pane::Timeline);
        ui.update(key(KeyCode::Char('5')));
        assert_eq!(ui.focus, Pane::Logs);
        ui.update(key(KeyCode::Char('6')));
        assert_eq!(ui.focus, Pane::Flags);
        ui.update(key(KeyCode::Tab));
        assert_eq!(ui.focus, Pane::Resources);
        ui.update(key(KeyCode::BackTab));
        assert_eq!(ui.focus, Pane::Flags);
    }

    #[test]
    fn selection_moves_and_clamps() {
        let mut ui = with_rows(20);
        ui.update(key(KeyCode::Char('k')));
        assert_eq!(ui.selected(Pane::Resources), 0);
        ui.update(key(KeyCode::Char('j')));
        ui.update(key(KeyCode::Down));
        assert_eq!(ui.selected(Pane::Resources), 2);
        ui.update(key(KeyCode::PageDown));
        assert_eq!(ui.selected(Pane::Resources), 7);
        ui.update(key(KeyCode::Char('G')));
        assert_eq!(ui.selected(Pane::Resources), 19);
        ui.update(key(KeyCode::Char('j')));
        assert_eq!(ui.selected(Pane::Resources), 19);
        ui.update(key(KeyCode::Char('g')));
        assert_eq!(ui.selected(Pane::Resources), 0);
    }

    #[test]
    fn timeline_selection_counts_from_the_newest_row() {
        let mut ui = with_rows(20);
        ui.update(key(KeyCode::Char('2')));
        ui.update(key(KeyCode::Char('k')));
        assert_eq!(ui.selected(Pane::Timeline), 1, "up moves to an older row");
        ui.update(key(KeyCode::Char('g')));
        assert_eq!(ui.selected(Pane::Timeline), 19);
        ui.update(key(KeyCode::Char('G')));
        assert_eq!(
            ui.selected(Pane::Timeline),
            0,
            "G follows the newest row again"
        );
    }

    #[test]
    fn a_selection_moved_up_stays_on_its_row_as_rows_arrive() {
        let mut ui = with_rows(20);
        ui.rows_arrived(Pane::Timeline, 5);
        assert_eq!(ui.selected(Pane::Timeline), 0, "following the newest row");
        ui.update(key(KeyCode::Char('2')));
        ui.update(key(KeyCode::Char('k')));
        ui.rows_arrived(Pane::Timeline, 5);
        assert_eq!(ui.selected(Pane::Timeline), 6);
    }

    #[test]
    fn filter_is_typed_applied_and_cleared() {
        let mut ui = UiState::default();
        ui.update(key(KeyCode::Char('/')));
        typed(&mut ui, "fail|error");
        assert_eq!(ui.filter.as_ref().unwrap().pattern, "fail|error");
        // While typing, q is text, not quit.
        assert_eq!(ui.update(key(KeyCode::Char('q'))), Action::None);
        ui.update(key(KeyCode::Backspace));
        ui.update(key(KeyCode::Enter));
        assert!(ui.filter_input.is_none());
        assert!(ui.regex().unwrap().is_match("Task FAILED"));
        ui.update(key(KeyCode::Esc));
        assert!(ui.filter.is_none());
    }

    #[test]
    fn a_note_is_typed_and_saved_with_enter() {
        let mut ui = UiState::default();
        assert_eq!(ui.update(key(KeyCode::Char('n'))), Action::None);
        assert_eq!(ui.note_input.as_deref(), Some(""));
        // While typing, keys are text: q does not quit, / does not filter.
        typed(&mut ui, "restarted the svc/q");
        assert!(ui.filter_input.is_none());
        for _ in 0..5 {
            ui.update(key(KeyCode::Backspace));
        }
        typed(&mut ui, "service");
        let action = ui.update(key(KeyCode::Enter));
        let Action::Note(note) = action else {
            panic!("Enter saves the note: {action:?}");
        };
        assert_eq!(note.text, "restarted the service");
        assert_eq!(note.author, None);
        assert!(ui.note_input.is_none());
        // Back to normal keys.
        assert_eq!(ui.update(key(KeyCode::Char('q'))), Action::Quit);
    }

    #[test]
    fn esc_cancels_a_note_and_an_empty_one_is_not_saved() {
        let mut ui = UiState::default();
        ui.update(key(KeyCode::Char('n')));
        typed(&mut ui, "never mind");
        assert_eq!(ui.update(key(KeyCode::Esc)), Action::None);
        assert!(ui.note_input.is_none());
        ui.update(key(KeyCode::Char('n')));
        typed(&mut ui, "   ");
        assert_eq!(ui.update(key(KeyCode::Enter)), Action::None);
        assert!(ui.note_input.is_none());
        // Ctrl-C still quits from the note line.
        ui.update(key(KeyCode::Char('n')));
        let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert_eq!(ui.update(ctrl_c), Action::Quit);
    }

    #[test]
    fn a_note_keeps_no_control_characters_and_is_capped() {
        let mut ui = UiState::default();
        ui.update(key(KeyCode::Char('n')));
        typed(&mut ui, "a\u{1b}[2Jb\u{7}c\u{202e}d\u{9b}e");
        ui.update(key(KeyCode::Tab));
        assert_eq!(ui.note_input.as_deref(), Some("a[2Jbcde"));
        typed(&mut ui, &"x".repeat(2 * crate::model::MAX_NOTE_CHARS));
        assert_eq!(
            ui.note_input.as_ref().unwrap().chars().count(),
            crate::model::MAX_NOTE_CHARS
        );
        let Action::Note(note) = ui.update(key(KeyCode::Enter)) else {
            panic!("saved");
        };
        assert_eq!(note.text.chars().count(), crate::model::MAX_NOTE_CHARS);
        // Text that reaches a note another way (a paste, a test) is cleaned the same way.
        let note = crate::model::Note::typed("  ok\u{1b}]52;c;eA==\u{7} go\t ").unwrap();
        assert_eq!(note.text, "ok go");
    }

    #[test]
    fn invalid_regex_shows_an_error_and_keeps_the_last_good_filter() {
        let mut ui = UiState::default();
        ui.update(key(KeyCode::Char('/')));
        typed(&mut ui, "ab");
        typed(&mut ui, "(");
        assert!(ui.filter_error.is_some());
        assert_eq!(ui.filter.as_ref().unwrap().pattern, "ab");
        // Enter does not accept an invalid pattern; Esc drops it.
        ui.update(key(KeyCode::Enter));
        assert!(ui.filter_input.is_some());
        typed(&mut ui, "[[[*");
        ui.update(key(KeyCode::Esc));
        assert!(ui.filter.is_none() && ui.filter_input.is_none() && ui.filter_error.is_none());
    }

    #[test]
    fn toggles_and_loop_actions() {
        let mut ui = UiState::default();
        ui.update(key(KeyCode::Char('f')));
        assert!(ui.faults_only);
        ui.update(key(KeyCode::Char('z')));
        assert!(ui.zoom);
        ui.update(key(KeyCode::Esc));
        assert!(!ui.zoom);
        assert_eq!(ui.update(key(KeyCode::Char('p'))), Action::TogglePause);
        assert_eq!(ui.update(key(KeyCode::Char(' '))), Action::TogglePause);
        assert_eq!(ui.update(key(KeyCode::Char('['))), Action::Seek(-30));
        assert_eq!(ui.update(key(KeyCode::Char(']'))), Action::Seek(30));
        assert_eq!(ui.update(key(KeyCode::Char('+'))), Action::Faster);
        assert_eq!(ui.update(key(KeyCode::Char('-'))), Action::Slower);
        assert_eq!(ui.update(key(KeyCode::Char('q'))), Action::Quit);
        let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
        ui.update(key(KeyCode::Char('/')));
        assert_eq!(ui.update(ctrl_c), Action::Quit);
    }

    #[test]
    fn popups_open_and_close() {
        let mut ui = UiState::default();
        ui.update(key(KeyCode::Char('?')));
        assert_eq!(ui.popup, Some(Popup::Help));
        ui.update(key(KeyCode::Char('j')));
        assert_eq!(ui.popup_scroll, 1);
        ui.update(key(KeyCode::Esc));
        assert_eq!(ui.popup, None);
        ui.update(key(KeyCode::Enter));
        assert_eq!(ui.popup, Some(Popup::Details));
        assert_eq!(ui.update(key(KeyCode::Char('l'))), Action::TaskLogs);
        ui.show_task_logs("abc.123");
        assert_eq!(ui.popup, None);
        assert_eq!(ui.focus, Pane::Logs);
        assert!(ui.regex().unwrap().is_match("x/abc.123"));
        assert!(!ui.regex().unwrap().is_match("x/abcx123"));
    }

    #[test]
    fn wheel_scrolls_the_pane_under_the_pointer() {
        let mut ui = with_rows(20);
        let panes = [
            (Pane::Resources, Rect::new(0, 0, 10, 10)),
            (Pane::Ecs, Rect::new(10, 0, 10, 10)),
        ];
        let wheel = MouseEvent {
            kind: MouseEventKind::ScrollDown,
            column: 12,
            row: 3,
            modifiers: KeyModifiers::NONE,
        };
        ui.mouse(wheel, &panes);
        assert_eq!(ui.selected(Pane::Ecs), 3);
        assert_eq!(ui.selected(Pane::Resources), 0);
        assert_eq!(ui.focus, Pane::Resources);
    }
}
