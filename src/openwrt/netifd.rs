//! What netifd says about a logical interface, as rail needs it: pure parsing of the
//! `ubus call network.interface.<name> status` reply (netifd ubus.c `netifd_dump_status`)
//! and of the `interface.update` / `interface.down` notifications on `network.interface`,
//! which carry the same dump plus the interface name.
//!
//! DHCPv6 on a PPPoE (or mobile) `wan` runs in a dynamic interface netifd creates for it,
//! `wan_6` (ppp6-up: `name "${INTERFACE}_6"`, `ifname "@${INTERFACE}"`, proto dhcpv6), on
//! the same L3 device: its status, not `wan`'s, carries the IPv6 default route.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde_json::Value;

use crate::family::Af;

/// One `ipv4-address` entry; `ptpaddress` is the peer of a point-to-point link (PPPoE).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ipv4Address {
    pub address: Ipv4Addr,
    pub mask: u8,
    pub ptpaddress: Option<Ipv4Addr>,
}

/// One `ipv6-address` entry, or one `ipv6-prefix` entry (a delegated prefix).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ipv6Address {
    pub address: Ipv6Addr,
    pub mask: u8,
}

/// One `route` entry (both families share the list).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub target: IpAddr,
    pub mask: u8,
    pub nexthop: IpAddr,
    pub metric: Option<u32>,
    pub table: Option<u32>,
}

impl Route {
    fn is_default(&self) -> bool {
        self.mask == 0 && self.target.is_unspecified()
    }
}

/// The facts of one interface status dump.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterfaceStatus {
    pub up: bool,
    pub pending: bool,
    pub available: bool,
    /// The device carrying IP traffic (`pppoe-wan` for PPPoE); only while up.
    pub l3_device: Option<String>,
    /// The underlying device (`eth1`, or `wan` on DSA).
    pub device: Option<String>,
    pub proto: Option<String>,
    /// Seconds since the interface came up; only while up.
    pub uptime: Option<u64>,
    pub metric: Option<u32>,
    pub ipv4: Vec<Ipv4Address>,
    pub ipv6: Vec<Ipv6Address>,
    /// Prefixes delegated to this interface (DHCPv6-PD).
    pub ipv6_prefix: Vec<Ipv6Address>,
    pub routes: Vec<Route>,
}

/// A status dump that does not have the shape netifd produces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusError {
    /// JSON path of the offending field, e.g. `ipv4-address[0].address`.
    pub field: String,
    pub problem: &'static str,
}

impl fmt::Display for StatusError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "netifd status field {}: {}", self.field, self.problem)
    }
}

impl std::error::Error for StatusError {}

fn err<T>(field: impl Into<String>, problem: &'static str) -> Result<T, StatusError> {
    Err(StatusError {
        field: field.into(),
        problem,
    })
}

impl InterfaceStatus {
    /// Parses a status dump. `up` is required; other fields are optional, but one present
    /// with the wrong type is an error rather than silently missing.
    pub fn parse(v: &Value) -> Result<InterfaceStatus, StatusError> {
        let Value::Object(_) = v else {
            return err("(top)", "not a JSON object");
        };
        Ok(InterfaceStatus {
            up: boolean(v, "up")?.map_or_else(|| err("up", "missing"), Ok)?,
            pending: boolean(v, "pending")?.unwrap_or(false),
            available: boolean(v, "available")?.unwrap_or(false),
            l3_device: string(v, "l3_device")?,
            device: string(v, "device")?,
            proto: string(v, "proto")?,
            uptime: number(v, "uptime", "")?,
            metric: number(v, "metric", "")?.map(|m| m as u32),
            ipv4: list(v, "ipv4-address", |e, at| {
                Ok(Ipv4Address {
                    address: ip(e, "address", &at)?,
                    mask: mask(e, &at, 32)?,
                    ptpaddress: optional_ip(e, "ptpaddress", &at)?,
                })
            })?,
            ipv6: list(v, "ipv6-address", ipv6_entry)?,
            ipv6_prefix: list(v, "ipv6-prefix", ipv6_entry)?,
            routes: list(v, "route", |e, at| {
                let target: IpAddr = ip(e, "target", &at)?;
                let nexthop: IpAddr = ip(e, "nexthop", &at)?;
                if target.is_ipv4() != nexthop.is_ipv4() {
                    return err(
                        format!("{at}.nexthop"),
                        "address family differs from target",
                    );
                }
                Ok(Route {
                    target,
                    mask: mask(e, &at, u64::from(Af::of(&target).max_len()))?,
                    nexthop,
                    metric: number(e, "metric", &at)?.map(|m| m as u32),
                    table: number(e, "table", &at)?.map(|t| t as u32),
                })
            })?,
        })
    }

