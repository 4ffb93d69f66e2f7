#!/usr/bin/env bash
# Installs missing dependencies, configures and builds HAWX into ./build (or $HAWX_BUILD_DIR).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${HAWX_BUILD_DIR:-$root/build}
bash "$root/scripts/install-deps.sh"
jobs=${HAWX_JOBS:-$(nproc)}
if [ ! -f "$build/build.ninja" ]; then
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
fi
cmake --build "$build" -j "$jobs"
