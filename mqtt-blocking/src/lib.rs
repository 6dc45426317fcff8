//! MQTT 3.1.1 and 5.0 client for plain threads, with no async runtime inside.
//!
//! A thin binding of [`mqtt-core`](proto): the protocol (sessions, QoS flows, keep alive, reconnects, the offline
//! queue, MQTT 5.0) is the core's session; this crate runs it with `poll(2)` on one thread (yours with
//! [`EventLoop::run`], or its own with [`EventLoop::start`]), opens connections, and carries commands, messages and
//! states between your threads and the session. A connection holds two file descriptors on Linux: its socket and
//! the loop's wake-up eventfd. Use it where there is no async runtime: services built on threads,
//! command-line tools, GUIs, gateways. Names match `mqtt-tokio` and `mqtt-smol` where the concept is the same:
//! [`Options`], [`connect`], [`new`], [`Client`], [`ConnectionState`], [`Error`].
//!
//! ```rust
//! use std::sync::mpsc;
//! use std::time::Duration;
//! use mqtt_blocking::{Options, QoS};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # // The doctest's broker: the test suite's fake broker on a free loopback port.
//! # let broker = mqtt_test::FakeBrokerServer::start(Default::default())?;
//! # let url = broker.url();
//! // `url` is your broker's, e.g. "mqtt://broker.local" or "mqtts://broker.local:8883".
//! let client = mqtt_blocking::connect(&Options::new(&url)?.client_id("thermostat"))?;
//!
//! // The callback runs on the event loop's thread for every message the filter matches.
//! let (readings, received) = mpsc::channel();
//! client
//!     .subscribe("sensors/+/temperature", QoS::AtLeastOnce, move |_client, message| {
//!         let _ = readings.send((message.topic.clone(), message.payload.clone()));
//!     })?
//!     .wait_timeout(Duration::from_secs(5))?; // the broker granted it
//!
//! // `publish` answers at once (queued, or in flight); the Delivery completes on the broker's PUBACK.
//! client
//!     .publish("sensors/kitchen/temperature", "21.5", QoS::AtLeastOnce, false)?
//!     .wait_timeout(Duration::from_secs(5))?;
//!
//! let (topic, payload) = received.recv_timeout(Duration::from_secs(5))?;
//! assert_eq!((topic.as_str(), &payload[..]), ("sensors/kitchen/temperature", &b"21.5"[..]));
//!
//! // Waits for what is in flight, sends DISCONNECT, ends the event loop.
//! client.disconnect(Duration::from_secs(5))?;
//! # Ok(())
//! # }
//! ```
//!
//! [`connect`] starts the [`EventLoop`] on a thread of its own and blocks until the broker accepts the first
//! connection (or returns the real cause). [`new`] gives the client and the event loop without connecting: call
//! [`EventLoop::run`] on a thread of yours, or [`EventLoop::start`]. The [`Client`] is cheap to clone and usable from
//! any thread; when the last clone is dropped, the event loop disconnects gracefully and ends (dropped by a panic,
//! the connection ends without DISCONNECT and the broker publishes the will). [`Client::messages`]
//! gives every message as an iterator with [`Messages::recv_timeout`], for code that prefers polling to callbacks.
//!
//! # Which crate
//!
//! One protocol core, one set of names; pick the crate of your runtime:
//!
//! | you run | crate | shape |
//! |---|---|---|
//! | tokio | `mqtt-tokio` | async `Client` handle + `EventLoop` task; subscriptions are `Stream`s |
//! | smol, async-executor, any futures executor | `mqtt-smol` | the same API as mqtt-tokio, on smol's reactor and timers |
//! | no async runtime: threads, command-line tools, GUIs | `mqtt-blocking` (this one) | blocking calls, callbacks on the event loop's thread (`poll(2)`) |
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
//! mutual TLS. [`Options::from_env`] reads `MQTT_BROKER`, `MQTT_PORT`, `MQTT_USERNAME` and `MQTT_PASSWORD`;
//! [`Options::failover`] adds brokers to try in turn.
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
//! # Callbacks
//!
//! Callbacks ([`Client::subscribe`], [`Client::on_message`], [`Client::on_state`], [`Client::on_connecting`],
//! [`Client::on_loop_failure`]) run on the event loop's thread, one at a time, never under a lock: they may publish,
//! subscribe or read the statistics through the client they are given. They must not wait for what only the loop
//! can bring: [`Pending::wait`] and [`Client::wait_connected`] fail with [`Error::WaitInCallback`] there instead of
//! blocking forever, and [`Client::disconnect`] only starts the disconnection.
//!
//! A callback that panics does not harm the session: the panic is caught, reported to the
//! [`Client::on_loop_failure`] callbacks as [`Error::CallbackPanicked`], and the loop goes on with the next
//! callback. A callback that blocks for long holds up the loop: nothing is read or written meanwhile, so the broker
//! may close the connection when the keep alive runs out (the session then reconnects, and QoS 1 and 2 messages
//! are resent as usual).
//!
//! # Delivery and backpressure
//!
//! Every queue has a capacity, and nothing is dropped silently (the [delivery rules](proto::client#delivery-rules)
//! say it in full):
//!
//! - **Publishing.** [`Client::publish`] queues the message in the session, connected or not, and answers at once.
//!   Messages wait there until acknowledged (QoS 1 and 2) or sent: at most [`Options::queue_bytes`] of them (default 4
//!   MiB). A full queue is an error ([`Error::Publish`] with [`PublishError::QueueFull`]): nothing was dropped;
//!   [`Client::publish_when_room`] waits for room instead, up to your timeout (the backpressure of a publisher faster
//!   than its link). At most [`Options::max_inflight`] (default 64, and never more than the broker's Receive Maximum)
//!   are in flight at once; on a 3.1.1 connection [`Options::max_inflight_v311`], or else the `max_inflight` you gave,
//!   or else 20.
//! - **Receiving.** Messages wait for their callback (or in the [`Client::messages`] iterator) in bounded queues of
//!   [`Options::message_capacity`] messages (default 1,024) and [`Options::message_capacity_bytes`] bytes of them
//!   (default 4 MiB; one message larger than that still goes through). When a message finds a queue full, the event loop holds
//!   it and stops reading from the broker until there is room: TCP and the broker's window push back, memory stays
//!   bounded. One slow consumer therefore pauses every subscription of the client.
//!   While the broker owes the application an answer (the acknowledgement of a message it published, a SUBACK, a
//!   reply), a full queue takes up to [`Options::receive_maximum`] more messages and twice its bytes instead of
//!   pausing: a thread that reads [`Client::messages`] and waits for its own publish's acknowledgement between two
//!   messages gets it. (A callback cannot wait: it runs on the event loop's thread, [`Error::WaitInCallback`].)
//! - **Acknowledgement follows delivery.** A QoS 1 or 2 message is acknowledged to the broker once its callbacks
//!   have returned and every queue it went to has given it to the application, in the order received. With
//!   [`Options::manual_ack`] it is acknowledged when you call [`Client::ack`] instead: unacknowledged messages hold
//!   the broker's window, so acknowledge every one.
//! - [`Pending::wait_timeout`] bounds a wait; what was asked for stays queued after a timeout.
//! - [`Options::ack_timeout`] bounds every [`Pending::wait`] and [`Delivery::wait`] (by default they wait as long as
//!   it takes). Each [`Delivery`] has an [`id`](Delivery::id), unique over the client's life; [`Client::ping`]
//!   measures the round trip to the broker; [`Client::stats`] says when bytes last went each way.
//!
//! # MQTT 5.0
//!
//! The client speaks 5.0 and falls back to 3.1.1 with a broker that does not ([`Options::version`] pins one). The
//! core's [`mqtt5`](proto::client::mqtt5) page has a section per feature with examples:
//!
//! - message properties both ways: [`Message`] builder and [`Client::publish_message`]; received messages carry
//!   theirs;
//! - subscription options, Subscription Identifiers, user properties: [`Client::subscribe_with`],
//!   [`Client::unsubscribe_with`];
//! - what the broker announced and the latest reason string: [`Client::server_info`], [`Client::last_reason`];
//! - topic aliases: [`Options::topic_aliases`]; will properties: [`LastWill`];
//! - request/response: [`Client::request`] (blocks for the reply; not from a callback) and [`Client::respond`];
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

mod client;
mod client_v5;
mod event_loop;
mod transport;
mod wakeup;
mod when_room;

pub use client::{Client, Delivery, Messages, Pending};
pub use event_loop::{EventLoop, LoopHandle, connect, new};
pub use proto::client::{
    ConnectionState, DisconnectOptions, Durability, Error, Filter, Granted, LastReason, LastWill,
    Message, Options, Persistence, ServerInfo, StoreError, SubscribeRequest, SubscriptionIdChoice,
    TlsError, UnsubscribeRequest,
};
pub use proto::codec::{PacketType, ProtocolVersion, QoS, ReasonCode, RetainHandling};
pub use proto::reconnect::ReconnectPolicy;
pub use proto::session::{
    AuthError, Authenticator, ConnectRefusal, Disconnection, PingError, PublishFailure,
    ReauthError, Stats,
};
pub use proto::{ConfigError, PublishError, SubscribeError, TopicError};
pub use transport::{Connector, Stream};
