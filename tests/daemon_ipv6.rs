//! End to end in the lab, dual-stack: `rail daemon` with two `family both` uplinks balances
//! IPv6 LAN connections over both, keeps long-lived IPv6 flows on their uplink while the
//! multipath route changes, fails IPv6 over on an IPv6-only blackhole while IPv4 on the same
//! uplink stays up, fails back, and leaves no IPv6 rule or route behind when stopped.

mod common;

use common::lab::{Fault, Flow, Lab};
use common::rail::{interface_dual_stack, Rail, FAST};
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv6Addr};
use std::time::Duration;

/// Two dual-stack uplinks probing three IPv4 and three IPv6 targets each, one policy.
fn dual_stack(lab: &Lab) -> String {
    dual_stack_with(lab, "")
}

/// The same with `globals` lines.
fn dual_stack_with(lab: &Lab, globals: &str) -> String {
    let iface = |isp: usize| interface_dual_stack(lab, isp, FAST);
    format!(
        "config globals 'globals'\n{globals}\n{}{}\
config member 'm1'\n\toption interface 'isp1'\n\toption weight '1'\n\n\
config member 'm2'\n\toption interface 'isp2'\n\toption weight '1'\n\n\
config policy 'balanced'\n\tlist use_member 'm1'\n\tlist use_member 'm2'\n\n\
config rule 'all'\n\toption use_policy 'balanced'\n",
        iface(1),
        iface(2)
    )
}

/// netifd installs an IPv6 default route per WAN (from the router advertisement); rail
/// learns each uplink's IPv6 next hop from it.
fn ipv6_defaults(lab: &Lab) {
    for isp in 1..=2 {
        let u = lab.uplink(isp);
        let gw = u.gw6.expect("IPv6 lab").to_string();
        let metric = (1000 + isp).to_string();
        lab.run(
            "rtr",
            &[
                "ip", "-6", "route", "add", "default", "via", &gw, "dev", &u.dev, "metric", &metric,
            ],
        );
    }
}

/// A two-ISP lab with IPv6 and netifd-like IPv6 default routes; `None` when it cannot run.
fn dual_stack_lab() -> Option<Lab> {
    let lab = Lab::for_rail(2);
    if !lab.has_ipv6() {
        eprintln!("no IPv6 in this kernel: skipped");
        return None;
    }
    ipv6_defaults(&lab);
    Some(lab)
}

fn kernel_state6(lab: &Lab) -> (String, String) {
    (
        lab.run("rtr", &["ip", "-6", "rule"]),
        lab.run("rtr", &["ip", "-6", "route", "show", "table", "all"]),
    )
}

fn state6(rail: &Rail, iface: &str) -> String {
    rail.status()["interfaces"][iface]["state6"]
        .as_str()
        .unwrap_or("")
        .to_string()
}

fn count(tally: &BTreeMap<String, usize>, addr: impl ToString) -> usize {
    tally.get(&addr.to_string()).copied().unwrap_or(0)
}

