//! The session's inputs from the binding: the transport came up or went down, bytes arrived, a timer expired;
//! and what the session asks of the binding in return (`poll_transport`, `poll_timeout`).

use super::{Disconnection, Session, SessionState, Timer, TransportAction};
use crate::codec::ReasonCode;
use crate::time::Instant;

impl<'b> Session<'b> {
    /// The transport the session asked for ([`TransportAction::Open`]) is open: CONNECT goes out next.
    ///
    /// Ignored while [`poll_transport`](Self::poll_transport) has actions to give: the transport it reports is one
    /// the session has since asked to close.
    pub fn handle_transport_up(&mut self, now: Instant) {
        self.now = now;
        if self.state == SessionState::Opening && !self.transport.is_pending() {
            self.reopen_after_write = false;
            self.state = SessionState::Connecting;
            self.send_connect = true;
            self.partial = None;
            self.last_sent = now;
            self.last_received = now;
            // A ping asked for on an earlier connection was answered or failed with it.
            self.ping_wanted = false;
        }
    }

    /// The transport closed or failed (or could not be opened). The reconnect policy decides what follows.
    ///
    /// Complete packets received before the loss and not yet processed are not lost with it: the next
    /// [`poll_event`](Self::poll_event) calls process them as usual (a PUBACK completes its message, a PUBLISH is
    /// delivered, a CONNACK connects) and only then report the loss. Nothing is written meanwhile: their
    /// acknowledgements would have nowhere to go, and the broker resends what it did not get acknowledged.
    ///
    /// Ignored while [`poll_transport`](Self::poll_transport) has actions to give: the transport it reports is one
    /// the session has already given up (and the attempt the session wants next has not started).
    pub fn handle_transport_down(&mut self, now: Instant) {
        self.now = now;
        if self.down_pending || self.transport.is_pending() {
            return;
        }
        self.reopen_after_write = false;
        // Input waiting on the application (a held message, a PUBLISH waiting for room in the acknowledgement
        // record) would keep the connection from ending for as long as the application takes: it is dropped with
        // the connection instead (not the application's yet; the broker sends it again on a resumed session).
        let waiting_on_application = self.holding || self.input_blocked;
        if !waiting_on_application
            && matches!(
                self.state,
                SessionState::Connecting | SessionState::Connected | SessionState::Disconnecting
            )
        {
            self.release_rx();
            if self.rx_start < self.rx_end {
                self.down_pending = true;
                self.acks.clear();
                self.send_ping = false;
                self.partial = None;
                return;
            }
        }
        self.transport_gone(now);
    }

    /// The transport is gone and everything received on it is processed: the connection ends.
    pub(super) fn transport_gone(&mut self, now: Instant) {
        self.down_pending = false;
        match self.state {
            SessionState::Opening | SessionState::Connecting => {
                self.fail_attempt(Disconnection::TransportClosed, now);
            }
            SessionState::Connected => self.lose(Disconnection::TransportClosed, now),
            SessionState::Closing => self.finish_closing(now),
            SessionState::Disconnecting => {
                self.end_connection(now);
                self.close_for_good();
                self.push_disconnected();
            }
            SessionState::Idle | SessionState::Waiting | SessionState::Closed => {}
        }
    }

