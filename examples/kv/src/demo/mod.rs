//! The demo: a local cluster under a write load, with a leader crash and a learner.
//!
//! It starts three voting members and one learner, each its own process running
//! `sansraft-kv node` with its own data directory and ports. Writers PUT every key through
//! whichever node leads. Halfway through, the demo kills the leader with SIGKILL; later it
//! restarts it, so it catches up (from a snapshot when it fell far enough behind). Then it
//! waits for the learner's promotion and for every node to apply the same log, and checks
//! each node's map against the acknowledged writes.

mod client;
mod cluster;
mod report;
mod workload;

use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use bytes::Bytes;
use hyper::{Method, StatusCode};
use sansraft::NodeId;
use tokio::time::Instant;

pub use client::HttpClient;
pub use cluster::Cluster;
pub use workload::{key_name, value_for};

use crate::cli::DemoArgs;
use crate::state::entry_digest;
use crate::status::{format_digest, StatusView};
use report::{Event, Report};
use workload::{Ack, Target, Workload};

const MEMBERS: u64 = 3;
const LEARNERS: u64 = 1;
const LEADER_TIMEOUT: Duration = Duration::from_secs(20);
const PROMOTION_TIMEOUT: Duration = Duration::from_secs(60);
const CONVERGENCE_TIMEOUT: Duration = Duration::from_secs(60);
const POLL_INTERVAL: Duration = Duration::from_millis(50);
const PROGRESS_INTERVAL: Duration = Duration::from_secs(1);
/// Segment size for the demo's nodes, small so that compaction visibly deletes segments.
const DEMO_SEGMENT_BYTES: u64 = 256 * 1024;
/// Keys read back from every node at the end.
const SPOT_READS: u64 = 200;

/// Runs the demo. Returns true when every check passed.
pub async fn run(args: DemoArgs) -> anyhow::Result<bool> {
    if args.keys == 0 {
        bail!("--keys must be at least 1");
    }
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_millis());
    let run_name = format!("sansraft-kv-demo-{}-{stamp}", std::process::id());
    let parent = args.data_dir.clone().unwrap_or_else(std::env::temp_dir);
    let base_dir = parent.join(&run_name);
    let node_flags = vec![
        format!("--cluster-id={run_name}"),
        format!("--snapshot-every={}", args.snapshot_every),
        format!("--snapshot-trailing-entries={}", args.snapshot_trailing_entries),
        format!("--segment-bytes={DEMO_SEGMENT_BYTES}"),
    ];
    let mut cluster = Cluster::new(base_dir, args.keep_data, MEMBERS, LEARNERS, node_flags)?;
    println!(
        "sansraft-kv demo: {MEMBERS} members and {LEARNERS} learner, {} keys of {} bytes, \
         {} writers",
        args.keys, args.value_bytes, args.writers
    );
    println!("node data and logs: {}", cluster.base_dir().display());

    let result = drive(&mut cluster, &args).await;
    let passed = matches!(result, Ok(true));
    if !passed {
        cluster.keep_data();
        for spec in cluster.specs() {
            println!("node {} log: {}", spec.id, spec.log_path.display());
        }
    }
    result
}

async fn drive(cluster: &mut Cluster, args: &DemoArgs) -> anyhow::Result<bool> {
    let client = HttpClient::new();
    let members: Vec<NodeId> = (1..=MEMBERS).collect();
    for id in &members {
        cluster.start(*id)?;
    }
    let first_leader = wait_for_leader(&client, cluster, &members).await?;
    println!("node {} was elected leader", first_leader.id);

    let learner = MEMBERS + 1;
    cluster.start(learner)?;
    let added_at = add_learner(&client, cluster, learner).await?;
    println!(
        "added node {learner} as a pending learner; the leader promotes it once it has caught up"
    );
    let all: Vec<NodeId> = (1..=MEMBERS + LEARNERS).collect();
    let promotion =
        tokio::spawn(watch_promotion(client.clone(), http_addrs(cluster, &all), learner, added_at));

    let targets: Vec<Target> = cluster
        .specs()
        .map(|spec| Target { id: spec.id, http_addr: spec.http_addr.clone() })
        .collect();
    let workload = Arc::new(Workload::new(client.clone(), targets, args.keys, args.value_bytes));
    let mut report = Report::new(args.keys);
    run_writes(cluster, &workload, args.writers, &mut report).await?;

    let promoted_after = tokio::time::timeout(PROMOTION_TIMEOUT, promotion)
        .await
        .map_err(|_| {
            anyhow::anyhow!("node {learner} was not promoted within {PROMOTION_TIMEOUT:?}")
        })?
        .context("the promotion watcher failed")?;
    report.promotion = Some((learner, promoted_after));

    let statuses = wait_for_convergence(&client, cluster, &all).await?;
    let expected_digest = (0..args.keys)
        .map(|number| entry_digest(&key_name(number), &value_for(number, args.value_bytes)))
        .fold(0, |digest, pair| digest ^ pair);
    report.expected = (args.keys as usize, format_digest(expected_digest));
    report.statuses = statuses;
    report.spot_read_failures = spot_read(&client, cluster, &all, args).await;
    report.print();
    Ok(report.passed())
}

