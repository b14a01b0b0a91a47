//! The TBF queueing discipline rail installs, as netlink attributes, and how rail tells its
//! own root qdisc from a default one and from someone else's (SQM's).
//!
//! TCA_OPTIONS is built here from the kernel's uapi (include/uapi/linux/pkt_sched.h):
//!
//! ```text
//! struct tc_ratespec { u8 cell_log; u8 linklayer; u16 overhead; s16 cell_align; u16 mpu; u32 rate; }  12 bytes
//! struct tc_tbf_qopt { tc_ratespec rate; tc_ratespec peakrate; u32 limit; u32 buffer; u32 mtu; }       36 bytes
//! TCA_TBF_PARMS 1 (tc_tbf_qopt), TCA_TBF_RATE64 4 (u64 bytes/s), TCA_TBF_BURST 6 (u32 bytes)
//! ```
//!
//! `linklayer` is set to ethernet so the kernel needs no rate table (TCA_TBF_RTAB), and the
//! burst is given in bytes (TCA_TBF_BURST), so `buffer`'s time ticks are only informative.
//! All fields are in host byte order.

use crate::config::Rate;
use crate::netlink::wire::{attrs, put_attr, u32_at};

/// A qdisc handle, `major:minor`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcHandle {
    pub major: u16,
    pub minor: u16,
}

impl TcHandle {
    /// The handle the kernel gives its default qdiscs.
    pub const UNSPEC: TcHandle = TcHandle { major: 0, minor: 0 };
}

impl From<u32> for TcHandle {
    fn from(h: u32) -> TcHandle {
        TcHandle {
            major: (h >> 16) as u16,
            minor: h as u16,
        }
    }
}

impl From<TcHandle> for u32 {
    fn from(h: TcHandle) -> u32 {
        (u32::from(h.major) << 16) | u32::from(h.minor)
    }
}

/// The handle of rail's root qdisc, `7261:` ("ra"): how rail recognises its own.
pub const HANDLE: TcHandle = TcHandle {
    major: 0x7261,
    minor: 0,
};

const TCA_TBF_PARMS: u16 = 1;
const TCA_TBF_RATE64: u16 = 4;
const TCA_TBF_BURST: u16 = 6;
const TC_LINKLAYER_ETHERNET: u8 = 1;
/// Kernel scheduler ticks are 64 ns (PSCHED_SHIFT 6).
const PSCHED_TICK_NS: u64 = 64;
const QOPT_LEN: usize = 36;

/// What a TBF for `rate` on a device with `mtu` looks like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tbf {
    pub bytes_per_second: u64,
    /// Bytes that may leave back to back: 10 ms at the rate, and at least two full frames
    /// (a smaller bucket drops every packet larger than it).
    pub burst: u32,
    /// Bytes queued before dropping: the burst plus 50 ms at the rate.
    pub limit: u32,
}

impl Tbf {
    pub fn new(rate: Rate, mtu: u32) -> Tbf {
        let bps = rate.bytes_per_second();
        let frames = 2 * (u64::from(mtu) + 64);
        let burst = (bps / 100).max(frames);
        let limit = burst + bps / 20;
        let clamp = |v: u64| u32::try_from(v).unwrap_or(u32::MAX);
        Tbf {
            bytes_per_second: bps,
            burst: clamp(burst),
            limit: clamp(limit),
        }
    }

    /// The TCA_OPTIONS payload: its attributes.
    pub fn options(&self) -> Vec<u8> {
        let rate32 = u32::try_from(self.bytes_per_second).unwrap_or(u32::MAX);
        let buffer_ns = u64::from(self.burst) * 1_000_000_000 / self.bytes_per_second.max(1);
        let buffer = u32::try_from(buffer_ns / PSCHED_TICK_NS).unwrap_or(u32::MAX);
        let mut qopt = Vec::with_capacity(QOPT_LEN);
        // rate: cell_log, linklayer, overhead, cell_align, mpu, rate
        qopt.extend_from_slice(&[0, TC_LINKLAYER_ETHERNET]);
        qopt.extend_from_slice(&[0; 6]);
        qopt.extend_from_slice(&rate32.to_ne_bytes());
        // peakrate: unused
        qopt.extend_from_slice(&[0; 12]);
        qopt.extend_from_slice(&self.limit.to_ne_bytes());
        qopt.extend_from_slice(&buffer.to_ne_bytes());
        qopt.extend_from_slice(&0u32.to_ne_bytes());
        let mut out = Vec::with_capacity(64);
        put_attr(&mut out, TCA_TBF_PARMS, &qopt);
        put_attr(&mut out, TCA_TBF_BURST, &self.burst.to_ne_bytes());
        // Rates of 34 Gbit/s and more do not fit tc_ratespec's u32.
        if rate32 == u32::MAX {
            put_attr(
                &mut out,
                TCA_TBF_RATE64,
                &self.bytes_per_second.to_ne_bytes(),
            );
        }
        out
    }

