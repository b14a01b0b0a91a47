//! Translation between rail's rule and route specs and rtnetlink messages, both ways.
//!
//! Pure: reading a dumped message back into a spec is how reconciliation recognises what
//! it already installed; a message rail owns that does not read back is treated as drift.

use std::net::IpAddr;

use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteHeader, RouteMessage, RouteNextHop, RouteProtocol,
    RouteScope, RouteType,
};
use netlink_packet_route::rule::{RuleAction as NlAction, RuleAttribute, RuleMessage};
use netlink_packet_route::AddressFamily;

use super::desired::{Af, NextHop, RouteKind, RouteSpec, RuleAction, RuleSpec, Selector};
use super::layout::{Priority, TableId, PROTOCOL};

const RT_TABLE_MAIN: u32 = 254;

/// The netlink address family of `af`.
pub fn nl_family(af: Af) -> AddressFamily {
    match af {
        Af::Inet => AddressFamily::Inet,
        Af::Inet6 => AddressFamily::Inet6,
    }
}

/// The family of a dumped message (rail only dumps inet and inet6).
pub fn af_of(family: AddressFamily) -> Af {
    if family == AddressFamily::Inet6 {
        Af::Inet6
    } else {
        Af::Inet
    }
}

fn host_len(addr: &IpAddr) -> u8 {
    if addr.is_ipv4() {
        32
    } else {
        128
    }
}

fn route_address(addr: IpAddr) -> RouteAddress {
    match addr {
        IpAddr::V4(a) => RouteAddress::Inet(a),
        IpAddr::V6(a) => RouteAddress::Inet6(a),
    }
}

/// An IPv4 rule message.
pub fn rule_message(rule: &RuleSpec) -> RuleMessage {
    rule_message_in(Af::Inet, rule)
}

/// A rule message of family `af`.
pub fn rule_message_in(af: Af, rule: &RuleSpec) -> RuleMessage {
    let mut m = RuleMessage::default();
    m.header.family = nl_family(af);
    m.attributes
        .push(RuleAttribute::Priority(rule.priority.value()));
    m.attributes
        .push(RuleAttribute::Protocol(RouteProtocol::from(PROTOCOL)));
    match rule.selector {
        Selector::All => {}
        Selector::From(addr) => {
            m.header.src_len = host_len(&addr);
            m.attributes.push(RuleAttribute::Source(addr));
        }
        Selector::FwMark { mark, mask } => {
            m.attributes.push(RuleAttribute::FwMark(mark));
            m.attributes.push(RuleAttribute::FwMask(mask));
        }
        Selector::Local => m.attributes.push(RuleAttribute::Iifname("lo".into())),
    }
    m.header.action = match rule.action {
        RuleAction::Lookup(table) => {
            m.attributes.push(RuleAttribute::Table(table.value()));
            NlAction::ToTable
        }
        RuleAction::MainWithoutDefault => {
            m.header.table = RT_TABLE_MAIN as u8;
            m.attributes.push(RuleAttribute::Table(RT_TABLE_MAIN));
            m.attributes.push(RuleAttribute::SuppressPrefixLen(0));
            NlAction::ToTable
        }
        RuleAction::Unreachable => NlAction::Unreachable,
        RuleAction::Blackhole => NlAction::Blackhole,
    };
    m
}

/// Whether a dumped rule is rail's: in rail's priority range and stamped with its protocol.
pub fn rule_is_owned(m: &RuleMessage) -> bool {
    let prio = m.attributes.iter().find_map(|a| match a {
        RuleAttribute::Priority(p) => Some(*p),
        _ => None,
    });
    let proto = m.attributes.iter().find_map(|a| match a {
        RuleAttribute::Protocol(p) => Some(u8::from(*p)),
        _ => None,
    });
    prio.and_then(Priority::owned).is_some() && proto == Some(PROTOCOL)
}