    /// Processes time passing: reconnect, connect timeout, keep alive and ping timeout, disconnect timeout.
    ///
    /// Keep alive: PINGREQ goes out when nothing was sent, or nothing was received, for the keep alive interval
    /// (a QoS 0 publisher hears nothing from a healthy broker, and must still find out about a hung one), and the
    /// connection is lost ([`Disconnection::KeepAliveTimeout`]) when no PINGRESP was processed within
    /// [`ping_timeout`](Self::ping_timeout) of it (by default at most half the keep alive: a silent broker is
    /// found out within one and a half keep alive intervals of its last word, as a broker finds out about a
    /// silent client, `[MQTT-3.1.2-24]`). Time the
    /// session spends [paused](Self::is_paused) (a held message, a PUBLISH waiting for room in the
    /// acknowledgement record, a full receive buffer) is the client's own doing, and the PINGRESP may be waiting
    /// unread behind the paused input: a ping deadline that passes during a pause does not end the connection.
    /// It is set again to `ping_timeout` from the moment the pause ends, that is the first `poll_event` or
    /// `handle_timeout` that finds the session no longer paused (at the time of the latest input the session was
    /// given). PINGREQ goes on being sent every keep alive interval during a pause, so the broker does not drop
    /// the client. So a broker that died during a pause is found out at most `ping_timeout` after the pause ends
    /// (or, if it answered a ping during the pause and died later, keep alive plus `ping_timeout` after the last
    /// packet sent).
    pub fn handle_timeout(&mut self, now: Instant) {
        self.now = now;
        self.resume_keep_alive();
        if self.expired(Timer::Reconnect, now) {
            self.set_timer(Timer::Reconnect, None);
            if self.state == SessionState::Waiting {
                self.open(now);
            }
        }
        if self.expired(Timer::Connect, now) {
            self.set_timer(Timer::Connect, None);
            if matches!(self.state, SessionState::Opening | SessionState::Connecting) {
                self.transport.close();
                self.fail_attempt(Disconnection::ConnectTimeout, now);
            }
        }
        if self.expired(Timer::Ping, now) {
            self.set_timer(Timer::Ping, None);
            if self.ping_outstanding && self.is_connected() {
                if self.is_paused() {
                    self.ping_deferred = true;
                } else {
                    self.transport.close();
                    self.lose(Disconnection::KeepAliveTimeout, now);
                }
            }
        }
        if self.expired(Timer::ReadBatch, now) {
            // The batch did not fill in time: the next read takes whatever is there.
            self.set_timer(Timer::ReadBatch, None);
        }
        if self.expired(Timer::Disconnect, now) {
            self.set_timer(Timer::Disconnect, None);
            match self.state {
                // The acknowledgements before a reconnect could not be staged in time: the reconnect goes ahead.
                SessionState::Connected if self.reconnect_after_acks => self.reconnect_now(now),
                SessionState::Disconnecting if self.send_disconnect.is_none() => {
                    // The wait for acknowledgements is over: DISCONNECT next.
                    self.send_disconnect = Some(ReasonCode::NORMAL_DISCONNECTION);
                    self.arm_disconnect_write(now);
                }
                // DISCONNECT could not be written in time: the broker takes nothing any more.
                SessionState::Disconnecting if self.has_transport() => {
                    self.write_stalled = true;
                    self.transport.close();
                    self.end_connection(now);
                    self.close_for_good();
                    self.push_disconnected();
                }
                SessionState::Closing if self.send_disconnect.is_some() => {
                    self.write_stalled = true;
                    self.send_disconnect = None;
                    self.finish_closing(now);
                }
                _ => {}
            }
        }
        self.ping_if_due(now);
    }

    /// Copies received bytes in and returns how many were taken. Fewer than offered means the receive buffer is
    /// full: drain [`poll_event`](Self::poll_event), then offer the rest again.
    pub fn handle_bytes(&mut self, bytes: &[u8], now: Instant) -> usize {
        let free = self.read_buf();
        let n = bytes.len().min(free.len());
        if let (Some(dst), Some(src)) = (free.get_mut(..n), bytes.get(..n)) {
            dst.copy_from_slice(src);
        }
        self.commit_read(n, now);
        n
    }

    /// The free part of the receive buffer, to read into directly; follow with [`commit_read`](Self::commit_read).
    pub fn read_buf(&mut self) -> &mut [u8] {
        self.release_rx();
        if self.rx_end == self.rx.len() && self.rx_start > 0 {
            crate::buffer::move_within(&mut self.rx, self.rx_start..self.rx_end, 0);
            self.rx_end -= self.rx_start;
            self.rx_start = 0;
        }
        if self.rx_end == self.rx.len() {
            // Full of one incomplete packet: a growable buffer makes room for more of it.
            let _ = self.rx.grow_to_fit(self.rx_end + 1);
        }
        self.rx.get_mut(self.rx_end..).unwrap_or_default()
    }

    /// Takes `n` bytes written into [`read_buf`](Self::read_buf).
    pub fn commit_read(&mut self, n: usize, now: Instant) {
        self.now = now;
        if self.down_pending
            || !matches!(
                self.state,
                SessionState::Connecting | SessionState::Connected | SessionState::Disconnecting
            )
        {
            // Bytes after the session gave up on the connection mean nothing.
            return;
        }
        let n = n.min(self.rx.len() - self.rx_end);
        self.stats.bytes_received += n as u64;
        if n > 0 {
            self.last_received = now;
            self.stats.last_received_at = Some(now);
        }
        // The rest of a too large 3.1.1 PUBLISH: read past, not kept.
        let skipped = n.min(self.skip_incoming);
        if skipped > 0 {
            self.skip_incoming -= skipped;
            let start = self.rx_end;
            crate::buffer::move_within(&mut self.rx, start + skipped..start + n, start);
        }
        self.rx_end += n - skipped;
    }

    // ----- outputs -----

    /// The next thing the binding must do with its transport: at most a `Close` followed by an `Open` (see
    /// [`TransportAction`]). Changes after commands, `handle_timeout`, `handle_transport_down`, and what
    /// `poll_event` and `poll_transmit` find (a refusal, a DISCONNECT, a protocol error): drain it after each.
    ///
    /// Before acting on an `Open`, a binding with several brokers selects the one [`broker`](Self::broker) names.
    #[must_use]
    pub fn poll_transport(&mut self) -> Option<TransportAction> {
        self.transport.poll()
    }

    /// The earliest time [`handle_timeout`](Self::handle_timeout) must be called, if any. Changes after every
    /// input, command and output call; read it last.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        let timers = self.timers.iter().flatten().copied();
        timers.chain(self.keep_alive_due()).min()
    }
}
