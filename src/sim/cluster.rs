//! A simulated cluster: nodes, a network and disks under one virtual clock.

use std::string::String;
use std::vec::Vec;

use bytes::Bytes;

use super::check::Checker;
use super::disk::Disk;
use super::trace::{describe_entries, describe_id, describe_message, Trace};
use crate::config::Config;
use crate::error::Error;
use crate::membership::Membership;
use crate::message::{AppendOutcome, Body, Message};
use crate::node::{Node, RestoreState};
use crate::output::{Output, ProposalOutcome, Role};
use crate::rng::Rng;
use crate::types::{Index, LogId, NodeId};

/// The behaviour of the simulated network and disks.
#[derive(Clone, Debug)]
pub struct Faults {
    /// Smallest message delay in ms.
    pub delay_min_ms: u64,
    /// Largest message delay in ms; delays vary, so messages are reordered.
    pub delay_max_ms: u64,
    /// Chance, per thousand, that a message is lost.
    pub drop_per_mille: u64,
    /// Chance, per thousand, that a message is delivered twice.
    pub duplicate_per_mille: u64,
    /// Largest time in ms a persist request takes to become durable.
    pub disk_delay_max_ms: u64,
}

impl Faults {
    /// A network that delivers every message once, in 1 to 5 ms, and a disk that writes
    /// within 2 ms.
    pub fn reliable() -> Self {
        Faults {
            delay_min_ms: 1,
            delay_max_ms: 5,
            drop_per_mille: 0,
            duplicate_per_mille: 0,
            disk_delay_max_ms: 2,
        }
    }
}

/// One simulated server: its node (absent while crashed), disk and state machine.
#[derive(Debug)]
pub struct SimNode {
    /// The server's id.
    pub id: NodeId,
    /// The running node, or `None` while crashed.
    pub node: Option<Node>,
    /// Its disk, which survives crashes.
    pub disk: Disk,
    /// The last index its state machine applied in this incarnation.
    pub applied: Index,
    /// Digest of its state machine: every applied entry chained in order.
    pub state: u64,
    /// Proposals made in this incarnation that have not ended.
    pub open_proposals: Vec<LogId>,
    /// Every proposal outcome reported in this incarnation.
    pub outcomes: Vec<(LogId, ProposalOutcome)>,
    /// How many times the server was restarted.
    pub restarts: u64,
    last_commit: Index,
}

/// A message on its way.
#[derive(Clone, Debug)]
pub struct Packet {
    /// Unique, increasing id; it orders packets due at the same time.
    pub id: u64,
    /// When the packet arrives.
    pub deliver_at_ms: u64,
    /// The message.
    pub message: Message,
    /// For `InstallSnapshot`, the snapshot data (a state digest) that travels with it.
    pub snapshot_data: Option<u64>,
}

/// Settings of a simulated cluster.
#[derive(Clone, Debug)]
pub struct ClusterOptions {
    /// The configuration every node starts from.
    pub membership: Membership,
    /// Servers that start with an empty configuration, to be added later.
    pub joining: Vec<NodeId>,
    /// Seed of the fault generator; node seeds derive from it.
    pub seed: u64,
    /// Node settings; `id` and `seed` are set per node.
    pub node_config: Config,
    /// Network and disk behaviour.
    pub faults: Faults,
    /// Whether to record a trace.
    pub trace: bool,
    /// In manual mode packets and disk writes wait until a script releases them.
    pub manual: bool,
}

/// A cluster of simulated servers under one virtual clock. Every choice comes from one
/// seeded generator, so a run is a pure function of its options.
#[derive(Debug)]
pub struct Cluster {
    /// The virtual time in ms.
    pub now_ms: u64,
    /// The servers, by id order.
    pub nodes: Vec<SimNode>,
    /// Messages in flight.
    pub network: Vec<Packet>,
    /// The run's trace.
    pub trace: Trace,
    /// The invariant checker.
    pub checker: Checker,
    /// Network and disk behaviour, changeable during a run.
    pub faults: Faults,
    /// The fault generator.
    pub rng: Rng,
    /// Snapshots installed from a leader so far.
    pub installs: u64,
    bootstrap: Membership,
    node_config: Config,
    seed: u64,
    next_packet_id: u64,
    groups: Vec<u32>,
    manual: bool,
}

