//! netifd tells rail where a PPPoE uplink is: the config names no device for `wan`; a
//! netifd stand-in on a broker speaking ubusd's wire protocol publishes
//! `network.interface.wan` and sends its events and notifications. The lab's PPPoE-like
//! device is torn down and recreated with a new ifindex and addresses, netifd announces it,
//! and rail rebinds probes, tables, rules and policy routes with no user action.

#[path = "ubus_broker/mod.rs"]
mod broker;
mod common;

use std::cell::RefCell;
use std::net::Ipv4Addr;
use std::rc::Rc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use broker::netifd::{named, netifd_peer, pppoe_status};
use broker::Broker;
use common::lab::{Fault, Lab};
use common::rail::{interface, Rail, FAST};

/// What the test asks the netifd stand-in to announce.
struct Announce {
    status: Value,
    action: &'static str,
    kind: &'static str,
}

/// Runs the netifd stand-in on its own thread and executor; announcements go in through
/// the returned channel.
fn netifd(path: std::path::PathBuf, first: Value) -> smol::channel::Sender<Announce> {
    let (tx, rx) = smol::channel::unbounded::<Announce>();
    std::thread::spawn(move || {
        let ex = smol::LocalExecutor::new();
        let wan = Rc::new(RefCell::new(first));
        let peer = netifd_peer(&path, wan.clone());
        let runner = peer.clone();
        ex.spawn(async move { runner.run().await }).detach();
        smol::block_on(ex.run(async {
            while let Ok(a) = rx.recv().await {
                *wan.borrow_mut() = a.status;
                let event = json!({"action": a.action, "interface": "wan"});
                let _ = peer.send_event("network.interface", &event).await;
                let _ = peer.notify("network.interface", a.kind, &named(&wan)).await;
            }
        }));
    });
    tx
}

fn config(lab: &Lab) -> String {
    let isp2 = interface(lab, 2, FAST);
    // `wan` is ISP 2's PPPoE-like uplink, known only through netifd.
    let wan = isp2
        .replace("config interface 'isp2'", "config interface 'wan'")
        .replace(&format!("\toption device '{}'\n", lab.uplink(2).dev), "");
    format!(
        "config globals 'globals'\n\n{}{wan}\
config member 'wan_m1'\n\toption interface 'wan'\n\toption metric '1'\n\n\
config member 'isp1_m2'\n\toption interface 'isp1'\n\toption metric '2'\n\n\
config policy 'wan_first'\n\tlist use_member 'wan_m1'\n\tlist use_member 'isp1_m2'\n\n\
config rule 'all'\n\toption dest_ip '0.0.0.0/0'\n\toption use_policy 'wan_first'\n",
        interface(lab, 1, FAST)
    )
}

fn wan(rail: &Rail) -> Value {
    rail.status()["interfaces"]["wan"].clone()
}

#[test]
fn pppoe_uplink_rebinds_on_a_new_device_announced_by_netifd() {
    let Some(lab) = Lab::for_rail(2) else {
        return;
    };
    let dir = std::env::temp_dir().join(format!("rail-netifd-{}", lab.name()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("ubus.sock");
    let _broker = Broker::start(&path);
    let up = |addr: Ipv4Addr, peer: Ipv4Addr| {
        pppoe_status(
            true,
            &lab.uplink(2).dev,
            &addr.to_string(),
            &peer.to_string(),
        )
    };
    let first = lab.uplink(2);
    let announce = netifd(path.clone(), up(first.addr, first.gw));

    let rail = Rail::start_with(&lab, &config(&lab), &["-s", path.to_str().unwrap()]);
    rail.wait_for(
        "wan bound through netifd and up",
        Duration::from_secs(10),
        |r| {
            let w = wan(r);
            w["state"] == "up" && w["device"] == first.dev.as_str()
        },
    );
    let old_index = wan(&rail)["ifindex"].as_u64().unwrap();
    let tally = lab.tally("lan", 10);
    assert_eq!(tally.get(&first.addr.to_string()), Some(&10), "{tally:?}");

    // The PPPoE session drops: the device goes, netifd says so.
    lab.fault(2, Fault::PppoeDrop);
    announce
        .send_blocking(Announce {
            status: pppoe_status(false, "", "", ""),
            action: "ifdown",
            kind: "interface.down",
        })
        .unwrap();
    rail.wait_for("wan out of service", Duration::from_secs(5), |r| {
        wan(r)["state"] != "up"
    });
    let isp1 = lab.uplink(1).addr.to_string();
    assert_eq!(
        lab.tally("lan", 10).get(&isp1),
        Some(&10),
        "the backup carries the LAN"
    );

    // It comes back on a new device index with new addresses.
    lab.fault(2, Fault::PppoeUpNew);
    let again = lab.uplink(2);
    assert_ne!(
        again.addr, first.addr,
        "the lab gave the session a new address"
    );
    let t0 = Instant::now();
    announce
        .send_blocking(Announce {
            status: up(again.addr, again.gw),
            action: "ifup",
            kind: "interface.update",
        })
        .unwrap();
    rail.wait_for(
        "wan rebound to the new device",
        Duration::from_secs(5),
        |r| {
            let w = wan(r);
            w["ifindex"].as_u64() != Some(old_index)
                && w["address"] == again.addr.to_string().as_str()
        },
    );
    let rebound = t0.elapsed();
    rail.wait_state("wan", "up", Duration::from_secs(5));
    eprintln!("rebound {rebound:?} after netifd's announcement");
    let rules = lab.run("rtr", &["ip", "rule"]);
    assert!(
        rules.contains(&format!("from {} lookup", again.addr)),
        "{rules}"
    );
    assert!(
        !rules.contains(&format!("from {} lookup", first.addr)),
        "{rules}"
    );
    let tally = lab.tally("lan", 10);
    assert_eq!(tally.get(&again.addr.to_string()), Some(&10), "{tally:?}");
}
