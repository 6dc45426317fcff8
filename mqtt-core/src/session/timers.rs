//! The session's timers (one deadline each) and the keep alive's: when the next ping is due, how long its PINGRESP
//! may take.

use core::time::Duration;

use super::Session;
use crate::time::Instant;

/// Timers, each with at most one deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Timer {
    /// Next connection attempt.
    Reconnect,
    /// Transport open and CONNACK.
    Connect,
    /// PINGRESP.
    Ping,
    /// Graceful disconnect gives up waiting for acknowledgements.
    Disconnect,
    /// Read batching: the read after a batch that did not fill.
    ReadBatch,
}

pub(super) const TIMERS: usize = 5;

/// The keep alive in whole seconds, as CONNECT carries it: one under a second is one, not zero (which would
/// turn keep alive off).
pub(super) fn wire_keep_alive(keep_alive: Duration) -> u64 {
    match keep_alive.as_secs() {
        0 if !keep_alive.is_zero() => 1,
        secs => secs,
    }
}

impl Session<'_> {
    pub(super) fn set_timer(&mut self, timer: Timer, at: Option<Instant>) {
        if let Some(slot) = self.timers.get_mut(timer as usize) {
            *slot = at;
        }
    }

    pub(super) fn timer(&self, timer: Timer) -> Option<Instant> {
        self.timers.get(timer as usize).copied().flatten()
    }

    pub(super) fn expired(&self, timer: Timer, now: Instant) -> bool {
        self.timers
            .get(timer as usize)
            .copied()
            .flatten()
            .is_some_and(|at| now >= at)
    }

    pub(super) fn keep_alive_due(&self) -> Option<Instant> {
        // A ping that is only deferred by a pause does not stop the next one.
        let waiting = self.ping_outstanding && (!self.ping_deferred || self.send_ping);
        let sent_due = self.last_sent + self.keep_alive;
        // Silence from the broker is due a ping too (a QoS 0 publisher hears nothing from a healthy broker, and
        // would never find out about a hung one); once a ping is out, only what the client sends counts.
        let due = if self.ping_outstanding {
            sent_due
        } else {
            sent_due.min(self.last_received + self.keep_alive)
        };
        (self.is_connected() && !self.down_pending && !self.keep_alive.is_zero() && !waiting)
            .then_some(due)
    }

    /// How long a PINGREQ waits for its PINGRESP: [`Config::ping_timeout`](crate::Config::ping_timeout) as given, or when it is zero
    /// (automatic) 10 s or half the keep alive interval, whichever is shorter, so that a broker gone silent is
    /// found out within one and a half keep alive intervals of its last word (the bound the broker applies to a
    /// silent client, `[MQTT-3.1.2-24]`).
    pub fn ping_timeout(&self) -> Duration {
        const AUTOMATIC: Duration = Duration::from_secs(10);
        match (
            self.settings.ping_timeout.is_zero(),
            self.keep_alive.is_zero(),
        ) {
            (false, _) => self.settings.ping_timeout,
            (true, true) => AUTOMATIC,
            (true, false) => AUTOMATIC.min(self.keep_alive / 2),
        }
    }
}
