//! The ubus client against a broker speaking ubusd's wire protocol: publishing `rail` with
//! its signature, `status`, argument validation, garbage, broker restart followed by
//! re-registration, and a netifd-like peer announcing a PPPoE uplink going down and coming
//! back on a new device and address.

#[path = "ubus_broker/mod.rs"]
mod broker;

use std::cell::RefCell;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::{Duration, Instant};

use async_io::Timer;
use futures_lite::future;
use serde_json::{json, Value};
use smol::channel::Receiver;
use smol::LocalExecutor;

use rail::blob::{BlobMsg, Type, Writer};
use rail::family::Af;
use rail::history::view::Span;
use rail::openwrt::client::{Answer, BusEvent, CallError, Client, Config, Object};
use rail::openwrt::hotplug::{Action, Hotplug};
use rail::openwrt::netifd::{self, InterfaceStatus};
use rail::openwrt::object::{self, Request};
use rail::openwrt::wire::{Attrs, Message, MsgType, Status};

use broker::bus::{next_event, notify_until_heard, wait_for};
use broker::netifd::{named, netifd_peer, pppoe_status};
use broker::{Broker, Grant};

fn socket_path(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rail-ubus-{test}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join("ubus.sock")
}

fn config(path: &Path) -> Config {
    Config {
        sockets: vec![path.to_path_buf()],
        ..Config::default()
    }
}

/// The rail object of a config with one interface, `wan`, with a handler that records
/// requests and answers status.
fn rail_object(seen: Rc<RefCell<Vec<Request>>>) -> Object {
    object::object(
        |req| req.interface().is_none_or(|n| n == "wan"),
        move |req| {
            seen.borrow_mut().push(req.clone());
            match req {
                Request::Status => Ok(Some(
                    json!({"version": "0.1.0", "interfaces": {"wan": {"state": "up"}}}).into(),
                )),
                _ => Ok(None),
            }
        },
    )
}

/// A client publishing the rail object on the broker at `path`.
fn rail_client(path: &Path, seen: Rc<RefCell<Vec<Request>>>) -> Client {
    Client::new(Config {
        objects: vec![rail_object(seen)],
        ..config(path)
    })
}

/// Starts a client and waits until it is connected and registered.
async fn connected(ex: &LocalExecutor<'_>, client: &Client) -> Receiver<BusEvent> {
    let events = start(ex, client);
    assert_eq!(next_event(&events).await, BusEvent::Connected);
    events
}

fn start(ex: &LocalExecutor<'_>, client: &Client) -> Receiver<BusEvent> {
    spawn(ex, client).detach();
    client.events()
}

/// Runs a client until the returned task is dropped (with every clone of the client, that
/// closes its connection, like a process exiting).
fn spawn<'a>(ex: &LocalExecutor<'a>, client: &Client) -> smol::Task<()> {
    let c = client.clone();
    ex.spawn(async move { c.run().await })
}

fn status_of(r: Result<Option<Value>, CallError>) -> Status {
    match r {
        Err(CallError::Status(s)) => s,
        other => panic!("expected a status error, got {other:?}"),
    }
}

