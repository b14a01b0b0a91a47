//! The control socket: how `rail status`, `rail reload` and `rail maintenance` reach a
//! running daemon without ubusd (ubus carries the same methods on OpenWrt).
//!
//! A Unix socket file in a directory only root may write (docs/security.md): no other
//! user can bind it first and answer in rail's place, and the client checks that the
//! server is root before it believes a reply. One JSON request per line, one JSON reply
//! per line. The caller's uid comes from SO_PEERCRED: `status` is anyone's (addresses and
//! gateways are root's), everything else is root's and goes to the daemon's loop.
//!
//! Whatever a client does costs the loop nothing: `status` is answered here from the
//! snapshot the daemon refreshes on its own schedule; sessions are capped (root's apart
//! from everyone else's, so a flood never locks root out), each has one deadline and a
//! bounded buffer, and a failing accept (EMFILE) backs off instead of spinning.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::cell::{Cell, RefCell};
use std::io::{self, BufRead, BufReader, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::Duration;

/// The socket's name in the run directory (`/var/run/rail`, `rail -r DIR`). /var/run is
/// root's alone, so rail's directory in it is created by rail and cannot be taken by
/// anyone else.
const FILE: &str = "control";

/// Requests bigger than this are refused rather than buffered (the largest real one, a
/// hotplug or maintenance call, is under 200 bytes).
const MAX_REQUEST: usize = 4096;

/// A session (request in, reply out) must be over within this long after it was accepted:
/// a client that says nothing, or reads nothing, is dropped.
const SESSION_DEADLINE: Duration = Duration::from_secs(5);

/// After a failed accept (EMFILE, ENFILE, ENOBUFS) the listener waits this long before
/// trying again: the failing connection stays queued and would fail again at once.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(250);

/// After turning a client away (no place left for its class) the listener waits this long
/// before the next accept: a flood then costs at most a thousand accepts a second, not
/// as many as the flooder can make (tens of thousands, half a core).
const REFUSED_BACKOFF: Duration = Duration::from_millis(1);

/// Connections the kernel queues before `connect` blocks: short, so that while a flood
/// is turned away one at a time, root's connection waits behind a few dozen at most
/// (a blocked `connect` queues in order), not the thousands of the system's default.
const BACKLOG: libc::c_int = 32;

/// How many sessions may be open at once: root's and everyone else's counted apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub root: usize,
    pub others: usize,
}

impl Limits {
    /// Sessions take at most an eighth of the descriptors rail may open (`nofile`, its
    /// RLIMIT_NOFILE); the rest stay for probes, netlink, nft and ubus.
    pub fn within(nofile: u64) -> Limits {
        let share = usize::try_from(nofile / 8).unwrap_or(usize::MAX);
        Limits {
            root: (share / 4).clamp(1, 16),
            others: share.saturating_sub(share / 4).clamp(1, 48),
        }
    }

    /// From the process's own descriptor limit.
    pub fn of_process() -> Limits {
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit(2) fills the struct passed.
        let nofile = if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } == 0 {
            lim.rlim_cur
        } else {
            1024
        };
        Limits::within(nofile)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Request {
    pub method: String,
    #[serde(default)]
    pub args: Value,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Reply {
    pub ok: bool,
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub data: Value,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub error: String,
}

impl Reply {
    pub fn ok(data: Value) -> Reply {
        Reply {
            ok: true,
            data,
            error: String::new(),
        }
    }
    pub fn err(error: impl Into<String>) -> Reply {
        Reply {
            ok: false,
            data: Value::Null,
            error: error.into(),
        }
    }
}

/// A root request for the daemon's loop, and where to answer.
pub struct Incoming {
    pub request: Request,
    pub reply: smol::channel::Sender<Reply>,
}

/// What a session may use of the daemon: its loop (root's requests) and its status.
#[derive(Clone)]
pub struct Daemon {
    pub requests: smol::channel::Sender<Incoming>,
    /// The status document as the daemon last refreshed it.
    pub snapshot: Rc<Snapshot>,
}

/// The status document as the daemon last refreshed it (Null while starting), and whether
/// anyone read it since the daemon last asked: the conntrack flows in it are counted only
/// for readers (docs/health.md, "Cost").
#[derive(Default)]
pub struct Snapshot {
    value: RefCell<Value>,
    read: Cell<bool>,
}

impl Snapshot {
    /// The document, for a reader.
    pub fn read(&self) -> std::cell::Ref<'_, Value> {
        self.read.set(true);
        self.value.borrow()
    }

    pub fn set(&self, value: Value) {
        *self.value.borrow_mut() = value;
    }

    /// Whether it was read since the last call.
    pub fn take_read(&self) -> bool {
        self.read.replace(false)
    }
}

/// Why `dir` must not hold rail's socket, or None: it must be a directory (not a link)
/// owned by root (or the user running rail) and writable by nobody else.
fn unsafe_dir(dir: &Path) -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let m = match std::fs::symlink_metadata(dir) {
        Ok(m) => m,
        Err(e) => return Some(e.to_string()),
    };
    // SAFETY: geteuid(2) has no failure mode.
    let me = unsafe { libc::geteuid() };
    if !m.file_type().is_dir() {
        Some("not a directory".into())
    } else if m.uid() != 0 && m.uid() != me {
        Some(format!("owned by uid {}, not root", m.uid()))
    } else if m.mode() & 0o022 != 0 {
        Some(format!(
            "writable by group or others (mode {:o})",
            m.mode() & 0o7777
        ))
    } else {
        None
    }
}

