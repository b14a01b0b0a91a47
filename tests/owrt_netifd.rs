//! rail beside OpenWrt's own ubusd and netifd (from `RAIL_OWRT`, run by
//! scripts/owrt/run-netifd.sh) in the lab's router namespace: the event matrix of
//! tests/daemon_matrix.rs against the real daemon, and the figures issue 14 asks for.
//!
//! netifd runs `wana` (ISP 1) with tests/owrt/raildhcp.uc, our DHCP-like proto handler
//! whose lease file the test rewrites before a `renew`, and `wanb` (ISP 2) with proto
//! static; `wanc` (ISP 3) is rail's alone. The hotplug script netifd calls is the one rail
//! ships (files/etc/hotplug.d/iface/30-rail). Steps: ifdown/ifup, `network reload`
//! unchanged, a reload restarting an uplink as it was, renewals with a new address or a
//! new gateway only, netifd restart, ubusd restart, `rail reload`, `nft flush ruleset`,
//! kill -9 of rail. (A new
//! device and PPPoE recreation need devices this lab does not give netifd: the stand-in's
//! matrix covers them.) Opt-in: `make owrt-test`, as root; RAIL_MATRIX_STEPS and
//! RAIL_MATRIX_SEED as for the stand-in's matrix.

mod common;

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use common::lab::{Lab, Options};
use common::matrix::{self, Expect, Rng};
use common::owrt::Owrt;
use common::rail::Rail;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    IfdownIfup,
    ReloadUnchanged,
    ReloadRestart,
    RenewAddress,
    RenewGateway,
    NetifdRestart,
    UbusdRestart,
    RailReload,
    NftFlush,
    Kill9,
}

const STEPS: [Step; 10] = [
    Step::IfdownIfup,
    Step::ReloadUnchanged,
    Step::ReloadRestart,
    Step::RenewAddress,
    Step::RenewGateway,
    Step::NetifdRestart,
    Step::UbusdRestart,
    Step::RailReload,
    Step::NftFlush,
    Step::Kill9,
];

/// OpenWrt's ubusd and netifd around the lab's router, and what netifd was told.
struct Owrtd<'a> {
    owrt: Owrt,
    lab: &'a Lab,
    dir: PathBuf,
    ubusd: Option<Child>,
    netifd: Option<Child>,
    /// wana's lease: host part of the address, and the gateway's.
    lease: (u8, u8),
    /// wana's `note` option: a change of it makes `network reload` restart wana as it was.
    note: u32,
}

impl Owrtd<'_> {
    fn sock(&self) -> PathBuf {
        self.dir.join("ubus/ubus.sock")
    }

    /// ISP `isp`'s block (a /28) with host part `host`.
    fn host(&self, isp: usize, host: u8) -> Ipv4Addr {
        let u = self.lab.uplink(isp);
        let base = u32::from(u.addr) & !((1u32 << (32 - u.prefix)) - 1);
        Ipv4Addr::from(base | u32::from(host))
    }

    /// (address, gateway) of `wana` or `wanb` as netifd is told now.
    fn addresses(&self, name: &str) -> (Ipv4Addr, Ipv4Addr) {
        match name {
            "wana" => (self.host(1, self.lease.0), self.host(1, self.lease.1)),
            _ => (self.lab.uplink(2).addr, self.lab.uplink(2).gw),
        }
    }

    fn write_config(&self) {
        let (a, g) = self.addresses("wana");
        std::fs::write(
            self.dir.join("wana.lease"),
            format!("{{\"address\":\"{a}\",\"mask\":28,\"gateway\":\"{g}\"}}"),
        )
        .unwrap();
        let (b, h) = self.addresses("wanb");
        let network = format!(
            "config interface 'wana'\n\toption device '{}'\n\toption proto 'raildhcp'\n\
             \toption lease '{}'\n\toption metric '10'\n\toption note '{}'\n\n\
             config interface 'wanb'\n\toption device '{}'\n\toption proto 'static'\n\
             \toption ipaddr '{b}/28'\n\toption gateway '{h}'\n\toption metric '20'\n",
            self.lab.uplink(1).dev,
            self.dir.join("wana.lease").display(),
            self.note,
            self.lab.uplink(2).dev,
        );
        std::fs::write(self.dir.join("config/network"), network).unwrap();
    }

    fn start_ubusd(&mut self) {
        let _ = std::fs::remove_file(self.sock());
        let log = std::fs::File::create(self.dir.join("ubusd.log")).unwrap();
        self.ubusd = Some(
            Command::new(self.owrt.bin("ubusd"))
                .arg("-s")
                .arg(self.sock())
                .stdout(log.try_clone().unwrap())
                .stderr(log)
                .spawn()
                .expect("ubusd"),
        );
        let t0 = Instant::now();
        while !self.sock().exists() {
            assert!(t0.elapsed() < Duration::from_secs(5), "ubusd's socket");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn start_netifd(&mut self) {
        let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("netifd.log"))
            .unwrap();
        self.netifd = Some(
            Command::new(repo.join("scripts/owrt/run-netifd.sh"))
                .env("RAIL_OWRT", self.owrt.prefix())
                .arg("-n")
                .arg(self.lab.ns("rtr"))
                .arg("-p")
                .arg(repo.join("tests/owrt"))
                .arg("-u")
                .arg(self.sock())
                .args(["--", "-S", "-c"])
                .arg(self.dir.join("config"))
                .arg("-s")
                .arg(self.sock())
                .arg("-h")
                .arg(repo.join("files/etc/hotplug.d/iface/30-rail"))
                .stdout(log.try_clone().unwrap())
                .stderr(log)
                .spawn()
                .expect("run-netifd.sh"),
        );
    }

    fn ubus(&self, args: &[&str]) {
        let out = Command::new(self.owrt.bin("ubus"))
            .arg("-s")
            .arg(self.sock())
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "ubus {args:?}: {out:?}");
    }
}