#[test]
fn rail_registers_with_signature_and_serves_status_and_validates_arguments() {
    let path = socket_path("register");
    let broker = Broker::start(&path);
    let ex = LocalExecutor::new();
    let seen = Rc::new(RefCell::new(Vec::new()));
    future::block_on(ex.run(async {
        let rail = rail_client(&path, seen.clone());
        connected(&ex, &rail).await;

        // The signature ubusd stores is what `ubus -v list rail` prints.
        let obj = broker.object("rail").expect("rail published");
        let sig = obj.signature.expect("signature sent");
        let method = |name: &str| match sig.iter().find(|(k, _)| k == name) {
            Some((_, BlobMsg::Table(args))) => args.clone(),
            other => panic!("method {name}: {other:?}"),
        };
        assert_eq!(method("status"), vec![]);
        assert_eq!(method("reload"), vec![]);
        assert_eq!(
            method("hotplug"),
            vec![
                ("action".into(), BlobMsg::Int32(Type::String as i32)),
                ("interface".into(), BlobMsg::Int32(3)),
                ("device".into(), BlobMsg::Int32(3)),
            ]
        );
        assert_eq!(
            method("maintenance"),
            vec![
                ("interface".into(), BlobMsg::Int32(3)),
                ("enable".into(), BlobMsg::Int32(7))
            ]
        );
        assert_eq!(
            method("history"),
            vec![
                ("interface".into(), BlobMsg::Int32(3)),
                ("family".into(), BlobMsg::Int32(3)),
                ("span".into(), BlobMsg::Int32(3)),
                ("chart".into(), BlobMsg::Int32(7)),
            ]
        );

        let cli = Client::new(config(&path));
        connected(&ex, &cli).await;

        let status = cli
            .call("rail", "status", &json!({}))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(status["interfaces"]["wan"]["state"], "up");

        let bad = [
            ("maintenance", json!({"interface": "wan", "enable": "yes"})),
            ("maintenance", json!({"interface": "wan"})),
            ("maintenance", json!({"interface": "wan", "enable": 1})),
            ("maintenance", json!({"interface": "", "enable": true})),
            ("hotplug", json!({"action": "ifup"})),
            (
                "hotplug",
                json!({"action": "connected", "interface": "wan"}),
            ),
            ("hotplug", json!({"action": "ifup", "interface": 5})),
            (
                "hotplug",
                json!({"action": "ifup", "interface": "wan", "device": ["eth1"]}),
            ),
            (
                "hotplug",
                json!({"action": "ifup", "interface": "wan", "device": "a/b"}),
            ),
            ("history", json!({"span": "2h"})),
            ("history", json!({"span": 60})),
            ("history", json!({"family": "inet"})),
            ("history", json!({"interface": "a/b"})),
            ("history", json!({"chart": "yes"})),
        ];
        for (method, args) in &bad {
            assert_eq!(
                status_of(cli.call("rail", method, args).await),
                Status::InvalidArgument,
                "{method} {args}"
            );
        }
        assert_eq!(
            status_of(cli.call("rail", "frobnicate", &json!({})).await),
            Status::MethodNotFound
        );
        assert_eq!(
            status_of(cli.call("nothere", "status", &json!({})).await),
            Status::NotFound
        );

        assert_eq!(
            cli.call(
                "rail",
                "maintenance",
                &json!({"interface": "wan", "enable": true, "extra": 1})
            )
            .await
            .unwrap(),
            None
        );
        cli.call(
            "rail",
            "hotplug",
            &json!({"action": "ifup", "interface": "wan", "device": "pppoe-wan"}),
        )
        .await
        .unwrap();
        cli.call(
            "rail",
            "hotplug",
            &json!({"action": "ifdown", "interface": "wan"}),
        )
        .await
        .unwrap();
        cli.call("rail", "reload", &json!({})).await.unwrap();
        cli.call("rail", "history", &json!({})).await.unwrap();
        cli.call(
            "rail",
            "history",
            &json!({"interface": "wan", "family": "ipv6", "span": "24h", "chart": true}),
        )
        .await
        .unwrap();
        // Interfaces rail does not have are refused alike, as netifd refuses them.
        let unknown = [
            ("maintenance", json!({"interface": "wan9", "enable": true})),
            ("hotplug", json!({"action": "ifup", "interface": "lan"})),
        ];
        for (method, args) in &unknown {
            assert_eq!(
                status_of(cli.call("rail", method, args).await),
                Status::NotFound,
                "{method} {args}"
            );
        }
    }));
    assert_eq!(
        *seen.borrow(),
        vec![
            Request::Status,
            Request::Maintenance {
                interface: "wan".into(),
                enable: true
            },
            Request::Hotplug(Hotplug {
                action: Action::IfUp,
                interface: "wan".into(),
                device: Some("pppoe-wan".into())
            }),
            Request::Hotplug(Hotplug {
                action: Action::IfDown,
                interface: "wan".into(),
                device: None
            }),
            Request::Reload,
            Request::History {
                interface: None,
                family: None,
                span: Span::Hour,
                chart: false
            },
            Request::History {
                interface: Some("wan".into()),
                family: Some("ipv6".into()),
                span: Span::Day,
                chart: true
            },
        ],
        "only valid requests reach the handler"
    );
}

