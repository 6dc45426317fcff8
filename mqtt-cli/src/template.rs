//! `mqtt sub -F`: mosquitto_sub's output format string, its common directives.

use std::io::{self, Write};
use std::time::{SystemTime, UNIX_EPOCH};

use mqtt_tokio::Message;

/// The directives `-F` knows, for `--help` and errors.
pub(crate) const DIRECTIVES: &str = "%t topic, %p payload, %q QoS, %r retained (0 or 1), %l payload length, %m \
     message id (always 0), %x/%X payload in hex, %j the --json line, %C/%E/%F/%R MQTT 5 content type, expiry \
     interval, payload format, response topic, %U Unix time, %I ISO 8601 time (UTC), %% a %, @@ a @; escapes \
     \\n \\t \\r \\0 \\a \\e \\v \\\\";

/// A parsed `-F` format: text and the parts of each message to print in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Template(Vec<Piece>);

/// A part of a format.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    /// Bytes printed as they are.
    Text(Vec<u8>),
    /// `%t`.
    Topic,
    /// `%p`.
    Payload,
    /// `%q`.
    Qos,
    /// `%r`.
    Retain,
    /// `%l`.
    Length,
    /// `%m`: the client does not expose packet identifiers.
    MessageId,
    /// `%x` (false) and `%X` (true).
    Hex { upper: bool },
    /// `%j`.
    Json,
    /// `%C`.
    ContentType,
    /// `%E`.
    Expiry,
    /// `%F`.
    PayloadFormat,
    /// `%R`.
    ResponseTopic,
    /// `%U`.
    UnixTime,
    /// `%I`.
    IsoTime,
}

/// Parses a `-F` format (the value parser of the argument).
///
/// # Errors
///
/// A message naming every unknown directive or escape (and the known ones).
pub(crate) fn parse(text: &str) -> Result<Template, String> {
    let mut pieces = Vec::new();
    let mut literal = Vec::new();
    let mut unknown: Vec<String> = Vec::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        let piece = match c {
            '%' => match chars.next() {
                Some('%') => {
                    literal.push(b'%');
                    continue;
                }
                Some('t') => Piece::Topic,
                Some('p') => Piece::Payload,
                Some('q') => Piece::Qos,
                Some('r') => Piece::Retain,
                Some('l') => Piece::Length,
                Some('m') => Piece::MessageId,
                Some('x') => Piece::Hex { upper: false },
                Some('X') => Piece::Hex { upper: true },
                Some('j') => Piece::Json,
                Some('C') => Piece::ContentType,
                Some('E') => Piece::Expiry,
                Some('F') => Piece::PayloadFormat,
                Some('R') => Piece::ResponseTopic,
                Some('U') => Piece::UnixTime,
                Some('I') => Piece::IsoTime,
                Some(other) => {
                    unknown.push(format!("%{other}"));
                    continue;
                }
                None => {
                    unknown.push("% at the end".to_owned());
                    continue;
                }
            },
            '@' => match chars.next() {
                Some('@') => {
                    literal.push(b'@');
                    continue;
                }
                Some(other) => {
                    unknown.push(format!("@{other}"));
                    continue;
                }
                None => {
                    unknown.push("@ at the end".to_owned());
                    continue;
                }
            },
            '\\' => {
                let byte = match chars.next() {
                    Some('\\') => b'\\',
                    Some('n') => b'\n',
                    Some('t') => b'\t',
                    Some('r') => b'\r',
                    Some('0') => 0,
                    Some('a') => 0x07,
                    Some('e') => 0x1b,
                    Some('v') => 0x0b,
                    Some(other) => {
                        unknown.push(format!("\\{other}"));
                        continue;
                    }
                    None => {
                        unknown.push("\\ at the end".to_owned());
                        continue;
                    }
                };
                literal.push(byte);
                continue;
            }
            c => {
                let mut buffer = [0; 4];
                literal.extend_from_slice(c.encode_utf8(&mut buffer).as_bytes());
                continue;
            }
        };
        if !literal.is_empty() {
            pieces.push(Piece::Text(std::mem::take(&mut literal)));
        }
        pieces.push(piece);
    }
    if !unknown.is_empty() {
        return Err(format!(
            "unknown in the format: {} (field widths, flags and @ time sequences are not supported). Known: \
             {DIRECTIVES}",
            unknown.join(", ")
        ));
    }
    if !literal.is_empty() {
        pieces.push(Piece::Text(literal));
    }
    Ok(Template(pieces))
}

