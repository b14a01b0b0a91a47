//! The health engine: every uplink's tracker and probe sockets, driven from one task on the
//! daemon's single-threaded executor. The daemon feeds it link facts (device up or gone,
//! carrier) and awaits `next()` for transitions and global changes; status is read at any
//! time. Tests and the benchmark drive it the same way, without the daemon.
//!
//! Each family is judged on its own: an interface has one tracker for the family it carries
//! (IPv4 for `family both`), and a dual-stack one a second tracker for IPv6 with the IPv6
//! targets, its own probe socket bound to the IPv6 address, and its own transitions
//! (`Event::Transition` names the family). An uplink can so be up for IPv4 and down for IPv6.
//!
//! The engine wakes only on its own timer, set on a grid of `WAKE_GRID`, sends every probe
//! due within the step and reads the replies that arrived meanwhile, each with the kernel's
//! receive time: probes and timeouts are up to one step late, RTTs and verdicts exact.
//! Why wake-ups are kept this few: docs/health.md, "Cost".
//!
//! With an uplink of `passive 1`, the engine also reads rail's passive counters every
//! `PASSIVE_EVERY` on the same grid (`evidence`), feeds each such uplink's `Watch`, and has
//! its tracker confirm a suspicion at once (docs/health.md, "Passive evidence").

use super::evidence::Evidence;
use super::probe::{self, Binding, Method, Prober, Received};
use super::wake::WakeTimer;
use crate::config::{Interface, InterfaceId, MarkMask, TrackMethod};
use crate::dataplane::nft::{counter_name, Counted};
use crate::family::{Af, Family};
use crate::health::global::{GlobalChange, GlobalDetector};
use crate::health::machine::{Input, Output, Status, Tracker, Transition};
use crate::health::params::Params;
use crate::health::passive::{self, Destinations, Watch};
use crate::health::reload::{self, Carry};
use crate::health::time::Time;
use async_io::Timer;
use std::collections::VecDeque;
use std::future::poll_fn;
use std::net::IpAddr;
use std::os::fd::RawFd;
use std::task::{Context, Poll};
use std::time::{Duration, Instant, SystemTime};

/// The step of the grid the engine's wake-ups fall on (see the module's doc).
pub const WAKE_GRID: Duration = Duration::from_millis(10);

/// How often passive counters are read: a reading is one netlink dump (two system calls
/// and a few hundred bytes for every passive uplink together), ten a second cost less
/// than one probe each, and a silence is then seen at most 100 ms late, small beside the
/// 200 ms a connection must wait unanswered (`passive::WAIT_FLOOR`).
pub const PASSIVE_EVERY: Duration = Duration::from_millis(100);

/// When the engine wakes for work due at `due`: the first grid instant at or after it.
pub fn wake_at(due: Time) -> Time {
    let step = WAKE_GRID.as_micros() as u64;
    Time::from_micros(due.as_micros().div_ceil(step) * step)
}

/// What the daemon knows about an uplink's device when it comes up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkFacts {
    pub device: String,
    pub ifindex: u32,
    /// The uplink's address: probes leave with it as source.
    pub source: Option<IpAddr>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// The interface's tracker of one family changed state.
    Transition(InterfaceId, Af, Transition),
    /// Every probing uplink lost every target (or that ended): log it, re-evaluate policies.
    Global(GlobalChange),
    /// Trackers judged rounds since the last such event: their totals moved (the history
    /// records them). `take_judged` says which. One event for all of them: uplinks probe
    /// at the same instants, so their rounds end together.
    Rounds,
}

struct Uplink {
    /// The interface, its `track_ip` reduced to the targets of this tracker's family.
    iface: Interface,
    id: InterfaceId,
    /// The family this tracker judges.
    af: Af,
    tracker: Tracker,
    prober: Result<Prober, String>,
    /// What the sockets are bound to; None while the device is gone.
    facts: Option<LinkFacts>,
    /// The tracker's rounds when last reported (`Event::Rounds`).
    rounds: u64,
    /// Passive evidence (`passive 1`).
    watch: Option<Watch>,
}

