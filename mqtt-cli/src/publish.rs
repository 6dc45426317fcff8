//! `mqtt pub`: one message (from `-m`, `-f`, `-s` or `-n`, `--repeat` times), or one per line of stdin (`-l`).

use std::collections::VecDeque;
use std::io::Read as _;
use std::path::Path;

use bytes::Bytes;
use mqtt_tokio::{Client, Delivery, Error, Message, PacketType, PublishFailure};
use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::time::Instant;

use crate::args::PubArgs;
use crate::connection::{Connection, Target, qos, read};
use crate::failure::{Class, Failure};

/// The packets `mqtt pub` sends, for `-D`.
const PACKETS: &[&str] = &["connect", "publish", "disconnect", "will"];

/// The client's default memory for outgoing messages ([`mqtt_tokio::Options::queue_bytes`]).
const QUEUE_DEFAULT: usize = 4 * 1024 * 1024;

/// Messages awaiting their acknowledgement at most, before the next one waits for the oldest.
const WINDOW: usize = 256;

/// Runs `mqtt pub`.
///
/// # Errors
///
/// A failure of the class of what went wrong: the connection, a message the broker refused, `-W` running out.
pub(crate) async fn run(args: PubArgs) -> Result<(), Failure> {
    let mut target = Target::new(&args.connect, PACKETS)?;
    // Read before connecting: a file that cannot be read costs no connection.
    let payload = match args.stdin_line {
        true => None,
        false => Some(payload(
            args.message.as_deref(),
            args.file.as_deref(),
            args.stdin_file,
        )?),
    };
    if let Some(payload) = &payload {
        // As mosquitto_pub: a payload of any size the protocol allows (the queue's default is 4 MiB), with room
        // for the topic and the properties.
        let packet = payload.len() + args.topic.len() + QUEUE_DEFAULT / 64;
        target.options = target
            .options
            .clone()
            .queue_bytes(packet.max(QUEUE_DEFAULT));
    }
    let deadline = args.timeout.map(|timeout| Instant::now() + timeout);
    let connection = within(deadline, target.connect(), "connecting").await?;
    let mut publisher = Publisher::new(
        connection.client.clone(),
        target.message(&args.topic, Bytes::new(), qos(args.qos), args.retain),
    );
    publisher.debug = target.debug;
    let work = async {
        match payload {
            Some(payload) => {
                // Ctrl-C or SIGTERM during a --repeat run stops it: what was sent is acknowledged, then
                // DISCONNECT (no will), as with -l.
                let interrupted = crate::signal::interrupted();
                tokio::pin!(interrupted);
                for i in 0..args.repeat {
                    let next = async {
                        if i > 0 && !args.repeat_delay.is_zero() {
                            tokio::time::sleep(args.repeat_delay).await;
                        }
                        publisher.send(payload.clone()).await
                    };
                    tokio::select! {
                        sent = next => sent?,
                        () = &mut interrupted => break,
                    }
                }
            }
            None => publisher.lines().await?,
        }
        publisher.flush().await
    };
    let outcome = within(deadline, work, "publishing")
        .await
        .map_err(|failure| match failure.class {
            // Connected, so the address was right: what took the time was the broker or stdin.
            Class::Timeout => failure.hint(
                "the broker was reached, and did not acknowledge every message in time, or stdin (-l, -s) was \
                 still open: allow more time with -W, or close stdin",
            ),
            _ => failure,
        });
    let closed = finish(connection, outcome.is_ok()).await;
    outcome.and(closed)
}

/// Disconnects: gracefully after success; after a failure quickly, without waiting for acknowledgements (the
/// failure is what the caller reports).
async fn finish(connection: Connection, done: bool) -> Result<(), Failure> {
    match done {
        true => connection.close().await,
        false => {
            connection.abandon().await;
            Ok(())
        }
    }
}

/// `future`, or a timeout failure at `deadline`.
pub(crate) async fn within<T>(
    deadline: Option<Instant>,
    future: impl Future<Output = Result<T, Failure>>,
    what: &str,
) -> Result<T, Failure> {
    match deadline {
        None => future.await,
        Some(deadline) => tokio::time::timeout_at(deadline, future)
            .await
            .unwrap_or_else(|_| Err(Failure::timed_out(&format!("{what} (-W)")))),
    }
}

/// Publishes with a window of acknowledgements outstanding: memory stays bounded however much comes in.
#[derive(Debug)]
pub(crate) struct Publisher {
    client: Client,
    /// The topic, QoS, retain flag and properties of every message.
    template: Message,
    pending: VecDeque<Delivery>,
    /// Say each message on stderr.
    pub(crate) debug: bool,
}

