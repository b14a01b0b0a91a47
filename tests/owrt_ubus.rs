//! Interop with OpenWrt's own ubusd and `ubus` CLI (openwrt/ubus + openwrt/libubox, built
//! outside this repository; nothing of theirs is committed). Opt-in: `make owrt-test` with
//! RAIL_OWRT naming the prefix (docs/owrt.md).
//! Checks `ubus -v list rail`, `ubus call rail status`, bad arguments, events, notifications,
//! ubusd restart with re-registration, the shipped ACL for a non-root caller, and a first
//! boot (ubusd loads rail.json before uci-defaults creates group `rail`) with members by
//! primary or supplementary group, an outsider and unknown interfaces; each against today's
//! ubusd and against one from before 2025-10 (`old/` in the prefix), whose ACLs count only
//! the primary group.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output};
use std::rc::Rc;
use std::time::Duration;

use futures_lite::future;
use serde_json::{json, Value};
use smol::LocalExecutor;

#[path = "ubus_broker/mod.rs"]
mod broker;
#[path = "common/owrt.rs"]
mod owrt;

use broker::bus::{next_event, notify_until_heard};
use rail::openwrt::client::{BusEvent, Client, Config, Method, Object};
use rail::openwrt::object::{self, Request};

struct Tools {
    ubusd: PathBuf,
    ubus: PathBuf,
    dir: PathBuf,
}

/// Which ubus build of the prefix a test runs against.
#[derive(Clone, Copy)]
enum Build {
    Current,
    /// Before ubus commit b81257b (2025-10-14).
    Old,
}

