//! Moving Raft messages and snapshots between nodes over TCP.
//!
//! Each node dials one connection to every peer it sends to and accepts connections from
//! peers that send to it, so each direction of traffic has its own connection. A connection
//! carries frames:
//!
//! ```text
//! length  u32 big-endian   bytes after this field (kind byte + payload)
//! kind    u8               1 hello, 2 message, 3 snapshot, 4 snapshot acknowledgement
//! payload
//! ```
//!
//! The dialer sends a hello first (cluster name, both node ids, its own addresses). A message
//! payload is the core's message encoding. A snapshot payload is the encoded
//! `InstallSnapshot` message (length-prefixed) followed by the snapshot data. The receiver
//! stores the data and hands the message to its node. Then it replies on the same connection
//! with an acknowledgement that reports whether the data was stored.

use std::collections::HashMap;
use std::io;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use bytes::{BufMut, Bytes};
use sansraft::codec::{decode_exact, decode_message, encode_message};
use sansraft::{Body, Index, Message, NodeId};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader, BufWriter};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};

use crate::state::{FormatError, PeerAddresses, Reader};

/// The largest frame accepted. Snapshots travel as one frame, so this bounds their size.
pub const MAX_FRAME_BYTES: u32 = 1 << 30;

const PROTOCOL_VERSION: u8 = 1;
const KIND_HELLO: u8 = 1;
const KIND_MESSAGE: u8 = 2;
const KIND_SNAPSHOT: u8 = 3;
const KIND_SNAPSHOT_ACK: u8 = 4;

/// Messages queued per peer before new ones are dropped. Raft resends what is lost.
const LINK_QUEUE_LEN: usize = 4096;
/// Frames written before one flush.
const MAX_BATCH_FRAMES: usize = 256;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
const HELLO_TIMEOUT: Duration = Duration::from_secs(5);
const MIN_BACKOFF: Duration = Duration::from_millis(50);
const MAX_BACKOFF: Duration = Duration::from_secs(1);

/// The first frame on a connection: who is calling whom.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hello {
    /// The cluster the caller belongs to.
    pub cluster_id: String,
    /// The caller.
    pub from: NodeId,
    /// The node the caller means to reach.
    pub to: NodeId,
    /// The caller's addresses, so the receiver can reply.
    pub addresses: PeerAddresses,
}

/// One unit on a connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Frame {
    /// Starts a connection.
    Hello(Hello),
    /// An encoded Raft message.
    Message(Bytes),
    /// An encoded `InstallSnapshot` message and the snapshot data.
    Snapshot {
        /// The encoded message.
        message: Bytes,
        /// The snapshot data.
        data: Bytes,
    },
    /// The receiver's reply to a snapshot frame.
    SnapshotAck {
        /// The snapshot's last index.
        index: Index,
        /// Whether the receiver stored the data.
        stored: bool,
    },
}

