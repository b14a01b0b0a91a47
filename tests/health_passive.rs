//! Passive evidence end to end in the lab: `rail daemon` with the default probe timings,
//! the LAN opening new connections through ISP 1 to several destinations, and ISP 1 silently
//! blackholed upstream. With `passive 1` the unanswered connections make ISP 1 suspect and
//! a confirming round takes it down well before its regular rounds would.

mod common;

use common::lab::{Fault, Lab};
use common::passive::Connector;
use common::rail::{interface, interface_dual_stack, Rail};
use common::scenario::{member, policy, rule};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, SystemTime};

/// Default timings (interval 1 s, timeout 0.5 s, down 3) without the hold.
const DEFAULT: &str = "\toption hold '0'\n";

/// ISP 1 carries everything, ISP 2 is its backup; `passive` on ISP 1 as given.
fn config(lab: &Lab, passive: bool) -> String {
    config_with(lab, passive, interface)
}

/// As `config`, ISP 1's section written by `isp1`.
fn config_with(lab: &Lab, passive: bool, isp1: fn(&Lab, usize, &str) -> String) -> String {
    let passive = format!("\toption passive '{}'\n", u8::from(passive));
    "config globals 'globals'\n\n".to_string()
        + &isp1(lab, 1, &format!("{DEFAULT}{passive}"))
        + &interface(lab, 2, DEFAULT)
        + &member("m1", 1, 1, 1)
        + &member("m2", 2, 2, 1)
        + &policy("primary", &["m1", "m2"])
        + &rule("all", &[], "primary")
}

/// The LAN host opens a new HTTP connection every 100 ms, in turn to each of `dsts` (the
/// Internet serves HTTP on all the lab's targets).
fn lan_traffic(lab: &Lab, dsts: &[IpAddr]) -> Connector {
    let dests = dsts
        .iter()
        .map(|&d| SocketAddr::new(d, lab.http_port()))
        .collect();
    Connector::start(lab, "lan", dests, Duration::from_millis(100))
}

/// How long ISP 1 took to go down after the blackhole, and rail's log.
fn failover(passive: bool) -> (Duration, String) {
    let lab = Lab::for_rail(2);
    let rail = Rail::start(&lab, &config(&lab, passive));
    rail.wait_state("isp1", "up", Duration::from_secs(10));
    rail.wait_state("isp2", "up", Duration::from_secs(10));
    let targets: Vec<IpAddr> = lab.targets().into_iter().map(IpAddr::from).collect();
    let lan = lan_traffic(&lab, &targets);
    // Ten seconds of answered connections: the baseline.
    std::thread::sleep(Duration::from_secs(10));
    let opened = |rail: &Rail| rail.status()["interfaces"]["isp1"]["passive"]["opened"].as_u64();
    let counted = rail.status()["interfaces"]["isp1"]["passive"].clone();
    if passive {
        let (opened, answered) = (counted["opened"].as_u64(), counted["answered"].as_u64());
        assert!(
            opened.is_some_and(|o| o >= 50) && answered >= opened.map(|o| o - 2),
            "the status shows the LAN's connections answered: {counted}"
        );
    } else {
        assert!(counted.is_null(), "{counted}");
    }
    // A reload that changes rail's table keeps the counters and what they counted.
    let before = opened(&rail);
    rail.write_config(
        &(config(&lab, passive) + &rule("extra", &[("dest_ip", "192.0.2.99")], "primary")),
    );
    let out = rail.cli(&["reload"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::thread::sleep(Duration::from_secs(2));
    assert!(
        opened(&rail) >= before,
        "{before:?} then {:?}",
        opened(&rail)
    );
    let listed = lab.run("rtr", &["nft", "list", "table", "inet", "rail"]);
    assert!(listed.contains("\"extra\""), "reloaded: {listed}");
    assert_eq!(
        listed.contains("counter opened_isp1 {"),
        passive,
        "{listed}"
    );
    let at = lab.fault(1, Fault::Blackhole);
    rail.wait_state("isp1", "down", Duration::from_secs(6));
    let took = SystemTime::now().duration_since(at).unwrap_or_default();
    drop(lan);
    (took, rail.log_text())
}

#[test]
#[cfg_attr(not(lab_root), ignore = "needs root: the network lab")]
fn passive_evidence_takes_a_busy_blackholed_uplink_down_in_under_a_second() {
    let (took, log) = failover(true);
    eprintln!("passive: isp1 down {took:?} after the blackhole");
    let suspect = log.lines().find(|l| l.contains("isp1: suspect: "));
    assert!(suspect.is_some(), "no suspicion logged:\n{log}");
    eprintln!("{}", suspect.unwrap_or_default());
    assert!(
        log.lines()
            .any(|l| l.contains("isp1 down: confirming round: ") && l.contains("; suspect: ")),
        "the confirming round took it down:\n{log}"
    );
    assert!(took < Duration::from_secs(1), "took {took:?}:\n{log}");

    // The same lab without passive evidence waits for three failed rounds.
    let (slow, log) = failover(false);
    eprintln!("without passive: isp1 down {slow:?} after the blackhole");
    assert!(!log.contains("isp1: suspect: "), "{log}");
    assert!(slow > Duration::from_millis(1500), "took {slow:?}:\n{log}");
}

#[test]
#[cfg_attr(not(lab_root), ignore = "needs root: the network lab")]
fn passive_evidence_judges_each_family_on_its_own() {
    let lab = Lab::for_rail(2);
    if !lab.has_ipv6() {
        eprintln!("no IPv6 in this kernel: skipped");
        return;
    }
    lab.route_default6_via(1);
    let rail = Rail::start(&lab, &config_with(&lab, true, interface_dual_stack));
    rail.wait_for("isp1 up in both families", Duration::from_secs(10), |r| {
        let i = &r.status()["interfaces"]["isp1"];
        i["state"] == "up" && i["state6"] == "up"
    });
    let targets: Vec<IpAddr> = lab.targets6().into_iter().map(IpAddr::from).collect();
    let lan = lan_traffic(&lab, &targets);
    std::thread::sleep(Duration::from_secs(10));
    let at = lab.fault(1, Fault::BlackholeIpv6);
    rail.wait_for("isp1 ipv6 down", Duration::from_secs(6), |r| {
        r.status()["interfaces"]["isp1"]["state6"] == "down"
    });
    let took = SystemTime::now().duration_since(at).unwrap_or_default();
    drop(lan);
    let log = rail.log_text();
    eprintln!("passive, IPv6: isp1 ipv6 down {took:?} after the IPv6 blackhole");
    assert!(log.contains("isp1 ipv6: suspect: "), "{log}");
    assert!(log.contains("isp1 ipv6 down: confirming round: "), "{log}");
    assert!(took < Duration::from_secs(1), "took {took:?}:\n{log}");
    // IPv4 carried no connection and lost nothing: no suspicion, still up.
    assert!(!log.contains("isp1: suspect: "), "{log}");
    assert_eq!(rail.state("isp1"), "up");
}
