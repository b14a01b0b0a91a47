//! mwan3's shipped configuration, imported and run by `rail daemon` in the lab, behaves as
//! it does under mwan3: `balanced` spreads new connections over wan and wanb, `wan_wanb`
//! keeps everything on wan and fails over to wanb when wan stops forwarding, and back.
//!
//! The shipped file is changed only as a user would before using it: wanb enabled, the
//! probe targets pointed at the lab's, and whole-second timings short enough for a test.

mod common;

use common::lab::{Fault, Lab, UplinkKind};
use common::rail::Rail;
use std::time::Duration;

/// tests/import/shipped.mwan3 with the user's edits, and `default_rule_v4` sent to `policy`.
fn mwan3_config(lab: &Lab, policy: &str) -> String {
    let shipped = include_str!("import/shipped.mwan3");
    let targets = lab.targets();
    let mut text = shipped
        .replace("'1.0.0.1'", &format!("'{}'", targets[0]))
        .replace("'1.1.1.1'", &format!("'{}'", targets[1]))
        .replace("'208.67.222.222'", &format!("'{}'", targets[2]))
        .replace("'208.67.220.220'", &format!("'{}'", targets[3]));
    // The rule that carries the lab's IPv4 traffic.
    text = text.replace(
        "config rule 'default_rule_v4'\n\toption dest_ip '0.0.0.0/0'\n\toption use_policy 'balanced'",
        &format!("config rule 'default_rule_v4'\n\toption dest_ip '0.0.0.0/0'\n\toption use_policy '{policy}'"),
    );
    assert!(text.contains(&format!("use_policy '{policy}'\n\toption family 'ipv4'")));
    // UCI merges a section named twice: enable wanb and set mwan3 timings (whole seconds).
    for iface in ["wan", "wanb"] {
        text += &format!(
            "\nconfig interface '{iface}'\n\toption enabled '1'\n\toption interval '1'\n\toption timeout '1'\n\toption down '2'\n\toption up '2'\n"
        );
    }
    text
}

/// Import, then add what netifd tells rail on a router: each uplink's device and gateway
/// (and masquerading, which fw4 does there).
fn rail_config(lab: &Lab, mwan3: &str) -> String {
    let pkg = rail::uci::parse("mwan3", mwan3).expect("mwan3 text parses");
    let import = rail::import::mwan3("mwan3", &pkg, None);
    let mut text = rail::import::render(&import, "mwan3");
    for (iface, isp) in [("wan", 1), ("wanb", 2)] {
        let up = lab.uplink(isp);
        text += &format!(
            "\nconfig interface '{iface}'\n\toption device '{}'\n\toption masquerade '1'\n",
            up.dev
        );
        if up.kind == UplinkKind::Ethernet {
            text += &format!("\toption gateway '{}'\n", up.gw);
        }
    }
    text
}

#[test]
#[cfg_attr(not(lab_root), ignore = "needs root: the network lab")]
fn shipped_config_balances_and_fails_over_in_the_same_order() {
    let lab = Lab::for_rail(2);
    let (a1, a2) = (
        lab.uplink(1).addr.to_string(),
        lab.uplink(2).addr.to_string(),
    );
    let count =
        |t: &std::collections::BTreeMap<String, usize>, a: &str| t.get(a).copied().unwrap_or(0);

    // `balanced`: wan and wanb at weight 3 each.
    let mut rail = Rail::start(&lab, &rail_config(&lab, &mwan3_config(&lab, "balanced")));
    rail.wait_state("wan", "up", Duration::from_secs(15));
    rail.wait_state("wanb", "up", Duration::from_secs(15));
    assert_eq!(rail.state("wanb6"), "disabled");
    let spread = lab.tally("lan", 60);
    assert!(
        count(&spread, &a1) >= 10 && count(&spread, &a2) >= 10,
        "balanced spreads over wan and wanb: {spread:?}"
    );
    rail.stop();

    // `wan_wanb`: wan (metric 1) first, wanb (metric 2) only when wan is down.
    let rail = Rail::start(&lab, &rail_config(&lab, &mwan3_config(&lab, "wan_wanb")));
    rail.wait_state("wan", "up", Duration::from_secs(15));
    rail.wait_state("wanb", "up", Duration::from_secs(15));
    assert_eq!(count(&lab.tally("lan", 20), &a1), 20, "all on wan");

    lab.fault(1, Fault::Blackhole);
    let took = rail.wait_state("wan", "down", Duration::from_secs(15));
    eprintln!("wan down {took:?} after the blackhole (interval 1 s, down 2)");
    assert_eq!(count(&lab.tally("lan", 20), &a2), 20, "all on wanb");

    lab.clear(1);
    rail.wait_state("wan", "up", Duration::from_secs(15));
    assert_eq!(count(&lab.tally("lan", 20), &a1), 20, "back on wan");
}
