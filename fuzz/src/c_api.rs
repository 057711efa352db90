//! Arbitrary sequences of C API calls, with NULL pointers, bad lengths and garbage buffers.
//!
//! Two node handles, ids 1 and 2 of members 1, 2 and 3, pass each other the messages they
//! send, so calls reach real protocol states. Every call must return without crashing, and
//! no call may report `SANSRAFT_PANIC` or `SANSRAFT_POISONED`: the core never panics, so the
//! panic boundary must never be reached. Every pointer in a polled output is read in full,
//! so AddressSanitizer catches one that leads outside live memory, and the encoded messages
//! and records in it must decode.

use std::mem::MaybeUninit;
use std::ptr;

use arbitrary::{Arbitrary, Unstructured};
use sansraft::codec::{
    decode_entry, decode_exact, decode_hard_state, decode_membership, decode_message,
    decode_snapshot_meta, DecodeError,
};
use sansraft_ffi::sansraft_status::{self, SANSRAFT_OK, SANSRAFT_PANIC, SANSRAFT_POISONED};
use sansraft_ffi::*;

/// The maximum number of calls one run makes, so that a long fuzz input cannot make a run
/// slow.
const MAX_CALLS: usize = 300;

/// The maximum number of messages kept in flight between the two nodes.
const MAX_IN_FLIGHT: usize = 64;

/// The members of the configuration both nodes start in.
const MEMBERS: [u64; 3] = [1, 2, 3];

/// The handle a call gets: one of the two nodes, or NULL.
#[derive(Arbitrary, Clone, Copy, Debug)]
pub enum Handle {
    /// Node 1.
    First,
    /// Node 2.
    Second,
    /// A NULL handle.
    Null,
}

/// A buffer argument: its bytes, or NULL with some length.
#[derive(Arbitrary, Clone, Debug)]
pub enum Buffer {
    /// The bytes and their exact length.
    Bytes(Vec<u8>),
    /// The bytes with a shorter length, cutting the value short.
    Cut(Vec<u8>, u8),
    /// NULL with this length: an error unless it is 0.
    Null(u8),
}

impl Buffer {
    fn as_raw(&self) -> (*const u8, usize) {
        match self {
            Buffer::Bytes(bytes) => (bytes.as_ptr(), bytes.len()),
            Buffer::Cut(bytes, cut) => {
                (bytes.as_ptr(), bytes.len().saturating_sub(usize::from(*cut)))
            }
            Buffer::Null(len) => (ptr::null(), usize::from(*len)),
        }
    }
}

/// Settings of a new node: the defaults with some fields replaced by arbitrary values.
#[derive(Arbitrary, Clone, Copy, Debug)]
pub struct ConfigChoice {
    /// Replace the timing fields with these values when set.
    timings: Option<(u64, u64, u64)>,
    /// Replace the limits with these values when set.
    limits: Option<(usize, usize, usize)>,
    /// Replace the id with this value when set.
    id: Option<u64>,
    pre_vote: bool,
    check_quorum: bool,
}

