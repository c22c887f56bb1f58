//! Untrusted text (log lines, reasons, names from AWS) made safe for a terminal.
//!
//! Strips ESC sequences (CSI, OSC, DCS, SOS, PM, APC, and two-byte escapes), C1 controls
//! (U+0080–U+009F, which some terminals treat like ESC sequences), bidirectional overrides,
//! and every other control character; tabs become a space, newlines are kept or folded as the
//! caller asks, and the result is capped at a number of characters with an ellipsis.

use std::borrow::Cow;

/// The longest line stackwatch shows from untrusted input.
pub const MAX_LINE_CHARS: usize = 2_000;

/// Cleans one line for display: newlines fold to ` ⏎ `, and the result is capped.
///
/// ```
/// // An OSC 52 clipboard write and a screen clear hidden in a log line.
/// let hostile = "boom\x1b]52;c;cHduZWQ=\x07\x1b[2J done";
/// assert_eq!(stackwatch::sanitize::line(hostile), "boom done");
/// ```
pub fn line(text: &str) -> Cow<'_, str> {
    clean(text, MAX_LINE_CHARS, false)
}

/// `keep` holds for every byte. Checked 16 bytes at a time with no early exit inside a block,
/// so it vectorises: every field of every headless line passes such a check. (Inlined so each
/// caller's `keep` is folded into its loop: not inlined, it cost the writer 5 % more.)
#[inline]
pub(crate) fn every_byte(bytes: &[u8], keep: impl Fn(u8) -> bool) -> bool {
    let mut blocks = bytes.chunks_exact(16);
    blocks
        .by_ref()
        .all(|block| block.iter().fold(true, |all, &b| all & keep(b)))
        && blocks.remainder().iter().all(|&b| keep(b))
}

/// Every byte is printable ASCII (space to `~`).
fn is_printable_ascii(bytes: &[u8]) -> bool {
    every_byte(bytes, |b| b.wrapping_sub(b' ') <= b'~' - b' ')
}

/// Cleans text, keeping `\n` when `keep_newlines` is true, capped at `max_chars` characters.
pub fn clean(text: &str, max_chars: usize, keep_newlines: bool) -> Cow<'_, str> {
    // Most texts are short printable ASCII: one pass over the bytes, which vectorises.
    if text.len() <= max_chars && is_printable_ascii(text.as_bytes()) {
        return Cow::Borrowed(text);
    }
    // A text of no more bytes than the cap has no more characters either: no need to count.
    let needs_work = (text.len() > max_chars && text.chars().nth(max_chars).is_some())
        || text
            .chars()
            .any(|c| (c.is_control() || is_bidi_control(c)) && !(keep_newlines && c == '\n'));
    if !needs_work {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len().min(max_chars * 4));
    let mut chars = text.chars().peekable();
    let mut count = 0usize;
    let mut push = |out: &mut String, s: &str| -> bool {
        for c in s.chars() {
            if count >= max_chars {
                return false;
            }
            out.push(c);
            count += 1;
        }
        true
    };
    while let Some(c) = chars.next() {
        let ok = match c {
            '\u{1b}' => {
                skip_escape(&mut chars);
                true
            }
            // C1 CSI, OSC, DCS, SOS, PM, APC start sequences of their own.
            '\u{9b}' => {
                skip_csi(&mut chars);
                true
            }
            '\u{9d}' | '\u{90}' | '\u{98}' | '\u{9e}' | '\u{9f}' => {
                skip_string(&mut chars);
                true
            }
            '\n' if keep_newlines => push(&mut out, "\n"),
            '\n' => push(&mut out, " ⏎ "),
            '\t' => push(&mut out, " "),
            c if c.is_control() || is_bidi_control(c) => true,
            c => {
                let mut buf = [0u8; 4];
                push(&mut out, c.encode_utf8(&mut buf))
            }
        };
        if !ok {
            // Make room for the ellipsis within the cap.
            out.pop();
            out.push('…');
            break;
        }
    }
    Cow::Owned(out)
}

/// Bidirectional formatting characters: not controls to Unicode, but they reorder what
/// follows on screen, so a log line could make other text read differently ("Trojan Source").
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

type Chars<'a> = std::iter::Peekable<std::str::Chars<'a>>;

