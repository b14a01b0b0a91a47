//! Egress shaping on the lab's uplinks, on the real kernel: TCP through a shaped uplink stays
//! within 10% of the configured rate, the shaping is back within a second of a PPPoE-style
//! reconnect (new device, new ifindex), SQM's qdisc is left alone, and `remove` undoes it.

mod common;

use common::lab::{Fault, Lab};
use rail::config::Rate;
use rail::shaping::{self, Applied, Shaper};
use std::future::Future;
use std::os::fd::AsRawFd;
use std::process::Stdio;
use std::time::{Duration, Instant};

/// Run `f` with an rtnetlink socket opened inside namespace `ns` (on a thread of its own,
/// so the test's other threads stay where they are).
fn netlink<T, F, Fut>(ns: &str, f: F) -> T
where
    T: Send,
    F: FnOnce(rail::netlink::Socket) -> Fut + Send,
    Fut: Future<Output = T>,
{
    std::thread::scope(|s| {
        s.spawn(|| {
            let file = std::fs::File::open(format!("/run/netns/{ns}")).expect("netns file");
            // SAFETY: a valid namespace fd; only this thread changes namespace.
            let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
            assert_eq!(rc, 0, "setns: {}", std::io::Error::last_os_error());
            let socket = rail::netlink::Socket::route().expect("rtnetlink");
            smol::block_on(f(socket))
        })
        .join()
        .expect("netlink thread")
    })
}

fn apply(ns: &str, dev: &str, rate: Rate) -> Applied {
    let dev = dev.to_string();
    netlink(ns, |mut h| async move {
        let ifindex = ifindex_here(&dev);
        shaping::apply(&mut h, ifindex, rate).await.expect("apply")
    })
}

fn remove(ns: &str, dev: &str) -> bool {
    let dev = dev.to_string();
    netlink(ns, |mut h| async move {
        let ifindex = ifindex_here(&dev);
        shaping::remove(&mut h, ifindex).await.expect("remove")
    })
}

/// The ifindex of `dev` in the calling thread's namespace.
fn ifindex_here(dev: &str) -> u32 {
    let name = std::ffi::CString::new(dev).unwrap();
    // SAFETY: a NUL-terminated name; the call only reads it.
    let i = unsafe { libc::if_nametoindex(name.as_ptr()) };
    assert_ne!(i, 0, "no device {dev}");
    i
}

/// `tc qdisc show dev DEV root` in the router, first line.
/// The root qdisc's kind, handle and settings, without its packet counters (htb's
/// `direct_packets_stat` moves whenever a packet, e.g. an IPv6 router solicitation, leaves).
fn root_qdisc(lab: &Lab, dev: &str) -> String {
    let out = lab.run("rtr", &["tc", "qdisc", "show", "dev", dev, "root"]);
    let line = out.lines().next().unwrap_or_default();
    line.split(" direct_packets_stat")
        .next()
        .unwrap_or_default()
        .to_string()
}

const RECEIVER: &str = r#"
import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2])))
s.listen(1)
s.settimeout(15)
c, _ = s.accept()
c.settimeout(15)
warm = float(sys.argv[3])
first = start = last = None
n = 0
while True:
    d = c.recv(65536)
    if not d:
        break
    now = time.monotonic()
    first = first or now
    if now - first >= warm:
        if start is None:
            start = now
        else:
            n += len(d)
            last = now
print(n * 8 / (last - start))
"#;

const SENDER: &str = r#"
import socket, sys, time
for _ in range(60):
    try:
        s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=1)
        break
    except OSError:
        time.sleep(0.05)
s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 65536)
buf = b"x" * 16384
end = time.monotonic() + float(sys.argv[3])
while time.monotonic() < end:
    s.sendall(buf)
s.close()
"#;

/// TCP goodput in bit/s from the router to ISP `isp`'s end of the uplink, measured by the
/// receiver after one second of warm-up.
fn throughput(lab: &Lab, isp: usize, port: u16, seconds: f64) -> f64 {
    let gw = lab.uplink(isp).gw.to_string();
    let port = port.to_string();
    let receiver = lab
        .command(
            &format!("isp{isp}"),
            &["python3", "-c", RECEIVER, &gw, &port, "1"],
        )
        .stdout(Stdio::piped())
        .spawn()
        .expect("receiver");
    let secs = seconds.to_string();
    let sent = lab.exec("rtr", &["python3", "-c", SENDER, &gw, &port, &secs]);
    assert!(
        sent.status.success(),
        "sender: {}",
        String::from_utf8_lossy(&sent.stderr)
    );
    let out = receiver.wait_with_output().expect("receiver output");
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("receiver said {:?}", String::from_utf8_lossy(&out.stdout)))
}

