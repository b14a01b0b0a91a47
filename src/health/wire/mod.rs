//! Wire formats of the probes, as pure functions over byte slices: building requests and
//! recognising replies. They never panic, whatever the kernel (or an attacker) hands them.

pub mod arp;
pub mod dns;
pub mod icmp;

/// The Internet checksum (RFC 1071) over `data`.
pub fn checksum(data: &[u8]) -> u16 {
    let mut pairs = data.chunks_exact(2);
    let mut sum: u32 = (pairs.by_ref())
        .map(|c| u32::from(u16::from_be_bytes([c[0], c[1]])))
        .sum();
    if let [last] = pairs.remainder() {
        sum += u32::from(*last) << 8;
    }
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]))
}
