//! The MQTT 5.0 requests and answers of the std clients beyond the short calls: subscribe with options per filter
//! ([`SubscribeRequest`]), unsubscribe with user properties ([`UnsubscribeRequest`]), disconnect with properties
//! ([`DisconnectOptions`]), what the broker announced ([`ServerInfo`]) and its latest reason ([`LastReason`]).

use std::string::String;
use std::vec::Vec;

use crate::codec::{
    self, PacketType, QoS, ReasonCode, RetainHandling, SubscriptionOptions, UserProperty,
};
use crate::session::{ConnAckInfo, Reason};

/// One topic filter of a [`SubscribeRequest`], with its subscription options.
///
/// ```
/// use mqtt_core::client::Filter;
/// use mqtt_core::codec::{QoS, RetainHandling};
///
/// let filter = Filter::new("chat/#", QoS::AtLeastOnce)
///     .no_local(true)
///     .retain_as_published(true)
///     .retain_handling(RetainHandling::DoNotSend);
/// assert!(filter.options().no_local);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    filter: String,
    options: SubscriptionOptions,
}

impl Filter {
    /// `filter` at `qos`, with the default options (the only ones in 3.1.1).
    pub fn new(filter: impl Into<String>, qos: QoS) -> Self {
        Self {
            filter: filter.into(),
            options: SubscriptionOptions {
                qos,
                ..SubscriptionOptions::default()
            },
        }
    }

    /// 5.0 No Local: the broker does not send this client its own messages on this subscription. Not allowed on
    /// a shared subscription `[MQTT-3.8.3-4]`.
    #[must_use]
    pub fn no_local(mut self, no_local: bool) -> Self {
        self.options.no_local = no_local;
        self
    }

    /// 5.0 Retain As Published: messages keep the RETAIN flag they were published with (a broker otherwise
    /// clears it on messages it forwards as they are published).
    #[must_use]
    pub fn retain_as_published(mut self, keep: bool) -> Self {
        self.options.retain_as_published = keep;
        self
    }

    /// 5.0 Retain Handling: when the broker sends the retained messages the filter matches (at every subscribe,
    /// only when the subscription is new, never).
    #[must_use]
    pub fn retain_handling(mut self, handling: RetainHandling) -> Self {
        self.options.retain_handling = handling;
        self
    }

    /// The filter.
    pub fn filter(&self) -> &str {
        &self.filter
    }

    /// Its options.
    pub fn options(&self) -> SubscriptionOptions {
        self.options
    }
}

impl<F: Into<String>> From<(F, QoS)> for Filter {
    fn from((filter, qos): (F, QoS)) -> Self {
        Self::new(filter, qos)
    }
}

/// Which 5.0 Subscription Identifier a subscribe request carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SubscriptionIdChoice {
    /// The client picks one per request (unless [`Options::subscription_ids`](super::Options::subscription_ids)
    /// turned them off), so that a message matching several subscriptions reaches each once. The default.
    #[default]
    Automatic,
    /// This one (1 to 268,435,455). Messages carrying it are routed to this request's subscription.
    Fixed(u32),
    /// None: routing goes by filters only (for brokers that mishandle identifiers).
    None,
}

/// A SUBSCRIBE with options per filter, a chosen Subscription Identifier, and user properties.
///
/// ```
/// use mqtt_core::client::{Filter, SubscribeRequest};
/// use mqtt_core::codec::{QoS, RetainHandling};
///
/// let request = SubscribeRequest::new()
///     .filter(Filter::new("alerts/#", QoS::ExactlyOnce).retain_handling(RetainHandling::SendAtSubscribeIfNew))
///     .filter(("status/+", QoS::AtMostOnce))
///     .subscription_id(42)
///     .user_property("origin", "dashboard");
/// assert_eq!(request.filters().len(), 2);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SubscribeRequest {
    pub(crate) filters: Vec<Filter>,
    pub(crate) id: SubscriptionIdChoice,
    pub(crate) user_properties: Vec<(String, String)>,
}

