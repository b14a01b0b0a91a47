//! nfnetlink messages, built by hand: netlink-packet-netfilter 0.4 has no `CTA_MARK_MASK`
//! and no nftables set messages, and each is one small message: `nlmsghdr` + `nfgenmsg` +
//! flat attributes, sent on a `netlink::Socket`. Also the two dumps passive evidence reads
//! (`get_counters`, `get_flows`) and what it takes from their answers (`counter`, `flow`).

use std::net::IpAddr;

use crate::family::Af;
use crate::netlink::wire::{attrs, attrs_after, Builder, Message as Received};

pub const NFNL_SUBSYS_CTNETLINK: u8 = 1;
pub const NFNL_SUBSYS_NFTABLES: u8 = 10;
const NFNL_MSG_BATCH_BEGIN: u16 = 0x10;
const NFNL_MSG_BATCH_END: u16 = 0x11;
pub use crate::netlink::wire::{NLM_F_ACK, NLM_F_DUMP};
/// `struct nfgenmsg`: family, version, res_id (big-endian).
const NFGENMSG_LEN: usize = 4;

/// One netfilter netlink message to send.
pub struct Message<'a> {
    pub subsystem: u8,
    pub kind: u8,
    pub flags: u16,
    /// `nfgenmsg.nfgen_family` (AF_UNSPEC, NFPROTO_INET...).
    pub family: u8,
    /// Attributes: type and raw (already byte-ordered) value.
    pub attrs: &'a [(u16, &'a [u8])],
}

fn builder(msg_type: u16, flags: u16, family: u8, res_id: u16) -> Builder {
    let [hi, lo] = res_id.to_be_bytes();
    Builder::new(msg_type, flags, &[family, 0, hi, lo])
}

/// The bytes of one message (nftables changes go in a batch: see `batch`).
pub fn encode(m: &Message) -> Vec<u8> {
    let msg_type = (u16::from(m.subsystem) << 8) | u16::from(m.kind);
    let mut b = builder(msg_type, m.flags, m.family, 0);
    for (kind, value) in m.attrs {
        b.attr(*kind, value);
    }
    b.finish()
}

/// One message wrapped in the batch begin/end that nf_tables requires for changes.
pub fn batch(m: &Message) -> Vec<u8> {
    let res_id = u16::from(m.subsystem);
    let mut out = builder(NFNL_MSG_BATCH_BEGIN, 0, 0, res_id).finish();
    out.extend_from_slice(&encode(m));
    out.extend_from_slice(&builder(NFNL_MSG_BATCH_END, 0, 0, res_id).finish());
    out
}

/// The top-level attributes (type without flags, value) of a data message's payload.
pub fn attributes(payload: &[u8]) -> impl Iterator<Item = (u16, &[u8])> {
    attrs_after(payload, NFGENMSG_LEN)
}

const NFT_MSG_NEWOBJ: u8 = 18;
const NFT_MSG_GETOBJ: u8 = 19;
const NFTA_OBJ_TABLE: u16 = 1;
const NFTA_OBJ_NAME: u16 = 2;
const NFTA_OBJ_TYPE: u16 = 3;
const NFTA_OBJ_DATA: u16 = 4;
const NFT_OBJECT_COUNTER: u32 = 1;
const NFTA_COUNTER_PACKETS: u16 = 2;
const NFPROTO_INET: u8 = 1;

/// The dump of every named counter of `table inet rail` (the kernel filters by table and
/// object type).
pub fn get_counters() -> Vec<u8> {
    let kind = NFT_OBJECT_COUNTER.to_be_bytes();
    encode(&Message {
        subsystem: NFNL_SUBSYS_NFTABLES,
        kind: NFT_MSG_GETOBJ,
        flags: NLM_F_DUMP,
        family: NFPROTO_INET,
        attrs: &[(NFTA_OBJ_TABLE, b"rail\0"), (NFTA_OBJ_TYPE, &kind)],
    })
}

