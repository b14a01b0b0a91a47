//! The probe sockets (the imperative shell of health checking): ICMP echo over a raw
//! socket, TCP connect, a DNS query and ARP to the first hop, each forced out its uplink by
//! SO_BINDTODEVICE, the uplink's source address and its SO_MARK, whatever the routing says.
//! Non-blocking throughout: the engine polls them from the daemon's single executor.
//!
//! The ICMP and ARP sockets are not registered with the reactor: a reply does not wake the
//! daemon. The engine asks which of them are readable (`ready`, one `poll(2)` for all) at
//! each of its wake-ups and reads them then; the kernel's receive time stamp keeps RTTs
//! and timeouts exact however late that is. Only the per-probe TCP and DNS sockets wake
//! the engine themselves (a connection's progress is known only by asking).

use crate::config::TrackMethod;
use crate::family::{Af, PerAf};
use crate::health::machine::{Input, ProbeRequest};
use crate::health::wire::{arp, dns, icmp};
use async_io::Async;
use socket2::{Domain, Protocol, SockAddr, SockAddrStorage, Socket, Type};
use std::io;
use std::mem::MaybeUninit;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::os::fd::{AsRawFd, RawFd};
use std::task::{Context, Poll};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How probes of one uplink leave the router.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    pub device: String,
    pub ifindex: u32,
    /// The uplink's own address, when known; probes use it as their source.
    pub source: Option<IpAddr>,
    /// The uplink's fwmark: rail's fwmark rule routes the probe via the uplink's table.
    pub mark: u32,
    pub ttl: u8,
    /// ICMP payload bytes.
    pub size: u16,
}

/// What to probe with, beyond the targets: from `config::Interface`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Method {
    pub kind: TrackMethod,
    pub port: u16,
    pub dns_name: String,
}

/// The open sockets of one uplink.
pub enum Prober {
    Icmp {
        /// Per family, a socket when the uplink has targets of it.
        sockets: PerAf<Option<Socket>>,
        /// Payload bytes per echo request.
        size: u16,
    },
    /// TCP and DNS: a socket per probe, dropped when answered or timed out.
    Conn {
        method: Method,
        binding: Binding,
        pending: Vec<Conn>,
    },
    Arp {
        sock: Socket,
        ifindex: u32,
        device: String,
        mac: [u8; 6],
        source: Ipv4Addr,
        /// The first hop's MAC, once it answered.
        peer: arp::Peer,
        /// A reply from another MAC was logged (once per learned MAC).
        warned: bool,
        pending: Vec<Pending>,
    },
}

pub struct Conn {
    req: ProbeRequest,
    dns_id: Option<u16>,
    deadline: Instant,
    sock: Async<Socket>,
}

/// An ARP request waiting for its reply (ARP carries no id: the oldest one to that target
/// is answered).
pub struct Pending {
    req: ProbeRequest,
    deadline: Instant,
}

/// A tracker input and, for replies read off a socket, when the kernel received it.
pub type Received = (Input, Option<SystemTime>);

/// Replies larger than this are not echo replies rail sent.
const RECV_BUF: usize = 2048;
/// Datagrams read by one recvmmsg(2).
const RECV_BATCH: usize = 8;
/// Datagrams read per socket per poll before yielding to the rest of the executor.
const RECV_BURST: usize = 64;

impl Prober {
    pub fn open(method: &Method, binding: &Binding, targets: &[IpAddr]) -> io::Result<Prober> {
        match method.kind {
            TrackMethod::Ping => {
                let socket = |af: Af| {
                    let wanted = targets.iter().any(|t| af.holds(t));
                    wanted.then(|| icmp_socket(af, binding)).transpose()
                };
                let mut sockets = PerAf::default();
                for af in Af::BOTH {
                    sockets[af] = socket(af)?;
                }
                Ok(Prober::Icmp {
                    sockets,
                    size: binding.size,
                })
            }
            TrackMethod::Tcp | TrackMethod::Dns => Ok(Prober::Conn {
                method: method.clone(),
                binding: binding.clone(),
                pending: Vec::new(),
            }),
            TrackMethod::Arping => {
                let source = match binding.source {
                    Some(IpAddr::V4(a)) => a,
                    _ => return Err(io::Error::other("arping needs the uplink's IPv4 address")),
                };
                let proto = (libc::ETH_P_ARP as u16).to_be();
                let sock = Socket::new(
                    Domain::PACKET,
                    Type::DGRAM,
                    Some(Protocol::from(i32::from(proto))),
                )?;
                sock.set_nonblocking(true)?;
                sock.bind(&link_addr(binding.ifindex, [0; 6]))?;
                stamp_arrivals(&sock)?;
                let mac = device_mac(&sock, &binding.device)?;
                Ok(Prober::Arp {
                    sock,
                    ifindex: binding.ifindex,
                    device: binding.device.clone(),
                    mac,
                    source,
                    peer: arp::Peer::default(),
                    warned: false,
                    pending: Vec::new(),
                })
            }
        }
    }

