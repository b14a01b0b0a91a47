//! Reloading a running daemon in the lab: `rail reload` and SIGHUP apply a changed
//! configuration while established flows keep their uplink, and a broken configuration is
//! refused with its problems located, the running one kept. A broken configuration at
//! start is exit status 2.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::lab::{Flow, Lab};
use common::rail::{binary, Rail};
use common::scenario::{addr, balanced, member, policy, reload, rule, start_up, via, VERDICT};

/// Uplinks isp1..ispN balanced by `weights` (N of them), plus `extra` sections before the
/// catch-all rule; policy `alt` is isp2 alone.
fn config(lab: &Lab, weights: &[u16], extra: &str) -> String {
    balanced(lab, weights, "")
        + &member("alt_m2", 2, 1, 1)
        + &policy("alt", &["alt_m2"])
        + extra
        + &rule("all", &[], "balanced")
}

/// The echo flows in the router's conntrack: (LAN source port, ct mark, the masqueraded
/// address the reply goes to).
fn echo_flows(lab: &Lab) -> BTreeSet<(String, String, String)> {
    let out = lab.exec(
        "rtr",
        &[
            "conntrack",
            "-L",
            "-p",
            "tcp",
            "--dport",
            &lab.echo_port().to_string(),
        ],
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.contains("ESTABLISHED"))
        .map(|l| {
            let field = |key: &str, nth: usize| {
                l.split_whitespace()
                    .filter_map(|w| w.strip_prefix(key))
                    .nth(nth)
                    .unwrap_or("")
                    .to_string()
            };
            (field("sport=", 0), field("mark=", 0), field("dst=", 1))
        })
        .collect()
}

/// Long-lived flows from the LAN until there is one on each uplink.
fn flows_on_both(lab: &Lab) -> Vec<Flow> {
    let mut flows = Vec::new();
    for _ in 0..40 {
        flows.push(lab.open_flow("lan"));
        let seen: BTreeSet<&str> = flows.iter().map(|f| f.source.as_str()).collect();
        if seen.len() == 2 {
            return flows;
        }
    }
    panic!("40 flows never used both uplinks");
}

fn percents(rail: &Rail) -> Vec<(String, u64)> {
    let status = rail.status();
    status["policies"]["balanced"]["active"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["interface"].as_str().unwrap().to_string(),
                m["percent"].as_u64().unwrap(),
            )
        })
        .collect()
}

fn all_alive(flows: &mut [Flow], when: &str) {
    for f in flows.iter_mut() {
        assert!(
            f.alive(Duration::from_secs(1)),
            "{when}: flow via {} broken",
            f.source
        );
    }
}

#[test]
#[cfg_attr(not(lab_root), ignore = "needs root: the network lab")]
fn reload_and_sighup_apply_changes_and_keep_established_flows_on_their_uplinks() {
    let lab = Lab::for_rail(3);
    let rail = start_up(&lab, &config(&lab, &[1, 1], ""), &[1, 2]);
    let mut flows = flows_on_both(&lab);
    let before = echo_flows(&lab);
    assert_eq!(
        before.len(),
        flows.len(),
        "conntrack shows the flows: {before:?}"
    );
    let masqueraded: BTreeSet<String> = before.iter().map(|f| f.2.clone()).collect();
    assert_eq!(
        masqueraded,
        BTreeSet::from([addr(&lab, 1), addr(&lab, 2)]),
        "{before:?}"
    );
    assert!(before
        .iter()
        .all(|f| f.1.parse::<u32>().is_ok_and(|m| m != 0)));
    assert_eq!(percents(&rail), [("isp1".into(), 50), ("isp2".into(), 50)]);

    // `rail reload`: new weights.
    reload(&rail, &config(&lab, &[3, 1], ""));
    assert_eq!(percents(&rail), [("isp1".into(), 75), ("isp2".into(), 25)]);
    all_alive(&mut flows, "after rail reload");
    assert_eq!(
        echo_flows(&lab),
        before,
        "flows keep their marks and addresses"
    );

    // SIGHUP: a new rule sending port 80 over isp2 alone.
    let web = rule("web", &[("proto", "tcp"), ("dest_port", "80")], "alt");
    rail.write_config(&config(&lab, &[3, 1], &web));
    // SAFETY: kill(2) on the daemon we started.
    unsafe { libc::kill(rail.pid() as i32, libc::SIGHUP) };
    rail.wait_for("the SIGHUP reload", VERDICT, |r| {
        r.log_text().matches("reload: applying").count() == 2
    });
    let t = lab.tally("lan", 20);
    assert_eq!(via(&lab, &t, 2), 20, "the new rule applies: {t:?}");
    all_alive(&mut flows, "after SIGHUP");
    assert_eq!(
        echo_flows(&lab),
        before,
        "flows keep their marks and addresses"
    );

    // A third uplink appended: the others keep their marks, their flows their uplinks.
    reload(&rail, &config(&lab, &[3, 1, 1], &web));
    rail.wait_state("isp3", "up", VERDICT);
    all_alive(&mut flows, "after adding isp3");
    assert_eq!(
        echo_flows(&lab),
        before,
        "flows keep their marks and addresses"
    );
    let mut flow = lab.open_flow("lan");
    for _ in 0..30 {
        if flow.source == addr(&lab, 3) {
            break;
        }
        flow = lab.open_flow("lan");
    }
    assert_eq!(flow.source, addr(&lab, 3), "isp3 carries new flows");
}

