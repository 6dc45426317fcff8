//! [`Mosquitto`]: a real mosquitto broker (the Debian package) for interop tests and benchmarks (DESIGN.md §5).
//!
//! [`Mosquitto::start`] writes a `mosquitto.conf` into a fresh temp dir, with listeners on free `127.0.0.1` ports
//! as the [`MosquittoConfig`] asks (plain always; TLS, mutual TLS, WebSocket, secure WebSocket and a password
//! listener when wanted), generates the certificates of the TLS listeners with rcgen, starts `mosquitto -c FILE`
//! and waits until every listener accepts TCP. [`kill`](Mosquitto::kill) ends it abnormally (SIGKILL),
//! [`restart`](Mosquitto::restart) starts it again on the same ports with the same persistence database, and
//! dropping the value kills the process by PID and removes the temp dir.
//!
//! When mosquitto is not installed, `start` fails and says how to install it: interop tests fail, they never pass
//! or skip silently (STYLE.md §7).
//!
//! ```no_run
//! use mqtt_test::mosquitto::{Listener, Mosquitto, MosquittoConfig};
//!
//! let broker = Mosquitto::start(MosquittoConfig::default().with_tls())?;
//! println!("plain: {}", broker.url(Listener::Plain)); // mqtt://127.0.0.1:PORT
//! println!("tls: {}", broker.url(Listener::Tls)); // mqtts://localhost:PORT
//! let ca_pem: &str = broker.ca_pem().expect("TLS listener asked for");
//! # let _ = ca_pem;
//! # Ok::<(), mqtt_test::mosquitto::HarnessError>(())
//! ```
//!
//! The broker's log (everything, timestamped) goes to a file in the temp dir; [`log`](Mosquitto::log) reads it for
//! failure messages, and start failures carry it.

mod certs;
mod config;
mod error;
mod log;
pub(crate) mod setup;

use std::fs::{self, OpenOptions};
use std::io::Write as _;
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use tempfile::TempDir;

pub use certs::X509V1Client;
pub use config::{Listener, MosquittoConfig, ServerCertificate};
pub use error::{HarnessError, INSTALL_HINT};

use certs::Certs;
use error::io_error;
use setup::{find_program, free_ports, port_taken, write, write_password_file};

/// How long [`Mosquitto::start`] and [`Mosquitto::restart`] wait for every listener to accept.
pub const START_TIMEOUT: Duration = Duration::from_secs(10);

/// How many times `start` picks new ports when one it picked was taken before mosquitto could bind it.
const START_ATTEMPTS: usize = 5;

/// A running mosquitto on loopback ports, killed by PID and cleaned up on drop. See the [module docs](self).
#[derive(Debug)]
pub struct Mosquitto {
    program: PathBuf,
    /// Removed on drop, after the process is gone.
    dir: TempDir,
    config_path: PathBuf,
    log_path: PathBuf,
    ports: Vec<(Listener, u16)>,
    certs: Option<Certs>,
    config: MosquittoConfig,
    child: Option<Child>,
}

