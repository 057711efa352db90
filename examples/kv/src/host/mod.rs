//! The node process: one task owns the Raft node and carries out everything it emits.
//!
//! The task selects over five sources: frames from peers, requests from the HTTP API,
//! durability reports from the log writer thread, finished snapshot writes, and a timer set
//! to the node's next deadline. After each event it drains the node's outputs: messages go
//! to the transport, persist requests to the writer thread, committed entries to the
//! key-value map, and proposal outcomes to the HTTP requests waiting for them.

mod outputs;
mod requests;
mod snapshots;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use bytes::Bytes;
use sansraft::{Config, Index, LogId, Node, NodeId, RestoreState, SnapshotMeta};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use crate::identity::{self, Identity};
use crate::state::{KvState, PeerAddresses};
use crate::storage::{LogOptions, LogWriter, SegmentLog, StorageEvent};
use crate::transport::{self, AddressBook, Inbound, Local, Outbound};
use crate::{http, snapshot};

pub use requests::{NotAccepted, ReadResult, Request, WriteOutcome, WriteResult};

/// Requests from the HTTP API queued before senders wait.
const REQUEST_QUEUE_LEN: usize = 1024;
/// Frames from peers queued before readers wait.
const INBOUND_QUEUE_LEN: usize = 4096;
/// How often a node started by the demo checks that the demo is still running.
const PARENT_CHECK_INTERVAL: Duration = Duration::from_millis(250);

/// Everything a node needs to start.
#[derive(Clone, Debug)]
pub struct NodeOptions {
    /// The Raft settings; `raft.id` is the node's id.
    pub raft: Config,
    /// The cluster name, checked against the data directory and every peer.
    pub cluster_id: String,
    /// This node's addresses.
    pub addresses: PeerAddresses,
    /// Peers given on the command line.
    pub peers: HashMap<NodeId, PeerAddresses>,
    /// Start with an empty configuration and wait to be added.
    pub join: bool,
    /// The data directory.
    pub data_dir: PathBuf,
    /// Take a snapshot after this many applied entries; 0 never takes one.
    pub snapshot_every: u64,
    /// The largest value accepted by `PUT`, in bytes.
    pub max_value_bytes: usize,
    /// Segment file size in bytes at which the log starts a new segment.
    pub segment_bytes: u64,
    /// Stop when the parent process exits.
    pub exit_with_parent: bool,
}

/// Runs a node until it receives SIGINT or SIGTERM, or fails. Logs why it failed.
pub async fn run(options: NodeOptions) -> anyhow::Result<()> {
    let id = options.raft.id;
    let exit_with_parent = options.exit_with_parent;
    let (mut host, channels) = match start(options).await {
        Ok(started) => started,
        Err(error) => {
            tracing::error!(node = id, error = %format!("{error:#}"), "node failed to start");
            return Err(error);
        }
    };

    let result = host.run_loop(channels, shutdown_signal(exit_with_parent)).await;
    if let Some(writer) = host.writer.take() {
        writer.shutdown();
    }
    match &result {
        Ok(()) => tracing::info!(node = id, "node stopped"),
        Err(error) => {
            tracing::error!(node = id, error = %format!("{error:#}"), "node stopped after an error")
        }
    }
    result
}

/// The state a node recovered from its data directory.
struct Recovery {
    log: SegmentLog,
    restore: RestoreState,
    state: KvState,
    latest_snapshot: Option<(SnapshotMeta, Bytes)>,
}

/// Checks the data directory's identity and rebuilds the log, the latest snapshot and the
/// key-value map from it.
fn recover(options: &NodeOptions) -> anyhow::Result<Recovery> {
    let id = options.raft.id;
    let mut bootstrap_members: Vec<NodeId> = Vec::new();
    if !options.join {
        bootstrap_members = options.peers.keys().copied().chain([id]).collect();
        bootstrap_members.sort_unstable();
    }
    let expected =
        Identity { node_id: id, cluster_id: options.cluster_id.clone(), bootstrap_members };
    let identity = identity::check_or_create(&options.data_dir, &expected)?;

    let log_dir = options.data_dir.join("log");
    let snapshot_dir = options.data_dir.join("snapshots");
    let log_options = LogOptions { segment_bytes: options.segment_bytes };
    let (log, recovered) = SegmentLog::open(&log_dir, log_options)?;
    if let Some(torn) = &recovered.torn_tail {
        tracing::warn!(
            node = id,
            file = %torn.path.display(),
            offset = torn.offset,
            dropped_bytes = torn.dropped_bytes,
            reason = %torn.reason,
            "cut off a torn record at the end of the log; it was never acknowledged, so \
             nothing committed is lost"
        );
    }

    snapshot::remove_all_except(&snapshot_dir, recovered.snapshot.as_ref())?;
    let (state, latest_snapshot) = match &recovered.snapshot {
        Some(meta) => {
            let (data, state) =
                snapshot::load_file(&snapshot_dir, meta).map_err(anyhow::Error::msg)?;
            (state, Some((meta.clone(), data)))
        }
        None => (KvState::default(), None),
    };
    let applied = recovered.snapshot.as_ref().map_or(0, |meta| meta.last.index);
    tracing::info!(
        node = id,
        term = recovered.hard_state.term,
        snapshot_index = applied,
        entries = recovered.entries.len(),
        keys = state.len(),
        "recovered the log"
    );

    let restore = RestoreState {
        hard_state: recovered.hard_state,
        snapshot: recovered.snapshot,
        entries: recovered.entries,
        membership: identity.bootstrap_membership()?,
        applied,
    };
    Ok(Recovery { log, restore, state, latest_snapshot })
}

