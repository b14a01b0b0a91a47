//! The probe sockets and the engine in real network namespaces: a router namespace with
//! uplinks (veth) to "ISP" namespaces that own the probe targets.

mod health_support;

use health_support::{fast, ifindex, interface, ip, veth, Lab, Netns};
use rail::config::{Interface, InterfaceId, TrackMethod};
use rail::family::Af;
use rail::health::engine::{Engine, Event, LinkFacts};
use rail::health::{State, Status};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const TARGET: &str = "198.18.0.1";
const SILENT: &str = "198.18.0.99";

fn lab() -> Lab {
    Lab::new(&[TARGET])
}

/// Run an engine over `ifaces`, uplink n on device `devs[n]`, inside `ns` for `secs`.
fn probe(
    ns: &Netns,
    ifaces: Vec<Interface>,
    devs: &[(&str, &str)],
    secs: f64,
) -> (Vec<Status>, Vec<Event>) {
    let facts: Vec<LinkFacts> = devs
        .iter()
        .map(|(dev, src)| LinkFacts {
            device: dev.to_string(),
            ifindex: ifindex(ns, dev),
            source: Some(ip(src)),
        })
        .collect();
    ns.run(move || {
        let mut engine = Engine::new(&ifaces).unwrap();
        for (n, f) in facts.into_iter().enumerate() {
            let af = ifaces[n].family.first();
            engine.device_up(InterfaceId(n), af, f);
        }
        let deadline = Instant::now() + Duration::from_secs_f64(secs);
        let mut events = smol::block_on(engine.run_until(deadline));
        // The first transition of each uplink is the device coming up; rounds are the
        // history's.
        events.retain(|e| {
            !matches!(e, Event::Transition(_, _, t) if t.from == State::NoDevice)
                && !matches!(e, Event::Rounds)
        });
        let status = (0..ifaces.len())
            .map(|n| engine.status(InterfaceId(n)))
            .collect();
        (status, events)
    })
}

#[test]
#[cfg_attr(not(lab_root), ignore = "needs root: the network lab")]
fn a_reachable_target_answers_and_a_silent_one_times_out() {
    let lab = lab();
    let wan = fast(interface("wan", &[TARGET, SILENT]));
    let (st, events) = probe(&lab.router, vec![wan], &[("up1", "192.0.2.2")], 1.2);
    let (answering, silent) = (&st[0].targets[0], &st[0].targets[1]);
    assert!(answering.sent >= 4, "{answering:?}");
    assert_eq!(answering.loss, 0.0, "no resolved probe lost: {answering:?}");
    assert!(answering.received + 1 >= answering.sent, "{answering:?}");
    assert!(answering.rtt_ms.is_some_and(|r| r < 50.0), "{answering:?}");
    assert_eq!(answering.state, "up");
    assert!(silent.sent >= 4 && silent.received == 0, "{silent:?}");
    assert_eq!(silent.state, "down");
    assert_eq!(
        st[0].state,
        State::Up,
        "reliability 1: one target is enough"
    );
    assert!(events.is_empty(), "{events:?}");
}

#[test]
#[cfg_attr(not(lab_root), ignore = "needs root: the network lab")]
fn an_uplink_that_loses_every_target_goes_down() {
    let lab = lab();
    let wan = fast(interface("wan", &[TARGET]));
    lab.isp
        .sh("nft add table inet t && nft add chain inet t in '{ type filter hook input priority 0; }' && nft add rule inet t in icmp type echo-request drop");
    let (st, events) = probe(&lab.router, vec![wan], &[("up1", "192.0.2.2")], 1.5);
    assert_eq!(st[0].state, State::Down, "{events:?}");
    let states: Vec<State> = events
        .iter()
        .filter_map(|e| match e {
            Event::Transition(_, Af::Inet, t) => Some(t.to),
            Event::Transition(..) | Event::Global(_) | Event::Rounds => None,
        })
        .collect();
    assert_eq!(states, [State::Suspect, State::Down], "{events:?}");
    assert!(events.iter().any(|e| matches!(e, Event::Transition(_, _, t)
        if t.to == State::Down && t.reason == "3/3 probes lost to 198.18.0.1")));
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::Global(g) if g.all_targets_lost)),
        "the only uplink lost every target: {events:?}"
    );
}

