//! The daemon's decisions, pure and on the caller's clock: what a new learning of the
//! uplinks' devices means for health (including netifd's administrative restarts, held
//! rather than counted), which uplinks policies may use, whether a change needs a full
//! reconcile or only policy routes, and whether an uplink's flows are flushed.
//!
//! netifd restarts an interface (a `network reload` that touched its section, netifd's own
//! restart) by taking it down and bringing it back: addresses go, carrier may bounce, the
//! status says down. For an uplink netifd runs, such a loss is *held*:
//! the uplink leaves routing at once, its tracker pauses without a transition, and if the
//! device comes back exactly as it was within [`RETURN_GRACE`] the uplink is restored with
//! its verdict (no flap counted, no flows flushed, no recovery rounds). Otherwise the loss
//! reaches the health engine as it would have at once.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use super::uplinks::{diff, Change};
use crate::config::{Config, Interface, InterfaceId};
use crate::dataplane::desired::Desired;
use crate::dataplane::vocab::{Link, Links};
use crate::family::Af;
use crate::health::Transition;

/// How long a held uplink may take to come back as it was (netifd's restart of an
/// interface takes milliseconds; its own restart well under a second).
pub const RETURN_GRACE: Duration = Duration::from_secs(3);

/// What the health engine is told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Held: stop probing, keep the verdict, count nothing.
    Pause(InterfaceId),
    /// Back as it was: probe again on the verdict held.
    Resume(InterfaceId),
    Health(InterfaceId, Change),
}

/// Uplinks held out of routing while netifd restarts them: each with its link as it was.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Holds {
    held: BTreeMap<InterfaceId, (Link, Instant)>,
}

/// Whether `new` lost something `old` had: the device, carrier, or an address.
fn lost(old: &Link, new: Option<&Link>) -> bool {
    new.is_none_or(|n| {
        n.ifindex == old.ifindex
            && ((old.carrier && !n.carrier)
                || Af::BOTH
                    .into_iter()
                    .any(|af| old.address[af].is_some() && n.address[af].is_none()))
    })
}

impl Holds {
    pub fn contains(&self, id: InterfaceId) -> bool {
        self.held.contains_key(&id)
    }

    /// When the oldest hold runs out.
    pub fn deadline(&self) -> Option<Instant> {
        self.held.values().map(|(_, t)| *t + RETURN_GRACE).min()
    }

    /// The health steps that take the uplinks from learning `old` to learning `new`.
    /// `netifd(id)`: whether netifd runs the uplink (only those are held: a device netifd
    /// does not run has no administrative restarts).
    pub fn follow(
        &mut self,
        old: &Links,
        new: &Links,
        netifd: impl Fn(InterfaceId) -> bool,
        now: Instant,
    ) -> Vec<Step> {
        let mut steps = Vec::new();
        let mut rest_old = Links::new();
        let mut rest_new = Links::new();
        let ids: BTreeSet<InterfaceId> = old.keys().chain(new.keys()).copied().collect();
        for id in ids {
            let (o, n) = (old.get(&id), new.get(&id));
            if let Some((before, _)) = self.held.get(&id) {
                if n == Some(before) {
                    self.held.remove(&id);
                    steps.push(Step::Resume(id));
                } else if !lost(before, n) {
                    // Back, but not as it was (a new address, a recreated device).
                    let (before, _) = self.held.remove(&id).expect("held");
                    steps.extend(unhold(id, &before, n));
                }
                continue;
            }
            match o {
                Some(o) if netifd(id) && lost(o, n) => {
                    self.held.insert(id, (o.clone(), now));
                    steps.push(Step::Pause(id));
                }
                _ => {
                    rest_old.extend(o.map(|o| (id, o.clone())));
                    rest_new.extend(n.map(|n| (id, n.clone())));
                }
            }
        }
        steps.extend(
            diff(&rest_old, &rest_new)
                .into_iter()
                .map(|(id, c)| Step::Health(id, c)),
        );
        steps
    }

