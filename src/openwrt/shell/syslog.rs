//! Logging for the daemon: RFC 3164-style datagrams to the syslog socket (`/dev/log`, read
//! by OpenWrt's logd, so `logread` shows `rail[1234]: wan down: ...`), facility daemon, and
//! stderr in the foreground or when no syslog socket is there. Never blocks: a datagram the
//! socket cannot take right now is dropped.

use std::io::Write;
use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;

use log::{Level, LevelFilter, Log, Metadata, Record};

/// The syslog socket on OpenWrt (and glibc systems).
pub const DEV_LOG: &str = "/dev/log";
const FACILITY_DAEMON: u8 = 3;
/// Longer messages are cut (at a character boundary) so one record stays one datagram.
const MAX_MESSAGE: usize = 1024;

/// How to log.
#[derive(Debug, Clone)]
pub struct Options {
    /// Also write every line to stderr (interactive runs); otherwise stderr is used only
    /// when the syslog socket is missing or refuses a datagram.
    pub foreground: bool,
    pub level: LevelFilter,
    /// The syslog socket; [`DEV_LOG`] in production, a temp path in tests.
    pub socket: PathBuf,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            foreground: false,
            level: LevelFilter::Info,
            socket: PathBuf::from(DEV_LOG),
        }
    }
}

/// The `log::Log` implementation.
pub struct Logger {
    options: Options,
    socket: Option<UnixDatagram>,
    pid: u32,
}

impl Logger {
    pub fn new(options: Options) -> Logger {
        let socket = UnixDatagram::unbound()
            .and_then(|s| s.set_nonblocking(true).map(|()| s))
            .ok();
        Logger {
            options,
            socket,
            pid: std::process::id(),
        }
    }

    /// Sends one datagram; false when the socket is missing or refused it.
    fn send_syslog(&self, line: &str) -> bool {
        let Some(socket) = &self.socket else {
            return false;
        };
        match socket.send_to(line.as_bytes(), &self.options.socket) {
            Ok(_) => true,
            // logd is busy: dropping beats blocking the daemon's only thread.
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => true,
            Err(_) => false,
        }
    }
}

/// Installs the logger as the `log` crate's global logger.
pub fn init(options: Options) -> Result<(), log::SetLoggerError> {
    let level = options.level;
    log::set_boxed_logger(Box::new(Logger::new(options)))?;
    log::set_max_level(level);
    Ok(())
}

/// The syslog priority of a level under facility daemon.
pub fn priority(level: Level) -> u8 {
    let severity = match level {
        Level::Error => 3,
        Level::Warn => 4,
        Level::Info => 6,
        Level::Debug | Level::Trace => 7,
    };
    FACILITY_DAEMON * 8 + severity
}

/// One record as a datagram: `<PRI>rail[PID]: message`, on one line.
pub fn format_datagram(level: Level, pid: u32, message: &str) -> String {
    format!("<{}>rail[{pid}]: {}", priority(level), one_line(message))
}

fn one_line(message: &str) -> String {
    let mut end = message.len().min(MAX_MESSAGE);
    while !message.is_char_boundary(end) {
        end -= 1;
    }
    message[..end].replace(['\n', '\r'], " ")
}

impl Log for Logger {
    fn enabled(&self, metadata: &Metadata) -> bool {
        metadata.level() <= self.options.level
    }

    fn log(&self, record: &Record) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let message = record.args().to_string();
        let sent = self.send_syslog(&format_datagram(record.level(), self.pid, &message));
        if self.options.foreground || !sent {
            let prefix = match record.level() {
                Level::Error => "error: ",
                Level::Warn => "warning: ",
                _ => "",
            };
            let _ = writeln!(std::io::stderr(), "rail: {prefix}{}", one_line(&message));
        }
    }

    fn flush(&self) {}
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn temp_socket(tag: &str) -> (PathBuf, UnixDatagram) {
        let path = std::env::temp_dir().join(format!("rail-syslog-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let server = UnixDatagram::bind(&path).unwrap();
        server
            .set_read_timeout(Some(Duration::from_secs(2)))
            .unwrap();
        (path, server)
    }

    #[test]
    fn datagram_reaches_the_socket_in_syslog_format() {
        let (path, server) = temp_socket("fmt");
        let logger = Logger::new(Options {
            foreground: false,
            level: LevelFilter::Info,
            socket: path.clone(),
        });
        logger.log(
            &Record::builder()
                .level(Level::Warn)
                .args(format_args!("wan down: 3/3 probes lost\nto 198.18.0.1"))
                .build(),
        );
        logger.log(
            &Record::builder()
                .level(Level::Debug)
                .args(format_args!("filtered"))
                .build(),
        );
        logger.log(
            &Record::builder()
                .level(Level::Error)
                .args(format_args!("second"))
                .build(),
        );
        let mut buf = [0u8; 2048];
        let n = server.recv(&mut buf).unwrap();
        let pid = std::process::id();
        assert_eq!(
            std::str::from_utf8(&buf[..n]).unwrap(),
            format!("<28>rail[{pid}]: wan down: 3/3 probes lost to 198.18.0.1")
        );
        // The debug record was below the level: the next datagram is the error.
        let n = server.recv(&mut buf).unwrap();
        assert_eq!(
            std::str::from_utf8(&buf[..n]).unwrap(),
            format!("<27>rail[{pid}]: second")
        );
        let _ = std::fs::remove_file(path);
    }

    #[test]
    fn missing_socket_reports_failure_so_stderr_is_used() {
        let logger = Logger::new(Options {
            socket: std::env::temp_dir().join("rail-syslog-absent/none"),
            ..Options::default()
        });
        assert!(!logger.send_syslog("<30>rail[1]: x"));
        let (path, _server) = temp_socket("ok");
        let logger = Logger::new(Options {
            socket: path.clone(),
            ..Options::default()
        });
        assert!(logger.send_syslog("<30>rail[1]: x"));
        let _ = std::fs::remove_file(path);
    }

    #[test]
    fn priorities_are_facility_daemon() {
        assert_eq!(priority(Level::Error), 27);
        assert_eq!(priority(Level::Warn), 28);
        assert_eq!(priority(Level::Info), 30);
        assert_eq!(priority(Level::Debug), 31);
        let long = "é".repeat(MAX_MESSAGE);
        assert!(format_datagram(Level::Info, 1, &long).len() <= MAX_MESSAGE + 20);
    }
}
