//! Hooks: the programs run on every uplink state change (notifications, re-pointing DNS,
//! as the seeds do with e-mail and DNS updates), like mwan3's mwan3.user.
//!
//! Each is started with an argv of its path alone and the facts in environment variables,
//! never through a shell, so no config string is ever interpreted. Nothing here waits: the
//! daemon calls `reap` on a timer and a hook past its timeout is killed.

use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The user script run after the configured hooks when it exists and is executable.
pub const USER_SCRIPT: &str = "/etc/rail.user";

/// Hooks running at once beyond this are not started (a flapping uplink must not fork-bomb).
const MAX_RUNNING: usize = 16;

/// What happened, as the hook sees it in its environment.
#[derive(Debug, Clone, PartialEq)]
pub struct HookEvent {
    pub interface: String,
    /// The family whose state changed: `ipv4`, or `ipv6` (an IPv6-only interface, or the
    /// IPv6 half of a dual-stack one).
    pub family: String,
    pub device: String,
    pub state: String,
    pub previous: String,
    pub reason: String,
    pub rtt_ms: Option<f64>,
    pub loss: Option<f64>,
}

impl HookEvent {
    fn env(&self) -> [(&'static str, String); 8] {
        let num = |v: Option<f64>| v.map(|v| format!("{v:.1}")).unwrap_or_default();
        [
            ("INTERFACE", self.interface.clone()),
            ("FAMILY", self.family.clone()),
            ("DEVICE", self.device.clone()),
            ("STATE", self.state.clone()),
            ("PREVIOUS", self.previous.clone()),
            ("REASON", self.reason.clone()),
            ("RTT", num(self.rtt_ms)),
            ("LOSS", num(self.loss)),
        ]
    }
}

struct Running {
    program: String,
    child: Child,
    deadline: Instant,
    killed: bool,
}

#[derive(Default)]
pub struct Hooks {
    running: Vec<Running>,
}

fn is_executable(path: &str) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Why a hook must not run as root: a program others can rewrite is a way to root.
/// `None` when it is safe, or missing (spawning it then fails with its own error).
fn unsafe_program(path: &str) -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(path).ok()?;
    // SAFETY: geteuid(2) has no failure mode.
    let me = unsafe { libc::geteuid() };
    if m.mode() & 0o022 != 0 {
        Some(format!(
            "writable by group or others (mode {:o})",
            m.mode() & 0o7777
        ))
    } else if m.uid() != 0 && m.uid() != me {
        Some(format!("owned by uid {}, not root", m.uid()))
    } else {
        None
    }
}

impl Hooks {
    /// Starts every program for one event; `user_script` is run too when present.
    pub fn fire(
        &mut self,
        programs: &[String],
        user_script: Option<&str>,
        ev: &HookEvent,
        timeout: Duration,
        now: Instant,
    ) {
        let extra = user_script.filter(|p| is_executable(p)).map(str::to_string);
        for program in programs.iter().cloned().chain(extra) {
            if self.running.len() >= MAX_RUNNING {
                log::warn!(
                    "hook {program} not started for {} {}: {MAX_RUNNING} hooks still running",
                    ev.interface,
                    ev.state
                );
                continue;
            }
            if let Some(why) = unsafe_program(&program) {
                log::warn!("hook {program} not run for {}: {why}", ev.interface);
                continue;
            }
            // Its own process group, so a timeout kills whatever the hook started too.
            let spawned = Command::new(&program)
                .process_group(0)
                .envs(ev.env())
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn();
            match spawned {
                Ok(child) => self.running.push(Running {
                    program,
                    child,
                    deadline: now + timeout,
                    killed: false,
                }),
                Err(e) => log::warn!("hook {program} for {} failed to start: {e}", ev.interface),
            }
        }
    }

    /// Whether any hook is still running (and needs `reap` called).
    pub fn busy(&self) -> bool {
        !self.running.is_empty()
    }

