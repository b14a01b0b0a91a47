//! Translation between rail's rule and route specs and rtnetlink messages, both ways.
//!
//! Pure: reading a dumped message back into a spec is how reconciliation recognises what
//! it already installed; a message rail owns that does not read back is treated as drift.

use std::net::IpAddr;

use super::layout::{Priority, TableId, PROTOCOL};
use super::vocab::{NextHop, RouteKind, RouteSpec, RuleAction, RuleSpec, Selector};
use crate::family::Af;
use crate::netlink::route::{
    Hop, Route, Rule, AF_INET, AF_INET6, FR_ACT_BLACKHOLE, FR_ACT_TO_TBL, FR_ACT_UNREACHABLE,
    RTN_BLACKHOLE, RTN_PROHIBIT, RTN_UNICAST, RTN_UNREACHABLE, RT_SCOPE_LINK, RT_SCOPE_UNIVERSE,
    RT_TABLE_MAIN,
};

/// The netlink address family of `af`.
pub fn nl_family(af: Af) -> u8 {
    match af {
        Af::Inet => AF_INET,
        Af::Inet6 => AF_INET6,
    }
}

/// The family of a dumped message (rail only dumps inet and inet6).
pub fn af_of(family: u8) -> Af {
    if family == AF_INET6 {
        Af::Inet6
    } else {
        Af::Inet
    }
}

/// An IPv4 rule message.
pub fn rule_message(rule: &RuleSpec) -> Rule {
    rule_message_in(Af::Inet, rule)
}

/// A rule message of family `af`.
pub fn rule_message_in(af: Af, rule: &RuleSpec) -> Rule {
    let mut m = Rule {
        family: nl_family(af),
        priority: Some(rule.priority.value()),
        protocol: Some(PROTOCOL),
        ..Rule::default()
    };
    match rule.selector {
        Selector::All => {}
        Selector::From(addr) => {
            m.src_len = Af::of(&addr).max_len();
            m.src = Some(addr);
        }
        Selector::FromNet(addr, len) => {
            m.src_len = len;
            m.src = Some(addr);
        }
        Selector::FwMark { mark, mask } => {
            m.fwmark = Some(mark);
            m.fwmask = Some(mask);
        }
        Selector::Local => m.iifname = Some("lo".into()),
    }
    m.action = match rule.action {
        RuleAction::Lookup(table) => {
            m.table_id = Some(table.value());
            FR_ACT_TO_TBL
        }
        RuleAction::MainWithoutDefault => {
            m.table = RT_TABLE_MAIN as u8;
            m.table_id = Some(RT_TABLE_MAIN);
            m.suppress_prefixlen = Some(0);
            FR_ACT_TO_TBL
        }
        RuleAction::Unreachable => FR_ACT_UNREACHABLE,
        RuleAction::Blackhole => FR_ACT_BLACKHOLE,
    };
    m
}

/// Whether a dumped rule is rail's: in rail's priority range and stamped with its protocol.
pub fn rule_is_owned(m: &Rule) -> bool {
    m.priority.and_then(Priority::owned).is_some() && m.protocol == Some(PROTOCOL)
}

/// Read a dumped rule back; `None` when it is not a shape rail creates.
pub fn rule_spec(m: &Rule) -> Option<RuleSpec> {
    if !m.other.is_empty() {
        return None;
    }
    let local = match m.iifname.as_deref() {
        None => false,
        Some("lo") => true,
        Some(_) => return None,
    };
    // The kernel dumps -1 for "not set".
    let suppress = m.suppress_prefixlen.filter(|v| *v != u32::MAX);
    let table = m.table_id.unwrap_or(u32::from(m.table));
    let selector = match (m.src, m.fwmark) {
        (None, None) if m.src_len == 0 && local => Selector::Local,
        _ if local => return None,
        (None, None) if m.src_len == 0 => Selector::All,
        (Some(a), None) if m.src_len == Af::of(&a).max_len() => Selector::From(a),
        (Some(a), None) => Selector::FromNet(a, m.src_len),
        (None, Some(mark)) => Selector::FwMark {
            mark,
            mask: m.fwmask.unwrap_or(u32::MAX),
        },
        _ => return None,
    };
    let action = match (m.action, suppress) {
        (FR_ACT_TO_TBL, Some(0)) if table == RT_TABLE_MAIN => RuleAction::MainWithoutDefault,
        (FR_ACT_TO_TBL, None) => RuleAction::Lookup(TableId::owned(table)?),
        (FR_ACT_UNREACHABLE, None) => RuleAction::Unreachable,
        (FR_ACT_BLACKHOLE, None) => RuleAction::Blackhole,
        _ => return None,
    };
    Some(RuleSpec {
        priority: Priority::owned(m.priority?)?,
        selector,
        action,
    })
}

