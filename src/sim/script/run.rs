//! Carrying out script commands on a manual-mode cluster.

use std::string::String;
use std::vec::Vec;

use bytes::Bytes;

use super::command::{ClusterSpec, Command, Filter, Nodes};
use super::expect::check;
use crate::config::Config;
use crate::membership::Membership;
use crate::output::Role;
use crate::sim::cluster::{Cluster, ClusterOptions, Faults};
use crate::sim::trace::{describe_id, describe_message};
use crate::types::{LogId, NodeId};

/// Upper bound on deliveries in one `deliver all` or `settle`, so that a cluster that keeps
/// sending fails the script instead of running forever.
const MAX_DELIVERIES: usize = 10_000;

/// The state of a running script: the cluster, once the `cluster` command has built it.
#[derive(Debug, Default)]
pub(super) struct Runner {
    cluster: Option<Cluster>,
}

impl Runner {
    /// Records a trace line, once there is a cluster to record it.
    pub(super) fn record(&mut self, line: impl FnOnce() -> String) {
        if let Some(cluster) = self.cluster.as_mut() {
            let now = cluster.now_ms;
            cluster.trace.record(now, line);
        }
    }

    pub(super) fn trace_lines(&self) -> Vec<String> {
        self.cluster.as_ref().map(|cluster| cluster.trace.lines().to_vec()).unwrap_or_default()
    }

    /// Carries out one command.
    pub(super) fn execute(&mut self, command: &Command) -> Result<(), String> {
        if let Command::Cluster(spec) = command {
            if self.cluster.is_some() {
                return Err(String::from("the cluster already exists; a script builds one"));
            }
            self.cluster = Some(build_cluster(spec)?);
            return Ok(());
        }
        let cluster = self.cluster.as_mut().expect("parsing puts `cluster` first");
        match command {
            Command::Expect(expectation) => check(cluster, expectation),
            _ => act(cluster, command),
        }
    }
}

fn build_cluster(spec: &ClusterSpec) -> Result<Cluster, String> {
    let membership = Membership::new(spec.members.iter().copied(), spec.learners.iter().copied())
        .map_err(|error| format!("invalid cluster configuration: {error}"))?;
    let mut node_config = Config::new(1);
    if let Some((min, max)) = spec.election_ms {
        node_config.election_timeout_min_ms = min;
        node_config.election_timeout_max_ms = max;
    }
    if let Some(heartbeat) = spec.heartbeat_ms {
        node_config.heartbeat_interval_ms = heartbeat;
    }
    if let Some(count) = spec.max_append_entries {
        node_config.max_append_entries = count;
    }
    if let Some(count) = spec.max_inflight_appends {
        node_config.max_inflight_appends = count;
    }
    if let Some(count) = spec.snapshot_trailing_entries {
        node_config.snapshot_trailing_entries = count;
    }
    if let Some(check_quorum) = spec.check_quorum {
        node_config.check_quorum = check_quorum;
    }
    // Scripts campaign in one step unless they turn pre-vote on.
    node_config.pre_vote = spec.pre_vote.unwrap_or(false);
    node_config.validate().map_err(|error| format!("invalid node settings: {error}"))?;
    let options = ClusterOptions {
        membership,
        joining: spec.joining.clone(),
        seed: spec.seed.unwrap_or(1),
        node_config,
        faults: Faults::reliable(),
        trace: true,
        manual: true,
    };
    let mut cluster = Cluster::new(options)?;

    // Start every clock at time 0, so that each node has an election deadline to fire.
    let ids: Vec<NodeId> = cluster.nodes.iter().map(|sim| sim.id).collect();
    for id in ids {
        cluster.tick(id)?;
    }
    Ok(cluster)
}

