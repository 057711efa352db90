#!/usr/bin/env bash
# Runs the cluster benchmark over its variant matrix, RUNS times each, and writes the raw
# result lines and a table of medians.
#
#   benches/run.sh                                   # sansraft only
#   RAFTRS_BASELINE=/path/to/raftrs-baseline benches/run.sh   # also raft-rs, side by side
#   RUNS=3 ENTRIES=50000 benches/run.sh
#
# Environment:
#   RUNS              runs per variant (default 5)
#   ENTRIES           proposals per run (default 200000)
#   RESULTS_DIR       folder for raw-<UTC time>.txt and summary-<UTC time>.md
#                     (default target/bench-results)
#   RAFTRS_BASELINE   folder of the raft-rs harness: a Cargo project whose binary
#                     raftrs-baseline runs the same workload and takes the same flags.
#                     Leave it unset to run sansraft alone.
#   RAFTRS_TARGET_DIR where that harness is built, since its folder may be read-only
#                     (default /tmp/raftrs)
#
# Each run is its own process under /usr/bin/time -v, which reports peak RSS. The matrix is
# run once, then again, RUNS times, so slow drift of the machine touches every variant alike.
# With a baseline, every sansraft run is paired with the matching raft-rs run right before
# or after it (the order alternates), and the summary gives the median of the pairs' ratios.
set -euo pipefail
benches=$(cd "$(dirname "$0")" && pwd)
cd "$benches/.."

RUNS=${RUNS:-5}
ENTRIES=${ENTRIES:-200000}
RESULTS=${RESULTS_DIR:-target/bench-results}
BASELINE=${RAFTRS_BASELINE:-}
BASELINE_TARGET=${RAFTRS_TARGET_DIR:-/tmp/raftrs}

if [ ! -x /usr/bin/time ]; then
  echo "error: /usr/bin/time is missing; install GNU time (Debian package: time)" >&2
  exit 1
fi

# The bench profile inherits the release profile.
ours=$(cargo bench --bench cluster --no-run --message-format=json 2>/dev/null \
  | python3 -c '
import json, sys
for line in sys.stdin:
    message = json.loads(line)
    if message.get("target", {}).get("name") == "cluster" and message.get("executable"):
        print(message["executable"])
')
if [ -z "$ours" ]; then
  echo "error: building the cluster benchmark failed; run: cargo bench --bench cluster --no-run" >&2
  exit 1
fi

theirs=
if [ -n "$BASELINE" ]; then
  CARGO_TARGET_DIR=$BASELINE_TARGET cargo build --release --quiet \
    --manifest-path "$BASELINE/Cargo.toml"
  theirs=$BASELINE_TARGET/release/raftrs-baseline
fi

variants=(
  "--nodes 3 --payload 128 --batch 1"
  "--nodes 3 --payload 128 --batch 64"
  "--nodes 5 --payload 128 --batch 1"
  "--nodes 5 --payload 128 --batch 64"
  "--nodes 3 --payload 1024 --batch 1"
  "--nodes 3 --payload 1024 --batch 64"
  "--nodes 5 --payload 1024 --batch 1"
  "--nodes 5 --payload 1024 --batch 64"
  "--nodes 3 --payload 128 --batch 1 --mode lockstep"
  "--nodes 3 --payload 128 --batch 64 --mode lockstep"
  "--nodes 3 --payload 128 --batch 1 --wire"
  "--nodes 3 --payload 128 --batch 64 --wire"
)

# raft-rs batches appends only with batch_append on, so its batch-64 counterpart turns it on.
# The main pipelined batch-64 variants also run once more with it off, for reference.
baseline_args() {
  case "$1" in
    *"--batch 1"|*"--batch 1 "*) echo "$1" ;;
    *) echo "$1 --batch-append" ;;
  esac
}

mkdir -p "$RESULTS"
stamp=$(date -u +%Y%m%dT%H%M%SZ)
raw=$RESULTS/raw-$stamp.txt
summary=$RESULTS/summary-$stamp.md
time_log=$(mktemp)
trap 'rm -f "$time_log"' EXIT
: > "$raw"

# Runs one process and appends its line, tagged with the run number, the variant and peak RSS.
# sansraft's line names its core itself, and raft-rs's line gets core=raft-rs in front.
run_one() {
  local run=$1 variant=$2 tag=$3 binary=$4 args=$5 line maxrss
  # shellcheck disable=SC2086
  line=$(/usr/bin/time -v -o "$time_log" "$binary" --entries "$ENTRIES" $args)
  maxrss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$time_log")
  echo "run=$run variant=\"$variant\" args=\"$args\" $tag$line time_maxrss_kib=$maxrss" \
    | tee -a "$raw"
}

run_baseline() {
  local run=$1 variant=$2
  run_one "$run" "$variant" "core=raft-rs " "$theirs" "$(baseline_args "$variant")"
  case "$variant" in
    *"--batch 64") run_one "$run" "$variant" "core=raft-rs " "$theirs" "$variant" ;;
  esac
}

for run in $(seq 1 "$RUNS"); do
  for variant in "${variants[@]}"; do
    if [ -n "$theirs" ] && [ $((run % 2)) -eq 0 ]; then run_baseline "$run" "$variant"; fi
    run_one "$run" "$variant" "" "$ours" "$variant"
    if [ -n "$theirs" ] && [ $((run % 2)) -eq 1 ]; then run_baseline "$run" "$variant"; fi
  done
done

python3 "$benches/summarize.py" "$raw" | tee "$summary"
echo "raw lines: $raw"
echo "summary:   $summary"
