//! Learning an uplink's device from the kernel: ifindex, carrier, IPv4 address, and the
//! next hop when the config names none (the peer of a point-to-point link is reached by the
//! device alone; otherwise main's default route through the device, which netifd installs).

use std::net::{IpAddr, Ipv4Addr};

use netlink_packet_route::address::{AddressAttribute, AddressMessage};
use netlink_packet_route::link::{LinkAttribute, LinkFlags, LinkMessage};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};

use super::desired::Link;
use super::kernel::{Error, Kernel};
use super::rtmsg::{default_gateway, main_routes_via};

/// What is known about one device besides what routes need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Learned {
    pub link: Link,
    /// The far end of a point-to-point link (for status; routes use the device).
    pub peer: Option<Ipv4Addr>,
}

impl Kernel {
    /// Look `device` up; `None` when it does not exist (yet).
    pub async fn learn(
        &mut self,
        device: &str,
        gateway: Option<Ipv4Addr>,
    ) -> Result<Option<Learned>, Error> {
        let mut req = LinkMessage::default();
        req.attributes
            .push(LinkAttribute::IfName(device.to_string()));
        let link = match self.request(RouteNetlinkMessage::GetLink(req), 0).await {
            Ok(mut answers) => match answers.pop() {
                Some(RouteNetlinkMessage::NewLink(l)) => l,
                _ => return Ok(None),
            },
            Err(e) if e.raw_os_error() == Some(libc::ENODEV) => return Ok(None),
            Err(e) => return Err(Error(format!("looking up device {device}: {e}"))),
        };
        let ifindex = link.header.index;
        let ptp = link.header.flags.contains(LinkFlags::Pointopoint);
        let carrier = link.header.flags.contains(LinkFlags::LowerUp);

        let mut req = AddressMessage::default();
        req.header.family = AddressFamily::Inet;
        req.header.index = ifindex;
        let addrs = self
            .dump(RouteNetlinkMessage::GetAddress(req))
            .await
            .map_err(|e| Error(format!("reading addresses of {device}: {e}")))?;
        let (address, peer) = addrs
            .iter()
            .find_map(|m| match m {
                RouteNetlinkMessage::NewAddress(a) if a.header.index == ifindex => {
                    v4_local_and_peer(a)
                }
                _ => None,
            })
            .map_or((None, None), |(l, p)| (Some(l), p));

        // A local address with a peer makes a link point-to-point whatever its flags (a
        // PPP-like veth with ARP off has no IFF_POINTOPOINT).
        let ptp = ptp || peer.is_some();
        let gateway = match (gateway, ptp) {
            (Some(g), _) => Some(g),
            (None, true) => None,
            (None, false) => {
                let routes = self
                    .dump(RouteNetlinkMessage::GetRoute(main_routes_via(ifindex)))
                    .await
                    .map_err(|e| {
                        Error(format!("reading main's default route for {device}: {e}"))
                    })?;
                routes
                    .iter()
                    .filter_map(|m| match m {
                        RouteNetlinkMessage::NewRoute(r) => default_gateway(r),
                        _ => None,
                    })
                    .min()
                    .map(|(_, g)| g)
            }
        };
        let link = Link {
            device: device.to_string(),
            ifindex,
            address,
            gateway,
            carrier,
        };
        Ok(Some(Learned { link, peer }))
    }
}

/// The local IPv4 address and, on a point-to-point link, the peer.
fn v4_local_and_peer(a: &AddressMessage) -> Option<(Ipv4Addr, Option<Ipv4Addr>)> {
    let (mut local, mut address) = (None, None);
    for attr in &a.attributes {
        match attr {
            AddressAttribute::Local(IpAddr::V4(l)) => local = Some(*l),
            AddressAttribute::Address(IpAddr::V4(l)) => address = Some(*l),
            _ => {}
        }
    }
    // Without IFA_LOCAL, IFA_ADDRESS is the local address; with both, it is the peer.
    match (local, address) {
        (Some(l), a) => Some((l, a.filter(|a| *a != l))),
        (None, Some(a)) => Some((a, None)),
        (None, None) => None,
    }
}
