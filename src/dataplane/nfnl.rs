//! nfnetlink messages, built by hand: netlink-packet-netfilter 0.4 has no `CTA_MARK_MASK`
//! and no nftables set messages, and each is one small message: `nlmsghdr` + `nfgenmsg` +
//! flat attributes, sent on a `netlink::Socket`.

use crate::netlink::wire::{attrs_after, Builder};

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

    #[test]
    fn data_attributes_follow_nfgenmsg() {
        let mut b = builder(0x0100, 0, 2, 0);
        b.attr(1 | 0x8000, &[7; 4]).attr(8, &[1, 2, 3, 4]);
        let bytes = b.finish();
        let got: Vec<_> = attributes(&bytes[16..]).collect();
        assert_eq!(got, vec![(1, &[7u8; 4][..]), (8, &[1, 2, 3, 4][..])]);
    }
}
