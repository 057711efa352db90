//! The status code every export returns, and its mapping from the core's errors.

use core::ffi::{c_char, CStr};

use sansraft::{DecodeError, Error, MembershipError};

/// The result of a call. `SANSRAFT_OK` is success; every other value names one reason the
/// call did nothing (except `SANSRAFT_EMPTY`, which is a normal result of
/// `sansraft_node_poll` and `sansraft_node_next_deadline`).
///
/// The numbers are part of the ABI: a value keeps its number for ever, and a number that is
/// retired is never given to another value. Codes 0 to 99 report how the API was called;
/// codes from 100 report a rejection by the Raft core. Pass any code to
/// `sansraft_status_str` for its name.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum sansraft_status {
    /// The call succeeded.
    SANSRAFT_OK = 0,
    /// Nothing to return: `sansraft_node_poll` has no output, or `sansraft_node_next_deadline`
    /// has no deadline. Not an error.
    SANSRAFT_EMPTY = 1,
    /// A pointer argument that must not be NULL was NULL.
    SANSRAFT_NULL_POINTER = 2,
    /// A buffer pointer was NULL while its length was not zero, or a length was larger than
    /// any buffer can be.
    SANSRAFT_INVALID_LENGTH = 3,
    /// An argument had a value the function does not accept; the function's documentation
    /// names which.
    SANSRAFT_INVALID_ARGUMENT = 4,
    /// A caller buffer was too small. The function wrote the length it needs to its length
    /// out-parameter and nothing else.
    SANSRAFT_BUFFER_TOO_SMALL = 5,
    /// Bytes passed as an encoded message or record were malformed, cut short, had bytes
    /// left over, or came from a newer wire version.
    SANSRAFT_DECODE_ERROR = 6,
    /// A panic inside the library was caught. The node it happened on is poisoned.
    SANSRAFT_PANIC = 7,
    /// The node panicked in an earlier call and rejects every call but
    /// `sansraft_node_last_error` and `sansraft_node_free`.
    SANSRAFT_POISONED = 8,
    /// A `sansraft_config` setting is invalid (id 0, an empty election timeout range, a
    /// heartbeat not below the minimum election timeout, or a zero limit).
    SANSRAFT_INVALID_CONFIG = 100,
    /// A cluster configuration lists id 0 or lists an id twice.
    SANSRAFT_INVALID_MEMBERSHIP = 101,
    /// Only the leader accepts this call. `sansraft_node_get_status` reports the leader this
    /// node follows, if any, so send the request there.
    SANSRAFT_NOT_LEADER = 102,
    /// Only a voting member can campaign.
    SANSRAFT_NOT_MEMBER = 103,
    /// The message is addressed to another node.
    SANSRAFT_WRONG_RECIPIENT = 104,
    /// The message claims to come from this node itself.
    SANSRAFT_FROM_SELF = 105,
    /// A tick carried a time earlier than one already seen.
    SANSRAFT_TIME_WENT_BACKWARDS = 106,
    /// A persisted token was already acknowledged (a duplicate, or out of order).
    SANSRAFT_STALE_TOKEN = 107,
    /// A persisted token was never issued by a persist output.
    SANSRAFT_UNKNOWN_TOKEN = 108,
    /// An applied index was never handed out by an apply output, or is below an index
    /// already reported.
    SANSRAFT_APPLIED_OUT_OF_RANGE = 109,
    /// The records passed to `sansraft_node_restore` decode but are inconsistent: a gap in
    /// the log, a term going down, an entry above the hard state's term, or an applied index
    /// outside the log.
    SANSRAFT_INVALID_RESTORE = 110,
    /// The membership change does not apply to the current configuration (the server is
    /// unknown or already listed, is not a learner or not a member, or is the last member).
    SANSRAFT_INVALID_CHANGE = 111,
    /// The snapshot cannot be used: its index is already compacted, not yet handed out for
    /// applying, not in the log, or its term or configuration differ from the log's.
    SANSRAFT_INVALID_SNAPSHOT = 112,
    /// `sansraft_node_snapshot_sent` named a server the node was not sending a snapshot to.
    SANSRAFT_SNAPSHOT_NOT_REQUESTED = 113,
    /// A configuration change is still uncommitted; retry after it commits.
    SANSRAFT_CHANGE_IN_PROGRESS = 114,
    /// The leader has not committed an entry of its own term yet, so it cannot change the
    /// configuration. It has appended a no-op; retry shortly.
    SANSRAFT_LEADER_NOT_READY = 115,
    /// The message claims to come from node id 0, which is reserved; drop it.
    SANSRAFT_ZERO_SENDER = 116,
    /// A term or index in a message or a restored record is above the largest value a node
    /// accepts (2^62); the sender or the stored state is faulty.
    SANSRAFT_VALUE_OUT_OF_RANGE = 117,
    /// The core rejected the call for a reason this version of the C API has no code for.
    /// `sansraft_node_last_error` returns the reason.
    SANSRAFT_UNKNOWN_ERROR = 199,
}

