//! Codec benchmarks: `mqtt-core` against rumqttc 0.25 (`mqttbytes::v4` for 3.1.1, `v5::mqttbytes::v5` for 5.0), on
//! the same packets, the same bytes, in the same run; then allocations per operation for both.
//!
//! How the comparison is kept fair:
//!
//! - **Same bytes.** Each packet is built once per implementation from the fixtures in `benches::*`, outside any
//!   measurement. At start-up both encoders' outputs are asserted byte-for-byte equal, and both decoders are checked
//!   to read that output back, so both sides always handle the same wire bytes.
//! - **Public, whole-packet API on both sides.** Ours is `Packet::encode` / `codec::decode`; theirs is
//!   `Packet::write` / `Packet::read`, including the size checks each does there.
//! - **Encode** writes into a buffer that is reused and already large enough: ours a `&mut [u8]` over a `Vec`, theirs
//!   a `BytesMut` reserved up front and `clear()`ed inside the measured closure (a length store). Neither side
//!   allocates or grows its buffer while measured.
//! - **Decode** uses `iter_batched_ref` on both sides with the same batch size. The setup, outside the measurement,
//!   copies the prepared bytes into a fresh input buffer of the kind each decoder takes: a `Vec<u8>` that ours reads
//!   through `&[u8]`, and a `BytesMut` that rumqttc's `Packet::read` consumes with `split_to`. The copy is not a
//!   decoding cost (in a client the bytes are already in the read buffer), so it is left out for both. The
//!   `BytesMut` is made shared in the setup (one `split_off`), as a client's long-lived read buffer is after its
//!   first packet; a fresh one would add one allocation (the `Shared` header) to rumqttc's first decode only. The
//!   decoded packet is dropped *inside* the measurement, so rumqttc pays for freeing the `String`s and `Vec`s it
//!   allocated; ours has nothing to free.
//! - **Decoded lists are read.** rumqttc decodes SUBSCRIBE filters into a `Vec<Filter>`; ours validates them and keeps
//!   them in wire form, parsing again when iterated. The SUBSCRIBE decode benchmark therefore iterates every filter
//!   on both sides, so that each ends up having looked at every filter's topic and QoS.
//! - **Throughput** is the encoded packet length, so criterion prints MB/s of wire bytes.
//! - **Allocations** are counted by `benches::CountingAlloc`, registered for the whole binary. While criterion
//!   measures, counting is off and costs one relaxed load per allocation (rumqttc allocates, ours does not).
//!
//! Run: `cargo bench -p benches --bench codec` (criterion options after `--`, e.g. `--measurement-time 2`).

use std::hint::black_box;

use benches::{
    AllocStats, CLIENT_ID, CountingAlloc, KEEP_ALIVE, PACKET_ID, PASSWORD, PAYLOAD_SIZES,
    SUBSCRIBE_FILTERS, TOPIC, USERNAME, WILL_PAYLOAD, WILL_TOPIC, payload,
};
use bytes::{Bytes, BytesMut};
use criterion::{
    BatchSize, BenchmarkGroup, BenchmarkId, Criterion, Throughput, measurement::WallTime,
};
use mqtt_core::codec::{
    self, Connect, List, Packet, PacketId, ProtocolVersion, Publish, QoS, Subscribe, Subscription,
    SubscriptionOptions, Will,
};
use rumqttc::mqttbytes::{self as v4_common, v4};
use rumqttc::v5::mqttbytes::{self as v5_common, v5};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc::new();

/// Operations per allocation count.
const ALLOC_OPS: u64 = 1000;

// ---------------------------------------------------------------------------------------------------------------
// Our packets.

fn our_qos(qos: u8) -> QoS {
    QoS::from_u8(qos).expect("fixture QoS is 0, 1 or 2")
}

fn our_publish(payload: &[u8]) -> Packet<'_> {
    Packet::Publish(Publish {
        dup: false,
        qos: QoS::AtLeastOnce,
        retain: false,
        topic: TOPIC,
        packet_id: PacketId::new(PACKET_ID),
        payload,
        properties: Default::default(),
    })
}

fn our_connect() -> Packet<'static> {
    Packet::Connect(Connect {
        clean_start: true,
        keep_alive: KEEP_ALIVE,
        client_id: CLIENT_ID,
        will: Some(Will {
            topic: WILL_TOPIC,
            payload: WILL_PAYLOAD,
            qos: QoS::AtLeastOnce,
            retain: false,
            properties: Default::default(),
        }),
        username: Some(USERNAME),
        password: Some(PASSWORD),
        properties: Default::default(),
    })
}

