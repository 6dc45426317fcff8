//! The command line, as clap's derive reads it: options spelled as mosquitto's tools spell them where they exist.

use std::path::PathBuf;
use std::time::Duration;

use clap::{
    ArgAction, Args, CommandFactory as _, FromArgMatches as _, Parser, Subcommand, ValueEnum,
};

/// The exit codes, as a literal (for `concat!`).
macro_rules! exit_codes {
    () => {
        "Exit codes:
  0  success
  1  any other failure (a message the broker did not take...)
  2  usage: invalid arguments or -D properties, unreadable files, an invalid topic, mqtt req with -V 311
  3  refused: the broker refused the connection, a subscription or a message (credentials, authorisation)
  4  network: the broker cannot be reached, or the connection was lost
  5  TLS: the broker's certificate was refused, the handshake failed, or the TLS files cannot be used
  6  timeout: the broker did not answer in time, -W ran out before the work was done, or no response came to
     mqtt req"
    };
}

/// The end of `mqtt --help`.
const EXIT_CODES: &str = exit_codes!();

/// The end of every subcommand's `--help`: where the broker is, and the exit codes.
const AFTER_HELP: &str = concat!(
    "The broker: -L URL, or -h/-p (TLS when --cafile or --cert is given), or else the environment (MQTT_BROKER, a \
     host or a URL, with MQTT_PORT), or else mqtt://localhost:1883. MQTT_USERNAME, MQTT_PASSWORD and \
     MQTT_CLIENT_ID stand in for -u, -P and -i.\n\n",
    exit_codes!()
);

/// `mqtt`: an MQTT 3.1.1 and 5.0 command-line client.
#[derive(Debug, Parser)]
#[command(
    name = "mqtt",
    version,
    about = "Publish, subscribe and benchmark MQTT 3.1.1 and 5.0 brokers",
    after_help = EXIT_CODES,
    max_term_width = 110
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

impl Cli {
    /// Parses the command line (the program's name first).
    ///
    /// # Errors
    ///
    /// clap's, for invalid arguments (exit code 2), `--help` and `--version` (exit code 0).
    pub(crate) fn parse_from<I, T>(args: I) -> Result<Self, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        let matches = Self::command().try_get_matches_from(args)?;
        let mut cli = Self::from_arg_matches(&matches)?;
        // The derive cannot keep `-D`'s values grouped by occurrence: read them from the matches.
        if let Some((_, matches)) = matches.subcommand() {
            let occurrences = matches
                .get_occurrences::<String>("property_values")
                .into_iter()
                .flatten();
            cli.command.connect_mut().properties = occurrences
                .map(|values| values.cloned().collect())
                .collect();
        }
        Ok(cli)
    }
}

impl Command {
    /// The connection arguments, which every subcommand has.
    fn connect_mut(&mut self) -> &mut ConnectArgs {
        match self {
            Self::Pub(args) => &mut args.connect,
            Self::Sub(args) => &mut args.connect,
            Self::Req(args) => &mut args.connect,
            Self::Bench(args) => &mut args.connect,
        }
    }
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Publish a message (from -m, a file, stdin, or each line of stdin).
    #[command(disable_help_flag = true, after_help = AFTER_HELP)]
    Pub(PubArgs),
    /// Subscribe to topics and print the messages (plain, -v, --json lines, or a -F format).
    #[command(disable_help_flag = true, after_help = AFTER_HELP)]
    Sub(SubArgs),
    /// Send a request and print its response (MQTT 5 request/response).
    #[command(disable_help_flag = true, after_help = AFTER_HELP)]
    Req(ReqArgs),
    /// Measure a broker: N publishers and M subscribers, throughput, loss and latency.
    #[command(disable_help_flag = true, after_help = AFTER_HELP)]
    Bench(BenchArgs),
}

/// The MQTT protocol version (`-V`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Version {
    /// MQTT 5.0 only.
    #[value(name = "5", alias = "mqttv5")]
    V5,
    /// MQTT 3.1.1 only.
    #[value(name = "311", alias = "mqttv311")]
    V311,
}

