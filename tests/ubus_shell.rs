//! The shell side of the OpenWrt integration: every shell file under files/ passes `sh -n`
//! and shellcheck; the iface hotplug script hands ACTION/INTERFACE/DEVICE to
//! `ubus call rail hotplug` in the background and returns in well under 0.1 s, ignoring
//! actions it does not know; the procd init script declares what procd needs; the ubusd
//! ACL grants nothing but `status`.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const HOTPLUG: &str = "files/etc/hotplug.d/iface/30-rail";
const INIT: &str = "files/etc/init.d/rail";

fn temp_dir(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rail-shell-{test}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

fn shell_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            shell_files(&path, out);
        } else if fs::read_to_string(&path).is_ok_and(|t| t.starts_with("#!/bin/sh")) {
            out.push(path);
        }
    }
}

#[test]
fn every_shell_file_passes_sh_n_and_shellcheck() {
    let mut files = Vec::new();
    shell_files(&Path::new(ROOT).join("files"), &mut files);
    for must in [HOTPLUG, INIT, "files/etc/uci-defaults/90-rail"] {
        assert!(
            files.contains(&Path::new(ROOT).join(must)),
            "{must} is checked"
        );
    }
    for file in &files {
        let syntax = Command::new("sh").arg("-n").arg(file).output().unwrap();
        assert!(
            syntax.status.success(),
            "sh -n {}: {}",
            file.display(),
            String::from_utf8_lossy(&syntax.stderr)
        );
        let lint = Command::new("shellcheck")
            .args(["-s", "sh"])
            .arg(file)
            .output()
            .expect("shellcheck is installed by scripts/deps.sh");
        assert!(
            lint.status.success(),
            "shellcheck {}:\n{}",
            file.display(),
            String::from_utf8_lossy(&lint.stdout)
        );
    }
}

/// A fake `ubus` that records its arguments (one per line) and then takes its time, as a
/// real call to a busy daemon might.
fn fake_ubus(dir: &Path) -> PathBuf {
    let bin = dir.join("bin");
    fs::create_dir_all(&bin).unwrap();
    let script = format!(
        "#!/bin/sh\nprintf '%s\\n' \"$@\" > {calls}.tmp\nmv {calls}.tmp {calls}\nsleep 2\n",
        calls = dir.join("calls").display()
    );
    let path = bin.join("ubus");
    fs::write(&path, script).unwrap();
    Command::new("chmod")
        .arg("755")
        .arg(&path)
        .status()
        .unwrap();
    bin
}

/// Runs the hotplug script with the given environment; returns how long it took and the
/// arguments `ubus` got, if it was called.
fn hotplug(test: &str, env: &[(&str, &str)]) -> (Duration, Option<Vec<String>>) {
    let dir = temp_dir(test);
    let bin = fake_ubus(&dir);
    let mut cmd = Command::new("sh");
    cmd.arg(Path::new(ROOT).join(HOTPLUG))
        .env_clear()
        .env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let started = Instant::now();
    let status = cmd.status().unwrap();
    let took = started.elapsed();
    assert!(status.success(), "hotplug scripts must exit 0");
    // The background call lands shortly after: give it a generous second, or a third of
    // one when no call is expected.
    let calls = dir.join("calls");
    let wait = if env
        .iter()
        .any(|(k, v)| *k == "ACTION" && v.starts_with("if"))
    {
        1000
    } else {
        300
    };
    let deadline = Instant::now() + Duration::from_millis(wait);
    while !calls.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    let args = fs::read_to_string(&calls)
        .ok()
        .map(|t| t.lines().map(String::from).collect());
    (took, args)
}

fn message(args: &[String]) -> Value {
    assert_eq!(&args[..4], ["-t", "5", "call", "rail"]);
    assert_eq!(args[4], "hotplug");
    serde_json::from_str(&args[5]).expect("the message is JSON")
}

