//! `-D COMMAND NAME VALUE`: MQTT 5 properties as mosquitto's tools spell them, checked against the packets that
//! may carry them and against their value's type, then put where mqtt-tokio's API carries them: [`Options`] for
//! CONNECT, [`LastWill`] for WILL, [`Message`] for PUBLISH, [`SubscribeRequest`] for SUBSCRIBE and
//! [`DisconnectOptions`] for DISCONNECT.

use mqtt_tokio::{
    AuthError, Authenticator, DisconnectOptions, Filter, LastWill, Message, Options,
    SubscribeRequest,
};

use crate::failure::Failure;

/// The packets a property may go on (MQTT 5.0 §2.2.2.2, client to server), by mosquitto's names.
const ALLOWED: &[(&str, &[&str])] = &[
    (
        "connect",
        &[
            "session-expiry-interval",
            "receive-maximum",
            "maximum-packet-size",
            "topic-alias-maximum",
            "request-response-information",
            "request-problem-information",
            "user-property",
            "authentication-method",
            "authentication-data",
        ],
    ),
    (
        "publish",
        &[
            "payload-format-indicator",
            "message-expiry-interval",
            "topic-alias",
            "response-topic",
            "correlation-data",
            "user-property",
            "content-type",
        ],
    ),
    ("subscribe", &["subscription-identifier", "user-property"]),
    (
        "disconnect",
        &["session-expiry-interval", "reason-string", "user-property"],
    ),
    (
        "will",
        &[
            "will-delay-interval",
            "payload-format-indicator",
            "message-expiry-interval",
            "content-type",
            "response-topic",
            "correlation-data",
            "user-property",
        ],
    ),
];

/// A property's value, checked against its type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Value {
    /// A number (an interval, a maximum, an identifier).
    Number(u32),
    /// A flag given as 0 or 1.
    Flag(bool),
    /// A string (or binary data given as text).
    Text(String),
    /// A user property: name and value.
    Pair(String, String),
}

/// One `-D`: the packet, the property's name, its value.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Property {
    pub(crate) packet: &'static str,
    pub(crate) name: &'static str,
    pub(crate) value: Value,
}

/// Authentication data is a credential: it is left out.
impl std::fmt::Debug for Property {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut shown = f.debug_struct("Property");
        shown
            .field("packet", &self.packet)
            .field("name", &self.name);
        match self.name {
            "authentication-data" => shown.field("value", &"<redacted>"),
            _ => shown.field("value", &self.value),
        };
        shown.finish()
    }
}

/// The `-D` properties of a command, by packet.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Properties(pub(crate) Vec<Property>);

/// Reads the `-D` arguments. `commands` are the packets this subcommand sends (`pub`: CONNECT, PUBLISH,
/// DISCONNECT, WILL...).
///
/// # Errors
///
/// A usage failure, naming the property, for an unknown packet or property, a property a packet (or this
/// subcommand) cannot carry, or a bad value.
pub(crate) fn parse(arguments: &[Vec<String>], commands: &[&str]) -> Result<Properties, Failure> {
    arguments
        .iter()
        .map(|argument| one(argument, commands))
        .collect::<Result<_, _>>()
        .map(Properties)
}

