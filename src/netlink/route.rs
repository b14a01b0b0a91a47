//! The rtnetlink messages rail sends and reads, and nothing else: links (name, index,
//! flags, MTU), addresses, routes (with RTA_MULTIPATH), rules, and root qdiscs. Each type
//! decodes the attributes rail uses and lists the types of the others in `other`, so a
//! reader can tell "a shape rail creates" from "something it does not know"; an unknown
//! or damaged attribute is never an error.
//!
//! Layouts from include/uapi/linux/{rtnetlink,if_link,if_addr,fib_rules,pkt_sched}.h.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::wire::{
    as_u32, attrs_after, u16_at, u32_at, Builder, NLA_F_NESTED, NLM_F_ACK, NLM_F_DUMP,
};

pub const RTM_NEWLINK: u16 = 16;
pub const RTM_DELLINK: u16 = 17;
pub const RTM_GETLINK: u16 = 18;
pub const RTM_NEWADDR: u16 = 20;
pub const RTM_DELADDR: u16 = 21;
pub const RTM_GETADDR: u16 = 22;
pub const RTM_NEWROUTE: u16 = 24;
pub const RTM_DELROUTE: u16 = 25;
pub const RTM_GETROUTE: u16 = 26;
pub const RTM_NEWRULE: u16 = 32;
pub const RTM_DELRULE: u16 = 33;
pub const RTM_GETRULE: u16 = 34;
pub const RTM_NEWQDISC: u16 = 36;
pub const RTM_DELQDISC: u16 = 37;
pub const RTM_GETQDISC: u16 = 38;

pub const AF_INET: u8 = 2;
pub const AF_INET6: u8 = 10;

pub const RT_TABLE_MAIN: u32 = 254;
pub const RTN_UNICAST: u8 = 1;
pub const RTN_BLACKHOLE: u8 = 6;
pub const RTN_UNREACHABLE: u8 = 7;
pub const RTN_PROHIBIT: u8 = 8;
pub const RT_SCOPE_UNIVERSE: u8 = 0;
pub const RT_SCOPE_LINK: u8 = 253;

pub const FR_ACT_TO_TBL: u8 = 1;
pub const FR_ACT_BLACKHOLE: u8 = 6;
pub const FR_ACT_UNREACHABLE: u8 = 7;

pub const IFF_POINTOPOINT: u32 = 0x10;
pub const IFF_LOWER_UP: u32 = 0x1_0000;
pub const IFA_F_SECONDARY: u32 = 0x01;
pub const IFA_F_DADFAILED: u32 = 0x08;
pub const IFA_F_DEPRECATED: u32 = 0x20;
pub const IFA_F_TENTATIVE: u32 = 0x40;

/// rtnetlink multicast groups (RTNLGRP_*), for `Socket::route_events`.
pub const RTNLGRP_LINK: u32 = 1;
pub const RTNLGRP_IPV4_IFADDR: u32 = 5;
pub const RTNLGRP_IPV4_ROUTE: u32 = 7;
pub const RTNLGRP_IPV4_RULE: u32 = 8;
pub const RTNLGRP_IPV6_IFADDR: u32 = 9;
pub const RTNLGRP_IPV6_ROUTE: u32 = 11;
pub const RTNLGRP_IPV6_RULE: u32 = 19;

const IFLA_IFNAME: u16 = 3;
const IFLA_MTU: u16 = 4;
const IFA_ADDRESS: u16 = 1;
const IFA_LOCAL: u16 = 2;
const IFA_FLAGS: u16 = 8;
const RTA_OIF: u16 = 4;
const RTA_GATEWAY: u16 = 5;
const RTA_PRIORITY: u16 = 6;
const RTA_MULTIPATH: u16 = 9;
const RTA_CACHEINFO: u16 = 12;
const RTA_TABLE: u16 = 15;
const RTA_PREF: u16 = 20;
const FRA_SRC: u16 = 2;
const FRA_IIFNAME: u16 = 3;
const FRA_PRIORITY: u16 = 6;
const FRA_FWMARK: u16 = 10;
const FRA_SUPPRESS_PREFIXLEN: u16 = 14;
const FRA_TABLE: u16 = 15;
const FRA_FWMASK: u16 = 16;
const FRA_PROTOCOL: u16 = 21;
const TCA_KIND: u16 = 1;
const TCA_OPTIONS: u16 = 2;