#[test]
fn garbage_from_the_bus_does_not_stop_the_client() {
    let path = socket_path("garbage");
    let broker = Broker::start(&path);
    let ex = LocalExecutor::new();
    future::block_on(ex.run(async {
        let rail = rail_client(&path, Rc::default());
        connected(&ex, &rail).await;
        let rail_id = broker.object("rail").unwrap().id;

        // A raw peer invokes `status` with a DATA attribute that is not blobmsg, then with
        // no DATA at all; the broker forwards both as ubusd would.
        let (mut raw, _) = broker.raw_client();
        let mut frame = vec![0, MsgType::Invoke as u8, 0, 9, 0, 0, 0, 0];
        frame[4..8].copy_from_slice(&rail_id.to_be_bytes());
        rail::blob::put_nested(&mut frame, 0, false, |o| {
            rail::blob::put_attr(o, 3, false, &rail_id.to_be_bytes());
            rail::blob::put_attr(o, 4, false, b"status\0");
            rail::blob::put_attr(o, 7, false, &[0x83, 0, 0, 99, 1, 2]);
        });
        raw.write_all(&frame).unwrap();
        let no_data = Message::new(
            MsgType::Invoke,
            10,
            rail_id,
            Attrs {
                objid: Some(rail_id),
                method: Some("status".into()),
                ..Attrs::default()
            },
        );
        raw.write_all(&no_data.encode().unwrap()).unwrap();
        raw.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        // Read off the executor thread: rail runs on this one.
        let replies = smol::unblock(move || {
            [9, 10].map(|_| broker::read_message(&mut raw).unwrap().unwrap())
        })
        .await;
        for (reply, seq) in replies.iter().zip([9, 10]) {
            assert_eq!(
                (reply.header.kind, reply.header.seq),
                (MsgType::Status, seq)
            );
            assert_eq!(reply.attrs.status, Some(Status::InvalidArgument as i32));
        }

        let cli = Client::new(config(&path));
        connected(&ex, &cli).await;
        assert!(cli
            .call("rail", "status", &json!({}))
            .await
            .unwrap()
            .is_some());
        assert!(rail.is_connected());
    }));
}

#[test]
fn ubusd_restart_is_followed_by_re_registration() {
    let path = socket_path("restart");
    let mut broker = Broker::start(&path);
    let ex = LocalExecutor::new();
    future::block_on(ex.run(async {
        let rail = rail_client(&path, Rc::default());
        let events = connected(&ex, &rail).await;

        broker.stop();
        assert_eq!(next_event(&events).await, BusEvent::Disconnected);
        assert!(!rail.is_connected());
        assert!(matches!(
            rail.call("rail", "status", &json!({})).await,
            Err(CallError::NotConnected)
        ));
        // ubusd stays away for a while: rail keeps retrying quietly.
        Timer::after(Duration::from_millis(700)).await;

        let restarted = Instant::now();
        broker = Broker::start(&path);
        assert_eq!(next_event(&events).await, BusEvent::Connected);
        let took = restarted.elapsed();
        eprintln!("re-registered {took:?} after ubusd came back");
        assert!(took < Duration::from_secs(3), "backoff is capped at 2 s");
        assert!(broker.object("rail").is_some());

        let cli = Client::new(config(&path));
        connected(&ex, &cli).await;
        assert!(cli
            .call("rail", "status", &json!({}))
            .await
            .unwrap()
            .is_some());
    }));
}

#[test]
fn a_reply_too_large_for_ubusd_fails_the_call_not_the_connection() {
    let path = socket_path("large");
    let _broker = Broker::start(&path);
    let ex = LocalExecutor::new();
    future::block_on(ex.run(async {
        let huge = "x".repeat(rail::openwrt::wire::MAX_MSG_LEN);
        let rail = Client::new(Config {
            objects: vec![object::object(
                |_| true,
                move |req| match req {
                    Request::Status => Ok(Some(json!({ "blob": huge }).into())),
                    _ => Ok(None),
                },
            )],
            ..config(&path)
        });
        connected(&ex, &rail).await;
        let cli = Client::new(config(&path));
        connected(&ex, &cli).await;
        assert_eq!(
            status_of(cli.call("rail", "status", &json!({})).await),
            Status::UnknownError
        );
        assert_eq!(cli.call("rail", "reload", &json!({})).await.unwrap(), None);
        assert!(rail.is_connected());
    }));
}

