// The tunnel-error kind: ICMP errors that a router between a TUN director and its real server
// sends the director about a tunnelled datagram, quoting the IPIP packet. IPVS strips the
// tunnel and hands the client the same type and code from the VIP, quoting the inner packet,
// for destination unreachable and time exceeded; a frag-needed only when the client's packet
// has DF (else only the route to the real server learns the MTU); any other type is not IPVS's
// and the director's stack has no tunnel to give it to (spec 2, TUN; docs/ipvs.md).
#include <string>

#include "matrix/kinds/steps.h"

namespace vslab::matrix::kinds {

using namespace std::chrono_literals;

namespace {

struct TunnelErrorCase {
  const char* what;
  uint8_t type, code;
  bool client_df;  // DF on the client's datagram, and so on the tunnel's outer header
  bool relayed;    // the client hears of it
};

const TunnelErrorCase kCases[] = {
    {"host unreachable", 3, 1, true, true},
    {"TTL exceeded in transit", 11, 0, true, true},
    // The links' own 1500, so the route to the real server keeps its MTU for later cells.
    {"frag-needed about a datagram without DF", 3, 4, false, false},
    {"parameter problem", 12, 0, true, false},
};

// A host of the real servers' subnet that no node holds: the router's own address would make
// the router drop the error as a martian.
std::string router_between(const std::string& rip) {
  return rip.substr(0, rip.rfind('.')) + ".254";
}

}  // namespace

void tunnel_error(MatrixBed& mb, const Cell& c, Findings& f) {
  auto& bed = mb.bed();
  bed.restore(mb.rules(Proto::Udp, c.scheduler, kRoomy));
  for (const auto& kase : kCases) {
    const std::string what = kase.what;
    auto sent = mb.udp_from_client(mb.next_client_port(), "query");
    if (!kase.client_df) sent.rfind_pdu<Tins::IP>().flags(Tins::IP::Flags(0));
    int rs = forwarded(mb, sent, f, what + ": datagram to the real server");
    if (rs == 0) return;
    const port::CapturedFrame* got = last_claimed(mb, rs);
    if (!f.require(got != nullptr, what + ": the forwarded datagram is gone")) return;
    Tins::EthernetII at_rs(got->bytes.data(), uint32_t(got->bytes.size()));
    const auto& outer = at_rs.rfind_pdu<Tins::IP>();
    const auto quoted = Tins::IP(outer).serialize();
    Tins::ICMP icmp{static_cast<Tins::ICMP::Flags>(kase.type)};
    icmp.code(kase.code);
    if (kase.type == 3 && kase.code == 4) icmp.mtu(1500);
    // To the DIP, the tunnel's outer source, from beyond the router on the real servers' side.
    Tins::IP ip(outer.src_addr(), router_between(bed.rs(rs).ip));
    ip.ttl(64);
    bed.rs(rs).port->send(Tins::EthernetII(at_rs.src_addr(), bed.rs(rs).mac) / ip / icmp /
                          Tins::RawPDU(quoted.data(), uint32_t(quoted.size())));
    if (!kase.relayed) continue;
    const auto& inner = outer.inner_pdu()->rfind_pdu<Tins::IP>();
    f.check(bed.checker().expect_frame(
                *bed.client().port, vip_icmp_error_at_client(mb, kase.type, kase.code, inner), 2s),
            what + " to the client");
  }
  mb.barrier();
  f.check(bed.checker().expect_no_other_frames({bed.client().port}, 20ms),
          "errors the client should not hear of");
}

}  // namespace vslab::matrix::kinds
