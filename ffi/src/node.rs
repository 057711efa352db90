//! The node handle: creating, restoring and freeing it, and every input.

use std::cell::Cell;

use bytes::Bytes;
use sansraft::codec::{self, decode_exact};
use sansraft::{
    Config, Entry, HardState, Input, Learner, LogId, Membership, MembershipChange, Node,
    RestoreState, SnapshotMeta,
};

use crate::boundary::{guard, guard_node, read, require_out, slice, write_out, Outcome};
use crate::output::OutputBuffers;
use crate::status::sansraft_status::{self, *};
use crate::status::Failure;
use crate::types::{sansraft_bytes, sansraft_config, sansraft_learner, sansraft_log_id};

/// A Raft node and the buffers its outputs point into. Create it with `sansraft_node_new`,
/// `sansraft_node_new_with_learners` or `sansraft_node_restore`, and free it with
/// `sansraft_node_free`.
///
/// One thread at a time may use a node; different nodes are independent.
pub struct sansraft_node {
    node: Node,
    buffers: OutputBuffers,
    last_error: String,
    poisoned: Cell<bool>,
}

impl sansraft_node {
    fn new(node: Node) -> sansraft_node {
        sansraft_node {
            node,
            buffers: OutputBuffers::default(),
            last_error: String::new(),
            poisoned: Cell::new(false),
        }
    }

    pub(crate) fn node(&self) -> &Node {
        &self.node
    }

    pub(crate) fn node_and_buffers(&mut self) -> (&mut Node, &mut OutputBuffers) {
        (&mut self.node, &mut self.buffers)
    }

    pub(crate) fn last_error(&self) -> &str {
        &self.last_error
    }

    pub(crate) fn is_poisoned(&self) -> bool {
        self.poisoned.get()
    }

    /// Marks the node unusable after a panic; its state may be half changed.
    pub(crate) fn mark_poisoned(&self) {
        self.poisoned.set(true);
    }

    /// Marks the node unusable after a panic and keeps `message` as its last error.
    pub(crate) fn poison(&mut self, message: String) {
        self.mark_poisoned();
        self.last_error = message;
    }

    /// Keeps the text of a failed call as the last error, or clears it after a success, and
    /// returns the call's status.
    pub(crate) fn record(&mut self, outcome: Outcome) -> sansraft_status {
        match outcome {
            Ok(status) => {
                self.last_error.clear();
                status
            }
            Err(failure) => {
                self.last_error = failure.message;
                failure.status
            }
        }
    }
}

/// Fills `out` with the default settings for server `id`. They are an election timeout of
/// 150 to 300 ms, a heartbeat every 50 ms, appends of up to 1 MiB or 4096 entries, 256
/// appends in flight per follower, the seed equal to `id`, quorum checks and pre-vote on,
/// promotion of a pending learner once it stays within 1000 entries for 1000 ms, and 1000
/// entries kept before a snapshot point.
///
/// Returns `SANSRAFT_INVALID_ARGUMENT` when `id` is 0, and `SANSRAFT_NULL_POINTER` when
/// `out` is NULL.
///
/// # Safety
///
/// `out` is NULL or valid for writing one `sansraft_config`.
#[no_mangle]
pub unsafe extern "C" fn sansraft_config_default(
    id: u64,
    out: *mut sansraft_config,
) -> sansraft_status {
    guard(|| {
        require_out(out, "out")?;
        if id == 0 {
            return Err(Failure::new(SANSRAFT_INVALID_ARGUMENT, "node id 0 is reserved"));
        }
        // SAFETY: `out` is not NULL and the caller guarantees it is writable.
        unsafe { write_out(out, sansraft_config::from(&Config::new(id))) };
        Ok(SANSRAFT_OK)
    })
}

