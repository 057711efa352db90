//! Helpers to run `sansraft-kv node` processes from tests.
#![allow(dead_code)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

use sansraft_kv::demo::HttpClient;
use sansraft_kv::status::StatusView;

/// Returns the path of the binary under test.
pub fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_sansraft-kv"))
}

/// Returns two addresses on 127.0.0.1 whose ports were free a moment ago.
pub fn free_addresses() -> (String, String) {
    let first = TcpListener::bind("127.0.0.1:0").unwrap();
    let second = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = |listener: &TcpListener| listener.local_addr().unwrap().to_string();
    (address(&first), address(&second))
}

/// A node process that is killed when dropped. Its output goes to `log_path`.
pub struct NodeProcess {
    pub id: u64,
    pub raft_addr: String,
    pub http_addr: String,
    pub data_dir: PathBuf,
    pub log_path: PathBuf,
    child: Option<Child>,
}

impl NodeProcess {
    /// Lays out a node with fresh ports; `start` runs it.
    pub fn new(id: u64, dir: &Path) -> Self {
        let (raft_addr, http_addr) = free_addresses();
        NodeProcess {
            id,
            raft_addr,
            http_addr,
            data_dir: dir.join(format!("node-{id}")),
            log_path: dir.join(format!("node-{id}.log")),
            child: None,
        }
    }

    /// Returns the node's flags, followed by `extra`.
    pub fn arguments(&self, peers: &[&NodeProcess], extra: &[&str]) -> Vec<String> {
        let mut arguments = vec![
            "node".to_owned(),
            format!("--id={}", self.id),
            format!("--raft-addr={}", self.raft_addr),
            format!("--http-addr={}", self.http_addr),
            format!("--data-dir={}", self.data_dir.display()),
            "--exit-with-parent".to_owned(),
        ];
        for peer in peers {
            arguments.push(format!("--peer={}={},{}", peer.id, peer.raft_addr, peer.http_addr));
        }
        arguments.extend(extra.iter().map(|flag| flag.to_string()));
        arguments
    }

    /// Starts the node in the background.
    pub fn start(&mut self, peers: &[&NodeProcess], extra: &[&str]) {
        let log =
            std::fs::OpenOptions::new().create(true).append(true).open(&self.log_path).unwrap();
        let child = Command::new(binary())
            .args(self.arguments(peers, extra))
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        self.child = Some(child);
    }

    /// Runs the node in the foreground until it exits on its own, for a node expected to
    /// fail at start. Panics if it is still running after `timeout`.
    pub fn run_to_exit(
        &self,
        peers: &[&NodeProcess],
        extra: &[&str],
        timeout: Duration,
    ) -> (ExitStatus, String) {
        let mut child = Command::new(binary())
            .args(self.arguments(peers, extra))
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let started = Instant::now();
        while child.try_wait().unwrap().is_none() {
            if started.elapsed() > timeout {
                child.kill().unwrap();
                panic!("node {} was still running after {timeout:?}", self.id);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let Output { status, stdout, stderr } = child.wait_with_output().unwrap();
        let text =
            format!("{}{}", String::from_utf8_lossy(&stdout), String::from_utf8_lossy(&stderr));
        (status, text)
    }

    /// Kills the node with SIGKILL.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().unwrap();
            child.wait().unwrap();
        }
    }

    /// Returns the node's output so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    /// Waits until the node reports itself leader, and returns its status.
    pub async fn wait_until_leader(&self, client: &HttpClient) -> StatusView {
        self.wait_for(client, |status| status.role == "leader").await
    }

    /// Waits until `condition` holds for the node's status.
    pub async fn wait_for(
        &self,
        client: &HttpClient,
        condition: impl Fn(&StatusView) -> bool,
    ) -> StatusView {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(status) = client.status(&self.http_addr).await {
                if condition(&status) {
                    return status;
                }
            }
            assert!(
                Instant::now() < deadline,
                "node {} did not reach the expected state; log:\n{}",
                self.id,
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
