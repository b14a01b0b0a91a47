//! What the daemon knows about each uplink besides its health: which device carries it
//! (from the config, or announced by netifd/hotplug), what the kernel says about that
//! device, and whether an admin took it out of service.
//!
//! Learning is a few netlink requests per uplink; `diff` turns two learnings into the
//! inputs the health engine needs (device up/gone/recreated, carrier).

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr};

use crate::config::{Config, InterfaceId, Prefix};
use crate::dataplane::kernel::Kernel;
use crate::dataplane::vocab::{Link, Links};
use crate::family::{Af, PerAf};
use crate::openwrt::netifd::{self, InterfaceStatus};

/// Device facts announced at run time (netifd status, hotplug) for one interface.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Announced {
    pub device: Option<String>,
    /// Per family, the next hop netifd routes through (IPv6's from the DHCPv6 twin
    /// `wan_6`, or the interface's own status, while it is up).
    pub gateway: PerAf<Option<IpAddr>>,
    /// The first prefix delegated to it (DHCPv6-PD), while it is up.
    pub delegated6: Option<Prefix>,
}

#[derive(Debug, Default)]
pub struct Uplinks {
    /// Per interface name: what netifd or the hotplug script told us.
    pub announced: BTreeMap<String, Announced>,
    /// Interface names taken out of service by an admin.
    pub maintenance: BTreeSet<String>,
    /// What the kernel said at the last learning.
    pub links: Links,
    /// Peers of point-to-point links, for status.
    pub peers: BTreeMap<InterfaceId, Ipv4Addr>,
}

/// What changed for one uplink between two learnings, for the health engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// New device, or the same name with a new ifindex or address (PPPoE reconnect,
    /// DHCP renew): probes must be re-bound.
    Up(Link),
    /// The device (of this ifindex) is gone.
    Gone(u32),
    Carrier(bool),
    /// Only the IPv6 address changed (a new SLAAC or DHCPv6 prefix): IPv6
    /// probes must be re-bound, IPv4 ones are left alone.
    Address6(Link),
}

impl Uplinks {
    /// The device an interface uses: the config's, else the one announced.
    pub fn device(&self, config: &Config, id: InterfaceId) -> Option<String> {
        let iface = &config.interfaces[id.0];
        iface.device.clone().or_else(|| {
            self.announced
                .get(&iface.name)
                .and_then(|a| a.device.clone())
        })
    }

    /// The device an interface uses now: the one learned, else the one it would use.
    pub fn current_device(&self, config: &Config, id: InterfaceId) -> Option<String> {
        self.links
            .get(&id)
            .map(|l| l.device.clone())
            .or_else(|| self.device(config, id))
    }

    /// Whether netifd runs the interface (and so may restart it): its device is learned
    /// from netifd, or netifd announced the interface although the config names its device.
    pub fn netifd_runs(&self, config: &Config, id: InterfaceId) -> bool {
        let iface = &config.interfaces[id.0];
        iface.device.is_none() || self.announced.contains_key(&iface.name)
    }

    /// Take what netifd says about interface `name`: the device and IPv4 next hop of one
    /// of ours; the IPv6 next hop and delegated prefix of one of ours that carries IPv6,
    /// from its DHCPv6 twin (`wan_6` for `wan`), or from its own status when that has IPv6
    /// routes or prefixes (a `dhcpv6` or static interface named in the config) or it went
    /// down. Whether `name` was either.
    pub fn announce(&mut self, config: &Config, name: &str, s: &InterfaceStatus) -> bool {
        let carries6 = |n: &str| {
            config
                .interfaces
                .iter()
                .any(|i| i.name == n && i.family.carries(Af::Inet6))
        };
        if config.interfaces.iter().any(|i| i.name == name) {
            let entry = self.announced.entry(name.to_string()).or_default();
            entry.device = s.bound_device().map(str::to_string);
            entry.gateway[Af::Inet] = s.gateway(Af::Inet);
            let has6 = s.gateway(Af::Inet6).is_some() || !s.ipv6_prefix.is_empty();
            if carries6(name) && (has6 || s.bound_device().is_none()) {
                self.announce6(name, name, s);
            }
            return true;
        }
        match netifd::twin_of(name).filter(|p| carries6(p)) {
            Some(parent) => {
                self.announce6(parent, name, s);
                true
            }
            None => false,
        }
    }

