//! SUBSCRIBE and SUBACK. `[MQTT-3.8]`, `[MQTT-3.9]`

use crate::codec::list::{List, ListItem, read_prefixed};
use crate::codec::properties::{SubAckProperties, SubscribeProperties};
use crate::codec::reason::ReasonCode;
use crate::codec::wire::{Reader, Writer, check_reason, prefixed_len};
use crate::codec::{Body, PacketId, PacketType, ProtocolVersion, QoS};
use crate::error::{DecodeError, EncodeError};
use crate::topic;

const NO_LOCAL: u8 = 0x04;
const RETAIN_AS_PUBLISHED: u8 = 0x08;
const RETAIN_HANDLING_SHIFT: u8 = 4;

/// When the server sends retained messages for a new subscription (5.0). `[MQTT-3.8.3.1]`
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[repr(u8)]
pub enum RetainHandling {
    /// Send retained messages at the time of the subscribe.
    #[default]
    SendAtSubscribe = 0,
    /// Send retained messages only if the subscription did not exist before.
    SendAtSubscribeIfNew = 1,
    /// Do not send retained messages.
    DoNotSend = 2,
}

/// The options of one subscription. `[MQTT-3.8.3.1]`
///
/// In MQTT 3.1.1 only `qos` exists; the other fields must keep their defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct SubscriptionOptions {
    /// The highest QoS the server may use to send matching messages.
    pub qos: QoS,
    /// Do not receive the messages this client publishes itself (5.0; not allowed on shared subscriptions).
    pub no_local: bool,
    /// Keep the RETAIN flag as published instead of clearing it on forwarded messages (5.0).
    pub retain_as_published: bool,
    /// When retained messages are sent (5.0).
    pub retain_handling: RetainHandling,
}

impl SubscriptionOptions {
    /// The options byte.
    pub const fn to_byte(self) -> u8 {
        let mut byte = self.qos as u8 | ((self.retain_handling as u8) << RETAIN_HANDLING_SHIFT);
        if self.no_local {
            byte |= NO_LOCAL;
        }
        if self.retain_as_published {
            byte |= RETAIN_AS_PUBLISHED;
        }
        byte
    }

    /// Parses an options byte, rejecting reserved bits (all bits above QoS in 3.1.1). `[MQTT-3.8.3-5]`
    ///
    /// # Errors
    ///
    /// [`DecodeError::InvalidQoS`] for QoS 3, [`DecodeError::InvalidSubscriptionOptions`] for reserved bits or
    /// Retain Handling 3.
    pub const fn from_byte(byte: u8, version: ProtocolVersion) -> Result<Self, DecodeError> {
        let reserved = match version.folded() {
            ProtocolVersion::V311 => 0xfc,
            ProtocolVersion::V5 => 0xc0,
        };
        if byte & reserved != 0 {
            return Err(DecodeError::InvalidSubscriptionOptions(byte));
        }
        let qos = match QoS::from_u8(byte & 0x03) {
            Ok(qos) => qos,
            Err(e) => return Err(e),
        };
        let retain_handling = match (byte >> RETAIN_HANDLING_SHIFT) & 0x03 {
            0 => RetainHandling::SendAtSubscribe,
            1 => RetainHandling::SendAtSubscribeIfNew,
            2 => RetainHandling::DoNotSend,
            _ => return Err(DecodeError::InvalidSubscriptionOptions(byte)),
        };
        Ok(Self {
            qos,
            no_local: byte & NO_LOCAL != 0,
            retain_as_published: byte & RETAIN_AS_PUBLISHED != 0,
            retain_handling,
        })
    }

    fn is_v311(self) -> bool {
        !self.no_local
            && !self.retain_as_published
            && self.retain_handling == RetainHandling::SendAtSubscribe
    }
}

/// One topic filter of a SUBSCRIBE with its options.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Subscription<'a> {
    /// The topic filter (may contain wildcards, or be a `$share/group/filter` shared subscription).
    pub filter: &'a str,
    /// The subscription options.
    pub options: SubscriptionOptions,
}

impl<'a> Subscription<'a> {
    /// A subscription to `filter` at `qos` with default options.
    pub const fn new(filter: &'a str, qos: QoS) -> Self {
        Self {
            filter,
            options: SubscriptionOptions {
                qos,
                no_local: false,
                retain_as_published: false,
                retain_handling: RetainHandling::SendAtSubscribe,
            },
        }
    }
}

impl<'a> ListItem<'a> for Subscription<'a> {
    fn read_item(bytes: &mut &'a [u8]) -> Option<Self> {
        let filter = core::str::from_utf8(read_prefixed(bytes)?).ok()?;
        let (&options, rest) = bytes.split_first()?;
        *bytes = rest;
        Some(Self {
            filter,
            options: SubscriptionOptions::from_byte(options, ProtocolVersion::V5).ok()?,
        })
    }
}

