// The IPv6 side of a matrix bed: addresses from the dual-stack topology file, the client's
// IPv6 frames, and what each mode makes of them at a real server. What Linux IPVS does to IPv6
// is what it does to IPv4 (spec 2), with the hop limit for the TTL and, for TUN, ip6ip6 as
// ip_vs_tunnel_xmit_v6 builds it: the outer header from a director's address to the RIP, the
// inner hop limit and its traffic class, flow label 0 (each seen on qemu-kernel, Linux 6.1).
#include <stdexcept>

#include "matrix/bed.h"

namespace vslab::matrix {

std::string MatrixBed::ipv6_of(const std::string& role) const {
  const topo::Node* node = bed_->topology().find_role(role);
  if (node)
    for (const auto& iface : node->interfaces)
      for (const auto& a : iface.addresses)
        if (a.is_v6) return a.address;
  throw std::runtime_error("topology " + bed_->topology().name + " gives " + role +
                           " no IPv6 address");
}

std::string MatrixBed::vip6() const {
  const auto& vip = bed_->topology().lvs.vip6;
  if (!vip) throw std::runtime_error("topology " + bed_->topology().name + " has no vip6");
  return *vip;
}

std::string MatrixBed::lip6() const {
  const auto& pool = bed_->topology().lvs.local_addresses6;
  if (pool.empty())
    throw std::runtime_error("topology " + bed_->topology().name + " has no local_addresses6");
  return pool.front();
}

Tins::EthernetII MatrixBed::tcp6_from_client(uint8_t flags, uint16_t cport, uint32_t seq,
                                             const std::string& client, uint32_t ack) {
  auto frame = frames::frame()
                   .eth(bed_->client().mac, bed_->client_gateway_mac())
                   .ipv6(client.empty() ? ipv6_of("client") : client, vip6())
                   .tcp(cport, vport_)
                   .flags(flags)
                   .seq(seq)
                   .window(64240);
  if (flags & Tins::TCP::ACK) frame.ack(ack);
  if (!client.empty() && other_clients_.insert(client).second) bed_->hold_client_address(client);
  return frame.pdu();
}

Tins::EthernetII MatrixBed::udp6_from_client(uint16_t cport, const std::string& payload) {
  return frames::frame()
      .eth(bed_->client().mac, bed_->client_gateway_mac())
      .ipv6(ipv6_of("client"), vip6())
      .udp(cport, vport_)
      .payload(payload)
      .pdu();
}

expect::FrameExpectation MatrixBed::at_real_server6(const Tins::EthernetII& sent, int rs) const {
  const std::string rs_role = "rs" + std::to_string(rs);
  const auto& host = bed_->rs(rs);
  const auto& sent_ip = sent.rfind_pdu<Tins::IPv6>();
  // Two hops to the real server (router, director), as for IPv4.
  const int hops_left = sent_ip.hop_limit() - 2;
  switch (mode_) {
    case Mode::Nat: {
      expect::FrameExpectation want(sent);
      want.eth_src(bed_->mac("director", "eth1"))
          .eth_dst(host.mac)
          .ip_dst(ipv6_of(rs_role))
          .ttl(hops_left)
          .dport(rport());
      return want;
    }
    case Mode::Dr: {
      expect::FrameExpectation want(sent);
      want.eth_src(bed_->mac("director", "eth0")).eth_dst(host.mac).ttl(hops_left);
      return want;
    }
    case Mode::Tun: {
      Tins::IPv6 inner = sent_ip;
      inner.hop_limit(static_cast<uint8_t>(hops_left));
      Tins::IPv6 outer(ipv6_of(rs_role), ipv6_of("director"));
      // The router before the real servers takes one off the outer header.
      outer.hop_limit(static_cast<uint8_t>(hops_left - 1));
      outer.traffic_class(sent_ip.traffic_class());
      expect::FrameExpectation want(Tins::EthernetII(host.mac, bed_->mac("router", "eth2")) /
                                    outer / inner);
      // The outer source is what the director's source address selection picks for the RIP.
      // IPv4 picks the interface's primary address; RFC 6724 leaves the DIP and the VIP (both
      // on the interface, equally long prefixes shared with the RIP) tied, and Linux 6.1 then
      // takes the newer, the VIP (seen on qemu-kernel). Either is the director's own address.
      want.any_of(expect::Field::IpSrc, {ipv6_of("director"), vip6()});
      return want;
    }
    case Mode::FullNat: {
      expect::FrameExpectation want(sent);
      want.eth_src(bed_->mac("director", "eth1"))
          .eth_dst(host.mac)
          .ip_src(lip6())
          .ip_dst(ipv6_of(rs_role))
          .ttl(hops_left)
          .dport(rport())
          .in_range(expect::Field::SrcPort, 1024, 65535);
      return want;
    }
  }
  throw std::logic_error("a mode with no IPv6 expectation at the real server");
}

}  // namespace vslab::matrix
