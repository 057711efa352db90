//! `sansraft-kv`: run one node of the replicated key-value store, or the demo.

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use sansraft_kv::cli::{Cli, Command};
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the tokio runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match cli.command {
        Some(Command::Node(args)) => {
            init_logging();
            let options = match args.into_options() {
                Ok(options) => options,
                Err(error) => {
                    tracing::error!(error = %format!("{error:#}"), "invalid flags");
                    return ExitCode::FAILURE;
                }
            };
            // `run` logs why the node failed, so the error is not printed again here.
            match runtime.block_on(sansraft_kv::host::run(options)) {
                Ok(()) => ExitCode::SUCCESS,
                Err(_) => ExitCode::FAILURE,
            }
        }
        Some(Command::Demo(args)) => runtime.block_on(run_demo(args)),
        None => runtime.block_on(run_demo(cli.demo)),
    }
}

async fn run_demo(args: sansraft_kv::cli::DemoArgs) -> ExitCode {
    let outcome = tokio::select! {
        outcome = sansraft_kv::demo::run(args) => outcome,
        _ = tokio::signal::ctrl_c() => Err(anyhow::anyhow!("interrupted")),
    };
    match outcome {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .init();
}
