//! Health in a small lab: router -> ISP (the first hop) -> "Internet" namespace that owns
//! the probe targets. Faults are injected at the ISP with nft while the engine runs.

mod health_support;

use health_support::{fast, ifindex, interface, ip, Lab};
use rail::config::{Interface, InterfaceId, Quality};
use rail::health::engine::{Engine, Event, LinkFacts};
use rail::health::{State, Status, Transition};
use std::time::{Duration, Instant};

const TARGETS: [&str; 2] = ["198.18.0.1", "198.18.0.2"];

fn lab() -> Lab {
    Lab::new(&TARGETS, true)
}

/// Run `ifaces` (all on up1) for `secs`, applying `fault` at the ISP after `fault_after`
/// seconds. Returns the status, the transitions with their instants, and the fault instant.
fn run(
    lab: &Lab,
    ifaces: Vec<Interface>,
    secs: f64,
    fault_after: f64,
    fault: &str,
) -> (Vec<Status>, Vec<(Instant, Transition)>, Instant) {
    let facts = LinkFacts {
        device: "up1".into(),
        ifindex: ifindex(&lab.router, "up1"),
        source: Some(ip("192.0.2.2")),
    };
    let engine = lab.router.spawn(move || {
        let mut engine = Engine::new(&ifaces);
        for n in 0..ifaces.len() {
            engine.device_up(InterfaceId(n), facts.clone());
        }
        let deadline = Instant::now() + Duration::from_secs_f64(secs);
        let events = smol::block_on(engine.run_until(deadline));
        let transitions = events
            .into_iter()
            .filter_map(|e| match e {
                Event::Transition(_, t) if t.from != State::NoDevice => {
                    Some((engine.instant(t.time), t))
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
    let fault_at = Instant::now();
    lab.isp
        .sh(&format!("nft add rule inet lab transit {fault}"));
    let (status, transitions) = engine.join().unwrap();
    (status, transitions, fault_at)
}

#[test]
fn silent_blackhole_beyond_the_first_hop_takes_the_uplink_down_fast() {
    let lab = lab();
    // "wan" probes the Internet; "wan_gw" the first hop, which keeps answering.
    let ifaces = vec![
        fast(interface("wan", &TARGETS)),
        fast(interface("wan_gw", &["192.0.2.1"])),
    ];
    let (st, transitions, fault_at) = run(&lab, ifaces, 3.0, 1.0, "ip daddr 198.18.0.0/15 drop");
    let down = transitions
        .iter()
        .find(|(_, t)| t.interface == "wan" && t.to == State::Down)
        .unwrap_or_else(|| panic!("wan never went down: {transitions:?}"));
    let took = down.0.saturating_duration_since(fault_at);
    println!("fast profile: down {took:?} after the fault ({})", down.1);
    assert!(took < Duration::from_secs(2), "took {took:?}");
    assert!(
        transitions.iter().all(|(_, t)| t.interface == "wan"),
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

fn random_loss(pct: u32) -> String {
    format!("ip daddr 198.18.0.0/15 numgen random mod 100 lt {pct} drop")
}

#[test]
fn thirty_percent_random_loss_trips_the_loss_limit() {
    let lab = lab();
    let wan = with_loss_limit(fast(interface("wan", &TARGETS)));
    let (st, transitions, _) = run(&lab, vec![wan], 10.0, 0.5, &random_loss(30));
    let down = transitions.iter().find(|(_, t)| t.to == State::Down);
    assert!(down.is_some(), "{transitions:?} {st:?}");
    assert!(
        transitions
            .iter()
            .any(|(_, t)| t.reason.starts_with("loss ")),
        "{transitions:?}"
    );
}

#[test]
fn two_percent_random_loss_does_not() {
    let lab = lab();
    let wan = with_loss_limit(fast(interface("wan", &TARGETS)));
    let (st, transitions, _) = run(&lab, vec![wan], 10.0, 0.5, &random_loss(2));
    assert!(
        !transitions.iter().any(|(_, t)| t.to == State::Down),
        "{transitions:?}"
    );
    assert!(st[0].sent >= 80, "{:?}", st[0]);
}
