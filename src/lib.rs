//! rail: a Redundant Array of Inexpensive Links.
//!
//! Functional core, imperative shell. The pure core (`family`, `uci`, `config`,
//! `health::machine`, `policy`, `dataplane::desired`) does no I/O and is tested with a simulated clock; the
//! shell (`dataplane::kernel`, `health::probe`, `openwrt`, `daemon`) talks to the kernel,
//! sockets and ubus and feeds events back into the core.

// Lets the config fixtures shared with the lab tests name this crate `rail` in unit tests.
extern crate self as rail;

pub mod cli;
pub mod config;
pub mod daemon;
pub mod dataplane;
pub mod family;
pub mod health;
pub mod history;
pub mod import;
pub mod netlink;
pub mod openwrt;
pub mod policy;
pub mod shaping;
pub mod uci;
mod words;

#[cfg(test)]
#[path = "../tests/dataplane_fixtures/mod.rs"]
mod fixtures;
