//! The uplink tracker: a pure state machine that schedules probes, consumes timestamped
//! replies and link events, and decides up / suspect / down / recovering with hysteresis.
//!
//! A round is `count` probes to every target, sent in `count` slots spread evenly over the
//! round period; each slot probes every target at once (one probe to each of several
//! hosts), so the daemon wakes once per slot for all of an uplink's targets. A round is
//! judged as soon as its verdict is certain (good once `reliability` targets answered,
//! failed once that can no longer happen) and rounds are applied in order. A lost probe
//! while up switches to the failure pace at once (without a state change), and a faster
//! pace moves the next slot forward at once, so a dead uplink is confirmed quickly; see
//! docs/health.md for the timing and why slots are not spread per target.
//!
//! Passive evidence (`health::passive`) may ask for a confirming round (`confirm`): `down`
//! probes to every target at once with a short timeout, judged like `down` failed rounds in
//! a row: fewer than `reliability` targets answering takes the uplink down at once; enough
//! answers clear the suspicion (`Output::Cleared`) and change nothing else.

use super::params::Params;
use super::stats::{summarize, Summary, TargetStats, Totals};
use super::time::{ms, Time};
use crate::config::InitialState;
use serde::Serialize;
use std::collections::VecDeque;
use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

/// A confirming round waits four RTTs for its answers, at least this long (and at most the
/// configured timeout).
const CONFIRM_FLOOR: Duration = Duration::from_millis(150);

/// Fewer resolved probes than this in the window and the loss limit is not judged: one lost
/// probe out of three is no evidence of 33% loss.
const MIN_LOSS_SAMPLES: usize = 10;

/// Flap damping (docs/health.md): an uplink that goes out of service less than
/// `DAMP_STABLE` after it came back has flapped. After more than `FREE_FLAPS` flaps in a
/// row it stays out for a hold-down that starts at `DAMP_BASE` and doubles with every
/// further flap, up to `DAMP_CAP`; it is still probed meanwhile and comes back once the
/// hold-down is over and its rounds are good. `DAMP_STABLE` in service forgets the flaps.
const DAMP_STABLE: Duration = Duration::from_secs(60);
const FREE_FLAPS: u32 = 3;
const DAMP_BASE: Duration = Duration::from_secs(5);
const DAMP_CAP: Duration = Duration::from_secs(120);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum State {
    /// `enabled 0` in the configuration: never probed, never used.
    Disabled,
    /// The L3 device does not exist (interface down, PPPoE session gone).
    NoDevice,
    Down,
    /// Down, with good rounds on the way back up.
    Recovering,
    /// Up, with failed rounds on the way down; still carries traffic.
    Suspect,
    Up,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Disabled => "disabled",
            State::NoDevice => "no-device",
            State::Down => "down",
            State::Recovering => "recovering",
            State::Suspect => "suspect",
            State::Up => "up",
        }
    }
    /// Whether traffic may be sent through an uplink in this state.
    pub fn routable(self) -> bool {
        matches!(self, State::Up | State::Suspect)
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Something that happened to the uplink, at the time passed alongside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// A reply the shell matched to this uplink's socket: source address, echo id, sequence.
    Reply {
        from: IpAddr,
        ident: u16,
        seq: u16,
    },
    /// The probe with this sequence could not be sent (or its connection failed at once).
    SendFailed {
        seq: u16,
        error: String,
    },
    /// The device exists and is up (ifup, or a PPPoE device created anew).
    DeviceUp {
        device: String,
    },
    /// The device was removed (ifdown, PPPoE session ended).
    DeviceGone {
        device: String,
    },
    Carrier {
        device: String,
        up: bool,
    },
    /// netifd is restarting the interface (the daemon holds it out of routing): stop
    /// probing, keep the verdict and the windows, count nothing.
    Paused,
    /// Back exactly as before `Paused`: probe again, on the verdict held.
    Resumed,
}

