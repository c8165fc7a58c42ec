// The director's IPv6 neighbour cache (RFC 4861 7.2, as the kernel's ndisc keeps it for its
// own traffic): next-hop MACs of IPv6 real servers and routers, learnt from the advertisements
// answering the solicitations vsd sends. As NeighbourTable does for ARP: an advertisement
// nobody asked for makes no entry, the table is bounded, frames to an unresolved neighbour wait
// (bounded bytes) and are dropped when three solicitations a second apart go unanswered.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <unordered_map>
#include <vector>

#include "net/addr.h"
#include "net/ip6.h"

namespace vsd {

class Neighbour6Table {
 public:
  static constexpr std::size_t kMaxParkedBytes = 212992;
  static constexpr uint64_t kRetryMs = 1000;
  static constexpr int kMaxSolicits = 3;
  static constexpr uint64_t kRefreshMs = 30000;
  static constexpr std::size_t kMaxEntries = 4096;

  struct Parked {
    int port = 0;
    Ip6 next_hop{};
    std::vector<uint8_t> frame;  // destination MAC still to be filled in
  };
  struct Solicit {
    int port = 0;
    Ip6 target{};
  };
  struct Counters {
    uint64_t solicits_sent = 0;
    uint64_t resolved = 0;
    uint64_t dropped_unresolved = 0;
    uint64_t unsolicited = 0;  // advertisements of neighbours nobody asked for
    uint64_t table_full = 0;
  };

  Neighbour6Table() = default;
  // The cache of recent lookups points into this table's own entries.
  Neighbour6Table(const Neighbour6Table&) = delete;
  Neighbour6Table& operator=(const Neighbour6Table&) = delete;

  // The MAC of next_hop on port, when known; nullptr otherwise. Asked once per forwarded
  // frame, so the last few answers are kept by key in front of the map, as NeighbourTable
  // keeps IPv4's: a hit is a hash of two words and a compare, no walk of a bucket.
  const Mac* lookup(int port, const Ip6& next_hop) const {
    const Words w = ip6_words(next_hop);
    Recent& recent = recent_[recent_slot(port, w)];
    if (recent.entry == nullptr || recent.port != port ||
        ((recent.addr[0] ^ w[0]) | (recent.addr[1] ^ w[1])) != 0) {
      auto it = entries_.find({port, next_hop});
      if (it == entries_.end()) return nullptr;
      recent = {w, port, &it->second};
    }
    return recent.entry->mac ? &*recent.entry->mac : nullptr;
  }
  // Keeps a copy of the frame until next_hop answers, soliciting it if no solicitation is out.
  void park(int port, const Ip6& next_hop, std::span<const uint8_t> frame, uint64_t now_ms,
            std::vector<Solicit>& to_send);
  // Solicits next_hop now unless it is known or being asked.
  void want(int port, const Ip6& next_hop, uint64_t now_ms, std::vector<Solicit>& to_send);
  // An advertisement for next_hop: recorded only if vsd asked for it; the frames that waited
  // are handed back.
  void learn(int port, const Ip6& next_hop, Mac mac, uint64_t now_ms,
             std::vector<Parked>& released);
  void tick(uint64_t now_ms, std::vector<Solicit>& to_send);

  const Counters& counters() const { return counters_; }
  std::size_t size() const { return entries_.size(); }

 private:
  struct Key {
    int port = 0;
    Ip6 addr{};
    bool operator==(const Key&) const = default;
  };
  struct KeyHash {
    std::size_t operator()(const Key& k) const noexcept;
  };
  struct Entry {
    std::optional<Mac> mac;
    uint64_t last_solicit_ms = 0;
    uint64_t learnt_ms = 0;
    int solicits = 0;  // sent since the last answer
    std::vector<std::vector<uint8_t>> parked;
    std::size_t parked_bytes = 0;
  };
  Entry* entry_for(const Key& k);
  void solicit(const Key& k, Entry& e, uint64_t now_ms, std::vector<Solicit>& to_send);

  // unordered_map keeps its nodes in place when it grows; an erase clears recent_, which is
  // all that points into it. A learnt MAC changes the entry in place, which recent_ reads.
  std::unordered_map<Key, Entry, KeyHash> entries_;
  using Words = std::array<uint64_t, 2>;
  struct Recent {
    Words addr{};
    int port = 0;
    const Entry* entry = nullptr;
  };
  static constexpr unsigned kRecentBits = 4;
  static constexpr std::size_t kRecentSlots = std::size_t{1} << kRecentBits;
  static std::size_t recent_slot(int port, const Words& w) {
    const uint64_t k = (w[0] ^ w[1]) + uint32_t(port);
    return std::size_t((k * 0x9e3779b97f4a7c15ull) >> (64 - kRecentBits));  // Fibonacci hashing
  }
  mutable std::array<Recent, kRecentSlots> recent_{};
  Counters counters_;
};

}  // namespace vsd
