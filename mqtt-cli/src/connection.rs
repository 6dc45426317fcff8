//! From the connection arguments to mqtt-tokio's [`Options`], and a connected [`Client`].

use std::path::Path;
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt as _;
use mqtt_tokio::{
    Client, ConnectionState, DisconnectOptions, Disconnection, Filter, LastWill, Message, Options,
    PacketType, ProtocolVersion, QoS, SubscribeRequest,
};
use tokio::task::JoinHandle;

use crate::args::{ConnectArgs, Version};
use crate::failure::{Failure, broker_said};
use crate::property::{self, Properties, Value};

/// The largest MQTT packet: a fixed header of 5 bytes and a remaining length of at most 268,435,455.
pub(crate) const MAX_PACKET: usize = 268_435_460;

/// The options, and the broker they name (for messages).
#[derive(Debug)]
pub(crate) struct Target {
    pub(crate) options: Options,
    pub(crate) broker: String,
    pub(crate) debug: bool,
    /// The `-D` properties.
    pub(crate) properties: Properties,
    /// `--disconnect-timeout`.
    pub(crate) disconnect_timeout: Duration,
}

/// A connected client and its event loop's task.
#[derive(Debug)]
pub(crate) struct Connection {
    pub(crate) client: Client,
    pub(crate) broker: String,
    /// The DISCONNECT's properties (`-D DISCONNECT`).
    goodbye: Option<DisconnectOptions>,
    /// `--disconnect-timeout`.
    disconnect_timeout: Duration,
    task: JoinHandle<()>,
}

impl Target {
    /// Options from the arguments (and the environment). `commands` are the packets the subcommand sends, for
    /// `-D`; `client_id` replaces `-i` (the benchmark names its clients).
    ///
    /// # Errors
    ///
    /// Usage failures for arguments that cannot be used (an invalid URL, unreadable TLS files, TLS files with a
    /// plain URL, properties on 3.1.1, will properties without a will...); see [`property::parse`] for `-D`.
    pub(crate) fn new(args: &ConnectArgs, commands: &[&str]) -> Result<Self, Failure> {
        let properties = property::parse(&args.properties, commands)?;
        if !properties.0.is_empty() && args.version == Some(Version::V311) {
            return Err(Failure::usage("-D: MQTT 3.1.1 has no properties")
                .hint("drop -V 311, or the -D options"));
        }
        let tls_files = args.cafile.is_some() || args.cert.is_some();
        let mut options = if let Some(url) = &args.url {
            Options::new(url)
        } else if args.host.is_some()
            || args.port.is_some()
            || std::env::var_os("MQTT_BROKER").is_none()
        {
            let host = args.host.as_deref().unwrap_or("localhost");
            let host = match host.contains(':') && !host.starts_with('[') {
                true => format!("[{host}]"),
                false => host.to_owned(),
            };
            let (scheme, port) = match tls_files {
                true => ("mqtts", args.port.unwrap_or(8883)),
                false => ("mqtt", args.port.unwrap_or(1883)),
            };
            Options::new(&format!("{scheme}://{host}:{port}"))
        } else {
            Options::from_env()
        }
        .map_err(Failure::from)?;
        let broker = options.brokers().first().cloned().unwrap_or_default();
        if tls_files && !(broker.starts_with("mqtts://") || broker.starts_with("wss://")) {
            return Err(
                Failure::usage(format!("--cafile/--cert given, but {broker} is not TLS"))
                    .hint("use an mqtts:// or wss:// URL, or drop the TLS files"),
            );
        }

        match (&args.username, &args.password) {
            (Some(user), password) => {
                options = options.credentials(user, password.as_deref().unwrap_or_default());
            }
            // [MQTT-3.1.2-22]: a 3.1.1 CONNECT with a password has a user name; 5.0 allows it alone.
            (None, Some(_)) if args.version == Some(Version::V311) => {
                return Err(Failure::usage(
                    "MQTT 3.1.1 cannot send a password (-P or MQTT_PASSWORD) without a user name",
                )
                .hint("give -u (or MQTT_USERNAME), or drop -V 311"));
            }
            (None, Some(password)) => options = options.password(password.as_str()),
            (None, None) => {}
        }
        if let Some(id) = &args.client_id {
            options = options.client_id(id);
        }
        if let Some(version) = args.version {
            options = options.version(match version {
                Version::V5 => ProtocolVersion::V5,
                Version::V311 => ProtocolVersion::V311,
            });
        }
        options = options
            .keep_alive(Duration::from_secs(args.keepalive.into()))
            .connect_timeout(args.connect_timeout)
            // As mosquitto_sub: any message the protocol can carry (the receive buffer grows only as needed).
            // The library's default (1 MiB) would have a 5.0 broker drop larger messages to us, silently.
            .max_packet_size(MAX_PACKET);
        if args.persistent {
            options = options.clean_start(false).session_expiry(u32::MAX);
        }
        if let Some(seconds) = args.session_expiry {
            options = options.session_expiry(seconds);
        }
        if let Some(topic) = &args.will_topic {
            let payload = args
                .will_payload
                .as_deref()
                .map(crate::publish::argument_bytes)
                .unwrap_or_default();
            let will = LastWill::new(topic, payload)
                .qos(qos(args.will_qos))
                .retain(args.will_retain);
            options = options.last_will(properties.will(will));
        } else if properties.has("will") {
            return Err(Failure::usage("-D WILL: there is no will")
                .hint("give the will's topic with --will-topic"));
        }
        if let Some(path) = &args.cafile {
            let ca = read(path, "--cafile")?;
            options = match ca.starts_with(b"-----BEGIN") || ca.iter().take(64).all(u8::is_ascii) {
                true => options.ca_pem(ca),
                false => options.ca_der(ca),
            };
        }
        if let (Some(cert), Some(key)) = (&args.cert, &args.key) {
            options = options.client_auth_pem(read(cert, "--cert")?, read(key, "--key")?);
        }
        options = properties.connect(options)?;
        // [MQTT-3.14.2-2]: a DISCONNECT may not set a session expiry when CONNECT's was zero.
        let expiry = match properties.get("connect", "session-expiry-interval") {
            Some(Value::Number(n)) => *n,
            _ => args
                .session_expiry
                .unwrap_or(if args.persistent { u32::MAX } else { 0 }),
        };
        if expiry == 0
            && properties
                .get("disconnect", "session-expiry-interval")
                .is_some()
        {
            return Err(Failure::usage(
                "-D DISCONNECT session-expiry-interval: the session was opened without an expiry",
            )
            .hint(
                "give the connection one too: -c, -x SECONDS or -D CONNECT session-expiry-interval",
            ));
        }
        Ok(Self {
            options,
            broker,
            debug: args.debug,
            properties,
            disconnect_timeout: args.disconnect_timeout,
        })
    }

