//! Round trips, malformed input and allocation bounds of the binary encoding.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::collections::BTreeSet;
use std::sync::Arc;

use bytes::{Buf, Bytes, BytesMut};
use sansraft::codec::{self, DecodeError, WIRE_VERSION};
use sansraft::{
    AppendOutcome, Body, Entry, HardState, Learner, LogId, Membership, MembershipError, Message,
    Payload, Rng, SnapshotMeta,
};

/// Wraps the system allocator to record the largest single allocation made on each thread,
/// so a test can check that decoding never reserves memory for bytes that are not there.
struct LargestAllocationTracker;

thread_local! {
    static LARGEST_ALLOCATION: Cell<usize> = const { Cell::new(0) };
}

fn record_allocation(size: usize) {
    // `try_with` fails only while the thread is shutting down, when nothing is measured.
    let _ = LARGEST_ALLOCATION.try_with(|largest| largest.set(largest.get().max(size)));
}

unsafe impl GlobalAlloc for LargestAllocationTracker {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        record_allocation(layout.size());
        System.alloc(layout)
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        record_allocation(layout.size());
        System.alloc_zeroed(layout)
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        record_allocation(new_size);
        System.realloc(ptr, layout, new_size)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
}

#[global_allocator]
static ALLOCATOR: LargestAllocationTracker = LargestAllocationTracker;

/// Runs `run` and returns its result with the largest allocation it made on this thread.
fn largest_allocation_during<T>(run: impl FnOnce() -> T) -> (T, usize) {
    LARGEST_ALLOCATION.with(|largest| largest.set(0));
    let value = run();
    (value, LARGEST_ALLOCATION.with(Cell::get))
}

fn encode_message(message: &Message) -> Bytes {
    let mut buf = BytesMut::with_capacity(codec::encoded_message_len(message));
    codec::encode_message(message, &mut buf);
    buf.freeze()
}

fn encode_entry(entry: &Entry) -> Bytes {
    let mut buf = BytesMut::new();
    codec::encode_entry(entry, &mut buf);
    buf.freeze()
}

fn encode_hard_state(hard_state: &HardState) -> Bytes {
    let mut buf = BytesMut::new();
    codec::encode_hard_state(hard_state, &mut buf);
    buf.freeze()
}

fn encode_membership(membership: &Membership) -> Bytes {
    let mut buf = BytesMut::new();
    codec::encode_membership(membership, &mut buf);
    buf.freeze()
}

/// Encodes and decodes `message`, checking the reported length and that nothing is left over.
fn assert_message_round_trips(message: &Message) {
    let encoded = encode_message(message);
    assert_eq!(encoded.len(), codec::encoded_message_len(message), "length of {message:?}");
    let decoded = codec::decode_exact(encoded, codec::decode_message);
    assert_eq!(decoded.as_ref(), Ok(message));
}

fn assert_entry_round_trips(entry: &Entry) {
    let encoded = encode_entry(entry);
    assert_eq!(encoded.len(), codec::encoded_entry_len(entry), "length of {entry:?}");
    let decoded = codec::decode_exact(encoded, codec::decode_entry);
    assert_eq!(decoded.as_ref(), Ok(entry));
}

fn assert_hard_state_round_trips(hard_state: &HardState) {
    let encoded = encode_hard_state(hard_state);
    let len = codec::encoded_hard_state_len(hard_state);
    assert_eq!(encoded.len(), len, "length of {hard_state:?}");
    let decoded = codec::decode_exact(encoded, codec::decode_hard_state);
    assert_eq!(decoded.as_ref(), Ok(hard_state));
}

fn assert_membership_round_trips(membership: &Membership) {
    let encoded = encode_membership(membership);
    let len = codec::encoded_membership_len(membership);
    assert_eq!(encoded.len(), len, "length of {membership:?}");
    let decoded = codec::decode_exact(encoded, codec::decode_membership);
    assert_eq!(decoded.as_ref(), Ok(membership));
}

fn message(term: u64, body: Body) -> Message {
    Message { from: 1, to: 2, term, body }
}

fn data(bytes: &[u8]) -> Payload {
    Payload::Data(Bytes::copy_from_slice(bytes))
}

fn membership_with_learners() -> Membership {
    let learners = [Learner { id: 4, pending: true }, Learner { id: u64::MAX, pending: false }];
    Membership::new([1, 2, 3], learners).unwrap()
}

