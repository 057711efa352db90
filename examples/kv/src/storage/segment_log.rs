//! The segmented log: open and replay, append persist requests, fsync, delete compacted
//! segments.

use std::collections::VecDeque;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use sansraft::{Entry, HardState, Index, PersistRequest, SnapshotMeta};

use super::record::{scan_segment, PositionedRecord, Record, SEGMENT_MAGIC};
use super::{sync_dir, StorageError};

/// Buffered record bytes are written to the file once they reach this size, before the
/// next fsync.
const WRITE_BUFFER_BYTES: usize = 256 * 1024;

/// Settings of a segmented log.
#[derive(Clone, Copy, Debug)]
pub struct LogOptions {
    /// Once the newest segment reaches this size in bytes, the next fsync starts a new one.
    pub segment_bytes: u64,
}

impl Default for LogOptions {
    fn default() -> Self {
        LogOptions { segment_bytes: 4 * 1024 * 1024 }
    }
}

/// The durable state found when a log was opened.
#[derive(Clone, Debug, Default)]
pub struct Recovered {
    /// The durable term and vote.
    pub hard_state: HardState,
    /// The latest durable snapshot description.
    pub snapshot: Option<SnapshotMeta>,
    /// Entries at this index and below are covered by the snapshot.
    pub compact_through: Index,
    /// The log entries after `compact_through`, contiguous.
    pub entries: Vec<Entry>,
    /// The damaged end of the newest segment that was cut off, if there was one.
    pub torn_tail: Option<TornTail>,
}

/// A record at the end of the newest segment that a crash cut short. Opening the log
/// truncates the file before it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TornTail {
    /// The segment file.
    pub path: PathBuf,
    /// Where the damaged record started; the file now ends here.
    pub offset: u64,
    /// How many bytes were cut off.
    pub dropped_bytes: u64,
    /// What was wrong with the record.
    pub reason: String,
}

#[derive(Debug)]
struct Segment {
    sequence: u64,
    path: PathBuf,
    /// The highest entry index written to this segment, 0 if none.
    max_entry_index: Index,
}

/// An append-only log split into segment files, written by one thread.
///
/// [`write`](SegmentLog::write) buffers the records of a persist request and
/// [`sync`](SegmentLog::sync) makes everything written so far durable, so one fsync covers
/// any number of requests. Every segment starts with the hard state, snapshot description
/// and compaction point in force when it was created, so deleting older segments loses no
/// state.
#[derive(Debug)]
pub struct SegmentLog {
    dir: PathBuf,
    options: LogOptions,
    /// Oldest first; the last one is being appended to.
    segments: VecDeque<Segment>,
    active: File,
    active_len: u64,
    buffer: Vec<u8>,
    hard_state: HardState,
    snapshot: Option<SnapshotMeta>,
    compact_through: Index,
}

impl SegmentLog {
    /// Opens the log in `dir` (creating it if needed), replays every segment and starts a new
    /// segment for appends. A damaged record at the end of the newest segment is cut off
    /// and reported in [`Recovered::torn_tail`]; damage anywhere else is an error.
    pub fn open(dir: &Path, options: LogOptions) -> Result<(SegmentLog, Recovered), StorageError> {
        fs::create_dir_all(dir).map_err(StorageError::io(dir, "create directory"))?;
        let paths = list_segments(dir)?;
        let mut replay = Replay::default();
        let mut segments = VecDeque::new();
        let mut torn_tail = None;

        for (position, (sequence, path)) in paths.iter().enumerate() {
            let is_newest = position + 1 == paths.len();
            let contents = fs::read(path).map_err(StorageError::io(path, "read"))?;
            let contents = Bytes::from(contents);
            let scan = scan_segment(&contents).map_err(|corrupt| StorageError::Corrupt {
                path: path.clone(),
                offset: corrupt.offset,
                reason: corrupt.reason,
            })?;
            if let Some(torn) = scan.torn_at {
                if !is_newest {
                    let reason = format!("{}, in a segment that is not the newest", torn.reason);
                    return Err(StorageError::Corrupt {
                        path: path.clone(),
                        offset: torn.offset,
                        reason,
                    });
                }
                let dropped_bytes = contents.len() as u64 - torn.offset;
                let offset = torn.offset;
                torn_tail = Some(TornTail {
                    path: path.clone(),
                    offset,
                    dropped_bytes,
                    reason: torn.reason,
                });
                if offset == 0 {
                    // The file header itself is cut short, so the file holds nothing.
                    fs::remove_file(path).map_err(StorageError::io(path, "remove"))?;
                    continue;
                }
                cut_torn_tail(path, offset)?;
            }
            let mut max_entry_index = 0;
            for positioned in scan.records {
                if let Record::Entry(entry) = &positioned.record {
                    max_entry_index = max_entry_index.max(entry.index);
                }
                replay.apply(path, positioned)?;
            }
            segments.push_back(Segment {
                sequence: *sequence,
                path: path.clone(),
                max_entry_index,
            });
        }
        let entries = replay.finish(dir)?;

        let next_sequence = segments.back().map_or(1, |segment| segment.sequence + 1);
        let (active, segment) = create_segment(
            dir,
            next_sequence,
            &replay.hard_state,
            &replay.snapshot,
            replay.compact_through,
        )?;
        let active_len =
            fs::metadata(&segment.path).map_err(StorageError::io(&segment.path, "stat"))?.len();
        segments.push_back(segment);

        let recovered = Recovered {
            hard_state: replay.hard_state,
            snapshot: replay.snapshot.clone(),
            compact_through: replay.compact_through,
            entries,
            torn_tail,
        };
        let log = SegmentLog {
            dir: dir.to_path_buf(),
            options,
            segments,
            active,
            active_len,
            buffer: Vec::new(),
            hard_state: recovered.hard_state,
            snapshot: replay.snapshot,
            compact_through: replay.compact_through,
        };
        Ok((log, recovered))
    }

