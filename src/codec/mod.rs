//! A compact, versioned binary encoding for messages and for the records a host persists.
//!
//! Hosts that move [`Message`]s between processes, or store log [`Entry`]s and the
//! [`HardState`] as opaque bytes, use this module to turn them into bytes and back. Decoding
//! returns a [`DecodeError`] for any malformed input and never panics. Whatever counts or
//! lengths the input claims, a decoder reserves memory only for as many items as the bytes
//! actually present can encode.
//!
//! # Reading and writing
//!
//! Each `encode_*` function appends one value to a [`BufMut`], and the matching
//! `encoded_*_len` function returns its exact size, so a host can reserve the space first.
//! Each `decode_*` function reads one value from the front of a [`Buf`] and advances the
//! buffer past it, so values written back to back can be read back one after another. Wrap a
//! call in [`decode_exact`] when the buffer must contain exactly one value.
//!
//! Decoding from [`Bytes`](bytes::Bytes) is zero-copy: data payloads come out as slices that
//! share the input's allocation. Decoding from other buffers copies each payload once.
//!
//! # Format
//!
//! NOTE: records carry a version byte but no kind byte, so a host must keep each kind of
//! record in its own place: some byte strings decode both as an entry and as a snapshot
//! description.
//!
//! Every top-level value starts with one version byte, [`WIRE_VERSION`]. Integers follow as
//! unsigned LEB128 varints: seven bits per byte, least significant group first, the high bit
//! set on every byte but the last, at most ten bytes for a `u64`. Encoders write the shortest
//! form, and decoders also accept longer forms of the same value. Lengths and counts are
//! varints too. A bool is one byte, `0` or `1`. Kind and tag bytes are single bytes.
//!
//! A message is:
//!
//! ```text
//! version  kind  from  to  term  body
//! ```
//!
//! | kind | body | body fields |
//! |------|------|-------------|
//! | 1 | `RequestVote` | `last_log.term`, `last_log.index` |
//! | 2 | `VoteResponse` | `granted` (bool), `last_log_index` |
//! | 3 | `AppendEntries` | `prev.term`, `prev.index`, `commit`, entry count, the entries |
//! | 4 | `AppendResponse` | outcome tag, outcome fields, `last_log_index` |
//! | 5 | `InstallSnapshot` | a snapshot description body |
//! | 6 | `PreVote` | `last_log.term`, `last_log.index` |
//! | 7 | `PreVoteResponse` | `granted` (bool) |
//!
//! Kind `0` is never used, so a zeroed buffer fails to decode. New message kinds take the next
//! free numbers and leave the version byte unchanged, so a reader that meets a kind it does
//! not know returns [`DecodeError::UnknownKind`]. The version changes only when the layout of
//! an existing kind changes.
//!
//! An `AppendResponse` outcome is tag `0` (`Accepted`) followed by `match_index`, or tag `1`
//! (`Rejected`) followed by `rejected_index`, `hint.term` and `hint.index`.
//!
//! Inside `AppendEntries`, each entry is a term delta, an index delta and a payload. The
//! term delta is the entry's term minus the term before it (`prev.term` for the first entry).
//! The index delta is the entry's index minus the index that would follow the one before it
//! (`prev.index + 1` for the first entry). Both differences wrap modulo 2^64, so any batch
//! round-trips exactly, and a contiguous batch within one term spends one byte on each.
//!
//! A payload is a tag byte: `0` for `Empty`, `1` for `Data` followed by a length and the
//! bytes, `2` for `Membership` followed by a membership body. Unknown tags return
//! [`DecodeError::UnknownPayload`].
//!
//! A membership body is the member count, each member id, the learner count, then each
//! learner's id and its `pending` bool. Decoding rebuilds it with [`Membership::new`], so ids
//! may come in any order, and a zero or repeated id returns
//! [`DecodeError::InvalidMembership`].
//!
//! The records a host persists each carry their own version byte:
//!
//! ```text
//! entry:       version  term  index  payload
//! hard state:  version  term  vote
//! membership:  version  membership body
//! ```
//!
//! The vote is the voted-for node id, or `0` for no vote. Id `0` is reserved and never names a
//! server, so `vote: Some(0)` encodes like `None` and decodes as `None`.

mod error;
mod message;
mod primitive;
mod record;

use bytes::{Buf, BufMut};

use crate::membership::Membership;
use crate::message::Message;
use crate::types::{Entry, HardState, SnapshotMeta};

pub use error::DecodeError;

/// The version byte that starts every encoded message and record.
pub const WIRE_VERSION: u8 = 1;

/// Appends `message` to `buf`, copying each data payload once.
///
/// # Panics
///
/// Panics if `buf` cannot grow and has less room than [`encoded_message_len`] returns, as
/// [`BufMut::put_slice`] does. `Vec<u8>` and `BytesMut` grow as needed.
pub fn encode_message(message: &Message, buf: &mut impl BufMut) {
    buf.put_u8(WIRE_VERSION);
    message::encode(message, buf);
}

