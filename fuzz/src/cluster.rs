//! The cluster simulator driven by arbitrary choices: which message to deliver, drop or
//! duplicate, which server crashes, restarts or takes a snapshot, how the network splits,
//! what is proposed and when time advances.
//!
//! The simulator runs in manual mode, so messages and disk writes wait for the fuzzer. It
//! checks its safety invariants on every output; any violation panics with its message. An
//! input may end by asking for a liveness check: every server restarts, the network heals,
//! and a proposal must then commit on every listed server within a bound.

use arbitrary::{Arbitrary, Unstructured};
use bytes::Bytes;
use sansraft::sim::{Cluster, ClusterOptions, Faults};
use sansraft::{Config, Membership, MembershipChange, NodeId};

/// The maximum number of actions one run takes, so that a long fuzz input cannot make a run slow.
const MAX_ACTIONS: usize = 300;

/// The virtual time within which a healed cluster must commit a proposal everywhere.
const LIVENESS_BOUND_MS: u64 = 20_000;

/// How long the liveness check waits for one proposal before proposing again.
const LIVENESS_ROUND_MS: u64 = 2_000;

/// The virtual time the liveness check lets pass between disk writes.
const DISK_INTERVAL_MS: u64 = 5;

/// Members and spare servers, which membership changes add as learners.
#[derive(Arbitrary, Clone, Copy, Debug)]
pub enum Setup {
    /// Members 1, 2 and 3.
    Three,
    /// Members 1, 2 and 3, and spare 4.
    ThreeAndSpare,
    /// Members 1 to 5.
    Five,
    /// Members 1 and 2, and spares 3 and 4.
    TwoAndSpares,
    /// Member 1 alone, and spares 2 and 3.
    OneAndSpares,
}

impl Setup {
    fn ids(self) -> (Vec<NodeId>, Vec<NodeId>) {
        match self {
            Setup::Three => (vec![1, 2, 3], vec![]),
            Setup::ThreeAndSpare => (vec![1, 2, 3], vec![4]),
            Setup::Five => (vec![1, 2, 3, 4, 5], vec![]),
            Setup::TwoAndSpares => (vec![1, 2], vec![3, 4]),
            Setup::OneAndSpares => (vec![1], vec![2, 3]),
        }
    }
}

/// Node settings small enough that batching, flow control and snapshots come into play.
#[derive(Arbitrary, Clone, Copy, Debug)]
pub struct Tuning {
    seed: u64,
    max_append_entries: u8,
    max_inflight_appends: u8,
    snapshot_trailing_entries: u8,
    promotion_hold_ms: u8,
    pre_vote: bool,
    check_quorum: bool,
}

/// A server, by its position among the cluster's servers.
#[derive(Arbitrary, Clone, Copy, Debug)]
pub struct Pick(u8);

impl Pick {
    fn id(self, cluster: &Cluster) -> NodeId {
        cluster.nodes[usize::from(self.0) % cluster.nodes.len()].id
    }
}

/// A single-server configuration change.
#[derive(Arbitrary, Clone, Copy, Debug)]
pub enum ChangeChoice {
    /// Add a learner.
    AddLearner(Pick, bool),
    /// Set or clear a learner's pending flag.
    SetPending(Pick, bool),
    /// Promote a learner.
    Promote(Pick),
    /// Demote a member.
    Demote(Pick),
    /// Remove a server.
    Remove(Pick),
}

impl ChangeChoice {
    fn resolve(self, cluster: &Cluster) -> MembershipChange {
        match self {
            ChangeChoice::AddLearner(pick, pending) => {
                MembershipChange::AddLearner { id: pick.id(cluster), pending }
            }
            ChangeChoice::SetPending(pick, pending) => {
                MembershipChange::SetPending { id: pick.id(cluster), pending }
            }
            ChangeChoice::Promote(pick) => MembershipChange::Promote { id: pick.id(cluster) },
            ChangeChoice::Demote(pick) => MembershipChange::Demote { id: pick.id(cluster) },
            ChangeChoice::Remove(pick) => MembershipChange::Remove { id: pick.id(cluster) },
        }
    }
}