pub struct Engine {
    origin: Instant,
    /// The first tracker of every interface at its `InterfaceId`, then the IPv6 trackers
    /// of dual-stack interfaces.
    uplinks: Vec<Uplink>,
    /// Per interface, the position of its IPv6 tracker in `uplinks` when dual-stack.
    second: Vec<Option<usize>>,
    global: GlobalDetector,
    timer: WakeTimer,
    /// When the timer is set for (to avoid re-arming it on every poll).
    armed: Option<Time>,
    queue: VecDeque<Event>,
    /// The trackers (interface, family) that judged rounds since `take_judged`.
    judged: Vec<(InterfaceId, Af)>,
    outputs: Vec<Output>,
    inputs: Vec<Received>,
    /// The polled sockets of every uplink, which of them are readable, and poll's array.
    polled: Vec<RawFd>,
    readable: Vec<RawFd>,
    pollfds: Vec<libc::pollfd>,
    /// The passive counters' socket, opened at the first reading; the last reading's totals.
    evidence: Option<Evidence>,
    counters: Vec<(String, u64)>,
    next_reading: Option<Time>,
    /// The last error reading evidence (logged once, not every 100 ms).
    evidence_error: Option<String>,
    mark_mask: MarkMask,
}

impl Engine {
    /// One tracker per interface, indexed like `Config::interfaces` (InterfaceId).
    /// Fails only when the kernel refuses the engine a timerfd (out of descriptors).
    pub fn new(interfaces: &[Interface]) -> std::io::Result<Engine> {
        let (uplinks, second) = trackers(interfaces);
        Ok(Engine {
            origin: Instant::now(),
            uplinks,
            second,
            global: GlobalDetector::default(),
            timer: WakeTimer::new()?,
            armed: None,
            queue: VecDeque::new(),
            judged: Vec::new(),
            outputs: Vec::new(),
            inputs: Vec::new(),
            polled: Vec::new(),
            readable: Vec::new(),
            pollfds: Vec::new(),
            evidence: None,
            counters: Vec::new(),
            next_reading: None,
            evidence_error: None,
            mark_mask: MarkMask::DEFAULT,
        })
    }

    /// The configuration's mark mask: the uplinks' flows are found by their mark under it.
    pub fn set_mark_mask(&mut self, mask: MarkMask) {
        self.mark_mask = mask;
    }

    /// A new configuration: uplinks whose `Interface` is unchanged at the same position keep
    /// their tracker, sockets and history (a reload must not blip healthy uplinks); the
    /// others start afresh and wait for `device_up`. Returns the ones kept.
    pub fn rebuild(&mut self, interfaces: &[Interface]) -> std::collections::BTreeSet<InterfaceId> {
        let (mut uplinks, second) = trackers(interfaces);
        let (carries, kept) = {
            let old: Vec<&Interface> = self.uplinks.iter().map(|u| &u.iface).collect();
            let new: Vec<&Interface> = uplinks.iter().map(|u| &u.iface).collect();
            reload::carry(&old, &self.second, &new, &second)
        };
        let mut old: Vec<Option<Uplink>> = std::mem::take(&mut self.uplinks)
            .into_iter()
            .map(Some)
            .collect();
        for c in carries {
            match c {
                Carry::Keep { from, to } => {
                    uplinks[to] = old[from].take().expect("each tracker moves once");
                }
                Carry::Resume { from, to } => {
                    if let Some(u) = &old[from] {
                        uplinks[to].tracker.resume(u.tracker.state().routable());
                    }
                }
            }
        }
        (self.uplinks, self.second) = (uplinks, second);
        if !self.uplinks.iter().any(|u| u.watch.is_some()) {
            (self.evidence, self.next_reading) = (None, None);
        }
        self.armed = None;
        self.queue.clear();
        self.judged.clear();
        self.update_global();
        kept
    }
}

