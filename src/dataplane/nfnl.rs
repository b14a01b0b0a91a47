//! A minimal nfnetlink client, built by hand: the two crates' gaps (no `CTA_MARK_MASK` in
//! netlink-packet-netfilter 0.4, no nftables set messages) are each one small message, so a
//! message is `nlmsghdr` + `nfgenmsg` + flat attributes, and an answer is split into
//! acknowledgements, errors and the attributes of each data message.

use netlink_sys::{
    protocols::NETLINK_NETFILTER, AsyncSocket, AsyncSocketExt, SmolSocket, SocketAddr,
};

pub const NFNL_SUBSYS_CTNETLINK: u8 = 1;
pub const NFNL_SUBSYS_NFTABLES: u8 = 10;
const NFNL_MSG_BATCH_BEGIN: u16 = 0x10;
const NFNL_MSG_BATCH_END: u16 = 0x11;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const NLM_F_REQUEST: u16 = 1;
pub const NLM_F_ACK: u16 = 4;
pub const NLM_F_DUMP: u16 = 0x300;
const NLA_TYPE_MASK: u16 = 0x3fff;

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

fn emit(
    out: &mut Vec<u8>,
    msg_type: u16,
    flags: u16,
    seq: u32,
    family: u8,
    res_id: u16,
    attrs: &[(u16, &[u8])],
) {
    let start = out.len();
    out.extend_from_slice(&[0; 4]); // length, filled in below
    out.extend_from_slice(&msg_type.to_ne_bytes());
    out.extend_from_slice(&(NLM_F_REQUEST | flags).to_ne_bytes());
    out.extend_from_slice(&seq.to_ne_bytes());
    out.extend_from_slice(&0u32.to_ne_bytes());
    out.extend_from_slice(&[family, 0]);
    out.extend_from_slice(&res_id.to_be_bytes());
    for (kind, value) in attrs {
        out.extend_from_slice(&(4 + value.len() as u16).to_ne_bytes());
        out.extend_from_slice(&kind.to_ne_bytes());
        out.extend_from_slice(value);
        out.resize(out.len().next_multiple_of(4), 0);
    }
    let len = (out.len() - start) as u32;
    out[start..start + 4].copy_from_slice(&len.to_ne_bytes());
}

/// The bytes of one message (nftables changes go in a batch: see `batch`).
pub fn encode(m: &Message, seq: u32) -> Vec<u8> {
    let mut out = Vec::new();
    let msg_type = (u16::from(m.subsystem) << 8) | u16::from(m.kind);
    emit(&mut out, msg_type, m.flags, seq, m.family, 0, m.attrs);
    out
}

/// One message wrapped in the batch begin/end that nf_tables requires for changes.
pub fn batch(m: &Message, seq: u32) -> Vec<u8> {
    let mut out = Vec::new();
    let res_id = u16::from(m.subsystem);
    emit(&mut out, NFNL_MSG_BATCH_BEGIN, 0, seq, 0, res_id, &[]);
    out.extend_from_slice(&encode(m, seq + 1));
    emit(&mut out, NFNL_MSG_BATCH_END, 0, seq + 2, 0, res_id, &[]);
    out
}

/// One message of an answer, borrowed from the datagram it came in.
#[derive(Debug, PartialEq, Eq)]
pub enum Answer<'a> {
    Done,
    /// 0 is an acknowledgement, otherwise a negative errno.
    Status(i32),
    /// A data message's top-level attributes, still encoded: read them with `attrs`.
    Data(&'a [u8]),
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_ne_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_ne_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// The messages of a datagram; a truncated tail is ignored. Nothing is copied: a
/// conntrack dump of a busy router is tens of thousands of flows, and counting them must
/// not cost memory in proportion.
pub fn parse(datagram: &[u8]) -> impl Iterator<Item = Answer<'_>> {
    let mut at = 0;
    std::iter::from_fn(move || {
        let len = u32_at(datagram, at)? as usize;
        let kind = u16_at(datagram, at + 4)?;
        let body = datagram.get(at + 16..at + len)?;
        // A length under the header's would loop forever; stop after this message.
        at = if len < 16 {
            datagram.len()
        } else {
            at + len.next_multiple_of(4)
        };
        Some(match kind {
            NLMSG_DONE => Answer::Done,
            NLMSG_ERROR => Answer::Status(u32_at(body, 0).map_or(-libc::EIO, |c| c as i32)),
            // After nfgenmsg.
            _ => Answer::Data(body.get(4..).unwrap_or_default()),
        })
    })
}

