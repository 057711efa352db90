//! Timers, elections, votes and role changes.

use super::Node;
use crate::error::Error;
use crate::message::{AppendOutcome, Body, Message};
use crate::output::{Output, Role};
use crate::progress::{Progress, ReplicationState};
use crate::types::{Index, LogId, NodeId, Term, MAX_TERM_OR_INDEX};

impl Node {
    pub(super) fn handle_tick(&mut self, now_ms: u64) -> Result<(), Error> {
        if !self.clock_started {
            self.clock_started = true;
            self.now_ms = now_ms;
            self.schedule_election_timeout();
            self.heartbeat_deadline_ms = now_ms.saturating_add(self.config.heartbeat_interval_ms);
            return Ok(());
        }
        if now_ms < self.now_ms {
            return Err(Error::TimeWentBackwards { now_ms, last_ms: self.now_ms });
        }
        self.now_ms = now_ms;
        if self.heard_from_leader_since_tick {
            self.heard_from_leader_since_tick = false;
            self.last_leader_contact_ms = Some(now_ms);
        }
        // A leader has no election timer, so a reset left over from its campaign is dropped
        // and its first tick after winning already sends heartbeats.
        if self.election_reset_pending && self.role != Role::Leader {
            self.schedule_election_timeout();
            return Ok(());
        }
        self.election_reset_pending = false;

        if self.role == Role::Leader {
            if now_ms >= self.heartbeat_deadline_ms {
                self.heartbeat_deadline_ms =
                    now_ms.saturating_add(self.config.heartbeat_interval_ms);
                self.send_heartbeats();
            }
            if self.config.check_quorum && now_ms >= self.quorum_check_deadline_ms {
                self.quorum_check_deadline_ms =
                    now_ms.saturating_add(self.config.election_timeout_min_ms);
                if !self.quorum_active() {
                    self.become_follower(self.term, None);
                    self.set_leader(None);
                    return Ok(());
                }
            }
            self.check_promotions();
        } else if now_ms >= self.election_deadline_ms {
            self.handle_election_timeout();
        }
        Ok(())
    }

    fn handle_election_timeout(&mut self) {
        self.reset_election_timer();
        if !self.can_campaign() {
            return;
        }
        // A follower whose log ends below a known commit index lacks committed entries, so
        // no up-to-date voter would elect it. It waits for the leader instead.
        if self.leader_commit_hint > self.log.last_index() {
            return;
        }
        if self.config.pre_vote && !self.is_sole_member() {
            self.pre_campaign();
        } else {
            self.campaign();
        }
    }

    pub(super) fn handle_campaign(&mut self) -> Result<(), Error> {
        if !self.can_campaign() {
            return Err(Error::NotMember);
        }
        if self.term >= MAX_TERM_OR_INDEX {
            return Err(Error::ValueOutOfRange {
                field: "term",
                value: self.term.saturating_add(1),
            });
        }
        if self.role != Role::Leader {
            self.campaign();
        }
        Ok(())
    }

    /// Restarts the election timer. The node's clock advances only on ticks, so a reset
    /// while handling a message takes effect at the next tick: the new random timeout is
    /// measured from that tick's time, never from an older one.
    pub(super) fn reset_election_timer(&mut self) {
        self.election_reset_pending = true;
    }

    /// Picks a new random election deadline in `[min, max)` from now.
    fn schedule_election_timeout(&mut self) {
        self.election_reset_pending = false;
        let timeout = self
            .rng
            .range(self.config.election_timeout_min_ms, self.config.election_timeout_max_ms);
        self.election_deadline_ms = self.now_ms.saturating_add(timeout);
    }

    /// Starts an election in the next term. The node's own vote counts once it is durable,
    /// and vote requests leave only then, so a crash cannot make it vote twice in a term.
    pub(super) fn campaign(&mut self) {
        // Only a faulty peer can push the term this far; campaigning past the bound would
        // leave a durable state that no longer restores.
        if self.term >= MAX_TERM_OR_INDEX {
            return;
        }
        self.term += 1;
        self.vote = Some(self.config.id);
        self.persist.mark_hard_state();
        self.role = Role::Candidate;
        self.pre_campaigning = false;
        self.progress.clear();
        self.votes.clear();
        self.voter_last_index.clear();
        self.reset_election_timer();
        self.self_vote_token = self.persist.barrier();
        self.outputs.push_back(Output::RoleChanged { role: Role::Candidate, term: self.term });
        self.set_leader(None);

        let last_log = self.log.last_id();
        let own = self.config.id;
        let members: smallvec::SmallVec<[NodeId; 8]> =
            self.configs.current().members().iter().copied().filter(|id| *id != own).collect();
        for peer in members {
            let message = Message {
                from: self.config.id,
                to: peer,
                term: self.term,
                body: Body::RequestVote { last_log },
            };
            self.send_after_persist(message);
        }
    }

    /// Returns true while this node believes a leader is alive: it leads, or it heard from
    /// the leader less than the minimum election timeout ago. Vote requests with a higher
    /// term are then ignored, so a server that was removed or partitioned cannot depose a
    /// working leader.
    pub(super) fn in_leader_lease(&self) -> bool {
        if self.role == Role::Leader {
            return true;
        }
        if self.leader.is_some() && self.heard_from_leader_since_tick {
            return true;
        }
        match (self.leader, self.last_leader_contact_ms) {
            (Some(_), Some(contact)) => {
                self.now_ms < contact.saturating_add(self.config.election_timeout_min_ms)
            }
            _ => false,
        }
    }

