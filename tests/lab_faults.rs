//! The lab itself: LAN traffic reaches the Internet service through each ISP, and each
//! fault does what docs/lab.md says (and is undone by `clear`). Needs root; skipped
//! otherwise.

mod common;

use common::lab::{Fault, Lab, UplinkKind};
use std::process::Command;
use std::time::Duration;

/// The flags of the router's uplink device, e.g. "NO-CARRIER,BROADCAST,MULTICAST,UP";
/// `None` when the device does not exist.
fn link_flags(lab: &Lab, dev: &str) -> Option<String> {
    let out = lab.exec("rtr", &["ip", "-o", "link", "show", "dev", dev]);
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let start = text.find('<')? + 1;
    let end = text.find('>')?;
    Some(text[start..end].to_string())
}

fn ifindex(lab: &Lab, dev: &str) -> u32 {
    let out = lab.run("rtr", &["ip", "-o", "link", "show", "dev", dev]);
    out.split(':').next().unwrap().trim().parse().unwrap()
}

fn lab_namespaces(name: &str) -> Vec<String> {
    let out = Command::new("ip").args(["netns", "list"]).output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|n| n.starts_with(&format!("{name}-")))
        .map(str::to_string)
        .collect()
}

#[test]
#[cfg_attr(not(lab_root), ignore = "needs root: the network lab")]
fn lan_reaches_the_service_through_each_isp() {
    let lab = Lab::up(3);
    // No default route on the router until someone (rail, or this test) provides one.
    assert!(lab.try_fetch_source("lan").is_err());
    let mut seen = Vec::new();
    for u in lab.uplinks() {
        lab.route_default_via(u.isp);
        let src = lab.fetch_source("lan");
        assert_eq!(src, u.addr.to_string(), "through ISP {}", u.isp);
        seen.push(src);
    }
    seen.dedup();
    assert_eq!(seen.len(), 3, "each ISP shows its own address: {seen:?}");
    assert_eq!(lab.uplink(2).kind, UplinkKind::Ppp);
    assert_eq!(lab.uplink(2).prefix, 32);
}

#[test]
#[cfg_attr(not(lab_root), ignore = "needs root: the network lab")]
fn ipv6_lan_reaches_the_service_through_each_isp() {
    let lab = Lab::up(3);
    if !lab.has_ipv6() {
        eprintln!("SKIPPED: this kernel has no IPv6");
        return;
    }
    let service = lab.service6().unwrap().into();
    assert!(lab.try_fetch_source_from("lan", service).is_err());
    for u in lab.uplinks() {
        lab.route_default6_via(u.isp);
        let src = lab.try_fetch_source_from("lan", service).unwrap();
        assert_eq!(src, u.addr6.unwrap().to_string(), "through ISP {}", u.isp);
        let targets = lab.targets6();
        assert_eq!(lab.answering("rtr", &targets), targets);
    }
}

#[test]
#[cfg_attr(not(lab_root), ignore = "needs root: the network lab")]
fn carrier_loss_shows_no_carrier_and_stops_traffic() {
    let lab = Lab::up(3);
    let u = lab.uplink(1);
    lab.route_default_via(1);
    assert!(!link_flags(&lab, &u.dev).unwrap().contains("NO-CARRIER"));
    assert!(lab.answers("rtr", u.gw));

    lab.fault(1, Fault::Carrier);
    let flags = link_flags(&lab, &u.dev).expect("the device stays");
    assert!(flags.contains("NO-CARRIER"), "flags {flags}");
    assert!(!lab.answers("rtr", u.gw), "the ISP still answers");
    assert!(lab.try_fetch_source("lan").is_err());
    // Other ISPs are not affected.
    assert!(lab.answers("rtr", lab.uplink(3).gw));

    lab.clear(1);
    assert!(!link_flags(&lab, &u.dev).unwrap().contains("NO-CARRIER"));
    assert_eq!(lab.fetch_source("lan"), u.addr.to_string());
}