const EDGE_VALUES: [u64; 7] = [0, 1, 127, 128, 16_384, u64::MAX - 1, u64::MAX];

#[test]
fn request_vote_round_trips() {
    for term in EDGE_VALUES {
        for index in EDGE_VALUES {
            let body = Body::RequestVote { last_log: LogId::new(term, index) };
            assert_message_round_trips(&message(term, body));
        }
    }
}

#[test]
fn vote_response_round_trips() {
    for granted in [false, true] {
        for last_log_index in EDGE_VALUES {
            let body = Body::VoteResponse { granted, last_log_index };
            assert_message_round_trips(&message(7, body));
        }
    }
}

#[test]
fn message_header_edges_round_trip() {
    for from in EDGE_VALUES {
        for to in EDGE_VALUES {
            let body = Body::VoteResponse { granted: true, last_log_index: 3 };
            assert_message_round_trips(&Message { from, to, term: from ^ to, body });
        }
    }
}

#[test]
fn append_entries_heartbeat_round_trips() {
    for commit in EDGE_VALUES {
        let prev = LogId::new(commit, u64::MAX - commit);
        let body = Body::AppendEntries { prev, entries: Vec::new(), commit };
        assert_message_round_trips(&message(9, body));
    }
}

#[test]
fn append_entries_payloads_round_trip() {
    let large = vec![0xa5; 1 << 20];
    let entries = vec![
        Entry { term: 4, index: 11, payload: Payload::Empty },
        Entry { term: 4, index: 12, payload: data(b"") },
        Entry { term: 5, index: 13, payload: data(&large) },
        Entry {
            term: 5,
            index: 14,
            payload: Payload::Membership(Arc::new(membership_with_learners())),
        },
        Entry { term: 5, index: 15, payload: Payload::Membership(Arc::new(Membership::default())) },
    ];
    let body = Body::AppendEntries { prev: LogId::new(4, 10), entries, commit: 12 };
    assert_message_round_trips(&message(5, body));
}

#[test]
fn append_entries_irregular_batch_round_trips() {
    let entries = vec![
        Entry { term: u64::MAX, index: u64::MAX, payload: Payload::Empty },
        Entry { term: 0, index: 0, payload: data(b"x") },
        Entry { term: 3, index: 2, payload: Payload::Empty },
        Entry { term: 3, index: 2, payload: Payload::Empty },
    ];
    let body = Body::AppendEntries { prev: LogId::new(6, 40), entries, commit: u64::MAX };
    assert_message_round_trips(&message(6, body));
}

#[test]
fn append_response_accepted_round_trips() {
    for match_index in EDGE_VALUES {
        let outcome = AppendOutcome::Accepted { match_index };
        let body = Body::AppendResponse { outcome, last_log_index: match_index };
        assert_message_round_trips(&message(2, body));
    }
}

#[test]
fn append_response_rejected_round_trips() {
    for rejected_index in EDGE_VALUES {
        let hint = LogId::new(u64::MAX, rejected_index);
        let outcome = AppendOutcome::Rejected { rejected_index, hint };
        let body = Body::AppendResponse { outcome, last_log_index: 0 };
        assert_message_round_trips(&message(2, body));
    }
}

#[test]
fn entry_record_round_trips() {
    let payloads = [
        Payload::Empty,
        data(b""),
        data(&[0; 300]),
        Payload::Membership(Arc::new(membership_with_learners())),
    ];
    for payload in payloads {
        for value in EDGE_VALUES {
            let entry = Entry { term: value, index: u64::MAX - value, payload: payload.clone() };
            assert_entry_round_trips(&entry);
        }
    }
}

#[test]
fn hard_state_round_trips() {
    for term in EDGE_VALUES {
        assert_hard_state_round_trips(&HardState { term, vote: None });
        assert_hard_state_round_trips(&HardState { term, vote: Some(1) });
        assert_hard_state_round_trips(&HardState { term, vote: Some(u64::MAX) });
    }
}

#[test]
fn hard_state_vote_zero_reads_none() {
    let encoded = encode_hard_state(&HardState { term: 8, vote: Some(0) });
    let decoded = codec::decode_exact(encoded, codec::decode_hard_state);
    assert_eq!(decoded, Ok(HardState { term: 8, vote: None }));
}

