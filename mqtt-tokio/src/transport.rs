//! Opening connections: TCP (with TCP_NODELAY), TLS, WebSocket and WebSocket over TLS, each as one [`Stream`].

use std::future::poll_fn;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use futures::{SinkExt as _, StreamExt as _};
use proto::io::Connect;
use proto::url::Transport;
use tokio::io::{AsyncRead, AsyncWrite, Interest, ReadBuf};
use tokio::net::TcpStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::http::{HeaderValue, Uri, header};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

use crate::{Error, Options, tls};
use proto::client::tls::Endpoint;

/// Opens connections to one broker URL.
#[derive(Debug)]
pub struct Connector {
    endpoint: Endpoint,
    /// With WebSocket: the URL of the handshake request.
    websocket: Option<Uri>,
}

impl Connector {
    /// A connector for `url` with the TLS settings of `options`. The event loop makes one per broker; this is
    /// public for those who drive the core's [`Driver`](proto::driver::Driver) themselves.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidUrl`] if the URL cannot be parsed; [`Error::Tls`] with
    /// [`TlsError::Config`](crate::TlsError::Config) if the TLS options cannot be used (only for `mqtts://` and
    /// `wss://` URLs); [`Error::WebSocket`] if the URL cannot make a WebSocket request.
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
}

impl Connect for Connector {
    type Io = Stream;
    type Error = Error;

    /// Boxed: the handshakes' state (TLS, WebSocket) is large, and an idle connection should not carry it in its
    /// task once the attempt is over.
    fn connect(&mut self) -> impl Future<Output = Result<Stream, Error>> {
        Box::pin(self.open())
    }

    /// Plain TCP on Linux and Android: the socket's `SO_RCVLOWAT`. Elsewhere, and through TLS or WebSocket,
    /// nothing (a hint).
    fn set_read_low_water(&mut self, io: &mut Stream, bytes: usize) -> bool {
        match &io.io {
            Io::Tcp(tcp) => set_read_low_water(tcp, bytes),
            Io::Layered(_) => false,
        }
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

impl Connector {
    async fn open(&mut self) -> Result<Stream, Error> {
        let io_error = |e| Error::Io(Arc::new(e));
        let Endpoint {
            host,
            port,
            transport,
            tls,
            ..
        } = &self.endpoint;
        let tcp = TcpStream::connect((host.as_str(), *port))
            .await
            .map_err(io_error)?;
        tcp.set_nodelay(true).map_err(io_error)?;
        let transport = *transport;
        match (tls, &self.websocket) {
            (None, None) => Ok(Stream::tcp(transport, tcp)),
            (None, Some(uri)) => websocket(transport, uri, tcp).await,
            (Some((config, name)), websocket_uri) => {
                let tls = tls::handshake(config, name, tcp).await?;
                match websocket_uri {
                    None => Ok(Stream::new(transport, tls)),
                    Some(uri) => websocket(transport, uri, tls).await,
                }
            }
        }
    }
}

/// A connection to the broker (TCP, TLS, WebSocket or WebSocket over TLS), as the core driver reads and writes it.
///
/// Reads and writes are cancel-safe: a dropped `read` has taken no bytes, a dropped `write` has sent none. Every
/// `read` first pushes out what earlier writes left buffered (TLS records, WebSocket frames), so a `flush` dropped
/// by the driver cannot leave bytes behind while it waits for the broker.
pub struct Stream {
    transport: Transport,
    io: Io,
}

/// What every transport is underneath.
trait Duplex: AsyncRead + AsyncWrite + Send + Unpin {}

impl<T: AsyncRead + AsyncWrite + Send + Unpin> Duplex for T {}

/// Plain TCP is read by hand (see [`read_tcp`]); the layered transports through their own reads.
enum Io {
    Tcp(TcpStream),
    Layered(Box<dyn Duplex>),
}

impl Stream {
    fn new(transport: Transport, io: impl Duplex + 'static) -> Self {
        Self {
            transport,
            io: Io::Layered(Box::new(io)),
        }
    }

    fn tcp(transport: Transport, tcp: TcpStream) -> Self {
        Self {
            transport,
            io: Io::Tcp(tcp),
        }
    }

    fn duplex(&mut self) -> Pin<&mut (dyn Duplex + '_)> {
        match &mut self.io {
            Io::Tcp(tcp) => Pin::new(tcp),
            Io::Layered(io) => Pin::new(&mut **io),
        }
    }
}

/// One read of a plain TCP connection. A read that returns less than `buf` holds took everything the socket had,
/// so the readiness it was given is spent: it is forgotten at once, and the next read waits for the next arrival
/// instead of asking the kernel once more only to hear "would block" (one system call less per wake-up). The
/// readiness forgotten is the one seen before the read: anything that arrives during or after it is a newer
/// readiness and stays.
fn read_tcp(tcp: &TcpStream, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
    let len = buf.len();
    loop {
        ready!(tcp.poll_read_ready(cx))?;
        let mut read = None;
        let outcome = tcp.try_io(Interest::READABLE, || {
            let n = tcp.try_read(buf)?;
            read = Some(n);
            if n > 0 && n < len {
                Err(io::ErrorKind::WouldBlock.into())
            } else {
                Ok(())
            }
        });
        match (read, outcome) {
            (Some(n), _) => return Poll::Ready(Ok(n)),
            (None, Err(e)) if e.kind() == io::ErrorKind::WouldBlock => {}
            (None, Err(e)) => return Poll::Ready(Err(e)),
            (None, Ok(())) => return Poll::Ready(Ok(0)),
        }
    }
}

impl std::fmt::Debug for Stream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stream")
            .field("transport", &self.transport)
            .finish_non_exhaustive()
    }
}

