//! Script commands and their parser.

use std::fmt;
use std::string::String;
use std::vec::Vec;

use crate::membership::{Learner, MembershipChange};
use crate::message::Message;
use crate::output::Role;
use crate::sim::trace::describe_message;
use crate::types::{Index, LogId, NodeId, Term};

/// The message kinds a filter may name.
const KINDS: [&str; 5] =
    ["RequestVote", "VoteResponse", "AppendEntries", "AppendResponse", "InstallSnapshot"];

/// One script command.
#[derive(Clone, Debug)]
pub(super) enum Command {
    Cluster(ClusterSpec),
    TimeAdvance(u64),
    TimeSet(u64),
    Tick(Nodes),
    Timeout(NodeId),
    Campaign(NodeId),
    Heartbeat(NodeId),
    Propose { node: NodeId, data: String, expected: Option<LogId> },
    Change { node: NodeId, change: MembershipChange, expected: Option<LogId> },
    Snapshot(NodeId),
    Deliver { filter: Filter, all: bool },
    Drop { filter: Filter, all: bool },
    Duplicate(Filter),
    Delay(Filter),
    Partition(Vec<Vec<NodeId>>),
    Heal,
    Settle,
    Persist(Nodes),
    Crash { node: NodeId, written: usize },
    Restart(NodeId),
    Expect(Expectation),
}

/// The settings of the `cluster` command.
#[derive(Clone, Debug, Default)]
pub(super) struct ClusterSpec {
    pub(super) members: Vec<NodeId>,
    pub(super) learners: Vec<Learner>,
    pub(super) joining: Vec<NodeId>,
    pub(super) election_ms: Option<(u64, u64)>,
    pub(super) heartbeat_ms: Option<u64>,
    pub(super) max_append_entries: Option<usize>,
    pub(super) max_inflight_appends: Option<usize>,
    pub(super) snapshot_trailing_entries: Option<u64>,
    pub(super) check_quorum: Option<bool>,
    pub(super) pre_vote: Option<bool>,
    pub(super) seed: Option<u64>,
}

/// The nodes a command acts on.
#[derive(Clone, Debug)]
pub(super) enum Nodes {
    All,
    Listed(Vec<NodeId>),
}

/// Selects packets on the network.
#[derive(Clone, Debug, Default)]
pub(super) struct Filter {
    from: Option<NodeId>,
    to: Option<NodeId>,
    kind: Option<&'static str>,
    words: Vec<String>,
}

impl Filter {
    /// Returns true when `message` passes every part of the filter.
    pub(super) fn matches(&self, message: &Message) -> bool {
        if self.from.is_some_and(|from| from != message.from)
            || self.to.is_some_and(|to| to != message.to)
            || self.kind.is_some_and(|kind| kind != message.body.kind())
        {
            return false;
        }
        if self.words.is_empty() {
            return true;
        }
        let description = describe_message(message);
        let words: Vec<&str> = description.split(' ').collect();
        self.words.iter().all(|wanted| words.contains(&wanted.as_str()))
    }
}

impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let end = |id: Option<NodeId>| id.map_or(String::from("*"), |id| id.to_string());
        write!(f, "{}->{}", end(self.from), end(self.to))?;
        if let Some(kind) = self.kind {
            write!(f, " {kind}")?;
        }
        for word in &self.words {
            write!(f, " {word}")?;
        }
        Ok(())
    }
}

/// An expected log entry: its id and, optionally, its payload.
#[derive(Clone, Debug)]
pub(super) struct EntrySpec {
    pub(super) id: LogId,
    pub(super) payload: Option<PayloadSpec>,
}

/// An expected payload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum PayloadSpec {
    Noop,
    Config,
    Data(String),
}

/// The proposal outcome an `expect outcome` command checks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum OutcomeSpec {
    Committed,
    Overwritten,
    Unknown,
    Open,
    NoRecord,
}

/// The role an `expect role` command expects, or that the node is crashed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum RoleSpec {
    Running(Role),
    Crashed,
}