/// How to reach the broker and who to be: shared by every subcommand.
#[derive(Clone, Args)]
#[command(next_help_heading = "Connection")]
pub(crate) struct ConnectArgs {
    /// Print help (-h is the host, as in mosquitto's tools).
    #[arg(long, action = ArgAction::Help)]
    pub(crate) help: Option<bool>,
    /// Broker URL: mqtt://, mqtts://, ws:// or wss:// (user:password@ and a WebSocket path allowed).
    #[arg(short = 'L', long, value_name = "URL", conflicts_with_all = ["host", "port"])]
    pub(crate) url: Option<String>,
    /// Broker host [default: localhost].
    #[arg(short = 'h', long, value_name = "HOST")]
    pub(crate) host: Option<String>,
    /// Broker port [default: 1883, or 8883 with TLS].
    #[arg(short = 'p', long, value_name = "PORT")]
    pub(crate) port: Option<u16>,
    /// User name.
    #[arg(short = 'u', long, env = "MQTT_USERNAME", value_name = "USER")]
    pub(crate) username: Option<String>,
    /// Password (MQTT 5: alone or with -u; 3.1.1: needs -u).
    #[arg(
        short = 'P',
        long = "pw",
        alias = "password",
        env = "MQTT_PASSWORD",
        hide_env_values = true,
        value_name = "PASSWORD"
    )]
    pub(crate) password: Option<String>,
    /// Client identifier [default: generated].
    #[arg(short = 'i', long = "id", env = "MQTT_CLIENT_ID", value_name = "ID")]
    pub(crate) client_id: Option<String>,
    /// Keep alive interval in seconds (0: off).
    #[arg(short = 'k', long, value_name = "SECONDS", default_value_t = 60)]
    pub(crate) keepalive: u16,
    /// Protocol version [default: 5, falling back to 3.1.1 with a broker that does not speak 5].
    #[arg(short = 'V', long = "protocol-version", value_name = "VERSION")]
    pub(crate) version: Option<Version>,
    /// Persistent session: keep the session (subscriptions, queued messages) when disconnected. Needs -i.
    #[arg(short = 'c', long = "disable-clean-session", requires = "client_id")]
    pub(crate) persistent: bool,
    /// MQTT 5 session expiry interval in seconds [default with -c: never expires].
    #[arg(short = 'x', long = "session-expiry-interval", value_name = "SECONDS")]
    pub(crate) session_expiry: Option<u32>,
    /// Time allowed to connect (TCP, TLS and the broker's answer), in seconds.
    #[arg(long, value_name = "SECONDS", default_value = "10", value_parser = seconds)]
    pub(crate) connect_timeout: Duration,
    /// Time allowed at the end for the broker to acknowledge what is in flight before DISCONNECT, in seconds.
    #[arg(long, value_name = "SECONDS", default_value = "5", value_parser = seconds)]
    pub(crate) disconnect_timeout: Duration,
    /// MQTT 5 property: COMMAND NAME VALUE (user-property takes NAME VALUE), e.g. -D PUBLISH content-type
    /// text/plain, -D CONNECT session-expiry-interval 3600. Repeatable. COMMAND: CONNECT, PUBLISH, SUBSCRIBE,
    /// DISCONNECT or WILL; NAME as mosquitto spells it.
    #[arg(
        short = 'D',
        long = "property",
        num_args = 3..=4,
        value_names = ["COMMAND", "NAME", "VALUE"],
        action = ArgAction::Append,
    )]
    pub(crate) property_values: Vec<String>,
    /// `-D`, one list per occurrence (filled by [`Cli::parse_from`] from clap's occurrences).
    #[arg(skip)]
    pub(crate) properties: Vec<Vec<String>>,
    /// Print connection events (and what the client does) to stderr.
    #[arg(short = 'd', long)]
    pub(crate) debug: bool,

    /// Trust this CA certificate (PEM or DER) instead of the system's roots; implies TLS with -h/-p.
    #[arg(long, value_name = "FILE", help_heading = "TLS")]
    pub(crate) cafile: Option<PathBuf>,
    /// Client certificate chain (PEM) for mutual TLS; needs --key.
    #[arg(long, value_name = "FILE", requires = "key", help_heading = "TLS")]
    pub(crate) cert: Option<PathBuf>,
    /// Private key (PEM) of --cert.
    #[arg(long, value_name = "FILE", requires = "cert", help_heading = "TLS")]
    pub(crate) key: Option<PathBuf>,

    /// Topic of the will, published by the broker if the connection ends without DISCONNECT.
    #[arg(long, value_name = "TOPIC", help_heading = "Will")]
    pub(crate) will_topic: Option<String>,
    /// Payload of the will [default: empty] (its bytes as given, UTF-8 or not, as with -m).
    #[arg(
        long,
        value_name = "PAYLOAD",
        requires = "will_topic",
        help_heading = "Will"
    )]
    pub(crate) will_payload: Option<std::ffi::OsString>,
    /// QoS of the will.
    #[arg(long, value_name = "QOS", requires = "will_topic", value_parser = qos, default_value_t = 0, help_heading = "Will")]
    pub(crate) will_qos: u8,
    /// Retain the will.
    #[arg(long, requires = "will_topic", help_heading = "Will")]
    pub(crate) will_retain: bool,
}

