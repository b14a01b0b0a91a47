//! The one description of every section and option: name, type, range, default and meaning.
//! Reading a section, "did you mean", and the reference tables in docs/config.md all come
//! from these tables, so they cannot drift apart.

use super::model::{InitialState, LastResort, PortRange, Prefix, Proto, TrackMethod};
use super::value::{self, format_duration};
use crate::family::{Family, RuleFamily};
use std::net::IpAddr;
use std::time::Duration;

/// What an option's text may be, and the value it becomes.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    Bool,
    Int {
        min: u64,
        max: u64,
    },
    /// A fwmark mask: a contiguous run of bits, hex or decimal.
    Mask,
    Duration {
        min: Duration,
        max: Duration,
    },
    Addr,
    Prefix,
    /// One IPv6 prefix (NPTv6's).
    Prefix6,
    Ports,
    Proto,
    /// One of these words (the builder maps them to the model's enum).
    Choice(&'static [&'static str]),
    /// mwan3's flush_conntrack: a boolean, or its event words.
    FlushConntrack,
    Device,
    /// A section name (a reference) or an nft set name.
    Name,
    Path,
    DnsName,
    /// A link rate in kbit/s (`20mbit`), as `Val::Int` kbit.
    Rate {
        min: u32,
        max: u32,
    },
}

/// `Val`, and each of its variants as the type it holds (`TryFrom<Val>`), so the typed
/// options (`options`) pick the variant their option's kind gives.
macro_rules! values {
    ($($variant:ident($ty:ty)),+ $(,)?) => {
        /// A parsed option value.
        #[derive(Debug, Clone, PartialEq)]
        pub enum Val {
            $($variant($ty),)+
        }

        $(impl TryFrom<Val> for $ty {
            type Error = ();
            fn try_from(v: Val) -> Result<$ty, ()> {
                match v {
                    Val::$variant(x) => Ok(x),
                    _ => Err(()),
                }
            }
        })+
    };
}

values!(
    Bool(bool),
    Int(u64),
    Dur(Duration),
    Addr(IpAddr),
    Prefix(Prefix),
    Ports(PortRange),
    Proto(Proto),
    Text(String),
);

