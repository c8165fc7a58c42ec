// IPv6 of no service and no connection, routed as ip6_forward does it (spec section 3: a NAT
// director is its real servers' gateway): hop limit - 1 and the MACs, nothing else; one that
// arrives with hop limit 1 gets time exceeded (RFC 8200 section 3, RFC 4443 3.3). What is
// addressed to the director itself, to a group or within a link stays its kernel's.
#include "fwd/icmp6.h"
#include "vsd/dataplane.h"

namespace vsd {
namespace {

bool link_local(const Ip6& a) {
  return a[0] == 0xfe && (a[1] & 0xc0) == 0x80;
}

bool multicast(const Ip6& a) {
  return a[0] == 0xff;
}

}  // namespace

template <DataPort Port>
bool BasicDataplane<Port>::is_host_address6(const Ip6& a) const {
  if (owned6_.contains(a)) return true;
  for (const auto& own : routes_.addresses6())
    if (own.addr == a) return true;
  return false;
}

template <DataPort Port>
void BasicDataplane<Port>::route6(std::size_t port, std::span<uint8_t> frame,
                                  const fwd::Packet6& p) {
  // ip6_forward takes only frames to the port's own MAC, and routes no multicast (no multicast
  // routing here) and nothing of link-local scope; the director's own addresses are the
  // kernel's, which the ingress chain passes every IPv6 frame.
  if ((frame[fwd::wire::eth::kDst] & 0x01) != 0 || multicast(p.dst) || link_local(p.dst) ||
      link_local(p.src) || multicast(p.src) || p.src == Ip6{} || is_host_address6(p.dst))
    return void(ipv6_.host++);
  const auto egress = egress6_to(p.dst);
  if (!egress) return void(ipv6_.no_route++);
  if (p.hop_limit <= 1) {
    ipv6_.hop_limit++;
    // icmp6_send from the address the kernel's source selection picks for the way back: the
    // director's own on the port the packet came in through.
    const auto& self = port_address6_[port];
    if (!self || !fwd::may_send_icmp6_error(p)) return;
    if (auto n = fwd::build_icmp6_error(scratch_, frame, p, fwd::icmp6::kTimeExceeded,
                                        fwd::icmp6::kCodeHopLimit, 0, *self, ports_[port]->mac())) {
      ipv6_.errors_sent++;
      answer(port, n);
    }
    return;
  }
  fwd::dr_forward6(frame, ports_[egress->port]->mac());
  ipv6_.routed++;
  emit6(*egress, frame);
}

#define VSD_ROUTE6_MEMBERS(Port)                                          \
  template bool BasicDataplane<Port>::is_host_address6(const Ip6&) const; \
  template void BasicDataplane<Port>::route6(std::size_t, std::span<uint8_t>, const fwd::Packet6&);
VSD_ROUTE6_MEMBERS(PacketSocket)
VSD_ROUTE6_MEMBERS(MemoryPort)
#undef VSD_ROUTE6_MEMBERS

}  // namespace vsd