/// Creates a node with an empty log whose bootstrap configuration has the voting `members`
/// and no learners, and writes the handle to `*out`.
///
/// Pass the same members on every server of a new cluster. Pass no members (`members_len`
/// 0) for a server that will join an existing cluster: it waits until a leader adds it as a
/// learner. A node that is its cluster's only member campaigns at once.
///
/// Returns `SANSRAFT_INVALID_CONFIG` for an invalid `config`, `SANSRAFT_INVALID_MEMBERSHIP`
/// when `members` lists 0 or an id twice, `SANSRAFT_NULL_POINTER` when `config` or `out` is
/// NULL, and `SANSRAFT_INVALID_LENGTH` when `members` is NULL with a non-zero length.
///
/// # Safety
///
/// `config` is NULL or points to a `sansraft_config`. `members` points to `members_len`
/// ids, or is anything when `members_len` is 0. `out` is NULL or valid for writing one
/// pointer. Free the handle with `sansraft_node_free`.
#[no_mangle]
pub unsafe extern "C" fn sansraft_node_new(
    config: *const sansraft_config,
    members: *const u64,
    members_len: usize,
    out: *mut *mut sansraft_node,
) -> sansraft_status {
    // SAFETY: the caller's guarantees are those of `sansraft_node_new_with_learners`, with
    // an empty learner list.
    unsafe {
        sansraft_node_new_with_learners(config, members, members_len, std::ptr::null(), 0, out)
    }
}

/// Creates a node with an empty log whose bootstrap configuration has the voting `members`
/// and the `learners`, and writes the handle to `*out`. Statuses as for
/// `sansraft_node_new`.
///
/// # Safety
///
/// As for `sansraft_node_new`; `learners` points to `learners_len` learners, or is
/// anything when `learners_len` is 0.
#[no_mangle]
pub unsafe extern "C" fn sansraft_node_new_with_learners(
    config: *const sansraft_config,
    members: *const u64,
    members_len: usize,
    learners: *const sansraft_learner,
    learners_len: usize,
    out: *mut *mut sansraft_node,
) -> sansraft_status {
    guard(|| {
        // SAFETY: the caller guarantees each pointer is NULL or valid for its length.
        let config = unsafe { read(config, "config") }?;
        let members = unsafe { slice(members, members_len, "members") }?;
        let learners = unsafe { slice(learners, learners_len, "learners") }?;
        require_out(out, "out")?;

        let membership = membership_from(members, learners)?;
        let node = Node::new(Config::from(config), membership)?;
        let handle = Box::into_raw(Box::new(sansraft_node::new(node)));
        // SAFETY: `out` is not NULL and the caller guarantees it is writable.
        unsafe { write_out(out, handle) };
        Ok(SANSRAFT_OK)
    })
}

/// The records a host persisted, handed to `sansraft_node_restore` after a restart. Every buffer is
/// an encoded record exactly as a persist output gave it.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct sansraft_restore_state {
    /// The latest hard state record, or NULL with length 0 when none was ever persisted
    /// (term 0, no vote).
    pub hard_state: *const u8,
    /// The length of `hard_state`.
    pub hard_state_len: usize,
    /// The latest snapshot description record, or NULL with length 0 when there is none.
    pub snapshot: *const u8,
    /// The length of `snapshot`.
    pub snapshot_len: usize,
    /// The durable entry records in index order, contiguous: from index 1 without a
    /// snapshot, or from at most the snapshot's index + 1 with one (entries the snapshot
    /// covers may be included and are dropped). NULL with length 0 for an empty log.
    pub entries: *const sansraft_bytes,
    /// The number of entry records.
    pub entries_len: usize,
    /// The voting members of the bootstrap configuration, as passed to `sansraft_node_new`.
    /// Used only when there is no snapshot: it is the configuration in force before the
    /// first membership entry of the log.
    pub members: *const u64,
    /// The number of members.
    pub members_len: usize,
    /// The learners of the bootstrap configuration.
    pub learners: *const sansraft_learner,
    /// The number of learners.
    pub learners_len: usize,
    /// The last index the state machine contains: 0 for a state machine that starts empty,
    /// or the snapshot's index after restoring the state machine from it.
    pub applied: u64,
}

