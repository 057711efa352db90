//! Membership changes and learner promotion, on the simulated cluster with a reliable network.

use bytes::Bytes;
use sansraft::sim::{Cluster, ClusterOptions, Faults};
use sansraft::{Config, Error, Membership, MembershipChange, NodeId, Role};

fn cluster(members: &[NodeId], joining: &[NodeId]) -> Cluster {
    cluster_holding(members, joining, 300)
}

fn cluster_holding(members: &[NodeId], joining: &[NodeId], hold_ms: u64) -> Cluster {
    cluster_with(members, joining, hold_ms, true)
}

fn cluster_with(members: &[NodeId], joining: &[NodeId], hold_ms: u64, pre_vote: bool) -> Cluster {
    let mut node_config = Config::new(1);
    node_config.pre_vote = pre_vote;
    node_config.promotion_hold_ms = hold_ms;
    node_config.promotion_max_lag_entries = 20;
    let options = ClusterOptions {
        membership: Membership::with_members(members.iter().copied()).unwrap(),
        joining: joining.to_vec(),
        seed: 42,
        node_config,
        faults: Faults::reliable(),
        trace: std::env::var("TRACE").is_ok(),
        manual: false,
    };
    Cluster::new(options).unwrap()
}

/// Runs until `done` holds, proposing on the leader every 5 ms. Fails after `limit_ms`.
fn run_with_load(cluster: &mut Cluster, limit_ms: u64, done: impl Fn(&Cluster) -> bool) {
    let deadline = cluster.now_ms + limit_ms;
    let mut sequence = 0;
    while !done(cluster) {
        if cluster.now_ms >= deadline {
            let tail = cluster.trace.tail(80);
            panic!("{tail}\ncondition not reached within {limit_ms} ms");
        }
        let until = cluster.now_ms + 5;
        cluster.run_until(until, |_| false).unwrap();
        if let Some(leader) = cluster.leader() {
            sequence += 1;
            let _ = cluster.propose(leader, Bytes::from(format!("load {sequence}"))).unwrap();
        }
    }
}

fn run_idle(cluster: &mut Cluster, duration_ms: u64) {
    let until = cluster.now_ms + duration_ms;
    cluster.run_until(until, |_| false).unwrap();
}

fn wait_for_leader(cluster: &mut Cluster) -> NodeId {
    let until = cluster.now_ms + 5_000;
    assert!(cluster.run_until(until, |c| c.leader().is_some()).unwrap(), "no leader elected");
    cluster.leader().unwrap()
}

/// Asks the current leader for `change`, retrying while the leader is not ready or another
/// change is in flight.
fn change(cluster: &mut Cluster, change: MembershipChange) {
    for _ in 0..200 {
        let leader = wait_for_leader(cluster);
        match cluster.change_membership(leader, change).unwrap() {
            Ok(_) => return,
            Err(
                Error::LeaderNotReady | Error::ChangeInProgress { .. } | Error::NotLeader { .. },
            ) => run_idle(cluster, 20),
            Err(error) => panic!("{change:?} was rejected: {error}"),
        }
    }
    panic!("{change:?} was never accepted");
}

fn leader_membership(cluster: &Cluster) -> Membership {
    let leader = cluster.leader().expect("a leader");
    cluster.node(leader).unwrap().membership().clone()
}

fn is_member_everywhere(cluster: &Cluster, id: NodeId) -> bool {
    cluster.nodes.iter().filter_map(|n| n.node.as_ref()).all(|node| node.membership().is_member(id))
}

fn check_promotion_under_load(members: &[NodeId], learner: NodeId) {
    let mut cluster = cluster(members, &[learner]);
    wait_for_leader(&mut cluster);
    change(&mut cluster, MembershipChange::AddLearner { id: learner, pending: true });
    run_with_load(&mut cluster, 10_000, |c| is_member_everywhere(c, learner));

    let membership = leader_membership(&cluster);
    assert!(membership.is_member(learner));
    assert_eq!(membership.members().len(), members.len() + 1);
}

#[test]
fn promotion_under_load_three_members() {
    check_promotion_under_load(&[1, 2, 3], 4);
}

#[test]
fn promotion_under_load_five_members() {
    check_promotion_under_load(&[1, 2, 3, 4, 5], 6);
}

#[test]
fn learner_without_pending_flag_stays_learner() {
    let mut cluster = cluster(&[1, 2, 3], &[4]);
    wait_for_leader(&mut cluster);
    change(&mut cluster, MembershipChange::AddLearner { id: 4, pending: false });
    run_with_load(&mut cluster, 3_000, |c| c.now_ms > 2_500);
    let membership = leader_membership(&cluster);
    assert_eq!(membership.learner(4).map(|l| l.pending), Some(false));

    change(&mut cluster, MembershipChange::SetPending { id: 4, pending: true });
    run_with_load(&mut cluster, 10_000, |c| is_member_everywhere(c, 4));
}

