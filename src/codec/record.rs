//! Layouts of entries, payloads, memberships and the hard state.

use alloc::sync::Arc;
use alloc::vec::Vec;

use bytes::{Buf, BufMut};

use super::primitive::varint_len;
use super::primitive::{get_bool, get_bytes, get_count, get_u8, get_varint, put_bool, put_varint};
use super::DecodeError;
use crate::membership::{Learner, Membership};
use crate::types::{Entry, HardState, LogId, Payload, SnapshotMeta};

const PAYLOAD_EMPTY: u8 = 0;
const PAYLOAD_DATA: u8 = 1;
const PAYLOAD_MEMBERSHIP: u8 = 2;

/// The minimum size of a member: a one-byte id.
const MIN_MEMBER_LEN: usize = 1;

/// The minimum size of a learner: a one-byte id and its `pending` flag.
const MIN_LEARNER_LEN: usize = 2;

/// The stored value of `HardState::vote` when the node has not voted.
const NO_VOTE: u64 = 0;

pub(super) fn encode_entry(entry: &Entry, buf: &mut impl BufMut) {
    put_varint(buf, entry.term);
    put_varint(buf, entry.index);
    encode_payload(&entry.payload, buf);
}

pub(super) fn encoded_entry_len(entry: &Entry) -> usize {
    varint_len(entry.term) + varint_len(entry.index) + encoded_payload_len(&entry.payload)
}

pub(super) fn decode_entry(buf: &mut impl Buf) -> Result<Entry, DecodeError> {
    let term = get_varint(buf, "entry term")?;
    let index = get_varint(buf, "entry index")?;
    let payload = decode_payload(buf)?;
    Ok(Entry { term, index, payload })
}

/// Writes the payload tag and the payload, copying data bytes once.
pub(super) fn encode_payload(payload: &Payload, buf: &mut impl BufMut) {
    match payload {
        Payload::Empty => buf.put_u8(PAYLOAD_EMPTY),
        Payload::Data(data) => {
            buf.put_u8(PAYLOAD_DATA);
            put_varint(buf, data.len() as u64);
            buf.put_slice(data);
        }
        Payload::Membership(membership) => {
            buf.put_u8(PAYLOAD_MEMBERSHIP);
            encode_membership(membership, buf);
        }
    }
}

pub(super) fn encoded_payload_len(payload: &Payload) -> usize {
    let content = match payload {
        Payload::Empty => 0,
        Payload::Data(data) => varint_len(data.len() as u64) + data.len(),
        Payload::Membership(membership) => encoded_membership_len(membership),
    };
    1 + content
}

pub(super) fn decode_payload(buf: &mut impl Buf) -> Result<Payload, DecodeError> {
    match get_u8(buf, "payload kind")? {
        PAYLOAD_EMPTY => Ok(Payload::Empty),
        PAYLOAD_DATA => Ok(Payload::Data(get_bytes(buf, "data payload")?)),
        PAYLOAD_MEMBERSHIP => Ok(Payload::Membership(Arc::new(decode_membership(buf)?))),
        tag => Err(DecodeError::UnknownPayload(tag)),
    }
}

pub(super) fn encode_membership(membership: &Membership, buf: &mut impl BufMut) {
    put_varint(buf, membership.members().len() as u64);
    for id in membership.members() {
        put_varint(buf, *id);
    }
    put_varint(buf, membership.learners().len() as u64);
    for learner in membership.learners() {
        put_varint(buf, learner.id);
        put_bool(buf, learner.pending);
    }
}

pub(super) fn encoded_membership_len(membership: &Membership) -> usize {
    let members = membership.members();
    let learners = membership.learners();
    let member_ids: usize = members.iter().map(|id| varint_len(*id)).sum();
    let learner_ids: usize = learners.iter().map(|learner| varint_len(learner.id)).sum();
    let counts = varint_len(members.len() as u64) + varint_len(learners.len() as u64);
    counts + member_ids + learner_ids + learners.len()
}

pub(super) fn encode_snapshot_meta(meta: &SnapshotMeta, buf: &mut impl BufMut) {
    put_varint(buf, meta.last.term);
    put_varint(buf, meta.last.index);
    encode_membership(&meta.membership, buf);
}

