//! Passive evidence (pure): whether the LAN's own new connections say an uplink went
//! silent. Fed the running totals of two kernel counters of one uplink and family (first
//! SYNs of new outbound TCP connections, SYN-ACKs coming back) at a steady cadence, a
//! `Watch` reports a `Silence` when connections went unanswered for long while the answers
//! before were normal; the shell then counts the distinct destinations of the uplink's
//! unanswered flows, and `Watch::judge` turns enough of them into a suspicion. A suspicion
//! only asks the tracker for a confirming probe round (`Tracker::confirm`): passive
//! evidence alone never takes an uplink down. A suspicion the round cleared keeps the watch
//! quiet for `QUIET`, so a LAN host scanning dead addresses cannot make rail probe in a loop.
//!
//! The figures (docs/health.md, "Passive evidence"):
//! - unanswered: at least `MIN_UNANSWERED` connections opened after the last answer and
//!   still without one `wait` later (`wait_for`: four times the uplink's RTT, at least
//!   `WAIT_FLOOR`);
//! - normal before: in the `BASELINE` before the silence, at least `MIN_ANSWERED` answers,
//!   and at least half of the connections opened then answered (a host that only scans, or
//!   an idle uplink, never counts as normal);
//! - several destinations: `MIN_DESTINATIONS` distinct ones among the unanswered flows.

use std::collections::VecDeque;
use std::net::IpAddr;
use std::time::Duration;

use super::time::Time;
use crate::dataplane::nfnl::Flow;

pub const MIN_UNANSWERED: u64 = 2;
pub const MIN_ANSWERED: u64 = 2;
pub const MIN_DESTINATIONS: usize = 2;
pub const WAIT_FLOOR: Duration = Duration::from_millis(200);
pub const BASELINE: Duration = Duration::from_secs(10);
pub const QUIET: Duration = Duration::from_secs(30);

/// How long a new connection goes unanswered before it counts: four RTTs of the uplink
/// (its probes' mean), at least `WAIT_FLOOR` (a LAN server is farther than a probe target).
pub fn wait_for(rtt: Option<Duration>) -> Duration {
    rtt.map_or(WAIT_FLOOR, |r| (r * 4).max(WAIT_FLOOR))
}

/// Destinations counted at most (the log says "64 destinations" for more).
const MAX_DESTINATIONS: usize = 64;

/// The distinct destinations of the unanswered TCP connections among an uplink's flows (a
/// conntrack dump of its mark, fed to `add`) opened or retried within `BASELINE`: conntrack
/// keeps such an entry `syn_sent_secs` after its last SYN, so a younger one has more left.
#[derive(Debug, Clone, Default)]
pub struct Destinations {
    young: u32,
    seen: Vec<IpAddr>,
}

impl Destinations {
    pub fn new(syn_sent_secs: u32) -> Destinations {
        Destinations {
            young: syn_sent_secs.saturating_sub(BASELINE.as_secs() as u32),
            seen: Vec::new(),
        }
    }

    pub fn add(&mut self, f: Flow) {
        let fresh = f.tcp && !f.replied && f.timeout >= self.young;
        if fresh && self.seen.len() < MAX_DESTINATIONS && !self.seen.contains(&f.dst) {
            self.seen.push(f.dst);
        }
    }

    pub fn count(&self) -> usize {
        self.seen.len()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Sample {
    at: Time,
    opened: u64,
    answered: u64,
}

/// Connections went unanswered: ask how many destinations they went to, then `judge`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Silence {
    /// Connections opened since the last answer, unanswered for at least `wait`.
    pub unanswered: u64,
    /// Since the first of them was seen.
    pub quiet_for: Duration,
    /// The opened total they were counted up to (a silence is judged once per new evidence).
    through: u64,
}

/// The passive watch of one uplink and family.
#[derive(Debug, Clone, Default)]
pub struct Watch {
    /// Oldest first, one per reading, `2 * BASELINE` at most.
    samples: VecDeque<Sample>,
    /// The opened total up to which a silence was judged.
    judged: u64,
    quiet_until: Option<Time>,
    /// The last suspicion, for the status.
    suspicion: Option<String>,
}

/// What the status shows of a watch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// The counters' totals at the last reading.
    pub opened: u64,
    pub answered: u64,
    /// The last suspicion, if any.
    pub suspicion: Option<String>,
}

