//! `rail import-mwan3` on mwan3's shipped configuration and on realistic ones
//! (tests/import/*.mwan3): the result passes rail's own checks, keeps the same uplinks,
//! balanced sets, failover order and rules, and every value that could not be carried over
//! gets exactly one located note.

use rail::config::{Config, InitialState, Interface, LastResort, Proto, Target, TrackMethod};
use rail::family::{Af, Family};
use rail::import::{self, Import};
use rail::uci::{self, Package, Value};
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

fn path(name: &str) -> String {
    let p: PathBuf = [env!("CARGO_MANIFEST_DIR"), "tests/import", name]
        .iter()
        .collect();
    p.display().to_string()
}

fn package(name: &str) -> Package {
    let text = std::fs::read_to_string(path(name)).expect("fixture");
    uci::parse(&path(name), &text).expect("fixture parses")
}

/// Import a fixture and check the written file as the daemon would read it.
fn import(name: &str, network: bool) -> (Import, Config, Package) {
    let mwan3 = package(name);
    let net = network.then(|| package("network"));
    let import = import::mwan3(&path(name), &mwan3, net.as_ref());
    let text = import::render(&import, &path(name));
    let reread = uci::parse("imported", &text).expect("the imported file parses");
    assert_eq!(
        uci::show("rail", &reread),
        uci::show("rail", &import.package),
        "export and parse round-trip"
    );
    let config = rail::config::from_package("imported", &reread).unwrap_or_else(|ps| {
        let ps: Vec<String> = ps.iter().map(ToString::to_string).collect();
        panic!(
            "{name}: imported config fails rail check:\n{}\n{text}",
            ps.join("\n")
        )
    });
    (import, config, mwan3)
}

type Tiers = Vec<(u16, BTreeSet<(String, u16)>)>;

/// A policy as rail will use it: tiers by ascending metric, each a set of (uplink, weight).
fn tiers(c: &Config, policy: &str) -> Tiers {
    let p = c
        .policies
        .iter()
        .find(|p| p.name == policy)
        .unwrap_or_else(|| panic!("no policy {policy}"));
    let mut out: Tiers = Vec::new();
    for m in &p.members {
        let m = &c.members[m.0];
        let entry = (c.interfaces[m.interface.0].name.clone(), m.weight);
        match out.iter_mut().find(|(metric, _)| *metric == m.metric) {
            Some((_, set)) => {
                set.insert(entry);
            }
            None => out.push((m.metric, BTreeSet::from([entry]))),
        }
    }
    out.sort_by_key(|(metric, _)| *metric);
    out
}

fn get<'a>(pkg: &'a Package, name: &str, option: &str) -> Option<&'a Value> {
    pkg.sections
        .iter()
        .find(|s| s.name.as_deref() == Some(name))?
        .options
        .iter()
        .find(|o| o.name == option)
        .map(|o| &o.value)
}

fn single(pkg: &Package, name: &str, option: &str, default: &str) -> String {
    match get(pkg, name, option) {
        Some(Value::Single(v)) => v.clone(),
        _ => default.to_string(),
    }
}

/// The same policy read straight from the mwan3 file, as mwan3.sh `mwan3_set_policy` does
/// (metric and weight default to 1).
fn mwan3_tiers(pkg: &Package, policy: &str) -> Tiers {
    let Some(Value::List(members)) = get(pkg, policy, "use_member") else {
        return Vec::new();
    };
    let mut out: Tiers = Vec::new();
    for m in members {
        let metric: u16 = single(pkg, m, "metric", "1").parse().unwrap();
        let entry = (
            single(pkg, m, "interface", ""),
            single(pkg, m, "weight", "1").parse().unwrap(),
        );
        match out.iter_mut().find(|(x, _)| *x == metric) {
            Some((_, set)) => {
                set.insert(entry);
            }
            None => out.push((metric, BTreeSet::from([entry]))),
        }
    }
    out.sort_by_key(|(metric, _)| *metric);
    out
}

fn set(items: &[(&str, u16)]) -> BTreeSet<(String, u16)> {
    items.iter().map(|(i, w)| (i.to_string(), *w)).collect()
}

