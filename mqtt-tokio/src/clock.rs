//! Time for the driver, from tokio's clock (so that `tokio::time::pause` works in tests).

use proto::Instant;
use proto::io::Clock;

/// The session's [`Instant`] as milliseconds since the clock was made.
#[derive(Debug, Clone, Copy)]
pub struct TokioClock {
    start: tokio::time::Instant,
}

impl TokioClock {
    /// A clock whose epoch is now.
    pub fn new() -> Self {
        Self {
            start: tokio::time::Instant::now(),
        }
    }
}

impl Default for TokioClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for TokioClock {
    fn now(&self) -> Instant {
        let millis = self.start.elapsed().as_millis();
        Instant::from_millis(u64::try_from(millis).unwrap_or(u64::MAX))
    }

    async fn sleep_until(&self, deadline: Instant) {
        let at = self.start + std::time::Duration::from_millis(deadline.as_millis());
        tokio::time::sleep_until(at).await;
    }
}
