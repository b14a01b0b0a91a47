//! Passive detection (issue 20) end to end in the lab, with rail's default probe timings
//! and `passive` on: the LAN's own traffic never takes a healthy uplink down, whatever it
//! does (tests/common/passive.rs plays each pattern; the bench's `false_downs_passive`
//! plays the same ones), and a busy uplink that is silently blackholed goes down well
//! before the probes alone would take it down (2.2 - 2.8 s).

mod common;

use common::lab::{Fault, Lab};
use common::passive::{config, on_port, prepare, servers, suspicions, Connector, Scenario};
use common::rail::Rail;
use std::time::{Duration, SystemTime};

/// Plays `scenario` and asserts rail never took the uplink out of service, and suspected
/// it only as the issue says (`Outcome::suspicions_as_asked`).
fn never_down(scenario: Scenario) {
    let o = scenario.run();
    eprintln!(
        "{scenario:?}: {} suspicions, {} cleared; LAN connections {} answered, {} not",
        o.suspicions, o.cleared, o.answered, o.unanswered
    );
    assert!(o.downs.is_empty(), "a healthy uplink went down: {o}");
    assert!(o.suspicions_as_asked(), "suspicions: {o}");
}

#[test]
#[cfg_attr(not(lab_root), ignore = "needs root: the network lab")]
fn a_lan_host_scanning_dead_addresses_never_takes_the_uplink_down() {
    never_down(Scenario::Scan);
}

#[test]
#[cfg_attr(not(lab_root), ignore = "needs root: the network lab")]
fn a_scan_beside_answered_traffic_never_takes_the_uplink_down() {
    never_down(Scenario::ScanBesideTraffic);
}

#[test]
#[cfg_attr(not(lab_root), ignore = "needs root: the network lab")]
fn one_dead_server_never_takes_an_idle_uplink_down() {
    never_down(Scenario::DeadServer);
}

#[test]
#[cfg_attr(not(lab_root), ignore = "needs root: the network lab")]
fn twenty_percent_random_loss_never_takes_the_uplink_down() {
    never_down(Scenario::Loss);
}

#[test]
#[cfg_attr(not(lab_root), ignore = "needs root: the network lab")]
fn an_idle_uplink_and_the_traffic_after_it_never_take_it_down() {
    never_down(Scenario::Idle);
}

#[test]
#[cfg_attr(not(lab_root), ignore = "needs root: the network lab")]
fn a_busy_uplink_silently_blackholed_goes_down_within_a_second() {
    let Some(lab) = Lab::for_rail(1) else { return };
    prepare(&lab);
    let rail = Rail::start(&lab, &config(&lab, &[1]));
    rail.wait_probing(1);
    // 50 new connections a second to 16 servers, as the bench's LAN client opens them.
    let busy = Connector::start(
        &lab,
        "lan",
        on_port(&servers(), lab.http_port()),
        Duration::from_millis(20),
    );
    std::thread::sleep(Duration::from_secs(2)); // a history of answered connections
    let fault_at = lab.fault(1, Fault::Blackhole);
    rail.wait_state("isp1", "down", Duration::from_secs(5));
    // Polled every 20 ms through `rail status`: late by that much, never early.
    let took = SystemTime::now().duration_since(fault_at).unwrap();
    let (answered, unanswered, rate) = busy.finish();
    let log = rail.log_text();
    eprintln!(
        "down {took:?} after the blackhole; LAN {answered} answered, {unanswered} not, {rate:.0}/s"
    );
    assert!(
        took < Duration::from_secs(1),
        "down {took:?} after the fault (the probes alone: 2.2 - 2.8 s); log:\n{log}"
    );
    assert!(
        suspicions(&log) > 0,
        "passive evidence made it suspect first; log:\n{log}"
    );
}
