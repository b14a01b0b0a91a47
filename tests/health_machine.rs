//! The tracker against a simulated clock and a scripted network: no sockets, no sleeps.

mod health_support;

use health_support::sim::{reply, Net, Sim};
use health_support::{interface, ip};
use rail::config::{InitialState, Interface, Quality};
use rail::health::{GlobalDetector, Input, Output, Params, State, Time, Tracker, Transition};
use std::net::IpAddr;
use std::time::Duration;

const T1: &str = "198.18.0.1";
const T2: &str = "198.18.0.2";
const T3: &str = "198.18.0.3";

/// A home-router interface on eth1 probing T1 and T2.
fn iface() -> Interface {
    let mut i = interface("wan", &[T1, T2]);
    i.device = Some("eth1".into());
    i
}

fn answer_after(rtt_ms: u64) -> Net<'static> {
    Box::new(move |_, target, sent, ident, seq| {
        vec![(sent + ms(rtt_ms), reply(target, ident, seq))]
    })
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// `i`'s tracker on the simulated clock, its device up; the transitions so far forgotten.
fn started(i: &Interface, net: Net<'static>) -> Sim<'static> {
    let tracker = Tracker::new(
        &i.name,
        Params::from_interface(i),
        0x4242,
        i.enabled,
        Time::ZERO,
    );
    let mut sim = Sim::new(tracker, net);
    sim.input(Input::DeviceUp {
        device: "eth1".into(),
    });
    sim.transitions.clear();
    sim
}

fn states(sim: &Sim<'_>) -> Vec<State> {
    sim.transitions.iter().map(|t| t.to).collect()
}

fn last<'s>(sim: &'s Sim<'_>) -> &'s Transition {
    sim.transitions.last().expect("a transition")
}

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}

#[test]
fn offline_start_needs_up_good_rounds() {
    let mut i = iface();
    i.initial_state = InitialState::Offline;
    let mut sim = started(&i, answer_after(12));
    assert_eq!(sim.tracker.state(), State::Down);
    // Down probes at recovery_interval (0.5 s): rounds 0, 0.5, 1, 1.5 and 2 s after the
    // first probe.
    sim.run_for(secs(0.2));
    let first = sim.sends[0].0;
    sim.run_until(first + secs(1.9));
    assert_eq!(
        sim.tracker.state(),
        State::Recovering,
        "4 rounds are not enough"
    );
    sim.run_until(first + secs(2.1));
    assert_eq!(states(&sim), [State::Recovering, State::Up]);
    assert_eq!(
        last(&sim).to_string(),
        "wan up: 5/5 rounds good, rtt 12.0 ms"
    );
    let st = sim.tracker.status();
    assert_eq!(st.targets.len(), 2);
    assert_eq!(st.targets[0].rtt_ms, Some(12.0));
    assert_eq!(st.targets[0].state, "up");
    assert_eq!(st.loss, 0.0);
    assert_eq!(st.sent, st.received);
}

/// A slot probes every target at once (each a different host), so an uplink wakes the
/// daemon once per slot however many targets it has; `count` slots make a round.
#[test]
fn each_slot_probes_every_target_at_once() {
    let mut i = iface();
    i.track_ip = (1..=8).map(|n| ip(&format!("198.18.0.{n}"))).collect();
    let mut sim = started(&i, answer_after(5));
    sim.run_for(secs(2.1));
    let times: Vec<u64> = sim.sends.iter().map(|(t, _)| t.as_micros()).collect();
    assert_eq!(times.len(), 24, "8 targets x 3 slots");
    for slot in times.chunks(8) {
        assert!(slot.iter().all(|&t| t == slot[0]), "{times:?}");
    }
    let starts: Vec<u64> = times.chunks(8).map(|s| s[0]).collect();
    for w in starts.windows(2) {
        assert_eq!(w[1] - w[0], 1_000_000, "one slot every interval");
    }
    let first_round: Vec<IpAddr> = sim.sends[..8].iter().map(|(_, t)| *t).collect();
    assert_eq!(first_round, i.track_ip, "every target once per slot");

    // count 2: two slots a round, half an interval apart.
    i.count = 2;
    let mut sim = started(&i, answer_after(5));
    sim.run_for(secs(2.1));
    let starts: Vec<u64> = sim.sends.chunks(8).map(|s| s[0].0.as_micros()).collect();
    for w in starts.windows(2) {
        assert_eq!(w[1] - w[0], 500_000, "{starts:?}");
    }
}