/// (rule name, what it sends its traffic to), in order.
fn rules(c: &Config) -> Vec<(String, String)> {
    c.rules
        .iter()
        .map(|r| {
            let to = match r.target {
                Target::Policy(p) => c.policies[p.0].name.clone(),
                Target::Default => "default".into(),
                Target::Unreachable => "unreachable".into(),
                Target::Blackhole => "blackhole".into(),
            };
            (r.name.clone(), to)
        })
        .collect()
}

fn names(list: &[(String, String)]) -> Vec<(&str, &str)> {
    list.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect()
}

/// (line, section, option) of every note.
fn notes(i: &Import) -> Vec<(u32, String, Option<String>)> {
    i.notes
        .iter()
        .map(|n| (n.line, n.section.clone(), n.option.clone()))
        .collect()
}

fn note(line: u32, section: &str, option: Option<&str>) -> (u32, String, Option<String>) {
    (line, section.into(), option.map(Into::into))
}

const S: fn(u64) -> Duration = Duration::from_secs;

/// interval, timeout, failure_interval, recovery_interval.
fn timings(i: &Interface) -> (Duration, Duration, Duration, Duration) {
    (
        i.interval,
        i.timeout,
        i.failure_interval,
        i.recovery_interval,
    )
}

/// down, up, count, reliability.
fn rounds(i: &Interface) -> (u32, u32, u32, u32) {
    (i.down, i.up, i.count, i.reliability)
}

#[test]
fn shipped_config_keeps_uplinks_policies_and_rules() {
    let (i, c, mwan3) = import("shipped.mwan3", false);
    let uplinks: Vec<(&str, bool, Family)> = c
        .interfaces
        .iter()
        .map(|i| (i.name.as_str(), i.enabled, i.family))
        .collect();
    assert_eq!(
        uplinks,
        [
            ("wan", true, Family::Ipv4),
            ("wan6", false, Family::Ipv6),
            ("wanb", false, Family::Ipv4),
            ("wanb6", false, Family::Ipv6),
        ]
    );
    for p in ["wan_only", "wanb_only", "balanced", "wan_wanb", "wanb_wan"] {
        assert_eq!(tiers(&c, p), mwan3_tiers(&mwan3, p), "policy {p}");
        let policy = c.policies.iter().find(|x| x.name == p).unwrap();
        assert_eq!(
            policy.last_resort,
            LastResort::Unreachable,
            "mwan3's default"
        );
    }
    assert_eq!(
        tiers(&c, "balanced"),
        [(
            1,
            set(&[("wan", 3), ("wanb", 3), ("wan6", 3), ("wanb6", 3)])
        )]
    );
    assert_eq!(
        tiers(&c, "wan_wanb"),
        [
            (1, set(&[("wan", 3), ("wan6", 3)])),
            (2, set(&[("wanb", 2), ("wanb6", 2)]))
        ]
    );
    assert_eq!(
        names(&rules(&c)),
        [
            ("https", "balanced"),
            ("default_rule_v4", "balanced"),
            ("default_rule_v6", "balanced")
        ]
    );
    let https = &c.rules[0];
    assert!(https.sticky && https.sticky_timeout == S(600));
    assert_eq!((https.proto, https.dest_port[0].first), (Proto::Tcp, 443));
    assert_eq!(c.rules[1].family, Some(Af::Inet));
    assert_eq!(c.rules[2].family, Some(Af::Inet6));

    // mwan3track's defaults, not rail's.
    let wan = &c.interfaces[0];
    assert_eq!(timings(wan), (S(10), S(4), S(10), S(10)));
    assert_eq!(rounds(wan), (5, 5, 1, 2));
    assert_eq!((wan.ttl, wan.size), (60, 56));
    assert_eq!(wan.track_method, TrackMethod::Ping);
    assert_eq!(wan.track_ip.len(), 4);
    assert!(!wan.flush_conntrack, "mwan3 flushes nothing unless told to");
    assert!(wan.quality.is_none());
    assert_eq!(c.interfaces[1].reliability, 2);
    assert_eq!(c.interfaces[2].reliability, 1);

    // Only the mask is left behind: rail's default is clear of mwan3's.
    assert_eq!(c.globals.mark_mask, rail::config::MarkMask::DEFAULT);
    assert_eq!(notes(&i), [note(7, "globals 'globals'", Some("mmx_mask"))]);
}

