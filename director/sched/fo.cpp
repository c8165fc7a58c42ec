// fo.cpp: weighted fail over, as ip_vs_fo.c (spec section 6): every new connection goes to the
// available destination with the highest weight, however loaded; a tie goes to the first in
// list order (newest first).
#include "sched/scheduler.h"

namespace vsd {
namespace {

class FailOver final : public Scheduler {
 public:
  void on_change(std::span<const SchedDest>) override {}
  int pick(std::span<const SchedDest> dests, const FlowKey&, uint64_t) override {
    int heaviest = -1;
    uint32_t heaviest_weight = 0;  // weight 0 never beats it: quiescent servers get nothing
    for (std::size_t i = 0; i < dests.size(); ++i) {
      if (dests[i].overloaded || dests[i].weight <= heaviest_weight) continue;
      heaviest = static_cast<int>(i);
      heaviest_weight = dests[i].weight;
    }
    return heaviest;
  }
};

}  // namespace

VSD_REGISTER_SCHEDULER("fo", FailOver);

}  // namespace vsd
