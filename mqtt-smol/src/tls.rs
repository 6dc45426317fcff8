//! TLS with rustls: the client configuration made from the options (trusted roots, client certificate) and the
//! handshake, with its failures typed.

use std::fmt;
use std::io;
use std::sync::Arc;

use futures_rustls::TlsConnector;
use futures_rustls::client::TlsStream;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{ClientConfig, RootCertStore};
use smol::net::TcpStream;

use crate::Error;

/// Why TLS failed, in [`Error::Tls`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// The TLS options cannot be used: a CA, certificate or key that does not parse, a key that does not match its
    /// certificate, a host name no certificate can carry, or no system root certificates.
    #[error("invalid TLS configuration: {0}")]
    Config(String),
    /// The broker's certificate was refused: not signed by a trusted CA, not issued for the host name of the URL,
    /// expired...
    #[error("the broker's certificate was refused: {0}")]
    Certificate(String),
    /// The handshake failed otherwise: the broker refused the client certificate (or its absence), no protocol
    /// version or cipher suite in common...
    #[error("TLS handshake failed: {0}")]
    Handshake(String),
}

/// A certificate or key as the application gave it.
#[derive(Clone)]
pub(crate) enum Encoded {
    Pem(Vec<u8>),
    Der(Vec<u8>),
}

/// The TLS part of the [`Options`](crate::Options): verification is always on.
#[derive(Clone, Default)]
pub(crate) struct TlsOptions {
    /// Trusted CAs; when empty, the system's root certificates.
    pub(crate) roots: Vec<Encoded>,
    /// Certificate chain and private key for mutual TLS.
    pub(crate) client_auth: Option<(Encoded, Encoded)>,
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

impl TlsOptions {
    /// The rustls configuration: TLS 1.2 and 1.3 with the `ring` provider, chosen here so that nothing depends on
    /// a process-wide default provider.
    pub(crate) fn client_config(&self) -> Result<Arc<ClientConfig>, Error> {
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
        let builder = ClientConfig::builder_with_provider(provider)
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
                builder
                    .with_client_auth_cert(certificates(chain)?, key)
                    .map_err(|e| config(format!("client certificate: {e}")))?
            }
        };
        Ok(Arc::new(config))
    }
}

/// The name the broker's certificate must carry: the URL's host.
pub(crate) fn server_name(host: &str) -> Result<ServerName<'static>, Error> {
    ServerName::try_from(host.to_owned())
        .map_err(|_| config(format!("`{host}` is not a host name or IP address")))
}

/// Runs the handshake over `tcp`.
pub(crate) async fn handshake(
    config: &Arc<ClientConfig>,
    name: &ServerName<'static>,
    tcp: TcpStream,
) -> Result<TlsStream<TcpStream>, Error> {
    TlsConnector::from(config.clone())
        .connect(name.clone(), tcp)
        .await
        .map_err(handshake_error)
}

/// futures-rustls reports TLS failures as `io::Error`s around a `rustls::Error`: typed again here.
fn handshake_error(error: io::Error) -> Error {
    let tls = match error
        .get_ref()
        .and_then(|e| e.downcast_ref::<rustls::Error>())
    {
        Some(e @ rustls::Error::InvalidCertificate(_)) => TlsError::Certificate(e.to_string()),
        Some(e) => TlsError::Handshake(e.to_string()),
        None => return Error::Io(Arc::new(error)),
    };
    Error::Tls(tls)
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
