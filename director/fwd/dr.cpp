// dr.cpp: DR forwarding. Also what plain IPv4 routing of non-service traffic does (spec
// section 3, "The director is also a router"): TTL - 1, MACs, nothing else.
#include "fwd/dr.h"

namespace vsd::fwd {

void dr_forward(std::span<uint8_t> frame, const PacketView& packet, const EthAddrs& eth) {
  set_eth(frame, eth);
  dec_ttl(frame, packet);
}

[[gnu::flatten]] Sent dr_ipv4_in(std::span<uint8_t> frame, const PacketView& packet,
                                 const ConnView&, const Link& link, Workspace&) {
  dr_forward(frame, packet, link.eth);
  return {Xmit::Frame};
}

}  // namespace vsd::fwd
