//! Opening connections (TCP with TCP_NODELAY, TLS, WebSocket, WebSocket over TLS) with blocking calls bounded by
//! the connect timeout, on a short-lived thread; then non-blocking reads and writes for the event loop's `poll(2)`.

use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use bytes::Bytes;
use proto::client::tls::{Endpoint, handshake_error};
use rustls::ClientConnection;
use tungstenite::client::IntoClientRequest as _;
use tungstenite::http::{HeaderValue, Uri, header};
use tungstenite::protocol::WebSocketConfig;
use tungstenite::{Error as WsError, HandshakeError, Message, WebSocket};

use crate::{Error, Options};

/// Where and how to connect to one broker.
#[derive(Debug, Clone)]
pub struct Connector {
    endpoint: Endpoint,
    websocket: Option<Uri>,
}

impl Connector {
    /// A connector for `url` with the TLS settings of `options`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidUrl`] if the URL cannot be parsed; [`Error::Tls`] if the TLS options cannot be used (only for
    /// `mqtts://` and `wss://`); [`Error::WebSocket`] if the URL cannot make a WebSocket request.
    pub fn new(url: &str, options: &Options) -> Result<Self, Error> {
        let endpoint = Endpoint::new(url, options)?;
        let websocket = endpoint
            .websocket
            .as_deref()
            .map(|uri| {
                uri.parse::<Uri>()
                    .map_err(|e| Error::WebSocket(format!("cannot make a request for {uri}: {e}")))
            })
            .transpose()?;
        Ok(Self {
            endpoint,
            websocket,
        })
    }

    /// Opens a connection: blocks for at most `timeout` (name resolution aside), then returns it non-blocking.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when the broker cannot be reached, [`Error::Tls`] or [`Error::WebSocket`] when a handshake
    /// fails, [`Error::Timeout`] when the time is up.
    pub fn open(&self, timeout: Duration) -> Result<Stream, Error> {
        let deadline = crate::client::deadline_after(timeout);
        // Without a deadline (a timeout no `Instant` can hold), every step may take what it needs.
        let remaining = || match deadline {
            None => Ok(timeout),
            Some(deadline) => deadline
                .checked_duration_since(Instant::now())
                .filter(|d| !d.is_zero())
                .ok_or(Error::Timeout),
        };
        let mut last = None;
        let mut tcp = None;
        let Endpoint {
            host, port, tls, ..
        } = &self.endpoint;
        for address in (host.as_str(), *port).to_socket_addrs()? {
            match TcpStream::connect_timeout(&address, remaining()?) {
                Ok(stream) => {
                    tcp = Some(stream);
                    break;
                }
                Err(e) => last = Some(e),
            }
        }
        let tcp = match (tcp, last) {
            (Some(tcp), _) => tcp,
            (None, Some(e)) => return Err(e.into()),
            (None, None) => return Err(io::Error::from(io::ErrorKind::NotFound).into()),
        };
        tcp.set_nodelay(true)?;
        // Handshakes block, but never past the deadline.
        tcp.set_read_timeout(Some(remaining()?))?;
        tcp.set_write_timeout(Some(remaining()?))?;
        let socket = match tls {
            None => Socket::Tcp(tcp),
            Some((config, name)) => {
                let conn = ClientConnection::new(config.clone(), name.clone())
                    .map_err(|e| handshake_error(&e))?;
                let mut tls = Tls { conn, tcp };
                while tls.conn.is_handshaking() {
                    tls.conn
                        .complete_io(&mut tls.tcp)
                        .map_err(|e| handshake_failure(e, deadline))?;
                }
                Socket::Tls(Box::new(tls))
            }
        };
        let stream = match &self.websocket {
            None => Stream(Plain(socket)),
            Some(uri) => websocket(uri, socket, deadline)?,
        };
        let tcp = stream.tcp();
        tcp.set_read_timeout(None)?;
        tcp.set_write_timeout(None)?;
        tcp.set_nonblocking(true)?;
        Ok(stream)
    }
}

