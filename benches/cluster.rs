//! Cluster throughput benchmark.
//!
//! Drives an in-memory cluster of sansraft nodes from one thread in id-ordered rounds. The
//! workload is the one that the raft-rs baseline runs, described in BENCHMARKS.md. The
//! program prints one line of `key=value` results: committed entries per second, messages
//! per entry, memory kept per entry and heap allocations per entry.
//!
//! A node's turn steps every message in its inbox, then drains its outputs until none are
//! left: messages go to an outbox, persist requests are written to an in-memory log and
//! acknowledged at once, and committed entries go to a checking state machine. After the
//! turn the outbox is routed, so a node later in the round handles the messages in the same
//! round and an earlier node handles them in the next one.
//!
//! `cargo bench --bench cluster -- --help` lists the options.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use sansraft::{
    codec, Body, Config, Entry, HardState, Index, Input, Membership, Message, Node, NodeId, Output,
    Payload, PersistRequest, ProposalOutcome, Role, Term,
};

/// The system allocator, counting every allocation and reallocation made by this thread.
struct CountingAllocator;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

fn count_allocation() {
    // `try_with` fails only while the thread is being torn down, so those calls go uncounted.
    let _ = ALLOCATIONS.try_with(|count| count.set(count.get() + 1));
}

fn allocation_count() -> u64 {
    ALLOCATIONS.with(Cell::get)
}

// SAFETY: every call is forwarded unchanged to `System`, which upholds the `GlobalAlloc`
// contract. The counter is a const-initialized thread local without a destructor, so
// touching it never allocates or reenters the allocator.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count_allocation();
        System.alloc(layout)
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count_allocation();
        System.alloc_zeroed(layout)
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count_allocation();
        System.realloc(ptr, layout, new_size)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
}

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

const USAGE: &str = "\
usage: cargo bench --bench cluster -- [OPTIONS]

Runs an in-memory sansraft cluster in one thread: node 1 is elected, then it commits
--entries proposals while every node applies them. Prints one line of key=value results.

options:
  --nodes COUNT      voting nodes in the cluster, ids 1..COUNT (default 3)
  --entries COUNT    proposals in the timed phase (default 200000 under `cargo bench`,
                     2000 when started without --bench, as `cargo test --benches` does)
  --payload BYTES    payload size of each proposal in bytes, at least 8 (default 128)
  --batch COUNT      proposals made on the leader before each round (default 1)
  --mode MODE        pipelined: propose a batch every round; lockstep: run rounds until
                     every node has applied the batch before proposing the next one
                     (default pipelined)
  --wire             encode every message to bytes and decode a new copy before
                     delivery (default: move messages in memory)
  --bench            set by `cargo bench`; selects the full default entry count
  -h, --help         print this text and exit";

/// The pacing of proposals.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// Propose a batch every round without waiting for earlier batches.
    Pipelined,
    /// Propose a batch, then run rounds until every node has applied it.
    Lockstep,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::Pipelined => "pipelined",
            Mode::Lockstep => "lockstep",
        }
    }
}

/// Command-line options.
#[derive(Clone, Debug)]
struct Options {
    nodes: u64,
    entries: u64,
    payload_bytes: usize,
    batch: u64,
    mode: Mode,
    wire: bool,
}

impl Options {
    /// Parses the arguments after the program name. Returns `Ok(None)` for `--help`.
    fn parse(args: impl IntoIterator<Item = String>) -> Result<Option<Options>, String> {
        let mut options = Options {
            nodes: 3,
            entries: 0,
            payload_bytes: 128,
            batch: 1,
            mode: Mode::Pipelined,
            wire: false,
        };
        let mut entries = None;
        let mut under_cargo_bench = false;
        let mut args = args.into_iter();
        while let Some(flag) = args.next() {
            match flag.as_str() {
                "-h" | "--help" => return Ok(None),
                "--bench" => under_cargo_bench = true,
                "--wire" => options.wire = true,
                "--nodes" => options.nodes = parse_number(&flag, args.next())?,
                "--entries" => entries = Some(parse_number(&flag, args.next())?),
                "--payload" => options.payload_bytes = parse_number(&flag, args.next())?,
                "--batch" => options.batch = parse_number(&flag, args.next())?,
                "--mode" => options.mode = parse_mode(args.next())?,
                _ => return Err(format!("unknown option {flag:?}")),
            }
        }
        let default_entries = if under_cargo_bench { 200_000 } else { 2_000 };
        options.entries = entries.unwrap_or(default_entries);
        options.validate()?;
        Ok(Some(options))
    }

