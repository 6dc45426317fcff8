//! TLS with rustls (feature `tls`): the client configuration made from [`TlsOptions`] (trusted roots, client
//! certificate), the server name, handshake failures typed, and the [`Endpoint`] of a broker URL. The handshake itself runs in the bindings, over
//! their runtime's sockets.

use std::borrow::ToOwned;
use std::string::{String, ToString};
use std::sync::Arc;
use std::vec::Vec;
use std::{format, io, vec};

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::sign::{CertifiedKey, SingleCertAndKey};
use rustls::{ClientConfig, InconsistentKeys, RootCertStore};

use super::{Encoded, Error, Options, TlsError, TlsOptions};
use crate::url::{BrokerUrl, Transport};

impl TlsOptions {
    /// The rustls configuration: TLS 1.2 and 1.3 with the `ring` provider, chosen here so that nothing depends on
    /// a process-wide default provider. Without CAs in the options, the system's root certificates are trusted.
    ///
    /// # Errors
    ///
    /// [`TlsError::Config`] for a CA, certificate or key that does not parse, a key that does not match its
    /// certificate, or no system root certificates.
    pub fn client_config(&self) -> Result<Arc<ClientConfig>, Error> {
        let mut roots = RootCertStore::empty();
        if self.roots.is_empty() {
            let system = rustls_native_certs::load_native_certs();
            roots.add_parsable_certificates(system.certs);
            if roots.is_empty() {
                let errors: Vec<String> = system.errors.iter().map(ToString::to_string).collect();
                return Err(config(format!(
                    "no system root certificates found ({}); give the broker's CA with `ca_pem` or `ca_der`",
                    errors.join("; ")
                )));
            }
        }
        for ca in &self.roots {
            for cert in certificates(ca)? {
                roots
                    .add(cert)
                    .map_err(|e| config(format!("CA certificate: {e}")))?;
            }
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| config(e.to_string()))?
            .with_root_certificates(roots);
        let config = match &self.client_auth {
            None => builder.with_no_client_auth(),
            Some((chain, key)) => {
                let key = match key {
                    Encoded::Pem(pem) => PrivateKeyDer::from_pem_slice(pem)
                        .map_err(|e| config(format!("client key: {e}")))?,
                    Encoded::Der(der) => PrivateKeyDer::try_from(der.clone())
                        .map_err(|e| config(format!("client key: {e}")))?,
                };
                let certified = certified_key(&provider, certificates(chain)?, key)?;
                builder.with_client_cert_resolver(Arc::new(SingleCertAndKey::from(certified)))
            }
        };
        Ok(Arc::new(config))
    }
}

/// The name the broker's certificate must carry: the URL's host.
///
/// # Errors
///
/// [`TlsError::Config`] if `host` is neither a DNS name nor an IP address.
pub fn server_name(host: &str) -> Result<ServerName<'static>, Error> {
    ServerName::try_from(host.to_owned())
        .map_err(|_| config(format!("`{host}` is not a host name or IP address")))
}

/// Types a failure of rustls: a refused certificate, or another handshake failure.
pub fn handshake_error(error: &rustls::Error) -> Error {
    Error::Tls(match error {
        rustls::Error::InvalidCertificate(_) => TlsError::Certificate(error.to_string()),
        _ => TlsError::Handshake(error.to_string()),
    })
}

/// Types an I/O error of a TLS stream: async TLS crates report TLS failures as `io::Error`s around a
/// `rustls::Error`.
pub fn io_error(error: io::Error) -> Error {
    match error
        .get_ref()
        .and_then(|e| e.downcast_ref::<rustls::Error>())
    {
        Some(tls) => handshake_error(tls),
        None => Error::Io(Arc::new(error)),
    }
}

/// The client certificate chain with its key, checked to belong together.
///
/// rustls checks this through webpki, which reads X.509 v3 certificates only; mosquitto (OpenSSL) accepts v1 client
/// certificates (`openssl x509 -req` without extensions makes them), and rustls sends them as they are. For a
/// certificate webpki cannot read, the key is matched against the certificate's SubjectPublicKeyInfo read here.
fn certified_key(
    provider: &CryptoProvider,
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<CertifiedKey, Error> {
    let signing_key = provider
        .key_provider
        .load_private_key(key)
        .map_err(|e| config(format!("client key: {e}")))?;
    let certified = CertifiedKey::new(chain, signing_key);
    let mismatch =
        || config("client certificate: the private key does not match the certificate".to_owned());
    match certified.keys_match() {
        Ok(()) | Err(rustls::Error::InconsistentKeys(InconsistentKeys::Unknown)) => Ok(certified),
        Err(rustls::Error::InconsistentKeys(InconsistentKeys::KeyMismatch)) => Err(mismatch()),
        Err(error) => {
            let cert = certified
                .end_entity_cert()
                .map_err(|e| config(e.to_string()))?;
            match (subject_public_key_info(cert), certified.key.public_key()) {
                (Some(spki), Some(key)) if spki == key.as_ref() => Ok(certified),
                (Some(_), Some(_)) => Err(mismatch()),
                _ => Err(config(format!(
                    "client certificate cannot be read: {error}. If it is an X.509 v1 certificate, make it \
                     again as v3 (`openssl x509 -req ... -extfile` with `basicConstraints=CA:FALSE`)"
                ))),
            }
        }
    }
}

/// A DER element: its tag, the whole element, its contents, and what follows it.
struct Der<'a> {
    tag: u8,
    whole: &'a [u8],
    contents: &'a [u8],
    rest: &'a [u8],
}

