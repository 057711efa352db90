//! Scripted scenarios: a plain-text script drives a manual-mode [`Cluster`] one step at a
//! time and checks expectations along the way.
//!
//! In a script cluster nothing happens by itself. A message waits on the network until a
//! `deliver` command hands it over, a persist request waits on its disk until `persist`
//! completes it, and a node's clock moves only when a command ticks it. The cluster's
//! invariant checks still run on every output, so a scenario that breaks Raft's safety fails
//! even where no expectation looks.
//!
//! # Grammar
//!
//! One command per line. Words are separated by spaces; `#` starts a comment that runs to
//! the end of the line, and blank lines are ignored. `N`, `L`, `FROM` and `TO` are node ids,
//! `T` a term, `I` a log index, `MS` milliseconds and `T.I` the log id of the entry at index
//! `I` with term `T`.
//!
//! The first command creates the cluster:
//!
//! ```text
//! cluster members 1 2 3 [learners 4 5*] [joining 6] [election 150..300] [heartbeat 50]
//!         [max-append-entries 64] [max-inflight 8] [snapshot-trailing-entries 0]
//!         [check-quorum on|off] [pre-vote on|off] [seed 7]
//! ```
//!
//! `learners` lists learners of the bootstrap configuration, and `5*` marks learner 5 as
//! pending promotion. `joining` lists servers that start with an empty configuration.
//! `election` sets the election timeout range and `heartbeat` the heartbeat interval in ms.
//! The `max-` options cap the entries of one `AppendEntries` and the appends in flight per
//! follower, and `snapshot-trailing-entries` sets how many entries before a snapshot point
//! stay in the log. `check-quorum off` keeps a leader leading when no majority answers it.
//! `pre-vote on` makes an election timeout start a pre-vote round (scripts default to off,
//! so `timeout` campaigns at once; the nodes' own default is on).
//! Unset options keep the defaults of [`Config::new`](crate::Config::new); the
//! seed defaults to 1. Every node's clock starts at time 0.
//!
//! Time and timers:
//!
//! - `time +MS` advances the cluster clock by `MS`; `time MS` sets it to `MS`, which must not
//!   be in the past. A node reads the new time only when it is ticked.
//! - `tick N...` or `tick all` ticks nodes at the current time.
//! - `timeout N` fires node `N`'s election timeout: it moves the clock to each deadline the
//!   node reports and ticks it there, until the election deadline passes. Earlier deadlines
//!   apply a pending timer reset or end a leader lease. The node then campaigns, unless it
//!   knows of a commit index beyond its log.
//! - `campaign N` steps `Input::Campaign`: the node campaigns at once, leaving the clock and
//!   its timers alone.
//! - `heartbeat N` moves the clock to each deadline leader `N` reports and ticks it there,
//!   until it sends heartbeats (a tick that applies a pending timer reset sends none).
//!
//! Proposals and disks:
//!
//! - `propose N WORD [as T.I]` proposes the bytes of `WORD` on node `N`. The command fails if
//!   the node rejects the proposal or, with `as`, gives it another log id.
//! - `change N add-learner ID [pending]`, `change N set-pending ID yes|no`,
//!   `change N promote ID`, `change N demote ID` and `change N remove ID [as T.I]` request a
//!   configuration change on node `N`. The command fails if the node rejects it or, with
//!   `as`, gives the configuration entry another log id.
//! - `snapshot N` makes node `N` snapshot its state machine at its applied index, which lets
//!   it compact its log.
//! - `persist N...` or `persist all` completes every pending write of the nodes and
//!   acknowledges the newest token.
//! - `crash N [written K]` crashes node `N`; its first `K` pending writes (default 0) reach
//!   the disk and the rest are lost.
//! - `restart N` rebuilds a crashed node from its disk and starts its clock at the current
//!   time.
//!
//! The network is a queue in send order. A filter `[FROM->TO] [Kind] [word...]` selects
//! packets. `FROM->TO` may use `*` for any node. `Kind` is one of `RequestVote`,
//! `VoteResponse`, `AppendEntries`, `AppendResponse` and `InstallSnapshot`. Every other word must appear as a
//! whole word in the packet's trace line, for example `term=2`, `granted=true`, `accepted`,
//! `match=3`, `commit=2` or `prev=1.2`.
//!
//! - `deliver [FILTER]` delivers the first matching packet; the command fails when none
//!   matches. A packet to a crashed node or across a partition is lost instead.
//! - `deliver all [FILTER]` delivers matching packets, including new ones, until none is
//!   left (at most 10000).
//! - `drop [all] FILTER` removes the first (or every) matching packet.
//! - `duplicate FILTER` puts a copy of the first matching packet at the back of the queue.
//! - `delay FILTER` moves the first matching packet to the back of the queue.
//! - `partition 1 2 | 3` splits the network into groups; servers not listed are cut off from
//!   everyone. `heal` joins the groups again.
//! - `settle` persists every node's pending writes and delivers packets until both the
//!   network and the disks are idle (at most 10000 deliveries). No timer fires meanwhile.
//!
//! Expectations fail the script with what was expected and what was found:
//!
//! - `expect role N leader|follower|candidate|crashed`
//! - `expect term N T`, `expect vote N V|none`, `expect leader N L|none`
//! - `expect commit N I`, `expect applied N I` (the state machine's last applied index)
//! - `expect log N ENTRY...|empty` where `ENTRY` is `T.I`, or `T.I:noop`, `T.I:config` or
//!   `T.I:WORD` to check the payload too. Entries compacted into a snapshot are not listed.
//! - `expect snapshot N T.I|none`: the last entry covered by node `N`'s snapshot
//! - `expect membership N members ID... [learners ID...]`: the configuration in force on
//!   node `N`, with `ID*` for a pending learner
//! - `expect disk N log ENTRY...|empty`, `expect disk N term T vote V|none` and
//!   `expect disk N pending K` check what is durable and how many writes wait
//! - `expect outcome N T.I committed|overwritten|unknown|open|none`: how the proposal made
//!   on node `N` since it last started ended. `unknown` means a snapshot covered it before
//!   the node learned its fate, `open` that it has not ended, and `none` that `N` has no
//!   record of it
//! - `expect match L->F I`: leader `L`'s match index for follower `F`
//! - `expect network empty` and `expect network COUNT [FILTER]`
//!
//! # Failures
//!
//! A failing command, a failed expectation and an invariant violation all produce a
//! [`ScriptError`] with the line number, the command, the expected and found values and the
//! trace up to that point. Script commands appear in the trace as `> LINE: COMMAND`.

