//! What both firmwares do once connected (plain in `main.rs`, TLS in `tls.rs`): subscribe to
//! `mqtt-embedded/qemu/#`, publish one message at each QoS and a 2 KiB one (larger than the UART's FIFO, so it
//! crosses in many reads), check that each comes back from the broker exactly once, unchanged and borrowed from
//! the receive buffer, and disconnect.

use core::ops::Range;
use core::sync::atomic::{AtomicU32, Ordering};

use cortex_m_semihosting::hprintln;
use embassy_time::{Duration, Timer};
use mqtt_embedded::{Client, Connect, EmbassyClock, Event, NoopRawMutex, QoS, Subscription};

use crate::board::{self, Uart};

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

impl Connect for UartLink {
    type Io = Uart;
    type Error = core::convert::Infallible;

    async fn connect(&mut self) -> Result<Uart, core::convert::Infallible> {
        Ok(Uart::new())
    }
}

/// The addresses of a static, to tell a borrowed payload from a copied one.
pub fn span<T>(memory: &'static T) -> Range<usize> {
    let start = memory as *const T as usize;
    start..start + size_of::<T>()
}

/// Checks a message from the broker against `MESSAGES`; `resources` is where the client's memory lies.
pub fn on_event(event: Event<'_>, resources: &Range<usize>) {
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
    let borrowed = resources.contains(&(message.payload.as_ptr() as usize));
    let bit = 1 << index;
    let twice = RECEIVED.fetch_or(bit, Ordering::Relaxed) & bit != 0;
    if twice || !borrowed || message.payload != payload || message.qos != qos {
        WRONG.fetch_or(bit, Ordering::Relaxed);
    }
}

/// Subscribes, publishes, waits for every message to come back, disconnects.
pub async fn run<N: Connect>(
    client: Client<'static, NoopRawMutex, N, EmbassyClock>,
) -> Result<(), &'static str> {
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

/// Reports the outcome (the line the host-side checks look for) and ends the emulation with it.
pub fn finish(what: &str, outcome: Result<(), &str>) -> ! {
    let millis = embassy_time::Instant::now().as_millis();
    hprintln!(
        "{}: {:?} after {} ms; received {:#06b}, wrong {:#x}; stack peak {} of {} B",
        what,
        outcome,
        millis,
        RECEIVED.load(Ordering::Relaxed),
        WRONG.load(Ordering::Relaxed),
        board::stack_peak(),
        board::stack_size()
    );
    board::exit(outcome.is_ok())
}
