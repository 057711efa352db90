//! Calls the C API in arbitrary order with NULL pointers, bad lengths and garbage buffers;
//! no call may crash or reach the panic boundary.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| sansraft_fuzz::c_api::run(data));
