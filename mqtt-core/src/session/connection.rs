//! The life of one connection and what follows it: the transport the session asks of the binding, opening,
//! failure and loss, the reconnect schedule over the failover list, and the fall back to MQTT 3.1.1.

use core::time::Duration;

use super::TransportAction;
use super::event::OwnedEvent;
use super::{ConnectRefusal, Disconnection, ServerLimits, Session, SessionState, TIMERS, Timer};
use crate::codec::ProtocolVersion;
use crate::error::ProtocolError;
use crate::time::Instant;

/// What the session wants of the binding's transport, as a desired state rather than a queue of actions: the
/// latest commands win and none is lost. At most a `Close` (of what the binding has) followed by an `Open`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Transport {
    close: bool,
    open: bool,
}

impl Transport {
    /// The current connection, or the attempt in progress, is to be closed. An `Open` not yet taken is withdrawn:
    /// the binding never opened it.
    pub(super) fn close(&mut self) {
        self.close = true;
        self.open = false;
    }

    /// A new connection is to be opened, after the pending `Close` if there is one.
    pub(super) fn open(&mut self) {
        self.open = true;
    }

    pub(super) fn poll(&mut self) -> Option<TransportAction> {
        if core::mem::take(&mut self.close) {
            Some(TransportAction::Close)
        } else if core::mem::take(&mut self.open) {
            Some(TransportAction::Open)
        } else {
            None
        }
    }

    /// Whether the binding has actions to take. Until it has taken them, what it reports about a transport is
    /// about one the session already gave up.
    pub(super) fn is_pending(&self) -> bool {
        self.close || self.open
    }
}

