#!/usr/bin/env bash
# Installs the built HAWX into a scratch prefix, builds sdk/examples/minimal_block (and a
# C-circuit library via hawx_add_c_blocks) out of tree against the installed SDK, and loads
# both with the installed hawx.
set -euo pipefail
bin=$1 src=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cmake --install "$bin" --prefix "$work/prefix" > "$work/install.log"
gen=()
command -v ninja > /dev/null && gen=(-G Ninja)
cmake -S "$src/sdk/examples/minimal_block" -B "$work/example" "${gen[@]}" \
  -DCMAKE_PREFIX_PATH="$work/prefix" > "$work/configure.log" || { cat "$work/configure.log"; exit 1; }
cmake --build "$work/example" > "$work/build.log" || { cat "$work/build.log"; exit 1; }
out=$("$work/prefix/bin/hawx" blocks show mylib.lsb_zero_mul --plugin-path "$work/example" --set n=3 --json)
echo "$out"
# Clearing the 3 low result bits: worst-case error 7, always rounding down (negative bias).
grep -q '"wce": 7.0' <<< "$out"
grep -q '"bias": -' <<< "$out"
# The example adder (24 bits, 4 low bits OR-ed): characterized on sampled pairs; OR never
# exceeds the sum of the low bits, so its error is never positive before wrap-around.
out=$("$work/prefix/bin/hawx" blocks show mylib.or_low_add --plugin-path "$work/example" --json)
echo "$out"
grep -q '"sampled": true' <<< "$out"
grep -q '"op": "add"' <<< "$out"
# The installed core finds its installed built-in plugins.
# (captured first: grep -q stops reading early, and hawx must not die of SIGPIPE under pipefail)
listing=$("$work/prefix/bin/hawx" plugins list)
grep -q 'core.truncated_mul' <<< "$listing"
grep -q 'search.hawx-lagrange' <<< "$listing"
grep -q 'accelerators.dataflow' <<< "$listing"
grep -q 'metrics.ame' <<< "$listing"

# C circuits through the CMake function of the installed SDK.
mkdir -p "$work/cproj"
cat > "$work/cproj/CMakeLists.txt" <<CMAKE
cmake_minimum_required(VERSION 3.22)
project(cblocks C CXX)
find_package(HawxSDK REQUIRED)
hawx_add_c_blocks(NAME evofix FILES $src/tests/cimport/fixtures/mul8s_T3K.c $src/tests/cimport/fixtures/mul8u_B2H.c)
CMAKE
cmake -S "$work/cproj" -B "$work/cbuild" "${gen[@]}" -DCMAKE_PREFIX_PATH="$work/prefix" > "$work/cconf.log" \
  || { cat "$work/cconf.log"; exit 1; }
cmake --build "$work/cbuild" > "$work/cbuild.log" || { cat "$work/cbuild.log"; exit 1; }
out=$("$work/prefix/bin/hawx" blocks show evofix.mul8s_T3K --plugin-path "$work/cbuild")
echo "$out"
grep -q 'DISAGREES' <<< "$out" && { echo "published figures do not match"; exit 1; }
grep -q 'agrees' <<< "$out"
echo "out-of-tree plugins OK"