impl embedded_io_async::ErrorType for Stream {
    type Error = io::Error;
}

impl embedded_io_async::Read for Stream {
    async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        match &mut self.io {
            Io::Tcp(tcp) => poll_fn(|cx| read_tcp(tcp, cx, buf)).await,
            Io::Layered(io) => {
                let io = &mut **io;
                poll_fn(|cx| {
                    // Flush errors show on the next write; the read reports the connection's end its own way.
                    let _ = Pin::new(&mut *io).poll_flush(cx);
                    let mut buf = ReadBuf::new(buf);
                    ready!(Pin::new(&mut *io).poll_read(cx, &mut buf))?;
                    Poll::Ready(Ok(buf.filled().len()))
                })
                .await
            }
        }
    }
}

impl embedded_io_async::Write for Stream {
    async fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        poll_fn(|cx| self.duplex().poll_write(cx, buf)).await
    }

    async fn flush(&mut self) -> io::Result<()> {
        poll_fn(|cx| self.duplex().poll_flush(cx)).await
    }
}

/// The WebSocket handshake over `stream`, asking for the `mqtt` subprotocol (tungstenite checks the answer).
async fn websocket<S: AsyncRead + AsyncWrite + Send + Unpin + 'static>(
    transport: Transport,
    uri: &Uri,
    stream: S,
) -> Result<Stream, Error> {
    let mut request = uri.into_client_request().map_err(websocket_error)?;
    request.headers_mut().insert(
        header::SEC_WEBSOCKET_PROTOCOL,
        HeaderValue::from_static("mqtt"),
    );
    // Each message goes to the stream as it is sent instead of waiting for 128 KiB more.
    let config = WebSocketConfig::default().write_buffer_size(0);
    let (ws, _) = tokio_tungstenite::client_async_with_config(request, stream, Some(config))
        .await
        .map_err(websocket_error)?;
    Ok(Stream::new(transport, WebSocket::new(ws)))
}

fn websocket_error(error: WsError) -> Error {
    match error {
        WsError::Io(e) => Error::Io(Arc::new(e)),
        WsError::Http(response) => Error::WebSocket(format!(
            "the server answered {} instead of switching to WebSocket",
            response.status()
        )),
        e => Error::WebSocket(e.to_string()),
    }
}

/// MQTT over WebSocket as a byte stream: each write is one binary frame; received binary frames are read in
/// pieces; Close is the end of the stream. tungstenite answers pings as it reads and flushes.
struct WebSocket<S> {
    ws: WebSocketStream<S>,
    /// What is left of the last frame received.
    received: Bytes,
}