/// `struct ifinfomsg`, `ifaddrmsg`, `rtmsg`, `fib_rule_hdr`, `tcmsg`.
const IFINFOMSG_LEN: usize = 16;
const IFADDRMSG_LEN: usize = 8;
const RTMSG_LEN: usize = 12;
const TCMSG_LEN: usize = 20;
/// `struct rtnexthop`: len u16, flags u8, hops u8, ifindex i32.
const RTNEXTHOP_LEN: usize = 8;

fn address(value: &[u8]) -> Option<IpAddr> {
    match value.len() {
        4 => Some(IpAddr::V4(Ipv4Addr::from(<[u8; 4]>::try_from(value).ok()?))),
        16 => Some(IpAddr::V6(Ipv6Addr::from(
            <[u8; 16]>::try_from(value).ok()?,
        ))),
        _ => None,
    }
}

fn address_bytes(addr: IpAddr) -> Vec<u8> {
    match addr {
        IpAddr::V4(a) => a.octets().to_vec(),
        IpAddr::V6(a) => a.octets().to_vec(),
    }
}

/// A message with the 12-byte header `rtmsg` and `fib_rule_hdr` share: family, prefix
/// lengths, tos, table, then bytes of their own (protocol or reserved), then (`tail`)
/// scope or reserved and type or action; flags 0.
fn rt_builder(kind: u16, flags: u16, head: [u8; 6], tail: [u8; 2]) -> Builder {
    let mut fixed = [0; RTMSG_LEN];
    fixed[..6].copy_from_slice(&head);
    fixed[6..8].copy_from_slice(&tail);
    Builder::new(kind, flags, &fixed)
}

/// A C string attribute without its NUL.
fn string(value: &[u8]) -> Option<String> {
    let end = value.iter().position(|b| *b == 0).unwrap_or(value.len());
    std::str::from_utf8(&value[..end]).ok().map(str::to_string)
}

/// Records `kind` as not understood when `parsed` is `None`.
fn keep<T>(slot: &mut Option<T>, parsed: Option<T>, other: &mut Vec<u16>, kind: u16) {
    match parsed {
        Some(v) => *slot = Some(v),
        None => other.push(kind),
    }
}

/// A device (`RTM_NEWLINK` / `RTM_DELLINK`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Link {
    pub index: u32,
    /// IFF_* flags.
    pub flags: u32,
    pub name: Option<String>,
    pub mtu: Option<u32>,
}

impl Link {
    pub fn decode(payload: &[u8]) -> Option<Link> {
        let mut l = Link {
            index: u32_at(payload, 4)?,
            flags: u32_at(payload, 8)?,
            ..Link::default()
        };
        for (kind, value) in attrs_after(payload, IFINFOMSG_LEN) {
            match kind {
                IFLA_IFNAME => l.name = string(value),
                IFLA_MTU => l.mtu = as_u32(value),
                _ => {}
            }
        }
        Some(l)
    }

    /// Get one device, by index or (index 0) by name.
    pub fn get(index: u32, name: Option<&str>) -> Builder {
        let mut fixed = [0; IFINFOMSG_LEN];
        fixed[4..8].copy_from_slice(&index.to_ne_bytes());
        let mut b = Builder::new(RTM_GETLINK, NLM_F_ACK, &fixed);
        if let Some(n) = name {
            b.string(IFLA_IFNAME, n);
        }
        b
    }
}

/// An address of a device (`RTM_NEWADDR` / `RTM_DELADDR`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Address {
    pub family: u8,
    pub prefix_len: u8,
    pub scope: u8,
    pub index: u32,
    /// IFA_F_*: the 32-bit IFA_FLAGS attribute when present, else the header's 8 bits.
    pub flags: u32,
    /// IFA_ADDRESS: the local address, or the peer's on a point-to-point link.
    pub address: Option<IpAddr>,
    /// IFA_LOCAL: the local address when it differs from IFA_ADDRESS's role.
    pub local: Option<IpAddr>,
}