    fn validate(&self) -> Result<(), String> {
        if self.nodes == 0 {
            return Err("--nodes must be at least 1".into());
        }
        if self.entries == 0 {
            return Err("--entries must be at least 1".into());
        }
        if self.batch == 0 {
            return Err("--batch must be at least 1".into());
        }
        if self.payload_bytes < 8 {
            return Err(format!(
                "--payload {} is too small; it must be at least 8 bytes to hold the sequence \
                 number",
                self.payload_bytes
            ));
        }
        Ok(())
    }
}

fn parse_number<T: std::str::FromStr>(flag: &str, value: Option<String>) -> Result<T, String> {
    let value = value.ok_or_else(|| format!("{flag} is missing its value"))?;
    value
        .replace('_', "")
        .parse()
        .map_err(|_| format!("{flag} expects a non-negative integer, got {value:?}"))
}

fn parse_mode(value: Option<String>) -> Result<Mode, String> {
    match value.as_deref() {
        Some("pipelined") => Ok(Mode::Pipelined),
        Some("lockstep") => Ok(Mode::Lockstep),
        Some(other) => Err(format!("--mode expects pipelined or lockstep, got {other:?}")),
        None => Err("--mode is missing its value".into()),
    }
}

/// Counters of how the work was done, reset when the timed phase starts.
#[derive(Clone, Debug, Default)]
struct Stats {
    rounds: u64,
    messages: u64,
    /// `AppendEntries` messages that carry at least one entry.
    appends: u64,
    /// Entries carried by those messages.
    append_entries: u64,
    persists: u64,
    wire_bytes: u64,
}

/// The host's stand-in for a disk: the hard state and every persisted log entry, in memory.
#[derive(Debug, Default)]
struct MemoryStorage {
    hard_state: HardState,
    entries: Vec<Entry>,
}

impl MemoryStorage {
    fn write(&mut self, request: PersistRequest) {
        // The harness never reports a snapshot, so the node never compacts its log.
        assert!(request.snapshot.is_none(), "unexpected snapshot in a persist request");
        assert!(request.compact_through.is_none(), "unexpected log compaction");
        if let Some(hard_state) = request.hard_state {
            self.hard_state = hard_state;
        }
        if let Some(from) = request.truncate_from {
            // Index 1 is stored at position 0.
            let keep = usize::try_from(from.saturating_sub(1)).expect("index fits in usize");
            self.entries.truncate(keep);
        }
        for entry in request.entries {
            let expected = self.entries.len() as Index + 1;
            assert_eq!(entry.index, expected, "persisted entries must be contiguous");
            self.entries.push(entry);
        }
    }
}

/// The state machine: checks that entries arrive in index order and that payloads arrive in
/// proposal order, and counts them.
#[derive(Debug, Default)]
struct StateMachine {
    last_index: Index,
    payloads: u64,
    payload_bytes: u64,
}

impl StateMachine {
    fn apply(&mut self, entry: Entry) {
        assert_eq!(entry.index, self.last_index + 1, "applied entries must be contiguous");
        self.last_index = entry.index;
        let Payload::Data(data) = entry.payload else {
            return;
        };
        let sequence = u64::from_le_bytes(data[..8].try_into().expect("payloads have 8 bytes"));
        assert_eq!(sequence, self.payloads, "payloads must be applied in proposal order");
        self.payloads += 1;
        self.payload_bytes += data.len() as u64;
    }
}

