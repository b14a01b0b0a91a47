//! An ARP probe of the first hop: a request over Ethernet and recognising the reply.
//!
//! ARP has no authentication: anything on the segment can answer for the first hop. A
//! reply counts only when it is a reply (opcode 2) addressed to this uplink (target IP
//! and MAC ours), and from the MAC the first hop answered from first (`Peer`), so a stray
//! or spoofed reply from another host does not keep a dead first hop "up". The first MAC
//! is learned again when the device comes back or its carrier returns (a replaced router
//! is plugged in). docs/security.md says what this does not stop.

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

/// The sender (IPv4 and MAC) of an ARP reply to `mac`/`source` (this uplink), or None
/// for anything else: requests, and replies to other hosts.
pub fn reply_to(p: &[u8], mac: [u8; 6], source: Ipv4Addr) -> Option<(Ipv4Addr, [u8; 6])> {
    if p.len() < 28
        || p[..8] != [0, 1, 8, 0, 6, 4, 0, 2]
        || p[18..24] != mac
        || p[24..28] != source.octets()
    {
        return None;
    }
    let sender = Ipv4Addr::new(p[14], p[15], p[16], p[17]);
    let mut from = [0u8; 6];
    from.copy_from_slice(&p[8..14]);
    Some((sender, from))
}

/// The first hop's MAC, learned from its first reply.
#[derive(Debug, Default)]
pub struct Peer(Option<[u8; 6]>);

impl Peer {
    /// Whether a reply from `mac` counts; the first one sets the MAC the rest must come
    /// from. Err: the MAC learned, which this reply did not come from.
    pub fn accept(&mut self, mac: [u8; 6]) -> Result<(), [u8; 6]> {
        match self.0 {
            Some(known) if known != mac => Err(known),
            _ => {
                self.0 = Some(mac);
                Ok(())
            }
        }
    }

    /// Learn the MAC afresh from the next reply (the carrier came back).
    pub fn forget(&mut self) {
        self.0 = None;
    }
}

/// `aa:bb:cc:dd:ee:ff`, for the log.
pub fn mac_text(mac: [u8; 6]) -> String {
    mac.map(|b| format!("{b:02x}")).join(":")
}

#[cfg(test)]
mod tests {
    use super::*;

    const US: [u8; 6] = [2, 0, 0, 0, 0, 1];
    const GW_MAC: [u8; 6] = [2, 0, 0, 0, 0, 0xfe];

    fn reply(gw: Ipv4Addr, from: [u8; 6], to: [u8; 6], to_ip: Ipv4Addr) -> [u8; 28] {
        let mut p = [0u8; 28];
        p[..8].copy_from_slice(&[0, 1, 8, 0, 6, 4, 0, 2]);
        p[8..14].copy_from_slice(&from);
        p[14..18].copy_from_slice(&gw.octets());
        p[18..24].copy_from_slice(&to);
        p[24..28].copy_from_slice(&to_ip.octets());
        p
    }

    #[test]
    fn only_a_reply_addressed_to_this_uplink_counts() {
        let (me, gw) = (Ipv4Addr::new(192, 0, 2, 2), Ipv4Addr::new(192, 0, 2, 1));
        let ours = reply(gw, GW_MAC, US, me);
        assert_eq!(reply_to(&ours, US, me), Some((gw, GW_MAC)));
        assert_eq!(reply_to(&ours[..27], US, me), None);
        let ask = request(US, me, gw);
        assert_eq!(reply_to(&ask, US, me), None, "a request is no reply");
        let other_ip = reply(gw, GW_MAC, US, Ipv4Addr::new(192, 0, 2, 3));
        assert_eq!(reply_to(&other_ip, US, me), None, "to another address");
        let other_mac = reply(gw, GW_MAC, [2, 0, 0, 0, 0, 9], me);
        assert_eq!(reply_to(&other_mac, US, me), None, "to another host");
        let mut gratuitous = reply(gw, GW_MAC, [0; 6], gw);
        assert_eq!(reply_to(&gratuitous, US, me), None, "gratuitous");
        gratuitous[7] = 1;
        assert_eq!(reply_to(&gratuitous, US, me), None);
    }

    #[test]
    fn replies_count_only_from_the_mac_that_answered_first_until_forgotten() {
        let mut peer = Peer::default();
        assert_eq!(peer.accept(GW_MAC), Ok(()));
        assert_eq!(peer.accept(GW_MAC), Ok(()));
        let spoofer = [2, 0, 0, 0, 0, 0x66];
        assert_eq!(peer.accept(spoofer), Err(GW_MAC));
        // A new router behind a replugged cable.
        peer.forget();
        assert_eq!(peer.accept(spoofer), Ok(()));
        assert_eq!(peer.accept(GW_MAC), Err(spoofer));
        assert_eq!(mac_text(GW_MAC), "02:00:00:00:00:fe");
    }
}
