//! The desired kernel state (pure): from the config, what the shell learned about each
//! uplink's device, and the policy resolution, compute every rule, route and the nft
//! ruleset rail wants. The shell (`kernel`) makes the kernel match it.

use std::collections::BTreeSet;
use std::net::IpAddr;

use super::layout::{Priority, TableId};
use super::nft;
use super::vocab::{
    Carrying, Links, NextHop, RouteKind, RouteSpec, RuleAction, RuleSpec, Selector, METRIC_ROUTE,
    METRIC_ROUTE6,
};
use crate::config::marks::{sticky_rules, Marks};
use crate::config::{
    Config, Interface, InterfaceId, LastResort, Mark, PolicyId, Prefix, Proto, Target,
};
use crate::family::{Af, PerAf};
use crate::policy::{PolicyRoute, Resolution};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Desired {
    /// Per family, sorted by priority. The IPv6 rules have IPv4's priorities and shapes;
    /// none when no enabled interface carries IPv6.
    pub rules: PerAf<Vec<RuleSpec>>,
    /// Per family, sorted by (table, metric); the same tables in both.
    pub routes: PerAf<Vec<RouteSpec>>,
    /// The complete `table inet rail { ... }` text.
    pub nft: String,
    /// Devices that need loose reverse-path filtering.
    pub uplink_devices: Vec<String>,
    /// Per family, policy and uplink, the sticky sets pinning sources to it (flushed when it
    /// stops carrying that policy's new connections of that family, so those sources are
    /// pinned again by another).
    pub sticky_sets: Vec<(Carrying, String)>,
    /// The uplinks each policy sends new connections of each family to.
    pub active: BTreeSet<Carrying>,
}

impl Desired {
    /// The policy-table routes of one family: what failover and failback change.
    pub fn policy_routes(&self, af: Af) -> impl Iterator<Item = &RouteSpec> {
        self.routes[af]
            .iter()
            .filter(|r| r.table >= TableId::policy(PolicyId(0)).expect("policy 0 fits"))
    }
}

/// Compute everything rail wants in the kernel; `resolution` holds, per family, the
/// policies resolved over the uplinks available for it.
pub fn desired(config: &Config, links: &Links, resolution: &PerAf<Resolution>) -> Desired {
    // IPv4 is always there (its catch-all rules keep main's default from the policies'
    // traffic); IPv6 only when an uplink carries it.
    let wanted = |af: Af| {
        af == Af::Inet
            || config
                .interfaces
                .iter()
                .any(|i| i.enabled && i.family.carries(af))
    };
    let (mut rules, mut routes) = (PerAf::<Vec<_>>::default(), PerAf::<Vec<_>>::default());
    for af in Af::BOTH.into_iter().filter(|af| wanted(*af)) {
        (rules[af], routes[af]) = family_state(config, links, &resolution[af], af);
    }
    let uplink_devices = links
        .iter()
        .filter(|(id, _)| config.interfaces.get(id.0).is_some_and(|i| i.enabled))
        .map(|(_, l)| l.device.clone())
        .collect();
    Desired {
        rules,
        routes,
        nft: nft::render(config, links),
        uplink_devices,
        sticky_sets: nft::sticky_sets(config, links)
            .into_iter()
            .map(|s| ((s.af, s.policy, s.interface), s.name))
            .collect(),
        active: Af::BOTH
            .into_iter()
            .filter(|af| wanted(*af))
            .flat_map(|af| active(af, &resolution[af], links))
            .collect(),
    }
}

/// The uplinks (with a device) each policy sends new connections of family `af` to.
fn active<'a>(
    af: Af,
    resolution: &'a Resolution,
    links: &'a Links,
) -> impl Iterator<Item = Carrying> + 'a {
    resolution
        .policies
        .iter()
        .enumerate()
        .flat_map(move |(p, route)| match route {
            PolicyRoute::Balance { members, .. } => members
                .iter()
                .map(|m| (af, PolicyId(p), m.interface))
                .filter(|(_, _, i)| links.contains_key(i))
                .collect(),
            PolicyRoute::LastResort(_) => Vec::new(),
        })
}

/// Whether an enabled interface carries `af`.
fn carries(iface: &Interface, af: Af) -> bool {
    iface.enabled && iface.family.carries(af)
}

