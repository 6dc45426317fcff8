//! [`Link`]: the std clients' async [`EventLoop`] against a [`FakeBroker`] over in-memory connections, in tokio's
//! virtual time (feature `tokio`).
//!
//! Each connection the client opens is a `tokio::io::duplex` pipe whose far end a pump task serves: it feeds the
//! broker what the client wrote and writes back what the broker answers, each way after the link's latency. A
//! connection opens after the link's connect delay (a TLS handshake's worth of round trips, say). Every open is
//! recorded with its outcome, so that a test can check that no attempt was abandoned halfway.
//!
//! The test scripts the broker while the client runs ([`Link::broker`]: inject messages, hold acknowledgements,
//! close, refuse) and waits for what the broker sees ([`Link::wait_for`]). Under
//! `#[tokio::test(start_paused = true)]` nothing sleeps: tokio moves its clock to the next timer whenever every
//! task waits, so keep alives, reconnect delays and latencies take no real time and a run is deterministic.
//!
//! ```
//! use core::time::Duration;
//! use mqtt_core::codec::QoS;
//! use mqtt_test::tokio_link::Link;
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() {
//! let link = Link::default();
//! let (client, _runner) = link.spawn(&link.options("doc"));
//! let mut readings = client.subscribe("sensors/#", QoS::AtLeastOnce).await.unwrap();
//! link.broker(|broker| broker.inject("sensors/kitchen", b"21.5", QoS::AtLeastOnce, false));
//! assert_eq!(readings.recv().await.unwrap().payload, "21.5");
//! assert!(link.wait_for(|broker| broker.pending_to_client() == 0, Duration::from_secs(5)).await);
//! assert_eq!(link.opens().len(), 1);
//! # }
//! ```

use core::time::Duration;
use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};

use embedded_io_adapters::tokio_1::FromTokio;
use mqtt_core::Instant;
use mqtt_core::client::{Client, Error, EventLoop, Options, Runtime};
use mqtt_core::io::{Clock, Connect};
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::{BrokerConfig, FakeBroker};

/// Bytes each direction of a connection's pipe holds (what the kernel's socket buffers would).
pub const PIPE_BYTES: usize = 64 * 1024;

/// How a link carries connections.
#[derive(Debug, Clone, Default)]
pub struct LinkSettings {
    /// Delay of the bytes each way (half a round trip).
    pub latency: Duration,
    /// Time an open takes before the connection exists (a TCP and TLS handshake).
    pub connect_delay: Duration,
    /// Opens still to be refused at once (a connection refused by the host).
    pub refuse_opens: u32,
    /// The broker's own closes are not carried out: the connection ends only when the client closes it (to see
    /// whether the client closes a connection the broker refused).
    pub ignore_broker_close: bool,
    /// The broker's end reads nothing more from the client (a broker process that hangs): what the client writes
    /// stays in the pipe, which takes [`PIPE_BYTES`] and then pushes back.
    pub stop_reading: bool,
}

/// One open of a connection by the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenRecord {
    /// When the client started it (time since the link was made).
    pub started: Duration,
    /// How it went.
    pub outcome: OpenOutcome,
}

/// How an open went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpenOutcome {
    /// Still under way.
    Opening,
    /// The client dropped it before it completed.
    Abandoned,
    /// Refused by the link ([`LinkSettings::refuse_opens`]).
    Refused,
    /// The connection existed from `opened`.
    Opened {
        /// When it opened.
        opened: Duration,
        /// When the client closed it (the broker's end saw the end of the stream), if it did.
        closed_by_client: Option<Duration>,
        /// When the broker's close was carried out, if it was.
        closed_by_broker: Option<Duration>,
        /// When the last bytes from the broker were handed to the client's end.
        last_to_client: Option<Duration>,
        /// Bytes handed to the client's end.
        bytes_to_client: u64,
    },
}

