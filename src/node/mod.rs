//! The Raft state machine of one server and its single input door.

mod apply;
mod election;
mod follower;
mod leader;
mod membership;
mod pre_vote;
mod snapshot;
mod validate;

use alloc::collections::VecDeque;
use alloc::sync::Arc;
use alloc::vec::Vec;

use bytes::Bytes;

use crate::config::Config;
use crate::error::{Error, RestoreError};
use crate::log::Log;
use crate::membership::{Membership, MembershipChange};
use crate::message::{Body, Message};
use crate::output::{Output, Role};
use crate::persist::PersistTracker;
use crate::progress::Progress;
use crate::rng::Rng;
use crate::status::{PeerStatus, Status};
use crate::types::{Entry, HardState, Index, LogId, NodeId, Payload, SnapshotMeta, Term};

/// One input to a node. Every way of driving a node is one of these, so a recorded sequence
/// of inputs (with the points where outputs were drained) replays exactly.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    /// The host's monotonic clock reads `now_ms`. The first tick starts the node's clock.
    Tick {
        /// Milliseconds on the host's monotonic clock.
        now_ms: u64,
    },
    /// A message arrived from another server.
    Receive(Message),
    /// Append application data to the log. Only a leader accepts proposals.
    Propose(Bytes),
    /// Every persist request up to `token` is durable.
    Persisted {
        /// The token of the newest durable request.
        token: u64,
    },
    /// The state machine has applied every entry up to `index`.
    Applied {
        /// The newest applied index.
        index: Index,
    },
    /// Start an election now, without waiting for the election timeout.
    Campaign,
    /// Change the configuration by one server. Only a leader accepts changes.
    ChangeMembership(MembershipChange),
    /// The host took a snapshot of its state machine covering `meta.last`. The node drops
    /// log entries the snapshot covers, keeping `Config::snapshot_trailing_entries` before
    /// it for slow followers.
    SnapshotTaken(SnapshotMeta),
    /// The host finished sending a snapshot that `Output::SendSnapshot` asked for.
    SnapshotSent {
        /// The receiver.
        to: NodeId,
        /// Whether the receiver's host stored the whole snapshot.
        success: bool,
    },
}

/// The state a host persisted, handed back to rebuild a node after a restart.
#[derive(Clone, Debug, Default)]
pub struct RestoreState {
    /// The durable term and vote.
    pub hard_state: HardState,
    /// The latest durable snapshot's description, if any.
    pub snapshot: Option<SnapshotMeta>,
    /// The durable log entries, contiguous. Without a snapshot they start at index 1;
    /// with one, at or before the entry after it (entries the snapshot covers are dropped).
    pub entries: Vec<Entry>,
    /// The configuration in force before the first membership entry of the log when there
    /// is no snapshot: the bootstrap configuration, or empty for a server that joins an
    /// existing cluster.
    pub membership: Membership,
    /// The last index the state machine holds: 0 for an in-memory state machine that starts
    /// empty, or the snapshot's index after restoring it.
    pub applied: Index,
}

/// The configurations in the log, newest last, above the base configuration.
#[derive(Clone, Debug)]
struct ConfigHistory {
    base: Arc<Membership>,
    entries: Vec<(Index, Arc<Membership>)>,
}

impl ConfigHistory {
    fn current(&self) -> &Arc<Membership> {
        self.entries.last().map(|(_, membership)| membership).unwrap_or(&self.base)
    }

    /// Returns the configuration in force before the newest configuration entry, if the log
    /// contains one. A leader appends a configuration only once the one before it committed,
    /// so this one is committed even when this server has not learned so.
    fn before_newest(&self) -> Option<&Arc<Membership>> {
        let count = self.entries.len();
        match count {
            0 => None,
            1 => Some(&self.base),
            _ => Some(&self.entries[count - 2].1),
        }
    }

    /// Returns the newest configuration at or below `index`.
    fn at(&self, index: Index) -> &Arc<Membership> {
        self.entries
            .iter()
            .rev()
            .find(|(at, _)| *at <= index)
            .map(|(_, membership)| membership)
            .unwrap_or(&self.base)
    }

    fn truncate_from(&mut self, index: Index) {
        while self.entries.last().is_some_and(|(at, _)| *at >= index) {
            self.entries.pop();
        }
    }
}

