//! A test broker speaking ubusd's wire protocol (openwrt/ubus ubusd_proto.c, ubusd_event.c,
//! ubusd_obj.c): HELLO, PING, ADD_OBJECT with signatures, LOOKUP, INVOKE routed between
//! clients, replies routed back, SUBSCRIBE / NOTIFY / UNSUBSCRIBE, and the event object
//! (`register`, `send`, `ubus.object.add` / `ubus.object.remove`), and ACLs as ubusd since
//! 2025-10 applies them (ubusd_acl.c): root may do anything; another caller (its uid, gid
//! and supplementary groups read at connect) only calls the methods a grant to one of its
//! groups names, gets `Permission denied` for the others, and does not see at all an object
//! of which it may call nothing (lookup leaves it out, so a call answers `Not found`).
//! One thread per client, blocking sockets; `stop` drops every client like a killed ubusd.
//! Include with `#[path = "ubus_broker/mod.rs"] mod broker;`.
#![allow(dead_code)]

pub mod bus;
pub mod netifd;

use std::collections::HashMap;
use std::io::{Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use rail::blob::{BlobMsg, Table};
use rail::openwrt::wire::{self, Attrs, Message, MsgType, Status, EVENT_OBJECT};

/// A published object as the broker knows it.
#[derive(Debug, Clone)]
pub struct BrokerObject {
    pub id: u32,
    pub client: u32,
    pub path: Option<String>,
    pub signature: Option<Table>,
    pub type_id: Option<u32>,
}

/// One ACL file of ubusd's: the group it grants to, and per object path the methods.
#[derive(Debug, Clone)]
pub struct Grant {
    pub gid: u32,
    pub object: String,
    pub methods: Vec<String>,
}

/// Who a client is, as ubusd reads it when the client connects.
#[derive(Debug, Clone, Default)]
struct Creds {
    uid: u32,
    /// The primary group, then the supplementary ones.
    groups: Vec<u32>,
}

#[derive(Default)]
struct State {
    next_id: u32,
    clients: HashMap<u32, UnixStream>,
    creds: HashMap<u32, Creds>,
    grants: Vec<Grant>,
    objects: HashMap<u32, BrokerObject>,
    /// target object id -> subscriber object ids
    subscribers: HashMap<u32, Vec<u32>>,
    /// (pattern, listener object id)
    patterns: Vec<(String, u32)>,
    event_seq: u16,
}

pub struct Broker {
    pub path: PathBuf,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
    acceptor: Option<JoinHandle<()>>,
}

impl Broker {
    /// Listens on `path` (replacing a stale socket file); no grants: only root may call.
    pub fn start(path: &Path) -> Broker {
        Broker::start_with(path, Vec::new())
    }

    /// As `start`, with ubusd's ACL `grants`.
    pub fn start_with(path: &Path, grants: Vec<Grant>) -> Broker {
        let _ = std::fs::remove_file(path);
        let listener = UnixListener::bind(path).expect("bind broker socket");
        // ubusd's umask(0111): anyone may connect; ACLs decide the rest.
        let everyone = std::os::unix::fs::PermissionsExt::from_mode(0o666);
        std::fs::set_permissions(path, everyone).expect("chmod broker socket");
        listener.set_nonblocking(true).unwrap();
        let state = Arc::new(Mutex::new(State {
            next_id: 0x1000,
            grants,
            ..State::default()
        }));
        let stop = Arc::new(AtomicBool::new(false));
        let (st, sp) = (state.clone(), stop.clone());
        let acceptor = std::thread::spawn(move || {
            while !sp.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        stream.set_nonblocking(false).unwrap();
                        let st = st.clone();
                        std::thread::spawn(move || serve_client(st, stream));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        Broker {
            path: path.to_path_buf(),
            state,
            stop,
            acceptor: Some(acceptor),
        }
    }

    /// Like ubusd dying: stop listening, close every client, forget everything.
    pub fn stop(&mut self) {
        let Some(acceptor) = self.acceptor.take() else {
            return; // already stopped; the path may belong to a new broker now
        };
        self.stop.store(true, Ordering::SeqCst);
        acceptor.join().unwrap();
        let st = self.state.lock().unwrap();
        for stream in st.clients.values() {
            let _ = stream.shutdown(std::net::Shutdown::Both);
        }
        let _ = std::fs::remove_file(&self.path);
    }

    /// The object published at `path`, if any.
    pub fn object(&self, path: &str) -> Option<BrokerObject> {
        let st = self.state.lock().unwrap();
        st.objects
            .values()
            .find(|o| o.path.as_deref() == Some(path))
            .cloned()
    }

    pub fn client_count(&self) -> usize {
        self.state.lock().unwrap().clients.len()
    }

    /// Opens a raw connection (for sending hand-made frames); returns it and its client id.
    pub fn raw_client(&self) -> (UnixStream, u32) {
        let mut s = UnixStream::connect(&self.path).unwrap();
        let hello = read_message(&mut s).unwrap().unwrap();
        assert_eq!(hello.header.kind, MsgType::Hello);
        (s, hello.header.peer)
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Reads one frame; Ok(None) on a clean end of stream.
pub fn read_message(s: &mut UnixStream) -> std::io::Result<Option<Message>> {
    let mut head = [0u8; 12];
    if let Err(e) = s.read_exact(&mut head) {
        return if e.kind() == std::io::ErrorKind::UnexpectedEof {
            Ok(None)
        } else {
            Err(e)
        };
    }
    let total = wire::frame_len(&head).map_err(std::io::Error::other)?;
    let mut frame = head.to_vec();
    frame.resize(total, 0);
    s.read_exact(&mut frame[12..])?;
    Message::decode(&frame)
        .map(Some)
        .map_err(std::io::Error::other)
}

fn send(st: &State, client: u32, msg: &Message) {
    if let Some(mut s) = st.clients.get(&client) {
        let _ = s.write_all(&msg.encode().unwrap());
    }
}

fn status(st: &State, client: u32, seq: u16, peer: u32, code: Status) {
    let attrs = Attrs {
        status: Some(code as i32),
        ..Attrs::default()
    };
    send(st, client, &Message::new(MsgType::Status, seq, peer, attrs));
}

fn alloc_id(st: &mut State) -> u32 {
    st.next_id += 1;
    st.next_id
}

/// The peer's uid and groups: SO_PEERCRED (taken at connect), then the supplementary
/// groups from /proc/PID/status, as ubusd reads them.
fn peer_creds(stream: &UnixStream) -> Creds {
    use std::os::fd::AsRawFd;
    let mut cred = libc::ucred {
        pid: 0,
        uid: 0,
        gid: 0,
    };
    let mut len = std::mem::size_of::<libc::ucred>() as libc::socklen_t;
    // SAFETY: getsockopt writes at most `len` bytes into `cred`, a ucred.
    let rc = unsafe {
        libc::getsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_PEERCRED,
            (&mut cred as *mut libc::ucred).cast(),
            &mut len,
        )
    };
    assert_eq!(rc, 0, "SO_PEERCRED: {}", std::io::Error::last_os_error());
    let status = std::fs::read_to_string(format!("/proc/{}/status", cred.pid)).unwrap_or_default();
    let extra = status
        .lines()
        .find_map(|l| l.strip_prefix("Groups:"))
        .unwrap_or("")
        .split_whitespace()
        .filter_map(|g| g.parse().ok());
    Creds {
        uid: cred.uid,
        groups: std::iter::once(cred.gid).chain(extra).collect(),
    }
}

/// Whether client `cl` may call `method` on the object at `path`.
fn allowed(st: &State, cl: u32, path: Option<&str>, method: &str) -> bool {
    let Some(creds) = st.creds.get(&cl).filter(|c| c.uid != 0) else {
        return true;
    };
    st.grants.iter().any(|g| {
        path == Some(g.object.as_str())
            && creds.groups.contains(&g.gid)
            && g.methods.iter().any(|m| m == method || m == "*")
    })
}

fn serve_client(state: Arc<Mutex<State>>, mut stream: UnixStream) {
    let creds = peer_creds(&stream);
    let id = {
        let mut st = state.lock().unwrap();
        let id = alloc_id(&mut st);
        st.clients.insert(id, stream.try_clone().unwrap());
        st.creds.insert(id, creds);
        send(
            &st,
            id,
            &Message::new(MsgType::Hello, 0, id, Attrs::default()),
        );
        id
    };
    while let Ok(Some(msg)) = read_message(&mut stream) {
        let mut st = state.lock().unwrap();
        handle(&mut st, id, msg);
    }
    let mut st = state.lock().unwrap();
    drop_client(&mut st, id);
}

fn handle(st: &mut State, cl: u32, msg: Message) {
    let Message {
        header: h,
        attrs: a,
    } = msg;
    match h.kind {
        MsgType::Ping => send(st, cl, &Message::new(MsgType::Data, h.seq, h.peer, a)),
        MsgType::AddObject => {
            if a.objpath
                .as_ref()
                .is_some_and(|p| st.objects.values().any(|o| o.path.as_ref() == Some(p)))
            {
                return status(st, cl, h.seq, h.peer, Status::InvalidArgument);
            }
            let id = alloc_id(st);
            let type_id = a.signature.as_ref().map(|_| alloc_id(st));
            let obj = BrokerObject {
                id,
                client: cl,
                path: a.objpath.clone(),
                signature: a.signature.clone(),
                type_id,
            };
            st.objects.insert(id, obj);
            let reply = Attrs {
                objid: Some(id),
                objtype: type_id,
                ..Attrs::default()
            };
            send(st, cl, &Message::new(MsgType::Data, h.seq, h.peer, reply));
            status(st, cl, h.seq, h.peer, Status::Ok);
            if let Some(path) = a.objpath {
                object_event(st, "ubus.object.add", id, &path);
            }
        }
        MsgType::Lookup => {
            let mut found: Vec<BrokerObject> = st
                .objects
                .values()
                .filter(|o| match (&o.path, &a.objpath) {
                    (None, _) => false,
                    (Some(_), None) => true,
                    (Some(p), Some(want)) => match want.strip_suffix('*') {
                        Some(prefix) => p.starts_with(prefix),
                        None => p == want,
                    },
                })
                .cloned()
                .collect();
            found.sort_by(|x, y| x.path.cmp(&y.path));
            for o in &found {
                // The methods the caller may call; none of several: the object stays hidden.
                let all = o.signature.clone().unwrap_or_default();
                let signature: Table = all
                    .iter()
                    .filter(|(m, _)| allowed(st, cl, o.path.as_deref(), m))
                    .cloned()
                    .collect();
                if signature.is_empty() && !all.is_empty() {
                    continue;
                }
                let reply = Attrs {
                    objpath: o.path.clone(),
                    objid: Some(o.id),
                    objtype: o.type_id,
                    signature: Some(signature),
                    ..Attrs::default()
                };
                send(st, cl, &Message::new(MsgType::Data, h.seq, h.peer, reply));
            }
            let code = if found.is_empty() {
                Status::NotFound
            } else {
                Status::Ok
            };
            status(st, cl, h.seq, h.peer, code);
        }
        MsgType::Invoke => {
            let (Some(objid), Some(method)) = (a.objid, a.method.clone()) else {
                return status(st, cl, h.seq, h.peer, Status::InvalidArgument);
            };
            if objid == EVENT_OBJECT {
                let code = event_object(st, cl, &method, a.data.unwrap_or_default());
                return status(st, cl, h.seq, h.peer, code);
            }
            let Some(owner) = st.objects.get(&objid).map(|o| o.client) else {
                return status(st, cl, h.seq, h.peer, Status::NotFound);
            };
            let path = st.objects.get(&objid).and_then(|o| o.path.clone());
            if !allowed(st, cl, path.as_deref(), &method) {
                return status(st, cl, h.seq, h.peer, Status::PermissionDenied);
            }
            let fwd = Attrs {
                objid: Some(objid),
                method: Some(method),
                data: a.data,
                user: Some("root".into()),
                group: Some("root".into()),
                ..Attrs::default()
            };
            send(st, owner, &Message::new(MsgType::Invoke, h.seq, cl, fwd));
        }
        MsgType::Status | MsgType::Data => {
            // A reply from an object's owner, routed back to the caller named in `peer`.
            let Some(objid) = a.objid else { return };
            if st.objects.get(&objid).map(|o| o.client) != Some(cl) {
                return;
            }
            let caller = h.peer;
            send(st, caller, &Message::new(h.kind, h.seq, objid, a));
        }
        MsgType::Subscribe => {
            let (Some(sub), Some(target)) = (a.objid, a.target) else {
                return status(st, cl, h.seq, h.peer, Status::InvalidArgument);
            };
            let Some(owner) = st.objects.get(&target).map(|o| o.client) else {
                return status(st, cl, h.seq, h.peer, Status::NotFound);
            };
            let list = st.subscribers.entry(target).or_default();
            list.push(sub);
            if list.len() == 1 {
                let active = Attrs {
                    objid: Some(target),
                    active: Some(true),
                    ..Attrs::default()
                };
                send(st, owner, &Message::new(MsgType::Notify, 1, 0, active));
            }
            status(st, cl, h.seq, h.peer, Status::Ok);
        }
        MsgType::Notify => {
            let (Some(objid), Some(method)) = (a.objid, a.method.clone()) else {
                return status(st, cl, h.seq, h.peer, Status::InvalidArgument);
            };
            if st.objects.get(&objid).map(|o| o.client) != Some(cl) {
                return status(st, cl, h.seq, h.peer, Status::PermissionDenied);
            }
            let no_reply = a.no_reply == Some(true);
            let subs = st.subscribers.get(&objid).cloned().unwrap_or_default();
            if !no_reply {
                let reply = Attrs {
                    objid: Some(objid),
                    subscribers: Some(subs.clone()),
                    status: Some(0),
                    ..Attrs::default()
                };
                send(st, cl, &Message::new(MsgType::Status, h.seq, h.peer, reply));
            }
            for sub in subs {
                let Some(owner) = st.objects.get(&sub).map(|o| o.client) else {
                    continue;
                };
                let fwd = Attrs {
                    objid: Some(sub),
                    method: Some(method.clone()),
                    data: a.data.clone(),
                    no_reply: no_reply.then_some(true),
                    ..Attrs::default()
                };
                send(st, owner, &Message::new(MsgType::Invoke, h.seq, cl, fwd));
            }
        }
        _ => status(st, cl, h.seq, h.peer, Status::InvalidCommand),
    }
}

fn event_object(st: &mut State, cl: u32, method: &str, data: Table) -> Status {
    let get = |name: &str| data.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    match method {
        "register" => {
            let (Some(BlobMsg::Int32(obj)), Some(BlobMsg::String(pattern))) =
                (get("object"), get("pattern"))
            else {
                return Status::InvalidArgument;
            };
            match st.objects.get(&(obj as u32)) {
                Some(o) if o.client == cl => {
                    st.patterns.push((pattern, obj as u32));
                    Status::Ok
                }
                Some(_) => Status::PermissionDenied,
                None => Status::NotFound,
            }
        }
        "send" => {
            let (Some(BlobMsg::String(id)), Some(BlobMsg::Table(payload))) =
                (get("id"), get("data"))
            else {
                return Status::InvalidArgument;
            };
            if id.starts_with("ubus.") {
                return Status::PermissionDenied;
            }
            deliver_event(st, Some(cl), &id, payload);
            Status::Ok
        }
        _ => Status::InvalidCommand,
    }
}

fn deliver_event(st: &mut State, from: Option<u32>, id: &str, data: Table) {
    let mut listeners: Vec<u32> = st
        .patterns
        .iter()
        .filter(|(p, _)| match p.strip_suffix('*') {
            Some(prefix) => id.starts_with(prefix),
            None => p == id,
        })
        .map(|(_, obj)| *obj)
        .collect();
    listeners.dedup();
    for obj in listeners {
        let Some(owner) = st.objects.get(&obj).map(|o| o.client) else {
            continue;
        };
        if Some(owner) == from {
            continue; // ubusd does not loop events back to their sender
        }
        st.event_seq = st.event_seq.wrapping_add(1);
        let attrs = Attrs {
            objid: Some(obj),
            method: Some(id.to_string()),
            data: Some(data.clone()),
            ..Attrs::default()
        };
        send(
            st,
            owner,
            &Message::new(MsgType::Invoke, st.event_seq, 0, attrs),
        );
    }
}

fn object_event(st: &mut State, id: &str, objid: u32, path: &str) {
    let data = vec![
        ("id".to_string(), BlobMsg::Int32(objid as i32)),
        ("path".to_string(), BlobMsg::String(path.to_string())),
    ];
    deliver_event(st, None, id, data);
}

fn drop_client(st: &mut State, cl: u32) {
    st.clients.remove(&cl);
    st.creds.remove(&cl);
    let gone: Vec<BrokerObject> = st
        .objects
        .values()
        .filter(|o| o.client == cl)
        .cloned()
        .collect();
    for o in gone {
        st.objects.remove(&o.id);
        st.patterns.retain(|(_, obj)| *obj != o.id);
        for subs in st.subscribers.values_mut() {
            subs.retain(|s| *s != o.id);
        }
        // Tell subscribers their target is gone (ubus_notify_unsubscribe).
        for sub in st.subscribers.remove(&o.id).unwrap_or_default() {
            if let Some(owner) = st.objects.get(&sub).map(|x| x.client) {
                let attrs = Attrs {
                    objid: Some(sub),
                    target: Some(o.id),
                    ..Attrs::default()
                };
                send(st, owner, &Message::new(MsgType::Unsubscribe, 1, 0, attrs));
            }
        }
        if let Some(path) = &o.path {
            object_event(st, "ubus.object.remove", o.id, path);
        }
    }
}

/// Calls `method` of rail on the bus at `path` as a client of its own (rail's, on the
/// calling thread): what rail answered.
pub fn call(
    path: &Path,
    method: &str,
    args: serde_json::Value,
) -> Result<Option<serde_json::Value>, rail::openwrt::client::CallError> {
    use rail::openwrt::client::{BusEvent, Client, Config};
    let ex = smol::LocalExecutor::new();
    futures_lite::future::block_on(ex.run(async {
        let cli = Client::new(Config {
            sockets: vec![path.to_path_buf()],
            ..Config::default()
        });
        let events = cli.events();
        let runner = cli.clone();
        ex.spawn(async move { runner.run().await }).detach();
        assert_eq!(events.recv().await.ok(), Some(BusEvent::Connected));
        cli.call("rail", method, &args).await
    }))
}
