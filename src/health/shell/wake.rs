//! The engine's timer, and the loop the daemon's thread waits in. The timer is a timerfd;
//! re-arming it is one system call on the daemon's thread. Under `block_on` the thread
//! waits for it itself, in one `poll(2)` with an eventfd for every other waker: a wake-up of
//! the engine is then one return from `poll`, with async-io's thread left asleep in its own
//! `epoll_wait` (the reactor still serves every other socket and timer, and wakes the loop
//! through the eventfd). Elsewhere (tests driving the engine under another executor) the
//! timerfd is watched by the reactor like any other source.
//! Why: docs/health.md, "Cost".

use async_io::Async;
use std::cell::RefCell;
use std::future::Future;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

pub struct WakeTimer {
    fd: Async<OwnedFd>,
}

/// A timer `block_on` waits for on this thread: its descriptor, the waker of the task
/// polling it, and whether `poll` found it readable since.
struct Watched {
    fd: RawFd,
    waker: Option<Waker>,
    fired: bool,
}

thread_local! {
    /// The timers of this thread's `block_on`; None when the thread is not in one.
    static WATCHED: RefCell<Option<Vec<Watched>>> = const { RefCell::new(None) };
}

impl WakeTimer {
    pub fn new() -> io::Result<WakeTimer> {
        let flags = libc::TFD_NONBLOCK | libc::TFD_CLOEXEC;
        // SAFETY: no pointers; the result is checked.
        let raw = unsafe { libc::timerfd_create(libc::CLOCK_MONOTONIC, flags) };
        if raw < 0 {
            return Err(io::Error::other(format!(
                "timerfd_create: {}",
                io::Error::last_os_error()
            )));
        }
        // SAFETY: a descriptor just created, owned by nothing else.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        Ok(WakeTimer {
            fd: Async::new(fd)?,
        })
    }

    /// Fire at `at` (at once if it passed), or never (None).
    pub fn set(&mut self, at: Option<Instant>) {
        // An expiry `block_on` saw is gone with the old setting: no read is needed for it.
        let fd = self.fd.as_raw_fd();
        WATCHED.with_borrow_mut(|w| {
            let w = w.iter_mut().flatten();
            w.filter(|t| t.fd == fd).for_each(|t| t.fired = false);
        });
        // A zero it_value disarms the timer: a deadline that passed fires in a nanosecond.
        let after = at.map_or(Duration::ZERO, |at| {
            at.saturating_duration_since(Instant::now())
                .max(Duration::from_nanos(1))
        });
        let zero = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        let spec = libc::itimerspec {
            it_interval: zero,
            it_value: libc::timespec {
                tv_sec: after.as_secs() as _,
                tv_nsec: after.subsec_nanos() as _,
            },
        };
        // SAFETY: a valid timerfd and a fully initialised itimerspec; the old value is not
        // asked for. It cannot fail with these arguments.
        unsafe { libc::timerfd_settime(self.fd.as_raw_fd(), 0, &spec, std::ptr::null_mut()) };
    }

    /// Ready once the timer fired since it was last set; registers for the wake-up if not.
    pub fn poll(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let fd = self.fd.as_raw_fd();
        let watched = WATCHED.with_borrow_mut(|w| {
            let w = w.as_mut()?;
            let i = w.iter().position(|t| t.fd == fd).unwrap_or_else(|| {
                w.push(Watched {
                    fd,
                    waker: None,
                    fired: false,
                });
                w.len() - 1
            });
            if std::mem::take(&mut w[i].fired) && self.expired() {
                return Some(Poll::Ready(()));
            }
            if !w[i].waker.as_ref().is_some_and(|k| k.will_wake(cx.waker())) {
                w[i].waker = Some(cx.waker().clone());
            }
            Some(Poll::Pending)
        });
        watched.unwrap_or_else(|| {
            while self.fd.poll_readable(cx).is_ready() {
                if self.expired() {
                    return Poll::Ready(());
                }
                // Readiness from before the timer was set again; wait for the next.
            }
            Poll::Pending
        })
    }

    /// Reads the expirations: true when the timer fired since it was last set.
    fn expired(&self) -> bool {
        let mut expirations = 0u64;
        // SAFETY: reads at most 8 bytes into a u64.
        let n = unsafe {
            libc::read(
                self.fd.as_raw_fd(),
                (&mut expirations as *mut u64).cast(),
                std::mem::size_of::<u64>(),
            )
        };
        n == std::mem::size_of::<u64>() as isize
    }
}

impl Drop for WakeTimer {
    fn drop(&mut self) {
        let fd = self.fd.as_raw_fd();
        WATCHED.with_borrow_mut(|w| {
            if let Some(w) = w {
                w.retain(|t| t.fd != fd);
            }
        });
    }
}

/// Wakes `block_on`'s thread: a flag, and an eventfd write when the thread sleeps in
/// `poll` (a wake from the thread itself, while it runs, costs no system call).
struct Signal {
    fd: OwnedFd,
    woken: AtomicBool,
    sleeping: AtomicBool,
}

impl Wake for Signal {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::SeqCst);
        if self.sleeping.load(Ordering::SeqCst) {
            let one = 1u64;
            // SAFETY: writes 8 bytes from a u64 to an eventfd; a full counter (EAGAIN)
            // leaves it readable, which is all the write is for.
            unsafe { libc::write(self.fd.as_raw_fd(), (&one as *const u64).cast(), 8) };
        }
    }
}

