//! netifd tells rail where a PPPoE uplink is: the config names no device for `wan`; a
//! netifd stand-in on a broker speaking ubusd's wire protocol publishes
//! `network.interface.wan` and sends its events and notifications. The lab's PPPoE-like
//! device is torn down and recreated with a new ifindex and addresses, netifd announces it,
//! and rail rebinds probes, tables, rules and policy routes with no user action.

#[path = "ubus_broker/mod.rs"]
mod broker;
mod common;

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use broker::netifd::{
    dhcp_status, dhcpv6_status, pppoe_status, says, stand_in, Announce, IfEvent, Say,
};
use broker::Broker;
use common::lab::{Fault, Lab, Uplink};
use common::rail::{interface, interface_dual_stack, Rail, FAST};

/// netifd says what it says for `event` about interface `name`, whose status is now
/// `status` (its hotplug call names the status's L3 device).
fn announce(
    netifd: &smol::channel::Sender<Announce>,
    name: &'static str,
    status: Value,
    event: IfEvent,
) {
    let device = status["l3_device"].as_str().map(str::to_string);
    let say = says(event, status.clone(), device);
    netifd
        .send_blocking(Announce {
            name,
            status,
            say,
            done: None,
        })
        .unwrap();
}

fn config(lab: &Lab) -> String {
    // `wan` is ISP 2's PPPoE-like uplink, known only through netifd.
    config_naming_device(lab).replace(&format!("\toption device '{}'\n", lab.uplink(2).dev), "")
}

/// `config(lab)` with wan's device named in the config, as well as announced by netifd.
fn config_naming_device(lab: &Lab) -> String {
    let wan = interface(lab, 2, FAST).replace("config interface 'isp2'", "config interface 'wan'");
    format!(
        "config globals 'globals'\n\n{}{wan}\
config member 'wan_m1'\n\toption interface 'wan'\n\toption metric '1'\n\n\
config member 'isp1_m2'\n\toption interface 'isp1'\n\toption metric '2'\n\n\
config policy 'wan_first'\n\tlist use_member 'wan_m1'\n\tlist use_member 'isp1_m2'\n\n\
config rule 'all'\n\toption dest_ip '0.0.0.0/0'\n\toption use_policy 'wan_first'\n",
        interface(lab, 1, FAST)
    )
}

fn wan(rail: &Rail) -> Value {
    rail.status()["interfaces"]["wan"].clone()
}

