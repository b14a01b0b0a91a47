//! What `rail history` answers: per uplink and family, a span's samples as columns (compact
//! enough that 24 hours of 16 uplinks fit one ubus message) and a summary of availability
//! and outages; the shape of ubus `rail history`, `rail history --json` and LuCI's charts.

use super::{out_of_service, routable, state_name, tally, Minute, Sample, Series, DAY, NO_U16};
use crate::blob::{Type, Writer};
use serde::Serialize;
use std::collections::BTreeMap;

/// How far back a view reaches, and at which resolution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Span {
    /// Ten minutes of one-second samples.
    TenMinutes,
    /// One hour of coarse samples (a minute, or two with many series).
    Hour,
    /// 24 hours of coarse samples.
    Day,
}

impl Span {
    pub const ALL: [Span; 3] = [Span::TenMinutes, Span::Hour, Span::Day];

    pub fn parse(s: &str) -> Option<Span> {
        Span::ALL.into_iter().find(|span| span.as_str() == s)
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Span::TenMinutes => "10m",
            Span::Hour => "1h",
            Span::Day => "24h",
        }
    }
    /// Seconds per sample, with coarse samples `coarse` seconds apart.
    pub fn step(self, coarse: u64) -> u64 {
        match self {
            Span::TenMinutes => 1,
            _ => coarse,
        }
    }
    /// Samples in the span, with coarse samples `coarse` seconds apart.
    pub fn samples(self, coarse: u64) -> usize {
        let seconds = match self {
            Span::TenMinutes => 600,
            Span::Hour => 3600,
            Span::Day => DAY,
        };
        (seconds / self.step(coarse)) as usize
    }
}

