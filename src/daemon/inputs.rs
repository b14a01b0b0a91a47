//! Everything that can wake the daemon, behind one `next()`: the tasks that read the
//! control socket, signals, ubus and netifd (spawned here), the kernel's events (routing
//! and nftables), and the timers the loop arms (status refresh, hook polling, a reconcile
//! retry, the end of a netifd-restart hold).

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::{Duration, Instant};

use async_io::Timer;
use async_signal::Signal;
use futures_lite::{FutureExt, StreamExt};
use serde_json::Value;
use smol::channel::{Receiver, Sender};

use super::control::{self, Incoming};
use crate::config::Config;
use crate::dataplane::nftwatch::{Gone, NftWatch};
use crate::dataplane::watch::{self, Watch};
use crate::health::engine::{self, Engine};
use crate::history::History;
use crate::openwrt::watch::{self as netifd_watch, Update};
use crate::openwrt::{client as ubus, object};

/// How often the status snapshot (ubus, LuCI) and the conntrack counts are refreshed.
pub const REFRESH: Duration = Duration::from_secs(2);
/// How often running hooks are checked.
const HOOK_POLL: Duration = Duration::from_millis(200);

/// One thing that woke the daemon.
pub enum Input {
    Health(engine::Event),
    Kernel(Option<watch::Event>),
    /// `inet rail` was deleted by someone else, or may have been.
    NftGone(Gone),
    /// A failed reconcile is due to be tried again.
    Retry,
    Control(Incoming),
    Netifd(Update),
    Ubus(object::Request),
    Signal(Signal),
    Tick,
    /// A netifd restart's grace ran out for some held uplink.
    HoldOver,
}

/// What the daemon keeps of the shell spawned here.
pub struct Shell {
    pub bus: ubus::Client,
    /// The status document ubus `status` answers from, at once.
    pub snapshot: Rc<RefCell<Value>>,
    /// The recorder ubus `history` answers from, at once.
    pub history: Rc<RefCell<History>>,
    /// The interface names netifd is followed for (changes on reload).
    pub followed: Rc<RefCell<Vec<String>>>,
    /// The configuration, for the ubus object to refuse interfaces it does not have.
    pub known: Rc<RefCell<Config>>,
    /// Asks the netifd follower to read an interface's status again (`None`: all).
    pub refresh: Sender<Option<String>>,
}

pub struct Inputs {
    watch: Watch,
    nft_watch: NftWatch,
    control: Receiver<Incoming>,
    signals: Receiver<Signal>,
    requests: Receiver<object::Request>,
    netifd: Receiver<Update>,
    tick: Timer,
    /// Armed only while a hook runs: an idle daemon has no reason to wake 5 times a second.
    hook_tick: Timer,
    hooks_polled: bool,
    hold_over: Timer,
    hold_deadline: Option<Instant>,
    retry: Timer,
    retry_due: Option<Instant>,
}

/// A ubus history answer written a series at a time, the executor running its other tasks
/// (probes, failover) between them.
async fn history_answer(
    history: Rc<RefCell<History>>,
    mut answer: crate::history::view::Answer,
) -> ubus::Answer {
    loop {
        if let Some(table) = answer.step(&history.borrow()) {
            return ubus::Answer::Blob(table);
        }
        smol::future::yield_now().await;
    }
}

/// Binds the control socket and spawns the tasks reading it, the signals, ubus (publishing
/// `rail`, which answers for the interfaces `known` names) and netifd (for the interfaces
/// `followed` names).
pub fn spawn(
    ex: &Rc<smol::LocalExecutor<'static>>,
    ubus_socket: Option<PathBuf>,
    run_dir: &Path,
    followed: Vec<String>,
    known: Config,
) -> Result<(Inputs, Shell), String> {
    let watch = Watch::open().map_err(|e| e.to_string())?;
    let nft_watch = NftWatch::open().map_err(|e| e.to_string())?;
    let signals = spawn_signals(ex)?;

    // ubus and the control socket: status from the snapshot, history (on ubus) from the
    // recorder; everything else goes through the loop.
    let snapshot = Rc::new(RefCell::new(Value::Null));
    let history = Rc::new(RefCell::new(History::default()));
    let (ctl_tx, control) = smol::channel::unbounded();
    let control_path = control::path(run_dir);
    let listener = control::bind(&control_path)
        .map_err(|e| format!("control socket {}: {e}", control_path.display()))?;
    let limits = control::Limits::of_process();
    let daemon = control::Daemon {
        requests: ctl_tx,
        snapshot: snapshot.clone(),
    };
    ex.spawn(control::serve(listener, daemon, limits, ex.clone()))
        .detach();
    let (bus_tx, requests) = smol::channel::unbounded::<object::Request>();
    let known = Rc::new(RefCell::new(known));
    let rail_object = rail_object(&snapshot, &history, &known, bus_tx);
    let bus = ubus::Client::new(netifd_watch::client_config(ubus::Config {
        objects: vec![rail_object],
        sockets: ubus_socket.into_iter().collect(),
        ..Default::default()
    }));
    let runner = bus.clone();
    ex.spawn(async move { runner.run().await }).detach();

    let followed = Rc::new(RefCell::new(followed));
    let (netifd_tx, netifd) = smol::channel::unbounded::<Update>();
    let (refresh, refresh_rx) = smol::channel::unbounded::<Option<String>>();
    let (follower, names) = (bus.clone(), followed.clone());
    ex.spawn(async move {
        let apply = |u| {
            let _ = netifd_tx.try_send(u);
        };
        netifd_watch::follow(&follower, || names.borrow().clone(), apply, refresh_rx).await;
    })
    .detach();

    let inputs = Inputs {
        watch,
        nft_watch,
        control,
        signals,
        requests,
        netifd,
        tick: Timer::interval(REFRESH),
        hook_tick: Timer::never(),
        hooks_polled: false,
        hold_over: Timer::never(),
        hold_deadline: None,
        retry: Timer::never(),
        retry_due: None,
    };
    let shell = Shell {
        bus,
        snapshot,
        history,
        followed,
        known,
        refresh,
    };
    Ok((inputs, shell))
}

