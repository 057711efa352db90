//! Failures that fuzzing found, each kept as a test.
//!
//! Inputs replay through the fuzz targets' own logic (the modules under `fuzz/src`), so a
//! replay checks exactly what the fuzzer checked. Faults in the node or the simulator are
//! also written out by hand, for each variant of the fault.
#![cfg(feature = "arbitrary")]

mod support;

#[allow(dead_code)]
#[path = "../fuzz/src/cluster.rs"]
mod cluster;
#[allow(dead_code)]
#[path = "../fuzz/src/codec.rs"]
mod codec;
#[allow(dead_code)]
#[path = "../fuzz/src/host.rs"]
mod host;
#[allow(dead_code)]
#[path = "../fuzz/src/node_inputs.rs"]
mod node_inputs;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use bytes::Bytes;
use host::Durable;
use sansraft::sim::{Cluster, ClusterOptions, Faults};
use sansraft::{
    AppendOutcome, Body, Config, Entry, Error, Index, Input, LogId, Membership, Message, Node,
    NodeId, Output, Payload, ProposalOutcome, ReplicationState, Role, SnapshotMeta, Term,
    MAX_TERM_OR_INDEX,
};
use support::{data_entry, drain, node};

/// Drains `node` until it is quiet, writing every persist request to `durable` and
/// acknowledging it. Returns every output.
fn drain_to_disk(node: &mut Node, durable: &mut Durable) -> Vec<Output> {
    let mut all = Vec::new();
    loop {
        let outputs = drain(node);
        if outputs.is_empty() {
            return all;
        }
        let mut newest = None;
        for output in &outputs {
            if let Output::Persist(request) = output {
                durable.write(request);
                newest = Some(request.token);
            }
        }
        all.extend(outputs);
        if let Some(token) = newest {
            node.persisted(token).expect("the token was just issued");
        }
    }
}

/// Builds node `id` of members 1, 2 and 3 as a follower, with its clock started.
fn follower(id: NodeId) -> (Node, Durable) {
    let mut node = node(id, &[1, 2, 3]);
    let mut durable = Durable::default();
    drain_to_disk(&mut node, &mut durable);
    (node, durable)
}

/// Builds node 1 of members 1, 2 and 3 as the leader of term 1.
fn leader() -> (Node, Durable) {
    let (mut node, mut durable) = follower(1);
    node.step(Input::Campaign).unwrap();
    drain_to_disk(&mut node, &mut durable);
    let term = node.term();
    for voter in [2, 3] {
        let body = Body::VoteResponse { granted: true, last_log_index: 0 };
        node.receive(message(voter, 1, term, body)).unwrap();
    }
    drain_to_disk(&mut node, &mut durable);
    assert_eq!(node.role(), Role::Leader);
    (node, durable)
}

/// Returns the messages among `outputs` addressed to `to`.
fn sent_to(outputs: &[Output], to: NodeId) -> Vec<&Message> {
    outputs
        .iter()
        .filter_map(|output| match output {
            Output::Send(message) | Output::SendSnapshot(message) if message.to == to => {
                Some(message)
            }
            _ => None,
        })
        .collect()
}

fn message(from: NodeId, to: NodeId, term: Term, body: Body) -> Message {
    Message { from, to, term, body }
}

fn install(from: NodeId, to: NodeId, term: Term, last: LogId, members: &[NodeId]) -> Message {
    let membership = Membership::with_members(members.iter().copied()).unwrap();
    let meta = SnapshotMeta { last, membership };
    message(from, to, term, Body::InstallSnapshot { meta: meta.into() })
}

/// Runs `f` on another thread and returns whether it finished within `limit`.
fn finishes_within(limit: Duration, f: impl FnOnce() + Send + 'static) -> bool {
    let (done, finished) = mpsc::channel();
    thread::spawn(move || {
        f();
        let _ = done.send(());
    });
    finished.recv_timeout(limit).is_ok()
}

// Replays: inputs that failed an earlier version of a fuzz target's checks.

