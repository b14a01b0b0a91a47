//! The event matrix: the events an OpenWrt router sees every day, in a random order with a
//! printed seed, against rail and a netifd stand-in on the test broker that acts on the lab
//! router's kernel as netifd does and talks on the bus with netifd's quirks (events and
//! `interface.down` twice per ifdown, status answered after the burst, addresses removed
//! before it says so, nothing said on a gateway-only renewal, hotplug `ifdown` without
//! DEVICE). After every step: the kernel converges to what rail wants for the lab as it is
//! now; flows on untouched uplinks survive; an uplink that came back unchanged keeps its
//! flows (no flush); and at the end, no error line in rail's log.
//!
//! `wana` (ISP 1, Ethernet-like) and `wanb` (ISP 2, PPPoE-like) are known only through
//! netifd; `wanc` (ISP 3) names its device and gateway in the config and is never touched.
//! RAIL_MATRIX_SEED replays a run; RAIL_MATRIX_STEPS sets its length (default 30).

#[path = "ubus_broker/mod.rs"]
mod broker;
mod common;

use std::cell::RefCell;
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::rc::Rc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use broker::netifd::{netifd_peer_for, pppoe_status};
use broker::Broker;
use common::lab::{Fault, Lab, Uplink, UplinkKind};
use common::rail::{interface, Rail, FAST};

