//! The SVG screenshots: escaping of untrusted text, styles as attributes, column alignment
//! after wide characters, box drawing, determinism, and a whole demo frame.

use std::sync::Arc;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::widgets::{Block, Widget};

use stackwatch::clock::{Mode, Speed};
use stackwatch::model::StoreCaps;
use stackwatch::session::demo::{self, mmss};
use stackwatch::session::replay::{Replay, ReplayInput};
use stackwatch::ui::svg::{Rgb, buffer_to_svg, buffer_to_svg_with};
use stackwatch::ui::theme;
use stackwatch::ui::{self, UiState, View};

const FG: Rgb = Rgb(0xdd, 0xdd, 0xdd);
const BG: Rgb = Rgb(0x11, 0x11, 0x11);

fn line(width: u16, text: &str, style: Style) -> Buffer {
    let mut buffer = Buffer::empty(Rect::new(0, 0, width, 1));
    buffer.set_string(0, 0, text, style);
    buffer
}

/// The `<text …>` elements of an SVG, whole.
fn texts(svg: &str) -> Vec<&str> {
    svg.match_indices("<text ")
        .map(|(i, _)| {
            let end = svg[i..].find("</text>").expect("closed") + i + "</text>".len();
            &svg[i..end]
        })
        .collect()
}

/// A small well-formedness check: tags nest and close, attribute quotes balance, and every
/// `&` starts one of the five entities.
fn assert_xmlish(svg: &str) {
    assert!(svg.starts_with("<svg "), "{}", &svg[..40]);
    assert!(svg.trim_end().ends_with("</svg>"));
    assert_eq!(svg.matches("<text").count(), svg.matches("</text>").count());
    let mut stack: Vec<&str> = Vec::new();
    let mut rest = svg;
    while let Some(open) = rest.find('<') {
        let text = &rest[..open];
        assert!(!text.contains('>'), "raw > in text: {text:?}");
        for (i, _) in text.match_indices('&') {
            let entity = &text[i..];
            assert!(
                ["&amp;", "&lt;", "&gt;", "&quot;", "&apos;"]
                    .iter()
                    .any(|e| entity.starts_with(e)),
                "bare & in {text:?}"
            );
        }
        let close = rest[open..].find('>').expect("tag closes") + open;
        let tag = &rest[open + 1..close];
        assert_eq!(tag.matches('"').count() % 2, 0, "quotes in <{tag}>");
        assert!(!tag.contains('<'), "< inside <{tag}>");
        if let Some(name) = tag.strip_prefix('/') {
            assert_eq!(stack.pop(), Some(name), "mismatched </{name}>");
        } else if !tag.ends_with('/') {
            stack.push(tag.split_whitespace().next().unwrap());
        }
        rest = &rest[close + 1..];
    }
    assert!(stack.is_empty(), "unclosed: {stack:?}");
    assert!(!svg.chars().any(|c| c.is_control() && c != '\n'));
}

#[test]
fn hostile_text_is_escaped() {
    let mut buffer = line(60, "<script>alert(\"x\" & 'y')</script>", Style::new());
    // Controls never come from the UI (set_string drops them), but a cell can hold one.
    buffer[(50, 0)].set_symbol("\u{1b}");
    buffer[(51, 0)].set_symbol("a\u{7}\u{0}b");
    let svg = buffer_to_svg_with(&buffer, FG, BG);
    assert!(!svg.contains("<script"), "{svg}");
    assert!(
        svg.contains(
            "&lt;script&gt;alert(&quot;x&quot; &amp; &apos;y&apos;)&lt;/script&gt;</text>"
        ),
        "{svg}"
    );
    assert!(svg.contains(">ab</text>"), "{svg}");
    assert_xmlish(&svg);
}

