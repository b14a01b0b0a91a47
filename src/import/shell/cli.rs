//! `rail import-mwan3 [FILE] [-o OUT] [--network FILE]`: the files around the pure import.

use crate::uci::Package;

pub const DEFAULT_MWAN3: &str = "/etc/config/mwan3";
const USAGE: &str = "usage: rail import-mwan3 [FILE] [-o OUT] [--network FILE]
  FILE        mwan3's configuration (default /etc/config/mwan3)
  -o OUT      write the rail configuration to OUT (default: standard output)
  --network F /etc/config/network, to find the devices of rules' src_iface";

/// Exit status 0 when a configuration was written (what did not carry over is listed on
/// stderr), 1 when it was written but fails rail's checks, 2 when nothing was written.
pub fn run(args: &[&str]) -> i32 {
    let (mut file, mut output, mut network): (Option<&str>, _, _) = (None, None, None);
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let slot = match *a {
            "-o" | "--output" => &mut output,
            "--network" => &mut network,
            f if !f.starts_with('-') && file.is_none() => {
                file = Some(f);
                continue;
            }
            _ => {
                eprintln!("{USAGE}");
                return 2;
            }
        };
        match it.next() {
            Some(v) => *slot = Some(*v),
            None => {
                eprintln!("rail import-mwan3: {a} needs a file name");
                return 2;
            }
        }
    }
    let file = file.unwrap_or(DEFAULT_MWAN3);
    let Some(mwan3) = read(file) else { return 2 };
    let network = match network.map(read) {
        Some(None) => return 2,
        Some(Some(p)) => Some(p),
        None => None,
    };
    let import = crate::import::mwan3(file, &mwan3, network.as_ref());
    let text = crate::import::render(&import, file);
    for n in &import.notes {
        eprintln!("{n}");
    }
    // The import is meant to always pass; if it does not, say so rather than hand over a
    // file the daemon will refuse.
    let checked = crate::uci::parse("imported", &text)
        .map_err(|e| vec![e.to_string()])
        .and_then(|p| {
            crate::config::from_package("imported", &p)
                .map_err(|ps| ps.iter().map(ToString::to_string).collect())
        });
    if let Err(problems) = &checked {
        for p in problems {
            eprintln!("rail import-mwan3: the result fails rail's checks (an importer bug, please report it): {p}");
        }
    }
    let written = match output {
        Some(out) => write_private(out, &text).map_err(|e| format!("cannot write {out}: {e}")),
        None => {
            print!("{text}");
            Ok(())
        }
    };
    if let Err(e) = written {
        eprintln!("rail import-mwan3: {e}");
        return 2;
    }
    let count = |t: &str| {
        import
            .package
            .sections
            .iter()
            .filter(|s| s.stype == t)
            .count()
    };
    eprintln!(
        "rail import-mwan3: {} interfaces, {} members, {} policies, {} rules imported from {file}; {} notes above",
        count("interface"),
        count("member"),
        count("policy"),
        count("rule"),
        import.notes.len()
    );
    if checked.is_ok() {
        0
    } else {
        1
    }
}

fn read(path: &str) -> Option<Package> {
    let bytes = std::fs::read(path)
        .map_err(|e| eprintln!("rail import-mwan3: cannot read {path}: {e}"))
        .ok()?;
    crate::uci::parse_bytes(path, &bytes)
        .map_err(|e| eprintln!("{e}"))
        .ok()
}

/// A config file as UCI keeps them: rw for root, readable by all, whatever the umask.
/// Written whole or not at all: a temporary file in the same directory, synced, then
/// renamed over `path`, so a full overlay or a crash leaves the old file as it was (rail
/// refuses to start on a truncated config). An existing file's mode is kept, less write
/// access for others.
fn write_private(path: &str, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let target = std::path::Path::new(path);
    let mode = std::fs::metadata(target).map_or(0o644, |m| m.permissions().mode() & 0o7777);
    let dir = match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => std::path::Path::new("."),
    };
    let name = target
        .file_name()
        .map_or_else(Default::default, |n| n.to_string_lossy());
    let temp = dir.join(format!(".{name}.rail-{}", std::process::id()));
    let written = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&temp)?;
        f.set_permissions(std::fs::Permissions::from_mode(mode & !0o022))?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&temp, target)?;
        // The rename itself reaches the disk with the directory.
        std::fs::File::open(dir)?.sync_all()
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    written
}
