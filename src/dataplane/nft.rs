//! The `inet rail` nftables table (pure): rendered as text, and the one `nft -f -`
//! transaction (`update`) that brings the table in the kernel to it while keeping its sets.
//!
//! prerouting/output restore the uplink saved in the ct mark into the packet mark; a new
//! flow whose ct mark has no rail bits is matched against the config's rules and gets its
//! target's mark; postrouting saves the uplink the packet leaves by into the ct mark. A flow
//! is therefore marked once: a retransmitted SYN already carries its uplink in the ct mark
//! and is never sent out another one. New connections arriving on an uplink are tied to it so
//! replies leave where the request came in. Marks and ct marks work the same for IPv6 (one
//! `inet` table); a rule is rendered once per family it can match (`meta nfproto`), with
//! that family's sets: a sticky rule pins sources in one set per family and uplink, and an
//! `ipset` names one set per family (`Rule::ipset_for`).
//!
//! An uplink with `passive 1` has named counters (`PassiveCounter`): the first SYN of each
//! new outbound TCP connection it carries (postrouting: forwarded and the router's own; the
//! conntrack entry not yet confirmed, so a retransmitted SYN is not counted again) and each
//! SYN-ACK coming back (prerouting, reply direction, ahead of the restore rules that return).
//! They find the uplink by its ct mark, not its device, so a PPPoE reconnect's new device
//! changes nothing, and `update` keeps them with their values like the sets.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::vocab::{Link, Links};
use crate::config::marks::{sticky_rules, Marks};
use crate::config::{
    Config, Interface, InterfaceId, Mark, PolicyId, PortRange, Prefix, Proto, Rule, Target,
};
use crate::family::Af;

/// The family and name of rail's table, as nft spells them.
pub const TABLE: &str = "inet rail";

/// The whole `table inet rail { ... }` block.
pub fn render(config: &Config, links: &Links) -> String {
    let marks = Marks::new(config);
    let mask = marks.mask();
    let uplinks: Vec<(&Interface, &Link)> = links
        .iter()
        .filter_map(|(id, l)| {
            config
                .interfaces
                .get(id.0)
                .filter(|i| i.enabled)
                .map(|i| (i, l))
        })
        .collect();
    // Restoring needs one rule per uplink: nft cannot OR a register into the packet mark,
    // and rail must not clobber the mark bits other packages own.
    let restore: String = config
        .interfaces
        .iter()
        .filter(|i| i.enabled)
        .map(|i| {
            format!(
                "\t\tct mark & {mask:#010x} == {m:#010x} {} return\n",
                set_mark(i.mark, mask),
                m = i.mark.value()
            )
        })
        .collect();
    let mut out = String::new();
    out.push_str("table inet rail {\n");
    let sticky = sticky_sets(config, links);
    let passive = passive_counters(config);
    declare(&mut out, config, &sticky, &passive);
    out.push_str(
        "\tchain prerouting {\n\t\ttype filter hook prerouting priority mangle; policy accept;\n",
    );
    if !passive.is_empty() {
        out.push_str("\t\ttcp flags & (syn | ack) == syn | ack ct direction reply jump answered\n");
    }
    out.push_str(&restore);
    let _ = writeln!(out, "\t\tct mark & {mask:#010x} != 0x00000000 return");
    for (iface, link) in &uplinks {
        let _ = writeln!(
            out,
            "\t\t{} ct state new ct mark set ct mark & {:#010x} | {:#010x} return",
            device_match("iif", &link.device, link.ifindex),
            !mask,
            iface.mark.value()
        );
    }
    out.push_str("\t\tct state new jump rules\n\t}\n\n");
    out.push_str("\tchain output {\n\t\ttype route hook output priority mangle; policy accept;\n");
    out.push_str(&restore);
    let _ = writeln!(out, "\t\tct mark & {mask:#010x} != 0x00000000 return");
    out.push_str("\t\tct state new jump rules\n\t}\n\n");
    rules_chain(&mut out, config, &sticky, &marks);
    out.push_str(
        "\tchain postrouting {\n\t\ttype filter hook postrouting priority mangle; policy accept;\n",
    );
    for (iface, link) in &uplinks {
        let _ = writeln!(
            out,
            "\t\tct mark & {mask:#010x} == 0x00000000 {} ct mark set ct mark & {:#010x} | {:#010x}",
            device_match("oif", &link.device, link.ifindex),
            !mask,
            iface.mark.value()
        );
    }
    for s in &sticky {
        let _ = writeln!(
            out,
            "\t\tmeta mark & {mask:#010x} == {:#010x} {} update @{} {{ {} saddr }}",
            s.rule_mark.value(),
            device_match("oif", &s.device, s.ifindex),
            s.name,
            ip_keyword(s.af)
        );
    }
    if !passive.is_empty() {
        out.push_str(
            "\t\ttcp flags & (fin | syn | rst | ack) == syn ct status & confirmed == 0 jump opened\n",
        );
    }
    out.push_str("\t}\n");
    if !passive.is_empty() {
        passive_chains(&mut out, &passive, mask);
    }
    out.push_str(&nat(&uplinks));
    out.push_str("}\n");
    out
}

/// The table's sets (the rules' address sets, the sticky pins) and passive counters.
fn declare(out: &mut String, config: &Config, sticky: &[StickySet], passive: &[PassiveCounter]) {
    for (set, af) in rule_sets(config) {
        declare_set(out, &set, addr_type(af), "interval", None);
    }
    for s in sticky {
        declare_set(
            out,
            &s.name,
            addr_type(s.af),
            "dynamic,timeout",
            Some(s.timeout_secs),
        );
    }
    for c in passive {
        let _ = writeln!(
            out,
            "\tcounter {} {{\n\t\tpackets 0 bytes 0\n\t}}\n",
            c.name
        );
    }
}

