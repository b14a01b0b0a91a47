//! A rail daemon running in a lab's router namespace, for end-to-end tests and the
//! benchmark: start it on a config text, ask its status, wait for states, stop it.
//!
//! Dropping a `Rail` stops the daemon (SIGTERM, then SIGKILL) and prints its log when the
//! test is failing, so a red test shows what rail said.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::lab::{Lab, UplinkKind};

/// The rail binary under test: `RAIL_BIN` when set (`make bench` runs the release build),
/// else the one Cargo built for the tests.
pub fn binary() -> &'static str {
    static BIN: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    BIN.get_or_init(|| {
        std::env::var("RAIL_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_rail").to_string())
    })
}

pub struct Rail<'a> {
    lab: &'a Lab,
    child: Option<Child>,
    pub config: PathBuf,
    pub log: PathBuf,
}

/// A temp file path unique to the lab.
fn temp(lab: &Lab, what: &str) -> PathBuf {
    std::env::temp_dir().join(format!("rail-{}-{what}", lab.name()))
}

/// The run directory (`rail -r`) of the lab's daemons: kept while the lab lives, so a
/// restarted daemon finds what the one before it kept.
pub fn run_dir(lab: &Lab) -> PathBuf {
    temp(lab, "run")
}

/// The history file of the lab's daemons (written on stop, read at start).
pub fn history_file(lab: &Lab) -> PathBuf {
    run_dir(lab).join(rail::history::store::FILE)
}

/// The control socket of the daemon in `lab`'s router, in its run directory: labs run
/// side by side and share the filesystem, so each has its own.
pub fn control_socket(lab: &Lab) -> String {
    run_dir(lab).join("control").to_string_lossy().into_owned()
}

/// `rail -r RUN_DIR`: the global options that point a rail command at `lab`'s daemon.
pub fn control_args(lab: &Lab) -> [String; 2] {
    ["-r".into(), run_dir(lab).to_string_lossy().into_owned()]
}