    /// Send one probe. An error means it is lost (the caller tells the tracker).
    pub fn send(&mut self, req: ProbeRequest, now: Instant, timeout: Duration) -> io::Result<()> {
        let deadline = now + timeout;
        match self {
            Prober::Icmp { sockets, size } => {
                let af = Af::of(&req.target);
                let sock = sockets[af]
                    .as_ref()
                    .ok_or_else(|| io::Error::other("no socket for this family"))?;
                let packet = icmp::echo_request(af, req.ident, req.seq, *size);
                let to = SockAddr::from(SocketAddr::new(req.target, 0));
                sock.send_to(&packet, &to).map(drop)
            }
            Prober::Conn {
                method,
                binding,
                pending,
            } => {
                pending.retain(|c| c.deadline > now);
                let conn = open_conn(method, binding, req, deadline)?;
                pending.push(conn);
                Ok(())
            }
            Prober::Arp {
                sock,
                ifindex,
                mac,
                source,
                pending,
                ..
            } => {
                let IpAddr::V4(target) = req.target else {
                    return Err(io::Error::other("arping probes IPv4 targets only"));
                };
                pending.retain(|p| p.deadline > now);
                let packet = arp::request(*mac, *source, target);
                sock.send_to(&packet, &link_addr(*ifindex, [0xff; 6]))?;
                pending.push(Pending { req, deadline });
                Ok(())
            }
        }
    }

    /// The carrier came back: an ARP probe learns the first hop's MAC afresh (the router
    /// behind the cable may be a new one).
    pub fn carrier_back(&mut self) {
        if let Prober::Arp { peer, warned, .. } = self {
            peer.forget();
            *warned = false;
        }
    }

    /// The sockets the engine polls for readability (see the module's doc): it passes
    /// those that are to `poll_recv`.
    pub fn polled(&self, out: &mut Vec<RawFd>) {
        match self {
            Prober::Icmp { sockets, .. } => out.extend(
                sockets
                    .iter()
                    .filter_map(|(_, s)| s.as_ref())
                    .map(|s| s.as_raw_fd()),
            ),
            Prober::Arp { sock, .. } => out.push(sock.as_raw_fd()),
            Prober::Conn { .. } => {}
        }
    }

