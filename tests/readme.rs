//! The README's example configuration must stay valid: `rail check` accepts it.

#[test]
fn readme_example_config_passes_rail_check() {
    let readme = include_str!("../README.md");
    let start = readme
        .find("```\nconfig interface")
        .expect("README has an example config")
        + 4;
    let len = readme[start..]
        .find("```")
        .expect("example config block ends");
    let path = std::env::temp_dir().join(format!("rail-readme-{}", std::process::id()));
    std::fs::write(&path, &readme[start..start + len]).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_rail"))
        .args(["-c", path.to_str().unwrap(), "check"])
        .output()
        .unwrap();
    let _ = std::fs::remove_file(&path);
    assert!(
        out.status.success(),
        "rail check on the README example: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
