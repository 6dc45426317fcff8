//! Real broker clusters on loopback, for the failover and cross-node tests: [`RabbitMq`] (RabbitMQ 3.10 with
//! `rabbitmq_mqtt`, MQTT 3.1.1) and [`Ejabberd`] (ejabberd 23.01 with `mod_mqtt`, MQTT 5.0 and 3.1.1), both the
//! Debian packages.
//!
//! Started like the [`mosquitto`](crate::mosquitto) harness: everything lives in a fresh temp dir (configuration,
//! the Erlang cookie, databases, logs); each cluster runs its own `epmd` on a free loopback port (`ERL_EPMD_PORT`),
//! each node its MQTT listener and its Erlang distribution on free `127.0.0.1` ports, as the current user. Nothing
//! of the system services is used or touched. Every wait is bounded; dropping the cluster kills every node and the
//! `epmd` by PID and removes the temp dir.
//!
//! A [`Node`] can be killed ([`kill`](Node::kill), SIGKILL: its clients see their connections reset), hung
//! ([`pause`](Node::pause), SIGSTOP: the kernel still completes TCP handshakes to it, nothing answers) and resumed
//! ([`resume`](Node::resume)). Facts about the brokers that the tests build on:
//!
//! - RabbitMQ: the first node starts alone, the others join it as they boot (classic peer discovery); three nodes
//!   take ~40 s on two cores. A restarted node waits about 100 s for its client-id tracker before its MQTT
//!   listener answers: kill nodes, do not restart them. With `mqtt.durable_queue_type = quorum` a persistent
//!   session's queue has a replica on every node, so it survives the loss of its node while a majority is up; with
//!   two nodes a node loss leaves no majority and the survivor stops accepting MQTT connections.
//! - ejabberd: a node starts in ~3 s; the second joins the first with `join_cluster`. Sessions live on the node of
//!   their connection (a node loss loses them); subscriptions and routing are cluster-wide. It refuses `$share/`
//!   subscriptions (Shared Subscription Available = 0, then DISCONNECT `0x9E` in 5.0). Clients need a user name
//!   and a non-empty password (any: the harness enables anonymous login).
//!
//! When a package is missing, `start` fails with [`ClusterError::NotInstalled`] and the command that installs it
//! (`cargo xtask test --clusters` installs both): the tests fail, they never pass silently.

/// The accessors every cluster type has (its nodes, their URLs, its temp dir), for a struct with the fields
/// `nodes: Vec<Node>` and `dir: TempDir`.
macro_rules! node_accessors {
    ($cluster:ident) => {
        impl $cluster {
            /// The nodes, in start order.
            pub fn nodes(&self) -> &[$crate::cluster::Node] {
                &self.nodes
            }

            /// Node `i`.
            ///
            /// # Panics
            ///
            /// If there is no node `i`.
            pub fn node(&self, i: usize) -> &$crate::cluster::Node {
                &self.nodes[i]
            }

            /// Node `i`, to kill or pause it.
            ///
            /// # Panics
            ///
            /// If there is no node `i`.
            pub fn node_mut(&mut self, i: usize) -> &mut $crate::cluster::Node {
                &mut self.nodes[i]
            }

            /// The MQTT URL of every node, in order.
            pub fn urls(&self) -> Vec<String> {
                self.nodes.iter().map($crate::cluster::Node::url).collect()
            }

            /// The temp dir holding every node's configuration, database and log.
            pub fn dir(&self) -> &::std::path::Path {
                self.dir.path()
            }
        }
    };
}

mod ejabberd;
mod erlang;
mod rabbitmq;

use std::io::{Read as _, Write as _};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::ExitStatus;
use std::time::{Duration, Instant};

pub use ejabberd::{EJABBERD_NODE_START, EJABBERD_PASSWORD, EJABBERD_USER, Ejabberd};
pub use erlang::Node;
pub use rabbitmq::{RABBITMQ_NODE_START, RabbitMq};

