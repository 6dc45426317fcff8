use super::*;
use crate::codec::{ReasonCode, SubscriptionOptions};
use crate::{Buffers, Config};
use std::vec;
use std::vec::Vec;

fn round_trip(change: Change<'_>) {
    let mut buf = vec![0u8; change.encoded_len()];
    assert_eq!(change.encode(&mut buf), Some(buf.len()), "{change:?}");
    assert_eq!(Change::decode(&buf), Ok(change));
    // One byte short: no partial record.
    let mut short = vec![0u8; change.encoded_len() - 1];
    assert_eq!(change.encode(&mut short), None);
    // Every truncation is an error, never a panic.
    for end in 0..buf.len() {
        if let Ok(decoded) = Change::decode(&buf[..end]) {
            // A message's packet runs to the end of the record: cut, it is another (shorter) packet.
            assert!(matches!(decoded, Change::Message { .. }), "{decoded:?}");
        }
    }
}

#[test]
fn every_record_reads_back_as_written() {
    let id = PacketId::new(513).unwrap();
    round_trip(Change::Identity {
        client_id: "sensor-17",
        assigned: true,
    });
    round_trip(Change::Message {
        ticket: Ticket(7),
        qos: QoS::ExactlyOnce,
        v5: true,
        form: Form::Released,
        packet_id: Some(id),
        packet: &[0x34, 0x05, 0, 1, b'a', 0, 1],
    });
    round_trip(Change::State {
        ticket: Ticket(u32::MAX),
        form: Form::Sent,
        packet_id: Some(id),
    });
    round_trip(Change::Done { ticket: Ticket(1) });
    round_trip(Change::Qos2Received(id));
    round_trip(Change::Qos2Released(id));
    round_trip(Change::Qos2Cleared);
    let config = Config::new("subs");
    let mut session = Session::new(&config, Buffers::owned(256, 1024, 256)).unwrap();
    let buf = &mut session.subscriptions_buf;
    let options = SubscriptionOptions {
        qos: QoS::AtLeastOnce,
        no_local: true,
        ..SubscriptionOptions::default()
    };
    session
        .subscriptions
        .push(buf, "a/+/b", options, subscriptions::State::Active, 3, 9);
    session.subscriptions.push(
        buf,
        "requested/but/not/granted",
        options,
        subscriptions::State::SubscribeQueued,
        4,
        0,
    );
    session.subscriptions.push(
        buf,
        "being/restored",
        options,
        subscriptions::State::SubscribeSent,
        Ticket::RESUBSCRIBE.0,
        0,
    );
    let list = session.subscription_list();
    let saved: Vec<_> = list.iter().collect();
    assert_eq!(saved.len(), 2, "the request not granted yet is not kept");
    assert_eq!(saved[0].filter, "a/+/b");
    assert_eq!(saved[0].subscription_id, 9);
    assert_eq!(saved[0].granted, ReasonCode(1));
    assert!(saved[1].pending);
    round_trip(Change::Subscriptions(list));
}

#[test]
fn damaged_records_are_errors() {
    assert_eq!(
        Change::decode(&[]),
        Err(RestoreError::Malformed("record ends early"))
    );
    assert_eq!(Change::decode(&[99]), Err(RestoreError::UnknownKind(99)));
    // QoS 0 is never stored.
    assert_eq!(
        Change::decode(&[MESSAGE_KIND, 1, 0, 0, 0, 0, 0, 0, 0, 0]),
        Err(RestoreError::Malformed("message QoS"))
    );
    // A sent message without its identifier.
    assert_eq!(
        Change::decode(&[3, 1, 0, 0, 0, Form::Sent as u8, 0, 0]),
        Err(RestoreError::Malformed(
            "a sent message without a packet identifier"
        ))
    );
    assert_eq!(
        Change::decode(&[4, 1, 0, 0, 0, 0]),
        Err(RestoreError::Malformed("bytes after the record"))
    );
    // A subscription list whose count disagrees.
    assert_eq!(
        Change::decode(&[8, 1, 0]),
        Err(RestoreError::Malformed("subscription count"))
    );
}

const MESSAGE_KIND: u8 = 2;

#[test]
fn a_stored_message_that_is_not_a_publish_is_refused() {
    let config = Config::new("x");
    let mut session = Session::new(&config, Buffers::owned(256, 1024, 256)).unwrap();
    let record = Change::Message {
        ticket: Ticket(1),
        qos: QoS::AtLeastOnce,
        v5: true,
        form: Form::Queued,
        packet_id: None,
        packet: &[0xc0, 0x00],
    };
    let mut buf = [0u8; 32];
    let n = record.encode(&mut buf).unwrap();
    assert_eq!(
        session.restore(&buf[..n]),
        Err(RestoreError::Malformed("stored message is not a PUBLISH"))
    );
    let record = Change::Message {
        ticket: Ticket(1),
        qos: QoS::AtLeastOnce,
        v5: true,
        form: Form::Queued,
        packet_id: None,
        packet: &[0x32, 0x7f],
    };
    let n = record.encode(&mut buf).unwrap();
    assert_eq!(
        session.restore(&buf[..n]),
        Err(RestoreError::Malformed("stored message is cut short"))
    );
    let record = Change::Message {
        ticket: Ticket(1),
        qos: QoS::AtLeastOnce,
        v5: true,
        form: Form::Queued,
        packet_id: None,
        packet: &[0x36, 0x00],
    };
    let n = record.encode(&mut buf).unwrap();
    assert!(matches!(
        session.restore(&buf[..n]),
        Err(RestoreError::Packet(_))
    ));
}

#[test]
fn the_journal_overflows_into_a_snapshot_and_a_mark_confirms_only_what_was_taken() {
    let mut journal = crate::session::journal::Journal::default();
    journal.note(Notice::Qos2Cleared);
    assert!(journal.is_empty(), "disabled: nothing noted");
    journal.enable();
    for id in 1..=(crate::session::journal::NOTICES as u16) {
        journal.note(Notice::Qos2Received(id));
    }
    assert!(!journal.has_overflowed());
    assert!(journal.blocks());
    assert_eq!(journal.take(), Some(Notice::Qos2Received(1)));
    // A confirmation beyond what was taken confirms only what was taken.
    journal.confirm(u64::MAX);
    assert!(journal.blocks());
    journal.note(Notice::Qos2Released(1));
    journal.note(Notice::Qos2Released(2));
    assert!(journal.has_overflowed());
    let mark = journal.start_over();
    assert!(journal.is_empty());
    journal.confirm(mark);
    assert!(!journal.blocks());
}