impl<S> WebSocket<S> {
    fn new(ws: WebSocketStream<S>) -> Self {
        Self {
            ws,
            received: Bytes::new(),
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for WebSocket<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        while self.received.is_empty() {
            match ready!(self.ws.poll_next_unpin(cx)) {
                Some(Ok(Message::Binary(data))) => self.received = data,
                Some(Ok(Message::Text(_))) => {
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        "the broker sent a text frame: MQTT travels in binary frames",
                    )));
                }
                Some(
                    Ok(Message::Close(_)) | Err(WsError::ConnectionClosed | WsError::AlreadyClosed),
                )
                | None => {
                    return Poll::Ready(Ok(()));
                }
                Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => {}
                Some(Err(e)) => return Poll::Ready(Err(io_error(e))),
            }
        }
        let n = self.received.len().min(buf.remaining());
        let part = self.received.split_to(n);
        buf.put_slice(&part);
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for WebSocket<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        // Nothing is taken before the sink is ready: a write dropped while pending has sent nothing.
        ready!(self.ws.poll_ready_unpin(cx)).map_err(io_error)?;
        let frame = Message::Binary(Bytes::copy_from_slice(buf));
        self.ws.start_send_unpin(frame).map_err(io_error)?;
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.ws.poll_flush_unpin(cx).map_err(io_error)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.ws.poll_close_unpin(cx).map_err(io_error)
    }
}