/// After ESC: CSI (`[`), string sequences (`]`, `P`, `X`, `^`, `_`), or one more character.
fn skip_escape(chars: &mut Chars<'_>) {
    match chars.next() {
        Some('[') => skip_csi(chars),
        Some(']') | Some('P') | Some('X') | Some('^') | Some('_') => skip_string(chars),
        // nF escapes (ESC SP…/, e.g. `ESC ( B`) take intermediates, then a final byte.
        Some(c) if ('\u{20}'..='\u{2f}').contains(&c) => {
            while let Some(&n) = chars.peek() {
                chars.next();
                if !('\u{20}'..='\u{2f}').contains(&n) {
                    break;
                }
            }
        }
        _ => {}
    }
}

/// CSI: parameter and intermediate bytes, then one final byte in `@`..=`~`.
fn skip_csi(chars: &mut Chars<'_>) {
    for c in chars.by_ref() {
        if ('\u{40}'..='\u{7e}').contains(&c) || !(('\u{20}'..='\u{3f}').contains(&c)) {
            break;
        }
    }
}

/// OSC/DCS/SOS/PM/APC: up to BEL, ST (`ESC \`) or C1 ST.
fn skip_string(chars: &mut Chars<'_>) {
    while let Some(c) = chars.next() {
        match c {
            '\u{7}' | '\u{9c}' => break,
            '\u{1b}' => {
                if chars.peek() == Some(&'\\') {
                    chars.next();
                }
                break;
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_printable_ascii_check_sees_every_byte_of_every_block() {
        for len in [0, 1, 15, 16, 17, 31, 32, 33, 100] {
            let clean = "a~ ".repeat(len).chars().take(len).collect::<String>();
            assert!(is_printable_ascii(clean.as_bytes()), "{len}");
            for at in 0..len {
                for bad in [0x1f_u8, 0x7f, 0x80, 0xff, b'\n', 0x1b] {
                    let mut bytes = clean.clone().into_bytes();
                    bytes[at] = bad;
                    assert!(!is_printable_ascii(&bytes), "{len} {at} {bad:#x}");
                }
            }
        }
    }

    #[test]
    fn osc52_clipboard_write_is_removed() {
        let evil = "before\x1b]52;c;ZWNobyBwd25lZA==\x07after";
        assert_eq!(line(evil), "beforeafter");
        let st = "a\x1b]0;title\x1b\\b";
        assert_eq!(line(st), "ab");
    }

    #[test]
    fn csi_clear_screen_and_colours_are_removed() {
        assert_eq!(line("x\x1b[2Jy\x1b[31;1mred\x1b[0m"), "xyred");
        assert_eq!(line("\x1b[?1049h\x1b[H"), "");
    }

    #[test]
    fn c1_controls_are_removed() {
        // U+009B is a one-character CSI; U+009D a one-character OSC; U+0085 NEL.
        assert_eq!(line("a\u{9b}2Jb"), "ab");
        assert_eq!(line("a\u{9d}0;pwned\u{9c}b"), "ab");
        assert_eq!(line("a\u{85}b\u{7f}c\u{0}d\u{7}e"), "abcde");
    }

    #[test]
    fn newlines_fold_or_stay_and_tabs_become_spaces() {
        assert_eq!(line("a\nb\tc\r"), "a ⏎ b c");
        assert_eq!(clean("a\nb\r\n", 100, true), "a\nb\n");
    }

    #[test]
    fn long_lines_are_capped_with_an_ellipsis() {
        let long = "é".repeat(5000);
        let out = line(&long);
        assert_eq!(out.chars().count(), MAX_LINE_CHARS);
        assert!(out.ends_with('…'));
        assert_eq!(clean("abcdef", 4, false), "abc…");
    }

    #[test]
    fn bidi_overrides_are_removed() {
        assert_eq!(line("user\u{202e}gnp.exe"), "usergnp.exe");
        assert_eq!(line("a\u{2066}b\u{2069}c\u{200f}"), "abc");
    }

    #[test]
    fn clean_text_is_borrowed() {
        assert!(matches!(line("plain text ✓"), Cow::Borrowed(_)));
    }

    #[test]
    fn unterminated_sequences_do_not_panic() {
        for s in ["\x1b", "\x1b[", "\x1b]52;c;", "\u{9b}", "\x1b(", "\x1bP1$r"] {
            let _ = line(s);
        }
        assert_eq!(line("ok\x1b]unterminated"), "ok");
    }
}
