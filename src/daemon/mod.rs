//! The daemon: the imperative shell that joins configuration, health, policy and dataplane
//! on one smol executor, and answers the control socket and ubus.
//!
//! Every input (probe results, kernel events, control and ubus calls, signals) becomes an
//! `Input` handled one at a time by `Daemon`, so there is no shared mutable state between
//! tasks. Health changes touch routes only (one netlink message per affected policy);
//! device and configuration changes reconcile everything.

pub mod control;
pub mod decide;
pub mod hooks;
mod inputs;
pub mod persist;
pub mod report;
pub mod retry;
pub mod status;
pub mod uplinks;

use std::cell::RefCell;
use std::collections::{BTreeMap, VecDeque};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::Instant;

use async_signal::Signal;
use serde_json::{json, Value};

use crate::config::{self, Config, InterfaceId};
use crate::dataplane::conntrack::Conntrack;
use crate::dataplane::desired::{desired, Desired};
use crate::dataplane::kernel::Kernel;
use crate::dataplane::nftwatch::Gone;
use crate::dataplane::vocab::Link;
use crate::dataplane::watch;
use crate::family::{Af, PerAf};
use crate::health::engine::{self, Engine, LinkFacts};
use crate::history::{self, History};
use crate::openwrt::hotplug::{Action, Hotplug};
use crate::openwrt::watch::Update;
use crate::openwrt::{client as ubus, netifd, object};
use crate::policy::{resolve, Resolution};
use crate::shaping::Shaper;
use control::{Incoming, Reply};
use decide::{Holds, Step};
use hooks::{HookEvent, Hooks};
use inputs::{Input, REFRESH};
use uplinks::{Change, Uplinks};

/// Wall-clock seconds, for the status document (health runs on the monotonic clock).
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Bytes sent by a device, from sysfs (0 when it is absent).
fn tx_bytes(device: &str) -> u64 {
    std::fs::read_to_string(format!("/sys/class/net/{device}/statistics/tx_bytes"))
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0)
}

/// `rail daemon`: runs until SIGTERM/SIGINT; exit 2 on a bad configuration at start.
/// `ubus`: the ubusd socket, when not one of the usual paths; `run_dir`: where the daemon
/// keeps what survives its restarts (`persist`).
pub fn run(path: &str, foreground: bool, ubus: Option<&str>, run_dir: &Path) -> i32 {
    let mut config = match config::load(path) {
        Ok(c) => c,
        Err(problems) => {
            for p in &problems {
                eprintln!("{p}");
            }
            eprintln!(
                "rail: {} problem(s) in {path}; not starting",
                problems.len()
            );
            return 2;
        }
    };
    let _ = crate::openwrt::syslog::init(crate::openwrt::syslog::Options {
        foreground,
        level: config.globals.log_level,
        ..Default::default()
    });
    if !config.globals.enabled {
        log::info!("disabled in {path} (globals enabled 0); nothing to do");
        return 0;
    }
    let kept = persist::load(run_dir);
    let maintenance = kept.apply(&mut config);
    for name in &maintenance {
        log::info!(
            "{name}: still out of service (kept in {})",
            run_dir.display()
        );
    }
    let ex = Rc::new(smol::LocalExecutor::new());
    // The thread waits for the health engine's timer itself; async-io's thread drives the
    // reactor for everything else (health::wake). With `smol::block_on` the reactor passes
    // between the two threads, and async-io's thread polls with a back-off of up to ten
    // sleeps after each wake-up (docs/bench.md, cost).
    let run = ex.run(main(
        Start {
            path: path.to_string(),
            config,
            ubus: ubus.map(Into::into),
            run_dir: run_dir.to_path_buf(),
            maintenance,
        },
        ex.clone(),
    ));
    let result = crate::health::wake::block_on(run)
        .map_err(|e| format!("cannot start: {e}"))
        .and_then(|r| r);
    match result {
        Ok(()) => 0,
        Err(e) => {
            log::error!("{e}");
            1
        }
    }
}

