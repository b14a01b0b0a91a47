//! `make bench`: rail's failover, failback, flow safety and cost, measured in the network
//! lab (tests/lab) against a running `rail daemon`, and written to target/bench/results.json.
//! How each figure is measured, and the latest results: docs/bench.md.
//!
//! Ignored by `cargo test`; `make bench` runs it against the release binary:
//!
//!     cargo build --release
//!     RAIL_BIN=$PWD/target/release/rail cargo test --test lab_bench -- --ignored --nocapture
//!
//! BENCH_TRIALS (default 10) sets the trials per figure (1 for a smoke run); BENCH_ONLY
//! (comma separated: fast, fast6, default, passive, carrier, pppoe, flows, routes, flood,
//! reload, cost, history)
//! picks sections;
//! BENCH_VERBOSE=1 prints rail's log lines of each failover, timed from the fault.
//! The cost section runs `RAIL_COST_BIN` when set (`make bench`: the static musl build);
//! BENCH_ISOLATE=0 measures it without keeping the lab's work off its CPU. The history
//! section asks `ubus call rail history` through OpenWrt's ubusd and ubus CLI when
//! RAIL_UBUSD and RAIL_UBUS name them, else through the project's broker.

#[path = "ubus_broker/mod.rs"]
mod broker;
mod common;
mod health_support;

use common::flood::{apply_shipped_limits, fds, resting_fds, Flood, CONNECTIONS, NOBODY};
use common::lab::{Fault, Lab};
use common::passive::{on_port, paced, prepare, servers, Connector, Scenario, Sink, PASSIVE};
use common::rail::{interface, interface_dual_stack, interface_probing, Rail};
use health_support::sim;
use rail::config::Interface;
use rail::health::{Output, Params, State, Time, Tracker};
use serde_json::{json, Map, Value};
use std::io::{Read, Seek, SeekFrom, Write};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The brief's fast profile: interval 0.2 s and down 3, everything else rail's default
/// (timeout and failure_interval then default to 0.1 s, recovery_interval to 0.2 s).
const FAST: &str = "\toption interval '0.2'\n\toption down '3'\n";
/// rail's defaults: interval 1 s, timeout 0.5 s, failure_interval 0.5 s, down 3, up 5.
const DEFAULT: &str = "";
/// Spacing of the LAN client's new connections, and how long each may take to connect:
/// shorter than TCP's first SYN retransmission (1 s), so every attempt sends one SYN and
/// its outcome shows the route at the moment it started.
const CLIENT_SPACING: Duration = Duration::from_millis(20);
const CONNECT_TIMEOUT: Duration = Duration::from_millis(500);
/// Long-lived flows wanted on the surviving uplink in each failover trial.
const FLOWS: usize = 3;
/// Trials per daemon: each trial is a flap (out of service less than 60 s after coming
/// back), and rail holds an uplink down for 5 s and more after its 4th flap in a row
/// (flap damping, src/health/machine.rs); the bench restarts rail before that.
const TRIALS_PER_DAEMON: usize = 3;

/// The address family a failover series measures: the LAN client, the sources it expects,
/// the fault and rail's verdict are all of this family.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Ip {
    V4,
    V6,
}

impl Ip {
    /// `base` (a figure's name ending in `_ms`) for this family: `_v6` before the unit.
    fn figure(self, base: &str) -> String {
        match self {
            Ip::V4 => base.to_string(),
            Ip::V6 => format!("{}_v6_ms", base.trim_end_matches("_ms")),
        }
    }

    /// The lab's Internet service in this family.
    fn service(self, lab: &Lab) -> IpAddr {
        match self {
            Ip::V4 => lab.service().into(),
            Ip::V6 => lab.service6().expect("IPv6 lab").into(),
        }
    }

    /// The source an uplink's connections show at the service (rail masquerades).
    fn source(self, lab: &Lab, isp: usize) -> String {
        let up = lab.uplink(isp);
        match self {
            Ip::V4 => up.addr.to_string(),
            Ip::V6 => up.addr6.expect("IPv6 lab").to_string(),
        }
    }

    /// The blackhole of this family only (the other family's probes keep succeeding).
    fn blackhole(self) -> Fault {
        match self {
            Ip::V4 => Fault::Blackhole,
            Ip::V6 => Fault::BlackholeIpv6,
        }
    }

    /// The prefix of rail's log line for a family's verdict on `iface`.
    fn verdict(self, iface: &str, state: &str) -> String {
        match self {
            Ip::V4 => format!("{iface} {state}:"),
            Ip::V6 => format!("{iface} ipv6 {state}:"),
        }
    }

    /// The status field with this family's state.
    fn state_field(self) -> &'static str {
        match self {
            Ip::V4 => "state",
            Ip::V6 => "state6",
        }
    }
}

// ---------------------------------------------------------------------------------------
// Figures

/// What a figure must do to meet its issue-5 (or issue-4) target.
/// The unit of the CPU figures.
const CPU_UNIT: &str = "% of one core";

#[derive(Clone, Copy)]
enum Target {
    MedianAtMost(f64),
    P95AtMost(f64),
    /// Every trial at most this.
    AllAtMost(f64),
    AllZero,
    None,
}

struct Figure {
    name: String,
    unit: &'static str,
    trials: Vec<f64>,
    target: Target,
    note: String,
}

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    match s.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => s[n / 2],
        n => (s[n / 2 - 1] + s[n / 2]) / 2.0,
    }
}

/// Nearest-rank 95th percentile.
fn p95(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    if s.is_empty() {
        return f64::NAN;
    }
    let rank = ((0.95 * s.len() as f64).ceil() as usize).clamp(1, s.len());
    s[rank - 1]
}

impl Figure {
    fn new(name: &str, unit: &'static str, trials: Vec<f64>, target: Target) -> Figure {
        Figure {
            name: name.into(),
            unit,
            trials,
            target,
            note: String::new(),
        }
    }

    /// A figure in milliseconds.
    fn ms(name: &str, trials: Vec<f64>, target: Target) -> Figure {
        Figure::new(name, "ms", trials, target)
    }

    fn target_text(&self) -> String {
        match self.target {
            Target::MedianAtMost(x) => format!("median <= {}", self.round(x)),
            Target::P95AtMost(x) => format!("p95 <= {}", self.round(x)),
            Target::AllAtMost(x) => format!("every trial <= {}", self.round(x)),
            Target::AllZero => "0 in every trial".into(),
            Target::None => "-".into(),
        }
    }

    fn met(&self) -> Option<bool> {
        if self.trials.is_empty() {
            return Some(false);
        }
        match self.target {
            Target::MedianAtMost(x) => Some(median(&self.trials) <= x),
            Target::P95AtMost(x) => Some(p95(&self.trials) <= x),
            Target::AllAtMost(x) => Some(self.trials.iter().all(|&t| t <= x)),
            Target::AllZero => Some(self.trials.iter().all(|&t| t == 0.0)),
            Target::None => None,
        }
    }

    /// Decimals shown and written: two for CPU percentages (the idle figure is a few
    /// hundredths), one for the rest.
    fn decimals(&self) -> i32 {
        if self.unit == CPU_UNIT {
            2
        } else {
            1
        }
    }

    fn round(&self, x: f64) -> f64 {
        let scale = 10f64.powi(self.decimals());
        (x * scale).round() / scale
    }

    fn json(&self) -> Value {
        json!({
            "median": self.round(median(&self.trials)),
            "p95": self.round(p95(&self.trials)),
            "trials": self.trials.iter().map(|&t| self.round(t)).collect::<Vec<_>>(),
            "unit": self.unit,
            "target": self.target_text(),
            "met": self.met(),
            "note": self.note,
        })
    }
}

fn ms_between(from: SystemTime, to: SystemTime) -> f64 {
    match to.duration_since(from) {
        Ok(d) => d.as_secs_f64() * 1000.0,
        Err(e) => -e.duration().as_secs_f64() * 1000.0,
    }
}

// ---------------------------------------------------------------------------------------
// The LAN client: a new connection every 20 ms, each started on its own thread

#[derive(Clone)]
struct Attempt {
    start: SystemTime,
    /// The source address the service saw; None when the connection failed.
    source: Option<String>,
}

/// A thread that records items until it is dropped (the LAN client's attempts, rail's log
/// lines, the probes on a device): `begin` starts it with where to record and the flag
/// that tells it to stop.
struct Recorder<T> {
    items: Arc<Mutex<Vec<T>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl<T> Recorder<T> {
    fn start(begin: impl FnOnce(Arc<Mutex<Vec<T>>>, Arc<AtomicBool>) -> JoinHandle<()>) -> Self {
        let items = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = begin(items.clone(), stop.clone());
        Recorder {
            items,
            stop,
            thread: Some(thread),
        }
    }

    fn items(&self) -> std::sync::MutexGuard<'_, Vec<T>> {
        self.items.lock().unwrap()
    }
}

impl<T> Drop for Recorder<T> {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

struct Client {
    attempts: Recorder<Attempt>,
}

/// One HTTP request: the source address the service reports.
fn fetch_source(to: SocketAddr) -> Option<String> {
    let mut s = TcpStream::connect_timeout(&to, CONNECT_TIMEOUT).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    s.write_all(b"GET / HTTP/1.0\r\n\r\n").ok()?;
    let mut reply = String::new();
    s.read_to_string(&mut reply).ok()?;
    let (head, body) = reply.split_once("\r\n\r\n")?;
    head.starts_with("HTTP/1.0 200")
        .then(|| body.trim().to_string())
}

impl Client {
    /// Starts the client on the LAN host, connecting to `services` in turn; threads it
    /// starts inherit its namespace.
    fn start(lab: &Lab, services: &[IpAddr]) -> Client {
        let port = lab.http_port();
        let mut to = services
            .iter()
            .map(|s| SocketAddr::new(*s, port))
            .collect::<Vec<_>>()
            .into_iter()
            .cycle();
        let attempts = Recorder::start(|log, halt| {
            lab.spawn("lan", move || {
                paced(CLIENT_SPACING, &halt, || {
                    let (log, to) = (log.clone(), to.next().unwrap());
                    std::thread::spawn(move || {
                        let start = SystemTime::now();
                        let source = fetch_source(to);
                        log.lock().unwrap().push(Attempt { start, source });
                    });
                })
            })
        });
        Client { attempts }
    }

