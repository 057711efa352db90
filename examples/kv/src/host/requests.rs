//! Requests from the HTTP API, handled on the node's task.

use bytes::Bytes;
use sansraft::{Index, LogId, MembershipChange, ProposalOutcome};
use tokio::sync::oneshot;

use super::Host;
use crate::state::Command;
use crate::status::{
    format_digest, replication_state_name, role_name, LearnerView, MembershipView, PeerView,
    SnapshotView, StatusView,
};

/// The outcome of an accepted write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WriteOutcome {
    /// The log position the write was given.
    pub id: LogId,
    /// Whether it committed.
    pub outcome: ProposalOutcome,
}

/// The rejection of a write, with the node's error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotAccepted {
    /// The node's error.
    pub error: sansraft::Error,
    /// The HTTP address of the leader, when the error is `NotLeader` and the leader and its
    /// address are known.
    pub leader_http_addr: Option<String>,
}

/// The result of a write: its outcome, or its rejection.
pub type WriteResult = Result<WriteOutcome, NotAccepted>;

/// A local read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadResult {
    /// The value, if the key exists.
    pub value: Option<Bytes>,
    /// The applied index the read saw.
    pub applied: Index,
}

/// A request to the node's task.
#[derive(Debug)]
pub enum Request {
    /// Propose a command; the reply comes once it committed or failed.
    Write {
        /// The command.
        command: Command,
        /// Receives the result.
        reply: oneshot::Sender<WriteResult>,
    },
    /// Change the configuration by one server; the reply comes once the entry committed.
    ChangeMembership {
        /// The change.
        change: MembershipChange,
        /// Receives the result.
        reply: oneshot::Sender<WriteResult>,
    },
    /// Read a key from the local map.
    Read {
        /// The key.
        key: String,
        /// Receives the value.
        reply: oneshot::Sender<ReadResult>,
    },
    /// Report the node's status.
    Status {
        /// Receives the status.
        reply: oneshot::Sender<StatusView>,
    },
}

impl Host {
    pub(super) fn handle_request(&mut self, request: Request) {
        match request {
            Request::Write { command, reply } => {
                let result = self.node.propose(command.encode());
                self.track(result, reply);
            }
            Request::ChangeMembership { change, reply } => {
                let result = self.node.change_membership(change);
                if let Err(error) = &result {
                    tracing::info!(
                        node = self.id,
                        ?change,
                        %error,
                        "membership change not accepted"
                    );
                } else {
                    tracing::info!(node = self.id, ?change, "proposed a membership change");
                }
                self.track(result, reply);
            }
            Request::Read { key, reply } => {
                let value = self.state.get(&key).cloned();
                let _ = reply.send(ReadResult { value, applied: self.applied });
            }
            Request::Status { reply } => {
                let _ = reply.send(self.status());
            }
        }
    }

    fn track(
        &mut self,
        result: Result<LogId, sansraft::Error>,
        reply: oneshot::Sender<WriteResult>,
    ) {
        match result {
            Ok(id) => {
                self.waiting.insert(id, reply);
            }
            Err(error) => {
                let leader_http_addr = match error {
                    sansraft::Error::NotLeader { leader: Some(leader) } => {
                        self.book.get(leader).map(|addresses| addresses.http_addr)
                    }
                    _ => None,
                };
                let _ = reply.send(Err(NotAccepted { error, leader_http_addr }));
            }
        }
    }

    fn status(&self) -> StatusView {
        let status = self.node.status();
        let leader_http_addr = status.leader.and_then(|leader| {
            if leader == self.id {
                Some(self.addresses.http_addr.clone())
            } else {
                self.book.get(leader).map(|addresses| addresses.http_addr)
            }
        });
        let learners = status
            .membership
            .learners()
            .iter()
            .map(|learner| LearnerView { id: learner.id, pending: learner.pending })
            .collect();
        let peers = status
            .peers
            .iter()
            .map(|peer| PeerView {
                id: peer.id,
                match_index: peer.match_index,
                next_index: peer.next_index,
                state: replication_state_name(peer.state).to_owned(),
                lag: peer.lag,
                caught_up_ms: peer.caught_up_ms,
            })
            .collect();
        StatusView {
            id: self.id,
            role: role_name(status.role).to_owned(),
            term: status.term,
            leader: status.leader,
            leader_http_addr,
            commit: status.commit,
            applied: self.applied,
            last_log_index: status.last_log.index,
            durable_index: status.durable_index,
            membership: MembershipView { members: status.membership.members().to_vec(), learners },
            peers,
            keys: self.state.len(),
            digest: format_digest(self.state.digest()),
            snapshot: self
                .node
                .snapshot()
                .map(|meta| SnapshotView { index: meta.last.index, term: meta.last.term }),
            snapshots_taken: self.counters.snapshots_taken,
            snapshots_installed: self.counters.snapshots_installed,
            snapshots_sent: self.counters.snapshots_sent,
        }
    }
}
