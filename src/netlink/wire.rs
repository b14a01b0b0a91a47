//! The netlink framing shared by every protocol rail speaks: the 16-byte `nlmsghdr`, a
//! family-specific fixed header, then type-length-value attributes padded to 4 bytes.
//!
//! Host byte order throughout (`to_ne_bytes`): the kernel reads netlink headers and integer
//! attributes in the CPU's order. Values the kernel defines in network order (addresses,
//! nfnetlink's `res_id`, ctnetlink marks) are passed in as ready-made bytes.

pub const NLMSG_ERROR: u16 = 2;
pub const NLMSG_DONE: u16 = 3;
pub const NLMSG_OVERRUN: u16 = 4;

pub const NLM_F_REQUEST: u16 = 0x1;
pub const NLM_F_ACK: u16 = 0x4;
pub const NLM_F_REPLACE: u16 = 0x100;
pub const NLM_F_DUMP: u16 = 0x300;
pub const NLM_F_CREATE: u16 = 0x400;

/// Marks an attribute whose value is itself a list of attributes.
pub const NLA_F_NESTED: u16 = 0x8000;
/// An attribute type without its nested/byte-order flags.
const NLA_TYPE_MASK: u16 = 0x3fff;
const HEADER_LEN: usize = 16;

/// Appends one attribute (header, value, padding) to `out`.
pub fn put_attr(out: &mut Vec<u8>, kind: u16, value: &[u8]) {
    let at = begin(out, &kind.to_ne_bytes());
    out.extend_from_slice(value);
    end(out, at);
}

/// Starts a length-prefixed item (an attribute, a nest, a multipath `rtnexthop`): a u16
/// length to fill in later, then `rest` of its header. Returns where it starts.
fn begin(out: &mut Vec<u8>, rest: &[u8]) -> usize {
    let at = out.len();
    out.extend_from_slice(&[0, 0]);
    out.extend_from_slice(rest);
    at
}

/// Writes the length of the item started at `at`, then pads to 4 bytes.
fn end(out: &mut Vec<u8>, at: usize) {
    let len = u16::try_from(out.len() - at).unwrap_or(u16::MAX);
    out[at..at + 2].copy_from_slice(&len.to_ne_bytes());
    out.resize(out.len().next_multiple_of(4), 0);
}

/// One request being built. The socket fills in the sequence number when it sends it.
#[derive(Debug, Clone)]
pub struct Builder {
    buf: Vec<u8>,
}

impl Builder {
    /// A message of type `kind` with `NLM_F_REQUEST | flags` and the family header `fixed`.
    pub fn new(kind: u16, flags: u16, fixed: &[u8]) -> Builder {
        let mut buf = Vec::with_capacity(64);
        buf.extend_from_slice(&[0; 4]); // length, set by `finish`
        buf.extend_from_slice(&kind.to_ne_bytes());
        buf.extend_from_slice(&(NLM_F_REQUEST | flags).to_ne_bytes());
        buf.extend_from_slice(&[0; 8]); // sequence number and port id
        buf.extend_from_slice(fixed);
        buf.resize(buf.len().next_multiple_of(4), 0);
        Builder { buf }
    }

    pub fn attr(&mut self, kind: u16, value: &[u8]) -> &mut Builder {
        put_attr(&mut self.buf, kind, value);
        self
    }

    pub fn u32(&mut self, kind: u16, value: u32) -> &mut Builder {
        self.attr(kind, &value.to_ne_bytes())
    }

    pub fn u8(&mut self, kind: u16, value: u8) -> &mut Builder {
        self.attr(kind, &[value])
    }

    /// A u32 attribute when there is a value.
    pub fn opt_u32(&mut self, kind: u16, value: Option<u32>) -> &mut Builder {
        self.opt_attr(kind, value.map(u32::to_ne_bytes).as_ref().map(|v| &v[..]))
    }

    pub fn opt_u8(&mut self, kind: u16, value: Option<u8>) -> &mut Builder {
        self.opt_attr(kind, value.as_ref().map(std::slice::from_ref))
    }

    /// An attribute when there is a value.
    pub fn opt_attr(&mut self, kind: u16, value: Option<&[u8]>) -> &mut Builder {
        if let Some(v) = value {
            self.attr(kind, v);
        }
        self
    }

