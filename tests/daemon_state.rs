//! State a router keeps through daily events, end to end with `rail daemon` in the lab:
//! sticky pins and set elements through other uplinks' reconnects and every reconcile; a
//! failed reconcile retried until it succeeds; rail's table and rules put back when someone
//! deletes them; marks that stay with their interface across a reload that inserts one and
//! a restart; maintenance across a kill -9; unknown interfaces refused on every entry point.

#[path = "ubus_broker/mod.rs"]
mod broker;
mod common;

use std::collections::BTreeSet;
use std::net::Ipv4Addr;
use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

use serde_json::json;

use broker::{call, Broker};
use common::lab::{Fault, Flow, Lab};
use common::rail::{binary, Rail};
use common::scenario::{
    balanced, balanced_all, member, policy, reload, rule, start_up, uplinks, VERDICT,
};
use rail::openwrt::client::CallError;
use rail::openwrt::wire::Status;

/// The addresses in set `set` of `inet rail` (empty when there is no such set).
fn elements(lab: &Lab, set: &str) -> BTreeSet<Ipv4Addr> {
    let out = lab.exec("rtr", &["nft", "list", "set", "inet", "rail", set]);
    let text = String::from_utf8_lossy(&out.stdout);
    let Some(start) = text.find("elements = {") else {
        return BTreeSet::new();
    };
    text[start..]
        .split(|c: char| !(c.is_ascii_digit() || c == '.'))
        .filter_map(|t| t.parse().ok())
        .collect()
}

/// `n` made-up pinned sources in sticky set `set`, as LAN hosts' connections would leave.
fn pin(lab: &Lab, set: &str, third: u8, n: u8) -> BTreeSet<Ipv4Addr> {
    let pins: BTreeSet<Ipv4Addr> = (1..=n).map(|h| Ipv4Addr::new(10, 77, third, h)).collect();
    let list: Vec<String> = pins.iter().map(ToString::to_string).collect();
    lab.run(
        "rtr",
        &[
            "nft",
            &format!("add element inet rail {set} {{ {} }}", list.join(", ")),
        ],
    );
    pins
}

