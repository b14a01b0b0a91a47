//! A local user flooding rail's control socket (docs/security.md): as uid `nobody`,
//! `CONNECTIONS` kept open and renewed as fast as the daemon takes them, and a `status`
//! loop. Used by tests/reliability_flood.rs and `make bench` (section `flood`).

use serde_json::Value;
use std::collections::VecDeque;
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Connections the flood keeps open at once.
pub const CONNECTIONS: usize = 2000;
pub const NOBODY: u32 = 65534;

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
pub struct Flood {
    stop: Arc<AtomicBool>,
    connects: Arc<AtomicU64>,
    statuses: Arc<AtomicU64>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Flood {
    pub fn start(socket: PathBuf) -> Flood {
        raise_descriptor_limit();
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

    /// Stops it: the connections and status calls it made.
    pub fn stop(self) -> (u64, u64) {
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
    let init = include_str!("../../files/etc/init.d/rail");
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

/// Puts `pid` under the limits procd sets on a router (`shipped_limits`).
pub fn apply_shipped_limits(pid: u32) {
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
}

/// Descriptors a process holds open.
pub fn fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .count()
}

/// The daemon's descriptors at rest: the fewest over a few samples, since a status
/// request or a probe socket being re-opened can hold one briefly.
pub fn resting_fds(pid: u32) -> usize {
    (0..5)
        .map(|_| {
            std::thread::sleep(Duration::from_millis(20));
            fds(pid)
        })
        .min()
        .unwrap()
}