/// Runs `future` to completion on this thread, waiting in `poll(2)` for the engine's
/// timers (`WakeTimer`s polled under it) and for any other waker (see the module's doc).
/// Fails only when the kernel refuses an eventfd.
pub fn block_on<T>(future: impl Future<Output = T>) -> io::Result<T> {
    // SAFETY: no pointers; the result is checked.
    let raw = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
    if raw < 0 {
        return Err(io::Error::other(format!(
            "eventfd: {}",
            io::Error::last_os_error()
        )));
    }
    let signal = Arc::new(Signal {
        // SAFETY: a descriptor just created, owned by nothing else.
        fd: unsafe { OwnedFd::from_raw_fd(raw) },
        woken: AtomicBool::new(false),
        sleeping: AtomicBool::new(false),
    });
    let waker = Waker::from(signal.clone());
    let mut cx = Context::from_waker(&waker);
    let mut future = pin!(future);
    let outer = WATCHED.with_borrow_mut(|w| w.replace(Vec::new()));
    let mut fds: Vec<libc::pollfd> = Vec::new();
    let result = loop {
        signal.woken.store(false, Ordering::SeqCst);
        if let Poll::Ready(t) = future.as_mut().poll(&mut cx) {
            break t;
        }
        fds.clear();
        fds.push(pollin(signal.fd.as_raw_fd()));
        // A timer that fired is left out until its task has seen it (polled it again).
        WATCHED.with_borrow(|w| {
            let waiting = w.iter().flatten().filter(|t| !t.fired);
            fds.extend(waiting.map(|t| pollin(t.fd)));
        });
        signal.sleeping.store(true, Ordering::SeqCst);
        if !signal.woken.load(Ordering::SeqCst) {
            // SAFETY: `fds` holds `len` initialised pollfd entries the kernel may update.
            // EINTR: look again.
            unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, -1) };
        }
        signal.sleeping.store(false, Ordering::SeqCst);
        if fds[0].revents != 0 {
            let mut count = 0u64;
            // SAFETY: reads 8 bytes into a u64 from the eventfd (resets it).
            unsafe { libc::read(fds[0].fd, (&mut count as *mut u64).cast(), 8) };
        }
        let fired: Vec<Waker> = WATCHED.with_borrow_mut(|w| {
            let w = w.iter_mut().flatten();
            let ready = |t: &Watched| fds[1..].iter().any(|p| p.fd == t.fd && p.revents != 0);
            w.filter(|t| ready(t))
                .filter_map(|t| {
                    t.fired = true;
                    t.waker.take()
                })
                .collect()
        });
        fired.into_iter().for_each(Waker::wake);
    };
    WATCHED.with_borrow_mut(|w| *w = outer);
    Ok(result)
}

fn pollin(fd: RawFd) -> libc::pollfd {
    libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::future::poll_fn;

    fn fired_within(t: &mut WakeTimer, limit: Duration) -> bool {
        let fired = async {
            poll_fn(|cx| t.poll(cx)).await;
            true
        };
        let late = async {
            async_io::Timer::after(limit).await;
            false
        };
        futures_lite::future::block_on(futures_lite::future::or(fired, late))
    }

    #[test]
    fn fires_at_the_instant_set_never_when_disarmed_and_after_a_reset() {
        let mut t = WakeTimer::new().unwrap();
        let start = Instant::now();
        t.set(Some(start + Duration::from_millis(30)));
        assert!(fired_within(&mut t, Duration::from_secs(2)));
        assert!(start.elapsed() >= Duration::from_millis(30), "not early");

        t.set(None);
        assert!(!fired_within(&mut t, Duration::from_millis(50)), "disarmed");

        // Set far away, then moved closer: the later set counts.
        t.set(Some(Instant::now() + Duration::from_secs(60)));
        t.set(Some(Instant::now() + Duration::from_millis(10)));
        assert!(fired_within(&mut t, Duration::from_secs(2)));
        // A deadline that passed fires at once.
        t.set(Some(start));
        assert!(fired_within(&mut t, Duration::from_millis(500)));
    }

    #[test]
    fn block_on_waits_for_the_timer_itself_and_never_spins_on_one_left_unpolled() {
        let mut t = WakeTimer::new().unwrap();
        let fd = t.fd.as_raw_fd();
        let polls = std::cell::Cell::new(0u32);
        let start = Instant::now();
        let work = async {
            t.set(Some(start + Duration::from_millis(20)));
            poll_fn(|cx| t.poll(cx)).await;
            assert!(start.elapsed() >= Duration::from_millis(20), "not early");
            let watched = WATCHED.with_borrow(|w| w.iter().flatten().any(|x| x.fd == fd));
            assert!(watched, "block_on waits for the timer, not the reactor");
            // The timer fires while its task waits for something else: the loop must not
            // wake again and again for it.
            t.set(Some(Instant::now()));
            assert!(poll_fn(|cx| Poll::Ready(t.poll(cx))).await.is_pending());
            polls.set(0);
            async_io::Timer::after(Duration::from_millis(100)).await;
            assert!(polls.get() < 10, "{} polls in 100 ms", polls.get());
            // It is still seen once polled again.
            poll_fn(|cx| t.poll(cx)).await;
        };
        let mut work = std::pin::pin!(work);
        let counted = poll_fn(|cx| {
            polls.set(polls.get() + 1);
            work.as_mut().poll(cx)
        });
        let finished = block_on(futures_lite::future::or(
            async {
                counted.await;
                true
            },
            async {
                async_io::Timer::after(Duration::from_secs(5)).await;
                false
            },
        ));
        assert!(finished.unwrap(), "the timer was seen");
    }
}
