//! [`MosquittoConfig`], [`Listener`] and the `mosquitto.conf` written from them.

use std::path::PathBuf;

/// The server certificate the TLS listeners present, signed by the harness's CA.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ServerCertificate {
    /// For `localhost` and `127.0.0.1` (the names the listeners' URLs use), valid.
    #[default]
    Valid,
    /// For `localhost` and `127.0.0.1`, but expired (valid during 2020 only).
    Expired,
    /// Valid, but for `broker.invalid` only: a client that connects to `localhost` must refuse it.
    OtherName,
}

/// What the broker started by [`Mosquitto::start`](super::Mosquitto::start) offers.
///
/// The plain listener (anonymous MQTT over TCP) is always there; every other listener is opt-in. Build it with
/// struct update syntax or the chaining methods:
///
/// ```
/// use mqtt_test::mosquitto::MosquittoConfig;
///
/// let config = MosquittoConfig {
///     tls: true,
///     persistence: true,
///     ..MosquittoConfig::default()
/// };
/// let same = MosquittoConfig::default().with_tls().with_persistence();
/// assert_eq!(config, same);
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
pub struct MosquittoConfig {
    /// A TLS listener ([`Listener::Tls`]), anonymous, with a server certificate for `localhost` and `127.0.0.1`
    /// signed by the generated CA.
    pub tls: bool,
    /// A mutual-TLS listener ([`Listener::Mtls`]): like [`tls`](Self::tls), and it also requires a client
    /// certificate signed by the generated CA (`require_certificate true`), or by [`client_ca`](Self::client_ca).
    pub mtls: bool,
    /// Another CA (PEM) whose client certificates the mutual-TLS listener accepts besides the generated CA's:
    /// for certificates made elsewhere, such as the X.509 v1 certificate of
    /// [`X509V1Client`](super::X509V1Client). `None`: only the generated CA.
    pub client_ca: Option<String>,
    /// A WebSocket listener ([`Listener::Ws`]), anonymous.
    pub websocket: bool,
    /// A WebSocket-over-TLS listener ([`Listener::Wss`]), anonymous, with the same server certificate as
    /// [`tls`](Self::tls).
    pub secure_websocket: bool,
    /// Users and passwords of a dedicated plain listener ([`Listener::Password`]) that refuses anonymous clients
    /// and checks this password file; the other listeners stay anonymous. `None`: no such listener.
    pub password_file: Option<Vec<(String, String)>>,
    /// Keep the broker's state (retained messages, persistent sessions and their queued messages) in a database
    /// in the temp dir, saved after every change (`autosave_on_changes true`, `autosave_interval 1`), so that it
    /// survives [`kill`](super::Mosquitto::kill) and [`restart`](super::Mosquitto::restart) up to the last save.
    pub persistence: bool,
    /// An access control list in mosquitto's `acl_file` format, for every listener (lines before any `user` line
    /// are for anonymous clients). `None`: every client may publish and subscribe to every topic. Mosquitto
    /// 2.0.11 (Debian's) grants a SUBSCRIBE the list denies, on 3.1.1 and 5.0, and then delivers nothing through
    /// it (as observed through this harness). The typed SUBACK refusal is tested on the fake broker.
    pub acl: Option<String>,
    /// The server certificate of the TLS listeners: valid for `localhost` and `127.0.0.1` by default, or one a
    /// client must refuse (expired, or for another name).
    pub server_certificate: ServerCertificate,
    /// Raw lines appended to the global part of the file, before the first `listener` line (for example
    /// `"max_inflight_messages 20"`); they come after the harness's own global options, and mosquitto keeps the
    /// last value it reads.
    pub extra_lines: Vec<String>,
}

/// The passwords of [`password_file`](MosquittoConfig::password_file) stay out of `Debug` (the user names show).
impl core::fmt::Debug for MosquittoConfig {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let users: Option<Vec<&str>> = self
            .password_file
            .as_ref()
            .map(|users| users.iter().map(|(user, _)| user.as_str()).collect());
        f.debug_struct("MosquittoConfig")
            .field("tls", &self.tls)
            .field("mtls", &self.mtls)
            .field("client_ca", &self.client_ca.as_ref().map(|_| "(PEM)"))
            .field("websocket", &self.websocket)
            .field("secure_websocket", &self.secure_websocket)
            .field("password_file users (passwords redacted)", &users)
            .field("persistence", &self.persistence)
            .field("acl", &self.acl)
            .field("server_certificate", &self.server_certificate)
            .field("extra_lines", &self.extra_lines)
            .finish()
    }
}

