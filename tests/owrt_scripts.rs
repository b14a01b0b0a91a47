//! The launch scripts of the real-OpenWrt lab (scripts/owrt, docs/owrt.md) against the
//! daemons in `RAIL_OWRT`: run-netifd.sh brings a static uplink up in a throwaway network
//! namespace with netifd's own ucode; run-luci.sh serves LuCI's login page and rpcd's
//! `session login` over uhttpd's /ubus, with luci-app-rail installed and procd's `system`
//! object stood in for. Opt-in: `make owrt-test`, as root.

#[path = "common/owrt.rs"]
mod owrt;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn ok(what: &str, out: Output) -> String {
    assert!(
        out.status.success(),
        "{what}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn run(cmd: &mut Command) -> Output {
    cmd.output().unwrap_or_else(|e| panic!("run {cmd:?}: {e}"))
}

/// A scratch directory and network namespace for one test, removed when dropped, with the
/// processes started in them.
struct Scratch {
    dir: PathBuf,
    netns: String,
    children: Vec<Child>,
}

impl Scratch {
    fn new(test: &str) -> Scratch {
        // SAFETY: geteuid has no preconditions and cannot fail.
        assert_eq!(
            unsafe { libc::geteuid() },
            0,
            "run-netifd.sh and run-luci.sh need root (namespaces, mounts)"
        );
        let netns = format!("rail-owrt-{test}-{}", std::process::id());
        let dir = std::env::temp_dir().join(&netns);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let _ = run(Command::new("ip").args(["netns", "del", &netns]));
        ok(
            "ip netns add",
            run(Command::new("ip").args(["netns", "add", &netns])),
        );
        Scratch {
            dir,
            netns,
            children: Vec::new(),
        }
    }

    fn spawn(&mut self, cmd: &mut Command, log: &str) {
        let log = std::fs::File::create(self.dir.join(log)).unwrap();
        let child = cmd
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("start {cmd:?}: {e}"));
        self.children.push(child);
    }