/// A leader of term 1 first showed entry 2 at term 0, then sent entry 1 at term 1, which
/// no leader does. The acknowledgement of the first message was released after the second
/// rewrote the log, and the check compared it with the rewritten log. Such messages are no
/// longer delivered.
#[test]
fn node_inputs_same_term_rewrite() {
    const INPUT: [u8; 142] = [
        0xab, 0xaa, 0xaa, 0xaa, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff,
        0xff, 0xff, 0x01, 0x01, 0x1f, 0x1e, 0x1e, 0x1e, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x93,
        0x24, 0x49, 0x92, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x01, 0x01, 0x00, 0x00, 0x00, 0x00, 0x01, 0x01, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x1f, 0x1e, 0x1e, 0x1e, 0x06, 0x00, 0x00, 0x00, 0x00,
        0x40, 0x01, 0x93, 0x24, 0x49, 0x92, 0x67, 0x66, 0x66, 0x66, 0x01, 0x01, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x34, 0x33, 0x33, 0x33, 0x01, 0x1f, 0x1e, 0x1e, 0x1e, 0x06, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x93, 0x24, 0x49, 0x92, 0x67, 0x66, 0x66, 0x66, 0x06, 0x01, 0x00, 0x00, 0x00,
        0x00, 0x01, 0x01, 0xab, 0xaa, 0xaa, 0xaa, 0x50, 0x8b, 0x8b, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x4c, 0x4b, 0x4b, 0x4b, 0x50, 0x00,
    ];
    node_inputs::run(&INPUT);
}

// The node.

/// Returns each kind of message from the reserved id 0 to node `to`, in term `term` and
/// the term before it.
fn messages_from_id_zero(to: NodeId, term: Term) -> Vec<Message> {
    let last_log = LogId::new(0, 0);
    let accepted = AppendOutcome::Accepted { match_index: 0 };
    let bodies = [
        Body::RequestVote { last_log },
        Body::PreVote { last_log },
        Body::PreVoteResponse { granted: true },
        Body::VoteResponse { granted: true, last_log_index: 0 },
        Body::AppendEntries { prev: last_log, entries: Vec::new(), commit: 0 },
        Body::AppendResponse { outcome: accepted, last_log_index: 0 },
    ];
    let stale = bodies.clone().map(|body| message(0, to, term.saturating_sub(1), body));
    let current = bodies.map(|body| message(0, to, term, body));
    stale.into_iter().chain(current).collect()
}

#[test]
fn message_from_id_zero_gets_no_reply() {
    for leads in [false, true] {
        let term = if leads { leader().0.term() } else { 1 };
        for input in messages_from_id_zero(1, term) {
            let (mut node, mut durable) = if leads { leader() } else { follower(1) };
            let kind = input.body.kind();
            let _ = node.receive(input);
            let outputs = drain_to_disk(&mut node, &mut durable);
            let replies = sent_to(&outputs, 0);
            assert!(replies.is_empty(), "leader {leads} answered a {kind} from id 0: {replies:?}");
        }
    }
}

/// A message with term `u64::MAX` once made the next campaign overflow `term + 1`. Terms
/// above `MAX_TERM_OR_INDEX` are now rejected, and a node at the largest accepted term
/// refuses to campaign instead of passing it.
#[test]
fn campaign_after_max_term_does_not_overflow() {
    let last_log = LogId::new(0, 0);
    let heartbeat = Body::AppendEntries { prev: last_log, entries: Vec::new(), commit: 0 };
    let bodies = [Body::RequestVote { last_log }, heartbeat];
    for body in bodies {
        let kind = body.kind();
        let (mut node, mut durable) = follower(1);
        let rejected = node.receive(message(2, 1, u64::MAX, body.clone()));
        let expected = Error::ValueOutOfRange { field: "term", value: u64::MAX };
        assert_eq!(rejected, Err(expected), "a {kind} of term u64::MAX was not rejected");
        assert_eq!(node.term(), 0, "a rejected {kind} changed the term");

        node.receive(message(2, 1, MAX_TERM_OR_INDEX, body)).unwrap();
        drain_to_disk(&mut node, &mut durable);
        let campaign = catch_unwind(AssertUnwindSafe(|| node.step(Input::Campaign)));
        assert!(campaign.is_ok(), "campaign after a {kind} of the largest term panicked");
        assert_eq!(node.term(), MAX_TERM_OR_INDEX, "the term passed the bound");
    }
}

