//! [`FakeBrokerServer`]: a [`FakeBroker`] behind a TCP listener on a free loopback port, for the std bindings'
//! tests of what mosquitto does not do (enhanced authentication, redirection, reason strings on every packet, a
//! CONNACK that lowers Maximum QoS...).
//!
//! One thread accepts and serves one connection at a time (a new one takes over, as a real broker does with the
//! same client identifier): it feeds the broker what the client sends, writes what the broker answers, and closes
//! the connection when the broker does. Tests turn the broker's knobs and read what it saw through
//! [`broker`](FakeBrokerServer::broker), a short lock. The thread ends when the server is dropped.

use std::io::{self, ErrorKind, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crate::{BrokerConfig, FakeBroker};

/// How long the serving thread waits when there is nothing to do (it polls: the broker is shared with the test).
const IDLE: Duration = Duration::from_millis(1);

/// A [`FakeBroker`] serving TCP on `127.0.0.1`. See the [module docs](self).
#[derive(Debug)]
pub struct FakeBrokerServer {
    address: SocketAddr,
    broker: Arc<Mutex<FakeBroker>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl FakeBrokerServer {
    /// Starts a broker with `config` on a free loopback port.
    ///
    /// # Errors
    ///
    /// When no port can be bound or the thread cannot start.
    pub fn start(config: BrokerConfig) -> io::Result<Self> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
        listener.set_nonblocking(true)?;
        let address = listener.local_addr()?;
        let broker = Arc::new(Mutex::new(FakeBroker::new(config)));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = thread::Builder::new().name("fake-broker".into()).spawn({
            let (broker, stop) = (broker.clone(), stop.clone());
            move || serve(&listener, &broker, &stop)
        })?;
        Ok(Self {
            address,
            broker,
            stop,
            thread: Some(thread),
        })
    }

    /// `mqtt://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("mqtt://{}", self.address)
    }

    /// `127.0.0.1:<port>`, as a Server Reference names it.
    pub fn address(&self) -> String {
        self.address.to_string()
    }

    /// The broker, locked: to turn a knob or read what it saw. Do not hold it while waiting for the client.
    pub fn broker(&self) -> MutexGuard<'_, FakeBroker> {
        self.broker.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits (at most `timeout`, looking every millisecond) until the broker satisfies `done`; whether it did.
    /// For what only the broker sees; what the client sees is awaited through the client.
    pub fn wait_until(&self, timeout: Duration, done: impl Fn(&FakeBroker) -> bool) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if done(&self.broker()) {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            thread::sleep(IDLE);
        }
    }
}

impl Drop for FakeBrokerServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn lock(broker: &Mutex<FakeBroker>) -> MutexGuard<'_, FakeBroker> {
    broker.lock().unwrap_or_else(PoisonError::into_inner)
}

fn serve(listener: &TcpListener, broker: &Mutex<FakeBroker>, stop: &AtomicBool) {
    let mut connection: Option<TcpStream> = None;
    let mut buf = vec![0u8; 64 * 1024];
    while !stop.load(Ordering::Acquire) {
        let mut busy = false;
        if let Ok((stream, _)) = listener.accept() {
            busy = true;
            // A new connection takes over the old one.
            drop(connection.take());
            let ready = stream
                .set_nonblocking(true)
                .and_then(|()| stream.set_nodelay(true));
            if ready.is_ok() {
                lock(broker).handle_connection_opened();
                connection = Some(stream);
            }
        }
        if let Some(stream) = &mut connection {
            match stream.read(&mut buf) {
                Ok(0) => {
                    lock(broker).handle_connection_closed();
                    connection = None;
                    busy = true;
                }
                Ok(n) => {
                    lock(broker).handle_bytes(buf.get(..n).unwrap_or_default());
                    busy = true;
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                Err(_) => {
                    lock(broker).handle_connection_closed();
                    connection = None;
                }
            }
        }
        let (out, close) = {
            let mut broker = lock(broker);
            let mut out = Vec::new();
            while let Some(bytes) = broker.poll_transmit() {
                out.extend(bytes);
            }
            (out, broker.poll_close())
        };
        if let Some(stream) = &mut connection {
            if !out.is_empty() {
                busy = true;
                if write_all(stream, &out, stop).is_err() {
                    lock(broker).handle_connection_closed();
                    connection = None;
                }
            }
            if close {
                busy = true;
                if let Some(stream) = connection.take() {
                    let _ = stream.shutdown(std::net::Shutdown::Both);
                }
            }
        }
        if !busy {
            thread::sleep(IDLE);
        }
    }
}

fn write_all(stream: &mut TcpStream, mut bytes: &[u8], stop: &AtomicBool) -> io::Result<()> {
    while !bytes.is_empty() && !stop.load(Ordering::Acquire) {
        match stream.write(bytes) {
            Ok(0) => return Err(ErrorKind::WriteZero.into()),
            Ok(n) => bytes = bytes.get(n..).unwrap_or_default(),
            Err(e) if e.kind() == ErrorKind::WouldBlock => thread::sleep(IDLE),
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
