//! The size baseline with mqtt-embedded: connect, subscribe at QoS 2, publish at QoS 0, 1 and 2, receive the three
//! messages back, disconnect, exit through semihosting.

#![no_std]
#![no_main]

#[path = "../../../src/board.rs"]
mod board;

use core::convert::Infallible;
use core::sync::atomic::{AtomicU32, Ordering};

use board::Uart;
use embassy_executor::Spawner;
use embassy_futures::select::{Either, select};
use embassy_time::Timer;
use mqtt_embedded::{
    Config, Connect, EmbassyClock, Error, Event, NoopRawMutex, QoS, Resources, Subscription,
};

struct Link;

impl Connect for Link {
    type Io = Uart;
    type Error = Infallible;

    async fn connect(&mut self) -> Result<Uart, Infallible> {
        Ok(Uart::new())
    }
}

static RECEIVED: AtomicU32 = AtomicU32::new(0);

#[embassy_executor::main]
async fn main(_spawner: Spawner) {
    let Some(peripherals) = cortex_m::Peripherals::take() else {
        board::exit(false);
    };
    board::start_clock(peripherals.SYST);
    let mut resources = Resources::<NoopRawMutex, Link, EmbassyClock, 1024, 1024, 128, 256>::new();
    let Ok((client, runner)) =
        mqtt_embedded::new(&Config::new("size"), &mut resources, Link, EmbassyClock)
    else {
        board::exit(false);
    };
    let run = runner.run(|event| {
        if let Event::Message(_) = event {
            RECEIVED.fetch_add(1, Ordering::Relaxed);
        }
    });
    let app = async {
        client
            .subscribe(&[Subscription::new("s/#", QoS::ExactlyOnce)])
            .await?;
        client.publish("s/0", b"0", QoS::AtMostOnce).await?;
        client.publish("s/1", b"1", QoS::AtLeastOnce).await?;
        client.publish("s/2", b"2", QoS::ExactlyOnce).await?;
        while RECEIVED.load(Ordering::Relaxed) < 3 {
            Timer::after_millis(1).await;
        }
        client.disconnect().await
    };
    let outcome: Either<_, Result<(), Error>> = select(run, app).await;
    board::exit(matches!(outcome, Either::Second(Ok(()))));
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    board::exit(false)
}