impl<'a> Rail<'a> {
    /// Write `config` and start `rail daemon -f` in the router namespace.
    pub fn start(lab: &'a Lab, config: &str) -> Rail<'a> {
        Rail::start_with(lab, config, &[])
    }

    /// As `start`, with global options before the command (e.g. `-s UBUS_SOCKET`).
    pub fn start_with(lab: &'a Lab, config: &str, options: &[&str]) -> Rail<'a> {
        Rail::start_bin(lab, binary(), config, options)
    }

    /// As `start_with`, running the rail binary at `bin`.
    pub fn start_bin(lab: &'a Lab, bin: &str, config: &str, options: &[&str]) -> Rail<'a> {
        Rail::start_env(lab, bin, config, options, &[])
    }

    /// As `start_bin`, with `env` (name, value) set for the daemon (e.g. its PATH).
    pub fn start_env(
        lab: &'a Lab,
        bin: &str,
        config: &str,
        options: &[&str],
        env: &[(&str, &str)],
    ) -> Rail<'a> {
        let path = temp(lab, "config");
        std::fs::write(&path, config).unwrap();
        let log = temp(lab, "log");
        let logf = std::fs::File::create(&log).unwrap();
        // What the daemon keeps across its restarts lives in the lab's own run directory.
        let run_dir = run_dir(lab);
        let mut argv = vec![
            bin,
            "-c",
            path.to_str().unwrap(),
            "-r",
            run_dir.to_str().unwrap(),
        ];
        argv.extend_from_slice(options);
        argv.extend_from_slice(&["daemon", "-f"]);
        let child = lab
            .command("rtr", &argv)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(logf.try_clone().unwrap())
            .stderr(logf)
            .spawn()
            .expect("starting rail");
        let rail = Rail {
            lab,
            child: Some(child),
            config: path,
            log,
        };
        rail.wait_for("the control socket", Duration::from_secs(10), |r| {
            r.try_status().is_some()
        });
        rail
    }

    /// Replace the config file (then `reload` or SIGHUP).
    pub fn write_config(&self, config: &str) {
        let mut f = std::fs::File::create(&self.config).unwrap();
        f.write_all(config.as_bytes()).unwrap();
    }

    /// The file the daemon keeps its history in across a restart.
    pub fn history(&self) -> PathBuf {
        history_file(self.lab)
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    /// Run `rail ARGS` in the router namespace (status, reload, ...).
    pub fn cli(&self, args: &[&str]) -> std::process::Output {
        let control = control_args(self.lab);
        let mut full = vec![binary(), &control[0], &control[1]];
        full.extend_from_slice(args);
        self.lab.exec("rtr", &full)
    }

    pub fn try_status(&self) -> Option<Value> {
        let out = self.cli(&["status", "--json"]);
        if !out.status.success() {
            return None;
        }
        serde_json::from_slice(&out.stdout).ok()
    }

    pub fn status(&self) -> Value {
        self.try_status()
            .unwrap_or_else(|| panic!("rail status failed; log:\n{}", self.log_text()))
    }

    pub fn state(&self, iface: &str) -> String {
        self.status()["interfaces"][iface]["state"]
            .as_str()
            .unwrap_or("")
            .to_string()
    }

    /// Poll until `cond` holds; panics with the log after `timeout`. Returns the time taken.
    pub fn wait_for(
        &self,
        what: &str,
        timeout: Duration,
        cond: impl Fn(&Rail) -> bool,
    ) -> Duration {
        let start = Instant::now();
        loop {
            if cond(self) {
                return start.elapsed();
            }
            if start.elapsed() > timeout {
                panic!(
                    "timed out after {timeout:?} waiting for {what}; status: {}\nlog:\n{}",
                    self.try_status().map_or("-".into(), |s| s.to_string()),
                    self.log_text()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn wait_state(&self, iface: &str, state: &str, timeout: Duration) -> Duration {
        self.wait_for(&format!("{iface} {state}"), timeout, |r| {
            r.state(iface) == state
        })
    }

    /// Waits until uplinks isp1..`isps` are up (for IPv6 too where they are dual-stack)
    /// and every target has answered a probe: rail sends none during `hold` (2 s by
    /// default) after it starts, so a fault in that time would be noticed late for a
    /// reason no real failover has.
    pub fn wait_probing(&self, isps: usize) {
        self.wait_for(
            "every uplink up and probing",
            Duration::from_secs(60),
            |r| {
                let st = r.status();
                (1..=isps).all(|i| {
                    let iface = &st["interfaces"][format!("isp{i}")];
                    iface["state"] == "up"
                        && (iface["state6"].is_null() || iface["state6"] == "up")
                        && iface["targets"].as_array().is_some_and(|ts| {
                            ts.iter().all(|t| t["received"].as_u64().unwrap_or(0) > 0)
                        })
                })
            },
        );
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGTERM and wait: the daemon removes everything it made. Returns its exit code.
    pub fn stop(&mut self) -> Option<i32> {
        let mut child = self.child.take()?;
        // SAFETY: kill(2) on our own child's pid.
        unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(10) {
            if let Ok(Some(st)) = child.try_wait() {
                return st.code();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
        None
    }

    /// SIGKILL: a crash, leaving rail's kernel state behind.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Rail<'_> {
    fn drop(&mut self) {
        self.stop();
        if std::thread::panicking() {
            eprintln!(
                "---- rail log ({}) ----\n{}",
                self.log.display(),
                self.log_text()
            );
        }
        let _ = std::fs::remove_file(&self.config);
        let _ = std::fs::remove_file(&self.log);
    }
}

/// An interface section for lab ISP `isp` with probe timings `timing` (UCI option lines).
pub fn interface(lab: &Lab, isp: usize, timing: &str) -> String {
    interface_probing(lab, isp, 3, timing)
}

/// As `interface`, probing the first `targets` of the lab's targets (at most 8).
pub fn interface_probing(lab: &Lab, isp: usize, targets: usize, timing: &str) -> String {
    let up = lab.uplink(isp);
    let targets: String = lab
        .targets()
        .iter()
        .take(targets)
        .map(|t| format!("\tlist track_ip '{t}'\n"))
        .collect();
    // Ethernet uplinks need their next hop: the lab's router has no default route in main
    // for rail to learn it from (netifd installs one on OpenWrt).
    let gateway = match up.kind {
        UplinkKind::Ethernet => format!("\toption gateway '{}'\n", up.gw),
        UplinkKind::Ppp => String::new(),
    };
    format!(
        "config interface 'isp{isp}'\n\toption device '{}'\n{gateway}\toption masquerade '1'\n{targets}{timing}\n",
        up.dev
    )
}

/// As `interface`, dual-stack (`family both`), also probing the lab's first three IPv6
/// targets.
pub fn interface_dual_stack(lab: &Lab, isp: usize, timing: &str) -> String {
    let v6: String = lab
        .targets6()
        .iter()
        .take(3)
        .map(|t| format!("\tlist track_ip '{t}'\n"))
        .collect();
    interface(lab, isp, timing).replace(
        "\toption masquerade '1'\n",
        &format!("\toption masquerade '1'\n\toption family 'both'\n{v6}"),
    )
}

/// Fast probing: interval 0.2 s, down 3, up 3.
pub const FAST: &str = "\toption interval '0.2'\n\toption failure_interval '0.2'\n\toption recovery_interval '0.2'\n\toption timeout '0.2'\n\toption down '3'\n\toption up '3'\n\toption hold '0'\n";
