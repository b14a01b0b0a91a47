//! Long-running behaviour of a real daemon in the lab (docs/reliability.md):
//! - `make test`: an uplink whose carrier flaps for 20 s (down 0.5 s, up 1 s) changes state a
//!   bounded number of times (flap damping), with steady descriptors and memory;
//! - `make soak` (ignored here; RAIL_SOAK_SECS, default 600): random faults on every uplink
//!   and LAN connections all along; prints transitions, resident memory and open descriptors
//!   at start and end, and the LAN connections that failed while an uplink was up.

mod common;
mod reliability_lab;

use common::lab::Fault;
use common::rail::Rail;
use reliability_lab::{lab, running};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Resident memory (kB) and open descriptors of a process.
fn usage(pid: u32) -> (u64, usize) {
    let m = memory(pid);
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .count();
    (m.rss, fds)
}

/// What each open descriptor of a process refers to (`socket:[N]`, `anon_inode:[timerfd]`...).
fn descriptors(pid: u32) -> Vec<String> {
    let mut fds: Vec<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .map(|t| t.display().to_string())
        .collect();
    fds.sort();
    fds
}

/// A process's resident memory (kB): in all, and its anonymous (heap, stacks) and
/// file-backed (the binary's and libraries' pages) parts.
struct Memory {
    rss: u64,
    anon: u64,
    file: u64,
}

fn memory(pid: u32) -> Memory {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap()
    };
    Memory {
        rss: field("VmRSS:"),
        anon: field("RssAnon:"),
        file: field("RssFile:"),
    }
}

/// State changes rail logged ("rail: isp1 down: ...").
fn transitions(rail: &Rail) -> usize {
    common::matrix::transitions(&rail.log_text()).len()
}

#[test]
#[cfg_attr(not(lab_root), ignore = "needs root: the network lab")]
fn carrier_flapping_every_second_is_damped_with_steady_resources() {
    let lab = lab();
    let rail = running(&lab);
    let before = transitions(&rail);
    let (rss0, fds0) = usage(rail.pid());
    let start = Instant::now();
    let mut flaps = 0;
    while start.elapsed() < Duration::from_secs(20) {
        lab.fault(1, Fault::Carrier);
        std::thread::sleep(Duration::from_millis(500));
        lab.clear(1);
        // Long enough for the 3 good rounds (0.2 s each) that bring a carrier back.
        std::thread::sleep(Duration::from_millis(1000));
        flaps += 1;
    }
    let n = transitions(&rail) - before;
    let (rss1, fds1) = usage(rail.pid());
    eprintln!(
        "{flaps} carrier flaps in {:?}: {n} transitions; rss {rss0} -> {rss1} kB, fds {fds0} -> {fds1}",
        start.elapsed()
    );
    // Undamped: three transitions per flap (down, recovering, up), some 40. Damped: three
    // free flaps (9), then hold-downs of 5 and 10 s let at most two more through (6).
    assert!(
        n <= 18,
        "{n} transitions for {flaps} flaps; log:\n{}",
        rail.log_text()
    );
    assert!(
        rail.log_text().contains(
            "isp1 down: carrier lost on eth-isp1; flapping (4 times in a row): held down 5 s"
        ),
        "the hold-down is logged with the transition that starts it"
    );
    // Transient sockets (ubus reconnects, probes being reopened) come and go; a leak per
    // flap would show a dozen more.
    assert!(fds1 <= fds0 + 2, "no descriptor leak: {fds0} -> {fds1}");
    assert!(rss1 <= rss0 + rss0 / 10, "rss {rss0} -> {rss1} kB");
    // LAN traffic carried by isp2 throughout.
    let t = lab.tally("lan", 10);
    assert_eq!(t.get("error"), None, "{t:?}");
}

/// xorshift64*, seeded from the clock.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % n.max(1)
    }
}

/// Random faults on both uplinks: each gets a new one (blackhole, carrier loss, or none two
/// times in three, so both are rarely down together) every 2-10 s.
struct Faults {
    rng: Rng,
    /// Per uplink: its fault now (None: healthy), when that last changed, when to change.
    fault: [Option<Fault>; 2],
    changed: [Instant; 2],
    next: [Instant; 2],
}

impl Faults {
    fn new(seed: u64) -> Faults {
        let now = Instant::now();
        Faults {
            rng: Rng(seed),
            fault: [None, None],
            changed: [now; 2],
            next: [now; 2],
        }
    }

    /// Changes the faults that are due.
    fn step(&mut self, lab: &common::lab::Lab) {
        let now = Instant::now();
        for i in 0..2 {
            if now < self.next[i] {
                continue;
            }
            let f = match self.rng.below(6) {
                0 => Some(Fault::Blackhole),
                1 => Some(Fault::Carrier),
                _ => None,
            };
            if f != self.fault[i] {
                lab.clear(i + 1);
                if let Some(f) = f {
                    lab.fault(i + 1, f);
                }
                self.fault[i] = f;
                self.changed[i] = Instant::now();
            }
            self.next[i] = Instant::now() + Duration::from_millis(2000 + self.rng.below(8000));
        }
    }
}

