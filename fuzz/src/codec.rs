//! Decoding arbitrary bytes: never a panic, and every decoded value round-trips.
//!
//! For each value that decodes, the checks are:
//! - decoding from `&[u8]` and from `Bytes` gives the same result and consumes the same bytes;
//! - `decode_exact` accepts the input exactly when the value fills it;
//! - the encoding has the length `encoded_*_len` returns and is no longer than the input,
//!   because encoders write the shortest form of every varint;
//! - the encoding decodes to the same value, and encoding that value again gives the same bytes.

use std::fmt::Debug;

use bytes::{Buf, Bytes};
use sansraft::codec::{self, DecodeError};
use sansraft::{Entry, HardState, Membership, Message, SnapshotMeta};

/// A value with a self-contained encoding: one version byte, then its body.
pub trait Encoded: Sized + PartialEq + Debug {
    /// Reads one value from the front of `buf`.
    fn decode(buf: &mut impl Buf) -> Result<Self, DecodeError>;
    /// Appends the value to `buf`.
    fn encode(&self, buf: &mut Vec<u8>);
    /// Returns the exact length `encode` writes.
    fn encoded_len(&self) -> usize;
}

impl Encoded for Message {
    fn decode(buf: &mut impl Buf) -> Result<Self, DecodeError> {
        codec::decode_message(buf)
    }
    fn encode(&self, buf: &mut Vec<u8>) {
        codec::encode_message(self, buf)
    }
    fn encoded_len(&self) -> usize {
        codec::encoded_message_len(self)
    }
}

impl Encoded for Entry {
    fn decode(buf: &mut impl Buf) -> Result<Self, DecodeError> {
        codec::decode_entry(buf)
    }
    fn encode(&self, buf: &mut Vec<u8>) {
        codec::encode_entry(self, buf)
    }
    fn encoded_len(&self) -> usize {
        codec::encoded_entry_len(self)
    }
}

impl Encoded for HardState {
    fn decode(buf: &mut impl Buf) -> Result<Self, DecodeError> {
        codec::decode_hard_state(buf)
    }
    fn encode(&self, buf: &mut Vec<u8>) {
        codec::encode_hard_state(self, buf)
    }
    fn encoded_len(&self) -> usize {
        codec::encoded_hard_state_len(self)
    }
}

impl Encoded for Membership {
    fn decode(buf: &mut impl Buf) -> Result<Self, DecodeError> {
        codec::decode_membership(buf)
    }
    fn encode(&self, buf: &mut Vec<u8>) {
        codec::encode_membership(self, buf)
    }
    fn encoded_len(&self) -> usize {
        codec::encoded_membership_len(self)
    }
}

impl Encoded for SnapshotMeta {
    fn decode(buf: &mut impl Buf) -> Result<Self, DecodeError> {
        codec::decode_snapshot_meta(buf)
    }
    fn encode(&self, buf: &mut Vec<u8>) {
        codec::encode_snapshot_meta(self, buf)
    }
    fn encoded_len(&self) -> usize {
        codec::encoded_snapshot_meta_len(self)
    }
}

/// Decodes `data` as a message and checks the round trip.
pub fn decode_message(data: &[u8]) {
    check::<Message>(data);
}

/// Decodes `data` as each kind of stored record and checks every round trip.
pub fn decode_record(data: &[u8]) {
    check::<Entry>(data);
    check::<HardState>(data);
    check::<Membership>(data);
    check::<SnapshotMeta>(data);
}

/// Decodes `data` as a `T` and, when that succeeds, checks the round trip.
pub fn check<T: Encoded>(data: &[u8]) {
    let mut slice = data;
    let from_slice = T::decode(&mut slice);
    let mut bytes = Bytes::copy_from_slice(data);
    let from_bytes = T::decode(&mut bytes);
    assert_eq!(from_slice, from_bytes, "decoding from &[u8] and from Bytes differ");
    assert_eq!(slice.len(), bytes.len(), "decoders consumed different lengths");

    let exact = codec::decode_exact(data, T::decode);
    let value = match from_bytes {
        Ok(value) => value,
        Err(error) => {
            assert_eq!(exact, Err(error), "decode_exact differs from decode");
            return;
        }
    };
    let consumed = data.len() - bytes.len();
    match exact {
        Ok(exact_value) => {
            assert_eq!(bytes.len(), 0, "decode_exact accepted trailing bytes");
            assert_eq!(exact_value, value);
        }
        Err(error) => {
            assert_eq!(error, DecodeError::TrailingBytes { count: bytes.len() });
        }
    }

    let mut encoded = Vec::new();
    value.encode(&mut encoded);
    assert_eq!(encoded.len(), value.encoded_len(), "encoded length differs from its estimate");
    assert!(
        encoded.len() <= consumed,
        "encoding of {value:?} takes {} bytes, more than the {consumed} it was decoded from",
        encoded.len()
    );

    let decoded = codec::decode_exact(&encoded[..], T::decode);
    assert_eq!(decoded.as_ref(), Ok(&value), "the encoding of {value:?} does not decode to it");
    let mut again = Vec::new();
    decoded.expect("checked above").encode(&mut again);
    assert_eq!(again, encoded, "encoding {value:?} twice gives different bytes");
}
