//! The dataplane's vocabulary (types only, no computation): what the shell learned about an
//! uplink, and the rules and routes rail wants in the kernel. Imported by every dataplane
//! module (desired, nft, rtmsg, kernel, learn), it imports nothing of the dataplane but the
//! numbers of `layout`.

use std::collections::BTreeMap;
use std::net::IpAddr;

use super::layout::{Priority, TableId};
use crate::config::{InterfaceId, PolicyId, Prefix};
use crate::family::{Af, PerAf};

/// What the shell learned about one uplink's L3 device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub device: String,
    pub ifindex: u32,
    pub carrier: bool,
    /// Per family, the device's address of that family (for IPv6 its global one: SLAAC,
    /// DHCPv6 or static), when it has one.
    pub address: PerAf<Option<IpAddr>>,
    /// Per family, the next hop (IPv6's often link-local); `None`: the route names only
    /// the device (point-to-point).
    pub gateway: PerAf<Option<IpAddr>>,
    /// The prefix the provider delegates to this uplink (netifd's DHCPv6-PD), when known.
    pub delegated6: Option<Prefix>,
}

impl Link {
    /// The uplink's address and next hop in one family; `None` when the device has no
    /// address of it (then the uplink cannot carry this family now).
    pub fn endpoint(&self, af: Af) -> Option<(IpAddr, Option<IpAddr>)> {
        self.address[af].map(|a| (a, self.gateway[af]))
    }
}

/// An uplink carrying a policy's new connections of one family.
pub type Carrying = (Af, PolicyId, InterfaceId);

/// Per interface, the device found for it (absent: no device right now).
pub type Links = BTreeMap<InterfaceId, Link>;

/// What a rule selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Selector {
    All,
    From(IpAddr),
    /// A source prefix (a delegated IPv6 prefix), host bits clear.
    FromNet(IpAddr, u8),
    FwMark {
        mark: u32,
        mask: u32,
    },
    /// Packets the router itself sends (`iif lo`).
    Local,
}

/// What a rule does with what it selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RuleAction {
    Lookup(TableId),
    /// `lookup main suppress_prefixlength 0`: main's specific routes, never its default.
    MainWithoutDefault,
    Unreachable,
    Blackhole,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RuleSpec {
    pub priority: Priority,
    pub selector: Selector,
    pub action: RuleAction,
}

/// One path of a default route. `weight` is the kernel's 1..=256.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NextHop {
    pub ifindex: u32,
    pub gateway: Option<IpAddr>,
    pub weight: u16,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RouteKind {
    /// Never empty; more than one is a multipath route.
    Via(Vec<NextHop>),
    Unreachable,
    Blackhole,
    /// Only read back: rail up to 0.1.0 put one in each uplink table; reconcile removes it.
    Prohibit,
}

/// A default route (`0.0.0.0/0` or `::/0`) in one of rail's tables; (table, metric) is its identity.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RouteSpec {
    pub table: TableId,
    pub metric: u32,
    pub kind: RouteKind,
}

pub const METRIC_ROUTE: u32 = 0;
/// IPv6 reads a metric of 0 as "default" (1024); 1 keeps the route's identity explicit.
pub const METRIC_ROUTE6: u32 = 1;
