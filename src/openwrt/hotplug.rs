//! netifd hotplug events as rail sees them: what `/etc/hotplug.d/iface/30-rail` forwards
//! (ACTION, INTERFACE, DEVICE) and what netifd's `network.interface` events carry.

use std::fmt;

/// The netifd actions rail acts on. Other actions (mwan3 injects `connected` and
/// `disconnected`) are not represented: parsing them fails and they are ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// The interface came up (addresses and routes are in place).
    IfUp,
    /// The interface went down.
    IfDown,
    /// Addresses, routes or data of an up interface changed (e.g. a DHCP renew).
    IfUpdate,
    /// Bringing the interface up failed.
    IfUpFailed,
}

impl Action {
    pub fn parse(s: &str) -> Option<Action> {
        match s {
            "ifup" => Some(Action::IfUp),
            "ifdown" => Some(Action::IfDown),
            "ifupdate" => Some(Action::IfUpdate),
            "ifup-failed" => Some(Action::IfUpFailed),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Action::IfUp => "ifup",
            Action::IfDown => "ifdown",
            Action::IfUpdate => "ifupdate",
            Action::IfUpFailed => "ifup-failed",
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One hotplug event for a logical (UCI) interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hotplug {
    pub action: Action,
    /// The UCI interface name (`wan`).
    pub interface: String,
    /// The L3 device (`pppoe-wan`), present on ifup and ifupdate.
    pub device: Option<String>,
}

/// Whether `name` can be a UCI section name (what netifd calls an interface).
pub fn valid_interface_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Whether `name` can be a Linux network device name (IFNAMSIZ 16, no '/', no spaces).
pub fn valid_device_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() < 16
        && name != "."
        && name != ".."
        && name
            .bytes()
            .all(|b| b.is_ascii_graphic() && b != b'/' && b != b':')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_round_trip_and_unknown_ones_are_refused() {
        for a in [
            Action::IfUp,
            Action::IfDown,
            Action::IfUpdate,
            Action::IfUpFailed,
        ] {
            assert_eq!(Action::parse(a.as_str()), Some(a));
        }
        assert_eq!(Action::parse("connected"), None);
        assert_eq!(Action::parse(""), None);
    }

    #[test]
    fn names() {
        assert!(valid_interface_name("wan_6"));
        assert!(!valid_interface_name("wan-6"));
        assert!(!valid_interface_name(""));
        assert!(valid_device_name("pppoe-wan"));
        assert!(valid_device_name("eth0.2"));
        assert!(!valid_device_name("a/b"));
        assert!(!valid_device_name("sixteen-chars-xx"));
    }
}