/// The password, the URL (which may hold one) and the `-D` values (authentication data) are left out.
impl std::fmt::Debug for ConnectArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let given = |set: bool| if set { "<given>" } else { "<none>" };
        f.debug_struct("ConnectArgs")
            .field("url", &given(self.url.is_some()))
            .field("host", &self.host)
            .field("port", &self.port)
            .field("username", &self.username)
            .field("password", &given(self.password.is_some()))
            .field("client_id", &self.client_id)
            .field("keepalive", &self.keepalive)
            .field("version", &self.version)
            .field("persistent", &self.persistent)
            .field("session_expiry", &self.session_expiry)
            .field("connect_timeout", &self.connect_timeout)
            .field("disconnect_timeout", &self.disconnect_timeout)
            .field("properties", &self.properties.len())
            .field("debug", &self.debug)
            .field("cafile", &self.cafile)
            .field("cert", &self.cert)
            .field("key", &self.key)
            .field("will_topic", &self.will_topic)
            .field("will_qos", &self.will_qos)
            .field("will_retain", &self.will_retain)
            .finish_non_exhaustive()
    }
}

/// `mqtt pub`.
#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("payload").required(true).args(["message", "file", "stdin_file", "stdin_line", "null_message"]))]
pub(crate) struct PubArgs {
    /// Topic to publish to.
    #[arg(short = 't', long, value_name = "TOPIC")]
    pub(crate) topic: String,
    /// The payload (its bytes as given, UTF-8 or not, as mosquitto_pub takes them).
    #[arg(
        short = 'm',
        long,
        value_name = "MESSAGE",
        help_heading = "Payload (one of)"
    )]
    pub(crate) message: Option<std::ffi::OsString>,
    /// The payload is this file's content.
    #[arg(
        short = 'f',
        long,
        value_name = "FILE",
        help_heading = "Payload (one of)"
    )]
    pub(crate) file: Option<PathBuf>,
    /// The payload is all of stdin.
    #[arg(short = 's', long = "stdin-file", help_heading = "Payload (one of)")]
    pub(crate) stdin_file: bool,
    /// One message per line of stdin, published as the lines come (without the line end).
    #[arg(short = 'l', long = "stdin-line", help_heading = "Payload (one of)")]
    pub(crate) stdin_line: bool,
    /// An empty payload (with -r: clears the topic's retained message).
    #[arg(short = 'n', long = "null-message", help_heading = "Payload (one of)")]
    pub(crate) null_message: bool,
    /// Quality of service: 0, 1 or 2.
    #[arg(short = 'q', long, value_name = "QOS", value_parser = qos, default_value_t = 0)]
    pub(crate) qos: u8,
    /// Retain the message.
    #[arg(short = 'r', long)]
    pub(crate) retain: bool,
    /// Publish the message this many times.
    #[arg(long, value_name = "COUNT", default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) repeat: u64,
    /// Seconds between repeated messages.
    #[arg(long, value_name = "SECONDS", default_value = "0", value_parser = seconds)]
    pub(crate) repeat_delay: Duration,
    /// Give up after this many seconds (connecting, publishing and the acknowledgements).
    #[arg(short = 'W', long, value_name = "SECONDS", value_parser = seconds)]
    pub(crate) timeout: Option<Duration>,
    #[command(flatten)]
    pub(crate) connect: ConnectArgs,
}

