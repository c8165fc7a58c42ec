// wlc.cpp: weighted least connection, as ip_vs_wlc.c (spec section 6): the available
// destination with the least overhead per weight, overhead (active << 8) + inactive. The first
// available destination is the candidate; a later one replaces it only when the candidate's
// overhead * the later one's weight is strictly greater than the other way round, so ties go
// to the first in list order (newest first).
#include "sched/dest_list.h"
#include "sched/scheduler.h"

namespace vsd {
namespace {

class WeightedLeastConnection final : public Scheduler {
 public:
  void on_change(std::span<const SchedDest>) override {}
  int pick(std::span<const SchedDest> dests, const FlowKey&, uint64_t) override {
    // The kernel skips only overloaded destinations after the first candidate; a weight-0 one
    // could never replace it (candidate overhead * 0 > x is false), so skipping it is the same.
    return least_overhead_per_weight(dests, conn_overhead);
  }
};

}  // namespace

VSD_REGISTER_SCHEDULER("wlc", WeightedLeastConnection);

}  // namespace vsd
