//! The health subsystem's shell: the engine driving the trackers on the daemon's executor,
//! the probe sockets, the reading of passive evidence, and the engine's timerfd.

pub mod engine;
mod evidence;
pub mod probe;
pub mod wake;
