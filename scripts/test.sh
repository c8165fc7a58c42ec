#!/bin/sh
# README command 2: set up, then build and run every test twice: a Release build and an
# ASan+UBSan build; between them, the Release build's .deb is installed and its installed
# tools run the NAT rr cells (scripts/install-test.sh). Topology tests need root; without it
# they skip and say so. Last, every fuzz target for 10 s (scripts/fuzz.sh; fails on a crash).
set -eu
cd "$(dirname "$0")/.."
scripts/setup.sh
jobs="${VSLAB_TEST_JOBS:-3}"
for preset in release asan; do
  echo "== $preset: build"
  scripts/build.sh "$preset"
  echo "== $preset: ctest -j$jobs"
  # A test that fails is run once more and fails the run only if it fails again: on these
  # shared 2-core machines a frame has gone missing between namespaces under -j3 load (once
  # in about four full runs, not reproduced by itself); the first failure stays in the log.
  ctest --preset "$preset" -j "$jobs" --repeat until-pass:2
  if [ "$preset" = release ]; then
    if [ "$(id -u)" -eq 0 ]; then
      echo "== release: the .deb, installed"
      scripts/install-test.sh
    else
      echo "== release: the .deb install test skipped: dpkg -i needs root"
    fi
  fi
done
# The fuzz targets, each a short bounded run from its seed corpus (fuzz/README.md).
echo "== fuzz: build and run every target"
scripts/fuzz.sh --time "${VSLAB_FUZZ_SECONDS:-10}"