/// What the daemon starts from.
struct Start {
    path: String,
    config: Config,
    ubus: Option<PathBuf>,
    run_dir: PathBuf,
    /// Interfaces kept in maintenance from the previous run.
    maintenance: std::collections::BTreeSet<String>,
}

struct Daemon {
    path: String,
    config: Config,
    kernel: Kernel,
    conntrack: Option<Conntrack>,
    engine: Engine,
    uplinks: Uplinks,
    /// Uplinks held out while netifd restarts them (see `decide`).
    holds: Holds,
    /// Per family, the policies resolved over the uplinks available for it.
    resolution: PerAf<Resolution>,
    /// What the last successful reconcile or reroute applied; `None` after a failure.
    applied: Option<Desired>,
    retry: retry::Retry,
    hooks: Hooks,
    shaper: Shaper,
    transitions: VecDeque<status::Transition>,
    flows: BTreeMap<u32, usize>,
    started: Instant,
    counted: Instant,
    snapshot: Rc<control::Snapshot>,
    /// Shared with the ubus object, which answers `history` from it at once.
    history: Rc<RefCell<History>>,
    bus: ubus::Client,
    /// The interface names netifd is followed for (changes on reload).
    followed: Rc<RefCell<Vec<String>>>,
    /// Asks the netifd follower to read an interface's status again (`None`: all).
    refresh: smol::channel::Sender<Option<String>>,
    /// The configuration, for the ubus object to refuse interfaces it does not have.
    known: Rc<RefCell<Config>>,
    run_dir: PathBuf,
    /// What was last written to the run directory.
    kept: persist::Kept,
}

async fn main(start: Start, ex: Rc<smol::LocalExecutor<'static>>) -> Result<(), String> {
    let Start {
        path,
        config,
        ubus: ubus_socket,
        run_dir,
        maintenance,
    } = start;
    let kernel = Kernel::connect().map_err(|e| e.to_string())?;
    let conntrack = Conntrack::open()
        .map_err(|e| log::warn!("conntrack unavailable, flows will not be flushed: {e}"))
        .ok();
    let (mut inputs, shell) = inputs::spawn(
        &ex,
        ubus_socket,
        &run_dir,
        Uplinks::followed(&config),
        config.clone(),
    )?;
    let mut engine = Engine::new(&config.interfaces).map_err(|e| format!("health engine: {e}"))?;
    engine.set_mark_mask(config.globals.mark_mask);
    let resolution = PerAf::splat(resolve(&config, |_| false));
    let mut d = Daemon {
        path,
        config,
        kernel,
        conntrack,
        engine,
        uplinks: Uplinks {
            maintenance,
            ..Uplinks::default()
        },
        holds: Holds::default(),
        resolution,
        applied: None,
        retry: retry::Retry::default(),
        hooks: Hooks::default(),
        shaper: Shaper::default(),
        transitions: VecDeque::new(),
        flows: BTreeMap::new(),
        started: Instant::now(),
        counted: Instant::now(),
        snapshot: shell.snapshot,
        history: shell.history,
        bus: shell.bus,
        followed: shell.followed,
        refresh: shell.refresh,
        known: shell.known,
        run_dir,
        kept: persist::Kept::default(),
    };
    d.remember();
    d.track_history();
    d.read_history();
    log::info!(
        "started with {} uplinks, {} policies, {} rules from {}",
        d.config.interfaces.len(),
        d.config.policies.len(),
        d.config.rules.len(),
        d.path
    );
    d.relearn().await;
    d.reconcile().await;
    loop {
        let input = inputs.next(&mut d.engine).await;
        if d.on_input(input).await? == Run::Stop {
            return Ok(());
        }
        inputs.arm(d.hooks.busy(), d.retry.due(), d.holds.deadline());
    }
}

/// Whether the daemon goes on after an input.
#[derive(PartialEq, Eq)]
enum Run {
    On,
    Stop,
}

