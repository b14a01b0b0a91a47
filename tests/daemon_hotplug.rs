//! A hotplug event while netifd is slow to answer (docs/reliability.md): rail reads the
//! interface's status from netifd for an ifup, and netifd may take up to the bus's 5 s
//! timeout. The read must not hold the daemon's one loop: the hotplug call is answered at
//! once and netifd's status is applied when it comes.

#[path = "ubus_broker/mod.rs"]
mod broker;
mod common;

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use broker::netifd::pppoe_status;
use broker::Broker;
use common::lab::Lab;
use common::rail::{interface, Rail, FAST};
use rail::openwrt::client::{Client, Config, Method, Object};
use rail::openwrt::wire::Status;

/// How long the slow netifd takes over each status call.
const SLOW: Duration = Duration::from_secs(3);

/// A netifd stand-in publishing `network.interface.wan`, whose status call takes `SLOW`
/// (its whole thread stalls, as a busy netifd does) while `slow` is set.
fn slow_netifd(path: std::path::PathBuf, status: Value, slow: Arc<AtomicBool>) {
    std::thread::spawn(move || {
        let ex = smol::LocalExecutor::new();
        let status = Rc::new(RefCell::new(status));
        let client = Client::new(Config {
            objects: vec![
                Object {
                    path: "network.interface".into(),
                    methods: vec![],
                    handler: Rc::new(|_, _| Err(Status::MethodNotFound)),
                },
                Object {
                    path: "network.interface.wan".into(),
                    methods: vec![Method {
                        name: "status",
                        args: vec![],
                    }],
                    handler: Rc::new(move |_, _| {
                        if slow.load(Ordering::SeqCst) {
                            std::thread::sleep(SLOW);
                        }
                        Ok(Some(status.borrow().clone().into()))
                    }),
                },
            ],
            sockets: vec![path],
            ..Config::default()
        });
        smol::block_on(ex.run(client.run()));
    });
}

#[test]
#[cfg_attr(not(lab_root), ignore = "needs root: the network lab")]
fn a_hotplug_event_does_not_hold_the_loop_while_netifd_is_slow() {
    let lab = Lab::for_rail(2);
    let dir = std::env::temp_dir().join(format!("rail-hotplug-{}", lab.name()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("ubus.sock");
    let _broker = Broker::start(&path);
    let wan = lab.uplink(2);
    let status = pppoe_status(true, &wan.dev, &wan.addr.to_string(), &wan.gw.to_string());
    let slow = Arc::new(AtomicBool::new(false));
    slow_netifd(path.clone(), status, slow.clone());
    let isp2 = interface(&lab, 2, FAST)
        .replace("config interface 'isp2'", "config interface 'wan'")
        .replace(&format!("\toption device '{}'\n", wan.dev), "");
    let config = format!(
        "config globals 'globals'\n\n{}{isp2}\
config member 'wan_m1'\n\toption interface 'wan'\n\n\
config policy 'wan_only'\n\tlist use_member 'wan_m1'\n\n\
config rule 'all'\n\toption dest_ip '0.0.0.0/0'\n\toption use_policy 'wan_only'\n",
        interface(&lab, 1, FAST)
    );
    let rail = Rail::start_with(&lab, &config, &["-s", path.to_str().unwrap()]);
    rail.wait_for("wan up through netifd", Duration::from_secs(10), |r| {
        r.status()["interfaces"]["wan"]["state"] == "up"
    });

    slow.store(true, Ordering::SeqCst);
    let socket = std::path::PathBuf::from(common::rail::control_socket(&lab));
    let args = json!({"action": "ifup", "interface": "wan", "device": wan.dev});
    let start = Instant::now();
    rail::daemon::control::call(&socket, "hotplug", args).unwrap();
    let took = start.elapsed();
    // The loop answers the next request while netifd still sits on the status call.
    let reload = Instant::now();
    rail::daemon::control::call(&socket, "reload", Value::Null).unwrap();
    let reload_took = reload.elapsed();
    assert!(
        took < SLOW / 3 && reload_took < SLOW / 3,
        "the hotplug call took {took:?} and the next request {reload_took:?} with netifd taking {SLOW:?}"
    );
    slow.store(false, Ordering::SeqCst);
    std::thread::sleep(SLOW);
    assert_eq!(rail.status()["interfaces"]["wan"]["state"], "up");
    assert!(
        rail.log_text().contains("wan: hotplug ifup"),
        "{}",
        rail.log_text()
    );
}
