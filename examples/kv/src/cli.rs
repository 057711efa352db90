//! Command-line flags.

use std::collections::HashMap;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use sansraft::{Config, NodeId};

use crate::host::NodeOptions;
use crate::state::PeerAddresses;

/// A replicated key-value store on the sansraft Raft core. Without a subcommand it runs the
/// demo: a local cluster of node processes under a write load, with a leader crash.
#[derive(Debug, Parser)]
#[command(name = "sansraft-kv", version, args_conflicts_with_subcommands = true)]
pub struct Cli {
    /// Run one node, or the demo.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Demo settings, when no subcommand is given.
    #[command(flatten)]
    pub demo: DemoArgs,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run one node of a cluster.
    Node(NodeArgs),
    /// Run the demo (the default).
    Demo(DemoArgs),
}

/// Flags of one node.
#[derive(Clone, Debug, Args)]
pub struct NodeArgs {
    /// This node's id: a positive integer, unique in the cluster.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub id: NodeId,
    /// Address (host:port) to listen on for Raft traffic from peers.
    #[arg(long, value_name = "HOST:PORT")]
    pub raft_addr: String,
    /// Address (host:port) to serve the HTTP API on.
    #[arg(long, value_name = "HOST:PORT")]
    pub http_addr: String,
    /// A peer's id and its Raft and HTTP addresses; repeat for each peer. Without --join,
    /// this node and its peers are the cluster's initial voting members.
    #[arg(long = "peer", value_name = "ID=RAFT_ADDR,HTTP_ADDR", value_parser = parse_peer)]
    pub peers: Vec<(NodeId, PeerAddresses)>,
    /// Start with an empty configuration and wait to be added to a running cluster (with
    /// POST /members/learners on its leader). Used only on the first start.
    #[arg(long)]
    pub join: bool,
    /// Directory for this node's log, snapshots and identity file.
    #[arg(long, value_name = "DIR")]
    pub data_dir: PathBuf,
    /// Name of the cluster; a node rejects peers and data directories of another cluster.
    #[arg(long, value_name = "NAME", default_value = "sansraft-kv")]
    pub cluster_id: String,
    /// Lower bound of the randomized election timeout, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 300)]
    pub election_timeout_min_ms: u64,
    /// Upper bound (exclusive) of the randomized election timeout, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 600)]
    pub election_timeout_max_ms: u64,
    /// Interval between the leader's heartbeats, in milliseconds; below the minimum
    /// election timeout.
    #[arg(long, value_name = "MS", default_value_t = 75)]
    pub heartbeat_ms: u64,
    /// Take a snapshot of the key-value map after this many applied log entries; 0 never
    /// takes one.
    #[arg(long, value_name = "ENTRIES", default_value_t = 1000)]
    pub snapshot_every: u64,
    /// Log entries kept before a snapshot point, so a follower slightly behind gets entries
    /// instead of a whole snapshot.
    #[arg(long, value_name = "ENTRIES", default_value_t = 500)]
    pub snapshot_trailing_entries: u64,
    /// Largest value accepted by PUT, in bytes; larger ones get 413.
    #[arg(long, value_name = "BYTES", default_value_t = 1 << 20)]
    pub max_value_bytes: usize,
    /// Size in bytes at which the log starts a new segment file.
    #[arg(long, value_name = "BYTES", default_value_t = 4 << 20)]
    pub segment_bytes: u64,
    /// A pending learner counts as caught up while its log is within this many entries of
    /// the leader's last index.
    #[arg(long, value_name = "ENTRIES", default_value_t = 1000)]
    pub promotion_max_lag_entries: u64,
    /// Time in milliseconds that a pending learner must stay caught up before the leader
    /// promotes it to a voting member.
    #[arg(long, value_name = "MS", default_value_t = 1000)]
    pub promotion_hold_ms: u64,
    /// Stop when the parent process exits (the demo sets this on the nodes it starts).
    #[arg(long, hide = true)]
    pub exit_with_parent: bool,
}