impl Template {
    /// Writes one message in this format, `now` being its time of arrival (`%U`, `%I`).
    ///
    /// # Errors
    ///
    /// The writer's.
    pub(crate) fn write(
        &self,
        out: &mut impl Write,
        message: &Message,
        now: SystemTime,
    ) -> io::Result<()> {
        let since_epoch = now.duration_since(UNIX_EPOCH).unwrap_or_default();
        for piece in &self.0 {
            match piece {
                Piece::Text(bytes) => out.write_all(bytes)?,
                Piece::Topic => out.write_all(message.topic.as_bytes())?,
                Piece::Payload => out.write_all(&message.payload)?,
                Piece::Qos => write!(out, "{}", message.qos as u8)?,
                Piece::Retain => write!(out, "{}", u8::from(message.retain))?,
                Piece::Length => write!(out, "{}", message.payload.len())?,
                Piece::MessageId => out.write_all(b"0")?,
                Piece::Hex { upper: false } => {
                    for byte in &message.payload {
                        write!(out, "{byte:02x}")?;
                    }
                }
                Piece::Hex { upper: true } => {
                    for byte in &message.payload {
                        write!(out, "{byte:02X}")?;
                    }
                }
                Piece::Json => out.write_all(crate::output::json(message).as_bytes())?,
                Piece::ContentType => {
                    out.write_all(message.content_type.as_deref().unwrap_or("").as_bytes())?;
                }
                Piece::Expiry => {
                    if let Some(seconds) = message.message_expiry_interval {
                        write!(out, "{seconds}")?;
                    }
                }
                Piece::PayloadFormat => {
                    if let Some(utf8) = message.payload_format_indicator {
                        write!(out, "{}", u8::from(utf8))?;
                    }
                }
                Piece::ResponseTopic => {
                    out.write_all(message.response_topic.as_deref().unwrap_or("").as_bytes())?;
                }
                Piece::UnixTime => write!(
                    out,
                    "{}.{:09}",
                    since_epoch.as_secs(),
                    since_epoch.subsec_nanos()
                )?,
                Piece::IsoTime => {
                    let seconds = since_epoch.as_secs();
                    let (year, month, day) = civil(seconds / 86_400);
                    let time = seconds % 86_400;
                    write!(
                        out,
                        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}+0000",
                        time / 3600,
                        time % 3600 / 60,
                        time % 60
                    )?;
                }
            }
        }
        Ok(())
    }
}

/// The proleptic Gregorian date (year, month, day) of a day counted from 1970-01-01 (Howard Hinnant's
/// `civil_from_days`, for days on or after the epoch).
fn civil(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use mqtt_tokio::QoS;

    use super::*;

    fn printed(format: &str, message: &Message, now: SystemTime) -> Vec<u8> {
        let mut out = Vec::new();
        parse(format)
            .unwrap()
            .write(&mut out, message, now)
            .unwrap();
        out
    }

    #[test]
    fn each_directive_prints_its_part_of_the_message() {
        let message = Message::new("a/b", vec![0xab, b'c'])
            .qos(QoS::AtLeastOnce)
            .retain(true)
            .content_type("text/plain")
            .response_topic("r")
            .message_expiry_interval(30)
            .payload_format_indicator(false);
        let out = printed(
            "%t|%q|%r|%l|%m|%x|%X|%C|%E|%F|%R|100%%|@@\\t|%p\\n",
            &message,
            UNIX_EPOCH,
        );
        let mut expected = b"a/b|1|1|2|0|ab63|AB63|text/plain|30|0|r|100%|@\t|".to_vec();
        expected.extend_from_slice(&[0xab, b'c', b'\n']);
        assert_eq!(out, expected);
        // Absent MQTT 5 properties print nothing.
        assert_eq!(
            printed("[%C%E%F%R]", &Message::new("t", "x"), UNIX_EPOCH),
            b"[]"
        );
    }

    #[test]
    fn j_prints_the_json_line() {
        let message = Message::new("t", "x");
        assert_eq!(
            printed("%j", &message, UNIX_EPOCH),
            crate::output::json(&message).as_bytes()
        );
    }

    #[test]
    fn times_are_unix_seconds_with_nanoseconds_and_iso_8601_in_utc() {
        // 2024-02-29T13:45:07.5Z: a leap day.
        let now = UNIX_EPOCH + Duration::new(1_709_214_307, 500_000_000);
        let message = Message::new("t", "x");
        assert_eq!(printed("%U", &message, now), b"1709214307.500000000");
        assert_eq!(printed("%I", &message, now), b"2024-02-29T13:45:07+0000");
        assert_eq!(
            printed("%I", &message, UNIX_EPOCH),
            b"1970-01-01T00:00:00+0000"
        );
    }

    #[test]
    fn unknown_directives_and_escapes_are_named() {
        let error = parse("%t %P %10t @H \\q %").unwrap_err();
        for named in ["%P", "%1", "@H", "\\q", "% at the end"] {
            assert!(error.contains(named), "{named} not in {error}");
        }
        assert!(!error.contains("%t,"), "{error}");
    }
}