/// How `mqtt sub` prints messages.
#[derive(Debug, Args)]
pub(crate) struct OutputArgs {
    /// Print the topic before each payload, and the message's MQTT 5 properties (if any) under it, one per line.
    #[arg(short = 'v', long, help_heading = "Output")]
    pub(crate) verbose: bool,
    /// One JSON object per message: topic, qos, retain, properties, payload (UTF-8 text, or base64 with
    /// "encoding": "base64").
    #[arg(long, conflicts_with = "verbose", help_heading = "Output")]
    pub(crate) json: bool,
    /// No line end after each payload (as mosquitto_sub -N): for binary payloads written to a file.
    #[arg(
        short = 'N',
        long = "no-eol",
        conflicts_with = "json",
        help_heading = "Output"
    )]
    pub(crate) no_eol: bool,
    /// Print each message in this format (as mosquitto_sub -F), e.g. '%t %q %p': %t topic, %p payload, %q QoS, %r
    /// retained, %l length, %x/%X hex payload, %j JSON line, %U/%I time, %% a %; \n \t escapes. A line end
    /// follows unless -N.
    #[arg(
        short = 'F',
        long = "format",
        value_name = "FORMAT",
        value_parser = crate::template::parse,
        conflicts_with_all = ["verbose", "json"],
        help_heading = "Output"
    )]
    pub(crate) format: Option<crate::template::Template>,
}

/// `mqtt sub`.
#[derive(Debug, Args)]
pub(crate) struct SubArgs {
    /// Topic filter to subscribe to (wildcards + and #). Repeatable.
    #[arg(short = 't', long, value_name = "FILTER", required_unless_present = "unsubscribe", action = ArgAction::Append)]
    pub(crate) topic: Vec<String>,
    /// Do not print messages on topics matching this filter (nor count them for -C). Repeatable.
    #[arg(short = 'T', long = "filter-out", value_name = "FILTER", value_parser = filter, action = ArgAction::Append)]
    pub(crate) filter_out: Vec<String>,
    /// Unsubscribe from this filter once connected (for a persistent session, -c); without -t, then exit.
    /// Repeatable.
    #[arg(short = 'U', long, value_name = "FILTER", value_parser = filter, action = ArgAction::Append)]
    pub(crate) unsubscribe: Vec<String>,
    /// Exit once subscribed (and unsubscribed): to create a persistent session (-c) that queues messages.
    #[arg(short = 'E', long = "exit-after-subscribe")]
    pub(crate) exit_after_subscribe: bool,
    /// Maximum quality of service to receive with: 0, 1 or 2.
    #[arg(short = 'q', long, value_name = "QOS", value_parser = qos, default_value_t = 0)]
    pub(crate) qos: u8,
    /// Exit after this many messages (at least 1).
    #[arg(short = 'C', long, value_name = "COUNT", value_parser = count)]
    pub(crate) count: Option<u64>,
    /// Stop after this many seconds: with -C a timeout (exit code 6) if fewer messages came, without -C the end.
    #[arg(short = 'W', long, value_name = "SECONDS", value_parser = seconds)]
    pub(crate) timeout: Option<Duration>,
    /// Skip retained messages (those the broker sends at subscription).
    #[arg(short = 'R', long = "no-retained")]
    pub(crate) no_retained: bool,
    /// Print only retained messages, and stop at the first message that is not retained.
    #[arg(long, conflicts_with = "no_retained")]
    pub(crate) retained_only: bool,
    /// Clear each retained message received (an empty retained message to its topic, QoS 1); -T spares topics.
    #[arg(long, conflicts_with = "no_retained")]
    pub(crate) remove_retained: bool,
    #[command(flatten)]
    pub(crate) output: OutputArgs,
    #[command(flatten)]
    pub(crate) connect: ConnectArgs,
}