/// Returns messages that carry `u64::MAX` in an index field, each with a name.
fn max_index_messages(to: NodeId, term: Term) -> Vec<(&'static str, Message)> {
    let max = u64::MAX;
    let at_max = LogId::new(term, max);
    let cases = [
        ("vote request from a log ending at u64::MAX", Body::RequestVote { last_log: at_max }),
        ("pre-vote from a log ending at u64::MAX", Body::PreVote { last_log: at_max }),
        (
            "vote with last index u64::MAX",
            Body::VoteResponse { granted: true, last_log_index: max },
        ),
        (
            "append after u64::MAX",
            Body::AppendEntries { prev: at_max, entries: Vec::new(), commit: max },
        ),
        (
            "append at u64::MAX",
            Body::AppendEntries {
                prev: LogId::new(term, max - 1),
                entries: vec![data_entry(term, max, "x")],
                commit: max,
            },
        ),
        (
            "acceptance up to u64::MAX",
            Body::AppendResponse {
                outcome: AppendOutcome::Accepted { match_index: max },
                last_log_index: max,
            },
        ),
        (
            "rejection at u64::MAX",
            Body::AppendResponse {
                outcome: AppendOutcome::Rejected { rejected_index: max, hint: at_max },
                last_log_index: max,
            },
        ),
    ];
    let mut messages: Vec<(&'static str, Message)> =
        cases.into_iter().map(|(name, body)| (name, message(2, to, term, body))).collect();
    messages.push(("snapshot at u64::MAX", install(2, to, term, at_max, &[1, 2, 3])));
    messages
}

#[test]
fn max_index_fields_do_not_overflow() {
    let mut failures = Vec::new();
    for leads in [false, true] {
        let term = if leads { leader().0.term() } else { 1 };
        for (name, input) in max_index_messages(1, term) {
            let outcome = catch_unwind(AssertUnwindSafe(|| {
                let (mut node, mut durable) = if leads { leader() } else { follower(1) };
                durable.stored_snapshots.insert(u64::MAX);
                let _ = node.receive(input);
                drain_to_disk(&mut node, &mut durable);
                node.tick(10_000).unwrap();
                drain_to_disk(&mut node, &mut durable);
                let bootstrap = Membership::with_members([1, 2, 3]).unwrap();
                Node::restore(Config::new(1), durable.restore_state(&bootstrap)).map(|_| ())
            }));
            match outcome {
                Ok(Ok(())) => {}
                Ok(Err(error)) => failures.push(format!("{name} (leader {leads}): {error}")),
                Err(_) => failures.push(format!("{name} (leader {leads}): panicked")),
            }
        }
    }
    assert!(failures.is_empty(), "failed cases:\n{}", failures.join("\n"));
}

#[test]
fn probe_rejection_at_max_index_does_not_overflow() {
    let (mut leader, mut durable) = leader();
    leader.propose(Bytes::from_static(b"x")).unwrap();
    drain_to_disk(&mut leader, &mut durable);
    let term = leader.term();
    let probing = leader.status().peers.iter().any(|peer| peer.state == ReplicationState::Probe);
    assert!(probing, "no peer is in probe state: {:?}", leader.status().peers);

    for peer in [2, 3] {
        let at_max = AppendOutcome::Rejected { rejected_index: u64::MAX, hint: LogId::new(0, 0) };
        let body = Body::AppendResponse { outcome: at_max, last_log_index: 0 };
        let outcome =
            catch_unwind(AssertUnwindSafe(|| leader.receive(message(peer, 1, term, body))));
        assert!(outcome.is_ok(), "the leader panicked on a rejection at u64::MAX from {peer}");
    }
}

#[test]
fn tick_near_clock_limit_does_not_overflow() {
    for leads in [false, true] {
        let (mut node, _) = if leads { leader() } else { follower(2) };
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            node.tick(u64::MAX - 10).unwrap();
            drain(&mut node);
            node.tick(u64::MAX).unwrap();
            drain(&mut node);
        }));
        assert!(outcome.is_ok(), "a node (leader {leads}) panicked on a tick near u64::MAX");
    }

    let mut config = Config::new(1);
    config.election_timeout_max_ms = u64::MAX;
    let membership = Membership::with_members([1, 2, 3]).unwrap();
    let outcome = catch_unwind(|| {
        let mut node = Node::new(config, membership).unwrap();
        node.tick(1_000).unwrap();
        drain(&mut node);
    });
    assert!(outcome.is_ok(), "a node panicked with an election timeout up to u64::MAX");
}

