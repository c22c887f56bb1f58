//! Small text helpers shared by every output (the dashboard, headless lines, reports).

/// How often something happened, in words: "once", "twice", "3 times".
pub fn times(n: u64) -> String {
    match n {
        1 => "once".to_string(),
        2 => "twice".to_string(),
        n => format!("{n} times"),
    }
}

/// A count with its noun, plural when it is not one: "1 open flag", "0 open flags".
pub fn count_of(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// Pads or cuts `text` to exactly `width` characters (ASCII-width text such as ids).
pub fn fit(text: &str, width: usize) -> String {
    let count = text.chars().count();
    if count <= width {
        format!("{text:<width$}")
    } else if width == 0 {
        String::new()
    } else {
        let mut out: String = text.chars().take(width - 1).collect();
        out.push('…');
        out
    }
}

/// `HH:MM:SS`, UTC: how every output shows a time of day.
pub fn clock(at: chrono::DateTime<chrono::Utc>) -> String {
    at.format("%H:%M:%S").to_string()
}

/// Text for a Markdown table cell: one line, control characters gone, and every character
/// that could open markup or end the cell (`|`, backticks, emphasis, links, HTML) escaped.
pub fn md_cell(text: &str) -> String {
    let clean = crate::sanitize::line(text);
    let mut out = String::with_capacity(clean.len());
    for c in clean.chars() {
        if matches!(
            c,
            '|' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '\\' | '#'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Text for HTML: control characters gone, `& < > " '` escaped.
pub fn html_escape(text: &str) -> String {
    let clean = crate::sanitize::line(text);
    let mut out = String::with_capacity(clean.len() + 16);
    for c in clean.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The problems as a Markdown table (`status --format md`, the report), with the heading of
/// the chain's column.
pub fn md_problems(out: &mut String, problems: &[crate::detect::ProblemSummary], chain: &str) {
    use std::fmt::Write as _;
    let _ = writeln!(
        out,
        "| problem | root | {chain} | flags |\n|---|---|---|---|"
    );
    for p in problems {
        let _ = writeln!(
            out,
            "| {} | `{}` {} | {} | {} |",
            p.severity.as_str(),
            p.rule,
            md_cell(&p.resource),
            md_cell(&p.chain),
            p.flags
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_read_as_english() {
        assert_eq!(times(1), "once");
        assert_eq!(times(2), "twice");
        assert_eq!(times(0), "0 times");
        assert_eq!(times(12), "12 times");
        assert_eq!(count_of(1, "open flag"), "1 open flag");
        assert_eq!(count_of(0, "open flag"), "0 open flags");
        assert_eq!(count_of(3, "open flag"), "3 open flags");
    }
}
