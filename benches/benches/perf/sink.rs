//! The acking sink: a minimal MQTT server on mqtt-core's codec that acknowledges everything, so that a client's
//! own ceiling shows when mosquitto is not the bottleneck.
//!
//! It listens on a free `127.0.0.1` port and serves each connection on its own thread: CONNACK (accepted, no
//! session) to CONNECT, PUBACK to a QoS 1 PUBLISH, PUBREC to a QoS 2 PUBLISH and PUBCOMP to its PUBREL, SUBACK
//! (granting QoS 0) to SUBSCRIBE, UNSUBACK, PINGRESP. A PUBLISH whose topic matches one of the connection's own
//! subscriptions is echoed back to it at QoS 0, for round trips without a broker. Each read is decoded whole and
//! answered with one write. The sink counts PUBLISH packets and remembers when the last one arrived, for the
//! throughput of QoS 0, where the client has no acknowledgement to wait for.

use std::io::{self, Read as _, Write as _};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;

use mqtt_core::codec::{
    self, Ack, ConnAck, List, Packet, ProtocolVersion, Publish, QoS, ReasonCode, SubAck, UnsubAck,
};
use mqtt_core::topic;

use crate::sys;

/// Largest packet the sink accepts (the sweep's 1 MiB payloads fit).
const MAX_PACKET: usize = 4 * 1024 * 1024;

/// Counters shared by every connection.
#[derive(Debug, Default)]
struct Counters {
    publishes: AtomicU64,
    last_publish_ns: AtomicU64,
    errors: AtomicU64,
}

/// A running sink. Its threads end with the process.
#[derive(Debug)]
pub(crate) struct Sink {
    port: u16,
    counters: Arc<Counters>,
}

/// What the sink counted since the last [`Sink::reset`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct SinkCount {
    pub(crate) publishes: u64,
    pub(crate) last_publish_ns: u64,
    pub(crate) errors: u64,
}

impl Sink {
    /// Binds a free loopback port and starts accepting.
    pub(crate) fn start() -> io::Result<Self> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
        let port = listener.local_addr()?.port();
        let counters = Arc::new(Counters::default());
        let shared = counters.clone();
        thread::Builder::new()
            .name("sink-accept".to_owned())
            .spawn(move || {
                for stream in listener.incoming().flatten() {
                    let counters = shared.clone();
                    let spawned = thread::Builder::new()
                        .name("sink-conn".to_owned())
                        .stack_size(256 * 1024)
                        .spawn(move || {
                            if serve(stream, &counters).is_err() {
                                counters.errors.fetch_add(1, Ordering::Relaxed);
                            }
                        });
                    if spawned.is_err() {
                        shared.errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })?;
        Ok(Self { port, counters })
    }

    /// `mqtt://127.0.0.1:PORT`.
    pub(crate) fn url(&self) -> String {
        format!("mqtt://127.0.0.1:{}", self.port)
    }

    /// Zeroes the counters (before a measurement).
    pub(crate) fn reset(&self) {
        self.counters.publishes.store(0, Ordering::SeqCst);
        self.counters.last_publish_ns.store(0, Ordering::SeqCst);
        self.counters.errors.store(0, Ordering::SeqCst);
    }

    /// The counters now.
    pub(crate) fn count(&self) -> SinkCount {
        SinkCount {
            publishes: self.counters.publishes.load(Ordering::SeqCst),
            last_publish_ns: self.counters.last_publish_ns.load(Ordering::SeqCst),
            errors: self.counters.errors.load(Ordering::SeqCst),
        }
    }
}

/// One connection's state.
struct Conn {
    version: Option<ProtocolVersion>,
    filters: Vec<String>,
    out: Vec<u8>,
    publishes: u64,
}

impl Conn {
    /// Appends `packet`, encoded, to the pending output.
    fn send(&mut self, packet: &Packet<'_>) -> io::Result<()> {
        let version = self.version.unwrap_or(ProtocolVersion::V311);
        let start = self.out.len();
        self.out.resize(start + packet.encoded_len(version), 0);
        packet
            .encode(version, &mut self.out[start..])
            .map_err(|e| io::Error::other(format!("sink encode: {e}")))?;
        Ok(())
    }

