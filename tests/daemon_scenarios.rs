//! The seed scenarios end to end: `rail daemon` in the lab's router, configured as each seed
//! document's setup, with LAN connections counted by the uplink address the Internet
//! service saw (rail masquerades; the lab does not).
//!
//! - Fault Tolerant Router: two priority groups, weights within the first.
//! - Intelligent Linux Gateway: server and workstation traffic on their own lines, each
//!   failing over to the other.
//! - Nano-howto: weighted balancing; an uplink's source address never leaves by another.
//! - Selective routing: port 80 of one LAN host over the alternate uplink.
//! - Failover only: primary and backup.
//! - Sticky sources: one source keeps its uplink.

mod common;

use common::lab::{Fault, Lab};
use common::rail::Rail;
use common::scenario::{
    add_lan_host, addr, balanced, balanced_all, member, policy, policy_with, reload, rule,
    start_up, tally_from, uplinks, via, VERDICT,
};

/// Blackholes isp1 until rail takes it down, expecting `n` new LAN connections all on
/// isp2; clears it until it is up, expecting `n` all on isp1 again.
fn isp1_fails_over_to_isp2_and_back(lab: &Lab, rail: &Rail, n: usize) {
    lab.fault(1, Fault::Blackhole);
    rail.wait_state("isp1", "down", VERDICT);
    let t = lab.tally("lan", n);
    assert_eq!(via(lab, &t, 2), n, "all on isp2 while isp1 is down: {t:?}");
    lab.clear(1);
    rail.wait_state("isp1", "up", VERDICT);
    let t = lab.tally("lan", n);
    assert_eq!(via(lab, &t, 1), n, "all back on isp1: {t:?}");
}

#[test]
#[cfg_attr(not(lab_root), ignore = "needs root: the network lab")]
fn ft_router_second_group_only_when_the_first_is_down_weights_within_a_group() {
    let lab = Lab::for_rail(3);
    let config = uplinks(&lab, &[1, 2, 3], "")
        + &member("m1", 1, 1, 3)
        + &member("m2", 2, 1, 1)
        + &member("m3", 3, 2, 1)
        + &policy("ft", &["m1", "m2", "m3"])
        + &rule("all", &[], "ft");
    let rail = start_up(&lab, &config, &[1, 2, 3]);

    // 3:1 within the first group: isp1 carries 150 of 200 on average (sd 6); 1:1 would
    // give 100 (sd 7). isp3 carries nothing while the first group is up.
    let t = lab.tally("lan", 200);
    let (a, b) = (via(&lab, &t, 1), via(&lab, &t, 2));
    assert_eq!(
        via(&lab, &t, 3),
        0,
        "isp3 idle while isp1 and isp2 are up: {t:?}"
    );
    assert_eq!(a + b, 200, "every connection succeeded: {t:?}");
    assert!((125..=175).contains(&a), "weights 3:1 honoured: {t:?}");

    lab.fault(1, Fault::Blackhole);
    rail.wait_state("isp1", "down", VERDICT);
    let t = lab.tally("lan", 20);
    assert_eq!(via(&lab, &t, 2), 20, "isp2 alone while isp1 is down: {t:?}");

    lab.fault(2, Fault::Blackhole);
    rail.wait_state("isp2", "down", VERDICT);
    let t = lab.tally("lan", 20);
    assert_eq!(
        via(&lab, &t, 3),
        20,
        "isp3 once the whole group is down: {t:?}"
    );

    lab.clear(1);
    rail.wait_state("isp1", "up", VERDICT);
    let t = lab.tally("lan", 20);
    assert_eq!(via(&lab, &t, 1), 20, "back to the first group: {t:?}");

    lab.clear(2);
    rail.wait_state("isp2", "up", VERDICT);
    let t = lab.tally("lan", 40);
    assert_eq!(via(&lab, &t, 3), 0, "isp3 idle again: {t:?}");
    assert!(
        via(&lab, &t, 1) > 0 && via(&lab, &t, 2) > 0,
        "both back: {t:?}"
    );
}

