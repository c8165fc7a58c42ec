// The routed kind: a NAT director is its real servers' gateway, so their own traffic, which
// belongs to no service (a DNS query, a ping), is routed as plain IPv4 forwarding does it: TTL
// - 1, MACs rewritten, nothing else changed (spec 3, "The director is also a router"). The
// client's traffic to an address behind the director is not sent: the topology's router has
// no route into the real servers' segment. Over IPv6 the same traffic is routed as ip6_forward
// does it: hop limit - 1, MACs rewritten; one that arrives with hop limit 1 gets time exceeded
// (RFC 8200 section 3, RFC 4443 3.3) from the address the director holds on the real servers'
// segment, which the kernel's source selection picks for an error going back that way.
#include <stdexcept>

#include "matrix/kinds/steps.h"

namespace vslab::matrix::kinds {

using namespace std::chrono_literals;
using expect::Field;
using expect::FrameExpectation;

namespace {

// The director's IPv6 address on the real servers' segment (its eth1 in topologies/nat.toml).
std::string director_rs_side6(MatrixBed& mb) {
  if (const auto* node = mb.bed().topology().find_role("director"))
    for (const auto& iface : node->interfaces)
      if (iface.name == "eth1")
        for (const auto& a : iface.addresses)
          if (a.is_v6) return a.address;
  throw std::runtime_error("the topology gives the director no IPv6 address on eth1");
}

void routed6(MatrixBed& mb, const Cell& c, Findings& f) {
  auto& bed = mb.bed();
  bed.restore(mb.rules(Proto::Udp, c.scheduler, kRoomy, "", "", c.family));
  auto& rs = bed.rs(1);
  const std::string rs6 = mb.ipv6_of("rs1");
  const std::string client6 = mb.ipv6_of("client");
  const std::string director_mac = bed.mac("director", "eth1");
  auto from_rs = [&](const Tins::PDU& l4, uint8_t hop_limit) {
    Tins::IPv6 ip(client6, rs6);
    ip.hop_limit(hop_limit);
    return Tins::EthernetII(director_mac, rs.mac) / ip / l4;
  };
  auto arrives = [&](const Tins::PDU& l4, const std::string& what) {
    auto sent = from_rs(l4, 64);
    rs.port->send(sent);
    // The director takes one, the router another; nothing else changes.
    Tins::IPv6 ip = sent.rfind_pdu<Tins::IPv6>();
    ip.hop_limit(62);
    FrameExpectation want(Tins::EthernetII(bed.client().mac, bed.client_gateway_mac()) / ip);
    f.check(bed.checker().expect_frame(*bed.client().port, want, 2s), what);
  };
  arrives(Tins::UDP(53, mb.next_client_port()) / Tins::RawPDU("lookup"),
          "rs1's own datagram to the client");
  Tins::ICMPv6 echo(Tins::ICMPv6::ECHO_REQUEST);
  echo.identifier(mb.next_client_port());
  echo.sequence(1);
  arrives(echo / Tins::RawPDU("ping"), "rs1's own ping to the client");

  // Hop limit 1: ip6_forward does not forward it, and icmpv6_send answers from the director's
  // address on rs1's segment, hop limit 64, traffic class 0, quoting the packet as received.
  auto last_hop = from_rs(Tins::UDP(53, mb.next_client_port()) / Tins::RawPDU("last hop"), 1);
  rs.port->send(last_hop);
  auto quoted = last_hop.rfind_pdu<Tins::IPv6>().serialize();
  Tins::ICMPv6 error(Tins::ICMPv6::TIME_EXCEEDED);
  error.code(0);
  Tins::IPv6 ip(rs6, director_rs_side6(mb));
  ip.hop_limit(64);
  FrameExpectation want(Tins::EthernetII(rs.mac, director_mac) / ip / error /
                        Tins::RawPDU(quoted.data(), uint32_t(quoted.size())));
  want.in_range(Field::IpFlowLabel, 1, 0xfffff);
  f.check(bed.checker().expect_frame(*rs.port, want, 2s), "time exceeded from the director");
  mb.barrier(Family::Ipv6);
  f.check(bed.checker().expect_no_other_frames({bed.client().port}, 20ms), "the client");
}

}  // namespace

void routed(MatrixBed& mb, const Cell& c, Findings& f) {
  if (c.family == Family::Ipv6) return routed6(mb, c, f);
  auto& bed = mb.bed();
  // A service on the VIP, that none of this traffic is for (its real port is 8080).
  bed.restore(mb.rules(Proto::Udp, c.scheduler, kRoomy));
  auto& rs = bed.rs(1);
  auto from_rs = [&](const Tins::PDU& l4, uint16_t id) {
    Tins::IP ip(bed.client().ip, rs.ip);
    ip.ttl(64);
    ip.id(id);
    return Tins::EthernetII(bed.mac("director", "eth1"), rs.mac) / ip / l4;
  };
  auto arrives = [&](const Tins::EthernetII& sent, const std::string& what) {
    rs.port->send(sent);
    FrameExpectation want(sent);
    want.eth_src(bed.client_gateway_mac()).eth_dst(bed.client().mac).ttl(62);
    f.check(bed.checker().expect_frame(*bed.client().port, want, 2s), what);
  };
  arrives(from_rs(Tins::UDP(53, mb.next_client_port()) / Tins::RawPDU("lookup"), 0x3131),
          "rs1's own datagram to the client");
  Tins::ICMP echo(Tins::ICMP::ECHO_REQUEST);
  echo.id(mb.next_client_port());
  echo.sequence(1);
  arrives(from_rs(echo / Tins::RawPDU("ping"), 0x3132), "rs1's own ping to the client");
}

}  // namespace vslab::matrix::kinds
