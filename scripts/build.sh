#!/bin/sh
# Configures and builds one CMake preset (release, asan) into build/<preset>.
set -eu
cd "$(dirname "$0")/.."
preset="${1:-release}"
cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset"