use sansraft_status::*;

/// Every status, in number order. A new variant must be added here too, or
/// `sansraft_status_str` returns the placeholder name for it; the unit test below checks the
/// order and the names, not that the list is complete.
const ALL_STATUSES: [sansraft_status; 28] = [
    SANSRAFT_OK,
    SANSRAFT_EMPTY,
    SANSRAFT_NULL_POINTER,
    SANSRAFT_INVALID_LENGTH,
    SANSRAFT_INVALID_ARGUMENT,
    SANSRAFT_BUFFER_TOO_SMALL,
    SANSRAFT_DECODE_ERROR,
    SANSRAFT_PANIC,
    SANSRAFT_POISONED,
    SANSRAFT_INVALID_CONFIG,
    SANSRAFT_INVALID_MEMBERSHIP,
    SANSRAFT_NOT_LEADER,
    SANSRAFT_NOT_MEMBER,
    SANSRAFT_WRONG_RECIPIENT,
    SANSRAFT_FROM_SELF,
    SANSRAFT_TIME_WENT_BACKWARDS,
    SANSRAFT_STALE_TOKEN,
    SANSRAFT_UNKNOWN_TOKEN,
    SANSRAFT_APPLIED_OUT_OF_RANGE,
    SANSRAFT_INVALID_RESTORE,
    SANSRAFT_INVALID_CHANGE,
    SANSRAFT_INVALID_SNAPSHOT,
    SANSRAFT_SNAPSHOT_NOT_REQUESTED,
    SANSRAFT_CHANGE_IN_PROGRESS,
    SANSRAFT_LEADER_NOT_READY,
    SANSRAFT_ZERO_SENDER,
    SANSRAFT_VALUE_OUT_OF_RANGE,
    SANSRAFT_UNKNOWN_ERROR,
];

impl sansraft_status {
    /// Returns the status with number `code`, if there is one.
    fn from_code(code: u32) -> Option<sansraft_status> {
        ALL_STATUSES.iter().copied().find(|status| *status as u32 == code)
    }

