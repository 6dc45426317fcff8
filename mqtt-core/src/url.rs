//! Broker addresses as URLs: `mqtt://`, `tcp://`, `mqtts://`, `ssl://`, `ws://` and `wss://`, with the default ports
//! device APIs use. Shared by every binding so that they accept exactly the same addresses.
//!
//! ```
//! use mqtt_core::url::{BrokerUrl, Transport};
//!
//! let url = BrokerUrl::parse("wss://broker.example.com/mqtt")?;
//! assert_eq!((url.transport, url.host, url.port, url.path), (Transport::Wss, "broker.example.com", 443, "/mqtt"));
//!
//! let url = BrokerUrl::parse("mqtt://user:secret@[::1]")?;
//! assert_eq!((url.host, url.port, url.username, url.password), ("::1", 1883, Some("user"), Some("secret")));
//! # Ok::<(), mqtt_core::url::UrlError>(())
//! ```

use core::fmt;

/// How the bytes travel to the broker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    /// Plain TCP (`mqtt://`, `tcp://`), default port 1883.
    Tcp,
    /// TLS over TCP (`mqtts://`, `ssl://`), default port 8883.
    Tls,
    /// WebSocket (`ws://`), default port 80, path `/mqtt`.
    Ws,
    /// WebSocket over TLS (`wss://`), default port 443, path `/mqtt`.
    Wss,
}

impl Transport {
    /// The port used when the URL gives none.
    pub const fn default_port(self) -> u16 {
        match self {
            Self::Tcp => 1883,
            Self::Tls => 8883,
            Self::Ws => 80,
            Self::Wss => 443,
        }
    }

    /// Whether the connection is encrypted.
    pub const fn is_tls(self) -> bool {
        matches!(self, Self::Tls | Self::Wss)
    }

    /// Whether MQTT is carried in WebSocket frames.
    pub const fn is_websocket(self) -> bool {
        matches!(self, Self::Ws | Self::Wss)
    }
}

/// The schemes and what they mean.
const SCHEMES: [(&str, Transport); 7] = [
    ("mqtt", Transport::Tcp),
    ("tcp", Transport::Tcp),
    ("mqtts", Transport::Tls),
    ("ssl", Transport::Tls),
    ("tls", Transport::Tls),
    ("ws", Transport::Ws),
    ("wss", Transport::Wss),
];

/// A parsed broker URL, borrowing from the text it was parsed from. Its `Debug` and `Display` leave the password
/// out.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct BrokerUrl<'a> {
    /// The transport the scheme names.
    pub transport: Transport,
    /// Host name or IP address (an IPv6 address without its brackets).
    pub host: &'a str,
    /// The port, or the transport's default.
    pub port: u16,
    /// The WebSocket path (`/mqtt` by default); `""` for TCP and TLS.
    pub path: &'a str,
    /// User name from `user:password@`, if present.
    pub username: Option<&'a str>,
    /// Password from `user:password@`, if present.
    pub password: Option<&'a str>,
}

/// Why a broker URL was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UrlError {
    /// No `scheme://` prefix.
    #[error("missing scheme: expected mqtt://, tcp://, mqtts://, ssl://, ws:// or wss://")]
    MissingScheme,
    /// A scheme this client does not speak.
    #[error("unsupported scheme (expected mqtt, tcp, mqtts, ssl, ws or wss)")]
    UnsupportedScheme,
    /// No host between `//` and the port or path.
    #[error("missing host")]
    MissingHost,
    /// The port is not a number from 1 to 65535.
    #[error("invalid port")]
    InvalidPort,
    /// An IPv6 address without its closing `]`.
    #[error("unterminated IPv6 address")]
    UnterminatedIpv6,
    /// A path or a query on a TCP or TLS URL, where it would mean nothing.
    #[error("a path or a query is only meaningful for ws:// and wss://")]
    UnexpectedPath,
    /// A WebSocket URL with a query and no path (`ws://host?x`): give the path too (`ws://host/mqtt?x`).
    #[error("a WebSocket URL with a query needs its path too (ws://host/mqtt?...)")]
    QueryWithoutPath,
}

impl<'a> BrokerUrl<'a> {
    /// Parses `scheme://[user[:password]@]host[:port][/path]`.
    ///
    /// # Errors
    ///
    /// A [`UrlError`] naming what is wrong.
    pub fn parse(text: &'a str) -> Result<Self, UrlError> {
        let (scheme, rest) = text.split_once("://").ok_or(UrlError::MissingScheme)?;
        let transport = SCHEMES
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(scheme))
            .map(|&(_, transport)| transport)
            .ok_or(UrlError::UnsupportedScheme)?;
        // The authority ends at the path, the query or the fragment, whichever comes first.
        let (authority, path) = match rest.find(['/', '?', '#']) {
            Some(i) => rest.split_at(i),
            None => (rest, ""),
        };
        // A fragment never leaves the client (nor goes into a WebSocket request line).
        let path = path.split_once('#').map_or(path, |(path, _)| path);
        let (userinfo, hostport) = match authority.rsplit_once('@') {
            Some((userinfo, hostport)) => (Some(userinfo), hostport),
            None => (None, authority),
        };
        let (username, password) = match userinfo {
            Some(info) => match info.split_once(':') {
                Some((user, pass)) => (Some(user), Some(pass)),
                None => (Some(info), None),
            },
            None => (None, None),
        };
        let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
            let (host, after) = v6.split_once(']').ok_or(UrlError::UnterminatedIpv6)?;
            match after {
                "" => (host, None),
                port => (
                    host,
                    Some(port.strip_prefix(':').ok_or(UrlError::InvalidPort)?),
                ),
            }
        } else {
            match hostport.rsplit_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (hostport, None),
            }
        };
        if host.is_empty() {
            return Err(UrlError::MissingHost);
        }
        let port = match port {
            Some(p) => p
                .parse::<u16>()
                .ok()
                .filter(|&p| p != 0)
                .ok_or(UrlError::InvalidPort)?,
            None => transport.default_port(),
        };
        let path = match (transport.is_websocket(), path) {
            (true, "" | "/") => "/mqtt",
            // A query with no path: the request target needs one ("/?x"), and `/` is what the URL names.
            (true, query) if query.starts_with('?') => return Err(UrlError::QueryWithoutPath),
            (true, path) => path,
            (false, "" | "/") => "",
            (false, _) => return Err(UrlError::UnexpectedPath),
        };
        Ok(Self {
            transport,
            host,
            port,
            path,
            username,
            password,
        })
    }
}