#[test]
fn membership_record_round_trips() {
    assert_membership_round_trips(&Membership::default());
    assert_membership_round_trips(&Membership::with_members([u64::MAX]).unwrap());
    assert_membership_round_trips(&membership_with_learners());
    let learners = (100..200).map(|id| Learner { id, pending: id % 3 == 0 });
    assert_membership_round_trips(&Membership::new(1..100, learners).unwrap());
}

#[test]
fn membership_record_duplicate_rejected() {
    let input: &[u8] = &[WIRE_VERSION, 1, 5, 1, 5, 1];
    let error = codec::decode_membership(&mut &input[..]);
    let expected = DecodeError::InvalidMembership(MembershipError::DuplicateId(5));
    assert_eq!(error, Err(expected));
}

#[test]
fn membership_record_zero_id_rejected() {
    let input: &[u8] = &[WIRE_VERSION, 0, 1, 0, 0];
    let error = codec::decode_membership(&mut &input[..]);
    assert_eq!(error, Err(DecodeError::InvalidMembership(MembershipError::ZeroId)));
}

#[test]
fn message_layout_is_stable() {
    let entries = vec![
        Entry { term: 3, index: 11, payload: data(b"hi") },
        Entry { term: 3, index: 12, payload: Payload::Empty },
    ];
    let body = Body::AppendEntries { prev: LogId::new(3, 10), entries, commit: 9 };
    let encoded = encode_message(&Message { from: 1, to: 2, term: 3, body });
    let expected = [1, 3, 1, 2, 3, 3, 10, 9, 2, 0, 0, 1, 2, b'h', b'i', 0, 0, 0];
    assert_eq!(&encoded[..], expected);

    let outcome = AppendOutcome::Rejected { rejected_index: 300, hint: LogId::new(2, 7) };
    let body = Body::AppendResponse { outcome, last_log_index: 8 };
    let encoded = encode_message(&Message { from: 1, to: 2, term: 3, body });
    assert_eq!(&encoded[..], [1, 4, 1, 2, 3, 1, 0xac, 0x02, 2, 7, 8]);

    let body = Body::VoteResponse { granted: true, last_log_index: 5 };
    let encoded = encode_message(&Message { from: 1, to: 2, term: 3, body });
    assert_eq!(&encoded[..], [1, 2, 1, 2, 3, 1, 5]);

    let body = Body::RequestVote { last_log: LogId::new(2, 6) };
    let encoded = encode_message(&Message { from: 1, to: 2, term: 3, body });
    assert_eq!(&encoded[..], [1, 1, 1, 2, 3, 2, 6]);
}

#[test]
fn record_layout_is_stable() {
    let encoded = encode_hard_state(&HardState { term: 128, vote: Some(3) });
    assert_eq!(&encoded[..], [1, 0x80, 0x01, 3]);

    let membership = Arc::new(membership_with_learners());
    let entry = Entry { term: 2, index: 5, payload: Payload::Membership(membership) };
    let encoded = encode_entry(&entry);
    let max = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01];
    let mut expected = vec![1, 2, 5, 2, 3, 1, 2, 3, 2, 4, 1];
    expected.extend_from_slice(&max);
    expected.push(0);
    assert_eq!(&encoded[..], expected);
}

#[test]
fn encode_fills_exact_slice() {
    let body = Body::AppendEntries {
        prev: LogId::new(1, 1),
        entries: vec![Entry { term: 1, index: 2, payload: data(b"payload") }],
        commit: 1,
    };
    let message = message(1, body);
    let mut storage = vec![0u8; codec::encoded_message_len(&message)];
    let mut slice = &mut storage[..];
    codec::encode_message(&message, &mut slice);
    assert!(slice.is_empty());
    assert_eq!(codec::decode_exact(&storage[..], codec::decode_message), Ok(message));
}

#[test]
fn data_payload_shares_input_memory() {
    let entries = vec![Entry { term: 1, index: 1, payload: data(&[7; 64]) }];
    let body = Body::AppendEntries { prev: LogId::default(), entries, commit: 0 };
    let encoded = encode_message(&message(1, body));
    let input_range = encoded.as_ptr_range();

    let decoded = codec::decode_exact(encoded.clone(), codec::decode_message).unwrap();
    let Body::AppendEntries { entries, .. } = decoded.body else {
        panic!("decoded body is {:?}", decoded.body);
    };
    let Payload::Data(payload) = &entries[0].payload else {
        panic!("decoded payload is {:?}", entries[0].payload);
    };
    let payload_range = payload.as_ptr_range();
    assert!(input_range.start <= payload_range.start);
    assert!(payload_range.end <= input_range.end);
}

