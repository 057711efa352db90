//! Runs every scripted scenario in `tests/scenarios` as its own test. The script grammar is
//! described in `tests/scenarios/README.md`.

use std::path::{Path, PathBuf};

use sansraft::sim::Script;

fn scenario_folder() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join("scenarios")
}

/// Runs `tests/scenarios/NAME.sim` and panics with the script's failure report.
fn run(name: &str) {
    let path = scenario_folder().join(format!("{name}.sim"));
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("failed to read {}: {error}", path.display()));
    if let Err(error) = Script::parse(&text).and_then(|script| script.run()) {
        panic!("{}: {error}", path.display());
    }
}

/// Declares one test per scenario file and the list of their names.
macro_rules! scenarios {
    ($($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                run(stringify!($name));
            }
        )*

        const SCENARIOS: &[&str] = &[$(stringify!($name)),*];
    };
}

scenarios!(
    stale_term_not_committed_by_counting,
    old_term_entry_on_majority_overwritten,
    append_reordered_and_duplicated,
    crash_between_persist_and_ack,
    longer_follower_tail_truncated,
    leader_lease_ignores_disruptive_candidate,
    learner_never_counts_toward_quorum,
    learner_votes_on_log_freshness,
    lagging_follower_gets_snapshot,
    follower_behind_commit_does_not_campaign,
);

#[test]
fn every_scenario_file_has_a_test() {
    let entries = std::fs::read_dir(scenario_folder()).expect("tests/scenarios is readable");
    for entry in entries {
        let path = entry.expect("a directory entry is readable").path();
        if path.extension().is_some_and(|extension| extension == "sim") {
            let name = path.file_stem().and_then(|stem| stem.to_str()).unwrap_or_default();
            assert!(
                SCENARIOS.contains(&name),
                "{} has no test; add `{name}` to the scenarios! list in tests/scenarios.rs",
                path.display()
            );
        }
    }
}
