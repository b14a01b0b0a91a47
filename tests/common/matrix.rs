//! What the event-matrix tests (tests/daemon_matrix.rs against the netifd stand-in,
//! tests/owrt_netifd.rs against OpenWrt's netifd) share: a seeded generator, what rail's
//! log says (transitions, flushes, error and warning lines), what the kernel must
//! converge to, and the checks made after every step.

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use super::lab::{Flow, Lab};
use super::rail::{interface, Rail, FAST};

/// A small deterministic generator (xorshift64*), so a seed replays a run.
pub struct Rng(pub u64);

impl Rng {
    /// From `RAIL_MATRIX_SEED`, else the clock; printed with the run's length
    /// (`RAIL_MATRIX_STEPS`, else `steps`) so a failing run can be replayed.
    pub fn from_env(steps: u64) -> (Rng, u64) {
        let env = |name: &str| std::env::var(name).ok().and_then(|v| v.parse().ok());
        let seed = env("RAIL_MATRIX_SEED").unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        });
        let steps = env("RAIL_MATRIX_STEPS").unwrap_or(steps);
        eprintln!("event matrix: RAIL_MATRIX_SEED={seed} RAIL_MATRIX_STEPS={steps}");
        (Rng(seed), steps)
    }

    pub fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 33) as usize % n
    }
}