struct State {
    broker: FakeBroker,
    settings: LinkSettings,
    opens: Vec<OpenRecord>,
    /// The open whose connection the broker serves now.
    current: Option<usize>,
    /// The latest open, when it is not `current` yet: it takes over once its first bytes reach the broker, as a
    /// real broker's session moves to a new connection at its CONNECT. What the older connection sent before
    /// then is still served (acknowledgements written just before a reconnect, say).
    newest: Option<usize>,
}

struct Inner {
    host: String,
    start: tokio::time::Instant,
    state: Mutex<State>,
    /// Bumped when the test changed the broker: the pumps look at it again.
    kick: watch::Sender<u64>,
    /// Bumped when a pump changed the broker: waiters look at it again.
    changed: watch::Sender<u64>,
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }
}

/// An in-memory network to one [`FakeBroker`] for the std clients' [`EventLoop`]; cheap to clone. See the
/// [module docs](self).
#[derive(Clone)]
pub struct Link {
    inner: Arc<Inner>,
}

impl core::fmt::Debug for Link {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Link")
            .field("host", &self.inner.host)
            .finish_non_exhaustive()
    }
}

impl Default for Link {
    fn default() -> Self {
        Self::new(BrokerConfig::default())
    }
}

/// Links alive, found by the host of their URL ([`LinkRuntime::connector`] gets only the URL).
static LINKS: Mutex<Vec<(String, Weak<Inner>)>> = Mutex::new(Vec::new());
static NEXT_LINK: AtomicU64 = AtomicU64::new(1);

impl Link {
    /// A link to a broker configured by `config`, without latency.
    pub fn new(config: BrokerConfig) -> Self {
        let host = format!("link-{}.test", NEXT_LINK.fetch_add(1, Ordering::Relaxed));
        let inner = Arc::new(Inner {
            host: host.clone(),
            start: tokio::time::Instant::now(),
            state: Mutex::new(State {
                broker: FakeBroker::new(config),
                settings: LinkSettings::default(),
                opens: Vec::new(),
                current: None,
                newest: None,
            }),
            kick: watch::channel(0).0,
            changed: watch::channel(0).0,
        });
        let mut links = LINKS.lock().unwrap_or_else(PoisonError::into_inner);
        links.retain(|(_, link)| link.strong_count() > 0);
        links.push((host, Arc::downgrade(&inner)));
        Self { inner }
    }

    /// The broker's URL, for [`Options::new`].
    pub fn url(&self) -> String {
        format!("mqtt://{}:1883", self.inner.host)
    }

    /// Options for a client of this link: the URL, `client_id`, and a fixed jitter seed.
    pub fn options(&self, client_id: &str) -> Options {
        Options::new(&self.url())
            .unwrap_or_else(|e| panic!("the link's URL: {e}"))
            .client_id(client_id)
            .jitter_seed(7)
    }

    /// A client and its event loop over this link (the loop does not run yet).
    ///
    /// # Panics
    ///
    /// If the options cannot make a client.
    pub fn client(&self, options: &Options) -> (Client, EventLoop<LinkRuntime>) {
        EventLoop::new(options).unwrap_or_else(|e| panic!("the client's options: {e}"))
    }

    /// A client whose event loop runs on a spawned task.
    pub fn spawn(&self, options: &Options) -> (Client, JoinHandle<()>) {
        let (client, event_loop) = self.client(options);
        (client, tokio::spawn(event_loop.run()))
    }

    /// Runs `f` on the broker (inject messages, change knobs, close...); what it makes the broker send goes out.
    pub fn broker<R>(&self, f: impl FnOnce(&mut FakeBroker) -> R) -> R {
        let result = f(&mut self.inner.lock().broker);
        self.inner.kick.send_modify(|n| *n += 1);
        result
    }

    /// Changes how the link carries connections (from the next bytes, or the next open).
    pub fn settings(&self, f: impl FnOnce(&mut LinkSettings)) {
        f(&mut self.inner.lock().settings);
        self.inner.kick.send_modify(|n| *n += 1);
    }

    /// Every open so far, in order.
    pub fn opens(&self) -> Vec<OpenRecord> {
        self.inner.lock().opens.clone()
    }

    /// Time since the link was made, on tokio's clock.
    pub fn elapsed(&self) -> Duration {
        self.inner.elapsed()
    }