    /// Appends the records of one persist request, in the order the request defines: hard
    /// state, snapshot description, compaction point, truncation point, entries. Nothing is
    /// durable until [`sync`](SegmentLog::sync).
    pub fn write(&mut self, request: &PersistRequest) -> Result<(), StorageError> {
        if let Some(hard_state) = request.hard_state {
            self.push(&Record::HardState(hard_state));
            self.hard_state = hard_state;
        }
        if let Some(meta) = &request.snapshot {
            self.push(&Record::Snapshot((**meta).clone()));
            self.snapshot = Some((**meta).clone());
        }
        if let Some(index) = request.compact_through {
            self.push(&Record::Compact(index));
            self.compact_through = self.compact_through.max(index);
        }
        if let Some(index) = request.truncate_from {
            self.push(&Record::Truncate(index));
        }
        for entry in &request.entries {
            self.push(&Record::Entry(entry.clone()));
            let active = self.segments.back_mut().expect("the active segment is listed");
            active.max_entry_index = active.max_entry_index.max(entry.index);
        }
        if self.buffer.len() >= WRITE_BUFFER_BYTES {
            self.write_buffer()?;
        }
        Ok(())
    }

    /// Makes every record written so far durable, then starts a new segment if the current
    /// one is full and deletes the oldest segments whose entries are all compacted.
    /// Returns how many segments were deleted.
    pub fn sync(&mut self) -> Result<usize, StorageError> {
        self.write_buffer()?;
        let path = self.active_path().to_path_buf();
        self.active.sync_data().map_err(StorageError::io(&path, "fsync"))?;
        if self.active_len >= self.options.segment_bytes {
            self.roll()?;
        }
        self.delete_compacted()
    }

    /// The latest snapshot description written.
    pub fn snapshot(&self) -> Option<&SnapshotMeta> {
        self.snapshot.as_ref()
    }

    /// The paths of the segment files, oldest first.
    pub fn segment_paths(&self) -> Vec<PathBuf> {
        self.segments.iter().map(|segment| segment.path.clone()).collect()
    }

    fn active_path(&self) -> &Path {
        &self.segments.back().expect("the active segment is listed").path
    }

    fn push(&mut self, record: &Record) {
        record.encode_into(&mut self.buffer);
    }

    fn write_buffer(&mut self) -> Result<(), StorageError> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let path = self.active_path().to_path_buf();
        self.active.write_all(&self.buffer).map_err(StorageError::io(&path, "write"))?;
        self.active_len += self.buffer.len() as u64;
        self.buffer.clear();
        Ok(())
    }

    fn roll(&mut self) -> Result<(), StorageError> {
        let sequence = self.segments.back().expect("the active segment is listed").sequence + 1;
        let (file, segment) = create_segment(
            &self.dir,
            sequence,
            &self.hard_state,
            &self.snapshot,
            self.compact_through,
        )?;
        self.active_len =
            fs::metadata(&segment.path).map_err(StorageError::io(&segment.path, "stat"))?.len();
        self.active = file;
        self.segments.push_back(segment);
        Ok(())
    }

    /// Deletes segments from the oldest while every entry in them is compacted. Only a
    /// prefix is deleted: a younger segment may hold a truncation record that an older,
    /// retained segment's entries depend on.
    fn delete_compacted(&mut self) -> Result<usize, StorageError> {
        let mut deleted = 0;
        while self.segments.len() > 1 && self.segments[0].max_entry_index <= self.compact_through {
            let segment = self.segments.pop_front().expect("length was checked");
            fs::remove_file(&segment.path).map_err(StorageError::io(&segment.path, "remove"))?;
            deleted += 1;
        }
        Ok(deleted)
    }
}

