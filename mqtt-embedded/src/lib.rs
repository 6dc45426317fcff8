//! MQTT 3.1.1 and 5.0 client for `no_std` microcontrollers: `embedded-io-async` streams, no allocator, no
//! `unsafe`, capacities chosen at compile time.
//!
//! The protocol is all in [`mqtt_core`](proto)'s session and driver (QoS 0, 1 and 2 both ways, keep alive, will,
//! user name and password, reconnect with the default schedule, the offline queue, 5.0 properties); this crate is
//! the embassy-style face of it:
//!
//! - [`Resources`] holds every byte the client uses: the receive buffer (the largest packet accepted), the store
//!   (the CONNECT packet, messages in flight and the offline queue), the subscription table and the transmit staging
//!   buffer, sized by const generics. A full store or table is an error returned to the caller, never a panic or
//!   a silent drop.
//! - [`new`] gives a [`Client`] (publish, subscribe, unsubscribe, disconnect, from any task) and a [`Runner`],
//!   the one task that touches the I/O: it opens connections through your [`Connect`] implementation (an
//!   embassy-net TCP socket, a UART, a TLS stream...), and owns them: dropping its future closes the connection
//!   (the broker publishes the will) and ends the client ([`Runner::run`]).
//! - Messages go to per-filter [`Inbox`]es ([`Client::subscribe_to`]), which another task reads with
//!   [`Client::receive`]: copied into the inbox's own buffer while it has room, borrowed in place from the receive
//!   buffer otherwise (zero copy, the runner waiting meanwhile). Everything else, and messages no inbox takes,
//!   goes to the runner's handler, borrowed from the receive buffer.
//! - [`Client::publish`] and [`Client::queue`] wait for room when the store is full ([`Client::try_queue`]
//!   does not); [`Delivery::wait_timeout`] bounds the wait for an acknowledgement; [`Client::subscribe`] returns
//!   what the broker granted to each filter ([`Granted`]).
//! - [`Clock`] is the time source: `EmbassyClock` with the `embassy-time` feature, or your own implementation.
//! - `mqtts://`: with the `tls` feature, `tls::TlsConnector` runs TLS 1.3 (embedded-tls, no allocator) over any
//!   connector's stream, verifying the broker against a CA and presenting a client certificate.
//! - Cargo features: `v5`, `v311`, `topic-alias` and `properties` (all by default) are mqtt-core's: a firmware
//!   leaves out a protocol version, 5.0 topic aliases, or the 5.0 properties only applications use
//!   (`default-features = false, features = ["v5"]`); `tls`, `embassy-time` and `defmt` add what their names say.
//! - `M` is the embassy-sync raw mutex: [`NoopRawMutex`] when the client and the runner live on one executor,
//!   [`CriticalSectionRawMutex`] across executors or threads.
//!
//! A complete program: the same client on a server, against a broker on the loopback (on a device, the connector is
//! an embassy-net socket, a UART or TLS, and the clock `EmbassyClock`):
//!
//! ```rust
//! use core::time::Duration;
//! use embassy_futures::join::join;
//! use embassy_futures::select::{Either, select};
//! use embedded_io_adapters::tokio_1::FromTokio;
//! use mqtt_embedded::{Clock, Config, Connect, Error, Inbox, Instant, NoopRawMutex, QoS, Resources};
//!
//! /// Opens a fresh connection for each attempt.
//! struct Tcp(String);
//!
//! impl Connect for Tcp {
//!     type Io = FromTokio<tokio::net::TcpStream>;
//!     type Error = std::io::Error;
//!
//!     async fn connect(&mut self) -> Result<Self::Io, std::io::Error> {
//!         Ok(FromTokio::new(tokio::net::TcpStream::connect(self.0.as_str()).await?))
//!     }
//! }
//!
//! /// Milliseconds since the program started, on tokio's timer.
//! struct TokioClock(tokio::time::Instant);
//!
//! impl Clock for TokioClock {
//!     fn now(&self) -> Instant {
//!         Instant::from_millis(self.0.elapsed().as_millis() as u64)
//!     }
//!
//!     async fn sleep_until(&self, deadline: Instant) {
//!         tokio::time::sleep_until(self.0 + Duration::from_millis(deadline.as_millis())).await;
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # // The doctest's broker: the test suite's fake broker on a free loopback port.
//! # let broker = mqtt_test::FakeBrokerServer::start(Default::default())?;
//! # let address = broker.address();
//! // `address` is the broker's, e.g. "192.168.1.10:1883".
//! // The inbox of the setpoint task: 256 bytes of copies, then messages borrowed in place.
//! let mut inbox_buf = [0u8; 256];
//! let setpoints = Inbox::new(&mut inbox_buf);
//! let filters = ["sensors/17/set/#"];
//! // 2 KiB packets in, 4 KiB of messages in flight or queued, 256 B of subscriptions, 512 B staging.
//! let mut resources = Resources::<NoopRawMutex, Tcp, TokioClock, 2048, 4096, 256, 512>::new();
//! let clock = TokioClock(tokio::time::Instant::now());
//! let (client, runner) = mqtt_embedded::new(&Config::new("sensor-17"), &mut resources, Tcp(address), clock)?;
//!
//! // The runner owns the connection (on embassy, a task of its own); its handler gets what no inbox takes.
//! let run = runner.run(|_event| {});
//! let app = async {
//!     client.subscribe_to(&setpoints, &filters, QoS::AtLeastOnce).await?;
//!     // Receive in a task of its own, or alongside what awaits the client: a held message pauses the runner.
//!     let (published, setpoint) = join(
//!         client.publish("sensors/17/set/target", b"20.5", QoS::AtLeastOnce),
//!         client.receive(&setpoints, |message| (message.payload == b"20.5", message.qos)),
//!     )
//!     .await;
//!     published?;
//!     assert_eq!(setpoint, (true, QoS::AtLeastOnce));
//!     client.disconnect().await?;
//!     Ok::<(), Error>(())
//! };
//! match select(run, app).await {
//!     Either::First(never) => never,
//!     Either::Second(result) => result?,
//! }
//! # Ok(())
//! # }
//! ```
//!
//! # Which crate
//!
//! One protocol core, one set of concepts; pick the crate of your runtime:
//!
//! | you run | crate | shape |
//! |---|---|---|
//! | tokio | `mqtt-tokio` | async `Client` handle + `EventLoop` task; subscriptions are `Stream`s |
//! | smol, async-executor, any futures executor | `mqtt-smol` | the same API as mqtt-tokio, on smol's reactor and timers |
//! | no async runtime: threads, command-line tools, GUIs | `mqtt-blocking` | blocking calls, callbacks on the event loop's thread (poll(2)) |
//! | `no_std` microcontrollers (embassy, RTIC), fixed memory | `mqtt-embedded` (this one) | [`Client`] + [`Runner`] over `embedded-io-async`, capacities chosen at compile time, no allocator |
//! | your own I/O, or a simulation | `mqtt-core` | the sans-IO `Session`: bytes, commands and time in; bytes, events and deadlines out |
//!
//! mqtt-embedded also runs on std (as above), where a fixed memory budget matters more than an allocator's
//! convenience.
//!
//! # Cargo features
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `v5`, `v311` | yes | the protocol versions (mqtt-core's features of the same names); a firmware that speaks one leaves the other's code out |
//! | `topic-alias` | yes | 5.0 topic aliases both ways |
//! | `properties` | yes | the 5.0 properties only applications use (payload format, expiry, content type, response topic, correlation data, user properties, the will's properties) |
//! | `embassy-time` | no | `EmbassyClock`, a [`Clock`] on embassy-time |
//! | `tls` | no | `tls::TlsConnector`: TLS 1.3 with embedded-tls, no allocator |
//! | `persist` | no | `persist::FlashStore`: the session survives a reset, in NOR flash through `embedded-storage-async` |
//! | `defmt` | no | `defmt::Format` for the error type |
//!
//! The repository README's firmware-size table says what each choice costs in flash and RAM.
//!
//! # Delivery and backpressure
//!
//! Memory is the [`Resources`]' and the inboxes' buffers, nothing more:
//!
//! - **Publishing.** [`Client::publish`] and [`Client::queue`] put the message in the store (`STORE`), connected or
//!   not; while the store is full they wait until acknowledged or sent messages make room, and
//!   [`Client::try_queue`] returns an error instead. Nothing is dropped. At most [`Config::max_inflight`] messages
//!   are in flight (and never more than the broker's Receive Maximum).
//! - **Receiving.** An [`Inbox`] copies a message while its buffer has room, and otherwise the runner holds the
//!   message in the receive buffer and stops reading from the broker until the inbox's task has taken it: one slow
//!   inbox pauses the client, TCP and the broker's window push back, nothing is dropped. The runner's handler runs
//!   inside the runner: keep it short.
//! - **Acknowledgement follows delivery.** A QoS 1 or 2 message is acknowledged once every matching inbox has it
//!   (or the handler has run), in the order received. With [`Config::manual_ack`] the same holds (the runner
//!   acknowledges a message once the handler or every matching inbox has it, and a full inbox holds it
//!   unacknowledged); there is no separate call to acknowledge by hand.
//!
//! # Cancel safety
//!
//! [`Runner::run`] owns the connection: dropping its future ends the client (the connection closes without
//! DISCONNECT, so the broker publishes the will; awaited commands return [`Error::Closed`]). [`Delivery::wait`] and
//! [`Client::receive`] are cancel-safe: a message stays queued, a message is taken only when the closure runs. A
//! client command never interrupts a connection attempt or a write: it changes the session and wakes the runner.
//!
//! # MQTT 5.0
//!
//! Properties with [`Client::queue`] ([`Publish`] and [`PublishProperties`]) and on received messages (borrowed in
//! place); subscription options and user properties with [`Client::subscribe_with`] and [`Client::unsubscribe_with`];
//! what the broker announced with [`Client::with_server_info`], its reason strings with [`Client::with_last_reason`];
//! DISCONNECT with properties with [`Client::disconnect_with`]; enhanced authentication with
//! [`new_with_authenticator`] and [`Client::reauthenticate`]; redirection with [`Config::follow_redirects`] (the
//! connector must open the reference). Request/response has no single call here: build it on [`Client::queue`] with
//! a Response Topic and Correlation Data.
//!
//! # Persistence
//!
//! With the `persist` feature the session (outgoing QoS 1 and 2 messages, incoming QoS 2 flows, subscriptions) is
//! kept in flash and restored after a reset (`Client::recovered` lists what the previous run left unacknowledged);
//! the repository's `docs/persistence.md` describes it.
#![no_std]
#![forbid(unsafe_code)]
// Nothing reachable from broker bytes or caller arguments may panic (tests may).
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]
#![warn(missing_docs, unreachable_pub)]

