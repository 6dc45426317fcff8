//! The reconnect policy: how long to wait before each attempt, and when to stop. Pure: no clock, no I/O.
//!
//! The default schedule is the one device users know: 1, 2, 4, 8, 16 and 32 seconds, then every 60 seconds, each
//! spread by ±25 % of jitter so that a fleet of clients does not reconnect in lockstep after a broker restart. The
//! schedule starts over only after a connection stayed up for [`ReconnectPolicy::stable_after`] (30 s by default):
//! a broker that accepts connections and drops them at once is retried on the growing schedule, not every second.
//!
//! With a list of brokers (failover), a failure that is about the broker moves the next attempt to the next broker
//! of the list at once ([`ReconnectPolicy::failover_delay`], no wait by default); the schedule's delays apply
//! between rounds over the whole list.
//!
//! ```
//! use core::time::Duration;
//! use mqtt_core::reconnect::{Backoff, ReconnectPolicy};
//!
//! let policy = ReconnectPolicy { jitter_permille: 0, ..ReconnectPolicy::default() };
//! let mut backoff = Backoff::new(policy);
//! let delays: Vec<u64> = (0..8).map(|_| backoff.next_delay().unwrap().as_secs()).collect();
//! assert_eq!(delays, [1, 2, 4, 8, 16, 32, 60, 60]);
//! backoff.reset(); // after a connection that stayed up for `stable_after`
//! assert_eq!(backoff.next_delay(), Some(Duration::from_secs(1)));
//!
//! // Two brokers: the second is tried at once, the schedule's delay comes after the whole round failed.
//! let mut backoff = Backoff::new(policy);
//! let delays: Vec<u64> = (0..6).map(|_| backoff.next_delay_moving_on(2).unwrap().as_secs()).collect();
//! assert_eq!(delays, [0, 1, 0, 2, 0, 4]);
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
    /// Spread each delay by up to this fraction, in thousandths, either way (0 = none, 250 = ±25 %). Default 250.
    pub jitter_permille: u16,
    /// Seed of the jitter's pseudo-random sequence, so that runs can be reproduced. Default 0x5eed: the same for
    /// every session made from the default, which keeps tests deterministic. Clients that may reconnect together
    /// (a fleet after a broker restart) need a seed each: the std clients' `Options::new` draws one per client.
    pub jitter_seed: u64,
    /// How long a connection must stay up for the schedule to start over at `initial_delay`. A connection that
    /// ends sooner (a broker that accepts and drops at once, a connection refused by a plug-in after CONNACK)
    /// counts as a failed attempt: the next delay keeps growing. Default 30 s.
    pub stable_after: Duration,
    /// Wait before trying the next broker of a failover list after a failure that is about the broker (see
    /// [`Disconnection::fails_over`](crate::session::Disconnection::fails_over)). The schedule's own delays apply
    /// only once every broker of the list failed in turn. Default 0: at once.
    pub failover_delay: Duration,
    /// Give up after this many consecutive failed attempts, failover attempts and connections that ended before
    /// `stable_after` included (`None`: never). Default `None`.
    pub max_attempts: Option<u32>,
    /// Retry after a refusal for bad credentials or missing authorisation, which is otherwise permanent.
    /// Default `false`.
    pub retry_on_auth_failure: bool,
    /// Reconnect after a 5.0 broker's DISCONNECT with Session taken over (`0x8E`): another connection with the
    /// same client identifier replaced this one. Default `false`: the session gives up
    /// ([`Disconnection::ServerDisconnect`](crate::session::Disconnection::ServerDisconnect) with that code),
    /// since reconnecting would take the session back from the other connection, which would do the same: two
    /// clients sharing an identifier would knock each other off for ever. A manual reconnect still connects.
    pub retry_on_session_taken_over: bool,
    /// How soon after an attempt the application asked for (`reconnect`, or `connect` after a failure) failed a new
    /// request counts as a retry in a loop (a handler answering the failure) and waits for the schedule's next
    /// attempt instead of going at once; at most [`initial_delay`](Self::initial_delay). Default 1 s: a handler
    /// answers a failure within milliseconds, a person's "retry now" comes later and goes at once.
    pub paced_retry_window: Duration,
    /// Reconnect automatically at all. With `false`, a lost connection stays lost until a manual reconnect; an
    /// attempt to connect still tries each broker of a failover list once. Default `true`.
    pub enabled: bool,
}

