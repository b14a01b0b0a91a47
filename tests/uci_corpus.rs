//! The UCI corpus: every tests/uci/NAME.uci must show exactly as tests/uci/NAME.show, which
//! is the output of OpenWrt's own `uci -c DIR show NAME` on that file (recorded with a
//! locally built openwrt/uci; see docs/uci.md).

use std::path::{Path, PathBuf};

fn corpus() -> Vec<(String, PathBuf, PathBuf)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/uci");
    let mut pairs: Vec<_> = std::fs::read_dir(&dir)
        .expect("tests/uci exists")
        .map(|e| e.expect("readable entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "uci"))
        .map(|p| {
            let name = p.file_stem().unwrap().to_string_lossy().into_owned();
            let show = p.with_extension("show");
            (name, p, show)
        })
        .collect();
    pairs.sort();
    pairs
}

#[test]
fn corpus_shows_like_uci() {
    let pairs = corpus();
    assert!(pairs.len() >= 9, "corpus went missing: {pairs:?}");
    let mut failures = Vec::new();
    for (name, uci, show) in &pairs {
        let text = std::fs::read_to_string(uci).unwrap();
        let expected = std::fs::read_to_string(show)
            .unwrap_or_else(|e| panic!("{} has no {}: {e}", uci.display(), show.display()));
        match rail::uci::parse(&uci.to_string_lossy(), &text) {
            Ok(pkg) => {
                let got = rail::uci::show(name, &pkg);
                if got != expected {
                    failures.push(format!(
                        "{name}: rail shows\n{got}\n--- uci shows\n{expected}"
                    ));
                }
            }
            Err(e) => failures.push(format!("{name}: {e}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n=====\n"));
}

/// What `uci show` prints re-parses (after export) to the same listing.
#[test]
fn corpus_export_round_trips() {
    for (name, uci, _) in corpus() {
        let pkg = rail::uci::parse("corpus", &std::fs::read_to_string(&uci).unwrap()).unwrap();
        let again = rail::uci::parse("export", &rail::uci::export(&pkg))
            .unwrap_or_else(|e| panic!("{name}: export does not parse back: {e}"));
        assert_eq!(
            rail::uci::show(&name, &again),
            rail::uci::show(&name, &pkg),
            "{name}"
        );
    }
}

#[test]
fn config_show_command_prints_the_listing() {
    let dir = std::env::temp_dir().join(format!("rail-uci-corpus-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("rail");
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/uci/rail.uci"),
        &file,
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_rail"))
        .args(["-c", &file.to_string_lossy(), "config", "show"])
        .output()
        .unwrap();
    let expected =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/uci/rail.show"))
            .unwrap();
    // The package name is the file's basename, as for `uci show rail`.
    assert_eq!(String::from_utf8_lossy(&out.stdout), expected);
    assert!(out.status.success());

    std::fs::write(&file, "config interface wan\n\toption interval 5 s\n").unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_rail"))
        .args(["-c", &file.to_string_lossy(), "config", "show"])
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with(&format!("{}:2:20: too many arguments", file.display())),
        "{err}"
    );
}