/// One tracker per interface at its `InterfaceId`, then the IPv6 trackers of dual-stack
/// interfaces, whose positions are returned per interface.
fn trackers(interfaces: &[Interface]) -> (Vec<Uplink>, Vec<Option<usize>>) {
    // Echo ids: distinct per tracker (its position) and per rail process on the host.
    let base = std::process::id() as u16;
    let slot = |pos: usize, i: usize, iface: &Interface, af: Af| {
        let mut iface = iface.clone();
        let second = af != iface.family.first();
        if iface.family == Family::Both {
            iface.track_ip.retain(|t| af.holds(t));
        }
        // ARP has no IPv6: the IPv6 half of an arping uplink is judged by carrier.
        if second && iface.track_method == TrackMethod::Arping {
            iface.track_ip.clear();
        }
        let name = if second {
            format!("{} ipv6", iface.name)
        } else {
            iface.name.clone()
        };
        let watch = iface.passive.then(Watch::default);
        Uplink {
            tracker: Tracker::new(
                &name,
                Params::from_interface(&iface),
                base.wrapping_add(pos as u16),
                iface.enabled,
                Time::ZERO,
            ),
            iface,
            id: InterfaceId(i),
            af,
            prober: Err("the device is not up".into()),
            facts: None,
            rounds: 0,
            watch,
        }
    };
    let mut uplinks: Vec<Uplink> = interfaces
        .iter()
        .enumerate()
        .map(|(i, iface)| slot(i, i, iface, iface.family.first()))
        .collect();
    let mut second = vec![None; interfaces.len()];
    for (i, iface) in interfaces.iter().enumerate() {
        if iface.family == Family::Both {
            second[i] = Some(uplinks.len());
            uplinks.push(slot(uplinks.len(), i, iface, Af::Inet6));
        }
    }
    (uplinks, second)
}

impl Engine {
    /// Now on the engine's clock.
    pub fn now(&self) -> Time {
        Time::from_micros(self.origin.elapsed().as_micros() as u64)
    }

    /// The first instant after now that is a multiple of `period` on the engine's clock: a
    /// timer set there fires at one of the engine's own wake-ups when its uplinks probe on
    /// slots that divide `period` (probing starts on multiples of the slot).
    pub fn aligned(&self, period: Duration) -> Instant {
        let period = (period.as_micros() as u64).max(1);
        let next = (self.now().as_micros() / period + 1) * period;
        self.instant(Time::from_micros(next))
    }

    /// The instant of a time on the engine's clock (for turning `since` into wall time).
    pub fn instant(&self, t: Time) -> Instant {
        self.origin + Duration::from_micros(t.as_micros())
    }

    /// The device came up (ifup, or a PPPoE device created anew, with a new ifindex): open
    /// the probe sockets of the tracker of family `af` (`facts.source`: the address of that
    /// family), start the hold, apply the initial state; nothing when the interface does not
    /// carry `af`. The same device with a new address (a DHCP renew, a new SLAAC or DHCPv6
    /// prefix) only re-binds the sockets: the line did not go away.
    pub fn device_up(&mut self, id: InterfaceId, af: Af, facts: LinkFacts) {
        if let Some(k) = self.slot_of(id, af) {
            self.slot_up(k, facts);
        }
    }

    /// The tracker position of an interface's family, if it has a tracker for it.
    fn slot_of(&self, id: InterfaceId, af: Af) -> Option<usize> {
        let family = self.uplinks[id.0].iface.family;
        if af == family.first() {
            Some(id.0)
        } else if family.carries(af) {
            self.second[id.0]
        } else {
            None
        }
    }

    /// Both trackers of an interface (one for a single-family one).
    fn slots(&self, id: InterfaceId) -> Vec<usize> {
        std::iter::once(id.0)
            .chain(self.second.get(id.0).copied().flatten())
            .collect()
    }

    fn slot_up(&mut self, slot: usize, facts: LinkFacts) {
        let u = &mut self.uplinks[slot];
        if u.facts.as_ref() == Some(&facts) {
            return;
        }
        let same_device = u
            .facts
            .as_ref()
            .is_some_and(|f| (&f.device, f.ifindex) == (&facts.device, facts.ifindex))
            && u.tracker.device() == Some(facts.device.as_str());
        let method = Method {
            kind: u.iface.track_method,
            port: u.iface.track_port,
            dns_name: u.iface.track_dns_name.clone(),
        };
        let binding = Binding {
            device: facts.device.clone(),
            ifindex: facts.ifindex,
            source: facts.source,
            mark: u.iface.mark.value(),
            ttl: u.iface.ttl,
            size: u.iface.size,
        };
        u.prober = Prober::open(&method, &binding, &u.iface.track_ip).map_err(|e| {
            log::error!(
                "{}: cannot open probe socket on {}: {e}",
                u.iface.name,
                facts.device
            );
            e.to_string()
        });
        u.facts = Some(facts.clone());
        if !same_device {
            self.input(
                slot,
                Input::DeviceUp {
                    device: facts.device,
                },
            );
        }
    }

