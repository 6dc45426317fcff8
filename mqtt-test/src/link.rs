//! [`LinkModel`]: a simulated duplex byte stream between the client and the broker, with latency, seeded jitter,
//! connection set-up, orderly close, and breaks at an exact byte count.
//!
//! The model is sans-IO and has no clock of its own: every call takes `now`, and [`LinkModel::poll`] hands out
//! what is due. Bytes arrive in the order they were sent, as over TCP. Each connection has its own generation:
//! nothing of an old connection is ever delivered on a new one.

use std::collections::BTreeMap;
use std::fmt;

use core::time::Duration;

use mqtt_core::Instant;

/// One end of the link.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum End {
    /// The session's side.
    Client,
    /// The broker's side.
    Broker,
}

impl End {
    /// The other end.
    pub fn peer(self) -> Self {
        match self {
            Self::Client => Self::Broker,
            Self::Broker => Self::Client,
        }
    }

    fn index(self) -> usize {
        match self {
            Self::Client => 0,
            Self::Broker => 1,
        }
    }
}

impl fmt::Display for End {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Client => "client",
            Self::Broker => "broker",
        })
    }
}

/// The direction bytes travel in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// From the session to the broker.
    ClientToBroker,
    /// From the broker to the session.
    BrokerToClient,
}

impl Direction {
    /// The direction of bytes sent by `end`.
    pub fn from_sender(end: End) -> Self {
        match end {
            End::Client => Self::ClientToBroker,
            End::Broker => Self::BrokerToClient,
        }
    }

    /// The end that sends in this direction.
    pub fn sender(self) -> End {
        match self {
            Self::ClientToBroker => End::Client,
            Self::BrokerToClient => End::Broker,
        }
    }

    /// The end that receives in this direction.
    pub fn receiver(self) -> End {
        self.sender().peer()
    }

    fn index(self) -> usize {
        self.sender().index()
    }
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::ClientToBroker => "client → broker",
            Self::BrokerToClient => "broker → client",
        })
    }
}

/// The link's timing and randomness.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkConfig {
    /// One-way delay of every delivery (connection set-up, bytes, close). Default 10 ms.
    pub latency: Duration,
    /// Up to this much extra delay, drawn per delivery from the seeded generator. Delivery stays in order.
    /// Default 0.
    pub jitter: Duration,
    /// Seed of the jitter. Default `0x5eed`.
    pub seed: u64,
}

impl Default for LinkConfig {
    fn default() -> Self {
        Self {
            latency: Duration::from_millis(10),
            jitter: Duration::ZERO,
            seed: 0x5eed,
        }
    }
}

/// Something the link delivers, from [`LinkModel::poll`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkEvent {
    /// The connection asked for with [`LinkModel::open`] is established; both ends are open.
    Opened,
    /// The connection asked for could not be established (the broker is unreachable); for the client.
    Refused,
    /// Bytes for `to`.
    Data {
        /// The receiving end.
        to: End,
        /// The bytes, in order after every earlier `Data` for the same end.
        bytes: Vec<u8>,
    },
    /// The connection ended for `to`: the peer closed it (after all the bytes it sent before closing), or the
    /// link broke.
    Closed {
        /// The end that learns of it.
        to: End,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Scheduled {
    conn: u64,
    event: LinkEvent,
}

/// The state of one connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Conn {
    /// Set-up in progress.
    Opening,
    /// Established; each end is open until it closes or learns of the close.
    Up {
        open: [bool; 2],
        /// The link broke: nothing more is accepted, and both ends learn of it at this time.
        broken_at: Option<Instant>,
    },
}