    /// Waits until `done` holds for the broker, for at most `timeout` of tokio's time; whether it held.
    pub async fn wait_for(
        &self,
        mut done: impl FnMut(&FakeBroker) -> bool,
        timeout: Duration,
    ) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut changed = self.inner.changed.subscribe();
        loop {
            changed.mark_unchanged();
            if done(&self.inner.lock().broker) {
                return true;
            }
            tokio::select! {
                _ = changed.changed() => {}
                () = tokio::time::sleep_until(deadline) => return done(&self.inner.lock().broker),
            }
        }
    }

    /// The test's "other publisher": the broker gets `total` messages on `flood/<n>` (payload `payload(n)`, at
    /// `qos`), offered as its session has room, at most `ahead` waiting in it at a time (the broker's own queue
    /// pushes back). Ends once every message is offered.
    pub fn offer(
        &self,
        total: usize,
        ahead: usize,
        qos: mqtt_core::codec::QoS,
        payload: impl Fn(usize) -> Vec<u8> + Send + 'static,
    ) -> JoinHandle<()> {
        let link = self.clone();
        tokio::spawn(async move {
            let mut next = 0;
            while next < total {
                link.broker(|broker| {
                    while next < total && broker.pending_to_client() < ahead {
                        broker.inject(&format!("flood/{next}"), &payload(next), qos, false);
                        next += 1;
                    }
                });
                link.wait_for(
                    |broker| broker.pending_to_client() < ahead,
                    Duration::from_secs(3600),
                )
                .await;
            }
        })
    }

    fn find(url: &str) -> Option<Self> {
        let links = LINKS.lock().unwrap_or_else(PoisonError::into_inner);
        links
            .iter()
            .find(|(host, _)| {
                url.contains(&format!("//{host}:")) || url.contains(&format!("@{host}:"))
            })
            .and_then(|(_, link)| link.upgrade())
            .map(|inner| Self { inner })
    }

    /// Records an open and carries it out; the client's end of the pipe.
    async fn open(&self) -> Result<DuplexStream, Error> {
        let (index, delay) = {
            let mut state = self.inner.lock();
            state.opens.push(OpenRecord {
                started: self.inner.elapsed(),
                outcome: OpenOutcome::Opening,
            });
            (state.opens.len() - 1, state.settings.connect_delay)
        };
        // Dropped before the end: the attempt was abandoned.
        let mut pending = Abandoned {
            link: self,
            index,
            armed: true,
        };
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        let opened = {
            let mut state = self.inner.lock();
            let refused = state.settings.refuse_opens > 0;
            let now = self.inner.elapsed();
            if let Some(open) = state.opens.get_mut(index) {
                open.outcome = if refused {
                    OpenOutcome::Refused
                } else {
                    OpenOutcome::Opened {
                        opened: now,
                        closed_by_client: None,
                        closed_by_broker: None,
                        last_to_client: None,
                        bytes_to_client: 0,
                    }
                };
            }
            if refused {
                state.settings.refuse_opens -= 1;
                false
            } else {
                if state.current.is_some() {
                    state.newest = Some(index);
                } else {
                    state.newest = None;
                    state.broker.handle_connection_opened();
                    state.current = Some(index);
                }
                true
            }
        };
        pending.armed = false;
        self.inner.changed.send_modify(|n| *n += 1);
        if !opened {
            return Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionRefused,
                "connection refused (the link refuses this open)",
            )
            .into());
        }
        let (client, broker) = tokio::io::duplex(PIPE_BYTES);
        tokio::spawn(pump(self.clone(), index, broker));
        Ok(client)
    }
}

/// Marks an open abandoned if dropped while armed.
struct Abandoned<'a> {
    link: &'a Link,
    index: usize,
    armed: bool,
}

impl Drop for Abandoned<'_> {
    fn drop(&mut self) {
        if self.armed {
            if let Some(open) = self.link.inner.lock().opens.get_mut(self.index) {
                open.outcome = OpenOutcome::Abandoned;
            }
            self.link.inner.changed.send_modify(|n| *n += 1);
        }
    }
}

