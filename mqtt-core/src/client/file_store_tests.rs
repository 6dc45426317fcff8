use super::*;
use crate::client::{Options, Persistence};
use crate::codec::{PacketId, QoS};
use crate::session::Ticket;
use crate::session::persist::Form;
use std::string::ToString;
use std::sync::atomic::AtomicUsize;
use std::{format, vec};

/// A file path in the temporary directory, removed (with its `.tmp` and `.corrupt` siblings) when dropped.
struct TempPath(PathBuf);

impl TempPath {
    fn new(name: &str) -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        Self(std::env::temp_dir().join(format!("mqtt-store-{}-{n}-{name}.log", std::process::id())))
    }

    fn sibling(&self, suffix: &str) -> PathBuf {
        let mut p = self.0.as_os_str().to_owned();
        p.push(suffix);
        PathBuf::from(p)
    }
}

impl Drop for TempPath {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.0);
        let _ = fs::remove_file(self.sibling(".tmp"));
        let _ = fs::remove_file(self.sibling(".corrupt"));
    }
}

/// A log of `n` records of different kinds and sizes, and where each frame starts.
fn log(path: &Path, n: u32) -> Vec<usize> {
    let mut frames = Vec::new();
    let mut starts = Vec::new();
    let packet = [0x32u8, 0x08, 0, 1, b't', 0, 1, b'p', b'a', b'y'];
    for i in 0..n {
        starts.push(HEADER + frames.len());
        let change = match i % 3 {
            0 => Change::Message {
                ticket: Ticket(i),
                qos: QoS::AtLeastOnce,
                v5: false,
                form: Form::Queued,
                packet_id: None,
                packet: &packet,
            },
            1 => Change::State {
                ticket: Ticket(i - 1),
                form: Form::Sent,
                packet_id: PacketId::new(7),
            },
            _ => Change::Done {
                ticket: Ticket(i - 2),
            },
        };
        frame(&mut frames, &change);
    }
    FileStore::create(path, &frames, u64::MAX).unwrap();
    starts
}

#[test]
fn crc32_is_the_ieee_checksum() {
    assert_eq!(crc32(0, b"123456789"), 0xcbf4_3926);
    assert_eq!(crc32(crc32(0, b"1234"), b"56789"), 0xcbf4_3926);
}

#[test]
fn a_write_torn_anywhere_in_the_last_record_is_cut_off_and_the_rest_is_kept() {
    let path = TempPath::new("torn");
    let starts = log(&path.0, 7);
    let whole = fs::read(&path.0).unwrap();
    assert_eq!(Log::read(&path.0).unwrap().records().count(), 7);
    let last = *starts.last().unwrap();
    for cut in last..whole.len() {
        fs::write(&path.0, &whole[..cut]).unwrap();
        let log = Log::read(&path.0).unwrap();
        assert_eq!(log.records().count(), 6, "cut at {cut}");
        assert_eq!(
            log.torn_at,
            (cut > last).then_some(last as u64),
            "cut at {cut}"
        );
    }
    // Zeros after the last record (a file system that extended the file and lost the data) are torn too.
    let mut zeros = whole;
    zeros.extend_from_slice(&[0; 100]);
    fs::write(&path.0, &zeros).unwrap();
    assert_eq!(Log::read(&path.0).unwrap().records().count(), 7);
}

#[test]
fn a_flipped_bit_in_any_record_but_the_last_is_an_error_naming_the_file_and_the_record() {
    let path = TempPath::new("flip");
    let starts = log(&path.0, 7);
    let whole = fs::read(&path.0).unwrap();
    let last = *starts.last().unwrap();
    for at in 0..whole.len() {
        for bit in [0u8, 3, 7] {
            let mut damaged = whole.clone();
            damaged[at] ^= 1 << bit;
            fs::write(&path.0, &damaged).unwrap();
            let result = Log::read(&path.0);
            if (12..HEADER).contains(&at) {
                // Reserved bytes of the header.
                assert!(result.is_ok());
                continue;
            }
            if at >= last {
                // The last record: indistinguishable from a torn write, cut off.
                let log = result.unwrap();
                assert_eq!(log.records().count(), 6, "bit {bit} of byte {at}");
                continue;
            }
            let error = result.expect_err(&format!("bit {bit} of byte {at}"));
            assert_eq!(error.path, path.0);
            assert!(matches!(error.kind, StoreErrorKind::Corrupt(_)));
            // The frame that holds the byte (the header for the first 16 bytes).
            let frame = starts.iter().rev().find(|&&s| s <= at).copied();
            let expected = match frame {
                None if at < 8 => 0,
                None => 8,
                Some(start) => start,
            };
            assert_eq!(
                error.offset,
                Some(expected as u64),
                "bit {bit} of byte {at}"
            );
            let shown = error.to_string();
            assert!(shown.contains(&path.0.display().to_string()), "{shown}");
            assert!(shown.contains(&format!("at byte {expected}")), "{shown}");
        }
    }
}

#[test]
fn a_file_that_is_no_store_is_refused() {
    let path = TempPath::new("other");
    fs::write(&path.0, b"{\"not\": \"a store\"}").unwrap();
    let error = Log::read(&path.0).unwrap_err();
    assert_eq!(error.offset, Some(0));
    assert!(error.to_string().contains("not a store file"));
}

