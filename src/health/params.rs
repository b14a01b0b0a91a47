//! The tracker's parameters, built from one `config::Interface`: what to probe, how often,
//! and how many good or bad rounds it takes to change state.

use crate::config::{InitialState, Interface, Quality, TrackMethod};
use std::net::IpAddr;
use std::time::Duration;

/// Results kept per target for RTT, jitter and loss (a sliding window of probes).
pub const DEFAULT_WINDOW: usize = 20;

#[derive(Debug, Clone, PartialEq)]
pub struct Params {
    pub method: TrackMethod,
    /// Probe targets; empty means the uplink is judged by its carrier alone.
    pub targets: Vec<IpAddr>,
    /// Targets that must answer for a round to be good (1..=targets).
    pub reliability: usize,
    /// Probes per target per round (at least 1).
    pub count: u32,
    pub timeout: Duration,
    pub interval: Duration,
    pub failure_interval: Duration,
    pub recovery_interval: Duration,
    /// Failed rounds in a row that take the uplink down (at least 1).
    pub down: u32,
    /// Good rounds in a row that bring it back (at least 1).
    pub up: u32,
    pub hold: Duration,
    pub initial_state: InitialState,
    pub quality: Option<Quality>,
    /// Probe results kept per target for the statistics and the quality limits.
    pub window: usize,
}

impl Params {
    /// The config module validates ranges; the clamps here only keep the arithmetic total
    /// (no division by zero, no round that can never be good).
    pub fn from_interface(i: &Interface) -> Params {
        let targets = i.track_ip.clone();
        Params {
            method: i.track_method,
            reliability: (i.reliability as usize).clamp(1, targets.len().max(1)),
            targets,
            count: i.count.max(1),
            timeout: i.timeout.max(Duration::from_millis(1)),
            interval: i.interval.max(Duration::from_millis(1)),
            failure_interval: i.failure_interval.max(Duration::from_millis(1)),
            recovery_interval: i.recovery_interval.max(Duration::from_millis(1)),
            down: i.down.max(1),
            up: i.up.max(1),
            hold: i.hold,
            initial_state: i.initial_state,
            quality: i.quality,
            window: DEFAULT_WINDOW,
        }
    }

    /// Probes in one round.
    pub fn round_size(&self) -> u64 {
        self.targets.len() as u64 * u64::from(self.count)
    }
}
