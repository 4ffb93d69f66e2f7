#!/usr/bin/env bash
# CI sanitizer stage: builds the torch-free parts with AddressSanitizer + UndefinedBehavior-
# Sanitizer (gcc, the project's compiler) into ./build-asan (or $HAWX_ASAN_BUILD_DIR) and runs
# their unit tests; fails on any failed test and on any sanitizer report.
#
# Tests run (the torch-free libraries they cover):
#   blocks_test       built-in block library `core` (blocks/), table files and sidecars
#   dataset_test      IDX, CIFAR-10, GTSRB/PPM readers (framework/data/src/dataset.cpp)
#   core_test         plugin loading with the broken-plugin fixtures, manifests
#   cimport_test      EvoApproxLib C import (runs the C compiler)
#   fuzz_replay_test  every fuzz corpus file (tests/fuzz/corpus) through its parser
# Set HAWX_SANITIZE_ENGINE=1 to add conversions_test and separable_test: they need
# libhawx_engine, whose ATen translation units add minutes to a cold build.
# Not run: the CLI, zoo and engine-model tests (LibTorch-heavy; LibTorch itself is not
# instrumented, so ASan would only see our side of those calls anyway).
#
# Sanitizer options, and why:
# - The whole project links LibTorch through Hawx::sdk, so even these tests load libtorch,
#   libc10, OpenBLAS and gomp, which are not instrumented. That is fine for ASan: the
#   executables are linked with -fsanitize=address, so the runtime comes first in the
#   library list (no LD_PRELOAD needed) and intercepts malloc/free for every library. Bugs
#   inside LibTorch are invisible, bugs in our code calling it are not.
# - detect_leaks=1 (LeakSanitizer) stays on: LibTorch's static registries stay reachable at
#   exit and produce no report with these tests, so no suppression file is needed.
# - detect_odr_violation=2 (default) stays on: the core and the block library are separate
#   shared objects built from distinct sources; a report would be a real bug.
# - detect_stack_use_after_return=1 and check_initialization_order=1: cheap here and catch
#   bugs the defaults miss (returning views of locals, static-init order across libraries).
# - halt_on_error / -fno-sanitize-recover=undefined: the first report fails the test binary.
# - print_stacktrace=1 for UBSan, so a report says where.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${HAWX_ASAN_BUILD_DIR:-$root/build-asan}
jobs=${HAWX_JOBS:-$(nproc)}
flags="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined"

if [ ! -f "$build/build.ninja" ]; then
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DHAWX_BUILD_BENCHMARKS=OFF \
    "-DCMAKE_CXX_FLAGS=$flags" "-DCMAKE_C_FLAGS=$flags" \
    "-DCMAKE_EXE_LINKER_FLAGS=-fsanitize=address,undefined" \
    "-DCMAKE_SHARED_LINKER_FLAGS=-fsanitize=address,undefined" \
    "-DCMAKE_MODULE_LINKER_FLAGS=-fsanitize=address,undefined"
fi

tests=(blocks_test dataset_test core_test cimport_test fuzz_replay_test)
if [ "${HAWX_SANITIZE_ENGINE:-0}" = 1 ]; then
  tests+=(conversions_test separable_test)
fi
cmake --build "$build" -j "$jobs" --target "${tests[@]}"

export ASAN_OPTIONS=detect_leaks=1:detect_odr_violation=2:detect_stack_use_after_return=1:check_initialization_order=1:halt_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export HAWX_PLUGIN_PATH=
logs="$build/sanitize-logs"
mkdir -p "$logs"
failed=()
for t in "${tests[@]}"; do
  log="$logs/$t.log"
  start=$SECONDS
  rc=0
  "$build/bin/$t" > "$log" 2>&1 || rc=$?
  # A report from a child process, or one printed after the tests passed, fails too.
  if [ $rc -ne 0 ] || grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error: ' "$log"; then
    failed+=("$t")
    echo "sanitize: $t FAILED (exit $rc, $((SECONDS - start)) s); log $log:"
    grep -E 'FAILED|ERROR: |runtime error: |SUMMARY' "$log" | head -40 || true
  else
    echo "sanitize: $t passed ($(grep -E '^\[  PASSED  \]' "$log" | head -1), $((SECONDS - start)) s)"
  fi
done
if [ ${#failed[@]} -ne 0 ]; then
  echo "sanitize: ${#failed[@]} failed: ${failed[*]}"
  exit 1
fi
echo "sanitize: all ${#tests[@]} test programs passed under ASan+UBSan"
