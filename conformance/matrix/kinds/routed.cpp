// The routed kind: a NAT director is its real servers' gateway, so their own traffic, which
// belongs to no service (a DNS query, a ping), is routed as plain IPv4 forwarding does it: TTL
// - 1, MACs rewritten, nothing else changed (spec 3, "The director is also a router"). The
// client's traffic to an address behind the director is not sent: the topology's router has
// no route into the real servers' segment.
#include "matrix/kinds/steps.h"

namespace vslab::matrix::kinds {

using namespace std::chrono_literals;
using expect::FrameExpectation;

void routed(MatrixBed& mb, const Cell& c, Findings& f) {
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
