//! Safety invariants, checked as the simulated cluster runs.

use std::collections::HashMap;
use std::string::String;
use std::vec::Vec;

use crate::node::Node;
use crate::output::ProposalOutcome;
use crate::types::{Entry, Index, LogId, NodeId, Payload, Term};

/// Cluster-wide facts gathered from every node's outputs, against which each new output is
/// checked.
#[derive(Debug, Default)]
pub struct Checker {
    leaders: HashMap<Term, NodeId>,
    /// Term and payload digest of every committed index, from the first node that applied it.
    committed: Vec<(Term, u64)>,
    /// The state machine digest after applying each committed index.
    states: Vec<u64>,
    /// For every entry any node has persisted: the term before it and its payload digest.
    entries: HashMap<(Index, Term), (Term, u64)>,
}

impl Checker {
    /// Returns the highest index known to be committed.
    pub fn committed_len(&self) -> Index {
        self.committed.len() as Index
    }

    /// Returns the term and digest committed at `index`, if known.
    pub fn committed_at(&self, index: Index) -> Option<(Term, u64)> {
        let at = usize::try_from(index.checked_sub(1)?).ok()?;
        self.committed.get(at).copied()
    }

    /// Records that `id` became leader of `term`: no other node may lead that term.
    pub fn on_leader(&mut self, term: Term, id: NodeId) -> Result<(), String> {
        match self.leaders.insert(term, id) {
            Some(other) if other != id => {
                Err(format!("two leaders in term {term}: nodes {other} and {id}"))
            }
            _ => Ok(()),
        }
    }

    /// Checks that a new leader's log holds every committed entry.
    /// Entries a snapshot covers must agree with the snapshot's term at its last index.
    pub fn check_leader_log(&self, node: &Node) -> Result<(), String> {
        let first = node.first_log_index();
        if let Some(meta) = node.snapshot() {
            let committed = self.committed_at(meta.last.index).map(|(term, _)| term);
            if meta.last.index > 0 && committed.is_some_and(|term| term != meta.last.term) {
                return Err(format!(
                    "leader {} holds snapshot {}.{} but term {committed:?} committed there",
                    node.id(),
                    meta.last.term,
                    meta.last.index
                ));
            }
        }
        for (at, (term, digest)) in self.committed.iter().enumerate().skip((first - 1) as usize) {
            let index = at as Index + 1;
            let held = node.entry(index).map(|entry| (entry.term, digest_of(entry)));
            if held != Some((*term, *digest)) {
                return Err(format!(
                    "leader {} of term {} lacks committed entry {}.{index}",
                    node.id(),
                    node.term(),
                    term
                ));
            }
        }
        Ok(())
    }

    /// Checks log matching for an entry a node persisted: every entry with the same index and
    /// term must have the same payload and the same term before it, which by induction makes
    /// the logs equal up to there.
    pub fn on_persisted_entry(
        &mut self,
        node: NodeId,
        entry: &Entry,
        prev_term: Term,
    ) -> Result<(), String> {
        let digest = digest_of(entry);
        let key = (entry.index, entry.term);
        match self.entries.get(&key) {
            Some(known) if *known != (prev_term, digest) => Err(format!(
                "log matching broken on node {node}: entry {}.{} differs from the same entry \
                 on another node",
                entry.term, entry.index
            )),
            Some(_) => Ok(()),
            None => {
                self.entries.insert(key, (prev_term, digest));
                Ok(())
            }
        }
    }

    /// Checks an applied entry against what was applied at its index anywhere before.
    pub fn on_apply(&mut self, node: NodeId, entry: &Entry) -> Result<(), String> {
        let digest = digest_of(entry);
        match self.committed_at(entry.index) {
            Some(known) if known != (entry.term, digest) => Err(format!(
                "node {node} applied {}.{} but {}.{} was committed there",
                entry.term, entry.index, known.0, entry.index
            )),
            Some(_) => Ok(()),
            None if entry.index == self.committed_len() + 1 => {
                let previous = self.states.last().copied().unwrap_or(0);
                self.committed.push((entry.term, digest));
                self.states.push(chain(previous, digest));
                Ok(())
            }
            None => Err(format!(
                "node {node} applied entry {} before entry {} was applied anywhere",
                entry.index,
                self.committed_len() + 1
            )),
        }
    }

    /// Returns the state machine digest after applying every entry through `index`.
    pub fn state_at(&self, index: Index) -> Option<u64> {
        match index {
            0 => Some(0),
            _ => self.states.get(usize::try_from(index - 1).ok()?).copied(),
        }
    }

    /// Checks a proposal outcome against the committed entries.
    pub fn on_outcome(
        &self,
        node: NodeId,
        id: LogId,
        outcome: ProposalOutcome,
    ) -> Result<(), String> {
        let committed = self.committed_at(id.index).map(|(term, _)| term);
        let consistent = match outcome {
            ProposalOutcome::Committed => committed == Some(id.term),
            ProposalOutcome::Overwritten => committed.is_some_and(|term| term != id.term),
            ProposalOutcome::Unknown => true,
        };
        if consistent {
            Ok(())
        } else {
            Err(format!(
                "node {node} reported proposal {}.{} {outcome:?}, but the committed term there \
                 is {committed:?}",
                id.term, id.index
            ))
        }
    }
}

/// Returns the state machine digest after applying an entry with `digest` to a state with
/// digest `state`.
pub fn chain(state: u64, digest: u64) -> u64 {
    (state ^ digest).wrapping_mul(0x9e37_79b9_7f4a_7c15).rotate_left(29)
}

/// Returns a 64-bit FNV-1a digest of an entry's payload.
pub fn digest_of(entry: &Entry) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut feed = |bytes: &[u8]| {
        for byte in bytes {
            hash ^= u64::from(*byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    };
    match &entry.payload {
        Payload::Empty => feed(b"empty"),
        Payload::Data(data) => {
            feed(b"data");
            feed(data);
        }
        Payload::Membership(membership) => {
            feed(b"membership");
            for id in membership.members() {
                feed(&id.to_le_bytes());
            }
            feed(b"learners");
            for learner in membership.learners() {
                feed(&learner.id.to_le_bytes());
                feed(&[u8::from(learner.pending)]);
            }
        }
    }
    hash
}