    /// The earliest attempt started at or after `since` whose source is `source`.
    fn first(&self, since: SystemTime, source: &str) -> Option<SystemTime> {
        self.attempts
            .items()
            .iter()
            .filter(|a| a.start >= since && a.source.as_deref() == Some(source))
            .map(|a| a.start)
            .min()
    }

    /// Waits for a connection started at or after `since` to succeed through `source`;
    /// then lets every attempt started before it finish (they may still be connecting),
    /// so the earliest one is found. Milliseconds from `since` to its start.
    fn wait_first(&self, since: SystemTime, source: &str, timeout: Duration) -> Option<f64> {
        let until = Instant::now() + timeout;
        while self.first(since, source).is_none() {
            if Instant::now() > until {
                return None;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        std::thread::sleep(CONNECT_TIMEOUT + Duration::from_millis(200));
        self.first(since, source).map(|t| ms_between(since, t))
    }

    /// Drops what was recorded (between trials, so the log stays small).
    fn forget(&self) {
        self.attempts.items().clear();
    }
}

// ---------------------------------------------------------------------------------------
// rail's log lines, timestamped as they appear (rail logs without timestamps)

struct LogWatch {
    lines: Recorder<(SystemTime, String)>,
}

impl LogWatch {
    fn start(path: &Path) -> LogWatch {
        let path = path.to_path_buf();
        let lines = Recorder::start(|out, halt| {
            std::thread::spawn(move || {
                let mut pos = 0;
                let mut partial = String::new();
                while !halt.load(Ordering::Relaxed) {
                    if let Ok(mut f) = std::fs::File::open(&path) {
                        let mut buf = String::new();
                        if f.seek(SeekFrom::Start(pos)).is_ok()
                            && f.read_to_string(&mut buf).is_ok()
                        {
                            pos += buf.len() as u64;
                            let now = SystemTime::now();
                            partial.push_str(&buf);
                            while let Some(n) = partial.find('\n') {
                                let line: String = partial.drain(..=n).collect();
                                out.lock().unwrap().push((now, line.trim_end().to_string()));
                            }
                        }
                    }
                    std::thread::sleep(Duration::from_millis(2));
                }
            })
        });
        LogWatch { lines }
    }

    /// When the first line at or after `since` containing `text` appeared.
    fn first(&self, since: SystemTime, text: &str) -> Option<SystemTime> {
        self.lines
            .items()
            .iter()
            .find(|(t, l)| *t >= since && l.contains(text))
            .map(|(t, _)| *t)
    }
}

impl LogWatch {
    /// Prints the lines since `since` with their time from it (BENCH_VERBOSE).
    fn print_since(&self, since: SystemTime) {
        for (t, l) in self.lines.items().iter().filter(|(t, _)| *t >= since) {
            eprintln!("    {:+8.1} ms  {l}", ms_between(since, *t));
        }
    }
}

// ---------------------------------------------------------------------------------------
// Configuration

/// Two uplinks: policy `failover` (ISP `primary` metric 1, the other metric 2) carries
/// every new connection except those to the echo port (9000), which policy `balanced`
/// spreads over both, so each failover trial also has long-lived flows on the surviving
/// uplink while its policy's multipath route changes.
fn two_uplinks(lab: &Lab, primary: usize, timing: &str) -> String {
    two_uplinks_of(lab, primary, timing, Ip::V4)
}

/// As `two_uplinks`; for `Ip::V6` both uplinks are dual-stack (`family both`) and probe
/// three IPv6 targets besides the three IPv4 ones.
fn two_uplinks_of(lab: &Lab, primary: usize, timing: &str, ip: Ip) -> String {
    let backup = 3 - primary;
    let uplink = |isp: usize| match ip {
        Ip::V4 => interface(lab, isp, timing),
        Ip::V6 => interface_dual_stack(lab, isp, timing),
    };
    format!(
        "config globals 'globals'\n\toption log_level 'info'\n\n{}{}\
config member 'primary'\n\toption interface 'isp{primary}'\n\toption metric '1'\n\n\
config member 'backup'\n\toption interface 'isp{backup}'\n\toption metric '2'\n\n\
config member 'b1'\n\toption interface 'isp1'\n\n\
config member 'b2'\n\toption interface 'isp2'\n\n\
config policy 'failover'\n\tlist use_member 'primary'\n\tlist use_member 'backup'\n\n\
config policy 'balanced'\n\tlist use_member 'b1'\n\tlist use_member 'b2'\n\n\
config rule 'flows'\n\toption proto 'tcp'\n\toption dest_port '{}'\n\toption use_policy 'balanced'\n\n\
config rule 'all'\n\toption use_policy 'failover'\n",
        uplink(1),
        uplink(2),
        lab.echo_port()
    )
}

/// Every uplink of the lab probing `targets` targets 5 times a second, balanced; `extra`
/// (option lines) added to every interface.
fn all_uplinks(lab: &Lab, targets: usize, extra: &str) -> String {
    let timing = format!("\toption interval '0.2'\n{extra}");
    let mut c = "config globals 'globals'\n\toption log_level 'info'\n\n".to_string();
    for i in 1..=lab.isps() {
        c += &interface_probing(lab, i, targets, &timing);
    }
    for i in 1..=lab.isps() {
        c += &format!("config member 'm{i}'\n\toption interface 'isp{i}'\n\n");
    }
    c += "config policy 'balanced'\n";
    for i in 1..=lab.isps() {
        c += &format!("\tlist use_member 'm{i}'\n");
    }
    c + "\nconfig rule 'all'\n\toption use_policy 'balanced'\n"
}

// ---------------------------------------------------------------------------------------
// The first probe a fault took, from the probes seen leaving and answering on the router

/// An ICMP or ICMPv6 echo seen on a device: when, whether a request (else a reply), the
/// far address (the request's destination, the reply's source), identifier and sequence.
#[derive(Clone, Copy)]
struct Echo {
    at: SystemTime,
    request: bool,
    far: IpAddr,
    ident: u16,
    seq: u16,
}

/// The echo in `packet` (from its IP header on), if any. rail's probes carry no IPv6
/// extension headers.
fn echo(packet: &[u8], at: SystemTime) -> Option<Echo> {
    let u16_at = |i: usize| Some(u16::from_be_bytes(packet.get(i..i + 2)?.try_into().ok()?));
    let (icmp, request, far) = match packet.first()? >> 4 {
        4 if packet.get(9) == Some(&1) => {
            let ihl = usize::from(packet[0] & 0x0f) * 4;
            let (src, dst): ([u8; 4], [u8; 4]) = (
                packet.get(12..16)?.try_into().ok()?,
                packet.get(16..20)?.try_into().ok()?,
            );
            match packet.get(ihl)? {
                8 => (ihl, true, IpAddr::from(dst)),
                0 => (ihl, false, IpAddr::from(src)),
                _ => return None,
            }
        }
        6 if packet.get(6) == Some(&58) => {
            let (src, dst): ([u8; 16], [u8; 16]) = (
                packet.get(8..24)?.try_into().ok()?,
                packet.get(24..40)?.try_into().ok()?,
            );
            match packet.get(40)? {
                128 => (40, true, IpAddr::from(dst)),
                129 => (40, false, IpAddr::from(src)),
                _ => return None,
            }
        }
        _ => return None,
    };
    Some(Echo {
        at,
        request,
        far,
        ident: u16_at(icmp + 4)?,
        seq: u16_at(icmp + 6)?,
    })
}

/// The echoes on one router device, stamped when a packet socket on it reads them
/// (CLOCK_REALTIME, the clock `lab.sh fault` and the LAN client stamp with; the kernel
/// keeps no time for outgoing packets). Which probe was the first one a fault took comes
/// from the packets themselves, so it does not depend on when the fault was stamped.
struct ProbeTap {
    seen: Recorder<Echo>,
}

impl ProbeTap {
    fn start(lab: &Lab, device: &str) -> ProbeTap {
        let device = device.to_string();
        let ready = std::sync::mpsc::channel();
        let seen = Recorder::start(|out, halt| {
            lab.spawn("rtr", move || {
                // SAFETY: plain socket calls on a descriptor this thread owns; every buffer and
                // struct passed is valid for the length given.
                unsafe {
                    let all = (libc::ETH_P_ALL as u16).to_be();
                    let fd = libc::socket(libc::AF_PACKET, libc::SOCK_DGRAM, i32::from(all));
                    assert!(
                        fd >= 0,
                        "packet socket: {}",
                        std::io::Error::last_os_error()
                    );
                    let name = std::ffi::CString::new(device.clone()).unwrap();
                    let mut addr: libc::sockaddr_ll = std::mem::zeroed();
                    addr.sll_family = libc::AF_PACKET as u16;
                    addr.sll_protocol = all;
                    addr.sll_ifindex = libc::if_nametoindex(name.as_ptr()) as i32;
                    assert!(addr.sll_ifindex > 0, "no device {device} in the router");
                    let len = std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t;
                    assert_eq!(libc::bind(fd, std::ptr::addr_of!(addr).cast(), len), 0);
                    // Wake every 100 ms to see `stop`.
                    let timeout = libc::timeval {
                        tv_sec: 0,
                        tv_usec: 100_000,
                    };
                    let len = std::mem::size_of::<libc::timeval>() as libc::socklen_t;
                    let opt = std::ptr::addr_of!(timeout).cast();
                    let rc = libc::setsockopt(fd, libc::SOL_SOCKET, libc::SO_RCVTIMEO, opt, len);
                    assert_eq!(rc, 0);
                    ready.0.send(()).unwrap();
                    let mut buf = [0u8; 2048];
                    while !halt.load(Ordering::Relaxed) {
                        let n = libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), 0);
                        if n > 0 {
                            if let Some(e) = echo(&buf[..n as usize], SystemTime::now()) {
                                out.lock().unwrap().push(e);
                            }
                        }
                    }
                    libc::close(fd);
                }
            })
        });
        ready.1.recv().expect("the probe tap started");
        ProbeTap { seen }
    }

