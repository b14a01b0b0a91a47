//! From checked sections to a `Config`: references between sections, duplicates across
//! sections, consistency between options, and the interfaces' marks. Every problem is
//! reported; a `Config` is returned only when there are none.

use super::model::*;
use super::options::{GlobalsOptions, InterfaceOptions, MemberOptions, PolicyOptions, RuleOptions};
use super::problem::{Problem, SectionName};
use super::section::{Read, Report};
use super::spec::{self, SECTIONS};
use super::suggest;
use super::value::format_duration;
use crate::family::{Af, Family};
use crate::uci::Package;
use std::time::Duration;

pub fn from_package(file: &str, pkg: &Package) -> Result<Config, Vec<Problem>> {
    let mut report = Report {
        file: file.to_string(),
        problems: Vec::new(),
    };
    let reads = read_sections(pkg, &mut report);
    let of = |stype: &'static str| reads.iter().filter(move |r| r.spec.stype == stype);

    let globals = globals(of(GlobalsOptions::STYPE).next(), &mut report);
    let interfaces: Vec<Interface> = of(InterfaceOptions::STYPE)
        .enumerate()
        .map(|(i, r)| interface(r, globals.mark_mask, i, &mut report))
        .collect();
    let interface_reads: Vec<&Read> = of(InterfaceOptions::STYPE).collect();
    check_interfaces(&interface_reads, &interfaces, &mut report);
    check_mark_room(
        of(GlobalsOptions::STYPE).next(),
        &globals,
        &interface_reads,
        &mut report,
    );

    let members: Vec<Member> = of(MemberOptions::STYPE)
        .map(|r| member(r, &interfaces, &mut report))
        .collect();
    let policies: Vec<Policy> = of(PolicyOptions::STYPE)
        .map(|r| policy(r, &members, &mut report))
        .collect();
    let rules: Vec<Rule> = of(RuleOptions::STYPE)
        .map(|r| rule(r, &policies, &mut report))
        .collect();
    check_ipsets(
        &of(RuleOptions::STYPE).collect::<Vec<_>>(),
        &rules,
        &mut report,
    );
    check_dataplane_marks(
        of(GlobalsOptions::STYPE).next(),
        &globals,
        [of(InterfaceOptions::STYPE), of(PolicyOptions::STYPE)]
            .into_iter()
            .flatten(),
        of(RuleOptions::STYPE)
            .zip(&rules)
            .filter(|(_, r)| r.sticky && matches!(r.target, Target::Policy(_))),
        &mut report,
    );

    let mut problems = report.problems;
    if problems.is_empty() {
        return Ok(Config {
            globals,
            interfaces,
            members,
            policies,
            rules,
        });
    }
    // File order reads best; sort is stable, so one line's problems keep their order.
    problems.sort_by_key(|p| p.line);
    Err(problems)
}

/// Read every section of a known type; report unknown types.
fn read_sections(pkg: &Package, report: &mut Report) -> Vec<Read> {
    let mut reads = Vec::new();
    for (i, section) in pkg.sections.iter().enumerate() {
        let name = SectionName {
            stype: section.stype.clone(),
            name: match &section.name {
                Some(n) => n.clone(),
                // `uci show` numbers anonymous sections among all sections of their type.
                None => {
                    let n = pkg.sections[..i]
                        .iter()
                        .filter(|s| s.stype == section.stype)
                        .count();
                    format!("@{}[{n}]", section.stype)
                }
            },
        };
        match spec::section(&section.stype) {
            Some(spec) => reads.push(Read::new(spec, name, section, report)),
            None => {
                let types: Vec<&str> = SECTIONS.iter().map(|s| s.stype).collect();
                let hint = suggest::hint(&section.stype, types.iter().copied());
                report.add(
                    section.line,
                    &name,
                    None,
                    format!("unknown section type{hint}; allowed: {}", types.join(", ")),
                );
            }
        }
    }
    for (i, r) in reads.iter().enumerate() {
        if r.spec.single {
            if let Some(first) = reads[..i].iter().find(|f| f.spec.stype == r.spec.stype) {
                report.add(
                    r.line,
                    &r.name,
                    None,
                    format!(
                        "only one {} section is allowed (the first is at line {})",
                        r.spec.stype, first.line
                    ),
                );
            }
        }
    }
    reads
}

/// The first globals section (a second is reported by `read_sections`), or the defaults.
fn globals(read: Option<&Read>, report: &mut Report) -> Globals {
    let defaults;
    let r = match read {
        Some(r) => r,
        None => {
            defaults = Read::new(
                spec::section("globals").expect("globals spec"),
                SectionName {
                    stype: "globals".into(),
                    name: "globals".into(),
                },
                &crate::uci::Section {
                    stype: "globals".into(),
                    name: None,
                    line: 0,
                    options: Vec::new(),
                },
                report,
            );
            &defaults
        }
    };
    let o = GlobalsOptions::read(r);
    Globals {
        enabled: o.enabled,
        mark_mask: MarkMask::new(o.mark_mask).unwrap_or(MarkMask::DEFAULT),
        hooks: o.hook,
        hook_timeout: o.hook_timeout.unwrap_or_default(),
        log_level: match o.log_level.as_deref() {
            Some("off") => log::LevelFilter::Off,
            Some("emerg" | "alert" | "crit" | "err" | "error") => log::LevelFilter::Error,
            Some("warning" | "warn") => log::LevelFilter::Warn,
            Some("debug") => log::LevelFilter::Debug,
            Some("trace") => log::LevelFilter::Trace,
            _ => log::LevelFilter::Info,
        },
    }
}

/// Reports a problem with one option of the section being built.
type Say<'a> = dyn FnMut(&str, String) + 'a;