/// A simulated duplex byte pipe: per-direction latency with seeded jitter, in-order delivery, connection set-up,
/// orderly close, and breaks after an exact number of bytes.
///
/// Connections come one after the other: [`open`](Self::open) closes the previous one from the client, and the
/// new one is established only after everything of the old one (its bytes, its close notice) has arrived.
///
/// ```
/// use core::time::Duration;
/// use mqtt_core::Instant;
/// use mqtt_test::link::{Direction, End, LinkConfig, LinkEvent, LinkModel};
///
/// let mut link = LinkModel::new(LinkConfig { latency: Duration::from_millis(5), ..LinkConfig::default() });
/// let t0 = Instant::ZERO;
/// link.open(t0);
/// assert_eq!(link.next_event_at(), Some(Instant::from_millis(5)));
/// let t1 = Instant::from_millis(5);
/// assert_eq!(link.poll(t1), Some(LinkEvent::Opened));
///
/// link.cut_after(Direction::ClientToBroker, 3);
/// link.send(End::Client, b"hello", t1);
/// let t2 = Instant::from_millis(10);
/// assert_eq!(link.poll(t2), Some(LinkEvent::Data { to: End::Broker, bytes: b"hel".to_vec() }));
/// assert_eq!(link.poll(t2), Some(LinkEvent::Closed { to: End::Broker }));
/// assert_eq!(link.poll(t2), Some(LinkEvent::Closed { to: End::Client }));
/// assert!(!link.is_up());
/// ```
#[derive(Debug, Clone)]
pub struct LinkModel {
    config: LinkConfig,
    rng: u64,
    /// Generation of the newest connection.
    conn: u64,
    /// Connections not yet over, by generation.
    conns: BTreeMap<u64, Conn>,
    reachable: bool,
    queue: BTreeMap<(Instant, u64), Scheduled>,
    seq: u64,
    /// Latest delivery time scheduled per direction, to keep delivery in order.
    last_at: [Instant; 2],
    /// Armed cuts: bytes still allowed through per direction.
    cut: [Option<u64>; 2],
    sent: [u64; 2],
    delivered: [u64; 2],
    dropped: [u64; 2],
}

impl LinkModel {
    /// A link with no connection.
    pub fn new(config: LinkConfig) -> Self {
        Self {
            config,
            rng: config.seed,
            conn: 0,
            conns: BTreeMap::new(),
            reachable: true,
            queue: BTreeMap::new(),
            seq: 0,
            last_at: [Instant::ZERO; 2],
            cut: [None; 2],
            sent: [0; 2],
            delivered: [0; 2],
            dropped: [0; 2],
        }
    }

    /// The timing in force.
    pub fn config(&self) -> &LinkConfig {
        &self.config
    }

    /// Changes latency and jitter for deliveries scheduled from now on (delivery stays in order).
    pub fn set_latency(&mut self, latency: Duration, jitter: Duration) {
        self.config.latency = latency;
        self.config.jitter = jitter;
    }

    /// Whether connection attempts succeed. With `false`, [`open`](Self::open) ends in [`LinkEvent::Refused`]
    /// after the latency, as a refused or unroutable TCP connect does. Default `true`.
    pub fn set_reachable(&mut self, reachable: bool) {
        self.reachable = reachable;
    }

    /// Breaks the connection in `direction` after `bytes` more bytes: exactly that many more bytes sent in that
    /// direction are delivered, then both ends learn that the connection is gone (at the time those last bytes
    /// arrive) and everything after is lost. One-shot: it applies to whichever connection carries those bytes and
    /// is disarmed when it fires. `bytes == 0` breaks the connection at the next send in that direction.
    pub fn cut_after(&mut self, direction: Direction, bytes: u64) {
        self.cut[direction.index()] = Some(bytes);
    }

    /// Disarms a cut set with [`cut_after`](Self::cut_after).
    pub fn clear_cut(&mut self, direction: Direction) {
        self.cut[direction.index()] = None;
    }

    /// Breaks the newest connection now: both ends learn of it at `now`, and nothing still in flight arrives. A
    /// connection still being set up is refused.
    pub fn cut_now(&mut self, now: Instant) {
        let conn = self.conn;
        match self.conns.get(&conn) {
            Some(Conn::Up {
                broken_at: None, ..
            }) => self.break_at(conn, now),
            Some(Conn::Opening) => {
                self.drop_events(conn, None);
                self.conns.remove(&conn);
                self.schedule(conn, now, LinkEvent::Refused);
            }
            _ => {}
        }
    }

    /// Starts a new connection. It is established after the latency ([`LinkEvent::Opened`]), or refused if the
    /// link is unreachable. A connection still open is closed by the client first.
    pub fn open(&mut self, now: Instant) {
        // The previous connection is given up: still opening, up, or refused with the refusal on its way.
        self.close(End::Client, now);
        // The new connection starts after everything of the old one has arrived.
        let at = self
            .delivery_time(now)
            .max(self.last_at[0])
            .max(self.last_at[1]);
        self.conn += 1;
        let conn = self.conn;
        if self.reachable {
            self.conns.insert(conn, Conn::Opening);
            self.schedule(conn, at, LinkEvent::Opened);
        } else {
            self.schedule(conn, at, LinkEvent::Refused);
        }
        self.last_at = [at; 2];
    }

