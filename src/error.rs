//! Errors returned by [`Node`](crate::Node) calls.

use core::fmt;

use crate::config::ConfigError;
use crate::membership::{ChangeError, MembershipError};
use crate::types::{Index, NodeId, Term};

/// The reason the node rejected an input or could not be built. A rejected input changes nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The node's configuration is invalid.
    Config(ConfigError),
    /// A cluster configuration is invalid.
    Membership(MembershipError),
    /// The operation needs the leader. `leader` is the leader this node follows, if any.
    NotLeader {
        /// The current leader, when known; send the request there.
        leader: Option<NodeId>,
    },
    /// Only a voting member can campaign.
    NotMember,
    /// The message is addressed to another node.
    WrongRecipient {
        /// The message's `to` field.
        to: NodeId,
    },
    /// The message claims to come from this node itself.
    FromSelf,
    /// The message claims to come from node id `0`, which is reserved.
    ZeroSender,
    /// A term or index is above [`MAX_TERM_OR_INDEX`](crate::MAX_TERM_OR_INDEX), which only a
    /// faulty peer or host produces.
    ValueOutOfRange {
        /// The field that holds the value.
        field: &'static str,
        /// The value.
        value: u64,
    },
    /// A `Tick` carried a time earlier than one already seen.
    TimeWentBackwards {
        /// The time in the rejected tick.
        now_ms: u64,
        /// The latest time seen before.
        last_ms: u64,
    },
    /// A `Persisted` token was already acknowledged (duplicate or out of order).
    StaleToken {
        /// The rejected token.
        token: u64,
        /// The highest token acknowledged so far.
        acknowledged: u64,
    },
    /// A `Persisted` token was never issued.
    UnknownToken {
        /// The rejected token.
        token: u64,
        /// The highest token issued so far.
        issued: u64,
    },
    /// `Applied` named an index that was never handed out for applying, or one below an
    /// index already reported.
    AppliedOutOfRange {
        /// The rejected index.
        index: Index,
        /// The last index already reported as applied.
        applied: Index,
        /// The last index handed out for applying.
        handed_out: Index,
    },
    /// The restored state is inconsistent.
    InvalidRestore(RestoreError),
    /// A membership change cannot apply to the current configuration.
    InvalidChange(ChangeError),
    /// `SnapshotTaken` described a snapshot the node cannot use.
    InvalidSnapshot {
        /// The snapshot's last index.
        index: Index,
        /// The problem with it.
        reason: SnapshotProblem,
    },
    /// `SnapshotSent` named a server the node was not sending a snapshot to.
    SnapshotNotRequested {
        /// The server named.
        to: NodeId,
    },
    /// A configuration change is still uncommitted; one change at a time is allowed.
    ChangeInProgress {
        /// The index of the uncommitted configuration entry.
        index: Index,
    },
    /// The leader has not yet committed an entry of its own term, so it cannot change the
    /// configuration yet. It has appended a no-op if needed; retry shortly.
    LeaderNotReady,
}

/// The reason a snapshot described by `SnapshotTaken` cannot be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SnapshotProblem {
    /// The log is already compacted to this index or beyond.
    AlreadyCompacted,
    /// The latest snapshot already covers this index.
    NotNewer,
    /// The index was never handed out for applying.
    NotApplied,
    /// The term differs from the log's entry at that index.
    TermMismatch,
    /// The configuration differs from the one in force at that index.
    MembershipMismatch,
}

