//! The ubus message format (openwrt/ubus ubusmsg.h): an 8-byte header
//! {u8 version 0, u8 type, BE u16 seq, BE u32 peer} followed by one blob container whose
//! attributes are the `UBUS_ATTR_*` fields. Pure encode/decode; decoding arbitrary bytes
//! returns an error, never panics.

use crate::blob::{self, BlobMsg, DecodeError, Table};

/// Size of the message header.
pub const HEADER_LEN: usize = 8;
/// ubusd refuses messages whose padded blob exceeds this (UBUS_MAX_MSGLEN in CMakeLists).
pub const MAX_MSG_LEN: usize = 1 << 20;
/// The largest table a DATA reply carries within [`MAX_MSG_LEN`] (the object id and the
/// data attribute's header take the rest).
pub const MAX_DATA_LEN: usize = MAX_MSG_LEN - 16;
/// The object id of ubusd's event object (UBUS_SYSTEM_OBJECT_EVENT).
pub const EVENT_OBJECT: u32 = 1;

/// `enum ubus_msg_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum MsgType {
    Hello = 0,
    Status = 1,
    Data = 2,
    Ping = 3,
    Lookup = 4,
    Invoke = 5,
    AddObject = 6,
    RemoveObject = 7,
    Subscribe = 8,
    Unsubscribe = 9,
    Notify = 10,
    Monitor = 11,
}

impl MsgType {
    pub fn from_u8(v: u8) -> Option<MsgType> {
        use MsgType::*;
        [
            Hello,
            Status,
            Data,
            Ping,
            Lookup,
            Invoke,
            AddObject,
            RemoveObject,
            Subscribe,
            Unsubscribe,
            Notify,
            Monitor,
        ]
        .get(usize::from(v))
        .copied()
    }
}

/// `enum ubus_msg_attr` ids.
pub mod attr {
    pub const STATUS: u8 = 1;
    pub const OBJPATH: u8 = 2;
    pub const OBJID: u8 = 3;
    pub const METHOD: u8 = 4;
    pub const OBJTYPE: u8 = 5;
    pub const SIGNATURE: u8 = 6;
    pub const DATA: u8 = 7;
    pub const TARGET: u8 = 8;
    pub const ACTIVE: u8 = 9;
    pub const NO_REPLY: u8 = 10;
    pub const SUBSCRIBERS: u8 = 11;
    pub const USER: u8 = 12;
    pub const GROUP: u8 = 13;
}

/// `enum ubus_msg_status`; codes ubusd or a peer may return.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(i32)]
pub enum Status {
    Ok = 0,
    InvalidCommand = 1,
    InvalidArgument = 2,
    MethodNotFound = 3,
    NotFound = 4,
    NoData = 5,
    PermissionDenied = 6,
    Timeout = 7,
    NotSupported = 8,
    UnknownError = 9,
    ConnectionFailed = 10,
    NoMemory = 11,
    ParseError = 12,
    SystemError = 13,
}

impl Status {
    /// Maps a wire code; codes this build does not know become `UnknownError`.
    pub fn from_code(code: i32) -> Status {
        use Status::*;
        [
            Ok,
            InvalidCommand,
            InvalidArgument,
            MethodNotFound,
            NotFound,
            NoData,
            PermissionDenied,
            Timeout,
            NotSupported,
            UnknownError,
            ConnectionFailed,
            NoMemory,
            ParseError,
            SystemError,
        ]
        .get(usize::try_from(code).unwrap_or(usize::MAX))
        .copied()
        .unwrap_or(UnknownError)
    }
}

impl std::fmt::Display for Status {
    /// The wording of libubus `ubus_strerror`, which `ubus call` prints.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Status::Ok => "Success",
            Status::InvalidCommand => "Invalid command",
            Status::InvalidArgument => "Invalid argument",
            Status::MethodNotFound => "Method not found",
            Status::NotFound => "Not found",
            Status::NoData => "No response",
            Status::PermissionDenied => "Permission denied",
            Status::Timeout => "Request timed out",
            Status::NotSupported => "Operation not supported",
            Status::UnknownError => "Unknown error",
            Status::ConnectionFailed => "Connection failed",
            Status::NoMemory => "Out of memory",
            Status::ParseError => "Parsing message data failed",
            Status::SystemError => "System error",
        })
    }
}

