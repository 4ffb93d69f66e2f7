#!/usr/bin/env bash
# CI fuzz stage: builds the libFuzzer targets of tests/fuzz (clang, ASan + UBSan) into
# ./build-fuzz (or $HAWX_FUZZ_BUILD_DIR) and runs each for a bounded time, starting from its
# committed corpus (tests/fuzz/corpus/<target>/). Fails on any crash, sanitizer report,
# escaped non-hawx::Error exception or multi-line error message.
#
# Parameters (environment): HAWX_FUZZ_SECONDS per target (default 30), HAWX_FUZZ_TARGETS
# (default: all), HAWX_FUZZ_MAX_LEN (default 65536: long enough to reach length-dependent
# bugs such as std::regex recursion, which the libFuzzer default of 4096 bytes cannot).
# New inputs go to a scratch corpus in the build folder, never into the repository; a
# crashing input is left as <build>/fuzz-artifacts/<target>-crash-*: add it to
# tests/fuzz/corpus/<target>/ as regress-<what> once fixed (fuzz_replay_test replays it).
# Needs clang and libclang-rt-14-dev (libFuzzer), both in scripts/install-deps.sh.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${HAWX_FUZZ_BUILD_DIR:-$root/build-fuzz}
jobs=${HAWX_JOBS:-$(nproc)}
seconds=${HAWX_FUZZ_SECONDS:-30}
max_len=${HAWX_FUZZ_MAX_LEN:-65536}
read -r -a targets <<< "${HAWX_FUZZ_TARGETS:-manifest table idx cifar gtsrb cimport config}"
flags="-O1 -g -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"

if [ ! -f "$build/build.ninja" ]; then
  CC=clang CXX=clang++ cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Debug \
    -DHAWX_BUILD_BENCHMARKS=OFF -DHAWX_FUZZ=ON "-DCMAKE_CXX_FLAGS=$flags" "-DCMAKE_C_FLAGS=$flags" \
    "-DCMAKE_EXE_LINKER_FLAGS=-fsanitize=address,undefined" \
    "-DCMAKE_SHARED_LINKER_FLAGS=-fsanitize=address,undefined"
fi
cmake --build "$build" -j "$jobs" --target "${targets[@]/#/fuzz_}"

export ASAN_OPTIONS=detect_leaks=1:halt_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export HAWX_PLUGIN_PATH=
artifacts="$build/fuzz-artifacts"
mkdir -p "$artifacts"
failed=()
for t in "${targets[@]}"; do
  work="$build/fuzz-corpus/$t"
  mkdir -p "$work"
  log="$artifacts/$t.log"
  rc=0
  # First corpus folder: where libFuzzer adds new inputs; second: the committed seeds (read only).
  "$build/bin/fuzz_$t" "$work" "$root/tests/fuzz/corpus/$t" -max_total_time="$seconds" -max_len="$max_len" \
    -timeout=10 -rss_limit_mb=2048 -artifact_prefix="$artifacts/$t-" -print_final_stats=1 > "$log" 2>&1 || rc=$?
  runs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' || echo "?")
  if [ $rc -ne 0 ]; then
    failed+=("$t")
    echo "fuzz: $t FAILED (exit $rc after $runs runs); log $log:"
    grep -E 'ERROR|what\(\)|FuzzFailure|runtime error|SUMMARY|artifact' "$log" | head -20 || true
  else
    echo "fuzz: $t clean ($runs runs in ${seconds} s)"
  fi
done
if [ ${#failed[@]} -ne 0 ]; then
  echo "fuzz: ${#failed[@]} target(s) failed: ${failed[*]}"
  exit 1
fi
echo "fuzz: all ${#targets[@]} targets ran ${seconds} s each without a crash"
