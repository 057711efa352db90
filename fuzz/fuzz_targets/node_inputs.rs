//! Drives one node with an arbitrary sequence of inputs and checks every output against the
//! persistence contract.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| sansraft_fuzz::node_inputs::run(data));
