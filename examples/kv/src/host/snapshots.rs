//! Taking snapshots of the key-value map, and storing and installing a leader's snapshot.

use bytes::Bytes;
use sansraft::{Body, Input, Message, SnapshotMeta};
use tokio::sync::oneshot;

use super::{Host, Internal, ReceivedSnapshot};
use crate::snapshot;
use crate::state::KvState;

impl Host {
    /// Starts writing a snapshot once `snapshot_every` entries were applied since the last
    /// one. The map is encoded here, on the node's task, and written on a blocking thread.
    pub(super) fn maybe_take_snapshot(&mut self) {
        let due = self.applied >= self.last_snapshot_index.saturating_add(self.snapshot_every);
        if self.snapshot_every == 0 || self.snapshot_in_progress || !due {
            return;
        }
        let Some(meta) = self.node.snapshot_meta_at(self.applied) else {
            tracing::error!(
                node = self.id,
                index = self.applied,
                "the applied index is not in the log; cannot take a snapshot"
            );
            self.last_snapshot_index = self.applied;
            return;
        };
        self.snapshot_in_progress = true;
        let data = snapshot::encode(&meta, &self.state);
        let keys = self.state.len();
        let dir = self.snapshot_dir.clone();
        let internal = self.internal.clone();
        tokio::task::spawn_blocking(move || {
            let result = snapshot::write_file(&dir, &meta, &data)
                .map(|_| ())
                .map_err(|error| error.to_string());
            let _ = internal.send(Internal::SnapshotWritten { meta, data, keys, result });
        });
    }

    pub(super) fn finish_own_snapshot(
        &mut self,
        meta: SnapshotMeta,
        data: Bytes,
        keys: usize,
        result: Result<(), String>,
    ) {
        self.snapshot_in_progress = false;
        let index = meta.last.index;
        self.last_snapshot_index = self.last_snapshot_index.max(index);
        if let Err(error) = result {
            tracing::error!(
                node = self.id,
                index,
                %error,
                "writing a snapshot failed; retrying after more entries"
            );
            return;
        }
        match self.node.step(Input::SnapshotTaken(meta.clone())) {
            Ok(()) => {
                self.counters.snapshots_taken += 1;
                tracing::info!(node = self.id, index, bytes = data.len(), keys, "took a snapshot");
                self.latest_snapshot = Some((meta, data));
            }
            Err(error) => {
                // An installed leader snapshot may already cover this index.
                tracing::warn!(
                    node = self.id,
                    index,
                    %error,
                    "the node rejected the snapshot; deleting its file"
                );
                let path = self.snapshot_dir.join(snapshot::file_name(&meta));
                let is_latest =
                    self.latest_snapshot.as_ref().is_some_and(|(latest, _)| *latest == meta);
                if !is_latest {
                    if let Err(error) = std::fs::remove_file(&path) {
                        tracing::warn!(
                            node = self.id,
                            file = %path.display(),
                            %error,
                            "could not delete a snapshot file"
                        );
                    }
                }
            }
        }
    }

    /// Checks a snapshot from the leader and starts storing it. The message reaches the node
    /// only once the data is durable.
    pub(super) fn store_received_snapshot(
        &mut self,
        message: Message,
        data: Bytes,
        stored: oneshot::Sender<bool>,
    ) {
        let from = message.from;
        let Body::InstallSnapshot { meta } = &message.body else {
            let _ = stored.send(false);
            return;
        };
        let meta = meta.clone();
        let state = match snapshot::decode(&data) {
            Ok((described, state)) if described == *meta => state,
            Ok(_) => {
                tracing::warn!(
                    node = self.id,
                    from,
                    index = meta.last.index,
                    "snapshot data does not match its message; rejecting it"
                );
                let _ = stored.send(false);
                return;
            }
            Err(error) => {
                tracing::warn!(
                    node = self.id,
                    from,
                    index = meta.last.index,
                    %error,
                    "invalid snapshot data; rejecting it"
                );
                let _ = stored.send(false);
                return;
            }
        };
        tracing::info!(
            node = self.id,
            from,
            index = meta.last.index,
            bytes = data.len(),
            "received a snapshot"
        );
        let dir = self.snapshot_dir.clone();
        let internal = self.internal.clone();
        tokio::task::spawn_blocking(move || {
            let result = snapshot::write_file(&dir, &meta, &data)
                .map(|_| ())
                .map_err(|error| error.to_string());
            let stored = Internal::ReceivedSnapshotStored {
                message,
                meta: *meta,
                data,
                state,
                stored,
                result,
            };
            let _ = internal.send(stored);
        });
    }

    pub(super) fn install_received_snapshot(
        &mut self,
        message: Message,
        meta: SnapshotMeta,
        data: Bytes,
        state: KvState,
        stored: oneshot::Sender<bool>,
        result: Result<(), String>,
    ) {
        if let Err(error) = result {
            tracing::error!(
                node = self.id,
                index = meta.last.index,
                %error,
                "storing a received snapshot failed"
            );
            let _ = stored.send(false);
            return;
        }
        self.received_snapshot = Some(ReceivedSnapshot { meta, data, state });
        let from = message.from;
        if let Err(error) = self.node.receive(message) {
            tracing::warn!(node = self.id, from, %error, "the node rejected a snapshot message");
        }
        let _ = stored.send(true);
    }

    /// Replaces the map with the snapshot the node just installed.
    pub(super) fn restore_snapshot(&mut self, meta: SnapshotMeta) -> anyhow::Result<()> {
        let received = self.received_snapshot.take().filter(|received| received.meta == meta);
        let (data, state) = match received {
            Some(received) => (received.data, received.state),
            None => snapshot::load_file(&self.snapshot_dir, &meta).map_err(anyhow::Error::msg)?,
        };
        let index = meta.last.index;
        self.state = state;
        self.book.set_replicated(self.state.peers());
        self.applied = index;
        self.reported_applied = index;
        self.last_snapshot_index = index;
        self.latest_snapshot = Some((meta, data));
        self.counters.snapshots_installed += 1;
        tracing::info!(
            node = self.id,
            index,
            keys = self.state.len(),
            "installed a snapshot from the leader"
        );
        Ok(())
    }
}
