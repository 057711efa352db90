//! The record layout of a log segment, and scanning a segment file for records.
//!
//! A segment file starts with the 8-byte [`SEGMENT_MAGIC`]. Records follow back to back:
//!
//! ```text
//! length  u32 little-endian   bytes in the body (kind byte + payload), at least 1
//! crc     u32 little-endian   CRC-32 (IEEE) of the body
//! body    kind u8, payload
//! ```
//!
//! Payloads use the core crate's record encoding (`sansraft::codec`), which carries its own
//! version byte, except for the two index records, which are a `u64` little-endian.

use std::fmt;

use bytes::{BufMut, Bytes};
use sansraft::codec::{
    decode_entry, decode_exact, decode_hard_state, decode_snapshot_meta, encode_entry,
    encode_hard_state, encode_snapshot_meta,
};
use sansraft::{Entry, HardState, Index, SnapshotMeta};

/// The first bytes of every segment file.
pub const SEGMENT_MAGIC: &[u8; 8] = b"SRKVLOG1";

/// Bytes of the length and CRC fields before each record body.
pub const RECORD_HEADER_LEN: usize = 8;

/// The largest record body accepted when reading. A larger claimed length means the length
/// field itself is damaged.
pub const MAX_RECORD_BYTES: u32 = 1 << 30;

const KIND_ENTRY: u8 = 1;
const KIND_HARD_STATE: u8 = 2;
const KIND_SNAPSHOT: u8 = 3;
const KIND_COMPACT: u8 = 4;
const KIND_TRUNCATE: u8 = 5;

/// One logical record of the log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Record {
    /// A log entry appended at its index.
    Entry(Entry),
    /// The durable term and vote.
    HardState(HardState),
    /// The description of the latest snapshot, whose data is in its own file.
    Snapshot(SnapshotMeta),
    /// Entries at this index and below are covered by a snapshot and may be dropped.
    Compact(Index),
    /// Entries at this index and above are removed.
    Truncate(Index),
}

impl Record {
    /// Appends the record, with its length and CRC header, to `out`.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        let header_at = out.len();
        out.extend_from_slice(&[0; RECORD_HEADER_LEN]);
        let body_at = out.len();
        match self {
            Record::Entry(entry) => {
                out.put_u8(KIND_ENTRY);
                encode_entry(entry, out);
            }
            Record::HardState(hard_state) => {
                out.put_u8(KIND_HARD_STATE);
                encode_hard_state(hard_state, out);
            }
            Record::Snapshot(meta) => {
                out.put_u8(KIND_SNAPSHOT);
                encode_snapshot_meta(meta, out);
            }
            Record::Compact(index) => {
                out.put_u8(KIND_COMPACT);
                out.put_u64_le(*index);
            }
            Record::Truncate(index) => {
                out.put_u8(KIND_TRUNCATE);
                out.put_u64_le(*index);
            }
        }
        let body_len = u32::try_from(out.len() - body_at).expect("a record body fits in u32");
        let crc = crc32fast::hash(&out[body_at..]);
        out[header_at..header_at + 4].copy_from_slice(&body_len.to_le_bytes());
        out[header_at + 4..header_at + 8].copy_from_slice(&crc.to_le_bytes());
    }

    /// Decodes a record body whose CRC already matched.
    fn decode_body(body: Bytes) -> Result<Record, String> {
        let kind = body[0];
        let payload = body.slice(1..);
        let record = match kind {
            KIND_ENTRY => Record::Entry(decode_exact(payload, decode_entry).map_err(text)?),
            KIND_HARD_STATE => {
                Record::HardState(decode_exact(payload, decode_hard_state).map_err(text)?)
            }
            KIND_SNAPSHOT => {
                Record::Snapshot(decode_exact(payload, decode_snapshot_meta).map_err(text)?)
            }
            KIND_COMPACT => Record::Compact(decode_index(&payload)?),
            KIND_TRUNCATE => Record::Truncate(decode_index(&payload)?),
            other => return Err(format!("unknown record kind {other}")),
        };
        Ok(record)
    }
}

