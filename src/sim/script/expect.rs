//! Checking `expect` commands against the cluster.

use std::fmt::Display;
use std::string::String;
use std::vec::Vec;

use super::command::{EntrySpec, Expectation, Filter, OutcomeSpec, PayloadSpec, RoleSpec};
use super::run::describe_network;
use crate::membership::Learner;
use crate::node::Node;
use crate::output::ProposalOutcome;
use crate::sim::cluster::Cluster;
use crate::sim::trace::{describe_entry, describe_id};
use crate::types::{Entry, LogId, NodeId, Payload};

/// Checks one expectation, returning what was expected and what was found when it fails.
pub(super) fn check(cluster: &Cluster, expectation: &Expectation) -> Result<(), String> {
    match expectation {
        Expectation::Role(id, role) => check_role(cluster, *id, *role),
        Expectation::Term(id, term) => compare("term", *id, term, &cluster.node(*id)?.term()),
        Expectation::Vote(id, vote) => {
            let found = cluster.node(*id)?.status().vote;
            compare("vote", *id, &describe_node(*vote), &describe_node(found))
        }
        Expectation::Leader(id, leader) => {
            let found = cluster.node(*id)?.leader();
            compare("leader", *id, &describe_node(*leader), &describe_node(found))
        }
        Expectation::Commit(id, index) => {
            compare("commit index", *id, index, &cluster.node(*id)?.commit_index())
        }
        Expectation::Applied(id, index) => {
            let sim = &cluster.nodes[cluster.position(*id)?];
            compare("applied index", *id, index, &sim.applied)
        }
        Expectation::Log(id, expected) => check_log(cluster.node(*id)?, expected),
        Expectation::Snapshot(id, expected) => {
            let found = cluster.node(*id)?.snapshot().map(|meta| meta.last);
            let describe = |last: Option<LogId>| last.map_or(String::from("none"), describe_id);
            compare("snapshot", *id, &describe(*expected), &describe(found))
        }
        Expectation::Membership { node, members, learners } => {
            let expected = describe_membership(members, learners);
            let membership = cluster.node(*node)?.membership();
            let found = describe_membership(membership.members(), membership.learners());
            compare("configuration", *node, &expected, &found)
        }
        Expectation::DiskLog(id, expected) => {
            let sim = &cluster.nodes[cluster.position(*id)?];
            compare_log("durable log", *id, expected, &sim.disk.log)
        }
        Expectation::DiskVote { node, term, vote } => {
            let durable = cluster.nodes[cluster.position(*node)?].disk.hard_state;
            let expected = format!("term {term} vote {}", describe_node(*vote));
            let found = format!("term {} vote {}", durable.term, describe_node(durable.vote));
            compare("durable hard state", *node, &expected, &found)
        }
        Expectation::DiskPending(id, count) => {
            let sim = &cluster.nodes[cluster.position(*id)?];
            compare("pending writes", *id, count, &sim.disk.pending_len())
        }
        Expectation::Outcome(id, proposal, outcome) => {
            check_outcome(cluster, *id, *proposal, *outcome)
        }
        Expectation::Match { leader, follower, index } => {
            check_match(cluster, *leader, *follower, *index)
        }
        Expectation::Network { count, filter } => check_network(cluster, *count, filter),
    }
}

fn mismatch(expected: impl Display, found: impl Display) -> String {
    format!("expected: {expected}\nfound:    {found}")
}

fn compare<T: PartialEq + Display>(
    property: &str,
    id: NodeId,
    expected: &T,
    found: &T,
) -> Result<(), String> {
    if expected == found {
        Ok(())
    } else {
        Err(mismatch(
            format!("node {id} {property} {expected}"),
            format!("node {id} {property} {found}"),
        ))
    }
}

fn describe_node(id: Option<NodeId>) -> String {
    id.map_or(String::from("none"), |id| id.to_string())
}

fn check_role(cluster: &Cluster, id: NodeId, expected: RoleSpec) -> Result<(), String> {
    let at = cluster.position(id)?;
    let found = match &cluster.nodes[at].node {
        Some(node) => RoleSpec::Running(node.role()),
        None => RoleSpec::Crashed,
    };
    if found == expected {
        return Ok(());
    }
    let describe = |role: RoleSpec| match role {
        RoleSpec::Running(role) => format!("{role:?}").to_lowercase(),
        RoleSpec::Crashed => String::from("crashed"),
    };
    Err(mismatch(
        format!("node {id} {}", describe(expected)),
        format!("node {id} {}", describe(found)),
    ))
}

/// Compares the entries in the node's log with `expected`. Entries compacted into a
/// snapshot are not part of the comparison.
fn check_log(node: &Node, expected: &[EntrySpec]) -> Result<(), String> {
    let first = node.first_log_index();
    let last = node.last_log_id().index;
    let found: Vec<Entry> = (first..=last).filter_map(|index| node.entry(index).cloned()).collect();
    compare_log("log", node.id(), expected, &found).map_err(|message| {
        if first > 1 {
            format!("{message}\nnode {} log starts at index {first}; earlier entries are in its snapshot", node.id())
        } else {
            message
        }
    })
}

