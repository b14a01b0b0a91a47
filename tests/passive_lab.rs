//! Passive detection (issue 20) end to end in the lab, with rail's default probe timings
//! and `passive` on: the LAN's own traffic never takes a healthy uplink down, whatever it
//! does (tests/common/passive.rs plays each pattern; the bench's `false_downs_passive`
//! plays the same ones). That a busy blackholed uplink goes down fast: tests/health_passive.rs.

mod common;

use common::passive::Scenario;

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