impl Mosquitto {
    /// Writes the configuration, starts mosquitto and waits (at most [`START_TIMEOUT`]) until every listener
    /// accepts TCP.
    ///
    /// # Errors
    ///
    /// [`HarnessError::NotInstalled`] with the install command when mosquitto (or `mosquitto_passwd`, for a
    /// password listener) is missing; [`HarnessError::Exited`] or [`HarnessError::Timeout`] with the broker's log
    /// when it does not come up; [`HarnessError::Io`], [`HarnessError::Config`] or
    /// [`HarnessError::Certificates`] when the temp dir cannot be prepared.
    pub fn start(config: MosquittoConfig) -> Result<Self, HarnessError> {
        let program = find_program("mosquitto")?;
        let dir = tempfile::Builder::new()
            .prefix("mqtt-test-mosquitto-")
            .tempdir()
            .map_err(io_error("creating the broker's temp dir"))?;
        let path = |name: &str| dir.path().join(name);
        let files = config::Files {
            dir: dir.path().to_owned(),
            log: path("mosquitto.log"),
            ca: path("ca.pem"),
            server_cert: path("server.pem"),
            server_key: path("server-key.pem"),
            passwords: path("passwords"),
            acl: path("acl"),
            client_cas: path("client-cas.pem"),
        };
        let certs = if config.needs_certificates() {
            let certs = Certs::generate(config.server_certificate)?;
            write(&files.ca, &certs.ca)?;
            write(&files.server_cert, &certs.server)?;
            write(&files.server_key, &certs.server_key)?;
            write(&path("client.pem"), &certs.client)?;
            write(&path("client-key.pem"), &certs.client_key)?;
            if let Some(extra) = &config.client_ca {
                write(&files.client_cas, &format!("{}\n{extra}\n", certs.ca))?;
            }
            Some(certs)
        } else {
            None
        };
        if let Some(users) = &config.password_file {
            write_password_file(&files.passwords, users)?;
        }
        if let Some(acl) = &config.acl {
            write(&files.acl, acl)?;
        }

        let mut broker = Self {
            program,
            config_path: path("mosquitto.conf"),
            log_path: files.log.clone(),
            ports: Vec::new(),
            certs,
            config,
            child: None,
            dir,
        };
        let kinds = broker.config.listeners();
        let mut attempt = 1;
        loop {
            let ports = free_ports(kinds.len())?;
            broker.ports = kinds.iter().copied().zip(ports).collect();
            write(
                &broker.config_path,
                &config::render(&broker.config, &broker.ports, &files),
            )?;
            let start_of_log = broker.log_len();
            match broker.launch() {
                // Another process took one of the ports between the probe and mosquitto's bind: new ports.
                Err(HarnessError::Exited { .. })
                    if attempt < START_ATTEMPTS && port_taken(&broker.log_since(start_of_log)) =>
                {
                    attempt += 1;
                    broker.note(&format!(
                        "mqtt-test: a port was taken, attempt {attempt} with new ports"
                    ));
                }
                Err(error) => return Err(error),
                Ok(()) => return Ok(broker),
            }
        }
    }

    /// Starts mosquitto again with the same configuration, on the same ports, with the same persistence database
    /// (so with [`MosquittoConfig::persistence`] it comes back with what it had saved), and waits until every
    /// listener accepts. A broker still running is killed first, as by [`kill`](Self::kill).
    ///
    /// # Errors
    ///
    /// [`HarnessError::Exited`] or [`HarnessError::Timeout`] with the log when it does not come up (for example
    /// when another process took one of its ports meanwhile).
    pub fn restart(&mut self) -> Result<(), HarnessError> {
        self.kill();
        self.note("mqtt-test: restart");
        self.launch()
    }

    /// Kills the broker with SIGKILL, an abnormal stop: it saves nothing more to its database and its clients
    /// see their connections drop without DISCONNECT. Waits for the process to end; does nothing if it is not
    /// running.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            // Fails only when the process has already ended; `wait` reaps it either way.
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Stops the broker with SIGTERM, as a service manager would: it saves its database (with
    /// [`MosquittoConfig::persistence`], every session and every message not yet acknowledged to it) and closes its
    /// connections, which its clients see drop without DISCONNECT. Killed after 5 s if still running. A SIGKILL
    /// ([`kill`](Self::kill)) can lose messages mosquitto acknowledged but had not saved yet: use this when a test
    /// means to check what the client keeps, not what the broker loses.
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let asked = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .is_ok_and(|status| status.success());
        let deadline = Instant::now() + Duration::from_secs(5);
        while asked && Instant::now() < deadline {
            if matches!(child.try_wait(), Ok(Some(_))) {
                return;
            }
            thread::sleep(Duration::from_millis(10));
        }
        let _ = child.kill();
        let _ = child.wait();
    }

