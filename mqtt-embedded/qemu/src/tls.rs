//! The end to end of `main.rs` over TLS 1.3: mqtt-embedded's `TlsConnector` (embedded-tls) on UART0, which QEMU
//! connects to mosquitto's TLS 1.3 listener; `run-tls.sh` starts them.
//!
//! The firmware reads from QEMU's working directory (semihosting, see `host.rs`) the CA that must have signed the
//! broker's certificate (`ca.der`), its own certificate (`client.der`) and P-256 key (`client-key.der`), and seeds
//! its ChaCha20 generator from the host's `/dev/urandom` (a device would use its hardware generator). It then
//! runs the scenario of `scenario.rs`. When the connection cannot be made, the handshake error is printed and the
//! firmware exits with failure at once: that is what a firmware given the wrong CA must do.

#![no_std]
#![no_main]

mod board;
mod host;
mod scenario;

use core::cell::Cell;
use core::convert::Infallible;

use cortex_m_semihosting::hprintln;
use embassy_executor::Spawner;
use embassy_sync::blocking_mutex::Mutex;
use embassy_sync::blocking_mutex::raw::CriticalSectionRawMutex;
use embassy_time::{Duration, Timer, with_timeout};
use mqtt_embedded::tls::{
    Identity, MaxFragmentLength, TlsConnectError, TlsConnector, TlsOptions, TlsResources,
    record_size,
};
use mqtt_embedded::{Config, Connect, EmbassyClock, Event, NoopRawMutex, Resources, Runner};
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;
use static_cell::{ConstStaticCell, StaticCell};

use board::Uart;
use scenario::UartLink;

/// Records of at most 1 KiB of plaintext: the firmware asks mosquitto for that fragment length, which its
/// handshake messages fit (its certificate chain is about 850 bytes).
const FRAGMENT: MaxFragmentLength = MaxFragmentLength::Bits10;
const RECORD: usize = record_size(Some(FRAGMENT));
/// The client's largest record: its certificate (about 400 bytes) in the handshake.
const WRITE: usize = 768;

type Tls = TlsResources<'static, NoopRawMutex, Uart, RECORD, WRITE>;
type Secure = TlsConnector<'static, NoopRawMutex, UartLink, ChaCha20Rng>;
/// The plain firmware's client memory but a 3 KiB store (4 KiB there): this firmware's stack peaks at about
/// 39 KB (measured: `stack peak … of … B` in its report), which the 64 KiB of RAM only leave with this store. With
/// the 4 KiB store the stack ran into the statics and the firmware locked up after its DISCONNECT; the end-to-end
/// test now wants 512 B left untouched.
type Memory = Resources<'static, NoopRawMutex, Watched, EmbassyClock, 2560, 3072, 256, 256>;

static RESOURCES: StaticCell<Memory> = StaticCell::new();
static TLS: StaticCell<Tls> = StaticCell::new();
// The certificates and key, filled from the host's files.
static CA: ConstStaticCell<[u8; 512]> = ConstStaticCell::new([0; 512]);
static CERTIFICATE: ConstStaticCell<[u8; 512]> = ConstStaticCell::new([0; 512]);
static KEY: ConstStaticCell<[u8; 128]> = ConstStaticCell::new([0; 128]);

/// Why the last connection attempt failed, for the report.
static FAILURE: Mutex<CriticalSectionRawMutex, Cell<Option<TlsConnectError<Infallible>>>> =
    Mutex::new(Cell::new(None));

/// The TLS connector, keeping its errors for the report.
struct Watched(Secure);

impl Connect for Watched {
    type Io = <Secure as Connect>::Io;
    type Error = TlsConnectError<Infallible>;

    async fn connect(&mut self) -> Result<Self::Io, Self::Error> {
        let outcome = self.0.connect().await;
        if let Err(error) = &outcome {
            FAILURE.lock(|failure| failure.set(Some(*error)));
        }
        outcome
    }
}

#[embassy_executor::task]
async fn mqtt(runner: Runner<'static, NoopRawMutex, Watched, EmbassyClock>) -> ! {
    let resources = scenario::span(&RESOURCES);
    runner
        .run(|event| {
            if let Event::ConnectFailed { reason } = event {
                let tls = FAILURE.lock(Cell::get);
                hprintln!("TLS connection refused: {:?} ({:?})", tls, reason);
                board::exit(false);
            }
            scenario::on_event(event, &resources);
        })
        .await
}

/// The TLS connector, from the files QEMU's working directory holds.
fn connector() -> Result<Watched, &'static str> {
    let ca = host::read(c"ca.der", CA.take())?;
    let certificate = host::read(c"client.der", CERTIFICATE.take())?;
    let key = host::read(c"client-key.der", KEY.take())?;
    let identity = Identity::new(certificate, key).map_err(|_| "client-key.der is no P-256 key")?;
    let options = TlsOptions::new("localhost", ca)
        .with_identity(identity)
        .with_max_fragment_length(FRAGMENT);
    let rng = ChaCha20Rng::from_seed(host::random()?);
    Ok(Watched(TlsConnector::new(
        UartLink,
        TLS.init(Tls::new()),
        options,
        rng,
    )))
}

#[embassy_executor::main]
async fn main(spawner: Spawner) {
    board::paint_stack();
    let peripherals = cortex_m::Peripherals::take().expect("taken once");
    board::start_clock(peripherals.SYST);
    let _ = Uart::new();
    let what = "mqtt-embedded over TLS on lm3s6965evb";
    let connector = match connector() {
        Ok(connector) => connector,
        Err(error) => scenario::finish(what, Err(error)),
    };
    let config = Config {
        keep_alive: core::time::Duration::from_secs(30),
        ..Config::new("mqtt-embedded-qemu-tls")
    };
    let (client, runner) = mqtt_embedded::new(
        &config,
        RESOURCES.init(Memory::new()),
        connector,
        EmbassyClock,
    )
    .expect("the resources fit the configuration");
    spawner.spawn(mqtt(runner).expect("one runner"));
    let resources = scenario::span(&RESOURCES);
    let connected_then_run = async {
        // Not needed (a command does not interrupt a connection attempt), but what a TLS firmware would do: the
        // scenario starts once the handshake is through.
        while !client.is_connected() {
            Timer::after(Duration::from_millis(5)).await;
        }
        scenario::run(client, resources).await
    };
    let outcome = with_timeout(Duration::from_secs(60), connected_then_run).await;
    scenario::finish(what, outcome.unwrap_or(Err("timed out")))
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    hprintln!("panic: {}", info);
    board::exit(false)
}