impl Cluster {
    /// Builds a cluster of the configured members plus the joining servers.
    pub fn new(options: ClusterOptions) -> Result<Cluster, String> {
        let mut ids: Vec<NodeId> = options.membership.ids().collect();
        ids.extend(options.joining.iter().copied());
        ids.sort_unstable();
        let mut cluster = Cluster {
            now_ms: 0,
            nodes: Vec::new(),
            network: Vec::new(),
            trace: Trace::new(options.trace),
            checker: Checker::default(),
            faults: options.faults,
            rng: Rng::new(options.seed),
            installs: 0,
            bootstrap: options.membership,
            node_config: options.node_config,
            seed: options.seed,
            next_packet_id: 0,
            groups: Vec::new(),
            manual: options.manual,
        };
        for id in ids {
            let membership = if options.joining.contains(&id) {
                Membership::default()
            } else {
                cluster.bootstrap.clone()
            };
            let node = Node::new(cluster.config_for(id, 0), membership)
                .map_err(|error| format!("node {id} failed to start: {error}"))?;
            cluster.nodes.push(SimNode {
                id,
                node: Some(node),
                disk: Disk::default(),
                applied: 0,
                state: 0,
                open_proposals: Vec::new(),
                outcomes: Vec::new(),
                restarts: 0,
                last_commit: 0,
            });
            cluster.groups.push(0);
        }
        for at in 0..cluster.nodes.len() {
            cluster.drain(at)?;
        }
        Ok(cluster)
    }

    fn config_for(&self, id: NodeId, restarts: u64) -> Config {
        let mut config = self.node_config.clone();
        config.id = id;
        config.seed = self.seed ^ id.wrapping_mul(0x9e37_79b9) ^ restarts.wrapping_mul(0x85eb_ca6b);
        config
    }

    /// Returns the position of server `id` in `nodes`.
    pub fn position(&self, id: NodeId) -> Result<usize, String> {
        self.nodes.iter().position(|n| n.id == id).ok_or_else(|| format!("no node {id}"))
    }

    /// Returns the running node `id`, or an error when it is unknown or crashed.
    pub fn node(&self, id: NodeId) -> Result<&Node, String> {
        let at = self.position(id)?;
        self.nodes[at].node.as_ref().ok_or_else(|| format!("node {id} is crashed"))
    }

    /// Returns the up node that leads the highest term, if any.
    pub fn leader(&self) -> Option<NodeId> {
        self.nodes
            .iter()
            .filter_map(|n| n.node.as_ref())
            .filter(|node| node.role() == Role::Leader)
            .max_by_key(|node| node.term())
            .map(Node::id)
    }

    /// Advances the clock and ticks node `id`.
    pub fn tick(&mut self, id: NodeId) -> Result<(), String> {
        let at = self.position(id)?;
        let now = self.now_ms;
        if let Some(node) = self.nodes[at].node.as_mut() {
            node.tick(now).map_err(|error| format!("node {id} rejected a tick: {error}"))?;
            self.drain(at)?;
        }
        Ok(())
    }

    /// Ticks every up node whose deadline has passed.
    pub fn tick_due(&mut self) -> Result<(), String> {
        for at in 0..self.nodes.len() {
            let due = self.nodes[at]
                .node
                .as_ref()
                .and_then(Node::next_deadline_ms)
                .is_some_and(|deadline| deadline <= self.now_ms);
            if due {
                let id = self.nodes[at].id;
                self.tick(id)?;
            }
        }
        Ok(())
    }

    /// Makes node `id` campaign now.
    pub fn campaign(&mut self, id: NodeId) -> Result<(), String> {
        self.trace.record(self.now_ms, || format!("node {id} campaigns"));
        let at = self.position(id)?;
        let node = self.nodes[at].node.as_mut().ok_or_else(|| format!("node {id} is crashed"))?;
        node.step(crate::Input::Campaign).map_err(|error| format!("node {id}: {error}"))?;
        self.drain(at)
    }