impl Default for ReconnectPolicy {
    fn default() -> Self {
        Self {
            initial_delay: Duration::from_secs(1),
            max_backoff: Duration::from_secs(32),
            steady_delay: Duration::from_secs(60),
            jitter_permille: 250,
            jitter_seed: 0x5eed,
            stable_after: Duration::from_secs(30),
            failover_delay: Duration::ZERO,
            max_attempts: None,
            retry_on_auth_failure: false,
            retry_on_session_taken_over: false,
            paced_retry_window: Duration::from_secs(1),
            enabled: true,
        }
    }
}

impl ReconnectPolicy {
    /// A policy that waits `delay` before every attempt, without doubling or jitter (the "reconnect after N ms"
    /// of simpler clients). Spread the attempts of a fleet with `ReconnectPolicy { jitter_permille: 250,
    /// ..ReconnectPolicy::fixed(delay) }`.
    pub fn fixed(delay: Duration) -> Self {
        Self {
            initial_delay: delay,
            max_backoff: delay,
            steady_delay: delay,
            jitter_permille: 0,
            ..Self::default()
        }
    }

    /// A policy that never reconnects on its own.
    pub fn manual() -> Self {
        Self {
            enabled: false,
            ..Self::default()
        }
    }
}

/// The state of the reconnect schedule: which attempt comes next, where the failover round stands, and the jitter.
#[derive(Debug, Clone)]
pub struct Backoff {
    policy: ReconnectPolicy,
    /// Attempts since the last reset (failover attempts included).
    attempt: u32,
    /// Steps of the schedule taken since the last reset: the exponent of the next delay.
    step: u32,
    /// Consecutive failures that moved on to the next broker in the current round over the list.
    round: usize,
    rng: u64,
}