/// `option` only, `list` only, or either (a single value may then hold several, comma
/// separated, as mwan3 writes ports and addresses).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    One,
    List,
    Many,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Default {
    /// The text a user would write; parsed by the same code as the file.
    Value(&'static str),
    /// Absent means "none" (learned, or an empty list).
    Nothing,
    /// Computed from other options; the text says how.
    Derived(&'static str),
    /// Must be given.
    Required,
}

#[derive(Debug)]
pub struct OptSpec {
    pub name: &'static str,
    /// Other spellings accepted (mwan3's), reported under the canonical name.
    pub aliases: &'static [&'static str],
    pub kind: Kind,
    pub shape: Shape,
    pub default: Default,
    pub doc: &'static str,
}

#[derive(Debug)]
pub struct SectionSpec {
    pub stype: &'static str,
    /// Other sections refer to it by name, so it must have one.
    pub named: bool,
    /// At most one section of this type.
    pub single: bool,
    pub doc: &'static str,
    pub options: &'static [OptSpec],
}

const fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

const BOOL_WORDS: &str = "1/0, yes/no, on/off, true/false, enabled/disabled";
const LOG_LEVELS: &[&str] = &[
    "off", "error", "warn", "info", "debug", "trace", "emerg", "alert", "crit", "err", "warning",
    "notice",
];
const FLUSH_WORDS: &[&str] = &["ifdown", "disconnected", "ifup", "connected"];

impl Kind {
    /// Short type name for the reference tables.
    pub fn type_name(&self) -> &'static str {
        match self {
            Kind::Bool | Kind::FlushConntrack => "boolean",
            Kind::Int { .. } => "integer",
            Kind::Mask => "mask",
            Kind::Duration { .. } => "duration",
            Kind::Addr => "address",
            Kind::Prefix | Kind::Prefix6 => "prefix",
            Kind::Ports => "ports",
            Kind::Proto => "protocol",
            Kind::Choice(_) => "choice",
            Kind::Device => "device",
            Kind::Name => "name",
            Kind::Path => "path",
            Kind::DnsName => "DNS name",
            Kind::Rate { .. } => "rate",
        }
    }

    /// What may be written, for error messages and the reference tables.
    pub fn allowed(&self) -> String {
        match self {
            Kind::Bool => BOOL_WORDS.to_string(),
            Kind::FlushConntrack => format!(
                "{BOOL_WORDS}; or mwan3's words {}: true if it names ifdown or disconnected",
                FLUSH_WORDS.join(", ")
            ),
            Kind::Int { min, max } => format!("{min}..{max}"),
            Kind::Mask => "a contiguous run of bits, e.g. 0x3F000000".into(),
            Kind::Duration { min, max } => {
                format!("{}..{}", format_duration(*min), format_duration(*max))
            }
            Kind::Addr => "an IPv4 or IPv6 address".into(),
            Kind::Prefix => "an address or CIDR prefix, e.g. 192.168.1.0/24".into(),
            Kind::Prefix6 => "an IPv6 CIDR prefix, e.g. fd00:1::/64".into(),
            Kind::Ports => "a port 1..65535 or range '1000-2000'".into(),
            Kind::Proto => {
                "all, tcp, udp, icmp, icmpv6, gre, esp, ah, sctp, udplite or a number 0..255".into()
            }
            Kind::Choice(words) => words.join(", "),
            Kind::Device => "a network device name, 1..15 characters".into(),
            Kind::Name => "letters, digits and _".into(),
            Kind::Path => "an absolute path to an executable".into(),
            Kind::DnsName => "a DNS name, or '.' for the root".into(),
            Kind::Rate { min, max } => format!(
                "{}..{}, e.g. 20mbit or 512kbit",
                super::model::Rate::from_kbit(*min).map_or_else(String::new, |r| r.to_string()),
                super::model::Rate::from_kbit(*max).map_or_else(String::new, |r| r.to_string())
            ),
        }
    }

    /// Comma-separated items in one value (mwan3's `option dest_port '80,443'`).
    fn splits_commas(&self) -> bool {
        matches!(self, Kind::Ports | Kind::Prefix | Kind::Addr | Kind::Device)
    }

    /// Whether a list may not hold the same value twice (flush_conntrack's words may
    /// repeat a meaning: `ifup` and `connected` both say "keep").
    pub fn unique_items(&self) -> bool {
        !matches!(self, Kind::FlushConntrack)
    }

    /// Parse one item; the error says what is wrong and what is allowed.
    pub fn parse(&self, text: &str) -> Result<Val, String> {
        self.parse_item(text)
            .map_err(|wrong| format!("{wrong}; allowed: {}", self.allowed()))
    }

    fn parse_item(&self, text: &str) -> Result<Val, String> {
        Ok(match *self {
            Kind::Bool => Val::Bool(value::parse_bool(text)?),
            Kind::FlushConntrack => Val::Bool(match text {
                "ifdown" | "disconnected" => true,
                "ifup" | "connected" => false,
                _ => value::parse_bool(text)?,
            }),
            Kind::Int { min, max } => {
                let n = value::parse_uint(text, false)?;
                if n < min || n > max {
                    return Err(format!("{n} is out of range"));
                }
                Val::Int(n)
            }
            Kind::Mask => {
                let n = value::parse_uint(text, true)?;
                let bits =
                    u32::try_from(n).map_err(|_| format!("'{text}' is wider than 32 bits"))?;
                super::model::MarkMask::new(bits)
                    .ok_or_else(|| format!("'{text}' is not a contiguous run of bits"))?;
                Val::Int(n)
            }
            Kind::Duration { min, max } => {
                let d = value::parse_duration(text).map_err(|e| {
                    format!("{e} (write seconds as '1' or '0.2', or '200ms', '1.5s', '2m')")
                })?;
                if d < min || d > max {
                    let mut wrong = format!("{} is out of range", format_duration(d));
                    // mwan3 writes latencies in plain milliseconds; rail's plain numbers are seconds.
                    let as_ms = value::parse_uint(text, false).map(ms);
                    if d > max && as_ms.is_ok_and(|m| m >= min && m <= max) {
                        wrong += &format!(
                            " (plain numbers are seconds: write '{text}ms' for milliseconds)"
                        );
                    }
                    return Err(wrong);
                }
                Val::Dur(d)
            }
            Kind::Addr => Val::Addr(value::parse_addr(text)?),
            Kind::Prefix => Val::Prefix(value::parse_prefix(text)?),
            Kind::Prefix6 => match value::parse_prefix(text)? {
                p if p.addr.is_ipv4() => {
                    return Err(format!("{p} is IPv4; NPTv6 translates IPv6 prefixes"))
                }
                p => Val::Prefix(p),
            },
            Kind::Ports => Val::Ports(value::parse_port_range(text)?),
            Kind::Proto => Val::Proto(value::parse_proto(text)?),
            Kind::Choice(words) => match words.iter().find(|w| **w == text) {
                Some(w) => Val::Text(w.to_string()),
                None => {
                    return Err(format!(
                        "'{text}' is not a choice{}",
                        super::suggest::hint(text, words.iter().copied())
                    ))
                }
            },
            Kind::Device => Val::Text(value::parse_device(text)?),
            Kind::Name => Val::Text(value::parse_name(text)?),
            Kind::Path => Val::Text(value::parse_path(text)?),
            Kind::DnsName => Val::Text(value::parse_dns_name(text)?),
            Kind::Rate { min, max } => {
                Val::Int(u64::from(value::parse_rate(text, min, max)?.kbit()))
            }
        })
    }

    /// Split one written value into the items it holds.
    pub fn items<'t>(&self, text: &'t str) -> Vec<&'t str> {
        if self.splits_commas() {
            text.split(',').map(str::trim).collect()
        } else {
            vec![text]
        }
    }
}