#[test]
fn a_damaged_store_fails_the_client_unless_told_to_start_fresh() {
    let path = TempPath::new("fresh");
    let options = Options::new("mqtt://127.0.0.1:1")
        .unwrap()
        .client_id("fresh")
        .clean_start(false)
        .persistence(Persistence::file(&path.0));
    let (mut session, store) = options.open_session().unwrap();
    let message = crate::codec::Publish {
        topic: "t",
        payload: b"kept",
        qos: QoS::AtLeastOnce,
        ..Default::default()
    };
    session.publish(&message, crate::Instant::ZERO).unwrap();
    let mut store = store.unwrap();
    assert!(store.write(&mut session).unwrap());
    drop(store);
    // Restarted: the message is back.
    let (session, _store) = options.open_session().unwrap();
    assert_eq!(session.recovered().count(), 1);
    drop(_store);
    // Damaged in the middle (the first record, the identity, fails its checksum).
    let mut bytes = fs::read(&path.0).unwrap();
    bytes[HEADER + FRAME + 1] ^= 0x10;
    fs::write(&path.0, &bytes).unwrap();
    let error = options.open_session().unwrap_err();
    let crate::client::Error::Store(error) = error else {
        panic!("{error}");
    };
    assert_eq!(error.offset, Some(HEADER as u64));
    // Told to start fresh: the damaged file is kept aside, the session is empty.
    let options = options.persistence(Persistence::file(&path.0).start_fresh_if_corrupt(true));
    let (session, _store) = options.open_session().unwrap();
    assert_eq!(session.recovered().count(), 0);
    assert_eq!(fs::read(path.sibling(".corrupt")).unwrap(), bytes);
}

#[test]
fn a_store_of_another_client_identifier_is_refused_with_the_offset_of_its_identity() {
    let path = TempPath::new("identity");
    let options = |id: &str| {
        Options::new("mqtt://127.0.0.1:1")
            .unwrap()
            .client_id(id)
            .persistence(Persistence::file(&path.0))
    };
    drop(options("first").open_session().unwrap());
    let crate::client::Error::Store(error) = options("second").open_session().unwrap_err() else {
        panic!("a store error");
    };
    assert_eq!(error.offset, Some(HEADER as u64));
    assert!(matches!(
        error.kind,
        StoreErrorKind::Record(RestoreError::OtherClient)
    ));
}

#[test]
fn the_log_is_compacted_once_it_outgrows_its_snapshot() {
    let path = TempPath::new("compact");
    let options = Options::new("mqtt://127.0.0.1:1")
        .unwrap()
        .client_id("compact")
        .persistence(Persistence::file(&path.0).compact_after(4096));
    let (mut session, store) = options.open_session().unwrap();
    let mut store = store.unwrap();
    let base = fs::metadata(&path.0).unwrap().len();
    let payload = vec![7u8; 100];
    let message = crate::codec::Publish {
        topic: "t",
        payload: &payload,
        qos: QoS::AtLeastOnce,
        ..Default::default()
    };
    let mut largest = 0;
    for _ in 0..200 {
        let ticket = session.publish(&message, crate::Instant::ZERO).unwrap();
        store.write(&mut session).unwrap();
        assert!(session.withdraw(ticket));
        store.write(&mut session).unwrap();
        largest = largest.max(fs::metadata(&path.0).unwrap().len());
    }
    // 200 messages of about 130 bytes each came and went: the log stayed near its 4 KiB allowance.
    assert!(largest < base + 4096 + 512, "{largest}");
    drop(store);
    let (session, _store) = options.open_session().unwrap();
    assert_eq!(session.recovered().count(), 0);
}

#[test]
fn any_damaged_byte_or_cut_of_a_store_opens_or_fails_with_a_store_error_never_a_panic() {
    let path = TempPath::new("every-byte");
    let options = Options::new("mqtt://127.0.0.1:1")
        .unwrap()
        .client_id("every-byte")
        .clean_start(false)
        .persistence(Persistence::file(&path.0));
    let (mut session, store) = options.open_session().unwrap();
    let mut store = store.unwrap();
    for (i, qos) in [QoS::AtLeastOnce, QoS::ExactlyOnce, QoS::AtLeastOnce]
        .into_iter()
        .enumerate()
    {
        let topic = format!("t/{i}");
        let message = crate::codec::Publish {
            topic: &topic,
            payload: b"payload",
            qos,
            ..Default::default()
        };
        session.publish(&message, crate::Instant::ZERO).unwrap();
        store.write(&mut session).unwrap();
    }
    drop(store);
    let good = fs::read(&path.0).unwrap();
    let opened = |bytes: &[u8]| {
        fs::write(&path.0, bytes).unwrap();
        match options.open_session() {
            Ok(_) | Err(crate::client::Error::Store(_)) => {}
            Err(other) => panic!("not a store error: {other}"),
        }
    };
    for at in 0..good.len() {
        for mask in [0x01u8, 0x80, 0xFF] {
            let mut bytes = good.clone();
            bytes[at] ^= mask;
            opened(&bytes);
        }
        opened(&good[..at]);
    }
    // A directory where the file should be.
    let _ = fs::remove_file(&path.0);
    fs::create_dir(&path.0).unwrap();
    let outcome = options.open_session();
    fs::remove_dir(&path.0).unwrap();
    assert!(
        matches!(outcome, Err(crate::client::Error::Store(_))),
        "{:?}",
        outcome.err()
    );
}
