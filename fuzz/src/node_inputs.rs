//! One node driven by an arbitrary sequence of inputs, with a host that writes persist
//! requests only when the fuzzer reports a write finished.
//!
//! The node must never panic. After every drain its outputs must keep the persistence
//! contract against what is durable at that moment (see [`check_send_contract`]), the durable
//! state must stay one that `Node::restore` accepts, committed entries must be applied once
//! and in order, and every proposal must end at most once.

use std::borrow::Borrow;
use std::collections::{BTreeMap, BTreeSet, VecDeque};

use arbitrary::{Arbitrary, Unstructured};
use bytes::Bytes;
use sansraft::codec::{decode_exact, decode_message, encode_message};
use sansraft::{
    AppendOutcome, Body, Config, Entry, Error, Index, Input, Learner, LogId, Membership,
    MembershipChange, Message, Node, NodeId, Output, Payload, PersistRequest, ProposalOutcome,
    Role, SnapshotMeta, SnapshotProblem, Term, MAX_TERM_OR_INDEX,
};

use crate::host::{check_addressing, check_send_contract, Durable};

/// The maximum number of inputs one run feeds, so that a long fuzz input cannot make a run slow.
const MAX_STEPS: usize = 400;

/// The maximum number of entries in one built `AppendEntries`.
const MAX_BUILT_ENTRIES: usize = 6;

/// The cluster the node starts in.
#[derive(Arbitrary, Clone, Copy, Debug)]
pub enum Setup {
    /// Node 1 of members 1, 2 and 3.
    ThreeMembers,
    /// Node 1 as the only member: it elects itself at once.
    Alone,
    /// Node 3 of members 1 to 5.
    FiveMembers,
    /// Node 1 of members 1, 2 and 3, with a pending learner 4 and a learner 5.
    WithLearners,
    /// Node 4 as the pending learner of the configuration above.
    AsLearner,
    /// Node 4 with an empty configuration, waiting to be added.
    Joining,
}

impl Setup {
    fn node_id(self) -> NodeId {
        match self {
            Setup::ThreeMembers | Setup::Alone | Setup::WithLearners => 1,
            Setup::FiveMembers => 3,
            Setup::AsLearner | Setup::Joining => 4,
        }
    }

    fn membership(self) -> Membership {
        let learners = [Learner { id: 4, pending: true }, Learner { id: 5, pending: false }];
        let membership = match self {
            Setup::ThreeMembers => Membership::with_members([1, 2, 3]),
            Setup::Alone => Membership::with_members([1]),
            Setup::FiveMembers => Membership::with_members([1, 2, 3, 4, 5]),
            Setup::WithLearners | Setup::AsLearner => Membership::new([1, 2, 3], learners),
            Setup::Joining => Ok(Membership::default()),
        };
        membership.expect("the setups list valid configurations")
    }
}

/// Node settings small enough that batching, flow control, snapshots and promotion all
/// come into play within a short input.
#[derive(Arbitrary, Clone, Copy, Debug)]
pub struct Tuning {
    seed: u64,
    max_append_entries: u8,
    max_inflight_appends: u8,
    snapshot_trailing_entries: u8,
    promotion_max_lag_entries: u8,
    promotion_hold_ms: u8,
    pre_vote: bool,
    check_quorum: bool,
}

impl Tuning {
    fn config(self, id: NodeId) -> Config {
        let mut config = Config::new(id);
        config.seed = self.seed;
        config.max_append_bytes = 64;
        config.max_append_entries = usize::from(self.max_append_entries % 4) + 1;
        config.max_inflight_appends = usize::from(self.max_inflight_appends % 4) + 1;
        config.snapshot_trailing_entries = u64::from(self.snapshot_trailing_entries % 4);
        config.promotion_max_lag_entries = u64::from(self.promotion_max_lag_entries % 4);
        config.promotion_hold_ms = u64::from(self.promotion_hold_ms);
        config.pre_vote = self.pre_vote;
        config.check_quorum = self.check_quorum;
        config
    }
}