/// Rebuilds a node from the records its host persisted and writes the handle to `*out`.
///
/// Entries after `state->applied` come out again as apply outputs once the node learns they
/// are committed.
///
/// Returns `SANSRAFT_DECODE_ERROR` when a record does not decode, `SANSRAFT_INVALID_RESTORE`
/// when the records are inconsistent, `SANSRAFT_VALUE_OUT_OF_RANGE` when a term or index in
/// them is above 2^62, `SANSRAFT_INVALID_CONFIG`,
/// `SANSRAFT_INVALID_MEMBERSHIP`, `SANSRAFT_NULL_POINTER` when `config`, `state` or `out` is
/// NULL, and `SANSRAFT_INVALID_LENGTH` for a NULL buffer with a non-zero length.
///
/// # Safety
///
/// `config` and `state` are NULL or point to their structs; every buffer in `state` is valid
/// for its length (or its length is 0). `out` is NULL or valid for writing one pointer. The
/// node copies what it keeps, so the buffers may be freed when the call returns.
#[no_mangle]
pub unsafe extern "C" fn sansraft_node_restore(
    config: *const sansraft_config,
    state: *const sansraft_restore_state,
    out: *mut *mut sansraft_node,
) -> sansraft_status {
    guard(|| {
        // SAFETY: the caller guarantees each pointer is NULL or valid.
        let config = unsafe { read(config, "config") }?;
        let state = unsafe { read(state, "state") }?;
        require_out(out, "out")?;

        // SAFETY: the caller guarantees the buffers in `state`.
        let restore = unsafe { decode_restore_state(state) }?;
        let node = Node::restore(Config::from(config), restore)?;
        let handle = Box::into_raw(Box::new(sansraft_node::new(node)));
        // SAFETY: `out` is not NULL and the caller guarantees it is writable.
        unsafe { write_out(out, handle) };
        Ok(SANSRAFT_OK)
    })
}

/// Decodes the records of `state`.
///
/// # Safety
///
/// Every buffer in `state` is valid for its length, or its length is 0.
unsafe fn decode_restore_state(state: &sansraft_restore_state) -> Result<RestoreState, Failure> {
    // SAFETY: guaranteed by the caller, for this and the following buffers.
    let hard_state = unsafe { slice(state.hard_state, state.hard_state_len, "hard_state") }?;
    let snapshot = unsafe { slice(state.snapshot, state.snapshot_len, "snapshot") }?;
    let records = unsafe { slice(state.entries, state.entries_len, "entries") }?;
    let members = unsafe { slice(state.members, state.members_len, "members") }?;
    let learners = unsafe { slice(state.learners, state.learners_len, "learners") }?;

    let hard_state = if hard_state.is_empty() {
        HardState::default()
    } else {
        decode_exact(hard_state, codec::decode_hard_state)
            .map_err(|error| Failure::decode("the hard state record", error))?
    };
    let snapshot = if snapshot.is_empty() {
        None
    } else {
        let meta = decode_exact(snapshot, codec::decode_snapshot_meta)
            .map_err(|error| Failure::decode("the snapshot record", error))?;
        Some(meta)
    };
    let mut entries = Vec::with_capacity(records.len());
    for (position, record) in records.iter().enumerate() {
        let name = format!("entry record {position}");
        // SAFETY: guaranteed by the caller for every entry buffer.
        let bytes = unsafe { slice(record.data, record.len, &name) }?;
        let entry: Entry = decode_exact(bytes, codec::decode_entry)
            .map_err(|error| Failure::decode(&name, error))?;
        entries.push(entry);
    }
    let membership = membership_from(members, learners)?;
    Ok(RestoreState { hard_state, snapshot, entries, membership, applied: state.applied })
}

/// Frees a node and everything its outputs point to. Accepts NULL and does nothing then.
///
/// # Safety
///
/// `node` is NULL or a handle that has not been freed yet; it is invalid afterwards.
#[no_mangle]
pub unsafe extern "C" fn sansraft_node_free(node: *mut sansraft_node) {
    guard(|| {
        if !node.is_null() {
            // SAFETY: a non-NULL `node` came from `Box::into_raw` in a constructor and the
            // caller guarantees it was not freed yet.
            drop(unsafe { Box::from_raw(node) });
        }
        Ok(SANSRAFT_OK)
    });
}

/// Advances the node's clock to `now_ms` on the host's monotonic clock. The first tick
/// starts the clock. Returns `SANSRAFT_TIME_WENT_BACKWARDS` for a time before the latest one
/// seen.
///
/// # Safety
///
/// `node` is NULL or a live handle that no other thread is using.
#[no_mangle]
pub unsafe extern "C" fn sansraft_node_tick(
    node: *mut sansraft_node,
    now_ms: u64,
) -> sansraft_status {
    // SAFETY: guaranteed by the caller.
    unsafe { step(node, Input::Tick { now_ms }) }
}