impl OptSpec {
    /// Every spelling this option answers to, canonical first.
    pub fn spellings(&self) -> impl Iterator<Item = &'static str> {
        std::iter::once(self.name).chain(self.aliases.iter().copied())
    }
}

impl SectionSpec {
    pub fn option(&self, name: &str) -> Option<&'static OptSpec> {
        let all: &'static [OptSpec] = self.options;
        all.iter().find(|o| o.spellings().any(|s| s == name))
    }
}

pub fn section(stype: &str) -> Option<&'static SectionSpec> {
    SECTIONS.iter().find(|s| s.stype == stype)
}

const fn opt(name: &'static str, kind: Kind, default: Default, doc: &'static str) -> OptSpec {
    OptSpec {
        name,
        aliases: &[],
        kind,
        shape: Shape::One,
        default,
        doc,
    }
}

const fn many(name: &'static str, kind: Kind, doc: &'static str) -> OptSpec {
    OptSpec {
        shape: Shape::Many,
        ..opt(name, kind, Default::Nothing, doc)
    }
}

const PROBE_TIME: Kind = Kind::Duration {
    min: ms(10),
    max: ms(3_600_000),
};
const LATENCY: Kind = Kind::Duration {
    min: ms(1),
    max: ms(30_000),
};
const PERCENT: Kind = Kind::Int { min: 0, max: 100 };
const ROUNDS: Kind = Kind::Int { min: 1, max: 100 };

