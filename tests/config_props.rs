//! Whatever a file holds, checking it never panics, and a file that passes converts to a
//! model whose references and marks are consistent.

use proptest::prelude::*;
use rail::config::spec::SECTIONS;
use rail::config::{from_package, Target};
use rail::uci::{Package, Section, UciOption, Value};

/// Values near the edges of what the options accept, and some that are wrong.
const VALUES: &[&str] = &[
    "",
    "0",
    "1",
    "2",
    "3",
    "64",
    "256",
    "1001",
    "-1",
    "0.2",
    "1.5s",
    "200ms",
    "2m",
    "1e3",
    "yes",
    "off",
    "maybe",
    "ipv4",
    "ipv6",
    "both",
    "any",
    "ping",
    "arping",
    "tcp",
    "udp",
    "icmp",
    "online",
    "ifdown",
    "ifup",
    "unreachable",
    "blackhole",
    "default",
    "0x3F000000",
    "0x5",
    "0xF0",
    "198.18.0.1",
    "2001:db8::1",
    "10.0.0.0/8",
    "10.0.0.1/8",
    "80",
    "80,443",
    "1000-2000",
    "eth1",
    "br-lan",
    "/etc/rail.user",
    "wan",
    "wanb",
    "m1",
    "m2",
    "p1",
];
const NAMES: &[&str] = &["wan", "wanb", "m1", "m2", "p1", "default"];

fn option() -> impl Strategy<Value = UciOption> {
    let names: Vec<&'static str> = SECTIONS
        .iter()
        .flat_map(|s| s.options.iter().flat_map(|o| o.spellings()))
        .chain(["bogus", "intervall"])
        .collect();
    (
        proptest::sample::select(names),
        proptest::collection::vec(proptest::sample::select(VALUES), 1..4),
        any::<bool>(),
        1u32..200,
    )
        .prop_map(|(name, values, list, line)| UciOption {
            name: name.to_string(),
            value: if list {
                Value::List(values.iter().map(|v| v.to_string()).collect())
            } else {
                Value::Single(values[0].to_string())
            },
            line,
        })
}

fn section() -> impl Strategy<Value = Section> {
    let types: Vec<&'static str> = SECTIONS.iter().map(|s| s.stype).chain(["route"]).collect();
    (
        proptest::sample::select(types),
        proptest::option::of(proptest::sample::select(NAMES)),
        proptest::collection::vec(option(), 0..8),
        1u32..200,
    )
        .prop_map(|(stype, name, mut options, line)| {
            // uci keeps one entry per option name: the last statement wins.
            let mut seen = std::collections::HashSet::new();
            options.reverse();
            options.retain(|o| seen.insert(o.name.clone()));
            options.reverse();
            Section {
                stype: stype.to_string(),
                name: name.map(str::to_string),
                line,
                options,
            }
        })
}

proptest! {
    #[test]
    fn checking_never_panics_and_valid_configs_are_consistent(
        sections in proptest::collection::vec(section(), 0..10)
    ) {
        let pkg = Package { sections };
        match from_package("p.conf", &pkg) {
            Err(problems) => {
                for p in problems {
                    prop_assert!(p.to_string().starts_with("p.conf:"));
                }
            }
            Ok(c) => {
                for m in &c.members {
                    prop_assert!(m.interface.0 < c.interfaces.len());
                }
                for p in &c.policies {
                    prop_assert!(p.members.iter().all(|m| m.0 < c.members.len()));
                }
                for r in &c.rules {
                    if let Target::Policy(p) = r.target {
                        prop_assert!(p.0 < c.policies.len());
                    }
                }
                let mut marks: Vec<u32> = c.interfaces.iter().map(|i| i.mark.value()).collect();
                prop_assert!(marks.iter().all(|m| m & !c.globals.mark_mask.bits() == 0 && *m != 0));
                marks.dedup();
                prop_assert_eq!(marks.len(), c.interfaces.len());
            }
        }
    }
}
