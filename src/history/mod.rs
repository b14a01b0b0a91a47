//! Uplink quality over time: per uplink and family, RTT (mean and spread), loss and state at
//! two resolutions (a sample per second for 10 minutes, per minute for 24 hours, or per two
//! minutes when more series than [`BUDGET`] holds at one are configured) in rings allocated
//! once, plus per-day availability and outages (docs/history.md).
//!
//! Pure: the daemon feeds a [`Series`] each tracker's cumulative probe counters after its
//! rounds and its state changes, at unix seconds it passes in, so tests run it on a
//! simulated clock. A series' memory is fixed when it is made ([`series_bytes`]); the
//! wall clock is the axis because history outlives the process (`store`) and people read
//! it in wall time. Rounds within one second share a sample.

pub mod chart;
mod ring;
pub mod shell;
pub mod store;
pub mod view;

pub use crate::health::stats::Totals;
use crate::health::State;
use ring::Ring;
use std::mem::size_of;

/// One-second samples kept: 10 minutes.
pub const FINE: usize = 600;
/// Days whose availability is kept.
pub const DAYS: usize = 7;
/// Outages kept with their start and end (the per-day counts are exact beyond them).
pub const OUTAGES: usize = 16;

const MINUTE: u64 = 60;
const DAY: u64 = 86_400;

/// The memory history may take: up to 21 series fit it at one-minute samples, up to 32 (16
/// dual-stack uplinks) at two-minute ones; more take two-minute ones beyond it.
pub const BUDGET: usize = 256 * 1024;
/// The coarse steps, finest first: the last is taken however many series there are. A
/// coarse sample counts its seconds in 7 bits.
const STEPS: [u64; 2] = [MINUTE, 2 * MINUTE];
const _: () = assert!(STEPS[STEPS.len() - 1] < 128);
/// Per series, beyond its struct and rings: the allocator's header of each of its four
/// rings and its interface's name (16 bytes each).
const SLACK: usize = 5 * 16;

/// The memory of one series whose coarse samples are `step` seconds apart: its struct
/// beside its name and family in [`History`]'s one allocation, and its rings, each
/// allocated once at exactly its capacity.
pub fn series_bytes(step: u64) -> usize {
    size_of::<(String, &str, Series)>()
        + FINE * size_of::<Fine>()
        + coarse_samples(step) * size_of::<Minute>()
        + DAYS * size_of::<Day>()
        + OUTAGES * size_of::<Outage>()
        + SLACK
}

/// The finest coarse step at which `series` series fit [`BUDGET`].
pub fn coarse_step(series: usize) -> u64 {
    let fits = |&&step: &&u64| series * series_bytes(step) <= BUDGET;
    *STEPS.iter().find(fits).unwrap_or(&STEPS[STEPS.len() - 1])
}

/// Coarse samples kept: 24 hours.
fn coarse_samples(step: u64) -> usize {
    (DAY / step) as usize
}

/// A wall-clock step larger than this (NTP setting the clock at boot) restarts a series:
/// filling the gap would only push out all it holds.
const MAX_GAP: u64 = DAYS as u64 * DAY;

/// No sample (the daemon was not running), or no RTT, in the compact encodings.
const NO_U16: u16 = u16::MAX;
const NO_U8: u8 = u8::MAX;

/// A state in a sample: 0 for none, then from best to worst, so a slot keeps its worst
/// state with `max`.
fn code(s: State) -> u8 {
    match s {
        State::Up => 1,
        State::Suspect => 2,
        State::Recovering => 3,
        State::Down => 4,
        State::NoDevice => 5,
        State::Disabled => 6,
    }
}

/// The name of a sample's state code ("none": no data).
pub fn state_name(code: u8) -> &'static str {
    match code {
        1 => "up",
        2 => "suspect",
        3 => "recovering",
        4 => "down",
        5 => "no-device",
        6 => "disabled",
        _ => "none",
    }
}