    /// Answers one packet; `false` when the connection should close.
    fn handle(&mut self, packet: &Packet<'_>) -> io::Result<bool> {
        match packet {
            Packet::Connect(_) => self.send(&Packet::ConnAck(ConnAck {
                session_present: false,
                reason: ReasonCode::SUCCESS,
                properties: Default::default(),
            }))?,
            Packet::Publish(publish) => {
                self.publishes += 1;
                match (publish.qos, publish.packet_id) {
                    (QoS::AtLeastOnce, Some(id)) => self.send(&Packet::PubAck(Ack::new(id)))?,
                    (QoS::ExactlyOnce, Some(id)) => self.send(&Packet::PubRec(Ack::new(id)))?,
                    _ => {}
                }
                if self
                    .filters
                    .iter()
                    .any(|filter| topic::matches(filter, publish.topic))
                {
                    self.send(&Packet::Publish(Publish {
                        topic: publish.topic,
                        payload: publish.payload,
                        ..Publish::default()
                    }))?;
                }
            }
            Packet::PubRel(ack) => self.send(&Packet::PubComp(Ack::new(ack.packet_id)))?,
            Packet::Subscribe(subscribe) => {
                let granted = [ReasonCode::SUCCESS; 16];
                let n = subscribe.filters.len().min(granted.len());
                for subscription in subscribe.filters {
                    self.filters.push(subscription.filter.to_owned());
                }
                self.send(&Packet::SubAck(SubAck {
                    packet_id: subscribe.packet_id,
                    properties: Default::default(),
                    reasons: List::new(&granted[..n]),
                }))?;
            }
            Packet::Unsubscribe(unsubscribe) => {
                let done = [ReasonCode::SUCCESS; 16];
                let n = match self.version {
                    Some(ProtocolVersion::V5) => unsubscribe.filters.len().min(done.len()),
                    _ => 0,
                };
                self.send(&Packet::UnsubAck(UnsubAck {
                    packet_id: unsubscribe.packet_id,
                    properties: Default::default(),
                    reasons: List::new(&done[..n]),
                }))?;
            }
            Packet::PingReq => self.send(&Packet::PingResp)?,
            Packet::Disconnect(_) => return Ok(false),
            _ => {}
        }
        Ok(true)
    }
}

fn serve(mut stream: TcpStream, counters: &Counters) -> io::Result<()> {
    stream.set_nodelay(true)?;
    let mut buf = vec![0u8; 256 * 1024];
    let mut filled = 0;
    let mut conn = Conn {
        version: None,
        filters: Vec::new(),
        out: Vec::with_capacity(64 * 1024),
        publishes: 0,
    };
    loop {
        if filled == buf.len() {
            if buf.len() >= MAX_PACKET * 2 {
                return Err(io::Error::other("sink: packet too large"));
            }
            buf.resize(buf.len() * 2, 0);
        }
        let n = stream.read(&mut buf[filled..])?;
        if n == 0 {
            return Ok(());
        }
        filled += n;
        let mut pos = 0;
        let mut open = true;
        while open {
            let version = match conn.version {
                Some(version) => version,
                None => match codec::connect_version(&buf[pos..filled]) {
                    Ok(Some(version)) => {
                        conn.version = Some(version);
                        version
                    }
                    Ok(None) => break,
                    Err(e) => return Err(io::Error::other(format!("sink: {e}"))),
                },
            };
            match codec::decode(&buf[pos..filled], version, MAX_PACKET as u32) {
                Ok(Some((packet, len))) => {
                    pos += len;
                    open = conn.handle(&packet)?;
                }
                Ok(None) => break,
                Err(e) => return Err(io::Error::other(format!("sink: {e}"))),
            }
        }
        buf.copy_within(pos..filled, 0);
        filled -= pos;
        if conn.publishes > 0 {
            counters
                .publishes
                .fetch_add(conn.publishes, Ordering::Relaxed);
            counters
                .last_publish_ns
                .fetch_max(sys::mono_ns(), Ordering::Relaxed);
            conn.publishes = 0;
        }
        if !conn.out.is_empty() {
            stream.write_all(&conn.out)?;
            conn.out.clear();
        }
        if !open {
            return Ok(());
        }
    }
}