impl fmt::Debug for BrokerUrl<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BrokerUrl")
            .field("transport", &self.transport)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("path", &self.path)
            .field("username", &self.username)
            .field("password", &self.password.map(|_| "<redacted>"))
            .finish()
    }
}

impl fmt::Display for BrokerUrl<'_> {
    /// The URL without credentials (safe to log).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = match self.transport {
            Transport::Tcp => "mqtt",
            Transport::Tls => "mqtts",
            Transport::Ws => "ws",
            Transport::Wss => "wss",
        };
        if self.host.contains(':') {
            write!(f, "{scheme}://[{}]:{}{}", self.host, self.port, self.path)
        } else {
            write!(f, "{scheme}://{}:{}{}", self.host, self.port, self.path)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::string::ToString;

    #[test]
    fn debug_and_display_leave_the_password_out() {
        let url = BrokerUrl::parse("mqtt://me:hunter2@broker:1884").unwrap();
        assert_eq!(url.password, Some("hunter2"));
        let shown = std::format!("{url:?} {url}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(
            shown.contains("<redacted>") && shown.contains("broker"),
            "{shown}"
        );
    }

    #[test]
    fn schemes_ports_and_paths() {
        let cases: &[(&str, Transport, &str, u16, &str)] = &[
            ("mqtt://broker", Transport::Tcp, "broker", 1883, ""),
            ("tcp://10.0.0.7:1884", Transport::Tcp, "10.0.0.7", 1884, ""),
            ("mqtts://broker", Transport::Tls, "broker", 8883, ""),
            ("SSL://Broker:8884/", Transport::Tls, "Broker", 8884, ""),
            ("ws://broker", Transport::Ws, "broker", 80, "/mqtt"),
            ("ws://broker:9001/", Transport::Ws, "broker", 9001, "/mqtt"),
            (
                "wss://broker/ws/mqtt",
                Transport::Wss,
                "broker",
                443,
                "/ws/mqtt",
            ),
            ("mqtt://[::1]:1884", Transport::Tcp, "::1", 1884, ""),
            ("mqtt://[fe80::1]", Transport::Tcp, "fe80::1", 1883, ""),
            // A fragment is the client's own: dropped. A WebSocket query is part of the request target.
            ("mqtt://broker#main", Transport::Tcp, "broker", 1883, ""),
            (
                "mqtt://broker:1884/#main",
                Transport::Tcp,
                "broker",
                1884,
                "",
            ),
            (
                "wss://broker/mqtt?token=a/b#f",
                Transport::Wss,
                "broker",
                443,
                "/mqtt?token=a/b",
            ),
            ("ws://broker#f", Transport::Ws, "broker", 80, "/mqtt"),
        ];
        for &(text, transport, host, port, path) in cases {
            let url = BrokerUrl::parse(text).unwrap();
            assert_eq!(
                (url.transport, url.host, url.port, url.path),
                (transport, host, port, path),
                "{text}"
            );
        }
    }

    #[test]
    fn credentials_and_display_without_them() {
        let url = BrokerUrl::parse("mqtts://dev:p@ss@broker:8883").unwrap();
        assert_eq!(
            (url.username, url.password, url.host),
            (Some("dev"), Some("p@ss"), "broker")
        );
        assert_eq!(url.to_string(), "mqtts://broker:8883");
        let url = BrokerUrl::parse("ws://only-user@[::1]/x").unwrap();
        assert_eq!((url.username, url.password), (Some("only-user"), None));
        assert_eq!(url.to_string(), "ws://[::1]:80/x");
    }

    #[test]
    fn malformed_urls_are_refused_with_a_reason() {
        let cases: &[(&str, UrlError)] = &[
            ("broker:1883", UrlError::MissingScheme),
            ("http://broker", UrlError::UnsupportedScheme),
            ("averyveryverylongscheme://x", UrlError::UnsupportedScheme),
            ("mqtt://", UrlError::MissingHost),
            ("mqtt://:1883", UrlError::MissingHost),
            ("mqtt://broker:0", UrlError::InvalidPort),
            ("mqtt://broker:65536", UrlError::InvalidPort),
            ("mqtt://broker:x", UrlError::InvalidPort),
            ("mqtt://[::1", UrlError::UnterminatedIpv6),
            ("mqtt://[::1]1883", UrlError::InvalidPort),
            ("mqtt://broker/path", UrlError::UnexpectedPath),
            // A query or a fragment is not part of the host (it was: "broker?x=1" went to the resolver).
            ("mqtt://broker?x=1", UrlError::UnexpectedPath),
            ("mqtt://broker:1883?x=1", UrlError::UnexpectedPath),
            ("mqtts://user:pw@broker?x", UrlError::UnexpectedPath),
            ("ws://broker?token=1", UrlError::QueryWithoutPath),
            ("wss://broker:8884?token=1", UrlError::QueryWithoutPath),
        ];
        for &(text, error) in cases {
            assert_eq!(BrokerUrl::parse(text), Err(error), "{text}");
        }
    }
}