impl Backoff {
    /// A schedule at its start.
    pub fn new(policy: ReconnectPolicy) -> Self {
        Self {
            policy,
            attempt: 0,
            step: 0,
            round: 0,
            rng: scramble(policy.jitter_seed),
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

    /// Starts the schedule over; called after a connection that stayed up for
    /// [`stable_after`](ReconnectPolicy::stable_after), and by a manual connect.
    pub fn reset(&mut self) {
        self.attempt = 0;
        self.step = 0;
        self.round = 0;
    }

    /// The delay before the next attempt to the same broker, counting it as made; `None` once the policy gives up
    /// (or is disabled).
    pub fn next_delay(&mut self) -> Option<Duration> {
        self.round = 0;
        self.count_attempt()?;
        Some(self.next_step())
    }

    /// The delay before the next attempt after a failure that moves on to the next of `brokers` brokers, counting
    /// it as made; `None` once the policy gives up.
    ///
    /// Within a round over the list the delay is [`failover_delay`](ReconnectPolicy::failover_delay); the attempt
    /// that starts a new round, once every broker failed in turn, waits the schedule's next delay. A disabled
    /// policy still completes the round (asked to connect, a client tries each broker once), then gives up. With
    /// one broker this is [`next_delay`](Self::next_delay).
    pub fn next_delay_moving_on(&mut self, brokers: usize) -> Option<Duration> {
        if self.round.saturating_add(1) < brokers && !self.exhausted() {
            self.round += 1;
            self.attempt = self.attempt.saturating_add(1);
            return Some(self.policy.failover_delay);
        }
        self.next_delay()
    }

    /// The delay before an attempt the application asks for after one of its own failed, counting it: the
    /// schedule's next step, whatever [`enabled`](ReconnectPolicy::enabled) and
    /// [`max_attempts`](ReconnectPolicy::max_attempts) say (they are about attempts made on the session's own).
    pub fn next_delay_asked(&mut self) -> Duration {
        self.round = 0;
        self.attempt = self.attempt.saturating_add(1);
        self.next_step()
    }

    fn exhausted(&self) -> bool {
        self.policy
            .max_attempts
            .is_some_and(|max| self.attempt >= max)
    }

    fn count_attempt(&mut self) -> Option<()> {
        if !self.policy.enabled || self.exhausted() {
            return None;
        }
        self.attempt = self.attempt.saturating_add(1);
        Some(())
    }

    fn next_step(&mut self) -> Duration {
        let base = self.base_delay(self.step);
        self.step = self.step.saturating_add(1);
        self.jitter(base)
    }

    /// The delay of attempt `n` (0-based) before jitter.
    fn base_delay(&self, n: u32) -> Duration {
        let p = &self.policy;
        // Doubling by addition: `Duration::checked_mul` divides in 64 bits, which a Cortex-M cannot.
        let mut delay = p.initial_delay;
        for _ in 0..n.min(64) {
            match delay.checked_add(delay) {
                Some(doubled) if doubled <= p.max_backoff => delay = doubled,
                _ => return p.steady_delay.max(p.initial_delay),
            }
        }
        match delay <= p.max_backoff {
            true => delay,
            false => p.steady_delay.max(p.initial_delay),
        }
    }

    fn jitter(&mut self, base: Duration) -> Duration {
        let permille = self.policy.jitter_permille.min(1000);
        if permille == 0 {
            return base;
        }
        // xorshift64: small, deterministic, good enough to spread clients apart.
        let mut x = self.rng;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.rng = x;
        // In 32 bits (a Cortex-M has no 64-bit division): delays past 24 days are not spread.
        let millis = match u32::try_from(crate::time::millis_of(base)) {
            Ok(millis) if millis <= u32::MAX / 2 => millis,
            _ => return base,
        };
        let permille = u32::from(permille);
        let spread = millis / 1000 * permille + millis % 1000 * permille / 1000;
        // Uniform in [millis - spread, millis + spread].
        let offset = (x as u32) % (2 * spread + 1);
        crate::time::duration_from_millis(u64::from(millis - spread) + u64::from(offset))
    }
}

/// splitmix64 of the seed: close seeds (a counter, a time) start far-apart sequences. Never 0, the one state
/// xorshift cannot leave.
fn scramble(seed: u64) -> u64 {
    let mut z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    (z ^ (z >> 31)).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The default policy without jitter: exact delays.
    fn exact() -> ReconnectPolicy {
        ReconnectPolicy {
            jitter_permille: 0,
            ..ReconnectPolicy::default()
        }
    }

    fn secs(backoff: &mut Backoff, n: usize) -> [u64; 16] {
        let mut out = [0; 16];
        for slot in out.iter_mut().take(n) {
            *slot = backoff.next_delay().map_or(u64::MAX, |d| d.as_secs());
        }
        out
    }

    #[test]
    fn default_schedule_is_1_2_4_8_16_32_then_60_and_resets() {
        let mut b = Backoff::new(exact());
        assert_eq!(secs(&mut b, 10)[..10], [1, 2, 4, 8, 16, 32, 60, 60, 60, 60]);
        // Far into the schedule the doubling must not overflow.
        for _ in 0..100 {
            assert_eq!(b.next_delay(), Some(Duration::from_secs(60)));
        }
        b.reset();
        assert_eq!(secs(&mut b, 3)[..3], [1, 2, 4]);
    }

    #[test]
    fn a_fixed_policy_waits_the_same_delay_before_every_attempt() {
        let mut b = Backoff::new(ReconnectPolicy::fixed(Duration::from_secs(5)));
        assert_eq!(secs(&mut b, 10)[..10], [5; 10]);
        b.reset();
        assert_eq!(b.next_delay(), Some(Duration::from_secs(5)));
        let mut zero = Backoff::new(ReconnectPolicy::fixed(Duration::ZERO));
        assert_eq!(secs(&mut zero, 3)[..3], [0; 3]);
    }

    #[test]
    fn jitter_is_on_by_default_and_stays_within_a_quarter() {
        let mut b = Backoff::new(ReconnectPolicy::default());
        let base = [1000u64, 2000, 4000, 8000, 16000, 32000, 60000, 60000];
        let mut off_base = 0;
        for expected in base {
            let d = b.next_delay().unwrap().as_millis() as u64;
            assert!(
                d >= expected - expected / 4 && d <= expected + expected / 4,
                "{d} ms for {expected} ms"
            );
            off_base += usize::from(d != expected);
        }
        assert!(off_base >= 6, "jitter had almost no effect");
    }

    #[test]
    fn max_attempts_gives_up_and_reset_restores() {
        let mut b = Backoff::new(ReconnectPolicy {
            max_attempts: Some(3),
            ..exact()
        });
        assert_eq!(secs(&mut b, 4)[..4], [1, 2, 4, u64::MAX]);
        assert_eq!(b.next_delay(), None);
        b.reset();
        assert_eq!(b.next_delay(), Some(Duration::from_secs(1)));
    }

    #[test]
    fn disabled_policy_only_completes_a_round_over_the_brokers() {
        let mut b = Backoff::new(ReconnectPolicy::manual());
        assert_eq!(b.next_delay(), None);
        assert_eq!(b.next_delay_moving_on(1), None);
        assert_eq!(b.next_delay_moving_on(3), Some(Duration::ZERO));
        assert_eq!(b.next_delay_moving_on(3), Some(Duration::ZERO));
        assert_eq!(b.next_delay_moving_on(3), None);
    }

    #[test]
    fn failover_tries_every_broker_at_once_and_backs_off_between_rounds() {
        let mut b = Backoff::new(exact());
        let delays: [u64; 9] =
            core::array::from_fn(|_| b.next_delay_moving_on(3).map_or(u64::MAX, |d| d.as_secs()));
        // Three brokers: two immediate moves, then the schedule's delay before the next round.
        assert_eq!(delays, [0, 0, 1, 0, 0, 2, 0, 0, 4]);
        assert_eq!(b.attempts(), 9);
        // A failure that stays on the same broker ends the round: the schedule continues where it was.
        assert_eq!(b.next_delay_moving_on(3), Some(Duration::ZERO));
        assert_eq!(b.next_delay(), Some(Duration::from_secs(8)));
        assert_eq!(b.next_delay_moving_on(3), Some(Duration::ZERO));
        // One broker: moving on is the plain schedule.
        let mut one = Backoff::new(exact());
        let delays: [u64; 3] = core::array::from_fn(|_| {
            one.next_delay_moving_on(1)
                .map_or(u64::MAX, |d| d.as_secs())
        });
        assert_eq!(delays, [1, 2, 4]);
    }

    #[test]
    fn failover_attempts_count_towards_max_attempts() {
        let mut b = Backoff::new(ReconnectPolicy {
            max_attempts: Some(3),
            ..exact()
        });
        assert_eq!(b.next_delay_moving_on(2), Some(Duration::ZERO));
        assert_eq!(b.next_delay_moving_on(2), Some(Duration::from_secs(1)));
        assert_eq!(b.next_delay_moving_on(2), Some(Duration::ZERO));
        assert_eq!(b.next_delay_moving_on(2), None);
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
            let base = Backoff::new(exact()).base_delay(n).as_millis() as u64;
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

    #[test]
    fn different_seeds_draw_different_delays() {
        let draw = |seed| {
            let mut b = Backoff::new(ReconnectPolicy {
                jitter_seed: seed,
                ..ReconnectPolicy::default()
            });
            let delays: [Option<Duration>; 6] = core::array::from_fn(|_| b.next_delay());
            delays
        };
        assert_eq!(draw(7), draw(7));
        assert_ne!(draw(7), draw(8));
    }
}
