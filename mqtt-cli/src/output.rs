//! How received messages are printed: the payload alone, `-v` (topic and payload), or `--json` lines.

use std::io::{self, Write};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use mqtt_tokio::Message;

use crate::args::OutputArgs;

/// The output format of received messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    /// The payload, then a line end (as `mosquitto_sub`).
    Plain,
    /// The topic, a space, the payload, a line end (as `mosquitto_sub -v`).
    Verbose,
    /// One JSON object per line.
    Json,
}

impl Format {
    /// The format the arguments ask for.
    pub(crate) fn new(args: &OutputArgs) -> Self {
        match (args.json, args.verbose) {
            (true, _) => Self::Json,
            (false, true) => Self::Verbose,
            (false, false) => Self::Plain,
        }
    }

    /// Writes one message and flushes, so that a reader down a pipe sees it at once.
    ///
    /// # Errors
    ///
    /// The writer's (a closed pipe: `BrokenPipe`).
    pub(crate) fn write(self, out: &mut impl Write, message: &Message) -> io::Result<()> {
        match self {
            Self::Plain => {
                out.write_all(&message.payload)?;
                out.write_all(b"\n")?;
            }
            Self::Verbose => {
                out.write_all(message.topic.as_bytes())?;
                out.write_all(b" ")?;
                out.write_all(&message.payload)?;
                out.write_all(b"\n")?;
            }
            Self::Json => {
                let line = json(
                    &message.topic,
                    message.qos as u8,
                    message.retain,
                    &message.user_properties,
                    &message.payload,
                );
                out.write_all(line.as_bytes())?;
                out.write_all(b"\n")?;
            }
        }
        out.flush()
    }
}

/// A message as one JSON object, its keys in a fixed order: `topic`, `qos`, `retain`, `properties` (with
/// `user_properties` as a list of `{"key", "value"}` objects, in order, which jq's `from_entries` turns into an
/// object), `payload` and `encoding`: `"utf-8"` when the payload is UTF-8 text (given as is), else `"base64"`.
pub(crate) fn json(
    topic: &str,
    qos: u8,
    retain: bool,
    user_properties: &[(String, String)],
    payload: &[u8],
) -> String {
    let string = |text: &str| serde_json::Value::from(text).to_string();
    let user_properties: Vec<String> = user_properties
        .iter()
        .map(|(key, value)| format!("{{\"key\":{},\"value\":{}}}", string(key), string(value)))
        .collect();
    let properties = match user_properties.is_empty() {
        true => "{}".to_owned(),
        false => format!("{{\"user_properties\":[{}]}}", user_properties.join(",")),
    };
    let (payload, encoding) = match std::str::from_utf8(payload) {
        Ok(text) => (string(text), "utf-8"),
        Err(_) => (string(&STANDARD.encode(payload)), "base64"),
    };
    format!(
        "{{\"topic\":{},\"qos\":{qos},\"retain\":{retain},\"properties\":{properties},\"payload\":{payload},\"encoding\":\"{encoding}\"}}",
        string(topic),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_text_payload_is_given_as_is_and_properties_in_order() {
        let props = [
            ("k".to_owned(), "v\"1".to_owned()),
            ("k".to_owned(), "2".to_owned()),
        ];
        let line = json("a/\"b", 1, true, &props, "héllo\n".as_bytes());
        assert_eq!(
            line,
            r#"{"topic":"a/\"b","qos":1,"retain":true,"properties":{"user_properties":[{"key":"k","value":"v\"1"},{"key":"k","value":"2"}]},"payload":"héllo\n","encoding":"utf-8"}"#
        );
        let value: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(value["payload"], "héllo\n");
    }

    #[test]
    fn a_binary_payload_is_base64() {
        let line = json("t", 0, false, &[], &[0xff, 0x00, 0x80]);
        let value: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(value["encoding"], "base64");
        assert_eq!(value["payload"], "/wCA");
        assert_eq!(value["properties"], serde_json::json!({}));
    }
}
