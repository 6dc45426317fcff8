//! [`Options`]: how to reach the broker and how the session behaves, from a URL, a builder, or the environment.

use core::fmt;
use core::time::Duration;
use std::borrow::ToOwned;
use std::string::{String, ToString};
use std::vec::Vec;
use std::{format, vec};

use super::Error;
use crate::codec::{ProtocolVersion, QoS, Will};
use crate::reconnect::ReconnectPolicy;
use crate::url::BrokerUrl;
use crate::{Buffers, Config, Session};

/// The will message: published by the broker if the connection ends without DISCONNECT. Its `Debug` output shows
/// the payload's size, not the payload.
#[derive(Clone, PartialEq, Eq)]
pub struct LastWill {
    /// Topic of the will.
    pub topic: String,
    /// Payload of the will.
    pub payload: Vec<u8>,
    /// QoS of the will.
    pub qos: QoS,
    /// Published as a retained message.
    pub retain: bool,
}

/// How to reach the broker and how the session behaves.
///
/// Its `Debug` output never shows the password, the will's payload or TLS keys.
///
/// ```
/// use std::time::Duration;
/// use mqtt_core::client::Options;
/// use mqtt_core::codec::ProtocolVersion;
///
/// let options = Options::new("mqtt://broker.local")?
///     .client_id("kitchen-sensor")
///     .credentials("kitchen", "secret")
///     .keep_alive(Duration::from_secs(30))
///     .version(ProtocolVersion::V311);
/// assert_eq!(options.brokers(), ["mqtt://broker.local:1883"]);
/// # Ok::<(), mqtt_core::client::Error>(())
/// ```
#[derive(Clone)]
pub struct Options {
    pub(crate) brokers: Vec<String>,
    pub(crate) client_id: String,
    pub(crate) username: Option<String>,
    pub(crate) password: Option<Vec<u8>>,
    pub(crate) version: ProtocolVersion,
    pub(crate) fallback_to_v311: bool,
    pub(crate) keep_alive: Duration,
    pub(crate) clean_start: bool,
    pub(crate) session_expiry_interval: u32,
    pub(crate) will: Option<LastWill>,
    pub(crate) reconnect: ReconnectPolicy,
    pub(crate) jitter_seed: u64,
    pub(crate) connect_timeout: Duration,
    pub(crate) max_inflight: u16,
    pub(crate) max_inflight_v311: u16,
    pub(crate) receive_maximum: u16,
    pub(crate) max_packet_size: usize,
    pub(crate) queue_bytes: usize,
    pub(crate) subscription_bytes: usize,
    pub(crate) message_capacity: usize,
    pub(crate) manual_ack: bool,
    pub(crate) keep_trying: bool,
    pub(crate) tls: TlsOptions,
    pub(crate) persistence: Option<super::Persistence>,
}

impl Options {
    /// Options for the broker at `url` (`mqtt://`, `tcp://`, `mqtts://`, `ssl://`, `ws://`, `wss://`), with a
    /// generated client identifier. Credentials in the URL (`mqtt://user:password@host`) are used.
    ///
    /// The protocol is MQTT 5.0, falling back to 3.1.1 with a broker that does not speak 5.0 (see
    /// [`version`](Self::version)); the reconnect jitter gets a seed of its own (see
    /// [`jitter_seed`](Self::jitter_seed)).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidUrl`] if the URL cannot be parsed.
    pub fn new(url: &str) -> Result<Self, Error> {
        let parsed = BrokerUrl::parse(url).map_err(Error::InvalidUrl)?;
        let mut options = Self {
            brokers: vec![parsed.to_string()],
            client_id: generated_client_id(),
            username: None,
            password: None,
            version: ProtocolVersion::V5,
            fallback_to_v311: true,
            keep_alive: Duration::from_secs(60),
            clean_start: true,
            session_expiry_interval: 0,
            will: None,
            reconnect: ReconnectPolicy::default(),
            jitter_seed: random_seed(),
            connect_timeout: Duration::from_secs(30),
            max_inflight: 64,
            max_inflight_v311: 20,
            receive_maximum: u16::MAX,
            max_packet_size: 1024 * 1024 + 1024,
            queue_bytes: 4 * 1024 * 1024,
            subscription_bytes: 8 * 1024,
            message_capacity: 1024,
            manual_ack: false,
            keep_trying: false,
            tls: TlsOptions::default(),
            persistence: None,
        };
        if let Some(user) = parsed.username {
            options.username = Some(user.to_owned());
            options.password = parsed.password.map(|p| p.as_bytes().to_vec());
        }
        Ok(options)
    }