fn act(cluster: &mut Cluster, command: &Command) -> Result<(), String> {
    match command {
        Command::TimeAdvance(ms) => {
            cluster.now_ms = cluster.now_ms.checked_add(*ms).ok_or("the clock overflows")?;
            Ok(())
        }
        Command::TimeSet(ms) => set_time(cluster, *ms),
        Command::Tick(nodes) => {
            for id in resolve(cluster, nodes)? {
                require_up(cluster, id)?;
                cluster.tick(id)?;
            }
            Ok(())
        }
        Command::Timeout(id) => fire_election_timeout(cluster, *id),
        Command::Campaign(id) => cluster.campaign(*id),
        Command::Heartbeat(id) => fire_heartbeat(cluster, *id),
        Command::Propose { node, data, expected } => propose(cluster, *node, data, *expected),
        Command::Change { node, change, expected } => {
            let log_id = cluster
                .change_membership(*node, *change)?
                .map_err(|error| format!("node {node} rejected the change: {error}"))?;
            check_assigned(*expected, log_id)
        }
        Command::Snapshot(id) => {
            require_up(cluster, *id)?;
            cluster.take_snapshot(*id)
        }
        Command::Deliver { filter, all: false } => {
            let position = find(cluster, filter)?;
            cluster.deliver(position)
        }
        Command::Deliver { filter, all: true } => deliver_all(cluster, filter),
        Command::Drop { filter, all } => drop_packets(cluster, filter, *all),
        Command::Duplicate(filter) => requeue(cluster, filter, "duplicated", true),
        Command::Delay(filter) => requeue(cluster, filter, "delayed", false),
        Command::Partition(groups) => cluster.partition(groups),
        Command::Heal => {
            cluster.heal();
            Ok(())
        }
        Command::Settle => settle(cluster),
        Command::Persist(nodes) => {
            for id in resolve(cluster, nodes)? {
                cluster.persist(id, true)?;
            }
            Ok(())
        }
        Command::Crash { node, written } => crash(cluster, *node, *written),
        Command::Restart(id) => restart(cluster, *id),
        Command::Cluster(_) | Command::Expect(_) => unreachable!("handled by the runner"),
    }
}

fn set_time(cluster: &mut Cluster, ms: u64) -> Result<(), String> {
    if ms < cluster.now_ms {
        return Err(format!(
            "time {ms} ms is before the current time {} ms; the clock only moves forward",
            cluster.now_ms
        ));
    }
    cluster.now_ms = ms;
    Ok(())
}

fn resolve(cluster: &Cluster, nodes: &Nodes) -> Result<Vec<NodeId>, String> {
    match nodes {
        Nodes::All => Ok(cluster.nodes.iter().map(|sim| sim.id).collect()),
        Nodes::Listed(ids) => {
            for id in ids {
                cluster.position(*id)?;
            }
            Ok(ids.clone())
        }
    }
}

fn require_up(cluster: &Cluster, id: NodeId) -> Result<(), String> {
    cluster.node(id).map(|_| ())
}

/// Ticks node `id` at each deadline it reports until its election timeout fires. Earlier
/// deadlines come first: the node's own time while a timer reset or a leader contact waits
/// for a tick, and the end of a leader lease. The timeout has fired when the node reports
/// the tick's time as its deadline again, which means the timeout handler reset the timer.
fn fire_election_timeout(cluster: &mut Cluster, id: NodeId) -> Result<(), String> {
    for _ in 0..4 {
        let node = cluster.node(id)?;
        if node.role() == Role::Leader {
            return Err(format!("node {id} leads and has no election timer to fire"));
        }
        let deadline = node.next_deadline_ms().ok_or_else(|| {
            format!("node {id} has no election timer; only voting members campaign")
        })?;
        let term = node.term();
        let now = cluster.now_ms.max(deadline);
        cluster.now_ms = now;
        cluster.tick(id)?;
        let node = cluster.node(id)?;
        if node.term() != term || node.next_deadline_ms() == Some(now) {
            cluster.trace.record(now, || format!("node {id}'s election timeout fired"));
            return Ok(());
        }
    }
    Err(format!("node {id}'s election timeout did not fire after four ticks"))
}

fn fire_heartbeat(cluster: &mut Cluster, id: NodeId) -> Result<(), String> {
    // A tick that applies a pending timer reset or notes a leader contact does nothing else,
    // and the node reports its own time as the deadline until then. So tick at each
    // reported deadline, as a host sleeping until it would, until the leader sends.
    for _ in 0..3 {
        let node = cluster.node(id)?;
        if node.role() != Role::Leader {
            return Err(format!("node {id} is a {:?}, not a leader", node.role()));
        }
        let deadline = node.next_deadline_ms().expect("a leader always has a heartbeat deadline");
        cluster.now_ms = cluster.now_ms.max(deadline);
        let sent_before = count_sent(cluster, id);
        cluster.tick(id)?;
        if count_sent(cluster, id) > sent_before {
            return Ok(());
        }
    }
    Err(format!("leader {id} sent no heartbeat after three ticks; it may have no peers"))
}

