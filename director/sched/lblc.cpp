// lblc.cpp: locality-based least connection, as ip_vs_lblc.c (spec section 6): each packet
// destination address (the VIP for a plain service) keeps the real server it was last given,
// until that server is gone, quiesced or overloaded in lblc's sense (its threshold flag does
// not count); then wlc picks a new one and the record is replaced. Records unused for a day
// (lblc_expiration) are forgotten, or for 6 minutes once the table holds too many
// (locality_table.h).
#include "sched/dest_list.h"
#include "sched/locality.h"
#include "sched/locality_table.h"
#include "sched/scheduler.h"

namespace vsd {
namespace {

// A record holds the server's identity (address and port), as the kernel's holds a reference
// to it: a server deleted and added again comes back out of the kernel's trash as the same
// destination, so its records still hold.
class LocalityLeastConnection final : public Scheduler {
 public:
  explicit LocalityLeastConnection(const SchedulerOptions& options)
      : records_(options.created_ms), expiration_(options.expiration) {}
  // No add_dest/del_dest/upd_dest callbacks in ip_vs_lblc.c: a change touches no record.
  void on_change(std::span<const SchedDest>) override {}
  int pick(std::span<const SchedDest> dests, const FlowKey& flow, uint64_t now_ms) override;

 private:
  LocalityTable<Endpoint> records_;  // keyed by the packet's destination address
  const LocalityExpiration* expiration_;
};

int LocalityLeastConnection::pick(std::span<const SchedDest> dests, const FlowKey& flow,
                                  uint64_t now_ms) {
  records_.run_timers(now_ms, expiration_ ? expiration_->lblc_ms.load(std::memory_order_relaxed)
                                          : LocalityExpiration::kDefaultMs);
  const Ipv4 key = flow.virtual_addr.addr;
  auto* record = records_.find(key);
  if (record) {
    // ip_vs_lblc_schedule marks the record used as soon as it finds it, fit or not. The
    // recorded server must still be in the list with a positive weight and not overloaded in
    // lblc's sense. Its upper-threshold flag is not consulted: Linux 6.1 gives a flagged
    // recorded server new connections (seen under qemu), although the flag keeps every other
    // scheduler, and lblc's own wlc fallback below, away from it.
    record->lastuse_ms = now_ms;
    const int at = index_of(dests, record->value);
    if (at >= 0 && dests[at].weight > 0 && !locality_overloaded(dests[at], dests)) return at;
  }
  const int at = least_overhead_per_weight(dests);
  if (at < 0) return -1;
  // ip_vs_lblc_new keeps a record that already names the server wlc chose.
  if (!record)
    records_.insert(key, dests[at].addr, now_ms);
  else if (record->value != dests[at].addr)
    records_.replace(*record, dests[at].addr, now_ms);
  return at;
}

}  // namespace

VSD_REGISTER_SCHEDULER("lblc", LocalityLeastConnection);

}  // namespace vsd