    pub fn device_gone(&mut self, id: InterfaceId) {
        let device = self.device_name(id);
        for k in self.slots(id) {
            self.uplinks[k].prober = Err("the device is gone".into());
            self.uplinks[k].facts = None;
            let device = device.clone();
            self.input(k, Input::DeviceGone { device });
        }
    }

    /// netifd is restarting the interface: its trackers pause (see `Input::Paused`).
    pub fn pause(&mut self, id: InterfaceId) {
        for k in self.slots(id) {
            self.input(k, Input::Paused);
        }
    }

    /// Back as it was before `pause`.
    pub fn resume(&mut self, id: InterfaceId) {
        for k in self.slots(id) {
            self.input(k, Input::Resumed);
        }
    }

    pub fn carrier(&mut self, id: InterfaceId, up: bool) {
        let device = self.device_name(id);
        for k in self.slots(id) {
            if let (true, Ok(prober)) = (up, &mut self.uplinks[k].prober) {
                prober.carrier_back();
            }
            let device = device.clone();
            self.input(k, Input::Carrier { device, up });
        }
    }

    /// The interface's first tracker (its only family, or IPv4 of a dual-stack one).
    pub fn tracker(&self, id: InterfaceId) -> &Tracker {
        &self.uplinks[id.0].tracker
    }

    pub fn status(&self, id: InterfaceId) -> Status {
        self.tracker(id).status()
    }

    /// The tracker judging one family of an interface, if it carries that family.
    pub fn tracker_of(&self, id: InterfaceId, af: Af) -> Option<&Tracker> {
        self.slot_of(id, af).map(|k| &self.uplinks[k].tracker)
    }

    /// The passive watch of the interface's first tracker (`passive 1`), and whether a
    /// confirming round is in flight.
    pub fn passive(&self, id: InterfaceId) -> Option<(passive::Report, bool)> {
        let u = &self.uplinks[id.0];
        Some((u.watch.as_ref()?.report(), u.tracker.confirming()))
    }

    /// Whether policies may use this uplink: routable, or down only because every uplink
    /// lost every target.
    pub fn usable(&self, id: InterfaceId) -> bool {
        self.global.usable(self.tracker(id))
    }

    /// The same for one family: false when the interface does not carry it.
    pub fn usable_in(&self, id: InterfaceId, af: Af) -> bool {
        self.tracker_of(id, af)
            .is_some_and(|t| self.global.usable(t))
    }

    /// The trackers that judged rounds since the last call (see `Event::Rounds`).
    pub fn take_judged(&mut self) -> Vec<(InterfaceId, Af)> {
        std::mem::take(&mut self.judged)
    }

    pub fn all_targets_lost(&self) -> bool {
        self.global.all_targets_lost()
    }

    /// Probe, listen and judge until something happens worth telling the daemon.
    /// Cancel-safe: all state lives in the engine.
    pub async fn next(&mut self) -> Event {
        poll_fn(|cx| self.poll_next(cx)).await
    }

    /// Run until `deadline`, collecting events: for tests and the benchmark, which have no
    /// daemon around the engine.
    pub async fn run_until(&mut self, deadline: Instant) -> Vec<Event> {
        let mut events = Vec::new();
        loop {
            let event = async { Some(self.next().await) };
            let end = async {
                Timer::at(deadline).await;
                None
            };
            match futures_lite::future::or(event, end).await {
                Some(e) => events.push(e),
                None => return events,
            }
        }
    }

    fn device_name(&self, id: InterfaceId) -> String {
        let u = &self.uplinks[id.0];
        (u.tracker.device().map(str::to_string))
            .or_else(|| u.iface.device.clone())
            .unwrap_or_else(|| u.iface.name.clone())
    }