/// A counter of that dump: its name and packets.
pub fn counter<'a>(m: &Received<'a>) -> Option<(&'a str, u64)> {
    if m.kind != u16::from(NFNL_SUBSYS_NFTABLES) << 8 | u16::from(NFT_MSG_NEWOBJ) {
        return None;
    }
    let (mut name, mut packets) = (None, None);
    for (kind, value) in attributes(m.payload) {
        match kind {
            NFTA_OBJ_NAME => name = std::str::from_utf8(value.strip_suffix(b"\0")?).ok(),
            NFTA_OBJ_DATA => packets = attrs(value).find(|a| a.0 == NFTA_COUNTER_PACKETS),
            _ => {}
        }
    }
    Some((name?, u64::from_be_bytes(packets?.1.try_into().ok()?)))
}

pub const IPCTNL_MSG_CT_GET: u8 = 1;
pub const CTA_MARK: u16 = 8;
pub const CTA_MARK_MASK: u16 = 21;
const CTA_TUPLE_ORIG: u16 = 1;
const CTA_STATUS: u16 = 3;
const CTA_TIMEOUT: u16 = 7;
const CTA_TUPLE_IP: u16 = 1;
const CTA_TUPLE_PROTO: u16 = 2;
const CTA_IP_V4_DST: u16 = 2;
const CTA_IP_V6_DST: u16 = 4;
const CTA_PROTO_NUM: u16 = 1;
const IPS_SEEN_REPLY: u32 = 1 << 1;

/// A ctnetlink request for the flows with `ct mark & mask == mark` (big-endian, with the
/// mask: without it some kernels act on the whole table) of one family, or every family
/// (`None`).
pub fn by_mark(kind: u8, flags: u16, af: Option<Af>, (mark, mask): (u32, u32)) -> Vec<u8> {
    let (mark, mask) = (mark.to_be_bytes(), mask.to_be_bytes());
    encode(&Message {
        subsystem: NFNL_SUBSYS_CTNETLINK,
        kind,
        flags,
        family: af.map_or(0, super::rtmsg::nl_family),
        attrs: &[(CTA_MARK, &mark), (CTA_MARK_MASK, &mask)],
    })
}

/// The dump of one family's flows on one uplink's mark.
pub fn get_flows(af: Af, mark: u32, mask: u32) -> Vec<u8> {
    by_mark(IPCTNL_MSG_CT_GET, NLM_F_DUMP, Some(af), (mark, mask))
}

/// What passive evidence needs of a flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flow {
    /// Where its first packet went.
    pub dst: IpAddr,
    pub tcp: bool,
    /// A packet came back.
    pub replied: bool,
    /// Seconds left before conntrack forgets it.
    pub timeout: u32,
}