/// A server id: the ids of the setups, the reserved id 0, and ids no configuration lists.
#[derive(Arbitrary, Clone, Copy, Debug)]
pub struct Peer(u8);

impl Peer {
    fn id(self) -> NodeId {
        match self.0 % 8 {
            6 => 9,
            7 => u64::MAX,
            id => u64::from(id),
        }
    }
}

/// A log index relative to the node's state, or any index.
#[derive(Arbitrary, Clone, Copy, Debug)]
pub enum IndexChoice {
    /// The node's last log index.
    Last,
    /// The node's commit index.
    Commit,
    /// That many entries before the last one.
    Behind(u8),
    /// That many entries past the last one.
    Ahead(u8),
    /// Any index.
    Exact(u64),
}

impl IndexChoice {
    fn resolve(self, node: &Node) -> Index {
        let last = node.last_log_id().index;
        match self {
            IndexChoice::Last => last,
            IndexChoice::Commit => node.commit_index(),
            IndexChoice::Behind(count) => last.saturating_sub(u64::from(count % 8)),
            IndexChoice::Ahead(count) => last.saturating_add(u64::from(count % 8)),
            IndexChoice::Exact(index) => index,
        }
    }
}

/// A term relative to the node's current term, or any term.
#[derive(Arbitrary, Clone, Copy, Debug)]
pub enum TermChoice {
    /// The node's current term.
    Current,
    /// That many terms after the current one.
    Ahead(u8),
    /// That many terms before the current one.
    Behind(u8),
    /// Any term.
    Exact(u64),
}

impl TermChoice {
    fn resolve(self, node: &Node) -> Term {
        let term = node.term();
        match self {
            TermChoice::Current => term,
            TermChoice::Ahead(count) => term.saturating_add(u64::from(count % 4)),
            TermChoice::Behind(count) => term.saturating_sub(u64::from(count % 4)),
            TermChoice::Exact(term) => term,
        }
    }
}

/// A log position: an index, with the term the node's log has there or another one.
#[derive(Arbitrary, Clone, Copy, Debug)]
pub struct LogChoice {
    index: IndexChoice,
    /// Use the node's term at the index (or the message's term past the log) when true.
    matching: bool,
    term: TermChoice,
}

impl LogChoice {
    fn resolve(self, node: &Node, message_term: Term) -> LogId {
        let index = self.index.resolve(node);
        let term = match (self.matching, node.log_term(index)) {
            (true, Some(term)) => term,
            (true, None) => message_term,
            (false, _) => self.term.resolve(node),
        };
        LogId::new(term, index)
    }
}

/// A configuration over ids 1 to 5: bit `n` of `members` lists server `n + 1` as a member,
/// and bit `n` of `learners` as a learner unless it is a member already.
#[derive(Arbitrary, Clone, Copy, Debug)]
pub struct MembershipChoice {
    members: u8,
    learners: u8,
    pending: u8,
}

impl MembershipChoice {
    fn resolve(self) -> Membership {
        let bit = |mask: u8, id: NodeId| mask & (1 << (id - 1)) != 0;
        let members: Vec<NodeId> = (1..=5).filter(|id| bit(self.members, *id)).collect();
        let learners = (1..=5)
            .filter(|id| bit(self.learners, *id) && !members.contains(id))
            .map(|id| Learner { id, pending: bit(self.pending, id) });
        Membership::new(members.clone(), learners).expect("ids 1 to 5, each listed once")
    }
}

/// What a built entry carries.
#[derive(Arbitrary, Clone, Debug)]
pub enum PayloadChoice {
    /// A no-op.
    Empty,
    /// Application data.
    Data(Vec<u8>),
    /// A configuration.
    Membership(MembershipChoice),
}

/// An entry that follows the one before it; `new_term` moves it one term later, up to the
/// message's term.
#[derive(Arbitrary, Clone, Debug)]
pub struct EntryChoice {
    new_term: bool,
    payload: PayloadChoice,
}

