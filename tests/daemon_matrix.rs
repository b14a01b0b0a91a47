//! The event matrix: the events an OpenWrt router sees every day, in a random order with a
//! printed seed, against rail and a netifd stand-in on the test broker that acts on the lab
//! router's kernel as netifd does and talks on the bus with netifd's quirks (events and
//! `interface.down` twice per ifdown, status answered after the burst, addresses removed
//! before it says so, nothing said on a gateway-only renewal, hotplug `ifdown` without
//! DEVICE), with `nft flush ruleset` and kill -9 of rail among the steps. After every
//! step: the kernel converges to what rail wants for the lab as it is now (and every uplink
//! is probed); flows on untouched uplinks survive; an uplink that came back unchanged has
//! no transition and no flush; and at the end, no error or warning line in rail's log but
//! the one saying it restores its flushed table.
//!
//! `wana` (ISP 1, Ethernet-like) and `wanb` (ISP 2, PPPoE-like) are known only through
//! netifd; `wanc` (ISP 3) names its device and gateway in the config and is never touched.
//! RAIL_MATRIX_SEED replays a run; RAIL_MATRIX_STEPS sets its length (default 30).

#[path = "ubus_broker/mod.rs"]
mod broker;
mod common;

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use broker::netifd::{dhcp_status, pppoe_status, says, stand_in, Announce, IfEvent, Say};
use broker::Broker;
use common::lab::{Fault, Lab, Uplink, UplinkKind};
use common::matrix::{self, Expect, Rng};
use common::rail::Rail;

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
    NftFlush,
    Kill9,
}

const STEPS: [Step; 12] = [
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
    Step::NftFlush,
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
            UplinkKind::Ethernet => {
                dhcp_status(&u.dev, &u.addr.to_string(), u.prefix, &u.gw.to_string())
            }
        }
    }

    fn announce(&self, name: &'static str, status: Value, say: Vec<Say>) {
        let (done, wait) = std::sync::mpsc::channel();
        self.netifd
            .send_blocking(Announce {
                name,
                status,
                say,
                done: Some(done),
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

    /// What netifd says taking a ucode-proto interface down (docs/owrt.md): the `ifdown`
    /// event and `interface.down` `times` times (twice for `ubus call ... down`, three
    /// times for a reload that changed its section), and `hotplugs` hotplug `ifdown` calls.
    fn down_say(&self, times: usize, hotplugs: usize) -> Vec<Say> {
        let down = json!({"up": false, "pending": false, "available": true, "data": {}});
        let mut say = Vec::new();
        for _ in 0..times {
            say.push(Say::Event("ifdown"));
            say.push(Say::Notify("interface.down", down.clone()));
        }
        say.extend((0..hotplugs).map(|_| Say::Hotplug("ifdown", None)));
        say
    }

    fn up_say(&self, name: &str, event: IfEvent) -> Vec<Say> {
        says(event, self.status(name), Some(self.uplink(name).dev))
    }

    /// netifd takes `name` down (addresses first, then it says so) and, after `pause`,
    /// brings it back as the lab now has it.
    fn down_up(&self, name: &'static str, pause: Duration, between: impl FnOnce()) {
        self.kernel(name, false);
        let down = json!({"up": false, "pending": false, "available": true, "data": {}});
        self.announce(name, down, self.down_say(2, 2));
        std::thread::sleep(pause);
        between();
        self.kernel(name, true);
        self.announce(name, self.status(name), self.up_say(name, IfEvent::Up));
    }

    /// A restart as netifd does it on a reload: its burst, status answered after it.
    fn restart(&self, name: &'static str) {
        self.kernel(name, false);
        self.kernel(name, true);
        let mut say = self.down_say(3, 1);
        say.extend(self.up_say(name, IfEvent::Up));
        self.announce(name, self.status(name), say);
    }
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
        Step::ReloadUnchanged
        | Step::UbusdRestart
        | Step::RailReload
        | Step::NftFlush
        | Step::Kill9 => vec![],
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
#[cfg_attr(not(lab_root), ignore = "needs root: the network lab")]
fn the_daily_events_of_a_router_in_random_order() {
    let lab = Lab::for_rail(3);
    let (mut rng, steps) = Rng::from_env(30);
    let seed = rng.0;
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
    let config = matrix::config(&lab);
    let mut rail = Rail::start_with(&lab, &config, &["-s", &socket]);
    let mut log = String::new();

    let t_start = Instant::now();
    let mut nft_flushes = 0;
    let mut taken = 0;
    for n in 0..steps {
        if !matrix::within_budget(t_start) {
            break;
        }
        taken += 1;
        converge(&world, &rail, "start of step");
        let step = STEPS[rng.below(STEPS.len())];
        let target = NETIFD[rng.below(2)].0;
        eprintln!("step {n}: {step:?} ({target})");
        let step_log = log.clone() + &rail.log_text();
        let check = matrix::begin(&lab, format!("step {n} {step:?}"), &step_log, 6, |src| {
            uplink_of(&world, src)
        });
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
                world.announce("wanb", down, world.down_say(3, 1));
                lab.fault(2, Fault::PppoeUp);
                world.kernel("wanb", false);
                world.kernel("wanb", true);
                world.announce(
                    "wanb",
                    world.status("wanb"),
                    world.up_say("wanb", IfEvent::Up),
                );
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
                    world.up_say("wana", IfEvent::Update),
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
                matrix::wait(|| matrix::table(&lab, 20001).contains(&format!("via {next} ")));
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
                // Its exit is silent, and its new objects reach no old subscriber: only
                // the `ifup` events and hotplug calls are heard.
                for (name, _) in NETIFD {
                    world.kernel(name, false);
                    let down = json!({"up": false, "pending": false, "available": true});
                    world.announce(name, down, vec![]);
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
                    let dev = Some(world.uplink(name).dev);
                    let say = vec![Say::Event("ifup"), Say::Hotplug("ifup", dev)];
                    world.announce(name, world.status(name), say);
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
            Step::NftFlush => {
                let out = lab.exec("rtr", &["nft", "flush", "ruleset"]);
                assert!(out.status.success(), "{out:?}");
                nft_flushes += 1;
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
        let all = log.clone() + &rail.log_text();
        matrix::end(check, &all, &touched(step, target), unchanged(step), seed);
    }
    let all = log + &rail.log_text();
    let bad = matrix::bad_lines(&all);
    let restoring = all.matches(matrix::RESTORING).count();
    assert!(
        restoring <= nft_flushes,
        "{restoring} restorations, {nft_flushes} flushes"
    );
    eprintln!(
        "event matrix: {taken} steps, {} error/warning lines",
        bad.len()
    );
    assert!(bad.is_empty(), "{bad:#?} (seed {seed})");
}

fn uplink_of(world: &World, source: &str) -> &'static str {
    ["wana", "wanb", "wanc"]
        .into_iter()
        .find(|n| world.uplink(n).addr.to_string() == source)
        .unwrap_or("unknown")
}

/// rail has every uplink up on the lab's current addresses, with its rules and tables.
fn converge(world: &World, rail: &Rail, what: &str) {
    let expect: Vec<Expect> = ["wana", "wanb", "wanc"]
        .into_iter()
        .enumerate()
        .map(|(i, name)| {
            let u = world.uplink(name);
            Expect {
                name,
                addr: u.addr,
                via: match u.kind {
                    UplinkKind::Ethernet => format!("via {} ", u.gw),
                    UplinkKind::Ppp => format!("dev {} ", u.dev),
                },
                table: 20001 + i as u32,
            }
        })
        .collect();
    matrix::converge(world.lab, rail, what, &expect);
}
