//! Opt-in (`RAIL_OWRT`, docs/packaging.md): rail's .apk packages against real apk-tools v3
//! built from source, through `cross/owrt-apk.sh`: cross/adb.py writes what `apk mkpkg`
//! writes, byte for byte; `apk adbdump` and `apk verify` read the packages; `apk add`
//! installs them into an offline root with stub dependencies from an `apk mkndx` index; an
//! upgrade keeps an edited /etc/config/rail; `apk del` removes what was installed.

use std::process::Command;

#[test]
#[ignore = "needs RAIL_OWRT (apk-tools v3 built from source; make owrt-test)"]
fn real_apk_reads_installs_upgrades_and_removes_rails_packages() {
    let owrt = std::env::var_os("RAIL_OWRT")
        .expect("RAIL_OWRT must name the OpenWrt prefix with bin/apk (docs/packaging.md)");
    let status = Command::new(concat!(env!("CARGO_MANIFEST_DIR"), "/cross/owrt-apk.sh"))
        .env("RAIL_OWRT", owrt)
        .status()
        .expect("cannot run cross/owrt-apk.sh");
    assert!(
        status.success(),
        "cross/owrt-apk.sh failed: its FAIL lines above name the checks"
    );
}