#[test]
fn decode_reads_back_to_back_values() {
    let first = message(1, Body::RequestVote { last_log: LogId::new(1, 1) });
    let second = message(2, Body::VoteResponse { granted: false, last_log_index: 9 });
    let mut buf = BytesMut::new();
    codec::encode_message(&first, &mut buf);
    codec::encode_message(&second, &mut buf);
    let mut input = buf.freeze();

    assert_eq!(codec::decode_message(&mut input), Ok(first));
    assert_eq!(codec::decode_message(&mut input), Ok(second));
    assert!(input.is_empty());
}

#[test]
fn decode_exact_rejects_trailing_bytes() {
    let message = message(1, Body::RequestVote { last_log: LogId::new(1, 1) });
    let mut buf = BytesMut::new();
    codec::encode_message(&message, &mut buf);
    buf.extend_from_slice(&[0, 0]);
    let error = codec::decode_exact(buf.freeze(), codec::decode_message);
    assert_eq!(error, Err(DecodeError::TrailingBytes { count: 2 }));
}

#[test]
fn decode_reads_chained_buffers() {
    let entries = vec![Entry { term: 1, index: 1, payload: data(&[1, 2, 3, 4, 5, 6]) }];
    let body = Body::AppendEntries { prev: LogId::default(), entries, commit: 300 };
    let message = message(1, body);
    let encoded = encode_message(&message);
    for split in 0..=encoded.len() {
        let input = encoded.slice(..split).chain(encoded.slice(split..));
        let decoded = codec::decode_exact(input, codec::decode_message);
        assert_eq!(decoded.as_ref(), Ok(&message), "split at {split}");
    }
}

#[test]
fn unknown_version_rejected() {
    let input: &[u8] = &[2, 1, 1, 2, 3, 0, 0];
    assert_eq!(codec::decode_message(&mut &input[..]), Err(DecodeError::UnknownVersion(2)));
    assert_eq!(codec::decode_entry(&mut &input[..]), Err(DecodeError::UnknownVersion(2)));
    assert_eq!(codec::decode_hard_state(&mut &input[..]), Err(DecodeError::UnknownVersion(2)));
    assert_eq!(codec::decode_membership(&mut &input[..]), Err(DecodeError::UnknownVersion(2)));
}

#[test]
fn zeroed_buffer_rejected() {
    let input = [0u8; 16];
    assert_eq!(codec::decode_message(&mut &input[..]), Err(DecodeError::UnknownVersion(0)));
    let versioned = [WIRE_VERSION, 0, 0, 0];
    assert_eq!(codec::decode_message(&mut &versioned[..]), Err(DecodeError::UnknownKind(0)));
}

#[test]
fn install_snapshot_round_trips() {
    let meta =
        SnapshotMeta { last: LogId::new(7, 1_000_000), membership: membership_with_learners() };
    assert_message_round_trips(&message(7, Body::InstallSnapshot { meta: Box::new(meta.clone()) }));
    let mut encoded = Vec::new();
    codec::encode_snapshot_meta(&meta, &mut encoded);
    assert_eq!(encoded.len(), codec::encoded_snapshot_meta_len(&meta));
    let decoded = codec::decode_exact(&encoded[..], codec::decode_snapshot_meta);
    assert_eq!(decoded, Ok(meta));
}

#[test]
fn snapshot_meta_prefixes_are_truncated() {
    let meta = SnapshotMeta { last: LogId::new(3, 300), membership: membership_with_learners() };
    let mut encoded = Vec::new();
    codec::encode_snapshot_meta(&meta, &mut encoded);
    for end in 0..encoded.len() {
        let result = codec::decode_snapshot_meta(&mut &encoded[..end]);
        assert!(
            matches!(result, Err(DecodeError::Truncated { .. })),
            "prefix of {end} bytes gave {result:?}"
        );
    }
}

