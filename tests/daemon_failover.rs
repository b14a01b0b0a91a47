//! End to end in the lab: `rail daemon` in the router balances LAN connections over two
//! ISPs, fails over when one is silently blackholed upstream, fails back when it heals, and
//! leaves nothing behind when stopped.

mod common;

use common::lab::{Fault, Lab};
use common::rail::{Rail, FAST};
use common::scenario::balanced_all;
use std::time::Duration;

fn kernel_state(lab: &Lab) -> (String, String, String) {
    (
        lab.run("rtr", &["ip", "rule"]),
        lab.run("rtr", &["ip", "route", "show", "table", "all"]),
        lab.run("rtr", &["nft", "list", "ruleset"]),
    )
}

#[test]
#[cfg_attr(not(lab_root), ignore = "needs root: the network lab")]
fn balances_fails_over_on_blackhole_fails_back_and_cleans_up() {
    let lab = Lab::for_rail(2);
    let before = kernel_state(&lab);
    let (a1, a2) = (
        lab.uplink(1).addr.to_string(),
        lab.uplink(2).addr.to_string(),
    );
    let mut rail = Rail::start(&lab, &balanced_all(&lab, &[1, 1]));
    rail.wait_state("isp1", "up", Duration::from_secs(10));
    rail.wait_state("isp2", "up", Duration::from_secs(10));

    let spread = lab.tally("lan", 60);
    assert!(
        spread.get(&a1).copied().unwrap_or(0) >= 10 && spread.get(&a2).copied().unwrap_or(0) >= 10,
        "both uplinks carry new connections: {spread:?}"
    );

    lab.fault(1, Fault::Blackhole);
    let took = rail.wait_state("isp1", "down", Duration::from_secs(5));
    eprintln!("isp1 down {took:?} after the blackhole (poll granularity 20 ms)");
    let after = lab.tally("lan", 20);
    assert_eq!(
        after.get(&a2).copied(),
        Some(20),
        "all new connections via isp2: {after:?}"
    );
    let status = rail.status();
    let reason = status["interfaces"]["isp1"]["reason"]
        .as_str()
        .unwrap_or("");
    assert!(
        reason.contains("lost"),
        "the reason names the lost probes: {reason}"
    );
    assert_eq!(
        status["policies"]["balanced"]["active"][0]["interface"],
        "isp2"
    );

    lab.clear(1);
    rail.wait_state("isp1", "up", Duration::from_secs(10));
    let back = lab.tally("lan", 60);
    assert!(
        back.get(&a1).copied().unwrap_or(0) >= 10,
        "isp1 used again: {back:?}"
    );

    assert_eq!(rail.stop(), Some(0));
    assert_eq!(
        kernel_state(&lab),
        before,
        "a clean stop leaves the kernel as it was"
    );
}

#[test]
#[cfg_attr(not(lab_root), ignore = "needs root: the network lab")]
fn carrier_loss_takes_the_uplink_down_without_waiting_for_probes() {
    let lab = Lab::for_rail(2);
    // Slow probing: only the carrier can explain a fast verdict.
    let slow =
        "\toption interval '5'\n\toption timeout '2'\n\toption down '3'\n\toption hold '0'\n";
    let config = balanced_all(&lab, &[1, 1]).replace(FAST, slow);
    let rail = Rail::start(&lab, &config);
    rail.wait_state("isp1", "up", Duration::from_secs(10));
    lab.fault(1, Fault::Carrier);
    let took = rail.wait_state("isp1", "down", Duration::from_secs(3));
    assert!(
        took < Duration::from_secs(2),
        "carrier loss acted on at once: {took:?}"
    );
    let a2 = lab.uplink(2).addr.to_string();
    assert_eq!(lab.tally("lan", 10).get(&a2).copied(), Some(10));
}
