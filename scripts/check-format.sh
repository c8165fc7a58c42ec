#!/bin/sh
# Fails when a C++ file of the source tree is not clang-formatted (.clang-format).
set -eu
cd "$(dirname "$0")/.."
bad=""
for f in $(find os harness topologies conformance director perf fixtures fuzz vslab -name '*.cpp' -o -name '*.h' | sort); do
  clang-format --dry-run -Werror "$f" >/dev/null 2>&1 || bad="$bad $f"
done
if [ -n "$bad" ]; then
  echo "not clang-formatted (run clang-format -i):$bad" >&2
  exit 1
fi
echo "every C++ file is clang-formatted"
