//! Building the status document from the daemon's state: health per uplink, the devices
//! learned, the policy resolution, conntrack counts and the recent transitions.

use std::collections::{BTreeMap, VecDeque};

use super::status::{
    ActiveMember, InterfaceStatus, PassiveStatus, PolicyStatus, Status, TargetStatus, Transition,
};
use super::uplinks::Uplinks;
use crate::config::{Config, Family, InterfaceId};
use crate::family::Af;
use crate::health::engine::Engine;
use crate::policy::{PolicyRoute, Resolution};

/// Transitions kept for status.
pub const HISTORY: usize = 50;

pub struct Inputs<'a> {
    pub config: &'a Config,
    pub engine: &'a Engine,
    pub uplinks: &'a Uplinks,
    pub resolution: &'a Resolution,
    /// Policies over the uplinks available for IPv6 (status shows IPv4's when they differ
    /// only in the IPv6 section).
    pub resolution6: &'a Resolution,
    /// Flows per uplink mark value.
    pub flows: &'a BTreeMap<u32, usize>,
    pub transitions: &'a VecDeque<Transition>,
    pub uptime: u64,
    pub unix_now: u64,
}

/// Bytes sent by a device, from sysfs (absent devices count 0).
fn tx_bytes(device: &str) -> u64 {
    std::fs::read_to_string(format!("/sys/class/net/{device}/statistics/tx_bytes"))
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0)
}

pub fn build(i: &Inputs) -> Status {
    let now = i.engine.now();
    let mut interfaces = BTreeMap::new();
    for (n, iface) in i.config.interfaces.iter().enumerate() {
        let id = InterfaceId(n);
        let health = i.engine.status(id);
        let link = i.uplinks.links.get(&id);
        let in_maintenance = i.uplinks.maintenance.contains(&iface.name);
        let state = if in_maintenance {
            "maintenance".to_string()
        } else {
            health.state.as_str().to_string()
        };
        let age = now.since(health.since).as_secs();
        // The second tracker, of a dual-stack interface's IPv6; `state` is the first's.
        let health6 = (iface.family == Family::Both)
            .then(|| i.engine.tracker_of(id, Af::Inet6))
            .flatten()
            .map(|t| t.status());
        let device = link
            .map(|l| l.device.clone())
            .or_else(|| i.uplinks.device(i.config, id));
        interfaces.insert(
            iface.name.clone(),
            InterfaceStatus {
                state,
                state6: health6
                    .as_ref()
                    .map(|h| {
                        if in_maintenance {
                            "maintenance"
                        } else {
                            h.state.as_str()
                        }
                    })
                    .map(str::to_string),
                address6: link.and_then(|l| l.address6).map(|a| a.to_string()),
                gateway6: link.and_then(|l| l.gateway6).map(|a| a.to_string()),
                family: iface.family.word().to_string(),
                tx_bytes: device.as_deref().map_or(0, tx_bytes),
                device,
                ifindex: link.map(|l| l.ifindex),
                address: link.and_then(|l| l.address).map(|a| a.to_string()),
                gateway: link
                    .and_then(|l| l.gateway)
                    .or_else(|| i.uplinks.peers.get(&id).copied())
                    .map(|g| g.to_string()),
                mark: format!("{:#010x}", iface.mark.value()),
                since: i.unix_now.saturating_sub(age),
                uptime: if health.state.routable() { age } else { 0 },
                reason: health.reason.clone(),
                flows: i.flows.get(&iface.mark.value()).copied().unwrap_or(0) as u64,
                // Both trackers' targets: each line's address says its family.
                targets: health
                    .targets
                    .iter()
                    .chain(health6.iter().flat_map(|h| h.targets.iter()))
                    .map(|t| TargetStatus {
                        ip: t.ip.to_string(),
                        state: t.state.to_string(),
                        rtt_ms: t.rtt_ms,
                        jitter_ms: t.jitter_ms,
                        loss: t.loss,
                        sent: t.sent,
                        received: t.received,
                    })
                    .collect(),
                passive: i.engine.passive(id).map(|(r, confirming)| PassiveStatus {
                    opened: r.opened,
                    answered: r.answered,
                    confirming,
                    suspicion: r.suspicion,
                }),
            },
        );
    }
    Status {
        version: env!("CARGO_PKG_VERSION").to_string(),
        uptime: i.uptime,
        all_targets_lost: i.engine.all_targets_lost(),
        interfaces,
        policies: policies(i),
        transitions: i.transitions.iter().cloned().collect(),
        reconcile_error: None,
    }
}

/// Each policy's last resort and the members carrying its new connections, per family.
fn policies(i: &Inputs) -> BTreeMap<String, PolicyStatus> {
    let mut policies = BTreeMap::new();
    let active = |route: &PolicyRoute| -> Vec<ActiveMember> {
        route
            .shares()
            .into_iter()
            .map(|(m, percent)| ActiveMember {
                member: i.config.members[m.member.0].name.clone(),
                interface: i.config.interfaces[m.interface.0].name.clone(),
                weight: u32::from(m.weight),
                percent,
            })
            .collect()
    };
    let families: Vec<Family> = i.config.interfaces.iter().map(|f| f.family).collect();
    let only_v6 = !families.is_empty() && families.iter().all(|f| *f == Family::Ipv6);
    let dual = families.contains(&Family::Both) || (families.contains(&Family::Ipv6) && !only_v6);
    for (n, policy) in i.config.policies.iter().enumerate() {
        let (first, v6) = (&i.resolution.policies[n], &i.resolution6.policies[n]);
        policies.insert(
            policy.name.clone(),
            PolicyStatus {
                last_resort: policy.last_resort.word().to_string(),
                active: active(if only_v6 { v6 } else { first }),
                active6: dual.then(|| active(v6)),
            },
        );
    }
    policies
}
