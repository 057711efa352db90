//! The identity file that ties a data directory to one node of one cluster.

use std::fs;
use std::io::Write;
use std::path::Path;

use anyhow::{bail, Context};
use sansraft::{Membership, NodeId};

use crate::storage::sync_dir;

const FILE_NAME: &str = "identity";

/// The owner of a data directory (node and cluster) and the node's starting configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    /// The node's id.
    pub node_id: NodeId,
    /// The cluster's name.
    pub cluster_id: String,
    /// The voting members the node bootstrapped with; empty for a node that joined a running
    /// cluster.
    pub bootstrap_members: Vec<NodeId>,
}

impl Identity {
    /// Returns the configuration the node starts from before its log contains one.
    pub fn bootstrap_membership(&self) -> anyhow::Result<Membership> {
        Membership::with_members(self.bootstrap_members.iter().copied())
            .context("the bootstrap members in the identity file are invalid")
    }

    fn render(&self) -> String {
        let members: Vec<String> = self.bootstrap_members.iter().map(u64::to_string).collect();
        format!(
            "# sansraft-kv data directory; the node checks this file at every start.\n\
             node_id={}\ncluster_id={}\nbootstrap_members={}\n",
            self.node_id,
            self.cluster_id,
            members.join(",")
        )
    }

    fn parse(text: &str) -> anyhow::Result<Identity> {
        let mut node_id = None;
        let mut cluster_id = None;
        let mut bootstrap_members = None;
        for line in text.lines().map(str::trim) {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let Some((name, value)) = line.split_once('=') else {
                bail!("line {line:?} is not of the form name=value");
            };
            match name {
                "node_id" => node_id = Some(value.parse().context("node_id is not a number")?),
                "cluster_id" => cluster_id = Some(value.to_owned()),
                "bootstrap_members" => {
                    let members: Result<Vec<NodeId>, _> =
                        value.split(',').filter(|id| !id.is_empty()).map(str::parse).collect();
                    bootstrap_members =
                        Some(members.context("bootstrap_members is not a list of ids")?);
                }
                other => bail!("unknown field {other:?}"),
            }
        }
        Ok(Identity {
            node_id: node_id.context("node_id is missing")?,
            cluster_id: cluster_id.context("cluster_id is missing")?,
            bootstrap_members: bootstrap_members.context("bootstrap_members is missing")?,
        })
    }
}

/// Returns the identity stored in `data_dir`, after checking that it names the same node and
/// cluster as `expected`. A directory without an identity file gets `expected`, unless it
/// already contains a log.
pub fn check_or_create(data_dir: &Path, expected: &Identity) -> anyhow::Result<Identity> {
    let path = data_dir.join(FILE_NAME);
    match fs::read_to_string(&path) {
        Ok(text) => {
            let stored = Identity::parse(&text)
                .with_context(|| format!("invalid identity file {}", path.display()))?;
            check_matches(data_dir, &stored, expected)?;
            Ok(stored)
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            let log_dir = data_dir.join("log");
            if log_dir.exists() {
                bail!(
                    "data directory {} contains a log but no identity file, so it cannot be \
                     checked against node {} of cluster {:?}; use another --data-dir",
                    data_dir.display(),
                    expected.node_id,
                    expected.cluster_id
                );
            }
            write(data_dir, expected)?;
            Ok(expected.clone())
        }
        Err(error) => Err(error).with_context(|| format!("cannot read {}", path.display())),
    }
}

fn check_matches(data_dir: &Path, stored: &Identity, expected: &Identity) -> anyhow::Result<()> {
    if stored.cluster_id != expected.cluster_id {
        bail!(
            "data directory {} belongs to cluster {:?}, not {:?}; pass --cluster-id {} or use \
             another --data-dir",
            data_dir.display(),
            stored.cluster_id,
            expected.cluster_id,
            stored.cluster_id
        );
    }
    if stored.node_id != expected.node_id {
        bail!(
            "data directory {} belongs to node {}, not node {}; pass --id {} or use another \
             --data-dir",
            data_dir.display(),
            stored.node_id,
            expected.node_id,
            stored.node_id
        );
    }
    if stored.bootstrap_members != expected.bootstrap_members {
        tracing::warn!(
            stored = ?stored.bootstrap_members,
            given = ?expected.bootstrap_members,
            "the bootstrap members given differ from the ones this node started with; \
             using the stored ones, since the log builds on them"
        );
    }
    Ok(())
}

fn write(data_dir: &Path, identity: &Identity) -> anyhow::Result<()> {
    fs::create_dir_all(data_dir)
        .with_context(|| format!("cannot create data directory {}", data_dir.display()))?;
    let path = data_dir.join(FILE_NAME);
    let temporary = data_dir.join(format!("{FILE_NAME}.tmp"));
    let mut file = fs::File::create(&temporary)
        .with_context(|| format!("cannot create {}", temporary.display()))?;
    file.write_all(identity.render().as_bytes())
        .and_then(|()| file.sync_all())
        .with_context(|| format!("cannot write {}", temporary.display()))?;
    fs::rename(&temporary, &path)
        .with_context(|| format!("cannot rename to {}", path.display()))?;
    sync_dir(data_dir)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity(node_id: NodeId, cluster: &str) -> Identity {
        Identity { node_id, cluster_id: cluster.into(), bootstrap_members: vec![1, 2, 3] }
    }

    fn temporary_dir(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("sansraft-kv-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn identity_accepts_same_node() {
        let dir = temporary_dir("identity-same");
        let created = check_or_create(&dir, &identity(1, "c")).unwrap();
        assert_eq!(check_or_create(&dir, &identity(1, "c")).unwrap(), created);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn identity_rejects_other_node_or_cluster() {
        let dir = temporary_dir("identity-other");
        check_or_create(&dir, &identity(1, "c")).unwrap();
        let other_node = check_or_create(&dir, &identity(2, "c")).unwrap_err().to_string();
        assert!(other_node.contains("belongs to node 1, not node 2"), "{other_node}");
        let other_cluster = check_or_create(&dir, &identity(1, "d")).unwrap_err().to_string();
        assert!(other_cluster.contains("belongs to cluster \"c\""), "{other_cluster}");
        fs::remove_dir_all(&dir).unwrap();
    }
}
