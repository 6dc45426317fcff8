//! A child process of the harness (this binary re-invoked with `--child`), read line by line with deadlines, and
//! killed by PID if it does not finish in time or is dropped early.

use std::collections::HashMap;
use std::io::{BufRead as _, BufReader, Read as _};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use crate::backends::Backend;
use crate::child;
use crate::workload::Job;

/// What a child reported: its figures, and its error if it failed or stalled (figures printed before the error
/// still count).
#[derive(Debug, Default)]
pub(crate) struct Report {
    pub(crate) fields: HashMap<String, f64>,
    pub(crate) error: Option<String>,
    /// Why the client first lost its connection, if it did.
    pub(crate) lost: Option<String>,
}

impl Report {
    /// A figure, `None` when the child did not report it.
    pub(crate) fn get(&self, key: &str) -> Option<f64> {
        self.fields.get(key).copied()
    }

    /// A figure that must be there.
    pub(crate) fn need(&self, key: &str) -> Result<f64, String> {
        self.get(key).ok_or_else(|| match &self.error {
            Some(error) => error.clone(),
            None => format!("the child did not report {key}"),
        })
    }
}

/// A running child.
pub(crate) struct ChildProc {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    stderr: Arc<Mutex<String>>,
    report: Report,
}

/// Keep this much of a child's stderr for error messages.
const STDERR_TAIL: usize = 2000;

impl ChildProc {
    /// Starts `backend` on `job`.
    pub(crate) fn spawn(backend: &dyn Backend, job: &Job) -> Result<Self, String> {
        let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
        let mut child = Command::new(exe)
            .arg(child::FLAG)
            .arg(backend.name())
            .args(job.to_args())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("spawning a child: {e}"))?;
        let stdout = child.stdout.take().expect("stdout is piped");
        let (tx, lines) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = Arc::new(Mutex::new(String::new()));
        let tail = stderr.clone();
        let mut err = child.stderr.take().expect("stderr is piped");
        thread::spawn(move || {
            let mut chunk = [0u8; 4096];
            while let Ok(n) = err.read(&mut chunk) {
                if n == 0 {
                    break;
                }
                let mut text = tail
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                text.push_str(&String::from_utf8_lossy(&chunk[..n]));
                if text.len() > STDERR_TAIL * 2 {
                    let cut = text.len() - STDERR_TAIL;
                    let cut = (cut..text.len())
                        .find(|&i| text.is_char_boundary(i))
                        .unwrap_or(0);
                    text.drain(..cut);
                }
            }
        });
        Ok(Self {
            stdin: child.stdin.take(),
            child,
            lines,
            stderr,
            report: Report::default(),
        })
    }

    /// Reads lines until `READY`, at most `timeout`.
    pub(crate) fn wait_ready(&mut self, timeout: Duration) -> Result<(), String> {
        match self.read_until(|line| line == "READY", timeout) {
            Some(true) => Ok(()),
            _ => Err(self.failure("did not become ready", timeout)),
        }
    }

    /// Closes the child's stdin: a subscriber stops waiting and reports.
    pub(crate) fn close_stdin(&mut self) {
        self.stdin = None;
    }

    /// Waits at most `timeout` for the report (`END`) and the exit; kills the child otherwise.
    pub(crate) fn finish(mut self, timeout: Duration) -> Result<Report, String> {
        match self.read_until(|line| line == "END", timeout) {
            Some(true) => {
                self.reap(Duration::from_secs(5));
                Ok(std::mem::take(&mut self.report))
            }
            _ => Err(self.failure("did not finish", timeout)),
        }
    }

    /// Waits at most `drain` for the report; then closes stdin and waits at most `after` more.
    pub(crate) fn finish_or_stop(
        mut self,
        drain: Duration,
        after: Duration,
    ) -> Result<Report, String> {
        if self.read_until(|line| line == "END", drain) == Some(true) {
            self.reap(Duration::from_secs(5));
            return Ok(std::mem::take(&mut self.report));
        }
        self.close_stdin();
        self.finish(after)
    }

    /// Collects `R` and `ERR` lines until `done` accepts one: `Some(true)` then, `Some(false)` when the output
    /// ended first, `None` when the time ran out.
    fn read_until(&mut self, done: impl Fn(&str) -> bool, timeout: Duration) -> Option<bool> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    if done(&line) {
                        return Some(true);
                    }
                    if let Some(field) = line.strip_prefix("R ") {
                        if let Some((key, value)) = field.split_once('=')
                            && let Ok(value) = value.parse::<f64>()
                        {
                            self.report.fields.insert(key.to_owned(), value);
                        }
                    } else if let Some(reason) = line.strip_prefix("LOST ") {
                        self.report.lost = Some(reason.to_owned());
                    } else if let Some(error) = line.strip_prefix("ERR ") {
                        self.report.error = Some(error.to_owned());
                    }
                }
                Err(RecvTimeoutError::Disconnected) => return Some(false),
                Err(RecvTimeoutError::Timeout) => return None,
            }
        }
    }

    /// Waits for the exit, killing the child after `grace`.
    fn reap(&mut self, grace: Duration) {
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            thread::sleep(Duration::from_millis(5));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Kills the child and describes what went wrong, with its error line and the end of its stderr.
    fn failure(&mut self, what: &str, timeout: Duration) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let mut text = match &self.report.error {
            Some(error) => error.clone(),
            None => format!(
                "stalled: the child {what} within {} s",
                timeout.as_secs_f64()
            ),
        };
        let stderr = self
            .stderr
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .trim()
            .to_owned();
        if !stderr.is_empty() {
            let start = stderr.len().saturating_sub(400);
            let start = (start..stderr.len())
                .find(|&i| stderr.is_char_boundary(i))
                .unwrap_or(0);
            text.push_str(&format!(
                " (stderr: {})",
                stderr[start..].replace('\n', " | ")
            ));
        }
        text
    }
}

impl Drop for ChildProc {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
