//! Durable storage of one node: the segmented log of Raft records and snapshot files.
//!
//! The log directory contains append-only segment files (see [`record`] for the layout). Every
//! persist request from the node becomes records in the newest segment. A writer thread
//! fsyncs once per batch of requests (group commit) before the node gets `Persisted`.
//! Replaying the segments in order rebuilds the hard state, the latest snapshot description
//! and the log entries after the snapshot.

pub mod record;
pub mod segment_log;
pub mod writer;

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

pub use segment_log::{LogOptions, Recovered, SegmentLog, TornTail};
pub use writer::{LogWriter, StorageEvent};

/// An error reading or writing the log.
#[derive(Debug)]
pub enum StorageError {
    /// A file operation failed.
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The operation, such as "fsync".
        operation: &'static str,
        /// The error the operating system returned.
        source: io::Error,
    },
    /// A record is damaged somewhere other than the end of the newest segment, or the
    /// records contradict each other.
    Corrupt {
        /// The segment file.
        path: PathBuf,
        /// Byte offset of the damaged record in the file.
        offset: u64,
        /// The problem with it.
        reason: String,
    },
}

impl StorageError {
    /// Returns a closure that wraps an I/O error for `path`.
    pub fn io(path: &Path, operation: &'static str) -> impl FnOnce(io::Error) -> StorageError {
        let path = path.to_path_buf();
        move |source| StorageError::Io { path, operation, source }
    }
}

impl fmt::Display for StorageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StorageError::Io { path, operation, source } => {
                write!(f, "{operation} failed on {}: {source}", path.display())
            }
            StorageError::Corrupt { path, offset, reason } => write!(
                f,
                "corrupt log record in {} at byte offset {offset}: {reason}; the node cannot \
                 start from this log. Restore the data directory from a backup, or remove it \
                 and add the node back to the cluster as a new server",
                path.display()
            ),
        }
    }
}

impl std::error::Error for StorageError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            StorageError::Io { source, .. } => Some(source),
            StorageError::Corrupt { .. } => None,
        }
    }
}

/// Fsyncs a directory so that files created, renamed or removed in it stay that way after a
/// crash.
pub fn sync_dir(dir: &Path) -> Result<(), StorageError> {
    let handle = std::fs::File::open(dir).map_err(StorageError::io(dir, "open directory"))?;
    handle.sync_all().map_err(StorageError::io(dir, "fsync directory"))
}