fn our_subscriptions() -> [Subscription<'static>; 3] {
    SUBSCRIBE_FILTERS.map(|(filter, qos)| Subscription {
        filter,
        options: SubscriptionOptions {
            qos: our_qos(qos),
            ..Default::default()
        },
    })
}

fn our_subscribe<'a>(subscriptions: &'a [Subscription<'a>]) -> Packet<'a> {
    Packet::Subscribe(Subscribe {
        packet_id: PacketId::new(PACKET_ID).expect("fixture packet id is not zero"),
        properties: Default::default(),
        filters: List::new(subscriptions),
    })
}

/// Touches every filter of a decoded SUBSCRIBE, as rumqttc's decoder does when it builds its `Vec`.
fn visit_our_filters(packet: &Packet<'_>) {
    if let Packet::Subscribe(subscribe) = packet {
        for subscription in &subscribe.filters {
            black_box((subscription.filter, subscription.options.qos));
        }
    }
}

// ---------------------------------------------------------------------------------------------------------------
// rumqttc's packets, one implementation per protocol version.

/// rumqttc's codec for one protocol version.
trait Rumqttc {
    /// The version, for labels and for our side of the comparison.
    const VERSION: ProtocolVersion;
    /// `Packet` of this version.
    type Packet: std::fmt::Debug;
    /// `Error` of this version.
    type Error: std::fmt::Debug;

    fn publish(payload: Bytes) -> Self::Packet;
    fn connect() -> Self::Packet;
    fn subscribe() -> Self::Packet;
    fn write(packet: &Self::Packet, buf: &mut BytesMut) -> Result<usize, Self::Error>;
    fn read(buf: &mut BytesMut) -> Result<Self::Packet, Self::Error>;
    /// Touches every filter of a decoded SUBSCRIBE.
    fn visit_filters(packet: &Self::Packet);
}

fn rumqttc_qos_v4(qos: u8) -> v4_common::QoS {
    v4_common::qos(qos).expect("fixture QoS is 0, 1 or 2")
}

fn rumqttc_qos_v5(qos: u8) -> v5_common::QoS {
    v5_common::qos(qos).expect("fixture QoS is 0, 1 or 2")
}

/// MQTT 3.1.1: `rumqttc::mqttbytes::v4`.
struct V311;

impl Rumqttc for V311 {
    const VERSION: ProtocolVersion = ProtocolVersion::V311;
    type Packet = v4::Packet;
    type Error = v4_common::Error;

    fn publish(payload: Bytes) -> v4::Packet {
        let mut publish = v4::Publish::from_bytes(TOPIC, v4_common::QoS::AtLeastOnce, payload);
        publish.pkid = PACKET_ID;
        v4::Packet::Publish(publish)
    }

    fn connect() -> v4::Packet {
        let mut connect = v4::Connect::new(CLIENT_ID);
        connect.keep_alive = KEEP_ALIVE;
        connect.clean_session = true;
        connect.last_will = Some(v4::LastWill::new(
            WILL_TOPIC,
            WILL_PAYLOAD,
            v4_common::QoS::AtLeastOnce,
            false,
        ));
        connect.set_login(
            USERNAME,
            std::str::from_utf8(PASSWORD).expect("fixture password is ASCII"),
        );
        v4::Packet::Connect(connect)
    }

    fn subscribe() -> v4::Packet {
        let filters = SUBSCRIBE_FILTERS
            .map(|(filter, qos)| v4::SubscribeFilter::new(filter.to_owned(), rumqttc_qos_v4(qos)));
        v4::Packet::Subscribe(v4::Subscribe {
            pkid: PACKET_ID,
            filters: filters.to_vec(),
        })
    }

    fn write(packet: &v4::Packet, buf: &mut BytesMut) -> Result<usize, Self::Error> {
        packet.write(buf, usize::MAX)
    }

    fn read(buf: &mut BytesMut) -> Result<v4::Packet, Self::Error> {
        v4::Packet::read(buf, usize::MAX)
    }

    fn visit_filters(packet: &v4::Packet) {
        if let v4::Packet::Subscribe(subscribe) = packet {
            for filter in &subscribe.filters {
                black_box((filter.path.as_str(), filter.qos));
            }
        }
    }
}

/// MQTT 5.0: `rumqttc::v5::mqttbytes::v5`.
struct V5;

impl Rumqttc for V5 {
    const VERSION: ProtocolVersion = ProtocolVersion::V5;
    type Packet = v5::Packet;
    type Error = v5_common::Error;

    fn publish(payload: Bytes) -> v5::Packet {
        let mut publish = v5::Publish::new(TOPIC, v5_common::QoS::AtLeastOnce, payload, None);
        publish.pkid = PACKET_ID;
        v5::Packet::Publish(publish)
    }

    fn connect() -> v5::Packet {
        let connect = v5::Connect {
            keep_alive: KEEP_ALIVE,
            client_id: CLIENT_ID.to_owned(),
            clean_start: true,
            properties: None,
        };
        let will = v5::LastWill::new(
            WILL_TOPIC,
            WILL_PAYLOAD,
            v5_common::QoS::AtLeastOnce,
            false,
            None,
        );
        let login = v5::Login::new(
            USERNAME,
            std::str::from_utf8(PASSWORD).expect("fixture password is ASCII"),
        );
        v5::Packet::Connect(connect, Some(will), Some(login))
    }

    fn subscribe() -> v5::Packet {
        let filters =
            SUBSCRIBE_FILTERS.map(|(filter, qos)| v5::Filter::new(filter, rumqttc_qos_v5(qos)));
        v5::Packet::Subscribe(v5::Subscribe {
            pkid: PACKET_ID,
            filters: filters.to_vec(),
            properties: None,
        })
    }

    fn write(packet: &v5::Packet, buf: &mut BytesMut) -> Result<usize, Self::Error> {
        packet.write(buf, None)
    }

    fn read(buf: &mut BytesMut) -> Result<v5::Packet, Self::Error> {
        v5::Packet::read(buf, None)
    }

    fn visit_filters(packet: &v5::Packet) {
        if let v5::Packet::Subscribe(subscribe) = packet {
            for filter in &subscribe.filters {
                black_box((filter.path.as_str(), filter.qos));
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Shared plumbing.

/// One packet in both implementations' types, with its wire bytes.
struct Case<'a, T: Rumqttc> {
    /// Row label for the allocation table, e.g. `PUBLISH 1 KiB`.
    label: String,
    /// Benchmark parameter, e.g. `1KiB`.
    param: String,
    ours: Packet<'a>,
    theirs: T::Packet,
    /// The encoding both sides produce.
    bytes: Vec<u8>,
    /// Whether decoding should visit the filters of a SUBSCRIBE.
    visit_filters: bool,
}

impl<'a, T: Rumqttc> Case<'a, T> {
    /// Encodes with both implementations, checks the bytes are identical and that both decoders read them back.
    fn new(label: String, param: String, ours: Packet<'a>, theirs: T::Packet) -> Self {
        let version = T::VERSION;
        let mut buf = vec![0; ours.encoded_len(version)];
        let written = ours.encode(version, &mut buf).expect("our encode");
        assert_eq!(
            written,
            buf.len(),
            "{label} {version}: encoded_len disagrees with encode"
        );

        let mut their_buf = BytesMut::new();
        let their_written = T::write(&theirs, &mut their_buf).expect("rumqttc encode");
        assert_eq!(their_written, their_buf.len());
        assert!(
            buf[..] == their_buf[..],
            "{label} {version}: mqtt-core and rumqttc encode different bytes"
        );

        let (decoded, used) = codec::decode(&buf, version, u32::MAX)
            .expect("our decode")
            .expect("our decode: complete packet");
        assert_eq!(
            (decoded, used),
            (ours, buf.len()),
            "{label} {version}: our decode disagrees with our encode"
        );
        let their_decoded = T::read(&mut BytesMut::from(&buf[..])).expect("rumqttc decode");
        assert_eq!(
            format!("{their_decoded:?}"),
            format!("{theirs:?}"),
            "{label} {version}: rumqttc decode disagrees with rumqttc encode"
        );

        let visit_filters = matches!(ours, Packet::Subscribe(_));
        Self {
            label,
            param,
            ours,
            theirs,
            bytes: buf,
            visit_filters,
        }
    }

    fn len(&self) -> usize {
        self.bytes.len()
    }

    /// A fresh input for rumqttc's decoder: the bytes in a `BytesMut` already in shared form, like a read buffer that
    /// has had a packet split off before.
    fn their_input(&self) -> BytesMut {
        let mut input = BytesMut::from(&self.bytes[..]);
        drop(input.split_off(input.len()));
        input
    }

    /// Batch size for `iter_batched_ref`: about 1 MiB of inputs, at least 16 and at most 1000 per batch.
    fn batch_size(&self) -> BatchSize {
        BatchSize::NumIterations(((1 << 20) / self.len()).clamp(16, 1000) as u64)
    }

    fn bench_encode(&self, group: &mut BenchmarkGroup<'_, WallTime>) {
        let version = T::VERSION;
        group.throughput(Throughput::Bytes(self.len() as u64));

        let mut buf = vec![0u8; self.len()];
        group.bench_function(BenchmarkId::new("mqtt-core", &self.param), |b| {
            b.iter(|| black_box(black_box(&self.ours).encode(version, &mut buf)));
        });

        let mut buf = BytesMut::with_capacity(self.len());
        group.bench_function(BenchmarkId::new("rumqttc", &self.param), |b| {
            b.iter(|| {
                buf.clear();
                black_box(T::write(black_box(&self.theirs), &mut buf))
            });
        });
    }

    fn bench_decode(&self, group: &mut BenchmarkGroup<'_, WallTime>) {
        let version = T::VERSION;
        let visit = self.visit_filters;
        group.throughput(Throughput::Bytes(self.len() as u64));

        group.bench_function(BenchmarkId::new("mqtt-core", &self.param), |b| {
            b.iter_batched_ref(
                || self.bytes.clone(),
                |input| {
                    let decoded = codec::decode(input, version, u32::MAX);
                    if visit && let Ok(Some((packet, _))) = &decoded {
                        visit_our_filters(packet);
                    }
                    let _ = black_box(decoded);
                },
                self.batch_size(),
            );
        });

        group.bench_function(BenchmarkId::new("rumqttc", &self.param), |b| {
            b.iter_batched_ref(
                || self.their_input(),
                |input| {
                    let decoded = T::read(input);
                    if visit && let Ok(packet) = &decoded {
                        T::visit_filters(packet);
                    }
                    // Dropped here, inside the measurement.
                    let _ = black_box(decoded);
                },
                self.batch_size(),
            );
        });
    }

    /// Allocations per encode and per decode, ours then theirs, each over [`ALLOC_OPS`] operations.
    fn count_allocations(&self) -> AllocRow {
        let version = T::VERSION;
        let ops = usize::try_from(ALLOC_OPS).expect("ALLOC_OPS fits in usize");

        // Encode: the same reused buffers as the timed benchmarks, warmed by one encode each.
        let mut buf = vec![0u8; self.len()];
        self.ours.encode(version, &mut buf).expect("our encode");
        let ((), our_encode) = ALLOC.count(|| {
            for _ in 0..ops {
                black_box(black_box(&self.ours).encode(version, &mut buf)).expect("our encode");
            }
        });
        let mut their_buf = BytesMut::with_capacity(self.len());
        T::write(&self.theirs, &mut their_buf).expect("rumqttc encode");
        let ((), their_encode) = ALLOC.count(|| {
            for _ in 0..ops {
                their_buf.clear();
                black_box(T::write(black_box(&self.theirs), &mut their_buf))
                    .expect("rumqttc encode");
            }
        });

        // Decode: inputs prepared outside the count, decoded packets dropped inside it.
        let our_inputs: Vec<Vec<u8>> = (0..ops).map(|_| self.bytes.clone()).collect();
        let ((), our_decode) = ALLOC.count(|| {
            for input in &our_inputs {
                let decoded =
                    codec::decode(black_box(input), version, u32::MAX).expect("our decode");
                if let Some((packet, _)) = &decoded {
                    visit_our_filters(packet);
                }
                black_box(decoded);
            }
        });
        let mut their_inputs: Vec<BytesMut> = (0..ops).map(|_| self.their_input()).collect();
        let ((), their_decode) = ALLOC.count(|| {
            for input in &mut their_inputs {
                let decoded = T::read(black_box(input)).expect("rumqttc decode");
                T::visit_filters(&decoded);
                black_box(decoded);
            }
        });

        AllocRow {
            label: format!("{} {}", self.label, version_label(version)),
            wire_bytes: self.len(),
            our_encode,
            their_encode,
            our_decode,
            their_decode,
        }
    }
}

fn version_label(version: ProtocolVersion) -> &'static str {
    match version {
        ProtocolVersion::V311 => "3.1.1",
        _ => "5.0",
    }
}

fn size_label(size: usize) -> String {
    if size >= 1024 {
        format!("{}KiB", size / 1024)
    } else {
        format!("{size}B")
    }
}

// ---------------------------------------------------------------------------------------------------------------
// The cases and the groups.

struct Cases<'a, T: Rumqttc> {
    publish: Vec<Case<'a, T>>,
    connect: Case<'a, T>,
    subscribe: Case<'a, T>,
}

fn cases<'a, T: Rumqttc>(
    payloads: &'a [Vec<u8>],
    subscriptions: &'a [Subscription<'a>],
) -> Cases<'a, T> {
    let publish = payloads
        .iter()
        .map(|payload| {
            let size = size_label(payload.len());
            Case::new(
                format!("PUBLISH {size}"),
                size,
                our_publish(payload),
                T::publish(Bytes::copy_from_slice(payload)),
            )
        })
        .collect();
    let param = version_label(T::VERSION).to_owned();
    Cases {
        publish,
        connect: Case::new(
            "CONNECT".to_owned(),
            param.clone(),
            our_connect(),
            T::connect(),
        ),
        subscribe: Case::new(
            "SUBSCRIBE".to_owned(),
            param,
            our_subscribe(subscriptions),
            T::subscribe(),
        ),
    }
}

