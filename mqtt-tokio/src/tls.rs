//! The TLS handshake with tokio-rustls, over the configuration the core makes from the options.

use std::sync::Arc;

use rustls::ClientConfig;
use rustls::pki_types::ServerName;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use crate::Error;

/// Runs the handshake over `tcp`; failures are typed ([`TlsError`](crate::TlsError)).
pub(crate) async fn handshake(
    config: &Arc<ClientConfig>,
    name: &ServerName<'static>,
    tcp: TcpStream,
) -> Result<TlsStream<TcpStream>, Error> {
    TlsConnector::from(config.clone())
        .connect(name.clone(), tcp)
        .await
        .map_err(proto::client::tls::io_error)
}
