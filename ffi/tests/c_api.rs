//! Drives a three-member cluster through the exported C functions, the way a C host does:
//! encoded messages, encoded records on an in-memory disk, and a restart from those records.

use std::collections::BTreeMap;
use std::ffi::CStr;
use std::mem::MaybeUninit;
use std::ptr;

use sansraft_ffi::*;

/// One server: its node handle and what its host keeps beside it.
struct Host {
    id: u64,
    node: *mut sansraft_node,
    inbox: Vec<Vec<u8>>,
    hard_state: Vec<u8>,
    /// Entry records by index.
    log: BTreeMap<u64, Vec<u8>>,
    /// Applied data payloads by index.
    applied: BTreeMap<u64, Vec<u8>>,
    last_applied: u64,
    reported_applied: u64,
}

const MEMBERS: [u64; 3] = [1, 2, 3];

fn config(id: u64) -> sansraft_config {
    let mut config = MaybeUninit::uninit();
    // SAFETY: `config` is valid for writing one config.
    let status = unsafe { sansraft_config_default(id, config.as_mut_ptr()) };
    assert_eq!(status, sansraft_status::SANSRAFT_OK);
    // SAFETY: the call succeeded, so it wrote the config.
    unsafe { config.assume_init() }
}

impl Host {
    fn start(id: u64) -> Host {
        let mut node = ptr::null_mut();
        // SAFETY: every pointer is valid for the length passed with it.
        let status = unsafe { sansraft_node_new(&config(id), MEMBERS.as_ptr(), 3, &mut node) };
        assert_eq!(status, sansraft_status::SANSRAFT_OK);
        Host {
            id,
            node,
            inbox: Vec::new(),
            hard_state: Vec::new(),
            log: BTreeMap::new(),
            applied: BTreeMap::new(),
            last_applied: 0,
            reported_applied: 0,
        }
    }

    /// Panics with the node's last error unless `status` is `SANSRAFT_OK`.
    fn check(&self, status: sansraft_status, call: &str) {
        if status == sansraft_status::SANSRAFT_OK {
            return;
        }
        let mut text = [0; 512];
        let mut len = 0;
        // SAFETY: `self.node` is live and `text` has room for `text.len()` bytes.
        let message = unsafe {
            sansraft_node_last_error(self.node, text.as_mut_ptr(), text.len(), &mut len);
            CStr::from_ptr(text.as_ptr()).to_string_lossy().into_owned()
        };
        panic!("node {}: {call} returned {status:?}: {message}", self.id);
    }

    fn crash(&mut self) {
        // SAFETY: `self.node` is live and freed once.
        unsafe { sansraft_node_free(self.node) };
        self.node = ptr::null_mut();
        self.inbox.clear();
        self.applied.clear();
        self.last_applied = 0;
        self.reported_applied = 0;
    }

    fn restart(&mut self) {
        let records: Vec<sansraft_bytes> = self
            .log
            .values()
            .map(|record| sansraft_bytes { data: record.as_ptr(), len: record.len() })
            .collect();
        let state = sansraft_restore_state {
            hard_state: self.hard_state.as_ptr(),
            hard_state_len: self.hard_state.len(),
            snapshot: ptr::null(),
            snapshot_len: 0,
            entries: records.as_ptr(),
            entries_len: records.len(),
            members: MEMBERS.as_ptr(),
            members_len: MEMBERS.len(),
            learners: ptr::null(),
            learners_len: 0,
            applied: 0,
        };
        // SAFETY: every buffer in `state` outlives the call.
        let status = unsafe { sansraft_node_restore(&config(self.id), &state, &mut self.node) };
        assert_eq!(status, sansraft_status::SANSRAFT_OK, "restore of node {}", self.id);
    }

    fn status(&self) -> sansraft_node_status {
        let mut peers = [MaybeUninit::<sansraft_peer_status>::uninit(); 4];
        let mut peers_len = 0;
        let mut status = MaybeUninit::uninit();
        // SAFETY: `peers` has room for 4 peers and the other pointers for one item each.
        let result = unsafe {
            sansraft_node_get_status(
                self.node,
                peers.as_mut_ptr().cast(),
                peers.len(),
                &mut peers_len,
                status.as_mut_ptr(),
            )
        };
        self.check(result, "sansraft_node_get_status");
        // SAFETY: the call succeeded, so it wrote the status.
        unsafe { status.assume_init() }
    }

    /// Receives the inbox and drains every output. Returns the messages sent, by receiver.
    fn take_turn(&mut self, now_ms: u64) -> Vec<(u64, Vec<u8>)> {
        // SAFETY: `self.node` is live for every call in this function, and every pointer
        // read from an output is used before the next call on the node.
        unsafe {
            self.check(sansraft_node_tick(self.node, now_ms), "sansraft_node_tick");
            for message in std::mem::take(&mut self.inbox) {
                let status = sansraft_node_receive(self.node, message.as_ptr(), message.len());
                self.check(status, "sansraft_node_receive");
            }
            let mut sent = Vec::new();
            loop {
                let mut out = MaybeUninit::<sansraft_output>::uninit();
                match sansraft_node_poll(self.node, out.as_mut_ptr()) {
                    sansraft_status::SANSRAFT_OK => self.carry_out(&out.assume_init(), &mut sent),
                    sansraft_status::SANSRAFT_EMPTY
                        if self.last_applied > self.reported_applied =>
                    {
                        let status = sansraft_node_applied(self.node, self.last_applied);
                        self.check(status, "sansraft_node_applied");
                        self.reported_applied = self.last_applied;
                    }
                    sansraft_status::SANSRAFT_EMPTY => return sent,
                    status => self.check(status, "sansraft_node_poll"),
                }
            }
        }
    }