impl Frame {
    /// Appends the frame, with its length prefix, to `out`.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        let start = out.len();
        out.put_u32(0);
        match self {
            Frame::Hello(hello) => {
                out.put_u8(KIND_HELLO);
                out.put_u8(PROTOCOL_VERSION);
                put_string(out, &hello.cluster_id);
                out.put_u64_le(hello.from);
                out.put_u64_le(hello.to);
                put_string(out, &hello.addresses.raft_addr);
                put_string(out, &hello.addresses.http_addr);
            }
            Frame::Message(message) => {
                out.put_u8(KIND_MESSAGE);
                out.put_slice(message);
            }
            Frame::Snapshot { message, data } => {
                out.put_u8(KIND_SNAPSHOT);
                out.put_u32_le(u32::try_from(message.len()).expect("a message header is small"));
                out.put_slice(message);
                out.put_slice(data);
            }
            Frame::SnapshotAck { index, stored } => {
                out.put_u8(KIND_SNAPSHOT_ACK);
                out.put_u64_le(*index);
                out.put_u8(u8::from(*stored));
            }
        }
        let len = u32::try_from(out.len() - start - 4).expect("frames stay below 4 GiB");
        out[start..start + 4].copy_from_slice(&len.to_be_bytes());
    }

    /// Decodes a frame body (the kind byte and the payload).
    pub fn decode(body: Bytes) -> Result<Frame, FormatError> {
        let Some(kind) = body.first().copied() else {
            return Err(FormatError("empty frame".into()));
        };
        let payload = body.slice(1..);
        let mut reader = Reader::new(&payload);
        let frame = match kind {
            KIND_HELLO => {
                let version = reader.u8("protocol version")?;
                if version != PROTOCOL_VERSION {
                    return Err(FormatError(format!("unknown protocol version {version}")));
                }
                let cluster_id = reader.string("cluster id")?;
                let from = reader.u64("caller id")?;
                let to = reader.u64("callee id")?;
                let raft_addr = reader.string("raft address")?;
                let http_addr = reader.string("http address")?;
                reader.finish()?;
                let addresses = PeerAddresses { raft_addr, http_addr };
                Frame::Hello(Hello { cluster_id, from, to, addresses })
            }
            KIND_MESSAGE => Frame::Message(payload.clone()),
            KIND_SNAPSHOT => {
                let message = reader.bytes("snapshot message")?;
                let message = payload.slice_ref(message);
                let data = payload.slice_ref(reader.rest());
                Frame::Snapshot { message, data }
            }
            KIND_SNAPSHOT_ACK => {
                let index = reader.u64("snapshot index")?;
                let stored = reader.u8("stored flag")? != 0;
                reader.finish()?;
                Frame::SnapshotAck { index, stored }
            }
            other => return Err(FormatError(format!("unknown frame kind {other}"))),
        };
        Ok(frame)
    }
}

fn put_string(out: &mut Vec<u8>, text: &str) {
    out.put_u32_le(u32::try_from(text.len()).expect("names and addresses are short"));
    out.put_slice(text.as_bytes());
}

/// Writes one frame. The caller flushes.
pub async fn write_frame(writer: &mut (impl AsyncWrite + Unpin), frame: &Frame) -> io::Result<()> {
    let mut out = Vec::new();
    frame.encode_into(&mut out);
    writer.write_all(&out).await
}

/// Reads one frame; `Ok(None)` when the peer closed the connection between frames. Memory
/// grows with the bytes that arrive, not with the length a frame claims.
pub async fn read_frame(reader: &mut (impl AsyncRead + Unpin)) -> io::Result<Option<Frame>> {
    let mut prefix = [0u8; 4];
    match reader.read_exact(&mut prefix).await {
        Ok(_) => {}
        Err(error) if error.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(error) => return Err(error),
    }
    let len = u32::from_be_bytes(prefix);
    if len == 0 || len > MAX_FRAME_BYTES {
        let text = format!("frame length {len} is outside 1..={MAX_FRAME_BYTES}");
        return Err(io::Error::new(io::ErrorKind::InvalidData, text));
    }
    let mut body = Vec::new();
    let read = reader.take(u64::from(len)).read_to_end(&mut body).await?;
    if read != len as usize {
        let text = format!("connection closed inside a frame of {len} bytes");
        return Err(io::Error::new(io::ErrorKind::UnexpectedEof, text));
    }
    Frame::decode(Bytes::from(body))
        .map(Some)
        .map_err(|error| io::Error::new(io::ErrorKind::InvalidData, error.to_string()))
}

/// The addresses of every server.
///
/// Addresses come from three places, and a lookup prefers them in this order: what the
/// server itself announced in its latest hello, the replicated table in the state machine
/// (`SetPeer` commands), and the `--peer` flags.
#[derive(Debug, Default)]
pub struct AddressBook {
    inner: RwLock<Sources>,
}