/// Rebuilds the state from records in log order.
#[derive(Default)]
struct Replay {
    hard_state: HardState,
    snapshot: Option<SnapshotMeta>,
    compact_through: Index,
    entries: VecDeque<Entry>,
}

impl Replay {
    fn apply(&mut self, path: &Path, positioned: PositionedRecord) -> Result<(), StorageError> {
        let PositionedRecord { offset, record } = positioned;
        match record {
            Record::HardState(hard_state) => self.hard_state = hard_state,
            Record::Snapshot(meta) => self.snapshot = Some(meta),
            Record::Compact(index) => {
                self.compact_through = self.compact_through.max(index);
                while self.entries.front().is_some_and(|entry| entry.index <= index) {
                    self.entries.pop_front();
                }
            }
            Record::Truncate(index) => {
                while self.entries.back().is_some_and(|entry| entry.index >= index) {
                    self.entries.pop_back();
                }
            }
            Record::Entry(entry) => {
                // Deleted segments held only compacted entries, so the first entry seen may
                // start anywhere; `finish` checks that it starts early enough.
                if let Some(last) = self.entries.back() {
                    if entry.index != last.index + 1 {
                        let reason = format!(
                            "entry {} does not follow entry {} and no truncation record \
                             precedes it",
                            entry.index, last.index
                        );
                        return Err(StorageError::Corrupt {
                            path: path.to_path_buf(),
                            offset,
                            reason,
                        });
                    }
                }
                if entry.index > self.compact_through {
                    self.entries.push_back(entry);
                }
            }
        }
        Ok(())
    }

    fn finish(&mut self, dir: &Path) -> Result<Vec<Entry>, StorageError> {
        while self.entries.front().is_some_and(|entry| entry.index <= self.compact_through) {
            self.entries.pop_front();
        }
        if let Some(first) = self.entries.front() {
            if first.index > self.compact_through + 1 {
                let reason = format!(
                    "the entries start at index {} but the snapshot covers only up to {}, \
                     so entries in between are missing",
                    first.index, self.compact_through
                );
                return Err(StorageError::Corrupt { path: dir.to_path_buf(), offset: 0, reason });
            }
        }
        Ok(self.entries.drain(..).collect())
    }
}

fn segment_name(sequence: u64) -> String {
    format!("segment-{sequence:010}.log")
}

fn parse_segment_name(name: &str) -> Option<u64> {
    let digits = name.strip_prefix("segment-")?.strip_suffix(".log")?;
    if digits.len() != 10 || !digits.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Lists the segment files in `dir`, oldest first.
fn list_segments(dir: &Path) -> Result<Vec<(u64, PathBuf)>, StorageError> {
    let mut segments = Vec::new();
    for item in fs::read_dir(dir).map_err(StorageError::io(dir, "list directory"))? {
        let item = item.map_err(StorageError::io(dir, "list directory"))?;
        let name = item.file_name();
        if let Some(sequence) = name.to_str().and_then(parse_segment_name) {
            segments.push((sequence, item.path()));
        }
    }
    segments.sort();
    Ok(segments)
}

fn cut_torn_tail(path: &Path, offset: u64) -> Result<(), StorageError> {
    let file = OpenOptions::new().write(true).open(path).map_err(StorageError::io(path, "open"))?;
    file.set_len(offset).map_err(StorageError::io(path, "truncate"))?;
    file.sync_all().map_err(StorageError::io(path, "fsync"))
}

/// Creates a segment that starts with the given state, durable before it is returned.
fn create_segment(
    dir: &Path,
    sequence: u64,
    hard_state: &HardState,
    snapshot: &Option<SnapshotMeta>,
    compact_through: Index,
) -> Result<(File, Segment), StorageError> {
    let path = dir.join(segment_name(sequence));
    let mut contents = SEGMENT_MAGIC.to_vec();
    Record::HardState(*hard_state).encode_into(&mut contents);
    if let Some(meta) = snapshot {
        Record::Snapshot(meta.clone()).encode_into(&mut contents);
    }
    if compact_through > 0 {
        Record::Compact(compact_through).encode_into(&mut contents);
    }

    let mut file = OpenOptions::new()
        .create_new(true)
        .append(true)
        .open(&path)
        .map_err(StorageError::io(&path, "create"))?;
    file.write_all(&contents).map_err(StorageError::io(&path, "write"))?;
    file.sync_all().map_err(StorageError::io(&path, "fsync"))?;
    sync_dir(dir)?;
    Ok((file, Segment { sequence, path, max_entry_index: 0 }))
}
