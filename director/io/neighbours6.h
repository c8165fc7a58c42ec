// The director's IPv6 neighbour cache (RFC 4861 7.2, as the kernel's ndisc keeps it for its
// own traffic): next-hop MACs of IPv6 real servers and routers, learnt from the advertisements
// answering the solicitations vsd sends. As NeighbourTable does for ARP: an advertisement
// nobody asked for makes no entry, the table is bounded, frames to an unresolved neighbour wait
// (bounded bytes) and are dropped when three solicitations a second apart go unanswered.
#pragma once

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

  const Mac* lookup(int port, const Ip6& next_hop) const;
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

  std::unordered_map<Key, Entry, KeyHash> entries_;
  Counters counters_;
};

}  // namespace vsd
