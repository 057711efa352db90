//! The building blocks of the format: varints, single bytes, bools, counts and byte strings.

use bytes::{Buf, BufMut, Bytes};

use super::DecodeError;

/// The longest LEB128 encoding of a `u64`: ten groups of seven bits cover 64 bits.
pub(super) const MAX_VARINT_LEN: usize = 10;

/// Appends `value` as an unsigned LEB128 varint in its shortest form.
pub(super) fn put_varint(buf: &mut impl BufMut, mut value: u64) {
    let mut scratch = [0u8; MAX_VARINT_LEN];
    let mut len = 0;
    while value >= 0x80 {
        scratch[len] = (value & 0x7f) as u8 | 0x80;
        value >>= 7;
        len += 1;
    }
    scratch[len] = value as u8;
    buf.put_slice(&scratch[..=len]);
}

/// Returns the number of bytes [`put_varint`] writes for `value`.
pub(super) fn varint_len(value: u64) -> usize {
    // Zero still takes one byte, which `| 1` accounts for.
    let bits = 64 - (value | 1).leading_zeros() as usize;
    bits.div_ceil(7)
}

pub(super) fn put_bool(buf: &mut impl BufMut, value: bool) {
    buf.put_u8(u8::from(value));
}

pub(super) fn get_u8(buf: &mut impl Buf, field: &'static str) -> Result<u8, DecodeError> {
    if !buf.has_remaining() {
        return Err(DecodeError::Truncated { field, needed: 1, available: 0 });
    }
    Ok(buf.get_u8())
}

pub(super) fn get_bool(buf: &mut impl Buf, field: &'static str) -> Result<bool, DecodeError> {
    match get_u8(buf, field)? {
        0 => Ok(false),
        1 => Ok(true),
        value => Err(DecodeError::FieldOutOfRange { field, value: u64::from(value) }),
    }
}

/// Reads an unsigned LEB128 varint, accepting overlong forms up to ten bytes.
pub(super) fn get_varint(buf: &mut impl Buf, field: &'static str) -> Result<u64, DecodeError> {
    let mut value = 0u64;
    for position in 0..MAX_VARINT_LEN {
        if !buf.has_remaining() {
            return Err(DecodeError::Truncated {
                field,
                needed: position + 1,
                available: position,
            });
        }
        let byte = buf.get_u8();

        // The tenth byte holds only bit 63, so a larger byte there either sets bits past 64
        // or continues the varint past ten bytes.
        if position == MAX_VARINT_LEN - 1 && byte > 1 {
            return Err(DecodeError::VarintOverflow { field });
        }
        value |= u64::from(byte & 0x7f) << (7 * position);
        if byte & 0x80 == 0 {
            return Ok(value);
        }
    }
    // The check on the tenth byte returns before the loop can end here.
    Err(DecodeError::VarintOverflow { field })
}

/// Reads a count of items that each take at least `min_item_len` bytes, and returns
/// `Truncated` unless the rest of `buf` is long enough for that many.
///
/// A caller may then reserve room for `count` items, because the count is bounded by the
/// bytes actually present rather than by what the input claims.
pub(super) fn get_count(
    buf: &mut impl Buf,
    field: &'static str,
    min_item_len: usize,
) -> Result<usize, DecodeError> {
    debug_assert!(min_item_len > 0, "every item takes at least one byte");
    let claimed = get_varint(buf, field)?;
    let available = buf.remaining();
    match usize::try_from(claimed) {
        Ok(count) if count <= available / min_item_len => Ok(count),
        _ => {
            let count = usize::try_from(claimed).unwrap_or(usize::MAX);
            let needed = count.saturating_mul(min_item_len);
            Err(DecodeError::Truncated { field, needed, available })
        }
    }
}

/// Reads a length-prefixed byte string. On [`Bytes`] input the result shares the input's
/// memory instead of copying it.
pub(super) fn get_bytes(buf: &mut impl Buf, field: &'static str) -> Result<Bytes, DecodeError> {
    let len = get_count(buf, field, 1)?;
    Ok(buf.copy_to_bytes(len))
}

