//! The opt-in real-OpenWrt prefix (docs/owrt.md): OpenWrt's own daemons built from source
//! into the directory named by `RAIL_OWRT`, and where each binary lies in it.
//!
//! Tests that need it live in `tests/owrt_*.rs`, are marked
//! `#[ignore = "needs RAIL_OWRT ..."]`, and run through `make owrt-test`.

// Each test crate uses a different subset.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// The prefix named by `RAIL_OWRT`.
pub struct Owrt {
    prefix: PathBuf,
}

impl Owrt {
    /// The prefix from `RAIL_OWRT`; panics with what to do when it is unset or not a
    /// directory (the tests using it are `#[ignore]`d, so only an explicit run gets here).
    pub fn from_env() -> Owrt {
        let prefix: PathBuf = std::env::var_os("RAIL_OWRT")
            .unwrap_or_else(|| {
                panic!("RAIL_OWRT must name the OpenWrt prefix (docs/owrt.md: make owrt-test)")
            })
            .into();
        assert!(
            prefix.is_dir(),
            "RAIL_OWRT={} is not a directory (docs/owrt.md)",
            prefix.display()
        );
        Owrt { prefix }
    }

    pub fn prefix(&self) -> &Path {
        &self.prefix
    }

    /// An executable of the prefix, from `sbin` or `bin` (ubusd and netifd are in sbin;
    /// ubus, uci, apk and opkg in bin), e.g. `owrt.bin("ubusd")`.
    pub fn bin(&self, name: &str) -> PathBuf {
        bin_in(&self.prefix, name)
    }

    /// `ubusd` and `ubus` from before ubus commit b81257b (2025-10-14: supplementary groups
    /// count in ACLs), installed under `old/`, when that build is present.
    pub fn old_ubus(&self) -> Option<(PathBuf, PathBuf)> {
        let old = self.prefix.join("old");
        old.join("sbin/ubusd")
            .exists()
            .then(|| (bin_in(&old, "ubusd"), bin_in(&old, "ubus")))
    }

    /// Whether the build stage `name` (base, ubus-old, apk, netifd, luci, opkg) completed.
    pub fn ready(&self, stage: &str) -> bool {
        self.prefix.join(format!("READY-{stage}")).exists()
    }
}

fn bin_in(prefix: &Path, name: &str) -> PathBuf {
    ["sbin", "bin"]
        .iter()
        .map(|dir| prefix.join(dir).join(name))
        .find(|path| path.exists())
        .unwrap_or_else(|| {
            panic!(
                "no {name} in {}/sbin or bin (docs/owrt.md)",
                prefix.display()
            )
        })
}
