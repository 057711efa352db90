//! The panic boundary every export runs inside, and the checks of pointer arguments.

use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::node::sansraft_node;
use crate::status::sansraft_status::{self, *};
use crate::status::Failure;

/// What an export's body returns: the status on success (`SANSRAFT_OK`, or `SANSRAFT_EMPTY`
/// where that is a normal result), or why it failed.
pub(crate) type Outcome = Result<sansraft_status, Failure>;

/// Runs the body of an export that takes no node. A panic becomes `SANSRAFT_PANIC`.
pub(crate) fn guard(body: impl FnOnce() -> Outcome) -> sansraft_status {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(status)) => status,
        Ok(Err(failure)) => failure.status,
        Err(_) => SANSRAFT_PANIC,
    }
}

/// Runs the body of an export that changes `node`, and records the outcome as the node's
/// last error: the failure's text, or an empty text on success. A panic poisons the node.
///
/// # Safety
///
/// `node` is NULL or a live handle that no other thread is using.
pub(crate) unsafe fn guard_node(
    node: *mut sansraft_node,
    body: impl FnOnce(&mut sansraft_node) -> Outcome,
) -> sansraft_status {
    let result = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: the caller passes NULL or a live handle used by this thread alone.
        let Some(handle) = (unsafe { node.as_mut() }) else {
            return SANSRAFT_NULL_POINTER;
        };
        if handle.is_poisoned() {
            return SANSRAFT_POISONED;
        }
        let outcome = body(handle);
        handle.record(outcome)
    }));
    result.unwrap_or_else(|payload| {
        // SAFETY: a panic can only come from the body, so `node` was a live handle, and the
        // reference the body held ended with the unwinding.
        if let Some(handle) = unsafe { node.as_mut() } {
            handle.poison(panic_text(payload.as_ref()));
        }
        SANSRAFT_PANIC
    })
}

/// Runs the body of an export that reads `node` without changing it. The node's last error
/// stays as it is. A panic poisons the node.
///
/// # Safety
///
/// `node` is NULL or a live handle that no other thread is changing.
pub(crate) unsafe fn guard_node_ref(
    node: *const sansraft_node,
    body: impl FnOnce(&sansraft_node) -> Outcome,
) -> sansraft_status {
    let result = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: the caller passes NULL or a live handle that nothing else changes now.
        let Some(handle) = (unsafe { node.as_ref() }) else {
            return SANSRAFT_NULL_POINTER;
        };
        if handle.is_poisoned() {
            return SANSRAFT_POISONED;
        }
        body(handle).unwrap_or_else(|failure| failure.status)
    }));
    result.unwrap_or_else(|_| {
        // SAFETY: as above; the poisoned flag is a `Cell`, so a shared reference can set it.
        if let Some(handle) = unsafe { node.as_ref() } {
            handle.mark_poisoned();
        }
        SANSRAFT_PANIC
    })
}

/// Returns the text a panic was raised with, when it is a string.
pub(crate) fn panic_text(payload: &(dyn Any + Send)) -> String {
    let text = payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("a panic without a message");
    format!("a panic was caught inside the library, and the node is poisoned: {text}")
}

/// Returns the `len` items at `ptr` as a slice. A zero length accepts any pointer, NULL
/// included; a NULL pointer with a non-zero length, or a length no buffer can have, returns
/// `SANSRAFT_INVALID_LENGTH`.
///
/// # Safety
///
/// When `len` is not zero and `ptr` is not NULL, `ptr` points to `len` initialized, aligned
/// items that stay unchanged for `'a`.
pub(crate) unsafe fn slice<'a, T>(
    ptr: *const T,
    len: usize,
    name: &str,
) -> Result<&'a [T], Failure> {
    if len == 0 {
        return Ok(&[]);
    }
    if ptr.is_null() {
        let message = format!("{name} is NULL but its length is {len}; pass the buffer or 0");
        return Err(Failure::new(SANSRAFT_INVALID_LENGTH, message));
    }
    let max_len = isize::MAX as usize / size_of::<T>().max(1);
    if len > max_len {
        let message = format!("the length of {name}, {len}, is larger than any buffer can be");
        return Err(Failure::new(SANSRAFT_INVALID_LENGTH, message));
    }
    // SAFETY: the caller guarantees `len` readable items at the non-NULL `ptr`, and the
    // total size was checked to fit in `isize`.
    Ok(unsafe { std::slice::from_raw_parts(ptr, len) })
}

