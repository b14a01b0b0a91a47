//! History kept across a restart: the file format of every series, written to the daemon's
//! run directory (`/var/run/rail`, tmpfs on OpenWrt) when rail stops and read back when it
//! starts (`service rail restart` keeps the charts; a reboot clears them); `shell` does
//! the writing and reading.
//!
//! A small binary format of the series' fields, little-endian, behind a magic and a
//! version: anything else, or a file that is not root's own, is ignored. Each series says
//! how far apart its coarse samples are: read back under a configuration that keeps them at
//! another step, they are left out (`History::restore`).

use super::ring::Ring;
use super::{
    coarse_samples, Day, Fine, Minute, Open, Outage, Series, Totals, DAYS, FINE, OUTAGES, STEPS,
};

/// The file's name in the run directory.
pub const FILE: &str = "history";

const MAGIC: &[u8; 9] = b"RAILHIST4";
/// Larger files are not ours: 64 series of at most ~13 KB.
pub const MAX_FILE: u64 = 64 * 20_000;

struct Out(Vec<u8>);

impl Out {
    fn u8(&mut self, v: u8) {
        self.0.push(v);
    }
    fn u16(&mut self, v: u16) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn str(&mut self, s: &str) {
        let b = &s.as_bytes()[..s.len().min(255)];
        self.u8(b.len() as u8);
        self.0.extend_from_slice(b);
    }
    fn totals(&mut self, t: &Totals) {
        self.u64(t.resolved);
        self.u64(t.received);
        self.u64(t.rtt_us);
        self.0.extend_from_slice(&t.rtt_us2.to_le_bytes());
    }
    fn open(&mut self, o: &Open) {
        self.totals(&o.probes);
        self.u8(o.worst);
        self.u32(o.up);
        self.u32(o.down);
    }
    fn day(&mut self, d: &Day) {
        self.u32(d.day);
        self.u32(d.up);
        self.u32(d.down);
        self.u16(d.outages);
        self.u32(d.longest);
    }
}

struct In<'a>(&'a [u8]);

impl In<'_> {
    fn take<const N: usize>(&mut self) -> Option<[u8; N]> {
        let (head, rest) = self.0.split_at_checked(N)?;
        self.0 = rest;
        head.try_into().ok()
    }
    fn u8(&mut self) -> Option<u8> {
        self.take::<1>().map(|b| b[0])
    }
    fn u16(&mut self) -> Option<u16> {
        self.take().map(u16::from_le_bytes)
    }
    fn u32(&mut self) -> Option<u32> {
        self.take().map(u32::from_le_bytes)
    }
    fn u64(&mut self) -> Option<u64> {
        self.take().map(u64::from_le_bytes)
    }
    fn str(&mut self) -> Option<String> {
        let n = usize::from(self.u8()?);
        let (head, rest) = self.0.split_at_checked(n)?;
        self.0 = rest;
        String::from_utf8(head.to_vec()).ok()
    }
    fn totals(&mut self) -> Option<Totals> {
        Some(Totals {
            resolved: self.u64()?,
            received: self.u64()?,
            rtt_us: self.u64()?,
            rtt_us2: u128::from_le_bytes(self.take()?),
        })
    }
    fn open(&mut self) -> Option<Open> {
        Some(Open {
            probes: self.totals()?,
            worst: self.u8()?,
            up: self.u32()?,
            down: self.u32()?,
        })
    }
    fn day(&mut self) -> Option<Day> {
        Some(Day {
            day: self.u32()?,
            up: self.u32()?,
            down: self.u32()?,
            outages: self.u16()?,
            longest: self.u32()?,
        })
    }
    /// A count, then that many items into a ring of `capacity` (no more than that).
    fn ring<T: Copy + Default>(
        &mut self,
        capacity: usize,
        item: impl Fn(&mut Self) -> Option<T>,
    ) -> Option<Ring<T>> {
        let n = usize::from(self.u16()?);
        if n > capacity {
            return None;
        }
        let mut r = Ring::new(capacity);
        for _ in 0..n {
            r.push(item(self)?);
        }
        Some(r)
    }
}

/// Every series, named by interface and family.
pub fn encode<'a>(series: impl Iterator<Item = (&'a str, &'a str, &'a Series)>) -> Vec<u8> {
    let mut o = Out(MAGIC.to_vec());
    for (name, family, s) in series {
        o.str(name);
        o.str(family);
        o.u64(s.second);
        o.u16(s.step as u16);
        o.u8(s.state);
        o.open(&s.sec);
        o.open(&s.min);
        o.day(&s.today);
        match &s.last {
            Some(t) => {
                o.u8(1);
                o.totals(t);
            }
            None => o.u8(0),
        }
        o.u16(s.fine.len() as u16);
        for f in s.fine.iter() {
            o.0.extend_from_slice(&f.rtt);
            o.u8(f.sd);
            o.u8(f.loss);
            o.u8(f.state);
        }
        o.u16(s.minutes.len() as u16);
        for m in s.minutes.iter() {
            o.0.extend_from_slice(&m.rtt);
            o.0.extend_from_slice(&m.bits);
            o.u8(m.sd);
            o.u8(m.loss);
        }
        o.u16(s.days.len() as u16);
        for d in s.days.iter() {
            o.day(d);
        }
        o.u16(s.outages.len() as u16);
        for x in s.outages.iter() {
            o.u32(x.start);
            o.u32(x.end);
        }
    }
    o.0
}

/// The series in `bytes`; None when they are not a history file of this version.
pub fn decode(bytes: &[u8]) -> Option<Vec<(String, String, Series)>> {
    let mut i = In(bytes.strip_prefix(MAGIC.as_slice())?);
    let mut all = Vec::new();
    while !i.0.is_empty() {
        let (name, family) = (i.str()?, i.str()?);
        let second = i.u64()?;
        let step = u64::from(i.u16()?);
        if !STEPS.contains(&step) {
            return None;
        }
        let state = i.u8()?;
        let (sec, min, today) = (i.open()?, i.open()?, i.day()?);
        let last = match i.u8()? {
            0 => None,
            _ => Some(i.totals()?),
        };
        let fine = i.ring(FINE, |i| {
            Some(Fine {
                rtt: i.take()?,
                sd: i.u8()?,
                loss: i.u8()?,
                state: i.u8()?,
            })
        })?;
        let minutes = i.ring(coarse_samples(step), |i| {
            Some(Minute {
                rtt: i.take()?,
                bits: i.take()?,
                sd: i.u8()?,
                loss: i.u8()?,
            })
        })?;
        let days = i.ring(DAYS, In::day)?;
        let outages = i.ring(OUTAGES, |i| {
            Some(Outage {
                start: i.u32()?,
                end: i.u32()?,
            })
        })?;
        let series = Series {
            fine,
            minutes,
            days,
            outages,
            step,
            second,
            sec,
            min,
            today,
            state,
            last,
        };
        all.push((name, family, series));
    }
    Some(all)
}
