// lblcr.cpp: locality-based least connection with replication, as ip_vs_lblcr.c (spec section
// 6): each packet destination address (the VIP for a plain service) keeps a set of real
// servers; a connection goes to the set member with the least overhead per weight, and when
// there is none fit, or it is overloaded in lblc's sense, wlc picks a server from the whole
// list and it joins the set. A set that has not changed for a day (lblcr_expiration) loses its most
// loaded member at its next use; whole sets are forgotten as lblc's records are (locality_table.h).
#include <algorithm>
#include <vector>

#include "sched/dest_list.h"
#include "sched/locality.h"
#include "sched/locality_table.h"
#include "sched/scheduler.h"

namespace vsd {
namespace {

// Members are held by identity (address and port), as the kernel holds references: a member
// deleted from the list stays in the set, unfit, and is fit again if the server is added back
// (the kernel takes it back out of its trash).
class LocalityLeastConnectionReplicated final : public Scheduler {
 public:
  explicit LocalityLeastConnectionReplicated(const SchedulerOptions& options)
      : sets_(options.created_ms), expiration_(options.expiration) {}
  // No add_dest/del_dest/upd_dest callbacks in ip_vs_lblcr.c: a change touches no set.
  void on_change(std::span<const SchedDest>) override {}
  int pick(std::span<const SchedDest> dests, const FlowKey& flow, uint64_t now_ms) override;

 private:
  struct Member {
    Endpoint addr;
    int at = -1;  // where it was in the list when last looked for
  };
  struct ServerSet {
    std::vector<Member> members;  // newest first: ip_vs_dest_set_insert adds at the head
    uint64_t lastmod_ms = 0;      // the last member added or removed
  };

  // Where the member is in dests, or -1. The list seldom changes, so where it was is tried
  // before the list is searched: searching for every member at every pick made a set that had
  // grown to 1024 members of a 1024-destination list cost about 80 us a pick (sched_bench).
  static int position_of(Member& member, std::span<const SchedDest> dests) {
    if (member.at < 0 || std::size_t(member.at) >= dests.size() ||
        dests[member.at].addr != member.addr)
      member.at = index_of(dests, member.addr);
    return member.at;
  }
  static int least_loaded_member(ServerSet& set, std::span<const SchedDest> dests);
  static int most_loaded_member(ServerSet& set, std::span<const SchedDest> dests);

  using Sets = LocalityTable<ServerSet>;
  Sets sets_;  // keyed by the packet's destination address
  const LocalityExpiration* expiration_;
};

// ip_vs_dest_set_min: the first member that is in the list, not flagged overloaded and of
// positive weight is the candidate; a later member in the list and not flagged replaces it
// when the candidate carries strictly more overhead per weight (a weight-0 one never can).
// An index into dests, or -1.
int LocalityLeastConnectionReplicated::least_loaded_member(ServerSet& set,
                                                           std::span<const SchedDest> dests) {
  int least = -1;
  uint64_t least_overhead = 0;
  for (Member& member : set.members) {
    const int at = position_of(member, dests);
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

// ip_vs_dest_set_max: the first member of positive weight is the candidate, and a later one of
// positive weight replaces it when it carries strictly more overhead per weight; the threshold
// flag does not matter. The kernel also weighs members deleted from the list, by the weight
// and counters they keep in its trash; those are not in dests, so they are passed over here.
// An index into set.members, or -1.
int LocalityLeastConnectionReplicated::most_loaded_member(ServerSet& set,
                                                          std::span<const SchedDest> dests) {
  int most = -1;
  const SchedDest* most_dest = nullptr;
  for (std::size_t i = 0; i < set.members.size(); ++i) {
    const int at = position_of(set.members[i], dests);
    if (at < 0 || dests[at].weight == 0) continue;
    const SchedDest& dest = dests[at];
    if (!most_dest || carries_more_per_weight(conn_overhead(dest), dest.weight,
                                              conn_overhead(*most_dest), most_dest->weight)) {
      most = static_cast<int>(i);
      most_dest = &dest;
    }
  }
  return most;
}

int LocalityLeastConnectionReplicated::pick(std::span<const SchedDest> dests, const FlowKey& flow,
                                            uint64_t now_ms) {
  const int64_t expiration_ms = expiration_ ? expiration_->lblcr_ms.load(std::memory_order_relaxed)
                                            : LocalityExpiration::kDefaultMs;
  sets_.run_timers(now_ms, expiration_ms);
  const Ipv4 key = flow.virtual_addr.addr;
  auto* record = sets_.find(key);
  if (!record) {
    const int at = least_overhead_per_weight(dests);
    if (at >= 0) sets_.insert(key, ServerSet{{Member{dests[at].addr, at}}, now_ms}, now_ms);
    return at;
  }
  record->lastuse_ms = now_ms;
  ServerSet& set = record->value;
  // ip_vs_lblcr_schedule chooses the member before it shrinks the set, so the member it then
  // returns may be the very one it just removed (with equal loads, both rules take the first).
  const int member = least_loaded_member(set, dests);
  // time_after: strictly more than lblcr_expiration since the set last changed.
  if (set.members.size() > 1 &&
      static_cast<int64_t>(now_ms) > static_cast<int64_t>(set.lastmod_ms) + expiration_ms) {
    if (const int most = most_loaded_member(set, dests); most >= 0) {
      set.members.erase(set.members.begin() + most);
      set.lastmod_ms = now_ms;
    }
  }
  if (member >= 0 && !locality_overloaded(dests[member], dests)) return member;
  const int at = least_overhead_per_weight(dests);
  if (at < 0) return -1;
  const auto is_chosen = [&](const Member& m) { return m.addr == dests[at].addr; };
  if (std::none_of(set.members.begin(), set.members.end(), is_chosen)) {
    set.members.insert(set.members.begin(), Member{dests[at].addr, at});
    set.lastmod_ms = now_ms;
  }
  return at;
}

}  // namespace

VSD_REGISTER_SCHEDULER("lblcr", LocalityLeastConnectionReplicated);

}  // namespace vsd
