//! How received messages are printed: the payload alone, `-v` (topic and payload), `--json` lines, or `-F`.

use std::io::{self, Write};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use mqtt_tokio::Message;

use crate::args::OutputArgs;
use crate::template::Template;

/// The output format of received messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Format {
    /// The payload, then a line end unless `-N` (as `mosquitto_sub`).
    Plain {
        /// Print a line end after the payload (no `-N`).
        eol: bool,
    },
    /// The topic, a space, the payload, a line end unless `-N` (as `mosquitto_sub -v`).
    Verbose {
        /// Print a line end after the payload (no `-N`).
        eol: bool,
    },
    /// One JSON object per line.
    Json,
    /// A `-F` format, then a line end unless `-N` (as `mosquitto_sub -F`).
    Template {
        /// The format.
        template: Template,
        /// Print a line end after the message (no `-N`).
        eol: bool,
    },
}

impl Format {
    /// The format the arguments ask for.
    pub(crate) fn new(args: &OutputArgs) -> Self {
        let eol = !args.no_eol;
        if let Some(template) = &args.format {
            return Self::Template {
                template: template.clone(),
                eol,
            };
        }
        match (args.json, args.verbose) {
            (true, _) => Self::Json,
            (false, true) => Self::Verbose { eol },
            (false, false) => Self::Plain { eol },
        }
    }

    /// Writes one message and flushes, so that a reader down a pipe sees it at once.
    ///
    /// # Errors
    ///
    /// The writer's (a closed pipe: `BrokenPipe`).
    pub(crate) fn write(&self, out: &mut impl Write, message: &Message) -> io::Result<()> {
        match *self {
            Self::Plain { eol } => {
                out.write_all(&message.payload)?;
                if eol {
                    out.write_all(b"\n")?;
                }
            }
            Self::Verbose { eol } => {
                out.write_all(message.topic.as_bytes())?;
                out.write_all(b" ")?;
                out.write_all(&message.payload)?;
                if eol {
                    out.write_all(b"\n")?;
                }
                for (name, value) in readable(message) {
                    writeln!(out, "  {name}: {value}")?;
                }
            }
            Self::Json => {
                out.write_all(json(message).as_bytes())?;
                out.write_all(b"\n")?;
            }
            Self::Template { ref template, eol } => {
                template.write(out, message, std::time::SystemTime::now())?;
                if eol {
                    out.write_all(b"\n")?;
                }
            }
        }
        out.flush()
    }
}

/// Binary data as text when it is UTF-8, else as base64 (and whether it is base64).
fn text_or_base64(data: &[u8]) -> (String, bool) {
    match std::str::from_utf8(data) {
        Ok(text) => (text.to_owned(), false),
        Err(_) => (STANDARD.encode(data), true),
    }
}

/// The MQTT 5 properties of a message, one line each, for `-v`: mosquitto's names, in the order of the spec.
fn readable(message: &Message) -> Vec<(&'static str, String)> {
    let mut lines = Vec::new();
    if let Some(utf8) = message.payload_format_indicator {
        let format = if utf8 { "1 (UTF-8)" } else { "0 (bytes)" };
        lines.push(("payload-format-indicator", format.to_owned()));
    }
    if let Some(seconds) = message.message_expiry_interval {
        lines.push(("message-expiry-interval", format!("{seconds} s")));
    }
    if let Some(content_type) = &message.content_type {
        lines.push(("content-type", content_type.clone()));
    }
    if let Some(topic) = &message.response_topic {
        lines.push(("response-topic", topic.clone()));
    }
    if let Some(data) = &message.correlation_data {
        let (text, base64) = text_or_base64(data);
        let text = if base64 {
            format!("{text} (base64)")
        } else {
            text
        };
        lines.push(("correlation-data", text));
    }
    for (key, value) in &message.user_properties {
        lines.push(("user-property", format!("{key} = {value}")));
    }
    if !message.subscription_identifiers.is_empty() {
        let ids: Vec<String> = message
            .subscription_identifiers
            .iter()
            .map(u32::to_string)
            .collect();
        lines.push(("subscription-identifier", ids.join(", ")));
    }
    lines
}

