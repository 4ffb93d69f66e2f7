#!/usr/bin/env bash
# Installs HAWX's build and run dependencies from Debian 12 packages (idempotent: does
# nothing but check when everything is present). Run as root, or with sudo available.
set -euo pipefail
packages=(
  cmake ninja-build gcc g++ make ccache
  libtorch-dev libopenblas0-openmp
  libboost-dev libboost-program-options-dev libboost-mpi-dev
  libtbb-dev nlohmann-json3-dev libgtest-dev libbenchmark-dev zlib1g-dev
  libopenmpi-dev openmpi-bin
  dataset-fashion-mnist python3-torch python3-torchvision gnuplot-nox
  clang libclang-rt-14-dev  # scripts/fuzz.sh: libFuzzer is in libclang-rt-14-dev, only a Recommends of clang
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2> /dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi
sudo=()
[ "$(id -u)" -ne 0 ] && sudo=(sudo)
echo "install-deps: installing ${missing[*]}"
"${sudo[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