impl Watch {
    /// A reading of the counters at `now`; a `Silence` when the evidence says so.
    pub fn observe(
        &mut self,
        now: Time,
        opened: u64,
        answered: u64,
        wait: Duration,
    ) -> Option<Silence> {
        if self
            .samples
            .back()
            .is_some_and(|s| opened < s.opened || answered < s.answered)
        {
            // The counters started again (the table was put back): so does the watch.
            self.samples.clear();
            self.judged = 0;
        }
        self.samples.push_back(Sample {
            at: now,
            opened,
            answered,
        });
        while self
            .samples
            .front()
            .is_some_and(|s| now.since(s.at) > BASELINE * 2)
        {
            self.samples.pop_front();
        }
        if self.quiet_until.is_some_and(|q| now < q) {
            return None;
        }
        // The first reading of the current answered total: the last answer came before it.
        let last = self.samples.iter().position(|s| s.answered == answered)?;
        let base = self.samples[last];
        let settled = self
            .samples
            .iter()
            .skip(last)
            .take_while(|s| now.since(s.at) >= wait)
            .last()?;
        let unanswered = settled.opened - base.opened;
        if unanswered < MIN_UNANSWERED || settled.opened <= self.judged {
            return None;
        }
        let before = self
            .samples
            .iter()
            .find(|s| base.at.since(s.at) <= BASELINE)
            .copied()
            .unwrap_or(base);
        let (was_answered, was_opened) =
            (base.answered - before.answered, base.opened - before.opened);
        if was_answered < MIN_ANSWERED || was_answered * 2 < was_opened {
            return None;
        }
        let first = self
            .samples
            .iter()
            .skip(last)
            .find(|s| s.opened > base.opened)?;
        Some(Silence {
            unanswered,
            quiet_for: now.since(first.at),
            through: settled.opened,
        })
    }

    /// The silence with the number of distinct destinations of the uplink's unanswered new
    /// flows: the suspicion to log when they are enough. Either way this evidence is judged.
    pub fn judge(&mut self, silence: Silence, destinations: usize) -> Option<String> {
        self.judged = silence.through;
        let why = (destinations >= MIN_DESTINATIONS).then(|| {
            format!(
                "{} new connections unanswered for {} ms; unanswered flows to {destinations} destinations",
                silence.unanswered,
                silence.quiet_for.as_millis()
            )
        });
        if why.is_some() {
            self.suspicion.clone_from(&why);
        }
        why
    }

    pub fn report(&self) -> Report {
        let last = self.samples.back();
        Report {
            opened: last.map_or(0, |s| s.opened),
            answered: last.map_or(0, |s| s.answered),
            suspicion: self.suspicion.clone(),
        }
    }

