//! End to end in the lab: the history of a running daemon. Loss on one uplink and an
//! outage of the other show in `rail history` (samples, state runs, summary, the text
//! chart within 80 columns), and a restart keeps them.

#[path = "ubus_broker/mod.rs"]
mod broker;
mod common;

use broker::{call, Broker};
use common::lab::{Fault, Lab};
use common::rail::Rail;
use common::scenario::balanced_all;
use serde_json::{json, Value};
use std::time::Duration;

fn history(rail: &Rail, args: &[&str]) -> Value {
    let mut full = vec!["history", "--json"];
    full.extend_from_slice(args);
    let out = rail.cli(&full);
    assert!(out.status.success(), "rail history: {out:?}");
    serde_json::from_slice(&out.stdout).expect("rail history --json prints JSON")
}

fn ints(v: &Value) -> Vec<i64> {
    v.as_array()
        .map(|a| a.iter().filter_map(Value::as_i64).collect())
        .unwrap_or_default()
}

fn states(v: &Value) -> Vec<String> {
    v["states"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|r| r[1].as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
#[cfg_attr(not(lab_root), ignore = "needs root: the network lab")]
fn history_shows_loss_and_an_outage_and_a_restart_keeps_it() {
    let lab = Lab::for_rail(2);
    let config = balanced_all(&lab, &[1, 1]);
    let mut rail = Rail::start(&lab, &config);
    rail.wait_state("isp1", "up", Duration::from_secs(10));
    rail.wait_state("isp2", "up", Duration::from_secs(10));
    std::thread::sleep(Duration::from_secs(2));
    lab.fault(2, Fault::Loss(40));
    std::thread::sleep(Duration::from_secs(3));
    lab.clear(2);
    lab.fault(1, Fault::Blackhole);
    rail.wait_state("isp1", "down", Duration::from_secs(10));
    std::thread::sleep(Duration::from_secs(2));
    lab.clear(1);
    rail.wait_state("isp1", "up", Duration::from_secs(15));

    let h = history(&rail, &["--span", "10m"]);
    assert_eq!(h["span"], "10m");
    let isp1 = &h["interfaces"]["isp1"]["ipv4"];
    let isp2 = &h["interfaces"]["isp2"]["ipv4"];
    assert_eq!(isp1["step"], 1);
    let rtt = ints(&isp1["rtt_us"]);
    assert!(rtt.len() >= 8, "a sample per second: {isp1}");
    assert!(rtt.iter().any(|&r| r > 0), "RTTs measured: {isp1}");
    assert!(states(isp1).contains(&"down".to_string()), "{isp1}");
    assert_eq!(isp1["summary"]["outages"], 1, "{isp1}");
    assert!(
        isp1["summary"]["longest"].as_u64().unwrap_or(0) >= 1,
        "{isp1}"
    );
    assert!(isp1["summary"]["availability"].as_f64().unwrap_or(100.0) < 100.0);
    let loss = ints(&isp2["loss_permille"]);
    assert!(loss.iter().any(|&l| l > 0), "isp2 lost probes: {isp2}");
    assert_eq!(isp2["summary"]["outages"], 0, "{isp2}");

    // The chart for people: one uplink asked for, 80 columns, the outage marked.
    let out = rail.cli(&["history", "isp1", "--span", "10m"]);
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "{out:?}");
    assert!(text.starts_with("isp1 ipv4: up, 10m:"), "{text}");
    assert!(!text.contains("isp2"), "{text}");
    assert!(text.lines().all(|l| l.chars().count() <= 80), "{text}");
    let state_row = text.lines().find(|l| l.starts_with("state ")).unwrap_or("");
    assert!(state_row.contains('X') && state_row.contains('='), "{text}");
    let bad = rail.cli(&["history", "--span", "2h"]);
    assert_eq!(bad.status.code(), Some(2), "{bad:?}");
    let unknown = rail.cli(&["history", "isp9"]);
    assert_eq!(unknown.status.code(), Some(1), "{unknown:?}");
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no interface 'isp9'"));

    // A restart keeps it: stopped, the history is written; started, read back.
    assert_eq!(rail.stop(), Some(0));
    assert!(rail.history().exists(), "written on stop");
    let sock = std::env::temp_dir().join(format!("rail-{}-ubus.sock", lab.name()));
    let broker = Broker::start(&sock);
    let rail = Rail::start_with(&lab, &config, &["-s", sock.to_str().unwrap()]);
    rail.wait_state("isp1", "up", Duration::from_secs(10));
    assert!(
        rail.log_text().contains("history: read 2 series"),
        "{}",
        rail.log_text()
    );
    let h = history(&rail, &["--span", "10m"]);
    let isp1 = &h["interfaces"]["isp1"]["ipv4"];
    assert_eq!(
        isp1["summary"]["outages"], 1,
        "kept across the restart: {isp1}"
    );
    assert!(ints(&isp1["rtt_us"]).len() >= rtt.len(), "{isp1}");

    // ubus answers the same document (written as blobmsg without a tree in between).
    rail.wait_for("rail on the bus", Duration::from_secs(10), |_| {
        broker.object("rail").is_some()
    });
    let u = call(&sock, "history", json!({"span": "10m"}))
        .expect("ubus rail history")
        .expect("an answer");
    assert_eq!(u["span"], "10m");
    let u1 = &u["interfaces"]["isp1"]["ipv4"];
    assert_eq!(u1["summary"]["outages"], 1, "{u1}");
    assert!(states(u1).contains(&"down".to_string()), "{u1}");
    assert_eq!(u1["days"][0]["date"], isp1["days"][0]["date"], "{u1}");
    assert!(
        ints(&u1["rtt_us"]).len() >= ints(&isp1["rtt_us"]).len(),
        "{u1}"
    );
    assert_eq!(
        u1["rtt_us"].as_array().map(Vec::len),
        u1["sd_us"].as_array().map(Vec::len)
    );
    assert!(u["interfaces"]["isp2"]["ipv4"]["loss_permille"].is_array());
    let day = history(&rail, &["isp2", "--span", "24h"]);
    assert_eq!(day["interfaces"]["isp2"]["ipv4"]["step"], 60);
    assert!(day["interfaces"]["isp1"].is_null(), "only isp2 asked for");
}