impl Tools {
    fn from_env(test: &str, build: Build) -> Tools {
        let owrt = owrt::Owrt::from_env();
        let (ubusd, ubus) = match build {
            Build::Current => (owrt.bin("ubusd"), owrt.bin("ubus")),
            Build::Old => owrt.old_ubus().unwrap_or_else(|| {
                panic!(
                    "no ubusd from before 2025-10 in {}/old (docs/owrt.md: stage ubus-old)",
                    owrt.prefix().display()
                )
            }),
        };
        let dir = std::env::temp_dir().join(format!("rail-interop-{test}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("acl.d")).unwrap();
        Tools { ubusd, ubus, dir }
    }

    fn socket(&self) -> PathBuf {
        self.dir.join("ubus.sock")
    }

    fn start_ubusd(&self) -> Ubusd {
        self.start_ubusd_with(None)
    }

    /// As `start_ubusd`; with `group`, ubusd sees that file as /etc/group (bound there in
    /// a private mount namespace), so a test can create group `rail` as a router's
    /// uci-defaults does, without touching this machine's groups.
    fn start_ubusd_with(&self, group: Option<&Path>) -> Ubusd {
        let mut cmd = match group {
            Some(group) => {
                let mut c = Command::new("unshare");
                c.args(["-m", "--propagation", "private", "sh", "-c"])
                    .arg(r#"mount --bind "$0" /etc/group && exec "$@""#)
                    .arg(group)
                    .arg(&self.ubusd);
                c
            }
            None => Command::new(&self.ubusd),
        };
        // Wrapped at once so a failure below still kills it (`exec` keeps the pid).
        let ubusd = Ubusd(
            cmd.arg("-s")
                .arg(self.socket())
                .arg("-A")
                .arg(self.dir.join("acl.d"))
                .spawn()
                .expect("start ubusd"),
        );
        let mut ubusd = ubusd;
        for _ in 0..100 {
            if self.socket().exists() {
                return ubusd;
            }
            if let Ok(Some(status)) = ubusd.0.try_wait() {
                panic!("ubusd exited ({status})");
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!("ubusd did not create its socket");
    }

    /// Runs the `ubus` CLI off the executor thread (rail is served on it), as root or as
    /// `user` with primary group `group` and no other.
    async fn ubus(&self, args: &[&str], as_user: Option<(&str, &str)>) -> Output {
        match as_user {
            Some((user, group)) => {
                let (user, group) = (format!("--reuid={user}"), format!("--regid={group}"));
                self.ubus_as(args, &[&user, &group, "--clear-groups"]).await
            }
            None => self.ubus_as(args, &[]).await,
        }
    }

    /// As `ubus`, with the credentials `setpriv` sets from `creds` (none: root).
    async fn ubus_as(&self, args: &[&str], creds: &[&str]) -> Output {
        let mut cmd = if creds.is_empty() {
            Command::new(&self.ubus)
        } else {
            let mut c = Command::new("setpriv");
            c.args(creds).arg(&self.ubus);
            c
        };
        cmd.arg("-s")
            .arg(self.socket())
            .args(["-t", "3"])
            .args(args);
        smol::unblock(move || cmd.output().expect("run ubus")).await
    }
}

/// The ubusd process, killed when dropped (also when an assertion fails).
struct Ubusd(Child);

impl Ubusd {
    fn stop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Ubusd {
    fn drop(&mut self) {
        self.stop();
    }
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn rail_client(socket: &Path) -> Client {
    Client::new(Config {
        sockets: vec![socket.to_path_buf()],
        objects: vec![object::object(
            |req| req.interface().is_none_or(|n| n == "wan"),
            |req| {
                match req {
                Request::Status => Ok(Some(
                    json!({"version": "0.1.0", "interfaces": {"wan": {"state": "up", "flows": 12}}})
                        .into(),
                )),
                _ => Ok(None),
            }
            },
        )],
        subscriptions: vec!["network.interface".into()],
        patterns: vec!["network.interface".into()],
    })
}

#[test]
#[ignore = "needs RAIL_OWRT: OpenWrt's ubusd and ubus CLI (make owrt-test)"]
fn rail_on_real_ubusd() {
    rail_on(Tools::from_env("main", Build::Current));
}

#[test]
#[ignore = "needs RAIL_OWRT: OpenWrt's ubusd and ubus CLI (make owrt-test)"]
fn rail_on_ubusd_before_2025_10() {
    rail_on(Tools::from_env("main-old", Build::Old));
}

fn rail_on(tools: Tools) {
    let mut ubusd = tools.start_ubusd();
    let ex = LocalExecutor::new();
    future::block_on(ex.run(async {
        let rail = rail_client(&tools.socket());
        let r = rail.clone();
        ex.spawn(async move { r.run().await }).detach();
        let events = rail.events();
        assert_eq!(next_event(&events).await, BusEvent::Connected);

        let list = tools.ubus(&["-v", "list", "rail"], None).await;
        let text = stdout(&list);
        eprintln!("ubus -v list rail:\n{text}");
        assert!(text.contains("'rail' @"), "{text}");
        assert!(text.contains(r#""status":{}"#), "{text}");
        assert!(text.contains(r#""reload":{}"#), "{text}");
        assert!(
            text.contains(
                r#""hotplug":{"action":"String","interface":"String","device":"String"}"#
            ),
            "{text}"
        );
        assert!(
            text.contains(r#""maintenance":{"interface":"String","enable":"Boolean"}"#),
            "{text}"
        );

        let status = tools.ubus(&["call", "rail", "status"], None).await;
        assert!(status.status.success(), "{}", stderr(&status));
        let v: Value = serde_json::from_str(&stdout(&status)).unwrap();
        assert_eq!(v["interfaces"]["wan"]["flows"], 12);

        // With stderr not a tty, `ubus` exits with -status (254 = -2 Invalid argument,
        // 253 = -3 Method not found) and prints the status text in parentheses.
        for (method, args, code, message) in [
            (
                "maintenance",
                r#"{"interface":"wan","enable":"yes"}"#,
                254,
                "(Invalid argument)",
            ),
            (
                "maintenance",
                r#"{"interface":"wan"}"#,
                254,
                "(Invalid argument)",
            ),
            (
                "hotplug",
                r#"{"action":"ifup","interface":7}"#,
                254,
                "(Invalid argument)",
            ),
            ("frobnicate", "{}", 253, "(Method not found)"),
        ] {
            let out = tools.ubus(&["call", "rail", method, args], None).await;
            assert_eq!(
                out.status.code(),
                Some(code),
                "{method} {args}: {}",
                stderr(&out)
            );
            assert!(stderr(&out).contains(message), "{}", stderr(&out));
        }
        let ok = tools
            .ubus(
                &[
                    "call",
                    "rail",
                    "maintenance",
                    r#"{"interface":"wan","enable":true}"#,
                ],
                None,
            )
            .await;
        assert!(ok.status.success(), "{}", stderr(&ok));

        // netifd's event, as `ubus send` delivers it through the real ubusd.
        let sent = tools
            .ubus(
                &[
                    "send",
                    "network.interface",
                    r#"{"action":"ifdown","interface":"wan"}"#,
                ],
                None,
            )
            .await;
        assert!(sent.status.success());
        assert_eq!(
            next_event(&events).await,
            BusEvent::Event {
                id: "network.interface".into(),
                data: json!({"action": "ifdown", "interface": "wan"})
            }
        );

        // A netifd-like peer (our own client) appears after rail: rail subscribes on
        // ubus.object.add, receives its notification, and calls its status method.
        let netifd = Client::new(Config {
            sockets: vec![tools.socket()],
            objects: vec![
                Object {
                    path: "network.interface".into(),
                    methods: vec![],
                    handler: Rc::new(|_, _| Ok(None)),
                },
                Object {
                    path: "network.interface.wan".into(),
                    methods: vec![Method {
                        name: "status",
                        args: vec![],
                    }],
                    handler: Rc::new(|_, _| {
                        Ok(Some(json!({"up": true, "l3_device": "pppoe-wan"}).into()))
                    }),
                },
            ],
            ..Config::default()
        });
        let n = netifd.clone();
        ex.spawn(async move { n.run().await }).detach();
        assert_eq!(next_event(&netifd.events()).await, BusEvent::Connected);
        let via_cli = tools
            .ubus(&["call", "network.interface.wan", "status"], None)
            .await;
        assert!(
            stdout(&via_cli).contains("pppoe-wan"),
            "{}",
            stderr(&via_cli)
        );
        let got = rail
            .call("network.interface.wan", "status", &json!({}))
            .await
            .unwrap();
        assert_eq!(got, Some(json!({"up": true, "l3_device": "pppoe-wan"})));
        let down = json!({"interface": "wan", "up": false});
        let heard = notify_until_heard(
            &netifd,
            &events,
            "network.interface",
            "interface.down",
            &down,
        )
        .await;
        assert_eq!(
            heard,
            BusEvent::Notification {
                object: "network.interface".into(),
                kind: "interface.down".into(),
                data: down
            }
        );

        // ubusd restarts: rail reconnects and publishes again.
        ubusd.stop();
        assert_eq!(next_event(&events).await, BusEvent::Disconnected);
        let _ = std::fs::remove_file(tools.socket());
        ubusd = tools.start_ubusd();
        let reconnected = std::time::Instant::now();
        assert_eq!(next_event(&events).await, BusEvent::Connected);
        eprintln!(
            "re-registered {:?} after ubusd restarted",
            reconnected.elapsed()
        );
        let status = tools.ubus(&["call", "rail", "status"], None).await;
        assert!(status.status.success(), "{}", stderr(&status));
    }));
}

#[test]
#[ignore = "needs RAIL_OWRT: OpenWrt's ubusd and ubus CLI (make owrt-test)"]
fn shipped_acl_lets_only_root_change_state() {
    shipped_acl_on(Tools::from_env("acl", Build::Current));
}

#[test]
#[ignore = "needs RAIL_OWRT: OpenWrt's ubusd and ubus CLI (make owrt-test)"]
fn shipped_acl_on_ubusd_before_2025_10() {
    shipped_acl_on(Tools::from_env("acl-old", Build::Old));
}

fn shipped_acl_on(tools: Tools) {
    // The shipped file grants group `rail`; here the group is one that exists on Debian
    // (nogroup) so an unprivileged `nobody` can stand in for a member.
    let shipped = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/files/usr/share/acl.d/rail.json"
    ))
    .unwrap();
    let acl: Value = serde_json::from_str(&shipped).expect("rail.json is JSON");
    assert_eq!(acl["group"], "rail");
    let local = shipped.replace(r#""group": "rail""#, r#""group": "nogroup""#);
    std::fs::write(tools.dir.join("acl.d/rail.json"), local).unwrap();
    let _ubusd = tools.start_ubusd();
    let ex = LocalExecutor::new();
    future::block_on(ex.run(async {
        let rail = rail_client(&tools.socket());
        let r = rail.clone();
        ex.spawn(async move { r.run().await }).detach();
        assert_eq!(next_event(&rail.events()).await, BusEvent::Connected);
        // The temp dir must be reachable for nobody.
        let nobody = Some(("nobody", "nogroup"));
        let status = tools.ubus(&["call", "rail", "status"], nobody).await;
        assert!(
            status.status.success(),
            "nobody reads status: {}",
            stderr(&status)
        );
        for (method, args) in [
            ("reload", "{}"),
            ("maintenance", r#"{"interface":"wan","enable":true}"#),
            ("hotplug", r#"{"action":"ifup","interface":"wan"}"#),
        ] {
            let out = tools.ubus(&["call", "rail", method, args], nobody).await;
            assert!(
                stderr(&out).contains("Permission denied"),
                "{method}: {}",
                stderr(&out)
            );
            let root = tools.ubus(&["call", "rail", method, args], None).await;
            assert!(root.status.success(), "root {method}: {}", stderr(&root));
        }
    }));
}

/// The gid the first-boot tests give group `rail` (free on Debian).
const RAIL_GID: &str = "64123";

#[test]
#[ignore = "needs RAIL_OWRT: OpenWrt's ubusd and ubus CLI (make owrt-test)"]
fn acl_grant_works_on_first_boot() {
    first_boot_on(Tools::from_env("boot", Build::Current), Build::Current);
}

#[test]
#[ignore = "needs RAIL_OWRT: OpenWrt's ubusd and ubus CLI (make owrt-test)"]
fn acl_grant_works_on_first_boot_before_2025_10() {
    first_boot_on(Tools::from_env("boot-old", Build::Old), Build::Old);
}

/// A router's first boot: ubusd loads the shipped rail.json while group `rail` does not
/// exist yet; then uci-defaults' 90-rail runs (the shipped script, with functions.sh's
/// group helpers working on ubusd's /etc/group and a `killall` that signals this ubusd
/// only). Then a caller whose primary group is `rail` reads status and is refused the
/// rest; one with `rail` as a supplementary group only reads status on ubusd since
/// 2025-10; one outside the group does not see `rail` at all.
fn first_boot_on(tools: Tools, build: Build) {
    let group = tools.dir.join("group");
    std::fs::copy("/etc/group", &group).unwrap();
    let shipped = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/files/usr/share/acl.d/rail.json"
    );
    std::fs::copy(shipped, tools.dir.join("acl.d/rail.json")).unwrap();
    let ubusd = tools.start_ubusd_with(Some(&group));
    let root = tools.dir.join("root");
    std::fs::create_dir_all(root.join("lib")).unwrap();
    std::fs::create_dir_all(root.join("bin")).unwrap();
    let g = group.display();
    std::fs::write(
        root.join("lib/functions.sh"),
        format!(
            "group_exists() {{ grep -q \"^$1:\" '{g}'; }}\n\
             group_add_next() {{ echo \"$1:x:{RAIL_GID}:\" >>'{g}'; echo {RAIL_GID}; }}\n"
        ),
    )
    .unwrap();
    let killall = root.join("bin/killall");
    std::fs::write(
        &killall,
        format!(
            "#!/bin/sh\n[ \"$*\" = '-HUP ubusd' ] && exec kill -HUP {}\nexit 1\n",
            ubusd.0.id()
        ),
    )
    .unwrap();
    std::fs::set_permissions(
        &killall,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    // ubusd and the callers need to reach the temp dir.
    std::fs::set_permissions(
        &tools.dir,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();

    let ex = LocalExecutor::new();
    future::block_on(ex.run(async {
        let rail = rail_client(&tools.socket());
        let r = rail.clone();
        ex.spawn(async move { r.run().await }).detach();
        assert_eq!(next_event(&rail.events()).await, BusEvent::Connected);

        let script = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/files/etc/uci-defaults/90-rail"
        );
        let path = format!(
            "{}:{}",
            root.join("bin").display(),
            std::env::var("PATH").unwrap()
        );
        let out = Command::new("sh")
            .arg(script)
            .env("IPKG_INSTROOT", &root)
            .env("PATH", path)
            .output()
            .unwrap();
        assert!(out.status.success(), "90-rail: {}", stderr(&out));
        assert!(std::fs::read_to_string(&group)
            .unwrap()
            .contains(&format!("rail:x:{RAIL_GID}:")));

        let primary = [
            "--reuid=65534",
            &format!("--regid={RAIL_GID}"),
            "--clear-groups",
        ];
        let supplementary = [
            "--reuid=65534",
            "--regid=65534",
            &format!("--groups={RAIL_GID}"),
        ];
        let outsider = ["--reuid=65534", "--regid=65534", "--clear-groups"];
        let status = ["call", "rail", "status"];
        // ubusd handles the HUP on its own time: wait for the grant.
        let mut out = tools.ubus_as(&status, &primary).await;
        for _ in 0..50 {
            if out.status.success() {
                break;
            }
            async_io::Timer::after(Duration::from_millis(20)).await;
            out = tools.ubus_as(&status, &primary).await;
        }
        assert!(
            out.status.success(),
            "primary group rail reads status: {}",
            stderr(&out)
        );
        let out = tools.ubus_as(&["call", "rail", "reload"], &primary).await;
        assert!(
            stderr(&out).contains("Permission denied"),
            "reload: {}",
            stderr(&out)
        );

        let out = tools.ubus_as(&status, &supplementary).await;
        match build {
            Build::Current => assert!(out.status.success(), "{}", stderr(&out)),
            // Only the primary group counts: the object is hidden, as from an outsider.
            Build::Old => assert!(stderr(&out).contains("Not found"), "{}", stderr(&out)),
        }
        // Outside group rail: no grant on `rail` at all, so ubusd's lookup does not show it.
        let out = tools.ubus_as(&status, &outsider).await;
        assert!(
            stderr(&out).contains("Not found"),
            "outsider: {}",
            stderr(&out)
        );
        assert_eq!(out.status.code(), Some(252), "-4: Not found");

        // An interface rail does not have: `Not found` from rail itself, even for root.
        for (method, args) in [
            ("maintenance", r#"{"interface":"wan9","enable":true}"#),
            ("hotplug", r#"{"action":"ifup","interface":"lan"}"#),
        ] {
            let out = tools.ubus(&["call", "rail", method, args], None).await;
            assert!(
                stderr(&out).contains("Not found"),
                "{method}: {}",
                stderr(&out)
            );
        }
    }));
}
