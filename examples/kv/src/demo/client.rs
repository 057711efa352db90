//! A small HTTP client for the demo: requests with a timeout, and the node API calls.

use std::time::Duration;

use anyhow::Context;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Method, Request, StatusCode};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use crate::status::StatusView;

const REQUEST_TIMEOUT: Duration = Duration::from_secs(3);

/// A response read to the end.
#[derive(Debug)]
pub struct Reply {
    /// The status code.
    pub status: StatusCode,
    /// The `Location` header, if any.
    pub location: Option<String>,
    /// The `x-sansraft-node-id` header, if any.
    pub node_id: Option<u64>,
    /// The body.
    pub body: Bytes,
}

impl Reply {
    /// Returns the body as text, for messages.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).trim_end().to_owned()
    }
}

/// An HTTP/1.1 client with keep-alive connections.
#[derive(Clone, Debug)]
pub struct HttpClient {
    inner: Client<HttpConnector, Full<Bytes>>,
}

impl Default for HttpClient {
    fn default() -> Self {
        Self::new()
    }
}

impl HttpClient {
    /// Creates a client.
    pub fn new() -> Self {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        connector.set_connect_timeout(Some(Duration::from_secs(1)));
        HttpClient { inner: Client::builder(TokioExecutor::new()).build(connector) }
    }

    /// Sends one request with an `application/octet-stream` body (no redirects followed)
    /// and reads the whole response.
    pub async fn send(&self, method: Method, url: &str, body: Bytes) -> anyhow::Result<Reply> {
        self.send_typed(method, url, body, "application/octet-stream").await
    }

    /// Sends one request with a body of `content_type` and reads the whole response.
    pub async fn send_typed(
        &self,
        method: Method,
        url: &str,
        body: Bytes,
        content_type: &str,
    ) -> anyhow::Result<Reply> {
        let request = Request::builder()
            .method(method.clone())
            .uri(url)
            .header(hyper::header::CONTENT_TYPE, content_type)
            .body(Full::new(body))
            .with_context(|| format!("invalid request URL {url}"))?;
        let exchange = async {
            let response = self.inner.request(request).await?;
            let status = response.status();
            let headers = response.headers().clone();
            let body = response.into_body().collect().await?.to_bytes();
            anyhow::Ok((status, headers, body))
        };
        let (status, headers, body) = tokio::time::timeout(REQUEST_TIMEOUT, exchange)
            .await
            .map_err(|_| anyhow::anyhow!("{method} {url} timed out after {REQUEST_TIMEOUT:?}"))?
            .with_context(|| format!("{method} {url} failed"))?;
        let header =
            |name: &str| headers.get(name).and_then(|value| value.to_str().ok()).map(str::to_owned);
        Ok(Reply {
            status,
            location: header("location"),
            node_id: header(crate::http::NODE_ID_HEADER).and_then(|id| id.parse().ok()),
            body,
        })
    }

    /// Fetches `GET /status` from `http_addr`.
    pub async fn status(&self, http_addr: &str) -> anyhow::Result<StatusView> {
        let reply =
            self.send(Method::GET, &format!("http://{http_addr}/status"), Bytes::new()).await?;
        if reply.status != StatusCode::OK {
            anyhow::bail!("GET /status on {http_addr} returned {}: {}", reply.status, reply.text());
        }
        serde_json::from_slice(&reply.body)
            .with_context(|| format!("invalid status JSON from {http_addr}"))
    }

    /// Reads a key from one node's local map; `None` when the key is missing.
    pub async fn get(&self, http_addr: &str, key: &str) -> anyhow::Result<Option<Bytes>> {
        let reply =
            self.send(Method::GET, &format!("http://{http_addr}/kv/{key}"), Bytes::new()).await?;
        match reply.status {
            StatusCode::OK => Ok(Some(reply.body)),
            StatusCode::NOT_FOUND => Ok(None),
            other => {
                anyhow::bail!("GET /kv/{key} on {http_addr} returned {other}: {}", reply.text())
            }
        }
    }
}