/// The body of a built message.
#[derive(Arbitrary, Clone, Debug)]
pub enum BodyChoice {
    /// A vote request.
    RequestVote {
        /// The candidate's last log entry.
        last_log: LogChoice,
    },
    /// A pre-vote request.
    PreVote {
        /// The asking server's last log entry.
        last_log: LogChoice,
    },
    /// A pre-vote response.
    PreVoteResponse {
        /// Whether the vote would be granted.
        granted: bool,
    },
    /// A vote response.
    VoteResponse {
        /// Whether the vote is granted.
        granted: bool,
        /// The voter's last log index.
        last_log_index: IndexChoice,
    },
    /// An append request whose entries follow `prev` in order.
    AppendEntries {
        /// The entry before the new ones.
        prev: LogChoice,
        /// The entries.
        entries: Vec<EntryChoice>,
        /// The leader's commit index.
        commit: IndexChoice,
    },
    /// An append response.
    AppendResponse {
        /// Accepted when true, rejected otherwise.
        accepted: bool,
        /// The match index of an acceptance, or the rejected index of a rejection.
        index: IndexChoice,
        /// The hint of a rejection.
        hint: LogChoice,
        /// The responder's last log index.
        last_log_index: IndexChoice,
    },
    /// A snapshot install.
    InstallSnapshot {
        /// The snapshot's last entry.
        last: LogChoice,
        /// The configuration at that entry.
        membership: MembershipChoice,
    },
}

/// A message built from the node's state, so that it often matches the log.
#[derive(Arbitrary, Clone, Debug)]
pub struct Envelope {
    from: Peer,
    /// Any receiver when set; the node otherwise.
    to: Option<Peer>,
    term: TermChoice,
    body: BodyChoice,
}

impl Envelope {
    fn build(&self, node: &Node) -> Message {
        let term = self.term.resolve(node);
        let body = match &self.body {
            BodyChoice::RequestVote { last_log } => {
                Body::RequestVote { last_log: last_log.resolve(node, term) }
            }
            BodyChoice::PreVote { last_log } => {
                Body::PreVote { last_log: last_log.resolve(node, term) }
            }
            BodyChoice::PreVoteResponse { granted } => Body::PreVoteResponse { granted: *granted },
            BodyChoice::VoteResponse { granted, last_log_index } => Body::VoteResponse {
                granted: *granted,
                last_log_index: last_log_index.resolve(node),
            },
            BodyChoice::AppendEntries { prev, entries, commit } => {
                let prev = prev.resolve(node, term);
                let entries = build_entries(prev, term, entries);
                Body::AppendEntries { prev, entries, commit: commit.resolve(node) }
            }
            BodyChoice::AppendResponse { accepted, index, hint, last_log_index } => {
                let index = index.resolve(node);
                let outcome = if *accepted {
                    AppendOutcome::Accepted { match_index: index }
                } else {
                    let hint = hint.resolve(node, term);
                    AppendOutcome::Rejected { rejected_index: index, hint }
                };
                Body::AppendResponse { outcome, last_log_index: last_log_index.resolve(node) }
            }
            BodyChoice::InstallSnapshot { last, membership } => {
                let meta = SnapshotMeta {
                    last: last.resolve(node, term),
                    membership: membership.resolve(),
                };
                Body::InstallSnapshot { meta: meta.into() }
            }
        };
        let to = self.to.map_or(node.id(), Peer::id);
        Message { from: self.from.id(), to, term, body }
    }
}

/// Builds entries that follow `prev` with terms that never decrease and never pass the
/// message's term, as a leader of that term sends them.
fn build_entries(prev: LogId, message_term: Term, choices: &[EntryChoice]) -> Vec<Entry> {
    let mut term = prev.term.min(message_term);
    let mut entries = Vec::new();
    for (offset, choice) in choices.iter().take(MAX_BUILT_ENTRIES).enumerate() {
        let Some(index) = prev.index.checked_add(offset as u64 + 1) else {
            break;
        };
        if choice.new_term && term < message_term {
            term += 1;
        }
        let payload = match &choice.payload {
            PayloadChoice::Empty => Payload::Empty,
            PayloadChoice::Data(data) => Payload::Data(Bytes::copy_from_slice(data)),
            PayloadChoice::Membership(choice) => Payload::Membership(choice.resolve().into()),
        };
        entries.push(Entry { term, index, payload });
    }
    entries
}

