#!/bin/sh
# README command 1: set up, build, run the main job (until the conformance matrix exists:
# the harness selftest on topologies/selftest.toml).
set -eu
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh release
exec build/release/vslab topo selftest topologies/selftest.toml
