//! The numbers that make kernel state recognisably rail's: rule priorities, routing table
//! ids and the route protocol (the marks are `config::marks`).
//!
//! Priorities 4000..=4999 and tables 20000..=20999 are rail's; nothing else in them is
//! touched. At most 199 interfaces, 199 policies and 100 sticky rules get one.

use crate::config::{InterfaceId, PolicyId};

/// The route (and rule) protocol number rail stamps on everything it adds (`proto 165`).
pub const PROTOCOL: u8 = 165;

/// Interfaces and policies each get at most this many priorities and tables.
pub const MAX_PER_KIND: usize = 199;
/// At most this many sticky rules get a priority.
pub const MAX_STICKY: usize = 100;

/// A routing rule priority inside rail's range; built only by the constructors below.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Priority(u32);

impl Priority {
    pub const FIRST: u32 = 4000;
    pub const LAST: u32 = 4999;
    /// `lookup main suppress_prefixlength 0`: ahead of every other rail rule.
    pub const SUPPRESS_MAIN: Priority = Priority(4000);
    /// `fwmark <unreachable mark> unreachable` / `... blackhole` for rule targets.
    pub const UNREACHABLE: Priority = Priority(4600);
    pub const BLACKHOLE: Priority = Priority(4601);
    /// `iif lo lookup <catch-all policy table>`: the router's own unmarked, unbound
    /// connections, after every other rail rule.
    pub const LOCAL: Priority = Priority(4900);

    /// `from <uplink address> lookup <uplink table>`.
    pub fn from_uplink(id: InterfaceId) -> Option<Priority> {
        (id.0 < MAX_PER_KIND).then(|| Priority(4001 + id.0 as u32))
    }
    /// `fwmark <uplink mark>/<mask> lookup <uplink table>`.
    pub fn mark_uplink(id: InterfaceId) -> Option<Priority> {
        (id.0 < MAX_PER_KIND).then(|| Priority(4200 + id.0 as u32))
    }
    /// `fwmark <policy mark>/<mask> lookup <policy table>`.
    pub fn mark_policy(id: PolicyId) -> Option<Priority> {
        (id.0 < MAX_PER_KIND).then(|| Priority(4400 + id.0 as u32))
    }
    /// `fwmark <sticky rule mark>/<mask> lookup <its policy's table>`, `k`th sticky rule.
    pub fn mark_sticky(k: usize) -> Option<Priority> {
        (k < MAX_STICKY).then(|| Priority(4700 + k as u32))
    }
    /// Whether a priority seen in the kernel lies in rail's range.
    pub fn owned(raw: u32) -> Option<Priority> {
        (Self::FIRST..=Self::LAST)
            .contains(&raw)
            .then_some(Priority(raw))
    }
    pub fn value(self) -> u32 {
        self.0
    }
}

/// A routing table id inside rail's range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TableId(u32);

impl TableId {
    pub const FIRST: u32 = 20000;
    pub const LAST: u32 = 20999;

    /// The table holding one uplink's default route.
    pub fn uplink(id: InterfaceId) -> Option<TableId> {
        (id.0 < MAX_PER_KIND).then(|| TableId(20001 + id.0 as u32))
    }
    /// The table holding one policy's (multipath or last-resort) default route.
    pub fn policy(id: PolicyId) -> Option<TableId> {
        (id.0 < MAX_PER_KIND).then(|| TableId(20201 + id.0 as u32))
    }
    pub fn owned(raw: u32) -> Option<TableId> {
        (Self::FIRST..=Self::LAST)
            .contains(&raw)
            .then_some(TableId(raw))
    }
    pub fn value(self) -> u32 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_do_not_overlap() {
        let last_from = Priority::from_uplink(InterfaceId(MAX_PER_KIND - 1)).unwrap();
        assert!(last_from < Priority::mark_uplink(InterfaceId(0)).unwrap());
        let last_up = Priority::mark_uplink(InterfaceId(MAX_PER_KIND - 1)).unwrap();
        assert!(last_up < Priority::mark_policy(PolicyId(0)).unwrap());
        assert!(Priority::mark_policy(PolicyId(MAX_PER_KIND - 1)).unwrap() < Priority::UNREACHABLE);
        assert!(Priority::BLACKHOLE < Priority::mark_sticky(0).unwrap());
        assert!(Priority::mark_sticky(MAX_STICKY - 1).unwrap() < Priority::LOCAL);
        assert!(Priority::LOCAL.value() <= Priority::LAST);
        assert!(Priority::from_uplink(InterfaceId(MAX_PER_KIND)).is_none());
        assert!(
            TableId::uplink(InterfaceId(MAX_PER_KIND - 1)).unwrap()
                < TableId::policy(PolicyId(0)).unwrap()
        );
        assert!(TableId::policy(PolicyId(MAX_PER_KIND - 1)).unwrap().value() <= TableId::LAST);
        assert!(Priority::owned(3999).is_none() && Priority::owned(4999).is_some());
    }
}