    /// Collects finished hooks and kills overdue ones; true while some are still running.
    pub fn reap(&mut self, now: Instant) -> bool {
        self.running.retain_mut(|r| match r.child.try_wait() {
            Ok(Some(status)) => {
                if r.killed {
                    log::warn!("hook {} killed after its timeout", r.program);
                } else if !status.success() {
                    log::warn!("hook {} exited with {status}", r.program);
                }
                false
            }
            Ok(None) => {
                if now >= r.deadline && !r.killed {
                    // SAFETY: kill(2) on the hook's own process group; no memory involved.
                    unsafe { libc::kill(-(r.child.id() as i32), libc::SIGKILL) };
                    r.killed = true;
                }
                true
            }
            Err(_) => false,
        });
        !self.running.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn script(dir: &std::path::Path, name: &str, body: &str) -> String {
        let p = dir.join(name);
        std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        p.to_string_lossy().into_owned()
    }

    fn event() -> HookEvent {
        HookEvent {
            interface: "wan".into(),
            family: "ipv4".into(),
            device: "eth1".into(),
            state: "down".into(),
            previous: "up".into(),
            reason: "3/3 probes lost; $(touch /tmp/pwned)".into(),
            rtt_ms: None,
            loss: Some(100.0),
        }
    }

    fn tmpdir(tag: &str) -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("rail-hooks-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn wait(h: &mut Hooks) {
        let start = Instant::now();
        while h.reap(Instant::now()) {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "hook never ended"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    #[test]
    fn hook_and_user_script_get_the_facts_in_env_without_a_shell() {
        let d = tmpdir("env");
        let out = d.join("out");
        let hook = script(
            &d,
            "hook",
            &format!(
                "echo \"$INTERFACE|$FAMILY|$DEVICE|$STATE|$PREVIOUS|$REASON|$RTT|$LOSS\" >> {}",
                out.display()
            ),
        );
        let user = script(
            &d,
            "user",
            &format!("echo user:$STATE >> {}", out.display()),
        );
        let mut h = Hooks::default();
        h.fire(
            &[hook],
            Some(&user),
            &event(),
            Duration::from_secs(5),
            Instant::now(),
        );
        wait(&mut h);
        let text = std::fs::read_to_string(&out).unwrap();
        assert!(
            text.contains("wan|ipv4|eth1|down|up|3/3 probes lost; $(touch /tmp/pwned)||100.0"),
            "{text}"
        );
        assert!(text.contains("user:down"), "{text}");
    }

    #[test]
    fn overdue_hook_is_killed_and_fire_does_not_wait() {
        let d = tmpdir("slow");
        let slow = script(&d, "slow", "sleep 30");
        let mut h = Hooks::default();
        let t0 = Instant::now();
        h.fire(&[slow], None, &event(), Duration::from_millis(100), t0);
        assert!(t0.elapsed() < Duration::from_secs(1));
        assert!(h.reap(Instant::now()));
        std::thread::sleep(Duration::from_millis(150));
        wait(&mut h);
        assert!(
            t0.elapsed() < Duration::from_secs(5),
            "killed, not waited for"
        );
    }

    #[test]
    fn a_hook_others_can_rewrite_is_not_run() {
        let d = tmpdir("perm");
        let out = d.join("out");
        let hook = script(&d, "hook", &format!("echo ran >> {}", out.display()));
        std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o757)).unwrap();
        let mut h = Hooks::default();
        h.fire(
            &[hook],
            None,
            &event(),
            Duration::from_secs(5),
            Instant::now(),
        );
        assert!(!h.reap(Instant::now()), "not started");
        assert!(!out.exists());
    }

    #[test]
    fn missing_program_is_logged_not_fatal() {
        let mut h = Hooks::default();
        h.fire(
            &["/nonexistent/rail-hook".into()],
            Some("/nonexistent/rail.user"),
            &event(),
            Duration::from_secs(1),
            Instant::now(),
        );
        assert!(!h.reap(Instant::now()));
    }
}
