#!/usr/bin/env bash
# Builds the C library, checks that include/sansraft.h compiles as C99 and as C++17, and
# builds and runs the C and C++ examples and tests under AddressSanitizer (with leak
# detection) and UndefinedBehaviorSanitizer. Fails on any error, failed check or sanitizer
# report.
#
#   bash ffi/run-c-tests.sh
set -euo pipefail
cd "$(dirname "$0")/.."

target_dir=${CARGO_TARGET_DIR:-target}
library=$target_dir/debug/libsansraft_ffi.a
out=$target_dir/c-tests
# The native libraries a Rust static library needs, as `rustc --print native-static-libs`
# lists them for Linux.
system_libs=(-lgcc_s -lutil -lrt -lpthread -lm -ldl)
sanitize=(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all -g)
c_flags=(-std=c99 -Wall -Wextra -Werror -pedantic -Iinclude)
cxx_flags=(-std=c++17 -Wall -Wextra -Werror -pedantic -Iinclude)

step() { printf '\n--> %s\n' "$*"; }

step "build the library"
cargo build -p sansraft-ffi
mkdir -p "$out"

step "header compiles as C99 and as C++17"
gcc "${c_flags[@]}" -c ffi/tests/header_check.c -o "$out/header_check_c.o"
g++ "${cxx_flags[@]}" -x c++ -c ffi/tests/header_check.c -o "$out/header_check_cxx.o"

step "build the examples and tests with sanitizers"
gcc "${c_flags[@]}" "${sanitize[@]}" ffi/examples/cluster.c "$library" "${system_libs[@]}" \
  -o "$out/cluster"
gcc "${c_flags[@]}" "${sanitize[@]}" ffi/tests/misuse.c "$library" "${system_libs[@]}" \
  -o "$out/misuse"
g++ "${cxx_flags[@]}" "${sanitize[@]}" ffi/examples/raii.cpp "$library" "${system_libs[@]}" \
  -o "$out/raii"
gcc "${c_flags[@]}" "${sanitize[@]}" ffi/examples/bench.c "$library" "${system_libs[@]}" \
  -o "$out/bench"

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:halt_on_error=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1

failed=0
passed=0
# The benchmark runs a short workload here to check its host code under the sanitizers.
# Its timings mean nothing in a debug, instrumented build.
declare -A arguments=([bench]="--entries 3000 --batch 16")
for program in cluster misuse raii bench; do
  step "run $program"
  log=$out/$program.log
  status=0
  # shellcheck disable=SC2086
  "$out/$program" ${arguments[$program]:-} 2> "$log" || status=$?
  cat "$log" >&2
  if [ "$status" -ne 0 ]; then
    echo "FAIL: $program exited with status $status" >&2
    failed=$((failed + 1))
  elif grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$log"; then
    echo "FAIL: $program produced a sanitizer report" >&2
    failed=$((failed + 1))
  else
    passed=$((passed + 1))
  fi
done

printf '\nc-tests: %d passed, %d failed\n' "$passed" "$failed"
[ "$failed" -eq 0 ]