/// The message header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub kind: MsgType,
    pub seq: u16,
    pub peer: u32,
}

/// The `UBUS_ATTR_*` fields a message may carry. Like libubus's `blob_parse_untrusted`,
/// decoding drops an attribute of the wrong type rather than the whole message.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Attrs {
    pub status: Option<i32>,
    pub objpath: Option<String>,
    pub objid: Option<u32>,
    pub method: Option<String>,
    pub objtype: Option<u32>,
    /// ADD_OBJECT / LOOKUP: one table per method, mapping argument name to blobmsg type.
    pub signature: Option<Table>,
    pub data: Option<Table>,
    pub target: Option<u32>,
    pub active: Option<bool>,
    pub no_reply: Option<bool>,
    pub subscribers: Option<Vec<u32>>,
    pub user: Option<String>,
    pub group: Option<String>,
}

/// One ubus message.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub header: Header,
    pub attrs: Attrs,
}

/// Why a message cannot be encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooLarge(pub usize);

impl std::fmt::Display for TooLarge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "ubus message of {} bytes exceeds the {MAX_MSG_LEN}-byte limit",
            self.0
        )
    }
}

impl std::error::Error for TooLarge {}

/// Why a frame is not a valid message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameError {
    Version(u8),
    UnknownType(u8),
    TooLarge(usize),
    Blob(DecodeError),
}

