// lc.cpp: least connection, as ip_vs_lc.c (spec section 6): the available destination with the
// least connection overhead, (active << 8) + inactive; weights other than 0 play no part. A
// tie goes to the first in list order (newest first).
#include "sched/dest_list.h"
#include "sched/scheduler.h"

namespace vsd {
namespace {

class LeastConnection final : public Scheduler {
 public:
  void on_change(std::span<const SchedDest>) override {}
  int pick(std::span<const SchedDest> dests, const FlowKey&, uint64_t) override {
    int least = -1;
    uint64_t least_overhead = 0;
    for (std::size_t i = 0; i < dests.size(); ++i) {
      if (!dests[i].available()) continue;
      const uint64_t overhead = conn_overhead(dests[i]);
      if (least < 0 || overhead < least_overhead) {
        least = static_cast<int>(i);
        least_overhead = overhead;
      }
    }
    return least;
  }
};

}  // namespace

VSD_REGISTER_SCHEDULER("lc", LeastConnection);

}  // namespace vsd
