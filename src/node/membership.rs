//! Configuration changes on the leader and the promotion of pending learners.

use alloc::sync::Arc;

use super::Node;
use crate::error::Error;
use crate::membership::{Membership, MembershipChange};
use crate::output::{Output, Role};
use crate::progress::{Progress, ReplicationState};
use crate::types::{LogId, NodeId, Payload};

impl Node {
    pub(super) fn handle_change(&mut self, change: MembershipChange) -> Result<LogId, Error> {
        if self.role != Role::Leader {
            return Err(Error::NotLeader { leader: self.leader });
        }
        self.check_change_allowed()?;
        self.check_room_for_entry()?;
        let next = self.configs.current().apply(change)?;
        let id = self.append_new_entry(Payload::Membership(Arc::new(next)));
        self.track_proposal(id);
        Ok(id)
    }

    /// Allows one uncommitted configuration at a time, and none before the leader has
    /// committed an entry of its own term: without that rule, two single-server changes
    /// from leaders of different terms could form disjoint majorities.
    fn check_change_allowed(&mut self) -> Result<(), Error> {
        if let Some((index, _)) = self.configs.entries.last() {
            if *index > self.commit {
                return Err(Error::ChangeInProgress { index: *index });
            }
        }
        if self.log.term_at(self.commit) != Some(self.term) {
            if self.log.last_id().term != self.term {
                self.append_noop();
            }
            return Err(Error::LeaderNotReady);
        }
        Ok(())
    }

    /// Promotes the first pending learner that has stayed caught up for the configured
    /// time. A learner is caught up while its match index is within the configured lag of
    /// the last index and it responded within the minimum election timeout, so a learner
    /// that stopped responding is never promoted on stale progress.
    pub(super) fn check_promotions(&mut self) {
        let last_index = self.log.last_index();
        let now = self.now_ms;
        let max_lag = self.config.promotion_max_lag_entries;
        let silence_limit = self.config.election_timeout_min_ms;
        let membership = self.configs.current().clone();
        let mut ready = None;
        for progress in self.progress.iter_mut() {
            let pending = membership.learner(progress.id).is_some_and(|l| l.pending);
            let responding =
                progress.last_response_ms.is_some_and(|at| now.saturating_sub(at) < silence_limit);
            let close = last_index.saturating_sub(progress.match_index) <= max_lag;
            if !(pending && responding && close) {
                progress.caught_up_since_ms = None;
                continue;
            }
            let since = *progress.caught_up_since_ms.get_or_insert(now);
            if ready.is_none() && now.saturating_sub(since) >= self.config.promotion_hold_ms {
                ready = Some(progress.id);
            }
        }
        if let Some(id) = ready {
            if self.check_change_allowed().is_ok() && self.check_room_for_entry().is_ok() {
                let next = membership.apply(MembershipChange::Promote { id });
                let next = next.expect("a pending learner can always be promoted");
                self.append_new_entry(Payload::Membership(Arc::new(next)));
            }
        }
    }

    /// Reacts to a new configuration in force, appended or rolled back: a leader starts or
    /// stops replicating to the servers that joined or left, and the host gets an output.
    pub(super) fn on_membership_changed(&mut self) {
        let membership = self.configs.current().clone();
        if self.role == Role::Leader {
            self.sync_progress(&membership);
            self.maybe_commit();
        }
        self.outputs.push_back(Output::MembershipChanged { membership });
    }

    fn sync_progress(&mut self, membership: &Membership) {
        let own = self.config.id;
        self.progress.retain(|progress| membership.contains(progress.id));
        let next_index = self.log.last_index() + 1;
        let known: smallvec::SmallVec<[NodeId; 8]> =
            self.progress.iter().map(|progress| progress.id).collect();
        for id in membership.ids().filter(|id| *id != own && !known.contains(id)) {
            self.progress.push(Progress::new(id, next_index, ReplicationState::Probe));
        }
    }

    /// Steps down once a committed configuration no longer lists this leader as a member.
    pub(super) fn step_down_if_removed(&mut self, committed: &Membership) {
        let removed = !committed.is_member(self.config.id) && !self.is_member();
        if self.role == Role::Leader && removed {
            self.become_follower(self.term, None);
            self.set_leader(None);
        }
    }
}
