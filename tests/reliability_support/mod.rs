//! What rail does with untrusted bytes, one function per input kind: shared by the
//! cargo-fuzz targets (fuzz/fuzz_targets) and the bounded random-input run in `make test`
//! (tests/reliability_fuzz.rs), so both exercise exactly the same code. Each function must
//! return normally for every input: a panic is the bug.

use rail::netlink::route::{
    Address, Link, Qdisc, Route, Rule, RTM_DELROUTE, RTM_DELRULE, RTM_NEWADDR, RTM_NEWLINK,
    RTM_NEWQDISC, RTM_NEWROUTE, RTM_NEWRULE,
};
use std::net::{Ipv4Addr, Ipv6Addr};

/// /etc/config/rail as read from disk: the UCI parser, then the typed config on its output.
pub fn uci(data: &[u8]) {
    if let Ok(pkg) = rail::uci::parse_bytes("rail", data) {
        let _ = rail::config::from_package("rail", &pkg);
    }
}

/// One frame from the ubus socket (ubusd or a peer): the frame, its blob attributes and
/// every blobmsg table inside, converted to JSON as the daemon does.
pub fn ubus(data: &[u8]) {
    if let Ok(msg) = rail::openwrt::wire::Message::decode(data) {
        let _ = format!("{msg:?}");
    }
    if let Ok(table) = rail::blob::decode_table(data) {
        let _ = rail::blob::table_to_json(&table);
    }
    if let Some(head) = data.get(..12).and_then(|h| h.try_into().ok()) {
        let _ = rail::openwrt::wire::frame_len(head);
    }
}

/// A packet on a probe's raw socket: IPv4 with header, ICMPv6 without, ARP, DNS.
pub fn probe_reply(data: &[u8]) {
    let _ = rail::health::wire::icmp::parse_v4(data);
    let _ = rail::health::wire::icmp::parse_v6(Ipv6Addr::LOCALHOST, data);
    let _ =
        rail::health::wire::arp::reply_to(data, [2, 0, 0, 0, 0, 1], Ipv4Addr::new(192, 0, 2, 2));
    let _ = rail::health::wire::dns::is_response(data, 0x1234);
}

/// A message from rtnetlink (a dump reply or a multicast event): split and decoded by
/// rail's netlink codec as the daemon's sockets do, then read back by rail.
pub fn netlink(data: &[u8]) {
    for m in rail::netlink::wire::messages(data) {
        let _ = m.status();
        rtnl(m.kind, m.payload);
    }
    // The payload alone, as each message type the daemon's sockets receive would decode it.
    for kind in [
        RTM_NEWLINK,
        RTM_NEWADDR,
        RTM_NEWROUTE,
        RTM_DELROUTE,
        RTM_NEWRULE,
        RTM_DELRULE,
        RTM_NEWQDISC,
    ] {
        rtnl(kind, data);
    }
}

fn rtnl(kind: u16, payload: &[u8]) {
    use rail::dataplane::rtmsg;
    match kind {
        RTM_NEWLINK => {
            let _ = Link::decode(payload);
        }
        RTM_NEWADDR => {
            let _ = Address::decode(payload);
        }
        RTM_NEWRULE | RTM_DELRULE => {
            if let Some(m) = Rule::decode(payload) {
                let _ = rtmsg::rule_is_owned(&m);
                let _ = rtmsg::rule_spec(&m);
            }
        }
        RTM_NEWROUTE | RTM_DELROUTE => {
            if let Some(m) = Route::decode(payload) {
                let _ = rtmsg::route_table(&m);
                let _ = rtmsg::route_is_owned(&m);
                let _ = rtmsg::default_gateway(&m);
                let _ = rtmsg::route_spec(&m);
            }
        }
        RTM_NEWQDISC => {
            if let Some(q) = Qdisc::decode(payload) {
                let rate = rail::config::Rate::from_kbit(8_000).expect("a valid rate");
                let _ = rail::shaping::Tbf::new(rate, 1500).same_as(&q.options);
            }
        }
        _ => {}
    }
}
