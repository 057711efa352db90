//! The election and leader behaviours the core must show, one test each.

mod support;

use bytes::Bytes;
use sansraft::{Body, Input, LogId, Output, Payload, ProposalOutcome, ReplicationState, Role};
use support::*;

#[test]
fn follower_campaigns_after_random_timeout() {
    let mut deadlines = Vec::new();
    for id in 1..=3 {
        let mut node = node(id, &[1, 2, 3]);
        drain(&mut node);
        let deadline = node.next_deadline_ms().unwrap();
        assert!((150..300).contains(&deadline), "deadline {deadline} outside 150..300");
        deadlines.push(deadline);

        node.tick(deadline - 1).unwrap();
        assert!(sent(&drain_persisting(&mut node)).is_empty(), "asked for votes early");
        node.tick(deadline).unwrap();

        // The election opens with a pre-vote round for term 1, which changes no term.
        let requests = sent(&drain_persisting(&mut node));
        let pre_votes: Vec<_> = requests
            .iter()
            .filter(|m| matches!(m.body, Body::PreVote { .. }) && m.term == 1)
            .map(|m| m.to)
            .collect();
        assert_eq!(pre_votes.len(), 2, "pre-votes sent: {requests:?}");
        assert_eq!(node.term(), 0);

        let voter = pre_votes[0];
        let grant = message(voter, id, 1, Body::PreVoteResponse { granted: true });
        node.receive(grant).unwrap();
        assert_eq!(node.role(), Role::Candidate);
        assert_eq!(node.term(), 1);
    }
    deadlines.dedup();
    assert!(deadlines.len() > 1, "every node drew the same timeout: {deadlines:?}");
}

#[test]
fn single_voter_elects_itself_without_timeout() {
    let membership = sansraft::Membership::with_members([1]).unwrap();
    let mut node = sansraft::Node::new(config(1), membership).unwrap();
    let outputs = drain(&mut node);
    assert_eq!(node.role(), Role::Candidate);
    let token = newest_token(&outputs).expect("the vote is persisted first");

    node.persisted(token).unwrap();
    assert_eq!(node.role(), Role::Leader);
    assert_eq!(node.term(), 1);
    node.propose(Bytes::from_static(b"x")).unwrap();
    let outputs = drain_persisting(&mut node);
    assert!(outputs.iter().any(|o| matches!(o, Output::Apply(e) if e.index == 1)));
}

#[test]
fn follower_behind_known_commit_never_campaigns() {
    let mut node = node(3, &[1, 2, 3]);
    node.receive(append(1, 3, 1, LogId::new(0, 0), Vec::new(), 5)).unwrap();
    drain_persisting(&mut node);
    assert_eq!(node.leader(), Some(1));

    for now in (100..5_000).step_by(50) {
        node.tick(now).unwrap();
        let requests = sent(&drain_persisting(&mut node));
        assert!(requests.is_empty(), "asked for votes at {now} ms: {requests:?}");
        assert_eq!(node.role(), Role::Follower, "campaigned at {now} ms");
    }
    assert_eq!(node.term(), 1);
}

#[test]
fn granting_vote_resets_election_timer() {
    let mut node = node(2, &[1, 2, 3]);
    let first_deadline = node.next_deadline_ms().unwrap();

    node.tick(first_deadline - 1).unwrap();
    node.receive(request_vote(3, 2, 1, LogId::new(0, 0))).unwrap();
    let outputs = drain_persisting(&mut node);
    let grants = sent(&outputs);
    assert!(matches!(grants[0].body, Body::VoteResponse { granted: true, .. }));

    node.tick(first_deadline).unwrap();
    assert_eq!(node.role(), Role::Follower);
    let second_deadline = node.next_deadline_ms().unwrap();
    assert!(second_deadline >= first_deadline + 150, "deadline {second_deadline} not reset");

    // Granting the same vote again also resets the timer.
    node.tick(second_deadline - 1).unwrap();
    node.receive(request_vote(3, 2, 1, LogId::new(0, 0))).unwrap();
    let regrant = sent(&drain_persisting(&mut node));
    assert!(matches!(regrant[0].body, Body::VoteResponse { granted: true, .. }));
    node.tick(second_deadline).unwrap();
    assert_eq!(node.role(), Role::Follower);
}