impl MosquittoConfig {
    /// Every listener kind: plain, TLS, mutual TLS, WebSocket and secure WebSocket (no password listener, no
    /// persistence).
    pub fn all_listeners() -> Self {
        Self {
            tls: true,
            mtls: true,
            websocket: true,
            secure_websocket: true,
            ..Self::default()
        }
    }

    /// Adds the TLS listener.
    #[must_use]
    pub fn with_tls(mut self) -> Self {
        self.tls = true;
        self
    }

    /// Adds the mutual-TLS listener.
    #[must_use]
    pub fn with_mtls(mut self) -> Self {
        self.mtls = true;
        self
    }

    /// Adds the mutual-TLS listener, trusting client certificates of `ca` (PEM) too.
    #[must_use]
    pub fn with_client_ca(mut self, ca: impl Into<String>) -> Self {
        self.mtls = true;
        self.client_ca = Some(ca.into());
        self
    }

    /// Adds the WebSocket listener.
    #[must_use]
    pub fn with_websocket(mut self) -> Self {
        self.websocket = true;
        self
    }

    /// Adds the secure WebSocket listener.
    #[must_use]
    pub fn with_secure_websocket(mut self) -> Self {
        self.secure_websocket = true;
        self
    }

    /// Adds the password listener with these users.
    #[must_use]
    pub fn with_users<U: Into<String>, P: Into<String>>(
        mut self,
        users: impl IntoIterator<Item = (U, P)>,
    ) -> Self {
        self.password_file = Some(
            users
                .into_iter()
                .map(|(user, password)| (user.into(), password.into()))
                .collect(),
        );
        self
    }

    /// Gives the TLS listeners this server certificate (still signed by the generated CA).
    #[must_use]
    pub fn with_server_certificate(mut self, certificate: ServerCertificate) -> Self {
        self.server_certificate = certificate;
        self
    }

    /// Turns persistence on.
    #[must_use]
    pub fn with_persistence(mut self) -> Self {
        self.persistence = true;
        self
    }

    /// Gives every listener the access control list `acl` (see [`acl`](Self::acl)).
    #[must_use]
    pub fn with_acl(mut self, acl: impl Into<String>) -> Self {
        self.acl = Some(acl.into());
        self
    }

    /// Appends a raw global configuration line.
    #[must_use]
    pub fn with_line(mut self, line: impl Into<String>) -> Self {
        self.extra_lines.push(line.into());
        self
    }

    /// The listeners this configuration asks for, plain first, in the order they appear in the file.
    pub fn listeners(&self) -> Vec<Listener> {
        let mut listeners = vec![Listener::Plain];
        for (wanted, kind) in [
            (self.tls, Listener::Tls),
            (self.mtls, Listener::Mtls),
            (self.websocket, Listener::Ws),
            (self.secure_websocket, Listener::Wss),
            (self.password_file.is_some(), Listener::Password),
        ] {
            if wanted {
                listeners.push(kind);
            }
        }
        listeners
    }

    /// Whether any listener needs the generated certificates.
    pub(super) fn needs_certificates(&self) -> bool {
        self.tls || self.mtls || self.secure_websocket
    }
}

/// One kind of listener of the harness's broker. Every listener binds `127.0.0.1` only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Listener {
    /// MQTT over TCP, anonymous. Always there.
    Plain,
    /// MQTT over TLS, anonymous; verify the server with [`ca_pem`](super::Mosquitto::ca_pem) and the name
    /// `localhost`.
    Tls,
    /// MQTT over TLS with a required client certificate
    /// ([`client_cert_pem`](super::Mosquitto::client_cert_pem), [`client_key_pem`](super::Mosquitto::client_key_pem)).
    Mtls,
    /// MQTT over WebSocket (`ws://…/mqtt`, subprotocol `mqtt`), anonymous.
    Ws,
    /// MQTT over WebSocket over TLS (`wss://localhost:…/mqtt`), anonymous.
    Wss,
    /// MQTT over TCP with user name and password checked against
    /// [`MosquittoConfig::password_file`]; anonymous clients are refused.
    Password,
}

impl Listener {
    /// Every kind, in configuration order.
    pub const ALL: [Self; 6] = [
        Self::Plain,
        Self::Tls,
        Self::Mtls,
        Self::Ws,
        Self::Wss,
        Self::Password,
    ];

