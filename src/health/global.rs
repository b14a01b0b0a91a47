//! The global detector: when every probing uplink lost every target in its last round, the
//! Internet (or the probe targets) are gone rather than the uplinks, and rail keeps
//! forwarding instead of taking every uplink away from the LAN.

use super::machine::Tracker;

/// A change of the global condition, with the line to log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GlobalChange {
    pub all_targets_lost: bool,
    pub message: String,
}

#[derive(Debug, Clone, Default)]
pub struct GlobalDetector {
    lost: bool,
}

impl GlobalDetector {
    pub fn all_targets_lost(&self) -> bool {
        self.lost
    }

    /// Re-evaluate over all trackers; Some when the condition flips. Allocates only then.
    pub fn update<'a, I>(&mut self, trackers: I) -> Option<GlobalChange>
    where
        I: IntoIterator<Item = &'a Tracker> + Clone,
    {
        let probing = || {
            trackers
                .clone()
                .into_iter()
                .filter_map(|t| t.blackout().map(|b| (t.name(), b)))
        };
        let lost = probing().next().is_some() && probing().all(|(_, b)| b);
        if lost == self.lost {
            return None;
        }
        self.lost = lost;
        let message = if lost {
            let names: Vec<&str> = probing().map(|(n, _)| n).collect();
            format!(
                "all targets lost on every uplink ({}): keeping them in use",
                names.join(", ")
            )
        } else {
            let answering: Vec<&str> = probing().filter(|&(_, b)| !b).map(|(n, _)| n).collect();
            format!(
                "targets answer again on {}: normal health rules apply",
                answering.join(", ")
            )
        };
        Some(GlobalChange {
            all_targets_lost: lost,
            message,
        })
    }

    /// Whether the policy layer may send traffic through this uplink: routable, or down only
    /// because every uplink lost every target.
    pub fn usable(&self, t: &Tracker) -> bool {
        t.state().routable() || (self.lost && t.blackout() == Some(true))
    }
}
