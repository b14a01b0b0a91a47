//! Property tests of the ubus codec: every message and blobmsg value survives a round trip,
//! and decoding arbitrary or corrupted bytes returns an error instead of panicking.

use proptest::prelude::*;

use rail::blob::{self, BlobMsg};
use rail::openwrt::wire::{Attrs, Message, MsgType};

fn leaf() -> impl Strategy<Value = BlobMsg> {
    prop_oneof![
        Just(BlobMsg::Unspec),
        any::<String>().prop_map(BlobMsg::String),
        any::<i64>().prop_map(BlobMsg::Int64),
        any::<i32>().prop_map(BlobMsg::Int32),
        any::<i16>().prop_map(BlobMsg::Int16),
        any::<bool>().prop_map(BlobMsg::Bool),
        // NaN != NaN; every other double survives bit for bit.
        any::<f64>()
            .prop_filter("not NaN", |d| !d.is_nan())
            .prop_map(BlobMsg::Double),
    ]
}

fn value() -> impl Strategy<Value = BlobMsg> {
    leaf().prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(BlobMsg::Array),
            prop::collection::vec(("[a-z_]{0,12}", inner), 0..6).prop_map(BlobMsg::Table),
        ]
    })
}

fn table() -> impl Strategy<Value = blob::Table> {
    prop::collection::vec(("[a-zA-Z0-9_.-]{1,20}", value()), 0..6)
}

fn attrs() -> impl Strategy<Value = Attrs> {
    (
        (
            any::<Option<i32>>(),
            proptest::option::of("[a-z.]{0,24}"),
            any::<Option<u32>>(),
            proptest::option::of("[a-z_]{0,16}"),
            any::<Option<u32>>(),
            proptest::option::of(table()),
            proptest::option::of(table()),
        ),
        (
            any::<Option<u32>>(),
            any::<Option<bool>>(),
            any::<Option<bool>>(),
            proptest::option::of(prop::collection::vec(any::<u32>(), 0..5)),
            proptest::option::of("[a-z]{0,8}"),
            proptest::option::of("[a-z]{0,8}"),
        ),
    )
        .prop_map(
            |(
                (status, objpath, objid, method, objtype, signature, data),
                (target, active, no_reply, subscribers, user, group),
            )| Attrs {
                status,
                objpath,
                objid,
                method,
                objtype,
                signature,
                data,
                target,
                active,
                no_reply,
                subscribers,
                user,
                group,
            },
        )
}

fn message() -> impl Strategy<Value = Message> {
    (0u8..12, any::<u16>(), any::<u32>(), attrs()).prop_map(|(t, seq, peer, attrs)| {
        Message::new(MsgType::from_u8(t).unwrap(), seq, peer, attrs)
    })
}

proptest! {
    #[test]
    fn messages_round_trip(m in message()) {
        let bytes = m.encode().unwrap();
        prop_assert_eq!(bytes.len() % 4, 0, "every attribute is padded");
        prop_assert_eq!(Message::decode(&bytes).unwrap(), m);
    }

    #[test]
    fn tables_round_trip(t in table()) {
        let mut out = Vec::new();
        blob::encode_table(&t, &mut out);
        prop_assert_eq!(&blob::decode_table(&out).unwrap(), &t);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = Message::decode(&bytes);
        let _ = blob::decode_table(&bytes);
    }

    #[test]
    fn corrupted_messages_never_panic(m in message(), flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8), cut in any::<prop::sample::Index>()) {
        let mut bytes = m.encode().unwrap();
        for (at, v) in flips {
            let i = at.index(bytes.len());
            bytes[i] = v;
        }
        let _ = Message::decode(&bytes);
        let end = cut.index(bytes.len() + 1);
        let _ = Message::decode(&bytes[..end]);
    }
}

#[test]
fn invoke_bytes_match_libubus_layout() {
    // ubus_invoke(ctx, 0x11, "status", {"a": true}) as libubus builds it:
    // OBJID int32, METHOD string, DATA nested { blobmsg INT8 "a" = 1 }.
    let m = Message::new(
        MsgType::Invoke,
        1,
        0x11,
        Attrs {
            objid: Some(0x11),
            method: Some("status".into()),
            data: Some(vec![("a".into(), BlobMsg::Bool(true))]),
            ..Attrs::default()
        },
    );
    let expected: Vec<u8> = [
        &[0, 5, 0, 1, 0, 0, 0, 0x11][..], // header: INVOKE, seq 1, peer 0x11
        &[0, 0, 0, 40],                   // container: 4 + 8 + 12 + 16
        &[3, 0, 0, 8, 0, 0, 0, 0x11],     // OBJID
        &[4, 0, 0, 11, b's', b't', b'a', b't', b'u', b's', 0, 0], // METHOD "status\0" + pad
        &[7, 0, 0, 16],                   // DATA, raw length 4 + 12 (padded child)
        &[0x87, 0, 0, 9, 0, 1, b'a', 0, 1, 0, 0, 0], // blobmsg INT8 "a"=1, raw 9, padded 12
    ]
    .concat();
    assert_eq!(m.encode().unwrap(), expected);
}
