//! [`FakeClock`]: virtual time that moves only when a test (or the [`Sim`](crate::Sim)) moves it.

use core::time::Duration;

use mqtt_core::Instant;

/// A clock that never reads the system time: it shows the [`Instant`] it was last set to.
///
/// Time only goes forward: setting it to an earlier instant leaves it where it is, so a session driven with it
/// always sees monotonic time.
///
/// ```
/// use core::time::Duration;
/// use mqtt_core::Instant;
/// use mqtt_test::FakeClock;
///
/// let mut clock = FakeClock::new(Instant::from_millis(500));
/// clock.advance(Duration::from_secs(2));
/// assert_eq!(clock.now(), Instant::from_millis(2_500));
/// clock.advance_to(Instant::from_millis(100)); // the past: ignored
/// assert_eq!(clock.now(), Instant::from_millis(2_500));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FakeClock {
    now: Instant,
}

impl FakeClock {
    /// A clock showing `start`.
    pub fn new(start: Instant) -> Self {
        Self { now: start }
    }

    /// The current virtual time.
    pub fn now(&self) -> Instant {
        self.now
    }

    /// Moves the clock forward by `by` and returns the new time.
    pub fn advance(&mut self, by: Duration) -> Instant {
        self.now += by;
        self.now
    }

    /// Moves the clock forward to `at` (a no-op if `at` is not later) and returns the new time.
    pub fn advance_to(&mut self, at: Instant) -> Instant {
        self.now = self.now.max(at);
        self.now
    }
}
