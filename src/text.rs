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
