//! The clock in a state flag's summary (`for 8m 35s`, `1m left of 10m`). It is drawn from `now`
//! whenever the summary is shown, so a tick over a stall that has not moved costs nothing: the
//! flag keeps the text around the clock and where the clock goes.

use std::borrow::Cow;

use chrono::{DateTime, Utc};

use super::{Flag, fmt_duration};

/// What a summary's clock counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clock {
    /// The time since `since`: `8m 35s`.
    Elapsed { since: DateTime<Utc> },
    /// The time left of a timeout that started at `since`: `1m left of 10m`, then `timeout of
    /// 10m passed 5s ago`.
    Countdown {
        since: DateTime<Utc>,
        timeout_s: i64,
    },
}

impl Clock {
    /// The clock's text at `now`.
    pub fn text(self, now: DateTime<Utc>) -> String {
        match self {
            Clock::Elapsed { since } => fmt_duration(seconds_since(since, now)),
            Clock::Countdown { since, timeout_s } => {
                let left = timeout_s.saturating_sub(seconds_since(since, now));
                if left >= 0 {
                    format!("{} left of {}", fmt_duration(left), fmt_duration(timeout_s))
                } else {
                    format!(
                        "timeout of {} passed {} ago",
                        fmt_duration(timeout_s),
                        fmt_duration(left.saturating_neg())
                    )
                }
            }
        }
    }
}

fn seconds_since(since: DateTime<Utc>, now: DateTime<Utc>) -> i64 {
    now.signed_duration_since(since).num_seconds()
}

/// A clock and the byte offset in the summary where its text goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SummaryClock {
    pub clock: Clock,
    /// A char boundary of [`Flag::summary`], which holds the text around the clock.
    pub at: usize,
}

impl SummaryClock {
    /// A summary written as `before` + clock + `after`: the text to store and its clock.
    pub fn around(before: String, clock: Clock, after: &str) -> (String, SummaryClock) {
        let at = before.len();
        let mut text = before;
        text.push_str(after);
        (text, SummaryClock { clock, at })
    }
}

impl Flag {
    /// The summary as it reads at `now`, its clock drawn in. Without a clock it is the stored
    /// text.
    pub fn summary_at(&self, now: DateTime<Utc>) -> Cow<'_, str> {
        match self.clock {
            None => Cow::Borrowed(&self.summary),
            Some(SummaryClock { clock, at }) => {
                let at = at.min(self.summary.len());
                let (before, after) = match self.summary.get(..at) {
                    Some(before) => (before, &self.summary[at..]),
                    None => (self.summary.as_str(), ""),
                };
                Cow::Owned(format!("{before}{}{after}", clock.text(now)))
            }
        }
    }

    /// Draws the clock in for good, as it read at `at`: a change handed on and a resolved flag
    /// keep the text they had then.
    pub fn stop_clock(&mut self, at: DateTime<Utc>) {
        if self.clock.is_some() {
            self.summary = self.summary_at(at).into_owned();
            self.clock = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeDelta, TimeZone};

    fn t(secs: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 23, 12, 0, 0).unwrap() + TimeDelta::seconds(secs)
    }

    #[test]
    fn clocks_read_from_now() {
        let elapsed = Clock::Elapsed { since: t(0) };
        assert_eq!(elapsed.text(t(515)), "8m 35s");
        assert_eq!(elapsed.text(t(-5)), "0s", "never negative");
        let countdown = Clock::Countdown {
            since: t(0),
            timeout_s: 600,
        };
        assert_eq!(countdown.text(t(540)), "1m left of 10m");
        assert_eq!(countdown.text(t(600)), "0s left of 10m");
        assert_eq!(countdown.text(t(605)), "timeout of 10m passed 5s ago");
    }

    #[test]
    fn a_summary_draws_its_clock_in_where_it_belongs_and_stops_it() {
        let (summary, clock) = SummaryClock::around(
            "Web CREATE_IN_PROGRESS for ".into(),
            Clock::Elapsed { since: t(0) },
            " (typically 2m)",
        );
        let mut flag = Flag {
            rule: "stall.resource",
            severity: crate::model::Severity::Warn,
            source: crate::model::Source::Cfn,
            subject: crate::detect::Subject::Stack("app".into()),
            resource: "app".into(),
            summary,
            clock: Some(clock),
            next_step: String::new(),
            evidence: Default::default(),
            count: 1,
            first_seen: t(0),
            last_seen: t(0),
            resolved_at: None,
            problem: None,
        };
        assert_eq!(
            flag.summary_at(t(75)),
            "Web CREATE_IN_PROGRESS for 1m 15s (typically 2m)"
        );
        flag.summary.push_str(" (gone)");
        assert_eq!(
            flag.summary_at(t(80)),
            "Web CREATE_IN_PROGRESS for 1m 20s (typically 2m) (gone)"
        );
        flag.stop_clock(t(90));
        assert_eq!(flag.clock, None);
        assert_eq!(
            flag.summary_at(t(5000)),
            "Web CREATE_IN_PROGRESS for 1m 30s (typically 2m) (gone)"
        );
    }
}