impl Address {
    pub fn decode(payload: &[u8]) -> Option<Address> {
        let head = payload.get(..IFADDRMSG_LEN)?;
        let mut a = Address {
            family: head[0],
            prefix_len: head[1],
            flags: u32::from(head[2]),
            scope: head[3],
            index: u32_at(head, 4)?,
            ..Address::default()
        };
        for (kind, value) in attrs_after(payload, IFADDRMSG_LEN) {
            match kind {
                IFA_ADDRESS => a.address = address(value),
                IFA_LOCAL => a.local = address(value),
                IFA_FLAGS => a.flags = as_u32(value).unwrap_or(a.flags),
                _ => {}
            }
        }
        Some(a)
    }

    /// Dump the addresses of `family` on device `index` (filtered by the kernel).
    pub fn dump(family: u8, index: u32) -> Builder {
        let mut fixed = [0; IFADDRMSG_LEN];
        fixed[0] = family;
        fixed[4..8].copy_from_slice(&index.to_ne_bytes());
        Builder::new(RTM_GETADDR, NLM_F_DUMP, &fixed)
    }
}

/// One next hop of a multipath route.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Hop {
    pub ifindex: u32,
    /// RTNH_F_* (the kernel sets RTNH_F_LINKDOWN on a hop without carrier).
    pub flags: u8,
    /// The weight minus one.
    pub hops: u8,
    pub gateway: Option<IpAddr>,
}

/// A route (`RTM_NEWROUTE` / `RTM_DELROUTE`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Route {
    pub family: u8,
    pub dst_len: u8,
    pub src_len: u8,
    pub tos: u8,
    /// The header's 8-bit table (RT_TABLE_COMPAT when the table is above 255).
    pub table: u8,
    pub protocol: u8,
    pub scope: u8,
    /// RTN_*.
    pub kind: u8,
    /// RTA_TABLE.
    pub table_id: Option<u32>,
    /// RTA_PRIORITY: the metric.
    pub priority: Option<u32>,
    pub oif: Option<u32>,
    pub gateway: Option<IpAddr>,
    pub multipath: Option<Vec<Hop>>,
    /// RTA_PREF, the router preference IPv6 adds to every route.
    pub pref: Option<u8>,
    /// The types of attributes this codec does not read (RTA_CACHEINFO's counters aside).
    pub other: Vec<u16>,
}

impl Route {
    /// The table: RTA_TABLE, or the header's for tables below 256.
    pub fn table(&self) -> u32 {
        self.table_id.unwrap_or(u32::from(self.table))
    }

    pub fn decode(payload: &[u8]) -> Option<Route> {
        let h = payload.get(..RTMSG_LEN)?;
        let mut r = Route {
            family: h[0],
            dst_len: h[1],
            src_len: h[2],
            tos: h[3],
            table: h[4],
            protocol: h[5],
            scope: h[6],
            kind: h[7],
            ..Route::default()
        };
        let other = &mut r.other;
        for (kind, value) in attrs_after(payload, RTMSG_LEN) {
            match kind {
                RTA_TABLE => keep(&mut r.table_id, as_u32(value), other, kind),
                RTA_PRIORITY => keep(&mut r.priority, as_u32(value), other, kind),
                RTA_OIF => keep(&mut r.oif, as_u32(value), other, kind),
                RTA_GATEWAY => keep(&mut r.gateway, address(value), other, kind),
                RTA_MULTIPATH => keep(&mut r.multipath, hops(value), other, kind),
                RTA_PREF => keep(&mut r.pref, value.first().copied(), other, kind),
                RTA_CACHEINFO => {}
                _ => other.push(kind),
            }
        }
        Some(r)
    }

    /// The message that carries this route (`other` is not encoded).
    pub fn encode(&self, kind: u16, flags: u16) -> Builder {
        let (lens, scope) = ([self.dst_len, self.src_len, self.tos], self.scope);
        let head = [
            self.family,
            lens[0],
            lens[1],
            lens[2],
            self.table,
            self.protocol,
        ];
        let mut b = rt_builder(kind, flags, head, [scope, self.kind]);
        b.opt_u32(RTA_TABLE, self.table_id)
            .opt_u32(RTA_PRIORITY, self.priority)
            .opt_u32(RTA_OIF, self.oif)
            .opt_attr(RTA_GATEWAY, self.gateway.map(address_bytes).as_deref())
            .opt_u8(RTA_PREF, self.pref);
        if let Some(hops) = &self.multipath {
            b.sized(&RTA_MULTIPATH.to_ne_bytes(), |b| {
                for h in hops {
                    let mut head = vec![h.flags, h.hops];
                    head.extend_from_slice(&h.ifindex.to_ne_bytes());
                    b.sized(&head, |b| {
                        b.opt_attr(RTA_GATEWAY, h.gateway.map(address_bytes).as_deref());
                    });
                }
            });
        }
        b
    }
}

