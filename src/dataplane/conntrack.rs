//! Conntrack by mark over ctnetlink: delete the flows of one uplink, count flows per uplink.
//!
//! netlink-packet-netfilter 0.4 has no CTA_MARK_MASK, and without the mask some kernels
//! flush the whole table; the two messages rail needs are small, so they are built here by
//! hand: `nlmsghdr` + `nfgenmsg` + big-endian `CTA_MARK` and `CTA_MARK_MASK` attributes.

use std::collections::BTreeMap;

use netlink_sys::{
    protocols::NETLINK_NETFILTER, AsyncSocket, AsyncSocketExt, SmolSocket, SocketAddr,
};

use super::kernel::Error;

const NFNL_SUBSYS_CTNETLINK: u16 = 1;
const IPCTNL_MSG_CT_GET: u16 = 1;
const IPCTNL_MSG_CT_DELETE: u16 = 2;
const CTA_MARK: u16 = 8;
const CTA_MARK_MASK: u16 = 21;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const NLM_F_REQUEST: u16 = 1;
const NLM_F_ACK: u16 = 4;
const NLM_F_DUMP: u16 = 0x300;
const NLA_TYPE_MASK: u16 = 0x3fff;

/// A ctnetlink request selecting flows by `mark & mask`, every address family.
fn request(kind: u16, flags: u16, seq: u32, mark: u32, mask: u32) -> Vec<u8> {
    let mut msg = Vec::with_capacity(36);
    msg.extend_from_slice(&36u32.to_ne_bytes());
    msg.extend_from_slice(&((NFNL_SUBSYS_CTNETLINK << 8) | kind).to_ne_bytes());
    msg.extend_from_slice(&(NLM_F_REQUEST | flags).to_ne_bytes());
    msg.extend_from_slice(&seq.to_ne_bytes());
    msg.extend_from_slice(&0u32.to_ne_bytes());
    // nfgenmsg: AF_UNSPEC, NFNETLINK_V0, res_id 0.
    msg.extend_from_slice(&[0, 0, 0, 0]);
    for (kind, value) in [(CTA_MARK, mark), (CTA_MARK_MASK, mask)] {
        msg.extend_from_slice(&8u16.to_ne_bytes());
        msg.extend_from_slice(&kind.to_ne_bytes());
        msg.extend_from_slice(&value.to_be_bytes());
    }
    msg
}

/// One netlink message of an answer.
#[derive(Debug, PartialEq, Eq)]
enum Answer {
    Done,
    /// 0 is an acknowledgement, otherwise a negative errno.
    Status(i32),
    /// A flow and its ct mark.
    Flow(Option<u32>),
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_ne_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_ne_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// Split a datagram into messages; a truncated tail is ignored.
fn parse(datagram: &[u8]) -> Vec<Answer> {
    let mut out = Vec::new();
    let mut at = 0;
    while let (Some(len), Some(kind)) = (u32_at(datagram, at), u16_at(datagram, at + 4)) {
        let len = len as usize;
        let Some(body) = datagram.get(at + 16..at + len) else {
            break;
        };
        out.push(match kind {
            NLMSG_DONE => Answer::Done,
            NLMSG_ERROR => Answer::Status(u32_at(body, 0).map_or(-libc::EIO, |c| c as i32)),
            _ => {
                let mut mark = None;
                let mut a = 4; // after nfgenmsg
                while let (Some(alen), Some(akind)) = (u16_at(body, a), u16_at(body, a + 2)) {
                    let alen = usize::from(alen);
                    if alen < 4 {
                        break;
                    }
                    if akind & NLA_TYPE_MASK == CTA_MARK && alen == 8 {
                        mark = body
                            .get(a + 4..a + 8)
                            .map(|v| u32::from_be_bytes(v.try_into().expect("4 bytes")));
                    }
                    a += (alen + 3) & !3;
                }
                Answer::Flow(mark)
            }
        });
        if len < 16 {
            break;
        }
        at += (len + 3) & !3;
    }
    out
}

/// A ctnetlink socket.
pub struct Conntrack {
    socket: SmolSocket,
    seq: u32,
}

impl Conntrack {
    pub fn open() -> Result<Conntrack, Error> {
        let err = |e: std::io::Error| Error(format!("opening conntrack netlink socket: {e}"));
        let mut socket = SmolSocket::new(NETLINK_NETFILTER).map_err(err)?;
        socket.socket_mut().bind_auto().map_err(err)?;
        socket
            .socket_mut()
            .connect(&SocketAddr::new(0, 0))
            .map_err(err)?;
        Ok(Conntrack { socket, seq: 0 })
    }

