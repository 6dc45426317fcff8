//! [`LastWill`]: the will message and its MQTT 5.0 properties.

use core::fmt;
use std::string::String;
use std::vec::Vec;

use crate::codec::QoS;

/// The will message: published by the broker if the connection ends without DISCONNECT (or with
/// [`DisconnectOptions::with_will`](super::DisconnectOptions::with_will)). Its `Debug` output shows the
/// payload's size, not the payload.
///
/// ```
/// use mqtt_core::client::{LastWill, Options};
/// use mqtt_core::codec::QoS;
///
/// // Published 30 s after the connection is lost, unless the client is back by then.
/// let will = LastWill::new("devices/pump-7/status", "offline")
///     .qos(QoS::AtLeastOnce)
///     .retain(true)
///     .delay_interval(30)
///     .content_type("text/plain");
/// let options = Options::new("mqtt://broker.local")?.last_will(will);
/// # Ok::<(), mqtt_core::client::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct LastWill {
    /// Topic of the will.
    pub topic: String,
    /// Payload of the will.
    pub payload: Vec<u8>,
    /// QoS of the will.
    pub qos: QoS,
    /// Published as a retained message.
    pub retain: bool,
    /// 5.0 Will Delay Interval in seconds: the broker waits this long after the connection is lost, and publishes
    /// nothing if the client reconnects (to the same session) in time.
    pub delay_interval: Option<u32>,
    /// 5.0 Payload Format Indicator (`Some(true)`: UTF-8).
    pub payload_format_indicator: Option<bool>,
    /// 5.0 Message Expiry Interval of the will, in seconds.
    pub message_expiry_interval: Option<u32>,
    /// 5.0 Content Type.
    pub content_type: Option<String>,
    /// 5.0 Response Topic.
    pub response_topic: Option<String>,
    /// 5.0 Correlation Data.
    pub correlation_data: Option<Vec<u8>>,
    /// 5.0 user properties.
    pub user_properties: Vec<(String, String)>,
}

impl LastWill {
    /// A will on `topic` with `payload`: QoS 0, not retained, no properties.
    pub fn new(topic: impl Into<String>, payload: impl Into<Vec<u8>>) -> Self {
        Self {
            topic: topic.into(),
            payload: payload.into(),
            ..Self::default()
        }
    }

    /// With this QoS.
    #[must_use]
    pub fn qos(mut self, qos: QoS) -> Self {
        self.qos = qos;
        self
    }

    /// Retained (or not).
    #[must_use]
    pub fn retain(mut self, retain: bool) -> Self {
        self.retain = retain;
        self
    }

    /// With a Will Delay Interval, in seconds.
    #[must_use]
    pub fn delay_interval(mut self, seconds: u32) -> Self {
        self.delay_interval = Some(seconds);
        self
    }

    /// With a Payload Format Indicator (`true`: UTF-8 text).
    #[must_use]
    pub fn payload_format_indicator(mut self, utf8: bool) -> Self {
        self.payload_format_indicator = Some(utf8);
        self
    }

    /// With a Message Expiry Interval, in seconds.
    #[must_use]
    pub fn message_expiry_interval(mut self, seconds: u32) -> Self {
        self.message_expiry_interval = Some(seconds);
        self
    }

    /// With a Content Type.
    #[must_use]
    pub fn content_type(mut self, content_type: impl Into<String>) -> Self {
        self.content_type = Some(content_type.into());
        self
    }

    /// With a Response Topic.
    #[must_use]
    pub fn response_topic(mut self, topic: impl Into<String>) -> Self {
        self.response_topic = Some(topic.into());
        self
    }

    /// With Correlation Data.
    #[must_use]
    pub fn correlation_data(mut self, data: impl Into<Vec<u8>>) -> Self {
        self.correlation_data = Some(data.into());
        self
    }

    /// With one more user property.
    #[must_use]
    pub fn user_property(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.user_properties.push((name.into(), value.into()));
        self
    }

    /// Bytes of its properties and strings, for the store's estimate.
    pub(crate) fn len(&self) -> usize {
        self.topic.len()
            + self.payload.len()
            + self.content_type.as_ref().map_or(0, String::len)
            + self.response_topic.as_ref().map_or(0, String::len)
            + self.correlation_data.as_ref().map_or(0, Vec::len)
            + self
                .user_properties
                .iter()
                .map(|(n, v)| n.len() + v.len() + 5)
                .sum::<usize>()
            + 32
    }
}

impl fmt::Debug for LastWill {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LastWill")
            .field("topic", &self.topic)
            .field("payload_len", &self.payload.len())
            .field("qos", &self.qos)
            .field("retain", &self.retain)
            .field("delay_interval", &self.delay_interval)
            .field("user_properties", &self.user_properties.len())
            .finish_non_exhaustive()
    }
}
