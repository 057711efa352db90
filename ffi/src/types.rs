//! Plain C types shared by the inputs, the outputs and the queries.

use sansraft::{Config, Learner, LogId, ProposalOutcome, ReplicationState, Role};

/// Settings of one node. Times are in milliseconds of the host's monotonic clock.
///
/// Fill it with `sansraft_config_default` and change the fields you need, so that fields
/// added by later versions start from their defaults.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct sansraft_config {
    /// This server's id; never 0.
    pub id: u64,
    /// Lower bound of the randomized election timeout (inclusive).
    pub election_timeout_min_ms: u64,
    /// Upper bound of the randomized election timeout (exclusive).
    pub election_timeout_max_ms: u64,
    /// Interval between a leader's heartbeats; must be below the minimum election timeout.
    pub heartbeat_interval_ms: u64,
    /// Upper bound on the payload bytes of one append message. A single larger entry is
    /// still sent alone.
    pub max_append_bytes: usize,
    /// Upper bound on the entries of one append message.
    pub max_append_entries: usize,
    /// Upper bound on unacknowledged append messages per follower while pipelining.
    pub max_inflight_appends: usize,
    /// Seed of the election timeout generator. Give each server its own seed.
    pub seed: u64,
    /// A pending learner counts as caught up while its match index is within this many
    /// entries of the leader's last index.
    pub promotion_max_lag_entries: u64,
    /// Whether a leader steps down when a majority of members has not responded within the
    /// minimum election timeout, so a leader cut off in a minority stops accepting proposals
    /// that cannot commit.
    pub check_quorum: bool,
    /// Whether a server whose election timeout fires first checks with the members that it
    /// could win (pre-vote) and campaigns only on a majority of grants. A server that was cut
    /// off then returns without a higher term that would depose a working leader.
    pub pre_vote: bool,
    /// How long a pending learner must stay caught up (and keep responding) before the
    /// leader promotes it.
    pub promotion_hold_ms: u64,
    /// How many entries before a snapshot point stay in the log after compaction, so that a
    /// follower a little behind gets entries instead of a whole snapshot.
    pub snapshot_trailing_entries: u64,
}

impl From<&Config> for sansraft_config {
    fn from(config: &Config) -> sansraft_config {
        sansraft_config {
            id: config.id,
            election_timeout_min_ms: config.election_timeout_min_ms,
            election_timeout_max_ms: config.election_timeout_max_ms,
            heartbeat_interval_ms: config.heartbeat_interval_ms,
            max_append_bytes: config.max_append_bytes,
            max_append_entries: config.max_append_entries,
            max_inflight_appends: config.max_inflight_appends,
            seed: config.seed,
            promotion_max_lag_entries: config.promotion_max_lag_entries,
            check_quorum: config.check_quorum,
            pre_vote: config.pre_vote,
            promotion_hold_ms: config.promotion_hold_ms,
            snapshot_trailing_entries: config.snapshot_trailing_entries,
        }
    }
}

// Both conversions name every field, so a setting added to the core fails to compile here
// until the C struct carries it too.
impl From<&sansraft_config> for Config {
    fn from(config: &sansraft_config) -> Config {
        Config {
            id: config.id,
            election_timeout_min_ms: config.election_timeout_min_ms,
            election_timeout_max_ms: config.election_timeout_max_ms,
            heartbeat_interval_ms: config.heartbeat_interval_ms,
            max_append_bytes: config.max_append_bytes,
            max_append_entries: config.max_append_entries,
            max_inflight_appends: config.max_inflight_appends,
            seed: config.seed,
            promotion_max_lag_entries: config.promotion_max_lag_entries,
            check_quorum: config.check_quorum,
            pre_vote: config.pre_vote,
            promotion_hold_ms: config.promotion_hold_ms,
            snapshot_trailing_entries: config.snapshot_trailing_entries,
        }
    }
}

/// The position and term of one log entry. The zero value is the empty log prefix.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct sansraft_log_id {
    /// Term of the leader that created the entry.
    pub term: u64,
    /// Position of the entry in the log; the first entry has index 1.
    pub index: u64,
}

impl From<LogId> for sansraft_log_id {
    fn from(id: LogId) -> sansraft_log_id {
        sansraft_log_id { term: id.term, index: id.index }
    }
}

