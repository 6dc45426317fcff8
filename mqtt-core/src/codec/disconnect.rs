//! DISCONNECT: the last packet of a connection, sent by the client or (5.0) the server. `[MQTT-3.14]`

use crate::codec::properties::DisconnectProperties;
use crate::codec::reason::ReasonCode;
use crate::codec::wire::{Reader, Writer};
use crate::codec::{Body, PacketType, ProtocolVersion};
use crate::error::{DecodeError, EncodeError};

/// DISCONNECT: an orderly close, with a reason in 5.0. `[MQTT-3.14]`
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Disconnect<'a> {
    /// Why the connection is closed (5.0; always Normal disconnection in 3.1.1).
    pub reason: ReasonCode,
    /// MQTT 5.0 properties (must be empty in 3.1.1).
    pub properties: DisconnectProperties<'a>,
}

impl<'a> Disconnect<'a> {
    pub(crate) fn decode(
        r: &mut Reader<'a>,
        version: ProtocolVersion,
    ) -> Result<Self, DecodeError> {
        let mut disconnect = Self::default();
        // 5.0: both the reason code and the property length may be left out. `[MQTT-3.14.2.1]`
        if version.is_v5() && !r.is_empty() {
            disconnect.reason = r.reason_code(version)?;
            if !r.is_empty() {
                disconnect.properties = DisconnectProperties::decode(r)?;
            }
        }
        Ok(disconnect)
    }
}

impl Body for Disconnect<'_> {
    fn body_len(&self, version: ProtocolVersion) -> usize {
        match version.folded() {
            ProtocolVersion::V311 => 0,
            ProtocolVersion::V5 => {
                reason_and_properties_len(self.reason, self.properties.is_empty(), || {
                    self.properties.encoded_len()
                })
            }
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
        let len = self.body_len(version);
        if len > 0 {
            w.u8(self.reason.0)?;
        }
        if len > 1 {
            self.properties.write(w)?;
        }
        Ok(())
    }
}

/// Body length of DISCONNECT in its shortest form: nothing when the reason is success and there are no
/// properties, the reason alone when there are no properties, else both.
fn reason_and_properties_len(
    reason: ReasonCode,
    properties_empty: bool,
    properties_len: impl FnOnce() -> usize,
) -> usize {
    if !properties_empty {
        1 + properties_len()
    } else if reason != ReasonCode::SUCCESS {
        1
    } else {
        0
    }
}
