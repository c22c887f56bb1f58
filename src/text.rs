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