    /// Options from the environment: `MQTT_BROKER` (a URL, or a host name), `MQTT_PORT`, `MQTT_USERNAME`,
    /// `MQTT_PASSWORD`, and `MQTT_CLIENT_ID` if set.
    ///
    /// # Errors
    ///
    /// [`Error::Environment`] if `MQTT_BROKER` is not set or `MQTT_PORT` is not a port; [`Error::InvalidUrl`] if
    /// the result is not a valid URL.
    pub fn from_env() -> Result<Self, Error> {
        Self::from_vars(|name| std::env::var(name).ok())
    }

    /// [`from_env`](Self::from_env) over any source of variables (testable without touching the process).
    pub(crate) fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Self, Error> {
        let broker = var("MQTT_BROKER").ok_or(Error::Environment("MQTT_BROKER is not set"))?;
        let mut url = if broker.contains("://") {
            broker
        } else {
            format!("mqtt://{broker}")
        };
        if let Some(port) = var("MQTT_PORT") {
            let port: u16 = port
                .trim()
                .parse()
                .map_err(|_| Error::Environment("MQTT_PORT is not a port number"))?;
            let parsed = BrokerUrl::parse(&url).map_err(Error::InvalidUrl)?;
            let host = if parsed.host.contains(':') {
                format!("[{}]", parsed.host)
            } else {
                parsed.host.to_owned()
            };
            let scheme = url.split("://").next().unwrap_or("mqtt");
            url = format!("{scheme}://{host}:{port}{}", parsed.path);
        }
        let mut options = Self::new(&url)?;
        if let Some(user) = var("MQTT_USERNAME") {
            options.username = Some(user);
        }
        if let Some(password) = var("MQTT_PASSWORD") {
            options.password = Some(password.into_bytes());
        }
        if let Some(id) = var("MQTT_CLIENT_ID") {
            options.client_id = id;
        }
        Ok(options)
    }

    /// Adds a broker to fail over to: attempts move to the next broker after a failure.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidUrl`] if the URL cannot be parsed.
    pub fn failover(mut self, url: &str) -> Result<Self, Error> {
        let parsed = BrokerUrl::parse(url).map_err(Error::InvalidUrl)?;
        self.brokers.push(parsed.to_string());
        Ok(self)
    }

    /// The broker URLs, in the order they are tried (credentials removed).
    pub fn brokers(&self) -> &[String] {
        &self.brokers
    }

    /// The TLS settings, for the bindings' connectors.
    pub fn tls(&self) -> &TlsOptions {
        &self.tls
    }

    /// Time allowed to open the connection and receive CONNACK.
    pub fn connect_timeout_duration(&self) -> Duration {
        self.connect_timeout
    }