/// Hands the node a message another server sent it: `message_len` bytes of an encoded
/// message, exactly as a send output of the sender gave them. The message carries its sender
/// and receiver. For an install-snapshot message, store the snapshot data sent with it
/// first; `sansraft_message_inspect` returns the kind.
///
/// Returns `SANSRAFT_DECODE_ERROR` for bytes that are not one whole message,
/// `SANSRAFT_WRONG_RECIPIENT` when it is addressed to another node, `SANSRAFT_FROM_SELF`
/// when it claims to come from this node, `SANSRAFT_ZERO_SENDER` when it claims to come from
/// the reserved id 0, `SANSRAFT_VALUE_OUT_OF_RANGE` when a term or index in it is above 2^62,
/// and `SANSRAFT_INVALID_LENGTH` when `message` is NULL with a non-zero length. Stale or
/// duplicate messages return `SANSRAFT_OK`: the protocol ignores them.
///
/// # Safety
///
/// `node` is NULL or a live handle that no other thread is using. `message` is valid for
/// `message_len` bytes, or `message_len` is 0. The node copies the bytes.
#[no_mangle]
pub unsafe extern "C" fn sansraft_node_receive(
    node: *mut sansraft_node,
    message: *const u8,
    message_len: usize,
) -> sansraft_status {
    // SAFETY: the caller guarantees `node`, and `message` for `message_len` bytes.
    unsafe {
        guard_node(node, |handle| {
            let bytes = slice(message, message_len, "message")?;
            // One copy into shared memory lets every entry payload point into it.
            let bytes = Bytes::copy_from_slice(bytes);
            let message = decode_exact(bytes, codec::decode_message)
                .map_err(|error| Failure::decode("the message", error))?;
            handle.node.receive(message)?;
            Ok(SANSRAFT_OK)
        })
    }
}

/// Proposes `data_len` bytes of application data and writes the log id the entry was given
/// to `*out`. A proposal output with that id later reports how it ended. Only a leader
/// accepts proposals: a follower returns `SANSRAFT_NOT_LEADER`.
///
/// # Safety
///
/// `node` is NULL or a live handle that no other thread is using. `data` is valid for
/// `data_len` bytes, or `data_len` is 0. `out` is NULL or valid for writing one
/// `sansraft_log_id`. The node copies the data.
#[no_mangle]
pub unsafe extern "C" fn sansraft_node_propose(
    node: *mut sansraft_node,
    data: *const u8,
    data_len: usize,
    out: *mut sansraft_log_id,
) -> sansraft_status {
    // SAFETY: the caller guarantees `node`, `data` and `out`.
    unsafe {
        guard_node(node, |handle| {
            let data = slice(data, data_len, "data")?;
            require_out(out, "out")?;
            let id = handle.node.propose(Bytes::copy_from_slice(data))?;
            write_out(out, sansraft_log_id::from(id));
            Ok(SANSRAFT_OK)
        })
    }
}

/// Reports that every persist output up to and including `token` is durable. Returns
/// `SANSRAFT_STALE_TOKEN` for a token already reported and `SANSRAFT_UNKNOWN_TOKEN` for one
/// never issued.
///
/// # Safety
///
/// `node` is NULL or a live handle that no other thread is using.
#[no_mangle]
pub unsafe extern "C" fn sansraft_node_persisted(
    node: *mut sansraft_node,
    token: u64,
) -> sansraft_status {
    // SAFETY: guaranteed by the caller.
    unsafe { step(node, Input::Persisted { token }) }
}

/// Reports that the state machine has applied every entry up to `index`. Returns
/// `SANSRAFT_APPLIED_OUT_OF_RANGE` for an index not yet handed out by an apply output or
/// below one already reported.
///
/// # Safety
///
/// `node` is NULL or a live handle that no other thread is using.
#[no_mangle]
pub unsafe extern "C" fn sansraft_node_applied(
    node: *mut sansraft_node,
    index: u64,
) -> sansraft_status {
    // SAFETY: guaranteed by the caller.
    unsafe { step(node, Input::Applied { index }) }
}

