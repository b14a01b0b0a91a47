//! The daemon: the imperative shell that joins configuration, health, policy and dataplane
//! on one smol executor, and answers the control socket and ubus.

pub mod control;
pub mod hooks;
pub mod status;
