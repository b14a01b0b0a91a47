//! The mark layout inside `globals.mark_mask` (values 1-based): `1..=I` the interfaces
//! (config order), then `I+1..=I+P` the policies, then one per sticky rule (`S`), then two
//! for rules that target `unreachable` and `blackhole`. A config fits when
//! `I + P + S + 2 <= mark_mask.capacity()`; validation (`build`) and the dataplane read
//! the layout from here.

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
}