/// One C API call.
#[derive(Arbitrary, Clone, Debug)]
pub enum Call {
    /// Replace a node with a new one; `members` replaces the configuration when set.
    New {
        /// The handle to replace; NULL passes a NULL out-parameter.
        handle: Handle,
        /// The settings.
        config: ConfigChoice,
        /// The members, if not members 1, 2 and 3.
        members: Option<Vec<u64>>,
        /// The learners.
        learners: Vec<(u64, bool)>,
        /// Pass a NULL config.
        null_config: bool,
    },
    /// Replace a node with one restored from the records its persist outputs carried, or
    /// from garbage.
    Restore {
        /// The handle to replace.
        handle: Handle,
        /// Use these bytes as the hard state instead of the node's last one.
        hard_state: Option<Buffer>,
        /// Use these bytes as the snapshot description.
        snapshot: Option<Buffer>,
        /// Add these buffers as entry records after the node's own.
        entries: Vec<Buffer>,
        /// The applied index.
        applied: u64,
    },
    /// Free a node and forget the handle.
    Free(Handle),
    /// Tick, usually forward by up to 65 s.
    Tick(Handle, Option<u64>, u16),
    /// Deliver the message in flight that `u8` names, or `Buffer` when set.
    Receive(Handle, u8, Option<Buffer>),
    /// Propose data; `bool` passes a NULL out-parameter.
    Propose(Handle, Buffer, bool),
    /// Acknowledge the node's newest persist token, or any token when set.
    Persisted(Handle, Option<u64>),
    /// Report applied entries: the node's newest applied entry, or any index when set.
    Applied(Handle, Option<u64>),
    /// Start an election.
    Campaign(Handle),
    /// Request a configuration change: `u8` picks the kind, `u64` the server.
    Change(Handle, u8, u64, bool, bool),
    /// Report a snapshot at an index.
    SnapshotTaken(Handle, u64),
    /// Report a snapshot by its encoded description.
    SnapshotTakenMeta(Handle, Buffer),
    /// Report a snapshot send.
    SnapshotSent(Handle, u64, bool),
    /// Poll outputs until the node has none left; `bool` passes a NULL output.
    Poll(Handle, bool),
    /// Read the next deadline; `bool` passes a NULL out-parameter.
    NextDeadline(Handle, bool),
    /// Read the status with room for this many peers; `bool` passes NULL pointers.
    Status(Handle, u8, bool),
    /// Read the configuration with room for this many members and learners.
    Membership(Handle, u8, u8, bool),
    /// Read the last error into a buffer of this length; `bool` passes NULL pointers.
    LastError(Handle, u8, bool),
    /// Inspect an encoded message; `bool` passes a NULL out-parameter.
    Inspect(Buffer, bool),
    /// Describe any status number.
    StatusText(u32),
}

/// What the harness keeps for one node.
struct Slot {
    node: *mut sansraft_node,
    id: u64,
    now_ms: u64,
    last_token: u64,
    last_applied: u64,
    hard_state: Vec<u8>,
    entries: Vec<Vec<u8>>,
}

impl Slot {
    fn new(id: u64) -> Slot {
        let node = new_node(id, &default_config(id), &MEMBERS, &[]);
        Slot {
            node,
            id,
            now_ms: 0,
            last_token: 0,
            last_applied: 0,
            hard_state: Vec::new(),
            entries: Vec::new(),
        }
    }
}

/// The harness state: two nodes and the messages between them.
struct Harness {
    slots: [Slot; 2],
    in_flight: Vec<Vec<u8>>,
}

/// Runs one fuzz input: calls until the input runs out.
pub fn run(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let mut harness = Harness { slots: [Slot::new(1), Slot::new(2)], in_flight: Vec::new() };
    for _ in 0..MAX_CALLS {
        if u.is_empty() {
            break;
        }
        let Ok(call) = Call::arbitrary(&mut u) else {
            break;
        };
        harness.call(call);
    }
    for slot in &mut harness.slots {
        // SAFETY: the handle is NULL or came from `sansraft_node_new`/`_restore` and was not
        // freed, because `Free` sets it to NULL.
        unsafe { sansraft_node_free(slot.node) };
        slot.node = ptr::null_mut();
    }
}

/// Returns the calls that `run` reads from `data`, one per line, for reports.
pub fn describe(data: &[u8]) -> String {
    let mut u = Unstructured::new(data);
    let mut lines = Vec::new();
    for _ in 0..MAX_CALLS {
        if u.is_empty() {
            break;
        }
        let Ok(call) = Call::arbitrary(&mut u) else {
            break;
        };
        lines.push(format!("{call:?}"));
    }
    lines.join("\n")
}

fn default_config(id: u64) -> sansraft_config {
    let mut config = MaybeUninit::<sansraft_config>::uninit();
    // SAFETY: `config` is a valid place for one `sansraft_config`.
    let status = unsafe { sansraft_config_default(id, config.as_mut_ptr()) };
    assert_eq!(status, SANSRAFT_OK, "sansraft_config_default({id})");
    // SAFETY: the call returned OK, so it wrote the whole struct.
    unsafe { config.assume_init() }
}

/// Creates a node and returns its handle, or NULL when the call fails.
fn new_node(
    id: u64,
    config: &sansraft_config,
    members: &[u64],
    learners: &[sansraft_learner],
) -> *mut sansraft_node {
    let mut node = ptr::null_mut();
    // SAFETY: every pointer is valid for the length passed with it.
    let status = unsafe {
        sansraft_node_new_with_learners(
            config,
            members.as_ptr(),
            members.len(),
            learners.as_ptr(),
            learners.len(),
            &mut node,
        )
    };
    check_status(status, "sansraft_node_new_with_learners");
    if status == SANSRAFT_OK {
        assert!(!node.is_null(), "node {id} was created as NULL");
    }
    node
}

