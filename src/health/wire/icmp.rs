//! ICMP echo: the request rail sends and the parser for what a raw socket receives.

use super::{be16, checksum};
use crate::family::Af;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

pub const ECHO_REPLY_V4: u8 = 0;
const ECHO_REQUEST_V4: u8 = 8;
const ECHO_REQUEST_V6: u8 = 128;
pub const ECHO_REPLY_V6: u8 = 129;
const PROTO_ICMP: u8 = 1;

/// An echo reply as read off the wire: who sent it, and the id and sequence it carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EchoReply {
    pub source: IpAddr,
    pub ident: u16,
    pub seq: u16,
}

/// An echo request (ICMP header and `size` bytes of payload) for an IPv4 raw socket; the
/// kernel adds the IP header. For IPv6 the kernel fills in the checksum itself.
pub fn echo_request(af: Af, ident: u16, seq: u16, size: u16) -> Vec<u8> {
    let mut p = vec![0u8; 8 + usize::from(size)];
    p[0] = match af {
        Af::Inet => ECHO_REQUEST_V4,
        Af::Inet6 => ECHO_REQUEST_V6,
    };
    p[4..6].copy_from_slice(&ident.to_be_bytes());
    p[6..8].copy_from_slice(&seq.to_be_bytes());
    for (i, b) in p[8..].iter_mut().enumerate() {
        *b = i as u8;
    }
    if af == Af::Inet {
        let sum = checksum(&p);
        p[2..4].copy_from_slice(&sum.to_be_bytes());
    }
    p
}

/// An IPv4 packet as an `IPPROTO_ICMP` raw socket delivers it (IP header included): an
/// echo reply with a valid checksum, or None. Honours the header length (options) and the
/// total length, and refuses fragments.
pub fn parse_v4(packet: &[u8]) -> Option<EchoReply> {
    let first = *packet.first()?;
    let ihl = usize::from(first & 0x0f) * 4;
    if first >> 4 != 4 || ihl < 20 || packet.len() < ihl {
        return None;
    }
    let total = usize::from(be16(packet, 2)?).min(packet.len());
    let frag = be16(packet, 6)?;
    if total < ihl || packet[9] != PROTO_ICMP || frag & 0x3fff != 0 {
        return None;
    }
    let icmp = &packet[ihl..total];
    if icmp.len() < 8 || icmp[0] != ECHO_REPLY_V4 || icmp[1] != 0 || checksum(icmp) != 0 {
        return None;
    }
    let src = Ipv4Addr::new(packet[12], packet[13], packet[14], packet[15]);
    Some(EchoReply {
        source: IpAddr::V4(src),
        ident: be16(icmp, 4)?,
        seq: be16(icmp, 6)?,
    })
}

/// An ICMPv6 message as an IPv6 raw socket delivers it (no IP header; the source comes
/// from recvfrom; the kernel has verified the checksum).
pub fn parse_v6(source: Ipv6Addr, icmp: &[u8]) -> Option<EchoReply> {
    if icmp.len() < 8 || icmp[0] != ECHO_REPLY_V6 || icmp[1] != 0 {
        return None;
    }
    Some(EchoReply {
        source: IpAddr::V6(source),
        ident: be16(icmp, 4)?,
        seq: be16(icmp, 6)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// An IPv4 header (with `options` bytes of options) around `icmp`.
    fn ipv4(src: [u8; 4], options: usize, icmp: &[u8]) -> Vec<u8> {
        let ihl = 20 + options;
        let mut p = vec![0u8; ihl];
        p[0] = 0x40 | (ihl / 4) as u8;
        p[2..4].copy_from_slice(&((ihl + icmp.len()) as u16).to_be_bytes());
        p[8] = 64;
        p[9] = PROTO_ICMP;
        p[12..16].copy_from_slice(&src);
        p.extend_from_slice(icmp);
        p
    }

    fn reply(ident: u16, seq: u16) -> Vec<u8> {
        let mut p = echo_request(Af::Inet, ident, seq, 16);
        p[0] = ECHO_REPLY_V4;
        p[2..4].copy_from_slice(&[0, 0]);
        let sum = checksum(&p);
        p[2..4].copy_from_slice(&sum.to_be_bytes());
        p
    }

    #[test]
    fn request_has_a_valid_checksum() {
        let p = echo_request(Af::Inet, 0x1234, 7, 56);
        assert_eq!(p.len(), 64);
        assert_eq!(checksum(&p), 0);
        assert_eq!((p[0], &p[4..8]), (8, &[0x12, 0x34, 0, 7][..]));
    }

    #[test]
    fn parses_a_reply_with_and_without_ip_options() {
        for options in [0, 4, 40] {
            let got = parse_v4(&ipv4([198, 18, 0, 1], options, &reply(0xbeef, 9))).unwrap();
            assert_eq!(got.source, "198.18.0.1".parse::<IpAddr>().unwrap());
            assert_eq!((got.ident, got.seq), (0xbeef, 9));
        }
    }

    #[test]
    fn refuses_requests_bad_checksums_fragments_and_other_protocols() {
        let mut req = echo_request(Af::Inet, 1, 1, 8);
        assert_eq!(parse_v4(&ipv4([1, 2, 3, 4], 0, &req)), None, "a request");
        req = reply(1, 1);
        req[9] ^= 0xff;
        assert_eq!(parse_v4(&ipv4([1, 2, 3, 4], 0, &req)), None, "checksum");
        let mut frag = ipv4([1, 2, 3, 4], 0, &reply(1, 1));
        frag[6] = 0x20; // more fragments
        assert_eq!(parse_v4(&frag), None);
        let mut udp = ipv4([1, 2, 3, 4], 0, &reply(1, 1));
        udp[9] = 17;
        assert_eq!(parse_v4(&udp), None);
        let mut short_total = ipv4([1, 2, 3, 4], 0, &reply(1, 1));
        short_total[2..4].copy_from_slice(&24u16.to_be_bytes());
        assert_eq!(
            parse_v4(&short_total),
            None,
            "total length cuts the ICMP header"
        );
    }

    #[test]
    fn parses_v6_replies_only() {
        let src: Ipv6Addr = "2001:db8::1".parse().unwrap();
        let mut p = echo_request(Af::Inet6, 5, 6, 0);
        assert_eq!(parse_v6(src, &p), None);
        p[0] = ECHO_REPLY_V6;
        assert_eq!(parse_v6(src, &p).map(|r| (r.ident, r.seq)), Some((5, 6)));
        assert_eq!(parse_v6(src, &p[..7]), None);
    }

    proptest! {
        #[test]
        fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..128)) {
            let _ = parse_v4(&bytes);
            let _ = parse_v6(Ipv6Addr::LOCALHOST, &bytes);
        }

        #[test]
        fn truncated_replies_never_panic(cut in 0usize..64, options in 0usize..10) {
            let p = ipv4([9, 9, 9, 9], options * 4, &reply(3, 4));
            let _ = parse_v4(&p[..cut.min(p.len())]);
        }
    }
}
