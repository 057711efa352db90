//! Drives the cluster simulator with arbitrary faults; every invariant it checks must hold.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| sansraft_fuzz::cluster::run(data));
