//! The HTTP API of a node.
//!
//! | method and path | what it does |
//! |---|---|
//! | `GET /kv/{key}` | returns the value from this node's map (it may lag the leader) |
//! | `PUT /kv/{key}` | sets the key to the request body once the write commits |
//! | `DELETE /kv/{key}` | removes the key once the delete commits |
//! | `GET /status` | returns the node's status as JSON |
//! | `POST /members/learners` | adds a learner: `{"id", "raft_addr", "http_addr", "pending"}` |
//! | `DELETE /members/{id}` | removes a member or learner |
//!
//! Writes and membership changes on a follower get `307 Temporary Redirect` to the leader,
//! or `503 Service Unavailable` while no leader is known. Every response carries the
//! id of the node that handled it in
//! `x-sansraft-node-id`.

// Helpers return `Result<_, Response>` so that `?` ends a request with a finished response,
// as axum handlers commonly do. The size of the error variant costs nothing that matters here.
#![allow(clippy::result_large_err)]

use std::time::Duration;

use axum::body::{to_bytes, Body};
use axum::extract::{DefaultBodyLimit, OriginalUri, Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use bytes::Bytes;
use sansraft::{MembershipChange, NodeId, ProposalOutcome};
use serde::Deserialize;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};

use crate::host::{NotAccepted, ReadResult, Request, WriteOutcome, WriteResult};
use crate::state::{Command, PeerAddresses, MAX_KEY_BYTES};
use crate::status::StatusView;

/// The header with the id of the node that handled the request.
pub const NODE_ID_HEADER: &str = "x-sansraft-node-id";
/// The header with the log index a write committed at.
pub const LOG_INDEX_HEADER: &str = "x-sansraft-log-index";
/// The header with the applied index a read saw.
pub const APPLIED_INDEX_HEADER: &str = "x-sansraft-applied-index";

/// How long a write waits for its outcome before the request times out.
const WRITE_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a membership change keeps retrying while the leader is not ready for it.
const CHANGE_RETRY_TIME: Duration = Duration::from_secs(10);

/// Shared state of the handlers: the channel to the node's task and the limits.
#[derive(Clone, Debug)]
pub struct Api {
    node_id: NodeId,
    requests: mpsc::Sender<Request>,
    max_value_bytes: usize,
}

impl Api {
    /// Creates the handlers' shared state.
    pub fn new(node_id: NodeId, requests: mpsc::Sender<Request>, max_value_bytes: usize) -> Self {
        Api { node_id, requests, max_value_bytes }
    }
}

/// Serves the API on `listener` until the process exits.
pub async fn serve(listener: TcpListener, api: Api) {
    let node_id = api.node_id;
    if let Err(error) = axum::serve(listener, router(api)).await {
        tracing::error!(node = node_id, %error, "the HTTP server stopped");
    }
}

/// Builds the routes.
pub fn router(api: Api) -> Router {
    Router::new()
        .route("/kv/{key}", get(read_key).put(put_key).delete(delete_key))
        .route("/status", get(status))
        .route("/members/learners", post(add_learner))
        .route("/members/{id}", delete(remove_member))
        // PUT checks the size itself, so that its 413 message names the configured limit.
        .layer(DefaultBodyLimit::disable())
        .with_state(api)
}

/// Builds a response with a plain-text body and the node id header.
fn text(api: &Api, status: StatusCode, body: impl Into<String>) -> Response {
    let mut body = body.into();
    body.push('\n');
    let mut response = (status, body).into_response();
    add_node_header(api, &mut response);
    response
}

fn add_node_header(api: &Api, response: &mut Response) {
    response.headers_mut().insert(NODE_ID_HEADER, HeaderValue::from(api.node_id));
}

fn check_key(api: &Api, key: &str) -> Result<(), Response> {
    if key.is_empty() || key.len() > MAX_KEY_BYTES {
        let message =
            format!("key is {} bytes; keys must be 1 to {MAX_KEY_BYTES} bytes", key.len());
        return Err(text(api, StatusCode::BAD_REQUEST, message));
    }
    Ok(())
}

async fn ask<T>(api: &Api, request: Request, reply: oneshot::Receiver<T>) -> Result<T, Response> {
    let stopping = || text(api, StatusCode::SERVICE_UNAVAILABLE, "the node is shutting down");
    api.requests.send(request).await.map_err(|_| stopping())?;
    reply.await.map_err(|_| stopping())
}

