//! [`Options`]: how to reach the broker and how the session behaves, from a URL, a builder, or the environment.

use core::fmt;
use core::time::Duration;
use std::borrow::ToOwned;
use std::boxed::Box;
use std::string::{String, ToString};
use std::sync::Arc;
use std::vec::Vec;
use std::{format, vec};

use super::{Error, LastWill};
use crate::codec::{List, ProtocolVersion, QoS, UserProperty, Will, WillProperties};
use crate::reconnect::ReconnectPolicy;
use crate::session::{Authenticator, AuthenticatorRef};
use crate::url::BrokerUrl;
use crate::{Buf, Buffers, Config, Session};

/// What the receive buffer holds at first: CONNACK and small messages; it grows up to the maximum packet size.
const RX_INITIAL: usize = 512;

/// The Session Expiry Interval, in seconds, of a persistent session whose identifier the broker assigns (see
/// [`Options::session_expiry`]).
const ASSIGNED_ID_SESSION_EXPIRY: u32 = 3600;

/// The default of [`Options::message_capacity_bytes`]: 4 MiB per queue, as much as the outgoing queue
/// ([`Options::queue_bytes`]).
pub(crate) const MESSAGE_CAPACITY_BYTES: usize = 4 * 1024 * 1024;

/// Makes a fresh authenticator for each session made from the options.
type AuthFactory = Arc<dyn Fn() -> Box<dyn Authenticator + Send> + Send + Sync>;

/// How to reach the broker and how the session behaves.
///
/// Its `Debug` output never shows the password, the will's payload or TLS keys.
///
/// # Protocol version
///
/// By default the client speaks MQTT 5.0 and falls back to 3.1.1, for the rest of its life, when the broker shows
/// that it does not speak 5.0: it refuses the protocol version (3.1.1 code 1, which some brokers send in answer to
/// a 5.0 CONNECT, or 5.0 `0x84`), or it closes the connection after the first CONNECT without an answer (rumqttd's
/// 3.1.1 listener and others do), before any 5.0 connection succeeded. The next attempt, at once, is a 3.1.1
/// CONNECT to the same broker (paho's default connect also starts with the newest version it knows and falls
/// back to the older one). [`version`](Self::version) speaks only the version given: a
/// broker that does not speak it is then refused at once with
/// [`ConnectRefusal::UnsupportedProtocolVersion`](crate::session::ConnectRefusal::UnsupportedProtocolVersion),
/// whose message says so. There is no fall back with a password but no user name (3.1.1 cannot carry it) or with
/// enhanced authentication.
///
/// On a 3.1.1 connection the broker cannot say how many QoS 1 and 2 messages it takes in flight, so the client
/// keeps at most [`max_inflight_v311`](Self::max_inflight_v311), or else the [`max_inflight`](Self::max_inflight)
/// you gave, or else 20 (mosquitto's default `max_inflight_messages`: mosquitto drops 3.1.1 QoS 2 messages beyond
/// it while acknowledging them). A 5.0 broker announces its Receive Maximum, and
/// [`max_inflight`](Self::max_inflight) (default 64) applies below it.
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
    /// `None`: as [`Options::session_expiry`] says, from `clean_start`.
    pub(crate) session_expiry_interval: Option<u32>,
    pub(crate) will: Option<LastWill>,
    pub(crate) reconnect: ReconnectPolicy,
    pub(crate) jitter_seed: u64,
    pub(crate) connect_timeout: Duration,
    pub(crate) ping_timeout: Duration,
    pub(crate) max_inflight: u16,
    /// [`max_inflight`](Self::max_inflight) was called: it applies to 3.1.1 connections too.
    max_inflight_given: bool,
    pub(crate) max_inflight_v311: Option<u16>,
    pub(crate) receive_maximum: u16,
    pub(crate) max_packet_size: usize,
    pub(crate) queue_bytes: usize,
    pub(crate) subscription_bytes: usize,
    pub(crate) message_capacity: usize,
    pub(crate) message_capacity_bytes: usize,
    /// Read batching: batch size (0: off) and longest wait.
    pub(crate) read_batching: (usize, Duration),
    pub(crate) manual_ack: bool,
    pub(crate) ack_timeout: Option<Duration>,
    pub(crate) keep_trying: bool,
    pub(crate) tls: TlsOptions,
    pub(crate) user_properties: Vec<(String, String)>,
    pub(crate) request_problem_information: bool,
    pub(crate) request_response_information: bool,
    pub(crate) announce_maximum_packet_size: bool,
    pub(crate) topic_alias_maximum: u16,
    pub(crate) outgoing_topic_aliases: u16,
    pub(crate) topic_alias_len: u16,
    pub(crate) subscription_ids: bool,
    pub(crate) follow_redirects: bool,
    pub(crate) authenticator: Option<(String, AuthFactory)>,
    pub(crate) persistence: Option<super::Persistence>,
}

