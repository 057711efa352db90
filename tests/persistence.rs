//! The persistence contract: what waits for durability, token handling, and restart.

mod support;

use bytes::Bytes;
use sansraft::{
    AppendOutcome, Body, Error, HardState, Index, Input, LogId, Membership, Message, Node, Output,
    PersistRequest, RestoreState, Role, Term,
};
use support::*;

#[test]
fn vote_grant_waits_for_persist() {
    let mut node = node(2, &[1, 2, 3]);
    node.receive(request_vote(1, 2, 1, LogId::new(0, 0))).unwrap();
    let outputs = drain(&mut node);
    assert!(sent(&outputs).is_empty(), "grant left before the vote was durable");
    let token = newest_token(&outputs).unwrap();

    node.persisted(token).unwrap();
    let released = sent(&drain(&mut node));
    assert_eq!(released.len(), 1);
    assert!(matches!(released[0].body, Body::VoteResponse { granted: true, .. }));
}

#[test]
fn refusal_is_sent_at_once() {
    let mut node = restored(2, &[1, 2, 3], 1, &[1, 1], 0);
    node.receive(request_vote(1, 2, 2, LogId::new(1, 1))).unwrap();
    let outputs = drain(&mut node);
    let refusals = sent(&outputs);
    assert_eq!(refusals.len(), 1);
    assert!(matches!(refusals[0].body, Body::VoteResponse { granted: false, .. }));
}

#[test]
fn append_ack_waits_for_persist() {
    let mut node = node(2, &[1, 2, 3]);
    let entries = vec![data_entry(1, 1, "a"), data_entry(1, 2, "b")];
    node.receive(append(1, 2, 1, LogId::new(0, 0), entries, 0)).unwrap();
    let outputs = drain(&mut node);
    assert!(sent(&outputs).is_empty(), "ack left before the entries were durable");
    let Some(Output::Persist(request)) = outputs.iter().find(|o| matches!(o, Output::Persist(_)))
    else {
        panic!("no persist request in {outputs:?}");
    };
    assert_eq!(request.entries.len(), 2);

    node.persisted(request.token).unwrap();
    let released = sent(&drain(&mut node));
    let expected = Body::AppendResponse {
        outcome: AppendOutcome::Accepted { match_index: 2 },
        last_log_index: 2,
    };
    assert_eq!(released[0].body, expected);
}

#[test]
fn leader_counts_itself_only_when_durable() {
    let mut leader = elected_leader(1, &[1, 2, 3]);
    let id = leader.propose(Bytes::from_static(b"x")).unwrap();
    let outputs = drain(&mut leader);
    let token = newest_token(&outputs).unwrap();

    leader.receive(accepted(2, 1, 1, id.index, id.index)).unwrap();
    drain(&mut leader);
    assert_eq!(leader.commit_index(), 0, "committed with one durable copy of three");

    leader.persisted(token).unwrap();
    assert_eq!(leader.commit_index(), id.index);
}

#[test]
fn persisted_token_errors_change_nothing() {
    let mut node = node(2, &[1, 2, 3]);
    node.receive(request_vote(1, 2, 1, LogId::new(0, 0))).unwrap();
    let token = newest_token(&drain(&mut node)).unwrap();

    let unknown = node.persisted(token + 1).unwrap_err();
    assert_eq!(unknown, Error::UnknownToken { token: token + 1, issued: token });
    assert!(sent(&drain(&mut node)).is_empty(), "an unknown token released a message");

    node.persisted(token).unwrap();
    assert_eq!(sent(&drain(&mut node)).len(), 1);
    let duplicate = node.persisted(token).unwrap_err();
    assert_eq!(duplicate, Error::StaleToken { token, acknowledged: token });
    let older = node.persisted(0).unwrap_err();
    assert_eq!(older, Error::StaleToken { token: 0, acknowledged: token });
    assert!(drain(&mut node).is_empty());
}