fn interface(r: &Read, mask: MarkMask, position: usize, report: &mut Report) -> Interface {
    let mut say = |option: &str, message: String| {
        report.add(r.line_of(option), &r.name, Some(option), message)
    };
    let o = InterfaceOptions::read(r);
    let family = o.family.unwrap_or(Family::Ipv4);
    let track_method = o.track_method.unwrap_or(TrackMethod::Ping);
    check_families(&o, family, track_method, &mut say);
    let (timeout, failure_interval, recovery_interval) = periods(&o, &mut say);
    let quality = quality(&o, timeout, &mut say);
    let npt = npt(r, &o, family, &mut say);
    if o.ip6prefix.is_some() && family == Family::Ipv4 {
        say(
            "ip6prefix",
            "a delegated IPv6 prefix needs family ipv6 or both; this interface carries IPv4 only"
                .into(),
        );
    }
    Interface {
        name: r.given_name.clone().unwrap_or_default(),
        enabled: o.enabled,
        device: o.device,
        gateway: o.gateway,
        family,
        // When the mask is too small check_mark_room reports it, and no Config is returned.
        mark: mask
            .mark(position as u32 + 1)
            .or(mask.mark(1))
            .expect("a mark mask holds at least one mark"),
        track_method,
        track_ip: o.track_ip,
        track_port: o.track_port,
        track_dns_name: o.track_dns_name.unwrap_or_default(),
        reliability: o.reliability,
        count: o.count,
        timeout,
        interval: o.interval.unwrap_or_default(),
        failure_interval,
        recovery_interval,
        down: o.down,
        up: o.up,
        hold: o.hold.unwrap_or_default(),
        initial_state: o.initial_state.unwrap_or(InitialState::Online),
        quality,
        ttl: o.ttl,
        size: o.size,
        flush_conntrack: o.flush_conntrack,
        masquerade: o.masquerade,
        passive: o.passive,
        npt,
        ip6prefix: o.ip6prefix,
        rate: o.rate,
    }
}

/// The gateway and targets must be of the interface's families, reliability within the
/// targets of each family, and arping is IPv4's.
fn check_families(o: &InterfaceOptions, family: Family, method: TrackMethod, say: &mut Say) {
    if let Some(gw) = o.gateway.filter(|gw| !family.holds(gw)) {
        say(
            "gateway",
            format!("{gw} is {} but family is {}", Af::of(&gw), family.word()),
        );
    }
    for t in o.track_ip.iter().filter(|t| !family.holds(t)) {
        say(
            "track_ip",
            format!("{t} is {} but family is {}", Af::of(t), family.word()),
        );
    }
    let reliability = o.reliability;
    for af in Af::BOTH {
        let n = o.track_ip.iter().filter(|t| af.holds(t)).count() as u32;
        if n > 0 && reliability > n {
            say(
                "reliability",
                format!(
                    "{reliability} is more than the {n} {af} targets in track_ip; allowed: 1..{n}"
                ),
            );
        }
    }
    if method == TrackMethod::Arping && family == Family::Ipv6 {
        say(
            "track_method",
            "arping works on IPv4 only; use ping for family ipv6".into(),
        );
    }
}

/// timeout, failure_interval and recovery_interval (given, or derived from interval); a
/// probe must be judged before the next round of any period.
fn periods(o: &InterfaceOptions, say: &mut Say) -> (Duration, Duration, Duration) {
    let interval = o.interval.unwrap_or_default();
    let timeout = o
        .timeout
        .unwrap_or((interval / 2).min(Duration::from_secs(1)));
    let failure_interval = o.failure_interval.unwrap_or((interval / 2).max(timeout));
    let recovery_interval = o.recovery_interval.unwrap_or(interval.max(timeout));
    for (name, period) in [
        ("interval", interval),
        ("failure_interval", failure_interval),
        ("recovery_interval", recovery_interval),
    ] {
        if timeout > period {
            say(
                "timeout",
                format!(
                    "{} is longer than {name} {}: a probe must be judged before the next round; lower timeout or raise {name}",
                    format_duration(timeout),
                    format_duration(period)
                ),
            );
        }
    }
    (timeout, failure_interval, recovery_interval)
}

/// check_quality's limits: reachable within timeout, recovery no looser than failure.
fn quality(o: &InterfaceOptions, timeout: Duration, say: &mut Say) -> Option<Quality> {
    let q = o.check_quality.then(|| Quality {
        failure_latency: o.failure_latency.unwrap_or_default(),
        recovery_latency: o.recovery_latency.unwrap_or_default(),
        failure_loss: o.failure_loss,
        recovery_loss: o.recovery_loss,
    })?;
    if q.failure_latency >= timeout {
        say(
            "failure_latency",
            format!(
                "{} can never be reached: probes time out after {}; allowed: less than timeout",
                format_duration(q.failure_latency),
                format_duration(timeout)
            ),
        );
    }
    if q.recovery_latency > q.failure_latency {
        say(
            "recovery_latency",
            format!(
                "{} is above failure_latency {}: recovery must not accept worse than failure tolerates",
                format_duration(q.recovery_latency),
                format_duration(q.failure_latency)
            ),
        );
    }
    if q.recovery_loss > q.failure_loss {
        say(
            "recovery_loss",
            format!(
                "{}% is above failure_loss {}%: recovery must not accept worse than failure tolerates",
                q.recovery_loss, q.failure_loss
            ),
        );
    }
    Some(q)
}

/// npt_internal, with npt_external or learned from the delegated prefix: IPv6, one
/// length, on an uplink that carries IPv6.
fn npt(r: &Read, o: &InterfaceOptions, fam: Family, say: &mut Say) -> Option<Npt> {
    let external = o.npt_external;
    let Some(internal) = o.npt_internal else {
        // An invalid npt_internal has its own problem already.
        if external.is_some() && !r.is_given("npt_internal") {
            say(
                "npt_external",
                "needs npt_internal, the LAN prefix it translates".into(),
            );
        }
        return None;
    };
    if let Some(external) = external.filter(|e| internal.len != e.len) {
        say(
            "npt_external",
            format!("{external} is a /{} but npt_internal {internal} is a /{}: NPTv6 maps a prefix to one of the same length", external.len, internal.len),
        );
    }
    if fam == Family::Ipv4 {
        say(
            "npt_internal",
            "NPTv6 needs family ipv6 or both; this interface carries IPv4 only".into(),
        );
    }
    Npt::new(internal, external)
}

/// Two interfaces on one device would fight over its routes.
fn check_interfaces(reads: &[&Read], interfaces: &[Interface], report: &mut Report) {
    for (i, (r, itf)) in reads.iter().zip(interfaces).enumerate() {
        let Some(dev) = &itf.device else { continue };
        if let Some((first, _)) = reads[..i]
            .iter()
            .zip(interfaces)
            .find(|(_, o)| o.device.as_ref() == Some(dev))
        {
            report.add(
                r.line_of("device"),
                &r.name,
                Some("device"),
                format!(
                    "'{dev}' is already the device of interface '{}' (line {})",
                    first.name.name,
                    first.line_of("device")
                ),
            );
        }
    }
}

