//! The status document: what `rail status`, ubus `rail status` and LuCI show.
//!
//! One serialisable shape (the contract in docs/status.md) and its rendering as a table
//! for people. Built by the daemon from the health trackers, the policy resolution and the
//! kernel counters; the `rail status` client renders the JSON it receives (the binary holds
//! no parser of this shape; `Deserialize` serves the tests that check the contract).

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt::Write;

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Status {
    pub version: String,
    /// Daemon uptime, seconds.
    pub uptime: u64,
    /// Every uplink lost every target at once: rail keeps forwarding over all of them.
    pub all_targets_lost: bool,
    pub interfaces: BTreeMap<String, InterfaceStatus>,
    pub policies: BTreeMap<String, PolicyStatus>,
    pub transitions: Vec<Transition>,
    /// Set while the kernel does not match what rail wants: the last reconcile failed and
    /// is being retried.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reconcile_error: Option<ReconcileFailure>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct ReconcileFailure {
    /// The last attempt's error.
    pub error: String,
    /// Unix seconds of the first failed attempt.
    pub since: u64,
    /// Failed attempts so far.
    pub attempts: u32,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct InterfaceStatus {
    /// up | suspect | down | recovering | disabled | no-device | maintenance: the state of
    /// the interface's first family (IPv4, or IPv6 for `family ipv6`).
    pub state: String,
    /// The IPv6 state of a dual-stack (`family both`) interface, judged on its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state6: Option<String>,
    pub family: String,
    pub device: Option<String>,
    pub ifindex: Option<u32>,
    pub address: Option<String>,
    pub gateway: Option<String>,
    /// The device's global IPv6 address and IPv6 next hop, when it has them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address6: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway6: Option<String>,
    pub mark: String,
    /// Unix seconds of the last state change.
    pub since: u64,
    /// Seconds up, 0 when not up.
    pub uptime: u64,
    pub reason: String,
    pub flows: u64,
    pub tx_bytes: u64,
    pub targets: Vec<TargetStatus>,
    /// Passive evidence (`passive 1`) of the first family.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub passive: Option<PassiveStatus>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct PassiveStatus {
    /// New outbound TCP connections and their answers counted so far.
    pub opened: u64,
    pub answered: u64,
    /// A confirming round is in flight.
    pub confirming: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suspicion: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct TargetStatus {
    pub ip: String,
    pub state: String,
    pub rtt_ms: Option<f64>,
    pub jitter_ms: Option<f64>,
    /// Percent lost over the sliding window.
    pub loss: f64,
    pub sent: u64,
    pub received: u64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct PolicyStatus {
    pub last_resort: String,
    /// The members carrying new connections (IPv4's, or IPv6's when only it is carried).
    pub active: Vec<ActiveMember>,
    /// The members carrying new IPv6 connections, when some interface is dual-stack.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active6: Option<Vec<ActiveMember>>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ActiveMember {
    pub member: String,
    pub interface: String,
    pub weight: u32,
    pub percent: u32,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Transition {
    pub time: u64,
    pub interface: String,
    /// `ipv6` for the IPv6 tracker of a dual-stack interface; absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family: Option<String>,
    pub from: String,
    pub to: String,
    pub reason: String,
}

fn opt_ms(v: Option<f64>) -> String {
    v.map_or_else(|| "-".to_string(), |v| format!("{v:.1}"))
}

/// Fields of an interface that only root sees over the control socket: the uplink's own
/// addresses and next hops (its public address, the ISP's router). Other local users get
/// the states, policies and transitions; ubus `rail status` is for the ACL's group.
const ROOT_ONLY: [&str; 4] = ["address", "gateway", "address6", "gateway6"];

/// The status document as a user other than root may see it (`ROOT_ONLY` emptied).
pub fn for_others(status: &Value) -> Value {
    let mut v = status.clone();
    if let Some(ifaces) = v.get_mut("interfaces").and_then(|i| i.as_object_mut()) {
        for iface in ifaces.values_mut().filter_map(|i| i.as_object_mut()) {
            for field in ROOT_ONLY {
                if let Some(x) = iface.get_mut(field) {
                    *x = Value::Null;
                }
            }
        }
    }
    v
}

/// The members of a JSON object, none when it is not one.
fn entries(v: &Value) -> impl Iterator<Item = (&String, &Value)> {
    v.as_object().into_iter().flatten()
}

/// The items of a JSON array, none when it is not one.
fn items(v: &Value) -> &[Value] {
    v.as_array().map_or(&[], Vec::as_slice)
}

/// The table `rail status` prints for people, from the document as the client got it: read
/// as JSON rather than parsed back into `Status`, whose deserialiser cost the mips binary
/// 41 KB. A field missing shows as empty.
pub fn render(s: &Value, now_unix: u64) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "rail {} up {}s", text(s, "version"), num(s, "uptime"));
    if s["all_targets_lost"].as_bool() == Some(true) {
        let _ = writeln!(
            out,
            "WARNING: every uplink lost every probe target; forwarding over all of them"
        );
    }
    let f = &s["reconcile_error"];
    if f.is_object() {
        let _ = writeln!(
            out,
            "WARNING: kernel state not applied for {}s ({} attempts, retrying): {}",
            now_unix.saturating_sub(num(f, "since")),
            num(f, "attempts"),
            text(f, "error")
        );
    }
    let _ = writeln!(out, "\nInterfaces:");
    for (name, i) in entries(&s["interfaces"]) {
        render_interface(&mut out, name, i, now_unix);
    }
    let _ = writeln!(out, "\nPolicies:");
    let shares = |active: &[Value], last_resort: &str| {
        if active.is_empty() {
            format!("none up: {last_resort}")
        } else {
            active
                .iter()
                .map(|m| format!("{} {}%", text(m, "interface"), num(m, "percent")))
                .collect::<Vec<_>>()
                .join(", ")
        }
    };
    for (name, p) in entries(&s["policies"]) {
        let last_resort = text(p, "last_resort");
        let _ = writeln!(
            out,
            "  {name:<12} {}",
            shares(items(&p["active"]), &last_resort)
        );
        if let Some(active6) = p["active6"].as_array() {
            let _ = writeln!(out, "  {:<12} ipv6: {}", "", shares(active6, &last_resort));
        }
    }
    let transitions = items(&s["transitions"]);
    if !transitions.is_empty() {
        let _ = writeln!(out, "\nRecent transitions:");
        for t in transitions.iter().rev().take(10) {
            let _ = writeln!(
                out,
                "  {:>6}s ago  {}{} {} -> {}: {}",
                now_unix.saturating_sub(num(t, "time")),
                text(t, "interface"),
                t["family"]
                    .as_str()
                    .map_or(String::new(), |f| format!(" {f}")),
                text(t, "from"),
                text(t, "to"),
                text(t, "reason")
            );
        }
    }
    out
}

fn text(v: &Value, key: &str) -> String {
    v[key].as_str().unwrap_or("").to_string()
}

fn num(v: &Value, key: &str) -> u64 {
    v[key].as_u64().unwrap_or(0)
}

/// One interface's lines of `render`: state, each family, reason, passive evidence, targets.
fn render_interface(out: &mut String, name: &str, i: &Value, now_unix: u64) {
    let dev = i["device"].as_str().unwrap_or("-");
    let addr = i["address"].as_str().unwrap_or("-");
    let _ = writeln!(
        out,
        "  {name:<10} {:<10} {:>7}s  dev {dev} addr {addr} flows {} tx {}B",
        text(i, "state"),
        now_unix.saturating_sub(num(i, "since")),
        num(i, "flows"),
        num(i, "tx_bytes")
    );
    if let Some(state6) = i["state6"].as_str() {
        let addr6 = i["address6"].as_str().unwrap_or("-");
        let _ = writeln!(out, "  {:<10} {state6:<10} ipv6 addr {addr6}", "");
    }
    let reason = text(i, "reason");
    if !reason.is_empty() {
        let _ = writeln!(out, "             {reason}");
    }
    let p = &i["passive"];
    if p.is_object() {
        let mut line = format!(
            "passive: {} new connections, {} answered",
            num(p, "opened"),
            num(p, "answered")
        );
        if p["confirming"].as_bool() == Some(true) {
            line += "; confirming";
        }
        if let Some(s) = p["suspicion"].as_str() {
            line += &format!("; last suspect: {s}");
        }
        let _ = writeln!(out, "             {line}");
    }
    for t in items(&i["targets"]) {
        let _ = writeln!(
            out,
            "             {:<16} {:<5} rtt {:>6} ms  jitter {:>6} ms  loss {:>5.1}%  ({}/{})",
            text(t, "ip"),
            text(t, "state"),
            opt_ms(t["rtt_ms"].as_f64()),
            opt_ms(t["jitter_ms"].as_f64()),
            t["loss"].as_f64().unwrap_or(0.0),
            num(t, "received"),
            num(t, "sent")
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Status {
        let mut s = Status {
            version: "0.1.0".into(),
            uptime: 5,
            ..Default::default()
        };
        s.interfaces.insert(
            "wan".into(),
            InterfaceStatus {
                state: "down".into(),
                since: 90,
                reason: "3/3 probes lost to 198.18.0.1".into(),
                targets: vec![TargetStatus {
                    ip: "198.18.0.1".into(),
                    state: "down".into(),
                    loss: 100.0,
                    sent: 3,
                    ..Default::default()
                }],
                ..Default::default()
            },
        );
        s.policies.insert(
            "balanced".into(),
            PolicyStatus {
                last_resort: "unreachable".into(),
                active: vec![],
                active6: None,
            },
        );
        s
    }

    #[test]
    fn others_see_states_but_no_addresses_or_gateways() {
        let mut s = sample();
        if let Some(wan) = s.interfaces.get_mut("wan") {
            wan.address = Some("203.0.113.7".into());
            wan.gateway = Some("203.0.113.1".into());
            wan.address6 = Some("2001:db8::7".into());
            wan.gateway6 = Some("fe80::1".into());
            wan.device = Some("eth1".into());
        }
        let full = serde_json::to_value(&s).unwrap();
        let text = for_others(&full).to_string();
        for hidden in ["203.0.113.7", "203.0.113.1", "2001:db8::7", "fe80::1"] {
            assert!(!text.contains(hidden), "{hidden} shown: {text}");
        }
        let back: Status = serde_json::from_str(&text).unwrap();
        assert_eq!(back.interfaces["wan"].state, "down");
        assert_eq!(back.interfaces["wan"].device.as_deref(), Some("eth1"));
        assert_eq!(back.policies, s.policies);
    }

    #[test]
    fn json_round_trip_keeps_everything() {
        let s = sample();
        let back: Status = serde_json::from_str(&serde_json::to_string(&s).unwrap()).unwrap();
        assert_eq!(back, s);
    }

    #[test]
    fn table_names_state_reason_and_last_resort() {
        let t = render(&serde_json::to_value(sample()).unwrap(), 100);
        assert!(t.contains("wan        down"), "{t}");
        assert!(t.contains("10s"), "{t}");
        assert!(t.contains("3/3 probes lost to 198.18.0.1"), "{t}");
        assert!(t.contains("balanced     none up: unreachable"), "{t}");
        assert!(t.contains("loss 100.0%"), "{t}");
        assert!(!t.contains("ipv6"), "nothing of IPv6 without it: {t}");
    }

    #[test]
    fn passive_evidence_shows_its_counts_and_last_suspicion() {
        let mut s = sample();
        let t = render(&serde_json::to_value(&s).unwrap(), 100);
        assert!(!t.contains("passive"), "{t}");
        assert!(serde_json::to_value(&s).unwrap()["interfaces"]["wan"]["passive"].is_null());
        if let Some(wan) = s.interfaces.get_mut("wan") {
            wan.passive = Some(PassiveStatus {
                opened: 120,
                answered: 117,
                confirming: true,
                suspicion: Some("3 new connections unanswered for 300 ms".into()),
            });
        }
        let t = render(&serde_json::to_value(&s).unwrap(), 100);
        assert!(
            t.contains(
                "passive: 120 new connections, 117 answered; confirming; last suspect: 3 new \
                 connections unanswered for 300 ms"
            ),
            "{t}"
        );
    }

    #[test]
    fn dual_stack_shows_the_ipv6_state_policy_and_transitions() {
        let mut s = sample();
        if let Some(wan) = s.interfaces.get_mut("wan") {
            wan.state6 = Some("up".into());
            wan.address6 = Some("2001:db8:100:1::2".into());
        }
        if let Some(p) = s.policies.get_mut("balanced") {
            p.active6 = Some(vec![ActiveMember {
                member: "wan_m1".into(),
                interface: "wan".into(),
                weight: 1,
                percent: 100,
            }]);
        }
        s.transitions.push(Transition {
            time: 95,
            interface: "wan".into(),
            family: Some("ipv6".into()),
            from: "down".into(),
            to: "up".into(),
            reason: "3/3 probes answered".into(),
        });
        let t = render(&serde_json::to_value(&s).unwrap(), 100);
        assert!(t.contains("up         ipv6 addr 2001:db8:100:1::2"), "{t}");
        assert!(t.contains("ipv6: wan 100%"), "{t}");
        assert!(t.contains("wan ipv6 down -> up"), "{t}");
        let json = serde_json::to_value(&s).unwrap();
        assert_eq!(
            json["interfaces"]["wan"]["state"], "down",
            "state keeps its meaning"
        );
        assert_eq!(json["interfaces"]["wan"]["state6"], "up");
        let back: Status = serde_json::from_value(json).unwrap();
        assert_eq!(back, s);
    }

    #[test]
    fn a_failing_reconcile_is_shown_until_it_succeeds() {
        let mut s = sample();
        assert!(!render(&serde_json::to_value(&s).unwrap(), 100).contains("not applied"));
        assert!(serde_json::to_value(&s)
            .unwrap()
            .get("reconcile_error")
            .is_none());
        s.reconcile_error = Some(ReconcileFailure {
            error: "applying table inet rail: running nft: Resource temporarily unavailable".into(),
            since: 40,
            attempts: 6,
        });
        let t = render(&serde_json::to_value(&s).unwrap(), 100);
        assert!(t.contains("WARNING: kernel state not applied for 60s (6 attempts, retrying): applying table inet rail: running nft: Resource temporarily unavailable"), "{t}");
        let back: Status = serde_json::from_value(serde_json::to_value(&s).unwrap()).unwrap();
        assert_eq!(back, s);
    }
}