/// One `-D` argument.
fn one(argument: &[String], commands: &[&str]) -> Result<Property, Failure> {
    let [command, name, values @ ..] = argument else {
        return Err(Failure::usage("-D needs COMMAND NAME VALUE"));
    };
    let command = command.to_ascii_lowercase();
    let Some((packet, names)) = ALLOWED.iter().find(|(c, _)| *c == command) else {
        return Err(Failure::usage(format!(
            "-D {command}: not a packet this tool sends properties on"
        ))
        .hint("use CONNECT, PUBLISH, SUBSCRIBE, DISCONNECT or WILL"));
    };
    let upper = command.to_uppercase();
    if !commands.contains(packet) {
        return Err(Failure::usage(format!(
            "-D {upper}: this subcommand sends no {upper} packet"
        ))
        .hint(format!(
            "use one of: {}",
            commands.join(", ").to_uppercase()
        )));
    }
    let Some(name) = names.iter().find(|n| **n == name.as_str()) else {
        return Err(
            Failure::usage(format!("-D {upper} {name}: not a property of {upper}"))
                .hint(format!("{upper} carries: {}", names.join(", "))),
        );
    };
    let arity = if *name == "user-property" { 2 } else { 1 };
    if values.len() != arity {
        return Err(Failure::usage(format!(
            "-D {upper} {name} takes {arity} value(s), not {}",
            values.len()
        )));
    }
    let text = values.first().cloned().unwrap_or_default();
    let invalid = |what: &str| Failure::usage(format!("-D {upper} {name} {text:?}: {what}"));
    let number = |min: u32, max: u32| match text.parse::<u32>() {
        Ok(n) if (min..=max).contains(&n) => Ok(Value::Number(n)),
        _ => Err(invalid(&format!("give a number from {min} to {max}"))),
    };
    let value = match *name {
        "user-property" => Value::Pair(text, values.get(1).cloned().unwrap_or_default()),
        "session-expiry-interval"
        | "maximum-packet-size"
        | "message-expiry-interval"
        | "will-delay-interval" => number(u32::from(*name == "maximum-packet-size"), u32::MAX)?,
        "receive-maximum" | "topic-alias" => number(1, u16::MAX.into())?,
        "topic-alias-maximum" => number(0, u16::MAX.into())?,
        // [MQTT-3.8.2.1.2]: 1 to 268,435,455.
        "subscription-identifier" => number(1, 268_435_455)?,
        "request-response-information"
        | "request-problem-information"
        | "payload-format-indicator" => match text.as_str() {
            "0" => Value::Flag(false),
            "1" => Value::Flag(true),
            _ => return Err(invalid("give 0 or 1")),
        },
        "response-topic" if text.is_empty() || text.contains(['+', '#']) => {
            return Err(invalid(
                "a response topic is a topic name: not empty, no wildcards",
            ));
        }
        _ => Value::Text(text),
    };
    Ok(Property {
        packet,
        name,
        value,
    })
}

impl Properties {
    /// The properties of one packet.
    fn of(&self, packet: &str) -> impl Iterator<Item = (&'static str, &Value)> {
        self.0
            .iter()
            .filter(move |p| p.packet == packet)
            .map(|p| (p.name, &p.value))
    }

    /// Whether any property goes on `packet`.
    pub(crate) fn has(&self, packet: &str) -> bool {
        self.of(packet).next().is_some()
    }

    /// The first value of `name` on `packet`.
    pub(crate) fn get(&self, packet: &str, name: &str) -> Option<&Value> {
        self.of(packet).find(|(n, _)| *n == name).map(|(_, v)| v)
    }

    /// The CONNECT properties (and PUBLISH topic-alias: the client picks its aliases) put on `options`.
    ///
    /// # Errors
    ///
    /// A usage failure for authentication data without an authentication method.
    pub(crate) fn connect(&self, mut options: Options) -> Result<Options, Failure> {
        let mut method = None;
        let mut data = None;
        for (name, value) in self.of("connect") {
            options = match (name, value) {
                ("session-expiry-interval", Value::Number(n)) => options.session_expiry(*n),
                ("receive-maximum", Value::Number(n)) => {
                    options.receive_maximum(u16::try_from(*n).unwrap_or(u16::MAX))
                }
                ("maximum-packet-size", Value::Number(n)) => {
                    options.max_packet_size(usize::try_from(*n).unwrap_or(usize::MAX))
                }
                ("topic-alias-maximum", Value::Number(n)) => {
                    options.topic_aliases(u16::try_from(*n).unwrap_or(u16::MAX), 0)
                }
                ("request-response-information", Value::Flag(on)) => {
                    options.request_response_information(*on)
                }
                ("request-problem-information", Value::Flag(on)) => {
                    options.request_problem_information(*on)
                }
                ("user-property", Value::Pair(k, v)) => options.user_property(k, v),
                ("authentication-method", Value::Text(text)) => {
                    method = Some(text.clone());
                    options
                }
                ("authentication-data", Value::Text(text)) => {
                    data = Some(text.clone().into_bytes());
                    options
                }
                _ => options,
            };
        }
        if let Some(Value::Number(n)) = self.get("publish", "topic-alias") {
            options = options.topic_aliases(0, u16::try_from(*n).unwrap_or(u16::MAX));
        }
        match (method, data) {
            (Some(method), data) => Ok(options.authenticator(Static {
                method,
                data: data.unwrap_or_default(),
            })),
            (None, Some(_)) => Err(Failure::usage(
                "-D CONNECT authentication-data needs an authentication-method",
            )
            .hint("add -D CONNECT authentication-method NAME")),
            (None, None) => Ok(options),
        }
    }