/// Interface n gets mark n inside the mask (on a fresh start; the daemon keeps marks by name,
/// `marks::keep_marks`): the mask must hold them all.
fn check_mark_room(
    globals_read: Option<&Read>,
    globals: &Globals,
    interfaces: &[&Read],
    report: &mut Report,
) {
    let room = globals.mark_mask.capacity() as usize;
    if interfaces.len() <= room {
        return;
    }
    let message = format!(
        "mark_mask {:#x} holds {room} interface marks but {} interfaces are configured; widen mark_mask",
        globals.mark_mask.bits(),
        interfaces.len()
    );
    match globals_read.filter(|g| g.is_given("mark_mask")) {
        Some(g) => report.add(g.line_of("mark_mask"), &g.name, Some("mark_mask"), message),
        None => {
            let first_over = interfaces[room];
            report.add(first_over.line, &first_over.name, None, message);
        }
    }
}

/// After the interfaces' marks come one per policy, one per sticky rule and two for rules
/// that target unreachable and blackhole (docs/dataplane.md): the mask must hold them all.
/// Too many interfaces alone is `check_mark_room`'s to report.
fn check_dataplane_marks<'a>(
    globals_read: Option<&Read>,
    globals: &Globals,
    interfaces_and_policies: impl Iterator<Item = &'a Read>,
    sticky_rules: impl Iterator<Item = (&'a Read, &'a Rule)>,
    report: &mut Report,
) {
    // Sections in mark order: the first one past the mask's room has no mark.
    let mut owners: Vec<&Read> = interfaces_and_policies.collect();
    let interfaces = owners
        .iter()
        .filter(|r| r.spec.stype == "interface")
        .count();
    let policies = owners.len() - interfaces;
    owners.extend(sticky_rules.map(|(r, _)| r));
    let sticky = owners.len() - interfaces - policies;
    let room = globals.mark_mask.capacity() as usize;
    let needed = super::marks::marks_needed(interfaces, policies, sticky);
    if interfaces > room || needed <= room {
        return;
    }
    let message = format!(
        "mark_mask {:#x} holds {room} marks but this configuration needs {needed} ({interfaces} interfaces, {policies} policies, {sticky} sticky rules, 2 for unreachable/blackhole rules); widen mark_mask",
        globals.mark_mask.bits()
    );
    let at = globals_read
        .filter(|g| g.is_given("mark_mask"))
        .map(|g| (g.line_of("mark_mask"), &g.name, Some("mark_mask")))
        .or_else(|| {
            let first_over = owners.get(room).or(owners.last())?;
            Some((first_over.line, &first_over.name, None))
        });
    if let Some((line, name, option)) = at {
        report.add(line, name, option, message);
    }
}

/// A set in rail's table holds addresses of one family, and rail names its own sets
/// `sticky_*` and `sticky6_*`: an `ipset` must not name a set another rule uses for the
/// other family (`Rule::ipset_for`), nor one of rail's.
fn check_ipsets(reads: &[&Read], rules: &[Rule], report: &mut Report) {
    for (i, (r, rule)) in reads.iter().zip(rules).enumerate() {
        let Some(name) = &rule.ipset else { continue };
        let mut say =
            |message: String| report.add(r.line_of("ipset"), &r.name, Some("ipset"), message);
        if name.starts_with("sticky_") || name.starts_with("sticky6_") {
            say(format!(
                "'{name}' is a name rail gives its sticky sets; choose another"
            ));
            continue;
        }
        for af in Af::BOTH {
            let Some(set) = rule.ipset_for(af) else {
                continue;
            };
            let clash = reads[..i].iter().zip(rules).find_map(|(o, other)| {
                (other.ipset_for(af.other()).as_ref() == Some(&set)).then_some(o)
            });
            if let Some(o) = clash {
                say(format!(
                    "'{set}' holds this rule's {} destinations but rule '{}' (line {}) uses it for {}: a set holds one family. A rule for both families uses '<ipset>' for IPv4 and '<ipset>6' for IPv6; name the sets apart, or give each rule a family",
                    af,
                    o.name.name,
                    o.line_of("ipset"),
                    af.other()
                ));
            }
        }
    }
}

/// Resolve a reference to a section by name, or say which names exist.
fn resolve(
    r: &Read,
    option: &str,
    what: &str,
    wanted: &str,
    names: &[&str],
    report: &mut Report,
) -> Option<usize> {
    if let Some(i) = names.iter().position(|n| *n == wanted) {
        return Some(i);
    }
    let known = match suggest::did_you_mean(wanted, names.iter().copied()) {
        Some(s) => format!("did you mean '{s}'?"),
        None if names.is_empty() => format!("there are no {what} sections"),
        None => format!("{what} sections are: {}", names.join(", ")),
    };
    report.add(
        r.line_of(option),
        &r.name,
        Some(option),
        format!("{what} '{wanted}' does not exist ({known})"),
    );
    None
}

fn member(r: &Read, interfaces: &[Interface], report: &mut Report) -> Member {
    let names: Vec<&str> = interfaces.iter().map(|i| i.name.as_str()).collect();
    let o = MemberOptions::read(r);
    let interface = o
        .interface
        .and_then(|wanted| resolve(r, "interface", "interface", &wanted, &names, report))
        .unwrap_or(0);
    Member {
        name: r.given_name.clone().unwrap_or_default(),
        interface: InterfaceId(interface),
        metric: o.metric,
        weight: o.weight,
    }
}

