//! The in-process broker of the quickstart and the examples: a real MQTT broker ([rumqttd]) on a free loopback port,
//! so that they run on a machine with nothing installed.
//!
//! rumqttd has two parts: a router (sessions, subscriptions, retained messages) on a thread of its own, and a
//! listener that accepts TCP connections and hands them to the router. [`InProcessBroker`] runs the listener on
//! a thread with its own tokio runtime, so that [`stop`](InProcessBroker::stop) can end it together with every
//! connection it accepted, and [`restart`](InProcessBroker::restart) can listen again on the same port: what a
//! client sees when a broker goes down and comes back.
//!
//! The router thread cannot be stopped (rumqttd has no way to); it ends with the process.

use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use std::future::Future;
use std::pin::Pin;

use futures::channel::oneshot;
use rumqttd::protocol::v4::V4;
use rumqttd::protocol::v5::V5;
use rumqttd::{ConnectionSettings, LinkType, Router, RouterConfig, Server, ServerSettings};

/// How long [`InProcessBroker::start`] and [`restart`](InProcessBroker::restart) wait for the port to accept.
const LISTEN_TIMEOUT: Duration = Duration::from_secs(5);

/// A listener's work: accept connections and serve them until dropped.
type Serve = Pin<Box<dyn Future<Output = ()> + Send>>;

/// An MQTT broker in this process, listening on `127.0.0.1` (plain TCP, no authentication): MQTT 5.0
/// ([`start`](Self::start)), or only 3.1.1 ([`start_v311`](Self::start_v311)).
pub struct InProcessBroker {
    address: SocketAddr,
    /// Makes a listener that feeds the router. (A closure, because rumqttd does not export the name of the
    /// router's channel type.)
    new_server: Box<dyn Fn() -> Serve + Send>,
    listener: Option<Listener>,
}

/// A running listener: its thread, and the signal that ends it.
struct Listener {
    stop: oneshot::Sender<()>,
    thread: JoinHandle<()>,
}

impl std::fmt::Debug for InProcessBroker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InProcessBroker")
            .field("address", &self.address)
            .field("listening", &self.is_listening())
            .finish_non_exhaustive()
    }
}

impl InProcessBroker {
    /// Starts a broker on a free loopback port and returns once the port accepts connections.
    ///
    /// # Errors
    ///
    /// No free port, a thread that cannot be spawned, or a listener that did not come up in time.
    pub fn start() -> io::Result<Self> {
        Self::start_speaking(false, None)
    }

    /// Starts a broker that speaks only MQTT 3.1.1 (rumqttd's v4 listener), as [`start`](Self::start) does. It
    /// closes the connection of a 5.0 CONNECT without an answer, as many 3.1.1-only brokers do.
    ///
    /// # Errors
    ///
    /// As [`start`](Self::start).
    pub fn start_v311() -> io::Result<Self> {
        Self::start_speaking(true, None)
    }

    /// Starts a 3.1.1-only broker, as [`start_v311`](Self::start_v311) does, that accepts only `user` with
    /// `password`. rumqttd closes the connection of other clients without a CONNACK.
    ///
    /// # Errors
    ///
    /// As [`start`](Self::start).
    pub fn start_v311_with_user(user: &str, password: &str) -> io::Result<Self> {
        let users = [(user.to_owned(), password.to_owned())]
            .into_iter()
            .collect();
        Self::start_speaking(true, Some(users))
    }

    fn start_speaking(
        only_v311: bool,
        users: Option<std::collections::HashMap<String, String>>,
    ) -> io::Result<Self> {
        // Port 0 asks the system for a free port; rumqttd binds by address, so free it again and hand it over.
        let address = TcpListener::bind("127.0.0.1:0")?.local_addr()?;
        let router = Router::new(
            0,
            RouterConfig {
                max_connections: 100,
                max_outgoing_packet_count: 200,
                max_segment_size: 1024 * 1024,
                max_segment_count: 10,
                ..RouterConfig::default()
            },
        );
        let router = router.spawn();
        let settings = ServerSettings {
            name: "in-process".into(),
            listen: address,
            tls: None,
            next_connection_delay_ms: 0,
            connections: ConnectionSettings {
                connection_timeout_ms: 10_000,
                max_payload_size: 1024 * 1024,
                max_inflight_count: 100,
                auth: users,
                external_auth: None,
                dynamic_filters: true,
            },
        };
        let new_server = move || -> Serve {
            if only_v311 {
                let mut server = Server::new(settings.clone(), router.clone(), V4);
                Box::pin(async move {
                    let _ = server.start(LinkType::Remote).await;
                })
            } else {
                let mut server = Server::new(settings.clone(), router.clone(), V5);
                Box::pin(async move {
                    let _ = server.start(LinkType::Remote).await;
                })
            }
        };
        let mut broker = Self {
            address,
            new_server: Box::new(new_server),
            listener: None,
        };
        broker.restart()?;
        Ok(broker)
    }

    /// The broker's URL, `mqtt://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("mqtt://{}", self.address)
    }

    /// The broker's address, `127.0.0.1:PORT`.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Whether the broker is accepting connections (not [`stop`](Self::stop)ped).
    pub fn is_listening(&self) -> bool {
        self.listener.is_some()
    }

    /// Stops listening and closes every connection, like a broker process that went down. Sessions and retained
    /// messages stay in the router. Does nothing if already stopped.
    pub fn stop(&mut self) {
        if let Some(listener) = self.listener.take() {
            let _ = listener.stop.send(());
            // The thread ends when its runtime is dropped, with every connection task and socket it had.
            let _ = listener.thread.join();
        }
    }

    /// Listens again on the same port (after [`stop`](Self::stop)) and returns once the port accepts connections.
    /// Does nothing if already listening.
    ///
    /// # Errors
    ///
    /// A thread that cannot be spawned, or a listener that did not come up in time (for example, because another
    /// program took the port meanwhile).
    pub fn restart(&mut self) -> io::Result<()> {
        if self.listener.is_some() {
            return Ok(());
        }
        let serve = (self.new_server)();
        let (stop, stopped) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("in-process-broker".into())
            .spawn(move || {
                let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                else {
                    return;
                };
                runtime.block_on(async {
                    tokio::select! {
                        () = serve => {}
                        _ = stopped => {}
                    }
                });
            })?;
        self.listener = Some(Listener { stop, thread });
        self.wait_until_listening()
    }

    /// Polls the port until it accepts a TCP connection (the probe connection closes without sending anything).
    fn wait_until_listening(&mut self) -> io::Result<()> {
        let deadline = Instant::now() + LISTEN_TIMEOUT;
        loop {
            match TcpStream::connect_timeout(&self.address, Duration::from_millis(200)) {
                Ok(_) => return Ok(()),
                Err(e) if Instant::now() >= deadline => {
                    self.stop();
                    return Err(io::Error::new(
                        e.kind(),
                        format!(
                            "the in-process broker did not listen on {}: {e}",
                            self.address
                        ),
                    ));
                }
                Err(_) => std::thread::sleep(Duration::from_millis(10)),
            }
        }
    }
}

impl Drop for InProcessBroker {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The broker the examples use: `None` when `MQTT_BROKER` names one (connect with `Options::from_env()`), or else
/// an in-process broker (connect to its [`url`](InProcessBroker::url)).
///
/// # Errors
///
/// As [`InProcessBroker::start`].
pub fn start_unless_configured() -> io::Result<Option<InProcessBroker>> {
    if std::env::var_os("MQTT_BROKER").is_some_and(|v| !v.is_empty()) {
        Ok(None)
    } else {
        InProcessBroker::start().map(Some)
    }
}