mod client;
mod clock;
mod inbox;
#[cfg(feature = "persist")]
pub mod persist;
mod runner;
#[cfg(feature = "tls")]
pub mod tls;

pub use embassy_sync::blocking_mutex::raw::{CriticalSectionRawMutex, NoopRawMutex, RawMutex};
pub use proto;
pub use proto::codec::{
    Disconnect, ProtocolVersion, Publish, PublishProperties, QoS, ReasonCode, SubscribeProperties,
    Subscription, SubscriptionOptions, UnsubscribeProperties, Will,
};
pub use proto::error::{PublishError, SubscribeError};
pub use proto::io::Connect;
pub use proto::session::{
    AuthError, Authenticator, ConnAckInfo, ConnectRefusal, Disconnection, Event, PingError,
    PublishFailure, Reason, ReauthError, Stats,
};
pub use proto::{Config, ConfigError, Instant};

pub use client::{Client, Delivery, FILTERS, Granted};
pub use clock::Clock;
#[cfg(feature = "embassy-time")]
pub use clock::EmbassyClock;
pub use inbox::{Inbox, MESSAGE_OVERHEAD};
pub use runner::{Runner, SLOTS};

use core::marker::PhantomData;

use proto::driver::Driver;
use proto::{Buffers, Session};
use runner::Shared;

