//! Outputs, polled one at a time into a caller struct whose pointers lead into the node.

use std::ops::Range;
use std::ptr;

use sansraft::codec;
use sansraft::{Body, Entry, Membership, Message, Output, Payload, PersistRequest, SnapshotMeta};

use crate::boundary::{guard_node, require_out, write_out};
use crate::node::sansraft_node;
use crate::status::sansraft_status::{self, *};
use crate::types::{sansraft_learner, sansraft_log_id, sansraft_proposal_outcome, sansraft_role};

/// The kind of output in a `sansraft_output`, which names the member struct that is filled.
/// The other members are zeroed, and 0 is never a kind.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum sansraft_output_kind {
    /// Send `send.message` to server `send.to`. Delivery may fail; the protocol retries.
    SANSRAFT_OUTPUT_SEND = 1,
    /// Send `send.message` (an install-snapshot message) to `send.to` together with the
    /// data of the snapshot `send.snapshot`, then call `sansraft_node_snapshot_sent` with
    /// whether the receiver's host stored it.
    SANSRAFT_OUTPUT_SEND_SNAPSHOT = 2,
    /// Make `persist` durable, then call `sansraft_node_persisted` with `persist.token`.
    SANSRAFT_OUTPUT_PERSIST = 3,
    /// Replace the state machine with the snapshot `restore_snapshot.last`, whose data the
    /// host stored before it passed the install-snapshot message to the node. Entries after
    /// it come as apply outputs.
    SANSRAFT_OUTPUT_RESTORE_SNAPSHOT = 4,
    /// Apply the committed entry `apply` to the state machine. Entries come in index order,
    /// each once, empty and membership entries included; report progress with
    /// `sansraft_node_applied`.
    SANSRAFT_OUTPUT_APPLY = 5,
    /// A proposal made on this node ended as `proposal.outcome`.
    SANSRAFT_OUTPUT_PROPOSAL = 6,
    /// This node's role or term changed to `role_changed`.
    SANSRAFT_OUTPUT_ROLE_CHANGED = 7,
    /// The leader this node follows changed to `leader_changed.leader`.
    SANSRAFT_OUTPUT_LEADER_CHANGED = 8,
    /// The configuration in force changed to `membership_changed`: a configuration entry
    /// was appended, or a truncation rolled back to an earlier one.
    SANSRAFT_OUTPUT_MEMBERSHIP_CHANGED = 9,
}

/// A message to send, for `SANSRAFT_OUTPUT_SEND` and `SANSRAFT_OUTPUT_SEND_SNAPSHOT`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct sansraft_send_output {
    /// The receiver's id.
    pub to: u64,
    /// The encoded message; pass it unchanged to `sansraft_node_receive` on the receiver.
    /// Valid until the next call that takes this node.
    pub message: *const u8,
    /// The length of `message`.
    pub message_len: usize,
    /// For `SANSRAFT_OUTPUT_SEND_SNAPSHOT`, the last entry the snapshot to attach covers
    /// (the latest snapshot); zero for `SANSRAFT_OUTPUT_SEND`.
    pub snapshot: sansraft_log_id,
}

/// One encoded log entry record in a persist output.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct sansraft_entry_record {
    /// The entry's log id, so the host can store the record by index without decoding it.
    pub id: sansraft_log_id,
    /// The encoded entry record; hand it back unchanged to `sansraft_node_restore`. Valid
    /// until the next call that takes this node.
    pub record: *const u8,
    /// The length of `record`.
    pub record_len: usize,
}