    fn in_netns(&self, args: &[&str]) -> Output {
        run(Command::new("ip")
            .args(["netns", "exec", &self.netns])
            .args(args))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        // SIGTERM first: run-luci.sh stops its daemons on it.
        for child in &self.children {
            // SAFETY: kill with a pid we started and have not reaped.
            unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
        }
        for child in &mut self.children {
            let start = Instant::now();
            while child.try_wait().ok().flatten().is_none() {
                if start.elapsed() > Duration::from_secs(5) {
                    let _ = child.kill();
                    let _ = child.wait();
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        let _ = run(Command::new("ip").args(["netns", "del", &self.netns]));
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Polls `probe` every 50 ms until it returns Some, for at most `secs` seconds.
fn wait_for<T>(secs: u64, what: &str, mut probe: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = probe() {
            return v;
        }
        assert!(
            start.elapsed() < Duration::from_secs(secs),
            "{what} within {secs} s"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn start_ubusd(owrt: &owrt::Owrt, s: &mut Scratch) -> PathBuf {
    let sock = s.dir.join("ubus.sock");
    s.spawn(
        Command::new(owrt.bin("ubusd")).arg("-s").arg(&sock),
        "ubusd.log",
    );
    wait_for(5, "ubusd's socket", || sock.exists().then_some(()));
    sock
}

#[test]
#[ignore = "needs RAIL_OWRT: OpenWrt's netifd (make owrt-test)"]
fn run_netifd_brings_a_static_uplink_up() {
    let owrt = owrt::Owrt::from_env();
    let mut s = Scratch::new("netifd");
    ok(
        "veth",
        s.in_netns(&[
            "ip", "link", "add", "v0", "type", "veth", "peer", "name", "v1",
        ]),
    );
    ok("v1 up", s.in_netns(&["ip", "link", "set", "v1", "up"]));
    let conf = s.dir.join("config");
    std::fs::create_dir_all(&conf).unwrap();
    std::fs::write(
        conf.join("network"),
        "config interface 'loopback'\n\toption device 'lo'\n\toption proto 'static'\n\
         \toption ipaddr '127.0.0.1'\n\toption netmask '255.0.0.0'\n\n\
         config interface 'wan'\n\toption device 'v0'\n\toption proto 'static'\n\
         \toption ipaddr '192.0.2.2'\n\toption netmask '255.255.255.0'\n\
         \toption gateway '192.0.2.1'\n",
    )
    .unwrap();
    let hotplug = s.dir.join("hotplug");
    let calls = s.dir.join("hotplug.log");
    std::fs::write(
        &hotplug,
        format!(
            "#!/bin/sh\necho \"$ACTION $INTERFACE $DEVICE\" >> {}\n",
            calls.display()
        ),
    )
    .unwrap();
    ok("chmod", run(Command::new("chmod").arg("+x").arg(&hotplug)));
    // A ucode proto handler given with -p: netifd's own proto.uc loads it from
    // /lib/netifd/proto, so its presence shows netifd's ucode ran from the overlay.
    let protos = s.dir.join("proto");
    std::fs::create_dir_all(&protos).unwrap();
    std::fs::write(
        protos.join("railtest.uc"),
        "netifd.add_proto({ name: \"railtest\", config: (ctx) => ({}),\n\
         \tsetup: (proto) => null, teardown: (proto) => null });\n",
    )
    .unwrap();
    let sock = start_ubusd(&owrt, &mut s);
    let netns = s.netns.clone();
    s.spawn(
        Command::new(repo().join("scripts/owrt/run-netifd.sh"))
            .env("RAIL_OWRT", owrt.prefix())
            .arg("-p")
            .arg(&protos)
            .args(["-n", &netns, "--", "-S", "-c"])
            .arg(&conf)
            .arg("-s")
            .arg(&sock)
            .arg("-h")
            .arg(&hotplug),
        "netifd.log",
    );

    let ubus = |args: &[&str]| {
        run(Command::new(owrt.bin("ubus"))
            .arg("-s")
            .arg(&sock)
            .args(args))
    };
    let status: Value = wait_for(10, "netifd reports wan up", || {
        let out = ubus(&["call", "network.interface.wan", "status"]);
        let v: Value = serde_json::from_slice(&out.stdout).ok()?;
        (v["up"] == true).then_some(v)
    });
    assert_eq!(status["l3_device"], "v0", "{status}");
    assert_eq!(
        status["ipv4-address"],
        json!([{"address": "192.0.2.2", "mask": 24}])
    );
    let handlers = ok(
        "get_proto_handlers",
        ubus(&["call", "network", "get_proto_handlers"]),
    );
    assert!(handlers.contains("\"railtest\""), "{handlers}");
    let route = ok("ip route", s.in_netns(&["ip", "route", "show", "default"]));
    assert!(route.contains("default via 192.0.2.1 dev v0"), "{route}");
    let seen = wait_for(5, "the hotplug call for wan", || {
        let text = std::fs::read_to_string(&calls).ok()?;
        text.contains("ifup wan v0").then_some(text)
    });
    assert!(seen.contains("ifup loopback lo"), "{seen}");
    assert!(
        !Path::new("/lib/netifd/main.uc").exists(),
        "the overlay stays inside netifd's mount namespace"
    );
}

#[test]
#[ignore = "needs RAIL_OWRT: OpenWrt's rpcd, uhttpd and LuCI (make owrt-test)"]
fn run_luci_serves_the_login_and_rpcd_sessions() {
    let owrt = owrt::Owrt::from_env();
    let mut s = Scratch::new("luci");
    let state = s.dir.join("state");
    let netns = s.netns.clone();
    s.spawn(
        Command::new(repo().join("scripts/owrt/run-luci.sh"))
            .env("RAIL_OWRT", owrt.prefix())
            .current_dir(repo())
            .args(["-n", &netns, "-p", "8080", "-w", "sesame"])
            .args(["-a", "luci-app-rail", "-c", "files/etc/config"])
            .arg(&state),
        "run-luci.log",
    );
    let url = wait_for(20, "run-luci.sh reports LuCI ready", || {
        std::fs::read_to_string(state.join("ready")).ok()
    });
    assert_eq!(url.trim(), "http://127.0.0.1:8080/cgi-bin/luci/");
    let curl = |args: &[&str]| {
        ok(
            "curl",
            s.in_netns(&[&["curl", "-s", "--max-time", "10"], args].concat()),
        )
    };

    let page = curl(&["-w", "\n%{http_code}", url.trim()]);
    assert!(
        page.ends_with("\n403"),
        "the login page answers 403: {page}"
    );
    assert!(page.contains("name=\"luci_password\""), "{page}");

    let call = |sid: &str, object: &str, method: &str, args: Value| -> Value {
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": "call",
            "params": [sid, object, method, args]});
        let out = curl(&["http://127.0.0.1:8080/ubus", "-d", &body.to_string()]);
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"))
    };
    let anonymous = "00000000000000000000000000000000";
    let wrong = call(
        anonymous,
        "session",
        "login",
        json!({"username": "root", "password": "rail"}),
    );
    assert_eq!(wrong["result"], json!([6]), "a wrong password: {wrong}");
    let login = call(
        anonymous,
        "session",
        "login",
        json!({"username": "root", "password": "sesame"}),
    );
    assert_eq!(login["result"][0], 0, "{login}");
    let session = &login["result"][1];
    let sid = session["ubus_rpc_session"].as_str().expect("a session id");
    assert!(
        session["acls"]["access-group"]["luci-app-rail"].is_array(),
        "luci-app-rail's ACL is installed: {session}"
    );
    let board = call(sid, "system", "board", json!({}));
    assert_eq!(
        board["result"][1]["release"]["distribution"], "OpenWrt",
        "procd's system object, stood in for: {board}"
    );
    let uci = call(sid, "uci", "get", json!({"config": "rail"}));
    assert_eq!(uci["result"][0], 0, "rpcd reads /etc/config/rail: {uci}");
}