#[test]
fn failover_only_keeps_order_timings_and_quality_limits() {
    let (i, c, _) = import("failover.mwan3", false);
    assert_eq!(
        tiers(&c, "wan_wanb"),
        [(1, set(&[("wan", 1)])), (2, set(&[("wanb", 1)]))]
    );
    assert_eq!(c.policies[0].last_resort, LastResort::Default);
    assert_eq!(names(&rules(&c)), [("all", "wan_wanb")]);

    let wan = &c.interfaces[0];
    assert_eq!(timings(wan), (S(5), S(2), S(3), S(5)));
    assert_eq!(rounds(wan), (3, 8, 2, 2));
    let q = wan.quality.expect("check_quality 1");
    assert_eq!(
        (
            q.failure_latency,
            q.recovery_latency,
            q.failure_loss,
            q.recovery_loss
        ),
        (
            Duration::from_millis(800),
            Duration::from_millis(400),
            20,
            5
        ),
        "mwan3's plain numbers are milliseconds"
    );
    assert!(wan.flush_conntrack);
    assert_eq!(wan.initial_state, InitialState::Online);

    let wanb = &c.interfaces[1];
    assert_eq!(wanb.initial_state, InitialState::Offline);
    assert!(wanb.enabled && !wanb.flush_conntrack);
    assert_eq!(
        (wanb.interval, wanb.timeout, wanb.down, wanb.up),
        (S(10), S(4), 5, 5)
    );
    assert_eq!(notes(&i), [note(5, "globals 'globals'", Some("mmx_mask"))]);
}

#[test]
fn three_wans_in_two_tiers_keep_their_shares_and_probes() {
    let (i, c, mwan3) = import("tiers.mwan3", false);
    assert_eq!(
        tiers(&c, "tiered"),
        [
            (1, set(&[("fibre", 3), ("cable", 2)])),
            (2, set(&[("lte", 1)]))
        ]
    );
    assert_eq!(
        tiers(&c, "voip"),
        [(1, set(&[("cable", 2)])), (3, set(&[("fibre", 1)]))]
    );
    for p in ["tiered", "voip"] {
        assert_eq!(tiers(&c, p), mwan3_tiers(&mwan3, p));
    }
    assert_eq!(c.policies[1].last_resort, LastResort::Blackhole);
    assert_eq!(
        names(&rules(&c)),
        [("sip", "voip"), ("office", "tiered"), ("rest", "tiered")]
    );
    let sip = &c.rules[0];
    assert_eq!(sip.proto, Proto::Udp);
    let ports: Vec<(u16, u16)> = sip.dest_port.iter().map(|p| (p.first, p.last)).collect();
    assert_eq!(ports, [(5060, 5060), (10000, 20000)]);
    assert_eq!(c.rules[1].src_ip[0].len, 24);

    let cable = &c.interfaces[1];
    assert_eq!(
        (cable.track_method, cable.track_port),
        (TrackMethod::Tcp, 443)
    );
    let lte = &c.interfaces[2];
    assert_eq!(lte.track_method, TrackMethod::Dns);
    assert_eq!(
        lte.track_dns_name, "www.google.com",
        "what mwan3's nslookup asks"
    );
    assert_eq!((lte.interval, lte.timeout), (S(30), S(5)));
    assert_eq!(
        notes(&i),
        [note(14, "interface 'cable'", Some("track_method"))]
    );
}

#[test]
fn rules_with_sticky_ipset_and_src_iface_through_the_network_file() {
    let (i, c, _) = import("rules.mwan3", true);
    assert_eq!(
        names(&rules(&c)),
        [
            ("banking", "balanced"),
            ("https", "balanced"),
            ("streaming", "wan_wanb"),
            ("guests", "wan_wanb"),
            ("lan_dns", "default"),
            ("nas_out", "blackhole"),
            ("v6_unreach", "unreachable"),
            ("default_rule", "balanced"),
        ]
    );
    let r = |n: &str| c.rules.iter().find(|r| r.name == n).unwrap();
    assert_eq!(r("banking").sticky_timeout, S(1800));
    assert!(r("banking").sticky && r("https").sticky);
    assert_eq!(r("https").sticky_timeout, S(600));
    assert!(!r("streaming").sticky);
    assert_eq!(r("streaming").ipset.as_deref(), Some("streaming"));
    assert_eq!(r("guests").src_dev, ["br-guest"], "pre-21.02 bridge");
    assert_eq!(r("lan_dns").src_dev, ["br-lan"], "21.02 device");
    assert_eq!(r("nas_out").family, Some(Af::Inet));
    assert_eq!(r("v6_unreach").family, Some(Af::Inet6));
    assert_eq!(
        tiers(&c, "wan_wanb"),
        [(1, set(&[("wan", 1)])), (2, set(&[("wanb", 1)]))]
    );
    assert_eq!(notes(&i), [note(44, "rule 'streaming'", Some("ipset"))]);
    // No family: mwan3 matches both, so the set's IPv6 twin must be filled too.
    assert!(
        i.notes[0]
            .message
            .contains("nftset=/example.com/4#inet#rail#streaming,6#inet#rail#streaming6)"),
        "{}",
        i.notes[0]
    );
}

