// How every micro-benchmark here pairs a figure with its baseline: the baseline is timed in
// the same process right after the row, over as many items, and the row reports both and
// their ratio. The machines drift between a fast and a slow state within tens of seconds
// (docs/benchmarking.md), so the ratio is the figure to quote. Thread CPU time rather
// than wall-clock time: the two cores are shared, and another process's time slices land in
// the wall clock of whichever run they interrupt, not in its CPU time.
#pragma once

#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdint>
#include <ctime>

namespace vsd::perf {

inline double thread_cpu_ns() {
  timespec now{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return double(now.tv_sec) * 1e9 + double(now.tv_nsec);
}

// CPU nanoseconds per item of `run(items)`, which processes `items` items.
template <class Run>
double cpu_ns_per_item(uint64_t items, Run&& run) {
  const double start = thread_cpu_ns();
  run(items);
  return (thread_cpu_ns() - start) / double(std::max<uint64_t>(items, 1));
}

// The counters every paired row carries: cpu_ns (the row's CPU ns per item, as measured
// around its own loop), baseline_cpu_ns and x_baseline = cpu_ns / baseline_cpu_ns.
inline void report_paired(benchmark::State& state, double row_cpu_ns, double baseline_cpu_ns) {
  state.counters["cpu_ns"] = row_cpu_ns;
  state.counters["baseline_cpu_ns"] = baseline_cpu_ns;
  state.counters["x_baseline"] = row_cpu_ns / baseline_cpu_ns;
}

}  // namespace vsd::perf