#[derive(Debug, Default)]
struct Sources {
    announced: HashMap<NodeId, PeerAddresses>,
    replicated: HashMap<NodeId, PeerAddresses>,
    configured: HashMap<NodeId, PeerAddresses>,
}

impl AddressBook {
    /// Creates a book from the addresses given on the command line.
    pub fn new(configured: HashMap<NodeId, PeerAddresses>) -> Self {
        let sources = Sources { configured, ..Sources::default() };
        AddressBook { inner: RwLock::new(sources) }
    }

    /// Returns the addresses of `id`, if any source has them.
    pub fn get(&self, id: NodeId) -> Option<PeerAddresses> {
        let sources = self.inner.read().expect("address book lock is never poisoned");
        let found = sources.announced.get(&id);
        let found = found.or_else(|| sources.replicated.get(&id));
        found.or_else(|| sources.configured.get(&id)).cloned()
    }

    /// Records what a peer announced in its hello.
    pub fn announce(&self, id: NodeId, addresses: PeerAddresses) {
        let mut sources = self.inner.write().expect("address book lock is never poisoned");
        sources.announced.insert(id, addresses);
    }

    /// Replaces the replicated table.
    pub fn set_replicated<'a>(
        &self,
        table: impl IntoIterator<Item = (&'a NodeId, &'a PeerAddresses)>,
    ) {
        let mut sources = self.inner.write().expect("address book lock is never poisoned");
        sources.replicated =
            table.into_iter().map(|(id, addresses)| (*id, addresses.clone())).collect();
    }
}

/// An event from the transport for the node's task.
#[derive(Debug)]
pub enum Inbound {
    /// A message from a peer.
    Message(Message),
    /// A snapshot from the leader. The node's task stores the data, steps the message and
    /// reports through `stored` whether the data is durable.
    Snapshot {
        /// The `InstallSnapshot` message.
        message: Message,
        /// The snapshot data.
        data: Bytes,
        /// Receives whether the data was stored.
        stored: oneshot::Sender<bool>,
    },
    /// A snapshot send that `Output::SendSnapshot` requested ended.
    SnapshotSent {
        /// The receiver.
        to: NodeId,
        /// `Ok` when the receiver stored it, or why the send failed.
        result: Result<(), String>,
    },
}

/// This node's side of every connection.
#[derive(Debug)]
pub struct Local {
    /// The cluster name sent and expected in hellos.
    pub cluster_id: String,
    /// This node's id.
    pub id: NodeId,
    /// This node's addresses, announced in hellos.
    pub addresses: PeerAddresses,
    /// The peers' addresses.
    pub book: Arc<AddressBook>,
}

enum Outgoing {
    Message(Bytes),
    Snapshot { message: Bytes, data: Bytes, index: Index },
}

/// The sending side: one queue and one task per peer.
pub struct Outbound {
    local: Arc<Local>,
    links: HashMap<NodeId, mpsc::Sender<Outgoing>>,
    inbound: mpsc::Sender<Inbound>,
    dropped: u64,
}

impl Outbound {
    /// Creates the sending side. Snapshot results are reported on `inbound`.
    pub fn new(local: Arc<Local>, inbound: mpsc::Sender<Inbound>) -> Self {
        Outbound { local, links: HashMap::new(), inbound, dropped: 0 }
    }

    /// Queues a message for its receiver. A full queue drops it; Raft sends it again.
    pub fn send(&mut self, message: &Message) {
        let mut encoded = Vec::new();
        encode_message(message, &mut encoded);
        self.enqueue(message.to, Outgoing::Message(Bytes::from(encoded)));
    }