#[test]
#[cfg_attr(not(lab_root), ignore = "needs root: the network lab")]
fn ipv6_balances_sticks_fails_over_alone_and_fails_back() {
    let Some(lab) = dual_stack_lab() else {
        return;
    };
    let before = kernel_state6(&lab);
    let service6: IpAddr = lab.service6().expect("IPv6 service").into();
    let (u1, u2) = (lab.uplink(1), lab.uplink(2));
    let (a6_1, a6_2) = (u1.addr6.expect("addr6"), u2.addr6.expect("addr6"));

    // A hook records which family of which uplink changed state.
    let events = std::env::temp_dir().join(format!("rail-ipv6-hook-{}", lab.name()));
    let hook = std::env::temp_dir().join(format!("rail-ipv6-hook-{}.sh", lab.name()));
    std::fs::write(
        &hook,
        format!(
            "#!/bin/sh\necho \"$INTERFACE|$FAMILY|$PREVIOUS|$STATE\" >>{}\n",
            events.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&hook, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let config = dual_stack_with(&lab, &format!("\tlist hook '{}'\n", hook.display()));
    let mut rail = Rail::start(&lab, &config);
    for isp in ["isp1", "isp2"] {
        rail.wait_state(isp, "up", Duration::from_secs(10));
        rail.wait_for(
            &format!("{isp} up for IPv6"),
            Duration::from_secs(10),
            |r| state6(r, isp) == "up",
        );
    }
    let status = rail.status();
    assert_eq!(
        status["interfaces"]["isp1"]["address6"],
        a6_1.to_string(),
        "the uplink's IPv6 address is learned"
    );

    // Balancing: new IPv6 connections leave by both uplinks (masqueraded to each one's
    // address, since the ISPs route only their own prefixes).
    let spread = lab.tally_to("lan", service6, 60);
    assert!(
        count(&spread, a6_1) >= 10 && count(&spread, a6_2) >= 10,
        "both uplinks carry new IPv6 connections: {spread:?}"
    );

    // An IPv6-only blackhole on isp1: IPv6 fails over, IPv4 on isp1 stays up.
    lab.fault(1, Fault::BlackholeIpv6);
    let took = rail.wait_for("isp1 down for IPv6", Duration::from_secs(5), |r| {
        state6(r, "isp1") == "down"
    });
    eprintln!("isp1 IPv6 down {took:?} after the IPv6 blackhole (poll granularity 20 ms)");
    assert_eq!(
        rail.state("isp1"),
        "up",
        "IPv4 of isp1 is judged on its own"
    );
    let after = lab.tally_to("lan", service6, 20);
    assert_eq!(
        count(&after, a6_2),
        20,
        "all new IPv6 connections via isp2: {after:?}"
    );
    let v4 = lab.tally("lan", 40);
    assert!(
        count(&v4, u1.addr) >= 5 && count(&v4, u2.addr) >= 5,
        "IPv4 still balanced over both: {v4:?}"
    );
    let status = rail.status();
    assert_eq!(
        status["policies"]["balanced"]["active6"][0]["interface"],
        "isp2"
    );
    assert_eq!(
        status["policies"]["balanced"]["active"]
            .as_array()
            .map(Vec::len),
        Some(2),
        "IPv4's policy keeps both: {status}"
    );

    // Stickiness: flows opened while only isp2 carries IPv6 stay on it when the multipath
    // route spreads over both again (without the ct mark about half would be rehashed to
    // isp1 and break: its masquerade gives them another source).
    let mut flows: Vec<Flow> = (0..8)
        .map(|_| {
            lab.try_open_flow_to("lan", service6)
                .expect("an IPv6 flow via isp2")
        })
        .collect();
    assert!(flows.iter().all(|f| f.source == a6_2.to_string()));

    lab.clear(1);
    rail.wait_for("isp1 up for IPv6 again", Duration::from_secs(10), |r| {
        state6(r, "isp1") == "up"
    });
    let back = lab.tally_to("lan", service6, 60);
    assert!(
        count(&back, a6_1) >= 10,
        "isp1 carries new IPv6 connections again: {back:?}"
    );
    let dead = flows
        .iter_mut()
        .map(|f| f.alive(Duration::from_secs(1)))
        .filter(|alive| !alive)
        .count();
    assert_eq!(dead, 0, "every long-lived IPv6 flow kept its uplink");

    assert_eq!(rail.stop(), Some(0));
    let _ = std::fs::remove_file(&events);
    let _ = std::fs::remove_file(&hook);
    assert_eq!(
        kernel_state6(&lab),
        before,
        "a clean stop leaves no IPv6 rule or route of rail's"
    );
}

#[test]
#[cfg_attr(not(lab_root), ignore = "needs root: the network lab")]
fn a_new_ipv6_prefix_on_an_uplink_is_followed() {
    let Some(lab) = dual_stack_lab() else {
        return;
    };
    let service6: IpAddr = lab.service6().expect("IPv6 service").into();
    let u1 = lab.uplink(1);
    let old = u1.addr6.expect("addr6");
    let rail = Rail::start(&lab, &dual_stack(&lab));
    rail.wait_for("isp1 up for IPv6", Duration::from_secs(10), |r| {
        state6(r, "isp1") == "up"
    });
    let transitions = |r: &Rail| r.status()["transitions"].as_array().map_or(0, Vec::len);
    let before = transitions(&rail);

    // A renumbering (new SLAAC or DHCPv6 prefix): the new address comes, the old one goes.
    let new = format!("{}7", old.to_string().trim_end_matches('2'));
    lab.run(
        "rtr",
        &[
            "ip",
            "-6",
            "addr",
            "add",
            &format!("{new}/64"),
            "dev",
            &u1.dev,
        ],
    );
    lab.run(
        "rtr",
        &[
            "ip",
            "-6",
            "addr",
            "del",
            &format!("{old}/64"),
            "dev",
            &u1.dev,
        ],
    );
    rail.wait_for("isp1's new IPv6 address", Duration::from_secs(5), |r| {
        r.status()["interfaces"]["isp1"]["address6"] == new.as_str()
    });
    let rules = lab.run("rtr", &["ip", "-6", "rule"]);
    assert!(
        rules.contains(&format!("from {new} lookup 20001")) && !rules.contains(&old.to_string()),
        "the source rule follows the address: {rules}"
    );
    // The IPv6 probes are re-bound to the new source and keep answering: no blip.
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(state6(&rail, "isp1"), "up");
    assert_eq!(rail.state("isp1"), "up");
    assert_eq!(transitions(&rail), before, "a new prefix is not an outage");
    let spread = lab.tally_to("lan", service6, 30);
    assert!(
        count(&spread, &new) >= 5,
        "new IPv6 connections via isp1 leave from its new address: {spread:?}"
    );
}

#[test]
#[cfg_attr(not(lab_root), ignore = "needs root: the network lab")]
fn an_ipv6_only_uplink_carries_ipv6_and_no_ipv4() {
    let Some(lab) = dual_stack_lab() else {
        return;
    };
    let service6: IpAddr = lab.service6().expect("IPv6 service").into();
    let (u1, u2) = (lab.uplink(1), lab.uplink(2));
    // isp2 carries IPv6 only: its IPv4 targets go, its state is its IPv6 state.
    let v4_targets: Vec<String> = lab
        .targets()
        .iter()
        .map(|t| format!("\tlist track_ip '{t}'\n"))
        .collect();
    let mut config = dual_stack(&lab);
    let isp2 = config
        .find("config interface 'isp2'")
        .expect("isp2 section");
    let (head, tail) = config.split_at(isp2);
    let mut tail = tail.replace("\toption family 'both'\n", "\toption family 'ipv6'\n");
    for line in &v4_targets {
        tail = tail.replacen(line.as_str(), "", 1);
    }
    config = format!("{head}{tail}");
    let rail = Rail::start(&lab, &config);
    rail.wait_state("isp1", "up", Duration::from_secs(10));
    rail.wait_state("isp2", "up", Duration::from_secs(10));
    let status = rail.status();
    assert_eq!(status["interfaces"]["isp2"]["family"], "ipv6");
    assert!(
        status["interfaces"]["isp2"]["state6"].is_null(),
        "one family: `state` is it"
    );
    let targets = status["interfaces"]["isp2"]["targets"].to_string();
    assert!(!targets.contains("198.18."), "no IPv4 probes: {targets}");

    let v4 = lab.tally("lan", 20);
    assert_eq!(
        count(&v4, u1.addr),
        20,
        "IPv4 only via the dual-stack uplink: {v4:?}"
    );
    let v6 = lab.tally_to("lan", service6, 60);
    assert!(
        count(&v6, u1.addr6.expect("addr6")) >= 10 && count(&v6, u2.addr6.expect("addr6")) >= 10,
        "IPv6 over both: {v6:?}"
    );
    let rules4 = lab.run("rtr", &["ip", "-4", "rule"]);
    assert!(
        !rules4.contains("lookup 20002"),
        "no IPv4 state for the IPv6-only uplink: {rules4}"
    );
}

/// `dual_stack` with the catch-all rule `all` given extra options, after `rules_before`.
fn dual_stack_rules(lab: &Lab, rules_before: &str, all_options: &str) -> String {
    dual_stack(lab).replace(
        "config rule 'all'\n\toption use_policy 'balanced'\n",
        &format!("{rules_before}config rule 'all'\n\toption use_policy 'balanced'\n{all_options}"),
    )
}

/// rail started on `config`, once both uplinks are up for IPv6.
fn start_up6<'a>(lab: &'a Lab, config: &str) -> Rail<'a> {
    let rail = Rail::start(lab, config);
    for isp in ["isp1", "isp2"] {
        rail.wait_for(
            &format!("{isp} up for IPv6"),
            Duration::from_secs(10),
            |r| state6(r, isp) == "up",
        );
    }
    rail
}