fn check_status(status: sansraft_status, call: &str) {
    assert_ne!(status, SANSRAFT_PANIC, "{call} reached the panic boundary");
    assert_ne!(status, SANSRAFT_POISONED, "{call} found a node poisoned by a panic");
    // SAFETY: the text is a static NUL-terminated string, as `sansraft_status_str` documents.
    let text = unsafe { std::ffi::CStr::from_ptr(sansraft_status_str(status as u32)) };
    assert!(!text.to_bytes().is_empty(), "{call} returned status {status:?} without a text");
}

impl Harness {
    fn node(&self, handle: Handle) -> *mut sansraft_node {
        match handle {
            Handle::First => self.slots[0].node,
            Handle::Second => self.slots[1].node,
            Handle::Null => ptr::null_mut(),
        }
    }

    fn slot(&mut self, handle: Handle) -> Option<&mut Slot> {
        match handle {
            Handle::First => Some(&mut self.slots[0]),
            Handle::Second => Some(&mut self.slots[1]),
            Handle::Null => None,
        }
    }

    fn call(&mut self, call: Call) {
        let node = self.node(call_handle(&call));
        // SAFETY for every call below: `node` is NULL or a live handle, and every buffer
        // passed is valid for the length passed with it (a `Buffer::Cut` only shortens it).
        match call {
            Call::New { handle, config, members, learners, null_config } => {
                self.create(handle, config, members, &learners, null_config)
            }
            Call::Restore { handle, hard_state, snapshot, entries, applied } => {
                self.restore(handle, hard_state, snapshot, &entries, applied)
            }
            Call::Free(handle) => {
                unsafe { sansraft_node_free(node) };
                if let Some(slot) = self.slot(handle) {
                    slot.node = ptr::null_mut();
                }
            }
            Call::Tick(handle, now_ms, advance_ms) => {
                let now_ms = match (now_ms, self.slot(handle)) {
                    (Some(now_ms), _) => now_ms,
                    (None, Some(slot)) => {
                        slot.now_ms = slot.now_ms.saturating_add(u64::from(advance_ms));
                        slot.now_ms
                    }
                    (None, None) => u64::from(advance_ms),
                };
                check_status(unsafe { sansraft_node_tick(node, now_ms) }, "sansraft_node_tick");
            }
            Call::Receive(_, pick, buffer) => self.receive(node, pick, buffer),
            Call::Propose(_, data, null_out) => {
                let (data, len) = data.as_raw();
                let mut id = sansraft_log_id::default();
                let out = if null_out { ptr::null_mut() } else { &mut id as *mut _ };
                let status = unsafe { sansraft_node_propose(node, data, len, out) };
                check_status(status, "sansraft_node_propose");
            }
            Call::Persisted(handle, token) => {
                let newest = self.slot(handle).map_or(0, |slot| slot.last_token);
                let token = token.unwrap_or(newest);
                let status = unsafe { sansraft_node_persisted(node, token) };
                check_status(status, "sansraft_node_persisted");
            }
            Call::Applied(handle, index) => {
                let newest = self.slot(handle).map_or(0, |slot| slot.last_applied);
                let index = index.unwrap_or(newest);
                check_status(
                    unsafe { sansraft_node_applied(node, index) },
                    "sansraft_node_applied",
                );
            }
            Call::Campaign(_) => {
                check_status(unsafe { sansraft_node_campaign(node) }, "sansraft_node_campaign")
            }
            Call::Change(_, kind, id, pending, null_out) => {
                change(node, kind, id % 8, pending, null_out)
            }
            Call::SnapshotTaken(_, index) => {
                let status = unsafe { sansraft_node_snapshot_taken(node, index) };
                check_status(status, "sansraft_node_snapshot_taken");
            }
            Call::SnapshotTakenMeta(_, meta) => {
                let (meta, len) = meta.as_raw();
                let status = unsafe { sansraft_node_snapshot_taken_meta(node, meta, len) };
                check_status(status, "sansraft_node_snapshot_taken_meta");
            }
            Call::SnapshotSent(_, to, success) => {
                let status = unsafe { sansraft_node_snapshot_sent(node, to % 8, success) };
                check_status(status, "sansraft_node_snapshot_sent");
            }
            Call::Poll(handle, null_out) => self.poll(handle, null_out),
            Call::NextDeadline(_, null_out) => {
                let mut deadline: u64 = 0;
                let out = if null_out { ptr::null_mut() } else { &mut deadline as *mut u64 };
                let status = unsafe { sansraft_node_next_deadline(node, out) };
                check_status(status, "sansraft_node_next_deadline");
            }
            Call::Status(_, capacity, null) => status(node, usize::from(capacity % 8), null),
            Call::Membership(_, members, learners, null) => {
                membership(node, usize::from(members % 8), usize::from(learners % 8), null)
            }
            Call::LastError(_, len, null) => last_error(node, usize::from(len), null),
            Call::Inspect(message, null_out) => inspect(&message, null_out),
            Call::StatusText(status) => {
                // SAFETY: any number is allowed, and the result is a static string.
                let text = unsafe { std::ffi::CStr::from_ptr(sansraft_status_str(status)) };
                assert!(!text.to_bytes().is_empty(), "status {status} has an empty text");
            }
        }
    }

