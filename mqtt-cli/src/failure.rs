//! [`Failure`]: why a command failed, its exit code ([`Class`]), and what to do about it.

use std::fmt;

use mqtt_tokio::{
    ConnectRefusal, Disconnection, Error, LastReason, PacketType, PublishError, PublishFailure,
    SubscribeError, TlsError,
};

/// `; the broker said: "TEXT"` when `reason` (the latest Reason String, `Client::last_reason`) came with one of
/// `packets`: the broker's own explanation of a refusal, which the reason code alone does not give.
pub(crate) fn broker_said(reason: Option<LastReason>, packets: &[PacketType]) -> Option<String> {
    reason
        .filter(|reason| packets.contains(&reason.packet))
        .map(|reason| format!("; the broker said: {:?}", reason.reason_string))
}

/// The class of a failure, which is the process's exit code (listed in `--help` and the README).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Class {
    /// Anything else: a message the broker did not take, a feature not supported yet.
    Other = 1,
    /// Invalid arguments, unreadable files, an invalid topic.
    Usage = 2,
    /// The broker refused the connection, a subscription or a message.
    Refused = 3,
    /// The broker cannot be reached, or the connection was lost.
    Network = 4,
    /// The broker's certificate was refused, the handshake failed, or the TLS files cannot be used.
    Tls = 5,
    /// The broker did not answer in time, or `-W` ran out.
    Timeout = 6,
}

impl Class {
    /// The exit code.
    pub(crate) fn code(self) -> u8 {
        self as u8
    }
}

/// A failure: what went wrong, and what to do about it.
#[derive(Debug)]
pub(crate) struct Failure {
    pub(crate) class: Class,
    message: String,
    hint: Option<String>,
}

impl Failure {
    /// A failure of this class.
    pub(crate) fn new(class: Class, message: impl Into<String>) -> Self {
        Self {
            class,
            message: message.into(),
            hint: None,
        }
    }

    /// An argument or a file that cannot be used.
    pub(crate) fn usage(message: impl Into<String>) -> Self {
        Self::new(Class::Usage, message)
    }

    /// Adds the broker's own words: the Reason String of `reason` (`Client::last_reason`), if it came with one of
    /// `packets`.
    pub(crate) fn said(mut self, reason: Option<LastReason>, packets: &[PacketType]) -> Self {
        if let Some(text) = broker_said(reason, packets) {
            self.message.push_str(&text);
        }
        self
    }

    /// Adds (or replaces) what to do about it.
    pub(crate) fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// A client error met while talking to `broker`, with the broker named and a hint for its class.
    pub(crate) fn at(broker: &str, error: &Error) -> Self {
        let failure = Self::from(error);
        Self {
            message: format!("{broker}: {}", failure.message),
            ..failure
        }
    }

    /// Says what to do when the time given (`-W`, or the connect timeout) ran out.
    pub(crate) fn timed_out(what: &str) -> Self {
        Self::new(Class::Timeout, format!("timed out {what}")).hint(
            "check the broker's address and port (a TLS port needs mqtts:// or --cafile), or allow more time \
             with -W (and --connect-timeout)",
        )
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "mqtt: {}", self.message)?;
        if let Some(hint) = &self.hint {
            write!(f, "\n  hint: {hint}")?;
        }
        Ok(())
    }
}

impl From<&Error> for Failure {
    fn from(error: &Error) -> Self {
        let (class, hint) = classify(error);
        Self {
            class,
            message: error.to_string(),
            hint: hint.map(str::to_owned),
        }
    }
}

impl From<Error> for Failure {
    fn from(error: Error) -> Self {
        Self::from(&error)
    }
}

/// Where to write the output failed (a closed pipe is not a failure: the callers stop quietly).
impl From<std::io::Error> for Failure {
    fn from(error: std::io::Error) -> Self {
        Self::new(Class::Other, format!("cannot write the output: {error}"))
    }
}