    fn input(&mut self, slot: usize, input: Input) {
        let now = self.now();
        let mut out = std::mem::take(&mut self.outputs);
        self.uplinks[slot].tracker.handle(now, input, &mut out);
        self.dispatch(slot, now, &mut out);
        self.outputs = out;
        self.update_global();
    }

    fn update_global(&mut self) {
        if let Some(change) = self.global.update(self.uplinks.iter().map(|u| &u.tracker)) {
            log::warn!("{}", change.message);
            self.queue.push_back(Event::Global(change));
        }
    }

    /// Carry out a tracker's outputs: send probes (a failed send is a lost probe), queue
    /// transitions. Returns whether a new per-probe socket needs polling once, to register
    /// for its wake-up.
    fn dispatch(&mut self, slot: usize, now: Time, out: &mut Vec<Output>) -> bool {
        let mut sent = false;
        let at = self.instant(now);
        while !out.is_empty() {
            let o = out.remove(0); // in order: a send failure may append a transition
            let u = &mut self.uplinks[slot];
            match o {
                Output::Transition(t) => {
                    log::info!("{t}");
                    self.queue.push_back(Event::Transition(u.id, u.af, t));
                }
                Output::Cleared => {
                    let name = u.tracker.name();
                    log::info!("{name}: suspicion cleared: confirming round answered");
                    if let Some(w) = &mut u.watch {
                        w.cleared(now);
                    }
                }
                Output::Send(req) => {
                    sent |= matches!(u.prober, Ok(Prober::Conn { .. }));
                    let result = match &mut u.prober {
                        Ok(p) => p.send(req, at, u.iface.timeout).map_err(|e| e.to_string()),
                        Err(e) => Err(e.clone()),
                    };
                    if let Err(error) = result {
                        let seq = req.seq;
                        u.tracker.handle(now, Input::SendFailed { seq, error }, out);
                    }
                }
            }
        }
        sent
    }

    fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Event> {
        loop {
            if let Some(e) = self.queue.pop_front() {
                return Poll::Ready(e);
            }
            let (now, wall) = (self.now(), SystemTime::now());
            let (mut progressed, mut again) = (false, false);
            let mut out = std::mem::take(&mut self.outputs);
            let mut inputs = std::mem::take(&mut self.inputs);
            self.polled.clear();
            for u in &self.uplinks {
                if let Ok(p) = &u.prober {
                    p.polled(&mut self.polled);
                }
            }
            probe::ready(&self.polled, &mut self.pollfds, &mut self.readable);
            for i in 0..self.uplinks.len() {
                let u = &mut self.uplinks[i];
                if let Ok(p) = &mut u.prober {
                    p.poll_recv(cx, &self.readable, &mut inputs);
                }
                progressed |= !inputs.is_empty();
                for (input, at) in inputs.drain(..) {
                    u.tracker.handle(arrival(now, wall, at), input, &mut out);
                }
                if u.tracker.next_wakeup().is_some_and(|t| t <= now) {
                    u.tracker.poll(now, &mut out);
                    progressed = true;
                }
                again |= self.dispatch(i, now, &mut out);
                let u = &mut self.uplinks[i];
                if u.tracker.rounds() != u.rounds {
                    u.rounds = u.tracker.rounds();
                    if self.judged.is_empty() {
                        self.queue.push_back(Event::Rounds);
                    }
                    self.judged.push((u.id, u.af));
                }
            }
            if self.next_reading.is_none_or(|t| t <= now)
                && self.uplinks.iter().any(|u| u.watch.is_some())
            {
                again |= self.read_evidence(now, &mut out);
            }
            self.outputs = out;
            self.inputs = inputs;
            if progressed {
                self.update_global();
            }
            if again || !self.queue.is_empty() {
                continue;
            }
            let wake = self
                .uplinks
                .iter()
                .filter_map(|u| u.tracker.next_wakeup())
                .chain(self.next_reading)
                .min()
                .map(wake_at);
            if wake != self.armed {
                self.armed = wake;
                self.timer.set(wake.map(|t| self.instant(t)));
            }
            if self.timer.poll(cx).is_pending() {
                return Poll::Pending;
            }
        }
    }
}

