//! The daemon: the imperative shell that joins configuration, health, policy and dataplane
//! on one smol executor, and answers the control socket and ubus.

pub mod control;
pub mod hooks;
pub mod status;

/// Wall-clock seconds, for the status document (health runs on the monotonic clock).
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