    /// The first request after `since` that was never answered: when it left, and to whom.
    fn first_lost(&self, since: SystemTime) -> Option<(SystemTime, IpAddr)> {
        let seen = self.seen.items();
        let answered = |q: &Echo| {
            seen.iter()
                .any(|r| !r.request && r.far == q.far && r.ident == q.ident && r.seq == q.seq)
        };
        seen.iter()
            .find(|q| q.request && q.at >= since && !answered(q))
            .map(|q| (q.at, q.far))
    }
}

// ---------------------------------------------------------------------------------------
// The detection budget: what rail's state machine needs, on a simulated clock

/// What the real `Tracker` does with `iface`'s parameters on a simulated clock (no
/// sockets, replies taking 1 ms, the lab's RTT), for a silent fault at every millisecond
/// of two rounds:
/// - `fault_to_down`: the time from the fault to `down`, which depends on where in the
///   probe schedule the fault falls;
/// - `lost_to_down`: per target, the time from the first probe the fault took (sent to
///   that target) to `down`. It is the same for every fault that takes that probe first,
///   so a trial's budget is its first lost probe (seen by a `ProbeTap`) plus this.
struct Budget {
    fault_to_down: Vec<f64>,
    lost_to_down: Vec<(IpAddr, f64)>,
}

impl Budget {
    fn of(iface: &Interface) -> Budget {
        let params = Params::from_interface(iface);
        let rtt = Duration::from_millis(1);
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        let span = 2 * params.interval.as_millis() as u64;
        let mut fault_to_down = Vec::new();
        let mut lost_to_down: Vec<(IpAddr, f64)> = Vec::new();
        for offset in 0..span {
            let fault = Time::from_millis(10_000 + offset);
            let t = Tracker::new("sim", params.clone(), 1, true, Time::ZERO);
            let answered = |now: Time| now + rtt < fault;
            let mut first_lost = None;
            let until = fault + Duration::from_secs(60);
            let down = sim::run(t, rtt, until, answered, |now, o| match o {
                Output::Send(p) if !answered(now) => {
                    first_lost.get_or_insert((now, p.target));
                    None
                }
                Output::Transition(tr) if tr.to == State::Down => Some(tr.time),
                _ => None,
            })
            .expect("a silent fault takes the uplink down");
            fault_to_down.push(ms(down.since(fault)));
            let (lost, target) = first_lost.expect("the fault took a probe before `down`");
            let d = ms(down.since(lost));
            match lost_to_down.iter().find(|(t, _)| *t == target) {
                Some((_, known)) => assert!(
                    (known - d).abs() < 0.01,
                    "{target}: {known} and {d} ms from the first lost probe to down"
                ),
                None => lost_to_down.push((target, d)),
            }
        }
        Budget {
            fault_to_down,
            lost_to_down,
        }
    }

    /// The fastest, mean and slowest fault-to-down over the fault phases.
    fn summary(&self) -> (f64, f64, f64) {
        let d = || self.fault_to_down.iter().copied();
        let n = self.fault_to_down.len() as f64;
        (
            d().fold(f64::INFINITY, f64::min),
            d().sum::<f64>() / n,
            d().fold(0.0, f64::max),
        )
    }

    /// When the state machine calls the uplink down, given the first probe lost.
    fn down_at(&self, (lost, target): (SystemTime, IpAddr)) -> Option<SystemTime> {
        let (_, d) = self.lost_to_down.iter().find(|(t, _)| *t == target)?;
        Some(lost + Duration::from_secs_f64(d / 1000.0))
    }
}

fn interface_of(config_text: &str, name: &str) -> Interface {
    let path = std::env::temp_dir().join(format!("rail-bench-{}.conf", std::process::id()));
    std::fs::write(&path, config_text).unwrap();
    let config = rail::config::load(&path).unwrap_or_else(|p| panic!("bench config: {p:?}"));
    let _ = std::fs::remove_file(&path);
    config
        .interfaces
        .into_iter()
        .find(|i| i.name == name)
        .unwrap()
}

// ---------------------------------------------------------------------------------------
// Failover trials

#[derive(Default)]
struct Series {
    failover: Vec<f64>,
    failback: Vec<f64>,
    /// rail's own verdict (its log line) and its route change, from the fault.
    detect: Vec<f64>,
    routed: Vec<f64>,
    /// From the route change to rail's line saying it deleted the dead uplink's flows.
    flushed: Vec<f64>,
    /// With `Bench::flows`: the UDP flows tracked before each fault, those of them on the
    /// faulty uplink's mark, and those left on it once the failover is done.
    tracked: Vec<[usize; 3]>,
    disrupted: Vec<f64>,
    /// The first probe the fault took (ProbeTap), and when the first connection through
    /// the other uplink and rail's verdict came.
    first_lost: Vec<Option<(SystemTime, IpAddr)>>,
    failover_at: Vec<SystemTime>,
    verdict_at: Vec<Option<SystemTime>>,
}

struct Bench<'a> {
    lab: &'a Lab,
    ip: Ip,
    config: String,
    /// None only while `restart` swaps daemons: the old one must be gone (it deletes its
    /// config and log files, whose names the new one reuses) before the new one starts.
    rail: Option<Rail<'a>>,
    client: Client,
    log: LogWatch,
    tap: ProbeTap,
    /// Tracked connections made before each fault (`fill_flows`), 0 for none.
    flows: usize,
}

