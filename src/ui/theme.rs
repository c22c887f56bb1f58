//! Themes: TOML files of semantic roles (`warn`, `border_focused`, …), four embedded in the
//! binary, plus user files in the theme directory that may set only some roles.
//!
//! A role's value is a colour name (`lightred`, `darkgray`, `reset`), an ANSI index (`208`) or
//! `#rrggbb`. A user file takes the missing roles from `extends = "<name>"` (default `default`).
//! Unknown keys are rejected with the file and key named. `NO_COLOR` (set, non-empty) turns any
//! theme monochrome: no colours, bold and reversed for emphasis.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use ratatui::style::{Color, Modifier, Style};
use serde::Deserialize;
use thiserror::Error;

/// Built-in themes, embedded so the binary needs no files.
const BUILT_IN: [(&str, &str); 4] = [
    ("default", include_str!("../../themes/default.toml")),
    ("light", include_str!("../../themes/light.toml")),
    (
        "high-contrast",
        include_str!("../../themes/high-contrast.toml"),
    ),
    ("nord", include_str!("../../themes/nord.toml")),
];

/// A user theme may extend another at most this deep (stops `a extends b extends a`).
const MAX_EXTENDS_DEPTH: usize = 8;

macro_rules! roles {
    ($($role:ident: $doc:literal),* $(,)?) => {
        /// Colours by meaning. `None` means the terminal's own colour (and, with NO_COLOR, no
        /// colour at all).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
        pub struct Palette {
            $(#[doc = $doc] pub $role: Option<Color>,)*
        }

        /// One theme file as written: every role optional, unknown keys rejected.
        #[derive(Debug, Default, Deserialize)]
        #[serde(deny_unknown_fields)]
        struct ThemeFile {
            extends: Option<String>,
            $($role: Option<String>,)*
        }

        impl ThemeFile {
            /// Overlays this file's roles on `base`.
            fn apply(&self, base: &mut Palette, file: &str) -> Result<(), ThemeError> {
                $(if let Some(value) = &self.$role {
                    base.$role = parse_color(value, file, stringify!($role))?;
                })*
                Ok(())
            }

            #[cfg(test)]
            fn missing_roles(&self) -> Vec<&'static str> {
                let mut missing = Vec::new();
                $(if self.$role.is_none() { missing.push(stringify!($role)); })*
                missing
            }
        }
    };
}

roles! {
    fg: "Ordinary text.",
    bg: "The screen background.",
    muted: "Secondary text: times, ids, hints.",
    accent: "Keys in help, the active tab, the filter prompt.",
    border: "Pane borders.",
    border_focused: "The focused pane's border.",
    title: "Pane titles.",
    ok: "Completed, healthy, running.",
    info: "Informational rows.",
    warn: "Warnings, rollbacks, stall markers.",
    error: "Failures.",
    fatal: "Fatal flags.",
    in_progress: "Anything still in progress.",
    selection_fg: "Text of the selected row.",
    selection_bg: "Background of the selected row.",
    header_fg: "Header text.",
    header_bg: "Header background.",
    flag_fg: "Flags strip text.",
    flag_bg: "Flags strip background.",
}

/// A loaded theme: its name, its palette, and whether it is monochrome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Theme {
    pub name: String,
    pub palette: Palette,
    /// NO_COLOR: the palette is empty, and emphasis uses bold and reversed.
    pub monochrome: bool,
}

impl Default for Theme {
    fn default() -> Self {
        built_in("default").expect("the default theme is embedded and valid")
    }
}

/// A theme that `stackwatch themes` lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThemeInfo {
    pub name: String,
    /// `built-in`, or the user file's path.
    pub origin: String,
}

#[derive(Debug, Error)]
pub enum ThemeError {
    #[error("unknown theme {name:?}; available: {available}")]
    Unknown { name: String, available: String },
    #[error("theme file {file}: {message}")]
    Parse { file: String, message: String },
    #[error(
        "theme file {file}: key `{key}`: invalid colour {value:?} (use a name like lightred, an index 0-255, or #rrggbb)"
    )]
    BadColor {
        file: String,
        key: String,
        value: String,
    },
    #[error("theme {name:?}: `extends` goes deeper than {MAX_EXTENDS_DEPTH} themes (a cycle?)")]
    ExtendsTooDeep { name: String },
    #[error("theme file {file}: {source}")]
    Io {
        file: String,
        #[source]
        source: std::io::Error,
    },
}

