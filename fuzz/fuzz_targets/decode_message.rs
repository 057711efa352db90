//! Decodes arbitrary bytes as a message: no panic, no allocation beyond what the input
//! justifies, and every decoded message round-trips.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sansraft_fuzz::alloc_limit::{self, Tracking};

#[global_allocator]
static ALLOCATOR: Tracking = Tracking;

fuzz_target!(|data: &[u8]| {
    alloc_limit::reset();
    sansraft_fuzz::codec::decode_message(data);
    alloc_limit::assert_within(data.len());
});
