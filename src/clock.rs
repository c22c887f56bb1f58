//! How time moves: live on the wall clock, a replay on a virtual clock that can pause, change
//! speed and jump. The loop reads the [`Mode`]; the header and the help show it.

use std::time::Instant;

use chrono::{DateTime, TimeDelta, Utc};

/// How fast virtual time runs against the wall clock.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Speed {
    Factor(f64),
    /// As fast as the pipeline can go.
    Max,
}

impl std::str::FromStr for Speed {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.eq_ignore_ascii_case("max") {
            return Ok(Speed::Max);
        }
        match s.trim_end_matches('x').parse::<f64>() {
            Ok(f) if f.is_finite() && (0.01..=100_000.0).contains(&f) => Ok(Speed::Factor(f)),
            _ => Err(format!(
                "invalid speed {s:?}: use a number from 0.01 to 100000 (like 1, 10 or 0.5) or max"
            )),
        }
    }
}

/// Maps wall-clock instants to virtual time. Pure arithmetic: the caller passes the instant.
#[derive(Debug, Clone)]
pub struct VirtualClock {
    anchor_virtual: DateTime<Utc>,
    anchor_wall: Instant,
    speed: Speed,
    paused: bool,
}

impl VirtualClock {
    pub fn new(start: DateTime<Utc>, wall: Instant, speed: Speed) -> Self {
        VirtualClock {
            anchor_virtual: start,
            anchor_wall: wall,
            speed,
            paused: false,
        }
    }

    pub fn now(&self, wall: Instant) -> DateTime<Utc> {
        if self.paused {
            return self.anchor_virtual;
        }
        match self.speed {
            Speed::Max => DateTime::<Utc>::MAX_UTC,
            Speed::Factor(f) => {
                let elapsed = wall.saturating_duration_since(self.anchor_wall);
                // Saturating: a recording near chrono's last date must not overflow the clock.
                let virt_ms = (elapsed.as_secs_f64() * f * 1000.0) as i64;
                TimeDelta::try_milliseconds(virt_ms)
                    .and_then(|d| self.anchor_virtual.checked_add_signed(d))
                    .unwrap_or(DateTime::<Utc>::MAX_UTC)
            }
        }
    }

    pub fn speed(&self) -> Speed {
        self.speed
    }

    pub fn is_paused(&self) -> bool {
        self.paused
    }

    pub fn set_paused(&mut self, paused: bool, wall: Instant) {
        if paused != self.paused {
            self.rebase(wall);
            self.paused = paused;
        }
    }

    pub fn set_speed(&mut self, speed: Speed, wall: Instant) {
        self.rebase(wall);
        self.speed = speed;
    }

    /// Jumps virtual time to `to`, keeping speed and pause.
    pub fn jump(&mut self, to: DateTime<Utc>, wall: Instant) {
        self.anchor_virtual = to;
        self.anchor_wall = wall;
    }

    fn rebase(&mut self, wall: Instant) {
        if !self.paused && self.speed != Speed::Max {
            self.anchor_virtual = self.now(wall);
        }
        self.anchor_wall = wall;
    }
}

/// What the loop is playing, as the header and the help show it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Mode {
    /// Watching AWS on the wall clock. Paused freezes the screen, not the watch.
    Live { paused: bool },
    /// Playing a recording on a virtual clock.
    Replay {
        paused: bool,
        speed: Speed,
        /// The recording has been played to its end.
        finished: bool,
    },
}

impl Mode {
    pub fn is_paused(self) -> bool {
        match self {
            Mode::Live { paused } | Mode::Replay { paused, .. } => paused,
        }
    }

    pub fn is_live(self) -> bool {
        matches!(self, Mode::Live { .. })
    }
}