    /// Proposes `data` on node `id`, returning the node's result.
    pub fn propose(&mut self, id: NodeId, data: Bytes) -> Result<Result<LogId, Error>, String> {
        let at = self.position(id)?;
        let node = self.nodes[at].node.as_mut().ok_or_else(|| format!("node {id} is crashed"))?;
        let result = node.propose(data.clone());
        if let Ok(log_id) = result {
            self.nodes[at].open_proposals.push(log_id);
            self.trace.record(self.now_ms, || {
                format!("node {id} proposes {:?} as {}", data, describe_id(log_id))
            });
        }
        self.drain(at)?;
        Ok(result)
    }

    /// Requests a configuration change on node `id`, returning the node's result.
    pub fn change_membership(
        &mut self,
        id: NodeId,
        change: crate::MembershipChange,
    ) -> Result<Result<LogId, Error>, String> {
        let at = self.position(id)?;
        let node = self.nodes[at].node.as_mut().ok_or_else(|| format!("node {id} is crashed"))?;
        let result = node.change_membership(change);
        self.trace.record(self.now_ms, || format!("node {id} asked for {change:?}: {result:?}"));
        if let Ok(log_id) = result {
            self.nodes[at].open_proposals.push(log_id);
        }
        self.drain(at)?;
        Ok(result)
    }

    /// Completes node `id`'s disk writes that are ready (all of them when `everything`) and
    /// acknowledges them.
    pub fn persist(&mut self, id: NodeId, everything: bool) -> Result<(), String> {
        let at = self.position(id)?;
        let now = (!everything).then_some(self.now_ms);
        let Some(token) = self.nodes[at].disk.complete(now)? else {
            return Ok(());
        };
        self.trace.record(self.now_ms, || format!("node {id} persisted up to token {token}"));
        if let Some(node) = self.nodes[at].node.as_mut() {
            node.persisted(token).map_err(|error| format!("node {id}: {error}"))?;
            self.drain(at)?;
        }
        Ok(())
    }

    /// Crashes node `id`: the first `written` pending writes reach its disk, the rest are lost.
    pub fn crash(&mut self, id: NodeId, written: usize) -> Result<(), String> {
        let at = self.position(id)?;
        if self.nodes[at].node.is_none() {
            return Ok(());
        }
        let pending = self.nodes[at].disk.pending_len();
        self.trace.record(self.now_ms, || {
            format!(
                "node {id} crashes; {} of {pending} pending writes reach the disk",
                written.min(pending)
            )
        });
        self.nodes[at].disk.crash(written)?;
        let sim = &mut self.nodes[at];
        sim.node = None;
        sim.open_proposals.clear();
        Ok(())
    }

    /// Restarts a crashed node `id` from its disk, with an empty state machine.
    pub fn restart(&mut self, id: NodeId) -> Result<(), String> {
        let at = self.position(id)?;
        if self.nodes[at].node.is_some() {
            return Ok(());
        }
        let restarts = self.nodes[at].restarts + 1;
        let disk = &self.nodes[at].disk;
        let membership = if self.bootstrap.contains(id) {
            self.bootstrap.clone()
        } else {
            Membership::default()
        };
        let snapshot_index = disk.snapshot.as_ref().map_or(0, |meta| meta.last.index);
        let machine = match snapshot_index {
            0 => 0,
            index => *disk.snapshots.get(&index).ok_or_else(|| {
                format!("node {id} has snapshot {index} recorded but its data is missing")
            })?,
        };
        let state = RestoreState {
            hard_state: disk.hard_state,
            snapshot: disk.snapshot.clone(),
            entries: disk.log.clone(),
            membership,
            applied: snapshot_index,
        };
        let node = Node::restore(self.config_for(id, restarts), state)
            .map_err(|error| format!("node {id} failed to restart: {error}"))?;
        self.trace.record(self.now_ms, || {
            format!(
                "node {id} restarts with term {} vote {:?} and {} log entries",
                node.term(),
                node.status().vote,
                node.last_log_id().index
            )
        });
        let sim = &mut self.nodes[at];
        sim.node = Some(node);
        sim.restarts = restarts;
        sim.applied = snapshot_index;
        sim.state = machine;
        sim.last_commit = 0;
        sim.outcomes.clear();
        self.drain(at)
    }

