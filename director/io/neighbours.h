// The director's own ARP cache: next-hop MACs for real servers and routers, learnt from ARP
// replies to what it asked (and from requests that name us), so nothing is configured by MAC.
// As the kernel with arp_accept=0, an unsolicited reply makes no entry, and the table holds at
// most kMaxEntries neighbours, so spoofed ARP cannot grow it without bound. Frames to an
// unresolved next hop wait (up to 212992 bytes per neighbour, the kernel's default
// unres_qlen_bytes) until the reply comes; requests are retried once a second, three times,
// then the waiting frames are dropped and the entry goes.
//
// What a request naming us taught, and vsd never needed, goes after kPassiveLifetimeMs (the
// kernel's gc_stale_time), and makes room at once for a neighbour vsd asks for when the table
// is full: spoofed requests cannot lock a real server out. The timers are looked at only when
// one is due, on a grid of kTimerGridMs: tick() on a loop with nothing due is one compare.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <unordered_map>
#include <vector>

#include "net/addr.h"

namespace vsd {

class NeighbourTable {
 public:
  static constexpr std::size_t kMaxParkedBytes = 212992;
  static constexpr uint64_t kRetryMs = 1000;
  static constexpr int kMaxRequests = 3;
  static constexpr uint64_t kRefreshMs = 30000;  // re-ask a known neighbour this often
  // More next hops than a director's segments hold (the kernel's gc_thresh3 is 1024); a new
  // neighbour past it is not asked for and its frames are dropped.
  static constexpr std::size_t kMaxEntries = 16384;
  // A neighbour learnt from its request and never used is forgotten this long after.
  static constexpr uint64_t kPassiveLifetimeMs = 60000;
  // Timers fall due on multiples of this, so that many neighbours share one pass.
  static constexpr uint64_t kTimerGridMs = 100;

  // What an ARP packet was, for learn(): a reply updates only a neighbour we asked for; a
  // request that names one of our addresses may add its sender (the kernel's arp_process).
  enum class Heard { Reply, RequestNamingUs };

  struct Parked {
    int port = 0;
    Ipv4 next_hop;
    std::vector<uint8_t> frame;  // destination MAC still to be filled in
  };
  struct Request {
    int port = 0;
    Ipv4 target;
  };
  struct Counters {
    uint64_t requests_sent = 0;
    uint64_t resolved = 0;
    uint64_t parked = 0;
    uint64_t dropped_unresolved = 0;  // waited for a reply that never came, or queue full
    uint64_t unsolicited = 0;         // replies about a neighbour nobody asked for, ignored
    uint64_t table_full = 0;          // a new neighbour refused: kMaxEntries reached
    uint64_t forgotten = 0;           // entries gone: never answered, or learnt and unused
    uint64_t evicted = 0;             // unused entries dropped to make room for a needed one
    uint64_t timer_passes = 0;        // tick() calls that looked at the entries
  };

  NeighbourTable() = default;
  // The cache of recent lookups points into this table's own entries.
  NeighbourTable(const NeighbourTable&) = delete;
  NeighbourTable& operator=(const NeighbourTable&) = delete;

  // The MAC of next_hop on port, when known; nullptr otherwise. Asked once per forwarded
  // frame, so the last few answers are kept by key in front of the map.
  const Mac* lookup(int port, Ipv4 next_hop) const {
    const uint64_t k = key(port, next_hop);
    Recent& recent = recent_[recent_slot(k)];
    if (recent.entry == nullptr || recent.key != k) {
      auto it = entries_.find(k);
      if (it == entries_.end()) return nullptr;
      recent = {k, &it->second};
    }
    recent.entry->used = true;
    return recent.entry->mac ? &*recent.entry->mac : nullptr;
  }

  // Keeps a copy of the frame until next_hop is resolved; asks for a request now if none is
  // outstanding. Slow path: it allocates.
  void park(int port, Ipv4 next_hop, std::span<const uint8_t> frame, uint64_t now_ms,
            std::vector<Request>& to_send);
  // Makes sure a request is sent for next_hop unless it is known or being asked (e.g. real
  // servers when a rule set is installed, so the first packet need not wait).
  void want(int port, Ipv4 next_hop, uint64_t now_ms, std::vector<Request>& to_send);
  // An ARP packet told us next_hop's MAC: records it and hands back the frames that waited.
  void learn(int port, Ipv4 next_hop, Mac mac, uint64_t now_ms, std::vector<Parked>& released,
             Heard heard);
  // Retries and refreshes that are due, and drops frames whose neighbour never answered.
  void tick(uint64_t now_ms, std::vector<Request>& to_send);

  const Counters& counters() const { return counters_; }
  std::size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    std::optional<Mac> mac;
    // vsd sends to it: asked for (park, want), or found by a lookup. Otherwise it was only
    // learnt from a request naming us, and is forgotten after kPassiveLifetimeMs.
    bool asked = false;
    mutable bool used = false;
    uint64_t last_request_ms = 0;
    uint64_t learnt_ms = 0;
    int requests = 0;                          // sent since the last answer
    std::vector<std::vector<uint8_t>> parked;  // oldest first; at most some 140
    std::size_t parked_bytes = 0;
  };
  static uint64_t key(int port, Ipv4 a) { return uint64_t(uint32_t(port)) << 32 | a.value; }
  void request(int port, Ipv4 target, Entry& e, uint64_t now_ms, std::vector<Request>& to_send);
  // The entry for the key, made if there is room; nullptr (counted) when the table is full.
  // needed: vsd asks for it, and an entry vsd does not use may make room.
  Entry* entry_for(uint64_t k, bool needed);
  bool evict_one_unused();
  void erase(std::unordered_map<uint64_t, Entry>::iterator it);
  // The next time a timer of e falls due, on the grid.
  static uint64_t due_ms(const Entry& e);
  void schedule(uint64_t due);

  // unordered_map keeps its nodes in place when it grows; an erase clears recent_, which is
  // all that points into it.
  std::unordered_map<uint64_t, Entry> entries_;
  uint64_t next_due_ms_ = UINT64_MAX;  // nothing before this needs tick()
  struct Recent {
    uint64_t key = 0;
    const Entry* entry = nullptr;
  };
  static constexpr unsigned kRecentBits = 4;
  static constexpr std::size_t kRecentSlots = std::size_t{1} << kRecentBits;
  static std::size_t recent_slot(uint64_t k) {
    return std::size_t((k * 0x9e3779b97f4a7c15ull) >> (64 - kRecentBits));  // Fibonacci hashing
  }
  mutable std::array<Recent, kRecentSlots> recent_{};
  Counters counters_;
};

}  // namespace vsd