/// A single-server change over ids 1 to 5 and the unknown id 9.
#[derive(Arbitrary, Clone, Copy, Debug)]
pub enum ChangeChoice {
    /// Add a learner.
    AddLearner(Peer, bool),
    /// Set or clear a learner's pending flag.
    SetPending(Peer, bool),
    /// Promote a learner.
    Promote(Peer),
    /// Demote a member.
    Demote(Peer),
    /// Remove a server.
    Remove(Peer),
}

impl ChangeChoice {
    fn resolve(self) -> MembershipChange {
        match self {
            ChangeChoice::AddLearner(peer, pending) => {
                MembershipChange::AddLearner { id: peer.id(), pending }
            }
            ChangeChoice::SetPending(peer, pending) => {
                MembershipChange::SetPending { id: peer.id(), pending }
            }
            ChangeChoice::Promote(peer) => MembershipChange::Promote { id: peer.id() },
            ChangeChoice::Demote(peer) => MembershipChange::Demote { id: peer.id() },
            ChangeChoice::Remove(peer) => MembershipChange::Remove { id: peer.id() },
        }
    }
}

/// One thing the host does.
#[derive(Arbitrary, Clone, Debug)]
pub enum Action {
    /// Advance the clock by up to 65 s and tick.
    Tick {
        /// The advance in ms.
        advance_ms: u16,
    },
    /// Tick with any time, possibly one earlier than the last.
    TickAt {
        /// The time in ms.
        now_ms: u64,
    },
    /// Deliver a message built from the node's state.
    Receive(Envelope),
    /// Deliver any message.
    ReceiveAny(Message),
    /// Propose application data.
    Propose(Vec<u8>),
    /// Write the next `count` pending persist requests (at least one) and acknowledge the
    /// newest of them.
    Persist {
        /// How many requests to write.
        count: u8,
    },
    /// Acknowledge any token. When the node accepts it, the host has claimed every request
    /// up to it is durable, so the model writes them.
    PersistedAny {
        /// The token.
        token: u64,
    },
    /// Report applied entries: the host's applied index less `behind`.
    Applied {
        /// How far below the host's applied index to report.
        behind: u8,
    },
    /// Report any applied index.
    AppliedAny {
        /// The index.
        index: Index,
    },
    /// Start an election.
    Campaign,
    /// Request a configuration change over known ids.
    ChangeMembership(ChangeChoice),
    /// Request any configuration change.
    ChangeAny(MembershipChange),
    /// Take a snapshot `behind` entries below the host's applied index, storing its data
    /// first.
    TakeSnapshot {
        /// How far below the applied index.
        behind: u8,
    },
    /// Report any snapshot as taken, without storing its data.
    SnapshotAny(SnapshotMeta),
    /// Report that a snapshot send the node requested ended.
    SnapshotSent {
        /// Which of the requested sends, counted from the oldest.
        pick: u8,
        /// Whether the receiver stored it.
        success: bool,
    },
    /// Report a snapshot send to any server.
    SnapshotSentAny {
        /// The receiver.
        to: Peer,
        /// Whether the receiver stored it.
        success: bool,
    },
    /// Crash: the first `written` pending requests reach the disk, the rest are lost, and
    /// the node restarts from what is durable.
    Restart {
        /// How many pending requests reach the disk.
        written: u8,
    },
}

/// One input and whether to drain the outputs right after it.
#[derive(Arbitrary, Clone, Debug)]
pub struct Step {
    action: Action,
    /// Leave outputs in the node, so that the next inputs share one drain.
    hold_outputs: bool,
}

/// Runs one fuzz input: a setup, node settings, then steps until the input runs out.
pub fn run(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let Ok((setup, tuning)) = <(Setup, Tuning)>::arbitrary(&mut u) else {
        return;
    };
    let mut host = Host::new(setup, tuning);
    for _ in 0..MAX_STEPS {
        if u.is_empty() {
            break;
        }
        let Ok(step) = Step::arbitrary(&mut u) else {
            break;
        };
        host.act(step.action);
        if !step.hold_outputs {
            host.drain();
        }
        host.check_state();
    }
    host.drain();
    host.check_state();
}

