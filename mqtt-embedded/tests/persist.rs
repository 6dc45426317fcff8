//! The flash store on the host: a simulated NOR flash (erase to 0xFF, each word written once, 1 KiB pages as on
//! the lm3s6965), the client, its runner and its persister against the fake broker over an in-memory stream, in
//! virtual time. A reset is simulated by dropping everything and starting again on the same flash memory; a power
//! cut by a flash that stops in the middle of a write.

use core::future::{Future, poll_fn};
use core::pin::pin;
use core::task::{Context, Poll, Waker};
use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::rc::Rc;

use embassy_futures::join::join3;
use embedded_storage_async::nor_flash::{
    ErrorType, NorFlash, NorFlashError, NorFlashErrorKind, ReadNorFlash,
};
use mqtt_embedded::persist::{FlashStore, StoreError};
use mqtt_embedded::proto::codec::PacketType;
use mqtt_embedded::proto::session::Ticket;
use mqtt_embedded::{
    Clock, Config, Error, Event, Instant, NoopRawMutex, ProtocolVersion, Publish, PublishError,
    QoS, Resources,
};
use mqtt_test::memory::MemoryConnector as Connector;
use mqtt_test::{Direction, End, FakeBroker};

const PAGE: usize = 1024;
const PAGES: usize = 16;
/// Regions A and B: 8 pages each.
const A: core::ops::Range<u32> = 0..(8 * PAGE) as u32;
const B: core::ops::Range<u32> = (8 * PAGE) as u32..(16 * PAGE) as u32;

/// A NOR flash in memory, shared between "boots". `writes_left` simulates a power cut: once it reaches zero, the
/// write under way lands only in part and the flash answers nothing more (the device is dead).
#[derive(Clone)]
struct SimFlash {
    memory: Rc<RefCell<Vec<u8>>>,
    writes_left: Rc<Cell<Option<usize>>>,
    writes: Rc<Cell<usize>>,
}

#[derive(Debug)]
struct SimError;

impl NorFlashError for SimError {
    fn kind(&self) -> NorFlashErrorKind {
        NorFlashErrorKind::Other
    }
}

impl ErrorType for SimFlash {
    type Error = SimError;
}

impl SimFlash {
    fn new() -> Self {
        Self {
            memory: Rc::new(RefCell::new(vec![0xff; PAGE * PAGES])),
            writes_left: Rc::default(),
            writes: Rc::default(),
        }
    }

    /// The same memory after a reset: a flash that works again.
    fn reboot(&self) -> Self {
        Self {
            memory: self.memory.clone(),
            writes_left: Rc::default(),
            writes: self.writes.clone(),
        }
    }

    fn is_dead(&self) -> bool {
        self.writes_left.get() == Some(0)
    }
}

impl ReadNorFlash for SimFlash {
    const READ_SIZE: usize = 1;

    async fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), SimError> {
        let at = offset as usize;
        bytes.copy_from_slice(&self.memory.borrow()[at..at + bytes.len()]);
        Ok(())
    }

    fn capacity(&self) -> usize {
        PAGE * PAGES
    }
}

impl NorFlash for SimFlash {
    const WRITE_SIZE: usize = 4;
    const ERASE_SIZE: usize = PAGE;

    async fn erase(&mut self, from: u32, to: u32) -> Result<(), SimError> {
        if self.is_dead() {
            core::future::pending::<()>().await;
        }
        assert!((from as usize).is_multiple_of(PAGE) && (to as usize).is_multiple_of(PAGE));
        self.memory.borrow_mut()[from as usize..to as usize].fill(0xff);
        Ok(())
    }

    async fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), SimError> {
        if self.is_dead() {
            core::future::pending::<()>().await;
        }
        let at = offset as usize;
        assert!(
            at.is_multiple_of(4) && bytes.len().is_multiple_of(4),
            "unaligned write"
        );
        let cut = {
            let mut memory = self.memory.borrow_mut();
            assert!(
                memory[at..at + bytes.len()].iter().all(|&b| b == 0xff),
                "a word written twice"
            );
            self.writes.set(self.writes.get() + 1);
            match self.writes_left.get() {
                Some(1) => {
                    // The power goes during this write: half of it lands, and nothing after it.
                    let half = bytes.len() / 2 / 4 * 4;
                    memory[at..at + half].copy_from_slice(&bytes[..half]);
                    self.writes_left.set(Some(0));
                    true
                }
                left => {
                    memory[at..at + bytes.len()].copy_from_slice(bytes);
                    self.writes_left.set(left.map(|n| n - 1));
                    false
                }
            }
        };
        if cut {
            core::future::pending::<()>().await;
        }
        Ok(())
    }
}

#[derive(Clone, Default)]
struct VirtualClock(Rc<Cell<u64>>);

impl Clock for VirtualClock {
    fn now(&self) -> Instant {
        Instant::from_millis(self.0.get())
    }