fn text(error: impl fmt::Display) -> String {
    error.to_string()
}

fn decode_index(payload: &[u8]) -> Result<Index, String> {
    let bytes: [u8; 8] = payload
        .try_into()
        .map_err(|_| format!("index record has {} payload bytes, expected 8", payload.len()))?;
    Ok(u64::from_le_bytes(bytes))
}

/// A record and the byte offset of its header in the segment file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PositionedRecord {
    /// Offset of the record's length field from the start of the file.
    pub offset: u64,
    /// The record.
    pub record: Record,
}

/// The result of scanning a segment.
#[derive(Debug, Default)]
pub struct Scan {
    /// Every intact record, in file order.
    pub records: Vec<PositionedRecord>,
    /// The damaged record that reaches the end of the file, if there is one. Only the last
    /// segment may end this way, because it is a write that a crash cut short.
    pub torn_at: Option<TornRecord>,
}

/// A damaged record at the end of a file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TornRecord {
    /// Offset of the damaged record's header.
    pub offset: u64,
    /// The problem with it.
    pub reason: String,
}

/// A damaged record that is not at the end of the file, or an unreadable file header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CorruptRecord {
    /// Offset of the damaged record's header (0 for the file header).
    pub offset: u64,
    /// The problem with it.
    pub reason: String,
}

/// Reads every record of a segment file's contents.
///
/// A damaged record whose bytes reach the end of the file is reported in
/// [`Scan::torn_at`]: a header cut short, a body running past the end, a CRC mismatch in the
/// last record, or a zero-filled tail. The caller decides whether a torn end is acceptable.
/// Any other damage is a [`CorruptRecord`].
pub fn scan_segment(contents: &Bytes) -> Result<Scan, CorruptRecord> {
    let mut scan = Scan::default();
    if contents.len() < SEGMENT_MAGIC.len() {
        let reason = format!("file header cut short at {} bytes", contents.len());
        scan.torn_at = Some(TornRecord { offset: 0, reason });
        return Ok(scan);
    }
    if &contents[..SEGMENT_MAGIC.len()] != SEGMENT_MAGIC {
        let reason = "the file does not start with the segment magic bytes".to_owned();
        return Err(CorruptRecord { offset: 0, reason });
    }

    let mut offset = SEGMENT_MAGIC.len();
    while offset < contents.len() {
        match read_record(contents, offset) {
            Ok((record, next)) => {
                scan.records.push(PositionedRecord { offset: offset as u64, record });
                offset = next;
            }
            Err(Damage::Torn(reason)) => {
                scan.torn_at = Some(TornRecord { offset: offset as u64, reason });
                break;
            }
            Err(Damage::Corrupt(reason)) => {
                return Err(CorruptRecord { offset: offset as u64, reason });
            }
        }
    }
    Ok(scan)
}

enum Damage {
    /// The damaged bytes reach the end of the file.
    Torn(String),
    /// Intact-looking bytes follow the damage.
    Corrupt(String),
}