/// A flow of a ctnetlink dump.
pub fn flow(payload: &[u8]) -> Option<Flow> {
    let be32 = |v: &[u8]| Some(u32::from_be_bytes(v.try_into().ok()?));
    let (mut dst, mut tcp, mut status, mut timeout) = (None, false, None, None);
    for (kind, value) in attributes(payload) {
        match kind {
            CTA_TUPLE_ORIG => {
                for (kind, value) in attrs(value) {
                    match kind {
                        CTA_TUPLE_IP => {
                            dst = attrs(value).find_map(|(k, v)| match k {
                                CTA_IP_V4_DST => <[u8; 4]>::try_from(v).ok().map(IpAddr::from),
                                CTA_IP_V6_DST => <[u8; 16]>::try_from(v).ok().map(IpAddr::from),
                                _ => None,
                            })
                        }
                        CTA_TUPLE_PROTO => {
                            tcp = attrs(value).any(|(k, v)| k == CTA_PROTO_NUM && v == [6]);
                        }
                        _ => {}
                    }
                }
            }
            CTA_STATUS => status = be32(value),
            CTA_TIMEOUT => timeout = be32(value),
            _ => {}
        }
    }
    Some(Flow {
        dst: dst?,
        tcp,
        replied: status? & IPS_SEEN_REPLY != 0,
        timeout: timeout?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::netlink::wire::{messages, u16_at, u32_at};

    #[test]
    fn messages_are_padded_and_batched() {
        let name = b"rail\0";
        let m = Message {
            subsystem: NFNL_SUBSYS_NFTABLES,
            kind: 14,
            flags: NLM_F_ACK,
            family: 1,
            attrs: &[(1, name)],
        };
        let one = encode(&m);
        // 16 header + 4 nfgenmsg + 4 attr header + 5 value padded to 8.
        assert_eq!(one.len(), 32);
        assert_eq!(u32_at(&one, 0), Some(32));
        assert_eq!(u16_at(&one, 4), Some(0x0a0e));
        assert_eq!(&one[16..20], &[1, 0, 0, 0], "family, version, res_id 0");
        let b = batch(&m);
        assert_eq!(b.len(), 20 + 32 + 20);
        let kinds: Vec<u16> = messages(&b).map(|m| m.kind).collect();
        assert_eq!(
            kinds,
            vec![NFNL_MSG_BATCH_BEGIN, 0x0a0e, NFNL_MSG_BATCH_END]
        );
        assert_eq!(
            &b[18..20],
            &[0, 10],
            "batch res_id names the subsystem, big-endian"
        );
    }

    /// Answers the kernel (6.x, x86_64) gave: src/netlink/fixtures/README.
    #[cfg(target_endian = "little")]
    #[test]
    fn counters_and_flows_read_from_kernel_answers() {
        let message = |bytes: &'static [u8]| messages(bytes).next().expect("one message");
        let m = message(include_bytes!("../netlink/fixtures/nft_counter.bin"));
        assert_eq!(counter(&m), Some(("opened_isp1", 1)));
        let flow_of = |bytes: &'static [u8]| flow(message(bytes).payload);
        assert_eq!(
            flow_of(include_bytes!("../netlink/fixtures/ct4_syn_sent.bin")),
            Some(Flow {
                dst: "10.99.0.8".parse().unwrap(),
                tcp: true,
                replied: false,
                timeout: 110
            })
        );
        let answered = flow_of(include_bytes!("../netlink/fixtures/ct4_established.bin"));
        assert_eq!(
            answered.map(|f| (f.dst, f.replied)),
            Some(("127.0.0.1".parse().unwrap(), true))
        );
        assert_eq!(
            flow_of(include_bytes!("../netlink/fixtures/ct6_syn_sent.bin"))
                .map(|f| (f.dst, f.tcp, f.replied)),
            Some(("2001:db8:99::7".parse().unwrap(), true, false))
        );
        // A counter dump's answer is not a flow, nor the other way round.
        assert_eq!(flow(m.payload), None);
        let f = message(include_bytes!("../netlink/fixtures/ct4_syn_sent.bin"));
        assert_eq!(counter(&f), None);
    }

    #[test]
    fn the_dumps_ask_for_rails_counters_and_one_marks_flows() {
        let req = get_counters();
        let m = messages(&req).next().unwrap();
        assert_eq!((m.kind, m.flags), (0x0a13, NLM_F_DUMP | 1));
        let got: Vec<_> = attributes(m.payload).collect();
        assert_eq!(got, vec![(1, &b"rail\0"[..]), (3, &[0, 0, 0, 1][..])]);
        let req = get_flows(Af::Inet6, 0x0100_0000, 0x3f00_0000);
        let m = messages(&req).next().unwrap();
        assert_eq!((m.kind, m.payload[0]), (0x0101, 10));
        let got: Vec<_> = attributes(m.payload).collect();
        assert_eq!(
            got,
            vec![(8, &[1, 0, 0, 0][..]), (21, &[0x3f, 0, 0, 0][..])]
        );
    }

    #[test]
    fn data_attributes_follow_nfgenmsg() {
        let mut b = builder(0x0100, 0, 2, 0);
        b.attr(1 | 0x8000, &[7; 4]).attr(8, &[1, 2, 3, 4]);
        let bytes = b.finish();
        let got: Vec<_> = attributes(&bytes[16..]).collect();
        assert_eq!(got, vec![(1, &[7u8; 4][..]), (8, &[1, 2, 3, 4][..])]);
    }
}