/// Read a dumped rule back; `None` when it is not a shape rail creates.
pub fn rule_spec(m: &RuleMessage) -> Option<RuleSpec> {
    let (mut prio, mut table, mut src, mut mark, mut mask, mut suppress) =
        (None, None, None, None, None, None);
    let mut local = false;
    for a in &m.attributes {
        match a {
            RuleAttribute::Priority(p) => prio = Some(*p),
            RuleAttribute::Table(t) => table = Some(*t),
            RuleAttribute::Source(s) => src = Some(*s),
            RuleAttribute::FwMark(v) => mark = Some(*v),
            RuleAttribute::FwMask(v) => mask = Some(*v),
            // The kernel dumps -1 for "not set".
            RuleAttribute::SuppressPrefixLen(v) => suppress = Some(*v).filter(|v| *v != u32::MAX),
            RuleAttribute::Protocol(_) => {}
            RuleAttribute::Iifname(n) if n == "lo" => local = true,
            _ => return None,
        }
    }
    let table = table.unwrap_or(u32::from(m.header.table));
    let selector = match (src, mark) {
        (None, None) if m.header.src_len == 0 && local => Selector::Local,
        _ if local => return None,
        (None, None) if m.header.src_len == 0 => Selector::All,
        (Some(a), None) if m.header.src_len == host_len(&a) => Selector::From(a),
        (None, Some(mark)) => Selector::FwMark {
            mark,
            mask: mask.unwrap_or(u32::MAX),
        },
        _ => return None,
    };
    let action = match (m.header.action, suppress) {
        (NlAction::ToTable, Some(0)) if table == RT_TABLE_MAIN => RuleAction::MainWithoutDefault,
        (NlAction::ToTable, None) => RuleAction::Lookup(TableId::owned(table)?),
        (NlAction::Unreachable, None) => RuleAction::Unreachable,
        (NlAction::Blackhole, None) => RuleAction::Blackhole,
        _ => return None,
    };
    Some(RuleSpec {
        priority: Priority::owned(prio?)?,
        selector,
        action,
    })
}

fn route_header(af: Af) -> RouteHeader {
    RouteHeader {
        address_family: nl_family(af),
        table: RouteHeader::RT_TABLE_UNSPEC,
        protocol: RouteProtocol::from(PROTOCOL),
        scope: RouteScope::Universe,
        ..Default::default()
    }
}

/// The message that adds (or replaces) one of rail's IPv4 default routes.
pub fn route_message(route: &RouteSpec) -> RouteMessage {
    route_message_in(Af::Inet, route)
}

/// The message that adds (or replaces) one of rail's default routes of family `af`.
pub fn route_message_in(af: Af, route: &RouteSpec) -> RouteMessage {
    let mut m = RouteMessage::default();
    m.header = route_header(af);
    m.attributes
        .push(RouteAttribute::Table(route.table.value()));
    m.attributes.push(RouteAttribute::Priority(route.metric));
    m.header.kind = match &route.kind {
        RouteKind::Via(hops) => {
            if let [hop] = hops.as_slice() {
                m.attributes.push(RouteAttribute::Oif(hop.ifindex));
                match hop.gateway {
                    Some(gw) => m
                        .attributes
                        .push(RouteAttribute::Gateway(route_address(gw))),
                    None => m.header.scope = RouteScope::Link,
                }
            } else {
                let hops = hops
                    .iter()
                    .map(|h| {
                        let mut nh = RouteNextHop::default();
                        nh.interface_index = h.ifindex;
                        nh.hops = (h.weight.clamp(1, 256) - 1) as u8;
                        if let Some(gw) = h.gateway {
                            nh.attributes
                                .push(RouteAttribute::Gateway(route_address(gw)));
                        }
                        nh
                    })
                    .collect();
                m.attributes.push(RouteAttribute::MultiPath(hops));
            }
            RouteType::Unicast
        }
        RouteKind::Unreachable => RouteType::Unreachable,
        RouteKind::Blackhole => RouteType::BlackHole,
        RouteKind::Prohibit => RouteType::Prohibit,
    };
    m
}

/// A dump request for one table (honoured by the kernel with strict checking on), or for
/// every table.
pub fn route_dump(af: Af, table: Option<TableId>) -> RouteMessage {
    let mut m = RouteMessage::default();
    m.header.address_family = nl_family(af);
    if let Some(t) = table {
        m.attributes.push(RouteAttribute::Table(t.value()));
    }
    m
}

/// A dump request for main's routes through one device (strict checking filters in-kernel).
pub fn main_routes_via(af: Af, ifindex: u32) -> RouteMessage {
    let mut m = RouteMessage::default();
    m.header.address_family = nl_family(af);
    m.attributes.push(RouteAttribute::Table(RT_TABLE_MAIN));
    m.attributes.push(RouteAttribute::Oif(ifindex));
    m
}

pub fn route_table(m: &RouteMessage) -> u32 {
    m.attributes
        .iter()
        .find_map(|a| match a {
            RouteAttribute::Table(t) => Some(*t),
            _ => None,
        })
        .unwrap_or(u32::from(m.header.table))
}

/// Whether a dumped route is rail's: in one of its tables and stamped with its protocol.
pub fn route_is_owned(m: &RouteMessage) -> bool {
    TableId::owned(route_table(m)).is_some() && u8::from(m.header.protocol) == PROTOCOL
}

