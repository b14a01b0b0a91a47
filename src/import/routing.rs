//! mwan3's `member`, `policy` and `rule` sections (mwan3.sh `mwan3_set_policy`,
//! `mwan3_create_policies_iptables`, `mwan3_set_user_iptables_rule`).
//!
//! Whatever mwan3 itself skips (a member over metric 256, names over 15 characters, a rule
//! without use_policy) is left out with a note, so the same traffic takes the same uplinks.
//! A rule match rail cannot express leaves out the whole rule: without the match it would
//! catch more traffic than it did.

use super::network;
use super::read::{Notes, Reader};
use super::{named, Out};
use crate::config::{clear_host_bits, LastResort, Target};
use crate::family::{Af, RuleFamily};
use crate::uci::{Package, Section};
use std::net::IpAddr;

/// mwan3.sh `DEFAULT_LOWEST_METRIC`: members above it are not appended to a policy.
const MAX_METRIC: i64 = 256;
/// mwan3 skips policies and rules whose names exceed iptables' chain name room.
const MAX_NAME: usize = 15;

pub struct MemberOut {
    pub name: String,
    pub interface: String,
    pub section: Section,
}

pub struct PolicyOut {
    pub name: String,
    pub section: Section,
}

type Sections<'a> = [(&'a Section, String)];

pub fn members(sections: &Sections, interfaces: &[&Section], notes: &mut Notes) -> Vec<MemberOut> {
    let mut out = Vec::new();
    for (s, label) in sections {
        let Some(name) = named(s, label, notes) else {
            continue;
        };
        let r = Reader::new(s, label.clone());
        let interface = r.get("interface");
        let metric = r.get("metric").unwrap_or_else(|| "1".into());
        let weight = r.get("weight").unwrap_or_else(|| "1".into());
        let drop = |notes: &mut Notes, option: &str, why: String| {
            notes.add(
                r.line(option),
                &r.label,
                Some(option),
                format!("{why}; member left out"),
            );
        };
        let Some(interface) = interface else {
            drop(
                notes,
                "interface",
                "no interface given (mwan3 ignores the member)".into(),
            );
            r.finish(notes);
            continue;
        };
        if !interfaces
            .iter()
            .any(|i| i.name.as_deref() == Some(interface.as_str()))
        {
            drop(
                notes,
                "interface",
                format!("there is no interface '{interface}' (mwan3 ignores the member)"),
            );
            r.finish(notes);
            continue;
        }
        let metric = match metric.trim().parse::<i64>() {
            Ok(m) if m > MAX_METRIC => {
                drop(
                    notes,
                    "metric",
                    format!("{m} is above {MAX_METRIC}, which mwan3 does not append to policies"),
                );
                r.finish(notes);
                continue;
            }
            Ok(m) if m < 1 => {
                notes.add(r.line("metric"), label, Some("metric"), format!("{m} is below rail's lowest metric 1; written as 1 (it may now share a tier with metric 1)"));
                1
            }
            Ok(m) => m,
            Err(_) => {
                drop(notes, "metric", format!("'{metric}' is not a whole number"));
                r.finish(notes);
                continue;
            }
        };
        let weight = match weight.trim().parse::<i64>() {
            Ok(w) if (1..=1000).contains(&w) => w,
            Ok(w) => {
                let c = w.clamp(1, 1000);
                notes.add(
                    r.line("weight"),
                    label,
                    Some("weight"),
                    format!("{w} is outside rail's range 1..1000; written as {c}"),
                );
                c
            }
            Err(_) => {
                drop(notes, "weight", format!("'{weight}' is not a whole number"));
                r.finish(notes);
                continue;
            }
        };
        let mut o = Out::new("member", Some(name));
        o.set("interface", interface.clone());
        o.set("metric", metric.to_string());
        o.set("weight", weight.to_string());
        r.finish(notes);
        out.push(MemberOut {
            name: name.into(),
            interface,
            section: o.0,
        });
    }
    out
}