    /// A session configured by these options, with buffers sized by them.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] if the options cannot make a session (an empty client identifier with a clean start of
    /// `false`, a will with an invalid topic...).
    pub fn session(&self) -> Result<Session<'static>, Error> {
        let will = self.will.as_ref().map(|w| Will {
            topic: &w.topic,
            payload: &w.payload,
            qos: w.qos,
            retain: w.retain,
            properties: Default::default(),
        });
        let config = Config {
            version: self.version,
            fallback_to_v311: self.fallback_to_v311,
            max_inflight_v311: self.max_inflight_v311,
            brokers: self.brokers.len(),
            clean_start: self.clean_start,
            session_expiry_interval: self.session_expiry_interval,
            keep_alive: self.keep_alive,
            username: self.username.as_deref(),
            password: self.password.as_deref(),
            will,
            connect_timeout: self.connect_timeout,
            max_inflight: self.max_inflight,
            receive_maximum: self.receive_maximum,
            reconnect: ReconnectPolicy {
                jitter_seed: self.jitter_seed,
                ..self.reconnect
            },
            // The client acknowledges a message once the application has it (or says so), never before.
            manual_ack: true,
            ..Config::new(&self.client_id)
        };
        // The store holds the CONNECT packet and the QoS 2 receive table besides the queue: room for them on top.
        let qos2_table = match self.receive_maximum > 4096 {
            true => 8192,
            false => 2 * usize::from(self.receive_maximum),
        };
        let connect = self.client_id.len()
            + self.username.as_ref().map_or(0, String::len)
            + self.password.as_ref().map_or(0, Vec::len)
            + self
                .will
                .as_ref()
                .map_or(0, |w| w.topic.len() + w.payload.len())
            + 256;
        // The record of acknowledgements owed, in arrival order: 3 bytes per message the broker may have in flight.
        let ack_record = 3 * usize::from(self.receive_maximum);
        let store = self.queue_bytes + qos2_table + ack_record + connect;
        let buffers = Buffers::owned(self.max_packet_size, store, self.subscription_bytes);
        Session::new(&config, buffers).map_err(Error::Config)
    }

    /// The client identifier (default: generated).
    pub fn client_id(mut self, id: impl Into<String>) -> Self {
        self.client_id = id.into();
        self
    }

    /// User name and password.
    pub fn credentials(
        mut self,
        username: impl Into<String>,
        password: impl Into<Vec<u8>>,
    ) -> Self {
        self.username = Some(username.into());
        self.password = Some(password.into());
        self
    }

    /// Speaks only this version, MQTT 3.1.1 or 5.0. Without this call the client speaks 5.0 and falls back to
    /// 3.1.1 for the rest of its life when a broker shows it does not speak 5.0 (it refuses the protocol version,
    /// or closes the connection after CONNECT without an answer before any 5.0 connection succeeded), as paho
    /// does; see [`Config::fallback_to_v311`](crate::Config::fallback_to_v311). With a version given, such a
    /// broker is reported as refusing with an unsupported protocol version.
    pub fn version(mut self, version: ProtocolVersion) -> Self {
        self.version = version;
        self.fallback_to_v311 = false;
        self
    }

    /// Whether a 5.0 client falls back to 3.1.1 with a broker that does not speak 5.0 (default `true`; turned off
    /// by [`version`](Self::version), and back on by this).
    pub fn fallback_to_v311(mut self, fallback: bool) -> Self {
        self.fallback_to_v311 = fallback;
        self
    }

    /// Keep alive (default 60 s; whole seconds; zero turns it off).
    pub fn keep_alive(mut self, keep_alive: Duration) -> Self {
        self.keep_alive = keep_alive;
        self
    }

    /// Start without session state on every connection (default `true`). With `false`, set a session expiry
    /// interval too for 5.0 brokers to keep the session.
    pub fn clean_start(mut self, clean_start: bool) -> Self {
        self.clean_start = clean_start;
        self
    }

    /// 5.0 Session Expiry Interval in seconds (default 0).
    pub fn session_expiry(mut self, seconds: u32) -> Self {
        self.session_expiry_interval = seconds;
        self
    }

    /// The will message.
    pub fn will(
        mut self,
        topic: impl Into<String>,
        payload: impl Into<Vec<u8>>,
        qos: QoS,
        retain: bool,
    ) -> Self {
        self.will = Some(LastWill {
            topic: topic.into(),
            payload: payload.into(),
            qos,
            retain,
        });
        self
    }

    /// The reconnect policy (default: 1, 2, 4, 8, 16, 32 s, then every 60 s, ±25 % of jitter; started over after
    /// a connection that stayed up 30 s). Its `jitter_seed` is not used: the options' own seed is (see
    /// [`jitter_seed`](Self::jitter_seed)).
    pub fn reconnect(mut self, policy: ReconnectPolicy) -> Self {
        self.reconnect = policy;
        self
    }

    /// Seeds the reconnect jitter. By default every `Options` draws its own seed (from the process's random hash
    /// keys, the time and a counter), so that clients spread their reconnects instead of hitting a restarted
    /// broker in lockstep; give a seed to make the delays reproducible.
    pub fn jitter_seed(mut self, seed: u64) -> Self {
        self.jitter_seed = seed;
        self
    }

    /// Time allowed to open the connection and receive CONNACK (default 30 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Outgoing QoS 1 and 2 messages in flight at most (default 64; on a 3.1.1 connection at most
    /// [`max_inflight_v311`](Self::max_inflight_v311) too).
    pub fn max_inflight(mut self, max: u16) -> Self {
        self.max_inflight = max.max(1);
        self
    }

    /// Outgoing QoS 1 and 2 messages in flight at most on a 3.1.1 connection (default 20), where the broker
    /// cannot announce its limit: mosquitto's default `max_inflight_messages` is 20 and it drops 3.1.1 QoS 2
    /// messages beyond it while acknowledging them. Raise it for a broker configured higher.
    pub fn max_inflight_v311(mut self, max: u16) -> Self {
        self.max_inflight_v311 = max.max(1);
        self
    }

    /// Incoming QoS 2 messages that may await PUBREL at once (default 65,535: no limit, in 8 KiB); advertised to
    /// 5.0 brokers as Receive Maximum. Lower values take 2 bytes per message; a 3.1.1 broker that exceeds them
    /// ends the connection.
    pub fn receive_maximum(mut self, max: u16) -> Self {
        self.receive_maximum = max.max(1);
        self
    }

    /// Memory for the subscription table (kept to re-establish subscriptions after a lost session) and the
    /// SUBSCRIBE and UNSUBSCRIBE requests awaiting their answer (default 8 KiB: about 12 bytes plus the filter per
    /// subscription). When it is full, subscribing fails with a table-full error.
    pub fn subscription_bytes(mut self, bytes: usize) -> Self {
        self.subscription_bytes = bytes.max(256);
        self
    }

    /// Largest packet accepted from the broker, in bytes (default 1 MiB + 1 KiB). Also sizes the receive buffer.
    pub fn max_packet_size(mut self, bytes: usize) -> Self {
        self.max_packet_size = bytes.max(64);
        self
    }

    /// Memory for outgoing messages awaiting acknowledgement or a connection (default 4 MiB). When it is full,
    /// `publish` fails with a queue-full error instead of dropping anything.
    pub fn queue_bytes(mut self, bytes: usize) -> Self {
        self.queue_bytes = bytes.max(1024);
        self
    }

    /// Messages each subscription's queue (and each [`messages()`](super::Client::messages) stream) holds at most
    /// (default 1,024). When a message finds a queue it goes to full, the client holds it and stops reading from
    /// the broker until the application takes a message: memory stays bounded, nothing is dropped, and the
    /// broker's window pushes back (see the [delivery rules](super::dispatch)).
    pub fn message_capacity(mut self, messages: usize) -> Self {
        self.message_capacity = messages.max(1);
        self
    }

    /// Keep trying when a connection is awaited (`connect`, `wait_connected`) and a whole round over the broker
    /// list failed: wait through the reconnect schedule until the caller's timeout (default `false`: return the
    /// real cause at once, as `mosquitto_pub` does). The session itself always keeps reconnecting by its policy.
    pub fn keep_trying(mut self, keep_trying: bool) -> Self {
        self.keep_trying = keep_trying;
        self
    }

    /// Acknowledge received QoS 1 and 2 messages only when the application calls
    /// [`Client::ack`](super::Client::ack) (default `false`: acknowledged when taken from the stream). Either
    /// way acknowledgements go out in the order the messages arrived. Unacknowledged messages hold the broker's
    /// window: acknowledge every one, or the broker stops sending.
    pub fn manual_ack(mut self, manual: bool) -> Self {
        self.manual_ack = manual;
        self
    }

    /// For `mqtts://` and `wss://`: trusts the CA certificates of this PEM text (one or more) instead of the
    /// system's root certificates. Calls add up: `ca_pem` and [`ca_der`](Self::ca_der) several times trust every
    /// CA given. The text is checked when the client is made ([`Error::Tls`] with
    /// [`TlsError::Config`](super::TlsError::Config)).
    pub fn ca_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.tls.roots.push(Encoded::Pem(pem.into()));
        self
    }

    /// For `mqtts://` and `wss://`: trusts this DER-encoded CA certificate instead of the system's root
    /// certificates, as [`ca_pem`](Self::ca_pem).
    pub fn ca_der(mut self, der: impl Into<Vec<u8>>) -> Self {
        self.tls.roots.push(Encoded::Der(der.into()));
        self
    }

    /// For mutual TLS: presents this certificate chain (PEM, the client's certificate first) and proves it with
    /// its private key (PEM: PKCS#8, PKCS#1 or SEC1). Replaces an earlier client certificate; checked when the
    /// client is made, as [`ca_pem`](Self::ca_pem).
    pub fn client_auth_pem(
        mut self,
        cert_chain: impl Into<Vec<u8>>,
        key: impl Into<Vec<u8>>,
    ) -> Self {
        self.tls.client_auth = Some((Encoded::Pem(cert_chain.into()), Encoded::Pem(key.into())));
        self
    }

    /// For mutual TLS: presents this DER-encoded certificate with its DER-encoded private key (PKCS#8, PKCS#1 or
    /// SEC1), as [`client_auth_pem`](Self::client_auth_pem).
    pub fn client_auth_der(mut self, cert: impl Into<Vec<u8>>, key: impl Into<Vec<u8>>) -> Self {
        self.tls.client_auth = Some((Encoded::Der(cert.into()), Encoded::Der(key.into())));
        self
    }
}

