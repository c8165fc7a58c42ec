// What lblc and lblcr share (ip_vs_lblc.c, ip_vs_lblcr.c; spec section 6): the weighted
// least-connection pick they fall back on, and their own sense of "overloaded", which is about
// active connections against weight, not the threshold flag of spec section 8.
#pragma once

#include <cstdint>
#include <span>

#include "sched/dest_list.h"
#include "sched/scheduler.h"

namespace vsd {

// __ip_vs_lblc_schedule / __ip_vs_lblcr_schedule: wlc's rule over the whole list. The first
// available destination is the candidate; a later one not flagged overloaded replaces it when
// the candidate carries strictly more overhead per weight. A weight-0 one can never replace it
// (candidate overhead * 0 > x is false), so skipping it changes nothing. -1 when none is
// available.
inline int least_overhead_per_weight(std::span<const SchedDest> dests) {
  int least = -1;
  uint64_t least_overhead = 0;
  for (std::size_t i = 0; i < dests.size(); ++i) {
    const SchedDest& dest = dests[i];
    if (!dest.available()) continue;
    const uint64_t overhead = conn_overhead(dest);
    if (least < 0 ||
        carries_more_per_weight(least_overhead, dests[least].weight, overhead, dest.weight)) {
      least = static_cast<int>(i);
      least_overhead = overhead;
    }
  }
  return least;
}

// is_overloaded of ip_vs_lblc.c and ip_vs_lblcr.c: more active connections than weight while
// some destination of the service (any, flagged or not) is below half its weight.
inline bool locality_overloaded(const SchedDest& dest, std::span<const SchedDest> dests) {
  if (dest.active <= dest.weight) return false;
  for (const SchedDest& other : dests)
    if (uint64_t{other.active} * 2 < other.weight) return true;
  return false;
}

}  // namespace vsd
