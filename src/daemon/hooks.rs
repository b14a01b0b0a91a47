//! Hooks: the programs run on every uplink state change (notifications, re-pointing DNS,
//! as the seeds do with e-mail and DNS updates), like mwan3's mwan3.user.
//!
//! Each is started with an argv of its path alone and the facts in environment variables,
//! never through a shell, so no config string is ever interpreted. Nothing here waits: the
//! daemon calls `reap` on a timer and a hook past its timeout is killed.

use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Runs the checked file (argv[0] is `program`, the path as configured).
fn start(checked: &Checked, program: &str, ev: &HookEvent) -> std::io::Result<Child> {
    use std::os::fd::AsRawFd;
    let fd = checked.0.as_raw_fd();
    let mut command = Command::new(format!("/proc/self/fd/{fd}"));
    command
        .arg0(program)
        // Its own process group, so a timeout kills whatever the hook started too.
        .process_group(0)
        .envs(ev.env())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    // SAFETY: fcntl(2) only, which is async-signal-safe, between fork and exec. A script's
    // interpreter opens /proc/self/fd/N itself: the descriptor must survive the exec.
    unsafe {
        command.pre_exec(move || match libc::fcntl(fd, libc::F_SETFD, 0) {
            0 => Ok(()),
            _ => Err(std::io::Error::last_os_error()),
        })
    };
    command.spawn()
}

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

/// A hook opened for running: the descriptor of the very file whose ownership and mode,
/// and whose directories', were checked. It is run through /proc/self/fd, so renaming
/// another file over the path after the check changes nothing.
struct Checked(std::os::fd::OwnedFd);

/// Why a file or directory others could change must not be trusted, or None: owned by
/// root (or the user running rail, for tests), and writable by nobody else (a directory
/// with the sticky bit, like /tmp, lets others add names but not replace root's).
fn untrusted(m: &std::fs::Metadata) -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    // SAFETY: geteuid(2) has no failure mode.
    let me = unsafe { libc::geteuid() };
    let sticky_dir = m.is_dir() && m.mode() & 0o1000 != 0;
    if m.uid() != 0 && m.uid() != me {
        Some(format!("owned by uid {}, not root", m.uid()))
    } else if m.mode() & 0o022 != 0 && !sticky_dir {
        Some(format!(
            "writable by group or others (mode {:o})",
            m.mode() & 0o7777
        ))
    } else {
        None
    }
}

/// Opens `path` for running after checking it and every directory above it (the path
/// with its symbolic links resolved, each step opened without following links, so a
/// directory swapped for a link meanwhile fails the walk). A program anyone but root can
/// rewrite or replace is a way to root.
fn check(path: &str) -> Result<Checked, String> {
    use std::os::unix::fs::PermissionsExt;
    let real = std::fs::canonicalize(path).map_err(|e| e.to_string())?;
    let open = |dir: Option<&std::fs::File>, name: &std::path::Path, flags: libc::c_int| {
        use std::os::fd::{AsRawFd, FromRawFd};
        use std::os::unix::ffi::OsStrExt;
        let c = std::ffi::CString::new(name.as_os_str().as_bytes()).map_err(|e| e.to_string())?;
        let at = dir.map_or(libc::AT_FDCWD, |d| d.as_raw_fd());
        let flags = flags | libc::O_PATH | libc::O_NOFOLLOW | libc::O_CLOEXEC;
        // SAFETY: a valid directory descriptor (or AT_FDCWD) and a NUL-terminated name.
        let fd = unsafe { libc::openat(at, c.as_ptr(), flags) };
        if fd < 0 {
            return Err(format!(
                "{}: {}",
                name.display(),
                std::io::Error::last_os_error()
            ));
        }
        // SAFETY: a descriptor openat just returned, owned by nobody else.
        Ok(unsafe { std::fs::File::from_raw_fd(fd) })
    };
    let mut dir = open(None, std::path::Path::new("/"), libc::O_DIRECTORY)?;
    let mut walked = std::path::PathBuf::from("/");
    let mut names = real.components().skip(1).peekable();
    while let Some(name) = names.next() {
        let m = dir.metadata().map_err(|e| e.to_string())?;
        if let Some(why) = untrusted(&m) {
            return Err(format!("its directory {} is {why}", walked.display()));
        }
        walked.push(name);
        let last = names.peek().is_none();
        let flags = if last { 0 } else { libc::O_DIRECTORY };
        dir = open(Some(&dir), name.as_ref(), flags)?;
    }
    let m = dir.metadata().map_err(|e| e.to_string())?;
    if !m.is_file() || m.permissions().mode() & 0o111 == 0 {
        return Err("not an executable file".into());
    }
    if let Some(why) = untrusted(&m) {
        return Err(why);
    }
    Ok(Checked(dir.into()))
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
            let checked = match check(&program) {
                Ok(c) => c,
                Err(why) => {
                    log::warn!("hook {program} not run for {}: {why}", ev.interface);
                    continue;
                }
            };
            let spawned = start(&checked, &program, ev);
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

    /// `hook` is refused: nothing started, nothing written to `out`.
    fn assert_not_run(hook: String, out: &std::path::Path) {
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
    fn a_hook_others_can_rewrite_is_not_run() {
        let d = tmpdir("perm");
        let out = d.join("out");
        let hook = script(&d, "hook", &format!("echo ran >> {}", out.display()));
        std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o757)).unwrap();
        assert_not_run(hook, &out);
    }

    #[test]
    fn a_hook_in_a_directory_others_can_write_is_not_run() {
        let d = tmpdir("dirperm");
        let out = d.join("out");
        let open = d.join("open");
        std::fs::create_dir(&open).unwrap();
        let hook = script(&open, "hook", &format!("echo ran >> {}", out.display()));
        // The file is root's and 0755, but anyone may rename another over it.
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).unwrap();
        assert_not_run(hook, &out);
        assert!(check(&open.join("hook").to_string_lossy())
            .err()
            .is_some_and(|e| e.contains("writable by group or others")));
    }

    #[test]
    fn the_file_that_runs_is_the_file_that_was_checked() {
        let d = tmpdir("swap");
        let out = d.join("out");
        let hook = script(&d, "hook", &format!("echo checked >> {}", out.display()));
        let other = script(&d, "other", &format!("echo swapped >> {}", out.display()));
        let checked = check(&hook).unwrap();
        std::fs::rename(&other, &hook).unwrap();
        let mut child = start(&checked, &hook, &event()).unwrap();
        assert!(child.wait().unwrap().success());
        assert_eq!(std::fs::read_to_string(&out).unwrap(), "checked\n");
    }

    #[test]
    fn a_hook_reached_through_a_symbolic_link_runs_as_its_target() {
        // OpenWrt's commands are links to busybox: the target is checked and run, with
        // the configured path as argv[0] for busybox to dispatch on.
        let d = tmpdir("link");
        let out = d.join("out");
        let target = script(&d, "target", &format!("echo linked >> {}", out.display()));
        let link = d.join("link");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let mut h = Hooks::default();
        h.fire(
            &[link.to_string_lossy().into_owned()],
            None,
            &event(),
            Duration::from_secs(5),
            Instant::now(),
        );
        wait(&mut h);
        assert_eq!(std::fs::read_to_string(&out).unwrap(), "linked\n");
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
