//! The replicated state machine: a key-value map and the table of peer addresses.
//!
//! Every data entry of the log carries one [`Command`]. Applying the same commands in the
//! same order gives every node the same [`KvState`], which [`KvState::digest`] summarizes.

use std::collections::BTreeMap;
use std::fmt;

use bytes::{BufMut, Bytes};
use sansraft::NodeId;

/// The largest key accepted, in bytes of UTF-8.
pub const MAX_KEY_BYTES: usize = 1024;

const COMMAND_VERSION: u8 = 1;
const TAG_PUT: u8 = 1;
const TAG_DELETE: u8 = 2;
const TAG_SET_PEER: u8 = 3;
const TAG_REMOVE_PEER: u8 = 4;

/// How to reach a server: its Raft transport address and its HTTP address.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PeerAddresses {
    /// `host:port` of the Raft transport.
    pub raft_addr: String,
    /// `host:port` of the HTTP API.
    pub http_addr: String,
}

/// One change to the state machine, carried by a log entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// Sets `key` to `value`.
    Put {
        /// The key.
        key: String,
        /// The new value.
        value: Bytes,
    },
    /// Removes `key`, if present.
    Delete {
        /// The key.
        key: String,
    },
    /// Records the addresses of server `id`, so that every node can reach it.
    SetPeer {
        /// The server.
        id: NodeId,
        /// Its addresses.
        addresses: PeerAddresses,
    },
    /// Forgets the addresses of server `id`.
    RemovePeer {
        /// The server.
        id: NodeId,
    },
}

/// The reason entry data or snapshot data could not be decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FormatError(pub String);

impl fmt::Display for FormatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for FormatError {}

impl Command {
    /// Encodes the command as entry data: a version byte, a tag, then the fields.
    pub fn encode(&self) -> Bytes {
        let mut out = vec![COMMAND_VERSION];
        match self {
            Command::Put { key, value } => {
                out.put_u8(TAG_PUT);
                put_bytes(&mut out, key.as_bytes());
                put_bytes(&mut out, value);
            }
            Command::Delete { key } => {
                out.put_u8(TAG_DELETE);
                put_bytes(&mut out, key.as_bytes());
            }
            Command::SetPeer { id, addresses } => {
                out.put_u8(TAG_SET_PEER);
                out.put_u64_le(*id);
                put_bytes(&mut out, addresses.raft_addr.as_bytes());
                put_bytes(&mut out, addresses.http_addr.as_bytes());
            }
            Command::RemovePeer { id } => {
                out.put_u8(TAG_REMOVE_PEER);
                out.put_u64_le(*id);
            }
        }
        Bytes::from(out)
    }

    /// Decodes entry data written by [`encode`](Command::encode).
    pub fn decode(data: &Bytes) -> Result<Command, FormatError> {
        let mut reader = Reader::new(data);
        let version = reader.u8("command version")?;
        if version != COMMAND_VERSION {
            return Err(FormatError(format!("unknown command version {version}")));
        }
        let command = match reader.u8("command tag")? {
            TAG_PUT => {
                let key = reader.string("key")?;
                let value = reader.bytes("value")?;
                Command::Put { key, value: data.slice_ref(value) }
            }
            TAG_DELETE => Command::Delete { key: reader.string("key")? },
            TAG_SET_PEER => {
                let id = reader.u64("peer id")?;
                let raft_addr = reader.string("raft address")?;
                let http_addr = reader.string("http address")?;
                Command::SetPeer { id, addresses: PeerAddresses { raft_addr, http_addr } }
            }
            TAG_REMOVE_PEER => Command::RemovePeer { id: reader.u64("peer id")? },
            tag => return Err(FormatError(format!("unknown command tag {tag}"))),
        };
        reader.finish()?;
        Ok(command)
    }
}

/// The state machine: the key-value map, the peer address table and a digest of the map.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KvState {
    map: BTreeMap<String, Bytes>,
    peers: BTreeMap<NodeId, PeerAddresses>,
    digest: u64,
}