#[test]
fn src_iface_without_the_network_file_leaves_the_rule_out_rather_than_widen_it() {
    let (i, c, _) = import("rules.mwan3", false);
    let kept: Vec<String> = rules(&c).into_iter().map(|(n, _)| n).collect();
    assert!(!kept.contains(&"guests".to_string()) && !kept.contains(&"lan_dns".to_string()));
    assert_eq!(kept.len(), 6);
    assert_eq!(
        notes(&i),
        [
            note(44, "rule 'streaming'", Some("ipset")),
            note(48, "rule 'guests'", Some("src_iface")),
            note(52, "rule 'lan_dns'", Some("src_iface")),
        ]
    );
    assert!(i.notes[1].message.contains("--network"), "{}", i.notes[1]);
}

#[test]
fn values_that_cannot_be_carried_get_one_located_note_each() {
    let (i, c, _) = import("weird.mwan3", false);
    let g = "globals 'globals'";
    let (wan, wanb, wan6) = ("interface 'wan'", "interface 'wanb'", "interface 'wan6'");
    let expected = [
        note(4, g, Some("mmx_mask")),
        note(5, g, Some("logging")),
        note(7, g, Some("rt_table_lookup")),
        // failure_ and recovery_interval are absent: located at the section.
        note(9, wan, Some("failure_interval")),
        note(9, wan, Some("recovery_interval")),
        note(13, wan, Some("track_ip")),
        note(13, wan, Some("track_ip")),
        note(14, wan, Some("reliability")),
        note(16, wan, Some("interval")),
        note(17, wan, Some("keep_failure_interval")),
        note(18, wan, Some("count")),
        note(20, wan, Some("failure_latency")),
        note(21, wan, Some("flush_conntrack")),
        note(21, wan, Some("flush_conntrack")),
        note(22, wan, Some("metric")),
        note(25, wanb, Some("track_ip")),
        note(26, wanb, Some("track_method")),
        note(27, wanb, Some("down")),
        note(31, wan6, Some("track_method")),
        note(39, "member 'wan_m300'", Some("metric")),
        note(42, "member 'ghost_m1'", Some("interface")),
        note(46, "member 'wanb_m1_w0'", Some("weight")),
        note(52, "policy 'balanced'", Some("use_member")),
        note(52, "policy 'balanced'", Some("use_member")),
        note(53, "policy 'balanced'", Some("last_resort")),
        note(55, "policy 'a_very_long_policy_name'", None),
        note(58, "rule 'nopolicy'", None),
        note(62, "rule 'by_name'", Some("dest_ip")),
        note(67, "rule 'icmp_ports'", Some("dest_port")),
        note(68, "rule 'icmp_ports'", Some("logging")),
        note(72, "rule 'lan_only'", Some("src_iface")),
        note(76, "rule 'long'", Some("use_policy")),
        note(78, "rule 'mixed'", None),
        note(84, "rule 'set_dash'", Some("ipset")),
        note(89, "rule 'rest'", Some("dst_port")),
    ];
    let got = notes(&i);
    let show: Vec<String> = i.notes.iter().map(ToString::to_string).collect();
    assert_eq!(got, expected, "notes:\n{}", show.join("\n"));

    // What was kept is in rail's ranges and as close to mwan3 as rail allows.
    assert_eq!(
        c.globals.mark_mask.bits(),
        0xff00,
        "a non-default mask is kept"
    );
    let w = &c.interfaces[0];
    assert_eq!(
        w.track_ip,
        ["198.18.0.1".parse::<std::net::IpAddr>().unwrap()]
    );
    assert_eq!(
        (w.reliability, w.count, w.timeout, w.interval),
        (1, 10, S(5), S(5))
    );
    assert_eq!(
        w.quality.unwrap().failure_latency,
        Duration::from_millis(4999)
    );
    assert!(!w.flush_conntrack, "ifup alone is not a flush on down");
    let b = &c.interfaces[1];
    assert_eq!(
        (b.track_method, b.down, b.track_ip.len()),
        (TrackMethod::Ping, 5, 1)
    );
    assert_eq!(c.interfaces[2].track_method, TrackMethod::Ping);
    assert_eq!(
        tiers(&c, "balanced"),
        [(1, set(&[("wan", 1), ("wanb", 1)]))]
    );
    assert_eq!(c.policies[0].last_resort, LastResort::Unreachable);
    assert_eq!(
        names(&rules(&c)),
        [("icmp_ports", "balanced"), ("rest", "balanced")]
    );
    assert!(c.rules[0].dest_port.is_empty());
    // Every note reads FILE:LINE: section [option 'x']: why.
    assert!(show[0].starts_with(&format!(
        "{}:4: globals 'globals' option 'mmx_mask': ",
        path("weird.mwan3")
    )));
}