#[test]
fn snapshot_above_message_term_keeps_restart() {
    let (mut node, mut durable) = follower(2);
    durable.stored_snapshots.insert(5);
    node.receive(install(1, 2, 2, LogId::new(9, 5), &[1, 2, 3])).unwrap();
    drain_to_disk(&mut node, &mut durable);

    let bootstrap = Membership::with_members([1, 2, 3]).unwrap();
    let restarted = Node::restore(Config::new(2), durable.restore_state(&bootstrap));
    assert!(restarted.is_ok(), "restart failed: {:?}", restarted.err());
}

#[test]
fn snapshot_commit_outcome_follows_restore() {
    let (mut leader, mut durable) = leader();
    let proposal = leader.propose(Bytes::from_static(b"x")).unwrap();
    drain_to_disk(&mut leader, &mut durable);

    // A newer leader committed the proposal and compacted it into a snapshot.
    let term = leader.term() + 1;
    durable.stored_snapshots.insert(proposal.index);
    leader.receive(install(2, 1, term, proposal, &[1, 2, 3])).unwrap();
    let outputs = drain_to_disk(&mut leader, &mut durable);

    let restored = outputs.iter().position(|output| matches!(output, Output::RestoreSnapshot(_)));
    let reported = outputs.iter().position(|output| {
        matches!(output, Output::Proposal { id, outcome: ProposalOutcome::Committed } if *id == proposal)
    });
    assert!(restored.is_some(), "no RestoreSnapshot in {outputs:?}");
    assert!(reported.is_some(), "no committed outcome in {outputs:?}");
    assert!(reported > restored, "the outcome came before the snapshot: {outputs:?}");
}

/// Builds a sole-member leader with `count` committed and applied entries.
fn leader_with_applied_entries(count: u64) -> (Node, Durable) {
    let membership = Membership::with_members([1]).unwrap();
    let mut config = Config::new(1);
    config.snapshot_trailing_entries = 2;
    let mut node = Node::new(config, membership).unwrap();
    node.tick(0).unwrap();
    let mut durable = Durable::default();
    drain_to_disk(&mut node, &mut durable);
    for _ in 0..count {
        node.propose(Bytes::from_static(b"x")).unwrap();
        drain_to_disk(&mut node, &mut durable);
    }
    let applied: Index = node.commit_index();
    node.step(Input::Applied { index: applied }).unwrap();
    (node, durable)
}

#[test]
fn older_snapshot_does_not_replace_latest() {
    let (mut node, mut durable) = leader_with_applied_entries(6);
    let newer = node.snapshot_meta_at(5).unwrap();
    let older = node.snapshot_meta_at(4).unwrap();
    durable.stored_snapshots.extend([4, 5]);
    node.step(Input::SnapshotTaken(newer)).unwrap();
    drain_to_disk(&mut node, &mut durable);

    let _ = node.step(Input::SnapshotTaken(older));
    drain_to_disk(&mut node, &mut durable);
    assert_eq!(node.snapshot().map(|meta| meta.last.index), Some(5));
    assert_eq!(durable.snapshot_index(), 5);
}

// The simulator.

/// The input that first hung the `cluster` target: the sole member crashes, and the
/// clock runs while no event is pending.
#[test]
fn cluster_runs_with_no_pending_event() {
    const INPUT: [u8; 31] = [
        0xcd, 0xcc, 0xcc, 0xcc, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x01, 0x01, 0x00, 0x6a, 0x69, 0x69, 0x69, 0x00, 0x00, 0xf1, 0xf0, 0xf0, 0xf0, 0x64,
        0x00,
    ];
    cluster::run(&INPUT);
}