/// A Raft server that does no I/O.
///
/// The host drives it in a loop:
/// 1. feed inputs with [`step`](Node::step) (or the wrappers [`tick`](Node::tick),
///    [`receive`](Node::receive), [`propose`](Node::propose), [`persisted`](Node::persisted));
/// 2. drain [`poll_output`](Node::poll_output) until it returns `None`, carrying out each
///    output in order: send messages, write persist requests and report them with
///    `Input::Persisted`, apply committed entries;
/// 3. sleep until [`next_deadline_ms`](Node::next_deadline_ms) or the next input.
///
/// Outputs are built when they are drained, so several proposals stepped in before a drain
/// share one persist request and one `AppendEntries` per follower.
#[derive(Debug)]
pub struct Node {
    config: Config,
    rng: Rng,
    clock_started: bool,
    now_ms: u64,

    term: Term,
    vote: Option<NodeId>,
    log: Log,
    configs: ConfigHistory,
    /// The latest snapshot taken here or installed from a leader.
    snapshot: Option<SnapshotMeta>,

    role: Role,
    leader: Option<NodeId>,
    commit: Index,
    /// The highest commit index any leader has reported.
    leader_commit_hint: Index,
    apply_emitted: Index,
    applied: Index,

    election_deadline_ms: u64,
    election_reset_pending: bool,
    last_leader_contact_ms: Option<u64>,
    heard_from_leader_since_tick: bool,
    votes: Vec<NodeId>,
    pre_votes: Vec<NodeId>,
    pre_campaigning: bool,
    self_vote_token: Option<u64>,
    voter_last_index: Vec<(NodeId, Index)>,
    progress: Vec<Progress>,
    heartbeat_deadline_ms: u64,
    quorum_check_deadline_ms: u64,

    persist: PersistTracker,
    gated: VecDeque<(u64, Message)>,
    outputs: VecDeque<Output>,
    proposals: VecDeque<LogId>,
    flush_pending: bool,
}

impl Node {
    /// Creates a node with an empty log and the given bootstrap configuration. Pass an empty
    /// configuration for a server that will join an existing cluster as a learner.
    pub fn new(config: Config, membership: Membership) -> Result<Node, Error> {
        Self::restore(config, RestoreState { membership, ..RestoreState::default() })
    }

    /// Rebuilds a node from what its host persisted.
    pub fn restore(config: Config, state: RestoreState) -> Result<Node, Error> {
        config.validate()?;
        validate::check_restore(&state)?;
        validate_restore(&state)?;

        let base = state.snapshot.as_ref().map_or(LogId::default(), |meta| meta.last);
        let base_membership = match &state.snapshot {
            Some(meta) => meta.membership.clone(),
            None => state.membership,
        };
        let mut entries = state.entries;
        entries.retain(|entry| entry.index > base.index);
        let mut configs = ConfigHistory { base: Arc::new(base_membership), entries: Vec::new() };
        for entry in &entries {
            if let Payload::Membership(membership) = &entry.payload {
                configs.entries.push((entry.index, membership.clone()));
            }
        }
        let log = Log::new(base, entries);
        let durable_index = log.last_index();
        let mut node = Node {
            rng: Rng::new(config.seed),
            config,
            clock_started: false,
            now_ms: 0,
            term: state.hard_state.term,
            vote: state.hard_state.vote,
            log,
            configs,
            snapshot: state.snapshot,
            role: Role::Follower,
            leader: None,
            commit: state.applied,
            leader_commit_hint: state.applied,
            apply_emitted: state.applied,
            applied: state.applied,
            election_deadline_ms: 0,
            election_reset_pending: false,
            last_leader_contact_ms: None,
            heard_from_leader_since_tick: false,
            votes: Vec::new(),
            pre_votes: Vec::new(),
            pre_campaigning: false,
            self_vote_token: None,
            voter_last_index: Vec::new(),
            progress: Vec::new(),
            heartbeat_deadline_ms: 0,
            quorum_check_deadline_ms: 0,
            persist: PersistTracker::new(durable_index),
            gated: VecDeque::new(),
            outputs: VecDeque::new(),
            proposals: VecDeque::new(),
            flush_pending: false,
        };
        node.reset_election_timer();
        if node.is_sole_member() {
            node.campaign();
        }
        node.flush_pending = true;
        Ok(node)
    }