impl<'a> Bench<'a> {
    fn start(lab: &'a Lab, config: &str) -> Bench<'a> {
        Bench::start_for(lab, config, Ip::V4)
    }

    /// A bench whose LAN client and flows use family `ip`.
    fn start_for(lab: &'a Lab, config: &str, ip: Ip) -> Bench<'a> {
        Bench::start_to(lab, config, ip, &[ip.service(lab)])
    }

    /// As `start_for`, the LAN client connecting to `services` in turn.
    fn start_to(lab: &'a Lab, config: &str, ip: Ip, services: &[IpAddr]) -> Bench<'a> {
        let tap = ProbeTap::start(lab, &lab.uplink(1).dev);
        let rail = Rail::start(lab, config);
        let log = LogWatch::start(&rail.log);
        rail.wait_probing(lab.isps());
        Bench {
            lab,
            ip,
            config: config.to_string(),
            client: Client::start(lab, services),
            rail: Some(rail),
            log,
            tap,
            flows: 0,
        }
    }

    /// Flows to the echo port until `FLOWS` of them use uplink `via` (others are closed).
    fn flows_via(&self, via: &str) -> Vec<common::lab::Flow> {
        let mut kept = Vec::new();
        for _ in 0..8 * FLOWS {
            if kept.len() == FLOWS {
                break;
            }
            if let Ok(f) = self.lab.try_open_flow_to("lan", self.ip.service(self.lab)) {
                if f.source == via {
                    kept.push(f);
                }
            }
        }
        kept
    }

    /// One trial: `fault` on ISP `faulty` while new connections use it; the time until a
    /// new connection succeeds through ISP `other`, then (after `clear`) through `faulty`
    /// again, and how many flows on `other` broke on the way.
    fn trial(&self, faulty: usize, other: usize, fault: Fault, s: &mut Series) {
        let (bad, good) = (
            self.ip.source(self.lab, faulty),
            self.ip.source(self.lab, other),
        );
        let iface = format!("isp{faulty}");
        let field = self.ip.state_field();
        self.rail().wait_for(
            &format!("{iface} {field} up"),
            Duration::from_secs(30),
            |r| r.status()["interfaces"][&iface][field] == "up",
        );
        self.client.forget();
        // New connections use the faulty uplink before the fault (failback finished).
        let ready = self
            .client
            .wait_first(SystemTime::now(), &bad, Duration::from_secs(20));
        assert!(ready.is_some(), "new connections never used {iface}");
        let mark = self.rail().status()["interfaces"][&iface]["mark"]
            .as_str()
            .map(str::to_string);
        let before = (self.flows > 0).then(|| {
            let all = fill_flows(self.lab, self.flows);
            [all, udp_flows(self.lab, mark.as_deref())]
        });
        let mut flows = self.flows_via(&good);
        // A random phase against rail's probe schedule.
        let jitter = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .subsec_nanos()
            % 300;
        std::thread::sleep(Duration::from_millis(u64::from(jitter)));

        let fault_at = self.lab.fault(faulty, fault);
        let failover = self
            .client
            .wait_first(fault_at, &good, Duration::from_secs(20))
            .unwrap_or_else(|| {
                panic!(
                    "no failover to isp{other}; log:\n{}",
                    self.rail().log_text()
                )
            });
        s.failover.push(failover);
        s.failover_at
            .push(fault_at + Duration::from_secs_f64(failover / 1000.0));
        // A probe sent just before the fault is lost when the fault takes its reply.
        let since = fault_at - Duration::from_millis(50);
        s.first_lost.push(self.tap.first_lost(since));
        // "isp1 down: ...", "isp1 ipv6 down: ...", "isp2 no-device: ...", then the route
        // change.
        let verdict = self.log.first(fault_at, &self.ip.verdict(&iface, "down"));
        let verdict = verdict.or_else(|| {
            self.log
                .first(fault_at, &self.ip.verdict(&iface, "no-device"))
        });
        s.verdict_at.push(verdict);
        if let Some(v) = verdict {
            s.detect.push(ms_between(fault_at, v));
            if let Some(r) = self.log.first(v, "policy routes updated") {
                s.routed.push(ms_between(fault_at, r));
                let deleted = format!("{iface}: deleted its conntrack flows");
                if let Some(d) = self.log.first(r, &deleted) {
                    s.flushed.push(ms_between(r, d));
                }
            }
        }
        if std::env::var_os("BENCH_VERBOSE").is_some() {
            self.log.print_since(fault_at);
        }
        if let Some([all, on_faulty]) = before {
            let left = udp_flows(self.lab, mark.as_deref());
            s.tracked.push([all, on_faulty, left]);
        }
        let broken_now: Vec<bool> = flows
            .iter_mut()
            .map(|f| !f.alive(Duration::from_secs(1)))
            .collect();

        let cleared = self.end_fault(faulty, fault);
        let failback = self
            .client
            .wait_first(cleared, &bad, Duration::from_secs(30));
        s.failback.push(
            failback.unwrap_or_else(|| {
                panic!("no failback to {iface}; log:\n{}", self.rail().log_text())
            }),
        );
        let broken = flows
            .iter_mut()
            .zip(broken_now)
            .map(|(f, before)| before || !f.alive(Duration::from_secs(1)))
            .filter(|&b| b)
            .count();
        // Too few flows on the surviving uplink count as broken: they could not be tested.
        s.disrupted.push((broken + FLOWS - flows.len()) as f64);
    }

    /// Ends `fault` on ISP `isp`; returns when it ended. `lab.sh clear` stamps its time
    /// after also flushing neighbour caches, long after a blackhole's nft table is gone,
    /// so that table is deleted here first and stamped the way `lab.sh fault` stamps its
    /// creation: right after the command that changed it.
    fn end_fault(&self, isp: usize, fault: Fault) -> SystemTime {
        // tests/lab/lab.sh's table of each blackhole.
        let table = match fault {
            Fault::Blackhole => "lab_blackhole",
            Fault::BlackholeIpv6 => "lab_blackhole_ipv6",
            _ => return self.lab.clear(isp),
        };
        let node = format!("isp{isp}");
        self.lab
            .run(&node, &["nft", "delete", "table", "inet", table]);
        let ended = SystemTime::now();
        self.lab.clear(isp);
        ended
    }

    /// A fresh daemon on the same configuration (its flap history forgotten).
    fn restart(&mut self) {
        self.rail = None;
        let rail = Rail::start(self.lab, &self.config);
        self.log = LogWatch::start(&rail.log);
        rail.wait_probing(self.lab.isps());
        self.rail = Some(rail);
    }

    fn rail(&self) -> &Rail<'a> {
        self.rail.as_ref().expect("a running daemon")
    }

    fn series(&mut self, trials: usize, faulty: usize, fault: Fault) -> Series {
        let mut s = Series::default();
        for n in 0..trials {
            if n > 0 && n % TRIALS_PER_DAEMON == 0 {
                self.restart();
            }
            self.trial(faulty, 3 - faulty, fault, &mut s);
            eprintln!(
                "  {fault:?} trial {}/{trials}: failover {:.0} ms, failback {:.0} ms",
                n + 1,
                s.failover.last().unwrap(),
                s.failback.last().unwrap()
            );
        }
        s
    }
}

// ---------------------------------------------------------------------------------------
// Cost: CPU and memory of the daemon

/// CPU time of every thread of `pid`, from /proc/PID/task/*/schedstat (nanoseconds).
fn cpu_ns(pid: u32) -> u64 {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return 0;
    };
    tasks
        .filter_map(Result::ok)
        .filter_map(|t| std::fs::read_to_string(t.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .sum()
}

/// utime + stime of `pid` from /proc/PID/stat, in clock ticks.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may hold spaces): state is field 3.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let n = |i: usize| {
        f.get(i - 3)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    n(14) + n(15)
}

/// A KiB field of /proc/PID/status: VmRSS, or RssAnon (heap and stacks, without the
/// pages of the binary and shared libraries).
fn status_kib(pid: u32, field: &str) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(f64::NAN)
}

/// The binary the cost is measured on: `RAIL_COST_BIN` (`make bench`: the static
/// x86_64 musl release build, as OpenWrt ships rail), else the one under test.
fn cost_binary() -> String {
    std::env::var("RAIL_COST_BIN").unwrap_or_else(|_| common::rail::binary().to_string())
}

/// The CPUs other than rail's (CPU 0) as a mask, when the cost is measured isolated: more
/// than one CPU, and not BENCH_ISOLATE=0.
fn other_cpus() -> Option<u64> {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let off = std::env::var("BENCH_ISOLATE").is_ok_and(|v| v == "0");
    (cpus >= 2 && !off).then(|| ((1u64 << cpus.min(63)) - 1) & !1)
}

/// Keeps the lab's own packet processing off the daemon's CPU: every thread of `pid` on
/// CPU 0, and what the router sends the ISPs processed on the other CPUs (`lab.sh steer`,
/// RPS). veth delivers a packet inside the sender's `sendto`, so without this the far
/// ends' forwarding and echo replies (a third of the daemon's figure, by perf) ran on rail's
/// thread and were charged to it; on a router the NIC takes the packet and the far end
/// answers on its own CPU. Returns what was done, for the figure's note.
fn isolate(lab: &Lab, pid: u32) -> String {
    let Some(mask) = other_cpus() else {
        return "not isolated: the lab's packet processing is charged to rail".into();
    };
    let pin = std::process::Command::new("taskset")
        .args(["-a", "-p", "-c", "0", &pid.to_string()])
        .output()
        .expect("running taskset");
    assert!(pin.status.success(), "taskset: {pin:?}");
    let mask = format!("{mask:x}");
    let steer = std::process::Command::new(common::lab::script())
        .args(["steer", lab.name(), &mask])
        .output()
        .expect("running lab.sh steer");
    assert!(steer.status.success(), "lab.sh steer: {steer:?}");
    format!("rail pinned to CPU 0, the ISPs' work steered to CPU mask {mask}")
}

/// What the cost section runs beside the probes: passive detection on every uplink, and
/// new LAN connections per second (`Connector`, to a `Sink` on the Internet's servers,
/// both on the CPUs other than rail's, so their work and the packets' way through the
/// lab, which runs inside their system calls, are not charged to rail).
#[derive(Clone, Copy, Default)]
struct Load {
    passive: bool,
    connections_per_s: u32,
}

/// The Sink's port in the Internet (the service has 80 and 9000).
const LOAD_PORT: u16 = 9100;

/// What one daemon cost over `windows` windows of 3 s: CPU percent of one core per window
/// (schedstat), resident memory (VmRSS, RssAnon) at each window's end, CPU percent over
/// all windows from /proc/PID/stat, and how the daemon was isolated and loaded.
struct Cost {
    cpu: Vec<f64>,
    rss: Vec<(f64, f64)>,
    total: f64,
    note: String,
}

/// The cost of rail on every uplink of `lab`, each probing `targets` targets 5 times a
/// second (0: none, every uplink judged by its carrier alone: nothing is ever due).
fn cost(lab: &Lab, targets: usize, windows: usize, load: Load) -> Cost {
    let isps = lab.isps();
    let extra = if load.passive { PASSIVE } else { "" };
    let config = all_uplinks(lab, targets, extra);
    // A router always has ubusd: without one, rail would keep trying to connect.
    let dir = std::env::temp_dir().join(format!("rail-bench-cost-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bus = UbusPath::start(&dir);
    let socket = bus.socket.to_str().unwrap().to_string();
    let rail = Rail::start_bin(lab, &cost_binary(), &config, &["-s", &socket]);
    rail.wait_probing(isps);
    bus.wait_for_rail();
    let pid = rail.pid();
    let mut note = isolate(lab, pid);
    let connector = (load.connections_per_s > 0).then(|| {
        prepare(lab);
        let sink = Sink::start(lab, "inet", LOAD_PORT, other_cpus());
        let spacing = Duration::from_secs(1) / load.connections_per_s;
        let dests = on_port(&servers(), LOAD_PORT);
        let c = Connector::load(lab, "lan", dests, spacing, other_cpus());
        (sink, c)
    });
    std::thread::sleep(Duration::from_secs(1)); // every uplink at its full probe rate
    let window = Duration::from_secs(3);
    let (ticks0, t0) = (cpu_ticks(pid), Instant::now());
    let (mut cpu, mut rss) = (Vec::new(), Vec::new());
    for _ in 0..windows {
        let (ns0, w0) = (cpu_ns(pid), Instant::now());
        std::thread::sleep(window);
        let used = (cpu_ns(pid) - ns0) as f64 / 1e9;
        cpu.push(100.0 * used / w0.elapsed().as_secs_f64());
        rss.push((status_kib(pid, "VmRSS"), status_kib(pid, "RssAnon")));
    }
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    let total = 100.0 * (cpu_ticks(pid) - ticks0) as f64 / hz / t0.elapsed().as_secs_f64();
    if let Some((_sink, c)) = connector {
        let (answered, unanswered, rate) = c.finish();
        note +=
            &format!(
            "; the LAN opened {rate:.0} connections/s ({answered} answered, {unanswered} not){}",
            if load.passive { ", passive on" } else { ", passive off" }
        );
    }
    let st = rail.status();
    for i in 1..=isps {
        let state = &st["interfaces"][format!("isp{i}")]["state"];
        assert_eq!(state, "up", "isp{i} stayed up while measured");
    }
    Cost {
        cpu,
        rss,
        total,
        note,
    }
}

// ---------------------------------------------------------------------------------------

fn trials() -> usize {
    std::env::var("BENCH_TRIALS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10)
        .max(1)
}

fn wanted(section: &str) -> bool {
    std::env::var("BENCH_ONLY").map_or(true, |v| v.split(',').any(|s| s.trim() == section))
}

fn out_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("target"),
        PathBuf::from,
    );
    target.join("bench")
}

/// `n` routes in main via the ISP 1 gateway: /32s, then /31s, /30s, ... in 198.19.0.0/16.
fn add_routes(lab: &Lab, n: usize) {
    let up = lab.uplink(1);
    let routes = (0..=16u32).rev().flat_map(|host_bits| {
        (0..1u32 << (16 - host_bits)).map(move |k| (k << host_bits, 32 - host_bits))
    });
    let batch: String = routes
        .take(n)
        .map(|(host, len)| {
            format!(
                "route add 198.19.{}.{}/{len} via {} dev {}\n",
                host >> 8,
                host & 255,
                up.gw,
                up.dev
            )
        })
        .collect();
    let path = std::env::temp_dir().join(format!("rail-bench-routes-{}", lab.name()));
    std::fs::write(&path, batch).unwrap();
    lab.run("rtr", &["ip", "-batch", path.to_str().unwrap()]);
    let _ = std::fs::remove_file(&path);
}

/// The service's UDP ports the flows section's connections go to: the first range through
/// rule `all` (ISP1 first), the second through rule `bulk2` (ISP2 only; `with_bulk_rules`).
const BULK_PORTS: [u16; 2] = [20_000, 30_000];
/// Ports in each range: each source port of the LAN host sends one datagram to each.
const BULK_SPAN: u16 = 1_000;

/// `config` with rule `bulk2` (before rule `all`) pinning UDP to the second range of
/// `BULK_PORTS` to ISP2 alone, so `fill_flows` puts half its flows on each uplink.
fn with_bulk_rules(config: &str) -> String {
    let (lo, hi) = (BULK_PORTS[1], BULK_PORTS[1] + BULK_SPAN - 1);
    let bulk = format!(
        "config policy 'second'\n\tlist use_member 'b2'\n\n\
config rule 'bulk2'\n\toption proto 'udp'\n\toption dest_port '{lo}-{hi}'\n\toption use_policy 'second'\n\n"
    );
    config.replace("config rule 'all'", &format!("{bulk}config rule 'all'"))
}

/// `n` tracked connections made by real packets through rail's marking and masquerade:
/// UDP datagrams from the LAN host to the service, one per (source port, destination
/// port), half to each range of `BULK_PORTS`. The source ports are fixed, so sending
/// again only refreshes what is tracked and re-creates what was deleted. Sent until the
/// router tracks `n` UDP flows (a burst can overflow veth's receive backlog); returns how
/// many it tracks.
fn fill_flows(lab: &Lab, n: usize) -> usize {
    let service = lab.service();
    let per_range = n.div_ceil(2 * usize::from(BULK_SPAN));
    let mut tracked = 0;
    for _ in 0..5 {
        lab.within("lan", move || {
            for (range, base) in BULK_PORTS.into_iter().enumerate() {
                for k in 0..per_range {
                    // Fixed per (range, k): a smaller series' flows are a subset.
                    let sport = 40_000 + (range * 1_000 + k) as u16;
                    let s = std::net::UdpSocket::bind(("0.0.0.0", sport)).expect("a bulk port");
                    for p in 0..BULK_SPAN {
                        let _ = s.send_to(b"x", (service, base + p));
                    }
                }
            }
        });
        tracked = udp_flows(lab, None);
        if tracked >= n {
            return tracked;
        }
    }
    panic!("only {tracked} of {n} UDP flows tracked in the router");
}

/// UDP flows the router tracks, only those with ct mark `mark` (rail's mask) if given.
fn udp_flows(lab: &Lab, mark: Option<&str>) -> usize {
    let filter = mark.map(|m| format!("{m}/{MARK_MASK}"));
    let mut cmd = vec!["conntrack", "-L", "-p", "udp"];
    if let Some(f) = &filter {
        cmd.extend(["-m", f]);
    }
    lab.run("rtr", &cmd).lines().count()
}

/// rail's default `mark_mask` (src/config/spec.rs), which the bench's configurations keep.
const MARK_MASK: &str = "0x3f000000";

#[test]
#[ignore = "benchmark: make bench"]
fn bench() {
    let trials = trials();
    let mut figures: Vec<Figure> = Vec::new();
    let mut fast_median = None;
    let mut default_median = None;
    let mut disrupted = Vec::new();
    let started = Instant::now();

    if [
        "fast", "fast6", "default", "passive", "carrier", "pppoe", "flows", "routes",
    ]
    .iter()
    .any(|s| wanted(s))
    {
        let lab = Lab::for_rail(2);
        for (section, ip) in [("fast", Ip::V4), ("fast6", Ip::V6)] {
            if !wanted(section) {
                continue;
            }
            if ip == Ip::V6 && !lab.has_ipv6() {
                eprintln!("== no IPv6 in this kernel: fast6 skipped");
                continue;
            }
            let (fast, broken) = fast_figures(&lab, ip, trials);
            disrupted.extend(broken);
            if ip == Ip::V4 {
                fast_median = Some(median(&fast[0].trials));
            }
            // Each family's failover figure beside the other's.
            let beside = figures
                .iter()
                .position(|f| f.name.starts_with("failover_blackhole_fast"))
                .map_or(figures.len(), |i| i + 1);
            let mut fast = fast.into_iter();
            figures.insert(beside, fast.next().unwrap());
            figures.extend(fast);
        }
        if wanted("default") {
            eprintln!("== default timings: blackhole ISP1, {trials} trials");
            let mut b = Bench::start(&lab, &two_uplinks(&lab, 1, DEFAULT));
            let s = b.series(trials, 1, Fault::Blackhole);
            let target = Target::MedianAtMost(3500.0);
            figures.push(Figure::ms(
                "failover_blackhole_default_ms",
                s.failover.clone(),
                target,
            ));
            default_median = Some(median(&s.failover));
            figures.push(Figure::ms("failback_default_ms", s.failback, Target::None));
            disrupted.extend(s.disrupted);
        }
        if wanted("passive") {
            disrupted.extend(busy_figures(&lab, trials, default_median, &mut figures));
        }
        // Link events, with rail's default timings so that probes cannot explain a fast
        // result; ISP 2 is the PPPoE-like one.
        for (section, name, isp, fault) in [
            ("carrier", "failover_carrier_ms", 1, Fault::Carrier),
            ("pppoe", "failover_pppoe_ms", 2, Fault::PppoeDrop),
        ] {
            if wanted(section) {
                eprintln!("== default timings: {fault:?} on ISP{isp}, {trials} trials");
                let mut b = Bench::start(&lab, &two_uplinks(&lab, isp, DEFAULT));
                let s = b.series(trials, isp, fault);
                figures.push(Figure::ms(name, s.failover, Target::MedianAtMost(100.0)));
                disrupted.extend(s.disrupted);
            }
        }
        if wanted("flows") {
            flows_figures(&lab, trials, fast_median, &mut figures, &mut disrupted);
        }
        // Last on this lab: its 100,000 routes stay.
        if wanted("routes") {
            eprintln!(
                "== fast profile with 100,000 routes in main: blackhole ISP1, {trials} trials"
            );
            let t = Instant::now();
            add_routes(&lab, 100_000);
            let count = lab
                .run("rtr", &["ip", "-4", "route", "show", "table", "main"])
                .lines()
                .count();
            eprintln!(
                "  {count} routes in main (added in {:.1} s)",
                t.elapsed().as_secs_f64()
            );
            assert!(count >= 100_000, "only {count} routes in main");
            let mut b = Bench::start(&lab, &two_uplinks(&lab, 1, FAST));
            let s = b.series(trials, 1, Fault::Blackhole);
            let target = fast_median.map_or(Target::None, |m| Target::MedianAtMost(1.1 * m));
            let mut f = Figure::ms("failover_100k_routes_ms", s.failover, target);
            f.note = format!("{count} routes in main");
            figures.push(f);
            disrupted.extend(s.disrupted);
        }
    }
    if wanted("flood") {
        flood_figures(&Lab::for_rail(2), trials, &mut figures);
    }
    if wanted("reload") {
        reload_figures(trials, &mut figures);
    }
    if wanted("passive") {
        false_downs_figure(trials, &mut figures);
        passive_cost_figures(trials, &mut figures);
    }
    if !disrupted.is_empty() {
        let mut f = Figure::new("disrupted_flows", "flows", disrupted, Target::AllZero);
        f.note = format!(
            "per failover trial: of {FLOWS} flows on the surviving uplink, those broken by the failover or the failback"
        );
        figures.push(f);
    }
    if wanted("cost") {
        cost_figures(&mut figures, (4, 4), "", trials, (0.25, 2560.0));
        cost_figures(&mut figures, (16, 8), "_16x8", trials, (1.0, 3071.0));
        let bin = common::rail::binary();
        let size = std::fs::metadata(bin).map_or(f64::NAN, |m| m.len() as f64);
        let mut f = Figure::new("binary_bytes", "bytes", vec![size], Target::None);
        f.note = format!("{bin} (release profile: opt-level z, LTO, stripped)");
        figures.push(f);
    }
    if wanted("history") {
        history_figures(&mut figures, 16, trials);
    }

    report(&figures, trials, started.elapsed());
}

/// The fast failover with 10,000, 50,000 and 100,000 UDP flows tracked, half of them on
/// the failing uplink (`fill_flows` before every fault), and how long rail takes to
/// delete the dead uplink's flows: from its `policy routes updated` line to its `deleted
/// its conntrack flows` line (the delete by mark runs between them, after the reroute).
fn flows_figures(
    lab: &Lab,
    trials: usize,
    fast_median: Option<f64>,
    figures: &mut Vec<Figure>,
    disrupted: &mut Vec<f64>,
) {
    // Unanswered UDP flows live 30 s by default; a series takes longer.
    let timeouts =
        ["udp_timeout", "udp_timeout_stream"].map(|t| format!("net.netfilter.nf_conntrack_{t}"));
    let before: Vec<String> = timeouts
        .iter()
        .map(|t| lab.run("rtr", &["sysctl", "-n", t]).trim().to_string())
        .collect();
    for t in &timeouts {
        lab.run("rtr", &["sysctl", "-qw", &format!("{t}=3600")]);
    }
    let config = with_bulk_rules(&two_uplinks(lab, 1, FAST));
    for n in [10_000, 50_000, 100_000] {
        let k = n / 1000;
        eprintln!(
            "== fast profile with {k}k UDP flows, half on ISP1: blackhole ISP1, {trials} trials"
        );
        let mut b = Bench::start(lab, &config);
        b.flows = n;
        let s = b.series(trials, 1, Fault::Blackhole);
        drop(b);
        let tracked = |i: usize| median(&s.tracked.iter().map(|t| t[i] as f64).collect::<Vec<_>>());
        let note = format!(
            "UDP flows from the LAN host through rail's marking and masquerade, median of \
             trials: {} tracked before the fault, {} of them on isp1's mark, {} left on it \
             after the failover",
            tracked(0),
            tracked(1),
            tracked(2)
        );
        let target = match fast_median {
            Some(m) if n == 100_000 => Target::MedianAtMost(1.1 * m),
            _ => Target::None,
        };
        let mut f = Figure::ms(&format!("failover_{k}k_flows_ms"), s.failover, target);
        f.note = note.clone();
        figures.push(f);
        // rail's verdict apart from the client's connections: says where a slow trial lost time.
        figures.push(Figure::ms(
            &format!("detect_{k}k_flows_ms"),
            s.detect,
            Target::None,
        ));
        let mut f = Figure::ms(&format!("flush_{k}k_flows_ms"), s.flushed, Target::None);
        f.note = format!(
            "rail's `policy routes updated` line to its `isp1: deleted its conntrack flows` \
             line (the ctnetlink delete by mark); {note}"
        );
        figures.push(f);
        disrupted.extend(s.disrupted);
    }
    lab.run("rtr", &["conntrack", "-F"]);
    for (t, v) in timeouts.iter().zip(before) {
        lab.run("rtr", &["sysctl", "-qw", &format!("{t}={v}")]);
    }
}

/// `uplinks` uplinks (the lab's first, rail's default timings), a policy per uplink (it
/// first, the next one as backup) and `rules` rules, each sending TCP to a port of its
/// own (`base` and up) through the policies in turn.
fn many_rules(lab: &Lab, uplinks: usize, rules: usize, base: usize) -> String {
    let mut c = "config globals 'globals'\n\toption log_level 'info'\n\n".to_string();
    for i in 1..=uplinks {
        c += &interface(lab, i, DEFAULT);
    }
    for i in 1..=uplinks {
        c += &format!("config member 'm{i}'\n\toption interface 'isp{i}'\n\n");
        c += &format!("config member 'b{i}'\n\toption interface 'isp{i}'\n\toption metric '2'\n\n");
    }
    for i in 1..=uplinks {
        let next = i % uplinks + 1;
        c += &format!(
            "config policy 'p{i}'\n\tlist use_member 'm{i}'\n\tlist use_member 'b{next}'\n\n"
        );
    }
    for r in 0..rules {
        c += &format!(
            "config rule 'r{r}'\n\toption proto 'tcp'\n\toption dest_port '{}'\n\toption use_policy 'p{}'\n\n",
            base + r,
            r % uplinks + 1
        );
    }
    c
}

/// `rail reload` (the control request the CLI sends) with 4 uplinks and 20 rules, then 16
/// and 200: every reload moves every rule to other ports, and the reply, which rail sends
/// once it has applied the new state, ends the time; the last rule's new port is then
/// checked in rail's nft table.
fn reload_figures(trials: usize, figures: &mut Vec<Figure>) {
    let lab = Lab::for_rail(16);
    let socket = PathBuf::from(common::rail::control_socket(&lab));
    for (uplinks, rules) in [(4, 20), (16, 200)] {
        eprintln!("== reload: {uplinks} uplinks, {rules} rules, {trials} trials");
        let rail = Rail::start(&lab, &many_rules(&lab, uplinks, rules, 10_000));
        rail.wait_probing(uplinks);
        let mut took = Vec::new();
        for n in 0..trials {
            let base = [20_000, 10_000][n % 2];
            rail.write_config(&many_rules(&lab, uplinks, rules, base));
            let t = Instant::now();
            let reply = rail::daemon::control::call(&socket, "reload", Value::Null)
                .unwrap_or_else(|e| panic!("reload: {e}; log:\n{}", rail.log_text()));
            took.push(t.elapsed().as_secs_f64() * 1000.0);
            assert_eq!(reply["changed"], true, "reload: {reply}");
            let table = lab.run("rtr", &["nft", "list", "table", "inet", "rail"]);
            let last = format!("dport {}", base + rules - 1);
            assert!(
                table.contains(&last),
                "no `{last}` in rail's table:\n{table}"
            );
        }
        let mut f = Figure::ms(&format!("reload_{uplinks}x{rules}_ms"), took, Target::None);
        f.note = format!(
            "{uplinks} uplinks, {uplinks} policies, {rules} rules; `reload` request to rail's \
             reply (sent once the new state is applied), every rule's port changed"
        );
        figures.push(f);
    }
}

/// Failover of the fast profile quiet, then while a local user floods the control socket
/// (`common::flood`: 2,000 connections renewed as fast as rail takes them and a status
/// loop, as uid nobody), with rail under the limits procd sets; rail's CPU and peak RSS
/// during the flood, and the descriptors it still holds after it (docs/security.md).
fn flood_figures(lab: &Lab, trials: usize, figures: &mut Vec<Figure>) {
    eprintln!("== fast profile, quiet then under a control-socket flood: blackhole ISP1, {trials} trials each");
    let mut b = Bench::start(lab, &two_uplinks(lab, 1, FAST));
    let quiet = b.series(trials, 1, Fault::Blackhole);
    let socket = PathBuf::from(common::rail::control_socket(lab));
    let (mut failover, mut detect) = (vec![], vec![]);
    let (mut cpu, mut rss, mut left) = (vec![], vec![], vec![]);
    while failover.len() < trials {
        // The daemon is restarted every TRIALS_PER_DAEMON trials, as in every series.
        b.restart();
        let pid = b.rail().pid();
        apply_shipped_limits(pid);
        let base = resting_fds(pid);
        let flood = Flood::start(socket.clone());
        std::thread::sleep(Duration::from_secs(1));
        let (ns0, t0) = (cpu_ns(pid), Instant::now());
        let n = (trials - failover.len()).min(TRIALS_PER_DAEMON);
        let s = b.series(n, 1, Fault::Blackhole);
        failover.extend(s.failover);
        detect.extend(s.detect);
        cpu.push(100.0 * (cpu_ns(pid) - ns0) as f64 / 1e9 / t0.elapsed().as_secs_f64());
        rss.push(status_kib(pid, "VmHWM"));
        flood.stop();
        b.rail().wait_for(
            "the flood's descriptors closed",
            Duration::from_secs(10),
            |_| fds(pid) <= base,
        );
        left.push(fds(pid).saturating_sub(base) as f64);
    }
    let note = format!(
        "{CONNECTIONS} connections renewed as fast as rail takes them and a status loop, as uid {NOBODY}"
    );
    let mut f = Figure::ms(
        "failover_flood_ms",
        failover,
        Target::MedianAtMost(1.1 * median(&quiet.failover)),
    );
    f.note = format!("{note}; target: within 10% of the quiet median of the same run");
    figures.push(Figure::ms(
        "failover_flood_quiet_ms",
        quiet.failover,
        Target::None,
    ));
    figures.push(f);
    // rail's own verdict (its log line), apart from the LAN client's connections.
    figures.push(Figure::ms(
        "detect_flood_quiet_ms",
        quiet.detect,
        Target::None,
    ));
    figures.push(Figure::ms("detect_flood_ms", detect, Target::None));
    let mut f = Figure::new("flood_cpu_percent", "%", cpu, Target::None);
    f.note =
        format!("rail's CPU during the flood, per daemon ({TRIALS_PER_DAEMON} failovers each)");
    figures.push(f);
    figures.push(Figure::new("flood_peak_rss_kib", "KiB", rss, Target::None));
    figures.push(Figure::new(
        "flood_fds_left",
        "descriptors",
        left,
        Target::AllZero,
    ));
}

/// The fast profile's figures for family `ip` (the failover figure first), and the
/// disrupted flows of each trial: `Ip::V4` blackholes all of ISP1, `Ip::V6` only its IPv6
/// on dual-stack uplinks whose IPv4 stays up.
fn fast_figures(lab: &Lab, ip: Ip, trials: usize) -> (Vec<Figure>, Vec<f64>) {
    eprintln!("== fast profile (interval 0.2 s, down 3): {ip:?} blackhole ISP1, {trials} trials");
    if ip == Ip::V6 {
        ipv6_defaults(lab);
    }
    let config = two_uplinks_of(lab, 1, FAST, ip);
    let mut b = Bench::start_for(lab, &config, ip);
    let s = b.series(trials, 1, ip.blackhole());
    drop(b);
    // The budget of the family's own tracker: rail judges each family by its own targets.
    let mut isp1 = interface_of(&config, "isp1");
    isp1.track_ip.retain(|t| t.is_ipv6() == (ip == Ip::V6));
    let budget = Budget::of(&isp1);
    let (min, mean, max) = budget.summary();
    let mut figures = vec![Figure::ms(
        &ip.figure("failover_blackhole_fast_ms"),
        s.failover.clone(),
        Target::MedianAtMost(800.0),
    )];
    // Each trial against the state machine's verdict for the probes its fault took.
    let budget_down: Vec<Option<SystemTime>> =
        s.first_lost.iter().map(|l| budget.down_at((*l)?)).collect();
    let after_budget = |at: &[Option<SystemTime>]| -> Vec<f64> {
        at.iter()
            .zip(&budget_down)
            .filter_map(|(a, b)| Some(ms_between((*b)?, (*a)?)))
            .collect()
    };
    let failover_at: Vec<Option<SystemTime>> = s.failover_at.iter().copied().map(Some).collect();
    let mut o = Figure::ms(
        &ip.figure("overhead_ms"),
        after_budget(&failover_at),
        Target::P95AtMost(50.0),
    );
    o.note = format!(
        "per trial, from the state machine's `down` for the probes the fault took (the \
         first lost probe, seen by a packet tap on isp1, plus the simulated time from it \
         to `down`) to the first new connection through isp2; the configured detection \
         is {min:.1}..{max:.1} ms from the fault depending on its phase, mean {mean:.1}; \
         {} of {} trials had a lost probe on the tap",
        budget_down.iter().flatten().count(),
        budget_down.len()
    );
    figures.push(o);
    let mut late = Figure::ms(
        &ip.figure("detect_late_fast_ms"),
        after_budget(&s.verdict_at),
        Target::None,
    );
    late.note = "per trial, rail's `down` log line minus the state machine's `down` for the \
                 same lost probes: how late rail's timers ran (the line is read every 2 ms)"
        .to_string();
    figures.push(late);
    figures.push(Figure::ms(
        &ip.figure("failback_ms"),
        s.failback,
        Target::None,
    ));
    let mut d = Figure::ms(
        &ip.figure("detect_fast_ms"),
        s.detect.clone(),
        Target::AllAtMost(700.0),
    );
    d.note = format!(
        "issue 4: down within 0.7 s of the fault, by rail's `{}` log line \
         (stamped when it appears, at most ~2 ms late)",
        ip.verdict("isp1", "down")
    );
    figures.push(d);
    figures.push(Figure::ms(
        &ip.figure("route_fast_ms"),
        s.routed,
        Target::None,
    ));
    figures.push(Figure::ms(
        &ip.figure("reaction_fast_ms"),
        s.failover
            .iter()
            .zip(&s.detect)
            .map(|(f, d)| f - d)
            .collect(),
        Target::None,
    ));
    (figures, s.disrupted)
}

/// netifd installs an IPv6 default route per WAN (from the router advertisement); rail
/// learns each uplink's IPv6 next hop from it, as in tests/daemon_ipv6.rs.
fn ipv6_defaults(lab: &Lab) {
    for isp in 1..=lab.isps() {
        let u = lab.uplink(isp);
        let gw = u.gw6.expect("IPv6 lab").to_string();
        let metric = (1000 + isp).to_string();
        let route = ["ip", "-6", "route", "replace", "default", "via", &gw];
        let rest = ["dev", &u.dev, "metric", &metric];
        lab.run("rtr", &[&route[..], &rest[..]].concat());
    }
}

/// Section passive, on the failover lab: rail's default timings with passive detection on,
/// the LAN client opening a new connection every 20 ms to the Internet's servers in turn
/// (distinct destinations, as a busy LAN's), ISP1 silently blackholed. Returns the trials'
/// disrupted flows.
fn busy_figures(
    lab: &Lab,
    trials: usize,
    default_median: Option<f64>,
    figures: &mut Vec<Figure>,
) -> Vec<f64> {
    eprintln!("== default timings, passive on, a busy LAN: blackhole ISP1, {trials} trials");
    prepare(lab);
    let services: Vec<IpAddr> = servers().into_iter().map(IpAddr::V4).collect();
    let config = two_uplinks(lab, 1, PASSIVE);
    let mut b = Bench::start_to(lab, &config, Ip::V4, &services);
    let s = b.series(trials, 1, Fault::Blackhole);
    let mut f = Figure::ms(
        "failover_blackhole_default_busy_ms",
        s.failover,
        Target::MedianAtMost(1000.0),
    );
    let today = default_median.map_or("section default not run".to_string(), |m| {
        format!("failover_blackhole_default_ms (passive off) of the same run: {m:.1} ms median")
    });
    f.note = format!(
        "the LAN opens {:.0} connections/s to {} servers in turn; {today}",
        1.0 / CLIENT_SPACING.as_secs_f64(),
        servers().len()
    );
    figures.push(f);
    let mut d = Figure::ms("detect_default_busy_ms", s.detect, Target::None);
    d.note = "the fault to rail's `isp1 down:` line".to_string();
    figures.push(d);
    s.disrupted
}

/// `false_downs_passive`: the downs of a healthy uplink while the LAN plays each scenario
/// of tests/passive_lab.rs (`Scenario::ALL`), once per 5 trials, one value per scenario
/// run.
fn false_downs_figure(trials: usize, figures: &mut Vec<Figure>) {
    let rounds = trials.div_ceil(5);
    eprintln!("== passive on, a healthy uplink: {rounds} round(s) of every scenario");
    let mut downs = Vec::new();
    let mut seen = Vec::new();
    for _ in 0..rounds {
        for scenario in Scenario::ALL {
            let o = scenario.run();
            eprintln!(
                "  {scenario:?}: {} downs, {} suspicions, {} cleared",
                o.downs.len(),
                o.suspicions,
                o.cleared
            );
            downs.push(o.downs.len() as f64);
            seen.push(format!(
                "{scenario:?} {} down(s), {} suspicion(s), {} cleared, LAN {}/{} answered",
                o.downs.len(),
                o.suspicions,
                o.cleared,
                o.answered,
                o.answered + o.unanswered
            ));
        }
    }
    let mut f = Figure::new("false_downs_passive", "downs", downs, Target::AllZero);
    f.note = format!("default timings, passive on: {}", seen.join("; "));
    figures.push(f);
}

/// New LAN connections per second in `cpu_percent_passive` and its comparison.
const LOAD_PER_S: u32 = 200;

/// `cpu_percent_passive` beside `cpu_percent_load` (the same 4 x 4 x 5/s and 200 new LAN
/// connections a second, passive off), measured one after the other in this run.
fn passive_cost_figures(windows: usize, figures: &mut Vec<Figure>) {
    let mut median_off = None;
    for (passive, name) in [(false, "cpu_percent_load"), (true, "cpu_percent_passive")] {
        eprintln!(
            "== cost: 4 x 4 x 5 probes/s and {LOAD_PER_S} new LAN connections/s, passive {}, {windows} windows of 3 s",
            if passive { "on" } else { "off" }
        );
        let load = Load {
            passive,
            connections_per_s: LOAD_PER_S,
        };
        let Cost {
            cpu, total, note, ..
        } = cost(&Lab::for_rail(4), 4, windows, load);
        let target = match median_off {
            Some(m) => Target::MedianAtMost(m + 0.3),
            None => Target::None,
        };
        median_off.get_or_insert(median(&cpu));
        let mut c = Figure::new(name, CPU_UNIT, cpu, target);
        c.note = format!(
            "{}; per 3 s window from schedstat; utime+stime over all windows: {total:.2}%; {note}",
            cost_binary()
        );
        figures.push(c);
    }
}

/// `cpu_percent{suffix}` and `rss_kib{suffix}` of the daemon probing `shape` = (uplinks,
/// targets each) 5 times a second, against `limits` = (CPU percent, KiB); then, in the same
/// lab, `cpu_percent_idle_grid{suffix}`: the daemon on the same uplinks with nothing due
/// (no targets), and `cpu_us_per_probe{suffix}`: per probing window, its CPU above that
/// idle median, per probe sent.
fn cost_figures(
    figures: &mut Vec<Figure>,
    shape: (usize, usize),
    suffix: &str,
    windows: usize,
    limits: (f64, f64),
) {
    let (isps, targets) = shape;
    let lab = Lab::for_rail(isps);
    eprintln!("== cost: {isps} uplinks x {targets} targets x 5 probes/s, {windows} windows of 3 s");
    let probing = cost(&lab, targets, windows, Load::default());
    eprintln!("== cost: {isps} uplinks, nothing due, {windows} windows of 3 s");
    let idle = cost(&lab, 0, windows, Load::default());
    let name = format!("cpu_percent{suffix}");
    let mut c = Figure::new(
        &name,
        CPU_UNIT,
        probing.cpu.clone(),
        Target::MedianAtMost(limits.0),
    );
    c.note = format!(
        "{}; per 3 s window from schedstat; /proc/PID/stat utime+stime over all windows: \
         {:.2}%; {}",
        cost_binary(),
        probing.total,
        probing.note
    );
    figures.push(c);
    let name = format!("rss_kib{suffix}");
    let vm = probing.rss.iter().map(|r| r.0).collect();
    figures.push(Figure::new(
        &name,
        "KiB",
        vm,
        Target::MedianAtMost(limits.1),
    ));
    let name = format!("rss_anon_kib{suffix}");
    let anon = probing.rss.iter().map(|r| r.1).collect();
    figures.push(Figure::new(&name, "KiB", anon, Target::None));
    let name = format!("cpu_percent_idle_grid{suffix}");
    let mut c = Figure::new(&name, CPU_UNIT, idle.cpu.clone(), Target::None);
    c.note = format!(
        "{isps} uplinks up without targets (judged by carrier: the engine has nothing due); \
         /proc/PID/stat: {:.2}%",
        idle.total
    );
    figures.push(c);
    let rate = (isps * targets * 5) as f64;
    let fixed = median(&idle.cpu);
    // 1% of one core is 10,000 us of CPU a second.
    let per_probe = probing
        .cpu
        .iter()
        .map(|c| (c - fixed) * 1e4 / rate)
        .collect();
    let name = format!("cpu_us_per_probe{suffix}");
    let mut c = Figure::new(&name, "us of CPU", per_probe, Target::None);
    c.note = format!(
        "per probing window: (cpu_percent{suffix} - median cpu_percent_idle_grid{suffix}) \
         over {rate} probes/s"
    );
    figures.push(c);
}

fn report(figures: &[Figure], trials: usize, took: Duration) {
    println!();
    println!(
        "{:<31} {:>10} {:>10}  {:<14} {:<20} met",
        "figure", "median", "p95", "unit", "target"
    );
    for f in figures {
        let met = match f.met() {
            Some(true) => "yes",
            Some(false) => "NO",
            None => "",
        };
        let d = f.decimals() as usize;
        println!(
            "{:<31} {:>10.d$} {:>10.d$}  {:<14} {:<20} {met}",
            f.name,
            median(&f.trials),
            p95(&f.trials),
            f.unit,
            f.target_text()
        );
    }
    for f in figures.iter().filter(|f| !f.note.is_empty()) {
        println!("  {}: {}", f.name, f.note);
    }
    let mut all = Map::new();
    for f in figures {
        all.insert(f.name.clone(), f.json());
    }
    let dir = out_dir();
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("results.json");
    std::fs::write(
        &path,
        serde_json::to_string_pretty(&Value::Object(all)).unwrap(),
    )
    .unwrap();
    println!(
        "\n{trials} trial(s) per figure, {:.0} s in all; written to {}",
        took.as_secs_f64(),
        path.display()
    );
}

// ---------------------------------------------------------------------------------------
// History: 24 hours of 16 uplinks, read back by the daemon, asked for over ubus

/// 24 hours of history for uplinks isp1..isp`isps` on a simulated clock ending at `now`,
/// recorded by the daemon's own recorder: a round of 8 probes a second, the RTT drifting
/// over the day, one probe in 97 lost, and a 2-minute outage every 6 hours (staggered per
/// uplink). Written where the daemon reads it back at start, as after a restart.
fn fill_history(path: &Path, isps: usize, now: u64) -> usize {
    use rail::history::{store, History, Totals};
    let day = 86_400;
    let start = now - day;
    let wanted: Vec<(String, &'static str)> =
        (1..=isps).map(|i| (format!("isp{i}"), "ipv4")).collect();
    let mut h = History::default();
    h.track(&wanted, start);
    for (i, (name, family)) in wanted.iter().enumerate() {
        let s = h.series_mut(name, family).expect("tracked");
        s.set_state(start, State::Up);
        let mut totals = Totals::default();
        for sec in 1..=day {
            let at = start + sec;
            let phase = (sec + i as u64 * 1000) % 21_600;
            match phase {
                0 => s.set_state(at, State::Down),
                120 => s.set_state(at, State::Up),
                _ => {}
            }
            for k in 0..8 {
                if phase < 120 || (sec * 8 + k) % 97 == 0 {
                    totals.lost();
                } else {
                    totals.reply(10_000 + (sec / 60 + k * 13 + i as u64 * 7) % 40 * 500);
                }
            }
            s.round(at, totals);
        }
    }
    let bytes = store::encode(h.iter());
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).expect("making the run directory");
    }
    std::fs::write(path, &bytes).expect("writing the history file");
    bytes.len()
}

/// `ubus call rail history '{"span":"24h"}'`: OpenWrt's ubusd and CLI when RAIL_UBUSD and
/// RAIL_UBUS name them (each call a `ubus` process, as a script or rpcd pays), else the
/// project's broker and rail's client. Returns the reply and what carried it.
struct UbusPath {
    socket: PathBuf,
    real: Option<(std::process::Child, PathBuf)>,
    broker: Option<broker::Broker>,
}

impl UbusPath {
    fn start(dir: &Path) -> UbusPath {
        let socket = dir.join("ubus.sock");
        let _ = std::fs::remove_file(&socket);
        match (
            std::env::var_os("RAIL_UBUSD"),
            std::env::var_os("RAIL_UBUS"),
        ) {
            (Some(ubusd), Some(ubus)) => {
                let child = std::process::Command::new(ubusd)
                    .arg("-s")
                    .arg(&socket)
                    .spawn()
                    .expect("starting ubusd");
                let t = Instant::now();
                while !socket.exists() && t.elapsed() < Duration::from_secs(5) {
                    std::thread::sleep(Duration::from_millis(10));
                }
                UbusPath {
                    socket,
                    real: Some((child, ubus.into())),
                    broker: None,
                }
            }
            _ => {
                let b = broker::Broker::start(&socket);
                UbusPath {
                    socket,
                    real: None,
                    broker: Some(b),
                }
            }
        }
    }