    /// Holds that ran out by `now` (all of them with `all`, as on a reload): the health
    /// steps from the link as it was to `current`.
    pub fn expire(&mut self, current: &Links, now: Instant, all: bool) -> Vec<Step> {
        let due: Vec<InterfaceId> = self
            .held
            .iter()
            .filter(|(_, (_, t))| all || *t + RETURN_GRACE <= now)
            .map(|(id, _)| *id)
            .collect();
        let mut steps = Vec::new();
        for id in due {
            let (before, _) = self.held.remove(&id).expect("held");
            steps.extend(unhold(id, &before, current.get(&id)));
        }
        steps
    }

    /// The links policies and routes may use: the learned ones, minus those held.
    pub fn usable(&self, links: &Links) -> Links {
        links
            .iter()
            .filter(|(id, _)| !self.contains(**id))
            .map(|(id, l)| (*id, l.clone()))
            .collect()
    }
}

/// A held uplink's tracker is paused: tell it what became of its link. A link that is back
/// resumes probing first, then hears what changed (a new address rebinds the probes of the
/// same device without restarting them).
fn unhold(id: InterfaceId, before: &Link, now: Option<&Link>) -> Vec<Step> {
    let old = Links::from([(id, before.clone())]);
    let new: Links = now.map(|l| (id, l.clone())).into_iter().collect();
    let changes = diff(&old, &new).into_iter();
    now.map(|_| Step::Resume(id))
        .into_iter()
        .chain(changes.map(|(id, c)| Step::Health(id, c)))
        .collect()
}

/// What availability depends on, per uplink and family.
pub struct Facts<'a> {
    pub config: &'a Config,
    pub links: &'a Links,
    pub holds: &'a Holds,
    pub maintenance: &'a BTreeSet<String>,
}

/// Whether policies may send new connections of family `af` through an uplink: it
/// carries the family, its tracker for it says usable (`usable`), its device is there
/// (with an IPv6 address for IPv6) and not held, and no admin took it out of service.
pub fn available(f: &Facts, id: InterfaceId, af: Af, usable: bool) -> bool {
    let iface = &f.config.interfaces[id.0];
    let link = f.links.get(&id);
    iface.family.carries(af)
        && usable
        && !f.holds.contains(id)
        && link.is_some_and(|l| af == Af::Inet || l.address[af].is_some())
        && !f.maintenance.contains(&iface.name)
}

/// How the kernel is brought to `want` after a health or maintenance change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Apply {
    /// Only policy routes differ from what was applied.
    Reroute,
    Reconcile,
}

/// Rules or the nft table of either family changed: reconcile.
pub fn how(applied: Option<&Desired>, want: &Desired) -> Apply {
    match applied {
        Some(a) if a.rules == want.rules && a.nft == want.nft => Apply::Reroute,
        _ => Apply::Reconcile,
    }
}

