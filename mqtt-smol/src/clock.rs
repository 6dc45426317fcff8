//! Time for the driver, from smol's clock (async-io's timers on `std::time::Instant`).

use proto::Instant;
use proto::io::Clock;

/// The session's [`Instant`] as milliseconds since the clock was made.
#[derive(Debug, Clone, Copy)]
pub struct SmolClock {
    start: std::time::Instant,
}

impl SmolClock {
    /// A clock whose epoch is now.
    pub fn new() -> Self {
        Self {
            start: std::time::Instant::now(),
        }
    }
}

impl Default for SmolClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for SmolClock {
    fn now(&self) -> Instant {
        let millis = self.start.elapsed().as_millis();
        Instant::from_millis(u64::try_from(millis).unwrap_or(u64::MAX))
    }

    async fn sleep_until(&self, deadline: Instant) {
        let at = self.start + std::time::Duration::from_millis(deadline.as_millis());
        smol::Timer::at(at).await;
    }
}
