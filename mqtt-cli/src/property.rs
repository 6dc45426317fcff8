//! `-D COMMAND NAME VALUE`: MQTT 5 properties as mosquitto's tools spell them, checked against the packets that
//! may carry them, and applied where mqtt-tokio's API can carry them today.

use crate::failure::{Class, Failure};

/// A property the client can send now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Property {
    /// CONNECT Session Expiry Interval, in seconds.
    SessionExpiry(u32),
    /// CONNECT Receive Maximum.
    ReceiveMaximum(u16),
    /// CONNECT Maximum Packet Size, in bytes.
    MaximumPacketSize(u32),
}

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
    ("unsubscribe", &["user-property"]),
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

/// Reads the `-D` arguments. `commands` are the packets this subcommand sends (`pub`: CONNECT, PUBLISH,
/// DISCONNECT, WILL...).
///
/// # Errors
///
/// A usage failure for an unknown packet or property, a property a packet cannot carry, or a bad value; a failure
/// of class [`Class::Other`] for a valid property that mqtt-tokio cannot send yet (never silently dropped).
pub(crate) fn parse(
    arguments: &[Vec<String>],
    commands: &[&str],
) -> Result<Vec<Property>, Failure> {
    let mut properties = Vec::new();
    let mut unsupported = Vec::new();
    for argument in arguments {
        let [command, name, values @ ..] = argument.as_slice() else {
            return Err(Failure::usage("-D needs COMMAND NAME VALUE"));
        };
        let command = command.to_ascii_lowercase();
        let Some((_, names)) = ALLOWED.iter().find(|(c, _)| *c == command) else {
            return Err(Failure::usage(format!(
                "-D {command}: not a packet that carries properties"
            ))
            .hint("use CONNECT, PUBLISH, SUBSCRIBE, UNSUBSCRIBE, DISCONNECT or WILL"));
        };
        if !commands.contains(&command.as_str()) {
            return Err(Failure::usage(format!(
                "-D {command}: this subcommand sends no {} packet",
                command.to_uppercase()
            ))
            .hint(format!(
                "use one of: {}",
                commands.join(", ").to_uppercase()
            )));
        }
        if !names.contains(&name.as_str()) {
            return Err(Failure::usage(format!(
                "-D {command} {name}: not a property of {}",
                command.to_uppercase()
            ))
            .hint(format!(
                "{} carries: {}",
                command.to_uppercase(),
                names.join(", ")
            )));
        }
        let arity = if name == "user-property" { 2 } else { 1 };
        if values.len() != arity {
            return Err(Failure::usage(format!(
                "-D {command} {name} takes {arity} value(s), not {}",
                values.len()
            )));
        }
        let value = values.first().map_or("", String::as_str);
        match (command.as_str(), name.as_str()) {
            ("connect", "session-expiry-interval") => {
                properties.push(Property::SessionExpiry(number(name, value)?));
            }
            ("connect", "receive-maximum") => {
                let max: u16 = number(name, value)?;
                if max == 0 {
                    return Err(Failure::usage(
                        "-D connect receive-maximum: 0 is not allowed",
                    ));
                }
                properties.push(Property::ReceiveMaximum(max));
            }
            ("connect", "maximum-packet-size") => {
                let max: u32 = number(name, value)?;
                if max == 0 {
                    return Err(Failure::usage(
                        "-D connect maximum-packet-size: 0 is not allowed",
                    ));
                }
                properties.push(Property::MaximumPacketSize(max));
            }
            _ => unsupported.push(format!("{} {name}", command.to_uppercase())),
        }
    }
    if !unsupported.is_empty() {
        return Err(Failure::new(
            Class::Other,
            format!("not supported yet: -D {}", unsupported.join(", -D ")),
        )
        .hint(
            "mqtt-tokio cannot send these properties yet (MQTT 5 support is coming); today -D takes CONNECT \
             session-expiry-interval, receive-maximum and maximum-packet-size",
        ));
    }
    Ok(properties)
}

/// A numeric property value.
fn number<T: std::str::FromStr>(name: &str, value: &str) -> Result<T, Failure> {
    value
        .parse()
        .map_err(|_| Failure::usage(format!("-D {name}: {value:?} is not a valid number for it")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&[&str]]) -> Vec<Vec<String>> {
        list.iter()
            .map(|a| a.iter().map(|s| (*s).to_owned()).collect())
            .collect()
    }

    const PUB: &[&str] = &["connect", "publish", "disconnect", "will"];

    #[test]
    fn connect_properties_the_client_can_send_are_read() {
        let parsed = parse(
            &args(&[
                &["CONNECT", "session-expiry-interval", "60"],
                &["connect", "receive-maximum", "10"],
                &["Connect", "maximum-packet-size", "4096"],
            ]),
            PUB,
        )
        .unwrap();
        assert_eq!(
            parsed,
            [
                Property::SessionExpiry(60),
                Property::ReceiveMaximum(10),
                Property::MaximumPacketSize(4096)
            ]
        );
    }

    #[test]
    fn a_valid_property_not_supported_yet_is_refused_not_dropped() {
        let failure = parse(&args(&[&["PUBLISH", "user-property", "k", "v"]]), PUB).unwrap_err();
        assert_eq!(failure.class, Class::Other);
        assert!(
            failure
                .to_string()
                .contains("not supported yet: -D PUBLISH user-property"),
            "{failure}"
        );
    }

    #[test]
    fn misplaced_or_malformed_properties_are_usage_errors() {
        for list in [
            &[&["PUBLISH", "session-expiry-interval", "1"][..]][..],
            &[&["SUBSCRIBE", "user-property", "k", "v"]],
            &[&["CONNECT", "receive-maximum", "0"]],
            &[&["CONNECT", "receive-maximum", "many"]],
            &[&["CONNECT", "user-property", "k"]],
            &[&["AUTH", "reason-string", "x"]],
        ] {
            let failure = parse(&args(list), PUB).unwrap_err();
            assert_eq!(failure.class, Class::Usage, "{list:?}: {failure}");
        }
    }
}
