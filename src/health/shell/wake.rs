//! The engine's timer: a timerfd the reactor watches. Re-arming it is one system call on
//! the daemon's thread. Re-arming an async-io `Timer` also wakes the reactor's thread to
//! recompute its timeout (an eventfd write and read, a second epoll_wait and a context
//! switch on every wake-up of the engine; docs/bench.md, cost).

use async_io::Async;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

pub struct WakeTimer {
    fd: Async<OwnedFd>,
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
        while self.fd.poll_readable(cx).is_ready() {
            let mut expirations = 0u64;
            // SAFETY: reads at most 8 bytes into a u64.
            let n = unsafe {
                libc::read(
                    self.fd.as_raw_fd(),
                    (&mut expirations as *mut u64).cast(),
                    std::mem::size_of::<u64>(),
                )
            };
            if n == std::mem::size_of::<u64>() as isize {
                return Poll::Ready(());
            }
            // EAGAIN: readiness from before the timer was set again; wait for the next.
        }
        Poll::Pending
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
}
