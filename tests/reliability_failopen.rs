//! Failing open, end to end in the lab (docs/reliability.md): with a plain main default
//! route (as netifd installs), the LAN keeps reaching the Internet after rail is killed,
//! also when an uplink reconnects while rail is gone; a clean stop leaves the kernel
//! exactly as it was.

mod common;
mod reliability_lab;

use common::lab::{Fault, Lab};
use reliability_lab::{lab, running};

fn kernel_state(lab: &Lab) -> String {
    [
        &["ip", "rule"][..],
        &["ip", "route", "show", "table", "all"],
        &["nft", "list", "ruleset"],
    ]
    .iter()
    .map(|cmd| lab.run("rtr", cmd))
    .collect()
}

/// `n` new LAN connections: how many failed.
fn failures(lab: &Lab, n: usize) -> usize {
    lab.tally("lan", n).get("error").copied().unwrap_or(0)
}

#[test]
#[cfg_attr(not(lab_root), ignore = "needs root: the network lab")]
fn lan_keeps_working_after_kill_9_and_a_clean_stop_restores_the_kernel() {
    let lab = lab();
    lab.route_default_via(1);
    let before = kernel_state(&lab);

    let mut rail = running(&lab);
    assert_eq!(failures(&lab, 10), 0, "LAN works with rail");
    rail.kill();
    assert_eq!(failures(&lab, 20), 0, "LAN works after rail was killed");
    // The uplink rail balanced onto fails while rail is gone: the kernel drops the dead
    // nexthop only on carrier loss, so this is where a restart is needed (see the docs);
    // here, carrier loss on isp2.
    lab.fault(2, Fault::Carrier);
    assert_eq!(
        failures(&lab, 20),
        0,
        "LAN works after rail was killed and isp2 lost its carrier"
    );
    lab.clear(2);

    let mut rail = running(&lab);
    assert_eq!(rail.stop(), Some(0));
    assert_eq!(
        kernel_state(&lab),
        before,
        "a clean stop after a crash leaves the kernel as before"
    );
}

#[test]
#[cfg_attr(not(lab_root), ignore = "needs root: the network lab")]
fn lan_keeps_working_when_an_uplink_reconnects_after_kill_9() {
    let lab = lab();
    // The PPPoE uplink is main's default, as netifd installs it.
    lab.route_default_via(2);
    let mut rail = running(&lab);
    rail.kill();

    // pppd reconnects while rail is gone: a new device, netifd's default route again.
    lab.fault(2, Fault::PppoeDrop);
    lab.fault(2, Fault::PppoeUp);
    lab.route_default_via(2);
    let t = lab.tally("lan", 20);
    assert_eq!(
        t.get("error"),
        None,
        "LAN connections over main's default after the reconnect: {t:?}\nip rule:\n{}\nroutes:\n{}",
        lab.run("rtr", &["ip", "rule"]),
        lab.run("rtr", &["ip", "route", "show", "table", "all"])
    );
}
