//! Time for the driver, from tokio's clock (so that `tokio::time::pause` works in tests).

use std::pin::Pin;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use proto::Instant;
use proto::io::Clock;
use tokio::time::Sleep;

/// Deadlines at least [`ROUNDED_FROM_MS`] away are rounded up to this: a timer is re-armed when the session's next
/// deadline moves to another tick, not on every packet sent (each moves the keep-alive deadline by a few
/// milliseconds).
const TICK_MS: u64 = 16;

/// Nearer deadlines are kept to the millisecond: a tick would be most of their wait (read batching waits 1 ms).
const ROUNDED_FROM_MS: u64 = 1000;

/// The session's [`Instant`] as milliseconds since the clock was made.
///
/// It keeps one tokio timer and re-arms it only when the deadline changes: the driver asks for a sleep at every
/// wait, and creating a timer each time costs more than the rest of a small message's path.
pub struct TokioClock {
    start: tokio::time::Instant,
    timer: Mutex<Option<Pin<Box<Sleep>>>>,
}

impl TokioClock {
    /// A clock whose epoch is now.
    pub fn new() -> Self {
        Self {
            start: tokio::time::Instant::now(),
            timer: Mutex::new(None),
        }
    }
}

/// A clock with the same epoch and a timer of its own.
impl Clone for TokioClock {
    fn clone(&self) -> Self {
        Self {
            start: self.start,
            timer: Mutex::new(None),
        }
    }
}

impl Default for TokioClock {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for TokioClock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokioClock")
            .field("start", &self.start)
            .finish_non_exhaustive()
    }
}

impl Clock for TokioClock {
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
            if tokio::time::Instant::now() >= at {
                return std::task::Poll::Ready(());
            }
            let mut timer = self.timer.lock().unwrap_or_else(PoisonError::into_inner);
            let sleep = timer.get_or_insert_with(|| Box::pin(tokio::time::sleep_until(at)));
            if sleep.deadline() != at {
                sleep.as_mut().reset(at);
            }
            sleep.as_mut().poll(cx)
        })
        .await;
    }
}