/// The DER element at the front of `der`.
fn der_element(der: &[u8]) -> Option<Der<'_>> {
    let tag = *der.first()?;
    let first = *der.get(1)?;
    let (len, header) = match first {
        0..=0x7f => (usize::from(first), 2),
        0x81..=0x84 => {
            let n = usize::from(first & 0x7f);
            let len = der
                .get(2..2 + n)?
                .iter()
                .fold(0usize, |len, &b| len << 8 | usize::from(b));
            (len, 2 + n)
        }
        _ => return None,
    };
    let end = header.checked_add(len)?;
    let whole = der.get(..end)?;
    Some(Der {
        tag,
        whole,
        contents: whole.get(header..)?,
        rest: der.get(end..)?,
    })
}

/// The SubjectPublicKeyInfo (the whole DER element) of an X.509 certificate of any version. `[RFC 5280 4.1]`
fn subject_public_key_info(cert: &[u8]) -> Option<&[u8]> {
    const SEQUENCE: u8 = 0x30;
    const INTEGER: u8 = 0x02;
    const VERSION: u8 = 0xa0;
    let certificate = der_element(cert).filter(|d| d.tag == SEQUENCE)?;
    let tbs = der_element(certificate.contents).filter(|d| d.tag == SEQUENCE)?;
    let mut fields = tbs.contents;
    // The version is absent in v1 certificates.
    if fields.first() == Some(&VERSION) {
        fields = der_element(fields)?.rest;
    }
    // serialNumber, signature, issuer, validity, subject
    for expected in [INTEGER, SEQUENCE, SEQUENCE, SEQUENCE, SEQUENCE] {
        fields = der_element(fields).filter(|d| d.tag == expected)?.rest;
    }
    der_element(fields)
        .filter(|d| d.tag == SEQUENCE)
        .map(|spki| spki.whole)
}

/// The certificates of `encoded`: one DER certificate, or every certificate of a PEM text (at least one).
fn certificates(encoded: &Encoded) -> Result<Vec<CertificateDer<'static>>, Error> {
    match encoded {
        Encoded::Der(der) => Ok(vec![CertificateDer::from(der.clone())]),
        Encoded::Pem(pem) => {
            let certs = CertificateDer::pem_slice_iter(pem)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| config(format!("PEM certificate: {e}")))?;
            if certs.is_empty() {
                return Err(config("no CERTIFICATE section in the PEM text".to_owned()));
            }
            Ok(certs)
        }
    }
}

fn config(message: String) -> Error {
    Error::Tls(TlsError::Config(message))
}

/// Where and how to reach one broker, from its URL and the options: what every binding's connector needs before it
/// opens a socket.
#[derive(Clone)]
pub struct Endpoint {
    /// Host name or IP address.
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// The transport the URL's scheme chose.
    pub transport: Transport,
    /// With TLS: the configuration and the name the broker's certificate must carry (the URL's host).
    pub tls: Option<(Arc<ClientConfig>, ServerName<'static>)>,
    /// With WebSocket: the URL of the handshake request (`ws://` or `wss://`, host, port and path).
    pub websocket: Option<String>,
}

impl Endpoint {
    /// The endpoint of `url`, with the TLS settings of `options`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidUrl`] if the URL cannot be parsed; [`Error::Tls`] with [`TlsError::Config`] if the TLS
    /// options cannot be used (only for `mqtts://` and `wss://` URLs).
    pub fn new(url: &str, options: &Options) -> Result<Self, Error> {
        let parsed = BrokerUrl::parse(url).map_err(Error::InvalidUrl)?;
        let tls = match parsed.transport.is_tls() {
            true => Some((options.tls().client_config()?, server_name(parsed.host)?)),
            false => None,
        };
        let websocket = parsed.transport.is_websocket().then(|| {
            let scheme = if tls.is_some() { "wss" } else { "ws" };
            let host = match parsed.host.contains(':') {
                true => format!("[{}]", parsed.host),
                false => parsed.host.to_owned(),
            };
            format!("{scheme}://{host}:{}{}", parsed.port, parsed.path)
        });
        Ok(Self {
            host: parsed.host.to_owned(),
            port: parsed.port,
            transport: parsed.transport,
            tls,
            websocket,
        })
    }
}

impl core::fmt::Debug for Endpoint {
    /// Shows where, not the TLS configuration.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Endpoint")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("transport", &self.transport)
            .field("websocket", &self.websocket)
            .finish_non_exhaustive()
    }
}