    /// Makes node `id` snapshot its state machine at its applied index: the data is stored
    /// on its disk first, then the node is informed.
    pub fn take_snapshot(&mut self, id: NodeId) -> Result<(), String> {
        let at = self.position(id)?;
        let sim = &mut self.nodes[at];
        let Some(node) = sim.node.as_mut() else {
            return Ok(());
        };
        let index = sim.applied;
        let latest = node.snapshot().map_or(0, |meta| meta.last.index);
        if index < node.first_log_index() || index <= latest {
            return Ok(());
        }
        let meta = node
            .snapshot_meta_at(index)
            .ok_or_else(|| format!("node {id} cannot describe a snapshot at {index}"))?;
        sim.disk.snapshots.insert(index, sim.state);
        node.step(crate::Input::SnapshotTaken(meta))
            .map_err(|error| format!("node {id} rejected its snapshot at {index}: {error}"))?;
        self.trace.record(self.now_ms, || format!("node {id} took a snapshot at {index}"));
        self.drain(at)
    }

    /// Splits the network: servers in different groups cannot reach each other.
    pub fn partition(&mut self, groups: &[Vec<NodeId>]) -> Result<(), String> {
        for group in self.groups.iter_mut() {
            *group = u32::MAX;
        }
        for (number, group) in groups.iter().enumerate() {
            for id in group {
                let at = self.position(*id)?;
                self.groups[at] = number as u32;
            }
        }
        self.trace.record(self.now_ms, || format!("network partitioned into {groups:?}"));
        Ok(())
    }

    /// Joins every server back into one network.
    pub fn heal(&mut self) {
        self.groups.iter_mut().for_each(|group| *group = 0);
        self.trace.record(self.now_ms, || String::from("network healed"));
    }

    fn connected(&self, from: usize, to: usize) -> bool {
        self.groups[from] == self.groups[to]
    }

    /// Delivers the packet at `position` in `network`, or drops it if its receiver is down
    /// or cut off from the sender.
    pub fn deliver(&mut self, position: usize) -> Result<(), String> {
        let packet = self.network.remove(position);
        let from = self.position(packet.message.from)?;
        let to = self.position(packet.message.to)?;
        let failed_transfer =
            packet.snapshot_data.is_some() && self.rng.chance(self.faults.drop_per_mille, 1000);
        if self.nodes[to].node.is_none() || !self.connected(from, to) || failed_transfer {
            self.trace
                .record(self.now_ms, || format!("lost {}", describe_message(&packet.message)));
            if packet.snapshot_data.is_some() {
                self.report_snapshot_sent(from, packet.message.to, false)?;
            }
            return Ok(());
        }
        self.trace.record(self.now_ms, || describe_message(&packet.message));
        let id = self.nodes[to].id;
        if let (Some(data), Body::InstallSnapshot { meta }) =
            (packet.snapshot_data, &packet.message.body)
        {
            self.nodes[to].disk.snapshots.insert(meta.last.index, data);
            let sender = packet.message.to;
            let node = self.nodes[to].node.as_mut().expect("checked above");
            node.receive(packet.message)
                .map_err(|error| format!("node {id} rejected a message: {error}"))?;
            self.drain(to)?;
            return self.report_snapshot_sent(from, sender, true);
        }
        let node = self.nodes[to].node.as_mut().expect("checked above");
        node.receive(packet.message)
            .map_err(|error| format!("node {id} rejected a message: {error}"))?;
        self.drain(to)
    }

    fn report_snapshot_sent(
        &mut self,
        from: usize,
        to: NodeId,
        success: bool,
    ) -> Result<(), String> {
        let Some(node) = self.nodes[from].node.as_mut() else {
            return Ok(());
        };
        match node.step(crate::Input::SnapshotSent { to, success }) {
            Ok(()) | Err(Error::SnapshotNotRequested { .. }) => self.drain(from),
            Err(error) => {
                Err(format!("node {} rejected a snapshot report: {error}", self.nodes[from].id))
            }
        }
    }

    /// Delivers every packet due by now, oldest first.
    pub fn deliver_due(&mut self) -> Result<(), String> {
        loop {
            let due = self
                .network
                .iter()
                .enumerate()
                .filter(|(_, packet)| packet.deliver_at_ms <= self.now_ms)
                .min_by_key(|(_, packet)| (packet.deliver_at_ms, packet.id))
                .map(|(position, _)| position);
            match due {
                Some(position) => self.deliver(position)?,
                None => return Ok(()),
            }
        }
    }

