#!/bin/sh
# README command 2: set up, then build and run every test twice: a Release build and an
# ASan+UBSan build. Topology tests need root; without it they skip and say so.
set -eu
cd "$(dirname "$0")/.."
scripts/setup.sh
jobs="${VSLAB_TEST_JOBS:-3}"
for preset in release asan; do
  echo "== $preset: build"
  scripts/build.sh "$preset"
  echo "== $preset: ctest -j$jobs"
  ctest --preset "$preset" -j "$jobs"
done