async fn read_key(State(api): State<Api>, Path(key): Path<String>) -> Response {
    if let Err(response) = check_key(&api, &key) {
        return response;
    }
    let (reply, receiver) = oneshot::channel();
    let result: ReadResult =
        match ask(&api, Request::Read { key: key.clone(), reply }, receiver).await {
            Ok(result) => result,
            Err(response) => return response,
        };
    let mut response = match result.value {
        Some(value) => (StatusCode::OK, value).into_response(),
        None => return text(&api, StatusCode::NOT_FOUND, format!("key {key:?} not found")),
    };
    add_node_header(&api, &mut response);
    response.headers_mut().insert(APPLIED_INDEX_HEADER, HeaderValue::from(result.applied));
    response
}

async fn put_key(
    State(api): State<Api>,
    Path(key): Path<String>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    if let Err(response) = check_key(&api, &key) {
        return response;
    }
    let too_large = |size: String| {
        let message = format!(
            "value is {size} bytes, above this cluster's limit of {} bytes (--max-value-bytes)",
            api.max_value_bytes
        );
        text(&api, StatusCode::PAYLOAD_TOO_LARGE, message)
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<usize>().ok());
    if let Some(declared) = declared.filter(|declared| *declared > api.max_value_bytes) {
        return too_large(declared.to_string());
    }
    let value: Bytes = match to_bytes(body, api.max_value_bytes).await {
        Ok(value) => value,
        Err(_) => return too_large("more than that".to_owned()),
    };
    write(&api, Command::Put { key, value }, &uri.to_string()).await
}

async fn delete_key(
    State(api): State<Api>,
    Path(key): Path<String>,
    OriginalUri(uri): OriginalUri,
) -> Response {
    if let Err(response) = check_key(&api, &key) {
        return response;
    }
    write(&api, Command::Delete { key }, &uri.to_string()).await
}

/// Proposes a command and responds once it committed, was lost, or was not accepted.
async fn write(api: &Api, command: Command, path: &str) -> Response {
    let (reply, receiver) = oneshot::channel();
    match submit(api, Request::Write { command, reply }, receiver, path).await {
        Ok(outcome) => {
            let mut response = StatusCode::NO_CONTENT.into_response();
            add_node_header(api, &mut response);
            response.headers_mut().insert(LOG_INDEX_HEADER, HeaderValue::from(outcome.id.index));
            response
        }
        Err(response) => response,
    }
}

/// Sends a write or membership request and waits for its outcome. Returns the outcome when
/// the entry committed, and otherwise a finished response: a redirect to `path` on the
/// leader, or an error.
async fn submit(
    api: &Api,
    request: Request,
    receiver: oneshot::Receiver<WriteResult>,
    path: &str,
) -> Result<WriteOutcome, Response> {
    let result = match tokio::time::timeout(WRITE_TIMEOUT, ask(api, request, receiver)).await {
        Ok(result) => result?,
        Err(_) => {
            let message = format!(
                "timed out after {} s waiting for the entry to commit; it may still commit. \
                 Retry: PUT and DELETE are idempotent",
                WRITE_TIMEOUT.as_secs()
            );
            return Err(text(api, StatusCode::GATEWAY_TIMEOUT, message));
        }
    };
    match result {
        Ok(outcome) if outcome.outcome == ProposalOutcome::Committed => Ok(outcome),
        Ok(outcome) => Err(lost_response(api, outcome)),
        Err(not_accepted) => Err(not_accepted_response(api, not_accepted, path)),
    }
}

fn lost_response(api: &Api, outcome: WriteOutcome) -> Response {
    let message = match outcome.outcome {
        ProposalOutcome::Overwritten => format!(
            "the write at log index {} was overwritten by a new leader and did not commit; retry",
            outcome.id.index
        ),
        _ => format!(
            "the write at log index {} may or may not have committed: this node installed a \
             snapshot covering it; retry (PUT and DELETE are idempotent)",
            outcome.id.index
        ),
    };
    let mut response = text(api, StatusCode::SERVICE_UNAVAILABLE, message);
    response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    response
}

/// Redirects to the leader, or explains why the node could not take the request.
fn not_accepted_response(api: &Api, not_accepted: NotAccepted, path: &str) -> Response {
    use sansraft::Error;
    match (not_accepted.error, not_accepted.leader_http_addr) {
        (Error::NotLeader { leader: Some(leader) }, Some(address)) => {
            let location = format!("http://{address}{path}");
            let message = format!("node {leader} is the leader; send the request to {location}");
            let mut response = text(api, StatusCode::TEMPORARY_REDIRECT, message);
            if let Ok(value) = HeaderValue::from_str(&location) {
                response.headers_mut().insert(header::LOCATION, value);
            }
            response
        }
        (Error::NotLeader { leader }, _) => {
            let message = match leader {
                Some(leader) => format!(
                    "node {leader} is the leader, but this node does not know its HTTP address \
                     yet; retry shortly"
                ),
                None => "this node is not the leader and no leader is known yet (an election \
                         may be in progress); retry shortly"
                    .to_owned(),
            };
            let mut response = text(api, StatusCode::SERVICE_UNAVAILABLE, message);
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            response
        }
        (Error::InvalidChange(error), _) => text(api, StatusCode::CONFLICT, error.to_string()),
        (error @ (Error::ChangeInProgress { .. } | Error::LeaderNotReady), _) => {
            text(api, StatusCode::SERVICE_UNAVAILABLE, error.to_string())
        }
        (error, _) => text(api, StatusCode::INTERNAL_SERVER_ERROR, error.to_string()),
    }
}

