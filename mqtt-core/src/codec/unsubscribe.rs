//! UNSUBSCRIBE and UNSUBACK. `[MQTT-3.10]`, `[MQTT-3.11]`

use crate::codec::list::List;
use crate::codec::properties::{UnsubAckProperties, UnsubscribeProperties};
use crate::codec::reason::ReasonCode;
use crate::codec::wire::{Reader, Writer, check_reason, prefixed_len};
use crate::codec::{Body, PacketId, PacketType, ProtocolVersion};
use crate::error::{DecodeError, EncodeError};
use crate::topic;

/// UNSUBSCRIBE: a request to remove one or more subscriptions. `[MQTT-3.10]`
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unsubscribe<'a> {
    /// Packet identifier, echoed by UNSUBACK.
    pub packet_id: PacketId,
    /// MQTT 5.0 properties (must be empty in 3.1.1).
    pub properties: UnsubscribeProperties<'a>,
    /// The topic filters to remove; at least one.
    pub filters: List<'a, &'a str>,
}

impl<'a> Unsubscribe<'a> {
    pub(crate) fn decode(
        r: &mut Reader<'a>,
        version: ProtocolVersion,
    ) -> Result<Self, DecodeError> {
        let packet_id = r.packet_id()?;
        let properties = match version.folded() {
            ProtocolVersion::V5 => UnsubscribeProperties::decode(r)?,
            ProtocolVersion::V311 => UnsubscribeProperties::default(),
        };
        let payload = r.rest();
        let mut pr = Reader::new(payload, PacketType::Unsubscribe);
        let mut count = 0;
        while !pr.is_empty() {
            topic::validate_filter_in(pr.string()?, version)
                .map_err(DecodeError::InvalidTopicFilter)?;
            count += 1;
        }
        if count == 0 {
            return Err(DecodeError::NoTopicFilter {
                packet: PacketType::Unsubscribe,
            });
        }
        Ok(Self {
            packet_id,
            properties,
            filters: List::wire(payload, count),
        })
    }
}

impl Body for Unsubscribe<'_> {
    fn body_len(&self, version: ProtocolVersion) -> usize {
        let mut len = 2;
        if version.is_v5() {
            len += self.properties.encoded_len();
        }
        len + self
            .filters
            .iter()
            .map(|f| prefixed_len(f.len()))
            .sum::<usize>()
    }

    fn check(&self, packet: PacketType, version: ProtocolVersion) -> Result<(), EncodeError> {
        if self.filters.is_empty() {
            return Err(EncodeError::NoTopicFilter);
        }
        if !version.is_v5() && !self.properties.is_empty() {
            return Err(EncodeError::NotInProtocolVersion {
                packet,
                what: "properties",
            });
        }
        Ok(())
    }

    fn write_body(&self, version: ProtocolVersion, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        w.u16(self.packet_id.get())?;
        if version.is_v5() {
            self.properties.write(w)?;
        }
        for filter in &self.filters {
            w.string(filter)?;
        }
        Ok(())
    }
}

/// UNSUBACK: acknowledges an UNSUBSCRIBE; in 5.0 with one reason code per filter. `[MQTT-3.11]`
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnsubAck<'a> {
    /// The identifier of the UNSUBSCRIBE.
    pub packet_id: PacketId,
    /// MQTT 5.0 properties (must be empty in 3.1.1).
    pub properties: UnsubAckProperties<'a>,
    /// One code per filter (5.0; always empty in 3.1.1).
    pub reasons: List<'a, ReasonCode>,
}

impl<'a> UnsubAck<'a> {
    pub(crate) fn decode(
        r: &mut Reader<'a>,
        version: ProtocolVersion,
    ) -> Result<Self, DecodeError> {
        let packet_id = r.packet_id()?;
        let (properties, reasons) = match version.folded() {
            ProtocolVersion::V5 => {
                let properties = UnsubAckProperties::decode(r)?;
                let codes = r.rest();
                for &code in codes {
                    check_reason(ReasonCode(code), PacketType::UnsubAck, version)?;
                }
                (properties, List::wire(codes, codes.len()))
            }
            ProtocolVersion::V311 => (UnsubAckProperties::default(), List::default()),
        };
        Ok(Self {
            packet_id,
            properties,
            reasons,
        })
    }
}

impl Body for UnsubAck<'_> {
    fn body_len(&self, version: ProtocolVersion) -> usize {
        match version.folded() {
            ProtocolVersion::V311 => 2,
            ProtocolVersion::V5 => 2 + self.properties.encoded_len() + self.reasons.len(),
        }
    }

    fn check(&self, packet: PacketType, version: ProtocolVersion) -> Result<(), EncodeError> {
        if !version.is_v5() && (!self.properties.is_empty() || !self.reasons.is_empty()) {
            return Err(EncodeError::NotInProtocolVersion {
                packet,
                what: "properties or reason codes",
            });
        }
        Ok(())
    }

    fn write_body(&self, version: ProtocolVersion, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        w.u16(self.packet_id.get())?;
        if version.is_v5() {
            self.properties.write(w)?;
            for code in &self.reasons {
                w.u8(code.0)?;
            }
        }
        Ok(())
    }
}