/// The `rules` chain: each rule's matches, per family it applies to, with its sticky pins
/// ahead of its verdict.
fn rules_chain(out: &mut String, config: &Config, sticky: &[StickySet], marks: &Marks) {
    out.push_str("\tchain rules {\n");
    let mask = marks.mask();
    let families = families(config);
    for ((r, rule), af) in config
        .rules
        .iter()
        .enumerate()
        .flat_map(|r| families.iter().map(move |af| (r, *af)))
    {
        let Some(matches) = rule_matches(rule, af) else {
            continue;
        };
        let comment = format!("comment \"{}\"", rule.name);
        // A pinned source goes straight to its uplink (and its pin is refreshed).
        for s in sticky.iter().filter(|s| s.rule == r && s.af == af) {
            let _ = writeln!(
                out,
                "\t\t{matches} {ip} saddr @{n} update @{n} {{ {ip} saddr }} {} return {comment}",
                set_mark(s.uplink_mark, mask),
                n = s.name,
                ip = ip_keyword(af)
            );
        }
        let _ = writeln!(out, "\t\t{matches} {} {comment}", verdict(rule, r, marks));
    }
    out.push_str("\t}\n\n");
}

/// The `nat` chain (source NAT leaving an uplink) and, with NPTv6, `nat_in` (its reverse
/// for new connections coming in): empty when no uplink masquerades or translates.
fn nat(uplinks: &[(&Interface, &Link)]) -> String {
    let mut out_lines = String::new();
    let mut in_lines = String::new();
    for (iface, link) in uplinks {
        let device = device_match("oif", &link.device, link.ifindex);
        let incoming = device_match("iif", &link.device, link.ifindex);
        let npt = iface.npt.filter(|_| iface.family.carries(Af::Inet6));
        // `masquerade` covers every family the uplink carries (an IPv6 LAN prefix the
        // provider does not route, ULA or another provider's, needs it) but one it translates.
        if iface.masquerade {
            for af in Af::BOTH
                .into_iter()
                .filter(|af| iface.family.carries(*af) && !(*af == Af::Inet6 && npt.is_some()))
            {
                let _ = writeln!(
                    out_lines,
                    "\t\tmeta nfproto {} {device} masquerade",
                    af.word()
                );
            }
        }
        // Until a delegated prefix is known, an NPTv6 uplink translates nothing.
        if let Some((internal, external)) =
            npt.and_then(|n| Some((n.internal(), n.external(link.delegated6)?)))
        {
            let _ = writeln!(
                out_lines,
                "\t\tmeta nfproto ipv6 {device} ip6 saddr {internal} snat ip6 prefix to {external}"
            );
            let _ = writeln!(
                in_lines,
                "\t\tmeta nfproto ipv6 {incoming} ip6 daddr {external} dnat ip6 prefix to {internal}"
            );
        }
    }
    let mut out = String::new();
    for (chain, hook, priority, lines) in [
        ("nat", "postrouting", "srcnat", out_lines),
        ("nat_in", "prerouting", "dstnat", in_lines),
    ] {
        if !lines.is_empty() {
            let _ = write!(
                out,
                "\n\tchain {chain} {{\n\t\ttype nat hook {hook} priority {priority}; policy accept;\n{lines}\t}}\n"
            );
        }
    }
    out
}

/// What a passive counter counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Counted {
    /// First SYNs of new outbound TCP connections.
    Opened,
    /// SYN-ACKs coming back.
    Answered,
}

/// One named counter of a passive uplink: what it counts, of which family.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PassiveCounter {
    pub interface: InterfaceId,
    pub af: Af,
    pub counted: Counted,
    /// `opened_<interface>`, `answered_<interface>`; `opened6_`, `answered6_` for IPv6.
    pub name: String,
    pub mark: Mark,
}

/// The counters of every enabled uplink with `passive 1`, per family it carries.
pub fn passive_counters(config: &Config) -> Vec<PassiveCounter> {
    let mut out = Vec::new();
    for (i, iface) in config.interfaces.iter().enumerate() {
        if !(iface.enabled && iface.passive) {
            continue;
        }
        for af in Af::BOTH.into_iter().filter(|af| iface.family.carries(*af)) {
            for counted in [Counted::Opened, Counted::Answered] {
                out.push(PassiveCounter {
                    interface: InterfaceId(i),
                    af,
                    counted,
                    name: counter_name(counted, af, &iface.name),
                    mark: iface.mark,
                });
            }
        }
    }
    out
}

/// The name of one passive counter of interface `interface` (see `PassiveCounter`).
pub fn counter_name(counted: Counted, af: Af, interface: &str) -> String {
    let what = match counted {
        Counted::Opened => "opened",
        Counted::Answered => "answered",
    };
    let six = if af == Af::Inet6 { "6" } else { "" };
    format!("{what}{six}_{}", nft_name(interface))
}

/// The chains the passive gates jump to: one counting rule per counter.
fn passive_chains(out: &mut String, counters: &[PassiveCounter], mask: u32) {
    for (chain, counted) in [("opened", Counted::Opened), ("answered", Counted::Answered)] {
        let _ = writeln!(out, "\n\tchain {chain} {{");
        for c in counters.iter().filter(|c| c.counted == counted) {
            let _ = writeln!(
                out,
                "\t\tmeta nfproto {} ct mark & {mask:#010x} == {:#010x} counter name \"{}\" return",
                c.af.word(),
                c.mark.value(),
                c.name
            );
        }
        out.push_str("\t}\n");
    }
}

