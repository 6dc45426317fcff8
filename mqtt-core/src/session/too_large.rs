//! A 3.1.1 message larger than the maximum packet size, which a 3.1.1 client cannot announce: read past without
//! keeping it and acknowledged in order with the others, so that a persistent session gets past it
//! ([`Event::MessageTooLarge`]).
//!
//! [`Event::MessageTooLarge`]: super::Event::MessageTooLarge

use super::Session;
use super::event::OwnedEvent;
use super::journal::Notice;
use super::receive::Step;
use crate::codec::{PacketId, PacketType, QoS, ReasonCode};
use crate::error::{DecodeError, ProtocolError};

impl Session<'_> {
    /// A 3.1.1 PUBLISH larger than the maximum packet size at the front of `buf` (`size` bytes in all): taken as
    /// received without keeping it, and acknowledged as any other (see [`Event::MessageTooLarge`]). Its topic
    /// and packet identifier must be buffered; the rest is read past as it comes.
    ///
    /// [`Event::MessageTooLarge`]: super::Event::MessageTooLarge
    pub(super) fn read_past_publish(
        &mut self,
        buf: &[u8],
        size: u32,
        max: u32,
    ) -> Option<(Step, usize)> {
        let too_large = ProtocolError::Malformed(DecodeError::PacketTooLarge { size, max });
        let first = *buf.first()?;
        let Ok(qos) = QoS::from_u8((first >> 1) & 3) else {
            return Some((Step::Error(too_large), 0));
        };
        // The fixed header: the type byte and one to four bytes of remaining length.
        let header = buf
            .iter()
            .skip(1)
            .take(4)
            .position(|b| b & 0x80 == 0)
            .map(|last| last + 2)?;
        let field = |at: usize| -> Option<u16> {
            Some(u16::from_be_bytes([*buf.get(at)?, *buf.get(at + 1)?]))
        };
        let topic_len = usize::from(field(header)?);
        if header + 4 + topic_len > max as usize {
            // The topic alone does not fit what the session can buffer: it cannot be read past in order.
            return Some((Step::Error(too_large), 0));
        }
        let packet_id = match qos {
            QoS::AtMostOnce => None,
            _ => match PacketId::new(field(header + 2 + topic_len)?) {
                Some(id) => Some(id),
                // A QoS 1 or 2 PUBLISH with packet identifier 0. `[MQTT-2.3.1-1]`
                None => return Some((Step::Error(too_large), 0)),
            },
        };
        if let Some(id) = packet_id {
            let manual = self.settings.manual_ack;
            let dup = first & 0x08 != 0;
            if manual && self.receipts.is_full() {
                self.input_blocked = true;
                return None;
            }
            let pending =
                manual && dup && self.receipts.find(self.store.receipts(), id, qos).is_some();
            if !pending {
                if qos == QoS::ExactlyOnce {
                    if self.store.qos2_contains(id.get()) {
                        self.store.qos2_refresh(id.get());
                    } else if !self.qos2_insert(id) {
                        let max = u16::try_from(self.store.qos2_capacity()).unwrap_or(u16::MAX);
                        return Some((Step::Error(ProtocolError::ReceiveMaximumExceeded(max)), 0));
                    }
                }
                if manual {
                    // Acknowledged at once, in order behind the messages the application still holds.
                    let ring = self.store.receipts_mut();
                    let _ = self.receipts.push(ring, id, qos, true);
                    if qos == QoS::ExactlyOnce {
                        self.outbox.journal.note(Notice::Qos2Received(id.get()));
                    }
                } else {
                    let packet = match qos {
                        QoS::ExactlyOnce => PacketType::PubRec,
                        _ => PacketType::PubAck,
                    };
                    self.queue_ack(packet, id, ReasonCode::SUCCESS);
                }
            }
        }
        let total = size as usize;
        let used = buf.len().min(total);
        self.skip_incoming = total - used;
        self.stats.messages_received += 1;
        self.stats.messages_too_large += 1;
        self.events
            .push(OwnedEvent::MessageTooLarge { size, max, qos });
        Some((Step::Continue, used))
    }
}
