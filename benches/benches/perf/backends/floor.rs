//! The floor of the ping-pong: no client library, only the bytes a round trip needs on a blocking socket.
//!
//! A round trip through mosquitto costs the broker's work and the machine's wake-ups (of the broker's thread and of
//! the client's), whatever client sends it. This "client" has nothing else: packets built by hand, one `write` per
//! packet, blocking reads, no event loop, no task or thread hand-off, no queue. Its round trip is the least any
//! client can reach on this machine, measured in the same run as the others, so the report can say how far above it
//! each client is. It plays only the ping-pong and never appears among the backends (`perf --backends` cannot
//! name it); its acknowledgements follow MQTT 3.1.1 (PUBACK, or PUBREC, PUBREL and PUBCOMP) so the broker
//! treats it as any client.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use super::{Backend, CONNECT_TIMEOUT, stalled};
use crate::child::{IdleMeter, PingMeter, PubMeter, SlowMeter, SubMeter};
use crate::workload::Job;

/// The name the report gives it.
pub(crate) const NAME: &str = "floor";

/// The raw-socket ping-pong.
pub(crate) struct Floor;

impl Backend for Floor {
    fn name(&self) -> &'static str {
        NAME
    }

    fn publisher(&self, _: &Job, _: &mut PubMeter) -> Result<(), String> {
        Err(ONLY_PING.to_owned())
    }

    fn subscriber(&self, _: &Job, _: &mut SubMeter) -> Result<(), String> {
        Err(ONLY_PING.to_owned())
    }

    fn ping_pong(&self, job: &Job, meter: &mut PingMeter) -> Result<(), String> {
        ping_pong(job, meter).map_err(|e| e.to_string())
    }

    fn idle(&self, _: &Job, _: &mut IdleMeter) -> Result<(), String> {
        Err(ONLY_PING.to_owned())
    }

    fn slow_subscriber(&self, _: &Job, _: &mut SlowMeter) -> Result<(), String> {
        Err(ONLY_PING.to_owned())
    }
}

const ONLY_PING: &str = "the floor plays only the ping-pong";

// Packet types (first byte, flags included) of MQTT 3.1.1.
const CONNACK: u8 = 0x20;
const PUBLISH: u8 = 0x30;
const PUBACK: u8 = 0x40;
const PUBREC: u8 = 0x50;
const PUBREL: u8 = 0x62;
const PUBCOMP: u8 = 0x70;
const SUBACK: u8 = 0x90;

fn ping_pong(job: &Job, meter: &mut PingMeter) -> io::Result<()> {
    let address = job.url.strip_prefix("mqtt://").ok_or_else(|| {
        io::Error::other(format!("the floor needs an mqtt:// URL, not {}", job.url))
    })?;
    let mut link = Link::connect(address, CONNECT_TIMEOUT)?;
    link.send(&connect_packet(&job.client_id))?;
    link.expect(CONNACK, "CONNACK")?;
    link.send(&subscribe_packet(&job.topic, job.qos))?;
    link.expect(SUBACK, "SUBACK")?;
    // Set once: a read timeout is a system call, and none is made inside a round trip beyond its write and reads.
    link.stream.set_read_timeout(Some(job.deadline))?;
    let started = Instant::now();
    for seq in 0..meter.total() {
        let id = u16::try_from(seq % 65_535 + 1).unwrap_or(1);
        let payload = meter.payload(seq);
        link.send(&publish_packet(&job.topic, job.qos, id, &payload))?;
        loop {
            if started.elapsed() >= job.deadline {
                return Err(io::Error::other(stalled("ping-pong", job.deadline)));
            }
            let (kind, body) = link.next().map_err(|e| match e.kind() {
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => {
                    io::Error::other(stalled("ping-pong", job.deadline))
                }
                _ => e,
            })?;
            match kind & 0xf0 {
                PUBLISH => {
                    let qos = (kind >> 1) & 3;
                    let (arrived, incoming_id) = split_publish(&body, qos)?;
                    let ours = meter.received(arrived) == Some(seq);
                    match qos {
                        1 => link.send(&ack(PUBACK, incoming_id))?,
                        2 => link.send(&ack(PUBREC, incoming_id))?,
                        _ => {}
                    }
                    if ours {
                        break;
                    }
                }
                PUBREC => link.send(&ack(PUBREL, packet_id(&body)?))?,
                0x60 => link.send(&ack(PUBCOMP, packet_id(&body)?))?,
                _ => {} // PUBACK, PUBCOMP: nothing to answer.
            }
        }
    }
    link.send(&[0xe0, 0])
}

