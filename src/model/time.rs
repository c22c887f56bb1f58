//! Reading RFC 3339 times fast. Replaying a recording parses several timestamps per line, and
//! chrono's general parser was a third of the parse time; the shape stackwatch writes
//! (`2026-11-23T09:00:00Z`, optionally with a fraction) is read directly, and anything else
//! (offsets, years past 9999) falls back to chrono's `FromStr`, which its serde support uses.

use std::fmt;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserializer;
use serde::de::{self, Visitor};

/// Parses an RFC 3339 time.
pub fn parse(text: &str) -> Option<DateTime<Utc>> {
    // The fallback is what chrono's own serde reads, so every recording read before still is.
    parse_utc_fast(text.as_bytes()).or_else(|| text.parse::<DateTime<Utc>>().ok())
}

/// `YYYY-MM-DDTHH:MM:SS[.f{1,9}]Z`, or `None` for any other shape.
fn parse_utc_fast(b: &[u8]) -> Option<DateTime<Utc>> {
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't') {
        return None;
    }
    if b[13] != b':' || b[16] != b':' || !matches!(b[b.len() - 1], b'Z' | b'z') {
        return None;
    }
    let num = |range: std::ops::Range<usize>| -> Option<u32> {
        b[range].iter().try_fold(0u32, |n, &c| {
            c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
        })
    };
    let nanos = match &b[19..b.len() - 1] {
        [] => 0,
        [b'.', digits @ ..] if (1..=9).contains(&digits.len()) => {
            let value = num(20..20 + digits.len())?;
            value * 10u32.pow(9 - digits.len() as u32)
        }
        _ => return None,
    };
    let date = date_of(b[..10].try_into().ok()?, || {
        NaiveDate::from_ymd_opt(num(0..4)? as i32, num(5..7)?, num(8..10)?)
    })?;
    let time = date.and_hms_nano_opt(num(11..13)?, num(14..16)?, num(17..19)?, nanos)?;
    Some(time.and_utc())
}

/// The date of `YYYY-MM-DD`, built by `build` unless it is the one this thread read last: a
/// recording's times share their day for hours, and building a date is most of the work.
fn date_of(text: [u8; 10], build: impl FnOnce() -> Option<NaiveDate>) -> Option<NaiveDate> {
    thread_local! {
        static LAST: std::cell::Cell<Option<([u8; 10], NaiveDate)>> =
            const { std::cell::Cell::new(None) };
    }
    LAST.with(|last| match last.get() {
        Some((known, date)) if known == text => Some(date),
        _ => {
            let date = build()?;
            last.set(Some((text, date)));
            Some(date)
        }
    })
}

struct TimeVisitor;

impl Visitor<'_> for TimeVisitor {
    type Value = DateTime<Utc>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an RFC 3339 time")
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Self::Value, E> {
        parse(text).ok_or_else(|| E::custom(format!("not an RFC 3339 time: {text:?}")))
    }
}

/// `#[serde(deserialize_with = "time::utc")]`
pub fn utc<'de, D: Deserializer<'de>>(deserializer: D) -> Result<DateTime<Utc>, D::Error> {
    deserializer.deserialize_str(TimeVisitor)
}

/// `#[serde(default, deserialize_with = "time::utc_opt")]`
pub fn utc_opt<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<DateTime<Utc>>, D::Error> {
    struct OptVisitor;
    impl<'de> Visitor<'de> for OptVisitor {
        type Value = Option<DateTime<Utc>>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("an RFC 3339 time or null")
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            utc(d).map(Some)
        }
    }
    deserializer.deserialize_option(OptVisitor)
}

#[cfg(test)]
mod tests {
    use chrono::{SecondsFormat, TimeZone, Timelike};

    use super::*;

    #[test]
    fn reads_what_stackwatch_writes_exactly_like_chrono() {
        for text in [
            "2026-11-23T09:00:00Z",
            "2026-11-23T09:00:00.5Z",
            "2026-11-23T09:00:00.123456789Z",
            "1999-12-31t23:59:59z",
            "2024-02-29T00:00:00Z",
        ] {
            let chrono = DateTime::parse_from_rfc3339(text)
                .unwrap()
                .with_timezone(&Utc);
            assert_eq!(parse_utc_fast(text.as_bytes()), Some(chrono), "{text}");
        }
        let t = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).unwrap();
        for format in [
            SecondsFormat::Secs,
            SecondsFormat::Millis,
            SecondsFormat::Nanos,
        ] {
            let text = t
                .with_nanosecond(120_000_000)
                .unwrap()
                .to_rfc3339_opts(format, true);
            assert_eq!(
                parse(&text),
                DateTime::parse_from_rfc3339(&text).ok().map(|t| t.to_utc())
            );
        }
    }

    #[test]
    fn the_date_read_last_is_reused_only_for_the_same_day() {
        // Alternating days, a bad day between two good ones, a day then an unreadable one.
        for text in [
            "2026-11-23T09:00:00Z",
            "2026-11-24T09:00:00Z",
            "2026-11-23T23:59:59.9Z",
            "2026-02-30T00:00:00Z",
            "2026-11-23T00:00:00Z",
            "2026-11-2xT00:00:00Z",
            "2026-11-24T01:02:03Z",
            "2024-02-29T00:00:00Z",
            "2024-02-29T12:00:00Z",
        ] {
            let chrono = DateTime::parse_from_rfc3339(text)
                .ok()
                .map(|t| t.with_timezone(&Utc));
            assert_eq!(parse(text), chrono, "{text}");
        }
    }

    #[test]
    fn other_shapes_fall_back_to_chrono_and_garbage_is_refused() {
        assert_eq!(
            parse("2026-11-23T10:00:00+01:00"),
            Some(Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).unwrap())
        );
        assert!(parse("+262142-12-31T23:59:59Z").is_some());
        for bad in [
            "",
            "2026-13-01T00:00:00Z",
            "2026-02-30T00:00:00Z",
            "2026-11-23T25:00:00Z",
            "2026-11-23T09:00:00.Z",
            "2026-11-23 09:00:00",
            "yesterday",
            "２０２６-11-23T09:00:00Z",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }
}