impl fmt::Debug for Options {
    /// Every setting but the password (shown as present or not), the will's payload and the TLS material.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Options")
            .field("brokers", &self.brokers)
            .field("client_id", &self.client_id)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("version", &self.version)
            .field("fallback_to_v311", &self.fallback_to_v311)
            .field("keep_alive", &self.keep_alive)
            .field("clean_start", &self.clean_start)
            .field("session_expiry_interval", &self.session_expiry_interval)
            .field("will", &self.will)
            .field("reconnect", &self.reconnect)
            .field("connect_timeout", &self.connect_timeout)
            .field("max_inflight", &self.max_inflight)
            .field("max_inflight_v311", &self.max_inflight_v311)
            .field("receive_maximum", &self.receive_maximum)
            .field("max_packet_size", &self.max_packet_size)
            .field("queue_bytes", &self.queue_bytes)
            .field("subscription_bytes", &self.subscription_bytes)
            .field("message_capacity", &self.message_capacity)
            .field("manual_ack", &self.manual_ack)
            .field("keep_trying", &self.keep_trying)
            .field("tls", &self.tls)
            .field("persistence", &self.persistence)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for LastWill {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LastWill")
            .field("topic", &self.topic)
            .field("payload_len", &self.payload.len())
            .field("qos", &self.qos)
            .field("retain", &self.retain)
            .finish()
    }
}

