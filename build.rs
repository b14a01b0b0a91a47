//! `cfg(lab_root)` when the tests are built by root: the lab tests (network namespaces,
//! veth, nft) carry `#[cfg_attr(not(lab_root), ignore = ...)]`, so for anyone else they are
//! reported as ignored, never as passed. Nothing in the binary depends on it.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(lab_root)");
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    // `Uid: real effective saved fs`
    let effective = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|ids| ids.split_whitespace().nth(1));
    if effective == Some("0") {
        println!("cargo::rustc-cfg=lab_root");
    }
}