fn describe_membership(members: &[NodeId], learners: &[Learner]) -> String {
    let mut text = String::from("members");
    for id in members {
        text.push_str(&format!(" {id}"));
    }
    if !learners.is_empty() {
        text.push_str(" learners");
        for learner in learners {
            let mark = if learner.pending { "*" } else { "" };
            text.push_str(&format!(" {}{mark}", learner.id));
        }
    }
    text
}

fn entry_matches(spec: &EntrySpec, entry: &Entry) -> bool {
    if spec.id != entry.id() {
        return false;
    }
    match (&spec.payload, &entry.payload) {
        (None, _) => true,
        (Some(PayloadSpec::Noop), Payload::Empty) => true,
        (Some(PayloadSpec::Config), Payload::Membership(_)) => true,
        (Some(PayloadSpec::Data(text)), Payload::Data(data)) => text.as_bytes() == data.as_ref(),
        _ => false,
    }
}

fn describe_spec(spec: &EntrySpec) -> String {
    let id = format!("{}.{}", spec.id.term, spec.id.index);
    match &spec.payload {
        None => id,
        Some(PayloadSpec::Noop) => format!("{id}:noop"),
        Some(PayloadSpec::Config) => format!("{id}:config"),
        Some(PayloadSpec::Data(text)) => format!("{id}:\"{text}\""),
    }
}

fn compare_log(
    property: &str,
    id: NodeId,
    expected: &[EntrySpec],
    found: &[Entry],
) -> Result<(), String> {
    let same_length = expected.len() == found.len();
    if same_length && expected.iter().zip(found).all(|(spec, entry)| entry_matches(spec, entry)) {
        return Ok(());
    }
    let describe = |items: Vec<String>| {
        if items.is_empty() {
            String::from("empty")
        } else {
            items.join(" ")
        }
    };
    let expected = describe(expected.iter().map(describe_spec).collect());
    let found = describe(found.iter().map(describe_entry).collect());
    Err(mismatch(
        format!("node {id} {property} {expected}"),
        format!("node {id} {property} {found}"),
    ))
}

fn check_outcome(
    cluster: &Cluster,
    id: NodeId,
    proposal: LogId,
    expected: OutcomeSpec,
) -> Result<(), String> {
    let sim = &cluster.nodes[cluster.position(id)?];
    let ended =
        sim.outcomes.iter().find(|(ended, _)| *ended == proposal).map(|(_, outcome)| *outcome);
    let found = match ended {
        Some(ProposalOutcome::Committed) => OutcomeSpec::Committed,
        Some(ProposalOutcome::Overwritten) => OutcomeSpec::Overwritten,
        Some(ProposalOutcome::Unknown) => OutcomeSpec::Unknown,
        None if sim.open_proposals.contains(&proposal) => OutcomeSpec::Open,
        None => OutcomeSpec::NoRecord,
    };
    if found == expected {
        return Ok(());
    }
    let describe = |outcome: OutcomeSpec| match outcome {
        OutcomeSpec::Committed => "committed",
        OutcomeSpec::Overwritten => "overwritten",
        OutcomeSpec::Unknown => "unknown (a snapshot covered it first)",
        OutcomeSpec::Open => "open",
        OutcomeSpec::NoRecord => "none (not proposed on this node since it last started)",
    };
    let name = format!("node {id} proposal {}.{}", proposal.term, proposal.index);
    Err(mismatch(format!("{name} {}", describe(expected)), format!("{name} {}", describe(found))))
}

fn check_match(
    cluster: &Cluster,
    leader: NodeId,
    follower: NodeId,
    index: u64,
) -> Result<(), String> {
    let status = cluster.node(leader)?.status();
    let peer = status.peers.iter().find(|peer| peer.id == follower).ok_or_else(|| {
        format!(
            "node {leader} tracks no progress for node {follower}; it is a {:?} in term {}",
            status.role, status.term
        )
    })?;
    let property = format!("match index for {follower}");
    compare(&property, leader, &index, &peer.match_index)
}

fn check_network(cluster: &Cluster, count: usize, filter: &Filter) -> Result<(), String> {
    let found = cluster.network.iter().filter(|packet| filter.matches(&packet.message)).count();
    if found == count {
        return Ok(());
    }
    Err(format!(
        "{}\n{}",
        mismatch(packets(count, filter), packets(found, filter)),
        describe_network(cluster)
    ))
}

fn packets(count: usize, filter: &Filter) -> String {
    let noun = if count == 1 { "packet" } else { "packets" };
    format!("{count} {noun} matching {filter}")
}
