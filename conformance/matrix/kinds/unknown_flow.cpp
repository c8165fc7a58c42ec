// The unknown-flow kind: a TCP segment of no connection is not scheduled; the VIP answers
// with RST (spec 3). SCTP: a packet of no connection that is not an INIT is not scheduled
// either and goes to the director's stack, which without the sctp module answers protocol
// unreachable; one with no chunk at all is dropped (docs/ipvs.md, "SCTP services").
#include "frames/sctp.h"
#include "matrix/kinds/steps.h"

namespace vslab::matrix::kinds {

using namespace std::chrono_literals;
using expect::FrameExpectation;

namespace {

void unknown_sctp(MatrixBed& mb, const Cell& c, Findings& f) {
  auto& bed = mb.bed();
  bed.restore(mb.rules(Proto::Sctp, c.scheduler, kRoomy));
  // The common header alone: sctp_conn_schedule finds no chunk and drops it.
  auto bare = bed.from_client(
      Tins::RawPDU(frames::sctp_packet(mb.next_client_port(), mb.vport(), 0x1100, {})));
  bare.rfind_pdu<Tins::IP>().protocol(frames::kProtoSctp);
  bed.client().port->send(bare);
  // One error only: the guest's ICMP errors to the client are rate limited.
  expect_vip_icmp_error_for(mb, mb.sctp_from_client(mb.next_client_port(), frames::sctp::kData), 3,
                            2, f, "protocol unreachable from the VIP for a DATA chunk");
  mb.barrier();
  f.check(bed.checker().expect_no_other_frames({bed.client().port}, 10ms),
          "the client (nothing for a packet without a chunk)");
  f.check(bed.checker().expect_no_other_frames(bed.rs_ports(), 10ms), "real servers");
}

}  // namespace

void unknown_flow(MatrixBed& mb, const Cell& c, Findings& f) {
  if (c.family == Family::Ipv6) return unknown_flow6(mb, c, f);
  if (c.proto == Proto::Sctp) return unknown_sctp(mb, c, f);
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