#[test]
fn unknown_message_kind_rejected() {
    for kind in 8..=u8::MAX {
        let input = [WIRE_VERSION, kind, 1, 2, 3];
        let error = codec::decode_message(&mut &input[..]);
        assert_eq!(error, Err(DecodeError::UnknownKind(kind)));
    }
}

#[test]
fn unknown_payload_kind_rejected() {
    let input: &[u8] = &[WIRE_VERSION, 1, 1, 3];
    assert_eq!(codec::decode_entry(&mut &input[..]), Err(DecodeError::UnknownPayload(3)));
}

#[test]
fn granted_byte_out_of_range_rejected() {
    let input: &[u8] = &[WIRE_VERSION, 2, 1, 2, 3, 2, 0];
    let error = codec::decode_message(&mut &input[..]);
    let expected = DecodeError::FieldOutOfRange { field: "granted", value: 2 };
    assert_eq!(error, Err(expected));
}

#[test]
fn varint_overflow_rejected() {
    let mut input = vec![WIRE_VERSION];
    input.extend_from_slice(&[0xff; 10]);
    input.push(0);
    let error = codec::decode_hard_state(&mut &input[..]);
    assert_eq!(error, Err(DecodeError::VarintOverflow { field: "term" }));
}

#[test]
fn huge_entry_count_is_truncated() {
    // AppendEntries claiming u64::MAX entries, followed by a few bytes.
    let mut input = vec![WIRE_VERSION, 3, 1, 2, 3, 1, 1, 0];
    input.extend_from_slice(&[0xff; 9]);
    input.extend_from_slice(&[0x01, 0, 0, 0]);
    let input = Bytes::from(input);

    let (result, largest) = largest_allocation_during(|| codec::decode_message(&mut input.clone()));
    let expected = DecodeError::Truncated { field: "entries", needed: usize::MAX, available: 3 };
    assert_eq!(result, Err(expected));
    assert!(largest < 1024, "largest allocation was {largest} bytes");
}

#[test]
fn huge_payload_length_is_truncated() {
    // An entry record whose data payload claims 2^62 bytes.
    let mut input = vec![WIRE_VERSION, 1, 1, 1];
    input.extend_from_slice(&[0x80; 8]);
    input.extend_from_slice(&[0x40, 1, 2, 3]);
    let input = Bytes::from(input);

    let (result, largest) = largest_allocation_during(|| codec::decode_entry(&mut input.clone()));
    let needed = usize::try_from(1u64 << 62).unwrap_or(usize::MAX);
    let expected = DecodeError::Truncated { field: "data payload", needed, available: 3 };
    assert_eq!(result, Err(expected));
    assert!(largest < 1024, "largest allocation was {largest} bytes");
}

#[test]
fn huge_member_count_is_truncated() {
    // A membership record claiming a billion members, followed by a few ids.
    let mut input = vec![WIRE_VERSION, 0x80, 0x94, 0xeb, 0xdc, 0x03];
    input.extend_from_slice(&[1, 2, 3, 4]);
    let input = Bytes::from(input);

    let (result, largest) =
        largest_allocation_during(|| codec::decode_membership(&mut input.clone()));
    let expected = DecodeError::Truncated { field: "members", needed: 1_000_000_000, available: 4 };
    assert_eq!(result, Err(expected));
    assert!(largest < 1024, "largest allocation was {largest} bytes");
}

#[test]
fn decode_allocation_bounded_by_input() {
    // The densest possible batch: 1000 entries of three bytes each.
    let entries = (1..=1000).map(|index| Entry { term: 0, index, payload: Payload::Empty });
    let body =
        Body::AppendEntries { prev: LogId::default(), entries: entries.collect(), commit: 0 };
    let encoded = encode_message(&message(0, body));

    let (result, largest) =
        largest_allocation_during(|| codec::decode_message(&mut encoded.clone()));
    assert!(result.is_ok());
    let bound = encoded.len() / 3 * std::mem::size_of::<Entry>();
    assert!(
        largest <= bound,
        "largest allocation was {largest} bytes for {} input bytes",
        encoded.len()
    );
}