/// The listening socket at `path`. Its directory is created (mode 0755) when missing and
/// refused when anyone but root could write it; a socket left by a daemon that died is
/// replaced, one a live daemon answers on is not.
pub fn bind(path: &Path) -> io::Result<async_io::Async<UnixListener>> {
    use std::os::unix::fs::{DirBuilderExt, FileTypeExt, PermissionsExt};
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .ok_or_else(|| io::Error::other("needs a directory of its own"))?;
    match std::fs::DirBuilder::new().mode(0o755).create(dir) {
        // Whatever the umask: others must be able to reach the socket for `status`.
        Ok(()) => std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755))?,
        Err(e) if e.kind() != io::ErrorKind::AlreadyExists => {
            return Err(io::Error::new(e.kind(), format!("{}: {e}", dir.display())))
        }
        Err(_) => {}
    }
    if let Some(why) = unsafe_dir(dir) {
        return Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!("{}: {why}", dir.display()),
        ));
    }
    if let Ok(m) = std::fs::symlink_metadata(path) {
        if let Ok(live) = UnixStream::connect(path) {
            return Err(io::Error::new(
                io::ErrorKind::AddrInUse,
                format!(
                    "another rail daemon (pid {}) answers on it",
                    peer_pid(&live)
                ),
            ));
        }
        if m.file_type().is_socket() {
            std::fs::remove_file(path)?;
        }
    }
    let listener = UnixListener::bind(path)?;
    // SAFETY: listen(2) again on a listening socket only sets its backlog.
    if unsafe { libc::listen(std::os::fd::AsRawFd::as_raw_fd(&listener), BACKLOG) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // Anyone may connect (status); the directory alone decides who may bind.
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o666))?;
    async_io::Async::new(listener)
}

fn peer_uid(fd: &impl std::os::fd::AsRawFd) -> u32 {
    peer(fd).map_or(u32::MAX, |c| c.uid)
}

fn peer_pid(fd: &impl std::os::fd::AsRawFd) -> i32 {
    peer(fd).map_or(0, |c| c.pid)
}

/// The credentials the kernel recorded for the other end (SO_PEERCRED).
fn peer(fd: &impl std::os::fd::AsRawFd) -> Option<libc::ucred> {
    let mut cred = libc::ucred {
        pid: 0,
        uid: u32::MAX,
        gid: u32::MAX,
    };
    let mut len = std::mem::size_of::<libc::ucred>() as libc::socklen_t;
    // SAFETY: cred and len describe a valid ucred buffer for getsockopt to fill.
    let rc = unsafe {
        libc::getsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_PEERCRED,
            (&mut cred as *mut libc::ucred).cast(),
            &mut len,
        )
    };
    (rc == 0).then_some(cred)
}

/// One open session of a class (root or not): counted while it lives.
struct Slot(Rc<Cell<usize>>);