/// Every byte of memory a client uses, sized by the caller; keep it in a `static` (e.g. with `static_cell`).
///
/// - `RX`: the receive buffer. It holds the largest packet the broker may send (advertised to 5.0 brokers as the
///   Maximum Packet Size); messages are handed out from it.
/// - `STORE`: the CONNECT packet, the QoS 2 receive state, and every outgoing message until it is acknowledged:
///   the inflight window ([`Config::max_inflight`]) and the offline queue.
/// - `SUBS`: the subscription table, about 12 bytes plus the filter per subscription.
/// - `TX`: the runner's staging buffer, half for bytes on their way out, half for bytes read and not yet taken by
///   the session; a few hundred bytes are enough (larger packets go out and come in in pieces), 2 at the least
///   ([`ConfigError::TxTooSmall`]).
pub struct Resources<
    'd,
    M,
    N,
    C,
    const RX: usize,
    const STORE: usize,
    const SUBS: usize,
    const TX: usize,
> where
    M: RawMutex,
    N: Connect,
    C: Clock,
{
    rx: [u8; RX],
    store: [u8; STORE],
    subscriptions: [u8; SUBS],
    tx: [u8; TX],
    shared: Option<Shared<'d, M, C>>,
    _connector: PhantomData<fn() -> N>,
}