fn publish_groups<T: Rumqttc>(c: &mut Criterion, cases: &Cases<'_, T>) {
    let version = version_label(T::VERSION);
    let mut group = c.benchmark_group(format!("publish_encode/{version}"));
    for case in &cases.publish {
        case.bench_encode(&mut group);
    }
    group.finish();

    let mut group = c.benchmark_group(format!("publish_decode/{version}"));
    for case in &cases.publish {
        case.bench_decode(&mut group);
    }
    group.finish();
}

struct AllocRow {
    label: String,
    wire_bytes: usize,
    our_encode: AllocStats,
    their_encode: AllocStats,
    our_decode: AllocStats,
    their_decode: AllocStats,
}

fn print_allocations(rows: &[AllocRow]) {
    let cell = |stats: AllocStats| {
        let (allocations, bytes) = stats.per_op(ALLOC_OPS);
        format!("{allocations:.2} ({bytes:.0} B)")
    };
    println!();
    println!(
        "Allocations per operation (allocations, with bytes requested), averaged over {ALLOC_OPS} operations:"
    );
    println!();
    println!(
        "| packet | wire bytes | mqtt-core encode | rumqttc encode | mqtt-core decode | rumqttc decode |"
    );
    println!("| --- | --: | --- | --- | --- | --- |");
    for row in rows {
        println!(
            "| {} | {} | {} | {} | {} | {} |",
            row.label,
            row.wire_bytes,
            cell(row.our_encode),
            cell(row.their_encode),
            cell(row.our_decode),
            cell(row.their_decode)
        );
    }
    println!();
}

