#include "io/neighbours.h"

#include <algorithm>

namespace vsd {

void NeighbourTable::request(int port, Ipv4 target, Entry& e, uint64_t now_ms,
                             std::vector<Request>& to_send) {
  e.last_request_ms = now_ms;
  e.requests++;
  counters_.requests_sent++;
  to_send.push_back({port, target});
  schedule(due_ms(e));
}

uint64_t NeighbourTable::due_ms(const Entry& e) {
  uint64_t due = 0;
  if (e.mac) {
    // Refreshed when vsd sends to it; forgotten when it does not.
    due = e.asked || e.used ? std::max(e.learnt_ms, e.last_request_ms) + kRefreshMs
                            : e.learnt_ms + kPassiveLifetimeMs;
  } else if (e.requests > 0) {
    due = e.last_request_ms + kRetryMs;
  } else {
    return UINT64_MAX;  // nothing to do until a frame waits for it
  }
  return (due + kTimerGridMs - 1) / kTimerGridMs * kTimerGridMs;
}

void NeighbourTable::schedule(uint64_t due) {
  next_due_ms_ = std::min(next_due_ms_, due);
}

void NeighbourTable::erase(std::unordered_map<uint64_t, Entry>::iterator it) {
  entries_.erase(it);
  recent_.fill({});
  counters_.forgotten++;
}

bool NeighbourTable::evict_one_unused() {
  for (auto it = entries_.begin(); it != entries_.end(); ++it) {
    const Entry& e = it->second;
    if (e.asked || e.used || !e.parked.empty()) continue;
    erase(it);
    counters_.forgotten--;  // counted as evicted instead
    counters_.evicted++;
    return true;
  }
  return false;
}

NeighbourTable::Entry* NeighbourTable::entry_for(uint64_t k, bool needed) {
  if (auto it = entries_.find(k); it != entries_.end()) {
    if (needed) it->second.asked = true;
    return &it->second;
  }
  if (entries_.size() >= kMaxEntries && !(needed && evict_one_unused())) {
    counters_.table_full++;
    return nullptr;
  }
  Entry& e = entries_[k];
  e.asked = needed;
  return &e;
}

void NeighbourTable::park(int port, Ipv4 next_hop, std::span<const uint8_t> frame, uint64_t now_ms,
                          std::vector<Request>& to_send) {
  Entry* entry = entry_for(key(port, next_hop), /*needed=*/true);
  if (!entry) {
    counters_.dropped_unresolved++;
    return;
  }
  auto& e = *entry;
  while (!e.parked.empty() && e.parked_bytes + frame.size() > kMaxParkedBytes) {
    // As the kernel's neighbour queue: the oldest frames make room for the newest.
    e.parked_bytes -= e.parked.front().size();
    e.parked.erase(e.parked.begin());
    counters_.dropped_unresolved++;
  }
  e.parked.emplace_back(frame.begin(), frame.end());
  e.parked_bytes += frame.size();
  counters_.parked++;
  if (e.requests == 0 || now_ms - e.last_request_ms >= kRetryMs)
    request(port, next_hop, e, now_ms, to_send);
}

void NeighbourTable::want(int port, Ipv4 next_hop, uint64_t now_ms, std::vector<Request>& to_send) {
  Entry* e = entry_for(key(port, next_hop), /*needed=*/true);
  if (!e || e->mac || e->requests > 0) return;
  request(port, next_hop, *e, now_ms, to_send);
}

void NeighbourTable::learn(int port, Ipv4 next_hop, Mac mac, uint64_t now_ms,
                           std::vector<Parked>& released, Heard heard) {
  const uint64_t k = key(port, next_hop);
  Entry* entry = nullptr;
  if (heard == Heard::RequestNamingUs) {
    entry = entry_for(k, /*needed=*/false);
  } else if (auto it = entries_.find(k); it != entries_.end()) {
    entry = &it->second;
  } else {
    counters_.unsolicited++;
  }
  if (!entry) return;
  auto& e = *entry;
  if (!e.mac) counters_.resolved++;
  e.mac = mac;
  e.learnt_ms = now_ms;
  e.requests = 0;
  for (auto& frame : e.parked) released.push_back({port, next_hop, std::move(frame)});
  e.parked.clear();
  e.parked_bytes = 0;
  schedule(due_ms(e));
}

void NeighbourTable::tick(uint64_t now_ms, std::vector<Request>& to_send) {
  if (now_ms < next_due_ms_) return;
  counters_.timer_passes++;
  next_due_ms_ = UINT64_MAX;
  for (auto it = entries_.begin(); it != entries_.end();) {
    auto& [k, e] = *it;
    const int port = static_cast<int>(k >> 32);
    const Ipv4 target = Ipv4::from_host(static_cast<uint32_t>(k));
    if (e.mac) {
      if (e.used) e.asked = true;  // sent to since it was learnt: keep it as vsd's own
      if (!e.asked && now_ms - e.learnt_ms >= kPassiveLifetimeMs) {
        erase(it++);
        continue;
      }
      // Known: refresh now and then, keep using the old MAC meanwhile.
      if (e.asked && now_ms - e.learnt_ms >= kRefreshMs && now_ms - e.last_request_ms >= kRefreshMs)
        request(port, target, e, now_ms, to_send);
    } else if (e.requests > 0 && now_ms - e.last_request_ms >= kRetryMs) {
      if (e.requests < kMaxRequests) {
        request(port, target, e, now_ms, to_send);
      } else {
        // Never answered: drop what waited, and the entry; the next packet starts over.
        counters_.dropped_unresolved += e.parked.size();
        erase(it++);
        continue;
      }
    }
    schedule(due_ms(e));
    ++it;
  }
}

}  // namespace vsd
