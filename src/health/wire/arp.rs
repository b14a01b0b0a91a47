//! An ARP probe of the first hop: a request over Ethernet and recognising the reply.

use std::net::Ipv4Addr;

/// An ARP request (the 28-byte payload; the packet socket adds the Ethernet header).
pub fn request(mac: [u8; 6], source: Ipv4Addr, target: Ipv4Addr) -> [u8; 28] {
    let mut p = [0u8; 28];
    p[..8].copy_from_slice(&[0, 1, 8, 0, 6, 4, 0, 1]); // Ethernet, IPv4, request
    p[8..14].copy_from_slice(&mac);
    p[14..18].copy_from_slice(&source.octets());
    p[24..28].copy_from_slice(&target.octets());
    p
}

/// The sender address of an ARP reply, or None for anything else.
pub fn reply_sender(p: &[u8]) -> Option<Ipv4Addr> {
    if p.len() < 28 || p[..8] != [0, 1, 8, 0, 6, 4, 0, 2] {
        return None;
    }
    Some(Ipv4Addr::new(p[14], p[15], p[16], p[17]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_and_reply() {
        let gw = Ipv4Addr::new(192, 0, 2, 1);
        let mut p = request([2, 0, 0, 0, 0, 1], Ipv4Addr::new(192, 0, 2, 2), gw);
        assert_eq!(reply_sender(&p), None, "a request is no reply");
        p[7] = 2;
        p[14..18].copy_from_slice(&gw.octets());
        assert_eq!(reply_sender(&p), Some(gw));
        assert_eq!(reply_sender(&p[..27]), None);
    }
}