/// Returns the setup, settings and steps that `run` reads from `data`, one per line, for
/// reports.
pub fn describe(data: &[u8]) -> String {
    let mut u = Unstructured::new(data);
    let Ok(start) = <(Setup, Tuning)>::arbitrary(&mut u) else {
        return String::from("(input too short for a setup)");
    };
    let mut lines = vec![format!("{start:?}")];
    for _ in 0..MAX_STEPS {
        if u.is_empty() {
            break;
        }
        let Ok(step) = Step::arbitrary(&mut u) else {
            break;
        };
        lines.push(format!("{step:?}"));
    }
    lines.join("\n")
}

/// A host of one node: its clock, disk, state machine and open proposals.
pub struct Host {
    node: Node,
    config: Config,
    bootstrap: Membership,
    now_ms: u64,
    durable: Durable,
    /// Issued persist requests not yet written, oldest first.
    pending: VecDeque<PersistRequest>,
    last_token: u64,
    /// The last index handed out by `Apply` or `RestoreSnapshot`.
    applied: Index,
    /// Terms of the entries applied in this incarnation, by index.
    applied_terms: BTreeMap<Index, Term>,
    /// The index of the latest snapshot restored by `RestoreSnapshot` in this incarnation.
    restored_index: Index,
    open_proposals: Vec<LogId>,
    /// Receivers of snapshot sends the node requested and the host has not reported.
    snapshot_sends: Vec<NodeId>,
    last_term: Term,
    last_commit: Index,
    /// The log of each term's leader as far as delivered messages showed it: index to
    /// entry term, by message term.
    claims: BTreeMap<Term, BTreeMap<Index, Term>>,
    /// Terms in which this node became leader.
    led_terms: BTreeSet<Term>,
}

impl Host {
    fn new(setup: Setup, tuning: Tuning) -> Host {
        let config = tuning.config(setup.node_id());
        let bootstrap = setup.membership();
        let node = Node::new(config.clone(), bootstrap.clone()).expect("the setup is valid");
        Host {
            node,
            config,
            bootstrap,
            now_ms: 0,
            durable: Durable::default(),
            pending: VecDeque::new(),
            last_token: 0,
            applied: 0,
            applied_terms: BTreeMap::new(),
            restored_index: 0,
            open_proposals: Vec::new(),
            snapshot_sends: Vec::new(),
            last_term: 0,
            last_commit: 0,
            claims: BTreeMap::new(),
            led_terms: BTreeSet::new(),
        }
    }

    fn act(&mut self, action: Action) {
        match action {
            Action::Tick { advance_ms } => {
                self.now_ms = self.now_ms.saturating_add(u64::from(advance_ms));
                let result = self.node.step(Input::Tick { now_ms: self.now_ms });
                assert_eq!(result, Ok(()), "tick at {} ms", self.now_ms);
            }
            Action::TickAt { now_ms } => self.tick_at(now_ms),
            Action::Receive(envelope) => {
                let message = envelope.build(&self.node);
                self.receive(message);
            }
            Action::ReceiveAny(message) => self.receive(message),
            Action::Propose(data) => self.propose(Input::Propose(Bytes::from(data))),
            Action::Persist { count } => self.persist(usize::from(count).max(1)),
            Action::PersistedAny { token } => self.persisted_any(token),
            Action::Applied { behind } => {
                let index = self.applied.saturating_sub(u64::from(behind));
                let result = self.node.step(Input::Applied { index });
                if index >= self.node.status().applied {
                    assert_eq!(result, Ok(()), "applied index {index}");
                }
            }
            Action::AppliedAny { index } => {
                let _ = self.node.step(Input::Applied { index });
            }
            Action::Campaign => {
                let result = self.node.step(Input::Campaign);
                let at_term_bound = self.node.term() >= sansraft::MAX_TERM_OR_INDEX;
                let expected = match result {
                    Ok(()) | Err(Error::NotMember) => true,
                    Err(Error::ValueOutOfRange { field: "term", .. }) => at_term_bound,
                    Err(_) => false,
                };
                assert!(expected, "campaign: {result:?}");
            }
            Action::ChangeMembership(change) => {
                self.propose(Input::ChangeMembership(change.resolve()));
            }
            Action::ChangeAny(change) => self.propose(Input::ChangeMembership(change)),
            Action::TakeSnapshot { behind } => self.take_snapshot(behind),
            Action::SnapshotAny(meta) => {
                let _ = self.node.step(Input::SnapshotTaken(meta));
            }
            Action::SnapshotSent { pick, success } => self.snapshot_sent(pick, success),
            Action::SnapshotSentAny { to, success } => {
                let to = to.id();
                let _ = self.node.step(Input::SnapshotSent { to, success });
                self.snapshot_sends.retain(|pending| *pending != to);
            }
            Action::Restart { written } => self.restart(usize::from(written)),
        }
    }

