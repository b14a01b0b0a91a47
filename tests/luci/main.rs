//! The LuCI app's fixtures agree with the Rust code they stand for: the status document
//! the views are tested with deserialises into the daemon's `Status` and serialises back
//! unchanged, and the value corpus the JavaScript validators are tested with is accepted
//! and rejected exactly as rail's config reader does. (The views themselves are tested
//! under Node: tests/luci/run.sh.)

use rail::config::spec::Kind;
use rail::config::value::{parse_duration, parse_rate};
use rail::daemon::status::Status;
use serde_json::Value;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/luci/fixtures");

fn fixture(name: &str) -> Value {
    let path = format!("{FIXTURES}/{name}");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn status_fixture_is_the_daemons_status_document() {
    let json = fixture("status.json");
    let status: Status = serde_json::from_value(json.clone())
        .unwrap_or_else(|e| panic!("status.json does not read as rail's Status: {e}"));
    let back = serde_json::to_value(&status).unwrap();
    assert_eq!(
        back, json,
        "status.json has fields the daemon does not write"
    );
}

fn corpus(kind: &str) -> (Vec<String>, Vec<String>) {
    let all = fixture("values.json");
    let list = |which: &str| -> Vec<String> {
        all[kind][which]
            .as_array()
            .unwrap_or_else(|| panic!("values.json: {kind}.{which}"))
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect()
    };
    (list("accept"), list("reject"))
}

fn agrees(kind: &str, parse: impl Fn(&str) -> bool) {
    let (accept, reject) = corpus(kind);
    for s in accept {
        assert!(parse(&s), "{kind} '{s}' should be accepted");
    }
    for s in reject {
        assert!(!parse(&s), "{kind} '{s}' should be rejected");
    }
}

#[test]
fn value_corpus_matches_rails_config_reader() {
    agrees("duration", |s| parse_duration(s).is_ok());
    agrees("mask", |s| Kind::Mask.parse(s).is_ok());
    agrees("proto", |s| Kind::Proto.parse(s).is_ok());
    // the interface option 'rate': 8kbit..100gbit (values.json says the same)
    agrees("rate", |s| parse_rate(s, 8, 100_000_000).is_ok());
}