fn main() {
    let payloads: Vec<Vec<u8>> = PAYLOAD_SIZES.iter().map(|&size| payload(size)).collect();
    let subscriptions = our_subscriptions();
    let v311 = cases::<V311>(&payloads, &subscriptions);
    let v5 = cases::<V5>(&payloads, &subscriptions);

    let mut c = Criterion::default().configure_from_args();

    publish_groups(&mut c, &v311);
    publish_groups(&mut c, &v5);

    let mut group = c.benchmark_group("connect_encode");
    v311.connect.bench_encode(&mut group);
    v5.connect.bench_encode(&mut group);
    group.finish();
    let mut group = c.benchmark_group("connect_decode");
    v311.connect.bench_decode(&mut group);
    v5.connect.bench_decode(&mut group);
    group.finish();

    let mut group = c.benchmark_group("subscribe_encode");
    v311.subscribe.bench_encode(&mut group);
    v5.subscribe.bench_encode(&mut group);
    group.finish();
    let mut group = c.benchmark_group("subscribe_decode");
    v311.subscribe.bench_decode(&mut group);
    v5.subscribe.bench_decode(&mut group);
    group.finish();

    c.final_summary();

    let rows: Vec<AllocRow> = v311
        .publish
        .iter()
        .map(Case::count_allocations)
        .chain(v5.publish.iter().map(Case::count_allocations))
        .chain([
            v311.connect.count_allocations(),
            v5.connect.count_allocations(),
            v311.subscribe.count_allocations(),
            v5.subscribe.count_allocations(),
        ])
        .collect();
    print_allocations(&rows);

    // Rule 4 of STYLE.md: nothing allocates on the hot path. Checked after printing, so the table is always seen.
    for row in &rows {
        assert_eq!(
            row.our_encode.allocations, 0,
            "{}: mqtt-core encode allocated",
            row.label
        );
        assert_eq!(
            row.our_decode.allocations, 0,
            "{}: mqtt-core decode allocated",
            row.label
        );
    }
}
