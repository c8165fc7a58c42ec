// nq.cpp: never queue, as ip_vs_nq.c (spec section 6): the first available destination in
// list order (newest first) with no active connection wins at once, whatever its weight and
// inactive count; when every one is busy, sed's rule: the least (active + 1) / weight, ties to
// the first.
#include "sched/dest_list.h"
#include "sched/scheduler.h"

namespace vsd {
namespace {

class NeverQueue final : public Scheduler {
 public:
  void on_change(std::span<const SchedDest>) override {}
  int pick(std::span<const SchedDest> dests, const FlowKey&, uint64_t) override {
    // An idle available destination wins at once (ip_vs_nq.c); otherwise the sed rule.
    for (std::size_t i = 0; i < dests.size(); ++i)
      if (dests[i].available() && dests[i].active == 0) return static_cast<int>(i);
    return least_overhead_per_weight(dests, expected_delay_overhead);
  }
};

}  // namespace

VSD_REGISTER_SCHEDULER("nq", NeverQueue);

}  // namespace vsd
