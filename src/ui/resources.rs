//! The resources tree: each stack's resources, a nested stack's resources indented beneath
//! its `AWS::CloudFormation::Stack` row, with a live timer and stall markers. Several root
//! stacks (a CDK app's) each get a heading row with their status, their resources beneath.

use std::collections::BTreeSet;

use chrono::TimeDelta;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use super::{
    Pane, View, clean, clock, duration, filter_keeps, fit, headings, keep_with_headings,
    render_grouped,
};
use crate::detect::fmt_duration;
use crate::model::store::cfn_level;
use crate::model::{ResourceKey, ResourceState, Severity, StackState, Store};

/// Nested stacks deeper than this are not followed (paths only grow, but stay safe).
const MAX_DEPTH: usize = 16;

/// One visible row.
pub enum Row<'a> {
    /// A root stack's heading, when more than one is watched.
    Stack(&'a StackState),
    /// A resource and how deep in the nested stacks it is.
    Resource {
        resource: &'a ResourceState,
        depth: usize,
    },
}

impl<'a> Row<'a> {
    pub fn resource(&self) -> Option<&'a ResourceState> {
        match self {
            Row::Stack(_) => None,
            Row::Resource { resource, .. } => Some(resource),
        }
    }
}

/// The resources of one stack path, by logical id.
fn resources_of<'a>(store: &'a Store, path: &str) -> impl Iterator<Item = &'a ResourceState> {
    let from = ResourceKey {
        stack: path.to_string(),
        logical_id: String::new(),
    };
    let path = path.to_string();
    store
        .resources
        .range(from..)
        .take_while(move |(k, _)| k.stack == path)
        .map(|(_, r)| r)
}

fn walk<'a>(
    store: &'a Store,
    path: &str,
    depth: usize,
    visited: &mut BTreeSet<String>,
    out: &mut Vec<Row<'a>>,
) {
    if depth > MAX_DEPTH || !visited.insert(path.to_string()) {
        return;
    }
    for resource in resources_of(store, path) {
        out.push(Row::Resource { resource, depth });
        if let Some(child) = resource.child_stack_path() {
            walk(store, &child, depth + 1, visited, out);
        }
    }
}

/// The whole tree, root stack first. Stacks whose parent row is not known yet (a nested stack
/// seen before its parent's resource) follow at the top level so nothing is hidden.
pub fn tree(store: &Store) -> Vec<Row<'_>> {
    let mut out = Vec::new();
    let mut visited = BTreeSet::new();
    let roots: Vec<&StackState> = store
        .stacks
        .values()
        .filter(|s| !s.path.contains('/'))
        .collect();
    if roots.len() > 1 {
        for root in roots {
            out.push(Row::Stack(root));
            walk(store, &root.path, 1, &mut visited, &mut out);
        }
    } else if let Some(root) = roots.first() {
        walk(store, &root.path, 0, &mut visited, &mut out);
    }
    let mut paths: Vec<&str> = store.resources.keys().map(|k| k.stack.as_str()).collect();
    paths.dedup();
    for path in paths {
        if !visited.contains(path) {
            let depth = path.matches('/').count().min(1);
            walk(store, path, depth, &mut visited, &mut out);
        }
    }
    out
}

/// (a flag's subject is this resource or what it created, it has been in progress past its
/// type's stall threshold). Slow is marked even without a flag: nested stacks and resources
/// waiting for signals have no `stall.resource`, and a flag can be resolved or not yet raised.
pub fn is_stalled(view: &View, r: &ResourceState) -> (bool, bool) {
    let flagged = view.flags.iter().any(|f| f.subject.names_resource(r));
    let slow = view.detect.past_stall_warning(r, view.now);
    (flagged, slow)
}

fn is_fault(view: &View, r: &ResourceState) -> bool {
    let (flagged, slow) = is_stalled(view, r);
    cfn_level(&r.status) >= Severity::Warn || flagged || slow
}

/// The rows after the filter and faults-only.
pub fn rows<'a>(view: &View<'a>) -> Vec<Row<'a>> {
    let all = tree(view.store);
    if view.ui.filter.is_none() && !view.ui.faults_only {
        return all;
    }
    // Stack headings stay as headings of what passes beneath them.
    let level = |row: &Row| matches!(row, Row::Stack(_)).then_some(0);
    keep_with_headings(all, level, |row| {
        let Some(r) = row.resource() else {
            return false;
        };
        (!view.ui.faults_only || is_fault(view, r))
            && filter_keeps(
                view,
                &[
                    &r.key.logical_id,
                    &r.resource_type,
                    &r.status,
                    r.reason.as_deref().unwrap_or(""),
                ],
            )
    })
}

/// `AWS::ECS::Service` → `ECS::Service`.
fn short_type(t: &str) -> &str {
    t.strip_prefix("AWS::").unwrap_or(t)
}

