//! Leader duties: proposals, replication to each peer, and the commit index.

use super::Node;
use crate::error::Error;
use crate::message::{AppendOutcome, Body};
use crate::output::Role;
use crate::progress::ReplicationState;
use crate::types::{Entry, Index, LogId, NodeId, Payload, MAX_TERM_OR_INDEX};

impl Node {
    pub(super) fn handle_propose(&mut self, payload: Payload) -> Result<LogId, Error> {
        if self.role != Role::Leader {
            return Err(Error::NotLeader { leader: self.leader });
        }
        self.check_room_for_entry()?;
        let id = self.append_new_entry(payload);
        self.track_proposal(id);
        Ok(id)
    }

    /// Remembers a proposal until its index is applied. Proposals from an earlier term of
    /// leadership may sit at higher indexes than this one, because a later leader truncated
    /// them here. Keeping the queue sorted by index ends each one when its own index applies.
    pub(super) fn track_proposal(&mut self, id: LogId) {
        let in_order = self.proposals.back().is_none_or(|last| last.index < id.index);
        if in_order {
            self.proposals.push_back(id);
            return;
        }
        let at =
            self.proposals.partition_point(|open| (open.index, open.term) <= (id.index, id.term));
        self.proposals.insert(at, id);
    }

    pub(super) fn append_noop(&mut self) {
        if self.check_room_for_entry().is_ok() {
            self.append_new_entry(Payload::Empty);
        }
    }

    /// Rejects a new entry once the log reaches [`MAX_TERM_OR_INDEX`], which only a faulty
    /// peer's snapshot or entries can bring about. Beyond it the durable log would no longer
    /// restore.
    pub(super) fn check_room_for_entry(&self) -> Result<(), Error> {
        let last = self.log.last_index();
        if last >= MAX_TERM_OR_INDEX {
            return Err(Error::ValueOutOfRange { field: "index", value: last.saturating_add(1) });
        }
        Ok(())
    }

    pub(super) fn append_new_entry(&mut self, payload: Payload) -> LogId {
        let id = LogId::new(self.term, self.log.last_index() + 1);
        self.append_to_log(Entry { term: id.term, index: id.index, payload });
        id
    }

    /// Sends every peer the entries it lacks, as far as its in-flight limit allows, and the
    /// new commit index to peers that have not received it.
    pub(super) fn broadcast_append(&mut self) {
        let last_index = self.log.last_index();
        for at in 0..self.progress.len() {
            while self.progress[at].next_index <= last_index && self.send_append(at, false) {}
            let progress = &self.progress[at];
            if self.commit.min(progress.match_index) > progress.commit_sent {
                self.send_heartbeat(at);
            }
        }
    }

    /// Sends the next batch of entries to the peer at `at`, or an empty append when
    /// `allow_empty` is set and it lacks nothing. Returns true when a message was sent.
    pub(super) fn send_append(&mut self, at: usize, allow_empty: bool) -> bool {
        let progress = &self.progress[at];
        if !progress.can_send(self.config.max_inflight_appends) {
            return false;
        }
        let prev_index = progress.next_index - 1;
        let Some(prev_term) = self.log.term_at(prev_index) else {
            return self.send_snapshot(at);
        };
        let entries = self.log.slice(
            progress.next_index,
            self.config.max_append_entries,
            self.config.max_append_bytes,
        );
        if entries.is_empty() && !allow_empty {
            return false;
        }

        let last_sent = prev_index + entries.len() as Index;
        let progress = &mut self.progress[at];
        if !entries.is_empty() || progress.state == ReplicationState::Probe {
            progress.sent(last_sent);
        }
        progress.commit_sent = progress.commit_sent.max(self.commit.min(last_sent));
        let to = progress.id;
        let body = Body::AppendEntries {
            prev: LogId::new(prev_term, prev_index),
            entries,
            commit: self.commit,
        };
        self.send(to, body);
        true
    }

