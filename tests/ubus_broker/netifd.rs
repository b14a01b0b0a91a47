//! A netifd stand-in for tests: a client publishing `network.interface` (whose
//! notifications carry interface status) and `network.interface.wan` with a `status`
//! method answering from shared state, plus status dumps shaped like netifd's.

use std::cell::RefCell;
use std::path::Path;
use std::rc::Rc;

use serde_json::{json, Value};

use rail::openwrt::client::{Client, Config, Method, Object};
use rail::openwrt::wire::Status;

/// A netifd stand-in: publishes `network.interface` (for notifications) and
/// `network.interface.wan` with a `status` method, and sends `network.interface` events.
pub fn netifd_peer(path: &Path, wan: Rc<RefCell<Value>>) -> Client {
    let status_method = Method {
        name: "status",
        args: vec![],
    };
    Client::new(Config {
        objects: vec![
            Object {
                path: "network.interface".into(),
                methods: vec![],
                handler: Rc::new(|_, _| Err(Status::MethodNotFound)),
            },
            Object {
                path: "network.interface.wan".into(),
                methods: vec![status_method],
                handler: Rc::new(move |_, _| Ok(Some(wan.borrow().clone()))),
            },
        ],
        sockets: vec![path.to_path_buf()],
        ..Config::default()
    })
}

pub fn pppoe_status(up: bool, device: &str, local: &str, peer: &str) -> Value {
    if !up {
        return json!({"up": false, "pending": false, "available": true, "autostart": true,
                      "dynamic": false, "proto": "pppoe", "data": {}});
    }
    json!({
        "up": true, "pending": false, "available": true, "autostart": true, "dynamic": false,
        "uptime": 3, "l3_device": device, "proto": "pppoe", "metric": 0, "dns_metric": 0,
        "delegation": true,
        "ipv4-address": [{"address": local, "mask": 32, "ptpaddress": peer}],
        "ipv6-address": [], "ipv6-prefix": [], "ipv6-prefix-assignment": [],
        "route": [{"target": "0.0.0.0", "mask": 0, "nexthop": peer, "source": "0.0.0.0/0"}],
        "dns-server": ["192.0.2.53"], "dns-search": [], "neighbors": [], "inactive": {},
        "data": {}
    })
}

/// The notification netifd sends for `wan`: its status dump plus the interface name.
pub fn named(wan: &RefCell<Value>) -> Value {
    let mut status = wan.borrow().clone();
    status["interface"] = json!("wan");
    status
}
