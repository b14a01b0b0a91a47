//! Per-uplink egress shaping through the daemon: `option rate` on a PPPoE-like uplink is
//! installed at start, re-installed on the new device after a reconnect within a second,
//! and removed when rail stops.

mod common;

use common::lab::{Fault, Lab};
use common::rail::{interface, Rail, FAST};
use std::time::{Duration, Instant};

fn qdisc(lab: &Lab, dev: &str) -> String {
    let out = lab.exec("rtr", &["tc", "qdisc", "show", "dev", dev]);
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
#[cfg_attr(not(lab_root), ignore = "needs root: the network lab")]
fn rate_is_applied_again_after_a_pppoe_reconnect_and_removed_on_stop() {
    let lab = Lab::for_rail(2);
    let dev = lab.uplink(2).dev;
    let isp2 = interface(&lab, 2, &format!("{FAST}\toption rate '8mbit'\n"));
    let config = format!(
        "{}{isp2}config member 'm2'\n\toption interface 'isp2'\n\n\
         config policy 'p'\n\tlist use_member 'm2'\n",
        interface(&lab, 1, FAST)
    );
    let mut rail = Rail::start(&lab, &config);
    rail.wait_state("isp2", "up", Duration::from_secs(10));
    assert!(
        qdisc(&lab, &dev).contains("tbf 7261:"),
        "{}",
        qdisc(&lab, &dev)
    );
    assert!(
        !qdisc(&lab, &lab.uplink(1).dev).contains("tbf"),
        "isp1 has no rate"
    );

    lab.fault(2, Fault::PppoeDrop);
    lab.fault(2, Fault::PppoeUpNew);
    let t0 = Instant::now();
    while !qdisc(&lab, &dev).contains("tbf 7261:") {
        assert!(
            t0.elapsed() < Duration::from_secs(1),
            "not reshaped within a second: {}\n{}",
            qdisc(&lab, &dev),
            rail.log_text()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    eprintln!("reshaped {:?} after the device came back", t0.elapsed());
    assert!(
        qdisc(&lab, &dev).contains("rate 8Mbit"),
        "{}",
        qdisc(&lab, &dev)
    );

    assert_eq!(rail.stop(), Some(0));
    assert!(!qdisc(&lab, &dev).contains("tbf"), "{}", qdisc(&lab, &dev));
}
