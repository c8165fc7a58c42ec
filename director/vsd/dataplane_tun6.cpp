// TUN over IPv6 (vsd/dataplane.h): a client's packet to an IPv6 TUN destination leaves in
// ip6ip6 from the address Linux would pick on the egress port (fwd/tun6.h), or is answered with
// Packet Too Big from the VIP when the tunnel cannot carry it, as ip_vs_tunnel_xmit_v6 does. Kept
// apart from dataplane_ipv6.cpp so that each IPv6 method has its own file.
#include "fwd/icmp6.h"
#include "fwd/tun6.h"
#include "vsd/dataplane.h"

namespace vsd {

template <DataPort Port>
bool BasicDataplane<Port>::tunnel6(std::size_t port, std::span<const uint8_t> frame,
                                   const fwd::Packet6& p, const Ip6& real_server,
                                   const Egress6& egress) {
  // The outer source is what Linux's source address selection picks on the egress port for
  // the real server (ip_vs_tunnel_xmit_v6 leaves it to the route): a VIP answered there unless
  // the port's address shares a longer prefix with the real server (net/source_address6.h);
  // without one there is nothing to send from.
  const auto local = source_address6(source_candidates6_[egress.port], real_server);
  if (!local) return ipv6_.no_route++, false;
  const fwd::Tunnel6 tunnel{*local, real_server, uint32_t(ports_[egress.port]->mtu()),
                            ports_[egress.port]->mac(), refragment6_};
  const auto r = fwd::tun_encapsulate6(frame, p, tunnel, scratch_);
  switch (r.verdict) {
    case fwd::Tun6Verdict::Ok:
      ipv6_.tunnelled++;
      emit6(egress, std::span<uint8_t>(scratch_.data(), r.length));
      return true;
    case fwd::Tun6Verdict::PacketTooBig:
      // icmp6_send's rules hold here too: no Packet Too Big about an ICMPv6 error.
      if (!fwd::may_send_icmp6_error(p)) return false;
      if (auto n = fwd::build_packet_too_big6(scratch_, frame, p, r.mtu, ports_[port]->mac())) {
        ipv6_.too_big++;
        answer(port, n);
      }
      return false;
    case fwd::Tun6Verdict::TunnelTooNarrow:
      return ipv6_.narrow_tunnel++, false;
    case fwd::Tun6Verdict::BufferTooSmall:
      break;
  }
  count(Discard::TxFailed);
  return false;
}

template bool BasicDataplane<PacketSocket>::tunnel6(std::size_t, std::span<const uint8_t>,
                                                    const fwd::Packet6&, const Ip6&,
                                                    const Egress6&);
template bool BasicDataplane<MemoryPort>::tunnel6(std::size_t, std::span<const uint8_t>,
                                                  const fwd::Packet6&, const Ip6&, const Egress6&);

}  // namespace vsd
