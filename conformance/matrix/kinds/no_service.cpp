// The no-service kind: a SYN, a UDP datagram or an SCTP INIT to a port of the VIP that has no
// service is not scheduled; the director's own stack answers it from the VIP (spec 3).
#include "frames/sctp.h"
#include "matrix/kinds/steps.h"

namespace vslab::matrix::kinds {

using namespace std::chrono_literals;
using expect::Field;
using expect::FrameExpectation;

namespace {

// Above every port fresh_service hands out and apart from the real servers' 8080, so no rule
// of this cell or another names it.
constexpr uint16_t kPortWithoutService = 8999;

// Sends a SYN to the port; what the client receives.
FrameExpectation syn_answered(MatrixBed& mb) {
  auto& bed = mb.bed();
  const uint16_t port = kPortWithoutService, cport = mb.next_client_port();
  auto syn = mb.tcp_from_client(Tins::TCP::SYN, cport);
  syn.rfind_pdu<Tins::TCP>().dport(port);
  bed.client().port->send(syn);
  // Spec 3: RST+ACK from VIP:port, seq 0, ack = the SYN's seq + 1, TTL 64 (63 after the
  // router), DF, ID 0; a reset advertises no window.
  Tins::TCP rst(cport, port);
  rst.flags(Tins::TCP::RST | Tins::TCP::ACK);
  rst.seq(0);
  rst.ack_seq(syn.rfind_pdu<Tins::TCP>().seq() + 1);
  rst.window(0);
  return FrameExpectation(bed.vip_stack_segment_at_client(rst));
}

// Sends a datagram to the port; what the client receives.
FrameExpectation datagram_answered(MatrixBed& mb) {
  auto& bed = mb.bed();
  const uint16_t port = kPortWithoutService, cport = mb.next_client_port();
  auto dgram = mb.udp_from_client(cport, "query");
  dgram.rfind_pdu<Tins::UDP>().dport(port);
  bed.client().port->send(dgram);
  // Spec 3: ICMP port unreachable from the VIP, TOS 0xc0, TTL 64 (63 after the router),
  // quoting the datagram as the director received it (the router took one off its TTL).
  Tins::IP quoted = dgram.rfind_pdu<Tins::IP>();
  quoted.ttl(quoted.ttl() - 1);
  const auto quoted_bytes = quoted.serialize();
  Tins::ICMP unreachable(Tins::ICMP::DEST_UNREACHABLE);
  unreachable.code(3);
  Tins::IP ip(bed.client().ip, bed.vip());
  ip.ttl(63);
  ip.tos(0xc0);
  FrameExpectation want(Tins::EthernetII(bed.client().mac, bed.client_gateway_mac()) / ip /
                        unreachable /
                        Tins::RawPDU(quoted_bytes.data(), uint32_t(quoted_bytes.size())));
  want.ignore(Field::IpId).ignore(Field::IpDf);
  return want;
}

// Sends an INIT to the port; what the client receives. IPVS passes it to the director's stack,
// and a Linux 6.1 director that has not loaded the sctp module (nothing loads it but an SCTP
// socket) has no handler for protocol 132: ip_local_deliver answers protocol unreachable,
// which the qemu-kernel DUT shows (docs/ipvs.md, "SCTP services").
FrameExpectation init_answered(MatrixBed& mb) {
  auto& bed = mb.bed();
  const uint16_t cport = mb.next_client_port();
  auto init = bed.from_client(Tins::RawPDU(
      frames::sctp_packet(cport, kPortWithoutService, 0,
                          {frames::sctp_chunk(frames::sctp::kInit, 0x1000, "request")})));
  init.rfind_pdu<Tins::IP>().protocol(frames::kProtoSctp);
  bed.client().port->send(init);
  Tins::IP about = init.rfind_pdu<Tins::IP>();
  about.ttl(about.ttl() - 1);  // as the director received it, past the router
  return vip_icmp_error_at_client(mb, 3, 2, about);
}

}  // namespace

void no_service(MatrixBed& mb, const Cell& c, Findings& f) {
  if (c.family == Family::Ipv6) return no_service6(mb, c, f);
  auto& bed = mb.bed();
  // The cell's own service, on another port, so the VIP has one of this protocol.
  bed.restore(mb.rules(c.proto, c.scheduler, kRoomy));
  auto want = c.proto == Proto::Tcp    ? syn_answered(mb)
              : c.proto == Proto::Sctp ? init_answered(mb)
                                       : datagram_answered(mb);
  f.check(bed.checker().expect_frame(*bed.client().port, want, 2s), "the VIP's own answer");
  f.check(bed.checker().expect_no_other_frames(bed.rs_ports(), 50ms), "real servers");
}

}  // namespace vslab::matrix::kinds