/// How to install the cluster brokers, quoted by [`ClusterError::NotInstalled`].
pub const CLUSTER_INSTALL_HINT: &str = "apt-get install -y rabbitmq-server ejabberd";

/// Why a cluster could not be started or changed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClusterError {
    /// A program of the broker's package is missing.
    #[error(
        "`{program}` is not installed (package {package}); the cluster tests need it: run \
         `cargo xtask test --clusters` (installs it, then runs the tests) or `{CLUSTER_INSTALL_HINT}`"
    )]
    NotInstalled {
        /// What was looked for.
        program: String,
        /// The Debian package that has it.
        package: &'static str,
    },
    /// A file or process operation failed.
    #[error("{what}: {source}")]
    Io {
        /// What the harness was doing.
        what: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A node exited while the harness waited for it.
    #[error("node {node} exited ({status}); its log:\n{log}")]
    Exited {
        /// The node's name.
        node: String,
        /// How it exited.
        status: ExitStatus,
        /// The end of its log.
        log: String,
    },
    /// Something did not happen in time.
    #[error("{what}: not done within {waited:?}; log:\n{log}")]
    Timeout {
        /// What the harness waited for.
        what: String,
        /// How long it waited.
        waited: Duration,
        /// The end of the relevant log.
        log: String,
    },
    /// An administration command (an Erlang remote call, `join_cluster`...) failed.
    #[error("{what} failed: {output}")]
    Command {
        /// The command.
        what: String,
        /// What it printed.
        output: String,
    },
}

pub(crate) fn io_error(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> ClusterError {
    let what = what.into();
    move |source| ClusterError::Io { what, source }
}

/// Whether an MQTT 3.1.1 CONNECT to `127.0.0.1:port` is accepted within `timeout` (a CONNACK with return code 0):
/// the listener answers, not only accepts TCP. The probe disconnects cleanly.
pub fn mqtt_answers(port: u16, credentials: Option<(&str, &str)>, timeout: Duration) -> bool {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, timeout) else {
        return false;
    };
    if stream.set_read_timeout(Some(timeout)).is_err() {
        return false;
    }
    let client_id = format!("mqtt-test-probe-{port}");
    let mut body = Vec::new();
    body.extend_from_slice(&[0, 4, b'M', b'Q', b'T', b'T', 4]);
    let flags = match credentials {
        Some(_) => 0xc2,
        None => 0x02,
    };
    body.extend_from_slice(&[flags, 0, 30]);
    let mut field = |text: &str| {
        let len = u16::try_from(text.len()).unwrap_or(u16::MAX);
        body.extend_from_slice(&len.to_be_bytes());
        body.extend_from_slice(text.as_bytes());
    };
    field(&client_id);
    if let Some((user, password)) = credentials {
        field(user);
        field(password);
    }
    let Ok(len) = u8::try_from(body.len()) else {
        return false;
    };
    let mut packet = vec![0x10, len];
    packet.extend_from_slice(&body);
    if stream.write_all(&packet).is_err() {
        return false;
    }
    let mut connack = [0; 4];
    let accepted = stream.read_exact(&mut connack).is_ok() && connack == [0x20, 2, 0, 0];
    let _ = stream.write_all(&[0xe0, 0]);
    accepted
}

/// Polls `ready` every 100 ms until it is true or `waited` has passed since `started`.
pub(crate) fn wait_until(
    started: Instant,
    waited: Duration,
    mut ready: impl FnMut() -> bool,
) -> bool {
    loop {
        if ready() {
            return true;
        }
        if started.elapsed() >= waited {
            return false;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The last `max` bytes of a text file, for error messages.
pub(crate) fn tail(path: &PathBuf, max: usize) -> String {
    let bytes = std::fs::read(path).unwrap_or_default();
    let start = bytes.len().saturating_sub(max);
    String::from_utf8_lossy(bytes.get(start..).unwrap_or_default()).into_owned()
}