async fn status(State(api): State<Api>) -> Response {
    let (reply, receiver) = oneshot::channel();
    let view: StatusView = match ask(&api, Request::Status { reply }, receiver).await {
        Ok(view) => view,
        Err(response) => return response,
    };
    let mut response = Json(view).into_response();
    add_node_header(&api, &mut response);
    response
}

/// The body of `POST /members/learners`.
#[derive(Debug, Deserialize)]
pub struct AddLearner {
    /// The new server's id.
    pub id: NodeId,
    /// Its Raft transport address.
    pub raft_addr: String,
    /// Its HTTP address.
    pub http_addr: String,
    /// Whether the leader promotes it to a voting member once it has caught up.
    #[serde(default = "default_pending")]
    pub pending: bool,
}

fn default_pending() -> bool {
    true
}

/// Records the new server's addresses in the replicated table, then adds it as a learner.
/// The addresses commit first, so any later leader has them in its log before it
/// replicates to the learner.
async fn add_learner(
    State(api): State<Api>,
    OriginalUri(uri): OriginalUri,
    Json(request): Json<AddLearner>,
) -> Response {
    let path = uri.to_string();
    let addresses = PeerAddresses { raft_addr: request.raft_addr, http_addr: request.http_addr };
    let command = Command::SetPeer { id: request.id, addresses };
    let (reply, receiver) = oneshot::channel();
    if let Err(response) = submit(&api, Request::Write { command, reply }, receiver, &path).await {
        return response;
    }
    let change = MembershipChange::AddLearner { id: request.id, pending: request.pending };
    match change_membership(&api, change, &path).await {
        Ok(outcome) => {
            let body = serde_json::json!({
                "id": request.id,
                "index": outcome.id.index,
                "pending": request.pending,
            });
            let mut response = Json(body).into_response();
            add_node_header(&api, &mut response);
            response
        }
        Err(response) => response,
    }
}

/// Removes a server from the configuration, then drops its addresses from the table.
async fn remove_member(
    State(api): State<Api>,
    Path(id): Path<NodeId>,
    OriginalUri(uri): OriginalUri,
) -> Response {
    let path = uri.to_string();
    let outcome = match change_membership(&api, MembershipChange::Remove { id }, &path).await {
        Ok(outcome) => outcome,
        Err(response) => return response,
    };
    let (reply, receiver) = oneshot::channel();
    let forget = Request::Write { command: Command::RemovePeer { id }, reply };
    if let Err(response) = submit(&api, forget, receiver, &path).await {
        tracing::warn!(
            node = api.node_id,
            peer = id,
            status = %response.status(),
            "removed the server but could not drop its addresses"
        );
    }
    let body = serde_json::json!({ "id": id, "index": outcome.id.index });
    let mut response = Json(body).into_response();
    add_node_header(&api, &mut response);
    response
}

/// Requests a membership change, retrying while the leader is not ready for one (it has not
/// committed an entry of its term yet, or another change is in flight).
async fn change_membership(
    api: &Api,
    change: MembershipChange,
    path: &str,
) -> Result<WriteOutcome, Response> {
    let deadline = tokio::time::Instant::now() + CHANGE_RETRY_TIME;
    loop {
        let (reply, receiver) = oneshot::channel();
        let request = Request::ChangeMembership { change, reply };
        let result = match tokio::time::timeout(WRITE_TIMEOUT, ask(api, request, receiver)).await {
            Ok(result) => result?,
            Err(_) => {
                return Err(text(
                    api,
                    StatusCode::GATEWAY_TIMEOUT,
                    "timed out waiting for the membership change to commit",
                ))
            }
        };
        match result {
            Ok(outcome) if outcome.outcome == ProposalOutcome::Committed => return Ok(outcome),
            Ok(outcome) => return Err(lost_response(api, outcome)),
            Err(NotAccepted {
                error: sansraft::Error::LeaderNotReady | sansraft::Error::ChangeInProgress { .. },
                ..
            }) if tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(not_accepted) => return Err(not_accepted_response(api, not_accepted, path)),
        }
    }
}