/// A seed for the reconnect jitter of one client: different for every call, in every process.
fn random_seed() -> u64 {
    use core::hash::{BuildHasher as _, Hasher as _};
    use core::sync::atomic::{AtomicU64, Ordering};
    static CALLS: AtomicU64 = AtomicU64::new(0);
    // `RandomState` keys come from the operating system's randomness once per thread and change with each
    // instance; the counter and the time separate calls even where they would not.
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(CALLS.fetch_add(1, Ordering::Relaxed));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    hasher.write_u128(now);
    hasher.write_u32(std::process::id());
    hasher.finish()
}

/// A client identifier unique enough for a process: `mqtt-<pid>-<time>`.
fn generated_client_id() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!("mqtt-{}-{nanos:08x}", std::process::id())
}

/// A certificate or key as the application gave it.
#[derive(Clone, PartialEq, Eq)]
pub enum Encoded {
    /// PEM text.
    Pem(Vec<u8>),
    /// DER bytes.
    Der(Vec<u8>),
}

/// The TLS part of the [`Options`]: verification is always on.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct TlsOptions {
    /// Trusted CAs; when empty, the system's root certificates.
    pub roots: Vec<Encoded>,
    /// Certificate chain and private key for mutual TLS.
    pub client_auth: Option<(Encoded, Encoded)>,
}

impl fmt::Debug for TlsOptions {
    /// Never shows the key.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsOptions")
            .field("roots", &self.roots.len())
            .field("client_auth", &self.client_auth.is_some())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    #[test]
    fn from_env_reads_broker_port_and_credentials() {
        let options = Options::from_vars(vars(&[
            ("MQTT_BROKER", "broker.local"),
            ("MQTT_PORT", "1884"),
            ("MQTT_USERNAME", "dev"),
            ("MQTT_PASSWORD", "pw"),
            ("MQTT_CLIENT_ID", "me"),
        ]))
        .unwrap();
        assert_eq!(options.brokers(), ["mqtt://broker.local:1884"]);
        assert_eq!(options.username.as_deref(), Some("dev"));
        assert_eq!(options.password.as_deref(), Some(&b"pw"[..]));
        assert_eq!(options.client_id, "me");

        let options = Options::from_vars(vars(&[
            ("MQTT_BROKER", "wss://b.example/ws"),
            ("MQTT_PORT", "9443"),
        ]))
        .unwrap();
        assert_eq!(options.brokers(), ["wss://b.example:9443/ws"]);
        assert!(matches!(
            Options::from_vars(vars(&[])),
            Err(Error::Environment(_))
        ));
        assert!(matches!(
            Options::from_vars(vars(&[("MQTT_BROKER", "b"), ("MQTT_PORT", "x")])),
            Err(Error::Environment(_))
        ));
    }