    /// The same target for a client of this identifier.
    pub(crate) fn named(&self, client_id: String) -> Self {
        Self {
            options: self.options.clone().client_id(client_id),
            broker: self.broker.clone(),
            debug: self.debug,
            properties: self.properties.clone(),
            disconnect_timeout: self.disconnect_timeout,
        }
    }

    /// A message to publish, with the `-D PUBLISH` properties.
    pub(crate) fn message(&self, topic: &str, payload: Bytes, qos: QoS, retain: bool) -> Message {
        self.properties
            .message(Message::new(topic, payload).qos(qos).retain(retain))
    }

    /// A subscription to `filters` at `qos`, with the `-D SUBSCRIBE` properties.
    pub(crate) fn subscribe<'a>(
        &self,
        filters: impl IntoIterator<Item = &'a String>,
        qos: QoS,
    ) -> SubscribeRequest {
        self.properties
            .subscribe(filters.into_iter().map(|filter| Filter::new(filter, qos)))
    }

    /// Connects: starts the event loop and waits for the broker's answer, at most the connect timeout. Prints the
    /// connection's states on stderr with `-d`.
    ///
    /// # Errors
    ///
    /// The real cause of the first failed attempt, classified (refused, network, TLS, timeout).
    pub(crate) async fn connect(&self) -> Result<Connection, Failure> {
        let (client, event_loop) =
            mqtt_tokio::new(&self.options).map_err(|e| Failure::at(&self.broker, &e))?;
        let connected = client.wait_connected(self.options.connect_timeout_duration());
        if self.debug {
            let mut states = client.states();
            let reasons = client.clone();
            tokio::spawn(async move {
                while let Some(state) = states.next().await {
                    // A broker's DISCONNECT: its Reason String too, if it came with this code.
                    let said = match &state {
                        ConnectionState::Lost(Disconnection::ServerDisconnect(code))
                        | ConnectionState::GaveUp(Disconnection::ServerDisconnect(code)) => {
                            broker_said(
                                reasons.last_reason().filter(|reason| reason.code == *code),
                                &[PacketType::Disconnect],
                            )
                        }
                        _ => None,
                    };
                    eprintln!("mqtt: {state}{}", said.unwrap_or_default());
                }
            });
        }
        let task = tokio::spawn(event_loop.run());
        if let Err(error) = connected.await {
            let reason = client.last_reason();
            task.abort();
            return Err(Failure::at(&self.broker, &error).said(reason, &[PacketType::ConnAck]));
        }
        Ok(Connection {
            client,
            broker: self.broker.clone(),
            goodbye: self.properties.disconnect(),
            disconnect_timeout: self.disconnect_timeout,
            task,
        })
    }
}

