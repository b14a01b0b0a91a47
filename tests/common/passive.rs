//! Passive detection in the lab (issue 20): the LAN traffic patterns that must never take a
//! healthy uplink down (scanning dead addresses, one dead server, random loss, an idle
//! uplink), played by tests/passive_lab.rs and by the bench's `false_downs_passive`, and
//! the connection generator and sink behind the bench's busy and cost figures.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::lab::{Fault, Lab};
use super::matrix::transitions;
use super::rail::{interface, Rail};
use super::scenario::{member, policy, rule};

/// The interface option line that turns passive detection on.
pub const PASSIVE: &str = "\toption passive '1'\n";

/// What rail's lines say when passive evidence makes an uplink suspect (`isp1: suspect:
/// 4 new connections to 3 destinations unanswered for 250 ms`; the probes' own state reads
/// `isp1 suspect: ...`), and when the confirming probe round answers.
pub const SUSPECTED: &str = ": suspect: ";
pub const CLEARED: &str = ": suspicion cleared";

/// Addresses of the Internet that answer nothing: a blackhole route in its namespace.
pub const DEAD_NET: &str = "198.18.1.0/24";

/// Servers that answer HTTP (the service listens on every address of the Internet's
/// namespace): `SERVERS` addresses from 198.18.2.1 on its loopback, so the LAN can open
/// connections to many distinct destinations, as a browsing LAN does.
pub const SERVERS: u8 = 16;

/// How long each connection attempt may take to connect: less than TCP's first SYN
/// retransmission (1 s), so an unanswered attempt is exactly one SYN.
pub const PATIENCE: Duration = Duration::from_millis(500);

/// Dead address number `k` (1..=254 in turn).
pub fn dead(k: usize) -> Ipv4Addr {
    Ipv4Addr::new(198, 18, 1, (1 + k % 254) as u8)
}

/// The answering servers' addresses.
pub fn servers() -> Vec<Ipv4Addr> {
    (1..=SERVERS)
        .map(|k| Ipv4Addr::new(198, 18, 2, k))
        .collect()
}

/// `addrs` on `port`.
pub fn on_port(addrs: &[Ipv4Addr], port: u16) -> Vec<SocketAddr> {
    addrs
        .iter()
        .map(|a| SocketAddr::new(IpAddr::V4(*a), port))
        .collect()
}

/// Gives the lab's Internet the dead network and the answering servers.
pub fn prepare(lab: &Lab) {
    lab.run("inet", &["ip", "route", "add", "blackhole", DEAD_NET]);
    let adds = servers()
        .iter()
        .map(|a| format!("ip addr add {a}/32 dev lo"))
        .collect::<Vec<_>>()
        .join(" && ");
    lab.run("inet", &["sh", "-c", &adds]);
}

/// A rail configuration: uplinks `isp<i>` for each of `isps` with rail's default probe
/// timings and passive detection on, balanced, every new LAN connection through them.
pub fn config(lab: &Lab, isps: &[usize]) -> String {
    let mut text = "config globals 'globals'\n\toption log_level 'info'\n\n".to_string();
    let mut names = Vec::new();
    for &i in isps {
        text += &interface(lab, i, PASSIVE);
        names.push(format!("m{i}"));
        text += &member(&format!("m{i}"), i, 1, 1);
    }
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    text + &policy("balanced", &names) + &rule("all", &[], "balanced")
}

/// Binds the calling thread (and the threads it starts later) to the CPUs of `mask`.
pub fn pin(mask: u64) {
    // SAFETY: a zeroed cpu_set_t is the empty set; CPU_SET writes inside it;
    // sched_setaffinity reads it and changes only the calling thread.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        for cpu in (0..64).filter(|c| mask & (1 << c) != 0) {
            libc::CPU_SET(cpu, &mut set);
        }
        let rc = libc::sched_setaffinity(0, std::mem::size_of_val(&set), &set);
        assert_eq!(
            rc,
            0,
            "sched_setaffinity: {}",
            std::io::Error::last_os_error()
        );
    }
}

/// Calls `each` every `spacing` until `halt` is set; a call that comes late (a loaded
/// machine) is not made up for with a burst.
pub fn paced(spacing: Duration, halt: &AtomicBool, mut each: impl FnMut()) {
    let mut next = Instant::now();
    while !halt.load(Ordering::Relaxed) {
        each();
        next += spacing;
        let now = Instant::now();
        if next > now {
            std::thread::sleep(next - now);
        } else {
            next = now;
        }
    }
}

/// New TCP connections from a lab node: one every `spacing`, to `dests` in turn, each on a
/// thread of its own (so an unanswered one never slows the pace) given `PATIENCE` to
/// connect and closed at once; counted answered or not.
pub struct Connector {
    /// Answered, unanswered.
    counts: Arc<[AtomicUsize; 2]>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    started: Instant,
}

impl Connector {
    pub fn start(lab: &Lab, node: &str, dests: Vec<SocketAddr>, spacing: Duration) -> Connector {
        Connector::begin(lab, node, dests, spacing, None, true)
    }