    /// Returns the earliest time at which a packet, a disk write or a node deadline is due.
    pub fn next_event_ms(&self) -> Option<u64> {
        let packets = self.network.iter().map(|packet| packet.deliver_at_ms);
        let disks = self.nodes.iter().filter_map(|n| n.disk.next_ready_ms());
        let deadlines =
            self.nodes.iter().filter_map(|n| n.node.as_ref().and_then(Node::next_deadline_ms));
        packets.chain(disks).chain(deadlines).min()
    }

    /// Runs every event due at the current time: deliveries, disk writes and ticks.
    pub fn run_due(&mut self) -> Result<(), String> {
        self.deliver_due()?;
        for at in 0..self.nodes.len() {
            let ready = self.nodes[at].disk.next_ready_ms().is_some_and(|t| t <= self.now_ms);
            if ready {
                let id = self.nodes[at].id;
                self.persist(id, false)?;
            }
        }
        self.tick_due()
    }

    /// Runs events until `until_ms`, stopping early when `done` returns true.
    pub fn run_until(
        &mut self,
        until_ms: u64,
        mut done: impl FnMut(&Cluster) -> bool,
    ) -> Result<bool, String> {
        loop {
            if done(self) {
                return Ok(true);
            }
            // With nothing pending, time runs to the end at once.
            let Some(next) = self.next_event_ms().map(|at| at.max(self.now_ms)) else {
                self.now_ms = self.now_ms.max(until_ms);
                return Ok(done(self));
            };
            if next > until_ms {
                self.now_ms = until_ms;
                return Ok(done(self));
            }
            self.now_ms = next;
            self.run_due()?;
        }
    }

    /// Carries out every output of the node at `at`, checking each against the invariants.
    pub(crate) fn drain(&mut self, at: usize) -> Result<(), String> {
        let mut applied_any = false;
        let mut membership_changed = false;
        loop {
            let Some(node) = self.nodes[at].node.as_mut() else {
                return Ok(());
            };
            let Some(output) = node.poll_output() else {
                break;
            };
            match output {
                Output::Send(message) => self.on_send(at, message)?,
                Output::SendSnapshot(message) => self.on_send_snapshot(at, message)?,
                Output::RestoreSnapshot(meta) => self.on_restore_snapshot(at, &meta)?,
                Output::Persist(request) => self.on_persist(at, request)?,
                Output::Apply(entry) => {
                    self.on_apply(at, &entry)?;
                    applied_any = true;
                }
                Output::Proposal { id, outcome } => self.on_outcome(at, id, outcome)?,
                Output::RoleChanged { role, term } => self.on_role(at, role, term)?,
                Output::MembershipChanged { membership } => {
                    let id = self.nodes[at].id;
                    self.trace.record(self.now_ms, || {
                        format!(
                            "node {id} configuration now members {:?} learners {:?}",
                            membership.members(),
                            membership.learners()
                        )
                    });
                    membership_changed = true;
                }
                Output::LeaderChanged { leader, term } => {
                    let id = self.nodes[at].id;
                    self.trace.record(self.now_ms, || {
                        format!("node {id} follows leader {leader:?} in term {term}")
                    });
                }
            }
        }
        if membership_changed {
            self.check_membership(at)?;
        }
        if applied_any {
            let applied = self.nodes[at].applied;
            let node = self.nodes[at].node.as_mut().expect("drained a running node");
            node.step(crate::Input::Applied { index: applied })
                .map_err(|error| format!("node rejected its applied index: {error}"))?;
        }
        self.check_monotonic(at)
    }

    fn on_send(&mut self, at: usize, message: Message) -> Result<(), String> {
        check_send_contract(&self.nodes[at], &message)?;
        if self.manual {
            self.enqueue(message, self.now_ms);
            return Ok(());
        }
        if self.rng.chance(self.faults.drop_per_mille, 1000) {
            self.trace.record(self.now_ms, || format!("drop {}", describe_message(&message)));
            return Ok(());
        }
        if self.rng.chance(self.faults.duplicate_per_mille, 1000) {
            let delay = self.rng.range(self.faults.delay_min_ms, self.faults.delay_max_ms + 1);
            self.enqueue(message.clone(), self.now_ms + delay);
        }
        let delay = self.rng.range(self.faults.delay_min_ms, self.faults.delay_max_ms + 1);
        self.enqueue(message, self.now_ms + delay);
        Ok(())
    }