    /// The IPv6 facts of `parent` from the status of netifd's interface `name`.
    fn announce6(&mut self, parent: &str, name: &str, s: &InterfaceStatus) {
        let up = s.bound_device().is_some();
        let gateway6 = s.gateway(Af::Inet6).filter(|_| up);
        let delegated6 = s.ipv6_prefix.first().filter(|_| up).map(|p| Prefix {
            addr: p.address.into(),
            len: p.mask,
        });
        let entry = self.announced.entry(parent.to_string()).or_default();
        let none = || "none".to_string();
        if entry.gateway[Af::Inet6] != gateway6 {
            log::info!(
                "{parent}: IPv6 next hop {} from netifd's {name}",
                gateway6.map_or_else(none, |g| g.to_string())
            );
            entry.gateway[Af::Inet6] = gateway6;
        }
        if entry.delegated6 != delegated6 {
            log::info!(
                "{parent}: delegated prefix {} from netifd's {name}",
                delegated6.map_or_else(none, |p| p.to_string())
            );
            entry.delegated6 = delegated6;
        }
    }

    /// The netifd interfaces to follow: ours, and the DHCPv6 twins of those carrying IPv6.
    pub fn followed(config: &Config) -> Vec<String> {
        config
            .interfaces
            .iter()
            .flat_map(|i| {
                let twin = i
                    .family
                    .carries(Af::Inet6)
                    .then(|| netifd::ipv6_twin(&i.name));
                std::iter::once(i.name.clone()).chain(twin)
            })
            .collect()
    }

    /// The config's next hop (of either family), else the IPv4 one netifd announced.
    fn gateway(&self, config: &Config, id: InterfaceId) -> Option<IpAddr> {
        let iface = &config.interfaces[id.0];
        iface.gateway.or_else(|| {
            self.announced
                .get(&iface.name)
                .and_then(|a| a.gateway[Af::Inet])
        })
    }

    /// Ask the kernel about every enabled uplink's device.
    pub async fn learn(
        &self,
        config: &Config,
        kernel: &mut Kernel,
    ) -> (Links, BTreeMap<InterfaceId, Ipv4Addr>) {
        let mut links = Links::new();
        let mut peers = BTreeMap::new();
        for (i, iface) in config.interfaces.iter().enumerate() {
            let id = InterfaceId(i);
            if !iface.enabled {
                continue;
            }
            let Some(device) = self.device(config, id) else {
                continue;
            };
            // The prefix delegated to the uplink: the config's, else netifd's. A PD-only
            // uplink's IPv6 source comes from it, or with NPTv6 from the LAN prefix NPTv6
            // translates into it.
            let announced = self.announced.get(&iface.name);
            let delegated6 = iface
                .ip6prefix
                .or_else(|| announced.and_then(|a| a.delegated6));
            let source6 = iface.npt.map(|n| n.internal()).or(delegated6);
            match kernel
                .learn(&device, self.gateway(config, id), source6)
                .await
            {
                Ok(Some(mut learned)) => {
                    if let Some(p) = learned.peer {
                        peers.insert(id, p);
                    }
                    // netifd's IPv6 next hop for this interface beats main's lowest-metric
                    // default through the device; the config's beats both.
                    let six = Af::Inet6;
                    if learned.link.address[six].is_some()
                        && !iface.gateway.is_some_and(|g| six.holds(&g))
                    {
                        let gateway6 = announced.and_then(|a| a.gateway[six]);
                        learned.link.gateway[six] = gateway6.or(learned.link.gateway[six]);
                    }
                    learned.link.delegated6 = delegated6;
                    links.insert(id, learned.link);
                }
                Ok(None) => {}
                Err(e) => log::warn!("{}: {e}", iface.name),
            }
        }
        (links, peers)
    }
}