impl std::fmt::Display for FrameError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FrameError::Version(v) => write!(f, "ubus message version {v}, expected 0"),
            FrameError::UnknownType(t) => write!(f, "unknown ubus message type {t}"),
            FrameError::TooLarge(n) => write!(f, "ubus message of {n} bytes is too large"),
            FrameError::Blob(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for FrameError {}

impl From<DecodeError> for FrameError {
    fn from(e: DecodeError) -> Self {
        FrameError::Blob(e)
    }
}

/// The total frame length announced by the first 12 bytes (header + container header),
/// checked the way libubus `ubus_validate_hdr` does.
pub fn frame_len(head: &[u8; HEADER_LEN + blob::HEADER_LEN]) -> Result<usize, FrameError> {
    if head[0] != 0 {
        return Err(FrameError::Version(head[0]));
    }
    let word = u32::from_be_bytes([head[8], head[9], head[10], head[11]]);
    let raw = (word & 0x00ff_ffff) as usize;
    if raw < blob::HEADER_LEN {
        return Err(FrameError::Blob(DecodeError::BadLength));
    }
    if blob::pad(raw) > MAX_MSG_LEN {
        return Err(FrameError::TooLarge(raw));
    }
    Ok(HEADER_LEN + raw)
}

impl Message {
    pub fn new(kind: MsgType, seq: u16, peer: u32, attrs: Attrs) -> Message {
        Message {
            header: Header { kind, seq, peer },
            attrs,
        }
    }

    /// The wire bytes: header, then the container (its unpadded raw length, as libubus sends).
    pub fn encode(&self) -> Result<Vec<u8>, TooLarge> {
        frame(self.header, 64, |o| self.attrs.encode(o))
    }

    /// A DATA reply for object `objid` whose data, `table`, is already in blobmsg form
    /// (what `Attrs { objid, data }` gives, without decoding a large answer into a tree).
    pub fn data_frame(header: Header, objid: u32, table: &[u8]) -> Result<Vec<u8>, TooLarge> {
        frame(header, table.len() + 32, |o| {
            blob::put_attr(o, attr::OBJID, false, &objid.to_be_bytes());
            blob::put_attr(o, attr::DATA, false, table);
        })
    }

    /// Parses one complete frame.
    pub fn decode(buf: &[u8]) -> Result<Message, FrameError> {
        let head: &[u8; HEADER_LEN + blob::HEADER_LEN] = buf
            .get(..HEADER_LEN + blob::HEADER_LEN)
            .and_then(|h| h.try_into().ok())
            .ok_or(FrameError::Blob(DecodeError::Truncated))?;
        let total = frame_len(head)?;
        let body = buf
            .get(HEADER_LEN..total)
            .ok_or(FrameError::Blob(DecodeError::Truncated))?;
        let kind = MsgType::from_u8(buf[1]).ok_or(FrameError::UnknownType(buf[1]))?;
        let (container, _) = blob::split_attr(body)?;
        Ok(Message {
            header: Header {
                kind,
                seq: u16::from_be_bytes([buf[2], buf[3]]),
                peer: u32::from_be_bytes([buf[4], buf[5], buf[6], buf[7]]),
            },
            attrs: Attrs::decode(container.payload)?,
        })
    }
}

/// Header, then the container whose attributes `fill` writes.
fn frame(
    header: Header,
    capacity: usize,
    fill: impl FnOnce(&mut Vec<u8>),
) -> Result<Vec<u8>, TooLarge> {
    let mut out = Vec::with_capacity(capacity);
    out.push(0);
    out.push(header.kind as u8);
    out.extend_from_slice(&header.seq.to_be_bytes());
    out.extend_from_slice(&header.peer.to_be_bytes());
    blob::put_nested(&mut out, 0, false, fill);
    // Children are padded, so the container's raw length equals its padded length.
    if out.len() - HEADER_LEN > MAX_MSG_LEN {
        return Err(TooLarge(out.len()));
    }
    Ok(out)
}

impl Attrs {
    fn encode(&self, out: &mut Vec<u8>) {
        let int = |out: &mut Vec<u8>, id, v: Option<u32>| {
            if let Some(v) = v {
                blob::put_attr(out, id, false, &v.to_be_bytes());
            }
        };
        let string = |out: &mut Vec<u8>, id, v: &Option<String>| {
            if let Some(s) = v {
                let mut bytes = s.as_bytes().to_vec();
                bytes.push(0);
                blob::put_attr(out, id, false, &bytes);
            }
        };
        let flag = |out: &mut Vec<u8>, id, v: Option<bool>| {
            if let Some(b) = v {
                blob::put_attr(out, id, false, &[u8::from(b)]);
            }
        };
        let table = |out: &mut Vec<u8>, id, v: &Option<Table>| {
            if let Some(t) = v {
                blob::put_nested(out, id, false, |o| blob::encode_table(t, o));
            }
        };
        int(out, attr::STATUS, self.status.map(|s| s as u32));
        string(out, attr::OBJPATH, &self.objpath);
        int(out, attr::OBJID, self.objid);
        string(out, attr::METHOD, &self.method);
        int(out, attr::OBJTYPE, self.objtype);
        table(out, attr::SIGNATURE, &self.signature);
        table(out, attr::DATA, &self.data);
        int(out, attr::TARGET, self.target);
        flag(out, attr::ACTIVE, self.active);
        flag(out, attr::NO_REPLY, self.no_reply);
        if let Some(ids) = &self.subscribers {
            blob::put_nested(out, attr::SUBSCRIBERS, false, |o| {
                for id in ids {
                    blob::put_attr(o, 0, false, &id.to_be_bytes());
                }
            });
        }
        string(out, attr::USER, &self.user);
        string(out, attr::GROUP, &self.group);
    }

    fn decode(buf: &[u8]) -> Result<Attrs, DecodeError> {
        let mut a = Attrs::default();
        for raw in blob::attrs(buf) {
            let raw = raw?;
            let p = raw.payload;
            let int = || p.try_into().ok().map(u32::from_be_bytes);
            let string = || match p.split_last() {
                Some((0, text)) => Some(String::from_utf8_lossy(text).into_owned()),
                _ => None,
            };
            let flag = || (p.len() == 1).then(|| p[0] != 0);
            match raw.id {
                attr::STATUS => a.status = int().map(|v| v as i32),
                attr::OBJPATH => a.objpath = string(),
                attr::OBJID => a.objid = int(),
                attr::METHOD => a.method = string(),
                attr::OBJTYPE => a.objtype = int(),
                // Malformed blobmsg content counts as absent: the peer gets INVALID_ARGUMENT.
                attr::SIGNATURE => a.signature = blob::decode_table(p).ok(),
                attr::DATA => a.data = blob::decode_table(p).ok(),
                attr::TARGET => a.target = int(),
                attr::ACTIVE => a.active = flag(),
                attr::NO_REPLY => a.no_reply = flag(),
                attr::SUBSCRIBERS => {
                    let ids = blob::attrs(p)
                        .map(|r| r.map(|x| x.payload.try_into().ok().map(u32::from_be_bytes)))
                        .collect::<Result<Vec<_>, _>>()?;
                    a.subscribers = Some(ids.into_iter().flatten().collect());
                }
                attr::USER => a.user = string(),
                attr::GROUP => a.group = string(),
                _ => {}
            }
        }
        Ok(a)
    }
}

/// Builds the signature table for ADD_OBJECT: method name -> {argument: blobmsg type}, as
/// libubus `ubus_push_object_type` does, so `ubus -v list` can show argument types.
pub fn signature(methods: &[(&str, &[(&str, blob::Type)])]) -> Table {
    methods
        .iter()
        .map(|(name, args)| {
            let policy = args
                .iter()
                .map(|(arg, t)| (arg.to_string(), BlobMsg::Int32(*t as i32)))
                .collect();
            (name.to_string(), BlobMsg::Table(policy))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hello_from_ubusd_decodes() {
        // ubusd_send_hello: type 0, seq 0, peer = client id, empty container.
        let frame = [0, 0, 0, 0, 0x12, 0x34, 0x56, 0x78, 0, 0, 0, 4];
        let m = Message::decode(&frame).unwrap();
        assert_eq!(m.header.kind, MsgType::Hello);
        assert_eq!(m.header.peer, 0x1234_5678);
        assert_eq!(m.attrs, Attrs::default());
        assert_eq!(m.encode().unwrap(), frame);
    }

    #[test]
    fn a_data_frame_is_the_reply_attrs_give_and_holds_max_data_len() {
        let header = Header {
            kind: MsgType::Data,
            seq: 7,
            peer: 9,
        };
        let mut table = Vec::new();
        BlobMsg::Int32(5).encode("n", &mut table);
        let attrs = Attrs {
            objid: Some(3),
            data: Some(vec![("n".into(), BlobMsg::Int32(5))]),
            ..Attrs::default()
        };
        let frame = Message::data_frame(header, 3, &table).unwrap();
        assert_eq!(frame, Message { header, attrs }.encode().unwrap());
        let largest = vec![0; MAX_DATA_LEN];
        let frame = Message::data_frame(header, 3, &largest).unwrap();
        assert_eq!(frame.len() - HEADER_LEN, MAX_MSG_LEN);
        assert!(Message::data_frame(header, 3, &[0; MAX_DATA_LEN + 4]).is_err());
    }

    #[test]
    fn status_reply_layout() {
        // ubus_complete_deferred_request: STATUS then OBJID, both int32 attributes.
        let m = Message::new(
            MsgType::Status,
            0x0102,
            7,
            Attrs {
                status: Some(2),
                objid: Some(0x0a0b_0c0d),
                ..Attrs::default()
            },
        );
        assert_eq!(
            m.encode().unwrap(),
            [
                0, 1, 1, 2, 0, 0, 0, 7, // header
                0, 0, 0, 20, // container
                1, 0, 0, 8, 0, 0, 0, 2, // UBUS_ATTR_STATUS
                3, 0, 0, 8, 10, 11, 12, 13, // UBUS_ATTR_OBJID
            ]
        );
    }

    #[test]
    fn wrongly_typed_attribute_is_dropped() {
        let mut body = Vec::new();
        blob::put_attr(&mut body, attr::OBJID, false, &[1, 2]);
        blob::put_attr(&mut body, attr::METHOD, false, b"x\0");
        let mut frame = vec![0, MsgType::Invoke as u8, 0, 1, 0, 0, 0, 0];
        blob::put_nested(&mut frame, 0, false, |o| o.extend_from_slice(&body));
        let m = Message::decode(&frame).unwrap();
        assert_eq!(m.attrs.objid, None);
        assert_eq!(m.attrs.method.as_deref(), Some("x"));
    }

    #[test]
    fn frame_checks() {
        assert_eq!(
            frame_len(&[1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4]),
            Err(FrameError::Version(1))
        );
        assert_eq!(
            frame_len(&[0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff]),
            Err(FrameError::TooLarge(0xff_ffff))
        );
        assert_eq!(
            Message::decode(&[0, 99, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4]),
            Err(FrameError::UnknownType(99))
        );
    }

    #[test]
    fn status_codes_round_trip() {
        for code in 0..14 {
            assert_eq!(Status::from_code(code) as i32, code);
        }
        assert_eq!(Status::from_code(77), Status::UnknownError);
        assert_eq!(Status::from_code(-1), Status::UnknownError);
    }
}
