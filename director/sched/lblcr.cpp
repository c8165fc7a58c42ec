// lblcr.cpp: locality-based least connection with replication, as ip_vs_lblcr.c (spec section
// 6): each packet destination address (the VIP for a plain service) keeps a set of real
// servers; a connection goes to the set member with the least overhead per weight, and when
// there is none fit, or it is overloaded in lblc's sense, wlc picks a server from the whole
// list and it joins the set.
#include <algorithm>
#include <unordered_map>
#include <vector>

#include "sched/dest_list.h"
#include "sched/locality.h"
#include "sched/scheduler.h"

namespace vsd {
namespace {

// The kernel shrinks a set of more than one member, dropping its most loaded member, when the
// set has not changed for lblcr_expiration (sysctl, 24 h by default; the spec's "6 minutes" is
// the ENTRY_TIMEOUT that drops whole unused entries once the table holds more than 16384), and
// drops entries unused for lblcr_expiration. The interface has no clock and tests must not
// sleep, so neither happens here: sets only grow.
//
// Members are held by identity (address and port), as the kernel holds references: a member
// deleted from the list stays in the set, unfit, and is fit again if the server is added back
// (the kernel takes it back out of its trash).
class LocalityLeastConnectionReplicated final : public Scheduler {
 public:
  // No add_dest/del_dest/upd_dest callbacks in ip_vs_lblcr.c: a change touches no set.
  void on_change(std::span<const SchedDest>) override {}
  int pick(std::span<const SchedDest> dests, const FlowKey& flow) override;

 private:
  // Newest member first: ip_vs_dest_set_insert adds at the head of the set's list.
  using ServerSet = std::vector<Endpoint>;

  static int least_loaded_member(const ServerSet& set, std::span<const SchedDest> dests);

  std::unordered_map<Ipv4, ServerSet> servers_for_;  // keyed by the packet's destination address
};

// ip_vs_dest_set_min: the first member that is in the list, not flagged overloaded and of
// positive weight is the candidate; a later member in the list and not flagged replaces it
// when the candidate carries strictly more overhead per weight (a weight-0 one never can).
int LocalityLeastConnectionReplicated::least_loaded_member(const ServerSet& set,
                                                           std::span<const SchedDest> dests) {
  int least = -1;
  uint64_t least_overhead = 0;
  for (const Endpoint& member : set) {
    const int at = index_of(dests, member);
    if (at < 0 || !dests[at].available()) continue;
    const uint64_t overhead = conn_overhead(dests[at]);
    if (least < 0 ||
        carries_more_per_weight(least_overhead, dests[least].weight, overhead, dests[at].weight)) {
      least = at;
      least_overhead = overhead;
    }
  }
  return least;
}

int LocalityLeastConnectionReplicated::pick(std::span<const SchedDest> dests, const FlowKey& flow) {
  const Ipv4 key = flow.virtual_addr.addr;
  auto it = servers_for_.find(key);
  if (it != servers_for_.end()) {
    const int member = least_loaded_member(it->second, dests);
    if (member >= 0 && !locality_overloaded(dests[member], dests)) return member;
  }
  const int at = least_overhead_per_weight(dests);
  if (at < 0) return -1;
  ServerSet& set = servers_for_[key];
  if (std::find(set.begin(), set.end(), dests[at].addr) == set.end())
    set.insert(set.begin(), dests[at].addr);
  return at;
}

}  // namespace

VSD_REGISTER_SCHEDULER("lblcr", LocalityLeastConnectionReplicated);

}  // namespace vsd
