//! Open flags: a strip across the top whenever any are open, one line per problem (worst
//! first), and the flags list (pane 6), grouped by problem, with a selection for details.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::{Pane, View, clean, clock, duration, render_list};
use crate::detect::{Evidence, Flag, Problem};
use crate::model::{Severity, Source, task_id_of};

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
        format!(" {}", clean(&flag.summary_at(view.now))),
        theme.text(),
    ));
    Line::from(spans)
}

/// The open flags grouped into problems, worst first.
pub fn problems<'a>(view: &View<'a>) -> Vec<Problem<'a>> {
    crate::detect::problems(view.flags, view.store)
}

/// The open flags in the order the flags pane lists them: each problem's root, then its
/// symptoms.
pub fn ordered<'a>(view: &View<'a>) -> Vec<&'a Flag> {
    problems(view).iter().flat_map(|p| p.flags()).collect()
}

/// `SEVERITY rule  resource  ×count, last 4s ago  root → symptom → symptom`.
fn problem_line<'a>(view: &View, problem: &Problem) -> Line<'a> {
    let theme = view.theme;
    let root = problem.root;
    Line::from(vec![
        Span::styled(
            format!(" {:<5} ", problem.severity.as_str().to_ascii_uppercase()),
            severity_style(view, problem.severity),
        ),
        Span::styled(format!("{} ", root.rule), theme.accent()),
        Span::styled(format!(" {} ", clean(&root.resource)), theme.title()),
        Span::styled(format!(" {} ", problem.extent(view.now)), theme.muted()),
        Span::styled(
            format!(" {}", clean(&problem.chain(view.now))),
            theme.text(),
        ),
    ])
}

/// The strip shows problems, not flags: one line each, root first.
pub fn render_strip(frame: &mut Frame, area: Rect, view: &View, problems: &[Problem]) {
    let height = area.height as usize;
    let total = problems.len();
    // When they do not all fit, the last line counts the rest.
    let shown = if total > height {
        height.saturating_sub(1)
    } else {
        total
    };
    let mut lines: Vec<Line> = problems[..shown]
        .iter()
        .map(|p| problem_line(view, p))
        .collect();
    if shown < total {
        lines.push(Line::from(Span::styled(
            format!(" +{} more problems (press 6 to list them)", total - shown),
            view.theme.warn(),
        )));
    }
    frame.render_widget(Paragraph::new(lines).style(view.theme.flag_strip()), area);
}

/// Every open flag, grouped under its problem: the root, then its symptoms indented.
pub fn render_pane(frame: &mut Frame, area: Rect, view: &View) {
    let problems = problems(view);
    let rows: Vec<(&Flag, bool)> = problems
        .iter()
        .flat_map(|p| std::iter::once((p.root, true)).chain(p.symptoms.iter().map(|f| (*f, false))))
        .collect();
    let count = rows.len();
    render_list(
        frame,
        area,
        view,
        Pane::Flags,
        count,
        format!(
            "{count} open in {}",
            crate::text::count_of(problems.len(), "problem")
        ),
        |i| {
            let (flag, root) = rows[i];
            let mut line = flag_line(view, flag);
            if !root {
                line.spans
                    .insert(0, Span::styled("   ↳", view.theme.muted()));
            }
            line
        },
    );
}

/// The problem the flag belongs to.
fn problem_of<'a, 'p>(problems: &'p [Problem<'a>], flag: &Flag) -> Option<&'p Problem<'a>> {
    problems
        .iter()
        .find(|p| p.flags().any(|f| std::ptr::eq(f, flag)))
}

/// A task the flag's problem names in its evidence (a stopped task, a log stream's task):
/// `l` in the details shows its logs.
pub fn task_of_problem(view: &View, flag: &Flag) -> Option<String> {
    let problems = problems(view);
    let problem = problem_of(&problems, flag)?;
    problem.flags().find_map(|f| {
        f.evidence.iter().rev().find_map(|e| match e.source {
            Source::EcsTask => Some(e.resource.clone()),
            Source::Log => Some(task_id_of(&e.resource).to_string()),
            _ => None,
        })
    })
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
        Line::from(clean(&flag.summary_at(view.now)).into_owned()),
        Line::from(""),
        Line::from(Span::styled("Next step", theme.title())),
        Line::from(clean(&flag.next_step).into_owned()),
        Line::from(""),
        Line::from(Span::styled("Evidence (newest last)", theme.title())),
    ];
    lines.extend(flag.evidence.iter().map(|e| evidence_line(view, e)));
    // The problem it belongs to: the chain from the root cause, each link with its newest
    // evidence.
    let problems = problems(view);
    if let Some(problem) = problem_of(&problems, flag).filter(|p| !p.symptoms.is_empty()) {
        lines.push(Line::from(""));
        lines.push(Line::from(Span::styled(
            format!("Problem ({} flags, root first)", problem.symptoms.len() + 1),
            theme.title(),
        )));
        lines.push(Line::from(clean(&problem.chain(view.now)).into_owned()));
        for f in problem.flags() {
            let mark = if std::ptr::eq(f, problem.root) {
                "root"
            } else {
                "  ↳ "
            };
            lines.push(Line::from(vec![
                Span::styled(format!("{mark} "), theme.muted()),
                Span::styled(format!("{} ", f.rule), theme.accent()),
                Span::styled(format!("{}: ", clean(&f.resource)), theme.title()),
                Span::raw(clean(&f.summary_at(view.now)).into_owned()),
            ]));
            for e in f.evidence.iter().rev().take(2).rev() {
                let mut line = evidence_line(view, e);
                line.spans.insert(0, Span::raw("       "));
                lines.push(line);
            }
        }
    }
    lines
}

fn evidence_line<'a>(view: &View, e: &Evidence) -> Line<'a> {
    let theme = view.theme;
    Line::from(vec![
        Span::styled(format!("{} ", clock(e.at)), theme.muted()),
        Span::styled(format!("{} ", e.source.as_str()), theme.accent()),
        Span::styled(format!("{}: ", clean(&e.resource)), theme.title()),
        Span::raw(clean(&e.counted_text()).into_owned()),
    ])
}
