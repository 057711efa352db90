//! The demo's writers: each takes the next key and PUTs it until a leader acknowledges it.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::bail;
use bytes::Bytes;
use hyper::{Method, StatusCode};
use sansraft::NodeId;
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::client::HttpClient;

/// How long one key may take to be acknowledged, retries included, before the demo fails.
const KEY_DEADLINE: Duration = Duration::from_secs(60);
/// The pause before a retry, after a node replied that it cannot take the write now.
const RETRY_PAUSE: Duration = Duration::from_millis(25);

/// A node the writers can send to.
#[derive(Clone, Debug)]
pub struct Target {
    /// The node's id.
    pub id: NodeId,
    /// Its HTTP address.
    pub http_addr: String,
}

/// One acknowledged write.
#[derive(Clone, Copy, Debug)]
pub struct Ack {
    /// From the first attempt to the acknowledgement, retries and redirects included.
    pub latency: Duration,
    /// When the acknowledgement arrived.
    pub at: Instant,
    /// The node that acknowledged it, which was the leader then.
    pub node: NodeId,
    /// HTTP requests sent for this key.
    pub attempts: u32,
}

/// Returns the name of key `number`.
pub fn key_name(number: u64) -> String {
    format!("key-{number:06}")
}

/// Returns the value written for key `number`: its name, then filler up to `size` bytes.
pub fn value_for(number: u64, size: usize) -> Bytes {
    let mut value = format!("value-{number:06}-").into_bytes();
    value.resize(size.max(value.len()), b'.');
    Bytes::from(value)
}

/// Shared by the writers: the next key to take and the node believed to lead.
pub struct Workload {
    /// The client all writers share.
    pub client: HttpClient,
    /// Every node, in id order.
    pub targets: Vec<Target>,
    /// How many keys to write.
    pub keys: u64,
    /// The size of each value.
    pub value_bytes: usize,
    next_key: AtomicU64,
    /// Position in `targets` of the node to try first.
    leader_hint: AtomicUsize,
}

impl Workload {
    /// Creates a workload over `targets`.
    pub fn new(client: HttpClient, targets: Vec<Target>, keys: u64, value_bytes: usize) -> Self {
        Workload {
            client,
            targets,
            keys,
            value_bytes,
            next_key: AtomicU64::new(0),
            leader_hint: AtomicUsize::new(0),
        }
    }

    /// Starts `writers` tasks. Each acknowledgement, or the first error, arrives on the
    /// returned channel.
    pub fn spawn(self: &Arc<Self>, writers: usize) -> mpsc::UnboundedReceiver<anyhow::Result<Ack>> {
        let (sender, receiver) = mpsc::unbounded_channel();
        for _ in 0..writers.max(1) {
            let workload = self.clone();
            let sender = sender.clone();
            tokio::spawn(async move {
                loop {
                    let key = workload.next_key.fetch_add(1, Ordering::Relaxed);
                    if key >= workload.keys {
                        return;
                    }
                    let result = workload.put_until_acked(key).await;
                    let failed = result.is_err();
                    if sender.send(result).is_err() || failed {
                        return;
                    }
                }
            });
        }
        receiver
    }

    /// PUTs key `number` until a node acknowledges it: follows redirects to the leader,
    /// waits and retries while there is none, and moves to another node when one does not
    /// respond.
    pub async fn put_until_acked(&self, number: u64) -> anyhow::Result<Ack> {
        let key = key_name(number);
        let value = value_for(number, self.value_bytes);
        let started = Instant::now();
        let mut target = self.leader_hint.load(Ordering::Relaxed) % self.targets.len();
        let mut attempts = 0;
        let mut last_problem = String::new();
        while started.elapsed() < KEY_DEADLINE {
            attempts += 1;
            let url = format!("http://{}/kv/{key}", self.targets[target].http_addr);
            let reply = match self.client.send(Method::PUT, &url, value.clone()).await {
                Ok(reply) => reply,
                Err(error) => {
                    last_problem = format!("{error:#}");
                    target = (target + 1) % self.targets.len();
                    tokio::time::sleep(RETRY_PAUSE).await;
                    continue;
                }
            };
            match reply.status {
                StatusCode::NO_CONTENT => {
                    self.leader_hint.store(target, Ordering::Relaxed);
                    let node = reply.node_id.unwrap_or(self.targets[target].id);
                    let at = Instant::now();
                    return Ok(Ack { latency: at - started, at, node, attempts });
                }
                StatusCode::TEMPORARY_REDIRECT => {
                    let location = reply.location.clone().unwrap_or_default();
                    match self
                        .targets
                        .iter()
                        .position(|t| location.contains(&format!("//{}/", t.http_addr)))
                    {
                        Some(leader) => target = leader,
                        None => bail!(
                            "PUT {url} redirected to {location:?}, which is not the address \
                             of any node in the cluster"
                        ),
                    }
                }
                StatusCode::SERVICE_UNAVAILABLE | StatusCode::GATEWAY_TIMEOUT => {
                    last_problem = format!("{}: {}", reply.status, reply.text());
                    target = (target + 1) % self.targets.len();
                    tokio::time::sleep(RETRY_PAUSE).await;
                }
                other => bail!("PUT {url} returned {other}: {}", reply.text()),
            }
        }
        bail!(
            "key {key} was not acknowledged within {} s after {attempts} attempts; \
             last problem: {last_problem}",
            KEY_DEADLINE.as_secs()
        )
    }
}