/// A probe lost while up moves the next slot to the failure pace at once, with no state
/// change: here one of two targets stops answering, so every round stays good, and the
/// uplink is probed again `failure_interval` after the lost slot, not a whole `interval`.
#[test]
fn a_lost_probe_brings_the_next_slot_forward() {
    let fault = Time::from_millis(10_000);
    let mut i = iface(); // interval 1 s, failure_interval 0.5 s
    i.timeout = ms(500);
    let mut sim = started(
        &i,
        Box::new(move |_, target, sent, ident, seq| {
            if sent >= fault && target == ip(T2) {
                vec![]
            } else {
                vec![(sent + ms(10), reply(target, ident, seq))]
            }
        }),
    );
    sim.run_for(secs(12.0));
    assert!(sim.transitions.is_empty(), "{:?}", sim.transitions);
    let after: Vec<u64> = sim
        .sends
        .iter()
        .map(|(t, _)| t.as_micros() / 1000)
        .filter(|&t| t >= 10_000)
        .collect();
    assert_eq!(
        &after[..6],
        [10_000, 10_000, 10_500, 10_500, 11_000, 11_000],
        "the lost probe of 10 s is known at 10.5 s: the next slot goes then"
    );
}

/// Uplinks that come up at different moments, with different echo ids, still probe at
/// the same instants (multiples of their slot): the engine sends all their probes from one
/// wake-up rather than waking once per uplink.
#[test]
fn uplinks_with_the_same_slot_probe_at_the_same_instants() {
    let i = iface(); // 2 targets, interval 1 s: a slot every second
    let first_sends = |ident: u16, up: Time| {
        let mut t = Tracker::new("wan", Params::from_interface(&i), ident, true, up);
        let mut out = Vec::new();
        let device = "eth1".to_string();
        t.handle(up, Input::DeviceUp { device }, &mut out);
        let mut sends = Vec::new();
        while sends.len() < 2 {
            let at = t.next_wakeup().expect("probing");
            t.poll(at, &mut out);
            let sent = out.drain(..).filter(|o| matches!(o, Output::Send(_)));
            sends.extend(sent.map(|_| at.as_micros()));
        }
        sends
    };
    let a = first_sends(1, Time::from_millis(1_234));
    let b = first_sends(6, Time::from_millis(1_401));
    assert_eq!(a, b);
    // No hold here: from the next multiple of the slot on, both targets at once.
    assert_eq!(a, [2_000_000, 2_000_000]);
}

#[test]
fn blackhole_takes_the_uplink_down_with_a_reason() {
    let fault = Time::from_millis(10_050);
    let mut sim = started(
        &iface(),
        Box::new(move |_, target, sent, ident, seq| {
            if sent >= fault {
                vec![]
            } else {
                vec![(sent + ms(10), reply(target, ident, seq))]
            }
        }),
    );
    sim.run_for(secs(20.0));
    assert_eq!(states(&sim), [State::Suspect, State::Down]);
    let down = last(&sim);
    assert_eq!(down.from, State::Suspect);
    assert_eq!(
        down.to_string(),
        "wan down: 6/6 probes lost to 198.18.0.1, 198.18.0.2"
    );
    let took = down.time.since(fault);
    assert!(took <= secs(3.5), "default profile took {took:?}");
    assert_eq!(sim.tracker.status().targets[1].state, "down");
}

