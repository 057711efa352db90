//! Message layouts: the kind byte, the header fields and each body.

use alloc::boxed::Box;
use alloc::vec::Vec;

use bytes::{Buf, BufMut};

use super::primitive::{get_bool, get_count, get_u8, get_varint, put_bool, put_varint, varint_len};
use super::record::{decode_payload, encode_payload, encoded_payload_len};
use super::record::{decode_snapshot_meta, encode_snapshot_meta, encoded_snapshot_meta_len};
use super::DecodeError;
use crate::message::{AppendOutcome, Body, Message};
use crate::types::{Entry, LogId};

const KIND_REQUEST_VOTE: u8 = 1;
const KIND_VOTE_RESPONSE: u8 = 2;
const KIND_APPEND_ENTRIES: u8 = 3;
const KIND_APPEND_RESPONSE: u8 = 4;
const KIND_INSTALL_SNAPSHOT: u8 = 5;
const KIND_PRE_VOTE: u8 = 6;
const KIND_PRE_VOTE_RESPONSE: u8 = 7;

const OUTCOME_ACCEPTED: u8 = 0;
const OUTCOME_REJECTED: u8 = 1;

/// The minimum size of an entry in an `AppendEntries` batch: one byte each for the term delta,
/// the index delta and the payload tag.
const MIN_BATCH_ENTRY_LEN: usize = 3;

/// Writes everything after the version byte.
pub(super) fn encode(message: &Message, buf: &mut impl BufMut) {
    buf.put_u8(kind(&message.body));
    put_varint(buf, message.from);
    put_varint(buf, message.to);
    put_varint(buf, message.term);

    match &message.body {
        Body::RequestVote { last_log } => put_log_id(buf, *last_log),
        Body::VoteResponse { granted, last_log_index } => {
            put_bool(buf, *granted);
            put_varint(buf, *last_log_index);
        }
        Body::AppendEntries { prev, entries, commit } => {
            put_log_id(buf, *prev);
            put_varint(buf, *commit);
            encode_batch(*prev, entries, buf);
        }
        Body::AppendResponse { outcome, last_log_index } => {
            encode_outcome(outcome, buf);
            put_varint(buf, *last_log_index);
        }
        Body::InstallSnapshot { meta } => encode_snapshot_meta(meta, buf),
        Body::PreVote { last_log } => put_log_id(buf, *last_log),
        Body::PreVoteResponse { granted } => put_bool(buf, *granted),
    }
}

/// Returns the size of what [`encode`] writes.
pub(super) fn encoded_len(message: &Message) -> usize {
    let header = 1 + varint_len(message.from) + varint_len(message.to) + varint_len(message.term);
    let body = match &message.body {
        Body::RequestVote { last_log } => log_id_len(*last_log),
        Body::VoteResponse { last_log_index, .. } => 1 + varint_len(*last_log_index),
        Body::AppendEntries { prev, entries, commit } => {
            log_id_len(*prev) + varint_len(*commit) + batch_len(*prev, entries)
        }
        Body::AppendResponse { outcome, last_log_index } => {
            outcome_len(outcome) + varint_len(*last_log_index)
        }
        Body::InstallSnapshot { meta } => encoded_snapshot_meta_len(meta),
        Body::PreVote { last_log } => log_id_len(*last_log),
        Body::PreVoteResponse { .. } => 1,
    };
    header + body
}

/// Reads everything after the version byte.
pub(super) fn decode<B: Buf>(buf: &mut B) -> Result<Message, DecodeError> {
    // The kind is checked before the header is read, so an unknown kind is reported as such
    // even when the rest of the input is short.
    let kind = get_u8(buf, "message kind")?;
    let decode_body: fn(&mut B) -> Result<Body, DecodeError> = match kind {
        KIND_REQUEST_VOTE => decode_request_vote,
        KIND_VOTE_RESPONSE => decode_vote_response,
        KIND_APPEND_ENTRIES => decode_append_entries,
        KIND_APPEND_RESPONSE => decode_append_response,
        KIND_INSTALL_SNAPSHOT => decode_install_snapshot,
        KIND_PRE_VOTE => decode_pre_vote,
        KIND_PRE_VOTE_RESPONSE => decode_pre_vote_response,
        _ => return Err(DecodeError::UnknownKind(kind)),
    };

    let from = get_varint(buf, "from")?;
    let to = get_varint(buf, "to")?;
    let term = get_varint(buf, "term")?;
    let body = decode_body(buf)?;
    Ok(Message { from, to, term, body })
}

