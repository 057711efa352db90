//! Outputs: the actions a node emits for its host to carry out.

use alloc::boxed::Box;
use alloc::sync::Arc;
use alloc::vec::Vec;

use crate::membership::Membership;

use crate::message::Message;
use crate::types::{Entry, HardState, Index, LogId, NodeId, SnapshotMeta, Term};

/// One action for the host. Drain them with [`Node::poll_output`](crate::Node::poll_output)
/// until it returns `None`, and carry them out in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Output {
    /// Send a message to `message.to`. Delivery may fail; the protocol retries.
    Send(Message),
    /// Send `message` (an `InstallSnapshot`) together with the data of the latest snapshot,
    /// then report `Input::SnapshotSent` with whether the receiver's host stored it.
    SendSnapshot(Message),
    /// Make this state durable, then report `Input::Persisted(token)`.
    Persist(PersistRequest),
    /// Replace the state machine with the snapshot described here, which the host has
    /// stored. Entries after it come through `Apply`.
    RestoreSnapshot(SnapshotMeta),
    /// Apply a committed entry to the state machine. Entries come in index order, each once.
    /// Empty and membership entries are included so the applied index stays contiguous.
    Apply(Entry),
    /// A proposal made on this node ended.
    Proposal {
        /// The log id the proposal was given when it was accepted.
        id: LogId,
        /// The way it ended.
        outcome: ProposalOutcome,
    },
    /// This node's role or term changed.
    RoleChanged {
        /// The new role.
        role: Role,
        /// The current term.
        term: Term,
    },
    /// The configuration in force changed: an entry carrying it was appended, or a
    /// truncation rolled back to an earlier one. Committed configurations also come through
    /// `Apply`.
    MembershipChanged {
        /// The configuration now in force.
        membership: Arc<Membership>,
    },
    /// The leader this node follows changed; `None` while no leader is known.
    LeaderChanged {
        /// The new leader.
        leader: Option<NodeId>,
        /// The current term.
        term: Term,
    },
}

/// State to make durable before acknowledging `token`.
///
/// Apply requests in token order. Within a request, first store `hard_state` if present, then
/// record `snapshot` as the latest snapshot if present (its data is already stored). Next
/// remove log entries at `compact_through` and below, then entries at `truncate_from` and
/// above, and finally append `entries`. Several requests may share one fsync; acknowledging a token
/// acknowledges every earlier one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PersistRequest {
    /// Identifies this request in `Input::Persisted`. Tokens increase by one per request.
    pub token: u64,
    /// The new term and vote, when they changed.
    pub hard_state: Option<HardState>,
    /// The new latest snapshot, when one was taken or installed. Boxed to keep every
    /// `Output` small, since `Apply` outputs come once per entry.
    pub snapshot: Option<Box<SnapshotMeta>>,
    /// Entries at this index and below may be deleted: a snapshot covers them.
    pub compact_through: Option<Index>,
    /// Remove durable entries from this index on, before appending.
    pub truncate_from: Option<Index>,
    /// Entries to append, contiguous with the log that remains after truncation.
    pub entries: Vec<Entry>,
}

/// The way a proposal ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProposalOutcome {
    /// The entry committed and was handed out for applying (the `Apply` output came first).
    Committed,
    /// Another entry committed at the proposal's index, so the proposal will never commit.
    Overwritten,
    /// The node installed a leader's snapshot covering the proposal's index before it
    /// learned which entry committed there. The host must look in its state machine.
    Unknown,
}

/// A server's Raft role.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// Follows a leader, or waits for one.
    Follower,
    /// Asks for votes to become leader.
    Candidate,
    /// Accepts proposals and replicates the log.
    Leader,
}
