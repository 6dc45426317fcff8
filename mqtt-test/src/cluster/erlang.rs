//! What both brokers share: the ground a cluster starts from (a temp dir, free ports, an Erlang cookie and an `epmd`
//! of the cluster's own), nodes as child processes waited for until MQTT answers and they are clustered, and
//! remote calls into a node from a hidden Erlang node.

use std::fs::{self, OpenOptions};
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use tempfile::TempDir;

use super::{ClusterError, io_error, mqtt_answers, tail, wait_until};
use crate::mosquitto::setup::free_ports;

/// How long `epmd` may take to listen, and a remote call to answer.
const EPMD_START: Duration = Duration::from_secs(10);

/// The Erlang side of a cluster: the cookie in `home`, the cluster's `epmd`, and how to run Erlang programs that
/// find both.
#[derive(Debug)]
pub(crate) struct Erlang {
    home: PathBuf,
    epmd_port: u16,
    epmd: Option<Child>,
    erl: PathBuf,
}

impl Erlang {
    /// Writes a cookie into `home` (the `HOME` of every node and tool) and starts an `epmd` on `epmd_port`.
    pub(crate) fn start(home: &Path, epmd_port: u16) -> Result<Self, ClusterError> {
        let erl = find("erl", "erlang-base")?;
        let epmd = find("epmd", "erlang-base")?;
        let cookie_path = home.join(".erlang.cookie");
        fs::write(&cookie_path, cookie()).map_err(io_error("writing the Erlang cookie"))?;
        fs::set_permissions(&cookie_path, fs::Permissions::from_mode(0o400))
            .map_err(io_error("restricting the Erlang cookie"))?;
        let child = Command::new(&epmd)
            .args(["-port", &epmd_port.to_string(), "-address", "127.0.0.1"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(io_error(format!("starting {}", epmd.display())))?;
        let erlang = Self {
            home: home.to_owned(),
            epmd_port,
            epmd: Some(child),
            erl,
        };
        if !wait_until(Instant::now(), EPMD_START, || {
            std::net::TcpStream::connect(("127.0.0.1", epmd_port)).is_ok()
        }) {
            return Err(ClusterError::Timeout {
                what: format!("epmd listening on 127.0.0.1:{epmd_port}"),
                waited: EPMD_START,
                log: String::new(),
            });
        }
        Ok(erlang)
    }

    /// `program` with the environment that makes it use this cluster's cookie and `epmd`, in `dir`.
    pub(crate) fn command(&self, program: &Path, dir: &Path) -> Command {
        let mut command = Command::new(program);
        command
            .current_dir(dir)
            .env("HOME", &self.home)
            .env("ERL_EPMD_PORT", self.epmd_port.to_string())
            .env("ERL_EPMD_ADDRESS", "127.0.0.1")
            .env("ERL_CRASH_DUMP_SECONDS", "0")
            .stdin(Stdio::null());
        command
    }

    /// Evaluates `expression` on `node` (`rpc:call`, at most `timeout`) from a hidden node and returns what it
    /// printed as an Erlang term (`~p`). `env` is added to the hidden node's environment (a code path...).
    pub(crate) fn rpc(
        &self,
        node: &str,
        expression: &str,
        env: &[(&str, &str)],
        timeout: Duration,
    ) -> Result<String, ClusterError> {
        let millis = timeout.as_millis();
        let eval = format!(
            "R = rpc:call('{node}', erlang, apply, [fun() -> {expression} end, []], {millis}), \
             io:format(\"~p~n\", [R]), halt()."
        );
        self.eval(&eval, env, timeout + Duration::from_secs(10))
    }

    /// Runs `erl -eval` on a hidden node (the expression must halt), killed after `timeout`, and returns its
    /// output.
    pub(crate) fn eval(
        &self,
        expression: &str,
        env: &[(&str, &str)],
        timeout: Duration,
    ) -> Result<String, ClusterError> {
        let mut command = self.command(&self.erl, &self.home);
        command
            .args([
                "-sname",
                &tool_name(),
                "-hidden",
                "-noinput",
                "-eval",
                expression,
            ])
            .envs(env.iter().copied());
        run(command, expression, timeout)
    }

    /// A tool node's command: `erl` with the cluster's environment, a unique hidden name, and `args`.
    pub(crate) fn tool(&self, args: &[&str], env: &[(&str, &str)]) -> Command {
        let mut command = self.command(&self.erl, &self.home);
        command
            .args(["-sname", &tool_name(), "-hidden", "-noinput"])
            .args(args)
            .envs(env.iter().copied());
        command
    }

    /// The `erl` program.
    pub(crate) fn erl(&self) -> &Path {
        &self.erl
    }
}

impl Drop for Erlang {
    fn drop(&mut self) {
        if let Some(mut epmd) = self.epmd.take() {
            let _ = epmd.kill();
            let _ = epmd.wait();
        }
    }
}

/// Runs `command` to its end, killed after `timeout`; its output (both streams) on success.
pub(crate) fn run(
    mut command: Command,
    what: &str,
    timeout: Duration,
) -> Result<String, ClusterError> {
    let output_path = std::env::temp_dir().join(format!("mqtt-test-erl-{}.out", tool_name()));
    let output = fs::File::create(&output_path).map_err(io_error("creating a tool's output"))?;
    let errors = output
        .try_clone()
        .map_err(io_error("creating a tool's output"))?;
    let mut child = command
        .stdout(output)
        .stderr(errors)
        .spawn()
        .map_err(io_error(format!("running {what}")))?;
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if started.elapsed() < timeout => {
                std::thread::sleep(Duration::from_millis(50));
            }
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
        }
    };
    let text = fs::read_to_string(&output_path).unwrap_or_default();
    let _ = fs::remove_file(&output_path);
    match status {
        Some(status) if status.success() => Ok(text),
        Some(status) => Err(ClusterError::Command {
            what: what.to_owned(),
            output: format!("{status}: {text}"),
        }),
        None => Err(ClusterError::Timeout {
            what: what.to_owned(),
            waited: timeout,
            log: text,
        }),
    }
}

