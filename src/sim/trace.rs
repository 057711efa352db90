//! Readable one-line descriptions of simulator events.

use std::fmt::Write;
use std::string::String;
use std::vec::Vec;

use crate::message::{AppendOutcome, Body, Message};
use crate::types::{Entry, LogId, Payload};

/// The lines of a run's trace. Recording is off during bulk runs and turned on to replay a
/// failing seed, which gives the same run because the simulator is deterministic.
#[derive(Debug, Default)]
pub struct Trace {
    enabled: bool,
    lines: Vec<String>,
}

impl Trace {
    /// Creates a trace that records lines only when `enabled`.
    pub fn new(enabled: bool) -> Self {
        Trace { enabled, lines: Vec::new() }
    }

    /// Returns true when lines are recorded.
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// Records a line built by `line`, which runs only when recording is on.
    pub fn record(&mut self, now_ms: u64, line: impl FnOnce() -> String) {
        if self.enabled {
            let text = line();
            self.lines.push(format!("{now_ms:>7} ms  {text}"));
        }
    }

    /// The recorded lines, oldest first.
    pub fn lines(&self) -> &[String] {
        &self.lines
    }

    /// Returns the last `count` lines joined by newlines.
    pub fn tail(&self, count: usize) -> String {
        let start = self.lines.len().saturating_sub(count);
        self.lines[start..].join("\n")
    }
}

/// Describes a message as `from->to Kind term=T details`.
pub fn describe_message(message: &Message) -> String {
    let mut text =
        format!("{}->{} {} term={}", message.from, message.to, message.body.kind(), message.term);
    match &message.body {
        Body::PreVote { last_log } => {
            let _ = write!(text, " last_log={}", describe_id(*last_log));
        }
        Body::PreVoteResponse { granted } => {
            let _ = write!(text, " granted={granted}");
        }
        Body::RequestVote { last_log } => {
            let _ = write!(text, " last_log={}", describe_id(*last_log));
        }
        Body::VoteResponse { granted, last_log_index } => {
            let _ = write!(text, " granted={granted} last_index={last_log_index}");
        }
        Body::AppendEntries { prev, entries, commit } => {
            let _ = write!(text, " prev={} commit={commit}", describe_id(*prev));
            let _ = write!(text, " entries=[{}]", describe_entries(entries));
        }
        Body::InstallSnapshot { meta } => {
            let _ = write!(
                text,
                " last={} members={:?}",
                describe_id(meta.last),
                meta.membership.members()
            );
        }
        Body::AppendResponse { outcome, last_log_index } => match outcome {
            AppendOutcome::Accepted { match_index } => {
                let _ = write!(text, " accepted match={match_index} last_index={last_log_index}");
            }
            AppendOutcome::Rejected { rejected_index, hint } => {
                let _ = write!(
                    text,
                    " rejected at={rejected_index} hint={} last_index={last_log_index}",
                    describe_id(*hint)
                );
            }
        },
    }
    text
}

/// Describes a log id as `term.index`.
pub fn describe_id(id: LogId) -> String {
    format!("{}.{}", id.term, id.index)
}

/// Describes entries compactly: a run of entries is shown as `first..last` with its payloads
/// abbreviated.
pub fn describe_entries(entries: &[Entry]) -> String {
    match entries {
        [] => String::new(),
        [only] => describe_entry(only),
        [first, .., last] if entries.len() > 4 => {
            format!(
                "{} .. {} ({} entries)",
                describe_entry(first),
                describe_entry(last),
                entries.len()
            )
        }
        _ => entries.iter().map(describe_entry).collect::<Vec<_>>().join(" "),
    }
}

/// Describes one entry as `term.index:payload`.
pub fn describe_entry(entry: &Entry) -> String {
    let payload = match &entry.payload {
        Payload::Empty => String::from("noop"),
        Payload::Data(data) => describe_data(data),
        Payload::Membership(membership) => {
            let learners: Vec<String> = membership
                .learners()
                .iter()
                .map(|l| if l.pending { format!("{}*", l.id) } else { format!("{}", l.id) })
                .collect();
            format!("config{:?}/{}", membership.members(), learners.join(","))
        }
    };
    format!("{}.{}:{}", entry.term, entry.index, payload)
}

fn describe_data(data: &[u8]) -> String {
    match core::str::from_utf8(data) {
        Ok(text) if text.len() <= 16 && text.chars().all(|c| c.is_ascii_graphic()) => {
            format!("\"{text}\"")
        }
        _ => format!("<{} bytes>", data.len()),
    }
}
