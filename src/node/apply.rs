//! Handing committed entries to the state machine and ending proposals.

use super::Node;
use crate::output::{Output, ProposalOutcome};
use crate::types::Payload;

impl Node {
    /// Emits `Apply` for every committed entry that is also durable here, in order. Waiting
    /// for durability keeps the applied index within the log that survives a crash.
    pub(super) fn maybe_apply(&mut self) {
        let limit = self.commit.min(self.persist.durable_index());
        while self.apply_emitted < limit {
            let index = self.apply_emitted + 1;
            let entry = self.log.entry(index).expect("committed durable entries are in the log");
            let id = entry.id();
            let membership = match &entry.payload {
                Payload::Membership(membership) => Some(membership.clone()),
                _ => None,
            };
            self.outputs.push_back(Output::Apply(entry.clone()));
            self.apply_emitted = index;
            self.end_proposals_through(index, id);
            if let Some(membership) = membership {
                self.step_down_if_removed(&membership);
            }
        }
    }

    /// Ends every proposal at or below `index`: the one whose id was committed there
    /// committed, any other lost its place to another leader's entry.
    fn end_proposals_through(&mut self, index: u64, committed: crate::types::LogId) {
        while let Some(proposal) = self.proposals.front().copied() {
            if proposal.index > index {
                break;
            }
            self.proposals.pop_front();
            let outcome = if proposal == committed {
                ProposalOutcome::Committed
            } else {
                ProposalOutcome::Overwritten
            };
            self.outputs.push_back(Output::Proposal { id: proposal, outcome });
        }
    }
}