/// Live timer while in progress, else how long the last phase took.
fn timer(view: &View, r: &ResourceState) -> String {
    match (r.started_at, r.finished_at) {
        (Some(start), None) if r.is_in_progress() => duration(view.now - start),
        (Some(start), Some(end)) if end >= start => duration(end - start),
        _ => String::new(),
    }
}

/// A root stack's heading: its name, status and how long its operation has run.
fn stack_line<'a>(view: &View, stack: &StackState) -> Line<'a> {
    let theme = view.theme;
    let status = if stack.status.is_empty() {
        "…"
    } else {
        &stack.status
    };
    let mut spans = vec![
        Span::styled(format!("▾ {} ", clean(&stack.name)), theme.title()),
        Span::styled(clean(status).into_owned(), theme.status(status)),
    ];
    if let Some(start) = stack.operation_started_at
        && crate::model::cfn_status::is_in_progress(&stack.status)
    {
        spans.push(Span::styled(
            format!("  {}", duration(view.now - start)),
            theme.muted(),
        ));
    }
    Line::from(spans)
}

fn row_line<'a>(view: &View, row: &Row, width: usize) -> Line<'a> {
    let theme = view.theme;
    let (r, depth) = match row {
        Row::Stack(stack) => return stack_line(view, stack),
        Row::Resource { resource, depth } => (*resource, *depth),
    };
    let (flagged, slow) = is_stalled(view, r);
    let marker = if flagged {
        Span::styled("⚠ ", theme.error())
    } else if slow {
        Span::styled("⏳", theme.warn())
    } else {
        Span::raw("  ")
    };
    let indent = "  ".repeat(depth);
    let branch = if r.child_stack_path().is_some() {
        "▾ "
    } else {
        ""
    };
    // The type column only on wide panes; the name takes what the others leave.
    let type_width = match width {
        0..70 => 0,
        70..100 => 20,
        _ => 24,
    };
    let name_width = width.saturating_sub(2 + type_width + 8 + 28).clamp(14, 48);
    let name = format!("{indent}{branch}{}", clean(&r.key.logical_id));
    let status_style = if r.is_in_progress() {
        theme.in_progress()
    } else {
        theme.status(&r.status)
    };
    let mut spans = vec![marker, Span::styled(fit(&name, name_width), theme.text())];
    if type_width > 0 {
        spans.push(Span::styled(
            format!(
                " {}",
                fit(&clean(short_type(&r.resource_type)), type_width - 1)
            ),
            theme.muted(),
        ));
    }
    spans.push(Span::styled(
        format!("{:>7} ", timer(view, r)),
        theme.muted(),
    ));
    spans.push(Span::styled(clean(&r.status).into_owned(), status_style));
    if let Some(reason) = r.reason.as_deref().filter(|s| !s.is_empty())
        && cfn_level(&r.status) >= Severity::Warn
    {
        spans.push(Span::styled(format!("  {}", clean(reason)), theme.error()));
    }
    Line::from(spans)
}

pub fn render(frame: &mut Frame, area: Rect, view: &View) {
    let rows = rows(view);
    let resources = rows.iter().filter_map(Row::resource);
    let (count, in_progress) = resources.fold((0, 0), |(n, busy), r| {
        (n + 1, busy + usize::from(r.is_in_progress()))
    });
    let extra = format!("{count} · {in_progress} in progress");
    let width = area.width.saturating_sub(2) as usize;
    let heads = headings(&rows, |r| matches!(r, Row::Stack(_)));
    render_grouped(
        frame,
        area,
        view,
        Pane::Resources,
        rows.len(),
        extra,
        |i| row_line(view, &rows[i], width),
        |i| heads.get(i).copied().flatten(),
    );
}

/// A root stack's heading, in full.
pub fn stack_details<'a>(view: &View, stack: &StackState) -> Vec<Line<'a>> {
    let theme = view.theme;
    let mut lines = vec![
        Line::from(Span::styled(
            format!("stack {}", clean(&stack.name)),
            theme.title(),
        )),
        Line::from(vec![
            Span::raw("status:  "),
            Span::styled(
                clean(&stack.status).into_owned(),
                theme.status(&stack.status),
            ),
        ]),
        Line::from(format!(
            "id:      {}",
            clean(stack.stack_id.as_deref().unwrap_or("-"))
        )),
    ];
    if let Some(reason) = stack.reason.as_deref().filter(|r| !r.is_empty()) {
        lines.push(Line::from(format!("reason:  {}", clean(reason))));
    }
    lines
}

