//! Reading passive evidence from the kernel: the named counters of `inet rail` (one nftables
//! dump for every uplink) and, only when those say an uplink went silent, its unanswered
//! flows (a ctnetlink dump filtered by its mark and family in the kernel).
//!
//! Synchronous on purpose: a netlink dump waits for nothing outside the kernel (the first
//! part is written while the request is sent, each next one while the previous is read),
//! so each read is a few non-blocking system calls made from the engine's step, without a
//! task or a wake-up of its own. A read that would block is an error, never a wait.
//! A router with tens of thousands of flows on the silent uplink would make the flow dump
//! a long step: it reads at most `FLOW_BUDGET` flows, then drops the dump with its socket
//! (a sample in hash order; an uplink gone silent has its unanswered flows among them).

use std::io;

use netlink_sys::protocols::NETLINK_NETFILTER;
use netlink_sys::{Socket, SocketAddr};

use crate::dataplane::nfnl::{self, Flow};
use crate::family::Af;
use crate::netlink::wire::{messages, Message};

/// Where the kernel says how long an unanswered TCP connection is remembered.
const SYN_SENT_TIMEOUT: &str = "/proc/sys/net/netfilter/nf_conntrack_tcp_timeout_syn_sent";

/// Flows read per look at an uplink's flows: a few milliseconds of one step on a router.
const FLOW_BUDGET: usize = 8192;

pub struct Evidence {
    socket: Socket,
    seq: u32,
    buf: Vec<u8>,
    /// Seconds an unanswered connection's conntrack entry lives (refreshed by each SYN).
    pub syn_sent_secs: u32,
}

impl Evidence {
    pub fn open() -> io::Result<Evidence> {
        let socket = socket()?;
        let syn_sent_secs = std::fs::read_to_string(SYN_SENT_TIMEOUT)
            .ok()
            .and_then(|t| t.trim().parse().ok())
            .unwrap_or(120);
        Ok(Evidence {
            socket,
            seq: 0,
            buf: Vec::with_capacity(32 * 1024),
            syn_sent_secs,
        })
    }

    /// Every counter of rail's table: name and packets.
    pub fn counters(&mut self, into: &mut Vec<(String, u64)>) -> io::Result<()> {
        into.clear();
        self.dump(nfnl::get_counters(), &mut |m| {
            if let Some((name, packets)) = nfnl::counter(&m) {
                into.push((name.to_string(), packets));
            }
            true
        })
    }

    /// Every flow of one family on one mark (at most `FLOW_BUDGET` of them).
    pub fn flows(
        &mut self,
        af: Af,
        (mark, mask): (u32, u32),
        each: &mut dyn FnMut(Flow),
    ) -> io::Result<()> {
        let mut budget = FLOW_BUDGET;
        self.dump(nfnl::get_flows(af, mark, mask), &mut |m| {
            if let Some(f) = nfnl::flow(m.payload) {
                each(f);
            }
            budget -= 1;
            budget > 0
        })
    }

    /// Send a dump request and hand its answers to `data` until the end, or until `data`
    /// says it has enough: the rest of that dump is then left to a socket dropped for it.
    fn dump(
        &mut self,
        mut request: Vec<u8>,
        data: &mut dyn FnMut(Message<'_>) -> bool,
    ) -> io::Result<()> {
        self.seq = self.seq.wrapping_add(1);
        request[8..12].copy_from_slice(&self.seq.to_ne_bytes());
        self.socket.send(&request, 0)?;
        loop {
            self.buf.clear();
            self.socket.recv(&mut self.buf, libc::MSG_DONTWAIT)?;
            for m in messages(&self.buf) {
                if m.seq != self.seq {
                    continue; // the rest of a dump abandoned by an error
                }
                match m.status() {
                    Some(0) => return Ok(()),
                    Some(e) => return Err(io::Error::from_raw_os_error(-e)),
                    None if data(m) => {}
                    None => {
                        self.socket = socket()?;
                        return Ok(());
                    }
                }
            }
        }
    }
}

/// A non-blocking netfilter netlink socket.
fn socket() -> io::Result<Socket> {
    let mut socket = Socket::new(NETLINK_NETFILTER)?;
    socket.bind_auto()?;
    socket.connect(&SocketAddr::new(0, 0))?;
    socket.set_non_blocking(true)?;
    Ok(socket)
}
