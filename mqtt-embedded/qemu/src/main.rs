//! End to end on an emulated Cortex-M3: mqtt-embedded over UART0, which QEMU connects to mosquitto.
//!
//! The firmware runs the scenario of `scenario.rs` (subscribe for the runner's handler and for an inbox, publish
//! at each QoS, 2 KiB and 1 KiB, check that all comes back once, intact, where its filter routes it, and copied
//! only into the inbox's buffer when it fits there, disconnect), and exits through semihosting: success only if
//! everything matched. The cargo features `v5` and `v311` select the protocol versions it speaks (run.sh builds
//! each alone). `run.sh` starts the broker, a host-side `mosquitto_sub` and QEMU. `tls.rs` is the
//! same over TLS 1.3.

#![no_std]
#![no_main]

mod board;
mod scenario;

use cortex_m_semihosting::hprintln;
use embassy_executor::Spawner;
use embassy_time::{Duration, with_timeout};
use mqtt_embedded::{Config, EmbassyClock, NoopRawMutex, Resources, Runner};
use static_cell::StaticCell;

use board::Uart;
use scenario::UartLink;

/// 2.5 KiB in (the 2 KiB message and its header), 4 KiB of outgoing messages, 256 B of subscriptions and staging.
type Memory = Resources<'static, NoopRawMutex, UartLink, EmbassyClock, 2560, 4096, 256, 256>;

static RESOURCES: StaticCell<Memory> = StaticCell::new();

#[embassy_executor::task]
async fn mqtt(runner: Runner<'static, NoopRawMutex, UartLink, EmbassyClock>) -> ! {
    let resources = scenario::span(&RESOURCES);
    runner
        .run(|event| scenario::on_event(event, &resources))
        .await
}

#[embassy_executor::main]
async fn main(spawner: Spawner) {
    board::paint_stack();
    let peripherals = cortex_m::Peripherals::take().expect("taken once");
    board::start_clock(peripherals.SYST);
    drop(Uart::new());
    let config = Config {
        keep_alive: core::time::Duration::from_secs(30),
        ..Config::new("mqtt-embedded-qemu")
    };
    let (client, runner) = mqtt_embedded::new(
        &config,
        RESOURCES.init(Memory::new()),
        UartLink,
        EmbassyClock,
    )
    .expect("the resources fit the configuration");
    spawner.spawn(mqtt(runner).expect("one runner"));
    let resources = scenario::span(&RESOURCES);
    let outcome = with_timeout(Duration::from_secs(60), scenario::run(client, resources)).await;
    scenario::finish(
        "mqtt-embedded on lm3s6965evb",
        outcome.unwrap_or(Err("timed out")),
    )
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    hprintln!("panic: {}", info);
    board::exit(false)
}