const NONE: u8 = 0;
const DISABLED: u8 = 6;

fn routable(code: u8) -> bool {
    matches!(code, 1 | 2)
}

/// Not routable while rail judged it (not without data, not disabled).
fn out_of_service(code: u8) -> bool {
    !routable(code) && !matches!(code, NONE | DISABLED)
}

/// Count `secs` seconds in state `code` as up, down, or neither.
fn tally(up: &mut u32, down: &mut u32, code: u8, secs: u32) {
    if routable(code) {
        *up += secs;
    } else if out_of_service(code) {
        *down += secs;
    }
}

/// A duration in microseconds as tenths of a millisecond, saturating below `NO_U16`.
fn tenth_ms(us: f64) -> u16 {
    (us / 100.0).round().min(f64::from(NO_U16 - 1)) as u16
}

/// One second: 5 bytes (byte arrays, so the rings have no padding).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Fine {
    /// Mean RTT in 0.1 ms (little-endian), `NO_U16` without a reply.
    rtt: [u8; 2],
    /// The spread in `spread8`'s code, and lost probes in `loss8`'s.
    sd: u8,
    loss: u8,
    /// The worst state in the second.
    state: u8,
}

/// One coarse sample (a minute or two): 6 bytes (1440 or 720 of them make most of a series).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Minute {
    rtt: [u8; 2],
    /// Seconds routable (bits 0-6), seconds out of service (7-13), and the worst state
    /// among the candidates those counts leave (14-15).
    bits: [u8; 2],
    /// The spread in `spread8`'s code, and lost probes in `loss8`'s.
    sd: u8,
    loss: u8,
}

/// A spread in 0.1 ms as one byte: exact below 12.8 ms, in 2 ms steps up to 266 ms
/// (more saturates), `NO_U8` for none.
fn spread8(tenths: u16) -> u8 {
    match tenths {
        NO_U16 => NO_U8,
        0..128 => tenths as u8,
        _ => 128 + ((tenths - 128 + 10) / 20).min(126) as u8,
    }
}

fn unspread8(code: u8) -> u16 {
    match code {
        NO_U8 => NO_U16,
        0..128 => u16::from(code),
        _ => 128 + u16::from(code - 128) * 20,
    }
}

/// Loss per mille as one byte: exact below 10 %, in 0.6 % steps above, `NO_U8` for none.
fn loss8(permille: Option<u16>) -> u8 {
    match permille {
        None => NO_U8,
        Some(p @ 0..100) => p as u8,
        Some(p) => 100 + ((p.min(1000) - 100 + 3) / 6) as u8,
    }
}

fn unloss8(code: u8) -> Option<u16> {
    match code {
        NO_U8 => None,
        0..100 => Some(u16::from(code)),
        _ => Some(100 + u16::from(code - 100) * 6),
    }
}

/// Mean, spread and loss of a slot's probes in the compact units.
fn encode(t: &Totals) -> (u16, u16, Option<u16>) {
    let (rtt, sd) = t
        .rtt()
        .map_or((NO_U16, NO_U16), |(m, s)| (tenth_ms(m), tenth_ms(s)));
    (rtt, sd, t.loss_permille())
}

impl Fine {
    fn of(t: &Totals, state: u8) -> Fine {
        let (rtt, sd, loss) = encode(t);
        Fine {
            rtt: rtt.to_le_bytes(),
            sd: spread8(sd),
            loss: loss8(loss),
            state,
        }
    }
}

/// The decoded fields both resolutions share.
trait Sample {
    fn coded(&self) -> ([u8; 2], u8, u8);
    fn rtt(&self) -> u16 {
        u16::from_le_bytes(self.coded().0)
    }
    fn sd(&self) -> u16 {
        unspread8(self.coded().1)
    }
    fn loss(&self) -> Option<u16> {
        unloss8(self.coded().2)
    }
}

