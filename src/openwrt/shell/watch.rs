//! Following netifd over ubus: turns the bus's connection changes, `network.interface`
//! notifications and events into one stream of "interface X now looks like this" updates
//! for the uplinks rail manages, re-reading every uplink's status after each (re)connection.
//! Only statuses read are applied, never a notification's copy (see [`Stale`]).
//! The client must be configured with [`SUBSCRIPTION`] and [`EVENT`]
//! (see [`client_config`]); this is the only consumer of its events.

use serde_json::json;

use super::client::{BusEvent, CallError, Client, Config};
use crate::openwrt::netifd::{self, InterfaceStatus};
use crate::openwrt::wire::Status;

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

/// The interfaces whose status must be read again, in the order they were asked for, each
/// once: every notification, event, hotplug call or route change only marks its interface
/// stale, and one reader reads stale interfaces one at a time. A mark made while that
/// interface's read is in flight causes one more read after it, so what is applied last is
/// always a status read after the last mark: netifd's newest, never a notification older
/// than a status already read, however many duplicates its burst holds.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Stale {
    names: Vec<String>,
}

impl Stale {
    /// Marks `name` stale; false when it already was (the marks coalesce).
    pub fn mark(&mut self, name: &str) -> bool {
        if self.names.iter().any(|n| n == name) {
            return false;
        }
        self.names.push(name.to_string());
        true
    }

    /// The next interface to read, no longer stale from now on.
    pub fn take(&mut self) -> Option<String> {
        (!self.names.is_empty()).then(|| self.names.remove(0))
    }

    /// Forget every mark (ubusd went away: everything is read again on reconnection).
    pub fn clear(&mut self) {
        self.names.clear();
    }
}

/// Asks [`follow`] to read interfaces again from outside the bus: a hotplug call for one
/// (`Some(name)`) or a change of main's default routes, which netifd makes without telling
/// anyone on a renewal that changes only the gateway (`None`: every followed interface).
pub type Refresh = smol::channel::Receiver<Option<String>>;

/// Follows netifd for the interfaces (UCI names) `interfaces` returns at the time (the set
/// changes on reload) until the bus's event stream closes, handing every update to `apply`.
/// Bus events and `refresh` requests only mark interfaces stale; the reads run apart from
/// them (see [`Stale`]), so a slow netifd never holds events up.
pub async fn follow(
    bus: &Client,
    interfaces: impl Fn() -> Vec<String>,
    apply: impl FnMut(Update),
    refresh: Refresh,
) {
    let apply = std::cell::RefCell::new(apply);
    let stale = std::cell::RefCell::new(Stale::default());
    let (wake_tx, wake_rx) = smol::channel::bounded::<()>(1);
    let mark = |names: Vec<String>| {
        let followed = interfaces();
        let mut st = stale.borrow_mut();
        let mut any = false;
        for n in names.iter().filter(|n| followed.contains(n)) {
            any |= st.mark(n);
        }
        if any {
            let _ = wake_tx.try_send(());
        }
    };
    let marking = async {
        let events = bus.events();
        loop {
            let bus_event = async { events.recv().await.map(Ok) };
            // Nobody asking for reads any more is no reason to stop following.
            let refreshed = async {
                match refresh.recv().await {
                    Ok(r) => Ok(Err(r)),
                    Err(_) => futures_lite::future::pending().await,
                }
            };
            match futures_lite::future::or(bus_event, refreshed).await {
                Err(_) => return,
                Ok(Err(Some(name))) => mark(vec![name]),
                Ok(Err(None)) | Ok(Ok(BusEvent::Connected)) => mark(interfaces()),
                Ok(Ok(BusEvent::Disconnected)) => {
                    stale.borrow_mut().clear();
                    (apply.borrow_mut())(Update::BusLost);
                }
                Ok(Ok(BusEvent::Notification { kind, data, .. })) => {
                    match netifd::parse_notification(&kind, &data) {
                        Some(Ok((name, _))) => mark(vec![name]),
                        Some(Err(e)) => log::warn!("netifd: ignoring {kind} notification: {e}"),
                        None => {}
                    }
                }
                Ok(Ok(BusEvent::Event { id, data })) => {
                    let name = match netifd::parse_event(&id, &data) {
                        Some((_, name)) => Some(name),
                        None if id == OBJECT_ADD => data
                            .get("path")
                            .and_then(|p| p.as_str())
                            .and_then(|p| p.strip_prefix("network.interface."))
                            .map(String::from),
                        None => None,
                    };
                    mark(name.into_iter().collect());
                }
            }
        }
    };
    let reading = async {
        loop {
            let next = stale.borrow_mut().take();
            match next {
                Some(name) => {
                    let update = read_status(bus, &name).await;
                    (apply.borrow_mut())(update);
                }
                None => {
                    if wake_rx.recv().await.is_err() {
                        return;
                    }
                }
            }
        }
    };
    futures_lite::future::or(marking, reading).await;
}

/// Reads one interface's status now.
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
        Ok(None) | Err(CallError::NotConnected) => None,
        // A DHCPv6 twin exists only on PPPoE-like uplinks, and an uplink whose device the
        // config names need not be netifd's: absence is normal (status shows no device).
        Err(CallError::Status(Status::NotFound)) => {
            log::debug!("netifd: {object}: not found");
            None
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_coalesce_and_a_mark_during_a_read_reads_once_more() {
        let mut st = Stale::default();
        assert!(st.mark("wan"));
        // netifd's burst: ifdown event, interface.down twice, hotplug ifdown.
        assert!(!st.mark("wan"));
        assert!(!st.mark("wan"));
        assert!(st.mark("wanb"));
        assert_eq!(st.take().as_deref(), Some("wan"));
        // wan's read is in flight; its notifications keep coming.
        assert!(st.mark("wan"));
        assert!(!st.mark("wan"));
        assert_eq!(st.take().as_deref(), Some("wanb"));
        assert_eq!(st.take().as_deref(), Some("wan"));
        assert_eq!(st.take(), None);
        st.mark("wan");
        st.clear();
        assert_eq!(st.take(), None);
    }
}
