//! OpenWrt's shell: the ubus connection, following netifd over it, and the syslog writer.

pub mod client;
pub mod syslog;
pub mod watch;
