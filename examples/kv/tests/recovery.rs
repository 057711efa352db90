//! Restarting a node over a damaged log, and over a data directory of another node.

mod support;

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use bytes::Bytes;
use hyper::{Method, StatusCode};
use sansraft_kv::demo::HttpClient;
use sansraft_kv::storage::record::{scan_segment, Record};
use support::NodeProcess;

const KEYS: usize = 20;

/// Starts a single-member node, writes `KEYS` keys through it and kills it with SIGKILL.
async fn write_and_kill(node: &mut NodeProcess, client: &HttpClient) {
    node.start(&[], &[]);
    node.wait_until_leader(client).await;
    for number in 0..KEYS {
        let url = format!("http://{}/kv/key-{number}", node.http_addr);
        let reply =
            client.send(Method::PUT, &url, Bytes::from(format!("value-{number}"))).await.unwrap();
        assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.text());
    }
    node.kill();
}

fn newest_segment(data_dir: &Path) -> PathBuf {
    let mut segments: Vec<PathBuf> =
        fs::read_dir(data_dir.join("log")).unwrap().map(|item| item.unwrap().path()).collect();
    segments.sort();
    segments.pop().expect("the log has a segment")
}

#[tokio::test(flavor = "multi_thread")]
async fn torn_tail_recovers_with_warning() {
    let dir = tempfile::tempdir().unwrap();
    let client = HttpClient::new();
    let mut node = NodeProcess::new(1, dir.path());
    write_and_kill(&mut node, &client).await;

    // A record header promising 64 body bytes, followed by only 10: a write cut short.
    let segment = newest_segment(&node.data_dir);
    let intact_len = fs::metadata(&segment).unwrap().len();
    let mut file = OpenOptions::new().append(true).open(&segment).unwrap();
    file.write_all(&64u32.to_le_bytes()).unwrap();
    file.write_all(&[0x5a; 4 + 10]).unwrap();
    drop(file);

    node.start(&[], &[]);
    node.wait_for(&client, |status| status.role == "leader" && status.keys == KEYS).await;
    for number in 0..KEYS {
        let value = client.get(&node.http_addr, &format!("key-{number}")).await.unwrap();
        assert_eq!(value, Some(Bytes::from(format!("value-{number}"))), "key-{number}");
    }
    let log = node.log();
    assert!(log.contains("cut off a torn record at the end of the log"), "{log}");
    assert!(log.contains(&segment.display().to_string()), "{log}");
    assert!(log.contains(&format!("offset={intact_len}")), "{log}");
    assert_eq!(fs::metadata(&segment).unwrap().len(), intact_len);
}

#[tokio::test(flavor = "multi_thread")]
async fn corrupt_record_stops_node() {
    let dir = tempfile::tempdir().unwrap();
    let client = HttpClient::new();
    let mut node = NodeProcess::new(1, dir.path());
    write_and_kill(&mut node, &client).await;

    let segment = newest_segment(&node.data_dir);
    let mut contents = fs::read(&segment).unwrap();
    let scan = scan_segment(&Bytes::from(contents.clone())).unwrap();
    let entries: Vec<u64> = scan
        .records
        .iter()
        .filter(|positioned| matches!(positioned.record, Record::Entry(_)))
        .map(|positioned| positioned.offset)
        .collect();
    assert!(entries.len() > KEYS, "{} entry records", entries.len());
    let damaged = entries[5];
    // Flip a bit inside the record's body, well before the end of the file.
    contents[damaged as usize + 10] ^= 0x01;
    fs::write(&segment, &contents).unwrap();

    let (status, output) = node.run_to_exit(&[], &[], Duration::from_secs(20));
    assert!(!status.success(), "the node started over a corrupt log:\n{output}");
    let expected = format!("corrupt log record in {} at byte offset {damaged}", segment.display());
    assert!(output.contains(&expected), "expected {expected:?} in:\n{output}");
    assert!(output.contains("CRC mismatch"), "{output}");
    assert_eq!(fs::read(&segment).unwrap(), contents, "the damaged segment was changed");
}

#[tokio::test(flavor = "multi_thread")]
async fn data_dir_of_other_node_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let client = HttpClient::new();
    let mut first = NodeProcess::new(1, dir.path());
    write_and_kill(&mut first, &client).await;

    let mut other = NodeProcess::new(2, dir.path());
    other.data_dir = first.data_dir.clone();
    let (status, output) = other.run_to_exit(&[], &[], Duration::from_secs(20));
    assert!(!status.success(), "{output}");
    assert!(output.contains("belongs to node 1, not node 2"), "{output}");

    let (status, output) =
        first.run_to_exit(&[], &["--cluster-id=another"], Duration::from_secs(20));
    assert!(!status.success(), "{output}");
    assert!(output.contains("belongs to cluster \"sansraft-kv\", not \"another\""), "{output}");
}