/// Failover times (fastest, slowest, mean) of `i` over faults at every `step` ms of two
/// rounds, with replies taking 10 ms.
fn failover_times(i: &Interface, step: usize) -> (Duration, Duration, Duration) {
    let span = 2 * i.interval.as_millis() as u64;
    let times: Vec<Duration> = (0..span)
        .step_by(step)
        .map(|offset| {
            let fault = Time::from_millis(10_000 + offset);
            let mut sim = started(
                i,
                Box::new(move |_, target, sent, ident, seq| {
                    if sent + ms(10) >= fault {
                        vec![]
                    } else {
                        vec![(sent + ms(10), reply(target, ident, seq))]
                    }
                }),
            );
            sim.run_for(secs(20.0));
            let down = sim.transitions.iter().find(|t| t.to == State::Down);
            down.expect("went down").time.since(fault)
        })
        .collect();
    let mean = times.iter().sum::<Duration>() / times.len() as u32;
    let (min, max) = (times.iter().min(), times.iter().max());
    (*min.unwrap(), *max.unwrap(), mean)
}

#[test]
fn fast_profile_fails_over_within_700ms_wherever_the_fault_falls() {
    let mut i = iface();
    i.interval = ms(200);
    i.failure_interval = ms(100);
    i.timeout = ms(100);
    i.down = 3;
    let (min, max, mean) = failover_times(&i, 7);
    println!("fast profile: {min:?} .. {max:?}, mean {mean:?}");
    assert!(max <= ms(700), "worst failover {max:?}");
}

/// The shipped defaults: interval 1 s, timeout and failure_interval 0.5 s, down 3, three
/// targets with reliability 1.
#[test]
fn default_profile_fails_over_within_3s_wherever_the_fault_falls() {
    let mut i = iface();
    i.track_ip = vec![ip(T1), ip(T2), ip(T3)];
    i.timeout = ms(500);
    i.failure_interval = ms(500);
    i.recovery_interval = ms(1000);
    let (min, max, mean) = failover_times(&i, 37);
    println!("default profile: {min:?} .. {max:?}, mean {mean:?}");
    assert!(max <= ms(3000), "worst failover {max:?}");
    assert!(min >= ms(1500), "three rounds cannot fail faster: {min:?}");
}

/// Rounds alternating good and bad never reach `down` (or `up`) in a row.
#[test]
fn flapping_is_absorbed_by_hysteresis() {
    let mut i = iface();
    i.track_ip = vec![ip(T1)];
    i.failure_interval = i.interval;
    i.recovery_interval = i.interval;
    let mut sim = started(&i, lossy(50));
    sim.run_for(secs(30.0));
    assert!(!states(&sim).contains(&State::Down), "{:?}", states(&sim));
    assert!(states(&sim).contains(&State::Suspect));

    i.initial_state = InitialState::Offline;
    let mut sim = started(&i, lossy(50));
    sim.run_for(secs(30.0));
    assert!(!states(&sim).contains(&State::Up), "{:?}", states(&sim));
    assert!(states(&sim).contains(&State::Recovering));
}

fn dead_targets(dead: &'static [&'static str]) -> Net<'static> {
    Box::new(move |_, target, sent, ident, seq| {
        if dead.iter().any(|d| ip(d) == target) {
            vec![]
        } else {
            vec![(sent + ms(5), reply(target, ident, seq))]
        }
    })
}

#[test]
fn reliability_counts_answering_targets() {
    let mut i = iface();
    i.track_ip = vec![ip(T1), ip(T2), ip(T3)];
    i.reliability = 2;
    let mut sim = started(&i, dead_targets(&[T2]));
    sim.run_for(secs(20.0));
    assert!(sim.transitions.is_empty(), "{:?}", sim.transitions);
    assert_eq!(sim.tracker.status().targets[1].state, "down");
    assert_eq!(sim.tracker.status().targets[1].loss, 100.0);

    let mut sim = started(&i, dead_targets(&[T2, T3]));
    sim.run_for(secs(20.0));
    assert_eq!(states(&sim), [State::Suspect, State::Down]);
    assert_eq!(
        last(&sim).reason,
        "6/9 probes lost to 198.18.0.2, 198.18.0.3; 1/3 targets answered, 2 needed"
    );
}