    /// Whether clients reach it through TLS.
    pub const fn is_tls(self) -> bool {
        matches!(self, Self::Tls | Self::Mtls | Self::Wss)
    }

    /// Whether it speaks WebSocket.
    pub const fn is_websocket(self) -> bool {
        matches!(self, Self::Ws | Self::Wss)
    }

    /// The URL of this listener on `port`: `mqtt://127.0.0.1:PORT`, `mqtts://localhost:PORT`,
    /// `ws://127.0.0.1:PORT/mqtt` or `wss://localhost:PORT/mqtt`. TLS URLs name `localhost`, the name the server
    /// certificate carries (it carries `127.0.0.1` too).
    pub fn url(self, port: u16) -> String {
        match self {
            Self::Plain | Self::Password => format!("mqtt://127.0.0.1:{port}"),
            Self::Tls | Self::Mtls => format!("mqtts://localhost:{port}"),
            Self::Ws => format!("ws://127.0.0.1:{port}/mqtt"),
            Self::Wss => format!("wss://localhost:{port}/mqtt"),
        }
    }
}

/// Files of the temp dir that the configuration names.
pub(super) struct Files {
    pub(super) dir: PathBuf,
    pub(super) log: PathBuf,
    pub(super) ca: PathBuf,
    pub(super) server_cert: PathBuf,
    pub(super) server_key: PathBuf,
    pub(super) passwords: PathBuf,
    /// The access control list, [`MosquittoConfig::acl`].
    pub(super) acl: PathBuf,
    /// The CAs of client certificates: the generated one and [`MosquittoConfig::client_ca`].
    pub(super) client_cas: PathBuf,
}

/// The text of `mosquitto.conf` for `config` with each listener on its port.
pub(super) fn render(config: &MosquittoConfig, ports: &[(Listener, u16)], files: &Files) -> String {
    let mut out = String::from("# Written by mqtt-test's mosquitto harness.\n");
    let mut line = |text: &str| {
        out.push_str(text);
        out.push('\n');
    };
    // allow_anonymous and password_file differ between listeners.
    line("per_listener_settings true");
    // When started as root, mosquitto 2 switches to the `mosquitto` user, which cannot read the temp dir; `root`
    // keeps it as it is (and the option does nothing for other users).
    line("user root");
    line(&format!("log_dest file {}", files.log.display()));
    line("log_type all");
    line("log_timestamp true");
    line("log_timestamp_format %H:%M:%S");
    line("connection_messages true");
    // Generous limits: no cap on queued messages (default 1000, then silently dropped) nor on inflight messages
    // towards a client (default 20; a 5.0 client's Receive Maximum still applies).
    line("max_queued_messages 0");
    line("max_inflight_messages 0");
    line("set_tcp_nodelay true");
    if config.persistence {
        line("persistence true");
        line(&format!("persistence_location {}/", files.dir.display()));
        line("autosave_on_changes true");
        line("autosave_interval 1");
    } else {
        line("persistence false");
    }
    for extra in &config.extra_lines {
        line(extra);
    }
    for &(kind, port) in ports {
        line("");
        line(&format!("# {kind:?}"));
        line(&format!("listener {port} 127.0.0.1"));
        // mosquitto 2.0.11 binds a WebSocket listener to every address, whatever the listener line says, unless
        // IPv6 is off (libwebsockets then honours the address); harmless on the others, which bind IPv4 anyway.
        line("socket_domain ipv4");
        if kind.is_websocket() {
            line("protocol websockets");
        }
        if kind == Listener::Password {
            line("allow_anonymous false");
            line(&format!("password_file {}", files.passwords.display()));
        } else {
            line("allow_anonymous true");
        }
        if config.acl.is_some() {
            line(&format!("acl_file {}", files.acl.display()));
        }
        if kind.is_tls() {
            line(&format!("certfile {}", files.server_cert.display()));
            line(&format!("keyfile {}", files.server_key.display()));
        }
        if kind == Listener::Mtls {
            let cas = match config.client_ca {
                Some(_) => &files.client_cas,
                None => &files.ca,
            };
            line(&format!("cafile {}", cas.display()));
            line("require_certificate true");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::MosquittoConfig;

    #[test]
    fn debug_shows_the_users_and_not_their_passwords() {
        let config = MosquittoConfig::default().with_users([("alice", "hunter2-correct-horse")]);
        let text = format!("{config:?}");
        assert!(text.contains("alice"), "{text}");
        assert!(!text.contains("hunter2"), "{text}");
    }
}