    /// Until rail has published its object.
    fn wait_for_rail(&self) {
        let t = Instant::now();
        while t.elapsed() < Duration::from_secs(10) {
            let there = match (&self.real, &self.broker) {
                (Some((_, ubus)), _) => std::process::Command::new(ubus)
                    .arg("-s")
                    .arg(&self.socket)
                    .args(["list", "rail"])
                    .output()
                    .is_ok_and(|o| o.status.success()),
                (None, Some(b)) => b.object("rail").is_some(),
                (None, None) => false,
            };
            if there {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("rail did not publish its ubus object");
    }

    fn what(&self) -> &'static str {
        if self.real.is_some() {
            "OpenWrt's ubusd and `ubus call` (a process per call)"
        } else {
            "the project's broker (tests/ubus_broker) and rail's ubus client"
        }
    }

    /// One call, timed: the reply's JSON and the seconds it took.
    fn call(&self, method: &str, args: &Value) -> (Value, f64) {
        let t = Instant::now();
        let reply = match &self.real {
            Some((_, ubus)) => {
                let out = std::process::Command::new(ubus)
                    .arg("-s")
                    .arg(&self.socket)
                    .args(["-t", "10", "call", "rail", method, &args.to_string()])
                    .output()
                    .expect("running ubus");
                assert!(out.status.success(), "ubus call rail {method}: {out:?}");
                serde_json::from_slice(&out.stdout).expect("ubus prints JSON")
            }
            None => {
                use rail::openwrt::client::{Client, Config};
                let client = Client::new(Config {
                    sockets: vec![self.socket.clone()],
                    ..Config::default()
                });
                let ex = smol::LocalExecutor::new();
                let runner = client.clone();
                ex.spawn(async move { runner.run().await }).detach();
                smol::block_on(ex.run(async {
                    while !client.is_connected() {
                        async_io::Timer::after(Duration::from_millis(1)).await;
                    }
                    client.call("rail", method, args).await
                }))
                .unwrap_or_else(|e| panic!("rail {method} over the broker: {e:?}"))
                .expect("a reply")
            }
        };
        (reply, t.elapsed().as_secs_f64())
    }
}

impl UbusPath {
    /// OpenWrt's ubusd off CPU 0 (the broker's threads run in the bench's process).
    fn keep_off_cpu0(&self) {
        if let Some((child, _)) = &self.real {
            keep_off_cpu0(child.id());
        }
    }
}

/// Process (or thread) `pid`, 0 for the calling thread, and what it starts after, on every
/// CPU but 0.
fn keep_off_cpu0(pid: u32) {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    if cpus < 2 {
        return;
    }
    // SAFETY: a zeroed cpu_set_t is a valid empty set; the calls get its true size.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        for cpu in 1..cpus {
            libc::CPU_SET(cpu, &mut set);
        }
        let size = std::mem::size_of::<libc::cpu_set_t>();
        libc::sched_setaffinity(pid as libc::pid_t, size, &set);
    }
}

