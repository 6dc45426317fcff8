//! What the end-to-end tests share: the `mqtt` binary without the test's MQTT_* environment, processes run
//! within a time limit, and their output read line by line as it comes.
#![allow(dead_code, reason = "each test file uses part of it")]

use std::io::{BufRead as _, BufReader, Read};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use mqtt_test::{Mosquitto, MosquittoConfig};

/// Time any one process may take.
pub(crate) const LIMIT: Duration = Duration::from_secs(20);

/// Exit codes, as `mqtt --help` documents them.
pub(crate) const OTHER: i32 = 1;
pub(crate) const USAGE: i32 = 2;
pub(crate) const REFUSED: i32 = 3;
pub(crate) const NETWORK: i32 = 4;
pub(crate) const TLS: i32 = 5;
pub(crate) const TIMEOUT: i32 = 6;

pub(crate) fn broker(config: MosquittoConfig) -> Mosquitto {
    Mosquitto::start(config).unwrap_or_else(|e| panic!("{e}"))
}

/// The `mqtt` binary, with none of the MQTT_* variables of the test's environment.
pub(crate) fn mqtt(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_mqtt"));
    for name in [
        "MQTT_BROKER",
        "MQTT_PORT",
        "MQTT_USERNAME",
        "MQTT_PASSWORD",
        "MQTT_CLIENT_ID",
    ] {
        command.env_remove(name);
    }
    command.args(args);
    command
}

/// Runs a command to its end, within [`LIMIT`] (killed after it).
pub(crate) fn run(mut command: Command) -> Output {
    let child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{command:?}: {e}"));
    finish(child)
}

/// Waits for a running child's end and output, within [`LIMIT`].
pub(crate) fn finish(child: Child) -> Output {
    let pid = child.id();
    let (done, output) = mpsc::channel();
    thread::spawn(move || done.send(child.wait_with_output()));
    match output.recv_timeout(LIMIT) {
        Ok(output) => output.unwrap(),
        Err(_) => {
            let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
            panic!("process {pid} did not finish within {LIMIT:?}");
        }
    }
}

/// What a test reads of a process as it runs: its lines on one stream, until a line containing `needle`.
pub(crate) struct Lines {
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Lines {
    pub(crate) fn of(stream: impl Read + Send + 'static) -> Self {
        let (send, lines) = mpsc::channel();
        thread::spawn(move || {
            // Read to the end even when nobody listens any more, so that the process never blocks on a full pipe.
            for line in BufReader::new(stream).lines() {
                let Ok(line) = line else { break };
                let _ = send.send(line);
            }
        });
        Self {
            lines,
            seen: Vec::new(),
        }
    }

    /// Waits (at most [`LIMIT`]) for a line containing `needle`.
    pub(crate) fn wait_for(&mut self, needle: &str) {
        let deadline = Instant::now() + LIMIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if line.contains(needle) => return,
                Ok(line) => self.seen.push(line),
                Err(_) => panic!(
                    "no line with {needle:?} within {LIMIT:?}; saw {:?}",
                    self.seen
                ),
            }
        }
    }
}

/// `mqtt sub` started with `-d`, once it has subscribed (it says so on stderr); [`finish`] collects its stdout.
pub(crate) fn subscribed(mut command: Command) -> Child {
    let mut child = command
        .arg("-d")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    Lines::of(child.stderr.take().unwrap()).wait_for("mqtt: subscribed to");
    child
}

/// Waits for the end of a running `mqtt` (within [`LIMIT`]), which must exit with 0, and returns what it printed.
pub(crate) fn printed(child: Child) -> String {
    let output = finish(child);
    assert_exit(&output, 0);
    String::from_utf8(output.stdout).unwrap()
}

pub(crate) fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

pub(crate) fn assert_exit(output: &Output, code: i32) {
    assert_eq!(
        output.status.code(),
        Some(code),
        "stderr: {}",
        stderr(output)
    );
}