impl Slot {
    fn take(open: &Rc<Cell<usize>>, limit: usize) -> Option<Slot> {
        (open.get() < limit).then(|| {
            open.set(open.get() + 1);
            Slot(open.clone())
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.set(self.0.get() - 1);
    }
}

/// Accepts clients forever: `status` is answered from the snapshot, root's other
/// requests go to the daemon's loop.
pub async fn serve(
    listener: async_io::Async<UnixListener>,
    daemon: Daemon,
    limits: Limits,
    ex: Rc<smol::LocalExecutor<'static>>,
) {
    let (root_open, others_open) = (Rc::new(Cell::new(0)), Rc::new(Cell::new(0)));
    let mut failing = false;
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                if failing {
                    log::info!("control socket: accepting again");
                    failing = false;
                }
                let uid = peer_uid(stream.get_ref());
                let slot = if uid == 0 {
                    Slot::take(&root_open, limits.root)
                } else {
                    Slot::take(&others_open, limits.others)
                };
                match slot {
                    Some(slot) => {
                        let daemon = daemon.clone();
                        ex.spawn(async move {
                            let _ = session(stream, uid, daemon).await;
                            drop(slot);
                        })
                        .detach();
                    }
                    // Full: say so if the client's buffer has room, never wait for it.
                    None => {
                        let _ = stream
                            .get_ref()
                            .write(b"{\"ok\":false,\"error\":\"busy: too many sessions open\"}\n");
                        drop(stream);
                        async_io::Timer::after(REFUSED_BACKOFF).await;
                    }
                }
            }
            Err(e) => {
                if !failing {
                    // Not `{:?}`: Duration's Debug is the binary's only one (1.8 KB on mips).
                    let every = ACCEPT_BACKOFF.as_millis();
                    log::warn!("control socket: accept failed: {e}; retrying every {every}ms");
                    failing = true;
                }
                async_io::Timer::after(ACCEPT_BACKOFF).await;
            }
        }
        // A queue of waiting clients must not keep the rest of the executor (probes,
        // failover, signals) waiting: accept returns without yielding while one is there.
        futures_lite::future::yield_now().await;
    }
}

async fn session(stream: async_io::Async<UnixStream>, uid: u32, daemon: Daemon) -> io::Result<()> {
    futures_lite::future::or(exchange(&stream, uid, daemon), async {
        async_io::Timer::after(SESSION_DEADLINE).await;
        Err(io::ErrorKind::TimedOut.into())
    })
    .await
}

/// One request in, one reply out.
async fn exchange(
    stream: &async_io::Async<UnixStream>,
    uid: u32,
    daemon: Daemon,
) -> io::Result<()> {
    use futures_lite::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
    let mut reader =
        futures_lite::io::BufReader::with_capacity(1024, stream.take(MAX_REQUEST as u64));
    // Bytes, not a String: a request that is not UTF-8 gets an error reply, not a hangup.
    let mut line = Vec::new();
    let n = reader.read_until(b'\n', &mut line).await?;
    let reply = if n == 0 {
        return Ok(());
    } else if !line.ends_with(b"\n") && n >= MAX_REQUEST {
        Reply::err(format!("request larger than {MAX_REQUEST} bytes"))
    } else {
        match serde_json::from_slice::<Request>(&line) {
            Err(e) => Reply::err(format!("bad request: {e}")),
            Ok(r) if r.method == "status" => {
                let snapshot = daemon.snapshot.read();
                if snapshot.is_null() {
                    Reply::err("the daemon is starting")
                } else if uid == 0 {
                    Reply::ok(snapshot.clone())
                } else {
                    Reply::ok(super::status::for_others(&snapshot))
                }
            }
            Ok(r) if uid != 0 => Reply::err(format!("'{}' changes state: root only", r.method)),
            Ok(request) => {
                let (tx, rx) = smol::channel::bounded(1);
                let incoming = Incoming { request, reply: tx };
                match daemon.requests.send(incoming).await {
                    Ok(()) => rx
                        .recv()
                        .await
                        .unwrap_or_else(|_| Reply::err("daemon is stopping")),
                    Err(_) => Reply::err("daemon is stopping"),
                }
            }
        }
    };
    let mut out = serde_json::to_vec(&reply).unwrap_or_default();
    out.push(b'\n');
    (&*stream).write_all(&out).await
}

