//! A leader's view of one follower's replication.

use alloc::collections::VecDeque;

use crate::types::{Index, NodeId};

/// The mode in which the leader sends entries to a follower.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ReplicationState {
    /// The matching point is unknown: one append at a time, waiting for each response.
    Probe,
    /// The follower is in step: appends are pipelined up to the in-flight limit.
    Replicate,
    /// The follower needs entries the log no longer contains; the host is sending it a
    /// snapshot, and appends wait until the host reports the outcome.
    Snapshot,
}

/// Replication progress of one peer, kept by the leader.
#[derive(Clone, Debug)]
pub(crate) struct Progress {
    pub(crate) id: NodeId,
    /// Highest index known to be durable on the peer and to match the leader's log.
    pub(crate) match_index: Index,
    /// Index of the next entry to send.
    pub(crate) next_index: Index,
    pub(crate) state: ReplicationState,
    /// In `Probe`, whether a probe is outstanding.
    pub(crate) probe_sent: bool,
    /// Last index of each unacknowledged append, oldest first.
    pub(crate) inflight: VecDeque<Index>,
    /// The commit index last sent to the peer, capped by its match index.
    pub(crate) commit_sent: Index,
    /// `match_index` at the previous heartbeat, to detect a stalled pipeline.
    pub(crate) match_at_heartbeat: Index,
    /// Time of the last response from the peer.
    pub(crate) last_response_ms: Option<u64>,
    /// In `Snapshot`, the index of the snapshot being sent.
    pub(crate) pending_snapshot: Index,
    /// For a pending learner, since when it has been caught up without a break.
    pub(crate) caught_up_since_ms: Option<u64>,
}

impl Progress {
    pub(crate) fn new(id: NodeId, next_index: Index, state: ReplicationState) -> Self {
        Progress {
            id,
            match_index: 0,
            next_index,
            state,
            probe_sent: false,
            inflight: VecDeque::new(),
            commit_sent: 0,
            match_at_heartbeat: 0,
            last_response_ms: None,
            caught_up_since_ms: None,
            pending_snapshot: 0,
        }
    }

    /// Records an acknowledgement up to `index`. Returns false when it adds nothing new.
    pub(crate) fn acknowledge(&mut self, index: Index) -> bool {
        if index <= self.match_index {
            return false;
        }
        self.match_index = index;
        self.next_index = self.next_index.max(index + 1);
        while self.inflight.front().is_some_and(|last| *last <= index) {
            self.inflight.pop_front();
        }
        let snapshot_done =
            self.state == ReplicationState::Snapshot && index >= self.pending_snapshot;
        if self.state == ReplicationState::Probe || snapshot_done {
            self.become_replicate();
        }
        true
    }

    pub(crate) fn become_probe(&mut self, next_index: Index) {
        self.state = ReplicationState::Probe;
        self.next_index = next_index.max(self.match_index + 1);
        self.probe_sent = false;
        self.inflight.clear();
    }

    pub(crate) fn become_snapshot(&mut self, snapshot_index: Index) {
        self.state = ReplicationState::Snapshot;
        self.pending_snapshot = snapshot_index;
        self.probe_sent = true;
        self.inflight.clear();
    }

    pub(crate) fn become_replicate(&mut self) {
        self.state = ReplicationState::Replicate;
        self.next_index = self.next_index.max(self.match_index + 1);
        self.probe_sent = false;
    }

    /// Returns true when another append may be sent now.
    pub(crate) fn can_send(&self, max_inflight: usize) -> bool {
        match self.state {
            ReplicationState::Probe => !self.probe_sent,
            ReplicationState::Replicate => self.inflight.len() < max_inflight,
            ReplicationState::Snapshot => false,
        }
    }

    /// Records an append that was sent, ending at `last_index`.
    pub(crate) fn sent(&mut self, last_index: Index) {
        match self.state {
            ReplicationState::Probe | ReplicationState::Snapshot => self.probe_sent = true,
            ReplicationState::Replicate => {
                self.next_index = last_index + 1;
                self.inflight.push_back(last_index);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acknowledge_frees_inflight_and_replicates() {
        let mut progress = Progress::new(2, 1, ReplicationState::Probe);
        assert!(progress.can_send(2));
        progress.sent(5);
        assert!(!progress.can_send(2));
        assert!(progress.acknowledge(5));
        assert_eq!(progress.state, ReplicationState::Replicate);
        progress.sent(7);
        progress.sent(9);
        assert!(!progress.can_send(2));
        assert!(progress.acknowledge(8));
        assert_eq!(progress.inflight.len(), 1);
        assert!(!progress.acknowledge(8));
    }

    #[test]
    fn probe_never_goes_below_match() {
        let mut progress = Progress::new(2, 1, ReplicationState::Replicate);
        progress.acknowledge(4);
        progress.become_probe(2);
        assert_eq!(progress.next_index, 5);
    }
}
