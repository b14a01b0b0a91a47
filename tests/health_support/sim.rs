//! A tracker on a simulated clock, probing an upstream that answers or does not.

use rail::health::{Input, Output, Time, Tracker};
use std::time::Duration;

/// Drives `t` from `Time::ZERO`, when its device comes up, each wake-up and reply at its
/// exact time: a probe sent at `now` is answered `rtt` later when `answered(now)`.
/// `watch(now, output)` sees every output, and the run ends with the first `Some` it
/// returns, or with `None` once `until` has passed.
pub fn run<R>(
    t: &mut Tracker,
    rtt: Duration,
    until: Time,
    answered: impl Fn(Time) -> bool,
    mut watch: impl FnMut(Time, &Output) -> Option<R>,
) -> Option<R> {
    let mut out = Vec::new();
    let device = "sim".to_string();
    t.handle(Time::ZERO, Input::DeviceUp { device }, &mut out);
    let mut replies: Vec<(Time, Input)> = Vec::new();
    let mut now = Time::ZERO;
    loop {
        for o in out.drain(..) {
            if let Output::Send(p) = &o {
                if answered(now) {
                    let reply = Input::Reply {
                        from: p.target,
                        ident: p.ident,
                        seq: p.seq,
                    };
                    replies.push((now + rtt, reply));
                }
            }
            if let Some(r) = watch(now, &o) {
                return Some(r);
            }
        }
        let next = replies
            .iter()
            .map(|(at, _)| *at)
            .chain(t.next_wakeup())
            .min()?;
        // Never stand still, whatever a wake-up in the past would mean.
        now = next.max(now + Duration::from_micros(1));
        if now > until {
            return None;
        }
        let (due, later): (Vec<_>, Vec<_>) = replies.drain(..).partition(|(at, _)| *at <= now);
        replies = later;
        for (_, reply) in due {
            t.handle(now, reply, &mut out);
        }
        t.poll(now, &mut out);
    }
}
