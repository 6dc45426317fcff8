//! What one child process is asked to do ([`Job`]), as it travels on the child's command line, and the payload
//! format every backend publishes: a sequence number and a send timestamp, then filler.

use std::time::Duration;

use crate::sys;

/// The part of a child's work a [`Job`] describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    /// Publish `count` messages of `size` bytes at `qos`, wait for every acknowledgement, disconnect.
    Pub,
    /// Subscribe at `qos`, say `READY`, count messages until `count` distinct ones arrived or the parent closes
    /// stdin.
    Sub,
    /// One client subscribed to its own topic: publish, wait for the message to come back, `warmup + count`
    /// times.
    Ping,
    /// Open idle connections, in steps up to each of `marks`, and measure the RSS at each step.
    Idle,
    /// A slow consumer: subscribe at `qos`, say `READY`, take nothing for `hold`, then count messages as `Sub`
    /// does; the RSS is sampled throughout.
    Slow,
}

impl Role {
    fn as_str(self) -> &'static str {
        match self {
            Self::Pub => "pub",
            Self::Sub => "sub",
            Self::Ping => "ping",
            Self::Idle => "idle",
            Self::Slow => "slow",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        [Self::Pub, Self::Sub, Self::Ping, Self::Idle, Self::Slow]
            .into_iter()
            .find(|role| role.as_str() == text)
    }
}

/// One child's work.
#[derive(Debug, Clone)]
pub(crate) struct Job {
    pub(crate) role: Role,
    /// `mqtt://127.0.0.1:PORT` of mosquitto or of the sink.
    pub(crate) url: String,
    pub(crate) topic: String,
    /// Client identifier; idle connections append `-N`.
    pub(crate) client_id: String,
    /// 0, 1 or 2.
    pub(crate) qos: u8,
    /// Payload bytes (at least [`HEADER`]).
    pub(crate) size: usize,
    /// Messages to publish or expect; round trips to time.
    pub(crate) count: u64,
    /// Round trips before the timed ones (ping).
    pub(crate) warmup: u64,
    /// Connection counts at which the idle role measures the RSS, ascending.
    pub(crate) marks: Vec<u64>,
    /// Connections opened at once (idle).
    pub(crate) concurrency: usize,
    /// How long the child's main phase may take before it reports itself stalled.
    pub(crate) deadline: Duration,
    /// How long a slow consumer takes nothing after it is ready (zero for every other role).
    pub(crate) hold: Duration,
    /// The publisher keeps its session in a file store (`Options::persistence`); `None`: in memory.
    pub(crate) store: Option<Stored>,
}

/// A file store for a publisher: where, and how durable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Stored {
    pub(crate) path: String,
    pub(crate) durability: Durability,
}

/// The durability levels of the file store (`mqtt_core::client::Durability`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Durability {
    /// No `fsync`.
    None,
    /// `fsync` every 10 ms (the default).
    Batched,
    /// `fsync` before every `publish` returns and before the runner sends what depends on a change.
    Every,
}

impl Durability {
    pub(crate) const ALL: [Self; 3] = [Self::None, Self::Batched, Self::Every];

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Batched => "batched",
            Self::Every => "every",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|d| d.as_str() == text)
    }

    /// The client's setting.
    pub(crate) fn setting(self) -> mqtt_core::client::Durability {
        match self {
            Self::None => mqtt_core::client::Durability::None,
            Self::Batched => mqtt_core::client::Durability::Batched(Duration::from_millis(10)),
            Self::Every => mqtt_core::client::Durability::EveryMessage,
        }
    }
}

impl Stored {
    /// The client's setting.
    pub(crate) fn persistence(&self) -> mqtt_core::client::Persistence {
        mqtt_core::client::Persistence::file(&self.path).durability(self.durability.setting())
    }
}

impl Job {
    /// The job as command-line arguments (`key=value`), read back by [`parse`](Self::parse).
    pub(crate) fn to_args(&self) -> Vec<String> {
        let marks: Vec<String> = self.marks.iter().map(u64::to_string).collect();
        vec![
            format!("role={}", self.role.as_str()),
            format!("url={}", self.url),
            format!("topic={}", self.topic),
            format!("id={}", self.client_id),
            format!("qos={}", self.qos),
            format!("size={}", self.size),
            format!("count={}", self.count),
            format!("warmup={}", self.warmup),
            format!("marks={}", marks.join(",")),
            format!("concurrency={}", self.concurrency),
            format!("deadline_ms={}", self.deadline.as_millis()),
            format!("hold_ms={}", self.hold.as_millis()),
            format!(
                "store={}",
                self.store.as_ref().map_or("", |s| s.path.as_str())
            ),
            format!(
                "durability={}",
                self.store.as_ref().map_or("", |s| s.durability.as_str())
            ),
        ]
    }

    /// Reads the arguments written by [`to_args`](Self::to_args).
    pub(crate) fn parse(args: &[String]) -> Result<Self, String> {
        let get = |key: &str| {
            args.iter()
                .find_map(|arg| arg.strip_prefix(key)?.strip_prefix('='))
                .ok_or_else(|| format!("child job: missing {key}="))
        };
        let number = |key: &str| -> Result<u64, String> {
            get(key)?
                .parse()
                .map_err(|_| format!("child job: {key}= is not a number"))
        };
        let role = Role::parse(get("role")?).ok_or("child job: unknown role")?;
        let qos = u8::try_from(number("qos")?).map_err(|_| "child job: bad qos")?;
        let marks = get("marks")?
            .split(',')
            .filter(|mark| !mark.is_empty())
            .map(|mark| mark.parse().map_err(|_| "child job: bad marks".to_owned()))
            .collect::<Result<Vec<u64>, String>>()?;
        Ok(Self {
            role,
            url: get("url")?.to_owned(),
            topic: get("topic")?.to_owned(),
            client_id: get("id")?.to_owned(),
            qos,
            size: usize::try_from(number("size")?).map_err(|_| "child job: bad size")?,
            count: number("count")?,
            warmup: number("warmup")?,
            marks,
            concurrency: usize::try_from(number("concurrency")?).unwrap_or(1).max(1),
            deadline: Duration::from_millis(number("deadline_ms")?),
            hold: Duration::from_millis(number("hold_ms").unwrap_or(0)),
            store: match get("store")? {
                "" => None,
                path => Some(Stored {
                    path: path.to_owned(),
                    durability: Durability::parse(get("durability")?)
                        .ok_or("child job: bad durability")?,
                }),
            },
        })
    }
}

/// Bytes at the start of every payload: the sequence number and the send time (`CLOCK_MONOTONIC` ns), both
/// little-endian `u64`.
pub(crate) const HEADER: usize = 16;

/// A payload of `size` bytes (at least [`HEADER`]) for message `seq`, stamped with the current time.
pub(crate) fn payload(seq: u64, size: usize) -> Vec<u8> {
    let mut bytes = vec![0x5a; size.max(HEADER)];
    bytes[..8].copy_from_slice(&seq.to_le_bytes());
    bytes[8..HEADER].copy_from_slice(&sys::mono_ns().to_le_bytes());
    bytes
}

/// The sequence number and send time of a payload made by [`payload`], `None` if it is too short.
pub(crate) fn read_header(payload: &[u8]) -> Option<(u64, u64)> {
    let seq = u64::from_le_bytes(payload.get(..8)?.try_into().ok()?);
    let sent = u64::from_le_bytes(payload.get(8..HEADER)?.try_into().ok()?);
    Some((seq, sent))
}
