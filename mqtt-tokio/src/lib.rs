//! MQTT 3.1.1 and 5.0 client for tokio.
//!
//! A thin binding of [`mqtt-core`](proto): the protocol (sessions, QoS flows, keep alive, reconnects, the offline
//! queue, MQTT 5.0) is the core's; this crate opens connections, keeps time on tokio's timer and carries commands and
//! messages between your tasks and the connection. Use it in a tokio application; the [table
//! below](#which-crate) names the crate for any other runtime.
//!
//! ```rust
//! use std::time::Duration;
//! use mqtt_tokio::{Options, QoS};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # // The doctest's broker: the test suite's fake broker on a free loopback port.
//! # let broker = mqtt_test::FakeBrokerServer::start(Default::default())?;
//! # let url = broker.url();
//! // `url` is your broker's, e.g. "mqtt://broker.local" or "mqtts://broker.local:8883".
//! let client = mqtt_tokio::connect(Options::new(&url)?.client_id("thermostat")).await?;
//!
//! // A subscription yields only the messages its filter matches.
//! let mut readings = client.subscribe("sensors/+/temperature", QoS::AtLeastOnce).await?;
//!
//! // `publish` answers at once (queued, or in flight); the Delivery resolves on the broker's PUBACK.
//! let delivery = client.publish("sensors/kitchen/temperature", "21.5", QoS::AtLeastOnce, false).await?;
//! delivery.wait_timeout(Duration::from_secs(5)).await?;
//!
//! // A full outgoing queue is an error at once (nothing dropped); publish_when_room waits for room instead.
//! for i in 0..1_000 {
//!     client.publish_when_room("sensors/kitchen/count", i.to_string(), QoS::AtLeastOnce, false).await?;
//! }
//!
//! let message = readings.recv().await.expect("the subscription is live");
//! assert_eq!((message.topic.as_str(), &message.payload[..]), ("sensors/kitchen/temperature", &b"21.5"[..]));
//!
//! // Waits for what is in flight, sends DISCONNECT, ends the event loop.
//! client.disconnect(Duration::from_secs(5)).await?;
//! # Ok(())
//! # }
//! ```
//!
//! [`connect`] spawns the [`EventLoop`] with `tokio::spawn` and waits for the first connection (it returns the real
//! cause when the broker cannot be reached or refuses). [`new`] gives the client and the event loop without
//! connecting: spawn [`EventLoop::run`] yourself (or await it), and watch [`Client::states`]. The [`Client`] is
//! cheap to clone; when the last clone is dropped, the event loop disconnects gracefully and ends (dropped by a
//! panic, the connection ends without DISCONNECT and the broker publishes the will).
//!
//! # Which crate
//!
//! One protocol core, one set of names; pick the crate of your runtime (switching is a change of crate name and of
//! `.await`):
//!
//! | you run | crate | shape |
//! |---|---|---|
//! | tokio | `mqtt-tokio` (this one) | async [`Client`] handle + [`EventLoop`] task; [`Subscription`]s are `Stream`s |
//! | smol, async-executor, any futures executor | `mqtt-smol` | the same API, on smol's reactor and timers |
//! | no async runtime: threads, command-line tools, GUIs | `mqtt-blocking` | the same names, blocking calls, callbacks on the event loop's thread (mio) |
//! | `no_std` microcontrollers (embassy, RTIC), fixed memory | `mqtt-embedded` | `Client` + `Runner` over `embedded-io-async`, capacities chosen at compile time, no allocator |
//! | your own I/O, or a simulation | `mqtt-core` | the sans-IO `Session`: bytes, commands and time in; bytes, events and deadlines out |
//!
//! # Transports and features
//!
//! The crate has no cargo features: every transport is built in and chosen by the URL's scheme. TCP (`mqtt://`,
//! `tcp://`), TLS (`mqtts://`, `ssl://`), WebSocket (`ws://`) and WebSocket over TLS (`wss://`, path `/mqtt` unless
//! the URL gives one), with the `mqtt` subprotocol. TLS is rustls with the `ring` provider; the broker's certificate
//! is always verified, against the system's root certificates or the CA given with [`Options::ca_pem`] or
//! [`Options::ca_der`]; [`Options::client_auth_pem`] and [`Options::client_auth_der`] add a client certificate for
//! mutual TLS. The server name is the URL's host. [`Options::from_env`] reads `MQTT_BROKER`, `MQTT_PORT`,
//! `MQTT_USERNAME` and `MQTT_PASSWORD`; [`Options::failover`] adds brokers to try in turn.
//!
//! A publisher faster than its broker keeps its window of QoS 1 and 2 messages full; on plain TCP (Linux,
//! Android) the socket is then asked to wake the client only once an eighth of the acknowledgements it is owed have come
//! (`SO_RCVLOWAT`, from the session's
//! [`read_low_water`](proto::session::Session::read_low_water)), so that a batch of messages goes out per
//! wake-up instead of one; an answer the client waits for (SUBACK, PINGRESP) is read at once. A subscriber under
//! a QoS 0 flood reads it in batches the same way ([`Options::read_batching`], default 4 KiB or 1 ms, whichever
//! comes first; a message that comes alone never waits). Setting that socket option is the crate's one `unsafe`
//! call: neither std nor the crates it uses offer it.
//!
//! ```no_run
//! use mqtt_tokio::Options;
//!
//! # async fn run() -> Result<(), mqtt_tokio::Error> {
//! let pem = |file| std::fs::read(file).expect("a PEM file");
//! let options = Options::new("mqtts://broker.local")?
//!     .ca_pem(pem("ca.pem"))
//!     .client_auth_pem(pem("client.pem"), pem("client-key.pem"));
//! // no_run: it needs that broker and those files.
//! let client = mqtt_tokio::connect(options).await?;
//! # drop(client);
//! # Ok(())
//! # }
//! ```
//!
//! # Delivery and backpressure
//!
//! Every queue has a capacity, and nothing is dropped silently (the [delivery rules](proto::client#delivery-rules)
//! say it in full):
//!
//! - **Publishing.** [`Client::publish`] queues the message in the session, connected or not, and answers at once.
//!   Messages wait there until acknowledged (QoS 1 and 2) or sent: at most [`Options::queue_bytes`] of them (default 4
//!   MiB). A full queue is an error ([`Error::Publish`] with [`PublishError::QueueFull`]): nothing was dropped;
//!   [`Client::publish_when_room`] waits for room instead (the backpressure of a publisher faster than its link). At
//!   most [`Options::max_inflight`] (default 64, and never more than the broker's Receive Maximum) are in flight at
//!   once; on a 3.1.1 connection [`Options::max_inflight_v311`], or else the `max_inflight` you gave, or else 20.
//! - **Receiving.** Each [`Subscription`] and each [`Client::messages`] stream holds at most
//!   [`Options::message_capacity`] messages (default 1,024) and [`Options::message_capacity_bytes`] bytes of them
//!   (default 4 MiB; one message larger than that still goes through). When a message finds a queue full, the event loop holds
//!   it and stops reading from the broker until the application takes a message: TCP and the broker's window push
//!   back, memory stays bounded. One slow reader therefore pauses every subscription of the client; a reader that
//!   never reads stops the client's incoming traffic (keep alive still runs: the pause is not taken for a dead
//!   broker).
//!   While the broker owes the application an answer (the acknowledgement of a message it published, a SUBACK, a
//!   reply), a full queue takes up to [`Options::receive_maximum`] more messages and twice its bytes instead of
//!   pausing: a reader that awaits its own publish's acknowledgement between two messages gets it.
//! - **Acknowledgement follows delivery.** A QoS 1 or 2 message is acknowledged to the broker once every queue it
//!   went to has given it to the application, in the order received. With [`Options::manual_ack`] it is
//!   acknowledged when you call [`Client::ack`] instead (after processing it, say): unacknowledged messages hold the
//!   broker's window, so acknowledge every one.
//! - [`Client::states`] keeps the latest 64 connection states for a listener that does not read; older ones are
//!   dropped (they are only notifications).
//! - **Waiting for the broker.** The calls that wait for its answer without a timeout of their own (`subscribe`,
//!   `unsubscribe`, [`Delivery::wait`], `reauthenticate`) wait as long as it takes; [`Options::ack_timeout`] bounds
//!   them ([`Error::Timeout`]; nothing is lost, the answer may still come). Each [`Delivery`] has an
//!   [`id`](Delivery::id), unique over the client's life; [`Client::ping`] measures the round trip to the broker;
//!   [`Client::stats`] says when bytes last went each way.
//!
//! ```rust
//! use std::time::Duration;
//! use mqtt_tokio::{Options, QoS};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let broker = mqtt_test::FakeBrokerServer::start(Default::default())?;
//! # let url = broker.url();
//! let options = Options::new(&url)?
//!     .client_id("ledger")
//!     .message_capacity(16) // at most 16 messages waiting per subscription
//!     .manual_ack(true); // PUBACK only once the application says so
//! let client = mqtt_tokio::connect(options).await?;
//! let mut orders = client.subscribe("orders/#", QoS::AtLeastOnce).await?;
//! client.publish("orders/17", "2 coffees", QoS::AtLeastOnce, false).await?;
//!
//! let order = orders.recv().await.expect("the subscription is live");
//! // ... store it durably, then:
//! client.ack(&order);
//! client.disconnect(Duration::from_secs(5)).await?;
//! # Ok(())
//! # }
//! ```
//!
//! # Cancel safety
//!
//! - [`Client::publish`] and its siblings complete on their first poll: the message is queued, or an error says why
//!   not. [`Delivery::wait`] and [`Delivery::wait_timeout`] are cancel-safe: the message stays queued (and is still
//!   sent and resent), only the notification is lost.
//! - [`Subscription::recv`] is cancel-safe: a message is taken only when it is returned.
//! - [`Client::subscribe`] (and `subscribe_many`, `subscribe_with`, `unsubscribe`) queue their request on the first
//!   poll: cancelled later, the request still reaches the broker, but the dropped subscription receives nothing
//!   (as when a [`Subscription`] is dropped: the broker keeps the subscription until [`Client::unsubscribe`]).
//! - [`Client::disconnect`] starts the disconnection on its first poll; cancelling it stops only the wait.
//! - [`Client::request`] cancelled: the request may still be published; its reply, if any, is dropped.
//! - Dropping the [`EventLoop::run`] future (or aborting its task) drops the connection without DISCONNECT (the broker
//!   publishes the will); the handles then see [`Error::Closed`].
//!
//! # MQTT 5.0
//!
//! The client speaks 5.0 and falls back to 3.1.1 with a broker that does not ([`Options::version`] pins one). Every
//! 5.0 feature is reachable from the same [`Client`]; the [`mqtt5`](proto::client::mqtt5) page of the core has a
//! section per feature with examples:
//!
//! - message properties both ways: [`Message`] builder and [`Client::publish_message`]; received messages carry
//!   theirs;
//! - subscription options (No Local, Retain As Published, Retain Handling), Subscription Identifiers, user
//!   properties: [`Client::subscribe_with`], [`Client::unsubscribe_with`];
//! - what the broker announced in CONNACK and the latest reason string: [`Client::server_info`],
//!   [`Client::last_reason`];
//! - topic aliases: [`Options::topic_aliases`]; will properties: [`LastWill`];
//! - request/response in one call: [`Client::request`], and the other side [`Client::respond`] /
//!   [`Client::responder`];
//! - consumer groups (shared subscriptions): [`Client::subscribe_shared`];
//! - enhanced authentication: [`Options::authenticator`], [`Client::reauthenticate`]; redirection:
//!   [`Options::follow_redirects`]; DISCONNECT with properties: [`Client::disconnect_with`].
//!
//! # Persistence and scaling out
//!
//! - With [`Options::persistence`] the session lives in a crash-safe file ([`Persistence`], [`Durability`]): a client
//!   restarted with the same file and client identifier resends what the previous run published and did not see
//!   acknowledged, and [`Client::recovered`] says how each of those messages ends. The repository's
//!   `docs/persistence.md` says what is kept and what is guaranteed.
//! - [`Options::failover`] gives a list of brokers (the nodes of a cluster), tried in turn; [`Client::subscribe_shared`]
//!   spreads a topic's messages over the members of a consumer group. The repository's `docs/scaling-out.md` says what
//!   the client guarantees when a node fails.
//!
//! Logs go through `tracing` (connection attempts, outcomes, reconnect delays; never a password or a payload), in a
//! span `mqtt` with the client identifier.
#![deny(unsafe_code)]
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
#![warn(missing_docs)]

mod clock;
mod event_loop;
mod tls;
mod transport;

pub use clock::TokioClock;
pub use event_loop::{EventLoop, Tokio, connect, new};
pub use proto::client::{
    Client, ConnectionState, Delivery, DisconnectOptions, Durability, Error, Filter, LastReason,
    LastWill, Message, Options, Persistence, Responder, ServerInfo, StoreError, SubscribeRequest,
    Subscription, SubscriptionIdChoice, TlsError, UnsubscribeRequest,
};
pub use proto::codec::{PacketType, ProtocolVersion, QoS, ReasonCode, RetainHandling};
pub use proto::reconnect::ReconnectPolicy;
pub use proto::session::{
    AuthError, Authenticator, ConnectRefusal, Disconnection, PingError, PublishFailure,
    ReauthError, Stats,
};
pub use proto::{ConfigError, PublishError, SubscribeError, TopicError};
pub use transport::{Connector, Stream};
