//! `openwrt::watch::follow` against the test broker and a netifd stand-in: a PPPoE uplink's
//! status is read on connect, followed through ifdown and an ifup with a new address and
//! peer, unmanaged interfaces are ignored, and a ubusd restart is followed by a full re-read.

#[path = "ubus_broker/mod.rs"]
mod broker;

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::Duration;

use async_io::Timer;
use futures_lite::future;
use serde_json::json;
use smol::LocalExecutor;

use rail::family::Af;
use rail::openwrt::client::{Client, Config};
use rail::openwrt::watch::{self, Update};

use broker::bus::next_event;
use broker::netifd::{named, netifd_peer, pppoe_status, restart_burst};
use broker::Broker;

fn socket_path() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rail-ubus-watch-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join("ubus.sock")
}

/// rail's client on the bus at `path`, following `names` through netifd (`watch::follow`):
/// the updates it hands the daemon, in order.
fn follower(
    ex: &LocalExecutor<'_>,
    path: &Path,
    names: &'static [&'static str],
) -> Rc<RefCell<Vec<Update>>> {
    let rail = Client::new(watch::client_config(Config {
        sockets: vec![path.to_path_buf()],
        ..Config::default()
    }));
    let r = rail.clone();
    ex.spawn(async move { r.run().await }).detach();
    let updates = Rc::new(RefCell::new(Vec::new()));
    let u = updates.clone();
    ex.spawn(async move {
        let names = || names.iter().map(|n| n.to_string()).collect();
        watch::follow(
            &rail,
            names,
            |up| u.borrow_mut().push(up),
            smol::channel::unbounded().1,
        )
        .await
    })
    .detach();
    updates
}

/// Waits until `updates` holds more than `seen` entries and returns the newest.
async fn next_update(updates: &RefCell<Vec<Update>>, seen: &mut usize) -> Update {
    for _ in 0..500 {
        if updates.borrow().len() > *seen {
            *seen += 1;
            return updates.borrow()[*seen - 1].clone();
        }
        Timer::after(Duration::from_millis(10)).await;
    }
    panic!("no update within 5 s after {:?}", updates.borrow());
}

/// Skips updates until one satisfies `want`.
async fn until(
    updates: &RefCell<Vec<Update>>,
    seen: &mut usize,
    want: impl Fn(&Update) -> bool,
) -> Update {
    loop {
        let u = next_update(updates, seen).await;
        if want(&u) {
            return u;
        }
    }
}

fn wan(update: Update) -> (bool, Option<String>, Option<String>) {
    let Update::Interface { name, status } = update else {
        panic!("expected an interface update, got {update:?}")
    };
    assert_eq!(name, "wan");
    let s = status.expect("netifd knows wan");
    (
        s.up,
        s.bound_device().map(String::from),
        s.gateway(Af::Inet).map(|g| g.to_string()),
    )
}