/// `mqtt req`.
#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("payload").required(true).args(["message", "file", "stdin_file", "null_message"]))]
pub(crate) struct ReqArgs {
    /// Topic to send the request to.
    #[arg(short = 't', long, value_name = "TOPIC")]
    pub(crate) topic: String,
    /// Topic the response is expected on (MQTT 5 Response Topic) [default: the client's reply inbox,
    /// replies/CLIENT-ID].
    #[arg(short = 'e', long = "response-topic", value_name = "TOPIC")]
    pub(crate) response_topic: Option<String>,
    /// The request's payload.
    #[arg(
        short = 'm',
        long,
        value_name = "MESSAGE",
        help_heading = "Payload (one of)"
    )]
    pub(crate) message: Option<std::ffi::OsString>,
    /// The payload is this file's content.
    #[arg(
        short = 'f',
        long,
        value_name = "FILE",
        help_heading = "Payload (one of)"
    )]
    pub(crate) file: Option<PathBuf>,
    /// The payload is all of stdin.
    #[arg(short = 's', long = "stdin-file", help_heading = "Payload (one of)")]
    pub(crate) stdin_file: bool,
    /// An empty payload.
    #[arg(short = 'n', long = "null-message", help_heading = "Payload (one of)")]
    pub(crate) null_message: bool,
    /// Quality of service of the request and of the response topic's subscription.
    #[arg(short = 'q', long, value_name = "QOS", value_parser = qos, default_value_t = 1)]
    pub(crate) qos: u8,
    /// Give up after this many seconds (connecting and the response; exit code 6 when none came in time).
    #[arg(short = 'W', long, value_name = "SECONDS", default_value = "10", value_parser = seconds)]
    pub(crate) timeout: Duration,
    #[command(flatten)]
    pub(crate) output: OutputArgs,
    #[command(flatten)]
    pub(crate) connect: ConnectArgs,
}

/// `mqtt bench`.
#[derive(Debug, Args)]
pub(crate) struct BenchArgs {
    /// Publishers (one connection each).
    #[arg(long, value_name = "N", default_value_t = 1, help_heading = "Load")]
    pub(crate) pubs: u32,
    /// Subscribers (one connection each); each receives every message.
    #[arg(long, value_name = "M", default_value_t = 1, help_heading = "Load")]
    pub(crate) subs: u32,
    /// Messages per publisher.
    #[arg(short = 'C', long, value_name = "COUNT", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..), help_heading = "Load")]
    pub(crate) count: u64,
    /// Quality of service of the messages and the subscriptions.
    #[arg(short = 'q', long, value_name = "QOS", value_parser = qos, default_value_t = 0, help_heading = "Load")]
    pub(crate) qos: u8,
    /// Payload size in bytes (at least 28: the header carries the run, publisher, sequence number and send time).
    #[arg(
        long,
        value_name = "BYTES",
        default_value_t = 64,
        help_heading = "Load"
    )]
    pub(crate) size: usize,
    /// Messages per second per publisher (0: as fast as the broker takes them).
    #[arg(long, value_name = "MSG/S", default_value = "0", value_parser = rate, help_heading = "Load")]
    pub(crate) rate: f64,
    /// Topic prefix: publisher i publishes to PREFIX/i, subscribers subscribe to PREFIX/# [default:
    /// mqtt-bench/RUN, unique per run].
    #[arg(short = 't', long, value_name = "PREFIX", help_heading = "Load")]
    pub(crate) topic: Option<String>,
    /// Seconds to wait for the last messages once every publisher is done.
    #[arg(short = 'W', long, value_name = "SECONDS", default_value = "10", value_parser = seconds, help_heading = "Load")]
    pub(crate) timeout: Duration,
    /// Print the report as one JSON object instead of a table.
    #[arg(long, help_heading = "Output")]
    pub(crate) json: bool,
    /// No live progress bar (it is not drawn anyway when stderr is not a terminal).
    #[arg(long, help_heading = "Output")]
    pub(crate) no_progress: bool,
    #[command(flatten)]
    pub(crate) connect: ConnectArgs,
}