/// A TLS failure during the handshake, typed; a read that timed out is the deadline.
fn handshake_failure(error: io::Error, deadline: Option<Instant>) -> Error {
    match error.kind() {
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
            if deadline.is_some_and(|deadline| Instant::now() >= deadline) =>
        {
            Error::Timeout
        }
        _ => proto::client::tls::io_error(error),
    }
}

/// The WebSocket handshake over `socket`, asking for the `mqtt` subprotocol (tungstenite checks the answer).
fn websocket(uri: &Uri, socket: Socket, deadline: Option<Instant>) -> Result<Stream, Error> {
    let mut request = uri
        .into_client_request()
        .map_err(|e| Error::WebSocket(e.to_string()))?;
    request.headers_mut().insert(
        header::SEC_WEBSOCKET_PROTOCOL,
        HeaderValue::from_static("mqtt"),
    );
    // Frames go out as they are written; a bounded write buffer pushes back instead of growing.
    let config = WebSocketConfig::default()
        .write_buffer_size(0)
        .max_write_buffer_size(1 << 20);
    match tungstenite::client::client_with_config(request, socket, Some(config)) {
        Ok((ws, _)) => Ok(Stream(Ws(Box::new(ws), Bytes::new()))),
        Err(HandshakeError::Failure(WsError::Io(e))) => Err(handshake_failure(e, deadline)),
        Err(HandshakeError::Failure(WsError::Http(response))) => Err(Error::WebSocket(format!(
            "the server answered {} instead of switching to WebSocket",
            response.status()
        ))),
        Err(HandshakeError::Failure(e)) => Err(Error::WebSocket(e.to_string())),
        Err(HandshakeError::Interrupted(_)) => Err(Error::Timeout),
    }
}

/// TLS over a TCP stream: rustls's records in, plaintext out.
struct Tls {
    conn: ClientConnection,
    tcp: TcpStream,
}

impl Read for Tls {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            match self.conn.reader().read(buf) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                other => return other,
            }
            // No plaintext yet: take records from the socket (WouldBlock ends the read), then decrypt them.
            if self.conn.read_tls(&mut self.tcp)? == 0 {
                return Ok(0);
            }
            self.conn
                .process_new_packets()
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        }
    }
}

impl Write for Tls {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        // Push out earlier records first: while they wait, nothing new is taken.
        self.flush()?;
        let n = self.conn.writer().write(buf)?;
        match self.flush() {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(n),
            other => other.map(|()| n),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        while self.conn.wants_write() {
            self.conn.write_tls(&mut self.tcp)?;
        }
        self.tcp.flush()
    }
}

/// TCP or TLS underneath.
enum Socket {
    Tcp(TcpStream),
    Tls(Box<Tls>),
}

impl Socket {
    fn tcp(&self) -> &TcpStream {
        match self {
            Self::Tcp(tcp) => tcp,
            Self::Tls(tls) => &tls.tcp,
        }
    }
}

impl Read for Socket {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Self::Tcp(tcp) => tcp.read(buf),
            Self::Tls(tls) => tls.read(buf),
        }
    }
}

impl Write for Socket {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Self::Tcp(tcp) => tcp.write(buf),
            Self::Tls(tls) => tls.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Self::Tcp(tcp) => tcp.flush(),
            Self::Tls(tls) => tls.flush(),
        }
    }
}

/// An open connection to the broker, non-blocking: reads and writes fail with `WouldBlock` when they must wait.
/// A write that returns `Ok` has taken its bytes; [`Write::flush`] pushes out what TLS or WebSocket still hold.
pub struct Stream(StreamKind);

enum StreamKind {
    Plain(Socket),
    /// Binary frames; the bytes left of the last frame received.
    WebSocket(Box<WebSocket<Socket>>, Bytes),
}

use StreamKind::{Plain, WebSocket as Ws};

impl Stream {
    /// Whether reads and writes go straight to the TCP socket: then a short read or write says the socket is empty
    /// or full. TLS and WebSocket may serve reads from bytes already taken from the socket (records, frames), which
    /// its readiness does not show: only a read that would block says that nothing is left.
    pub(crate) fn is_plain_tcp(&self) -> bool {
        matches!(self.0, Plain(Socket::Tcp(_)))
    }