/// Blocking client for the command line tools: refuses to believe a server that is not
/// root (or the user running the client, for tests).
pub fn call(path: &Path, method: &str, args: Value) -> Result<Value, String> {
    let stream = UnixStream::connect(path).map_err(|e| {
        format!(
            "cannot reach the rail daemon ({}): {e}; is it running?",
            path.display()
        )
    })?;
    // SAFETY: geteuid(2) has no failure mode.
    let me = unsafe { libc::geteuid() };
    let server = peer_uid(&stream);
    if server != 0 && server != me {
        return Err(format!(
            "{} is served by uid {server}, not root: not rail; refusing to talk to it",
            path.display()
        ));
    }
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .map_err(|e| e.to_string())?;
    let mut req = serde_json::to_vec(&Request {
        method: method.to_string(),
        args,
    })
    .map_err(|e| e.to_string())?;
    req.push(b'\n');
    (&stream).write_all(&req).map_err(|e| e.to_string())?;
    let mut line = String::new();
    BufReader::new(&stream)
        .read_line(&mut line)
        .map_err(|e| format!("no reply from the rail daemon: {e}"))?;
    // from_slice as the daemon reads requests: a second reader type (from_str's) would
    // instantiate serde_json's whole parser again, 10 KB on mips.
    let reply: Reply = serde_json::from_slice(line.as_bytes())
        .map_err(|e| format!("bad reply from the daemon: {e}"))?;
    if reply.ok {
        Ok(reply.data)
    } else {
        Err(reply.error)
    }
}

