#include "io/neighbours.h"

namespace vsd {

void NeighbourTable::request(int port, Ipv4 target, Entry& e, uint64_t now_ms,
                             std::vector<Request>& to_send) {
  e.last_request_ms = now_ms;
  e.requests++;
  counters_.requests_sent++;
  to_send.push_back({port, target});
}

NeighbourTable::Entry* NeighbourTable::entry_for(uint64_t k) {
  if (auto it = entries_.find(k); it != entries_.end()) return &it->second;
  if (entries_.size() >= kMaxEntries) {
    counters_.table_full++;
    return nullptr;
  }
  return &entries_[k];
}

void NeighbourTable::park(int port, Ipv4 next_hop, std::span<const uint8_t> frame, uint64_t now_ms,
                          std::vector<Request>& to_send) {
  Entry* entry = entry_for(key(port, next_hop));
  if (!entry) {
    counters_.dropped_unresolved++;
    return;
  }
  auto& e = *entry;
  while (!e.parked.empty() && e.parked_bytes + frame.size() > kMaxParkedBytes) {
    // As the kernel's neighbour queue: the oldest frames make room for the newest.
    e.parked_bytes -= e.parked.front().size();
    e.parked.pop_front();
    counters_.dropped_unresolved++;
  }
  e.parked.emplace_back(frame.begin(), frame.end());
  e.parked_bytes += frame.size();
  counters_.parked++;
  if (e.requests == 0 || now_ms - e.last_request_ms >= kRetryMs)
    request(port, next_hop, e, now_ms, to_send);
}

void NeighbourTable::want(int port, Ipv4 next_hop, uint64_t now_ms, std::vector<Request>& to_send) {
  Entry* e = entry_for(key(port, next_hop));
  if (!e || e->mac || e->requests > 0) return;
  request(port, next_hop, *e, now_ms, to_send);
}

void NeighbourTable::learn(int port, Ipv4 next_hop, Mac mac, uint64_t now_ms,
                           std::vector<Parked>& released, Heard heard) {
  const uint64_t k = key(port, next_hop);
  Entry* entry = nullptr;
  if (heard == Heard::RequestNamingUs) {
    entry = entry_for(k);
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
  while (!e.parked.empty()) {
    released.push_back({port, next_hop, std::move(e.parked.front())});
    e.parked.pop_front();
  }
  e.parked_bytes = 0;
}

void NeighbourTable::tick(uint64_t now_ms, std::vector<Request>& to_send) {
  for (auto& [k, e] : entries_) {
    int port = static_cast<int>(k >> 32);
    Ipv4 target = Ipv4::from_host(static_cast<uint32_t>(k));
    if (e.mac) {
      // Known: refresh now and then, keep using the old MAC meanwhile.
      if (now_ms - e.learnt_ms >= kRefreshMs && now_ms - e.last_request_ms >= kRefreshMs)
        request(port, target, e, now_ms, to_send);
      continue;
    }
    if (e.requests == 0 || now_ms - e.last_request_ms < kRetryMs) continue;
    if (e.requests < kMaxRequests) {
      request(port, target, e, now_ms, to_send);
      continue;
    }
    // Never answered: drop what waited, and start over on the next packet.
    counters_.dropped_unresolved += e.parked.size();
    e.parked.clear();
    e.parked_bytes = 0;
    e.requests = 0;
  }
}

}  // namespace vsd
