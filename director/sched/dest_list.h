// What several schedulers compute from a destination list: where a destination sits (found by
// its identity, address and port, as ip_vs_ctl.c ip_vs_lookup_dest does) and how loaded it is.
#pragma once

#include <cstdint>
#include <span>

#include "net/addr.h"
#include "sched/scheduler.h"

namespace vsd {

// Position of the destination at addr, or -1 when the list has none.
inline int index_of(std::span<const SchedDest> dests, const Endpoint& addr) {
  for (std::size_t i = 0; i < dests.size(); ++i)
    if (dests[i].addr == addr) return static_cast<int>(i);
  return -1;
}

// IPVS counts an active connection as 256 inactive ones (ip_vs.h ip_vs_dest_conn_overhead),
// the overhead of lc, wlc, lblc and lblcr. The kernel computes it in 32 bits, which wraps
// only past 2^23 active connections; 64 bits here give the same order below that.
inline uint64_t conn_overhead(const SchedDest& dest) {
  return (uint64_t{dest.active} << 8) + dest.inactive;
}

// Whether load_a / weight_a > load_b / weight_b, decided as wlc/sed/nq do, without division:
// load_a * weight_b > load_b * weight_a, strictly, so equal loads per weight keep a. The
// products are 128-bit so that no weight or count can overflow them (the kernel's are s64).
inline bool carries_more_per_weight(uint64_t load_a, uint32_t weight_a, uint64_t load_b,
                                    uint32_t weight_b) {
  using Wide = unsigned __int128;
  return Wide{load_a} * weight_b > Wide{load_b} * weight_a;
}

// The available destination whose overhead per weight is least, ties to the first in list
// order: wlc's rule (ip_vs_wlc.c), and sed's with overhead active + 1 (ip_vs_sed.c).
template <class Overhead>
int least_overhead_per_weight(std::span<const SchedDest> dests, Overhead overhead_of) {
  int least = -1;
  uint64_t least_overhead = 0;
  for (std::size_t i = 0; i < dests.size(); ++i) {
    const SchedDest& dest = dests[i];
    if (!dest.available()) continue;
    const uint64_t overhead = overhead_of(dest);
    if (least < 0 ||
        carries_more_per_weight(least_overhead, dests[least].weight, overhead, dest.weight)) {
      least = static_cast<int>(i);
      least_overhead = overhead;
    }
  }
  return least;
}

// sed's and nq's overhead: the connection in hand counts as one more active (ip_vs_sed.c).
inline uint64_t expected_delay_overhead(const SchedDest& dest) {
  return uint64_t{dest.active} + 1;
}

}  // namespace vsd