/// A server that replicates the log but does not vote.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct sansraft_learner {
    /// The learner's id; never 0.
    pub id: u64,
    /// Whether the learner is waiting to become a member. The leader promotes a pending learner
    /// once it has caught up, and never promotes one that is not pending.
    pub pending: bool,
}

impl From<&Learner> for sansraft_learner {
    fn from(learner: &Learner) -> sansraft_learner {
        sansraft_learner { id: learner.id, pending: learner.pending }
    }
}

impl From<&sansraft_learner> for Learner {
    fn from(learner: &sansraft_learner) -> Learner {
        Learner { id: learner.id, pending: learner.pending }
    }
}

/// A byte buffer the caller owns: `len` bytes at `data`. `data` may be NULL when `len` is 0.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct sansraft_bytes {
    /// The first byte.
    pub data: *const u8,
    /// The number of bytes.
    pub len: usize,
}

/// A server's Raft role.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum sansraft_role {
    /// Follows a leader, or waits for one.
    SANSRAFT_ROLE_FOLLOWER = 0,
    /// Asks for votes to become leader.
    SANSRAFT_ROLE_CANDIDATE = 1,
    /// Accepts proposals and replicates the log.
    SANSRAFT_ROLE_LEADER = 2,
}

impl From<Role> for sansraft_role {
    fn from(role: Role) -> sansraft_role {
        match role {
            Role::Follower => sansraft_role::SANSRAFT_ROLE_FOLLOWER,
            Role::Candidate => sansraft_role::SANSRAFT_ROLE_CANDIDATE,
            Role::Leader => sansraft_role::SANSRAFT_ROLE_LEADER,
        }
    }
}

/// The way a proposal ended.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum sansraft_proposal_outcome {
    /// The entry committed and was handed out for applying (its apply output came first).
    SANSRAFT_PROPOSAL_COMMITTED = 0,
    /// Another entry committed at the proposal's index, so the proposal never will.
    SANSRAFT_PROPOSAL_OVERWRITTEN = 1,
    /// The node installed a leader's snapshot covering the proposal's index before it
    /// learned which entry committed there. Look in the state machine.
    SANSRAFT_PROPOSAL_UNKNOWN = 2,
}

impl From<ProposalOutcome> for sansraft_proposal_outcome {
    fn from(outcome: ProposalOutcome) -> sansraft_proposal_outcome {
        match outcome {
            ProposalOutcome::Committed => sansraft_proposal_outcome::SANSRAFT_PROPOSAL_COMMITTED,
            ProposalOutcome::Overwritten => {
                sansraft_proposal_outcome::SANSRAFT_PROPOSAL_OVERWRITTEN
            }
            ProposalOutcome::Unknown => sansraft_proposal_outcome::SANSRAFT_PROPOSAL_UNKNOWN,
        }
    }
}

/// The mode in which a leader replicates to one peer.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum sansraft_replication_state {
    /// The matching point is unknown: one append at a time, waiting for each response.
    SANSRAFT_REPLICATION_PROBE = 0,
    /// The peer is in step: appends are pipelined up to the in-flight limit.
    SANSRAFT_REPLICATION_REPLICATE = 1,
    /// The peer needs entries the log no longer contains; a snapshot is being sent to it.
    SANSRAFT_REPLICATION_SNAPSHOT = 2,
}

impl From<ReplicationState> for sansraft_replication_state {
    fn from(state: ReplicationState) -> sansraft_replication_state {
        match state {
            ReplicationState::Probe => sansraft_replication_state::SANSRAFT_REPLICATION_PROBE,
            ReplicationState::Replicate => {
                sansraft_replication_state::SANSRAFT_REPLICATION_REPLICATE
            }
            ReplicationState::Snapshot => sansraft_replication_state::SANSRAFT_REPLICATION_SNAPSHOT,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_round_trips_through_the_c_struct() {
        let mut config = Config::new(3);
        config.check_quorum = false;
        config.pre_vote = false;
        config.max_append_bytes = 12_345;
        config.snapshot_trailing_entries = 7;
        let round_trip = Config::from(&sansraft_config::from(&config));
        assert_eq!(round_trip, config);
    }
}
