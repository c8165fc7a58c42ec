#!/bin/sh
# README command 1: set up, build, run the main job: the conformance matrix against the
# built-in director (vsd), table on screen; exit status 0 only when no cell failed.
set -eu
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh release
exec build/release/vslab conform --dut builtin -j 2 "$@"
