//! Lab tests of the dataplane on the real kernel: a router namespace running rail's
//! dataplane between a LAN namespace and two ISP namespaces that both host the "Internet
//! service" 203.0.113.10:80, which records the source address each connection arrives from.
//!
//! Topology (names unique per test, deleted on drop even when a test fails):
//! L eth0 192.168.77.2 -- R lan0 192.168.77.1 | R wan1 192.0.2.2 -- A 192.0.2.1
//!                                            | R wan2 198.51.100.2 -- B 198.51.100.1

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use rail::config::*;
use rail::dataplane::conntrack::Conntrack;
use rail::dataplane::desired::{desired, Desired, Links};
use rail::dataplane::kernel::{Changes, Kernel};
use rail::dataplane::nft::render;
use rail::dataplane::watch::{Event, Watch};
use rail::policy::resolve;

mod dataplane_fixtures;
use dataplane_fixtures as fixtures;

const SERVICE: &str = "203.0.113.10:80";
const WAN1: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 2);
const WAN2: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 2);

fn sh(cmd: &str) {
    let out = Command::new("sh").arg("-c").arg(cmd).output().expect("sh");
    assert!(
        out.status.success(),
        "{cmd}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn sh_out(cmd: &str) -> String {
    let out = Command::new("sh").arg("-c").arg(cmd).output().expect("sh");
    assert!(
        out.status.success(),
        "{cmd}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Enter namespace `ns` on the current thread (threads only: the process stays put).
fn enter(ns: &str) {
    let f = std::fs::File::open(format!("/run/netns/{ns}")).expect("netns file");
    assert_eq!(
        unsafe { libc::setns(f.as_raw_fd(), libc::CLONE_NEWNET) },
        0,
        "setns {ns}"
    );
}

/// Run `f` on a thread inside namespace `ns`.
fn in_ns<T: Send>(ns: &str, f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|s| {
        s.spawn(|| {
            enter(ns);
            f()
        })
        .join()
        .expect("namespace thread panicked")
    })
}

/// A network namespace that is deleted when dropped.
struct Netns(String);

impl Netns {
    fn new(name: String) -> Netns {
        sh(&format!("ip netns add {name}"));
        let ns = Netns(name);
        ns.sh("ip link set lo up");
        ns
    }
    fn sh(&self, cmd: &str) {
        sh(&format!("ip netns exec {} sh -c '{cmd}'", self.0));
    }
    fn out(&self, cmd: &str) -> String {
        sh_out(&format!("ip netns exec {} sh -c '{cmd}'", self.0))
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

/// The Internet service in one ISP: accepts, records the peer, echoes lines.
struct Server {
    peers: Arc<Mutex<Vec<SocketAddr>>>,
    stop: Arc<AtomicBool>,
}

impl Server {
    fn start(ns: &str) -> Server {
        let peers = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (ready_tx, ready_rx) = mpsc::channel();
        let (p, s, ns) = (peers.clone(), stop.clone(), ns.to_string());
        std::thread::spawn(move || {
            enter(&ns);
            let listener = TcpListener::bind(SERVICE).expect("bind service");
            listener.set_nonblocking(true).unwrap();
            ready_tx.send(()).unwrap();
            while !s.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((stream, peer)) => {
                        p.lock().unwrap().push(peer);
                        std::thread::spawn(move || echo(stream));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(2)),
                }
            }
        });
        ready_rx.recv().unwrap();
        Server { peers, stop }
    }
    fn peers(&self) -> Vec<Ipv4Addr> {
        self.peers
            .lock()
            .unwrap()
            .iter()
            .map(|p| match p.ip() {
                std::net::IpAddr::V4(a) => a,
                other => panic!("unexpected peer {other}"),
            })
            .collect()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn echo(stream: TcpStream) {
    stream.set_nonblocking(false).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut w = stream.try_clone().unwrap();
    for line in BufReader::new(stream).lines() {
        let Ok(line) = line else { return };
        if w.write_all(format!("{line}\n").as_bytes()).is_err() {
            return;
        }
    }
}

/// A connection kept open, and a way to check it still carries data.
struct Flow(TcpStream);

impl Flow {
    fn ping(&mut self, word: &str) -> bool {
        self.0
            .set_read_timeout(Some(Duration::from_secs(2)))
            .unwrap();
        if self.0.write_all(format!("{word}\n").as_bytes()).is_err() {
            return false;
        }
        let mut line = String::new();
        BufReader::new(&self.0).read_line(&mut line).is_ok() && line.trim() == word
    }
}

fn connect(bind: Option<Ipv4Addr>, to: &str) -> std::io::Result<TcpStream> {
    connect_marked(bind, None, to)
}

/// A connection from an optional source address with an optional `SO_MARK`.
fn connect_marked(
    bind: Option<Ipv4Addr>,
    mark: Option<u32>,
    to: &str,
) -> std::io::Result<TcpStream> {
    let to: SocketAddr = to.parse().unwrap();
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)?;
    if let Some(b) = bind {
        socket.bind(&SocketAddr::from((b, 0)).into())?;
    }
    if let Some(m) = mark {
        socket.set_mark(m)?;
    }
    socket.connect_timeout(&to.into(), Duration::from_secs(2))?;
    Ok(socket.into())
}

/// rail's dataplane, living on a thread inside the router namespace (its netlink sockets,
/// the `nft` it forks and the sysctls it writes all belong to that namespace).
struct Rail {
    ex: smol::LocalExecutor<'static>,
    kernel: Kernel,
    conntrack: Conntrack,
    watch: Option<Watch>,
}

impl Rail {
    fn block<T>(ex: &smol::LocalExecutor<'static>, f: impl std::future::Future<Output = T>) -> T {
        smol::block_on(ex.run(f))
    }
    fn learn(&mut self, config: &Config) -> Links {
        let Rail { ex, kernel, .. } = self;
        let mut links = Links::new();
        for (i, iface) in config.interfaces.iter().enumerate() {
            let device = iface.device.as_deref().expect("lab configs name devices");
            if let Some(l) = Self::block(ex, kernel.learn(device, None)).expect("learn") {
                links.insert(InterfaceId(i), l.link);
            }
        }
        links
    }
    fn reconcile(&mut self, d: &Desired) -> Changes {
        let Rail { ex, kernel, .. } = self;
        Self::block(ex, kernel.reconcile(d)).expect("reconcile")
    }
    fn apply_policy_routes(&mut self, d: &Desired) -> usize {
        let Rail { ex, kernel, .. } = self;
        Self::block(ex, kernel.apply_policy_routes(d)).expect("policy routes")
    }
    fn flows(&mut self, mask: u32) -> BTreeMap<u32, usize> {
        let Rail { ex, conntrack, .. } = self;
        Self::block(ex, conntrack.count_by_mark(mask)).expect("count")
    }
    fn delete_flows(&mut self, mark: u32, mask: u32) {
        let Rail { ex, conntrack, .. } = self;
        Self::block(ex, conntrack.delete_mark(mark, mask)).expect("delete")
    }
}

type Job = Box<dyn FnOnce(&mut Rail) + Send>;

/// A thread in the router namespace that runs jobs against one `Rail`.
struct Router {
    jobs: Option<mpsc::Sender<Job>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Router {
    fn start(ns: &str) -> Router {
        let (tx, rx) = mpsc::channel::<Job>();
        let ns = ns.to_string();
        let thread = std::thread::spawn(move || {
            enter(&ns);
            let ex = smol::LocalExecutor::new();
            let (kernel, conn) = Kernel::connect().expect("connect");
            ex.spawn(conn).detach();
            let conntrack = Conntrack::open().expect("conntrack");
            let mut rail = Rail {
                ex,
                kernel,
                conntrack,
                watch: None,
            };
            for job in rx {
                job(&mut rail);
            }
        });
        Router {
            jobs: Some(tx),
            thread: Some(thread),
        }
    }
    fn run<T: Send + 'static>(&self, f: impl FnOnce(&mut Rail) -> T + Send + 'static) -> T {
        let (tx, rx) = mpsc::channel();
        let job: Job = Box::new(move |rail| {
            let _ = tx.send(f(rail));
        });
        self.jobs
            .as_ref()
            .unwrap()
            .send(job)
            .expect("router thread alive");
        rx.recv().expect("router job panicked")
    }
}

impl Drop for Router {
    fn drop(&mut self) {
        drop(self.jobs.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

static SEQ: AtomicUsize = AtomicUsize::new(0);

struct Lab {
    r: Netns,
    l: Netns,
    _a: Netns,
    _b: Netns,
    isp: [Server; 2],
}

impl Lab {
    fn new() -> Lab {
        let id = format!(
            "rdp{}x{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        );
        let (r, l, a, b) = (
            Netns::new(format!("{id}r")),
            Netns::new(format!("{id}l")),
            Netns::new(format!("{id}a")),
            Netns::new(format!("{id}b")),
        );
        let (rn, ln, an, bn) = (&r.0, &l.0, &a.0, &b.0);
        sh(&format!(
            "ip -n {rn} link add lan0 type veth peer name eth0 netns {ln}"
        ));
        sh(&format!(
            "ip -n {rn} link add wan1 type veth peer name up0 netns {an}"
        ));
        sh(&format!(
            "ip -n {rn} link add wan2 type veth peer name up0 netns {bn}"
        ));
        r.sh("ip addr add 192.168.77.1/24 dev lan0 && ip addr add 192.0.2.2/24 dev wan1 && ip addr add 198.51.100.2/24 dev wan2");
        r.sh(
            "for d in lan0 wan1 wan2; do ip link set $d up; done; sysctl -qw net.ipv4.ip_forward=1",
        );
        // What netifd installs: a default route per WAN in main, by metric.
        r.sh("ip route add default via 192.0.2.1 dev wan1 metric 10 && ip route add default via 198.51.100.1 dev wan2 metric 20");
        l.sh("ip addr add 192.168.77.2/24 dev eth0 && ip link set eth0 up && ip route add default via 192.168.77.1");
        a.sh("ip addr add 192.0.2.1/24 dev up0 && ip link set up0 up && ip addr add 203.0.113.10/32 dev lo");
        b.sh("ip addr add 198.51.100.1/24 dev up0 && ip link set up0 up && ip addr add 203.0.113.10/32 dev lo");
        let isp = [Server::start(an), Server::start(bn)];
        Lab {
            r,
            l,
            _a: a,
            _b: b,
            isp,
        }
    }

    /// Connections seen by the service per rail uplink address.
    fn seen(&self) -> (usize, usize) {
        let all: Vec<Ipv4Addr> = self.isp.iter().flat_map(|s| s.peers()).collect();
        (
            all.iter().filter(|p| **p == WAN1).count(),
            all.iter().filter(|p| **p == WAN2).count(),
        )
    }

    fn snapshot(&self) -> String {
        self.r
            .out("ip rule; ip route show table all; nft list ruleset")
    }

    /// `n` connections from the LAN to the service, kept open.
    fn flows(&self, n: usize) -> Vec<Flow> {
        self.lan(|| {
            (0..n)
                .map(|_| Flow(connect(None, SERVICE).unwrap()))
                .collect()
        })
    }

    fn lan<T: Send>(&self, f: impl FnOnce() -> T + Send) -> T {
        in_ns(&self.l.0, f)
    }
}

/// wan1 and wan2 (masqueraded, as fw4 would) in one policy with the given weights; every
/// connection uses it.
fn balanced(w1: u16, w2: u16) -> Config {
    let mut c = fixtures::config(&["wan1", "wan2"], &[(0, 1, w1), (1, 1, w2)], &[&[0, 1]]);
    for iface in &mut c.interfaces {
        iface.device = Some(iface.name.clone());
        iface.masquerade = true;
    }
    c.rules = vec![fixtures::rule("all", Target::Policy(PolicyId(0)))];
    c
}

/// The desired state for `config` with the given uplinks up, from devices learned now.
fn desired_with(router: &Router, config: &Config, up: &'static [usize]) -> Desired {
    let config = config.clone();
    router.run(move |rail| {
        let links = rail.learn(&config);
        desired(&config, &links, &resolve(&config, |i| up.contains(&i.0)))
    })
}

/// Make the kernel match `config` with the given uplinks up.
fn apply(router: &Router, config: &Config, up: &'static [usize]) -> Desired {
    let d = desired_with(router, config, up);
    let applied = d.clone();
    router.run(move |rail| rail.reconcile(&applied));
    d
}

fn mark(n: u32) -> u32 {
    MarkMask::DEFAULT.mark(n).unwrap().value()
}

#[test]
fn new_connections_split_by_weight_three_to_one() {
    let lab = Lab::new();
    let router = Router::start(&lab.r.0);
    apply(&router, &balanced(3, 1), &[0, 1]);
    let failed = lab.lan(|| (0..400).filter(|_| connect(None, SERVICE).is_err()).count());
    assert_eq!(failed, 0);
    std::thread::sleep(Duration::from_millis(200));
    let (wan1, wan2) = lab.seen();
    println!("3:1 policy, 400 connections: wan1 {wan1}, wan2 {wan2}");
    assert_eq!(wan1 + wan2, 400);
    // 75% of 400 = 300, within 10%.
    assert!((270..=330).contains(&wan1), "wan1 got {wan1} of 400");
}

/// A lab whose router balances 1:1 over both uplinks.
fn balanced_lab() -> (Lab, Router, Config) {
    let lab = Lab::new();
    let router = Router::start(&lab.r.0);
    let config = balanced(1, 1);
    apply(&router, &config, &[0, 1]);
    (lab, router, config)
}

#[test]
fn long_lived_connection_keeps_its_uplink_while_the_policy_route_changes() {
    let (lab, router, config) = balanced_lab();
    let mut flows: Vec<Flow> = lab.flows(8);
    assert!(flows.iter_mut().all(|f| f.ping("hello")));
    let (wan1, wan2) = lab.seen();
    assert!(
        wan1 > 0 && wan2 > 0,
        "both uplinks carry flows: {wan1}/{wan2}"
    );
    // Only wan2 is left in the policy: one route replace, nft untouched.
    let nft_before = lab.r.out("nft list ruleset");
    let d = desired_with(&router, &config, &[1]);
    assert_eq!(router.run(move |rail| rail.apply_policy_routes(&d)), 1);
    assert_eq!(lab.r.out("nft list ruleset"), nft_before);
    // Established flows on wan1 stay on wan1 and keep working.
    assert!(flows.iter_mut().all(|f| f.ping("still there")));
    assert_eq!(lab.seen(), (wan1, wan2), "no flow reconnected");
    // New connections all take wan2.
    lab.lan(|| (0..10).for_each(|_| drop(connect(None, SERVICE).unwrap())));
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(lab.seen(), (wan1, wan2 + 10));
}

#[test]
fn taking_an_uplink_out_deletes_its_flows_and_leaves_the_others() {
    let (lab, router, config) = balanced_lab();
    let _flows: Vec<Flow> = lab.flows(16);
    let mask = MarkMask::DEFAULT.bits();
    let before = router.run(move |rail| rail.flows(mask));
    let (on1, on2) = (
        before.get(&mark(1)).copied().unwrap_or(0),
        before.get(&mark(2)).copied().unwrap_or(0),
    );
    assert!(on1 > 0 && on2 > 0, "flows by mark: {before:?}");
    let d = desired_with(&router, &config, &[1]);
    let after = router.run(move |rail| {
        rail.apply_policy_routes(&d);
        rail.delete_flows(mark(1), mask);
        rail.flows(mask)
    });
    assert_eq!(after.get(&mark(1)), None, "wan1 flows deleted: {after:?}");
    assert_eq!(after.get(&mark(2)), Some(&on2), "wan2 flows kept");
    let (seen1, seen2) = lab.seen();
    lab.lan(|| (0..10).for_each(|_| drop(connect(None, SERVICE).unwrap())));
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(
        lab.seen(),
        (seen1, seen2 + 10),
        "new connections use wan2 at once"
    );
}

#[test]
fn router_traffic_and_replies_leave_by_the_uplink_owning_their_source() {
    let lab = Lab::new();
    let router = Router::start(&lab.r.0);
    // Main's default and the policy (only wan1 up) both point at wan1.
    apply(&router, &balanced(1, 1), &[0]);
    let r = lab.r.0.clone();
    in_ns(&r, || {
        // Sockets bound to an uplink's address leave by that uplink, whatever main's default
        // or the balancing policy (which marks router traffic too) would choose.
        for _ in 0..8 {
            connect(Some(WAN2), SERVICE).unwrap();
            connect(Some(WAN1), SERVICE).unwrap();
            // A socket that picks wan2 by its mark (as probes may) keeps that choice.
            connect_marked(None, Some(mark(2)), SERVICE).unwrap();
        }
    });
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(lab.isp[1].peers(), vec![WAN2; 16]);
    assert_eq!(lab.isp[0].peers(), vec![WAN1; 8]);
    // Inbound on wan2: the reply is sourced from wan2's address and must go back by wan2
    // (main's default would send it to ISP A, which answers with a reset).
    let (ready_tx, ready_rx) = mpsc::channel();
    let server = std::thread::spawn(move || {
        enter(&r);
        let l = TcpListener::bind("0.0.0.0:8080").unwrap();
        ready_tx.send(()).unwrap();
        for _ in 0..2 {
            let (s, _) = l.accept().unwrap();
            echo(s);
        }
    });
    ready_rx.recv().unwrap();
    for (ns, addr) in [(&lab._b.0, WAN2), (&lab._a.0, WAN1)] {
        let ok = in_ns(ns, || {
            let mut f = Flow(
                connect(
                    Some(Ipv4Addr::new(203, 0, 113, 10)),
                    &format!("{addr}:8080"),
                )
                .unwrap(),
            );
            f.ping("inbound")
        });
        assert!(ok, "inbound connection to {addr} answered");
    }
    server.join().unwrap();
}

#[test]
fn reconcile_is_idempotent_repairs_drift_and_flush_restores_the_kernel() {
    let lab = Lab::new();
    let pristine = lab.snapshot();
    let config = balanced(3, 1);
    {
        let router = Router::start(&lab.r.0);
        let d = apply(&router, &config, &[0, 1]);
        let first = lab.snapshot();
        assert!(
            first.contains("lookup main suppress_prefixlength 0")
                && first.contains("table inet rail")
        );
        let again = router.run(move |rail| rail.reconcile(&d));
        assert!(again.is_empty(), "second reconcile changed {again}");
        assert_eq!(lab.snapshot(), first);
        // Drift: a rule and a policy route deleted by hand, a stray rule in rail's range.
        lab.r.sh("ip rule del pref 4001 && ip route del default table 20201 && ip rule add pref 4555 fwmark 0x9 lookup 20555 proto 165");
        let d = desired_with(&router, &config, &[0, 1]);
        let repaired = router.run(move |rail| rail.reconcile(&d));
        assert_eq!(
            (
                repaired.rules_added,
                repaired.rules_deleted,
                repaired.routes_set
            ),
            (1, 1, 1),
            "{repaired}"
        );
        assert_eq!(lab.snapshot(), first);
    }
    // A new process (as after kill -9) adopts everything: nothing but the nft table rewritten.
    let router = Router::start(&lab.r.0);
    let first = lab.snapshot();
    let d = desired_with(&router, &config, &[0, 1]);
    let adopt = router.run(move |rail| rail.reconcile(&d));
    assert_eq!(
        (
            adopt.rules_added,
            adopt.rules_deleted,
            adopt.routes_set,
            adopt.routes_deleted
        ),
        (0, 0, 0, 0)
    );
    assert_eq!(lab.snapshot(), first);
    // `rail flush` leaves the kernel as it was; a second flush finds nothing.
    let flush = format!(
        "ip netns exec {} {} flush",
        lab.r.0,
        env!("CARGO_BIN_EXE_rail")
    );
    assert!(
        sh_out(&flush).contains("rules +0 -8"),
        "flush removed 8 rules"
    );
    assert_eq!(lab.snapshot(), pristine);
    assert!(sh_out(&flush).contains("rules +0 -0, routes set 0 deleted 0, nft unchanged"));
}

#[test]
fn point_to_point_device_recreated_is_followed_after_the_event() {
    let lab = Lab::new();
    let tun = |addr: &str, peer: &str| {
        format!("ip tuntap add dev pppoe-wan mode tun && ip addr add {addr} peer {peer} dev pppoe-wan && ip link set pppoe-wan up")
    };
    lab.r.sh(&tun("100.64.0.2", "100.64.0.1"));
    let mut config = balanced(1, 1);
    config.interfaces[1].device = Some("pppoe-wan".into());
    let router = Router::start(&lab.r.0);
    apply(&router, &config, &[0, 1]);
    let old_index = lab
        .r
        .out("cat /sys/class/net/pppoe-wan/ifindex")
        .trim()
        .to_string();
    assert!(lab
        .r
        .out("ip rule")
        .contains("from 100.64.0.2 lookup 20002"));
    start_watch(&router);
    // On each event: re-learn, recompute and reconcile, as the daemon does; how long it took.
    let follow = |wanted: Event| {
        let cfg = config.clone();
        router.run(move |rail| {
            wait_for(rail, |e| *e == wanted);
            let start = Instant::now();
            let links = rail.learn(&cfg);
            let d = desired(&cfg, &links, &resolve(&cfg, |_| true));
            rail.reconcile(&d);
            start.elapsed()
        })
    };
    // The session drops: the device disappears, its table empties (its marked traffic
    // falls through to main: nothing of rail's refuses traffic, docs/reliability.md).
    lab.r.sh("ip link del pppoe-wan");
    follow(Event::Link {
        ifindex: old_index.parse().unwrap(),
        name: Some("pppoe-wan".into()),
        removed: true,
    });
    assert_eq!(lab.r.out("ip route show table 20002").trim(), "");
    assert!(!lab.r.out("ip rule").contains("100.64.0.2"));
    assert!(!lab.r.out("ip route show table 20201").contains("nexthop"));
    // It comes back with a new ifindex, address and peer.
    lab.r.sh(&tun("100.64.1.2", "100.64.1.1"));
    let new_index: u32 = lab
        .r
        .out("cat /sys/class/net/pppoe-wan/ifindex")
        .trim()
        .parse()
        .unwrap();
    assert_ne!(new_index.to_string(), old_index);
    let took = follow(Event::Address { ifindex: new_index });
    println!("device recreated: rules and routes followed {took:?} after the address event");
    let rules = lab.r.out("ip rule");
    assert!(
        rules.contains("from 100.64.1.2 lookup 20002") && !rules.contains("100.64.0.2"),
        "{rules}"
    );
    assert!(lab
        .r
        .out("ip route show table 20002")
        .contains("default dev pppoe-wan"));
    assert!(lab
        .r
        .out("ip route show table 20201")
        .contains("nexthop dev pppoe-wan"));
}

#[test]
fn nft_accepts_every_kind_of_rule() {
    let lab = Lab::new();
    let mut config = fixtures::every_match();
    config.rules[4].sticky = true;
    let text = render(&config, &fixtures::every_match_links());
    let mut nft = Command::new("ip")
        .args(["netns", "exec", &lab.r.0, "nft", "-c", "-f", "-"])
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    nft.stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = nft.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn set_elements_and_sysctls_survive_a_table_replacement() {
    let lab = Lab::new();
    let router = Router::start(&lab.r.0);
    let mut config = balanced(1, 1);
    let mut banks = fixtures::rule("banks", Target::Policy(PolicyId(0)));
    banks.ipset = Some("rail_banks".into());
    config.rules.insert(0, banks);
    apply(&router, &config, &[0, 1]);
    // What dnsmasq's nftset= does when it resolves a name.
    lab.r
        .sh("nft add element inet rail rail_banks { 203.0.113.10, 198.18.0.0/16 }");
    config.interfaces[1].masquerade = false;
    let d = desired_with(&router, &config, &[0, 1]);
    let changes = router.run(move |rail| rail.reconcile(&d));
    assert!(changes.nft_replaced);
    let set = lab.r.out("nft list set inet rail rail_banks");
    assert!(
        set.contains("203.0.113.10") && set.contains("198.18.0.0/16"),
        "{set}"
    );
    assert!(!lab
        .r
        .out("nft list table inet rail")
        .contains("oifname \"wan2\" masquerade"));
    let sysctl = lab.r.out("sysctl -n net.ipv4.fib_multipath_hash_policy net.ipv4.conf.wan1.rp_filter net.ipv4.conf.wan2.rp_filter");
    assert_eq!(
        sysctl.split_whitespace().collect::<Vec<_>>(),
        vec!["1", "2", "2"]
    );
}

#[test]
fn sticky_source_keeps_its_uplink_until_that_uplink_leaves_the_policy() {
    let lab = Lab::new();
    let router = Router::start(&lab.r.0);
    let mut config = balanced(1, 1);
    config.rules[0].sticky = true;
    apply(&router, &config, &[0, 1]);
    let burst = |n| {
        lab.lan(|| (0..n).for_each(|_| drop(connect(None, SERVICE).unwrap())));
        std::thread::sleep(Duration::from_millis(100));
        lab.seen()
    };
    let (w1, w2) = burst(20);
    assert!(
        w1 == 20 || w2 == 20,
        "one LAN source, one uplink: {w1}/{w2}"
    );
    let others: &'static [usize] = if w1 == 20 { &[1] } else { &[0] };
    let moved = |(a, b): (usize, usize), n| if w1 == 20 { (a, b + n) } else { (a + n, b) };
    // The pinned uplink leaves the policy: its pins are forgotten and the source moves.
    let d = desired_with(&router, &config, others);
    router.run(move |rail| rail.apply_policy_routes(&d));
    assert_eq!(burst(10), moved((w1, w2), 10));
    // It comes back: the source stays where it was pinned again.
    let d = desired_with(&router, &config, &[0, 1]);
    router.run(move |rail| rail.apply_policy_routes(&d));
    assert_eq!(burst(10), moved((w1, w2), 20));
}

/// Wait on the router thread for the first watch event `wanted` accepts (5 s at most).
fn wait_for(rail: &mut Rail, wanted: impl Fn(&Event) -> bool) -> Event {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let Rail { ex, watch, .. } = rail;
        let event = Rail::block(ex, async {
            futures_lite::future::or(async { watch.as_mut().unwrap().next().await }, async {
                smol::Timer::at(deadline).await;
                None
            })
            .await
        });
        match event {
            Some(e) if wanted(&e) => return e,
            Some(_) => continue,
            None => panic!("no such netlink event within 5 s"),
        }
    }
}

fn start_watch(router: &Router) {
    router.run(|rail| {
        let (watch, conn) = Watch::open().expect("watch");
        rail.ex.spawn(conn).detach();
        rail.watch = Some(watch);
    });
}

#[test]
fn a_lost_burst_of_events_asks_for_a_resync() {
    let lab = Lab::new();
    let router = Router::start(&lab.r.0);
    start_watch(&router);
    // The router thread is idle, so nobody reads the subscription while main fills up.
    let batch: String = (0..40_000u32)
        .map(|n| {
            format!(
                "route add 10.{}.{}.0/24 via 192.0.2.1 dev wan1\n",
                n >> 8,
                n & 255
            )
        })
        .collect();
    let file = std::env::temp_dir().join(format!("{}.routes", lab.r.0));
    std::fs::write(&file, batch).unwrap();
    sh(&format!("ip -n {} -batch {}", lab.r.0, file.display()));
    let _ = std::fs::remove_file(&file);
    let event = router.run(|rail| wait_for(rail, |e| *e == Event::Resync));
    assert_eq!(event, Event::Resync);
}