    async fn exchange(
        &mut self,
        kind: u16,
        flags: u16,
        mark: u32,
        mask: u32,
    ) -> std::io::Result<Vec<Answer>> {
        self.seq = self.seq.wrapping_add(1);
        self.socket
            .send(&request(kind, flags, self.seq, mark, mask))
            .await?;
        let mut answers = Vec::new();
        loop {
            let (datagram, _) = self.socket.recv_from_full().await?;
            for a in parse(&datagram) {
                match a {
                    Answer::Done => return Ok(answers),
                    Answer::Status(0) if flags & NLM_F_DUMP == 0 => return Ok(answers),
                    Answer::Status(0) => {}
                    Answer::Status(e) => return Err(std::io::Error::from_raw_os_error(-e)),
                    flow => answers.push(flow),
                }
            }
        }
    }

    /// Delete every flow whose `ct mark & mask == mark`, and nothing else.
    pub async fn delete_mark(&mut self, mark: u32, mask: u32) -> Result<(), Error> {
        match self
            .exchange(IPCTNL_MSG_CT_DELETE, NLM_F_ACK, mark, mask)
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(()),
            Err(e) => Err(Error(format!(
                "deleting conntrack flows with mark {mark:#010x}/{mask:#010x}: {e}"
            ))),
        }
    }

    /// How many flows carry each value of `ct mark & mask` (flows without rail bits left out).
    pub async fn count_by_mark(&mut self, mask: u32) -> Result<BTreeMap<u32, usize>, Error> {
        let flows = self
            .exchange(IPCTNL_MSG_CT_GET, NLM_F_DUMP, 0, 0)
            .await
            .map_err(|e| Error(format!("dumping conntrack: {e}")))?;
        let mut counts = BTreeMap::new();
        for f in flows {
            if let Answer::Flow(Some(mark)) = f {
                if mark & mask != 0 {
                    *counts.entry(mark & mask).or_insert(0) += 1;
                }
            }
        }
        Ok(counts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delete_request_carries_mark_and_mask_big_endian() {
        let m = request(IPCTNL_MSG_CT_DELETE, NLM_F_ACK, 7, 0x0100_0000, 0x3f00_0000);
        assert_eq!(m.len(), 36);
        assert_eq!(u16_at(&m, 4), Some(0x0102));
        assert_eq!(&m[24..28], &[0x01, 0, 0, 0]);
        assert_eq!(u16_at(&m, 30), Some(CTA_MARK_MASK));
        assert_eq!(&m[32..36], &[0x3f, 0, 0, 0]);
    }

    #[test]
    fn answers_are_split_and_marks_read() {
        // A flow with a nested tuple attribute then CTA_MARK, an error, then DONE.
        let mut d = Vec::new();
        let mut flow = vec![2, 0, 0, 0];
        flow.extend_from_slice(&8u16.to_ne_bytes());
        flow.extend_from_slice(&(1u16 | 0x8000).to_ne_bytes());
        flow.extend_from_slice(&[0; 4]);
        flow.extend_from_slice(&8u16.to_ne_bytes());
        flow.extend_from_slice(&CTA_MARK.to_ne_bytes());
        flow.extend_from_slice(&0x0200_0001u32.to_be_bytes());
        for (kind, body) in [
            (0x0100u16, flow),
            (NLMSG_ERROR, (-2i32).to_ne_bytes().to_vec()),
            (NLMSG_DONE, vec![0; 4]),
        ] {
            d.extend_from_slice(&(16 + body.len() as u32).to_ne_bytes());
            d.extend_from_slice(&kind.to_ne_bytes());
            d.extend_from_slice(&[0; 10]);
            d.extend_from_slice(&body);
        }
        assert_eq!(
            parse(&d),
            vec![
                Answer::Flow(Some(0x0200_0001)),
                Answer::Status(-2),
                Answer::Done
            ]
        );
    }
}
