#!/bin/sh
# Fails when a C++ file of the source tree is not clang-formatted (.clang-format).
set -eu
cd "$(dirname "$0")/.."
files=$(find os harness topologies conformance director perf fixtures fuzz vslab -name '*.cpp' -o -name '*.h' | sort)
# One clang-format for every file: one per file spent most of its time starting clang-format.
# shellcheck disable=SC2086
if clang-format --dry-run -Werror $files >/dev/null 2>&1; then
  echo "every C++ file is clang-formatted"
  exit 0
fi
# Which ones, one at a time (also when clang-format itself failed).
bad=""
for f in $files; do
  clang-format --dry-run -Werror "$f" >/dev/null 2>&1 || bad="$bad $f"
done
echo "not clang-formatted (run clang-format -i):${bad:- none singly; clang-format failed on them all}" >&2
exit 1