/// State to make durable, for `SANSRAFT_OUTPUT_PERSIST`.
///
/// Write persist outputs in token order. Within one, store the hard state record if present,
/// then the snapshot record as the latest snapshot if present (its data is already stored).
/// Then delete log entries at `compact_through` and below, delete entries at
/// `truncate_from` and above, and append `entries`. Several outputs may share one fsync,
/// after which call `sansraft_node_persisted` with the newest durable token.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct sansraft_persist_output {
    /// Identifies this output in `sansraft_node_persisted`. Tokens increase by one.
    pub token: u64,
    /// Whether the term or vote changed; `hard_state` is NULL when false.
    pub has_hard_state: bool,
    /// The encoded hard state record, which replaces the stored one. Valid until the next
    /// call that takes this node.
    pub hard_state: *const u8,
    /// The length of `hard_state`.
    pub hard_state_len: usize,
    /// Whether a snapshot was taken or installed; `snapshot` is NULL when false.
    pub has_snapshot: bool,
    /// The encoded snapshot description record, which replaces the stored one. Valid until
    /// the next call that takes this node.
    pub snapshot: *const u8,
    /// The length of `snapshot`.
    pub snapshot_len: usize,
    /// The last entry the new snapshot covers; zero when `has_snapshot` is false.
    pub snapshot_last: sansraft_log_id,
    /// Entries at this index and below may be deleted; 0 when there is nothing to delete.
    pub compact_through: u64,
    /// Delete durable entries from this index on, before appending; 0 for no truncation.
    pub truncate_from: u64,
    /// The entries to append, in index order and contiguous with the log that remains.
    /// NULL when `entries_len` is 0. The array and every record in it are valid until the
    /// next call that takes this node.
    pub entries: *const sansraft_entry_record,
    /// The number of entries to append.
    pub entries_len: usize,
}

/// A snapshot to restore the state machine from, for `SANSRAFT_OUTPUT_RESTORE_SNAPSHOT`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct sansraft_restore_snapshot_output {
    /// The last entry the snapshot covers.
    pub last: sansraft_log_id,
    /// The encoded snapshot description record. Valid until the next call that takes this
    /// node.
    pub meta: *const u8,
    /// The length of `meta`.
    pub meta_len: usize,
}

/// The kind of payload a log entry carries.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum sansraft_entry_kind {
    /// A no-op a new leader appends to commit the entries of earlier terms.
    SANSRAFT_ENTRY_EMPTY = 0,
    /// Application data.
    SANSRAFT_ENTRY_DATA = 1,
    /// A new cluster configuration.
    SANSRAFT_ENTRY_MEMBERSHIP = 2,
}

/// A committed entry to apply, for `SANSRAFT_OUTPUT_APPLY`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct sansraft_apply_output {
    /// The entry's log id.
    pub id: sansraft_log_id,
    /// The entry's payload kind.
    pub entry_kind: sansraft_entry_kind,
    /// For `SANSRAFT_ENTRY_DATA`, the application data as proposed; NULL for other kinds.
    /// Valid until the next call that takes this node.
    pub data: *const u8,
    /// The length of `data`.
    pub data_len: usize,
    /// For `SANSRAFT_ENTRY_MEMBERSHIP`, the encoded membership record of the new
    /// configuration; NULL for other kinds. Valid until the next call that takes this node.
    pub membership: *const u8,
    /// The length of `membership`.
    pub membership_len: usize,
    /// The whole entry as an encoded entry record. Valid until the next call that takes
    /// this node.
    pub record: *const u8,
    /// The length of `record`.
    pub record_len: usize,
}

/// The end of a proposal, for `SANSRAFT_OUTPUT_PROPOSAL`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct sansraft_proposal_output {
    /// The log id the proposal was given when it was accepted.
    pub id: sansraft_log_id,
    /// The proposal's outcome.
    pub outcome: sansraft_proposal_outcome,
}

/// A new role or term, for `SANSRAFT_OUTPUT_ROLE_CHANGED`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct sansraft_role_output {
    /// The new role.
    pub role: sansraft_role,
    /// The current term.
    pub term: u64,
}

/// A new leader, for `SANSRAFT_OUTPUT_LEADER_CHANGED`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct sansraft_leader_output {
    /// The leader's id, or 0 while no leader is known.
    pub leader: u64,
    /// The current term.
    pub term: u64,
}

/// The configuration in force, for `SANSRAFT_OUTPUT_MEMBERSHIP_CHANGED`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct sansraft_membership_output {
    /// The voting members, sorted by id. NULL when `members_len` is 0. Valid until the next
    /// call that takes this node.
    pub members: *const u64,
    /// The number of members.
    pub members_len: usize,
    /// The learners, sorted by id. NULL when `learners_len` is 0. Valid until the next call
    /// that takes this node.
    pub learners: *const sansraft_learner,
    /// The number of learners.
    pub learners_len: usize,
    /// The configuration as an encoded membership record. Valid until the next call that
    /// takes this node.
    pub membership: *const u8,
    /// The length of `membership`.
    pub membership_len: usize,
}

