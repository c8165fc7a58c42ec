// vsd --workers N (docs/design.md, "More than one core"): what the workers share so that
// scheduling is exact across them, as kernel IPVS schedules from one state for all CPUs. Per
// destination, the director's counts (SharedDestLoad, written by each worker's connection
// table when a connection is counted, read by the schedulers and the thresholds); per
// service, one scheduler, taken under a lock by whichever worker schedules a new connection
// (the kernel's per-service lock of rr and wrr). Nothing here is touched by a packet of a
// connection that exists. Objects are found at install time, under a lock of this registry:
// the first worker to commit a rule set makes them, the others adopt them.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <utility>

#include "config/rules.h"
#include "conn/table.h"
#include "sched/scheduler.h"

namespace vsd {

// One worker's handle on a service's shared scheduler. The data plane takes mutex() around a
// whole new connection's choice (the view of the counts, pick_locked, the count of the
// connection it makes), so that two workers' new connections are counted in the order they
// are scheduled, as one director's are.
class SharedScheduler final : public Scheduler {
 public:
  struct Core {
    std::mutex mutex;
    std::unique_ptr<Scheduler> scheduler;
    // The workers read the clock before they take the lock, so a pick may come with a time a
    // little before the last one's; lblc and lblcr age by it and expect it never to go back.
    uint64_t last_ms = 0;
  };
  SharedScheduler(std::shared_ptr<Core> core, bool teller)
      : core_(std::move(core)), teller_(teller) {}
  // Every worker commits each change; the scheduler hears it once, from the teller.
  void on_change(std::span<const SchedDest> dests) override;
  int pick(std::span<const SchedDest> dests, const FlowKey& flow, uint64_t now_ms) override;
  std::mutex& mutex() { return core_->mutex; }
  // pick() with mutex() held by the caller.
  int pick_locked(std::span<const SchedDest> dests, const FlowKey& flow, uint64_t now_ms);

 private:
  std::shared_ptr<Core> core_;
  bool teller_;
};

class SharedScheduling {
 public:
  // The director's counts of the destination `addr` of `service`: the same object for every
  // worker while any keeps one, as the kernel keeps one ip_vs_dest (its trash included).
  std::shared_ptr<SharedDestLoad> dest_load(const ServiceKey& service, const IpEndpoint& addr);

  // A scheduler the service's runtime on one worker uses in place of `fresh`. The leader
  // (worker 0, which commits each rule set first) makes the shared one from `fresh` and is the
  // one that tells it of destination changes; another worker committing the same rule set
  // (the same `generation`) gets that one, and `fresh` is dropped. A worker whose generation
  // does not match keeps `fresh` for itself (it schedules exactly per worker only).
  std::unique_ptr<Scheduler> adopt(const ServiceKey& service, std::unique_ptr<Scheduler> fresh,
                                   uint64_t generation, bool leader);

  using Core = SharedScheduler::Core;

 private:
  struct DestKeyHash {
    std::size_t operator()(const std::pair<ServiceKey, IpEndpoint>& k) const noexcept {
      return ServiceKeyHash{}(k.first) ^ ((hash_of(k.second.addr) ^ k.second.port) << 1);
    }
  };
  std::mutex mutex_;
  std::unordered_map<std::pair<ServiceKey, IpEndpoint>, std::weak_ptr<SharedDestLoad>, DestKeyHash>
      loads_;
  struct Made {
    std::weak_ptr<Core> core;
    uint64_t generation = 0;
  };
  std::unordered_map<ServiceKey, Made, ServiceKeyHash> schedulers_;
  // Entries whose objects are gone are dropped once the maps reach these sizes.
  std::size_t loads_prune_at_ = 64;
  std::size_t schedulers_prune_at_ = 64;
};

}  // namespace vsd
