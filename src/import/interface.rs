//! mwan3's `globals` and `interface` sections: the mark mask and each uplink's tracking,
//! with mwan3track's defaults (mwan3track `main`: timeout 4, interval 10, down 5, up 5,
//! max_ttl 60, failure_latency 1000 ms, recovery_latency 500 ms, failure_loss 40,
//! recovery_loss 10) written out whenever the mwan3 file leaves an option out.

use super::read::{Notes, Reader};
use super::Out;
use crate::config::value::decimal;
use crate::family::Af;
use crate::uci::Section;
use std::net::IpAddr;

/// mwan3's own default mask (common.sh `mwan3_init`).
const MWAN3_MASK: u32 = 0x3F00;

pub fn globals(s: &Section, label: String, notes: &mut Notes) -> Section {
    let r = Reader::new(s, label);
    let mut out = Out::new("globals", s.name.as_deref());
    if let Some(text) = r.get("mmx_mask") {
        let line = r.line("mmx_mask");
        let mut say = |m: String| notes.add(line, &r.label, Some("mmx_mask"), m);
        match parse_u32(&text) {
            Some(MWAN3_MASK) => say(format!(
                "not carried over: {text} is mwan3's default mask, and rail's default mark_mask 0x3F000000 stays clear of it (and of pbr's 0x00ff0000 and the 0xFF of sqm and trafficshaper)"
            )),
            Some(bits) if crate::config::MarkMask::new(bits).is_some() => {
                out.set("mark_mask", format!("{bits:#x}"));
                say(format!("carried over as mark_mask {bits:#x}; rail's default 0x3F000000 avoids mwan3's 0x3F00: keep this value only if other packages need those bits kept free, and never run mwan3 and rail together with it"));
            }
            _ => say(format!(
                "'{text}' is not a contiguous run of bits, which rail needs; rail's default mark_mask 0x3F000000 is used"
            )),
        }
    }
    let logging = r.bool("logging", false);
    let level = r.get("loglevel");
    if logging {
        notes.add(
            r.line("logging"),
            &r.label,
            Some("logging"),
            "not carried over: rail does not log matched packets; mwan3's logging and loglevel only set the iptables LOG target of rules with 'logging 1' (rail's log_level is the daemon's own verbosity)".into(),
        );
    } else if level.is_some() {
        // Without `logging 1` mwan3 uses loglevel for nothing.
        let _ = r.line("loglevel");
    }
    let tables = r.list("rt_table_lookup", notes);
    if !tables.is_empty() {
        notes.add(
            r.line("rt_table_lookup"),
            &r.label,
            Some("rt_table_lookup"),
            format!("not carried over: rail consults only the main table's specific routes before its policies; routes in table(s) {} must move to main or get a rule with use_policy 'default'", tables.join(", ")),
        );
    }
    if r.bool("source_routing", false) {
        notes.add(
            r.line("source_routing"),
            &r.label,
            Some("source_routing"),
            "not carried over: rail copies no routes into its tables, so there is nothing to keep or strip".into(),
        );
    }
    r.finish(notes);
    out.0
}

pub fn interface(s: &Section, label: String, name: &str, notes: &mut Notes) -> Section {
    let r = Reader::new(s, label);
    let mut out = Out::new("interface", Some(name));
    // mwan3 tracks and routes an interface only with `enabled 1` (init.d: default 0).
    out.set("enabled", if r.bool("enabled", false) { "1" } else { "0" });

    let family = match r.get("family") {
        None => Af::Inet,
        Some(word) => Af::from_word(&word).unwrap_or_else(|| {
            note(
                &r,
                notes,
                "family",
                format!("'{word}' is not ipv4 or ipv6; mwan3 treats it as neither, rail uses ipv4"),
            );
            Af::Inet
        }),
    };
    out.set("family", family.word());

    let targets = track_ips(&r, family, notes);
    let method = track_method(&r, family, notes);
    out.set("track_method", method.rail);
    if let Some(port) = method.port {
        out.set("track_port", port.to_string());
    }
    if let Some(name) = method.dns_name {
        out.set("track_dns_name", name);
    }
    out.list(
        "track_ip",
        targets.iter().map(ToString::to_string).collect(),
    );

    out.set(
        "reliability",
        reliability(&r, targets.len(), notes).to_string(),
    );
    out.set("count", int(&r, notes, "count", 1, 1, 10).to_string());

    let timeout = secs(&r, notes, "timeout", 4_000);
    let interval = secs(&r, notes, "interval", 10_000);
    let failure_interval = secs(&r, notes, "failure_interval", interval);
    let recovery_interval = secs(&r, notes, "recovery_interval", interval);
    out.set("timeout", duration(timeout));
    for (option, value) in [
        ("interval", interval),
        ("failure_interval", failure_interval),
        ("recovery_interval", recovery_interval),
    ] {
        if value < timeout {
            note(&r, notes, option, format!("{} is shorter than timeout {}: mwan3 waits for the probe and then sleeps, rail starts rounds on a fixed period and never lets them overlap; written as {}", duration(value), duration(timeout), duration(timeout)));
        }
        out.set(option, duration(value.max(timeout)));
    }
    if r.bool("keep_failure_interval", false) {
        note(
            &r,
            notes,
            "keep_failure_interval",
            format!(
                "not carried over: rail probes a down uplink every recovery_interval ({})",
                duration(recovery_interval.max(timeout))
            ),
        );
    }
    out.set("down", int(&r, notes, "down", 5, 1, 100).to_string());
    out.set("up", int(&r, notes, "up", 5, 1, 100).to_string());
    match r.get("initial_state").as_deref() {
        None | Some("online") => out.set("initial_state", "online"),
        Some("offline") => out.set("initial_state", "offline"),
        Some(other) => {
            note(
                &r,
                notes,
                "initial_state",
                format!("'{other}' is not online or offline; mwan3 and rail start it online"),
            );
            out.set("initial_state", "online");
        }
    }
    quality(&r, &mut out, timeout, notes);
    out.set("ttl", int(&r, notes, "max_ttl", 60, 1, 255).to_string());
    out.set("size", int(&r, notes, "size", 56, 0, 1472).to_string());
    out.set("flush_conntrack", flush_conntrack(&r, notes));
    r.finish(notes);
    out.0
}

