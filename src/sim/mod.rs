//! A deterministic cluster simulator (feature `sim`).
//!
//! It runs several nodes under one virtual clock with a network that drops, delays,
//! duplicates, reorders and partitions messages, and disks that acknowledge late and lose
//! unwritten requests on a crash. After every output it checks Raft's safety invariants.
//! Every choice comes from one seed, so a failing seed replays exactly, with a trace.

mod check;
mod cluster;
mod disk;
mod random;
mod script;
mod trace;

pub use check::{chain, digest_of, Checker};
pub use cluster::{Cluster, ClusterOptions, Faults, Packet, SimNode};
pub use disk::Disk;
pub use random::{run_seed, Failure, RunOptions, RunSummary};
pub use script::{run_script, Script, ScriptError};
pub use trace::{describe_entries, describe_entry, describe_id, describe_message, Trace};
