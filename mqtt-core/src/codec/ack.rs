//! PUBACK, PUBREC, PUBREL and PUBCOMP: the acknowledgements of QoS 1 and 2 deliveries, which share one layout.
//! `[MQTT-3.4]` to `[MQTT-3.7]`

use crate::codec::properties::AckProperties;
use crate::codec::reason::ReasonCode;
use crate::codec::wire::{Reader, Writer};
use crate::codec::{Body, PacketId, PacketType, ProtocolVersion};
use crate::error::{DecodeError, EncodeError};

/// An acknowledgement of a QoS 1 or 2 PUBLISH: packet identifier, and in 5.0 a reason code and properties.
///
/// The [`Packet`](crate::codec::Packet) variant says which acknowledgement it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ack<'a> {
    /// The identifier of the PUBLISH being acknowledged.
    pub packet_id: PacketId,
    /// The outcome (5.0; always success in 3.1.1).
    pub reason: ReasonCode,
    /// MQTT 5.0 properties (must be empty in 3.1.1).
    pub properties: AckProperties<'a>,
}

/// PUBACK: QoS 1 delivery acknowledged. `[MQTT-3.4]`
pub type PubAck<'a> = Ack<'a>;
/// PUBREC: QoS 2 delivery, part 1 (received). `[MQTT-3.5]`
pub type PubRec<'a> = Ack<'a>;
/// PUBREL: QoS 2 delivery, part 2 (release). `[MQTT-3.6]`
pub type PubRel<'a> = Ack<'a>;
/// PUBCOMP: QoS 2 delivery, part 3 (complete). `[MQTT-3.7]`
pub type PubComp<'a> = Ack<'a>;

impl<'a> Ack<'a> {
    /// A successful acknowledgement without properties.
    pub fn new(packet_id: PacketId) -> Self {
        Self {
            packet_id,
            reason: ReasonCode::SUCCESS,
            properties: AckProperties::default(),
        }
    }

    pub(crate) fn decode(
        r: &mut Reader<'a>,
        version: ProtocolVersion,
    ) -> Result<Self, DecodeError> {
        let packet_id = r.packet_id()?;
        let mut ack = Self::new(packet_id);
        // 5.0: the reason code may be left out when it is success and there are no properties, and the property
        // length may be left out when there are no properties. `[MQTT-3.4.2.1]`
        if version.is_v5() && !r.is_empty() {
            ack.reason = r.reason_code(version)?;
            if !r.is_empty() {
                ack.properties = AckProperties::decode(r)?;
            }
        }
        Ok(ack)
    }

    /// Bytes of the body in 5.0 with the shortest form the specification allows.
    fn v5_len(&self) -> usize {
        if !self.properties.is_empty() {
            3 + self.properties.encoded_len()
        } else if self.reason != ReasonCode::SUCCESS {
            3
        } else {
            2
        }
    }
}

impl Body for Ack<'_> {
    fn body_len(&self, version: ProtocolVersion) -> usize {
        match version.folded() {
            ProtocolVersion::V311 => 2,
            ProtocolVersion::V5 => self.v5_len(),
        }
    }

    fn check(&self, packet: PacketType, version: ProtocolVersion) -> Result<(), EncodeError> {
        if !version.is_v5() && (self.reason != ReasonCode::SUCCESS || !self.properties.is_empty()) {
            return Err(EncodeError::NotInProtocolVersion {
                packet,
                what: "reason code or properties",
            });
        }
        Ok(())
    }

    fn write_body(&self, version: ProtocolVersion, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        w.u16(self.packet_id.get())?;
        let len = self.body_len(version);
        if len > 2 {
            w.u8(self.reason.0)?;
        }
        if len > 3 {
            self.properties.write(w)?;
        }
        Ok(())
    }
}
