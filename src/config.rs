//! Tunable settings of one node.

use core::fmt;

use crate::types::NodeId;

/// Settings of one node. Times are in milliseconds of the host's monotonic clock.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// This server's id; never `0`.
    pub id: NodeId,
    /// Lower bound of the randomized election timeout (inclusive).
    pub election_timeout_min_ms: u64,
    /// Upper bound of the randomized election timeout (exclusive).
    pub election_timeout_max_ms: u64,
    /// Interval between a leader's heartbeats; must be below the minimum election timeout.
    pub heartbeat_interval_ms: u64,
    /// Upper bound on the payload bytes of one `AppendEntries`. A single larger entry is still
    /// sent alone.
    pub max_append_bytes: usize,
    /// Upper bound on the entries of one `AppendEntries`.
    pub max_append_entries: usize,
    /// Upper bound on unacknowledged `AppendEntries` per follower while pipelining.
    pub max_inflight_appends: usize,
    /// Seed of the election-timeout generator. Give each server its own seed.
    pub seed: u64,
    /// A pending learner counts as caught up while its match index is within this many
    /// entries of the leader's last index.
    pub promotion_max_lag_entries: u64,
    /// Whether a leader steps down when a majority of members has not responded within
    /// the minimum election timeout, so a leader cut off in a minority stops accepting
    /// proposals that cannot commit.
    pub check_quorum: bool,
    /// Whether a server whose election timeout fires first checks with the members whether
    /// it could win (pre-vote) and campaigns only if a majority says yes. A server that was
    /// cut off then returns without a higher term that would depose a working leader.
    pub pre_vote: bool,
    /// How many entries before a snapshot point stay in the log after compaction, so that
    /// a follower a little behind gets entries instead of a whole snapshot.
    pub snapshot_trailing_entries: u64,
    /// How long, in ms, a pending learner must stay caught up (and keep responding) before
    /// the leader promotes it.
    pub promotion_hold_ms: u64,
}

impl Config {
    /// Returns a configuration with defaults suited to a LAN: election timeout 150..300 ms,
    /// heartbeat 50 ms, appends of up to 1 MiB or 4096 entries, 256 appends in flight, quorum
    /// checks and pre-vote on, and
    /// promotion of a pending learner once it stays within 1000 entries for 1000 ms, and
    /// 1000 entries kept before a snapshot point.
    pub fn new(id: NodeId) -> Self {
        Config {
            id,
            election_timeout_min_ms: 150,
            election_timeout_max_ms: 300,
            heartbeat_interval_ms: 50,
            max_append_bytes: 1 << 20,
            max_append_entries: 4096,
            max_inflight_appends: 256,
            seed: id,
            check_quorum: true,
            pre_vote: true,
            snapshot_trailing_entries: 1000,
            promotion_max_lag_entries: 1000,
            promotion_hold_ms: 1000,
        }
    }

    /// Checks the settings, naming the first invalid one.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.id == 0 {
            return Err(ConfigError::ZeroId);
        }
        if self.election_timeout_min_ms == 0
            || self.election_timeout_max_ms <= self.election_timeout_min_ms
        {
            return Err(ConfigError::ElectionTimeoutRange {
                min_ms: self.election_timeout_min_ms,
                max_ms: self.election_timeout_max_ms,
            });
        }
        if self.heartbeat_interval_ms == 0
            || self.heartbeat_interval_ms >= self.election_timeout_min_ms
        {
            return Err(ConfigError::HeartbeatInterval {
                heartbeat_ms: self.heartbeat_interval_ms,
                election_min_ms: self.election_timeout_min_ms,
            });
        }
        if self.max_append_entries == 0 || self.max_inflight_appends == 0 {
            return Err(ConfigError::ZeroLimit);
        }
        Ok(())
    }
}

/// The reason a [`Config`] is invalid.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigError {
    /// `id` is `0`, which is reserved.
    ZeroId,
    /// The election timeout range is empty or starts at zero.
    ElectionTimeoutRange {
        /// The configured lower bound.
        min_ms: u64,
        /// The configured upper bound.
        max_ms: u64,
    },
    /// The heartbeat interval is zero or not below the minimum election timeout.
    HeartbeatInterval {
        /// The configured heartbeat interval.
        heartbeat_ms: u64,
        /// The configured minimum election timeout.
        election_min_ms: u64,
    },
    /// `max_append_entries` or `max_inflight_appends` is zero.
    ZeroLimit,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::ZeroId => write!(f, "config id is 0; node ids start at 1"),
            ConfigError::ElectionTimeoutRange { min_ms, max_ms } => write!(
                f,
                "election timeout range {min_ms}..{max_ms} ms is invalid; \
                 set 0 < election_timeout_min_ms < election_timeout_max_ms"
            ),
            ConfigError::HeartbeatInterval { heartbeat_ms, election_min_ms } => write!(
                f,
                "heartbeat interval {heartbeat_ms} ms must be above 0 and below the minimum \
                 election timeout {election_min_ms} ms"
            ),
            ConfigError::ZeroLimit => {
                write!(f, "max_append_entries and max_inflight_appends must be at least 1")
            }
        }
    }
}