fn policy(r: &Read, members: &[Member], report: &mut Report) -> Policy {
    let names: Vec<&str> = members.iter().map(|m| m.name.as_str()).collect();
    if let Some(reserved) = r
        .given_name
        .as_deref()
        .filter(|n| Target::special(n).is_some())
    {
        report.add(
            r.line,
            &r.name,
            None,
            format!("'{reserved}' is reserved for rules' use_policy; choose another name"),
        );
    }
    let o = PolicyOptions::read(r);
    let mut ids: Vec<MemberId> = Vec::new();
    for wanted in o.use_member {
        let Some(i) = resolve(r, "use_member", "member", &wanted, &names, report) else {
            continue;
        };
        if let Some(other) = ids
            .iter()
            .find(|o| members[o.0].interface == members[i].interface)
        {
            report.add(
                r.line_of("use_member"),
                &r.name,
                Some("use_member"),
                format!("'{wanted}' and '{}' use the same interface; a policy may use each interface once", members[other.0].name),
            );
        }
        ids.push(MemberId(i));
    }
    Policy {
        name: r.given_name.clone().unwrap_or_default(),
        members: ids,
        last_resort: o.last_resort.unwrap_or(LastResort::Unreachable),
    }
}

/// A rule's prefixes must be of its family.
fn check_prefixes(r: &Read, option: &str, list: &[Prefix], fam: Option<Af>, report: &mut Report) {
    if let Some(fam) = fam {
        for p in list.iter().filter(|p| !fam.holds(&p.addr)) {
            report.add(
                r.line_of(option),
                &r.name,
                Some(option),
                format!(
                    "{}/{} is {} but family is {}",
                    p.addr,
                    p.len,
                    Af::of(&p.addr),
                    fam.word()
                ),
            );
        }
    }
}

