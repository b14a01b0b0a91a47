//! Config fixtures shared by the policy/dataplane unit tests and the dataplane lab tests
//! (included by both with `#[path]`/`mod`, so `rail::` paths work in either).
#![allow(dead_code)]

use std::time::Duration;

use rail::config::*;

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
    }
}

/// A config with the given interfaces and members `(interface index, metric, weight)`,
/// and one policy (`last_resort unreachable`) per entry of `policies` listing member indices.
pub fn config(ifaces: &[&str], members: &[(usize, u16, u16)], policies: &[&[usize]]) -> Config {
    Config {
        globals: Globals {
            enabled: true,
            mark_mask: MarkMask::DEFAULT,
            hooks: vec![],
            hook_timeout: Duration::from_secs(5),
            log_level: log::LevelFilter::Info,
        },
        interfaces: ifaces
            .iter()
            .enumerate()
            .map(|(i, n)| interface(n, i as u32 + 1))
            .collect(),
        members: members
            .iter()
            .enumerate()
            .map(|(i, &(iface, metric, weight))| Member {
                name: format!("m{i}"),
                interface: InterfaceId(iface),
                metric,
                weight,
            })
            .collect(),
        policies: policies
            .iter()
            .enumerate()
            .map(|(i, ms)| Policy {
                name: format!("p{i}"),
                members: ms.iter().map(|&m| MemberId(m)).collect(),
                last_resort: LastResort::Unreachable,
            })
            .collect(),
        rules: vec![],
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