    /// Sends bytes from `from` on the newest connection. Returns how many bytes entered the link: all of them on
    /// an established connection that neither end has closed, fewer if an armed cut fires, none otherwise (the
    /// bytes are lost).
    pub fn send(&mut self, from: End, bytes: &[u8], now: Instant) -> usize {
        let direction = Direction::from_sender(from);
        let d = direction.index();
        let conn = self.conn;
        let len = bytes.len() as u64;
        if !self.is_up() {
            self.dropped[d] += len;
            return 0;
        }
        let (pass, cut) = match self.cut[d] {
            Some(left) if len >= left && (len > 0 || left == 0) => (left, true),
            Some(left) => {
                self.cut[d] = Some(left - len);
                (len, false)
            }
            None => (len, false),
        };
        let pass_len = usize::try_from(pass).unwrap_or(bytes.len());
        self.sent[d] += pass;
        self.dropped[d] += len - pass;
        let at = self.in_order(direction, now);
        if pass > 0 {
            let to = direction.receiver();
            self.schedule(
                conn,
                at,
                LinkEvent::Data {
                    to,
                    bytes: bytes[..pass_len].to_vec(),
                },
            );
        }
        if cut {
            self.cut[d] = None;
            self.break_at(conn, at);
        }
        pass_len
    }

    /// Closes the newest connection from `from`: that end stops receiving at once, and the peer learns of the
    /// close after the bytes `from` sent before it ([`LinkEvent::Closed`]). Closing a connection still being set
    /// up cancels it; closing when there is nothing to close does nothing.
    ///
    /// The broker only knows connections it has seen established: while the client's newest connection is still
    /// being set up (it reopened at once), the broker's close applies to the newest established one.
    pub fn close(&mut self, from: End, now: Instant) {
        let conn = match from {
            End::Client => self.conn,
            End::Broker => self
                .conns
                .iter()
                .rev()
                .find(|(_, c)| matches!(c, Conn::Up { .. }))
                .map_or(self.conn, |(&generation, _)| generation),
        };
        match self.conns.get(&conn).copied() {
            // Refused (or gone): a refusal still on its way is about a connection the client gave up.
            None => self.drop_events(conn, None),
            Some(Conn::Opening) => {
                self.drop_events(conn, None);
                self.conns.remove(&conn);
            }
            Some(Conn::Up {
                mut open,
                broken_at,
            }) => {
                if !open[from.index()] {
                    return;
                }
                open[from.index()] = false;
                // Whatever was on its way to `from` is lost.
                self.drop_events(conn, Some(from));
                let peer = from.peer();
                if broken_at.is_none() && open[peer.index()] {
                    let at = self.in_order(Direction::from_sender(from), now);
                    self.schedule(conn, at, LinkEvent::Closed { to: peer });
                }
                self.set_open(conn, open, broken_at);
            }
        }
    }

    /// Whether the newest connection is established and neither end has closed it, and it has not broken.
    pub fn is_up(&self) -> bool {
        matches!(
            self.conns.get(&self.conn),
            Some(Conn::Up {
                open: [true, true],
                broken_at: None
            })
        )
    }

    /// Whether a connection is being set up.
    pub fn is_opening(&self) -> bool {
        self.conns.get(&self.conn) == Some(&Conn::Opening)
    }

    /// Whether anything is on its way (set-up, bytes, close notices).
    pub fn in_flight(&self) -> bool {
        !self.queue.is_empty()
    }

    /// When the next delivery is due.
    pub fn next_event_at(&self) -> Option<Instant> {
        self.queue.keys().next().map(|&(at, _)| at)
    }

    /// The next delivery due at or before `now`, in time order (ties in the order they were scheduled).
    pub fn poll(&mut self, now: Instant) -> Option<LinkEvent> {
        loop {
            let entry = self.queue.first_entry()?;
            if entry.key().0 > now {
                return None;
            }
            let Scheduled { conn, event } = entry.remove();
            let state = self.conns.get(&conn).copied();
            match &event {
                LinkEvent::Opened => {
                    self.conns.insert(
                        conn,
                        Conn::Up {
                            open: [true, true],
                            broken_at: None,
                        },
                    );
                }
                LinkEvent::Refused => {}
                LinkEvent::Data { to, bytes } => {
                    if !matches!(state, Some(Conn::Up { open, .. }) if open[to.index()]) {
                        continue;
                    }
                    self.delivered[Direction::from_sender(to.peer()).index()] += bytes.len() as u64;
                }
                LinkEvent::Closed { to } => {
                    let Some(Conn::Up {
                        mut open,
                        broken_at,
                    }) = state
                    else {
                        continue;
                    };
                    if !open[to.index()] {
                        continue;
                    }
                    open[to.index()] = false;
                    self.set_open(conn, open, broken_at);
                }
            }
            return Some(event);
        }
    }

