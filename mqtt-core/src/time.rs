//! Time as the session sees it: an [`Instant`] of milliseconds since an arbitrary epoch, passed in by the caller.
//!
//! The core never reads a clock. Bindings turn their runtime's clock into [`Instant`]s (see the driver's `Clock`
//! trait); tests use a fake clock and jump straight to the next deadline.

use core::fmt;
use core::ops::{Add, AddAssign, Sub};
use core::time::Duration;

/// A point in time, in milliseconds since an arbitrary epoch chosen by the caller.
///
/// Only differences between instants mean anything. Arithmetic saturates instead of overflowing.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Instant(u64);

impl Instant {
    /// The epoch itself.
    pub const ZERO: Self = Self(0);

    /// The instant `millis` milliseconds after the epoch.
    pub const fn from_millis(millis: u64) -> Self {
        Self(millis)
    }

    /// Milliseconds since the epoch.
    pub const fn as_millis(self) -> u64 {
        self.0
    }

    /// The time from `earlier` to `self`, or zero if `earlier` is later.
    pub fn saturating_duration_since(self, earlier: Self) -> Duration {
        duration_from_millis(self.0.saturating_sub(earlier.0))
    }

    /// `self + duration`, saturating at the end of time.
    pub fn saturating_add(self, duration: Duration) -> Self {
        Self(self.0.saturating_add(millis_of(duration)))
    }
}

/// `Duration::from_millis`, without a 64-bit division: a Cortex-M has none, and the library routine for it takes
/// 1.5 KB of flash. Long division by 1000 in 16-bit digits, each step a 32-bit division.
pub(crate) fn duration_from_millis(millis: u64) -> Duration {
    let mut secs: u64 = 0;
    let mut rest: u32 = 0;
    for shift in [48, 32, 16, 0] {
        // `rest` < 1000, so this fits 32 bits.
        let digit = (rest << 16) | (millis >> shift) as u32 & 0xffff;
        secs = (secs << 16) | u64::from(digit / 1000);
        rest = digit % 1000;
    }
    Duration::new(secs, rest * 1_000_000)
}

/// `duration.as_millis()` as a `u64`, saturating, without 128-bit arithmetic.
pub(crate) fn millis_of(duration: Duration) -> u64 {
    duration
        .as_secs()
        .saturating_mul(1000)
        .saturating_add(u64::from(duration.subsec_millis()))
}

impl Add<Duration> for Instant {
    type Output = Self;

    fn add(self, rhs: Duration) -> Self {
        self.saturating_add(rhs)
    }
}

impl AddAssign<Duration> for Instant {
    fn add_assign(&mut self, rhs: Duration) {
        *self = *self + rhs;
    }
}

impl Sub for Instant {
    type Output = Duration;

    fn sub(self, rhs: Self) -> Duration {
        self.saturating_duration_since(rhs)
    }
}

impl fmt::Debug for Instant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:03}s", self.0 / 1000, self.0 % 1000)
    }
}

impl fmt::Display for Instant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use core::time::Duration;

    use super::{duration_from_millis, millis_of};

    #[test]
    fn milliseconds_convert_as_the_standard_library_does_without_64_bit_division() {
        let samples = [
            0,
            1,
            999,
            1000,
            1001,
            65_535,
            65_536,
            4_294_967_295,
            4_294_967_296,
            1 << 48,
        ];
        for ms in samples.into_iter().chain([u64::MAX - 1, u64::MAX]) {
            assert_eq!(duration_from_millis(ms), Duration::from_millis(ms), "{ms}");
            assert_eq!(millis_of(Duration::from_millis(ms)), ms, "{ms}");
        }
        assert_eq!(millis_of(Duration::MAX), u64::MAX);
        assert_eq!(millis_of(Duration::from_micros(1_999)), 1);
    }
}
