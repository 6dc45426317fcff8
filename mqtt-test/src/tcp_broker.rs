//! [`TcpBroker`]: the [`FakeBroker`] on a loopback TCP port, served by a thread, for clients that open real
//! sockets (mqtt-blocking's poll(2) loop). Real time, so tests wait for conditions with a bound
//! ([`TcpBroker::wait_for`]) rather than stepping a clock.

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use crate::{BrokerConfig, FakeBroker};

/// How long the serving thread naps when nothing moves (it polls non-blocking sockets).
const IDLE: Duration = Duration::from_millis(1);

struct Shared {
    broker: Mutex<FakeBroker>,
    /// Notified whenever the serving thread changed the broker.
    changed: Condvar,
    stop: AtomicBool,
    /// The broker reads nothing from the client (a broker process that hangs).
    paused: AtomicBool,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, FakeBroker> {
        self.broker.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A [`FakeBroker`] listening on `127.0.0.1` (a free port), one connection at a time (a new one takes over).
/// Stopped when dropped.
pub struct TcpBroker {
    shared: Arc<Shared>,
    address: SocketAddr,
    thread: Option<thread::JoinHandle<()>>,
}

impl core::fmt::Debug for TcpBroker {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("TcpBroker")
            .field("address", &self.address)
            .finish_non_exhaustive()
    }
}

impl TcpBroker {
    /// Starts a broker configured by `config` on a free loopback port.
    ///
    /// # Panics
    ///
    /// If no loopback port can be bound.
    pub fn start(config: BrokerConfig) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a free loopback port");
        listener
            .set_nonblocking(true)
            .expect("a non-blocking listener");
        let address = listener.local_addr().expect("the listener's address");
        let shared = Arc::new(Shared {
            broker: Mutex::new(FakeBroker::new(config)),
            changed: Condvar::new(),
            stop: AtomicBool::new(false),
            paused: AtomicBool::new(false),
        });
        let serving = shared.clone();
        let thread = thread::Builder::new()
            .name("fake-broker".to_owned())
            .spawn(move || serve(&serving, &listener))
            .expect("the broker's thread");
        Self {
            shared,
            address,
            thread: Some(thread),
        }
    }

    /// The URL to connect to.
    pub fn url(&self) -> String {
        format!("mqtt://{}", self.address)
    }

    /// Stops (`true`) or resumes reading from the client, as a broker process that hangs and comes back: what the
    /// client writes meanwhile waits in the socket buffers.
    pub fn pause_reading(&self, paused: bool) {
        self.shared.paused.store(paused, Ordering::Release);
    }

    /// Runs `f` on the broker (inject messages, change knobs, close...); what it sends goes out at the thread's
    /// next round.
    pub fn broker<R>(&self, f: impl FnOnce(&mut FakeBroker) -> R) -> R {
        f(&mut self.shared.lock())
    }

    /// Waits until `done` holds for the broker, for at most `timeout`; whether it held.
    pub fn wait_for(&self, mut done: impl FnMut(&FakeBroker) -> bool, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut broker = self.shared.lock();
        loop {
            if done(&broker) {
                return true;
            }
            let Some(left) = deadline.checked_duration_since(Instant::now()) else {
                return false;
            };
            broker = self
                .shared
                .changed
                .wait_timeout(broker, left.min(Duration::from_millis(50)))
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }
}

impl Drop for TcpBroker {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Release);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn serve(shared: &Shared, listener: &TcpListener) {
    let mut connection: Option<TcpStream> = None;
    let mut out: Vec<u8> = Vec::new();
    let mut closing = false;
    let mut buf = vec![0; 64 * 1024];
    while !shared.stop.load(Ordering::Acquire) {
        let mut moved = false;
        if let Ok((stream, _)) = listener.accept() {
            if let Some(old) = connection.as_mut()
                && !shared.paused.load(Ordering::Acquire)
            {
                // What the older connection sent before this one opened is served first, as a real broker
                // would (acknowledgements written just before a reconnect, say).
                while let Ok(n) = old.read(&mut buf)
                    && n > 0
                {
                    shared.lock().handle_bytes(buf.get(..n).unwrap_or_default());
                }
            }
            let _ = stream.set_nonblocking(true);
            let _ = stream.set_nodelay(true);
            shared.lock().handle_connection_opened();
            connection = Some(stream);
            out.clear();
            closing = false;
            moved = true;
        }
        if let Some(stream) = connection.as_mut() {
            let mut ended = false;
            let paused = shared.paused.load(Ordering::Acquire);
            match if paused {
                Err(ErrorKind::WouldBlock.into())
            } else {
                stream.read(&mut buf)
            } {
                Ok(0) => ended = true,
                Ok(n) => {
                    shared.lock().handle_bytes(buf.get(..n).unwrap_or_default());
                    moved = true;
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                Err(_) => ended = true,
            }
            {
                let mut broker = shared.lock();
                while let Some(bytes) = broker.poll_transmit() {
                    out.extend_from_slice(&bytes);
                }
                closing |= broker.poll_close();
            }
            while !out.is_empty() {
                match stream.write(&out) {
                    Ok(n) if n > 0 => {
                        out.drain(..n);
                        moved = true;
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    _ => {
                        ended = true;
                        break;
                    }
                }
            }
            if closing && out.is_empty() {
                let _ = stream.shutdown(Shutdown::Both);
                ended = true;
            }
            if ended {
                if !closing {
                    shared.lock().handle_connection_closed();
                }
                connection = None;
                out.clear();
                closing = false;
                moved = true;
            }
        }
        if moved {
            shared.changed.notify_all();
        } else {
            thread::sleep(IDLE);
        }
    }
}