/// One `expect` command.
#[derive(Clone, Debug)]
pub(super) enum Expectation {
    Role(NodeId, RoleSpec),
    Term(NodeId, Term),
    Vote(NodeId, Option<NodeId>),
    Leader(NodeId, Option<NodeId>),
    Commit(NodeId, Index),
    Applied(NodeId, Index),
    Log(NodeId, Vec<EntrySpec>),
    Snapshot(NodeId, Option<LogId>),
    Membership { node: NodeId, members: Vec<NodeId>, learners: Vec<Learner> },
    DiskLog(NodeId, Vec<EntrySpec>),
    DiskVote { node: NodeId, term: Term, vote: Option<NodeId> },
    DiskPending(NodeId, usize),
    Outcome(NodeId, LogId, OutcomeSpec),
    Match { leader: NodeId, follower: NodeId, index: Index },
    Network { count: usize, filter: Filter },
}

impl Command {
    /// Parses one line with its comment removed.
    pub(super) fn parse(code: &str) -> Result<Command, String> {
        let spaced = code.replace('|', " | ");
        let mut words = Words { words: spaced.split_whitespace().collect(), at: 0 };
        let name = words.next("a command")?;
        let command = match name {
            "cluster" => Command::Cluster(parse_cluster(&mut words)?),
            "time" => parse_time(&mut words)?,
            "tick" => Command::Tick(words.nodes()?),
            "timeout" => Command::Timeout(words.node()?),
            "campaign" => Command::Campaign(words.node()?),
            "heartbeat" => Command::Heartbeat(words.node()?),
            "propose" => parse_propose(&mut words)?,
            "change" => parse_change(&mut words)?,
            "snapshot" => Command::Snapshot(words.node()?),
            "deliver" => {
                let all = words.keyword("all");
                Command::Deliver { filter: words.filter()?, all }
            }
            "drop" => {
                let all = words.keyword("all");
                Command::Drop { filter: words.filter()?, all }
            }
            "duplicate" => Command::Duplicate(words.filter()?),
            "delay" => Command::Delay(words.filter()?),
            "partition" => Command::Partition(parse_groups(&mut words)?),
            "heal" => Command::Heal,
            "settle" => Command::Settle,
            "persist" => Command::Persist(words.nodes()?),
            "crash" => parse_crash(&mut words)?,
            "restart" => Command::Restart(words.node()?),
            "expect" => Command::Expect(parse_expectation(&mut words)?),
            other => return Err(format!("unknown command `{other}`")),
        };
        words.finish()?;
        Ok(command)
    }
}

/// The words of one line and a cursor over them.
struct Words<'a> {
    words: Vec<&'a str>,
    at: usize,
}

impl<'a> Words<'a> {
    fn peek(&self) -> Option<&'a str> {
        self.words.get(self.at).copied()
    }

    fn next(&mut self, expected: &str) -> Result<&'a str, String> {
        let word = self.peek().ok_or_else(|| format!("missing {expected}"))?;
        self.at += 1;
        Ok(word)
    }

    /// Consumes `keyword` if it is the next word.
    fn keyword(&mut self, keyword: &str) -> bool {
        let found = self.peek() == Some(keyword);
        if found {
            self.at += 1;
        }
        found
    }

    fn expect_keyword(&mut self, keyword: &str) -> Result<(), String> {
        match self.next(&format!("`{keyword}`"))? {
            word if word == keyword => Ok(()),
            word => Err(format!("expected `{keyword}`, found `{word}`")),
        }
    }

    fn number(&mut self, name: &str) -> Result<u64, String> {
        let word = self.next(name)?;
        word.parse().map_err(|_| format!("invalid {name} `{word}`; expected a whole number"))
    }

    fn count(&mut self, name: &str) -> Result<usize, String> {
        let count = self.number(name)?;
        usize::try_from(count).map_err(|_| format!("{name} {count} is too large"))
    }

    fn node(&mut self) -> Result<NodeId, String> {
        let word = self.next("a node id")?;
        parse_node(word)
    }

    fn node_or_none(&mut self) -> Result<Option<NodeId>, String> {
        if self.keyword("none") {
            Ok(None)
        } else {
            self.node().map(Some)
        }
    }

    /// Parses `all` or one or more node ids up to the end of the line.
    fn nodes(&mut self) -> Result<Nodes, String> {
        if self.keyword("all") {
            return Ok(Nodes::All);
        }
        let mut ids = Vec::from([self.node()?]);
        while self.peek().is_some() {
            ids.push(self.node()?);
        }
        Ok(Nodes::Listed(ids))
    }

    fn log_id(&mut self) -> Result<LogId, String> {
        let word = self.next("a log id T.I")?;
        parse_log_id(word)
    }

    /// Parses a packet filter from the remaining words.
    fn filter(&mut self) -> Result<Filter, String> {
        let mut filter = Filter::default();
        while let Some(word) = self.peek() {
            self.at += 1;
            if let Some((from, to)) = word.split_once("->") {
                filter.from = parse_end(from)?;
                filter.to = parse_end(to)?;
            } else if word.starts_with(char::is_uppercase) {
                let kind = KINDS.iter().find(|kind| **kind == word).ok_or_else(|| {
                    format!("unknown message kind `{word}`; expected one of {}", KINDS.join(", "))
                })?;
                filter.kind = Some(kind);
            } else {
                filter.words.push(String::from(word));
            }
        }
        Ok(filter)
    }

    /// Parses the rest of the line as expected log entries, or `empty`.
    fn entries(&mut self) -> Result<Vec<EntrySpec>, String> {
        if self.keyword("empty") {
            return Ok(Vec::new());
        }
        let mut entries = Vec::from([parse_entry(self.next("log entries or `empty`")?)?]);
        while let Some(word) = self.peek() {
            self.at += 1;
            entries.push(parse_entry(word)?);
        }
        Ok(entries)
    }

    fn finish(&self) -> Result<(), String> {
        match self.peek() {
            Some(word) => Err(format!("unexpected `{word}` after the command")),
            None => Ok(()),
        }
    }
}