/// The families the rules are rendered for: IPv6 flows are matched only when some uplink
/// carries IPv6 (else main routes them).
fn families(config: &Config) -> Vec<Af> {
    Af::BOTH
        .into_iter()
        .filter(|af| {
            *af == Af::Inet
                || config
                    .interfaces
                    .iter()
                    .any(|i| i.enabled && i.family.carries(*af))
        })
        .collect()
}

/// The sets the rules' `ipset`s name, each with the family of its addresses, sorted by name.
fn rule_sets(config: &Config) -> Vec<(String, Af)> {
    let mut sets: Vec<(String, Af)> = families(config)
        .into_iter()
        .flat_map(|af| {
            config
                .rules
                .iter()
                .filter_map(move |r| r.ipset_for(af).map(|set| (set, af)))
        })
        .collect();
    sets.sort();
    // `rail check` refuses one name for both families; the first keeps it here.
    sets.dedup_by(|a, b| a.0 == b.0);
    sets
}

/// One set's declaration. Its comment repeats the declaration: it is how `update` tells,
/// from a listing, a set to keep (elements and all) from one to declare anew.
fn declare_set(out: &mut String, name: &str, ty: &str, flags: &str, timeout: Option<u64>) {
    let timeout = timeout.map(|t| format!("timeout {t}s"));
    let _ = writeln!(out, "\tset {name} {{\n\t\ttype {ty}\n\t\tflags {flags}");
    if let Some(t) = &timeout {
        let _ = writeln!(out, "\t\t{t}");
    }
    let declared: Vec<&str> = [ty, flags].into_iter().chain(timeout.as_deref()).collect();
    let _ = writeln!(out, "\t\tcomment \"{}\"\n\t}}\n", declared.join(" "));
}

/// The one `nft -f -` script that turns the table `present` (as `nft -t list table inet
/// rail` prints it; empty when there is none) into `wanted` (a `render`): every chain is
/// flushed and filled again, a chain no longer wanted is deleted, and a set is deleted only
/// when it is no longer wanted or declared otherwise (its type, flags or timeout changed).
/// Every other set keeps its elements with their timeouts: sticky pins and what dnsmasq
/// put in the rules' sets survive every update. A counter is deleted only when no longer
/// wanted: the others keep counting (passive evidence reads their deltas).
pub fn update(present: &str, wanted: &str) -> String {
    let (have, want) = (Declared::read(present), Declared::read(wanted));
    let mut out = String::new();
    // Flushes first: a chain or set still referenced (a jump, a lookup) cannot be deleted.
    for chain in &have.chains {
        let _ = writeln!(out, "flush chain {TABLE} {chain}");
    }
    for chain in have.chains.iter().filter(|c| !want.chains.contains(c)) {
        let _ = writeln!(out, "delete chain {TABLE} {chain}");
    }
    for (set, declared) in &have.sets {
        if declared.is_none() || want.sets.get(set) != Some(declared) {
            let _ = writeln!(out, "delete set {TABLE} {set}");
        }
    }
    for counter in have.counters.iter().filter(|c| !want.counters.contains(c)) {
        let _ = writeln!(out, "delete counter {TABLE} {counter}");
    }
    out.push_str(wanted);
    out
}

/// The chains, sets (each with its comment) and counters of a table's text.
#[derive(Debug, Default, PartialEq, Eq)]
struct Declared {
    chains: Vec<String>,
    sets: BTreeMap<String, Option<String>>,
    counters: Vec<String>,
}

impl Declared {
    fn read(text: &str) -> Declared {
        let mut d = Declared::default();
        let mut set: Option<String> = None;
        for line in text.lines() {
            if let Some(top) = line.strip_prefix('\t').filter(|l| !l.starts_with('\t')) {
                let named = |kind: &str| {
                    let name = top.strip_prefix(kind)?.strip_suffix(" {")?;
                    Some(name.trim_matches('"').to_string())
                };
                set = named("set ");
                if let Some(s) = &set {
                    d.sets.insert(s.clone(), None);
                } else if let Some(chain) = named("chain ") {
                    d.chains.push(chain);
                } else if let Some(counter) = named("counter ") {
                    d.counters.push(counter);
                }
            } else if let Some(s) = &set {
                let comment = line.trim().strip_prefix("comment \"");
                if let Some(c) = comment.and_then(|c| c.strip_suffix('"')) {
                    d.sets.insert(s.clone(), Some(c.to_string()));
                }
            }
        }
        d
    }
}

/// nft's element type of a set of addresses of one family.
fn addr_type(af: Af) -> &'static str {
    match af {
        Af::Inet => "ipv4_addr",
        Af::Inet6 => "ipv6_addr",
    }
}

/// nft's payload keyword of one family's header (`ip saddr`, `ip6 saddr`).
fn ip_keyword(af: Af) -> &'static str {
    match af {
        Af::Inet => "ip",
        Af::Inet6 => "ip6",
    }
}

/// The sources of one family a sticky rule pinned to one uplink: an nft set with a timeout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StickySet {
    /// Index of the rule in `Config::rules`.
    pub rule: usize,
    pub af: Af,
    /// The rule's policy.
    pub policy: PolicyId,
    pub interface: InterfaceId,
    /// `sticky_<rule>_<interface>` (IPv4), `sticky6_<rule>_<interface>` (IPv6).
    pub name: String,
    pub timeout_secs: u64,
    /// The rule's mark for its new connections not pinned yet.
    pub rule_mark: Mark,
    pub uplink_mark: Mark,
    pub device: String,
    pub ifindex: u32,
}

