//! MQTT 5.0 properties (section 2.2.2): one typed struct per packet, holding exactly the properties that packet may
//! carry.
//!
//! A property the packet may not carry, an unknown identifier, a repeated single-valued property or a value outside
//! its range is a [`DecodeError`]. Multi-valued properties (User Property on every packet, Subscription Identifier on
//! PUBLISH) are [`List`]s that, once decoded, iterate the property block in its original order.

use core::num::{NonZeroU16, NonZeroU32};

use crate::codec::list::{List, ListItem};
use crate::codec::wire::{MAX_VAR_INT, Reader, Writer, prefixed_len, var_int_len};
use crate::codec::{PacketType, QoS};
use crate::error::{DecodeError, EncodeError};

/// How a property value is laid out on the wire. `[MQTT-2.2.2.2]`
#[derive(Clone, Copy)]
enum WireKind {
    Byte,
    TwoByte,
    FourByte,
    VarInt,
    String,
    Binary,
    StringPair,
}

/// The wire layout of every property identifier MQTT 5.0 defines.
const fn wire_kind(id: u32) -> Option<WireKind> {
    Some(match id {
        0x01 | 0x17 | 0x19 | 0x24 | 0x25 | 0x28 | 0x29 | 0x2a => WireKind::Byte,
        0x13 | 0x21 | 0x22 | 0x23 => WireKind::TwoByte,
        0x02 | 0x11 | 0x18 | 0x27 => WireKind::FourByte,
        0x0b => WireKind::VarInt,
        0x03 | 0x08 | 0x12 | 0x15 | 0x1a | 0x1c | 0x1f => WireKind::String,
        0x09 | 0x16 => WireKind::Binary,
        0x26 => WireKind::StringPair,
        _ => return None,
    })
}

fn skip_value(kind: WireKind, r: &mut Reader<'_>) -> Result<(), DecodeError> {
    match kind {
        WireKind::Byte => r.u8().map(drop),
        WireKind::TwoByte => r.u16().map(drop),
        WireKind::FourByte => r.u32().map(drop),
        WireKind::VarInt => r.var_int().map(drop),
        WireKind::String => r.string().map(drop),
        WireKind::Binary => r.binary().map(drop),
        WireKind::StringPair => r.string().and_then(|_| r.string()).map(drop),
    }
}

/// The error for an identifier that is not in the packet's property set.
fn unexpected(id: u32, packet: PacketType) -> DecodeError {
    let byte = u8::try_from(id).unwrap_or(u8::MAX);
    match wire_kind(id) {
        Some(_) => DecodeError::PropertyNotAllowed {
            packet,
            property: byte,
        },
        None => DecodeError::UnknownProperty(byte),
    }
}

/// A property value type: how it is read, measured and written.
pub(crate) trait PropValue<'a>: Sized {
    fn read_value(r: &mut Reader<'a>, id: u8) -> Result<Self, DecodeError>;
    fn value_len(&self) -> usize;
    fn write_value(&self, w: &mut Writer<'_>) -> Result<(), EncodeError>;
}

/// A property that may appear several times, collected into a [`List`].
pub(crate) trait MultiProp<'a>: PropValue<'a> {
    const ID: u8;
}

impl PropValue<'_> for bool {
    fn read_value(r: &mut Reader<'_>, id: u8) -> Result<Self, DecodeError> {
        match r.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(DecodeError::InvalidPropertyValue(id)),
        }
    }
    fn value_len(&self) -> usize {
        1
    }
    fn write_value(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        w.u8(u8::from(*self))
    }
}

impl PropValue<'_> for QoS {
    /// Maximum QoS: 0 or 1 (2 is expressed by leaving the property out). `[MQTT-3.2.2.3.4]`
    fn read_value(r: &mut Reader<'_>, id: u8) -> Result<Self, DecodeError> {
        match r.u8()? {
            0 => Ok(Self::AtMostOnce),
            1 => Ok(Self::AtLeastOnce),
            _ => Err(DecodeError::InvalidPropertyValue(id)),
        }
    }
    fn value_len(&self) -> usize {
        1
    }
    fn write_value(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        w.u8(u8::from(*self))
    }
}

