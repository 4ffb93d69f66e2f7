#!/usr/bin/env bash
# README command 2: install what is missing, build, run every test (CTest).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${HAWX_BUILD_DIR:-$root/build}
bash "$root/scripts/build.sh"
cd "$build"
ctest --output-on-failure -j "${HAWX_TEST_JOBS:-2}"