#[test]
fn all_targets_lost_everywhere_keeps_uplinks_usable() {
    let mut b = iface();
    b.name = "wwan".into();
    let mut a_sim = started(&iface(), dead_targets(&[T1, T2]));
    let mut b_sim = started(&b, dead_targets(&[T1, T2]));
    let mut global = GlobalDetector::default();
    a_sim.run_for(secs(10.0));
    b_sim.run_for(secs(10.0));
    assert_eq!(a_sim.tracker.state(), State::Down);
    assert_eq!(b_sim.tracker.state(), State::Down);
    let change = global
        .update([&a_sim.tracker, &b_sim.tracker])
        .expect("flips");
    assert!(change.all_targets_lost);
    assert_eq!(
        change.message,
        "all targets lost on every uplink (wan, wwan): keeping them in use"
    );
    assert!(global.usable(&a_sim.tracker) && global.usable(&b_sim.tracker));
    assert_eq!(global.update([&a_sim.tracker, &b_sim.tracker]), None);

    // One uplink hears a target again: the others are really down.
    let mut c_sim = started(&iface(), dead_targets(&[T1]));
    c_sim.run_for(secs(10.0));
    let change = global
        .update([&a_sim.tracker, &b_sim.tracker, &c_sim.tracker])
        .expect("flips back");
    assert!(!change.all_targets_lost);
    assert!(!global.usable(&a_sim.tracker));
    assert!(global.usable(&c_sim.tracker));
}

#[test]
fn all_targets_lost_ignores_uplinks_without_carrier() {
    let mut a_sim = started(&iface(), dead_targets(&[T1, T2]));
    let mut b_sim = started(&iface(), answer_after(5));
    a_sim.run_for(secs(10.0));
    b_sim.run_for(secs(1.0));
    b_sim.input(Input::Carrier {
        device: "eth2".into(),
        up: false,
    });
    let mut global = GlobalDetector::default();
    assert!(global.update([&a_sim.tracker, &b_sim.tracker]).is_some());
    assert!(!global.usable(&b_sim.tracker), "no carrier: really down");
}

#[test]
fn late_replies_are_ignored() {
    let mut sim = started(&iface(), answer_after(900)); // timeout is 800 ms
    sim.run_for(secs(10.0));
    assert_eq!(states(&sim), [State::Suspect, State::Down]);
    assert_eq!(sim.tracker.status().received, 0);
}

#[test]
fn a_reply_exactly_at_the_timeout_counts() {
    let mut sim = started(&iface(), answer_after(800));
    sim.run_for(secs(10.0));
    assert!(sim.transitions.is_empty(), "{:?}", sim.transitions);
}

#[test]
fn duplicate_replies_count_once() {
    // Every probe answered three times; and the very first reply replayed forever after.
    let mut first: Option<Input> = None;
    let mut sim = started(
        &iface(),
        Box::new(move |k, target, sent, ident, seq| {
            let r = reply(target, ident, seq);
            if k == 0 {
                first = Some(r.clone());
            }
            if k < 4 {
                return vec![
                    (sent + ms(5), r.clone()),
                    (sent + ms(6), r.clone()),
                    (sent + ms(7), r),
                ];
            }
            vec![(sent + ms(5), first.clone().unwrap())]
        }),
    );
    sim.run_for(secs(10.0));
    let st = sim.tracker.status();
    assert_eq!(st.received, 4, "three copies count once, replays never");
    assert_eq!(states(&sim), [State::Suspect, State::Down]);
}

#[test]
fn spoofed_replies_never_count_as_success() {
    type Spoof = fn(IpAddr, u16, u16) -> Input;
    let spoofs: [(&str, Spoof); 4] = [
        ("wrong id", |from, ident, seq| reply(from, ident ^ 1, seq)),
        ("wrong sequence", |from, ident, seq| {
            reply(from, ident, seq.wrapping_add(1000))
        }),
        ("wrong source", |_, ident, seq| {
            reply(ip("203.0.113.9"), ident, seq)
        }),
        ("other target's address", |from, ident, seq| {
            let other = if from == ip(T1) { ip(T2) } else { ip(T1) };
            reply(other, ident, seq)
        }),
    ];
    for (what, spoof) in spoofs {
        let mut sim = started(
            &iface(),
            Box::new(move |_, target, sent, ident, seq| {
                vec![(sent + ms(3), spoof(target, ident, seq))]
            }),
        );
        sim.run_for(secs(10.0));
        assert_eq!(sim.tracker.status().received, 0, "{what}");
        assert_eq!(sim.tracker.state(), State::Down, "{what}");
    }
}