    /// Carries out one output.
    ///
    /// # Safety
    ///
    /// `out` was just polled from this host's node.
    unsafe fn carry_out(&mut self, out: &sansraft_output, sent: &mut Vec<(u64, Vec<u8>)>) {
        // SAFETY: the pointers in `out` are valid until the next call on the node, and each is
        // copied before that call.
        unsafe {
            match out.kind {
                sansraft_output_kind::SANSRAFT_OUTPUT_SEND => {
                    sent.push((out.send.to, bytes(out.send.message, out.send.message_len)));
                }
                sansraft_output_kind::SANSRAFT_OUTPUT_PERSIST => {
                    let persist = &out.persist;
                    assert!(!persist.has_snapshot, "this test takes no snapshot");
                    if persist.has_hard_state {
                        self.hard_state = bytes(persist.hard_state, persist.hard_state_len);
                    }
                    if persist.truncate_from != 0 {
                        self.log.split_off(&persist.truncate_from);
                    }
                    // `entries` is NULL when there are none.
                    let records = match persist.entries_len {
                        0 => &[][..],
                        len => std::slice::from_raw_parts(persist.entries, len),
                    };
                    for record in records {
                        let stored = bytes(record.record, record.record_len);
                        self.log.insert(record.id.index, stored);
                    }
                    let status = sansraft_node_persisted(self.node, persist.token);
                    self.check(status, "sansraft_node_persisted");
                }
                sansraft_output_kind::SANSRAFT_OUTPUT_APPLY => {
                    let apply = &out.apply;
                    assert_eq!(apply.id.index, self.last_applied + 1, "applied in order");
                    self.last_applied = apply.id.index;
                    if apply.entry_kind == sansraft_entry_kind::SANSRAFT_ENTRY_DATA {
                        let data = bytes(apply.data, apply.data_len);
                        self.applied.insert(apply.id.index, data);
                    }
                }
                _ => {}
            }
        }
    }
}

/// Copies `len` bytes at `data`.
///
/// # Safety
///
/// `data` is valid for `len` bytes, or `len` is 0.
unsafe fn bytes(data: *const u8, len: usize) -> Vec<u8> {
    if len == 0 {
        return Vec::new();
    }
    // SAFETY: guaranteed by the caller.
    unsafe { std::slice::from_raw_parts(data, len) }.to_vec()
}

struct Cluster {
    hosts: Vec<Host>,
    now_ms: u64,
}

impl Cluster {
    /// Runs every live host once after moving the clock. Returns whether any message moved.
    fn round(&mut self, step_ms: u64) -> bool {
        self.now_ms += step_ms;
        let mut moved = false;
        for at in 0..self.hosts.len() {
            if self.hosts[at].node.is_null() {
                continue;
            }
            for (to, message) in self.hosts[at].take_turn(self.now_ms) {
                moved = true;
                let receiver = &mut self.hosts[to as usize - 1];
                // A crashed server loses what is sent to it.
                if !receiver.node.is_null() {
                    receiver.inbox.push(message);
                }
            }
        }
        moved
    }

    fn settle(&mut self) {
        for _ in 0..1_000 {
            if !self.round(0) {
                return;
            }
        }
        panic!("the cluster did not go quiet");
    }

    fn leader(&self) -> Option<usize> {
        self.hosts.iter().position(|host| {
            !host.node.is_null() && host.status().role == sansraft_role::SANSRAFT_ROLE_LEADER
        })
    }

    fn elect(&mut self) -> usize {
        for _ in 0..1_000 {
            self.round(10);
            if let Some(at) = self.leader() {
                self.settle();
                return at;
            }
        }
        panic!("no leader was elected");
    }

    fn propose(&mut self, leader: usize, payloads: impl IntoIterator<Item = String>) {
        for payload in payloads {
            let host = &self.hosts[leader];
            let mut id = MaybeUninit::uninit();
            // SAFETY: the node is live and `payload` outlives the call.
            let status = unsafe {
                sansraft_node_propose(host.node, payload.as_ptr(), payload.len(), id.as_mut_ptr())
            };
            host.check(status, "sansraft_node_propose");
        }
        self.settle();
        // Heartbeats carry the final commit index to the followers.
        for _ in 0..10 {
            self.round(50);
        }
        self.settle();
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for host in &mut self.hosts {
            // SAFETY: each node is NULL or live, and freed once.
            unsafe { sansraft_node_free(host.node) };
        }
    }
}

#[test]
fn cluster_replicates_and_restarts_through_the_c_api() {
    let mut cluster =
        Cluster { hosts: MEMBERS.iter().map(|id| Host::start(*id)).collect(), now_ms: 0 };
    let leader = cluster.elect();
    cluster.propose(leader, (0..20).map(|n| format!("first-{n}")));

    let follower = (leader + 1) % 3;
    cluster.hosts[follower].crash();
    cluster.propose(leader, (0..10).map(|n| format!("second-{n}")));
    cluster.hosts[follower].restart();
    for _ in 0..20 {
        cluster.round(50);
    }
    cluster.settle();

    let expected = &cluster.hosts[leader].applied;
    assert_eq!(expected.len(), 30, "the leader applied every proposal");
    for host in &cluster.hosts {
        assert_eq!(&host.applied, expected, "node {} applied the same entries", host.id);
        let status = host.status();
        assert_eq!(status.commit, host.last_applied, "node {} commit index", host.id);
        assert_eq!(status.leader, cluster.hosts[leader].id, "node {} follows the leader", host.id);
    }
    let first = expected.values().next().expect("entries were applied");
    assert_eq!(first, b"first-0");
}
