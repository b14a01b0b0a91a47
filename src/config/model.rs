//! The typed configuration: what rail runs on once a UCI file has been checked.
//!
//! Built only by `config::load` (which validates everything), so a value of these types is
//! always consistent: references are indices that exist, ranges hold, every interface has a
//! distinct mark. Names follow mwan3's vocabulary so an mwan3 user feels at home.

use std::net::IpAddr;
use std::time::Duration;

use crate::family::{Af, Family};
use crate::words::words;

/// The fwmark bits rail owns; never empty, always a contiguous run of bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MarkMask(u32);

impl MarkMask {
    /// Default: clear of mwan3 (0x3F00), pbr (0x00ff0000) and trafficshaper (0xFF).
    pub const DEFAULT: MarkMask = MarkMask(0x3F00_0000);

    /// A mask is usable when it is a non-empty contiguous run of bits.
    pub fn new(bits: u32) -> Option<MarkMask> {
        if bits == 0 {
            return None;
        }
        let shifted = bits >> bits.trailing_zeros();
        // wrapping: the all-ones mask 0xFFFFFFFF is a valid (if unwise) run of bits.
        (shifted & shifted.wrapping_add(1) == 0).then_some(MarkMask(bits))
    }
    pub fn bits(self) -> u32 {
        self.0
    }
    /// How many distinct non-zero marks fit in the mask.
    pub fn capacity(self) -> u32 {
        (self.0 >> self.0.trailing_zeros()).min(u32::MAX - 1)
    }
    /// The mark for value `n` (1-based) inside the mask, if it fits.
    pub fn mark(self, n: u32) -> Option<Mark> {
        (n >= 1 && n <= self.capacity()).then(|| Mark(n << self.0.trailing_zeros()))
    }
}

/// A packet / conntrack mark value that lies inside rail's mask.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Mark(u32);

impl Mark {
    pub fn value(self) -> u32 {
        self.0
    }
}

/// Index of an interface in `Config::interfaces`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InterfaceId(pub usize);
/// Index of a member in `Config::members`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MemberId(pub usize);
/// Index of a policy in `Config::policies`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PolicyId(pub usize);

#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub globals: Globals,
    pub interfaces: Vec<Interface>,
    pub members: Vec<Member>,
    pub policies: Vec<Policy>,
    pub rules: Vec<Rule>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Globals {
    pub enabled: bool,
    pub mark_mask: MarkMask,
    /// Executables run on every uplink state change (argv[0] only, no shell).
    pub hooks: Vec<String>,
    /// Kill a hook still running after this long.
    pub hook_timeout: Duration,
    pub log_level: log::LevelFilter,
}