/// Send one probe now: to `target`, with this id and sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProbeRequest {
    pub target: IpAddr,
    pub ident: u16,
    pub seq: u16,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Transition {
    pub interface: String,
    pub from: State,
    pub to: State,
    pub time: Time,
    pub reason: String,
    /// Mean RTT and loss (percent) over the windows as they were when the state changed:
    /// the facts hooks report (going down clears the windows right after).
    pub rtt_ms: Option<f64>,
    pub loss: f64,
}

impl fmt::Display for Transition {
    /// The log line: "wan down: 3/3 probes lost to 198.18.0.1, 198.18.0.2".
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "{} {}: {}", self.interface, self.to, self.reason)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    Send(ProbeRequest),
    Transition(Transition),
    /// A confirming round (`Tracker::confirm`) was answered: the uplink stays as it was.
    Cleared,
}

/// One target's line in `rail status`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TargetStatus {
    pub ip: IpAddr,
    /// "up" (last probe answered), "down" (last probe lost) or "unknown".
    pub state: &'static str,
    pub rtt_ms: Option<f64>,
    pub jitter_ms: Option<f64>,
    /// Percent lost over the window.
    pub loss: f64,
    pub sent: u64,
    pub received: u64,
}

/// The uplink's health as the status document shows it. `since` is monotonic: the daemon
/// turns it into unix seconds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Status {
    pub state: State,
    #[serde(skip)]
    pub since: Time,
    pub reason: String,
    pub rtt_ms: Option<f64>,
    pub jitter_ms: Option<f64>,
    pub loss: f64,
    pub sent: u64,
    pub received: u64,
    pub targets: Vec<TargetStatus>,
}

#[derive(Debug, Clone)]
struct Outstanding {
    seq: u16,
    target: usize,
    round: u64,
    sent: Time,
    deadline: Time,
}

#[derive(Debug, Clone)]
struct Round {
    id: u64,
    sent: Vec<u32>,
    replied: Vec<u32>,
    lost: Vec<u32>,
}

#[derive(Debug, Clone, PartialEq)]
enum Verdict {
    Good,
    /// Too few targets answered.
    Unreachable,
    /// Targets answered, but the window breaks a quality limit (the text says which).
    Quality(String),
}

/// A confirming round in flight (`Tracker::confirm`).
#[derive(Debug, Clone)]
struct Confirming {
    /// The suspicion that asked for it.
    why: String,
    deadline: Time,
    /// The sequence number and target of each probe not answered yet.
    pending: Vec<(u16, usize)>,
    answered: Vec<bool>,
    sent: u32,
}

/// Probe accounting of the failed rounds in a row, for the reason of going down.
#[derive(Debug, Clone, Default)]
struct Streak {
    lost: u32,
    sent: u32,
    /// Targets that lost a probe in the streak.
    targets: Vec<bool>,
}

#[derive(Debug, Clone)]
pub struct Tracker {
    name: String,
    params: Params,
    ident: u16,
    state: State,
    since: Time,
    reason: String,
    device: Option<String>,
    carrier: bool,
    next_send: Option<Time>,
    /// When the last slot was sent: a faster pace counts its next slot from it.
    last_slot: Option<Time>,
    slot: u64,
    /// Rounds opened so far: a round decided early must not be opened again by its
    /// remaining probes.
    opened: u64,
    seq: u16,
    outstanding: Vec<Outstanding>,
    rounds: VecDeque<Round>,
    stats: Vec<TargetStats>,
    good: u32,
    bad: u32,
    /// A probe was lost while up: probe at the failure pace until a clean round.
    alert: bool,
    streak: Streak,
    /// The last applied round had no reply from any target (None: no round yet).
    blackout: Option<bool>,
    /// A one-shot state to start in at the next device appearance instead of
    /// initial_state (a reload that re-created this tracker keeps the uplink's verdict).
    resume: Option<InitialState>,
    last_error: Option<String>,
    /// When it last came into service (routable after not being).
    in_service_since: Option<Time>,
    /// Flaps in a row (see `DAMP_STABLE`).
    flaps: u32,
    /// Not back in service before this (flap damping).
    damped_until: Option<Time>,
    /// Rounds judged so far.
    judged: u64,
    confirming: Option<Confirming>,
    /// The end of the hold after the device last came up: no confirming round before it.
    held_until: Time,
}