    async fn sleep_until(&self, deadline: Instant) {
        let mut yielded = false;
        poll_fn(|_| {
            if core::mem::replace(&mut yielded, true) {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        })
        .await;
        self.0.set(self.0.get().max(deadline.as_millis()));
    }
}

type Res = Resources<'static, NoopRawMutex, Connector, VirtualClock, 2048, 4096, 256, 512>;
type Client = mqtt_embedded::Client<'static, NoopRawMutex, Connector, VirtualClock>;

/// Polls `future` at most `polls` times; its output if it finished.
fn poll_for<F: Future>(future: F, polls: usize) -> Option<F::Output> {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    (0..polls).find_map(|_| match future.as_mut().poll(&mut cx) {
        Poll::Ready(output) => Some(output),
        Poll::Pending => None,
    })
}

async fn until(done: impl Fn() -> bool) {
    poll_fn(|_| {
        if done() {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    })
    .await;
}

fn config() -> Config<'static> {
    Config {
        version: ProtocolVersion::V5,
        clean_start: false,
        session_expiry_interval: 3600,
        ..Config::new("flash")
    }
}

/// One boot of the device: a client restored from `flash` (`restored` looks at it then, before anything runs), its
/// runner and its persister, running `app` for at most `polls` polls (`None` if it did not finish: the device
/// died). Events of the runner go to `events`.
fn boot<T>(
    flash: SimFlash,
    broker: &Rc<RefCell<FakeBroker>>,
    events: &Rc<RefCell<Vec<(Ticket, bool)>>>,
    polls: usize,
    restored: impl FnOnce(&Client),
    app: impl AsyncFnOnce(Client) -> T,
) -> Option<Result<T, StoreError>> {
    let resources: &'static mut Res = Box::leak(Box::new(Resources::new()));
    let buffer: &'static mut [u8] = Box::leak(vec![0u8; 8192].into_boxed_slice());
    let connector = Connector {
        broker: broker.clone(),
        fail_first: 0,
        attempts: Rc::default(),
    };
    let (client, runner) =
        mqtt_embedded::new(&config(), resources, connector, VirtualClock::default()).unwrap();
    let store = FlashStore::new(flash, A, B).unwrap();
    let events = events.clone();
    let handler = move |event: Event<'_>| match event {
        Event::Published { ticket } => events.borrow_mut().push((ticket, true)),
        Event::PublishFailed { ticket, .. } => events.borrow_mut().push((ticket, false)),
        _ => {}
    };
    poll_for(
        async move {
            let persister = match mqtt_embedded::persist::restore(&client, store, buffer).await {
                Ok(persister) => persister,
                Err(e) => return Err(e),
            };
            restored(&client);
            let done = Cell::new(None);
            let app = async {
                done.set(Some(app(client).await));
            };
            // The runner and the persister never end: stop once the application is done.
            let stop = until(|| false);
            let all = join3(runner.run(handler), persister.run(), app);
            match embassy_futures::select::select(all, async {
                until(|| {
                    let taken = done.take();
                    let finished = taken.is_some();
                    done.set(taken);
                    finished
                })
                .await;
            })
            .await
            {
                embassy_futures::select::Either::Second(()) => {}
                embassy_futures::select::Either::First(_) => unreachable!("they never end"),
            }
            drop(stop);
            Ok(done.take().expect("the application finished"))
        },
        polls,
    )
}

fn payload_number(payload: &[u8]) -> u8 {
    payload[0]
}

#[test]
fn messages_queued_before_a_reset_go_out_after_it_with_their_identifiers() {
    let flash = SimFlash::new();
    let broker = Rc::new(RefCell::new(FakeBroker::default()));
    let events = Rc::default();
    broker.borrow_mut().hold_acks();
    // First boot: six messages queued (each stored before `queue` returns), the broker answers none.
    let queued = boot(
        flash.clone(),
        &broker,
        &events,
        100_000,
        |_| {},
        async |client: Client| {
            until(|| client.is_connected()).await;
            for i in 0..6u8 {
                let qos = if i % 2 == 0 {
                    QoS::AtLeastOnce
                } else {
                    QoS::ExactlyOnce
                };
                let message = Publish {
                    topic: "flash/t",
                    payload: &[i],
                    qos,
                    ..Publish::default()
                };
                drop(client.queue(&message).await.unwrap());
            }
            until(|| broker.borrow().received().len() == 6).await;
        },
    );
    assert!(matches!(queued, Some(Ok(()))));
    let first: Vec<_> = broker
        .borrow()
        .received()
        .iter()
        .map(|m| m.packet_id)
        .collect();
    // Reset (the connection drops with it), then a second boot on the same flash: the six messages are back.
    broker.borrow_mut().release_acks();
    let recovered = Rc::new(RefCell::new(Vec::new()));
    let seen = recovered.clone();
    let restored = |client: &Client| {
        client.recovered(|r| {
            seen.borrow_mut()
                .push((r.ticket, r.message.payload.to_vec()));
        });
    };
    let done = boot(
        flash.reboot(),
        &broker,
        &events,
        100_000,
        restored,
        async |_| {
            until(|| events.borrow().len() == 6).await;
        },
    );
    assert!(matches!(done, Some(Ok(()))));
    let recovered = recovered.borrow();
    assert_eq!(
        recovered.iter().map(|(_, p)| p[0]).collect::<Vec<_>>(),
        [0, 1, 2, 3, 4, 5]
    );
    // Each completed, with the ticket `recovered` gave.
    for (ticket, _) in recovered.iter() {
        assert!(events.borrow().contains(&(*ticket, true)), "{ticket}");
    }
    let broker = broker.borrow();
    let resent: Vec<_> = broker
        .packets(Direction::from_sender(End::Client), PacketType::Publish)
        .into_iter()
        .skip(6)
        .collect();
    assert_eq!(
        resent.iter().map(|p| p.packet_id).collect::<Vec<_>>(),
        first,
        "the original identifiers"
    );
    assert!(resent.iter().all(|p| p.dup), "with DUP");
}

