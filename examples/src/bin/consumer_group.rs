//! A consumer group: several processes share the work of one topic through a shared subscription
//! (`Client::subscribe_shared`, the filter `$share/GROUP/FILTER`), each message going to one member only.
//!
//! ```text
//! cargo run -p examples --bin consumer_group                                    # in-process broker, 3 × 3000
//! MQTT_BROKER=mqtt://127.0.0.1:1883 cargo run -p examples --bin consumer_group -- 4 10000
//! ```
//!
//! The program starts MEMBERS copies of itself (default 3) as the group's members, waits until each has joined,
//! publishes MESSAGES jobs (default 3,000, QoS 1), then tells the members to stop, and checks that every job was
//! handled by exactly one member. MQTT 5.0 brokers offer shared subscriptions (unless their CONNACK says
//! otherwise); mosquitto, EMQX, HiveMQ and VerneMQ accept the same filter from 3.1.1 clients.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Command, ExitCode, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use mqtt_core::client::shared_filter;
use mqtt_tokio::{Options, QoS};

const WAIT: Duration = Duration::from_secs(30);
const GROUP: &str = "workers";

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let outcome = match args.first().map(String::as_str) {
        Some("member") => member(&args[1], &args[2]).await,
        _ => coordinator(&args).await,
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("consumer_group failed: {e}");
            ExitCode::FAILURE
        }
    }
}

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// One member: joins the group, prints each job it gets, leaves on the stop message.
async fn member(name: &str, base: &str) -> Result<()> {
    let options = Options::from_env()?.client_id(format!("{base}-{name}").replace('/', "-"));
    let client = mqtt_tokio::connect(options).await?;
    // One request, one stream: the jobs of the group, and the stop message after them, in arrival order.
    let jobs = shared_filter(GROUP, &format!("{base}/jobs/+"))?;
    let mut inbox = client
        .subscribe_many([
            (jobs, QoS::AtLeastOnce),
            (format!("{base}/stop"), QoS::AtLeastOnce),
        ])
        .await?;
    println!("ready");
    let mut handled = 0;
    while let Some(message) = tokio::time::timeout(WAIT, inbox.recv()).await? {
        if message.topic.ends_with("/stop") {
            break;
        }
        handled += 1;
        println!("job {}", String::from_utf8_lossy(&message.payload));
    }
    println!("done after {handled} jobs");
    client.disconnect(Duration::from_secs(5)).await?;
    Ok(())
}

/// Starts the members, publishes the jobs, and checks that each was handled once.
async fn coordinator(args: &[String]) -> Result<()> {
    let members: usize = args.first().map_or(Ok(3), |n| n.parse())?;
    let messages: u32 = args.get(1).map_or(Ok(3000), |n| n.parse())?;
    let broker = examples::broker::start_unless_configured()?;
    let options = match &broker {
        Some(broker) => Options::new(&broker.url())?,
        None => Options::from_env()?,
    };
    let url = options.brokers()[0].clone();
    let base = format!("consumer_group/{}", std::process::id());

    // Each member's lines come through a channel: (member, line).
    let (lines, seen) = mpsc::channel::<(usize, String)>();
    let mut children = Vec::new();
    for m in 0..members {
        let mut child = Command::new(std::env::current_exe()?)
            .args(["member", &format!("m{m}"), &base])
            .env("MQTT_BROKER", &url)
            .stdout(Stdio::piped())
            .spawn()?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let lines = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout)
                .lines()
                .map_while(std::io::Result::ok)
            {
                let _ = lines.send((m, line));
            }
        });
        children.push(child);
    }
    let mut ready = 0;
    while ready < members {
        let (m, line) = seen.recv_timeout(WAIT)?;
        ready += usize::from(line == "ready");
        println!("member {m}: {line}");
    }

    let client =
        mqtt_tokio::connect(options.client_id(format!("{base}-producer").replace('/', "-")))
            .await?;
    let mut deliveries = Vec::new();
    for n in 0..messages {
        let topic = format!("{base}/jobs/{}", n % 10);
        deliveries.push(
            client
                .publish(topic, n.to_string(), QoS::AtLeastOnce, false)
                .await?,
        );
    }
    for delivery in deliveries {
        delivery.wait_timeout(WAIT).await?;
    }
    client
        .publish(format!("{base}/stop"), "", QoS::AtLeastOnce, false)
        .await?
        .wait_timeout(WAIT)
        .await?;
    println!("published {messages} jobs to {base}/jobs/+ and the stop message");

    // Who handled what, until every member is done.
    let mut handled: BTreeMap<u32, Vec<usize>> = BTreeMap::new();
    let mut per_member = vec![0u32; members];
    let mut done = 0;
    while done < members {
        let (m, line) = seen.recv_timeout(WAIT)?;
        if let Some(job) = line.strip_prefix("job ") {
            handled.entry(job.parse()?).or_default().push(m);
            per_member[m] += 1;
        } else if line.starts_with("done") {
            done += 1;
        }
    }
    for mut child in children {
        child.wait()?;
    }
    client.disconnect(Duration::from_secs(5)).await?;
    for (m, count) in per_member.iter().enumerate() {
        println!("member {m} handled {count} jobs");
    }
    let once = handled.values().filter(|by| by.len() == 1).count();
    let twice = handled.values().filter(|by| by.len() > 1).count();
    let lost = messages as usize - handled.len();
    println!(
        "{once} of {messages} jobs handled by exactly one member ({lost} lost, {twice} more than once)"
    );
    if once == messages as usize {
        Ok(())
    } else {
        Err("some jobs were lost or handled twice".into())
    }
}