impl Connection {
    /// Disconnects gracefully: waits (within `--disconnect-timeout`) for the broker to acknowledge what is in
    /// flight.
    ///
    /// # Errors
    ///
    /// A timeout failure when messages were still unacknowledged.
    pub(crate) async fn close(self) -> Result<(), Failure> {
        let timeout = self.disconnect_timeout;
        self.close_within(timeout).await
    }

    /// Disconnects without waiting for acknowledgements (after a failure, which is what the caller reports).
    pub(crate) async fn abandon(self) {
        let _ = self.close_within(Duration::ZERO).await;
    }

    async fn close_within(self, timeout: Duration) -> Result<(), Failure> {
        let result = match self.goodbye {
            Some(goodbye) => self.client.disconnect_with(goodbye, timeout).await,
            None => self.client.disconnect(timeout).await,
        };
        self.task.abort();
        result.map_err(|e| Failure::at(&self.broker, &e))
    }

    /// The first reason the connection ended for good (the session gave up reconnecting), or never.
    pub(crate) fn gave_up(&self) -> impl Future<Output = Failure> + Send + use<> {
        let mut states = self.client.states();
        let broker = self.broker.clone();
        let client = self.client.clone();
        async move {
            while let Some(state) = states.next().await {
                if let ConnectionState::GaveUp(reason) = state {
                    let said = client.last_reason();
                    return Failure::at(&broker, &mqtt_tokio::Error::GaveUp(reason))
                        .said(said, &[PacketType::ConnAck, PacketType::Disconnect]);
                }
            }
            std::future::pending().await
        }
    }
}

/// A QoS from its number (the arguments accept 0, 1 and 2 only).
pub(crate) fn qos(level: u8) -> QoS {
    match level {
        0 => QoS::AtMostOnce,
        1 => QoS::AtLeastOnce,
        _ => QoS::ExactlyOnce,
    }
}

/// A file named by an argument.
///
/// # Errors
///
/// A usage failure that names the argument and the file.
pub(crate) fn read(path: &Path, argument: &str) -> Result<Vec<u8>, Failure> {
    std::fs::read(path).map_err(|e| {
        Failure::usage(format!("{argument} {}: {e}", path.display()))
            .hint("give a file that exists and can be read")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::args::{Cli, Command};
    use crate::failure::Class;

    /// The target of `mqtt sub -t t ARGS` (arguments that name the broker: the environment is not read).
    fn target(args: &[&str]) -> Result<Target, Failure> {
        let cli = Cli::parse_from(["mqtt", "sub", "-t", "t"].iter().chain(args)).unwrap();
        let Command::Sub(sub) = cli.command else {
            panic!("not sub")
        };
        Target::new(&sub.connect, &["connect", "subscribe"])
    }

    #[test]
    fn host_and_port_make_the_url_and_tls_files_make_it_tls() {
        let ca = concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml");
        let cases: &[(&[&str], &str)] = &[
            (&["-h", "broker", "-p", "1884"], "mqtt://broker:1884"),
            (&["-p", "1884"], "mqtt://localhost:1884"),
            (&["-h", "::1"], "mqtt://[::1]:1883"),
            (&["-h", "broker", "--cafile", ca], "mqtts://broker:8883"),
            (
                &["-L", "wss://broker:9443/mqtt", "--cafile", ca],
                "wss://broker:9443/mqtt",
            ),
        ];
        for (args, url) in cases {
            let target = target(args).unwrap();
            assert_eq!(target.broker, *url, "{args:?}");
            assert_eq!(target.options.brokers(), [*url]);
        }
    }

    /// [MQTT-3.1.2-22] forbids a password without a user name on 3.1.1 only.
    #[test]
    fn a_password_without_a_user_name_is_sent_on_5_and_refused_on_3_1_1() {
        let chosen = target(&["-L", "mqtt://broker", "-P", "secret-pw"]).unwrap();
        let shown = format!("{:?}", chosen.options);
        assert!(
            shown.contains("username: None") && shown.contains("password: Some(\"<redacted>\")"),
            "{shown}"
        );
        assert!(
            !shown.contains("secret-pw"),
            "the password shows in {shown}"
        );
        let failure = target(&["-L", "mqtt://broker", "-P", "pw", "-V", "311"]).unwrap_err();
        assert_eq!(failure.class, Class::Usage);
        assert!(failure.to_string().contains("3.1.1"), "{failure}");
    }

    #[test]
    fn tls_files_with_a_plain_url_are_a_usage_error() {
        let ca = concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml");
        let failure = target(&["-L", "mqtt://broker", "--cafile", ca]).unwrap_err();
        assert_eq!(failure.class, Class::Usage);
        assert!(failure.to_string().contains("mqtts://"), "{failure}");
    }
}
