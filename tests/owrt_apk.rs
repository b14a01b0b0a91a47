//! Opt-in (`RAIL_OWRT`, docs/owrt.md, docs/packaging.md): rail's .apk packages against
//! real apk-tools v3 built from source, through `cross/owrt-apk.sh`: cross/adb.py writes
//! what `apk mkpkg` writes, byte for byte; `apk adbdump` and `apk verify` read the
//! packages; `apk add` installs them into an offline root with stub dependencies from an
//! `apk mkndx` index; an upgrade keeps an edited /etc/config/rail; `apk del` removes what
//! was installed.

#[path = "common/owrt.rs"]
mod owrt;

use std::process::Command;

#[test]
#[ignore = "needs RAIL_OWRT (apk-tools v3 built from source; make owrt-test)"]
fn real_apk_reads_installs_upgrades_and_removes_rails_packages() {
    let owrt = owrt::Owrt::from_env();
    assert!(
        owrt.ready("apk"),
        "no READY-apk in {}: build the apk stage first (docs/owrt.md)",
        owrt.prefix().display()
    );
    let status = Command::new(concat!(env!("CARGO_MANIFEST_DIR"), "/cross/owrt-apk.sh"))
        .env("RAIL_OWRT", owrt.prefix())
        .status()
        .expect("cannot run cross/owrt-apk.sh");
    assert!(
        status.success(),
        "cross/owrt-apk.sh failed: its FAIL lines above name the checks"
    );
}