#[test]
#[cfg_attr(not(lab_root), ignore = "needs root: the network lab")]
fn pppoe_uplink_rebinds_on_a_new_device_announced_by_netifd() {
    let lab = Lab::for_rail(2);
    let dir = std::env::temp_dir().join(format!("rail-netifd-{}", lab.name()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("ubus.sock");
    let _broker = Broker::start(&path);
    let up = |addr: Ipv4Addr, peer: Ipv4Addr| {
        pppoe_status(
            true,
            &lab.uplink(2).dev,
            &addr.to_string(),
            &peer.to_string(),
        )
    };
    let first = lab.uplink(2);
    let netifd = stand_in(path.clone(), vec![("wan", up(first.addr, first.gw))]);

    let rail = Rail::start_with(&lab, &config(&lab), &["-s", path.to_str().unwrap()]);
    rail.wait_for(
        "wan bound through netifd and up",
        Duration::from_secs(10),
        |r| {
            let w = wan(r);
            w["state"] == "up" && w["device"] == first.dev.as_str()
        },
    );
    let old_index = wan(&rail)["ifindex"].as_u64().unwrap();
    let tally = lab.tally("lan", 10);
    assert_eq!(tally.get(&first.addr.to_string()), Some(&10), "{tally:?}");

    // The PPPoE session drops: the device goes, netifd says so.
    lab.fault(2, Fault::PppoeDrop);
    announce(
        &netifd,
        "wan",
        pppoe_status(false, "", "", ""),
        IfEvent::Down,
    );
    rail.wait_for("wan out of service", Duration::from_secs(5), |r| {
        wan(r)["state"] != "up"
    });
    let isp1 = lab.uplink(1).addr.to_string();
    assert_eq!(
        lab.tally("lan", 10).get(&isp1),
        Some(&10),
        "the backup carries the LAN"
    );

    // It comes back on a new device index with new addresses.
    lab.fault(2, Fault::PppoeUpNew);
    let again = lab.uplink(2);
    assert_ne!(
        again.addr, first.addr,
        "the lab gave the session a new address"
    );
    let t0 = Instant::now();
    announce(&netifd, "wan", up(again.addr, again.gw), IfEvent::Up);
    rail.wait_for(
        "wan rebound to the new device",
        Duration::from_secs(5),
        |r| {
            let w = wan(r);
            w["ifindex"].as_u64() != Some(old_index)
                && w["address"] == again.addr.to_string().as_str()
        },
    );
    let rebound = t0.elapsed();
    rail.wait_state("wan", "up", Duration::from_secs(5));
    eprintln!("rebound {rebound:?} after netifd's announcement");
    let rules = lab.run("rtr", &["ip", "rule"]);
    assert!(
        rules.contains(&format!("from {} lookup", again.addr)),
        "{rules}"
    );
    assert!(
        !rules.contains(&format!("from {} lookup", first.addr)),
        "{rules}"
    );
    let tally = lab.tally("lan", 10);
    assert_eq!(tally.get(&again.addr.to_string()), Some(&10), "{tally:?}");
}

/// A lab, a broker and a netifd stand-in announcing ISP 2's uplink as `wan` (up), with
/// rail started on `config(lab)` and `wan` up.
fn wan_through_netifd(lab: &Lab) -> (Broker, smol::channel::Sender<Announce>, Rail<'_>) {
    let dir = std::env::temp_dir().join(format!("rail-netifd-{}", lab.name()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("ubus.sock");
    let broker = Broker::start(&path);
    let u = lab.uplink(2);
    let status = pppoe_status(true, &u.dev, &u.addr.to_string(), &u.gw.to_string());
    let netifd = stand_in(path.clone(), vec![("wan", status)]);
    let rail = Rail::start_with(lab, &config(lab), &["-s", path.to_str().unwrap()]);
    rail.wait_state("wan", "up", Duration::from_secs(10));
    (broker, netifd, rail)
}

#[test]
#[cfg_attr(not(lab_root), ignore = "needs root: the network lab")]
fn a_late_hotplug_ifdown_only_makes_rail_ask_netifd() {
    let lab = Lab::for_rail(2);
    let (_broker, netifd, rail) = wan_through_netifd(&lab);
    // netifd is up again (its status says so) when the hotplug ifdown of an earlier
    // restart arrives, without DEVICE as netifd sends it.
    let u = lab.uplink(2);
    let (done, wait) = std::sync::mpsc::channel();
    netifd
        .send_blocking(Announce {
            name: "wan",
            status: pppoe_status(true, &u.dev, &u.addr.to_string(), &u.gw.to_string()),
            say: vec![Say::Hotplug("ifdown", None)],
            done: Some(done),
        })
        .unwrap();
    wait.recv_timeout(Duration::from_secs(5)).unwrap();
    rail.wait_for("the hotplug call", Duration::from_secs(5), |r| {
        r.log_text().contains("wan: hotplug ifdown")
    });
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(wan(&rail)["state"], "up");
    let log = rail.log_text();
    assert!(!log.contains("wan no-device"), "{log}");
    assert!(!log.contains("withdrawn"), "{log}");
}

#[test]
#[cfg_attr(not(lab_root), ignore = "needs root: the network lab")]
fn a_renewal_with_only_a_new_gateway_is_followed_through_mains_default_route() {
    let lab = Lab::up_with_ppp(
        common::lab::Options {
            isps: 2,
            masq: false,
        },
        &[],
    );
    let dir = std::env::temp_dir().join(format!("rail-netifd-gw-{}", lab.name()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("ubus.sock");
    let _broker = Broker::start(&path);
    let u = lab.uplink(2);
    let status = |gw: Ipv4Addr| dhcp_status(&u.dev, &u.addr.to_string(), u.prefix, &gw.to_string());
    let main_default = |gw: Ipv4Addr| {
        let gw = gw.to_string();
        lab.run(
            "rtr",
            &[
                "ip", "route", "replace", "default", "via", &gw, "dev", &u.dev,
            ],
        );
    };
    // netifd's default route in main, as it installs it.
    main_default(u.gw);
    let netifd = stand_in(path.clone(), vec![("wan", status(u.gw))]);
    let config = config(&lab).replace(&format!("\toption gateway '{}'\n", u.gw), "");
    let rail = Rail::start_with(&lab, &config, &["-s", path.to_str().unwrap()]);
    rail.wait_state("wan", "up", Duration::from_secs(10));
    let table = || lab.run("rtr", &["ip", "route", "show", "table", "20002"]);
    assert!(table().contains(&format!("via {} ", u.gw)), "{}", table());

    // The DHCP server names another router on the link: netifd updates its status and
    // main's default route, and says nothing.
    let base = u32::from(u.addr) & !((1u32 << (32 - u.prefix)) - 1);
    let router = Ipv4Addr::from(base | 14);
    lab.run(
        "isp2",
        &[
            "ip",
            "addr",
            "add",
            &format!("{router}/{}", u.prefix),
            "dev",
            "cust",
        ],
    );
    let (done, wait) = std::sync::mpsc::channel();
    netifd
        .send_blocking(Announce {
            name: "wan",
            status: status(router),
            say: vec![],
            done: Some(done),
        })
        .unwrap();
    wait.recv_timeout(Duration::from_secs(5)).unwrap();
    let t0 = Instant::now();
    main_default(router);
    while !table().contains(&format!("via {router} ")) {
        assert!(t0.elapsed() < Duration::from_secs(2), "{}", table());
        std::thread::sleep(Duration::from_millis(2));
    }
    eprintln!(
        "wan's table follows main's new default route in {:?}",
        t0.elapsed()
    );
    let tally = lab.tally("lan", 10);
    assert_eq!(tally.get(&u.addr.to_string()), Some(&10), "{tally:?}");
}

/// A two-ISP IPv6 lab, a broker (at `.2`) and a netifd stand-in announcing ISP 2's
/// PPPoE-like uplink as `wan` and its DHCPv6 twin `wan_6`, whose first status is
/// `first_wan_6`; `None` when the lab cannot run.
fn lab_with_wan_6(
    first_wan_6: impl FnOnce(&Uplink) -> Value,
) -> Option<(
    Lab,
    Broker,
    std::path::PathBuf,
    smol::channel::Sender<Announce>,
)> {
    let lab = Lab::for_rail(2);
    if !lab.has_ipv6() {
        eprintln!("no IPv6 in this kernel: skipped");
        return None;
    }
    let dir = std::env::temp_dir().join(format!("rail-netifd6-{}", lab.name()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("ubus.sock");
    let broker = Broker::start(&path);
    let ppp = lab.uplink(2);
    let wan = pppoe_status(true, &ppp.dev, &ppp.addr.to_string(), &ppp.gw.to_string());
    let netifd = stand_in(
        path.clone(),
        vec![("wan", wan), ("wan_6", first_wan_6(&ppp))],
    );
    Some((lab, broker, path, netifd))
}

/// netifd updates `wan_6` to `status` (ifupdate), or takes it down (`None`).
fn update_wan_6(netifd: &smol::channel::Sender<Announce>, status: Option<Value>) {
    let (status, event) = match status {
        Some(s) => (s, IfEvent::Update),
        None => (
            json!({"up": false, "pending": false, "available": true, "proto": "dhcpv6"}),
            IfEvent::Down,
        ),
    };
    announce(netifd, "wan_6", status, event);
}

/// ISP 2's uplink as a dual-stack `wan` known only through netifd, with `extra` options.
fn wan_section(lab: &Lab, extra: &str) -> String {
    interface_dual_stack(lab, 2, FAST)
        .replace(
            "config interface 'isp2'\n",
            &format!("config interface 'wan'\n{extra}"),
        )
        .replace(&format!("\toption device '{}'\n", lab.uplink(2).dev), "")
}

#[test]
#[cfg_attr(not(lab_root), ignore = "needs root: the network lab")]
fn a_dual_stack_pppoe_uplink_takes_its_ipv6_next_hop_from_netifds_wan_6() {
    // wan_6 routes IPv6 via the ISP's link-local fe80::1 (main has no IPv6 default route
    // through the device for rail to learn one from).
    let wan_6 = |ppp: &Uplink, nexthop: &str| {
        let addr6 = ppp.addr6.expect("IPv6 lab").to_string();
        dhcpv6_status(&ppp.dev, &addr6, nexthop, None)
    };
    let Some((lab, _broker, path, netifd)) = lab_with_wan_6(|ppp| wan_6(ppp, "fe80::1")) else {
        return;
    };
    let ppp = lab.uplink(2);
    let addr6 = ppp.addr6.expect("IPv6 lab").to_string();
    let isp1 = interface(&lab, 1, FAST);
    let wan_section = wan_section(&lab, "");
    let config = format!(
        "config globals 'globals'\n\n{isp1}{wan_section}\
config member 'wan_m1'\n\toption interface 'wan'\n\toption metric '1'\n\n\
config member 'isp1_m2'\n\toption interface 'isp1'\n\toption metric '2'\n\n\
config policy 'wan_first'\n\tlist use_member 'wan_m1'\n\tlist use_member 'isp1_m2'\n\n\
config rule 'all'\n\toption use_policy 'wan_first'\n"
    );
    let rail = Rail::start_with(&lab, &config, &["-s", path.to_str().unwrap()]);
    let gateway6 = |r: &Rail| wan(r)["gateway6"].as_str().unwrap_or("").to_string();
    let table6 = || lab.run("rtr", &["ip", "-6", "route", "show", "table", "20002"]);
    rail.wait_for(
        "wan up for IPv6 via netifd's next hop",
        Duration::from_secs(10),
        |r| wan(r)["state6"] == "up" && gateway6(r) == "fe80::1",
    );
    assert!(table6().contains("via fe80::1"), "{}", table6());
    let service6 = lab.service6().expect("IPv6 service").into();
    let t = lab.tally_to("lan", service6, 5);
    assert_eq!(t.get(&addr6), Some(&5), "IPv6 via wan: {t:?}");

    // A new router on the line (a new RA, DHCPv6 rebind): netifd updates wan_6.
    lab.run(
        "isp2",
        &["ip", "-6", "addr", "add", "fe80::9/64", "dev", "ppp-cust"],
    );
    update_wan_6(&netifd, Some(wan_6(&ppp, "fe80::9")));
    rail.wait_for("wan's new IPv6 next hop", Duration::from_secs(5), |r| {
        gateway6(r) == "fe80::9"
    });
    assert!(table6().contains("via fe80::9"), "{}", table6());
    let t = lab.tally_to("lan", service6, 5);
    assert_eq!(t.get(&addr6), Some(&5), "IPv6 still via wan: {t:?}");

    // wan_6 goes down: its next hop is forgotten (the device alone routes, as on PPP).
    update_wan_6(&netifd, None);
    rail.wait_for(
        "wan without netifd's IPv6 next hop",
        Duration::from_secs(5),
        |r| gateway6(r).is_empty(),
    );
    assert!(!table6().contains("via fe80"), "{}", table6());
}

/// rail with `wan` alone (its section `wan_section`) and netifd on `path`, once wan is up
/// for IPv6.
fn start_wan_only_up6<'a>(lab: &'a Lab, path: &std::path::Path, wan_section: &str) -> Rail<'a> {
    let config = format!(
        "config globals 'globals'\n\n{wan_section}\
config member 'wan_m1'\n\toption interface 'wan'\n\n\
config policy 'wan_only'\n\tlist use_member 'wan_m1'\n\n\
config rule 'all'\n\toption use_policy 'wan_only'\n"
    );
    let rail = Rail::start_with(lab, &config, &["-s", path.to_str().unwrap()]);
    rail.wait_for("wan up for IPv6", Duration::from_secs(10), |r| {
        wan(r)["state6"] == "up"
    });
    rail
}

#[test]
#[cfg_attr(not(lab_root), ignore = "needs root: the network lab")]
fn npt_follows_the_prefix_netifd_delegates_to_wan_6() {
    let wan_6 = |ppp: &Uplink, prefix: &'static str| {
        let addr6 = ppp.addr6.expect("IPv6 lab").to_string();
        dhcpv6_status(&ppp.dev, &addr6, "fe80::1", Some((prefix, 64)))
    };
    let Some((lab, _broker, path, netifd)) = lab_with_wan_6(|ppp| wan_6(ppp, "2001:db8:300:2::"))
    else {
        return;
    };
    let ppp = lab.uplink(2);
    // ISP2 delegates 2001:db8:300:2::/64 first and 2001:db8:301:2::/64 after a renumbering;
    // nobody routes the LAN's 2001:db8:1::/64 back, so only translated sources get answers.
    for prefix in ["2001:db8:300:2::/64", "2001:db8:301:2::/64"] {
        lab.delegate6(2, prefix);
    }
    // wan translates the LAN's prefix into whatever is delegated to it (no npt_external).
    let wan_section = wan_section(&lab, "\toption npt_internal '2001:db8:1::/64'\n");
    let _rail = start_wan_only_up6(&lab, &path, &wan_section);
    let service6 = lab.service6().expect("IPv6 service").into();
    let lan_host = u128::from(lab.lan_addr6().expect("LAN IPv6")) & u128::from(u64::MAX);
    let translated = |prefix: &str| {
        let p: std::net::Ipv6Addr = prefix.parse().unwrap();
        std::net::Ipv6Addr::from(u128::from(p) | lan_host).to_string()
    };
    let t = lab.tally_to("lan", service6, 5);
    let first = translated("2001:db8:300:2::");
    assert_eq!(t.get(&first), Some(&5), "into the delegated prefix: {t:?}");

    // A new delegation: new connections leave in the new prefix.
    let nat = || lab.run("rtr", &["nft", "list", "chain", "inet", "rail", "nat"]);
    update_wan_6(&netifd, Some(wan_6(&ppp, "2001:db8:301:2::")));
    let t0 = Instant::now();
    while !nat().contains("prefix to 2001:db8:301:2::/64") {
        assert!(t0.elapsed() < Duration::from_secs(5), "{}", nat());
        std::thread::sleep(Duration::from_millis(20));
    }
    eprintln!(
        "new delegated prefix in the nat chain {:?} after netifd's announcement",
        t0.elapsed()
    );
    let t = lab.tally_to("lan", service6, 5);
    let second = translated("2001:db8:301:2::");
    assert_eq!(t.get(&second), Some(&5), "into the new prefix: {t:?}");

    // wan_6 down: nothing delegated, nothing translated.
    update_wan_6(&netifd, None);
    let t0 = Instant::now();
    while nat().contains("prefix to") {
        assert!(t0.elapsed() < Duration::from_secs(5), "{}", nat());
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// ISP 2's PPPoE-like session as netifd's `wan`, up.
fn ppp_status(lab: &Lab) -> Value {
    let ppp = lab.uplink(2);
    pppoe_status(true, &ppp.dev, &ppp.addr.to_string(), &ppp.gw.to_string())
}

/// A broker, a netifd stand-in announcing `wan` (ISP 2) and rail on `config` with both
/// uplinks up.
fn wan_stand_in<'l>(
    lab: &'l Lab,
    config: &str,
) -> (
    std::path::PathBuf,
    Broker,
    smol::channel::Sender<broker::netifd::Announce>,
    Rail<'l>,
) {
    let dir = std::env::temp_dir().join(format!("rail-netifd-{}", lab.name()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("ubus.sock");
    let broker = Broker::start(&path);
    let announce = stand_in(path.clone(), vec![("wan", ppp_status(lab))]);
    let rail = Rail::start_with(lab, config, &["-s", path.to_str().unwrap()]);
    rail.wait_state("isp1", "up", Duration::from_secs(10));
    let dev = lab.uplink(2).dev;
    rail.wait_for("wan up through netifd", Duration::from_secs(10), |r| {
        wan(r)["state"] == "up" && wan(r)["device"] == dev.as_str()
    });
    (path, broker, announce, rail)
}

/// The stand-in's process ends: its connection, and with it its objects, leave `broker`.
fn stand_in_exits(
    broker: Broker,
    announce: smol::channel::Sender<broker::netifd::Announce>,
) -> Broker {
    let clients = broker.client_count();
    drop(announce);
    let t0 = Instant::now();
    while broker.client_count() >= clients && t0.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(10));
    }
    broker
}

/// OpenWrt's netifd, when ubusd restarts, tries to reconnect at once and then every 2 s
/// (netifd ubus.c `netifd_ubus_reconnect_timer`): measured with the real daemons, its
/// objects came back 30 ms, 2026 ms and 2035 ms after ubusd did. Meanwhile `status` of
/// `network.interface.<name>` answers Not found. That is routine: rail keeps the uplink as
/// it is, says nothing above info, and reads netifd again when its objects return.
#[test]
#[cfg_attr(not(lab_root), ignore = "needs root: the network lab")]
fn ubusd_restart_with_netifd_back_2_s_later_is_routine() {
    let lab = Lab::for_rail(2);
    let (path, broker, announce, rail) = wan_stand_in(&lab, &config(&lab));
    let status = || ppp_status(&lab);
    let before = rail.log_text().len();

    // The stand-in goes first (its client would reconnect at once), then ubusd; netifd's
    // first reconnect finds no ubusd, so it stays away until its 2 s timer.
    let mut broker = stand_in_exits(broker, announce);
    broker.stop();
    let mut broker = Broker::start(&path);
    std::thread::sleep(Duration::from_secs(2));
    let back = rail.log_text().len();
    let _announce = stand_in(path.clone(), vec![("wan", status())]);
    rail.wait_for("rail back on netifd's wan", Duration::from_secs(10), |r| {
        r.log_text()[back..].contains("subscribed to network.interface")
    });
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(wan(&rail)["state"], "up", "{}", rail.log_text());
    let log = rail.log_text();
    let said = &log[before..];
    let loud: Vec<&str> = said
        .lines()
        .filter(|l| l.contains("warning: ") || l.contains("error: "))
        .collect();
    assert!(loud.is_empty(), "a routine ubusd restart:\n{said}");
    assert!(
        !said.contains("wan down") && !said.contains("wan no-device"),
        "wan kept its state:\n{said}"
    );
    broker.stop();
}

/// OpenWrt's netifd restarting (`/etc/init.d/network restart`, an upgrade), as measured
/// with the real daemon: on exit it says nothing and leaves the kernel alone, its objects
/// just leave the bus; on start, within a few milliseconds, it sets its devices down,
/// deletes their IPv4 addresses and every ip rule (adding back local, main and default),
/// sets them up, adds the addresses and routes again; then its objects return and it
/// sends `ifup` per interface. An uplink that comes back as it was keeps its state: no
/// transition, no conntrack flush, no warning, and rail's rules are back.
#[test]
#[cfg_attr(not(lab_root), ignore = "needs root: the network lab")]
fn netifd_restart_as_openwrts_netifd_does_it_leaves_the_uplink_alone() {
    let lab = Lab::for_rail(2);
    let (path, broker, announce, rail) = wan_stand_in(&lab, &config(&lab));
    let status = || ppp_status(&lab);
    let ppp = lab.uplink(2);
    let before = rail.log_text().len();

    let _broker = stand_in_exits(broker, announce);
    std::thread::sleep(Duration::from_millis(300));
    let mut again = vec![format!(
        "ip addr add {} peer {} dev {}",
        ppp.addr, ppp.gw, ppp.dev
    )];
    if let Some(a6) = ppp.addr6 {
        again.push(format!("ip addr add fe80::2/64 dev {}", ppp.dev));
        again.push(format!("ip addr add {a6}/64 dev {}", ppp.dev));
    }
    let start = format!(
        "ip link set dev {dev} down && ip -4 addr flush dev {dev} && \
         printf 'rule flush\\nrule add pref 32766 lookup main\\nrule add pref 32767 lookup default\\n' \
         | ip -batch - && ip link set dev {dev} up && {again}",
        dev = ppp.dev,
        again = again.join(" && ")
    );
    lab.run("rtr", &["sh", "-c", &start]);
    let announce = stand_in(path.clone(), vec![("wan", status())]);
    announce
        .send_blocking(broker::netifd::Announce {
            name: "wan",
            status: status(),
            // Its notifications reach no old subscriber (the object is new).
            say: vec![
                Say::Event("ifup"),
                Say::Hotplug("ifup", Some(ppp.dev.clone())),
            ],
            done: None,
        })
        .unwrap();
    rail.wait_for("rail's rules back", Duration::from_secs(5), |_| {
        lab.run("rtr", &["ip", "rule"])
            .contains(&format!("from {} lookup", ppp.addr))
    });
    assert_left_alone(&rail, before);
}

/// Nothing rail logged since `before` is a transition of either uplink, a flush of flows,
/// a warning or an error, and wan is up.
fn assert_left_alone(rail: &Rail, before: usize) {
    // Recovery rounds or a late flap would show within this.
    std::thread::sleep(Duration::from_secs(3));
    let log = rail.log_text();
    let said = &log[before..];
    let states = ["up", "down", "suspect", "recovering", "no-device"];
    let transitions: Vec<&str> = said
        .lines()
        .filter(|l| {
            ["wan", "isp1"]
                .iter()
                .any(|i| states.iter().any(|s| l.contains(&format!("{i} {s}: "))))
        })
        .collect();
    assert!(transitions.is_empty(), "transitions:\n{said}");
    assert!(!said.contains("deleted its conntrack flows"), "{said}");
    assert!(
        !said.contains("warning: ") && !said.contains("error: "),
        "{said}"
    );
    assert_eq!(wan(rail)["state"], "up");
}

#[test]
#[cfg_attr(not(lab_root), ignore = "needs root: the network lab")]
fn a_pd_only_pppoe_uplink_is_probed_and_routed_from_the_prefix_netifd_delegates() {
    // PD-only: wan_6 has no address of its own (no IA_NA), only the delegated prefix, and
    // routes through the ISP's link-local fe80::1.
    let wan_6 = |ppp: &Uplink| {
        let mut s = dhcpv6_status(&ppp.dev, "::", "fe80::1", Some(("2001:db8:300:2::", 64)));
        s["ipv6-address"] = json!([]);
        s["route"][0]["source"] = json!("2001:db8:300:2::/64");
        s
    };
    let Some((lab, _broker, path, _announce)) = lab_with_wan_6(wan_6) else {
        return;
    };
    // The session has no global IPv6 address; netifd put one of the prefix on the LAN and
    // the LAN host took one (SLAAC). ISP2 routes the prefix to the router's link-local
    // address (fe80::2 on the lab's PPP link).
    let ip = |node: &str, args: String| {
        lab.run(node, &args.split_whitespace().collect::<Vec<_>>());
    };
    let ppp = lab.uplink(2);
    let addr6 = ppp.addr6.expect("IPv6 lab");
    ip("rtr", format!("ip -6 addr del {addr6}/64 dev {}", ppp.dev));
    let lan_dev = lab.rtr_lan_dev();
    ip(
        "rtr",
        format!("ip -6 addr add 2001:db8:300:2::1/64 dev {lan_dev}"),
    );
    ip("lan", "ip -6 addr add 2001:db8:300:2::2/64 dev eth0".into());
    // The host's other address deprecated, so it picks the delegated one (RFC 6724).
    let old = lab.lan_addr6().expect("LAN IPv6");
    ip(
        "lan",
        format!("ip -6 addr change {old}/64 dev eth0 preferred_lft 0"),
    );
    ip(
        "isp2",
        "ip -6 route add 2001:db8:300:2::/64 via fe80::2 dev ppp-cust".into(),
    );
    ip(
        "inet",
        "ip -6 route add 2001:db8:300:2::/64 via 2001:db8:200:2::2".into(),
    );
    // No ip6prefix and no masquerade: all from netifd.
    let wan_section = wan_section(&lab, "").replace("\toption masquerade '1'\n", "");
    let rail = start_wan_only_up6(&lab, &path, &wan_section);
    // More rounds than `down` allows to fail (FAST: 3 of 0.2 s): the probes are answered.
    std::thread::sleep(Duration::from_millis(1500));
    let w = wan(&rail);
    assert_eq!(w["state6"], "up", "{w}");
    assert_eq!(w["address6"], "2001:db8:300:2::1", "{w}");
    let rules = lab.run("rtr", &["ip", "-6", "rule"]);
    assert!(
        rules.contains("from 2001:db8:300:2::/64 lookup 20001"),
        "{rules}"
    );
    let service6 = lab.service6().expect("IPv6 service").into();
    let t = lab.tally_to("lan", service6, 5);
    assert_eq!(
        t.get("2001:db8:300:2::2"),
        Some(&5),
        "the LAN host's own address, unmasqueraded: {t:?}"
    );
}

/// netifd's `ubus call network.interface.wan down`, then `up`, for an uplink whose device
/// rail's config also names: netifd removes the address and says so, then puts it back.
/// rail holds it as it holds one it learns from netifd alone: no transition, no flush.
#[test]
#[cfg_attr(not(lab_root), ignore = "needs root: the network lab")]
fn an_uplink_whose_device_the_config_names_is_held_through_netifds_down_and_up() {
    let lab = Lab::for_rail(2);
    let (_path, _broker, announce, rail) = wan_stand_in(&lab, &config_naming_device(&lab));
    let ppp = lab.uplink(2);
    let before = rail.log_text().len();
    let addr = format!("{} peer {} dev {}", ppp.addr, ppp.gw, ppp.dev);
    let addr: Vec<&str> = addr.split(' ').collect();
    let ip = |op: &str| {
        let mut args = vec!["ip", "addr", op];
        args.extend_from_slice(&addr);
        lab.run("rtr", &args);
    };
    ip("del");
    let down = pppoe_status(false, "", "", "");
    let mut say = says(IfEvent::Down, down.clone(), None);
    say.extend(says(IfEvent::Down, down.clone(), None));
    let (done, wait) = std::sync::mpsc::channel();
    announce
        .send_blocking(Announce {
            name: "wan",
            status: down,
            say,
            done: Some(done),
        })
        .unwrap();
    wait.recv_timeout(Duration::from_secs(5)).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    ip("add");
    let status = ppp_status(&lab);
    let say = says(IfEvent::Up, status.clone(), Some(ppp.dev.clone()));
    announce
        .send_blocking(Announce {
            name: "wan",
            status,
            say,
            done: None,
        })
        .unwrap();
    assert_left_alone(&rail, before);
}
