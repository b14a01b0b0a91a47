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
    let import = super::mwan3(file, &mwan3, network.as_ref());
    let text = super::render(&import, file);
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
        Some(out) => std::fs::write(out, &text).map_err(|e| format!("cannot write {out}: {e}")),
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
