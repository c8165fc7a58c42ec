#!/bin/sh
# README command 1: set up, build, run the main job: the conformance matrix against the
# built-in director (vsd), table on screen; exit status 0 only when no cell failed.
set -eu
cd "$(dirname "$0")/.."
scripts/setup.sh main
# Only the tools: tests and micro-benchmarks are the second README command's.
scripts/build.sh release -DBUILD_TESTING=OFF
exec build/release/vslab conform --dut builtin -j 2 "$@"
