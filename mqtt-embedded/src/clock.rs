//! Time for the runner: the core's [`Clock`] trait, and [`EmbassyClock`] on embassy-time (feature `embassy-time`).

pub use proto::io::Clock;

/// The embassy-time clock: milliseconds of `embassy_time::Instant`, sleeps with `embassy_time::Timer`.
#[cfg(feature = "embassy-time")]
#[derive(Debug, Clone, Copy, Default)]
pub struct EmbassyClock;

#[cfg(feature = "embassy-time")]
impl Clock for EmbassyClock {
    fn now(&self) -> proto::Instant {
        proto::Instant::from_millis(embassy_time::Instant::now().as_millis())
    }

    async fn sleep_until(&self, deadline: proto::Instant) {
        let at = embassy_time::Instant::try_from_millis(deadline.as_millis());
        embassy_time::Timer::at(at.unwrap_or(embassy_time::Instant::MAX)).await;
    }
}