    fn create(
        &mut self,
        handle: Handle,
        choice: ConfigChoice,
        members: Option<Vec<u64>>,
        learners: &[(u64, bool)],
        null_config: bool,
    ) {
        let id = self.slot(handle).map_or(1, |slot| slot.id);
        let mut config = default_config(id);
        if let Some((min_ms, max_ms, heartbeat_ms)) = choice.timings {
            config.election_timeout_min_ms = min_ms;
            config.election_timeout_max_ms = max_ms;
            config.heartbeat_interval_ms = heartbeat_ms;
        }
        if let Some((bytes, entries, inflight)) = choice.limits {
            config.max_append_bytes = bytes;
            config.max_append_entries = entries;
            config.max_inflight_appends = inflight;
        }
        config.id = choice.id.unwrap_or(id);
        config.pre_vote = choice.pre_vote;
        config.check_quorum = choice.check_quorum;
        let members = members.unwrap_or_else(|| MEMBERS.to_vec());
        let learners: Vec<sansraft_learner> =
            learners.iter().map(|&(id, pending)| sansraft_learner { id, pending }).collect();

        let mut node: *mut sansraft_node = ptr::null_mut();
        let config_ptr: *const sansraft_config = if null_config { ptr::null() } else { &config };
        let out = match handle {
            Handle::Null => ptr::null_mut(),
            _ => &mut node as *mut *mut sansraft_node,
        };
        // SAFETY: every pointer is NULL or valid for the length passed with it.
        let status = unsafe {
            sansraft_node_new_with_learners(
                config_ptr,
                members.as_ptr(),
                members.len(),
                learners.as_ptr(),
                learners.len(),
                out,
            )
        };
        check_status(status, "sansraft_node_new_with_learners");
        if status == SANSRAFT_OK {
            assert!(!node.is_null(), "sansraft_node_new_with_learners returned OK and NULL");
            self.replace(handle, node, config.id);
        }
    }

    fn restore(
        &mut self,
        handle: Handle,
        hard_state: Option<Buffer>,
        snapshot: Option<Buffer>,
        extra_entries: &[Buffer],
        applied: u64,
    ) {
        let Some(slot) = self.slot(handle) else {
            return;
        };
        let id = slot.id;
        let own_hard_state = Buffer::Bytes(slot.hard_state.clone());
        let own_entries: Vec<Buffer> =
            slot.entries.iter().map(|record| Buffer::Bytes(record.clone())).collect();
        let hard_state = hard_state.unwrap_or(own_hard_state);
        let snapshot = snapshot.unwrap_or(Buffer::Null(0));
        let entries: Vec<sansraft_bytes> = own_entries
            .iter()
            .chain(extra_entries)
            .map(|buffer| {
                let (data, len) = buffer.as_raw();
                sansraft_bytes { data, len }
            })
            .collect();
        let (hard_state, hard_state_len) = hard_state.as_raw();
        let (snapshot, snapshot_len) = snapshot.as_raw();
        let state = sansraft_restore_state {
            hard_state,
            hard_state_len,
            snapshot,
            snapshot_len,
            entries: entries.as_ptr(),
            entries_len: entries.len(),
            members: MEMBERS.as_ptr(),
            members_len: MEMBERS.len(),
            learners: ptr::null(),
            learners_len: 0,
            applied: applied % 16,
        };
        let config = default_config(id);
        let mut node = ptr::null_mut();
        // SAFETY: every pointer in `state` is NULL or valid for the length passed with it.
        let status = unsafe { sansraft_node_restore(&config, &state, &mut node) };
        check_status(status, "sansraft_node_restore");
        if status == SANSRAFT_OK {
            assert!(!node.is_null(), "sansraft_node_restore returned OK and NULL");
            self.replace(handle, node, id);
        }
    }

