//! End to end on an emulated Cortex-M3: mqtt-embedded over UART0, which QEMU connects to mosquitto.
//!
//! The firmware subscribes to `mqtt-embedded/qemu/#`, publishes one message at each QoS and a 2 KiB one (larger
//! than the UART's FIFO, so it crosses in many reads), checks that each comes back from the broker exactly once,
//! unchanged and borrowed from the receive buffer, disconnects, and exits through semihosting: success only if
//! everything matched. `run.sh` starts the broker, a host-side `mosquitto_sub` and QEMU.

#![no_std]
#![no_main]

mod board;

use core::sync::atomic::{AtomicU32, Ordering};

use cortex_m_semihosting::{debug, hprintln};
use embassy_executor::Spawner;
use embassy_time::{Duration, Timer, with_timeout};
use mqtt_embedded::{
    Client, Config, EmbassyClock, Event, NoopRawMutex, QoS, Resources, Runner, Subscription,
};
use static_cell::StaticCell;

use board::Uart;

/// 2.5 KiB in (the 2 KiB message and its header), 4 KiB of outgoing messages, 256 B of subscriptions and staging.
type Memory = Resources<'static, NoopRawMutex, UartLink, EmbassyClock, 2560, 4096, 256, 256>;

static RESOURCES: StaticCell<Memory> = StaticCell::new();

const BIG_LEN: usize = 2048;
static BIG: [u8; BIG_LEN] = {
    let mut bytes = [0; BIG_LEN];
    let mut i = 0;
    while i < BIG_LEN {
        bytes[i] = b'a' + (i % 26) as u8;
        i += 1;
    }
    bytes
};

/// What the firmware publishes, and expects back: topic, payload, QoS.
static MESSAGES: [(&str, &[u8], QoS); 4] = [
    ("mqtt-embedded/qemu/0", b"qos 0", QoS::AtMostOnce),
    ("mqtt-embedded/qemu/1", b"qos 1", QoS::AtLeastOnce),
    ("mqtt-embedded/qemu/2", b"qos 2", QoS::ExactlyOnce),
    ("mqtt-embedded/qemu/big", &BIG, QoS::AtLeastOnce),
];

/// One bit per message of `MESSAGES` received intact.
static RECEIVED: AtomicU32 = AtomicU32::new(0);
/// One bit per message received twice, changed, copied, or unexpected (bit 31).
static WRONG: AtomicU32 = AtomicU32::new(0);

/// Opens the "connection": QEMU connected the UART to the broker before the firmware started, and a UART cannot
/// see that TCP connection close, so every attempt gets the same stream.
pub struct UartLink;

impl mqtt_embedded::Connect for UartLink {
    type Io = Uart;
    type Error = core::convert::Infallible;

    async fn connect(&mut self) -> Result<Uart, core::convert::Infallible> {
        Ok(Uart::new())
    }
}

/// Checks a message from the broker against `MESSAGES`.
fn on_event(event: Event<'_>) {
    let Event::Message(message) = event else {
        return;
    };
    let Some(index) = MESSAGES
        .iter()
        .position(|(topic, ..)| *topic == message.topic)
    else {
        WRONG.fetch_or(1 << 31, Ordering::Relaxed);
        return;
    };
    let (_, payload, qos) = MESSAGES[index];
    // Zero copy: the payload lies inside the resources, in the receive buffer.
    let start = &RESOURCES as *const StaticCell<Memory> as usize;
    let borrowed = (start..start + size_of::<StaticCell<Memory>>())
        .contains(&(message.payload.as_ptr() as usize));
    let bit = 1 << index;
    let twice = RECEIVED.fetch_or(bit, Ordering::Relaxed) & bit != 0;
    if twice || !borrowed || message.payload != payload || message.qos != qos {
        WRONG.fetch_or(bit, Ordering::Relaxed);
    }
}

#[embassy_executor::task]
async fn mqtt(runner: Runner<'static, NoopRawMutex, UartLink, EmbassyClock>) -> ! {
    runner.run(on_event).await
}

type App = Client<'static, NoopRawMutex, UartLink, EmbassyClock>;

async fn scenario(client: App) -> Result<(), &'static str> {
    let filter = Subscription::new("mqtt-embedded/qemu/#", QoS::ExactlyOnce);
    match client.subscribe(&[filter]).await {
        Ok(QoS::ExactlyOnce) => {}
        Ok(_) => return Err("the broker granted less than QoS 2"),
        Err(_) => return Err("subscribe failed"),
    }
    for (topic, payload, qos) in &MESSAGES {
        client
            .publish(topic, payload, *qos)
            .await
            .map_err(|_| "publish failed")?;
    }
    let all = (1 << MESSAGES.len()) - 1;
    while RECEIVED.load(Ordering::Relaxed) != all && WRONG.load(Ordering::Relaxed) == 0 {
        Timer::after(Duration::from_millis(10)).await;
    }
    // A duplicate would follow its original closely: give one a chance to show.
    Timer::after(Duration::from_millis(200)).await;
    if WRONG.load(Ordering::Relaxed) != 0 {
        return Err("a message came back wrong, twice, copied or unexpected");
    }
    client.disconnect().await.map_err(|_| "disconnect failed")
}

#[embassy_executor::main]
async fn main(spawner: Spawner) {
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
    let outcome = with_timeout(Duration::from_secs(60), scenario(client)).await;
    let outcome = outcome.unwrap_or(Err("timed out"));
    let millis = embassy_time::Instant::now().as_millis();
    hprintln!(
        "mqtt-embedded on lm3s6965evb: {:?} after {} ms; received {:#06b}, wrong {:#x}",
        outcome,
        millis,
        RECEIVED.load(Ordering::Relaxed),
        WRONG.load(Ordering::Relaxed)
    );
    debug::exit(if outcome.is_ok() {
        debug::EXIT_SUCCESS
    } else {
        debug::EXIT_FAILURE
    });
    loop {
        cortex_m::asm::wfi();
    }
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    hprintln!("panic: {}", info);
    debug::exit(debug::EXIT_FAILURE);
    loop {
        cortex_m::asm::wfi();
    }
}
