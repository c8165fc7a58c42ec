#include "vsd/shared_scheduling.h"

#include <algorithm>

namespace vsd {

void SharedScheduler::on_change(std::span<const SchedDest> dests) {
  if (!teller_) return;
  std::lock_guard lock(core_->mutex);
  core_->scheduler->on_change(dests);
}

int SharedScheduler::pick(std::span<const SchedDest> dests, const FlowKey& flow, uint64_t now_ms) {
  std::lock_guard lock(core_->mutex);
  return pick_locked(dests, flow, now_ms);
}

int SharedScheduler::pick_locked(std::span<const SchedDest> dests, const FlowKey& flow,
                                 uint64_t now_ms) {
  core_->last_ms = std::max(core_->last_ms, now_ms);
  return core_->scheduler->pick(dests, flow, core_->last_ms);
}

namespace {

template <class Map>
void drop_expired(Map& map, std::size_t& prune_at, auto expired) {
  if (map.size() < prune_at) return;
  std::erase_if(map, [&](const auto& entry) { return expired(entry.second); });
  prune_at = std::max<std::size_t>(64, map.size() * 2);
}

}  // namespace

std::shared_ptr<SharedDestLoad> SharedScheduling::dest_load(const ServiceKey& service,
                                                            const IpEndpoint& addr) {
  std::lock_guard lock(mutex_);
  auto& slot = loads_[{service, addr}];
  if (auto existing = slot.lock()) return existing;
  auto made = std::make_shared<SharedDestLoad>();
  slot = made;
  drop_expired(loads_, loads_prune_at_, [](const auto& weak) { return weak.expired(); });
  return made;
}

std::unique_ptr<Scheduler> SharedScheduling::adopt(const ServiceKey& service,
                                                   std::unique_ptr<Scheduler> fresh,
                                                   uint64_t generation, bool leader) {
  if (!fresh) return fresh;
  std::lock_guard lock(mutex_);
  if (leader) {
    auto core = std::make_shared<Core>();
    core->scheduler = std::move(fresh);
    schedulers_[service] = Made{core, generation};
    drop_expired(schedulers_, schedulers_prune_at_, [](const Made& m) { return m.core.expired(); });
    return std::make_unique<SharedScheduler>(std::move(core), true);
  }
  auto it = schedulers_.find(service);
  if (it == schedulers_.end() || it->second.generation != generation) return fresh;
  auto core = it->second.core.lock();
  if (!core) return fresh;
  return std::make_unique<SharedScheduler>(std::move(core), false);
}

}  // namespace vsd
