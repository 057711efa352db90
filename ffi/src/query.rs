//! Read-only queries: the deadline, the status, the configuration, the last error, and the
//! header of an encoded message.

use core::ffi::c_char;

use sansraft::codec::{self, decode_exact};
use sansraft::Body;

use crate::boundary::{guard, guard_node_ref, require_out, slice, write_out};
use crate::node::sansraft_node;
use crate::status::sansraft_status::{self, *};
use crate::status::Failure;
use crate::types::{sansraft_learner, sansraft_log_id, sansraft_replication_state, sansraft_role};

/// Writes to `*out_ms` the time at which the node next needs a tick and returns
/// `SANSRAFT_OK`. Returns `SANSRAFT_EMPTY`, leaving `*out_ms` unchanged, when only inputs
/// from elsewhere can give the node work. A time at or before the latest tick means "tick
/// now". Call it again after every input, because handling a message may move the deadline.
///
/// # Safety
///
/// `node` is NULL or a live handle that no other thread is changing. `out_ms` is NULL or
/// valid for writing one `uint64_t`.
#[no_mangle]
pub unsafe extern "C" fn sansraft_node_next_deadline(
    node: *const sansraft_node,
    out_ms: *mut u64,
) -> sansraft_status {
    // SAFETY: the caller guarantees `node` and `out_ms`.
    unsafe {
        guard_node_ref(node, |handle| {
            require_out(out_ms, "out_ms")?;
            match handle.node().next_deadline_ms() {
                Some(deadline) => {
                    write_out(out_ms, deadline);
                    Ok(SANSRAFT_OK)
                }
                None => Ok(SANSRAFT_EMPTY),
            }
        })
    }
}

/// The state of a node at one moment, for monitoring and tests.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct sansraft_node_status {
    /// The node's id.
    pub id: u64,
    /// Its role.
    pub role: sansraft_role,
    /// Its current term.
    pub term: u64,
    /// The node it voted for in the current term, or 0 for none.
    pub vote: u64,
    /// The leader it follows, or 0 when none is known.
    pub leader: u64,
    /// The commit index.
    pub commit: u64,
    /// The last index the host reported as applied.
    pub applied: u64,
    /// The last log entry.
    pub last_log: sansraft_log_id,
    /// The first index the log still holds; entries below it are covered by a snapshot.
    pub first_log_index: u64,
    /// The number of entries the in-memory log holds.
    pub log_entries: usize,
    /// The last log index known to be durable.
    pub durable_index: u64,
    /// The last entry of the latest snapshot, or zero when there is none.
    pub snapshot: sansraft_log_id,
    /// The number of voting members in the configuration in force.
    pub members_len: usize,
    /// The number of learners in the configuration in force.
    pub learners_len: usize,
}

/// A leader's view of one peer's replication.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct sansraft_peer_status {
    /// The peer's id.
    pub id: u64,
    /// The highest index known to be replicated on the peer.
    pub match_index: u64,
    /// The next index to send to the peer.
    pub next_index: u64,
    /// The replication state: probing, pipelining, or sending a snapshot.
    pub state: sansraft_replication_state,
    /// How many entries the peer is behind the leader's last index.
    pub lag: u64,
    /// Whether the peer is a pending learner that counts as caught up.
    pub caught_up: bool,
    /// The time in ms the pending learner has been caught up; 0 when `caught_up` is false.
    pub caught_up_ms: u64,
}

/// Writes the node's state to `*out`, and on a leader the replication progress of every
/// other server to `peers`, writing their number to `*peers_len`. Followers have no peers.
///
/// Returns `SANSRAFT_BUFFER_TOO_SMALL` when `peers_capacity` is below the number of peers:
/// then only `*peers_len` is written, with the number needed. `peers` may be NULL when
/// `peers_capacity` is 0.
///
/// # Safety
///
/// `node` is NULL or a live handle that no other thread is changing. `peers` is valid for
/// writing `peers_capacity` items, or `peers_capacity` is 0. `peers_len` and `out` are NULL
/// or valid for writing one item each.
#[no_mangle]
pub unsafe extern "C" fn sansraft_node_get_status(
    node: *const sansraft_node,
    peers: *mut sansraft_peer_status,
    peers_capacity: usize,
    peers_len: *mut usize,
    out: *mut sansraft_node_status,
) -> sansraft_status {
    // SAFETY: the caller guarantees every pointer for the lengths given.
    unsafe {
        guard_node_ref(node, |handle| {
            check_out_buffer(peers, peers_capacity, "peers")?;
            require_out(peers_len, "peers_len")?;
            require_out(out, "out")?;

            let status = handle.node().status();
            if status.peers.len() > peers_capacity {
                write_out(peers_len, status.peers.len());
                return too_small("peers", peers_capacity, status.peers.len());
            }
            for (at, peer) in status.peers.iter().enumerate() {
                let view = sansraft_peer_status {
                    id: peer.id,
                    match_index: peer.match_index,
                    next_index: peer.next_index,
                    state: peer.state.into(),
                    lag: peer.lag,
                    caught_up: peer.caught_up_ms.is_some(),
                    caught_up_ms: peer.caught_up_ms.unwrap_or(0),
                };
                write_out(peers.add(at), view);
            }
            write_out(peers_len, status.peers.len());
            let snapshot = handle.node().snapshot().map_or_else(Default::default, |m| m.last);
            let view = sansraft_node_status {
                id: status.id,
                role: status.role.into(),
                term: status.term,
                vote: status.vote.unwrap_or(0),
                leader: status.leader.unwrap_or(0),
                commit: status.commit,
                applied: status.applied,
                last_log: status.last_log.into(),
                first_log_index: handle.node().first_log_index(),
                log_entries: status.log_entries,
                durable_index: status.durable_index,
                snapshot: snapshot.into(),
                members_len: status.membership.members().len(),
                learners_len: status.membership.learners().len(),
            };
            write_out(out, view);
            Ok(SANSRAFT_OK)
        })
    }
}

