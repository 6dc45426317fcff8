//! Handing messages to the application at its pace: manual acknowledgement ([`Session::ack`]), holding a message
//! the application cannot take yet ([`Session::hold_message`]), and the pause they cause. The contract is in the
//! [module docs](super#acknowledging-messages-manually).

use super::{AckToken, PendingAck, Session, SessionState, Timer};
use crate::codec::{Packet, PacketType, QoS};
use crate::time::Instant;

/// The message the latest `poll_event` handed out, until its bytes are released by the next call.
#[derive(Debug, Clone, Copy)]
pub(super) struct Delivery {
    /// The topic alias its topic is resolved from, if it came without a topic.
    pub(super) alias: Option<u16>,
    /// Its receipt in the acknowledgement record (`manual_ack`, QoS 1 and 2).
    pub(super) token: Option<AckToken>,
    /// Without `manual_ack`: its acknowledgement, taken back out of the queue by `hold_message`, to queue again
    /// when the application takes the message.
    pub(super) retracted: Option<PendingAck>,
}

impl Session<'_> {
    /// The acknowledgement token of the message the latest [`poll_event`](Self::poll_event) returned: `Some` for a
    /// QoS 1 or 2 message with [`Config::manual_ack`](crate::Config::manual_ack), `None` otherwise (and after any
    /// other event). Valid until the next `poll_event`; the token itself stays usable with [`ack`](Self::ack)
    /// for as long as the connection lasts.
    pub fn message_ack(&self) -> Option<AckToken> {
        self.last_ack
    }

    /// The application has the message of `token` in hand: its PUBACK or PUBREC may go out
    /// ([`Config::manual_ack`](crate::Config::manual_ack)).
    ///
    /// Returns `true` if this marked a message acknowledged. Acknowledgements leave in the order the PUBLISH
    /// packets arrived: this one goes out (through [`poll_transmit`](Self::poll_transmit), shown by
    /// [`wants_write`](Self::wants_write)) once every message that arrived before it is acknowledged too, together
    /// with the acknowledged ones after it. A token of a connection that has ended, or of a message acknowledged
    /// before, returns `false` and does nothing; so does every token without `manual_ack`. (Tokens are not
    /// checked against the session that issued them: a token of another session may acknowledge a message of this
    /// one.)
    ///
    /// # Spec
    ///
    /// `[MQTT-4.6.0-2]` PUBACK and `[MQTT-4.6.0-3]` PUBREC in the order the PUBLISH packets were received.
    pub fn ack(&mut self, token: AckToken, now: Instant) -> bool {
        self.now = now;
        let acked = self
            .receipts
            .acknowledge(self.store.receipts_mut(), token.0);
        #[cfg(feature = "persist")]
        if acked
            && let Some(receipt) = self.receipts.by_seq(self.store.receipts(), token.0)
            && receipt.qos == QoS::ExactlyOnce
        {
            // The application has it: its identifier is stored before its PUBREC goes out.
            self.outbox
                .journal
                .note(super::journal::Notice::Qos2Received(
                    receipt.packet_id.get(),
                ));
        }
        acked
    }

    /// The application cannot take the message the latest [`poll_event`](Self::poll_event) returned (its queues
    /// are full): the next `poll_event` returns the same [`Event::Message`](super::Event::Message) again, with the
    /// same [`message_ack`](Self::message_ack) token, and processes nothing after it until then. Nothing the
    /// message did to the session (statistics, QoS 2 table, topic aliases, acknowledgement record) happens twice.
    ///
    /// Call it right after `poll_event`, before any other call into the session (reading bytes in releases the
    /// message). Returns whether a message is now held: `false` if the latest `poll_event` did not return a
    /// message, or it was released already. Without manual acknowledgement, the message's PUBACK or PUBREC is held
    /// back as well if it has not been written yet. See the [module docs](super#holding-a-message) for what a
    /// connection loss does to a held message.
    pub fn hold_message(&mut self) -> bool {
        let Some(mut delivery) = self.delivery else {
            return false;
        };
        if !self.holding && !self.settings.manual_ack && delivery.retracted.is_none() {
            // Its acknowledgement, queued last when it was processed, unless `poll_transmit` took it already.
            if let Some(Packet::Publish(publish)) = self.front_packet()
                && let Some(packet_id) = publish.packet_id
            {
                let packet = match publish.qos {
                    QoS::ExactlyOnce => PacketType::PubRec,
                    _ => PacketType::PubAck,
                };
                if self
                    .acks
                    .peek_back()
                    .is_some_and(|a| a.packet == packet && a.packet_id == packet_id)
                {
                    delivery.retracted = self.acks.pop_back();
                }
            }
        }
        self.delivery = Some(delivery);
        self.holding = true;
        true
    }

    /// Whether the session holds a message back for the application ([`hold_message`](Self::hold_message)): the
    /// next [`poll_event`](Self::poll_event) returns it again.
    pub fn has_held_message(&self) -> bool {
        self.holding
    }

    /// Whether processing of received packets waits for the application: a message is held, the next QoS 1 or 2
    /// PUBLISH waits for room in the acknowledgement record, or the receive buffer is full of unprocessed bytes.
    /// A ping deadline does not end the connection while paused (see [`handle_timeout`](Self::handle_timeout)).
    ///
    /// Changes after `poll_event` (which finds out whether the next PUBLISH fits), `hold_message`, reading bytes
    /// in, and the end of a connection.
    pub fn is_paused(&self) -> bool {
        let released = if self.holding { 0 } else { self.rx_release };
        let unprocessed = (self.rx_end - self.rx_start).saturating_sub(released);
        self.holding || self.input_blocked || (unprocessed > 0 && unprocessed >= self.rx.capacity())
    }

    /// Incoming QoS 1 and 2 messages of the current connection whose acknowledgement has not been sent: awaiting
    /// [`ack`](Self::ack), or acked and waiting for an earlier message's ack or for `poll_transmit`. At most
    /// [`Config::receive_maximum`](crate::Config::receive_maximum); always 0 without manual acknowledgement.
    pub fn pending_acks(&self) -> usize {
        self.receipts.len()
    }

    // ----- internals -----

    /// Whether the acknowledgement at the front of the record may be sent.
    pub(super) fn receipt_ready(&self) -> bool {
        self.receipts.ready(self.store.receipts()).is_some()
    }

    /// The connection ends: a held message is dropped. A held QoS 2 message whose PUBREC was not written never
    /// reached the application, so its identifier leaves the QoS 2 table and the broker's resend is delivered.
    /// Call before the receive buffer, the acknowledgement record and `down_pending` are cleared.
    pub(super) fn drop_delivery(&mut self) {
        if self.holding
            && let Some(delivery) = self.delivery
            && let Some(Packet::Publish(publish)) = self.front_packet()
            && publish.qos == QoS::ExactlyOnce
            && let Some(packet_id) = publish.packet_id
        {
            // Without manual acknowledgement its PUBREC was taken back out of the queue by `hold_message`, or was
            // never queued: a message processed after the transport went down (`down_pending`, which a loss does
            // not start while a message is held) is acknowledged to no one.
            let pubrec_unsent = match delivery.token {
                Some(token) => self.receipts.contains(token.0),
                None => delivery.retracted.is_some() || self.down_pending,
            };
            if pubrec_unsent && self.store.qos2_remove(packet_id.get()) {
                self.outbox
                    .journal
                    .note(super::journal::Notice::Qos2Released(packet_id.get()));
            }
        }
        self.holding = false;
        self.delivery = None;
    }

    /// Keep alive: nothing was sent for the keep alive interval, so PINGREQ goes out next. Besides
    /// `handle_timeout`, called where the keep alive deadline can move into the past without time passing: a
    /// PINGRESP processed late, behind input the application paused (the ping deadline, started again when a
    /// pause ended, may lie beyond the next keep alive), and a CONNACK that took longer than the keep alive.
    pub(super) fn ping_if_due(&mut self, now: Instant) {
        if let Some(due) = self.keep_alive_due()
            && now >= due
        {
            self.send_ping = true;
            self.ping_outstanding = true;
            if !self.ping_deferred {
                self.set_timer(Timer::Ping, Some(now + self.ping_timeout()));
            }
        }
    }

    /// A ping deadline deferred by a pause starts again, `ping_timeout` from now, once the pause is over.
    pub(super) fn resume_keep_alive(&mut self) {
        if !self.ping_deferred || self.is_paused() {
            return;
        }
        self.ping_deferred = false;
        if self.ping_outstanding
            && matches!(
                self.state,
                SessionState::Connected | SessionState::Disconnecting
            )
        {
            self.set_timer(Timer::Ping, Some(self.now + self.ping_timeout()));
        }
    }
}
