//! Screenshots: a rendered ratatui [`Buffer`] as a standalone SVG, for the README.
//!
//! The picture is a monospace grid of 8.4×17 px cells. Every element is placed by its column
//! (`x = col × cell width`), never by the advance of the glyphs before it, so wide characters
//! and fallback fonts cannot shift the rest of a row. Backgrounds are one `<rect>` per run of
//! cells; box-drawing characters are drawn as lines, so borders join whatever the font; text is
//! one `<text>` per run of same-style cells. The same buffer always gives the same bytes.

use std::collections::BTreeMap;
use std::fmt::{self, Write};

use ratatui::buffer::{Buffer, CellWidth};
use ratatui::style::{Color, Modifier};

use super::theme::Theme;

/// Cell size and text baseline, in tenths of a pixel: integer maths keeps output exact.
const CELL_W: i64 = 84;
const CELL_H: i64 = 170;
const BASELINE: i64 = 133;
const FONT_FAMILY: &str = "'DejaVu Sans Mono', 'Menlo', 'Consolas', monospace";
const FONT_SIZE: &str = "14px";
/// `dim` text, as most terminals draw it.
const DIM_OPACITY: &str = "0.6";

/// Background when the theme leaves it to the terminal (`reset`): a dark terminal.
const TERMINAL_BG: Rgb = Rgb(0x13, 0x17, 0x1e);
const TERMINAL_FG_ON_DARK: Rgb = Rgb(0xd0, 0xd0, 0xd0);
const TERMINAL_FG_ON_LIGHT: Rgb = Rgb(0x20, 0x20, 0x20);

/// A colour as the SVG writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Rgb(pub u8, pub u8, pub u8);

impl fmt::Display for Rgb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{:02x}{:02x}{:02x}", self.0, self.1, self.2)
    }
}

impl Rgb {
    fn is_light(self) -> bool {
        // Rec. 601 luma, good enough to pick a readable default text colour.
        u32::from(self.0) * 299 + u32::from(self.1) * 587 + u32::from(self.2) * 114 > 128_000
    }
}

/// xterm's default 16 colours.
const ANSI: [Rgb; 16] = [
    Rgb(0x00, 0x00, 0x00),
    Rgb(0xcd, 0x00, 0x00),
    Rgb(0x00, 0xcd, 0x00),
    Rgb(0xcd, 0xcd, 0x00),
    Rgb(0x00, 0x00, 0xee),
    Rgb(0xcd, 0x00, 0xcd),
    Rgb(0x00, 0xcd, 0xcd),
    Rgb(0xe5, 0xe5, 0xe5),
    Rgb(0x7f, 0x7f, 0x7f),
    Rgb(0xff, 0x00, 0x00),
    Rgb(0x00, 0xff, 0x00),
    Rgb(0xff, 0xff, 0x00),
    Rgb(0x5c, 0x5c, 0xff),
    Rgb(0xff, 0x00, 0xff),
    Rgb(0x00, 0xff, 0xff),
    Rgb(0xff, 0xff, 0xff),
];

/// The xterm 256-colour palette: 16 ANSI colours, a 6×6×6 cube, 24 greys.
fn xterm256(n: u8) -> Rgb {
    const LEVELS: [u8; 6] = [0, 95, 135, 175, 215, 255];
    match n {
        0..=15 => ANSI[n as usize],
        16..=231 => {
            let i = n - 16;
            Rgb(
                LEVELS[(i / 36) as usize],
                LEVELS[(i / 6 % 6) as usize],
                LEVELS[(i % 6) as usize],
            )
        }
        _ => {
            let v = 8 + 10 * (n - 232);
            Rgb(v, v, v)
        }
    }
}

