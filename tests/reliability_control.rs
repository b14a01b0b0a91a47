//! Bad input to a running daemon, end to end in the lab (docs/reliability.md): the control
//! socket gets garbage, an oversized request, unknown methods, wrong argument types,
//! hotplug calls with unknown actions or missing variables, state-changing calls from a
//! non-root user and idle connections; reload finds its config vanished or unreadable.
//! Each gets a clear error, and the daemon keeps running with its state intact.

mod common;
mod reliability_lab;

use common::flood::{fds, resting_fds};
use common::lab::Lab;
use common::rail::Rail;
use reliability_lab::{balanced, running, VERDICT};
use serde_json::Value;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::time::Duration;

/// Runs `f` on a thread inside the router's network namespace (where the daemon runs),
/// as `uid` when given (the thread alone: raw setresuid), with the daemon's control
/// socket path.
fn in_router<R: Send + 'static>(
    lab: &Lab,
    uid: Option<u32>,
    f: impl FnOnce(&str) -> R + Send + 'static,
) -> R {
    let ns = format!("/run/netns/{}", lab.ns("rtr"));
    let socket = common::rail::control_socket(lab);
    std::thread::spawn(move || {
        use std::os::fd::AsRawFd;
        let file = std::fs::File::open(&ns).unwrap();
        // SAFETY: setns(2) and setresuid(2) on this thread only, with a valid fd.
        unsafe {
            assert_eq!(libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET), 0);
            if let Some(u) = uid {
                assert_eq!(libc::syscall(libc::SYS_setresuid, u, u, u), 0);
            }
        }
        f(&socket)
    })
    .join()
    .unwrap()
}

fn connect(socket: &str) -> UnixStream {
    let s = UnixStream::connect(socket).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.set_write_timeout(Some(Duration::from_secs(10))).unwrap();
    s
}

/// Sends raw bytes as one request; the daemon's JSON reply.
fn ask_raw(lab: &Lab, uid: Option<u32>, bytes: Vec<u8>) -> Value {
    in_router(lab, uid, move |socket| {
        let s = connect(socket);
        // An oversized request is cut off by the daemon: the rest may not be read.
        let _ = (&s).write_all(&bytes);
        let mut line = String::new();
        BufReader::new(&s).read_line(&mut line).unwrap();
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line:?}"))
    })
}

fn ask(lab: &Lab, uid: Option<u32>, method: &str, args: Value) -> Value {
    let mut req = serde_json::to_vec(&serde_json::json!({"method": method, "args": args})).unwrap();
    req.push(b'\n');
    ask_raw(lab, uid, req)
}

fn error(reply: &Value) -> String {
    assert_eq!(reply["ok"], false, "refused: {reply}");
    let e = reply["error"].as_str().unwrap_or("").to_string();
    assert!(!e.is_empty(), "with a reason: {reply}");
    e
}

/// What must not change: each uplink's state and the policies, and the kernel.
fn state(lab: &Lab, rail: &Rail) -> (Value, Value, String) {
    let s = rail.status();
    let states: Value = ["isp1", "isp2"]
        .iter()
        .map(|i| (i.to_string(), s["interfaces"][i]["state"].clone()))
        .collect::<serde_json::Map<_, _>>()
        .into();
    (
        states,
        s["policies"].clone(),
        lab.run("rtr", &["ip", "rule"]) + &lab.run("rtr", &["ip", "route", "show", "table", "all"]),
    )
}

