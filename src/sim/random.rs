//! Random faulty runs: one seed drives crashes, partitions, message loss, duplication,
//! reordering and slow disks, then the cluster heals and must make progress again.

use std::string::String;
use std::vec::Vec;

use bytes::Bytes;

use super::cluster::{Cluster, ClusterOptions, Faults};
use crate::config::Config;
use crate::membership::{Membership, MembershipChange};
use crate::types::NodeId;

/// Settings of a random run.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// Number of voting members at the start.
    pub members: u64,
    /// Servers outside the starting configuration that membership changes add and remove.
    pub spares: u64,
    /// Whether faults include membership changes on the leader.
    pub membership_changes: bool,
    /// Whether servers take snapshots now and then, which compacts their logs and makes
    /// leaders send snapshots to servers that fall behind.
    pub snapshots: bool,
    /// Length of the faulty phase in virtual ms.
    pub chaos_ms: u64,
    /// After healing, the time in virtual ms within which a proposal must commit everywhere.
    pub liveness_bound_ms: u64,
    /// Interval between proposals on the leader, in ms.
    pub propose_interval_ms: u64,
    /// Record a trace (turned on when replaying a failure).
    pub trace: bool,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            members: 3,
            spares: 0,
            membership_changes: false,
            snapshots: false,
            chaos_ms: 3_000,
            liveness_bound_ms: 10_000,
            propose_interval_ms: 25,
            trace: false,
        }
    }
}

/// What a passing run did.
#[derive(Clone, Debug, Default)]
pub struct RunSummary {
    /// Entries committed.
    pub committed: u64,
    /// Crashes injected.
    pub crashes: u64,
    /// Partitions injected.
    pub partitions: u64,
    /// Configuration changes the leader accepted.
    pub membership_changes: u64,
    /// Snapshots taken.
    pub snapshots: u64,
    /// Snapshots installed from a leader.
    pub installs: u64,
    /// Virtual time in ms when the run ended.
    pub end_ms: u64,
    /// The trace of the run, when tracing was on.
    pub trace: Vec<String>,
}

/// A violated invariant, with the seed that reproduces it and the trace of the run.
#[derive(Clone, Debug)]
pub struct Failure {
    /// The seed of the failing run.
    pub seed: u64,
    /// What went wrong.
    pub message: String,
    /// The trace lines of the replayed run.
    pub trace: Vec<String>,
}

impl core::fmt::Display for Failure {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        for line in &self.trace {
            writeln!(f, "{line}")?;
        }
        write!(f, "seed {} failed: {}", self.seed, self.message)
    }
}

/// Runs one seed. On failure the seed is replayed with tracing on, and the failure carries
/// the trace.
pub fn run_seed(seed: u64, options: &RunOptions) -> Result<RunSummary, Failure> {
    match run_once(seed, options, options.trace) {
        Ok(summary) => Ok(summary),
        Err(first) => {
            let traced = run_once(seed, options, true).err();
            let (message, trace) = match traced {
                Some((message, trace)) => (message, trace),
                None => (first.0, Vec::from([String::from("replay with tracing passed")])),
            };
            Err(Failure { seed, message, trace })
        }
    }
}

fn faulty() -> Faults {
    Faults {
        delay_min_ms: 1,
        delay_max_ms: 40,
        drop_per_mille: 50,
        duplicate_per_mille: 30,
        disk_delay_max_ms: 15,
    }
}

fn run_once(
    seed: u64,
    options: &RunOptions,
    trace: bool,
) -> Result<RunSummary, (String, Vec<String>)> {
    let members: Vec<NodeId> = (1..=options.members).collect();
    let membership = Membership::with_members(members.iter().copied())
        .map_err(|error| (error.to_string(), Vec::new()))?;
    let spares = (options.members + 1..=options.members + options.spares).collect();
    let mut node_config = Config::new(1);
    // Few trailing entries, so a server that falls a little behind needs a snapshot.
    node_config.snapshot_trailing_entries = seed % 8;
    let cluster_options = ClusterOptions {
        membership,
        joining: spares,
        seed,
        node_config,
        faults: faulty(),
        trace,
        manual: false,
    };
    let mut cluster = Cluster::new(cluster_options).map_err(|m| (m, Vec::new()))?;
    let mut driver = Driver {
        summary: RunSummary::default(),
        proposals: 0,
        changes: options.membership_changes,
    };
    let result = driver.run(&mut cluster, options);
    let lines = cluster.trace.lines().to_vec();
    result.map_err(|message| (message, lines))?;
    driver.summary.committed = cluster.checker.committed_len();
    driver.summary.installs = cluster.installs;
    driver.summary.end_ms = cluster.now_ms;
    driver.summary.trace = cluster.trace.lines().to_vec();
    Ok(driver.summary)
}

struct Driver {
    summary: RunSummary,
    proposals: u64,
    changes: bool,
}