/// The `rtnexthop`s of RTA_MULTIPATH; `None` when one is malformed. Attributes of a hop
/// other than its gateway (a flow tag, an encapsulation) are not read.
fn hops(mut value: &[u8]) -> Option<Vec<Hop>> {
    let mut out = Vec::new();
    while !value.is_empty() {
        let len = usize::from(u16_at(value, 0)?);
        if len < RTNEXTHOP_LEN {
            return None;
        }
        let head = value.get(..len)?;
        let mut hop = Hop {
            flags: head[2],
            hops: head[3],
            ifindex: u32_at(head, 4)?,
            gateway: None,
        };
        for (kind, v) in attrs_after(head, RTNEXTHOP_LEN) {
            if kind == RTA_GATEWAY {
                hop.gateway = Some(address(v)?);
            }
        }
        out.push(hop);
        value = value.get(len.next_multiple_of(4)..).unwrap_or_default();
    }
    Some(out)
}

/// A routing rule (`RTM_NEWRULE` / `RTM_DELRULE`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rule {
    pub family: u8,
    pub dst_len: u8,
    pub src_len: u8,
    pub tos: u8,
    /// The header's 8-bit table.
    pub table: u8,
    /// FR_ACT_*.
    pub action: u8,
    pub priority: Option<u32>,
    /// FRA_TABLE.
    pub table_id: Option<u32>,
    pub src: Option<IpAddr>,
    pub fwmark: Option<u32>,
    pub fwmask: Option<u32>,
    /// FRA_SUPPRESS_PREFIXLEN; the kernel dumps u32::MAX (-1) for "not set".
    pub suppress_prefixlen: Option<u32>,
    pub protocol: Option<u8>,
    pub iifname: Option<String>,
    /// The types of attributes this codec does not read.
    pub other: Vec<u16>,
}

impl Rule {
    pub fn decode(payload: &[u8]) -> Option<Rule> {
        let h = payload.get(..RTMSG_LEN)?;
        let mut r = Rule {
            family: h[0],
            dst_len: h[1],
            src_len: h[2],
            tos: h[3],
            table: h[4],
            action: h[7],
            ..Rule::default()
        };
        let other = &mut r.other;
        for (kind, value) in attrs_after(payload, RTMSG_LEN) {
            match kind {
                FRA_PRIORITY => keep(&mut r.priority, as_u32(value), other, kind),
                FRA_TABLE => keep(&mut r.table_id, as_u32(value), other, kind),
                FRA_SRC => keep(&mut r.src, address(value), other, kind),
                FRA_FWMARK => keep(&mut r.fwmark, as_u32(value), other, kind),
                FRA_FWMASK => keep(&mut r.fwmask, as_u32(value), other, kind),
                FRA_SUPPRESS_PREFIXLEN => {
                    keep(&mut r.suppress_prefixlen, as_u32(value), other, kind)
                }
                FRA_PROTOCOL => keep(&mut r.protocol, value.first().copied(), other, kind),
                FRA_IIFNAME => keep(&mut r.iifname, string(value), other, kind),
                _ => other.push(kind),
            }
        }
        Some(r)
    }

    /// The message that carries this rule (`other` is not encoded).
    pub fn encode(&self, kind: u16, flags: u16) -> Builder {
        let head = [
            self.family,
            self.dst_len,
            self.src_len,
            self.tos,
            self.table,
            0,
        ];
        let mut b = rt_builder(kind, flags, head, [0, self.action]);
        b.opt_u32(FRA_PRIORITY, self.priority)
            .opt_u8(FRA_PROTOCOL, self.protocol)
            .opt_attr(FRA_SRC, self.src.map(address_bytes).as_deref())
            .opt_u32(FRA_FWMARK, self.fwmark)
            .opt_u32(FRA_FWMASK, self.fwmask);
        if let Some(n) = &self.iifname {
            b.string(FRA_IIFNAME, n);
        }
        b.opt_u32(FRA_TABLE, self.table_id)
            .opt_u32(FRA_SUPPRESS_PREFIXLEN, self.suppress_prefixlen);
        b
    }
}

