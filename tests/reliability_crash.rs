//! Crash safety and failing open, end to end in the lab (docs/reliability.md):
//! - kill -9 at random moments during startup, drift repair (reconcile), failover and
//!   reload, 100 times; every restart converges to exactly the kernel state of a clean
//!   single start, and `rail flush` after a crash leaves the kernel as it was before rail;
//! - with a plain main default route (as netifd installs), the LAN keeps reaching the
//!   Internet after rail is killed, even when an uplink reconnects while rail is gone; a
//!   clean stop leaves the kernel exactly as before.

mod common;
mod reliability_lab;

use common::lab::{Fault, Lab};
use common::rail::{binary, run_dir, Rail};
use reliability_lab::{balanced, VERDICT};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// `ip rule`, `ip route show table all` and `nft list ruleset` of the router, with
/// counters (which traffic changes) left out.
fn kernel_state(lab: &Lab) -> String {
    let nft = lab.run("rtr", &["nft", "list", "ruleset"]);
    let nft: String = nft
        .lines()
        .map(|l| match l.find(" counter packets") {
            Some(i) => format!("{} counter\n", &l[..i]),
            None => format!("{l}\n"),
        })
        .collect();
    format!(
        "== ip rule\n{}== ip route show table all\n{}== nft list ruleset\n{nft}",
        lab.run("rtr", &["ip", "rule"]),
        lab.run("rtr", &["ip", "route", "show", "table", "all"]),
    )
}

fn lines_diff(want: &str, got: &str) -> String {
    let missing = want.lines().filter(|l| !got.lines().any(|g| g == *l));
    let extra = got.lines().filter(|l| !want.lines().any(|w| w == *l));
    missing
        .map(|l| format!("- {l}\n"))
        .chain(extra.map(|l| format!("+ {l}\n")))
        .collect()
}

/// Polls until the router's kernel state equals `want`; panics with the difference.
fn wait_kernel(lab: &Lab, want: &str, what: &str) {
    let start = Instant::now();
    loop {
        let got = kernel_state(lab);
        if got == want {
            return;
        }
        if start.elapsed() > VERDICT {
            panic!(
                "{what}: kernel differs from a clean start:\n{}\nfull state:\n{got}",
                lines_diff(want, &got)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn both_up(rail: &Rail) {
    rail.wait_for("isp1 and isp2 up and balanced", VERDICT, |r| {
        let s = r.status();
        s["interfaces"]["isp1"]["state"] == "up"
            && s["interfaces"]["isp2"]["state"] == "up"
            && s["policies"]["balanced"]["active"]
                .as_array()
                .is_some_and(|a| a.len() == 2)
    });
}

/// xorshift64*, seeded from the clock (printed, so a failure can be replayed with
/// RAIL_CRASH_SEED).
struct Rng(u64);

impl Rng {
    fn new() -> Rng {
        let seed = std::env::var("RAIL_CRASH_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .unwrap()
                    .as_nanos() as u64
                    | 1
            });
        eprintln!("RAIL_CRASH_SEED={seed}");
        Rng(seed)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % n.max(1)
    }
    fn millis(&mut self, max: u64) -> Duration {
        Duration::from_millis(self.below(max + 1))
    }
}

/// `rail daemon -f` without waiting for anything, to be killed during startup.
fn spawn_raw(lab: &Lab, path: &str) -> Child {
    let run_dir = run_dir(lab);
    let run_dir = run_dir.to_str().unwrap();
    lab.command(
        "rtr",
        &[binary(), "-c", path, "-r", run_dir, "daemon", "-f"],
    )
    .stdin(Stdio::null())
    .stdout(Stdio::null())
    .stderr(Stdio::null())
    .spawn()
    .expect("starting rail")
}

fn sigkill(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

#[derive(Clone, Copy, Debug)]
enum Phase {
    Startup,
    Reconcile,
    Failover,
    Reload,
}

#[test]
#[cfg_attr(not(lab_root), ignore = "needs root: the network lab")]
fn kill_9_at_random_moments_then_restart_converges_exactly() {
    let lab = reliability_lab::lab();
    let before = kernel_state(&lab);
    let good = balanced(&lab, 1);
    let reloaded = balanced(&lab, 3);

    // The reference: one clean start.
    let mut first = Rail::start(&lab, &good);
    both_up(&first);
    let clean = kernel_state(&lab);
    assert_ne!(clean, before, "rail changed nothing?");
    let path = first.config.to_str().unwrap().to_string();
    first.kill();
    // Dropping a Rail deletes its config file: only one exists at a time.
    drop(first);

    let mut rng = Rng::new();
    let phases = [
        Phase::Startup,
        Phase::Reconcile,
        Phase::Failover,
        Phase::Reload,
    ];
    let started = Instant::now();
    let mut killed = [0usize; 4];
    let mut i = 0;
    while killed.iter().sum::<usize>() < 100 {
        let phase = phases[i % phases.len()];
        i += 1;
        if let Phase::Startup = phase {
            // Several kills in a row, each during the start of the previous' restart.
            std::fs::write(&path, &good).unwrap();
            for _ in 0..3 {
                let mut child = spawn_raw(&lab, &path);
                std::thread::sleep(rng.millis(250));
                let running = child.try_wait().unwrap().is_none();
                assert!(running, "rail exited on its own during startup");
                sigkill(&mut child);
                killed[0] += 1;
            }
            continue;
        }
        // A restart after the previous kill: once converged, exactly a clean start.
        let mut rail = Rail::start(&lab, &good);
        both_up(&rail);
        wait_kernel(&lab, &clean, &format!("restart {i} (after {phase:?})"));
        match phase {
            Phase::Reconcile => {
                // Drift: rules and a route of rail's deleted behind its back.
                lab.run("rtr", &["ip", "rule", "del", "pref", "4200"]);
                lab.run("rtr", &["ip", "rule", "del", "pref", "4000"]);
                lab.run("rtr", &["ip", "route", "flush", "table", "20001"]);
                std::thread::sleep(rng.millis(60));
                rail.kill();
                killed[1] += 1;
            }
            Phase::Failover => {
                lab.fault(1, Fault::Blackhole);
                // Probes every 0.2 s, down after 3: kill before, during or after the switch.
                std::thread::sleep(rng.millis(1200));
                rail.kill();
                lab.clear(1);
                killed[2] += 1;
            }
            Phase::Reload => {
                rail.write_config(&reloaded);
                // SAFETY: kill(2) on the daemon this test started.
                unsafe { libc::kill(rail.pid() as i32, libc::SIGHUP) };
                std::thread::sleep(rng.millis(80));
                rail.kill();
                killed[3] += 1;
            }
            Phase::Startup => unreachable!(),
        }
    }
    eprintln!(
        "kills: startup {}, reconcile {}, failover {}, reload {} in {:?}",
        killed[0],
        killed[1],
        killed[2],
        killed[3],
        started.elapsed()
    );

    // The last restart converges too; then a crash and `rail flush` restore the kernel.
    let mut rail = Rail::start(&lab, &good);
    both_up(&rail);
    wait_kernel(&lab, &clean, "the last restart");
    rail.kill();
    std::fs::write(&path, &good).unwrap();
    let out = lab.exec("rtr", &[binary(), "-c", &path, "flush"]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        kernel_state(&lab),
        before,
        "rail flush after a crash removes everything:\n{}",
        lines_diff(&before, &kernel_state(&lab))
    );
}
