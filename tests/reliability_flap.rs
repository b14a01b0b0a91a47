//! Flap damping against a simulated clock (docs/health.md, "Flap damping"): an uplink
//! whose carrier or whose upstream flaps every second for ten minutes changes state a
//! bounded number of times, comes back once it is stable, and its first failures are not
//! delayed at all. The lab version with a running daemon is in reliability_soak.rs.

mod health_support;

use health_support::interface;
use rail::config::Interface;
use rail::health::{Input, Output, Params, State, Time, Tracker};
use std::time::Duration;

/// The lab's fast profile (probes every 0.2 s, down and up after 3 rounds), so that a
/// one-second flap takes the uplink down and up (slower profiles absorb it in `suspect`).
fn iface() -> Interface {
    let mut i = interface("wan", &["198.18.0.1", "198.18.0.2"]);
    i.device = Some("eth1".into());
    let fast = Duration::from_millis(200);
    (
        i.interval,
        i.failure_interval,
        i.recovery_interval,
        i.timeout,
    ) = (fast, fast, fast, fast);
    (i.down, i.up, i.hold) = (3, 3, Duration::ZERO);
    i
}

/// Drives a tracker for `secs` seconds in 10 ms steps; `fault(t)` says whether the uplink
/// is broken at second `t` and `carrier` whether that is a carrier loss (else a silent
/// blackhole). Returns the transitions and the final state.
fn simulate(secs: u64, carrier: bool, fault: impl Fn(f64) -> bool) -> (Vec<(f64, State)>, State) {
    let i = iface();
    let mut t = Tracker::new("wan", Params::from_interface(&i), 7, true, Time::ZERO);
    let mut out = Vec::new();
    t.handle(
        Time::ZERO,
        Input::DeviceUp {
            device: "eth1".into(),
        },
        &mut out,
    );
    let mut replies: Vec<(Time, Input)> = Vec::new();
    let mut transitions = Vec::new();
    let mut was_broken = false;
    for step in 0..secs * 100 {
        let now = Time::from_millis(step * 10);
        let at = step as f64 / 100.0;
        let broken = fault(at);
        if carrier && broken != was_broken {
            t.handle(
                now,
                Input::Carrier {
                    device: "eth1".into(),
                    up: !broken,
                },
                &mut out,
            );
        }
        was_broken = broken;
        let (due, later): (Vec<_>, Vec<_>) = replies.drain(..).partition(|(at, _)| *at <= now);
        replies = later;
        for (_, r) in due {
            t.handle(now, r, &mut out);
        }
        t.poll(now, &mut out);
        for o in out.drain(..) {
            match o {
                Output::Send(p) if !broken => replies.push((
                    now + Duration::from_millis(5),
                    Input::Reply {
                        from: p.target,
                        ident: p.ident,
                        seq: p.seq,
                    },
                )),
                Output::Send(_) => {}
                Output::Transition(tr) => transitions.push((at, tr.to)),
                Output::Cleared => {}
            }
        }
    }
    (transitions, t.state())
}

/// Broken during odd seconds for the first `flap_secs`, then stable.
fn flapping(flap_secs: f64) -> impl Fn(f64) -> bool {
    move |t| t < flap_secs && (t as u64) % 2 == 1
}

#[test]
fn carrier_flapping_every_second_for_ten_minutes_is_damped() {
    let (tr, end) = simulate(660, true, flapping(600.0));
    eprintln!("carrier flapping 600 s: {} transitions", tr.len());
    // Undamped: 300 carrier losses, each down, recovering and up again (a carrier comes
    // back through probes): 900 transitions.
    assert!(tr.len() <= 60, "{} transitions: {tr:?}", tr.len());
    // The first flaps go through: damping never delays an ordinary failover or failback.
    assert_eq!(tr[0], (0.0, State::Up), "the device came up");
    assert_eq!(tr[1], (1.0, State::Down));
    assert!(back_up_within(&tr, 2.0, 1.0), "{tr:?}");
    // Stable again: back up after the hold-down (at most the cap) and the good rounds.
    assert_eq!(end, State::Up, "{tr:?}");
}

#[test]
fn upstream_flapping_every_second_for_ten_minutes_is_damped() {
    let (tr, end) = simulate(660, false, flapping(600.0));
    eprintln!("upstream flapping 600 s: {} transitions", tr.len());
    assert!(tr.len() <= 80, "{} transitions: {tr:?}", tr.len());
    assert_eq!(end, State::Up, "{tr:?}");
}

#[test]
fn damping_fades_when_the_uplink_stays_stable() {
    // Six flaps, then ten quiet minutes, then one more failure: not damped.
    let (tr, _) = simulate(1000, true, |t| {
        (t < 12.0 && (t as u64) % 2 == 1) || (900.0..905.0).contains(&t)
    });
    let late: Vec<_> = tr.iter().filter(|(at, _)| *at >= 900.0).copied().collect();
    assert_eq!(late[0], (900.0, State::Down), "{tr:?}");
    assert!(back_up_within(&late, 905.0, 1.0), "{tr:?}");
}

/// Whether the uplink is up again within `limit` seconds after `at` (its up rounds).
fn back_up_within(tr: &[(f64, State)], at: f64, limit: f64) -> bool {
    tr.iter()
        .any(|&(t, s)| s == State::Up && t >= at && t <= at + limit)
}