    /// Asks the socket to report readable only once `bytes` have arrived (the session's
    /// [`read_low_water`](proto::session::Session::read_low_water)): plain TCP on Linux and Android. Elsewhere, and
    /// through TLS or WebSocket, nothing (a hint).
    /// Returns whether it was applied.
    pub(crate) fn set_read_low_water(&self, bytes: usize) -> bool {
        self.is_plain_tcp() && set_read_low_water(self.tcp(), bytes)
    }

    /// The TCP stream underneath, for the event loop to poll.
    pub(crate) fn tcp(&self) -> &TcpStream {
        match &self.0 {
            Plain(socket) => socket.tcp(),
            Ws(ws, _) => ws.get_ref().tcp(),
        }
    }
}

impl std::fmt::Debug for Stream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stream").finish_non_exhaustive()
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let (ws, received) = match &mut self.0 {
            Plain(socket) => return socket.read(buf),
            Ws(ws, received) => (ws, received),
        };
        while received.is_empty() {
            match ws.read() {
                Ok(Message::Binary(data)) => *received = data,
                Ok(Message::Text(_)) => {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        "the broker sent a text frame: MQTT travels in binary frames",
                    ));
                }
                Ok(Message::Close(_)) | Err(WsError::ConnectionClosed | WsError::AlreadyClosed) => {
                    return Ok(0);
                }
                // tungstenite queued the answer to a ping: the loop's next flush sends it.
                Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_)) => {}
                Err(e) => return Err(ws_io_error(e)),
            }
        }
        let n = received.len().min(buf.len());
        let part = received.split_to(n);
        // `n` fits both: the copy cannot fail.
        if let Some(to) = buf.get_mut(..n) {
            to.copy_from_slice(&part);
        }
        Ok(n)
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let ws = match &mut self.0 {
            Plain(socket) => return socket.write(buf),
            Ws(ws, _) => ws,
        };
        match ws.write(Message::Binary(Bytes::copy_from_slice(buf))) {
            // The frame is queued either way; a full buffer takes nothing.
            Ok(()) => {}
            Err(WsError::Io(e)) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(WsError::WriteBufferFull(_)) => return Err(io::ErrorKind::WouldBlock.into()),
            Err(e) => return Err(ws_io_error(e)),
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        match &mut self.0 {
            Plain(socket) => socket.flush(),
            Ws(ws, _) => ws.flush().map_err(ws_io_error),
        }
    }
}

fn ws_io_error(error: WsError) -> io::Error {
    match error {
        WsError::Io(e) => e,
        WsError::ConnectionClosed | WsError::AlreadyClosed => io::ErrorKind::BrokenPipe.into(),
        e => io::Error::new(io::ErrorKind::InvalidData, e),
    }
}

/// Sets `socket`'s receive low-water mark (`SO_RCVLOWAT`): readiness is reported once `bytes` have arrived, or at
/// the connection's end or an error, whatever the mark. Neither std nor the crates this one uses set it, hence the
/// one `unsafe` call of this crate. Returns whether the mark was set; a failure leaves it as it was, which is always
/// correct (only wake-ups are saved).
#[cfg(any(target_os = "linux", target_os = "android"))]
#[allow(unsafe_code)]
fn set_read_low_water(socket: &impl std::os::fd::AsFd, bytes: usize) -> bool {
    use std::os::fd::AsRawFd as _;
    let value = libc::c_int::try_from(bytes.max(1)).unwrap_or(libc::c_int::MAX);
    let len = libc::socklen_t::try_from(size_of::<libc::c_int>()).unwrap_or(4);
    // SAFETY: the descriptor is an open socket, borrowed for the call; `value` is a live `c_int` and `len` its size,
    // as SO_RCVLOWAT takes; the kernel only reads it.
    let set = unsafe {
        libc::setsockopt(
            socket.as_fd().as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVLOWAT,
            (&raw const value).cast(),
            len,
        )
    };
    set == 0
}

/// Elsewhere the mark stays at one byte.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn set_read_low_water<T>(_: &T, _: usize) -> bool {
    false
}
