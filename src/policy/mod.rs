//! Policy resolution (pure): which members carry a policy's new connections right now.
//!
//! A policy's members are grouped into tiers by metric; the lowest metric that has at least
//! one available member wins and its available members share new connections by weight.
//! When no member is available the policy falls back to its `last_resort`. Availability is
//! the caller's verdict (health state and a usable device); nothing here does I/O.

use crate::config::{Config, InterfaceId, LastResort, MemberId, PolicyId};

/// One member carrying traffic for a policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ActiveMember {
    pub member: MemberId,
    pub interface: InterfaceId,
    pub weight: u16,
}

/// What a policy does with new connections right now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicyRoute {
    /// Members of the best available tier (never empty), in config order.
    Balance {
        metric: u16,
        members: Vec<ActiveMember>,
    },
    /// No member is available.
    LastResort(LastResort),
}

impl PolicyRoute {
    /// The members and their share of new connections in percent (rounded), for status.
    pub fn shares(&self) -> Vec<(ActiveMember, u32)> {
        let PolicyRoute::Balance { members, .. } = self else {
            return Vec::new();
        };
        let total: u32 = members.iter().map(|m| u32::from(m.weight)).sum();
        members
            .iter()
            .map(|m| (*m, (u32::from(m.weight) * 100 + total / 2) / total))
            .collect()
    }
}

/// Every policy's route, indexed by `PolicyId`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolution {
    pub policies: Vec<PolicyRoute>,
}

impl Resolution {
    pub fn get(&self, id: PolicyId) -> &PolicyRoute {
        &self.policies[id.0]
    }
}

/// Resolve every policy given which interfaces are available.
///
/// A member named twice for the same interface in the winning tier counts once (the first
/// wins): one uplink is one nexthop in the kernel's multipath route.
pub fn resolve(config: &Config, available: impl Fn(InterfaceId) -> bool) -> Resolution {
    let policies = config
        .policies
        .iter()
        .map(|policy| {
            let up = || {
                policy
                    .members
                    .iter()
                    .map(|&id| (id, &config.members[id.0]))
                    .filter(|(_, m)| config.interfaces[m.interface.0].enabled)
                    .filter(|(_, m)| available(m.interface))
            };
            let Some(metric) = up().map(|(_, m)| m.metric).min() else {
                return PolicyRoute::LastResort(policy.last_resort);
            };
            let mut members: Vec<ActiveMember> = Vec::new();
            for (id, m) in up().filter(|(_, m)| m.metric == metric) {
                if members.iter().all(|a| a.interface != m.interface) {
                    members.push(ActiveMember {
                        member: id,
                        interface: m.interface,
                        weight: m.weight,
                    });
                }
            }
            PolicyRoute::Balance { metric, members }
        })
        .collect();
    Resolution { policies }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::uplinks;

    fn ifaces(route: &PolicyRoute) -> Vec<(usize, u16)> {
        match route {
            PolicyRoute::Balance { members, .. } => {
                members.iter().map(|m| (m.interface.0, m.weight)).collect()
            }
            PolicyRoute::LastResort(_) => vec![],
        }
    }

    #[test]
    fn lowest_metric_tier_with_an_up_member_wins() {
        // wan1, wan2 in metric 1 (3:1), wan3 in metric 2.
        let c = uplinks(&["wan1", "wan2", "wan3"])
            .member("wan1", 1, 3)
            .member("wan2", 1, 1)
            .member("wan3", 2, 5)
            .policy(&["m0", "m1", "m2"])
            .build();
        let all = resolve(&c, |_| true);
        assert_eq!(ifaces(all.get(PolicyId(0))), vec![(0, 3), (1, 1)]);
        let one_down = resolve(&c, |i| i.0 != 0);
        assert_eq!(ifaces(one_down.get(PolicyId(0))), vec![(1, 1)]);
        let first_tier_down = resolve(&c, |i| i.0 == 2);
        assert_eq!(ifaces(first_tier_down.get(PolicyId(0))), vec![(2, 5)]);
        assert!(matches!(
            first_tier_down.get(PolicyId(0)),
            PolicyRoute::Balance { metric: 2, .. }
        ));
    }

    #[test]
    fn all_down_falls_back_to_last_resort() {
        let mut c = uplinks(&["wan1", "wan2"])
            .member("wan1", 1, 1)
            .member("wan2", 2, 1)
            .policy(&["m0", "m1"])
            .policy(&["m1"])
            .build();
        c.policies[1].last_resort = LastResort::Default;
        let r = resolve(&c, |_| false);
        assert_eq!(
            r.get(PolicyId(0)),
            &PolicyRoute::LastResort(LastResort::Unreachable)
        );
        assert_eq!(
            r.get(PolicyId(1)),
            &PolicyRoute::LastResort(LastResort::Default)
        );
        assert!(r.get(PolicyId(0)).shares().is_empty());
    }

    #[test]
    fn disabled_interfaces_never_carry_traffic() {
        let mut c = uplinks(&["wan1", "wan2"])
            .member("wan1", 1, 1)
            .member("wan2", 2, 1)
            .policy(&["m0", "m1"])
            .build();
        c.interfaces[0].enabled = false;
        assert_eq!(ifaces(resolve(&c, |_| true).get(PolicyId(0))), vec![(1, 1)]);
    }

    #[test]
    fn ties_keep_config_order_and_one_nexthop_per_interface() {
        let c = uplinks(&["wan1", "wan2"])
            .member("wan2", 1, 2)
            .member("wan1", 1, 1)
            .member("wan2", 1, 7)
            .policy(&["m0", "m1", "m2"])
            .build();
        let r = resolve(&c, |_| true);
        assert_eq!(ifaces(r.get(PolicyId(0))), vec![(1, 2), (0, 1)]);
    }

    #[test]
    fn shares_are_percent_of_the_tier() {
        let c = uplinks(&["wan1", "wan2"])
            .member("wan1", 1, 3)
            .member("wan2", 1, 1)
            .policy(&["m0", "m1"])
            .build();
        let shares: Vec<u32> = resolve(&c, |_| true)
            .get(PolicyId(0))
            .shares()
            .iter()
            .map(|s| s.1)
            .collect();
        assert_eq!(shares, vec![75, 25]);
    }
}