fn parse_node(word: &str) -> Result<NodeId, String> {
    match word.parse::<NodeId>() {
        Ok(id) if id > 0 => Ok(id),
        _ => Err(format!("invalid node id `{word}`; node ids are whole numbers from 1")),
    }
}

fn parse_end(word: &str) -> Result<Option<NodeId>, String> {
    if word == "*" {
        Ok(None)
    } else {
        parse_node(word).map(Some)
    }
}

fn parse_log_id(word: &str) -> Result<LogId, String> {
    let invalid = || format!("invalid log id `{word}`; expected TERM.INDEX such as 2.5");
    let (term, index) = word.split_once('.').ok_or_else(invalid)?;
    let term = term.parse().map_err(|_| invalid())?;
    let index = index.parse().map_err(|_| invalid())?;
    Ok(LogId::new(term, index))
}

fn parse_entry(word: &str) -> Result<EntrySpec, String> {
    let (id, payload) = match word.split_once(':') {
        Some((id, "noop")) => (id, Some(PayloadSpec::Noop)),
        Some((id, "config")) => (id, Some(PayloadSpec::Config)),
        Some((id, data)) => (id, Some(PayloadSpec::Data(String::from(data)))),
        None => (word, None),
    };
    Ok(EntrySpec { id: parse_log_id(id)?, payload })
}

fn parse_cluster(words: &mut Words<'_>) -> Result<ClusterSpec, String> {
    let mut spec = ClusterSpec::default();
    while let Some(option) = words.peek() {
        words.at += 1;
        match option {
            "members" => spec.members = parse_id_list(words)?,
            "joining" => spec.joining = parse_id_list(words)?,
            "learners" => spec.learners = parse_learners(words)?,
            "election" => {
                let word = words.next("an election timeout range MIN..MAX")?;
                let invalid = || format!("invalid election range `{word}`; expected MIN..MAX");
                let (min, max) = word.split_once("..").ok_or_else(invalid)?;
                let min = min.parse().map_err(|_| invalid())?;
                let max = max.parse().map_err(|_| invalid())?;
                spec.election_ms = Some((min, max));
            }
            "heartbeat" => spec.heartbeat_ms = Some(words.number("heartbeat interval")?),
            "max-append-entries" => {
                spec.max_append_entries = Some(words.count("entries per append")?);
            }
            "max-inflight" => spec.max_inflight_appends = Some(words.count("appends in flight")?),
            "snapshot-trailing-entries" => {
                let count = words.number("entries kept before a snapshot point")?;
                spec.snapshot_trailing_entries = Some(count);
            }
            "seed" => spec.seed = Some(words.number("seed")?),
            "pre-vote" => {
                spec.pre_vote = match words.next("on or off")? {
                    "on" => Some(true),
                    "off" => Some(false),
                    other => return Err(format!("invalid pre-vote `{other}`; expected on or off")),
                };
            }
            "check-quorum" => {
                spec.check_quorum = match words.next("on or off")? {
                    "on" => Some(true),
                    "off" => Some(false),
                    other => {
                        return Err(format!("invalid check-quorum `{other}`; expected on or off"))
                    }
                };
            }
            other => {
                return Err(format!(
                    "unknown cluster option `{other}`; expected members, learners, joining, \
                     election, heartbeat, max-append-entries, max-inflight, \
                     snapshot-trailing-entries, check-quorum, pre-vote or seed"
                ))
            }
        }
    }
    if spec.members.is_empty() {
        return Err(String::from("a cluster needs `members` with at least one node id"));
    }
    Ok(spec)
}

