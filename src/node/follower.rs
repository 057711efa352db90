//! Handling a leader's `AppendEntries` on a follower or learner.

use alloc::vec::Vec;

use super::Node;
use crate::message::{AppendOutcome, Body, Message};
use crate::output::Role;
use crate::types::{Entry, Index, LogId, NodeId};

impl Node {
    pub(super) fn handle_append_entries(
        &mut self,
        leader: NodeId,
        prev: LogId,
        entries: Vec<Entry>,
        leader_commit: Index,
    ) {
        if !self.accept_leader(leader) {
            return;
        }
        self.leader_commit_hint = self.leader_commit_hint.max(leader_commit);
        if !well_formed(prev, &entries, self.term) {
            return;
        }
        if prev.index < self.commit {
            // Everything up to the commit index matches the leader's log, and part of it may
            // be compacted here, so acknowledge the commit index rather than comparing.
            self.acknowledge_append(leader, self.commit);
            return;
        }
        if !self.log.matches(prev) {
            self.reject_append(leader, prev);
            return;
        }

        let match_index = prev.index + entries.len() as Index;
        if !self.merge_entries(entries) {
            return;
        }
        let new_commit = leader_commit.min(match_index);
        if new_commit > self.commit {
            self.commit = new_commit;
            self.maybe_apply();
        }

        self.acknowledge_append(leader, match_index);
    }

    /// Records contact from the current term's leader. Returns false for a message that
    /// claims leadership of this node's own term while it leads, which only a faulty peer
    /// sends.
    pub(super) fn accept_leader(&mut self, leader: NodeId) -> bool {
        if self.role == Role::Leader {
            return false;
        }
        if self.role == Role::Candidate || self.leader != Some(leader) {
            self.become_follower(self.term, Some(leader));
        }
        self.heard_from_leader_since_tick = true;
        self.pre_campaigning = false;
        self.reset_election_timer();
        true
    }

    /// Acknowledges the log up to `match_index` once it is durable.
    fn acknowledge_append(&mut self, leader: NodeId, match_index: Index) {
        let last_log_index = self.log.last_index();
        let outcome = AppendOutcome::Accepted { match_index };
        let body = Body::AppendResponse { outcome, last_log_index };
        let message = Message { from: self.config.id, to: leader, term: self.term, body };
        self.send_after_persist(message);
    }

    fn reject_append(&mut self, leader: NodeId, prev: LogId) {
        let hint = self.log.last_index_with_term_at_most(prev.index, prev.term);
        let outcome = AppendOutcome::Rejected { rejected_index: prev.index, hint };
        let last_log_index = self.log.last_index();
        self.send(leader, Body::AppendResponse { outcome, last_log_index });
    }

    /// Appends the entries this log lacks, truncating a conflicting tail first. Returns false,
    /// changing nothing further, if the leader tries to replace a committed entry, which only
    /// a faulty peer does.
    fn merge_entries(&mut self, entries: Vec<Entry>) -> bool {
        for entry in entries {
            match self.log.term_at(entry.index) {
                Some(term) if term == entry.term => continue,
                Some(_) if entry.index <= self.commit => return false,
                Some(_) => self.truncate_log(entry.index),
                None => {}
            }
            self.append_to_log(entry);
        }
        true
    }
}

/// Checks that entries follow `prev` contiguously with terms that never decrease and never
/// exceed the leader's term. A correct leader always sends such batches.
fn well_formed(prev: LogId, entries: &[Entry], leader_term: u64) -> bool {
    let mut expected = LogId::new(prev.term, prev.index);
    for entry in entries {
        let Some(index) = expected.index.checked_add(1) else {
            return false;
        };
        if entry.index != index || entry.term < expected.term || entry.term > leader_term {
            return false;
        }
        expected = entry.id();
    }
    prev.term <= leader_term
}
