//! netifd tells rail where a PPPoE uplink is: the config names no device for `wan`; a
//! netifd stand-in on a broker speaking ubusd's wire protocol publishes
//! `network.interface.wan` and sends its events and notifications. The lab's PPPoE-like
//! device is torn down and recreated with a new ifindex and addresses, netifd announces it,
//! and rail rebinds probes, tables, rules and policy routes with no user action.

#[path = "ubus_broker/mod.rs"]
mod broker;
mod common;

use std::cell::RefCell;
use std::net::Ipv4Addr;
use std::rc::Rc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use broker::netifd::{dhcpv6_status, named_as, netifd_peer_for, pppoe_status};
use broker::Broker;
use common::lab::{Fault, Lab, Uplink};
use common::rail::{interface, interface_dual_stack, Rail, FAST};

/// What the test asks the netifd stand-in to announce about one interface (`wan` unless
/// the `interface` field says otherwise).
struct Announce {
    interface: &'static str,
    status: Value,
    action: &'static str,
    kind: &'static str,
}

/// Runs the netifd stand-in on its own thread and executor for the interfaces `first`
/// names, with their first status; announcements go in through the returned channel.
fn netifd(
    path: std::path::PathBuf,
    first: Vec<(&'static str, Value)>,
) -> smol::channel::Sender<Announce> {
    let (tx, rx) = smol::channel::unbounded::<Announce>();
    std::thread::spawn(move || {
        let ex = smol::LocalExecutor::new();
        let states: Vec<(String, Rc<RefCell<Value>>)> = first
            .into_iter()
            .map(|(name, status)| (name.to_string(), Rc::new(RefCell::new(status))))
            .collect();
        let peer = netifd_peer_for(&path, states.clone());
        let runner = peer.clone();
        ex.spawn(async move { runner.run().await }).detach();
        smol::block_on(ex.run(async {
            while let Ok(a) = rx.recv().await {
                let Some((_, state)) = states.iter().find(|(n, _)| n == a.interface) else {
                    continue;
                };
                *state.borrow_mut() = a.status;
                let event = json!({"action": a.action, "interface": a.interface});
                let _ = peer.send_event("network.interface", &event).await;
                let _ = peer
                    .notify("network.interface", a.kind, &named_as(state, a.interface))
                    .await;
            }
        }));
    });
    tx
}

fn config(lab: &Lab) -> String {
    let isp2 = interface(lab, 2, FAST);
    // `wan` is ISP 2's PPPoE-like uplink, known only through netifd.
    let wan = isp2
        .replace("config interface 'isp2'", "config interface 'wan'")
        .replace(&format!("\toption device '{}'\n", lab.uplink(2).dev), "");
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
    let Some(lab) = Lab::for_rail(2) else {
        return;
    };
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
    let announce = netifd(path.clone(), vec![("wan", up(first.addr, first.gw))]);

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
    announce
        .send_blocking(Announce {
            interface: "wan",
            status: pppoe_status(false, "", "", ""),
            action: "ifdown",
            kind: "interface.down",
        })
        .unwrap();
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
    announce
        .send_blocking(Announce {
            interface: "wan",
            status: up(again.addr, again.gw),
            action: "ifup",
            kind: "interface.update",
        })
        .unwrap();
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
    let lab = Lab::for_rail(2)?;
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
    let announce = netifd(
        path.clone(),
        vec![("wan", wan), ("wan_6", first_wan_6(&ppp))],
    );
    Some((lab, broker, path, announce))
}

/// netifd updates `wan_6` to `status` (ifupdate), or takes it down (`None`).
fn update_wan_6(announce: &smol::channel::Sender<Announce>, status: Option<Value>) {
    let (status, action, kind) = match status {
        Some(s) => (s, "ifupdate", "interface.update"),
        None => (
            json!({"up": false, "pending": false, "available": true, "proto": "dhcpv6"}),
            "ifdown",
            "interface.down",
        ),
    };
    announce
        .send_blocking(Announce {
            interface: "wan_6",
            status,
            action,
            kind,
        })
        .unwrap();
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
    let Some((lab, _broker, path, announce)) = lab_with_wan_6(|ppp| wan_6(ppp, "fe80::1")) else {
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
    update_wan_6(&announce, Some(wan_6(&ppp, "fe80::9")));
    rail.wait_for("wan's new IPv6 next hop", Duration::from_secs(5), |r| {
        gateway6(r) == "fe80::9"
    });
    assert!(table6().contains("via fe80::9"), "{}", table6());
    let t = lab.tally_to("lan", service6, 5);
    assert_eq!(t.get(&addr6), Some(&5), "IPv6 still via wan: {t:?}");

    // wan_6 goes down: its next hop is forgotten (the device alone routes, as on PPP).
    update_wan_6(&announce, None);
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
    let Some((lab, _broker, path, announce)) = lab_with_wan_6(|ppp| wan_6(ppp, "2001:db8:300:2::"))
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
    update_wan_6(&announce, Some(wan_6(&ppp, "2001:db8:301:2::")));
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
    update_wan_6(&announce, None);
    let t0 = Instant::now();
    while nat().contains("prefix to") {
        assert!(t0.elapsed() < Duration::from_secs(5), "{}", nat());
        std::thread::sleep(Duration::from_millis(20));
    }
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
