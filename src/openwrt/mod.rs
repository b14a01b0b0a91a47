//! OpenWrt integration: the ubus wire protocol and client (`wire`, `client`, over
//! `crate::blob`), the
//! `rail` ubus object (`object`), netifd's interface status and notifications (`netifd`),
//! hotplug events (`hotplug`) and logging to syslog (`syslog`).
//!
//! Daemon usage:
//! ```no_run
//! use rail::openwrt::{client, netifd, object};
//! let bus = client::Client::new(client::Config {
//!     objects: vec![object::object(|_| true, |req| { let _ = req; Ok(None) })],
//!     subscriptions: vec!["network.interface".into()],
//!     patterns: vec!["network.interface".into()],
//!     ..Default::default()
//! });
//! // On the daemon's LocalExecutor: spawn `bus.run()`, read `bus.events()`, and
//! // `bus.call("network.interface.wan", "status", &serde_json::json!({}))`.
//! ```

pub mod hotplug;
pub mod netifd;
pub mod object;
mod shell;
pub mod wire;
pub use shell::{client, syslog, watch};
