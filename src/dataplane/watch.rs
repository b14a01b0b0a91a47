//! Watching the kernel: a netlink subscription to links, IPv4 and IPv6 addresses, routes and
//! rules, turned into events that tell the daemon to re-learn devices and reconcile.
//!
//! rail's own additions are not reported (they would make every reconcile trigger
//! another); deletions of rail's state are, since they may be someone else's drift. When
//! the kernel drops events (ENOBUFS) a `Resync` is reported: re-learn and reconcile all.

use futures_lite::StreamExt;
use netlink_packet_core::{NetlinkMessage, NetlinkPayload};
use netlink_packet_route::link::LinkAttribute;
use netlink_packet_route::RouteNetlinkMessage;
use netlink_sys::{AsyncSocket, SmolSocket};
use rtnetlink::MulticastGroup;

use super::kernel::Error;
use super::rtmsg::{route_is_owned, route_table, rule_is_owned};

const RT_TABLE_MAIN: u32 = 254;

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

type Messages = Box<
    dyn futures_lite::Stream<Item = (NetlinkMessage<RouteNetlinkMessage>, netlink_sys::SocketAddr)>
        + Unpin,
>;

pub struct Watch {
    messages: Messages,
}

impl Watch {
    /// Subscribe. The returned future drives the socket: spawn it on the executor.
    pub fn open() -> Result<(Watch, impl std::future::Future<Output = ()>), Error> {
        let groups = [
            MulticastGroup::Link,
            MulticastGroup::Ipv4Ifaddr,
            MulticastGroup::Ipv4Route,
            MulticastGroup::Ipv4Rule,
            // SLAAC and DHCPv6 prefixes come and go; so do IPv6 default routes (RAs).
            MulticastGroup::Ipv6Ifaddr,
            MulticastGroup::Ipv6Route,
            MulticastGroup::Ipv6Rule,
        ];
        let (mut conn, _handle, messages) =
            rtnetlink::new_multicast_connection_with_socket::<SmolSocket>(&groups)
                .map_err(|e| Error(format!("subscribing to netlink events: {e}")))?;
        // Room for a burst (a PPPoE reconnect, a flood of routes) before ENOBUFS.
        let _ = conn.socket_mut().socket_mut().set_rx_buf_sz(1 << 20);
        Ok((
            Watch {
                messages: Box::new(messages),
            },
            conn,
        ))
    }

    /// The next event worth acting on; `None` when the socket is gone.
    pub async fn next(&mut self) -> Option<Event> {
        loop {
            let (msg, _) = self.messages.next().await?;
            if let Some(event) = classify(msg) {
                return Some(event);
            }
        }
    }
}

fn classify(msg: NetlinkMessage<RouteNetlinkMessage>) -> Option<Event> {
    use RouteNetlinkMessage as M;
    match msg.payload {
        NetlinkPayload::Overrun(_) => Some(Event::Resync),
        NetlinkPayload::InnerMessage(inner) => match inner {
            M::NewLink(l) => Some(link_event(&l, false)),
            M::DelLink(l) => Some(link_event(&l, true)),
            M::NewAddress(a) | M::DelAddress(a) => Some(Event::Address {
                ifindex: a.header.index,
            }),
            M::NewRoute(r)
                if route_table(&r) == RT_TABLE_MAIN && r.header.destination_prefix_length == 0 =>
            {
                Some(Event::Route)
            }
            M::DelRoute(r)
                if route_is_owned(&r)
                    || (route_table(&r) == RT_TABLE_MAIN
                        && r.header.destination_prefix_length == 0) =>
            {
                Some(Event::Route)
            }
            M::DelRule(r) if rule_is_owned(&r) => Some(Event::Rule),
            _ => None,
        },
        _ => None,
    }
}

fn link_event(l: &netlink_packet_route::link::LinkMessage, removed: bool) -> Event {
    let name = l.attributes.iter().find_map(|a| match a {
        LinkAttribute::IfName(n) => Some(n.clone()),
        _ => None,
    });
    Event::Link {
        ifindex: l.header.index,
        name,
        removed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::InterfaceId;
    use crate::dataplane::desired::{RouteKind, RouteSpec};
    use crate::dataplane::layout::TableId;
    use crate::dataplane::rtmsg::route_message;
    use netlink_packet_core::NetlinkHeader;
    use netlink_packet_route::route::{RouteMessage, RouteProtocol};

    fn event(m: RouteNetlinkMessage) -> Option<Event> {
        classify(NetlinkMessage::from(m))
    }

    fn rail_route() -> RouteMessage {
        let table = TableId::uplink(InterfaceId(0)).unwrap();
        route_message(&RouteSpec {
            table,
            metric: 0,
            kind: RouteKind::Prohibit,
        })
    }

    #[test]
    fn own_additions_are_quiet_deletions_and_main_defaults_are_not() {
        assert_eq!(event(RouteNetlinkMessage::NewRoute(rail_route())), None);
        assert_eq!(
            event(RouteNetlinkMessage::DelRoute(rail_route())),
            Some(Event::Route)
        );
        let mut main_default = RouteMessage::default();
        main_default.header.table = 254;
        main_default.header.protocol = RouteProtocol::Dhcp;
        assert_eq!(
            event(RouteNetlinkMessage::NewRoute(main_default.clone())),
            Some(Event::Route)
        );
        let mut main_specific = main_default;
        main_specific.header.destination_prefix_length = 24;
        assert_eq!(event(RouteNetlinkMessage::NewRoute(main_specific)), None);
    }

    #[test]
    fn a_lost_burst_asks_for_a_resync() {
        let mut header = NetlinkHeader::default();
        header.message_type = netlink_packet_core::NLMSG_OVERRUN;
        let overrun = NetlinkMessage::new(header, NetlinkPayload::Overrun(Vec::new()));
        assert_eq!(classify(overrun), Some(Event::Resync));
    }
}