    /// Bytes accepted into the link in `direction`, over all connections.
    pub fn bytes_sent(&self, direction: Direction) -> u64 {
        self.sent[direction.index()]
    }

    /// Bytes delivered in `direction`, over all connections.
    pub fn bytes_delivered(&self, direction: Direction) -> u64 {
        self.delivered[direction.index()]
    }

    /// Bytes lost in `direction`: sent with no connection, after a cut, or after a close.
    pub fn bytes_dropped(&self, direction: Direction) -> u64 {
        self.dropped[direction.index()]
    }

    /// Connections started with [`open`](Self::open).
    pub fn connections(&self) -> u64 {
        self.conn
    }

    fn set_open(&mut self, conn: u64, open: [bool; 2], broken_at: Option<Instant>) {
        if open == [false, false] {
            self.conns.remove(&conn);
        } else {
            self.conns.insert(conn, Conn::Up { open, broken_at });
        }
    }

    fn schedule(&mut self, conn: u64, at: Instant, event: LinkEvent) {
        self.seq += 1;
        self.queue.insert((at, self.seq), Scheduled { conn, event });
    }

    /// The delivery time of something sent now in `direction`, never before an earlier delivery.
    fn in_order(&mut self, direction: Direction, now: Instant) -> Instant {
        let d = direction.index();
        let at = self.delivery_time(now).max(self.last_at[d]);
        self.last_at[d] = at;
        at
    }

    fn delivery_time(&mut self, now: Instant) -> Instant {
        now + self.config.latency + self.jitter()
    }

    fn jitter(&mut self) -> Duration {
        let max = u64::try_from(self.config.jitter.as_millis()).unwrap_or(u64::MAX);
        if max == 0 {
            return Duration::ZERO;
        }
        // splitmix64
        self.rng = self.rng.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        Duration::from_millis(z % (max.saturating_add(1)))
    }

    /// Connection `conn` breaks at `at`: its later deliveries are lost, and both open ends learn of it then.
    fn break_at(&mut self, conn: u64, at: Instant) {
        let Some(Conn::Up {
            open,
            broken_at: None,
        }) = self.conns.get(&conn).copied()
        else {
            return;
        };
        self.queue.retain(|&(t, _), s| s.conn != conn || t <= at);
        self.conns.insert(
            conn,
            Conn::Up {
                open,
                broken_at: Some(at),
            },
        );
        for end in [End::Broker, End::Client] {
            if open[end.index()] {
                self.schedule(conn, at, LinkEvent::Closed { to: end });
            }
        }
        self.last_at = [self.last_at[0].max(at), self.last_at[1].max(at)];
    }