/// A duration in seconds (fractions allowed).
fn seconds(text: &str) -> Result<Duration, String> {
    text.parse::<f64>()
        .ok()
        .and_then(|seconds| Duration::try_from_secs_f64(seconds).ok())
        .ok_or_else(|| format!("{text:?} is not a number of seconds (such as 5 or 0.5)"))
}

/// A message count: at least 1 (as mosquitto_sub, which refuses 0 too).
fn count(text: &str) -> Result<u64, String> {
    match text.parse::<u64>() {
        Ok(0) => Err("0 messages: -C counts the messages to wait for, at least 1 (without -C, mqtt sub runs \
                      until Ctrl-C or -W)"
            .to_owned()),
        Ok(count) => Ok(count),
        Err(_) => Err(format!("{text:?} is not a number of messages")),
    }
}

/// A topic filter (`-T`, `-U`): valid for MQTT 3.1.1 and 5.0.
fn filter(text: &str) -> Result<String, String> {
    mqtt_core::topic::validate_filter(text)
        .map(|()| text.to_owned())
        .map_err(|error| format!("{text:?} is not a topic filter: {error}"))
}

/// A rate in messages per second, 0 for no limit.
fn rate(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(rate) if rate.is_finite() && rate >= 0.0 => Ok(rate),
        _ => Err(format!(
            "{text:?} is not a rate: give messages per second, or 0 for no limit"
        )),
    }
}