/// One set per sticky rule, family it matches, and uplink of its policy that has a device
/// and carries that family.
pub fn sticky_sets(config: &Config, links: &Links) -> Vec<StickySet> {
    let marks = Marks::new(config);
    let families = families(config);
    let mut sets = Vec::new();
    for ((k, (r, p)), af) in sticky_rules(config)
        .into_iter()
        .enumerate()
        .flat_map(|rule| families.iter().map(move |af| (rule, *af)))
    {
        let Some(rule_mark) = marks.sticky(k) else {
            continue;
        };
        let rule = &config.rules[r];
        if rule_matches(rule, af).is_none() {
            continue;
        }
        let mut uplinks: Vec<InterfaceId> = config.policies[p.0]
            .members
            .iter()
            .map(|m| config.members[m.0].interface)
            .collect();
        uplinks.sort();
        uplinks.dedup();
        for i in uplinks {
            let iface = &config.interfaces[i.0];
            let Some(link) = links
                .get(&i)
                .filter(|_| iface.enabled && iface.family.carries(af))
            else {
                continue;
            };
            let prefix = match af {
                Af::Inet => "sticky",
                Af::Inet6 => "sticky6",
            };
            sets.push(StickySet {
                rule: r,
                af,
                policy: p,
                interface: i,
                name: format!(
                    "{prefix}_{}_{}",
                    nft_name(&rule.name),
                    nft_name(&iface.name)
                ),
                timeout_secs: rule.sticky_timeout.as_secs().max(1),
                rule_mark,
                uplink_mark: iface.mark,
                device: link.device.clone(),
                ifindex: link.ifindex,
            });
        }
    }
    sets
}

/// The mark of rule `r`'s unpinned new connections, when it is a sticky rule.
fn sticky_rules_of(marks: &Marks, r: usize) -> Option<Mark> {
    let k = sticky_rules(marks.config())
        .iter()
        .position(|(rule, _)| *rule == r)?;
    marks.sticky(k)
}

/// Whether nft can match `device` by its name in double quotes: it has no escape for
/// `"`, `\\` is its escape character and a trailing `*` is its wildcard. The kernel allows
/// all three in a device name; rail's config refuses them.
fn quotable(device: &str) -> bool {
    !device.contains(['"', '\\']) && !device.ends_with('*')
}

/// How a rule matches the uplink's device, `key` being `iif` or `oif`: by name, so the
/// rule survives the device being recreated, or, for a name nft cannot quote, by its
/// index, so one odd name cannot make the whole table fail to load.
fn device_match(key: &str, device: &str, ifindex: u32) -> String {
    if quotable(device) {
        format!("{key}name \"{device}\"")
    } else {
        format!("{key} {ifindex}")
    }
}

/// A name nft accepts as an identifier.
fn nft_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn set_mark(mark: Mark, mask: u32) -> String {
    format!(
        "meta mark set meta mark & {:#010x} | {:#010x}",
        !mask,
        mark.value()
    )
}

/// A rule's match expressions for family `af`; `None` when it cannot match that family
/// (its `family`, or addresses of the other family only).
fn rule_matches(rule: &Rule, af: Af) -> Option<String> {
    if rule.family.is_some_and(|f| f != af) {
        return None;
    }
    let (ip, v6) = (ip_keyword(af), af == Af::Inet6);
    let mut m = vec![format!("meta nfproto {}", af.word())];
    for (field, prefixes) in [("saddr", &rule.src_ip), ("daddr", &rule.dest_ip)] {
        if !prefixes.is_empty() {
            m.push(format!("{ip} {field} {}", prefix_set(prefixes, af)?));
        }
    }
    if rule.ipset.is_some() {
        m.push(format!("{ip} daddr @{}", rule.ipset_for(af)?));
    }
    let has_ports = !rule.src_port.is_empty() || !rule.dest_port.is_empty();
    let l4 = match (rule.proto, has_ports) {
        (Proto::All, false) => None,
        (Proto::All, true) => Some("{ tcp, udp }".to_string()),
        (Proto::Tcp, _) => Some("tcp".to_string()),
        (Proto::Udp, _) => Some("udp".to_string()),
        (Proto::Icmp, _) => Some(if v6 { "icmpv6" } else { "icmp" }.to_string()),
        (Proto::Number(n), _) => Some(n.to_string()),
    };
    if let Some(l4) = l4 {
        m.push(format!("meta l4proto {l4}"));
    }
    for (field, ports) in [("sport", &rule.src_port), ("dport", &rule.dest_port)] {
        if !ports.is_empty() {
            m.push(format!("th {field} {}", port_set(ports)));
        }
    }
    if !rule.src_dev.is_empty() {
        // The config refuses names nft cannot quote; one that got here anyway matches nothing.
        let devs: Vec<String> = rule
            .src_dev
            .iter()
            .filter(|d| quotable(d))
            .map(|d| format!("\"{d}\""))
            .collect();
        m.push(format!("iifname {{ {} }}", devs.join(", ")));
    }
    Some(m.join(" "))
}

/// What the `r`th rule does with a new flow it matches; it always stops the matching.
fn verdict(rule: &Rule, r: usize, marks: &Marks) -> String {
    let mask = marks.mask();
    let sticky = sticky_rules_of(marks, r);
    let mark = match rule.target {
        Target::Policy(_) if sticky.is_some() => sticky,
        Target::Policy(p) => marks.policy(p),
        Target::Unreachable => marks.unreachable(),
        Target::Blackhole => marks.blackhole(),
        // Main's routes decide.
        Target::Default => None,
    };
    mark.map_or("return".to_string(), |mk| {
        format!("{} return", set_mark(mk, mask))
    })
}