/// One output of a node. `kind` names the member struct that is filled, and the others are
/// zeroed.
///
/// Every pointer in it leads into memory the node owns. It stays valid until the next call
/// that takes this node (any `sansraft_node_*` function) or until the node is freed; copy
/// what you need to keep before then.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct sansraft_output {
    /// The kind of output, naming the member struct that is filled.
    pub kind: sansraft_output_kind,
    /// For `SANSRAFT_OUTPUT_SEND` and `SANSRAFT_OUTPUT_SEND_SNAPSHOT`.
    pub send: sansraft_send_output,
    /// For `SANSRAFT_OUTPUT_PERSIST`.
    pub persist: sansraft_persist_output,
    /// For `SANSRAFT_OUTPUT_RESTORE_SNAPSHOT`.
    pub restore_snapshot: sansraft_restore_snapshot_output,
    /// For `SANSRAFT_OUTPUT_APPLY`.
    pub apply: sansraft_apply_output,
    /// For `SANSRAFT_OUTPUT_PROPOSAL`.
    pub proposal: sansraft_proposal_output,
    /// For `SANSRAFT_OUTPUT_ROLE_CHANGED`.
    pub role_changed: sansraft_role_output,
    /// For `SANSRAFT_OUTPUT_LEADER_CHANGED`.
    pub leader_changed: sansraft_leader_output,
    /// For `SANSRAFT_OUTPUT_MEMBERSHIP_CHANGED`.
    pub membership_changed: sansraft_membership_output,
}

/// Takes the next output of the node and writes it to `*out`.
///
/// Returns `SANSRAFT_OK` with `*out` filled, or `SANSRAFT_EMPTY` when there is nothing left
/// to do (then `*out` is unchanged). Call it until `SANSRAFT_EMPTY` after every input, and
/// carry out the outputs in order. Outputs are built when polled, so several inputs fed
/// before one drain share one persist output and one append message per follower.
///
/// # Safety
///
/// `node` is NULL or a live handle that no other thread is using. `out` is NULL or valid for
/// writing one `sansraft_output`. The pointers written to `*out` are valid until the next
/// call that takes this node.
#[no_mangle]
pub unsafe extern "C" fn sansraft_node_poll(
    node: *mut sansraft_node,
    out: *mut sansraft_output,
) -> sansraft_status {
    // SAFETY: the caller guarantees `node` and `out`.
    unsafe {
        guard_node(node, |handle| {
            require_out(out, "out")?;
            let (node, buffers) = handle.node_and_buffers();
            let Some(output) = node.poll_output() else {
                return Ok(SANSRAFT_EMPTY);
            };
            write_out(out, buffers.render(output));
            Ok(SANSRAFT_OK)
        })
    }
}

/// The memory the latest polled output points into. It is cleared and reused by the next
/// poll, so steady polling allocates nothing once the buffers have grown.
#[derive(Debug, Default)]
pub(crate) struct OutputBuffers {
    bytes: Vec<u8>,
    records: Vec<sansraft_entry_record>,
    members: Vec<u64>,
    learners: Vec<sansraft_learner>,
}

impl OutputBuffers {
    /// Encodes `output` into the buffers and returns the C view of it.
    pub(crate) fn render(&mut self, output: Output) -> sansraft_output {
        self.bytes.clear();
        self.records.clear();
        self.members.clear();
        self.learners.clear();
        let mut view = empty_output();
        match output {
            Output::Send(message) => {
                view.kind = sansraft_output_kind::SANSRAFT_OUTPUT_SEND;
                view.send = self.render_send(&message);
            }
            Output::SendSnapshot(message) => {
                view.kind = sansraft_output_kind::SANSRAFT_OUTPUT_SEND_SNAPSHOT;
                view.send = self.render_send(&message);
            }
            Output::Persist(request) => {
                view.kind = sansraft_output_kind::SANSRAFT_OUTPUT_PERSIST;
                view.persist = self.render_persist(&request);
            }
            Output::RestoreSnapshot(meta) => {
                view.kind = sansraft_output_kind::SANSRAFT_OUTPUT_RESTORE_SNAPSHOT;
                view.restore_snapshot = self.render_restore_snapshot(&meta);
            }
            Output::Apply(entry) => {
                view.kind = sansraft_output_kind::SANSRAFT_OUTPUT_APPLY;
                view.apply = self.render_apply(&entry);
            }
            Output::Proposal { id, outcome } => {
                view.kind = sansraft_output_kind::SANSRAFT_OUTPUT_PROPOSAL;
                view.proposal = sansraft_proposal_output { id: id.into(), outcome: outcome.into() };
            }
            Output::RoleChanged { role, term } => {
                view.kind = sansraft_output_kind::SANSRAFT_OUTPUT_ROLE_CHANGED;
                view.role_changed = sansraft_role_output { role: role.into(), term };
            }
            Output::LeaderChanged { leader, term } => {
                view.kind = sansraft_output_kind::SANSRAFT_OUTPUT_LEADER_CHANGED;
                view.leader_changed = sansraft_leader_output { leader: leader.unwrap_or(0), term };
            }
            Output::MembershipChanged { membership } => {
                view.kind = sansraft_output_kind::SANSRAFT_OUTPUT_MEMBERSHIP_CHANGED;
                view.membership_changed = self.render_membership(&membership);
            }
        }
        view
    }

