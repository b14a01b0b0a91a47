//! A reconcile that failed (pure, on the caller's clock): when to try again, with a
//! backoff that doubles from `FIRST` up to `LAST`, and what `rail status` says until one
//! succeeds. The daemon logs the first failure and the recovery, never each retry.

use std::time::{Duration, Instant};

pub use super::status::ReconcileFailure as Failure;

/// The wait before the first retry.
pub const FIRST: Duration = Duration::from_millis(500);
/// The longest wait between two retries.
pub const LAST: Duration = Duration::from_secs(30);

#[derive(Debug, Default)]
pub struct Retry {
    failing: Option<(Failure, Instant)>,
}

impl Retry {
    /// An attempt failed at `now` (`unix`: the same instant in Unix seconds). True for the
    /// first failure of a run of them: the one to log.
    pub fn failed(&mut self, error: String, now: Instant, unix: u64) -> bool {
        let first = self.failing.is_none();
        let mut failure = self.failing.take().map_or(
            Failure {
                since: unix,
                ..Failure::default()
            },
            |(f, _)| f,
        );
        failure.error = error;
        failure.attempts += 1;
        let doublings = (failure.attempts - 1).min(16);
        let wait = FIRST.saturating_mul(1 << doublings).min(LAST);
        self.failing = Some((failure, now + wait));
        first
    }

    /// An attempt succeeded: the run of failures it ends, if any (to log the recovery).
    pub fn succeeded(&mut self) -> Option<Failure> {
        self.failing.take().map(|(f, _)| f)
    }

    /// When to try again; `None` while nothing failed.
    pub fn due(&self) -> Option<Instant> {
        self.failing.as_ref().map(|(_, at)| *at)
    }

    pub fn failure(&self) -> Option<&Failure> {
        self.failing.as_ref().map(|(f, _)| f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_and_only_the_first_failure_is_told() {
        let t0 = Instant::now();
        let mut r = Retry::default();
        assert_eq!(r.due(), None);
        assert!(r.failed("nft: fork failed".into(), t0, 1000));
        assert_eq!(r.due(), Some(t0 + FIRST));
        let mut now = t0;
        let mut waits = Vec::new();
        for _ in 0..8 {
            now = r.due().unwrap();
            assert!(!r.failed("nft: fork failed again".into(), now, 1001));
            waits.push((r.due().unwrap() - now).as_millis());
        }
        assert_eq!(waits, [1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
        let f = r.failure().unwrap().clone();
        assert_eq!((f.since, f.attempts), (1000, 9));
        assert_eq!(f.error, "nft: fork failed again");
        assert_eq!(r.succeeded(), Some(f));
        assert_eq!((r.due(), r.failure()), (None, None));
        assert_eq!(r.succeeded(), None);
        // A new run of failures starts from the first wait again, and is told again.
        assert!(r.failed("again".into(), now, 2000));
        assert_eq!(r.due(), Some(now + FIRST));
    }
}