#[test]
fn a_power_cut_at_any_flash_write_loses_no_queued_message_and_duplicates_no_qos2() {
    let mut cuts = 0;
    let mut recovered_total = 0;
    for cut in 1.. {
        let flash = SimFlash::new();
        let broker = Rc::new(RefCell::new(FakeBroker::default()));
        let events = Rc::default();
        flash.writes_left.set(Some(cut));
        // Until the power goes: messages queued one after the other; `returned` counts those `queue` returned.
        let returned = Rc::new(Cell::new(0u8));
        let counted = returned.clone();
        let outcome = boot(
            flash.clone(),
            &broker,
            &events,
            20_000,
            |_| {},
            async |client: Client| {
                for i in 0..8u8 {
                    let qos = if i % 2 == 0 {
                        QoS::AtLeastOnce
                    } else {
                        QoS::ExactlyOnce
                    };
                    let message = Publish {
                        topic: "flash/t",
                        payload: &[i],
                        qos,
                        ..Publish::default()
                    };
                    drop(client.queue(&message).await.unwrap());
                    counted.set(i + 1);
                }
                until(|| broker.borrow().pending_to_client() == 0 && events.borrow().len() == 8)
                    .await;
            },
        );
        if !flash.is_dead() {
            // The cut came after the last write the run makes: every point was covered.
            assert!(
                matches!(outcome, Some(Ok(()))),
                "cut {cut}: {:?}",
                outcome.map(|o| o.err())
            );
            break;
        }
        cuts += 1;
        // The device comes back: what `queue` returned for reaches the broker, a QoS 2 message once.
        let seen = Rc::new(Cell::new(0));
        let count = seen.clone();
        let restored = |client: &Client| {
            let mut n = 0;
            client.recovered(|_| n += 1);
            count.set(n);
        };
        let after = boot(
            flash.reboot(),
            &broker,
            &events,
            100_000,
            restored,
            async |client: Client| {
                until(|| client.is_connected()).await;
                until(|| {
                    let broker = broker.borrow();
                    (0..returned.get()).all(|i| broker.received().iter().any(|m| m.payload == [i]))
                })
                .await;
            },
        );
        recovered_total += seen.get();
        assert!(
            matches!(after, Some(Ok(()))),
            "cut {cut}: after the reset {:?}",
            after.map(|o| o.err())
        );
        let mut arrivals: BTreeMap<u8, usize> = BTreeMap::new();
        for m in broker.borrow().received() {
            *arrivals.entry(payload_number(&m.payload)).or_default() += 1;
        }
        for (i, n) in &arrivals {
            if i % 2 == 1 {
                assert_eq!(
                    *n, 1,
                    "cut {cut}: QoS 2 message {i} reached the broker {n} times"
                );
            }
        }
        assert!(
            broker.borrow().violations().is_empty(),
            "cut {cut}: {:?}",
            broker.borrow().violations()
        );
    }
    assert!(cuts > 20, "{cuts} power cuts");
    println!(
        "{cuts} power cuts, one at each flash write; {recovered_total} messages recovered after them"
    );
}

#[test]
fn a_message_larger_than_a_flash_page_is_refused() {
    let flash = SimFlash::new();
    let broker = Rc::new(RefCell::new(FakeBroker::default()));
    let events = Rc::default();
    let result = boot(
        flash,
        &broker,
        &events,
        100_000,
        |_| {},
        async |client: Client| {
            let big = [7u8; 1500];
            let message = Publish {
                topic: "flash/big",
                payload: &big,
                qos: QoS::AtLeastOnce,
                ..Publish::default()
            };
            client.queue(&message).await.map(drop)
        },
    );
    match result {
        Some(Ok(Err(Error::Publish(PublishError::TooLarge { .. })))) => {}
        other => panic!("{:?}", other.map(|o| o.map(|r| r.err()))),
    }
}
