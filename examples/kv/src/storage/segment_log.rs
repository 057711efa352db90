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
    /// Offset of the damaged record, where the file now ends.
    pub offset: u64,
    /// How many bytes were cut off.
    pub dropped_bytes: u64,
    /// The problem with the record.
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
            let (max_entry_index, torn) = replay_segment(path, is_newest, &mut replay)?;
            let emptied = torn.as_ref().is_some_and(|torn| torn.offset == 0);
            torn_tail = torn.or(torn_tail);
            if !emptied {
                segments.push_back(Segment {
                    sequence: *sequence,
                    path: path.clone(),
                    max_entry_index,
                });
            }
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

    /// Returns the latest snapshot description written.
    pub fn snapshot(&self) -> Option<&SnapshotMeta> {
        self.snapshot.as_ref()
    }

    /// Returns the paths of the segment files, oldest first.
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
    /// prefix is deleted: a younger segment may contain a truncation record that an older,
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

/// Replays one segment into `replay` and returns the highest entry index it contains. A
/// torn end of the newest segment is cut off and returned, and the file is removed when even
/// its header is incomplete. A torn end of any other segment is corruption.
fn replay_segment(
    path: &Path,
    is_newest: bool,
    replay: &mut Replay,
) -> Result<(Index, Option<TornTail>), StorageError> {
    let contents = Bytes::from(fs::read(path).map_err(StorageError::io(path, "read"))?);
    let scan = scan_segment(&contents).map_err(|corrupt| StorageError::Corrupt {
        path: path.to_path_buf(),
        offset: corrupt.offset,
        reason: corrupt.reason,
    })?;

    let mut torn_tail = None;
    if let Some(torn) = scan.torn_at {
        if !is_newest {
            let reason = format!("{}, in a segment that is not the newest", torn.reason);
            return Err(StorageError::Corrupt {
                path: path.to_path_buf(),
                offset: torn.offset,
                reason,
            });
        }
        let offset = torn.offset;
        let dropped_bytes = contents.len() as u64 - offset;
        if offset == 0 {
            // The file header itself is cut short, so the file contains nothing.
            fs::remove_file(path).map_err(StorageError::io(path, "remove"))?;
        } else {
            cut_torn_tail(path, offset)?;
        }
        torn_tail =
            Some(TornTail { path: path.to_path_buf(), offset, dropped_bytes, reason: torn.reason });
    }

    let mut max_entry_index = 0;
    for positioned in scan.records {
        if let Record::Entry(entry) = &positioned.record {
            max_entry_index = max_entry_index.max(entry.index);
        }
        replay.apply(path, positioned)?;
    }
    Ok((max_entry_index, torn_tail))
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

#[cfg(test)]
mod tests {
    use super::*;
    use sansraft::{LogId, Membership};

    fn entry(term: u64, index: Index) -> Entry {
        let data = Bytes::from(format!("entry {index} of term {term}"));
        Entry { term, index, payload: sansraft::Payload::Data(data) }
    }

    fn request(token: u64) -> PersistRequest {
        PersistRequest {
            token,
            hard_state: None,
            snapshot: None,
            compact_through: None,
            truncate_from: None,
            entries: Vec::new(),
        }
    }

    fn append(
        log: &mut SegmentLog,
        token: u64,
        term: u64,
        indexes: std::ops::RangeInclusive<Index>,
    ) {
        let mut request = request(token);
        request.hard_state = Some(HardState { term, vote: Some(1) });
        request.entries = indexes.map(|index| entry(term, index)).collect();
        log.write(&request).unwrap();
        log.sync().unwrap();
    }

    fn indexes(entries: &[Entry]) -> Vec<Index> {
        entries.iter().map(|entry| entry.index).collect()
    }

    fn open(dir: &Path) -> (SegmentLog, Recovered) {
        SegmentLog::open(dir, LogOptions::default()).unwrap()
    }

    #[test]
    fn appended_entries_recover() {
        let dir = tempfile::tempdir().unwrap();
        let (mut log, recovered) = open(dir.path());
        assert!(recovered.entries.is_empty());
        assert_eq!(recovered.hard_state, HardState::default());
        append(&mut log, 1, 1, 1..=3);
        append(&mut log, 2, 2, 4..=5);
        drop(log);

        let (_, recovered) = open(dir.path());
        assert_eq!(recovered.hard_state, HardState { term: 2, vote: Some(1) });
        assert_eq!(indexes(&recovered.entries), [1, 2, 3, 4, 5]);
        assert_eq!(recovered.entries[3], entry(2, 4));
        assert_eq!(recovered.torn_tail, None);
        assert_eq!(recovered.snapshot, None);
    }

    #[test]
    fn truncation_replays_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let (mut log, _) = open(dir.path());
        append(&mut log, 1, 1, 1..=10);
        let mut replace = request(2);
        replace.hard_state = Some(HardState { term: 3, vote: None });
        replace.truncate_from = Some(6);
        replace.entries = vec![entry(3, 6), entry(3, 7)];
        log.write(&replace).unwrap();
        log.sync().unwrap();
        drop(log);

        let (_, recovered) = open(dir.path());
        assert_eq!(indexes(&recovered.entries), [1, 2, 3, 4, 5, 6, 7]);
        assert_eq!(recovered.entries[5], entry(3, 6));
        assert_eq!(recovered.entries[4], entry(1, 5));
    }

    #[test]
    fn torn_tail_is_cut_off() {
        let dir = tempfile::tempdir().unwrap();
        let (mut log, _) = open(dir.path());
        append(&mut log, 1, 1, 1..=4);
        let newest = log.segment_paths().pop().unwrap();
        drop(log);
        let intact_len = fs::metadata(&newest).unwrap().len();
        let mut file = OpenOptions::new().append(true).open(&newest).unwrap();
        // A header that promises 100 bytes of body, followed by only 5 of them.
        file.write_all(&100u32.to_le_bytes()).unwrap();
        file.write_all(&[0xab; 4 + 5]).unwrap();
        drop(file);

        let (_, recovered) = open(dir.path());
        let torn = recovered.torn_tail.expect("the partial record is reported");
        assert_eq!(torn.path, newest);
        assert_eq!(torn.offset, intact_len);
        assert_eq!(torn.dropped_bytes, 13);
        assert_eq!(fs::metadata(&newest).unwrap().len(), intact_len);
        assert_eq!(indexes(&recovered.entries), [1, 2, 3, 4]);

        let (_, again) = open(dir.path());
        assert_eq!(again.torn_tail, None);
        assert_eq!(indexes(&again.entries), [1, 2, 3, 4]);
    }

    #[test]
    fn segment_with_torn_header_is_removed() {
        let dir = tempfile::tempdir().unwrap();
        let (mut log, _) = open(dir.path());
        append(&mut log, 1, 1, 1..=2);
        drop(log);
        // Opening again starts a second segment; cut it inside its magic bytes.
        let (log, _) = open(dir.path());
        let newest = log.segment_paths().pop().unwrap();
        drop(log);
        fs::write(&newest, &SEGMENT_MAGIC[..3]).unwrap();

        let (log, recovered) = open(dir.path());
        let torn = recovered.torn_tail.expect("the cut header is reported");
        assert_eq!(torn.path, newest);
        assert_eq!(torn.offset, 0);
        assert_eq!(torn.dropped_bytes, 3);
        assert_eq!(indexes(&recovered.entries), [1, 2]);
        assert_eq!(log.segment_paths().len(), 2);
        drop(log);

        let (_, again) = open(dir.path());
        assert_eq!(again.torn_tail, None);
        assert_eq!(indexes(&again.entries), [1, 2]);
    }

    #[test]
    fn crc_mismatch_before_end_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let (mut log, _) = open(dir.path());
        append(&mut log, 1, 1, 1..=6);
        let newest = log.segment_paths().pop().unwrap();
        drop(log);
        let mut contents = fs::read(&newest).unwrap();
        let scan = scan_segment(&Bytes::from(contents.clone())).unwrap();
        let third_entry = scan
            .records
            .iter()
            .filter(|positioned| matches!(positioned.record, Record::Entry(_)))
            .nth(2)
            .unwrap()
            .offset;
        contents[third_entry as usize + 12] ^= 0x40;
        fs::write(&newest, &contents).unwrap();

        let error = SegmentLog::open(dir.path(), LogOptions::default()).unwrap_err();
        match &error {
            StorageError::Corrupt { path, offset, reason } => {
                assert_eq!(path, &newest);
                assert_eq!(*offset, third_entry);
                assert!(reason.contains("CRC mismatch"), "{reason}");
            }
            other => panic!("expected a corruption error, got {other}"),
        }
        let text = error.to_string();
        assert!(text.contains(&newest.display().to_string()), "{text}");
        assert!(text.contains(&format!("byte offset {third_entry}")), "{text}");
    }

    #[test]
    fn torn_record_in_older_segment_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let (mut log, _) = open(dir.path());
        append(&mut log, 1, 1, 1..=3);
        let older = log.segment_paths().pop().unwrap();
        drop(log);
        // Opening again starts a new segment, so the damaged one is no longer the newest.
        let (log, _) = open(dir.path());
        drop(log);
        let contents = fs::read(&older).unwrap();
        fs::write(&older, &contents[..contents.len() - 3]).unwrap();

        let error = SegmentLog::open(dir.path(), LogOptions::default()).unwrap_err();
        assert!(matches!(&error, StorageError::Corrupt { path, .. } if *path == older), "{error}");
        assert!(error.to_string().contains("not the newest"), "{error}");
    }

    #[test]
    fn compaction_deletes_old_segments() {
        let dir = tempfile::tempdir().unwrap();
        let options = LogOptions { segment_bytes: 300 };
        let (mut log, _) = SegmentLog::open(dir.path(), options).unwrap();
        for (token, first) in (1..=10).zip((1..).step_by(5)) {
            append(&mut log, token, 1, first..=first + 4);
        }
        let before = log.segment_paths();
        assert!(before.len() >= 5, "{} segments", before.len());

        let membership = Membership::with_members([1, 2, 3]).unwrap();
        let meta = SnapshotMeta { last: LogId::new(1, 40), membership };
        let mut compact = request(11);
        compact.snapshot = Some(Box::new(meta.clone()));
        compact.compact_through = Some(35);
        log.write(&compact).unwrap();
        let deleted = log.sync().unwrap();
        let after = log.segment_paths();
        assert!(deleted > 0);
        assert_eq!(after[0], before[deleted], "only the oldest segments are deleted");
        for path in &before[..deleted] {
            assert!(!path.exists(), "{} still exists", path.display());
        }
        drop(log);

        let (_, recovered) = SegmentLog::open(dir.path(), options).unwrap();
        assert_eq!(recovered.snapshot, Some(meta));
        assert_eq!(recovered.compact_through, 35);
        assert_eq!(indexes(&recovered.entries), (36..=50).collect::<Vec<_>>());
        assert_eq!(recovered.hard_state, HardState { term: 1, vote: Some(1) });
    }

    #[test]
    fn installed_snapshot_replaces_log() {
        let dir = tempfile::tempdir().unwrap();
        let (mut log, _) = open(dir.path());
        append(&mut log, 1, 1, 1..=5);
        let meta = SnapshotMeta { last: LogId::new(2, 100), membership: Membership::default() };
        let mut install = request(2);
        install.hard_state = Some(HardState { term: 2, vote: None });
        install.snapshot = Some(Box::new(meta.clone()));
        install.compact_through = Some(100);
        install.truncate_from = Some(1);
        install.entries = vec![entry(2, 101)];
        log.write(&install).unwrap();
        log.sync().unwrap();
        drop(log);

        let (_, recovered) = open(dir.path());
        assert_eq!(recovered.snapshot, Some(meta));
        assert_eq!(indexes(&recovered.entries), [101]);
    }

    #[test]
    fn gap_after_compaction_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let (mut log, _) = open(dir.path());
        append(&mut log, 1, 1, 1..=3);
        let newest = log.segment_paths().pop().unwrap();
        drop(log);
        // Rewrite the segment so that entries start at 5 with nothing compacted.
        let mut contents = SEGMENT_MAGIC.to_vec();
        for index in 5..=6 {
            Record::Entry(entry(1, index)).encode_into(&mut contents);
        }
        fs::write(&newest, contents).unwrap();

        let error = SegmentLog::open(dir.path(), LogOptions::default()).unwrap_err();
        assert!(error.to_string().contains("entries start at index 5"), "{error}");
    }
}
