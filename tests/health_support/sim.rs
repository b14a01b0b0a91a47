//! The one simulated clock of the health tests: a tracker driven event by event (its own
//! wake-ups, replies arriving, inputs fed in), each at its exact time, over a scripted
//! network; no sockets, no sleeps.

use rail::health::{Input, Output, Time, Tracker, Transition};
use std::net::IpAddr;
use std::time::Duration;

/// What the scripted network does with probe number `k` (0-based, per tracker) sent to
/// `target` at `sent` with `ident` and `seq`: the replies it produces, each with its
/// arrival time and content.
pub type Net<'a> = Box<dyn FnMut(u64, IpAddr, Time, u16, u16) -> Vec<(Time, Input)> + 'a>;

/// The reply to a probe, as the network delivers it.
pub fn reply(from: IpAddr, ident: u16, seq: u16) -> Input {
    Input::Reply { from, ident, seq }
}

/// A network that answers a probe sent at `t` after `rtt` when `answered(t)`.
pub fn answering<'a>(rtt: Duration, answered: impl Fn(Time) -> bool + 'a) -> Net<'a> {
    Box::new(move |_, target, sent, ident, seq| {
        if answered(sent) {
            vec![(sent + rtt, reply(target, ident, seq))]
        } else {
            vec![]
        }
    })
}

pub struct Sim<'a> {
    pub tracker: Tracker,
    pub now: Time,
    net: Net<'a>,
    in_flight: Vec<(Time, Input)>,
    sent: u64,
    /// Every probe sent: when, and to which target.
    pub sends: Vec<(Time, IpAddr)>,
    pub transitions: Vec<Transition>,
    /// Confirming rounds answered (`Output::Cleared`).
    pub cleared: usize,
}

impl<'a> Sim<'a> {
    /// `tracker` at `Time::ZERO` on `net`, nothing fed in yet.
    pub fn new(tracker: Tracker, net: Net<'a>) -> Sim<'a> {
        Sim {
            tracker,
            now: Time::ZERO,
            net,
            in_flight: Vec::new(),
            sent: 0,
            sends: Vec::new(),
            transitions: Vec::new(),
            cleared: 0,
        }
    }

    /// Passive evidence asks for a confirming round now; whether it went out.
    pub fn confirm(&mut self, why: &str) -> bool {
        let mut out = Vec::new();
        let sent = self.tracker.confirm(self.now, why.into(), &mut out);
        self.take(&out);
        sent
    }

    /// Feed one input now; its outputs, after the probes among them went out.
    pub fn input(&mut self, input: Input) -> Vec<Output> {
        let mut out = Vec::new();
        self.tracker.handle(self.now, input, &mut out);
        self.take(&out);
        out
    }

    fn take(&mut self, out: &[Output]) {
        for o in out {
            match o {
                Output::Send(p) => {
                    self.sends.push((self.now, p.target));
                    let k = self.sent;
                    self.sent += 1;
                    let replies = (self.net)(k, p.target, self.now, p.ident, p.seq);
                    self.in_flight.extend(replies);
                }
                Output::Transition(t) => self.transitions.push(t.clone()),
                Output::Cleared => self.cleared += 1,
            }
        }
    }

    /// The next event (a reply arriving, the tracker's wake-up) if it comes by `end`: the
    /// clock moves to it and the outputs are returned. Otherwise the clock moves to `end`.
    pub fn step(&mut self, end: Time) -> Option<Vec<Output>> {
        let arrival = self.in_flight.iter().map(|(t, _)| *t).min();
        let next = [arrival, self.tracker.next_wakeup()]
            .into_iter()
            .flatten()
            .min();
        match next {
            Some(t) if t <= end => self.now = t.max(self.now),
            _ => {
                self.now = end;
                return None;
            }
        }
        // Replies that arrived by now go first: a reply at its deadline still counts.
        let now = self.now;
        let (due, rest): (Vec<_>, Vec<_>) = self.in_flight.drain(..).partition(|(t, _)| *t <= now);
        self.in_flight = rest;
        let mut outputs = Vec::new();
        for (_, input) in due {
            outputs.extend(self.input(input));
        }
        let mut out = Vec::new();
        self.tracker.poll(now, &mut out);
        self.take(&out);
        outputs.extend(out);
        Some(outputs)
    }

    /// Advance the clock event by event until `end`.
    pub fn run_until(&mut self, end: Time) {
        while self.step(end).is_some() {}
    }

    pub fn run_for(&mut self, d: Duration) {
        self.run_until(self.now + d);
    }
}

/// Drives `t` from `Time::ZERO`, when its device comes up: a probe sent at `now` is
/// answered `rtt` later when `answered(now)`. `watch(now, output)` sees every output, and
/// the run ends with the first `Some` it returns, or with `None` once `until` has passed.
pub fn run<R>(
    t: Tracker,
    rtt: Duration,
    until: Time,
    answered: impl Fn(Time) -> bool,
    mut watch: impl FnMut(Time, &Output) -> Option<R>,
) -> Option<R> {
    let mut sim = Sim::new(t, answering(rtt, answered));
    let mut outputs = sim.input(Input::DeviceUp {
        device: "sim".into(),
    });
    loop {
        for o in &outputs {
            if let Some(r) = watch(sim.now, o) {
                return Some(r);
            }
        }
        outputs = sim.step(until)?;
    }
}
