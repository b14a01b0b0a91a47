//! The async ubus client: one Unix-socket connection to ubusd, driven on the daemon's
//! single-threaded executor (`Rc`, not `Send`).
//!
//! `Client::run` owns the connection for the life of the daemon: it connects (trying each
//! socket path), publishes the configured objects with their signatures, subscribes to the
//! configured objects' notifications, registers event patterns, then serves INVOKEs and
//! routes replies. When ubusd goes away it reports `BusEvent::Disconnected`, reconnects with
//! backoff and does all of it again, then reports `BusEvent::Connected` (the moment to
//! re-read anything learned over ubus). Other tasks use `call` and `notify` meanwhile.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::io;
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::rc::Rc;
use std::time::Duration;

use async_io::{Async, Timer};
use futures_lite::{future, AsyncReadExt, AsyncWriteExt};
use serde_json::Value;
use smol::channel::{Receiver, Sender};

use crate::blob::{self, BlobMsg, Table, Type};
use crate::openwrt::wire::{self, Attrs, Header, Message, MsgType, Status, EVENT_OBJECT};

/// Where ubusd listens: current OpenWrt first, then older builds.
pub const DEFAULT_SOCKETS: [&str; 2] = ["/var/run/ubus/ubus.sock", "/var/run/ubus.sock"];
/// How long a request waits for ubusd or the called object.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
const BACKOFF_MIN: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(2);
const EVENT_QUEUE: usize = 1024;
/// ubusd announces every new object with this event; it is how a subscription to an object
/// that is not on the bus yet (netifd still starting, or restarted) gets made.
const OBJECT_ADD_EVENT: &str = "ubus.object.add";

/// What a method handler answers: something to send back, nothing, or an error status.
pub type Reply = Result<Option<Answer>, Status>;

/// An answer to send back: a JSON object, or a table already written as blobmsg (see
/// [`blob::Writer`]: an answer too large to build as a tree first), or one still being
/// made, over several turns of the executor so that its other tasks run meanwhile.
pub enum Answer {
    Json(Value),
    Blob(Vec<u8>),
    Later(std::pin::Pin<Box<dyn std::future::Future<Output = Answer>>>),
}

impl From<Value> for Answer {
    fn from(v: Value) -> Answer {
        Answer::Json(v)
    }
}
/// Serves the methods of one published object: `(method, arguments)`.
pub type Handler = Rc<dyn Fn(&str, &Table) -> Reply>;