/// Parses node ids up to the next word that is not a number.
fn parse_id_list(words: &mut Words<'_>) -> Result<Vec<NodeId>, String> {
    let mut ids = Vec::new();
    while let Some(word) =
        words.peek().filter(|word| word.starts_with(|c: char| c.is_ascii_digit()))
    {
        words.at += 1;
        ids.push(parse_node(word)?);
    }
    Ok(ids)
}

fn parse_learners(words: &mut Words<'_>) -> Result<Vec<Learner>, String> {
    let mut learners = Vec::new();
    while let Some(word) =
        words.peek().filter(|word| word.starts_with(|c: char| c.is_ascii_digit()))
    {
        words.at += 1;
        let (id, pending) = match word.strip_suffix('*') {
            Some(id) => (id, true),
            None => (word, false),
        };
        learners.push(Learner { id: parse_node(id)?, pending });
    }
    Ok(learners)
}

fn parse_time(words: &mut Words<'_>) -> Result<Command, String> {
    let word = words.next("a time: +MS or MS")?;
    let (relative, digits) = match word.strip_prefix('+') {
        Some(digits) => (true, digits),
        None => (false, word),
    };
    let ms = digits
        .parse()
        .map_err(|_| format!("invalid time `{word}`; expected +MS or MS in milliseconds"))?;
    Ok(if relative { Command::TimeAdvance(ms) } else { Command::TimeSet(ms) })
}

fn parse_propose(words: &mut Words<'_>) -> Result<Command, String> {
    let node = words.node()?;
    let data = String::from(words.next("the proposal's data word")?);
    let expected = if words.keyword("as") { Some(words.log_id()?) } else { None };
    Ok(Command::Propose { node, data, expected })
}

fn parse_change(words: &mut Words<'_>) -> Result<Command, String> {
    let node = words.node()?;
    let kind = words.next("a change: add-learner, set-pending, promote, demote or remove")?;
    let id = words.node()?;
    let change = match kind {
        "add-learner" => MembershipChange::AddLearner { id, pending: words.keyword("pending") },
        "set-pending" => {
            let pending = match words.next("`yes` or `no`")? {
                "yes" => true,
                "no" => false,
                other => return Err(format!("expected `yes` or `no`, found `{other}`")),
            };
            MembershipChange::SetPending { id, pending }
        }
        "promote" => MembershipChange::Promote { id },
        "demote" => MembershipChange::Demote { id },
        "remove" => MembershipChange::Remove { id },
        other => {
            return Err(format!(
                "unknown change `{other}`; expected add-learner, set-pending, promote, demote \
                 or remove"
            ))
        }
    };
    let expected = if words.keyword("as") { Some(words.log_id()?) } else { None };
    Ok(Command::Change { node, change, expected })
}

fn parse_crash(words: &mut Words<'_>) -> Result<Command, String> {
    let node = words.node()?;
    let written =
        if words.keyword("written") { words.count("count of written requests")? } else { 0 };
    Ok(Command::Crash { node, written })
}

fn parse_groups(words: &mut Words<'_>) -> Result<Vec<Vec<NodeId>>, String> {
    let mut groups = Vec::from([Vec::new()]);
    while let Some(word) = words.peek() {
        words.at += 1;
        if word == "|" {
            groups.push(Vec::new());
        } else {
            groups.last_mut().expect("groups start non-empty").push(parse_node(word)?);
        }
    }
    if groups.iter().any(Vec::is_empty) {
        return Err(String::from("every group of a partition needs a node id, as in `1 2 | 3`"));
    }
    Ok(groups)
}