/// What the stand-in says on the bus, in order, after setting an interface's status.
enum Say {
    Event(&'static str),
    Notify(&'static str, Value),
    /// The hotplug script's call (`ubus call rail hotplug`); DEVICE only on ifup.
    Hotplug(&'static str, Option<String>),
}

struct Announce {
    name: &'static str,
    status: Value,
    say: Vec<Say>,
    done: std::sync::mpsc::Sender<()>,
}

fn stand_in(path: PathBuf, first: Vec<(&'static str, Value)>) -> smol::channel::Sender<Announce> {
    let (tx, rx) = smol::channel::unbounded::<Announce>();
    std::thread::spawn(move || {
        let ex = smol::LocalExecutor::new();
        let states: Vec<(String, Rc<RefCell<Value>>)> = first
            .into_iter()
            .map(|(n, s)| (n.to_string(), Rc::new(RefCell::new(s))))
            .collect();
        let peer = netifd_peer_for(&path, states.clone());
        let runner = peer.clone();
        ex.spawn(async move { runner.run().await }).detach();
        smol::block_on(ex.run(async {
            while let Ok(a) = rx.recv().await {
                if let Some((_, state)) = states.iter().find(|(n, _)| n == a.name) {
                    // netifd answers a status read only after its burst: the new status.
                    *state.borrow_mut() = a.status;
                }
                for say in a.say {
                    let _ = match say {
                        Say::Event(action) => {
                            let data = json!({"action": action, "interface": a.name});
                            peer.send_event("network.interface", &data).await
                        }
                        Say::Notify(kind, mut status) => {
                            status["interface"] = json!(a.name);
                            peer.notify("network.interface", kind, &status).await
                        }
                        Say::Hotplug(action, device) => {
                            let mut args = json!({"action": action, "interface": a.name});
                            if let Some(d) = device {
                                args["device"] = json!(d);
                            }
                            peer.call("rail", "hotplug", &args).await.map(|_| ())
                        }
                    };
                }
                let _ = a.done.send(());
            }
        }));
    });
    tx
}

/// A small deterministic generator (xorshift64*), so a seed replays a run.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 33) as usize % n
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    IfdownIfup,
    ReloadUnchanged,
    ReloadRestart,
    ReloadNewDevice,
    RenewAddress,
    RenewGateway,
    PppoeRecreate,
    NetifdRestart,
    UbusdRestart,
    RailReload,
    Kill9,
}

const STEPS: [Step; 11] = [
    Step::IfdownIfup,
    Step::ReloadUnchanged,
    Step::ReloadRestart,
    Step::ReloadNewDevice,
    Step::RenewAddress,
    Step::RenewGateway,
    Step::PppoeRecreate,
    Step::NetifdRestart,
    Step::UbusdRestart,
    Step::RailReload,
    Step::Kill9,
];

/// The uplinks netifd knows: name and lab ISP.
const NETIFD: [(&str, usize); 2] = [("wana", 1), ("wanb", 2)];

struct World<'a> {
    lab: &'a Lab,
    netifd: smol::channel::Sender<Announce>,
    /// wana's next hop when a gateway-only renewal moved it off the lab's.
    gw_a: Option<Ipv4Addr>,
}

impl World<'_> {
    fn uplink(&self, name: &str) -> Uplink {
        let isp = NETIFD
            .iter()
            .find(|(n, _)| *n == name)
            .map_or(3, |(_, i)| *i);
        let mut u = self.lab.uplink(isp);
        if name == "wana" {
            u.gw = self.gw_a.unwrap_or(u.gw);
        }
        u
    }

    fn status(&self, name: &str) -> Value {
        let u = self.uplink(name);
        match u.kind {
            UplinkKind::Ppp => pppoe_status(true, &u.dev, &u.addr.to_string(), &u.gw.to_string()),
            UplinkKind::Ethernet => json!({
                "up": true, "pending": false, "available": true, "uptime": 5,
                "l3_device": u.dev, "device": u.dev, "proto": "dhcp", "metric": 0,
                "ipv4-address": [{"address": u.addr.to_string(), "mask": u.prefix}],
                "ipv6-address": [], "route": [{"target": "0.0.0.0", "mask": 0,
                "nexthop": u.gw.to_string(), "source": format!("{}/32", u.addr)}],
                "data": {}
            }),
        }
    }

    fn announce(&self, name: &'static str, status: Value, say: Vec<Say>) {
        let (done, wait) = std::sync::mpsc::channel();
        self.netifd
            .send_blocking(Announce {
                name,
                status,
                say,
                done,
            })
            .unwrap();
        wait.recv_timeout(Duration::from_secs(10))
            .expect("stand-in");
    }

    fn ip(&self, args: &[&str]) {
        let mut full = vec!["ip"];
        full.extend_from_slice(args);
        let out = self.lab.exec("rtr", &full);
        assert!(out.status.success(), "{full:?}: {out:?}");
    }

    /// netifd's address and main default route of `name`, added (`up`) or removed.
    fn kernel(&self, name: &str, up: bool) {
        let u = self.uplink(name);
        let (addr, gw, metric) = (u.addr.to_string(), u.gw.to_string(), 10 * u.isp);
        let op = if up { "replace" } else { "del" };
        match u.kind {
            UplinkKind::Ppp => self.ip(&["addr", op, &addr, "peer", &gw, "dev", &u.dev]),
            UplinkKind::Ethernet => {
                self.ip(&["addr", op, &format!("{addr}/{}", u.prefix), "dev", &u.dev])
            }
        }
        if up {
            let mut route = vec!["route", "replace", "default"];
            if u.kind == UplinkKind::Ethernet {
                route.extend_from_slice(&["via", &gw]);
            }
            let metric = metric.to_string();
            route.extend_from_slice(&["dev", &u.dev, "metric", &metric]);
            self.ip(&route);
        }
    }

    fn down_say(&self) -> Vec<Say> {
        let down = json!({"up": false, "pending": false, "available": true, "data": {}});
        vec![
            Say::Event("ifdown"),
            Say::Notify("interface.down", down.clone()),
            Say::Event("ifdown"),
            Say::Notify("interface.down", down),
            Say::Hotplug("ifdown", None),
        ]
    }

    fn up_say(&self, name: &str, action: &'static str) -> Vec<Say> {
        let kind = "interface.update";
        vec![
            Say::Event(action),
            Say::Notify(kind, self.status(name)),
            Say::Hotplug(action, Some(self.uplink(name).dev)),
        ]
    }

    /// netifd takes `name` down (addresses first, then it says so) and, after `pause`,
    /// brings it back as the lab now has it.
    fn down_up(&self, name: &'static str, pause: Duration, between: impl FnOnce()) {
        self.kernel(name, false);
        let down = json!({"up": false, "pending": false, "available": true, "data": {}});
        self.announce(name, down, self.down_say());
        std::thread::sleep(pause);
        between();
        self.kernel(name, true);
        self.announce(name, self.status(name), self.up_say(name, "ifup"));
    }

    /// A restart as netifd does it on a reload: its burst, status answered after it.
    fn restart(&self, name: &'static str) {
        self.kernel(name, false);
        self.kernel(name, true);
        let mut say = self.down_say();
        say.extend(self.up_say(name, "ifup"));
        self.announce(name, self.status(name), say);
    }
}

fn config(lab: &Lab) -> String {
    let netifd_only = |isp: usize, name: &str| {
        let u = lab.uplink(isp);
        interface(lab, isp, FAST)
            .replace(
                &format!("config interface 'isp{isp}'"),
                &format!("config interface '{name}'"),
            )
            .replace(&format!("\toption device '{}'\n", u.dev), "")
            .replace(&format!("\toption gateway '{}'\n", u.gw), "")
    };
    let wanc =
        interface(lab, 3, FAST).replace("config interface 'isp3'", "config interface 'wanc'");
    let mut c = format!(
        "config globals 'globals'\n\n{}{}{wanc}",
        netifd_only(1, "wana"),
        netifd_only(2, "wanb")
    );
    for n in ["wana", "wanb", "wanc"] {
        c += &format!("config member '{n}_m'\n\toption interface '{n}'\n\toption metric '1'\n\n");
    }
    c += "config policy 'all'\n\tlist use_member 'wana_m'\n\tlist use_member 'wanb_m'\n\tlist use_member 'wanc_m'\n\n";
    c += "config rule 'everything'\n\toption dest_ip '0.0.0.0/0'\n\toption use_policy 'all'\n";
    c
}

fn env(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

/// Which uplinks a step may disturb (their flows may die).
fn touched(step: Step, target: &str) -> Vec<&'static str> {
    match step {
        Step::IfdownIfup | Step::ReloadRestart => {
            vec![if target == "wana" { "wana" } else { "wanb" }]
        }
        Step::ReloadNewDevice | Step::PppoeRecreate => vec!["wanb"],
        Step::RenewAddress | Step::RenewGateway => vec!["wana"],
        Step::NetifdRestart => vec!["wana", "wanb"],
        Step::ReloadUnchanged | Step::UbusdRestart | Step::RailReload | Step::Kill9 => vec![],
    }
}

/// Whether the uplinks a step touches come back exactly as they were.
fn unchanged(step: Step) -> bool {
    !matches!(
        step,
        Step::ReloadNewDevice | Step::RenewAddress | Step::RenewGateway | Step::PppoeRecreate
    )
}

#[test]
fn the_daily_events_of_a_router_in_random_order() {
    let Some(lab) = Lab::for_rail(3) else {
        return;
    };
    let seed = env("RAIL_MATRIX_SEED").unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64
            | 1
    });
    let steps = env("RAIL_MATRIX_STEPS").unwrap_or(30);
    eprintln!("event matrix: RAIL_MATRIX_SEED={seed} RAIL_MATRIX_STEPS={steps}");
    let mut rng = Rng(seed);
    let dir = std::env::temp_dir().join(format!("rail-matrix-{}", lab.name()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("ubus.sock");
    let mut broker = Broker::start(&path);
    let mut world = World {
        lab: &lab,
        netifd: smol::channel::unbounded().0,
        gw_a: None,
    };
    // The stand-in starts with both uplinks up.
    world.netifd = stand_in(
        path.clone(),
        vec![
            ("wana", world.status("wana")),
            ("wanb", world.status("wanb")),
        ],
    );
    for (name, _) in NETIFD {
        world.kernel(name, true);
    }
    // The link bounce of a netifd restart must not take the lab's IPv6 addresses along.
    for conf in ["all", "default"] {
        let key = format!("net.ipv6.conf.{conf}.keep_addr_on_down=1");
        let _ = lab.exec("rtr", &["sysctl", "-q", "-w", &key]);
    }
    let socket = path.to_str().unwrap().to_string();
    let config = config(&lab);
    let mut rail = Rail::start_with(&lab, &config, &["-s", &socket]);
    let mut log = String::new();

    for n in 0..steps {
        converge(&world, &rail, "start of step");
        let flows: Vec<_> = (0..6)
            .map(|_| {
                let f = lab.open_flow("lan");
                (uplink_of(&world, &f.source), f)
            })
            .collect();
        let step = STEPS[rng.below(STEPS.len())];
        let target = NETIFD[rng.below(2)].0;
        eprintln!("step {n}: {step:?} ({target})");
        let flushes_before = flushes(&(log.clone() + &rail.log_text()));
        let transitions_before = transitions(&(log.clone() + &rail.log_text()));
        let t0 = Instant::now();
        match step {
            Step::IfdownIfup => world.down_up(
                if target == "wana" { "wana" } else { "wanb" },
                Duration::from_millis(300),
                || {},
            ),
            Step::ReloadUnchanged => {}
            Step::ReloadRestart => world.restart(if target == "wana" { "wana" } else { "wanb" }),
            Step::ReloadNewDevice => {
                // wanb's device is replaced (a new ifindex, the same addresses).
                world.kernel("wanb", false);
                let down = json!({"up": false, "pending": false, "available": true});
                world.announce("wanb", down, world.down_say());
                lab.fault(2, Fault::PppoeUp);
                world.kernel("wanb", false);
                world.kernel("wanb", true);
                world.announce("wanb", world.status("wanb"), world.up_say("wanb", "ifup"));
            }
            Step::RenewAddress => {
                lab.fault(1, Fault::Renew);
                world.gw_a = None;
                let gw = world.uplink("wana").gw.to_string();
                world.ip(&[
                    "route",
                    "replace",
                    "default",
                    "via",
                    &gw,
                    "dev",
                    &world.uplink("wana").dev,
                    "metric",
                    "10",
                ]);
                world.announce(
                    "wana",
                    world.status("wana"),
                    world.up_say("wana", "ifupdate"),
                );
            }
            Step::RenewGateway => {
                let u = world.uplink("wana");
                let base = u32::from(u.addr) & !((1u32 << (32 - u.prefix)) - 1);
                let lab_gw = lab.uplink(1).gw;
                let alt = Ipv4Addr::from(base | 14);
                let next = if u.gw == alt { lab_gw } else { alt };
                if next == alt {
                    let out = lab.exec(
                        "isp1",
                        &[
                            "ip",
                            "addr",
                            "replace",
                            &format!("{alt}/{}", u.prefix),
                            "dev",
                            "cust",
                        ],
                    );
                    assert!(out.status.success(), "{out:?}");
                }
                world.gw_a = (next == alt).then_some(alt);
                // netifd: new status, new default route in main, and not a word.
                world.announce("wana", world.status("wana"), vec![]);
                let renewal = Instant::now();
                world.ip(&[
                    "route",
                    "replace",
                    "default",
                    "via",
                    &next.to_string(),
                    "dev",
                    &u.dev,
                    "metric",
                    "10",
                ]);
                wait(|| table(&lab, 1).contains(&format!("via {next} ")));
                eprintln!("  gateway-only renewal followed in {:?}", renewal.elapsed());
            }
            Step::PppoeRecreate => world.down_up("wanb", Duration::from_millis(500), || {
                lab.fault(2, Fault::PppoeDrop);
                lab.fault(2, Fault::PppoeUpNew);
                world.kernel("wanb", false);
            }),
            Step::NetifdRestart => {
                // netifd exits (interfaces down), starts: deletes every ip rule, bounces
                // the links, brings the interfaces back.
                for (name, _) in NETIFD {
                    world.kernel(name, false);
                    let down = json!({"up": false, "pending": false, "available": true});
                    world.announce(name, down, world.down_say());
                }
                // netifd's system_flush_iprules: every rule deleted, then local, main and
                // default added back, in one go.
                let flush = "rule flush\nrule add pref 32766 lookup main\nrule add pref 32767 lookup default\n";
                let out = lab.exec(
                    "rtr",
                    &["sh", "-c", &format!("printf '{flush}' | ip -batch -")],
                );
                assert!(out.status.success(), "{out:?}");
                for (name, _) in NETIFD {
                    let dev = world.uplink(name).dev;
                    world.ip(&["link", "set", &dev, "down"]);
                    world.ip(&["link", "set", &dev, "up"]);
                }
                for (name, _) in NETIFD {
                    world.kernel(name, true);
                    world.announce(name, world.status(name), world.up_say(name, "ifup"));
                }
            }
            Step::UbusdRestart => {
                broker.stop();
                std::thread::sleep(Duration::from_millis(200));
                broker = Broker::start(&path);
            }
            Step::RailReload => {
                let out = rail.cli(&["reload"]);
                assert!(out.status.success(), "{out:?}");
            }
            Step::Kill9 => {
                log += &rail.log_text();
                rail.kill();
                // Its files go with it: drop it before the new one writes them again.
                drop(rail);
                rail = Rail::start_with(&lab, &config, &["-s", &socket]);
            }
        }
        converge(&world, &rail, &format!("step {n} {step:?}"));
        eprintln!("  converged in {:?}", t0.elapsed());
        let touched = touched(step, target);
        for (on, mut f) in flows {
            if !touched.contains(&on) {
                assert!(
                    f.alive(Duration::from_secs(2)),
                    "step {n} {step:?}: a flow on {on} died (seed {seed})"
                );
            }
        }
        let all = log.clone() + &rail.log_text();
        if unchanged(step) {
            let new: Vec<_> = flushes(&all)
                .into_iter()
                .skip(flushes_before.len())
                .collect();
            assert!(new.is_empty(), "step {n} {step:?}: {new:?} (seed {seed})");
            let moved: Vec<_> = transitions(&all)
                .into_iter()
                .skip(transitions_before.len())
                .filter(|l| {
                    touched
                        .iter()
                        .any(|t| l.starts_with(&format!("rail: {t} ")))
                })
                .collect();
            assert!(
                moved.is_empty(),
                "step {n} {step:?}: {moved:?} (seed {seed})"
            );
        }
    }
    let all = log + &rail.log_text();
    let bad: Vec<&str> = all
        .lines()
        .filter(|l| l.starts_with("rail: error:") || l.starts_with("rail: warning:"))
        .collect();
    eprintln!(
        "event matrix: {steps} steps, {} error/warning lines",
        bad.len()
    );
    assert!(bad.is_empty(), "{bad:#?} (seed {seed})");
}

/// The transition lines ("rail: wana down: ...") of the log.
fn transitions(log: &str) -> Vec<String> {
    let states = [
        "up",
        "down",
        "suspect",
        "recovering",
        "no-device",
        "disabled",
    ];
    log.lines()
        .filter(|l| {
            let mut words = l.split(' ');
            words.next() == Some("rail:")
                && words.next().is_some()
                && words
                    .next()
                    .is_some_and(|w| states.iter().any(|s| w == format!("{s}:")))
        })
        .map(String::from)
        .collect()
}

fn flushes(log: &str) -> Vec<String> {
    log.lines()
        .filter(|l| l.contains("deleted its conntrack flows"))
        .map(String::from)
        .collect()
}

fn uplink_of(world: &World, source: &str) -> &'static str {
    ["wana", "wanb", "wanc"]
        .into_iter()
        .find(|n| world.uplink(n).addr.to_string() == source)
        .unwrap_or("unknown")
}

