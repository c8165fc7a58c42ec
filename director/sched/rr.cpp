// rr.cpp: round robin, as ip_vs_rr.c (spec section 6): a cursor walks the destination list,
// newest first, and each new connection goes to the next available destination after it,
// wrapping round to the head.
#include <optional>

#include "sched/dest_list.h"
#include "sched/scheduler.h"

namespace vsd {
namespace {

// The kernel's cursor is a pointer into the list: the list head itself at first, then the
// destination last picked. Adding a destination leaves it alone. Deleting the destination
// under it makes ip_vs_rr_del_dest step it back to the deleted one's predecessor (or the list
// head when the deleted one was first), so the next scan starts with the deleted one's
// successor: the spec's "the cursor moves to its successor".
//
// We are handed a fresh span each time, so the cursor is kept by identity, together with the
// identity of its predecessor, refreshed on every change and every pick. When the cursor has
// gone from the list, the predecessor recorded before that change is where the kernel's
// cursor now is. This holds because the caller reports changes one at a time; should two
// deletions ever arrive in one on_change and take both, the cursor falls back to the head.
class RoundRobin final : public Scheduler {
 public:
  void on_change(std::span<const SchedDest> dests) override { find_cursor(dests); }
  int pick(std::span<const SchedDest> dests, const FlowKey& flow, uint64_t) override;

 private:
  static constexpr int kHead = -1;

  // Position of the cursor in dests (kHead for the list head), after following a deletion.
  int find_cursor(std::span<const SchedDest> dests);
  void set_cursor(std::span<const SchedDest> dests, int at);

  std::optional<Endpoint> cursor_;         // empty: the list head
  std::optional<Endpoint> before_cursor_;  // empty: the cursor is first, or is the head
};

int RoundRobin::find_cursor(std::span<const SchedDest> dests) {
  if (!cursor_) return kHead;
  int at = index_of(dests, *cursor_);
  if (at < 0) at = before_cursor_ ? index_of(dests, *before_cursor_) : kHead;
  set_cursor(dests, at);
  return at;
}

void RoundRobin::set_cursor(std::span<const SchedDest> dests, int at) {
  cursor_.reset();
  before_cursor_.reset();
  if (at == kHead) return;
  cursor_ = dests[at].addr;
  if (at > 0) before_cursor_ = dests[at - 1].addr;
}

int RoundRobin::pick(std::span<const SchedDest> dests, const FlowKey&, uint64_t) {
  const int count = static_cast<int>(dests.size());
  const int cursor = find_cursor(dests);
  // From the head: every destination once. From a destination: the ones after it, then from
  // the head round to the cursor itself, which is tried last.
  for (int step = 1; step <= count; ++step) {
    const int at = (cursor + step) % count;
    if (dests[at].available()) {
      set_cursor(dests, at);
      return at;
    }
  }
  return -1;  // the cursor stays where it was
}

}  // namespace

VSD_REGISTER_SCHEDULER("rr", RoundRobin);

}  // namespace vsd