pub fn policies(sections: &Sections, members: &[MemberOut], notes: &mut Notes) -> Vec<PolicyOut> {
    let mut out = Vec::new();
    for (s, label) in sections {
        let Some(name) = named(s, label, notes) else {
            continue;
        };
        let r = Reader::new(s, label.clone());
        if let Some(why) = policy_name_problem(name) {
            notes.add(s.line, label, None, format!("{why}; policy left out"));
            let _ = r.list("use_member", notes);
            let _ = r.get("last_resort");
            r.finish(notes);
            continue;
        }
        let mut used: Vec<&MemberOut> = Vec::new();
        for wanted in r.list("use_member", notes) {
            let line = r.line("use_member");
            let mut say = |m: String| notes.add(line, label, Some("use_member"), m);
            match members.iter().find(|m| m.name == wanted) {
                None => say(format!("there is no usable member '{wanted}'; left out of the policy")),
                Some(m) if used.iter().any(|u| u.name == m.name) => say(format!("'{wanted}' is listed twice; kept once")),
                Some(m) => match used.iter().find(|u| u.interface == m.interface) {
                    Some(first) => say(format!("'{wanted}' uses interface '{}' like '{}' before it; rail uses each interface once per policy, so it is left out", m.interface, first.name)),
                    None => used.push(m),
                },
            }
        }
        let last_resort = match r.get("last_resort") {
            None => LastResort::Unreachable,
            Some(word) => LastResort::from_word(&word).unwrap_or_else(|| {
                notes.add(r.line("last_resort"), label, Some("last_resort"), format!("'{word}' is not unreachable, blackhole or default; mwan3 treats it as unreachable, and so does rail"));
                LastResort::Unreachable
            }),
        };
        let mut o = Out::new("policy", Some(name));
        o.list("use_member", used.iter().map(|m| m.name.clone()).collect());
        o.set("last_resort", last_resort.word());
        r.finish(notes);
        out.push(PolicyOut {
            name: name.into(),
            section: o.0,
        });
    }
    out
}

fn policy_name_problem(name: &str) -> Option<String> {
    if name.len() > MAX_NAME {
        return Some(format!(
            "the name is longer than {MAX_NAME} characters, so mwan3 never set this policy up"
        ));
    }
    Target::special(name).is_some().then(|| {
        format!("'{name}' means the target of the same name in a rule's use_policy, so no rule could use this policy")
    })
}

pub fn rules(
    sections: &Sections,
    policies: &[PolicyOut],
    network: Option<&Package>,
    notes: &mut Notes,
) -> Vec<Section> {
    let mut out = Vec::new();
    // The nft sets the rules written so far match, each with its family.
    let mut sets = Vec::new();
    for (s, label) in sections {
        let r = Reader::new(s, label.clone());
        match rule(&r, policies, network, &mut sets, notes) {
            Ok(o) => out.push(o.0),
            Err((option, why)) => notes.add(
                option.map_or(s.line, |o| r.line(o)),
                label,
                option,
                format!("{why}; rule left out"),
            ),
        }
        r.finish(notes);
    }
    out
}

