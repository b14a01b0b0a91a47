//! The network lab (tests/lab/lab.sh) driven from Rust integration tests.
//!
//! `Lab::up` builds a lab under a name unique to this process and call, and dropping the
//! `Lab` tears it down again, also when the test panics. Addresses and device names come
//! from `lab.sh info`, the one place that defines them (see docs/lab.md).
//!
//! ```ignore
//! let lab = Lab::up(3); // with #[cfg_attr(not(lab_root), ignore = ..)]
//! lab.route_default_via(1);
//! assert_eq!(lab.fetch_source("lan"), lab.uplink(1).addr.to_string());
//! lab.fault(1, Fault::Blackhole);
//! ```

use std::collections::{BTreeMap, HashMap};
use std::fmt::Display;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream};
use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// What `lab.sh up` builds besides the defaults.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    /// Number of ISPs, 1..=16. ISP 2 is the PPPoE-like one (others: `Lab::up_with_ppp`).
    pub isps: usize,
    /// Masquerade everything leaving the router towards an ISP (a table of the lab's own).
    pub masq: bool,
}

/// One fault, as `lab.sh fault` takes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// The ISP's end of the link goes down; the router's end shows NO-CARRIER.
    Carrier,
    /// The ISP answers ping and ARP itself but forwards nothing.
    Blackhole,
    /// As `Blackhole`, for IPv4 only (IPv6 still passes).
    BlackholeIpv4,
    /// As `Blackhole`, for IPv6 only.
    BlackholeIpv6,
    /// Random loss at the ISP, both directions: a request/reply exchange through it fails
    /// with this probability in percent.
    Loss(u8),
    /// The PPPoE-like device is deleted.
    PppoeDrop,
    /// The PPPoE-like device is (re)created with a new ifindex and the same addresses.
    PppoeUp,
    /// As `PppoeUp`, with a new local address and peer.
    PppoeUpNew,
    /// A DHCP renew on an Ethernet-like ISP: new address and gateway, same device and
    /// ifindex. Not undone by `clear`.
    Renew,
}

