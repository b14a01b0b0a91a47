//! Learning an uplink's device from the kernel: ifindex, carrier, IPv4 and global IPv6
//! address, and the next hops when the config names none (the peer of a point-to-point link
//! is reached by the device alone; otherwise main's default route through the device, which
//! netifd installs — for IPv6 often via the router's link-local address).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use netlink_packet_route::address::{AddressAttribute, AddressFlags, AddressMessage, AddressScope};
use netlink_packet_route::link::{LinkAttribute, LinkFlags, LinkMessage};
use netlink_packet_route::RouteNetlinkMessage;

use super::desired::{Af, Link};
use super::kernel::{Error, Kernel};
use super::rtmsg::{default_gateway, main_routes_via, nl_family};

/// What is known about one device besides what routes need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Learned {
    pub link: Link,
    /// The far end of a point-to-point link (for status; routes use the device).
    pub peer: Option<Ipv4Addr>,
}

impl Kernel {
    /// Look `device` up; `None` when it does not exist (yet). `gateway` is the config's
    /// next hop, of either family.
    pub async fn learn(
        &mut self,
        device: &str,
        gateway: Option<IpAddr>,
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

        let (address, peer) = self
            .addresses(Af::Inet, ifindex, device)
            .await?
            .iter()
            .find_map(v4_local_and_peer)
            .map_or((None, None), |(l, p)| (Some(l), p));
        let address6 = self
            .addresses(Af::Inet6, ifindex, device)
            .await?
            .iter()
            .filter_map(v6_global)
            .min()
            .map(|(_, a)| a);

        // A local address with a peer makes a link point-to-point whatever its flags (a
        // PPP-like veth with ARP off has no IFF_POINTOPOINT).
        let ptp = ptp || peer.is_some();
        let gateway4 = match (gateway, ptp) {
            (Some(IpAddr::V4(g)), _) => Some(g),
            (_, true) => None,
            (_, false) => match self.main_gateway(Af::Inet, ifindex, device).await? {
                Some(IpAddr::V4(g)) => Some(g),
                _ => None,
            },
        };
        // IPv6: the config's, else main's default through the device (netifd's, from the
        // router advertisement), else the device alone (PPP).
        let gateway6 = match gateway {
            Some(IpAddr::V6(g)) => Some(g),
            _ if address6.is_none() => None,
            _ => match self.main_gateway(Af::Inet6, ifindex, device).await? {
                Some(IpAddr::V6(g)) => Some(g),
                _ => None,
            },
        };
        let link = Link {
            device: device.to_string(),
            ifindex,
            address,
            gateway: gateway4,
            carrier,
            address6,
            gateway6,
            delegated6: None,
        };
        Ok(Some(Learned { link, peer }))
    }
}

impl Kernel {
    /// The addresses of one family on a device.
    async fn addresses(
        &mut self,
        af: Af,
        ifindex: u32,
        device: &str,
    ) -> Result<Vec<AddressMessage>, Error> {
        let mut req = AddressMessage::default();
        req.header.family = nl_family(af);
        req.header.index = ifindex;
        let all = match self.dump(RouteNetlinkMessage::GetAddress(req)).await {
            Ok(all) => all,
            // A kernel without IPv6: no IPv6 addresses.
            Err(e) if e.raw_os_error() == Some(libc::EAFNOSUPPORT) => Vec::new(),
            Err(e) => {
                return Err(Error(format!(
                    "reading {} addresses of {device}: {e}",
                    af.name()
                )))
            }
        };
        Ok(all
            .into_iter()
            .filter_map(|m| match m {
                RouteNetlinkMessage::NewAddress(a) if a.header.index == ifindex => Some(a),
                _ => None,
            })
            .collect())
    }

    /// The gateway of main's lowest-metric default route of `af` through `ifindex`.
    async fn main_gateway(
        &mut self,
        af: Af,
        ifindex: u32,
        device: &str,
    ) -> Result<Option<IpAddr>, Error> {
        let routes = self
            .dump(RouteNetlinkMessage::GetRoute(main_routes_via(af, ifindex)))
            .await
            .map_err(|e| {
                Error(format!(
                    "reading main's {} default route for {device}: {e}",
                    af.name()
                ))
            })?;
        Ok(routes
            .iter()
            .filter_map(|m| match m {
                RouteNetlinkMessage::NewRoute(r) => default_gateway(r),
                _ => None,
            })
            .min()
            .map(|(_, g)| g))
    }
}

/// A usable global IPv6 address, ranked: preferred before deprecated (a prefix being
/// withdrawn), then permanent (static, DHCPv6) before temporary (privacy) ones.
fn v6_global(a: &AddressMessage) -> Option<((bool, bool), Ipv6Addr)> {
    if a.header.scope != AddressScope::Universe {
        return None;
    }
    let flags = a
        .attributes
        .iter()
        .find_map(|attr| match attr {
            AddressAttribute::Flags(f) => Some(*f),
            _ => None,
        })
        .unwrap_or_else(|| AddressFlags::from_bits_retain(u32::from(a.header.flags.bits())));
    if flags.intersects(AddressFlags::Tentative | AddressFlags::Dadfailed) {
        return None;
    }
    let addr = a.attributes.iter().find_map(|attr| match attr {
        AddressAttribute::Address(IpAddr::V6(l)) | AddressAttribute::Local(IpAddr::V6(l)) => {
            Some(*l)
        }
        _ => None,
    })?;
    Some((
        (
            flags.contains(AddressFlags::Deprecated),
            flags.contains(AddressFlags::Secondary),
        ),
        addr,
    ))
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
