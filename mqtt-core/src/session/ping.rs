//! A ping the application asks for ([`Session::ping`]): a PINGREQ now, under the keep-alive's PINGRESP timeout,
//! answered by [`Event::PingResponse`](super::Event::PingResponse).

use super::event::OwnedEvent;
use super::{Session, SessionState, Timer};
use crate::time::Instant;

/// Why [`Session::ping`] cannot send a PINGREQ.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PingError {
    /// No connection is established (the broker has not accepted one, or it is ending): connect first.
    #[error("not connected")]
    NotConnected,
}

/// What [`Session::ping`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ping {
    /// A PINGREQ is queued: the next [`poll_transmit`](Session::poll_transmit) writes it.
    Sent,
    /// A PINGREQ is already waiting for its PINGRESP (a keep-alive ping, or an earlier call): no second one is
    /// sent, and its PINGRESP answers this call too.
    AlreadyOutstanding,
}

impl Session<'_> {
    /// Sends a PINGREQ now, whatever the keep alive: a check that the broker still answers, and a measure of the
    /// round trip. The broker's PINGRESP is reported as [`Event::PingResponse`](super::Event::PingResponse);
    /// without it within [`ping_timeout`](Self::ping_timeout), the connection is lost with
    /// [`Disconnection::KeepAliveTimeout`](super::Disconnection::KeepAliveTimeout), exactly as for a keep-alive
    /// ping. One ping is in flight at a time: while one waits for its PINGRESP, this sends no other and that
    /// PINGRESP answers it. If the connection ends first, no `PingResponse` comes (the connection's end is
    /// reported as usual).
    ///
    /// # Errors
    ///
    /// [`PingError::NotConnected`] unless the broker has accepted the current connection (and it is not being
    /// disconnected).
    ///
    /// # Spec
    ///
    /// `[MQTT-3.12.4-1]`: the broker answers PINGREQ with PINGRESP.
    pub fn ping(&mut self, now: Instant) -> Result<Ping, PingError> {
        self.now = now;
        if self.state != SessionState::Connected || self.down_pending {
            return Err(PingError::NotConnected);
        }
        self.ping_wanted = true;
        if self.ping_outstanding {
            return Ok(Ping::AlreadyOutstanding);
        }
        self.send_ping = true;
        self.ping_outstanding = true;
        self.ping_sent_at = now;
        self.set_timer(Timer::Ping, Some(now + self.ping_timeout()));
        Ok(Ping::Sent)
    }

    /// Whether a ping the application asked for waits for its PINGRESP.
    pub fn is_pinging(&self) -> bool {
        self.ping_wanted && self.is_connected()
    }

    /// A PINGRESP came: reported if the application asked for a ping.
    pub(super) fn ping_answered(&mut self) {
        if core::mem::take(&mut self.ping_wanted) {
            let round_trip = self.now.saturating_duration_since(self.ping_sent_at);
            let round_trip_ms =
                u32::try_from(crate::time::millis_of(round_trip)).unwrap_or(u32::MAX);
            self.events.push(OwnedEvent::PingResponse { round_trip_ms });
        }
    }
}