impl Engine {
    /// Read the passive counters and feed every passive uplink's watch; a suspicion has its
    /// tracker confirm it at once. Returns `dispatch`'s answer for the confirming probes.
    fn read_evidence(&mut self, now: Time, out: &mut Vec<Output>) -> bool {
        let step = PASSIVE_EVERY.as_micros() as u64;
        self.next_reading = Some(Time::from_micros((now.as_micros() / step + 1) * step));
        let mut suspects = Vec::new();
        if let Err(e) = self.read_watches(now, out, &mut suspects) {
            // A dump cut short leaves the socket unusable: the next reading opens another.
            self.evidence = None;
            let e = format!("passive evidence: {e}");
            if self.evidence_error.as_ref() != Some(&e) {
                log::warn!("{e}");
                self.evidence_error = Some(e);
            }
        }
        let mut again = false;
        for slot in suspects {
            again |= self.dispatch(slot, now, out);
        }
        again
    }

    fn read_watches(
        &mut self,
        now: Time,
        out: &mut Vec<Output>,
        suspects: &mut Vec<usize>,
    ) -> std::io::Result<()> {
        let evidence = match &mut self.evidence {
            Some(e) => e,
            None => self.evidence.insert(Evidence::open()?),
        };
        evidence.counters(&mut self.counters)?;
        self.evidence_error = None;
        for (slot, u) in self.uplinks.iter_mut().enumerate() {
            let Some(watch) = &mut u.watch else {
                continue;
            };
            if !u.tracker.state().routable() {
                *watch = Watch::default();
                continue;
            }
            let total = |c| {
                let name = counter_name(c, u.af, &u.iface.name);
                self.counters
                    .iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, v)| *v)
            };
            let (Some(opened), Some(answered)) = (total(Counted::Opened), total(Counted::Answered))
            else {
                continue;
            };
            let wait = passive::wait_for(u.tracker.rtt());
            let silence = watch.observe(now, opened, answered, wait);
            let Some(silence) = silence.filter(|_| !u.tracker.confirming()) else {
                continue;
            };
            let mut destinations = Destinations::new(evidence.syn_sent_secs);
            let mark = (u.iface.mark.value(), self.mark_mask.bits());
            evidence.flows(u.af, mark, &mut |f| destinations.add(f))?;
            if let Some(why) = watch.judge(silence, destinations.count()) {
                if u.tracker.confirm(now, why.clone(), out) {
                    log::warn!("{}: suspect: {why}", u.tracker.name());
                }
                suspects.push(slot);
            }
        }
        Ok(())
    }
}

