//! Following netifd over ubus: turns the bus's connection changes, `network.interface`
//! notifications and events into one stream of "interface X now looks like this" updates
//! for the uplinks rail manages, re-reading every uplink's status after each (re)connection.
//! The client must be configured with [`SUBSCRIPTION`] and [`EVENT`]
//! (see [`client_config`]); this is the only consumer of its events.

use serde_json::json;

use super::client::{BusEvent, Client, Config};
use crate::openwrt::netifd::{self, InterfaceStatus};

/// The object whose notifications carry interface status changes.
pub const SUBSCRIPTION: &str = "network.interface";
/// The event netifd sends on ifup and ifdown.
pub const EVENT: &str = "network.interface";
/// ubusd's announcement of a new object: `network.interface.<name>` coming (back) means its
/// status can be read again (after netifd or ubusd restarted).
const OBJECT_ADD: &str = "ubus.object.add";

/// What the daemon learns.
#[derive(Debug, Clone, PartialEq)]
pub enum Update {
    /// The current status of a managed interface; `None` when it cannot be read now (netifd
    /// does not know it, or is not on the bus yet): keep what is in place and wait.
    Interface {
        name: String,
        /// Boxed: a status dump is large next to `BusLost`.
        status: Option<Box<InterfaceStatus>>,
    },
    /// ubusd went away; updates resume (with a full re-read) when it is back.
    BusLost,
}

/// Adds the subscription and event pattern this module needs to a client configuration.
pub fn client_config(mut config: Config) -> Config {
    config.subscriptions.push(SUBSCRIPTION.to_string());
    config.patterns.push(EVENT.to_string());
    config.patterns.push(OBJECT_ADD.to_string());
    config
}

/// Follows netifd for the interfaces (UCI names) `interfaces` returns at the time (the set
/// changes on reload) until the bus's event stream closes, handing every update to `apply`.
pub async fn follow(
    bus: &Client,
    interfaces: impl Fn() -> Vec<String>,
    mut apply: impl FnMut(Update),
) {
    let events = bus.events();
    while let Ok(event) = events.recv().await {
        match event {
            BusEvent::Connected => {
                for name in interfaces() {
                    apply(read_status(bus, &name).await);
                }
            }
            BusEvent::Disconnected => apply(Update::BusLost),
            BusEvent::Notification { kind, data, .. } => {
                match netifd::parse_notification(&kind, &data) {
                    Some(Ok((name, status))) if interfaces().contains(&name) => {
                        apply(Update::Interface {
                            name,
                            status: Some(Box::new(status)),
                        })
                    }
                    Some(Err(e)) => log::warn!("netifd: ignoring {kind} notification: {e}"),
                    _ => {}
                }
            }
            // The notification that follows carries the status, but the event also arrives
            // when the subscription is not in place yet: read the status to be sure.
            BusEvent::Event { id, data } => {
                let name = match netifd::parse_event(&id, &data) {
                    Some((_, name)) => Some(name),
                    None if id == OBJECT_ADD => data
                        .get("path")
                        .and_then(|p| p.as_str())
                        .and_then(|p| p.strip_prefix("network.interface."))
                        .map(String::from),
                    None => None,
                };
                if let Some(name) = name.filter(|n| interfaces().contains(n)) {
                    apply(read_status(bus, &name).await);
                }
            }
        }
    }
}

/// Reads one interface's status now (also what to do on a `hotplug` call for it).
pub async fn read_status(bus: &Client, name: &str) -> Update {
    let object = format!("network.interface.{name}");
    let status = match bus.call(&object, "status", &json!({})).await {
        Ok(Some(v)) => match InterfaceStatus::parse(&v) {
            Ok(s) => Some(Box::new(s)),
            Err(e) => {
                log::warn!("netifd: {object} status: {e}");
                None
            }
        },
        Ok(None) => None,
        Err(e) => {
            log::warn!("netifd: ubus call {object} status: {e}");
            None
        }
    };
    Update::Interface {
        name: name.to_string(),
        status,
    }
}