/// A queueing discipline (`RTM_NEWQDISC`): where it sits, its kind and its raw options.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Qdisc {
    pub ifindex: u32,
    /// major:minor as `(major << 16) | minor`.
    pub handle: u32,
    pub parent: u32,
    pub kind: String,
    /// The TCA_OPTIONS nest's contents (its attributes).
    pub options: Vec<u8>,
}

/// TC_H_ROOT: the parent of a device's root qdisc.
pub const TC_H_ROOT: u32 = 0xffff_ffff;

impl Qdisc {
    pub fn decode(payload: &[u8]) -> Option<Qdisc> {
        let mut q = Qdisc {
            ifindex: u32_at(payload, 4)?,
            handle: u32_at(payload, 8)?,
            parent: u32_at(payload, 12)?,
            ..Qdisc::default()
        };
        payload.get(..TCMSG_LEN)?;
        for (kind, value) in attrs_after(payload, TCMSG_LEN) {
            match kind {
                TCA_KIND => q.kind = string(value).unwrap_or_default(),
                TCA_OPTIONS => q.options = value.to_vec(),
                _ => {}
            }
        }
        Some(q)
    }

    /// The message that installs (or, with RTM_DELQDISC, removes) this qdisc; kind and
    /// options only when set.
    pub fn encode(&self, kind: u16, flags: u16) -> Builder {
        let mut fixed = [0; TCMSG_LEN];
        fixed[4..8].copy_from_slice(&self.ifindex.to_ne_bytes());
        fixed[8..12].copy_from_slice(&self.handle.to_ne_bytes());
        fixed[12..16].copy_from_slice(&self.parent.to_ne_bytes());
        let mut b = Builder::new(kind, flags, &fixed);
        if !self.kind.is_empty() {
            b.string(TCA_KIND, &self.kind);
        }
        if !self.options.is_empty() {
            b.attr(TCA_OPTIONS | NLA_F_NESTED, &self.options);
        }
        b
    }

