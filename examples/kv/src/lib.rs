//! A replicated key-value store on the sansraft core: the reference host.
//!
//! Each node is one process, in which a tokio task owns the Raft node ([`host`]). Peers
//! exchange messages over TCP ([`transport`]). The log lives in CRC-checked segment files
//! fsynced with group commit ([`storage`]). The state machine is a key-value map with
//! snapshots ([`state`], [`snapshot`]), and clients use HTTP ([`http`]). The [`demo`] starts
//! a cluster of such processes, writes through it while killing and restarting the leader,
//! and checks that every node ends with every acknowledged write.
//!
//! Peer addresses travel in the log. Adding a learner first commits a `SetPeer` command with
//! its addresses, and a new leader commits the addresses of every listed server it can
//! reach, so any node that becomes leader can reach every member and learner. A joining
//! node learns where the leader is from the hello that opens each connection
//! ([`transport`]).

pub mod cli;
pub mod demo;
pub mod host;
pub mod http;
pub mod identity;
pub mod snapshot;
pub mod state;
pub mod status;
pub mod storage;
pub mod transport;