    /// A load generator: as `start`, but each connection is made and closed in turn on the
    /// pacing thread (cheaper than a thread each, so it keeps a pace of hundreds a second;
    /// fit only for destinations that answer at once), every thread on the CPUs of `cpus`
    /// when given (kept off rail's CPU).
    pub fn load(
        lab: &Lab,
        node: &str,
        dests: Vec<SocketAddr>,
        spacing: Duration,
        cpus: Option<u64>,
    ) -> Connector {
        Connector::begin(lab, node, dests, spacing, cpus, false)
    }

    fn begin(
        lab: &Lab,
        node: &str,
        dests: Vec<SocketAddr>,
        spacing: Duration,
        cpus: Option<u64>,
        concurrent: bool,
    ) -> Connector {
        assert!(!dests.is_empty());
        let counts: Arc<[AtomicUsize; 2]> = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let (c, halt) = (counts.clone(), stop.clone());
        let thread = lab.spawn(node, move || {
            if let Some(mask) = cpus {
                pin(mask);
            }
            let mut dests = dests.into_iter().cycle();
            paced(spacing, &halt, || {
                let (c, to) = (c.clone(), dests.next().unwrap());
                let attempt = move || {
                    let answered = TcpStream::connect_timeout(&to, PATIENCE).is_ok();
                    c[usize::from(!answered)].fetch_add(1, Ordering::Relaxed);
                };
                if concurrent {
                    std::thread::spawn(attempt);
                } else {
                    attempt();
                }
            });
        });
        Connector {
            counts,
            stop,
            thread: Some(thread),
            started: Instant::now(),
        }
    }

    /// Stops it and waits for the attempts under way: (answered, unanswered, attempts per
    /// second over its run).
    pub fn finish(mut self) -> (usize, usize, f64) {
        self.halt();
        let took = self.started.elapsed().as_secs_f64();
        std::thread::sleep(PATIENCE + Duration::from_millis(200));
        let [a, u] = [0, 1].map(|i| self.counts[i].load(Ordering::Relaxed));
        (a, u, (a + u) as f64 / took)
    }

