//! AUTH: a step of MQTT 5.0 extended authentication. `[MQTT-3.15]`

use crate::codec::properties::AuthProperties;
use crate::codec::reason::ReasonCode;
use crate::codec::wire::{Reader, Writer};
use crate::codec::{Body, PacketType, ProtocolVersion};
use crate::error::{DecodeError, EncodeError};

/// AUTH: one step of an extended authentication exchange (MQTT 5.0 only). `[MQTT-3.15]`
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Auth<'a> {
    /// Success, Continue authentication or Re-authenticate.
    pub reason: ReasonCode,
    /// Authentication method, data, reason string and user properties.
    pub properties: AuthProperties<'a>,
}

impl<'a> Auth<'a> {
    pub(crate) fn decode(r: &mut Reader<'a>) -> Result<Self, DecodeError> {
        let mut auth = Self::default();
        // The reason code and property length may be left out when they are success and empty. `[MQTT-3.15.2.1]`
        // A reason code without a property length is tolerated, as for DISCONNECT.
        if !r.is_empty() {
            auth.reason = r.reason_code(ProtocolVersion::V5)?;
            if !r.is_empty() {
                auth.properties = AuthProperties::decode(r)?;
            }
        }
        Ok(auth)
    }
}

impl Body for Auth<'_> {
    /// Both the reason code and the property length are left out for success without properties; otherwise
    /// both are written (AUTH has no reason-only form, unlike DISCONNECT). `[MQTT-3.15.2.1]`
    fn body_len(&self, _: ProtocolVersion) -> usize {
        if self.reason == ReasonCode::SUCCESS && self.properties.is_empty() {
            0
        } else {
            1 + self.properties.encoded_len()
        }
    }

    fn check(&self, packet: PacketType, version: ProtocolVersion) -> Result<(), EncodeError> {
        if !version.is_v5() {
            return Err(EncodeError::NotInProtocolVersion {
                packet,
                what: "the AUTH packet",
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
