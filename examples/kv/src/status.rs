//! The JSON view of a node served by `GET /status`.

use serde::{Deserialize, Serialize};

use sansraft::{Index, NodeId, ReplicationState, Role, Term};

/// A node's state for monitoring: Raft progress, membership and the state machine's digest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusView {
    /// The node's id.
    pub id: NodeId,
    /// `leader`, `candidate` or `follower`.
    pub role: String,
    /// The current term.
    pub term: Term,
    /// The leader this node follows, if known.
    pub leader: Option<NodeId>,
    /// The leader's HTTP address, if known.
    pub leader_http_addr: Option<String>,
    /// The commit index.
    pub commit: Index,
    /// The last index applied to the key-value map.
    pub applied: Index,
    /// The last log index.
    pub last_log_index: Index,
    /// The last log index that is durable on this node.
    pub durable_index: Index,
    /// The configuration in force.
    pub membership: MembershipView,
    /// On the leader, the replication progress of every other server.
    pub peers: Vec<PeerView>,
    /// The number of keys in the map.
    pub keys: usize,
    /// The map's digest as 16 hex digits (see `KvState::digest`).
    pub digest: String,
    /// The latest snapshot, if any.
    pub snapshot: Option<SnapshotView>,
    /// Snapshots this process wrote from its own state.
    pub snapshots_taken: u64,
    /// Snapshots this process installed from a leader.
    pub snapshots_installed: u64,
    /// Snapshots this process sent to followers that the receiver stored.
    pub snapshots_sent: u64,
}

/// Members and learners.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MembershipView {
    /// The voting members.
    pub members: Vec<NodeId>,
    /// The learners.
    pub learners: Vec<LearnerView>,
}

/// One learner.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LearnerView {
    /// The learner's id.
    pub id: NodeId,
    /// Whether the leader promotes it once it has caught up.
    pub pending: bool,
}

/// The leader's view of one peer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerView {
    /// The peer's id.
    pub id: NodeId,
    /// The highest index known to be replicated on the peer.
    pub match_index: Index,
    /// The next index to send.
    pub next_index: Index,
    /// `probe`, `replicate` or `snapshot`.
    pub state: String,
    /// Entries the peer is behind the leader's last index.
    pub lag: Index,
    /// For a pending learner, how long in ms it has been caught up.
    pub caught_up_ms: Option<u64>,
}

/// The extent of the latest snapshot.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotView {
    /// Its last index.
    pub index: Index,
    /// The term of that entry.
    pub term: Term,
}

/// Returns the lowercase name of a role.
pub fn role_name(role: Role) -> &'static str {
    match role {
        Role::Leader => "leader",
        Role::Candidate => "candidate",
        Role::Follower => "follower",
    }
}

/// Returns the lowercase name of a replication state.
pub fn replication_state_name(state: ReplicationState) -> &'static str {
    match state {
        ReplicationState::Probe => "probe",
        ReplicationState::Replicate => "replicate",
        ReplicationState::Snapshot => "snapshot",
    }
}

/// Formats a digest as 16 hex digits.
pub fn format_digest(digest: u64) -> String {
    format!("{digest:016x}")
}
