//! End to end in the lab: two PD-only IPv6 uplinks, as many DSL and fibre providers give
//! them: no global address on the uplink, only a delegated prefix (here from the config's
//! `ip6prefix`), routed by each ISP to the router's link-local address. Each ISP drops
//! sources it did not delegate (BCP 38).
//! - Without NPTv6 (the LAN holds addresses of both prefixes): rail probes each uplink from
//!   the router's LAN address in its prefix, and a LAN source leaves only through the
//!   uplink owning its prefix, whatever the policy prefers; when that uplink fails, its
//!   prefix has no way out (its provider is the only one that routes it back).
//! - With NPTv6 (the LAN on one internal prefix, translated into each uplink's delegated
//!   one): probes leave from the router's internal address, translated; failover moves new
//!   connections to the other uplink's prefix.

mod common;

use common::lab::{Fault, Lab, UplinkKind};
use common::rail::{interface_dual_stack, Rail, FAST};
use std::net::{IpAddr, Ipv6Addr};
use std::time::{Duration, Instant};

/// The prefix ISP `isp` delegates.
fn delegated(isp: usize) -> String {
    format!("2001:db8:300:{isp}::")
}

/// The link-local address of `dev` in `node`.
fn link_local(lab: &Lab, node: &str, dev: &str) -> String {
    let out = lab.run(
        node,
        &[
            "ip", "-6", "-o", "addr", "show", "dev", dev, "scope", "link",
        ],
    );
    out.split_whitespace()
        .skip_while(|w| *w != "inet6")
        .nth(1)
        .and_then(|a| a.split('/').next())
        .unwrap_or_else(|| panic!("no link-local address on {node} {dev}: {out}"))
        .to_string()
}

/// A two-ISP lab turned PD-only: the router's uplinks keep only their link-local IPv6
/// addresses and reach each ISP through its link-local one (as after a router
/// advertisement), each ISP routes its delegated prefix to the router's link-local address
/// and drops other sources from the router. `None` when the lab cannot run.
fn pd_only_lab() -> Option<Lab> {
    let lab = Lab::for_rail(2);
    if !lab.has_ipv6() {
        eprintln!("no IPv6 in this kernel: skipped");
        return None;
    }
    for isp in 1..=2 {
        let u = lab.uplink(isp);
        let node = format!("isp{isp}");
        let addr6 = format!("{}/64", u.addr6.expect("IPv6 lab"));
        lab.run("rtr", &["ip", "-6", "addr", "del", &addr6, "dev", &u.dev]);
        // The ISP's end of the link (isp2 is a PPP session).
        let end = match u.kind {
            UplinkKind::Ethernet => "cust",
            UplinkKind::Ppp => "ppp-cust",
        };
        let isp_ll = link_local(&lab, &node, end);
        let rtr_ll = link_local(&lab, "rtr", &u.dev);
        let metric = (1000 + isp).to_string();
        lab.run(
            "rtr",
            &[
                "ip", "-6", "route", "add", "default", "via", &isp_ll, "dev", &u.dev, "metric",
                &metric,
            ],
        );
        let prefix = format!("{}/64", delegated(isp));
        lab.run(
            &node,
            &[
                "ip", "-6", "route", "add", &prefix, "via", &rtr_ll, "dev", end,
            ],
        );
        let upstream = format!("2001:db8:200:{isp}::2");
        lab.run(
            "inet",
            &["ip", "-6", "route", "add", &prefix, "via", &upstream],
        );
        lab.run(&node, &["nft", "add", "table", "inet", "bcp38"]);
        lab.run(
            &node,
            &[
                "nft",
                "add",
                "chain",
                "inet",
                "bcp38",
                "ingress_filter",
                "{ type filter hook forward priority 0; }",
            ],
        );
        lab.run(
            &node,
            &[
                "nft",
                "add",
                "rule",
                "inet",
                "bcp38",
                "ingress_filter",
                "iifname",
                end,
                "meta",
                "nfproto",
                "ipv6",
                "ip6",
                "saddr",
                "!=",
                &prefix,
                "counter",
                "drop",
            ],
        );
    }
    Some(lab)
}

fn state6(rail: &Rail, iface: &str) -> String {
    rail.status()["interfaces"][iface]["state6"]
        .as_str()
        .unwrap_or("")
        .to_string()
}

/// Two uplinks probing IPv6 only through their delegated prefix; isp1 preferred (metric),
/// isp2 when it fails. `extra(isp)` adds options to each interface.
fn config(lab: &Lab, extra: impl Fn(usize) -> String) -> String {
    let iface = |isp: usize| {
        interface_dual_stack(lab, isp, FAST).replace(
            "\toption masquerade '1'\n",
            &format!("\toption ip6prefix '{}/64'\n{}", delegated(isp), extra(isp)),
        )
    };
    format!(
        "config globals 'globals'\n\n{}{}\
config member 'm1'\n\toption interface 'isp1'\n\toption metric '1'\n\n\
config member 'm2'\n\toption interface 'isp2'\n\toption metric '2'\n\n\
config policy 'failover'\n\tlist use_member 'm1'\n\tlist use_member 'm2'\n\n\
config rule 'all'\n\toption use_policy 'failover'\n",
        iface(1),
        iface(2)
    )
}

fn start_up6<'a>(lab: &'a Lab, config: &str) -> Rail<'a> {
    let rail = Rail::start(lab, config);
    for isp in ["isp1", "isp2"] {
        let took = rail.wait_for(
            &format!("{isp} up for IPv6 (PD-only)"),
            Duration::from_secs(15),
            |r| state6(r, isp) == "up",
        );
        eprintln!("{isp} up for IPv6 after {took:?}");
    }
    // Still up after more rounds than `down` (FAST: 3 of 0.2 s) allows to fail: the probes
    // from the delegated prefix are answered.
    std::thread::sleep(Duration::from_millis(1500));
    for isp in ["isp1", "isp2"] {
        assert_eq!(state6(&rail, isp), "up", "{isp}'s IPv6 probes are answered");
    }
    rail
}