mod command;
mod expect;
mod run;

use std::fmt;
use std::string::String;
use std::vec::Vec;

use command::Command;
use run::Runner;

/// A parsed script, ready to run.
#[derive(Clone, Debug)]
pub struct Script {
    lines: Vec<Line>,
}

#[derive(Clone, Debug)]
struct Line {
    number: usize,
    text: String,
    command: Command,
}

/// Why a script failed: the line and command, what went wrong, and the trace so far.
#[derive(Clone, Debug)]
pub struct ScriptError {
    /// The 1-based line number of the failing command.
    pub line: usize,
    /// The failing command, without its comment.
    pub command: String,
    /// The expected and found values, or the broken invariant.
    pub message: String,
    /// The trace lines recorded before the failure; empty for a parse error.
    pub trace: Vec<String>,
}

impl fmt::Display for ScriptError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "line {}: {}", self.line, self.command)?;
        for line in self.message.lines() {
            writeln!(f, "  {line}")?;
        }
        if !self.trace.is_empty() {
            writeln!(f, "trace so far:")?;
            for line in &self.trace {
                writeln!(f, "{line}")?;
            }
            write!(f, "failed at line {}: {}", self.line, self.command)?;
        }
        Ok(())
    }
}

impl std::error::Error for ScriptError {}

impl Script {
    /// Parses a script, reporting the first line that is not a valid command.
    pub fn parse(text: &str) -> Result<Script, ScriptError> {
        let mut lines = Vec::new();
        for (at, raw) in text.lines().enumerate() {
            let code = raw.split('#').next().unwrap_or_default().trim();
            if code.is_empty() {
                continue;
            }
            let number = at + 1;
            let command = Command::parse(code).map_err(|message| ScriptError {
                line: number,
                command: String::from(code),
                message,
                trace: Vec::new(),
            })?;
            lines.push(Line { number, text: String::from(code), command });
        }
        match lines.first() {
            None => Err(ScriptError {
                line: 1,
                command: String::new(),
                message: String::from("the script has no commands; start it with `cluster`"),
                trace: Vec::new(),
            }),
            Some(first) if !matches!(first.command, Command::Cluster(_)) => Err(ScriptError {
                line: first.number,
                command: first.text.clone(),
                message: String::from("the first command must be `cluster`"),
                trace: Vec::new(),
            }),
            Some(_) => Ok(Script { lines }),
        }
    }

    /// Runs the script against a fresh cluster and returns the trace of the run.
    pub fn run(&self) -> Result<Vec<String>, ScriptError> {
        let mut runner = Runner::default();
        for line in &self.lines {
            runner.record(|| format!("> {}: {}", line.number, line.text));
            if let Err(message) = runner.execute(&line.command) {
                return Err(ScriptError {
                    line: line.number,
                    command: line.text.clone(),
                    message,
                    trace: runner.trace_lines(),
                });
            }
        }
        Ok(runner.trace_lines())
    }
}

