//! The primitive data representations of MQTT section 1.5: integers, Variable Byte Integers, UTF-8 Encoded Strings
//! and Binary Data, read from and written to plain byte slices.
//!
//! [`Reader`] and [`Writer`] are the only places in the codec that touch bytes by position, and they never panic:
//! every read is bounds-checked and every write is checked against the caller's buffer.

use crate::codec::{PacketId, PacketType};
use crate::error::{DecodeError, EncodeError, TopicError};

/// The largest value a Variable Byte Integer can hold, which is also the largest remaining length. `[MQTT-1.5.5]`
pub const MAX_VAR_INT: u32 = 268_435_455;

/// Refuses a reason code that the table of `packet` in `version` does not list.
pub(crate) fn check_reason(
    code: crate::codec::ReasonCode,
    packet: PacketType,
    version: crate::codec::ProtocolVersion,
) -> Result<(), DecodeError> {
    if code.is_valid_for(packet, version) {
        Ok(())
    } else {
        Err(DecodeError::InvalidReasonCode {
            packet,
            code: code.0,
        })
    }
}

/// A cursor over the body of one packet that borrows everything it returns from the input.
#[derive(Debug, Clone)]
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    packet: PacketType,
}

impl<'a> Reader<'a> {
    #[inline]
    pub(crate) fn new(buf: &'a [u8], packet: PacketType) -> Self {
        Self { buf, packet }
    }

    #[inline]
    pub(crate) fn packet(&self) -> PacketType {
        self.packet
    }

    /// A reason code, checked against the reason code table of this packet type in `version`.
    pub(crate) fn reason_code(
        &mut self,
        version: crate::codec::ProtocolVersion,
    ) -> Result<crate::codec::ReasonCode, DecodeError> {
        let code = crate::codec::ReasonCode(self.u8()?);
        check_reason(code, self.packet, version)?;
        Ok(code)
    }

    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    fn end(&self) -> DecodeError {
        DecodeError::UnexpectedEnd {
            packet: self.packet,
        }
    }

    #[inline]
    pub(crate) fn bytes(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if n > self.buf.len() {
            return Err(self.end());
        }
        let (head, tail) = self.buf.split_at(n);
        self.buf = tail;
        Ok(head)
    }

    /// Everything that is left (a PUBLISH payload, a SUBACK's reason codes).
    #[inline]
    pub(crate) fn rest(&mut self) -> &'a [u8] {
        core::mem::take(&mut self.buf)
    }

    #[inline]
    pub(crate) fn u8(&mut self) -> Result<u8, DecodeError> {
        let (&b, tail) = self.buf.split_first().ok_or_else(|| self.end())?;
        self.buf = tail;
        Ok(b)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let end = self.end();
        self.bytes(N)?.try_into().map_err(|_| end)
    }

    #[inline]
    pub(crate) fn u16(&mut self) -> Result<u16, DecodeError> {
        self.array().map(u16::from_be_bytes)
    }

    #[inline]
    pub(crate) fn u32(&mut self) -> Result<u32, DecodeError> {
        self.array().map(u32::from_be_bytes)
    }

    #[inline]
    pub(crate) fn var_int(&mut self) -> Result<u32, DecodeError> {
        match read_var_int(self.buf)? {
            Some((value, used)) => {
                self.buf = self.buf.get(used..).unwrap_or_default();
                Ok(value)
            }
            None => Err(self.end()),
        }
    }

    #[inline]
    pub(crate) fn packet_id(&mut self) -> Result<PacketId, DecodeError> {
        let packet = self.packet;
        PacketId::new(self.u16()?).ok_or(DecodeError::ZeroPacketId { packet })
    }

    /// Binary Data: a two-byte length followed by that many bytes. `[MQTT-1.5.6]`
    #[inline]
    pub(crate) fn binary(&mut self) -> Result<&'a [u8], DecodeError> {
        let len = self.u16()?;
        self.bytes(usize::from(len))
    }

    /// A UTF-8 Encoded String: well-formed UTF-8 without U+0000. `[MQTT-1.5.4]`
    #[inline]
    pub(crate) fn string(&mut self) -> Result<&'a str, DecodeError> {
        let raw = self.binary()?;
        let s = core::str::from_utf8(raw).map_err(|_| DecodeError::InvalidUtf8)?;
        if raw.contains(&0) {
            return Err(DecodeError::NullCharacter);
        }
        Ok(s)
    }

    /// A topic name: a UTF-8 Encoded String without wildcards, checked in one pass after UTF-8.
    #[inline]
    pub(crate) fn topic_name(&mut self) -> Result<&'a str, DecodeError> {
        let raw = self.binary()?;
        let s = core::str::from_utf8(raw).map_err(|_| DecodeError::InvalidUtf8)?;
        for &b in raw {
            match b {
                0 => return Err(DecodeError::NullCharacter),
                b'+' | b'#' => {
                    return Err(DecodeError::InvalidTopicName(TopicError::WildcardInName));
                }
                _ => {}
            }
        }
        Ok(s)
    }

    /// Succeeds only if every byte of the packet has been consumed.
    #[inline]
    pub(crate) fn finish(self) -> Result<(), DecodeError> {
        if self.buf.is_empty() {
            Ok(())
        } else {
            Err(DecodeError::TrailingBytes {
                packet: self.packet,
                extra: u32::try_from(self.buf.len()).unwrap_or(u32::MAX),
            })
        }
    }
}