impl SubscribeRequest {
    /// An empty request: add filters.
    pub fn new() -> Self {
        Self::default()
    }

    /// With one more filter.
    #[must_use]
    pub fn filter(mut self, filter: impl Into<Filter>) -> Self {
        self.filters.push(filter.into());
        self
    }

    /// With this Subscription Identifier (1 to 268,435,455) instead of an automatic one.
    #[must_use]
    pub fn subscription_id(mut self, id: u32) -> Self {
        self.id = SubscriptionIdChoice::Fixed(id);
        self
    }

    /// Without a Subscription Identifier, whatever the options say.
    #[must_use]
    pub fn without_subscription_id(mut self) -> Self {
        self.id = SubscriptionIdChoice::None;
        self
    }

    /// With one more user property (5.0).
    #[must_use]
    pub fn user_property(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.user_properties.push((name.into(), value.into()));
        self
    }

    /// The filters.
    pub fn filters(&self) -> &[Filter] {
        &self.filters
    }
}

/// An UNSUBSCRIBE with user properties.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UnsubscribeRequest {
    pub(crate) filters: Vec<String>,
    pub(crate) user_properties: Vec<(String, String)>,
}

impl UnsubscribeRequest {
    /// A request for these filters.
    pub fn new(filters: impl IntoIterator<Item = impl Into<String>>) -> Self {
        Self {
            filters: filters.into_iter().map(Into::into).collect(),
            user_properties: Vec::new(),
        }
    }

    /// With one more user property (5.0).
    #[must_use]
    pub fn user_property(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.user_properties.push((name.into(), value.into()));
        self
    }
}

/// The DISCONNECT the client ends with: a reason code and 5.0 properties.
///
/// ```
/// use mqtt_core::client::DisconnectOptions;
///
/// // Keep the session an hour after this disconnect, and say why.
/// let goodbye = DisconnectOptions::new().session_expiry_interval(3600).reason_string("maintenance");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DisconnectOptions {
    pub(crate) with_will: bool,
    pub(crate) session_expiry_interval: Option<u32>,
    pub(crate) reason_string: Option<String>,
    pub(crate) user_properties: Vec<(String, String)>,
}

impl DisconnectOptions {
    /// Normal disconnection, no properties.
    pub fn new() -> Self {
        Self::default()
    }

    /// Disconnect with Will Message (`0x04`): the broker publishes the will although the client disconnects.
    #[must_use]
    pub fn with_will(mut self) -> Self {
        self.with_will = true;
        self
    }

    /// A new Session Expiry Interval, in seconds. Only when the connection asked for one (non-zero
    /// [`Options::session_expiry`](super::Options::session_expiry)): `[MQTT-3.14.2-2]`.
    #[must_use]
    pub fn session_expiry_interval(mut self, seconds: u32) -> Self {
        self.session_expiry_interval = Some(seconds);
        self
    }

    /// A Reason String for the broker's logs.
    #[must_use]
    pub fn reason_string(mut self, reason: impl Into<String>) -> Self {
        self.reason_string = Some(reason.into());
        self
    }

    /// With one more user property.
    #[must_use]
    pub fn user_property(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.user_properties.push((name.into(), value.into()));
        self
    }