    /// The PUBLISH properties put on `message` (topic-alias is the options', see [`connect`](Self::connect)).
    pub(crate) fn message(&self, mut message: Message) -> Message {
        for (name, value) in self.of("publish") {
            message = match (name, value) {
                ("payload-format-indicator", Value::Flag(utf8)) => {
                    message.payload_format_indicator(*utf8)
                }
                ("message-expiry-interval", Value::Number(n)) => {
                    message.message_expiry_interval(*n)
                }
                ("content-type", Value::Text(text)) => message.content_type(text),
                ("response-topic", Value::Text(text)) => message.response_topic(text),
                ("correlation-data", Value::Text(text)) => {
                    message.correlation_data(text.clone().into_bytes())
                }
                ("user-property", Value::Pair(k, v)) => message.user_property(k, v),
                _ => message,
            };
        }
        message
    }

    /// The WILL properties put on `will`.
    pub(crate) fn will(&self, mut will: LastWill) -> LastWill {
        for (name, value) in self.of("will") {
            will = match (name, value) {
                ("will-delay-interval", Value::Number(n)) => will.delay_interval(*n),
                ("payload-format-indicator", Value::Flag(utf8)) => {
                    will.payload_format_indicator(*utf8)
                }
                ("message-expiry-interval", Value::Number(n)) => will.message_expiry_interval(*n),
                ("content-type", Value::Text(text)) => will.content_type(text),
                ("response-topic", Value::Text(text)) => will.response_topic(text),
                ("correlation-data", Value::Text(text)) => {
                    will.correlation_data(text.clone().into_bytes())
                }
                ("user-property", Value::Pair(k, v)) => will.user_property(k, v),
                _ => will,
            };
        }
        will
    }

    /// A SUBSCRIBE of `filters` with the SUBSCRIBE properties.
    pub(crate) fn subscribe(&self, filters: impl IntoIterator<Item = Filter>) -> SubscribeRequest {
        let mut request = filters
            .into_iter()
            .fold(SubscribeRequest::new(), SubscribeRequest::filter);
        for (name, value) in self.of("subscribe") {
            request = match (name, value) {
                ("subscription-identifier", Value::Number(n)) => request.subscription_id(*n),
                ("user-property", Value::Pair(k, v)) => request.user_property(k, v),
                _ => request,
            };
        }
        request
    }

    /// The DISCONNECT the client ends with, if it carries properties.
    pub(crate) fn disconnect(&self) -> Option<DisconnectOptions> {
        let mut options = DisconnectOptions::new();
        for (name, value) in self.of("disconnect") {
            options = match (name, value) {
                ("session-expiry-interval", Value::Number(n)) => {
                    options.session_expiry_interval(*n)
                }
                ("reason-string", Value::Text(text)) => options.reason_string(text),
                ("user-property", Value::Pair(k, v)) => options.user_property(k, v),
                _ => options,
            };
        }
        self.has("disconnect").then_some(options)
    }
}

/// `-D CONNECT authentication-method` (and `authentication-data`): 5.0 enhanced authentication with a method and
/// fixed initial data. A broker's challenge is refused: a method with challenges needs an authenticator of its own.
#[derive(Clone)]
struct Static {
    method: String,
    data: Vec<u8>,
}

/// The data is a credential: its length only.
impl std::fmt::Debug for Static {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Static")
            .field("method", &self.method)
            .field("data_len", &self.data.len())
            .finish()
    }
}

impl Authenticator for Static {
    fn method(&self) -> &str {
        &self.method
    }

    fn max_data_len(&self) -> usize {
        self.data.len().max(1)
    }

    fn start(&mut self, _reauthenticate: bool, out: &mut [u8]) -> Result<usize, AuthError> {
        let out = out.get_mut(..self.data.len()).ok_or(AuthError::TooLarge)?;
        out.copy_from_slice(&self.data);
        Ok(self.data.len())
    }

    fn challenge(&mut self, _data: &[u8], _out: &mut [u8]) -> Result<usize, AuthError> {
        Err(AuthError::Rejected)
    }
}

#[cfg(test)]
#[path = "property_tests.rs"]
mod tests;
