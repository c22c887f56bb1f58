//! The header: the stack and its status, elapsed time, account and region, replay state and
//! virtual clock on the first line; the health of each source on the second.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::{View, clean, duration};
use crate::clock::{Mode, Speed};
use crate::model::{SourceState, StackState, cfn_status};

pub fn render(frame: &mut Frame, area: Rect, view: &View) {
    let theme = view.theme;
    let store = view.store;
    // Narrow terminals drop the product name and the date, never the status or the clock.
    let wide = area.width >= 120;
    let mut first = Vec::new();
    if wide {
        first.push(Span::styled(
            " stackwatch ",
            theme.header().patch(theme.accent()),
        ));
    }
    // Every root stack (a CDK app deploys several), else what the watch covers without one.
    let roots: Vec<_> = store
        .stacks
        .values()
        .filter(|s| !s.path.contains('/'))
        .collect();
    // The clock stays on screen: on narrow terminals several stacks, and on any more than
    // three, become one count (the Resources pane heads each with its status).
    let one_by_one = roots.len() == 1 || (wide && roots.len() <= 3);
    if !one_by_one && !roots.is_empty() {
        first.push(stacks_summary(view, &roots));
    }
    for (i, stack) in roots.iter().enumerate().filter(|_| one_by_one) {
        first.push(Span::raw(if i == 0 { " " } else { " · " }));
        first.push(Span::styled(clean(&stack.name).into_owned(), theme.title()));
        first.push(Span::raw(" "));
        let status = if stack.status.is_empty() {
            "…"
        } else {
            &stack.status
        };
        first.push(Span::styled(
            clean(status).into_owned(),
            theme.status(status),
        ));
    }
    if roots.is_empty() {
        match stackless_summary(view) {
            Some(summary) => first.push(Span::styled(format!(" {summary}"), theme.title())),
            None => first.push(Span::styled(" waiting for the stack…", theme.muted())),
        }
    }
    let elapsed = view.now - view.start;
    first.push(Span::styled(
        format!("  elapsed {}", duration(elapsed)),
        theme.text(),
    ));
    let speed = |speed| match speed {
        Speed::Factor(f) => format!(" {f}x"),
        Speed::Max => " max".to_string(),
    };
    let (mode, speed, mode_style) = match view.mode {
        Mode::Live { paused: true } => ("LIVE PAUSED", String::new(), theme.warn()),
        Mode::Live { paused: false } => ("LIVE", String::new(), theme.accent()),
        Mode::Replay {
            finished: true,
            speed: s,
            ..
        } => ("REPLAY END", speed(s), theme.muted()),
        Mode::Replay {
            paused: true,
            speed: s,
            ..
        } => ("PAUSED", speed(s), theme.warn()),
        Mode::Replay { speed: s, .. } => ("REPLAY", speed(s), theme.accent()),
    };
    first.push(Span::raw("  "));
    first.push(Span::styled(
        format!(" {mode}{speed} "),
        mode_style.patch(theme.selection()),
    ));
    let clock_format = if wide {
        "%Y-%m-%d %H:%M:%S UTC"
    } else {
        "%H:%M:%SZ"
    };
    first.push(Span::styled(
        format!("  {}", view.now.format(clock_format)),
        theme.text(),
    ));
    let account = view.header.account.as_deref().unwrap_or("-");
    let region = view.header.region.as_deref().unwrap_or("-");
    let where_ = Span::styled(
        format!("  {} {}", clean(account), clean(region)),
        theme.muted(),
    );
    let mut lines = Vec::new();
    if area.height >= 2 {
        lines.push(Line::from(first));
        let mut second = vec![where_];
        second.extend(sources_line(view).spans);
        lines.push(Line::from(second));
    } else {
        first.push(where_);
        lines.push(Line::from(first));
    }
    frame.render_widget(Paragraph::new(lines).style(theme.header()), area);
}

/// `3 stacks, 1 in progress`, coloured by the worst of them.
fn stacks_summary(view: &View, roots: &[&StackState]) -> Span<'static> {
    let theme = view.theme;
    let count = |f: fn(&str) -> bool| roots.iter().filter(|s| f(&s.status)).count();
    let failed = count(|s| cfn_status::is_failed(s) || cfn_status::is_rollback(s));
    let busy = count(cfn_status::is_in_progress);
    let n = roots.len();
    if failed > 0 {
        Span::styled(format!(" {n} stacks, {failed} failed"), theme.error())
    } else if busy > 0 {
        Span::styled(
            format!(" {n} stacks, {busy} in progress"),
            theme.in_progress(),
        )
    } else {
        Span::styled(format!(" {n} stacks"), theme.ok())
    }
}

/// Without a stack: the clusters watched and how many services (`cluster big · 22 services`),
/// or None when nothing shows yet.
fn stackless_summary(view: &View) -> Option<String> {
    let store = view.store;
    let mut clusters: Vec<&str> = store.services.keys().map(|k| k.cluster.as_str()).collect();
    clusters.extend(
        store
            .watched
            .keys()
            .filter(|k| k.what == "cluster")
            .map(|k| k.id.as_str()),
    );
    clusters.sort_unstable();
    clusters.dedup();
    if clusters.is_empty() {
        return None;
    }
    let services = store.services.len();
    Some(format!(
        "cluster{} {} · {services} service{}",
        if clusters.len() == 1 { "" } else { "s" },
        clean(&clusters.join(", ")),
        if services == 1 { "" } else { "s" }
    ))
}

/// A healthy source's data is stale past this: twice its slowest (idle) interval. One that is
/// failing says how stale from half a minute.
const STALE_AFTER_S: u64 = 120;
const FAILING_STALE_AFTER_S: u64 = 30;

/// `sources: cfn 12/min · ecs 18/min throttled 2 paced by budget · logs stale 140s`.
fn sources_line(view: &View) -> Line<'static> {
    let theme = view.theme;
    let mut spans = vec![Span::styled("  sources:", theme.muted())];
    if view.store.sources.is_empty() {
        spans.push(Span::styled(" none reported", theme.muted()));
    }
    for (i, source) in view.store.sources.values().enumerate() {
        if i > 0 {
            spans.push(Span::styled(" ·", theme.muted()));
        }
        let style = match source.state {
            SourceState::Ok => theme.ok(),
            SourceState::Throttled => theme.warn(),
            _ => theme.error(),
        };
        spans.push(Span::styled(format!(" {}", clean(&source.name)), style));
        spans.push(Span::styled(
            format!(" {:.0}/min", source.calls_per_min),
            theme.text(),
        ));
        if source.throttled > 0 {
            spans.push(Span::styled(
                format!(" throttled {}", source.throttled),
                theme.warn(),
            ));
        }
        // The API budget, not the source's cadence, sets its pace just now.
        if source.paced {
            spans.push(Span::styled(" paced by budget", theme.warn()));
        }
        let said = source.state == SourceState::Ok
            || (source.state == SourceState::Throttled && source.throttled > 0);
        if !said {
            spans.push(Span::styled(format!(" {}", source.state.as_str()), style));
        }
        // A minute between polls is normal once all is settled; say stale only when it is not.
        // Measured at the view's time, so a replay shows what live showed at that moment.
        let stale_s = source.stale_s_at(view.now);
        let after = if source.state == SourceState::Ok {
            STALE_AFTER_S
        } else {
            FAILING_STALE_AFTER_S
        };
        if stale_s >= after {
            spans.push(Span::styled(format!(" stale {stale_s}s"), theme.warn()));
        }
    }
    Line::from(spans)
}
