//! `sansraft-sim`: runs simulator scripts and random seeds from the command line.
//!
//! Run `cargo run --features sim --bin sansraft-sim -- --help` for the commands.

use std::process::ExitCode;
use std::time::Instant;

use sansraft::sim::{run_seed, RunOptions, Script};

const HELP: &str = "\
sansraft-sim: run the deterministic cluster simulator

USAGE:
    sansraft-sim script [--quiet] FILE...
    sansraft-sim seeds [--start S] [--count N] [RUN OPTIONS]
    sansraft-sim seed S [RUN OPTIONS]

COMMANDS:
    script FILE...   Run scenario scripts (grammar: tests/scenarios/README.md). Prints each
                     script's trace, and stops with exit code 1 at the first failed command
                     or invariant violation, naming its line.
    seeds            Run random faulty runs for a range of seeds and print each violation
                     and the rate in seeds per second. Exits with code 1 when any seed fails.
    seed S           Replay seed S with tracing on and print its full trace.

OPTIONS:
    --quiet          (script) Print nothing for scripts that pass; failures still print.
    --start S        (seeds) First seed to run [default: 0].
    --count N        (seeds) Number of seeds to run [default: 100].
    --members K      (seeds, seed) Number of voting members at the start [default: 3].
    --spares N       (seeds, seed) Servers outside the starting configuration, which
                     membership changes add and remove [default: 0].
    --membership-changes
                     (seeds, seed) Mix random single-server changes into the faults.
    --snapshots      (seeds, seed) Take snapshots now and then, so leaders send them.
    -h, --help       Print this help.

EXIT CODES:
    0 everything passed, 1 a script or seed failed, 2 the command line is invalid.
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.is_empty() || args.iter().any(|arg| arg == "-h" || arg == "--help") {
        print!("{HELP}");
        return if args.is_empty() { ExitCode::from(2) } else { ExitCode::SUCCESS };
    }
    let result = match args[0].as_str() {
        "script" => run_scripts(&args[1..]),
        "seeds" => run_seeds(&args[1..]),
        "seed" => replay_seed(&args[1..]),
        other => Err(Usage(format!("unknown command `{other}`; run with --help for usage"))),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(Usage(message)) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
    }
}

/// A command-line mistake, reported with exit code 2.
struct Usage(String);

/// Runs each script file in turn. Returns false at the first failure.
fn run_scripts(args: &[String]) -> Result<bool, Usage> {
    let quiet = args.iter().any(|arg| arg == "--quiet");
    let files: Vec<&String> = args.iter().filter(|arg| *arg != "--quiet").collect();
    if files.is_empty() {
        return Err(Usage(String::from("`script` needs at least one FILE")));
    }
    if let Some(flag) = files.iter().find(|file| file.starts_with("--")) {
        return Err(Usage(format!("unknown option `{flag}` for `script`")));
    }
    for file in files {
        let text = std::fs::read_to_string(file)
            .map_err(|error| Usage(format!("failed to read {file}: {error}")))?;
        match Script::parse(&text).and_then(|script| script.run()) {
            Ok(trace) if !quiet => {
                println!("== {file}");
                trace.iter().for_each(|line| println!("{line}"));
                println!("== {file}: passed");
            }
            Ok(_) => {}
            Err(error) => {
                eprintln!("{file}: {error}");
                return Ok(false);
            }
        }
    }
    Ok(true)
}

/// Runs a range of random seeds and prints every violation and the rate.
fn run_seeds(args: &[String]) -> Result<bool, Usage> {
    let mut start = 0;
    let mut count = 100;
    let mut options = RunOptions::default();
    let mut rest = args.iter();
    while let Some(flag) = rest.next() {
        match flag.as_str() {
            "--start" => start = number(flag, rest.next())?,
            "--count" => count = number(flag, rest.next())?,
            other => {
                if !run_option(&mut options, flag, &mut rest)? {
                    return Err(Usage(format!("unknown option `{other}` for `seeds`")));
                }
            }
        }
    }

    let began = Instant::now();
    let mut failed = 0;
    for seed in start..start.saturating_add(count) {
        if let Err(failure) = run_seed(seed, &options) {
            failed += 1;
            println!("seed {seed} failed: {}", failure.message);
        }
    }

    let seconds = began.elapsed().as_secs_f64();
    println!(
        "{count} seeds from {start} with {} members: {failed} violations, {seconds:.1} s, \
         {:.0} seeds/s",
        options.members,
        count as f64 / seconds.max(f64::EPSILON)
    );
    if failed > 0 {
        println!("replay one with `sansraft-sim seed S` and the same options");
    }
    Ok(failed == 0)
}

/// Applies an option shared by `seeds` and `seed`. Returns false for an unknown flag.
fn run_option<'a>(
    options: &mut RunOptions,
    flag: &str,
    rest: &mut impl Iterator<Item = &'a String>,
) -> Result<bool, Usage> {
    match flag {
        "--members" => options.members = number(flag, rest.next())?,
        "--spares" => options.spares = number(flag, rest.next())?,
        "--membership-changes" => options.membership_changes = true,
        "--snapshots" => options.snapshots = true,
        _ => return Ok(false),
    }
    Ok(true)
}

/// Replays one seed with tracing on and prints the trace.
fn replay_seed(args: &[String]) -> Result<bool, Usage> {
    let mut rest = args.iter();
    let seed_word = rest.next().ok_or_else(|| Usage(String::from("`seed` needs a seed S")))?;
    let seed = number("seed", Some(seed_word))?;
    let mut options = RunOptions { trace: true, ..RunOptions::default() };
    while let Some(flag) = rest.next() {
        if !run_option(&mut options, flag, &mut rest)? {
            return Err(Usage(format!("unknown option `{flag}` for `seed`")));
        }
    }
    match run_seed(seed, &options) {
        Ok(summary) => {
            summary.trace.iter().for_each(|line| println!("{line}"));
            println!(
                "seed {seed} passed: {} entries committed, {} crashes, {} partitions, \
                 ended at {} ms",
                summary.committed, summary.crashes, summary.partitions, summary.end_ms
            );
            Ok(true)
        }
        Err(failure) => {
            println!("{failure}");
            Ok(false)
        }
    }
}

fn number(flag: &str, value: Option<&String>) -> Result<u64, Usage> {
    let value = value.ok_or_else(|| Usage(format!("`{flag}` needs a number")))?;
    value.parse().map_err(|_| {
        Usage(format!("invalid number `{value}` for `{flag}`; expected a whole number"))
    })
}