/// A message as one JSON object, its keys in a fixed order: `topic`, `qos`, `retain`, `properties`, `payload` and
/// `encoding`: `"utf-8"` when the payload is UTF-8 text (given as is), else `"base64"`.
///
/// `properties` holds the MQTT 5 properties the message carries, in the order of the spec, absent ones left out:
/// `payload_format_indicator` (0 or 1), `message_expiry_interval` (seconds left), `content_type`,
/// `response_topic`, `correlation_data` (base64), `user_properties` (a list of `{"key", "value"}` objects in
/// order, which jq's `from_entries` turns into an object) and `subscription_identifiers` (a list).
pub(crate) fn json(message: &Message) -> String {
    let string = |text: &str| serde_json::Value::from(text).to_string();
    let mut properties: Vec<String> = Vec::new();
    let mut field = |key: &str, value: String| properties.push(format!("\"{key}\":{value}"));
    if let Some(utf8) = message.payload_format_indicator {
        field("payload_format_indicator", u8::from(utf8).to_string());
    }
    if let Some(seconds) = message.message_expiry_interval {
        field("message_expiry_interval", seconds.to_string());
    }
    if let Some(content_type) = &message.content_type {
        field("content_type", string(content_type));
    }
    if let Some(topic) = &message.response_topic {
        field("response_topic", string(topic));
    }
    if let Some(data) = &message.correlation_data {
        field("correlation_data", string(&STANDARD.encode(data)));
    }
    if !message.user_properties.is_empty() {
        let pairs: Vec<String> = message
            .user_properties
            .iter()
            .map(|(key, value)| format!("{{\"key\":{},\"value\":{}}}", string(key), string(value)))
            .collect();
        field("user_properties", format!("[{}]", pairs.join(",")));
    }
    if !message.subscription_identifiers.is_empty() {
        let ids: Vec<String> = message
            .subscription_identifiers
            .iter()
            .map(u32::to_string)
            .collect();
        field("subscription_identifiers", format!("[{}]", ids.join(",")));
    }
    let (payload, base64) = text_or_base64(&message.payload);
    let encoding = if base64 { "base64" } else { "utf-8" };
    format!(
        "{{\"topic\":{},\"qos\":{},\"retain\":{},\"properties\":{{{}}},\"payload\":{},\"encoding\":\"{encoding}\"}}",
        string(&message.topic),
        message.qos as u8,
        message.retain,
        properties.join(","),
        string(&payload),
    )
}

#[cfg(test)]
mod tests {
    use mqtt_tokio::QoS;

    use super::*;

    #[test]
    fn a_text_payload_is_given_as_is_and_properties_in_order() {
        let message = Message::new("a/\"b", "héllo\n")
            .qos(QoS::AtLeastOnce)
            .retain(true)
            .user_property("k", "v\"1")
            .user_property("k", "2");
        let line = json(&message);
        assert_eq!(
            line,
            r#"{"topic":"a/\"b","qos":1,"retain":true,"properties":{"user_properties":[{"key":"k","value":"v\"1"},{"key":"k","value":"2"}]},"payload":"héllo\n","encoding":"utf-8"}"#
        );
        let value: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(value["payload"], "héllo\n");
    }

    #[test]
    fn a_binary_payload_is_base64() {
        let line = json(&Message::new("t", vec![0xff, 0x00, 0x80]));
        let value: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(value["encoding"], "base64");
        assert_eq!(value["payload"], "/wCA");
        assert_eq!(value["properties"], serde_json::json!({}));
    }

    fn with_every_property() -> Message {
        let mut message = Message::new("t", "x")
            .payload_format_indicator(true)
            .message_expiry_interval(30)
            .content_type("text/plain")
            .response_topic("replies/1")
            .correlation_data(vec![0xff, 1])
            .user_property("k", "v");
        message.subscription_identifiers = vec![7, 9];
        message
    }

    #[test]
    fn json_lines_carry_every_mqtt5_property() {
        let value: serde_json::Value = serde_json::from_str(&json(&with_every_property())).unwrap();
        assert_eq!(
            value["properties"],
            serde_json::json!({
                "payload_format_indicator": 1,
                "message_expiry_interval": 30,
                "content_type": "text/plain",
                "response_topic": "replies/1",
                "correlation_data": "/wE=",
                "user_properties": [{"key": "k", "value": "v"}],
                "subscription_identifiers": [7, 9],
            })
        );
    }

    #[test]
    fn verbose_output_prints_the_properties_under_the_message() {
        let mut out = Vec::new();
        Format::Verbose { eol: true }
            .write(&mut out, &with_every_property())
            .unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "t x\n  payload-format-indicator: 1 (UTF-8)\n  message-expiry-interval: 30 s\n  content-type: \
             text/plain\n  response-topic: replies/1\n  correlation-data: /wE= (base64)\n  user-property: k = v\n  \
             subscription-identifier: 7, 9\n"
        );
        let mut out = Vec::new();
        Format::Verbose { eol: true }
            .write(&mut out, &Message::new("t", "x"))
            .unwrap();
        assert_eq!(out, b"t x\n");
    }

    #[test]
    fn without_line_ends_payloads_follow_each_other_as_with_mosquitto_sub_n() {
        let mut out = Vec::new();
        for payload in ["21.", "5"] {
            Format::Plain { eol: false }
                .write(&mut out, &Message::new("t", payload))
                .unwrap();
        }
        assert_eq!(out, b"21.5");
        let mut out = Vec::new();
        Format::Verbose { eol: false }
            .write(&mut out, &Message::new("t", "x"))
            .unwrap();
        assert_eq!(out, b"t x");
    }
}
