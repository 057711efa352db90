//! Writes the seed corpora of the decode targets: messages a simulated cluster sent, one of
//! each kind, and the records a host stores. Run it from the repository root with
//! `cargo run --manifest-path fuzz/Cargo.toml --example seeds`.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use sansraft::codec::{
    encode_entry, encode_hard_state, encode_membership, encode_message, encode_snapshot_meta,
};
use sansraft::sim::{Cluster, ClusterOptions, Faults};
use sansraft::{
    Config, Entry, HardState, Learner, LogId, Membership, MembershipChange, Message, Payload,
    SnapshotMeta,
};

fn main() -> Result<(), String> {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    let messages = sent_messages()?;
    for (kind, message) in &messages {
        let mut bytes = Vec::new();
        encode_message(message, &mut bytes);
        write(&corpus.join("decode_message"), kind, &bytes)?;
    }

    let learner = Learner { id: 4, pending: true };
    let membership = Membership::new([1, 2, 3], [learner]).map_err(|error| error.to_string())?;
    let data = Entry { term: 2, index: 7, payload: Payload::Data(Bytes::from_static(b"set x 1")) };
    let change =
        Entry { term: 2, index: 8, payload: Payload::Membership(Arc::new(membership.clone())) };
    let records: [(&str, Vec<u8>); 5] = [
        ("entry-data", encoded(|buf| encode_entry(&data, buf))),
        ("entry-membership", encoded(|buf| encode_entry(&change, buf))),
        (
            "hard-state",
            encoded(|buf| encode_hard_state(&HardState { term: 3, vote: Some(2) }, buf)),
        ),
        ("membership", encoded(|buf| encode_membership(&membership, buf))),
        (
            "snapshot",
            encoded(|buf| {
                let meta = SnapshotMeta { last: LogId::new(2, 8), membership: membership.clone() };
                encode_snapshot_meta(&meta, buf)
            }),
        ),
    ];
    for (name, bytes) in &records {
        write(&corpus.join("decode_record"), name, bytes)?;
    }
    Ok(())
}

fn encoded(encode: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut buf = Vec::new();
    encode(&mut buf);
    buf
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> Result<(), String> {
    fs::create_dir_all(dir).map_err(|error| format!("cannot create {}: {error}", dir.display()))?;
    let path = dir.join(format!("seed-{name}"));
    fs::write(&path, bytes).map_err(|error| format!("cannot write {}: {error}", path.display()))
}

/// Runs a three-member cluster that elects a leader, commits proposals, adds a learner and
/// snapshots, and returns the first message in flight of each kind.
fn sent_messages() -> Result<BTreeMap<&'static str, Message>, String> {
    let mut config = Config::new(1);
    config.snapshot_trailing_entries = 0;
    let options = ClusterOptions {
        membership: Membership::with_members([1, 2, 3]).map_err(|error| error.to_string())?,
        joining: vec![4],
        seed: 7,
        node_config: config,
        faults: Faults::reliable(),
        trace: false,
        manual: false,
    };
    let mut cluster = Cluster::new(options)?;
    let mut found = BTreeMap::new();
    let mut changed = false;
    for round in 0..400u64 {
        for packet in &cluster.network {
            found.entry(packet.message.body.kind()).or_insert_with(|| packet.message.clone());
        }
        let until = cluster.now_ms + 5;
        cluster.run_until(until, |_| false)?;
        let Some(leader) = cluster.leader() else {
            continue;
        };
        let _ = cluster.propose(leader, Bytes::from(format!("value {round}")))?;
        if round > 50 && !changed {
            let add = MembershipChange::AddLearner { id: 4, pending: true };
            changed = cluster.change_membership(leader, add)?.is_ok();
        }
        if round % 40 == 39 {
            for id in 1..=3 {
                cluster.take_snapshot(id)?;
            }
        }
    }
    Ok(found)
}
