//! Configs and links built by name, for the unit tests, the integration tests and the
//! benchmarks: `uplinks(&["wan1", "wan2"]).member("wan1", 1, 3).member("wan2", 1, 1)
//! .policy(&["m0", "m1"]).build()`. Compiled only for tests: `cfg(test)`, or the `fixtures`
//! feature, which the integration tests get through rail's dev-dependency on itself.

use std::net::Ipv4Addr;
use std::time::Duration;

use crate::config::*;
use crate::dataplane::vocab::{Link, Links};
use crate::family::{Family, PerAf};

/// An enabled IPv4 uplink with the `n`th mark of the default mask and mwan3-like timings.
pub fn interface(name: &str, n: u32) -> Interface {
    Interface {
        name: name.into(),
        enabled: true,
        device: None,
        gateway: None,
        family: Family::Ipv4,
        mark: MarkMask::DEFAULT.mark(n).unwrap(),
        track_method: TrackMethod::Ping,
        track_ip: vec![],
        track_port: 80,
        track_dns_name: String::new(),
        reliability: 1,
        count: 1,
        timeout: Duration::from_secs(1),
        interval: Duration::from_secs(1),
        failure_interval: Duration::from_secs(1),
        recovery_interval: Duration::from_secs(1),
        down: 3,
        up: 3,
        hold: Duration::ZERO,
        initial_state: InitialState::Online,
        quality: None,
        ttl: 64,
        size: 56,
        flush_conntrack: true,
        masquerade: false,
        passive: false,
        npt: None,
        ip6prefix: None,
        rate: None,
    }
}

/// A config under construction: uplinks, then members, then policies, named in order.
pub struct ConfigBuilder(Config);

/// A config of enabled IPv4 uplinks with these names (marks 1, 2, ... of the default mask),
/// no members, policies or rules yet.
pub fn uplinks(names: &[&str]) -> ConfigBuilder {
    ConfigBuilder(Config {
        globals: Globals {
            enabled: true,
            mark_mask: MarkMask::DEFAULT,
            hooks: vec![],
            hook_timeout: Duration::from_secs(5),
            log_level: log::LevelFilter::Info,
        },
        interfaces: names
            .iter()
            .enumerate()
            .map(|(i, n)| interface(n, i as u32 + 1))
            .collect(),
        members: vec![],
        policies: vec![],
        rules: vec![],
    })
}

impl ConfigBuilder {
    /// The next member, `m0`, `m1`, ...: the uplink named `uplink` with a metric and a weight.
    pub fn member(mut self, uplink: &str, metric: u16, weight: u16) -> ConfigBuilder {
        let c = &mut self.0;
        let i = c
            .interfaces
            .iter()
            .position(|i| i.name == uplink)
            .unwrap_or_else(|| panic!("no uplink {uplink}"));
        c.members.push(Member {
            name: format!("m{}", c.members.len()),
            interface: InterfaceId(i),
            metric,
            weight,
        });
        self
    }

    /// The next policy, `p0`, `p1`, ... (`last_resort unreachable`), of the named members.
    pub fn policy(mut self, members: &[&str]) -> ConfigBuilder {
        let c = &mut self.0;
        let ids = members
            .iter()
            .map(|m| {
                let k = c.members.iter().position(|x| x.name == *m);
                MemberId(k.unwrap_or_else(|| panic!("no member {m}")))
            })
            .collect();
        c.policies.push(Policy {
            name: format!("p{}", c.policies.len()),
            members: ids,
            last_resort: LastResort::Unreachable,
        });
        self
    }

    pub fn build(self) -> Config {
        self.0
    }
}

/// A rule matching all traffic, sent to `target`.
pub fn rule(name: &str, target: Target) -> Rule {
    Rule {
        name: name.into(),
        src_ip: vec![],
        dest_ip: vec![],
        src_port: vec![],
        dest_port: vec![],
        proto: Proto::All,
        src_dev: vec![],
        ipset: None,
        family: None,
        sticky: false,
        sticky_timeout: Duration::from_secs(600),
        target,
    }
}

/// Two uplinks (wan2 masqueraded), two policies, and rules using every kind of match and
/// target, one of them IPv6-only.
pub fn every_match() -> Config {
    let mut c = uplinks(&["wan1", "wan2"])
        .member("wan1", 1, 3)
        .member("wan2", 1, 1)
        .member("wan2", 1, 1)
        .policy(&["m0", "m1"])
        .policy(&["m2"])
        .build();
    c.interfaces[1].masquerade = true;
    let mut web = rule("web_via_wan2", Target::Policy(PolicyId(1)));
    web.src_ip = vec![Prefix {
        addr: Ipv4Addr::new(192, 168, 1, 77).into(),
        len: 32,
    }];
    web.dest_port = vec![
        PortRange {
            first: 80,
            last: 80,
        },
        PortRange {
            first: 8000,
            last: 8080,
        },
    ];
    web.src_dev = vec!["br-lan".into()];
    let mut banks = rule("banks", Target::Default);
    banks.ipset = Some("rail_banks".into());
    banks.proto = Proto::Tcp;
    let mut v6 = rule("v6_only", Target::Blackhole);
    v6.dest_ip = vec![Prefix {
        addr: "2001:db8::".parse().unwrap(),
        len: 32,
    }];
    let mut dark = rule("dark", Target::Unreachable);
    dark.dest_ip = vec![Prefix {
        addr: Ipv4Addr::new(198, 18, 0, 0).into(),
        len: 15,
    }];
    dark.proto = Proto::Number(47);
    c.rules = vec![
        web,
        banks,
        v6,
        dark,
        rule("default", Target::Policy(PolicyId(0))),
    ];
    c
}

/// Devices for `every_match`'s two uplinks (names and ifindexes only).
pub fn every_match_links() -> Links {
    let link = |device: &str, ifindex| Link {
        device: device.into(),
        ifindex,
        address: PerAf::default(),
        gateway: PerAf::default(),
        carrier: true,
        delegated6: None,
    };
    [
        (InterfaceId(0), link("eth1", 3)),
        (InterfaceId(1), link("eth2", 4)),
    ]
    .into_iter()
    .collect()
}