fn kind(body: &Body) -> u8 {
    match body {
        Body::RequestVote { .. } => KIND_REQUEST_VOTE,
        Body::VoteResponse { .. } => KIND_VOTE_RESPONSE,
        Body::AppendEntries { .. } => KIND_APPEND_ENTRIES,
        Body::AppendResponse { .. } => KIND_APPEND_RESPONSE,
        Body::InstallSnapshot { .. } => KIND_INSTALL_SNAPSHOT,
        Body::PreVote { .. } => KIND_PRE_VOTE,
        Body::PreVoteResponse { .. } => KIND_PRE_VOTE_RESPONSE,
    }
}

fn decode_pre_vote<B: Buf>(buf: &mut B) -> Result<Body, DecodeError> {
    let term = get_varint(buf, "last_log.term")?;
    let index = get_varint(buf, "last_log.index")?;
    Ok(Body::PreVote { last_log: LogId::new(term, index) })
}

fn decode_pre_vote_response<B: Buf>(buf: &mut B) -> Result<Body, DecodeError> {
    Ok(Body::PreVoteResponse { granted: get_bool(buf, "granted")? })
}

fn decode_install_snapshot<B: Buf>(buf: &mut B) -> Result<Body, DecodeError> {
    Ok(Body::InstallSnapshot { meta: Box::new(decode_snapshot_meta(buf)?) })
}

fn put_log_id(buf: &mut impl BufMut, id: LogId) {
    put_varint(buf, id.term);
    put_varint(buf, id.index);
}

fn log_id_len(id: LogId) -> usize {
    varint_len(id.term) + varint_len(id.index)
}

fn decode_request_vote<B: Buf>(buf: &mut B) -> Result<Body, DecodeError> {
    let term = get_varint(buf, "last_log.term")?;
    let index = get_varint(buf, "last_log.index")?;
    Ok(Body::RequestVote { last_log: LogId::new(term, index) })
}

fn decode_vote_response<B: Buf>(buf: &mut B) -> Result<Body, DecodeError> {
    let granted = get_bool(buf, "granted")?;
    let last_log_index = get_varint(buf, "last_log_index")?;
    Ok(Body::VoteResponse { granted, last_log_index })
}

fn decode_append_entries<B: Buf>(buf: &mut B) -> Result<Body, DecodeError> {
    let term = get_varint(buf, "prev.term")?;
    let index = get_varint(buf, "prev.index")?;
    let prev = LogId::new(term, index);
    let commit = get_varint(buf, "commit")?;
    let entries = decode_batch(prev, buf)?;
    Ok(Body::AppendEntries { prev, entries, commit })
}

/// Writes the entry count and the entries, each entry's term and index as the difference
/// from what the entry before it (or `prev`) predicts. The differences wrap, so any batch
/// round-trips, and a contiguous batch in one term spends one byte on each.
fn encode_batch(prev: LogId, entries: &[Entry], buf: &mut impl BufMut) {
    put_varint(buf, entries.len() as u64);
    let mut before = prev;
    for entry in entries {
        put_varint(buf, entry.term.wrapping_sub(before.term));
        put_varint(buf, entry.index.wrapping_sub(before.index.wrapping_add(1)));
        encode_payload(&entry.payload, buf);
        before = entry.id();
    }
}

fn batch_len(prev: LogId, entries: &[Entry]) -> usize {
    let mut len = varint_len(entries.len() as u64);
    let mut before = prev;
    for entry in entries {
        len += varint_len(entry.term.wrapping_sub(before.term));
        len += varint_len(entry.index.wrapping_sub(before.index.wrapping_add(1)));
        len += encoded_payload_len(&entry.payload);
        before = entry.id();
    }
    len
}

fn decode_batch(prev: LogId, buf: &mut impl Buf) -> Result<Vec<Entry>, DecodeError> {
    let count = get_count(buf, "entries", MIN_BATCH_ENTRY_LEN)?;
    let mut entries = Vec::with_capacity(count);
    let mut before = prev;
    for _ in 0..count {
        let term = before.term.wrapping_add(get_varint(buf, "entry term")?);
        let index = before.index.wrapping_add(1).wrapping_add(get_varint(buf, "entry index")?);
        let payload = decode_payload(buf)?;
        entries.push(Entry { term, index, payload });
        before = LogId::new(term, index);
    }
    Ok(entries)
}

