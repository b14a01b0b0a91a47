//! The command line: `rail <command> [options]`, one binary for the daemon and its tools.

pub const DEFAULT_CONFIG: &str = "/etc/config/rail";

const USAGE: &str = "usage: rail [-c FILE] [-s UBUS_SOCKET] [-r RUN_DIR] <command>
commands:
  daemon [-f]     run (for procd); -f also logs to stderr
  check           validate the configuration; exit 2 on errors
  config show     print the configuration as `uci show rail` would
  status [--json] show uplinks, policies and recent transitions
  history [IFACE] [--span 10m|1h|24h] [--json]
                  latency, loss and state over time, availability and outages
  reload          re-read the configuration (as SIGHUP does)
  maintenance IFACE on|off
                  take an uplink out of service (on) or put it back (off)
  flush           remove every rule, route and nft table rail owns (after a crash)
  import-mwan3 [FILE] [-o OUT] [--network FILE]
                  translate mwan3's configuration into rail's
  --version       print the version";

pub fn run(args: Vec<String>) -> i32 {
    let mut config = DEFAULT_CONFIG.to_string();
    let mut ubus = None;
    let mut run_dir = crate::daemon::persist::RUN_DIR.to_string();
    let mut rest = Vec::new();
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "-c" | "--config" => match it.next() {
                Some(f) => config = f,
                None => {
                    eprintln!("rail: -c needs a file name");
                    return 2;
                }
            },
            "-s" | "--ubus" => match it.next() {
                Some(p) => ubus = Some(p),
                None => {
                    eprintln!("rail: -s needs the ubus socket path");
                    return 2;
                }
            },
            "-r" | "--run-dir" => match it.next() {
                Some(d) => run_dir = d,
                None => {
                    eprintln!("rail: -r needs a directory");
                    return 2;
                }
            },
            "-V" | "--version" | "version" => {
                println!("rail {}", env!("CARGO_PKG_VERSION"));
                return 0;
            }
            "-h" | "--help" | "help" => {
                println!("{USAGE}");
                return 0;
            }
            _ => rest.push(a),
        }
    }
    let words: Vec<&str> = rest.iter().map(String::as_str).collect();
    // The control socket lives in the run directory (docs/security.md).
    let socket = crate::daemon::control::path(std::path::Path::new(&run_dir));
    match words.as_slice() {
        ["status"] => status(&socket, false),
        ["status", "--json"] => status(&socket, true),
        ["reload"] => control(&socket, "reload", serde_json::Value::Null),
        ["maintenance", iface, on @ ("on" | "off")] => control(
            &socket,
            "maintenance",
            serde_json::json!({"interface": iface, "enable": *on == "on"}),
        ),
        ["config", "show"] => config_show(&config),
        ["check"] => crate::config::check(&config),
        ["flush"] => flush(),
        ["daemon", foreground @ ..] if matches!(foreground, [] | ["-f" | "--foreground"]) => {
            let dir = std::path::Path::new(&run_dir);
            crate::daemon::run(&config, !foreground.is_empty(), ubus.as_deref(), dir)
        }
        ["history", args @ ..] => history_cmd(&socket, args),
        ["import-mwan3", args @ ..] => crate::import::run(args),
        _ => {
            let _ = config;
            eprintln!("{USAGE}");
            2
        }
    }
}

fn control(socket: &std::path::Path, method: &str, args: serde_json::Value) -> i32 {
    match crate::daemon::control::call(socket, method, args) {
        Ok(_) => 0,
        Err(e) => {
            eprintln!("rail {method}: {e}");
            1
        }
    }
}

fn status(socket: &std::path::Path, json: bool) -> i32 {
    use crate::daemon::{control, status};
    match control::call(socket, "status", serde_json::Value::Null) {
        Ok(v) if json => {
            println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
            0
        }
        Ok(v) if v["interfaces"].is_object() => {
            print!("{}", status::render(&v, crate::daemon::unix_now()));
            0
        }
        Ok(v) => {
            // to_string, not Display: serde_json's Display is a second serializer.
            let v = serde_json::to_string(&v).unwrap_or_default();
            eprintln!("rail status: unexpected reply from the daemon: {v}");
            1
        }
        Err(e) => {
            eprintln!("rail status: {e}");
            1
        }
    }
}

/// `rail history [IFACE] [--span 10m|1h|24h] [--json]`: the daemon's history, drawn (by
/// the daemon: the chart needs the samples, the client only prints).
fn history_cmd(socket: &std::path::Path, args: &[&str]) -> i32 {
    use crate::daemon::control;
    let (mut iface, mut span, mut json) = (None, "1h", false);
    let mut it = args.iter();
    while let Some(&a) = it.next() {
        match a {
            "--json" => json = true,
            "--span" => match it.next() {
                Some(s) if crate::history::view::Span::parse(s).is_some() => span = s,
                _ => {
                    eprintln!("rail history: --span takes 10m, 1h or 24h");
                    return 2;
                }
            },
            name if iface.is_none() && !name.starts_with('-') => iface = Some(name),
            _ => {
                eprintln!("{USAGE}");
                return 2;
            }
        }
    }
    let mut req = serde_json::json!({ "span": span, "chart": !json });
    if let Some(i) = iface {
        req["interface"] = i.into();
    }
    match control::call(socket, "history", req) {
        Ok(v) if json => {
            println!("{}", serde_json::to_string(&v).unwrap_or_default());
            0
        }
        Ok(v) => match v["chart"].as_str() {
            Some(chart) => {
                print!("{chart}");
                0
            }
            None => {
                let v = serde_json::to_string(&v).unwrap_or_default();
                eprintln!("rail history: unexpected reply from the daemon: {v}");
                1
            }
        },
        Err(e) => {
            eprintln!("rail history: {e}");
            1
        }
    }
}

/// `rail config show`: the file as `uci show <basename>` prints it.
fn config_show(path: &str) -> i32 {
    let text = match std::fs::read(path) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("rail: cannot read {path}: {e}");
            return 2;
        }
    };
    let package = std::path::Path::new(path)
        .file_name()
        .map_or_else(|| path.to_string(), |n| n.to_string_lossy().into_owned());
    match crate::uci::parse_bytes(path, &text) {
        Ok(pkg) => {
            print!("{}", crate::uci::show(&package, &pkg));
            0
        }
        Err(e) => {
            eprintln!("{e}");
            2
        }
    }
}

fn flush() -> i32 {
    match crate::dataplane::kernel::flush_now() {
        Ok(changes) => {
            println!("rail: flushed ({changes})");
            0
        }
        Err(e) => {
            eprintln!("rail flush: {e}");
            1
        }
    }
}