/// One HTTP request from the LAN host, from source `src`: the source the service saw.
fn fetch_from(lab: &Lab, src: &str) -> Result<String, String> {
    let service6 = lab.service6().expect("IPv6 service");
    lab.try_fetch_source_as("lan", service6.into(), Some(src))
}

#[test]
#[cfg_attr(not(lab_root), ignore = "needs root: the network lab")]
fn pd_only_uplinks_are_probed_from_their_prefix_and_route_each_prefix_to_its_provider() {
    let Some(lab) = pd_only_lab() else {
        return;
    };
    // netifd's ip6assign: an address of each delegated prefix on the LAN, and the LAN host
    // configures one of each (SLAAC).
    let lan_dev = lab.rtr_lan_dev();
    for isp in 1..=2 {
        let router = format!("{}1/64", delegated(isp));
        lab.run(
            "rtr",
            &["ip", "-6", "addr", "add", &router, "dev", &lan_dev],
        );
        let host = format!("{}2/64", delegated(isp));
        lab.run("lan", &["ip", "-6", "addr", "add", &host, "dev", "eth0"]);
    }
    let rail = start_up6(&lab, &config(&lab, |_| String::new()));
    let status = rail.status();
    for isp in 1..=2 {
        assert_eq!(
            status["interfaces"][format!("isp{isp}")]["address6"],
            format!("{}1", delegated(isp)),
            "isp{isp}'s IPv6 source is the router's address in its prefix: {status}"
        );
    }

    // The policy prefers isp1, but each prefix leaves through its own provider (isp1 would
    // drop the second as a source it did not delegate).
    for isp in 1..=2 {
        let src = format!("{}2", delegated(isp));
        for _ in 0..5 {
            assert_eq!(fetch_from(&lab, &src), Ok(src.clone()), "from {src}");
        }
    }

    // isp1's IPv6 fails: rail sees it; isp1's prefix has no way out (no other provider
    // routes it back), isp2's is untouched.
    let fault = Instant::now();
    lab.fault(1, Fault::BlackholeIpv6);
    let took = rail.wait_for("isp1 down for IPv6", Duration::from_secs(5), |r| {
        state6(r, "isp1") == "down"
    });
    eprintln!(
        "isp1 IPv6 down {took:?} after the blackhole ({:?} wall)",
        fault.elapsed()
    );
    assert_eq!(
        rail.state("isp1"),
        "up",
        "IPv4 of isp1 is judged on its own"
    );
    let src2 = format!("{}2", delegated(2));
    assert_eq!(fetch_from(&lab, &src2), Ok(src2.clone()));
    let src1 = format!("{}2", delegated(1));
    assert!(
        fetch_from(&lab, &src1).is_err(),
        "isp1's prefix does not leak out of isp2"
    );
    lab.clear(1);
    rail.wait_for("isp1 up for IPv6 again", Duration::from_secs(10), |r| {
        state6(r, "isp1") == "up"
    });
    assert_eq!(fetch_from(&lab, &src1), Ok(src1.clone()));
}

#[test]
#[cfg_attr(not(lab_root), ignore = "needs root: the network lab")]
fn pd_only_uplinks_with_nptv6_fail_over_to_the_other_prefix() {
    let Some(lab) = pd_only_lab() else {
        return;
    };
    // The LAN keeps the lab's 2001:db8:1::/64, which no ISP routes: NPTv6 translates it
    // into each uplink's delegated prefix.
    let lan6 = lab.lan_addr6().expect("LAN IPv6");
    let rail = start_up6(
        &lab,
        &config(&lab, |_| "\toption npt_internal '2001:db8:1::/64'\n".into()),
    );
    let status = rail.status();
    assert_eq!(
        status["interfaces"]["isp1"]["address6"],
        lab.lan_gw6().expect("LAN gateway").to_string(),
        "the source is the router's internal address, translated on the way out: {status}"
    );
    let host = |isp: usize| {
        let prefix: Ipv6Addr = delegated(isp).parse().expect("an IPv6 prefix");
        Ipv6Addr::from(u128::from(prefix) | (u128::from(lan6) & u128::from(u64::MAX)))
    };
    let service6: IpAddr = lab.service6().expect("IPv6 service").into();
    let t = lab.tally_to("lan", service6, 5);
    assert_eq!(
        t.get(&host(1).to_string()).copied(),
        Some(5),
        "via isp1: {t:?}"
    );

    // isp1's IPv6 fails: how long until a new connection leaves via isp2, translated.
    let flow = lab
        .try_open_flow_to("lan", service6)
        .expect("a flow via isp1");
    let fault = Instant::now();
    lab.fault(1, Fault::BlackholeIpv6);
    let via2 = host(2).to_string();
    let mut first = None;
    while fault.elapsed() < Duration::from_secs(10) {
        if lab.try_fetch_source_from("lan", service6).as_deref() == Ok(via2.as_str()) {
            first = Some(fault.elapsed());
            break;
        }
    }
    let first = first.expect("a new IPv6 connection via isp2 within 10 s");
    eprintln!("NPTv6 failover: first new connection via isp2 {first:?} after the blackhole");
    let t = lab.tally_to("lan", service6, 5);
    assert_eq!(t.get(&via2).copied(), Some(5), "all via isp2: {t:?}");
    let mut flow = flow;
    eprintln!(
        "a flow opened via isp1 before the fault is {} after it",
        if flow.alive(Duration::from_secs(1)) {
            "alive"
        } else {
            "dead"
        }
    );
}