/// Recovers the node, opens its listeners and starts the writer thread, the transport and
/// the HTTP server. Returns the host, ready to run its loop.
async fn start(options: NodeOptions) -> anyhow::Result<(Host, Channels)> {
    let id = options.raft.id;
    let Recovery { log, restore, state, latest_snapshot } = recover(&options)?;
    let applied = restore.applied;
    let node = Node::restore(options.raft.clone(), restore)
        .map_err(|error| anyhow::anyhow!("cannot rebuild node {id} from its log: {error}"))?;

    let raft_listener = TcpListener::bind(&options.addresses.raft_addr)
        .await
        .with_context(|| format!("cannot listen on --raft-addr {}", options.addresses.raft_addr))?;
    let http_listener = TcpListener::bind(&options.addresses.http_addr)
        .await
        .with_context(|| format!("cannot listen on --http-addr {}", options.addresses.http_addr))?;

    let snapshot_dir = options.data_dir.join("snapshots");
    let (storage_sender, storage_events) = mpsc::unbounded_channel();
    let writer = LogWriter::spawn(log, snapshot_dir.clone(), storage_sender)
        .context("cannot start the log writer thread")?;
    let book = Arc::new(AddressBook::new(options.peers.clone()));
    book.set_replicated(state.peers());
    let local = Arc::new(Local {
        cluster_id: options.cluster_id.clone(),
        id,
        addresses: options.addresses.clone(),
        book: book.clone(),
    });
    let (inbound_sender, inbound) = mpsc::channel(INBOUND_QUEUE_LEN);
    let (request_sender, requests) = mpsc::channel(REQUEST_QUEUE_LEN);
    let (internal_sender, internal) = mpsc::unbounded_channel();
    tokio::spawn(transport::serve(raft_listener, local.clone(), inbound_sender.clone()));
    let api = http::Api::new(id, request_sender, options.max_value_bytes);
    tokio::spawn(http::serve(http_listener, api));

    tracing::info!(
        node = id,
        cluster = %options.cluster_id,
        raft_addr = %options.addresses.raft_addr,
        http_addr = %options.addresses.http_addr,
        data_dir = %options.data_dir.display(),
        "node started"
    );
    let host = Host {
        id,
        node,
        clock: Instant::now(),
        state,
        writer: Some(writer),
        outbound: Outbound::new(local, inbound_sender),
        book,
        addresses: options.addresses.clone(),
        snapshot_dir,
        snapshot_every: options.snapshot_every,
        latest_snapshot,
        received_snapshot: None,
        snapshot_in_progress: false,
        last_snapshot_index: applied,
        applied,
        reported_applied: applied,
        waiting: HashMap::new(),
        deferred: Vec::new(),
        counters: Counters::default(),
        internal: internal_sender,
        registered_term: None,
    };
    let channels = Channels { storage_events, inbound, requests, internal };
    Ok((host, channels))
}

/// Completes when the process is asked to stop, or when its parent exits if `with_parent`.
async fn shutdown_signal(with_parent: bool) -> &'static str {
    let parent_gone = async move {
        if !with_parent {
            return std::future::pending().await;
        }
        let parent = std::os::unix::process::parent_id();
        loop {
            tokio::time::sleep(PARENT_CHECK_INTERVAL).await;
            if std::os::unix::process::parent_id() != parent {
                return;
            }
        }
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => "SIGINT",
        _ = terminate => "SIGTERM",
        _ = parent_gone => "the parent process exited",
    }
}

/// Results of work the host started off its own task.
enum Internal {
    /// A snapshot of this node's own state was written (or failed to be).
    SnapshotWritten { meta: SnapshotMeta, data: Bytes, keys: usize, result: Result<(), String> },
    /// A snapshot received from the leader was written (or failed to be).
    ReceivedSnapshotStored {
        message: sansraft::Message,
        meta: SnapshotMeta,
        data: Bytes,
        state: KvState,
        stored: oneshot::Sender<bool>,
        result: Result<(), String>,
    },
}

struct Channels {
    storage_events: mpsc::UnboundedReceiver<StorageEvent>,
    inbound: mpsc::Receiver<Inbound>,
    requests: mpsc::Receiver<Request>,
    internal: mpsc::UnboundedReceiver<Internal>,
}

#[derive(Clone, Copy, Debug, Default)]
struct Counters {
    snapshots_taken: u64,
    snapshots_installed: u64,
    snapshots_sent: u64,
}

/// A snapshot received from the leader, stored, and about to be handed to the node.
struct ReceivedSnapshot {
    meta: SnapshotMeta,
    data: Bytes,
    state: KvState,
}

