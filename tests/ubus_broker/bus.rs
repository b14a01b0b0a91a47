//! Waiting on a client's bus events in tests, with timeouts instead of hangs.

use std::time::{Duration, Instant};

use async_io::Timer;
use futures_lite::future;
use serde_json::Value;
use smol::channel::Receiver;

use rail::openwrt::client::{BusEvent, Client};

/// The next event, or a panic after 5 s.
pub async fn next_event(rx: &Receiver<BusEvent>) -> BusEvent {
    let ev = async { rx.recv().await.expect("event stream open") };
    let timeout = async {
        Timer::after(Duration::from_secs(5)).await;
        panic!("no bus event within 5 s");
    };
    future::or(ev, timeout).await
}

/// The next event `want` accepts, skipping others.
pub async fn wait_for(rx: &Receiver<BusEvent>, want: impl Fn(&BusEvent) -> bool) -> BusEvent {
    loop {
        let ev = next_event(rx).await;
        if want(&ev) {
            return ev;
        }
    }
}

/// Repeats a notification from `notifier` until `rx` receives one: subscriptions are made
/// asynchronously (on ubus.object.add), so the first ones may reach nobody.
pub async fn notify_until_heard(
    notifier: &Client,
    rx: &Receiver<BusEvent>,
    object: &str,
    kind: &str,
    data: &Value,
) -> BusEvent {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        notifier.notify(object, kind, data).await.unwrap();
        let got = future::or(async { Some(next_event(rx).await) }, async {
            Timer::after(Duration::from_millis(100)).await;
            None
        })
        .await;
        if let Some(ev @ BusEvent::Notification { .. }) = got {
            return ev;
        }
        assert!(
            Instant::now() < deadline,
            "no subscriber heard {object} {kind}"
        );
    }
}
