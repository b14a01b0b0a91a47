//! Watching the kernel: a netlink subscription to links, IPv4 and IPv6 addresses, routes and
//! rules, turned into events that tell the daemon to re-learn devices and reconcile.
//!
//! rail's own additions are not reported (they would make every reconcile trigger
//! another); deletions of rail's state are, since they may be someone else's drift. When
//! the kernel drops events (ENOBUFS) a `Resync` is reported: re-learn and reconcile all.

use std::collections::VecDeque;

use super::kernel::Error;
use crate::dataplane::rtmsg::{route_is_owned, rule_is_owned};
use crate::netlink::route::{
    Address, Link, Route, Rule, RTM_DELADDR, RTM_DELLINK, RTM_DELROUTE, RTM_DELRULE, RTM_NEWADDR,
    RTM_NEWLINK, RTM_NEWROUTE, RTNLGRP_IPV4_IFADDR, RTNLGRP_IPV4_ROUTE, RTNLGRP_IPV4_RULE,
    RTNLGRP_IPV6_IFADDR, RTNLGRP_IPV6_ROUTE, RTNLGRP_IPV6_RULE, RTNLGRP_LINK, RT_TABLE_MAIN,
};
use crate::netlink::wire::{messages, Message, NLMSG_OVERRUN};
use crate::netlink::Socket;

/// Something changed under rail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A device appeared, changed (carrier, flags) or disappeared.
    Link {
        ifindex: u32,
        name: Option<String>,
        removed: bool,
    },
    /// An address (IPv4 or IPv6) was added to or removed from a device.
    Address { ifindex: u32 },
    /// A default route in main changed (gateway learning), or one of rail's was deleted.
    Route,
    /// One of rail's rules was deleted.
    Rule,
    /// Events were lost: re-learn everything and reconcile.
    Resync,
}

pub struct Watch {
    socket: Socket,
    /// Events of a datagram not handed out yet.
    pending: VecDeque<Event>,
}

impl Watch {
    /// Subscribe to the kernel's link, address, route and rule events.
    pub fn open() -> Result<Watch, Error> {
        let groups = [
            RTNLGRP_LINK,
            RTNLGRP_IPV4_IFADDR,
            RTNLGRP_IPV4_ROUTE,
            RTNLGRP_IPV4_RULE,
            // SLAAC and DHCPv6 prefixes come and go; so do IPv6 default routes (RAs).
            RTNLGRP_IPV6_IFADDR,
            RTNLGRP_IPV6_ROUTE,
            RTNLGRP_IPV6_RULE,
        ];
        let socket = Socket::route_events(&groups)
            .map_err(|e| Error(format!("subscribing to netlink events: {e}")))?;
        Ok(Watch {
            socket,
            pending: VecDeque::new(),
        })
    }

    /// The next event worth acting on; `None` when the socket fails.
    pub async fn next(&mut self) -> Option<Event> {
        loop {
            if let Some(event) = self.pending.pop_front() {
                return Some(event);
            }
            match self.socket.receive().await {
                Ok(datagram) => self
                    .pending
                    .extend(messages(&datagram).filter_map(classify)),
                // The kernel dropped events for want of buffer space.
                Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => return Some(Event::Resync),
                Err(e) => {
                    log::error!("netlink events: {e}");
                    return None;
                }
            }
        }
    }
}

fn is_main_default(r: &Route) -> bool {
    r.table() == RT_TABLE_MAIN && r.dst_len == 0
}

fn classify(msg: Message) -> Option<Event> {
    let p = msg.payload;
    match msg.kind {
        NLMSG_OVERRUN => Some(Event::Resync),
        RTM_NEWLINK | RTM_DELLINK => {
            let l = Link::decode(p)?;
            Some(Event::Link {
                ifindex: l.index,
                name: l.name,
                removed: msg.kind == RTM_DELLINK,
            })
        }
        RTM_NEWADDR | RTM_DELADDR => Some(Event::Address {
            ifindex: Address::decode(p)?.index,
        }),
        RTM_NEWROUTE => Route::decode(p)
            .filter(is_main_default)
            .map(|_| Event::Route),
        RTM_DELROUTE => Route::decode(p)
            .filter(|r| route_is_owned(r) || is_main_default(r))
            .map(|_| Event::Route),
        RTM_DELRULE => Rule::decode(p).filter(rule_is_owned).map(|_| Event::Rule),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::InterfaceId;
    use crate::dataplane::layout::TableId;
    use crate::dataplane::rtmsg::route_message;
    use crate::dataplane::vocab::{RouteKind, RouteSpec};
    use crate::netlink::wire::Builder;

    fn event(kind: u16, m: Builder) -> Option<Event> {
        let mut bytes = m.finish();
        bytes[4..6].copy_from_slice(&kind.to_ne_bytes());
        let m = messages(&bytes).next().unwrap();
        classify(m)
    }

    fn rail_route() -> Route {
        let table = TableId::uplink(InterfaceId(0)).unwrap();
        route_message(&RouteSpec {
            table,
            metric: 0,
            kind: RouteKind::Prohibit,
        })
    }

    #[test]
    fn own_additions_are_quiet_deletions_and_main_defaults_are_not() {
        assert_eq!(event(RTM_NEWROUTE, rail_route().encode(0, 0)), None);
        assert_eq!(
            event(RTM_DELROUTE, rail_route().encode(0, 0)),
            Some(Event::Route)
        );
        let main_default = Route {
            table: 254,
            protocol: 16, // RTPROT_DHCP
            ..Route::default()
        };
        assert_eq!(
            event(RTM_NEWROUTE, main_default.encode(0, 0)),
            Some(Event::Route)
        );
        let main_specific = Route {
            dst_len: 24,
            ..main_default
        };
        assert_eq!(event(RTM_NEWROUTE, main_specific.encode(0, 0)), None);
    }

    #[test]
    fn a_lost_burst_asks_for_a_resync() {
        assert_eq!(
            event(NLMSG_OVERRUN, Builder::new(0, 0, &[])),
            Some(Event::Resync)
        );
    }

    #[test]
    fn links_name_their_device() {
        let mut link = Link::get(7, Some("pppoe-wan"));
        link.u32(4, 1492);
        assert_eq!(
            event(RTM_DELLINK, link),
            Some(Event::Link {
                ifindex: 7,
                name: Some("pppoe-wan".into()),
                removed: true
            })
        );
    }
}