/// Where an uplink's traffic of one family leaves: (ifindex, its address, the next hop).
type Hop = (u32, Option<IpAddr>, Option<IpAddr>);

/// The rules and routes of one family. IPv4 keeps what it always had (an uplink table
/// route even before the device has an address); IPv6 needs the uplink's global address.
fn family_state(
    config: &Config,
    links: &Links,
    resolution: &Resolution,
    af: Af,
) -> (Vec<RuleSpec>, Vec<RouteSpec>) {
    let marks = Marks::new(config);
    let metric = match af {
        Af::Inet => METRIC_ROUTE,
        Af::Inet6 => METRIC_ROUTE6,
    };
    let hop = |id: &InterfaceId| -> Option<Hop> {
        if !carries(config.interfaces.get(id.0)?, af) {
            return None;
        }
        let link = links.get(id)?;
        match (af, link.endpoint(af)) {
            (_, Some((addr, gw))) => Some((link.ifindex, Some(addr), gw)),
            // Without an address the next hop is unreachable (netifd removes addresses
            // before it says the interface is down): the device alone, until it has one.
            (Af::Inet, None) => Some((link.ifindex, None, None)),
            (Af::Inet6, None) => None,
        }
    };
    let mut rules = vec![RuleSpec {
        priority: Priority::SUPPRESS_MAIN,
        selector: Selector::All,
        action: RuleAction::MainWithoutDefault,
    }];
    let mut routes = Vec::new();
    uplinks_state(config, links, af, metric, &hop, &mut rules, &mut routes);
    for (p, route) in resolution.policies.iter().enumerate() {
        let id = PolicyId(p);
        let (Some(table), Some(priority), Some(mark)) = (
            TableId::policy(id),
            Priority::mark_policy(id),
            marks.policy(id),
        ) else {
            continue;
        };
        rules.push(by_mark(
            priority,
            mark,
            marks.mask(),
            RuleAction::Lookup(table),
        ));
        if let Some(kind) = policy_route(route, |id| hop(id).map(|(i, _, g)| (i, g))) {
            routes.push(RouteSpec {
                table,
                metric,
                kind,
            });
        }
    }
    rules.extend(target_rules(config, af, &marks));
    rules.sort();
    routes.sort();
    (rules, routes)
}

/// Each uplink's table (its default route) and the rules into it: by its mark, and from
/// its address.
fn uplinks_state(
    config: &Config,
    links: &Links,
    af: Af,
    metric: u32,
    hop: &dyn Fn(&InterfaceId) -> Option<Hop>,
    rules: &mut Vec<RuleSpec>,
    routes: &mut Vec<RouteSpec>,
) {
    let mask = config.globals.mark_mask.bits();
    for (i, iface) in config.interfaces.iter().enumerate() {
        let id = InterfaceId(i);
        let (Some(table), Some(from), Some(marked)) = (
            TableId::uplink(id),
            Priority::from_uplink(id),
            Priority::mark_uplink(id),
        ) else {
            continue;
        };
        if !carries(iface, af) {
            continue;
        }
        // No `prohibit` fallback: rail's routes and rules outlive a kill -9, and a fallback
        // would refuse the uplink's marked traffic for good once its device is recreated
        // (PPPoE reconnect) while rail is gone. Without one, a table whose route is gone
        // falls through to main (docs/reliability.md, failing open).
        rules.push(by_mark(marked, iface.mark, mask, RuleAction::Lookup(table)));
        let Some((ifindex, address, gateway)) = hop(&id) else {
            continue;
        };
        routes.push(RouteSpec {
            table,
            metric,
            kind: RouteKind::Via(vec![NextHop {
                ifindex,
                gateway,
                weight: 1,
            }]),
        });
        if let Some(addr) = address {
            rules.push(RuleSpec {
                priority: from,
                selector: Selector::From(addr),
                action: RuleAction::Lookup(table),
            });
        }
        // LAN sources in the prefix delegated to this uplink leave only through it: its
        // provider routes that prefix back, and every other provider drops it as a source it
        // did not delegate (BCP 38). With NPTv6 the LAN's sources are npt_internal instead,
        // translated on the way out of whichever uplink the policy picks.
        if let Some(delegated) = links
            .get(&id)
            .and_then(|l| l.delegated6)
            .filter(|p| af == Af::Inet6 && p.addr.is_ipv6() && iface.npt.is_none())
        {
            let net = delegated.network();
            rules.push(RuleSpec {
                priority: from,
                selector: Selector::FromNet(net.addr, net.len),
                action: RuleAction::Lookup(table),
            });
        }
    }
}

