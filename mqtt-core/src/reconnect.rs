//! The reconnect policy: how long to wait before each attempt, and when to stop. Pure: no clock, no I/O.
//!
//! The default schedule is the one device users know: 1, 2, 4, 8, 16 and 32 seconds, then every 60 seconds,
//! starting again from 1 second after a successful connection.
//!
//! ```
//! use core::time::Duration;
//! use mqtt_core::reconnect::{Backoff, ReconnectPolicy};
//!
//! let mut backoff = Backoff::new(ReconnectPolicy::default());
//! let delays: Vec<u64> = (0..8).map(|_| backoff.next_delay().unwrap().as_secs()).collect();
//! assert_eq!(delays, [1, 2, 4, 8, 16, 32, 60, 60]);
//! backoff.reset(); // after a successful connection
//! assert_eq!(backoff.next_delay(), Some(Duration::from_secs(1)));
//! ```

use core::time::Duration;

/// When and how often to reconnect after a connection is lost or an attempt fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReconnectPolicy {
    /// Wait before the first attempt after a loss. Default 1 s.
    pub initial_delay: Duration,
    /// The delay doubles after each failed attempt up to this ceiling... Default 32 s.
    pub max_backoff: Duration,
    /// ...and once the doubling passes the ceiling, every further attempt waits this long. Default 60 s.
    pub steady_delay: Duration,
    /// Spread each delay by up to this fraction, in thousandths, either way (0 = none, 250 = ±25 %). Default 0.
    pub jitter_permille: u16,
    /// Seed of the jitter's pseudo-random sequence, so that runs can be reproduced. Default 0x5eed.
    pub jitter_seed: u64,
    /// Give up after this many consecutive failed attempts (`None`: never). Default `None`.
    pub max_attempts: Option<u32>,
    /// Retry after a refusal for bad credentials or missing authorisation, which is otherwise permanent.
    /// Default `false`.
    pub retry_on_auth_failure: bool,
    /// Reconnect automatically at all. With `false`, a lost connection stays lost until a manual reconnect.
    /// Default `true`.
    pub enabled: bool,
}

impl Default for ReconnectPolicy {
    fn default() -> Self {
        Self {
            initial_delay: Duration::from_secs(1),
            max_backoff: Duration::from_secs(32),
            steady_delay: Duration::from_secs(60),
            jitter_permille: 0,
            jitter_seed: 0x5eed,
            max_attempts: None,
            retry_on_auth_failure: false,
            enabled: true,
        }
    }
}

impl ReconnectPolicy {
    /// A policy that never reconnects on its own.
    pub fn manual() -> Self {
        Self {
            enabled: false,
            ..Self::default()
        }
    }
}

/// The state of the reconnect schedule: which attempt comes next and its jitter.
#[derive(Debug, Clone)]
pub struct Backoff {
    policy: ReconnectPolicy,
    attempt: u32,
    rng: u64,
}

impl Backoff {
    /// A schedule at its start.
    pub fn new(policy: ReconnectPolicy) -> Self {
        Self {
            policy,
            attempt: 0,
            // xorshift has one forbidden state.
            rng: policy.jitter_seed.max(1),
        }
    }

    /// The policy in force.
    pub fn policy(&self) -> &ReconnectPolicy {
        &self.policy
    }

    /// Attempts made since the last [`reset`](Self::reset).
    pub fn attempts(&self) -> u32 {
        self.attempt
    }

    /// Starts the schedule over; called after a successful connection.
    pub fn reset(&mut self) {
        self.attempt = 0;
    }

    /// The delay before the next attempt, counting it as made; `None` once the policy gives up (or is disabled).
    pub fn next_delay(&mut self) -> Option<Duration> {
        if !self.policy.enabled
            || self
                .policy
                .max_attempts
                .is_some_and(|max| self.attempt >= max)
        {
            return None;
        }
        let base = self.base_delay(self.attempt);
        self.attempt = self.attempt.saturating_add(1);
        Some(self.jitter(base))
    }

    /// The delay of attempt `n` (0-based) before jitter.
    fn base_delay(&self, n: u32) -> Duration {
        let p = &self.policy;
        let doubled = p
            .initial_delay
            .checked_mul(1u32.checked_shl(n).unwrap_or(u32::MAX));
        match doubled {
            Some(d) if d <= p.max_backoff => d,
            _ => p.steady_delay.max(p.initial_delay),
        }
    }

    fn jitter(&mut self, base: Duration) -> Duration {
        let permille = u64::from(self.policy.jitter_permille.min(1000));
        if permille == 0 {
            return base;
        }
        // xorshift64: small, deterministic, good enough to spread clients apart.
        let mut x = self.rng;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.rng = x;
        let millis = u64::try_from(base.as_millis()).unwrap_or(u64::MAX);
        let spread = millis.saturating_mul(permille) / 1000;
        // Uniform in [millis - spread, millis + spread].
        let offset = x % (2 * spread + 1);
        Duration::from_millis(millis.saturating_sub(spread).saturating_add(offset))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(backoff: &mut Backoff, n: usize) -> [u64; 16] {
        let mut out = [0; 16];
        for slot in out.iter_mut().take(n) {
            *slot = backoff.next_delay().map_or(u64::MAX, |d| d.as_secs());
        }
        out
    }

    #[test]
    fn default_schedule_is_1_2_4_8_16_32_then_60_and_resets() {
        let mut b = Backoff::new(ReconnectPolicy::default());
        assert_eq!(secs(&mut b, 10)[..10], [1, 2, 4, 8, 16, 32, 60, 60, 60, 60]);
        // Far into the schedule the doubling must not overflow.
        for _ in 0..100 {
            assert_eq!(b.next_delay(), Some(Duration::from_secs(60)));
        }
        b.reset();
        assert_eq!(secs(&mut b, 3)[..3], [1, 2, 4]);
    }

    #[test]
    fn max_attempts_gives_up_and_reset_restores() {
        let mut b = Backoff::new(ReconnectPolicy {
            max_attempts: Some(3),
            ..ReconnectPolicy::default()
        });
        assert_eq!(secs(&mut b, 4)[..4], [1, 2, 4, u64::MAX]);
        assert_eq!(b.next_delay(), None);
        b.reset();
        assert_eq!(b.next_delay(), Some(Duration::from_secs(1)));
    }

    #[test]
    fn disabled_policy_never_schedules() {
        let mut b = Backoff::new(ReconnectPolicy::manual());
        assert_eq!(b.next_delay(), None);
    }

    #[test]
    fn jitter_stays_within_bounds_and_is_reproducible() {
        let policy = ReconnectPolicy {
            jitter_permille: 250,
            jitter_seed: 42,
            ..ReconnectPolicy::default()
        };
        let mut a = Backoff::new(policy);
        let mut b = Backoff::new(policy);
        let mut saw_different = false;
        for n in 0..50u32 {
            let base = Backoff::new(ReconnectPolicy::default())
                .base_delay(n)
                .as_millis() as u64;
            let d = a.next_delay().unwrap().as_millis() as u64;
            assert_eq!(Some(Duration::from_millis(d)), b.next_delay());
            assert!(
                d >= base - base / 4 && d <= base + base / 4,
                "attempt {n}: {d} vs {base}"
            );
            saw_different |= d != base;
        }
        assert!(saw_different, "jitter had no effect");
    }
}