#[test]
fn vote_response_sets_replication_point() {
    let mut node = restored(1, &[1, 2, 3], 1, &[1, 1, 1, 1, 1], 0);
    node.step(Input::Campaign).unwrap();
    drain_persisting(&mut node);
    node.receive(vote_response(2, 1, 2, true, 3)).unwrap();
    let outputs = drain_persisting(&mut node);
    assert_eq!(node.role(), Role::Leader);

    let peer = node.status().peers.into_iter().find(|p| p.id == 2).unwrap();
    assert_eq!(peer.state, ReplicationState::Replicate);
    let to_two: Vec<_> = sent(&outputs).into_iter().filter(|m| m.to == 2).collect();
    let Body::AppendEntries { prev, entries, .. } = &to_two[0].body else {
        panic!("expected an append, got {:?}", to_two[0]);
    };
    assert_eq!(*prev, LogId::new(1, 3));
    assert_eq!(entries.first().map(|e| e.index), Some(4));
}

#[test]
fn new_leader_sends_append_to_every_peer() {
    let mut node = node(1, &[1, 2, 3, 4, 5]);
    node.step(Input::Campaign).unwrap();
    drain_persisting(&mut node);
    node.receive(vote_response(2, 1, 1, true, 0)).unwrap();
    let quiet = drain_persisting(&mut node);
    assert!(sent(&quiet).is_empty(), "no append before a majority");
    node.receive(vote_response(3, 1, 1, true, 0)).unwrap();
    let outputs = drain_persisting(&mut node);

    let mut receivers: Vec<_> = sent(&outputs)
        .into_iter()
        .filter(|m| matches!(m.body, Body::AppendEntries { .. }))
        .map(|m| m.to)
        .collect();
    receivers.sort_unstable();
    assert_eq!(receivers, vec![2, 3, 4, 5]);
}

#[test]
fn new_leader_appends_noop_for_uncommitted_entries() {
    let mut node = restored(1, &[1, 2, 3], 1, &[1, 1], 0);
    node.step(Input::Campaign).unwrap();
    drain_persisting(&mut node);
    node.receive(vote_response(2, 1, 2, true, 2)).unwrap();
    drain_persisting(&mut node);
    assert_eq!(node.role(), Role::Leader);
    let last = node.entry(3).expect("a no-op at index 3");
    assert_eq!(last.term, 2);
    assert_eq!(last.payload, Payload::Empty);

    let mut committed = restored(1, &[1, 2, 3], 1, &[1, 1], 2);
    committed.step(Input::Campaign).unwrap();
    drain_persisting(&mut committed);
    committed.receive(vote_response(2, 1, 2, true, 2)).unwrap();
    drain_persisting(&mut committed);
    assert_eq!(committed.role(), Role::Leader);
    assert_eq!(committed.last_log_id(), LogId::new(1, 2), "no no-op when all is committed");
}

#[test]
fn longer_follower_log_triggers_noop() {
    let mut leader = restored(1, &[1, 2, 3], 1, &[1, 1], 2);
    leader.step(Input::Campaign).unwrap();
    drain_persisting(&mut leader);
    leader.receive(vote_response(2, 1, 2, true, 2)).unwrap();
    drain_persisting(&mut leader);
    assert_eq!(leader.last_log_id(), LogId::new(1, 2));

    leader.receive(accepted(3, 1, 2, 2, 4)).unwrap();
    let outputs = drain_persisting(&mut leader);
    assert_eq!(leader.last_log_id(), LogId::new(2, 3));
    let to_three = sent(&outputs).into_iter().find(|m| m.to == 3).expect("the no-op is sent");
    let Body::AppendEntries { entries, .. } = &to_three.body else {
        panic!("expected an append, got {to_three:?}");
    };
    assert_eq!(entries[0].payload, Payload::Empty);
}

