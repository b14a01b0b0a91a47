//! The failover and failback times docs/config.md promises for the default timings, checked
//! against the health engine's own state machine on a simulated clock: a fault at many
//! points of a round, replies after 10 ms while the uplink forwards.

use rail::config::{from_package, Interface};
mod health_support;

use health_support::sim;
use rail::health::machine::{Output, State, Tracker};
use rail::health::params::Params;
use rail::health::time::Time;
use std::time::Duration;

const DEFAULT_CONFIG: &str = include_str!("../files/etc/config/rail");
const RTT: Duration = Duration::from_millis(10);
/// Long enough for the tracker to settle before any fault.
const WARM_UP: Duration = Duration::from_secs(20);

/// The shipped default's `wan`, with its first `interval` line replaced by `interval`.
fn wan(interval: &str) -> Interface {
    let text = DEFAULT_CONFIG.replacen(
        "option interval '1s'",
        &format!("option interval '{interval}'"),
        1,
    );
    let pkg = rail::uci::parse("rail", &text).expect("syntax");
    from_package("rail", &pkg)
        .expect("valid")
        .interfaces
        .remove(0)
}

/// Run the tracker until it enters `want` after `from`; `answers(t)` says whether a probe
/// sent at `t` (since the start) is answered. Returns how long after `from` that happened.
fn time_to(
    iface: &Interface,
    from: Duration,
    want: State,
    answers: impl Fn(Duration) -> bool,
) -> Option<Duration> {
    let since_start = |t: Time| t.since(Time::ZERO);
    let t = Tracker::new("wan", Params::from_interface(iface), 1, true, Time::ZERO);
    let until = Time::ZERO + from + Duration::from_secs(30);
    sim::run(
        t,
        RTT,
        until,
        |now| answers(since_start(now)),
        |now, o| match o {
            Output::Transition(tr) if tr.to == want && since_start(now) >= from => {
                Some(since_start(now) - from)
            }
            _ => None,
        },
    )
}

/// Detection and failback times for faults at 40 points spread over one interval.
fn spread(iface: &Interface) -> (Vec<Duration>, Vec<Duration>) {
    let outage = Duration::from_secs(10);
    (0..40)
        .map(|k| {
            let fault = WARM_UP + iface.interval * k / 40;
            let heal = fault + outage;
            let dead = |t: Duration| t >= fault && t < heal;
            let down = time_to(iface, fault, State::Down, |t| !dead(t)).expect("goes down");
            let up = time_to(iface, heal, State::Up, |t| !dead(t)).expect("comes back");
            (down, up)
        })
        .unzip()
}

fn bounds(xs: &[Duration]) -> (f64, f64, f64) {
    let secs: Vec<f64> = xs.iter().map(Duration::as_secs_f64).collect();
    let min = secs.iter().copied().fold(f64::MAX, f64::min);
    let max = secs.iter().copied().fold(0.0, f64::max);
    (min, secs.iter().sum::<f64>() / secs.len() as f64, max)
}

#[test]
fn default_timings_fail_over_in_about_two_seconds() {
    let (down, up) = spread(&wan("1s"));
    let (min, mean, max) = bounds(&down);
    // docs/config.md: 1.5 to 2.5 s, 2.0 s on average.
    assert!(
        min >= 1.45 && max <= 2.55 && (1.9..=2.1).contains(&mean),
        "down {min:.3} {mean:.3} {max:.3}"
    );
    let (min, mean, max) = bounds(&up);
    // docs/config.md: 4.0 to 5.0 s, 4.5 s on average.
    assert!(
        min >= 3.95 && max <= 5.05 && (4.4..=4.6).contains(&mean),
        "up {min:.3} {mean:.3} {max:.3}"
    );
}

#[test]
fn fast_profile_fails_over_well_within_the_health_target() {
    let (down, up) = spread(&wan("0.2"));
    let (min, mean, max) = bounds(&down);
    // docs/config.md: 0.3 to 0.5 s; issue 4 asks for at most 0.7 s.
    assert!(
        min >= 0.29 && max <= 0.51,
        "down {min:.3} {mean:.3} {max:.3}"
    );
    let (min, mean, max) = bounds(&up);
    // docs/config.md: 0.8 to 1.0 s.
    assert!(min >= 0.79 && max <= 1.01, "up {min:.3} {mean:.3} {max:.3}");
}

#[test]
fn default_timings_ride_out_a_lost_probe_and_a_short_outage() {
    let iface = wan("1s");
    // Every probe sent in a window of this length is lost.
    for gap in [
        Duration::from_millis(1),
        Duration::from_millis(500),
        Duration::from_millis(1000),
    ] {
        for k in 0..10 {
            let fault = WARM_UP + iface.interval * k / 10;
            let lost = |t: Duration| t >= fault && t < fault + gap;
            assert_eq!(
                time_to(&iface, fault, State::Down, |t| !lost(t)),
                None,
                "{gap:?} outage at +{k}/10"
            );
        }
    }
}
