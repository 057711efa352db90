//! Checks on values that arrive from outside: messages and restored state.

use crate::error::Error;
use crate::message::{AppendOutcome, Body, Message};
use crate::types::{LogId, MAX_TERM_OR_INDEX};

/// Rejects a message from the reserved id `0`, or one carrying a term or index above
/// [`MAX_TERM_OR_INDEX`].
pub(super) fn check_message(message: &Message) -> Result<(), Error> {
    if message.from == 0 {
        return Err(Error::ZeroSender);
    }
    check_value("term", message.term)?;
    match &message.body {
        Body::RequestVote { last_log } | Body::PreVote { last_log } => {
            check_log_id("last_log", *last_log)
        }
        Body::VoteResponse { last_log_index, .. } => check_value("last_log_index", *last_log_index),
        Body::PreVoteResponse { .. } => Ok(()),
        Body::AppendEntries { prev, entries, commit } => {
            check_log_id("prev", *prev)?;
            check_value("commit", *commit)?;
            entries.iter().try_for_each(|entry| check_log_id("entry", entry.id()))
        }
        Body::AppendResponse { outcome, last_log_index } => {
            check_value("last_log_index", *last_log_index)?;
            match outcome {
                AppendOutcome::Accepted { match_index } => check_value("match_index", *match_index),
                AppendOutcome::Rejected { rejected_index, hint } => {
                    check_value("rejected_index", *rejected_index)?;
                    check_log_id("hint", *hint)
                }
            }
        }
        Body::InstallSnapshot { meta } => check_log_id("snapshot", meta.last),
    }
}

/// Rejects restored state whose terms or indexes are above [`MAX_TERM_OR_INDEX`].
pub(super) fn check_restore(state: &super::RestoreState) -> Result<(), Error> {
    check_value("hard_state.term", state.hard_state.term)?;
    check_value("applied", state.applied)?;
    if let Some(meta) = &state.snapshot {
        check_log_id("snapshot", meta.last)?;
    }
    state.entries.iter().try_for_each(|entry| check_log_id("entry", entry.id()))
}

fn check_log_id(field: &'static str, id: LogId) -> Result<(), Error> {
    check_value(field, id.term)?;
    check_value(field, id.index)
}

fn check_value(field: &'static str, value: u64) -> Result<(), Error> {
    if value > MAX_TERM_OR_INDEX {
        return Err(Error::ValueOutOfRange { field, value });
    }
    Ok(())
}