    /// Feeds one input. On error the input is rejected and nothing changes, with one
    /// exception: `Error::LeaderNotReady` appends a no-op so that a retry succeeds.
    pub fn step(&mut self, input: Input) -> Result<(), Error> {
        let result = match input {
            Input::Tick { now_ms } => self.handle_tick(now_ms),
            Input::Receive(message) => self.handle_message(message),
            Input::Propose(data) => self.handle_propose(Payload::Data(data)).map(|_| ()),
            Input::Persisted { token } => self.handle_persisted(token),
            Input::Applied { index } => self.handle_applied(index),
            Input::Campaign => self.handle_campaign(),
            Input::ChangeMembership(change) => self.handle_change(change).map(|_| ()),
            Input::SnapshotTaken(meta) => self.handle_snapshot_taken(meta),
            Input::SnapshotSent { to, success } => self.handle_snapshot_sent(to, success),
        };
        self.flush_pending = true;
        result
    }

    /// Advances the clock to `now_ms`.
    pub fn tick(&mut self, now_ms: u64) -> Result<(), Error> {
        self.step(Input::Tick { now_ms })
    }

    /// Handles a message from another server.
    pub fn receive(&mut self, message: Message) -> Result<(), Error> {
        self.step(Input::Receive(message))
    }

    /// Proposes application data and returns the log id it was given. Its end is reported
    /// by an `Output::Proposal` with that id.
    pub fn propose(&mut self, data: Bytes) -> Result<LogId, Error> {
        self.step(Input::Propose(data))?;
        Ok(self.log.last_id())
    }

    /// Requests a configuration change and returns the log id of its entry. Its end is
    /// reported by an `Output::Proposal` with that id, like any proposal.
    pub fn change_membership(&mut self, change: MembershipChange) -> Result<LogId, Error> {
        self.step(Input::ChangeMembership(change))?;
        Ok(self.log.last_id())
    }

    /// Reports that every persist request up to `token` is durable.
    pub fn persisted(&mut self, token: u64) -> Result<(), Error> {
        self.step(Input::Persisted { token })
    }

    /// Returns the next output, or `None` when there is nothing left to do.
    pub fn poll_output(&mut self) -> Option<Output> {
        if self.flush_pending {
            self.flush_pending = false;
            self.flush();
        }
        self.outputs.pop_front()
    }

