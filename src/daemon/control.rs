//! The control socket: how `rail status`, `rail reload` and the hotplug script reach a
//! running daemon without ubusd (ubus carries the same methods on OpenWrt).
//!
//! An abstract Unix socket, so every network namespace has its own (lab routers side by
//! side) and nothing is left in the filesystem. One JSON request per line, one JSON reply
//! per line. The caller's uid comes from SO_PEERCRED: state-changing methods are root's.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::io::{BufRead, BufReader, Write};
use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixListener, UnixStream};
use std::time::Duration;

/// The abstract socket name (shown by `ss -xl` as `@rail`).
pub const NAME: &str = "rail";

/// Requests bigger than this are refused rather than buffered.
const MAX_REQUEST: usize = 64 * 1024;

/// A request must arrive within this long after connecting.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

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

/// A request as the daemon sees it: what was asked, by whom, and where to answer.
pub struct Incoming {
    pub request: Request,
    pub uid: u32,
    pub reply: smol::channel::Sender<Reply>,
}

fn addr(name: &str) -> std::io::Result<SocketAddr> {
    SocketAddr::from_abstract_name(name.as_bytes())
}

pub fn bind(name: &str) -> std::io::Result<async_io::Async<UnixListener>> {
    async_io::Async::new(UnixListener::bind_addr(&addr(name)?)?)
}

fn peer_uid(s: &UnixStream) -> u32 {
    use std::os::fd::AsRawFd;
    let mut cred = libc::ucred {
        pid: 0,
        uid: u32::MAX,
        gid: u32::MAX,
    };
    let mut len = std::mem::size_of::<libc::ucred>() as libc::socklen_t;
    // SAFETY: cred and len describe a valid ucred buffer for getsockopt to fill.
    let rc = unsafe {
        libc::getsockopt(
            s.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_PEERCRED,
            (&mut cred as *mut libc::ucred).cast(),
            &mut len,
        )
    };
    if rc == 0 {
        cred.uid
    } else {
        u32::MAX
    }
}

/// Accepts clients forever, handing each request to the daemon through `to_daemon`.
pub async fn serve(
    listener: async_io::Async<UnixListener>,
    to_daemon: smol::channel::Sender<Incoming>,
    ex: std::rc::Rc<smol::LocalExecutor<'static>>,
) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let to_daemon = to_daemon.clone();
        ex.spawn(async move {
            let uid = peer_uid(stream.get_ref());
            let _ = session(stream, uid, to_daemon).await;
        })
        .detach();
    }
}

async fn session(
    stream: async_io::Async<UnixStream>,
    uid: u32,
    to_daemon: smol::channel::Sender<Incoming>,
) -> std::io::Result<()> {
    use futures_lite::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
    // One request per connection: the tools connect, ask, read the answer and leave.
    let mut reader = futures_lite::io::BufReader::new((&stream).take(MAX_REQUEST as u64));
    // Bytes, not a String: a request that is not UTF-8 gets an error reply, not a hangup.
    let mut line = Vec::new();
    // A client that connects and says nothing is dropped: idle connections from any local
    // user must not pile up until the daemon runs out of descriptors.
    let n = futures_lite::future::or(reader.read_until(b'\n', &mut line), async {
        async_io::Timer::after(REQUEST_TIMEOUT).await;
        Err(std::io::ErrorKind::TimedOut.into())
    })
    .await?;
    let reply = if n == 0 {
        return Ok(());
    } else if !line.ends_with(b"\n") && n >= MAX_REQUEST {
        Reply::err(format!("request larger than {MAX_REQUEST} bytes"))
    } else {
        match serde_json::from_slice::<Request>(&line) {
            Err(e) => Reply::err(format!("bad request: {e}")),
            Ok(request) => {
                let (tx, rx) = smol::channel::bounded(1);
                let incoming = Incoming {
                    request,
                    uid,
                    reply: tx,
                };
                match to_daemon.send(incoming).await {
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
    (&stream).write_all(&out).await
}

/// Blocking client for the command line tools.
pub fn call(name: &str, method: &str, args: Value) -> Result<Value, String> {
    let stream = UnixStream::connect_addr(&addr(name).map_err(|e| e.to_string())?)
        .map_err(|e| format!("cannot reach the rail daemon (@{name}): {e}; is it running?"))?;
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
    let reply: Reply =
        serde_json::from_str(&line).map_err(|e| format!("bad reply from the daemon: {e}"))?;
    if reply.ok {
        Ok(reply.data)
    } else {
        Err(reply.error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::rc::Rc;

    #[test]
    fn request_reaches_daemon_with_uid_and_reply_comes_back() {
        let name = format!("rail-test-{}", std::process::id());
        let ex = Rc::new(smol::LocalExecutor::new());
        let listener = bind(&name).unwrap();
        let (tx, rx) = smol::channel::unbounded::<Incoming>();
        ex.spawn(serve(listener, tx, ex.clone())).detach();
        ex.spawn(async move {
            while let Ok(inc) = rx.recv().await {
                let uid = inc.uid;
                let _ = inc
                    .reply
                    .send(Reply::ok(serde_json::json!({
                        "method": inc.request.method, "uid": uid, "args": inc.request.args
                    })))
                    .await;
            }
        })
        .detach();
        let name2 = name.clone();
        let client =
            std::thread::spawn(move || call(&name2, "status", serde_json::json!({"x": 1})));
        let me = unsafe { libc::geteuid() };
        smol::block_on(ex.run(async {
            while !client.is_finished() {
                async_io::Timer::after(Duration::from_millis(5)).await;
            }
        }));
        let got = client.join().unwrap().unwrap();
        assert_eq!(got["method"], "status");
        assert_eq!(got["uid"], me);
        assert_eq!(got["args"]["x"], 1);
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

    #[test]
    fn garbage_gets_an_error_reply_not_a_hangup() {
        let name = format!("rail-test-bad-{}", std::process::id());
        let ex = Rc::new(smol::LocalExecutor::new());
        let listener = bind(&name).unwrap();
        let (tx, _rx) = smol::channel::unbounded::<Incoming>();
        ex.spawn(serve(listener, tx, ex.clone())).detach();
        let name2 = name.clone();
        let client = std::thread::spawn(move || {
            let s = UnixStream::connect_addr(&addr(&name2).unwrap()).unwrap();
            (&s).write_all(b"{not json\xff\n").unwrap();
            let mut line = String::new();
            BufReader::new(&s).read_line(&mut line).unwrap();
            serde_json::from_str::<Reply>(&line).unwrap()
        });
        smol::block_on(ex.run(async {
            while !client.is_finished() {
                async_io::Timer::after(Duration::from_millis(5)).await;
            }
        }));
        let r = client.join().unwrap();
        assert!(!r.ok);
        assert!(r.error.starts_with("bad request"), "{}", r.error);
    }
}