    fn tick_at(&mut self, now_ms: u64) {
        let result = self.node.step(Input::Tick { now_ms });
        match result {
            Ok(()) => self.now_ms = now_ms,
            Err(Error::TimeWentBackwards { .. }) => assert!(now_ms < self.now_ms),
            Err(error) => panic!("tick at {now_ms} ms failed: {error}"),
        }
    }

    fn receive(&mut self, message: Message) {
        let misaddressed = message.to != self.node.id() || message.from == self.node.id();
        if !misaddressed && self.contradicts_its_term(&message) {
            return;
        }

        // A host stores the snapshot data that travels with an install before passing it on.
        if let Body::InstallSnapshot { meta } = &message.body {
            if !misaddressed {
                self.durable.stored_snapshots.insert(meta.last.index);
            }
        }
        let (term, from) = (message.term, message.from);
        let last_position = match &message.body {
            Body::AppendEntries { prev, entries, .. } => {
                Some(entries.last().map_or(*prev, Entry::id))
            }
            Body::InstallSnapshot { meta } => Some(meta.last),
            _ => None,
        };
        let result = self.node.step(Input::Receive(message));
        match result {
            Ok(()) => {
                assert!(!misaddressed, "the node accepted a misaddressed message");
                assert_ne!(from, 0, "the node accepted a message from the reserved id 0");
            }
            Err(Error::WrongRecipient { .. } | Error::FromSelf) => assert!(misaddressed),
            Err(Error::ZeroSender) => assert_eq!(from, 0),
            Err(Error::ValueOutOfRange { field, value }) => assert!(
                value > MAX_TERM_OR_INDEX,
                "the node rejected {field} {value}, which is in range"
            ),
            Err(error) => panic!("the node rejected a message: {error}"),
        }
        if let Some(last) =
            last_position.filter(|last| self.node.log_term(last.index) == Some(last.term))
        {
            self.record_log_prefix(term, last.index);
        }
    }

    /// Records the node's log up to `index` as the log of the leader of `term`, which the
    /// node's log now matches there.
    fn record_log_prefix(&mut self, term: Term, index: Index) {
        let claimed = self.claims.entry(term).or_default();
        for at in self.node.first_log_index()..=index {
            if let Some(entry_term) = self.node.log_term(at) {
                claimed.insert(at, entry_term);
            }
        }
    }

    /// Returns true when `message` contradicts the log that earlier messages of its term
    /// showed, or comes from a leader of a term this node led. One leader per term never
    /// contradicts itself, and the persistence checks compare acknowledgements with the
    /// node's current log, which such a message could rewrite behind an acknowledgement
    /// already released. Records the positions of a message it lets through.
    fn contradicts_its_term(&mut self, message: &Message) -> bool {
        let positions: Vec<LogId> = match &message.body {
            Body::AppendEntries { prev, entries, .. } => {
                std::iter::once(*prev).chain(entries.iter().map(Entry::id)).collect()
            }
            Body::InstallSnapshot { meta } => vec![meta.last],
            _ => return false,
        };
        if self.led_terms.contains(&message.term) {
            return true;
        }
        let claimed = self.claims.entry(message.term).or_default();
        let contradicts = |position: &LogId| {
            claimed.get(&position.index).is_some_and(|term| *term != position.term)
        };
        if positions.iter().any(contradicts) {
            return true;
        }
        for position in positions {
            claimed.insert(position.index, position.term);
        }
        false
    }

