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
  int pick(std::span<const SchedDest> dests, const FlowKey&) override {
    int least = -1;
    uint64_t least_overhead = 0;
    for (std::size_t i = 0; i < dests.size(); ++i) {
      const SchedDest& dest = dests[i];
      if (!dest.available()) continue;
      if (dest.active == 0) return static_cast<int>(i);
      const uint64_t overhead = uint64_t{dest.active} + 1;
      if (least < 0 ||
          carries_more_per_weight(least_overhead, dests[least].weight, overhead, dest.weight)) {
        least = static_cast<int>(i);
        least_overhead = overhead;
      }
    }
    return least;
  }
};

}  // namespace

VSD_REGISTER_SCHEDULER("nq", NeverQueue);

}  // namespace vsd