pub(super) fn encoded_snapshot_meta_len(meta: &SnapshotMeta) -> usize {
    varint_len(meta.last.term)
        + varint_len(meta.last.index)
        + encoded_membership_len(&meta.membership)
}

pub(super) fn decode_snapshot_meta(buf: &mut impl Buf) -> Result<SnapshotMeta, DecodeError> {
    let term = get_varint(buf, "snapshot.last.term")?;
    let index = get_varint(buf, "snapshot.last.index")?;
    let membership = decode_membership(buf)?;
    Ok(SnapshotMeta { last: LogId::new(term, index), membership })
}

/// Reads a membership body and validates it with [`Membership::new`], which also sorts it.
pub(super) fn decode_membership(buf: &mut impl Buf) -> Result<Membership, DecodeError> {
    let count = get_count(buf, "members", MIN_MEMBER_LEN)?;
    let mut members = Vec::with_capacity(count);
    for _ in 0..count {
        members.push(get_varint(buf, "member id")?);
    }

    let count = get_count(buf, "learners", MIN_LEARNER_LEN)?;
    let mut learners = Vec::with_capacity(count);
    for _ in 0..count {
        let id = get_varint(buf, "learner id")?;
        let pending = get_bool(buf, "learner pending")?;
        learners.push(Learner { id, pending });
    }

    Ok(Membership::new(members, learners)?)
}

pub(super) fn encode_hard_state(hard_state: &HardState, buf: &mut impl BufMut) {
    put_varint(buf, hard_state.term);
    put_varint(buf, hard_state.vote.unwrap_or(NO_VOTE));
}

pub(super) fn encoded_hard_state_len(hard_state: &HardState) -> usize {
    varint_len(hard_state.term) + varint_len(hard_state.vote.unwrap_or(NO_VOTE))
}

pub(super) fn decode_hard_state(buf: &mut impl Buf) -> Result<HardState, DecodeError> {
    let term = get_varint(buf, "term")?;
    let vote = get_varint(buf, "vote")?;
    let vote = Some(vote).filter(|id| *id != NO_VOTE);
    Ok(HardState { term, vote })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::membership::MembershipError;

    #[test]
    fn hard_state_stores_no_vote_as_zero() {
        let mut buf = Vec::new();
        encode_hard_state(&HardState { term: 3, vote: None }, &mut buf);
        assert_eq!(buf, [3, 0]);
    }

    #[test]
    fn hard_state_vote_zero_decodes_as_none() {
        let decoded = decode_hard_state(&mut &[7u8, 0][..]).unwrap();
        assert_eq!(decoded, HardState { term: 7, vote: None });
    }

    #[test]
    fn membership_sorts_ids_on_decode() {
        let input = [2, 9, 4, 1, 7, 1];
        let membership = decode_membership(&mut &input[..]).unwrap();
        assert_eq!(membership.members(), [4, 9]);
        assert_eq!(membership.learners(), [Learner { id: 7, pending: true }]);
    }

    #[test]
    fn membership_duplicate_id_is_invalid() {
        let input = [1, 4, 1, 4, 0];
        let error = decode_membership(&mut &input[..]);
        let expected = DecodeError::InvalidMembership(MembershipError::DuplicateId(4));
        assert_eq!(error, Err(expected));
    }

    #[test]
    fn membership_zero_id_is_invalid() {
        let input = [1, 0, 0];
        let error = decode_membership(&mut &input[..]);
        assert_eq!(error, Err(DecodeError::InvalidMembership(MembershipError::ZeroId)));
    }

    #[test]
    fn membership_learner_count_above_input() {
        let input = [0, 3, 5, 0, 6];
        let error = decode_membership(&mut &input[..]);
        let expected = DecodeError::Truncated { field: "learners", needed: 6, available: 3 };
        assert_eq!(error, Err(expected));
    }

    #[test]
    fn payload_unknown_tag() {
        let error = decode_payload(&mut &[3u8][..]);
        assert_eq!(error, Err(DecodeError::UnknownPayload(3)));
    }

    #[test]
    fn payload_data_length_above_input() {
        let input = [PAYLOAD_DATA, 0xff, 0xff, 0x03, 1, 2];
        let error = decode_payload(&mut &input[..]);
        let needed = 0xffff;
        let expected = DecodeError::Truncated { field: "data payload", needed, available: 2 };
        assert_eq!(error, Err(expected));
    }
}