#[test]
fn crashed_pending_learner_is_promoted_only_after_restart() {
    let mut cluster = cluster(&[1, 2, 3], &[4]);
    wait_for_leader(&mut cluster);
    run_with_load(&mut cluster, 2_000, |c| c.checker.committed_len() > 100);
    change(&mut cluster, MembershipChange::AddLearner { id: 4, pending: true });
    cluster.crash(4, 0).unwrap();

    run_with_load(&mut cluster, 4_000, |c| c.now_ms > 3_500);
    assert_eq!(leader_membership(&cluster).learner(4).map(|l| l.pending), Some(true));
    let leader = cluster.leader().unwrap();
    let peer = cluster.node(leader).unwrap().status().peers.into_iter().find(|p| p.id == 4);
    assert_eq!(peer.and_then(|p| p.caught_up_ms), None, "a crashed learner is not caught up");

    cluster.restart(4).unwrap();
    run_with_load(&mut cluster, 10_000, |c| is_member_everywhere(c, 4));
}

#[test]
fn silent_learner_is_not_promoted() {
    let mut cluster = cluster_holding(&[1, 2, 3], &[4], 2_000);
    let leader = wait_for_leader(&mut cluster);
    change(&mut cluster, MembershipChange::AddLearner { id: 4, pending: true });
    let caught_up = |c: &Cluster| {
        let status = c.node(leader).unwrap().status();
        status.peers.iter().any(|p| p.id == 4 && p.caught_up_ms.is_some())
    };
    let until = cluster.now_ms + 2_000;
    assert!(cluster.run_until(until, caught_up).unwrap(), "the learner never caught up");

    // Fully caught up and no new entries, so only its silence shows it is gone.
    cluster.crash(4, 0).unwrap();
    run_idle(&mut cluster, 5_000);
    assert_eq!(leader_membership(&cluster).learner(4).map(|l| l.pending), Some(true));
}

#[test]
fn leader_removes_itself() {
    let mut cluster = cluster(&[1, 2, 3], &[]);
    let old = wait_for_leader(&mut cluster);
    change(&mut cluster, MembershipChange::Remove { id: old });
    run_with_load(&mut cluster, 10_000, |c| c.leader().is_some_and(|leader| leader != old));

    let old_node = cluster.node(old).unwrap();
    assert_ne!(old_node.role(), Role::Leader);
    assert!(!leader_membership(&cluster).contains(old));
    let term = old_node.term();
    let committed = cluster.checker.committed_len();
    let until = cluster.now_ms + 2_000;
    run_with_load(&mut cluster, 3_000, |c| c.now_ms >= until);
    assert!(cluster.checker.committed_len() > committed, "the remaining members commit");
    assert_eq!(cluster.node(old).unwrap().term(), term, "the removed server stopped campaigning");
}

#[test]
fn follower_removed_and_added_back() {
    let mut cluster = cluster(&[1, 2, 3], &[]);
    let leader = wait_for_leader(&mut cluster);
    let follower = [1, 2, 3].into_iter().find(|id| *id != leader).unwrap();
    change(&mut cluster, MembershipChange::Remove { id: follower });
    run_with_load(&mut cluster, 3_000, |c| !leader_membership(c).contains(follower));
    run_with_load(&mut cluster, 1_000, |c| c.checker.committed_len() > 50);

    change(&mut cluster, MembershipChange::AddLearner { id: follower, pending: true });
    run_with_load(&mut cluster, 10_000, |c| is_member_everywhere(c, follower));
    let applied = |c: &Cluster, id: NodeId| c.nodes[c.position(id).unwrap()].applied;
    let target = cluster.checker.committed_len();
    run_with_load(&mut cluster, 5_000, |c| applied(c, follower) >= target);
}

#[test]
fn learner_added_and_removed_quickly() {
    let mut cluster = cluster(&[1, 2, 3], &[4]);
    wait_for_leader(&mut cluster);
    change(&mut cluster, MembershipChange::AddLearner { id: 4, pending: true });
    change(&mut cluster, MembershipChange::Remove { id: 4 });
    run_with_load(&mut cluster, 3_000, |c| !leader_membership(c).contains(4));
    let committed = cluster.checker.committed_len();
    run_with_load(&mut cluster, 2_000, |c| c.checker.committed_len() > committed + 50);
    assert_eq!(leader_membership(&cluster).members(), &[1, 2, 3]);
}

#[test]
fn four_grow_to_five_and_back_across_leader_change() {
    let mut cluster = cluster(&[1, 2, 3, 4], &[5]);
    wait_for_leader(&mut cluster);
    change(&mut cluster, MembershipChange::AddLearner { id: 5, pending: true });
    run_with_load(&mut cluster, 10_000, |c| is_member_everywhere(c, 5));
    let committed_before = cluster.checker.committed_len();

    let old = cluster.leader().unwrap();
    cluster.crash(old, 0).unwrap();
    run_with_load(&mut cluster, 5_000, |c| c.leader().is_some_and(|l| l != old));
    change(&mut cluster, MembershipChange::Remove { id: 5 });
    run_with_load(&mut cluster, 5_000, |c| leader_membership(c).members().len() == 4);
    cluster.restart(old).unwrap();

    let target = cluster.checker.committed_len();
    let caught_up = |c: &Cluster| {
        c.nodes.iter().filter(|n| n.id != 5).all(|n| n.node.is_some() && n.applied >= target)
    };
    run_with_load(&mut cluster, 10_000, caught_up);
    assert!(cluster.checker.committed_len() >= committed_before);
    assert_eq!(leader_membership(&cluster).members().len(), 4);
}

