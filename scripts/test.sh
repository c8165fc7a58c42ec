#!/bin/sh
# README command 2: set up, then build and run every test twice: a Release build and an
# ASan+UBSan build; between them, the Release build's .deb is installed and its installed
# tools run the NAT rr cells (scripts/install-test.sh). Topology tests need root; without it
# they skip and say so. Last, every fuzz target for 10 s (scripts/fuzz.sh; fails on a crash).
#
# CI runs this on a fresh clone on a fresh 2-core machine and it must finish in under 25
# minutes (issue 28); each stage's wall time is printed at the end, also when a stage fails.
# What keeps it there:
# - CTest starts the serial tests and the long ones first (their COST, CMakeLists.txt), so
#   that no minute-long test starts last and runs alone.
# - The ASan build runs every test but the format check (the Release run checked the same
#   files), the external-DUT comparison in DR, TUN and FULLNAT (the external DUT is the same
#   code in every mode, sanitized by the NAT one; every mode's cells run sanitized in
#   matrix.builtin), label mutate (it builds a Release vsd of its own) and the qemu tests whose
#   sanitized code other tests run (the guest kernel is not sanitized): two of the three
#   kernel-reference tests, the kernel's own sync tests and the failover pairs of guests
#   (minutes of serial emulation; their vsd and scenario code run sanitized in SyncInterop and
#   conformance/Failover): the asan test preset, CMakePresets.json. It compiles with -g1:
#   the line tables its stack traces need.
# - The mutate tests build their mutants on the Release build's objects, recompiling only the
#   edited file (conformance/mutate/overlay.h), not vsd from nothing.
# - The format check runs one clang-format for all files (scripts/check-format.sh).
# - The Release build compiles the tests' own code at -O1; what they test stays at -O3
#   (vslab_test, CMakeLists.txt).
# - The fuzz build compiles only what the fuzz targets read (fuzz/CMakeLists.txt).
set -eu
cd "$(dirname "$0")/.."

started=$(date +%s)
stage_start=$started
stage_name=""
stage_times=""
# Ends the stage running and starts NAME (none: the last has ended).
stage() {
  now=$(date +%s)
  if [ -n "$stage_name" ]; then
    stage_times="$stage_times$(printf '  %-28s %5d s' "$stage_name" $((now - stage_start)))
"
  fi
  stage_name="${1:-}"
  stage_start=$now
  [ -z "$stage_name" ] || echo "== $stage_name"
}
report_times() {
  status=$?
  stage
  printf 'test.sh: wall time per stage (exit %d):\n%s  %-28s %5d s\n' "$status" "$stage_times" \
    total $(($(date +%s) - started))
}
trap report_times EXIT

stage setup
scripts/setup.sh
jobs="${VSLAB_TEST_JOBS:-3}"
for preset in release asan; do
  stage "$preset: build"
  scripts/build.sh "$preset"
  stage "$preset: ctest -j$jobs"
  # A test that fails is run once more and fails the run only if it fails again: on these
  # shared 2-core machines a frame has gone missing between namespaces under -j3 load (once
  # in about four full runs, not reproduced by itself); the first failure stays in the log.
  ctest --preset "$preset" -j "$jobs" --repeat until-pass:2
  if [ "$preset" = release ]; then
    if [ "$(id -u)" -eq 0 ]; then
      stage "release: the .deb, installed"
      scripts/install-test.sh
    else
      echo "== release: the .deb install test skipped: dpkg -i needs root"
    fi
  fi
done
# The fuzz targets, each a short bounded run from its seed corpus (fuzz/README.md).
stage "fuzz: build"
cmake --preset fuzz >/dev/null
cmake --build --preset fuzz
stage "fuzz: run"
scripts/fuzz.sh --no-build --time "${VSLAB_FUZZ_SECONDS:-10}"
