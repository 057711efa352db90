//! Snapshots: compacting the log, sending a snapshot to a lagging peer, and installing one.

use alloc::boxed::Box;
use alloc::sync::Arc;

use super::Node;
use crate::error::{Error, SnapshotProblem};
use crate::message::{AppendOutcome, Body, Message};
use crate::output::{Output, ProposalOutcome, Role};
use crate::progress::ReplicationState;
use crate::types::{Index, LogId, NodeId, SnapshotMeta};

impl Node {
    pub(super) fn handle_snapshot_taken(&mut self, meta: SnapshotMeta) -> Result<(), Error> {
        let index = meta.last.index;
        let latest = self.snapshot.as_ref().map_or(0, |meta| meta.last.index);
        let problem = if index <= self.log.base().index {
            Some(SnapshotProblem::AlreadyCompacted)
        } else if index <= latest {
            Some(SnapshotProblem::NotNewer)
        } else if index > self.apply_emitted {
            Some(SnapshotProblem::NotApplied)
        } else if self.log.term_at(index) != Some(meta.last.term) {
            Some(SnapshotProblem::TermMismatch)
        } else if **self.configs.at(index) != meta.membership {
            Some(SnapshotProblem::MembershipMismatch)
        } else {
            None
        };
        if let Some(reason) = problem {
            return Err(Error::InvalidSnapshot { index, reason });
        }

        let trailing = self.config.snapshot_trailing_entries;
        let new_base = index.saturating_sub(trailing).max(self.log.base().index);
        self.compact_log(new_base);
        self.persist.record_snapshot(meta.clone(), new_base);
        self.snapshot = Some(meta);
        Ok(())
    }

    /// Drops log entries through `new_base`, keeping the configuration in force there.
    fn compact_log(&mut self, new_base: Index) {
        if new_base <= self.log.base().index {
            return;
        }
        let term = self.log.term_at(new_base).expect("the compaction point is in the log");
        self.configs.base = self.configs.at(new_base).clone();
        self.configs.entries.retain(|(at, _)| *at > new_base);
        self.log.compact(LogId::new(term, new_base));
    }

    /// Asks the host to send the latest snapshot to the peer at `at`, because the entries it
    /// needs are compacted away. Returns true when the request was made.
    pub(super) fn send_snapshot(&mut self, at: usize) -> bool {
        let Some(meta) = self.snapshot.clone() else {
            debug_assert!(false, "a compacted log always has a snapshot");
            return false;
        };
        let progress = &mut self.progress[at];
        progress.become_snapshot(meta.last.index);
        let to = progress.id;
        let body = Body::InstallSnapshot { meta: Box::new(meta) };
        let message = Message { from: self.config.id, to, term: self.term, body };
        self.outputs.push_back(Output::SendSnapshot(message));
        true
    }

    pub(super) fn handle_snapshot_sent(&mut self, to: NodeId, success: bool) -> Result<(), Error> {
        let position = self.progress.iter().position(|progress| progress.id == to);
        let Some(at) = position.filter(|at| {
            self.role == Role::Leader && self.progress[*at].state == ReplicationState::Snapshot
        }) else {
            return Err(Error::SnapshotNotRequested { to });
        };
        let progress = &mut self.progress[at];
        if success {
            // The receiver acknowledges the install; until then probe
            // from just after the snapshot.
            let next = progress.pending_snapshot + 1;
            progress.become_probe(next);
        } else {
            // Retry at the next heartbeat rather than at once.
            let next = progress.match_index + 1;
            progress.become_probe(next);
            progress.probe_sent = true;
        }
        Ok(())
    }

    /// Installs a leader's snapshot whose data the host has stored. A snapshot that covers
    /// nothing beyond the commit index is stale and only acknowledged.
    pub(super) fn handle_install_snapshot(&mut self, leader: NodeId, meta: SnapshotMeta) {
        if !self.accept_leader(leader) {
            return;
        }
        // A leader's snapshot covers only entries of its term or earlier; anything else is
        // from a faulty peer, ignored as such appends are.
        if meta.last.term > self.term {
            return;
        }
        let index = meta.last.index;
        if index > self.commit {
            self.install_snapshot(meta);
        }
        let match_index = self.commit;
        let outcome = AppendOutcome::Accepted { match_index };
        let body = Body::AppendResponse { outcome, last_log_index: self.log.last_index() };
        let message = Message { from: self.config.id, to: leader, term: self.term, body };
        self.send_after_persist(message);
    }

    fn install_snapshot(&mut self, meta: SnapshotMeta) {
        let last = meta.last;
        let keeps_suffix = self.log.matches(last);
        // The host restores its state machine before it learns which proposals the snapshot
        // committed, so it never replies to a client before the entry is in its state.
        self.outputs.push_back(Output::RestoreSnapshot(meta.clone()));
        self.end_proposals_covered_by(last, keeps_suffix);
        if keeps_suffix {
            self.compact_log(last.index);
        } else {
            self.persist.truncate(self.log.base().index + 1);
            self.log.reset(last);
            self.configs.entries.clear();
        }
        self.configs.base = Arc::new(meta.membership.clone());
        self.persist.record_snapshot(meta.clone(), last.index);
        self.snapshot = Some(meta.clone());
        self.commit = last.index;
        self.leader_commit_hint = self.leader_commit_hint.max(last.index);
        self.apply_emitted = last.index;
        self.applied = self.applied.max(last.index);
        self.on_membership_changed();
    }

    /// Ends proposals at or below the snapshot's index. When this log contains the snapshot's
    /// last entry, every entry up to it is committed, so each proposal's fate is known;
    /// otherwise the entries are discarded unseen and the outcome is unknown.
    fn end_proposals_covered_by(&mut self, last: LogId, log_matches: bool) {
        while let Some(proposal) = self.proposals.front().copied() {
            if proposal.index > last.index {
                break;
            }
            self.proposals.pop_front();
            let outcome = match self.log.term_at(proposal.index) {
                _ if !log_matches => ProposalOutcome::Unknown,
                Some(term) if term == proposal.term => ProposalOutcome::Committed,
                Some(_) => ProposalOutcome::Overwritten,
                None => ProposalOutcome::Unknown,
            };
            self.outputs.push_back(Output::Proposal { id: proposal, outcome });
        }
    }
}