    /// The first IPv4 address (netifd lists configured, then protocol addresses).
    pub fn ipv4_address(&self) -> Option<Ipv4Addr> {
        self.ipv4.first().map(|a| a.address)
    }

    /// The next hop of family `af` for traffic sent out this interface: its default route's
    /// nexthop, or, for IPv4 on a point-to-point link whose default route has no nexthop,
    /// the peer address.
    pub fn gateway(&self, af: Af) -> Option<IpAddr> {
        let via_route = self.routes.iter().find_map(|r| {
            let n = r.nexthop;
            (r.is_default() && af.holds(&r.target) && af.holds(&n) && !n.is_unspecified())
                .then_some(n)
        });
        let peer = || match af {
            Af::Inet => self.ipv4.iter().find_map(|a| a.ptpaddress).map(Into::into),
            Af::Inet6 => None,
        };
        via_route.or_else(peer)
    }

    /// The device rail binds to: the L3 device while up.
    pub fn bound_device(&self) -> Option<&str> {
        self.up.then_some(self.l3_device.as_deref()).flatten()
    }
}

/// The name of the dynamic interface netifd runs DHCPv6 of `name` in (`wan` -> `wan_6`).
pub fn ipv6_twin(name: &str) -> String {
    format!("{name}_6")
}

/// The interface whose DHCPv6 twin `name` is (`wan_6` -> `wan`), when it looks like one.
pub fn twin_of(name: &str) -> Option<&str> {
    name.strip_suffix("_6").filter(|n| !n.is_empty())
}

/// A netifd notification on `network.interface`, parsed: the interface and its new status.
/// `interface.update` (up, updated, link up) and `interface.down` both carry a full dump.
pub fn parse_notification(
    kind: &str,
    data: &Value,
) -> Option<Result<(String, InterfaceStatus), StatusError>> {
    if kind != "interface.update" && kind != "interface.down" {
        return None;
    }
    let Some(name) = data.get("interface").and_then(Value::as_str) else {
        return Some(err("interface", "missing"));
    };
    Some(InterfaceStatus::parse(data).map(|s| (name.to_string(), s)))
}

/// A `network.interface` event (`{"action":"ifup","interface":"wan"}`), parsed.
pub fn parse_event(id: &str, data: &Value) -> Option<(super::hotplug::Action, String)> {
    if id != "network.interface" {
        return None;
    }
    let action = super::hotplug::Action::parse(data.get("action")?.as_str()?)?;
    let interface = data.get("interface")?.as_str()?;
    Some((action, interface.to_string()))
}

fn ipv6_entry(e: &Value, at: String) -> Result<Ipv6Address, StatusError> {
    Ok(Ipv6Address {
        address: ip(e, "address", &at)?,
        mask: mask(e, &at, 128)?,
    })
}

fn join(at: &str, name: &str) -> String {
    if at.is_empty() {
        name.to_string()
    } else {
        format!("{at}.{name}")
    }
}

fn boolean(v: &Value, name: &str) -> Result<Option<bool>, StatusError> {
    match v.get(name) {
        None => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => err(name, "not a boolean"),
    }
}

fn string(v: &Value, name: &str) -> Result<Option<String>, StatusError> {
    match v.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => err(name, "not a string"),
    }
}

fn number(v: &Value, name: &str, at: &str) -> Result<Option<u64>, StatusError> {
    match v.get(name) {
        None => Ok(None),
        Some(n) => n
            .as_u64()
            .map(Some)
            .map_or_else(|| err(join(at, name), "not a non-negative integer"), Ok),
    }
}

fn mask(v: &Value, at: &str, max: u64) -> Result<u8, StatusError> {
    match number(v, "mask", at)? {
        Some(m) if m <= max => Ok(m as u8),
        Some(_) => err(join(at, "mask"), "prefix length out of range"),
        None => err(join(at, "mask"), "missing"),
    }
}

fn ip<T: std::str::FromStr>(v: &Value, name: &str, at: &str) -> Result<T, StatusError> {
    optional_ip(v, name, at)?.map_or_else(|| err(join(at, name), "missing"), Ok)
}

fn optional_ip<T: std::str::FromStr>(
    v: &Value,
    name: &str,
    at: &str,
) -> Result<Option<T>, StatusError> {
    match v.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => s.parse().map(Some).map_or_else(
            |_| err(join(at, name), "not an address of the expected family"),
            Ok,
        ),
        Some(_) => err(join(at, name), "not a string"),
    }
}

fn list<T>(
    v: &Value,
    name: &str,
    item: impl Fn(&Value, String) -> Result<T, StatusError>,
) -> Result<Vec<T>, StatusError> {
    match v.get(name) {
        None => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, e)| item(e, format!("{name}[{i}]")))
            .collect(),
        Some(_) => err(name, "not an array"),
    }
}