impl PropValue<'_> for u16 {
    fn read_value(r: &mut Reader<'_>, _: u8) -> Result<Self, DecodeError> {
        r.u16()
    }
    fn value_len(&self) -> usize {
        2
    }
    fn write_value(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        w.u16(*self)
    }
}

impl PropValue<'_> for NonZeroU16 {
    fn read_value(r: &mut Reader<'_>, id: u8) -> Result<Self, DecodeError> {
        Self::new(r.u16()?).ok_or(DecodeError::InvalidPropertyValue(id))
    }
    fn value_len(&self) -> usize {
        2
    }
    fn write_value(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        w.u16(self.get())
    }
}

impl PropValue<'_> for u32 {
    fn read_value(r: &mut Reader<'_>, _: u8) -> Result<Self, DecodeError> {
        r.u32()
    }
    fn value_len(&self) -> usize {
        4
    }
    fn write_value(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        w.u32(*self)
    }
}

impl PropValue<'_> for NonZeroU32 {
    fn read_value(r: &mut Reader<'_>, id: u8) -> Result<Self, DecodeError> {
        Self::new(r.u32()?).ok_or(DecodeError::InvalidPropertyValue(id))
    }
    fn value_len(&self) -> usize {
        4
    }
    fn write_value(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        w.u32(self.get())
    }
}

impl<'a> PropValue<'a> for &'a str {
    fn read_value(r: &mut Reader<'a>, _: u8) -> Result<Self, DecodeError> {
        r.string()
    }
    fn value_len(&self) -> usize {
        prefixed_len(self.len())
    }
    fn write_value(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        w.string(self)
    }
}

impl<'a> PropValue<'a> for &'a [u8] {
    fn read_value(r: &mut Reader<'a>, _: u8) -> Result<Self, DecodeError> {
        r.binary()
    }
    fn value_len(&self) -> usize {
        prefixed_len(self.len())
    }
    fn write_value(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        w.binary(self)
    }
}

/// A User Property: a name and value pair that MQTT gives no meaning to. `[MQTT-3.3.2.3.7]`
///
/// May appear any number of times, and the same name more than once; order is preserved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct UserProperty<'a> {
    /// The name.
    pub name: &'a str,
    /// The value.
    pub value: &'a str,
}

impl<'a> PropValue<'a> for UserProperty<'a> {
    fn read_value(r: &mut Reader<'a>, _: u8) -> Result<Self, DecodeError> {
        Ok(Self {
            name: r.string()?,
            value: r.string()?,
        })
    }
    fn value_len(&self) -> usize {
        prefixed_len(self.name.len()) + prefixed_len(self.value.len())
    }
    fn write_value(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        w.string(self.name)?;
        w.string(self.value)
    }
}

impl<'a> MultiProp<'a> for UserProperty<'a> {
    const ID: u8 = 0x26;
}

/// A Subscription Identifier: 1 to 268,435,455. `[MQTT-3.8.2.1.2]`
///
/// Set on a SUBSCRIBE, it comes back on every PUBLISH that the subscription matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SubscriptionId(NonZeroU32);

impl SubscriptionId {
    /// The largest subscription identifier.
    pub const MAX: u32 = MAX_VAR_INT;

    /// The identifier `value`, if it is in 1..=268,435,455.
    pub const fn new(value: u32) -> Option<Self> {
        match NonZeroU32::new(value) {
            Some(v) if value <= Self::MAX => Some(Self(v)),
            _ => None,
        }
    }

    /// The numeric value.
    pub const fn get(self) -> u32 {
        self.0.get()
    }
}

impl PropValue<'_> for SubscriptionId {
    fn read_value(r: &mut Reader<'_>, id: u8) -> Result<Self, DecodeError> {
        Self::new(r.var_int()?).ok_or(DecodeError::InvalidPropertyValue(id))
    }
    fn value_len(&self) -> usize {
        var_int_len(self.get() as usize)
    }
    fn write_value(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        w.var_int(self.get() as usize)
    }
}

impl MultiProp<'_> for SubscriptionId {
    const ID: u8 = 0x0b;
}