#[cfg(test)]
mod tests {
    use alloc::vec::Vec;

    use super::*;

    fn encode(value: u64) -> Vec<u8> {
        let mut buf = Vec::new();
        put_varint(&mut buf, value);
        buf
    }

    #[test]
    fn varint_round_trips_every_width() {
        let mut values = Vec::from([0, 1, u64::MAX]);
        for shift in 1..64 {
            values.push((1 << shift) - 1);
            values.push(1 << shift);
        }
        for value in values {
            let bytes = encode(value);
            assert_eq!(bytes.len(), varint_len(value), "length of {value}");
            assert_eq!(get_varint(&mut &bytes[..], "value"), Ok(value), "value {value}");
        }
    }

    #[test]
    fn varint_known_encodings() {
        assert_eq!(encode(0), [0x00]);
        assert_eq!(encode(127), [0x7f]);
        assert_eq!(encode(128), [0x80, 0x01]);
        assert_eq!(encode(300), [0xac, 0x02]);
        let max = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01];
        assert_eq!(encode(u64::MAX), max);
    }

    #[test]
    fn varint_accepts_overlong_form() {
        let mut input: &[u8] = &[0x81, 0x80, 0x00];
        assert_eq!(get_varint(&mut input, "value"), Ok(1));
        assert!(input.is_empty());
    }

    #[test]
    fn varint_rejects_bits_past_64() {
        let input = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02];
        let error = get_varint(&mut &input[..], "term");
        assert_eq!(error, Err(DecodeError::VarintOverflow { field: "term" }));
    }

    #[test]
    fn varint_rejects_eleventh_byte() {
        let input = [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x81, 0x00];
        let error = get_varint(&mut &input[..], "term");
        assert_eq!(error, Err(DecodeError::VarintOverflow { field: "term" }));
    }

    #[test]
    fn varint_truncated_reports_position() {
        let error = get_varint(&mut &[0x80, 0x80][..], "commit");
        let expected = DecodeError::Truncated { field: "commit", needed: 3, available: 2 };
        assert_eq!(error, Err(expected));
    }

    #[test]
    fn bool_rejects_other_bytes() {
        assert_eq!(get_bool(&mut &[0][..], "granted"), Ok(false));
        assert_eq!(get_bool(&mut &[1][..], "granted"), Ok(true));
        let error = get_bool(&mut &[2][..], "granted");
        assert_eq!(error, Err(DecodeError::FieldOutOfRange { field: "granted", value: 2 }));
    }

    #[test]
    fn count_above_input_is_truncated() {
        let mut input = encode(1_000);
        input.extend_from_slice(&[0; 10]);
        let error = get_count(&mut &input[..], "entries", 3);
        let expected = DecodeError::Truncated { field: "entries", needed: 3_000, available: 10 };
        assert_eq!(error, Err(expected));
    }

    #[test]
    fn count_max_saturates_needed() {
        let input = encode(u64::MAX);
        let error = get_count(&mut &input[..], "entries", 3);
        let expected =
            DecodeError::Truncated { field: "entries", needed: usize::MAX, available: 0 };
        assert_eq!(error, Err(expected));
    }

    #[test]
    fn count_that_fits_is_returned() {
        let mut input = encode(3);
        input.extend_from_slice(&[0; 9]);
        assert_eq!(get_count(&mut &input[..], "entries", 3), Ok(3));
    }

    #[test]
    fn bytes_share_input_memory() {
        let mut input = Vec::new();
        put_varint(&mut input, 4);
        input.extend_from_slice(b"abcd!");
        let mut input = Bytes::from(input);
        let start = input.as_ptr() as usize;

        let data = get_bytes(&mut input, "data payload").unwrap();
        assert_eq!(&data[..], b"abcd");
        assert_eq!(data.as_ptr() as usize, start + 1);
        assert_eq!(&input[..], b"!");
    }
}