impl Sample for Fine {
    fn coded(&self) -> ([u8; 2], u8, u8) {
        (self.rtt, self.sd, self.loss)
    }
}

impl Sample for Minute {
    fn coded(&self) -> ([u8; 2], u8, u8) {
        (self.rtt, self.sd, self.loss)
    }
}

/// The states a slot's worst can be after its seconds routable and out of service: with a
/// second out of service, one out of service or disabled; with one routable (and none out),
/// one routable or disabled; with neither, none or disabled. So two bits name it.
fn candidates(up: u64, down: u64) -> [u8; 4] {
    match (up, down) {
        (_, 1..) => [3, 4, 5, DISABLED],
        (1.., 0) => [1, 2, DISABLED, DISABLED],
        _ => [NONE, DISABLED, DISABLED, DISABLED],
    }
}

impl Minute {
    fn of(t: &Totals, state: u8, up: u8, down: u8) -> Minute {
        let (rtt, sd, loss) = encode(t);
        let (up, down) = (up & 127, down & 127);
        let among = candidates(up.into(), down.into());
        let rank = among.iter().position(|&c| c == state).unwrap_or(0) as u16;
        let bits = u16::from(up) | u16::from(down) << 7 | rank << 14;
        Minute {
            rtt: rtt.to_le_bytes(),
            bits: bits.to_le_bytes(),
            sd: spread8(sd),
            loss: loss8(loss),
        }
    }
    fn bits(self) -> u16 {
        u16::from_le_bytes(self.bits)
    }
    fn up(self) -> u64 {
        u64::from(self.bits() & 127)
    }
    fn down(self) -> u64 {
        u64::from(self.bits() >> 7 & 127)
    }
    fn state(self) -> u8 {
        candidates(self.up(), self.down())[usize::from(self.bits() >> 14)]
    }
}

/// One day's service: seconds routable and out of service (seconds without data, or
/// disabled, are neither), and the outages that began that day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Day {
    /// Days since 1970-01-01 (UTC).
    pub day: u32,
    pub up: u32,
    pub down: u32,
    pub outages: u16,
    /// The longest of those outages, seconds (one still going counts up to now).
    pub longest: u32,
}

/// A stretch out of service: from a routable state to one that is not, until routable
/// again. `end` 0: still going.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Outage {
    pub start: u32,
    pub end: u32,
}

/// The open (not yet pushed) slot of a resolution.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Open {
    probes: Totals,
    worst: u8,
    up: u32,
    down: u32,
}

impl Open {
    fn count(&mut self, state: u8, secs: u32) {
        tally(&mut self.up, &mut self.down, state, secs);
    }
}

/// The history of one family of one uplink.
#[derive(Debug, PartialEq)]
pub struct Series {
    fine: Ring<Fine>,
    minutes: Ring<Minute>,
    days: Ring<Day>,
    outages: Ring<Outage>,
    /// Seconds per coarse sample (`minutes`).
    step: u64,
    /// The open second (unix time): `fine`'s newest sample is the second before it, and
    /// `minutes`' newest the coarse slot before the open one.
    second: u64,
    sec: Open,
    min: Open,
    today: Day,
    /// The state now (a code), and the counters of the last observation.
    state: u8,
    last: Option<Totals>,
}

impl Series {
    /// A series starting at `now` in `state`, a coarse sample every minute.
    pub fn new(now: u64, state: State) -> Series {
        let mut s = Series::empty(now, MINUTE);
        s.state = code(state);
        s.sec.worst = s.state;
        s
    }

    fn empty(now: u64, step: u64) -> Series {
        Series {
            fine: Ring::new(FINE),
            minutes: Ring::new(coarse_samples(step)),
            days: Ring::new(DAYS),
            outages: Ring::new(OUTAGES),
            step,
            second: now,
            sec: Open::default(),
            min: Open::default(),
            today: Day {
                day: (now / DAY) as u32,
                ..Day::default()
            },
            state: NONE,
            last: None,
        }
    }