/// Starts an election now, without waiting for the election timeout. Returns
/// `SANSRAFT_NOT_MEMBER` on a node that is not a voting member.
///
/// # Safety
///
/// `node` is NULL or a live handle that no other thread is using.
#[no_mangle]
pub unsafe extern "C" fn sansraft_node_campaign(node: *mut sansraft_node) -> sansraft_status {
    // SAFETY: guaranteed by the caller.
    unsafe { step(node, Input::Campaign) }
}

/// On the leader, adds server `id` as a learner and writes the log id of the configuration
/// entry to `*out`. A `pending` learner is promoted to member by the leader once it has
/// caught up (see `promotion_max_lag_entries` and `promotion_hold_ms`).
///
/// Like every membership change, it returns `SANSRAFT_NOT_LEADER` on a follower,
/// `SANSRAFT_LEADER_NOT_READY` before the leader has committed an entry of its term (retry
/// shortly), `SANSRAFT_CHANGE_IN_PROGRESS` while another change is uncommitted, and
/// `SANSRAFT_INVALID_CHANGE` when the change does not apply. Its end is reported by a
/// proposal output with the entry's id.
///
/// # Safety
///
/// `node` is NULL or a live handle that no other thread is using. `out` is NULL or valid for
/// writing one `sansraft_log_id`.
#[no_mangle]
pub unsafe extern "C" fn sansraft_node_add_learner(
    node: *mut sansraft_node,
    id: u64,
    pending: bool,
    out: *mut sansraft_log_id,
) -> sansraft_status {
    // SAFETY: guaranteed by the caller.
    unsafe { change(node, MembershipChange::AddLearner { id, pending }, out) }
}

/// On the leader, sets or clears the pending flag of learner `id`. Statuses as for
/// `sansraft_node_add_learner`.
///
/// # Safety
///
/// As for `sansraft_node_add_learner`.
#[no_mangle]
pub unsafe extern "C" fn sansraft_node_set_pending(
    node: *mut sansraft_node,
    id: u64,
    pending: bool,
    out: *mut sansraft_log_id,
) -> sansraft_status {
    // SAFETY: guaranteed by the caller.
    unsafe { change(node, MembershipChange::SetPending { id, pending }, out) }
}

/// On the leader, makes learner `id` a voting member now, caught up or not. Statuses as for
/// `sansraft_node_add_learner`.
///
/// # Safety
///
/// As for `sansraft_node_add_learner`.
#[no_mangle]
pub unsafe extern "C" fn sansraft_node_promote(
    node: *mut sansraft_node,
    id: u64,
    out: *mut sansraft_log_id,
) -> sansraft_status {
    // SAFETY: guaranteed by the caller.
    unsafe { change(node, MembershipChange::Promote { id }, out) }
}

/// On the leader, makes member `id` a learner that is not pending. Statuses as for
/// `sansraft_node_add_learner`.
///
/// # Safety
///
/// As for `sansraft_node_add_learner`.
#[no_mangle]
pub unsafe extern "C" fn sansraft_node_demote(
    node: *mut sansraft_node,
    id: u64,
    out: *mut sansraft_log_id,
) -> sansraft_status {
    // SAFETY: guaranteed by the caller.
    unsafe { change(node, MembershipChange::Demote { id }, out) }
}

/// On the leader, removes server `id`, member or learner. A leader that removes itself
/// steps down once the change commits. Statuses as for `sansraft_node_add_learner`.
///
/// # Safety
///
/// As for `sansraft_node_add_learner`.
#[no_mangle]
pub unsafe extern "C" fn sansraft_node_remove(
    node: *mut sansraft_node,
    id: u64,
    out: *mut sansraft_log_id,
) -> sansraft_status {
    // SAFETY: guaranteed by the caller.
    unsafe { change(node, MembershipChange::Remove { id }, out) }
}