fn encode_outcome(outcome: &AppendOutcome, buf: &mut impl BufMut) {
    match outcome {
        AppendOutcome::Accepted { match_index } => {
            buf.put_u8(OUTCOME_ACCEPTED);
            put_varint(buf, *match_index);
        }
        AppendOutcome::Rejected { rejected_index, hint } => {
            buf.put_u8(OUTCOME_REJECTED);
            put_varint(buf, *rejected_index);
            put_log_id(buf, *hint);
        }
    }
}

fn outcome_len(outcome: &AppendOutcome) -> usize {
    match outcome {
        AppendOutcome::Accepted { match_index } => 1 + varint_len(*match_index),
        AppendOutcome::Rejected { rejected_index, hint } => {
            1 + varint_len(*rejected_index) + log_id_len(*hint)
        }
    }
}

fn decode_append_response<B: Buf>(buf: &mut B) -> Result<Body, DecodeError> {
    let outcome = match get_u8(buf, "outcome")? {
        OUTCOME_ACCEPTED => {
            let match_index = get_varint(buf, "match_index")?;
            AppendOutcome::Accepted { match_index }
        }
        OUTCOME_REJECTED => {
            let rejected_index = get_varint(buf, "rejected_index")?;
            let term = get_varint(buf, "hint.term")?;
            let index = get_varint(buf, "hint.index")?;
            AppendOutcome::Rejected { rejected_index, hint: LogId::new(term, index) }
        }
        tag => {
            return Err(DecodeError::FieldOutOfRange { field: "outcome", value: u64::from(tag) })
        }
    };
    let last_log_index = get_varint(buf, "last_log_index")?;
    Ok(Body::AppendResponse { outcome, last_log_index })
}

#[cfg(test)]
mod tests {
    use alloc::vec;

    use bytes::Bytes;

    use super::*;
    use crate::types::Payload;

    fn entry(term: u64, index: u64) -> Entry {
        Entry { term, index, payload: Payload::Empty }
    }

    fn append(prev: LogId, entries: Vec<Entry>) -> Message {
        Message { from: 1, to: 2, term: 5, body: Body::AppendEntries { prev, entries, commit: 0 } }
    }

    fn round_trip(message: &Message) -> Message {
        let mut buf = Vec::new();
        encode(message, &mut buf);
        assert_eq!(buf.len(), encoded_len(message));
        let mut input = &buf[..];
        let decoded = decode(&mut input).unwrap();
        assert!(input.is_empty());
        decoded
    }

    #[test]
    fn batch_contiguous_entries_take_three_bytes() {
        let entries = vec![entry(5, 11), entry(5, 12), entry(5, 13)];
        let batch = batch_len(LogId::new(5, 10), &entries);
        assert_eq!(batch, 1 + 3 * MIN_BATCH_ENTRY_LEN);
    }

    #[test]
    fn batch_with_gaps_round_trips() {
        let entries = vec![entry(9, 3), entry(2, 3), entry(u64::MAX, u64::MAX), entry(0, 0)];
        let message = append(LogId::new(4, 7), entries);
        assert_eq!(round_trip(&message), message);
    }

    #[test]
    fn batch_wraps_past_max_index() {
        let message = append(LogId::new(u64::MAX, u64::MAX), vec![entry(1, 0), entry(1, 1)]);
        assert_eq!(round_trip(&message), message);
    }

    #[test]
    fn batch_count_above_input_is_truncated() {
        let mut buf = Vec::new();
        put_varint(&mut buf, 1 << 40);
        buf.extend_from_slice(&[0; 8]);
        let error = decode_batch(LogId::default(), &mut Bytes::from(buf));
        let needed = (1usize << 40).saturating_mul(MIN_BATCH_ENTRY_LEN);
        let expected = DecodeError::Truncated { field: "entries", needed, available: 8 };
        assert_eq!(error, Err(expected));
    }

    #[test]
    fn unknown_kind_is_reported_first() {
        let error = decode(&mut &[9u8][..]);
        assert_eq!(error, Err(DecodeError::UnknownKind(9)));
    }

    #[test]
    fn outcome_tag_out_of_range() {
        let mut buf = vec![KIND_APPEND_RESPONSE, 1, 2, 3, 2];
        buf.push(0);
        let error = decode(&mut &buf[..]);
        let expected = DecodeError::FieldOutOfRange { field: "outcome", value: 2 };
        assert_eq!(error, Err(expected));
    }
}