/// Finds the next property `T` in a validated property block, skipping the others.
fn next_multi<'a, T: MultiProp<'a>>(bytes: &mut &'a [u8]) -> Option<T> {
    let mut r = Reader::new(bytes, PacketType::Publish);
    let found = loop {
        if r.is_empty() {
            break None;
        }
        let id = r.var_int().ok()?;
        if id == u32::from(T::ID) {
            break Some(T::read_value(&mut r, T::ID).ok()?);
        }
        skip_value(wire_kind(id)?, &mut r).ok()?;
    };
    *bytes = r.rest();
    found
}

impl<'a> ListItem<'a> for UserProperty<'a> {
    fn read_item(bytes: &mut &'a [u8]) -> Option<Self> {
        next_multi(bytes)
    }
}

impl<'a> ListItem<'a> for SubscriptionId {
    fn read_item(bytes: &mut &'a [u8]) -> Option<Self> {
        next_multi(bytes)
    }
}

/// Whether a property of this kind is kept in this build: `session` ones (what the session itself uses) always,
/// `app` ones (what only the application reads or sets) with the cargo feature `properties`.
macro_rules! kept {
    (session) => {
        true
    };
    (app) => {
        cfg!(feature = "properties")
    };
}

macro_rules! properties {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $( $(#[$fmeta:meta])* $field:ident ($kind:ident): $ty:ty = $id:literal, )*
        }
        lists {
            $( $(#[$lmeta:meta])* $lfield:ident: $lty:ty, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
        pub struct $name<'a> {
            $( $(#[$fmeta])* pub $field: Option<$ty>, )*
            $( $(#[$lmeta])* pub $lfield: List<'a, $lty>, )+
        }

        impl<'a> $name<'a> {
            /// Whether no property is set.
            #[inline]
            pub fn is_empty(&self) -> bool {
                true $( && self.$field.is_none() )* $( && self.$lfield.is_empty() )+
            }

            /// Whether a property that only the application uses is set: one that a build without the cargo
            /// feature `properties` neither sends nor keeps.
            #[allow(dead_code)] // Not every packet's properties are sent by a session.
            pub(crate) fn has_application_properties(&self) -> bool {
                false $( || (!kept!($kind) && self.$field.is_some()) )*
                      $( || !self.$lfield.is_empty() )+
            }

            /// Bytes of the properties, without the property length in front.
            fn content_len(&self) -> usize {
                0 $( + match kept!($kind) {
                        true => self.$field.as_ref().map_or(0, |value| 1 + value.value_len()),
                        false => 0,
                    } )*
                  $( + match kept!(app) {
                        true => self.$lfield.iter().map(|item| 1 + item.value_len()).sum::<usize>(),
                        false => 0,
                    } )+
            }

            /// Bytes of the property block: property length and properties.
            #[inline]
            pub(crate) fn encoded_len(&self) -> usize {
                let content = self.content_len();
                var_int_len(content) + content
            }

            /// Writes the property block (without the cargo feature `properties`, without the properties only the
            /// application uses: sessions refuse to send those).
            #[inline]
            pub(crate) fn write(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
                w.var_int(self.content_len())?;
                $(
                    if kept!($kind) && let Some(value) = &self.$field {
                        w.u8($id)?;
                        value.write_value(w)?;
                    }
                )*
                $(
                    if kept!(app) {
                        for item in self.$lfield.iter() {
                            w.u8(<$lty as MultiProp<'_>>::ID)?;
                            item.write_value(w)?;
                        }
                    }
                )+
                Ok(())
            }

            /// Reads a property block (length and properties). Every property is checked; without the cargo
            /// feature `properties`, those only the application uses are not kept.
            #[allow(unused_mut, unused_variables)] // UnsubscribeProperties has no single-valued property.
            #[inline]
            pub(crate) fn decode(r: &mut Reader<'a>) -> Result<Self, DecodeError> {
                let len = r.var_int()? as usize;
                if len == 0 {
                    return Ok(Self::default());
                }
                let block = r.bytes(len)?;
                let packet = r.packet();
                let mut pr = Reader::new(block, packet);
                let mut props = Self::default();
                let mut seen: u64 = 0;
                $( let mut $lfield: usize = 0; )+
                while !pr.is_empty() {
                    let id = pr.var_int()?;
                    match id {
                        $(
                            $id => {
                                if seen & (1 << $id) != 0 {
                                    return Err(DecodeError::DuplicateProperty($id));
                                }
                                seen |= 1 << $id;
                                let value: $ty = PropValue::read_value(&mut pr, $id)?;
                                if kept!($kind) {
                                    props.$field = Some(value);
                                }
                            }
                        )*
                        $(
                            id if id == u32::from(<$lty as MultiProp<'_>>::ID) => {
                                <$lty>::read_value(&mut pr, <$lty as MultiProp<'_>>::ID)?;
                                $lfield += 1;
                            }
                        )+
                        _ => return Err(unexpected(id, packet)),
                    }
                }
                $(
                    if kept!(app) && $lfield > 0 {
                        props.$lfield = List::wire(block, $lfield);
                    }
                )+
                Ok(props)
            }
        }
    };
}

properties! {
    /// Properties of CONNECT. `[MQTT-3.1.2.11]`
    pub struct ConnectProperties {
        /// Seconds the server keeps the session after the connection closes (0: ends with the connection;
        /// `u32::MAX`: never expires).
        session_expiry_interval (session): u32 = 0x11,
        /// How many QoS 1 and 2 publications the client processes at once (absent: 65,535).
        receive_maximum (session): NonZeroU16 = 0x21,
        /// The largest packet the client accepts.
        maximum_packet_size (session): NonZeroU32 = 0x27,
        /// The highest topic alias the client accepts from the server (absent or 0: none).
        topic_alias_maximum (session): u16 = 0x22,
        /// Asks the server for Response Information in CONNACK.
        request_response_information (app): bool = 0x19,
        /// Whether the server may send Reason Strings and User Properties on failures (absent: yes).
        request_problem_information (app): bool = 0x17,
        /// Name of the extended authentication method.
        authentication_method (session): &'a str = 0x15,
        /// Data of the extended authentication method.
        authentication_data (session): &'a [u8] = 0x16,
    }
    lists {
        /// User properties.
        user_properties: UserProperty<'a>,
    }
}

properties! {
    /// Properties of the will message in CONNECT. `[MQTT-3.1.3.2]`
    pub struct WillProperties {
        /// Seconds the server waits after the connection is lost before publishing the will.
        will_delay_interval (app): u32 = 0x18,
        /// `Some(true)`: the payload is UTF-8; `Some(false)`: unspecified bytes.
        payload_format_indicator (app): bool = 0x01,
        /// Lifetime of the will message in seconds.
        message_expiry_interval (app): u32 = 0x02,
        /// MIME type of the payload.
        content_type (app): &'a str = 0x03,
        /// Topic for a response (request/response pattern).
        response_topic (app): &'a str = 0x08,
        /// Data correlating a response with its request.
        correlation_data (app): &'a [u8] = 0x09,
    }
    lists {
        /// User properties.
        user_properties: UserProperty<'a>,
    }
}

properties! {
    /// Properties of CONNACK. `[MQTT-3.2.2.3]`
    pub struct ConnAckProperties {
        /// The session expiry interval the server uses, if it differs from the client's.
        session_expiry_interval (session): u32 = 0x11,
        /// How many QoS 1 and 2 publications the server processes at once (absent: 65,535).
        receive_maximum (session): NonZeroU16 = 0x21,
        /// The highest QoS the server supports (absent: 2).
        maximum_qos (session): QoS = 0x24,
        /// Whether the server supports retained messages (absent: yes).
        retain_available (session): bool = 0x25,
        /// The largest packet the server accepts.
        maximum_packet_size (session): NonZeroU32 = 0x27,
        /// The client identifier the server assigned, when the client sent an empty one.
        assigned_client_identifier (session): &'a str = 0x12,
        /// The highest topic alias the server accepts from the client (absent or 0: none).
        topic_alias_maximum (session): u16 = 0x22,
        /// Human-readable diagnostic.
        reason_string (session): &'a str = 0x1f,
        /// Whether the server supports wildcard subscriptions (absent: yes).
        wildcard_subscription_available (session): bool = 0x28,
        /// Whether the server supports subscription identifiers (absent: yes).
        subscription_identifiers_available (session): bool = 0x29,
        /// Whether the server supports shared subscriptions (absent: yes).
        shared_subscription_available (session): bool = 0x2a,
        /// The keep alive the client must use instead of its own.
        server_keep_alive (session): u16 = 0x13,
        /// Basis for creating response topics.
        response_information (app): &'a str = 0x1a,
        /// Another server the client can use.
        server_reference (session): &'a str = 0x1c,
        /// Name of the extended authentication method.
        authentication_method (session): &'a str = 0x15,
        /// Data of the extended authentication method.
        authentication_data (session): &'a [u8] = 0x16,
    }
    lists {
        /// User properties.
        user_properties: UserProperty<'a>,
    }
}

properties! {
    /// Properties of PUBLISH. `[MQTT-3.3.2.3]`
    pub struct PublishProperties {
        /// `Some(true)`: the payload is UTF-8; `Some(false)`: unspecified bytes.
        payload_format_indicator (app): bool = 0x01,
        /// Lifetime of the message in seconds.
        message_expiry_interval (app): u32 = 0x02,
        /// A number standing for the topic name on this connection.
        topic_alias (session): NonZeroU16 = 0x23,
        /// Topic for a response (request/response pattern).
        response_topic (app): &'a str = 0x08,
        /// Data correlating a response with its request.
        correlation_data (app): &'a [u8] = 0x09,
        /// MIME type of the payload.
        content_type (app): &'a str = 0x03,
    }
    lists {
        /// User properties.
        user_properties: UserProperty<'a>,
        /// Identifiers of the subscriptions that matched (server to client only).
        subscription_identifiers: SubscriptionId,
    }
}

properties! {
    /// Properties of PUBACK, PUBREC, PUBREL, PUBCOMP, SUBACK and UNSUBACK: a reason string and user properties.
    pub struct AckProperties {
        /// Human-readable diagnostic.
        reason_string (session): &'a str = 0x1f,
    }
    lists {
        /// User properties.
        user_properties: UserProperty<'a>,
    }
}

/// Properties of SUBACK. `[MQTT-3.9.2.1]`
pub type SubAckProperties<'a> = AckProperties<'a>;

/// Properties of UNSUBACK. `[MQTT-3.11.2.1]`
pub type UnsubAckProperties<'a> = AckProperties<'a>;

properties! {
    /// Properties of SUBSCRIBE. `[MQTT-3.8.2.1]`
    pub struct SubscribeProperties {
        /// Identifier delivered with every message this subscription matches.
        subscription_identifier (session): SubscriptionId = 0x0b,
    }
    lists {
        /// User properties.
        user_properties: UserProperty<'a>,
    }
}

properties! {
    /// Properties of UNSUBSCRIBE: user properties only. `[MQTT-3.10.2.1]`
    pub struct UnsubscribeProperties {}
    lists {
        /// User properties.
        user_properties: UserProperty<'a>,
    }
}

properties! {
    /// Properties of DISCONNECT. `[MQTT-3.14.2.2]`
    pub struct DisconnectProperties {
        /// New session expiry interval (client to server only).
        session_expiry_interval (session): u32 = 0x11,
        /// Human-readable diagnostic.
        reason_string (session): &'a str = 0x1f,
        /// Another server the client can use.
        server_reference (session): &'a str = 0x1c,
    }
    lists {
        /// User properties.
        user_properties: UserProperty<'a>,
    }
}

properties! {
    /// Properties of AUTH. `[MQTT-3.15.2.2]`
    pub struct AuthProperties {
        /// Name of the authentication method.
        authentication_method (session): &'a str = 0x15,
        /// Data of the authentication method.
        authentication_data (session): &'a [u8] = 0x16,
        /// Human-readable diagnostic.
        reason_string (session): &'a str = 0x1f,
    }
    lists {
        /// User properties.
        user_properties: UserProperty<'a>,
    }
}