/// `{ a, b/n }` of the prefixes of one family; `None` when there are none of it. nft
/// refuses a prefix with host bits set, and so does the config (`value::parse_prefix`).
fn prefix_set(prefixes: &[Prefix], af: Af) -> Option<String> {
    let items: Vec<String> = prefixes
        .iter()
        .filter(|p| af.holds(&p.addr))
        .map(|p| {
            if p.len == af.max_len() {
                p.addr.to_string()
            } else {
                p.to_string()
            }
        })
        .collect();
    (!items.is_empty()).then(|| format!("{{ {} }}", items.join(", ")))
}

fn port_set(ports: &[PortRange]) -> String {
    let items: Vec<String> = ports
        .iter()
        .map(|r| {
            if r.first == r.last {
                r.first.to_string()
            } else {
                format!("{}-{}", r.first, r.last)
            }
        })
        .collect();
    format!("{{ {} }}", items.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{InterfaceId, Npt};
    use crate::family::Family;
    use crate::fixtures::{every_match, every_match_links as links};

    #[test]
    fn golden_two_uplinks() {
        let expected = r#"table inet rail {
	set rail_banks {
		type ipv4_addr
		flags interval
		comment "ipv4_addr interval"
	}

	chain prerouting {
		type filter hook prerouting priority mangle; policy accept;
		ct mark & 0x3f000000 == 0x01000000 meta mark set meta mark & 0xc0ffffff | 0x01000000 return
		ct mark & 0x3f000000 == 0x02000000 meta mark set meta mark & 0xc0ffffff | 0x02000000 return
		ct mark & 0x3f000000 != 0x00000000 return
		iifname "eth1" ct state new ct mark set ct mark & 0xc0ffffff | 0x01000000 return
		iifname "eth2" ct state new ct mark set ct mark & 0xc0ffffff | 0x02000000 return
		ct state new jump rules
	}

	chain output {
		type route hook output priority mangle; policy accept;
		ct mark & 0x3f000000 == 0x01000000 meta mark set meta mark & 0xc0ffffff | 0x01000000 return
		ct mark & 0x3f000000 == 0x02000000 meta mark set meta mark & 0xc0ffffff | 0x02000000 return
		ct mark & 0x3f000000 != 0x00000000 return
		ct state new jump rules
	}

	chain rules {
		meta nfproto ipv4 ip saddr { 192.168.1.77 } meta l4proto { tcp, udp } th dport { 80, 8000-8080 } iifname { "br-lan" } meta mark set meta mark & 0xc0ffffff | 0x04000000 return comment "web_via_wan2"
		meta nfproto ipv4 ip daddr @rail_banks meta l4proto tcp return comment "banks"
		meta nfproto ipv4 ip daddr { 198.18.0.0/15 } meta l4proto 47 meta mark set meta mark & 0xc0ffffff | 0x05000000 return comment "dark"
		meta nfproto ipv4 meta mark set meta mark & 0xc0ffffff | 0x03000000 return comment "default"
	}

	chain postrouting {
		type filter hook postrouting priority mangle; policy accept;
		ct mark & 0x3f000000 == 0x00000000 oifname "eth1" ct mark set ct mark & 0xc0ffffff | 0x01000000
		ct mark & 0x3f000000 == 0x00000000 oifname "eth2" ct mark set ct mark & 0xc0ffffff | 0x02000000
	}

	chain nat {
		type nat hook postrouting priority srcnat; policy accept;
		meta nfproto ipv4 oifname "eth2" masquerade
	}
}
"#;
        assert_eq!(render(&every_match(), &links()), expected);
    }

    #[test]
    fn a_device_name_nft_cannot_quote_is_matched_by_its_index() {
        // The kernel allows `"` in a device name; written into the quotes, it made every
        // `nft -f` fail, and with it the whole table.
        let mut l = links();
        if let Some(link) = l.get_mut(&InterfaceId(1)) {
            link.device = "e\"th2".into();
        }
        let mut c = every_match();
        c.rules[0].src_dev = vec!["br\"lan".into(), "br-lan".into()];
        let text = render(&c, &l);
        assert!(
            !text.contains("e\"th2") && !text.contains("br\"lan"),
            "{text}"
        );
        assert!(text.contains("iif 4 ct state new"), "{text}");
        assert!(text.contains("== 0x00000000 oif 4 ct mark set"), "{text}");
        assert!(
            text.contains("meta nfproto ipv4 oif 4 masquerade"),
            "{text}"
        );
        assert!(text.contains("iifname { \"br-lan\" }"), "{text}");
        // Every line keeps its quotes paired.
        assert!(
            text.lines().all(|l| l.matches('"').count() % 2 == 0),
            "{text}"
        );
    }

    #[test]
    fn rules_without_ipv4_addresses_or_for_ipv6_are_left_out() {
        let mut c = every_match();
        c.rules[4].family = Some(Af::Inet6);
        let text = render(&c, &links());
        assert!(!text.contains("\"v6_only\"") && !text.contains("\"default\""));
    }

    #[test]
    fn dual_stack_renders_each_rule_per_family_and_masquerades_both() {
        let mut c = every_match();
        c.interfaces[1].family = Family::Both;
        c.rules[0].src_ip.push(Prefix {
            addr: "2001:db8:1::77".parse().unwrap(),
            len: 128,
        });
        c.rules[3].proto = Proto::Icmp;
        let text = render(&c, &links());
        let lines: Vec<&str> = text
            .lines()
            .map(str::trim)
            .filter(|l| l.contains(" comment") || l.contains("masquerade"))
            .collect();
        assert_eq!(
            lines,
            vec![
                "meta nfproto ipv4 ip saddr { 192.168.1.77 } meta l4proto { tcp, udp } th dport { 80, 8000-8080 } iifname { \"br-lan\" } meta mark set meta mark & 0xc0ffffff | 0x04000000 return comment \"web_via_wan2\"",
                "meta nfproto ipv6 ip6 saddr { 2001:db8:1::77 } meta l4proto { tcp, udp } th dport { 80, 8000-8080 } iifname { \"br-lan\" } meta mark set meta mark & 0xc0ffffff | 0x04000000 return comment \"web_via_wan2\"",
                // A rule for both families matches IPv6 in the set's twin.
                "meta nfproto ipv4 ip daddr @rail_banks meta l4proto tcp return comment \"banks\"",
                "meta nfproto ipv6 ip6 daddr @rail_banks6 meta l4proto tcp return comment \"banks\"",
                "meta nfproto ipv6 ip6 daddr { 2001:db8::/32 } meta mark set meta mark & 0xc0ffffff | 0x06000000 return comment \"v6_only\"",
                "meta nfproto ipv4 ip daddr { 198.18.0.0/15 } meta l4proto icmp meta mark set meta mark & 0xc0ffffff | 0x05000000 return comment \"dark\"",
                "meta nfproto ipv4 meta mark set meta mark & 0xc0ffffff | 0x03000000 return comment \"default\"",
                "meta nfproto ipv6 meta mark set meta mark & 0xc0ffffff | 0x03000000 return comment \"default\"",
                "meta nfproto ipv4 oifname \"eth2\" masquerade",
                "meta nfproto ipv6 oifname \"eth2\" masquerade",
            ]
        );
        // A rule for IPv4 only stays IPv4's.
        c.rules[4].family = Some(Af::Inet);
        c.rules[2].dest_ip[0] = Prefix {
            addr: "2001:db8::".parse().unwrap(),
            len: 32,
        };
        let text = render(&c, &links());
        assert!(!text.contains("meta nfproto ipv6 meta mark set"));
        assert!(text.contains("ip6 daddr { 2001:db8::/32 }"));
    }

    #[test]
    fn an_ipset_names_one_set_per_family_the_rule_matches() {
        let mut c = every_match();
        c.interfaces[1].family = Family::Both;
        let sets = |c: &Config| {
            let text = render(c, &links());
            let declared: Vec<String> = text
                .split("\tset ")
                .skip(1)
                .map(|s| {
                    let name = s.split_whitespace().next().unwrap_or("");
                    let ty = s.split("type ").nth(1).and_then(|t| t.lines().next());
                    format!("{name} {}", ty.unwrap_or(""))
                })
                .collect();
            (
                declared,
                Declared::read(&text).sets.into_keys().collect::<Vec<_>>(),
            )
        };
        // Both families: the name for IPv4, its `6` twin for IPv6; both are declared.
        assert_eq!(
            sets(&c),
            (
                vec![
                    "rail_banks ipv4_addr".to_string(),
                    "rail_banks6 ipv6_addr".into()
                ],
                vec!["rail_banks".to_string(), "rail_banks6".into()]
            )
        );
        // A rule of one family names that family's set as written (mwan3's habit of one
        // rule per family: `banks` with family ipv4, `banks6` with family ipv6).
        c.rules[1].family = Some(Af::Inet6);
        c.rules[1].ipset = Some("banks6".into());
        let mut v4 = c.rules[1].clone();
        v4.family = Some(Af::Inet);
        v4.ipset = Some("banks".into());
        c.rules.insert(1, v4);
        assert_eq!(
            sets(&c).0,
            vec!["banks ipv4_addr".to_string(), "banks6 ipv6_addr".into()]
        );
        let text = render(&c, &links());
        assert!(text.contains("meta nfproto ipv6 ip6 daddr @banks6 meta l4proto tcp return"));
        assert!(text.contains("meta nfproto ipv4 ip daddr @banks meta l4proto tcp return"));
        // No uplink carries IPv6: no IPv6 set.
        c.interfaces[1].family = Family::Ipv4;
        assert_eq!(sets(&c).0, vec!["banks ipv4_addr".to_string()]);
    }

    #[test]
    fn npt_translates_the_lan_prefix_both_ways_and_masquerades_only_ipv4() {
        let mut c = every_match();
        let prefix = |text: &str| {
            let (addr, len) = text.split_once('/').unwrap();
            Prefix {
                addr: addr.parse().unwrap(),
                len: len.parse().unwrap(),
            }
        };
        c.interfaces[0].family = Family::Ipv6;
        c.interfaces[0].npt = Npt::new(prefix("fd00:1::/64"), Some(prefix("2001:db8:300:1::/64")));
        c.interfaces[1].family = Family::Both;
        // Host bits of the prefixes as written are cleared.
        c.interfaces[1].npt =
            Npt::new(prefix("fd00:1::1/64"), Some(prefix("2001:db8:300:2::9/64")));
        let text = render(&c, &links());
        let nat = &text[text.find("\tchain nat {").expect("a nat chain")..];
        assert_eq!(
            nat,
            "\tchain nat {
\t\ttype nat hook postrouting priority srcnat; policy accept;
\t\tmeta nfproto ipv6 oifname \"eth1\" ip6 saddr fd00:1::/64 snat ip6 prefix to 2001:db8:300:1::/64
\t\tmeta nfproto ipv4 oifname \"eth2\" masquerade
\t\tmeta nfproto ipv6 oifname \"eth2\" ip6 saddr fd00:1::/64 snat ip6 prefix to 2001:db8:300:2::/64
\t}

\tchain nat_in {
\t\ttype nat hook prerouting priority dstnat; policy accept;
\t\tmeta nfproto ipv6 iifname \"eth1\" ip6 daddr 2001:db8:300:1::/64 dnat ip6 prefix to fd00:1::/64
\t\tmeta nfproto ipv6 iifname \"eth2\" ip6 daddr 2001:db8:300:2::/64 dnat ip6 prefix to fd00:1::/64
\t}
}
"
        );
        // Without npt_external, the first /64 of the prefix delegated now, once there is one.
        let mut delegating = links();
        c.interfaces[1].npt = Npt::new(prefix("fd00:1::/64"), None);
        assert!(!render(&c, &delegating).contains("to 2001:db8:300:2::/64"));
        delegating.get_mut(&InterfaceId(1)).unwrap().delegated6 =
            Some(prefix("2001:db8:3ff:ff00::/56"));
        let text = render(&c, &delegating);
        assert!(text.contains(
            "oifname \"eth2\" ip6 saddr fd00:1::/64 snat ip6 prefix to 2001:db8:3ff:ff00::/64"
        ));
        assert!(text.contains(
            "iifname \"eth2\" ip6 daddr 2001:db8:3ff:ff00::/64 dnat ip6 prefix to fd00:1::/64"
        ));
        // An uplink that carries no IPv6 translates nothing; without masquerade or NPTv6
        // there is no nat chain at all.
        c.interfaces[1].family = Family::Ipv4;
        c.interfaces[0].npt = None;
        let text = render(&c, &links());
        assert!(!text.contains("prefix to") && !text.contains("nat_in"));
        c.interfaces[1].masquerade = false;
        assert!(!render(&c, &links()).contains("chain nat"));
    }

    #[test]
    fn disabled_or_absent_uplinks_are_not_saved_or_masqueraded() {
        let mut c = every_match();
        c.interfaces[1].enabled = false;
        let text = render(&c, &links());
        assert!(!text.contains("eth2") && !text.contains("0x02000000 return"));
        assert!(!text.contains("masquerade"));
        let mut only_first = links();
        only_first.remove(&InterfaceId(0));
        assert!(!render(&every_match(), &only_first).contains("eth1"));
    }

    /// `every_match`'s rule `default` (mark 0x05000000 once sticky) pins sources of family
    /// `af` to wan1 (eth1) and wan2 (eth2): its sets, its rules lines, its postrouting lines.
    fn assert_pins_per_uplink(text: &str, af: Af, timeout_secs: u64) {
        let (prefix, ip) = match af {
            Af::Inet => ("sticky", "ip"),
            Af::Inet6 => ("sticky6", "ip6"),
        };
        for (iface, dev, mark) in [
            ("wan1", "eth1", "0x01000000"),
            ("wan2", "eth2", "0x02000000"),
        ] {
            let set = format!("{prefix}_default_{iface}");
            assert!(text.contains(&format!(
                "\tset {set} {{\n\t\ttype {ty}\n\t\tflags dynamic,timeout\n\t\ttimeout {timeout_secs}s\n\t\tcomment \"{ty} dynamic,timeout timeout {timeout_secs}s\"\n\t}}\n",
                ty = addr_type(af)
            )));
            assert!(text.contains(&format!(
                "meta nfproto {} {ip} saddr @{set} update @{set} {{ {ip} saddr }} meta mark set meta mark & 0xc0ffffff | {mark} return comment \"default\"",
                af.word()
            )));
            assert!(text.contains(&format!(
                "meta mark & 0x3f000000 == 0x05000000 oifname \"{dev}\" update @{set} {{ {ip} saddr }}"
            )));
        }
    }

    #[test]
    fn sticky_rule_pins_sources_per_uplink() {
        let mut c = every_match();
        c.rules[4].sticky = true;
        c.rules[4].sticky_timeout = std::time::Duration::from_secs(300);
        let text = render(&c, &links());
        // Policy 0 has both uplinks: one set each; the rule's own mark is 0x05000000.
        assert_pins_per_uplink(&text, Af::Inet, 300);
        assert!(text.contains(
            "meta nfproto ipv4 meta mark set meta mark & 0xc0ffffff | 0x05000000 return comment \"default\""
        ));
        // Targets after the sticky marks moved up by one.
        assert!(text.contains("| 0x06000000 return comment \"dark\""));
        assert_eq!(sticky_sets(&c, &links()).len(), 2);
        assert!(!text.contains("sticky6"), "no uplink carries IPv6");
    }

    #[test]
    fn sticky_rule_pins_ipv6_sources_per_uplink_that_carries_ipv6() {
        let mut c = every_match();
        c.interfaces[0].family = Family::Both;
        c.interfaces[1].family = Family::Ipv6;
        c.rules[4].sticky = true;
        c.rules[4].sticky_timeout = std::time::Duration::from_secs(90);
        let text = render(&c, &links());
        let names: Vec<(Af, String)> = sticky_sets(&c, &links())
            .into_iter()
            .map(|s| (s.af, s.name))
            .collect();
        // wan2 carries no IPv4: no IPv4 pin to it.
        assert_eq!(
            names,
            vec![
                (Af::Inet, "sticky_default_wan1".to_string()),
                (Af::Inet6, "sticky6_default_wan1".into()),
                (Af::Inet6, "sticky6_default_wan2".into()),
            ]
        );
        assert_pins_per_uplink(&text, Af::Inet6, 90);
        assert!(
            text.contains("ip saddr @sticky_default_wan1 update @sticky_default_wan1 { ip saddr }")
        );
        // An IPv4-only sticky rule pins no IPv6 source.
        c.rules[4].family = Some(Af::Inet);
        assert!(sticky_sets(&c, &links()).iter().all(|s| s.af == Af::Inet));
    }

    #[test]
    fn an_update_flushes_chains_and_keeps_sets_declared_alike() {
        let mut c = every_match();
        c.rules[4].sticky = true;
        c.rules[4].sticky_timeout = std::time::Duration::from_secs(300);
        let wanted = render(&c, &links());
        assert_eq!(update("", &wanted), wanted, "no table yet: declare it all");
        let chains = "flush chain inet rail prerouting\nflush chain inet rail output\n\
            flush chain inet rail rules\nflush chain inet rail postrouting\n\
            flush chain inet rail nat\n";
        assert_eq!(update(&wanted, &wanted), format!("{chains}{wanted}"));

        // wan2's device went away: its pins and its nat chain go, wan1's pins stay.
        let mut one = links();
        one.remove(&InterfaceId(1));
        assert_eq!(
            update(&wanted, &render(&c, &one)),
            format!(
                "{chains}delete chain inet rail nat\ndelete set inet rail sticky_default_wan2\n{}",
                render(&c, &one)
            )
        );
        // A new timeout is a new declaration: those sets start again.
        c.rules[4].sticky_timeout = std::time::Duration::from_secs(60);
        let script = update(&wanted, &render(&c, &links()));
        assert!(script.contains(
            "delete set inet rail sticky_default_wan1\ndelete set inet rail sticky_default_wan2\n"
        ));
        assert!(!script.contains("delete set inet rail rail_banks"));
    }

    #[test]
    fn passive_uplinks_count_opened_and_answered_by_ct_mark_per_family() {
        let mut c = every_match();
        c.interfaces[1].passive = true;
        c.interfaces[1].family = Family::Both;
        let text = render(&c, &links());
        let at = |what: &str| text.find(what).unwrap_or_else(|| panic!("{what}: {text}"));
        for name in [
            "opened_wan2",
            "answered_wan2",
            "opened6_wan2",
            "answered6_wan2",
        ] {
            assert!(text.contains(&format!(
                "\tcounter {name} {{\n\t\tpackets 0 bytes 0\n\t}}\n"
            )));
        }
        assert!(!text.contains("wan1 {"), "wan1 is not passive: {text}");
        // SYN-ACKs are counted before the restore rules return.
        let gate = "\t\ttcp flags & (syn | ack) == syn | ack ct direction reply jump answered\n";
        assert!(
            at("chain prerouting") < at(gate)
                && at(gate) < at("ct mark & 0x3f000000 == 0x01000000 meta mark set")
        );
        assert!(at("chain postrouting") < at("ct status & confirmed == 0 jump opened"));
        let chain = &text[at("\tchain opened {")..];
        assert_eq!(
            chain.lines().take(4).collect::<Vec<_>>(),
            [
                "\tchain opened {",
                "\t\tmeta nfproto ipv4 ct mark & 0x3f000000 == 0x02000000 counter name \"opened_wan2\" return",
                "\t\tmeta nfproto ipv6 ct mark & 0x3f000000 == 0x02000000 counter name \"opened6_wan2\" return",
                "\t}",
            ]
        );
        assert!(text.contains(
            "\t\tmeta nfproto ipv6 ct mark & 0x3f000000 == 0x02000000 counter name \"answered6_wan2\" return"
        ));
        // Without its device the uplink keeps counting by mark (a PPPoE reconnect).
        let mut gone = links();
        gone.remove(&InterfaceId(1));
        assert!(render(&c, &gone).contains("counter name \"opened_wan2\""));
        // Not passive: no counter, no gate, no chain.
        c.interfaces[1].passive = false;
        let text = render(&c, &links());
        assert!(!text.contains("counter") && !text.contains("jump opened"));
    }

    #[test]
    fn an_update_keeps_counters_still_wanted_and_deletes_the_others() {
        let mut c = every_match();
        c.interfaces[0].passive = true;
        c.interfaces[1].passive = true;
        let both = render(&c, &links());
        // nft lists a counter with what it counted.
        let listed = both.replace("packets 0 bytes 0", "packets 12 bytes 720");
        c.interfaces[1].passive = false;
        let script = update(&listed, &render(&c, &links()));
        let prelude: Vec<&str> = script.lines().filter(|l| l.starts_with("delete")).collect();
        assert_eq!(
            prelude,
            [
                "delete counter inet rail opened_wan2",
                "delete counter inet rail answered_wan2",
            ]
        );
        assert!(script.find("flush chain inet rail opened") < script.find("delete counter"));
        c.interfaces[0].passive = false;
        assert!(update(&listed, &render(&c, &links())).contains("delete chain inet rail opened\n"));
    }

    #[test]
    fn an_update_reads_what_nft_lists() {
        // `nft -t list table inet rail` on nft 1.0.6: a set of another type, one without
        // rail's comment (an older rail's), one declared as wanted.
        let listed = "table inet rail {
\tset rail_banks {
\t\ttype ipv6_addr
\t\tflags interval
\t\tcomment \"ipv6_addr interval\"
\t}

\tset old {
\t\ttype ipv4_addr
\t\tflags dynamic,timeout
\t\ttimeout 5m
\t}

\tset sticky_default_wan1 {
\t\ttype ipv4_addr
\t\tsize 65535
\t\tflags dynamic,timeout
\t\ttimeout 5m
\t\tcomment \"ipv4_addr dynamic,timeout timeout 300s\"
\t}

\tchain prerouting {
\t\ttype filter hook prerouting priority mangle; policy accept;
\t\tct state new jump rules
\t}

\tchain rules {
\t}
}
";
        let mut c = every_match();
        c.rules[4].sticky = true;
        c.rules[4].sticky_timeout = std::time::Duration::from_secs(300);
        let wanted = render(&c, &links());
        let script = update(listed, &wanted);
        let prelude: Vec<&str> = script
            .lines()
            .take_while(|l| !l.starts_with("table"))
            .collect();
        assert_eq!(
            prelude,
            [
                "flush chain inet rail prerouting",
                "flush chain inet rail rules",
                "delete set inet rail old",
                "delete set inet rail rail_banks",
            ]
        );
    }
}