    /// Whether a dumped TBF has this rate and queue limit, to leave an identical one alone
    /// (changing a TBF replaces its queue and drops what is in it).
    pub fn same_as(&self, options: &[u8]) -> bool {
        let (mut rate, mut rate64, mut limit) = (None, None, None);
        for (kind, value) in attrs(options) {
            match kind {
                TCA_TBF_PARMS if value.len() >= QOPT_LEN => {
                    rate = u32_at(value, 8).map(u64::from);
                    limit = u32_at(value, 24);
                }
                TCA_TBF_RATE64 if value.len() == 8 => {
                    rate64 = Some(u64::from_ne_bytes(value[..8].try_into().unwrap_or([0; 8])));
                }
                _ => {}
            }
        }
        rate64.or(rate) == Some(self.bytes_per_second) && limit == Some(self.limit)
    }
}

/// Whose the root qdisc of a device is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Root {
    /// The kernel's default (handle 0: pfifo_fast, fq_codel, mq, noqueue): free to replace.
    Default,
    /// rail's TBF.
    Rail,
    /// Installed by something else (SQM, qosify, a user's tc): leave it alone.
    Foreign { kind: String, handle: TcHandle },
}

impl Root {
    pub fn of(kind: &str, handle: TcHandle) -> Root {
        if handle == TcHandle::UNSPEC {
            Root::Default
        } else if handle == HANDLE && kind == "tbf" {
            Root::Rail
        } else {
            Root::Foreign {
                kind: kind.into(),
                handle,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(options: &[u8]) -> Vec<(u16, Vec<u8>)> {
        attrs(options).map(|(k, v)| (k, v.to_vec())).collect()
    }

    fn ne_u32(b: &[u8]) -> u32 {
        u32_at(b, 0).unwrap()
    }

    #[test]
    fn tbf_parameters_for_an_8_mbit_uplink() {
        let t = Tbf::new(Rate::from_kbit(8_000).unwrap(), 1500);
        // 1 MB/s: burst 10 ms = 10 kB, queue 50 ms more.
        assert_eq!(
            (t.bytes_per_second, t.burst, t.limit),
            (1_000_000, 10_000, 60_000)
        );
        let opts = t.options();
        let attrs = list(&opts);
        assert_eq!(attrs.len(), 2, "no RATE64 below 34 Gbit/s");
        let (kind, parms) = attrs[0].clone();
        assert_eq!((kind, parms.len()), (TCA_TBF_PARMS, 36));
        assert_eq!(parms[1], TC_LINKLAYER_ETHERNET);
        assert_eq!(ne_u32(&parms[8..12]), 1_000_000, "rate in bytes/s");
        assert_eq!(&parms[12..24], &[0; 12], "no peak rate");
        assert_eq!(ne_u32(&parms[24..28]), 60_000, "limit");
        assert_eq!(
            ne_u32(&parms[28..32]),
            10_000_000 / 64,
            "10 ms in 64 ns ticks"
        );
        assert_eq!(attrs[1], (TCA_TBF_BURST, 10_000u32.to_ne_bytes().to_vec()));
        assert!(t.same_as(&opts));
        assert!(!Tbf::new(Rate::from_kbit(9_000).unwrap(), 1500).same_as(&opts));
    }

    #[test]
    fn slow_links_still_pass_full_frames_and_fast_ones_use_rate64() {
        let slow = Tbf::new(Rate::from_kbit(64).unwrap(), 1492);
        assert_eq!(slow.burst, 2 * (1492 + 64));
        let fast = Tbf::new(Rate::from_kbit(40_000_000).unwrap(), 1500);
        let opts = fast.options();
        assert_eq!(list(&opts)[2].0, TCA_TBF_RATE64);
        assert!(fast.same_as(&opts));
    }

    #[test]
    fn only_rails_own_tbf_and_kernel_defaults_may_be_replaced() {
        assert_eq!(Root::of("fq_codel", TcHandle::UNSPEC), Root::Default);
        assert_eq!(Root::of("noqueue", TcHandle::UNSPEC), Root::Default);
        assert_eq!(Root::of("tbf", HANDLE), Root::Rail);
        let sqm = TcHandle { major: 1, minor: 0 };
        assert!(matches!(Root::of("cake", sqm), Root::Foreign { .. }));
        assert!(
            matches!(Root::of("htb", HANDLE), Root::Foreign { .. }),
            "our handle, not our kind"
        );
    }
}
