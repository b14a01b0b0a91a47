//! Whatever an mwan3 file holds (values mwan3 takes, values it chokes on, dangling
//! references, reserved and overlong names), `import-mwan3` writes a file that rail's own
//! checks accept, and every note points at a line of the mwan3 file.

use proptest::prelude::*;
use proptest::sample::Index;
use rail::uci::{self, Package, Section, UciOption, Value};

type Table = &'static [(&'static str, &'static [&'static str])];

const NUM: &[&str] = &["0", "1", "2", "5", "60", "300", "x", "-1", "0.5"];
const SECS: &[&str] = &["0", "1", "4", "10", "0.5", "9999", "x"];
const MS: &[&str] = &["0", "1", "500", "1000", "5000", "999999", "x"];
const PCT: &[&str] = &["0", "10", "40", "101", "x"];
const BOOL: &[&str] = &["0", "1", "yes", "off", "x"];

const GLOBALS: Table = &[
    (
        "mmx_mask",
        &["0x3F00", "0xff00", "0x3", "0x5", "0xF0000", "junk"],
    ),
    ("logging", BOOL),
    ("loglevel", &["notice", "debug"]),
    ("rt_table_lookup", &["100"]),
    ("source_routing", BOOL),
    ("bogus", &["1"]),
];

const INTERFACE: Table = &[
    ("enabled", BOOL),
    ("family", &["ipv4", "ipv6", "both"]),
    (
        "track_method",
        &[
            "ping",
            "arping",
            "httping",
            "nping-tcp",
            "nping-udp",
            "nping-arp",
            "nslookup",
            "foo",
        ],
    ),
    ("httping_ssl", BOOL),
    ("reliability", NUM),
    ("count", NUM),
    ("timeout", SECS),
    ("interval", SECS),
    ("failure_interval", SECS),
    ("recovery_interval", SECS),
    ("keep_failure_interval", BOOL),
    ("down", NUM),
    ("up", NUM),
    ("initial_state", &["online", "offline", "maybe"]),
    ("check_quality", BOOL),
    ("failure_latency", MS),
    ("recovery_latency", MS),
    ("failure_loss", PCT),
    ("recovery_loss", PCT),
    ("max_ttl", NUM),
    ("size", &["0", "56", "1472", "5000"]),
    ("metric", NUM),
];
const TARGETS: &[&str] = &[
    "198.18.0.1",
    "198.18.0.2",
    "2001:db8::1",
    "host.example",
    "1.2.3",
];
const FLUSH: &[&str] = &[
    "ifup",
    "ifdown",
    "connected",
    "disconnected",
    "always",
    "never",
    "x",
];

const MEMBER: Table = &[
    ("interface", &["i0", "i1", "i2", "ghost"]),
    ("metric", &["0", "1", "2", "256", "300", "x"]),
    ("weight", &["0", "1", "3", "2000", "x"]),
];

const POLICY: Table = &[(
    "last_resort",
    &["unreachable", "blackhole", "default", "drop"],
)];
const POLICY_NAMES: &[&str] = &["p0", "p1", "default", "a_very_long_policy_name"];

const RULE: Table = &[
    (
        "src_ip",
        &[
            "192.168.1.0/24",
            "10.0.0.5/8",
            "2001:db8::/32",
            "host",
            "1.2.3.4,5.6.7.8",
            "1.2.3.4/40",
        ],
    ),
    ("dest_ip", &["0.0.0.0/0", "::/0", "198.51.100.7"]),
    ("src_port", &["1024:65535", "0", "x"]),
    ("dest_port", &["443", "80,443", "1000:2000", "2000:1000"]),
    ("proto", &["tcp", "udp", "icmp", "all", "igmp", "foo", "6"]),
    ("src_iface", &["lan", "guest", "nope"]),
    ("ipset", &["streaming", "my-set"]),
    ("sticky", BOOL),
    ("timeout", &["600", "0", "100000", "x"]),
    ("family", &["ipv4", "ipv6", "any", "both"]),
    (
        "use_policy",
        &[
            "p0",
            "p1",
            "default",
            "unreachable",
            "blackhole",
            "ghost",
            "a_very_long_policy_name",
        ],
    ),
    ("logging", BOOL),
];