#[test]
fn learner_promoted_while_partitioned_votes() {
    let mut cluster = cluster(&[1, 2, 3], &[4]);
    let leader = wait_for_leader(&mut cluster);
    change(&mut cluster, MembershipChange::AddLearner { id: 4, pending: false });
    run_with_load(&mut cluster, 3_000, |c| {
        let learner = &c.nodes[c.position(4).unwrap()];
        learner.applied >= c.checker.committed_len() && learner.applied > 10
    });

    // The promotion reaches the members but not the learner.
    let others: Vec<NodeId> = [1, 2, 3].into_iter().filter(|id| *id != leader).collect();
    cluster.partition(&[vec![1, 2, 3], vec![4]]).unwrap();
    change(&mut cluster, MembershipChange::Promote { id: 4 });
    let promoted =
        |c: &Cluster| others.iter().all(|id| c.node(*id).unwrap().membership().is_member(4));
    run_with_load(&mut cluster, 3_000, promoted);
    assert!(!cluster.node(4).unwrap().membership().is_member(4), "the learner missed it");

    // With the old leader gone, the configuration {1, 2, 3, 4} needs three votes, so a
    // candidate wins only with the vote of the server that still thinks it is a learner.
    cluster.crash(leader, 0).unwrap();
    cluster.heal();
    run_with_load(&mut cluster, 10_000, |c| c.leader().is_some_and(|l| l != leader));
    let new_leader = cluster.leader().unwrap();
    let new_term = cluster.node(new_leader).unwrap().term();
    let learner = cluster.node(4).unwrap().status();
    assert!(learner.term >= new_term, "the learner took part in the election");
    run_with_load(&mut cluster, 5_000, |c| c.node(4).unwrap().membership().is_member(4));
}

/// Without pre-vote the removed server's term climbs while it is cut off; the leader lease
/// alone must keep it from deposing the leader.
#[test]
fn removed_server_does_not_disrupt() {
    let mut cluster = cluster_with(&[1, 2, 3, 4], &[], 300, false);
    let leader = wait_for_leader(&mut cluster);
    let removed = [1, 2, 3, 4].into_iter().find(|id| *id != leader).unwrap();
    let rest: Vec<NodeId> = [1, 2, 3, 4].into_iter().filter(|id| *id != removed).collect();

    // The removed server never hears of its removal.
    cluster.partition(&[rest.clone(), vec![removed]]).unwrap();
    change(&mut cluster, MembershipChange::Remove { id: removed });
    run_with_load(&mut cluster, 3_000, |c| {
        rest.iter().all(|id| !c.node(*id).unwrap().membership().contains(removed))
    });
    run_with_load(&mut cluster, 2_000, |c| c.node(removed).unwrap().term() > 3);
    cluster.heal();

    let term = cluster.node(leader).unwrap().term();
    let committed = cluster.checker.committed_len();
    let until = cluster.now_ms + 3_000;
    run_with_load(&mut cluster, 4_000, |c| c.now_ms >= until);
    assert_eq!(cluster.leader(), Some(leader));
    assert_eq!(cluster.node(leader).unwrap().term(), term, "the removed server deposed the leader");
    assert!(cluster.checker.committed_len() > committed + 100);
}

/// With pre-vote a member cut off from the others keeps its term, so when it returns it
/// cannot depose the leader, even after the leader had to answer it.
#[test]
fn returning_member_keeps_leader() {
    let mut cluster = cluster(&[1, 2, 3], &[]);
    let leader = wait_for_leader(&mut cluster);
    let term = cluster.node(leader).unwrap().term();
    let away = [1, 2, 3].into_iter().find(|id| *id != leader).unwrap();
    let rest: Vec<NodeId> = [1, 2, 3].into_iter().filter(|id| *id != away).collect();

    cluster.partition(&[rest, vec![away]]).unwrap();
    let until = cluster.now_ms + 3_000;
    run_with_load(&mut cluster, 4_000, |c| c.now_ms >= until);
    assert_eq!(cluster.node(away).unwrap().term(), term, "the cut-off member raised its term");

    cluster.heal();
    let applied = |c: &Cluster| c.nodes[c.position(away).unwrap()].applied;
    let until = cluster.now_ms + 2_000;
    run_with_load(&mut cluster, 6_000, |c| c.now_ms >= until && applied(c) > 100);
    assert_eq!(cluster.leader(), Some(leader));
    assert_eq!(cluster.node(leader).unwrap().term(), term);
}
