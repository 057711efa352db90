//! Prints what a fuzz input does, one action per line: `cargo run --example describe --
//! TARGET FILE`, for the targets `node_inputs`, `cluster` and `c_api`.

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [target, path] = &args[..] else {
        eprintln!("usage: describe TARGET FILE (TARGET is node_inputs, cluster or c_api)");
        return ExitCode::FAILURE;
    };
    let data = match std::fs::read(path) {
        Ok(data) => data,
        Err(error) => {
            eprintln!("cannot read {path}: {error}");
            return ExitCode::FAILURE;
        }
    };
    let text = match target.as_str() {
        "node_inputs" => sansraft_fuzz::node_inputs::describe(&data),
        "cluster" => sansraft_fuzz::cluster::describe(&data),
        "c_api" => sansraft_fuzz::c_api::describe(&data),
        _ => {
            eprintln!("unknown target {target}; use node_inputs, cluster or c_api");
            return ExitCode::FAILURE;
        }
    };
    println!("{text}");
    ExitCode::SUCCESS
}
