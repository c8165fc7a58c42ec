// A rule change among N services, its two halves apart: prepare() (the control thread's, grows
// with the rules) and commit() (the data plane's, should not). Each row times one change per
// iteration, alternately a service added and removed, so N stays; the row's time is commit()'s
// thread CPU time, and prepare_us is the control thread's. Paired (perf/micro/paired.h) with
// the same change's commit among 100 services, timed right after in the same process:
// x_baseline near 1 says the data plane's part does not grow with the rules.
#include <benchmark/benchmark.h>

#include <string>

#include "conn/table.h"
#include "paired.h"
#include "vsd/services.h"

namespace vsd {
namespace {

RuleSet services_of(uint32_t n) {
  RuleSet rules;
  rules.services.reserve(n + 1);
  for (uint32_t i = 0; i < n; ++i) {
    Service s;
    s.key = {Proto::Udp, Endpoint{Ipv4{0x0a150000 + i / 250 + 1}, uint16_t(1000 + i % 250)}, 0};
    s.scheduler = "rr";
    s.destinations = {{Endpoint{Ipv4{0xc0a80a0c}, uint16_t(1000 + i % 250)}, Method::Nat, 1, 0, 0}};
    rules.services.push_back(std::move(s));
  }
  return rules;
}

// One service added (even steps) or removed (odd ones) among n; CPU ns of prepare and commit,
// summed over `changes` changes.
struct Times {
  double prepare_ns = 0, commit_ns = 0;
};
Times change_times(uint32_t n, uint64_t changes) {
  ConnTable conns(ConnTableConfig{1024, 1u << 20});
  Services services(conns);
  RuleSet rules = services_of(n);
  if (!services.install(rules).empty()) return {};
  Service extra;
  extra.key = {Proto::Tcp, Endpoint{Ipv4{0x0a160001}, 80}, 0};
  extra.scheduler = "wrr";
  extra.destinations = {{Endpoint{Ipv4{0xc0a80a0d}, 80}, Method::Nat, 1, 0, 0}};
  Times t;
  for (uint64_t i = 0; i < changes; ++i) {
    if (i % 2 == 0)
      rules.services.push_back(extra);
    else
      rules.services.pop_back();
    double start = perf::thread_cpu_ns();
    PreparedServices plan = services.prepare(rules);
    t.prepare_ns += perf::thread_cpu_ns() - start;
    start = perf::thread_cpu_ns();
    const std::string error = services.commit(plan);
    t.commit_ns += perf::thread_cpu_ns() - start;
    benchmark::DoNotOptimize(error);
  }
  return t;
}

void BM_ChangeAmong(benchmark::State& state) {
  const auto n = uint32_t(state.range(0));
  constexpr uint64_t kChanges = 10;
  Times row, baseline;
  for (auto _ : state) {
    row = change_times(n, kChanges);
    baseline = change_times(100, kChanges);
    state.SetIterationTime(row.commit_ns / 1e9 / kChanges);
  }
  perf::report_paired(state, row.commit_ns / kChanges, baseline.commit_ns / kChanges);
  state.counters["prepare_us"] = row.prepare_ns / kChanges / 1e3;
  state.counters["commit_us"] = row.commit_ns / kChanges / 1e3;
}
BENCHMARK(BM_ChangeAmong)
    ->Arg(100)
    ->Arg(10000)
    ->Arg(100000)
    ->UseManualTime()
    ->Iterations(1)
    ->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace vsd

BENCHMARK_MAIN();
