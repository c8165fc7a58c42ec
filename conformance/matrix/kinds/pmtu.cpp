// The pmtu kind: a packet that does not fit the tunnel gets fragmentation needed from the
// VIP (spec 2, TUN).
#include <string>

#include "matrix/kinds/steps.h"

namespace vslab::matrix::kinds {

using namespace std::chrono_literals;
using expect::Field;
using expect::FrameExpectation;

void pmtu(MatrixBed& mb, const Cell& c, Findings& f) {
  auto& bed = mb.bed();
  bed.restore(mb.rules(Proto::Tcp, c.scheduler, kRoomy));
  Tins::TCP syn(mb.vport(), mb.next_client_port());
  syn.flags(Tins::TCP::SYN);
  // 1500 bytes of IP with DF: fits every link, not the tunnel (+20).
  auto s = bed.from_client(syn / Tins::RawPDU(std::string(1500 - 20 - 20, 'x')));
  bed.client().port->send(s);
  // Spec 2: fragmentation needed from the VIP, next-hop MTU 1480, quoting the packet with its
  // TTL decremented (62); TOS 0xc0; the router takes one off.
  Tins::IP quoted = s.rfind_pdu<Tins::IP>();
  quoted.ttl(62);
  auto quoted_bytes = Tins::IP(quoted).serialize();
  quoted_bytes.resize(576 - 20 - 8);  // an ICMP error fits in 576 bytes
  Tins::ICMP frag_needed(Tins::ICMP::DEST_UNREACHABLE);
  frag_needed.code(4);
  frag_needed.mtu(1480);
  Tins::IP ip(bed.client().ip, bed.vip());
  ip.ttl(63);
  ip.tos(0xc0);
  FrameExpectation want(Tins::EthernetII(bed.client().mac, bed.client_gateway_mac()) / ip /
                        frag_needed /
                        Tins::RawPDU(quoted_bytes.data(), uint32_t(quoted_bytes.size())));
  want.ignore(Field::IpId).ignore(Field::IpDf).ignore(Field::Payload);
  f.check(bed.checker().expect_frame(*bed.client().port, want, 2s), "fragmentation needed");
}

}  // namespace vslab::matrix::kinds