/// Reads a Variable Byte Integer from the start of `buf`.
///
/// Returns `Ok(None)` when `buf` ends before the integer does, and the value with the number of bytes it took
/// otherwise. Rejects a fifth byte and non-minimal encodings. `[MQTT-1.5.5]`
pub(crate) fn read_var_int(buf: &[u8]) -> Result<Option<(u32, usize)>, DecodeError> {
    let mut value: u32 = 0;
    for (i, &byte) in buf.iter().enumerate().take(4) {
        value |= u32::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            // A final byte of zero after continuation bytes adds nothing: the same value fits in fewer bytes.
            if i > 0 && byte == 0 {
                return Err(DecodeError::NonMinimalVarInt);
            }
            return Ok(Some((value, i + 1)));
        }
    }
    if buf.len() >= 4 {
        Err(DecodeError::VarIntTooLong)
    } else {
        Ok(None)
    }
}

/// The number of bytes the Variable Byte Integer encoding of `value` takes (values above [`MAX_VAR_INT`] count as 4;
/// writing them fails).
pub(crate) const fn var_int_len(value: usize) -> usize {
    match value {
        0..=127 => 1,
        128..=16_383 => 2,
        16_384..=2_097_151 => 3,
        _ => 4,
    }
}

/// Length of a string or binary field with its two-byte length prefix.
pub(crate) const fn prefixed_len(bytes: usize) -> usize {
    2 + bytes
}

/// A cursor that writes into a caller-provided buffer.
///
/// Its errors are sticky: the first failure (the buffer is full, a field is too long for its length prefix, a
/// value too large for a Variable Byte Integer) is kept, everything written after it is skipped, and
/// [`finish`](Self::finish) returns it. The writing methods return `Result` so that codec code reads as ordinary
/// fallible code, but always `Ok`: the `?` after each of them compiles away, which keeps the encoders small.
#[derive(Debug)]
pub(crate) struct Writer<'b> {
    buf: &'b mut [u8],
    pos: usize,
    error: Option<EncodeError>,
}

impl<'b> Writer<'b> {
    #[inline]
    pub(crate) fn new(buf: &'b mut [u8]) -> Self {
        Self {
            buf,
            pos: 0,
            error: None,
        }
    }

    #[inline]
    pub(crate) fn position(&self) -> usize {
        self.pos
    }

    /// Bytes written, or the first failure.
    #[inline]
    pub(crate) fn finish(self) -> Result<usize, EncodeError> {
        match self.error {
            Some(error) => Err(error),
            None => Ok(self.pos),
        }
    }

    /// The failure so far, if any.
    pub(crate) fn finish_ref(&self) -> Option<EncodeError> {
        self.error
    }

    fn fail(&mut self, error: EncodeError) {
        self.error.get_or_insert(error);
    }

    fn put(&mut self, bytes: &[u8]) {
        if self.error.is_some() {
            return;
        }
        let end = self.pos.checked_add(bytes.len());
        match end.and_then(|end| self.buf.get_mut(self.pos..end)) {
            Some(dst) => {
                dst.copy_from_slice(bytes);
                self.pos += bytes.len();
            }
            None => self.fail(EncodeError::BufferTooSmall {
                needed: self.pos.saturating_add(bytes.len()),
                available: self.buf.len(),
            }),
        }
    }

    #[inline]
    pub(crate) fn bytes(&mut self, bytes: &[u8]) -> Result<(), EncodeError> {
        self.put(bytes);
        Ok(())
    }

    #[inline]
    pub(crate) fn u8(&mut self, value: u8) -> Result<(), EncodeError> {
        self.put(&[value]);
        Ok(())
    }

    #[inline]
    pub(crate) fn u16(&mut self, value: u16) -> Result<(), EncodeError> {
        self.put(&value.to_be_bytes());
        Ok(())
    }

    #[inline]
    pub(crate) fn u32(&mut self, value: u32) -> Result<(), EncodeError> {
        self.put(&value.to_be_bytes());
        Ok(())
    }

    #[inline]
    pub(crate) fn var_int(&mut self, value: usize) -> Result<(), EncodeError> {
        self.put_var_int(value);
        Ok(())
    }

