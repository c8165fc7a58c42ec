// The pmtu kind: a packet that does not fit the tunnel gets fragmentation needed from the
// VIP (spec 2, TUN); over IPv6 (tcp6) Packet Too Big, as __ip_vs_get_out_rt_v6 answers a packet
// past the ip6ip6 tunnel's MTU (the egress MTU less 40).
#include <string>

#include "matrix/kinds/steps.h"

namespace vslab::matrix::kinds {

using namespace std::chrono_literals;

namespace {

// icmp6_send's Packet Too Big about `about` (as the client sent it): from the VIP (the packet's
// local destination), hop limit 64 less the router's hop, traffic class 0, the tunnel's MTU
// (1500 - 40), quoting the packet with its hop limit after the router's and the director's
// decrements, cut so that the error fits in IPv6's 1280 bytes (RFC 4443 2.4 (c)). Linux puts an
// automatic flow label on it (net.ipv6.auto_flowlabels), a keyed hash: any value but 0.
expect::FrameExpectation tunnel_packet_too_big_at_client(MatrixBed& mb, const Tins::IPv6& about) {
  auto& bed = mb.bed();
  Tins::IPv6 quoted = about;
  quoted.hop_limit(uint8_t(about.hop_limit() - 2));
  auto quoted_bytes = quoted.serialize();
  quoted_bytes.resize(std::min<std::size_t>(quoted_bytes.size(), 1280 - 40 - 8));
  Tins::ICMPv6 too_big(Tins::ICMPv6::PACKET_TOOBIG);
  // The 32-bit MTU sits where an echo's identifier and sequence do (libtins has no setter).
  too_big.identifier(0);
  too_big.sequence(1460);
  Tins::IPv6 ip(mb.ipv6_of("client"), mb.vip6());
  ip.hop_limit(63);
  expect::FrameExpectation want(Tins::EthernetII(bed.client().mac, bed.client_gateway_mac()) / ip /
                                too_big /
                                Tins::RawPDU(quoted_bytes.data(), uint32_t(quoted_bytes.size())));
  want.in_range(expect::Field::IpFlowLabel, 1, 0xfffff);
  return want;
}

void pmtu6(MatrixBed& mb, const Cell& c, Findings& f) {
  auto& bed = mb.bed();
  bed.restore(mb.rules(Proto::Tcp, c.scheduler, kRoomy, "", "", c.family));
  // 1500 bytes of IPv6: fits every link, not the tunnel (+40).
  Tins::EthernetII s = mb.tcp6_from_client(Tins::TCP::SYN, mb.next_client_port()) /
                       Tins::RawPDU(std::string(1500 - 40 - 20, 'x'));
  bed.client().port->send(s);
  auto want = tunnel_packet_too_big_at_client(mb, s.rfind_pdu<Tins::IPv6>());
  f.check(bed.checker().expect_frame(*bed.client().port, want, 2s), "packet too big");
  f.check(bed.checker().expect_no_other_frames(bed.rs_ports(), 50ms), "real servers");
}

}  // namespace

void pmtu(MatrixBed& mb, const Cell& c, Findings& f) {
  if (c.family == Family::Ipv6) return pmtu6(mb, c, f);
  auto& bed = mb.bed();
  bed.restore(mb.rules(Proto::Tcp, c.scheduler, kRoomy));
  Tins::TCP syn(mb.vport(), mb.next_client_port());
  syn.flags(Tins::TCP::SYN);
  // 1500 bytes of IP with DF: fits every link, not the tunnel (+20).
  auto s = bed.from_client(syn / Tins::RawPDU(std::string(1500 - 20 - 20, 'x')));
  bed.client().port->send(s);
  // Spec 2: fragmentation needed from the VIP, next-hop MTU 1480.
  auto want = tunnel_frag_needed_at_client(mb, s.rfind_pdu<Tins::IP>());
  f.check(bed.checker().expect_frame(*bed.client().port, want, 2s), "fragmentation needed");
}

}  // namespace vslab::matrix::kinds