/// A ratatui colour as RGB; `Reset` is the terminal's own colour, `default`.
pub fn color_to_rgb(color: Color, default: Rgb) -> Rgb {
    match color {
        Color::Reset => default,
        Color::Rgb(r, g, b) => Rgb(r, g, b),
        Color::Indexed(n) => xterm256(n),
        Color::Black => ANSI[0],
        Color::Red => ANSI[1],
        Color::Green => ANSI[2],
        Color::Yellow => ANSI[3],
        Color::Blue => ANSI[4],
        Color::Magenta => ANSI[5],
        Color::Cyan => ANSI[6],
        Color::Gray => ANSI[7],
        Color::DarkGray => ANSI[8],
        Color::LightRed => ANSI[9],
        Color::LightGreen => ANSI[10],
        Color::LightYellow => ANSI[11],
        Color::LightBlue => ANSI[12],
        Color::LightMagenta => ANSI[13],
        Color::LightCyan => ANSI[14],
        Color::White => ANSI[15],
    }
}

/// The terminal's default text and background colours under `theme`: its `fg`/`bg` roles, or
/// a dark terminal where the theme leaves them to the terminal.
pub fn default_colors(theme: &Theme) -> (Rgb, Rgb) {
    let bg = theme
        .palette
        .bg
        .map_or(TERMINAL_BG, |c| color_to_rgb(c, TERMINAL_BG));
    let fallback_fg = if bg.is_light() {
        TERMINAL_FG_ON_LIGHT
    } else {
        TERMINAL_FG_ON_DARK
    };
    let fg = theme
        .palette
        .fg
        .map_or(fallback_fg, |c| color_to_rgb(c, fallback_fg));
    (fg, bg)
}

/// The buffer as an SVG document, `Reset` colours taken from `theme`.
pub fn buffer_to_svg(buffer: &Buffer, theme: &Theme) -> String {
    let (fg, bg) = default_colors(theme);
    buffer_to_svg_with(buffer, fg, bg)
}

/// The buffer as an SVG document, `Reset` colours drawn as `default_fg` / `default_bg`.
pub fn buffer_to_svg_with(buffer: &Buffer, default_fg: Rgb, default_bg: Rgb) -> String {
    let width = i64::from(buffer.area.width);
    let height = i64::from(buffer.area.height);
    let rows: Vec<Row> = (0..buffer.area.height)
        .map(|y| Row::read(buffer, y, default_fg, default_bg))
        .collect();

    let (w, h) = (px(width * CELL_W), px(height * CELL_H));
    let mut out = String::with_capacity(64 * 1024);
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="{FONT_FAMILY}" font-size="{FONT_SIZE}">"#
    );
    let _ = writeln!(
        out,
        r#"<rect width="{w}" height="{h}" fill="{default_bg}"/>"#
    );

    // Backgrounds. crispEdges: neighbouring rects meet without anti-aliased seams.
    out.push_str("<g shape-rendering=\"crispEdges\">\n");
    for (y, row) in rows.iter().enumerate() {
        write_backgrounds(&mut out, y as i64, &row.bg, default_bg);
    }
    out.push_str("</g>\n");

    // Box drawing, grouped by colour and line kind, long lines merged.
    let mut lines: BTreeMap<(Rgb, Stroke, bool), Lines> = BTreeMap::new();
    for (y, row) in rows.iter().enumerate() {
        for g in &row.glyphs {
            if let Some(shape) = g.shape {
                let key = (g.fg, shape.stroke(), g.look.dim);
                lines
                    .entry(key)
                    .or_default()
                    .add(shape, g.col as i64 * CELL_W, y as i64 * CELL_H);
            }
        }
    }
    out.push_str("<g fill=\"none\" stroke-linecap=\"square\">\n");
    for ((color, stroke, dim), lines) in &lines {
        let _ = write!(
            out,
            r#"<path d="{}" stroke="{color}" stroke-width="{}""#,
            lines.path(),
            stroke.width()
        );
        if *dim {
            let _ = write!(out, r#" opacity="{DIM_OPACITY}""#);
        }
        out.push_str("/>\n");
    }
    out.push_str("</g>\n");

    // Text. xml:space (and white-space for CSS renderers) keeps runs of spaces.
    let _ = writeln!(
        out,
        r#"<g fill="{default_fg}" xml:space="preserve" style="white-space:pre">"#
    );
    for (y, row) in rows.iter().enumerate() {
        write_text(&mut out, y as i64, &row.glyphs, default_fg);
    }
    out.push_str("</g>\n</svg>\n");
    out
}

