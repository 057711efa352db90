//! The demo with a small workload: a leader crash, a restart that installs a snapshot, a
//! learner promotion, and every node's state checked against the acknowledged writes.

mod support;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const TIMEOUT: Duration = Duration::from_secs(180);

#[test]
fn demo_passes_with_small_workload() {
    let mut child = Command::new(support::binary())
        .args([
            "--keys=2000",
            "--writers=16",
            "--snapshot-every=200",
            "--snapshot-trailing-entries=100",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > TIMEOUT {
            // The nodes exit on their own once their parent is gone.
            child.kill().unwrap();
            panic!("the demo was still running after {TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let output = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let report = format!("stdout:\n{stdout}\nstderr:\n{stderr}");

    assert!(output.status.success(), "{report}");
    assert!(
        stdout.contains("result           OK: every node contains all 2000 acknowledged writes"),
        "{report}"
    );
    assert!(stdout.contains("killed the leader"), "{report}");
    assert!(stdout.contains("promoted to voting member"), "{report}");
    assert_eq!(stdout.matches(" match\n").count(), 4, "{report}");
    let snapshots = stdout.lines().find(|line| line.trim_start().starts_with("snapshots")).unwrap();
    let installed: u64 = snapshots
        .split(", ")
        .nth(1)
        .and_then(|part| part.split_whitespace().next())
        .and_then(|count| count.parse().ok())
        .unwrap_or_else(|| panic!("no installed count in {snapshots:?}"));
    assert!(installed >= 1, "the restarted node did not install a snapshot: {snapshots}");
}