fn read_record(contents: &Bytes, offset: usize) -> Result<(Record, usize), Damage> {
    let remaining = contents.len() - offset;
    if remaining < RECORD_HEADER_LEN {
        return Err(Damage::Torn(format!("record header cut short at {remaining} bytes")));
    }
    let header = &contents[offset..offset + RECORD_HEADER_LEN];
    let body_len = u32::from_le_bytes(header[..4].try_into().expect("4 bytes"));
    let crc = u32::from_le_bytes(header[4..].try_into().expect("4 bytes"));

    if body_len == 0 || body_len > MAX_RECORD_BYTES {
        let reason = format!("record length {body_len} is outside 1..={MAX_RECORD_BYTES}");
        return if contents[offset..].iter().all(|byte| *byte == 0) {
            Err(Damage::Torn(format!("zero-filled tail of {remaining} bytes")))
        } else {
            Err(Damage::Corrupt(reason))
        };
    }
    let body_start = offset + RECORD_HEADER_LEN;
    let body_end = body_start + body_len as usize;
    if body_end > contents.len() {
        let available = contents.len() - body_start;
        let reason = format!("record body of {body_len} bytes cut short at {available} bytes");
        return Err(Damage::Torn(reason));
    }

    let body = contents.slice(body_start..body_end);
    let actual = crc32fast::hash(&body);
    if actual != crc {
        let reason = format!("CRC mismatch: stored {crc:#010x}, computed {actual:#010x}");
        return if body_end == contents.len() {
            Err(Damage::Torn(reason))
        } else {
            Err(Damage::Corrupt(reason))
        };
    }
    match Record::decode_body(body) {
        Ok(record) => Ok((record, body_end)),
        Err(reason) => {
            Err(Damage::Corrupt(format!("undecodable record with a valid CRC: {reason}")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sansraft::{LogId, Membership, Payload};

    fn segment(records: &[Record]) -> Vec<u8> {
        let mut out = SEGMENT_MAGIC.to_vec();
        for record in records {
            record.encode_into(&mut out);
        }
        out
    }

    fn sample_records() -> Vec<Record> {
        let data = Payload::Data(Bytes::from_static(b"put a=1"));
        let membership = Membership::with_members([1, 2, 3]).unwrap();
        vec![
            Record::HardState(HardState { term: 3, vote: Some(2) }),
            Record::Entry(Entry { term: 3, index: 1, payload: data }),
            Record::Snapshot(SnapshotMeta { last: LogId::new(3, 1), membership }),
            Record::Compact(1),
            Record::Truncate(2),
        ]
    }

    #[test]
    fn records_round_trip() {
        let records = sample_records();
        let scan = scan_segment(&Bytes::from(segment(&records))).unwrap();
        let decoded: Vec<Record> = scan.records.into_iter().map(|r| r.record).collect();
        assert_eq!(decoded, records);
        assert_eq!(scan.torn_at, None);
    }

    #[test]
    fn cut_short_record_is_torn() {
        let bytes = segment(&sample_records());
        let full = scan_segment(&Bytes::from(bytes.clone())).unwrap();
        let last_offset = full.records.last().unwrap().offset;
        for cut in [bytes.len() - 1, last_offset as usize + 3, last_offset as usize + 9] {
            let scan = scan_segment(&Bytes::from(bytes[..cut].to_vec())).unwrap();
            assert_eq!(scan.records.len(), 4, "cut at {cut}");
            assert_eq!(scan.torn_at.as_ref().map(|t| t.offset), Some(last_offset));
        }
    }

    #[test]
    fn bad_crc_in_last_record_is_torn() {
        let mut bytes = segment(&sample_records());
        let last = bytes.len() - 1;
        bytes[last] ^= 0xff;
        let scan = scan_segment(&Bytes::from(bytes)).unwrap();
        assert_eq!(scan.records.len(), 4);
        assert!(scan.torn_at.unwrap().reason.contains("CRC mismatch"));
    }

    #[test]
    fn bad_crc_before_last_record_is_corrupt() {
        let records = sample_records();
        let mut bytes = segment(&records);
        let scan = scan_segment(&Bytes::from(bytes.clone())).unwrap();
        let second = scan.records[1].offset as usize;
        bytes[second + RECORD_HEADER_LEN + 2] ^= 0x01;
        let error = scan_segment(&Bytes::from(bytes)).unwrap_err();
        assert_eq!(error.offset, second as u64);
        assert!(error.reason.contains("CRC mismatch"), "{}", error.reason);
    }

    #[test]
    fn zero_filled_tail_is_torn() {
        let mut bytes = segment(&sample_records());
        bytes.extend_from_slice(&[0; 64]);
        let scan = scan_segment(&Bytes::from(bytes)).unwrap();
        assert_eq!(scan.records.len(), 5);
        assert!(scan.torn_at.unwrap().reason.contains("zero-filled"));
    }

    #[test]
    fn wrong_magic_is_corrupt() {
        let mut bytes = segment(&sample_records());
        bytes[0] = b'X';
        let error = scan_segment(&Bytes::from(bytes)).unwrap_err();
        assert_eq!(error.offset, 0);
    }
}