#[test]
fn misuse_returns_typed_errors() {
    let mut node = node(2, &[1, 2, 3]);
    let wrong = request_vote(1, 3, 1, LogId::new(0, 0));
    assert_eq!(node.receive(wrong), Err(Error::WrongRecipient { to: 3 }));
    let from_self = request_vote(2, 2, 1, LogId::new(0, 0));
    assert_eq!(node.receive(from_self), Err(Error::FromSelf));
    node.tick(100).unwrap();
    assert_eq!(node.tick(99), Err(Error::TimeWentBackwards { now_ms: 99, last_ms: 100 }));
    let applied = node.step(Input::Applied { index: 1 }).unwrap_err();
    assert_eq!(applied, Error::AppliedOutOfRange { index: 1, applied: 0, handed_out: 0 });
    assert_eq!(node.term(), 0);
}

#[test]
fn restore_rejects_inconsistent_state() {
    let membership = Membership::with_members([1, 2, 3]).unwrap();
    let gap = RestoreState {
        hard_state: HardState { term: 1, vote: None },
        snapshot: None,
        entries: vec![data_entry(1, 1, "a"), data_entry(1, 3, "c")],
        membership: membership.clone(),
        applied: 0,
    };
    let error = Node::restore(config(1), gap).unwrap_err();
    assert_eq!(
        error,
        Error::InvalidRestore(sansraft::RestoreError::GapInLog { expected: 2, found: 3 })
    );
    let ahead = RestoreState {
        hard_state: HardState { term: 1, vote: None },
        snapshot: None,
        entries: vec![data_entry(2, 1, "a")],
        membership,
        applied: 0,
    };
    assert!(Node::restore(config(1), ahead).is_err());
}

/// One message the node released, with the persist token whose acknowledgement released it
/// and, for an acknowledgement, the term of the acknowledged entry.
struct Released {
    after_token: u64,
    message: Message,
    acknowledged_term: Option<Term>,
}

/// Drives a follower through votes in two terms and several appends, acknowledging persist
/// tokens one at a time. Returns the persist requests and the messages each token released.
fn follower_history() -> (Vec<PersistRequest>, Vec<Released>) {
    let inputs = vec![
        request_vote(1, 2, 1, LogId::new(0, 0)),
        request_vote(3, 2, 2, LogId::new(0, 0)),
        append(3, 2, 2, LogId::new(0, 0), vec![data_entry(2, 1, "a"), data_entry(2, 2, "b")], 0),
        append(3, 2, 2, LogId::new(2, 2), vec![data_entry(2, 3, "c")], 2),
        append(3, 2, 2, LogId::new(2, 1), vec![data_entry(2, 2, "b"), data_entry(2, 3, "c")], 3),
    ];
    let mut node = node(2, &[1, 2, 3]);
    let mut requests = Vec::new();
    let mut released = Vec::new();
    for input in inputs {
        node.receive(input).unwrap();
        let mut outputs = drain(&mut node);
        while !outputs.is_empty() {
            let mut tokens = Vec::new();
            for output in outputs {
                match output {
                    Output::Persist(request) => {
                        tokens.push(request.token);
                        requests.push(request);
                    }
                    Output::Send(message) => {
                        let after_token = requests.last().map_or(0, |r| r.token);
                        let acknowledged_term = acknowledged_term(&node, &message);
                        released.push(Released { after_token, message, acknowledged_term });
                    }
                    _ => {}
                }
            }
            outputs = Vec::new();
            for token in tokens {
                node.persisted(token).unwrap();
                for output in drain(&mut node) {
                    if let Output::Send(message) = output {
                        let acknowledged_term = acknowledged_term(&node, &message);
                        released.push(Released { after_token: token, message, acknowledged_term });
                    } else {
                        outputs.push(output);
                    }
                }
            }
        }
    }
    (requests, released)
}

fn acknowledged_term(node: &Node, message: &Message) -> Option<Term> {
    match message.body {
        Body::AppendResponse { outcome: AppendOutcome::Accepted { match_index }, .. } => {
            node.entry(match_index).map(|entry| entry.term)
        }
        _ => None,
    }
}

