//! What both firmwares do once connected (plain in `main.rs`, TLS in `tls.rs`): subscribe to
//! `mqtt-embedded/qemu/+` for the runner's handler and `mqtt-embedded/qemu/inbox/+` for an [`Inbox`], publish one
//! message at each QoS and a 2 KiB one (larger than the UART's FIFO, so it crosses in many reads) for the handler,
//! and a small one and a 1 KiB one for the inbox; check that each comes back exactly once, unchanged, to where its
//! filter routes it, and without a copy where none is due: the handler's messages and the inbox's large one
//! borrowed from the receive buffer, the inbox's small one copied into the inbox's own buffer. Then disconnect.

use core::ops::Range;
use core::sync::atomic::{AtomicU32, Ordering};

use cortex_m_semihosting::hprintln;
use embassy_futures::join::join;
use embassy_time::{Duration, Timer};
use mqtt_embedded::{
    Client, Connect, EmbassyClock, Event, Inbox, NoopRawMutex, ProtocolVersion, Publish, QoS,
    Subscription,
};
use static_cell::{ConstStaticCell, StaticCell};

use crate::board::{self, Uart};

/// A payload of `N` letters, a to z over and over.
const fn letters<const N: usize>() -> [u8; N] {
    let mut bytes = [0; N];
    let mut i = 0;
    while i < N {
        bytes[i] = b'a' + (i % 26) as u8;
        i += 1;
    }
    bytes
}

static BIG: [u8; 2048] = letters();
static LARGE: [u8; 1024] = letters();

/// Where a message must arrive.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Route {
    /// The runner's handler, borrowed from the receive buffer.
    Handler,
    /// The inbox, copied into its buffer.
    Copied,
    /// The inbox, borrowed from the receive buffer (larger than the inbox's buffer).
    Borrowed,
}

/// What the firmware publishes, and expects back: topic, payload, QoS, route.
#[rustfmt::skip]
static MESSAGES: [(&str, &[u8], QoS, Route); 6] = [
    ("mqtt-embedded/qemu/0", b"qos 0", QoS::AtMostOnce, Route::Handler),
    ("mqtt-embedded/qemu/1", b"qos 1", QoS::AtLeastOnce, Route::Handler),
    ("mqtt-embedded/qemu/2", b"qos 2", QoS::ExactlyOnce, Route::Handler),
    ("mqtt-embedded/qemu/big", &BIG, QoS::AtLeastOnce, Route::Handler),
    ("mqtt-embedded/qemu/inbox/copied", b"to the inbox", QoS::AtLeastOnce, Route::Copied),
    ("mqtt-embedded/qemu/inbox/borrowed", &LARGE, QoS::ExactlyOnce, Route::Borrowed),
];

/// One bit per message of `MESSAGES` received intact, where it belongs.
static RECEIVED: AtomicU32 = AtomicU32::new(0);
/// One bit per message received twice, changed, copied when it should not be (or not when it should), at the
/// wrong place, or unexpected (bit 31).
static WRONG: AtomicU32 = AtomicU32::new(0);

/// The inbox's buffer: room for the small message (50 bytes with its topic), not for the 1 KiB one.
static INBOX_BUF: ConstStaticCell<[u8; 64]> = ConstStaticCell::new([0; 64]);
static INBOX: StaticCell<Inbox<'static>> = StaticCell::new();

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

/// Records a message that arrived through `route`; `at` holds where the client's memory and the inbox's buffer
/// lie, to tell where its payload is.
fn check(message: &Publish<'_>, route: Route, at: &[Range<usize>; 2]) {
    let Some(index) = MESSAGES.iter().position(|m| m.0 == message.topic) else {
        WRONG.fetch_or(1 << 31, Ordering::Relaxed);
        return;
    };
    let (_, payload, qos, expected) = MESSAGES[index];
    let [resources, inbox] = at;
    let address = message.payload.as_ptr() as usize;
    let in_place = match route {
        Route::Copied => inbox.contains(&address),
        Route::Handler | Route::Borrowed => resources.contains(&address),
    };
    let bit = 1 << index;
    let twice = RECEIVED.fetch_or(bit, Ordering::Relaxed) & bit != 0;
    if twice || route != expected || !in_place || message.payload != payload || message.qos != qos {
        WRONG.fetch_or(bit, Ordering::Relaxed);
    }
}

