//! Messages exchanged between servers.

use alloc::boxed::Box;
use alloc::vec::Vec;

use crate::types::{Entry, Index, LogId, NodeId, SnapshotMeta, Term};

/// A message from one server to another. The host moves it between nodes; the `codec` module
/// turns it into bytes when it has to cross a process boundary.
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    /// The sender.
    pub from: NodeId,
    /// The receiver.
    pub to: NodeId,
    /// The sender's current term.
    pub term: Term,
    /// The request or response the message carries.
    pub body: Body,
}

/// The kinds of message.
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Body {
    /// A candidate requests a vote.
    RequestVote {
        /// The candidate's last log entry.
        last_log: LogId,
    },
    /// A server checks whether it could win an election in the message's term, before
    /// starting one. Nobody changes term or vote for it.
    PreVote {
        /// The asking server's last log entry.
        last_log: LogId,
    },
    /// The response to `PreVote`. A grant carries the requested term, a refusal the voter's term.
    PreVoteResponse {
        /// Whether the voter would grant its vote.
        granted: bool,
    },
    /// The response to `RequestVote`.
    VoteResponse {
        /// Whether the vote was granted.
        granted: bool,
        /// The voter's last log index, which a new leader uses as the voter's starting
        /// replication point.
        last_log_index: Index,
    },
    /// A leader replicates entries, or sends a heartbeat when `entries` is empty.
    AppendEntries {
        /// The entry just before `entries`, which the receiver must hold to accept them.
        prev: LogId,
        /// Entries following `prev`, in order.
        entries: Vec<Entry>,
        /// The leader's commit index.
        commit: Index,
    },
    /// A leader sends its latest snapshot. The sender's host attaches the snapshot data;
    /// the receiver's host stores it before passing this message to its node. The receiver
    /// responds with an `AppendResponse`.
    InstallSnapshot {
        /// The snapshot's description, boxed to keep every message small.
        meta: Box<SnapshotMeta>,
    },
    /// The response to `AppendEntries`.
    AppendResponse {
        /// Whether the entries were accepted.
        outcome: AppendOutcome,
        /// The receiver's last log index.
        last_log_index: Index,
    },
}

/// The result of an `AppendEntries` request.
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AppendOutcome {
    /// The receiver's log matches the leader's up to `match_index`, and those entries are
    /// durable on the receiver.
    Accepted {
        /// The last index known to match the leader's log.
        match_index: Index,
    },
    /// The receiver's log does not hold the request's `prev` entry.
    Rejected {
        /// The `prev.index` of the rejected request, used to spot stale responses.
        rejected_index: Index,
        /// The receiver's last entry at or below `rejected_index` whose term is at most the
        /// request's `prev.term`. The leader resumes replication after the matching point.
        hint: LogId,
    },
}

impl Body {
    /// Returns the message kind as a short name, for traces and errors.
    pub fn kind(&self) -> &'static str {
        match self {
            Body::RequestVote { .. } => "RequestVote",
            Body::VoteResponse { .. } => "VoteResponse",
            Body::AppendEntries { .. } => "AppendEntries",
            Body::AppendResponse { .. } => "AppendResponse",
            Body::InstallSnapshot { .. } => "InstallSnapshot",
            Body::PreVote { .. } => "PreVote",
            Body::PreVoteResponse { .. } => "PreVoteResponse",
        }
    }
}
