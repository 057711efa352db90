//! A global allocator that records the largest single allocation, so a decode target can
//! check that no decoder reserves memory for a length the input only claims.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

/// The system allocator, recording the size of the largest allocation since the last reset.
pub struct Tracking;

static LARGEST: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call goes straight to the system allocator with the caller's arguments; the
// only addition is an atomic update of a counter.
unsafe impl GlobalAlloc for Tracking {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LARGEST.fetch_max(layout.size(), Ordering::Relaxed);
        System.alloc(layout)
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        LARGEST.fetch_max(layout.size(), Ordering::Relaxed);
        System.alloc_zeroed(layout)
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LARGEST.fetch_max(new_size, Ordering::Relaxed);
        System.realloc(ptr, layout, new_size)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
}

/// Forgets the allocations recorded so far.
pub fn reset() {
    LARGEST.store(0, Ordering::Relaxed);
}

/// Returns the size in bytes of the largest allocation since the last reset.
pub fn largest() -> usize {
    LARGEST.load(Ordering::Relaxed)
}

/// Panics when an allocation since the last reset was larger than decoding `input_len`
/// bytes can justify.
///
/// A decoded item takes at most 64 bytes in memory and at least one byte of input, so the
/// bound is 64 bytes per input byte, plus room for fixed-size buffers.
pub fn assert_within(input_len: usize) {
    let limit = input_len.saturating_mul(64).saturating_add(4096);
    let largest = largest();
    assert!(
        largest <= limit,
        "allocated {largest} bytes at once while decoding {input_len} bytes (limit {limit})"
    );
}
