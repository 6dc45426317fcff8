//! MQTT 5.0 request/response with `mqtt-tokio`: a responder answers requests on a service topic, a requester
//! sends several at once with `request`, and each gets its own answer (Response Topic and Correlation Data do
//! the matching).
//!
//! ```text
//! cargo run -p examples --bin request_response                                    # an in-process broker
//! MQTT_BROKER=mqtt://127.0.0.1:1883 cargo run -p examples --bin request_response  # your broker
//! ```

use std::process::ExitCode;
use std::time::Duration;

use examples::broker;
use mqtt_tokio::{Error, Options, QoS};

const TIMEOUT: Duration = Duration::from_secs(30);

#[tokio::main]
async fn main() -> ExitCode {
    let broker = match broker::start_unless_configured() {
        Ok(broker) => broker,
        Err(e) => {
            eprintln!("could not start the in-process broker: {e}");
            return ExitCode::FAILURE;
        }
    };
    let options = match &broker {
        Some(broker) => Options::new(&broker.url()),
        None => Options::from_env(),
    };
    let outcome = match options {
        Ok(options) => tokio::time::timeout(TIMEOUT, run(options)).await,
        Err(e) => Ok(Err(e)),
    };
    match outcome {
        Ok(Ok(())) => ExitCode::SUCCESS,
        Ok(Err(e)) => {
            eprintln!("request_response failed: {e}");
            ExitCode::FAILURE
        }
        Err(_) => {
            eprintln!("request_response failed: not finished within {TIMEOUT:?}");
            ExitCode::FAILURE
        }
    }
}

async fn run(options: Options) -> Result<(), Error> {
    println!("connecting to {}", options.brokers().join(", "));
    let pid = std::process::id();
    let options = options.connect_timeout(Duration::from_secs(10));
    let responder =
        mqtt_tokio::connect(options.clone().client_id(format!("rr-responder-{pid}"))).await?;
    let requester = mqtt_tokio::connect(options.client_id(format!("rr-requester-{pid}"))).await?;
    println!("responder and requester connected (MQTT 5.0)");

    // The responder: squares the number in each request. `responder` returns once the subscription is granted,
    // so no request is sent before anyone listens.
    let service = format!("request_response/{pid}/square");
    let requests = responder.responder(&service, QoS::AtLeastOnce).await?;
    println!("responder listening on {service}");
    let serving = tokio::spawn(requests.serve(|request| {
        let text = String::from_utf8_lossy(&request.payload);
        let number: i64 = text.trim().parse().ok()?;
        Some((number * number).to_string().into())
    }));

    // The requester: five requests at once; each gets its own answer, in whatever order they come.
    let numbers = [3_i64, 7, 12, 25, 101];
    let answers = futures::future::join_all(
        numbers
            .iter()
            .map(|n| requester.request(service.clone(), n.to_string(), Duration::from_secs(10))),
    )
    .await;
    for (n, answer) in numbers.iter().zip(answers) {
        let answer = answer?;
        let squared = String::from_utf8_lossy(&answer.payload).into_owned();
        let correlation = answer
            .correlation_data
            .as_ref()
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .unwrap_or_default();
        println!(
            "request {n} -> {squared} (on {}, correlation data {correlation})",
            answer.topic
        );
        if squared != (n * n).to_string() {
            return Err(Error::Environment("a response answered another request"));
        }
    }
    println!("every request got its own response");

    // A request nobody answers times out, and a late answer would be dropped.
    let silent = format!("request_response/{pid}/nobody");
    match requester
        .request(silent, "anyone?", Duration::from_millis(300))
        .await
    {
        Err(Error::Timeout) => println!("a request nobody answers times out"),
        other => println!("unexpected outcome of an unanswered request: {other:?}"),
    }

    serving.abort();
    requester.disconnect(Duration::from_secs(5)).await?;
    responder.disconnect(Duration::from_secs(5)).await?;
    println!("disconnected");
    Ok(())
}