fn rule(r: &Read, policies: &[Policy], report: &mut Report) -> Rule {
    let o = RuleOptions::read(r);
    check_prefixes(r, "src_ip", &o.src_ip, o.family, report);
    check_prefixes(r, "dest_ip", &o.dest_ip, o.family, report);
    for (option, list) in [("src_port", &o.src_port), ("dest_port", &o.dest_port)] {
        if !list.is_empty() && !matches!(o.proto, Proto::Tcp | Proto::Udp) {
            report.add(
                r.line_of(option),
                &r.name,
                Some(option),
                "ports need proto tcp or udp".into(),
            );
        }
    }
    let names: Vec<&str> = policies.iter().map(|p| p.name.as_str()).collect();
    let target = match o.use_policy {
        Some(wanted) => Target::special(&wanted).unwrap_or_else(|| {
            match resolve(r, "use_policy", "policy", &wanted, &names, report) {
                Some(i) => Target::Policy(PolicyId(i)),
                None => Target::Unreachable,
            }
        }),
        None => Target::Unreachable,
    };
    Rule {
        name: r.name.name.clone(),
        src_ip: o.src_ip,
        dest_ip: o.dest_ip,
        src_port: o.src_port,
        dest_port: o.dest_port,
        proto: o.proto,
        src_dev: o.src_dev,
        ipset: o.ipset,
        family: o.family,
        sticky: o.sticky,
        sticky_timeout: o.timeout.unwrap_or_default(),
        target,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str) -> Result<Config, Vec<String>> {
        let package = crate::uci::parse("rail.conf", text).expect("valid UCI syntax");
        from_package("rail.conf", &package)
            .map_err(|ps| ps.iter().map(ToString::to_string).collect())
    }

    fn problems(text: &str) -> Vec<String> {
        check(text).expect_err("the config should have problems")
    }

    const TWO_UPLINKS: &str = "
config interface 'wan'
	list track_ip '198.18.0.1'
	list track_ip '198.18.0.2'

config interface 'wanb'
	list track_ip '198.18.0.1'

config member 'wan_m1'
	option interface 'wan'

config member 'wanb_m2'
	option interface 'wanb'
	option metric '2'

config policy 'failover'
	list use_member 'wan_m1'
	list use_member 'wanb_m2'

config rule
	option use_policy 'failover'
";

    #[test]
    fn a_valid_file_gets_the_documented_defaults() {
        let c = check(TWO_UPLINKS).expect("valid");
        let s = Duration::from_millis;
        let wan = &c.interfaces[0];
        assert_eq!(wan.name, "wan");
        assert!(wan.enabled);
        assert_eq!(wan.family, Family::Ipv4);
        assert_eq!(wan.track_method, TrackMethod::Ping);
        assert_eq!(
            (
                wan.interval,
                wan.timeout,
                wan.failure_interval,
                wan.recovery_interval,
                wan.hold
            ),
            (s(1000), s(500), s(500), s(1000), s(2000))
        );
        assert_eq!((wan.down, wan.up, wan.reliability, wan.count), (3, 5, 1, 1));
        assert_eq!((wan.ttl, wan.size, wan.track_port), (64, 56, 443));
        assert_eq!(wan.track_dns_name, ".");
        assert!(wan.flush_conntrack && !wan.masquerade && wan.quality.is_none());
        assert_eq!(wan.initial_state, InitialState::Online);
        assert_eq!(wan.mark.value(), 0x0100_0000);
        assert_eq!(c.interfaces[1].mark.value(), 0x0200_0000);
        assert_eq!(c.members[1].interface, InterfaceId(1));
        assert_eq!((c.members[1].metric, c.members[1].weight), (2, 1));
        assert_eq!(c.policies[0].members, vec![MemberId(0), MemberId(1)]);
        assert_eq!(c.policies[0].last_resort, LastResort::Unreachable);
        assert_eq!(c.rules[0].name, "@rule[0]");
        assert_eq!(c.rules[0].target, Target::Policy(PolicyId(0)));
        assert_eq!((c.rules[0].proto, c.rules[0].family), (Proto::All, None));
        assert_eq!(c.rules[0].sticky_timeout, s(600_000));
        assert_eq!(c.globals.mark_mask, MarkMask::DEFAULT);
        assert_eq!(c.globals.hook_timeout, s(10_000));
        assert_eq!(c.globals.log_level, log::LevelFilter::Info);
        assert!(c.globals.enabled && c.globals.hooks.is_empty());
    }

    #[test]
    fn the_shipped_default_is_two_uplinks_balanced_with_a_failover_policy() {
        let c = check(include_str!("../../files/etc/config/rail")).expect("valid");
        let names: Vec<&str> = c.interfaces.iter().map(|i| i.name.as_str()).collect();
        assert_eq!(names, ["wan", "wanb"]);
        for i in &c.interfaces {
            assert_eq!(
                (i.track_ip.len(), i.reliability, i.down, i.up),
                (3, 1, 3, 5)
            );
        }
        let policies: Vec<(&str, usize)> = c
            .policies
            .iter()
            .map(|p| (p.name.as_str(), p.members.len()))
            .collect();
        assert_eq!(policies, [("balanced", 2), ("wan_wanb", 2)]);
        let tiers: Vec<u16> = c.policies[1]
            .members
            .iter()
            .map(|m| c.members[m.0].metric)
            .collect();
        assert_eq!(tiers, [1, 2]);
        let last = c.rules.last().expect("a rule");
        assert!(last.src_ip.is_empty() && last.dest_ip.is_empty() && last.dest_port.is_empty());
        assert_eq!(last.target, Target::Policy(PolicyId(0)));
    }

    #[test]
    fn probe_periods_follow_a_fast_interval() {
        let c = check("config interface 'wan'\n option interval '0.2'\n option down '3'").unwrap();
        let i = &c.interfaces[0];
        let ms = Duration::from_millis;
        assert_eq!(
            (i.timeout, i.failure_interval, i.recovery_interval),
            (ms(100), ms(100), ms(200))
        );
        let c =
            check("config interface 'wan'\n option interval '1'\n option timeout '800ms'").unwrap();
        let i = &c.interfaces[0];
        assert_eq!(
            (i.failure_interval, i.recovery_interval),
            (ms(800), ms(1000))
        );
    }

    #[test]
    fn every_option_is_read_into_the_model() {
        let c = check(
            "config globals 'globals'
	option enabled 'no'
	option mmx_mask '0xF0'
	list hook '/etc/rail.user'
	option hook_timeout '2.5s'
	option loglevel 'notice'
config interface 'wan'
	option enabled 'off'
	option device 'pppoe-wan'
	option gateway '2001:db8::1'
	option family 'both'
	option track_method 'dns'
	list track_ip '2001:db8::53'
	list track_ip '192.0.2.53'
	option track_port '53'
	option track_dns_name 'openwrt.org'
	option reliability '1'
	option count '2'
	option timeout '300ms'
	option interval '2'
	option failure_interval '0.5'
	option recovery_interval '1m'
	option down '4'
	option up '6'
	option hold '0'
	option initial_state 'offline'
	option check_quality '1'
	option failure_latency '200ms'
	option recovery_latency '100ms'
	option failure_loss '30'
	option recovery_loss '2'
	option max_ttl '32'
	option size '0'
	list flush_conntrack 'ifup'
	list flush_conntrack 'disconnected'
	option masquerade 'yes'
config member 'm'
	option interface 'wan'
	option metric '256'
	option weight '1000'
config policy 'p'
	list use_member 'm'
	option last_resort 'blackhole'
config rule 'web'
	option src_ip '192.168.1.0/24,2001:db8:1::/48'
	list dest_ip '198.51.100.7'
	option src_port '1000-2000'
	option dest_port '80,443'
	option proto 'tcp'
	list src_dev 'br-lan'
	option ipset 'streaming'
	option sticky '1'
	option timeout '30s'
	option use_policy 'blackhole'",
        )
        .expect("valid");
        let ms = Duration::from_millis;
        let g = &c.globals;
        assert!(!g.enabled);
        assert_eq!(g.mark_mask.bits(), 0xF0);
        assert_eq!(g.hooks, vec!["/etc/rail.user".to_string()]);
        assert_eq!(
            (g.hook_timeout, g.log_level),
            (ms(2500), log::LevelFilter::Info)
        );
        let i = &c.interfaces[0];
        assert!(!i.enabled && i.masquerade && i.flush_conntrack);
        assert_eq!(i.device.as_deref(), Some("pppoe-wan"));
        assert_eq!(i.gateway, Some("2001:db8::1".parse().unwrap()));
        assert_eq!((i.family, i.track_method), (Family::Both, TrackMethod::Dns));
        assert_eq!(i.track_ip.len(), 2);
        assert_eq!(
            (i.track_port, i.track_dns_name.as_str()),
            (53, "openwrt.org")
        );
        assert_eq!(
            (i.reliability, i.count, i.down, i.up, i.ttl, i.size),
            (1, 2, 4, 6, 32, 0)
        );
        assert_eq!(
            (
                i.timeout,
                i.interval,
                i.failure_interval,
                i.recovery_interval,
                i.hold
            ),
            (ms(300), ms(2000), ms(500), ms(60_000), ms(0))
        );
        assert_eq!(i.initial_state, InitialState::Offline);
        assert_eq!(
            i.quality,
            Some(Quality {
                failure_latency: ms(200),
                recovery_latency: ms(100),
                failure_loss: 30,
                recovery_loss: 2
            })
        );
        assert_eq!(i.mark.value(), 0x10);
        assert_eq!((c.members[0].metric, c.members[0].weight), (256, 1000));
        assert_eq!(c.policies[0].last_resort, LastResort::Blackhole);
        let r = &c.rules[0];
        assert_eq!(r.name, "web");
        assert_eq!(r.src_ip.len(), 2);
        assert_eq!(r.dest_ip[0].len, 32);
        assert_eq!(
            r.src_port,
            vec![PortRange {
                first: 1000,
                last: 2000
            }]
        );
        assert_eq!(
            r.dest_port,
            vec![
                PortRange {
                    first: 80,
                    last: 80
                },
                PortRange {
                    first: 443,
                    last: 443
                }
            ]
        );
        assert_eq!((r.proto, r.family), (Proto::Tcp, None));
        assert_eq!(r.src_dev, vec!["br-lan".to_string()]);
        assert_eq!(r.ipset.as_deref(), Some("streaming"));
        assert!(r.sticky);
        assert_eq!(r.sticky_timeout, ms(30_000));
        assert_eq!(r.target, Target::Blackhole);
    }

    #[test]
    fn the_issue_example_gives_three_located_problems() {
        let p = problems(
            "config interface 'wan'
	option intervall '1'
	option down 'three'
config member 'wan_m1'
	option interface 'wna'",
        );
        assert_eq!(
            p,
            vec![
                "rail.conf:2: interface 'wan' option 'intervall': unknown option (did you mean 'interval'?)",
                "rail.conf:3: interface 'wan' option 'down': 'three' is not a whole number; allowed: 1..100",
                "rail.conf:5: member 'wan_m1' option 'interface': interface 'wna' does not exist (did you mean 'wan'?)",
            ]
        );
    }

    #[test]
    fn unknown_sections_and_options() {
        let p = problems("config interfaces 'wan'\nconfig member 'm'\n option interface 'x'\n option bandwidth '9'");
        assert_eq!(p[0], "rail.conf:1: interfaces 'wan': unknown section type (did you mean 'interface'?); allowed: globals, interface, member, policy, rule");
        assert_eq!(p[1], "rail.conf:3: member 'm' option 'interface': interface 'x' does not exist (there are no interface sections)");
        assert_eq!(p[2], "rail.conf:4: member 'm' option 'bandwidth': unknown option; member options are: interface, metric, weight");
        assert_eq!(p.len(), 3);
        let p = problems("config interface 'wan'\n option use_policy 'x'");
        assert_eq!(p, vec!["rail.conf:2: interface 'wan' option 'use_policy': unknown option for interface: it belongs in a rule section"]);
        let p = problems("config rules\nconfig route");
        assert_eq!(p, vec![
            "rail.conf:1: rules '@rules[0]': unknown section type (did you mean 'rule'?); allowed: globals, interface, member, policy, rule",
            "rail.conf:2: route '@route[0]': unknown section type; allowed: globals, interface, member, policy, rule",
        ]);
    }

    #[test]
    fn wrong_types_numbers_and_durations() {
        let p = problems(
            "config interface 'wan'
	option enabled 'maybe'
	option reliability '0'
	option interval '-1'
	option failure_latency '1000'
	option gateway '192.0.2.300'
	option family 'ipv5'",
        );
        assert_eq!(p.len(), 6, "{p:#?}");
        assert!(p[0].ends_with("option 'enabled': 'maybe' is not a boolean; allowed: 1/0, yes/no, on/off, true/false, enabled/disabled"));
        assert!(p[1].ends_with("option 'reliability': 0 is out of range; allowed: 1..64"));
        assert!(p[2].ends_with("option 'interval': '-1' is not a duration (write seconds as '1' or '0.2', or '200ms', '1.5s', '2m'); allowed: 10ms..1h"));
        assert!(p[3].contains("option 'failure_latency': 1000s is out of range (plain numbers are seconds: write '1000ms' for milliseconds); allowed: 1ms..30s"), "{}", p[3]);
        assert!(p[4].ends_with("option 'gateway': '192.0.2.300' is not an IPv4 or IPv6 address; allowed: an IPv4 or IPv6 address"));
        assert!(p[5].ends_with("option 'family': 'ipv5' is not a choice (did you mean 'ipv4'?); allowed: ipv4, ipv6, both"));
    }

    #[test]
    fn list_where_one_value_is_expected_and_back() {
        let p = problems("config interface 'wan'\n list interval '1'\n list interval '2'\n option track_ip '1.1.1.1'");
        assert_eq!(
            p,
            vec![
                "rail.conf:3: interface 'wan' option 'interval': takes one value, not a list: write `option interval '...'`",
                "rail.conf:4: interface 'wan' option 'track_ip': is a list: write one `list track_ip '...'` line per value",
            ]
        );
    }

    #[test]
    fn references_and_special_targets() {
        let p = problems(&format!("{TWO_UPLINKS}\nconfig policy 'p2'\n list use_member 'wan_m2'\nconfig rule\n option use_policy 'balance'"));
        assert_eq!(p.len(), 2, "{p:#?}");
        assert!(p[0].ends_with("policy 'p2' option 'use_member': member 'wan_m2' does not exist (did you mean 'wan_m1'?)"));
        assert!(p[1].ends_with("rule '@rule[1]' option 'use_policy': policy 'balance' does not exist (policy sections are: failover, p2)"));
        for target in ["default", "unreachable", "blackhole"] {
            let c = check(&format!("config rule\n option use_policy '{target}'")).unwrap();
            assert_ne!(c.rules[0].target, Target::Policy(PolicyId(0)));
        }
        let p = problems("config rule 'r'");
        assert_eq!(p, vec!["rail.conf:1: rule 'r' option 'use_policy': is required; allowed: letters, digits and _"]);
        let p = problems("config policy 'default'");
        assert_eq!(p, vec!["rail.conf:1: policy 'default': 'default' is reserved for rules' use_policy; choose another name"]);
    }

    #[test]
    fn duplicates() {
        let p = problems(
            "config interface 'wan'
	option device 'eth1'
	list track_ip '198.18.0.1'
	list track_ip '198.18.0.1'
config interface 'wanb'
	option device 'eth1'
config member 'a'
	option interface 'wan'
config member 'b'
	option interface 'wan'
	option metric '2'
config policy 'p'
	list use_member 'a'
	list use_member 'a'
config policy 'q'
	list use_member 'a'
	list use_member 'b'
config rule
	option dest_port '80,80'
	option proto 'tcp'
	option use_policy 'p'",
        );
        assert_eq!(
            p,
            vec![
                "rail.conf:4: interface 'wan' option 'track_ip': '198.18.0.1' is listed twice",
                "rail.conf:6: interface 'wanb' option 'device': 'eth1' is already the device of interface 'wan' (line 2)",
                "rail.conf:14: policy 'p' option 'use_member': 'a' is listed twice",
                "rail.conf:17: policy 'q' option 'use_member': 'b' and 'a' use the same interface; a policy may use each interface once",
                "rail.conf:19: rule '@rule[0]' option 'dest_port': '80' is listed twice",
            ]
        );
    }

    #[test]
    fn consistency_between_options() {
        let p = problems(
            "config interface 'wan'
	list track_ip '198.18.0.1'
	list track_ip '2001:db8::1'
	option reliability '2'
	option timeout '2s'
	option check_quality '1'
	option failure_latency '300ms'
	option recovery_latency '400ms'
	option failure_loss '10'
	option recovery_loss '20'
	option gateway '2001:db8::ff'",
        );
        assert_eq!(
            p,
            vec![
                "rail.conf:3: interface 'wan' option 'track_ip': 2001:db8::1 is IPv6 but family is ipv4",
                "rail.conf:4: interface 'wan' option 'reliability': 2 is more than the 1 IPv4 targets in track_ip; allowed: 1..1",
                "rail.conf:4: interface 'wan' option 'reliability': 2 is more than the 1 IPv6 targets in track_ip; allowed: 1..1",
                "rail.conf:5: interface 'wan' option 'timeout': 2s is longer than interval 1s: a probe must be judged before the next round; lower timeout or raise interval",
                "rail.conf:8: interface 'wan' option 'recovery_latency': 400ms is above failure_latency 300ms: recovery must not accept worse than failure tolerates",
                "rail.conf:10: interface 'wan' option 'recovery_loss': 20% is above failure_loss 10%: recovery must not accept worse than failure tolerates",
                "rail.conf:11: interface 'wan' option 'gateway': 2001:db8::ff is IPv6 but family is ipv4",
            ]
        );
        let p = problems(
            "config interface 'wan'\n option check_quality '1'\n option failure_latency '0.5'",
        );
        assert_eq!(p, vec!["rail.conf:3: interface 'wan' option 'failure_latency': 500ms can never be reached: probes time out after 500ms; allowed: less than timeout"]);
        let p = problems(
            "config interface 'wan'\n option family 'ipv6'\n option track_method 'arping'",
        );
        assert_eq!(p, vec!["rail.conf:3: interface 'wan' option 'track_method': arping works on IPv4 only; use ping for family ipv6"]);
        // Quality limits are not judged while check_quality is off.
        assert!(check("config interface 'wan'\n option recovery_loss '50'").is_ok());
    }

    #[test]
    fn rules_ports_need_tcp_or_udp_and_addresses_match_the_family() {
        let p = problems(
            "config rule
	option dest_port '443'
	option src_ip '2001:db8::/32'
	option family 'ipv4'
	option use_policy 'default'",
        );
        assert_eq!(
            p,
            vec![
                "rail.conf:2: rule '@rule[0]' option 'dest_port': ports need proto tcp or udp",
                "rail.conf:3: rule '@rule[0]' option 'src_ip': 2001:db8::/32 is IPv6 but family is ipv4",
            ]
        );
        assert!(check(
            "config rule\n option dest_port '53'\n option proto '17'\n option use_policy 'default'"
        )
        .is_ok());
    }

    #[test]
    fn mark_mask_must_hold_every_interface() {
        let four = "config interface 'a'\nconfig interface 'b'\nconfig interface 'c'\nconfig interface 'd'";
        let p = problems(&format!(
            "config globals\n option mark_mask '0x300'\n{four}"
        ));
        assert_eq!(p, vec!["rail.conf:2: globals '@globals[0]' option 'mark_mask': mark_mask 0x300 holds 3 interface marks but 4 interfaces are configured; widen mark_mask"]);
        let c = check(&format!(
            "config globals\n option mark_mask '0x700'\n{four}"
        ))
        .unwrap();
        let marks: Vec<u32> = c.interfaces.iter().map(|i| i.mark.value()).collect();
        assert_eq!(marks, vec![0x100, 0x200, 0x300, 0x400]);
        let p = problems("config globals\n option mark_mask '0x5'");
        assert!(p[0].ends_with("option 'mark_mask': '0x5' is not a contiguous run of bits; allowed: a contiguous run of bits, e.g. 0x3F000000"));
        let sixty_four: String = (0..64)
            .map(|i| format!("config interface 'u{i}'\n"))
            .collect();
        let p = problems(&sixty_four);
        assert_eq!(p, vec!["rail.conf:64: interface 'u63': mark_mask 0x3f000000 holds 63 interface marks but 64 interfaces are configured; widen mark_mask"]);
    }

    #[test]
    fn ip6prefix_is_an_ipv6_prefix_on_an_uplink_carrying_ipv6() {
        let wan = |family: &str, opts: &str| {
            TWO_UPLINKS.replacen(
                "config interface 'wan'\n",
                &format!("config interface 'wan'\n\toption family '{family}'\n{opts}"),
                1,
            )
        };
        let c = check(&wan("both", "\toption ip6prefix '2001:db8:300::/56'\n")).expect("valid");
        assert_eq!(
            c.interfaces[0].ip6prefix.map(|p| p.to_string()).as_deref(),
            Some("2001:db8:300::/56")
        );
        assert_eq!(c.interfaces[1].ip6prefix, None);
        let p = problems(&wan("ipv4", "\toption ip6prefix '2001:db8:300::/56'\n"));
        assert_eq!(p, vec!["rail.conf:4: interface 'wan' option 'ip6prefix': a delegated IPv6 prefix needs family ipv6 or both; this interface carries IPv4 only"]);
        let p = problems(&wan("both", "\toption ip6prefix '192.0.2.0/24'\n"));
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(p[0].contains("option 'ip6prefix'"), "{p:?}");
    }

    #[test]
    fn npt_needs_two_ipv6_prefixes_of_one_length_on_an_ipv6_uplink() {
        let wan = |opts: &str| {
            TWO_UPLINKS.replacen(
                "config interface 'wan'\n",
                &format!("config interface 'wan'\n\toption family 'both'\n{opts}"),
                1,
            )
        };
        let c = check(&wan(
            "\toption npt_internal 'fd00:1::/64'\n\toption npt_external '2001:db8:300:1::/64'\n",
        ))
        .expect("valid");
        let npt = c.interfaces[0].npt.expect("npt");
        assert_eq!(
            (
                npt.internal().to_string(),
                npt.external(None).map(|e| e.to_string())
            ),
            ("fd00:1::/64".into(), Some("2001:db8:300:1::/64".into()))
        );
        assert_eq!(c.interfaces[1].npt, None);
        // Without npt_external: the first /64 of the prefix delegated at the time.
        let c = check(&wan("\toption npt_internal 'fd00:1::/64'\n")).expect("valid");
        let npt = c.interfaces[0].npt.expect("npt");
        let delegated = Prefix {
            addr: "2001:db8:300:100::".parse().unwrap(),
            len: 56,
        };
        assert_eq!(npt.external(None), None);
        assert_eq!(
            npt.external(Some(delegated)).map(|e| e.to_string()),
            Some("2001:db8:300:100::/64".into())
        );
        let too_long = Prefix {
            len: 80,
            ..delegated
        };
        assert_eq!(npt.external(Some(too_long)), None);
        let p = problems(&wan("\toption npt_external '2001:db8:300:1::/64'\n"));
        assert!(
            p[0].ends_with("needs npt_internal, the LAN prefix it translates"),
            "{p:?}"
        );
        let p = problems(&wan(
            "\toption npt_internal 'fd00:1::/64'\n\toption npt_external '2001:db8:300::/56'\n",
        ));
        assert_eq!(p, vec!["rail.conf:5: interface 'wan' option 'npt_external': 2001:db8:300::/56 is a /56 but npt_internal fd00:1::/64 is a /64: NPTv6 maps a prefix to one of the same length"]);
        let p = problems(&wan(
            "\toption npt_internal '10.0.0.0/8'\n\toption npt_external '2001:db8::/32'\n",
        ));
        assert_eq!(p, vec!["rail.conf:4: interface 'wan' option 'npt_internal': 10.0.0.0/8 is IPv4; NPTv6 translates IPv6 prefixes; allowed: an IPv6 CIDR prefix, e.g. fd00:1::/64"]);
        let p = problems(&TWO_UPLINKS.replacen(
            "config interface 'wan'\n",
            "config interface 'wan'\n\toption npt_internal 'fd00:1::/64'\n\toption npt_external '2001:db8:300:1::/64'\n",
            1,
        ));
        assert_eq!(p, vec!["rail.conf:3: interface 'wan' option 'npt_internal': NPTv6 needs family ipv6 or both; this interface carries IPv4 only"]);
    }

    #[test]
    fn an_ipset_holds_one_family() {
        let base = format!("{TWO_UPLINKS}\toption ipset 'banks'\n");
        // Both families: 'banks' (IPv4) and 'banks6' (IPv6); one rule per family as mwan3
        // users write them is fine too.
        assert!(check(&base).is_ok());
        assert!(check(&format!("{TWO_UPLINKS}\toption ipset 'banks'\n\toption family 'ipv4'\nconfig rule\n\toption use_policy 'failover'\n\toption family 'ipv6'\n\toption ipset 'banks6'\n")).is_ok());
        let p = problems(&format!(
            "{base}config rule 'v4'\n\toption use_policy 'failover'\n\toption family 'ipv4'\n\toption ipset 'banks6'\n"
        ));
        assert_eq!(p, vec!["rail.conf:26: rule 'v4' option 'ipset': 'banks6' holds this rule's IPv4 destinations but rule '@rule[0]' (line 22) uses it for IPv6: a set holds one family. A rule for both families uses '<ipset>' for IPv4 and '<ipset>6' for IPv6; name the sets apart, or give each rule a family"]);
        let p = problems(&format!(
            "{base}config rule 'v6'\n\toption use_policy 'failover'\n\toption family 'ipv6'\n\toption ipset 'banks'\n"
        ));
        assert!(p[0].contains("'banks' holds this rule's IPv6 destinations but rule '@rule[0]' (line 22) uses it for IPv4"), "{p:?}");
        let p = problems(&format!("{TWO_UPLINKS}\toption ipset 'sticky_x'\n"));
        assert!(
            p[0].ends_with("'sticky_x' is a name rail gives its sticky sets; choose another"),
            "{p:?}"
        );
    }

    #[test]
    fn mark_mask_must_hold_policies_sticky_rules_and_rule_targets_too() {
        // 0x700 holds 7 marks: 2 interfaces + 2 policies + 1 sticky rule + 2 targets.
        let base = "config globals\n option mark_mask '0x700'\nconfig interface 'a'\nconfig interface 'b'\nconfig member 'm'\n option interface 'a'\nconfig policy 'p'\n list use_member 'm'\nconfig policy 'q'\n list use_member 'm'\nconfig rule 'r'\n option use_policy 'p'\n option sticky '1'";
        assert!(check(base).is_ok());
        let p = problems(&format!(
            "{base}\nconfig rule 's'\n option use_policy 'q'\n option sticky '1'"
        ));
        assert_eq!(p, vec!["rail.conf:2: globals '@globals[0]' option 'mark_mask': mark_mask 0x700 holds 7 marks but this configuration needs 8 (2 interfaces, 2 policies, 2 sticky rules, 2 for unreachable/blackhole rules); widen mark_mask"]);
    }

    #[test]
    fn sections_that_need_names_and_single_globals() {
        let p = problems("config globals\nconfig globals\nconfig interface\nconfig member\n option interface 'x'");
        assert_eq!(p[0], "rail.conf:2: globals '@globals[1]': only one globals section is allowed (the first is at line 1)");
        assert_eq!(p[1], "rail.conf:3: interface '@interface[0]': needs a name (`config interface 'NAME'`): other sections refer to it by name");
        assert_eq!(p[2], "rail.conf:4: member '@member[0]': needs a name (`config member 'NAME'`): other sections refer to it by name");
    }

    #[test]
    fn aliases_count_as_the_option() {
        let p = problems("config globals\n option mark_mask '0xF00'\n option mmx_mask '0xF0'");
        assert_eq!(p, vec!["rail.conf:3: globals '@globals[0]' option 'mark_mask': given twice (also at line 2, under another spelling)"]);
    }

    #[test]
    fn disabled_interfaces_are_kept_with_their_mark() {
        let c = check("config interface 'a'\n option enabled '0'\nconfig interface 'b'").unwrap();
        assert!(!c.interfaces[0].enabled && c.interfaces[1].enabled);
        assert_eq!(c.interfaces[1].mark.value(), 0x0200_0000);
    }

    #[test]
    fn flush_conntrack_accepts_mwan3_lists() {
        let flush = |v: &str| {
            check(&format!("config interface 'a'\n{v}"))
                .unwrap()
                .interfaces[0]
                .flush_conntrack
        };
        assert!(flush(
            " list flush_conntrack 'ifup'\n list flush_conntrack 'ifdown'"
        ));
        assert!(!flush(
            " list flush_conntrack 'ifup'\n list flush_conntrack 'connected'"
        ));
        assert!(!flush(" option flush_conntrack '0'"));
        assert!(flush(""));
    }

    #[test]
    fn problems_come_in_file_order() {
        let p = problems(
            "config rule\n option use_policy 'nope'\nconfig interface 'wan'\n option up '0'",
        );
        let lines: Vec<&str> = p.iter().map(|l| l.split(':').nth(1).unwrap()).collect();
        assert_eq!(lines, vec!["2", "4"]);
    }
}