    /// Drops the pending events of connection `conn` (only those for `to`, if given).
    fn drop_events(&mut self, conn: u64, to: Option<End>) {
        self.queue.retain(|_, s| {
            if s.conn != conn {
                return true;
            }
            match (&s.event, to) {
                (_, None) => false,
                (LinkEvent::Data { to: t, .. } | LinkEvent::Closed { to: t }, Some(to)) => *t != to,
                (_, Some(_)) => true,
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Instant {
        Instant::from_millis(n)
    }

    fn up(latency: u64) -> LinkModel {
        let mut link = LinkModel::new(LinkConfig {
            latency: Duration::from_millis(latency),
            ..LinkConfig::default()
        });
        link.open(ms(0));
        assert_eq!(link.poll(ms(latency)), Some(LinkEvent::Opened));
        link
    }

    fn data(to: End, bytes: &[u8]) -> Option<LinkEvent> {
        Some(LinkEvent::Data {
            to,
            bytes: bytes.to_vec(),
        })
    }

    #[test]
    fn bytes_arrive_after_the_latency_in_order() {
        let mut link = up(10);
        link.send(End::Client, b"ab", ms(10));
        link.send(End::Client, b"cd", ms(12));
        assert_eq!(link.poll(ms(19)), None);
        assert_eq!(link.poll(ms(20)), data(End::Broker, b"ab"));
        assert_eq!(link.poll(ms(21)), None);
        assert_eq!(link.next_event_at(), Some(ms(22)));
        assert_eq!(link.poll(ms(22)), data(End::Broker, b"cd"));
    }

    #[test]
    fn jitter_never_reorders_and_is_reproducible() {
        let config = LinkConfig {
            latency: Duration::from_millis(5),
            jitter: Duration::from_millis(50),
            seed: 7,
        };
        let run = || {
            let mut link = LinkModel::new(config);
            link.open(ms(0));
            let mut out = Vec::new();
            while out.is_empty() || link.in_flight() {
                let at = link.next_event_at().unwrap();
                let t = at.as_millis();
                match link.poll(at) {
                    Some(LinkEvent::Opened) => {
                        for i in 0..20u8 {
                            link.send(End::Client, &[i], ms(t + u64::from(i)));
                        }
                        out.push((t, 255));
                    }
                    Some(LinkEvent::Data { bytes, .. }) => out.push((t, bytes[0])),
                    other => panic!("{other:?}"),
                }
            }
            out
        };
        let a = run();
        assert_eq!(a, run());
        let order: Vec<u8> = a[1..].iter().map(|&(_, b)| b).collect();
        assert_eq!(order, (0..20).collect::<Vec<u8>>());
        assert!(
            a.windows(2).any(|w| w[1].0 - w[0].0 > 1),
            "jitter had no effect: {a:?}"
        );
    }

    #[test]
    fn a_cut_delivers_exactly_n_bytes_then_closes_both_ends() {
        let mut link = up(10);
        link.cut_after(Direction::BrokerToClient, 5);
        assert_eq!(link.send(End::Broker, b"abc", ms(10)), 3);
        assert_eq!(link.send(End::Broker, b"defg", ms(11)), 2);
        assert_eq!(link.send(End::Broker, b"h", ms(12)), 0);
        assert_eq!(link.send(End::Client, b"x", ms(12)), 0);
        assert_eq!(link.poll(ms(30)), data(End::Client, b"abc"));
        assert_eq!(link.poll(ms(30)), data(End::Client, b"de"));
        assert_eq!(
            link.poll(ms(30)),
            Some(LinkEvent::Closed { to: End::Broker })
        );
        assert_eq!(
            link.poll(ms(30)),
            Some(LinkEvent::Closed { to: End::Client })
        );
        assert_eq!(link.poll(ms(100)), None);
        assert_eq!(link.bytes_delivered(Direction::BrokerToClient), 5);
        assert_eq!(link.bytes_dropped(Direction::BrokerToClient), 3);
        assert!(!link.is_up());
    }

    #[test]
    fn a_close_reaches_the_peer_after_the_data_sent_before_it() {
        let mut link = up(10);
        link.send(End::Broker, b"late", ms(10));
        link.send(End::Client, b"bye", ms(10));
        link.close(End::Client, ms(10));
        // The client no longer reads: "late" is lost; the broker gets "bye", then the close.
        assert_eq!(link.poll(ms(20)), data(End::Broker, b"bye"));
        assert_eq!(
            link.poll(ms(20)),
            Some(LinkEvent::Closed { to: End::Broker })
        );
        assert_eq!(link.poll(ms(20)), None);
        assert!(!link.in_flight());
    }

    #[test]
    fn nothing_of_an_old_connection_reaches_a_new_one() {
        let mut link = up(10);
        link.send(End::Broker, b"old", ms(10));
        link.send(End::Client, b"bye", ms(11));
        link.open(ms(11));
        // Opening again closed the old connection from the client: the broker hears of that first, after the
        // bytes sent before; the old bytes for the client are lost.
        assert_eq!(link.poll(ms(100)), data(End::Broker, b"bye"));
        assert_eq!(
            link.poll(ms(100)),
            Some(LinkEvent::Closed { to: End::Broker })
        );
        assert_eq!(link.poll(ms(100)), Some(LinkEvent::Opened));
        assert_eq!(link.poll(ms(100)), None);
        assert!(link.is_up());
        assert_eq!(link.connections(), 2);
    }

    #[test]
    fn closing_while_opening_cancels_and_unreachable_refuses() {
        let mut link = LinkModel::new(LinkConfig::default());
        link.open(ms(0));
        link.close(End::Client, ms(1));
        assert_eq!(link.poll(ms(100)), None);
        link.set_reachable(false);
        link.open(ms(100));
        assert_eq!(link.poll(ms(110)), Some(LinkEvent::Refused));
        assert!(!link.is_up());
    }
}