/// The health inputs that turn `old` into `new`.
pub fn diff(old: &Links, new: &Links) -> Vec<(InterfaceId, Change)> {
    let mut out = Vec::new();
    let ids: BTreeSet<InterfaceId> = old.keys().chain(new.keys()).copied().collect();
    for id in ids {
        match (old.get(&id), new.get(&id)) {
            (Some(o), None) => out.push((id, Change::Gone(o.ifindex))),
            (None, Some(n)) => out.push((id, Change::Up(n.clone()))),
            (Some(o), Some(n)) => {
                if o.ifindex != n.ifindex
                    || o.address[Af::Inet] != n.address[Af::Inet]
                    || o.device != n.device
                {
                    out.push((id, Change::Up(n.clone())));
                } else {
                    if o.address[Af::Inet6] != n.address[Af::Inet6] {
                        out.push((id, Change::Address6(n.clone())));
                    }
                    if o.carrier != n.carrier {
                        out.push((id, Change::Carrier(n.carrier)));
                    }
                }
            }
            (None, None) => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(ifindex: u32, addr: u8, carrier: bool) -> Link {
        Link {
            device: "ppp-isp2".into(),
            ifindex,
            address: PerAf::new(Some(Ipv4Addr::new(192, 0, 2, addr).into()), None),
            gateway: PerAf::default(),
            carrier,
            delegated6: None,
        }
    }

    #[test]
    fn pppoe_reconnect_with_new_ifindex_rebinds() {
        let old = Links::from([(InterfaceId(1), link(7, 18, true))]);
        let new = Links::from([(InterfaceId(1), link(9, 18, true))]);
        assert_eq!(
            diff(&old, &new),
            vec![(InterfaceId(1), Change::Up(link(9, 18, true)))]
        );
    }

    #[test]
    fn new_address_rebinds_and_carrier_alone_is_carrier() {
        let old = Links::from([(InterfaceId(0), link(3, 2, true))]);
        let renewed = Links::from([(InterfaceId(0), link(3, 5, true))]);
        assert!(matches!(diff(&old, &renewed)[0].1, Change::Up(_)));
        let dark = Links::from([(InterfaceId(0), link(3, 2, false))]);
        assert_eq!(
            diff(&old, &dark),
            vec![(InterfaceId(0), Change::Carrier(false))]
        );
    }

    #[test]
    fn a_new_ipv6_prefix_rebinds_ipv6_only() {
        let old = Links::from([(InterfaceId(0), link(3, 2, true))]);
        let mut slaac = link(3, 2, true);
        slaac.address[Af::Inet6] = Some("2001:db8:100:1::2".parse().unwrap());
        let new = Links::from([(InterfaceId(0), slaac.clone())]);
        assert_eq!(
            diff(&old, &new),
            vec![(InterfaceId(0), Change::Address6(slaac))]
        );
    }

    #[test]
    fn the_dhcpv6_twin_announces_the_ipv6_next_hop_of_an_uplink_carrying_ipv6() {
        use serde_json::json;
        let mut c = crate::fixtures::uplinks(&["wan", "wanb"]).build();
        c.interfaces[0].family = crate::family::Family::Both;
        assert_eq!(Uplinks::followed(&c), ["wan", "wan_6", "wanb"]);
        let status = |v: serde_json::Value| InterfaceStatus::parse(&v).expect("a status");
        let wan_6 = status(
            json!({"up": true, "l3_device": "pppoe-wan", "proto": "dhcpv6",
            "ipv6-prefix": [{"address": "2001:db8:300::", "mask": 56}],
            "route": [{"target": "::", "mask": 0, "nexthop": "fe80::1", "source": "2001:db8:300::/56"}]}),
        );
        let gateway6 = |u: &Uplinks| u.announced.get("wan").and_then(|a| a.gateway[Af::Inet6]);
        let delegated6 = |u: &Uplinks| {
            let a = u.announced.get("wan")?;
            a.delegated6.map(|p| p.to_string())
        };
        let mut u = Uplinks::default();
        assert!(u.announce(&c, "wan_6", &wan_6));
        assert_eq!(gateway6(&u), "fe80::1".parse().ok());
        assert_eq!(delegated6(&u).as_deref(), Some("2001:db8:300::/56"));
        // wanb carries IPv4 only; lan is not ours.
        assert!(!u.announce(&c, "wanb_6", &wan_6));
        assert!(!u.announce(&c, "lan", &wan_6));
        assert!(!u.announced.contains_key("wanb"));
        // wan's own status (no IPv6 route) leaves the twin's next hop alone.
        let wan = status(json!({"up": true, "l3_device": "pppoe-wan", "proto": "pppoe"}));
        assert!(u.announce(&c, "wan", &wan));
        assert_eq!(u.announced["wan"].device.as_deref(), Some("pppoe-wan"));
        assert_eq!(gateway6(&u), "fe80::1".parse().ok());
        // An interface that is itself netifd's DHCPv6 one (OpenWrt's `wan6` on Ethernet)
        // announces its own IPv6 facts.
        let mut c6 = c.clone();
        c6.interfaces[1].name = "wan6".into();
        c6.interfaces[1].family = crate::family::Family::Ipv6;
        assert!(u.announce(&c6, "wan6", &wan_6));
        assert_eq!(
            u.announced["wan6"]
                .delegated6
                .map(|p| p.to_string())
                .as_deref(),
            Some("2001:db8:300::/56")
        );
        assert!(u.announce(&c6, "wan6", &status(json!({"up": false}))));
        assert_eq!(u.announced["wan6"].delegated6, None);
        // wan_6 down: no IPv6 next hop from it.
        assert!(u.announce(&c, "wan_6", &status(json!({"up": false}))));
        assert_eq!(gateway6(&u), None);
        assert_eq!(delegated6(&u), None);
    }

    #[test]
    fn appearing_and_vanishing_devices() {
        let none = Links::new();
        let one = Links::from([(InterfaceId(2), link(4, 2, true))]);
        assert_eq!(
            diff(&none, &one),
            vec![(InterfaceId(2), Change::Up(link(4, 2, true)))]
        );
        assert_eq!(diff(&one, &none), vec![(InterfaceId(2), Change::Gone(4))]);
        assert!(diff(&one, &one).is_empty());
    }
}