#[test]
fn every_proposal_ends_with_outcome() {
    let mut leader = elected_leader(1, &[1, 2, 3]);
    let first = leader.propose(Bytes::from_static(b"kept")).unwrap();
    drain_persisting(&mut leader);
    leader.receive(accepted(2, 1, 1, first.index, first.index)).unwrap();
    let outputs = drain_persisting(&mut leader);
    let apply_at = outputs.iter().position(|o| matches!(o, Output::Apply(e) if e.id() == first));
    let outcome_at = outputs
        .iter()
        .position(|o| *o == Output::Proposal { id: first, outcome: ProposalOutcome::Committed });
    assert!(apply_at.is_some(), "committed entry applied");
    assert!(outcome_at > apply_at, "outcome follows the apply");

    // A second proposal never leaves this node; a leader of term 2 commits another entry at
    // its index, and the proposal ends as overwritten.
    let lost = leader.propose(Bytes::from_static(b"lost")).unwrap();
    drain(&mut leader);
    let replacement = data_entry(2, lost.index, "other");
    let prev = LogId::new(1, first.index);
    leader.receive(append(2, 1, 2, prev, vec![replacement], lost.index)).unwrap();
    let outputs = drain_persisting(&mut leader);
    assert_eq!(leader.role(), Role::Follower);
    let expected = Output::Proposal { id: lost, outcome: ProposalOutcome::Overwritten };
    assert!(outputs.contains(&expected), "outputs: {outputs:?}");
}

#[test]
fn proposal_on_follower_is_rejected() {
    let mut follower = node(2, &[1, 2, 3]);
    follower.receive(append(1, 2, 1, LogId::new(0, 0), Vec::new(), 0)).unwrap();
    let error = follower.propose(Bytes::from_static(b"x")).unwrap_err();
    assert_eq!(error, sansraft::Error::NotLeader { leader: Some(1) });
}

#[test]
fn new_leader_first_tick_sends_heartbeats() {
    let mut leader = elected_leader(1, &[1, 2, 3]);
    let deadline = leader.next_deadline_ms().unwrap();
    leader.tick(deadline).unwrap();
    let heartbeats = sent(&drain_persisting(&mut leader));
    let mut receivers: Vec<_> = heartbeats
        .iter()
        .filter(|m| matches!(m.body, Body::AppendEntries { .. }))
        .map(|m| m.to)
        .collect();
    receivers.sort_unstable();
    assert_eq!(receivers, vec![2, 3]);
}

#[test]
fn leader_without_quorum_steps_down() {
    let mut leader = elected_leader(1, &[1, 2, 3]);
    for now in (50..=200).step_by(50) {
        leader.tick(now).unwrap();
        drain_persisting(&mut leader);
        if now < 150 {
            assert_eq!(leader.role(), Role::Leader, "stepped down early at {now} ms");
        }
    }
    assert_eq!(leader.role(), Role::Follower);
    assert_eq!(leader.leader(), None);
    assert_eq!(leader.term(), 1);
}

#[test]
fn leader_with_quorum_keeps_leading() {
    let mut leader = elected_leader(1, &[1, 2, 3]);
    for now in (50..=1_000).step_by(50) {
        leader.tick(now).unwrap();
        drain_persisting(&mut leader);
        leader.receive(accepted(2, 1, 1, 0, 0)).unwrap();
        drain_persisting(&mut leader);
    }
    assert_eq!(leader.role(), Role::Leader);
}

#[test]
fn timeout_without_pre_vote_campaigns_at_once() {
    let mut config = config(1);
    config.pre_vote = false;
    let membership = sansraft::Membership::with_members([1, 2, 3]).unwrap();
    let mut node = sansraft::Node::new(config, membership).unwrap();
    node.tick(0).unwrap();
    let deadline = node.next_deadline_ms().unwrap();
    node.tick(deadline).unwrap();
    assert_eq!(node.role(), Role::Candidate);
    assert_eq!(node.term(), 1);
}

#[test]
fn pre_vote_changes_no_term() {
    let mut voter = node(2, &[1, 2, 3]);
    voter.receive(message(3, 2, 5, Body::PreVote { last_log: LogId::new(0, 0) })).unwrap();
    let answers = sent(&drain_persisting(&mut voter));
    assert_eq!(answers[0].body, Body::PreVoteResponse { granted: true });
    assert_eq!(answers[0].term, 5);
    assert_eq!(voter.term(), 0);
    assert_eq!(voter.status().vote, None);
}

#[test]
fn pre_vote_refused_while_leader_heard() {
    let mut voter = node(2, &[1, 2, 3]);
    voter.receive(append(1, 2, 1, LogId::new(0, 0), Vec::new(), 0)).unwrap();
    drain_persisting(&mut voter);
    voter.receive(message(3, 2, 2, Body::PreVote { last_log: LogId::new(0, 0) })).unwrap();
    let answers = sent(&drain_persisting(&mut voter));
    assert_eq!(answers[0].body, Body::PreVoteResponse { granted: false });
    assert_eq!(answers[0].term, 1);
}