    fn render_send(&mut self, message: &Message) -> sansraft_send_output {
        let range = self.encode(codec::encoded_message_len(message), |buf| {
            codec::encode_message(message, buf);
        });
        let snapshot = match &message.body {
            Body::InstallSnapshot { meta } => meta.last.into(),
            _ => sansraft_log_id::default(),
        };
        let (bytes, len) = self.span(range);
        sansraft_send_output { to: message.to, message: bytes, message_len: len, snapshot }
    }

    fn render_persist(&mut self, request: &PersistRequest) -> sansraft_persist_output {
        let hard_state = request.hard_state.map(|hard_state| {
            self.encode(codec::encoded_hard_state_len(&hard_state), |buf| {
                codec::encode_hard_state(&hard_state, buf);
            })
        });
        let snapshot = request.snapshot.as_ref().map(|meta| self.encode_snapshot_meta(meta));
        // Every record is encoded before any pointer is taken, because the byte buffer may
        // move while it grows.
        let entries_start = self.bytes.len();
        for entry in &request.entries {
            let range = self.encode(codec::encoded_entry_len(entry), |buf| {
                codec::encode_entry(entry, buf);
            });
            self.records.push(sansraft_entry_record {
                id: entry.id().into(),
                record: ptr::null(),
                record_len: range.len(),
            });
        }
        let mut at = entries_start;
        for record in &mut self.records {
            record.record = self.bytes[at..].as_ptr();
            at += record.record_len;
        }
        debug_assert_eq!(at, self.bytes.len(), "the records fill the rest of the buffer");

        let (hard_state, hard_state_len) = self.optional_span(hard_state.clone());
        let (snapshot_bytes, snapshot_len) = self.optional_span(snapshot);
        let (entries, entries_len) = non_empty(&self.records);
        sansraft_persist_output {
            token: request.token,
            has_hard_state: request.hard_state.is_some(),
            hard_state,
            hard_state_len,
            has_snapshot: request.snapshot.is_some(),
            snapshot: snapshot_bytes,
            snapshot_len,
            snapshot_last: request
                .snapshot
                .as_ref()
                .map_or_else(Default::default, |m| m.last.into()),
            compact_through: request.compact_through.unwrap_or(0),
            truncate_from: request.truncate_from.unwrap_or(0),
            entries,
            entries_len,
        }
    }

    fn render_restore_snapshot(&mut self, meta: &SnapshotMeta) -> sansraft_restore_snapshot_output {
        let range = self.encode_snapshot_meta(meta);
        let (bytes, len) = self.span(range);
        sansraft_restore_snapshot_output { last: meta.last.into(), meta: bytes, meta_len: len }
    }

    fn render_apply(&mut self, entry: &Entry) -> sansraft_apply_output {
        let record = self.encode(codec::encoded_entry_len(entry), |buf| {
            codec::encode_entry(entry, buf);
        });
        let (entry_kind, data, membership) = match &entry.payload {
            Payload::Empty => (sansraft_entry_kind::SANSRAFT_ENTRY_EMPTY, None, None),
            Payload::Data(data) => {
                // A data payload is the last field of the record, so the data is its tail.
                let range = record.end - data.len()..record.end;
                debug_assert_eq!(&self.bytes[range.clone()], &data[..], "data ends the record");
                (sansraft_entry_kind::SANSRAFT_ENTRY_DATA, Some(range), None)
            }
            Payload::Membership(membership) => {
                let range = self.encode_membership(membership);
                (sansraft_entry_kind::SANSRAFT_ENTRY_MEMBERSHIP, None, Some(range))
            }
        };
        let (data, data_len) = self.optional_span(data);
        let (membership, membership_len) = self.optional_span(membership);
        let (record, record_len) = self.span(record);
        sansraft_apply_output {
            id: entry.id().into(),
            entry_kind,
            data,
            data_len,
            membership,
            membership_len,
            record,
            record_len,
        }
    }