impl Daemon {
    async fn on_input(&mut self, input: Input) -> Result<Run, String> {
        match input {
            Input::Health(e) => self.on_health(e).await,
            Input::Kernel(Some(e)) => self.on_kernel(e).await,
            Input::Kernel(None) => return Err("the netlink event socket closed".into()),
            // Lost notifications may come from a burst of rail's own update: look first.
            Input::NftGone(Gone::Maybe) if self.kernel.nft_present().await => {}
            Input::NftGone(_) => {
                log::warn!("table inet rail was deleted; restoring it");
                self.kernel.invalidate();
                self.reconcile().await;
            }
            Input::Retry => self.reconcile().await,
            Input::Control(inc) => self.on_control(inc).await,
            Input::Netifd(u) => self.on_netifd(u).await,
            Input::Ubus(r) => {
                let _ = self.on_request(r).await;
            }
            Input::Signal(Signal::Hup) => {
                let _ = self.reload().await;
            }
            Input::Signal(s) => {
                log::info!("stopping on {s:?}: removing rail's rules, routes and nft table");
                self.write_history();
                self.shaper.stop(self.kernel.handle_mut()).await;
                match self.kernel.flush().await {
                    Ok(c) => log::info!("stopped ({c})"),
                    Err(e) => log::error!("stopping: {e}; run `rail flush`"),
                }
                return Ok(Run::Stop);
            }
            Input::Refresh => self.on_refresh().await,
            Input::HookPoll => {
                self.hooks.reap(Instant::now());
            }
            Input::HoldOver => self.on_hold_over().await,
        }
        Ok(Run::On)
    }

    /// Resolve the policies again over the uplinks available now (kept for status), and
    /// return the kernel state that follows.
    fn resolve_wanted(&mut self) -> Desired {
        let facts = decide::Facts {
            config: &self.config,
            links: &self.uplinks.links,
            holds: &self.holds,
            maintenance: &self.uplinks.maintenance,
        };
        self.resolution = PerAf::from_fn(|af| {
            resolve(&self.config, |id| {
                decide::available(&facts, id, af, self.engine.usable_in(id, af))
            })
        });
        desired(
            &self.config,
            &self.holds.usable(&self.uplinks.links),
            &self.resolution,
        )
    }

    /// Make the whole kernel state match (devices or configuration changed, or drift).
    async fn reconcile(&mut self) {
        let want = self.resolve_wanted();
        let result = match self.kernel.reconcile(&want).await {
            // netifd took a device or address away while this reconcile ran (a route via
            // a next hop it can no longer reach): not a failure, a stale view.
            Err(e) if self.devices_moved().await => {
                log::info!(
                    "reconcile raced a device change ({e}); again with the devices as they are now"
                );
                self.relearn().await;
                let want = self.resolve_wanted();
                self.kernel.reconcile(&want).await.map(|c| (c, want))
            }
            r => r.map(|c| (c, want)),
        };
        match result {
            Ok((c, want)) => {
                match self.retry.succeeded() {
                    Some(f) => log::info!("reconciled after {} failed attempts: {c}", f.attempts),
                    None if !c.is_empty() => log::info!("reconciled: {c}"),
                    None => {}
                }
                self.applied = Some(want);
            }
            Err(e) => {
                // Logged once per run of failures; `rail status` shows it until it ends.
                if self.retry.failed(e.to_string(), Instant::now(), unix_now()) {
                    log::error!("reconcile failed: {e}; retrying until it succeeds");
                } else {
                    log::debug!("reconcile failed again: {e}");
                }
                self.applied = None;
            }
        }
        self.refresh_snapshot();
    }

    /// Whether the kernel's devices no longer look as rail learned them last.
    async fn devices_moved(&mut self) -> bool {
        let (links, _) = self.uplinks.learn(&self.config, &mut self.kernel).await;
        links != self.uplinks.links
    }

    /// Health or maintenance changed: only policy routes move.
    async fn reroute(&mut self) {
        let want = self.resolve_wanted();
        if decide::how(self.applied.as_ref(), &want) == decide::Apply::Reconcile {
            return self.reconcile().await;
        }
        match self.kernel.apply_policy_routes(&want).await {
            Ok(0) => {}
            Ok(n) => log::info!("policy routes updated ({n} message(s))"),
            Err(e) => {
                log::error!("failover route update failed: {e}; reconciling");
                return self.reconcile().await;
            }
        }
        self.applied = Some(want);
        self.refresh_snapshot();
    }