    pub(super) fn become_follower(&mut self, term: Term, leader: Option<NodeId>) {
        let term_changed = term > self.term;
        if term_changed {
            self.term = term;
            self.vote = None;
            self.persist.mark_hard_state();
        }
        let role_changed = self.role != Role::Follower;
        self.role = Role::Follower;
        self.pre_campaigning = false;
        self.progress.clear();
        self.votes.clear();
        self.self_vote_token = None;
        self.reset_election_timer();
        if role_changed || term_changed {
            self.outputs.push_back(Output::RoleChanged { role: Role::Follower, term: self.term });
        }
        if term_changed || leader.is_some() {
            self.set_leader(leader);
        }
    }

    pub(super) fn set_leader(&mut self, leader: Option<NodeId>) {
        if self.leader != leader {
            self.leader = leader;
            self.outputs.push_back(Output::LeaderChanged { leader, term: self.term });
        }
    }

    pub(super) fn handle_request_vote(&mut self, candidate: NodeId, last_log: LogId) {
        let free_to_vote = self.vote.is_none_or(|vote| vote == candidate);
        let up_to_date = last_log >= self.log.last_id();
        let last_log_index = self.log.last_index();
        if self.role != Role::Leader && free_to_vote && up_to_date {
            if self.vote.is_none() {
                self.vote = Some(candidate);
                self.persist.mark_hard_state();
            }
            self.reset_election_timer();
            let body = Body::VoteResponse { granted: true, last_log_index };
            let message = Message { from: self.config.id, to: candidate, term: self.term, body };
            self.send_after_persist(message);
        } else {
            self.send(candidate, Body::VoteResponse { granted: false, last_log_index });
        }
    }

    pub(super) fn handle_vote_response(&mut self, voter: NodeId, granted: bool, last: Index) {
        if self.role != Role::Candidate {
            return;
        }
        if let Some(entry) = self.voter_last_index.iter_mut().find(|(id, _)| *id == voter) {
            entry.1 = last;
        } else {
            self.voter_last_index.push((voter, last));
        }
        self.record_vote(voter, granted);
    }

    pub(super) fn record_vote(&mut self, voter: NodeId, granted: bool) {
        if self.role != Role::Candidate || !granted {
            return;
        }
        if !self.votes.contains(&voter) {
            self.votes.push(voter);
        }
        if self.configs.current().has_quorum(self.votes.iter().copied()) {
            self.become_leader();
        }
    }

    fn become_leader(&mut self) {
        self.role = Role::Leader;
        self.heartbeat_deadline_ms = self.now_ms.saturating_add(self.config.heartbeat_interval_ms);
        self.quorum_check_deadline_ms =
            self.now_ms.saturating_add(self.config.election_timeout_min_ms);
        self.outputs.push_back(Output::RoleChanged { role: Role::Leader, term: self.term });
        self.set_leader(Some(self.config.id));
        self.reset_progress();

        // Entries of earlier terms commit only through an entry of this term, so append one
        // at once rather than waiting for a client.
        if self.commit < self.log.last_index() {
            self.append_noop();
        }
        for at in 0..self.progress.len() {
            self.send_append(at, true);
        }
    }

    /// Returns true when a majority of members, counting this leader if it is one, answered
    /// within the minimum election timeout.
    fn quorum_active(&self) -> bool {
        let window_start = self.now_ms.saturating_sub(self.config.election_timeout_min_ms);
        let own = self.config.id;
        let answered = self
            .progress
            .iter()
            .filter(|p| p.last_response_ms.is_some_and(|at| at >= window_start))
            .map(|p| p.id);
        self.configs.current().has_quorum(answered.chain(core::iter::once(own)))
    }

    /// Builds progress for every other server in the configuration. A voter that reported
    /// its last index starts right after it (clamped to this log), in pipelined mode.
    pub(super) fn reset_progress(&mut self) {
        let last_index = self.log.last_index();
        let own = self.config.id;
        let ids: smallvec::SmallVec<[NodeId; 8]> =
            self.configs.current().ids().filter(|id| *id != own).collect();
        self.progress.clear();
        for id in ids {
            let reported = self.voter_last_index.iter().find(|(voter, _)| *voter == id);
            let progress = match reported {
                Some((_, last)) => {
                    Progress::new(id, (*last).min(last_index) + 1, ReplicationState::Replicate)
                }
                None => Progress::new(id, last_index + 1, ReplicationState::Probe),
            };
            self.progress.push(progress);
        }
    }

    /// Responds to a message from an older term so that its sender learns the current term.
    pub(super) fn reply_to_stale(&mut self, message: &Message) {
        let last_log_index = self.log.last_index();
        match &message.body {
            Body::RequestVote { .. } => {
                self.send(message.from, Body::VoteResponse { granted: false, last_log_index });
            }
            Body::AppendEntries { prev, .. } => {
                let outcome = AppendOutcome::Rejected { rejected_index: prev.index, hint: *prev };
                self.send(message.from, Body::AppendResponse { outcome, last_log_index });
            }
            Body::InstallSnapshot { meta } => {
                let outcome =
                    AppendOutcome::Rejected { rejected_index: meta.last.index, hint: meta.last };
                self.send(message.from, Body::AppendResponse { outcome, last_log_index });
            }
            Body::VoteResponse { .. }
            | Body::AppendResponse { .. }
            | Body::PreVote { .. }
            | Body::PreVoteResponse { .. } => {}
        }
    }
}