/// The `rail` ubus object: status from the snapshot and history from the recorder, answered
/// here; every other request goes to the loop through `bus_tx`.
fn rail_object(
    snapshot: &Rc<RefCell<Value>>,
    history: &Rc<RefCell<History>>,
    known: &Rc<RefCell<Config>>,
    bus_tx: smol::channel::Sender<object::Request>,
) -> ubus::Object {
    let (snap, hist, shared) = (snapshot.clone(), history.clone(), known.clone());
    object::object(
        move |req| super::names_known(&shared.borrow(), req),
        move |req| match req {
            object::Request::Status => Ok(Some(snap.borrow().clone().into())),
            object::Request::History {
                interface,
                family,
                span,
                chart,
            } => {
                let (history, interface, family) = (
                    &mut hist.borrow_mut(),
                    interface.as_deref(),
                    family.as_deref(),
                );
                Ok(Some(if chart {
                    super::history_chart(&super::history_view(history, interface, family, span))
                        .into()
                } else {
                    history.advance(super::unix_now());
                    let limit = crate::openwrt::wire::MAX_DATA_LEN;
                    let answer = history.answer(interface, family, span, limit);
                    ubus::Answer::Later(Box::pin(history_answer(hist.clone(), answer)))
                }))
            }
            other => {
                let _ = bus_tx.try_send(other);
                Ok(None)
            }
        },
    )
}

/// Signals reach the loop through a channel: a `signals.next()` rebuilt on every pass of
/// the loop would try a read of the signal socket on every probe (EAGAIN).
fn spawn_signals(ex: &Rc<smol::LocalExecutor<'static>>) -> Result<Receiver<Signal>, String> {
    let mut signals = async_signal::Signals::new([Signal::Hup, Signal::Term, Signal::Int])
        .map_err(|e| format!("installing signal handlers: {e}"))?;
    let (sig_tx, sig_rx) = smol::channel::unbounded::<Signal>();
    ex.spawn(async move {
        loop {
            match signals.next().await {
                Some(Ok(s)) => {
                    if sig_tx.send(s).await.is_err() {
                        return;
                    }
                }
                Some(Err(e)) => {
                    log::error!("reading signals: {e}; SIGHUP and SIGTERM are ignored from now on");
                    return;
                }
                None => return,
            }
        }
    })
    .detach();
    Ok(sig_rx)
}

/// The next message of `rx`; never, once it is closed.
async fn recv<T>(rx: &Receiver<T>) -> T {
    match rx.recv().await {
        Ok(v) => v,
        Err(_) => futures_lite::future::pending().await,
    }
}

impl Inputs {
    /// Waits for the next input (the health engine's events among them).
    pub async fn next(&mut self, engine: &mut Engine) -> Input {
        let health = async { Input::Health(engine.next().await) };
        let kernel = async { Input::Kernel(self.watch.next().await) };
        let nft_watch = &mut self.nft_watch;
        let nft_gone = async {
            match nft_watch.deleted().await {
                Some(gone) => Input::NftGone(gone),
                None => futures_lite::future::pending().await,
            }
        };
        let control = async { Input::Control(recv(&self.control).await) };
        let signal = async { Input::Signal(recv(&self.signals).await) };
        let netifd = async { Input::Netifd(recv(&self.netifd).await) };
        let request = async { Input::Ubus(recv(&self.requests).await) };
        let (tick, hook_tick) = (&mut self.tick, &mut self.hook_tick);
        let timers = async {
            futures_lite::future::or(
                async {
                    tick.next().await;
                },
                async {
                    hook_tick.next().await;
                },
            )
            .await;
            Input::Tick
        };
        let hold_over = &mut self.hold_over;
        let held = async {
            hold_over.await;
            Input::HoldOver
        };
        let retry_timer = &mut self.retry;
        let retry = async {
            retry_timer.await;
            Input::Retry
        };
        health
            .or(kernel)
            .or(nft_gone)
            .or(control)
            .or(signal)
            .or(netifd)
            .or(request)
            .or(retry)
            .or(timers)
            .or(held)
            .await
    }

    /// Arms the timers the daemon's state asks for: hook polling while `hooks_busy`, a
    /// wake-up when a failed reconcile is due again (`retry_due`) and when the oldest
    /// netifd-restart hold runs out.
    pub fn arm(
        &mut self,
        hooks_busy: bool,
        retry_due: Option<Instant>,
        hold_deadline: Option<Instant>,
    ) {
        if retry_due != self.retry_due {
            self.retry_due = retry_due;
            self.retry = retry_due.map_or_else(Timer::never, Timer::at);
        }
        if hold_deadline != self.hold_deadline {
            self.hold_deadline = hold_deadline;
            self.hold_over = hold_deadline.map_or_else(Timer::never, Timer::at);
        }
        if hooks_busy != self.hooks_polled {
            self.hooks_polled = hooks_busy;
            self.hook_tick = if hooks_busy {
                Timer::interval(HOOK_POLL)
            } else {
                Timer::never()
            };
        }
    }
}