/// Text attributes that change how a glyph is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Look {
    bold: bool,
    italic: bool,
    underline: bool,
    strike: bool,
    dim: bool,
}

/// What one screen position shows: a cell, possibly wide.
#[derive(Debug)]
struct Glyph {
    col: u16,
    /// The cell's symbol, control characters removed (never empty).
    text: String,
    fg: Rgb,
    look: Look,
    /// Box-drawing characters drawn as lines.
    shape: Option<Shape>,
}

impl Glyph {
    /// Whether it shows anything: a plain space does not.
    fn visible(&self) -> bool {
        self.text != " " || self.look.underline || self.look.strike
    }
}

struct Row {
    glyphs: Vec<Glyph>,
    /// The background of every column.
    bg: Vec<Rgb>,
}

impl Row {
    fn read(buffer: &Buffer, y: u16, default_fg: Rgb, default_bg: Rgb) -> Row {
        let area = buffer.area;
        let width = area.width;
        let mut glyphs = Vec::new();
        let mut bg = Vec::with_capacity(width as usize);
        let mut x = 0;
        while x < width {
            let cell = &buffer[(area.x + x, area.y + y)];
            let mut text: String = cell.symbol().chars().filter(|&c| xml_char(c)).collect();
            if text.is_empty() {
                text.push(' ');
            }
            // As the terminal backend does: a wide symbol covers the next cells, which ratatui
            // leaves blank and which must not be drawn.
            let cols = text.as_str().cell_width().clamp(1, width - x);
            let mut fg = color_to_rgb(cell.fg, default_fg);
            let mut cell_bg = color_to_rgb(cell.bg, default_bg);
            let m = cell.modifier;
            if m.contains(Modifier::REVERSED) {
                std::mem::swap(&mut fg, &mut cell_bg);
            }
            let mut look = Look {
                bold: m.contains(Modifier::BOLD),
                italic: m.contains(Modifier::ITALIC),
                underline: m.contains(Modifier::UNDERLINED),
                strike: m.contains(Modifier::CROSSED_OUT),
                dim: m.contains(Modifier::DIM),
            };
            if m.contains(Modifier::HIDDEN) {
                text = " ".into();
                look = Look::default();
            }
            let shape = single_char(&text).and_then(Shape::of);
            glyphs.push(Glyph {
                col: x,
                text,
                fg,
                look,
                shape,
            });
            bg.extend(std::iter::repeat_n(cell_bg, cols as usize));
            x += cols;
        }
        Row { glyphs, bg }
    }
}

/// Characters an XML document may hold, less controls (the UI strips them already; AWS text
/// is untrusted, so again).
fn xml_char(c: char) -> bool {
    !c.is_control() && !matches!(c, '\u{fffe}' | '\u{ffff}')
}

fn single_char(text: &str) -> Option<char> {
    let mut chars = text.chars();
    let c = chars.next()?;
    chars.next().is_none().then_some(c)
}

/// One `<rect>` per run of columns sharing a background other than the default.
fn write_backgrounds(out: &mut String, y: i64, bg: &[Rgb], default_bg: Rgb) {
    let mut x = 0;
    while x < bg.len() {
        let color = bg[x];
        let end = x + bg[x..].iter().take_while(|&&c| c == color).count();
        if color != default_bg {
            let _ = writeln!(
                out,
                r#"<rect x="{}" y="{}" width="{}" height="{}" fill="{color}"/>"#,
                px(x as i64 * CELL_W),
                px(y * CELL_H),
                px((end - x) as i64 * CELL_W),
                px(CELL_H)
            );
        }
        x = end;
    }
}