    /// A NUL-terminated string, as the kernel's NLA_STRING and NLA_NUL_STRING both accept.
    pub fn string(&mut self, kind: u16, value: &str) -> &mut Builder {
        let at = begin(&mut self.buf, &kind.to_ne_bytes());
        self.buf.extend_from_slice(value.as_bytes());
        self.buf.push(0);
        end(&mut self.buf, at);
        self
    }

    /// An item whose header starts with its u16 length (an attribute with `head` = its
    /// type, or a multipath `rtnexthop`), holding what `body` adds.
    pub fn sized(&mut self, head: &[u8], body: impl FnOnce(&mut Builder)) -> &mut Builder {
        let at = begin(&mut self.buf, head);
        body(self);
        end(&mut self.buf, at);
        self
    }

    /// The finished message.
    pub fn finish(mut self) -> Vec<u8> {
        let len = self.buf.len() as u32;
        self.buf[..4].copy_from_slice(&len.to_ne_bytes());
        self.buf
    }
}

/// One message of a datagram the kernel sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Message<'a> {
    pub kind: u16,
    pub flags: u16,
    pub seq: u32,
    /// Everything after `nlmsghdr`: the family header and the attributes.
    pub payload: &'a [u8],
}

impl Message<'_> {
    /// For `NLMSG_ERROR` and `NLMSG_DONE`: 0 (an acknowledgement, the end of a dump) or a
    /// negative errno. `None` for every other message.
    pub fn status(&self) -> Option<i32> {
        match self.kind {
            NLMSG_ERROR => Some(i32_at(self.payload, 0).unwrap_or(-libc::EIO)),
            // Kernels before 4.x send DONE without the error field.
            NLMSG_DONE => Some(i32_at(self.payload, 0).unwrap_or(0)),
            _ => None,
        }
    }
}

/// The messages of a datagram, in order; iteration stops at a truncated or malformed one.
pub fn messages(datagram: &[u8]) -> impl Iterator<Item = Message<'_>> {
    let mut at = 0;
    std::iter::from_fn(move || {
        let len = u32_at(datagram, at)? as usize;
        let kind = u16_at(datagram, at + 4)?;
        let flags = u16_at(datagram, at + 6)?;
        let seq = u32_at(datagram, at + 8)?;
        let payload = datagram.get(at + HEADER_LEN..at.checked_add(len)?)?;
        at += len.next_multiple_of(4);
        Some(Message {
            kind,
            flags,
            seq,
            payload,
        })
    })
}

/// The attributes in `bytes` as (type without flags, value); iteration stops at a
/// truncated or malformed one, so a damaged tail costs only itself.
pub fn attrs(bytes: &[u8]) -> impl Iterator<Item = (u16, &[u8])> {
    let mut at = 0;
    std::iter::from_fn(move || {
        let len = usize::from(u16_at(bytes, at)?);
        let kind = u16_at(bytes, at + 2)?;
        let value = bytes.get(at + 4..at.checked_add(len)?)?;
        at += len.next_multiple_of(4);
        Some((kind & NLA_TYPE_MASK, value))
    })
}

/// The attributes after a family header of `fixed` bytes (padded to 4).
pub fn attrs_after(payload: &[u8], fixed: usize) -> impl Iterator<Item = (u16, &[u8])> {
    attrs(payload.get(fixed.next_multiple_of(4)..).unwrap_or_default())
}

pub fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_ne_bytes(
        b.get(at..at.checked_add(2)?)?.try_into().ok()?,
    ))
}

pub fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_ne_bytes(
        b.get(at..at.checked_add(4)?)?.try_into().ok()?,
    ))
}

fn i32_at(b: &[u8], at: usize) -> Option<i32> {
    u32_at(b, at).map(|v| v as i32)
}

