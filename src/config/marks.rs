//! The mark layout inside `globals.mark_mask` (values 1-based): each interface holds one
//! (`1..=I` in config order on a fresh start; afterwards each keeps its own, `keep_marks`,
//! since a flow's ct mark names its uplink by it); the values no interface holds go, in
//! order, to the policies (`P`), one per sticky rule (`S`), and two for rules that target
//! `unreachable` and `blackhole`. A config fits when `I + P + S + 2 <=
//! mark_mask.capacity()`; validation (`build`) and the dataplane read the layout from here.

use std::collections::{BTreeMap, BTreeSet};

use super::model::{Config, InterfaceId, Mark, PolicyId, Target};

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
    let shift = config.globals.mark_mask.bits().trailing_zeros();
    config
        .interfaces
        .iter()
        .map(|i| (i.name.clone(), i.mark.value() >> shift))
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
    use crate::fixtures::{rule, uplinks};

    #[test]
    fn marks_follow_interfaces_then_policies_then_targets() {
        let mut c = uplinks(&["a", "b"])
            .member("a", 1, 1)
            .policy(&["m0"])
            .policy(&["m0"])
            .build();
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
    fn marks_are_kept_by_name_and_the_rest_fill_the_gaps() {
        let mut c = uplinks(&["a", "b"])
            .member("a", 1, 1)
            .policy(&["m0"])
            .build();
        c.rules = vec![rule("all", Target::Policy(PolicyId(0)))];
        let fresh = mark_assignment(&c);
        assert_eq!(
            fresh,
            MarkAssignment::from([("a".into(), 1), ("b".into(), 2)])
        );
        // A reload that inserts `new` before the others: theirs stay, `new` takes 3.
        let mut grown = uplinks(&["new", "a", "b"])
            .member("new", 1, 1)
            .policy(&["m0"])
            .build();
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
        let mut shrunk = uplinks(&["new", "b"])
            .member("new", 1, 1)
            .policy(&["m0"])
            .build();
        keep_marks(&mut shrunk, &kept);
        let marks: Vec<u32> = shrunk.interfaces.iter().map(|i| i.mark.value()).collect();
        assert_eq!(marks, [0x0300_0000, 0x0200_0000]);
        assert_eq!(
            Marks::new(&shrunk).policy(PolicyId(0)).unwrap().value(),
            0x0100_0000
        );
        // A kept value the mask cannot hold, or one already taken, is given anew.
        let mut narrow = uplinks(&["a", "b"])
            .member("a", 1, 1)
            .policy(&["m0"])
            .build();
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
