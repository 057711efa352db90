//! `Arbitrary` implementations for the types that cannot derive it (feature `arbitrary`).
//!
//! Fuzz targets build inputs, messages and records from raw fuzzer bytes with these. Types
//! made only of integers and enums derive `Arbitrary` where they are defined. The types here
//! contain `Bytes`, which has no `Arbitrary` implementation, or they validate their ids, as
//! `Membership` does.

use alloc::sync::Arc;
use alloc::vec::Vec;

use arbitrary::{Arbitrary, Result, Unstructured};
use bytes::Bytes;

use crate::membership::{Learner, Membership, MembershipChange};
use crate::message::Message;
use crate::node::Input;
use crate::types::{Index, NodeId, Payload, SnapshotMeta};

/// Builds a valid configuration from arbitrary ids: id `0` and repeated ids are dropped,
/// with a member winning over a learner of the same id, so every input yields a value.
impl<'a> Arbitrary<'a> for Membership {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        let mut members: Vec<NodeId> = Vec::arbitrary(u)?;
        members.retain(|id| *id != 0);
        members.sort_unstable();
        members.dedup();

        let mut learners: Vec<Learner> = Vec::arbitrary(u)?;
        learners.retain(|learner| learner.id != 0 && members.binary_search(&learner.id).is_err());
        learners.sort_unstable_by_key(|learner| learner.id);
        learners.dedup_by_key(|learner| learner.id);

        let membership = Membership::new(members, learners)
            .expect("ids are non-zero and unique after filtering");
        Ok(membership)
    }
}

impl<'a> Arbitrary<'a> for Payload {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        let payload = match u.int_in_range(0u8..=2)? {
            0 => Payload::Empty,
            1 => Payload::Data(arbitrary_bytes(u)?),
            _ => Payload::Membership(Arc::new(Membership::arbitrary(u)?)),
        };
        Ok(payload)
    }
}

/// Chooses each of the nine input kinds with equal weight.
impl<'a> Arbitrary<'a> for Input {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        let input = match u.int_in_range(0u8..=8)? {
            0 => Input::Tick { now_ms: u64::arbitrary(u)? },
            1 => Input::Receive(Message::arbitrary(u)?),
            2 => Input::Propose(arbitrary_bytes(u)?),
            3 => Input::Persisted { token: u64::arbitrary(u)? },
            4 => Input::Applied { index: Index::arbitrary(u)? },
            5 => Input::Campaign,
            6 => Input::ChangeMembership(MembershipChange::arbitrary(u)?),
            7 => Input::SnapshotTaken(SnapshotMeta::arbitrary(u)?),
            _ => Input::SnapshotSent { to: NodeId::arbitrary(u)?, success: bool::arbitrary(u)? },
        };
        Ok(input)
    }
}

fn arbitrary_bytes(u: &mut Unstructured<'_>) -> Result<Bytes> {
    let data: &[u8] = Arbitrary::arbitrary(u)?;
    Ok(Bytes::copy_from_slice(data))
}
