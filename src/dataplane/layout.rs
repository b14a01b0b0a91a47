//! The numbers that make kernel state recognisably rail's: rule priorities, routing table
//! ids, the route protocol, and the mark layout inside the configured mask.
//!
//! Priorities 4000..=4999 and tables 20000..=20999 are rail's; nothing else in them is
//! touched. Marks (values inside `globals.mark_mask`, 1-based):
//! `1..=I` the interfaces (config order), then `I+1..=I+P` the policies, then two marks for
//! one per sticky rule (`S`), then two for rules that target `unreachable` and `blackhole`.
//! A config fits when `I + P + S + 2 <= mark_mask.capacity()`, with at most 199 interfaces,
//! 199 policies and 100 sticky rules.

use crate::config::{Config, InterfaceId, Mark, PolicyId, Target};

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

    /// The table holding one uplink's default route and its `prohibit` fallback.
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

/// The sticky rules, in config order: (index in `Config::rules`, the policy they use).
/// `sticky` only means something for a rule that targets a policy.
pub fn sticky_rules(config: &Config) -> Vec<(usize, PolicyId)> {
    config
        .rules
        .iter()
        .enumerate()
        .filter(|(_, r)| r.sticky)
        .filter_map(|(i, r)| match r.target {
            Target::Policy(p) => Some((i, p)),
            _ => None,
        })
        .collect()
}

/// Marks rail derives from a config beyond the interfaces' own.
pub struct Marks<'a> {
    config: &'a Config,
    sticky: usize,
}

impl<'a> Marks<'a> {
    pub fn new(config: &'a Config) -> Self {
        Marks {
            config,
            sticky: sticky_rules(config).len(),
        }
    }
    pub fn config(&self) -> &'a Config {
        self.config
    }
    pub fn mask(&self) -> u32 {
        self.config.globals.mark_mask.bits()
    }
    pub fn interface(&self, id: InterfaceId) -> Mark {
        self.config.interfaces[id.0].mark
    }
    fn nth(&self, n: usize) -> Option<Mark> {
        self.config.globals.mark_mask.mark(u32::try_from(n).ok()?)
    }
    pub fn policy(&self, id: PolicyId) -> Option<Mark> {
        self.nth(self.config.interfaces.len() + 1 + id.0)
    }
    /// The mark of the `k`th sticky rule's new, not yet pinned, connections.
    pub fn sticky(&self, k: usize) -> Option<Mark> {
        self.nth(self.config.interfaces.len() + self.config.policies.len() + 1 + k)
    }
    fn after_sticky(&self) -> usize {
        self.config.interfaces.len() + self.config.policies.len() + self.sticky
    }
    pub fn unreachable(&self) -> Option<Mark> {
        self.nth(self.after_sticky() + 1)
    }
    pub fn blackhole(&self) -> Option<Mark> {
        self.nth(self.after_sticky() + 2)
    }
}

/// How many marks a config needs: config validation must reject `needed > capacity`.
pub fn marks_needed(interfaces: usize, policies: usize, sticky_rules: usize) -> usize {
    interfaces + policies + sticky_rules + 2
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{config, rule};

    #[test]
    fn marks_follow_interfaces_then_policies_then_targets() {
        let mut c = config(&["a", "b"], &[(0, 1, 1)], &[&[0], &[0]]);
        c.rules = vec![
            rule("plain", Target::Policy(PolicyId(0))),
            rule("pinned", Target::Policy(PolicyId(1))),
        ];
        c.rules[1].sticky = true;
        let m = Marks::new(&c);
        assert_eq!(m.interface(InterfaceId(1)).value(), 0x0200_0000);
        assert_eq!(m.policy(PolicyId(0)).unwrap().value(), 0x0300_0000);
        assert_eq!(m.policy(PolicyId(1)).unwrap().value(), 0x0400_0000);
        assert_eq!(m.sticky(0).unwrap().value(), 0x0500_0000);
        assert_eq!(m.unreachable().unwrap().value(), 0x0600_0000);
        assert_eq!(m.blackhole().unwrap().value(), 0x0700_0000);
        assert_eq!(sticky_rules(&c), vec![(1, PolicyId(1))]);
        assert_eq!(marks_needed(2, 2, 1), 7);
    }

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
