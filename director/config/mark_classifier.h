// vsd's packet classifier on the fast path: the firewall mark the first matching MarkRule gives
// a packet (what an iptables or ip6tables MARK rule does for kernel IPVS). Built once per rule
// set, read per packet with no allocation and no branch on anything but the packet's fields.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "config/rules.h"
#include "net/addr.h"

namespace vsd {

class MarkClassifier {
 public:
  MarkClassifier() = default;
  explicit MarkClassifier(const std::vector<MarkRule>& rules);

  bool empty() const { return entries_.empty() && entries6_.empty(); }
  bool has_ipv6_rules() const { return !entries6_.empty(); }

  // The mark for a packet to dest (address and destination port), 0 when no rule takes it.
  // Rules are a short list scanned in order: first match wins, as in an iptables chain. Each
  // family has its own list, as iptables and ip6tables do.
  uint32_t mark(Proto proto, Endpoint dest) const {
    return first_match(entries_, proto, dest.port,
                       [&](const Entry& e) { return (dest.addr.value & e.mask) == e.net; });
  }
  uint32_t mark6(Proto proto, const std::array<uint8_t, 16>& dest, uint16_t port) const {
    return first_match(entries6_, proto, port, [&](const Entry6& e) {
      for (std::size_t i = 0; i < dest.size(); ++i)
        if ((dest[i] & e.mask[i]) != e.net[i]) return false;
      return true;
    });
  }

 private:
  static constexpr uint8_t kTcp = 1;
  static constexpr uint8_t kUdp = 2;
  static constexpr uint8_t proto_bit(Proto p) {
    return p == Proto::Tcp ? kTcp : p == Proto::Udp ? kUdp : 0;
  }

  // What a rule asks of a packet besides its address.
  struct Match {
    uint16_t port_min;
    uint16_t port_max;
    uint8_t protos;
    uint32_t mark;
  };
  struct Entry : Match {
    uint32_t net;
    uint32_t mask;
  };
  struct Entry6 : Match {
    std::array<uint8_t, 16> net;
    std::array<uint8_t, 16> mask;
  };

  template <class E, class AddressMatches>
  static uint32_t first_match(const std::vector<E>& entries, Proto proto, uint16_t port,
                              AddressMatches address_matches) {
    const uint8_t bit = proto_bit(proto);
    for (const E& e : entries) {
      if ((e.protos & bit) != 0 && port >= e.port_min && port <= e.port_max && address_matches(e))
        return e.mark;
    }
    return 0;
  }

  std::vector<Entry> entries_;
  std::vector<Entry6> entries6_;
};

}  // namespace vsd