/// What a cluster starts from: a fresh temp dir (the `HOME` of every node and tool), free loopback ports (one for
/// `epmd`, two for each node) and the cluster's `epmd`, running.
#[derive(Debug)]
pub(crate) struct Ground {
    pub(crate) dir: TempDir,
    pub(crate) erlang: Erlang,
    pub(crate) epmd_port: u16,
    /// The MQTT and the Erlang distribution port of each node.
    pub(crate) ports: Vec<(u16, u16)>,
}

impl Ground {
    /// The ground of a cluster of `nodes` nodes, its temp dir named after `prefix`.
    pub(crate) fn prepare(prefix: &str, nodes: usize) -> Result<Self, ClusterError> {
        let dir = tempfile::Builder::new()
            .prefix(prefix)
            .tempdir()
            .map_err(io_error("creating the cluster's temp dir"))?;
        let ports = free_ports(1 + 2 * nodes).map_err(|e| ClusterError::Command {
            what: "picking free ports".to_owned(),
            output: e.to_string(),
        })?;
        let (epmd_port, node_ports) = ports.split_first().ok_or_else(|| ClusterError::Command {
            what: "picking free ports".to_owned(),
            output: "none".to_owned(),
        })?;
        let erlang = Erlang::start(dir.path(), *epmd_port)?;
        let ports = node_ports
            .chunks_exact(2)
            .filter_map(|pair| match pair {
                [mqtt, dist] => Some((*mqtt, *dist)),
                _ => None,
            })
            .collect();
        Ok(Self {
            dir,
            erlang,
            epmd_port: *epmd_port,
            ports,
        })
    }
}

