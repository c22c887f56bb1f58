//! Themes: TOML files with semantic roles, embedded in the binary, plus a user theme directory.

#[derive(Debug, Clone, Default)]
pub struct Theme {
    pub name: String,
}

pub struct ThemeInfo {
    pub name: String,
    pub origin: String,
}

pub fn load(name: &str) -> anyhow::Result<Theme> {
    Ok(Theme {
        name: name.to_string(),
    })
}

pub fn list() -> Vec<ThemeInfo> {
    vec![ThemeInfo {
        name: "default".into(),
        origin: "built-in".into(),
    }]
}
