//! Everything that can wake the daemon, behind one `next()`: the tasks that read the
//! control socket, signals, ubus and netifd (spawned here), the kernel's events (routing
//! and nftables), and the timers the loop arms (status refresh, hook polling, a reconcile
//! retry, the end of a netifd-restart hold).

use std::cell::RefCell;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use async_io::Timer;
use async_signal::Signal;
use futures_lite::{FutureExt, StreamExt};
use smol::channel::{Receiver, Sender};

use super::control::{self, Incoming};
use crate::config::Config;
use crate::dataplane::nftwatch::{Gone, NftWatch};
use crate::dataplane::watch::{self, Watch};
use crate::health::engine::{self, Engine};
use crate::health::wake::WakeTimer;
use crate::history::History;
use crate::openwrt::watch::{self as netifd_watch, Update};
use crate::openwrt::{client as ubus, object};

/// How often the status snapshot (ubus, LuCI) is refreshed; the conntrack counts every
/// fifth time, when the snapshot was read meanwhile.
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
    /// Time to refresh the status snapshot.
    Refresh,
    /// Time to check the running hooks.
    HookPoll,
    /// A netifd restart's grace ran out for some held uplink.
    HoldOver,
}

/// What the daemon keeps of the shell spawned here.
pub struct Shell {
    pub bus: ubus::Client,
    /// The status document ubus `status` answers from, at once.
    pub snapshot: Rc<control::Snapshot>,
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
    /// The status refresh, due at `tick_at`: a timer of the daemon's own thread, set on the
    /// engine's slots so that it fires with a probing wake-up instead of waking the thread
    /// (and async-io's) on its own (docs/health.md, "Cost").
    tick: WakeTimer,
    tick_at: Option<Instant>,
    /// Armed only while a hook runs: an idle daemon has no reason to wake 5 times a second.
    hook_tick: Timer,
    hooks_polled: bool,
    hold_over: Timer,
    hold_deadline: Option<Instant>,
    retry: Timer,
    retry_due: Option<Instant>,
    woken: Arc<Flag>,
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
    let snapshot = Rc::new(control::Snapshot::default());
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
        tick: WakeTimer::new().map_err(|e| format!("status timer: {e}"))?,
        tick_at: None,
        hook_tick: Timer::never(),
        hooks_polled: false,
        hold_over: Timer::never(),
        hold_deadline: None,
        retry: Timer::never(),
        retry_due: None,
        woken: Arc::default(),
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
    snapshot: &Rc<control::Snapshot>,
    history: &Rc<RefCell<History>>,
    known: &Rc<RefCell<Config>>,
    bus_tx: smol::channel::Sender<object::Request>,
) -> ubus::Object {
    let (snap, hist, shared) = (snapshot.clone(), history.clone(), known.clone());
    object::object(
        move |req| super::names_known(&shared.borrow(), req),
        move |req| match req {
            object::Request::Status => Ok(Some(snap.read().clone().into())),
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

/// A future polled only when its own waker fired since its last poll (and at its first):
/// the engine wakes the thread ten and more times a second, and those wake-ups need not
/// poll the daemon's nine other inputs (docs/health.md, "Cost"). The flag outlives the
/// future, so the inputs see the same waker every time and async-io's timers are not
/// registered anew (which wakes async-io's thread).
struct Woken<'a, F> {
    inner: F,
    flag: &'a Arc<Flag>,
    first: bool,
}

/// Whether the inner future's waker fired, and the waker of the task polling `Woken`.
#[derive(Default)]
struct Flag {
    woken: AtomicBool,
    outer: Mutex<Option<Waker>>,
}

impl Wake for Flag {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::SeqCst);
        if let Some(w) = self
            .outer
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
        {
            w.wake_by_ref();
        }
    }
}

impl<'a, F> Woken<'a, F> {
    fn new(inner: F, flag: &'a Arc<Flag>) -> Self {
        Woken {
            inner,
            flag,
            first: true,
        }
    }
}

impl<F: Future + Unpin> Future for Woken<'_, F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        {
            let mut outer = self.flag.outer.lock().unwrap_or_else(|e| e.into_inner());
            if !outer.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                *outer = Some(cx.waker().clone());
            }
        }
        if !std::mem::take(&mut self.first) && !self.flag.woken.swap(false, Ordering::SeqCst) {
            return Poll::Pending;
        }
        let waker = Waker::from(Arc::clone(self.flag));
        Pin::new(&mut self.inner).poll(&mut Context::from_waker(&waker))
    }
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
        if self.tick_at.is_none() {
            let at = engine.aligned(REFRESH);
            self.tick.set(Some(at));
            self.tick_at = Some(at);
        }
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
        let (tick, tick_at, hook_tick) = (&mut self.tick, &mut self.tick_at, &mut self.hook_tick);
        let timers = futures_lite::future::or(
            async {
                std::future::poll_fn(|cx| tick.poll(cx)).await;
                *tick_at = None;
                Input::Refresh
            },
            async {
                hook_tick.next().await;
                Input::HookPoll
            },
        );
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
        let rest = kernel
            .or(nft_gone)
            .or(control)
            .or(signal)
            .or(netifd)
            .or(request)
            .or(retry)
            .or(timers)
            .or(held);
        health
            .or(Woken::new(std::pin::pin!(rest), &self.woken))
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    /// Counts its polls and keeps the waker it was last polled with.
    struct Probe<'a> {
        polls: &'a Cell<u32>,
        waker: &'a RefCell<Option<Waker>>,
    }

    impl Future for Probe<'_> {
        type Output = ();
        fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
            self.polls.set(self.polls.get() + 1);
            *self.waker.borrow_mut() = Some(cx.waker().clone());
            Poll::Pending
        }
    }

    #[test]
    fn woken_polls_its_future_only_after_its_own_waker_fired() {
        let (polls, inner_waker) = (Cell::new(0), RefCell::new(None));
        let flag = Arc::default();
        let probe = Probe {
            polls: &polls,
            waker: &inner_waker,
        };
        let mut woken = Woken::new(probe, &flag);
        let outer = Arc::new(Flag::default()); // stands for the daemon's task
        let waker = Waker::from(outer.clone());
        let mut cx = Context::from_waker(&waker);
        let mut poll = || Pin::new(&mut woken).poll(&mut cx);

        assert!(poll().is_pending());
        assert_eq!(polls.get(), 1, "polled at first");
        assert!(poll().is_pending());
        assert_eq!(polls.get(), 1, "another waker's wake-up: not polled");

        inner_waker.borrow().as_ref().unwrap().wake_by_ref();
        assert!(outer.woken.load(Ordering::SeqCst), "the task is woken");
        assert!(poll().is_pending());
        assert_eq!(polls.get(), 2, "its own waker fired: polled");

        // The next turn of the loop builds its inputs anew: they see the same waker, so
        // async-io does not register its timers again.
        let first = inner_waker.borrow().clone().unwrap();
        let probe = Probe {
            polls: &polls,
            waker: &inner_waker,
        };
        let mut next = Woken::new(probe, &flag);
        assert!(Pin::new(&mut next).poll(&mut cx).is_pending());
        assert!(first.will_wake(inner_waker.borrow().as_ref().unwrap()));
    }
}
