//! Decodes MQTT packets from hex and prints what they hold: a quick way to look inside a capture.
//!
//! ```text
//! cargo run -p examples --bin decode -- 5 "30 0e 00 03 61 2f 62 00 68 65 6c 6c 6f"
//! cargo run -p examples --bin decode -- 3.1.1 "82 08 00 01 00 03 61 2f 23 01"
//! ```
//!
//! The first argument is the protocol version (`3.1.1` or `5`); the rest is hex, with or without spaces.

use std::process::ExitCode;

use mqtt_core::codec::{self, Packet, ProtocolVersion};

fn parse_hex(text: &str) -> Result<Vec<u8>, String> {
    let digits: Vec<u8> = text
        .bytes()
        .filter(|b| !b.is_ascii_whitespace() && *b != b',')
        .collect();
    if !digits.len().is_multiple_of(2) {
        return Err("odd number of hex digits".into());
    }
    digits
        .chunks(2)
        .map(|pair| {
            let pair = std::str::from_utf8(pair).map_err(|e| e.to_string())?;
            u8::from_str_radix(pair, 16).map_err(|_| format!("{pair:?} is not a hex byte"))
        })
        .collect()
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let version = match args.next().as_deref() {
        Some("3.1.1" | "4") => ProtocolVersion::V311,
        Some("5" | "5.0") => ProtocolVersion::V5,
        _ => {
            eprintln!("usage: decode <3.1.1|5> <hex bytes>...");
            return ExitCode::FAILURE;
        }
    };
    let bytes = match parse_hex(&args.collect::<Vec<_>>().join(" ")) {
        Ok(bytes) => bytes,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut rest = &bytes[..];
    while !rest.is_empty() {
        match codec::decode(rest, version, u32::MAX) {
            Ok(Some((packet, used))) => {
                println!("{} ({used} bytes): {packet:#?}", packet.packet_type());
                if let Packet::Publish(publish) = packet {
                    println!(
                        "payload as text: {:?}",
                        String::from_utf8_lossy(publish.payload)
                    );
                }
                rest = &rest[used..];
            }
            Ok(None) => {
                println!(
                    "incomplete packet: the last {} bytes do not hold a whole packet",
                    rest.len()
                );
                return ExitCode::FAILURE;
            }
            Err(e) => {
                println!(
                    "malformed packet: {e} (5.0 reason code: {})",
                    e.reason_code()
                );
                return ExitCode::FAILURE;
            }
        }
    }
    ExitCode::SUCCESS
}
