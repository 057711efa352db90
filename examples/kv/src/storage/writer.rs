//! The writer thread: group commit of persist requests.

use std::path::PathBuf;
use std::sync::mpsc;
use std::thread;

use sansraft::{Index, PersistRequest};
use tokio::sync::mpsc::UnboundedSender;

use super::{SegmentLog, StorageError};
use crate::snapshot;

/// A report from the writer thread to the node's task.
#[derive(Debug)]
pub enum StorageEvent {
    /// Every request up to `token` is durable.
    Durable {
        /// The newest durable token.
        token: u64,
        /// How many requests the fsync covered.
        requests: usize,
    },
    /// A write or fsync failed. The writer stopped; the node must stop too, because it can no
    /// longer make anything durable.
    Failed(StorageError),
}

/// The handle to the thread that owns the log files.
///
/// Requests queue while an fsync runs. The thread then writes all of them and covers them
/// with one fsync, so the fsync rate does not bound the request rate.
#[derive(Debug)]
pub struct LogWriter {
    requests: Option<mpsc::Sender<PersistRequest>>,
    thread: Option<thread::JoinHandle<()>>,
}

impl LogWriter {
    /// Starts the writer thread. Once a snapshot description is durable, it also deletes
    /// snapshot files in `snapshot_dir` older than that snapshot.
    pub fn spawn(
        log: SegmentLog,
        snapshot_dir: PathBuf,
        events: UnboundedSender<StorageEvent>,
    ) -> std::io::Result<LogWriter> {
        let (sender, receiver) = mpsc::channel();
        let thread = thread::Builder::new()
            .name("log-writer".to_owned())
            .spawn(move || run(log, snapshot_dir, receiver, events))?;
        Ok(LogWriter { requests: Some(sender), thread: Some(thread) })
    }

    /// Queues a request for writing. Returns false when the writer has stopped.
    pub fn submit(&self, request: PersistRequest) -> bool {
        self.requests.as_ref().is_some_and(|sender| sender.send(request).is_ok())
    }

    /// Stops the thread after it has written and synced every queued request.
    pub fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        self.requests = None;
        if let Some(thread) = self.thread.take() {
            if thread.join().is_err() {
                tracing::error!("the log writer thread panicked");
            }
        }
    }
}

impl Drop for LogWriter {
    fn drop(&mut self) {
        self.stop();
    }
}

fn run(
    mut log: SegmentLog,
    snapshot_dir: PathBuf,
    requests: mpsc::Receiver<PersistRequest>,
    events: UnboundedSender<StorageEvent>,
) {
    let mut cleaned_below: Index = log.snapshot().map_or(0, |meta| meta.last.index);
    while let Ok(first) = requests.recv() {
        match write_batch(&mut log, first, &requests) {
            Ok((token, count)) => {
                let _ = events.send(StorageEvent::Durable { token, requests: count });
            }
            Err(error) => {
                let _ = events.send(StorageEvent::Failed(error));
                return;
            }
        }
        let snapshot_index = log.snapshot().map_or(0, |meta| meta.last.index);
        if snapshot_index > cleaned_below {
            cleaned_below = snapshot_index;
            if let Err(error) = snapshot::remove_older_than(&snapshot_dir, snapshot_index) {
                tracing::warn!(%error, "could not delete old snapshot files");
            }
        }
    }
}

/// Writes `first` and every request already queued behind it, then fsyncs once. Returns the
/// newest token written and the number of requests.
fn write_batch(
    log: &mut SegmentLog,
    first: PersistRequest,
    requests: &mpsc::Receiver<PersistRequest>,
) -> Result<(u64, usize), StorageError> {
    let mut token = first.token;
    let mut count = 1;
    log.write(&first)?;
    while let Ok(next) = requests.try_recv() {
        token = next.token;
        count += 1;
        log.write(&next)?;
    }
    let deleted = log.sync()?;
    if deleted > 0 {
        tracing::debug!(deleted, "deleted compacted log segments");
    }
    Ok((token, count))
}