/// The class of a client error, and what to do about it.
fn classify(error: &Error) -> (Class, Option<&'static str>) {
    const ADDRESS: &str = "check that the broker runs, its address (-h/-p, -L URL, or MQTT_BROKER/MQTT_PORT), \
                           and that the scheme suits the port (mqtts:// or --cafile for TLS, ws:// for WebSocket)";
    match error {
        Error::InvalidUrl(_) => (
            Class::Usage,
            Some("write the URL as mqtt://HOST:PORT (or mqtts://, ws://, wss://)"),
        ),
        Error::Environment(_) => (
            Class::Usage,
            Some("set MQTT_BROKER to a host or URL and MQTT_PORT to a port, or give -h/-p or -L"),
        ),
        Error::Config(_) => (Class::Usage, None),
        Error::Tls(TlsError::Certificate(_)) => (
            Class::Tls,
            Some(
                "give the CA that signed the broker's certificate with --cafile, and connect with a host name the \
                 certificate names",
            ),
        ),
        Error::Tls(TlsError::Config(_)) => (
            Class::Tls,
            Some("check the files given with --cafile, --cert and --key (PEM; a DER CA works too)"),
        ),
        Error::Tls(_) => (
            Class::Tls,
            Some(
                "check that the port is a TLS listener, and give --cert and --key if the broker asks for a client \
                 certificate",
            ),
        ),
        Error::WebSocket(_) => (
            Class::Network,
            Some(
                "check that the port is a WebSocket listener and the URL's path (mosquitto answers on any path)",
            ),
        ),
        Error::Io(_) => (Class::Network, Some(ADDRESS)),
        Error::Publish(PublishError::InvalidTopic(_)) => (
            Class::Usage,
            Some("a topic name has no wildcards (+, #) nor control characters, and is not empty"),
        ),
        Error::Publish(PublishError::InvalidProperty(_)) => (
            Class::Usage,
            Some(
                "a -D text property holds no control characters (tab, line end...), and a response topic \
                 no wildcards",
            ),
        ),
        Error::Publish(PublishError::PayloadNotUtf8) => (
            Class::Usage,
            Some(
                "a payload sent with -D PUBLISH payload-format-indicator 1 is UTF-8 text: leave the property out \
                 for other bytes",
            ),
        ),
        Error::Publish(PublishError::TooLarge { .. }) => (
            Class::Usage,
            Some("send a smaller payload: the broker (or the client's memory) sets the limit"),
        ),
        Error::Publish(PublishError::QoSNotSupported { .. } | PublishError::RetainNotSupported) => {
            (
                Class::Refused,
                Some("the broker announced it does not take this: use a lower -q, or no -r"),
            )
        }
        Error::Publish(PublishError::PropertiesNotSupported) => (
            Class::Other,
            Some(
                "MQTT 5 properties (-D) need an MQTT 5 connection: drop -V 311, or the -D options if the broker \
                 speaks only 3.1.1",
            ),
        ),
        Error::Publish(_) => (Class::Other, None),
        Error::PublishFailed(PublishFailure::Rejected(_)) => (
            Class::Refused,
            Some(
                "the broker's access rules may not let this client publish to the topic: check -u/-P and its ACL",
            ),
        ),
        Error::PublishFailed(_) => (Class::Other, None),
        Error::Subscribe(SubscribeError::InvalidFilter(_)) => (
            Class::Usage,
            Some(
                "in a filter, + and # stand alone between slashes, # comes last (a/+/c, a/#), and there are \
                 no control characters",
            ),
        ),
        Error::Subscribe(_) => (Class::Other, None),
        Error::InboxRefused(_) => (
            Class::Refused,
            Some(
                "the broker did not let this client subscribe to its reply inbox (replies/...): check its ACL, or \
                 name a response topic the client may read with --response-topic",
            ),
        ),
        Error::SubscriptionRefused(_) | Error::UnsubscribeRefused(_) => (
            Class::Refused,
            Some(
                "the broker's access rules may not let this client read the topic: check -u/-P and its ACL",
            ),
        ),
        Error::Refused(refusal) | Error::GaveUp(Disconnection::Refused(refusal)) => {
            (Class::Refused, Some(refused_hint(refusal)))
        }
        Error::ConnectionFailed(Disconnection::Refused(refusal)) => {
            (Class::Refused, Some(refused_hint(refusal)))
        }
        Error::ConnectionFailed(Disconnection::ConnectTimeout) => (
            Class::Timeout,
            Some(
                "the broker did not answer: check the port is an MQTT listener (a TLS port needs mqtts://)",
            ),
        ),
        Error::GaveUp(_) | Error::ConnectionFailed(_) | Error::Closed => (
            Class::Network,
            Some(
                "the broker closed the connection: its log says why (a client id already in use, a limit...)",
            ),
        ),
        Error::Timeout => (
            Class::Timeout,
            Some(
                "check the broker's address and port (a TLS port needs mqtts:// or --cafile), or allow more time \
                 with --connect-timeout and -W",
            ),
        ),
        Error::Unacknowledged(_) => (
            Class::Timeout,
            Some("the broker did not acknowledge every message in time: allow more time with -W"),
        ),
        _ => (Class::Other, None),
    }
}

