// vsd's packet classifier on the fast path: the firewall mark the first matching MarkRule gives
// a packet (what an iptables MARK rule does for kernel IPVS). Built once per rule set, read
// per packet with no allocation and no branch on anything but the packet's fields.
#pragma once

#include <cstdint>
#include <vector>

#include "config/rules.h"
#include "net/addr.h"

namespace vsd {

class MarkClassifier {
 public:
  MarkClassifier() = default;
  explicit MarkClassifier(const std::vector<MarkRule>& rules);

  bool empty() const { return entries_.empty(); }

  // The mark for a packet to dest (address and destination port), 0 when no rule takes it.
  // Rules are a short list scanned in order: first match wins, as in an iptables chain.
  uint32_t mark(Proto proto, Endpoint dest) const {
    const uint8_t bit = proto_bit(proto);
    for (const Entry& e : entries_) {
      if ((e.protos & bit) != 0 && (dest.addr.value & e.mask) == e.net && dest.port >= e.port_min &&
          dest.port <= e.port_max)
        return e.mark;
    }
    return 0;
  }

 private:
  static constexpr uint8_t kTcp = 1;
  static constexpr uint8_t kUdp = 2;
  static constexpr uint8_t proto_bit(Proto p) {
    return p == Proto::Tcp ? kTcp : p == Proto::Udp ? kUdp : 0;
  }

  struct Entry {
    uint32_t net;
    uint32_t mask;
    uint16_t port_min;
    uint16_t port_max;
    uint8_t protos;
    uint32_t mark;
  };
  std::vector<Entry> entries_;
};

}  // namespace vsd
