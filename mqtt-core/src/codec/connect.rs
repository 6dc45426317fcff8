//! CONNECT: the first packet a client sends. `[MQTT-3.1]`

use crate::codec::properties::{ConnectProperties, WillProperties};
use crate::codec::wire::{Reader, Writer, prefixed_len};
use crate::codec::{Body, PacketType, ProtocolVersion, QoS};
use crate::error::{DecodeError, EncodeError};
use crate::topic;

const PROTOCOL_NAME: &[u8] = b"MQTT";

mod flag {
    pub(super) const RESERVED: u8 = 0x01;
    pub(super) const CLEAN_START: u8 = 0x02;
    pub(super) const WILL: u8 = 0x04;
    pub(super) const WILL_QOS_SHIFT: u8 = 3;
    pub(super) const WILL_QOS: u8 = 0x18;
    pub(super) const WILL_RETAIN: u8 = 0x20;
    pub(super) const PASSWORD: u8 = 0x40;
    pub(super) const USER_NAME: u8 = 0x80;
}

/// CONNECT: a client's request to open a session. `[MQTT-3.1]`
///
/// Its `Debug` output shows whether there is a password, never the password.
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub struct Connect<'a> {
    /// Clean Session (3.1.1) or Clean Start (5.0): start without any previous session state.
    pub clean_start: bool,
    /// Keep alive in seconds; 0 turns the mechanism off.
    pub keep_alive: u16,
    /// The client identifier; may be empty, asking the server to assign one.
    pub client_id: &'a str,
    /// The will message, published by the server if the connection ends without DISCONNECT.
    pub will: Option<Will<'a>>,
    /// User name.
    pub username: Option<&'a str>,
    /// Password. In MQTT 3.1.1 it requires a user name.
    pub password: Option<&'a [u8]>,
    /// MQTT 5.0 properties (must be empty in 3.1.1).
    pub properties: ConnectProperties<'a>,
}

impl core::fmt::Debug for Connect<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Connect")
            .field("clean_start", &self.clean_start)
            .field("keep_alive", &self.keep_alive)
            .field("client_id", &self.client_id)
            .field("will", &self.will)
            .field("username", &self.username)
            .field("password", &self.password.map(|_| "<redacted>"))
            .field("properties", &self.properties)
            .finish()
    }
}

/// The will message of a CONNECT. `[MQTT-3.1.2.5]`
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Will<'a> {
    /// Topic the will is published to.
    pub topic: &'a str,
    /// Payload of the will.
    pub payload: &'a [u8],
    /// QoS of the will.
    pub qos: QoS,
    /// Whether the will is published as a retained message.
    pub retain: bool,
    /// MQTT 5.0 will properties (must be empty in 3.1.1).
    pub properties: WillProperties<'a>,
}

impl<'a> Connect<'a> {
    pub(crate) fn decode(
        r: &mut Reader<'a>,
        version: ProtocolVersion,
    ) -> Result<Self, DecodeError> {
        if r.binary()? != PROTOCOL_NAME {
            return Err(DecodeError::InvalidProtocolName);
        }
        let level = r.u8()?;
        if ProtocolVersion::from_level(level).is_none() {
            return Err(DecodeError::UnsupportedProtocolLevel(level));
        }
        if level != version.level() {
            return Err(DecodeError::ProtocolVersionMismatch {
                expected: version.level(),
                found: level,
            });
        }
        let flags = r.u8()?;
        if flags & flag::RESERVED != 0 {
            return Err(DecodeError::ReservedConnectFlag);
        }
        let has_will = flags & flag::WILL != 0;
        let will_qos = QoS::from_u8((flags & flag::WILL_QOS) >> flag::WILL_QOS_SHIFT)?;
        let will_retain = flags & flag::WILL_RETAIN != 0;
        if !has_will && (will_qos != QoS::AtMostOnce || will_retain) {
            return Err(DecodeError::WillFlagsInconsistent);
        }
        let has_username = flags & flag::USER_NAME != 0;
        let has_password = flags & flag::PASSWORD != 0;
        if !version.is_v5() && has_password && !has_username {
            return Err(DecodeError::PasswordWithoutUserName);
        }
        let keep_alive = r.u16()?;
        let properties = match version.folded() {
            ProtocolVersion::V5 => ConnectProperties::decode(r)?,
            ProtocolVersion::V311 => ConnectProperties::default(),
        };
        let client_id = r.string()?;
        let will = if has_will {
            let properties = match version.folded() {
                ProtocolVersion::V5 => WillProperties::decode(r)?,
                ProtocolVersion::V311 => WillProperties::default(),
            };
            let topic = r.string()?;
            topic::validate_name(topic).map_err(DecodeError::InvalidTopicName)?;
            Some(Will {
                topic,
                payload: r.binary()?,
                qos: will_qos,
                retain: will_retain,
                properties,
            })
        } else {
            None
        };
        let username = has_username.then(|| r.string()).transpose()?;
        let password = has_password.then(|| r.binary()).transpose()?;
        Ok(Self {
            clean_start: flags & flag::CLEAN_START != 0,
            keep_alive,
            client_id,
            will,
            username,
            password,
            properties,
        })
    }

    fn connect_flags(&self) -> u8 {
        let mut flags = 0;
        if self.clean_start {
            flags |= flag::CLEAN_START;
        }
        if let Some(will) = &self.will {
            flags |= flag::WILL | (u8::from(will.qos) << flag::WILL_QOS_SHIFT);
            if will.retain {
                flags |= flag::WILL_RETAIN;
            }
        }
        if self.username.is_some() {
            flags |= flag::USER_NAME;
        }
        if self.password.is_some() {
            flags |= flag::PASSWORD;
        }
        flags
    }
}

impl Body for Connect<'_> {
    fn body_len(&self, version: ProtocolVersion) -> usize {
        let v5 = version.is_v5();
        let mut len = prefixed_len(PROTOCOL_NAME.len()) + 1 + 1 + 2;
        if v5 {
            len += self.properties.encoded_len();
        }
        len += prefixed_len(self.client_id.len());
        if let Some(will) = &self.will {
            if v5 {
                len += will.properties.encoded_len();
            }
            len += prefixed_len(will.topic.len()) + prefixed_len(will.payload.len());
        }
        len += self.username.map_or(0, |u| prefixed_len(u.len()));
        len + self.password.map_or(0, |p| prefixed_len(p.len()))
    }

    fn check(&self, packet: PacketType, version: ProtocolVersion) -> Result<(), EncodeError> {
        if !version.is_v5() {
            let not_in_311 = |what| EncodeError::NotInProtocolVersion { packet, what };
            if self.password.is_some() && self.username.is_none() {
                return Err(not_in_311("password without user name"));
            }
            if !self.properties.is_empty() || self.will.is_some_and(|w| !w.properties.is_empty()) {
                return Err(not_in_311("properties"));
            }
        }
        Ok(())
    }

    fn write_body(&self, version: ProtocolVersion, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        let v5 = version.is_v5();
        w.binary(PROTOCOL_NAME)?;
        w.u8(version.level())?;
        w.u8(self.connect_flags())?;
        w.u16(self.keep_alive)?;
        if v5 {
            self.properties.write(w)?;
        }
        w.string(self.client_id)?;
        if let Some(will) = &self.will {
            if v5 {
                will.properties.write(w)?;
            }
            w.string(will.topic)?;
            w.binary(will.payload)?;
        }
        if let Some(username) = self.username {
            w.string(username)?;
        }
        if let Some(password) = self.password {
            w.binary(password)?;
        }
        Ok(())
    }
}
