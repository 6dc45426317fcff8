//! [`Message`]: an application message with every MQTT 5.0 PUBLISH property, received or to publish.

use std::string::String;
use std::vec::Vec;

use bytes::Bytes;

use crate::codec::{List, Publish, PublishProperties, QoS, UserProperty};
use crate::session::AckToken;

/// An application message: what a subscription yields, and (built with [`Message::new`]) what
/// `Client::publish_message` sends, with every MQTT 5.0 PUBLISH property.
///
/// Received messages carry what the broker sent, resolved: the topic of a topic alias, and the Subscription
/// Identifiers of the subscriptions that matched. On a 3.1.1 connection the properties are empty, and a message
/// with properties cannot be published (the session refuses it, or fails it if it fell back to 3.1.1).
///
/// ```
/// use mqtt_core::client::Message;
/// use mqtt_core::codec::QoS;
///
/// let message = Message::new("sensors/kitchen", r#"{"t":21.5}"#)
///     .qos(QoS::AtLeastOnce)
///     .retain(true)
///     .content_type("application/json")
///     .payload_format_indicator(true)
///     .message_expiry_interval(60)
///     .user_property("unit", "celsius");
/// assert_eq!(message.content_type.as_deref(), Some("application/json"));
/// assert_eq!(message.user_properties, [("unit".to_owned(), "celsius".to_owned())]);
/// ```
///
/// Its `Debug` output shows the payload and the Correlation Data by their length only: they may carry secrets, and
/// a message of a megabyte should not print one. Print `payload` yourself where that is wanted.
#[derive(Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Message {
    /// The topic it was published to.
    pub topic: String,
    /// Its payload.
    pub payload: Bytes,
    /// The QoS it was delivered (or is published) with.
    pub qos: QoS,
    /// Whether it is a retained message.
    pub retain: bool,
    /// 5.0 Payload Format Indicator: `Some(true)` for UTF-8 text, `Some(false)` for unspecified bytes, `None`
    /// when absent (unspecified bytes).
    pub payload_format_indicator: Option<bool>,
    /// 5.0 Message Expiry Interval in seconds: the broker drops the message when it has waited that long for a
    /// subscriber, and sends what is left of it along.
    pub message_expiry_interval: Option<u32>,
    /// 5.0 Content Type: the payload's MIME type, or any text the applications agree on.
    pub content_type: Option<String>,
    /// 5.0 Response Topic: where the receiver of a request publishes its response.
    pub response_topic: Option<String>,
    /// 5.0 Correlation Data: what ties a response to its request.
    pub correlation_data: Option<Bytes>,
    /// 5.0 user properties, in order (a name may repeat).
    pub user_properties: Vec<(String, String)>,
    /// 5.0 Subscription Identifiers of the subscriptions that matched the message (received messages only).
    pub subscription_identifiers: Vec<u32>,
    /// With manual acknowledgement, what [`Client::ack`](super::Client::ack) sends.
    pub(crate) ack: Option<AckToken>,
}

impl core::fmt::Debug for Message {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        /// Bytes by their length.
        struct Len(usize);
        impl core::fmt::Debug for Len {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                write!(f, "<{} bytes>", self.0)
            }
        }
        f.debug_struct("Message")
            .field("topic", &self.topic)
            .field("payload", &Len(self.payload.len()))
            .field("qos", &self.qos)
            .field("retain", &self.retain)
            .field("payload_format_indicator", &self.payload_format_indicator)
            .field("message_expiry_interval", &self.message_expiry_interval)
            .field("content_type", &self.content_type)
            .field("response_topic", &self.response_topic)
            .field(
                "correlation_data",
                &self.correlation_data.as_ref().map(|data| Len(data.len())),
            )
            .field("user_properties", &self.user_properties)
            .field("subscription_identifiers", &self.subscription_identifiers)
            .finish_non_exhaustive()
    }
}