    /// Whether the process is still running (it may have died on its own).
    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|child| matches!(child.try_wait(), Ok(None)))
    }

    /// The PID of the running process, `None` after [`kill`](Self::kill).
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// The port of a listener, if the configuration asked for it.
    pub fn port(&self, kind: Listener) -> Option<u16> {
        self.ports
            .iter()
            .find_map(|&(listener, port)| (listener == kind).then_some(port))
    }

    /// The port of the plain listener (MQTT over TCP, anonymous).
    pub fn plain_port(&self) -> u16 {
        self.port(Listener::Plain)
            .expect("the plain listener is always configured")
    }

    /// The port of the TLS listener.
    pub fn tls_port(&self) -> Option<u16> {
        self.port(Listener::Tls)
    }

    /// The port of the mutual-TLS listener.
    pub fn mtls_port(&self) -> Option<u16> {
        self.port(Listener::Mtls)
    }

    /// The port of the WebSocket listener.
    pub fn ws_port(&self) -> Option<u16> {
        self.port(Listener::Ws)
    }

    /// The port of the secure WebSocket listener.
    pub fn wss_port(&self) -> Option<u16> {
        self.port(Listener::Wss)
    }

    /// The port of the password listener.
    pub fn password_port(&self) -> Option<u16> {
        self.port(Listener::Password)
    }

    /// The configuration it was started with.
    pub fn config(&self) -> &MosquittoConfig {
        &self.config
    }

    /// Every configured listener with its port.
    pub fn listeners(&self) -> &[(Listener, u16)] {
        &self.ports
    }

    /// The URL of a listener, as [`Listener::url`] writes it.
    ///
    /// # Panics
    ///
    /// If the configuration did not ask for that listener.
    pub fn url(&self, kind: Listener) -> String {
        let port = self.port(kind).unwrap_or_else(|| {
            panic!("the broker has no {kind:?} listener: enable it in MosquittoConfig")
        });
        kind.url(port)
    }

    /// The generated CA certificate (PEM) that signed the server and client certificates, when a TLS listener
    /// was asked for.
    pub fn ca_pem(&self) -> Option<&str> {
        self.certs.as_ref().map(|certs| certs.ca.as_str())
    }

    /// The client certificate (PEM) for the mutual-TLS listener, when a TLS listener was asked for.
    pub fn client_cert_pem(&self) -> Option<&str> {
        self.certs.as_ref().map(|certs| certs.client.as_str())
    }

    /// The private key (PKCS#8 PEM) of [`client_cert_pem`](Self::client_cert_pem).
    pub fn client_key_pem(&self) -> Option<&str> {
        self.certs.as_ref().map(|certs| certs.client_key.as_str())
    }

    /// The file holding [`ca_pem`](Self::ca_pem), for tools such as `mosquitto_sub --cafile`.
    pub fn ca_path(&self) -> Option<PathBuf> {
        self.certs.as_ref().map(|_| self.dir.path().join("ca.pem"))
    }

    /// The file holding [`client_cert_pem`](Self::client_cert_pem).
    pub fn client_cert_path(&self) -> Option<PathBuf> {
        self.certs
            .as_ref()
            .map(|_| self.dir.path().join("client.pem"))
    }

    /// The file holding [`client_key_pem`](Self::client_key_pem).
    pub fn client_key_path(&self) -> Option<PathBuf> {
        self.certs
            .as_ref()
            .map(|_| self.dir.path().join("client-key.pem"))
    }

    /// The persistence database, with [`MosquittoConfig::persistence`]. mosquitto writes it whole (a new file
    /// renamed over the old one) after every change, so once it exists it holds at least the first change.
    pub fn persistence_path(&self) -> Option<PathBuf> {
        self.config
            .persistence
            .then(|| self.dir.path().join("mosquitto.db"))
    }

    /// The temp dir holding the configuration, log, certificates and database; removed on drop.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// How many QoS 2 messages the broker sent `client_id` again as a PUBLISH after one of its restarts, where the
    /// spec asks for their PUBREL again (`[MQTT-4.4.0-1]`): it had sent their PUBREL before the restart, without
    /// getting the PUBCOMP. Each may reach the application twice through no fault of the client (which may have
    /// completed the flow and freed the packet identifier). mosquitto 2.0 does this after restoring its
    /// persistence database; read from its log.
    pub fn pubrels_resent_as_publish(&self, client_id: &str) -> usize {
        log::pubrels_resent_as_publish(&self.log(), client_id)
    }

    /// The broker's log so far (every start, with the harness's own notes), for failure messages.
    pub fn log(&self) -> String {
        fs::read(&self.log_path)
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
            .unwrap_or_else(|error| format!("(cannot read {}: {error})", self.log_path.display()))
    }

    /// A `mosquitto_pub`, `mosquitto_sub` or `mosquitto_rr` command (found on PATH) aimed at a listener: host,
    /// port and, for the TLS listeners, `--cafile` (and `--cert`/`--key` for mutual TLS). The caller adds the
    /// rest (`-t`, `-m`, `-C`, `-W`, `-u`/`-P` for the password listener, and so on).
    ///
    /// # Panics
    ///
    /// For a WebSocket listener (the mosquitto clients cannot speak it) or a listener that was not configured.
    pub fn client_command(&self, program: &str, kind: Listener) -> Command {
        assert!(
            !kind.is_websocket(),
            "the mosquitto command-line clients do not speak WebSocket"
        );
        let port = self.port(kind).unwrap_or_else(|| {
            panic!("the broker has no {kind:?} listener: enable it in MosquittoConfig")
        });
        let mut command = Command::new(program);
        let host = if kind.is_tls() {
            "localhost"
        } else {
            "127.0.0.1"
        };
        command.args(["-h", host, "-p", &port.to_string()]);
        if kind.is_tls() {
            command.arg("--cafile").arg(self.dir.path().join("ca.pem"));
        }
        if kind == Listener::Mtls {
            command
                .arg("--cert")
                .arg(self.dir.path().join("client.pem"));
            command
                .arg("--key")
                .arg(self.dir.path().join("client-key.pem"));
        }
        command
    }

    /// Spawns mosquitto on the current configuration and waits until it is ready.
    fn launch(&mut self) -> Result<(), HarnessError> {
        let start_of_log = self.log_len();
        let output = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log_path)
            .map_err(io_error("opening the broker's log"))?;
        let errors = output
            .try_clone()
            .map_err(io_error("opening the broker's log"))?;
        let mut child = Command::new(&self.program)
            .arg("-c")
            .arg(&self.config_path)
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            .stdout(output)
            .stderr(errors)
            .spawn()
            .map_err(io_error(format!("starting {}", self.program.display())))?;
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            match child.try_wait() {
                Ok(None) => {}
                Ok(Some(status)) => {
                    return Err(HarnessError::Exited {
                        status,
                        log: self.log(),
                    });
                }
                Err(source) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(HarnessError::Io {
                        what: "waiting for mosquitto".to_owned(),
                        source,
                    });
                }
            }
            // mosquitto says it is running once every listener is open; the TCP check confirms it.
            if self.log_since(start_of_log).contains(" running") && self.all_accept() {
                self.child = Some(child);
                return Ok(());
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                return Err(HarnessError::Timeout {
                    waited: START_TIMEOUT,
                    log: self.log(),
                });
            }
            thread::sleep(Duration::from_millis(10));
        }
    }

    fn log_len(&self) -> u64 {
        fs::metadata(&self.log_path).map_or(0, |meta| meta.len())
    }

    /// The log from byte `offset` on.
    fn log_since(&self, offset: u64) -> String {
        let bytes = fs::read(&self.log_path).unwrap_or_default();
        let start = usize::try_from(offset).map_or(bytes.len(), |start| start.min(bytes.len()));
        String::from_utf8_lossy(&bytes[start..]).into_owned()
    }

    fn all_accept(&self) -> bool {
        self.ports.iter().all(|&(_, port)| {
            let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
            TcpStream::connect_timeout(&addr, Duration::from_millis(500)).is_ok()
        })
    }

    /// Appends a line of the harness's own to the log.
    fn note(&self, text: &str) {
        if let Ok(mut file) = OpenOptions::new().append(true).open(&self.log_path) {
            let _ = writeln!(file, "{text}");
        }
    }
}

impl Drop for Mosquitto {
    fn drop(&mut self) {
        self.kill();
    }
}