#[test]
fn carrier_loss_is_immediate() {
    let mut sim = started(&iface(), answer_after(5));
    sim.run_for(secs(5.0));
    let at = sim.now;
    sim.input(Input::Carrier {
        device: "eth1".into(),
        up: false,
    });
    assert_eq!(last(&sim).to_string(), "wan down: carrier lost on eth1");
    assert_eq!(last(&sim).time, at);
    assert_eq!(
        sim.tracker.next_wakeup(),
        None,
        "no probing without carrier"
    );
    sim.run_for(secs(5.0));
    assert_eq!(sim.transitions.len(), 1);
}

#[test]
fn carrier_return_comes_back_through_probes_not_initial_state() {
    // initial_state online: a device appearing is trusted at once, a carrier coming back is not.
    let mut sim = started(&iface(), answer_after(5));
    sim.run_for(secs(3.0));
    sim.input(Input::Carrier {
        device: "eth1".into(),
        up: false,
    });
    sim.run_for(secs(1.0));
    sim.input(Input::Carrier {
        device: "eth1".into(),
        up: true,
    });
    assert_eq!(sim.tracker.state(), State::Down);
    assert!(
        sim.tracker
            .reason()
            .contains("has carrier again, waiting for"),
        "{}",
        sim.tracker.reason()
    );
    sim.run_for(secs(10.0));
    assert_eq!(sim.tracker.state(), State::Up, "good rounds bring it back");
}

#[test]
fn a_resumed_tracker_starts_from_the_old_verdict() {
    // A reload re-created the tracker of an uplink that was down: it stays down until probes
    // say otherwise, although initial_state is online.
    let i = iface();
    let mut tracker = Tracker::new(&i.name, Params::from_interface(&i), 7, true, Time::ZERO);
    tracker.resume(false);
    let mut out = Vec::new();
    tracker.handle(
        Time::ZERO,
        Input::DeviceUp {
            device: "eth1".into(),
        },
        &mut out,
    );
    assert_eq!(tracker.state(), State::Down);
    // One-shot: the next reconnect follows initial_state again.
    tracker.handle(
        Time::ZERO,
        Input::DeviceGone {
            device: "eth1".into(),
        },
        &mut out,
    );
    tracker.handle(
        Time::ZERO,
        Input::DeviceUp {
            device: "eth1".into(),
        },
        &mut out,
    );
    assert_eq!(tracker.state(), State::Up);
    // And an uplink that was up stays up across a reload even with initial_state offline.
    let mut off = iface();
    off.initial_state = InitialState::Offline;
    let mut tracker = Tracker::new(&off.name, Params::from_interface(&off), 7, true, Time::ZERO);
    tracker.resume(true);
    tracker.handle(
        Time::ZERO,
        Input::DeviceUp {
            device: "eth1".into(),
        },
        &mut out,
    );
    assert_eq!(tracker.state(), State::Up);
}

#[test]
fn device_removal_is_immediate_and_hold_delays_probing_after_reconnect() {
    let mut i = iface();
    i.hold = secs(2.0);
    i.initial_state = InitialState::Offline;
    let mut sim = started(&i, answer_after(5));
    sim.run_for(secs(10.0));
    assert_eq!(sim.tracker.state(), State::Up);
    sim.input(Input::DeviceGone {
        device: "pppoe-wan".into(),
    });
    assert_eq!(
        last(&sim).to_string(),
        "wan no-device: device pppoe-wan gone"
    );
    sim.run_for(secs(1.0));
    let reconnect = sim.now;
    sim.input(Input::DeviceUp {
        device: "pppoe-wan".into(),
    });
    assert_eq!(
        sim.tracker.reason(),
        "device pppoe-wan up, waiting for 5 good rounds, hold 2.0 s"
    );
    let sends_before = sim.sends.len();
    sim.run_until(reconnect + secs(1.99));
    assert_eq!(sim.sends.len(), sends_before, "nothing sent during hold");
    sim.run_until(reconnect + secs(2.0) + secs(2.5));
    assert_eq!(sim.tracker.state(), State::Up);
    let up = last(&sim);
    assert!(up.time >= reconnect + secs(2.0));
}