#[test]
fn styles_become_attributes() {
    let style = Style::new()
        .fg(Color::Rgb(0x12, 0x34, 0x56))
        .bg(Color::Red)
        .add_modifier(Modifier::BOLD | Modifier::UNDERLINED);
    let mut buffer = line(20, "  ok", Style::new());
    buffer.set_string(2, 0, "ok", style);
    buffer.set_string(6, 0, "dim", Style::new().add_modifier(Modifier::DIM));
    buffer.set_string(
        10,
        0,
        "rev",
        Style::new()
            .fg(Color::Indexed(196))
            .bg(Color::Rgb(1, 2, 3))
            .add_modifier(Modifier::REVERSED),
    );
    let svg = buffer_to_svg_with(&buffer, FG, BG);
    let texts = texts(&svg);

    let ok = texts.iter().find(|t| t.ends_with(">ok</text>")).unwrap();
    assert!(ok.contains(r##"x="16.8""##), "{ok}");
    assert!(ok.contains(r##"fill="#123456""##), "{ok}");
    assert!(ok.contains(r#"font-weight="bold""#), "{ok}");
    assert!(ok.contains(r#"text-decoration="underline""#), "{ok}");
    // Red is xterm's red, behind exactly the two cells.
    assert!(
        svg.contains(r##"<rect x="16.8" y="0" width="16.8" height="17" fill="#cd0000"/>"##),
        "{svg}"
    );

    let dim = texts.iter().find(|t| t.ends_with(">dim</text>")).unwrap();
    assert!(dim.contains("opacity="), "{dim}");
    assert!(!dim.contains("fill="), "default colour is inherited: {dim}");

    // Reversed: the background colour writes, the foreground (index 196) fills.
    let rev = texts.iter().find(|t| t.ends_with(">rev</text>")).unwrap();
    assert!(rev.contains(r##"fill="#010203""##), "{rev}");
    assert!(svg.contains(r##"fill="#ff0000"/>"##), "{svg}");
}

#[test]
fn reset_colours_come_from_the_theme() {
    let buffer = Buffer::empty(Rect::new(0, 0, 4, 1));
    let light = theme::built_in("light").unwrap();
    let svg = buffer_to_svg(&buffer, &light);
    assert!(svg.contains(r##"height="17" fill="#ffffff"/>"##), "{svg}");
    assert!(svg.contains(r##"<g fill="#24292f""##), "{svg}");
}

#[test]
fn wide_characters_keep_later_columns_aligned() {
    // 名 and 前 take two columns each: "x" is in column 4, "y" in column 7.
    let mut buffer = line(10, "名前x", Style::new());
    buffer.set_string(7, 0, "y", Style::new().fg(Color::Green));
    let svg = buffer_to_svg_with(&buffer, FG, BG);
    let texts = texts(&svg);
    let x = texts.iter().find(|t| t.ends_with(">x</text>")).unwrap();
    assert!(x.contains(r#"x="33.6""#), "{x}");
    let y = texts.iter().find(|t| t.ends_with(">y</text>")).unwrap();
    assert!(y.contains(r#"x="58.8""#), "{y}");
    let ming = texts.iter().find(|t| t.ends_with(">前</text>")).unwrap();
    assert!(ming.contains(r#"x="16.8""#), "{ming}");
    // The blank cells ratatui leaves behind a wide character are not drawn.
    assert_eq!(texts.len(), 4, "{texts:?}");
}

#[test]
fn box_drawing_is_drawn_as_joined_lines() {
    let mut buffer = Buffer::empty(Rect::new(0, 0, 4, 3));
    Block::bordered().render(buffer.area, &mut buffer);
    let svg = buffer_to_svg_with(&buffer, FG, BG);
    assert!(!svg.contains('─') && !svg.contains('┌'), "{svg}");
    // The top edge, corner to corner, is one line through the cell centres.
    assert!(svg.contains("M4.2 8.5H29.4"), "{svg}");
    // The left edge, from the top corner's centre down to the bottom corner's.
    assert!(svg.contains("M4.2 8.5V42.5"), "{svg}");
    assert_xmlish(&svg);
}

/// The demo at its worst moment with the ECS details popup open, as the example draws it.
fn demo_frame(size: (u16, u16)) -> Terminal<TestBackend> {
    let (header, observations) = demo::scenario();
    let mut replay = Replay::open(
        ReplayInput::Memory(header, Arc::from(observations)),
        StoreCaps::default(),
    )
    .unwrap();
    let mut pipeline = replay.new_pipeline();
    let to = replay.start + mmss(11, 30);
    replay.advance(to, &mut pipeline, &mut Vec::new()).unwrap();
    let theme = theme::built_in("default").unwrap();
    let flags = pipeline.detector.open_flags();
    let mut ui = UiState::default();
    ui.counts.rows = [100; 6];
    for code in [KeyCode::Char('3'), KeyCode::Char('j'), KeyCode::Enter] {
        ui.update(KeyEvent::new(code, KeyModifiers::NONE));
    }
    let view = View {
        store: &pipeline.store,
        flags: &flags,
        header: &replay.header,
        start: replay.start,
        now: pipeline.now().unwrap_or(replay.start),
        mode: Mode::Replay {
            paused: false,
            speed: Speed::Factor(16.0),
            finished: replay.finished,
        },
        ui: &ui,
        theme: &theme,
        detect: pipeline.detector.config(),
    };
    let mut terminal = Terminal::new(TestBackend::new(size.0, size.1)).unwrap();
    terminal.draw(|frame| ui::render(frame, &view)).unwrap();
    terminal
}

#[test]
fn a_demo_frame_renders_to_well_formed_deterministic_svg() {
    let theme = theme::built_in("default").unwrap();
    let first = buffer_to_svg(demo_frame((160, 48)).backend().buffer(), &theme);
    let again = buffer_to_svg(demo_frame((160, 48)).backend().buffer(), &theme);
    assert_eq!(first, again);
    assert!(
        first.starts_with(r#"<svg xmlns="http://www.w3.org/2000/svg" width="1344" height="816""#)
    );
    assert!(first.contains("payments-api") && first.contains("ECS details"));
    assert!(first.contains("<path "));
    assert_xmlish(&first);

    let small = buffer_to_svg(demo_frame((80, 24)).backend().buffer(), &theme);
    assert_xmlish(&small);
    assert!(small.contains(r#"width="672" height="408""#));
}
