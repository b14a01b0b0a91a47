//! A netifd stand-in for tests: a client publishing `network.interface` (whose
//! notifications carry interface status) and `network.interface.<name>` objects with a
//! `status` method answering from shared state, plus status dumps shaped like netifd's.

use std::cell::RefCell;
use std::path::Path;
use std::rc::Rc;

use serde_json::{json, Value};

use rail::openwrt::client::{Client, Config, Method, Object};
use rail::openwrt::wire::Status;

/// A netifd stand-in: publishes `network.interface` (for notifications) and
/// `network.interface.wan` with a `status` method, and sends `network.interface` events.
pub fn netifd_peer(path: &Path, wan: Rc<RefCell<Value>>) -> Client {
    netifd_peer_for(path, vec![("wan".into(), wan)])
}

/// The same for several interfaces, each `(name, status)`.
pub fn netifd_peer_for(path: &Path, interfaces: Vec<(String, Rc<RefCell<Value>>)>) -> Client {
    let mut objects = vec![Object {
        path: "network.interface".into(),
        methods: vec![],
        handler: Rc::new(|_, _| Err(Status::MethodNotFound)),
    }];
    for (name, status) in interfaces {
        objects.push(Object {
            path: format!("network.interface.{name}"),
            methods: vec![Method {
                name: "status",
                args: vec![],
            }],
            handler: Rc::new(move |_, _| Ok(Some(status.borrow().clone().into()))),
        });
    }
    Client::new(Config {
        objects,
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

/// A DHCP interface that is up on `device` with `address`/`mask` and its default route via
/// `gateway`.
pub fn dhcp_status(device: &str, address: &str, mask: u8, gateway: &str) -> Value {
    json!({
        "up": true, "pending": false, "available": true, "autostart": true, "dynamic": false,
        "uptime": 5, "l3_device": device, "device": device, "proto": "dhcp", "metric": 0,
        "ipv4-address": [{"address": address, "mask": mask}],
        "ipv6-address": [], "ipv6-prefix": [],
        "route": [{"target": "0.0.0.0", "mask": 0, "nexthop": gateway,
                   "source": format!("{address}/32")}],
        "data": {}
    })
}

/// What ppp6-up's dynamic `<name>_6` (proto dhcpv6, `ifname @<name>`) dumps when up: the
/// parent's L3 device, a DHCPv6 address, the delegated `prefix` (address, length) if any,
/// and a source-specific default route via `nexthop`.
pub fn dhcpv6_status(
    device: &str,
    address: &str,
    nexthop: &str,
    prefix: Option<(&str, u8)>,
) -> Value {
    let prefixes: Vec<Value> = prefix
        .map(|(p, len)| json!({"address": p, "mask": len, "preferred": 3600, "valid": 7200}))
        .into_iter()
        .collect();
    json!({
        "up": true, "pending": false, "available": true, "autostart": true, "dynamic": true,
        "uptime": 2, "l3_device": device, "device": device, "proto": "dhcpv6", "metric": 0,
        "delegation": true, "ipv4-address": [],
        "ipv6-address": [{"address": address, "mask": 64, "preferred": 3600, "valid": 7200}],
        "ipv6-prefix": prefixes, "ipv6-prefix-assignment": [],
        "route": [{"target": "::", "mask": 0, "nexthop": nexthop, "metric": 512,
                   "valid": 1800, "source": format!("{address}/128")}],
        "dns-server": [], "dns-search": [], "neighbors": [], "inactive": {}, "data": {}
    })
}

/// The notification netifd sends for `wan`: its status dump plus the interface name.
pub fn named(wan: &RefCell<Value>) -> Value {
    named_as(wan, "wan")
}

/// The notification netifd sends for interface `name`.
pub fn named_as(status: &RefCell<Value>, name: &str) -> Value {
    let mut status = status.borrow().clone();
    status["interface"] = json!(name);
    status
}

/// What real netifd sends when it restarts interface `name` (a `network reload` that
/// touched its section, or `ifup` of an up interface), as seen on the bus: the `ifdown`
/// event and `interface.down` twice each, then `ifup` and `interface.update`. The status
/// object answers only after the whole burst, so `status` holds the state after it
/// (`down` is what the down notifications carry) before anything is sent.
pub async fn restart_burst(
    peer: &Client,
    status: &RefCell<Value>,
    name: &str,
    down: Value,
    up: Value,
) {
    *status.borrow_mut() = up.clone();
    let mut down = down;
    down["interface"] = json!(name);
    let mut up = up;
    up["interface"] = json!(name);
    let event = |action: &str| json!({"action": action, "interface": name});
    for _ in 0..2 {
        let _ = peer.send_event("network.interface", &event("ifdown")).await;
        let _ = peer
            .notify("network.interface", "interface.down", &down)
            .await;
    }
    let _ = peer.send_event("network.interface", &event("ifup")).await;
    let _ = peer
        .notify("network.interface", "interface.update", &up)
        .await;
}

/// What a netifd stand-in says on the bus after setting an interface's status.
pub enum Say {
    /// The `network.interface` event with this action.
    Event(&'static str),
    /// A notification of this kind carrying this status (the interface name is added).
    Notify(&'static str, Value),
    /// The hotplug script's call (`ubus call rail hotplug`): action and DEVICE, which netifd
    /// gives on ifup and ifupdate only.
    Hotplug(&'static str, Option<String>),
}

/// An interface event as netifd queues it (interface-event.c `interface_queue_event`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IfEvent {
    Up,
    /// Up with changed addresses, routes, prefixes or data: a DHCP renewal, a new gateway.
    Update,
    Down,
}

/// What netifd says on the bus for `event` on an interface with `status` and L3 `device`:
/// the `network.interface` event for ifup and ifdown only (an update has none), the
/// `interface.update`/`interface.down` notification, then the hotplug scripts, which get
/// DEVICE on ifup and ifupdate only.
pub fn says(event: IfEvent, status: Value, device: Option<String>) -> Vec<Say> {
    let (action, kind) = match event {
        IfEvent::Up => ("ifup", "interface.update"),
        IfEvent::Update => ("ifupdate", "interface.update"),
        IfEvent::Down => ("ifdown", "interface.down"),
    };
    let mut say = Vec::with_capacity(3);
    if event != IfEvent::Update {
        say.push(Say::Event(action));
    }
    say.push(Say::Notify(kind, status));
    let device = device.filter(|_| event != IfEvent::Down);
    say.push(Say::Hotplug(action, device));
    say
}

/// One announcement: the interface's new status (what reads answer from now on, also
/// while the rest is being said: netifd answers a read only after its burst), then `say`.
pub struct Announce {
    pub name: &'static str,
    pub status: Value,
    pub say: Vec<Say>,
    /// Told when everything was said.
    pub done: Option<std::sync::mpsc::Sender<()>>,
}

/// Runs a netifd stand-in on its own thread and executor for the interfaces `first` names,
/// with their first status; announcements go in through the returned channel.
pub fn stand_in(
    path: std::path::PathBuf,
    first: Vec<(&'static str, Value)>,
) -> smol::channel::Sender<Announce> {
    let (tx, rx) = smol::channel::unbounded::<Announce>();
    std::thread::spawn(move || {
        let ex = smol::LocalExecutor::new();
        let states: Vec<(String, Rc<RefCell<Value>>)> = first
            .into_iter()
            .map(|(n, s)| (n.to_string(), Rc::new(RefCell::new(s))))
            .collect();
        let peer = netifd_peer_for(&path, states.clone());
        let runner = peer.clone();
        ex.spawn(async move { runner.run().await }).detach();
        smol::block_on(ex.run(async {
            while let Ok(a) = rx.recv().await {
                if let Some((_, state)) = states.iter().find(|(n, _)| n == a.name) {
                    *state.borrow_mut() = a.status;
                }
                for say in a.say {
                    let _ = match say {
                        Say::Event(action) => {
                            let data = json!({"action": action, "interface": a.name});
                            peer.send_event("network.interface", &data).await
                        }
                        Say::Notify(kind, mut status) => {
                            status["interface"] = json!(a.name);
                            peer.notify("network.interface", kind, &status).await
                        }
                        Say::Hotplug(action, device) => {
                            let mut args = json!({"action": action, "interface": a.name});
                            if let Some(d) = device {
                                args["device"] = json!(d);
                            }
                            peer.call("rail", "hotplug", &args).await.map(|_| ())
                        }
                    };
                }
                if let Some(done) = a.done {
                    let _ = done.send(());
                }
            }
        }));
    });
    tx
}