type Skip = (Option<&'static str>, String);

fn rule(
    r: &Reader,
    policies: &[PolicyOut],
    network: Option<&Package>,
    sets: &mut Vec<(String, Af)>,
    notes: &mut Notes,
) -> Result<Out, Skip> {
    // Read every option first, so none is reported as unknown when the rule is skipped.
    let get = |o: &str| r.get(o);
    let (src_ip, dest_ip, src_port, dest_port) = (
        get("src_ip"),
        get("dest_ip"),
        get("src_port"),
        get("dest_port"),
    );
    let (proto, src_iface, ipset, family) =
        (get("proto"), get("src_iface"), get("ipset"), get("family"));
    let (sticky, timeout, use_policy) = (get("sticky"), get("timeout"), get("use_policy"));
    let logging = r.bool("logging", false);

    let name = r.section.name.as_deref();
    let (use_policy, to_policy) = rule_target(name, use_policy, policies)?;

    let fam = match family.as_deref() {
        None => None,
        Some(word) => match RuleFamily::from_word(word) {
            Some(f) => f.af(),
            None => {
                let words = RuleFamily::WORDS.join(", ");
                say(r, notes, "family", format!("'{word}' is not one of {words}; mwan3 matches both families, and so does rail"));
                None
            }
        },
    };
    let src = prefixes("src_ip", src_ip.as_deref())?;
    let dest = prefixes("dest_ip", dest_ip.as_deref())?;
    let fam = rule_family(fam, &src, &dest)?;
    let proto = match proto.as_deref().map(proto_word) {
        None => "all".to_string(),
        Some(Some(p)) => p,
        Some(None) => return Err((Some("proto"), format!("'{}' is not a protocol rail knows (all, tcp, udp, icmp, icmpv6, gre, esp, ah, sctp, udplite or a number)", proto.unwrap_or_default()))),
    };
    let ports = rule_ports(
        r,
        &proto,
        [("src_port", src_port), ("dest_port", dest_port)],
        notes,
    )?;
    let src_dev = match src_iface {
        None => None,
        Some(iface) => Some(src_device(network, &iface)?),
    };
    let (ipset, matched) = match ipset {
        None => (None, Vec::new()),
        Some(set) => {
            let (set, matched) = rule_ipset(r, set, fam, sets, notes)?;
            (Some(set), matched)
        }
    };
    if logging {
        say(
            r,
            notes,
            "logging",
            "not carried over: rail does not log matched packets".into(),
        );
    }

    let mut o = Out::new("rule", name);
    o.set("family", RuleFamily::of(fam).word());
    if !src.is_empty() {
        o.set("src_ip", joined(&src));
    }
    if !dest.is_empty() {
        o.set("dest_ip", joined(&dest));
    }
    o.set("proto", proto);
    for (option, list) in ports {
        o.set(option, list);
    }
    if let Some(dev) = src_dev {
        o.set("src_dev", dev);
    }
    if let Some(set) = ipset {
        o.set("ipset", set);
    }
    // mwan3 keeps sources sticky only when the rule goes to a policy, and only for `1`.
    if to_policy && sticky.as_deref() == Some("1") {
        o.set("sticky", "1");
        o.set("timeout", format!("{}s", sticky_timeout(r, timeout, notes)));
    }
    o.set("use_policy", use_policy);
    sets.extend(matched);
    Ok(o)
}

/// What a rule sends its traffic to, and whether that is a policy; the rules mwan3 itself
/// never set up are skipped.
fn rule_target(
    name: Option<&str>,
    use_policy: Option<String>,
    policies: &[PolicyOut],
) -> Result<(String, bool), Skip> {
    if name.is_some_and(|n| n.len() > MAX_NAME) {
        return Err((
            None,
            format!(
                "the name is longer than {MAX_NAME} characters, so mwan3 never set this rule up"
            ),
        ));
    }
    let Some(use_policy) = use_policy else {
        return Err((None, "no use_policy: mwan3 skips such a rule".into()));
    };
    let to_policy = Target::special(&use_policy).is_none();
    if to_policy && !policies.iter().any(|p| p.name == use_policy) {
        return Err((Some("use_policy"), format!("there is no usable policy '{use_policy}' (mwan3 jumps to an empty chain: the rule sends nothing anywhere)")));
    }
    Ok((use_policy, to_policy))
}

/// The ports a rule matches, as rail writes them; mwan3 ignores them unless proto is tcp
/// or udp, and so does the rule rail writes.
fn rule_ports(
    r: &Reader,
    proto: &str,
    given: [(&'static str, Option<String>); 2],
    notes: &mut Notes,
) -> Result<Vec<(&'static str, String)>, Skip> {
    let mut ports = Vec::new();
    for (option, text) in given {
        let Some(text) = text else { continue };
        if proto != "tcp" && proto != "udp" {
            say(r, notes, option, format!("not carried over: mwan3 ignores ports unless proto is tcp or udp (it is {proto})"));
            continue;
        }
        ports.push((option, port_list(option, &text)?));
    }
    Ok(ports)
}

/// The device of the netifd interface a rule's `src_iface` names.
fn src_device(network: Option<&Package>, iface: &str) -> Result<String, Skip> {
    match network {
        None => Err((Some("src_iface"), format!("'{iface}' is a netifd interface and rail matches the device it uses; run again with --network /etc/config/network to look it up, or add the rule yourself with src_dev"))),
        Some(net) => network::device(net, iface).map_err(|why| (Some("src_iface"), why)),
    }
}

fn say(r: &Reader, notes: &mut Notes, option: &str, m: String) {
    notes.add(r.line(option), &r.label, Some(option), m)
}

/// The rule's family: its `family` (`None`: both), narrowed to that of its addresses.
/// mwan3 installs a rule only for a family none of its addresses contradicts.
fn rule_family(fam: Option<Af>, src: &[Pfx], dest: &[Pfx]) -> Result<Option<Af>, Skip> {
    let has = |af: Af| src.iter().chain(dest).any(|p| p.af == af);
    match (has(Af::Inet), has(Af::Inet6)) {
        (true, true) => Err((
            None,
            "it has both IPv4 and IPv6 addresses: mwan3 installs it for neither family".into(),
        )),
        (false, false) => Ok(fam),
        (v4, _) => {
            let of_addresses = if v4 { Af::Inet } else { Af::Inet6 };
            match fam.filter(|f| *f != of_addresses) {
                Some(f) => Err((
                    None,
                    format!(
                        "it has {} addresses but family {}: mwan3 installs it for neither family",
                        of_addresses.word(),
                        f.word()
                    ),
                )),
                None => Ok(Some(of_addresses)),
            }
        }
    }
}

/// The nft set a rule's `ipset` becomes, and the sets (with their family) it matches.
///
/// A set in rail's table holds one family. Written configs keep IPv4 addresses in `<set>`
/// and IPv6 ones in `<set>6`, so an IPv6-only rule names `<set>6` and shares it with the
/// rules for both families (Rule::ipset_for), never an IPv4 set.
fn rule_ipset(
    r: &Reader,
    mut set: String,
    fam: Option<Af>,
    sets: &[(String, Af)],
    notes: &mut Notes,
) -> Result<(String, Vec<(String, Af)>), Skip> {
    if !set.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') || set.is_empty() {
        return Err((
            Some("ipset"),
            format!("'{set}' is not a name rail can use for an nft set (letters, digits and _)"),
        ));
    }
    let mwan3_name = set.clone();
    if fam == Some(Af::Inet6) {
        set.push('6');
    }
    let mut matched = Vec::new();
    for af in Af::BOTH
        .into_iter()
        .filter(|af| fam.is_none_or(|f| f == *af))
    {
        let name = if fam.is_none() && af == Af::Inet6 {
            format!("{set}6")
        } else {
            set.clone()
        };
        matched.push((name, af));
    }
    if let Some((name, af)) = matched
        .iter()
        .find(|(name, af)| sets.contains(&(name.clone(), af.other())))
    {
        return Err((
            Some("ipset"),
            format!(
                "rail's nft set '{name}' would hold this rule's {af} destinations and an earlier rule's {}: a set holds one family; rename one of the ipsets",
                af.other()
            ),
        ));
    }
    let dnsmasq = matched
        .iter()
        .map(|(name, af)| {
            format!(
                "{}#inet#rail#{name}",
                match af {
                    Af::Inet => 4,
                    Af::Inet6 => 6,
                }
            )
        })
        .collect::<Vec<_>>()
        .join(",");
    let renamed = if set == mwan3_name {
        String::new()
    } else {
        format!(" (IPv6 addresses go in '<ipset>6', so this IPv6 rule's set is '{set}')")
    };
    say(r, notes, "ipset", format!("carried over, but rail matches an nft set '{set}' of destination addresses in its own table (inet rail), not the ipset{renamed}: point what fills it there (dnsmasq: nftset=/example.com/{dnsmasq})"));
    Ok((set, matched))
}

/// A sticky rule's `timeout` in seconds, within rail's 1s..24h (mwan3's default 600).
fn sticky_timeout(r: &Reader, timeout: Option<String>, notes: &mut Notes) -> u64 {
    match timeout.as_deref().map(|t| t.trim().parse::<u64>()) {
        None => 600,
        Some(Ok(t)) if (1..=86_400).contains(&t) => t,
        Some(Ok(t)) => {
            let c = t.clamp(1, 86_400);
            say(
                r,
                notes,
                "timeout",
                format!("{t} s is outside rail's range 1s..24h; written as {c}s"),
            );
            c
        }
        Some(Err(_)) => {
            say(
                r,
                notes,
                "timeout",
                format!(
                    "'{}' is not a whole number of seconds; mwan3's default 600s is used",
                    timeout.unwrap_or_default()
                ),
            );
            600
        }
    }
}

/// An address or prefix as rail writes it, and its family.
struct Pfx {
    text: String,
    af: Af,
}

/// Addresses or prefixes as iptables takes them (`-s a,b/24`), host bits cleared as
/// iptables clears them.
fn prefixes(option: &'static str, text: Option<&str>) -> Result<Vec<Pfx>, Skip> {
    let Some(text) = text else {
        return Ok(Vec::new());
    };
    text.split([',', ' '])
        .filter(|t| !t.is_empty())
        .map(|item| {
            prefix(item).ok_or_else(|| (Some(option), format!("'{item}' is not an address or prefix (rail matches addresses, not host names)")))
        })
        .collect()
}

fn prefix(item: &str) -> Option<Pfx> {
    let (addr, len) = match item.split_once('/') {
        Some((a, l)) => (a, Some(l.parse::<u8>().ok()?)),
        None => (item, None),
    };
    let addr: IpAddr = addr.parse().ok()?;
    let af = Af::of(&addr);
    let bits = af.max_len();
    let len = len.unwrap_or(bits);
    if len > bits {
        return None;
    }
    let masked = clear_host_bits(addr, len);
    Some(Pfx {
        text: if len == bits {
            masked.to_string()
        } else {
            format!("{masked}/{len}")
        },
        af,
    })
}

fn joined(list: &[Pfx]) -> String {
    list.iter()
        .map(|p| p.text.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

/// iptables multiport: `80,443`, `1000:2000`; written with rail's `-` for ranges.
fn port_list(option: &'static str, text: &str) -> Result<String, Skip> {
    let bad = || {
        (
            Some(option),
            format!("'{text}' is not a list of ports or ranges (1..65535)"),
        )
    };
    let mut out = Vec::new();
    for item in text.split([',', ' ']).filter(|t| !t.is_empty()) {
        let (a, b) = item.split_once([':', '-']).unwrap_or((item, item));
        let (a, b) = (
            a.parse::<u16>().map_err(|_| bad())?,
            b.parse::<u16>().map_err(|_| bad())?,
        );
        if a == 0 || b < a {
            return Err(bad());
        }
        out.push(if a == b {
            a.to_string()
        } else {
            format!("{a}-{b}")
        });
    }
    if out.is_empty() {
        return Err(bad());
    }
    Ok(out.join(","))
}

/// iptables' protocol names (from /etc/protocols) as rail writes them.
fn proto_word(p: &str) -> Option<String> {
    let p = p.trim().to_ascii_lowercase();
    let word = match p.as_str() {
        "all" | "0" => "all",
        "tcp" | "udp" | "icmp" | "icmpv6" | "gre" | "esp" | "ah" | "sctp" | "udplite" => &p,
        "ipv6-icmp" => "icmpv6",
        "igmp" => "2",
        "ipip" | "ipencap" => "4",
        "ospf" => "89",
        "vrrp" => "112",
        "l2tp" => "115",
        _ => return p.parse::<u8>().ok().map(|n| n.to_string()),
    };
    Some(word.to_string())
}
