//! `ours` over TLS 1.3 (mqtt-embedded's `tls` feature): the same program, with the connector verifying the broker
//! against a CA and presenting a client certificate, read from QEMU's working directory as the QEMU TLS firmware
//! does (`ca.der`, `client.der`, `client-key.der`, and a seed from `/dev/urandom`).

#![no_std]
#![no_main]

#[path = "../../../src/board.rs"]
mod board;
#[path = "../../../src/host.rs"]
mod host;

use core::convert::Infallible;
use core::sync::atomic::{AtomicU32, Ordering};

use board::Uart;
use embassy_executor::Spawner;
use embassy_futures::select::{Either, select};
use embassy_time::Timer;
use mqtt_embedded::tls::{
    Identity, MaxFragmentLength, TlsConnector, TlsOptions, TlsResources, record_size,
};
use mqtt_embedded::{
    Config, Connect, EmbassyClock, Error, Event, NoopRawMutex, QoS, Resources, Subscription,
};
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;
use static_cell::ConstStaticCell;

struct Link;

impl Connect for Link {
    type Io = Uart;
    type Error = Infallible;

    async fn connect(&mut self) -> Result<Uart, Infallible> {
        Ok(Uart::new())
    }
}

const FRAGMENT: MaxFragmentLength = MaxFragmentLength::Bits10;

static RECEIVED: AtomicU32 = AtomicU32::new(0);
static CA: ConstStaticCell<[u8; 512]> = ConstStaticCell::new([0; 512]);
static CERTIFICATE: ConstStaticCell<[u8; 512]> = ConstStaticCell::new([0; 512]);
static KEY: ConstStaticCell<[u8; 128]> = ConstStaticCell::new([0; 128]);

#[embassy_executor::main]
async fn main(_spawner: Spawner) {
    let Some(peripherals) = cortex_m::Peripherals::take() else {
        board::exit(false);
    };
    board::start_clock(peripherals.SYST);
    let (Ok(ca), Ok(certificate), Ok(key), Ok(seed)) = (
        host::read(c"ca.der", CA.take()),
        host::read(c"client.der", CERTIFICATE.take()),
        host::read(c"client-key.der", KEY.take()),
        host::random(),
    ) else {
        board::exit(false);
    };
    let Ok(identity) = Identity::new(certificate, key) else {
        board::exit(false);
    };
    let options = TlsOptions::new("localhost", ca)
        .with_identity(identity)
        .with_max_fragment_length(FRAGMENT);
    let mut tls = TlsResources::<NoopRawMutex, Uart, { record_size(Some(FRAGMENT)) }, 768>::new();
    let connector: TlsConnector<'_, NoopRawMutex, Link, ChaCha20Rng> =
        TlsConnector::new(Link, &mut tls, options, ChaCha20Rng::from_seed(seed));
    let mut resources = Resources::<NoopRawMutex, _, EmbassyClock, 1024, 1024, 128, 256>::new();
    let Ok((client, runner)) = mqtt_embedded::new(
        &Config::new("size"),
        &mut resources,
        connector,
        EmbassyClock,
    ) else {
        board::exit(false);
    };
    let run = runner.run(|event| {
        if let Event::Message(_) = event {
            RECEIVED.fetch_add(1, Ordering::Relaxed);
        }
    });
    let app = async {
        // A command during the handshake would cut it (the runner restarts the attempt): wait for the connection.
        while !client.is_connected() {
            Timer::after_millis(1).await;
        }
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