/// Bytes (or a close) on their way, due at a time.
enum InFlight {
    Bytes(Vec<u8>),
    Close,
}

/// Serves the broker's end of connection `index` until either side is done with it.
async fn pump(link: Link, index: usize, stream: DuplexStream) {
    let inner = link.inner.clone();
    let mut kick = inner.kick.subscribe();
    let (mut reader, mut writer) = tokio::io::split(stream);
    // Towards the broker and towards the client, in order, each with the time it is due.
    let mut up: VecDeque<(tokio::time::Instant, InFlight)> = VecDeque::new();
    let mut down: VecDeque<(tokio::time::Instant, InFlight)> = VecDeque::new();
    let mut buf = vec![0; 16 * 1024];
    let mut client_open = true;
    let mut to_client_open = true;
    loop {
        let now = tokio::time::Instant::now();
        let mut moved = false;
        let reading = client_open && !inner.lock().settings.stop_reading;
        {
            let mut state = inner.lock();
            let latency = state.settings.latency;
            // What reached the broker.
            while up.front().is_some_and(|(due, _)| *due <= now) {
                let Some((_, item)) = up.pop_front() else {
                    break;
                };
                moved = true;
                if state.newest == Some(index) {
                    // The newer connection's first bytes: the broker moves to it.
                    state.newest = None;
                    if state.current.is_some() {
                        state.broker.handle_connection_closed();
                    }
                    state.broker.handle_connection_opened();
                    state.current = Some(index);
                }
                let current = state.current == Some(index);
                match item {
                    InFlight::Bytes(bytes) if current => state.broker.handle_bytes(&bytes),
                    InFlight::Close if current => {
                        state.broker.handle_connection_closed();
                        state.current = None;
                    }
                    _ => {}
                }
            }
            let current = state.current == Some(index);
            if current {
                while let Some(bytes) = state.broker.poll_transmit() {
                    down.push_back((now + latency, InFlight::Bytes(bytes)));
                }
                if state.broker.poll_close() {
                    if state.settings.ignore_broker_close {
                        // The broker forgot the connection; the pipe stays until the client closes it.
                        state.current = None;
                    } else {
                        down.push_back((now + latency, InFlight::Close));
                    }
                }
            } else if client_open
                && to_client_open
                && down.is_empty()
                && state.newest != Some(index)
                && !state.settings.ignore_broker_close
            {
                // Taken over by a newer connection, or forgotten by the broker: close this one.
                down.push_back((now, InFlight::Close));
            }
        }
        if moved {
            inner.changed.send_modify(|n| *n += 1);
        }
        if !client_open && (up.is_empty() || !to_client_open) {
            return;
        }
        if !client_open && !to_client_open {
            return;
        }
        // What is due towards the client goes first.
        if let Some((due, item)) = down.front_mut()
            && *due <= now
            && to_client_open
        {
            match item {
                InFlight::Bytes(bytes) => {
                    tokio::select! {
                        biased;
                        written = writer.write(bytes) => match written {
                            Ok(n) if n > 0 => {
                                bytes.drain(..n);
                                let done = bytes.is_empty();
                                if done {
                                    down.pop_front();
                                }
                                let at = inner.elapsed();
                                if let Some(OpenRecord { outcome: OpenOutcome::Opened { last_to_client, bytes_to_client, .. }, .. }) = inner.lock().opens.get_mut(index) {
                                    *last_to_client = Some(at);
                                    *bytes_to_client += n as u64;
                                }
                                continue;
                            }
                            _ => {
                                // The client's end is gone.
                                to_client_open = false;
                                down.clear();
                                continue;
                            }
                        },
                        read = reader.read(&mut buf), if reading => {
                            client_open = on_read(&inner, index, read.unwrap_or(0), &buf, &mut up);
                            continue;
                        }
                        _ = kick.changed() => continue,
                    }
                }
                InFlight::Close => {
                    down.clear();
                    let _ = writer.shutdown().await;
                    to_client_open = false;
                    let at = inner.elapsed();
                    if let Some(OpenRecord {
                        outcome:
                            OpenOutcome::Opened {
                                closed_by_broker, ..
                            },
                        ..
                    }) = inner.lock().opens.get_mut(index)
                    {
                        *closed_by_broker = Some(at);
                    }
                    inner.changed.send_modify(|n| *n += 1);
                    continue;
                }
            }
        }
        let next_due = [up.front(), down.front().filter(|_| to_client_open)]
            .into_iter()
            .flatten()
            .map(|(due, _)| *due)
            .min();
        tokio::select! {
            read = reader.read(&mut buf), if reading => {
                client_open = on_read(&inner, index, read.unwrap_or(0), &buf, &mut up);
            }
            () = sleep_until(next_due) => {}
            _ = kick.changed() => {}
        }
    }
}

