//! A TLS front for the in-process broker, so that the TLS example runs with nothing installed: it accepts TLS
//! connections on a free loopback port and pipes each one, decrypted, to the broker's plain TCP port.
//!
//! At start it generates a certificate authority and a server certificate it signs for `localhost` and
//! `127.0.0.1` (rcgen, ECDSA P-256). A client connects to [`url`](TlsFront::url) (`mqtts://localhost:PORT`) and
//! trusts the CA in [`ca_pem`](TlsFront::ca_pem), as it would trust a real broker's CA:
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use examples::{broker::InProcessBroker, tls_front::TlsFront};
//!
//! let broker = InProcessBroker::start()?;
//! let front = TlsFront::start(broker.address()).await?;
//! let options = mqtt_tokio::Options::new(&front.url())?.ca_pem(front.ca_pem());
//! let client = mqtt_tokio::connect(options).await?;
//! # Ok(())
//! # }
//! ```
//!
//! It runs on the tokio runtime that starts it (tokio-rustls, rustls with the ring provider) and stops, with every
//! connection it accepted, when dropped.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use rustls::ServerConfig;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{AbortHandle, JoinSet};
use tokio_rustls::TlsAcceptor;

/// TLS on a loopback port in front of a plain TCP port: see the [module](self).
#[derive(Debug)]
pub struct TlsFront {
    address: SocketAddr,
    ca_pem: String,
    /// The accept loop; aborting it drops the connections it runs.
    accept: AbortHandle,
}

impl TlsFront {
    /// Generates the certificates, listens on a free `127.0.0.1` port and pipes every TLS connection it accepts to
    /// `backend`. Must be called within a tokio runtime (it spawns the accept loop there).
    ///
    /// # Errors
    ///
    /// Certificates that cannot be made or used, or no free port.
    pub async fn start(backend: SocketAddr) -> io::Result<Self> {
        let (ca_pem, chain, key) = certificates().map_err(io::Error::other)?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .and_then(|builder| builder.with_no_client_auth().with_single_cert(chain, key))
            .map_err(io::Error::other)?;
        let acceptor = TlsAcceptor::from(Arc::new(config));
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?;
        let accept = tokio::spawn(async move {
            // The connections belong to the set: they end when the accept loop is aborted and the set dropped.
            let mut connections = JoinSet::new();
            while let Ok((client, _)) = listener.accept().await {
                connections.spawn(pipe(acceptor.clone(), client, backend));
                // Forget the connections that ended.
                while connections.try_join_next().is_some() {}
            }
        });
        Ok(Self {
            address,
            ca_pem,
            accept: accept.abort_handle(),
        })
    }

    /// The URL to connect to: `mqtts://localhost:PORT` (the name the certificate was issued for).
    pub fn url(&self) -> String {
        format!("mqtts://localhost:{}", self.address.port())
    }

    /// The generated CA certificate (PEM) that signed the server certificate: what the clients must trust.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }
}

impl Drop for TlsFront {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

/// One connection: the TLS handshake, then bytes both ways between the client and the broker until either closes.
/// A failed handshake (a client that does not trust the CA, for example) just closes the connection.
async fn pipe(acceptor: TlsAcceptor, client: TcpStream, backend: SocketAddr) {
    let Ok(mut client) = acceptor.accept(client).await else {
        return;
    };
    let Ok(mut broker) = TcpStream::connect(backend).await else {
        return;
    };
    let _ = broker.set_nodelay(true);
    let _ = tokio::io::copy_bidirectional(&mut client, &mut broker).await;
}

/// A fresh CA (PEM) and the server certificate chain and key it signed for `localhost` and `127.0.0.1`.
fn certificates()
-> Result<(String, Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), rcgen::Error> {
    let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "examples TLS front CA");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate()?)?;

    let mut params = CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])?;
    params
        .distinguished_name
        .push(DnType::CommonName, "localhost");
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.use_authority_key_identifier_extension = true;
    let key = KeyPair::generate()?;
    let cert = params.signed_by(&key, &ca)?;
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    Ok((ca.pem(), vec![cert.der().clone()], key))
}

/// A broker URL from `MQTT_BROKER` and the CA's PEM from `MQTT_CA`, if given.
pub type EnvBroker = (String, Option<Vec<u8>>);

/// A TLS broker chosen through the environment: `MQTT_BROKER` (which must be `mqtts://`, `ssl://` or `wss://`) and,
/// if set, the CA in the PEM file `MQTT_CA`. `None` when `MQTT_BROKER` is not set. Prints what it chose.
///
/// # Errors
///
/// A message for a non-TLS URL or an unreadable CA file.
pub fn broker_from_env() -> Result<Option<EnvBroker>, String> {
    let Ok(url) = std::env::var("MQTT_BROKER") else {
        return Ok(None);
    };
    if !["mqtts://", "ssl://", "wss://"]
        .iter()
        .any(|scheme| url.starts_with(scheme))
    {
        return Err(format!(
            "MQTT_BROKER is {url}: this example wants a TLS URL (mqtts://HOST:PORT)"
        ));
    }
    println!("broker: {url} (from MQTT_BROKER)");
    let ca = match std::env::var_os("MQTT_CA") {
        Some(path) => {
            let pem = std::fs::read(&path)
                .map_err(|e| format!("cannot read MQTT_CA {}: {e}", path.display()))?;
            println!("the client trusts the CA in {} (MQTT_CA)", path.display());
            Some(pem)
        }
        None => {
            println!(
                "the client trusts the system's root certificates (set MQTT_CA=FILE.pem for another CA)"
            );
            None
        }
    };
    Ok(Some((url, ca)))
}
