//! IP families, one vocabulary for every layer: `Af` is one family (of an address, a
//! tracker, a probe socket, a rule or route in the kernel), `Family` the families an
//! uplink carries (its `family` option). Their words are declared here and nowhere else.

use std::fmt;
use std::net::IpAddr;
use std::ops::{Index, IndexMut};

use crate::words::words;

words! {
    /// One IP family.
    pub enum Af {
        Inet = "ipv4",
        Inet6 = "ipv6",
    }
}

impl Af {
    pub const BOTH: [Af; 2] = [Af::Inet, Af::Inet6];

    pub fn of(addr: &IpAddr) -> Af {
        match addr {
            IpAddr::V4(_) => Af::Inet,
            IpAddr::V6(_) => Af::Inet6,
        }
    }

    /// IPv6 for IPv4, IPv4 for IPv6.
    pub fn other(self) -> Af {
        match self {
            Af::Inet => Af::Inet6,
            Af::Inet6 => Af::Inet,
        }
    }

    /// The length of a host prefix: 32, 128.
    pub fn max_len(self) -> u8 {
        match self {
            Af::Inet => 32,
            Af::Inet6 => 128,
        }
    }

    /// Whether `addr` is of this family.
    pub fn holds(self, addr: &IpAddr) -> bool {
        Af::of(addr) == self
    }
}

/// As people write it in a message: `IPv4`, `IPv6`.
impl fmt::Display for Af {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Af::Inet => "IPv4",
            Af::Inet6 => "IPv6",
        })
    }
}

/// One value per IP family, indexed by `Af`: what is kept, learned or computed for each
/// family on its own (an uplink's address, the rules and routes, the policy resolution).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct PerAf<T>([T; 2]);

impl<T> PerAf<T> {
    pub const fn new(inet: T, inet6: T) -> PerAf<T> {
        PerAf([inet, inet6])
    }

    /// The value of each family, from `f`.
    pub fn from_fn(mut f: impl FnMut(Af) -> T) -> PerAf<T> {
        PerAf([f(Af::Inet), f(Af::Inet6)])
    }

    /// Each family with its value, IPv4 first.
    pub fn iter(&self) -> impl Iterator<Item = (Af, &T)> {
        Af::BOTH.into_iter().zip(&self.0)
    }
}

impl<T: Clone> PerAf<T> {
    /// The same value for both families.
    pub fn splat(value: T) -> PerAf<T> {
        PerAf([value.clone(), value])
    }
}

impl<T> Index<Af> for PerAf<T> {
    type Output = T;
    fn index(&self, af: Af) -> &T {
        &self.0[af as usize]
    }
}

impl<T> IndexMut<Af> for PerAf<T> {
    fn index_mut(&mut self, af: Af) -> &mut T {
        &mut self.0[af as usize]
    }
}

words! {
    /// The families an uplink carries; each is probed, judged and routed on its own.
    pub enum Family {
        Ipv4 = "ipv4",
        Ipv6 = "ipv6",
        Both = "both",
    }
}

impl Family {
    pub fn carries(self, af: Af) -> bool {
        matches!(
            (self, af),
            (Family::Both, _) | (Family::Ipv4, Af::Inet) | (Family::Ipv6, Af::Inet6)
        )
    }

    /// Whether `addr` is of a family this uplink carries.
    pub fn holds(self, addr: &IpAddr) -> bool {
        self.carries(Af::of(addr))
    }

    /// The family of the uplink's first tracker: IPv6 for `ipv6`, else IPv4 (`both` adds a
    /// second tracker for IPv6).
    pub fn first(self) -> Af {
        match self {
            Family::Ipv6 => Af::Inet6,
            Family::Ipv4 | Family::Both => Af::Inet,
        }
    }
}

words! {
    /// The families a rule matches (its `family` option): one, or any.
    pub enum RuleFamily {
        Ipv4 = "ipv4",
        Ipv6 = "ipv6",
        Any = "any",
    }
}

impl RuleFamily {
    /// The rule's family as the model holds it (`None`: any).
    pub fn of(af: Option<Af>) -> RuleFamily {
        match af {
            Some(Af::Inet) => RuleFamily::Ipv4,
            Some(Af::Inet6) => RuleFamily::Ipv6,
            None => RuleFamily::Any,
        }
    }

    /// The one family matched; `None` for any.
    pub fn af(self) -> Option<Af> {
        match self {
            RuleFamily::Ipv4 => Some(Af::Inet),
            RuleFamily::Ipv6 => Some(Af::Inet6),
            RuleFamily::Any => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_convert_both_ways() {
        for f in [Family::Ipv4, Family::Ipv6, Family::Both] {
            assert_eq!(Family::from_word(f.word()), Some(f));
        }
        assert_eq!(Family::WORDS, ["ipv4", "ipv6", "both"]);
        assert_eq!(Af::from_word("any"), None);
        assert_eq!(Af::Inet6.word(), "ipv6");
        assert_eq!(RuleFamily::from_word("any").map(RuleFamily::af), Some(None));
        for f in [RuleFamily::Ipv4, RuleFamily::Ipv6, RuleFamily::Any] {
            assert_eq!(RuleFamily::of(f.af()), f);
        }
    }

    #[test]
    fn per_family_values_are_indexed_by_family() {
        let mut p = PerAf::from_fn(|af| af.max_len());
        assert_eq!((p[Af::Inet], p[Af::Inet6]), (32, 128));
        p[Af::Inet6] = 64;
        let seen: Vec<(Af, u8)> = p.iter().map(|(af, v)| (af, *v)).collect();
        assert_eq!(seen, [(Af::Inet, 32), (Af::Inet6, 64)]);
        assert_eq!(PerAf::splat(1)[Af::Inet6], 1);
    }

    #[test]
    fn an_uplink_carries_its_families_and_judges_its_first() {
        let v6: IpAddr = "2001:db8::1".parse().unwrap();
        assert!(Family::Both.carries(Af::Inet6) && !Family::Ipv4.carries(Af::Inet6));
        assert!(Family::Ipv6.holds(&v6) && !Af::Inet.holds(&v6));
        assert_eq!(Family::Ipv6.first(), Af::Inet6);
        assert_eq!(Family::Both.first(), Af::Inet);
    }
}