    /// Frees the node behind `handle` and puts `node` in its place.
    fn replace(&mut self, handle: Handle, node: *mut sansraft_node, id: u64) {
        let Some(slot) = self.slot(handle) else {
            // SAFETY: `node` was just created and nothing else refers to it.
            unsafe { sansraft_node_free(node) };
            return;
        };
        // SAFETY: the old handle is NULL or live, and is forgotten here.
        unsafe { sansraft_node_free(slot.node) };
        slot.node = node;
        slot.id = id;
        slot.now_ms = 0;
        slot.last_token = 0;
        slot.last_applied = 0;
    }

    fn receive(&mut self, node: *mut sansraft_node, pick: u8, buffer: Option<Buffer>) {
        let message = match buffer {
            Some(buffer) => buffer,
            None if self.in_flight.is_empty() => return,
            None => {
                let at = usize::from(pick) % self.in_flight.len();
                Buffer::Bytes(self.in_flight.swap_remove(at))
            }
        };
        let (data, len) = message.as_raw();
        // SAFETY: `node` is NULL or live, and `data` is NULL or valid for `len` bytes.
        let status = unsafe { sansraft_node_receive(node, data, len) };
        check_status(status, "sansraft_node_receive");
    }

    fn poll(&mut self, handle: Handle, null_out: bool) {
        let node = self.node(handle);
        if null_out {
            // SAFETY: `node` is NULL or live; a NULL output must be rejected.
            let status = unsafe { sansraft_node_poll(node, ptr::null_mut()) };
            check_status(status, "sansraft_node_poll");
            return;
        }
        loop {
            let mut output = MaybeUninit::<sansraft_output>::uninit();
            // SAFETY: `node` is NULL or live, and `output` has room for one output.
            let status = unsafe { sansraft_node_poll(node, output.as_mut_ptr()) };
            check_status(status, "sansraft_node_poll");
            if status != SANSRAFT_OK {
                return;
            }
            // SAFETY: the call returned OK, so it wrote the whole output.
            let output = unsafe { output.assume_init() };
            self.on_output(handle, &output);
        }
    }

    fn on_output(&mut self, handle: Handle, output: &sansraft_output) {
        match output.kind {
            sansraft_output_kind::SANSRAFT_OUTPUT_SEND
            | sansraft_output_kind::SANSRAFT_OUTPUT_SEND_SNAPSHOT => {
                // SAFETY: the output documents `message` as valid until the next call.
                let message = unsafe { read(output.send.message, output.send.message_len) };
                expect_decodes(&message, decode_message, "sent message");
                if self.in_flight.len() < MAX_IN_FLIGHT {
                    self.in_flight.push(message);
                }
            }
            sansraft_output_kind::SANSRAFT_OUTPUT_PERSIST => self.on_persist(handle, output),
            sansraft_output_kind::SANSRAFT_OUTPUT_RESTORE_SNAPSHOT => {
                let restore = &output.restore_snapshot;
                // SAFETY: the output documents `meta` as valid until the next call.
                let meta = unsafe { read(restore.meta, restore.meta_len) };
                expect_decodes(&meta, decode_snapshot_meta, "restored snapshot description");
                if let Some(slot) = self.slot(handle) {
                    slot.last_applied = restore.last.index;
                }
            }
            sansraft_output_kind::SANSRAFT_OUTPUT_APPLY => {
                let apply = &output.apply;
                // SAFETY: the output documents these pointers as valid until the next call.
                let record = unsafe {
                    read(apply.data, apply.data_len);
                    read(apply.membership, apply.membership_len);
                    read(apply.record, apply.record_len)
                };
                expect_decodes(&record, decode_entry, "applied entry record");
                if let Some(slot) = self.slot(handle) {
                    slot.last_applied = apply.id.index;
                }
            }
            sansraft_output_kind::SANSRAFT_OUTPUT_MEMBERSHIP_CHANGED => {
                let changed = &output.membership_changed;
                // SAFETY: the output documents these pointers as valid until the next call.
                let encoded = unsafe {
                    read(changed.members.cast(), changed.members_len * 8);
                    let learners_len = changed.learners_len * size_of::<sansraft_learner>();
                    read(changed.learners.cast(), learners_len);
                    read(changed.membership, changed.membership_len)
                };
                expect_decodes(&encoded, decode_membership, "changed membership");
            }
            sansraft_output_kind::SANSRAFT_OUTPUT_PROPOSAL
            | sansraft_output_kind::SANSRAFT_OUTPUT_ROLE_CHANGED
            | sansraft_output_kind::SANSRAFT_OUTPUT_LEADER_CHANGED => {}
        }
    }