#[test]
#[cfg_attr(not(lab_root), ignore = "needs root: the network lab")]
fn intelligent_gateway_servers_and_workstations_each_fail_over_to_the_other_line() {
    let lab = Lab::for_rail(2);
    // The lab's LAN host is a workstation (.2); .3 plays the server.
    let (server, workstation) = ("203.0.113.3", lab.lan_addr().to_string());
    add_lan_host(&lab, server);
    let config = uplinks(&lab, &[1, 2], "")
        + &member("a_first", 1, 1, 1)
        + &member("b_backup", 2, 2, 1)
        + &member("b_first", 2, 1, 1)
        + &member("a_backup", 1, 2, 1)
        + &policy("servers", &["a_first", "b_backup"])
        + &policy("workstations", &["b_first", "a_backup"])
        + &rule("server_hosts", &[("src_ip", server)], "servers")
        + &rule(
            "workstation_hosts",
            &[("src_ip", "203.0.113.0/24")],
            "workstations",
        );
    let rail = start_up(&lab, &config, &[1, 2]);

    let lines = |server_isp: usize, ws_isp: usize, when: &str| {
        let s = tally_from(&lab, "lan", server, 10);
        assert_eq!(
            via(&lab, &s, server_isp),
            10,
            "{when}: servers on isp{server_isp}: {s:?}"
        );
        let w = tally_from(&lab, "lan", &workstation, 10);
        assert_eq!(
            via(&lab, &w, ws_isp),
            10,
            "{when}: workstations on isp{ws_isp}: {w:?}"
        );
    };
    lines(1, 2, "both lines up");

    lab.fault(1, Fault::Blackhole);
    rail.wait_state("isp1", "down", VERDICT);
    lines(2, 2, "line A down");
    lab.clear(1);
    rail.wait_state("isp1", "up", VERDICT);
    lines(1, 2, "line A back");

    lab.fault(2, Fault::Blackhole);
    rail.wait_state("isp2", "down", VERDICT);
    lines(1, 1, "line B down");
    lab.clear(2);
    rail.wait_state("isp2", "up", VERDICT);
    lines(1, 2, "line B back");
}

#[test]
#[cfg_attr(not(lab_root), ignore = "needs root: the network lab")]
fn intelligent_gateway_pppoe_reconnect_with_new_addresses_moves_workstations_and_back() {
    let lab = Lab::for_rail(2);
    // Line B is the PPPoE-like isp2: its session drops, then comes back with a new local
    // address, peer and ifindex, as pppd's reconnects do.
    let config = uplinks(&lab, &[1, 2], "")
        + &member("b_first", 2, 1, 1)
        + &member("a_backup", 1, 2, 1)
        + &policy("workstations", &["b_first", "a_backup"])
        + &rule(
            "workstation_hosts",
            &[("src_ip", "203.0.113.0/24")],
            "workstations",
        );
    let rail = start_up(&lab, &config, &[1, 2]);
    let t = lab.tally("lan", 10);
    assert_eq!(via(&lab, &t, 2), 10, "workstations on line B: {t:?}");

    lab.fault(2, Fault::PppoeDrop);
    rail.wait_for("isp2 without its device", VERDICT, |r| {
        r.state("isp2") != "up"
    });
    let t = lab.tally("lan", 10);
    assert_eq!(via(&lab, &t, 1), 10, "workstations on line A: {t:?}");

    let old = addr(&lab, 2);
    lab.fault(2, Fault::PppoeUpNew);
    let new = addr(&lab, 2);
    assert_ne!(old, new, "the session came back with a new address");
    rail.wait_state("isp2", "up", VERDICT);
    let t = lab.tally("lan", 10);
    assert_eq!(t.get(&new), Some(&10), "back on line B as {new}: {t:?}");
    let status = rail.status();
    assert_eq!(status["interfaces"]["isp2"]["address"], new.as_str());
}

#[test]
#[cfg_attr(not(lab_root), ignore = "needs root: the network lab")]
fn nano_howto_weighted_and_an_uplink_address_never_leaves_by_another_link() {
    let lab = Lab::for_rail(2);
    let config = balanced_all(&lab, &[2, 1]);
    // As on OpenWrt, where netifd puts the WAN's default route in main: what a packet
    // would take if rail did not keep each uplink's source on its own table.
    lab.route_default_via(2);
    let rail = start_up(&lab, &config, &[1, 2]);
    let (a1, a2) = (addr(&lab, 1), addr(&lab, 2));

    let t = lab.tally("lan", 90);
    let (n1, n2) = (via(&lab, &t, 1), via(&lab, &t, 2));
    assert!(n1 + n2 == 90 && n2 > 0 && n1 > n2, "2:1 over both: {t:?}");

    // Router-originated connections bound to an uplink's address leave by that uplink.
    for (isp, a) in [(1, &a1), (2, &a2)] {
        let t = tally_from(&lab, "rtr", a, 20);
        assert_eq!(via(&lab, &t, isp), 20, "bound to {a}: {t:?}");
    }

    // isp1 down: its address still goes nowhere but isp1 (the kernel refuses or isp1
    // swallows it), never out isp2, where main's default route and the balanced policy
    // (now isp2 alone) would take it, masqueraded (checked: without rail's `from` rule
    // these connections succeed as isp2's address).
    lab.fault(1, Fault::Blackhole);
    rail.wait_state("isp1", "down", VERDICT);
    let t = tally_from(&lab, "rtr", &a1, 2);
    assert_eq!(t.get("error"), Some(&2), "no way out for {a1}: {t:?}");
    let route = lab.exec(
        "rtr",
        &[
            "ip",
            "route",
            "get",
            &lab.service().to_string(),
            "from",
            &a1,
        ],
    );
    let said = String::from_utf8_lossy(&route.stdout).to_string()
        + &String::from_utf8_lossy(&route.stderr);
    assert!(
        !said.contains(&lab.uplink(2).dev),
        "{a1} is never routed out isp2: {said}"
    );
    let t = tally_from(&lab, "rtr", &a2, 5);
    assert_eq!(via(&lab, &t, 2), 5, "isp2's own address unaffected: {t:?}");
    let t = lab.tally("lan", 10);
    assert_eq!(via(&lab, &t, 2), 10, "the LAN fails over: {t:?}");

    // The router's own connections (no bound source) follow the policy too, also when
    // main's default route points at the uplink that is down.
    lab.clear(1);
    rail.wait_state("isp1", "up", VERDICT);
    lab.fault(2, Fault::Blackhole);
    rail.wait_state("isp2", "down", VERDICT);
    let t = lab.tally("rtr", 10);
    assert_eq!(
        via(&lab, &t, 1),
        10,
        "the router's own traffic fails over: {t:?}"
    );
}