impl<
    M: RawMutex,
    N: Connect,
    C: Clock,
    const RX: usize,
    const STORE: usize,
    const SUBS: usize,
    const TX: usize,
> Resources<'_, M, N, C, RX, STORE, SUBS, TX>
{
    /// Zeroed buffers; usable in a `const` or `static` initializer.
    pub const fn new() -> Self {
        Self {
            rx: [0; RX],
            store: [0; STORE],
            subscriptions: [0; SUBS],
            tx: [0; TX],
            shared: None,
            _connector: PhantomData,
        }
    }
}

impl<
    M: RawMutex,
    N: Connect,
    C: Clock,
    const RX: usize,
    const STORE: usize,
    const SUBS: usize,
    const TX: usize,
> Default for Resources<'_, M, N, C, RX, STORE, SUBS, TX>
{
    fn default() -> Self {
        Self::new()
    }
}

/// Creates a client and its runner in `resources`; nothing happens until the runner runs.
///
/// # Errors
///
/// A [`ConfigError`] when the configuration cannot work or the buffers are too small for it.
#[allow(clippy::type_complexity)]
pub fn new<'d, M, N, C, const RX: usize, const STORE: usize, const SUBS: usize, const TX: usize>(
    config: &Config<'_>,
    resources: &'d mut Resources<'d, M, N, C, RX, STORE, SUBS, TX>,
    connector: N,
    clock: C,
) -> Result<(Client<'d, M, N, C>, Runner<'d, M, N, C>), ConfigError>
where
    M: RawMutex,
    N: Connect,
    C: Clock,
{
    build(config, resources, connector, clock, None)
}

/// Creates a client and its runner in `resources`, as [`new`] does, with MQTT 5.0 enhanced authentication: every
/// connection authenticates with `authenticator` (method, initial data, answers to the broker's challenges), and
/// [`Client::reauthenticate`] re-authenticates. `STORE` keeps room for the method and the authenticator's largest
/// data, twice.
///
/// # Errors
///
/// As [`new`]; [`ConfigError::AuthenticationNeedsV5`] with a 3.1.1 configuration.
#[allow(clippy::type_complexity)]
pub fn new_with_authenticator<
    'd,
    M,
    N,
    C,
    const RX: usize,
    const STORE: usize,
    const SUBS: usize,
    const TX: usize,
>(
    config: &Config<'_>,
    resources: &'d mut Resources<'d, M, N, C, RX, STORE, SUBS, TX>,
    connector: N,
    clock: C,
    authenticator: &'d mut (dyn Authenticator + Send),
) -> Result<(Client<'d, M, N, C>, Runner<'d, M, N, C>), ConfigError>
where
    M: RawMutex,
    N: Connect,
    C: Clock,
{
    build(config, resources, connector, clock, Some(authenticator))
}