fn rail(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_rail"))
        .args(args)
        .output()
        .expect("run rail")
}

#[test]
fn the_command_writes_the_file_and_lists_notes_on_stderr() {
    let dir = std::env::temp_dir().join(format!("rail-import-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("rail");
    let out_s = out.display().to_string();
    let weird = path("weird.mwan3");
    let run = rail(&["import-mwan3", &weird, "-o", &out_s]);
    assert_eq!(run.status.code(), Some(0));
    assert!(run.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&run.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 36, "35 notes and a summary:\n{stderr}");
    assert!(lines[1].starts_with(&format!("{weird}:5: globals 'globals' option 'logging': ")));
    assert!(lines[35].contains("3 interfaces, 2 members, 1 policies, 2 rules"));
    let check = rail(&["-c", &out_s, "check"]);
    assert_eq!(
        check.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );

    // Without -o the file goes to stdout, and is the same.
    let to_stdout = rail(&["import-mwan3", &weird]);
    assert_eq!(to_stdout.stdout, std::fs::read(&out).unwrap());
    let _ = std::fs::remove_dir_all(&dir);

    let missing = rail(&["import-mwan3", "/nonexistent/mwan3"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("cannot read /nonexistent/mwan3"));
}

#[test]
fn an_ipv6_rules_ipset_becomes_the_sets_ipv6_twin_and_a_family_clash_is_left_out() {
    let text = "config policy 'p'\n\nconfig rule 'v6'\n\toption src_ip '2001:db8::/32'\n\toption ipset 'streaming'\n\toption use_policy 'p'\n\nconfig rule 'both'\n\toption ipset 'streaming'\n\toption use_policy 'p'\n\nconfig rule 'v4'\n\toption family 'ipv4'\n\toption ipset 'streaming6'\n\toption use_policy 'p'\n";
    let mwan3 = uci::parse("mwan3", text).unwrap();
    let import = import::mwan3("mwan3", &mwan3, None);
    let out = uci::show("rail", &import.package);
    let config = rail::config::from_package("imported", &import.package)
        .unwrap_or_else(|ps| panic!("rail check refuses the import: {ps:?}\n{out}"));
    let ipset = |n: &str| {
        let r = config.rules.iter().find(|r| r.name == n);
        r.map(|r| (r.ipset_for(Af::Inet), r.ipset_for(Af::Inet6)))
    };
    // Both rules' IPv6 destinations in one set, IPv4 in another.
    assert_eq!(
        ipset("v6"),
        Some((None, Some("streaming6".into()))),
        "{out}"
    );
    assert_eq!(
        ipset("both"),
        Some((Some("streaming".into()), Some("streaming6".into())))
    );
    // `streaming6` would hold IPv4 for rule v4: left out, with the reason.
    assert_eq!(ipset("v4"), None, "{out}");
    let v4 = import
        .notes
        .iter()
        .find(|n| n.section == "rule 'v4'")
        .unwrap();
    assert!(v4.message.contains("a set holds one family"), "{v4}");
    let v6 = import
        .notes
        .iter()
        .find(|n| n.section == "rule 'v6'")
        .unwrap();
    assert!(
        v6.message
            .contains("nftset=/example.com/6#inet#rail#streaming6)"),
        "{v6}"
    );
}