/// The runner's handler: checks a message from the broker against `MESSAGES`; `resources` is where the client's
/// memory lies.
pub fn on_event(event: Event<'_>, resources: &Range<usize>) {
    if let Event::Message(message) = event {
        check(&message, Route::Handler, &[resources.clone(), 0..0]);
    }
}

/// Subscribes, publishes, receives the inbox's messages and waits for the handler's, disconnects. `resources` is
/// where the client's memory lies.
pub async fn run<N: Connect>(
    client: Client<'static, NoopRawMutex, N, EmbassyClock>,
    resources: Range<usize>,
) -> Result<(), &'static str> {
    let buf = INBOX_BUF.take();
    let start = buf.as_ptr() as usize;
    let at = [resources, start..start + buf.len()];
    let inbox = INBOX.init(Inbox::new(buf));
    let filter = Subscription::new("mqtt-embedded/qemu/+", QoS::ExactlyOnce);
    match client
        .subscribe(&[filter])
        .await
        .map(|granted| granted.lowest())
    {
        Ok(Ok(QoS::ExactlyOnce)) => {}
        Ok(_) => return Err("the broker granted less than QoS 2"),
        Err(_) => return Err("subscribe failed"),
    }
    let granted = client
        .subscribe_to(inbox, &["mqtt-embedded/qemu/inbox/+"], QoS::ExactlyOnce)
        .await
        .map_err(|_| "subscribe to the inbox failed")?;
    if granted.get(0) != Some(Ok(QoS::ExactlyOnce)) {
        return Err("the broker granted the inbox less than QoS 2");
    }
    let publish = async {
        for (topic, payload, qos, _) in &MESSAGES {
            client
                .publish(topic, payload, *qos)
                .await
                .map_err(|_| "publish failed")?;
        }
        Ok(())
    };
    // In the order they were published: the small one from the inbox's buffer, the large one in place. Received
    // while publishing: the runner holds the large one, and what the broker sent after it (the PUBCOMP the last
    // publish waits for), until it is received.
    let receive = async {
        for route in [Route::Copied, Route::Borrowed] {
            client
                .receive(inbox, |message| check(&message, route, &at))
                .await;
        }
    };
    let (published, ()) = join(publish, receive).await;
    published?;
    let all = (1 << MESSAGES.len()) - 1;
    while RECEIVED.load(Ordering::Relaxed) != all && WRONG.load(Ordering::Relaxed) == 0 {
        Timer::after(Duration::from_millis(10)).await;
    }
    // A duplicate would follow its original closely: give one a chance to show.
    Timer::after(Duration::from_millis(200)).await;
    if WRONG.load(Ordering::Relaxed) != 0 {
        return Err("a message came back wrong, twice, copied, misrouted or unexpected");
    }
    client.disconnect().await.map_err(|_| "disconnect failed")
}

/// Reports the outcome (the line the host-side checks look for) and ends the emulation with it.
pub fn finish(what: &str, outcome: Result<(), &str>) -> ! {
    let millis = embassy_time::Instant::now().as_millis();
    let version = match ProtocolVersion::V311.is_enabled() {
        true if ProtocolVersion::V5.is_enabled() => "MQTT 3.1.1 and 5.0",
        true => "MQTT 3.1.1 only",
        false => "MQTT 5.0 only",
    };
    hprintln!(
        "{} ({}): {:?} after {} ms; received {:#08b}, wrong {:#x}; stack peak {} of {} B",
        what,
        version,
        outcome,
        millis,
        RECEIVED.load(Ordering::Relaxed),
        WRONG.load(Ordering::Relaxed),
        board::stack_peak(),
        board::stack_size()
    );
    board::exit(outcome.is_ok())
}