fn http_addrs(cluster: &Cluster, ids: &[NodeId]) -> Vec<String> {
    ids.iter().map(|id| cluster.spec(*id).http_addr.clone()).collect()
}

/// Writes every key while killing the leader at half and restarting it at 80 percent.
async fn run_writes(
    cluster: &mut Cluster,
    workload: &Arc<Workload>,
    writers: usize,
    report: &mut Report,
) -> anyhow::Result<()> {
    let keys = workload.keys;
    let kill_at = keys / 2;
    let restart_at = keys * 8 / 10;
    let mut killed: Option<NodeId> = None;
    let mut restarted = false;
    let mut acks = workload.spawn(writers);
    let started = Instant::now();
    report.started = Some(started);
    let mut progress = tokio::time::interval(PROGRESS_INTERVAL);
    progress.tick().await;

    while report.acks.len() < keys as usize {
        tokio::select! {
            ack = acks.recv() => {
                let ack: Ack = ack.context("the writers stopped early")??;
                report.acks.push(ack);
            }
            _ = progress.tick() => {
                report.print_progress(started);
                check_exits(cluster)?;
                continue;
            }
        }
        let acknowledged = report.acks.len() as u64;
        if killed.is_none() && acknowledged >= kill_at.max(1) {
            let leader = report.acks.last().expect("an ack was just pushed").node;
            cluster.kill(leader)?;
            println!(
                "killed the leader, node {leader}, with SIGKILL after {acknowledged} \
                 acknowledged writes"
            );
            report.events.push(Event::Killed { node: leader, at: Instant::now() });
            killed = Some(leader);
        }
        if let Some(node) = killed.filter(|_| !restarted && acknowledged >= restart_at) {
            cluster.start(node)?;
            println!("restarted node {node} after {acknowledged} acknowledged writes");
            restarted = true;
        }
    }
    report.finished = Some(Instant::now());
    report.print_progress(started);
    if let Some(node) = killed.filter(|_| !restarted) {
        cluster.start(node)?;
        println!("restarted node {node} after the last write");
        restarted = true;
    }
    debug_assert!(restarted || killed.is_none(), "a killed node is always restarted");
    Ok(())
}

/// Fails when a node process exited without being killed by the demo.
fn check_exits(cluster: &mut Cluster) -> anyhow::Result<()> {
    if let Some((id, status)) = cluster.exited().into_iter().next() {
        bail!(
            "node {id} exited unexpectedly ({status}); its last output:\n{}",
            cluster.log_tail(id, 20)
        );
    }
    Ok(())
}

/// Waits until one of `ids` reports itself leader, and returns its status.
async fn wait_for_leader(
    client: &HttpClient,
    cluster: &mut Cluster,
    ids: &[NodeId],
) -> anyhow::Result<StatusView> {
    let deadline = Instant::now() + LEADER_TIMEOUT;
    while Instant::now() < deadline {
        for id in ids {
            if let Ok(status) = client.status(&cluster.spec(*id).http_addr).await {
                if status.role == "leader" {
                    return Ok(status);
                }
            }
        }
        check_exits(cluster)?;
        tokio::time::sleep(POLL_INTERVAL).await;
    }
    bail!("no leader was elected within {LEADER_TIMEOUT:?}")
}

