//! Log compaction under an endless write load: memory stays bounded.
//!
//! The default run drives 100,000 entries, which takes a few seconds in a debug build. CI
//! drives 1,000,000 in a release build:
//! `SANSRAFT_COMPACTION_ENTRIES=1000000 cargo test --release --features sim --test compaction`.

use bytes::Bytes;
use sansraft::sim::{Cluster, ClusterOptions, Faults};
use sansraft::{Config, Membership};

const SNAPSHOT_EVERY: u64 = 10_000;
const TRAILING: u64 = 1_000;

/// Drives `total` entries through a 3-member cluster in batches, each node snapshotting
/// every `SNAPSHOT_EVERY` applied entries. Returns the largest log any node held.
fn drive(total: u64) -> usize {
    let mut node_config = Config::new(1);
    node_config.snapshot_trailing_entries = TRAILING;
    let options = ClusterOptions {
        membership: Membership::with_members([1, 2, 3]).unwrap(),
        joining: Vec::new(),
        seed: 7,
        node_config,
        faults: Faults::reliable(),
        trace: false,
        manual: false,
    };
    let mut cluster = Cluster::new(options).unwrap();
    let until = cluster.now_ms + 5_000;
    assert!(cluster.run_until(until, |c| c.leader().is_some()).unwrap());

    let mut proposed = 0;
    let mut largest_log = 0;
    let mut last_snapshot = [0; 3];
    let payload = Bytes::from_static(&[7; 16]);
    while cluster.nodes.iter().any(|n| n.applied < total) {
        if proposed < total {
            let leader = cluster.leader().expect("the leader stays up on a reliable network");
            for _ in 0..512.min(total - proposed) {
                cluster.propose(leader, payload.clone()).unwrap().unwrap();
                proposed += 1;
            }
        }
        let until = cluster.now_ms + 2;
        cluster.run_until(until, |_| false).unwrap();

        for (at, last) in last_snapshot.iter_mut().enumerate() {
            let applied = cluster.nodes[at].applied;
            if applied >= *last + SNAPSHOT_EVERY {
                let id = cluster.nodes[at].id;
                cluster.take_snapshot(id).unwrap();
                *last = applied;
            }
            let held = cluster.nodes[at].node.as_ref().unwrap().status().log_entries;
            largest_log = largest_log.max(held);
        }
    }
    largest_log
}

#[test]
fn compaction_bounds_log_size() {
    let total = std::env::var("SANSRAFT_COMPACTION_ENTRIES")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(100_000);
    let largest = drive(total) as u64;
    // Between snapshots a log holds the trailing entries, the entries applied since the last
    // snapshot, and the entries in flight, which a batch of 512 per 2 ms bounds well below
    // one snapshot interval.
    let bound = TRAILING + 2 * SNAPSHOT_EVERY;
    println!("{total} entries: largest log {largest} entries, bound {bound}");
    assert!(largest <= bound, "a log held {largest} entries, above the bound {bound}");
    assert!(largest >= SNAPSHOT_EVERY, "the logs never grew to one snapshot interval");
}