/// One node with what its host keeps beside it.
struct Host {
    node: Node,
    inbox: Vec<Message>,
    storage: MemoryStorage,
    state_machine: StateMachine,
    /// The applied index last reported to the node with `Input::Applied`.
    reported_applied: Index,
    committed_proposals: u64,
}

impl Host {
    fn new(id: NodeId, membership: Membership) -> Host {
        let node = Node::new(Config::new(id), membership).expect("the default config is valid");
        Host {
            node,
            inbox: Vec::new(),
            storage: MemoryStorage::default(),
            state_machine: StateMachine::default(),
            reported_applied: 0,
            committed_proposals: 0,
        }
    }

    /// Steps every message in the inbox, oldest first, then drains outputs until none are
    /// left. Returns true when the node received a message or emitted an output.
    fn take_turn(&mut self, outbox: &mut Vec<Message>, stats: &mut Stats) -> bool {
        let received = !self.inbox.is_empty();
        for message in self.inbox.drain(..) {
            self.node.receive(message).expect("the cluster sends only valid messages");
        }
        let emitted = self.drain_outputs(outbox, stats);
        received || emitted
    }

    fn drain_outputs(&mut self, outbox: &mut Vec<Message>, stats: &mut Stats) -> bool {
        let mut emitted = false;
        loop {
            while let Some(output) = self.node.poll_output() {
                emitted = true;
                self.carry_out(output, outbox, stats);
            }

            // Tell the node what the state machine applied, once per drain, as raft-rs hosts
            // do with `advance_apply`. The step may schedule more output, so drain again.
            let applied = self.state_machine.last_index;
            if applied == self.reported_applied {
                return emitted;
            }
            self.node.step(Input::Applied { index: applied }).expect("applied was handed out");
            self.reported_applied = applied;
        }
    }

    fn carry_out(&mut self, output: Output, outbox: &mut Vec<Message>, stats: &mut Stats) {
        match output {
            Output::Send(message) => outbox.push(message),
            Output::Persist(request) => {
                stats.persists += 1;
                let token = request.token;
                self.storage.write(request);
                self.node.persisted(token).expect("tokens are acknowledged in order");
            }
            Output::Apply(entry) => self.state_machine.apply(entry),
            Output::Proposal { id, outcome } => {
                assert_eq!(outcome, ProposalOutcome::Committed, "proposal {id:?} was lost");
                self.committed_proposals += 1;
            }
            Output::SendSnapshot(_) | Output::RestoreSnapshot(_) => {
                panic!("no node falls behind a snapshot in this workload")
            }
            // Role, leader and membership notifications need no action in this cluster.
            _ => {}
        }
    }
}

/// Every node of the cluster and the in-memory network between them.
struct Cluster {
    hosts: Vec<Host>,
    wire: bool,
    /// Messages emitted during the current turn, routed when it ends.
    outbox: Vec<Message>,
    stats: Stats,
}

impl Cluster {
    fn new(nodes: u64, wire: bool) -> Cluster {
        let membership = Membership::with_members(1..=nodes).expect("ids 1..=nodes are valid");
        let hosts = (1..=nodes).map(|id| Host::new(id, membership.clone())).collect();
        Cluster { hosts, wire, outbox: Vec::new(), stats: Stats::default() }
    }

    /// Runs one round: every node takes its turn in id order, and its messages are routed
    /// right after its turn. Returns true when any node received or emitted something.
    fn round(&mut self) -> bool {
        self.stats.rounds += 1;
        let mut active = false;
        for at in 0..self.hosts.len() {
            active |= self.hosts[at].take_turn(&mut self.outbox, &mut self.stats);
            self.route();
        }
        active
    }

    fn route(&mut self) {
        for message in self.outbox.drain(..) {
            self.stats.messages += 1;
            if let Body::AppendEntries { entries, .. } = &message.body {
                if !entries.is_empty() {
                    self.stats.appends += 1;
                    self.stats.append_entries += entries.len() as u64;
                }
            }
            let message =
                if self.wire { transcode(&message, &mut self.stats.wire_bytes) } else { message };
            let at = usize::try_from(message.to - 1).expect("node ids fit in usize");
            self.hosts[at].inbox.push(message);
        }
    }