    /// Runs `f` with the DISCONNECT packet these options make.
    pub(crate) fn with_packet<R>(&self, f: impl FnOnce(&codec::Disconnect<'_>) -> R) -> R {
        let user: Vec<UserProperty<'_>> = self
            .user_properties
            .iter()
            .map(|(name, value)| UserProperty { name, value })
            .collect();
        let packet = codec::Disconnect {
            reason: match self.with_will {
                true => ReasonCode::DISCONNECT_WITH_WILL_MESSAGE,
                false => ReasonCode::NORMAL_DISCONNECTION,
            },
            properties: codec::DisconnectProperties {
                session_expiry_interval: self.session_expiry_interval,
                reason_string: self.reason_string.as_deref(),
                user_properties: codec::List::new(&user),
                ..codec::DisconnectProperties::default()
            },
        };
        f(&packet)
    }
}

/// What the broker announced in its latest successful CONNACK (5.0; with 3.1.1, the defaults), as one value: see
/// `Client::server_info`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServerInfo {
    /// The broker resumed a session.
    pub session_present: bool,
    /// The client identifier the broker assigned (the client sent an empty one).
    pub assigned_client_id: Option<String>,
    /// The keep alive the broker imposed (Server Keep Alive), in seconds.
    pub server_keep_alive: Option<u16>,
    /// The keep alive in force.
    pub keep_alive: core::time::Duration,
    /// The Session Expiry Interval the broker uses, if it differs from the client's.
    pub session_expiry_interval: Option<u32>,
    /// QoS 1 and 2 messages the broker takes in flight at once.
    pub receive_maximum: u16,
    /// The largest packet the broker accepts, if it said.
    pub maximum_packet_size: Option<u32>,
    /// Topic aliases the broker accepts from the client.
    pub topic_alias_maximum: u16,
    /// The highest QoS the broker supports: publishing above it fails at once with
    /// [`PublishError::QoSNotSupported`](crate::PublishError::QoSNotSupported), nothing is sent.
    pub maximum_qos: QoS,
    /// Retained messages supported.
    pub retain_available: bool,
    /// Wildcard subscriptions supported.
    pub wildcard_subscription_available: bool,
    /// Subscription identifiers supported.
    pub subscription_identifiers_available: bool,
    /// Shared subscriptions supported.
    pub shared_subscription_available: bool,
    /// The basis of response topics, when asked for
    /// ([`Options::request_response_information`](super::Options::request_response_information)).
    pub response_information: Option<String>,
    /// Another server the client may use (the latest Server Reference, of a CONNACK or DISCONNECT).
    pub server_reference: Option<String>,
    /// The CONNACK's Reason String.
    pub reason_string: Option<String>,
}

impl From<ConnAckInfo<'_>> for ServerInfo {
    fn from(info: ConnAckInfo<'_>) -> Self {
        Self {
            session_present: info.session_present,
            assigned_client_id: info.assigned_client_id.map(String::from),
            server_keep_alive: info.server_keep_alive,
            keep_alive: info.keep_alive,
            session_expiry_interval: info.session_expiry_interval,
            receive_maximum: info.receive_maximum,
            maximum_packet_size: info.maximum_packet_size,
            topic_alias_maximum: info.topic_alias_maximum,
            maximum_qos: info.maximum_qos,
            retain_available: info.retain_available,
            wildcard_subscription_available: info.wildcard_subscription_available,
            subscription_identifiers_available: info.subscription_identifiers_available,
            shared_subscription_available: info.shared_subscription_available,
            response_information: info.response_information.map(String::from),
            server_reference: info.server_reference.map(String::from),
            reason_string: info.reason_string.map(String::from),
        }
    }
}

/// The latest Reason String the broker sent (5.0), with the packet and reason code it came with: see
/// `Client::last_reason`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastReason {
    /// The packet: CONNACK, PUBACK, PUBREC, PUBREL, PUBCOMP, SUBACK, UNSUBACK, DISCONNECT or AUTH.
    pub packet: PacketType,
    /// Its reason code (for SUBACK and UNSUBACK, the first filter's).
    pub code: ReasonCode,
    /// The text (cut at a character boundary to 128 bytes).
    pub reason_string: String,
}

impl From<Reason<'_>> for LastReason {
    fn from(reason: Reason<'_>) -> Self {
        Self {
            packet: reason.packet,
            code: reason.code,
            reason_string: reason.reason_string.into(),
        }
    }
}
