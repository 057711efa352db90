//! Snapshot data: its byte layout and its files.
//!
//! The same bytes are stored in a file and sent to a lagging follower:
//!
//! ```text
//! magic      8 bytes, "SRKVSNP1"
//! crc        u32 little-endian, CRC-32 (IEEE) of everything after this field
//! meta       u32 little-endian length, then the core's snapshot description record
//! state      the state machine (see `KvState::encode_into`)
//! ```
//!
//! A snapshot file is named after the last index and term it covers and is written to a
//! temporary name, fsynced and renamed, so a file with a final name is always complete.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use bytes::{BufMut, Bytes};
use sansraft::codec::{decode_exact, decode_snapshot_meta, encode_snapshot_meta};
use sansraft::{Index, SnapshotMeta};

use crate::state::{FormatError, KvState, Reader};
use crate::storage::{sync_dir, StorageError};

const MAGIC: &[u8; 8] = b"SRKVSNP1";

/// Encodes a snapshot of `state` covering `meta.last`.
pub fn encode(meta: &SnapshotMeta, state: &KvState) -> Bytes {
    let mut out = MAGIC.to_vec();
    out.put_u32_le(0);
    let mut meta_bytes = Vec::new();
    encode_snapshot_meta(meta, &mut meta_bytes);
    let meta_len = u32::try_from(meta_bytes.len()).expect("a snapshot description is small");
    out.put_u32_le(meta_len);
    out.extend_from_slice(&meta_bytes);
    state.encode_into(&mut out);
    let crc = crc32fast::hash(&out[MAGIC.len() + 4..]);
    out[MAGIC.len()..MAGIC.len() + 4].copy_from_slice(&crc.to_le_bytes());
    Bytes::from(out)
}

/// Checks the magic and CRC and decodes the description and the state.
pub fn decode(data: &Bytes) -> Result<(SnapshotMeta, KvState), FormatError> {
    let mut reader = Reader::new(data);
    if reader.raw(MAGIC.len(), "magic")? != MAGIC {
        return Err(FormatError("the data does not start with the snapshot magic bytes".into()));
    }
    let stored_crc = reader.u32("crc")?;
    let rest = reader.rest();
    let actual_crc = crc32fast::hash(rest);
    if actual_crc != stored_crc {
        return Err(FormatError(format!(
            "CRC mismatch: stored {stored_crc:#010x}, computed {actual_crc:#010x}"
        )));
    }

    let mut reader = Reader::new(rest);
    let meta_bytes = reader.bytes("snapshot description")?;
    let meta = decode_exact(meta_bytes, decode_snapshot_meta)
        .map_err(|error| FormatError(format!("invalid snapshot description: {error}")))?;
    let state = KvState::decode(&data.slice_ref(reader.rest()))?;
    Ok((meta, state))
}

/// Returns the file name of the snapshot covering `meta.last`.
pub fn file_name(meta: &SnapshotMeta) -> String {
    format!("snapshot-{:020}-{:020}.snap", meta.last.index, meta.last.term)
}

fn parse_index(name: &str) -> Option<Index> {
    let rest = name.strip_prefix("snapshot-")?.strip_suffix(".snap")?;
    let (index, _term) = rest.split_once('-')?;
    index.parse().ok()
}

/// Writes snapshot data durably under its final name and returns the path.
pub fn write_file(dir: &Path, meta: &SnapshotMeta, data: &[u8]) -> Result<PathBuf, StorageError> {
    fs::create_dir_all(dir).map_err(StorageError::io(dir, "create directory"))?;
    let path = dir.join(file_name(meta));
    let temporary = dir.join(format!("{}.tmp", file_name(meta)));
    let mut file = File::create(&temporary).map_err(StorageError::io(&temporary, "create"))?;
    file.write_all(data).map_err(StorageError::io(&temporary, "write"))?;
    file.sync_all().map_err(StorageError::io(&temporary, "fsync"))?;
    drop(file);
    fs::rename(&temporary, &path).map_err(StorageError::io(&path, "rename"))?;
    sync_dir(dir)?;
    Ok(path)
}