fn count_sent(cluster: &Cluster, id: NodeId) -> usize {
    cluster.network.iter().filter(|packet| packet.message.from == id).count()
}

fn propose(
    cluster: &mut Cluster,
    id: NodeId,
    data: &str,
    expected: Option<LogId>,
) -> Result<(), String> {
    let data = Bytes::copy_from_slice(data.as_bytes());
    let log_id = cluster
        .propose(id, data)?
        .map_err(|error| format!("node {id} rejected the proposal: {error}"))?;
    check_assigned(expected, log_id)
}

/// Checks the log id a node gave a request against the one the script expects, if any.
fn check_assigned(expected: Option<LogId>, assigned: LogId) -> Result<(), String> {
    match expected {
        Some(expected) if expected != assigned => Err(format!(
            "expected: entry at {}\nfound:    entry at {}",
            describe_id(expected),
            describe_id(assigned)
        )),
        _ => Ok(()),
    }
}

/// Returns the position of the first packet that matches `filter`.
fn find(cluster: &Cluster, filter: &Filter) -> Result<usize, String> {
    cluster
        .network
        .iter()
        .position(|packet| filter.matches(&packet.message))
        .ok_or_else(|| format!("no packet matches {filter}\n{}", describe_network(cluster)))
}

/// Lists the packets on the network, for error messages.
pub(super) fn describe_network(cluster: &Cluster) -> String {
    if cluster.network.is_empty() {
        return String::from("the network is empty");
    }
    let mut text = String::from("the network contains, first to last:");
    for packet in &cluster.network {
        text.push_str("\n  ");
        text.push_str(&describe_message(&packet.message));
    }
    text
}

fn deliver_all(cluster: &mut Cluster, filter: &Filter) -> Result<(), String> {
    for _ in 0..MAX_DELIVERIES {
        let next = cluster.network.iter().position(|packet| filter.matches(&packet.message));
        match next {
            Some(position) => cluster.deliver(position)?,
            None => return Ok(()),
        }
    }
    Err(format!("packets matching {filter} kept coming after {MAX_DELIVERIES} deliveries"))
}

fn drop_packets(cluster: &mut Cluster, filter: &Filter, all: bool) -> Result<(), String> {
    let mut position = find(cluster, filter)?;
    loop {
        let packet = cluster.network.remove(position);
        let now = cluster.now_ms;
        cluster.trace.record(now, || format!("dropped {}", describe_message(&packet.message)));
        let next = cluster.network.iter().position(|packet| filter.matches(&packet.message));
        match next {
            Some(next) if all => position = next,
            _ => return Ok(()),
        }
    }
}

/// Puts the first packet matching `filter` (or a copy, when `copy`) at the back of the queue.
fn requeue(cluster: &mut Cluster, filter: &Filter, verb: &str, copy: bool) -> Result<(), String> {
    let position = find(cluster, filter)?;
    let message = if copy {
        cluster.network[position].message.clone()
    } else {
        cluster.network.remove(position).message
    };
    let now = cluster.now_ms;
    cluster.trace.record(now, || format!("{verb} {}", describe_message(&message)));
    cluster.enqueue(message, now);
    Ok(())
}

/// Persists every pending write and delivers every packet until nothing is left to do.
fn settle(cluster: &mut Cluster) -> Result<(), String> {
    for _ in 0..MAX_DELIVERIES {
        let waiting: Vec<NodeId> = cluster
            .nodes
            .iter()
            .filter(|sim| sim.node.is_some() && sim.disk.pending_len() > 0)
            .map(|sim| sim.id)
            .collect();
        for id in waiting {
            cluster.persist(id, true)?;
        }
        if cluster.network.is_empty() {
            return Ok(());
        }
        cluster.deliver(0)?;
    }
    Err(format!("the cluster was still busy after {MAX_DELIVERIES} deliveries"))
}

fn crash(cluster: &mut Cluster, id: NodeId, written: usize) -> Result<(), String> {
    require_up(cluster, id)?;
    let at = cluster.position(id)?;
    let pending = cluster.nodes[at].disk.pending_len();
    if written > pending {
        return Err(format!(
            "written {written} is more than node {id}'s pending write count {pending}"
        ));
    }
    cluster.crash(id, written)
}

fn restart(cluster: &mut Cluster, id: NodeId) -> Result<(), String> {
    if cluster.node(id).is_ok() {
        return Err(format!("node {id} is running; crash it before restarting it"));
    }
    cluster.restart(id)?;
    cluster.tick(id)
}