#[test]
fn a_pause_for_a_netifd_restart_keeps_the_verdict_and_counts_nothing() {
    let mut sim = started(&iface(), answer_after(5));
    sim.run_for(secs(5.0));
    assert_eq!(sim.tracker.state(), State::Up);
    // Four restarts within a minute: each as a device loss would be four flaps (damped).
    for _ in 0..4 {
        sim.input(Input::Paused);
        assert_eq!(sim.tracker.next_wakeup(), None, "no probing while paused");
        sim.run_for(secs(1.0));
        sim.input(Input::Resumed);
        assert!(sim.tracker.next_wakeup().is_some(), "probing again");
        sim.run_for(secs(2.0));
    }
    assert_eq!(sim.transitions, [], "no transition, no flap");
    assert_eq!(sim.tracker.state(), State::Up);
    let received = sim.tracker.status().received;
    sim.run_for(secs(2.0));
    assert!(
        sim.tracker.status().received > received,
        "probes answered again"
    );
}

/// Loss that is a fixed fraction of the probes, spread evenly: `pct` in every 100.
fn lossy(pct: u64) -> Net<'static> {
    Box::new(move |k, target, sent, ident, seq| {
        if (k * pct) % 100 < pct {
            vec![]
        } else {
            vec![(sent + ms(20), reply(target, ident, seq))]
        }
    })
}

fn quality_iface() -> Interface {
    let mut i = iface();
    i.quality = Some(Quality {
        failure_latency: ms(500),
        recovery_latency: ms(300),
        failure_loss: 20,
        recovery_loss: 10,
    });
    i
}

#[test]
fn thirty_percent_loss_trips_the_loss_limit() {
    let mut sim = started(&quality_iface(), lossy(30));
    sim.run_for(secs(60.0));
    assert!(states(&sim).contains(&State::Down), "{:?}", states(&sim));
    let down = sim
        .transitions
        .iter()
        .find(|t| t.to == State::Down)
        .unwrap();
    assert!(down.reason.starts_with("loss "), "{}", down.reason);
    assert!(
        down.reason.contains("% > 20% over the last"),
        "{}",
        down.reason
    );
    assert_eq!(sim.tracker.state(), State::Down, "recovery limit is 10%");
}

#[test]
fn two_percent_loss_does_not() {
    let mut sim = started(&quality_iface(), lossy(2));
    sim.run_for(secs(120.0));
    assert!(!states(&sim).contains(&State::Down), "{:?}", states(&sim));
    assert_eq!(sim.tracker.state(), State::Up);
    let st = sim.tracker.status();
    assert!(st.received < st.sent, "some probes were lost");
}

#[test]
fn latency_limit_has_separate_failure_and_recovery_thresholds() {
    // RTT 400 ms: under failure_latency 500, over recovery_latency 300.
    let mut i = quality_iface();
    i.timeout = ms(900);
    let mut sim = started(&i, answer_after(400));
    sim.run_for(secs(20.0));
    assert!(sim.transitions.is_empty(), "{:?}", sim.transitions);

    i.initial_state = InitialState::Offline;
    let mut sim = started(&i, answer_after(400));
    sim.run_for(secs(20.0));
    assert_eq!(sim.tracker.state(), State::Down);
    assert_eq!(sim.tracker.reason(), "rtt 400.0 ms > 300 ms");
}

#[test]
fn disabled_interfaces_never_probe() {
    let mut i = iface();
    i.enabled = false;
    let mut sim = started(&i, answer_after(5));
    sim.run_for(secs(10.0));
    assert_eq!(sim.tracker.state(), State::Disabled);
    assert!(sim.sends.is_empty());
}