/// Whether a transition of `iface`'s tracker of `af` deletes the uplink's flows: it went
/// out of service, the interface asks for it, and it is the uplink's first tracker (not
/// the IPv6 one of a dual-stack uplink, whose mark its IPv4 flows share).
pub fn flush(t: &Transition, af: Af, iface: &Interface) -> bool {
    t.from.routable() && !t.to.routable() && iface.flush_conntrack && af == iface.family.first()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::family::PerAf;
    use std::net::Ipv4Addr;

    fn link(ifindex: u32, addr: Option<u8>, carrier: bool) -> Link {
        Link {
            device: "eth1".into(),
            ifindex,
            address: PerAf::new(addr.map(|a| Ipv4Addr::new(192, 0, 2, a).into()), None),
            gateway: PerAf::new(Some(Ipv4Addr::new(192, 0, 2, 1).into()), None),
            carrier,
            delegated6: None,
        }
    }

    const WAN: InterfaceId = InterfaceId(0);

    fn one(l: Option<Link>) -> Links {
        l.map(|l| (WAN, l)).into_iter().collect()
    }

    #[test]
    fn a_restart_as_it_was_pauses_and_resumes_without_a_health_change() {
        let t0 = Instant::now();
        let mut h = Holds::default();
        let up = one(Some(link(3, Some(2), true)));
        // netifd removes the address first, then says down, bounces the link, comes back.
        let no_addr = one(Some(link(3, None, true)));
        assert_eq!(h.follow(&up, &no_addr, |_| true, t0), [Step::Pause(WAN)]);
        assert!(h.contains(WAN));
        assert!(h.usable(&no_addr).is_empty());
        assert_eq!(h.follow(&no_addr, &one(None), |_| true, t0), []);
        let dark = one(Some(link(3, None, false)));
        assert_eq!(h.follow(&one(None), &dark, |_| true, t0), []);
        assert_eq!(h.follow(&dark, &up, |_| true, t0), [Step::Resume(WAN)]);
        assert!(!h.contains(WAN));
        assert_eq!(h.deadline(), None);
    }

    #[test]
    fn back_with_a_new_address_or_device_is_a_change_and_never_back_is_a_loss() {
        let t0 = Instant::now();
        let up = one(Some(link(3, Some(2), true)));
        let mut h = Holds::default();
        h.follow(&up, &one(None), |_| true, t0);
        let renewed = one(Some(link(3, Some(9), true)));
        assert_eq!(
            h.follow(&one(None), &renewed, |_| true, t0),
            [
                Step::Resume(WAN),
                Step::Health(WAN, Change::Up(link(3, Some(9), true)))
            ]
        );
        // A recreated device (PPPoE) is not a loss to hold: a new ifindex rebinds at once.
        let recreated = one(Some(link(4, Some(9), true)));
        assert_eq!(
            h.follow(&renewed, &recreated, |_| true, t0),
            [Step::Health(WAN, Change::Up(link(4, Some(9), true)))]
        );
        // Gone for longer than the grace: the loss is delivered then.
        h.follow(&recreated, &one(None), |_| true, t0);
        assert_eq!(h.deadline(), Some(t0 + RETURN_GRACE));
        assert_eq!(h.expire(&one(None), t0 + RETURN_GRACE / 2, false), []);
        assert_eq!(
            h.expire(&one(None), t0 + RETURN_GRACE, false),
            [Step::Health(WAN, Change::Gone(4))]
        );
        // A carrier loss that lasts: the tracker hears of it.
        let mut h = Holds::default();
        let dark = one(Some(link(3, Some(2), false)));
        h.follow(&up, &dark, |_| true, t0);
        assert_eq!(
            h.expire(&dark, t0, true),
            [Step::Resume(WAN), Step::Health(WAN, Change::Carrier(false))]
        );
    }

    #[test]
    fn a_device_from_the_config_is_never_held() {
        let t0 = Instant::now();
        let up = one(Some(link(3, Some(2), true)));
        let mut h = Holds::default();
        assert_eq!(
            h.follow(&up, &one(None), |_| false, t0),
            [Step::Health(WAN, Change::Gone(3))]
        );
        assert!(!h.contains(WAN));
    }

    #[test]
    fn a_held_or_maintained_uplink_is_unavailable_and_ipv6_needs_an_address() {
        let mut c = crate::fixtures::uplinks(&["wan", "wanb"]).build();
        c.interfaces[0].family = crate::family::Family::Both;
        let links: Links = [(WAN, link(3, Some(2), true))].into();
        let mut holds = Holds::default();
        let mut maintenance = BTreeSet::new();
        let check = |holds: &Holds, maintenance: &BTreeSet<String>, af: Af, usable: bool| {
            let f = Facts {
                config: &c,
                links: &links,
                holds,
                maintenance,
            };
            available(&f, WAN, af, usable)
        };
        assert!(check(&holds, &maintenance, Af::Inet, true));
        assert!(
            !check(&holds, &maintenance, Af::Inet, false),
            "tracker says no"
        );
        assert!(
            !check(&holds, &maintenance, Af::Inet6, true),
            "no IPv6 address"
        );
        let f = Facts {
            config: &c,
            links: &links,
            holds: &holds,
            maintenance: &maintenance,
        };
        assert!(!available(&f, InterfaceId(1), Af::Inet, true), "no device");
        holds.follow(&links, &Links::new(), |_| true, Instant::now());
        assert!(!check(&holds, &maintenance, Af::Inet, true), "held");
        let holds = Holds::default();
        maintenance.insert("wan".to_string());
        assert!(!check(&holds, &maintenance, Af::Inet, true), "maintenance");
    }

    #[test]
    fn only_a_change_of_policy_routes_is_a_reroute() {
        let c = crate::fixtures::uplinks(&["wan1", "wan2"])
            .member("wan1", 1, 1)
            .member("wan2", 2, 1)
            .policy(&["m0", "m1"])
            .build();
        let links: Links = [
            (InterfaceId(0), link(3, Some(2), true)),
            (InterfaceId(1), link(4, Some(3), true)),
        ]
        .into();
        let all = crate::policy::resolve(&c, |_| true);
        let second = crate::policy::resolve(&c, |id| id.0 == 1);
        let desired = |links: &Links, r: &crate::policy::Resolution| {
            crate::dataplane::desired::desired(&c, links, &PerAf::splat(r.clone()))
        };
        let (a, b) = (desired(&links, &all), desired(&links, &second));
        assert_eq!(how(None, &a), Apply::Reconcile);
        assert_eq!(how(Some(&a), &b), Apply::Reroute);
        let fewer: Links = [(InterfaceId(1), link(4, Some(3), true))].into();
        let c2 = desired(&fewer, &second);
        assert_eq!(how(Some(&b), &c2), Apply::Reconcile, "a device went");
        // IPv6-only uplinks: IPv4's rules stay as they are when an IPv6 address goes.
        let mut c6 = c.clone();
        for i in &mut c6.interfaces {
            i.family = crate::family::Family::Ipv6;
        }
        let mut with6 = links.clone();
        for (n, l) in with6.values_mut().enumerate() {
            l.address[Af::Inet6] = Some(format!("2001:db8:{n}::2").parse().unwrap());
        }
        let mut without6 = with6.clone();
        without6.get_mut(&InterfaceId(1)).unwrap().address[Af::Inet6] = None;
        let desired6 =
            |l: &Links| crate::dataplane::desired::desired(&c6, l, &PerAf::splat(all.clone()));
        let (a6, b6) = (desired6(&with6), desired6(&without6));
        assert_eq!(a6.rules[Af::Inet], b6.rules[Af::Inet]);
        assert_eq!(how(Some(&a6), &b6), Apply::Reconcile, "an IPv6 source went");
    }

    #[test]
    fn flows_are_flushed_when_the_first_tracker_leaves_service_and_the_config_says_so() {
        use crate::health::State;
        let t = |from, to| Transition {
            interface: "wan".into(),
            from,
            to,
            time: crate::health::time::Time::ZERO,
            reason: String::new(),
            rtt_ms: None,
            loss: 0.0,
        };
        let mut wan = crate::fixtures::uplinks(&["wan"])
            .build()
            .interfaces
            .remove(0);
        wan.family = crate::family::Family::Both;
        assert!(flush(&t(State::Up, State::Down), Af::Inet, &wan));
        assert!(flush(&t(State::Suspect, State::NoDevice), Af::Inet, &wan));
        assert!(
            !flush(&t(State::Up, State::Down), Af::Inet6, &wan),
            "IPv6 tracker"
        );
        assert!(
            !flush(&t(State::Up, State::Suspect), Af::Inet, &wan),
            "still routable"
        );
        assert!(!flush(&t(State::Down, State::Up), Af::Inet, &wan));
        wan.family = crate::family::Family::Ipv6;
        assert!(
            flush(&t(State::Up, State::Down), Af::Inet6, &wan),
            "the only tracker"
        );
        wan.flush_conntrack = false;
        assert!(
            !flush(&t(State::Up, State::Down), Af::Inet6, &wan),
            "not asked"
        );
    }
}