#[test]
#[cfg_attr(not(lab_root), ignore = "needs root: the network lab")]
fn a_sticky_rule_keeps_an_ipv6_source_on_one_uplink_until_that_uplink_fails() {
    let Some(lab) = dual_stack_lab() else {
        return;
    };
    let service6: IpAddr = lab.service6().expect("IPv6 service").into();
    let a6 = |isp: usize| lab.uplink(isp).addr6.expect("addr6");
    let config = dual_stack_rules(&lab, "", "\toption sticky '1'\n\toption timeout '60'\n");
    let rail = start_up6(&lab, &config);

    // Balanced 1:1, twenty IPv6 connections from one source all on one uplink: without
    // the pin that happens once in half a million runs.
    let t = lab.tally_to("lan", service6, 20);
    let pinned = if count(&t, a6(1)) == 20 { 1 } else { 2 };
    assert_eq!(
        count(&t, a6(pinned)),
        20,
        "one uplink for one source: {t:?}"
    );
    let set = format!("sticky6_all_isp{pinned}");
    let listing = lab.run("rtr", &["nft", "list", "set", "inet", "rail", &set]);
    assert!(
        listing.contains(&lab.lan_addr6().expect("LAN IPv6").to_string()),
        "the LAN host is pinned in {set}: {listing}"
    );

    // Its IPv6 fails: re-pinned to the other uplink, and kept there after it is back.
    let other = 3 - pinned;
    lab.fault(pinned, Fault::BlackholeIpv6);
    rail.wait_for("pinned uplink down for IPv6", VERDICT6, |r| {
        state6(r, &format!("isp{pinned}")) == "down"
    });
    let t = lab.tally_to("lan", service6, 10);
    assert_eq!(count(&t, a6(other)), 10, "re-pinned to isp{other}: {t:?}");
    lab.clear(pinned);
    rail.wait_for("pinned uplink up for IPv6 again", VERDICT6, |r| {
        state6(r, &format!("isp{pinned}")) == "up"
    });
    let t = lab.tally_to("lan", service6, 20);
    assert_eq!(
        count(&t, a6(other)),
        20,
        "still pinned after isp{pinned} is back: {t:?}"
    );
}

