//! State a router keeps through daily events, end to end with `rail daemon` in the lab:
//! sticky pins and set elements through other uplinks' reconnects and every reconcile.

mod common;

use std::collections::BTreeSet;
use std::net::Ipv4Addr;

use common::lab::{Fault, Lab};
use common::rail::Rail;
use common::scenario::{balanced, rule, start_up, VERDICT};

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
fn sticky_pins_survive_another_uplinks_reconnect_and_renewal() {
    let Some(lab) = Lab::for_rail(3) else { return };
    // isp2 is the PPPoE-like uplink, isp3 an Ethernet one that renews its lease.
    let config = balanced(&lab, &[1, 1, 1], "")
        + &rule("all", &[("sticky", "1"), ("timeout", "600")], "balanced");
    let rail = start_up(&lab, &config, &[1, 2, 3]);
    rail.wait_for("the sticky sets", VERDICT, |_| {
        let set = ["nft", "list", "set", "inet", "rail", "sticky_all_isp3"];
        lab.exec("rtr", &set).status.success()
    });
    let mut kept = [
        pin(&lab, "sticky_all_isp1", 1, 50),
        BTreeSet::new(),
        pin(&lab, "sticky_all_isp3", 3, 50),
    ];
    pin(&lab, "sticky_all_isp2", 2, 50);
    // One real pin: the LAN host's connections record its source in one of the sets.
    let t = lab.tally("lan", 3);
    assert_eq!(t.get("error"), None, "{t:?}");
    let lan = lab.lan_addr();
    let pinned_to = (1..=3).find(|i| elements(&lab, &format!("sticky_all_isp{i}")).contains(&lan));
    let pinned_to = pinned_to.expect("the LAN host's source is pinned");
    if pinned_to != 2 {
        kept[pinned_to - 1].insert(lan);
    }
    let check = |when: &str| {
        for i in [1, 3] {
            let now = elements(&lab, &format!("sticky_all_isp{i}"));
            let lost: Vec<_> = kept[i - 1].difference(&now).collect();
            assert!(
                lost.is_empty(),
                "{when}: isp{i} lost {} of {} pins: {lost:?}",
                lost.len(),
                kept[i - 1].len()
            );
        }
    };

    lab.fault(2, Fault::PppoeDrop);
    rail.wait_state("isp2", "no-device", VERDICT);
    check("isp2's session dropped");
    // The pins of the uplink that went away go with its set.
    assert!(elements(&lab, "sticky_all_isp2").is_empty());
    lab.fault(2, Fault::PppoeUpNew);
    rail.wait_state("isp2", "up", VERDICT);
    check("isp2 reconnected with a new address");
    assert!(elements(&lab, "sticky_all_isp2").len() <= 1);

    // isp3's DHCP renewal: its own pins and the others' stay.
    lab.fault(3, Fault::Renew);
    rail.wait_for("isp3's new address", VERDICT, |r| {
        r.status()["interfaces"]["isp3"]["address"] == lab.uplink(3).addr.to_string().as_str()
    });
    rail.wait_state("isp3", "up", VERDICT);
    check("isp3 renewed");
    let n: usize = kept.iter().map(BTreeSet::len).sum();
    eprintln!("sticky pins kept across isp2's reconnect and isp3's renewal: {n} of {n} (100%)");
    if pinned_to != 2 {
        let t = lab.tally("lan", 5);
        assert_eq!(
            t.get(&lab.uplink(pinned_to).addr.to_string()),
            Some(&5),
            "the LAN host still on isp{pinned_to}: {t:?}"
        );
    }
    drop::<Rail>(rail);
}
