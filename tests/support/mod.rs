//! Helpers for driving single nodes in tests.
#![allow(dead_code)]

use bytes::Bytes;
use sansraft::{
    AppendOutcome, Body, Config, Entry, HardState, Index, LogId, Membership, Message, Node, NodeId,
    Output, Payload, RestoreState, Term,
};

/// Returns a config for `id` with the default timings and a seed derived from the id.
pub fn config(id: NodeId) -> Config {
    Config::new(id)
}

/// Builds a fresh node `id` in a cluster of `members`, with its clock started at 0.
pub fn node(id: NodeId, members: &[NodeId]) -> Node {
    let membership = Membership::with_members(members.iter().copied()).unwrap();
    let mut node = Node::new(config(id), membership).unwrap();
    node.tick(0).unwrap();
    node
}

/// Builds node `id` from a persisted term and log with entries of the given terms.
pub fn restored(
    id: NodeId,
    members: &[NodeId],
    term: Term,
    terms: &[Term],
    applied: Index,
) -> Node {
    let membership = Membership::with_members(members.iter().copied()).unwrap();
    let state = RestoreState {
        hard_state: HardState { term, vote: None },
        snapshot: None,
        entries: entries_with_terms(terms),
        membership,
        applied,
    };
    let mut node = Node::restore(config(id), state).unwrap();
    node.tick(0).unwrap();
    node
}

/// Returns data entries from index 1 with the given terms.
pub fn entries_with_terms(terms: &[Term]) -> Vec<Entry> {
    terms
        .iter()
        .enumerate()
        .map(|(at, term)| data_entry(*term, at as Index + 1, &format!("e{}", at + 1)))
        .collect()
}

/// Returns a data entry.
pub fn data_entry(term: Term, index: Index, text: &str) -> Entry {
    Entry { term, index, payload: Payload::Data(Bytes::from(text.to_owned())) }
}

/// Drains every output.
pub fn drain(node: &mut Node) -> Vec<Output> {
    std::iter::from_fn(|| node.poll_output()).collect()
}

/// Drains outputs, acknowledges every persist request at once, and repeats until the node
/// is quiet. Returns everything it emitted.
pub fn drain_persisting(node: &mut Node) -> Vec<Output> {
    let mut all = Vec::new();
    loop {
        let outputs = drain(node);
        if outputs.is_empty() {
            return all;
        }
        let newest = outputs
            .iter()
            .filter_map(|output| match output {
                Output::Persist(request) => Some(request.token),
                _ => None,
            })
            .max();
        all.extend(outputs);
        if let Some(token) = newest {
            node.persisted(token).unwrap();
        }
    }
}

/// Returns the messages among `outputs`.
pub fn sent(outputs: &[Output]) -> Vec<Message> {
    outputs
        .iter()
        .filter_map(|output| match output {
            Output::Send(message) => Some(message.clone()),
            _ => None,
        })
        .collect()
}

/// Returns the newest persist token among `outputs`.
pub fn newest_token(outputs: &[Output]) -> Option<u64> {
    outputs
        .iter()
        .filter_map(|output| match output {
            Output::Persist(request) => Some(request.token),
            _ => None,
        })
        .max()
}

/// Builds a message.
pub fn message(from: NodeId, to: NodeId, term: Term, body: Body) -> Message {
    Message { from, to, term, body }
}

/// Builds a vote request from `candidate` to `to`.
pub fn request_vote(candidate: NodeId, to: NodeId, term: Term, last_log: LogId) -> Message {
    message(candidate, to, term, Body::RequestVote { last_log })
}

/// Builds a granted or refused vote response.
pub fn vote_response(voter: NodeId, to: NodeId, term: Term, granted: bool, last: Index) -> Message {
    message(voter, to, term, Body::VoteResponse { granted, last_log_index: last })
}

/// Builds an append request.
pub fn append(
    leader: NodeId,
    to: NodeId,
    term: Term,
    prev: LogId,
    entries: Vec<Entry>,
    commit: Index,
) -> Message {
    message(leader, to, term, Body::AppendEntries { prev, entries, commit })
}

/// Builds an accepting append response.
pub fn accepted(from: NodeId, to: NodeId, term: Term, match_index: Index, last: Index) -> Message {
    let outcome = AppendOutcome::Accepted { match_index };
    message(from, to, term, Body::AppendResponse { outcome, last_log_index: last })
}

/// Makes node `id` of `members` leader of term 1 by feeding it granted votes.
pub fn elected_leader(id: NodeId, members: &[NodeId]) -> Node {
    let mut node = node(id, members);
    node.step(sansraft::Input::Campaign).unwrap();
    drain_persisting(&mut node);
    for voter in members.iter().copied().filter(|voter| *voter != id) {
        node.receive(vote_response(voter, id, node.term(), true, 0)).unwrap();
    }
    drain_persisting(&mut node);
    assert_eq!(node.role(), sansraft::Role::Leader);
    node
}