/// Returns the exact number of bytes [`encode_message`] writes for `message`.
pub fn encoded_message_len(message: &Message) -> usize {
    1 + message::encoded_len(message)
}

/// Reads one message from the front of `buf` and advances `buf` past it.
///
/// Bytes after the message stay in `buf`. Data payloads share the input's memory when `buf`
/// is a [`Bytes`](bytes::Bytes).
pub fn decode_message(buf: &mut impl Buf) -> Result<Message, DecodeError> {
    decode_version(buf)?;
    message::decode(buf)
}

/// Appends `entry` to `buf` as a self-contained record with its own version byte.
///
/// # Panics
///
/// Panics if `buf` cannot grow and has less room than [`encoded_entry_len`] returns.
pub fn encode_entry(entry: &Entry, buf: &mut impl BufMut) {
    buf.put_u8(WIRE_VERSION);
    record::encode_entry(entry, buf);
}

/// Returns the exact number of bytes [`encode_entry`] writes for `entry`.
pub fn encoded_entry_len(entry: &Entry) -> usize {
    1 + record::encoded_entry_len(entry)
}

/// Reads one entry record from the front of `buf` and advances `buf` past it.
pub fn decode_entry(buf: &mut impl Buf) -> Result<Entry, DecodeError> {
    decode_version(buf)?;
    record::decode_entry(buf)
}

/// Appends `hard_state` to `buf` as a self-contained record with its own version byte.
///
/// # Panics
///
/// Panics if `buf` cannot grow and has less room than [`encoded_hard_state_len`] returns.
pub fn encode_hard_state(hard_state: &HardState, buf: &mut impl BufMut) {
    buf.put_u8(WIRE_VERSION);
    record::encode_hard_state(hard_state, buf);
}

/// Returns the exact number of bytes [`encode_hard_state`] writes for `hard_state`.
pub fn encoded_hard_state_len(hard_state: &HardState) -> usize {
    1 + record::encoded_hard_state_len(hard_state)
}

/// Reads one hard state record from the front of `buf` and advances `buf` past it. A stored
/// vote of `0` decodes as `None`.
pub fn decode_hard_state(buf: &mut impl Buf) -> Result<HardState, DecodeError> {
    decode_version(buf)?;
    record::decode_hard_state(buf)
}

/// Appends `membership` to `buf` as a self-contained record with its own version byte.
///
/// # Panics
///
/// Panics if `buf` cannot grow and has less room than [`encoded_membership_len`] returns.
pub fn encode_membership(membership: &Membership, buf: &mut impl BufMut) {
    buf.put_u8(WIRE_VERSION);
    record::encode_membership(membership, buf);
}

/// Returns the exact number of bytes [`encode_membership`] writes for `membership`.
pub fn encoded_membership_len(membership: &Membership) -> usize {
    1 + record::encoded_membership_len(membership)
}

/// Reads one membership record from the front of `buf` and advances `buf` past it.
pub fn decode_membership(buf: &mut impl Buf) -> Result<Membership, DecodeError> {
    decode_version(buf)?;
    record::decode_membership(buf)
}

/// Appends a snapshot description to `buf` as a self-contained record with its own version
/// byte. Its body is `last.term`, `last.index`, then a membership body.
///
/// # Panics
///
/// Panics if `buf` cannot grow and has less room than [`encoded_snapshot_meta_len`] returns.
pub fn encode_snapshot_meta(meta: &SnapshotMeta, buf: &mut impl BufMut) {
    buf.put_u8(WIRE_VERSION);
    record::encode_snapshot_meta(meta, buf);
}

/// Returns the exact number of bytes [`encode_snapshot_meta`] writes for `meta`.
pub fn encoded_snapshot_meta_len(meta: &SnapshotMeta) -> usize {
    1 + record::encoded_snapshot_meta_len(meta)
}

/// Reads one snapshot description record from the front of `buf` and advances `buf` past it.
pub fn decode_snapshot_meta(buf: &mut impl Buf) -> Result<SnapshotMeta, DecodeError> {
    decode_version(buf)?;
    record::decode_snapshot_meta(buf)
}

/// Runs `decode` on `buf` and returns [`DecodeError::TrailingBytes`] if any bytes remain after
/// the decoded value.
///
/// Use it when a buffer contains exactly one value, such as a received datagram or a stored
/// record: `decode_exact(bytes, decode_message)`.
pub fn decode_exact<B: Buf, T>(
    mut buf: B,
    decode: impl FnOnce(&mut B) -> Result<T, DecodeError>,
) -> Result<T, DecodeError> {
    let value = decode(&mut buf)?;
    match buf.remaining() {
        0 => Ok(value),
        count => Err(DecodeError::TrailingBytes { count }),
    }
}

fn decode_version(buf: &mut impl Buf) -> Result<(), DecodeError> {
    match primitive::get_u8(buf, "version")? {
        WIRE_VERSION => Ok(()),
        version => Err(DecodeError::UnknownVersion(version)),
    }
}
