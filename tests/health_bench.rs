//! The health micro benchmark (ignored by `cargo test`; `make bench` runs it): 16 uplinks x
//! 8 targets x 5 probes/s per target through real sockets in a namespace lab, for
//! RAIL_BENCH_SECS seconds (default 10). Prints one JSON line with the engine's CPU (its
//! thread's user+system time) and the process's resident memory.
//!
//! cargo test --release --test health_bench -- --ignored --nocapture

mod health_support;

use health_support::{ifindex, interface, ip, veth, Netns};
use rail::config::{InterfaceId, MarkMask};
use rail::family::Af;
use rail::health::engine::{Engine, LinkFacts};
use std::time::{Duration, Instant};

const UPLINKS: usize = 16;
const TARGETS: usize = 8;

fn thread_cpu() -> Duration {
    // SAFETY: getrusage fills the struct it is given.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut ru) };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

/// VmRSS and VmHWM of this process, KiB.
fn rss_kib() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

#[test]
#[ignore = "benchmark: run with --ignored"]
fn health_16_uplinks_8_targets_5_per_second() {
    let secs: f64 = std::env::var("RAIL_BENCH_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10.0);
    let router = Netns::new("r");
    let isp = Netns::new("i");
    let targets: Vec<String> = (1..=TARGETS).map(|n| format!("198.18.0.{n}")).collect();
    for t in &targets {
        isp.ip(&format!("addr add {t}/32 dev lo"));
    }
    let mut ifaces = Vec::new();
    let mut facts = Vec::new();
    for u in 0..UPLINKS {
        let (dev, src) = (format!("up{u}"), format!("198.51.100.{}", 4 * u + 2));
        veth(
            &router,
            &dev,
            &format!("{src}/30"),
            &isp,
            &format!("down{u}"),
            &format!("198.51.100.{}/30", 4 * u + 1),
        );
        let refs: Vec<&str> = targets.iter().map(String::as_str).collect();
        let mut i = interface(&format!("wan{u}"), &refs);
        i.interval = Duration::from_millis(200); // 5 probes/s per target
        i.mark = MarkMask::DEFAULT.mark(u as u32 + 1).unwrap();
        ifaces.push(i);
        facts.push(LinkFacts {
            ifindex: ifindex(&router, &dev),
            device: dev,
            source: Some(ip(&src)),
        });
    }
    let (rss_before, _) = rss_kib();
    let (cpu, sent, received, states) = router.run(move || {
        let mut engine = Engine::new(&ifaces).unwrap();
        for (n, f) in facts.into_iter().enumerate() {
            engine.device_up(InterfaceId(n), Af::Inet, f);
        }
        // Warm up (ARP, first rounds) before measuring. The daemon's own loop (health::wake)
        // waits for the engine's timer, as the daemon does.
        let mut run = |secs: f64| {
            let deadline = Instant::now() + Duration::from_secs_f64(secs);
            rail::health::wake::block_on(engine.run_until(deadline)).expect("an eventfd")
        };
        run(1.0);
        let cpu0 = thread_cpu();
        run(secs);
        let cpu = thread_cpu() - cpu0;
        let st: Vec<_> = (0..UPLINKS)
            .map(|n| engine.status(InterfaceId(n)))
            .collect();
        let states: Vec<String> = st.iter().map(|s| s.state.to_string()).collect();
        (
            cpu,
            st.iter().map(|s| s.sent).sum::<u64>(),
            st.iter().map(|s| s.received).sum::<u64>(),
            states,
        )
    });
    let (rss, hwm) = rss_kib();
    let cpu_percent = cpu.as_secs_f64() * 100.0 / secs;
    println!(
        "{{\"health_bench\":{{\"uplinks\":{UPLINKS},\"targets\":{TARGETS},\"probes_per_s\":{},\
         \"seconds\":{secs},\"cpu_percent\":{cpu_percent:.3},\"rss_kib\":{rss},\"hwm_kib\":{hwm},\
         \"rss_before_engine_kib\":{rss_before},\"sent\":{sent},\"received\":{received}}}}}",
        UPLINKS * TARGETS * 5
    );
    assert!(states.iter().all(|s| s == "up"), "{states:?}");
    assert!(
        received * 100 >= sent * 99,
        "sent {sent} received {received}"
    );
}