pub static SECTIONS: &[SectionSpec] = &[
    SectionSpec {
        stype: "globals",
        named: false,
        single: true,
        doc: "Settings for the whole daemon. At most one section, which may be anonymous; every option is optional.",
        options: &[
            opt("enabled", Kind::Bool, Default::Value("1"), "0 keeps rail from touching routing at all."),
            OptSpec {
                aliases: &["mmx_mask"],
                ..opt("mark_mask", Kind::Mask, Default::Value("0x3F000000"),
                    "The fwmark bits rail owns. Each interface (disabled ones included) holds one mark inside the mask, n for the nth on a fresh start; the daemon keeps each interface's mark across reloads and restarts (/var/run/rail/state.json), so an interface added later takes a free one. The mask must hold as many values as there are interfaces. The default is clear of mwan3 (0x3F00), pbr (0x00ff0000) and trafficshaper (0xFF).")
            },
            many("hook", Kind::Path, "Executables run as root (without a shell) on every uplink state change, with INTERFACE, FAMILY (ipv4 or ipv6: which family's state changed), DEVICE, STATE, PREVIOUS, REASON, RTT and LOSS in the environment. Run only when the file and every directory above it are root's and writable by no one else; whoever may write rail's configuration can therefore run any such program as root (docs/security.md)."),
            opt("hook_timeout", Kind::Duration { min: ms(100), max: ms(600_000) }, Default::Value("10s"),
                "A hook still running after this long is killed."),
            OptSpec {
                aliases: &["loglevel"],
                ..opt("log_level", Kind::Choice(LOG_LEVELS), Default::Value("info"),
                    "Least severe message logged; syslog's names (mwan3's loglevel) are accepted too.")
            },
        ],
    },
    SectionSpec {
        stype: "interface",
        named: true,
        single: false,
        doc: "One uplink. The section name is the netifd interface name (`wan`, `wanb`); rail learns its device, addresses and gateway from netifd unless given here.",
        options: &[
            opt("enabled", Kind::Bool, Default::Value("1"), "0 keeps the interface in the file (and its mark) but never uses or probes it."),
            opt("device", Kind::Device, Default::Nothing, "The L3 device (`eth1`, `pppoe-wan`); learned from netifd when absent."),
            opt("gateway", Kind::Addr, Default::Nothing, "The next hop; learned (point-to-point peer, or main's default route on the device) when absent. Must be of a family the interface carries. For `family both` it names one family's next hop; the other is learned (IPv6: the next hop of netifd's dynamic `<name>_6` interface, else main's IPv6 default route on the device, often link-local, else the device alone)."),
            opt("family", Kind::Choice(Family::WORDS), Default::Value(Family::Ipv4.word()), "Address families this uplink carries; each is probed (with the track_ip of its family) and judged on its own, so `both` can be up for IPv4 and down for IPv6. IPv6 needs a global address on the device."),
            opt("track_method", Kind::Choice(TrackMethod::WORDS), Default::Value(TrackMethod::Ping.word()),
                "How to probe: ICMP echo, ARP to the gateway (IPv4 Ethernet only), TCP connect to track_ip:track_port, or a DNS query to track_ip."),
            OptSpec {
                shape: Shape::List,
                ..opt("track_ip", Kind::Addr, Default::Nothing,
                    "Probe targets, one `list` line each, no duplicates, of the interface's families. Use hosts beyond your provider: the first hop may answer while forwarding nothing. None: judged by carrier alone.")
            },
            opt("track_port", Kind::Int { min: 1, max: 65535 }, Default::Value("443"), "TCP port for track_method tcp."),
            opt("track_dns_name", Kind::DnsName, Default::Value("."), "Name queried for track_method dns."),
            opt("reliability", Kind::Int { min: 1, max: 64 }, Default::Value("1"), "Targets that must answer for a round to count as good; at most the number of track_ip."),
            opt("count", Kind::Int { min: 1, max: 10 }, Default::Value("1"), "Probes per target per round; a target answers when any of them is answered."),
            opt("timeout", PROBE_TIME, Default::Derived("half of interval, at most 1s"),
                "How long to wait for a reply. Not longer than any of interval, failure_interval or recovery_interval."),
            opt("interval", PROBE_TIME, Default::Value("1s"), "Round period while the uplink is up and healthy."),
            opt("failure_interval", PROBE_TIME, Default::Derived("half of interval, at least timeout"), "Round period once a round has failed (suspect), until up again or down."),
            opt("recovery_interval", PROBE_TIME, Default::Derived("interval, at least timeout"), "Round period while down or recovering."),
            opt("down", ROUNDS, Default::Value("3"), "Failed rounds in a row that take the uplink down."),
            opt("up", ROUNDS, Default::Value("5"), "Good rounds in a row that bring it back up."),
            opt("hold", Kind::Duration { min: ms(0), max: ms(600_000) }, Default::Value("2s"), "After ifup or a recreated device, probe results are ignored this long (a PPPoE session needs a moment before it forwards)."),
            opt("initial_state", Kind::Choice(InitialState::WORDS), Default::Value(InitialState::Online.word()), "State assumed at start, before the first rounds: online uses the uplink at once."),
            opt("check_quality", Kind::Bool, Default::Value("0"), "1 also judges rounds by latency and loss, with the four limits below."),
            opt("failure_latency", LATENCY, Default::Value("300ms"), "Mean RTT above this fails a round (check_quality 1). Less than timeout."),
            opt("recovery_latency", LATENCY, Default::Value("150ms"), "Mean RTT must be at most this for a good round while recovering. Not above failure_latency."),
            opt("failure_loss", PERCENT, Default::Value("20"), "Loss in percent over the window above which a round fails (check_quality 1)."),
            opt("recovery_loss", PERCENT, Default::Value("5"), "Loss must be at most this for a good round while recovering. Not above failure_loss."),
            OptSpec {
                aliases: &["max_ttl"],
                ..opt("ttl", Kind::Int { min: 1, max: 255 }, Default::Value("64"), "TTL / hop limit of probes.")
            },
            opt("size", Kind::Int { min: 0, max: 1472 }, Default::Value("56"), "ICMP payload bytes (1472 fills a 1500-byte IPv4 packet)."),
            OptSpec {
                shape: Shape::Many,
                ..opt("flush_conntrack", Kind::FlushConntrack, Default::Value("1"),
                    "Delete this uplink's conntrack flows (by its mark, never others') when it goes down, so they re-establish on another uplink.")
            },
            opt("masquerade", Kind::Bool, Default::Value("0"), "Masquerade traffic leaving this uplink, in every family it carries (IPv6 too: a LAN prefix this provider does not route, e.g. another provider's or a ULA; but not IPv6 with npt_internal, which translates it instead). fw4 already does IPv4 on OpenWrt's wan zone."),
            opt("passive", Kind::Bool, Default::Value("0"), "1 also watches the new TCP connections leaving by this uplink (nft counters in rail's table, read every 100 ms): when those to several destinations go unanswered while answers were normal, an immediate confirming probe round runs, and only its failure takes the uplink down (well under a second with the default timings instead of about 2 s). Off by default: it adds a rule walk per forwarded packet and extra probe rounds, and an uplink with no LAN traffic gains nothing (docs/health.md, Passive evidence)."),
            opt("ip6prefix", Kind::Prefix6, Default::Derived("learned from netifd's delegated prefix"), "The IPv6 prefix the provider delegates to this uplink (DHCPv6-PD), when netifd does not report it (it does for DHCPv6, in the status of the interface or of its DHCPv6 twin `wan_6`). An uplink without a global IPv6 address of its own (PD-only, common on PPPoE) is probed and routed from an address of this prefix on the router (one netifd assigns to a LAN, or with NPTv6 one of npt_internal), and IPv6 from this prefix leaves only through this uplink, since providers drop sources they did not delegate. Needs family ipv6 or both."),
            opt("npt_internal", Kind::Prefix6, Default::Nothing, "NPTv6: the LAN's IPv6 prefix (e.g. a ULA /64), translated into the external prefix for traffic leaving this uplink (its host bits kept) and back for new connections coming in to it. Needs family ipv6 or both; `masquerade` then covers IPv4 only."),
            opt("npt_external", Kind::Prefix6, Default::Derived("learned from netifd's delegated prefix"), "NPTv6: this uplink's prefix (one the provider routes to it), of npt_internal's length, that npt_internal becomes on the way out. Absent: the first prefix of that length in the one netifd delegates to this interface (or to its DHCPv6 twin, `wan_6` for a PPPoE `wan`), followed when it changes."),
            opt("rate", Kind::Rate { min: 8, max: 100_000_000 }, Default::Nothing,
                "Shape traffic leaving this uplink to this rate (a TBF queueing discipline on its device, put back on every ifup and new device, removed when rail stops). Never replaces a queueing discipline rail did not install, such as SQM's."),
        ],
    },
    SectionSpec {
        stype: "member",
        named: true,
        single: false,
        doc: "An interface with a metric and a weight, for use in policies.",
        options: &[
            opt("interface", Kind::Name, Default::Required, "The interface section this member uses."),
            opt("metric", Kind::Int { min: 1, max: 256 }, Default::Value("1"), "Priority tier: in a policy, the lowest metric with an up member carries the traffic."),
            opt("weight", Kind::Int { min: 1, max: 1000 }, Default::Value("1"), "Share of new connections within a tier, relative to the other members' weights."),
        ],
    },
    SectionSpec {
        stype: "policy",
        named: true,
        single: false,
        doc: "A set of members. New connections go to the members of the best tier (the lowest metric with an up member), shared by weight; when no member is up, `last_resort` applies.",
        options: &[
            OptSpec {
                shape: Shape::List,
                ..opt("use_member", Kind::Name, Default::Nothing,
                    "Members, one `list` line each; each at most once and each on its own interface.")
            },
            opt("last_resort", Kind::Choice(LastResort::WORDS), Default::Value(LastResort::Unreachable.word()),
                "When no member is up: reject (unreachable), drop silently (blackhole), or use main's default route (default)."),
        ],
    },
    SectionSpec {
        stype: "rule",
        named: false,
        single: false,
        doc: "Which traffic uses which policy. Rules are tried on new connections in file order and the first match wins; established connections stay on their uplink. Every match option given must match; a rule with none matches everything. May be anonymous.",
        options: &[
            many("src_ip", Kind::Prefix, "Source addresses or prefixes (list, or comma separated)."),
            many("dest_ip", Kind::Prefix, "Destination addresses or prefixes."),
            many("src_port", Kind::Ports, "Source ports or ranges ('80', '1000-2000', '80,443'); needs proto tcp or udp."),
            many("dest_port", Kind::Ports, "Destination ports or ranges; needs proto tcp or udp."),
            opt("proto", Kind::Proto, Default::Value("all"), "Protocol to match."),
            many("src_dev", Kind::Device, "Incoming (LAN) devices, e.g. br-lan."),
            opt("ipset", Kind::Name, Default::Nothing, "Name of an nft set of destination addresses in rail's table (filled by e.g. dnsmasq's `nftset=`). A set holds one family: a rule for both matches IPv4 in `<name>` and IPv6 in `<name>6` (as `wan` and `wan6`); a rule with `family ipv6` matches IPv6 in `<name>` itself."),
            opt("family", Kind::Choice(RuleFamily::WORDS), Default::Value(RuleFamily::Any.word()), "Address family to match; addresses given must be of it."),
            opt("sticky", Kind::Bool, Default::Value("0"), "Keep each source address (IPv4 and IPv6) on the uplink it last used, for sites that dislike a changing source address."),
            opt("timeout", Kind::Duration { min: ms(1000), max: ms(86_400_000) }, Default::Value("10m"), "How long a sticky source stays on its uplink after its last new connection."),
            opt("use_policy", Kind::Name, Default::Required, "A policy name, or default (main's routes), unreachable or blackhole."),
        ],
    },
];