#[test]
fn run_until_returns_without_events() {
    let finished = finishes_within(Duration::from_secs(10), || {
        let options = ClusterOptions {
            membership: Membership::with_members([1]).unwrap(),
            joining: vec![2, 3],
            seed: 1,
            node_config: Config::new(1),
            faults: Faults::reliable(),
            trace: false,
            manual: true,
        };
        let mut cluster = Cluster::new(options).unwrap();
        cluster.crash(1, 0).unwrap();
        cluster.run_until(100, |_| false).unwrap();
    });
    assert!(finished, "run_until was still running after 10 s");
}

/// Checks a real encoded entry through the logic of both decode targets.
#[test]
fn codec_checks_real_entry() {
    let entry = Entry { term: 3, index: 7, payload: Payload::Data(Bytes::from_static(b"x")) };
    let mut encoded = Vec::new();
    sansraft::codec::encode_entry(&entry, &mut encoded);
    codec::decode_record(&encoded);
    codec::decode_message(&encoded);
}

/// A node that accepted the largest allowed term campaigned past it, and its durable state
/// then failed to restore. Found by `node_inputs` after the term bound was added.
#[test]
fn node_inputs_campaign_past_max_term() {
    node_inputs::run(include_bytes!("../fuzz/regressions/node_inputs-campaign-past-max-term"));
}

/// Neither an election timeout nor `Campaign` takes the term past `MAX_TERM_OR_INDEX`, and
/// the durable state restores afterwards.
#[test]
fn term_stays_within_bound() {
    let last_log = LogId::new(0, 0);
    let heartbeat = Body::AppendEntries { prev: last_log, entries: Vec::new(), commit: 0 };
    let (mut node, mut durable) = follower(1);
    node.receive(message(2, 1, MAX_TERM_OR_INDEX, heartbeat)).unwrap();
    drain_to_disk(&mut node, &mut durable);

    let refused = node.step(Input::Campaign);
    let expected = Error::ValueOutOfRange { field: "term", value: MAX_TERM_OR_INDEX + 1 };
    assert_eq!(refused, Err(expected));
    for now in (1_000..10_000).step_by(100) {
        node.tick(now).unwrap();
        drain_to_disk(&mut node, &mut durable);
    }
    assert_eq!(node.term(), MAX_TERM_OR_INDEX);
    let bootstrap = Membership::with_members([1, 2, 3]).unwrap();
    let restarted = Node::restore(Config::new(1), durable.restore_state(&bootstrap));
    assert!(restarted.is_ok(), "restart failed: {:?}", restarted.err());
}

/// A leader whose log reaches `MAX_TERM_OR_INDEX` refuses new entries with a typed error
/// instead of writing an index that would not restore.
#[test]
fn index_stays_within_bound() {
    let (mut node, mut durable) = follower(1);
    let at_max = LogId::new(1, MAX_TERM_OR_INDEX);
    durable.stored_snapshots.insert(MAX_TERM_OR_INDEX);
    node.receive(install(2, 1, 1, at_max, &[1, 2, 3])).unwrap();
    drain_to_disk(&mut node, &mut durable);
    assert_eq!(node.last_log_id(), at_max);

    node.step(Input::Campaign).unwrap();
    drain_to_disk(&mut node, &mut durable);
    for voter in [2, 3] {
        let body = Body::VoteResponse { granted: true, last_log_index: 0 };
        node.receive(message(voter, 1, node.term(), body)).unwrap();
    }
    drain_to_disk(&mut node, &mut durable);
    assert_eq!(node.role(), Role::Leader);

    let refused = node.propose(Bytes::from_static(b"x"));
    let expected = Error::ValueOutOfRange { field: "index", value: MAX_TERM_OR_INDEX + 1 };
    assert_eq!(refused, Err(expected));
    let bootstrap = Membership::with_members([1, 2, 3]).unwrap();
    let restarted = Node::restore(Config::new(1), durable.restore_state(&bootstrap));
    assert!(restarted.is_ok(), "restart failed: {:?}", restarted.err());
}
