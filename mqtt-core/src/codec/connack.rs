//! CONNACK: the server's answer to CONNECT. `[MQTT-3.2]`

use crate::codec::properties::ConnAckProperties;
use crate::codec::reason::ReasonCode;
use crate::codec::wire::{Reader, Writer, check_reason};
use crate::codec::{Body, PacketType, ProtocolVersion};
use crate::error::{DecodeError, EncodeError};

/// CONNACK: whether the connection is accepted, and whether the server kept a session. `[MQTT-3.2]`
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ConnAck<'a> {
    /// The server resumed a session it held for this client.
    pub session_present: bool,
    /// Connect Reason Code (5.0), or the Connect Return Code (3.1.1: 0 accepted, 1 to 5 refusals). Either way
    /// 0 means accepted.
    pub reason: ReasonCode,
    /// MQTT 5.0 properties (must be empty in 3.1.1).
    pub properties: ConnAckProperties<'a>,
}

impl<'a> ConnAck<'a> {
    pub(crate) fn decode(
        r: &mut Reader<'a>,
        version: ProtocolVersion,
    ) -> Result<Self, DecodeError> {
        let flags = r.u8()?;
        if flags & 0xfe != 0 {
            return Err(DecodeError::InvalidConnAckFlags(flags));
        }
        let reason = ReasonCode(r.u8()?);
        // A 3.1.1-only server answers a level-5 CONNECT with a 3.1.1 CONNACK (return code 1 to 5, no property
        // length, `[MQTT-3.1.2-2]` of 3.1.1): keep that code so that the refusal can be reported.
        let v311_refusal = version.is_v5() && r.is_empty() && matches!(reason.0, 1..=5);
        if !v311_refusal {
            check_reason(reason, PacketType::ConnAck, version)?;
        }
        // A 5.0 CONNACK always has a property length; tolerate its absence rather than fail a connection over it.
        let properties = match version.folded() {
            ProtocolVersion::V5 if !r.is_empty() => ConnAckProperties::decode(r)?,
            _ => ConnAckProperties::default(),
        };
        Ok(Self {
            session_present: flags & 0x01 != 0,
            reason,
            properties,
        })
    }
}

impl ConnAck<'_> {
    /// Whether this is the 3.1.1 refusal a 3.1.1-only server sends to a level-5 CONNECT (return code 1 to 5):
    /// it is written as that server writes it, without a property length, so that it decodes back to itself.
    fn has_v311_body(&self, version: ProtocolVersion) -> bool {
        !version.is_v5() || matches!(self.reason.0, 1..=5)
    }
}

impl Body for ConnAck<'_> {
    fn body_len(&self, version: ProtocolVersion) -> usize {
        if self.has_v311_body(version) {
            2
        } else {
            2 + self.properties.encoded_len()
        }
    }

    fn check(&self, packet: PacketType, version: ProtocolVersion) -> Result<(), EncodeError> {
        if self.has_v311_body(version) && !self.properties.is_empty() {
            return Err(EncodeError::NotInProtocolVersion {
                packet,
                what: if version.is_v5() {
                    "properties with a 3.1.1 return code"
                } else {
                    "properties"
                },
            });
        }
        Ok(())
    }

    fn write_body(&self, version: ProtocolVersion, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        w.u8(u8::from(self.session_present))?;
        w.u8(self.reason.0)?;
        if !self.has_v311_body(version) {
            self.properties.write(w)?;
        }
        Ok(())
    }
}
