//! The command line of the parent.

use std::path::PathBuf;

use crate::backends::{self, Backend};

/// How thorough a run is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Every workload, 5 runs each (about 16 minutes).
    Full,
    /// Every workload with fewer messages, 3 runs each (about 4 minutes).
    Quick,
}

/// Workload groups, selectable with `--only`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Section {
    /// Throughput at QoS 0, 1, 2 through mosquitto, with CPU per message.
    Broker,
    /// Throughput at QoS 0, 1, 2 against the acking sink.
    Sink,
    /// Round-trip latency.
    Latency,
    /// Payload sweep.
    Sweep,
    /// Memory per idle connection.
    Idle,
    /// A slow consumer: a subscriber that takes nothing for a while under a QoS 1 flood, its RSS sampled.
    Slow,
    /// Failover: from a node's death to the first message acknowledged by another node.
    Failover,
    /// Shared-subscription (consumer group) throughput with 1, 2 and 3 consumers.
    Shared,
    /// Throughput at QoS 1 through mosquitto with the file store at each durability, against the memory store.
    Persist,
}

impl Section {
    pub(crate) const ALL: [Self; 9] = [
        Self::Broker,
        Self::Sink,
        Self::Latency,
        Self::Sweep,
        Self::Idle,
        Self::Slow,
        Self::Failover,
        Self::Shared,
        Self::Persist,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Broker => "broker",
            Self::Sink => "sink",
            Self::Latency => "latency",
            Self::Sweep => "sweep",
            Self::Idle => "idle",
            Self::Slow => "slow",
            Self::Failover => "failover",
            Self::Shared => "shared",
            Self::Persist => "persist",
        }
    }
}

/// What the parent was asked to do.
pub(crate) struct Settings {
    pub(crate) mode: Mode,
    pub(crate) out: PathBuf,
    /// Runs per figure, when given instead of the mode's.
    pub(crate) runs: Option<usize>,
    pub(crate) backends: Vec<&'static dyn Backend>,
    pub(crate) sections: Vec<Section>,
    /// mosquitto's `max_inflight_messages`.
    pub(crate) mosquitto_inflight: u16,
    /// The arguments as given, for the report.
    pub(crate) command: String,
}

pub(crate) const USAGE: &str = "\
perf: every MQTT client backend against rumqttc 0.25, through mosquitto and against an acking sink.

usage: cargo bench -p benches --bench perf -- (--all | --quick) [--out DIR] [options]

  --all              every workload, 5 runs each (about 16 minutes)
  --quick            every workload with fewer messages, 3 runs each (about 4 minutes)
  --out DIR          where report.md and the SVG charts go (default: benches/report); a relative DIR is taken
                     from the workspace root
  --runs N           runs per figure instead of the mode's
  --backends A,B     only these backends (the peer, rumqttc, is always added)
  --only S,T         only these sections: broker, sink, latency, sweep, idle, slow, failover, shared,
                     persist
                     (slow: a subscriber that takes nothing for 60 s, 10 s with --quick, under a QoS 1
                     flood; about 6 minutes of --all, 1 of --quick)
  --sink SECONDS     only start the acking sink, print its URL, serve for SECONDS and exit (for profiling a
                     client child by hand)
  --mosquitto-inflight N
                     mosquitto's max_inflight_messages (default 0, unlimited)
";

/// Reads the parent's arguments. `Ok(None)`: print the usage and stop (no mode given, or `--help`). `cargo bench`
/// adds `--bench`, which is ignored.
pub(crate) fn parse(args: &[String]) -> Result<Option<Settings>, String> {
    let mut mode = None;
    let mut out = PathBuf::from("benches/report");
    let mut runs = None;
    let mut backends: Vec<&'static dyn Backend> = backends::ALL.to_vec();
    let mut sections = Section::ALL.to_vec();
    let mut mosquitto_inflight = crate::orchestrate::MOSQUITTO_INFLIGHT;
    let mut given = Vec::new();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let mut value = |name: &str| {
            args.next()
                .cloned()
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match arg.as_str() {
            "--bench" => continue,
            "--help" | "-h" => return Ok(None),
            "--all" => mode = Some(Mode::Full),
            "--quick" => mode = Some(Mode::Quick),
            "--out" => {
                let dir = value("--out")?;
                given.push(format!("--out {dir}"));
                out = PathBuf::from(dir);
                continue;
            }
            "--runs" => {
                let n = value("--runs")?;
                given.push(format!("--runs {n}"));
                runs = Some(
                    n.parse::<usize>()
                        .ok()
                        .filter(|&n| n > 0)
                        .ok_or("--runs needs a positive number")?,
                );
                continue;
            }
            "--backends" => {
                let list = value("--backends")?;
                given.push(format!("--backends {list}"));
                let mut chosen = Vec::new();
                for name in list.split(',') {
                    chosen.push(
                        backends::find(name).ok_or_else(|| format!("unknown backend {name}"))?,
                    );
                }
                let peer = backends::find(backends::PEER).expect("the peer is a backend");
                if !chosen.iter().any(|b| b.name() == backends::PEER) {
                    chosen.push(peer);
                }
                // Report order is ALL's order.
                backends = backends::ALL
                    .iter()
                    .copied()
                    .filter(|b| chosen.iter().any(|c| c.name() == b.name()))
                    .collect();
                continue;
            }
            "--mosquitto-inflight" => {
                let n = value("--mosquitto-inflight")?;
                given.push(format!("--mosquitto-inflight {n}"));
                mosquitto_inflight = n
                    .parse()
                    .map_err(|_| "--mosquitto-inflight needs a number from 0 to 65535")?;
                continue;
            }
            "--only" => {
                let list = value("--only")?;
                given.push(format!("--only {list}"));
                sections = Vec::new();
                for name in list.split(',') {
                    sections.push(
                        Section::ALL
                            .into_iter()
                            .find(|s| s.name() == name)
                            .ok_or_else(|| format!("unknown section {name}"))?,
                    );
                }
                sections.sort();
                sections.dedup();
                continue;
            }
            other => return Err(format!("unknown argument {other}")),
        }
        given.push(arg.clone());
    }
    let Some(mode) = mode else {
        return Ok(None);
    };
    if out.is_relative() {
        out = workspace_root().join(out);
    }
    Ok(Some(Settings {
        mode,
        out,
        runs,
        backends,
        sections,
        mosquitto_inflight,
        command: given.join(" "),
    }))
}

/// The workspace root: the parent of this crate's directory.
pub(crate) fn workspace_root() -> PathBuf {
    let crate_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    crate_dir.parent().map(PathBuf::from).unwrap_or(crate_dir)
}
