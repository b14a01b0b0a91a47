//! Uplink health: the pure tracker (`machine`) and its helpers (`passive`: the LAN's
//! connections as evidence), the wire formats of the
//! probes, the sockets that send them (`probe`) and the engine that joins them on the
//! daemon's executor (`engine`).

pub mod global;
pub mod machine;
pub mod params;
pub mod passive;
pub mod reload;
mod shell;
pub mod stats;
pub mod time;
pub mod wire;
pub use shell::{engine, probe, wake};

pub use global::{GlobalChange, GlobalDetector};
pub use machine::{Input, Output, ProbeRequest, State, Status, TargetStatus, Tracker, Transition};
pub use params::Params;
pub use time::Time;