struct Host {
    id: NodeId,
    node: Node,
    /// The monotonic clock's zero: the node's clock counts milliseconds since then.
    clock: Instant,
    state: KvState,
    writer: Option<LogWriter>,
    outbound: Outbound,
    book: Arc<AddressBook>,
    addresses: PeerAddresses,
    snapshot_dir: PathBuf,
    snapshot_every: u64,
    /// The data of the node's latest snapshot, sent to followers that need it.
    latest_snapshot: Option<(SnapshotMeta, Bytes)>,
    received_snapshot: Option<ReceivedSnapshot>,
    snapshot_in_progress: bool,
    last_snapshot_index: Index,
    /// The last index applied to `state`.
    applied: Index,
    /// The last applied index reported to the node.
    reported_applied: Index,
    /// Requests waiting for the outcome of the proposal with this id.
    waiting: HashMap<LogId, oneshot::Sender<WriteResult>>,
    /// Inputs found while draining outputs, stepped after the drain.
    deferred: Vec<sansraft::Input>,
    counters: Counters,
    internal: mpsc::UnboundedSender<Internal>,
    /// The term in which this node, as leader, last registered peer addresses.
    registered_term: Option<u64>,
}

impl Host {
    fn now_ms(&self) -> u64 {
        u64::try_from(self.clock.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    async fn run_loop(
        &mut self,
        mut channels: Channels,
        shutdown: impl std::future::Future<Output = &'static str>,
    ) -> anyhow::Result<()> {
        tokio::pin!(shutdown);
        loop {
            self.tick_if_due();
            self.drain()?;
            let wake_at = self.wake_at();
            tokio::select! {
                Some(event) = channels.storage_events.recv() => self.handle_storage(event)?,
                Some(inbound) = channels.inbound.recv() => self.handle_inbound(inbound),
                Some(request) = channels.requests.recv() => self.handle_request(request),
                Some(internal) = channels.internal.recv() => self.handle_internal(internal),
                _ = tokio::time::sleep_until(wake_at) => {}
                reason = &mut shutdown => {
                    tracing::info!(node = self.id, reason, "node stopping");
                    return Ok(());
                }
            }
        }
    }

    /// Returns when to wake for the node's next deadline. `tick_if_due` already handled a
    /// deadline that has passed. Waking no sooner than a millisecond later keeps a node that
    /// requests another tick at once from spinning.
    fn wake_at(&self) -> Instant {
        let now = Instant::now();
        match self.node.next_deadline_ms() {
            Some(deadline) => {
                let at = self.clock + Duration::from_millis(deadline);
                at.max(now + Duration::from_millis(1))
            }
            None => now + Duration::from_secs(3600),
        }
    }

    fn tick_if_due(&mut self) {
        let now = self.now_ms();
        if self.node.next_deadline_ms().is_some_and(|deadline| deadline <= now) {
            if let Err(error) = self.node.tick(now) {
                tracing::error!(node = self.id, %error, "the node rejected a tick");
            }
        }
    }

    fn handle_storage(&mut self, event: StorageEvent) -> anyhow::Result<()> {
        match event {
            StorageEvent::Durable { token, requests } => {
                tracing::trace!(node = self.id, token, requests, "persisted");
                if let Err(error) = self.node.persisted(token) {
                    tracing::error!(
                        node = self.id,
                        token,
                        %error,
                        "the node rejected a persisted token"
                    );
                }
                Ok(())
            }
            StorageEvent::Failed(error) => {
                self.writer = None;
                Err(anyhow::Error::new(error)
                    .context("the log writer failed; the node cannot make anything durable"))
            }
        }
    }

    fn handle_inbound(&mut self, inbound: Inbound) {
        match inbound {
            Inbound::Message(message) => {
                let (from, kind) = (message.from, message.body.kind());
                if let Err(error) = self.node.receive(message) {
                    tracing::warn!(
                        node = self.id,
                        from,
                        kind,
                        %error,
                        "the node rejected a message"
                    );
                }
            }
            Inbound::Snapshot { message, data, stored } => {
                self.store_received_snapshot(message, data, stored)
            }
            Inbound::SnapshotSent { to, result } => {
                let success = result.is_ok();
                match result {
                    Ok(()) => {
                        self.counters.snapshots_sent += 1;
                        tracing::info!(node = self.id, peer = to, "peer stored the snapshot");
                    }
                    Err(error) => tracing::warn!(
                        node = self.id,
                        peer = to,
                        %error,
                        "sending a snapshot failed; the leader retries"
                    ),
                }
                let input = sansraft::Input::SnapshotSent { to, success };
                if let Err(error) = self.node.step(input) {
                    tracing::debug!(node = self.id, peer = to, %error, "snapshot report ignored");
                }
            }
        }
    }

    fn handle_internal(&mut self, internal: Internal) {
        match internal {
            Internal::SnapshotWritten { meta, data, keys, result } => {
                self.finish_own_snapshot(meta, data, keys, result)
            }
            Internal::ReceivedSnapshotStored { message, meta, data, state, stored, result } => {
                self.install_received_snapshot(message, meta, data, state, stored, result)
            }
        }
    }
}
