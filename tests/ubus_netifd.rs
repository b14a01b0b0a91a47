//! netifd status dumps (shaped like netifd ubus.c `netifd_dump_status` output for PPPoE,
//! DHCP and static uplinks, with ppp-up's /32 + ptpaddress and default route via the peer)
//! parsed into the facts rail binds an uplink with.

use std::net::Ipv4Addr;

use serde_json::{json, Value};

use rail::family::Af;
use rail::openwrt::hotplug::Action;
use rail::openwrt::netifd::{self, InterfaceStatus, Ipv4Address};

fn fixture(name: &str) -> Value {
    let path = format!(
        "{}/tests/fixtures/netifd/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn ip(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

#[test]
fn pppoe_up() {
    let s = InterfaceStatus::parse(&fixture("pppoe-up")).unwrap();
    assert!(s.up);
    assert_eq!(s.proto.as_deref(), Some("pppoe"));
    assert_eq!(s.device.as_deref(), Some("eth1"));
    assert_eq!(s.bound_device(), Some("pppoe-wan"));
    assert_eq!(s.uptime, Some(5123));
    assert_eq!(
        s.ipv4,
        vec![Ipv4Address {
            address: ip("198.51.100.7"),
            mask: 32,
            ptpaddress: Some(ip("198.51.100.1"))
        }]
    );
    assert_eq!(s.ipv4_address(), Some(ip("198.51.100.7")));
    assert_eq!(s.gateway(Af::Inet), Some(ip("198.51.100.1").into()));
}

#[test]
fn pppoe_down_has_no_device_address_or_gateway() {
    let s = InterfaceStatus::parse(&fixture("pppoe-down")).unwrap();
    assert!(!s.up);
    assert!(s.available);
    assert_eq!(s.bound_device(), None);
    assert_eq!(s.ipv4_address(), None);
    assert_eq!(s.gateway(Af::Inet), None);
    assert_eq!(s.uptime, None);
}

#[test]
fn ppp_peer_is_the_gateway_when_the_default_route_has_no_nexthop() {
    let mut v = fixture("pppoe-up");
    v["route"] =
        json!([{"target": "0.0.0.0", "mask": 0, "nexthop": "0.0.0.0", "source": "0.0.0.0/0"}]);
    let s = InterfaceStatus::parse(&v).unwrap();
    assert_eq!(s.gateway(Af::Inet), Some(ip("198.51.100.1").into()));
}

#[test]
fn dhcp_up() {
    let s = InterfaceStatus::parse(&fixture("dhcp-up")).unwrap();
    assert_eq!(s.bound_device(), Some("eth1.2"));
    assert_eq!(s.metric, Some(10));
    assert_eq!(s.ipv4_address(), Some(ip("203.0.113.45")));
    assert_eq!(s.ipv4[0].mask, 24);
    assert_eq!(s.ipv4[0].ptpaddress, None);
    assert_eq!(s.gateway(Af::Inet), Some(ip("203.0.113.1").into()));
}

#[test]
fn static_up_picks_the_default_route_of_each_family() {
    let s = InterfaceStatus::parse(&fixture("static-up")).unwrap();
    assert_eq!(s.ipv4.len(), 2);
    assert_eq!(s.routes.len(), 3);
    assert_eq!(s.routes[2].table, Some(100));
    // The 198.18.0.0/15 route is not a default route.
    assert_eq!(s.gateway(Af::Inet), Some(ip("192.0.2.1").into()));
    assert_eq!(
        s.gateway(Af::Inet6),
        Some("2001:db8:0:1::1".parse().unwrap())
    );
    assert_eq!(s.ipv6[0].mask, 64);
}

#[test]
fn malformed_dumps_name_the_field() {
    let cases = [
        (json!([]), "(top)"),
        (json!({"pending": false}), "up"),
        (json!({"up": "yes"}), "up"),
        (json!({"up": true, "l3_device": 3}), "l3_device"),
        (
            json!({"up": true, "ipv4-address": [{"address": "::1", "mask": 64}]}),
            "ipv4-address[0].address",
        ),
        (
            json!({"up": true, "ipv4-address": [{"address": "192.0.2.1", "mask": 33}]}),
            "ipv4-address[0].mask",
        ),
        (json!({"up": true, "ipv4-address": {}}), "ipv4-address"),
        (
            json!({"up": true, "route": [{"target": "0.0.0.0", "mask": 0, "nexthop": "fe80::1"}]}),
            "route[0].nexthop",
        ),
        (json!({"up": true, "uptime": -1}), "uptime"),
    ];
    for (v, field) in cases {
        let e = InterfaceStatus::parse(&v).unwrap_err();
        assert_eq!(e.field, field, "{v}: {e}");
    }
}

#[test]
fn notifications_carry_the_interface_and_its_status() {
    let mut data = fixture("pppoe-up");
    data["interface"] = json!("wan");
    let (name, s) = netifd::parse_notification("interface.update", &data)
        .unwrap()
        .unwrap();
    assert_eq!(name, "wan");
    assert_eq!(s.bound_device(), Some("pppoe-wan"));

    let mut data = fixture("pppoe-down");
    data["interface"] = json!("wan");
    let (_, s) = netifd::parse_notification("interface.down", &data)
        .unwrap()
        .unwrap();
    assert!(!s.up);

    assert!(
        netifd::parse_notification("interface.down", &fixture("pppoe-down"))
            .unwrap()
            .is_err()
    );
    assert!(netifd::parse_notification("something.else", &data).is_none());
}

#[test]
fn events_from_netifd() {
    assert_eq!(
        netifd::parse_event(
            "network.interface",
            &json!({"action": "ifup", "interface": "wan"})
        ),
        Some((Action::IfUp, "wan".to_string()))
    );
    assert_eq!(
        netifd::parse_event(
            "network.interface",
            &json!({"action": "ifdown", "interface": "wanb"})
        ),
        Some((Action::IfDown, "wanb".to_string()))
    );
    assert_eq!(
        netifd::parse_event("network.interface", &json!({"action": "ifup"})),
        None
    );
    assert_eq!(
        netifd::parse_event(
            "network.device",
            &json!({"action": "ifup", "interface": "wan"})
        ),
        None
    );
}

#[test]
fn dhcpv6_twin_of_a_pppoe_wan_carries_the_ipv6_next_hop() {
    // What ppp6-up's `wan_6` (proto dhcpv6, ifname @wan) dumps: the same L3 device, the
    // DHCPv6 address and delegated prefix, and source-specific IPv6 default routes.
    let s = InterfaceStatus::parse(&fixture("dhcpv6-wan_6-up")).unwrap();
    assert_eq!(s.bound_device(), Some("pppoe-wan"));
    assert_eq!(s.gateway(Af::Inet6), Some("fe80::1".parse().unwrap()));
    assert_eq!(s.gateway(Af::Inet), None);
    assert_eq!(
        s.ipv6_prefix,
        vec![netifd::Ipv6Address {
            address: "2001:db8:300::".parse().unwrap(),
            mask: 56
        }]
    );
    assert_eq!(netifd::twin_of("wan_6"), Some("wan"));
    assert_eq!(netifd::ipv6_twin("wan"), "wan_6");
    assert_eq!(
        netifd::twin_of("wan6"),
        None,
        "a static wan6 section is no twin"
    );
    assert_eq!(netifd::twin_of("_6"), None);
}

/// Dumps captured from OpenWrt's own netifd (e97e36f, run by tests/owrt_events.rs's set-up:
/// `wana` proto static, `wanb` tests/owrt/ppplike.uc, `wanc` tests/owrt/raildhcp.uc), with
/// what the hand-made fixtures above lack: `updated`, `inactive`, `neighbors`, `pending`
/// while a session is being set up, an `interface.down` after `ubus call ... down`
/// (`autostart` false, no `l3_device`), and the `interface.update` with `up: false` netifd
/// sends between a PPP session's end and the next one.
fn real(name: &str) -> Value {
    fixture(&format!("real/{name}"))
}

#[test]
fn dumps_of_the_real_netifd_give_the_facts_rail_binds_with() {
    let s = InterfaceStatus::parse(&real("static-up")).unwrap();
    assert!(s.up);
    assert_eq!(s.bound_device(), Some("eth-isp1"));
    assert_eq!(s.ipv4_address(), Some(ip("192.0.2.2")));
    assert_eq!(s.gateway(Af::Inet), Some(ip("192.0.2.1").into()));
    assert_eq!(s.metric, Some(10));

    let s = InterfaceStatus::parse(&real("ppp-up")).unwrap();
    assert_eq!(s.bound_device(), Some("ppp-isp2"));
    assert_eq!(s.ipv4_address(), Some(ip("192.0.2.18")));
    assert_eq!(
        s.gateway(Af::Inet),
        Some(ip("192.0.2.17").into()),
        "the peer"
    );

    let s = InterfaceStatus::parse(&real("ppp-pending")).unwrap();
    assert!(!s.up && s.available);
    assert_eq!(s.bound_device(), None);
    assert_eq!(s.gateway(Af::Inet), None);
}

#[test]
fn notifications_of_the_real_netifd() {
    let (name, s) = netifd::parse_notification("interface.down", &real("down-notification"))
        .unwrap()
        .unwrap();
    assert_eq!(name, "wana");
    assert!(!s.up);
    assert_eq!(s.bound_device(), None);

    // A renewal with a new address: `interface.update`, updated ["addresses"].
    let (name, s) = netifd::parse_notification("interface.update", &real("renewal-update"))
        .unwrap()
        .unwrap();
    assert_eq!(name, "wanc");
    assert_eq!(s.ipv4_address(), Some(ip("192.0.2.35")));
    assert_eq!(s.gateway(Af::Inet), Some(ip("192.0.2.33").into()));

    // An update is not an ifup: the one between two PPP sessions says down.
    let (name, s) = netifd::parse_notification("interface.update", &real("ppp-update-down"))
        .unwrap()
        .unwrap();
    assert_eq!(name, "wanb");
    assert!(!s.up);
    assert_eq!(s.bound_device(), None);
}