// Text styles by meaning. Render code asks for these, never for colours.
impl Theme {
    fn fg_style(&self, color: Option<Color>) -> Style {
        match color {
            Some(c) if !self.monochrome => Style::new().fg(c),
            _ => Style::new(),
        }
    }

    /// The base style of the whole screen.
    pub fn base(&self) -> Style {
        let p = &self.palette;
        let mut style = self.fg_style(p.fg);
        if let (Some(bg), false) = (p.bg, self.monochrome) {
            style = style.bg(bg);
        }
        style
    }
    pub fn text(&self) -> Style {
        self.fg_style(self.palette.fg)
    }
    pub fn muted(&self) -> Style {
        if self.monochrome {
            return Style::new().add_modifier(Modifier::DIM);
        }
        self.fg_style(self.palette.muted)
    }
    pub fn accent(&self) -> Style {
        self.fg_style(self.palette.accent)
            .add_modifier(Modifier::BOLD)
    }
    pub fn ok(&self) -> Style {
        self.fg_style(self.palette.ok)
    }
    pub fn info(&self) -> Style {
        self.fg_style(self.palette.info)
    }
    pub fn warn(&self) -> Style {
        let style = self.fg_style(self.palette.warn);
        if self.monochrome {
            style.add_modifier(Modifier::BOLD)
        } else {
            style
        }
    }
    pub fn error(&self) -> Style {
        self.fg_style(self.palette.error)
            .add_modifier(Modifier::BOLD)
    }
    pub fn fatal(&self) -> Style {
        let style = self
            .fg_style(self.palette.fatal)
            .add_modifier(Modifier::BOLD);
        if self.monochrome {
            style.add_modifier(Modifier::REVERSED)
        } else {
            style
        }
    }
    pub fn in_progress(&self) -> Style {
        self.fg_style(self.palette.in_progress)
    }
    pub fn title(&self) -> Style {
        self.fg_style(self.palette.title)
            .add_modifier(Modifier::BOLD)
    }
    pub fn border(&self, focused: bool) -> Style {
        if focused {
            self.fg_style(self.palette.border_focused)
                .add_modifier(Modifier::BOLD)
        } else {
            self.fg_style(self.palette.border)
        }
    }
    /// Patched over a selected row: keeps the row's colours readable on the selection.
    pub fn selection(&self) -> Style {
        if self.monochrome {
            return Style::new().add_modifier(Modifier::REVERSED);
        }
        let mut style = Style::new();
        if let Some(bg) = self.palette.selection_bg {
            style = style.bg(bg);
        }
        if let Some(fg) = self.palette.selection_fg {
            style = style.fg(fg);
        }
        style
    }
    pub fn header(&self) -> Style {
        if self.monochrome {
            return Style::new().add_modifier(Modifier::REVERSED);
        }
        let mut style = self.fg_style(self.palette.header_fg);
        if let Some(bg) = self.palette.header_bg {
            style = style.bg(bg);
        }
        style
    }
    pub fn flag_strip(&self) -> Style {
        if self.monochrome {
            return Style::new();
        }
        let mut style = self.fg_style(self.palette.flag_fg);
        if let Some(bg) = self.palette.flag_bg {
            style = style.bg(bg);
        }
        style
    }
    /// The style of a severity level.
    pub fn level(&self, level: crate::model::Severity) -> Style {
        use crate::model::Severity;
        match level {
            Severity::Info => self.text(),
            Severity::Warn => self.warn(),
            Severity::Error => self.error(),
            Severity::Fatal => self.fatal(),
        }
    }
    /// The style of a CloudFormation, ECS or target status word.
    pub fn status(&self, status: &str) -> Style {
        let s = status.to_ascii_uppercase();
        if s.contains("FAILED") || s == "UNHEALTHY" || s.starts_with("UNHEALTHY") {
            self.error()
        } else if s.contains("ROLLBACK") || s == "DRAINING" || s == "UNAVAILABLE" {
            self.warn()
        } else if s.ends_with("IN_PROGRESS")
            || matches!(
                s.as_str(),
                "PENDING" | "PROVISIONING" | "ACTIVATING" | "INITIAL"
            )
        {
            self.in_progress()
        } else if s.ends_with("COMPLETE")
            || matches!(s.as_str(), "HEALTHY" | "RUNNING" | "COMPLETED" | "ACTIVE")
        {
            self.ok()
        } else {
            self.text()
        }
    }
}