impl Session<'_> {
    pub(super) fn has_transport(&self) -> bool {
        matches!(
            self.state,
            SessionState::Opening
                | SessionState::Connecting
                | SessionState::Connected
                | SessionState::Closing
                | SessionState::Disconnecting
        )
    }

    /// Asks the binding for a transport and starts the connect timer.
    pub(super) fn open(&mut self, now: Instant) {
        self.state = SessionState::Opening;
        self.write_stalled = false;
        self.transport.open();
        self.set_timer(Timer::Reconnect, None);
        self.set_timer(Timer::Connect, Some(now + self.settings.connect_timeout));
    }

    /// Opens for an attempt the application asked for again ([`reconnect`](Session::reconnect), or
    /// [`connect`](Session::connect) after a failure): at once, unless an attempt it asked for failed (or its
    /// connection ended before [`stable_after`](crate::reconnect::ReconnectPolicy::stable_after)) less than the
    /// policy's [first delay](crate::reconnect::ReconnectPolicy::initial_delay) (at most its `paced_retry_window`) ago. Then it waits
    /// for the reconnect schedule's next attempt, announced with
    /// [`Event::Reconnecting`](super::Event::Reconnecting) unless it was already: a handler that reconnects on
    /// every failure gets its first retry at once and the schedule's growing delays after that, not attempts as
    /// fast as the broker refuses or drops connections; a "retry now" a while after a failure is not held back. A
    /// handler that answers every announcement with a reconnect does not loop either.
    pub(super) fn open_when_asked(&mut self, now: Instant) {
        self.asked_open = true;
        let policy = self.backoff.policy();
        let window = policy.initial_delay.min(policy.paced_retry_window);
        let paced = self.paced.filter(|&(failed, _)| now < failed + window);
        let Some((_, at)) = paced else {
            self.backoff.reset();
            self.open(now);
            return;
        };
        if at <= now {
            // The schedule's next attempt is due (a failover list's next broker, tried at once): it goes now, and
            // the schedule is not started over, or the round over the list would never end.
            self.open(now);
            return;
        }
        if self.state == SessionState::Waiting
            && self.timer(Timer::Reconnect).is_some_and(|due| due <= at)
        {
            return;
        }
        self.state = SessionState::Waiting;
        self.set_timer(Timer::Connect, None);
        self.set_timer(Timer::Reconnect, Some(at));
        let delay_ms = u32::try_from(crate::time::millis_of(at.saturating_duration_since(now)))
            .unwrap_or(u32::MAX);
        self.events.push(OwnedEvent::Reconnecting {
            attempt: self.backoff.attempts(),
            delay_ms,
        });
    }

    /// Forgets everything that belongs to the current connection.
    pub(super) fn end_connection(&mut self, now: Instant) {
        if self.established {
            self.stats.disconnections += 1;
            self.stats.last_disconnected_at = Some(now);
        }
        self.drop_delivery();
        self.reconnect_after_acks = false;
        self.skip_incoming = 0;
        self.receipts.clear();
        self.input_blocked = false;
        self.established = false;
        self.down_pending = false;
        self.rx_start = 0;
        self.rx_end = 0;
        self.rx_release = 0;
        self.acks.clear();
        self.send_connect = false;
        self.connect_sent = false;
        self.send_ping = false;
        self.ping_outstanding = false;
        self.ping_deferred = false;
        self.send_disconnect = None;
        self.partial = None;
        self.inflight = 0;
        self.set_timer(Timer::Connect, None);
        self.set_timer(Timer::Ping, None);
        self.set_timer(Timer::Disconnect, None);
        self.end_batch();
        self.state = SessionState::Waiting;
    }

    pub(super) fn close_for_good(&mut self) {
        self.state = SessionState::Closed;
        self.timers = [None; TIMERS];
    }

    /// The connection that just ended lasted [`stable_after`](crate::reconnect::ReconnectPolicy::stable_after):
    /// the schedule starts over. A shorter one counts as a failed attempt.
    fn reset_if_stable(&mut self, now: Instant) {
        if self.lasted(now) {
            self.backoff.reset();
        }
    }

    /// Whether the connection that just ended lasted [`stable_after`](crate::reconnect::ReconnectPolicy::stable_after).
    fn lasted(&self, now: Instant) -> bool {
        let stable_after = self.backoff.policy().stable_after;
        self.stats
            .last_connected_at
            .is_some_and(|at| now.saturating_duration_since(at) >= stable_after)
    }

    /// An attempt failed (or a connection ended before `stable_after`), and the schedule's next attempt comes
    /// after `delay` (`None`: the session gives up). When the application asked for the attempt, one it asks for
    /// right after waits for that delay (when the session gives up, for the delay the schedule would have given):
    /// see [`open_when_asked`](Self::open_when_asked).
    fn note_failure(&mut self, delay: Option<Duration>, now: Instant) {
        self.paced = match self.asked_open {
            true => Some((
                now,
                now + delay.unwrap_or_else(|| self.backoff.next_delay_asked()),
            )),
            false => None,
        };
    }

    /// Schedules the next attempt, or gives up. A failure about the broker moves on to the next broker of the
    /// failover list, at once within a round over the list.
    pub(super) fn schedule_reconnect(&mut self, reason: Disconnection, now: Instant) {
        if self.follow_redirect(now) {
            return;
        }
        let permanent = match reason {
            Disconnection::Refused(r) => {
                r.is_auth_failure() && !self.settings.retry_on_auth_failure
            }
            Disconnection::ServerDisconnect(crate::codec::ReasonCode::SESSION_TAKEN_OVER) => {
                !self.settings.retry_on_session_taken_over
            }
            _ => false,
        };
        let delay = match permanent {
            true => None,
            false if reason.fails_over() => {
                self.broker = (self.broker + 1) % self.brokers;
                self.backoff.next_delay_moving_on(self.brokers)
            }
            false => self.backoff.next_delay(),
        };
        self.note_failure(delay, now);
        match delay {
            Some(delay) => self.reconnect_after(delay, now),
            None => {
                self.close_for_good();
                self.events.push(OwnedEvent::GaveUp(reason));
            }
        }
    }

    /// Opens again after `delay`: at once when it is zero (a deadline must lie in the future).
    fn reconnect_after(&mut self, delay: Duration, now: Instant) {
        self.asked_open = false;
        let delay_ms = u32::try_from(crate::time::millis_of(delay)).unwrap_or(u32::MAX);
        self.events.push(OwnedEvent::Reconnecting {
            attempt: self.backoff.attempts(),
            delay_ms,
        });
        if delay.is_zero() {
            self.open(now);
        } else {
            self.state = SessionState::Waiting;
            self.set_timer(Timer::Reconnect, Some(now + delay));
        }
    }

    /// An attempt to connect failed before CONNACK accepted it.
    pub(super) fn fail_attempt(&mut self, reason: Disconnection, now: Instant) {
        // CONNECT went out whole and the broker closed without a byte of answer.
        let unanswered =
            self.state == SessionState::Connecting && self.connect_sent && self.rx_end == 0;
        self.end_connection(now);
        self.events.push(OwnedEvent::ConnectFailed(reason));
        if self.falls_back(reason, unanswered) {
            self.fall_back(now);
        } else {
            self.schedule_reconnect(reason, now);
        }
    }

    /// An established connection ended without the application asking. A protocol error of the broker is about
    /// the packet that broke the rules, not about the oldest message in flight: no poison strike (on 5.0 the
    /// connection ends through `finish_closing`, which never gave one either).
    pub(super) fn lose(&mut self, reason: Disconnection, now: Instant) {
        // A broker's protocol error is no strike against what is in flight: the broker is to blame.
        if !matches!(reason, Disconnection::Protocol(_)) {
            self.blame_oldest_unacknowledged();
            self.blame_oldest_request();
        }
        // A reconnect the application asked for, still writing its acknowledgements: it happens now.
        let asked = core::mem::take(&mut self.reconnect_after_acks);
        self.end_connection(now);
        self.events.push(OwnedEvent::ConnectionLost(reason));
        if asked {
            self.backoff.reset();
            self.asked_open = true;
            self.open(now);
        } else {
            self.after_loss(reason, now);
        }
    }

    /// After an established connection ended: a disabled policy stops here, else the schedule (started over if
    /// the connection was stable) applies.
    fn after_loss(&mut self, reason: Disconnection, now: Instant) {
        if self.lasted(now) {
            // Not a failure of the attempt that made it.
            self.asked_open = false;
        }
        if !self.backoff.policy().enabled {
            self.note_failure(None, now);
            self.close_for_good();
            self.events.push(OwnedEvent::GaveUp(reason));
            return;
        }
        self.reset_if_stable(now);
        self.schedule_reconnect(reason, now);
    }

    /// The broker broke the protocol: report, send DISCONNECT (5.0), then close.
    pub(super) fn protocol_error(&mut self, error: ProtocolError) {
        let now = self.now;
        self.error = Some(error);
        let reason = Disconnection::Protocol(error);
        let established = self.is_connected();
        if self.down_pending {
            // The transport is already gone: nothing to say or close.
            if established {
                self.lose(reason, now);
            } else {
                self.fail_attempt(reason, now);
            }
        } else if self.version.is_v5() && self.established {
            self.events.push(OwnedEvent::ConnectionLost(reason));
            // Whatever is half-written goes first, then DISCONNECT, then the transport closes.
            self.state = SessionState::Closing;
            self.drop_delivery();
            self.receipts.clear();
            self.input_blocked = false;
            self.acks.clear();
            self.send_ping = false;
            self.send_disconnect = Some(error.reason_code());
            self.arm_disconnect_write(now);
            self.rx_start = 0;
            self.rx_end = 0;
            self.rx_release = 0;
        } else if established {
            self.transport.close();
            self.lose(reason, now);
        } else {
            self.transport.close();
            self.fail_attempt(reason, now);
        }
    }

    /// DISCONNECT after a protocol error is written: close and apply the reconnect policy. A connection whose
    /// CONNACK was rejected ([`reject_connack`](Session::reject_connack)) was never established: a failed attempt,
    /// which never starts the schedule over.
    pub(super) fn finish_closing(&mut self, now: Instant) {
        self.transport.close();
        let established = self.established;
        // A reconnect the application asked for, still waiting for its acknowledgements: it happens now.
        let asked = core::mem::take(&mut self.reconnect_after_acks);
        self.end_connection(now);
        let reason = self
            .error
            .map_or(Disconnection::TransportClosed, Disconnection::Protocol);
        if established && asked {
            self.backoff.reset();
            self.asked_open = true;
            self.open(now);
        } else if established {
            self.after_loss(reason, now);
        } else {
            self.schedule_reconnect(reason, now);
        }
    }

    /// Whether this failure of a 5.0 attempt means the broker does not speak 5.0 and the configuration allows
    /// falling back: a refusal for the protocol version, or (until a connection ever succeeded) a close right
    /// after CONNECT without any answer.
    fn falls_back(&self, reason: Disconnection, unanswered: bool) -> bool {
        let hint = match reason {
            Disconnection::Refused(ConnectRefusal::UnsupportedProtocolVersion) => true,
            Disconnection::TransportClosed => unanswered && self.stats.first_connected_at.is_none(),
            _ => false,
        };
        hint && self.settings.fallback_to_v311 && self.version.is_v5()
    }

    /// Speaks 3.1.1 from now on, to the same broker, at once: not a failure of the broker, so neither the schedule
    /// nor the failover position moves.
    fn fall_back(&mut self, now: Instant) {
        self.version = ProtocolVersion::V311;
        self.store.use_v311();
        self.server = ServerLimits::default();
        self.keep_alive = self.settings.keep_alive;
        self.events.push(OwnedEvent::Reconnecting {
            attempt: self.backoff.attempts(),
            delay_ms: 0,
        });
        self.open(now);
    }
}