#[test]
fn no_targets_means_carrier_alone() {
    let mut i = iface();
    i.track_ip.clear();
    let mut sim = started(&i, answer_after(5));
    assert_eq!(sim.tracker.state(), State::Up);
    sim.run_for(secs(10.0));
    assert!(sim.sends.is_empty());
    sim.input(Input::Carrier {
        device: "eth1".into(),
        up: false,
    });
    assert_eq!(sim.tracker.state(), State::Down);
}

mod fuzz {
    use super::*;
    use proptest::prelude::*;

    #[derive(Debug, Clone)]
    enum Step {
        Wait(u16),
        /// A reply: which outstanding-ish sequence (offset back from the newest), whether the
        /// id is right, and which target it claims to come from.
        Reply(u16, bool, u8),
        Link(u8),
        /// Passive evidence asks for a confirming round.
        Confirm,
    }

    fn step() -> impl Strategy<Value = Step> {
        prop_oneof![
            6 => (1u16..1500).prop_map(Step::Wait),
            6 => (0u16..6, any::<bool>(), 0u8..4).prop_map(|(b, i, t)| Step::Reply(b, i, t)),
            1 => (0u8..4).prop_map(Step::Link),
            1 => Just(Step::Confirm),
        ]
    }

    /// Edges the state machine may take; anything else is a bug.
    fn allowed(from: State, to: State) -> bool {
        use State::*;
        from != to
            && to != Disabled
            && !matches!(
                (from, to),
                (Down, Suspect) | (Recovering, Suspect) | (Suspect, Recovering) | (Up, Recovering)
            )
    }

    proptest! {
        #[test]
        fn any_event_sequence_keeps_the_invariants(
            steps in proptest::collection::vec(step(), 1..300),
            down in 1u32..4, up in 1u32..4, count in 1u32..3, quality in any::<bool>(),
        ) {
            let mut i = iface();
            i.track_ip = vec![ip(T1), ip(T2), ip(T3)];
            i.reliability = 2;
            (i.down, i.up, i.count) = (down, up, count);
            i.hold = ms(300);
            if quality {
                i.quality = quality_iface().quality;
            }
            let mut t = Tracker::new("wan", Params::from_interface(&i), 7, true, Time::ZERO);
            let mut now = Time::ZERO;
            let mut out = Vec::new();
            let mut last_seq = 0u16;
            let mut state = t.state();
            for s in steps {
                match s {
                    Step::Wait(d) => now = now + ms(u64::from(d)),
                    Step::Reply(back, right_id, target) => {
                        let from = [ip(T1), ip(T2), ip(T3), ip("203.0.113.9")][target as usize];
                        let ident = if right_id { 7 } else { 8 };
                        let input = Input::Reply { from, ident, seq: last_seq.wrapping_sub(back) };
                        t.handle(now, input, &mut out);
                    }
                    Step::Link(k) => {
                        let device = "eth1".to_string();
                        let input = match k {
                            0 => Input::DeviceUp { device },
                            1 => Input::DeviceGone { device },
                            2 => Input::Carrier { device, up: false },
                            _ => Input::Carrier { device, up: true },
                        };
                        t.handle(now, input, &mut out);
                    }
                    Step::Confirm => {
                        let routable = t.state().routable();
                        let sent = t.confirm(now, "evidence".into(), &mut out);
                        prop_assert!(!sent || routable, "confirming while {}", t.state());
                    }
                }
                t.poll(now, &mut out);
                if let Some(w) = t.next_wakeup() {
                    prop_assert!(w > now, "poll left work due now: the engine would spin");
                }
                for o in out.drain(..) {
                    match o {
                        Output::Send(p) => last_seq = p.seq,
                        Output::Transition(tr) => {
                            prop_assert_eq!(tr.from, state);
                            prop_assert!(allowed(tr.from, tr.to), "{} -> {}", tr.from, tr.to);
                            prop_assert!(!tr.reason.is_empty());
                            state = tr.to;
                        }
                        Output::Cleared => {}
                    }
                }
                prop_assert_eq!(t.state(), state);
                for target in t.status().targets {
                    prop_assert!(target.received <= target.sent);
                    prop_assert!((0.0..=100.0).contains(&target.loss));
                }
            }
        }
    }
}