    fn all_applied(&self, index: Index) -> bool {
        self.hosts.iter().all(|host| host.state_machine.last_index >= index)
    }

    /// Makes node 1 campaign and runs rounds until it leads, every node has applied the
    /// leader's log, and one round passes with no activity. Returns the leader's last log
    /// index and its term.
    fn elect(&mut self) -> (Index, Term) {
        let candidate = &mut self.hosts[0].node;
        candidate.step(Input::Campaign).expect("node 1 is a voting member");
        for _ in 0..1_000 {
            let active = self.round();
            let leader = &self.hosts[0].node;
            if leader.role() != Role::Leader || active {
                continue;
            }
            let last_index = leader.last_log_id().index;
            if self.all_applied(last_index) {
                return (last_index, leader.term());
            }
        }
        panic!("node 1 was not elected within 1000 rounds");
    }

    fn propose(&mut self, sequence: u64, payload_bytes: usize) {
        let data = make_payload(sequence, payload_bytes);
        self.hosts[0].node.propose(data).expect("node 1 leads for the whole run");
    }
}

/// Encodes `message` into a new buffer and decodes a new message from it, so the receiver
/// gets its own copy of every payload. Adds the encoded length to `wire_bytes`.
fn transcode(message: &Message, wire_bytes: &mut u64) -> Message {
    let mut buffer = BytesMut::with_capacity(codec::encoded_message_len(message));
    codec::encode_message(message, &mut buffer);
    *wire_bytes += buffer.len() as u64;
    codec::decode_exact(buffer.freeze(), codec::decode_message)
        .expect("a message that was just encoded decodes")
}

/// Returns the payload of proposal `sequence`: the sequence number as little-endian `u64` in
/// the first 8 bytes, then the low byte of the sequence number, in a freshly allocated buffer.
fn make_payload(sequence: u64, size: usize) -> Bytes {
    let mut data = vec![sequence as u8; size];
    data[..8].copy_from_slice(&sequence.to_le_bytes());
    Bytes::from(data)
}

/// Returns a `kB` field of `/proc/self/status`, or 0 where it cannot be read.
fn proc_status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix(field))
        .and_then(|rest| rest.trim_start_matches(':').split_whitespace().next())
        .and_then(|value| value.parse().ok())
        .unwrap_or(0)
}

/// Measurements of the timed phase.
struct Measurement {
    elapsed: Duration,
    allocations: u64,
    rss_before_kib: u64,
    rss_after_kib: u64,
}

/// Proposes `options.entries` payloads on node 1 and runs rounds until every node has
/// applied them all. Only this phase is timed and has its allocations counted. It is never
/// inlined so that a profiler can collect this phase alone (callgrind's `--toggle-collect`).
#[inline(never)]
fn run_timed(cluster: &mut Cluster, options: &Options, base: Index) -> Measurement {
    let rss_before_kib = proc_status_kib("VmRSS");
    let allocations_before = allocation_count();
    let start = Instant::now();

    let target = base + options.entries;
    let mut proposed = 0;
    while proposed < options.entries || !cluster.all_applied(target) {
        let count = options.batch.min(options.entries - proposed);
        for _ in 0..count {
            cluster.propose(proposed, options.payload_bytes);
            proposed += 1;
        }
        match options.mode {
            Mode::Pipelined => {
                let active = cluster.round();
                assert!(active || count > 0, "the cluster stalled before applying everything");
            }
            Mode::Lockstep => {
                while !cluster.all_applied(base + proposed) {
                    assert!(cluster.round(), "the cluster stalled before applying the batch");
                }
            }
        }
    }

    let elapsed = start.elapsed();
    let allocations = allocation_count() - allocations_before;
    let rss_after_kib = proc_status_kib("VmRSS");
    Measurement { elapsed, allocations, rss_before_kib, rss_after_kib }
}

