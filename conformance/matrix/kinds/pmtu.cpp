// The pmtu kind: a packet that does not fit the tunnel gets fragmentation needed from the
// VIP (spec 2, TUN).
#include <string>

#include "matrix/kinds/steps.h"

namespace vslab::matrix::kinds {

using namespace std::chrono_literals;

void pmtu(MatrixBed& mb, const Cell& c, Findings& f) {
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
