//! PUBLISH: an application message, in either direction. `[MQTT-3.3]`

use crate::codec::properties::PublishProperties;
use crate::codec::wire::{Reader, Writer, prefixed_len, read_var_int};
use crate::codec::{Body, PacketId, PacketType, ProtocolVersion, QoS};
use crate::error::{DecodeError, EncodeError, TopicError};

const DUP: u8 = 0x08;
const QOS_SHIFT: u8 = 1;
const RETAIN: u8 = 0x01;

/// PUBLISH: an application message. `[MQTT-3.3]`
///
/// `packet_id` is present exactly when `qos` is 1 or 2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Publish<'a> {
    /// This is a redelivery of a message sent before (QoS 1 and 2 only).
    pub dup: bool,
    /// Quality of service of this delivery.
    pub qos: QoS,
    /// Retain the message on the server (client to server), or it is a retained message (server to client).
    pub retain: bool,
    /// Topic name. May be empty in 5.0 when `properties.topic_alias` stands for it.
    pub topic: &'a str,
    /// Packet identifier, for QoS 1 and 2.
    pub packet_id: Option<PacketId>,
    /// MQTT 5.0 properties (must be empty in 3.1.1).
    pub properties: PublishProperties<'a>,
    /// The application message.
    pub payload: &'a [u8],
}

impl<'a> Publish<'a> {
    /// An application message to send: `payload` to `topic` at `qos`, retained or not; no packet identifier
    /// (the session gives one at QoS 1 and 2), not a redelivery, no properties.
    #[must_use]
    pub fn new(topic: &'a str, payload: &'a [u8], qos: QoS, retain: bool) -> Self {
        Self {
            dup: false,
            qos,
            retain,
            topic,
            packet_id: None,
            properties: PublishProperties::default(),
            payload,
        }
    }

    pub(crate) fn decode(
        r: &mut Reader<'a>,
        flags: u8,
        version: ProtocolVersion,
    ) -> Result<Self, DecodeError> {
        let qos = QoS::from_u8((flags >> QOS_SHIFT) & 0x03)?;
        let dup = flags & DUP != 0;
        if dup && qos == QoS::AtMostOnce {
            return Err(DecodeError::DupOnQoS0);
        }
        let topic = r.topic_name()?;
        let packet_id = match qos {
            QoS::AtMostOnce => None,
            QoS::AtLeastOnce | QoS::ExactlyOnce => Some(r.packet_id()?),
        };
        let properties = match version.folded() {
            ProtocolVersion::V5 => PublishProperties::decode(r)?,
            ProtocolVersion::V311 => PublishProperties::default(),
        };
        if topic.is_empty() {
            if !version.is_v5() {
                return Err(DecodeError::InvalidTopicName(TopicError::Empty));
            }
            if properties.topic_alias.is_none() {
                return Err(DecodeError::EmptyTopicWithoutAlias);
            }
        }
        Ok(Self {
            dup,
            qos,
            retain: flags & RETAIN != 0,
            topic,
            packet_id,
            properties,
            payload: r.rest(),
        })
    }
}

impl Body for Publish<'_> {
    #[inline]
    fn body_len(&self, version: ProtocolVersion) -> usize {
        let mut len = prefixed_len(self.topic.len()) + self.payload.len();
        if self.packet_id.is_some() {
            len += 2;
        }
        if version.is_v5() {
            len += self.properties.encoded_len();
        }
        len
    }

    #[inline]
    fn flags(&self) -> u8 {
        let mut flags = u8::from(self.qos) << QOS_SHIFT;
        if self.dup {
            flags |= DUP;
        }
        if self.retain {
            flags |= RETAIN;
        }
        flags
    }

    #[inline]
    fn check(&self, packet: PacketType, version: ProtocolVersion) -> Result<(), EncodeError> {
        if (self.qos == QoS::AtMostOnce) != self.packet_id.is_none() {
            return Err(EncodeError::PacketIdMismatch);
        }
        if self.dup && self.qos == QoS::AtMostOnce {
            return Err(EncodeError::DupOnQoS0);
        }
        if !version.is_v5() && !self.properties.is_empty() {
            return Err(EncodeError::NotInProtocolVersion {
                packet,
                what: "properties",
            });
        }
        Ok(())
    }

    #[inline]
    fn write_body(&self, version: ProtocolVersion, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        w.string(self.topic)?;
        if let Some(packet_id) = self.packet_id {
            w.u16(packet_id.get())?;
        }
        if version.is_v5() {
            self.properties.write(w)?;
        }
        w.bytes(self.payload)
    }
}

/// Where the topic of an encoded PUBLISH starts (after its length prefix) and how long it is.
pub(crate) fn publish_topic_range(bytes: &[u8]) -> Option<core::ops::Range<usize>> {
    let (_, len_bytes) = read_var_int(bytes.get(1..)?).ok()??;
    let at = 1 + len_bytes;
    let len = bytes.get(at..at + 2)?;
    let len = usize::from(u16::from_be_bytes([*len.first()?, *len.get(1)?]));
    Some(at + 2..at + 2 + len)
}

/// Sets the DUP flag and the packet identifier of an encoded QoS 1 or 2 PUBLISH in place.
pub(crate) fn patch_publish(bytes: &mut [u8], dup: bool, packet_id: PacketId) -> bool {
    let Some(topic) = publish_topic_range(bytes) else {
        return false;
    };
    let Some(id) = bytes.get_mut(topic.end..topic.end + 2) else {
        return false;
    };
    id.copy_from_slice(&packet_id.get().to_be_bytes());
    if let Some(first) = bytes.first_mut() {
        if dup {
            *first |= DUP;
        } else {
            *first &= !DUP;
        }
    }
    true
}