    /// Returns the time at which the node next needs a tick, or `None` when only inputs from
    /// elsewhere can give it work. A time at or before the last tick means "tick now": the
    /// node has a timer reset or a leader contact to stamp with the current time.
    pub fn next_deadline_ms(&self) -> Option<u64> {
        if !self.clock_started {
            return Some(self.now_ms);
        }
        if self.role == Role::Leader {
            return Some(self.heartbeat_deadline_ms);
        }
        if self.election_reset_pending || self.heard_from_leader_since_tick {
            return Some(self.now_ms);
        }
        let election = self.can_campaign().then_some(self.election_deadline_ms);
        // The leader lease ends by the clock too, and a learner that is never ticked would
        // otherwise ignore vote requests for ever.
        let lease_end = self
            .last_leader_contact_ms
            .filter(|_| self.leader.is_some())
            .map(|contact| contact.saturating_add(self.config.election_timeout_min_ms))
            .filter(|end| *end > self.now_ms);
        match (election, lease_end) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Returns a snapshot of the node's state for monitoring.
    pub fn status(&self) -> Status {
        let peers = self
            .progress
            .iter()
            .map(|progress| PeerStatus {
                id: progress.id,
                match_index: progress.match_index,
                next_index: progress.next_index,
                state: progress.state,
                lag: self.log.last_index().saturating_sub(progress.match_index),
                caught_up_ms: progress
                    .caught_up_since_ms
                    .map(|since| self.now_ms.saturating_sub(since)),
            })
            .collect();
        Status {
            id: self.config.id,
            role: self.role,
            term: self.term,
            vote: self.vote,
            leader: self.leader,
            commit: self.commit,
            applied: self.applied,
            last_log: self.log.last_id(),
            log_entries: self.log.len(),
            durable_index: self.persist.durable_index(),
            membership: (**self.configs.current()).clone(),
            peers,
        }
    }

    /// This node's id.
    pub fn id(&self) -> NodeId {
        self.config.id
    }

    /// The node's current role.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The current term.
    pub fn term(&self) -> Term {
        self.term
    }

    /// The leader this node follows, if known.
    pub fn leader(&self) -> Option<NodeId> {
        self.leader
    }

    /// The commit index.
    pub fn commit_index(&self) -> Index {
        self.commit
    }

    /// The configuration in force: the newest one in the log.
    pub fn membership(&self) -> &Membership {
        self.configs.current()
    }

    /// Returns the log entry at `index`, if the log contains it.
    pub fn entry(&self, index: Index) -> Option<&Entry> {
        self.log.entry(index)
    }

    /// Returns the term of the entry at `index`, or `None` when the node does not hold it
    /// (past the end, or compacted into a snapshot). The snapshot's own last index still returns its term.
    pub fn log_term(&self, index: Index) -> Option<Term> {
        self.log.term_at(index)
    }

    /// The first index the log still contains. A snapshot covers the entries below it.
    pub fn first_log_index(&self) -> Index {
        self.log.first_index()
    }

    /// The latest snapshot taken here or installed from a leader.
    pub fn snapshot(&self) -> Option<&SnapshotMeta> {
        self.snapshot.as_ref()
    }

    /// Returns the description of a snapshot at `index` for `Input::SnapshotTaken`: the
    /// entry's term and the configuration in force there. `None` when the index is not in
    /// the log.
    pub fn snapshot_meta_at(&self, index: Index) -> Option<SnapshotMeta> {
        let term = self.log.term_at(index)?;
        let membership = (**self.configs.at(index)).clone();
        Some(SnapshotMeta { last: LogId::new(term, index), membership })
    }

    /// The id of the last log entry.
    pub fn last_log_id(&self) -> LogId {
        self.log.last_id()
    }

    fn handle_message(&mut self, message: Message) -> Result<(), Error> {
        if message.to != self.config.id {
            return Err(Error::WrongRecipient { to: message.to });
        }
        if message.from == self.config.id {
            return Err(Error::FromSelf);
        }
        validate::check_message(&message)?;
        // Pre-vote traffic never changes this server's term.
        match message.body {
            Body::PreVote { last_log } => {
                self.handle_pre_vote(message.from, message.term, last_log);
                return Ok(());
            }
            Body::PreVoteResponse { granted } => {
                self.handle_pre_vote_response(message.from, message.term, granted);
                return Ok(());
            }
            _ => {}
        }
        if message.term > self.term {
            if matches!(message.body, Body::RequestVote { .. }) && self.in_leader_lease() {
                return Ok(());
            }
            let leader = matches!(message.body, Body::AppendEntries { .. }).then_some(message.from);
            self.become_follower(message.term, leader);
        } else if message.term < self.term {
            self.reply_to_stale(&message);
            return Ok(());
        }

        let from = message.from;
        match message.body {
            Body::RequestVote { last_log } => self.handle_request_vote(from, last_log),
            Body::VoteResponse { granted, last_log_index } => {
                self.handle_vote_response(from, granted, last_log_index)
            }
            Body::AppendEntries { prev, entries, commit } => {
                self.handle_append_entries(from, prev, entries, commit)
            }
            Body::AppendResponse { outcome, last_log_index } => {
                self.handle_append_response(from, outcome, last_log_index)
            }
            Body::InstallSnapshot { meta } => self.handle_install_snapshot(from, *meta),
            Body::PreVote { .. } | Body::PreVoteResponse { .. } => {}
        }
        Ok(())
    }

    fn handle_persisted(&mut self, token: u64) -> Result<(), Error> {
        self.persist.acknowledge(token)?;
        while self.gated.front().is_some_and(|(barrier, _)| *barrier <= token) {
            let (_, message) = self.gated.pop_front().expect("front was just checked");
            // A message from an older term would only be ignored by its receiver.
            if message.term == self.term {
                self.outputs.push_back(Output::Send(message));
            }
        }
        if self.self_vote_token.is_some_and(|barrier| barrier <= token) {
            self.self_vote_token = None;
            self.record_vote(self.config.id, true);
        }
        self.maybe_commit();
        self.maybe_apply();
        Ok(())
    }

    fn handle_applied(&mut self, index: Index) -> Result<(), Error> {
        if index < self.applied || index > self.apply_emitted {
            return Err(Error::AppliedOutOfRange {
                index,
                applied: self.applied,
                handed_out: self.apply_emitted,
            });
        }
        self.applied = index;
        Ok(())
    }

    /// Builds the outputs that are cheaper to make once per drain: appends to followers and
    /// the pending persist request.
    fn flush(&mut self) {
        if self.role == Role::Leader {
            self.broadcast_append();
        }
        let hard_state = HardState { term: self.term, vote: self.vote };
        if let Some(request) = self.persist.flush(hard_state, self.log.last_index()) {
            self.outputs.push_back(Output::Persist(request));
        }
    }

    /// Sends `message` once the state it depends on is durable.
    fn send_after_persist(&mut self, message: Message) {
        match self.persist.barrier() {
            Some(token) => self.gated.push_back((token, message)),
            None => self.outputs.push_back(Output::Send(message)),
        }
    }

    fn send(&mut self, to: NodeId, body: Body) {
        let message = Message { from: self.config.id, to, term: self.term, body };
        self.outputs.push_back(Output::Send(message));
    }

    fn append_to_log(&mut self, entry: Entry) {
        let membership = match &entry.payload {
            Payload::Membership(membership) => Some(membership.clone()),
            _ => None,
        };
        self.persist.append(entry.clone());
        self.log.append(entry);
        if let Some(membership) = membership {
            self.configs.entries.push((self.log.last_index(), membership));
            self.on_membership_changed();
        }
    }

    fn truncate_log(&mut self, index: Index) {
        debug_assert!(index > self.commit, "a committed entry must never be truncated");
        self.log.truncate_from(index);
        self.persist.truncate(index);
        let configs_before = self.configs.entries.len();
        self.configs.truncate_from(index);
        if self.configs.entries.len() != configs_before {
            self.on_membership_changed();
        }
    }

    fn is_member(&self) -> bool {
        self.configs.current().is_member(self.config.id)
    }

    /// Returns true when this server may start elections: it is a member of the newest
    /// configuration, or of the one before it while the newest is not known to be committed.
    /// A server that an uncommitted entry demotes or removes keeps campaigning, because until
    /// that entry commits the previous configuration may need its vote and its log. Votes are
    /// still counted against the newest configuration.
    fn can_campaign(&self) -> bool {
        if self.is_member() {
            return true;
        }
        let newest_uncommitted =
            self.configs.entries.last().is_some_and(|(at, _)| *at > self.commit);
        newest_uncommitted
            && self
                .configs
                .before_newest()
                .is_some_and(|previous| previous.is_member(self.config.id))
    }

    fn is_sole_member(&self) -> bool {
        self.configs.current().members() == [self.config.id]
    }
}

fn validate_restore(state: &RestoreState) -> Result<(), RestoreError> {
    let snapshot = state.snapshot.as_ref().map_or(LogId::default(), |meta| meta.last);
    let first = state.entries.first().map_or(snapshot.index + 1, |entry| entry.index);
    if first > snapshot.index + 1 || (state.snapshot.is_none() && first != 1) {
        return Err(RestoreError::LogStartMismatch { expected: snapshot.index + 1, found: first });
    }

    if state.applied < snapshot.index {
        return Err(RestoreError::AppliedBelowSnapshot {
            applied: state.applied,
            snapshot: snapshot.index,
        });
    }
    if snapshot.term > state.hard_state.term {
        return Err(RestoreError::SnapshotTermAboveHardState { term: snapshot.term });
    }
    if state.hard_state.vote == Some(0) {
        return Err(RestoreError::ZeroVote);
    }

    let mut previous_term = 0;
    for (position, entry) in state.entries.iter().enumerate() {
        let expected = first + position as Index;
        if entry.index != expected {
            return Err(RestoreError::GapInLog { expected, found: entry.index });
        }
        // Entries the snapshot covers are dropped, but the one at its last index must be
        // the same entry, and every entry after it follows it in term.
        let mismatched = entry.index == snapshot.index && entry.term != snapshot.term;
        let before_snapshot = entry.index > snapshot.index && entry.term < snapshot.term;
        if entry.term < previous_term || mismatched || before_snapshot {
            return Err(RestoreError::TermDecreases { index: entry.index });
        }
        if entry.term > state.hard_state.term {
            return Err(RestoreError::EntryTermAboveHardState {
                index: entry.index,
                term: entry.term,
            });
        }
        previous_term = entry.term;
    }

    let last_index = state.entries.last().map_or(snapshot.index, |entry| entry.index);
    let last_index = last_index.max(snapshot.index);
    if state.applied > last_index {
        return Err(RestoreError::AppliedBeyondLog { applied: state.applied, last_index });
    }
    Ok(())
}
