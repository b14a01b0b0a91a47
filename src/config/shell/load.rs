//! The config's thin shell: reading a file from disk, and `rail check`'s report of it.

use crate::config::{from_package, Config, Problem};
use std::path::Path;

/// Read, parse and check a configuration file. An unreadable file or a UCI syntax error is
/// one problem; otherwise every problem the checks find.
pub fn load(path: impl AsRef<Path>) -> Result<Config, Vec<Problem>> {
    let path = path.as_ref();
    let file = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| {
        // "No such file or directory (os error 2)": the number helps nobody.
        let reason = e.to_string();
        let reason = reason
            .split(" (os error")
            .next()
            .unwrap_or_default()
            // ASCII: musl's messages are, and Unicode's case tables cost 15 KB on mips.
            .to_ascii_lowercase();
        vec![Problem::file(&file, format!("cannot read it: {reason}"))]
    })?;
    let package = crate::uci::parse_bytes(&file, &bytes).map_err(|e| {
        vec![Problem {
            line: Some(e.line),
            column: Some(e.column),
            ..Problem::file(&file, e.message)
        }]
    })?;
    from_package(&file, &package)
}

/// `rail check`: exit status 0 and `FILE: ok` when valid; else every problem, one a line,
/// and 2. Everything goes to stderr, so stdout stays empty for scripts.
pub fn check(path: &str) -> i32 {
    match load(path) {
        Ok(_) => {
            eprintln!("{path}: ok");
            0
        }
        Err(problems) => {
            for p in problems {
                eprintln!("{p}");
            }
            2
        }
    }
}