/// Where user themes live: `$STACKWATCH_THEME_DIR`, else the config dir's `themes`.
pub fn user_theme_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("STACKWATCH_THEME_DIR").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir));
    }
    directories::ProjectDirs::from("", "", "stackwatch").map(|d| d.config_dir().join("themes"))
}

/// True when `NO_COLOR` is set and not empty (https://no-color.org).
pub fn no_color_requested() -> bool {
    std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
}

/// Loads a theme by name from the user directory or the built-ins, honouring NO_COLOR.
pub fn load(name: &str) -> Result<Theme, ThemeError> {
    load_from(name, user_theme_dir().as_deref(), no_color_requested())
}

/// [`load`] with its environment made explicit, for tests.
pub fn load_from(name: &str, user_dir: Option<&Path>, no_color: bool) -> Result<Theme, ThemeError> {
    let palette = resolve(name, user_dir, 0)?;
    let mut theme = Theme {
        name: name.to_string(),
        palette,
        monochrome: false,
    };
    if no_color {
        theme.palette = Palette::default();
        theme.monochrome = true;
    }
    Ok(theme)
}

/// A built-in theme by name, ignoring the environment.
pub fn built_in(name: &str) -> Result<Theme, ThemeError> {
    let palette = resolve(name, None, 0)?;
    Ok(Theme {
        name: name.to_string(),
        palette,
        monochrome: false,
    })
}

/// The monochrome theme NO_COLOR gives.
pub fn monochrome() -> Theme {
    Theme {
        name: "monochrome".to_string(),
        palette: Palette::default(),
        monochrome: true,
    }
}

/// A user file wins over a built-in of the same name, so users can tweak `default`.
fn resolve(name: &str, user_dir: Option<&Path>, depth: usize) -> Result<Palette, ThemeError> {
    if depth > MAX_EXTENDS_DEPTH {
        return Err(ThemeError::ExtendsTooDeep {
            name: name.to_string(),
        });
    }
    if let Some(path) = user_dir.map(|d| d.join(format!("{name}.toml")))
        && path.is_file()
    {
        let file_name = path.display().to_string();
        let text = std::fs::read_to_string(&path).map_err(|source| ThemeError::Io {
            file: file_name.clone(),
            source,
        })?;
        let file = parse_file(&text, &file_name)?;
        let parent = file.extends.as_deref().unwrap_or("default");
        // A user `default.toml` extends the built-in default, not itself.
        let mut palette = if parent == name {
            resolve_built_in(parent)?
        } else {
            resolve(parent, user_dir, depth + 1)?
        };
        file.apply(&mut palette, &file_name)?;
        return Ok(palette);
    }
    match resolve_built_in(name) {
        Ok(p) => Ok(p),
        Err(ThemeError::Unknown { .. }) => Err(ThemeError::Unknown {
            name: name.to_string(),
            available: list_in(user_dir)
                .into_iter()
                .map(|t| t.name)
                .collect::<Vec<_>>()
                .join(", "),
        }),
        Err(e) => Err(e),
    }
}

fn resolve_built_in(name: &str) -> Result<Palette, ThemeError> {
    let Some((_, text)) = BUILT_IN.iter().find(|(n, _)| *n == name) else {
        return Err(ThemeError::Unknown {
            name: name.to_string(),
            available: String::new(),
        });
    };
    let file_name = format!("built-in {name}");
    let file = parse_file(text, &file_name)?;
    let mut palette = Palette::default();
    file.apply(&mut palette, &file_name)?;
    Ok(palette)
}

