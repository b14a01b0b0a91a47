//! Monotonic time as the pure core sees it: microseconds since an arbitrary origin, passed
//! in by the caller so the state machine never reads a clock and tests can simulate one.

use std::ops::Add;
use std::time::Duration;

/// A point on a monotonic clock, in microseconds since the caller's origin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Time(u64);

impl Time {
    pub const ZERO: Time = Time(0);

    pub const fn from_micros(us: u64) -> Time {
        Time(us)
    }
    pub const fn from_millis(ms: u64) -> Time {
        Time(ms * 1000)
    }
    pub const fn as_micros(self) -> u64 {
        self.0
    }
    /// The span from `earlier` to `self`, zero when `earlier` is later.
    pub fn since(self, earlier: Time) -> Duration {
        Duration::from_micros(self.0.saturating_sub(earlier.0))
    }
}

impl Add<Duration> for Time {
    type Output = Time;
    fn add(self, d: Duration) -> Time {
        Time(
            self.0
                .saturating_add(d.as_micros().min(u64::MAX as u128) as u64),
        )
    }
}

/// Milliseconds with one decimal, the way people read round-trip times.
pub fn ms(d: Duration) -> f64 {
    (d.as_micros() as f64 / 100.0).round() / 10.0
}