fn stop(child: &mut Option<Child>, signal: i32) {
    if let Some(mut c) = child.take() {
        // SAFETY: kill(2) on a child we started and have not reaped.
        unsafe { libc::kill(c.id() as i32, signal) };
        let t0 = Instant::now();
        while c.try_wait().ok().flatten().is_none() {
            if t0.elapsed() > Duration::from_secs(5) {
                let _ = c.kill();
                let _ = c.wait();
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Owrtd<'_> {
    fn drop(&mut self) {
        stop(&mut self.netifd, libc::SIGTERM);
        stop(&mut self.ubusd, libc::SIGTERM);
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        } else {
            eprintln!(
                "rail's log before its last kill -9 is kept in {}",
                self.dir.display()
            );
            eprintln!(
                "---- netifd log ----\n{}",
                std::fs::read_to_string(self.dir.join("netifd.log")).unwrap_or_default()
            );
        }
    }
}

fn uplink_of(d: &Owrtd, source: &str) -> &'static str {
    ["wana", "wanb"]
        .into_iter()
        .find(|n| d.addresses(n).0.to_string() == source)
        .unwrap_or(if d.lab.uplink(3).addr.to_string() == source {
            "wanc"
        } else {
            "unknown"
        })
}

fn expect(d: &Owrtd) -> Vec<Expect> {
    let mut e: Vec<Expect> = ["wana", "wanb"]
        .into_iter()
        .enumerate()
        .map(|(i, name)| {
            let (addr, gw) = d.addresses(name);
            Expect {
                name,
                addr,
                via: format!("via {gw} "),
                table: 20001 + i as u32,
            }
        })
        .collect();
    let c = d.lab.uplink(3);
    e.push(Expect {
        name: "wanc",
        addr: c.addr,
        via: format!("via {} ", c.gw),
        table: 20003,
    });
    e
}

#[test]
#[ignore = "needs RAIL_OWRT: OpenWrt's ubusd and netifd (make owrt-test)"]
fn the_daily_events_of_a_router_with_openwrts_netifd() {
    let owrt = Owrt::from_env();
    assert!(
        owrt.ready("netifd"),
        "RAIL_OWRT has no netifd (docs/owrt.md)"
    );
    let lab = Lab::up_with_ppp(
        Options {
            isps: 3,
            masq: false,
        },
        &[],
    )
    .expect("the lab (root)");
    let (mut rng, steps) = Rng::from_env(20);
    let seed = rng.0;
    let dir = std::env::temp_dir().join(format!("rail-owrt-netifd-{}", lab.name()));
    std::fs::create_dir_all(dir.join("ubus")).unwrap();
    std::fs::create_dir_all(dir.join("config")).unwrap();
    let mut d = Owrtd {
        owrt,
        lab: &lab,
        dir,
        ubusd: None,
        netifd: None,
        lease: (2, 1),
        note: 0,
    };
    // netifd owns wana's and wanb's IPv4 addresses from now on; the ISP answers on a
    // second gateway address for gateway-only renewals.
    for isp in [1, 2] {
        lab.run(
            "rtr",
            &["ip", "-4", "addr", "flush", "dev", &lab.uplink(isp).dev],
        );
    }
    let alt = format!("{}/28", d.host(1, 14));
    lab.run("isp1", &["ip", "addr", "add", &alt, "dev", "cust"]);
    d.write_config();
    d.start_ubusd();
    d.start_netifd();
    let socket = d.sock().to_str().unwrap().to_string();
    let config = matrix::config(&lab);
    let mut rail = Rail::start_with(&lab, &config, &["-s", &socket]);
    let mut log = String::new();
    let mut restarts = (0, 0, 0);
    let mut gateway_follow: Vec<Duration> = Vec::new();
    let t_start = Instant::now();
    let mut nft_flushes = 0;

    let mut taken = 0;
    for n in 0..steps {
        if !matrix::within_budget(t_start) {
            break;
        }
        taken += 1;
        matrix::converge(&lab, &rail, "start of step", &expect(&d));
        let step = STEPS[rng.below(STEPS.len())];
        let target = ["wana", "wanb"][rng.below(2)];
        eprintln!("step {n}: {step:?} ({target})");
        let step_log = log.clone() + &rail.log_text();
        let check = matrix::begin(&lab, format!("step {n} {step:?}"), &step_log, 6, |src| {
            uplink_of(&d, src)
        });
        let t0 = Instant::now();
        let object = format!("network.interface.{target}");
        let (touched, unchanged): (Vec<&str>, bool) = match step {
            Step::IfdownIfup => {
                d.ubus(&["call", &object, "down"]);
                std::thread::sleep(Duration::from_millis(300));
                d.ubus(&["call", &object, "up"]);
                (vec![target], true)
            }
            Step::ReloadUnchanged => {
                d.ubus(&["call", "network", "reload"]);
                (vec![], true)
            }
            Step::ReloadRestart => {
                // wana: its ucode proto is given the whole section, so a new note restarts
                // it (static takes only the options it knows: wanb would not restart).
                d.note += 1;
                d.write_config();
                d.ubus(&["call", "network", "reload"]);
                (vec!["wana"], true)
            }
            Step::RenewAddress => {
                d.lease.0 = 2 + (d.lease.0 - 1) % 6;
                d.write_config();
                d.ubus(&["call", "network.interface.wana", "renew"]);
                (vec!["wana"], false)
            }
            Step::RenewGateway => {
                d.lease.1 = if d.lease.1 == 1 { 14 } else { 1 };
                d.write_config();
                let gw = d.host(1, d.lease.1).to_string();
                d.ubus(&["call", "network.interface.wana", "renew"]);
                // From the moment main's default route changes to rail's table following.
                let dev = lab.uplink(1).dev;
                let main = || lab.run("rtr", &["ip", "route", "show", "default", "dev", &dev]);
                let renewed = Instant::now();
                let (mut main_at, mut table_at) = (None, None);
                while main_at.is_none() || table_at.is_none() {
                    assert!(renewed.elapsed() < Duration::from_secs(5), "renewal");
                    if main_at.is_none() && main().contains(&gw) {
                        main_at = Some(renewed.elapsed());
                    }
                    if table_at.is_none()
                        && matrix::table(&lab, 20001).contains(&format!("via {gw} "))
                    {
                        table_at = Some(renewed.elapsed());
                    }
                }
                let followed = table_at.unwrap().saturating_sub(main_at.unwrap());
                eprintln!("  gateway-only renewal followed {followed:?} after main's route");
                gateway_follow.push(followed);
                (vec!["wana"], false)
            }
            Step::NetifdRestart => {
                stop(&mut d.netifd, libc::SIGTERM);
                d.start_netifd();
                (vec!["wana", "wanb"], true)
            }
            Step::UbusdRestart => {
                stop(&mut d.ubusd, libc::SIGTERM);
                d.start_ubusd();
                (vec![], true)
            }
            Step::RailReload => {
                let out = rail.cli(&["reload"]);
                assert!(out.status.success(), "{out:?}");
                (vec![], true)
            }
            Step::NftFlush => {
                let out = lab.exec("rtr", &["nft", "flush", "ruleset"]);
                assert!(out.status.success(), "{out:?}");
                nft_flushes += 1;
                (vec![], true)
            }
            Step::Kill9 => {
                log += &rail.log_text();
                std::fs::write(d.dir.join("rail-before-kill.log"), &log).unwrap();
                rail.kill();
                drop(rail);
                rail = Rail::start_with(&lab, &config, &["-s", &socket]);
                (vec![], true)
            }
        };
        // netifd acts after the call returns: let it, before judging convergence.
        std::thread::sleep(Duration::from_millis(300));
        matrix::converge(&lab, &rail, &format!("step {n} {step:?}"), &expect(&d));
        let all = log.clone() + &rail.log_text();
        let held = |log: &str| log.matches("held out of service").count();
        eprintln!(
            "  converged in {:?}; uplinks held meanwhile: {}",
            t0.elapsed(),
            held(&all) - held(&step_log)
        );
        let (moved, flushed) = matrix::end(check, &all, &touched, unchanged, seed);
        if step == Step::NetifdRestart {
            restarts = (restarts.0 + 1, restarts.1 + moved, restarts.2 + flushed);
        }
    }
    let all = log + &rail.log_text();
    let bad = matrix::bad_lines(&all);
    let restoring = all.matches(matrix::RESTORING).count();
    assert!(
        restoring <= nft_flushes,
        "{restoring} restorations, {nft_flushes} flushes"
    );
    let count = |what: &str| all.lines().filter(|l| l.contains(what)).count();
    eprintln!(
        "real netifd matrix: {taken} steps in {:?}, {} error/warning lines, {} holds, {} restored as they were; \
         netifd restarts: {}, transitions {}, flushes {}; gateway-only renewals followed in {gateway_follow:?}",
        t_start.elapsed(),
        bad.len(),
        count("held out of service"),
        count("back as it was"),
        restarts.0,
        restarts.1,
        restarts.2
    );
    assert!(bad.is_empty(), "{bad:#?} (seed {seed})");
}