/// A blocking TCP connection and what it has read.
struct Link {
    stream: TcpStream,
    read: Vec<u8>,
}

impl Link {
    fn connect(address: &str, timeout: Duration) -> io::Result<Self> {
        let stream = TcpStream::connect(address)?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(timeout))?;
        Ok(Self {
            stream,
            read: Vec::with_capacity(4096),
        })
    }

    fn send(&mut self, packet: &[u8]) -> io::Result<()> {
        self.stream.write_all(packet)
    }

    /// The next packet whose first byte is `kind`; fails on any other.
    fn expect(&mut self, kind: u8, what: &str) -> io::Result<Vec<u8>> {
        let (got, body) = self.next()?;
        if got == kind {
            Ok(body)
        } else {
            Err(io::Error::other(format!(
                "expected {what}, got packet 0x{got:02x}"
            )))
        }
    }

    /// The next packet: its first byte and its body. Each read waits at most the socket's read timeout.
    fn next(&mut self) -> io::Result<(u8, Vec<u8>)> {
        loop {
            if let Some((header, length)) = frame(&self.read)?
                && self.read.len() >= header + length
            {
                let kind = self.read[0];
                let body = self.read[header..header + length].to_vec();
                self.read.drain(..header + length);
                return Ok((kind, body));
            }
            let mut chunk = [0u8; 4096];
            match self.stream.read(&mut chunk)? {
                0 => return Err(io::Error::other("the broker closed the connection")),
                n => self.read.extend_from_slice(&chunk[..n]),
            }
        }
    }
}

/// The fixed header's length and the remaining length, once the header is complete.
fn frame(bytes: &[u8]) -> io::Result<Option<(usize, usize)>> {
    let mut length = 0usize;
    for (i, &byte) in bytes.iter().enumerate().skip(1).take(4) {
        length |= usize::from(byte & 0x7f) << (7 * (i - 1));
        if byte & 0x80 == 0 {
            return Ok(Some((i + 1, length)));
        }
    }
    if bytes.len() >= 5 {
        return Err(io::Error::other("malformed remaining length"));
    }
    Ok(None)
}

/// `kind`, then the remaining length, then `body`.
fn packet(kind: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![kind];
    let mut length = body.len();
    loop {
        let byte = u8::try_from(length & 0x7f).unwrap_or(0);
        length >>= 7;
        out.push(if length > 0 { byte | 0x80 } else { byte });
        if length == 0 {
            break;
        }
    }
    out.extend_from_slice(body);
    out
}

fn put_str(body: &mut Vec<u8>, text: &str) {
    body.extend_from_slice(&u16::try_from(text.len()).unwrap_or(0).to_be_bytes());
    body.extend_from_slice(text.as_bytes());
}

/// CONNECT, MQTT 3.1.1, clean session, keep alive 60 s.
fn connect_packet(client_id: &str) -> Vec<u8> {
    let mut body = Vec::new();
    put_str(&mut body, "MQTT");
    body.extend_from_slice(&[4, 0x02, 0, 60]);
    put_str(&mut body, client_id);
    packet(0x10, &body)
}

fn subscribe_packet(topic: &str, qos: u8) -> Vec<u8> {
    let mut body = vec![0, 1];
    put_str(&mut body, topic);
    body.push(qos);
    packet(0x82, &body)
}

fn publish_packet(topic: &str, qos: u8, id: u16, payload: &[u8]) -> Vec<u8> {
    let mut body = Vec::with_capacity(topic.len() + 4 + payload.len());
    put_str(&mut body, topic);
    if qos > 0 {
        body.extend_from_slice(&id.to_be_bytes());
    }
    body.extend_from_slice(payload);
    packet(PUBLISH | (qos << 1), &body)
}

fn ack(kind: u8, id: u16) -> [u8; 4] {
    let [high, low] = id.to_be_bytes();
    [kind, 2, high, low]
}

fn packet_id(body: &[u8]) -> io::Result<u16> {
    match body {
        [high, low, ..] => Ok(u16::from_be_bytes([*high, *low])),
        _ => Err(io::Error::other(
            "an acknowledgement without a packet identifier",
        )),
    }
}

/// A PUBLISH body's payload and packet identifier (0 at QoS 0).
fn split_publish(body: &[u8], qos: u8) -> io::Result<(&[u8], u16)> {
    let topic = usize::from(packet_id(body)?);
    let rest = body
        .get(2 + topic..)
        .ok_or_else(|| io::Error::other("a PUBLISH shorter than its topic"))?;
    if qos == 0 {
        return Ok((rest, 0));
    }
    let id = packet_id(rest)?;
    Ok((rest.get(2..).unwrap_or_default(), id))
}
