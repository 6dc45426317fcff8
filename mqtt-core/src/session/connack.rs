//! What a CONNACK does: a refusal ends the attempt, an acceptance connects, and the outbox and the subscriptions
//! are restored for the session the broker kept, or lost.

use super::event::OwnedEvent;
use super::journal::Notice;
use super::outbox::State as Out;
use super::receive::Step;
use super::subscriptions::State as Sub;
use super::{ConnectRefusal, Disconnection, Session, SessionState, Ticket, Timer};
use crate::codec::{ConnAck, QoS};
use crate::config::SessionLostPolicy;
use crate::error::ProtocolError;

impl Session<'_> {
    pub(super) fn connack(&mut self, connack: &ConnAck<'_>) -> Step {
        let refusal = ConnectRefusal::from_code(self.version, connack.reason);
        if refusal.is_some() {
            self.keep_reason_string(connack.properties.reason_string);
        }
        if let Some(step) = self.note_connack(connack, refusal.is_none()) {
            return step;
        }
        if refusal.is_none() {
            let p = &connack.properties;
            // Every packet the session writes must fit (`[MQTT-3.2.2-15]`), acknowledgements included.
            if let Some(max) = p.maximum_packet_size
                && max.get() < super::MIN_SERVER_PACKET_SIZE
            {
                return Step::Error(ProtocolError::MaximumPacketSizeTooSmall(max.get()));
            }
            self.server.receive_maximum = p.receive_maximum.map_or(u16::MAX, |r| r.get());
            self.server.max_packet_size = p.maximum_packet_size.map_or(u32::MAX, |m| m.get());
            self.server.topic_alias_maximum = p.topic_alias_maximum.unwrap_or(0);
            self.server.max_qos = p.maximum_qos.unwrap_or(QoS::ExactlyOnce);
            self.server.retain_available = p.retain_available.unwrap_or(true);
            self.server.subscription_ids_available =
                p.subscription_identifiers_available.unwrap_or(true);
            self.server.shared_available = p.shared_subscription_available.unwrap_or(true);
            self.server.wildcards_available = p.wildcard_subscription_available.unwrap_or(true);
            self.keep_alive = match p.server_keep_alive {
                Some(secs) => core::time::Duration::from_secs(u64::from(secs)),
                None => self.settings.keep_alive,
            };
            if let Some(id) = p.assigned_client_identifier {
                self.store.adopt_client_id(id, self.version);
                self.outbox.journal.note(Notice::Identity);
            }
        }
        Step::ConnAck {
            session_present: connack.session_present && refusal.is_none(),
            refusal,
        }
    }

    /// CONNACK accepted (or refused): bring the session's state in line with what the broker kept.
    pub(super) fn on_connack(&mut self, session_present: bool, refusal: Option<ConnectRefusal>) {
        let now = self.now;
        if let Some(refusal) = refusal {
            self.transport.close();
            self.fail_attempt(Disconnection::Refused(refusal), now);
            return;
        }
        self.state = SessionState::Connected;
        self.established = true;
        self.set_timer(Timer::Connect, None);
        // The schedule starts over only once the connection proved stable (`ReconnectPolicy::stable_after`).
        self.error = None;
        self.stats.first_connected_at.get_or_insert(now);
        self.stats.last_connected_at = Some(now);
        self.store.aliases_clear();
        if session_present {
            self.store.qos2_carry_over();
        } else {
            self.store.qos2_clear();
            self.outbox.journal.note(Notice::Qos2Cleared);
        }
        self.restore_outbox(session_present);
        self.restore_subscriptions(session_present);
        self.ping_if_due(now);
        self.events.push(OwnedEvent::Connected { session_present });
    }

    /// After CONNACK: resend what the broker still expects, or deal with what it forgot. `[MQTT-4.4.0-1]`
    fn restore_outbox(&mut self, session_present: bool) {
        let policy = self.settings.on_session_lost;
        let ring = self.store.ring_mut();
        let mut inflight: u16 = 0;
        let mut first_report = None;
        let mut pos = self.outbox.first();
        while let Some(p) = pos {
            let next = self.outbox.next(ring, p);
            if let Some(mut h) = self.outbox.header(ring, p) {
                if h.state.is_abandoned() {
                    // Reported already: release its identifier if the broker may still hold it, else drop it.
                    if session_present {
                        h.state = Out::Abandon;
                        inflight = inflight.saturating_add(1);
                        self.outbox.set_header(ring, p, &h);
                    } else {
                        self.outbox.complete(ring, p);
                    }
                    pos = next;
                    continue;
                }
                let sent_before = h.state == Out::Sent || (h.state == Out::Queued && h.dup);
                let released = matches!(
                    h.state,
                    Out::Released | Out::ReleasePending | Out::Rereleased
                );
                match (session_present, sent_before, released) {
                    (true, true, _) => {
                        h.state = Out::Queued;
                        h.dup = true;
                    }
                    (true, _, true) => {
                        h.state = Out::ReleasePending;
                        inflight = inflight.saturating_add(1);
                    }
                    (false, true, _) if policy == SessionLostPolicy::Republish => {
                        h.state = Out::Queued;
                        h.dup = false;
                        h.packet_id = None;
                    }
                    (false, true, _) => {
                        h.state = Out::ReportLost;
                        first_report.get_or_insert(p);
                    }
                    (false, _, true) => {
                        // PUBREC means the broker took the message; only PUBCOMP is missing.
                        h.state = Out::ReportAccepted;
                        first_report.get_or_insert(p);
                    }
                    (false, false, false) if h.state == Out::Queued => {
                        // Given an identifier ahead of sending (persistence) but never sent: identifiers stay in
                        // record order, so it gets a new one after those requeued before it.
                        h.packet_id = None;
                    }
                    _ => {}
                }
                self.outbox.set_header(ring, p, &h);
            }
            pos = next;
        }
        self.inflight = inflight;
        self.outbox.rewind();
        if first_report.is_some() {
            self.outbox.set_report(first_report);
        }
    }

    fn restore_subscriptions(&mut self, session_present: bool) {
        self.subscriptions
            .retain(&mut self.subscriptions_buf, |entry, _| {
                match entry.state {
                    Sub::SubscribeSent => entry.state = Sub::SubscribeQueued,
                    Sub::UnsubscribeSent => entry.state = Sub::UnsubscribeQueued,
                    Sub::Active if !session_present => {
                        entry.state = Sub::SubscribeQueued;
                        entry.ticket = Ticket::RESUBSCRIBE.0;
                    }
                    _ => {}
                }
                entry.packet_id = None;
                true
            });
    }
}