    /// Steps a proposal or a configuration change and tracks its log id.
    fn propose(&mut self, input: Input) {
        let before = self.node.last_log_id();
        if self.node.step(input).is_ok() {
            let id = self.node.last_log_id();
            assert_eq!(id.index, before.index + 1, "an accepted proposal appends one entry");
            self.open_proposals.push(id);
        }
    }

    fn persist(&mut self, count: usize) {
        let count = count.min(self.pending.len());
        if count == 0 {
            return;
        }
        let mut token = 0;
        for request in self.pending.drain(..count) {
            self.durable.write(&request);
            token = request.token;
        }
        let result = self.node.step(Input::Persisted { token });
        assert_eq!(result, Ok(()), "acknowledging persist token {token}");
    }

    fn persisted_any(&mut self, token: u64) {
        if self.node.step(Input::Persisted { token }).is_err() {
            return;
        }
        while self.pending.front().is_some_and(|request| request.token <= token) {
            let request = self.pending.pop_front().expect("front was just checked");
            self.durable.write(&request);
        }
    }

    fn take_snapshot(&mut self, behind: u8) {
        let index = self.applied.saturating_sub(u64::from(behind));
        if index < self.node.first_log_index() {
            return;
        }
        let Some(meta) = self.node.snapshot_meta_at(index) else {
            return;
        };
        let latest = self.node.snapshot().map_or(0, |meta| meta.last.index);
        self.durable.stored_snapshots.insert(index);
        let result = self.node.step(Input::SnapshotTaken(meta));
        if index <= latest {
            let reason = SnapshotProblem::NotNewer;
            assert_eq!(result, Err(Error::InvalidSnapshot { index, reason }));
        } else {
            assert_eq!(result, Ok(()), "snapshot at applied index {index}");
        }
    }

    fn snapshot_sent(&mut self, pick: u8, success: bool) {
        if self.snapshot_sends.is_empty() {
            return;
        }
        let to = self.snapshot_sends.remove(usize::from(pick) % self.snapshot_sends.len());
        let result = self.node.step(Input::SnapshotSent { to, success });
        assert!(
            matches!(result, Ok(()) | Err(Error::SnapshotNotRequested { .. })),
            "snapshot send to {to}: {result:?}"
        );
    }

    fn restart(&mut self, written: usize) {
        for request in self.pending.drain(..).take(written) {
            self.durable.write(&request);
        }
        let state = self.durable.restore_state(&self.bootstrap);
        let node = Node::restore(self.config.clone(), state);
        self.node = node.unwrap_or_else(|error| panic!("restart from durable state: {error}"));
        self.now_ms = 0;
        self.last_token = 0;
        self.applied = self.durable.snapshot_index();
        self.applied_terms.clear();
        self.restored_index = 0;
        self.open_proposals.clear();
        self.snapshot_sends.clear();
        self.last_term = self.node.term();
        self.last_commit = self.node.commit_index();
    }

    fn drain(&mut self) {
        while let Some(output) = self.node.poll_output() {
            self.on_output(output);
        }
    }