    /// Queues an `InstallSnapshot` message with the snapshot data. The result arrives as
    /// [`Inbound::SnapshotSent`].
    pub fn send_snapshot(&mut self, message: &Message, data: Bytes) {
        let index = match &message.body {
            Body::InstallSnapshot { meta } => meta.last.index,
            _ => 0,
        };
        let mut encoded = Vec::new();
        encode_message(message, &mut encoded);
        let outgoing = Outgoing::Snapshot { message: Bytes::from(encoded), data, index };
        self.enqueue(message.to, outgoing);
    }

    fn enqueue(&mut self, to: NodeId, outgoing: Outgoing) {
        let local = &self.local;
        let inbound = &self.inbound;
        let link = self.links.entry(to).or_insert_with(|| {
            let (sender, receiver) = mpsc::channel(LINK_QUEUE_LEN);
            tokio::spawn(run_link(to, receiver, local.clone(), inbound.clone()));
            sender
        });
        if let Err(error) = link.try_send(outgoing) {
            let outgoing = match error {
                mpsc::error::TrySendError::Full(outgoing) => outgoing,
                mpsc::error::TrySendError::Closed(outgoing) => outgoing,
            };
            self.dropped += 1;
            if self.dropped == 1 || self.dropped % 1000 == 0 {
                tracing::warn!(
                    node = self.local.id,
                    peer = to,
                    dropped_total = self.dropped,
                    "send queue full; dropping messages until the peer catches up"
                );
            }
            report_snapshot_failure(to, &outgoing, inbound, "the send queue is full");
        }
    }
}

fn report_snapshot_failure(
    to: NodeId,
    outgoing: &Outgoing,
    inbound: &mpsc::Sender<Inbound>,
    reason: &str,
) {
    if let Outgoing::Snapshot { .. } = outgoing {
        let inbound = inbound.clone();
        let result = Err(reason.to_owned());
        tokio::spawn(async move {
            let _ = inbound.send(Inbound::SnapshotSent { to, result }).await;
        });
    }
}

struct Connection {
    reader: BufReader<OwnedReadHalf>,
    writer: BufWriter<OwnedWriteHalf>,
}

/// Sends everything queued for `peer`, connecting (again) when needed. Messages queued while
/// the peer is unreachable are dropped, because they would be stale by the time it is back.
async fn run_link(
    peer: NodeId,
    mut queue: mpsc::Receiver<Outgoing>,
    local: Arc<Local>,
    inbound: mpsc::Sender<Inbound>,
) {
    let mut connection: Option<Connection> = None;
    let mut failures: u32 = 0;
    while let Some(first) = queue.recv().await {
        if connection.is_none() {
            match connect(peer, &local).await {
                Ok(connected) => {
                    if failures > 0 {
                        tracing::info!(node = local.id, peer, failures, "connected to peer again");
                    }
                    failures = 0;
                    connection = Some(connected);
                }
                Err(error) => {
                    failures += 1;
                    if failures == 1 || failures % 50 == 0 {
                        tracing::warn!(
                            node = local.id,
                            peer,
                            failures,
                            %error,
                            "cannot connect to peer; retrying with backoff"
                        );
                    }
                    report_snapshot_failure(peer, &first, &inbound, &error.to_string());
                    let delay = MIN_BACKOFF.saturating_mul(1 << failures.min(5)).min(MAX_BACKOFF);
                    tokio::time::sleep(delay).await;
                    while let Ok(stale) = queue.try_recv() {
                        report_snapshot_failure(peer, &stale, &inbound, "the peer is unreachable");
                    }
                    continue;
                }
            }
        }

        let open = connection.as_mut().expect("connected above");
        if let Err(error) = send_batch(peer, first, &mut queue, open, &inbound).await {
            tracing::warn!(node = local.id, peer, %error, "lost connection to peer; reconnecting");
            connection = None;
            failures = 1;
        }
    }
}