impl Driver {
    fn run(&mut self, cluster: &mut Cluster, options: &RunOptions) -> Result<(), String> {
        let mut next_propose = options.propose_interval_ms;
        let mut next_fault = cluster.rng.range(100, 400);
        let mut next_change = if self.changes { cluster.rng.range(100, 300) } else { u64::MAX };
        let mut next_snapshot =
            if options.snapshots { cluster.rng.range(100, 300) } else { u64::MAX };
        while cluster.now_ms < options.chaos_ms {
            let next = cluster
                .next_event_ms()
                .unwrap_or(u64::MAX)
                .min(next_propose)
                .min(next_fault)
                .min(next_change)
                .min(next_snapshot)
                .max(cluster.now_ms);
            cluster.now_ms = next;
            cluster.run_due()?;
            if cluster.now_ms >= next_propose {
                self.propose(cluster)?;
                next_propose += options.propose_interval_ms;
            }
            if cluster.now_ms >= next_fault {
                self.inject_fault(cluster)?;
                next_fault = cluster.now_ms + cluster.rng.range(50, 400);
            }
            if cluster.now_ms >= next_snapshot {
                let pick = cluster.rng.range(0, cluster.nodes.len() as u64) as usize;
                let id = cluster.nodes[pick].id;
                cluster.take_snapshot(id)?;
                self.summary.snapshots += 1;
                next_snapshot = cluster.now_ms + cluster.rng.range(50, 250);
            }
            if cluster.now_ms >= next_change {
                self.change_membership(cluster)?;
                next_change = cluster.now_ms + cluster.rng.range(50, 300);
            }
        }
        self.heal_and_check_progress(cluster, options)
    }

    fn propose(&mut self, cluster: &mut Cluster) -> Result<(), String> {
        if let Some(leader) = cluster.leader() {
            self.proposals += 1;
            let data = Bytes::from(format!("p{}", self.proposals));
            let _ = cluster.propose(leader, data)?;
        }
        Ok(())
    }

    fn inject_fault(&mut self, cluster: &mut Cluster) -> Result<(), String> {
        let count = cluster.nodes.len();
        let down = cluster.nodes.iter().filter(|n| n.node.is_none()).count();
        let pick = cluster.rng.range(0, count as u64) as usize;
        let id = cluster.nodes[pick].id;
        match cluster.rng.range(0, 6) {
            0 | 1 if down < count.div_ceil(2) => {
                let pending = cluster.nodes[pick].disk.pending_len() as u64;
                let written = cluster.rng.range(0, pending + 1) as usize;
                self.summary.crashes += u64::from(cluster.nodes[pick].node.is_some());
                cluster.crash(id, written)
            }
            0..=2 => cluster.restart(id),
            3 => {
                self.summary.partitions += 1;
                let groups = random_split(cluster);
                cluster.partition(&groups)
            }
            4 => {
                cluster.heal();
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// Asks the leader for a random single-server change. Refusals (a change in flight, a
    /// leader without a committed entry of its term, an invalid change) are expected.
    fn change_membership(&mut self, cluster: &mut Cluster) -> Result<(), String> {
        let Some(leader) = cluster.leader() else {
            return Ok(());
        };
        let membership = cluster.node(leader)?.membership().clone();
        let pick = cluster.rng.range(0, cluster.nodes.len() as u64) as usize;
        let id = cluster.nodes[pick].id;
        let change = if !membership.contains(id) {
            MembershipChange::AddLearner { id, pending: cluster.rng.chance(3, 4) }
        } else {
            match cluster.rng.range(0, 4) {
                0 => MembershipChange::Remove { id },
                1 => MembershipChange::Demote { id },
                2 => MembershipChange::SetPending { id, pending: true },
                _ => MembershipChange::Promote { id },
            }
        };
        if cluster.change_membership(leader, change)?.is_ok() {
            self.summary.membership_changes += 1;
        }
        Ok(())
    }

    /// Restarts every server, heals the network and requires that a new proposal commits
    /// on every server within the liveness bound.
    fn heal_and_check_progress(
        &mut self,
        cluster: &mut Cluster,
        options: &RunOptions,
    ) -> Result<(), String> {
        let ids: Vec<NodeId> = cluster.nodes.iter().map(|n| n.id).collect();
        for id in &ids {
            cluster.restart(*id)?;
        }
        cluster.heal();
        cluster.faults = Faults::reliable();
        let deadline = cluster.now_ms + options.liveness_bound_ms;

        // A marker proposed on a leader that loses its term may be overwritten, so propose
        // again until one commits on every server or the bound runs out.
        while cluster.now_ms < deadline {
            let step_end = (cluster.now_ms + 100).min(deadline);
            cluster.run_until(step_end, |c| c.leader().is_some())?;
            let Some(leader) = cluster.leader() else {
                continue;
            };
            let Ok(marker) = cluster.propose(leader, Bytes::from_static(b"marker"))? else {
                continue;
            };
            let wait_end = (cluster.now_ms + 2_000).min(deadline);
            let listed = cluster.node(leader)?.membership().clone();
            let all_applied = |c: &Cluster| {
                c.nodes.iter().filter(|n| listed.contains(n.id)).all(|n| n.applied >= marker.index)
            };
            let settled = cluster.run_until(wait_end, all_applied)?;
            let committed_term = cluster.checker.committed_at(marker.index).map(|(term, _)| term);
            if settled && committed_term == Some(marker.term) {
                return check_proposals_ended(cluster);
            }
        }
        Err(format!(
            "no proposal committed on every node within {} ms after healing",
            options.liveness_bound_ms
        ))
    }
}

/// Checks that no proposal at or below a server's applied index is still open.
fn check_proposals_ended(cluster: &Cluster) -> Result<(), String> {
    for sim in &cluster.nodes {
        if let Some(open) = sim.open_proposals.iter().find(|p| p.index <= sim.applied) {
            return Err(format!(
                "node {} applied through {} but proposal {}.{} never ended",
                sim.id, sim.applied, open.term, open.index
            ));
        }
    }
    Ok(())
}

fn random_split(cluster: &mut Cluster) -> Vec<Vec<NodeId>> {
    let mut groups = vec![Vec::new(), Vec::new()];
    for at in 0..cluster.nodes.len() {
        let side = cluster.rng.range(0, 2) as usize;
        groups[side].push(cluster.nodes[at].id);
    }
    groups
}
