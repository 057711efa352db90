//! Identifiers, log entries and the durable hard state.

use alloc::sync::Arc;
use bytes::Bytes;

use crate::membership::Membership;

/// Identifier of a server. `0` is reserved and never names a server.
pub type NodeId = u64;

/// A Raft term. Term `0` precedes every election.
pub type Term = u64;

/// A position in the replicated log. The first entry has index `1`; index `0` is the empty
/// prefix that every log matches.
pub type Index = u64;

/// The largest term or index a node accepts in a message or a restored state.
///
/// A cluster cannot reach it (at a billion entries a second it takes over a century), so a
/// larger value comes only from a faulty peer or host. Rejecting it keeps every `+ 1` on
/// terms and indexes from overflowing.
pub const MAX_TERM_OR_INDEX: u64 = 1 << 62;

/// The position and term of one log entry.
///
/// Ordering compares the term first and the index second, which is Raft's "at least as up to
/// date" order for the last entries of two logs.
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LogId {
    /// Term of the leader that created the entry.
    pub term: Term,
    /// Position of the entry in the log.
    pub index: Index,
}

impl LogId {
    /// Creates a log id from its term and index.
    pub const fn new(term: Term, index: Index) -> Self {
        LogId { term, index }
    }
}

/// The content of a log entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Payload {
    /// A no-op that a new leader appends to commit the entries of earlier terms.
    Empty,
    /// Application data, opaque to the core.
    Data(Bytes),
    /// A new cluster configuration, in effect from the moment the entry is appended.
    Membership(Arc<Membership>),
}

/// One entry of the replicated log.
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Term of the leader that created the entry.
    pub term: Term,
    /// Position of the entry in the log.
    pub index: Index,
    /// The entry's content.
    pub payload: Payload,
}

impl Entry {
    /// Returns the entry's log id.
    pub fn id(&self) -> LogId {
        LogId::new(self.term, self.index)
    }

    /// Returns an estimate of the entry's size on the wire, used to cap append batches.
    pub fn size_hint(&self) -> usize {
        let payload = match &self.payload {
            Payload::Empty => 0,
            Payload::Data(data) => data.len(),
            Payload::Membership(membership) => 9 * membership.len(),
        };
        payload + 16
    }
}

/// The state that must survive a crash besides the log: the current term and the vote cast
/// in it.
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HardState {
    /// The latest term this server has seen.
    pub term: Term,
    /// The candidate this server voted for in `term`, if any.
    pub vote: Option<NodeId>,
}

/// What a snapshot covers: every entry up to `last`, and the configuration in force there.
/// The node never keeps snapshot data: the host stores it and moves it between servers.
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SnapshotMeta {
    /// The last entry the snapshot includes.
    pub last: LogId,
    /// The configuration in force at `last`.
    pub membership: Membership,
}
