//! Building blocks for the seed scenarios' lab tests: rail configurations written section
//! by section, connections from a chosen source address, and counting which uplink carried
//! them.

use std::collections::BTreeMap;
use std::time::Duration;

use super::lab::Lab;
use super::rail::{interface, Rail, FAST};

/// A config: `globals` (extra option lines, may be empty) and fast-probing interfaces
/// `isp<i>` for each ISP number in `isps`.
pub fn uplinks(lab: &Lab, isps: &[usize], globals: &str) -> String {
    let mut text = format!("config globals 'globals'\n{globals}\n");
    for &i in isps {
        text.push_str(&interface(lab, i, FAST));
    }
    text
}

/// `config member NAME` on `isp<isp>` with a metric and a weight.
pub fn member(name: &str, isp: usize, metric: u16, weight: u16) -> String {
    format!(
        "config member '{name}'\n\toption interface 'isp{isp}'\n\toption metric '{metric}'\n\toption weight '{weight}'\n\n"
    )
}

/// `config policy NAME` using `members`.
pub fn policy(name: &str, members: &[&str]) -> String {
    let list: String = members
        .iter()
        .map(|m| format!("\tlist use_member '{m}'\n"))
        .collect();
    format!("config policy '{name}'\n{list}\n")
}

/// As `policy`, with its `last_resort`.
pub fn policy_with(name: &str, members: &[&str], last_resort: &str) -> String {
    let mut text = policy(name, members);
    text.pop(); // the blank line that ends the section
    text + &format!("\toption last_resort '{last_resort}'\n\n")
}

/// `config rule NAME` with match options `(option, value)` sending to `use_policy`.
pub fn rule(name: &str, matches: &[(&str, &str)], use_policy: &str) -> String {
    let opts: String = matches
        .iter()
        .map(|(k, v)| format!("\toption {k} '{v}'\n"))
        .collect();
    format!("config rule '{name}'\n{opts}\toption use_policy '{use_policy}'\n\n")
}

/// The router's address on ISP `isp`, as the service sees masqueraded connections.
pub fn addr(lab: &Lab, isp: usize) -> String {
    lab.uplink(isp).addr.to_string()
}

/// How many of a tally went through ISP `isp`.
pub fn via(lab: &Lab, tally: &BTreeMap<String, usize>, isp: usize) -> usize {
    tally.get(&addr(lab, isp)).copied().unwrap_or(0)
}

/// `n` new HTTP connections from `node` bound to the local address `source`: how many each
/// source address (as the service saw it) carried, "error" for failures.
pub fn tally_from(lab: &Lab, node: &str, source: &str, n: usize) -> BTreeMap<String, usize> {
    let out = lab.run(
        node,
        &[
            "python3",
            &super::lab::whoami().to_string_lossy(),
            "tally",
            "--host",
            &lab.service().to_string(),
            "--port",
            &lab.http_port().to_string(),
            "--source",
            source,
            "--timeout",
            "1",
            "-n",
            &n.to_string(),
        ],
    );
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("bad tally output {out:?}: {e}"))
}

/// A second LAN host: `addr`/24 added to the LAN node's eth0 (the lab has one LAN host).
pub fn add_lan_host(lab: &Lab, addr: &str) {
    lab.run(
        "lan",
        &["ip", "addr", "add", &format!("{addr}/24"), "dev", "eth0"],
    );
}

/// How long a FAST-profile verdict may take in these tests: detection is about half a
/// second, the rest is slack for a loaded machine.
pub const VERDICT: Duration = Duration::from_secs(5);

/// Starts rail on `config` and waits until ISPs `isps` are up.
pub fn start_up<'a>(lab: &'a Lab, config: &str, isps: &[usize]) -> Rail<'a> {
    let rail = Rail::start(lab, config);
    for i in isps {
        rail.wait_state(&format!("isp{i}"), "up", VERDICT);
    }
    rail
}

/// Replaces the config and runs `rail reload`, which must succeed.
pub fn reload(rail: &Rail, config: &str) {
    rail.write_config(config);
    let out = rail.cli(&["reload"]);
    assert!(
        out.status.success(),
        "rail reload: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Uplinks isp1..ispN (N = `weights.len()`) as members `m1`..`mN` of policy `balanced`
/// with those weights, all in metric 1; no rules.
pub fn balanced(lab: &Lab, weights: &[u16], globals: &str) -> String {
    let isps: Vec<usize> = (1..=weights.len()).collect();
    let names: Vec<String> = isps.iter().map(|i| format!("m{i}")).collect();
    let members: String = isps
        .iter()
        .zip(weights)
        .map(|(&i, &w)| member(&names[i - 1], i, 1, w))
        .collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    uplinks(lab, &isps, globals) + &members + &policy("balanced", &names)
}

/// `balanced` with a catch-all rule: every new LAN connection goes through the policy.
pub fn balanced_all(lab: &Lab, weights: &[u16]) -> String {
    balanced(lab, weights, "") + &rule("all", &[], "balanced")
}