#[test]
#[cfg_attr(not(lab_root), ignore = "needs root: the network lab")]
fn an_ipset_rule_matches_ipv6_destinations_in_the_sets_ipv6_twin() {
    let Some(lab) = dual_stack_lab() else {
        return;
    };
    let service6: IpAddr = lab.service6().expect("IPv6 service").into();
    let a6_2 = lab.uplink(2).addr6.expect("addr6");
    let only2 = "config policy 'only2'\n\tlist use_member 'm2'\n\n\
config rule 'listed'\n\toption ipset 'listed'\n\toption use_policy 'only2'\n\n";
    let _rail = start_up6(&lab, &dual_stack_rules(&lab, only2, ""));
    let t = lab.tally_to("lan", service6, 40);
    assert!(count(&t, a6_2) < 40, "not listed yet: balanced: {t:?}");

    // What dnsmasq's `nftset=/example.org/4#inet#rail#listed,6#inet#rail#listed6` does.
    let element = format!("{{ {service6} }}");
    lab.run(
        "rtr",
        &["nft", "add", "element", "inet", "rail", "listed6", &element],
    );
    let t = lab.tally_to("lan", service6, 20);
    assert_eq!(count(&t, a6_2), 20, "listed: only via isp2: {t:?}");
}

/// How long rail may take to judge an IPv6 outage or recovery with `FAST` probing.
const VERDICT6: Duration = Duration::from_secs(5);

