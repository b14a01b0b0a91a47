//! Shared by the health tests: a home-router `Interface` to start from, and network
//! namespaces (unique names per run, veth pairs with documentation addresses, code run
//! inside a namespace on a thread of its own: sockets keep the namespace they were created
//! in). Namespaces are removed on drop, also when a test fails.

#![allow(dead_code)] // each test file uses a different part

pub mod sim;

use rail::config::Interface;
use std::fs::File;
use std::net::IpAddr;
use std::os::fd::AsRawFd;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

static NEXT: AtomicU32 = AtomicU32::new(0);

pub struct Netns {
    pub name: String,
}

impl Netns {
    pub fn new(tag: &str) -> Netns {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let name = format!("rh{tag}-{}-{n}", std::process::id());
        run("ip", &["netns", "add", &name]);
        let ns = Netns { name };
        ns.ip("link set lo up");
        ns
    }

    /// `ip -n <ns> <args>`; panics with the output when it fails.
    pub fn ip(&self, args: &str) {
        let mut a = vec!["-n", &self.name];
        a.extend(args.split_whitespace());
        run("ip", &a);
    }

    /// A shell command inside the namespace.
    pub fn sh(&self, cmd: &str) {
        run("ip", &["netns", "exec", &self.name, "sh", "-c", cmd]);
    }

    /// Run `f` on a new thread that has entered this namespace.
    pub fn spawn<R: Send + 'static>(
        &self,
        f: impl FnOnce() -> R + Send + 'static,
    ) -> std::thread::JoinHandle<R> {
        spawn_in(&self.name, f)
    }

    /// Run `f` inside the namespace and wait for it.
    pub fn run<R: Send + 'static>(&self, f: impl FnOnce() -> R + Send + 'static) -> R {
        match self.spawn(f).join() {
            Ok(r) => r,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

/// Run `f` on a new thread that has entered the named namespace (one of ours, or the
/// shared lab's).
pub fn spawn_in<R: Send + 'static>(
    ns: &str,
    f: impl FnOnce() -> R + Send + 'static,
) -> std::thread::JoinHandle<R> {
    let file = File::open(format!("/var/run/netns/{ns}")).expect("netns file");
    std::thread::spawn(move || {
        // SAFETY: a valid namespace descriptor; setns affects only this thread.
        let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
        assert_eq!(rc, 0, "setns: {}", std::io::Error::last_os_error());
        f()
    })
}

/// A veth pair `a_if` in `a` (address `a_addr`, CIDR) and `b_if` in `b` (`b_addr`).
pub fn veth(a: &Netns, a_if: &str, a_addr: &str, b: &Netns, b_if: &str, b_addr: &str) {
    a.ip(&format!(
        "link add {a_if} type veth peer name {b_if} netns {}",
        b.name
    ));
    a.ip(&format!("addr add {a_addr} dev {a_if}"));
    b.ip(&format!("addr add {b_addr} dev {b_if}"));
    a.ip(&format!("link set {a_if} up"));
    b.ip(&format!("link set {b_if} up"));
}

pub fn ifindex(ns: &Netns, dev: &str) -> u32 {
    ifindex_in(&ns.name, dev)
}

pub fn ifindex_in(ns: &str, dev: &str) -> u32 {
    let out = Command::new("ip")
        .args(["-n", ns, "-o", "link", "show", dev])
        .output()
        .expect("ip link");
    let text = String::from_utf8_lossy(&out.stdout);
    text.split(':')
        .next()
        .and_then(|n| n.trim().parse().ok())
        .expect("ifindex")
}

fn run(cmd: &str, args: &[&str]) {
    let out = Command::new(cmd).args(args).output().expect(cmd);
    assert!(
        out.status.success(),
        "{cmd} {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

pub fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// A home-router interface: interval 1 s, down 3, up 5, reliability 1, mark 1 of the default
/// mask, probing `targets` by ping.
pub fn interface(name: &str, targets: &[&str]) -> Interface {
    Interface {
        track_ip: targets.iter().map(|t| ip(t)).collect(),
        track_dns_name: "example.org".into(),
        timeout: Duration::from_millis(800),
        failure_interval: Duration::from_millis(500),
        recovery_interval: Duration::from_millis(500),
        up: 5,
        flush_conntrack: false,
        ..rail::fixtures::interface(name, 1)
    }
}

/// The fast profile: interval 0.2 s, failure and recovery interval 0.1 s, timeout 0.1 s.
pub fn fast(mut i: Interface) -> Interface {
    i.interval = Duration::from_millis(200);
    i.failure_interval = Duration::from_millis(100);
    i.recovery_interval = Duration::from_millis(100);
    i.timeout = Duration::from_millis(100);
    i
}

/// A router with uplink `up1` (192.0.2.2) to an ISP namespace (192.0.2.1) that owns
/// `targets` on its loopback. The router's main table has no route to them: probes reach
/// them only through rail's own means (device binding; the mark rule the dataplane
/// installs, reproduced here).
pub struct Lab {
    pub router: Netns,
    pub isp: Netns,
}

impl Lab {
    pub fn new(targets: &[&str]) -> Lab {
        let router = Netns::new("r");
        let isp = Netns::new("i");
        veth(
            &router,
            "up1",
            "192.0.2.2/24",
            &isp,
            "down1",
            "192.0.2.1/24",
        );
        router.ip("route add default via 192.0.2.1 dev up1 table 101");
        router.ip("rule add fwmark 0x01000000/0x3f000000 lookup 101");
        for t in targets {
            isp.ip(&format!("addr add {t}/32 dev lo"));
        }
        Lab { router, isp }
    }
}
