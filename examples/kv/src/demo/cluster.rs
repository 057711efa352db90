//! The demo's node processes: ports, data directories, start, SIGKILL and cleanup.

use std::collections::BTreeMap;
use std::fs::{self, OpenOptions};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use anyhow::Context;
use sansraft::NodeId;

/// One node of the demo cluster.
#[derive(Clone, Debug)]
pub struct NodeSpec {
    /// The node's id.
    pub id: NodeId,
    /// Its Raft address.
    pub raft_addr: String,
    /// Its HTTP address.
    pub http_addr: String,
    /// Its data directory.
    pub data_dir: PathBuf,
    /// The file its output goes to.
    pub log_path: PathBuf,
    /// Whether it starts empty and waits to be added.
    pub join: bool,
}

/// Child node processes. Dropping the cluster kills every node still running and, unless
/// asked to keep it, deletes the base directory.
pub struct Cluster {
    executable: PathBuf,
    base_dir: PathBuf,
    keep_data: bool,
    node_flags: Vec<String>,
    specs: BTreeMap<NodeId, NodeSpec>,
    children: BTreeMap<NodeId, Child>,
}

impl Cluster {
    /// Lays out `members` voting members and `learners` joining nodes under `base_dir`, each
    /// with two free ports on 127.0.0.1. `node_flags` are passed to every node.
    pub fn new(
        base_dir: PathBuf,
        keep_data: bool,
        members: u64,
        learners: u64,
        node_flags: Vec<String>,
    ) -> anyhow::Result<Cluster> {
        fs::create_dir_all(&base_dir)
            .with_context(|| format!("cannot create demo directory {}", base_dir.display()))?;
        let count = members + learners;
        let ports = free_ports(2 * count as usize)?;
        let mut specs = BTreeMap::new();
        for id in 1..=count {
            let at = 2 * (id - 1) as usize;
            let spec = NodeSpec {
                id,
                raft_addr: format!("127.0.0.1:{}", ports[at]),
                http_addr: format!("127.0.0.1:{}", ports[at + 1]),
                data_dir: base_dir.join(format!("node-{id}")),
                log_path: base_dir.join(format!("node-{id}.log")),
                join: id > members,
            };
            specs.insert(id, spec);
        }
        let executable = std::env::current_exe().context("cannot find this program's path")?;
        Ok(Cluster {
            executable,
            base_dir,
            keep_data,
            node_flags,
            specs,
            children: BTreeMap::new(),
        })
    }

    /// Returns the nodes in id order.
    pub fn specs(&self) -> impl Iterator<Item = &NodeSpec> {
        self.specs.values()
    }

    /// Returns node `id`.
    pub fn spec(&self, id: NodeId) -> &NodeSpec {
        &self.specs[&id]
    }

    /// Returns the directory that contains every node's data and log.
    pub fn base_dir(&self) -> &Path {
        &self.base_dir
    }

    /// Keeps the data directories after the demo, for inspection.
    pub fn keep_data(&mut self) {
        self.keep_data = true;
    }

    /// Starts node `id` as a child process running `sansraft-kv node`. A joining node gets
    /// the voting members as peers; a member gets the other members.
    pub fn start(&mut self, id: NodeId) -> anyhow::Result<()> {
        let spec = self.specs[&id].clone();
        let mut arguments = vec![
            "node".to_owned(),
            format!("--id={id}"),
            format!("--raft-addr={}", spec.raft_addr),
            format!("--http-addr={}", spec.http_addr),
            format!("--data-dir={}", spec.data_dir.display()),
            "--exit-with-parent".to_owned(),
        ];
        for peer in self.specs.values().filter(|peer| peer.id != id && !peer.join) {
            arguments.push(format!("--peer={}={},{}", peer.id, peer.raft_addr, peer.http_addr));
        }
        if spec.join {
            arguments.push("--join".to_owned());
        }
        arguments.extend(self.node_flags.iter().cloned());

        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&spec.log_path)
            .with_context(|| format!("cannot open {}", spec.log_path.display()))?;
        let log_for_stdout = log.try_clone().context("cannot duplicate the log file handle")?;
        let child = Command::new(&self.executable)
            .args(&arguments)
            .env("RUST_LOG", std::env::var("RUST_LOG").unwrap_or_else(|_| "info".to_owned()))
            .stdin(Stdio::null())
            .stdout(log_for_stdout)
            .stderr(log)
            .spawn()
            .with_context(|| format!("cannot start node {id}"))?;
        self.children.insert(id, child);
        Ok(())
    }

    /// Kills node `id` with SIGKILL and waits for it to exit.
    pub fn kill(&mut self, id: NodeId) -> anyhow::Result<()> {
        if let Some(mut child) = self.children.remove(&id) {
            child.kill().with_context(|| format!("cannot kill node {id}"))?;
            child.wait().with_context(|| format!("cannot wait for node {id}"))?;
        }
        Ok(())
    }

    /// Returns the ids of nodes that exited on their own, with their exit status.
    pub fn exited(&mut self) -> Vec<(NodeId, std::process::ExitStatus)> {
        let mut exited = Vec::new();
        for (id, child) in self.children.iter_mut() {
            if let Ok(Some(status)) = child.try_wait() {
                exited.push((*id, status));
            }
        }
        exited
    }

    /// Returns the last `lines` lines of node `id`'s output.
    pub fn log_tail(&self, id: NodeId, lines: usize) -> String {
        let text = fs::read_to_string(&self.specs[&id].log_path).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for (_, mut child) in std::mem::take(&mut self.children) {
            let _ = child.kill();
            let _ = child.wait();
        }
        if self.keep_data {
            println!("node data and logs kept in {}", self.base_dir.display());
        } else {
            let _ = fs::remove_dir_all(&self.base_dir);
        }
    }
}

/// Returns `count` distinct ports that were free on 127.0.0.1 a moment ago.
fn free_ports(count: usize) -> anyhow::Result<Vec<u16>> {
    let listeners: Vec<TcpListener> = (0..count)
        .map(|_| TcpListener::bind("127.0.0.1:0"))
        .collect::<Result<_, _>>()
        .context("cannot find free ports on 127.0.0.1")?;
    listeners
        .iter()
        .map(|listener| Ok(listener.local_addr()?.port()))
        .collect::<std::io::Result<Vec<u16>>>()
        .context("cannot read a bound port")
}