    /// A tracker judged rounds: its counters now.
    pub fn round(&mut self, now: u64, totals: Totals) {
        self.advance(now);
        let new = self.last.map_or(totals, |l| totals.since(&l));
        self.sec.probes.add(&new);
        self.last = Some(totals);
    }

    /// The tracker changed state.
    pub fn set_state(&mut self, now: u64, state: State) {
        self.advance(now);
        let (old, new) = (self.state, code(state));
        self.state = new;
        self.sec.worst = self.sec.worst.max(new);
        let at = now.min(u64::from(u32::MAX)) as u32;
        if routable(old) && !routable(new) && new != DISABLED {
            self.outages.push(Outage { start: at, end: 0 });
            self.today.outages = self.today.outages.saturating_add(1);
        } else if !routable(old) && routable(new) {
            if let Some(o) = self.outages.back_mut().filter(|o| o.end == 0) {
                o.end = at.max(o.start);
                let (start, len) = (o.start, o.end - o.start);
                if let Some(day) = self.day_mut(start) {
                    day.longest = day.longest.max(len);
                }
            }
        }
    }

    /// The tracker's counters start again from zero (a reload made it anew).
    pub fn restarted(&mut self) {
        self.last = None;
    }

    /// The record of the day of unix time `t`, if still kept.
    fn day_mut(&mut self, t: u32) -> Option<&mut Day> {
        let number = t / DAY as u32;
        if number == self.today.day {
            return Some(&mut self.today);
        }
        self.days.iter_mut().find(|d| d.day == number)
    }

    /// Close every slot before `now`: seconds without a round keep the state they had.
    pub fn advance(&mut self, now: u64) {
        if now <= self.second {
            return; // the same second, or the wall clock stepped back: wait for it
        }
        if now - self.second > MAX_GAP {
            let (state, last) = (self.state, self.last);
            *self = Series::empty(now, self.step);
            (self.state, self.last, self.sec.worst) = (state, last, state);
            return;
        }
        while self.second < now {
            self.close_second();
        }
    }

    fn close_second(&mut self) {
        let sec = std::mem::take(&mut self.sec);
        self.fine.push(Fine::of(&sec.probes, sec.worst));
        self.min.probes.add(&sec.probes);
        self.min.worst = self.min.worst.max(sec.worst);
        self.min.count(sec.worst, 1);
        tally(&mut self.today.up, &mut self.today.down, sec.worst, 1);
        self.second += 1;
        self.sec.worst = self.state;
        if self.second % self.step == 0 {
            let m = std::mem::take(&mut self.min);
            let (up, down) = (m.up as u8, m.down as u8);
            self.minutes.push(Minute::of(&m.probes, m.worst, up, down));
        }
        if self.second % DAY == 0 {
            let next = Day {
                day: (self.second / DAY) as u32,
                ..Day::default()
            };
            self.days.push(std::mem::replace(&mut self.today, next));
        }
    }

    /// The daemon was not running from the open second until `now` (history read back
    /// from a file): those seconds have no data. An outage open when it stopped goes on
    /// until the uplink is next routable.
    pub fn resume(&mut self, now: u64) {
        let was = std::mem::replace(&mut self.state, NONE);
        self.advance(now);
        self.state = if routable(was) { NONE } else { was };
        self.last = None;
    }

    /// The state now.
    pub fn state(&self) -> &'static str {
        state_name(self.state)
    }

    /// Keep coarse samples `step` seconds apart: at another step than the series had, its
    /// coarse ring starts afresh (a two-minute sample cannot be split in two; only a
    /// reload across 21 series gets here), the rest is kept.
    fn set_step(&mut self, step: u64) {
        if step != self.step {
            (self.step, self.minutes) = (step, Ring::new(coarse_samples(step)));
            self.min = Open::default();
        }
    }
}