fn parse_expectation(words: &mut Words<'_>) -> Result<Expectation, String> {
    let subject = words.next("what to expect")?;
    let expectation = match subject {
        "role" => Expectation::Role(words.node()?, parse_role(words.next("a role")?)?),
        "term" => Expectation::Term(words.node()?, words.number("term")?),
        "vote" => Expectation::Vote(words.node()?, words.node_or_none()?),
        "leader" => Expectation::Leader(words.node()?, words.node_or_none()?),
        "commit" => Expectation::Commit(words.node()?, words.number("commit index")?),
        "applied" => Expectation::Applied(words.node()?, words.number("applied index")?),
        "log" => Expectation::Log(words.node()?, words.entries()?),
        "snapshot" => {
            let node = words.node()?;
            let last = if words.keyword("none") { None } else { Some(words.log_id()?) };
            Expectation::Snapshot(node, last)
        }
        "membership" => {
            let node = words.node()?;
            words.expect_keyword("members")?;
            let members = parse_id_list(words)?;
            let learners =
                if words.keyword("learners") { parse_learners(words)? } else { Vec::new() };
            Expectation::Membership { node, members, learners }
        }
        "disk" => parse_disk(words)?,
        "outcome" => {
            let node = words.node()?;
            let id = words.log_id()?;
            Expectation::Outcome(node, id, parse_outcome(words.next("an outcome")?)?)
        }
        "match" => {
            let link = words.next("a link LEADER->FOLLOWER")?;
            let invalid = || format!("invalid link `{link}`; expected LEADER->FOLLOWER");
            let (leader, follower) = link.split_once("->").ok_or_else(invalid)?;
            let leader = parse_node(leader)?;
            let follower = parse_node(follower)?;
            Expectation::Match { leader, follower, index: words.number("match index")? }
        }
        "network" => parse_network(words)?,
        other => {
            return Err(format!(
                "unknown expectation `{other}`; expected role, term, vote, leader, commit, \
                 applied, log, snapshot, membership, disk, outcome, match or network"
            ))
        }
    };
    Ok(expectation)
}

fn parse_disk(words: &mut Words<'_>) -> Result<Expectation, String> {
    let node = words.node()?;
    match words.next("log, term or pending")? {
        "log" => Ok(Expectation::DiskLog(node, words.entries()?)),
        "term" => {
            let term = words.number("term")?;
            words.expect_keyword("vote")?;
            Ok(Expectation::DiskVote { node, term, vote: words.node_or_none()? })
        }
        "pending" => {
            let count = words.number("pending count")?;
            let count =
                usize::try_from(count).map_err(|_| format!("count {count} is too large"))?;
            Ok(Expectation::DiskPending(node, count))
        }
        other => Err(format!("unknown disk expectation `{other}`; expected log, term or pending")),
    }
}

fn parse_network(words: &mut Words<'_>) -> Result<Expectation, String> {
    if words.keyword("empty") {
        return Ok(Expectation::Network { count: 0, filter: Filter::default() });
    }
    let count = words.count("packet count or `empty`")?;
    Ok(Expectation::Network { count, filter: words.filter()? })
}

fn parse_role(word: &str) -> Result<RoleSpec, String> {
    match word {
        "leader" => Ok(RoleSpec::Running(Role::Leader)),
        "follower" => Ok(RoleSpec::Running(Role::Follower)),
        "candidate" => Ok(RoleSpec::Running(Role::Candidate)),
        "crashed" => Ok(RoleSpec::Crashed),
        other => {
            Err(format!("unknown role `{other}`; expected leader, follower, candidate or crashed"))
        }
    }
}

fn parse_outcome(word: &str) -> Result<OutcomeSpec, String> {
    match word {
        "committed" => Ok(OutcomeSpec::Committed),
        "overwritten" => Ok(OutcomeSpec::Overwritten),
        "open" => Ok(OutcomeSpec::Open),
        "unknown" => Ok(OutcomeSpec::Unknown),
        "none" => Ok(OutcomeSpec::NoRecord),
        other => Err(format!(
            "unknown outcome `{other}`; expected committed, overwritten, unknown, open or none"
        )),
    }
}