    fn on_persist(&mut self, handle: Handle, output: &sansraft_output) {
        let persist = &output.persist;
        // SAFETY: the output documents these pointers as valid until the next call.
        let (hard_state, records) = unsafe {
            let hard_state = read(persist.hard_state, persist.hard_state_len);
            let snapshot = read(persist.snapshot, persist.snapshot_len);
            if persist.has_snapshot {
                expect_decodes(&snapshot, decode_snapshot_meta, "persisted snapshot");
            }
            let entries = if persist.entries.is_null() {
                &[][..]
            } else {
                std::slice::from_raw_parts(persist.entries, persist.entries_len)
            };
            let records: Vec<Vec<u8>> =
                entries.iter().map(|entry| read(entry.record, entry.record_len)).collect();
            (hard_state, records)
        };
        if persist.has_hard_state {
            expect_decodes(&hard_state, decode_hard_state, "persisted hard state");
        }
        for record in &records {
            expect_decodes(record, decode_entry, "persisted entry record");
        }
        let Some(slot) = self.slot(handle) else {
            return;
        };
        slot.last_token = persist.token;
        if persist.has_hard_state {
            slot.hard_state = hard_state;
        }
        slot.entries.extend(records);
    }
}

fn call_handle(call: &Call) -> Handle {
    match call {
        Call::New { handle, .. } | Call::Restore { handle, .. } => *handle,
        Call::Free(handle)
        | Call::Tick(handle, ..)
        | Call::Receive(handle, ..)
        | Call::Propose(handle, ..)
        | Call::Persisted(handle, ..)
        | Call::Applied(handle, ..)
        | Call::Campaign(handle)
        | Call::Change(handle, ..)
        | Call::SnapshotTaken(handle, ..)
        | Call::SnapshotTakenMeta(handle, ..)
        | Call::SnapshotSent(handle, ..)
        | Call::Poll(handle, ..)
        | Call::NextDeadline(handle, ..)
        | Call::Status(handle, ..)
        | Call::Membership(handle, ..)
        | Call::LastError(handle, ..) => *handle,
        Call::Inspect(..) | Call::StatusText(..) => Handle::Null,
    }
}

/// Copies `len` bytes from `data`, reading each one.
///
/// # Safety
///
/// `data` must be NULL with `len` 0, or valid for reads of `len` bytes.
unsafe fn read(data: *const u8, len: usize) -> Vec<u8> {
    if len == 0 {
        return Vec::new();
    }
    assert!(!data.is_null(), "an output has a NULL pointer with length {len}");
    // SAFETY: the caller guarantees `data` is valid for `len` bytes.
    unsafe { std::slice::from_raw_parts(data, len) }.to_vec()
}

fn expect_decodes<'a, T>(
    bytes: &'a [u8],
    decode: impl FnOnce(&mut &'a [u8]) -> Result<T, DecodeError>,
    what: &str,
) {
    if let Err(error) = decode_exact(bytes, decode) {
        panic!("the {what} in an output does not decode: {error}");
    }
}