/// Flags of the demo.
#[derive(Clone, Debug, Args)]
pub struct DemoArgs {
    /// Number of keys to write.
    #[arg(long, value_name = "COUNT", default_value_t = 10_000)]
    pub keys: u64,
    /// Number of concurrent writers.
    #[arg(long, value_name = "COUNT", default_value_t = 32)]
    pub writers: usize,
    /// Size of each value, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = 100)]
    pub value_bytes: usize,
    /// Take a snapshot on each node after this many applied log entries.
    #[arg(long, value_name = "ENTRIES", default_value_t = 1000)]
    pub snapshot_every: u64,
    /// Log entries kept before a snapshot point.
    #[arg(long, value_name = "ENTRIES", default_value_t = 500)]
    pub snapshot_trailing_entries: u64,
    /// Parent directory for the demo's files: the demo creates a new directory in it for the
    /// nodes' data directories and logs, and deletes that directory at exit unless
    /// --keep-data is given or a check failed [default: the system's temporary directory].
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Keep the data directories and node logs after the demo.
    #[arg(long)]
    pub keep_data: bool,
}

fn parse_peer(text: &str) -> Result<(NodeId, PeerAddresses), String> {
    let expected = "expected ID=RAFT_ADDR,HTTP_ADDR, such as 2=127.0.0.1:7002,127.0.0.1:8002";
    let (id, addresses) = text.split_once('=').ok_or_else(|| format!("{text:?}: {expected}"))?;
    let id: NodeId =
        id.parse().map_err(|_| format!("{text:?}: the id is not a number; {expected}"))?;
    if id == 0 {
        return Err(format!("{text:?}: node id 0 is reserved; ids start at 1"));
    }
    let (raft_addr, http_addr) =
        addresses.split_once(',').ok_or_else(|| format!("{text:?}: {expected}"))?;
    if raft_addr.is_empty() || http_addr.is_empty() {
        return Err(format!("{text:?}: {expected}"));
    }
    Ok((id, PeerAddresses { raft_addr: raft_addr.to_owned(), http_addr: http_addr.to_owned() }))
}

impl NodeArgs {
    /// Checks the flags and builds the node's options.
    pub fn into_options(self) -> anyhow::Result<NodeOptions> {
        let mut peers = HashMap::new();
        for (id, addresses) in self.peers {
            if id == self.id {
                anyhow::bail!(
                    "--peer {id}=... names this node itself (--id {id}); list only other nodes"
                );
            }
            if peers.insert(id, addresses).is_some() {
                anyhow::bail!("--peer {id}=... is given twice; list each peer once");
            }
        }

        let mut raft = Config::new(self.id);
        raft.election_timeout_min_ms = self.election_timeout_min_ms;
        raft.election_timeout_max_ms = self.election_timeout_max_ms;
        raft.heartbeat_interval_ms = self.heartbeat_ms;
        raft.snapshot_trailing_entries = self.snapshot_trailing_entries;
        raft.promotion_max_lag_entries = self.promotion_max_lag_entries;
        raft.promotion_hold_ms = self.promotion_hold_ms;
        // Mixing in the process id gives a restarted node a fresh sequence of timeouts.
        raft.seed = self.id ^ (u64::from(std::process::id()) << 32);
        raft.validate().map_err(|error| anyhow::anyhow!("invalid timing flags: {error}"))?;

        Ok(NodeOptions {
            raft,
            cluster_id: self.cluster_id,
            addresses: PeerAddresses { raft_addr: self.raft_addr, http_addr: self.http_addr },
            peers,
            join: self.join,
            data_dir: self.data_dir,
            snapshot_every: self.snapshot_every,
            max_value_bytes: self.max_value_bytes,
            segment_bytes: self.segment_bytes,
            exit_with_parent: self.exit_with_parent,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peer_flag_parses() {
        let (id, addresses) = parse_peer("2=127.0.0.1:7002,127.0.0.1:8002").unwrap();
        assert_eq!(id, 2);
        assert_eq!(addresses.raft_addr, "127.0.0.1:7002");
        assert_eq!(addresses.http_addr, "127.0.0.1:8002");
    }

    #[test]
    fn peer_flag_rejects_bad_forms() {
        for bad in ["2", "x=a,b", "0=a,b", "2=a", "2=,b"] {
            assert!(parse_peer(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn cli_definition_is_valid() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
