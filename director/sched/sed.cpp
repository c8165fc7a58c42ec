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
  int pick(std::span<const SchedDest> dests, const FlowKey&, uint64_t) override {
    // As in wlc, the kernel's later stage does not skip weight 0, which can never win anyway.
    return least_overhead_per_weight(dests, expected_delay_overhead);
  }
};

}  // namespace

VSD_REGISTER_SCHEDULER("sed", ShortestExpectedDelay);

}  // namespace vsd