fn change(node: *mut sansraft_node, kind: u8, id: u64, pending: bool, null_out: bool) {
    let mut log_id = sansraft_log_id::default();
    let out = if null_out { ptr::null_mut() } else { &mut log_id as *mut _ };
    // SAFETY: `node` is NULL or live, and `out` is NULL or valid.
    let (status, name) = unsafe {
        match kind % 5 {
            0 => (sansraft_node_add_learner(node, id, pending, out), "sansraft_node_add_learner"),
            1 => (sansraft_node_set_pending(node, id, pending, out), "sansraft_node_set_pending"),
            2 => (sansraft_node_promote(node, id, out), "sansraft_node_promote"),
            3 => (sansraft_node_demote(node, id, out), "sansraft_node_demote"),
            _ => (sansraft_node_remove(node, id, out), "sansraft_node_remove"),
        }
    };
    check_status(status, name);
}

fn status(node: *mut sansraft_node, capacity: usize, null: bool) {
    let mut peers: Vec<MaybeUninit<sansraft_peer_status>> =
        (0..capacity).map(|_| MaybeUninit::uninit()).collect();
    let mut peers_len = 0;
    let mut out = MaybeUninit::<sansraft_node_status>::uninit();
    let (peers_ptr, out_ptr) = if null {
        (ptr::null_mut(), ptr::null_mut())
    } else {
        (peers.as_mut_ptr().cast(), out.as_mut_ptr())
    };
    // SAFETY: `peers_ptr` is NULL or has room for `capacity` peers, and the out-parameters
    // are NULL or valid.
    let status =
        unsafe { sansraft_node_get_status(node, peers_ptr, capacity, &mut peers_len, out_ptr) };
    check_status(status, "sansraft_node_get_status");
    if status == SANSRAFT_OK {
        assert!(peers_len <= capacity, "status wrote {peers_len} peers into room for {capacity}");
    }
}

fn membership(node: *mut sansraft_node, members: usize, learners: usize, null: bool) {
    let mut member_ids = vec![0u64; members];
    let mut learner_list = vec![sansraft_learner { id: 0, pending: false }; learners];
    let (mut members_len, mut learners_len) = (0, 0);
    let (members_ptr, learners_ptr) = if null {
        (ptr::null_mut(), ptr::null_mut())
    } else {
        (member_ids.as_mut_ptr(), learner_list.as_mut_ptr())
    };
    // SAFETY: the buffers are NULL or have room for the capacities passed.
    let status = unsafe {
        sansraft_node_membership(
            node,
            members_ptr,
            members,
            learners_ptr,
            learners,
            &mut members_len,
            &mut learners_len,
        )
    };
    check_status(status, "sansraft_node_membership");
}

fn last_error(node: *mut sansraft_node, len: usize, null: bool) {
    let mut buffer = vec![0 as std::ffi::c_char; len];
    let mut text_len = 0;
    let buffer_ptr = if null { ptr::null_mut() } else { buffer.as_mut_ptr() };
    // SAFETY: `buffer_ptr` is NULL or has room for `len` characters.
    let status = unsafe { sansraft_node_last_error(node, buffer_ptr, len, &mut text_len) };
    check_status(status, "sansraft_node_last_error");
    if status == SANSRAFT_OK && len > 0 {
        assert!(text_len < len, "an error text of {text_len} bytes fit a buffer of {len}");
        assert_eq!(buffer[text_len], 0, "the error text is not NUL-terminated");
    }
}

fn inspect(message: &Buffer, null_out: bool) {
    let (data, len) = message.as_raw();
    let mut info = MaybeUninit::<sansraft_message_info>::uninit();
    let out = if null_out { ptr::null_mut() } else { info.as_mut_ptr() };
    // SAFETY: `data` is NULL or valid for `len` bytes, and `out` is NULL or valid.
    let status = unsafe { sansraft_message_inspect(data, len, out) };
    check_status(status, "sansraft_message_inspect");
    if status != SANSRAFT_OK || data.is_null() {
        return;
    }
    // SAFETY: `data` is valid for `len` bytes.
    let bytes = unsafe { std::slice::from_raw_parts(data, len) };
    let decoded = decode_exact(bytes, decode_message);
    assert!(decoded.is_ok(), "sansraft_message_inspect accepted bytes that do not decode");
}