impl Tracker {
    /// A tracker for interface `name`, waiting for its device. `ident` is the echo id its
    /// probes carry; give every uplink a distinct one.
    pub fn new(name: &str, params: Params, ident: u16, enabled: bool, now: Time) -> Tracker {
        let n = params.targets.len();
        Tracker {
            name: name.to_string(),
            ident,
            state: if enabled {
                State::NoDevice
            } else {
                State::Disabled
            },
            since: now,
            reason: if enabled {
                "waiting for the device".into()
            } else {
                "disabled in the configuration".into()
            },
            device: None,
            carrier: false,
            next_send: None,
            last_slot: None,
            slot: 0,
            opened: 0,
            seq: 0,
            outstanding: Vec::new(),
            rounds: VecDeque::new(),
            stats: (0..n).map(|_| TargetStats::new(params.window)).collect(),
            good: 0,
            bad: 0,
            alert: false,
            streak: Streak::default(),
            blackout: None,
            resume: None,
            last_error: None,
            in_service_since: None,
            flaps: 0,
            damped_until: None,
            judged: 0,
            confirming: None,
            held_until: now,
            params,
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }
    pub fn state(&self) -> State {
        self.state
    }
    pub fn reason(&self) -> &str {
        &self.reason
    }
    pub fn device(&self) -> Option<&str> {
        self.device.as_deref()
    }

    /// Whether the uplink, probing and with carrier, lost every target in its last round;
    /// None when it is not probing (no device, no carrier, disabled, no targets, in hold).
    pub fn blackout(&self) -> Option<bool> {
        let probing = self.carrier && !self.params.targets.is_empty();
        let live = !matches!(self.state, State::Disabled | State::NoDevice);
        (probing && live).then_some(self.blackout).flatten()
    }

    /// When `poll` next has something to do.
    pub fn next_wakeup(&self) -> Option<Time> {
        let confirming = self.confirming.as_ref().map(|c| c.deadline);
        let deadline = self
            .outstanding
            .iter()
            .map(|o| o.deadline)
            .chain(confirming)
            .min();
        match (self.next_send, deadline) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Expire probes whose timeout passed and probe every target when the slot came.
    pub fn poll(&mut self, now: Time, out: &mut Vec<Output>) {
        if self.confirming.as_ref().is_some_and(|c| c.deadline <= now) {
            self.end_confirming(now, out);
        }
        let mut i = 0;
        while i < self.outstanding.len() {
            if self.outstanding[i].deadline <= now {
                let o = self.outstanding.swap_remove(i);
                self.resolve(o, None, now, out);
            } else {
                i += 1;
            }
        }
        if self.next_send.is_some_and(|at| at <= now) {
            for _ in 0..self.params.targets.len() {
                self.send_probe(now, out);
            }
            self.last_slot = Some(now);
            // The next multiple of the slot: after a stall the missed slots are skipped.
            self.next_send = Some(slot_after(now, self.gap()));
        }
    }

    /// A faster pace (a lost probe while up, a new state) applies at once: the next slot
    /// moves to the first one of the new pace after the last slot sent, which may be now.
    fn repace(&mut self) {
        if let (Some(next), Some(last)) = (self.next_send, self.last_slot) {
            self.next_send = Some(next.min(slot_after(last, self.gap())));
        }
    }

    pub fn handle(&mut self, now: Time, input: Input, out: &mut Vec<Output>) {
        if self.state == State::Disabled {
            return;
        }
        match input {
            Input::Reply { from, ident, seq } => {
                if ident == self.ident && self.confirmed_by(now, from, seq) {
                    self.end_confirming(now, out);
                    return;
                }
                let Some(i) = self.outstanding.iter().position(|o| {
                    o.seq == seq && ident == self.ident && self.params.targets[o.target] == from
                }) else {
                    return; // stray, spoofed, duplicate or already timed out
                };
                let o = self.outstanding.swap_remove(i);
                let rtt = (now <= o.deadline).then(|| now.since(o.sent));
                self.resolve(o, rtt, now, out);
            }
            Input::SendFailed { seq, error } => {
                if let Some(i) = self.outstanding.iter().position(|o| o.seq == seq) {
                    let o = self.outstanding.swap_remove(i);
                    self.last_error = Some(error);
                    self.resolve(o, None, now, out);
                }
            }
            Input::DeviceUp { device } => self.link_up(now, device, "up", None, out),
            Input::Carrier { device, up: true } => {
                if !self.carrier || self.device.is_none() {
                    // Carrier proves the cable, not forwarding (a modem still booting, a
                    // DSL line still training): come back through probes, never by
                    // initial_state, so a flapping carrier cannot flap the uplink.
                    self.link_up(
                        now,
                        device,
                        "has carrier again",
                        Some(InitialState::Offline),
                        out,
                    );
                }
            }
            Input::Carrier { device, up: false } => {
                self.carrier = false;
                self.stop_probing(true);
                let reason = format!("carrier lost on {device}");
                self.device = Some(device);
                self.set_state(now, State::Down, reason, out);
            }
            Input::Paused => self.stop_probing(false),
            Input::Resumed => {
                if self.next_send.is_none() && self.device.is_some() && self.carrier {
                    self.schedule(now);
                }
            }
            Input::DeviceGone { device } => {
                self.carrier = false;
                self.device = None;
                self.stop_probing(true);
                self.set_state(now, State::NoDevice, format!("device {device} gone"), out);
            }
        }
    }

    /// Rounds judged since the tracker was made: when it moves, so do the totals.
    pub fn rounds(&self) -> u64 {
        self.judged
    }

    /// Every probe resolved since the tracker was made, all targets together.
    pub fn totals(&self) -> Totals {
        let mut all = Totals::default();
        for s in &self.stats {
            all.add(&s.totals);
        }
        all
    }

    pub fn status(&self) -> Status {
        let all = summarize(&self.stats);
        let targets = self
            .params
            .targets
            .iter()
            .zip(&self.stats)
            .map(|(ip, st)| {
                let s = st.summary();
                TargetStatus {
                    ip: *ip,
                    state: match st.last() {
                        None => "unknown",
                        Some(Some(_)) => "up",
                        Some(None) => "down",
                    },
                    rtt_ms: s.rtt.map(ms),
                    jitter_ms: s.jitter.map(ms),
                    loss: round1(s.loss),
                    sent: st.sent,
                    received: st.totals.received,
                }
            })
            .collect();
        Status {
            state: self.state,
            since: self.since,
            reason: self.reason.clone(),
            rtt_ms: all.rtt.map(ms),
            jitter_ms: all.jitter.map(ms),
            loss: round1(all.loss),
            sent: self.stats.iter().map(|s| s.sent).sum(),
            received: self.stats.iter().map(|s| s.totals.received).sum(),
            targets,
        }
    }

    /// This tracker replaces one for the same uplink (a reload changed its settings): the
    /// next device appearance starts from the old verdict, not from initial_state, so a
    /// reload neither revives a dead uplink nor benches a good one.
    pub fn resume(&mut self, was_routable: bool) {
        self.resume = Some(if was_routable {
            InitialState::Online
        } else {
            InitialState::Offline
        });
    }

    /// The device is usable: start probing after the hold, in `initial` (default: a resumed
    /// verdict, else the configured initial_state).
    fn link_up(
        &mut self,
        now: Time,
        device: String,
        what: &str,
        initial: Option<InitialState>,
        out: &mut Vec<Output>,
    ) {
        self.stop_probing(false);
        self.carrier = true;
        let hold = if self.params.hold.is_zero() {
            String::new()
        } else {
            format!(", hold {:.1} s", self.params.hold.as_secs_f64())
        };
        let (state, reason) = if self.params.targets.is_empty() {
            (State::Up, format!("device {device} {what}, no track_ip"))
        } else {
            // Probing starts on a multiple of the slot on the caller's clock, whenever the
            // device came up: uplinks with the same slot then probe at the same moments, so
            // the engine sends a probe on each (each on its own link: no link sees a burst)
            // from one wake-up instead of waking once per uplink (docs/bench.md, cost).
            self.schedule(now + self.params.hold);
            self.held_until = now + self.params.hold;
            let resumed = self.resume.take();
            // An uplink held down for flapping comes back through probes too.
            let damped = self.damped(now).map(|_| InitialState::Offline);
            match damped
                .or(initial)
                .or(resumed)
                .unwrap_or(self.params.initial_state)
            {
                InitialState::Online => (
                    State::Up,
                    format!("device {device} {what}, initial_state online{hold}"),
                ),
                InitialState::Offline => (
                    State::Down,
                    format!(
                        "device {device} {what}, waiting for {} good rounds{hold}",
                        self.params.up
                    ),
                ),
            }
        };
        self.device = Some(device);
        self.set_state(now, state, reason, out);
    }

    /// Forget probes in flight and unjudged rounds; `outage` also clears the windows (an
    /// outage says nothing about the line's quality once it is back).
    /// Probe from the first slot at or after `from`.
    fn schedule(&mut self, from: Time) {
        if self.params.targets.is_empty() {
            return;
        }
        let slot = self.params.interval / self.params.count.max(1);
        let slot = (slot.as_micros() as u64).max(1);
        let start = from.as_micros().div_ceil(slot) * slot;
        self.next_send = Some(Time::from_micros(start));
    }

    fn stop_probing(&mut self, outage: bool) {
        self.next_send = None;
        self.last_slot = None;
        self.confirming = None;
        self.outstanding.clear();
        self.rounds.clear();
        let size = self.params.round_size().max(1);
        self.slot = self.slot.div_ceil(size) * size;
        self.good = 0;
        self.bad = 0;
        self.alert = false;
        self.streak = Streak::default();
        self.blackout = None;
        if outage {
            self.clear_windows();
        }
    }

    fn clear_windows(&mut self) {
        for s in &mut self.stats {
            s.clear_window();
        }
    }

    /// The round period for the current state.
    fn pace(&self) -> Duration {
        match self.state {
            State::Up if self.alert => self.params.failure_interval,
            State::Up => self.params.interval,
            State::Suspect => self.params.failure_interval,
            _ => self.params.recovery_interval,
        }
    }

    /// The slot: the time between two probes to the same target.
    fn gap(&self) -> Duration {
        (self.pace() / self.params.count.max(1)).max(Duration::from_micros(100))
    }

    fn send_probe(&mut self, now: Time, out: &mut Vec<Output>) {
        let n = self.params.targets.len() as u64;
        let size = self.params.round_size();
        let (round, target) = (self.slot / size, (self.slot % size % n) as usize);
        self.slot += 1;
        if round >= self.opened {
            self.opened = round + 1;
            let zeros = vec![0; n as usize];
            self.rounds.push_back(Round {
                id: round,
                sent: zeros.clone(),
                replied: zeros.clone(),
                lost: zeros,
            });
        }
        if let Some(r) = self.rounds.back_mut().filter(|r| r.id == round) {
            r.sent[target] += 1;
        }
        self.seq = self.seq.wrapping_add(1);
        self.outstanding.push(Outstanding {
            seq: self.seq,
            target,
            round,
            sent: now,
            deadline: now + self.params.timeout,
        });
        self.stats[target].record_sent();
        out.push(Output::Send(ProbeRequest {
            target: self.params.targets[target],
            ident: self.ident,
            seq: self.seq,
        }));
    }

    /// A probe's fate is known: `rtt` for a reply in time, None for a loss.
    fn resolve(&mut self, o: Outstanding, rtt: Option<Duration>, now: Time, out: &mut Vec<Output>) {
        self.stats[o.target].record(rtt);
        if rtt.is_none() && self.state == State::Up && !self.alert {
            self.alert = true;
            self.repace();
        }
        if let Some(r) = self.rounds.iter_mut().find(|r| r.id == o.round) {
            match rtt {
                Some(_) => r.replied[o.target] += 1,
                None => r.lost[o.target] += 1,
            }
        }
        while let Some(verdict) = self.rounds.front().and_then(|r| self.verdict(r)) {
            if let Some(round) = self.rounds.pop_front() {
                self.apply(round, verdict, now, out);
            }
        }
    }

    fn verdict(&self, r: &Round) -> Option<Verdict> {
        let n = self.params.targets.len();
        let answered = r.replied.iter().filter(|&&x| x > 0).count();
        if answered >= self.params.reliability {
            return Some(match self.quality_breach() {
                Some(why) => Verdict::Quality(why),
                None => Verdict::Good,
            });
        }
        let dead = r.lost.iter().filter(|&&l| l >= self.params.count).count();
        (n - dead < self.params.reliability).then_some(Verdict::Unreachable)
    }

    /// The window against the failure limits while routable, the recovery limits otherwise.
    fn quality_breach(&self) -> Option<String> {
        let q = self.params.quality?;
        let (latency, loss) = if self.state.routable() {
            (q.failure_latency, q.failure_loss)
        } else {
            (q.recovery_latency, q.recovery_loss)
        };
        let s: Summary = summarize(&self.stats);
        if s.samples >= MIN_LOSS_SAMPLES && s.loss > f64::from(loss) {
            return Some(format!(
                "loss {:.0}% > {loss}% over the last {} probes",
                s.loss, s.samples
            ));
        }
        match s.rtt {
            Some(rtt) if rtt > latency => Some(format!(
                "rtt {:.1} ms > {} ms",
                ms(rtt),
                latency.as_millis()
            )),
            _ => None,
        }
    }

    fn apply(&mut self, r: Round, verdict: Verdict, now: Time, out: &mut Vec<Output>) {
        self.judged += 1;
        self.blackout = Some(r.replied.iter().all(|&x| x == 0));
        if verdict == Verdict::Good {
            self.bad = 0;
            self.streak = Streak::default();
            self.good = self.good.saturating_add(1);
            if r.lost.iter().all(|&l| l == 0) {
                self.alert = false;
            }
            if self.state == State::Up {
                return; // the usual round: no state to change, no reason to word
            }
            let rtt = match summarize(&self.stats).rtt {
                Some(rtt) => format!(", rtt {:.1} ms", ms(rtt)),
                None => String::new(),
            };
            let progress = format!("{}/{} rounds good{rtt}", self.good, self.params.up);
            if let (State::Down | State::Recovering, Some(why)) = (self.state, self.damped(now)) {
                // Held down: no way back up yet, so not "recovering" either.
                self.reason = format!("{progress}; {why}");
                return;
            }
            match self.state {
                State::Suspect => self.set_state(now, State::Up, format!("round good{rtt}"), out),
                State::Down | State::Recovering if self.good >= self.params.up => {
                    match self.damped(now) {
                        Some(why) => self.set_state(
                            now,
                            State::Recovering,
                            format!("{progress}; {why}"),
                            out,
                        ),
                        None => self.set_state(now, State::Up, progress, out),
                    }
                }
                State::Down => self.set_state(now, State::Recovering, progress, out),
                State::Recovering => self.reason = progress,
                _ => {}
            }
            return;
        }
        self.good = 0;
        self.bad = self.bad.saturating_add(1);
        self.streak.lost += r.lost.iter().sum::<u32>();
        self.streak.sent += r.sent.iter().sum::<u32>();
        self.streak.targets.resize(r.lost.len(), false);
        for (hit, &lost) in self.streak.targets.iter_mut().zip(&r.lost) {
            *hit |= lost > 0;
        }
        let reason = match &verdict {
            Verdict::Quality(why) => why.clone(),
            _ => self.unreachable_reason(&r),
        };
        match self.state {
            State::Up | State::Suspect if self.bad >= self.params.down => {
                self.set_state(now, State::Down, reason, out);
                if verdict == Verdict::Unreachable {
                    self.clear_windows();
                }
            }
            State::Up => self.set_state(now, State::Suspect, reason, out),
            State::Recovering => {
                self.set_state(now, State::Down, format!("recovery failed: {reason}"), out)
            }
            _ => self.reason = reason,
        }
    }

    /// "6/6 probes lost to 198.18.0.1, 198.18.0.2" over the failed rounds in a row, plus
    /// how many targets answered when some did.
    fn unreachable_reason(&self, last: &Round) -> String {
        let targets: Vec<String> = (self.params.targets.iter().zip(&self.streak.targets))
            .filter(|(_, &hit)| hit)
            .map(|(ip, _)| ip.to_string())
            .collect();
        let mut reason = format!(
            "{}/{} probes lost to {}",
            self.streak.lost,
            self.streak.sent,
            targets.join(", ")
        );
        let answered = last.replied.iter().filter(|&&x| x > 0).count();
        if answered > 0 {
            reason += &format!(
                "; {answered}/{} targets answered, {} needed",
                self.params.targets.len(),
                self.params.reliability
            );
        }
        if let Some(e) = &self.last_error {
            reason += &format!(" (last send error: {e})");
        }
        reason
    }

    fn set_state(&mut self, now: Time, to: State, reason: String, out: &mut Vec<Output>) {
        let from = self.state;
        self.reason = reason;
        if from == to {
            return;
        }
        if !to.routable() {
            self.alert = false;
            self.confirming = None;
        }
        if matches!(to, State::Up | State::Down) {
            self.good = 0;
            self.bad = 0;
            self.streak = Streak::default();
            self.last_error = None;
        }
        if from.routable() && !to.routable() {
            if let Some(why) = self.record_flap(now) {
                self.reason = format!("{}; {why}", self.reason);
            }
        } else if !from.routable() && to.routable() {
            self.in_service_since = Some(now);
        }
        self.state = to;
        self.since = now;
        self.repace();
        let facts = summarize(&self.stats);
        out.push(Output::Transition(Transition {
            interface: self.name.clone(),
            from,
            to,
            time: now,
            reason: self.reason.clone(),
            rtt_ms: facts.rtt.map(ms),
            loss: round1(facts.loss),
        }));
    }
}

impl Tracker {
    /// Passive evidence says the uplink may be dead (`why`, for the log): send a confirming
    /// round now. Nothing when it is not in service, not probing, in its hold (a PPPoE
    /// session may not forward yet), or confirming already; returns whether it went out.
    pub fn confirm(&mut self, now: Time, why: String, out: &mut Vec<Output>) -> bool {
        let n = self.params.targets.len();
        let probing = self.next_send.is_some() && now >= self.held_until;
        if !self.state.routable() || !probing || self.confirming.is_some() || n == 0 {
            return false;
        }
        let rtt = summarize(&self.stats).rtt.map_or(CONFIRM_FLOOR, |r| r * 4);
        let timeout = rtt.max(CONFIRM_FLOOR).min(self.params.timeout);
        let mut pending = Vec::new();
        for _ in 0..self.params.down {
            for (target, &ip) in self.params.targets.iter().enumerate() {
                self.seq = self.seq.wrapping_add(1);
                pending.push((self.seq, target));
                out.push(Output::Send(ProbeRequest {
                    target: ip,
                    ident: self.ident,
                    seq: self.seq,
                }));
            }
        }
        self.confirming = Some(Confirming {
            why,
            deadline: now + timeout,
            sent: pending.len() as u32,
            pending,
            answered: vec![false; n],
        });
        true
    }

    /// The mean RTT over the windows, if any probe was answered.
    pub fn rtt(&self) -> Option<Duration> {
        summarize(&self.stats).rtt
    }

    /// Whether a confirming round is in flight.
    pub fn confirming(&self) -> bool {
        self.confirming.is_some()
    }

    /// A reply to a confirming probe in time; true once enough targets answered.
    fn confirmed_by(&mut self, now: Time, from: IpAddr, seq: u16) -> bool {
        let targets = &self.params.targets;
        let Some(c) = self.confirming.as_mut().filter(|c| now <= c.deadline) else {
            return false;
        };
        let Some(i) = c
            .pending
            .iter()
            .position(|&(s, t)| s == seq && targets[t] == from)
        else {
            return false;
        };
        let (_, target) = c.pending.swap_remove(i);
        c.answered[target] = true;
        c.answered.iter().filter(|&&a| a).count() >= self.params.reliability
    }

    /// The confirming round is decided: enough targets answered, or its time is up.
    fn end_confirming(&mut self, now: Time, out: &mut Vec<Output>) {
        let Some(c) = self.confirming.take() else {
            return;
        };
        let answered = c.answered.iter().filter(|&&a| a).count();
        if answered >= self.params.reliability {
            out.push(Output::Cleared);
            return;
        }
        let silent: Vec<String> = (self.params.targets.iter().zip(&c.answered))
            .filter(|(_, &a)| !a)
            .map(|(ip, _)| ip.to_string())
            .collect();
        let reason = format!(
            "confirming round: {}/{} probes lost to {}; {answered}/{} targets answered, {} needed; suspect: {}",
            c.pending.len(),
            c.sent,
            silent.join(", "),
            self.params.targets.len(),
            self.params.reliability,
            c.why
        );
        self.set_state(now, State::Down, reason, out);
        // As after `down` failed rounds: the rounds in flight and the windows say nothing now.
        self.stop_probing(true);
        self.schedule(now);
    }

    /// An uplink went out of service: count a flap when it was not in service for long,
    /// and hold it out when it keeps flapping.
    /// Returns what the transition's reason should add when a hold-down starts.
    fn record_flap(&mut self, now: Time) -> Option<String> {
        let brief = self
            .in_service_since
            .is_some_and(|t| now.since(t) < DAMP_STABLE);
        self.flaps = if brief {
            self.flaps.saturating_add(1)
        } else {
            1
        };
        let extra = self.flaps.checked_sub(FREE_FLAPS + 1)?;
        let hold = DAMP_BASE.saturating_mul(1 << extra.min(16)).min(DAMP_CAP);
        self.damped_until = Some(now + hold);
        Some(format!(
            "flapping ({} times in a row): held down {} s",
            self.flaps,
            hold.as_secs()
        ))
    }

    /// Why the uplink may not come back yet, when it is held down for flapping.
    fn damped(&self, now: Time) -> Option<String> {
        let until = self.damped_until.filter(|&u| now < u)?;
        Some(format!(
            "flapping ({} times in a row): held down {:.0} s more",
            self.flaps,
            until.since(now).as_secs_f64().ceil()
        ))
    }
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// The first multiple of `slot` on the caller's clock after `t`: slots stay on one grid for
/// every uplink of the same pace, so the engine sends theirs from one wake-up.
fn slot_after(t: Time, slot: Duration) -> Time {
    let slot = (slot.as_micros() as u64).max(1);
    Time::from_micros((t.as_micros() / slot + 1) * slot)
}