impl KvState {
    /// Applies one command.
    pub fn apply(&mut self, command: Command) {
        match command {
            Command::Put { key, value } => {
                self.digest ^= entry_digest(&key, &value);
                if let Some(old) = self.map.insert(key.clone(), value) {
                    self.digest ^= entry_digest(&key, &old);
                }
            }
            Command::Delete { key } => {
                if let Some(old) = self.map.remove(&key) {
                    self.digest ^= entry_digest(&key, &old);
                }
            }
            Command::SetPeer { id, addresses } => {
                self.peers.insert(id, addresses);
            }
            Command::RemovePeer { id } => {
                self.peers.remove(&id);
            }
        }
    }

    /// Returns the value of `key`.
    pub fn get(&self, key: &str) -> Option<&Bytes> {
        self.map.get(key)
    }

    /// Returns the number of keys.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Returns true when the map has no keys.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Returns the replicated peer address table.
    pub fn peers(&self) -> &BTreeMap<NodeId, PeerAddresses> {
        &self.peers
    }

    /// Returns a digest of the key-value map: the XOR of [`entry_digest`] over every pair.
    /// Two maps with the same pairs have the same digest whatever order they were built in.
    pub fn digest(&self) -> u64 {
        self.digest
    }

    /// Appends the state to `out`: the key count, each key and value, the peer count, each
    /// peer's id and addresses.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        out.put_u64_le(self.map.len() as u64);
        for (key, value) in &self.map {
            put_bytes(out, key.as_bytes());
            put_bytes(out, value);
        }
        out.put_u64_le(self.peers.len() as u64);
        for (id, addresses) in &self.peers {
            out.put_u64_le(*id);
            put_bytes(out, addresses.raft_addr.as_bytes());
            put_bytes(out, addresses.http_addr.as_bytes());
        }
    }

    /// Decodes a state written by [`encode_into`](KvState::encode_into). Values share the
    /// memory of `data`.
    pub fn decode(data: &Bytes) -> Result<KvState, FormatError> {
        let mut reader = Reader::new(data);
        let mut state = KvState::default();
        let keys = reader.u64("key count")?;
        for _ in 0..keys {
            let key = reader.string("key")?;
            let value = data.slice_ref(reader.bytes("value")?);
            state.apply(Command::Put { key, value });
        }
        let peers = reader.u64("peer count")?;
        for _ in 0..peers {
            let id = reader.u64("peer id")?;
            let raft_addr = reader.string("raft address")?;
            let http_addr = reader.string("http address")?;
            state.peers.insert(id, PeerAddresses { raft_addr, http_addr });
        }
        reader.finish()?;
        Ok(state)
    }
}

/// Hashes one key-value pair to 64 bits: FNV-1a over the length-prefixed key and value,
/// then the SplitMix64 finalizer so that single-bit differences spread over every bit.
pub fn entry_digest(key: &str, value: &[u8]) -> u64 {
    const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut hash = FNV_OFFSET;
    let key_len = (key.len() as u64).to_le_bytes();
    let value_len = (value.len() as u64).to_le_bytes();
    for part in [&key_len[..], key.as_bytes(), &value_len[..], value] {
        for byte in part {
            hash ^= u64::from(*byte);
            hash = hash.wrapping_mul(FNV_PRIME);
        }
    }
    hash ^= hash >> 30;
    hash = hash.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    hash ^= hash >> 27;
    hash = hash.wrapping_mul(0x94d0_49bb_1331_11eb);
    hash ^ (hash >> 31)
}

fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    let len = u32::try_from(bytes.len()).expect("keys, values and addresses are below 4 GiB");
    out.put_u32_le(len);
    out.put_slice(bytes);
}