impl Fault {
    fn args(self) -> (&'static str, Option<String>) {
        match self {
            Fault::Carrier => ("carrier", None),
            Fault::Blackhole => ("blackhole", None),
            Fault::BlackholeIpv4 => ("blackhole", Some("ipv4".into())),
            Fault::BlackholeIpv6 => ("blackhole", Some("ipv6".into())),
            Fault::Loss(pct) => ("loss", Some(pct.to_string())),
            Fault::PppoeDrop => ("pppoe-drop", None),
            Fault::PppoeUp => ("pppoe-up", None),
            Fault::PppoeUpNew => ("pppoe-up", Some("new".into())),
            Fault::Renew => ("renew", None),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UplinkKind {
    Ethernet,
    /// Point-to-point: /32 local address with a peer, no ARP.
    Ppp,
}

/// The router's side of one ISP link, as it is right now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Uplink {
    pub isp: usize,
    pub kind: UplinkKind,
    /// The ISP's namespace.
    pub ns: String,
    /// The device in the router namespace.
    pub dev: String,
    /// The router's address on it.
    pub addr: Ipv4Addr,
    pub prefix: u8,
    /// The ISP's address: the gateway (Ethernet) or the peer (PPP).
    pub gw: Ipv4Addr,
    /// The router's IPv6 address on it (a /64) and the ISP's, when the lab has IPv6.
    pub addr6: Option<Ipv6Addr>,
    pub gw6: Option<Ipv6Addr>,
}

/// Sent and received counts of one `ping` run.
#[derive(Clone, Copy, Debug)]
pub struct PingStats {
    pub sent: u32,
    pub received: u32,
}

impl PingStats {
    pub fn loss_percent(&self) -> f64 {
        100.0 * f64::from(self.sent - self.received) / f64::from(self.sent.max(1))
    }
}

pub struct Lab {
    name: String,
    info: Info,
}

/// `lab.sh info` output: one `key=value` a line.
struct Info(HashMap<String, String>);

impl Info {
    fn parse(text: &str) -> Info {
        Info(
            text.lines()
                .filter_map(|l| l.split_once('='))
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    fn get(&self, key: &str) -> &str {
        self.0
            .get(key)
            .unwrap_or_else(|| panic!("lab.sh info has no '{key}'"))
    }

    fn parsed<T: std::str::FromStr>(&self, key: &str) -> T {
        let v = self.get(key);
        v.parse()
            .unwrap_or_else(|_| panic!("lab.sh info: '{key}' has a bad value '{v}'"))
    }

    fn optional<T: std::str::FromStr>(&self, key: &str) -> Option<T> {
        self.0.get(key).map(|_| self.parsed(key))
    }

    fn list<T: std::str::FromStr>(&self, key: &str) -> Vec<T> {
        self.0.get(key).map_or(Vec::new(), |v| {
            v.split_whitespace()
                .map(|t| {
                    t.parse()
                        .unwrap_or_else(|_| panic!("lab.sh info: '{key}' has a bad item '{t}'"))
                })
                .collect()
        })
    }
}

/// Panics unless this process may create network namespaces. A lab test built by someone
/// other than root is ignored (`cfg(lab_root)`, build.rs) and never gets here; one built by
/// root and run by someone else fails here, saying so, rather than passing unrun.
pub fn require_root() {
    // SAFETY: geteuid has no preconditions and cannot fail.
    if unsafe { libc::geteuid() } == 0 {
        return;
    }
    let test = std::thread::current()
        .name()
        .unwrap_or("this test")
        .to_string();
    panic!("{test}: the network lab needs root (network namespaces, veth, nft). A lab test carries #[cfg_attr(not(lab_root), ignore = \"needs root: the network lab\")] and is then reported as ignored when built by another user than root");
}

/// The lab script, for tests that need to call it with arguments of their own.
pub fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/lab/lab.sh")
}

/// The Internet service and its client (`whoami.py serve` / `whoami.py tally`), for tests
/// that run a service of their own, e.g. on the LAN host for inbound connections.
pub fn whoami() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/lab/whoami.py")
}

fn checked(what: &str, out: Output) -> Output {
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Removes labs left behind by test processes that were killed before their `Drop` ran
/// (names `r<pid>x<n>` whose pid no longer exists).
fn sweep_dead_labs() {
    let out = lab_sh(&["list"]);
    for name in String::from_utf8_lossy(&out.stdout).lines() {
        let pid = name
            .strip_prefix('r')
            .and_then(|rest| rest.split_once('x'))
            .and_then(|(pid, n)| n.parse::<u32>().ok().and(pid.parse::<u32>().ok()));
        if let Some(pid) = pid {
            if !std::path::Path::new(&format!("/proc/{pid}")).exists() {
                eprintln!("removing lab {name} left behind by process {pid}");
                lab_sh(&["down", name]);
            }
        }
    }
}

/// The `applied=<unix seconds with fraction>` line that `lab.sh fault` and `clear` print.
fn applied(out: Output) -> SystemTime {
    let text = String::from_utf8_lossy(&out.stdout);
    let secs: f64 = text
        .lines()
        .find_map(|l| l.strip_prefix("applied="))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("lab.sh printed no applied= time: {text:?}"));
    UNIX_EPOCH + Duration::from_secs_f64(secs)
}

fn lab_sh(args: &[&str]) -> Output {
    Command::new(script())
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", script().display()))
}

impl Lab {
    /// A lab with `isps` ISPs and the lab's own masquerade on the router (not root: a panic
    /// saying so, `require_root`).
    pub fn up(isps: usize) -> Lab {
        Lab::up_with(Options { isps, masq: true })
    }

    /// ISP 2 is PPPoE-like when there are two or more.
    /// A lab for a rail under test: without the lab's own masquerade, so rail's
    /// `masquerade` option is what makes the LAN's traffic come back.
    pub fn for_rail(isps: usize) -> Lab {
        Lab::up_with(Options { isps, masq: false })
    }

    pub fn up_with(opts: Options) -> Lab {
        let ppp: &[usize] = if opts.isps >= 2 { &[2] } else { &[] };
        Lab::up_with_ppp(opts, ppp)
    }

    /// A lab whose PPPoE-like ISPs are `ppp` (the others Ethernet-like), e.g. `&[1, 2]`
    /// for the Intelligent Linux Gateway's two DSL lines.
    pub fn up_with_ppp(opts: Options, ppp: &[usize]) -> Lab {
        require_root();
        static SWEEP: std::sync::Once = std::sync::Once::new();
        SWEEP.call_once(sweep_dead_labs);
        let name = format!(
            "r{}x{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let isps = opts.isps.to_string();
        let ppp = if ppp.is_empty() {
            "none".to_string()
        } else {
            ppp.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(",")
        };
        let mut args = vec!["up", &name, "--isps", &isps, "--ppp", &ppp];
        if opts.masq {
            args.push("--masq");
        }
        checked(&format!("lab.sh up {name}"), lab_sh(&args));
        // From here on Drop removes the lab, whatever happens next.
        let mut lab = Lab {
            name,
            info: Info(HashMap::new()),
        };
        lab.info = lab.read_info();
        lab
    }

    fn read_info(&self) -> Info {
        let out = checked("lab.sh info", lab_sh(&["info", &self.name]));
        Info::parse(&String::from_utf8_lossy(&out.stdout))
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn isps(&self) -> usize {
        self.info.parsed("isps")
    }

    /// The namespace of a node: "lan", "rtr", "inet" or "isp<N>".
    pub fn ns(&self, node: &str) -> String {
        format!("{}-{node}", self.name)
    }

    /// A command that runs `cmd` inside `node`'s namespace, to spawn (a rail daemon in
    /// "rtr") or run. `down` ends whatever is still running in the lab.
    pub fn command(&self, node: &str, cmd: &[&str]) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.ns(node)]).args(cmd);
        c
    }

    /// Runs `cmd` inside `node`'s namespace and returns what it did, success or not.
    pub fn exec(&self, node: &str, cmd: &[&str]) -> Output {
        self.command(node, cmd)
            .output()
            .unwrap_or_else(|e| panic!("cannot run ip netns exec: {e}"))
    }

    /// Runs `cmd` inside `node`, panics unless it succeeds, returns its stdout.
    pub fn run(&self, node: &str, cmd: &[&str]) -> String {
        let out = checked(&format!("{node}: {}", cmd.join(" ")), self.exec(node, cmd));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Applies `fault` to ISP `isp`; returns when it took effect (a benchmark's start time).
    pub fn fault(&self, isp: usize, fault: Fault) -> SystemTime {
        let (kind, arg) = fault.args();
        let isp = isp.to_string();
        let mut args = vec!["fault", &self.name, kind, &isp];
        if let Some(a) = &arg {
            args.push(a);
        }
        applied(checked(
            &format!("lab.sh {}", args.join(" ")),
            lab_sh(&args),
        ))
    }

    /// A rail configuration (UCI text) for this lab: interfaces isp1..N on the uplink
    /// devices, masquerading, in one balanced policy (see `lab.sh rail-config`). Append
    /// sections to change options: UCI merges a section named twice.
    pub fn rail_config(&self) -> String {
        let out = checked("lab.sh rail-config", lab_sh(&["rail-config", &self.name]));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Adds `n` routes to the router's main table (`lab.sh routes`: blackhole /32s in
    /// 198.19.0.0/16 that carry no traffic), for the scale benchmark and tests.
    pub fn add_routes(&self, n: usize) {
        let n = n.to_string();
        checked(
            &format!("lab.sh routes {} {n}", self.name),
            lab_sh(&["routes", &self.name, &n]),
        );
    }

    /// Undoes every fault on `isp`; returns when that took effect.
    pub fn clear(&self, isp: usize) -> SystemTime {
        let isp = isp.to_string();
        applied(checked(
            &format!("lab.sh clear {} {isp}", self.name),
            lab_sh(&["clear", &self.name, &isp]),
        ))
    }

    /// The router's side of ISP `isp` (1-based), read afresh: a PPPoE reconnect with
    /// `new` changes the addresses.
    pub fn uplink(&self, isp: usize) -> Uplink {
        let info = self.read_info();
        let key = |k: &str| format!("isp{isp}.{k}");
        Uplink {
            isp,
            kind: match info.get(&key("kind")) {
                "ppp" => UplinkKind::Ppp,
                _ => UplinkKind::Ethernet,
            },
            ns: info.get(&key("ns")).to_string(),
            dev: info.get(&key("dev")).to_string(),
            addr: info.parsed(&key("addr")),
            prefix: info.parsed(&key("prefix")),
            gw: info.parsed(&key("gw")),
            addr6: info.optional(&key("addr6")),
            gw6: info.optional(&key("gw6")),
        }
    }

    /// Every uplink, ISP 1 first.
    pub fn uplinks(&self) -> Vec<Uplink> {
        (1..=self.isps()).map(|i| self.uplink(i)).collect()
    }

    /// The Internet's probe targets (they answer ping).
    pub fn targets(&self) -> Vec<Ipv4Addr> {
        self.info.list("targets")
    }

    /// True when the lab was built with IPv6 (the kernel has it).
    pub fn has_ipv6(&self) -> bool {
        self.info.get("ipv6") == "1"
    }

    /// The IPv6 probe targets; empty without IPv6.
    pub fn targets6(&self) -> Vec<Ipv6Addr> {
        self.info.list("targets6")
    }

    /// The service's IPv6 address, when the lab has IPv6.
    pub fn service6(&self) -> Option<Ipv6Addr> {
        self.info.optional("service6")
    }

    pub fn lan_addr6(&self) -> Option<Ipv6Addr> {
        self.info.optional("lan_addr6")
    }

    pub fn lan_gw6(&self) -> Option<Ipv6Addr> {
        self.info.optional("lan_gw6")
    }

    /// The address of the service that reports the source address it sees.
    pub fn service(&self) -> Ipv4Addr {
        self.info.parsed("service")
    }

    pub fn http_port(&self) -> u16 {
        self.info.parsed("http_port")
    }

    /// Port of the echo service: sends "<source>\n" on accept, then echoes.
    pub fn echo_port(&self) -> u16 {
        self.info.parsed("echo_port")
    }

    /// The LAN host's address and the router's LAN address (its gateway).
    pub fn lan_addr(&self) -> Ipv4Addr {
        self.info.parsed("lan_addr")
    }

    pub fn lan_gw(&self) -> Ipv4Addr {
        self.info.parsed("lan_gw")
    }

    /// The router's LAN device.
    pub fn rtr_lan_dev(&self) -> String {
        self.info.get("rtr_lan_dev").to_string()
    }

    /// Points the router's IPv4 default route at ISP `isp` with plain `ip route`.
    pub fn route_default_via(&self, isp: usize) {
        let u = self.uplink(isp);
        self.replace_default(&u.dev, u.gw.into());
    }

    /// The same for IPv6 (panics when the lab has no IPv6).
    pub fn route_default6_via(&self, isp: usize) {
        let u = self.uplink(isp);
        let gw = u.gw6.expect("the lab has no IPv6");
        self.replace_default(&u.dev, gw.into());
    }

    /// ISP `isp` delegates IPv6 `prefix` (`2001:db8:300:1::/64`) to the router: it routes it
    /// to the router's uplink address, and the Internet routes it to the ISP.
    pub fn delegate6(&self, isp: usize, prefix: &str) {
        let router = self
            .uplink(isp)
            .addr6
            .expect("the lab has no IPv6")
            .to_string();
        let node = format!("isp{isp}");
        self.run(&node, &["ip", "-6", "route", "add", prefix, "via", &router]);
        let upstream = format!("2001:db8:200:{isp}::2");
        self.run(
            "inet",
            &["ip", "-6", "route", "add", prefix, "via", &upstream],
        );
    }

    fn replace_default(&self, dev: &str, gw: IpAddr) {
        let family = if gw.is_ipv6() { "-6" } else { "-4" };
        let gw = gw.to_string();
        self.run(
            "rtr",
            &[
                "ip", family, "route", "replace", "default", "via", &gw, "dev", dev,
            ],
        );
    }

    /// One HTTP request from `node` to the service: the source address it saw, or the
    /// reason it failed.
    pub fn try_fetch_source(&self, node: &str) -> Result<String, String> {
        self.try_fetch_source_from(node, self.service().into())
    }

    /// As `try_fetch_source`, to the service's address `service` (its IPv4 or IPv6 one).
    pub fn try_fetch_source_from(&self, node: &str, service: IpAddr) -> Result<String, String> {
        self.try_fetch_source_as(node, service, None)
    }

    /// As `try_fetch_source_from`, sent from the address `source` of `node` when given.
    pub fn try_fetch_source_as(
        &self,
        node: &str,
        service: IpAddr,
        source: Option<&str>,
    ) -> Result<String, String> {
        // curl rather than whoami.py: it starts in milliseconds, python in a third of a
        // second on a busy machine.
        let host = match service {
            IpAddr::V4(a) => a.to_string(),
            IpAddr::V6(a) => format!("[{a}]"),
        };
        let url = format!("http://{host}:{}/", self.http_port());
        let mut args = vec!["curl", "-sS", "-g", "--connect-timeout", "1", "-m", "2"];
        if let Some(source) = source {
            args.extend(["--interface", source]);
        }
        args.push(&url);
        let out = self.exec(node, &args);
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
        } else {
            Err(format!(
                "{node} could not reach the service at {url}: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ))
        }
    }

    /// As `try_fetch_source`, panicking when the service cannot be reached.
    pub fn fetch_source(&self, node: &str) -> String {
        self.try_fetch_source(node)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// `n` new connections from `node` to the service, one after another: how many each
    /// source address carried ("error" counts failures; 1 s timeout each).
    pub fn tally(&self, node: &str, n: usize) -> BTreeMap<String, usize> {
        self.tally_to(node, self.service().into(), n)
    }

    /// As `tally`, to the service's address `service` (its IPv4 or IPv6 one).
    pub fn tally_to(&self, node: &str, service: IpAddr, n: usize) -> BTreeMap<String, usize> {
        let out = self.run(
            node,
            &[
                "python3",
                &whoami().to_string_lossy(),
                "tally",
                "--host",
                &service.to_string(),
                "--port",
                &self.http_port().to_string(),
                "--timeout",
                "1",
                "-n",
                &n.to_string(),
            ],
        );
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("bad tally output {out:?}: {e}"))
    }

    /// `count` pings from `node` to `dst`, `interval` seconds apart, each waiting at most
    /// `wait` seconds for its reply.
    pub fn ping(
        &self,
        node: &str,
        dst: impl Into<IpAddr>,
        count: u32,
        interval: f64,
        wait: f64,
    ) -> PingStats {
        let dst: IpAddr = dst.into();
        let out = self.exec(
            node,
            &[
                "ping",
                "-n",
                "-q",
                "-c",
                &count.to_string(),
                "-i",
                &interval.to_string(),
                "-W",
                &wait.to_string(),
                &dst.to_string(),
            ],
        );
        parse_ping(&String::from_utf8_lossy(&out.stdout)).unwrap_or_else(|| {
            panic!(
                "ping {dst} from {node}: no statistics:\n{}",
                String::from_utf8_lossy(&out.stderr)
            )
        })
    }

    /// True when one ping from `node` to `dst` is answered within half a second.
    pub fn answers<A: Into<IpAddr> + Display + Copy + PartialEq>(
        &self,
        node: &str,
        dst: A,
    ) -> bool {
        self.answering(node, &[dst]) == [dst]
    }

    /// Those of `dsts` that answer one ping from `node` within half a second (all pinged
    /// at once, so this takes half a second at most).
    pub fn answering<A: Into<IpAddr> + Display + Copy>(&self, node: &str, dsts: &[A]) -> Vec<A> {
        let children: Vec<_> = dsts
            .iter()
            .map(|d| {
                let child = self
                    .command(node, &["ping", "-n", "-q", "-c1", "-W0.5", &d.to_string()])
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .unwrap_or_else(|e| panic!("cannot run ping: {e}"));
                (*d, child)
            })
            .collect();
        children
            .into_iter()
            .filter_map(|(d, mut c)| c.wait().ok()?.success().then_some(d))
            .collect()
    }
}

/// A long-lived TCP connection to the service's echo port, opened from a lab node.
pub struct Flow {
    stream: TcpStream,
    /// The source address the service saw when the flow was opened.
    pub source: String,
}

impl Flow {
    /// True when the flow still carries data: one echo round trip within `timeout`.
    pub fn alive(&mut self, timeout: Duration) -> bool {
        let probe = b"rail-lab-probe\n";
        let mut back = [0u8; 15];
        self.stream.set_write_timeout(Some(timeout)).is_ok()
            && self.stream.set_read_timeout(Some(timeout)).is_ok()
            && self.stream.write_all(probe).is_ok()
            && self.stream.read_exact(&mut back).is_ok()
            && &back == probe
    }
}

impl Lab {
    /// Runs `f` on a new thread inside `node`'s namespace (sockets it creates stay in that
    /// namespace wherever they are used later); the process itself stays where it is.
    pub fn spawn<R: Send + 'static>(
        &self,
        node: &str,
        f: impl FnOnce() -> R + Send + 'static,
    ) -> std::thread::JoinHandle<R> {
        let path = format!("/run/netns/{}", self.ns(node));
        let file = std::fs::File::open(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        std::thread::spawn(move || {
            // SAFETY: a valid namespace descriptor; setns changes only this thread.
            let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
            assert_eq!(rc, 0, "setns {path}: {}", io::Error::last_os_error());
            f()
        })
    }

    /// As `spawn`, waiting for the result (a panic in `f` is passed on).
    pub fn within<R: Send + 'static>(
        &self,
        node: &str,
        f: impl FnOnce() -> R + Send + 'static,
    ) -> R {
        self.spawn(node, f)
            .join()
            .unwrap_or_else(|e| std::panic::resume_unwind(e))
    }

    /// Opens a long-lived flow from `node` to the service's echo port at `service` (its
    /// IPv4 or IPv6 address), waiting at most a second.
    pub fn try_open_flow_to(&self, node: &str, service: IpAddr) -> io::Result<Flow> {
        let to = SocketAddr::new(service, self.echo_port());
        self.within(node, move || {
            let stream = TcpStream::connect_timeout(&to, Duration::from_secs(1))?;
            stream.set_read_timeout(Some(Duration::from_secs(1)))?;
            let mut source = String::new();
            BufReader::new(&stream).read_line(&mut source)?;
            Ok(Flow {
                stream,
                source: source.trim().to_string(),
            })
        })
    }

    /// A long-lived flow from `node` to the service's IPv4 address; panics on failure.
    pub fn open_flow(&self, node: &str) -> Flow {
        self.try_open_flow_to(node, self.service().into())
            .unwrap_or_else(|e| panic!("{node} cannot open a flow to the service: {e}"))
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        if std::env::var_os("RAIL_LAB_KEEP").is_some() {
            eprintln!(
                "RAIL_LAB_KEEP: lab {} left up (tests/lab/lab.sh down {})",
                self.name, self.name
            );
            return;
        }
        let _ = std::fs::remove_dir_all(super::rail::run_dir(self));
        let out = lab_sh(&["down", &self.name]);
        if !out.status.success() {
            eprintln!(
                "lab.sh down {} failed: {}",
                self.name,
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}

/// The "N packets transmitted, M received" line of iputils ping.
fn parse_ping(out: &str) -> Option<PingStats> {
    let line = out.lines().find(|l| l.contains("packets transmitted"))?;
    let mut nums = line
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty());
    Some(PingStats {
        sent: nums.next()?.parse().ok()?,
        received: nums.next()?.parse().ok()?,
    })
}