/// One `<text>` per run of same-style glyphs. Plain spaces join any run (their colour does not
/// show). ASCII is stretched to its columns with `textLength`, which also fits fonts whose
/// advance is not 8.4 px; any other glyph gets its own `<text>` at its column, so a fallback
/// font cannot push the rest of the run.
fn write_text(out: &mut String, y: i64, glyphs: &[Glyph], default_fg: Rgb) {
    let mut i = 0;
    while i < glyphs.len() {
        let first = &glyphs[i];
        if first.shape.is_some() || !first.visible() {
            i += 1;
            continue;
        }
        let style = (first.fg, first.look);
        let plain = !first.look.underline && !first.look.strike;
        let mut last = i;
        let mut j = i + 1;
        while let Some(g) = glyphs.get(j) {
            if g.shape.is_some() {
                break;
            }
            let same = (g.fg, g.look) == style;
            // A differently styled glyph ends the run, unless it is a plain space.
            if !same && (!plain || g.visible()) {
                break;
            }
            if same && g.visible() {
                last = j;
            }
            j += 1;
        }
        let attrs = text_attrs(first, default_fg);
        write_run(out, y, &glyphs[i..=last], &attrs);
        i = last + 1;
    }
}

fn text_attrs(g: &Glyph, default_fg: Rgb) -> String {
    let mut attrs = String::new();
    if g.fg != default_fg {
        let _ = write!(attrs, r#" fill="{}""#, g.fg);
    }
    if g.look.bold {
        attrs.push_str(r#" font-weight="bold""#);
    }
    if g.look.italic {
        attrs.push_str(r#" font-style="italic""#);
    }
    match (g.look.underline, g.look.strike) {
        (true, true) => attrs.push_str(r#" text-decoration="underline line-through""#),
        (true, false) => attrs.push_str(r#" text-decoration="underline""#),
        (false, true) => attrs.push_str(r#" text-decoration="line-through""#),
        (false, false) => {}
    }
    if g.look.dim {
        let _ = write!(attrs, r#" opacity="{DIM_OPACITY}""#);
    }
    attrs
}

/// Writes a run: ASCII stretches with `textLength`, other glyphs one by one.
fn write_run(out: &mut String, y: i64, run: &[Glyph], attrs: &str) {
    let trim = !run[0].look.underline && !run[0].look.strike;
    let mut ascii_start: Option<usize> = None;
    for (k, g) in run.iter().enumerate() {
        let is_ascii = g.text.len() == 1 && g.text.is_ascii();
        if is_ascii {
            ascii_start.get_or_insert(k);
            continue;
        }
        if let Some(s) = ascii_start.take() {
            write_ascii(out, y, &run[s..k], attrs, trim);
        }
        let _ = writeln!(
            out,
            r#"<text x="{}" y="{}"{attrs}>{}</text>"#,
            px(i64::from(g.col) * CELL_W),
            px(y * CELL_H + BASELINE),
            escape(&g.text)
        );
    }
    if let Some(s) = ascii_start {
        write_ascii(out, y, &run[s..], attrs, trim);
    }
}

fn write_ascii(out: &mut String, y: i64, glyphs: &[Glyph], attrs: &str, trim: bool) {
    let mut glyphs = glyphs;
    if trim {
        // Spaces at either end draw nothing; leaving them out keeps the file small.
        let start = glyphs
            .iter()
            .position(|g| g.text != " ")
            .unwrap_or(glyphs.len());
        let end = glyphs
            .iter()
            .rposition(|g| g.text != " ")
            .map_or(start, |e| e + 1);
        glyphs = &glyphs[start..end];
    }
    let Some(first) = glyphs.first() else {
        return;
    };
    let text: String = glyphs.iter().map(|g| g.text.as_str()).collect();
    let _ = writeln!(
        out,
        r#"<text x="{}" y="{}"{attrs} textLength="{}" lengthAdjust="spacingAndGlyphs">{}</text>"#,
        px(i64::from(first.col) * CELL_W),
        px(y * CELL_H + BASELINE),
        px(glyphs.len() as i64 * CELL_W),
        escape(&text)
    );
}

/// `tenths` of a pixel as an SVG number: `84` → `8.4`, `170` → `17`.
fn px(tenths: i64) -> String {
    let sign = if tenths < 0 { "-" } else { "" };
    let t = tenths.abs();
    if t % 10 == 0 {
        format!("{sign}{}", t / 10)
    } else {
        format!("{sign}{}.{}", t / 10, t % 10)
    }
}

/// Text content and attribute values: the five XML specials as entities.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if xml_char(c) => out.push(c),
            _ => {}
        }
    }
    out
}

/// How a line is stroked, in tenths of a pixel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Stroke {
    Light,
    Heavy,
    /// Each of the two lines of a double line.
    Double,
}

impl Stroke {
    fn width(self) -> &'static str {
        match self {
            Stroke::Light => "1.2",
            Stroke::Heavy => "2.4",
            Stroke::Double => "1",
        }
    }
}

/// A box-drawing character: which of its arms (up, right, down, left) it has, or a rounded
/// corner (the horizontal and vertical arm directions).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    Arms(Stroke, [bool; 4]),
    Round { right: bool, down: bool },
}

impl Shape {
    fn of(c: char) -> Option<Shape> {
        use Stroke::*;
        let arms =
            |stroke, up, right, down, left| Some(Shape::Arms(stroke, [up, right, down, left]));
        let (t, f) = (true, false);
        match c {
            '─' => arms(Light, f, t, f, t),
            '│' => arms(Light, t, f, t, f),
            '┌' => arms(Light, f, t, t, f),
            '┐' => arms(Light, f, f, t, t),
            '└' => arms(Light, t, t, f, f),
            '┘' => arms(Light, t, f, f, t),
            '├' => arms(Light, t, t, t, f),
            '┤' => arms(Light, t, f, t, t),
            '┬' => arms(Light, f, t, t, t),
            '┴' => arms(Light, t, t, f, t),
            '┼' => arms(Light, t, t, t, t),
            '━' => arms(Heavy, f, t, f, t),
            '┃' => arms(Heavy, t, f, t, f),
            '┏' => arms(Heavy, f, t, t, f),
            '┓' => arms(Heavy, f, f, t, t),
            '┗' => arms(Heavy, t, t, f, f),
            '┛' => arms(Heavy, t, f, f, t),
            '┣' => arms(Heavy, t, t, t, f),
            '┫' => arms(Heavy, t, f, t, t),
            '┳' => arms(Heavy, f, t, t, t),
            '┻' => arms(Heavy, t, t, f, t),
            '╋' => arms(Heavy, t, t, t, t),
            '═' => arms(Double, f, t, f, t),
            '║' => arms(Double, t, f, t, f),
            '╔' => arms(Double, f, t, t, f),
            '╗' => arms(Double, f, f, t, t),
            '╚' => arms(Double, t, t, f, f),
            '╝' => arms(Double, t, f, f, t),
            '╭' => Some(Shape::Round { right: t, down: t }),
            '╮' => Some(Shape::Round { right: f, down: t }),
            '╯' => Some(Shape::Round { right: f, down: f }),
            '╰' => Some(Shape::Round { right: t, down: f }),
            _ => None,
        }
    }

    fn stroke(self) -> Stroke {
        match self {
            Shape::Arms(stroke, _) => stroke,
            Shape::Round { .. } => Stroke::Light,
        }
    }
}

/// Half the gap between the two lines of a double line, in tenths of a pixel.
const DOUBLE_GAP: i64 = 16;
/// The radius of a rounded corner: the curve takes the whole half cell.
const RADIUS: i64 = CELL_W / 2;

/// The lines of one colour and stroke: straight segments (merged into long lines when
/// written) and rounded corners.
#[derive(Default)]
struct Lines {
    /// (y, x1, x2)
    horizontal: Vec<(i64, i64, i64)>,
    /// (x, y1, y2)
    vertical: Vec<(i64, i64, i64)>,
    corners: Vec<String>,
}

impl Lines {
    /// Adds a box character drawn in the cell whose top-left corner is (`x`, `y`).
    fn add(&mut self, shape: Shape, x: i64, y: i64) {
        let (cx, cy) = (x + CELL_W / 2, y + CELL_H / 2);
        let (right, bottom) = (x + CELL_W, y + CELL_H);
        match shape {
            Shape::Round { right: r, down: d } => {
                // From the horizontal arm's end, a curve to the vertical arm, then on to the
                // cell edge.
                let hx = if r { 1 } else { -1 };
                let vy = if d { 1 } else { -1 };
                let vedge = if d { bottom } else { y };
                self.corners.push(format!(
                    "M{} {}Q{} {} {} {}V{}",
                    px(cx + hx * RADIUS),
                    px(cy),
                    px(cx),
                    px(cy),
                    px(cx),
                    px(cy + vy * RADIUS),
                    px(vedge)
                ));
            }
            Shape::Arms(Stroke::Double, [up, r, down, left]) => {
                let (h, v) = (r || left, up || down);
                if h && !v {
                    for dy in [-DOUBLE_GAP, DOUBLE_GAP] {
                        self.horizontal.push((cy + dy, x, right));
                    }
                } else if v && !h {
                    for dx in [-DOUBLE_GAP, DOUBLE_GAP] {
                        self.vertical.push((cx + dx, y, bottom));
                    }
                } else {
                    // A corner: the outer line turns at (cx - hx·g, cy - vy·g), the inner one
                    // at (cx + hx·g, cy + vy·g).
                    let (hx, vy) = (if r { 1 } else { -1 }, if down { 1 } else { -1 });
                    let hedge = if r { right } else { x };
                    let vedge = if down { bottom } else { y };
                    for s in [-1, 1] {
                        let (tx, ty) = (cx + s * hx * DOUBLE_GAP, cy + s * vy * DOUBLE_GAP);
                        self.horizontal.push((ty, tx.min(hedge), tx.max(hedge)));
                        self.vertical.push((tx, ty.min(vedge), ty.max(vedge)));
                    }
                }
            }
            Shape::Arms(_, [up, r, down, left]) => {
                if up {
                    self.vertical.push((cx, y, cy));
                }
                if down {
                    self.vertical.push((cx, cy, bottom));
                }
                if left {
                    self.horizontal.push((cy, x, cx));
                }
                if r {
                    self.horizontal.push((cy, cx, right));
                }
            }
        }
    }

    /// The path data: touching collinear segments merged, in a fixed order.
    fn path(&self) -> String {
        let mut d = String::new();
        for (at, from, to) in merge(&self.horizontal) {
            let _ = write!(d, "M{} {}H{}", px(from), px(at), px(to));
        }
        for (at, from, to) in merge(&self.vertical) {
            let _ = write!(d, "M{} {}V{}", px(at), px(from), px(to));
        }
        for corner in &self.corners {
            d.push_str(corner);
        }
        d
    }
}

/// Sorts segments (line, from, to) and joins those that touch on the same line.
fn merge(segments: &[(i64, i64, i64)]) -> Vec<(i64, i64, i64)> {
    let mut sorted = segments.to_vec();
    sorted.sort_unstable();
    let mut out: Vec<(i64, i64, i64)> = Vec::with_capacity(sorted.len());
    for (at, from, to) in sorted {
        match out.last_mut() {
            Some(last) if last.0 == at && from <= last.2 => last.2 = last.2.max(to),
            _ => out.push((at, from, to)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn palettes_and_numbers() {
        assert_eq!(xterm256(196), Rgb(255, 0, 0));
        assert_eq!(xterm256(244), Rgb(128, 128, 128));
        assert_eq!(xterm256(1), ANSI[1]);
        assert_eq!(Rgb(1, 2, 255).to_string(), "#0102ff");
        assert_eq!(px(84 * 3), "25.2");
        assert_eq!(px(170), "17");
        assert_eq!(
            merge(&[(1, 5, 9), (1, 0, 5), (2, 0, 1), (1, 10, 12)]),
            vec![(1, 0, 9), (1, 10, 12), (2, 0, 1)]
        );
    }
}