/// Reads and checks the snapshot file for `meta`. Returns its data and the state.
pub fn load_file(dir: &Path, meta: &SnapshotMeta) -> Result<(Bytes, KvState), String> {
    let path = dir.join(file_name(meta));
    let data = fs::read(&path).map_err(|error| {
        format!(
            "cannot read snapshot file {}: {error}; the log names it as the latest snapshot",
            path.display()
        )
    })?;
    let data = Bytes::from(data);
    let (stored_meta, state) = decode(&data)
        .map_err(|error| format!("snapshot file {} is invalid: {error}", path.display()))?;
    if stored_meta != *meta {
        return Err(format!(
            "snapshot file {} describes index {} term {}, but the log expects index {} term {}",
            path.display(),
            stored_meta.last.index,
            stored_meta.last.term,
            meta.last.index,
            meta.last.term
        ));
    }
    Ok((data, state))
}

/// Deletes snapshot files and leftover temporary files for indexes below `index`.
pub fn remove_older_than(dir: &Path, index: Index) -> Result<usize, StorageError> {
    let mut removed = 0;
    let items = match fs::read_dir(dir) {
        Ok(items) => items,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(error) => {
            return Err(StorageError::Io {
                path: dir.into(),
                operation: "list directory",
                source: error,
            })
        }
    };
    for item in items {
        let item = item.map_err(StorageError::io(dir, "list directory"))?;
        let name = item.file_name();
        let Some(name) = name.to_str() else { continue };
        let base = name.strip_suffix(".tmp").unwrap_or(name);
        if parse_index(base).is_some_and(|found| found < index) {
            let path = item.path();
            fs::remove_file(&path).map_err(StorageError::io(&path, "remove"))?;
            removed += 1;
        }
    }
    Ok(removed)
}

/// Deletes every snapshot file except the one for `keep`, and every temporary file. A node
/// calls this at start, when only the snapshot its log names matters.
pub fn remove_all_except(dir: &Path, keep: Option<&SnapshotMeta>) -> Result<usize, StorageError> {
    let keep_name = keep.map(file_name);
    let mut removed = 0;
    let items = match fs::read_dir(dir) {
        Ok(items) => items,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(error) => {
            return Err(StorageError::Io {
                path: dir.into(),
                operation: "list directory",
                source: error,
            })
        }
    };
    for item in items {
        let item = item.map_err(StorageError::io(dir, "list directory"))?;
        let name = item.file_name();
        let Some(name) = name.to_str() else { continue };
        let ours = name.starts_with("snapshot-");
        if ours && Some(name) != keep_name.as_deref() {
            let path = item.path();
            fs::remove_file(&path).map_err(StorageError::io(&path, "remove"))?;
            removed += 1;
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::Command;
    use sansraft::{LogId, Membership};

    fn sample() -> (SnapshotMeta, KvState) {
        let membership = Membership::with_members([1, 2, 3]).unwrap();
        let meta = SnapshotMeta { last: LogId::new(2, 40), membership };
        let mut state = KvState::default();
        state.apply(Command::Put { key: "k".into(), value: Bytes::from_static(b"v") });
        (meta, state)
    }

    #[test]
    fn snapshot_round_trips() {
        let (meta, state) = sample();
        let data = encode(&meta, &state);
        assert_eq!(decode(&data), Ok((meta, state)));
    }

    #[test]
    fn damaged_snapshot_is_rejected() {
        let (meta, state) = sample();
        let data = encode(&meta, &state).to_vec();
        for at in [0, 9, data.len() - 1] {
            let mut damaged = data.clone();
            damaged[at] ^= 0x10;
            assert!(decode(&Bytes::from(damaged)).is_err(), "flipped byte {at}");
        }
        assert!(decode(&Bytes::from(data[..data.len() - 1].to_vec())).is_err());
    }
}