/// Parses and runs a script, returning its trace.
pub fn run_script(text: &str) -> Result<Vec<String>, ScriptError> {
    Script::parse(text)?.run()
}

#[cfg(test)]
mod tests {
    use super::*;

    const ELECTION: &str = "\
cluster members 1 2 3   # three voters
campaign 1
settle
";

    #[test]
    fn script_runs_and_traces_commands() {
        let text = format!("{ELECTION}expect role 1 leader\nexpect leader 3 1\n");
        let trace = run_script(&text).expect("the script passes");
        assert!(trace.iter().any(|line| line.ends_with("> 2: campaign 1")));
        assert!(trace.iter().any(|line| line.ends_with("node 1 becomes Leader in term 1")));
    }

    #[test]
    fn parse_error_names_line_and_command() {
        let error = Script::parse("cluster members 1 2\n\n# comment\ntick x\n").unwrap_err();
        assert_eq!(error.line, 4);
        assert_eq!(error.command, "tick x");
        assert!(error.message.contains("invalid node id `x`"), "{}", error.message);
        assert!(error.trace.is_empty());
    }

    #[test]
    fn script_must_start_with_cluster() {
        let error = Script::parse("# nothing yet\ncampaign 1\n").unwrap_err();
        assert_eq!(error.line, 2);
        assert!(error.message.contains("`cluster`"), "{}", error.message);
        assert!(Script::parse("# only a comment\n").is_err());
    }

    #[test]
    fn unknown_words_are_rejected() {
        for (text, wanted) in [
            ("frobnicate 1", "unknown command"),
            ("deliver 1->2 AppendEntry", "unknown message kind"),
            ("expect role 1 king", "unknown role"),
            ("expect log 1 2-3", "invalid log id"),
            ("tick 1 extra", "invalid node id"),
            ("heal now", "unexpected `now`"),
            ("partition 1 | | 2", "every group"),
        ] {
            let error = Command::parse(text).unwrap_err();
            assert!(error.contains(wanted), "`{text}` gave `{error}`, expected `{wanted}`");
        }
    }

    #[test]
    fn failed_expectation_reports_expected_found_and_trace() {
        let text = format!("{ELECTION}expect commit 2 1\n");
        let error = run_script(&text).unwrap_err();
        assert_eq!(error.line, 4);
        assert_eq!(error.command, "expect commit 2 1");
        assert!(error.message.contains("expected: node 2 commit index 1"), "{}", error.message);
        assert!(error.message.contains("found:    node 2 commit index 0"), "{}", error.message);
        assert!(!error.trace.is_empty());
        let report = error.to_string();
        assert!(report.starts_with("line 4: expect commit 2 1\n"), "{report}");
        assert!(report.ends_with("failed at line 4: expect commit 2 1"), "{report}");
    }

    #[test]
    fn deliver_without_match_lists_network() {
        let text = "cluster members 1 2 3\ncampaign 1\ndeliver 1->2 RequestVote\n";
        let error = run_script(text).unwrap_err();
        assert_eq!(error.line, 3);
        assert!(error.message.contains("no packet matches 1->2 RequestVote"), "{}", error.message);
        assert!(error.message.contains("the network is empty"), "{}", error.message);
    }

    #[test]
    fn filter_words_match_whole_trace_words() {
        let text = format!(
            "{ELECTION}propose 1 x as 1.1\npersist 1\n\
             expect network 2 1->* AppendEntries prev=0.0\n\
             expect network 0 1->* AppendEntries prev=0.\n\
             drop all 1->3\nexpect network 1\n"
        );
        run_script(&text).expect("the script passes");
    }

    #[test]
    fn timeout_fires_election_timer() {
        let text = "cluster members 1 2 3 election 200..201\n\
                    timeout 2\nexpect role 2 candidate\nexpect term 2 1\n";
        let trace = run_script(text).expect("the script passes");
        assert!(trace.iter().any(|line| line.contains("node 2's election timeout fired")));
        let last = trace.last().expect("the trace has lines");
        assert!(last.trim_start().starts_with("200 ms"), "{last}");
    }

    #[test]
    fn campaign_keeps_clock() {
        let text = "cluster members 1 2 3\ncampaign 3\nexpect role 3 candidate\n";
        let trace = run_script(text).expect("the script passes");
        assert!(trace.iter().all(|line| line.trim_start().starts_with("0 ms")), "{trace:?}");
    }

    #[test]
    fn crash_rejects_more_writes_than_pending() {
        let text = "cluster members 1 2 3\ncampaign 1\ncrash 1 written 2\n";
        let error = run_script(text).unwrap_err();
        assert!(error.message.contains("pending write count 1"), "{}", error.message);
    }
}