#[test]
#[cfg_attr(not(lab_root), ignore = "needs root: the network lab")]
fn sticky_pins_survive_another_uplinks_reconnect_and_renewal() {
    let lab = Lab::for_rail(3);
    // isp2 is the PPPoE-like uplink, isp3 an Ethernet one that renews its lease.
    let config = balanced(&lab, &[1, 1, 1], "")
        + &rule("all", &[("sticky", "1"), ("timeout", "600")], "balanced");
    let rail = start_up(&lab, &config, &[1, 2, 3]);
    rail.wait_for("the sticky sets", VERDICT, |_| {
        let set = ["nft", "list", "set", "inet", "rail", "sticky_all_isp3"];
        lab.exec("rtr", &set).status.success()
    });
    // Made-up pins in every set, and the LAN host's source pinned to isp1 (its connections
    // keep it there and refresh it).
    let lan = lab.lan_addr();
    let mut kept = [
        pin(&lab, "sticky_all_isp1", 1, 50),
        pin(&lab, "sticky_all_isp3", 3, 50),
    ];
    let gone = pin(&lab, "sticky_all_isp2", 2, 50);
    lab.run(
        "rtr",
        &[
            "nft",
            &format!("add element inet rail sticky_all_isp1 {{ {lan} }}"),
        ],
    );
    kept[0].insert(lan);
    let on_isp1 = |when: &str| {
        let t = lab.tally("lan", 5);
        let isp1 = lab.uplink(1).addr.to_string();
        assert_eq!(
            t.get(&isp1),
            Some(&5),
            "{when}: the LAN host on isp1: {t:?}"
        );
    };
    on_isp1("pinned");
    // The pins of `isps` (1 or 3, the uplinks left alone) are all still there.
    let check = |when: &str, isps: &[usize]| {
        for &i in isps {
            let now = elements(&lab, &format!("sticky_all_isp{i}"));
            let before = &kept[i / 2];
            let lost: Vec<_> = before.difference(&now).collect();
            assert!(
                lost.is_empty(),
                "{when}: isp{i} lost {} of {} pins: {lost:?}",
                lost.len(),
                before.len()
            );
        }
    };

    lab.fault(2, Fault::PppoeDrop);
    rail.wait_state("isp2", "no-device", VERDICT);
    check("isp2's session dropped", &[1, 3]);
    // The pins of the uplink that went away go with its set.
    assert!(elements(&lab, "sticky_all_isp2").is_empty());
    lab.fault(2, Fault::PppoeUpNew);
    rail.wait_state("isp2", "up", VERDICT);
    check("isp2 reconnected with a new address", &[1, 3]);
    // Its set is declared again, empty: the router's own connections may pin it anew.
    assert!(elements(&lab, "sticky_all_isp2").is_disjoint(&gone));

    // isp2 loses its carrier and gets it back (an ifdown/ifup that keeps the device).
    lab.fault(2, Fault::Carrier);
    rail.wait_state("isp2", "down", VERDICT);
    check("isp2's carrier lost", &[1, 3]);
    lab.clear(2);
    rail.wait_state("isp2", "up", VERDICT);
    check("isp2's carrier back", &[1, 3]);

    // isp3's DHCP renewal (new address and gateway): isp1's pins stay.
    lab.fault(3, Fault::Renew);
    rail.wait_for("isp3's new address", VERDICT, |r| {
        r.status()["interfaces"]["isp3"]["address"] == lab.uplink(3).addr.to_string().as_str()
    });
    rail.wait_state("isp3", "up", VERDICT);
    check("isp3 renewed", &[1]);
    on_isp1("after isp2's reconnect and isp3's renewal");

    // A reload that adds a rule before the sticky one rewrites the chains, not the sets.
    let more = balanced(&lab, &[1, 1, 1], "")
        + &rule("dns", &[("proto", "udp"), ("dest_port", "53")], "balanced")
        + &rule("all", &[("sticky", "1"), ("timeout", "600")], "balanced");
    reload(&rail, &more);
    rail.wait_for("the new rule", VERDICT, |_| {
        let table = lab.run("rtr", &["nft", "-t", "list", "table", "inet", "rail"]);
        table.contains("comment \"dns\"")
    });
    check("a reload that added a rule", &[1]);
    // Another timeout declares the sticky sets anew (empty), in the same transaction.
    let shorter = more.replace("'600'", "'300'");
    reload(&rail, &shorter);
    rail.wait_for("the new timeout", VERDICT, |_| {
        let set = lab.run(
            "rtr",
            &["nft", "list", "set", "inet", "rail", "sticky_all_isp1"],
        );
        set.contains("timeout 5m") && !set.contains("10.77.1.")
    });
    assert!(rail.status().get("reconcile_error").is_none());
    eprintln!(
        "sticky pins kept: isp1 {n1} of {n1} across isp2's reconnect and carrier loss, \
         isp3's renewal and a reload adding a rule; isp3 {n3} of {n3} across isp2's (100%)",
        n1 = kept[0].len(),
        n3 = kept[1].len()
    );
}

