//! `rail status` and maintenance against a daemon in the lab: every field of the status
//! contract with values that match the lab after real traffic, the table for people, and
//! an uplink taken out of service and put back (root only).

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::lab::{Fault, Lab};
use common::rail::binary;
use common::scenario::{balanced_all, start_up, via, VERDICT};
use serde_json::Value;

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn num(v: &Value, what: &str) -> f64 {
    v.as_f64()
        .unwrap_or_else(|| panic!("{what} is not a number: {v}"))
}

fn text(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr)
}

/// The daemon counts flows every 10 s: a count is in the status within this long.
const FLOWS_COUNTED: Duration = Duration::from_secs(15);

fn total_flows(s: &Value) -> f64 {
    ["isp1", "isp2"]
        .iter()
        .map(|i| num(&s["interfaces"][i]["flows"], "flows"))
        .sum()
}

#[test]
#[cfg_attr(not(lab_root), ignore = "needs root: the network lab")]
fn status_has_every_field_with_values_that_match_the_lab() {
    let lab = Lab::for_rail(2);
    let config = balanced_all(&lab, &[3, 1]);
    let rail = start_up(&lab, &config, &[1, 2]);
    // A recorded down and up: carrier loss on isp2, then back.
    lab.fault(2, Fault::Carrier);
    rail.wait_state("isp2", "down", VERDICT);
    lab.clear(2);
    rail.wait_state("isp2", "up", VERDICT);

    let mut flows = Vec::new();
    for _ in 0..8 {
        flows.push(lab.open_flow("lan"));
    }
    let mut per_uplink: BTreeMap<String, u64> = BTreeMap::new();
    for f in &flows {
        *per_uplink.entry(f.source.clone()).or_default() += 1;
    }
    // Let every target answer a few rounds after the carrier came back; flows are
    // counted on the daemon's own schedule (every 10 s), never per request.
    std::thread::sleep(Duration::from_millis(600));
    rail.wait_for("the flows counted", FLOWS_COUNTED, |r| {
        total_flows(&r.status()) >= flows.len() as f64
    });
    let s = rail.status();

    assert_eq!(s["version"], env!("CARGO_PKG_VERSION"));
    assert!(num(&s["uptime"], "uptime") < 60.0, "{s}");
    assert_eq!(s["all_targets_lost"], false);
    for (i, mark) in [(1, "0x01000000"), (2, "0x02000000")] {
        let u = lab.uplink(i);
        let st = &s["interfaces"][format!("isp{i}")];
        let ctx = format!("isp{i}: {st}");
        assert_eq!(st["state"], "up", "{ctx}");
        assert_eq!(st["family"], "ipv4", "{ctx}");
        assert_eq!(st["device"], u.dev.as_str(), "{ctx}");
        assert!(num(&st["ifindex"], "ifindex") > 0.0, "{ctx}");
        assert_eq!(st["address"], u.addr.to_string(), "{ctx}");
        assert_eq!(st["gateway"], u.gw.to_string(), "{ctx}");
        assert_eq!(st["mark"], mark, "{ctx}");
        let since = num(&st["since"], "since") as u64;
        assert!(since <= now() && since + 60 > now(), "{ctx}");
        assert!(
            num(&st["uptime"], "uptime") <= num(&s["uptime"], "daemon uptime"),
            "{ctx}"
        );
        assert!(!st["reason"].as_str().unwrap_or("").is_empty(), "{ctx}");
        let opened = per_uplink.get(&u.addr.to_string()).copied().unwrap_or(0);
        assert!(
            num(&st["flows"], "flows") as u64 >= opened,
            "{ctx}: {opened} flows open"
        );
        assert!(num(&st["tx_bytes"], "tx_bytes") > 0.0, "{ctx}");
        let targets = st["targets"].as_array().expect("targets");
        let ips: Vec<String> = lab.targets()[..3].iter().map(|t| t.to_string()).collect();
        let seen: Vec<&str> = targets.iter().filter_map(|t| t["ip"].as_str()).collect();
        assert_eq!(seen, ips, "{ctx}");
        for t in targets {
            assert_eq!(t["state"], "up", "{ctx}");
            assert!(num(&t["rtt_ms"], "rtt_ms") >= 0.0, "{ctx}");
            assert!(num(&t["jitter_ms"], "jitter_ms") >= 0.0, "{ctx}");
            assert!(num(&t["loss"], "loss") <= 100.0, "{ctx}");
            let (sent, got) = (num(&t["sent"], "sent"), num(&t["received"], "received"));
            assert!(got > 0.0 && got <= sent, "{ctx}");
        }
    }
    assert!(total_flows(&s) >= flows.len() as f64, "{s}");

    let p = &s["policies"]["balanced"];
    assert_eq!(p["last_resort"], "unreachable");
    let active: Vec<(String, String, u64, u64)> = p["active"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["member"].as_str().unwrap().into(),
                m["interface"].as_str().unwrap().into(),
                m["weight"].as_u64().unwrap(),
                m["percent"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        active,
        [
            ("m1".into(), "isp1".into(), 3, 75),
            ("m2".into(), "isp2".into(), 1, 25)
        ]
    );

    let transitions = s["transitions"].as_array().unwrap();
    let down = transitions
        .iter()
        .find(|t| t["interface"] == "isp2" && t["from"] == "up" && t["to"] == "down")
        .unwrap_or_else(|| panic!("isp2 up -> down recorded: {transitions:?}"));
    assert!(
        down["reason"].as_str().unwrap().contains("carrier"),
        "{down}"
    );
    let t = num(&down["time"], "time") as u64;
    assert!(t <= now() && t + 60 > now(), "{down}");
    assert!(
        transitions
            .iter()
            .any(|t| t["interface"] == "isp2" && t["from"] != "up" && t["to"] == "up"),
        "isp2 back up recorded: {transitions:?}"
    );

    let table = text(&rail.cli(&["status"]));
    for word in ["isp1", "isp2", "up", "balanced", "eth-isp1"] {
        assert!(table.contains(word), "the table names {word}:\n{table}");
    }
}

#[test]
#[cfg_attr(not(lab_root), ignore = "needs root: the network lab")]
fn maintenance_takes_an_uplink_out_of_service_and_back_root_only() {
    let lab = Lab::for_rail(2);
    let config = balanced_all(&lab, &[1, 1]);
    let rail = start_up(&lab, &config, &[1, 2]);

    let out = rail.cli(&["maintenance", "isp1", "on"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(rail.state("isp1"), "maintenance");
    let active = &rail.status()["policies"]["balanced"]["active"];
    assert_eq!(active.as_array().map(Vec::len), Some(1), "{active}");
    assert_eq!(active[0]["interface"], "isp2");
    let t = lab.tally("lan", 20);
    assert_eq!(via(&lab, &t, 2), 20, "nothing new on isp1: {t:?}");
    assert!(text(&rail.cli(&["status"])).contains("maintenance"));

    // Anyone may read the status; only root may change state.
    let control = common::rail::control_args(&lab);
    let nobody = |args: &[&str]| {
        let mut cmd = vec![
            "setpriv",
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            binary(),
            &control[0],
            &control[1],
        ];
        cmd.extend_from_slice(args);
        lab.exec("rtr", &cmd)
    };
    let out = nobody(&["status", "--json"]);
    assert!(out.status.success(), "status for everyone: {}", text(&out));
    let seen: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(seen["interfaces"]["isp1"]["state"], "maintenance");
    let root = rail.status();
    for field in ["address", "gateway"] {
        assert!(root["interfaces"]["isp2"][field].is_string(), "{root}");
        assert_eq!(
            seen["interfaces"]["isp2"][field],
            Value::Null,
            "root's only: {seen}"
        );
    }
    let out = nobody(&["maintenance", "isp1", "off"]);
    assert!(!out.status.success(), "a non-root caller is refused");
    assert!(text(&out).contains("root only"), "{}", text(&out));
    assert_eq!(rail.state("isp1"), "maintenance");

    let out = rail.cli(&["maintenance", "wan9", "on"]);
    assert!(
        !out.status.success() && text(&out).contains("wan9"),
        "{}",
        text(&out)
    );

    let out = rail.cli(&["maintenance", "isp1", "off"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(rail.state("isp1"), "up");
    let t = lab.tally("lan", 30);
    assert!(via(&lab, &t, 1) > 0, "isp1 back in service: {t:?}");
}

/// `VmHWM` (peak resident memory, kB) of a process.
fn peak_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap()
}

#[test]
#[cfg_attr(not(lab_root), ignore = "needs root: the network lab")]
fn counting_a_large_conntrack_table_costs_no_memory_in_proportion() {
    let lab = Lab::for_rail(2);
    let rail = start_up(&lab, &balanced_all(&lab, &[1, 1]), &[1, 2]);
    let before = peak_kib(rail.pid());
    // 20,000 UDP flows through rail (one datagram each, from as many source ports), as a
    // busy LAN makes them; each stays in conntrack, unreplied, for 30 s.
    const FLOWS: usize = 20_000;
    let service = std::net::SocketAddr::from((lab.service(), 9));
    lab.within("lan", move || {
        for port in 10_000..10_000 + FLOWS as u16 {
            let s = std::net::UdpSocket::bind(("0.0.0.0", port)).unwrap();
            s.send_to(b"x", service).unwrap();
        }
    });
    // The daemon counts the flows per uplink with a conntrack dump on its own schedule.
    rail.wait_for("the flows counted", FLOWS_COUNTED, |r| {
        total_flows(&r.status()) >= FLOWS as f64
    });
    let s = rail.status();
    let counted = total_flows(&s);
    assert!(counted >= FLOWS as f64, "{counted} flows counted: {s}");
    let after = peak_kib(rail.pid());
    eprintln!("peak resident memory {before} -> {after} kB for {counted} flows");
    // Holding the dump (a dozen attributes per flow, each its own allocation) peaked at
    // more than 20 MB; counting as the messages arrive needs one datagram at a time.
    assert!(
        after < before + 2048,
        "peak resident memory {before} -> {after} kB for {counted} flows"
    );
}
