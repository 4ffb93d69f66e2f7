#!/usr/bin/env bash
# README command 1: install what is missing, build, and run the main job on the embedded
# default: list every plugin component, then characterize the built-in approximate blocks
# (experiments/default.json) into a new run folder under runs/.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${HAWX_BUILD_DIR:-$root/build}
bash "$root/scripts/build.sh"
"$build/bin/hawx" plugins list
echo
"$build/bin/hawx" run "$root/experiments/default.json"
