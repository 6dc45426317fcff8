//! Opening connections: TCP with TCP_NODELAY (TLS and WebSocket follow the same shape).

use embedded_io_adapters::futures_03::FromFutures;
use proto::io::Connect;
use proto::url::{BrokerUrl, Transport};
use smol::net::TcpStream;

use crate::{Error, Options};

/// Opens connections to one broker URL.
#[derive(Debug)]
pub struct Connector {
    host: String,
    port: u16,
}

impl Connector {
    pub(crate) fn new(url: &str, _options: &Options) -> Result<Self, Error> {
        let parsed = BrokerUrl::parse(url).map_err(Error::InvalidUrl)?;
        if parsed.transport != Transport::Tcp {
            return Err(Error::Unsupported(
                "TLS and WebSocket transports are not implemented yet in mqtt-smol; use mqtt:// or tcp://",
            ));
        }
        Ok(Self {
            host: parsed.host.to_owned(),
            port: parsed.port,
        })
    }
}

/// A connection to the broker, as the core driver reads and writes it.
pub type Stream = FromFutures<TcpStream>;

impl Connect for Connector {
    type Io = Stream;
    type Error = std::io::Error;

    async fn connect(&mut self) -> Result<Stream, std::io::Error> {
        let stream = TcpStream::connect((self.host.as_str(), self.port)).await?;
        stream.set_nodelay(true)?;
        Ok(FromFutures::new(stream))
    }
}