/// One fault or request.
#[derive(Arbitrary, Clone, Copy, Debug)]
pub enum Action {
    /// Deliver one message in flight.
    Deliver(u8),
    /// Deliver every message in flight, oldest first, and the ones they cause.
    DeliverAll,
    /// Lose one message in flight. Snapshot transfers are never lost this way, because
    /// their sender waits for a report that a lost packet never gives.
    Drop(u8),
    /// Deliver one message in flight twice.
    Duplicate(u8),
    /// Advance the clock by up to 1 s and tick every server whose deadline passed.
    Advance(u16),
    /// Tick one server at the current time.
    Tick(Pick),
    /// Write every pending persist request of a server and acknowledge them.
    Persist(Pick),
    /// Crash a server; its first `written` pending writes reach its disk.
    Crash(Pick, u8),
    /// Restart a crashed server from its disk.
    Restart(Pick),
    /// Split the network: servers whose position bit is set form one side.
    Partition(u8),
    /// Join the network back together.
    Heal,
    /// Propose on a server (rejected unless it leads).
    Propose(Pick, u8),
    /// Propose on the leader of the highest term, if any.
    ProposeOnLeader(u8),
    /// Make a server campaign.
    Campaign(Pick),
    /// Make a server snapshot its state machine.
    TakeSnapshot(Pick),
    /// Request a configuration change on the leader of the highest term, if any.
    ChangeMembership(ChangeChoice),
    /// Run every event due within the next `ms` of virtual time, except disk writes.
    Run(u16),
}

/// Runs one fuzz input: a setup, node settings, whether to check liveness at the end, then
/// actions until the input runs out.
pub fn run(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let Ok((setup, tuning, check_liveness)) = <(Setup, Tuning, bool)>::arbitrary(&mut u) else {
        return;
    };
    let mut cluster = build(setup, tuning);
    for _ in 0..MAX_ACTIONS {
        if u.is_empty() {
            break;
        }
        let Ok(action) = Action::arbitrary(&mut u) else {
            break;
        };
        if let Err(message) = act(&mut cluster, action) {
            fail(&cluster, &message);
        }
    }
    if check_liveness {
        if let Err(message) = heal_and_check_progress(&mut cluster) {
            fail(&cluster, &message);
        }
    }
}

/// Returns the setup and actions that `run` reads from `data`, one per line, for reports.
pub fn describe(data: &[u8]) -> String {
    let mut u = Unstructured::new(data);
    let Ok(start) = <(Setup, Tuning, bool)>::arbitrary(&mut u) else {
        return String::from("(input too short for a setup)");
    };
    let mut lines = vec![format!("{start:?}")];
    for _ in 0..MAX_ACTIONS {
        if u.is_empty() {
            break;
        }
        let Ok(action) = Action::arbitrary(&mut u) else {
            break;
        };
        lines.push(format!("{action:?}"));
    }
    lines.join("\n")
}

fn build(setup: Setup, tuning: Tuning) -> Cluster {
    let (members, joining) = setup.ids();
    let mut node_config = Config::new(1);
    node_config.max_append_bytes = 64;
    node_config.max_append_entries = usize::from(tuning.max_append_entries % 4) + 1;
    node_config.max_inflight_appends = usize::from(tuning.max_inflight_appends % 4) + 1;
    node_config.snapshot_trailing_entries = u64::from(tuning.snapshot_trailing_entries % 4);
    node_config.promotion_max_lag_entries = 2;
    node_config.promotion_hold_ms = u64::from(tuning.promotion_hold_ms);
    node_config.pre_vote = tuning.pre_vote;
    node_config.check_quorum = tuning.check_quorum;
    let options = ClusterOptions {
        membership: Membership::with_members(members).expect("setups list valid members"),
        joining,
        seed: tuning.seed,
        node_config,
        faults: Faults::reliable(),
        trace: false,
        manual: true,
    };
    Cluster::new(options).unwrap_or_else(|message| panic!("the cluster failed to start: {message}"))
}