/// Whether a run that started at `start` may take another step: `RAIL_MATRIX_SECS`, when
/// set, bounds it in time (then set RAIL_MATRIX_STEPS high).
pub fn within_budget(start: Instant) -> bool {
    std::env::var("RAIL_MATRIX_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .is_none_or(|secs| start.elapsed() < Duration::from_secs(secs))
}

/// The transition lines ("rail: wana down: ...") of a log.
pub fn transitions(log: &str) -> Vec<String> {
    let states = [
        "up",
        "down",
        "suspect",
        "recovering",
        "no-device",
        "disabled",
    ];
    log.lines()
        .filter(|l| {
            let mut words = l.split(' ');
            words.next() == Some("rail:")
                && words.next().is_some()
                && words
                    .next()
                    .is_some_and(|w| states.iter().any(|s| w == format!("{s}:")))
        })
        .map(String::from)
        .collect()
}

/// The conntrack flush lines of a log.
pub fn flushes(log: &str) -> Vec<String> {
    log.lines()
        .filter(|l| l.contains("deleted its conntrack flows"))
        .map(String::from)
        .collect()
}

/// The warning rail gives when someone deletes its table (`nft flush ruleset`): expected
/// once per such step, and not counted among the bad lines.
pub const RESTORING: &str = "table inet rail was deleted; restoring it";

/// The error and warning lines of a log, but for `RESTORING`.
pub fn bad_lines(log: &str) -> Vec<&str> {
    log.lines()
        .filter(|l| l.starts_with("rail: error:") || l.starts_with("rail: warning:"))
        .filter(|l| !l.contains(RESTORING))
        .collect()
}

/// What one uplink must look like in rail's status and the kernel.
pub struct Expect {
    pub name: &'static str,
    pub addr: Ipv4Addr,
    /// How its table's route reads: "via GW " or "dev DEV ".
    pub via: String,
    /// Its table (20001 for the first interface of the config).
    pub table: u32,
}

pub fn table(lab: &Lab, table: u32) -> String {
    lab.run("rtr", &["ip", "route", "show", "table", &table.to_string()])
}

/// Probes sent so far per uplink, from rail's status.
fn sent(rail: &Rail, expect: &[Expect]) -> Vec<u64> {
    let s = rail.status();
    expect
        .iter()
        .map(|e| {
            let targets = s["interfaces"][e.name]["targets"].as_array().cloned();
            targets
                .unwrap_or_default()
                .iter()
                .filter_map(|t| t["sent"].as_u64())
                .sum()
        })
        .collect()
}

/// Waits until rail has every uplink up on its expected address, with its `from` rule and
/// its table's route, and probing it (a tracker left paused would look up and judge
/// nothing).
pub fn converge(lab: &Lab, rail: &Rail, what: &str, expect: &[Expect]) {
    wait_up(lab, rail, what, expect);
    let before = sent(rail, expect);
    rail.wait_for(&format!("{what}: probing"), Duration::from_secs(5), |r| {
        sent(r, expect)
            .iter()
            .zip(&before)
            .all(|(now, was)| now > was)
    });
}

fn wait_up(lab: &Lab, rail: &Rail, what: &str, expect: &[Expect]) {
    rail.wait_for(what, Duration::from_secs(15), |r| {
        let s = r.status();
        let rules = lab.run("rtr", &["ip", "rule"]);
        let tables = lab.run("rtr", &["nft", "list", "tables"]);
        tables.contains("inet rail")
            && expect.iter().all(|e| {
                let w = &s["interfaces"][e.name];
                w["state"] == "up"
                    && w["address"] == e.addr.to_string().as_str()
                    && rules.contains(&format!("from {} lookup", e.addr))
                    && table(lab, e.table).contains(&e.via)
            })
    });
}

/// Polls `cond` every 2 ms for up to 5 s; the time it took.
pub fn wait(cond: impl Fn() -> bool) -> Duration {
    let t0 = Instant::now();
    while !cond() {
        assert!(t0.elapsed() < Duration::from_secs(5), "not within 5 s");
        std::thread::sleep(Duration::from_millis(2));
    }
    t0.elapsed()
}

/// One step of a matrix, between `begin` and `end`: the flows opened before it and what
/// rail's log held then.
pub struct Step {
    pub what: String,
    flows: Vec<(&'static str, Flow)>,
    flushes: usize,
    transitions: usize,
}

/// Opens `n` LAN flows (each on the uplink whose address the service saw, as `uplink_of`
/// names it) and notes what the log holds so far.
pub fn begin(
    lab: &Lab,
    what: String,
    log: &str,
    n: usize,
    uplink_of: impl Fn(&str) -> &'static str,
) -> Step {
    let flows = (0..n)
        .map(|_| {
            let f = lab.open_flow("lan");
            (uplink_of(&f.source), f)
        })
        .collect();
    Step {
        what,
        flows,
        flushes: flushes(log).len(),
        transitions: transitions(log).len(),
    }
}

/// After a converged step that disturbed `touched`: flows on the other uplinks are alive;
/// when the touched ones came back `unchanged`, none of them changed state or lost its
/// flows. Returns the (transitions, flushes) of the touched uplinks.
pub fn end(step: Step, log: &str, touched: &[&str], unchanged: bool, seed: u64) -> (usize, usize) {
    let what = &step.what;
    for (on, mut f) in step.flows {
        if !touched.contains(&on) {
            assert!(
                f.alive(Duration::from_secs(2)),
                "{what}: a flow on {on} died (seed {seed})"
            );
        }
    }
    let ours = |l: &String| {
        touched
            .iter()
            .any(|t| l.starts_with(&format!("rail: {t} ")))
    };
    let ours_flushed = |l: &String| {
        touched
            .iter()
            .any(|t| l.starts_with(&format!("rail: {t}: ")))
    };
    let moved: Vec<String> = transitions(log)
        .into_iter()
        .skip(step.transitions)
        .filter(ours)
        .collect();
    let flushed: Vec<String> = flushes(log)
        .into_iter()
        .skip(step.flushes)
        .filter(ours_flushed)
        .collect();
    if unchanged {
        assert!(moved.is_empty(), "{what}: {moved:#?} (seed {seed})");
        assert!(flushed.is_empty(), "{what}: {flushed:#?} (seed {seed})");
    }
    (moved.len(), flushed.len())
}

/// rail's configuration for a matrix: `wana` (ISP 1) and `wanb` (ISP 2) known only through
/// netifd (no device, no gateway), `wanc` (ISP 3) with both in the config, one policy over
/// all three so LAN flows spread over every uplink.
pub fn config(lab: &Lab) -> String {
    let netifd_only = |isp: usize, name: &str| {
        let u = lab.uplink(isp);
        interface(lab, isp, FAST)
            .replace(
                &format!("config interface 'isp{isp}'"),
                &format!("config interface '{name}'"),
            )
            .replace(&format!("\toption device '{}'\n", u.dev), "")
            .replace(&format!("\toption gateway '{}'\n", u.gw), "")
    };
    let wanc =
        interface(lab, 3, FAST).replace("config interface 'isp3'", "config interface 'wanc'");
    let mut c = format!(
        "config globals 'globals'\n\n{}{}{wanc}",
        netifd_only(1, "wana"),
        netifd_only(2, "wanb")
    );
    for n in ["wana", "wanb", "wanc"] {
        c += &format!("config member '{n}_m'\n\toption interface '{n}'\n\toption metric '1'\n\n");
    }
    c += "config policy 'all'\n\tlist use_member 'wana_m'\n\tlist use_member 'wanb_m'\n\tlist use_member 'wanc_m'\n\n";
    c += "config rule 'everything'\n\toption dest_ip '0.0.0.0/0'\n\toption use_policy 'all'\n";
    c
}