/// The control socket of the daemon whose run directory is `run_dir`.
pub fn path(run_dir: &Path) -> PathBuf {
    run_dir.join(FILE)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn socket_path(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("rail-ctl-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir.join("control")
    }

    /// Runs a control socket at `path` on this thread until `client` (on its own thread)
    /// is done. The daemon's loop echoes root's requests back when `loop_answers`, and
    /// never reads them otherwise (a loop busy for as long as the test lasts).
    fn serving<R: Send + 'static>(
        path: &Path,
        limits: Limits,
        loop_answers: bool,
        client: impl FnOnce() -> R + Send + 'static,
    ) -> R {
        let ex = Rc::new(smol::LocalExecutor::new());
        let listener = bind(path).unwrap();
        let (tx, rx) = smol::channel::unbounded::<Incoming>();
        let snapshot = Rc::new(Snapshot::default());
        snapshot.set(json!({
            "interfaces": {"wan": {"state": "up", "address": "203.0.113.7", "gateway": "203.0.113.1"}}
        }));
        let daemon = Daemon {
            requests: tx,
            snapshot,
        };
        ex.spawn(serve(listener, daemon, limits, ex.clone()))
            .detach();
        if loop_answers {
            ex.spawn(async move {
                while let Ok(inc) = rx.recv().await {
                    let r =
                        Reply::ok(json!({"method": inc.request.method, "args": inc.request.args}));
                    let _ = inc.reply.send(r).await;
                }
            })
            .detach();
        }
        let client = std::thread::spawn(client);
        smol::block_on(ex.run(async {
            while !client.is_finished() {
                async_io::Timer::after(Duration::from_millis(5)).await;
            }
        }));
        client.join().unwrap()
    }

    /// Runs `f` as `uid` on a thread of its own (raw setresuid: this thread only). The
    /// tests that call it are ignored unless built by root; run by another user, they fail.
    fn as_uid<R>(uid: u32, f: impl FnOnce() -> R + Send) -> R
    where
        R: Send,
    {
        // SAFETY: geteuid(2) has no failure mode.
        let root = unsafe { libc::geteuid() } == 0;
        assert!(
            root,
            "needs root to act as uid {uid} (built by root, so not ignored)"
        );
        std::thread::scope(|s| {
            s.spawn(|| {
                // SAFETY: setresuid(2) on this thread alone, not the process.
                let rc = unsafe { libc::syscall(libc::SYS_setresuid, uid, uid, uid) };
                assert_eq!(rc, 0);
                f()
            })
            .join()
            .unwrap()
        })
    }

    fn raw(path: &Path, bytes: &[u8]) -> Reply {
        let s = UnixStream::connect(path).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let _ = (&s).write_all(bytes);
        let mut line = String::new();
        BufReader::new(&s).read_line(&mut line).unwrap();
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line:?}"))
    }

    #[test]
    fn root_gets_the_snapshot_and_its_requests_reach_the_loop() {
        let path = socket_path("root");
        let p = path.clone();
        let (status, reload) = serving(&path, Limits::within(1024), true, move || {
            (
                call(&p, "status", Value::Null),
                call(&p, "reload", json!({"x": 1})),
            )
        });
        let status = status.unwrap();
        assert_eq!(status["interfaces"]["wan"]["address"], "203.0.113.7");
        let reload = reload.unwrap();
        assert_eq!(reload["method"], "reload");
        assert_eq!(reload["args"]["x"], 1);
    }

    #[test]
    #[cfg_attr(not(lab_root), ignore = "needs root: acts as another user")]
    fn others_get_status_from_the_snapshot_without_addresses_and_nothing_else() {
        let path = socket_path("others");
        let p = path.clone();
        // The loop never reads: status must not need it (a status loop from any user
        // must cost the daemon's loop nothing), and nothing else may reach it.
        let got = serving(&path, Limits::within(1024), false, move || {
            as_uid(65534, || {
                (
                    call(&p, "status", Value::Null),
                    call(&p, "reload", Value::Null),
                    call(
                        &p,
                        "maintenance",
                        json!({"interface": "wan", "enable": true}),
                    ),
                )
            })
        });
        let (status, reload, maintenance) = got;
        let status = status.unwrap();
        assert_eq!(status["interfaces"]["wan"]["state"], "up");
        assert_eq!(status["interfaces"]["wan"]["address"], Value::Null);
        assert_eq!(status["interfaces"]["wan"]["gateway"], Value::Null);
        assert!(reload.unwrap_err().contains("root only"));
        assert!(maintenance.unwrap_err().contains("root only"));
    }

    #[test]
    fn a_read_of_the_snapshot_is_noted_once_for_the_flow_count() {
        let s = Snapshot::default();
        assert!(!s.take_read(), "nobody read it");
        s.set(json!({"interfaces": {}}));
        assert!(!s.take_read(), "the daemon's refresh is not a read");
        assert_eq!(s.read()["interfaces"], json!({}));
        assert!(s.take_read());
        assert!(!s.take_read(), "noted once");
    }

    #[test]
    #[cfg_attr(not(lab_root), ignore = "needs root: acts as another user")]
    fn a_socket_served_by_another_user_is_not_believed() {
        let path = socket_path("squat");
        let dir = path.parent().unwrap().to_path_buf();
        std::fs::create_dir_all(&dir).unwrap();
        // SAFETY: chown(2) on a directory this test made.
        let c = std::ffi::CString::new(dir.to_str().unwrap()).unwrap();
        let staged = unsafe { libc::chown(c.as_ptr(), 65534, 65534) } == 0;
        assert!(staged, "needs root to stage another user's socket");
        let p = path.clone();
        let squatter = as_uid(65534, move || UnixListener::bind(&p).unwrap());
        let p = path.clone();
        let answer = std::thread::spawn(move || {
            if let Ok((s, _)) = squatter.accept() {
                let _ = (&s).write_all(b"{\"ok\":true,\"data\":{\"interfaces\":{}}}\n");
            }
        });
        let e = call(&p, "status", Value::Null).unwrap_err();
        assert!(e.contains("uid 65534"), "{e}");
        drop(answer);
        // Nor does the daemon bind in a directory that is not root's.
        let e = bind(&path).map(drop).unwrap_err().to_string();
        assert!(e.contains("not root"), "{e}");
    }

    #[test]
    fn bind_refuses_a_directory_others_may_write_and_a_live_daemon_socket() {
        use std::os::unix::fs::PermissionsExt;
        let path = socket_path("mode");
        let dir = path.parent().unwrap();
        std::fs::create_dir_all(dir).unwrap();
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o777)).unwrap();
        let e = bind(&path).map(drop).unwrap_err().to_string();
        assert!(e.contains("writable by group or others"), "{e}");
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        let live = bind(&path).unwrap();
        let e = bind(&path).map(drop).unwrap_err().to_string();
        assert!(e.contains("another rail daemon"), "{e}");
        // A socket left by a daemon that died is replaced.
        drop(live);
        assert!(bind(&path).is_ok());
    }

    #[test]
    #[cfg_attr(not(lab_root), ignore = "needs root: acts as another user")]
    fn sessions_beyond_the_cap_are_told_busy_and_root_still_gets_in() {
        let path = socket_path("cap");
        let limits = Limits { root: 1, others: 2 };
        let p = path.clone();
        let got = serving(&path, limits, true, move || {
            let (idle, third, status) = as_uid(65534, || {
                let idle: Vec<UnixStream> =
                    (0..2).map(|_| UnixStream::connect(&p).unwrap()).collect();
                // Sessions are taken in order: the third finds both places held.
                std::thread::sleep(Duration::from_millis(200));
                let third = raw(&p, b"");
                let status = call(&p, "status", Value::Null);
                (idle, third, status)
            });
            let root = call(&p, "status", Value::Null);
            drop(idle);
            (third, status, root)
        });
        let (third, busy_status, root) = got;
        assert!(third.error.contains("busy"), "{third:?}");
        assert!(busy_status.unwrap_err().contains("busy"));
        assert_eq!(root.unwrap()["interfaces"]["wan"]["state"], "up");
    }

    #[test]
    fn clients_turned_away_are_taken_at_most_a_thousand_a_second() {
        let path = socket_path("refused");
        let p = path.clone();
        let window = Duration::from_millis(500);
        let refused = serving(&path, Limits { root: 0, others: 0 }, true, move || {
            let start = std::time::Instant::now();
            let mut n = 0u32;
            while start.elapsed() < window {
                assert!(raw(&p, b"").error.contains("busy"));
                n += 1;
            }
            n
        });
        // A flood turned away as fast as it connects took half a core (30,000 a second).
        let most = window.as_millis() as u32 + BACKLOG as u32;
        assert!(
            refused <= most,
            "{refused} clients turned away in {window:?}"
        );
    }

    #[test]
    fn a_silent_client_is_dropped_at_the_deadline() {
        let path = socket_path("silent");
        let p = path.clone();
        let waited = serving(&path, Limits::within(1024), true, move || {
            let s = UnixStream::connect(&p).unwrap();
            s.set_read_timeout(Some(SESSION_DEADLINE * 3)).unwrap();
            let t = std::time::Instant::now();
            let mut buf = [0u8; 16];
            let n = std::io::Read::read(&mut &s, &mut buf).unwrap();
            (n, t.elapsed())
        });
        assert_eq!(waited.0, 0, "closed without a reply");
        assert!(waited.1 < SESSION_DEADLINE * 2, "{:?}", waited.1);
    }

    #[test]
    fn garbage_and_oversized_requests_get_an_error_reply_not_a_hangup() {
        let path = socket_path("bad");
        let p = path.clone();
        let (bad, big) = serving(&path, Limits::within(1024), true, move || {
            (
                raw(&p, b"{not json\xff\n"),
                raw(&p, &vec![b'x'; MAX_REQUEST * 4]),
            )
        });
        assert!(bad.error.starts_with("bad request"), "{}", bad.error);
        assert!(big.error.contains("larger than"), "{}", big.error);
    }

    #[test]
    fn descriptor_limits_leave_most_descriptors_to_the_rest_of_the_daemon() {
        assert_eq!(
            Limits::within(1024),
            Limits {
                root: 16,
                others: 48
            }
        );
        let small = Limits::within(64);
        assert!(
            small.root >= 1 && small.root + small.others <= 8,
            "{small:?}"
        );
    }

    /// The control socket, like every socket of the daemon, waits in async-io's reactor,
    /// which sleeps in epoll with the next timer's deadline in a timerfd. On MIPS musl,
    /// rustix built without `--cfg fix_y2038` hands that timerfd a struct of twice the size
    /// libc's `timerfd_settime` reads (docs/packaging.md, "MIPS and 64-bit time"): whatever
    /// was asked, the kernel gets a timer of under a second, no timer, or an error, and the
    /// reactor sleeps at random or spins without reading socket events (the request test
    /// above timed out in 3 of 6 runs under qemu-mips). Asked for over a second, an idle
    /// poller must sleep that long, which no timer the bug sets does.
    #[test]
    fn reactor_sleeps_as_long_as_asked() {
        let asked = Duration::from_millis(1200);
        let poller = std::sync::Arc::new(polling::Poller::new().unwrap());
        let (tx, rx) = std::sync::mpsc::channel();
        let waiter = poller.clone();
        std::thread::spawn(move || {
            let start = std::time::Instant::now();
            let woke = waiter.wait(&mut polling::Events::new(), Some(asked));
            let _ = tx.send((woke.map_err(|e| e.to_string()), start.elapsed()));
        });
        let got = rx.recv_timeout(asked * 10);
        // A disarmed timerfd never fires: wake the waiter rather than leave it blocked.
        poller.notify().unwrap();
        let (woke, slept) = got.expect("an idle poll asked to sleep 1.2 s never returned");
        assert_eq!(woke, Ok(0), "an idle poll asked to sleep 1.2 s failed");
        assert!(
            slept >= asked,
            "asked to sleep {asked:?}, woke after {slept:?}"
        );
    }
}