#[test]
fn an_answer_made_over_several_turns_is_sent_while_other_tasks_run() {
    let path = socket_path("later");
    let _broker = Broker::start(&path);
    let ex = LocalExecutor::new();
    let ticks = Rc::new(std::cell::Cell::new(0_i64));
    future::block_on(ex.run(async {
        let seen = ticks.clone();
        let rail = Client::new(Config {
            objects: vec![object::object(
                |_| true,
                move |req| match req {
                    Request::Status => {
                        let seen = seen.clone();
                        Ok(Some(Answer::Later(Box::pin(async move {
                            // Made only once another task has had turns.
                            let before = seen.get();
                            while seen.get() < before + 3 {
                                future::yield_now().await;
                            }
                            let mut w = Writer::default();
                            w.int("ticks", seen.get() - before);
                            Answer::Blob(w.into_table())
                        }))))
                    }
                    _ => Ok(None),
                },
            )],
            ..config(&path)
        });
        connected(&ex, &rail).await;
        let t = ticks.clone();
        ex.spawn(async move {
            loop {
                Timer::after(Duration::from_millis(1)).await;
                t.set(t.get() + 1);
            }
        })
        .detach();
        let cli = Client::new(config(&path));
        connected(&ex, &cli).await;
        let reply = cli.call("rail", "status", &json!({})).await.unwrap();
        assert!(reply.unwrap()["ticks"].as_i64() >= Some(3));
    }));
}

#[test]
fn falls_back_to_the_second_socket_path() {
    let path = socket_path("fallback");
    let _broker = Broker::start(&path);
    let ex = LocalExecutor::new();
    future::block_on(ex.run(async {
        let missing = path.with_file_name("absent.sock");
        let rail = Client::new(Config {
            sockets: vec![missing, path.clone()],
            objects: vec![rail_object(Rc::default())],
            ..Config::default()
        });
        connected(&ex, &rail).await;
        assert!(rail.is_connected());
    }));
}

#[test]
fn a_second_instance_cannot_take_the_rail_object() {
    let path = socket_path("second");
    let broker = Broker::start(&path);
    let ex = LocalExecutor::new();
    future::block_on(ex.run(async {
        let first = rail_client(&path, Rc::default());
        connected(&ex, &first).await;
        let first_id = broker.object("rail").unwrap().id;

        let second = rail_client(&path, Rc::default());
        let second_events = start(&ex, &second);
        Timer::after(Duration::from_millis(500)).await;
        assert!(
            second_events.try_recv().is_err(),
            "the second never reports Connected"
        );
        assert_eq!(broker.object("rail").unwrap().id, first_id);
    }));
}

/// netifd's two announcements of an ifup/ifdown, the `network.interface` event and the
/// notification; returns the status rail parsed from the notification.
async fn announce(
    netifd: &Client,
    events: &Receiver<BusEvent>,
    wan: &RefCell<Value>,
    action: Action,
    kind: &str,
) -> InterfaceStatus {
    let event = json!({"action": action.as_str(), "interface": "wan"});
    netifd
        .send_event("network.interface", &event)
        .await
        .unwrap();
    netifd
        .notify("network.interface", kind, &named(wan))
        .await
        .unwrap();
    let BusEvent::Event { id, data } =
        wait_for(events, |e| matches!(e, BusEvent::Event { .. })).await
    else {
        unreachable!()
    };
    assert_eq!(
        netifd::parse_event(&id, &data),
        Some((action, "wan".into()))
    );
    let heard = wait_for(events, |e| matches!(e, BusEvent::Notification { .. })).await;
    let BusEvent::Notification {
        object,
        kind: got,
        data,
    } = heard
    else {
        unreachable!()
    };
    assert_eq!((object.as_str(), got.as_str()), ("network.interface", kind));
    let (name, status) = netifd::parse_notification(&got, &data).unwrap().unwrap();
    assert_eq!(name, "wan");
    status
}