words! {
    pub enum TrackMethod {
        /// ICMP echo from a raw socket bound to the uplink.
        Ping = "ping",
        /// ARP request to the gateway (Ethernet uplinks only).
        Arping = "arping",
        /// TCP connect to `track_ip`:`track_port`.
        Tcp = "tcp",
        /// A DNS query to `track_ip` as resolver.
        Dns = "dns",
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Interface {
    /// The netifd interface name (the UCI section name), e.g. `wan`.
    pub name: String,
    pub enabled: bool,
    /// The L3 device, when not learned from netifd (e.g. `eth1`, `pppoe-wan`).
    pub device: Option<String>,
    /// The next hop, when not learned (peer of a point-to-point link, or main's default route).
    pub gateway: Option<IpAddr>,
    pub family: Family,
    /// This uplink's mark (derived from its position; unique).
    pub mark: Mark,
    pub track_method: TrackMethod,
    /// Probe targets. Empty: the uplink is judged by carrier alone.
    pub track_ip: Vec<IpAddr>,
    /// TCP port for `track_method tcp`.
    pub track_port: u16,
    /// Query name for `track_method dns`.
    pub track_dns_name: String,
    /// How many targets must answer for a round to count as good.
    pub reliability: u32,
    /// Probes per target per round.
    pub count: u32,
    /// How long to wait for a reply.
    pub timeout: Duration,
    /// Round period while up and healthy.
    pub interval: Duration,
    /// Round period while suspect (up, but failing).
    pub failure_interval: Duration,
    /// Round period while down or recovering.
    pub recovery_interval: Duration,
    /// Failed rounds in a row that take the uplink down.
    pub down: u32,
    /// Good rounds in a row that bring it back.
    pub up: u32,
    /// Ignore probe results for this long after ifup / device recreation.
    pub hold: Duration,
    pub initial_state: InitialState,
    pub quality: Option<Quality>,
    pub ttl: u8,
    /// ICMP payload size in bytes.
    pub size: u16,
    /// Delete this uplink's conntrack flows when it goes down.
    pub flush_conntrack: bool,
    /// Masquerade traffic leaving this uplink (fw4 does it on OpenWrt); IPv4 only when
    /// `npt` translates this uplink's IPv6.
    pub masquerade: bool,
    /// Watch the LAN's new TCP connections through this uplink: unanswered ones to several
    /// destinations trigger an immediate confirming probe round (`health::passive`).
    pub passive: bool,
    /// NPTv6: the LAN prefix translated into this uplink's prefix.
    pub npt: Option<Npt>,
    /// The prefix delegated to this uplink, when the config gives it (else netifd's).
    pub ip6prefix: Option<Prefix>,
    /// Egress shaping of the uplink's device to this rate (`shaping`); `None`: unshaped.
    pub rate: Option<Rate>,
}

/// NPTv6 (prefix translation) on one uplink: IPv6 sources in `internal` leave with the
/// same host bits in the external prefix, and new connections to it come in to
/// `internal`. The external prefix is configured, or (`None`) the first of the internal
/// one's length inside the prefix the provider delegates at the time. IPv6 prefixes of one
/// length, host bits clear (only `Npt::new` builds one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Npt {
    internal: IpAddr,
    external: Option<IpAddr>,
    len: u8,
}

impl Npt {
    /// `None` unless all are IPv6 prefixes of the same length.
    pub fn new(internal: Prefix, external: Option<Prefix>) -> Option<Npt> {
        let (i, len) = (internal.addr, internal.len);
        if !i.is_ipv6() {
            return None;
        }
        let external = match external {
            None => None,
            Some(Prefix { addr: e, len: l }) if e.is_ipv6() && l == len => {
                Some(clear_host_bits(e, len))
            }
            Some(_) => return None,
        };
        (len <= 128).then(|| Npt {
            internal: clear_host_bits(i, len),
            external,
            len,
        })
    }

    pub fn internal(&self) -> Prefix {
        self.prefix(self.internal)
    }

    /// The prefix `internal` becomes: the configured one, else the first of its length in
    /// `delegated` (none while nothing is delegated, or when that is longer than `internal`).
    pub fn external(&self, delegated: Option<Prefix>) -> Option<Prefix> {
        let addr = match (self.external, delegated) {
            (Some(e), _) => e,
            (None, Some(Prefix { addr: d, len })) if d.is_ipv6() && len <= self.len => {
                clear_host_bits(d, len)
            }
            _ => return None,
        };
        Some(self.prefix(addr))
    }

    fn prefix(&self, addr: IpAddr) -> Prefix {
        Prefix {
            addr,
            len: self.len,
        }
    }
}

/// `addr` with its host bits, those past `len`, cleared.
pub fn clear_host_bits(addr: IpAddr, len: u8) -> IpAddr {
    let host_bits = u32::from(Af::of(&addr).max_len().saturating_sub(len));
    let host_mask = u128::MAX.checked_shr(128 - host_bits).unwrap_or(0);
    match addr {
        IpAddr::V4(a) => IpAddr::V4((u32::from(a) & !(host_mask as u32)).into()),
        IpAddr::V6(a) => IpAddr::V6((u128::from(a) & !host_mask).into()),
    }
}

impl Prefix {
    /// The prefix with its host bits cleared (`2001:db8::1/64` is `2001:db8::/64`).
    pub fn network(self) -> Prefix {
        Prefix {
            addr: clear_host_bits(self.addr, self.len),
            len: self.len,
        }
    }

    /// Whether `a` lies inside this prefix (of the same family).
    pub fn contains(&self, a: IpAddr) -> bool {
        Af::of(&a) == Af::of(&self.addr)
            && clear_host_bits(a, self.len) == clear_host_bits(self.addr, self.len)
    }
}

impl std::fmt::Display for Prefix {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}

/// A link rate in kbit/s (1000 bit/s, as tc counts), never zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Rate(u32);

impl Rate {
    pub fn from_kbit(kbit: u32) -> Option<Rate> {
        (kbit > 0).then_some(Rate(kbit))
    }
    pub fn kbit(self) -> u32 {
        self.0
    }
    pub fn bytes_per_second(self) -> u64 {
        u64::from(self.0) * 1000 / 8
    }
}

impl std::fmt::Display for Rate {
    /// `20mbit`, `512kbit`, `1gbit`: the largest unit that keeps it whole.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            k if k % 1_000_000 == 0 => write!(f, "{}gbit", k / 1_000_000),
            k if k % 1000 == 0 => write!(f, "{}mbit", k / 1000),
            k => write!(f, "{k}kbit"),
        }
    }
}