/// The rules after the uplinks' and policies': the router's own connections, sticky
/// rules' unpinned connections, and rules whose target is unreachable or blackhole.
fn target_rules(config: &Config, af: Af, marks: &Marks) -> Vec<RuleSpec> {
    let mask = marks.mask();
    let mut rules = Vec::new();
    // The router's own connections get their source address from the route found before
    // the output hook marks them. Without this rule that is main's default route, whose
    // uplink may be down: the source rule above then pins them to it whatever the policy
    // says. Let the catch-all rule's policy pick it instead.
    if let Some(table) = catch_all_policy(config, af).and_then(TableId::policy) {
        rules.push(RuleSpec {
            priority: Priority::LOCAL,
            selector: Selector::Local,
            action: RuleAction::Lookup(table),
        });
    }
    // A sticky rule's unpinned connections follow its policy.
    for (k, (_, p)) in sticky_rules(config).into_iter().enumerate() {
        let (Some(priority), Some(mark), Some(table)) = (
            Priority::mark_sticky(k),
            marks.sticky(k),
            TableId::policy(p),
        ) else {
            continue;
        };
        rules.push(by_mark(priority, mark, mask, RuleAction::Lookup(table)));
    }
    for (priority, mark, action) in [
        (
            Priority::UNREACHABLE,
            marks.unreachable(),
            RuleAction::Unreachable,
        ),
        (
            Priority::BLACKHOLE,
            marks.blackhole(),
            RuleAction::Blackhole,
        ),
    ] {
        if let Some(mark) = mark {
            rules.push(by_mark(priority, mark, mask, action));
        }
    }
    rules
}

/// The policy of the first rule that matches every flow of `af`, if it targets one.
fn catch_all_policy(config: &Config, af: Af) -> Option<PolicyId> {
    let any = |p: &[Prefix]| p.is_empty() || p.iter().any(|p| af.holds(&p.addr) && p.len == 0);
    let rule = config.rules.iter().find(|r| {
        any(&r.src_ip)
            && any(&r.dest_ip)
            && r.src_port.is_empty()
            && r.dest_port.is_empty()
            && r.proto == Proto::All
            && r.src_dev.is_empty()
            && r.ipset.is_none()
            && r.family.is_none_or(|f| f == af)
    })?;
    match rule.target {
        Target::Policy(p) => Some(p),
        _ => None,
    }
}

/// `fwmark <mark>/<mask>` then `action`.
fn by_mark(priority: Priority, mark: Mark, mask: u32, action: RuleAction) -> RuleSpec {
    RuleSpec {
        priority,
        selector: Selector::FwMark {
            mark: mark.value(),
            mask,
        },
        action,
    }
}

/// A policy's default route; `None` when it falls through to main (`last_resort default`).
///
/// Members whose uplink has no device (for IPv6: no global address) are skipped; if none is left the last resort applies.
fn policy_route(
    route: &PolicyRoute,
    hop: impl Fn(&InterfaceId) -> Option<(u32, Option<IpAddr>)>,
) -> Option<RouteKind> {
    let last_resort = |lr: LastResort| match lr {
        LastResort::Unreachable => Some(RouteKind::Unreachable),
        LastResort::Blackhole => Some(RouteKind::Blackhole),
        LastResort::Default => None,
    };
    match route {
        PolicyRoute::LastResort(lr) => last_resort(*lr),
        PolicyRoute::Balance { members, .. } => {
            let present: Vec<(&crate::policy::ActiveMember, (u32, Option<IpAddr>))> = members
                .iter()
                .filter_map(|m| hop(&m.interface).map(|h| (m, h)))
                .collect();
            if present.is_empty() {
                // Same fallback as an all-down policy, but never a route to nowhere.
                return Some(RouteKind::Unreachable);
            }
            let weights =
                kernel_weights(&present.iter().map(|(m, _)| m.weight).collect::<Vec<_>>());
            let hops = present
                .iter()
                .zip(weights)
                .map(|((_, (ifindex, gateway)), weight)| NextHop {
                    ifindex: *ifindex,
                    gateway: *gateway,
                    weight,
                })
                .collect();
            Some(RouteKind::Via(hops))
        }
    }
}