/// A rule as `ip rule` shows it (for error messages): `4200 fwmark 0x1000000/0x3f000000
/// lookup 20001`.
pub fn describe_rule(rule: &RuleSpec) -> String {
    let selector = match rule.selector {
        Selector::All => String::new(),
        Selector::From(a) => format!(" from {a}"),
        Selector::FromNet(a, len) => format!(" from {a}/{len}"),
        Selector::FwMark { mark, mask } => format!(" fwmark {mark:#x}/{mask:#x}"),
        Selector::Local => " iif lo".into(),
    };
    let action = match rule.action {
        RuleAction::Lookup(t) => format!("lookup {}", t.value()),
        RuleAction::MainWithoutDefault => "lookup main suppress_prefixlength 0".into(),
        RuleAction::Unreachable => "unreachable".into(),
        RuleAction::Blackhole => "blackhole".into(),
    };
    format!("{}{selector} {action}", rule.priority.value())
}

/// A default route as `ip route` shows it (for error messages), devices by ifindex:
/// `default nexthop via 192.0.2.1 dev #3 weight 3 nexthop dev #9 weight 1`.
pub fn describe_route(kind: &RouteKind) -> String {
    let hop = |h: &NextHop| match h.gateway {
        Some(g) => format!("via {g} dev #{}", h.ifindex),
        None => format!("dev #{}", h.ifindex),
    };
    match kind {
        RouteKind::Via(hops) => match hops.as_slice() {
            [one] => format!("default {}", hop(one)),
            _ => hops.iter().fold("default".into(), |out, h| {
                format!("{out} nexthop {} weight {}", hop(h), h.weight)
            }),
        },
        RouteKind::Unreachable => "unreachable default".into(),
        RouteKind::Blackhole => "blackhole default".into(),
        RouteKind::Prohibit => "prohibit default".into(),
    }
}

/// The message that adds (or replaces) one of rail's IPv4 default routes.
pub fn route_message(route: &RouteSpec) -> Route {
    route_message_in(Af::Inet, route)
}

/// The message that adds (or replaces) one of rail's default routes of family `af`.
pub fn route_message_in(af: Af, route: &RouteSpec) -> Route {
    let mut m = Route {
        family: nl_family(af),
        protocol: PROTOCOL,
        scope: RT_SCOPE_UNIVERSE,
        table_id: Some(route.table.value()),
        priority: Some(route.metric),
        ..Route::default()
    };
    m.kind = match &route.kind {
        RouteKind::Via(hops) => {
            if let [hop] = hops.as_slice() {
                m.oif = Some(hop.ifindex);
                match hop.gateway {
                    Some(gw) => m.gateway = Some(gw),
                    None => m.scope = RT_SCOPE_LINK,
                }
            } else {
                let hops = hops
                    .iter()
                    .map(|h| Hop {
                        ifindex: h.ifindex,
                        hops: (h.weight.clamp(1, 256) - 1) as u8,
                        gateway: h.gateway,
                        flags: 0,
                    })
                    .collect();
                m.multipath = Some(hops);
            }
            RTN_UNICAST
        }
        RouteKind::Unreachable => RTN_UNREACHABLE,
        RouteKind::Blackhole => RTN_BLACKHOLE,
        RouteKind::Prohibit => RTN_PROHIBIT,
    };
    m
}