/// Returns the value at `ptr`, or `SANSRAFT_NULL_POINTER` naming `name` when it is NULL.
///
/// # Safety
///
/// `ptr` is NULL or points to an initialized, aligned value that stays unchanged for `'a`.
pub(crate) unsafe fn read<'a, T>(ptr: *const T, name: &str) -> Result<&'a T, Failure> {
    // SAFETY: guaranteed by the caller.
    unsafe { ptr.as_ref() }.ok_or_else(|| Failure::null(name))
}

/// Checks that the out-parameter `ptr` is not NULL, before the export changes anything.
pub(crate) fn require_out<T>(ptr: *mut T, name: &str) -> Result<(), Failure> {
    if ptr.is_null() {
        Err(Failure::null(name))
    } else {
        Ok(())
    }
}

/// Writes `value` to the out-parameter `ptr`, which `require_out` accepted.
///
/// # Safety
///
/// `ptr` is not NULL and is valid for writing one aligned `T`. Whatever it held is
/// overwritten without being dropped.
pub(crate) unsafe fn write_out<T>(ptr: *mut T, value: T) {
    debug_assert!(!ptr.is_null(), "require_out checks every out-parameter first");
    // SAFETY: guaranteed by the caller.
    unsafe { ptr.write(value) };
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::{sansraft_node_free, sansraft_node_new, sansraft_node_tick};
    use crate::query::{sansraft_node_get_status, sansraft_node_last_error};
    use crate::types::sansraft_config;

    fn single_member_node() -> *mut sansraft_node {
        let mut config = std::mem::MaybeUninit::<sansraft_config>::uninit();
        let mut node = std::ptr::null_mut();
        // SAFETY: every pointer is valid for the call.
        unsafe {
            let status = crate::node::sansraft_config_default(1, config.as_mut_ptr());
            assert_eq!(status, SANSRAFT_OK);
            let status = sansraft_node_new(config.as_ptr(), &1, 1, &mut node);
            assert_eq!(status, SANSRAFT_OK);
        }
        node
    }

    #[test]
    fn panic_without_node_becomes_status() {
        let status = guard(|| panic!("a test panic"));
        assert_eq!(status, SANSRAFT_PANIC);
    }

    #[test]
    fn panic_poisons_the_node() {
        let node = single_member_node();
        // SAFETY: `node` is a live handle used by this thread alone.
        let status = unsafe { guard_node(node, |_| panic!("a test panic")) };
        assert_eq!(status, SANSRAFT_PANIC);

        // SAFETY: as above, with valid out-pointers.
        unsafe {
            assert_eq!(sansraft_node_tick(node, 1), SANSRAFT_POISONED);
            let mut peers_len = 0;
            let mut status = std::mem::MaybeUninit::uninit();
            let query = sansraft_node_get_status(
                node,
                std::ptr::null_mut(),
                0,
                &mut peers_len,
                status.as_mut_ptr(),
            );
            assert_eq!(query, SANSRAFT_POISONED);

            let mut text = [0 as core::ffi::c_char; 256];
            let mut text_len = 0;
            let read = sansraft_node_last_error(node, text.as_mut_ptr(), text.len(), &mut text_len);
            assert_eq!(read, SANSRAFT_OK);
            let text = core::ffi::CStr::from_ptr(text.as_ptr()).to_str().unwrap();
            assert!(text.contains("a test panic"), "{text}");
            sansraft_node_free(node);
        }
    }

    #[test]
    fn panic_in_a_query_poisons_the_node() {
        let node = single_member_node();
        // SAFETY: `node` is a live handle used by this thread alone.
        unsafe {
            let status = guard_node_ref(node, |_| panic!("a test panic"));
            assert_eq!(status, SANSRAFT_PANIC);
            assert_eq!(sansraft_node_tick(node, 1), SANSRAFT_POISONED);
            sansraft_node_free(node);
        }
    }

    #[test]
    fn null_with_length_is_invalid() {
        // SAFETY: a NULL pointer is never read.
        let error = unsafe { slice::<u8>(std::ptr::null(), 3, "data") }.unwrap_err();
        assert_eq!(error.status, SANSRAFT_INVALID_LENGTH);
        // SAFETY: a zero length reads nothing.
        let empty = unsafe { slice::<u8>(std::ptr::null(), 0, "data") }.unwrap();
        assert!(empty.is_empty());
    }
}