/// The prefix ISP `isp` delegates to the router for NPTv6 (routed to its uplink address).
fn delegated(isp: usize) -> String {
    format!("2001:db8:300:{isp}::")
}

#[test]
#[cfg_attr(not(lab_root), ignore = "needs root: the network lab")]
fn npt_translates_the_lan_prefix_into_each_uplinks_prefix_and_back() {
    let Some(lab) = dual_stack_lab() else {
        return;
    };
    let service6: IpAddr = lab.service6().expect("IPv6 service").into();
    let lan6 = lab.lan_addr6().expect("LAN IPv6");
    // Each ISP routes its delegated prefix to the router, and the Internet to the ISP. The
    // LAN's own 2001:db8:1::/64 is routed by no one: only translated sources get replies.
    for isp in 1..=2 {
        lab.delegate6(isp, &format!("{}/64", delegated(isp)));
    }
    // isp1 first, isp2 when isp1 fails; IPv4 keeps masquerading.
    let npt = |isp: usize| {
        format!(
            "\toption npt_internal '2001:db8:1::/64'\n\toption npt_external '{}/64'\n",
            delegated(isp)
        )
    };
    let config = dual_stack(&lab)
        .replace(
            "config interface 'isp1'\n",
            &format!("config interface 'isp1'\n{}", npt(1)),
        )
        .replace(
            "config interface 'isp2'\n",
            &format!("config interface 'isp2'\n{}", npt(2)),
        )
        .replace(
            "config member 'm2'\n\toption interface 'isp2'\n",
            "config member 'm2'\n\toption interface 'isp2'\n\toption metric '2'\n",
        );
    let rail = start_up6(&lab, &config);
    // The LAN host's address with its /64 prefix replaced by the uplink's.
    let host = |isp: usize| {
        let prefix: Ipv6Addr = delegated(isp).parse().expect("an IPv6 prefix");
        Ipv6Addr::from(u128::from(prefix) | (u128::from(lan6) & u128::from(u64::MAX)))
    };

    // The Internet sees the LAN host's host bits in isp1's prefix, and answers.
    let t = lab.tally_to("lan", service6, 5);
    assert_eq!(
        count(&t, host(1)),
        5,
        "translated into isp1's prefix: {t:?}"
    );
    let v4 = lab.tally("lan", 3);
    assert_eq!(
        count(&v4, lab.uplink(1).addr),
        3,
        "IPv4 still masqueraded: {v4:?}"
    );
    // A new connection from the Internet to the translated address reaches the LAN host.
    assert!(lab.answers("inet", host(1)), "{} is the LAN host", host(1));

    // isp1's IPv6 fails: the same host now leaves in isp2's prefix.
    lab.fault(1, Fault::BlackholeIpv6);
    rail.wait_for("isp1 down for IPv6", VERDICT6, |r| {
        state6(r, "isp1") == "down"
    });
    let t = lab.tally_to("lan", service6, 5);
    assert_eq!(
        count(&t, host(2)),
        5,
        "translated into isp2's prefix: {t:?}"
    );
    assert!(lab.answers("inet", host(2)), "{} is the LAN host", host(2));
}