words! {
    pub enum InitialState {
        Online = "online",
        Offline = "offline",
    }
}

/// check_quality limits; separate failure and recovery thresholds give hysteresis.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Quality {
    pub failure_latency: Duration,
    pub recovery_latency: Duration,
    /// Percent, 0..=100.
    pub failure_loss: u8,
    pub recovery_loss: u8,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    pub name: String,
    pub interface: InterfaceId,
    /// 1..=256; lower is preferred.
    pub metric: u16,
    /// 1..=1000; share within a metric tier.
    pub weight: u16,
}

words! {
    /// Where a policy sends traffic when none of its members is up; a rule names the same
    /// three as targets (`Target::special`).
    pub enum LastResort {
        Unreachable = "unreachable",
        Blackhole = "blackhole",
        /// Fall through to main's default route.
        Default = "default",
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    pub name: String,
    pub members: Vec<MemberId>,
    pub last_resort: LastResort,
}

/// What a rule sends its traffic to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Policy(PolicyId),
    /// Leave it to main's routes (mwan3's `default`).
    Default,
    Unreachable,
    Blackhole,
}

impl Target {
    /// The target a word names instead of a policy: mwan3's `default`, `unreachable` and
    /// `blackhole`, the words of the last resorts.
    pub fn special(word: &str) -> Option<Target> {
        LastResort::from_word(word).map(|lr| match lr {
            LastResort::Unreachable => Target::Unreachable,
            LastResort::Blackhole => Target::Blackhole,
            LastResort::Default => Target::Default,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proto {
    All,
    Tcp,
    Udp,
    Icmp,
    Number(u8),
}

/// One address match: a host or a CIDR prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Prefix {
    pub addr: IpAddr,
    pub len: u8,
}

/// An inclusive port range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortRange {
    pub first: u16,
    pub last: u16,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub name: String,
    pub src_ip: Vec<Prefix>,
    pub dest_ip: Vec<Prefix>,
    pub src_port: Vec<PortRange>,
    pub dest_port: Vec<PortRange>,
    pub proto: Proto,
    /// Incoming LAN device (nft `iifname`).
    pub src_dev: Vec<String>,
    /// A named nft set of destination addresses in rail's table (filled by e.g. dnsmasq);
    /// see `ipset_for` for the set each family uses.
    pub ipset: Option<String>,
    /// `None` matches both families.
    pub family: Option<Af>,
    /// Keep a source address on the uplink it last used, for `sticky_timeout`.
    pub sticky: bool,
    pub sticky_timeout: Duration,
    pub target: Target,
}

impl Rule {
    /// The nft set holding this rule's destinations of one family. `ipset` names the set
    /// of the rule's own family; a rule for both families uses `<ipset>` for IPv4 and
    /// `<ipset>6` for IPv6, as OpenWrt names `wan` and `wan6`.
    pub fn ipset_for(&self, af: Af) -> Option<String> {
        let name = self.ipset.as_deref()?;
        match (self.family, af) {
            (Some(own), _) if own != af => None,
            (None, Af::Inet6) => Some(format!("{name}6")),
            _ => Some(name.to_string()),
        }
    }
}