    fn render_membership(&mut self, membership: &Membership) -> sansraft_membership_output {
        let range = self.encode_membership(membership);
        self.members.extend_from_slice(membership.members());
        self.learners.extend(membership.learners().iter().map(sansraft_learner::from));
        let (members, members_len) = non_empty(&self.members);
        let (learners, learners_len) = non_empty(&self.learners);
        let (bytes, len) = self.span(range);
        sansraft_membership_output {
            members,
            members_len,
            learners,
            learners_len,
            membership: bytes,
            membership_len: len,
        }
    }

    fn encode_snapshot_meta(&mut self, meta: &SnapshotMeta) -> Range<usize> {
        self.encode(codec::encoded_snapshot_meta_len(meta), |buf| {
            codec::encode_snapshot_meta(meta, buf);
        })
    }

    fn encode_membership(&mut self, membership: &Membership) -> Range<usize> {
        self.encode(codec::encoded_membership_len(membership), |buf| {
            codec::encode_membership(membership, buf);
        })
    }

    /// Appends `len` bytes written by `write` to the byte buffer and returns where they are.
    fn encode(&mut self, len: usize, write: impl FnOnce(&mut Vec<u8>)) -> Range<usize> {
        let start = self.bytes.len();
        self.bytes.reserve(len);
        write(&mut self.bytes);
        debug_assert_eq!(self.bytes.len() - start, len, "the codec's length is exact");
        start..self.bytes.len()
    }

    fn span(&self, range: Range<usize>) -> (*const u8, usize) {
        let bytes = &self.bytes[range];
        (bytes.as_ptr(), bytes.len())
    }

    fn optional_span(&self, range: Option<Range<usize>>) -> (*const u8, usize) {
        range.map_or((ptr::null(), 0), |range| self.span(range))
    }
}

/// Returns the pointer and length of `items`, with NULL for an empty slice.
fn non_empty<T>(items: &[T]) -> (*const T, usize) {
    if items.is_empty() {
        (ptr::null(), 0)
    } else {
        (items.as_ptr(), items.len())
    }
}

fn empty_output() -> sansraft_output {
    let no_bytes = ptr::null();
    sansraft_output {
        kind: sansraft_output_kind::SANSRAFT_OUTPUT_SEND,
        send: sansraft_send_output {
            to: 0,
            message: no_bytes,
            message_len: 0,
            snapshot: sansraft_log_id::default(),
        },
        persist: sansraft_persist_output {
            token: 0,
            has_hard_state: false,
            hard_state: no_bytes,
            hard_state_len: 0,
            has_snapshot: false,
            snapshot: no_bytes,
            snapshot_len: 0,
            snapshot_last: sansraft_log_id::default(),
            compact_through: 0,
            truncate_from: 0,
            entries: ptr::null(),
            entries_len: 0,
        },
        restore_snapshot: sansraft_restore_snapshot_output {
            last: sansraft_log_id::default(),
            meta: no_bytes,
            meta_len: 0,
        },
        apply: sansraft_apply_output {
            id: sansraft_log_id::default(),
            entry_kind: sansraft_entry_kind::SANSRAFT_ENTRY_EMPTY,
            data: no_bytes,
            data_len: 0,
            membership: no_bytes,
            membership_len: 0,
            record: no_bytes,
            record_len: 0,
        },
        proposal: sansraft_proposal_output {
            id: sansraft_log_id::default(),
            outcome: sansraft_proposal_outcome::SANSRAFT_PROPOSAL_COMMITTED,
        },
        role_changed: sansraft_role_output { role: sansraft_role::SANSRAFT_ROLE_FOLLOWER, term: 0 },
        leader_changed: sansraft_leader_output { leader: 0, term: 0 },
        membership_changed: sansraft_membership_output {
            members: ptr::null(),
            members_len: 0,
            learners: ptr::null(),
            learners_len: 0,
            membership: no_bytes,
            membership_len: 0,
        },
    }
}
