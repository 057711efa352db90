//! The logic of sansraft's fuzz targets, kept out of the target files so that the regression
//! tests in the main crate can replay a crashing input through the same code.
//!
//! Each module exposes a `run`-style function that takes the raw fuzzer bytes and panics on a
//! failed check.

pub mod alloc_limit;
pub mod c_api;
pub mod cluster;
pub mod codec;
pub mod host;
pub mod node_inputs;