    /// Puts a message on the network, arriving at `deliver_at_ms`.
    pub fn enqueue(&mut self, message: Message, deliver_at_ms: u64) {
        self.next_packet_id += 1;
        let packet =
            Packet { id: self.next_packet_id, deliver_at_ms, message, snapshot_data: None };
        self.network.push(packet);
    }

    /// Sends the sender's stored snapshot data with the message, as a host streams a file.
    fn on_send_snapshot(&mut self, at: usize, message: Message) -> Result<(), String> {
        let Body::InstallSnapshot { meta } = &message.body else {
            return Err(format!("SendSnapshot carried {}", message.body.kind()));
        };
        let index = meta.last.index;
        let data = *self.nodes[at].disk.snapshots.get(&index).ok_or_else(|| {
            format!("node {} asked to send snapshot {index}, which it never stored", message.from)
        })?;
        let delay = if self.manual {
            0
        } else {
            self.rng.range(self.faults.delay_min_ms, self.faults.delay_max_ms + 1) * 3
        };
        self.next_packet_id += 1;
        let packet = Packet {
            id: self.next_packet_id,
            deliver_at_ms: self.now_ms + delay,
            message,
            snapshot_data: Some(data),
        };
        self.network.push(packet);
        Ok(())
    }

    /// Replaces a node's state machine with the snapshot it installed, checking the data
    /// against the state every other node reached at that index.
    fn on_restore_snapshot(&mut self, at: usize, meta: &crate::SnapshotMeta) -> Result<(), String> {
        let sim = &mut self.nodes[at];
        let index = meta.last.index;
        let data =
            *sim.disk.snapshots.get(&index).ok_or_else(|| {
                format!("node {} restores snapshot {index} without its data", sim.id)
            })?;
        if let Some(expected) = self.checker.state_at(index) {
            if expected != data {
                return Err(format!(
                    "node {} restored snapshot {index} with a wrong state",
                    sim.id
                ));
            }
        }
        self.trace.record(self.now_ms, || format!("node {} restores snapshot {index}", sim.id));
        sim.applied = index;
        sim.state = data;
        self.installs += 1;
        Ok(())
    }

    fn on_persist(&mut self, at: usize, request: crate::PersistRequest) -> Result<(), String> {
        let id = self.nodes[at].id;
        let node = self.nodes[at].node.as_ref().expect("drained a running node");
        for entry in &request.entries {
            let prev_term = match entry.index {
                1 => 0,
                index => node.log_term(index - 1).ok_or_else(|| {
                    format!("node {id} persists entry {index} without entry {}", index - 1)
                })?,
            };
            self.checker.on_persisted_entry(id, entry, prev_term)?;
        }
        self.trace.record(self.now_ms, || {
            format!(
                "node {id} persist token {}: hard_state {:?} truncate_from {:?} entries [{}]",
                request.token,
                request.hard_state,
                request.truncate_from,
                describe_entries(&request.entries)
            )
        });
        let ready = if self.manual {
            u64::MAX
        } else {
            self.now_ms + self.rng.range(0, self.faults.disk_delay_max_ms + 1)
        };
        self.nodes[at].disk.submit(request, ready);
        Ok(())
    }

    /// Checks that the configuration a node reports is the newest one in its log, and that
    /// a leader's log contains at most one configuration entry above its commit index.
    fn check_membership(&self, at: usize) -> Result<(), String> {
        let id = self.nodes[at].id;
        let Some(node) = self.nodes[at].node.as_ref() else {
            return Ok(());
        };
        let reported = node.membership();
        let mut newest = None;
        let mut uncommitted = 0;
        for index in (node.first_log_index()..=node.last_log_id().index).rev() {
            if let Some(crate::Entry { payload: crate::Payload::Membership(m), .. }) =
                node.entry(index)
            {
                newest.get_or_insert_with(|| m.clone());
                uncommitted += usize::from(index > node.commit_index());
                if index <= node.commit_index() {
                    break;
                }
            }
        }
        let base = match node.snapshot() {
            Some(meta) => meta.membership.clone(),
            None if self.bootstrap.contains(id) => self.bootstrap.clone(),
            None => Membership::default(),
        };
        let expected = newest.map_or(base, |m| (*m).clone());
        if expected != *reported {
            return Err(format!(
                "node {id} reports configuration {reported:?} but its log holds {expected:?}"
            ));
        }
        if node.role() == Role::Leader && uncommitted > 1 {
            return Err(format!(
                "leader {id} holds {uncommitted} uncommitted configuration entries"
            ));
        }
        Ok(())
    }

