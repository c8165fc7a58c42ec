// IPv6 fragments on their way to IPVS (vsd/dataplane.h): nf_defrag_ipv6 gathers them in
// PREROUTING, before IPVS at LOCAL_IN sees anything, so a datagram is scheduled and rewritten
// whole and leaves cut again at its largest fragment (emit6). A datagram to a VIP that never
// completes is answered with "fragment reassembly time exceeded", as ip6frag_expire_frag_queue
// does for nf_defrag_ipv6's queues too (IPv4's conntrack defrag stays quiet for forwarded
// datagrams; IPv6's has no such exception).
#include "fwd/icmp6.h"
#include "fwd/ipv6.h"
#include "vsd/dataplane.h"

namespace vsd {

template <DataPort Port>
void BasicDataplane<Port>::handle_fragment6(std::size_t port, std::span<const uint8_t> frame,
                                            const fwd::Packet6& p) {
  const auto r = reassembler6_.add6(frame, p, now_ms_);
  if (r.status == fwd::ReassemblyStatus::Dropped) return count(Discard::Fragment);
  if (r.status != fwd::ReassemblyStatus::Complete) return;
  const auto whole = fwd::parse_ipv6(r.frame);
  // A datagram whose reassembled headers parse_ipv6 refuses, or that was fragmented twice.
  if (!whole || whole->fragment) return count(Discard::Fragment);
  refragment6_ = r.largest_fragment;
  handle_ipv6(port, r.frame, nullptr);
  refragment6_ = 0;
}

template <DataPort Port>
void BasicDataplane<Port>::reassembly6_timed_out(std::span<const uint8_t> first) {
  const auto p = fwd::parse_ipv6(first);
  if (!p || !services_.is_ipv6_vip(p->dst)) return;
  const auto egress = egress6_to(p->src);
  if (!egress) return count(Discard::NoRoute);
  send_icmp6_error(egress->port, first, *p, fwd::icmp6::kTimeExceeded,
                   fwd::icmp6::kCodeFragmentReassemblyTime);
}

#define VSD_FRAG6_MEMBERS(Port)                                                               \
  template void BasicDataplane<Port>::handle_fragment6(std::size_t, std::span<const uint8_t>, \
                                                       const fwd::Packet6&);                  \
  template void BasicDataplane<Port>::reassembly6_timed_out(std::span<const uint8_t>);
VSD_FRAG6_MEMBERS(PacketSocket)
VSD_FRAG6_MEMBERS(MemoryPort)
#undef VSD_FRAG6_MEMBERS

}  // namespace vsd