/// Two uplinks; main's route to the target points out up2, whose ISP does not have it.
/// A probe bound to up1 (mark 0: no rule helps it) must still leave through up1.
#[test]
#[cfg_attr(not(lab_root), ignore = "needs root: the network lab")]
fn binding_to_the_device_forces_the_path() {
    let router = Netns::new("r");
    let isp1 = Netns::new("a");
    let isp2 = Netns::new("b");
    veth(
        &router,
        "up1",
        "192.0.2.2/24",
        &isp1,
        "down1",
        "192.0.2.1/24",
    );
    veth(
        &router,
        "up2",
        "198.51.100.2/24",
        &isp2,
        "down2",
        "198.51.100.1/24",
    );
    isp1.ip(&format!("addr add {TARGET}/32 dev lo"));
    router.ip(&format!("route add {TARGET}/32 via 198.51.100.1 dev up2"));
    let mut via1 = fast(interface("wan", &[TARGET]));
    let mut via2 = fast(interface("wanb", &[TARGET]));
    via1.mark = rail::config::MarkMask::new(0x3f00_0000)
        .unwrap()
        .mark(2)
        .unwrap();
    via2.mark = via1.mark;
    let (st, _) = probe(
        &router,
        vec![via1, via2],
        &[("up1", "192.0.2.2"), ("up2", "198.51.100.2")],
        1.0,
    );
    assert!(st[0].received >= 3, "bound to up1: {:?}", st[0].targets);
    assert_eq!(st[1].received, 0, "up2's ISP has no such host: {:?}", st[1]);
}