/// SUBSCRIBE: a request for one or more subscriptions. `[MQTT-3.8]`
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subscribe<'a> {
    /// Packet identifier, echoed by SUBACK.
    pub packet_id: PacketId,
    /// MQTT 5.0 properties (must be empty in 3.1.1).
    pub properties: SubscribeProperties<'a>,
    /// The subscriptions; at least one.
    pub filters: List<'a, Subscription<'a>>,
}

impl<'a> Subscribe<'a> {
    pub(crate) fn decode(
        r: &mut Reader<'a>,
        version: ProtocolVersion,
    ) -> Result<Self, DecodeError> {
        let packet_id = r.packet_id()?;
        let properties = match version.folded() {
            ProtocolVersion::V5 => SubscribeProperties::decode(r)?,
            ProtocolVersion::V311 => SubscribeProperties::default(),
        };
        let payload = r.rest();
        let mut pr = Reader::new(payload, PacketType::Subscribe);
        let mut count = 0;
        while !pr.is_empty() {
            let filter = pr.string()?;
            topic::validate_filter_in(filter, version).map_err(DecodeError::InvalidTopicFilter)?;
            let options = SubscriptionOptions::from_byte(pr.u8()?, version)?;
            if options.no_local && topic::is_shared_in(filter, version) {
                return Err(DecodeError::NoLocalOnSharedSubscription);
            }
            count += 1;
        }
        if count == 0 {
            return Err(DecodeError::NoTopicFilter {
                packet: PacketType::Subscribe,
            });
        }
        Ok(Self {
            packet_id,
            properties,
            filters: List::wire(payload, count),
        })
    }
}

impl Body for Subscribe<'_> {
    fn body_len(&self, version: ProtocolVersion) -> usize {
        let mut len = 2;
        if version.is_v5() {
            len += self.properties.encoded_len();
        }
        len + self
            .filters
            .iter()
            .map(|s| prefixed_len(s.filter.len()) + 1)
            .sum::<usize>()
    }

    fn check(&self, packet: PacketType, version: ProtocolVersion) -> Result<(), EncodeError> {
        if self.filters.is_empty() {
            return Err(EncodeError::NoTopicFilter);
        }
        if !version.is_v5()
            && (!self.properties.is_empty() || self.filters.iter().any(|s| !s.options.is_v311()))
        {
            return Err(EncodeError::NotInProtocolVersion {
                packet,
                what: "properties or 5.0 subscription options",
            });
        }
        Ok(())
    }

    fn write_body(&self, version: ProtocolVersion, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        w.u16(self.packet_id.get())?;
        if version.is_v5() {
            self.properties.write(w)?;
        }
        for subscription in &self.filters {
            w.string(subscription.filter)?;
            w.u8(subscription.options.to_byte())?;
        }
        Ok(())
    }
}

/// SUBACK: the outcome of each subscription of a SUBSCRIBE, in order. `[MQTT-3.9]`
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SubAck<'a> {
    /// The identifier of the SUBSCRIBE.
    pub packet_id: PacketId,
    /// MQTT 5.0 properties (must be empty in 3.1.1).
    pub properties: SubAckProperties<'a>,
    /// One code per subscription: the granted QoS (0 to 2) or a failure (`0x80` and above).
    pub reasons: List<'a, ReasonCode>,
}

impl<'a> SubAck<'a> {
    pub(crate) fn decode(
        r: &mut Reader<'a>,
        version: ProtocolVersion,
    ) -> Result<Self, DecodeError> {
        let packet_id = r.packet_id()?;
        let properties = match version.folded() {
            ProtocolVersion::V5 => SubAckProperties::decode(r)?,
            ProtocolVersion::V311 => SubAckProperties::default(),
        };
        let codes = r.rest();
        for &code in codes {
            check_reason(ReasonCode(code), PacketType::SubAck, version)?;
        }
        Ok(Self {
            packet_id,
            properties,
            reasons: List::wire(codes, codes.len()),
        })
    }
}

impl Body for SubAck<'_> {
    fn body_len(&self, version: ProtocolVersion) -> usize {
        let props = match version.folded() {
            ProtocolVersion::V5 => self.properties.encoded_len(),
            ProtocolVersion::V311 => 0,
        };
        2 + props + self.reasons.len()
    }

    fn check(&self, packet: PacketType, version: ProtocolVersion) -> Result<(), EncodeError> {
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
        for code in &self.reasons {
            w.u8(code.0)?;
        }
        Ok(())
    }
}
