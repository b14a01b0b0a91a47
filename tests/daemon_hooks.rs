//! Hooks in the lab: the programs `globals` `hook` names run on every uplink state change
//! with the facts in their environment, and a slow one never holds up failover.

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::lab::{Fault, Lab};
use common::scenario::{balanced, rule, start_up, VERDICT};

/// A directory of the lab's own for scripts and what they write; removed on drop.
struct Dir(PathBuf);

impl Dir {
    fn new(lab: &Lab) -> Dir {
        let d = std::env::temp_dir().join(format!("rail-hooks-{}", lab.name()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        Dir(d)
    }

    /// An executable shell script `name` with `body`.
    fn script(&self, name: &str, body: &str) -> String {
        use std::os::unix::fs::PermissionsExt;
        let p = self.0.join(name);
        std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        p.to_string_lossy().into_owned()
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// isp1 and isp2 balanced, with `globals` option lines.
fn config(lab: &Lab, globals: &str) -> String {
    balanced(lab, &[1, 1], globals) + &rule("all", &[], "balanced")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// The value of `KEY=` in one hook line written as `KEY=value|KEY=value|...`.
fn field<'a>(line: &'a str, key: &str) -> &'a str {
    line.split('|')
        .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('='))
        .unwrap_or_else(|| panic!("no {key} in {line:?}"))
}

#[test]
#[cfg_attr(not(lab_root), ignore = "needs root: the network lab")]
fn hook_gets_each_transition_with_its_facts() {
    let lab = Lab::for_rail(2);
    let dir = Dir::new(&lab);
    let out = dir.path("events");
    let hook = dir.script(
        "hook",
        &format!(
            "printf 'INTERFACE=%s|DEVICE=%s|STATE=%s|PREVIOUS=%s|RTT=%s|LOSS=%s|REASON=%s\\n' \
             \"$INTERFACE\" \"$DEVICE\" \"$STATE\" \"$PREVIOUS\" \"$RTT\" \"$LOSS\" \"$REASON\" >>{}",
            out.display()
        ),
    );
    let rail = start_up(
        &lab,
        &config(&lab, &format!("\tlist hook '{hook}'\n")),
        &[1, 2],
    );

    lab.fault(1, Fault::Blackhole);
    rail.wait_state("isp1", "down", VERDICT);
    // The first line for isp1 in `state` after one of `previous`.
    let line = |state: &str, previous: &[&str]| {
        let start = Instant::now();
        loop {
            let text = read(&out);
            if let Some(l) = text.lines().find(|l| {
                l.starts_with("INTERFACE=isp1|")
                    && field(l, "STATE") == state
                    && previous.contains(&field(l, "PREVIOUS"))
            }) {
                return l.to_string();
            }
            assert!(
                start.elapsed() < VERDICT,
                "no hook run for isp1 {state}: {text:?}\nlog:\n{}",
                rail.log_text()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    let down = line("down", &["up", "suspect"]);
    assert_eq!(field(&down, "DEVICE"), lab.uplink(1).dev, "{down}");
    assert!(field(&down, "REASON").contains("lost"), "{down}");
    let loss: f64 = field(&down, "LOSS").parse().expect("LOSS is a number");
    assert!(loss > 0.0 && loss <= 100.0, "{down}");
    let status = rail.status();
    let recorded = status["transitions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["interface"] == "isp1" && t["to"] == "down")
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        field(&down, "REASON"),
        recorded["reason"],
        "the transition status recorded: {status}"
    );

    lab.clear(1);
    rail.wait_state("isp1", "up", VERDICT);
    let up = line("up", &["recovering"]);
    let rtt: f64 = field(&up, "RTT")
        .parse()
        .expect("RTT once replies come back");
    assert!(rtt >= 0.0, "{up}");
    // isp2 only came up at the start (its device found).
    let isp2: Vec<String> = read(&out)
        .lines()
        .filter(|l| l.starts_with("INTERFACE=isp2|"))
        .map(|l| format!("{}>{}", field(l, "PREVIOUS"), field(l, "STATE")))
        .collect();
    assert_eq!(isp2, ["no-device>up"]);
}

#[test]
#[cfg_attr(not(lab_root), ignore = "needs root: the network lab")]
fn slow_hook_is_killed_at_its_timeout_and_never_delays_failover() {
    let lab = Lab::for_rail(2);
    let dir = Dir::new(&lab);
    let pids = dir.path("pids");
    let hook = dir.script(
        "slow",
        &format!("sleep 30 &\necho \"$$ $!\" >>{}\nwait", pids.display()),
    );
    let timeout = Duration::from_secs(3);
    let rail = start_up(
        &lab,
        &config(
            &lab,
            &format!("\tlist hook '{hook}'\n\toption hook_timeout '3s'\n"),
        ),
        &[1, 2],
    );

    // Two failovers back to back while the first one's hooks sleep: both within the
    // fast profile's time, far less than the hooks' timeout.
    for isp in [1, 2] {
        let t0 = Instant::now();
        lab.fault(isp, Fault::Blackhole);
        let took = t0.elapsed() + rail.wait_state(&format!("isp{isp}"), "down", VERDICT);
        assert!(
            took < Duration::from_millis(2500),
            "isp{isp} down {took:?} after its fault, hooks of the first still sleeping"
        );
    }
    let t0 = Instant::now();
    rail.status();
    assert!(
        t0.elapsed() < Duration::from_secs(1),
        "status answers at once"
    );
    let started: Vec<u32> = read(&pids)
        .split_whitespace()
        .map(|p| p.parse().unwrap())
        .collect();
    assert!(started.len() >= 4, "hook and sleep per run: {started:?}");

    // Each hook and what it started is killed at its timeout and reaped.
    let start = Instant::now();
    while started
        .iter()
        .any(|p| Path::new(&format!("/proc/{p}")).exists())
    {
        assert!(
            start.elapsed() < timeout + Duration::from_secs(3),
            "hooks still there after their timeout: {started:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        rail.log_text().contains("killed after its timeout"),
        "{}",
        rail.log_text()
    );
}