#[test]
#[cfg_attr(not(lab_root), ignore = "needs root: the network lab")]
fn blackhole_first_hop_answers_while_the_internet_does_not() {
    let lab = Lab::up(3);
    let u = lab.uplink(1);
    lab.route_default_via(1);
    let targets = lab.targets();
    assert!(targets.len() >= 4);
    assert_eq!(lab.answering("rtr", &targets), targets);

    lab.fault(1, Fault::Blackhole);
    // The first hop still answers ARP (a fresh neighbour entry gets resolved) and ping.
    lab.run("rtr", &["ip", "neigh", "flush", "dev", &u.dev]);
    assert!(
        lab.answers("rtr", u.gw),
        "the first hop must keep answering"
    );
    let neigh = lab.run(
        "rtr",
        &["ip", "neigh", "show", &u.gw.to_string(), "dev", &u.dev],
    );
    assert!(
        neigh.contains("lladdr"),
        "no ARP answer from the ISP: {neigh:?}"
    );
    assert!(!link_flags(&lab, &u.dev).unwrap().contains("NO-CARRIER"));
    assert_eq!(
        lab.answering("rtr", &targets),
        Vec::<std::net::Ipv4Addr>::new(),
        "answers through a blackhole"
    );
    assert!(lab.try_fetch_source("lan").is_err());
    if lab.has_ipv6() {
        lab.route_default6_via(1);
        assert!(lab.answers("rtr", u.gw6.unwrap()));
        assert!(lab.answering("rtr", &lab.targets6()).is_empty());
    }

    lab.clear(1);
    assert_eq!(lab.answering("rtr", &targets), targets);
    assert_eq!(lab.fetch_source("lan"), u.addr.to_string());
}

#[test]
#[cfg_attr(not(lab_root), ignore = "needs root: the network lab")]
fn random_loss_drops_about_the_given_share() {
    let lab = Lab::up(3);
    lab.route_default_via(3);
    let target = lab.targets()[0];
    let clean = lab.ping("rtr", target, 200, 0.002, 0.3);
    assert!(
        clean.loss_percent() < 2.0,
        "loss without a fault: {clean:?}"
    );

    lab.fault(3, Fault::Loss(30));
    let lossy = lab.ping("rtr", target, 200, 0.002, 0.3);
    // 30% with 200 samples: the standard deviation is about 3.2 points.
    let loss = lossy.loss_percent();
    assert!(
        (15.0..=45.0).contains(&loss),
        "loss {loss}% with 30% injected"
    );
    // Loss is upstream: the ISP's own address answers every time.
    let first_hop = lab.ping("rtr", lab.uplink(3).gw, 50, 0.002, 0.3);
    assert_eq!(first_hop.received, 50);

    lab.clear(3);
    let again = lab.ping("rtr", target, 100, 0.002, 0.3);
    assert!(again.loss_percent() < 2.0, "loss after clear: {again:?}");
}

#[test]
#[cfg_attr(not(lab_root), ignore = "needs root: the network lab")]
fn pppoe_drop_and_reconnect_change_the_ifindex_and_with_new_the_addresses() {
    let lab = Lab::up(3);
    let before = lab.uplink(2);
    assert_eq!(before.kind, UplinkKind::Ppp);
    let index_before = ifindex(&lab, &before.dev);
    let flags = link_flags(&lab, &before.dev).unwrap();
    assert!(
        flags.contains("NOARP"),
        "a point-to-point link has no ARP: {flags}"
    );

    lab.fault(2, Fault::PppoeDrop);
    assert_eq!(link_flags(&lab, &before.dev), None, "device still there");

    lab.fault(2, Fault::PppoeUp);
    let same = lab.uplink(2);
    let index_same = ifindex(&lab, &same.dev);
    assert_ne!(index_same, index_before, "a reconnect brings a new ifindex");
    assert_eq!((same.addr, same.gw), (before.addr, before.gw));
    lab.route_default_via(2);
    assert_eq!(lab.fetch_source("lan"), before.addr.to_string());

    // A reconnect while up tears the session down first, like pppd.
    lab.fault(2, Fault::PppoeUpNew);
    let new = lab.uplink(2);
    let index_new = ifindex(&lab, &new.dev);
    assert_ne!(index_new, index_same);
    assert_ne!(new.addr, same.addr);
    assert_ne!(new.gw, same.gw);
    assert_ne!(new.addr6, same.addr6);
    let addr = lab.run("rtr", &["ip", "-o", "-4", "addr", "show", "dev", &new.dev]);
    assert!(
        addr.contains(&format!("{} peer {}/32", new.addr, new.gw)),
        "{addr}"
    );
    // The default route went with the old device, as it does on a router.
    assert!(lab.try_fetch_source("lan").is_err());
    lab.route_default_via(2);
    assert_eq!(lab.fetch_source("lan"), new.addr.to_string());

    // clear after a drop brings the session back with the current addresses.
    lab.fault(2, Fault::PppoeDrop);
    lab.clear(2);
    assert_eq!(lab.uplink(2), new);
    assert!(lab.answers("rtr", new.gw));
}