    /// Dump the qdiscs of device `ifindex`.
    pub fn dump(ifindex: u32) -> Builder {
        let q = Qdisc {
            ifindex,
            ..Qdisc::default()
        };
        q.encode(RTM_GETQDISC, NLM_F_DUMP)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::netlink::wire::messages;

    /// The payload of the one message in `bytes`.
    fn payload(bytes: &[u8]) -> &[u8] {
        let mut all = messages(bytes);
        let m = all.next().expect("one message");
        assert!(all.next().is_none());
        m.payload
    }

    fn v4(a: [u8; 4]) -> Option<IpAddr> {
        Some(IpAddr::from(a))
    }

    fn v6(s: &str) -> Option<IpAddr> {
        Some(s.parse().unwrap())
    }

    #[test]
    fn routes_and_rules_round_trip_through_bytes() {
        let route = Route {
            family: AF_INET6,
            protocol: 165,
            kind: RTN_UNICAST,
            table_id: Some(20201),
            priority: Some(1),
            multipath: Some(vec![
                Hop {
                    ifindex: 3,
                    flags: 0,
                    hops: 2,
                    gateway: v6("fe80::1"),
                },
                Hop {
                    ifindex: 4,
                    flags: 0,
                    hops: 0,
                    gateway: None,
                },
            ]),
            ..Route::default()
        };
        let bytes = route.encode(RTM_NEWROUTE, NLM_F_ACK).finish();
        assert_eq!(Route::decode(payload(&bytes)), Some(route.clone()));
        let single = Route {
            family: AF_INET,
            scope: RT_SCOPE_LINK,
            oif: Some(7),
            gateway: v4([192, 0, 2, 1]),
            pref: Some(1),
            multipath: None,
            ..route
        };
        let bytes = single.encode(RTM_NEWROUTE, 0).finish();
        assert_eq!(Route::decode(payload(&bytes)), Some(single));

        let rule = Rule {
            family: AF_INET,
            src_len: 32,
            action: FR_ACT_TO_TBL,
            priority: Some(4001),
            table_id: Some(20001),
            src: v4([198, 51, 100, 2]),
            fwmark: Some(0x0100_0000),
            fwmask: Some(0x3f00_0000),
            suppress_prefixlen: Some(0),
            protocol: Some(165),
            iifname: Some("lo".into()),
            ..Rule::default()
        };
        let bytes = rule.encode(RTM_NEWRULE, 0).finish();
        assert_eq!(Rule::decode(payload(&bytes)), Some(rule));

        let q = Qdisc {
            ifindex: 9,
            handle: 0x7261_0000,
            parent: TC_H_ROOT,
            kind: "tbf".into(),
            options: vec![8, 0, 6, 0, 1, 2, 3, 4],
        };
        let bytes = q.encode(RTM_NEWQDISC, 0).finish();
        assert_eq!(Qdisc::decode(payload(&bytes)), Some(q));
    }

    #[test]
    fn integers_are_host_order_and_addresses_network_order() {
        let route = Route {
            family: AF_INET,
            table_id: Some(20201),
            gateway: v4([192, 0, 2, 1]),
            ..Route::default()
        };
        let bytes = route.encode(RTM_NEWROUTE, 0).finish();
        let attrs: Vec<_> = attrs_after(payload(&bytes), RTMSG_LEN).collect();
        assert_eq!(
            attrs,
            vec![
                (RTA_TABLE, &20201u32.to_ne_bytes()[..]),
                (RTA_GATEWAY, &[192, 0, 2, 1][..]),
            ]
        );
        let table = if cfg!(target_endian = "big") {
            [0, 0, 0x4e, 0xe9]
        } else {
            [0xe9, 0x4e, 0, 0]
        };
        assert_eq!(attrs[0].1, table);
    }

    #[test]
    fn unknown_attributes_are_listed_and_damaged_ones_do_not_panic() {
        let rule = Rule {
            family: AF_INET,
            priority: Some(4000),
            protocol: Some(165),
            ..Rule::default()
        };
        let mut b = rule.encode(RTM_NEWRULE, 0);
        b.u32(99, 1).attr(FRA_FWMARK, &[1, 2]); // unknown; known but the wrong size
        let bytes = b.finish();
        let got = Rule::decode(payload(&bytes)).unwrap();
        assert_eq!((got.priority, got.protocol), (Some(4000), Some(165)));
        assert_eq!(got.other, vec![99, FRA_FWMARK]);

        let route = Route {
            family: AF_INET,
            multipath: Some(vec![Hop {
                ifindex: 2,
                gateway: v4([192, 0, 2, 1]),
                ..Hop::default()
            }]),
            ..Route::default()
        };
        let whole = route.encode(RTM_NEWROUTE, 0).finish();
        for cut in 0..whole.len() {
            let p = &whole[16.min(cut)..cut];
            let _ = (Route::decode(p), Rule::decode(p), Link::decode(p));
            let _ = (Address::decode(p), Qdisc::decode(p));
        }
        // A next hop claiming less than its own header, or more than is there.
        for len in [4u16, 200] {
            let mut bad = whole.clone();
            let at = bad.len() - 16;
            bad[at..at + 2].copy_from_slice(&len.to_ne_bytes());
            let r = Route::decode(payload(&bad)).unwrap();
            assert_eq!((r.multipath, r.other), (None, vec![RTA_MULTIPATH]));
        }
        assert_eq!(Route::decode(&[0; 11]), None, "shorter than rtmsg");
    }

    /// Messages the kernel (6.x, x86_64) sent in the lab, one per file: a dump of a network
    /// namespace set up with `ip` the way rail sets up a router (fixtures/README).
    #[cfg(target_endian = "little")]
    pub(crate) mod kernel_bytes {
        use super::*;

        pub(crate) fn fixture(bytes: &'static [u8]) -> &'static [u8] {
            payload(bytes)
        }

        #[test]
        fn links_and_addresses() {
            let l = Link::decode(fixture(include_bytes!("fixtures/link_veth.bin"))).unwrap();
            assert_eq!((l.name.as_deref(), l.mtu), (Some("uplink0"), Some(1500)));
            assert_ne!(l.flags & IFF_LOWER_UP, 0);
            let a = Address::decode(fixture(include_bytes!("fixtures/addr4_peer.bin"))).unwrap();
            assert_eq!(
                (a.family, a.index, a.local, a.address),
                (
                    AF_INET,
                    l.index,
                    v4([198, 51, 100, 2]),
                    v4([198, 51, 100, 1])
                )
            );
            let a = Address::decode(fixture(include_bytes!("fixtures/addr6_global.bin"))).unwrap();
            assert_eq!(
                (a.family, a.scope, a.address),
                (AF_INET6, RT_SCOPE_UNIVERSE, v6("2001:db8:100:1::2"))
            );
            assert_eq!(a.flags & IFA_F_TENTATIVE, 0, "added with nodad");
        }

        #[test]
        fn multipath_routes_of_both_families() {
            let r = Route::decode(fixture(include_bytes!("fixtures/route4_multipath.bin")));
            let r = r.unwrap();
            assert_eq!((r.table(), r.protocol, r.kind), (20201, 165, RTN_UNICAST));
            assert_eq!(r.priority, None, "metric 0 is not dumped");
            let hops = r.multipath.unwrap();
            assert_eq!(
                hops.iter()
                    .map(|h| (h.hops + 1, h.gateway))
                    .collect::<Vec<_>>(),
                vec![(3, None), (1, v4([192, 0, 2, 1]))]
            );
            assert!(r.other.is_empty());

            let r = Route::decode(fixture(include_bytes!("fixtures/route6_multipath.bin")));
            let r = r.unwrap();
            assert_eq!(
                (r.family, r.table(), r.priority),
                (AF_INET6, 20202, Some(1))
            );
            let gws: Vec<_> = r.multipath.unwrap().iter().map(|h| h.gateway).collect();
            assert_eq!(gws, vec![v6("fe80::1"), v6("2001:db8:200:1::1")]);
            assert!(r.other.is_empty(), "cache info and preference are known");

            let r = Route::decode(fixture(include_bytes!("fixtures/route6_prohibit.bin")));
            let r = r.unwrap();
            assert_eq!(
                (r.kind, r.priority, r.oif),
                (RTN_PROHIBIT, Some(1000), Some(1))
            );

            let r = Route::decode(fixture(include_bytes!("fixtures/route4_main_default.bin")));
            let r = r.unwrap();
            assert_eq!(
                (r.table(), r.dst_len, r.priority, r.gateway),
                (RT_TABLE_MAIN, 0, Some(10), v4([192, 0, 2, 1]))
            );
        }

        #[test]
        fn rules() {
            let r = Rule::decode(fixture(include_bytes!("fixtures/rule4_fwmark.bin"))).unwrap();
            assert_eq!(
                (r.priority, r.table_id, r.fwmark, r.fwmask, r.protocol),
                (
                    Some(4200),
                    Some(20001),
                    Some(0x0100_0000),
                    Some(0x3f00_0000),
                    Some(165)
                )
            );
            assert_eq!(
                r.suppress_prefixlen,
                Some(u32::MAX),
                "dumped as -1: not set"
            );
            let r = Rule::decode(fixture(include_bytes!("fixtures/rule4_suppress.bin"))).unwrap();
            assert_eq!(
                (r.table, r.suppress_prefixlen, r.action),
                (254, Some(0), FR_ACT_TO_TBL)
            );
            let r = Rule::decode(fixture(include_bytes!("fixtures/rule4_iif_lo.bin"))).unwrap();
            assert_eq!(r.iifname.as_deref(), Some("lo"));
            let r = Rule::decode(fixture(include_bytes!("fixtures/rule6_from.bin"))).unwrap();
            assert_eq!(
                (r.family, r.src_len, r.src),
                (AF_INET6, 128, v6("2001:db8:100:1::2"))
            );
            assert!(r.other.is_empty());
        }

        #[test]
        fn a_tbf_root_qdisc() {
            let q = Qdisc::decode(fixture(include_bytes!("fixtures/qdisc_tbf.bin"))).unwrap();
            assert_eq!(
                (q.handle, q.parent, q.kind.as_str()),
                (0x7261_0000, TC_H_ROOT, "tbf")
            );
            let rate = crate::config::Rate::from_kbit(8_000).unwrap();
            // tc's burst 10000 and limit 60000: what rail's own TBF for 8 Mbit/s sets.
            assert!(crate::shaping::Tbf::new(rate, 1500).same_as(&q.options));
        }
    }
}