async fn connect(peer: NodeId, local: &Local) -> io::Result<Connection> {
    let Some(addresses) = local.book.get(peer) else {
        let text = format!("no address is known for node {peer}");
        return Err(io::Error::new(io::ErrorKind::NotFound, text));
    };
    let stream = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(&addresses.raft_addr))
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "connect timed out"))??;
    stream.set_nodelay(true)?;
    let (reader, writer) = stream.into_split();
    let mut connection =
        Connection { reader: BufReader::new(reader), writer: BufWriter::new(writer) };
    let hello = Hello {
        cluster_id: local.cluster_id.clone(),
        from: local.id,
        to: peer,
        addresses: local.addresses.clone(),
    };
    write_frame(&mut connection.writer, &Frame::Hello(hello)).await?;
    connection.writer.flush().await?;
    Ok(connection)
}

/// Writes `first` and whatever else is queued, then flushes once. A snapshot waits for the
/// receiver's acknowledgement and reports it.
async fn send_batch(
    peer: NodeId,
    first: Outgoing,
    queue: &mut mpsc::Receiver<Outgoing>,
    connection: &mut Connection,
    inbound: &mpsc::Sender<Inbound>,
) -> io::Result<()> {
    let mut next = Some(first);
    let mut written = 0;
    while let Some(outgoing) = next.take() {
        match outgoing {
            Outgoing::Message(message) => {
                write_frame(&mut connection.writer, &Frame::Message(message)).await?;
            }
            Outgoing::Snapshot { message, data, index } => {
                let sent = send_snapshot(connection, message, data, index).await;
                let result = match &sent {
                    Ok(true) => Ok(()),
                    Ok(false) => Err("the receiver could not store it".to_owned()),
                    Err(error) => Err(error.to_string()),
                };
                let _ = inbound.send(Inbound::SnapshotSent { to: peer, result }).await;
                sent?;
            }
        }
        written += 1;
        if written < MAX_BATCH_FRAMES {
            next = queue.try_recv().ok();
        }
    }
    connection.writer.flush().await
}

async fn send_snapshot(
    connection: &mut Connection,
    message: Bytes,
    data: Bytes,
    index: Index,
) -> io::Result<bool> {
    // Allow a second per 10 MiB on top of a base, so a large snapshot is not cut off.
    let timeout = Duration::from_secs(10 + data.len() as u64 / (10 << 20));
    write_frame(&mut connection.writer, &Frame::Snapshot { message, data }).await?;
    connection.writer.flush().await?;
    let reply = tokio::time::timeout(timeout, read_frame(&mut connection.reader))
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "no snapshot acknowledgement"))??;
    match reply {
        Some(Frame::SnapshotAck { index: acked, stored }) if acked == index => Ok(stored),
        Some(other) => {
            let text =
                format!("expected a snapshot acknowledgement for index {index}, got {other:?}");
            Err(io::Error::new(io::ErrorKind::InvalidData, text))
        }
        None => Err(io::Error::new(io::ErrorKind::UnexpectedEof, "peer closed the connection")),
    }
}

/// Accepts connections from peers and passes what they send to the node's task.
pub async fn serve(listener: TcpListener, local: Arc<Local>, inbound: mpsc::Sender<Inbound>) {
    loop {
        match listener.accept().await {
            Ok((stream, remote)) => {
                let local = local.clone();
                let inbound = inbound.clone();
                tokio::spawn(async move {
                    if let Err(error) = handle_connection(stream, &local, inbound).await {
                        tracing::warn!(
                            node = local.id,
                            %remote,
                            %error,
                            "closed a peer connection after an error"
                        );
                    }
                });
            }
            Err(error) => {
                tracing::warn!(node = local.id, %error, "accepting a peer connection failed");
                tokio::time::sleep(MIN_BACKOFF).await;
            }
        }
    }
}