fn table(lab: &Lab, isp: usize) -> String {
    lab.run(
        "rtr",
        &["ip", "route", "show", "table", &format!("{}", 20000 + isp)],
    )
}

/// Polls `cond` every 2 ms for up to 5 s; the time it took.
fn wait(cond: impl Fn() -> bool) -> Duration {
    let t0 = Instant::now();
    while !cond() {
        assert!(t0.elapsed() < Duration::from_secs(5), "not within 5 s");
        std::thread::sleep(Duration::from_millis(2));
    }
    t0.elapsed()
}

/// rail has every uplink up on the lab's current addresses, with its rules and tables.
fn converge(world: &World, rail: &Rail, what: &str) {
    let lab = world.lab;
    rail.wait_for(what, Duration::from_secs(15), |r| {
        let s = r.status();
        let rules = lab.run("rtr", &["ip", "rule"]);
        ["wana", "wanb", "wanc"]
            .into_iter()
            .enumerate()
            .all(|(i, n)| {
                let u = world.uplink(n);
                let w = &s["interfaces"][n];
                let via = match u.kind {
                    UplinkKind::Ethernet => format!("via {} ", u.gw),
                    UplinkKind::Ppp => format!("dev {} ", u.dev),
                };
                w["state"] == "up"
                    && w["address"] == u.addr.to_string().as_str()
                    && rules.contains(&format!("from {} lookup", u.addr))
                    && table(lab, i + 1).contains(&via)
            })
    });
}
