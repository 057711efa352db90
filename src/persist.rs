//! Persist requests, their tokens, and which log prefix is durable.

use alloc::boxed::Box;
use alloc::collections::VecDeque;
use alloc::vec::Vec;

use crate::error::Error;
use crate::output::PersistRequest;
use crate::types::{Entry, HardState, Index, SnapshotMeta};

/// Collects state changes into persist requests and tracks their acknowledgement.
///
/// Changes made while handling inputs accumulate in one pending batch; `flush` turns it into a
/// request with the next token. The durable index is the last log index that is known to be on
/// disk and still part of the log: a truncation lowers it at once, because the host may crash
/// after removing the entries and before writing their replacements.
#[derive(Debug)]
pub(crate) struct PersistTracker {
    next_token: u64,
    acknowledged: u64,
    hard_state_dirty: bool,
    snapshot: Option<Box<SnapshotMeta>>,
    compact_through: Option<Index>,
    truncate_from: Option<Index>,
    entries: Vec<Entry>,
    /// Token and last log index of each issued, unacknowledged request.
    outstanding: VecDeque<(u64, Index)>,
    durable_index: Index,
    last_batch_len: usize,
}

impl PersistTracker {
    pub(crate) fn new(durable_index: Index) -> Self {
        PersistTracker {
            next_token: 1,
            acknowledged: 0,
            hard_state_dirty: false,
            snapshot: None,
            compact_through: None,
            truncate_from: None,
            entries: Vec::new(),
            outstanding: VecDeque::new(),
            durable_index,
            last_batch_len: 0,
        }
    }

    pub(crate) fn durable_index(&self) -> Index {
        self.durable_index
    }

    pub(crate) fn last_issued(&self) -> u64 {
        self.next_token - 1
    }

    fn is_dirty(&self) -> bool {
        self.hard_state_dirty
            || self.snapshot.is_some()
            || self.compact_through.is_some()
            || self.truncate_from.is_some()
            || !self.entries.is_empty()
    }

    pub(crate) fn mark_hard_state(&mut self) {
        self.hard_state_dirty = true;
    }

    pub(crate) fn append(&mut self, entry: Entry) {
        if self.entries.capacity() == 0 {
            // Batches tend to repeat their size, so start at the last one's length instead
            // of growing through every power of two.
            self.entries.reserve(self.last_batch_len.max(1));
        }
        self.entries.push(entry);
    }

    /// Records a new latest snapshot whose data the host already stored, and that entries
    /// through `compact_through` may be deleted.
    pub(crate) fn record_snapshot(&mut self, meta: SnapshotMeta, compact_through: Index) {
        self.entries.retain(|entry| entry.index > compact_through);
        self.snapshot = Some(Box::new(meta));
        self.compact_through = Some(self.compact_through.unwrap_or(0).max(compact_through));
    }

    /// Records that log entries from `index` on were removed.
    pub(crate) fn truncate(&mut self, index: Index) {
        self.entries.retain(|entry| entry.index < index);
        self.truncate_from = Some(self.truncate_from.map_or(index, |from| from.min(index)));
        let kept = index.saturating_sub(1);
        self.durable_index = self.durable_index.min(kept);
        for (_, last) in self.outstanding.iter_mut() {
            *last = (*last).min(kept);
        }
    }

    /// Returns the token that must be acknowledged before a message depending on the current
    /// state may leave, or `None` when everything is already durable.
    pub(crate) fn barrier(&self) -> Option<u64> {
        if self.is_dirty() {
            Some(self.next_token)
        } else if self.outstanding.is_empty() {
            None
        } else {
            Some(self.last_issued())
        }
    }

    /// Turns the pending changes into a request, if there are any.
    pub(crate) fn flush(
        &mut self,
        hard_state: HardState,
        last_index: Index,
    ) -> Option<PersistRequest> {
        if !self.is_dirty() {
            return None;
        }
        let token = self.next_token;
        self.next_token += 1;
        if !self.entries.is_empty() {
            self.last_batch_len = self.entries.len();
        }
        self.outstanding.push_back((token, last_index));
        let request = PersistRequest {
            token,
            hard_state: self.hard_state_dirty.then_some(hard_state),
            snapshot: self.snapshot.take(),
            compact_through: self.compact_through.take(),
            truncate_from: self.truncate_from.take(),
            entries: core::mem::take(&mut self.entries),
        };
        self.hard_state_dirty = false;
        Some(request)
    }

    /// Records the host's acknowledgement of every request up to `token`.
    pub(crate) fn acknowledge(&mut self, token: u64) -> Result<(), Error> {
        if token <= self.acknowledged {
            return Err(Error::StaleToken { token, acknowledged: self.acknowledged });
        }
        if token >= self.next_token {
            return Err(Error::UnknownToken { token, issued: self.last_issued() });
        }
        self.acknowledged = token;
        while let Some((issued, last)) = self.outstanding.front().copied() {
            if issued > token {
                break;
            }
            self.durable_index = last;
            self.outstanding.pop_front();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::Payload;

    fn entry(index: Index) -> Entry {
        Entry { term: 1, index, payload: Payload::Empty }
    }

    #[test]
    fn truncation_clamps_outstanding_durable_index() {
        let mut tracker = PersistTracker::new(0);
        for index in 1..=10 {
            tracker.append(entry(index));
        }
        let first = tracker.flush(HardState::default(), 10).unwrap();
        tracker.truncate(6);
        tracker.append(entry(6));
        let second = tracker.flush(HardState::default(), 6).unwrap();
        assert_eq!(second.truncate_from, Some(6));
        tracker.acknowledge(first.token).unwrap();
        assert_eq!(tracker.durable_index(), 5);
        tracker.acknowledge(second.token).unwrap();
        assert_eq!(tracker.durable_index(), 6);
    }

    #[test]
    fn tokens_must_increase_and_exist() {
        let mut tracker = PersistTracker::new(0);
        tracker.mark_hard_state();
        let request = tracker.flush(HardState::default(), 0).unwrap();
        assert_eq!(tracker.acknowledge(2), Err(Error::UnknownToken { token: 2, issued: 1 }));
        tracker.acknowledge(request.token).unwrap();
        assert_eq!(tracker.acknowledge(1), Err(Error::StaleToken { token: 1, acknowledged: 1 }));
        assert_eq!(tracker.acknowledge(0), Err(Error::StaleToken { token: 0, acknowledged: 1 }));
    }

    #[test]
    fn barrier_follows_pending_and_outstanding() {
        let mut tracker = PersistTracker::new(0);
        assert_eq!(tracker.barrier(), None);
        tracker.mark_hard_state();
        assert_eq!(tracker.barrier(), Some(1));
        tracker.flush(HardState::default(), 0);
        assert_eq!(tracker.barrier(), Some(1));
        tracker.acknowledge(1).unwrap();
        assert_eq!(tracker.barrier(), None);
    }
}