#[test]
#[cfg_attr(not(lab_root), ignore = "needs root: the network lab")]
fn a_failed_reconcile_is_retried_shown_and_logged_once() {
    let lab = Lab::for_rail(2);
    // An `nft` first in the daemon's PATH that fails while `fail` exists beside it, as a
    // fork failure under memory pressure would.
    let bin = std::env::temp_dir().join(format!("rail-{}-bin", lab.name()));
    std::fs::create_dir_all(&bin).unwrap();
    let nft = bin.join("nft");
    std::fs::write(
        &nft,
        "#!/bin/sh\n[ -e \"${0%/*}/fail\" ] && { echo 'nft: forced failure' >&2; exit 1; }\n\
         exec /usr/sbin/nft \"$@\"\n",
    )
    .unwrap();
    std::fs::set_permissions(&nft, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let config = balanced_all(&lab, &[1, 1]);
    let sock = std::env::temp_dir().join(format!("rail-{}-ubus.sock", lab.name()));
    let broker = Broker::start(&sock);
    let options = ["-s", sock.to_str().unwrap()];
    let rail = Rail::start_env(&lab, binary(), &config, &options, &[("PATH", &path)]);
    rail.wait_for("rail on the bus", VERDICT, |_| {
        broker.object("rail").is_some()
    });
    for isp in ["isp1", "isp2"] {
        rail.wait_state(isp, "up", VERDICT);
    }
    let masquerading = || {
        let table = lab.run("rtr", &["nft", "list", "table", "inet", "rail"]);
        table.contains(&format!("oifname \"{}\" masquerade", lab.uplink(1).dev))
    };
    assert!(masquerading());

    std::fs::write(bin.join("fail"), "").unwrap();
    let unmasked = config.replacen("\toption masquerade '1'\n", "\toption masquerade '0'\n", 1);
    reload(&rail, &unmasked);
    rail.wait_for("three failed attempts", VERDICT, |r| {
        r.status()["reconcile_error"]["attempts"].as_u64() >= Some(3)
    });
    let error = &rail.status()["reconcile_error"];
    // The fake nft exits before reading its script: rail sees a broken pipe.
    let text = error["error"].as_str().unwrap_or("");
    assert!(text.starts_with("applying table inet rail:"), "{error}");
    let on_ubus = call(&sock, "status", json!({}))
        .unwrap()
        .unwrap_or_default();
    assert_eq!(
        on_ubus["reconcile_error"]["since"], error["since"],
        "ubus status: {on_ubus}"
    );
    let shown = String::from_utf8_lossy(&rail.cli(&["status"]).stdout).into_owned();
    assert!(
        shown.contains("WARNING: kernel state not applied"),
        "{shown}"
    );
    assert!(masquerading(), "the old table stays while nft fails");

    std::fs::remove_file(bin.join("fail")).unwrap();
    // The next retry comes at most 4 s later (backoff 0.5, 1, 2, 4 s... after attempts
    // 1 to 4).
    rail.wait_for("a successful retry", Duration::from_secs(10), |r| {
        r.status().get("reconcile_error").is_none()
    });
    assert!(!masquerading(), "the new table is applied");
    let log = rail.log_text();
    let told = log
        .lines()
        .filter(|l| l.contains("reconcile failed"))
        .count();
    assert_eq!(told, 1, "one line for the whole run of failures:\n{log}");
    assert!(log.contains("reconciled after "), "{log}");
    let _ = std::fs::remove_dir_all(&bin);
}

/// Polls `done` every 2 ms until it holds; the time that took (at most `limit`).
fn time_until(limit: Duration, done: impl Fn() -> bool) -> Option<Duration> {
    let start = Instant::now();
    while start.elapsed() < limit {
        if done() {
            return Some(start.elapsed());
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    None
}

#[test]
#[cfg_attr(not(lab_root), ignore = "needs root: the network lab")]
fn a_flushed_ruleset_and_deleted_rules_are_restored_within_a_second() {
    let lab = Lab::for_rail(2);
    let config = balanced(&lab, &[1, 1], "")
        + &rule("all", &[("sticky", "1"), ("timeout", "600")], "balanced");
    let rail = start_up(&lab, &config, &[1, 2]);
    // Terse: the sets' elements (pins of the router's own connections) may differ.
    let table = || {
        let out = lab.exec("rtr", &["nft", "-t", "list", "table", "inet", "rail"]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    rail.wait_for("the table", VERDICT, |_| {
        table().contains("sticky_all_isp2")
    });
    let before = table();
    let mut restored = Vec::new();
    for _ in 0..3 {
        lab.run("rtr", &["nft", "flush", "ruleset"]);
        let took = time_until(Duration::from_secs(1), || table() == before);
        restored.push(took.unwrap_or_else(|| {
            panic!(
                "inet rail not restored within 1 s:\n{}\nlog:\n{}",
                table(),
                rail.log_text()
            )
        }));
    }
    let rules = || lab.run("rtr", &["ip", "rule", "show"]);
    let all_rules = rules();
    let mut rules_back = Vec::new();
    for pref in ["4000", "4201", "4900"] {
        lab.run("rtr", &["ip", "rule", "del", "pref", pref]);
        let took = time_until(Duration::from_secs(1), || rules() == all_rules);
        rules_back.push(took.expect("rail's rules restored within 1 s"));
    }
    eprintln!(
        "inet rail restored after nft flush ruleset in {restored:?}; rules in {rules_back:?}"
    );
    assert!(rail
        .log_text()
        .contains("table inet rail was deleted; restoring it"));
}

/// Uplinks `isps` (in that order) balanced 1:1 with a catch-all rule.
fn balanced_over(lab: &Lab, isps: &[usize]) -> String {
    let names: Vec<String> = isps.iter().map(|i| format!("m{i}")).collect();
    let members: String = isps
        .iter()
        .map(|&i| member(&format!("m{i}"), i, 1, 1))
        .collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    uplinks(lab, isps, "") + &members + &policy("balanced", &names) + &rule("all", &[], "balanced")
}

fn marks(rail: &Rail) -> Vec<(String, String)> {
    let s = rail.status();
    let interfaces = s["interfaces"].as_object().cloned().unwrap_or_default();
    interfaces
        .into_iter()
        .map(|(name, i)| (name, i["mark"].as_str().unwrap_or("").to_string()))
        .collect()
}

/// Every flow still carries data; the ones that do not, by the uplink they started on.
fn dead(flows: &mut [Flow]) -> Vec<String> {
    flows
        .iter_mut()
        .filter_map(|f| (!f.alive(Duration::from_secs(1))).then(|| f.source.clone()))
        .collect()
}

#[test]
#[cfg_attr(not(lab_root), ignore = "needs root: the network lab")]
fn marks_stay_with_their_interface_across_a_reload_that_inserts_one_and_a_restart() {
    let lab = Lab::for_rail(3);
    let rail = start_up(&lab, &balanced_over(&lab, &[1, 2]), &[1, 2]);
    let before = marks(&rail);
    let mut flows: Vec<Flow> = (0..8).map(|_| lab.open_flow("lan")).collect();
    let on = |isp: usize| {
        flows
            .iter()
            .filter(|f| f.source == lab.uplink(isp).addr.to_string())
            .count()
    };
    assert!(on(1) > 0 && on(2) > 0, "flows on both uplinks");
    assert!(dead(&mut flows).is_empty());

    // isp3 inserted before the others: it takes the free mark 3, theirs stay.
    let grown = balanced_over(&lab, &[3, 1, 2]);
    reload(&rail, &grown);
    rail.wait_state("isp3", "up", VERDICT);
    let mut after = before.clone();
    after.push(("isp3".into(), "0x03000000".into()));
    assert_eq!(marks(&rail), after);
    assert_eq!(
        dead(&mut flows),
        Vec::<String>::new(),
        "existing flows keep their uplink"
    );

    // A crash and a restart on the same config: the marks come back from the run directory.
    let mut rail = rail;
    rail.kill();
    let restarted = start_up(&lab, &grown, &[1, 2, 3]);
    assert_eq!(marks(&restarted), after);
    assert_eq!(
        dead(&mut flows),
        Vec::<String>::new(),
        "and after the restart"
    );
    eprintln!(
        "marks kept across the reload and the restart: {after:?}; {} of {} flows alive",
        flows.len(),
        flows.len()
    );
    drop(rail);
}

#[test]
#[cfg_attr(not(lab_root), ignore = "needs root: the network lab")]
fn unknown_interfaces_are_refused_everywhere_and_maintenance_survives_a_kill() {
    let lab = Lab::for_rail(2);
    let path = std::env::temp_dir().join(format!("rail-{}-ubus.sock", lab.name()));
    let broker = Broker::start(&path);
    let socket = path.to_str().unwrap();
    let config = balanced_all(&lab, &[1, 1]);
    let mut rail = Rail::start_with(&lab, &config, &["-s", socket]);
    rail.wait_for("rail on the bus", VERDICT, |_| {
        broker.object("rail").is_some()
    });

    // ubus: `Not found`, as netifd answers for an interface it does not have.
    for (method, args) in [
        ("maintenance", json!({"interface": "wan9", "enable": true})),
        ("hotplug", json!({"action": "ifup", "interface": "wan9"})),
    ] {
        match call(&path, method, args.clone()) {
            Err(CallError::Status(Status::NotFound)) => {}
            other => panic!("ubus call rail {method} {args}: {other:?}"),
        }
    }
    // The CLI (the control socket), for maintenance and for a hotplug sent there.
    let out = rail.cli(&["maintenance", "wan9", "on"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("no interface 'wan9'"),
        "{err}"
    );
    let control = std::path::PathBuf::from(common::rail::control_socket(&lab));
    let hotplug = json!({"action": "ifup", "interface": "wan9"});
    let reply = rail::daemon::control::call(&control, "hotplug", hotplug);
    assert_eq!(
        reply,
        Err(format!("no interface 'wan9' in {}", rail.config.display()))
    );
    assert_eq!(rail.state("isp1"), "up");
    assert_eq!(rail.state("isp2"), "up");

    // Maintenance through ubus, then a crash: procd's respawn finds it in the run directory.
    call(
        &path,
        "maintenance",
        json!({"interface": "isp1", "enable": true}),
    )
    .unwrap();
    assert_eq!(rail.state("isp1"), "maintenance");
    rail.kill();
    let rail = Rail::start_with(&lab, &config, &["-s", socket]);
    rail.wait_state("isp2", "up", VERDICT);
    assert_eq!(
        rail.state("isp1"),
        "maintenance",
        "still out of service after kill -9"
    );
    assert!(rail.log_text().contains("isp1: still out of service"));
    drop(broker);
}