/// Reports that the host took a snapshot of its state machine covering every entry up to
/// `index`, which an apply output has handed out. The node describes the snapshot (the
/// entry's term and the configuration in force there), drops the log entries it covers
/// (keeping `snapshot_trailing_entries` before it) and emits a persist output carrying the
/// description. Returns `SANSRAFT_INVALID_SNAPSHOT` when `index` is not in the log, already
/// compacted, or not yet handed out for applying.
///
/// # Safety
///
/// `node` is NULL or a live handle that no other thread is using.
#[no_mangle]
pub unsafe extern "C" fn sansraft_node_snapshot_taken(
    node: *mut sansraft_node,
    index: u64,
) -> sansraft_status {
    // SAFETY: guaranteed by the caller.
    unsafe {
        guard_node(node, |handle| {
            let Some(meta) = handle.node.snapshot_meta_at(index) else {
                let first = handle.node.first_log_index();
                let last = handle.node.last_log_id().index;
                let message = format!(
                    "snapshot index {index} is not in the log, which holds {first}..={last}"
                );
                return Err(Failure::new(SANSRAFT_INVALID_SNAPSHOT, message));
            };
            handle.node.step(Input::SnapshotTaken(meta))?;
            Ok(SANSRAFT_OK)
        })
    }
}

/// Like `sansraft_node_snapshot_taken`, with the snapshot described by an encoded snapshot
/// description record (for a host that builds the description itself). Returns
/// `SANSRAFT_DECODE_ERROR` for bytes that are not one whole record, and
/// `SANSRAFT_INVALID_SNAPSHOT` also when its term or configuration differ from the log's.
///
/// # Safety
///
/// `node` is NULL or a live handle that no other thread is using. `meta` is valid for
/// `meta_len` bytes, or `meta_len` is 0.
#[no_mangle]
pub unsafe extern "C" fn sansraft_node_snapshot_taken_meta(
    node: *mut sansraft_node,
    meta: *const u8,
    meta_len: usize,
) -> sansraft_status {
    // SAFETY: the caller guarantees `node`, and `meta` for `meta_len` bytes.
    unsafe {
        guard_node(node, |handle| {
            let bytes = slice(meta, meta_len, "meta")?;
            let meta: SnapshotMeta = decode_exact(bytes, codec::decode_snapshot_meta)
                .map_err(|error| Failure::decode("the snapshot record", error))?;
            handle.node.step(Input::SnapshotTaken(meta))?;
            Ok(SANSRAFT_OK)
        })
    }
}

/// Reports that the host finished sending the snapshot a send-snapshot output asked for,
/// and whether the receiver's host stored all of it. Returns
/// `SANSRAFT_SNAPSHOT_NOT_REQUESTED` when no snapshot send to `to` is pending.
///
/// # Safety
///
/// `node` is NULL or a live handle that no other thread is using.
#[no_mangle]
pub unsafe extern "C" fn sansraft_node_snapshot_sent(
    node: *mut sansraft_node,
    to: u64,
    success: bool,
) -> sansraft_status {
    // SAFETY: guaranteed by the caller.
    unsafe { step(node, Input::SnapshotSent { to, success }) }
}

/// Feeds one input that carries no pointers.
///
/// # Safety
///
/// `node` is NULL or a live handle that no other thread is using.
unsafe fn step(node: *mut sansraft_node, input: Input) -> sansraft_status {
    // SAFETY: guaranteed by the caller.
    unsafe {
        guard_node(node, |handle| {
            handle.node.step(input)?;
            Ok(SANSRAFT_OK)
        })
    }
}

/// Requests a membership change and writes its entry's log id to `out`.
///
/// # Safety
///
/// `node` is NULL or a live handle that no other thread is using. `out` is NULL or valid
/// for writing one `sansraft_log_id`.
unsafe fn change(
    node: *mut sansraft_node,
    change: MembershipChange,
    out: *mut sansraft_log_id,
) -> sansraft_status {
    // SAFETY: guaranteed by the caller.
    unsafe {
        guard_node(node, |handle| {
            require_out(out, "out")?;
            let id: LogId = handle.node.change_membership(change)?;
            write_out(out, sansraft_log_id::from(id));
            Ok(SANSRAFT_OK)
        })
    }
}

fn membership_from(members: &[u64], learners: &[sansraft_learner]) -> Result<Membership, Failure> {
    let learners = learners.iter().map(Learner::from);
    Ok(Membership::new(members.iter().copied(), learners)?)
}
