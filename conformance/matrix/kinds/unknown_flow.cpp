// The unknown-flow kind: a TCP segment of no connection is not scheduled; the VIP answers
// with RST (spec 3).
#include "matrix/kinds/steps.h"

namespace vslab::matrix::kinds {

using namespace std::chrono_literals;
using expect::FrameExpectation;

void unknown_flow(MatrixBed& mb, const Cell& c, Findings& f) {
  if (c.family == Family::Ipv6) return unknown_flow6(mb, c, f);
  auto& bed = mb.bed();
  bed.restore(mb.rules(Proto::Tcp, c.scheduler, kRoomy));
  // Spec 3: a non-SYN segment of no connection gets RST from VIP:vport, seq = its ack.
  uint16_t cport = mb.next_client_port();
  bed.client().port->send(mb.tcp_from_client(Tins::TCP::ACK, cport, "", 777, 999));
  Tins::TCP rst(cport, mb.vport());
  rst.flags(Tins::TCP::RST);
  rst.seq(999);
  rst.window(0);
  f.check(bed.checker().expect_frame(*bed.client().port,
                                     FrameExpectation(bed.vip_stack_segment_at_client(rst)), 2s),
          "RST from the VIP");
  f.check(bed.checker().expect_no_other_frames(bed.rs_ports(), 50ms), "real servers");
}

}  // namespace vslab::matrix::kinds