/// What to do about a refused connection.
fn refused_hint(refusal: &ConnectRefusal) -> &'static str {
    match refusal {
        ConnectRefusal::BadUserNameOrPassword => "check -u/-P (or MQTT_USERNAME and MQTT_PASSWORD)",
        ConnectRefusal::NotAuthorized => {
            "the broker does not let this client in: check -u/-P (or MQTT_USERNAME and MQTT_PASSWORD), and the \
             broker's access rules"
        }
        ConnectRefusal::IdentifierRejected => {
            "choose another client id with -i (or none, to get a generated one)"
        }
        ConnectRefusal::UnsupportedProtocolVersion => {
            "the broker does not speak this MQTT version: try -V 311 (mqtt req needs MQTT 5)"
        }
        ConnectRefusal::ServerUnavailable => "the broker is not available now: try again later",
        ConnectRefusal::Other(mqtt_tokio::ReasonCode::BAD_AUTHENTICATION_METHOD) => {
            "the broker does not know the -D CONNECT authentication-method given (or the method needs a \
             challenge this tool cannot answer): drop it, or use a method the broker's configuration names"
        }
        _ => "the reason above comes from the broker; its log may say more",
    }
}

#[cfg(test)]
mod tests {
    use std::io::ErrorKind;
    use std::sync::Arc;

    use super::*;

    #[test]
    fn each_error_class_has_its_own_exit_code() {
        let io = |kind| Error::Io(Arc::new(std::io::Error::from(kind)));
        let cases = [
            (Error::Refused(ConnectRefusal::BadUserNameOrPassword), 3),
            (io(ErrorKind::ConnectionRefused), 4),
            (
                Error::Tls(TlsError::Certificate("unknown issuer".into())),
                5,
            ),
            (Error::Timeout, 6),
            (Error::Environment("MQTT_BROKER is not set"), 2),
            (Error::Publish(PublishError::QueueFull), 1),
            (
                Error::Publish(PublishError::InvalidProperty("user property")),
                2,
            ),
            (
                Error::InboxRefused(mqtt_tokio::ReasonCode::NOT_AUTHORIZED),
                3,
            ),
        ];
        for (error, code) in cases {
            assert_eq!(Failure::from(&error).class.code(), code, "{error}");
        }
    }

    #[test]
    fn a_failure_says_what_to_do() {
        let text = Failure::at(
            "mqtt://localhost:1883",
            &Error::Refused(ConnectRefusal::BadUserNameOrPassword),
        )
        .to_string();
        assert!(
            text.starts_with("mqtt: mqtt://localhost:1883: connection refused"),
            "{text}"
        );
        assert!(text.contains("hint: check -u/-P"), "{text}");
    }
}