/// Every series asked for: interface, then family ("ipv4", "ipv6").
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct View {
    /// Unix time of the view (the open second).
    pub now: u64,
    pub span: String,
    pub interfaces: BTreeMap<String, BTreeMap<String, SeriesView>>,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct SeriesView {
    /// The state now.
    pub state: &'static str,
    /// Unix time of the first sample; sample i covers `start + i * step` on.
    pub start: u64,
    pub step: u64,
    /// Mean RTT and its standard deviation per sample, microseconds; -1: no reply.
    pub rtt_us: Vec<i64>,
    pub sd_us: Vec<i64>,
    /// Lost probes per mille; -1: no probe.
    pub loss_permille: Vec<i64>,
    /// The worst state of each sample, as runs: (unix time the run starts, state); "none"
    /// where there is no data.
    pub states: Vec<(u64, &'static str)>,
    pub summary: Service,
    /// Per day (UTC), oldest first, today last.
    pub days: Vec<Service>,
}

/// Service over a stretch of time: the span (with its mean RTT and loss), or a day (with
/// its date).
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Service {
    /// YYYY-MM-DD (UTC) of a day.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub date: String,
    /// Percent of the observed time routable (up or suspect); absent without data.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub availability: Option<f64>,
    /// Seconds routable, and out of service (the total outage).
    pub up: u64,
    pub down: u64,
    /// Outages that began in it, and the longest of them (seconds, up to now).
    pub outages: u64,
    pub longest: u64,
    /// Of the span: the mean of the samples' RTT (microseconds) and loss (per mille);
    /// absent without data.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rtt_us: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub loss_permille: Option<i64>,
}

/// The document as a blobmsg table (the layout its JSON takes through a tree: what ubus
/// answers), written straight from the series one at a time, so that the daemon can let
/// its other work run between them; at most `limit` bytes when it can be, with every 2, 3,
/// ... samples merged into one until it fits (24 hours of more than about 20 series do not
/// fit one ubus message at full resolution).
#[derive(Debug)]
pub struct Answer {
    /// The series asked for, by name then family (the document's order).
    wanted: Vec<(String, &'static str)>,
    span: Span,
    /// Samples per series at full resolution.
    samples: usize,
    limit: usize,
    every: usize,
    next: usize,
    w: Writer,
    /// The interface whose table is open, and the newest open second seen.
    open: Option<String>,
    now: u64,
}

impl Answer {
    pub(super) fn new(
        mut wanted: Vec<(String, &'static str)>,
        span: Span,
        coarse: u64,
        limit: usize,
    ) -> Answer {
        wanted.sort();
        Answer {
            wanted,
            span,
            samples: span.samples(coarse),
            limit,
            every: 1,
            next: 0,
            w: Writer::default(),
            open: None,
            now: 0,
        }
    }

    /// Writes the next series of `history` (one it no longer has is left out); the answer
    /// once all are written.
    pub fn step(&mut self, history: &super::History) -> Option<Vec<u8>> {
        let Some((name, family)) = self.wanted.get(self.next) else {
            return self.finish();
        };
        if self.next == 0 {
            // Three columns of 12-byte items, the state runs and the rest: grown once at most.
            let samples = self.samples.div_ceil(self.every);
            self.w = Writer::with_capacity(self.wanted.len() * (48 * samples + 1024) + 64);
            self.w.open(Type::Table, "interfaces");
        }
        self.next += 1;
        if let Some(s) = history.series(name, family) {
            if self.open.as_ref() != Some(name) {
                if self.open.is_some() {
                    self.w.close();
                }
                self.w.open(Type::Table, name);
                self.open = Some(name.clone());
            }
            self.w.open(Type::Table, family);
            s.sampled(self.span, self.every).blob(&mut self.w);
            self.w.close();
            self.now = self.now.max(s.second);
        }
        None
    }

    fn finish(&mut self) -> Option<Vec<u8>> {
        if self.next == 0 {
            self.w.open(Type::Table, "interfaces");
        }
        if self.open.take().is_some() {
            self.w.close();
        }
        self.w.close();
        self.w.int("now", self.now as i64);
        self.w.string("span", self.span.as_str());
        let table = std::mem::take(&mut self.w).into_table();
        if table.len() <= self.limit || self.every >= self.samples {
            return Some(table);
        }
        // The size is about proportional to the samples: jump near, then step.
        self.every = (self.every + 1).max(self.every * table.len() / self.limit.max(1));
        (self.next, self.now) = (0, 0);
        None
    }
}

impl SeriesView {
    /// Its fields in JSON's order (by name).
    fn blob(&self, w: &mut Writer) {
        let column = |w: &mut Writer, name: &str, values: &[i64]| {
            w.open(Type::Array, name);
            for &v in values {
                w.int("", v);
            }
            w.close();
        };
        w.open(Type::Array, "days");
        for d in &self.days {
            w.open(Type::Table, "");
            d.blob(w);
            w.close();
        }
        w.close();
        column(w, "loss_permille", &self.loss_permille);
        column(w, "rtt_us", &self.rtt_us);
        column(w, "sd_us", &self.sd_us);
        w.int("start", self.start as i64);
        w.string("state", self.state);
        w.open(Type::Array, "states");
        for &(at, state) in &self.states {
            w.open(Type::Array, "");
            w.int("", at as i64);
            w.string("", state);
            w.close();
        }
        w.close();
        w.int("step", self.step as i64);
        w.open(Type::Table, "summary");
        self.summary.blob(w);
        w.close();
    }
}

impl Service {
    fn blob(&self, w: &mut Writer) {
        if let Some(a) = self.availability {
            w.double("availability", a);
        }
        if !self.date.is_empty() {
            w.string("date", &self.date);
        }
        w.int("down", self.down as i64);
        w.int("longest", self.longest as i64);
        if let Some(l) = self.loss_permille {
            w.int("loss_permille", l);
        }
        w.int("outages", self.outages as i64);
        if let Some(r) = self.rtt_us {
            w.int("rtt_us", r);
        }
        w.int("up", self.up as i64);
    }
}

/// One sample as the view shows it.
#[derive(Clone, Copy)]
struct Point {
    rtt: u16,
    sd: u16,
    loss: Option<u16>,
    state: u8,
    up: u64,
    down: u64,
}

impl Point {
    /// Samples as one: the mean RTT and the spread of all their probes (each sample's
    /// spread and its mean's distance from the group's), the mean loss, the worst state,
    /// the seconds summed. Each sample weighs the same (a sample keeps no probe count).
    fn merge(group: &[Point]) -> Point {
        if let [one] = group {
            return *one;
        }
        let replied = || group.iter().filter(|p| p.rtt != NO_U16);
        let n = replied().count() as f64;
        let (rtt, sd) = if n == 0.0 {
            (NO_U16, NO_U16)
        } else {
            let mean = replied().map(|p| f64::from(p.rtt)).sum::<f64>() / n;
            let var = replied()
                .map(|p| {
                    let sd = if p.sd == NO_U16 { 0.0 } else { f64::from(p.sd) };
                    sd * sd + (f64::from(p.rtt) - mean).powi(2)
                })
                .sum::<f64>()
                / n;
            let tenths = |x: f64| x.round().min(f64::from(NO_U16 - 1)) as u16;
            (tenths(mean), tenths(var.sqrt()))
        };
        let (lost, counted) = (group.iter().filter_map(|p| p.loss))
            .fold((0, 0), |(sum, n), l| (sum + u32::from(l), n + 1));
        let loss = (counted > 0).then(|| (f64::from(lost) / f64::from(counted)).round() as u16);
        Point {
            rtt,
            sd,
            loss,
            state: group.iter().map(|p| p.state).max().unwrap_or(0),
            up: group.iter().map(|p| p.up).sum(),
            down: group.iter().map(|p| p.down).sum(),
        }
    }
}

fn percent(up: u64, down: u64) -> Option<f64> {
    (up + down > 0).then(|| (up as f64 * 10_000.0 / (up + down) as f64).round() / 100.0)
}

fn us(tenths: u16) -> i64 {
    if tenths == NO_U16 {
        -1
    } else {
        i64::from(tenths) * 100
    }
}

/// Days since 1970-01-01 as YYYY-MM-DD (proleptic Gregorian, Howard Hinnant's algorithm).
pub fn date(days: u32) -> String {
    let z = i64::from(days) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

impl Series {
    /// The span's samples up to the open second (included, as far as it went).
    pub fn view(&self, span: Span) -> SeriesView {
        self.sampled(span, 1)
    }

    /// The span with every `every` samples merged into one (a step that many times longer;
    /// the summary still from the samples as kept): how an answer too large for one ubus
    /// message is made smaller.
    pub fn sampled(&self, span: Span, every: usize) -> SeriesView {
        let points = self.points(span);
        let step = span.step(self.step);
        let start = (self.second / step + 1) * step - points.len() as u64 * step;
        let every = every.max(1);
        let samples = points.len().div_ceil(every);
        let mut v = SeriesView {
            state: self.state(),
            start,
            step: step * every as u64,
            rtt_us: Vec::with_capacity(samples),
            sd_us: Vec::with_capacity(samples),
            loss_permille: Vec::with_capacity(samples),
            ..Default::default()
        };
        let (mut rtts, mut losses, mut seen) = (Vec::new(), Vec::new(), 0);
        for (i, p) in points.iter().enumerate() {
            v.summary.up += p.up;
            v.summary.down += p.down;
            if p.rtt != NO_U16 {
                rtts.push(us(p.rtt));
            }
            losses.extend(p.loss.map(i64::from));
            if i > 0 && routable(points[i - 1].state) && out_of_service(p.state) {
                seen += 1;
            }
        }
        for (i, group) in points.chunks(every).enumerate() {
            let p = Point::merge(group);
            v.rtt_us.push(us(p.rtt));
            v.sd_us.push(us(p.sd));
            v.loss_permille.push(p.loss.map_or(-1, i64::from));
            let name = state_name(p.state);
            if v.states.last().is_none_or(|&(_, s)| s != name) {
                v.states.push((start + i as u64 * v.step, name));
            }
        }
        let mean = |v: &[i64]| (!v.is_empty()).then(|| v.iter().sum::<i64>() / v.len() as i64);
        v.summary.rtt_us = mean(&rtts);
        v.summary.loss_permille = mean(&losses);
        let span = &mut v.summary;
        span.availability = percent(span.up, span.down);
        for o in self.outages.iter().filter(|o| u64::from(o.start) >= start) {
            let end = if o.end == 0 {
                self.second
            } else {
                u64::from(o.end)
            };
            span.outages += 1;
            span.longest = span.longest.max(end - u64::from(o.start));
        }
        // More outages than the ring keeps: count the ones the samples show.
        v.summary.outages = v.summary.outages.max(seen);
        let open = self.ongoing();
        // Today as far as it went: with the open second, like the samples.
        let mut today = self.today;
        tally(&mut today.up, &mut today.down, self.sec.worst, 1);
        for d in self.days.iter().chain(std::iter::once(&today)) {
            let ongoing = open.filter(|&(s, _)| s / DAY == u64::from(d.day));
            v.days.push(Service {
                date: date(d.day),
                availability: percent(d.up.into(), d.down.into()),
                up: d.up.into(),
                down: d.down.into(),
                outages: d.outages.into(),
                longest: u64::from(d.longest).max(ongoing.map_or(0, |(_, len)| len)),
                ..Service::default()
            });
        }
        v
    }

    /// The outage still going: its start and length so far.
    fn ongoing(&self) -> Option<(u64, u64)> {
        let o = self.outages.back().filter(|o| o.end == 0)?;
        let start = u64::from(o.start);
        Some((start, self.second.saturating_sub(start)))
    }

    fn points(&self, span: Span) -> Vec<Point> {
        let n = span.samples(self.step);
        let mut points: Vec<Point> = match span {
            Span::TenMinutes => {
                let open = super::Fine::of(&self.sec.probes, self.sec.worst);
                let fine = self
                    .fine
                    .iter()
                    .skip((self.fine.len() + 1).saturating_sub(n));
                fine.chain(std::iter::once(&open))
                    .map(|f| Point {
                        rtt: f.rtt(),
                        sd: f.sd(),
                        loss: f.loss(),
                        state: f.state,
                        up: u64::from(routable(f.state)),
                        down: u64::from(out_of_service(f.state)),
                    })
                    .collect()
            }
            Span::Hour | Span::Day => {
                let mut probes = self.min.probes;
                probes.add(&self.sec.probes);
                let mut open = self.min;
                open.count(self.sec.worst, 1);
                let worst = open.worst.max(self.sec.worst);
                let open = Minute::of(&probes, worst, open.up as u8, open.down as u8);
                let skip = (self.minutes.len() + 1).saturating_sub(n);
                self.minutes
                    .iter()
                    .skip(skip)
                    .chain(std::iter::once(&open))
                    .map(|m| Point {
                        rtt: m.rtt(),
                        sd: m.sd(),
                        loss: m.loss(),
                        state: m.state(),
                        up: m.up(),
                        down: m.down(),
                    })
                    .collect()
            }
        };
        points.truncate(n);
        points
    }
}