    async fn relearn(&mut self) {
        let (links, peers) = self.uplinks.learn(&self.config, &mut self.kernel).await;
        let (config, uplinks) = (&self.config, &self.uplinks);
        let from_netifd = |id: InterfaceId| uplinks.netifd_runs(config, id);
        let steps = self
            .holds
            .follow(&self.uplinks.links, &links, from_netifd, Instant::now());
        self.uplinks.links = links;
        self.uplinks.peers = peers;
        self.take_steps(steps).await;
    }

    /// A netifd restart took longer than the grace: the loss reaches health now.
    async fn on_hold_over(&mut self) {
        let steps = self
            .holds
            .expire(&self.uplinks.links, Instant::now(), false);
        for step in &steps {
            if let Step::Health(id, _) = step {
                log::info!(
                    "{}: not back as it was within {} s",
                    self.config.interfaces[id.0].name,
                    decide::RETURN_GRACE.as_secs()
                );
            }
        }
        self.take_steps(steps).await;
        self.reroute().await;
    }

    async fn take_steps(&mut self, steps: Vec<Step>) {
        for step in steps {
            let (id, change) = match step {
                Step::Pause(id) => {
                    let name = &self.config.interfaces[id.0].name;
                    log::info!(
                        "{name}: device or address withdrawn; held out of service for up to {} s in case netifd is restarting it",
                        decide::RETURN_GRACE.as_secs()
                    );
                    self.engine.pause(id);
                    continue;
                }
                Step::Resume(id) => {
                    let name = &self.config.interfaces[id.0].name;
                    log::info!("{name}: back as it was; in service again");
                    self.engine.resume(id);
                    continue;
                }
                Step::Health(id, change) => (id, change),
            };
            let name = &self.config.interfaces[id.0].name;
            match change {
                Change::Up(link) => {
                    log::info!(
                        "{name}: device {} (ifindex {}) address {}{}",
                        link.device,
                        link.ifindex,
                        link.address[Af::Inet].map_or("none".to_string(), |a| a.to_string()),
                        link.address[Af::Inet6].map_or(String::new(), |a| format!(" ipv6 {a}"))
                    );
                    self.shape(id, link.ifindex).await;
                    for af in Af::BOTH {
                        self.engine.device_up(id, af, facts(&link, af));
                    }
                }
                Change::Address6(link) => {
                    log::info!(
                        "{name}: IPv6 address {}",
                        link.address[Af::Inet6].map_or("none".to_string(), |a| a.to_string())
                    );
                    self.engine
                        .device_up(id, Af::Inet6, facts(&link, Af::Inet6));
                }
                Change::Gone(ifindex) => {
                    self.shaper.gone(ifindex);
                    self.engine.device_gone(id);
                }
                Change::Carrier(up) => self.engine.carrier(id, up),
            }
        }
    }

    /// Egress shaping of an uplink's device, as its `rate` says (none: rail's removed).
    async fn shape(&mut self, id: InterfaceId, ifindex: u32) {
        let rate = self.config.interfaces[id.0].rate;
        if let Err(e) = self
            .shaper
            .device(self.kernel.handle_mut(), ifindex, rate)
            .await
        {
            let name = &self.config.interfaces[id.0].name;
            log::warn!("{name}: shaping ifindex {ifindex}: {e}");
        }
    }

    async fn on_health(&mut self, event: engine::Event) {
        match event {
            engine::Event::Transition(id, af, t) => self.on_transition(id, af, t).await,
            engine::Event::Global(_) => self.reroute().await,
            engine::Event::Rounds => {
                let (mut history, now) = (self.history.borrow_mut(), unix_now());
                for (id, af) in self.engine.take_judged() {
                    let name = &self.config.interfaces[id.0].name;
                    let series = history.series_mut(name, af.word());
                    if let (Some(t), Some(s)) = (self.engine.tracker_of(id, af), series) {
                        s.round(now, t.totals());
                    }
                }
            }
        }
    }

