//! The size baseline with minimq 0.13: connect, subscribe at QoS 2, publish at QoS 0, 1 and 2, receive the three
//! messages back, disconnect, exit through semihosting.

#![no_std]
#![no_main]

#[path = "../../../src/board.rs"]
mod board;

use board::Uart;
use embassy_executor::Spawner;
use minimq::{Buffers, ConfigBuilder, Publication, QoS, Session, SubscriptionOptions, TopicFilter};

async fn scenario(session: &mut Session<'_>) -> Result<(), ()> {
    let mut connection = session.connect(Uart::new()).await.map_err(drop)?;
    let filter = TopicFilter::new("s/#")
        .options(SubscriptionOptions::default().maximum_qos(QoS::ExactlyOnce));
    connection.subscribe(&[filter], &[]).await.map_err(drop)?;
    for (topic, qos) in [
        ("s/0", QoS::AtMostOnce),
        ("s/1", QoS::AtLeastOnce),
        ("s/2", QoS::ExactlyOnce),
    ] {
        let publication = Publication::bytes(topic, topic.as_bytes()).qos(qos);
        connection.publish(publication).await.map_err(drop)?;
    }
    for _ in 0..3 {
        connection.recv().await.map_err(drop)?;
    }
    connection.disconnect().await.map_err(drop)
}

#[embassy_executor::main]
async fn main(_spawner: Spawner) {
    let Some(peripherals) = cortex_m::Peripherals::take() else {
        board::exit(false);
    };
    board::start_clock(peripherals.SYST);
    let (mut rx, mut tx) = ([0u8; 1024], [0u8; 1280]);
    let Ok(config) = ConfigBuilder::new(Buffers::new(&mut rx, &mut tx)).client_id("size") else {
        board::exit(false);
    };
    let mut session = Session::new(config);
    board::exit(scenario(&mut session).await.is_ok());
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    board::exit(false)
}