/// A u32 attribute's value; `None` unless it is exactly four bytes.
pub fn as_u32(value: &[u8]) -> Option<u32> {
    (value.len() == 4).then(|| u32_at(value, 0)).flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_is_laid_out_in_host_order_and_padded() {
        let mut b = Builder::new(0x1234, NLM_F_ACK, &[7, 0, 0]);
        b.u32(6, 0x0102_0304).string(3, "lo").u8(21, 165);
        let bytes = b.finish();
        let mut want = Vec::new();
        want.extend_from_slice(&44u32.to_ne_bytes());
        want.extend_from_slice(&0x1234u16.to_ne_bytes());
        want.extend_from_slice(&(NLM_F_REQUEST | NLM_F_ACK).to_ne_bytes());
        want.extend_from_slice(&[0; 8]);
        want.extend_from_slice(&[7, 0, 0, 0]); // family header padded to 4
        want.extend_from_slice(&8u16.to_ne_bytes());
        want.extend_from_slice(&6u16.to_ne_bytes());
        want.extend_from_slice(&0x0102_0304u32.to_ne_bytes());
        want.extend_from_slice(&7u16.to_ne_bytes()); // "lo\0": length without padding
        want.extend_from_slice(&3u16.to_ne_bytes());
        want.extend_from_slice(b"lo\0\0");
        want.extend_from_slice(&5u16.to_ne_bytes());
        want.extend_from_slice(&21u16.to_ne_bytes());
        want.extend_from_slice(&[165, 0, 0, 0]);
        assert_eq!(bytes, want);
        if cfg!(target_endian = "big") {
            assert_eq!(&bytes[..4], &[0, 0, 0, 44]);
        } else {
            assert_eq!(&bytes[..4], &[44, 0, 0, 0]);
        }
        let m: Vec<_> = messages(&bytes).collect();
        assert_eq!((m.len(), m[0].kind, m[0].flags), (1, 0x1234, 5));
        let a: Vec<_> = attrs_after(m[0].payload, 3).collect();
        assert_eq!(
            a,
            vec![
                (6, &0x0102_0304u32.to_ne_bytes()[..]),
                (3, &b"lo\0"[..]),
                (21, &[165][..])
            ]
        );
    }

    #[test]
    fn nests_hold_their_padded_contents() {
        let mut b = Builder::new(1, 0, &[]);
        b.sized(&(2 | NLA_F_NESTED).to_ne_bytes(), |n| {
            n.u8(1, 9).u32(2, 3);
        });
        let bytes = b.finish();
        let (kind, nest) = attrs(&bytes[16..]).next().unwrap();
        assert_eq!(
            (kind, nest.len()),
            (2, 16),
            "flag masked, both padded inner attributes"
        );
        let inner: Vec<_> = attrs(nest).map(|(k, v)| (k, v.len())).collect();
        assert_eq!(inner, vec![(1, 1), (2, 4)]);
    }

    #[test]
    fn status_of_acks_errors_and_dump_ends() {
        let datagram: Vec<u8> = [
            (NLMSG_ERROR, (-17i32).to_ne_bytes().to_vec()),
            (NLMSG_ERROR, vec![0; 4]),
            (NLMSG_DONE, (-2i32).to_ne_bytes().to_vec()),
            (NLMSG_DONE, vec![]),
            (24, vec![1, 2, 3, 4]),
        ]
        .into_iter()
        .flat_map(|(kind, body)| {
            let mut m = Builder::new(kind, 0, &body).finish();
            m[6..8].copy_from_slice(&0u16.to_ne_bytes());
            m
        })
        .collect();
        let got: Vec<_> = messages(&datagram).map(|m| m.status()).collect();
        assert_eq!(got, vec![Some(-17), Some(0), Some(-2), Some(0), None]);
    }

    #[test]
    fn truncated_and_malformed_input_stops_without_panicking() {
        let mut b = Builder::new(24, 0, &[0; 12]);
        b.u32(15, 20001).u32(6, 7);
        let whole = b.finish();
        for cut in 0..whole.len() {
            assert_eq!(messages(&whole[..cut]).count(), 0, "cut at {cut}");
        }
        // A message whose attribute claims more than is there keeps the good ones.
        let mut bad = whole.clone();
        let last = bad.len() - 8;
        bad[last..last + 2].copy_from_slice(&200u16.to_ne_bytes());
        let m = messages(&bad).next().unwrap();
        assert_eq!(attrs_after(m.payload, 12).count(), 1);
        // Lengths below the header size end the walk instead of looping on the spot.
        assert_eq!(attrs(&[0; 8]).count(), 0);
        let zero = [0u8; 32];
        assert_eq!(messages(&zero).count(), 0);
        assert_eq!(as_u32(&[1, 2, 3]), None);
    }
}
