//! A Raft consensus core that does no I/O.
//!
//! A host feeds a [`Node`] inputs (time, received messages, proposals, persistence
//! acknowledgements) through [`Node::step`] and drains [`Output`]s with
//! [`Node::poll_output`]: messages to send, state to persist, committed entries to apply and
//! notifications. The node owns no threads, reads no clock and draws randomness only from a
//! seeded generator, so the same inputs always produce the same outputs.
//!
//! # Persistence contract
//!
//! Each [`Output::Persist`] carries a token. The host writes requests in token order and
//! then reports [`Input::Persisted`]. Until then the node holds back every message whose
//! truth depends on that state: vote grants, append acknowledgements and its own vote
//! requests. A leader counts itself toward a commit quorum only for durable entries. After a
//! crash, rebuild the node with [`Node::restore`] from what was acknowledged.
#![cfg_attr(not(feature = "std"), no_std)]
#![deny(missing_docs)]

extern crate alloc;

#[cfg(feature = "arbitrary")]
mod arbitrary;
pub mod codec;
mod config;
mod error;
mod log;
mod membership;
mod message;
mod node;
mod output;
mod persist;
mod progress;
mod rng;
mod status;
mod types;

#[cfg(feature = "sim")]
pub mod sim;

pub use codec::DecodeError;
pub use config::{Config, ConfigError};
pub use error::{Error, RestoreError, SnapshotProblem};
pub use membership::{ChangeError, Learner, Membership, MembershipChange, MembershipError};
pub use message::{AppendOutcome, Body, Message};
pub use node::{Input, Node, RestoreState};
pub use output::{Output, PersistRequest, ProposalOutcome, Role};
pub use progress::ReplicationState;
pub use rng::Rng;
pub use status::{PeerStatus, Status};
pub use types::{
    Entry, HardState, Index, LogId, NodeId, Payload, SnapshotMeta, Term, MAX_TERM_OR_INDEX,
};