fn within_10_percent(measured: f64, rate: Rate) -> bool {
    let want = f64::from(rate.kbit()) * 1000.0;
    (measured - want).abs() <= want / 10.0
}

#[test]
#[cfg_attr(not(lab_root), ignore = "needs root: the network lab")]
fn shaped_uplink_holds_its_rate_and_is_back_within_a_second_after_a_reconnect() {
    let lab = Lab::up(2);
    let rtr = lab.ns("rtr");
    let ppp = lab.uplink(2).dev;
    let rate = Rate::from_kbit(8_000).unwrap();

    let unshaped = throughput(&lab, 2, 5001, 2.0);
    assert!(
        unshaped > 30e6,
        "the lab link itself is fast: {unshaped:.0} bit/s"
    );

    assert_eq!(apply(&rtr, &ppp, rate), Applied::Installed);
    assert!(
        root_qdisc(&lab, &ppp).starts_with("qdisc tbf 7261: root"),
        "{}",
        root_qdisc(&lab, &ppp)
    );
    assert_eq!(apply(&rtr, &ppp, rate), Applied::Unchanged, "idempotent");
    let shaped = throughput(&lab, 2, 5002, 4.0);
    eprintln!("shaped to {rate}: {shaped:.0} bit/s (unshaped {unshaped:.0})");
    assert!(
        within_10_percent(shaped, rate),
        "{shaped:.0} bit/s for {rate}"
    );

    // A PPPoE reconnect: the device goes, a new one comes with the kernel's default qdisc.
    lab.fault(2, Fault::PppoeDrop);
    lab.fault(2, Fault::PppoeUp);
    let t0 = Instant::now();
    assert!(
        !root_qdisc(&lab, &ppp).contains("tbf"),
        "a new device starts unshaped"
    );
    assert_eq!(apply(&rtr, &ppp, rate), Applied::Installed);
    let took = t0.elapsed();
    assert!(took < Duration::from_secs(1), "re-applied in {took:?}");
    assert!(root_qdisc(&lab, &ppp).contains("tbf 7261:"));
    let again = throughput(&lab, 2, 5003, 3.0);
    eprintln!("after reconnect: {again:.0} bit/s, re-applied in {took:?}");
    assert!(
        within_10_percent(again, rate),
        "{again:.0} bit/s for {rate}"
    );

    // Stop: the kernel's default comes back; a second remove finds nothing.
    assert!(remove(&rtr, &ppp));
    assert!(!root_qdisc(&lab, &ppp).contains("tbf"));
    assert!(!remove(&rtr, &ppp));
}

#[test]
#[cfg_attr(not(lab_root), ignore = "needs root: the network lab")]
fn a_root_qdisc_rail_did_not_install_is_left_alone() {
    let lab = Lab::up(1);
    let rtr = lab.ns("rtr");
    let eth = lab.uplink(1).dev;
    // What SQM's simple.qos leaves on a WAN device: an HTB root of its own.
    lab.run(
        "rtr",
        &[
            "tc", "qdisc", "replace", "dev", &eth, "root", "handle", "1:", "htb", "default", "10",
        ],
    );
    let before = root_qdisc(&lab, &eth);
    let got = apply(&rtr, &eth, Rate::from_kbit(8_000).unwrap());
    assert!(
        matches!(&got, Applied::Foreign { kind, .. } if kind == "htb"),
        "{got:?}"
    );
    assert_eq!(root_qdisc(&lab, &eth), before);
    assert!(!remove(&rtr, &eth), "not ours to remove");
    assert_eq!(root_qdisc(&lab, &eth), before);
}

#[test]
#[cfg_attr(not(lab_root), ignore = "needs root: the network lab")]
fn the_daemons_shaper_unshapes_on_reload_and_stop() {
    let lab = Lab::up(1);
    let rtr = lab.ns("rtr");
    let eth = lab.uplink(1).dev;
    let rate = Some(Rate::from_kbit(20_000).unwrap());
    let dev = eth.clone();
    let steps = netlink(&rtr, |mut h| async move {
        let ifindex = ifindex_here(&dev);
        let show = || {
            let out = std::process::Command::new("tc")
                .args(["qdisc", "show", "dev", &dev, "root"])
                .output()
                .expect("tc");
            String::from_utf8_lossy(&out.stdout).contains("tbf 7261:")
        };
        let mut shaper = Shaper::default();
        shaper.device(&mut h, ifindex, rate).await.unwrap();
        let shaped = show();
        // A reload that drops `rate`.
        shaper.device(&mut h, ifindex, None).await.unwrap();
        let after_reload = show();
        shaper.device(&mut h, ifindex, rate).await.unwrap();
        shaper.device(&mut h, ifindex, rate).await.unwrap();
        let again = show();
        shaper.stop(&mut h).await;
        (shaped, after_reload, again, show())
    });
    assert_eq!(steps, (true, false, true, false));
}