fn gateway(attrs: &[RouteAttribute]) -> Option<IpAddr> {
    attrs.iter().find_map(|a| match a {
        RouteAttribute::Gateway(RouteAddress::Inet(g)) => Some(IpAddr::V4(*g)),
        RouteAttribute::Gateway(RouteAddress::Inet6(g)) => Some(IpAddr::V6(*g)),
        _ => None,
    })
}

/// The gateway of a default route in main (for gateway learning).
pub fn default_gateway(m: &RouteMessage) -> Option<(u32, IpAddr)> {
    if m.header.destination_prefix_length != 0 || m.header.kind != RouteType::Unicast {
        return None;
    }
    let metric = m.attributes.iter().find_map(|a| match a {
        RouteAttribute::Priority(p) => Some(*p),
        _ => None,
    });
    Some((metric.unwrap_or(0), gateway(&m.attributes)?))
}

/// Read a dumped route back; `None` when it is not a shape rail creates.
pub fn route_spec(m: &RouteMessage) -> Option<RouteSpec> {
    if m.header.destination_prefix_length != 0
        || m.header.source_prefix_length != 0
        || m.header.tos != 0
    {
        return None;
    }
    let table = TableId::owned(route_table(m))?;
    let mut metric = 0;
    let mut oif = None;
    let mut hops = None;
    for a in &m.attributes {
        match a {
            RouteAttribute::Table(_)
            | RouteAttribute::Gateway(_)
            | RouteAttribute::CacheInfo(_)
            // IPv6 dumps add a router preference to every route.
            | RouteAttribute::Preference(_) => {}
            RouteAttribute::Priority(p) => metric = *p,
            RouteAttribute::Oif(i) => oif = Some(*i),
            RouteAttribute::MultiPath(nhs) => {
                hops = Some(
                    nhs.iter()
                        .map(|nh| NextHop {
                            ifindex: nh.interface_index,
                            gateway: gateway(&nh.attributes),
                            weight: u16::from(nh.hops) + 1,
                        })
                        .collect::<Vec<_>>(),
                )
            }
            _ => return None,
        }
    }
    let kind = match m.header.kind {
        // IPv6 dumps name the loopback device on routes that go nowhere.
        RouteType::Unreachable | RouteType::BlackHole | RouteType::Prohibit => {
            match m.header.kind {
                RouteType::Unreachable => RouteKind::Unreachable,
                RouteType::BlackHole => RouteKind::Blackhole,
                _ => RouteKind::Prohibit,
            }
        }
        RouteType::Unicast => match (hops, oif) {
            (Some(hops), None) => RouteKind::Via(hops),
            (None, Some(ifindex)) => RouteKind::Via(vec![NextHop {
                ifindex,
                gateway: gateway(&m.attributes),
                weight: 1,
            }]),
            _ => return None,
        },
        _ => return None,
    };
    Some(RouteSpec {
        table,
        metric,
        kind,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{InterfaceId, PolicyId};
    use std::net::{Ipv4Addr, Ipv6Addr};

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
            let mut m = rule_message(&rule);
            assert!(rule_is_owned(&m));
            assert_eq!(rule_spec(&m), Some(rule));
            // As the kernel dumps it: "no suppression" spelled -1, the compat table id.
            if !m
                .attributes
                .iter()
                .any(|a| matches!(a, RuleAttribute::SuppressPrefixLen(_)))
            {
                m.attributes
                    .push(RuleAttribute::SuppressPrefixLen(u32::MAX));
                m.header.table = 252;
                assert_eq!(rule_spec(&m), Some(rule));
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
            let m = route_message(&route);
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
        let m = rule_message_in(Af::Inet6, &rule);
        assert_eq!(
            (m.header.family, m.header.src_len),
            (AddressFamily::Inet6, 128)
        );
        assert_eq!(rule_spec(&m), Some(rule));
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
        let mut m = route_message_in(Af::Inet6, &route);
        assert_eq!(m.header.address_family, AddressFamily::Inet6);
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
        prohibit.attributes.push(RouteAttribute::Oif(1));
        prohibit.attributes.push(RouteAttribute::Preference(
            netlink_packet_route::route::RoutePreference::Medium,
        ));
        assert_eq!(
            route_spec(&prohibit).map(|r| r.kind),
            Some(RouteKind::Prohibit)
        );
        m.attributes.push(RouteAttribute::Oif(3));
        assert_eq!(
            route_spec(&m),
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
        m.header.protocol = RouteProtocol::Static;
        assert!(!route_is_owned(&m));
        let mut r = rule_message(&RuleSpec {
            priority: Priority::SUPPRESS_MAIN,
            selector: Selector::All,
            action: RuleAction::MainWithoutDefault,
        });
        r.attributes
            .retain(|a| !matches!(a, RuleAttribute::Protocol(_)));
        assert!(!rule_is_owned(&r));
    }
}