/// Waits (at most `waited`, asking every 500 ms) until `members`, the sorted names of the cluster's nodes as one
/// node sees them (`what`, in the error), lists every one of `nodes`.
pub(crate) fn wait_clustered(
    nodes: &[Node],
    what: &str,
    waited: Duration,
    mut members: impl FnMut() -> Result<Vec<String>, ClusterError>,
) -> Result<(), ClusterError> {
    let mut expected: Vec<String> = nodes.iter().map(|n| n.name().to_owned()).collect();
    expected.sort();
    let started = Instant::now();
    loop {
        let last = match members() {
            Ok(members) if members == expected => return Ok(()),
            Ok(members) => format!("{what}: {members:?}"),
            Err(error) => error.to_string(),
        };
        if started.elapsed() >= waited {
            return Err(ClusterError::Timeout {
                what: format!("every node in the cluster {expected:?}"),
                waited,
                log: last,
            });
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// A broker node: an Erlang VM started as a child process, its output in a log file.
#[derive(Debug)]
pub struct Node {
    name: String,
    port: u16,
    log: PathBuf,
    child: Option<Child>,
}

impl Node {
    /// Starts `command` (which must run the VM in the foreground, as the child itself) with its output to `log`.
    pub(crate) fn spawn(
        name: String,
        port: u16,
        log: PathBuf,
        mut command: Command,
    ) -> Result<Self, ClusterError> {
        let output = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .map_err(io_error(format!("opening the log of {name}")))?;
        let errors = output
            .try_clone()
            .map_err(io_error(format!("opening the log of {name}")))?;
        let child = command
            .stdout(output)
            .stderr(errors)
            .spawn()
            .map_err(io_error(format!("starting node {name}")))?;
        Ok(Self {
            name,
            port,
            log,
            child: Some(child),
        })
    }

    /// Waits until `ready` is true, at most `timeout` from `started`; fails if the node exits meanwhile.
    pub(crate) fn wait(
        &mut self,
        what: &str,
        started: Instant,
        timeout: Duration,
        mut ready: impl FnMut(&Self) -> bool,
    ) -> Result<(), ClusterError> {
        let mut exited = None;
        let done = wait_until(started, timeout, || {
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                exited = Some(status);
                return true;
            }
            ready(self)
        });
        if let Some(status) = exited {
            self.child = None;
            return Err(ClusterError::Exited {
                node: self.name.clone(),
                status,
                log: self.log_tail(),
            });
        }
        if done {
            Ok(())
        } else {
            Err(ClusterError::Timeout {
                what: format!("{what} ({})", self.name),
                waited: timeout,
                log: self.log_tail(),
            })
        }
    }

    /// Waits (at most `timeout` from now) until its MQTT listener accepts a CONNECT with `credentials`; fails if
    /// the node exits meanwhile.
    pub(crate) fn wait_answers(
        &mut self,
        timeout: Duration,
        credentials: Option<(&str, &str)>,
    ) -> Result<(), ClusterError> {
        self.wait(
            "its MQTT listener answering",
            Instant::now(),
            timeout,
            |node| mqtt_answers(node.port(), credentials, Duration::from_secs(5)),
        )
    }

    /// The Erlang node name (`rabbit1-PORT@localhost`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The port of its MQTT listener on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The URL of its MQTT listener: `mqtt://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("mqtt://127.0.0.1:{}", self.port)
    }

    /// The PID of the VM, `None` once killed.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Whether the VM is still running (paused counts as running).
    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|child| matches!(child.try_wait(), Ok(None)))
    }

    /// Kills the node with SIGKILL (a paused node too) and waits for the process to end: its clients see their
    /// connections reset, the other nodes see it gone. Does nothing if it is not running.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Hangs the node with SIGSTOP: the kernel still accepts TCP connections to its listeners and keeps the
    /// established ones open, but nothing answers. [`resume`](Self::resume) or [`kill`](Self::kill) ends it.
    ///
    /// # Errors
    ///
    /// [`ClusterError::Command`] if the node is not running or the signal could not be sent.
    pub fn pause(&mut self) -> Result<(), ClusterError> {
        self.signal("-STOP")
    }

    /// Resumes a paused node with SIGCONT.
    ///
    /// # Errors
    ///
    /// As [`pause`](Self::pause).
    pub fn resume(&mut self) -> Result<(), ClusterError> {
        self.signal("-CONT")
    }

    fn signal(&mut self, signal: &str) -> Result<(), ClusterError> {
        let what = format!("kill {signal} {}", self.name);
        let pid = self.pid().ok_or_else(|| ClusterError::Command {
            what: what.clone(),
            output: "the node is not running".to_owned(),
        })?;
        let status = Command::new("kill")
            .args([signal, &pid.to_string()])
            .status()
            .map_err(io_error(what.clone()))?;
        if status.success() {
            Ok(())
        } else {
            Err(ClusterError::Command {
                what,
                output: status.to_string(),
            })
        }
    }

    /// The end of the node's log (its standard output and error; the brokers' own log files are in the temp dir).
    pub fn log_tail(&self) -> String {
        tail(&self.log, 16 * 1024)
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A program of a Debian package: on PATH, or where Debian puts it.
pub(crate) fn find(program: &str, package: &'static str) -> Result<PathBuf, ClusterError> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/bin", "/usr/sbin", "/usr/lib/erlang/bin"].map(PathBuf::from))
        .map(|dir| dir.join(program))
        .find(|candidate| {
            fs::metadata(candidate)
                .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
        })
        .ok_or_else(|| ClusterError::NotInstalled {
            program: program.to_owned(),
            package,
        })
}

/// A unique short name for a hidden tool node.
fn tool_name() -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("mqtt-test-tool-{}-{n}@localhost", std::process::id())
}

/// A cookie for the cluster's nodes: letters only, different for every cluster (they share no `epmd`, the cookie
/// only keeps stray nodes out).
fn cookie() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let mut x = (nanos as u64) ^ (u64::from(std::process::id()) << 32) ^ 0x9e37_79b9_7f4a_7c15;
    (0..20)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            char::from(b'A' + (x % 26) as u8)
        })
        .collect()
}