/// What a read of `read` bytes of the client's brought (0: the end, or a failure): queued towards the broker
/// after the latency. Whether the client's end is still open.
fn on_read(
    inner: &Inner,
    index: usize,
    read: usize,
    buf: &[u8],
    up: &mut VecDeque<(tokio::time::Instant, InFlight)>,
) -> bool {
    let latency = inner.lock().settings.latency;
    let due = tokio::time::Instant::now() + latency;
    match read {
        n if n > 0 => {
            up.push_back((
                due,
                InFlight::Bytes(buf.get(..n).unwrap_or_default().to_vec()),
            ));
            true
        }
        _ => {
            let at = inner.elapsed();
            if let Some(OpenRecord {
                outcome:
                    OpenOutcome::Opened {
                        closed_by_client, ..
                    },
                ..
            }) = inner.lock().opens.get_mut(index)
            {
                *closed_by_client = Some(at);
            }
            up.push_back((due, InFlight::Close));
            inner.changed.send_modify(|n| *n += 1);
            false
        }
    }
}

async fn sleep_until(due: Option<tokio::time::Instant>) {
    match due {
        Some(due) => tokio::time::sleep_until(due).await,
        None => std::future::pending().await,
    }
}

/// The [`Runtime`] of clients on a [`Link`]: tokio's (virtual) time, connections through the link of the URL.
#[derive(Debug, Clone, Copy)]
pub struct LinkRuntime;

impl Runtime for LinkRuntime {
    type Clock = LinkClock;
    type Connector = LinkConnector;

    fn clock() -> LinkClock {
        LinkClock {
            start: tokio::time::Instant::now(),
        }
    }

    fn connector(url: &str, _options: &Options) -> Result<LinkConnector, Error> {
        Link::find(url)
            .map(|link| LinkConnector { link })
            .ok_or(Error::Environment("no link for this URL"))
    }

    fn sleep(duration: Duration) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        Box::pin(tokio::time::sleep(duration))
    }
}

/// Opens connections through a [`Link`].
#[derive(Debug, Clone)]
pub struct LinkConnector {
    link: Link,
}

impl Connect for LinkConnector {
    type Io = FromTokio<DuplexStream>;
    type Error = Error;

    async fn connect(&mut self) -> Result<Self::Io, Error> {
        self.link.open().await.map(FromTokio::new)
    }
}

/// tokio's clock (virtual under `start_paused`), as the session's [`Instant`].
#[derive(Debug, Clone)]
pub struct LinkClock {
    start: tokio::time::Instant,
}

impl Clock for LinkClock {
    fn now(&self) -> Instant {
        Instant::from_millis(u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX))
    }

    async fn sleep_until(&self, deadline: Instant) {
        tokio::time::sleep_until(self.start + Duration::from_millis(deadline.as_millis())).await;
    }
}

/// `future`'s output, or a panic naming `what` after a minute of tokio's time: every wait of a test on the link
/// is bounded (in virtual time a client left waiting would otherwise keep its keep alive going forever).
///
/// # Panics
///
/// When the minute is up.
pub async fn within<T>(what: &str, future: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(60), future)
        .await
        .unwrap_or_else(|_| panic!("timed out (a minute of virtual time): {what}"))
}