    /// Sends an empty append at the peer's match point: it always matches, so it carries the
    /// commit index and keeps the follower's election timer from firing.
    fn send_heartbeat(&mut self, at: usize) {
        let progress = &mut self.progress[at];
        // A peer whose match point is compacted away gets a heartbeat at the log's base: it
        // may reject it, but the heartbeat still holds off its election timer.
        let base = self.log.base();
        let prev = match self.log.term_at(progress.match_index) {
            Some(term) => LogId::new(term, progress.match_index),
            None => base,
        };
        let prev_index = prev.index;
        let prev_term = prev.term;
        progress.commit_sent = progress.commit_sent.max(self.commit.min(prev_index));
        let to = progress.id;
        let body = Body::AppendEntries {
            prev: LogId::new(prev_term, prev_index),
            entries: alloc::vec::Vec::new(),
            commit: self.commit,
        };
        self.send(to, body);
    }

    /// Runs once per heartbeat interval and resends probes. A pipeline that made no progress
    /// since the last heartbeat while appends were in flight has probably lost a message, so
    /// it falls back to probing from the match point.
    pub(super) fn send_heartbeats(&mut self) {
        for at in 0..self.progress.len() {
            let progress = &mut self.progress[at];
            let stalled = progress.state == ReplicationState::Replicate
                && !progress.inflight.is_empty()
                && progress.match_index == progress.match_at_heartbeat;
            progress.match_at_heartbeat = progress.match_index;
            if stalled {
                let next = progress.match_index + 1;
                progress.become_probe(next);
            }
            match self.progress[at].state {
                ReplicationState::Probe => {
                    self.progress[at].probe_sent = false;
                    self.send_append(at, true);
                }
                ReplicationState::Replicate | ReplicationState::Snapshot => self.send_heartbeat(at),
            }
        }
    }

    pub(super) fn handle_append_response(
        &mut self,
        peer: NodeId,
        outcome: AppendOutcome,
        last_log_index: Index,
    ) {
        if self.role != Role::Leader {
            return;
        }
        let Some(at) = self.progress.iter().position(|progress| progress.id == peer) else {
            return;
        };
        self.progress[at].last_response_ms = Some(self.now_ms);
        match outcome {
            AppendOutcome::Accepted { match_index } => self.handle_accepted(at, match_index),
            AppendOutcome::Rejected { rejected_index, hint } => {
                self.handle_rejected(at, rejected_index, hint)
            }
        }

        // A follower whose log runs past this one has a stale tail. Only an entry of this
        // term makes it truncate, so append one if the log has none yet.
        let own_term_entry = self.log.last_id().term == self.term;
        if last_log_index > self.log.last_index() && !own_term_entry {
            self.append_noop();
        }
    }

    fn handle_accepted(&mut self, at: usize, match_index: Index) {
        if match_index > self.log.last_index() {
            return;
        }
        let progress = &mut self.progress[at];
        let advanced = progress.acknowledge(match_index);
        let in_step = match_index + 1 >= progress.next_index;
        if progress.state == ReplicationState::Probe && in_step {
            progress.become_replicate();
        }
        // An acknowledgement at or below the commit index cannot raise the quorum index.
        if advanced && match_index > self.commit {
            self.maybe_commit();
        }
    }

    fn handle_rejected(&mut self, at: usize, rejected_index: Index, hint: LogId) {
        let progress = &self.progress[at];
        let stale = match progress.state {
            ReplicationState::Replicate => rejected_index <= progress.match_index,
            ReplicationState::Probe => rejected_index + 1 != progress.next_index,
            ReplicationState::Snapshot => true,
        };
        if stale || rejected_index <= progress.match_index {
            return;
        }
        let resume =
            self.log.last_index_with_term_at_most(hint.index.min(rejected_index), hint.term);
        let next = (resume.index + 1).min(rejected_index);
        self.progress[at].become_probe(next);
        self.send_append(at, true);
    }

    /// Advances the commit index to the highest index that a majority of members has made
    /// durable, if that entry is of the current term. The leader counts itself only for
    /// entries it has persisted.
    pub(super) fn maybe_commit(&mut self) {
        if self.role != Role::Leader {
            return;
        }
        let own = self.config.id;
        let durable = self.persist.durable_index();
        let progress = &self.progress;
        let quorum_index = self.configs.current().quorum_index(|id| {
            if id == own {
                Some(durable)
            } else {
                progress.iter().find(|p| p.id == id).map(|p| p.match_index)
            }
        });
        if quorum_index > self.commit && self.log.term_at(quorum_index) == Some(self.term) {
            self.commit = quorum_index;
            self.maybe_apply();
        }
    }
}