    fn on_output(&mut self, output: Output) {
        let id = self.node.id();
        match output {
            Output::Send(message) => {
                check_addressing(id, &message);
                check_send_contract(&self.durable, &self.node, &message);
                check_codec(&message);
            }
            Output::SendSnapshot(message) => {
                check_addressing(id, &message);
                let Body::InstallSnapshot { meta } = &message.body else {
                    panic!("node {id} asked to send a {} as a snapshot", message.body.kind());
                };
                let index = meta.last.index;
                assert!(
                    self.durable.stored_snapshots.contains(&index),
                    "node {id} asked to send snapshot {index}, whose data was never stored"
                );
                self.snapshot_sends.push(message.to);
            }
            Output::Persist(request) => {
                // `Borrow` takes the request whether the output holds it boxed or not.
                let request: &PersistRequest = request.borrow();
                assert_eq!(request.token, self.last_token + 1, "persist tokens increase by one");
                self.last_token = request.token;
                self.pending.push_back(request.clone());
            }
            Output::RestoreSnapshot(meta) => {
                let index = meta.last.index;
                assert!(
                    self.durable.stored_snapshots.contains(&index),
                    "node {id} restores snapshot {index}, whose data was never stored"
                );
                self.applied = index;
                self.restored_index = index;
            }
            Output::Apply(entry) => self.on_apply(&entry),
            Output::Proposal { id: proposal, outcome } => self.on_proposal(proposal, outcome),
            Output::RoleChanged { role: Role::Leader, term } => {
                self.led_terms.insert(term);
            }
            Output::RoleChanged { .. }
            | Output::MembershipChanged { .. }
            | Output::LeaderChanged { .. } => {}
        }
    }

    fn on_apply(&mut self, entry: &Entry) {
        let id = self.node.id();
        assert_eq!(
            entry.index,
            self.applied + 1,
            "node {id} applied entry {} after entry {}",
            entry.index,
            self.applied
        );
        assert!(
            entry.index <= self.node.commit_index(),
            "node {id} applied entry {} above its commit index {}",
            entry.index,
            self.node.commit_index()
        );
        self.applied = entry.index;
        self.applied_terms.insert(entry.index, entry.term);
    }

    fn on_proposal(&mut self, proposal: LogId, outcome: ProposalOutcome) {
        let id = self.node.id();
        let open = self.open_proposals.iter().position(|open| *open == proposal);
        let Some(at) = open else {
            panic!("node {id} ended proposal {proposal:?}, which is not open");
        };
        self.open_proposals.remove(at);
        let applied_term = self.applied_terms.get(&proposal.index).copied();
        match outcome {
            ProposalOutcome::Committed => {
                // An entry that a restored snapshot covers reaches the state machine without
                // an `Apply`.
                let covered = applied_term.is_none() && proposal.index <= self.restored_index;
                assert!(
                    covered || applied_term == Some(proposal.term),
                    "node {id} reported proposal {proposal:?} committed, but applied term \
                     {applied_term:?} there"
                );
            }
            ProposalOutcome::Overwritten => assert_ne!(
                applied_term,
                Some(proposal.term),
                "node {id} reported proposal {proposal:?} overwritten, but applied it"
            ),
            ProposalOutcome::Unknown => {}
        }
    }

    /// Checks what must hold between any two inputs.
    fn check_state(&mut self) {
        let id = self.node.id();
        let term = self.node.term();
        let commit = self.node.commit_index();
        assert!(
            term >= self.last_term,
            "node {id} term went back from {} to {term}",
            self.last_term
        );
        assert!(
            term >= self.durable.hard_state.term,
            "node {id} term {term} is below its durable term {}",
            self.durable.hard_state.term
        );
        assert!(
            commit >= self.last_commit,
            "node {id} commit index went back from {} to {commit}",
            self.last_commit
        );
        assert!(
            commit <= self.node.last_log_id().index,
            "node {id} commit index {commit} is past its last log index {}",
            self.node.last_log_id().index
        );
        let durable_index = self.node.status().durable_index;
        assert!(
            durable_index <= self.durable.last_index(),
            "node {id} counts entries up to {durable_index} as durable, but the disk ends at {}",
            self.durable.last_index()
        );
        self.last_term = term;
        self.last_commit = commit;
    }
}

/// Checks that a message the node sends round-trips through the codec.
fn check_codec(message: &Message) {
    let mut encoded = Vec::new();
    encode_message(message, &mut encoded);
    let decoded = decode_exact(&encoded[..], decode_message);
    assert_eq!(decoded.as_ref(), Ok(message), "a sent message does not round-trip");
}