/// The reference of one section, as in docs/config.md: what it is, then a table of options.
pub fn reference_table(spec: &SectionSpec) -> String {
    let mut out = format!(
        "{}\n\n| option | type | default | allowed | meaning |\n|---|---|---|---|---|\n",
        spec.doc
    );
    for o in spec.options {
        let mut name = format!("`{}`", o.name);
        for a in o.aliases {
            name += &format!(" (alias `{a}`)");
        }
        let ty = match o.shape {
            Shape::One => o.kind.type_name().to_string(),
            Shape::List => format!("list of {}", o.kind.type_name()),
            Shape::Many => format!("{} (list or one)", o.kind.type_name()),
        };
        let default = match o.default {
            Default::Value(v) => format!("`{v}`"),
            Default::Nothing => "none".into(),
            Default::Derived(how) => how.into(),
            Default::Required => "required".into(),
        };
        out += &format!(
            "| {name} | {ty} | {default} | {} | {} |\n",
            o.kind.allowed(),
            o.doc
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_default_parses_with_its_own_kind() {
        for s in SECTIONS {
            for o in s.options {
                if let Default::Value(v) = o.default {
                    for item in o.kind.items(v) {
                        assert!(
                            o.kind.parse(item).is_ok(),
                            "{}.{} default '{v}'",
                            s.stype,
                            o.name
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn names_are_unique_within_a_section() {
        for s in SECTIONS {
            let mut all: Vec<&str> = s.options.iter().flat_map(OptSpec::spellings).collect();
            all.sort();
            let n = all.len();
            all.dedup();
            assert_eq!(all.len(), n, "{}", s.stype);
        }
    }

    #[test]
    fn errors_say_what_is_allowed() {
        let e = Kind::Int { min: 1, max: 256 }.parse("300").unwrap_err();
        assert_eq!(e, "300 is out of range; allowed: 1..256");
        let e = LATENCY.parse("1000").unwrap_err();
        assert!(e.contains("write '1000ms' for milliseconds"), "{e}");
        let e = Kind::Choice(&["ping", "arping"]).parse("pign").unwrap_err();
        assert!(
            e.starts_with("'pign' is not a choice (did you mean 'ping'?); allowed: ping, arping"),
            "{e}"
        );
        assert!(Kind::Mask.parse("0x5").unwrap_err().contains("contiguous"));
        assert!(Kind::Mask
            .parse("0x100000000")
            .unwrap_err()
            .contains("32 bits"));
        assert_eq!(Kind::Mask.parse("0xFF00"), Ok(Val::Int(0xFF00)));
    }

    #[test]
    fn flush_conntrack_takes_booleans_and_mwan3_words() {
        let k = Kind::FlushConntrack;
        assert_eq!(k.parse("ifdown"), Ok(Val::Bool(true)));
        assert_eq!(k.parse("disconnected"), Ok(Val::Bool(true)));
        assert_eq!(k.parse("ifup"), Ok(Val::Bool(false)));
        assert_eq!(k.parse("0"), Ok(Val::Bool(false)));
        assert!(k.parse("always").is_err());
    }

    #[test]
    fn commas_split_only_multi_valued_kinds() {
        assert_eq!(Kind::Ports.items("80,443"), vec!["80", "443"]);
        assert_eq!(Kind::Path.items("/a,b"), vec!["/a,b"]);
    }
}
