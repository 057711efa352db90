//! What a host keeps on disk for one node, written only when the fuzzer says a write finished,
//! and the persistence contract that every message leaving the node must meet against it.

use std::borrow::Borrow;
use std::collections::BTreeSet;

use sansraft::{
    AppendOutcome, Body, Entry, HardState, Index, Membership, Message, Node, NodeId,
    PersistRequest, RestoreState, SnapshotMeta, Term,
};

/// The durable state of one node, as a host that applies persist requests in order keeps it.
#[derive(Clone, Debug, Default)]
pub struct Durable {
    /// The durable term and vote.
    pub hard_state: HardState,
    /// The latest durable snapshot description.
    pub snapshot: Option<SnapshotMeta>,
    /// Every entry through this index was compacted away.
    pub base_index: Index,
    /// The durable log, contiguous from `base_index + 1`.
    pub log: Vec<Entry>,
    /// Indexes of the snapshots whose data the host has stored. Data is stored before the
    /// node hears of a snapshot, so it survives a crash whether or not a request recorded it.
    pub stored_snapshots: BTreeSet<Index>,
}

impl Durable {
    /// Returns the last durable log index, counting the compacted prefix.
    pub fn last_index(&self) -> Index {
        self.log.last().map_or(self.base_index, |entry| entry.index)
    }

    /// Returns the durable entry at `index`, if the log contains it.
    pub fn entry(&self, index: Index) -> Option<&Entry> {
        let first = self.log.first()?.index;
        let offset = usize::try_from(index.checked_sub(first)?).ok()?;
        self.log.get(offset)
    }

    /// Returns the index of the durable snapshot, or 0 without one.
    pub fn snapshot_index(&self) -> Index {
        self.snapshot.as_ref().map_or(0, |meta| meta.last.index)
    }

    fn last_term(&self) -> Term {
        match (self.log.last(), &self.snapshot) {
            (Some(entry), _) => entry.term,
            (None, Some(meta)) if meta.last.index == self.base_index => meta.last.term,
            _ => 0,
        }
    }

    /// Writes one persist request, in the order `PersistRequest` documents, and panics when
    /// the request would leave a state that a restart cannot use.
    pub fn write(&mut self, request: &PersistRequest) {
        let token = request.token;
        if let Some(hard_state) = request.hard_state {
            self.write_hard_state(token, hard_state);
        }
        if let Some(meta) = &request.snapshot {
            // `Borrow` takes the description whether the request holds it boxed or not.
            let meta: &SnapshotMeta = meta.borrow();
            let index = meta.last.index;
            assert!(
                self.stored_snapshots.contains(&index),
                "persist token {token} records snapshot {index}, whose data was never stored"
            );
            assert!(
                index >= self.snapshot_index(),
                "persist token {token} replaces snapshot {} with older snapshot {index}",
                self.snapshot_index()
            );
            self.snapshot = Some(meta.clone());
        }
        if let Some(through) = request.compact_through {
            self.log.retain(|entry| entry.index > through);
            self.base_index = self.base_index.max(through);
        }
        if let Some(from) = request.truncate_from {
            self.log.retain(|entry| entry.index < from);
        }
        for entry in &request.entries {
            self.append(token, entry);
        }
    }

    fn write_hard_state(&mut self, token: u64, hard_state: HardState) {
        let old = self.hard_state;
        assert!(
            hard_state.term >= old.term,
            "persist token {token} lowers the durable term from {} to {}",
            old.term,
            hard_state.term
        );
        if hard_state.term == old.term && old.vote.is_some() {
            assert_eq!(
                hard_state.vote, old.vote,
                "persist token {token} changes the vote cast in term {}",
                old.term
            );
        }
        self.hard_state = hard_state;
    }

    fn append(&mut self, token: u64, entry: &Entry) {
        let expected = self.last_index() + 1;
        assert_eq!(
            entry.index, expected,
            "persist token {token} appends entry {} where the durable log expects {expected}",
            entry.index
        );
        let previous_term = self.last_term();
        assert!(
            entry.term >= previous_term,
            "persist token {token} appends entry {} of term {} after term {previous_term}",
            entry.index,
            entry.term
        );
        assert!(
            entry.term <= self.hard_state.term,
            "persist token {token} appends entry {} of term {}, above the durable term {}",
            entry.index,
            entry.term,
            self.hard_state.term
        );
        self.log.push(entry.clone());
    }

    /// Returns what a host hands to `Node::restore` after a crash. The state machine is
    /// rebuilt from the durable snapshot, so the applied index is the snapshot's.
    pub fn restore_state(&self, bootstrap: &Membership) -> RestoreState {
        RestoreState {
            hard_state: self.hard_state,
            snapshot: self.snapshot.clone(),
            entries: self.log.clone(),
            membership: bootstrap.clone(),
            applied: self.snapshot_index(),
        }
    }
}

/// Panics unless `message`, about to leave `node`, is backed by the durable state: a vote
/// request by the candidate's own durable vote, a vote grant by the durable vote for the
/// candidate, and an accepting append response by durable entries that match the node's log
/// up to the acknowledged index.
pub fn check_send_contract(durable: &Durable, node: &Node, message: &Message) {
    let id = node.id();
    let durable_vote = (durable.hard_state.term, durable.hard_state.vote);
    match &message.body {
        Body::RequestVote { .. } => assert_eq!(
            durable_vote,
            (message.term, Some(id)),
            "node {id} sent a vote request for term {} before its own vote was durable",
            message.term
        ),
        Body::VoteResponse { granted: true, .. } => assert_eq!(
            durable_vote,
            (message.term, Some(message.to)),
            "node {id} granted its vote to {} in term {} before the vote was durable",
            message.to,
            message.term
        ),
        Body::AppendResponse { outcome: AppendOutcome::Accepted { match_index }, .. } => {
            check_acknowledged_entries(durable, node, message.term, *match_index);
        }
        _ => {}
    }
}

/// Panics unless every entry up to `match_index` that neither side has compacted is durable
/// and, for an acknowledgement of the current term, has the term the node's log gives it.
fn check_acknowledged_entries(
    durable: &Durable,
    node: &Node,
    message_term: Term,
    match_index: Index,
) {
    let id = node.id();

    // A snapshot contains only committed entries, so an index it covers needs no durable
    // entry of its own.
    if match_index <= durable.snapshot_index() || match_index < node.first_log_index() {
        return;
    }
    assert!(
        match_index <= durable.last_index(),
        "node {id} acknowledged entries up to {match_index}, but its durable log ends at {}",
        durable.last_index()
    );
    // An acknowledgement released before a newer leader changed the log vouches for the
    // older log, which the node no longer holds to compare with.
    if message_term < node.term() {
        return;
    }
    let first_durable = durable.log.first().map_or(durable.base_index + 1, |entry| entry.index);
    let first = first_durable.max(node.first_log_index());
    for index in first..=match_index {
        let durable_term = durable.entry(index).map(|entry| entry.term);
        let log_term = node.log_term(index);
        assert_eq!(
            durable_term, log_term,
            "node {id} acknowledged entries up to {match_index}, but entry {index} has durable \
             term {durable_term:?} and log term {log_term:?}"
        );
    }
}

/// Panics unless a message the node sends is addressed from it to another server.
pub fn check_addressing(node_id: NodeId, message: &Message) {
    assert_eq!(message.from, node_id, "node {node_id} sent a message from {}", message.from);
    assert_ne!(message.to, node_id, "node {node_id} sent a message to itself");
    assert_ne!(message.to, 0, "node {node_id} sent a message to the reserved id 0");
}
