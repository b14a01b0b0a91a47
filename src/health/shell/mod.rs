//! The health subsystem's shell: the engine driving the trackers on the daemon's executor,
//! the probe sockets, and the engine's timerfd.

pub mod engine;
pub mod probe;
pub mod wake;
