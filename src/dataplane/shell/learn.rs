//! Learning an uplink's device from the kernel: ifindex, carrier, IPv4 and global IPv6
//! address, and the next hops when the config names none (the peer of a point-to-point link
//! is reached by the device alone; otherwise main's default route through the device, which
//! netifd installs — for IPv6 often via the router's link-local address). An uplink with no
//! global IPv6 address of its own (PD-only: the provider only delegates a prefix) takes an
//! address of that prefix from elsewhere on the router.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::kernel::{Error, Kernel};
use crate::config::Prefix;
use crate::dataplane::rtmsg::{default_gateway, main_routes_via, nl_family};
use crate::dataplane::vocab::Link;
use crate::family::{Af, PerAf};
use crate::netlink::route::{
    Address, Link as LinkMsg, Route, IFA_F_DADFAILED, IFA_F_DEPRECATED, IFA_F_SECONDARY,
    IFA_F_TENTATIVE, IFF_LOWER_UP, IFF_POINTOPOINT, RTM_GETROUTE, RTM_NEWADDR, RTM_NEWLINK,
    RTM_NEWROUTE, RT_SCOPE_UNIVERSE,
};
use crate::netlink::wire::NLM_F_DUMP;

/// What is known about one device besides what routes need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Learned {
    pub link: Link,
    /// The far end of a point-to-point link (for status; routes use the device).
    pub peer: Option<Ipv4Addr>,
}

impl Kernel {
    /// Look `device` up; `None` when it does not exist (yet). `gateway` is the config's
    /// next hop, of either family; `source6` the prefix to take the IPv6 address from when
    /// the device has no global one (the delegated prefix, or NPTv6's internal one).
    pub async fn learn(
        &mut self,
        device: &str,
        gateway: Option<IpAddr>,
        source6: Option<Prefix>,
    ) -> Result<Option<Learned>, Error> {
        let link = match self.request(LinkMsg::get(0, Some(device))).await {
            Ok(answers) => match answers
                .iter()
                .filter(|r| r.kind == RTM_NEWLINK)
                .find_map(|r| LinkMsg::decode(&r.payload))
            {
                Some(l) => l,
                None => return Ok(None),
            },
            Err(e) if e.raw_os_error() == Some(libc::ENODEV) => return Ok(None),
            Err(e) => return Err(Error(format!("looking up device {device}: {e}"))),
        };
        let ifindex = link.index;
        let ptp = link.flags & IFF_POINTOPOINT != 0;
        let carrier = link.flags & IFF_LOWER_UP != 0;

        let (address, peer) = self
            .addresses(Af::Inet, Some(ifindex), device)
            .await?
            .iter()
            .find_map(v4_local_and_peer)
            .map_or((None, None), |(l, p)| (Some(l), p));
        let own6 = self
            .addresses(Af::Inet6, Some(ifindex), device)
            .await?
            .iter()
            .filter_map(v6_global)
            .min()
            .map(|(_, a)| a);
        // PD-only: netifd puts an address of the delegated prefix on each LAN it assigns
        // part of it to; probes and the router's own traffic leave the uplink from there.
        let address6 = match (own6, source6) {
            (Some(a), _) => Some(a),
            (None, Some(prefix)) => self
                .addresses(Af::Inet6, None, device)
                .await?
                .iter()
                .filter_map(v6_global)
                .filter(|(_, a)| prefix.contains((*a).into()))
                .min()
                .map(|(_, a)| a),
            (None, None) => None,
        };

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
            address: PerAf::new(address.map(Into::into), address6.map(Into::into)),
            gateway: PerAf::new(gateway4.map(Into::into), gateway6.map(Into::into)),
            carrier,
            delegated6: None,
        };
        Ok(Some(Learned { link, peer }))
    }
}

impl Kernel {
    /// The addresses of one family on a device (`None`: on every device of the router).
    async fn addresses(
        &mut self,
        af: Af,
        ifindex: Option<u32>,
        device: &str,
    ) -> Result<Vec<Address>, Error> {
        let all = match self
            .request(Address::dump(nl_family(af), ifindex.unwrap_or(0)))
            .await
        {
            Ok(all) => all,
            // A kernel without IPv6: no IPv6 addresses.
            Err(e) if e.raw_os_error() == Some(libc::EAFNOSUPPORT) => Vec::new(),
            Err(e) => {
                return Err(Error(format!(
                    "reading {} addresses of {device}: {e}",
                    af.word()
                )))
            }
        };
        Ok(all
            .iter()
            .filter(|r| r.kind == RTM_NEWADDR)
            .filter_map(|r| Address::decode(&r.payload))
            .filter(|a| ifindex.is_none_or(|i| a.index == i))
            .collect())
    }

    /// The gateway of main's lowest-metric default route of `af` through `ifindex`.
    async fn main_gateway(
        &mut self,
        af: Af,
        ifindex: u32,
        device: &str,
    ) -> Result<Option<IpAddr>, Error> {
        let req = main_routes_via(af, ifindex).encode(RTM_GETROUTE, NLM_F_DUMP);
        let routes = self.request(req).await.map_err(|e| {
            Error(format!(
                "reading main's {} default route for {device}: {e}",
                af.word()
            ))
        })?;
        Ok(routes
            .iter()
            .filter(|r| r.kind == RTM_NEWROUTE)
            .filter_map(|r| default_gateway(&Route::decode(&r.payload)?))
            .min()
            .map(|(_, g)| g))
    }
}

/// A usable global IPv6 address, ranked: preferred before deprecated (a prefix being
/// withdrawn), then permanent (static, DHCPv6) before temporary (privacy) ones.
fn v6_global(a: &Address) -> Option<((bool, bool), Ipv6Addr)> {
    if a.scope != RT_SCOPE_UNIVERSE || a.flags & (IFA_F_TENTATIVE | IFA_F_DADFAILED) != 0 {
        return None;
    }
    let addr = match (a.address, a.local) {
        (Some(IpAddr::V6(l)), _) | (_, Some(IpAddr::V6(l))) => l,
        _ => return None,
    };
    Some((
        (
            a.flags & IFA_F_DEPRECATED != 0,
            a.flags & IFA_F_SECONDARY != 0,
        ),
        addr,
    ))
}

/// The local IPv4 address and, on a point-to-point link, the peer.
fn v4_local_and_peer(a: &Address) -> Option<(Ipv4Addr, Option<Ipv4Addr>)> {
    let v4 = |addr| match addr {
        Some(IpAddr::V4(l)) => Some(l),
        _ => None,
    };
    let (local, address) = (v4(a.local), v4(a.address));
    // Without IFA_LOCAL, IFA_ADDRESS is the local address; with both, it is the peer.
    match (local, address) {
        (Some(l), a) => Some((l, a.filter(|a| *a != l))),
        (None, Some(a)) => Some((a, None)),
        (None, None) => None,
    }
}
