// lblc.cpp: locality-based least connection, as ip_vs_lblc.c (spec section 6): each packet
// destination address (the VIP for a plain service) keeps the real server it was last given,
// until that server is gone, quiesced or overloaded in lblc's sense; then wlc picks a new one
// and the record is replaced.
#include <unordered_map>

#include "sched/dest_list.h"
#include "sched/locality.h"
#include "sched/scheduler.h"

namespace vsd {
namespace {

// The kernel also forgets records: a timer drops those unused for lblc_expiration (sysctl,
// 24 h by default), and those unused for 6 minutes once the table holds more than 16384. The
// interface has no clock, and tests must not sleep, so records here are never forgotten; a
// record only changes when its server is found unfit at a pick.
//
// A record holds the server's identity (address and port), as the kernel's holds a reference
// to it: a server deleted and added again comes back out of the kernel's trash as the same
// destination, so its records still hold.
class LocalityLeastConnection final : public Scheduler {
 public:
  // No add_dest/del_dest/upd_dest callbacks in ip_vs_lblc.c: a change touches no record.
  void on_change(std::span<const SchedDest>) override {}
  int pick(std::span<const SchedDest> dests, const FlowKey& flow) override;

 private:
  std::unordered_map<Ipv4, Endpoint> server_for_;  // keyed by the packet's destination address
};

int LocalityLeastConnection::pick(std::span<const SchedDest> dests, const FlowKey& flow) {
  const Ipv4 key = flow.virtual_addr.addr;
  if (auto it = server_for_.find(key); it != server_for_.end()) {
    // As ip_vs_lblc_schedule: the recorded server must still be in the list (the kernel's
    // IP_VS_DEST_F_AVAILABLE) with a positive weight, and not overloaded in lblc's sense. The
    // threshold flag (spec section 8) is not consulted here, unlike the spec's wording.
    const int at = index_of(dests, it->second);
    if (at >= 0 && dests[at].weight > 0 && !locality_overloaded(dests[at], dests)) return at;
  }
  const int at = least_overhead_per_weight(dests);
  if (at >= 0) server_for_[key] = dests[at].addr;
  return at;
}

}  // namespace

VSD_REGISTER_SCHEDULER("lblc", LocalityLeastConnection);

}  // namespace vsd
