//! Test support shared by the `mqtt-*` crates (not published).
//!
//! Deterministic simulation (STYLE.md §7, DESIGN.md §6): a real [`Session`](mqtt_core::Session) talks to a
//! scriptable [`FakeBroker`] over a [`LinkModel`] in virtual time kept by a [`FakeClock`], all wired together by
//! [`Sim`]. Nothing sleeps and nothing is random unless seeded, so a run is reproducible from its seeds and a
//! failing test prints a [`Trace`] of what happened.
//!
//! - [`broker`]: [`FakeBroker`], a sans-IO broker for one client on the core codec, with knobs to misbehave.
//! - [`link`]: [`LinkModel`], a duplex byte pipe with latency, seeded jitter, close and cut-after-N-bytes.
//! - [`clock`]: [`FakeClock`], virtual time moved by hand.
//! - [`sim`]: [`Sim`], the session against the broker, stepped from one event to the next.
//! - [`trace`]: [`Trace`], the timestamped log of a simulation.
//! - [`capture`]: [`Capture`], a `tracing` subscriber that keeps what the std clients log, and
//!   [`logging_tests!`], the logging test of each binding.
//! - [`mosquitto`]: [`Mosquitto`], a real mosquitto broker started on free loopback ports with the listeners a
//!   [`MosquittoConfig`] asks for (plain, TLS and mutual TLS with certificates generated at start, WebSocket,
//!   secure WebSocket, password), killed by PID on drop, for interop tests against a real broker.
//! - [`cluster`]: real broker clusters on loopback ([`RabbitMq`](cluster::RabbitMq) 3.10 and
//!   [`Ejabberd`](cluster::Ejabberd) 23.01, the Debian packages), nodes that can be killed or hung, for the failover
//!   and cross-node tests.
//! - [`interop`]: [`interop_tests!`], the one list of interop tests against mosquitto, expanded by each async
//!   binding for its runtime.
//! - [`new_user`]: [`new_user_tests!`], the one list of new-user tests against mosquitto (the habits of paho-style
//!   and device-style clients), expanded by each async binding for its runtime.
//! - [`pieces`]: a peer that writes a byte pattern in pieces of every size, and its check, for the bindings'
//!   tests of their own socket reads.
//! - [`tcp_broker`]: [`TcpBroker`], the fake broker on a loopback TCP port served by a thread, for clients that
//!   open real sockets (mqtt-blocking).
//! - `tokio_link` (feature `tokio`, on by default): `Link`, the std clients' async event loop against a
//!   [`FakeBroker`] over in-memory connections with latency and a connect delay, in tokio's virtual time.
//! - [`interop_v5`]: [`interop_v5_tests!`], the MQTT 5.0 tests of the async bindings, against mosquitto and the
//!   fake broker served over TCP ([`tcp`]: [`FakeBrokerServer`]).
//! - [`strategy`]: proptest strategies that generate every MQTT control packet of both protocol versions, valid by
//!   construction, for round-trip and chunking properties.
//!
//! ```
//! use core::time::Duration;
//! use mqtt_core::Config;
//! use mqtt_core::codec::QoS;
//! use mqtt_test::{RecordedEvent, Sim, SimConfig};
//!
//! let mut sim = Sim::new(&Config::new("example"), SimConfig::default()).unwrap();
//! sim.connect();
//! sim.subscribe("a/#", QoS::ExactlyOnce).unwrap();
//! sim.publish("a/b", b"once", QoS::ExactlyOnce).unwrap();
//! sim.run_until_idle();
//! assert_eq!(sim.broker().received().len(), 1);
//! assert_eq!(sim.messages().len(), 1);
//! assert!(sim.events().contains(&RecordedEvent::Connected { session_present: false }));
//! ```

#![warn(missing_docs)]

pub mod auth;
pub mod broker;
pub mod capture;
pub mod clock;
pub mod cluster;
pub mod footprint;
pub mod interop;
pub mod interop_v5;
pub mod link;
pub mod memory;
pub mod mosquitto;
pub mod new_user;
pub mod pieces;
pub mod sim;
pub mod soak;
pub mod strategy;
pub mod tcp;
pub mod tcp_broker;
#[cfg(feature = "tokio")]
pub mod tokio_link;
pub mod trace;

pub use auth::HmacAuthenticator;
pub use broker::{
    BrokerAuth, BrokerConfig, BrokerSubscription, ConnectRecord, FakeBroker, Message, PacketRecord,
    V5Connect,
};
pub use capture::{Capture, Captured};
pub use clock::FakeClock;
pub use link::{Direction, End, LinkConfig, LinkEvent, LinkModel};
pub use mosquitto::{HarnessError, Listener, Mosquitto, MosquittoConfig};
pub use sim::{RecordedEvent, Sim, SimConfig};
pub use tcp::FakeBrokerServer;
pub use tcp_broker::TcpBroker;
pub use trace::{Trace, TraceEntry};

/// The root README's code examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