#[test]
#[cfg_attr(not(lab_root), ignore = "needs root: the network lab")]
fn broken_config_is_refused_on_reload_and_at_start() {
    let lab = Lab::for_rail(2);
    let good = config(&lab, &[1, 1], "");
    let rail = start_up(&lab, &good, &[1, 2]);
    let policies = rail.status()["policies"].clone();

    // Line 2 of the globals section: an option that does not exist.
    let broken = good.replacen(
        "config globals 'globals'\n",
        "config globals 'globals'\n\toption mark_maks '0x3F000000'\n",
        1,
    );
    rail.write_config(&broken);
    let out = rail.cli(&["reload"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "rail reload must fail: {err}");
    let located = format!("{}:2:", rail.config.display());
    assert!(
        err.contains(&located) && err.contains("mark_maks"),
        "the problem with its file and line: {err}"
    );
    assert_eq!(rail.status()["policies"], policies, "running config kept");
    assert!(rail
        .log_text()
        .contains("keeping the running configuration"));

    // SIGHUP with the same file: logged and kept too; traffic still balanced.
    // SAFETY: kill(2) on the daemon we started.
    unsafe { libc::kill(rail.pid() as i32, libc::SIGHUP) };
    rail.wait_for("the SIGHUP refusal", VERDICT, |r| {
        r.log_text()
            .matches("keeping the running configuration")
            .count()
            == 2
    });
    assert_eq!(rail.state("isp1"), "up");
    let t = lab.tally("lan", 20);
    assert!(
        via(&lab, &t, 1) > 0 && via(&lab, &t, 2) > 0,
        "still balanced: {t:?}"
    );

    // The same file at start: exit 2, nothing started.
    let path = rail.config.to_str().unwrap().to_string();
    let [opt, socket] = common::rail::control_args(&lab);
    let out = lab.exec(
        "rtr",
        &[binary(), "-c", &path, &opt, &socket, "daemon", "-f"],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains(&located) && err.contains("not starting"),
        "{err}"
    );
}

#[test]
#[cfg_attr(not(lab_root), ignore = "needs root: the network lab")]
fn reload_keeps_a_down_uplink_down_and_off_the_routes() {
    let lab = Lab::for_rail(2);
    let rail = start_up(&lab, &config(&lab, &[1, 1], ""), &[1, 2]);
    lab.fault(1, common::lab::Fault::Blackhole);
    rail.wait_state("isp1", "down", VERDICT);

    // New weights only: isp1's tracking is unchanged, so is its verdict (initial_state
    // online must not bring it back unprobed).
    reload(&rail, &config(&lab, &[3, 1], ""));
    assert_eq!(rail.state("isp1"), "down");
    assert_eq!(percents(&rail), [("isp2".into(), 100)]);
    let t = lab.tally("lan", 10);
    assert_eq!(via(&lab, &t, 2), 10, "nothing into the black hole: {t:?}");
}
