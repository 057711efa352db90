//! The error every decoder returns.

use core::fmt;

use super::WIRE_VERSION;
use crate::membership::MembershipError;

/// Why bytes could not be decoded: the input is corrupt, cut short, or written by a newer
/// version of this crate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeError {
    /// The input ended inside `field`.
    Truncated {
        /// The field being read.
        field: &'static str,
        /// The minimum number of bytes the field needs, counted from its start.
        needed: usize,
        /// The number of bytes left, counted from the field's start.
        available: usize,
    },
    /// The version byte names a format this build cannot read.
    UnknownVersion(u8),
    /// The message kind byte names a kind this build does not know.
    UnknownKind(u8),
    /// The entry payload tag names a payload kind this build does not know.
    UnknownPayload(u8),
    /// A varint in `field` runs past ten bytes or past 64 bits.
    VarintOverflow {
        /// The field being read.
        field: &'static str,
    },
    /// `field` contains a value outside its allowed range, such as a bool byte other than 0 or 1.
    FieldOutOfRange {
        /// The field being read.
        field: &'static str,
        /// The value found.
        value: u64,
    },
    /// A membership lists id 0, or lists an id twice.
    InvalidMembership(MembershipError),
    /// Bytes remain after a value that should fill the whole buffer.
    TrailingBytes {
        /// The number of bytes left over.
        count: usize,
    },
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::Truncated { field, needed, available } => write!(
                f,
                "input ends inside {field}, which needs at least {needed} bytes but has \
                 {available}; pass the complete encoded value"
            ),
            DecodeError::UnknownVersion(version) => write!(
                f,
                "unsupported wire version {version}; this build reads version {WIRE_VERSION}, \
                 so upgrade it if a newer build wrote the input"
            ),
            DecodeError::UnknownKind(kind) => write!(
                f,
                "unknown message kind {kind}; upgrade this node if the sender runs a newer \
                 version"
            ),
            DecodeError::UnknownPayload(tag) => write!(
                f,
                "unknown entry payload kind {tag}; upgrade this node if a newer version wrote \
                 the entry"
            ),
            DecodeError::VarintOverflow { field } => {
                write!(f, "varint in {field} does not fit in 64 bits; the input is corrupt")
            }
            DecodeError::FieldOutOfRange { field, value } => {
                write!(f, "{field} has invalid value {value}; the input is corrupt")
            }
            DecodeError::InvalidMembership(error) => {
                write!(f, "input holds an invalid membership: {error}")
            }
            DecodeError::TrailingBytes { count } => {
                write!(f, "{count} bytes follow the decoded value; pass exactly one encoded value")
            }
        }
    }
}

impl From<MembershipError> for DecodeError {
    fn from(error: MembershipError) -> Self {
        DecodeError::InvalidMembership(error)
    }
}

#[cfg(feature = "std")]
impl std::error::Error for DecodeError {}
