//! Configuration: turning a UCI package into a checked, typed `Config`, and every problem
//! found on the way into a located, actionable message.

pub mod model;

pub use model::*;