fn parse_file(text: &str, file_name: &str) -> Result<ThemeFile, ThemeError> {
    toml::from_str(text).map_err(|e| ThemeError::Parse {
        file: file_name.to_string(),
        // toml's message names the key ("unknown field `foo`") and the line.
        message: e.to_string().trim_end().to_string(),
    })
}

/// `reset` means the terminal's own colour.
fn parse_color(value: &str, file: &str, key: &str) -> Result<Option<Color>, ThemeError> {
    match Color::from_str(value.trim()) {
        Ok(Color::Reset) => Ok(None),
        Ok(c) => Ok(Some(c)),
        Err(_) => Err(ThemeError::BadColor {
            file: file.to_string(),
            key: key.to_string(),
            value: value.to_string(),
        }),
    }
}

/// Built-in and user themes, built-ins first.
pub fn list() -> Vec<ThemeInfo> {
    list_in(user_theme_dir().as_deref())
}

fn list_in(user_dir: Option<&Path>) -> Vec<ThemeInfo> {
    let mut out: Vec<ThemeInfo> = BUILT_IN
        .iter()
        .map(|(name, _)| ThemeInfo {
            name: name.to_string(),
            origin: "built-in".to_string(),
        })
        .collect();
    let mut user: Vec<ThemeInfo> = user_dir
        .and_then(|dir| std::fs::read_dir(dir).ok())
        .into_iter()
        .flatten()
        .filter_map(|entry| {
            let path = entry.ok()?.path();
            if path.extension()? != "toml" {
                return None;
            }
            Some(ThemeInfo {
                name: path.file_stem()?.to_string_lossy().into_owned(),
                origin: path.display().to_string(),
            })
        })
        .collect();
    user.sort_by(|a, b| a.name.cmp(&b.name));
    out.extend(user);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_built_in_parses_and_sets_every_role() {
        for (name, text) in BUILT_IN {
            let file = parse_file(text, name).unwrap();
            assert!(
                file.missing_roles().is_empty(),
                "{name} misses {:?}",
                file.missing_roles()
            );
            let theme = built_in(name).unwrap();
            assert_eq!(theme.name, name);
            assert!(theme.palette.error.is_some(), "{name}");
        }
    }

    /// The colour a terminal most likely shows (xterm's palette for the basic 16).
    fn approx_rgb(color: Option<Color>, terminal_bg: (u8, u8, u8)) -> (u8, u8, u8) {
        match color {
            None | Some(Color::Reset) => terminal_bg,
            Some(Color::Rgb(r, g, b)) => (r, g, b),
            Some(Color::Black) => (0, 0, 0),
            Some(Color::Red) => (205, 0, 0),
            Some(Color::Green) => (0, 205, 0),
            Some(Color::Yellow) => (205, 205, 0),
            Some(Color::Blue) => (0, 0, 238),
            Some(Color::Magenta) => (205, 0, 205),
            Some(Color::Cyan) => (0, 205, 205),
            Some(Color::Gray) => (229, 229, 229),
            Some(Color::DarkGray) => (127, 127, 127),
            Some(Color::LightRed) => (255, 0, 0),
            Some(Color::LightGreen) => (0, 255, 0),
            Some(Color::LightYellow) => (255, 255, 0),
            Some(Color::LightBlue) => (92, 92, 255),
            Some(Color::LightMagenta) => (255, 0, 255),
            Some(Color::LightCyan) => (0, 255, 255),
            Some(Color::White) => (255, 255, 255),
            Some(other) => panic!("no approximation for {other:?}"),
        }
    }

    /// WCAG 2 contrast ratio.
    fn contrast(a: (u8, u8, u8), b: (u8, u8, u8)) -> f64 {
        fn lum((r, g, b): (u8, u8, u8)) -> f64 {
            let ch = |x: u8| {
                let x = f64::from(x) / 255.0;
                if x <= 0.03928 {
                    x / 12.92
                } else {
                    ((x + 0.055) / 1.055).powf(2.4)
                }
            };
            0.2126 * ch(r) + 0.7152 * ch(g) + 0.0722 * ch(b)
        }
        let (hi, lo) = {
            let (x, y) = (lum(a), lum(b));
            if x > y { (x, y) } else { (y, x) }
        };
        (hi + 0.05) / (lo + 0.05)
    }

    #[test]
    fn built_in_text_is_readable_on_its_backgrounds() {
        // A theme whose bg is `reset` is drawn on the user's dark (or light) terminal.
        for (name, terminal_bg) in [
            ("default", (30, 30, 30)),
            ("light", (255, 255, 255)),
            ("high-contrast", (0, 0, 0)),
            ("nord", (46, 52, 64)),
        ] {
            let p = built_in(name).unwrap().palette;
            let rgb = |c| approx_rgb(c, terminal_bg);
            let text = [
                ("fg", p.fg),
                ("title", p.title),
                ("accent", p.accent),
                ("ok", p.ok),
                ("info", p.info),
                ("warn", p.warn),
                ("error", p.error),
                ("fatal", p.fatal),
                ("in_progress", p.in_progress),
            ];
            // Status colours appear on the screen, in the header and on the flags strip.
            for (bg_name, bg) in [
                ("bg", p.bg),
                ("header_bg", p.header_bg),
                ("flag_bg", p.flag_bg),
            ] {
                for (role, fg) in text {
                    let ratio = contrast(rgb(fg), rgb(bg));
                    assert!(ratio >= 3.5, "{name}: {role} on {bg_name} is {ratio:.1}:1");
                }
                let muted = contrast(rgb(p.muted), rgb(bg));
                assert!(muted >= 2.8, "{name}: muted on {bg_name} is {muted:.1}:1");
            }
            for (what, fg, bg) in [
                ("selection", p.selection_fg, p.selection_bg),
                ("header", p.header_fg, p.header_bg),
                ("flags strip", p.flag_fg, p.flag_bg),
            ] {
                let ratio = contrast(rgb(fg), rgb(bg));
                assert!(ratio >= 4.5, "{name}: {what} text is {ratio:.1}:1");
            }
        }
    }

    #[test]
    fn unknown_name_lists_the_available_themes() {
        let err = load_from("nope", None, false).unwrap_err().to_string();
        assert!(err.contains("nope"), "{err}");
        assert!(err.contains("default") && err.contains("light"), "{err}");
    }

    #[test]
    fn unknown_key_names_the_file_and_the_key() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("mine.toml"),
            "warn = \"red\"\nwarning = \"red\"\n",
        )
        .unwrap();
        let err = load_from("mine", Some(dir.path()), false)
            .unwrap_err()
            .to_string();
        assert!(err.contains("mine.toml"), "{err}");
        assert!(err.contains("warning"), "{err}");
    }

    #[test]
    fn bad_colour_names_the_file_and_the_key() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("mine.toml"), "error = \"blurple\"\n").unwrap();
        let err = load_from("mine", Some(dir.path()), false)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("mine.toml") && err.contains("`error`"),
            "{err}"
        );
    }

    #[test]
    fn partial_user_theme_takes_the_rest_from_its_parent() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("mine.toml"),
            "extends = \"light\"\nerror = \"#010203\"\n",
        )
        .unwrap();
        let theme = load_from("mine", Some(dir.path()), false).unwrap();
        let light = built_in("light").unwrap();
        assert_eq!(theme.palette.error, Some(Color::Rgb(1, 2, 3)));
        assert_eq!(theme.palette.ok, light.palette.ok);
        let names: Vec<String> = list_in(Some(dir.path()))
            .into_iter()
            .map(|t| t.name)
            .collect();
        assert!(names.contains(&"mine".to_string()));
    }

    #[test]
    fn extends_cycle_is_an_error_not_a_hang() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.toml"), "extends = \"b\"\n").unwrap();
        std::fs::write(dir.path().join("b.toml"), "extends = \"a\"\n").unwrap();
        assert!(load_from("a", Some(dir.path()), false).is_err());
    }

    #[test]
    fn no_color_gives_a_monochrome_theme() {
        let theme = load_from("default", None, true).unwrap();
        assert!(theme.monochrome);
        assert_eq!(theme.palette, Palette::default());
        assert_eq!(theme.error().fg, None);
        assert!(theme.selection().add_modifier.contains(Modifier::REVERSED));
    }
}