/// The ISP does not answer pings itself; a raw socket there answers every echo request
/// with a forged reply. Only the honest forgery may count.
#[test]
#[cfg_attr(not(lab_root), ignore = "needs root: the network lab")]
fn spoofed_echo_replies_are_not_counted() {
    for (forgery, counted) in [
        (Forgery::WrongId, false),
        (Forgery::WrongSeq, false),
        (Forgery::WrongSource, false),
        (Forgery::Honest, true),
    ] {
        let lab = lab();
        lab.isp.sh("sysctl -qw net.ipv4.icmp_echo_ignore_all=1");
        lab.isp.ip("addr add 198.18.0.9/32 dev lo");
        let stop = Arc::new(AtomicBool::new(false));
        let replier = {
            let stop = stop.clone();
            lab.isp.spawn(move || forge_replies(forgery, &stop))
        };
        let wan = fast(interface("wan", &[TARGET]));
        let (st, _) = probe(&lab.router, vec![wan], &[("up1", "192.0.2.2")], 1.0);
        stop.store(true, Ordering::Relaxed);
        let forged = replier.join().unwrap();
        assert!(
            forged >= 3,
            "{forgery:?}: the forger answered {forged} requests"
        );
        if counted {
            assert!(st[0].received >= 3, "{forgery:?}: {:?}", st[0]);
            assert_eq!(st[0].state, State::Up);
        } else {
            assert_eq!(st[0].received, 0, "{forgery:?}: {:?}", st[0]);
            assert_eq!(st[0].state, State::Down, "{forgery:?}");
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Forgery {
    WrongId,
    WrongSeq,
    WrongSource,
    Honest,
}

/// Answer echo requests to TARGET with forged replies until `stop`; returns how many.
fn forge_replies(forgery: Forgery, stop: &AtomicBool) -> u32 {
    use socket2::{Domain, Protocol, Socket, Type};
    use std::mem::MaybeUninit;
    let raw = || Socket::new(Domain::IPV4, Type::RAW, Some(Protocol::ICMPV4)).unwrap();
    let sock = raw();
    sock.set_read_timeout(Some(Duration::from_millis(50)))
        .unwrap();
    // A bound raw socket only hears packets to its address: send from a second one.
    let from: Ipv4Addr = match forgery {
        Forgery::WrongSource => "198.18.0.9",
        _ => TARGET,
    }
    .parse()
    .unwrap();
    let sender = raw();
    sender.bind(&SocketAddr::from((from, 0)).into()).unwrap();
    let mut forged = 0;
    let mut buf = [MaybeUninit::<u8>::uninit(); 1500];
    while !stop.load(Ordering::Relaxed) {
        let Ok((n, peer)) = sock.recv_from(&mut buf) else {
            continue;
        };
        // SAFETY: recv_from initialised n bytes.
        let p = unsafe { std::slice::from_raw_parts(buf.as_ptr().cast::<u8>(), n) };
        let ihl = usize::from(p[0] & 0xf) * 4;
        let icmp = &p[ihl..];
        if icmp[0] != 8 || p[16..20] != TARGET.parse::<Ipv4Addr>().unwrap().octets() {
            continue; // not an echo request to the target
        }
        let (mut id, mut seq) = (
            u16::from_be_bytes([icmp[4], icmp[5]]),
            u16::from_be_bytes([icmp[6], icmp[7]]),
        );
        match forgery {
            Forgery::WrongId => id ^= 0x0101,
            Forgery::WrongSeq => seq = seq.wrapping_add(1),
            _ => {}
        }
        let mut reply = icmp.to_vec();
        reply[0] = 0;
        reply[2..4].fill(0);
        reply[4..6].copy_from_slice(&id.to_be_bytes());
        reply[6..8].copy_from_slice(&seq.to_be_bytes());
        let sum = rail::health::wire::checksum(&reply);
        reply[2..4].copy_from_slice(&sum.to_be_bytes());
        sender.send_to(&reply, &peer).unwrap();
        forged += 1;
    }
    forged
}

#[test]
#[cfg_attr(not(lab_root), ignore = "needs root: the network lab")]
fn tcp_probe_counts_a_handshake_and_a_refusal_but_not_silence() {
    let lab = lab();
    lab.isp.ip("addr add 198.18.0.2/32 dev lo");
    lab.isp
        .sh("nft add table inet t && nft add chain inet t in '{ type filter hook input priority 0; }' && nft add rule inet t in ip daddr 198.18.0.99 drop");
    lab.isp.ip(&format!("addr add {SILENT}/32 dev lo"));
    let stop = Arc::new(AtomicBool::new(false));
    let listener = {
        let stop = stop.clone();
        lab.isp.spawn(move || {
            let l = TcpListener::bind((TARGET, 8080)).unwrap();
            l.set_nonblocking(true).unwrap();
            let mut accepted = 0;
            while !stop.load(Ordering::Relaxed) {
                if l.accept().is_ok() {
                    accepted += 1;
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            accepted
        })
    };
    std::thread::sleep(Duration::from_millis(50)); // the listener binds
    let mut wan = fast(interface("wan", &[TARGET, "198.18.0.2", SILENT]));
    wan.track_method = TrackMethod::Tcp;
    wan.track_port = 8080;
    let (st, _) = probe(&lab.router, vec![wan], &[("up1", "192.0.2.2")], 1.2);
    stop.store(true, Ordering::Relaxed);
    let accepted = listener.join().unwrap();
    let t = &st[0].targets;
    assert!(
        t[0].received >= 3 && accepted >= 3,
        "{t:?} accepted {accepted}"
    );
    assert!(t[1].received >= 3, "a refusal proves the path: {t:?}");
    assert_eq!(t[2].received, 0, "{t:?}");
    assert!(t[2].sent >= 3, "{t:?}");
}

#[test]
#[cfg_attr(not(lab_root), ignore = "needs root: the network lab")]
fn dns_probe_needs_the_resolvers_answer() {
    let lab = lab();
    lab.isp.ip("addr add 198.18.0.2/32 dev lo");
    let stop = Arc::new(AtomicBool::new(false));
    let resolver = {
        let stop = stop.clone();
        lab.isp.spawn(move || {
            let s = UdpSocket::bind((TARGET, 53)).unwrap();
            s.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
            let mut buf = [0u8; 512];
            let mut answered = 0;
            while !stop.load(Ordering::Relaxed) {
                if let Ok((n, peer)) = s.recv_from(&mut buf) {
                    buf[2] |= 0x80; // a response (NXDOMAIN-free, no answers: enough)
                    s.send_to(&buf[..n], peer).unwrap();
                    answered += 1;
                }
            }
            answered
        })
    };
    std::thread::sleep(Duration::from_millis(50));
    let mut wan = fast(interface("wan", &[TARGET, "198.18.0.2"]));
    wan.track_method = TrackMethod::Dns;
    wan.track_dns_name = "probe.example.org".into();
    let (st, _) = probe(&lab.router, vec![wan], &[("up1", "192.0.2.2")], 1.2);
    stop.store(true, Ordering::Relaxed);
    assert!(resolver.join().unwrap() >= 3);
    let t = &st[0].targets;
    assert!(t[0].received >= 3, "{t:?}");
    assert_eq!(t[1].received, 0, "no resolver there: {t:?}");
}

#[test]
#[cfg_attr(not(lab_root), ignore = "needs root: the network lab")]
fn arp_probe_of_the_first_hop() {
    let lab = lab();
    let mut wan = fast(interface("wan", &["192.0.2.1", "192.0.2.77"]));
    wan.track_method = TrackMethod::Arping;
    let (st, _) = probe(&lab.router, vec![wan], &[("up1", "192.0.2.2")], 1.2);
    let t = &st[0].targets;
    assert!(t[0].received >= 3 && t[0].loss == 0.0, "{:?}", st[0]);
    assert_eq!(t[1].received, 0, "{t:?}");
}

#[test]
#[cfg_attr(not(lab_root), ignore = "needs root: the network lab")]
fn reload_keeps_unchanged_uplinks_and_restarts_changed_ones() {
    let lab = lab();
    let facts = LinkFacts {
        device: "up1".into(),
        ifindex: ifindex(&lab.router, "up1"),
        source: Some(ip("192.0.2.2")),
    };
    lab.router.run(move || {
        let wan = fast(interface("wan", &[TARGET]));
        let wanb = fast(interface("wanb", &[TARGET]));
        let mut engine = Engine::new(&[wan.clone(), wanb.clone()]).unwrap();
        engine.device_up(InterfaceId(0), Af::Inet, facts.clone());
        engine.device_up(InterfaceId(1), Af::Inet, facts);
        smol::block_on(engine.run_until(Instant::now() + Duration::from_millis(600)));
        let before = engine.status(InterfaceId(0));
        assert!(before.received >= 2, "{before:?}");

        let mut changed = wanb;
        changed.interval = Duration::from_millis(300);
        let wanc = fast(interface("wanc", &[TARGET]));
        let kept_ids = engine.rebuild(&[wan, changed, wanc]);
        assert_eq!(kept_ids.into_iter().collect::<Vec<_>>(), [InterfaceId(0)]);
        let kept = engine.status(InterfaceId(0));
        assert_eq!((kept.state, kept.since), (State::Up, before.since));
        assert!(kept.sent >= before.sent, "statistics kept");
        assert_eq!(engine.status(InterfaceId(1)).state, State::NoDevice);
        assert_eq!(engine.status(InterfaceId(1)).sent, 0);
        assert_eq!(engine.status(InterfaceId(2)).state, State::NoDevice);
        // The kept uplink keeps probing with its sockets.
        smol::block_on(engine.run_until(Instant::now() + Duration::from_millis(400)));
        assert!(engine.status(InterfaceId(0)).received > kept.received);
    });
}

#[test]
#[cfg_attr(not(lab_root), ignore = "needs root: the network lab")]
fn ipv6_echo_over_a_bound_raw_socket() {
    let lab = lab();
    lab.router.ip("addr add 2001:db8:1::2/64 dev up1 nodad");
    lab.isp.ip("addr add 2001:db8:1::1/64 dev down1 nodad");
    lab.isp.ip("addr add 2001:db8:ff::1/128 dev lo");
    lab.router
        .ip("-6 rule add fwmark 0x01000000/0x3f000000 lookup 101");
    lab.router
        .ip("-6 route add 2001:db8:ff::/64 via 2001:db8:1::1 dev up1 table 101");
    let mut wan = fast(interface("wan6", &["2001:db8:ff::1", "2001:db8:ff::99"]));
    wan.family = rail::family::Family::Ipv6;
    let (st, _) = probe(&lab.router, vec![wan], &[("up1", "2001:db8:1::2")], 1.2);
    let t = &st[0].targets;
    assert!(t[0].received >= 3 && t[0].loss == 0.0, "{:?}", st[0]);
    assert_eq!(t[1].received, 0, "{t:?}");
}

/// A repeated ifup of the same device (a DHCP renew, a new address) re-binds the probes
/// without a blip; a new ifindex (the PPPoE device recreated) starts over with the hold
/// and the initial state.
#[test]
#[cfg_attr(not(lab_root), ignore = "needs root: the network lab")]
fn a_new_address_rebinds_while_a_new_device_starts_over() {
    let lab = lab();
    lab.router.ip("addr add 192.0.2.3/24 dev up1");
    let ifindex = ifindex(&lab.router, "up1");
    lab.router.run(move || {
        let mut wan = fast(interface("wan", &[TARGET]));
        wan.initial_state = rail::config::InitialState::Offline;
        wan.up = 2;
        let mut engine = Engine::new(&[wan]).unwrap();
        let facts = |source: &str, ifindex: u32| LinkFacts {
            device: "up1".into(),
            ifindex,
            source: Some(ip(source)),
        };
        let id = InterfaceId(0);
        engine.device_up(id, Af::Inet, facts("192.0.2.2", ifindex));
        smol::block_on(engine.run_until(Instant::now() + Duration::from_millis(700)));
        let up = engine.status(id);
        assert_eq!(up.state, State::Up, "{up:?}");

        engine.device_up(id, Af::Inet, facts("192.0.2.2", ifindex));
        engine.device_up(id, Af::Inet, facts("192.0.2.3", ifindex));
        let mut events =
            smol::block_on(engine.run_until(Instant::now() + Duration::from_millis(500)));
        events.retain(|e| !matches!(e, Event::Rounds));
        let after = engine.status(id);
        assert!(events.is_empty(), "{events:?}");
        assert_eq!((after.state, after.since), (State::Up, up.since));
        assert!(
            after.received > up.received,
            "probes from the new address answered"
        );

        engine.device_up(id, Af::Inet, facts("192.0.2.3", ifindex + 1000));
        assert_eq!(
            engine.status(id).state,
            State::Down,
            "a new device starts offline"
        );
    });
}

/// Replies carry the kernel's receive time: a reply read late (a busy router, a stalled
/// executor) still has its true arrival time, so it is neither lost nor slow.
#[test]
#[cfg_attr(not(lab_root), ignore = "needs root: the network lab")]
fn replies_carry_the_kernels_receive_time() {
    use rail::health::probe::{Binding, Method, Prober};
    use rail::health::{Input, ProbeRequest};
    use std::time::SystemTime;
    let lab = lab();
    let ifindex = ifindex(&lab.router, "up1");
    lab.router.run(move || {
        let method = Method {
            kind: TrackMethod::Ping,
            port: 0,
            dns_name: String::new(),
        };
        let binding = Binding {
            device: "up1".into(),
            ifindex,
            source: Some(ip("192.0.2.2")),
            mark: 0x0100_0000,
            ttl: 64,
            size: 56,
        };
        let target = ip(TARGET);
        let mut prober = Prober::open(&method, &binding, &[target]).unwrap();
        // The kernel turns time-stamping on from a work queue, shortly after the socket asks.
        std::thread::sleep(Duration::from_millis(50));
        let req = ProbeRequest {
            target,
            ident: 0x5151,
            seq: 1,
        };
        let sent = SystemTime::now();
        prober
            .send(req, Instant::now(), Duration::from_secs(1))
            .unwrap();
        std::thread::sleep(Duration::from_millis(300)); // the executor is busy elsewhere
                                                        // The engine's wake-up: which sockets are readable, then read them.
        let (mut fds, mut scratch, mut readable) = (Vec::new(), Vec::new(), Vec::new());
        prober.polled(&mut fds);
        rail::health::probe::ready(&fds, &mut scratch, &mut readable);
        let mut got = Vec::new();
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        prober.poll_recv(&mut cx, &readable, &mut got);
        let read = SystemTime::now();
        let (input, at) = got.pop().expect("the reply was read");
        assert_eq!(
            input,
            Input::Reply {
                from: target,
                ident: 0x5151,
                seq: 1
            }
        );
        let at = at.expect("a receive time stamp");
        let rtt = at.duration_since(sent).unwrap();
        assert!(rtt < Duration::from_millis(100), "rtt {rtt:?}");
        assert!(read.duration_since(at).unwrap() >= Duration::from_millis(250));
    });
}