/// A network that answers in 10 ms until `fault`, and nothing after.
fn dies_at(fault: Time) -> Net<'static> {
    Box::new(move |_, target, sent, ident, seq| {
        if sent >= fault {
            vec![]
        } else {
            vec![(sent + ms(10), reply(target, ident, seq))]
        }
    })
}

#[test]
fn a_confirming_round_that_fails_takes_the_uplink_down_at_once() {
    // Default profile: interval 1 s, down 3; the suspicion comes 300 ms after the fault.
    let fault = Time::from_millis(10_050);
    let mut sim = started(&iface(), dies_at(fault));
    sim.run_until(fault + ms(300));
    assert!(states(&sim).is_empty(), "{:?}", sim.transitions);
    let before = sim.sends.len();
    assert!(
        sim.confirm("2 new connections unanswered for 250 ms; unanswered flows to 2 destinations")
    );
    // `down` probes to each target, all at once.
    assert_eq!(sim.sends.len() - before, 3 * 2);
    assert!(sim.sends[before..].iter().all(|(t, _)| *t == sim.now));
    assert!(!sim.confirm("again"), "one confirming round at a time");
    sim.run_for(secs(5.0));
    assert_eq!(states(&sim), [State::Down]);
    let down = last(&sim);
    assert_eq!(
        down.to_string(),
        "wan down: confirming round: 6/6 probes lost to 198.18.0.1, 198.18.0.2; 0/2 targets \
         answered, 1 needed; suspect: 2 new connections unanswered for 250 ms; unanswered flows to 2 destinations"
    );
    // Four RTTs of 10 ms are below the floor: 150 ms after the suspicion.
    assert_eq!(down.time, fault + ms(450));
    // Down is down: no confirming round, however suspicious.
    assert!(!sim.confirm("still silent"));
    assert_eq!(sim.cleared, 0);
}

#[test]
fn a_confirming_round_answered_clears_the_suspicion_and_nothing_else() {
    let mut sim = started(&iface(), answer_after(10));
    sim.run_until(Time::from_millis(10_000));
    let status = sim.tracker.status();
    assert!(sim.confirm("a LAN host scanning"));
    assert!(sim.tracker.confirming());
    sim.run_for(ms(15));
    assert_eq!(sim.cleared, 1, "answered within the RTT");
    assert!(!sim.tracker.confirming());
    sim.run_for(secs(10.0));
    assert!(sim.transitions.is_empty(), "{:?}", sim.transitions);
    assert_eq!(sim.tracker.state(), State::Up);
    // The windows and counters are the regular probes' alone.
    assert_eq!(status.sent + 20, sim.tracker.status().sent);
}

#[test]
fn no_confirming_round_in_the_hold_after_the_device_came_up() {
    let mut i = iface();
    i.hold = secs(2.0);
    let mut sim = started(&i, answer_after(10));
    sim.run_until(Time::from_millis(1_900));
    assert_eq!(sim.tracker.state(), State::Up, "initial_state online");
    assert!(!sim.confirm("a session not forwarding yet"));
    sim.run_until(Time::from_millis(2_000));
    assert!(sim.confirm("after the hold"));
}

#[test]
fn a_confirming_round_needs_reliability_targets() {
    // Three targets, two needed: one dead target alone clears the suspicion, two take it down.
    let run = |dead: &'static [&'static str]| {
        let mut i = interface("wan", &[T1, T2, T3]);
        i.reliability = 2;
        let mut sim = started(
            &i,
            Box::new(move |_, target: IpAddr, sent, ident, seq| {
                if dead.iter().any(|d| ip(d) == target) && sent >= Time::from_millis(10_000) {
                    vec![]
                } else {
                    vec![(sent + ms(10), reply(target, ident, seq))]
                }
            }),
        );
        sim.run_until(Time::from_millis(10_000));
        assert!(sim.confirm("silence"));
        sim.run_for(ms(400));
        (sim.cleared, states(&sim))
    };
    assert_eq!(run(&[T3]), (1, vec![]));
    assert_eq!(run(&[T2, T3]), (0, vec![State::Down]));
}
