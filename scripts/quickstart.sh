#!/usr/bin/env bash
# README command 1: install what is missing, build, and run the main job on the embedded
# default: the LeNet-5 study (experiments/lenet5.json) on Fashion-MNIST with the built-in
# blocks, end to end: train LeNet-5 (once; the checkpoint is cached in runs/), calibrate int8,
# profile representatives and score every block, search with the paper's boundary search and
# our Lagrangian variant at three accuracy thresholds, map the results onto the dataflow and
# PERUN accelerator models, print the Table II analog and render the plots.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${HAWX_BUILD_DIR:-$root/build}
bash "$root/scripts/build.sh"
hawx="$build/bin/hawx"
"$hawx" plugins list
echo
"$hawx" run "$root/experiments/lenet5.json"