    /// A series for every uplink and family the configuration names.
    fn track_history(&mut self) {
        let wanted: Vec<(String, &'static str)> = (self.config.interfaces.iter())
            .flat_map(|i| {
                (Af::BOTH.into_iter())
                    .filter(|&af| i.family.carries(af))
                    .map(|af| (i.name.clone(), af.word()))
            })
            .collect();
        self.history.borrow_mut().track(&wanted, unix_now());
    }

    /// The history of the last run, if rail was stopped (not crashed) a moment ago.
    fn read_history(&mut self) {
        let path = &self.run_dir.join(history::store::FILE);
        let bytes = match history::shell::load(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return,
            Err(e) => return log::warn!("history: not reading {}: {e}", path.display()),
        };
        let Some(all) = history::store::decode(&bytes) else {
            return log::warn!("history: {} is not a history file; ignored", path.display());
        };
        let (now, mut kept) = (unix_now(), 0);
        let mut history = self.history.borrow_mut();
        for (name, family, mut series) in all {
            if history.series_mut(&name, &family).is_some() {
                series.resume(now);
                history.restore(&name, &family, series);
                kept += 1;
            }
        }
        log::info!("history: read {kept} series from {}", path.display());
    }

    fn write_history(&self) {
        let path = self.run_dir.join(history::store::FILE);
        let bytes = history::store::encode(self.history.borrow().iter());
        match history::shell::save(&path, &bytes) {
            Ok(()) => log::info!(
                "history: written to {} ({} bytes)",
                path.display(),
                bytes.len()
            ),
            Err(e) => log::warn!("history: writing {}: {e}", path.display()),
        }
    }

    /// One tracker changed state: record it, reroute, then flush and run the hooks. The
    /// second (IPv6) tracker of a dual-stack uplink must not flush the uplink's flows (the
    /// mark is shared with its IPv4 ones).
    async fn on_transition(&mut self, id: InterfaceId, af: Af, t: crate::health::Transition) {
        let iface = &self.config.interfaces[id.0];
        let first = af == iface.family.first();
        if let Some(s) = self.history.borrow_mut().series_mut(&iface.name, af.word()) {
            s.set_state(unix_now(), t.to);
        }
        self.transitions.push_back(status::Transition {
            time: unix_now(),
            interface: iface.name.clone(),
            family: (!first).then(|| af.word().to_string()),
            from: t.from.to_string(),
            to: t.to.to_string(),
            reason: t.reason.clone(),
        });
        while self.transitions.len() > report::HISTORY {
            self.transitions.pop_front();
        }
        let flush = decide::flush(&t, af, iface);
        let device = self
            .uplinks
            .links
            .get(&id)
            .map(|l| l.device.clone())
            .unwrap_or_default();
        let ev = HookEvent {
            interface: iface.name.clone(),
            family: af.word().to_string(),
            device,
            state: t.to.to_string(),
            previous: t.from.to_string(),
            reason: t.reason.clone(),
            rtt_ms: t.rtt_ms,
            loss: Some(t.loss),
        };
        let mark = iface.mark.value();
        let hooks = self.config.globals.hooks.clone();
        let timeout = self.config.globals.hook_timeout;
        self.reroute().await;
        if flush {
            self.flush_flows(&ev.interface, mark).await;
        }
        // Hooks after the reroute: they must never delay failover.
        self.hooks.fire(
            &hooks,
            Some(hooks::USER_SCRIPT),
            &ev,
            timeout,
            Instant::now(),
        );
    }

    async fn flush_flows(&mut self, name: &str, mark: u32) {
        let mask = self.config.globals.mark_mask.bits();
        if let Some(ct) = &mut self.conntrack {
            match ct.delete_mark(mark, mask).await {
                Ok(()) => log::info!(
                    "{name}: deleted its conntrack flows (mark {mark:#010x}/{mask:#010x})"
                ),
                Err(e) => log::warn!("{name}: {e}"),
            }
        }
    }

    async fn on_kernel(&mut self, event: watch::Event) {
        let drift = matches!(event, watch::Event::Rule | watch::Event::Resync);
        if matches!(event, watch::Event::Route | watch::Event::Resync) {
            // netifd changes main's default route on a renewal with a new gateway only,
            // and tells nobody: its status has the new next hop.
            let _ = self.refresh.try_send(None);
        }
        if matches!(event, watch::Event::Resync) {
            log::warn!("netlink events were lost; resynchronising everything");
            self.kernel.invalidate();
        }
        self.relearn().await;
        let want = self.resolve_wanted();
        if drift || self.applied.as_ref() != Some(&want) || matches!(event, watch::Event::Route) {
            self.reconcile().await;
        }
    }

    /// A root request from the control socket (the socket answers status itself).
    async fn on_control(&mut self, inc: Incoming) {
        let Incoming { request, reply } = inc;
        let answer = match parse_control(&request.method, &request.args) {
            Ok(r) => match self.on_request(r).await {
                Ok(v) => Reply::ok(v),
                Err(e) => Reply::err(e),
            },
            Err(e) => Reply::err(e),
        };
        let _ = reply.send(answer).await;
    }

    /// A state-changing request, from the control socket or ubus.
    async fn on_request(&mut self, r: object::Request) -> Result<Value, String> {
        if !names_known(&self.config, &r) {
            let name = r.interface().unwrap_or_default();
            return Err(format!("no interface '{name}' in {}", self.path));
        }
        match r {
            object::Request::Status => Ok(self.snapshot.read().clone()),
            object::Request::History {
                interface,
                family,
                span,
                chart,
            } => {
                let view = history_view(
                    &mut self.history.borrow_mut(),
                    interface.as_deref(),
                    family.as_deref(),
                    span,
                );
                Ok(if chart {
                    history_chart(&view)
                } else {
                    serde_json::to_value(view).unwrap_or(Value::Null)
                })
            }
            object::Request::Reload => self.reload().await,
            object::Request::Hotplug(h) => {
                self.hotplug(h).await;
                Ok(Value::Null)
            }
            object::Request::Maintenance { interface, enable } => {
                let changed = if enable {
                    self.uplinks.maintenance.insert(interface.clone())
                } else {
                    self.uplinks.maintenance.remove(&interface)
                };
                if changed {
                    log::info!(
                        "{interface}: {} by the admin",
                        if enable {
                            "taken out of service"
                        } else {
                            "back in service"
                        }
                    );
                    self.remember();
                    self.reroute().await;
                }
                Ok(Value::Null)
            }
        }
    }

    /// Write what must survive a restart, when it changed since it was last written.
    fn remember(&mut self) {
        let now = persist::Kept::of(&self.config, &self.uplinks.maintenance);
        if now == self.kept {
            return;
        }
        match persist::save(&self.run_dir, &now) {
            Ok(()) => self.kept = now,
            Err(e) => log::warn!(
                "keeping marks and maintenance in {}: {e}; a restart will not know them",
                self.run_dir.display()
            ),
        }
    }

    async fn hotplug(&mut self, h: Hotplug) {
        if !self.config.interfaces.iter().any(|i| i.name == h.interface) {
            return; // not one of ours: netifd tells us about every interface
        }
        log::info!(
            "{}: hotplug {} {}",
            h.interface,
            h.action,
            h.device.as_deref().unwrap_or("")
        );
        // netifd's status is the truth: a hotplug call, which may arrive late (an ifdown
        // after netifd is up again), only says to read it again.
        if self.bus.is_connected() {
            let _ = self.refresh.try_send(Some(h.interface));
            return;
        }
        let entry = self.uplinks.announced.entry(h.interface).or_default();
        match h.action {
            Action::IfUp | Action::IfUpdate => {
                if h.device.is_some() {
                    entry.device = h.device;
                }
            }
            Action::IfDown | Action::IfUpFailed => entry.device = None,
        }
        self.relearn().await;
        self.reconcile().await;
    }

    /// netifd says how an interface looks now: take its device and next hop.
    async fn on_netifd(&mut self, update: Update) {
        let Update::Interface {
            name,
            status: Some(s),
        } = update
        else {
            return; // unreadable now, or ubusd gone: keep what is in place
        };
        let before = self.uplinks.announced.clone();
        if !self.apply_netifd(&name, &s) || self.uplinks.announced == before {
            return;
        }
        self.relearn().await;
        self.reconcile().await;
    }

    fn apply_netifd(&mut self, name: &str, s: &netifd::InterfaceStatus) -> bool {
        self.uplinks.announce(&self.config, name, s)
    }

    /// Re-read the configuration; a bad one is reported and the running one kept.
    async fn reload(&mut self) -> Result<Value, String> {
        let mut new = match config::load(&self.path) {
            Ok(c) => c,
            Err(problems) => {
                for p in &problems {
                    log::error!("reload: {p}");
                }
                log::error!(
                    "reload: {} problem(s) in {}; keeping the running configuration",
                    problems.len(),
                    self.path
                );
                let lines: Vec<String> = problems.iter().map(ToString::to_string).collect();
                return Err(lines.join("\n"));
            }
        };
        // Interfaces keep their marks (existing flows keep their uplink); a new one takes a
        // free mark, a removed one leaves maintenance.
        let kept = persist::Kept::of(&self.config, &self.uplinks.maintenance);
        let maintenance = kept.apply(&mut new);
        if new == self.config {
            log::info!("reload: {} unchanged", self.path);
            return Ok(json!({"changed": false}));
        }
        log::info!("reload: applying the new configuration from {}", self.path);
        // Interface ids may change: what held uplinks became reaches health first.
        let steps = self.holds.expire(&self.uplinks.links, Instant::now(), true);
        self.take_steps(steps).await;
        let survivors = self.engine.rebuild(&new.interfaces);
        self.engine.set_mark_mask(new.globals.mark_mask);
        self.config = new;
        self.uplinks.maintenance = maintenance;
        self.remember();
        self.track_history();
        for (i, iface) in self.config.interfaces.iter().enumerate() {
            if !survivors.contains(&InterfaceId(i)) {
                let mut history = self.history.borrow_mut();
                for af in Af::BOTH {
                    if let Some(s) = history.series_mut(&iface.name, af.word()) {
                        s.restarted();
                    }
                }
            }
        }
        *self.followed.borrow_mut() = Uplinks::followed(&self.config);
        *self.known.borrow_mut() = self.config.clone();
        // Uplinks whose health tracking changed start afresh: re-announce their devices.
        let links = std::mem::take(&mut self.uplinks.links);
        let peers = std::mem::take(&mut self.uplinks.peers);
        self.uplinks.links = links
            .into_iter()
            .filter(|(id, _)| survivors.contains(id))
            .collect();
        self.uplinks.peers = peers;
        self.relearn().await;
        self.reconcile().await;
        Ok(json!({"changed": true}))
    }

    async fn on_refresh(&mut self) {
        self.hooks.reap(Instant::now());
        // Only for readers: a dump walks the host's whole conntrack table.
        if self.counted.elapsed() >= REFRESH * 5 && self.snapshot.take_read() {
            self.count_flows().await;
        }
        self.refresh_snapshot();
    }

    async fn count_flows(&mut self) {
        self.counted = Instant::now();
        let mask = self.config.globals.mark_mask.bits();
        if let Some(ct) = &mut self.conntrack {
            match ct.count_by_mark(mask).await {
                Ok(counts) => self.flows = counts,
                Err(e) => log::debug!("{e}"),
            }
        }
    }

    fn build_status(&self) -> status::Status {
        let ids = (0..self.config.interfaces.len()).map(InterfaceId);
        let health: Vec<_> = ids
            .clone()
            .map(|id| PerAf::from_fn(|af| self.engine.tracker_of(id, af).map(|t| t.status())))
            .collect();
        let passive: Vec<_> = ids
            .clone()
            .map(|id| {
                let (r, confirming) = self.engine.passive(id)?;
                Some(status::PassiveStatus {
                    opened: r.opened,
                    answered: r.answered,
                    confirming,
                    suspicion: r.suspicion,
                })
            })
            .collect();
        let tx_bytes = ids
            .filter_map(|id| self.uplinks.current_device(&self.config, id))
            .map(|d| {
                let sent = tx_bytes(&d);
                (d, sent)
            })
            .collect();
        let mut status = report::build(&report::Inputs {
            config: &self.config,
            health: &health,
            passive: &passive,
            now: self.engine.now(),
            all_targets_lost: self.engine.all_targets_lost(),
            uplinks: &self.uplinks,
            resolution: &self.resolution,
            flows: &self.flows,
            tx_bytes: &tx_bytes,
            transitions: &self.transitions,
            uptime: self.started.elapsed().as_secs(),
            unix_now: unix_now(),
        });
        status.reconcile_error = self.retry.failure().cloned();
        status
    }

    fn refresh_snapshot(&mut self) {
        let v = serde_json::to_value(self.build_status()).unwrap_or(Value::Null);
        self.snapshot.set(v);
    }
}

/// Whether a request names an interface rail has: `maintenance` and `history` one of the
/// config's, a `hotplug` also one rail follows for them (the DHCPv6 twin `wan_6` of a `wan`).
fn names_known(config: &Config, request: &object::Request) -> bool {
    let configured = |name: &str| config.interfaces.iter().any(|i| i.name == name);
    match request {
        object::Request::Hotplug(h) => Uplinks::followed(config).contains(&h.interface),
        object::Request::Maintenance { interface, .. } => configured(interface),
        object::Request::History { interface, .. } => interface.as_deref().is_none_or(configured),
        object::Request::Status | object::Request::Reload => true,
    }
}

/// What the health engine needs to probe one family of an uplink's device.
fn facts(link: &Link, af: Af) -> LinkFacts {
    LinkFacts {
        device: link.device.clone(),
        ifindex: link.ifindex,
        source: link.endpoint(af).map(|(address, _)| address),
    }
}

/// `rail history`: the span asked for, up to now.
fn history_view(
    history: &mut History,
    interface: Option<&str>,
    family: Option<&str>,
    span: history::view::Span,
) -> history::view::View {
    history.advance(unix_now());
    history.view(interface, family, span)
}

/// `rail history` with `chart`: the text chart the client prints.
fn history_chart(view: &history::view::View) -> Value {
    json!({ "chart": history::chart::render(view) })
}

/// The control socket's requests, validated like ubus's.
fn parse_control(method: &str, args: &Value) -> Result<object::Request, String> {
    let args = match args {
        Value::Object(m) => crate::blob::table_from_json(m),
        Value::Null => Default::default(),
        _ => return Err("arguments must be a JSON object".into()),
    };
    object::parse(method, &args).map_err(|s| format!("{method}: {s}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::family::Family;
    use crate::fixtures::uplinks;
    use crate::openwrt::hotplug::Action;

    #[test]
    fn requests_name_the_configs_interfaces_or_a_twin_rail_follows() {
        let mut c = uplinks(&["wan", "wanb"]).build();
        c.interfaces[0].family = Family::Both;
        let hotplug = |interface: &str| {
            object::Request::Hotplug(Hotplug {
                action: Action::IfUp,
                interface: interface.into(),
                device: None,
            })
        };
        let maintenance = |interface: &str| object::Request::Maintenance {
            interface: interface.into(),
            enable: true,
        };
        for name in ["wan", "wanb"] {
            assert!(names_known(&c, &hotplug(name)) && names_known(&c, &maintenance(name)));
        }
        // `wan_6` carries wan's IPv6: its events matter, but it is no uplink of its own.
        assert!(names_known(&c, &hotplug("wan_6")));
        assert!(!names_known(&c, &maintenance("wan_6")));
        assert!(!names_known(&c, &hotplug("wanb_6")) && !names_known(&c, &hotplug("lan")));
        assert!(!names_known(&c, &maintenance("wan9")));
        assert!(names_known(&c, &object::Request::Status));
    }
}