#[test]
#[cfg_attr(not(lab_root), ignore = "needs root: the network lab")]
fn selective_routing_sends_one_hosts_port_80_over_the_alternate_uplink() {
    let lab = Lab::for_rail(2);
    let other = "203.0.113.3";
    add_lan_host(&lab, other);
    let host = lab.lan_addr().to_string();
    let config = uplinks(&lab, &[1, 2], "")
        + &member("p1", 1, 1, 1)
        + &member("p2", 2, 1, 1)
        + &policy("primary", &["p1"])
        + &policy("alternate", &["p2"])
        + &rule(
            "web",
            &[("src_ip", &host), ("proto", "tcp"), ("dest_port", "80")],
            "alternate",
        )
        + &rule("all", &[], "primary");
    let _rail = start_up(&lab, &config, &[1, 2]);

    let t = lab.tally("lan", 10);
    assert_eq!(via(&lab, &t, 2), 10, "{host} port 80 over isp2: {t:?}");
    let t = tally_from(&lab, "lan", other, 10);
    assert_eq!(
        via(&lab, &t, 1),
        10,
        "another host's port 80 stays on isp1: {t:?}"
    );
    for _ in 0..5 {
        let mut flow = lab.open_flow("lan");
        assert_eq!(flow.source, addr(&lab, 1), "{host} port 9000 on isp1");
        assert!(flow.alive(std::time::Duration::from_secs(1)));
    }
}

#[test]
#[cfg_attr(not(lab_root), ignore = "needs root: the network lab")]
fn selective_routing_by_a_destination_set_filled_at_run_time_survives_a_reload() {
    let lab = Lab::for_rail(2);
    let config = uplinks(&lab, &[1, 2], "")
        + &member("p1", 1, 1, 1)
        + &member("p2", 2, 1, 1)
        + &policy("primary", &["p1"])
        + &policy("alternate", &["p2"])
        + &rule("listed", &[("ipset", "via_alt")], "alternate")
        + &rule("all", &[], "primary");
    let rail = start_up(&lab, &config, &[1, 2]);
    let t = lab.tally("lan", 5);
    assert_eq!(via(&lab, &t, 1), 5, "empty set: primary: {t:?}");

    // What dnsmasq's nftset does for a resolved name.
    let service = lab.service().to_string();
    lab.run(
        "rtr",
        &[
            "nft",
            "add",
            "element",
            "inet",
            "rail",
            "via_alt",
            &format!("{{ {service} }}"),
        ],
    );
    let t = lab.tally("lan", 5);
    assert_eq!(via(&lab, &t, 2), 5, "listed destination on isp2: {t:?}");

    // A reload replaces rail's table; the elements others added stay.
    reload(
        &rail,
        &(config.clone() + "config globals 'globals'\n\toption log_level 'debug'\n"),
    );
    let t = lab.tally("lan", 5);
    assert_eq!(via(&lab, &t, 2), 5, "still listed after the reload: {t:?}");
}