    /// A confirming round answered: no suspicion for `QUIET`.
    pub fn cleared(&mut self, now: Time) {
        self.quiet_until = Some(now + QUIET);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STEP: Duration = Duration::from_millis(100);

    /// Feeds one reading per `STEP` from `start` while `traffic(t)` gives the totals at
    /// t ms; returns the first silence and when.
    fn run(
        w: &mut Watch,
        from_ms: u64,
        to_ms: u64,
        traffic: impl Fn(u64) -> (u64, u64),
    ) -> Option<(u64, Silence)> {
        (from_ms..=to_ms)
            .step_by(STEP.as_millis() as usize)
            .find_map(|t| {
                let (o, a) = traffic(t);
                w.observe(Time::from_millis(t), o, a, WAIT_FLOOR)
                    .map(|s| (t, s))
            })
    }

    /// Five new connections a second, each answered 30 ms later, until `dead_at` ms; after
    /// it they keep opening and nothing answers.
    fn busy_until(dead_at: u64) -> impl Fn(u64) -> (u64, u64) {
        move |t| {
            let opened = t / 200 + 1;
            let answered = if t < dead_at {
                (t.saturating_sub(30)) / 200 + u64::from(t >= 30)
            } else {
                (dead_at - 30) / 200 + 1
            };
            (opened, answered.min(opened))
        }
    }

    #[test]
    fn a_busy_uplink_gone_silent_is_reported_once_its_connections_wait_long_enough() {
        let mut w = Watch::default();
        let (at, s) = run(&mut w, 0, 20_000, busy_until(10_050)).expect("a silence");
        // Answers stop after 10 s; connections at 10.2 s and 10.4 s wait 200 ms each.
        assert_eq!(at, 10_600, "{s:?}");
        assert_eq!(s.unanswered, MIN_UNANSWERED);
        assert_eq!(s.quiet_for, Duration::from_millis(400));
        assert_eq!(
            w.judge(s, 2).as_deref(),
            Some("2 new connections unanswered for 400 ms; unanswered flows to 2 destinations")
        );
        let report = w.report();
        assert_eq!((report.opened, report.answered), (54, 51));
        assert_eq!(
            report.suspicion.as_deref(),
            w.clone().judge(s, 2).as_deref()
        );
        // Judged: nothing more until more connections go unanswered.
        assert!(w
            .observe(Time::from_millis(10_650), 54, 51, WAIT_FLOOR)
            .is_none());
        let next = run(&mut w, 10_700, 20_000, busy_until(10_050)).expect("more evidence");
        assert_eq!((next.0, next.1.unanswered), (10_800, 3));
    }

    #[test]
    fn one_destination_is_no_suspicion_but_new_evidence_is_judged_again() {
        let mut w = Watch::default();
        let (_, s) = run(&mut w, 0, 20_000, busy_until(5_050)).unwrap();
        assert_eq!(w.judge(s, 1), None, "one dead server");
        let (_, s) = run(&mut w, 5_700, 20_000, busy_until(5_050)).unwrap();
        assert_eq!(s.unanswered, 3);
        assert!(w.judge(s, 3).is_some());
    }

    #[test]
    fn answers_keep_coming_so_no_silence() {
        let mut w = Watch::default();
        assert_eq!(run(&mut w, 0, 30_000, busy_until(u64::MAX)), None);
    }

    #[test]
    fn the_wait_follows_the_rtt_above_its_floor() {
        assert_eq!(wait_for(None), WAIT_FLOOR);
        assert_eq!(wait_for(Some(Duration::from_millis(10))), WAIT_FLOOR);
        assert_eq!(
            wait_for(Some(Duration::from_millis(80))),
            Duration::from_millis(320)
        );
        // A longer wait reports later.
        let mut w = Watch::default();
        let traffic = busy_until(10_050);
        let late = (0..=20_000u64).step_by(100).find(|&t| {
            let (o, a) = traffic(t);
            w.observe(Time::from_millis(t), o, a, Duration::from_millis(320))
                .is_some()
        });
        assert_eq!(late, Some(10_800));
    }

    #[test]
    fn a_scanner_or_an_idle_uplink_is_never_normal() {
        // Twenty connections a second to dead addresses, one answered in ten.
        let mut w = Watch::default();
        assert_eq!(run(&mut w, 0, 30_000, |t| (t / 50, t / 500)), None);
        // Idle: nothing opened, nothing answered; then one host starts and gets no answer.
        let mut w = Watch::default();
        assert_eq!(
            run(&mut w, 0, 30_000, |t| (t.saturating_sub(20_000) / 100, 0)),
            None
        );
    }

    #[test]
    fn a_cleared_suspicion_keeps_the_watch_quiet() {
        let mut w = Watch::default();
        let (at, s) = run(&mut w, 0, 20_000, busy_until(10_050)).unwrap();
        assert!(w.judge(s, 4).is_some());
        w.cleared(Time::from_millis(at));
        let quiet_end = at + QUIET.as_millis() as u64;
        // The uplink stays silent (the baseline is long gone by then: still nothing).
        assert_eq!(
            run(&mut w, at + 100, quiet_end - 100, busy_until(10_050)),
            None
        );
        // Healthy again, then silent once more after the quiet time: reported again.
        let mut w2 = w.clone();
        let again = run(&mut w2, at + 100, 80_000, busy_until(60_050));
        assert_eq!(again.map(|(t, _)| t), Some(60_600));
    }

    #[test]
    fn destinations_are_those_of_young_unanswered_tcp_flows() {
        let flow = |dst: &str, tcp, replied, timeout| Flow {
            dst: dst.parse().unwrap(),
            tcp,
            replied,
            timeout,
        };
        let flows = [
            flow("192.0.2.1", true, false, 119),
            flow("192.0.2.1", true, false, 118), // the same destination again
            flow("192.0.2.2", true, false, 110),
            flow("192.0.2.3", true, false, 109), // older than the baseline
            flow("192.0.2.4", true, true, 119),  // answered
            flow("192.0.2.5", false, false, 30), // UDP
            flow("2001:db8::5", true, false, 115),
        ];
        let destinations = |flows: &mut dyn Iterator<Item = Flow>, syn_sent_secs| {
            let mut d = Destinations::new(syn_sent_secs);
            flows.for_each(|f| d.add(f));
            d.count()
        };
        assert_eq!(destinations(&mut flows.into_iter(), 120), 3);
        assert_eq!(
            destinations(&mut flows.into_iter(), 5),
            4,
            "short timeouts: all unanswered TCP"
        );
        let mut many = (0..100u32).map(|i| Flow {
            dst: std::net::Ipv4Addr::from(i).into(),
            ..flows[0]
        });
        assert_eq!(destinations(&mut many, 120), MAX_DESTINATIONS);
    }

    #[test]
    fn counters_that_start_again_restart_the_watch() {
        let mut w = Watch::default();
        run(&mut w, 0, 10_000, busy_until(u64::MAX));
        // The table was put back: the totals start from 0; the old baseline is gone, so
        // a silence right away is not reported.
        assert_eq!(
            run(&mut w, 10_100, 11_000, |t| ((t - 10_000) / 100, 0)),
            None
        );
    }
}
