//! The numbers that make kernel state recognisably rail's: rule priorities, routing table
//! ids, the route protocol, and the mark layout inside the configured mask.
//!
//! Priorities 4000..=4999 and tables 20000..=20999 are rail's; nothing else in them is
//! touched. Marks (values inside `globals.mark_mask`, 1-based): each interface holds one
//! (`1..=I` in config order on a fresh start; afterwards each keeps its own, `keep_marks`,
//! since a flow's ct mark names its uplink by it); the values no interface holds go, in
//! order, to the policies (`P`), one per sticky rule (`S`), and two for rules that target
//! `unreachable` and `blackhole`. A config fits when `I + P + S + 2 <=
//! mark_mask.capacity()`, with at most 199 interfaces, 199 policies and 100 sticky rules.

use std::collections::{BTreeMap, BTreeSet};

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

/// The interfaces' marks by name, as values inside the mask (1-based): what the daemon
/// keeps across reloads and restarts.
pub type MarkAssignment = BTreeMap<String, u32>;

/// The marks `config`'s interfaces hold now.
pub fn mark_assignment(config: &Config) -> MarkAssignment {
    let mask = config.globals.mark_mask;
    config
        .interfaces
        .iter()
        .map(|i| {
            (
                i.name.clone(),
                i.mark.value() >> mask.bits().trailing_zeros(),
            )
        })
        .collect()
}

/// Gives each interface the mark `kept` names for it (when that fits the mask and no
/// interface before it took it), and every other one the lowest value no interface holds:
/// an interface inserted before others takes a free mark and theirs stay, so their flows'
/// ct marks keep naming them.
pub fn keep_marks(config: &mut Config, kept: &MarkAssignment) {
    let mask = config.globals.mark_mask;
    let mut taken = BTreeSet::new();
    let mut own: Vec<Option<Mark>> = config
        .interfaces
        .iter()
        .map(|i| {
            let n = *kept.get(&i.name)?;
            mask.mark(n).filter(|_| taken.insert(n))
        })
        .collect();
    let mut free = (1..=mask.capacity()).filter(|n| !taken.contains(n));
    for mark in own.iter_mut().filter(|m| m.is_none()) {
        *mark = free.next().and_then(|n| mask.mark(n));
    }
    for (iface, mark) in config.interfaces.iter_mut().zip(own) {
        // `rail check` makes room for every interface, so there is always one.
        if let Some(mark) = mark {
            iface.mark = mark;
        }
    }
}

/// Marks rail derives from a config beyond the interfaces' own.
pub struct Marks<'a> {
    config: &'a Config,
    sticky: usize,
    /// The values the interfaces hold.
    interfaces: BTreeSet<u32>,
}

impl<'a> Marks<'a> {
    pub fn new(config: &'a Config) -> Self {
        Marks {
            config,
            sticky: sticky_rules(config).len(),
            interfaces: config.interfaces.iter().map(|i| i.mark.value()).collect(),
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
    /// The `n`th (1-based) mark no interface holds.
    fn nth(&self, n: usize) -> Option<Mark> {
        let mask = self.config.globals.mark_mask;
        (1..=mask.capacity())
            .filter_map(|v| mask.mark(v))
            .filter(|m| !self.interfaces.contains(&m.value()))
            .nth(n.checked_sub(1)?)
    }
    pub fn policy(&self, id: PolicyId) -> Option<Mark> {
        self.nth(1 + id.0)
    }
    /// The mark of the `k`th sticky rule's new, not yet pinned, connections.
    pub fn sticky(&self, k: usize) -> Option<Mark> {
        self.nth(self.config.policies.len() + 1 + k)
    }
    fn after_sticky(&self) -> usize {
        self.config.policies.len() + self.sticky
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

    #[test]
    fn marks_are_kept_by_name_and_the_rest_fill_the_gaps() {
        let mut c = config(&["a", "b"], &[(0, 1, 1)], &[&[0]]);
        c.rules = vec![rule("all", Target::Policy(PolicyId(0)))];
        let fresh = mark_assignment(&c);
        assert_eq!(
            fresh,
            MarkAssignment::from([("a".into(), 1), ("b".into(), 2)])
        );
        // A reload that inserts `new` before the others: theirs stay, `new` takes 3.
        let mut grown = config(&["new", "a", "b"], &[(0, 1, 1)], &[&[1]]);
        keep_marks(&mut grown, &fresh);
        let kept = mark_assignment(&grown);
        assert_eq!(
            kept,
            MarkAssignment::from([("a".into(), 1), ("b".into(), 2), ("new".into(), 3)])
        );
        // The policy and the targets take the values no interface holds.
        let m = Marks::new(&grown);
        assert_eq!(m.policy(PolicyId(0)).unwrap().value(), 0x0400_0000);
        assert_eq!(m.unreachable().unwrap().value(), 0x0500_0000);
        // `a` removed: its value is free again and goes to the policy; `b` keeps 2.
        let mut shrunk = config(&["new", "b"], &[(0, 1, 1)], &[&[1]]);
        keep_marks(&mut shrunk, &kept);
        let marks: Vec<u32> = shrunk.interfaces.iter().map(|i| i.mark.value()).collect();
        assert_eq!(marks, [0x0300_0000, 0x0200_0000]);
        assert_eq!(
            Marks::new(&shrunk).policy(PolicyId(0)).unwrap().value(),
            0x0100_0000
        );
        // A kept value the mask cannot hold, or one already taken, is given anew.
        let mut narrow = config(&["a", "b"], &[(0, 1, 1)], &[&[0]]);
        narrow.globals.mark_mask = crate::config::MarkMask::new(0x0300_0000).unwrap();
        keep_marks(
            &mut narrow,
            &MarkAssignment::from([("a".into(), 2), ("b".into(), 2)]),
        );
        let marks: Vec<u32> = narrow.interfaces.iter().map(|i| i.mark.value()).collect();
        assert_eq!(marks, [0x0200_0000, 0x0100_0000]);
        keep_marks(&mut narrow, &MarkAssignment::from([("a".into(), 9)]));
        assert_eq!(mark_assignment(&narrow)["a"], 1);
    }
}