async fn handle_connection(
    stream: TcpStream,
    local: &Local,
    inbound: mpsc::Sender<Inbound>,
) -> io::Result<()> {
    stream.set_nodelay(true)?;
    let (reader, mut writer) = stream.into_split();
    let mut reader = BufReader::new(reader);
    let hello = match tokio::time::timeout(HELLO_TIMEOUT, read_frame(&mut reader)).await {
        Ok(Ok(Some(Frame::Hello(hello)))) => hello,
        Ok(Ok(None)) => return Ok(()),
        Ok(Ok(Some(other))) => {
            return Err(invalid(format!("expected a hello frame, got {other:?}")))
        }
        Ok(Err(error)) => return Err(error),
        Err(_) => return Err(io::Error::new(io::ErrorKind::TimedOut, "no hello frame")),
    };
    check_hello(&hello, local)?;
    local.book.announce(hello.from, hello.addresses.clone());

    while let Some(frame) = read_frame(&mut reader).await? {
        match frame {
            Frame::Message(bytes) => {
                let message = decode_peer_message(bytes, hello.from)?;
                if inbound.send(Inbound::Message(message)).await.is_err() {
                    return Ok(());
                }
            }
            Frame::Snapshot { message, data } => {
                let message = decode_peer_message(message, hello.from)?;
                let Body::InstallSnapshot { meta } = &message.body else {
                    return Err(invalid(format!(
                        "a snapshot frame carried a {}",
                        message.body.kind()
                    )));
                };
                let index = meta.last.index;
                let (stored_sender, stored) = oneshot::channel();
                let handoff = Inbound::Snapshot { message, data, stored: stored_sender };
                if inbound.send(handoff).await.is_err() {
                    return Ok(());
                }
                let stored = stored.await.unwrap_or(false);
                write_frame(&mut writer, &Frame::SnapshotAck { index, stored }).await?;
                writer.flush().await?;
            }
            other => return Err(invalid(format!("unexpected frame {other:?}"))),
        }
    }
    Ok(())
}

fn check_hello(hello: &Hello, local: &Local) -> io::Result<()> {
    if hello.cluster_id != local.cluster_id {
        return Err(invalid(format!(
            "node {} belongs to cluster {:?}, not {:?}; check its --cluster-id",
            hello.from, hello.cluster_id, local.cluster_id
        )));
    }
    if hello.to != local.id {
        return Err(invalid(format!(
            "node {} dialed {} expecting node {}, but this is node {}; check its --peer flags",
            hello.from, local.addresses.raft_addr, hello.to, local.id
        )));
    }
    Ok(())
}

fn decode_peer_message(bytes: Bytes, sender: NodeId) -> io::Result<Message> {
    let message = decode_exact(bytes, decode_message)
        .map_err(|error| invalid(format!("undecodable message: {error}")))?;
    if message.from != sender {
        return Err(invalid(format!(
            "a message claims to come from node {} on node {sender}'s connection",
            message.from
        )));
    }
    Ok(message)
}

fn invalid(text: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn frames_round_trip() {
        let addresses =
            PeerAddresses { raft_addr: "127.0.0.1:1".into(), http_addr: "127.0.0.1:2".into() };
        let frames = [
            Frame::Hello(Hello { cluster_id: "c".into(), from: 1, to: 2, addresses }),
            Frame::Message(Bytes::from_static(b"\x01\x02")),
            Frame::Snapshot {
                message: Bytes::from_static(b"m"),
                data: Bytes::from_static(b"data"),
            },
            Frame::SnapshotAck { index: 7, stored: true },
        ];
        let mut wire = Vec::new();
        for frame in &frames {
            frame.encode_into(&mut wire);
        }
        let mut reader = &wire[..];
        for frame in &frames {
            assert_eq!(read_frame(&mut reader).await.unwrap().as_ref(), Some(frame));
        }
        assert_eq!(read_frame(&mut reader).await.unwrap(), None);
    }

    #[tokio::test]
    async fn oversized_frame_is_rejected() {
        let wire = (MAX_FRAME_BYTES + 1).to_be_bytes();
        let error = read_frame(&mut &wire[..]).await.unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::InvalidData);
    }
}