    /// Collect what arrived, as tracker inputs with the kernel's receive time when it has
    /// one: from the polled sockets in `readable`, and from TCP and DNS sockets, which
    /// register for wake-ups when nothing more can be read. Unmatched datagrams are
    /// dropped here or by the tracker.
    pub fn poll_recv(&mut self, cx: &mut Context<'_>, readable: &[RawFd], out: &mut Vec<Received>) {
        let ready = |s: &Socket| readable.contains(&s.as_raw_fd());
        match self {
            Prober::Icmp { sockets, .. } => {
                for (af, s) in sockets.iter() {
                    let Some(s) = s.as_ref().filter(|s| ready(s)) else {
                        continue;
                    };
                    read_polled(s, cx, |buf, from, at| {
                        let parsed = match (af, from.as_socket()) {
                            (Af::Inet, _) => icmp::parse_v4(buf),
                            (Af::Inet6, Some(SocketAddr::V6(a))) => icmp::parse_v6(*a.ip(), buf),
                            (Af::Inet6, _) => None,
                        };
                        out.extend(parsed.map(|r| (reply(r), at)));
                    });
                }
            }
            Prober::Conn { pending, .. } => {
                let now = Instant::now();
                pending.retain(|c| {
                    if c.deadline <= now {
                        return false;
                    }
                    match poll_conn(c, cx) {
                        Poll::Pending => true,
                        Poll::Ready(result) => {
                            out.push((
                                match result {
                                    Ok(()) => Input::Reply {
                                        from: c.req.target,
                                        ident: c.req.ident,
                                        seq: c.req.seq,
                                    },
                                    Err(e) => Input::SendFailed {
                                        seq: c.req.seq,
                                        error: e.to_string(),
                                    },
                                },
                                None,
                            ));
                            false
                        }
                    }
                });
            }
            Prober::Arp {
                sock,
                device,
                mac,
                source,
                peer,
                warned,
                pending,
                ..
            } if ready(sock) => read_polled(sock, cx, |buf, _, at| {
                let Some((sender, from)) = arp::reply_to(buf, *mac, *source) else {
                    return;
                };
                if let Err(known) = peer.accept(from) {
                    if !std::mem::replace(warned, true) {
                        log::warn!(
                                "{device}: {sender} answers ARP from {}, not {} as when the device came up: not counted (a replaced router is accepted once the carrier comes back)",
                                arp::mac_text(from),
                                arp::mac_text(known)
                            );
                    }
                    return;
                }
                if let Some(i) = pending
                    .iter()
                    .position(|p| p.req.target == IpAddr::V4(sender))
                {
                    let p = pending.remove(i);
                    let input = Input::Reply {
                        from: p.req.target,
                        ident: p.req.ident,
                        seq: p.req.seq,
                    };
                    out.push((input, at));
                }
            }),
            Prober::Arp { .. } => {}
        }
    }
}

/// Which of `fds` have something to read (or an error to report), by one `poll(2)` that
/// does not wait; `scratch` is reused between calls.
pub fn ready(fds: &[RawFd], scratch: &mut Vec<libc::pollfd>, out: &mut Vec<RawFd>) {
    out.clear();
    scratch.clear();
    scratch.extend(fds.iter().map(|&fd| libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    }));
    if scratch.is_empty() {
        return;
    }
    // SAFETY: `scratch` holds `len` initialised pollfd entries the kernel may update.
    let n = unsafe { libc::poll(scratch.as_mut_ptr(), scratch.len() as libc::nfds_t, 0) };
    if n < 0 {
        // EINTR or ENOMEM: read every socket (a read that finds nothing costs one EAGAIN).
        out.extend_from_slice(fds);
        return;
    }
    out.extend(scratch.iter().filter(|p| p.revents != 0).map(|p| p.fd));
}

fn reply(r: icmp::EchoReply) -> Input {
    Input::Reply {
        from: r.source,
        ident: r.ident,
        seq: r.seq,
    }
}

/// A socket bound to the uplink: its device, its mark and (when known) its source address.
fn bound_socket(domain: Domain, ty: Type, proto: Protocol, b: &Binding) -> io::Result<Socket> {
    let s = Socket::new(domain, ty, Some(proto))?;
    s.set_nonblocking(true)?;
    s.bind_device(Some(b.device.as_bytes()))
        .map_err(|e| io::Error::new(e.kind(), format!("bind to device {}: {e}", b.device)))?;
    s.set_mark(b.mark)?;
    if let Some(src) = b.source.filter(|a| a.is_ipv6() == (domain == Domain::IPV6)) {
        s.bind(&SocketAddr::new(src, 0).into())
            .map_err(|e| io::Error::new(e.kind(), format!("bind to {src}: {e}")))?;
    }
    if domain == Domain::IPV6 {
        s.set_unicast_hops_v6(u32::from(b.ttl))?;
    } else {
        s.set_ttl_v4(u32::from(b.ttl))?;
    }
    Ok(s)
}