/// The attributes of a data message: type without flags, value.
pub fn attrs(data: &[u8]) -> impl Iterator<Item = (u16, &[u8])> {
    let mut a = 0;
    std::iter::from_fn(move || {
        let alen = usize::from(u16_at(data, a)?);
        let kind = u16_at(data, a + 2)?;
        let value = data.get(a + 4..a + alen.max(4))?;
        a += alen.max(4).next_multiple_of(4);
        Some((kind & NLA_TYPE_MASK, value))
    })
}

/// A netfilter netlink socket.
pub struct Socket {
    socket: SmolSocket,
    seq: u32,
}

impl Socket {
    pub fn open() -> std::io::Result<Socket> {
        let mut socket = SmolSocket::new(NETLINK_NETFILTER)?;
        socket.socket_mut().bind_auto()?;
        socket.socket_mut().connect(&SocketAddr::new(0, 0))?;
        Ok(Socket { socket, seq: 0 })
    }

    /// Send `m` (in a batch when `batched`) and hand each data message of the answer to
    /// `data` as it arrives, until the acknowledgement (or DONE, for a dump).
    pub async fn exchange(
        &mut self,
        m: &Message<'_>,
        batched: bool,
        mut data: impl FnMut(&[u8]),
    ) -> std::io::Result<()> {
        self.seq = self.seq.wrapping_add(3);
        let bytes = if batched {
            batch(m, self.seq)
        } else {
            encode(m, self.seq)
        };
        self.socket.send(&bytes).await?;
        let dump = m.flags & NLM_F_DUMP == NLM_F_DUMP;
        loop {
            let (datagram, _) = self.socket.recv_from_full().await?;
            for a in parse(&datagram) {
                match a {
                    Answer::Done => return Ok(()),
                    Answer::Status(0) if !dump => return Ok(()),
                    Answer::Status(0) => {}
                    Answer::Status(e) => return Err(std::io::Error::from_raw_os_error(-e)),
                    Answer::Data(attrs) => data(attrs),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let one = encode(&m, 9);
        // 16 header + 4 nfgenmsg + 4 attr header + 5 value padded to 8.
        assert_eq!(one.len(), 32);
        assert_eq!(u32_at(&one, 0), Some(32));
        assert_eq!(u16_at(&one, 4), Some(0x0a0e));
        assert_eq!(u16_at(&one, 20), Some(9));
        let b = batch(&m, 9);
        assert_eq!(b.len(), 20 + 32 + 20);
        assert_eq!(u16_at(&b, 4), Some(NFNL_MSG_BATCH_BEGIN));
        assert_eq!(&b[18..20], &[0, 10], "batch res_id names the subsystem");
        assert_eq!(u16_at(&b, 52 + 4), Some(NFNL_MSG_BATCH_END));
    }

    #[test]
    fn answers_are_split_into_attributes() {
        let mut d = Vec::new();
        let mut body = vec![2, 0, 0, 0];
        body.extend_from_slice(&8u16.to_ne_bytes());
        body.extend_from_slice(&(1u16 | 0x8000).to_ne_bytes());
        body.extend_from_slice(&[7; 4]);
        for (kind, body) in [
            (0x0100u16, body),
            (NLMSG_ERROR, (-2i32).to_ne_bytes().to_vec()),
            (NLMSG_DONE, vec![0; 4]),
        ] {
            d.extend_from_slice(&(16 + body.len() as u32).to_ne_bytes());
            d.extend_from_slice(&kind.to_ne_bytes());
            d.extend_from_slice(&[0; 10]);
            d.extend_from_slice(&body);
        }
        let answers: Vec<Answer> = parse(&d).collect();
        let Answer::Data(data) = answers[0] else {
            panic!("{answers:?}")
        };
        assert_eq!(attrs(data).collect::<Vec<_>>(), [(1, &[7u8; 4][..])]);
        assert_eq!(answers[1..], [Answer::Status(-2), Answer::Done]);
    }
}
