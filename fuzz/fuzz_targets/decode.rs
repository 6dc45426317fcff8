//! Feeds arbitrary bytes to the decoder, as a broker (or a client, for the fake broker) could send them.
//!
//! Invariants: decoding never panics; it never claims more bytes than it was given; whatever it accepts encodes
//! back to exactly `encoded_len` bytes and decodes again to an equal packet.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mqtt_core::codec::{self, ProtocolVersion};

fuzz_target!(|data: &[u8]| {
    let Some((&selector, mut rest)) = data.split_first() else {
        return;
    };
    let version = if selector & 1 == 0 { ProtocolVersion::V311 } else { ProtocolVersion::V5 };
    // Exercise the maximum packet size check with small limits too.
    let max = if selector & 2 == 0 { u32::MAX } else { u32::from(selector) * 4 };
    let mut scratch = vec![0u8; 64];
    while let Ok(Some((packet, used))) = codec::decode(rest, version, max) {
        assert!(used > 0 && used <= rest.len());
        let len = packet.encoded_len(version);
        scratch.resize(len, 0);
        let written = packet.encode(version, &mut scratch).expect("a decoded packet re-encodes");
        assert_eq!(written, len);
        let (again, again_used) = codec::decode(&scratch[..len], version, u32::MAX)
            .expect("re-encoded bytes decode")
            .expect("re-encoded bytes are complete");
        assert_eq!(again, packet);
        assert_eq!(again_used, len);
        rest = &rest[used..];
    }
});