fn act(cluster: &mut Cluster, action: Action) -> Result<(), String> {
    match action {
        Action::Deliver(pick) => match in_flight(cluster, pick) {
            Some(position) => cluster.deliver(position),
            None => Ok(()),
        },
        Action::DeliverAll => cluster.deliver_due(),
        Action::Drop(pick) => {
            if let Some(position) = in_flight(cluster, pick) {
                if cluster.network[position].snapshot_data.is_none() {
                    cluster.network.remove(position);
                }
            }
            Ok(())
        }
        Action::Duplicate(pick) => {
            if let Some(position) = in_flight(cluster, pick) {
                let copy = cluster.network[position].clone();
                cluster.network.push(copy);
            }
            Ok(())
        }
        Action::Advance(ms) => {
            cluster.now_ms += u64::from(ms % 1000);
            cluster.tick_due()
        }
        Action::Tick(pick) => cluster.tick(pick.id(cluster)),
        Action::Persist(pick) => cluster.persist(pick.id(cluster), true),
        Action::Crash(pick, written) => cluster.crash(pick.id(cluster), usize::from(written)),
        Action::Restart(pick) => cluster.restart(pick.id(cluster)),
        Action::Partition(mask) => {
            let mut sides = [Vec::new(), Vec::new()];
            for (at, sim) in cluster.nodes.iter().enumerate() {
                let inside = mask & (1 << (at % 8)) != 0;
                sides[usize::from(inside)].push(sim.id);
            }
            cluster.partition(&sides)
        }
        Action::Heal => {
            cluster.heal();
            Ok(())
        }
        Action::Propose(pick, data) => propose(cluster, pick.id(cluster), data),
        Action::ProposeOnLeader(data) => match cluster.leader() {
            Some(leader) => propose(cluster, leader, data),
            None => Ok(()),
        },
        Action::Campaign(pick) => {
            let id = pick.id(cluster);
            let member = cluster.node(id).is_ok_and(|node| node.membership().is_member(id));
            if member {
                cluster.campaign(id)
            } else {
                Ok(())
            }
        }
        Action::TakeSnapshot(pick) => cluster.take_snapshot(pick.id(cluster)),
        Action::ChangeMembership(change) => {
            let Some(leader) = cluster.leader() else {
                return Ok(());
            };
            let change = change.resolve(cluster);
            cluster.change_membership(leader, change).map(|_| ())
        }
        Action::Run(ms) => {
            let until = cluster.now_ms + u64::from(ms % 1000);
            cluster.run_until(until, |_| false).map(|_| ())
        }
    }
}

/// Returns the position of the message in flight that `pick` names, if any is in flight.
fn in_flight(cluster: &Cluster, pick: u8) -> Option<usize> {
    match cluster.network.len() {
        0 => None,
        len => Some(usize::from(pick) % len),
    }
}

fn propose(cluster: &mut Cluster, id: NodeId, data: u8) -> Result<(), String> {
    if cluster.node(id).is_err() {
        return Ok(());
    }
    cluster.propose(id, Bytes::from(vec![data])).map(|_| ())
}

/// Restarts every server, heals the network and requires that a proposal then commits on
/// every server the leader's configuration lists within the bound. Disk writes complete
/// every few virtual milliseconds.
fn heal_and_check_progress(cluster: &mut Cluster) -> Result<(), String> {
    let ids: Vec<NodeId> = cluster.nodes.iter().map(|sim| sim.id).collect();
    for id in &ids {
        cluster.restart(*id)?;
    }
    cluster.heal();
    let deadline = cluster.now_ms + LIVENESS_BOUND_MS;
    let mut marker = None;
    let mut round_end = 0;
    while cluster.now_ms < deadline {
        for id in &ids {
            cluster.persist(*id, true)?;
        }
        let until = cluster.now_ms + DISK_INTERVAL_MS;
        cluster.run_until(until, |_| false)?;

        let Some(leader) = cluster.leader() else {
            continue;
        };
        if marker.is_none() || cluster.now_ms >= round_end {
            marker = cluster.propose(leader, Bytes::from_static(b"marker"))?.ok();
            round_end = cluster.now_ms + LIVENESS_ROUND_MS;
        }
        let Some(proposed) = marker else {
            continue;
        };
        let listed = cluster.node(leader)?.membership().clone();
        let applied_everywhere = cluster
            .nodes
            .iter()
            .filter(|sim| listed.contains(sim.id))
            .all(|sim| sim.applied >= proposed.index);
        let committed = cluster.checker.committed_at(proposed.index).map(|(term, _)| term);
        if applied_everywhere && committed == Some(proposed.term) {
            return Ok(());
        }
    }
    Err(format!("no proposal committed on every server within {LIVENESS_BOUND_MS} ms of healing"))
}

fn fail(cluster: &Cluster, message: &str) -> ! {
    panic!("simulator check failed at {} ms: {message}", cluster.now_ms);
}
