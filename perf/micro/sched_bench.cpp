// sched_bench.cpp: what one scheduling decision costs, for every registered scheduler at 3, 64
// and 1024 destinations. Each run also times a baseline right after itself, in the same process,
// and reports the ratio (x_baseline): the machines drift between a fast and a slow state
// (docs/benchmarking.md), so ratios compare across runs and nanoseconds do not. The
// ratio is of the thread's CPU time, which other processes on the two shared cores do not
// inflate the way they inflate wall-clock time.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdint>
#include <ctime>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "sched/scheduler.h"

namespace vsd {
namespace {

// Distinct flows visited in turn, so that a hashing scheduler sees a new key at every decision
// and its table from all over, not one hot line.
constexpr uint64_t kFlows = 1u << 16;
// The clock the schedulers are given moves 1 ms per this many decisions (about a million new
// connections a second), which lets lblc's and lblcr's timers come round in a long run.
constexpr unsigned kDecisionsPerMsShift = 10;
// Decisions made before the timing starts.
constexpr uint64_t kWarmupDecisionsPerServer = 4;
// A baseline run times at least this many decisions, however few the run it follows.
constexpr uint64_t kMinBaselineDecisions = 1u << 16;

// One service as its scheduler sees it, with connections coming and going: each decision opens
// a connection on the destination picked and closes the one opened as many decisions ago as
// there are destinations. Loads stay level instead of growing until ovf finds every server
// overflowed and lblc's records never move.
class Workload {
 public:
  // Weights 1, or 1, 2, 3, 4 round the list with spread_weights. Flows come from 10.128.0.0
  // upwards, one address each, to the VIP 192.168.1.100:80, or with vips > 1 to as many VIPs
  // round robin (a firewall-mark service covering a network, lblc's intended use).
  Workload(std::size_t servers, bool spread_weights, std::size_t vips)
      : dests_(servers), flows_(kFlows), in_flight_(servers, -1) {
    for (std::size_t i = 0; i < servers; ++i) {
      dests_[i].addr = Endpoint{Ipv4::from_host(0x0a010001u + uint32_t(i)), 80};
      dests_[i].weight = spread_weights ? uint32_t(1 + i % 4) : 1;
    }
    for (uint64_t i = 0; i < kFlows; ++i) {
      const auto client = Ipv4::from_host(0x0a800000u + uint32_t(i));
      const auto vip = Ipv4::from_host(0xc0a80164u + uint32_t(i % vips));
      flows_[i] =
          FlowKey{Proto::Tcp, Endpoint{client, uint16_t(1024 + i % 60000)}, Endpoint{vip, 80}};
    }
  }

  std::span<const SchedDest> dests() const { return dests_; }
  const FlowKey& flow(uint64_t decision) const { return flows_[decision & (kFlows - 1)]; }

  void open_connection(int picked) {
    int& oldest = in_flight_[next_];
    if (oldest >= 0) dests_[oldest].active--;
    oldest = picked;
    if (picked >= 0) dests_[picked].active++;
    next_ = next_ + 1 == in_flight_.size() ? 0 : next_ + 1;
  }

 private:
  std::vector<SchedDest> dests_;
  std::vector<FlowKey> flows_;
  std::vector<int> in_flight_;  // ring of the destinations of the open connections
  std::size_t next_ = 0;
};

// The least a decision costs through the interface: one virtual call that hashes the client
// address (hash_32's multiplier, as the kernel's tables) onto a destination, with no state.
class FlowHashBaseline final : public Scheduler {
 public:
  void on_change(std::span<const SchedDest>) override {}
  int pick(std::span<const SchedDest> dests, const FlowKey& flow, uint64_t) override {
    const uint32_t hash = flow.client.addr.value * 0x61C88647u;
    return static_cast<int>((uint64_t{hash} * dests.size()) >> 32);
  }
};

double thread_cpu_ns() {
  timespec now{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return double(now.tv_sec) * 1e9 + double(now.tv_nsec);
}

// The loop every figure comes from, so that a scheduler and its baseline are timed alike.
void decide(Scheduler& scheduler, Workload& load, uint64_t decision) {
  const int picked =
      scheduler.pick(load.dests(), load.flow(decision), decision >> kDecisionsPerMsShift);
  benchmark::DoNotOptimize(picked);
  load.open_connection(picked);
}

double baseline_ns(std::size_t servers, std::size_t vips, uint64_t decisions) {
  Workload load(servers, false, vips);
  std::unique_ptr<Scheduler> baseline = std::make_unique<FlowHashBaseline>();
  benchmark::DoNotOptimize(baseline.get());  // keep the call virtual, as a scheduler's is
  decisions = std::max(decisions, kMinBaselineDecisions);
  const double start = thread_cpu_ns();
  for (uint64_t i = 0; i < decisions; ++i) decide(*baseline, load, i);
  return (thread_cpu_ns() - start) / double(decisions);
}

void BM_baseline_flow_hash(benchmark::State& state, std::size_t servers) {
  Workload load(servers, false, 1);
  std::unique_ptr<Scheduler> baseline = std::make_unique<FlowHashBaseline>();
  benchmark::DoNotOptimize(baseline.get());
  uint64_t decision = 0;
  for (auto _ : state) decide(*baseline, load, decision++);
  state.SetItemsProcessed(int64_t(state.iterations()));
}

void BM_pick(benchmark::State& state, const std::string& name, std::size_t servers,
             std::size_t vips) {
  // wrr with equal weights is rr; a spread makes it step its current weight down.
  Workload load(servers, name == "wrr", vips);
  auto scheduler = make_scheduler(name, SchedulerOptions{});
  if (!scheduler) return state.SkipWithError("no such scheduler");
  scheduler->on_change(load.dests());
  // Until the state settles (lblcr's sets grow by a member whenever their least loaded one is
  // overloaded), so that the figure does not depend on how many decisions the run makes.
  uint64_t decision = 0;
  for (; decision < kWarmupDecisionsPerServer * servers; ++decision)
    decide(*scheduler, load, decision);
  const uint64_t warm = decision;
  const double start = thread_cpu_ns();
  for (auto _ : state) decide(*scheduler, load, decision++);
  const uint64_t timed = std::max<uint64_t>(decision - warm, 1);
  const double pick_ns = (thread_cpu_ns() - start) / double(timed);
  const double base_ns = baseline_ns(servers, vips, timed);
  state.SetItemsProcessed(int64_t(state.iterations()));
  state.counters["baseline_cpu_ns"] = base_ns;
  state.counters["x_baseline"] = pick_ns / base_ns;
}

}  // namespace
}  // namespace vsd

int main(int argc, char** argv) {
  const std::vector<std::size_t> sizes{3, 64, 1024};
  for (std::size_t servers : sizes)
    benchmark::RegisterBenchmark(("BM_baseline_flow_hash/" + std::to_string(servers)).c_str(),
                                 vsd::BM_baseline_flow_hash, servers);
  for (const std::string& name : vsd::scheduler_names())
    for (std::size_t servers : sizes)
      benchmark::RegisterBenchmark(("BM_pick/" + name + "/" + std::to_string(servers)).c_str(),
                                   vsd::BM_pick, name, servers, std::size_t{1});
  // The schedulers keyed by the packet's destination address, over many of them.
  for (const std::string name : {"dh", "lblc", "lblcr"})
    for (std::size_t servers : sizes)
      benchmark::RegisterBenchmark(
          ("BM_pick/" + name + "/" + std::to_string(servers) + "/vips:4096").c_str(), vsd::BM_pick,
          name, servers, std::size_t{4096});
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