/// Writes the configuration in force: its voting members to `members` and its learners to
/// `learners`, both sorted by id, and their numbers to `*members_len` and `*learners_len`.
///
/// Returns `SANSRAFT_BUFFER_TOO_SMALL` when either capacity is too small: then only
/// `*members_len` and `*learners_len` are written, with the numbers needed. A buffer may be
/// NULL when its capacity is 0.
///
/// # Safety
///
/// `node` is NULL or a live handle that no other thread is changing. `members` and
/// `learners` are valid for writing their capacities, or their capacity is 0. `members_len`
/// and `learners_len` are NULL or valid for writing one `size_t` each.
#[no_mangle]
pub unsafe extern "C" fn sansraft_node_membership(
    node: *const sansraft_node,
    members: *mut u64,
    members_capacity: usize,
    learners: *mut sansraft_learner,
    learners_capacity: usize,
    members_len: *mut usize,
    learners_len: *mut usize,
) -> sansraft_status {
    // SAFETY: the caller guarantees every pointer for the lengths given.
    unsafe {
        guard_node_ref(node, |handle| {
            check_out_buffer(members, members_capacity, "members")?;
            check_out_buffer(learners, learners_capacity, "learners")?;
            require_out(members_len, "members_len")?;
            require_out(learners_len, "learners_len")?;

            let membership = handle.node().membership();
            let (member_ids, learner_list) = (membership.members(), membership.learners());
            write_out(members_len, member_ids.len());
            write_out(learners_len, learner_list.len());
            if member_ids.len() > members_capacity {
                return too_small("members", members_capacity, member_ids.len());
            }
            if learner_list.len() > learners_capacity {
                return too_small("learners", learners_capacity, learner_list.len());
            }
            for (at, id) in member_ids.iter().enumerate() {
                write_out(members.add(at), *id);
            }
            for (at, learner) in learner_list.iter().enumerate() {
                write_out(learners.add(at), sansraft_learner::from(learner));
            }
            Ok(SANSRAFT_OK)
        })
    }
}

/// Copies the text of the node's last error into `buffer` as a NUL-terminated string and
/// writes its length, without the NUL, to `*text_len`. The text is empty when the last call
/// succeeded. Every call that takes a non-const node replaces it; this one and the other
/// queries leave it as it is. It also works on a poisoned node, and then names the panic.
///
/// Returns `SANSRAFT_BUFFER_TOO_SMALL` when `buffer_len` is below the length plus one: then
/// only `*text_len` is written.
///
/// # Safety
///
/// `node` is NULL or a live handle that no other thread is changing. `buffer` is valid for
/// writing `buffer_len` bytes, or `buffer_len` is 0. `text_len` is NULL or valid for writing
/// one `size_t`.
#[no_mangle]
pub unsafe extern "C" fn sansraft_node_last_error(
    node: *const sansraft_node,
    buffer: *mut c_char,
    buffer_len: usize,
    text_len: *mut usize,
) -> sansraft_status {
    guard(|| {
        // SAFETY: the caller guarantees `node`; this query reads it even when poisoned.
        let Some(handle) = (unsafe { node.as_ref() }) else {
            return Err(Failure::null("node"));
        };
        check_out_buffer(buffer, buffer_len, "buffer")?;
        require_out(text_len, "text_len")?;

        let text = handle.last_error().as_bytes();
        // SAFETY: `text_len` is not NULL and the caller guarantees it is writable.
        unsafe { write_out(text_len, text.len()) };
        if text.len() >= buffer_len {
            return too_small("buffer", buffer_len, text.len() + 1);
        }
        // SAFETY: `buffer` has room for `buffer_len` bytes, more than the text, which is
        // Rust memory and cannot overlap it.
        unsafe {
            std::ptr::copy_nonoverlapping(text.as_ptr(), buffer.cast::<u8>(), text.len());
            write_out(buffer.add(text.len()), 0);
        }
        Ok(SANSRAFT_OK)
    })
}