/// Reads fields from the front of a byte slice, naming the field in every error.
pub(crate) struct Reader<'a> {
    data: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) fn new(data: &'a [u8]) -> Self {
        Reader { data }
    }

    pub(crate) fn raw(&mut self, count: usize, field: &str) -> Result<&'a [u8], FormatError> {
        if self.data.len() < count {
            let available = self.data.len();
            return Err(FormatError(format!(
                "{field} needs {count} bytes but only {available} remain"
            )));
        }
        let (head, tail) = self.data.split_at(count);
        self.data = tail;
        Ok(head)
    }

    pub(crate) fn u8(&mut self, field: &str) -> Result<u8, FormatError> {
        Ok(self.raw(1, field)?[0])
    }

    pub(crate) fn u32(&mut self, field: &str) -> Result<u32, FormatError> {
        let bytes = self.raw(4, field)?;
        Ok(u32::from_le_bytes(bytes.try_into().expect("4 bytes")))
    }

    pub(crate) fn u64(&mut self, field: &str) -> Result<u64, FormatError> {
        let bytes = self.raw(8, field)?;
        Ok(u64::from_le_bytes(bytes.try_into().expect("8 bytes")))
    }

    pub(crate) fn bytes(&mut self, field: &str) -> Result<&'a [u8], FormatError> {
        let len = self.u32(field)? as usize;
        self.raw(len, field)
    }

    pub(crate) fn string(&mut self, field: &str) -> Result<String, FormatError> {
        let bytes = self.bytes(field)?;
        String::from_utf8(bytes.to_vec())
            .map_err(|_| FormatError(format!("{field} is not valid UTF-8")))
    }

    /// Returns the bytes not read yet and consumes them.
    pub(crate) fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.data)
    }

    pub(crate) fn finish(&self) -> Result<(), FormatError> {
        match self.data.len() {
            0 => Ok(()),
            count => Err(FormatError(format!("{count} unexpected bytes after the last field"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(key: &str, value: &str) -> Command {
        Command::Put { key: key.to_owned(), value: Bytes::from(value.to_owned()) }
    }

    #[test]
    fn commands_round_trip() {
        let addresses = PeerAddresses {
            raft_addr: "127.0.0.1:7001".into(),
            http_addr: "127.0.0.1:8001".into(),
        };
        let commands = [
            put("a", "1"),
            Command::Delete { key: "a".into() },
            Command::SetPeer { id: 4, addresses },
            Command::RemovePeer { id: 4 },
        ];
        for command in commands {
            assert_eq!(Command::decode(&command.encode()), Ok(command));
        }
    }

    #[test]
    fn truncated_command_is_rejected() {
        let data = put("key", "value").encode();
        for cut in 0..data.len() {
            assert!(Command::decode(&data.slice(..cut)).is_err(), "cut at {cut}");
        }
    }

    #[test]
    fn digest_ignores_order_and_tracks_removal() {
        let mut forward = KvState::default();
        forward.apply(put("a", "1"));
        forward.apply(put("b", "2"));
        let mut backward = KvState::default();
        backward.apply(put("b", "2"));
        backward.apply(put("a", "0"));
        backward.apply(put("a", "1"));
        assert_eq!(forward.digest(), backward.digest());

        backward.apply(Command::Delete { key: "b".into() });
        assert_ne!(forward.digest(), backward.digest());
        forward.apply(Command::Delete { key: "b".into() });
        assert_eq!(forward.digest(), backward.digest());
    }

    #[test]
    fn state_round_trips() {
        let mut state = KvState::default();
        state.apply(put("a", "1"));
        state.apply(put("b", ""));
        let addresses = PeerAddresses {
            raft_addr: "127.0.0.1:7002".into(),
            http_addr: "127.0.0.1:8002".into(),
        };
        state.apply(Command::SetPeer { id: 2, addresses });
        let mut out = Vec::new();
        state.encode_into(&mut out);
        assert_eq!(KvState::decode(&Bytes::from(out)), Ok(state));
    }
}
