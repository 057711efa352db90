//! The in-memory log: every entry after the latest snapshot point.

use alloc::vec::Vec;

use crate::types::{Entry, Index, LogId, Term};

/// Entries after `base`, contiguous. `base` is the last entry covered by a snapshot, or the
/// empty prefix `(0, 0)`.
#[derive(Clone, Debug, Default)]
pub(crate) struct Log {
    base: LogId,
    entries: Vec<Entry>,
}

impl Log {
    pub(crate) fn new(base: LogId, entries: Vec<Entry>) -> Self {
        Log { base, entries }
    }

    pub(crate) fn last_id(&self) -> LogId {
        self.entries.last().map(Entry::id).unwrap_or(self.base)
    }

    pub(crate) fn last_index(&self) -> Index {
        self.base.index + self.entries.len() as Index
    }

    /// The last entry a snapshot covers, or `(0, 0)`.
    pub(crate) fn base(&self) -> LogId {
        self.base
    }

    /// Drops every entry up to `base`, which must be in the log (or be the current base).
    pub(crate) fn compact(&mut self, base: LogId) {
        debug_assert!(base.index >= self.base.index, "compaction never moves the base back");
        debug_assert_eq!(
            self.term_at(base.index),
            Some(base.term),
            "compaction base is in the log"
        );
        let count = usize::try_from(base.index - self.base.index).unwrap_or(usize::MAX);
        self.entries.drain(..count.min(self.entries.len()));
        self.base = base;
    }

    /// Drops every entry and starts the log after `base`.
    pub(crate) fn reset(&mut self, base: LogId) {
        self.entries.clear();
        self.base = base;
    }

    /// Returns the number of entries held.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    pub(crate) fn first_index(&self) -> Index {
        self.base.index + 1
    }

    /// Returns the term at `index`, or `None` when the index is past the end or compacted
    /// below the base.
    pub(crate) fn term_at(&self, index: Index) -> Option<Term> {
        if index == self.base.index {
            return Some(self.base.term);
        }
        self.entry(index).map(|entry| entry.term)
    }

    pub(crate) fn entry(&self, index: Index) -> Option<&Entry> {
        let offset = index.checked_sub(self.first_index())?;
        self.entries.get(usize::try_from(offset).ok()?)
    }

    /// Returns true when the log contains `id`.
    pub(crate) fn matches(&self, id: LogId) -> bool {
        self.term_at(id.index) == Some(id.term)
    }

    pub(crate) fn append(&mut self, entry: Entry) {
        debug_assert_eq!(entry.index, self.last_index() + 1, "log append must be contiguous");
        debug_assert!(entry.term >= self.last_id().term, "log terms must not decrease");
        self.entries.push(entry);
    }

    /// Removes every entry at `index` and above.
    pub(crate) fn truncate_from(&mut self, index: Index) {
        debug_assert!(index > self.base.index, "cannot truncate into the snapshot");
        let keep = index.saturating_sub(self.first_index());
        self.entries.truncate(usize::try_from(keep).unwrap_or(usize::MAX));
    }

    /// Returns clones of entries from `from` on, at most `max_count` entries and about
    /// `max_bytes` bytes (always at least one entry when one exists).
    pub(crate) fn slice(&self, from: Index, max_count: usize, max_bytes: usize) -> Vec<Entry> {
        let Some(offset) = from.checked_sub(self.first_index()) else {
            return Vec::new();
        };
        let start = usize::try_from(offset).unwrap_or(usize::MAX).min(self.entries.len());
        let available = &self.entries[start..];
        let mut bytes = 0;
        let mut count = 0;
        for entry in available.iter().take(max_count) {
            bytes += entry.size_hint();
            if count > 0 && bytes > max_bytes {
                break;
            }
            count += 1;
        }
        available[..count].to_vec()
    }

    /// Returns the last index at or below `index` whose term is at most `term`. Terms never
    /// decrease along the log, so a binary search finds it. Indexes below the base resolve
    /// to the base.
    pub(crate) fn last_index_with_term_at_most(&self, index: Index, term: Term) -> LogId {
        let limit = index.min(self.last_index());
        if limit <= self.base.index {
            return self.base;
        }
        let end = usize::try_from(limit - self.base.index).unwrap_or(self.entries.len());
        let candidates = &self.entries[..end];
        let count = candidates.partition_point(|entry| entry.term <= term);
        match count {
            0 => self.base,
            n => candidates[n - 1].id(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::Payload;

    fn log_with_terms(terms: &[Term]) -> Log {
        let entries = terms
            .iter()
            .enumerate()
            .map(|(at, term)| Entry {
                term: *term,
                index: at as Index + 1,
                payload: Payload::Empty,
            })
            .collect();
        Log::new(LogId::default(), entries)
    }

    #[test]
    fn term_lookup_and_matching() {
        let log = log_with_terms(&[1, 1, 2]);
        assert_eq!(log.term_at(0), Some(0));
        assert_eq!(log.term_at(3), Some(2));
        assert_eq!(log.term_at(4), None);
        assert!(log.matches(LogId::new(1, 2)));
        assert!(!log.matches(LogId::new(2, 2)));
    }

    #[test]
    fn conflict_search_by_term() {
        let log = log_with_terms(&[1, 1, 2, 2, 4, 4]);
        assert_eq!(log.last_index_with_term_at_most(6, 3), LogId::new(2, 4));
        assert_eq!(log.last_index_with_term_at_most(3, 3), LogId::new(2, 3));
        assert_eq!(log.last_index_with_term_at_most(9, 9), LogId::new(4, 6));
        assert_eq!(log.last_index_with_term_at_most(6, 0), LogId::new(0, 0));
    }

    #[test]
    fn slice_respects_limits() {
        let log = log_with_terms(&[1; 10]);
        assert_eq!(log.slice(3, 4, usize::MAX).len(), 4);
        assert_eq!(log.slice(3, 100, 40).len(), 2);
        assert_eq!(log.slice(3, 100, 0).len(), 1);
        assert_eq!(log.slice(11, 100, 100).len(), 0);
        assert_eq!(log.slice(0, 100, usize::MAX).len(), 0);
    }

    #[test]
    fn truncate_removes_tail() {
        let mut log = log_with_terms(&[1, 1, 2]);
        log.truncate_from(2);
        assert_eq!(log.last_id(), LogId::new(1, 1));
    }
}