    const PASSWORD: &str = "hunter2-correct-horse";

    #[test]
    fn debug_of_options_shows_no_password_no_will_payload_and_no_key() {
        let options = Options::new("mqtts://user:url-secret-pw@host")
            .unwrap()
            .credentials("me", PASSWORD)
            .will("w", PASSWORD, QoS::AtLeastOnce, false)
            .client_auth_pem("-----BEGIN CERTIFICATE-----", PASSWORD);
        for text in [format!("{options:?}"), format!("{options:#?}")] {
            assert!(!text.contains(PASSWORD), "{text}");
            assert!(!text.contains("url-secret-pw"), "{text}");
            assert!(text.contains("redacted"), "{text}");
            assert!(text.len() < 4096, "{} bytes", text.len());
        }
        let session = options.session().unwrap();
        let text = format!("{session:?}");
        assert!(!text.contains(PASSWORD), "{text}");
        // The std store is 4 MiB: its Debug used to be a dump of it.
        assert!(text.len() < 2048, "{} bytes", text.len());
    }

    /// The delays a session made from `options` draws when its broker never answers.
    fn delays(options: &Options) -> Vec<Duration> {
        let mut session = options.session().unwrap();
        let mut now = crate::Instant::from_millis(1);
        session.connect(now);
        let mut delays = Vec::new();
        while delays.len() < 6 {
            while session.poll_transport().is_some() {}
            session.handle_transport_down(now);
            while let Some(event) = session.poll_event() {
                if let crate::Event::Reconnecting { delay, .. } = event {
                    delays.push(delay);
                    now += delay;
                }
            }
            session.handle_timeout(now);
        }
        delays
    }

    #[test]
    fn two_clients_from_the_same_options_code_draw_different_reconnect_delays() {
        let a = Options::new("mqtt://host").unwrap();
        let b = Options::new("mqtt://host").unwrap();
        assert_ne!(a.jitter_seed, b.jitter_seed);
        assert_ne!(delays(&a), delays(&b));
        // The seed survives a policy of the application's own, and can be fixed for reproducible runs.
        let policy = ReconnectPolicy::default();
        let c = Options::new("mqtt://host").unwrap().reconnect(policy);
        assert_ne!(delays(&a), delays(&c));
        let fixed = |seed| Options::new("mqtt://host").unwrap().jitter_seed(seed);
        assert_eq!(delays(&fixed(9)), delays(&fixed(9)));
    }

    #[test]
    fn options_give_the_session_its_broker_count_version_fall_back_and_3_1_1_window() {
        let options = Options::new("mqtt://a")
            .unwrap()
            .failover("mqtt://b")
            .unwrap()
            .failover("mqtt://c")
            .unwrap();
        let mut session = options.session().unwrap();
        let now = crate::Instant::from_millis(1);
        session.connect(now);
        let mut brokers = Vec::new();
        for _ in 0..3 {
            while session.poll_transport().is_some() {}
            brokers.push(session.broker());
            session.handle_transport_down(now);
            while session.poll_event().is_some() {}
        }
        assert_eq!(brokers, [0, 1, 2]);
        assert!(options.fallback_to_v311);
        assert!(
            !options
                .clone()
                .version(ProtocolVersion::V5)
                .fallback_to_v311
        );
        assert_eq!(options.max_inflight_v311, 20);
    }

    #[test]
    fn credentials_in_the_url_are_used_and_not_kept_in_it() {
        let options = Options::new("mqtts://user:pa:ss@host").unwrap();
        assert_eq!(options.brokers(), ["mqtts://host:8883"]);
        assert_eq!(options.username.as_deref(), Some("user"));
        assert_eq!(options.password.as_deref(), Some(&b"pa:ss"[..]));
    }
}
