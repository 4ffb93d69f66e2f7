#!/usr/bin/env bash
# README command 1: install what is missing, build, and run the main job on the embedded
# default (Fashion-MNIST, built-in blocks):
#  1. list every plugin component, characterize the built-in blocks into a run folder;
#  2. train LeNet-5 on Fashion-MNIST (once; the checkpoint is cached in runs/);
#  3. evaluate it in float, int8-exact and with approximate multipliers (bit-exact emulation).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${HAWX_BUILD_DIR:-$root/build}
bash "$root/scripts/build.sh"
hawx="$build/bin/hawx"
"$hawx" plugins list
echo
"$hawx" run "$root/experiments/default.json"
echo
ckpt="$root/runs/lenet5-fashion-mnist.pt"
mkdir -p "$root/runs"
if [ ! -f "$ckpt" ]; then
  "$hawx" train --model lenet5 --dataset fashion-mnist --out "$ckpt"
  echo
fi
for config in "1-5:T4" "1-5:DRUM4" "1-2:(T6,T2) 3-5:DRUM6" "1-5:MIT"; do
  "$hawx" eval --checkpoint "$ckpt" --manifest "$root/experiments/lenet5_blocks.json" --config "$config"
  echo
done