/// The inconsistency found in a state handed to [`Node::restore`](crate::Node::restore).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RestoreError {
    /// Entry indexes are not contiguous from the first entry.
    GapInLog {
        /// The index expected at this position.
        expected: Index,
        /// The index found.
        found: Index,
    },
    /// An entry's term is lower than the entry before it.
    TermDecreases {
        /// The index of the offending entry.
        index: Index,
    },
    /// An entry's term is above the hard state's term.
    EntryTermAboveHardState {
        /// The index of the offending entry.
        index: Index,
        /// Its term.
        term: Term,
    },
    /// The applied index is beyond the restored log.
    AppliedBeyondLog {
        /// The applied index given.
        applied: Index,
        /// The last index of the restored log.
        last_index: Index,
    },
    /// The applied index is below the snapshot's index.
    AppliedBelowSnapshot {
        /// The applied index given.
        applied: Index,
        /// The snapshot's last index.
        snapshot: Index,
    },
    /// The snapshot's term is above the hard state's term.
    SnapshotTermAboveHardState {
        /// The snapshot's term.
        term: Term,
    },
    /// The hard state records a vote for node id `0`, which is reserved.
    ZeroVote,
    /// The log does not start right after the snapshot.
    LogStartMismatch {
        /// The index the first entry should have.
        expected: Index,
        /// The index the first entry has.
        found: Index,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Config(error) => write!(f, "invalid config: {error}"),
            Error::Membership(error) => write!(f, "invalid membership: {error}"),
            Error::NotLeader { leader: Some(id) } => {
                write!(f, "this node is not the leader; send the request to node {id}")
            }
            Error::NotLeader { leader: None } => {
                write!(f, "this node is not the leader and knows of none; retry later")
            }
            Error::NotMember => write!(f, "only a voting member can campaign"),
            Error::WrongRecipient { to } => {
                write!(f, "message is addressed to node {to}; deliver it there")
            }
            Error::FromSelf => write!(f, "message claims to come from this node itself"),
            Error::ZeroSender => {
                write!(f, "message claims to come from node 0, which is reserved; drop it")
            }
            Error::ValueOutOfRange { field, value } => write!(
                f,
                "{field} {value} is above the largest accepted term or index, {}; \
                 the sender or the stored state is faulty",
                crate::MAX_TERM_OR_INDEX
            ),
            Error::TimeWentBackwards { now_ms, last_ms } => write!(
                f,
                "tick time {now_ms} ms is before the last time seen, {last_ms} ms; \
                 pass a monotonic clock"
            ),
            Error::StaleToken { token, acknowledged } => write!(
                f,
                "persist token {token} was already acknowledged (up to {acknowledged}); \
                 acknowledge each token once, in order"
            ),
            Error::UnknownToken { token, issued } => write!(
                f,
                "persist token {token} was never issued (last issued {issued}); \
                 acknowledge only tokens from Persist outputs"
            ),
            Error::AppliedOutOfRange { index, applied, handed_out } => write!(
                f,
                "applied index {index} is outside {applied}..={handed_out}; \
                 report only indexes handed out by Apply outputs, in order"
            ),
            Error::InvalidRestore(error) => write!(f, "invalid restored state: {error}"),
            Error::InvalidChange(error) => write!(f, "invalid membership change: {error}"),
            Error::InvalidSnapshot { index, reason } => {
                write!(f, "snapshot at index {index} cannot be used: {reason}")
            }
            Error::SnapshotNotRequested { to } => {
                write!(f, "no snapshot send to node {to} is pending; the report changes nothing")
            }
            Error::ChangeInProgress { index } => write!(
                f,
                "configuration entry {index} is not committed yet; retry after it commits"
            ),
            Error::LeaderNotReady => {
                write!(f, "the leader has not committed an entry of its term yet; retry shortly")
            }
        }
    }
}

impl fmt::Display for RestoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RestoreError::GapInLog { expected, found } => {
                write!(f, "log entry {found} found where {expected} was expected")
            }
            RestoreError::TermDecreases { index } => write!(
                f,
                "term of log entry {index} is below the term of the entry or snapshot before \
                 it, or differs from the snapshot's term at the snapshot's index"
            ),
            RestoreError::SnapshotTermAboveHardState { term } => {
                write!(f, "snapshot has term {term}, above the hard state's term")
            }
            RestoreError::ZeroVote => write!(f, "hard state records a vote for reserved node id 0"),
            RestoreError::EntryTermAboveHardState { index, term } => {
                write!(f, "log entry {index} has term {term}, above the hard state's term")
            }
            RestoreError::AppliedBeyondLog { applied, last_index } => {
                write!(f, "applied index {applied} is beyond the last log index {last_index}")
            }
            RestoreError::AppliedBelowSnapshot { applied, snapshot } => write!(
                f,
                "applied index {applied} is below the snapshot index {snapshot}; \
                 restore the state machine from the snapshot first"
            ),
            RestoreError::LogStartMismatch { expected, found } => {
                write!(f, "log starts at index {found}, expected {expected}")
            }
        }
    }
}

impl fmt::Display for SnapshotProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = match self {
            SnapshotProblem::AlreadyCompacted => "the log already starts after it",
            SnapshotProblem::NotNewer => "the latest snapshot already covers its index",
            SnapshotProblem::NotApplied => "its index was not handed out for applying yet",
            SnapshotProblem::TermMismatch => "its term differs from the log entry at its index",
            SnapshotProblem::MembershipMismatch => {
                "its configuration differs from the one in force at its index"
            }
        };
        f.write_str(text)
    }
}

impl From<ConfigError> for Error {
    fn from(error: ConfigError) -> Self {
        Error::Config(error)
    }
}

impl From<MembershipError> for Error {
    fn from(error: MembershipError) -> Self {
        Error::Membership(error)
    }
}

impl From<ChangeError> for Error {
    fn from(error: ChangeError) -> Self {
        Error::InvalidChange(error)
    }
}

impl From<RestoreError> for Error {
    fn from(error: RestoreError) -> Self {
        Error::InvalidRestore(error)
    }
}

#[cfg(feature = "std")]
impl std::error::Error for Error {}
