//! A simulated disk: persist requests become durable late, and a crash loses the ones that
//! were not yet written.

use std::collections::{BTreeMap, VecDeque};
use std::vec::Vec;

use crate::output::PersistRequest;
use crate::types::{Entry, HardState, Index, SnapshotMeta};

/// One server's durable state and its queue of writes in progress.
#[derive(Debug, Default, Clone)]
pub struct Disk {
    /// The durable term and vote.
    pub hard_state: HardState,
    /// The durable log, contiguous from the entry after `base_index`.
    pub log: Vec<Entry>,
    /// The index just before the first entry: everything through it is compacted.
    pub base_index: Index,
    /// The latest durable snapshot description.
    pub snapshot: Option<SnapshotMeta>,
    /// Stored snapshot data by index: the state machine's digest at that index. Data is
    /// written whole before a node hears of it, as a host writes a file and renames it.
    pub snapshots: BTreeMap<Index, u64>,
    /// Requests not yet durable, each with the time it completes.
    pending: VecDeque<(u64, PersistRequest)>,
}

impl Disk {
    /// Queues a request that becomes durable at `ready_ms`. Writes complete in order.
    pub fn submit(&mut self, request: PersistRequest, ready_ms: u64) {
        let ready_ms = self.pending.back().map_or(ready_ms, |(last, _)| ready_ms.max(*last));
        self.pending.push_back((ready_ms, request));
    }

    /// Returns when the oldest pending write completes.
    pub fn next_ready_ms(&self) -> Option<u64> {
        self.pending.front().map(|(ready, _)| *ready)
    }

    /// Returns the number of pending writes.
    pub fn pending_len(&self) -> usize {
        self.pending.len()
    }

    /// Writes every request ready by `now_ms` (all of them when `now_ms` is `None`) and
    /// returns the newest token written, or an error naming a request that breaks the
    /// persistence contract.
    pub fn complete(&mut self, now_ms: Option<u64>) -> Result<Option<u64>, String> {
        let mut newest = None;
        while let Some((ready, _)) = self.pending.front() {
            if now_ms.is_some_and(|now| *ready > now) {
                break;
            }
            let (_, request) = self.pending.pop_front().expect("front was just checked");
            self.write(&request)?;
            newest = Some(request.token);
        }
        Ok(newest)
    }

    /// Writes the first `count` pending requests and loses the rest, as a crash does.
    pub fn crash(&mut self, count: usize) -> Result<(), String> {
        for _ in 0..count.min(self.pending.len()) {
            let (_, request) = self.pending.pop_front().expect("count is within the queue");
            self.write(&request)?;
        }
        self.pending.clear();
        Ok(())
    }

    /// Returns the last durable log index, counting the compacted prefix.
    pub fn last_index(&self) -> Index {
        self.log.last().map_or(self.base_index, |entry| entry.index)
    }

    /// Returns the durable entry at `index`, if the log holds it.
    pub fn entry(&self, index: Index) -> Option<&Entry> {
        let first = self.log.first()?.index;
        let offset = usize::try_from(index.checked_sub(first)?).ok()?;
        self.log.get(offset)
    }

    fn write(&mut self, request: &PersistRequest) -> Result<(), String> {
        if let Some(hard_state) = request.hard_state {
            self.hard_state = hard_state;
        }
        if let Some(meta) = &request.snapshot {
            if !self.snapshots.contains_key(&meta.last.index) {
                return Err(format!(
                    "persist token {} records snapshot {} whose data was never stored",
                    request.token, meta.last.index
                ));
            }
            self.snapshot = Some((**meta).clone());
            self.snapshots.retain(|index, _| *index >= meta.last.index);
        }
        if let Some(through) = request.compact_through {
            self.log.retain(|entry| entry.index > through);
            self.base_index = self.base_index.max(through);
        }
        if let Some(from) = request.truncate_from {
            self.log.retain(|entry| entry.index < from);
        }
        for entry in &request.entries {
            let expected = self.last_index() + 1;
            if entry.index != expected {
                return Err(format!(
                    "persist token {} appends entry {} where the durable log expects {}",
                    request.token, entry.index, expected
                ));
            }
            self.log.push(entry.clone());
        }
        Ok(())
    }
}