/// Checks on every node that all payloads were applied, and that node 1 still leads in the
/// term it was elected in.
fn check_outcome(cluster: &Cluster, options: &Options, target: Index, term: Term) {
    for host in &cluster.hosts {
        let id = host.node.id();
        let applied = &host.state_machine;
        assert_eq!(applied.payloads, options.entries, "payload count on node {id}");
        let bytes = options.entries * options.payload_bytes as u64;
        assert_eq!(applied.payload_bytes, bytes, "payload bytes on node {id}");
        assert_eq!(applied.last_index, target, "last applied index on node {id}");
        assert_eq!(host.storage.entries.len() as Index, target, "persisted entries on node {id}");
    }
    let leader = &cluster.hosts[0];
    assert_eq!(leader.node.role(), Role::Leader, "node 1 lost leadership");
    assert_eq!(leader.node.term(), term, "node 1's term changed during the run");
    assert_eq!(leader.storage.hard_state.term, term, "node 1's persisted term");
    assert_eq!(leader.committed_proposals, options.entries, "committed proposals on node 1");
}

fn report(options: &Options, stats: &Stats, measurement: &Measurement) -> String {
    let entries = options.entries as f64;
    let seconds = measurement.elapsed.as_secs_f64();
    let payload_total = (options.entries * options.payload_bytes as u64) as f64;
    let grown_kib = measurement.rss_after_kib.saturating_sub(measurement.rss_before_kib);
    let retained_per_entry = (grown_kib * 1024) as f64 / entries;
    let fields = [
        ("core", "sansraft".to_string()),
        ("nodes", options.nodes.to_string()),
        ("payload", options.payload_bytes.to_string()),
        ("batch", options.batch.to_string()),
        ("mode", options.mode.name().to_string()),
        ("wire", options.wire.to_string()),
        ("entries", options.entries.to_string()),
        ("elapsed_s", format!("{seconds:.4}")),
        ("entries_per_s", format!("{:.0}", entries / seconds)),
        ("ns_per_entry", format!("{:.1}", seconds * 1e9 / entries)),
        ("MB_per_s", format!("{:.1}", payload_total / seconds / 1e6)),
        ("rounds", stats.rounds.to_string()),
        ("persists", stats.persists.to_string()),
        ("msgs", stats.messages.to_string()),
        ("msgs_per_entry", format!("{:.2}", stats.messages as f64 / entries)),
        ("appends", stats.appends.to_string()),
        ("entries_per_append", format!("{:.2}", ratio(stats.append_entries, stats.appends))),
        ("wire_bytes", stats.wire_bytes.to_string()),
        ("rss_before_kib", measurement.rss_before_kib.to_string()),
        ("rss_after_kib", measurement.rss_after_kib.to_string()),
        ("vm_hwm_kib", proc_status_kib("VmHWM").to_string()),
        ("retained_bytes_per_entry", format!("{retained_per_entry:.0}")),
        (
            "retained_bytes_per_entry_per_node",
            format!("{:.0}", retained_per_entry / options.nodes as f64),
        ),
        ("allocs", measurement.allocations.to_string()),
        ("allocs_per_entry", format!("{:.2}", measurement.allocations as f64 / entries)),
    ];
    let pairs: Vec<String> = fields.iter().map(|(key, value)| format!("{key}={value}")).collect();
    pairs.join(" ")
}

fn ratio(numerator: u64, denominator: u64) -> f64 {
    numerator as f64 / denominator.max(1) as f64
}

fn main() -> ExitCode {
    let options = match Options::parse(std::env::args().skip(1)) {
        Ok(Some(options)) => options,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("error: {message}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };

    let mut cluster = Cluster::new(options.nodes, options.wire);
    let (base, term) = cluster.elect();
    cluster.stats = Stats::default();
    let measurement = run_timed(&mut cluster, &options, base);
    check_outcome(&cluster, &options, base + options.entries, term);
    println!("{}", report(&options, &cluster.stats, &measurement));
    ExitCode::SUCCESS
}
