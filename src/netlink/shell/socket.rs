//! One netlink socket on the smol reactor: send a request (or an nfnetlink batch), read its
//! answers until the acknowledgement or the end of the dump; or, subscribed to multicast
//! groups, read events. Requests go one at a time, so answers are matched by sequence
//! number only to skip the late answers of a request whose future was dropped.

use std::io;

use async_io::Async;
use netlink_sys::protocols::{NETLINK_NETFILTER, NETLINK_ROUTE};
use netlink_sys::SocketAddr;

use crate::netlink::wire::{messages, Message, NLM_F_ACK, NLM_F_DUMP};

/// One data message of an answer: its type and payload (family header and attributes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub kind: u16,
    pub payload: Vec<u8>,
}

pub struct Socket {
    socket: Async<netlink_sys::Socket>,
    seq: u32,
    /// The last `receive` found nothing more to read: the next one waits until the reactor
    /// reports the socket readable, so an event socket polled at every wake-up of the
    /// daemon costs no system call while nothing arrives.
    drained: bool,
}

impl Socket {
    fn open(protocol: isize) -> io::Result<Socket> {
        let mut socket = netlink_sys::Socket::new(protocol)?;
        socket.bind_auto()?;
        socket.connect(&SocketAddr::new(0, 0))?;
        Ok(Socket {
            socket: Async::new(socket)?,
            seq: 0,
            drained: false,
        })
    }

    /// An rtnetlink socket with strict checking, which makes the kernel filter dumps by
    /// table, protocol and device, so rail reads only what it asked for.
    pub fn route() -> io::Result<Socket> {
        let s = Socket::open(NETLINK_ROUTE)?;
        s.socket.get_ref().set_netlink_get_strict_chk(true)?;
        Ok(s)
    }

    /// An rtnetlink socket subscribed to `groups` (RTNLGRP_* numbers), with room for a
    /// burst of events (a PPPoE reconnect, a flood of routes) before the kernel drops some.
    pub fn route_events(groups: &[u32]) -> io::Result<Socket> {
        Socket::events(NETLINK_ROUTE, groups)
    }

    /// A netfilter netlink socket subscribed to `groups` (NFNLGRP_* numbers).
    pub fn netfilter_events(groups: &[u32]) -> io::Result<Socket> {
        Socket::events(NETLINK_NETFILTER, groups)
    }

    fn events(protocol: isize, groups: &[u32]) -> io::Result<Socket> {
        let s = Socket::open(protocol)?;
        for g in groups {
            s.socket.get_ref().add_membership(*g)?;
        }
        // Best effort: the default buffer still works, it only overflows sooner.
        let _ = s.socket.get_ref().set_rx_buf_sz(1usize << 20);
        Ok(s)
    }

    pub fn netfilter() -> io::Result<Socket> {
        Socket::open(NETLINK_NETFILTER)
    }

    /// Send `request` (one message, or several such as an nfnetlink batch; their sequence
    /// numbers are set here) and collect the data messages of the answer: until the
    /// acknowledgement, or the end of the dump when a message asks for one. A negative
    /// status from the kernel is returned as its errno.
    pub async fn exchange(&mut self, request: Vec<u8>) -> io::Result<Vec<Reply>> {
        let mut replies = Vec::new();
        self.exchange_with(request, |m| {
            replies.push(Reply {
                kind: m.kind,
                payload: m.payload.to_vec(),
            })
        })
        .await?;
        Ok(replies)
    }

    /// `exchange`, handing each data message to `data` as it arrives instead of keeping
    /// it: a conntrack dump of a busy router is tens of thousands of flows, and counting
    /// them must not cost memory in proportion.
    pub async fn exchange_with(
        &mut self,
        mut request: Vec<u8>,
        mut data: impl FnMut(Message<'_>),
    ) -> io::Result<()> {
        let first = self.seq.wrapping_add(1);
        let (mut dump, mut acked) = (false, false);
        let mut at = 0;
        let mut count = 0u32;
        loop {
            let next = messages(&request[at..]).next();
            let Some((flags, len)) = next.map(|m| (m.flags, 16 + m.payload.len())) else {
                break;
            };
            dump |= flags & NLM_F_DUMP == NLM_F_DUMP;
            acked |= flags & NLM_F_ACK != 0;
            let seq = first.wrapping_add(count);
            request[at + 8..at + 12].copy_from_slice(&seq.to_ne_bytes());
            at += len.next_multiple_of(4);
            count += 1;
        }
        if !dump && !acked {
            // The kernel would answer a successful request with nothing at all.
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "netlink request asks for neither an acknowledgement nor a dump",
            ));
        }
        self.seq = first.wrapping_add(count);
        self.socket.write_with(|s| s.send(&request, 0)).await?;
        loop {
            let (datagram, _) = self.socket.read_with(|s| s.recv_from_full()).await?;
            for m in messages(&datagram) {
                if m.seq.wrapping_sub(first) >= count {
                    continue; // an answer to an earlier, abandoned request
                }
                match m.status() {
                    Some(0) => return Ok(()),
                    Some(e) => return Err(io::Error::from_raw_os_error(-e)),
                    None => data(m),
                }
            }
        }
    }

    /// The next datagram (of events, on a subscribed socket).
    pub async fn receive(&mut self) -> io::Result<Vec<u8>> {
        loop {
            if self.drained {
                // Not `readable()`: its waker goes when its future is dropped (the daemon
                // drops it after every input), and registering again is a system call.
                let socket = &self.socket;
                std::future::poll_fn(|cx| socket.poll_readable(cx)).await?;
            }
            match self.socket.get_ref().recv_from_full() {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.drained = true,
                received => {
                    self.drained = false;
                    return Ok(received?.0);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::netlink::route::{Link, RTM_GETLINK, RTM_NEWLINK};
    use crate::netlink::wire::Builder;

    #[test]
    fn a_get_is_answered_and_a_missing_device_is_its_errno() {
        let mut s = Socket::route().expect("rtnetlink socket");
        let lo = smol::block_on(s.exchange(Link::get(0, Some("lo")).finish())).unwrap();
        let names: Vec<_> = lo
            .iter()
            .filter(|r| r.kind == RTM_NEWLINK)
            .map(|r| Link::decode(&r.payload).and_then(|l| l.name))
            .collect();
        assert_eq!(names, vec![Some("lo".to_string())]);
        let none = smol::block_on(s.exchange(Link::get(0, Some("rail-no-such0")).finish()));
        assert_eq!(none.unwrap_err().raw_os_error(), Some(libc::ENODEV));
        // Without NLM_F_ACK a successful get ends with no message to wait for.
        let silent = Builder::new(RTM_GETLINK, 0, &[0; 16]).finish();
        let err = smol::block_on(s.exchange(silent)).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    }
}