    /// Returns the status's C name.
    fn name(self) -> &'static CStr {
        match self {
            SANSRAFT_OK => c"SANSRAFT_OK",
            SANSRAFT_EMPTY => c"SANSRAFT_EMPTY",
            SANSRAFT_NULL_POINTER => c"SANSRAFT_NULL_POINTER",
            SANSRAFT_INVALID_LENGTH => c"SANSRAFT_INVALID_LENGTH",
            SANSRAFT_INVALID_ARGUMENT => c"SANSRAFT_INVALID_ARGUMENT",
            SANSRAFT_BUFFER_TOO_SMALL => c"SANSRAFT_BUFFER_TOO_SMALL",
            SANSRAFT_DECODE_ERROR => c"SANSRAFT_DECODE_ERROR",
            SANSRAFT_PANIC => c"SANSRAFT_PANIC",
            SANSRAFT_POISONED => c"SANSRAFT_POISONED",
            SANSRAFT_INVALID_CONFIG => c"SANSRAFT_INVALID_CONFIG",
            SANSRAFT_INVALID_MEMBERSHIP => c"SANSRAFT_INVALID_MEMBERSHIP",
            SANSRAFT_NOT_LEADER => c"SANSRAFT_NOT_LEADER",
            SANSRAFT_NOT_MEMBER => c"SANSRAFT_NOT_MEMBER",
            SANSRAFT_WRONG_RECIPIENT => c"SANSRAFT_WRONG_RECIPIENT",
            SANSRAFT_FROM_SELF => c"SANSRAFT_FROM_SELF",
            SANSRAFT_TIME_WENT_BACKWARDS => c"SANSRAFT_TIME_WENT_BACKWARDS",
            SANSRAFT_STALE_TOKEN => c"SANSRAFT_STALE_TOKEN",
            SANSRAFT_UNKNOWN_TOKEN => c"SANSRAFT_UNKNOWN_TOKEN",
            SANSRAFT_APPLIED_OUT_OF_RANGE => c"SANSRAFT_APPLIED_OUT_OF_RANGE",
            SANSRAFT_INVALID_RESTORE => c"SANSRAFT_INVALID_RESTORE",
            SANSRAFT_INVALID_CHANGE => c"SANSRAFT_INVALID_CHANGE",
            SANSRAFT_INVALID_SNAPSHOT => c"SANSRAFT_INVALID_SNAPSHOT",
            SANSRAFT_SNAPSHOT_NOT_REQUESTED => c"SANSRAFT_SNAPSHOT_NOT_REQUESTED",
            SANSRAFT_CHANGE_IN_PROGRESS => c"SANSRAFT_CHANGE_IN_PROGRESS",
            SANSRAFT_LEADER_NOT_READY => c"SANSRAFT_LEADER_NOT_READY",
            SANSRAFT_ZERO_SENDER => c"SANSRAFT_ZERO_SENDER",
            SANSRAFT_VALUE_OUT_OF_RANGE => c"SANSRAFT_VALUE_OUT_OF_RANGE",
            SANSRAFT_UNKNOWN_ERROR => c"SANSRAFT_UNKNOWN_ERROR",
        }
    }
}

/// Returns the name of `status` as a static NUL-terminated string, such as `"SANSRAFT_OK"`,
/// or `"SANSRAFT_UNKNOWN_STATUS"` for a number that names no status. Never returns NULL; the
/// string lives as long as the program and must not be freed.
#[no_mangle]
pub extern "C" fn sansraft_status_str(status: u32) -> *const c_char {
    let name = std::panic::catch_unwind(|| {
        sansraft_status::from_code(status).map_or(c"SANSRAFT_UNKNOWN_STATUS", sansraft_status::name)
    });
    name.unwrap_or(c"SANSRAFT_UNKNOWN_STATUS").as_ptr()
}

