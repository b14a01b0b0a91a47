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

use common::lab::{Fault, Lab};
use common::rail::Rail;
use reliability_lab::{fds, resting_fds, running, VERDICT};
use serde_json::Value;
use std::collections::VecDeque;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

/// Connections the flood keeps open at once.
const CONNECTIONS: usize = 2000;
/// Failovers measured each way.
const ROUNDS: usize = 3;
const NOBODY: u32 = 65534;

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
        assert!(start.elapsed() < VERDICT * 2, "isp1 never came back");
        std::thread::sleep(Duration::from_millis(20));
    }
    took
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// Runs `f` as `uid` on a thread of its own (raw setresuid: that thread only).
fn as_uid(uid: u32, f: impl FnOnce() + Send + 'static) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        // SAFETY: setresuid(2) on this thread alone, not the process.
        let rc = unsafe { libc::syscall(libc::SYS_setresuid, uid, uid, uid) };
        assert_eq!(rc, 0);
        f()
    })
}

/// The flood: `CONNECTIONS` kept open, the oldest replaced by a new one as fast as the
/// daemon takes them, and a status loop; until `stop`. Counts what was sent.
struct Flood {
    stop: Arc<AtomicBool>,
    connects: Arc<AtomicU64>,
    statuses: Arc<AtomicU64>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Flood {
    fn start(socket: PathBuf) -> Flood {
        let stop = Arc::new(AtomicBool::new(false));
        let (connects, statuses) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
        let (s, n, path) = (stop.clone(), connects.clone(), socket.clone());
        let opener = as_uid(NOBODY, move || {
            let mut open = VecDeque::with_capacity(CONNECTIONS);
            while !s.load(Ordering::Relaxed) {
                if open.len() >= CONNECTIONS {
                    open.pop_front();
                }
                match UnixStream::connect(&path) {
                    Ok(c) => {
                        open.push_back(c);
                        n.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(1)),
                }
            }
        });
        let (s, n) = (stop.clone(), statuses.clone());
        let asker = as_uid(NOBODY, move || {
            while !s.load(Ordering::Relaxed) {
                let _ = rail::daemon::control::call(&socket, "status", Value::Null);
                n.fetch_add(1, Ordering::Relaxed);
            }
        });
        Flood {
            stop,
            connects,
            statuses,
            threads: vec![opener, asker],
        }
    }

    fn stop(self) -> (u64, u64) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads {
            t.join().unwrap();
        }
        (
            self.connects.load(Ordering::Relaxed),
            self.statuses.load(Ordering::Relaxed),
        )
    }
}

/// The test's own descriptors must allow the flood's connections.
fn raise_descriptor_limit() {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit(2) with a valid struct.
    unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) };
    let want = (CONNECTIONS as u64 + 256).min(lim.rlim_max);
    lim.rlim_cur = lim.rlim_cur.max(want);
    assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) }, 0);
}

/// The limits files/etc/init.d/rail has procd set (`procd_set_param limits ...`), as
/// prlimit options: `--nofile=SOFT:HARD`, `--data=SOFT:HARD`.
fn shipped_limits() -> Vec<String> {
    let init = include_str!("../files/etc/init.d/rail");
    let line = init
        .lines()
        .find_map(|l| l.trim().strip_prefix("procd_set_param limits "))
        .expect("the init script sets limits");
    line.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .split('"')
        .collect::<Vec<_>>()
        .chunks(2)
        .filter(|c| c.len() == 2)
        .map(|c| format!("--{}{}", c[0].trim(), c[1].replace(' ', ":")))
        .collect()
}

#[test]
fn a_local_user_flooding_the_control_socket_does_not_delay_failover() {
    let Some(lab) = reliability_lab::lab() else {
        return;
    };
    raise_descriptor_limit();
    let rail: Rail = running(&lab);
    let pid = rail.pid();
    // Under the limits procd sets on a router.
    let limits = shipped_limits();
    let set = std::process::Command::new("prlimit")
        .arg(format!("--pid={pid}"))
        .args(&limits)
        .status()
        .unwrap();
    assert!(set.success(), "prlimit {limits:?}");
    let applied = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    assert!(
        applied.lines().any(|l| l.starts_with("Max open files")
            && l.split_whitespace().nth(3) == Some("1024")),
        "{limits:?}: {applied}"
    );
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
