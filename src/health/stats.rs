//! Per-target probe statistics over a sliding window (RTT mean, jitter, loss) and the
//! uplink-wide sums of them, as `rail status` shows and the quality limits judge; and the
//! lifetime totals the history is made of.

use std::collections::VecDeque;
use std::time::Duration;

/// A tracker's probe counters since it was made: the history takes differences, so a
/// sample holds exactly the probes resolved between two observations.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    /// Probes answered in time or lost.
    pub resolved: u64,
    pub received: u64,
    /// Sum of the RTTs of the replies, and of their squares (for the spread).
    pub rtt_us: u64,
    pub rtt_us2: u128,
}

impl Totals {
    pub fn reply(&mut self, rtt_us: u64) {
        self.resolved += 1;
        self.received += 1;
        self.rtt_us += rtt_us;
        self.rtt_us2 += u128::from(rtt_us) * u128::from(rtt_us);
    }

    pub fn lost(&mut self) {
        self.resolved += 1;
    }

    pub fn add(&mut self, o: &Totals) {
        self.resolved += o.resolved;
        self.received += o.received;
        self.rtt_us += o.rtt_us;
        self.rtt_us2 += o.rtt_us2;
    }

    /// What happened since `earlier`; everything when the counters went back (a reload
    /// made the tracker anew).
    pub fn since(&self, earlier: &Totals) -> Totals {
        if self.resolved < earlier.resolved || self.received < earlier.received {
            return *self;
        }
        Totals {
            resolved: self.resolved - earlier.resolved,
            received: self.received - earlier.received,
            rtt_us: self.rtt_us.saturating_sub(earlier.rtt_us),
            rtt_us2: self.rtt_us2.saturating_sub(earlier.rtt_us2),
        }
    }

    /// Mean RTT and standard deviation in microseconds, with a reply.
    pub fn rtt(&self) -> Option<(f64, f64)> {
        (self.received > 0).then(|| {
            let n = self.received as f64;
            let mean = self.rtt_us as f64 / n;
            let var = self.rtt_us2 as f64 / n - mean * mean;
            (mean, var.max(0.0).sqrt())
        })
    }

    /// Lost probes per mille of the resolved ones, with a probe.
    pub fn loss_permille(&self) -> Option<u16> {
        (self.resolved > 0).then(|| {
            let lost = self.resolved - self.received;
            ((lost * 1000 + self.resolved / 2) / self.resolved) as u16
        })
    }
}

/// The last `window` outcomes of one target's probes, plus lifetime counters.
#[derive(Debug, Clone)]
pub struct TargetStats {
    /// `Some(rtt)` for a reply, `None` for a lost probe; oldest first.
    window: VecDeque<Option<Duration>>,
    capacity: usize,
    pub sent: u64,
    /// Every probe resolved since the target was made (replies among them: `received`).
    pub totals: Totals,
}

/// A summary of one or more windows.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Summary {
    /// Mean RTT of the replies in the window.
    pub rtt: Option<Duration>,
    /// Mean absolute difference between consecutive RTTs (RFC 3550's idea, unsmoothed).
    pub jitter: Option<Duration>,
    /// Lost probes in the window, percent of the resolved ones.
    pub loss: f64,
    /// Resolved probes in the window.
    pub samples: usize,
}

impl TargetStats {
    pub fn new(capacity: usize) -> TargetStats {
        TargetStats {
            window: VecDeque::with_capacity(capacity.max(1)),
            capacity: capacity.max(1),
            sent: 0,
            totals: Totals::default(),
        }
    }

    pub fn record_sent(&mut self) {
        self.sent += 1;
    }

    pub fn record(&mut self, outcome: Option<Duration>) {
        if self.window.len() == self.capacity {
            self.window.pop_front();
        }
        match outcome {
            Some(rtt) => self.totals.reply(rtt.as_micros() as u64),
            None => self.totals.lost(),
        }
        self.window.push_back(outcome);
    }

    pub fn summary(&self) -> Summary {
        summarize([self])
    }

    /// The newest outcome: None before any, `Some(None)` for a loss.
    pub fn last(&self) -> Option<Option<Duration>> {
        self.window.back().copied()
    }

    /// Forget the window (not the lifetime counters).
    pub fn clear_window(&mut self) {
        self.window.clear();
    }
}

/// Sums windows: every sample weighs the same, whichever target it came from.
pub fn summarize<'a>(targets: impl IntoIterator<Item = &'a TargetStats>) -> Summary {
    let (mut samples, mut lost, mut rtt_sum, mut rtt_n) = (0usize, 0usize, 0u128, 0u128);
    let (mut jit_sum, mut jit_n) = (0u128, 0u128);
    for t in targets {
        let mut prev: Option<Duration> = None;
        for outcome in &t.window {
            samples += 1;
            match outcome {
                None => lost += 1,
                Some(rtt) => {
                    rtt_sum += rtt.as_micros();
                    rtt_n += 1;
                    if let Some(p) = prev {
                        jit_sum += rtt.abs_diff(p).as_micros();
                        jit_n += 1;
                    }
                    prev = Some(*rtt);
                }
            }
        }
    }
    let mean = |sum: u128, n: u128| (n > 0).then(|| Duration::from_micros((sum / n) as u64));
    Summary {
        rtt: mean(rtt_sum, rtt_n),
        jitter: mean(jit_sum, jit_n),
        loss: if samples == 0 {
            0.0
        } else {
            lost as f64 * 100.0 / samples as f64
        },
        samples,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_slides_and_counts() {
        let mut t = TargetStats::new(4);
        for rtt in [10, 20, 10] {
            t.record_sent();
            t.record(Some(Duration::from_millis(rtt)));
        }
        t.record_sent();
        t.record(None);
        let s = t.summary();
        assert_eq!(s.samples, 4);
        assert_eq!(s.loss, 25.0);
        assert_eq!(s.rtt, Some(Duration::from_micros(13_333)));
        assert_eq!(s.jitter, Some(Duration::from_millis(10)));
        t.record(None);
        let s = t.summary();
        assert_eq!(
            (s.samples, s.loss),
            (4, 50.0),
            "oldest sample left the window"
        );
        assert_eq!((t.sent, t.totals.received), (4, 3));
        assert_eq!(t.totals.rtt_us, 40_000);
    }

    #[test]
    fn empty_window_has_no_rtt() {
        let s = TargetStats::new(3).summary();
        assert_eq!((s.rtt, s.jitter, s.loss, s.samples), (None, None, 0.0, 0));
    }
}