/// Returns the status for a core error. The core's error enum may grow, so errors this
/// version does not name map to `SANSRAFT_UNKNOWN_ERROR`.
pub(crate) fn status_of_error(error: &Error) -> sansraft_status {
    match error {
        Error::Config(_) => SANSRAFT_INVALID_CONFIG,
        Error::Membership(_) => SANSRAFT_INVALID_MEMBERSHIP,
        Error::NotLeader { .. } => SANSRAFT_NOT_LEADER,
        Error::NotMember => SANSRAFT_NOT_MEMBER,
        Error::WrongRecipient { .. } => SANSRAFT_WRONG_RECIPIENT,
        Error::FromSelf => SANSRAFT_FROM_SELF,
        Error::TimeWentBackwards { .. } => SANSRAFT_TIME_WENT_BACKWARDS,
        Error::StaleToken { .. } => SANSRAFT_STALE_TOKEN,
        Error::UnknownToken { .. } => SANSRAFT_UNKNOWN_TOKEN,
        Error::AppliedOutOfRange { .. } => SANSRAFT_APPLIED_OUT_OF_RANGE,
        Error::InvalidRestore(_) => SANSRAFT_INVALID_RESTORE,
        Error::InvalidChange(_) => SANSRAFT_INVALID_CHANGE,
        Error::InvalidSnapshot { .. } => SANSRAFT_INVALID_SNAPSHOT,
        Error::SnapshotNotRequested { .. } => SANSRAFT_SNAPSHOT_NOT_REQUESTED,
        Error::ChangeInProgress { .. } => SANSRAFT_CHANGE_IN_PROGRESS,
        Error::LeaderNotReady => SANSRAFT_LEADER_NOT_READY,
        Error::ZeroSender => SANSRAFT_ZERO_SENDER,
        Error::ValueOutOfRange { .. } => SANSRAFT_VALUE_OUT_OF_RANGE,
        _ => SANSRAFT_UNKNOWN_ERROR,
    }
}

/// Why a call failed: the status it returns and the text `sansraft_node_last_error` gives.
#[derive(Debug)]
pub(crate) struct Failure {
    pub(crate) status: sansraft_status,
    pub(crate) message: String,
}

impl Failure {
    pub(crate) fn new(status: sansraft_status, message: impl Into<String>) -> Failure {
        Failure { status, message: message.into() }
    }

    /// A required pointer argument named `name` was NULL.
    pub(crate) fn null(name: &str) -> Failure {
        Failure::new(SANSRAFT_NULL_POINTER, format!("{name} is NULL; pass a valid pointer"))
    }

    /// Decoding the bytes passed as `what` failed.
    pub(crate) fn decode(what: &str, error: DecodeError) -> Failure {
        Failure::new(SANSRAFT_DECODE_ERROR, format!("cannot decode {what}: {error}"))
    }
}

impl From<Error> for Failure {
    fn from(error: Error) -> Failure {
        Failure::new(status_of_error(&error), error.to_string())
    }
}

impl From<MembershipError> for Failure {
    fn from(error: MembershipError) -> Failure {
        Failure::new(SANSRAFT_INVALID_MEMBERSHIP, format!("invalid membership: {error}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_has_a_unique_number_and_its_own_name() {
        for pair in ALL_STATUSES.windows(2) {
            assert!((pair[0] as u32) < (pair[1] as u32), "{pair:?} are out of order");
        }
        for status in ALL_STATUSES {
            assert_eq!(sansraft_status::from_code(status as u32), Some(status));
            let name = status.name().to_str().unwrap();
            assert_eq!(name, format!("{status:?}"), "the C name differs from the variant");
        }
    }

    #[test]
    fn unknown_numbers_get_a_placeholder_name() {
        // SAFETY: `sansraft_status_str` returns a static NUL-terminated string.
        let name = unsafe { CStr::from_ptr(sansraft_status_str(9999)) };
        assert_eq!(name, c"SANSRAFT_UNKNOWN_STATUS");
    }

    #[test]
    fn core_errors_map_to_their_statuses() {
        assert_eq!(status_of_error(&Error::NotLeader { leader: None }), SANSRAFT_NOT_LEADER);
        let stale = Error::StaleToken { token: 1, acknowledged: 2 };
        assert_eq!(status_of_error(&stale), SANSRAFT_STALE_TOKEN);
        assert_eq!(status_of_error(&Error::LeaderNotReady), SANSRAFT_LEADER_NOT_READY);
        assert_eq!(status_of_error(&Error::ZeroSender), SANSRAFT_ZERO_SENDER);
        let out_of_range = Error::ValueOutOfRange { field: "term", value: u64::MAX };
        assert_eq!(status_of_error(&out_of_range), SANSRAFT_VALUE_OUT_OF_RANGE);
    }
}