    fn on_apply(&mut self, at: usize, entry: &crate::Entry) -> Result<(), String> {
        let sim = &mut self.nodes[at];
        if entry.index != sim.applied + 1 {
            return Err(format!(
                "node {} applied entry {} after entry {}",
                sim.id, entry.index, sim.applied
            ));
        }
        sim.applied = entry.index;
        sim.state = super::check::chain(sim.state, super::check::digest_of(entry));
        let (id, state) = (sim.id, sim.state);
        self.checker.on_apply(id, entry)?;
        match self.checker.state_at(entry.index) {
            Some(expected) if expected != state => {
                Err(format!("node {id} reached a different state at index {}", entry.index))
            }
            _ => Ok(()),
        }
    }

    fn on_outcome(&mut self, at: usize, id: LogId, outcome: ProposalOutcome) -> Result<(), String> {
        let node_id = self.nodes[at].id;
        self.checker.on_outcome(node_id, id, outcome)?;
        self.trace.record(self.now_ms, || {
            format!("node {node_id} proposal {} ended {outcome:?}", describe_id(id))
        });
        let sim = &mut self.nodes[at];
        sim.open_proposals.retain(|open| *open != id);
        sim.outcomes.push((id, outcome));
        Ok(())
    }

    fn on_role(&mut self, at: usize, role: Role, term: u64) -> Result<(), String> {
        let id = self.nodes[at].id;
        self.trace.record(self.now_ms, || format!("node {id} becomes {role:?} in term {term}"));
        if role == Role::Leader {
            self.checker.on_leader(term, id)?;
            let node = self.nodes[at].node.as_ref().expect("drained a running node");
            self.checker.check_leader_log(node)?;
        }
        Ok(())
    }

    fn check_monotonic(&mut self, at: usize) -> Result<(), String> {
        let sim = &mut self.nodes[at];
        let Some(node) = sim.node.as_ref() else {
            return Ok(());
        };
        let commit = node.commit_index();
        if commit < sim.last_commit {
            return Err(format!(
                "node {} commit index went back from {} to {commit}",
                sim.id, sim.last_commit
            ));
        }
        sim.last_commit = commit;
        let status_applied = node.status().applied;
        if status_applied > sim.applied {
            return Err(format!(
                "node {} reports applied {status_applied} beyond its state machine",
                sim.id
            ));
        }
        Ok(())
    }
}

/// Checks that a message leaves only after the state it vouches for is on disk.
fn check_send_contract(sim: &SimNode, message: &Message) -> Result<(), String> {
    let disk = &sim.disk;
    let durable_vote = (disk.hard_state.term, disk.hard_state.vote);
    match &message.body {
        Body::RequestVote { .. } if durable_vote != (message.term, Some(sim.id)) => Err(format!(
            "node {} requested votes for term {} before its own vote was durable (disk: {:?})",
            sim.id, message.term, disk.hard_state
        )),
        Body::VoteResponse { granted: true, .. } if durable_vote != (message.term, Some(message.to)) => {
            Err(format!(
                "node {} granted its vote to {} in term {} before the vote was durable (disk: {:?})",
                sim.id, message.to, message.term, disk.hard_state
            ))
        }
        Body::AppendResponse { outcome: AppendOutcome::Accepted { match_index }, .. } => {
            let node = sim.node.as_ref().expect("a sending node runs");
            // Entries compacted on either side are covered by a snapshot of committed state.
            if *match_index <= disk.base_index || *match_index < node.first_log_index() {
                return Ok(());
            }
            let durable = disk.entry(*match_index).map(|e| e.term);
            let expected = node.log_term(*match_index);
            if durable.is_none() || durable != expected {
                return Err(format!(
                    "node {} acknowledged entries up to {match_index} before they were durable \
                     (durable term there {durable:?}, log term {expected:?}, durable log ends \
                     at {})",
                    sim.id,
                    disk.last_index()
                ));
            }
            Ok(())
        }
        _ => Ok(()),
    }
}
