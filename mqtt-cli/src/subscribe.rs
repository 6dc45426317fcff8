//! `mqtt sub`: subscribe and print what comes, until `-C` messages, `-W` seconds, Ctrl-C, or a closed pipe.

use std::io::ErrorKind;

use mqtt_tokio::{Error, PacketType};
use tokio::time::Instant;

use crate::args::SubArgs;
use crate::connection::{Target, qos};
use crate::failure::{Class, Failure, broker_said};
use crate::output::Format;
use crate::publish::within;

/// The packets `mqtt sub` sends, for `-D`.
const PACKETS: &[&str] = &["connect", "subscribe", "disconnect", "will"];

/// Why the loop ended.
enum End {
    /// `-C` messages printed, Ctrl-C, or the reader of stdout went away.
    Done,
    /// `-W` ran out first.
    TimedOut,
}

/// Runs `mqtt sub`.
///
/// # Errors
///
/// A failure of the class of what went wrong: the connection, a refused subscription, `-W` running out before
/// `-C` messages came.
pub(crate) async fn run(args: SubArgs) -> Result<(), Failure> {
    let target = Target::new(&args.connect, PACKETS)?;
    let deadline = args.timeout.map(|timeout| Instant::now() + timeout);
    let format = Format::new(&args.output);
    let connection = within(deadline, target.connect(), "connecting").await?;
    // From here on, Ctrl-C and SIGTERM end with a DISCONNECT.
    let interrupted = crate::signal::interrupted();
    let client = &connection.client;

    let request = target.subscribe(&args.topic, qos(args.qos));
    let subscribed = within(
        deadline,
        async { client.subscribe_with(request).await.map_err(Failure::from) },
        "subscribing",
    )
    .await;
    let mut subscription = match subscribed {
        Ok(subscription) => subscription,
        Err(failure) => {
            let _ = connection.close().await;
            return Err(failure);
        }
    };
    let mut refused = Vec::new();
    let said = broker_said(client.last_reason(), &[PacketType::SubAck]).unwrap_or_default();
    for (filter, granted) in args.topic.iter().zip(subscription.granted()) {
        match granted {
            Ok(qos) if target.debug => {
                eprintln!("mqtt: subscribed to {filter} (QoS {})", *qos as u8);
            }
            Ok(_) => {}
            Err(error) => {
                eprintln!("mqtt: {filter}: {error}{said}");
                refused.push(error.clone());
            }
        }
    }
    if refused.len() == args.topic.len() {
        let broker = connection.broker.clone();
        let reason = client.last_reason();
        let _ = connection.close().await;
        let error = refused.pop().unwrap_or(Error::Closed);
        return Err(Failure::at(&broker, &error).said(reason, &[PacketType::SubAck]));
    }

    // The client numbers its subscriptions itself: show the identifiers only when -D chose one.
    let show_ids = target
        .properties
        .get("subscribe", "subscription-identifier")
        .is_some();
    let gave_up = connection.gave_up();
    let time_up = async {
        match deadline {
            Some(deadline) => tokio::time::sleep_until(deadline).await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(gave_up, interrupted, time_up);
    let mut stdout = std::io::stdout().lock();
    let mut printed = 0;
    let end = loop {
        tokio::select! {
            message = subscription.recv() => {
                let Some(mut message) = message else {
                    return Err(Failure::new(Class::Network, "the connection's event loop ended"));
                };
                if args.no_retained && message.retain {
                    continue;
                }
                if !show_ids {
                    message.subscription_identifiers.clear();
                }
                match format.write(&mut stdout, &message) {
                    Ok(()) => {}
                    Err(error) if error.kind() == ErrorKind::BrokenPipe => break End::Done,
                    Err(error) => return Err(Failure::from(error)),
                }
                printed += 1;
                if args.count == Some(printed) {
                    break End::Done;
                }
            }
            failure = &mut gave_up => return Err(failure),
            _ = &mut interrupted => break End::Done,
            () = &mut time_up => break End::TimedOut,
        }
    };
    drop(subscription);
    connection.close().await?;
    match (end, args.count) {
        (End::TimedOut, Some(count)) => Err(Failure::timed_out(&format!(
            "(-W): {printed} of {count} messages received"
        ))
        .hint("allow more time with -W, or check that something publishes to the topic")),
        _ => Ok(()),
    }
}