impl Drop for UbusPath {
    fn drop(&mut self) {
        if let Some((child, _)) = &mut self.real {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The gaps between successive requests to each target the tap saw from `from` to `to`.
fn probe_gaps_ms(tap: &ProbeTap, from: SystemTime, to: SystemTime) -> Vec<f64> {
    let seen = tap.seen.items();
    let mut last: std::collections::HashMap<IpAddr, SystemTime> = Default::default();
    let mut gaps = Vec::new();
    for e in seen
        .iter()
        .filter(|e| e.request && e.at >= from && e.at < to)
    {
        if let Some(prev) = last.insert(e.far, e.at) {
            gaps.push(ms_between(prev, e.at));
        }
    }
    gaps
}

fn history_figures(figures: &mut Vec<Figure>, isps: usize, trials: usize) {
    eprintln!("== history: {isps} uplinks x 8 targets with 24 h of history read back at start");
    let lab = Lab::for_rail(isps);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("a clock after 1970")
        .as_secs();
    let file = common::rail::history_file(&lab);
    let t = Instant::now();
    let file_bytes = fill_history(&file, isps, now);
    eprintln!(
        "  filled in {:.1} s: {file_bytes} bytes in {}",
        t.elapsed().as_secs_f64(),
        file.display()
    );
    let dir = std::env::temp_dir().join(format!("rail-bench-history-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bus = UbusPath::start(&dir);
    let socket = bus.socket.to_str().unwrap().to_string();
    let rail = Rail::start_bin(
        &lab,
        &cost_binary(),
        &all_uplinks(&lab, 8, ""),
        &["-s", &socket],
    );
    rail.wait_probing(isps);
    assert!(
        rail.log_text()
            .contains(&format!("history: read {isps} series")),
        "{}",
        rail.log_text()
    );
    let pid = rail.pid();
    let rss = (status_kib(pid, "VmRSS"), status_kib(pid, "RssAnon"));

    // What `rail history --json` prints over the control socket.
    let t = Instant::now();
    let out = rail.cli(&["history", "--span", "24h", "--json"]);
    let cli_ms = t.elapsed().as_secs_f64() * 1000.0;
    assert!(out.status.success(), "{out:?}");
    let doc: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let samples = doc["interfaces"]["isp1"]["ipv4"]["rtt_us"]
        .as_array()
        .map_or(0, Vec::len);
    assert!(samples >= 1439, "24 h of minutes read back: {samples}");
    let mut f = Figure::new(
        "history_json_bytes_24h_16",
        "bytes",
        vec![out.stdout.len() as f64],
        Target::None,
    );
    f.note = format!(
        "`rail history --span 24h --json` at {isps} uplinks, {samples} samples each, \
         {cli_ms:.0} ms over the control socket (with `ip netns exec`); history file \
         {file_bytes} bytes"
    );
    figures.push(f);

    bus.wait_for_rail();
    let args = json!({"span": "24h"});
    let mut took = Vec::new();
    let mut status_took = Vec::new();
    for _ in 0..trials.max(3) {
        let (reply, secs) = bus.call("history", &args);
        assert_eq!(reply["interfaces"].as_object().map_or(0, Map::len), isps);
        took.push(secs * 1000.0);
        status_took.push(bus.call("status", &json!({})).1 * 1000.0);
    }
    let mut f = Figure::ms("ubus_history_24h_16_ms", took, Target::None);
    f.note = format!(
        "{}; `ubus call rail status` the same way: median {:.1} ms",
        bus.what(),
        median(&status_took)
    );
    figures.push(f);

    // Probes on time while a client asks for 24 h of history in a loop: the gaps between
    // successive probes to each of isp1's targets, quiet and then under the loop.
    // rail on CPU 0, the client and the bus on the others: what shows is rail's own work.
    let isolated = isolate(&lab, pid);
    bus.keep_off_cpu0();
    let tap = ProbeTap::start(&lab, &lab.uplink(1).dev);
    let window = Duration::from_secs(10);
    let (t0, ns0) = (SystemTime::now(), cpu_ns(pid));
    std::thread::sleep(window);
    let (t1, ns1) = (SystemTime::now(), cpu_ns(pid));
    let calls = std::thread::scope(|scope| {
        let looping = scope.spawn(|| {
            keep_off_cpu0(0);
            let mut n = 0;
            while SystemTime::now() < t1 + window {
                bus.call("history", &args);
                n += 1;
            }
            n
        });
        looping.join().expect("the history loop")
    });
    let (t2, ns2) = (SystemTime::now(), cpu_ns(pid));
    // Net of its probing: the CPU it took per second when quiet.
    let secs = |from: SystemTime, to: SystemTime| ms_between(from, to) / 1000.0;
    let quiet_rate = (ns1 - ns0) as f64 / secs(t0, t1);
    let busy_secs = secs(t1, t2);
    let net_ns = (ns2 - ns1) as f64 - quiet_rate * busy_secs;
    let mut f = Figure::new(
        "ubus_history_24h_16_rail_cpu_ms",
        "ms",
        vec![net_ns / 1e6 / f64::from(calls.max(1))],
        Target::None,
    );
    f.note = format!(
        "rail's CPU time per 24 h history call over ubus, net of its probing ({calls} calls \
         in a loop; rail {:.1}% of a core quiet, {:.1}% during the loop); {isolated}",
        quiet_rate / 1e7,
        (ns2 - ns1) as f64 / busy_secs / 1e7
    );
    figures.push(f);
    let quiet = probe_gaps_ms(&tap, t0, t1);
    let busy = probe_gaps_ms(&tap, t1, t2);
    drop(tap);
    let longest = |v: &[f64]| v.iter().copied().fold(f64::NAN, f64::max);
    let mut f = Figure::ms("probe_gap_quiet_ms", quiet.clone(), Target::None);
    f.note = format!(
        "gaps between successive probes to each of isp1's 8 targets (interval 200 ms), \
         from a packet tap on the router, over {} s; longest {:.1} ms",
        window.as_secs(),
        longest(&quiet)
    );
    figures.push(f);
    let mut f = Figure::ms("probe_gap_history_loop_ms", busy.clone(), Target::None);
    f.note = format!(
        "the same while a client asked for 24 h of history in a loop: {calls} calls in {} s; \
         longest {:.1} ms",
        window.as_secs(),
        longest(&busy)
    );
    figures.push(f);
    let after = (status_kib(pid, "VmRSS"), status_kib(pid, "RssAnon"));
    let mut f = Figure::new(
        "rss_kib_16x8_full_history",
        "KiB",
        vec![rss.0],
        Target::None,
    );
    f.note = format!(
        "{}: 24 h of history for every uplink, read back at start; RssAnon {} KiB; after \
         the calls above VmRSS {} KiB, RssAnon {} KiB",
        cost_binary(),
        rss.1,
        after.0,
        after.1
    );
    figures.push(f);
    drop(rail);
    let _ = std::fs::remove_dir_all(&dir);
}