/// When a reply arrived on the engine's clock: the kernel's receive time stamp, carried
/// over from the wall clock; `now` without one, or if the stamp is implausible (later than
/// now, or more than a few seconds back: the wall clock was stepped).
fn arrival(now: Time, wall: SystemTime, stamp: Option<SystemTime>) -> Time {
    let ago = stamp.and_then(|s| wall.duration_since(s).ok());
    match ago.filter(|d| *d < Duration::from_secs(5)) {
        Some(d) => Time::from_micros(now.as_micros().saturating_sub(d.as_micros() as u64)),
        None => now,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::health::State;

    #[test]
    fn one_tracker_per_family_each_with_its_own_targets_and_transitions() {
        let v4: IpAddr = "198.18.0.1".parse().unwrap();
        let v6: IpAddr = "2001:db8:ffff::1".parse().unwrap();
        let iface = |name: &str, n: u32, family: Family, targets: &[IpAddr]| {
            let mut i = crate::fixtures::interface(name, n);
            i.family = family;
            i.track_ip = targets.to_vec();
            i.device = Some(format!("{name}-nodev"));
            i
        };
        let mut arp = iface("d", 4, Family::Both, &[v4]);
        arp.track_method = TrackMethod::Arping;
        let ifaces = [
            iface("a", 1, Family::Ipv4, &[v4]),
            iface("b", 2, Family::Ipv6, &[v6]),
            iface("c", 3, Family::Both, &[v4, v6]),
            arp,
        ];
        let mut e = Engine::new(&ifaces).unwrap();
        let targets = |e: &Engine, i: usize, af: Af| {
            e.tracker_of(InterfaceId(i), af).map(|t| {
                let ips = t.status().targets.iter().map(|s| s.ip).collect::<Vec<_>>();
                (t.name().to_string(), ips)
            })
        };
        assert_eq!(targets(&e, 0, Af::Inet), Some(("a".into(), vec![v4])));
        assert_eq!(targets(&e, 0, Af::Inet6), None);
        assert_eq!(targets(&e, 1, Af::Inet), None);
        assert_eq!(targets(&e, 1, Af::Inet6), Some(("b".into(), vec![v6])));
        assert_eq!(targets(&e, 2, Af::Inet), Some(("c".into(), vec![v4])));
        assert_eq!(targets(&e, 2, Af::Inet6), Some(("c ipv6".into(), vec![v6])));
        assert_eq!(
            targets(&e, 3, Af::Inet6),
            Some(("d ipv6".into(), vec![])),
            "carrier only"
        );

        // The device comes up for both families of c, then its carrier goes: both trackers
        // change state, each reported as its own family.
        let facts = |source: IpAddr| LinkFacts {
            device: "c-nodev".into(),
            ifindex: 77,
            source: Some(source),
        };
        e.device_up(
            InterfaceId(2),
            Af::Inet,
            facts("192.0.2.2".parse().unwrap()),
        );
        e.device_up(
            InterfaceId(2),
            Af::Inet6,
            facts("2001:db8:100:1::2".parse().unwrap()),
        );
        assert!(e.usable_in(InterfaceId(2), Af::Inet) && e.usable_in(InterfaceId(2), Af::Inet6));
        assert!(!e.usable_in(InterfaceId(0), Af::Inet6), "a carries no IPv6");
        e.queue.clear();
        e.carrier(InterfaceId(2), false);
        let kinds: Vec<(Af, State)> = e
            .queue
            .iter()
            .filter_map(|ev| match ev {
                Event::Transition(_, af, t) => Some((*af, t.to)),
                Event::Global(_) | Event::Rounds => None,
            })
            .collect();
        assert_eq!(kinds, [(Af::Inet, State::Down), (Af::Inet6, State::Down)]);
        assert!(!e.usable_in(InterfaceId(2), Af::Inet) && !e.usable_in(InterfaceId(2), Af::Inet6));

        // A reload with c unchanged keeps both its trackers (and their state).
        let kept = e.rebuild(&ifaces);
        assert!(kept.contains(&InterfaceId(2)));
        assert_eq!(
            e.tracker_of(InterfaceId(2), Af::Inet6).map(|t| t.state()),
            Some(State::Down)
        );
    }

    #[test]
    fn aligned_is_the_next_multiple_of_the_period_on_the_engines_clock() {
        let e = Engine::new(&[]).unwrap();
        let period = Duration::from_secs(2);
        let at = e.aligned(period);
        let since = at.duration_since(e.origin);
        assert_eq!(since.as_micros() % period.as_micros(), 0, "{since:?}");
        assert!(at > Instant::now() && since <= e.origin.elapsed() + period);
    }

    #[test]
    fn wake_ups_fall_on_the_grid_never_before_the_work() {
        let step = WAKE_GRID.as_micros() as u64;
        let at = |us: u64| wake_at(Time::from_micros(us)).as_micros();
        assert_eq!(at(0), 0);
        assert_eq!(at(1), step);
        assert_eq!(at(step), step, "on the grid: at once");
        assert_eq!(at(step + 1), 2 * step);
        assert_eq!(at(3 * step - 1), 3 * step);
    }

    #[test]
    fn arrival_uses_the_kernel_stamp_when_plausible() {
        let now = Time::from_millis(10_000);
        let wall = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let ms = Duration::from_millis;
        assert_eq!(arrival(now, wall, None), now);
        assert_eq!(
            arrival(now, wall, Some(wall - ms(300))),
            Time::from_millis(9_700)
        );
        assert_eq!(
            arrival(now, wall, Some(wall + ms(5))),
            now,
            "from the future"
        );
        assert_eq!(
            arrival(now, wall, Some(wall - ms(60_000))),
            now,
            "clock stepped"
        );
    }
}
