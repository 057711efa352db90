//! The HTTP API of single nodes and of a three-node cluster.

mod support;

use bytes::Bytes;
use hyper::{Method, StatusCode};
use sansraft_kv::demo::HttpClient;
use support::NodeProcess;

#[tokio::test(flavor = "multi_thread")]
async fn single_node_serves_reads_and_writes() {
    let dir = tempfile::tempdir().unwrap();
    let client = HttpClient::new();
    let mut node = NodeProcess::new(1, dir.path());
    node.start(&[], &["--max-value-bytes=64"]);
    node.wait_until_leader(&client).await;
    let url = format!("http://{}/kv/colour", node.http_addr);

    let put = client.send(Method::PUT, &url, Bytes::from_static(b"blue")).await.unwrap();
    assert_eq!(put.status, StatusCode::NO_CONTENT, "{}", put.text());
    assert_eq!(put.node_id, Some(1));
    assert_eq!(
        client.get(&node.http_addr, "colour").await.unwrap(),
        Some(Bytes::from_static(b"blue"))
    );

    let too_large = client.send(Method::PUT, &url, Bytes::from(vec![b'x'; 65])).await.unwrap();
    assert_eq!(too_large.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(too_large.text().contains("65 bytes"), "{}", too_large.text());
    assert!(too_large.text().contains("limit of 64 bytes"), "{}", too_large.text());
    let at_limit = client.send(Method::PUT, &url, Bytes::from(vec![b'y'; 64])).await.unwrap();
    assert_eq!(at_limit.status, StatusCode::NO_CONTENT, "{}", at_limit.text());

    let delete = client.send(Method::DELETE, &url, Bytes::new()).await.unwrap();
    assert_eq!(delete.status, StatusCode::NO_CONTENT, "{}", delete.text());
    assert_eq!(client.get(&node.http_addr, "colour").await.unwrap(), None);
    let missing = client.send(Method::GET, &url, Bytes::new()).await.unwrap();
    assert_eq!(missing.status, StatusCode::NOT_FOUND);

    let status = client.status(&node.http_addr).await.unwrap();
    assert_eq!(status.id, 1);
    assert_eq!(status.leader, Some(1));
    assert_eq!(status.membership.members, [1]);
    assert!(status.membership.learners.is_empty());
    assert_eq!(status.keys, 0);
    assert_eq!(status.applied, status.commit);
}

#[tokio::test(flavor = "multi_thread")]
async fn node_without_leader_returns_503() {
    let dir = tempfile::tempdir().unwrap();
    let client = HttpClient::new();
    let mut node = NodeProcess::new(1, dir.path());
    // Two peers that never start: the node cannot win an election.
    let absent_two = NodeProcess::new(2, dir.path());
    let absent_three = NodeProcess::new(3, dir.path());
    node.start(&[&absent_two, &absent_three], &[]);
    node.wait_for(&client, |status| status.leader.is_none()).await;

    let url = format!("http://{}/kv/k", node.http_addr);
    let reply = client.send(Method::PUT, &url, Bytes::from_static(b"v")).await.unwrap();
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(reply.text().contains("no leader is known yet"), "{}", reply.text());
}

#[tokio::test(flavor = "multi_thread")]
async fn follower_redirects_writes_to_leader() {
    let dir = tempfile::tempdir().unwrap();
    let client = HttpClient::new();
    let mut nodes: Vec<NodeProcess> = (1..=3).map(|id| NodeProcess::new(id, dir.path())).collect();
    for at in 0..nodes.len() {
        let (before, rest) = nodes.split_at_mut(at);
        let (node, after) = rest.split_first_mut().unwrap();
        let peers: Vec<&NodeProcess> = before.iter().chain(after.iter()).collect();
        node.start(&peers, &[]);
    }
    let leader = nodes[0].wait_for(&client, |status| status.leader.is_some()).await.leader.unwrap();
    let leader_http = &nodes[leader as usize - 1].http_addr;
    let follower = nodes.iter().find(|node| node.id != leader).unwrap();
    follower.wait_for(&client, |status| status.leader == Some(leader)).await;

    let url = format!("http://{}/kv/redirected", follower.http_addr);
    let reply = client.send(Method::PUT, &url, Bytes::from_static(b"v")).await.unwrap();
    assert_eq!(reply.status, StatusCode::TEMPORARY_REDIRECT, "{}", reply.text());
    let location = reply.location.clone().unwrap();
    assert_eq!(location, format!("http://{leader_http}/kv/redirected"));

    let reply = client.send(Method::PUT, &location, Bytes::from_static(b"v")).await.unwrap();
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.text());
    assert_eq!(reply.node_id, Some(leader));

    let members = format!("http://{}/members/learners", follower.http_addr);
    let body = r#"{"id": 9, "raft_addr": "127.0.0.1:1", "http_addr": "127.0.0.1:2"}"#;
    let reply = client
        .send_typed(Method::POST, &members, Bytes::from(body), "application/json")
        .await
        .unwrap();
    assert_eq!(reply.status, StatusCode::TEMPORARY_REDIRECT, "{}", reply.text());
    assert_eq!(reply.location.unwrap(), format!("http://{leader_http}/members/learners"));
}