/// The series of every uplink and family the configuration names, by interface name and
/// family ("ipv4", "ipv6"), so a reload keeps the history of uplinks it keeps. All in one
/// allocation of exactly their number: no allocator slack per series.
#[derive(Debug)]
pub struct History {
    series: Vec<(String, &'static str, Series)>,
    /// Seconds per coarse sample of every series: the finest their number fits the budget at.
    step: u64,
}

impl Default for History {
    fn default() -> History {
        History {
            series: Vec::new(),
            step: MINUTE,
        }
    }
}

impl History {
    /// Keep exactly the series of `wanted`; new ones start at `now` without data until
    /// their tracker's first state change (a device not yet seen is no outage).
    pub fn track(&mut self, wanted: &[(String, &'static str)], now: u64) {
        let mut old = std::mem::take(&mut self.series);
        self.series = Vec::with_capacity(wanted.len());
        self.step = coarse_step(wanted.len());
        for (name, family) in wanted {
            let kept = old.iter().position(|(n, f, _)| n == name && f == family);
            let series = match kept {
                Some(i) => {
                    let mut s = old.swap_remove(i).2;
                    s.set_step(self.step);
                    s
                }
                None => Series::empty(now, self.step),
            };
            self.series.push((name.clone(), family, series));
        }
    }

    pub fn series_mut(&mut self, name: &str, family: &str) -> Option<&mut Series> {
        self.series
            .iter_mut()
            .find(|(n, f, _)| n == name && *f == family)
            .map(|(_, _, s)| s)
    }

    /// Close every series' slots before `now`.
    pub fn advance(&mut self, now: u64) {
        for (_, _, s) in &mut self.series {
            s.advance(now);
        }
    }

    /// The span of the series of `interface` and `family` (each: all when None).
    pub fn view(
        &self,
        interface: Option<&str>,
        family: Option<&str>,
        span: view::Span,
    ) -> view::View {
        self.sampled(interface, family, span, 1)
    }

    /// The ubus answer for the series of `interface` and `family` (each: all when None), to
    /// be written a series per [`view::Answer::step`].
    pub fn answer(
        &self,
        interface: Option<&str>,
        family: Option<&str>,
        span: view::Span,
        limit: usize,
    ) -> view::Answer {
        let wanted = (self.series.iter())
            .filter(|(n, f, _)| interface.is_none_or(|i| i == n) && family.is_none_or(|x| x == *f))
            .map(|(n, f, _)| (n.clone(), *f))
            .collect();
        view::Answer::new(wanted, span, self.step, limit)
    }

    fn series(&self, name: &str, family: &str) -> Option<&Series> {
        self.series
            .iter()
            .find(|(n, f, _)| n == name && *f == family)
            .map(|(_, _, s)| s)
    }

    fn sampled(
        &self,
        interface: Option<&str>,
        family: Option<&str>,
        span: view::Span,
        every: usize,
    ) -> view::View {
        let mut v = view::View {
            span: span.as_str().to_string(),
            ..Default::default()
        };
        for (name, fam, s) in &self.series {
            if interface.is_some_and(|i| i != name) || family.is_some_and(|f| f != *fam) {
                continue;
            }
            v.now = v.now.max(s.second);
            v.interfaces
                .entry(name.clone())
                .or_default()
                .insert(fam.to_string(), s.sampled(span, every));
        }
        v
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str, &Series)> {
        self.series.iter().map(|(n, f, s)| (n.as_str(), *f, s))
    }

    /// Put a series read back from a file in place of one the configuration names (its
    /// coarse samples only if they are as far apart as this configuration keeps them).
    pub fn restore(&mut self, name: &str, family: &str, mut series: Series) {
        series.set_step(self.step);
        if let Some(s) = self.series_mut(name, family) {
            *s = series;
        }
    }
}

#[cfg(test)]
mod tests;
