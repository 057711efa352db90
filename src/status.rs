//! A read-only view of a node for monitoring and tests.

use alloc::vec::Vec;

use crate::membership::Membership;
use crate::output::Role;
use crate::progress::ReplicationState;
use crate::types::{Index, LogId, NodeId, Term};

/// The state of a node at one moment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Status {
    /// The node's id.
    pub id: NodeId,
    /// Its role.
    pub role: Role,
    /// Its current term.
    pub term: Term,
    /// Its vote in the current term.
    pub vote: Option<NodeId>,
    /// The leader it follows, if known.
    pub leader: Option<NodeId>,
    /// The commit index.
    pub commit: Index,
    /// The last index the host reported as applied.
    pub applied: Index,
    /// The last log entry.
    pub last_log: LogId,
    /// The number of entries the in-memory log holds (those after the snapshot point,
    /// plus the trailing entries kept before it).
    pub log_entries: usize,
    /// The last log index known to be durable.
    pub durable_index: Index,
    /// The configuration in force.
    pub membership: Membership,
    /// On a leader, the replication progress of every other server; empty otherwise.
    pub peers: Vec<PeerStatus>,
}

/// A leader's view of one peer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PeerStatus {
    /// The peer's id.
    pub id: NodeId,
    /// The highest index known to be replicated on the peer.
    pub match_index: Index,
    /// The next index to send to the peer.
    pub next_index: Index,
    /// Whether the leader is probing or pipelining.
    pub state: ReplicationState,
    /// How many entries the peer is behind the leader's last index.
    pub lag: Index,
    /// For a pending learner, how long in ms it has been caught up; `None` when it is not.
    pub caught_up_ms: Option<u64>,
}
