//! The TBF queueing discipline rail installs, as netlink attributes, and how rail tells its
//! own root qdisc from a default one and from someone else's (SQM's).
//!
//! netlink-packet-route encodes no TBF options, so TCA_OPTIONS is built here by hand from
//! the kernel's uapi (include/uapi/linux/pkt_sched.h):
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
use netlink_packet_core::{DefaultNla, Nla, NlasIterator};
use netlink_packet_route::tc::{TcHandle, TcOption};

/// The handle of rail's root qdisc, `7261:` ("ra"): how rail recognises its own.
pub const HANDLE: TcHandle = TcHandle {
    major: 0x7261,
    minor: 0,
};

/// rtnetlink's TCA_OPTIONS attribute type.
const TCA_OPTIONS: u16 = 2;
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

    /// The TCA_OPTIONS payload.
    pub fn options(&self) -> Vec<TcOption> {
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
        let mut out = vec![
            TcOption::Other(DefaultNla::new(TCA_TBF_PARMS, qopt)),
            TcOption::Other(DefaultNla::new(
                TCA_TBF_BURST,
                self.burst.to_ne_bytes().to_vec(),
            )),
        ];
        // Rates of 34 Gbit/s and more do not fit tc_ratespec's u32.
        if rate32 == u32::MAX {
            out.push(TcOption::Other(DefaultNla::new(
                TCA_TBF_RATE64,
                self.bytes_per_second.to_ne_bytes().to_vec(),
            )));
        }
        out
    }

    /// Whether a dumped TBF has this rate and queue limit, to leave an identical one alone
    /// (changing a TBF replaces its queue and drops what is in it).
    pub fn same_as(&self, options: &[TcOption]) -> bool {
        let (mut rate, mut rate64, mut limit) = (None, None, None);
        for (kind, value) in attributes(options) {
            match kind {
                TCA_TBF_PARMS if value.len() >= QOPT_LEN => {
                    rate = Some(u64::from(ne_u32(&value[8..12])));
                    limit = Some(ne_u32(&value[24..28]));
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

/// The TBF attributes as (type, value). netlink-packet-route does not know TBF, so a dump
/// comes back as one attribute holding the whole TCA_OPTIONS nest (type 2, TCA_OPTIONS);
/// options built here are the attributes themselves.
fn attributes(options: &[TcOption]) -> Vec<(u16, Vec<u8>)> {
    let flat: Vec<(u16, Vec<u8>)> = options
        .iter()
        .map(|o| {
            let mut value = vec![0; o.value_len()];
            o.emit_value(&mut value);
            (o.kind(), value)
        })
        .collect();
    match flat.as_slice() {
        [(TCA_OPTIONS, nest)] => NlasIterator::new(nest.as_slice())
            .filter_map(Result::ok)
            .map(|nla| (nla.kind(), nla.value().to_vec()))
            .collect(),
        _ => flat,
    }
}

fn ne_u32(b: &[u8]) -> u32 {
    u32::from_ne_bytes([b[0], b[1], b[2], b[3]])
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
    use netlink_packet_core::Emitable;

    fn bytes(o: &TcOption) -> (u16, Vec<u8>) {
        let mut v = vec![0; o.value_len()];
        o.emit_value(&mut v);
        (o.kind(), v)
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
        assert_eq!(opts.len(), 2, "no RATE64 below 34 Gbit/s");
        let (kind, parms) = bytes(&opts[0]);
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
        assert_eq!(
            bytes(&opts[1]),
            (TCA_TBF_BURST, 10_000u32.to_ne_bytes().to_vec())
        );
        assert!(t.same_as(&opts));
        assert!(!Tbf::new(Rate::from_kbit(9_000).unwrap(), 1500).same_as(&opts));
        // As a dump returns it: the nest in one TCA_OPTIONS attribute.
        let mut nest = vec![0; opts.as_slice().buffer_len()];
        opts.as_slice().emit(&mut nest);
        let dumped = [TcOption::Other(DefaultNla::new(TCA_OPTIONS, nest))];
        assert!(t.same_as(&dumped));
    }

    #[test]
    fn slow_links_still_pass_full_frames_and_fast_ones_use_rate64() {
        let slow = Tbf::new(Rate::from_kbit(64).unwrap(), 1492);
        assert_eq!(slow.burst, 2 * (1492 + 64));
        let fast = Tbf::new(Rate::from_kbit(40_000_000).unwrap(), 1500);
        let opts = fast.options();
        assert_eq!(bytes(&opts[2]).0, TCA_TBF_RATE64);
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