/// Config weights (1..=1000) as kernel nexthop weights (1..=256): divided by their common
/// divisor, then scaled down proportionally (never below 1) when the largest exceeds 256.
pub fn kernel_weights(weights: &[u16]) -> Vec<u16> {
    fn gcd(a: u32, b: u32) -> u32 {
        if b == 0 {
            a
        } else {
            gcd(b, a % b)
        }
    }
    let g = weights.iter().fold(0, |g, &w| gcd(g, u32::from(w))).max(1);
    let reduced: Vec<u32> = weights.iter().map(|&w| u32::from(w) / g).collect();
    let max = reduced.iter().copied().max().unwrap_or(1);
    reduced
        .iter()
        .map(|&w| if max <= 256 { w } else { ((w * 256 + max / 2) / max).max(1) } as u16)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataplane::vocab::Link;
    use crate::family::Family;
    use crate::fixtures::uplinks;
    use crate::policy::resolve;
    use std::net::{Ipv4Addr, Ipv6Addr};

    /// wan1 (weight `w1`) and wan2 (weight 1) balanced in one policy.
    fn balanced_pair(w1: u16) -> Config {
        uplinks(&["wan1", "wan2"])
            .member("wan1", 1, w1)
            .member("wan2", 1, 1)
            .policy(&["m0", "m1"])
            .build()
    }

    /// `balanced_pair`, both uplinks carrying IPv4 and IPv6.
    fn dual_stack_pair(w1: u16) -> Config {
        let mut c = balanced_pair(w1);
        for i in &mut c.interfaces {
            i.family = Family::Both;
        }
        c
    }

    /// IPv4's resolution and IPv6's.
    fn per_af(inet: &Resolution, inet6: &Resolution) -> PerAf<Resolution> {
        PerAf::from_fn(|af| if af == Af::Inet { inet } else { inet6 }.clone())
    }

    fn links() -> Links {
        let mut l = Links::new();
        l.insert(
            InterfaceId(0),
            Link {
                device: "eth1".into(),
                ifindex: 3,
                address: PerAf::new(Some(Ipv4Addr::new(192, 0, 2, 2).into()), None),
                gateway: PerAf::new(Some(Ipv4Addr::new(192, 0, 2, 1).into()), None),
                carrier: true,
                delegated6: None,
            },
        );
        l.insert(
            InterfaceId(1),
            Link {
                device: "pppoe-wan2".into(),
                ifindex: 9,
                address: PerAf::new(Some(Ipv4Addr::new(198, 51, 100, 7).into()), None),
                gateway: PerAf::default(),
                carrier: true,
                delegated6: None,
            },
        );
        l
    }

    fn table(d: &Desired, t: TableId) -> Vec<&RouteSpec> {
        d.routes[Af::Inet].iter().filter(|r| r.table == t).collect()
    }

    #[test]
    fn two_uplinks_three_to_one() {
        let c = uplinks(&["wan1", "wan2"])
            .member("wan1", 1, 3)
            .member("wan2", 1, 1)
            .policy(&["m0", "m1"])
            .build();
        let d = desired(&c, &links(), &PerAf::splat(resolve(&c, |_| true)));
        let policy = table(&d, TableId::policy(PolicyId(0)).unwrap());
        assert_eq!(
            policy[0].kind,
            RouteKind::Via(vec![
                NextHop {
                    ifindex: 3,
                    gateway: Some(Ipv4Addr::new(192, 0, 2, 1).into()),
                    weight: 3
                },
                NextHop {
                    ifindex: 9,
                    gateway: None,
                    weight: 1
                },
            ])
        );
        let up2 = table(&d, TableId::uplink(InterfaceId(1)).unwrap());
        assert_eq!(up2.len(), 1);
        assert_eq!(
            up2[0].kind,
            RouteKind::Via(vec![NextHop {
                ifindex: 9,
                gateway: None,
                weight: 1
            }])
        );
        let rendered: Vec<String> = d.rules[Af::Inet]
            .iter()
            .map(|r| format!("{} {:?} {:?}", r.priority.value(), r.selector, r.action))
            .collect();
        assert_eq!(
            rendered,
            vec![
                "4000 All MainWithoutDefault",
                "4001 From(192.0.2.2) Lookup(TableId(20001))",
                "4002 From(198.51.100.7) Lookup(TableId(20002))",
                "4200 FwMark { mark: 16777216, mask: 1056964608 } Lookup(TableId(20001))",
                "4201 FwMark { mark: 33554432, mask: 1056964608 } Lookup(TableId(20002))",
                "4400 FwMark { mark: 50331648, mask: 1056964608 } Lookup(TableId(20201))",
                "4600 FwMark { mark: 67108864, mask: 1056964608 } Unreachable",
                "4601 FwMark { mark: 83886080, mask: 1056964608 } Blackhole",
            ]
        );
        assert_eq!(d.uplink_devices, vec!["eth1", "pppoe-wan2"]);
    }

    #[test]
    fn a_device_without_its_address_gets_no_route_via_the_unreachable_next_hop() {
        let c = balanced_pair(1);
        let mut l = links();
        l.get_mut(&InterfaceId(0)).unwrap().address[Af::Inet] = None;
        let d = desired(&c, &l, &PerAf::splat(resolve(&c, |_| true)));
        let up1 = table(&d, TableId::uplink(InterfaceId(0)).unwrap());
        let device_only = NextHop {
            ifindex: 3,
            gateway: None,
            weight: 1,
        };
        assert_eq!(up1[0].kind, RouteKind::Via(vec![device_only]));
        let policy = table(&d, TableId::policy(PolicyId(0)).unwrap());
        assert!(
            !format!("{:?}", policy[0].kind).contains("192.0.2.1"),
            "{policy:?}"
        );
    }

    #[test]
    fn missing_device_empties_its_table_and_keeps_the_mark_rule() {
        let c = balanced_pair(1);
        let mut l = links();
        l.remove(&InterfaceId(0));
        let d = desired(&c, &l, &PerAf::splat(resolve(&c, |_| true)));
        let up1 = table(&d, TableId::uplink(InterfaceId(0)).unwrap());
        assert!(up1.is_empty(), "{up1:?}");
        assert!(d.rules[Af::Inet]
            .iter()
            .any(|r| r.priority == Priority::mark_uplink(InterfaceId(0)).unwrap()));
        assert!(!d.rules[Af::Inet]
            .iter()
            .any(|r| r.priority == Priority::from_uplink(InterfaceId(0)).unwrap()));
        // The policy keeps only the member that has a device.
        let policy = table(&d, TableId::policy(PolicyId(0)).unwrap());
        assert_eq!(
            policy[0].kind,
            RouteKind::Via(vec![NextHop {
                ifindex: 9,
                gateway: None,
                weight: 1
            }])
        );
    }

    #[test]
    fn last_resorts() {
        let mut c = uplinks(&["wan1"])
            .member("wan1", 1, 1)
            .policy(&["m0"])
            .policy(&["m0"])
            .policy(&["m0"])
            .build();
        c.policies[1].last_resort = LastResort::Blackhole;
        c.policies[2].last_resort = LastResort::Default;
        let d = desired(&c, &links(), &PerAf::splat(resolve(&c, |_| false)));
        let kinds: Vec<_> = d
            .policy_routes(Af::Inet)
            .map(|r| (r.table.value(), r.kind.clone()))
            .collect();
        assert_eq!(
            kinds,
            vec![
                (20201, RouteKind::Unreachable),
                (20202, RouteKind::Blackhole)
            ]
        );
        // Failover does not touch the uplink tables.
        let up = desired(&c, &links(), &PerAf::splat(resolve(&c, |_| true)));
        let uplink_routes = |d: &Desired| {
            d.routes[Af::Inet]
                .iter()
                .filter(|r| r.table.value() < 20201)
                .cloned()
                .collect::<Vec<_>>()
        };
        assert_eq!(uplink_routes(&d), uplink_routes(&up));
        assert_eq!(d.rules[Af::Inet], up.rules[Af::Inet]);
        assert_eq!(d.nft, up.nft);
    }

    #[test]
    fn ipv6_gets_its_own_rules_tables_and_multipath_by_its_own_resolution() {
        let c = dual_stack_pair(3);
        let mut l = links();
        let a6: Ipv6Addr = "2001:db8:100:1::2".parse().unwrap();
        let gw6: Ipv6Addr = "fe80::1".parse().unwrap();
        if let Some(wan1) = l.get_mut(&InterfaceId(0)) {
            wan1.address[Af::Inet6] = Some(a6.into());
            wan1.gateway[Af::Inet6] = Some(gw6.into());
        }
        // wan2 has no IPv6 address yet: no IPv6 route through it (and no fallback: its
        // marked traffic falls through to main, failing open).
        let both = resolve(&c, |_| true);
        let d = desired(&c, &l, &per_af(&both, &both));
        let hop1 = NextHop {
            ifindex: 3,
            gateway: Some(gw6.into()),
            weight: 1,
        };
        let t6 = |t: TableId| -> Vec<RouteKind> {
            d.routes[Af::Inet6]
                .iter()
                .filter(|r| r.table == t)
                .map(|r| r.kind.clone())
                .collect()
        };
        assert_eq!(
            t6(TableId::uplink(InterfaceId(0)).unwrap()),
            vec![RouteKind::Via(vec![hop1])]
        );
        assert_eq!(t6(TableId::uplink(InterfaceId(1)).unwrap()), vec![]);
        assert_eq!(
            t6(TableId::policy(PolicyId(0)).unwrap()),
            vec![RouteKind::Via(vec![hop1])]
        );
        assert!(d.rules[Af::Inet6].contains(&RuleSpec {
            priority: Priority::from_uplink(InterfaceId(0)).unwrap(),
            selector: Selector::From(a6.into()),
            action: RuleAction::Lookup(TableId::uplink(InterfaceId(0)).unwrap()),
        }));
        // The same fwmark rules as IPv4, minus the `from` rules of addresses it lacks.
        let marks = |r: &[RuleSpec]| -> Vec<RuleSpec> {
            r.iter()
                .filter(|r| !matches!(r.selector, Selector::From(_)))
                .copied()
                .collect()
        };
        assert_eq!(marks(&d.rules[Af::Inet6]), marks(&d.rules[Af::Inet]));
        // Both have IPv6; wan1 is down for IPv6 only: IPv4 keeps both, IPv6 moves to wan2.
        if let Some(wan2) = l.get_mut(&InterfaceId(1)) {
            wan2.address[Af::Inet6] = Some("2001:db8:100:2::2".parse().unwrap());
        }
        let v6 = resolve(&c, |i| i != InterfaceId(0));
        let d = desired(&c, &l, &per_af(&both, &v6));
        let policy = |routes: &[RouteSpec]| {
            routes
                .iter()
                .find(|r| r.table == TableId::policy(PolicyId(0)).unwrap())
                .map(|r| r.kind.clone())
        };
        assert_eq!(
            policy(&d.routes[Af::Inet6]),
            Some(RouteKind::Via(vec![NextHop {
                ifindex: 9,
                gateway: None,
                weight: 1
            }]))
        );
        assert!(matches!(policy(&d.routes[Af::Inet]), Some(RouteKind::Via(h)) if h.len() == 2));
        // An IPv6-only uplink has nothing in IPv4 and everything in IPv6.
        let mut c6 = c.clone();
        c6.interfaces[1].family = crate::family::Family::Ipv6;
        let d = desired(&c6, &l, &per_af(&both, &both));
        let has = |rules: &[RuleSpec], p: Priority| rules.iter().any(|r| r.priority == p);
        let marked = Priority::mark_uplink(InterfaceId(1)).unwrap();
        assert!(!has(&d.rules[Af::Inet], marked) && has(&d.rules[Af::Inet6], marked));
        assert!(!d.routes[Af::Inet]
            .iter()
            .any(|r| r.table == TableId::uplink(InterfaceId(1)).unwrap()));
        assert!(matches!(policy(&d.routes[Af::Inet]), Some(RouteKind::Via(h)) if h.len() == 1));
        // No interface carries IPv6: nothing of it.
        let c4 = uplinks(&["wan1"])
            .member("wan1", 1, 1)
            .policy(&["m0"])
            .build();
        let v4 = desired(&c4, &l, &PerAf::splat(resolve(&c4, |_| true)));
        assert!(v4.rules[Af::Inet6].is_empty() && v4.routes[Af::Inet6].is_empty());
    }

    #[test]
    fn a_delegated_prefix_leaves_only_through_its_uplink_unless_translated() {
        let mut c = dual_stack_pair(1);
        let mut l = links();
        // PD-only: each uplink's IPv6 source is the router's LAN address in its prefix.
        for (id, isp) in [(InterfaceId(0), 1), (InterfaceId(1), 2)] {
            let wan = l.get_mut(&id).unwrap();
            wan.address[Af::Inet6] = Some(format!("2001:db8:300:{isp}::1").parse().unwrap());
            wan.gateway[Af::Inet6] = Some("fe80::1".parse().unwrap());
            wan.delegated6 = Some(crate::config::Prefix {
                addr: format!("2001:db8:300:{isp}::5").parse().unwrap(),
                len: 64,
            });
        }
        let both = resolve(&c, |_| true);
        let from_net = |d: &Desired| -> Vec<(u32, String, u32)> {
            d.rules[Af::Inet6]
                .iter()
                .filter_map(|r| match (r.selector, r.action) {
                    (Selector::FromNet(a, len), RuleAction::Lookup(t)) => {
                        Some((r.priority.value(), format!("{a}/{len}"), t.value()))
                    }
                    _ => None,
                })
                .collect()
        };
        let d = desired(&c, &l, &per_af(&both, &both));
        assert_eq!(
            from_net(&d),
            vec![
                (4001, "2001:db8:300:1::/64".into(), 20001),
                (4002, "2001:db8:300:2::/64".into(), 20002)
            ],
            "each prefix (host bits cleared) to its own uplink's table"
        );
        assert!(
            !d.rules[Af::Inet]
                .iter()
                .any(|r| matches!(r.selector, Selector::FromNet(..))),
            "IPv4 has none"
        );
        // Ahead of every mark rule: the policy's choice does not move a delegated source.
        let first_mark = d.rules[Af::Inet6]
            .iter()
            .find(|r| matches!(r.selector, Selector::FwMark { .. }))
            .unwrap();
        assert!(Priority::from_uplink(InterfaceId(1)).unwrap() < first_mark.priority);
        // NPTv6 on wan2: its LAN sources are translated, whichever uplink they leave by.
        let internal = crate::config::Prefix {
            addr: "fd00:1::".parse().unwrap(),
            len: 64,
        };
        c.interfaces[1].npt = crate::config::Npt::new(internal, None);
        let d = desired(&c, &l, &per_af(&both, &both));
        assert_eq!(
            from_net(&d),
            vec![(4001, "2001:db8:300:1::/64".into(), 20001)]
        );
    }

    #[test]
    fn disabled_interface_gets_nothing() {
        let mut c = uplinks(&["wan1", "wan2"])
            .member("wan1", 1, 1)
            .policy(&["m0"])
            .build();
        c.interfaces[1].enabled = false;
        let d = desired(&c, &links(), &PerAf::splat(resolve(&c, |_| true)));
        assert!(table(&d, TableId::uplink(InterfaceId(1)).unwrap()).is_empty());
        assert_eq!(d.uplink_devices, vec!["eth1"]);
    }

    #[test]
    fn weights_become_small_kernel_weights() {
        assert_eq!(kernel_weights(&[3, 1]), vec![3, 1]);
        assert_eq!(kernel_weights(&[300, 100]), vec![3, 1]);
        assert_eq!(kernel_weights(&[1000, 999, 1]), vec![256, 256, 1]);
        assert_eq!(kernel_weights(&[1000, 500]), vec![2, 1]);
        assert_eq!(kernel_weights(&[7]), vec![1]);
    }

    #[test]
    fn sticky_rule_routes_unpinned_flows_by_its_policy() {
        let mut c = uplinks(&["wan1", "wan2"])
            .member("wan1", 1, 1)
            .member("wan2", 2, 1)
            .policy(&["m0", "m1"])
            .build();
        let mut pinned =
            crate::fixtures::rule("pinned", crate::config::Target::Policy(PolicyId(0)));
        pinned.sticky = true;
        c.rules = vec![pinned];
        let d = desired(&c, &links(), &PerAf::splat(resolve(&c, |_| true)));
        let sticky = d.rules[Af::Inet]
            .iter()
            .find(|r| r.priority == Priority::mark_sticky(0).unwrap());
        assert_eq!(
            sticky.map(|r| (r.selector, r.action)),
            Some((
                Selector::FwMark {
                    mark: 0x0400_0000,
                    mask: 0x3f00_0000
                },
                RuleAction::Lookup(TableId::policy(PolicyId(0)).unwrap())
            ))
        );
        let names: Vec<&str> = d.sticky_sets.iter().map(|(_, n)| n.as_str()).collect();
        assert_eq!(names, vec!["sticky_pinned_wan1", "sticky_pinned_wan2"]);
        // Only the metric-1 tier carries new connections.
        assert_eq!(
            d.active,
            [(Af::Inet, PolicyId(0), InterfaceId(0))]
                .into_iter()
                .collect()
        );
    }

    #[test]
    fn ipv6_sticky_sets_are_unpinned_by_the_ipv6_resolution() {
        let mut c = balanced_pair(1);
        for i in &mut c.interfaces {
            i.family = Family::Both;
        }
        let mut pinned =
            crate::fixtures::rule("pinned", crate::config::Target::Policy(PolicyId(0)));
        pinned.sticky = true;
        c.rules = vec![pinned];
        // IPv6 of wan1 is down, IPv4 of both is up.
        let d = desired(
            &c,
            &links(),
            &per_af(
                &resolve(&c, |_| true),
                &resolve(&c, |i| i == InterfaceId(1)),
            ),
        );
        let active: Vec<Carrying> = d.active.iter().copied().collect();
        assert_eq!(
            active,
            vec![
                (Af::Inet, PolicyId(0), InterfaceId(0)),
                (Af::Inet, PolicyId(0), InterfaceId(1)),
                (Af::Inet6, PolicyId(0), InterfaceId(1)),
            ]
        );
        let six: Vec<(Carrying, &str)> = d
            .sticky_sets
            .iter()
            .filter(|((af, ..), _)| *af == Af::Inet6)
            .map(|(k, n)| (*k, n.as_str()))
            .collect();
        assert_eq!(
            six,
            vec![
                (
                    (Af::Inet6, PolicyId(0), InterfaceId(0)),
                    "sticky6_pinned_wan1"
                ),
                (
                    (Af::Inet6, PolicyId(0), InterfaceId(1)),
                    "sticky6_pinned_wan2"
                ),
            ]
        );
    }

    #[test]
    fn routers_own_traffic_follows_the_first_catch_all_rule() {
        use crate::config::Target;
        use crate::fixtures::rule;
        let mut c = uplinks(&["wan1", "wan2"])
            .member("wan1", 1, 1)
            .member("wan2", 1, 1)
            .policy(&["m0"])
            .policy(&["m1"])
            .build();
        let mut web = rule("web", Target::Policy(PolicyId(0)));
        web.dest_port = vec![crate::config::PortRange {
            first: 80,
            last: 80,
        }];
        web.proto = Proto::Tcp;
        let mut everything = rule("all", Target::Policy(PolicyId(1)));
        everything.dest_ip = vec![Prefix {
            addr: Ipv4Addr::UNSPECIFIED.into(),
            len: 0,
        }];
        c.rules = vec![web, everything];
        let local = |c: &Config| {
            desired(c, &links(), &PerAf::splat(resolve(c, |_| true))).rules[Af::Inet]
                .iter()
                .filter(|r| r.selector == Selector::Local)
                .map(|r| (r.priority, r.action))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            local(&c),
            [(
                Priority::LOCAL,
                RuleAction::Lookup(TableId::policy(PolicyId(1)).unwrap())
            )]
        );
        // Without a rule for everything (or one to main's routes), main decides.
        c.rules[1].target = Target::Default;
        assert_eq!(local(&c), []);
        c.rules.pop();
        assert_eq!(local(&c), []);
    }
}