/// One method of a published object and its argument policy (shown by `ubus -v list`).
#[derive(Debug, Clone, PartialEq)]
pub struct Method {
    pub name: &'static str,
    pub args: Vec<(&'static str, Type)>,
}

/// An object to publish on the bus.
#[derive(Clone)]
pub struct Object {
    pub path: String,
    pub methods: Vec<Method>,
    pub handler: Handler,
}

/// What the bus tells the daemon.
#[derive(Debug, Clone, PartialEq)]
pub enum BusEvent {
    /// Connected and everything registered (also after every reconnection).
    Connected,
    /// The connection to ubusd was lost; `run` is reconnecting.
    Disconnected,
    /// A notification from a subscribed object (e.g. `network.interface`, `interface.update`).
    Notification {
        object: String,
        kind: String,
        data: Value,
    },
    /// A `ubus send` style event matching a listened pattern (e.g. `network.interface`).
    Event { id: String, data: Value },
}

/// Why a call failed.
#[derive(Debug)]
pub enum CallError {
    NotConnected,
    Timeout,
    Status(Status),
    Io(io::Error),
    /// The reply was not a JSON object-shaped table, or the request was too large.
    Protocol(String),
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CallError::NotConnected => write!(f, "not connected to ubusd"),
            CallError::Timeout => write!(f, "no reply within {}s", REQUEST_TIMEOUT.as_secs()),
            CallError::Status(s) => write!(f, "{s}"),
            CallError::Io(e) => write!(f, "{e}"),
            CallError::Protocol(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for CallError {}

/// What a client publishes, subscribes to and listens for, on every connection.
#[derive(Clone, Default)]
pub struct Config {
    /// Socket paths tried in order; empty means [`DEFAULT_SOCKETS`].
    pub sockets: Vec<PathBuf>,
    pub objects: Vec<Object>,
    /// Object paths whose notifications become `BusEvent::Notification`.
    pub subscriptions: Vec<String>,
    /// Event patterns (`network.interface`, `foo.*`) that become `BusEvent::Event`.
    pub patterns: Vec<String>,
}

/// A handle to the bus; clones share one connection.
#[derive(Clone)]
pub struct Client {
    inner: Rc<Inner>,
}

struct Inner {
    config: Config,
    conn: RefCell<Option<Rc<Conn>>>,
    events_tx: Sender<BusEvent>,
    events_rx: Receiver<BusEvent>,
}

/// What one of our object ids on the current connection stands for.
enum Role {
    Published(Object),
    Subscriber(String),
    Events,
}

struct PendingRequest {
    data: Vec<Attrs>,
    done: Sender<Result<Vec<Attrs>, Status>>,
}

/// One connection to ubusd; dropped when it ends.
struct Conn {
    stream: Async<UnixStream>,
    writing: smol::lock::Mutex<()>,
    seq: Cell<u16>,
    pending: RefCell<HashMap<(u16, u32), PendingRequest>>,
    roles: RefCell<HashMap<u32, Role>>,
    published: RefCell<HashMap<String, u32>>,
    /// Subscriptions ubus.object.add should (re)make, sent by the reader to the worker.
    resubscribe: (Sender<String>, Receiver<String>),
}

impl Client {
    pub fn new(config: Config) -> Client {
        let (events_tx, events_rx) = smol::channel::bounded(EVENT_QUEUE);
        Client {
            inner: Rc::new(Inner {
                config,
                conn: RefCell::new(None),
                events_tx,
                events_rx,
            }),
        }
    }

    /// The stream of notifications, events and connection changes.
    pub fn events(&self) -> Receiver<BusEvent> {
        self.inner.events_rx.clone()
    }

    /// Whether the client is connected and its objects, subscriptions and patterns are
    /// registered (calls fail with `NotConnected` otherwise).
    pub fn is_connected(&self) -> bool {
        self.inner.conn.borrow().is_some()
    }

    /// Serves the bus forever: connect, register, serve, and on loss reconnect with backoff
    /// (100 ms doubling to 2 s). Never returns; spawn it on the daemon's executor.
    pub async fn run(&self) {
        let mut backoff = BACKOFF_MIN;
        let mut reported_failure = false;
        let mut was_connected = false;
        loop {
            match self.connect().await {
                Ok((conn, path)) => {
                    let conn = Rc::new(conn);
                    let registered = Cell::new(false);
                    let outcome = self.session(&conn, &path, &registered).await;
                    *self.inner.conn.borrow_mut() = None;
                    // Wake every waiting caller now rather than at its timeout.
                    conn.pending.borrow_mut().clear();
                    if registered.get() {
                        backoff = BACKOFF_MIN;
                        reported_failure = false;
                        // ubusd restarts (sysupgrade, procd): reconnecting is routine.
                        log::info!("ubus: connection to {path} lost: {outcome}; reconnecting");
                        was_connected = true;
                        self.emit(BusEvent::Disconnected);
                    } else if !reported_failure {
                        reported_failure = true;
                        log::warn!("ubus: {path}: {outcome}; retrying");
                    }
                }
                Err(e) if !reported_failure => {
                    reported_failure = true;
                    let level = if was_connected {
                        log::Level::Info
                    } else {
                        log::Level::Warn
                    };
                    log::log!(
                        level,
                        "ubus: cannot connect: {e}; retrying until ubusd is up"
                    );
                }
                Err(_) => {}
            }
            Timer::after(backoff).await;
            backoff = (backoff * 2).min(BACKOFF_MAX);
        }
    }

    /// Calls `method` on the object at `path` (e.g. `network.interface.wan`, `status`) and
    /// returns the reply's data, if any.
    pub async fn call(
        &self,
        path: &str,
        method: &str,
        args: &Value,
    ) -> Result<Option<Value>, CallError> {
        let conn = self.conn()?;
        let args = match args {
            Value::Object(map) => blob::table_from_json(map),
            Value::Null => Table::new(),
            _ => {
                return Err(CallError::Protocol(
                    "call arguments must be a JSON object".into(),
                ))
            }
        };
        let id = conn.lookup(path).await?;
        let attrs = Attrs {
            objid: Some(id),
            method: Some(method.to_string()),
            data: Some(args),
            ..Attrs::default()
        };
        let replies = conn.request(MsgType::Invoke, id, attrs).await?;
        Ok(replies
            .into_iter()
            .filter_map(|a| a.data)
            .next_back()
            .map(|t| blob::table_to_json(&t)))
    }

    /// Sends a notification from one of our published objects to its subscribers
    /// (fire and forget, like netifd's `ubus_notify(..., -1)`).
    pub async fn notify(&self, path: &str, kind: &str, data: &Value) -> Result<(), CallError> {
        let conn = self.conn()?;
        let id = conn
            .published
            .borrow()
            .get(path)
            .copied()
            .ok_or(CallError::Status(Status::NotFound))?;
        let Value::Object(map) = data else {
            return Err(CallError::Protocol(
                "notification data must be a JSON object".into(),
            ));
        };
        let attrs = Attrs {
            objid: Some(id),
            method: Some(kind.to_string()),
            data: Some(blob::table_from_json(map)),
            no_reply: Some(true),
            ..Attrs::default()
        };
        conn.send(&Message::new(MsgType::Notify, conn.next_seq(), id, attrs))
            .await
    }

    /// Sends a `ubus send` style event.
    pub async fn send_event(&self, id: &str, data: &Value) -> Result<(), CallError> {
        let conn = self.conn()?;
        let Value::Object(map) = data else {
            return Err(CallError::Protocol(
                "event data must be a JSON object".into(),
            ));
        };
        let attrs = Attrs {
            objid: Some(EVENT_OBJECT),
            method: Some("send".into()),
            data: Some(vec![
                ("id".into(), BlobMsg::String(id.into())),
                ("data".into(), BlobMsg::Table(blob::table_from_json(map))),
            ]),
            ..Attrs::default()
        };
        conn.request(MsgType::Invoke, EVENT_OBJECT, attrs)
            .await
            .map(drop)
    }

    fn conn(&self) -> Result<Rc<Conn>, CallError> {
        self.inner
            .conn
            .borrow()
            .clone()
            .ok_or(CallError::NotConnected)
    }

    fn emit(&self, event: BusEvent) {
        if self.inner.events_tx.try_send(event).is_err() {
            log::warn!("ubus: event queue full ({EVENT_QUEUE}); an event was dropped");
        }
    }

    async fn connect(&self) -> io::Result<(Conn, String)> {
        let defaults: Vec<PathBuf> = DEFAULT_SOCKETS.iter().map(PathBuf::from).collect();
        let paths = if self.inner.config.sockets.is_empty() {
            &defaults
        } else {
            &self.inner.config.sockets
        };
        let mut first_error = None;
        for path in paths {
            match Async::<UnixStream>::connect(path).await {
                Ok(stream) => {
                    let conn = Conn {
                        stream,
                        writing: smol::lock::Mutex::new(()),
                        seq: Cell::new(0),
                        pending: RefCell::new(HashMap::new()),
                        roles: RefCell::new(HashMap::new()),
                        published: RefCell::new(HashMap::new()),
                        resubscribe: smol::channel::unbounded(),
                    };
                    let hello = conn.read_message().await?;
                    if hello.header.kind != MsgType::Hello {
                        return Err(io::Error::new(
                            io::ErrorKind::InvalidData,
                            format!(
                                "{}: expected HELLO, got {:?}",
                                path.display(),
                                hello.header.kind
                            ),
                        ));
                    }
                    return Ok((conn, path.display().to_string()));
                }
                Err(e) => {
                    first_error.get_or_insert_with(|| format!("{}: {e}", path.display()));
                }
            }
        }
        Err(io::Error::other(
            first_error.unwrap_or_else(|| "no ubus socket configured".into()),
        ))
    }

    /// Registers everything, then serves until the connection fails; returns why.
    async fn session(&self, conn: &Rc<Conn>, path: &str, registered: &Cell<bool>) -> String {
        let reader = async {
            match self.read_loop(conn).await {
                Ok(()) => "ubusd closed the connection".to_string(),
                Err(e) => e.to_string(),
            }
        };
        let worker = async {
            if let Err(e) = self.register(conn).await {
                return format!("registration failed: {e}");
            }
            registered.set(true);
            *self.inner.conn.borrow_mut() = Some(conn.clone());
            log::info!(
                "ubus: connected to {path}; published {}",
                self.inner
                    .config
                    .objects
                    .iter()
                    .map(|o| o.path.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            self.emit(BusEvent::Connected);
            while let Ok(target) = conn.resubscribe.1.recv().await {
                if let Err(e) = conn.subscribe(&target).await {
                    log::warn!("ubus: subscribing to {target} failed: {e}");
                }
            }
            "resubscription queue closed".to_string()
        };
        future::or(reader, worker).await
    }

    async fn register(&self, conn: &Conn) -> Result<(), CallError> {
        let cfg = &self.inner.config;
        for object in &cfg.objects {
            let methods: Vec<(&str, &[(&str, Type)])> = object
                .methods
                .iter()
                .map(|m| (m.name, m.args.as_slice()))
                .collect();
            let attrs = Attrs {
                objpath: Some(object.path.clone()),
                signature: Some(wire::signature(&methods)),
                ..Attrs::default()
            };
            let id = conn.add_object(attrs).await.map_err(|e| {
                CallError::Protocol(format!(
                    "cannot publish {}: {e} (is another instance running?)",
                    object.path
                ))
            })?;
            conn.roles
                .borrow_mut()
                .insert(id, Role::Published(object.clone()));
            conn.published.borrow_mut().insert(object.path.clone(), id);
        }
        let mut patterns = cfg.patterns.clone();
        if !cfg.subscriptions.is_empty() {
            patterns.push(OBJECT_ADD_EVENT.to_string());
        }
        if !patterns.is_empty() {
            let id = conn.add_object(Attrs::default()).await?;
            conn.roles.borrow_mut().insert(id, Role::Events);
            for pattern in patterns {
                let attrs = Attrs {
                    objid: Some(EVENT_OBJECT),
                    method: Some("register".into()),
                    data: Some(vec![
                        ("object".into(), BlobMsg::Int32(id as i32)),
                        ("pattern".into(), BlobMsg::String(pattern)),
                    ]),
                    ..Attrs::default()
                };
                conn.request(MsgType::Invoke, EVENT_OBJECT, attrs).await?;
            }
        }
        for target in &cfg.subscriptions {
            let id = conn.add_object(Attrs::default()).await?;
            conn.roles
                .borrow_mut()
                .insert(id, Role::Subscriber(target.clone()));
            match conn.subscribe(target).await {
                Err(CallError::Status(Status::NotFound)) => {
                    log::info!("ubus: {target} is not on the bus yet; subscribing when it appears");
                }
                other => other?,
            }
        }
        Ok(())
    }

    async fn read_loop(&self, conn: &Conn) -> io::Result<()> {
        loop {
            let msg = match conn.read_message().await {
                Ok(m) => m,
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::InvalidData => {
                    // A well-framed message we cannot parse: skip it, the stream is intact.
                    log::warn!("ubus: ignoring malformed message: {e}");
                    continue;
                }
                Err(e) => return Err(e),
            };
            self.dispatch(conn, msg).await?;
        }
    }

    async fn dispatch(&self, conn: &Conn, msg: Message) -> io::Result<()> {
        let key = (msg.header.seq, msg.header.peer);
        match msg.header.kind {
            MsgType::Data => {
                if let Some(p) = conn.pending.borrow_mut().get_mut(&key) {
                    p.data.push(msg.attrs);
                }
            }
            MsgType::Status => {
                if let Some(p) = conn.pending.borrow_mut().remove(&key) {
                    let status = Status::from_code(
                        msg.attrs.status.unwrap_or(Status::InvalidArgument as i32),
                    );
                    let result = if status == Status::Ok {
                        Ok(p.data)
                    } else {
                        Err(status)
                    };
                    let _ = p.done.try_send(result);
                }
            }
            MsgType::Invoke => return self.serve_invoke(conn, msg).await,
            MsgType::Unsubscribe => {
                let roles = conn.roles.borrow();
                if let Some(Role::Subscriber(target)) =
                    msg.attrs.objid.and_then(|id| roles.get(&id))
                {
                    log::info!("ubus: {target} left the bus; resubscribing when it returns");
                }
            }
            // Subscriber-count changes and anything else need no action.
            _ => {}
        }
        Ok(())
    }

    async fn serve_invoke(&self, conn: &Conn, msg: Message) -> io::Result<()> {
        let Message { header, attrs } = msg;
        let objid = attrs.objid.unwrap_or(0);
        let method = attrs.method.unwrap_or_default();
        let args = attrs.data;
        let result: Reply = match conn.roles.borrow().get(&objid) {
            None => Err(Status::NotFound),
            Some(Role::Published(object)) => {
                match (object.methods.iter().any(|m| m.name == method), &args) {
                    (false, _) => Err(Status::MethodNotFound),
                    (true, None) => Err(Status::InvalidArgument),
                    (true, Some(args)) => (object.handler)(&method, args),
                }
            }
            Some(Role::Subscriber(object)) => {
                self.emit(BusEvent::Notification {
                    object: object.clone(),
                    kind: method.clone(),
                    data: blob::table_to_json(args.as_deref().unwrap_or_default()),
                });
                Ok(None)
            }
            Some(Role::Events) => {
                let data = blob::table_to_json(args.as_deref().unwrap_or_default());
                self.on_event(conn, &method, data);
                Ok(None)
            }
        };
        if attrs.no_reply == Some(true) {
            return Ok(());
        }
        let result = match result {
            Ok(Some(Answer::Later(answer))) => Ok(Some(answer.await)),
            other => other,
        };
        let table = match result {
            Ok(Some(Answer::Json(Value::Object(map)))) => {
                let mut table = Vec::new();
                blob::encode_table(&blob::table_from_json(&map), &mut table);
                Ok(Some(table))
            }
            Ok(Some(Answer::Blob(table))) => Ok(Some(table)),
            Ok(Some(Answer::Later(_))) => {
                log::error!("ubus: {method} answered a promise of a promise");
                Err(Status::UnknownError)
            }
            Ok(Some(Answer::Json(other))) => {
                // to_string, not Display: serde_json's Display is a second serializer.
                let other = serde_json::to_string(&other).unwrap_or_default();
                log::error!(
                    "ubus: {method} produced a non-object reply ({other}); answering Unknown error"
                );
                Err(Status::UnknownError)
            }
            Ok(None) => Ok(None),
            Err(status) => Err(status),
        };
        let status = match table {
            Ok(Some(table)) => {
                let data = Header {
                    kind: MsgType::Data,
                    ..header
                };
                match Message::data_frame(data, objid, &table) {
                    // A large frame goes out as the socket takes it; the executor runs on.
                    Ok(bytes) => {
                        conn.write_frame(&bytes).await?;
                        Status::Ok
                    }
                    // Too large for ubusd: fail this call, keep the connection.
                    Err(e) => {
                        log::error!("ubus: {method} reply dropped: {e}");
                        Status::UnknownError
                    }
                }
            }
            Ok(None) => Status::Ok,
            Err(status) => status,
        };
        let reply = Attrs {
            status: Some(status as i32),
            objid: Some(objid),
            ..Attrs::default()
        };
        conn.send_raw(&Message::new(
            MsgType::Status,
            header.seq,
            header.peer,
            reply,
        ))
        .await
    }

    fn on_event(&self, conn: &Conn, id: &str, data: Value) {
        let cfg = &self.inner.config;
        if id == OBJECT_ADD_EVENT {
            if let Some(path) = data.get("path").and_then(Value::as_str) {
                if cfg.subscriptions.iter().any(|s| s == path) {
                    let _ = conn.resubscribe.0.try_send(path.to_string());
                }
            }
        }
        if cfg.patterns.iter().any(|p| pattern_matches(p, id)) {
            self.emit(BusEvent::Event {
                id: id.to_string(),
                data,
            });
        }
    }
}

/// ubusd's event matching: exact, or a prefix when the pattern ends in `*`.
fn pattern_matches(pattern: &str, id: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => id.starts_with(prefix),
        None => pattern == id,
    }
}

impl Conn {
    fn next_seq(&self) -> u16 {
        let seq = self.seq.get().wrapping_add(1);
        self.seq.set(seq);
        seq
    }

    async fn read_message(&self) -> io::Result<Message> {
        let mut head = [0u8; wire::HEADER_LEN + blob::HEADER_LEN];
        (&self.stream).read_exact(&mut head).await?;
        // A bad header leaves no way to find the next frame: drop the connection.
        let total = wire::frame_len(&head)
            .map_err(|e| io::Error::new(io::ErrorKind::ConnectionAborted, e))?;
        let mut frame = head.to_vec();
        frame.resize(total, 0);
        (&self.stream).read_exact(&mut frame[head.len()..]).await?;
        Message::decode(&frame).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
    }

    async fn send_raw(&self, msg: &Message) -> io::Result<()> {
        self.write_frame(&msg.encode().map_err(io::Error::other)?)
            .await
    }

    /// Writes one whole frame; the lock keeps concurrent writers from interleaving.
    async fn write_frame(&self, bytes: &[u8]) -> io::Result<()> {
        let _guard = self.writing.lock().await;
        (&self.stream).write_all(bytes).await
    }

    async fn send(&self, msg: &Message) -> Result<(), CallError> {
        self.send_raw(msg).await.map_err(CallError::Io)
    }

    /// Sends a request and collects its DATA replies until the closing STATUS.
    async fn request(
        &self,
        kind: MsgType,
        peer: u32,
        attrs: Attrs,
    ) -> Result<Vec<Attrs>, CallError> {
        let seq = self.next_seq();
        let (tx, rx) = smol::channel::bounded(1);
        self.pending.borrow_mut().insert(
            (seq, peer),
            PendingRequest {
                data: Vec::new(),
                done: tx,
            },
        );
        if let Err(e) = self.send(&Message::new(kind, seq, peer, attrs)).await {
            self.pending.borrow_mut().remove(&(seq, peer));
            return Err(e);
        }
        let reply = async { rx.recv().await.map_err(|_| CallError::NotConnected) };
        let timeout = async {
            Timer::after(REQUEST_TIMEOUT).await;
            Err(CallError::Timeout)
        };
        let result = future::or(reply, timeout).await;
        self.pending.borrow_mut().remove(&(seq, peer));
        result?.map_err(CallError::Status)
    }

    async fn add_object(&self, attrs: Attrs) -> Result<u32, CallError> {
        let replies = self.request(MsgType::AddObject, 0, attrs).await?;
        replies
            .iter()
            .find_map(|a| a.objid)
            .ok_or(CallError::Status(Status::NoData))
    }

    async fn lookup(&self, path: &str) -> Result<u32, CallError> {
        let attrs = Attrs {
            objpath: Some(path.to_string()),
            ..Attrs::default()
        };
        let replies = self.request(MsgType::Lookup, 0, attrs).await?;
        replies
            .iter()
            .find(|a| a.objpath.as_deref() == Some(path))
            .and_then(|a| a.objid)
            .ok_or(CallError::Status(Status::NotFound))
    }

    async fn subscribe(&self, target: &str) -> Result<(), CallError> {
        let subscriber = self
            .roles
            .borrow()
            .iter()
            .find_map(|(id, r)| matches!(r, Role::Subscriber(t) if t == target).then_some(*id))
            .ok_or(CallError::Status(Status::NotFound))?;
        let target_id = self.lookup(target).await?;
        let attrs = Attrs {
            objid: Some(subscriber),
            target: Some(target_id),
            ..Attrs::default()
        };
        self.request(MsgType::Subscribe, 0, attrs).await?;
        log::info!("ubus: subscribed to {target}");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::pattern_matches;

    #[test]
    fn event_patterns_follow_ubusd() {
        assert!(pattern_matches("network.interface", "network.interface"));
        assert!(!pattern_matches(
            "network.interface",
            "network.interface.wan"
        ));
        assert!(pattern_matches("network.*", "network.interface"));
        assert!(pattern_matches("*", "anything"));
        assert!(!pattern_matches("network.*", "ubus.object.add"));
    }
}