pub fn details<'a>(view: &View, r: &ResourceState) -> Vec<Line<'a>> {
    let theme = view.theme;
    let mut lines = vec![
        Line::from(Span::styled(
            format!("{} / {}", clean(&r.key.stack), clean(&r.key.logical_id)),
            theme.title(),
        )),
        Line::from(format!("type:        {}", clean(&r.resource_type))),
        Line::from(vec![
            Span::raw("status:      "),
            Span::styled(clean(&r.status).into_owned(), theme.status(&r.status)),
            Span::raw(format!("  since {}", clock(r.status_since))),
        ]),
        Line::from(format!(
            "physical id: {}",
            clean(r.physical_id.as_deref().unwrap_or("-"))
        )),
    ];
    if let Some(start) = r.started_at {
        lines.push(Line::from(format!(
            "started:     {}   {}",
            clock(start),
            timer(view, r)
        )));
    }
    if let Some(signal) = r.signal {
        lines.push(Line::from(format!(
            "signals:     {}/{} within {}",
            r.signals_received,
            signal.count,
            // A recording can hold any number here; never overflow.
            i64::try_from(signal.timeout_s)
                .ok()
                .and_then(TimeDelta::try_seconds)
                .map_or_else(|| format!("{}s", signal.timeout_s), duration)
        )));
    }
    let (flagged, slow) = is_stalled(view, r);
    if flagged {
        lines.push(Line::from(Span::styled(
            "⚠ a flag names this resource",
            theme.error(),
        )));
    } else if slow {
        let threshold = view.detect.stall_threshold(&r.resource_type);
        let usual = if threshold.typical.is_empty() {
            String::new()
        } else {
            format!("; {}", clean(&threshold.typical))
        };
        lines.push(Line::from(Span::styled(
            format!(
                "⏳ in progress past its type's usual time (over {}{usual})",
                fmt_duration(threshold.warn_s)
            ),
            theme.warn(),
        )));
    }
    lines.push(Line::from(""));
    lines.push(Line::from(Span::styled("Reason", theme.title())));
    lines.push(Line::from(
        clean(r.reason.as_deref().unwrap_or("(none)")).into_owned(),
    ));
    lines
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, TimeZone, Utc};

    use super::*;
    use crate::clock::Mode;
    use crate::detect::{DetectConfig, Flag, StallThreshold, Subject};
    use crate::model::{CfnEvent, Observation, Source};
    use crate::session::recording::Header;
    use crate::ui::UiState;
    use crate::ui::theme::{self, Theme};

    fn t(secs: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 23, 12, 0, 0).unwrap() + TimeDelta::seconds(secs)
    }

    /// A store with `payments/ApiService` (an ECS service) and `payments/Host` (an EC2
    /// instance), both in progress since t(0).
    fn store() -> Store {
        let mut store = Store::default();
        for (logical, rtype, physical) in [
            (
                "ApiService",
                "AWS::ECS::Service",
                "arn:aws:ecs:eu-west-1:1:service/prod/payments-api",
            ),
            ("Host", "AWS::EC2::Instance", "i-0123"),
        ] {
            store.apply(&Observation::new(
                t(0),
                CfnEvent {
                    stack: "payments".into(),
                    stack_id: "arn:aws:cloudformation:eu-west-1:1:stack/payments/1".into(),
                    event_id: logical.into(),
                    logical_id: logical.into(),
                    physical_id: Some(physical.into()),
                    resource_type: rtype.into(),
                    status: "CREATE_IN_PROGRESS".into(),
                    reason: None,
                    timestamp: t(0),
                },
            ));
        }
        store
    }

    struct Screen {
        store: Store,
        header: Header,
        ui: UiState,
        theme: Theme,
    }

    impl Screen {
        fn new() -> Self {
            Screen {
                store: store(),
                header: Header::new(vec![], t(0)),
                ui: UiState::default(),
                theme: theme::built_in("default").unwrap(),
            }
        }

        fn view<'a>(
            &'a self,
            flags: &'a [&'a Flag],
            detect: &'a DetectConfig,
            now: DateTime<Utc>,
        ) -> View<'a> {
            View {
                store: &self.store,
                flags,
                header: &self.header,
                start: t(0),
                now,
                mode: Mode::Live { paused: false },
                ui: &self.ui,
                theme: &self.theme,
                detect,
            }
        }

        fn resource(&self, logical_id: &str) -> &ResourceState {
            let key = ResourceKey {
                stack: "payments".into(),
                logical_id: logical_id.into(),
            };
            &self.store.resources[&key]
        }

        /// The marker column of the resource's row.
        fn marker(&self, view: &View, logical_id: &str) -> String {
            let row = Row::Resource {
                resource: self.resource(logical_id),
                depth: 0,
            };
            row_line(view, &row, 120).spans[0].content.to_string()
        }
    }

    #[test]
    fn several_root_stacks_each_head_their_resources() {
        let mut store = store();
        // A second stack's resource, and both stacks' own rows (their physical id is the
        // stack's id).
        for (stack, logical) in [
            ("orders", "Queue"),
            ("orders", "orders"),
            ("payments", "payments"),
        ] {
            let stack_id = format!("arn:aws:cloudformation:eu-west-1:1:stack/{stack}/1");
            store.apply(&Observation::new(
                t(1),
                CfnEvent {
                    stack: stack.into(),
                    stack_id: stack_id.clone(),
                    event_id: format!("{stack}-{logical}"),
                    logical_id: logical.into(),
                    physical_id: (logical == stack).then_some(stack_id),
                    resource_type: if logical == stack {
                        "AWS::CloudFormation::Stack".into()
                    } else {
                        "AWS::SQS::Queue".into()
                    },
                    status: "CREATE_IN_PROGRESS".into(),
                    reason: None,
                    timestamp: t(1),
                },
            ));
        }
        let shape: Vec<String> = tree(&store)
            .iter()
            .map(|row| match row {
                Row::Stack(s) => format!("stack {}", s.name),
                Row::Resource { resource, depth } => format!("{depth} {}", resource.key.logical_id),
            })
            .collect();
        assert_eq!(
            shape,
            [
                "stack orders",
                "1 Queue",
                "stack payments",
                "1 ApiService",
                "1 Host"
            ]
        );
    }

    #[test]
    fn the_stall_marker_waits_for_the_types_threshold() {
        let screen = Screen::new();
        let detect = DetectConfig::default();
        // Default thresholds: an ECS service warns after 15 min, an EC2 instance after 5.
        let view = screen.view(&[], &detect, t(6 * 60));
        assert_eq!(screen.marker(&view, "Host"), "⏳");
        assert_eq!(screen.marker(&view, "ApiService"), "  ");
        let view = screen.view(&[], &detect, t(15 * 60 - 1));
        assert_eq!(screen.marker(&view, "ApiService"), "  ");
        let view = screen.view(&[], &detect, t(15 * 60));
        assert_eq!(screen.marker(&view, "ApiService"), "⏳");
        let details: Vec<String> = details(&view, screen.resource("ApiService"))
            .iter()
            .map(Line::to_string)
            .collect();
        assert!(
            details.contains(
                &"⏳ in progress past its type's usual time (over 15m; usually 2–10 min)"
                    .to_string()
            ),
            "{details:#?}"
        );
    }

    #[test]
    fn the_stall_marker_follows_the_detectors_config() {
        let screen = Screen::new();
        let detect = DetectConfig {
            stall_thresholds: vec![StallThreshold {
                resource_type: "AWS::ECS::Service".into(),
                warn_s: 60,
                alarm_s: 120,
                typical: String::new(),
            }],
            ..DetectConfig::default()
        };
        let view = screen.view(&[], &detect, t(61));
        assert_eq!(screen.marker(&view, "ApiService"), "⏳");
        assert_eq!(screen.marker(&view, "Host"), "  ", "the default: 5 min");
    }

    #[test]
    fn the_pane_and_stall_resource_agree() {
        let screen = Screen::new();
        let mut pipeline = crate::pipeline::Pipeline::new(Default::default());
        for r in screen.store.resources.values() {
            let event = CfnEvent {
                stack: r.key.stack.clone(),
                stack_id: "arn:aws:cloudformation:eu-west-1:1:stack/payments/1".into(),
                event_id: r.key.logical_id.clone(),
                logical_id: r.key.logical_id.clone(),
                physical_id: r.physical_id.clone(),
                resource_type: r.resource_type.clone(),
                status: r.status.clone(),
                reason: None,
                timestamp: t(0),
            };
            pipeline.feed(&Observation::new(t(0), event), &mut Vec::new());
        }
        for (now, stalled) in [(15 * 60 - 1, false), (15 * 60, true)] {
            pipeline.advance_to(t(now), &mut Vec::new());
            let flags = pipeline.detector.open_flags();
            let view = screen.view(&flags, pipeline.detector.config(), t(now));
            let service = screen.resource("ApiService");
            assert_eq!(is_stalled(&view, service), (stalled, stalled), "at {now}s");
        }
    }

    #[test]
    fn a_flag_about_the_service_marks_its_resource() {
        let screen = Screen::new();
        let detect = DetectConfig::default();
        let flag = Flag {
            rule: "ecs.crash_loop",
            severity: Severity::Error,
            source: Source::EcsTask,
            subject: Subject::Service("payments-api".into()),
            resource: "service payments-api".into(),
            summary: String::new(),
            clock: None,
            next_step: String::new(),
            evidence: Default::default(),
            count: 1,
            first_seen: t(0),
            last_seen: t(0),
            resolved_at: None,
            problem: None,
        };
        let flags = [&flag];
        let view = screen.view(&flags, &detect, t(60));
        assert_eq!(screen.marker(&view, "ApiService"), "⚠ ");
        assert_eq!(screen.marker(&view, "Host"), "  ");
    }
}