#[test]
#[cfg_attr(not(lab_root), ignore = "needs root: the network lab")]
fn bad_control_requests_get_clear_errors_and_change_nothing() {
    let lab = reliability_lab::lab();
    let rail = running(&lab);
    let before = state(&lab, &rail);
    let nobody = Some(65534);

    let e = error(&ask_raw(&lab, None, b"{not json\n".to_vec()));
    assert!(e.starts_with("bad request"), "{e}");
    let e = error(&ask_raw(&lab, None, b"\xff\xfe\x00garbage\n".to_vec()));
    assert!(e.starts_with("bad request"), "{e}");
    let e = error(&ask_raw(&lab, None, vec![b'x'; 200_000]));
    assert!(e.contains("larger than"), "{e}");
    let e = error(&ask(&lab, None, "frobnicate", Value::Null));
    assert!(e.contains("frobnicate"), "names the method: {e}");
    let e = error(&ask(&lab, None, "maintenance", serde_json::json!([1, 2])));
    assert!(e.contains("JSON object"), "{e}");
    for args in [
        serde_json::json!({"interface": 5, "enable": true}),
        serde_json::json!({"interface": "isp1", "enable": "yes"}),
        serde_json::json!({"interface": "isp1"}),
        serde_json::json!({"interface": "no such", "enable": true}),
    ] {
        error(&ask(&lab, None, "maintenance", args));
    }
    let e = error(&ask(
        &lab,
        None,
        "maintenance",
        serde_json::json!({"interface": "wan9", "enable": true}),
    ));
    assert!(e.contains("no interface 'wan9'"), "{e}");

    // Hotplug: unknown action, missing variables, hostile values.
    for args in [
        serde_json::json!({"action": "ifbounce", "interface": "isp1"}),
        serde_json::json!({"interface": "isp1"}),
        serde_json::json!({"action": "ifup"}),
        serde_json::json!({"action": "ifup", "interface": "isp1", "device": "eth0; reboot"}),
        serde_json::json!({"action": "ifup", "interface": "../../etc", "device": "eth9"}),
        serde_json::json!({"action": 1, "interface": "isp1"}),
    ] {
        let e = error(&ask(&lab, None, "hotplug", args.clone()));
        assert!(e.starts_with("hotplug:"), "{args}: {e}");
    }

    // Non-root: status yes, nothing that changes state.
    assert_eq!(ask(&lab, nobody, "status", Value::Null)["ok"], true);
    for (method, args) in [
        ("reload", Value::Null),
        (
            "hotplug",
            serde_json::json!({"action": "ifdown", "interface": "isp1"}),
        ),
        (
            "maintenance",
            serde_json::json!({"interface": "isp1", "enable": true}),
        ),
    ] {
        let e = error(&ask(&lab, nobody, method, args));
        assert!(e.contains("root only"), "{method}: {e}");
    }

    // Idle connections (any local user can open them) neither block others nor stay open.
    let pid = rail.pid();
    let base = resting_fds(pid);
    let idle = in_router(&lab, nobody, |socket| {
        (0..IDLE).map(|_| connect(socket)).collect::<Vec<_>>()
    });
    assert_eq!(ask(&lab, None, "status", Value::Null)["ok"], true);
    // The accept loop is a task of its own: give it the moment it needs to take them all.
    rail.wait_for("the idle connections accepted", VERDICT, |_| {
        fds(pid) >= base + IDLE
    });
    // The daemon drops them (5 s request timeout) without the clients closing them.
    rail.wait_for("idle connections dropped", VERDICT, |_| fds(pid) <= base);
    drop(idle);

    assert_eq!(state(&lab, &rail), before, "state intact");
    nothing_world_writable(pid, &common::rail::control_socket(&lab));
}

/// Idle connections held at once by a local user: under the daemon's cap for users other
/// than root (48 with the usual 1024 descriptors), so each one is taken.
const IDLE: usize = 40;

/// Every file the daemon holds open is not world-writable, and its control socket sits
/// in a directory only root may write (nobody else can bind it first).
fn nothing_world_writable(pid: u32, socket: &str) {
    use std::os::unix::fs::MetadataExt;
    for fd in std::fs::read_dir(format!("/proc/{pid}/fd")).unwrap() {
        let target = std::fs::read_link(fd.unwrap().path()).unwrap();
        if target.is_absolute() && target != std::path::Path::new("/dev/null") {
            let mode = std::fs::metadata(&target).unwrap().mode();
            assert_eq!(mode & 0o002, 0, "{} is world-writable", target.display());
        }
    }
    let unix = std::fs::read_to_string(format!("/proc/{pid}/net/unix")).unwrap();
    assert!(unix.lines().any(|l| l.ends_with(socket)), "{unix}");
    let dir = std::fs::symlink_metadata(std::path::Path::new(socket).parent().unwrap()).unwrap();
    assert!(dir.is_dir() && dir.uid() == 0, "{socket}: {dir:?}");
    assert_eq!(
        dir.mode() & 0o022,
        0,
        "{socket}'s directory is writable by others"
    );
}

#[test]
#[cfg_attr(not(lab_root), ignore = "needs root: the network lab")]
fn reload_with_a_vanished_or_unreadable_config_keeps_the_old_one_and_says_so() {
    let lab = reliability_lab::lab();
    let rail = running(&lab);
    let before = state(&lab, &rail);
    let path = rail.config.clone();

    std::fs::remove_file(&path).unwrap();
    let e = error(&ask(&lab, None, "reload", Value::Null));
    assert!(e.contains(path.to_str().unwrap()), "names the file: {e}");
    // Unreadable even for root: a directory where the file was.
    std::fs::create_dir(&path).unwrap();
    let e = error(&ask(&lab, None, "reload", Value::Null));
    assert!(e.contains(path.to_str().unwrap()), "names the file: {e}");
    std::fs::remove_dir(&path).unwrap();
    // SIGHUP with the file gone: logged, kept.
    // SAFETY: kill(2) on the daemon this test started.
    unsafe { libc::kill(rail.pid() as i32, libc::SIGHUP) };
    rail.wait_for("the refused reloads logged", VERDICT, |r| {
        r.log_text()
            .matches("keeping the running configuration")
            .count()
            == 3
    });
    assert_eq!(
        state(&lab, &rail),
        before,
        "running config and kernel intact"
    );
    rail.write_config(&balanced(&lab, 1));
}