/// The kind of an encoded message. The numbers are the message kinds of the wire format.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum sansraft_message_kind {
    /// A candidate's vote request.
    SANSRAFT_MESSAGE_REQUEST_VOTE = 1,
    /// A vote response.
    SANSRAFT_MESSAGE_VOTE_RESPONSE = 2,
    /// A leader replicates entries, or sends a heartbeat.
    SANSRAFT_MESSAGE_APPEND_ENTRIES = 3,
    /// The response to an append or to a snapshot install.
    SANSRAFT_MESSAGE_APPEND_RESPONSE = 4,
    /// A leader sends a snapshot; its data travels beside the message.
    SANSRAFT_MESSAGE_INSTALL_SNAPSHOT = 5,
    /// A server asks whether it could win an election, before starting one.
    SANSRAFT_MESSAGE_PRE_VOTE = 6,
    /// The response to a pre-vote request.
    SANSRAFT_MESSAGE_PRE_VOTE_RESPONSE = 7,
}

/// The header fields `sansraft_message_inspect` decodes from an encoded message.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct sansraft_message_info {
    /// The sender's id.
    pub from: u64,
    /// The receiver's id.
    pub to: u64,
    /// The sender's term.
    pub term: u64,
    /// The kind of message.
    pub kind: sansraft_message_kind,
    /// For `SANSRAFT_MESSAGE_INSTALL_SNAPSHOT`, the last entry the snapshot covers; zero
    /// otherwise.
    pub snapshot: sansraft_log_id,
}

/// Decodes the encoded message in `message` and writes its sender, receiver, term and kind
/// to `*out`. A host uses it to route a message, and to spot an install-snapshot message,
/// whose snapshot data it stores before passing the message to `sansraft_node_receive`.
///
/// Returns `SANSRAFT_DECODE_ERROR` for bytes that are not one whole message.
///
/// # Safety
///
/// `message` is valid for `message_len` bytes, or `message_len` is 0. `out` is NULL or valid
/// for writing one `sansraft_message_info`.
#[no_mangle]
pub unsafe extern "C" fn sansraft_message_inspect(
    message: *const u8,
    message_len: usize,
    out: *mut sansraft_message_info,
) -> sansraft_status {
    guard(|| {
        // SAFETY: the caller guarantees `message` for `message_len` bytes.
        let bytes = unsafe { slice(message, message_len, "message") }?;
        require_out(out, "out")?;
        let message = decode_exact(bytes, codec::decode_message)
            .map_err(|error| Failure::decode("the message", error))?;
        let (kind, snapshot) = match &message.body {
            Body::RequestVote { .. } => {
                (sansraft_message_kind::SANSRAFT_MESSAGE_REQUEST_VOTE, None)
            }
            Body::VoteResponse { .. } => {
                (sansraft_message_kind::SANSRAFT_MESSAGE_VOTE_RESPONSE, None)
            }
            Body::AppendEntries { .. } => {
                (sansraft_message_kind::SANSRAFT_MESSAGE_APPEND_ENTRIES, None)
            }
            Body::AppendResponse { .. } => {
                (sansraft_message_kind::SANSRAFT_MESSAGE_APPEND_RESPONSE, None)
            }
            Body::InstallSnapshot { meta } => {
                (sansraft_message_kind::SANSRAFT_MESSAGE_INSTALL_SNAPSHOT, Some(meta.last))
            }
            Body::PreVote { .. } => (sansraft_message_kind::SANSRAFT_MESSAGE_PRE_VOTE, None),
            Body::PreVoteResponse { .. } => {
                (sansraft_message_kind::SANSRAFT_MESSAGE_PRE_VOTE_RESPONSE, None)
            }
        };
        let info = sansraft_message_info {
            from: message.from,
            to: message.to,
            term: message.term,
            kind,
            snapshot: snapshot.map_or_else(Default::default, sansraft_log_id::from),
        };
        // SAFETY: `out` is not NULL and the caller guarantees it is writable.
        unsafe { write_out(out, info) };
        Ok(SANSRAFT_OK)
    })
}

/// Checks a caller buffer to write into: NULL is allowed only with capacity 0.
fn check_out_buffer<T>(buffer: *mut T, capacity: usize, name: &str) -> Result<(), Failure> {
    if capacity > 0 && buffer.is_null() {
        let message =
            format!("{name} is NULL but its capacity is {capacity}; pass the buffer or 0");
        return Err(Failure::new(SANSRAFT_INVALID_LENGTH, message));
    }
    Ok(())
}

fn too_small(name: &str, capacity: usize, needed: usize) -> Result<sansraft_status, Failure> {
    let message =
        format!("{name} has room for {capacity} items but {needed} are needed; pass a larger one");
    Err(Failure::new(SANSRAFT_BUFFER_TOO_SMALL, message))
}