/// Adds `learner` as a pending learner through any member, following redirects to the
/// leader. Returns when the change committed.
async fn add_learner(
    client: &HttpClient,
    cluster: &mut Cluster,
    learner: NodeId,
) -> anyhow::Result<Instant> {
    let spec = cluster.spec(learner).clone();
    let body = serde_json::json!({
        "id": learner,
        "raft_addr": spec.raft_addr,
        "http_addr": spec.http_addr,
        "pending": true,
    });
    let body = Bytes::from(body.to_string());
    let deadline = Instant::now() + LEADER_TIMEOUT;
    let mut url = format!("http://{}/members/learners", cluster.spec(1).http_addr);
    let mut problem = String::new();
    while Instant::now() < deadline {
        match client.send_typed(Method::POST, &url, body.clone(), "application/json").await {
            Ok(reply) if reply.status == StatusCode::OK => return Ok(Instant::now()),
            Ok(reply) if reply.status == StatusCode::TEMPORARY_REDIRECT => {
                url = reply.location.clone().context("a redirect without a Location header")?;
                continue;
            }
            Ok(reply) => problem = format!("{}: {}", reply.status, reply.text()),
            Err(error) => problem = format!("{error:#}"),
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
    bail!("could not add node {learner} as a learner: {problem}")
}

/// Polls the nodes until one that leads lists `learner` as a member; returns the time since
/// `added_at`.
async fn watch_promotion(
    client: HttpClient,
    http_addrs: Vec<String>,
    learner: NodeId,
    added_at: Instant,
) -> Duration {
    loop {
        for http_addr in &http_addrs {
            if let Ok(status) = client.status(http_addr).await {
                if status.role == "leader" && status.membership.members.contains(&learner) {
                    return added_at.elapsed();
                }
            }
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

/// Waits until every node reports the same applied index, at or beyond the leader's commit
/// index, and the same digest. Returns the final statuses.
async fn wait_for_convergence(
    client: &HttpClient,
    cluster: &mut Cluster,
    ids: &[NodeId],
) -> anyhow::Result<Vec<StatusView>> {
    let deadline = Instant::now() + CONVERGENCE_TIMEOUT;
    let mut last_seen = Vec::new();
    while Instant::now() < deadline {
        check_exits(cluster)?;
        let mut statuses = Vec::new();
        for id in ids {
            match client.status(&cluster.spec(*id).http_addr).await {
                Ok(status) => statuses.push(status),
                Err(_) => break,
            }
        }
        if statuses.len() == ids.len() && converged(&statuses) {
            return Ok(statuses);
        }
        last_seen = statuses;
        tokio::time::sleep(POLL_INTERVAL).await;
    }
    let summary: Vec<String> = last_seen
        .iter()
        .map(|s| {
            format!(
                "node {}: {} term {} commit {} applied {} digest {}",
                s.id, s.role, s.term, s.commit, s.applied, s.digest
            )
        })
        .collect();
    bail!("the nodes did not converge within {CONVERGENCE_TIMEOUT:?}:\n  {}", summary.join("\n  "))
}

fn converged(statuses: &[StatusView]) -> bool {
    let leaders: Vec<&StatusView> =
        statuses.iter().filter(|status| status.role == "leader").collect();
    let [leader] = leaders[..] else { return false };
    let commit = leader.commit;
    statuses.iter().all(|status| {
        status.applied >= commit
            && status.applied == leader.applied
            && status.digest == leader.digest
            && status.membership == leader.membership
    })
}

/// Reads a sample of keys from every node and returns a line per mismatch.
async fn spot_read(
    client: &HttpClient,
    cluster: &Cluster,
    ids: &[NodeId],
    args: &DemoArgs,
) -> Vec<String> {
    let step = (args.keys / SPOT_READS).max(1);
    let mut sample: Vec<u64> = (0..args.keys).step_by(step as usize).collect();
    sample.push(args.keys - 1);
    let mut failures = Vec::new();
    for id in ids {
        let http_addr = &cluster.spec(*id).http_addr;
        for number in &sample {
            let key = key_name(*number);
            let expected = value_for(*number, args.value_bytes);
            match client.get(http_addr, &key).await {
                Ok(Some(value)) if value == expected => {}
                Ok(Some(_)) => failures.push(format!("node {id}: {key} has a wrong value")),
                Ok(None) => failures.push(format!("node {id}: {key} is missing")),
                Err(error) => failures.push(format!("node {id}: reading {key} failed: {error:#}")),
            }
        }
    }
    failures
}
