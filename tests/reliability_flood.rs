//! A local user floods the control socket (docs/security.md, docs/reliability.md): as
//! uid `nobody`, 2,000 connections kept open and renewed as fast as the daemon closes
//! them, and a `status` loop, while an uplink is blackholed. Rail must fail over, answer
//! root throughout and afterwards, and give back every descriptor the flood took.
//!
//! Failover time during the flood against quiet, rail's CPU and RSS during it and its
//! descriptors after are printed (`FLOOD ...`); only correctness is asserted here, the
//! figures belong to `make bench`.

mod common;
mod reliability_lab;

use common::flood::{apply_shipped_limits, fds, resting_fds, Flood, CONNECTIONS, NOBODY};
use common::lab::{Fault, Lab};
use common::rail::Rail;
use reliability_lab::{running, VERDICT};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

/// Failovers measured each way.
const ROUNDS: usize = 3;
/// The longest hold-down flap damping gives isp1 here: 2 x ROUNDS failovers within a minute
/// are as many flaps in a row, the fourth held down 5 s, the fifth 10 s, the sixth 20 s
/// (docs/health.md, "Flap damping"); isp1 comes back at the first good round after it.
const HELD: Duration = Duration::from_secs(20);

/// User and system CPU time of a process so far.
fn cpu(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // The fields after the command name, which is in parentheses and may hold spaces.
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<u64> = rest
        .split(' ')
        .skip(11)
        .take(2)
        .map(|v| v.parse().unwrap())
        .collect();
    // SAFETY: sysconf(3) has no failure mode for _SC_CLK_TCK.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as u64;
    Duration::from_millis((f[0] + f[1]) * 1000 / hz)
}

/// A `/proc/PID/status` figure in kB (VmRSS, VmHWM).
fn kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches(" kB").parse().ok())
        .unwrap()
}

/// isp1's state as root reads it over the control socket (no process spawned per poll).
fn state(socket: &Path) -> Option<String> {
    let s = rail::daemon::control::call(socket, "status", Value::Null).ok()?;
    s["interfaces"]["isp1"]["state"]
        .as_str()
        .map(str::to_string)
}

/// Blackholes isp1 and returns how long after the fault rail reported it down; then
/// clears it and waits for isp1 to be back up.
fn failover(lab: &Lab, socket: &Path) -> Duration {
    let faulted = lab.fault(1, Fault::Blackhole);
    let start = Instant::now();
    while state(socket).as_deref() != Some("down") {
        assert!(start.elapsed() < VERDICT, "isp1 never went down");
        std::thread::sleep(Duration::from_millis(5));
    }
    let took = SystemTime::now()
        .duration_since(faulted)
        .unwrap_or_default();
    lab.clear(1);
    let start = Instant::now();
    while state(socket).as_deref() != Some("up") {
        assert!(start.elapsed() < VERDICT + HELD, "isp1 never came back");
        std::thread::sleep(Duration::from_millis(20));
    }
    took
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

#[test]
#[cfg_attr(not(lab_root), ignore = "needs root: the network lab")]
fn a_local_user_flooding_the_control_socket_does_not_delay_failover() {
    let lab = reliability_lab::lab();
    let rail: Rail = running(&lab);
    let pid = rail.pid();
    // Under the limits procd sets on a router.
    apply_shipped_limits(pid);
    let socket = PathBuf::from(common::rail::control_socket(&lab));
    let quiet = median((0..ROUNDS).map(|_| failover(&lab, &socket)).collect());
    let base = resting_fds(pid);

    let flood = Flood::start(socket.clone());
    // Let it fill the daemon's places for other users first.
    std::thread::sleep(Duration::from_secs(1));
    let (cpu0, t0) = (cpu(pid), Instant::now());
    let (mut rss, mut data) = (0, 0);
    let mut during = Vec::new();
    for _ in 0..ROUNDS {
        during.push(failover(&lab, &socket));
        rss = rss.max(kib(pid, "VmRSS:"));
        data = data.max(kib(pid, "VmData:"));
    }
    let cpu_share = (cpu(pid) - cpu0).as_secs_f64() / t0.elapsed().as_secs_f64();
    let fds_during = fds(pid);
    let (connects, statuses) = flood.stop();
    let during = median(during);

    // Root is answered afterwards, and every descriptor of the flood is given back once
    // the sessions still open reach their deadline.
    assert_eq!(state(&socket).as_deref(), Some("up"));
    rail.wait_for("the flood's descriptors closed", VERDICT, |_| {
        fds(pid) <= base
    });
    let after = fds(pid);
    eprintln!(
        "FLOOD failover quiet {quiet:?} flood {during:?} ({:+.0}%); rail CPU {:.0}% RSS {rss} kB (peak {} kB), data {data} kB; descriptors {base} before, {fds_during} during, {after} after; {connects} connections and {statuses} status calls from uid {NOBODY}",
        (during.as_secs_f64() / quiet.as_secs_f64() - 1.0) * 100.0,
        cpu_share * 100.0,
        kib(pid, "VmHWM:"),
    );
    assert!(connects >= CONNECTIONS as u64, "the flood ran: {connects}");
}