fn icmp_socket(af: Af, b: &Binding) -> io::Result<Socket> {
    let (domain, proto) = match af {
        Af::Inet => (Domain::IPV4, Protocol::ICMPV4),
        Af::Inet6 => (Domain::IPV6, Protocol::ICMPV6),
    };
    let s = bound_socket(domain, Type::RAW, proto, b)?;
    // The raw socket sees every ICMP message of the device (neighbour discovery, router
    // advertisements, anyone's pings): let only echo replies in, so nothing else is
    // queued, read and parsed. A set bit blocks its type.
    if af == Af::Inet6 {
        let mut filter = [u32::MAX; 8];
        filter[usize::from(icmp::ECHO_REPLY_V6 >> 5)] &= !(1 << (icmp::ECHO_REPLY_V6 & 31));
        set_opt(&s, libc::IPPROTO_ICMPV6, 1 /* ICMP6_FILTER */, &filter)?;
    } else {
        let filter: u32 = !(1 << icmp::ECHO_REPLY_V4);
        set_opt(&s, libc::SOL_RAW, 1 /* ICMP_FILTER */, &filter)?;
    }
    stamp_arrivals(&s)?;
    Ok(s)
}

fn set_opt<T: Copy>(s: &Socket, level: i32, name: i32, value: &T) -> io::Result<()> {
    // SAFETY: a valid descriptor and an option value of the size passed.
    let rc = unsafe {
        libc::setsockopt(
            s.as_raw_fd(),
            level,
            name,
            (value as *const T).cast(),
            std::mem::size_of::<T>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

fn open_conn(m: &Method, b: &Binding, req: ProbeRequest, deadline: Instant) -> io::Result<Conn> {
    let domain = Domain::for_address(SocketAddr::new(req.target, 0));
    let (port, ty, proto) = match m.kind {
        TrackMethod::Tcp => (m.port, Type::STREAM, Protocol::TCP),
        _ => (53, Type::DGRAM, Protocol::UDP),
    };
    let s = bound_socket(domain, ty, proto, b)?;
    let to = SockAddr::from(SocketAddr::new(req.target, port));
    let mut dns_id = None;
    match s.connect(&to) {
        Ok(()) => {}
        Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {}
        Err(e) => return Err(e),
    }
    if m.kind == TrackMethod::Dns {
        // The id mixes the uplink's ident in so one uplink's answers never match another's.
        let id = req.seq.rotate_left(5) ^ req.ident;
        let q = dns::query(id, &m.dns_name)
            .ok_or_else(|| io::Error::other(format!("bad track_dns_name {:?}", m.dns_name)))?;
        s.send(&q)?;
        dns_id = Some(id);
    }
    Ok(Conn {
        req,
        dns_id,
        deadline,
        sock: Async::new(s)?,
    })
}

/// Ready(Ok) when the target answered: a TCP handshake completed (or was refused by the
/// target itself: the path works), or the resolver's response arrived.
fn poll_conn(c: &Conn, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
    let sock = c.sock.get_ref();
    match c.dns_id {
        None => {
            if c.sock.poll_writable(cx).is_pending() {
                return Poll::Pending;
            }
            match sock.take_error() {
                Ok(None) if sock.peer_addr().is_ok() => Poll::Ready(Ok(())),
                Ok(None) => Poll::Pending,
                Ok(Some(e)) | Err(e) if e.raw_os_error() == Some(libc::ECONNREFUSED) => {
                    Poll::Ready(Ok(()))
                }
                Ok(Some(e)) | Err(e) => Poll::Ready(Err(e)),
            }
        }
        Some(id) => {
            let mut answered = Poll::Pending;
            drain(&c.sock, cx, |buf, _, _| {
                if dns::is_response(buf, id) {
                    answered = Poll::Ready(Ok(()));
                }
            });
            answered
        }
    }
}

/// Ask the kernel to time-stamp arrivals: an RTT measured when the executor gets round to
/// reading would count a busy router's delay as the line's, and a reply read after its
/// timeout as lost.
fn stamp_arrivals(s: &Socket) -> io::Result<()> {
    set_opt(s, libc::SOL_SOCKET, libc::SO_TIMESTAMPNS, &1u32)
}

/// Read up to `RECV_BURST` datagrams from `sock`; true when it has nothing more. A batch
/// that comes back short proves the queue empty, so the usual case (a reply or two) costs
/// one system call, not a read and an EAGAIN.
fn read_burst(sock: &Socket, f: &mut impl FnMut(&[u8], &SockAddr, Option<SystemTime>)) -> bool {
    // Not zeroed: 16 KiB cleared per read was a tenth of the daemon's own (user) time.
    let mut bufs = [const { MaybeUninit::<[u8; RECV_BUF]>::uninit() }; RECV_BATCH];
    for _ in 0..RECV_BURST / RECV_BATCH {
        match recv_stamped(sock, &mut bufs, f) {
            Ok(n) if n < RECV_BATCH => return true,
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return true,
            Err(_) => {} // e.g. an ICMP error queued on a UDP socket: read on
        }
    }
    false
}

/// Read what waits on a socket the engine found readable. More than a burst: come back
/// after others had their turn.
fn read_polled(
    sock: &Socket,
    cx: &mut Context<'_>,
    mut f: impl FnMut(&[u8], &SockAddr, Option<SystemTime>),
) {
    if !read_burst(sock, &mut f) {
        cx.waker().wake_by_ref();
    }
}

/// Read every datagram waiting on a registered socket once it reported readable, then
/// register for the next: no read is attempted (no system call) while it has not.
fn drain(
    sock: &Async<Socket>,
    cx: &mut Context<'_>,
    mut f: impl FnMut(&[u8], &SockAddr, Option<SystemTime>),
) {
    while sock.poll_readable(cx).is_ready() {
        if !read_burst(sock.get_ref(), &mut f) {
            cx.waker().wake_by_ref();
            return;
        }
    }
}

/// recvmmsg: up to `RECV_BATCH` datagrams into `bufs`, each passed to `f` with its source
/// and the SCM_TIMESTAMPNS receive time when the socket has one; returns how many.
fn recv_stamped(
    sock: &Socket,
    bufs: &mut [MaybeUninit<[u8; RECV_BUF]>; RECV_BATCH],
    f: &mut impl FnMut(&[u8], &SockAddr, Option<SystemTime>),
) -> io::Result<usize> {
    let mut names: [SockAddrStorage; RECV_BATCH] =
        std::array::from_fn(|_| SockAddrStorage::zeroed());
    let mut control = [[0u64; 8]; RECV_BATCH]; // aligned room for one timespec message each
    let mut iovs: [libc::iovec; RECV_BATCH] = std::array::from_fn(|i| libc::iovec {
        iov_base: bufs[i].as_mut_ptr().cast(),
        iov_len: RECV_BUF,
    });
    // SAFETY: mmsghdr is plain data; all zeros is valid, the pointers are set below.
    let mut msgs: [libc::mmsghdr; RECV_BATCH] = unsafe { std::mem::zeroed() };
    for (i, m) in msgs.iter_mut().enumerate() {
        let h = &mut m.msg_hdr;
        h.msg_name = (&mut names[i] as *mut SockAddrStorage).cast();
        h.msg_namelen = names[i].size_of();
        h.msg_iov = &mut iovs[i];
        h.msg_iovlen = 1;
        h.msg_control = control[i].as_mut_ptr().cast();
        h.msg_controllen = std::mem::size_of_val(&control[i]) as _;
    }
    // SAFETY: every pointer in msgs refers to a live buffer of the length given.
    let n = unsafe {
        libc::recvmmsg(
            sock.as_raw_fd(),
            msgs.as_mut_ptr(),
            RECV_BATCH as _,
            libc::MSG_DONTWAIT as _,
            std::ptr::null_mut(),
        )
    };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    let n = n as usize;
    for ((m, name), buf) in msgs.iter().zip(names).zip(bufs.iter()).take(n) {
        let stamp = stamp_of(&m.msg_hdr);
        // SAFETY: the kernel wrote a socket address of msg_namelen bytes into the storage.
        let from = unsafe { SockAddr::new(name, m.msg_hdr.msg_namelen) };
        let len = (m.msg_len as usize).min(RECV_BUF);
        // SAFETY: the kernel wrote the datagram's msg_len bytes (at most the buffer's
        // length: MSG_TRUNC is not asked for) at the start of this buffer.
        let datagram = unsafe { std::slice::from_raw_parts(buf.as_ptr().cast::<u8>(), len) };
        f(datagram, &from, stamp);
    }
    Ok(n)
}

/// The SCM_TIMESTAMPNS receive time in a message the kernel filled, if it carries one.
fn stamp_of(msg: &libc::msghdr) -> Option<SystemTime> {
    let mut stamp = None;
    // SAFETY: the CMSG macros walk the control buffer the kernel filled, within
    // msg_controllen; the timespec is read unaligned.
    unsafe {
        let mut c = libc::CMSG_FIRSTHDR(msg);
        while !c.is_null() {
            if (*c).cmsg_level == libc::SOL_SOCKET && (*c).cmsg_type == libc::SCM_TIMESTAMPNS {
                let ts: libc::timespec = std::ptr::read_unaligned(libc::CMSG_DATA(c).cast());
                stamp = u64::try_from(ts.tv_sec)
                    .ok()
                    .map(|s| UNIX_EPOCH + Duration::new(s, ts.tv_nsec as u32));
            }
            c = libc::CMSG_NXTHDR(msg, c);
        }
    }
    stamp
}

/// A link-layer address on `ifindex` (ARP protocol), for bind and send_to.
fn link_addr(ifindex: u32, mac: [u8; 6]) -> SockAddr {
    let mut storage = SockAddrStorage::zeroed();
    // SAFETY: sockaddr_ll is a sockaddr type of this platform and fits the storage.
    let ll = unsafe { storage.view_as::<libc::sockaddr_ll>() };
    ll.sll_family = libc::AF_PACKET as u16;
    ll.sll_protocol = (libc::ETH_P_ARP as u16).to_be();
    ll.sll_ifindex = ifindex as i32;
    ll.sll_halen = 6;
    ll.sll_addr[..6].copy_from_slice(&mac);
    // SAFETY: the storage holds an initialised sockaddr_ll of this length.
    unsafe { SockAddr::new(storage, std::mem::size_of::<libc::sockaddr_ll>() as _) }
}

/// The device's MAC address (SIOCGIFHWADDR: sysfs would show the mount's namespace, not
/// the socket's).
fn device_mac(sock: &Socket, device: &str) -> io::Result<[u8; 6]> {
    // SAFETY: ifreq is plain data; all zeros is a valid value.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    let name = device.as_bytes();
    if name.len() >= req.ifr_name.len() {
        return Err(io::Error::other(format!("device name {device:?} too long")));
    }
    for (d, s) in req.ifr_name.iter_mut().zip(name) {
        *d = *s as libc::c_char;
    }
    // SAFETY: a valid descriptor and an ifreq the kernel fills in.
    // The request is c_ulong on glibc but c_int on musl (every OpenWrt target).
    if unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCGIFHWADDR as _, &mut req) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: SIOCGIFHWADDR filled the hardware address member of the union.
    let hw = unsafe { req.ifr_ifru.ifru_hwaddr.sa_data };
    let mut mac = [0u8; 6];
    for (m, b) in mac.iter_mut().zip(hw) {
        *m = b as u8;
    }
    Ok(mac)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// ICMPv6 on loopback: rail's own echo request arrives there too, and is the kind of
    /// message (with neighbour discovery and router advertisements on a real uplink) that
    /// the socket must not queue. Only the echo reply may be read.
    #[test]
    fn the_icmpv6_socket_reads_echo_replies_only() {
        // SAFETY: geteuid(2) has no failure mode.
        if unsafe { libc::geteuid() } != 0 || std::env::var_os("RAIL_UNDER_QEMU").is_some() {
            eprintln!(
                "SKIPPED: needs root and the kernel's own socket ABI for a raw ICMPv6 socket"
            );
            return;
        }
        let b = Binding {
            device: "lo".into(),
            ifindex: 1,
            source: Some(IpAddr::V6(std::net::Ipv6Addr::LOCALHOST)),
            mark: 0,
            ttl: 64,
            size: 8,
        };
        let s = icmp_socket(Af::Inet6, &b).unwrap();
        let ident = std::process::id() as u16;
        let to = SockAddr::from(SocketAddr::new(std::net::Ipv6Addr::LOCALHOST.into(), 0));
        s.send_to(&icmp::echo_request(Af::Inet6, ident, 7, 8), &to)
            .unwrap();
        let mut types = Vec::new();
        let start = Instant::now();
        while start.elapsed() < Duration::from_millis(300) {
            read_burst(&s, &mut |buf: &[u8], _: &SockAddr, _| {
                types.extend(buf.first().copied());
            });
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(types.contains(&icmp::ECHO_REPLY_V6), "{types:?}");
        assert!(types.iter().all(|t| *t == icmp::ECHO_REPLY_V6), "{types:?}");
    }
}