#[test]
#[cfg_attr(not(lab_root), ignore = "needs root: the network lab")]
fn two_labs_side_by_side_do_not_collide_and_drop_removes_them() {
    let a = Lab::up(2);
    let b = Lab::up(2);
    assert_ne!(a.name(), b.name());
    a.route_default_via(1);
    b.route_default_via(2);
    assert_eq!(a.fetch_source("lan"), a.uplink(1).addr.to_string());
    assert_eq!(b.fetch_source("lan"), b.uplink(2).addr.to_string());
    // A fault in one lab leaves the other alone.
    a.fault(1, Fault::Blackhole);
    b.route_default_via(1);
    assert_eq!(b.fetch_source("lan"), b.uplink(1).addr.to_string());

    let name = a.name().to_string();
    assert_eq!(lab_namespaces(&name).len(), 5, "lan, rtr, inet, isp1, isp2");
    drop(a);
    assert_eq!(lab_namespaces(&name), Vec::<String>::new());
    assert_eq!(b.fetch_source("lan"), b.uplink(1).addr.to_string());
}

#[test]
#[cfg_attr(not(lab_root), ignore = "needs root: the network lab")]
fn a_panicking_test_leaves_no_lab_behind() {
    common::lab::require_root();
    let payload = std::thread::spawn(|| {
        let lab = Lab::up(1);
        // The processes inside the lab: the service, and one a test started itself.
        let sleep = lab.command("rtr", &["sleep", "60"]).spawn().unwrap();
        let pids_in = |node: &str| {
            let out = Command::new("ip")
                .args(["netns", "pids", &lab.ns(node)])
                .output()
                .unwrap();
            String::from_utf8_lossy(&out.stdout).into_owned()
        };
        // `ip netns exec` enters the namespace after spawn() returns: wait for the sleep.
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while pids_in("rtr").is_empty() && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        let pids = pids_in("inet") + &pids_in("rtr");
        std::panic::panic_any((lab.name().to_string(), pids, sleep));
    })
    .join()
    .expect_err("the thread panics");
    let (name, pids, mut sleep) = *payload
        .downcast::<(String, String, std::process::Child)>()
        .unwrap();
    assert_eq!(lab_namespaces(&name), Vec::<String>::new());
    let list = Command::new(common::lab::script())
        .arg("list")
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&list.stdout)
        .lines()
        .any(|l| l == name));
    assert_eq!(pids.lines().count(), 2, "service and sleep: {pids:?}");
    for pid in pids.lines() {
        // Gone, or a zombie waiting for its parent (the sleep is this process's child).
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        assert!(
            status.is_empty() || status.contains("State:\tZ"),
            "process {pid} still runs after down:\n{status}"
        );
    }
    assert!(!sleep.wait().unwrap().success(), "sleep was killed");
}

#[test]
#[cfg_attr(not(lab_root), ignore = "needs root: the network lab")]
fn bad_fault_arguments_are_refused() {
    let lab = Lab::up(2);
    let script = common::lab::script();
    for args in [
        vec!["fault", lab.name(), "carrier", "3"],
        vec!["fault", lab.name(), "loss", "1", "101"],
        vec!["fault", lab.name(), "pppoe-drop", "1"],
        vec!["fault", lab.name(), "melt", "1"],
    ] {
        let out = Command::new(&script).args(&args).output().unwrap();
        assert!(!out.status.success(), "{args:?} was accepted");
        assert!(String::from_utf8_lossy(&out.stderr).starts_with("lab: "));
    }
}

#[test]
#[cfg_attr(not(lab_root), ignore = "needs root: the network lab")]
fn long_lived_flows_report_their_source_and_die_in_a_blackhole() {
    let lab = Lab::up(3);
    lab.route_default_via(1);
    let mut on_isp1 = lab.open_flow("lan");
    assert_eq!(on_isp1.source, lab.uplink(1).addr.to_string());
    lab.route_default_via(3);
    let mut on_isp3 = lab.open_flow("lan");
    assert_eq!(on_isp3.source, lab.uplink(3).addr.to_string());
    assert!(on_isp3.alive(Duration::from_secs(1)));

    lab.fault(3, Fault::Blackhole);
    assert!(
        !on_isp3.alive(Duration::from_millis(300)),
        "a blackhole must stop established flows too"
    );
    // Back on ISP1 (ISP3 still blackholed), ISP1's flow carries data as before.
    lab.route_default_via(1);
    assert!(on_isp1.alive(Duration::from_secs(1)));
}

