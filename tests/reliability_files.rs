//! Nothing rail writes is world-writable, whatever the umask it was started with
//! (docs/reliability.md, security). The daemon's own descriptors are checked against a
//! running daemon in reliability_control.rs.

use std::os::unix::fs::MetadataExt;
use std::process::Command;

#[test]
fn import_output_is_not_world_writable_even_with_umask_0() {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("reliability_files");
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("rail");
    let _ = std::fs::remove_file(&out);
    let input = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/import/shipped.mwan3");
    for round in ["new file", "existing file"] {
        if round == "existing file" {
            std::fs::set_permissions(&out, std::os::unix::fs::PermissionsExt::from_mode(0o666))
                .unwrap();
        }
        let status = Command::new("sh")
            .arg("-c")
            .arg("umask 0; exec \"$0\" import-mwan3 \"$1\" -o \"$2\"")
            .arg(env!("CARGO_BIN_EXE_rail"))
            .arg(input)
            .arg(&out)
            .status()
            .unwrap();
        assert!(status.success(), "{round}");
        let mode = std::fs::metadata(&out).unwrap().mode() & 0o777;
        assert_eq!(mode & 0o022, 0, "{round}: mode {mode:o}");
    }
}
