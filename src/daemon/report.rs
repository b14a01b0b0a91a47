//! Building the status document (pure) from what the daemon knows: health per uplink, the
//! devices learned, the policy resolution, conntrack counts, bytes sent and the recent
//! transitions. The daemon gathers these facts (sysfs, conntrack, the health engine).

use std::collections::{BTreeMap, VecDeque};

use super::status::{
    ActiveMember, InterfaceStatus, PassiveStatus, PolicyStatus, Status, TargetStatus, Transition,
};
use super::uplinks::Uplinks;
use crate::config::{Config, InterfaceId};
use crate::family::{Af, Family, PerAf};
use crate::health::time::Time;
use crate::health::Status as Health;
use crate::policy::{PolicyRoute, Resolution};

/// Transitions kept for status.
pub const HISTORY: usize = 50;

pub struct Inputs<'a> {
    pub config: &'a Config,
    /// Per interface (at its `InterfaceId`), the status of its tracker of each family it
    /// carries.
    pub health: &'a [PerAf<Option<Health>>],
    /// Per interface, its passive evidence (`passive 1`).
    pub passive: &'a [Option<PassiveStatus>],
    /// The health engine's clock, now.
    pub now: Time,
    pub all_targets_lost: bool,
    pub uplinks: &'a Uplinks,
    /// Per family, the policies over the uplinks available for it (status shows IPv4's
    /// when they differ only in the IPv6 section).
    pub resolution: &'a PerAf<Resolution>,
    /// Flows per uplink mark value.
    pub flows: &'a BTreeMap<u32, usize>,
    /// Bytes sent per device (absent devices count 0).
    pub tx_bytes: &'a BTreeMap<String, u64>,
    pub transitions: &'a VecDeque<Transition>,
    pub uptime: u64,
    pub unix_now: u64,
}

pub fn build(i: &Inputs) -> Status {
    let mut interfaces = BTreeMap::new();
    for (n, iface) in i.config.interfaces.iter().enumerate() {
        let id = InterfaceId(n);
        // Every interface has a tracker of its first family (the engine makes one each).
        let Some(health) = i
            .health
            .get(n)
            .and_then(|h| h[iface.family.first()].as_ref())
        else {
            continue;
        };
        let link = i.uplinks.links.get(&id);
        let in_maintenance = i.uplinks.maintenance.contains(&iface.name);
        let state = if in_maintenance {
            "maintenance".to_string()
        } else {
            health.state.as_str().to_string()
        };
        let age = i.now.since(health.since).as_secs();
        // The second tracker, of a dual-stack interface's IPv6; `state` is the first's.
        let health6 = (iface.family == Family::Both)
            .then(|| i.health[n][Af::Inet6].as_ref())
            .flatten();
        let device = i.uplinks.current_device(i.config, id);
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
                address6: link
                    .and_then(|l| l.address[Af::Inet6])
                    .map(|a| a.to_string()),
                gateway6: link
                    .and_then(|l| l.gateway[Af::Inet6])
                    .map(|a| a.to_string()),
                family: iface.family.word().to_string(),
                tx_bytes: device
                    .as_ref()
                    .and_then(|d| i.tx_bytes.get(d))
                    .copied()
                    .unwrap_or(0),
                device,
                ifindex: link.map(|l| l.ifindex),
                address: link
                    .and_then(|l| l.address[Af::Inet])
                    .map(|a| a.to_string()),
                gateway: link
                    .and_then(|l| l.gateway[Af::Inet])
                    .or_else(|| i.uplinks.peers.get(&id).map(|&p| p.into()))
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
                passive: i.passive.get(n).cloned().flatten(),
            },
        );
    }
    Status {
        version: env!("CARGO_PKG_VERSION").to_string(),
        uptime: i.uptime,
        all_targets_lost: i.all_targets_lost,
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
        let (first, v6) = (
            &i.resolution[Af::Inet].policies[n],
            &i.resolution[Af::Inet6].policies[n],
        );
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::health::{Params, Tracker};
    use crate::policy::resolve;

    #[test]
    fn the_status_shows_each_uplinks_facts_as_gathered() {
        let mut c = crate::fixtures::uplinks(&["wan", "wanb"])
            .member("wan", 1, 3)
            .member("wanb", 1, 1)
            .policy(&["m0", "m1"])
            .build();
        c.interfaces[0].family = Family::Both;
        c.interfaces[1].device = Some("eth2".into());
        let tracker = |n: usize| {
            let iface = &c.interfaces[n];
            let t = Tracker::new(
                &iface.name,
                Params::from_interface(iface),
                1,
                true,
                Time::ZERO,
            );
            Some(t.status())
        };
        let health = [
            PerAf::new(tracker(0), tracker(0)),
            PerAf::new(tracker(1), None),
        ];
        let mut uplinks = Uplinks::default();
        let mut wan = crate::fixtures::every_match_links()[&InterfaceId(0)].clone();
        wan.address[Af::Inet6] = Some("2001:db8::2".parse().unwrap());
        uplinks.links.insert(InterfaceId(0), wan);
        uplinks.maintenance.insert("wanb".into());
        let tx_bytes = BTreeMap::from([("eth1".to_string(), 1234), ("eth2".to_string(), 5)]);
        let flows = BTreeMap::from([(c.interfaces[0].mark.value(), 7)]);
        // IPv6 of wanb is unavailable: wan alone carries the policy's IPv6.
        let resolution = PerAf::new(
            resolve(&c, |_| true),
            resolve(&c, |id| id == InterfaceId(0)),
        );
        let s = build(&Inputs {
            config: &c,
            health: &health,
            passive: &[],
            now: Time::from_micros(90_000_000),
            all_targets_lost: false,
            uplinks: &uplinks,
            resolution: &resolution,
            flows: &flows,
            tx_bytes: &tx_bytes,
            transitions: &VecDeque::new(),
            uptime: 100,
            unix_now: 1_000,
        });
        let wan = &s.interfaces["wan"];
        let initial = health[0][Af::Inet].as_ref().unwrap().state.as_str();
        assert_eq!(
            (wan.device.as_deref(), wan.tx_bytes, wan.flows, wan.since),
            (Some("eth1"), 1234, 7, 910)
        );
        assert_eq!(
            (wan.state.as_str(), wan.state6.as_deref()),
            (initial, Some(initial))
        );
        assert_eq!(wan.address6.as_deref(), Some("2001:db8::2"));
        let wanb = &s.interfaces["wanb"];
        assert_eq!(
            (wanb.device.as_deref(), wanb.tx_bytes, wanb.state.as_str()),
            (Some("eth2"), 5, "maintenance")
        );
        assert_eq!(wanb.state6, None);
        let p = &s.policies["p0"];
        let names = |a: &[ActiveMember]| a.iter().map(|m| m.interface.clone()).collect::<Vec<_>>();
        assert_eq!(names(&p.active), ["wan", "wanb"]);
        assert_eq!(
            p.active6.as_deref().map(names),
            Some(vec!["wan".to_string()])
        );
    }
}
