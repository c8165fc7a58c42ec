#!/bin/sh
# Configures and builds one CMake preset (release, asan) into build/<preset>; further
# arguments go to the configure step (e.g. -DBUILD_TESTING=OFF).
set -eu
cd "$(dirname "$0")/.."
preset="${1:-release}"
[ $# -eq 0 ] || shift
cmake --preset "$preset" "$@" >/dev/null
cmake --build --preset "$preset"