/// A QoS argument: 0, 1 or 2.
fn qos(text: &str) -> Result<u8, String> {
    match text {
        "0" => Ok(0),
        "1" => Ok(1),
        "2" => Ok(2),
        _ => Err(format!("{text:?} is not a QoS: use 0, 1 or 2")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn debug_of_the_arguments_holds_no_password_url_credentials_or_authentication_data() {
        let cli = Cli::parse_from([
            "mqtt",
            "pub",
            "-L",
            "mqtt://me:url-secret@broker:1884",
            "-P",
            "pw-secret",
            "-D",
            "CONNECT",
            "authentication-method",
            "TOKEN",
            "-D",
            "CONNECT",
            "authentication-data",
            "data-secret",
            "-t",
            "a",
            "-m",
            "x",
            "--disconnect-timeout",
            "0.5",
        ])
        .unwrap();
        let shown = format!("{cli:?}");
        for secret in ["url-secret", "pw-secret", "data-secret"] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
        assert!(shown.contains("disconnect_timeout: 500ms"), "{shown}");
        let Command::Pub(args) = cli.command else {
            panic!("pub")
        };
        let properties = crate::property::parse(&args.connect.properties, &["connect"]).unwrap();
        let shown = format!("{properties:?}");
        assert!(
            !shown.contains("data-secret") && shown.contains("TOKEN"),
            "{shown}"
        );
    }

    #[test]
    fn mosquitto_spellings_parse() {
        let cli = Cli::parse_from([
            "mqtt",
            "pub",
            "-h",
            "broker",
            "-p",
            "1884",
            "-u",
            "me",
            "-P",
            "pw",
            "-i",
            "id",
            "-k",
            "30",
            "-q",
            "1",
            "-r",
            "-t",
            "a/b",
            "-m",
            "hi",
            "-V",
            "311",
            "-c",
            "-D",
            "CONNECT",
            "receive-maximum",
            "10",
            "-D",
            "PUBLISH",
            "user-property",
            "k",
            "v",
            "--will-topic",
            "w",
            "--will-qos",
            "1",
        ])
        .unwrap();
        let Command::Pub(args) = cli.command else {
            panic!("not pub")
        };
        assert_eq!(args.connect.host.as_deref(), Some("broker"));
        assert_eq!(args.connect.port, Some(1884));
        assert_eq!(args.connect.version, Some(Version::V311));
        assert!(args.connect.persistent && args.retain);
        assert_eq!(args.qos, 1);
        assert_eq!(
            args.connect.properties,
            [
                vec!["CONNECT", "receive-maximum", "10"],
                vec!["PUBLISH", "user-property", "k", "v"]
            ]
        );
        let cli = Cli::parse_from([
            "mqtt", "sub", "-t", "a", "-t", "b/#", "-C", "3", "-v", "-V", "mqttv5",
        ])
        .unwrap();
        let Command::Sub(args) = cli.command else {
            panic!("not sub")
        };
        assert_eq!(args.topic, ["a", "b/#"]);
        assert_eq!(args.count, Some(3));
        assert_eq!(args.connect.version, Some(Version::V5));
    }

    #[test]
    fn a_persistent_session_without_a_client_id_is_a_usage_error() {
        // Clap reads MQTT_CLIENT_ID too; the test process does not set it.
        let error = Cli::parse_from(["mqtt", "sub", "-t", "a", "-c"]).unwrap_err();
        assert_eq!(error.exit_code(), 2);
        assert!(error.to_string().contains("--id"), "{error}");
    }

    #[test]
    fn publishing_needs_exactly_one_payload_source() {
        for args in [
            &["mqtt", "pub", "-t", "a"][..],
            &["mqtt", "pub", "-t", "a", "-m", "x", "-n"],
            &["mqtt", "pub", "-t", "a", "-s", "-l"],
        ] {
            let error = Cli::parse_from(args).unwrap_err();
            assert_eq!(error.exit_code(), 2, "{args:?}");
        }
    }

    #[test]
    fn mosquitto_sub_options_parse_and_exclusive_ones_conflict() {
        let cli = Cli::parse_from([
            "mqtt",
            "sub",
            "-t",
            "a/#",
            "-T",
            "a/b",
            "-T",
            "a/+/c",
            "-U",
            "old",
            "-E",
            "-F",
            "%t %p",
            "--retained-only",
            "--remove-retained",
        ])
        .unwrap();
        let Command::Sub(args) = cli.command else {
            panic!("not sub")
        };
        assert_eq!(args.filter_out, ["a/b", "a/+/c"]);
        assert_eq!(args.unsubscribe, ["old"]);
        assert!(args.exit_after_subscribe && args.retained_only && args.remove_retained);
        assert!(args.output.format.is_some());
        // -U alone: no -t needed.
        assert!(Cli::parse_from(["mqtt", "sub", "-U", "old"]).is_ok());
        for conflicting in [
            &["-F", "%p", "-v"][..],
            &["-F", "%p", "--json"],
            &["--retained-only", "-R"],
            &["--remove-retained", "-R"],
        ] {
            let args = ["mqtt", "sub", "-t", "a"].iter().chain(conflicting);
            let error = Cli::parse_from(args).unwrap_err();
            assert_eq!(error.exit_code(), 2, "{conflicting:?}");
        }
    }

    #[test]
    fn an_invalid_filter_for_t_or_u_is_a_usage_error() {
        for option in ["-T", "-U"] {
            let error = Cli::parse_from(["mqtt", "sub", "-t", "a", option, "a/#/b"]).unwrap_err();
            assert!(error.to_string().contains("not a topic filter"), "{error}");
        }
    }

    #[test]
    fn an_invalid_qos_says_which_values_are_valid() {
        let error = Cli::parse_from(["mqtt", "pub", "-t", "a", "-m", "x", "-q", "3"]).unwrap_err();
        assert!(error.to_string().contains("use 0, 1 or 2"), "{error}");
    }
}