#[test]
fn display_names_value_and_fix() {
    let cases = [
        (DecodeError::UnknownVersion(9), "version 9"),
        (DecodeError::UnknownKind(42), "kind 42"),
        (DecodeError::UnknownPayload(7), "kind 7"),
        (DecodeError::TrailingBytes { count: 5 }, "5 bytes"),
        (
            DecodeError::FieldOutOfRange { field: "granted", value: 3 },
            "granted has invalid value 3",
        ),
        (DecodeError::VarintOverflow { field: "commit" }, "varint in commit"),
        (DecodeError::Truncated { field: "term", needed: 2, available: 1 }, "inside term"),
        (DecodeError::InvalidMembership(MembershipError::DuplicateId(4)), "node id 4"),
    ];
    for (error, fragment) in cases {
        let text = error.to_string();
        assert!(text.contains(fragment), "{text:?} lacks {fragment:?}");
        assert!(text.contains("; "), "{text:?} gives no next step");
    }
}

// Generated values: the same seed gives the same cases on every run.

/// Returns a value biased toward the edges of the varint widths.
fn random_u64(rng: &mut Rng) -> u64 {
    match rng.range(0, 8) {
        0 => 0,
        1 => u64::MAX,
        2 => rng.range(0, 128),
        3 => rng.range(128, 1 << 14),
        4 => 1 << rng.range(0, 64),
        5 => (1 << rng.range(0, 64)) - 1,
        _ => rng.next_u64(),
    }
}

fn random_bytes(rng: &mut Rng, max_len: u64) -> Vec<u8> {
    let len = rng.range(0, max_len + 1);
    (0..len).map(|_| rng.next_u64() as u8).collect()
}

fn random_membership(rng: &mut Rng) -> Membership {
    let mut ids = BTreeSet::new();
    let count = rng.range(0, 8);
    while (ids.len() as u64) < count {
        ids.insert(random_u64(rng).max(1));
    }
    let mut members = Vec::new();
    let mut learners = Vec::new();
    for id in ids {
        if rng.chance(1, 3) {
            learners.push(Learner { id, pending: rng.chance(1, 2) });
        } else {
            members.push(id);
        }
    }
    Membership::new(members, learners).expect("ids are distinct and non-zero")
}

fn random_payload(rng: &mut Rng, max_data_len: u64) -> Payload {
    match rng.range(0, 4) {
        0 => Payload::Empty,
        1 | 2 => Payload::Data(Bytes::from(random_bytes(rng, max_data_len))),
        _ => Payload::Membership(Arc::new(random_membership(rng))),
    }
}

fn random_entry(rng: &mut Rng, max_data_len: u64) -> Entry {
    Entry {
        term: random_u64(rng),
        index: random_u64(rng),
        payload: random_payload(rng, max_data_len),
    }
}

/// Returns a batch that is contiguous after `prev` most of the time, and arbitrary otherwise.
fn random_batch(rng: &mut Rng, prev: LogId, max_data_len: u64) -> Vec<Entry> {
    let count = rng.range(0, 9);
    let contiguous = rng.chance(3, 4);
    let mut before = prev;
    let mut entries = Vec::new();
    for _ in 0..count {
        let mut entry = random_entry(rng, max_data_len);
        if contiguous {
            entry.term = before.term.saturating_add(rng.range(0, 2));
            entry.index = before.index.wrapping_add(1);
        }
        before = entry.id();
        entries.push(entry);
    }
    entries
}

fn random_message(rng: &mut Rng, max_data_len: u64) -> Message {
    let body = match rng.range(0, 8) {
        0 => Body::RequestVote { last_log: LogId::new(random_u64(rng), random_u64(rng)) },
        1 => Body::VoteResponse { granted: rng.chance(1, 2), last_log_index: random_u64(rng) },
        2 => {
            let prev = LogId::new(random_u64(rng), random_u64(rng));
            let entries = random_batch(rng, prev, max_data_len);
            Body::AppendEntries { prev, entries, commit: random_u64(rng) }
        }
        6 => Body::PreVote { last_log: LogId::new(random_u64(rng), random_u64(rng)) },
        7 => Body::PreVoteResponse { granted: rng.chance(1, 2) },
        5 => Body::InstallSnapshot {
            meta: Box::new(SnapshotMeta {
                last: LogId::new(random_u64(rng), random_u64(rng)),
                membership: random_membership(rng),
            }),
        },
        3 => {
            let outcome = AppendOutcome::Accepted { match_index: random_u64(rng) };
            Body::AppendResponse { outcome, last_log_index: random_u64(rng) }
        }
        _ => {
            let hint = LogId::new(random_u64(rng), random_u64(rng));
            let outcome = AppendOutcome::Rejected { rejected_index: random_u64(rng), hint };
            Body::AppendResponse { outcome, last_log_index: random_u64(rng) }
        }
    };
    Message { from: random_u64(rng), to: random_u64(rng), term: random_u64(rng), body }
}

