//! The C ABI of sansraft. `include/sansraft.h` is generated from this crate by cbindgen.
//!
//! # Call order
//!
//! 1. Fill a `sansraft_config` with `sansraft_config_default` and create a node with
//!    `sansraft_node_new` (or `sansraft_node_restore` after a restart).
//! 2. Feed inputs: `sansraft_node_tick` with the host's monotonic time,
//!    `sansraft_node_receive` with each encoded message from a peer, `sansraft_node_propose`
//!    on the leader, `sansraft_node_persisted` once a persist output is durable,
//!    `sansraft_node_applied` once entries are applied.
//! 3. After every input, call `sansraft_node_poll` until it returns `SANSRAFT_EMPTY`, and
//!    carry out each output in order: send messages, write persist outputs and acknowledge
//!    them, apply entries.
//! 4. Sleep until `sansraft_node_next_deadline` or the next message, then tick again.
//! 5. Free the node with `sansraft_node_free`.
//!
//! # Rules at the boundary
//!
//! Every function returns a `sansraft_status`. Results go to out-parameters, which come
//! last and are written only on success, except that a too-small buffer's length
//! out-parameter receives the length needed. A panic never crosses the boundary: it returns
//! `SANSRAFT_PANIC` and poisons the node it happened on. NULL pointers return
//! `SANSRAFT_NULL_POINTER`, and a NULL buffer with a non-zero length returns
//! `SANSRAFT_INVALID_LENGTH`. One thread at a time may use a node; different nodes are
//! independent.
//!
//! Pointers in an output lead into memory the node owns and stay valid until the next call
//! that takes that node, or until it is freed. Buffers the host passes in are copied before
//! the call returns.
#![allow(non_camel_case_types)]
#![deny(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]

mod boundary;
mod node;
mod output;
mod query;
mod status;
mod types;

use core::ffi::{c_char, CStr};

pub use node::*;
pub use output::*;
pub use query::*;
pub use status::*;
pub use types::*;

/// The major version of this library, from its package version.
pub const SANSRAFT_VERSION_MAJOR: u32 = 0;

/// The minor version of this library.
pub const SANSRAFT_VERSION_MINOR: u32 = 1;

/// The patch version of this library.
pub const SANSRAFT_VERSION_PATCH: u32 = 0;

const VERSION: &CStr =
    match CStr::from_bytes_with_nul(concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes()) {
        Ok(version) => version,
        Err(_) => panic!("the package version contains no NUL byte"),
    };

/// Returns the version of the linked library as a static NUL-terminated string, such as
/// `"0.1.0"`. Compare it with the `SANSRAFT_VERSION_*` macros of the header the program was
/// compiled against. Never returns NULL; the string must not be freed.
#[no_mangle]
pub extern "C" fn sansraft_version() -> *const c_char {
    // Returning a constant cannot panic, so this export needs no panic boundary.
    VERSION.as_ptr()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_macros_match_the_package_version() {
        let expected =
            format!("{SANSRAFT_VERSION_MAJOR}.{SANSRAFT_VERSION_MINOR}.{SANSRAFT_VERSION_PATCH}");
        assert_eq!(expected, env!("CARGO_PKG_VERSION"), "update the SANSRAFT_VERSION_* constants");
        // SAFETY: `sansraft_version` returns a static NUL-terminated string.
        let version = unsafe { CStr::from_ptr(sansraft_version()) };
        assert_eq!(version.to_str().unwrap(), env!("CARGO_PKG_VERSION"));
    }
}