#[test]
#[ignore = "ten minutes: run with `make soak`"]
fn soak_random_faults_on_every_uplink_with_lan_traffic() {
    let lab = lab();
    let secs: u64 = std::env::var("RAIL_SOAK_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(600);
    // What rail may need to notice a fault: 3 probes of 0.2 s plus their timeout, and a
    // little slack for the lab's own fault script.
    let detection = Duration::from_millis(1500);
    let rail = running(&lab);
    std::thread::sleep(Duration::from_secs(2));
    let launched = memory(rail.pid());
    let seed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    eprintln!("soak: {secs} s, seed {seed}");
    let mut faults = Faults::new(seed);

    // Warm-up: rail keeps the last HISTORY transitions for `rail status`, so its memory
    // grows by design until that many happened; a leak is growth after that.
    let history = rail::daemon::report::HISTORY;
    let warm = Instant::now();
    while rail.status()["transitions"].as_array().map_or(0, Vec::len) < history {
        assert!(
            warm.elapsed() < Duration::from_secs(600),
            "fewer than {history} transitions in 10 minutes of faults"
        );
        faults.step(&lab);
        std::thread::sleep(Duration::from_millis(200));
    }
    let start_memory = memory(rail.pid());
    let (rss0, fds0) = (start_memory.rss, usage(rail.pid()).1);
    let open0 = descriptors(rail.pid());
    eprintln!(
        "soak: warm-up {:?}: rss {} -> {} kB (anon {} -> {})",
        warm.elapsed(),
        launched.rss,
        start_memory.rss,
        launched.anon,
        start_memory.anon
    );
    let t0 = transitions(&rail);

    let (mut requests, mut failed, mut failed_with_uplink_up, mut failed_healthy_uplink) =
        (0u64, 0u64, 0u64, 0u64);
    let mut status_failures = 0u64;
    let start = Instant::now();
    let mut sampled = start;
    while start.elapsed() < Duration::from_secs(secs) {
        let now = Instant::now();
        // The trend tells a leak (steady growth) from the allocator's high-water mark.
        if now.duration_since(sampled) >= Duration::from_secs(60) {
            let (m, (_, fds)) = (memory(rail.pid()), usage(rail.pid()));
            eprintln!(
                "soak: at {:?}: rss {} kB (anon {}, file {}), fds {fds}",
                start.elapsed(),
                m.rss,
                m.anon,
                m.file
            );
            sampled = now;
        }
        faults.step(&lab);
        let asked = Instant::now();
        let Some(status) = rail.try_status() else {
            status_failures += 1;
            eprintln!("soak: rail status failed after {:?}", asked.elapsed());
            continue;
        };
        let rail_up = ["isp1", "isp2"]
            .iter()
            .any(|i| status["interfaces"][i]["state"] == "up");
        let at = Instant::now();
        let ok = lab.try_fetch_source("lan").is_ok();
        requests += 1;
        if ok {
            continue;
        }
        failed += 1;
        // A fault that began within the detection window excuses a failure.
        let settled = faults
            .changed
            .iter()
            .all(|c| at.duration_since(*c) > detection);
        if settled && rail_up {
            failed_with_uplink_up += 1;
        }
        if settled && faults.fault.iter().any(Option::is_none) {
            failed_healthy_uplink += 1;
        }
    }
    for i in 1..=2 {
        lab.clear(i);
    }
    rail.wait_state("isp1", "up", Duration::from_secs(150));
    rail.wait_state("isp2", "up", Duration::from_secs(150));
    let end = memory(rail.pid());
    let (rss1, fds1) = (end.rss, usage(rail.pid()).1);
    let n = transitions(&rail) - t0;
    let open1 = descriptors(rail.pid());
    if open1 != open0 {
        let kinds = |fds: &[String]| {
            fds.iter()
                .map(|f| f.split(':').next().unwrap_or(f).to_string())
                .collect::<Vec<_>>()
        };
        eprintln!(
            "soak: descriptors at the start {:?}, at the end {:?}",
            kinds(&open0),
            kinds(&open1)
        );
    }
    println!(
        "soak {secs} s after the warm-up: {n} transitions; rss {rss0} -> {rss1} kB (anon {} \
         -> {}, file {} -> {}); fds {fds0} -> {fds1}; LAN requests {requests}, failed \
         {failed}, failed while rail had an uplink up (beyond {detection:?} of a fault \
         change) {failed_with_uplink_up}, failed while an uplink was healthy (incl. flap \
         hold-downs) {failed_healthy_uplink}; `rail status` failed {status_failures} times",
        start_memory.anon, end.anon, start_memory.file, end.file
    );
    assert!(fds1 <= fds0 + 2, "descriptors steady: {fds0} -> {fds1}");
    assert!(
        rss1 * 100 <= rss0 * 105,
        "resident memory within 5%: {rss0} -> {rss1} kB"
    );
    assert_eq!(
        failed_with_uplink_up, 0,
        "LAN failures while rail had an uplink up"
    );
}
