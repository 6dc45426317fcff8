//! The TLS part of the [`Options`]: trusted CAs and the client certificate for mutual TLS. Verification is
//! always on; keys never appear in `Debug`.

use core::fmt;
use std::vec::Vec;

use super::Options;

impl Options {
    /// For `mqtts://` and `wss://`: trusts the CA certificates of this PEM text (one or more) instead of the
    /// system's root certificates. Calls add up: `ca_pem` and [`ca_der`](Self::ca_der) several times trust every
    /// CA given. The text is checked when the client is made ([`Error::Tls`](crate::client::Error::Tls) with
    /// [`TlsError::Config`](crate::client::TlsError::Config)).
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
