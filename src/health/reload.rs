//! Which trackers survive a reload (pure): an interface whose trackers are all unchanged
//! at the same positions keeps them, with their sockets and history (a reload must not blip
//! a healthy uplink); a tracker re-created under the same name resumes the old verdict.
//! `Engine::rebuild` carries the plan out.

use std::collections::BTreeSet;

use crate::config::{Interface, InterfaceId};

/// What a reload does with a tracker of the engine before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Carry {
    /// The same interface with the same settings: the tracker moves from `from` to `to`.
    Keep { from: usize, to: usize },
    /// The same name with other settings: the new tracker at `to` resumes the verdict of
    /// the one at `from`.
    Resume { from: usize, to: usize },
}

/// Trackers laid out as the engine lays them out: the first tracker of interface `i` at
/// `i`, the IPv6 tracker of a dual-stack one at `second[i]`; `old` and `new` hold each
/// tracker's interface (its targets those of its family). Returns what to carry over and
/// the interfaces kept whole.
pub fn carry(
    old: &[&Interface],
    old_second: &[Option<usize>],
    new: &[&Interface],
    new_second: &[Option<usize>],
) -> (Vec<Carry>, BTreeSet<InterfaceId>) {
    let mut carries = Vec::new();
    let mut kept = BTreeSet::new();
    for (i, (&was6, &now6)) in old_second.iter().zip(new_second).enumerate() {
        let pairs = [(Some(i), Some(i)), (was6, now6)];
        let same = |(a, b): (Option<usize>, Option<usize>)| match (a, b) {
            (Some(a), Some(b)) => old[a] == new[b],
            (None, None) => true,
            _ => false,
        };
        let keep = pairs.into_iter().all(same);
        for (from, to) in pairs {
            let (Some(from), Some(to)) = (from, to) else {
                continue;
            };
            if keep {
                carries.push(Carry::Keep { from, to });
            } else if old[from].name == new[to].name {
                carries.push(Carry::Resume { from, to });
            }
        }
        if keep {
            kept.insert(InterfaceId(i));
        }
    }
    (carries, kept)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::interface;
    use std::time::Duration;

    fn ids(kept: &BTreeSet<InterfaceId>) -> Vec<usize> {
        kept.iter().map(|i| i.0).collect()
    }

    #[test]
    fn unchanged_interfaces_keep_their_trackers_changed_ones_resume() {
        let (a, b) = (interface("a", 1), interface("b", 2));
        let mut slower = b.clone();
        slower.interval = Duration::from_secs(5);
        let (carries, kept) = carry(&[&a, &b], &[None, None], &[&a, &slower], &[None, None]);
        assert_eq!(
            carries,
            [
                Carry::Keep { from: 0, to: 0 },
                Carry::Resume { from: 1, to: 1 }
            ]
        );
        assert_eq!(ids(&kept), [0]);
    }

    #[test]
    fn a_dual_stack_interface_is_kept_only_with_both_trackers_unchanged() {
        let (a, a6) = (interface("a", 1), interface("a", 1));
        let mut other6 = a6.clone();
        other6.track_ip = vec!["2001:db8::1".parse().unwrap()];
        let old = [&a, &a6];
        let (carries, kept) = carry(&old, &[Some(1)], &[&a, &a6], &[Some(1)]);
        assert_eq!(
            carries,
            [
                Carry::Keep { from: 0, to: 0 },
                Carry::Keep { from: 1, to: 1 }
            ]
        );
        assert_eq!(ids(&kept), [0]);
        // Only the IPv6 tracker's targets changed: neither is kept, both resume.
        let (carries, kept) = carry(&old, &[Some(1)], &[&a, &other6], &[Some(1)]);
        assert_eq!(
            carries,
            [
                Carry::Resume { from: 0, to: 0 },
                Carry::Resume { from: 1, to: 1 }
            ]
        );
        assert!(kept.is_empty());
        // Becoming dual-stack: the new IPv6 tracker starts afresh.
        let (carries, kept) = carry(&[&a], &[None], &[&a, &a6], &[Some(1)]);
        assert_eq!(carries, [Carry::Resume { from: 0, to: 0 }]);
        assert!(kept.is_empty());
    }

    #[test]
    fn another_name_at_the_same_position_starts_afresh() {
        let (a, b, c) = (interface("a", 1), interface("b", 2), interface("c", 3));
        let (carries, kept) = carry(&[&a, &b], &[None, None], &[&c], &[None]);
        assert!(carries.is_empty() && kept.is_empty());
    }
}
