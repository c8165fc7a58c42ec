// twos.cpp: weighted power of two choices, as ip_vs_twos.c (spec section 6; Mitzenmacher, "The
// Power of Two Random Choices"): two destinations are drawn at random in proportion to their
// weights, and the one with less overhead per weight gets the connection, the first drawn on a
// tie. Overhead is (active << 8) + inactive, as wlc's.
#include <algorithm>
#include <random>

#include "sched/dest_list.h"
#include "sched/twos.h"

namespace vsd {

// Draw r in [0, T), T = 1 + the available weight; walking the list, each available weight is
// taken off r, and the destination that brings it to 0 or below is the draw's. r = 0 is there
// at the first available destination as well as r = 1 .. its weight, so the first gets one
// chance in T more than its weight, the others exactly theirs, as in the kernel.
int twos_choose(std::span<const SchedDest> dests, uint32_t random1, uint32_t random2) {
  uint64_t total = 0;
  for (const SchedDest& dest : dests)
    if (dest.available()) total += dest.weight;
  if (total == 0) return -1;
  total += 1;
  int64_t left1 = random1 % total;
  int64_t left2 = random2 % total;
  int choice1 = -1, choice2 = -1;
  for (std::size_t i = 0; i < dests.size() && (choice1 < 0 || choice2 < 0); ++i) {
    if (!dests[i].available()) continue;
    left1 -= dests[i].weight;
    left2 -= dests[i].weight;
    if (left1 <= 0 && choice1 < 0) choice1 = static_cast<int>(i);
    if (left2 <= 0 && choice2 < 0) choice2 = static_cast<int>(i);
  }
  // The second replaces the first only when weight2 * overhead1 > weight1 * overhead2.
  const SchedDest& first = dests[choice1];
  const SchedDest& second = dests[choice2];
  if (carries_more_per_weight(conn_overhead(first), first.weight, conn_overhead(second),
                              second.weight))
    return choice2;
  return choice1;
}

namespace {

class PowerOfTwoChoices final : public Scheduler {
 public:
  PowerOfTwoChoices() : random_(std::random_device{}()) {}
  explicit PowerOfTwoChoices(uint32_t seed) : random_(seed) {}
  void on_change(std::span<const SchedDest>) override {}  // no state but the generator
  int pick(std::span<const SchedDest> dests, const FlowKey&, uint64_t) override {
    // As the kernel, two words are drawn only when something is available.
    if (std::none_of(dests.begin(), dests.end(), [](const SchedDest& d) { return d.available(); }))
      return -1;
    const uint32_t random1 = random_();
    const uint32_t random2 = random_();
    return twos_choose(dests, random1, random2);
  }

 private:
  std::mt19937 random_;
};

}  // namespace

std::unique_ptr<Scheduler> make_seeded_twos(uint32_t seed) {
  return std::make_unique<PowerOfTwoChoices>(seed);
}

VSD_REGISTER_SCHEDULER("twos", PowerOfTwoChoices);

}  // namespace vsd
