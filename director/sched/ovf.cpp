// ovf.cpp: overflow, as ip_vs_ovf.c (spec section 6): the highest-weight available destination
// that has not yet overflowed, active <= weight, so a weight-w server takes w + 1 active
// connections before the next one gets any; a tie goes to the first in list order (newest
// first). Inactive connections are not counted.
#include "sched/scheduler.h"

namespace vsd {
namespace {

class Overflow final : public Scheduler {
 public:
  void on_change(std::span<const SchedDest>) override {}
  int pick(std::span<const SchedDest> dests, const FlowKey&, uint64_t) override {
    int heaviest = -1;
    for (std::size_t i = 0; i < dests.size(); ++i) {
      const SchedDest& dest = dests[i];
      if (!dest.available() || dest.active > dest.weight) continue;
      if (heaviest < 0 || dest.weight > dests[heaviest].weight) heaviest = static_cast<int>(i);
    }
    return heaviest;
  }
};

}  // namespace

VSD_REGISTER_SCHEDULER("ovf", Overflow);

}  // namespace vsd
