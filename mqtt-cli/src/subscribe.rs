//! `mqtt sub`: subscribe and print what comes, until `-C` messages, `-W` seconds, Ctrl-C, a closed pipe, or (with
//! `--retained-only`) the first message that is not retained; `-E` ends once subscribed.

use std::io::ErrorKind;

use mqtt_tokio::{Error, PacketType, QoS};
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
    /// `-C` messages printed, Ctrl-C, the reader of stdout went away, or a message that is not retained came with
    /// `--retained-only`.
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

    // -U without -t: unsubscribe, and that is all (as mosquitto_sub -U, which subscribes first).
    if args.topic.is_empty() {
        if let Err(failure) = unsubscribe(&args, &target, client, deadline).await {
            let _ = connection.close().await;
            return Err(failure);
        }
        return connection.close().await;
    }
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
    if let Err(failure) = unsubscribe(&args, &target, client, deadline).await {
        drop(subscription);
        let _ = connection.close().await;
        return Err(failure);
    }
    if args.exit_after_subscribe {
        drop(subscription);
        return connection.close().await;
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
                if args.retained_only && !message.retain {
                    break End::Done;
                }
                if args.no_retained && message.retain {
                    continue;
                }
                if args.filter_out.iter().any(|filter| mqtt_core::topic::matches(filter, &message.topic)) {
                    continue;
                }
                if args.remove_retained && message.retain {
                    // QoS 1, as mosquitto_sub: the DISCONNECT at the end waits for the broker's PUBACK.
                    let clear = async {
                        client
                            .publish_when_room(&message.topic, b"", QoS::AtLeastOnce, true)
                            .await
                            .map_err(Failure::from)
                    };
                    // The DISCONNECT waits for its acknowledgement.
                    let _ = within(deadline, clear, "clearing a retained message").await?;
                    if target.debug {
                        eprintln!("mqtt: clearing the retained message of {}", message.topic);
                    }
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

/// Unsubscribes from the `-U` filters, if any (saying so with `-d`).
///
/// # Errors
///
/// The connection's, or the broker's refusal of a filter (5.0).
async fn unsubscribe(
    args: &SubArgs,
    target: &Target,
    client: &mqtt_tokio::Client,
    deadline: Option<Instant>,
) -> Result<(), Failure> {
    if args.unsubscribe.is_empty() {
        return Ok(());
    }
    let unsubscribed = async {
        client
            .unsubscribe(args.unsubscribe.iter().cloned())
            .await
            .map_err(|error| {
                Failure::at(&target.broker, &error)
                    .said(client.last_reason(), &[PacketType::UnsubAck])
            })
    };
    within(deadline, unsubscribed, "unsubscribing").await?;
    if target.debug {
        for filter in &args.unsubscribe {
            eprintln!("mqtt: unsubscribed from {filter}");
        }
    }
    Ok(())
}