#[test]
#[cfg_attr(not(lab_root), ignore = "needs root: the network lab")]
fn last_resort_unreachable_refuses_at_once_and_default_uses_mains_route() {
    let lab = Lab::for_rail(2);
    let other = "203.0.113.3";
    add_lan_host(&lab, other);
    // main's default route, as netifd keeps it, for `last_resort default`.
    lab.route_default_via(2);
    let config = uplinks(&lab, &[1, 2], "")
        + &member("p1", 1, 1, 1)
        + &policy_with("strict", &["p1"], "unreachable")
        + &policy_with("lenient", &["p1"], "default")
        + &rule("strict_host", &[("src_ip", other)], "strict")
        + &rule("all", &[], "lenient");
    let rail = start_up(&lab, &config, &[1, 2]);
    let t = lab.tally("lan", 5);
    assert_eq!(via(&lab, &t, 1), 5, "both policies on isp1: {t:?}");

    lab.fault(1, Fault::Blackhole);
    rail.wait_state("isp1", "down", VERDICT);
    let t = lab.tally("lan", 5);
    assert_eq!(
        via(&lab, &t, 2),
        5,
        "last_resort default: main's route via isp2: {t:?}"
    );
    // A refusal (ICMP unreachable from the router), not a silent drop: curl gives up at
    // once (exit 7) instead of timing out (exit 28).
    let url = format!("http://{}:{}/", lab.service(), lab.http_port());
    let out = lab.exec(
        "lan",
        &[
            "curl",
            "-sS",
            "--interface",
            other,
            "--connect-timeout",
            "5",
            &url,
        ],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(7),
        "last_resort unreachable refuses: {err}"
    );
}

#[test]
#[cfg_attr(not(lab_root), ignore = "needs root: the network lab")]
fn failover_only_primary_carries_everything_backup_only_when_it_is_down() {
    let lab = Lab::for_rail(2);
    let config = uplinks(&lab, &[1, 2], "")
        + &member("primary", 1, 1, 1)
        + &member("backup", 2, 2, 1)
        + &policy("failover", &["primary", "backup"])
        + &rule("all", &[], "failover");
    let rail = start_up(&lab, &config, &[1, 2]);

    let t = lab.tally("lan", 30);
    assert_eq!(via(&lab, &t, 1), 30, "all on the primary: {t:?}");
    let active = &rail.status()["policies"]["failover"]["active"];
    assert_eq!(active.as_array().map(Vec::len), Some(1), "{active}");
    assert_eq!(active[0]["interface"], "isp1");

    isp1_fails_over_to_isp2_and_back(&lab, &rail, 20);
}

#[test]
#[cfg_attr(not(lab_root), ignore = "needs root: the network lab")]
fn sticky_rule_keeps_a_source_on_one_uplink_until_that_uplink_fails() {
    let lab = Lab::for_rail(2);
    let config = balanced(&lab, &[1, 1], "")
        + &rule("all", &[("sticky", "1"), ("timeout", "60")], "balanced");
    let rail = start_up(&lab, &config, &[1, 2]);

    // Balanced 1:1, twenty connections from one source all on one uplink: without the pin
    // that happens once in half a million runs.
    let t = lab.tally("lan", 20);
    let pinned = if via(&lab, &t, 1) == 20 { 1 } else { 2 };
    assert_eq!(
        via(&lab, &t, pinned),
        20,
        "one uplink for one source: {t:?}"
    );

    let other = 3 - pinned;
    lab.fault(pinned, Fault::Blackhole);
    rail.wait_state(&format!("isp{pinned}"), "down", VERDICT);
    let t = lab.tally("lan", 10);
    assert_eq!(via(&lab, &t, other), 10, "re-pinned to isp{other}: {t:?}");

    lab.clear(pinned);
    rail.wait_state(&format!("isp{pinned}"), "up", VERDICT);
    let t = lab.tally("lan", 20);
    assert_eq!(
        via(&lab, &t, other),
        20,
        "still pinned after isp{pinned} is back: {t:?}"
    );
}

#[test]
#[cfg_attr(not(lab_root), ignore = "needs root: the network lab")]
fn sticky_sources_fail_back_when_their_backup_uplink_still_serves_another_policy() {
    let lab = Lab::for_rail(2);
    let config = uplinks(&lab, &[1, 2], "")
        + &member("primary", 1, 1, 1)
        + &member("backup", 2, 2, 1)
        + &member("only2", 2, 1, 1)
        + &policy("failover", &["primary", "backup"])
        + &policy("isp2_only", &["only2"])
        + &rule(
            "echo",
            &[("proto", "tcp"), ("dest_port", "9000")],
            "isp2_only",
        )
        + &rule("all", &[("sticky", "1"), ("timeout", "60")], "failover");
    let rail = start_up(&lab, &config, &[1, 2]);
    let t = lab.tally("lan", 5);
    assert_eq!(via(&lab, &t, 1), 5, "pinned to the primary: {t:?}");

    // Re-pinned to the backup; then isp2 stops carrying the sticky rule's new connections
    // (its policy is back on isp1), though it still carries another policy's: the pin to
    // it must go.
    isp1_fails_over_to_isp2_and_back(&lab, &rail, 5);
}
