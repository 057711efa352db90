//! Carrying out what the node emits.

use sansraft::{Entry, Input, Membership, Message, NodeId, Output, Payload, Role, Term};

use super::{Host, WriteOutcome};
use crate::state::Command;
use crate::status::role_name;

impl Host {
    /// Drains every output, then reports the applied index and steps inputs found on the
    /// way, repeating until the node has nothing more to emit.
    pub(super) fn drain(&mut self) -> anyhow::Result<()> {
        loop {
            while let Some(output) = self.node.poll_output() {
                self.handle_output(output)?;
            }
            self.received_snapshot = None;
            let mut stepped = false;
            if self.applied > self.reported_applied {
                self.reported_applied = self.applied;
                let index = self.applied;
                if let Err(error) = self.node.step(Input::Applied { index }) {
                    tracing::error!(
                        node = self.id,
                        index,
                        %error,
                        "the node rejected the applied index"
                    );
                }
                stepped = true;
            }
            for input in std::mem::take(&mut self.deferred) {
                if let Err(error) = self.node.step(input) {
                    tracing::warn!(node = self.id, %error, "the node rejected an input");
                }
                stepped = true;
            }
            self.maybe_take_snapshot();
            if !stepped {
                return Ok(());
            }
        }
    }

    fn handle_output(&mut self, output: Output) -> anyhow::Result<()> {
        match output {
            Output::Send(message) => self.outbound.send(&message),
            Output::SendSnapshot(message) => self.send_snapshot(message),
            Output::Persist(request) => {
                let submitted = self.writer.as_ref().is_some_and(|writer| writer.submit(request));
                if !submitted {
                    anyhow::bail!(
                        "the log writer has stopped; the node cannot make anything durable"
                    );
                }
            }
            Output::RestoreSnapshot(meta) => self.restore_snapshot(meta)?,
            Output::Apply(entry) => self.apply(entry),
            Output::Proposal { id, outcome } => {
                if let Some(waiter) = self.waiting.remove(&id) {
                    let _ = waiter.send(Ok(WriteOutcome { id, outcome }));
                }
            }
            Output::RoleChanged { role, term } => self.on_role_changed(role, term),
            Output::LeaderChanged { leader, term } => self.on_leader_changed(leader, term),
            Output::MembershipChanged { membership } => log_membership(self.id, &membership),
        }
        Ok(())
    }

    fn send_snapshot(&mut self, message: Message) {
        let to = message.to;
        let requested = match &message.body {
            sansraft::Body::InstallSnapshot { meta } => Some(meta),
            _ => None,
        };
        match &self.latest_snapshot {
            Some((meta, data)) if Some(meta) == requested.map(|v| &**v) => {
                tracing::info!(
                    node = self.id,
                    peer = to,
                    index = meta.last.index,
                    bytes = data.len(),
                    "sending a snapshot"
                );
                self.outbound.send_snapshot(&message, data.clone());
            }
            _ => {
                tracing::error!(
                    node = self.id,
                    peer = to,
                    "the node requested a snapshot send, but this host does not have that \
                     snapshot's data"
                );
                self.deferred.push(Input::SnapshotSent { to, success: false });
            }
        }
    }

    fn apply(&mut self, entry: Entry) {
        debug_assert_eq!(entry.index, self.applied + 1, "entries are applied in order");
        self.applied = entry.index;
        match entry.payload {
            Payload::Empty => {}
            Payload::Membership(membership) => {
                tracing::info!(
                    node = self.id,
                    index = entry.index,
                    members = ?membership.members(),
                    learners = ?learner_list(&membership),
                    "membership change committed"
                );
            }
            Payload::Data(data) => match Command::decode(&data) {
                Ok(command) => {
                    let changes_peers =
                        matches!(command, Command::SetPeer { .. } | Command::RemovePeer { .. });
                    self.state.apply(command);
                    if changes_peers {
                        self.book.set_replicated(self.state.peers());
                    }
                }
                Err(error) => {
                    // Every node skips the same entry, so the replicas stay identical.
                    tracing::error!(
                        node = self.id,
                        index = entry.index,
                        %error,
                        "committed entry is not a valid command; skipping it"
                    );
                }
            },
        }
    }

    fn on_role_changed(&mut self, role: Role, term: Term) {
        match role {
            Role::Candidate => {
                tracing::info!(node = self.id, term, "election timeout; starting an election")
            }
            Role::Leader => tracing::info!(node = self.id, term, "won the election; now leader"),
            Role::Follower => {
                tracing::info!(node = self.id, term, role = role_name(role), "role changed")
            }
        }
    }

    fn on_leader_changed(&mut self, leader: Option<NodeId>, term: Term) {
        match leader {
            Some(leader) => tracing::info!(node = self.id, leader, term, "leader changed"),
            None => tracing::info!(node = self.id, term, "no leader known"),
        }
        if leader == Some(self.id) && self.registered_term != Some(term) {
            self.registered_term = Some(term);
            self.register_addresses();
        }
    }

    /// Proposes the addresses of every listed server that the replicated table lacks or
    /// has wrong, so that any future leader can reach them.
    fn register_addresses(&mut self) {
        let membership = self.node.membership().clone();
        for id in membership.ids() {
            let known =
                if id == self.id { Some(self.addresses.clone()) } else { self.book.get(id) };
            let Some(addresses) = known else { continue };
            if self.state.peers().get(&id) == Some(&addresses) {
                continue;
            }
            let command = Command::SetPeer { id, addresses };
            if let Err(error) = self.node.propose(command.encode()) {
                tracing::warn!(
                    node = self.id,
                    peer = id,
                    %error,
                    "could not propose the peer's addresses"
                );
            }
        }
    }
}

fn learner_list(membership: &Membership) -> Vec<String> {
    membership
        .learners()
        .iter()
        .map(|learner| {
            if learner.pending {
                format!("{} (pending)", learner.id)
            } else {
                learner.id.to_string()
            }
        })
        .collect()
}

fn log_membership(id: NodeId, membership: &Membership) {
    tracing::info!(
        node = id,
        members = ?membership.members(),
        learners = ?learner_list(membership),
        "membership changed"
    );
}
