#include "io/neighbours6.h"

namespace vsd {

std::size_t Neighbour6Table::KeyHash::operator()(const Key& k) const noexcept {
  uint64_t h = uint64_t(uint32_t(k.port)) * 0x9e3779b97f4a7c15ull;
  for (uint8_t b : k.addr) h = (h ^ b) * 0x100000001b3ull;  // FNV-1a over the address
  return std::size_t(h);
}

Neighbour6Table::Entry* Neighbour6Table::entry_for(const Key& k) {
  if (auto it = entries_.find(k); it != entries_.end()) return &it->second;
  if (entries_.size() >= kMaxEntries) return counters_.table_full++, nullptr;
  return &entries_[k];
}

void Neighbour6Table::solicit(const Key& k, Entry& e, uint64_t now_ms,
                              std::vector<Solicit>& to_send) {
  e.last_solicit_ms = now_ms;
  e.solicits++;
  counters_.solicits_sent++;
  to_send.push_back({k.port, k.addr});
}

void Neighbour6Table::park(int port, const Ip6& next_hop, std::span<const uint8_t> frame,
                           uint64_t now_ms, std::vector<Solicit>& to_send) {
  const Key k{port, next_hop};
  Entry* e = entry_for(k);
  if (!e || e->parked_bytes + frame.size() > kMaxParkedBytes) {
    counters_.dropped_unresolved++;
    return;
  }
  e->parked.emplace_back(frame.begin(), frame.end());
  e->parked_bytes += frame.size();
  if (e->solicits == 0) solicit(k, *e, now_ms, to_send);
}

void Neighbour6Table::want(int port, const Ip6& next_hop, uint64_t now_ms,
                           std::vector<Solicit>& to_send) {
  const Key k{port, next_hop};
  Entry* e = entry_for(k);
  if (e && !e->mac && e->solicits == 0) solicit(k, *e, now_ms, to_send);
}

void Neighbour6Table::learn(int port, const Ip6& next_hop, Mac mac, uint64_t now_ms,
                            std::vector<Parked>& released) {
  auto it = entries_.find({port, next_hop});
  if (it == entries_.end()) {
    counters_.unsolicited++;
    return;
  }
  Entry& e = it->second;
  e.mac = mac;
  e.learnt_ms = now_ms;
  e.solicits = 0;
  counters_.resolved++;
  for (auto& frame : e.parked) released.push_back({port, next_hop, std::move(frame)});
  e.parked.clear();
  e.parked_bytes = 0;
}

// O(entries) a call: an IPv6 director has a few next hops, and tick() runs every 100 ms.
void Neighbour6Table::tick(uint64_t now_ms, std::vector<Solicit>& to_send) {
  for (auto it = entries_.begin(); it != entries_.end();) {
    Entry& e = it->second;
    const bool waiting = e.solicits > 0 && now_ms - e.last_solicit_ms >= kRetryMs;
    if (waiting && e.solicits >= kMaxSolicits) {
      // Never answered: its frames go, and so does the entry (or the MAC it had).
      counters_.dropped_unresolved += e.parked.size();
      it = entries_.erase(it);
      recent_.fill({});
      continue;
    }
    if (waiting || (e.mac && e.solicits == 0 && now_ms - e.learnt_ms >= kRefreshMs))
      solicit(it->first, e, now_ms, to_send);
    ++it;
  }
}

}  // namespace vsd