#[allow(clippy::type_complexity)]
fn build<'d, M, N, C, const RX: usize, const STORE: usize, const SUBS: usize, const TX: usize>(
    config: &Config<'_>,
    resources: &'d mut Resources<'d, M, N, C, RX, STORE, SUBS, TX>,
    connector: N,
    clock: C,
    authenticator: Option<&'d mut (dyn Authenticator + Send)>,
) -> Result<(Client<'d, M, N, C>, Runner<'d, M, N, C>), ConfigError>
where
    M: RawMutex,
    N: Connect,
    C: Clock,
{
    // Less than a byte each way: the runner could never write the CONNECT or read the CONNACK.
    if TX < 2 {
        return Err(ConfigError::TxTooSmall(TX));
    }
    let Resources {
        rx,
        store,
        subscriptions,
        tx,
        shared,
        ..
    } = resources;
    let buffers = Buffers {
        rx: rx.into(),
        store: store.into(),
        subscriptions: subscriptions.into(),
    };
    let session = match authenticator {
        Some(authenticator) => Session::with_authenticator(
            config,
            buffers,
            proto::session::AuthenticatorRef::Borrowed(authenticator),
        )?,
        None => Session::new(config, buffers)?,
    };
    let shared = &*shared.insert(Shared::new(session, clock));
    // The staging buffer serves both directions: bytes on their way out, bytes read and not yet taken.
    let (tx, rx) = tx.split_at_mut(TX / 2);
    let driver = Driver::new(connector, &shared.clock, tx.into(), rx.into());
    let client = Client {
        shared,
        _connector: PhantomData,
    };
    Ok((client, Runner { shared, driver }))
}

/// Why a [`Client`] command failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The session refused the message: invalid, too large, or the store is full
    /// ([`PublishError::QueueFull`]: nothing was queued; retry once earlier messages are acknowledged).
    #[error(transparent)]
    Publish(#[from] PublishError),
    /// The session refused the request: invalid, or the subscription table is full.
    #[error(transparent)]
    Subscribe(#[from] SubscribeError),
    /// The broker refused the message (5.0 reason code), or lost the session and the configuration says to report.
    #[error("the message was not delivered: {0}")]
    PublishFailed(PublishFailure),
    /// The broker refused a subscription or an unsubscription, with this code.
    #[error("the broker refused the request: {0}")]
    Refused(ReasonCode),
    /// The SUBSCRIBE or UNSUBSCRIBE packet does not fit the `TX` buffer: make it larger.
    #[error("the request does not fit the transmit buffer")]
    RequestTooLarge,
    /// More than [`FILTERS`] filters in one subscribe: subscribe in several calls.
    #[error("too many filters in one subscribe")]
    TooManyFilters,
    /// [`Delivery::wait_timeout`]'s time passed first; the message stays queued.
    #[error("timed out")]
    TimedOut,
    /// The session stopped reconnecting (permanent refusal or attempts used up): for the commands awaited then, and
    /// for every later one until it connects again; [`Client::connect`] starts again.
    #[error("the session gave up: {0}")]
    GaveUp(Disconnection),
    /// The client disconnected (or had not started) before the command completed, or its runner is gone.
    #[error("the client is disconnected")]
    Closed,
    /// [`SLOTS`] commands are awaited already (await or drop one first), or the [`Inbox`] has filters already.
    #[error("too many commands awaited at once")]
    Busy,
    /// A re-authentication could not start (no authenticator, not connected, one already running).
    #[error("cannot re-authenticate: {0}")]
    Reauthenticate(ReauthError),
    /// The connection ended before the re-authentication or the ping completed (the broker refused it, the
    /// client refused the broker's challenge, or the broker did not answer the ping in time).
    #[error("the connection ended first")]
    ConnectionLost,
    /// A ping could not be sent ([`PingError::NotConnected`]: wait for the connection, then ping).
    #[error("cannot ping: {0}")]
    Ping(PingError),
    /// The DISCONNECT with properties does not fit the room the configuration keeps for it
    /// ([`Config::text_len`]), or 3.1.1 cannot carry it.
    #[error("the DISCONNECT cannot be kept: {0}")]
    Disconnect(proto::EncodeError),
}

#[cfg(feature = "defmt")]
impl defmt::Format for Error {
    fn format(&self, f: defmt::Formatter<'_>) {
        defmt::write!(f, "{}", defmt::Debug2Format(self));
    }
}
