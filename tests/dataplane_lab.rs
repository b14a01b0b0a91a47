//! Lab tests of the dataplane on the real kernel, in the shared lab (docs/lab.md) with two
//! ISPs: isp1 Ethernet-like, isp2 PPPoE-like. rail's dataplane runs in-process on a thread
//! inside the router namespace (its netlink sockets, the `nft` it forks and the sysctls it
//! writes all belong there); the Internet service reports the source address it sees.
//! Needs root; skipped otherwise.

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::process::Stdio;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::lab::{Fault, Lab};
use rail::config::{Config, InterfaceId, PolicyId};
use rail::dataplane::conntrack::Conntrack;
use rail::dataplane::desired::{desired, Desired};
use rail::dataplane::kernel::{Changes, Kernel};
use rail::dataplane::nft::render;
use rail::dataplane::vocab::Links;
use rail::dataplane::watch::{Event, Watch};
use rail::family::PerAf;
use rail::policy::resolve;

/// rail's dataplane state, living on the router thread.
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
            let gateway = match iface.gateway {
                Some(std::net::IpAddr::V4(g)) => Some(g),
                _ => None,
            };
            if let Some(l) =
                Self::block(ex, kernel.learn(device, gateway.map(Into::into), None)).expect("learn")
            {
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
    fn start(lab: &Lab) -> Router {
        let (tx, rx) = mpsc::channel::<Job>();
        let thread = lab.spawn("rtr", move || {
            let ex = smol::LocalExecutor::new();
            let kernel = Kernel::connect().expect("connect");
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

/// A two-ISP lab without the lab's own masquerade (rail's does it).
fn lab() -> Lab {
    Lab::for_rail(2)
}

/// The lab's rail configuration (both uplinks in policy `balanced`, one rule `all`), with
/// `extra` UCI sections merged in.
fn config(lab: &Lab, extra: &str) -> Config {
    let text = format!("{}\n{extra}", lab.rail_config());
    let pkg = rail::uci::parse("lab.conf", &text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    rail::config::from_package("lab.conf", &pkg).unwrap_or_else(|ps| panic!("{ps:?}\n{text}"))
}

/// The desired state for `config` with the given uplinks (0-based) up, from devices
/// learned now.
fn desired_with(router: &Router, config: &Config, up: &'static [usize]) -> Desired {
    let config = config.clone();
    router.run(move |rail| {
        let links = rail.learn(&config);
        desired(
            &config,
            &links,
            &PerAf::splat(resolve(&config, |i| up.contains(&i.0))),
        )
    })
}

/// Make the kernel match `config` with the given uplinks up.
fn apply(router: &Router, config: &Config, up: &'static [usize]) -> Desired {
    let d = desired_with(router, config, up);
    let applied = d.clone();
    router.run(move |rail| rail.reconcile(&applied));
    d
}

/// `n` new LAN connections: how many the service saw from each uplink (isp1, isp2).
fn split(lab: &Lab, n: usize) -> (usize, usize) {
    let tally = lab.tally("lan", n);
    assert_eq!(tally.get("error"), None, "all connections made: {tally:?}");
    let seen = |isp| {
        tally
            .get(&lab.uplink(isp).addr.to_string())
            .copied()
            .unwrap_or(0)
    };
    (seen(1), seen(2))
}

/// The source address the service sees for a connection from the router, optionally bound
/// to `bind` and carrying `SO_MARK` `mark`.
fn router_source(lab: &Lab, bind: Option<Ipv4Addr>, mark: Option<u32>) -> String {
    let to = SocketAddr::from((lab.service(), lab.echo_port()));
    lab.within("rtr", move || {
        let socket =
            socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
        if let Some(b) = bind {
            socket.bind(&SocketAddr::from((b, 0)).into()).unwrap();
        }
        if let Some(m) = mark {
            socket.set_mark(m).unwrap();
        }
        socket
            .connect_timeout(&to.into(), Duration::from_secs(1))
            .unwrap();
        let stream: TcpStream = socket.into();
        stream
            .set_read_timeout(Some(Duration::from_secs(1)))
            .unwrap();
        let mut source = String::new();
        BufReader::new(&stream).read_line(&mut source).unwrap();
        source.trim().to_string()
    })
}

fn mark_of(config: &Config, i: usize) -> u32 {
    config.interfaces[i].mark.value()
}

fn snapshot(lab: &Lab) -> String {
    lab.run(
        "rtr",
        &[
            "sh",
            "-c",
            "ip rule; ip route show table all; nft list ruleset",
        ],
    )
}

fn ifindex(lab: &Lab, dev: &str) -> u32 {
    lab.run("rtr", &["cat", &format!("/sys/class/net/{dev}/ifindex")])
        .trim()
        .parse()
        .unwrap()
}

#[test]
#[cfg_attr(not(lab_root), ignore = "needs root: the network lab")]
fn new_connections_split_by_weight_three_to_one() {
    let lab = lab();
    let router = Router::start(&lab);
    let config = config(&lab, "config member 'isp1_m1_w1'\n\toption weight '3'\n");
    apply(&router, &config, &[0, 1]);
    let (isp1, isp2) = split(&lab, 400);
    println!("3:1 policy, 400 connections: isp1 {isp1}, isp2 {isp2}");
    assert_eq!(isp1 + isp2, 400);
    // 75% of 400 = 300, within 10%.
    assert!((270..=330).contains(&isp1), "isp1 carried {isp1} of 400");
}

/// A lab whose router balances 1:1 over both uplinks.
fn balanced_lab() -> (Lab, Router, Config) {
    let lab = lab();
    let router = Router::start(&lab);
    let config = config(&lab, "");
    apply(&router, &config, &[0, 1]);
    (lab, router, config)
}

#[test]
#[cfg_attr(not(lab_root), ignore = "needs root: the network lab")]
fn long_lived_connection_keeps_its_uplink_while_the_policy_route_changes() {
    let (lab, router, config) = balanced_lab();
    // The L4 hash spreads flows at random: open them until both uplinks carry some (8 flows
    // all on one uplink happen 2 times in 256).
    let isp1 = lab.uplink(1).addr.to_string();
    let mut flows = Vec::new();
    let mut on_isp1 = 0;
    while flows.len() < 64 && (on_isp1 < 2 || flows.len() - on_isp1 < 2) {
        let f = lab.open_flow("lan");
        on_isp1 += usize::from(f.source == isp1);
        flows.push(f);
    }
    assert!(
        on_isp1 >= 2 && flows.len() - on_isp1 >= 2,
        "both uplinks carry flows: {on_isp1} of {} on isp1",
        flows.len()
    );
    // Only isp2 is left in the policy: one route replace, nft untouched.
    let nft_before = lab.run("rtr", &["nft", "list", "ruleset"]);
    let d = desired_with(&router, &config, &[1]);
    assert_eq!(router.run(move |rail| rail.apply_policy_routes(&d)), 1);
    assert_eq!(lab.run("rtr", &["nft", "list", "ruleset"]), nft_before);
    // Established flows on isp1 stay on isp1 and keep working; new ones take isp2.
    assert!(flows.iter_mut().all(|f| f.alive(Duration::from_secs(2))));
    assert_eq!(split(&lab, 10), (0, 10));
}

#[test]
#[cfg_attr(not(lab_root), ignore = "needs root: the network lab")]
fn taking_an_uplink_out_deletes_its_flows_and_leaves_the_others() {
    let (lab, router, config) = balanced_lab();
    let _flows: Vec<_> = (0..16).map(|_| lab.open_flow("lan")).collect();
    let mask = config.globals.mark_mask.bits();
    let (m1, m2) = (mark_of(&config, 0), mark_of(&config, 1));
    let before = router.run(move |rail| rail.flows(mask));
    let (on1, on2) = (
        before.get(&m1).copied().unwrap_or(0),
        before.get(&m2).copied().unwrap_or(0),
    );
    assert!(on1 > 0 && on2 > 0, "flows by mark: {before:?}");
    let d = desired_with(&router, &config, &[1]);
    let after = router.run(move |rail| {
        rail.apply_policy_routes(&d);
        rail.delete_flows(m1, mask);
        rail.flows(mask)
    });
    assert_eq!(after.get(&m1), None, "isp1 flows deleted: {after:?}");
    assert_eq!(after.get(&m2), Some(&on2), "isp2 flows kept");
    assert_eq!(split(&lab, 10), (0, 10), "new connections use isp2 at once");
}

#[test]
#[cfg_attr(not(lab_root), ignore = "needs root: the network lab")]
fn router_traffic_and_replies_leave_by_the_uplink_owning_their_source() {
    let lab = lab();
    let router = Router::start(&lab);
    let config = config(&lab, "");
    // Main's default and the policy (only isp1 up) both point at isp1.
    lab.route_default_via(1);
    apply(&router, &config, &[0]);
    let (a1, a2) = (lab.uplink(1).addr, lab.uplink(2).addr);
    for _ in 0..4 {
        assert_eq!(router_source(&lab, Some(a2), None), a2.to_string());
        assert_eq!(router_source(&lab, Some(a1), None), a1.to_string());
        // A socket that picks isp2 by its mark (as probes may) leaves by isp2.
        assert_eq!(
            router_source(&lab, None, Some(mark_of(&config, 1))),
            a2.to_string()
        );
    }
    // Inbound on isp2 while isp1 forwards nothing: the replies must leave by isp2.
    lab.fault(1, Fault::Blackhole);
    let (ready_tx, ready_rx) = mpsc::channel();
    let server = lab.spawn("rtr", move || {
        let l = TcpListener::bind("0.0.0.0:8080").unwrap();
        ready_tx.send(()).unwrap();
        let (s, _) = l.accept().unwrap();
        let mut line = String::new();
        BufReader::new(&s).read_line(&mut line).unwrap();
        (&s).write_all(line.as_bytes()).unwrap();
    });
    ready_rx.recv().unwrap();
    let answered = lab.within("inet", move || {
        let s = TcpStream::connect_timeout(&SocketAddr::from((a2, 8080)), Duration::from_secs(2))?;
        s.set_read_timeout(Some(Duration::from_secs(2)))?;
        (&s).write_all(b"inbound\n")?;
        let mut line = String::new();
        BufReader::new(&s).read_line(&mut line)?;
        Ok::<_, std::io::Error>(line)
    });
    assert_eq!(
        answered.expect("inbound connection on isp2 answered"),
        "inbound\n"
    );
    server.join().unwrap();
}

#[test]
#[cfg_attr(not(lab_root), ignore = "needs root: the network lab")]
fn reconcile_is_idempotent_repairs_drift_and_flush_restores_the_kernel() {
    let lab = lab();
    let pristine = snapshot(&lab);
    let config = config(&lab, "config member 'isp1_m1_w1'\n\toption weight '3'\n");
    {
        let router = Router::start(&lab);
        let d = apply(&router, &config, &[0, 1]);
        let first = snapshot(&lab);
        assert!(
            first.contains("lookup main suppress_prefixlength 0")
                && first.contains("table inet rail")
        );
        let again = router.run(move |rail| rail.reconcile(&d));
        assert!(again.is_empty(), "second reconcile changed {again}");
        assert_eq!(snapshot(&lab), first);
        // Drift: a rule and a policy route deleted by hand, a stray rule in rail's range.
        lab.run(
            "rtr",
            &["sh", "-c", "ip rule del pref 4001 && ip route del default table 20201 && ip rule add pref 4555 fwmark 0x9 lookup 20555 proto 165"],
        );
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
        assert_eq!(snapshot(&lab), first);
    }
    // A new process (as after kill -9) adopts everything: nothing but the nft table rewritten.
    let router = Router::start(&lab);
    let first = snapshot(&lab);
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
    assert_eq!(snapshot(&lab), first);
    // `rail flush` leaves the kernel as it was; a second flush finds nothing.
    let flush = || lab.run("rtr", &[common::rail::binary(), "flush"]);
    assert!(
        flush().contains("rules +0 -9"),
        "flush removed 9 rules (one is the router's own traffic's iif lo rule)"
    );
    assert_eq!(snapshot(&lab), pristine);
    assert!(flush().contains("rules +0 -0, routes set 0 deleted 0, nft unchanged"));
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
        let watch = Watch::open().expect("watch");
        rail.watch = Some(watch);
    });
}

#[test]
#[cfg_attr(not(lab_root), ignore = "needs root: the network lab")]
fn point_to_point_device_recreated_is_followed_after_the_event() {
    let (lab, router, config) = balanced_lab();
    let (dev, old) = (lab.uplink(2).dev, lab.uplink(2).addr);
    let old_index = ifindex(&lab, &dev);
    assert!(lab
        .run("rtr", &["ip", "rule"])
        .contains(&format!("from {old} lookup 20002")));
    start_watch(&router);
    // On each event: re-learn, recompute and reconcile, as the daemon does; how long it took.
    let follow = |wanted: Event| {
        let cfg = config.clone();
        router.run(move |rail| {
            wait_for(rail, |e| *e == wanted);
            let start = Instant::now();
            let links = rail.learn(&cfg);
            let d = desired(&cfg, &links, &PerAf::splat(resolve(&cfg, |_| true)));
            rail.reconcile(&d);
            start.elapsed()
        })
    };
    // The session drops: the device disappears, its table empties (its marked traffic
    // falls through to main: nothing of rail's refuses traffic, docs/reliability.md).
    lab.fault(2, Fault::PppoeDrop);
    follow(Event::Link {
        ifindex: old_index,
        name: Some(dev.clone()),
        removed: true,
    });
    assert_eq!(
        lab.run("rtr", &["ip", "route", "show", "table", "20002"])
            .trim(),
        ""
    );
    assert!(!lab.run("rtr", &["ip", "rule"]).contains(&old.to_string()));
    assert!(!lab
        .run("rtr", &["ip", "route", "show", "table", "20201"])
        .contains("nexthop"));
    // It comes back with a new ifindex, address and peer.
    lab.fault(2, Fault::PppoeUpNew);
    let (new, new_index) = (lab.uplink(2).addr, ifindex(&lab, &dev));
    assert!(new != old && new_index != old_index);
    let took = follow(Event::Address { ifindex: new_index });
    println!("device recreated: rules and routes followed {took:?} after the address event");
    let rules = lab.run("rtr", &["ip", "rule"]);
    assert!(
        rules.contains(&format!("from {new} lookup 20002")) && !rules.contains(&old.to_string()),
        "{rules}"
    );
    assert!(lab
        .run("rtr", &["ip", "route", "show", "table", "20002"])
        .contains(&format!("default dev {dev}")));
    assert!(lab
        .run("rtr", &["ip", "route", "show", "table", "20201"])
        .contains(&format!("nexthop dev {dev}")));
    let (isp1, isp2) = split(&lab, 20);
    assert!(
        isp1 > 0 && isp2 > 0,
        "the LAN reaches the service through both again: {isp1}/{isp2}"
    );
}

#[test]
#[cfg_attr(not(lab_root), ignore = "needs root: the network lab")]
fn a_lost_burst_of_events_asks_for_a_resync() {
    let lab = lab();
    let router = Router::start(&lab);
    start_watch(&router);
    // The router thread is idle, so nobody reads the subscription while main fills up.
    let dev = lab.uplink(1).dev;
    let batch: String = (0..40_000u32)
        .map(|n| format!("route add 10.{}.{}.0/24 dev {dev}\n", n >> 8, n & 255))
        .collect();
    let file = std::env::temp_dir().join(format!("{}.routes", lab.name()));
    std::fs::write(&file, batch).unwrap();
    lab.run("rtr", &["ip", "-batch", &file.to_string_lossy()]);
    let _ = std::fs::remove_file(&file);
    let event = router.run(|rail| wait_for(rail, |e| *e == Event::Resync));
    assert_eq!(event, Event::Resync);
}

#[test]
#[cfg_attr(not(lab_root), ignore = "needs root: the network lab")]
fn nft_accepts_every_kind_of_rule() {
    let lab = lab();
    let mut config = rail::fixtures::every_match();
    config.rules[4].sticky = true;
    let text = render(&config, &rail::fixtures::every_match_links());
    let mut nft = lab
        .command("rtr", &["nft", "-c", "-f", "-"])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
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
#[cfg_attr(not(lab_root), ignore = "needs root: the network lab")]
fn set_elements_and_sysctls_survive_a_table_update() {
    let lab = lab();
    let router = Router::start(&lab);
    let banks =
        "config rule 'banks'\n\toption ipset 'rail_banks'\n\toption use_policy 'balanced'\n";
    let mut config = config(&lab, banks);
    apply(&router, &config, &[0, 1]);
    // What dnsmasq's nftset= does when it resolves a name.
    lab.run(
        "rtr",
        &[
            "nft",
            "add element inet rail rail_banks { 198.18.0.80, 198.18.4.0/24 }",
        ],
    );
    config.interfaces[1].masquerade = false;
    let d = desired_with(&router, &config, &[0, 1]);
    assert!(router.run(move |rail| rail.reconcile(&d)).nft_updated);
    let set = lab.run("rtr", &["nft", "list", "set", "inet", "rail", "rail_banks"]);
    assert!(
        set.contains("198.18.0.80") && set.contains("198.18.4.0/24"),
        "{set}"
    );
    let dev2 = lab.uplink(2).dev;
    assert!(!lab
        .run("rtr", &["nft", "list", "table", "inet", "rail"])
        .contains(&format!("oifname \"{dev2}\" masquerade")));
    let sysctl = lab.run(
        "rtr",
        &[
            "sysctl",
            "-n",
            "net.ipv4.fib_multipath_hash_policy",
            &format!("net.ipv4.conf.{}.rp_filter", lab.uplink(1).dev),
            &format!("net.ipv4.conf.{dev2}.rp_filter"),
        ],
    );
    assert_eq!(
        sysctl.split_whitespace().collect::<Vec<_>>(),
        vec!["1", "2", "2"]
    );
}

#[test]
#[cfg_attr(not(lab_root), ignore = "needs root: the network lab")]
fn sticky_source_keeps_its_uplink_until_that_uplink_leaves_the_policy() {
    let lab = lab();
    let router = Router::start(&lab);
    let config = config(&lab, "config rule 'all'\n\toption sticky '1'\n");
    assert!(
        config.rules[0].sticky
            && config.rules[0].target == rail::config::Target::Policy(PolicyId(0))
    );
    apply(&router, &config, &[0, 1]);
    let (w1, w2) = split(&lab, 20);
    assert!(
        w1 == 20 || w2 == 20,
        "one LAN source, one uplink: {w1}/{w2}"
    );
    let others: &'static [usize] = if w1 == 20 { &[1] } else { &[0] };
    let moved = |n| if w1 == 20 { (0, n) } else { (n, 0) };
    // The pinned uplink leaves the policy: its pins are forgotten and the source moves.
    let d = desired_with(&router, &config, others);
    router.run(move |rail| rail.apply_policy_routes(&d));
    assert_eq!(split(&lab, 10), moved(10));
    // It comes back: the source stays where it was pinned again.
    let d = desired_with(&router, &config, &[0, 1]);
    router.run(move |rail| rail.apply_policy_routes(&d));
    assert_eq!(split(&lab, 10), moved(10));
}
