//! The control socket out of descriptors (docs/reliability.md, bad input): with the
//! process at its RLIMIT_NOFILE and clients still queued, every accept fails with EMFILE
//! and the failing client stays queued. The listener must back off rather than retry at
//! once: the executor it shares with probing and failover keeps running, and the thread
//! does not spin.
//!
//! A test binary of its own: it lowers the descriptor limit of the whole process.

use rail::daemon::control::{self, Daemon, Incoming, Limits};
use std::cell::Cell;
use std::os::unix::net::UnixStream;
use std::rc::Rc;
use std::time::Duration;

fn open_descriptors() -> u64 {
    std::fs::read_dir("/proc/self/fd").unwrap().count() as u64
}

fn cpu_seconds() -> f64 {
    // SAFETY: getrusage(2) fills the struct passed.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) };
    let t = |v: libc::timeval| v.tv_sec as f64 + v.tv_usec as f64 / 1e6;
    t(u.ru_utime) + t(u.ru_stime)
}

#[test]
fn accept_out_of_descriptors_backs_off_instead_of_spinning() {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("control_limits");
    let _ = std::fs::remove_dir_all(&dir);
    let path = dir.join("control");
    let listener = control::bind(&path).unwrap();
    // Queued, never accepted yet: they wait in the listen backlog.
    let clients: Vec<UnixStream> = (0..20)
        .map(|_| UnixStream::connect(&path).unwrap())
        .collect();

    let (tx, rx) = std::sync::mpsc::channel();
    let limit = open_descriptors() + 2;
    std::thread::spawn(move || {
        let ex = Rc::new(smol::LocalExecutor::new());
        let (requests, _loop) = smol::channel::unbounded::<Incoming>();
        let snapshot = Rc::new(control::Snapshot::default());
        snapshot.set(serde_json::json!({"interfaces": {}}));
        let daemon = Daemon { requests, snapshot };
        let limits = Limits {
            root: 100,
            others: 100,
        };
        // SAFETY: setrlimit(2) with a valid struct; the test binary holds nothing else.
        let mut old = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut old) };
        let low = libc::rlimit {
            rlim_cur: limit,
            rlim_max: old.rlim_max,
        };
        assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &low) }, 0);
        ex.spawn(control::serve(listener, daemon, limits, ex.clone()))
            .detach();
        // Stands for the probes and failover sharing the executor: it must keep ticking.
        let ticks = Rc::new(Cell::new(0u32));
        let t = ticks.clone();
        ex.spawn(async move {
            loop {
                async_io::Timer::after(Duration::from_millis(10)).await;
                t.set(t.get() + 1);
            }
        })
        .detach();
        let cpu = smol::block_on(ex.run(async {
            // Let the listener reach EMFILE first.
            async_io::Timer::after(Duration::from_millis(200)).await;
            let (start, ticked) = (cpu_seconds(), ticks.get());
            async_io::Timer::after(Duration::from_secs(1)).await;
            (cpu_seconds() - start, ticks.get() - ticked)
        }));
        unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &old) };
        let _ = tx.send(cpu);
    });
    let (cpu, ticks) = rx
        .recv_timeout(Duration::from_secs(10))
        .expect("the executor never came back: the accept loop holds the thread");
    drop(clients);
    assert!(
        ticks >= 50,
        "the executor's other tasks starved: {ticks} of 100 ticks"
    );
    assert!(
        cpu < 0.1,
        "{cpu:.2} s of CPU in 1 s at EMFILE: the accept loop spins"
    );
}