#[test]
#[cfg_attr(not(lab_root), ignore = "needs root: the network lab")]
fn the_generated_rail_config_is_valid_and_names_the_lab_devices() {
    let lab = Lab::up(3);
    let text = lab.rail_config();
    let pkg = rail::uci::parse("lab.conf", &text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    let config = rail::config::from_package("lab.conf", &pkg).unwrap_or_else(|ps| {
        let ps: Vec<String> = ps.iter().map(ToString::to_string).collect();
        panic!("{}\n{text}", ps.join("\n"))
    });
    let got: Vec<_> = config
        .interfaces
        .iter()
        .map(|i| (i.device.clone(), i.gateway, i.masquerade))
        .collect();
    // The PPPoE-like uplink names no gateway: rail learns its peer.
    let expected: Vec<_> = lab
        .uplinks()
        .into_iter()
        .map(|u| {
            let gw = (u.kind == UplinkKind::Ethernet).then_some(u.gw.into());
            (Some(u.dev), gw, true)
        })
        .collect();
    assert_eq!(got, expected);
}

#[test]
#[cfg_attr(not(lab_root), ignore = "needs root: the network lab")]
fn renew_moves_address_and_gateway_on_the_same_device() {
    let lab = Lab::up(3);
    let before = lab.uplink(1);
    let index = ifindex(&lab, &before.dev);
    lab.fault(1, Fault::Renew);
    let after = lab.uplink(1);
    assert_ne!(after.addr, before.addr);
    assert_ne!(after.gw, before.gw);
    assert_ne!(after.addr6, before.addr6);
    assert_eq!(
        (ifindex(&lab, &after.dev), &after.dev),
        (index, &before.dev)
    );
    let addrs = lab.run("rtr", &["ip", "-o", "addr", "show", "dev", &after.dev]);
    assert!(!addrs.contains(&format!(" {}/", before.addr)), "{addrs}");
    assert!(addrs.contains(&format!(" {}/28", after.addr)), "{addrs}");
    lab.route_default_via(1);
    assert_eq!(lab.fetch_source("lan"), after.addr.to_string());
    assert!(!lab.answers("rtr", before.gw), "the old gateway is gone");
    // PPPoE-like uplinks get new addresses by reconnecting instead.
    let out = Command::new(common::lab::script())
        .args(["fault", lab.name(), "renew", "2"])
        .output()
        .unwrap();
    assert!(!out.status.success());
}

#[test]
#[cfg_attr(not(lab_root), ignore = "needs root: the network lab")]
fn a_blackhole_can_hit_one_address_family() {
    let lab = Lab::up(2);
    if !lab.has_ipv6() {
        eprintln!("SKIPPED: this kernel has no IPv6");
        return;
    }
    lab.route_default_via(1);
    lab.route_default6_via(1);
    let (t4, t6) = (lab.targets(), lab.targets6());
    lab.fault(1, Fault::BlackholeIpv6);
    assert_eq!(lab.answering("rtr", &t4), t4);
    assert!(lab.answering("rtr", &t6).is_empty());
    lab.fault(1, Fault::BlackholeIpv4);
    assert!(lab.answering("rtr", &t4).is_empty());
    lab.clear(1);
    assert_eq!(lab.answering("rtr", &t4), t4);
    assert_eq!(lab.answering("rtr", &t6), t6);
}

#[test]
#[cfg_attr(not(lab_root), ignore = "needs root: the network lab")]
fn any_isps_can_be_pppoe_like() {
    let opts = common::lab::Options {
        isps: 3,
        masq: true,
    };
    let lab = Lab::up_with_ppp(opts, &[1, 3]);
    let kinds: Vec<UplinkKind> = lab.uplinks().iter().map(|u| u.kind).collect();
    assert_eq!(
        kinds,
        [UplinkKind::Ppp, UplinkKind::Ethernet, UplinkKind::Ppp]
    );
    for u in lab.uplinks() {
        lab.route_default_via(u.isp);
        assert_eq!(lab.fetch_source("lan"), u.addr.to_string());
    }
    lab.fault(3, Fault::PppoeDrop);
    assert_eq!(link_flags(&lab, &lab.uplink(3).dev), None);
    assert!(link_flags(&lab, &lab.uplink(1).dev).is_some());
}

#[test]
#[cfg_attr(not(lab_root), ignore = "needs root: the network lab")]
fn routes_fill_the_router_main_table_without_disturbing_traffic() {
    let lab = Lab::up(2);
    let count = || {
        lab.run("rtr", &["ip", "-4", "route", "show"])
            .lines()
            .count()
    };
    let before = count();
    lab.add_routes(2_000);
    assert_eq!(count(), before + 2_000);
    lab.route_default_via(1);
    assert_eq!(lab.fetch_source("lan"), lab.uplink(1).addr.to_string());
    assert_eq!(lab.answering("rtr", &lab.targets()), lab.targets());
}
