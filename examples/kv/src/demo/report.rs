//! Measurements of a demo run, and the printed summary.

use std::time::Duration;

use sansraft::NodeId;
use tokio::time::Instant;

use super::workload::Ack;
use crate::status::StatusView;

/// Something the demo did to the cluster.
#[derive(Clone, Copy, Debug)]
pub enum Event {
    /// The demo killed `node` with SIGKILL.
    Killed {
        /// The node.
        node: NodeId,
        /// When.
        at: Instant,
    },
}

/// A change of the node acknowledging writes.
#[derive(Clone, Copy, Debug)]
struct LeaderChange {
    from: NodeId,
    to: NodeId,
    /// The write outage: from the old leader's last acknowledgement to the new leader's
    /// first.
    outage: Duration,
    /// When the demo killed the old leader, if it did.
    killed_at: Option<Instant>,
    first_new: Instant,
}

/// Measurements and final checks of one demo run.
#[derive(Debug)]
pub struct Report {
    keys: u64,
    /// Every acknowledged write, in arrival order.
    pub acks: Vec<Ack>,
    /// Actions the demo took on the cluster, in order.
    pub events: Vec<Event>,
    /// When the writers started.
    pub started: Option<Instant>,
    /// When the last write was acknowledged.
    pub finished: Option<Instant>,
    /// The learner and how long after its addition it became a member.
    pub promotion: Option<(NodeId, Duration)>,
    /// Every node's status once they converged.
    pub statuses: Vec<StatusView>,
    /// The key count and digest the acknowledged writes produce.
    pub expected: (usize, String),
    /// A line per spot read that did not return the written value.
    pub spot_read_failures: Vec<String>,
}

impl Report {
    /// Creates an empty report for a run of `keys` writes.
    pub fn new(keys: u64) -> Self {
        Report {
            keys,
            acks: Vec::new(),
            events: Vec::new(),
            started: None,
            finished: None,
            promotion: None,
            statuses: Vec::new(),
            expected: (0, String::new()),
            spot_read_failures: Vec::new(),
        }
    }

    /// Prints one progress line.
    pub fn print_progress(&self, started: Instant) {
        let done = self.acks.len();
        let seconds = started.elapsed().as_secs_f64().max(1e-3);
        let leader =
            self.acks.last().map_or("none yet".to_owned(), |ack| format!("node {}", ack.node));
        println!(
            "  {done:>7}/{} writes acknowledged, {:>6.0} writes/s, leader {leader}",
            self.keys,
            done as f64 / seconds
        );
    }

    /// Returns true when every node contains exactly the acknowledged writes.
    pub fn passed(&self) -> bool {
        let (keys, digest) = &self.expected;
        let states_match =
            self.statuses.iter().all(|status| status.keys == *keys && status.digest == *digest);
        !self.statuses.is_empty() && states_match && self.spot_read_failures.is_empty()
    }

    fn leader_changes(&self) -> Vec<LeaderChange> {
        let mut acks = self.acks.clone();
        acks.sort_by_key(|ack| ack.at);
        let mut changes = Vec::new();
        for pair in acks.windows(2) {
            let (old, new) = (pair[0], pair[1]);
            if old.node == new.node {
                continue;
            }
            let killed_at = self.events.iter().find_map(|event| match event {
                Event::Killed { node, at }
                    if *node == old.node && *at >= old.at && *at <= new.at =>
                {
                    Some(*at)
                }
                _ => None,
            });
            changes.push(LeaderChange {
                from: old.node,
                to: new.node,
                outage: new.at - old.at,
                killed_at,
                first_new: new.at,
            });
        }
        changes
    }

    /// Prints the summary.
    pub fn print(&self) {
        println!();
        println!("Summary");
        self.print_writes();
        self.print_leader_changes();

        match self.promotion {
            Some((learner, after)) => println!(
                "  learner          node {learner} promoted to voting member {} after it was added",
                seconds(after)
            ),
            None => println!("  learner          not promoted"),
        }
        self.print_snapshots();
        self.print_states();

        if self.passed() {
            println!(
                "  result           OK: every node contains all {} acknowledged writes",
                self.expected.0
            );
        } else {
            println!(
                "  result           FAILED: a node's state differs from the acknowledged writes"
            );
        }
    }

    fn print_snapshots(&self) {
        let snapshots_taken: u64 = self.statuses.iter().map(|status| status.snapshots_taken).sum();
        let installed_total: u64 =
            self.statuses.iter().map(|status| status.snapshots_installed).sum();
        let per_node: Vec<String> = self
            .statuses
            .iter()
            .filter(|status| status.snapshots_installed > 0)
            .map(|status| format!("node {} installed {}", status.id, status.snapshots_installed))
            .collect();
        let detail =
            if per_node.is_empty() { String::new() } else { format!(" ({})", per_node.join(", ")) };
        println!(
            "  snapshots        {snapshots_taken} taken, {installed_total} installed from a \
             leader{detail}"
        );
    }

    fn print_writes(&self) {
        let (Some(started), Some(finished)) = (self.started, self.finished) else { return };
        let elapsed = finished - started;
        let rate = self.acks.len() as f64 / elapsed.as_secs_f64().max(1e-3);
        println!(
            "  writes           {} acknowledged in {}: {rate:.0} writes/s",
            self.acks.len(),
            seconds(elapsed)
        );
        let mut latencies: Vec<Duration> = self.acks.iter().map(|ack| ack.latency).collect();
        latencies.sort();
        let percentile = |p: usize| latencies[(latencies.len() * p / 100).min(latencies.len() - 1)];
        if !latencies.is_empty() {
            println!(
                "  write latency    p50 {}, p99 {}, max {} (first attempt to acknowledgement)",
                millis(percentile(50)),
                millis(percentile(99)),
                millis(*latencies.last().expect("not empty"))
            );
        }
        let retried = self.acks.iter().filter(|ack| ack.attempts > 1).count();
        println!("  retried writes   {retried} needed a redirect or a retry");
    }

    fn print_leader_changes(&self) {
        let changes = self.leader_changes();
        println!("  leader changes   {}", changes.len());
        for change in changes {
            let (cause, since_kill) = match change.killed_at {
                Some(killed_at) => (
                    format!(", after node {} was killed", change.from),
                    format!(" ({} from the kill)", millis(change.first_new - killed_at)),
                ),
                None => (String::new(), String::new()),
            };
            println!(
                "                   node {} -> node {}{cause}: write outage {}{since_kill}",
                change.from,
                change.to,
                millis(change.outage)
            );
        }
    }

    fn print_states(&self) {
        let (keys, digest) = &self.expected;
        for (position, status) in self.statuses.iter().enumerate() {
            let label = if position == 0 { "  state            " } else { "                   " };
            let verdict =
                if status.keys == *keys && status.digest == *digest { "match" } else { "MISMATCH" };
            println!(
                "{label}node {} ({}): applied {}, {} keys, digest {} {verdict}",
                status.id, status.role, status.applied, status.keys, status.digest
            );
        }
        println!("                   expected: {keys} keys, digest {digest}");
        if self.spot_read_failures.is_empty() {
            println!("  spot reads       every sampled key read back correctly from every node");
        } else {
            println!("  spot reads       {} failed:", self.spot_read_failures.len());
            for failure in self.spot_read_failures.iter().take(20) {
                println!("                   {failure}");
            }
        }
    }
}

fn millis(duration: Duration) -> String {
    format!("{:.1} ms", duration.as_secs_f64() * 1000.0)
}

fn seconds(duration: Duration) -> String {
    format!("{:.2} s", duration.as_secs_f64())
}
