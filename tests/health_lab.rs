//! Health on the shared network lab (tests/common/lab.rs): router, ISPs, Internet. Faults
//! are injected at ISP 1 with `lab.sh fault` while the engine runs in the router namespace.

mod common;
mod health_support;

use common::lab::{Fault, Lab};
use health_support::{fast, interface, spawn_in};
use rail::config::{Interface, InterfaceId, Quality};
use rail::family::Af;
use rail::health::engine::{Engine, Event, LinkFacts};
use rail::health::{State, Status, Transition};
use std::net::IpAddr;
use std::time::{Duration, Instant, SystemTime};

/// The lab with one ISP; main's default route via it (as netifd installs it on OpenWrt,
/// and as the lab's loose rp_filter needs for replies), plus what rail's dataplane adds:
/// ISP 1's table and the fwmark rule that sends marked probes there.
fn lab() -> Lab {
    let lab = Lab::up(1);
    lab.route_default_via(1);
    let up = lab.uplink(1);
    let (gw, dev) = (up.gw.to_string(), up.dev.clone());
    lab.run(
        "rtr",
        &[
            "ip", "route", "add", "default", "via", &gw, "dev", &dev, "table", "101",
        ],
    );
    lab.run(
        "rtr",
        &[
            "ip",
            "rule",
            "add",
            "fwmark",
            "0x01000000/0x3f000000",
            "lookup",
            "101",
        ],
    );
    lab
}

fn targets(lab: &Lab) -> Vec<String> {
    lab.targets().iter().map(ToString::to_string).collect()
}

fn on(name: &str, targets: &[String]) -> Interface {
    let refs: Vec<&str> = targets.iter().map(String::as_str).collect();
    fast(interface(name, &refs))
}

/// Run `ifaces` (all on ISP 1's device) for `secs`, applying `fault` to ISP 1 after
/// `fault_after` seconds. Returns the status, the transitions with their wall-clock times,
/// and when the fault took effect.
fn run(
    lab: &Lab,
    ifaces: Vec<Interface>,
    secs: f64,
    fault_after: f64,
    fault: Fault,
) -> (Vec<Status>, Vec<(SystemTime, Transition)>, SystemTime) {
    let up = lab.uplink(1);
    let facts = LinkFacts {
        ifindex: health_support::ifindex_in(&lab.ns("rtr"), &up.dev),
        device: up.dev,
        source: Some(IpAddr::V4(up.addr)),
    };
    let engine = spawn_in(&lab.ns("rtr"), move || {
        let mut engine = Engine::new(&ifaces).unwrap();
        for n in 0..ifaces.len() {
            engine.device_up(InterfaceId(n), Af::Inet, facts.clone());
        }
        let deadline = Instant::now() + Duration::from_secs_f64(secs);
        let events = smol::block_on(engine.run_until(deadline));
        // The engine's clock is monotonic; the lab reports wall-clock times.
        let (mono, wall) = (Instant::now(), SystemTime::now());
        let transitions = events
            .into_iter()
            .filter_map(|e| match e {
                Event::Transition(_, _, t) if t.from != State::NoDevice => {
                    Some((wall - (mono - engine.instant(t.time)), t))
                }
                _ => None,
            })
            .collect::<Vec<_>>();
        let status = (0..ifaces.len())
            .map(|n| engine.status(InterfaceId(n)))
            .collect::<Vec<_>>();
        (status, transitions)
    });
    std::thread::sleep(Duration::from_secs_f64(fault_after));
    let fault_at = lab.fault(1, fault);
    let (status, transitions) = engine.join().unwrap();
    (status, transitions, fault_at)
}

#[test]
#[cfg_attr(not(lab_root), ignore = "needs root: the network lab")]
fn silent_blackhole_on_isp1_takes_it_down_although_its_first_hop_answers() {
    let lab = lab();
    let gw = lab.uplink(1).gw.to_string();
    // "isp1" probes the Internet; "isp1_gw" the first hop, which keeps answering.
    let ifaces = vec![on("isp1", &targets(&lab)), on("isp1_gw", &[gw])];
    let (st, transitions, fault_at) = run(&lab, ifaces, 3.0, 1.0, Fault::Blackhole);
    let down = transitions
        .iter()
        .find(|(_, t)| t.interface == "isp1" && t.to == State::Down)
        .unwrap_or_else(|| panic!("isp1 never went down: {transitions:?}"));
    assert!(down.0 > fault_at, "down before the fault: {transitions:?}");
    let took = down.0.duration_since(fault_at).unwrap_or_default();
    println!("fast profile: down {took:?} after the fault ({})", down.1);
    assert!(took < Duration::from_secs(2), "took {took:?}");
    assert!(
        transitions.iter().all(|(_, t)| t.interface == "isp1"),
        "the first hop still answers: {transitions:?}"
    );
    assert_eq!(st[1].state, State::Up);
    assert_eq!(st[0].state, State::Down);
}

fn with_loss_limit(mut i: Interface) -> Interface {
    i.quality = Some(Quality {
        failure_latency: Duration::from_millis(1000),
        recovery_latency: Duration::from_millis(500),
        failure_loss: 20,
        recovery_loss: 10,
    });
    i
}

#[test]
#[cfg_attr(not(lab_root), ignore = "needs root: the network lab")]
fn thirty_percent_random_loss_trips_the_loss_limit() {
    let lab = lab();
    let wan = with_loss_limit(on("isp1", &targets(&lab)));
    let (st, transitions, fault) = run(&lab, vec![wan], 10.0, 0.5, Fault::Loss(30));
    let down = transitions.iter().find(|(_, t)| t.to == State::Down);
    assert!(down.is_some_and(|d| d.0 > fault), "{transitions:?} {st:?}");
    assert!(
        transitions
            .iter()
            .any(|(_, t)| t.reason.starts_with("loss ")),
        "{transitions:?}"
    );
}

#[test]
#[cfg_attr(not(lab_root), ignore = "needs root: the network lab")]
fn two_percent_random_loss_does_not() {
    let lab = lab();
    let wan = with_loss_limit(on("isp1", &targets(&lab)));
    let (st, transitions, _) = run(&lab, vec![wan], 10.0, 0.5, Fault::Loss(2));
    assert!(
        !transitions.iter().any(|(_, t)| t.to == State::Down),
        "{transitions:?}"
    );
    assert!(st[0].sent >= 300, "{:?}", st[0]);
    assert!(
        st[0].received < st[0].sent,
        "some probes were lost: {:?}",
        st[0]
    );
}