impl Message {
    /// A message to publish on `topic`: QoS 0, not retained, no properties. Set the rest with the builder
    /// methods.
    pub fn new(topic: impl Into<String>, payload: impl Into<Bytes>) -> Self {
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

    /// With a Payload Format Indicator: `true` says the payload is UTF-8 text (the broker may check it).
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
    pub fn correlation_data(mut self, data: impl Into<Bytes>) -> Self {
        self.correlation_data = Some(data.into());
        self
    }

    /// With one more user property.
    #[must_use]
    pub fn user_property(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.user_properties.push((name.into(), value.into()));
        self
    }

    /// With manual acknowledgement, what acknowledges this message (the bindings' `Client::ack` sends it).
    pub fn ack_token(&self) -> Option<AckToken> {
        self.ack
    }

    /// The response to this message if it is a request (it has a Response Topic): `payload` on the Response
    /// Topic, with the same Correlation Data and QoS. `None` if it has no Response Topic.
    pub fn reply(&self, payload: impl Into<Bytes>) -> Option<Self> {
        let topic = self.response_topic.as_ref()?;
        Some(Self {
            correlation_data: self.correlation_data.clone(),
            ..Self::new(topic.clone(), payload).qos(self.qos)
        })
    }

    /// The message received in `publish`; `ack` is its acknowledgement token, with manual acknowledgement.
    pub(crate) fn received(publish: &Publish<'_>, ack: Option<AckToken>) -> Self {
        let p = &publish.properties;
        Self {
            topic: publish.topic.into(),
            payload: Bytes::copy_from_slice(publish.payload),
            qos: publish.qos,
            retain: publish.retain,
            payload_format_indicator: p.payload_format_indicator,
            message_expiry_interval: p.message_expiry_interval,
            content_type: p.content_type.map(String::from),
            response_topic: p.response_topic.map(String::from),
            correlation_data: p.correlation_data.map(Bytes::copy_from_slice),
            user_properties: p
                .user_properties
                .iter()
                .map(|UserProperty { name, value }| (name.into(), value.into()))
                .collect(),
            subscription_identifiers: p
                .subscription_identifiers
                .iter()
                .map(|id| id.get())
                .collect(),
            ack,
        }
    }

    /// Bytes this message holds in memory: its own size and what its fields hold on the heap (for the byte bound
    /// of the incoming queues, [`Options::message_capacity_bytes`](super::Options::message_capacity_bytes)).
    pub(crate) fn weight(&self) -> usize {
        let text = |s: &Option<String>| s.as_ref().map_or(0, String::len);
        size_of::<Self>()
            + self.topic.len()
            + self.payload.len()
            + text(&self.content_type)
            + text(&self.response_topic)
            + self.correlation_data.as_ref().map_or(0, Bytes::len)
            + self
                .user_properties
                .iter()
                .map(|(name, value)| size_of::<(String, String)>() + name.len() + value.len())
                .sum::<usize>()
            + self.subscription_identifiers.len() * size_of::<u32>()
    }

    /// Runs `f` with this message as the session's PUBLISH.
    pub(crate) fn with_publish<R>(&self, f: impl FnOnce(&Publish<'_>) -> R) -> R {
        let user: Vec<UserProperty<'_>> = self
            .user_properties
            .iter()
            .map(|(name, value)| UserProperty { name, value })
            .collect();
        let publish = Publish {
            qos: self.qos,
            retain: self.retain,
            topic: &self.topic,
            payload: &self.payload,
            properties: PublishProperties {
                payload_format_indicator: self.payload_format_indicator,
                message_expiry_interval: self.message_expiry_interval,
                content_type: self.content_type.as_deref(),
                response_topic: self.response_topic.as_deref(),
                correlation_data: self.correlation_data.as_deref(),
                user_properties: List::new(&user),
                ..PublishProperties::default()
            },
            ..Publish::default()
        };
        f(&publish)
    }
}