impl Publisher {
    /// A publisher of messages like `template` (its payload aside).
    pub(crate) fn new(client: Client, template: Message) -> Self {
        Self {
            client,
            template,
            pending: VecDeque::new(),
            debug: false,
        }
    }

    /// The client it publishes with.
    pub(crate) fn client(&self) -> &Client {
        &self.client
    }

    /// Publishes one message; waits for room when the client's queue is full, and for the oldest acknowledgement
    /// beyond the window.
    ///
    /// # Errors
    ///
    /// The message cannot be published (an invalid topic...), or the broker did not take an earlier one.
    pub(crate) async fn send(&mut self, payload: Bytes) -> Result<(), Failure> {
        let size = payload.len();
        let mut message = self.template.clone();
        message.payload = payload;
        if self.debug {
            eprintln!(
                "mqtt: publishing {size} bytes to {} (QoS {})",
                message.topic, message.qos as u8
            );
        }
        // A full queue is waited for (nothing is dropped): acknowledgements make room.
        let delivery = self.client.publish_message_when_room(message).await?;
        self.pending.push_back(delivery);
        while self.pending.len() > WINDOW {
            self.wait_oldest().await?;
        }
        Ok(())
    }

    /// One message per line of stdin, as the lines come, until its end (or Ctrl-C).
    async fn lines(&mut self) -> Result<(), Failure> {
        let mut stdin = BufReader::new(tokio::io::stdin());
        let mut line = Vec::new();
        let interrupted = crate::signal::interrupted();
        tokio::pin!(interrupted);
        loop {
            line.clear();
            let read = tokio::select! {
                read = stdin.read_until(b'\n', &mut line) => read,
                _ = &mut interrupted => return Ok(()),
            };
            match read {
                Ok(0) => return Ok(()),
                Ok(_) => {
                    let end = line.strip_suffix(b"\n").unwrap_or(&line);
                    let end = end.strip_suffix(b"\r").unwrap_or(end);
                    self.send(Bytes::copy_from_slice(end)).await?;
                }
                Err(error) => return Err(Failure::usage(format!("cannot read stdin: {error}"))),
            }
        }
    }

    async fn wait_oldest(&mut self) -> Result<(), Failure> {
        match self.pending.pop_front() {
            Some(oldest) => oldest.wait().await.map_err(|error| {
                // The latest Reason String, if it came with this refusal's code.
                let reason = self.client.last_reason().filter(|reason| {
                    matches!(&error, Error::PublishFailed(PublishFailure::Rejected(code)) if *code == reason.code)
                });
                Failure::from(error).said(
                    reason,
                    &[PacketType::PubAck, PacketType::PubRec, PacketType::PubComp],
                )
            }),
            None => Ok(()),
        }
    }

    /// Waits for every acknowledgement.
    ///
    /// # Errors
    ///
    /// The broker did not take a message.
    pub(crate) async fn flush(&mut self) -> Result<(), Failure> {
        while !self.pending.is_empty() {
            self.wait_oldest().await?;
        }
        Ok(())
    }
}

/// All of stdin.
fn stdin() -> Result<Vec<u8>, Failure> {
    let mut payload = Vec::new();
    std::io::stdin()
        .read_to_end(&mut payload)
        .map_err(|e| Failure::usage(format!("cannot read stdin: {e}")))?;
    Ok(payload)
}

/// The payload of `-m`, `-f`, `-s` or `-n` (empty).
pub(crate) fn payload(
    message: Option<&std::ffi::OsStr>,
    file: Option<&Path>,
    stdin_file: bool,
) -> Result<Bytes, Failure> {
    Ok(match (message, file) {
        (Some(message), _) => Bytes::from(argument_bytes(message)),
        (None, Some(path)) => Bytes::from(read(path, "-f")?),
        (None, None) if stdin_file => Bytes::from(stdin()?),
        (None, None) => Bytes::new(),
    })
}

/// The bytes of a command-line argument as given: on Unix any bytes (a payload need not be UTF-8); elsewhere
/// its text, with what is not Unicode replaced.
pub(crate) fn argument_bytes(argument: &std::ffi::OsStr) -> Vec<u8> {
    #[cfg(unix)]
    {
        std::os::unix::ffi::OsStrExt::as_bytes(argument).to_vec()
    }
    #[cfg(not(unix))]
    {
        argument.to_string_lossy().into_owned().into_bytes()
    }
}