fn random_hard_state(rng: &mut Rng) -> HardState {
    let vote = Some(random_u64(rng)).filter(|id| *id != 0 && rng.chance(2, 3));
    HardState { term: random_u64(rng), vote }
}

#[test]
fn random_messages_round_trip() {
    let mut rng = Rng::new(0x5eed_0001);
    for _ in 0..5_000 {
        assert_message_round_trips(&random_message(&mut rng, 300));
    }
}

#[test]
fn random_records_round_trip() {
    let mut rng = Rng::new(0x5eed_0002);
    for _ in 0..5_000 {
        assert_entry_round_trips(&random_entry(&mut rng, 300));
        assert_hard_state_round_trips(&random_hard_state(&mut rng));
        assert_membership_round_trips(&random_membership(&mut rng));
    }
}

fn assert_prefixes_truncated<T: std::fmt::Debug>(
    encoded: &[u8],
    decode: impl Fn(&mut &[u8]) -> Result<T, DecodeError>,
) {
    for len in 0..encoded.len() {
        let result = decode(&mut &encoded[..len]);
        assert!(
            matches!(result, Err(DecodeError::Truncated { .. })),
            "prefix of {len} of {} bytes gave {result:?}",
            encoded.len()
        );
    }
}

#[test]
fn message_prefixes_are_truncated() {
    let mut rng = Rng::new(0x5eed_0003);
    for _ in 0..1_000 {
        let encoded = encode_message(&random_message(&mut rng, 16));
        assert_prefixes_truncated(&encoded, |buf| codec::decode_message(buf));
    }
}

#[test]
fn record_prefixes_are_truncated() {
    let mut rng = Rng::new(0x5eed_0004);
    for _ in 0..1_000 {
        let encoded = encode_entry(&random_entry(&mut rng, 16));
        assert_prefixes_truncated(&encoded, |buf| codec::decode_entry(buf));
        let encoded = encode_hard_state(&random_hard_state(&mut rng));
        assert_prefixes_truncated(&encoded, |buf| codec::decode_hard_state(buf));
        let encoded = encode_membership(&random_membership(&mut rng));
        assert_prefixes_truncated(&encoded, |buf| codec::decode_membership(buf));
    }
}

/// Decodes `input` with every decoder. Whatever decodes must survive a second round trip.
fn decode_everything(input: &Bytes) {
    if let Ok(message) = codec::decode_message(&mut input.clone()) {
        assert_message_round_trips(&message);
    }
    if let Ok(entry) = codec::decode_entry(&mut input.clone()) {
        assert_entry_round_trips(&entry);
    }
    if let Ok(hard_state) = codec::decode_hard_state(&mut input.clone()) {
        assert_hard_state_round_trips(&hard_state);
    }
    if let Ok(membership) = codec::decode_membership(&mut input.clone()) {
        assert_membership_round_trips(&membership);
    }
}

#[test]
fn random_bytes_never_panic() {
    let mut rng = Rng::new(0x5eed_0005);
    for _ in 0..20_000 {
        let mut input = random_bytes(&mut rng, 64);
        // Most inputs get a valid version and kind, so decoding reaches the message bodies.
        if rng.chance(3, 4) {
            input.splice(0..0, [WIRE_VERSION, rng.range(0, 6) as u8]);
        }
        decode_everything(&Bytes::from(input));
    }
}

#[test]
fn mutated_encodings_never_panic() {
    let mut rng = Rng::new(0x5eed_0006);
    for _ in 0..5_000 {
        let mut input = encode_message(&random_message(&mut rng, 32)).to_vec();
        for _ in 0..rng.range(1, 4) {
            let at = rng.range(0, input.len() as u64) as usize;
            input[at] = rng.next_u64() as u8;
        }
        let cut = rng.range(0, input.len() as u64 + 1) as usize;
        if rng.chance(1, 4) {
            input.truncate(cut);
        }
        decode_everything(&Bytes::from(input));
    }
}