fn write(state: &mut RestoreState, request: &PersistRequest) {
    if let Some(hard_state) = request.hard_state {
        state.hard_state = hard_state;
    }
    if let Some(from) = request.truncate_from {
        state.entries.truncate(from as usize - 1);
    }
    state.entries.extend(request.entries.iter().cloned());
}

#[test]
fn crash_at_every_persist_point_keeps_promises() {
    let (requests, released) = follower_history();
    assert!(requests.len() >= 4, "the history should persist several times");
    assert!(released
        .iter()
        .any(|r| matches!(r.message.body, Body::VoteResponse { granted: true, .. })));

    for written in 0..=requests.len() {
        let mut state = RestoreState {
            membership: Membership::with_members([1, 2, 3]).unwrap(),
            ..RestoreState::default()
        };
        for request in &requests[..written] {
            write(&mut state, request);
        }
        let acknowledged = requests[..written].last().map_or(0, |r| r.token);
        let restored = Node::restore(config(2), state.clone()).unwrap();

        for release in released.iter().filter(|r| r.after_token <= acknowledged) {
            check_promise_kept(&restored, &state, release, written);
        }
    }
}

fn check_promise_kept(restored: &Node, state: &RestoreState, release: &Released, written: usize) {
    let message = &release.message;
    match message.body {
        Body::VoteResponse { granted: true, .. } => {
            let HardState { term, vote } = state.hard_state;
            assert!(
                term > message.term || (term == message.term && vote == Some(message.to)),
                "after {written} writes the node forgot its vote for {} in term {}",
                message.to,
                message.term
            );
            if term == message.term {
                let mut again = Node::restore(config(2), state.clone()).unwrap();
                again.receive(request_vote(1, 2, term, LogId::new(9, 9))).unwrap();
                let answers = sent(&drain(&mut again));
                let granted = answers
                    .iter()
                    .any(|m| matches!(m.body, Body::VoteResponse { granted: true, .. }));
                assert!(!granted || message.to == 1, "voted twice in term {term}");
            }
        }
        Body::AppendResponse { outcome: AppendOutcome::Accepted { match_index }, .. } => {
            let held = restored.entry(match_index).map(|entry| entry.term);
            let expected = if match_index == 0 { None } else { release.acknowledged_term };
            assert_eq!(held, expected, "after {written} writes entry {match_index} is lost");
        }
        _ => {}
    }
    assert_eq!(restored.role(), Role::Follower);
    let _: Index = restored.commit_index();
}

#[test]
fn restore_rejects_log_behind_snapshot() {
    let membership = Membership::with_members([1, 2, 3]).unwrap();
    let snapshot =
        sansraft::SnapshotMeta { last: LogId::new(5, 10), membership: membership.clone() };
    let older_terms = RestoreState {
        hard_state: HardState { term: 5, vote: None },
        snapshot: Some(snapshot.clone()),
        entries: vec![data_entry(3, 11, "a"), data_entry(3, 12, "b")],
        membership: membership.clone(),
        applied: 10,
    };
    let error = Node::restore(config(1), older_terms).unwrap_err();
    assert_eq!(error, Error::InvalidRestore(sansraft::RestoreError::TermDecreases { index: 11 }));

    let other_entry_at_snapshot = RestoreState {
        hard_state: HardState { term: 5, vote: None },
        snapshot: Some(snapshot),
        entries: vec![data_entry(4, 10, "x"), data_entry(5, 11, "a")],
        membership,
        applied: 10,
    };
    let error = Node::restore(config(1), other_entry_at_snapshot).unwrap_err();
    assert_eq!(error, Error::InvalidRestore(sansraft::RestoreError::TermDecreases { index: 10 }));
}

#[test]
fn restore_rejects_vote_for_zero() {
    let state = RestoreState {
        hard_state: HardState { term: 1, vote: Some(0) },
        membership: Membership::with_members([1, 2, 3]).unwrap(),
        ..RestoreState::default()
    };
    let error = Node::restore(config(1), state).unwrap_err();
    assert_eq!(error, Error::InvalidRestore(sansraft::RestoreError::ZeroVote));
}