fn io_error(error: WsError) -> io::Error {
    match error {
        WsError::Io(e) => e,
        WsError::ConnectionClosed | WsError::AlreadyClosed => io::ErrorKind::BrokenPipe.into(),
        e => io::Error::new(io::ErrorKind::InvalidData, e),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;

    use embedded_io_async::{Read as _, Write as _};
    use futures::FutureExt as _;
    use tokio::io::DuplexStream;
    use tokio_tungstenite::tungstenite::protocol::Role;

    use mqtt_test::pieces::{PatternCheck, PiecewiseWriter};

    use super::*;

    /// A client [`Stream`] over WebSocket and the broker's end, joined by an in-memory pipe of `capacity` bytes.
    async fn pair(capacity: usize) -> (Stream, WebSocketStream<DuplexStream>) {
        let (client, broker) = tokio::io::duplex(capacity);
        let config = WebSocketConfig::default().write_buffer_size(0);
        let client = WebSocketStream::from_raw_socket(client, Role::Client, Some(config)).await;
        let broker = WebSocketStream::from_raw_socket(broker, Role::Server, None).await;
        (Stream::new(Transport::Ws, WebSocket::new(client)), broker)
    }

    #[tokio::test]
    async fn frames_are_read_in_pieces_pings_answered_and_close_is_the_end() {
        let (mut stream, mut broker) = pair(4096).await;
        let data: Vec<u8> = (0..=255u8).cycle().take(300).collect();
        let mut to_send = VecDeque::from([
            Message::Binary(data[..100].to_vec().into()),
            Message::Ping(Bytes::from_static(b"hi")),
            Message::Binary(Bytes::new()),
            Message::Binary(data[100..].to_vec().into()),
            Message::Close(None),
        ]);
        let mut buf = [0; 7];
        let mut received = Vec::new();
        let mut dropped = 0;
        loop {
            // One poll: a read that finds nothing is dropped, as the driver does, and must take nothing with it.
            match stream.read(&mut buf).now_or_never() {
                Some(Ok(0)) => break,
                Some(Ok(n)) => received.extend_from_slice(&buf[..n]),
                Some(Err(e)) => panic!("{e}"),
                None => {
                    dropped += 1;
                    broker.send(to_send.pop_front().unwrap()).await.unwrap();
                }
            }
        }
        assert!(to_send.is_empty());
        assert!(dropped >= 4, "reads were never dropped: {dropped}");
        assert_eq!(received, data);
        let pong = broker.next().await.unwrap().unwrap();
        assert_eq!(pong, Message::Pong(Bytes::from_static(b"hi")));
    }

    #[tokio::test]
    async fn a_text_frame_is_an_error() {
        let (mut stream, mut broker) = pair(4096).await;
        broker.send(Message::text("hello")).await.unwrap();
        let error = stream.read(&mut [0; 16]).await.unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::InvalidData);
    }

    #[tokio::test]
    async fn writes_dropped_while_pending_send_nothing_and_retries_send_once() {
        let (mut stream, mut broker) = pair(64).await;
        let frames: Vec<Vec<u8>> = (0..20u8).map(|i| vec![i; 50 + usize::from(i)]).collect();
        let reader = tokio::spawn(async move {
            let mut received = Vec::new();
            while received.len() < 20 {
                match broker.next().await {
                    Some(Ok(Message::Binary(data))) => received.push(data.to_vec()),
                    other => panic!("unexpected {other:?}"),
                }
            }
            received
        });
        let mut pending: VecDeque<&Vec<u8>> = frames.iter().collect();
        let mut dropped = 0;
        while let Some(frame) = pending.front() {
            // One poll: the driver drops a write at an await point when something else happens first.
            match stream.write(frame).now_or_never() {
                Some(written) => {
                    assert_eq!(written.unwrap(), frame.len());
                    pending.pop_front();
                }
                None => {
                    dropped += 1;
                    tokio::task::yield_now().await;
                }
            }
        }
        assert!(
            dropped > 0,
            "the pipe never filled up: the test tests nothing"
        );
        stream.flush().await.unwrap();
        assert_eq!(reader.await.unwrap(), frames);
    }

    #[tokio::test]
    async fn reading_pushes_out_what_a_dropped_flush_left_behind() {
        let (mut stream, mut broker) = pair(64).await;
        let frame = vec![7; 1000];
        // The frame does not fit into the pipe: most of it waits in the WebSocket's buffer, and no flush follows.
        assert_eq!(stream.write(&frame).now_or_never().unwrap().unwrap(), 1000);
        assert!(stream.flush().now_or_never().is_none());
        let mut buf = [0; 16];
        tokio::select! {
            received = broker.next() => {
                assert_eq!(received.unwrap().unwrap(), Message::Binary(frame.into()));
            }
            _ = stream.read(&mut buf) => panic!("the broker sent nothing"),
        }
    }

    /// A connected plain TCP [`Stream`] and the peer's end (a std socket, written from a thread of its own).
    async fn tcp_pair() -> (Stream, std::net::TcpStream) {
        let listener = std::net::TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0)).unwrap();
        let address = listener.local_addr().unwrap();
        let client = TcpStream::connect(address).await.unwrap();
        let (peer, _) = listener.accept().unwrap();
        (Stream::tcp(Transport::Tcp, client), peer)
    }

    /// The peer writes 200,000 bytes in pieces (see [`PiecewiseWriter`]) so that reads come back short; the
    /// reader takes them with a buffer of `buf_len`. Every byte arrives, in order: a short read that forgets its readiness never loses a later arrival (on both runtime flavours, the
    /// multi-thread one running the I/O driver on another thread while the reader reads).
    async fn every_byte_arrives_when_reads_come_back_short(buf_len: usize) {
        let (mut stream, peer) = tcp_pair().await;
        let total = 200_000;
        let writer = PiecewiseWriter::start(peer, total);
        let mut check = PatternCheck::new(total, buf_len);
        let mut buf = vec![0; buf_len];
        while check.missing() {
            let n = tokio::time::timeout(std::time::Duration::from_secs(20), stream.read(&mut buf))
                .await
                .expect("a read waited for bytes that had arrived")
                .unwrap();
            check.read(&buf[..n]);
        }
        check.finish();
        drop(writer.join());
        assert_eq!(
            stream.read(&mut buf).await.unwrap(),
            0,
            "the peer's close is the end"
        );
    }

    #[tokio::test]
    async fn short_tcp_reads_lose_no_later_arrival_on_the_current_thread_runtime() {
        every_byte_arrives_when_reads_come_back_short(64).await;
        every_byte_arrives_when_reads_come_back_short(64 * 1024).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn short_tcp_reads_lose_no_later_arrival_on_the_multi_thread_runtime() {
        every_byte_arrives_when_reads_come_back_short(64).await;
        every_byte_arrives_when_reads_come_back_short(64 * 1024).await;
    }
}
