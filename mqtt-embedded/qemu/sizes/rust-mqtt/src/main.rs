//! The size baseline with rust-mqtt 0.6: connect, subscribe at QoS 2, publish at QoS 0, 1 and 2, receive the three
//! messages back, disconnect, exit through semihosting.

#![no_std]
#![no_main]

#[path = "../../../src/board.rs"]
mod board;

use board::Uart;
use embassy_executor::Spawner;
use rust_mqtt::buffer::BumpBuffer;
use rust_mqtt::client::Client;
use rust_mqtt::client::event::Event;
use rust_mqtt::client::options::{
    ConnectOptions, DisconnectOptions, PublicationOptions, SubscriptionOptions, TopicReference,
};
use rust_mqtt::types::{MqttString, TopicFilter, TopicName};

fn topic(name: &str) -> Result<TopicReference<'_>, ()> {
    let name = TopicName::new(MqttString::try_from(name).map_err(drop)?).ok_or(())?;
    Ok(TopicReference::Name(name))
}

async fn scenario<'c>(buffer: &'c mut BumpBuffer<'c>) -> Result<(), ()> {
    let mut client = Client::<'_, '_, Uart, _, 1, 2, 2, 1, 0, 0, 0>::new(buffer);
    let id = MqttString::try_from("size").map_err(drop)?;
    let connect = ConnectOptions::new().clean_start();
    client
        .connect(Uart::new(), &connect, Some(id))
        .await
        .map_err(drop)?;
    let filter = TopicFilter::new(MqttString::try_from("s/#").map_err(drop)?).ok_or(())?;
    let options = SubscriptionOptions::new().exactly_once();
    client.subscribe(filter, &options).await.map_err(drop)?;
    let (zero, one, two) = (topic("s/0")?, topic("s/1")?, topic("s/2")?);
    client
        .publish(
            &PublicationOptions::new(zero),
            rust_mqtt::Bytes::from(&b"0"[..]),
        )
        .await
        .map_err(drop)?;
    client
        .publish(
            &PublicationOptions::new(one).at_least_once(),
            rust_mqtt::Bytes::from(&b"1"[..]),
        )
        .await
        .map_err(drop)?;
    client
        .publish(
            &PublicationOptions::new(two).exactly_once(),
            rust_mqtt::Bytes::from(&b"2"[..]),
        )
        .await
        .map_err(drop)?;
    // The SUBACK, the three messages, the PUBACK and the PUBCOMP.
    let (mut received, mut completed) = (0, 0);
    while received < 3 || completed < 3 {
        match client.poll().await.map_err(drop)? {
            Event::Publish(_) => received += 1,
            Event::Suback(_) | Event::PublishAcknowledged(_) | Event::PublishComplete(_) => {
                completed += 1
            }
            _ => {}
        }
    }
    client
        .disconnect(&DisconnectOptions::new())
        .await
        .map_err(drop)?;
    Ok(())
}

#[embassy_executor::main]
async fn main(_spawner: Spawner) {
    let Some(peripherals) = cortex_m::Peripherals::take() else {
        board::exit(false);
    };
    board::start_clock(peripherals.SYST);
    let mut memory = [0u8; 2048];
    let mut buffer = BumpBuffer::new(&mut memory);
    board::exit(scenario(&mut buffer).await.is_ok());
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    board::exit(false)
}