/// Some of a table's options, each with one of its values; some written as `list`.
fn options(table: Table) -> impl Strategy<Value = Vec<UciOption>> {
    prop::collection::vec(
        (prop::option::of(any::<Index>()), any::<bool>()),
        table.len(),
    )
    .prop_map(move |picks| {
        table
            .iter()
            .zip(picks)
            .filter_map(|((name, pool), (pick, as_list))| {
                let v = pool[pick?.index(pool.len())].to_string();
                Some(opt(
                    name,
                    if as_list {
                        Value::List(vec![v])
                    } else {
                        Value::Single(v)
                    },
                ))
            })
            .collect()
    })
}

fn opt(name: &str, value: Value) -> UciOption {
    UciOption {
        name: name.into(),
        value,
        line: 0,
    }
}

fn section(stype: &str, name: Option<String>, options: Vec<UciOption>) -> Section {
    Section {
        stype: stype.into(),
        name,
        line: 0,
        options,
    }
}

fn items(pool: &'static [&'static str], max: usize) -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec(prop::sample::select(pool), 0..=max)
        .prop_map(|v| v.into_iter().map(String::from).collect())
}

fn interface() -> impl Strategy<Value = Vec<UciOption>> {
    (
        options(INTERFACE),
        items(TARGETS, 4),
        items(FLUSH, 2),
        any::<bool>(),
    )
        .prop_map(|(mut o, targets, flush, single)| {
            if !targets.is_empty() {
                let value = if single {
                    Value::Single(targets.join(" "))
                } else {
                    Value::List(targets)
                };
                o.push(opt("track_ip", value));
            }
            if !flush.is_empty() {
                o.push(opt("flush_conntrack", Value::List(flush)));
            }
            o
        })
}

fn package() -> impl Strategy<Value = Package> {
    (
        prop::option::of(options(GLOBALS)),
        prop::collection::vec(interface(), 0..4),
        prop::collection::vec(options(MEMBER), 0..6),
        prop::collection::vec(
            (
                options(POLICY),
                items(&["m0", "m1", "m2", "m3", "ghost"], 4),
            ),
            0..4,
        ),
        prop::collection::vec((options(RULE), any::<bool>()), 0..6),
    )
        .prop_map(|(globals, interfaces, members, policies, rules)| {
            let mut p = Package::default();
            if let Some(g) = globals {
                p.sections
                    .push(section("globals", Some("globals".into()), g));
            }
            for (i, o) in interfaces.into_iter().enumerate() {
                p.sections
                    .push(section("interface", Some(format!("i{i}")), o));
            }
            for (i, o) in members.into_iter().enumerate() {
                p.sections.push(section("member", Some(format!("m{i}")), o));
            }
            for ((mut o, used), name) in policies.into_iter().zip(POLICY_NAMES) {
                if !used.is_empty() {
                    o.push(opt("use_member", Value::List(used)));
                }
                p.sections
                    .push(section("policy", Some(name.to_string()), o));
            }
            for (i, (o, anonymous)) in rules.into_iter().enumerate() {
                let name = (!anonymous).then(|| format!("r{i}"));
                p.sections.push(section("rule", name, o));
            }
            p
        })
}

fn network() -> Package {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/import/network"))
            .expect("network fixture");
    uci::parse("network", &text).expect("parses")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn any_mwan3_file_imports_to_a_config_rail_accepts(pkg in package(), with_network in any::<bool>()) {
        // Through the text, so every option has a line to be noted at.
        let text = uci::export(&pkg);
        let mwan3 = uci::parse("mwan3", &text).expect("exported text parses");
        let net = with_network.then(network);
        let import = rail::import::mwan3("mwan3", &mwan3, net.as_ref());
        let out = rail::import::render(&import, "mwan3");
        let reread = uci::parse("imported", &out).expect("the import parses");
        if let Err(problems) = rail::config::from_package("imported", &reread) {
            let problems: Vec<String> = problems.iter().map(ToString::to_string).collect();
            prop_assert!(false, "mwan3:\n{text}\nimported:\n{out}\nproblems:\n{}", problems.join("\n"));
        }
        let lines = text.lines().count() as u32;
        for n in &import.notes {
            prop_assert!(n.line >= 1 && n.line <= lines, "{n}");
        }
    }
}
