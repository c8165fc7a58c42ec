#!/bin/sh
# Builds the libFuzzer targets (the fuzz preset: clang-14, ASan+UBSan, fuzz/README.md) and runs
# each for a bounded time, starting from its seed corpus in fuzz/corpus/<target>/. What a run
# finds stays out of the tree: new inputs in build/fuzz/corpus/<target>/, a crash (or a leak, a
# timeout, a failed check) as build/fuzz/crashes/<target>-*, which reproduces with
# `build/fuzz/fuzz/<target>_fuzz FILE`. Prints one line per target with its executions;
# exits 1 when any target crashed.
#
#   scripts/fuzz.sh                     # every target, 10 s each (the test.sh stage)
#   scripts/fuzz.sh --time 600 frame    # a longer campaign of one target
#   options: --time SECONDS (per target), --jobs N (targets at once, default 2), --no-build
set -eu
cd "$(dirname "$0")/.."
all="frame reassembly sip_call_id sync dataplane control vsadm restore topology case pcap"
time_per_target=10
jobs=2
build=yes
targets=""
while [ $# -gt 0 ]; do
  case "$1" in
  --time | --jobs)
    [ $# -ge 2 ] || { echo "scripts/fuzz.sh: $1 needs a number" >&2; exit 2; }
    case "$2" in
    '' | *[!0-9]*) echo "scripts/fuzz.sh: $1 needs a number, not $2" >&2; exit 2 ;;
    esac
    if [ "$1" = --time ]; then time_per_target="$2"; else jobs="$2"; fi
    shift 2 ;;
  --no-build) build=no; shift ;;
  -h | --help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  -*) echo "scripts/fuzz.sh: unknown option $1 (--help)" >&2; exit 2 ;;
  *)
    case " $all " in
    *" $1 "*) targets="$targets $1" ;;
    *) echo "scripts/fuzz.sh: no target $1 (targets: $all)" >&2; exit 2 ;;
    esac
    shift ;;
  esac
done
targets="${targets:-$all}"

if [ "$build" = yes ]; then
  cmake --preset fuzz >/dev/null
  cmake --build --preset fuzz
fi

# The longest input each target is given: a frame or datagram and its fragments, a record
# sequence, a request line, a rules file, a TOML file, a capture.
max_len() {
  case "$1" in
  frame) echo 4096 ;;
  reassembly | dataplane | pcap) echo 8192 ;;
  vsadm) echo 512 ;;
  *) echo 4096 ;;
  esac
}

out=build/fuzz
mkdir -p "$out/crashes" "$out/logs"
run_one() {
  target="$1"
  work="$out/corpus/$target"
  mkdir -p "$work"
  set -- -max_total_time="$time_per_target" -max_len="$(max_len "$target")" -timeout=10 \
    -print_final_stats=1 -artifact_prefix="$out/crashes/$target-"
  [ -f "fuzz/dict/$target.dict" ] && set -- "$@" -dict="fuzz/dict/$target.dict"
  # The seeds after the working corpus: libFuzzer writes new inputs into the first folder only.
  if "$out/fuzz/${target}_fuzz" "$@" "$work" "fuzz/corpus/$target" >"$out/logs/$target.log" 2>&1
  then status=ok; else status=CRASH; fi
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out/logs/$target.log" | tail -n 1)
  speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$out/logs/$target.log" | tail -n 1)
  printf '%-11s %-5s %10s executions %8s/s  %s\n' "$target" "$status" "${runs:-?}" "${speed:-?}" \
    "$out/logs/$target.log"
  [ "$status" = ok ]
}

echo "== fuzz: ${time_per_target}s per target, $jobs at a time"
failed=0
pids=""
for target in $targets; do
  run_one "$target" &
  pids="$pids $!"
  # shellcheck disable=SC2086
  set -- $pids
  if [ $# -ge "$jobs" ]; then
    # The oldest first: the targets run for the same time.
    wait "$1" || failed=1
    shift
    pids="$*"
  fi
done
for pid in $pids; do wait "$pid" || failed=1; done
if [ "$failed" -ne 0 ]; then
  echo "fuzz: a target crashed; the input is in $out/crashes/, the story in its log" >&2
  exit 1
fi