#[test]
fn follows_a_pppoe_uplink_through_netifd_and_a_ubusd_restart() {
    let path = socket_path();
    let mut broker = Broker::start(&path);
    let ex = LocalExecutor::new();
    future::block_on(ex.run(async {
        let state = Rc::new(RefCell::new(pppoe_status(
            true,
            "pppoe-wan",
            "198.51.100.7",
            "198.51.100.1",
        )));
        let netifd = netifd_peer(&path, state.clone());
        let n = netifd.clone();
        ex.spawn(async move { n.run().await }).detach();
        assert_eq!(
            next_event(&netifd.events()).await,
            rail::openwrt::client::BusEvent::Connected
        );

        let updates = follower(&ex, &path, &["wan", "wanb"]);
        let mut seen = 0;

        // On connect: every managed interface is read; netifd does not know wanb.
        let first = next_update(&updates, &mut seen).await;
        assert_eq!(
            wan(first),
            (true, Some("pppoe-wan".into()), Some("198.51.100.1".into()))
        );
        assert_eq!(
            next_update(&updates, &mut seen).await,
            Update::Interface {
                name: "wanb".into(),
                status: None
            }
        );

        // An unmanaged interface changes: nothing. Then wan goes down (the notification
        // alone carries the status once rail's subscription is in place).
        let mut lan = named(&state);
        lan["interface"] = json!("lan");
        *state.borrow_mut() = pppoe_status(false, "", "", "");
        for _ in 0..50 {
            netifd
                .notify("network.interface", "interface.update", &lan)
                .await
                .unwrap();
            netifd
                .notify("network.interface", "interface.down", &named(&state))
                .await
                .unwrap();
            Timer::after(Duration::from_millis(50)).await;
            if updates.borrow().len() > seen {
                break;
            }
        }
        let down = until(
            &updates,
            &mut seen,
            |u| matches!(u, Update::Interface { status: Some(s), .. } if !s.up),
        )
        .await;
        assert_eq!(wan(down), (false, None, None));

        // The ifup event alone (as when the subscription lags): rail reads the new status.
        *state.borrow_mut() = pppoe_status(true, "pppoe-wan", "203.0.113.9", "203.0.113.1");
        netifd
            .send_event(
                "network.interface",
                &json!({"action": "ifup", "interface": "wan"}),
            )
            .await
            .unwrap();
        let up = until(
            &updates,
            &mut seen,
            |u| matches!(u, Update::Interface { status: Some(s), .. } if s.up),
        )
        .await;
        assert_eq!(
            wan(up),
            (true, Some("pppoe-wan".into()), Some("203.0.113.1".into()))
        );

        // ubusd restarts: BusLost, then every interface is read again.
        broker.stop();
        let lost = loop {
            let u = next_update(&updates, &mut seen).await;
            if u == Update::BusLost {
                break u;
            }
        };
        assert_eq!(lost, Update::BusLost);
        broker = Broker::start(&path);
        // rail may reconnect before netifd has published its objects again: then the first
        // re-read finds nothing, and netifd's object coming back (ubus.object.add) is read.
        let again = until(
            &updates,
            &mut seen,
            |u| matches!(u, Update::Interface { name, status: Some(_) } if name == "wan"),
        )
        .await;
        assert_eq!(
            wan(again),
            (true, Some("pppoe-wan".into()), Some("203.0.113.1".into()))
        );
    }));
    drop(broker);
}

#[test]
fn a_restart_burst_applies_netifds_newest_status_never_its_stale_down_notifications() {
    let path = socket_path().with_file_name("burst.sock");
    let _broker = Broker::start(&path);
    let ex = LocalExecutor::new();
    future::block_on(ex.run(async {
        let up = || pppoe_status(true, "pppoe-wan", "198.51.100.7", "198.51.100.1");
        let state = Rc::new(RefCell::new(up()));
        let netifd = netifd_peer(&path, state.clone());
        let n = netifd.clone();
        ex.spawn(async move { n.run().await }).detach();
        next_event(&netifd.events()).await;
        let updates = follower(&ex, &path, &["wan"]);
        let mut seen = 0;
        assert!(wan(next_update(&updates, &mut seen).await).0);
        // Until rail's subscription is in place the notifications reach nobody: repeat.
        for _ in 0..20 {
            restart_burst(
                &netifd,
                &state,
                "wan",
                pppoe_status(false, "", "", ""),
                up(),
            )
            .await;
            Timer::after(Duration::from_millis(100)).await;
        }
        let applied = updates.borrow()[seen..].to_vec();
        assert!(!applied.is_empty(), "the bursts were followed");
        for u in applied {
            assert!(wan(u).0, "a stale down was applied");
        }
        // Twenty bursts of six messages each: marks made while a read is pending coalesce.
        assert!(
            updates.borrow().len() < 20 * 6,
            "{}",
            updates.borrow().len()
        );
    }));
}
