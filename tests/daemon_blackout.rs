//! When every uplink loses every probe target at once, the targets (or the Internet beyond
//! every provider) are gone rather than the uplinks: rail keeps forwarding over them
//! instead of blackholing the LAN, and says so in its log and status.

mod common;

use common::lab::Lab;
use common::rail::Rail;
use common::scenario::balanced_all;
use std::time::Duration;

#[test]
#[cfg_attr(not(lab_root), ignore = "needs root: the network lab")]
fn all_targets_lost_keeps_the_lan_forwarding_and_says_so() {
    let lab = Lab::for_rail(2);
    let rail = Rail::start(&lab, &balanced_all(&lab, &[1, 1]));
    rail.wait_state("isp1", "up", Duration::from_secs(10));
    rail.wait_state("isp2", "up", Duration::from_secs(10));

    // The probe targets stop answering (ICMP dropped in the Internet), the service does not.
    lab.run("inet", &["nft", "add", "table", "inet", "blackout"]);
    lab.run(
        "inet",
        &[
            "nft",
            "add",
            "chain",
            "inet",
            "blackout",
            "in",
            "{ type filter hook input priority 0; }",
        ],
    );
    lab.run(
        "inet",
        &[
            "nft", "add", "rule", "inet", "blackout", "in", "meta", "l4proto", "icmp", "drop",
        ],
    );
    rail.wait_for(
        "all targets lost, both uplinks down",
        Duration::from_secs(10),
        |r| {
            let s = r.status();
            s["all_targets_lost"] == true
                && s["interfaces"]["isp1"]["state"] == "down"
                && s["interfaces"]["isp2"]["state"] == "down"
        },
    );
    let status = rail.status();
    assert_eq!(
        status["policies"]["balanced"]["active"]
            .as_array()
            .map(Vec::len),
        Some(2),
        "both uplinks still carry new connections: {status}"
    );
    let tally = lab.tally("lan", 20);
    assert_eq!(
        tally.values().sum::<usize>(),
        20,
        "the LAN still reaches the Internet: {tally:?}"
    );
    assert!(
        rail.log_text().contains("all targets lost on every uplink"),
        "the log says why: {}",
        rail.log_text()
    );

    lab.run("inet", &["nft", "delete", "table", "inet", "blackout"]);
    rail.wait_for("targets back", Duration::from_secs(10), |r| {
        r.status()["all_targets_lost"] == false && r.state("isp1") == "up"
    });
}
