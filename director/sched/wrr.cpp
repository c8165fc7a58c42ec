// wrr.cpp: weighted round robin, as ip_vs_wrr.c (spec section 6): passes over the destination
// list, newest first, with a current weight cw that steps down by the gcd of the weights;
// a pass takes the available destinations whose weight is at least cw. Every add, delete or
// edit of a destination sends the cursor back to the list head and recomputes the steps.
#include <algorithm>
#include <cstdint>
#include <numeric>
#include <optional>

#include "sched/dest_list.h"
#include "sched/scheduler.h"

namespace vsd {
namespace {

class WeightedRoundRobin final : public Scheduler {
 public:
  void on_change(std::span<const SchedDest> dests) override;
  int pick(std::span<const SchedDest> dests, const FlowKey& flow, uint64_t) override;

 private:
  static constexpr int kHead = -1;

  // First destination from index from on that a pass at the current cw takes, or -1.
  int first_taken(std::span<const SchedDest> dests, int from) const;
  void step_down();
  void give_up(bool from_mid_list);

  // The kernel's cl: the destination last picked, empty for the list head. No change of the
  // list happens between two picks without on_change resetting it, so its identity is enough.
  std::optional<Endpoint> cursor_;
  int64_t cw_ = 0;  // current weight
  int64_t mw_ = 0;  // largest weight - (di - 1): the first cw of a round, so the last one is 1
  int64_t di_ = 1;  // gcd of the positive weights (1 when there are none): cw's step
};

// Starting from nothing (cw 0, list head), this is also what ip_vs_wrr_init_svc sets up for a
// service that already has destinations, so a fresh scheduler needs one on_change only.
void WeightedRoundRobin::on_change(std::span<const SchedDest> dests) {
  int64_t gcd = 0;
  int64_t largest = 0;
  for (const SchedDest& dest : dests) {
    const int64_t weight = dest.weight;
    if (weight > 0) gcd = gcd > 0 ? std::gcd(gcd, weight) : weight;
    largest = std::max(largest, weight);
  }
  cursor_.reset();
  di_ = gcd > 0 ? gcd : 1;
  mw_ = largest - (di_ - 1);
  // A cw left over from the old weights is kept where it still makes sense: clamped to the new
  // mw, and moved onto the new grid of steps (mw, mw - di, ... 1 are all 1 modulo di).
  if (cw_ > mw_ || cw_ == 0)
    cw_ = mw_;
  else if (di_ > 1)
    cw_ = cw_ / di_ * di_ + 1;
}

int WeightedRoundRobin::first_taken(std::span<const SchedDest> dests, int from) const {
  for (int at = from; at < static_cast<int>(dests.size()); ++at)
    if (!dests[at].overloaded && int64_t{dests[at].weight} >= cw_) return at;
  return -1;
}

// The end of the list: the next pass is at a lower weight, or the round starts again.
void WeightedRoundRobin::step_down() {
  cw_ -= di_;
  if (cw_ <= 0) cw_ = mw_;
}

// The kernel scans pass by pass until it takes a destination, which can cost mw / di passes
// over the list when the heavy destinations are overloaded. The outcome is known without
// them: the destinations after the cursor at the current cw; failing that, passes from the
// head at cw, cw - di, ... (back to mw at 0 or below), of which every one above the largest
// available weight is empty and the first one at or below it takes the first destination it can.
// The kernel's early stop on coming back round to the cursor (ip_vs_wrr.c, `stop`) never cuts such
// a pass short: that happens only after a last pass (cw <= di) over the destinations after the
// cursor found nothing, and then everything available lies before the cursor anyway.
int WeightedRoundRobin::pick(std::span<const SchedDest> dests, const FlowKey&, uint64_t) {
  if (mw_ == 0) return -1;  // no positive weight; the cursor stays
  int last = cursor_ ? index_of(dests, *cursor_) : kHead;
  if (last < 0) last = kHead;  // only if a change went unreported
  int64_t top = 0;             // the largest weight that can be taken now
  for (const SchedDest& dest : dests)
    if (dest.available()) top = std::max(top, int64_t{dest.weight});
  if (top == 0) {
    give_up(last != kHead);
    return -1;
  }
  int at = -1;
  if (last != kHead) {
    at = first_taken(dests, last + 1);
    if (at < 0) step_down();
  }
  if (at < 0) {
    // Every weight is a multiple of di (their gcd), so top >= di: counting down to it never
    // wraps.
    if (cw_ > top) cw_ -= (cw_ - top + di_ - 1) / di_ * di_;
    at = first_taken(dests, 0);
  }
  if (at >= 0) cursor_ = dests[at].addr;
  return at;
}

// Nothing can be taken. The kernel gives up once a last pass (cw <= di) has tried every
// destination, and later picks start from what it leaves behind. A search from the head, or
// from mid-list at cw above di, runs down to its last pass and wraps: the cursor ends at the
// head and cw at mw. A search from mid-list at cw <= di wraps at once, counts down from mw to
// its last pass and stops on coming back to the cursor: the cursor stays and cw is the first
// value <= di counting down from mw.
void WeightedRoundRobin::give_up(bool from_mid_list) {
  if (from_mid_list && cw_ <= di_) {
    cw_ = (mw_ - 1) % di_ + 1;
    return;
  }
  cursor_.reset();
  cw_ = mw_;
}

}  // namespace

VSD_REGISTER_SCHEDULER("wrr", WeightedRoundRobin);

}  // namespace vsd
