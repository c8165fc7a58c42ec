// sed.cpp: shortest expected delay, as ip_vs_sed.c (spec section 6): wlc's rule with the
// overhead active + 1, inactive connections not counted: the first available destination is
// the candidate, a later one replaces it only on a strictly smaller (active + 1) / weight, so
// ties go to the first in list order (newest first).
#include "sched/dest_list.h"
#include "sched/scheduler.h"

namespace vsd {
namespace {

class ShortestExpectedDelay final : public Scheduler {
 public:
  void on_change(std::span<const SchedDest>) override {}
  int pick(std::span<const SchedDest> dests, const FlowKey&) override {
    // As in wlc, the kernel's later stage does not skip weight 0, which can never win anyway.
    int least = -1;
    uint64_t least_overhead = 0;
    for (std::size_t i = 0; i < dests.size(); ++i) {
      const SchedDest& dest = dests[i];
      if (!dest.available()) continue;
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

VSD_REGISTER_SCHEDULER("sed", ShortestExpectedDelay);

}  // namespace vsd