    fn halt(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Connector {
    fn drop(&mut self) {
        self.halt();
    }
}

/// A TCP listener in a lab node that accepts connections and closes them at once (a load
/// generator's far end, cheaper than the lab's Python service), on the CPUs of `cpus`.
pub struct Sink {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Sink {
    /// Listens on every address of `node` on `port`.
    pub fn start(lab: &Lab, node: &str, port: u16, cpus: Option<u64>) -> Sink {
        let stop = Arc::new(AtomicBool::new(false));
        let halt = stop.clone();
        // Bound before it returns, so connections made next find it; the socket keeps the
        // node's namespace.
        let listener = lab
            .within(node, move || TcpListener::bind(("0.0.0.0", port)))
            .unwrap_or_else(|e| panic!("sink on port {port}: {e}"));
        let thread = std::thread::spawn(move || {
            if let Some(mask) = cpus {
                pin(mask);
            }
            let mut ready = libc::pollfd {
                fd: listener.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            };
            while !halt.load(Ordering::Relaxed) {
                // SAFETY: one valid pollfd; a timeout so that `stop` is seen.
                if unsafe { libc::poll(&mut ready, 1, 100) } > 0 {
                    drop(listener.accept());
                }
            }
        });
        Sink {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// One LAN traffic pattern through a healthy uplink (item 2 of issue 20). Browsing below
/// is new connections to the answering servers in turn; scanning, to the next address of
/// `DEAD_NET` each time, 20 a second.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scenario {
    /// A LAN host scans dead addresses for 8 s; no other traffic. No answers before, so
    /// nothing to compare with: never even a suspicion.
    Scan,
    /// Browsing 2 connections a second throughout; after 4 s a scan starts beside it, for
    /// 8 s. The scan's unanswered connections fill the gaps between answers after a
    /// normal history: a suspicion, which the confirming round must clear.
    ScanBesideTraffic,
    /// One dead server: after 3 s of browsing 2 a second, nothing but 10 attempts a second
    /// to one address that drops SYNs, for 8 s. One destination: never a suspicion.
    DeadServer,
    /// 20% random loss at the ISP (both directions together) while the LAN browses 20
    /// connections a second, for 10 s. Suspicions may come; each must be cleared.
    Loss,
    /// 2 s of browsing 10 a second, then no LAN traffic at all for 10 s, then browsing 20 a
    /// second for 4 s. Never a suspicion.
    Idle,
}

/// What one scenario did.
pub struct Outcome {
    pub scenario: Scenario,
    /// rail's `down` and `no-device` transition lines.
    pub downs: Vec<String>,
    /// rail's passive suspicions, and confirmations that cleared them.
    pub suspicions: usize,
    pub cleared: usize,
    /// The LAN's connection attempts, answered and not.
    pub answered: usize,
    pub unanswered: usize,
    pub log: String,
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(
            f,
            "{:?}: {} downs {:?}, {} suspicions, {} cleared; LAN connections {} answered, {} not\nrail log:\n{}",
            self.scenario,
            self.downs.len(),
            self.downs,
            self.suspicions,
            self.cleared,
            self.answered,
            self.unanswered,
            self.log
        )
    }
}

impl Outcome {
    /// Whether rail's suspicions were what the issue asks for this traffic: none without
    /// normal answers before or with one destination, every one cleared otherwise (and at
    /// least one, and not one after another, where the scenario is built to raise one).
    pub fn suspicions_as_asked(&self) -> bool {
        let (n, cleared) = (self.suspicions, self.cleared);
        match self.scenario {
            Scenario::Scan | Scenario::DeadServer | Scenario::Idle => n == 0,
            // A cleared suspicion keeps the watch quiet a while: no confirming rounds in a
            // loop while the scan goes on.
            Scenario::ScanBesideTraffic => (1..=2).contains(&n) && cleared == n,
            Scenario::Loss => cleared == n,
        }
    }
}

/// rail's transitions that take an uplink out of service.
pub fn downs(log: &str) -> Vec<String> {
    transitions(log)
        .into_iter()
        .filter(|l| {
            let state = l.split(' ').nth(2).unwrap_or("");
            state == "down:" || state == "no-device:"
        })
        .collect()
}

/// rail's passive suspicions.
pub fn suspicions(log: &str) -> usize {
    log.lines().filter(|l| l.contains(SUSPECTED)).count()
}

impl Scenario {
    pub const ALL: [Scenario; 5] = [
        Scenario::Scan,
        Scenario::ScanBesideTraffic,
        Scenario::DeadServer,
        Scenario::Loss,
        Scenario::Idle,
    ];

    /// Builds a one-ISP lab, starts rail on `config` (default timings, passive on), plays
    /// the scenario once rail probes, and says what rail did.
    pub fn run(self) -> Outcome {
        let lab = Lab::for_rail(1);
        prepare(&lab);
        let rail = Rail::start(&lab, &config(&lab, &[1]));
        rail.wait_probing(1);
        let (answered, unanswered) = self.play(&lab);
        let log = rail.log_text();
        let outcome = Outcome {
            scenario: self,
            downs: downs(&log),
            suspicions: suspicions(&log),
            cleared: log.lines().filter(|l| l.contains(CLEARED)).count(),
            answered,
            unanswered,
            log,
        };
        assert!(self.played(&outcome), "the scenario's traffic: {outcome}");
        outcome
    }

    /// Plays the traffic: (answered, unanswered) LAN connections.
    fn play(self, lab: &Lab) -> (usize, usize) {
        let port = lab.http_port();
        let ms = Duration::from_millis;
        let wait = |secs| std::thread::sleep(Duration::from_secs(secs));
        let browse = |spacing| Connector::start(lab, "lan", on_port(&servers(), port), spacing);
        let scan = || {
            let dead: Vec<Ipv4Addr> = (0..254).map(dead).collect();
            Connector::start(lab, "lan", on_port(&dead, port), ms(50))
        };
        let sum = |counts: &[(usize, usize, f64)]| {
            counts.iter().fold((0, 0), |(a, u), c| (a + c.0, u + c.1))
        };
        match self {
            Scenario::Scan => {
                let s = scan();
                wait(8);
                sum(&[s.finish()])
            }
            Scenario::ScanBesideTraffic => {
                let b = browse(ms(500));
                wait(4);
                let s = scan();
                wait(8);
                sum(&[s.finish(), b.finish()])
            }
            Scenario::DeadServer => {
                let b = browse(ms(500));
                wait(3);
                let b = b.finish();
                let d = Connector::start(lab, "lan", on_port(&[dead(0)], port), ms(100));
                wait(8);
                sum(&[b, d.finish()])
            }
            Scenario::Loss => {
                lab.fault(1, Fault::Loss(20));
                let b = browse(ms(50));
                wait(10);
                let b = b.finish();
                lab.clear(1);
                sum(&[b])
            }
            Scenario::Idle => {
                let b = browse(ms(100));
                wait(2);
                let before = b.finish();
                wait(10);
                let b = browse(ms(50));
                wait(4);
                sum(&[before, b.finish()])
            }
        }
    }

    /// Whether the LAN's traffic was what the scenario says (else it proved nothing).
    fn played(self, o: &Outcome) -> bool {
        match self {
            Scenario::Scan => o.answered == 0 && o.unanswered >= 100,
            Scenario::ScanBesideTraffic => o.answered >= 15 && o.unanswered >= 100,
            Scenario::DeadServer => o.answered >= 4 && o.unanswered >= 50,
            // ~20% of the attempts lose their SYN or its answer.
            Scenario::Loss => o.unanswered >= 10 && o.answered >= 3 * o.unanswered,
            Scenario::Idle => o.answered >= 50 && o.unanswered == 0,
        }
    }
}
