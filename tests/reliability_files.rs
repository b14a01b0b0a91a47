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

/// `import-mwan3 -o /etc/config/rail` on a full overlay: the write fails with a clear
/// error and the old config is left whole (written in place, it was truncated and rail
/// refused to start at the next boot). A 64 KiB tmpfs of its own, in a mount namespace
/// of its own, stands for the overlay.
#[test]
#[cfg_attr(not(lab_root), ignore = "needs root: mounts a tmpfs")]
fn import_onto_a_full_filesystem_fails_and_leaves_the_old_config_whole() {
    // SAFETY: geteuid(2) has no failure mode.
    let root = unsafe { libc::geteuid() } == 0;
    assert!(
        root,
        "needs root to mount a small tmpfs (built by root, so not ignored)"
    );
    let input = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/import/shipped.mwan3");
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("reliability_full");
    std::fs::create_dir_all(&dir).unwrap();
    let script = r#"
        set -e
        mkdir -p "$1/mnt"
        mount -t tmpfs -o size=64k tmpfs "$1/mnt"
        printf "config globals 'globals'\n\toption enabled '1'\n" > "$1/mnt/rail"
        cp "$1/mnt/rail" "$1/before"
        # Fill what is left: the import's config cannot fit.
        dd if=/dev/zero of="$1/mnt/fill" bs=1k count=1024 2>/dev/null || true
        set +e
        "$2" import-mwan3 "$3" -o "$1/mnt/rail" 2>"$1/err"
        echo "exit $?"
        cmp -s "$1/mnt/rail" "$1/before" && echo "old file whole"
        ls -a "$1/mnt" | grep -c rail- || true
        cat "$1/err"
    "#;
    let out = Command::new("unshare")
        .args(["-m", "sh", "-c", script, "sh"])
        .arg(&dir)
        .arg(env!("CARGO_BIN_EXE_rail"))
        .arg(input)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(text.contains("exit 2"), "the import fails: {text}");
    assert!(text.contains("old file whole"), "{text}");
    assert!(text.contains("No space left on device"), "says why: {text}");
    let temps = text.lines().nth(2).unwrap_or("");
    assert_eq!(temps, "0", "no temporary file left behind: {text}");
}