#[test]
fn pppoe_uplink_down_and_back_on_a_new_device_is_seen_through_netifd() {
    let path = socket_path("netifd");
    let _broker = Broker::start(&path);
    let ex = LocalExecutor::new();
    future::block_on(ex.run(async {
        // rail starts before netifd: its subscription waits for the object to appear.
        let rail = Client::new(Config {
            objects: vec![rail_object(Rc::default())],
            subscriptions: vec!["network.interface".into()],
            patterns: vec!["network.interface".into()],
            ..config(&path)
        });
        let events = connected(&ex, &rail).await;

        let wan = Rc::new(RefCell::new(pppoe_status(
            true,
            "pppoe-wan",
            "198.51.100.7",
            "198.51.100.1",
        )));
        let netifd = netifd_peer(&path, wan.clone());
        let netifd_task = spawn(&ex, &netifd);
        let netifd_events = netifd.events();
        assert_eq!(next_event(&netifd_events).await, BusEvent::Connected);

        let first = rail
            .call("network.interface.wan", "status", &json!({}))
            .await
            .unwrap()
            .unwrap();
        let first = InterfaceStatus::parse(&first).unwrap();
        assert_eq!(first.bound_device(), Some("pppoe-wan"));
        assert_eq!(
            first.gateway(Af::Inet),
            Some("198.51.100.1".parse().unwrap())
        );

        // Wait until rail's subscription is in place (made on ubus.object.add).
        notify_until_heard(
            &netifd,
            &events,
            "network.interface",
            "interface.update",
            &named(&wan),
        )
        .await;

        // The PPPoE session drops: netifd sends the ifdown event and interface.down.
        *wan.borrow_mut() = pppoe_status(false, "", "", "");
        let down = announce(&netifd, &events, &wan, Action::IfDown, "interface.down").await;
        assert_eq!((down.up, down.bound_device()), (false, None));

        // It comes back with a new address and peer (and, in the kernel, a new ifindex).
        *wan.borrow_mut() = pppoe_status(true, "pppoe-wan", "203.0.113.9", "203.0.113.1");
        let up = announce(&netifd, &events, &wan, Action::IfUp, "interface.update").await;
        assert_eq!(up.ipv4_address(), Some("203.0.113.9".parse().unwrap()));
        assert_eq!(up.gateway(Af::Inet), Some("203.0.113.1".parse().unwrap()));

        let again = rail
            .call("network.interface.wan", "status", &json!({}))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(InterfaceStatus::parse(&again).unwrap(), up);

        // netifd restarts: its objects vanish and return; rail subscribes again by itself.
        drop(netifd_task);
        drop(netifd);
        drop(netifd_events);
        Timer::after(Duration::from_millis(100)).await;
        let netifd = netifd_peer(&path, wan.clone());
        connected(&ex, &netifd).await;
        notify_until_heard(
            &netifd,
            &events,
            "network.interface",
            "interface.update",
            &named(&wan),
        )
        .await;
    }));
}

/// Calls `method` on `rail` from a thread of its own running as `uid` with primary group
/// `gid` and no other (set for that thread only, as the kernel keeps credentials per
/// thread), as a non-root `ubus call` would.
fn call_as(
    path: &Path,
    uid: u32,
    gid: u32,
    method: &'static str,
) -> Result<Option<Value>, CallError> {
    let path = path.to_path_buf();
    std::thread::spawn(move || {
        // SAFETY: raw syscalls (not libc's process-wide wrappers) change only this thread's
        // credentials; the thread ends with the call.
        unsafe {
            assert_eq!(
                libc::syscall(libc::SYS_setgroups, 0, std::ptr::null::<libc::gid_t>()),
                0
            );
            assert_eq!(libc::syscall(libc::SYS_setresgid, gid, gid, gid), 0);
            assert_eq!(libc::syscall(libc::SYS_setresuid, uid, uid, uid), 0);
        }
        let ex = LocalExecutor::new();
        future::block_on(ex.run(async {
            let cli = Client::new(config(&path));
            connected(&ex, &cli).await;
            cli.call("rail", method, &json!({})).await
        }))
    })
    .join()
    .unwrap()
}

#[test]
fn the_broker_applies_ubusd_acls_not_found_without_a_grant_denied_beyond_it() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("SKIPPED: changing a thread's credentials needs root");
        return;
    }
    let path = socket_path("acl");
    // The shipped rail.json, for a group `rail` of gid 64123.
    let _broker = Broker::start_with(
        &path,
        vec![Grant {
            gid: 64123,
            object: "rail".into(),
            methods: vec!["status".into()],
        }],
    );
    let ex = LocalExecutor::new();
    future::block_on(ex.run(async {
        let rail = rail_client(&path, Rc::default());
        connected(&ex, &rail).await;
        let path2 = path.clone();
        let member = smol::unblock(move || call_as(&path2, 65534, 64123, "status")).await;
        assert_eq!(member.unwrap().unwrap()["interfaces"]["wan"]["state"], "up");
        let path2 = path.clone();
        let beyond = smol::unblock(move || call_as(&path2, 65534, 64123, "reload")).await;
        assert_eq!(status_of(beyond), Status::PermissionDenied);
        let path2 = path.clone();
        let outsider = smol::unblock(move || call_as(&path2, 65534, 65534, "status")).await;
        assert_eq!(status_of(outsider), Status::NotFound, "rail is hidden");
    }));
}
