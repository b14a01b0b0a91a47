//! A DNS probe: an A query for one name, and recognising the resolver's answer to it.

use super::be16;

/// A recursive A query for `name` with transaction id `id`; None if the name cannot be
/// encoded (empty or over-long labels, over 253 characters).
pub fn query(id: u16, name: &str) -> Option<Vec<u8>> {
    let name = name.trim_end_matches('.');
    if name.is_empty() || name.len() > 253 {
        return None;
    }
    let mut q = Vec::with_capacity(18 + name.len());
    q.extend_from_slice(&id.to_be_bytes());
    q.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]); // RD; one question
    for label in name.split('.') {
        if label.is_empty() || label.len() > 63 {
            return None;
        }
        q.push(label.len() as u8);
        q.extend_from_slice(label.as_bytes());
    }
    q.extend_from_slice(&[0, 0, 1, 0, 1]); // root, type A, class IN
    Some(q)
}

/// Whether `msg` is a response to query `id`. Any response code counts: NXDOMAIN and
/// SERVFAIL still prove the resolver was reached through the uplink.
pub fn is_response(msg: &[u8], id: u16) -> bool {
    msg.len() >= 12 && be16(msg, 0) == Some(id) && msg[2] & 0x80 != 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_a_query() {
        let q = query(0xabcd, "example.org.").unwrap();
        assert_eq!(&q[..4], &[0xab, 0xcd, 0x01, 0x00]);
        assert_eq!(&q[12..], b"\x07example\x03org\x00\x00\x01\x00\x01");
        assert_eq!(query(1, ""), None);
        assert_eq!(query(1, "a..b"), None);
        assert_eq!(query(1, &"x".repeat(64)), None);
    }

    #[test]
    fn matches_responses_by_id() {
        let mut r = query(7, "example.org").unwrap();
        assert!(!is_response(&r, 7), "a query is not a response");
        r[2] |= 0x80;
        assert!(is_response(&r, 7));
        assert!(!is_response(&r, 8));
        assert!(!is_response(&r[..11], 7));
    }
}
