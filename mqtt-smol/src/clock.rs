//! Time for the driver, from smol's clock (async-io's timers on `std::time::Instant`).

use std::pin::Pin;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use proto::Instant;
use proto::io::Clock;
use smol::Timer;

/// Deadlines at least [`ROUNDED_FROM_MS`] away are rounded up to this: a timer is re-armed when the session's next
/// deadline moves to another tick, not on every packet sent (each moves the keep-alive deadline by a few
/// milliseconds).
const TICK_MS: u64 = 16;

/// Nearer deadlines are kept to the millisecond: a tick would be most of their wait (read batching waits 1 ms).
const ROUNDED_FROM_MS: u64 = 1000;

/// The session's [`Instant`] as milliseconds since the clock was made.
///
/// It keeps one async-io timer and re-arms it only when the deadline changes: the driver asks for a sleep at
/// every wait, and arming a timer each time costs system calls.
pub struct SmolClock {
    start: std::time::Instant,
    /// The timer, and the time it is armed for.
    timer: Mutex<Option<(Timer, std::time::Instant)>>,
}

impl SmolClock {
    /// A clock whose epoch is now.
    pub fn new() -> Self {
        Self {
            start: std::time::Instant::now(),
            timer: Mutex::new(None),
        }
    }
}

/// A clock with the same epoch and a timer of its own.
impl Clone for SmolClock {
    fn clone(&self) -> Self {
        Self {
            start: self.start,
            timer: Mutex::new(None),
        }
    }
}

impl Default for SmolClock {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for SmolClock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmolClock")
            .field("start", &self.start)
            .finish_non_exhaustive()
    }
}

impl Clock for SmolClock {
    fn now(&self) -> Instant {
        let millis = self.start.elapsed().as_millis();
        Instant::from_millis(u64::try_from(millis).unwrap_or(u64::MAX))
    }

    async fn sleep_until(&self, deadline: Instant) {
        let millis = deadline.as_millis();
        let millis = match millis.saturating_sub(self.now().as_millis()) >= ROUNDED_FROM_MS {
            true => millis.div_ceil(TICK_MS).saturating_mul(TICK_MS),
            false => millis,
        };
        let at = self.start + Duration::from_millis(millis);
        std::future::poll_fn(|cx| {
            // A timer that fired does not fire again: past its time, the sleep is over without it.
            if std::time::Instant::now() >= at {
                return std::task::Poll::Ready(());
            }
            let mut timer = self.timer.lock().unwrap_or_else(PoisonError::into_inner);
            let (timer, armed) = timer.get_or_insert_with(|| (Timer::at(at), at));
            if *armed != at {
                timer.set_at(at);
                *armed = at;
            }
            Pin::new(timer).poll(cx).map(drop)
        })
        .await;
    }
}