/// Targets that must answer: no more than there are addresses to probe.
fn reliability(r: &Reader, targets: usize, notes: &mut Notes) -> i64 {
    let most = (targets as i64).clamp(1, 64);
    let wanted = int(r, notes, "reliability", 1, 1, 64);
    if wanted > most {
        note(
            r,
            notes,
            "reliability",
            format!(
                "{wanted} is more than the {targets} target(s) rail can probe; written as {most}"
            ),
        );
    }
    wanted.min(most)
}

fn note(r: &Reader, notes: &mut Notes, option: &str, message: String) {
    notes.add(r.line(option), &r.label, Some(option), message);
}

/// Probe targets of the interface's family; mwan3 pings host names too, rail only addresses.
fn track_ips(r: &Reader, family: Af, notes: &mut Notes) -> Vec<IpAddr> {
    let mut targets: Vec<IpAddr> = Vec::new();
    for item in r.list("track_ip", notes) {
        match item.parse::<IpAddr>() {
            Ok(a) if !family.holds(&a) => note(r, notes, "track_ip", format!("{a} is not {}, the interface's family; left out", family.word())),
            Ok(a) if targets.contains(&a) => note(r, notes, "track_ip", format!("{a} is listed twice; kept once")),
            Ok(a) => targets.push(a),
            Err(_) => note(r, notes, "track_ip", format!("'{item}' is not an IP address (rail probes addresses, not host names); left out")),
        }
    }
    targets
}

struct Method {
    rail: &'static str,
    port: Option<u16>,
    dns_name: Option<&'static str>,
}

/// mwan3's probe commands (mwan3track `validate_track_method` and the probe loop) as rail's
/// probes. An unusable method makes mwan3 fall back to ping, and so does rail.
fn track_method(r: &Reader, family: Af, notes: &mut Notes) -> Method {
    let plain = |rail| Method {
        rail,
        port: None,
        dns_name: None,
    };
    let ssl = r.bool("httping_ssl", false);
    let Some(word) = r.get("track_method") else {
        return plain("ping");
    };
    let mut say = |m: String| note(r, notes, "track_method", m);
    match word.as_str() {
        "ping" | "nping-icmp" => plain("ping"),
        "arping" | "nping-arp" if family == Af::Inet6 => {
            say(format!(
                "{word} cannot probe IPv6 and mwan3 falls back to ping; so does rail"
            ));
            plain("ping")
        }
        "arping" | "nping-arp" => plain("arping"),
        "httping" => {
            let port = if ssl { 443 } else { 80 };
            say(format!("rail has no HTTP probe: a TCP connection to port {port} of each target is tried instead (track_method tcp, track_port {port}); the target must accept it"));
            Method {
                rail: "tcp",
                port: Some(port),
                dns_name: None,
            }
        }
        "nping-tcp" => Method {
            rail: "tcp",
            port: Some(80),
            dns_name: None,
        },
        "nslookup" => Method {
            rail: "dns",
            port: None,
            dns_name: Some("www.google.com"),
        },
        other => {
            let why = if other == "nping-udp" {
                "a UDP probe has no answer to wait for"
            } else {
                "mwan3 does not know it and falls back to ping"
            };
            say(format!(
                "'{other}' is not carried over ({why}); ping is used"
            ));
            plain("ping")
        }
    }
}

