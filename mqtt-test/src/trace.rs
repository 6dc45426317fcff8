//! [`Trace`]: what happened in a [`Sim`](crate::Sim), line by line with virtual timestamps, for reading when a
//! test fails.

use std::collections::VecDeque;
use std::fmt::{self, Write as _};

use mqtt_core::Instant;
use mqtt_core::codec::{self, Packet, ProtocolVersion};

/// One line of a [`Trace`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceEntry {
    /// When it happened (virtual time).
    pub at: Instant,
    /// What happened.
    pub text: String,
}

impl fmt::Display for TraceEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:>10}  {}", format!("{:?}", self.at), self.text)
    }
}

/// A bounded log of what happened: the oldest lines go once it holds `limit` lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trace {
    entries: VecDeque<TraceEntry>,
    limit: usize,
    dropped: usize,
}

impl Trace {
    /// An empty trace keeping at most `limit` lines.
    pub fn new(limit: usize) -> Self {
        Self {
            entries: VecDeque::new(),
            limit,
            dropped: 0,
        }
    }

    /// Adds a line.
    pub fn push(&mut self, at: Instant, text: impl Into<String>) {
        if self.limit == 0 {
            self.dropped += 1;
            return;
        }
        if self.entries.len() == self.limit {
            self.entries.pop_front();
            self.dropped += 1;
        }
        self.entries.push_back(TraceEntry {
            at,
            text: text.into(),
        });
    }

    /// The lines kept, oldest first.
    pub fn entries(&self) -> impl Iterator<Item = &TraceEntry> {
        self.entries.iter()
    }

    /// Lines kept.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no line is kept.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Lines that were dropped to stay within the limit.
    pub fn dropped(&self) -> usize {
        self.dropped
    }

    /// Whether a kept line contains `needle`.
    pub fn contains(&self, needle: &str) -> bool {
        self.entries.iter().any(|e| e.text.contains(needle))
    }

    /// The last `n` lines, formatted.
    pub fn tail(&self, n: usize) -> String {
        let skip = self.entries.len().saturating_sub(n);
        let mut out = String::new();
        if skip + self.dropped > 0 {
            let _ = writeln!(out, "  … {} earlier lines", skip + self.dropped);
        }
        for entry in self.entries.iter().skip(skip) {
            let _ = writeln!(out, "{entry}");
        }
        out
    }
}

impl fmt::Display for Trace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.dropped > 0 {
            writeln!(f, "  … {} earlier lines dropped", self.dropped)?;
        }
        for entry in &self.entries {
            writeln!(f, "{entry}")?;
        }
        Ok(())
    }
}

/// Reassembles a byte stream into packets to describe them; undecodable bytes are described once and dropped.
#[derive(Debug, Clone, Default)]
pub(crate) struct PacketReader {
    buf: Vec<u8>,
}

impl PacketReader {
    pub(crate) fn reset(&mut self) {
        self.buf.clear();
    }

    /// Descriptions of the packets completed by `bytes`.
    pub(crate) fn feed(&mut self, bytes: &[u8], version: ProtocolVersion) -> Vec<String> {
        self.buf.extend_from_slice(bytes);
        let mut out = Vec::new();
        let mut at = 0;
        loop {
            match codec::decode(&self.buf[at..], version, u32::MAX) {
                Ok(Some((packet, used))) => {
                    out.push(describe(&packet));
                    at += used;
                }
                Ok(None) => break,
                Err(e) => {
                    out.push(format!("undecodable bytes ({e}): {}", hex(&self.buf[at..])));
                    at = self.buf.len();
                    break;
                }
            }
        }
        self.buf.drain(..at);
        out
    }
}

/// A one-line description of a packet.
pub fn describe(packet: &Packet<'_>) -> String {
    let mut s = packet.packet_type().name().to_owned();
    match packet {
        Packet::Connect(c) => {
            let _ = write!(s, " '{}' keep alive {}", c.client_id, c.keep_alive);
            if c.clean_start {
                s.push_str(" clean");
            }
            if let Some(expiry) = c.properties.session_expiry_interval {
                let _ = write!(s, " expiry {expiry}");
            }
        }
        Packet::ConnAck(c) => {
            let _ = write!(
                s,
                " session present {} {}",
                u8::from(c.session_present),
                c.reason
            );
        }
        Packet::Publish(p) => {
            let _ = write!(s, " q{}", p.qos as u8);
            if let Some(id) = p.packet_id {
                let _ = write!(s, " id {id}");
            }
            if p.dup {
                s.push_str(" dup");
            }
            if p.retain {
                s.push_str(" retain");
            }
            let _ = write!(s, " '{}'", p.topic);
            if let Some(alias) = p.properties.topic_alias {
                let _ = write!(s, " alias {alias}");
            }
            let _ = write!(s, " {} B", p.payload.len());
        }
        Packet::PubAck(a) | Packet::PubRec(a) | Packet::PubRel(a) | Packet::PubComp(a) => {
            let _ = write!(s, " id {}", a.packet_id);
            if a.reason.is_failure() || a.reason.0 != 0 {
                let _ = write!(s, " {}", a.reason);
            }
        }
        Packet::Subscribe(sub) => {
            let _ = write!(s, " id {}", sub.packet_id);
            for f in &sub.filters {
                let _ = write!(s, " '{}' q{}", f.filter, f.options.qos as u8);
            }
        }
        Packet::SubAck(a) => {
            let _ = write!(s, " id {}", a.packet_id);
            for r in &a.reasons {
                let _ = write!(s, " {:#04x}", r.0);
            }
        }
        Packet::Unsubscribe(u) => {
            let _ = write!(s, " id {}", u.packet_id);
            for f in &u.filters {
                let _ = write!(s, " '{f}'");
            }
        }
        Packet::UnsubAck(a) => {
            let _ = write!(s, " id {}", a.packet_id);
            for r in &a.reasons {
                let _ = write!(s, " {:#04x}", r.0);
            }
        }
        Packet::Disconnect(d) => {
            let _ = write!(s, " {}", d.reason);
        }
        Packet::Auth(a) => {
            let _ = write!(s, " {}", a.reason);
        }
        Packet::PingReq | Packet::PingResp => {}
    }
    s
}

/// Bytes as hex, shortened when long.
pub(crate) fn hex(bytes: &[u8]) -> String {
    let mut s = String::new();
    for b in bytes.iter().take(64) {
        let _ = write!(s, "{b:02x}");
    }
    if bytes.len() > 64 {
        let _ = write!(s, "… ({} B)", bytes.len());
    }
    s
}
