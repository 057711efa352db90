#!/usr/bin/env bash
# Runs each fuzz target for a fixed time, two at a time; any crash, leak or timeout fails.
#
# Usage: fuzz/run.sh [SECONDS] [TARGET...]
#   SECONDS  time per target, 30 by default
#   TARGET   targets to run, all of them by default
#
# Installs cargo-fuzz when it is missing. cargo-fuzz needs a nightly compiler: the script
# uses the nightly toolchain when rustup has one (or can install it), and otherwise the
# stable one with RUSTC_BOOTSTRAP=1. The c_api target runs under AddressSanitizer, because
# it exercises unsafe code; the others run without a sanitizer, which is about twice as fast.
set -euo pipefail
cd "$(dirname "$0")"

seconds="${1:-30}"
shift || true
targets=("$@")
if [ "${#targets[@]}" -eq 0 ]; then
    targets=(decode_message decode_record node_inputs cluster c_api)
fi

if ! command -v cargo-fuzz >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi

toolchain=()
if rustup toolchain list | grep -q '^nightly' \
    || rustup toolchain install nightly --profile minimal; then
    toolchain=(+nightly)
else
    echo "no nightly toolchain; using the stable one with RUSTC_BOOTSTRAP=1"
    export RUSTC_BOOTSTRAP=1
fi

sanitizer_args() {
    case "$1" in
        c_api) echo "--sanitizer=address --target-dir=target/asan" ;;
        *) echo "--sanitizer=none --target-dir=target/plain" ;;
    esac
}

logs="$(mktemp -d)"
trap 'rm -rf "$logs"' EXIT

# Build first, so that the timed runs measure fuzzing alone.
for target in "${targets[@]}"; do
    # shellcheck disable=SC2046
    cargo "${toolchain[@]}" fuzz build $(sanitizer_args "$target") "$target"
done

run_one() {
    local target="$1"
    mkdir -p "corpus/$target"
    # shellcheck disable=SC2046
    if cargo "${toolchain[@]}" fuzz run $(sanitizer_args "$target") "$target" -- \
        -max_total_time="$seconds" -timeout=20 -rss_limit_mb=2048 >"$logs/$target.log" 2>&1; then
        echo "$target: $(grep -E '^Done [0-9]+ runs' "$logs/$target.log" || echo done)"
    else
        echo "$target: FAILED; the input is in fuzz/artifacts/$target/"
        tail -n 60 "$logs/$target.log"
        return 1
    fi
}

failed=0
for ((at = 0; at < ${#targets[@]}; at += 2)); do
    pids=()
    for target in "${targets[@]:at:2}"; do
        run_one "$target" &
        pids+=("$!")
    done
    for pid in "${pids[@]}"; do
        wait "$pid" || failed=1
    done
done
exit "$failed"