#[test]
fn hotplug_forwards_ifup_in_the_background_and_returns_at_once() {
    let (took, args) = hotplug(
        "ifup",
        &[
            ("ACTION", "ifup"),
            ("INTERFACE", "wan"),
            ("DEVICE", "pppoe-wan"),
        ],
    );
    eprintln!("30-rail returned in {took:?} while ubus took 2 s");
    assert!(took < Duration::from_millis(100), "returned after {took:?}");
    let args = args.expect("ubus was called");
    assert_eq!(
        message(&args),
        serde_json::json!({"action": "ifup", "interface": "wan", "device": "pppoe-wan"})
    );
}

#[test]
fn hotplug_handles_missing_and_hostile_variables() {
    // ifdown carries no DEVICE.
    let (_, args) = hotplug("ifdown", &[("ACTION", "ifdown"), ("INTERFACE", "wan")]);
    assert_eq!(
        message(&args.unwrap()),
        serde_json::json!({"action": "ifdown", "interface": "wan"})
    );
    // A device name that would break the JSON is left out; rail asks netifd instead.
    let (_, args) = hotplug(
        "quote",
        &[
            ("ACTION", "ifupdate"),
            ("INTERFACE", "wan"),
            ("DEVICE", "x\",\"y"),
        ],
    );
    assert_eq!(
        message(&args.unwrap()),
        serde_json::json!({"action": "ifupdate", "interface": "wan"})
    );
}

#[test]
fn hotplug_ignores_unknown_actions_and_bad_interfaces() {
    for (test, env) in [
        (
            "connected",
            vec![("ACTION", "connected"), ("INTERFACE", "wan")],
        ),
        (
            "disconnected",
            vec![("ACTION", "disconnected"), ("INTERFACE", "wan")],
        ),
        ("noaction", vec![("INTERFACE", "wan")]),
        ("noiface", vec![("ACTION", "ifup")]),
        (
            "badiface",
            vec![("ACTION", "ifup"), ("INTERFACE", "wan\"}")],
        ),
    ] {
        let (took, args) = hotplug(test, &env);
        assert!(took < Duration::from_millis(100));
        assert_eq!(args, None, "{test}: ubus must not be called");
    }
}

#[test]
fn init_script_declares_procd_instance_reload_and_cleanup() {
    let dir = temp_dir("init");
    let log = dir.join("log");
    // Stand-ins for rc.common's procd helpers, recording each call.
    let stubs = format!(
        r#"
rec() {{ printf '%s\n' "$*" >> {log}; }}
procd_open_instance() {{ rec open_instance "$@"; }}
procd_set_param() {{ rec set_param "$@"; }}
procd_close_instance() {{ rec close_instance; }}
procd_add_reload_trigger() {{ rec reload_trigger "$@"; }}
procd_send_signal() {{ rec send_signal "$@"; }}
. {init}
[ "$USE_PROCD" = 1 ] || exit 3
[ "$STOP" -lt 90 ] || exit 4
start_service
service_triggers
reload_service
PROG=fake_rail
fake_rail() {{ rec rail "$@"; }}
service_stopped
"#,
        log = log.display(),
        init = Path::new(ROOT).join(INIT).display()
    );
    let out = Command::new("sh").arg("-c").arg(stubs).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let calls = fs::read_to_string(&log).unwrap();
    for want in [
        "set_param command /usr/sbin/rail -c /etc/config/rail daemon",
        "set_param respawn 3600 5 5",
        "set_param limits nofile=1024 1024 data=33554432 33554432",
        "set_param stdout 1",
        "set_param stderr 1",
        "set_param file /etc/config/rail",
        "set_param reload_signal HUP",
        "close_instance",
        "reload_trigger rail",
        "send_signal rail * HUP",
        "rail -c /etc/config/rail flush",
    ] {
        assert!(
            calls.lines().any(|l| l == want),
            "missing `{want}` in:\n{calls}"
        );
    }
}

#[test]
fn ubusd_acl_grants_only_reading_status_and_history_to_the_rail_group() {
    let text = fs::read_to_string(Path::new(ROOT).join("files/usr/share/acl.d/rail.json")).unwrap();
    let acl: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(acl["group"], "rail");
    assert_eq!(
        acl["access"],
        serde_json::json!({"rail": {"methods": ["status", "history"]}})
    );
    for key in ["publish", "subscribe", "send", "listen"] {
        assert!(acl.get(key).is_none(), "{key} is not granted");
    }
}