/// A dump request for rail's routes in one table (honoured by the kernel with strict
/// checking on), or in every table: the kernel filters a strict dump by protocol too.
pub fn route_dump(af: Af, table: Option<TableId>) -> Route {
    Route {
        family: nl_family(af),
        protocol: PROTOCOL,
        table_id: table.map(TableId::value),
        ..Route::default()
    }
}

/// A dump request for main's routes through one device (strict checking filters in-kernel).
pub fn main_routes_via(af: Af, ifindex: u32) -> Route {
    Route {
        family: nl_family(af),
        table_id: Some(RT_TABLE_MAIN),
        oif: Some(ifindex),
        ..Route::default()
    }
}

pub fn route_table(m: &Route) -> u32 {
    m.table()
}

/// Whether a dumped route is rail's: in one of its tables and stamped with its protocol.
pub fn route_is_owned(m: &Route) -> bool {
    TableId::owned(m.table()).is_some() && m.protocol == PROTOCOL
}

/// The gateway of a default route in main (for gateway learning).
pub fn default_gateway(m: &Route) -> Option<(u32, IpAddr)> {
    if m.dst_len != 0 || m.kind != RTN_UNICAST {
        return None;
    }
    Some((m.priority.unwrap_or(0), m.gateway?))
}

/// Read a dumped route back; `None` when it is not a shape rail creates.
pub fn route_spec(m: &Route) -> Option<RouteSpec> {
    // IPv6 dumps add a router preference to every route; RTA_CACHEINFO is not kept.
    if m.dst_len != 0 || m.src_len != 0 || m.tos != 0 || !m.other.is_empty() {
        return None;
    }
    let table = TableId::owned(m.table())?;
    let kind = match m.kind {
        // IPv6 dumps name the loopback device on routes that go nowhere.
        RTN_UNREACHABLE => RouteKind::Unreachable,
        RTN_BLACKHOLE => RouteKind::Blackhole,
        RTN_PROHIBIT => RouteKind::Prohibit,
        RTN_UNICAST => match (&m.multipath, m.oif) {
            (Some(hops), None) => RouteKind::Via(
                hops.iter()
                    .map(|h| NextHop {
                        ifindex: h.ifindex,
                        gateway: h.gateway,
                        weight: u16::from(h.hops) + 1,
                    })
                    .collect(),
            ),
            (None, Some(ifindex)) => RouteKind::Via(vec![NextHop {
                ifindex,
                gateway: m.gateway,
                weight: 1,
            }]),
            _ => return None,
        },
        _ => return None,
    };
    Some(RouteSpec {
        table,
        metric: m.priority.unwrap_or(0),
        kind,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{InterfaceId, PolicyId};
    use crate::netlink::route::{RTM_NEWROUTE, RTM_NEWRULE};
    use std::net::{Ipv4Addr, Ipv6Addr};

    /// What the kernel would read: the message encoded, then decoded again.
    fn wire_rule(m: &Rule) -> Rule {
        Rule::decode(&m.encode(RTM_NEWRULE, 0).finish()[16..]).unwrap()
    }

    fn wire_route(m: &Route) -> Route {
        Route::decode(&m.encode(RTM_NEWROUTE, 0).finish()[16..]).unwrap()
    }

    #[test]
    fn rules_read_back_as_written() {
        let t = TableId::uplink(InterfaceId(0)).unwrap();
        for rule in [
            RuleSpec {
                priority: Priority::SUPPRESS_MAIN,
                selector: Selector::All,
                action: RuleAction::MainWithoutDefault,
            },
            RuleSpec {
                priority: Priority::from_uplink(InterfaceId(0)).unwrap(),
                selector: Selector::From(Ipv4Addr::new(192, 0, 2, 2).into()),
                action: RuleAction::Lookup(t),
            },
            RuleSpec {
                priority: Priority::LOCAL,
                selector: Selector::Local,
                action: RuleAction::Lookup(TableId::policy(PolicyId(0)).unwrap()),
            },
            RuleSpec {
                priority: Priority::UNREACHABLE,
                selector: Selector::FwMark {
                    mark: 0x0500_0000,
                    mask: 0x3f00_0000,
                },
                action: RuleAction::Unreachable,
            },
        ] {
            let mut m = wire_rule(&rule_message(&rule));
            assert!(rule_is_owned(&m));
            assert_eq!(rule_spec(&m), Some(rule));
            // As the kernel dumps it: "no suppression" spelled -1, the compat table id.
            if m.suppress_prefixlen.is_none() {
                m.suppress_prefixlen = Some(u32::MAX);
                m.table = 252;
                assert_eq!(rule_spec(&wire_rule(&m)), Some(rule));
            }
        }
    }

    #[test]
    fn routes_read_back_as_written() {
        let t = TableId::policy(PolicyId(0)).unwrap();
        let gw = Some(Ipv4Addr::new(192, 0, 2, 1).into());
        for kind in [
            RouteKind::Via(vec![NextHop {
                ifindex: 3,
                gateway: gw,
                weight: 1,
            }]),
            RouteKind::Via(vec![
                NextHop {
                    ifindex: 3,
                    gateway: gw,
                    weight: 3,
                },
                NextHop {
                    ifindex: 9,
                    gateway: None,
                    weight: 1,
                },
            ]),
            RouteKind::Prohibit,
            RouteKind::Blackhole,
        ] {
            let route = RouteSpec {
                table: t,
                metric: 7,
                kind,
            };
            let m = wire_route(&route_message(&route));
            assert!(route_is_owned(&m));
            assert_eq!(route_spec(&m), Some(route));
        }
    }

    #[test]
    fn ipv6_rules_and_routes_read_back_as_written() {
        let t = TableId::policy(PolicyId(0)).unwrap();
        let addr: Ipv6Addr = "2001:db8:100:1::2".parse().unwrap();
        let rule = RuleSpec {
            priority: Priority::from_uplink(InterfaceId(0)).unwrap(),
            selector: Selector::From(addr.into()),
            action: RuleAction::Lookup(t),
        };
        let m = wire_rule(&rule_message_in(Af::Inet6, &rule));
        assert_eq!((m.family, m.src_len), (AF_INET6, 128));
        assert_eq!(rule_spec(&m), Some(rule));
        // A delegated prefix as the source.
        let net: Ipv6Addr = "2001:db8:300:1::".parse().unwrap();
        let rule = RuleSpec {
            selector: Selector::FromNet(net.into(), 64),
            ..rule
        };
        let m = wire_rule(&rule_message_in(Af::Inet6, &rule));
        assert_eq!((m.src, m.src_len), (Some(net.into()), 64));
        assert_eq!(rule_spec(&m), Some(rule));
        assert_eq!(
            describe_rule(&rule),
            format!("4001 from 2001:db8:300:1::/64 lookup {}", t.value())
        );
        let gw = Some("fe80::1".parse::<Ipv6Addr>().unwrap().into());
        let route = RouteSpec {
            table: t,
            metric: 0,
            kind: RouteKind::Via(vec![
                NextHop {
                    ifindex: 3,
                    gateway: gw,
                    weight: 2,
                },
                NextHop {
                    ifindex: 9,
                    gateway: None,
                    weight: 1,
                },
            ]),
        };
        let mut m = wire_route(&route_message_in(Af::Inet6, &route));
        assert_eq!(m.family, AF_INET6);
        assert_eq!(route_spec(&m), Some(route));
        // As an IPv6 dump shows a prohibit route: through lo, with a preference.
        let mut prohibit = route_message_in(
            Af::Inet6,
            &RouteSpec {
                table: t,
                metric: 1000,
                kind: RouteKind::Prohibit,
            },
        );
        prohibit.oif = Some(1);
        prohibit.pref = Some(0);
        assert_eq!(
            route_spec(&wire_route(&prohibit)).map(|r| r.kind),
            Some(RouteKind::Prohibit)
        );
        m.oif = Some(3);
        assert_eq!(
            route_spec(&wire_route(&m)),
            None,
            "multipath and a single device at once"
        );
    }

    #[test]
    fn foreign_state_is_not_owned() {
        let mut m = route_message(&RouteSpec {
            table: TableId::uplink(InterfaceId(0)).unwrap(),
            metric: 0,
            kind: RouteKind::Prohibit,
        });
        m.protocol = 4; // RTPROT_STATIC
        assert!(!route_is_owned(&wire_route(&m)));
        let mut r = rule_message(&RuleSpec {
            priority: Priority::SUPPRESS_MAIN,
            selector: Selector::All,
            action: RuleAction::MainWithoutDefault,
        });
        r.protocol = None;
        assert!(!rule_is_owned(&wire_rule(&r)));
    }

    #[test]
    fn rules_and_routes_are_described_as_ip_shows_them() {
        let t = TableId::uplink(InterfaceId(0)).unwrap();
        let rule = |selector, action| RuleSpec {
            priority: Priority::owned(4200).unwrap(),
            selector,
            action,
        };
        let mark = Selector::FwMark {
            mark: 0x0100_0000,
            mask: 0x3f00_0000,
        };
        assert_eq!(
            describe_rule(&rule(mark, RuleAction::Lookup(t))),
            "4200 fwmark 0x1000000/0x3f000000 lookup 20001"
        );
        let from = Selector::From(Ipv4Addr::new(192, 0, 2, 2).into());
        assert_eq!(
            describe_rule(&rule(from, RuleAction::Unreachable)),
            "4200 from 192.0.2.2 unreachable"
        );
        assert_eq!(
            describe_rule(&rule(Selector::All, RuleAction::MainWithoutDefault)),
            "4200 lookup main suppress_prefixlength 0"
        );
        let gw = Some(Ipv6Addr::LOCALHOST.into());
        let hop = |ifindex, gateway, weight| NextHop {
            ifindex,
            gateway,
            weight,
        };
        assert_eq!(
            describe_route(&RouteKind::Via(vec![hop(3, gw, 1)])),
            "default via ::1 dev #3"
        );
        assert_eq!(
            describe_route(&RouteKind::Via(vec![hop(3, gw, 3), hop(9, None, 1)])),
            "default nexthop via ::1 dev #3 weight 3 nexthop dev #9 weight 1"
        );
        assert_eq!(describe_route(&RouteKind::Blackhole), "blackhole default");
    }

    /// What the kernel dumped in the lab (src/netlink/fixtures) reads back as rail's.
    #[cfg(target_endian = "little")]
    #[test]
    fn kernel_dumps_read_back_as_rails_rules_and_routes() {
        use crate::netlink::route::tests::kernel_bytes::fixture;
        let rule = |b| rule_spec(&Rule::decode(fixture(b)).unwrap());
        let uplink = TableId::uplink(InterfaceId(0)).unwrap();
        let policy = TableId::policy(PolicyId(0)).unwrap();
        assert_eq!(
            rule(include_bytes!("../netlink/fixtures/rule4_fwmark.bin")),
            Some(RuleSpec {
                priority: Priority::owned(4200).unwrap(),
                selector: Selector::FwMark {
                    mark: 0x0100_0000,
                    mask: 0x3f00_0000
                },
                action: RuleAction::Lookup(uplink),
            })
        );
        assert_eq!(
            rule(include_bytes!("../netlink/fixtures/rule4_suppress.bin")).map(|r| r.action),
            Some(RuleAction::MainWithoutDefault)
        );
        assert_eq!(
            rule(include_bytes!("../netlink/fixtures/rule4_iif_lo.bin")).map(|r| r.selector),
            Some(Selector::Local)
        );
        let route = |b| route_spec(&Route::decode(fixture(b)).unwrap());
        let got = route(include_bytes!("../netlink/fixtures/route4_multipath.bin")).unwrap();
        let gw = Some(Ipv4Addr::new(192, 0, 2, 1).into());
        let RouteKind::Via(hops) = &got.kind else {
            panic!("not a multipath route: {got:?}");
        };
        assert_eq!((got.table, got.metric), (policy, 0));
        assert_eq!(
            hops.iter()
                .map(|h| (h.gateway, h.weight))
                .collect::<Vec<_>>(),
            vec![(None, 3), (gw, 1)]
        );
        let prohibit = route(include_bytes!("../netlink/fixtures/route6_prohibit.bin"));
        assert_eq!(
            prohibit,
            Some(RouteSpec {
                table: uplink,
                metric: 1000,
                kind: RouteKind::Prohibit
            })
        );
    }
}