/// Bytes of each text the std client's session keeps (Response Information, Server Reference, CONNACK Reason
/// String, its own DISCONNECT with properties).
const TEXT_LEN: u16 = 512;

impl Options {
    /// Options for the broker at `url` (`mqtt://`, `tcp://`, `mqtts://`, `ssl://`, `ws://`, `wss://`), with a
    /// generated client identifier. Credentials in the URL (`mqtt://user:password@host`) are used, percent-decoded
    /// (`mqtt://me%40example.com:p%40ss@host` is user `me@example.com`, password `p@ss`).
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
            session_expiry_interval: None,
            will: None,
            reconnect: ReconnectPolicy::default(),
            jitter_seed: random_seed(),
            connect_timeout: Duration::from_secs(30),
            ping_timeout: Duration::ZERO,
            max_inflight: 64,
            max_inflight_given: false,
            max_inflight_v311: None,
            receive_maximum: u16::MAX,
            max_packet_size: 1024 * 1024 + 1024,
            queue_bytes: 4 * 1024 * 1024,
            subscription_bytes: 8 * 1024,
            message_capacity: 1024,
            message_capacity_bytes: MESSAGE_CAPACITY_BYTES,
            read_batching: (4096, Duration::from_millis(1)),
            manual_ack: false,
            ack_timeout: None,
            keep_trying: false,
            tls: TlsOptions::default(),
            user_properties: Vec::new(),
            request_problem_information: true,
            request_response_information: false,
            announce_maximum_packet_size: true,
            topic_alias_maximum: 0,
            outgoing_topic_aliases: 0,
            topic_alias_len: 256,
            subscription_ids: true,
            follow_redirects: true,
            authenticator: None,
            persistence: None,
        };
        if let Some(user) = parsed.username {
            let user = percent_decode(user);
            options.username =
                Some(String::from_utf8(user).unwrap_or_else(|_| user_text(parsed.username)));
            options.password = parsed.password.map(percent_decode);
        }
        Ok(options)
    }

    /// Options from the environment: `MQTT_BROKER` (a URL, or a host name), `MQTT_PORT`, `MQTT_USERNAME`,
    /// `MQTT_PASSWORD`, and `MQTT_CLIENT_ID` if set.
    ///
    /// # Errors
    ///
    /// [`Error::Environment`] if `MQTT_BROKER` is not set, one of the variables is not valid UTF-8, or
    /// `MQTT_PORT` is not a port; [`Error::InvalidUrl`] if the result is not a valid URL.
    pub fn from_env() -> Result<Self, Error> {
        // A variable that is set but not UTF-8 is reported as itself, not as missing.
        let not_unicode = [
            ("MQTT_BROKER", "MQTT_BROKER is not valid UTF-8"),
            ("MQTT_PORT", "MQTT_PORT is not valid UTF-8"),
            ("MQTT_USERNAME", "MQTT_USERNAME is not valid UTF-8"),
            ("MQTT_PASSWORD", "MQTT_PASSWORD is not valid UTF-8"),
            ("MQTT_CLIENT_ID", "MQTT_CLIENT_ID is not valid UTF-8"),
        ];
        for (name, error) in not_unicode {
            if let Err(std::env::VarError::NotUnicode(_)) = std::env::var(name) {
                return Err(Error::Environment(error));
            }
        }
        Self::from_vars(|name| std::env::var(name).ok())
    }

    /// [`from_env`](Self::from_env) over any source of variables (testable without touching the process).
    pub(crate) fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Self, Error> {
        let broker = var("MQTT_BROKER").ok_or(Error::Environment("MQTT_BROKER is not set"))?;
        let broker_url = if broker.contains("://") {
            broker
        } else {
            format!("mqtt://{broker}")
        };
        let mut url = broker_url.clone();
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
        // Credentials in `MQTT_BROKER` stay when `MQTT_PORT` rewrote the URL without them.
        if options.username.is_none() {
            let given = Self::new(&broker_url)?;
            (options.username, options.password) = (given.username, given.password);
        }
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

    /// The client identifier the options give (generated unless [`client_id`](Self::client_id) set one).
    pub fn client_identifier(&self) -> &str {
        &self.client_id
    }

    /// Time allowed to open the connection and receive CONNACK.
    pub fn connect_timeout_duration(&self) -> Duration {
        self.connect_timeout
    }

    /// The 5.0 Session Expiry Interval the client sends: the one given, or else what
    /// [`session_expiry`](Self::session_expiry) says follows from `clean_start`.
    pub(crate) fn session_expiry_seconds(&self) -> u32 {
        match self.session_expiry_interval {
            Some(seconds) => seconds,
            None if self.clean_start => 0,
            // A session of a broker-assigned identifier is resumed by this run only (the next run gets another
            // identifier): kept across lost connections, it ends within the hour once the run has ended, where
            // one kept for ever would stay behind on the broker.
            None if self.client_id.is_empty() => ASSIGNED_ID_SESSION_EXPIRY,
            None => u32::MAX,
        }
    }

    /// How long the bindings' `connect` waits for the first connection: a whole round over the broker list, each
    /// attempt of which may take the connect timeout (a hung node accepts TCP and never answers), so the connect
    /// timeout once per broker. A round ends sooner when every broker fails fast.
    pub fn first_connection_timeout(&self) -> Duration {
        let brokers = u32::try_from(self.brokers.len().max(1)).unwrap_or(u32::MAX);
        self.connect_timeout.saturating_mul(brokers)
    }

    /// A session configured by these options, with buffers sized by them.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] if the options cannot make a session (an empty client identifier with a clean start of
    /// `false`, a will with an invalid topic...).
    pub fn session(&self) -> Result<Session<'static>, Error> {
        let will_user: Vec<UserProperty<'_>> = self
            .will
            .iter()
            .flat_map(|w| &w.user_properties)
            .map(|(name, value)| UserProperty { name, value })
            .collect();
        let will = self.will.as_ref().map(|w| Will {
            topic: &w.topic,
            payload: &w.payload,
            qos: w.qos,
            retain: w.retain,
            properties: WillProperties {
                will_delay_interval: w.delay_interval,
                payload_format_indicator: w.payload_format_indicator,
                message_expiry_interval: w.message_expiry_interval,
                content_type: w.content_type.as_deref(),
                response_topic: w.response_topic.as_deref(),
                correlation_data: w.correlation_data.as_deref(),
                user_properties: List::new(&will_user),
            },
        });
        let user: Vec<UserProperty<'_>> = self
            .user_properties
            .iter()
            .map(|(name, value)| UserProperty { name, value })
            .collect();
        let config = Config {
            version: self.version,
            fallback_to_v311: self.fallback_to_v311,
            max_inflight_v311: self.window_v311(),
            read_batch_bytes: self.read_batching.0,
            read_batch_delay: self.read_batching.1,
            brokers: self.brokers.len(),
            clean_start: self.clean_start,
            session_expiry_interval: self.session_expiry_seconds(),
            keep_alive: self.keep_alive,
            username: self.username.as_deref(),
            password: self.password.as_deref(),
            will,
            connect_timeout: self.connect_timeout,
            ping_timeout: self.ping_timeout,
            max_inflight: self.max_inflight,
            receive_maximum: self.receive_maximum,
            reconnect: ReconnectPolicy {
                jitter_seed: self.jitter_seed,
                ..self.reconnect
            },
            // The client acknowledges a message once the application has it (or says so), never before.
            manual_ack: true,
            user_properties: List::new(&user),
            request_problem_information: self.request_problem_information,
            request_response_information: self.request_response_information,
            announce_maximum_packet_size: self.announce_maximum_packet_size,
            topic_alias_maximum: self.topic_alias_maximum,
            outgoing_topic_aliases: self.outgoing_topic_aliases,
            topic_alias_len: self.topic_alias_len,
            follow_redirects: self.follow_redirects,
            text_len: TEXT_LEN,
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
            + self.will.as_ref().map_or(0, LastWill::len)
            + self
                .user_properties
                .iter()
                .map(|(n, v)| n.len() + v.len() + 5)
                .sum::<usize>()
            + 256;
        // Both topic alias tables, and the texts.
        let aliases = (usize::from(self.topic_alias_maximum)
            + usize::from(self.outgoing_topic_aliases))
            * (usize::from(self.topic_alias_len) + 6);
        let texts = 5 * (2 + usize::from(TEXT_LEN));
        // The record of acknowledgements owed, in arrival order: 3 bytes per message the broker may have in flight.
        let ack_record = 3 * usize::from(self.receive_maximum);
        let store = self.queue_bytes + qos2_table + ack_record + connect + aliases + texts;
        // The receive buffer and the subscription table start small and grow on use, up to the sizes the options
        // give: an idle connection keeps a few hundred bytes of them. The store is one zeroed allocation, resident
        // only where it is written.
        let buffers = |store: usize| Buffers {
            rx: Buf::growable(RX_INITIAL, self.max_packet_size),
            store: Buf::owned(store),
            subscriptions: Buf::growable(0, self.subscription_bytes),
        };
        match &self.authenticator {
            None => Session::new(&config, buffers(store)).map_err(Error::Config),
            Some((_, make)) => {
                let authenticator = make();
                // Its data twice (the data and the CONNECT carrying it), its method twice, the CONNECT again.
                let auth =
                    2 * (authenticator.max_data_len() + authenticator.method().len()) + connect;
                Session::with_authenticator(
                    &config,
                    buffers(store + auth),
                    AuthenticatorRef::Owned(authenticator),
                )
                .map_err(Error::Config)
            }
        }
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

    /// A password without a user name (5.0 only: a 3.1.1 CONNECT cannot carry one [MQTT-3.1.2-22], and a client
    /// given one does not fall back to 3.1.1). Keeps the user name, if one was given.
    pub fn password(mut self, password: impl Into<Vec<u8>>) -> Self {
        self.password = Some(password.into());
        self
    }

    /// Speaks only this version, MQTT 3.1.1 or 5.0. Without this call the client speaks 5.0 and falls back to
    /// 3.1.1 for the rest of its life when a broker shows it does not speak 5.0 (it refuses the protocol version,
    /// or closes the connection after CONNECT without an answer before any 5.0 connection succeeded); see [`Config::fallback_to_v311`](crate::Config::fallback_to_v311). With a version given, such a
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

    /// Keep alive (default 60 s; zero turns it off). The CONNECT carries whole seconds: a fraction is dropped,
    /// except under a second, which becomes one second rather than turning keep alive off.
    pub fn keep_alive(mut self, keep_alive: Duration) -> Self {
        self.keep_alive = match keep_alive.as_secs() {
            0 if !keep_alive.is_zero() => Duration::from_secs(1),
            _ => keep_alive,
        };
        self
    }

    /// Start without session state on every connection (default `true`). With `false` the broker keeps the
    /// session (subscriptions, and the QoS 1 and 2 messages for the client) while the client is away, on 3.1.1
    /// (Clean Session 0) and on 5.0 alike: the Session Expiry Interval then defaults to "never expires" (see
    /// [`session_expiry`](Self::session_expiry)).
    pub fn clean_start(mut self, clean_start: bool) -> Self {
        self.clean_start = clean_start;
        self
    }

    /// 5.0 Session Expiry Interval in seconds: how long the broker keeps the session once the connection has
    /// ended (`u32::MAX`: for ever). Default: 0 with [`clean_start`](Self::clean_start)`(true)`; `u32::MAX` with
    /// `clean_start(false)`, which is what 3.1.1's Clean Session 0 means (with 0, a 5.0 broker would drop the
    /// session, and the messages published meanwhile, when the connection ends), except with an empty client
    /// identifier: the broker assigns one, which the client keeps for its reconnects but the next run will not
    /// have, so one hour (3,600 s): the session outlives lost connections, and does not stay behind for ever.
    pub fn session_expiry(mut self, seconds: u32) -> Self {
        self.session_expiry_interval = Some(seconds);
        self
    }

    /// The will message, with its 5.0 properties (Will Delay Interval, expiry, content type, response topic,
    /// correlation data, user properties): see [`LastWill`].
    pub fn last_will(mut self, will: LastWill) -> Self {
        self.will = Some(will);
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
        self.will = Some(LastWill::new(topic, payload).qos(qos).retain(retain));
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

    /// Time allowed for PINGRESP after PINGREQ before the connection counts as lost (default: 10 s or half the
    /// keep alive interval, whichever is shorter; a value given is used as given). PINGREQ goes out when the
    /// client sent nothing, or heard nothing from the broker, for the keep alive interval; a broker node that
    /// hangs (the kernel keeps its connections open, nothing answers) is therefore left at most the keep alive
    /// plus this after its last word (with the default, within one and a half keep alive intervals); with
    /// failover, lower both to move to another node sooner.
    pub fn ping_timeout(mut self, timeout: Duration) -> Self {
        self.ping_timeout = timeout;
        self
    }

    /// Outgoing QoS 1 and 2 messages in flight at most (default 64, and never more than a 5.0 broker's Receive
    /// Maximum). It applies to 3.1.1 connections too, unless [`max_inflight_v311`](Self::max_inflight_v311) is
    /// given; without either, a 3.1.1 connection keeps 20.
    pub fn max_inflight(mut self, max: u16) -> Self {
        self.max_inflight = max.max(1);
        self.max_inflight_given = true;
        self
    }

    /// Outgoing QoS 1 and 2 messages in flight at most on a 3.1.1 connection, where the broker cannot announce its
    /// limit; without it, the [`max_inflight`](Self::max_inflight) you gave, or else 20: mosquitto's default
    /// `max_inflight_messages` is 20 and it drops 3.1.1 QoS 2 messages beyond it while acknowledging them. Raise
    /// it for a broker configured higher.
    pub fn max_inflight_v311(mut self, max: u16) -> Self {
        self.max_inflight_v311 = Some(max.max(1));
        self
    }

    /// The 3.1.1 window: the one given for 3.1.1, else the one given, else mosquitto's default.
    fn window_v311(&self) -> u16 {
        self.max_inflight_v311
            .unwrap_or(if self.max_inflight_given {
                self.max_inflight
            } else {
                20
            })
    }

    /// Incoming QoS 2 messages that may await PUBREL at once (default 65,535: no limit, in 8 KiB); advertised to
    /// 5.0 brokers as Receive Maximum. Lower values take 2 bytes per message; a 3.1.1 broker that exceeds them
    /// ends the connection. It is also how many messages a full queue takes past
    /// [`message_capacity`](Self::message_capacity) while the broker owes the application an answer (see the
    /// [delivery rules](crate::client#delivery-rules)).
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
    /// A 5.0 broker is told it and sends nothing larger. A 3.1.1 broker cannot be told: a larger message from it
    /// is acknowledged and read past without being delivered (so that a persistent session does not get it again
    /// after every reconnect), a `tracing` warning says so, and [`Stats::messages_too_large`] counts it.
    ///
    /// [`Stats::messages_too_large`]: crate::session::Stats::messages_too_large
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
    /// broker's window pushes back (see the [delivery rules](crate::client#delivery-rules), which also say how a
    /// queue makes room for the answer to a request the application awaits).
    pub fn message_capacity(mut self, messages: usize) -> Self {
        self.message_capacity = messages.max(1);
        self
    }

    /// Memory each subscription's queue (and each [`messages()`](super::Client::messages) stream) holds at most,
    /// in bytes: topics, payloads and properties of the messages the application has not taken yet, plus a few
    /// hundred bytes each (default 4 MiB). Bounds a queue of large messages the way
    /// [`message_capacity`](Self::message_capacity) bounds one of small ones: once a queue holds this much, it
    /// takes nothing more until the application takes a message, the client stops reading from the broker, and
    /// nothing is dropped. A queue always takes one message, so a message larger than this still arrives (and a
    /// queue may pass the bound by one message, at most
    /// [`max_packet_size`](Self::max_packet_size)).
    pub fn message_capacity_bytes(mut self, bytes: usize) -> Self {
        self.message_capacity_bytes = bytes.max(1);
        self
    }

    /// Read batching under a flood (default 4 KiB and 1 ms; `bytes` 0, or `max_delay` under a millisecond, turns
    /// it off). When the broker sends
    /// `bytes` or more within `max_delay`, none of it QoS 1 or 2 messages, the client asks its socket (plain TCP, on
    /// Linux and Android: `SO_RCVLOWAT`) to wake it once `bytes` have arrived, or after `max_delay`: a QoS 0 flood
    /// is read in batches, with a fraction of the wake-ups and CPU time, and the last messages of a flood wait
    /// `max_delay` at most (and the keep alive's answer too). A message that comes alone, or request/response
    /// traffic, never waits. See [`Config::read_batch_bytes`].
    pub fn read_batching(mut self, bytes: usize, max_delay: Duration) -> Self {
        self.read_batching = (bytes, max_delay);
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

    /// Bounds the calls that wait for the broker's answer without a timeout of their own: `subscribe`,
    /// `unsubscribe` and their `_many`/`_with` forms (SUBACK, UNSUBACK), a [`Delivery`](super::Delivery)'s
    /// `wait` (PUBACK or PUBCOMP) and `reauthenticate` (AUTH), on every std client; past it they fail with [`Error::Timeout`](super::Error).
    /// Calls that take a timeout (`wait_timeout`, `ping`, `request`, `disconnect`) keep the caller's.
    ///
    /// Default `None`: wait as long as it takes. The session never loses what such a call waits for (a message
    /// queued while offline goes out after the next connection, a subscription is made again after a reconnect),
    /// so the answer of a broker that is down comes once it is back; a deadline would report a failure for what
    /// still happens. Set one (paho's `command_timeout` is 60 s) when a hung broker should show up as an error.
    ///
    /// A timed-out wait loses nothing: the message stays queued or in flight and may still be acknowledged, the
    /// SUBSCRIBE or UNSUBSCRIBE still goes out and the broker still applies it. What the caller no longer hears
    /// is the answer. With the async clients a subscription whose wait timed out has no handle, so what its
    /// filters match is treated as for a dropped subscription (see the
    /// [delivery rules](crate::client#delivery-rules)); unsubscribe it, or subscribe again. mqtt-blocking's
    /// subscribe callback stays attached: it gets the filters' messages once the broker has the subscription.
    pub fn ack_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.ack_timeout = timeout;
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
            .field("session_expiry_interval", &self.session_expiry_seconds())
            .field("will", &self.will)
            .field("reconnect", &self.reconnect)
            .field("connect_timeout", &self.connect_timeout)
            .field("ping_timeout", &self.ping_timeout)
            .field("max_inflight", &self.max_inflight)
            .field("max_inflight_v311", &self.window_v311())
            .field("receive_maximum", &self.receive_maximum)
            .field("max_packet_size", &self.max_packet_size)
            .field("queue_bytes", &self.queue_bytes)
            .field("subscription_bytes", &self.subscription_bytes)
            .field("message_capacity", &self.message_capacity)
            .field("message_capacity_bytes", &self.message_capacity_bytes)
            .field("read_batching", &self.read_batching)
            .field("manual_ack", &self.manual_ack)
            .field("ack_timeout", &self.ack_timeout)
            .field("keep_trying", &self.keep_trying)
            .field("tls", &self.tls)
            .field("user_properties", &self.user_properties.len())
            .field("topic_alias_maximum", &self.topic_alias_maximum)
            .field("outgoing_topic_aliases", &self.outgoing_topic_aliases)
            .field("subscription_ids", &self.subscription_ids)
            .field("follow_redirects", &self.follow_redirects)
            .field(
                "authentication_method",
                &self.authenticator.as_ref().map(|(m, _)| m),
            )
            .field("persistence", &self.persistence)
            .finish_non_exhaustive()
    }
}

/// A seed for the reconnect jitter of one client: different for every call, in every process.
/// The bytes of a URL's percent-encoded user name or password (RFC 3986 §2.1, §3.2.1): each `%` followed by two
/// hexadecimal digits is that byte; a `%` that starts no such escape is kept as it is.
fn percent_decode(text: &str) -> Vec<u8> {
    let hex = |b: u8| {
        char::from(b)
            .to_digit(16)
            .and_then(|d| u8::try_from(d).ok())
    };
    let mut out = Vec::with_capacity(text.len());
    let mut rest = text.as_bytes();
    while let Some((&first, tail)) = rest.split_first() {
        if let (b'%', [high, low, after @ ..]) = (first, tail)
            && let (Some(high), Some(low)) = (hex(*high), hex(*low))
        {
            out.push(high << 4 | low);
            rest = after;
            continue;
        }
        out.push(first);
        rest = tail;
    }
    out
}

/// A user name whose escapes do not decode to UTF-8, as written.
fn user_text(user: Option<&str>) -> String {
    user.unwrap_or_default().to_owned()
}

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

mod tls;
pub use tls::{Encoded, TlsOptions};
mod v5;

#[cfg(test)]
mod tests;
