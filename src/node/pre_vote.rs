//! Pre-vote: a server checks whether it could win an election before starting one.
//!
//! A pre-vote request carries the term the server would campaign in, but nobody changes
//! term or vote for it. A server that was cut off, and timed out again and again, therefore
//! returns with its old term instead of a higher one that would depose a working leader.

use super::Node;
use crate::message::{Body, Message};
use crate::output::Output;
use crate::types::{LogId, NodeId, Term, MAX_TERM_OR_INDEX};

impl Node {
    /// Starts a pre-vote round for the next term; a majority of grants starts the real
    /// election.
    pub(super) fn pre_campaign(&mut self) {
        self.reset_election_timer();
        if self.term >= MAX_TERM_OR_INDEX {
            return;
        }
        self.pre_votes.clear();
        self.pre_campaigning = true;
        self.set_leader(None);

        let own = self.config.id;
        let last_log = self.log.last_id();
        let term = self.term + 1;
        let members: smallvec::SmallVec<[NodeId; 8]> =
            self.configs.current().members().iter().copied().filter(|id| *id != own).collect();
        for peer in members {
            let message = Message { from: own, to: peer, term, body: Body::PreVote { last_log } };
            self.outputs.push_back(Output::Send(message));
        }
        self.record_pre_vote(own);
    }

    /// Responds to a pre-vote request without changing term or vote. The grant follows the
    /// rules of a real vote, and is refused while this server hears from a leader.
    pub(super) fn handle_pre_vote(&mut self, candidate: NodeId, term: Term, last_log: LogId) {
        let free_to_vote = term > self.term || self.vote.is_none_or(|vote| vote == candidate);
        let granted = term >= self.term
            && free_to_vote
            && !self.in_leader_lease()
            && last_log >= self.log.last_id();
        // A grant echoes the requested term, a refusal carries this server's own term so a
        // candidate that is behind learns of it.
        let reply_term = if granted { term } else { self.term };
        let body = Body::PreVoteResponse { granted };
        let message = Message { from: self.config.id, to: candidate, term: reply_term, body };
        self.outputs.push_back(Output::Send(message));
    }

    pub(super) fn handle_pre_vote_response(&mut self, voter: NodeId, term: Term, granted: bool) {
        if !granted {
            if term > self.term {
                self.become_follower(term, None);
            }
            return;
        }
        // A candidate whose election timed out also runs a pre-vote round for the next term.
        if self.pre_campaigning && term == self.term + 1 {
            self.record_pre_vote(voter);
        }
    }

    fn record_pre_vote(&mut self, voter: NodeId) {
        if !self.pre_votes.contains(&voter) {
            self.pre_votes.push(voter);
        }
        if self.configs.current().has_quorum(self.pre_votes.iter().copied()) {
            self.pre_campaigning = false;
            self.campaign();
        }
    }
}