    fn put_var_int(&mut self, value: usize) {
        let Some(mut value) = u32::try_from(value).ok().filter(|&v| v <= MAX_VAR_INT) else {
            let value = u32::try_from(value).unwrap_or(u32::MAX);
            return self.fail(EncodeError::VarIntOutOfRange(value));
        };
        let mut out = [0u8; 4];
        let mut len = 0;
        for slot in &mut out {
            let mut byte = (value & 0x7f) as u8;
            value >>= 7;
            if value > 0 {
                byte |= 0x80;
            }
            *slot = byte;
            len += 1;
            if value == 0 {
                break;
            }
        }
        self.put(out.get(..len).unwrap_or_default());
    }

    #[inline]
    pub(crate) fn binary(&mut self, bytes: &[u8]) -> Result<(), EncodeError> {
        self.put_binary(bytes);
        Ok(())
    }

    fn put_binary(&mut self, bytes: &[u8]) {
        match u16::try_from(bytes.len()) {
            Ok(len) => {
                self.put(&len.to_be_bytes());
                self.put(bytes);
            }
            Err(_) => self.fail(EncodeError::FieldTooLong(bytes.len())),
        }
    }

    #[inline]
    pub(crate) fn string(&mut self, s: &str) -> Result<(), EncodeError> {
        self.put_binary(s.as_bytes());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn var_int_boundaries_from_the_spec_table() {
        // Table 1.1 of MQTT 5.0 (and 2.4 of 3.1.1): the smallest and largest value of each length.
        let cases: &[(u32, &[u8])] = &[
            (0, &[0x00]),
            (127, &[0x7f]),
            (128, &[0x80, 0x01]),
            (16_383, &[0xff, 0x7f]),
            (16_384, &[0x80, 0x80, 0x01]),
            (2_097_151, &[0xff, 0xff, 0x7f]),
            (2_097_152, &[0x80, 0x80, 0x80, 0x01]),
            (268_435_455, &[0xff, 0xff, 0xff, 0x7f]),
        ];
        for &(value, bytes) in cases {
            assert_eq!(
                read_var_int(bytes),
                Ok(Some((value, bytes.len()))),
                "{value}"
            );
            assert_eq!(var_int_len(value as usize), bytes.len());
            let mut buf = [0u8; 4];
            let mut w = Writer::new(&mut buf);
            w.var_int(value as usize).unwrap();
            let written = w.finish().unwrap();
            assert_eq!(&buf[..written], bytes);
        }
    }

    #[test]
    fn var_int_rejects_fifth_byte_and_non_minimal_forms() {
        assert_eq!(
            read_var_int(&[0xff, 0xff, 0xff, 0xff, 0x01]),
            Err(DecodeError::VarIntTooLong)
        );
        assert_eq!(
            read_var_int(&[0x80, 0x80, 0x80, 0x80]),
            Err(DecodeError::VarIntTooLong)
        );
        assert_eq!(
            read_var_int(&[0x80, 0x00]),
            Err(DecodeError::NonMinimalVarInt)
        );
        assert_eq!(
            read_var_int(&[0xff, 0x80, 0x00]),
            Err(DecodeError::NonMinimalVarInt)
        );
        assert_eq!(read_var_int(&[0x80, 0x80]), Ok(None));
        assert_eq!(read_var_int(&[]), Ok(None));
    }

    #[test]
    fn writing_past_the_buffer_is_an_error_not_a_panic() {
        let mut buf = [0u8; 3];
        let mut w = Writer::new(&mut buf);
        let _ = w.string("abcd");
        // The first failure is kept, what follows it is not written.
        let _ = w.string(&"x".repeat(70_000));
        assert_eq!(
            w.finish(),
            Err(EncodeError::BufferTooSmall {
                needed: 6,
                available: 3
            })
        );
        let mut w = Writer::new(&mut buf);
        let _ = w.var_int(268_435_456);
        assert_eq!(w.finish(), Err(EncodeError::VarIntOutOfRange(268_435_456)));
        let mut big = [0u8; 80_000];
        let mut w = Writer::new(&mut big);
        let _ = w.string(&"x".repeat(70_000));
        assert_eq!(w.finish(), Err(EncodeError::FieldTooLong(70_000)));
    }

    #[test]
    fn strings_reject_null_and_invalid_utf8() {
        let mut r = Reader::new(&[0x00, 0x02, b'a', 0x00], PacketType::Publish);
        assert_eq!(r.string(), Err(DecodeError::NullCharacter));
        // An encoded UTF-16 surrogate (U+D800) is not well-formed UTF-8. [MQTT-1.5.4-1]
        let mut r = Reader::new(&[0x00, 0x03, 0xed, 0xa0, 0x80], PacketType::Publish);
        assert_eq!(r.string(), Err(DecodeError::InvalidUtf8));
        let mut r = Reader::new(&[0x00, 0x05, b'a'], PacketType::Publish);
        assert_eq!(
            r.string(),
            Err(DecodeError::UnexpectedEnd {
                packet: PacketType::Publish
            })
        );
    }
}
