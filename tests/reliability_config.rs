//! Every option of every section (src/config/spec.rs), given a value of the wrong type or
//! out of its range, is refused with a problem located at its file, line and option, and
//! nothing is built from the file (docs/reliability.md, bad input). Generated from the
//! spec table, so a new option is covered the day it is added.

use rail::config::spec::{Kind, Shape, SECTIONS};
use std::time::Duration;

/// A valid config; a bad option is appended to the section of its type.
const BASE: &[(&str, &str)] = &[
    ("globals", "config globals 'globals'\n"),
    (
        "interface",
        "config interface 'wan'\n\toption device 'eth1'\n\tlist track_ip '198.18.0.1'\n",
    ),
    ("member", "config member 'm1'\n\toption interface 'wan'\n"),
    ("policy", "config policy 'p'\n\tlist use_member 'm1'\n"),
    ("rule", "config rule 'r'\n\toption use_policy 'p'\n"),
];

fn millis(d: Duration) -> u128 {
    d.as_millis()
}

/// Values that must be refused for an option of this kind: wrong types first, then the
/// values just outside its range.
fn bad_values(kind: &Kind) -> Vec<String> {
    let mut v: Vec<String> = vec!["not a value".into(), "x;rm -rf /".into()];
    match *kind {
        Kind::Int { min, max } => {
            v.push("1.5".into());
            v.push("-1".into());
            if min > 0 {
                v.push((min - 1).to_string());
            }
            v.push((max + 1).to_string());
        }
        Kind::Mask => v.extend(["0x5".into(), "0x1FFFFFFFF".into(), "0".into()]),
        Kind::Duration { min, max } => {
            v.push("-1".into());
            if millis(min) > 0 {
                v.push(format!("{}ms", millis(min) - 1));
            }
            v.push(format!("{}ms", millis(max) + 1));
        }
        Kind::Addr => v.extend(["999.1.1.1".into(), "198.18.0.1/24".into()]),
        Kind::Prefix => v.extend(["10.0.0.0/33".into(), "10.0.0.256".into()]),
        Kind::Ports => v.extend(["70000".into(), "2000-1000".into(), "0".into()]),
        Kind::Rate { .. } => v.extend(["1bit".into(), "1000000gbit".into()]),
        Kind::Device => v.push("a-device-name-too-long".into()),
        _ => {}
    }
    // Only what the spec itself refuses: a value that happens to be valid (a device named
    // "x;rm") is no test.
    v.retain(|t| kind.parse(t).is_err());
    v
}

fn config_with(stype: &str, line: &str) -> (String, u32) {
    let mut text = String::new();
    let mut at = 0;
    for (s, section) in BASE {
        text += section;
        // Last in its section: UCI's last value wins over the base's own.
        if *s == stype {
            at = text.lines().count() as u32 + 1;
            text += line;
            text += "\n";
        }
        text += "\n";
    }
    assert!(at > 0, "no base section {stype}");
    (text, at)
}

#[test]
fn the_base_config_is_valid() {
    let (text, _) = config_with("globals", "");
    let pkg = rail::uci::parse("rail", &text).unwrap();
    assert!(rail::config::from_package("rail", &pkg).is_ok());
}

#[test]
fn every_option_refuses_wrong_types_and_out_of_range_values_with_its_location() {
    let mut checked = 0;
    for section in SECTIONS {
        for opt in section.options {
            let values = bad_values(&opt.kind);
            assert!(
                !values.is_empty(),
                "{} {}: no bad value to test",
                section.stype,
                opt.name
            );
            let keyword = if opt.shape == Shape::List {
                "list"
            } else {
                "option"
            };
            for value in values {
                let line = format!("\t{keyword} {} '{}'", opt.name, value.replace('\'', ""));
                let (text, at) = config_with(section.stype, &line);
                let pkg = rail::uci::parse("rail", &text)
                    .unwrap_or_else(|e| panic!("{line}: not even UCI: {e:?}"));
                let problems = match rail::config::from_package("rail", &pkg) {
                    Ok(_) => panic!("{} {line} accepted:\n{text}", section.stype),
                    Err(p) => p,
                };
                let located = problems
                    .iter()
                    .find(|p| p.line == Some(at) && p.option.as_deref() == Some(opt.name));
                let Some(p) = located else {
                    panic!(
                        "{} {line}: no problem at line {at} naming {}: {problems:?}",
                        section.stype, opt.name
                    )
                };
                let shown = p.to_string();
                assert!(
                    shown.starts_with(&format!("rail:{at}:")) && shown.contains(opt.name),
                    "an admin can find it: {shown}"
                );
                checked += 1;
            }
        }
    }
    eprintln!("{checked} bad values refused");
    assert!(checked > 100, "{checked}");
}