/// check_quality and its four limits, in rail's units (latencies carry `ms`: mwan3 writes
/// plain milliseconds, which rail would read as seconds).
fn quality(r: &Reader, out: &mut Out, timeout: u64, notes: &mut Notes) {
    let on = r.bool("check_quality", false);
    out.set("check_quality", if on { "1" } else { "0" });
    if !on {
        for option in [
            "failure_latency",
            "recovery_latency",
            "failure_loss",
            "recovery_loss",
        ] {
            let _ = r.line(option);
        }
        return;
    }
    let below_timeout = timeout.saturating_sub(1).max(1);
    let failure = int(r, notes, "failure_latency", 1000, 1, 30_000) as u64;
    if failure > below_timeout {
        note(r, notes, "failure_latency", format!("{failure}ms cannot be reached before the probe times out after {}; written as {below_timeout}ms", duration(timeout)));
    }
    let failure = failure.min(below_timeout);
    let recovery = int(r, notes, "recovery_latency", 500, 1, 30_000) as u64;
    if recovery > failure {
        note(
            r,
            notes,
            "recovery_latency",
            format!("{recovery}ms is above failure_latency {failure}ms; written as {failure}ms"),
        );
    }
    out.set("failure_latency", format!("{failure}ms"));
    out.set("recovery_latency", format!("{}ms", recovery.min(failure)));
    let failure_loss = int(r, notes, "failure_loss", 40, 0, 100);
    let recovery_loss = int(r, notes, "recovery_loss", 10, 0, 100);
    if recovery_loss > failure_loss {
        note(r, notes, "recovery_loss", format!("{recovery_loss}% is above failure_loss {failure_loss}%; written as {failure_loss}%"));
    }
    out.set("failure_loss", failure_loss.to_string());
    out.set("recovery_loss", recovery_loss.min(failure_loss).to_string());
}

/// mwan3 flushes the whole conntrack table on the events listed; rail deletes the uplink's
/// own flows when it goes down, and has no flush on the way up. mwan3 flushes nothing when
/// the option is absent, rail by default does: written out either way.
fn flush_conntrack(r: &Reader, notes: &mut Notes) -> &'static str {
    let events = r.list("flush_conntrack", notes);
    let mut down = false;
    for e in &events {
        match e.as_str() {
            "ifdown" | "disconnected" => down = true,
            "always" => {
                down = true;
                note(r, notes, "flush_conntrack", "'always' also flushed on the way up, which rail does not do; carried over as a flush when the uplink goes down".into());
            }
            "ifup" | "connected" => note(r, notes, "flush_conntrack", format!("'{e}' is not carried over: rail never flushes when an uplink comes up (flows on other uplinks keep working)")),
            "never" => {}
            other => note(r, notes, "flush_conntrack", format!("'{other}' is not an mwan3 event (ifup, ifdown, connected, disconnected); left out")),
        }
    }
    if down {
        "1"
    } else {
        "0"
    }
}

/// A whole number within rail's range; out of range is brought in with a note, and what
/// mwan3's shell arithmetic cannot read falls back to mwan3's default.
fn int(r: &Reader, notes: &mut Notes, option: &str, default: i64, min: i64, max: i64) -> i64 {
    let Some(text) = r.get(option) else {
        return default;
    };
    let Ok(v) = text.trim().parse::<i64>() else {
        note(
            r,
            notes,
            option,
            format!("'{text}' is not a whole number; mwan3's default {default} is used"),
        );
        return default;
    };
    if v < min || v > max {
        let clamped = v.clamp(min, max);
        note(
            r,
            notes,
            option,
            format!("{v} is outside rail's range {min}..{max}; written as {clamped}"),
        );
        return clamped;
    }
    v
}

/// Seconds (mwan3 passes them to `sleep` and `ping -W`) in milliseconds, within rail's
/// 10 ms .. 1 h.
fn secs(r: &Reader, notes: &mut Notes, option: &str, default_ms: u64) -> u64 {
    let Some(text) = r.get(option) else {
        return default_ms;
    };
    let number = text.trim();
    let Some(ms) = decimal(number.strip_prefix('+').unwrap_or(number), 3) else {
        note(
            r,
            notes,
            option,
            format!(
                "'{text}' is not a number of seconds; mwan3's default {} is used",
                duration(default_ms)
            ),
        );
        return default_ms;
    };
    let clamped = ms.clamp(10, 3_600_000);
    if clamped != ms {
        note(
            r,
            notes,
            option,
            format!(
                "{text} s is outside rail's range 10ms..1h; written as {}",
                duration(clamped)
            ),
        );
    }
    clamped
}

/// `10s`, or `1500ms` when not whole seconds.
pub fn duration(ms: u64) -> String {
    if ms % 1000 == 0 {
        format!("{}s", ms / 1000)
    } else {
        format!("{ms}ms")
    }
}

fn parse_u32(text: &str) -> Option<u32> {
    let t = text.trim();
    match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        Some(hex) => u32::from_str_radix(hex, 16).ok(),
        None => t.parse().ok(),
    }
}
