//! What the daemon keeps across its own restarts (a procd respawn after a crash, `service
//! rail restart`) but not across a reboot: one JSON file, `state.json`, in the run directory
//! (`/var/run/rail`, a tmpfs on OpenWrt). It holds the interfaces' marks, because
//! conntrack keeps the ct marks of existing flows while rail is away, and the uplinks an
//! admin took out of service.

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::config::marks::{keep_marks, mark_assignment, MarkAssignment};
use crate::config::Config;

/// The run directory unless `rail -r DIR` names another.
pub const RUN_DIR: &str = "/var/run/rail";
const FILE: &str = "state.json";

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Kept {
    /// The mask the marks are values of: after a change of mask they start afresh.
    pub mark_mask: u32,
    /// Each interface's mark, a value inside the mask (1-based).
    pub marks: BTreeMap<String, u32>,
    /// Interfaces in maintenance.
    pub maintenance: BTreeSet<String>,
}

impl Kept {
    /// What a daemon running `config` with `maintenance` keeps.
    pub fn of(config: &Config, maintenance: &BTreeSet<String>) -> Kept {
        Kept {
            mark_mask: config.globals.mark_mask.bits(),
            marks: mark_assignment(config),
            maintenance: maintenance.clone(),
        }
    }

    /// Give `config`'s interfaces the marks kept for them (a new one takes a free mark);
    /// the interfaces of `config` kept in maintenance.
    pub fn apply(&self, config: &mut Config) -> BTreeSet<String> {
        if self.mark_mask == config.globals.mark_mask.bits() {
            keep_marks(config, &self.marks);
        } else {
            keep_marks(config, &MarkAssignment::new());
        }
        let names: BTreeSet<&str> = config.interfaces.iter().map(|i| i.name.as_str()).collect();
        self.maintenance
            .iter()
            .filter(|n| names.contains(n.as_str()))
            .cloned()
            .collect()
    }
}

/// What `dir` keeps; nothing when there is no file (first start since boot). An unreadable
/// file is reported and ignored: rail then starts as after a reboot.
pub fn load(dir: &Path) -> Kept {
    let path = dir.join(FILE);
    match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|e| {
            log::warn!("{}: {e}; starting without it", path.display());
            Kept::default()
        }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Kept::default(),
        Err(e) => {
            log::warn!("{}: {e}; starting without it", path.display());
            Kept::default()
        }
    }
}

/// Write `kept` to `dir` (created if missing), atomically: a crash leaves the old file or
/// the new one.
pub fn save(dir: &Path, kept: &Kept) -> io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!("{FILE}.tmp"));
    std::fs::write(&tmp, serde_json::to_vec(kept).map_err(io::Error::other)?)?;
    std::fs::rename(&tmp, dir.join(FILE))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::uplinks;

    #[test]
    fn marks_and_maintenance_come_back_from_the_file() {
        let dir = std::env::temp_dir().join(format!("rail-persist-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(load(&dir), Kept::default(), "nothing kept since boot");
        let old = uplinks(&["a", "b"]).build();
        let kept = Kept::of(&old, &BTreeSet::from(["b".to_string()]));
        save(&dir, &kept).unwrap();
        assert_eq!(load(&dir), kept);

        // Restarted on a config with `new` inserted first and `b` gone.
        let mut now = uplinks(&["new", "a"]).build();
        assert_eq!(load(&dir).apply(&mut now), BTreeSet::new());
        assert_eq!(
            mark_assignment(&now),
            MarkAssignment::from([("a".into(), 1), ("new".into(), 2)])
        );
        let mut same = uplinks(&["b", "a"]).build();
        assert_eq!(load(&dir).apply(&mut same), BTreeSet::from(["b".into()]));
        assert_eq!(mark_assignment(&same)["b"], 2);
        // Another mask: the marks start afresh, in file order.
        let mut wide = uplinks(&["b", "a"]).build();
        wide.globals.mark_mask = crate::config::MarkMask::new(0xFF00).unwrap();
        load(&dir).apply(&mut wide);
        assert_eq!(mark_assignment(&wide)["b"], 1);

        std::fs::write(dir.join(FILE), b"{not json").unwrap();
        assert_eq!(load(&dir), Kept::default());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
