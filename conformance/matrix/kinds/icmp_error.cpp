// The icmp-error kind: a real server's ICMP error about a connection reaches the client as
// the connection's own traffic does (spec 3).
#include "matrix/kinds/steps.h"

namespace vslab::matrix::kinds {

using namespace std::chrono_literals;
using expect::Field;
using expect::FrameExpectation;

void icmp_error(MatrixBed& mb, const Cell& c, Findings& f) {
  auto& bed = mb.bed();
  bed.restore(mb.rules(Proto::Udp, c.scheduler, kRoomy));
  uint16_t cport = mb.next_client_port();
  auto sent = mb.udp_from_client(cport, "query");
  int rs = forwarded(mb, sent, f, "datagram to the real server");
  if (rs == 0) return;
  const port::CapturedFrame* got = nullptr;
  for (const auto& fr : bed.rs(rs).port->captured())
    if (fr.claimed) got = &fr;
  if (!f.require(got != nullptr, "the forwarded datagram is gone")) return;
  // The real server's port unreachable about what it received, quoting it whole.
  Tins::EthernetII at_rs(got->bytes.data(), got->bytes.size());
  const auto& in_ip = at_rs.rfind_pdu<Tins::IP>();
  auto quoted = Tins::IP(in_ip).serialize();
  Tins::ICMP unreachable(Tins::ICMP::DEST_UNREACHABLE);
  unreachable.code(3);
  Tins::IP ip(in_ip.src_addr(), in_ip.dst_addr());
  ip.ttl(64);
  auto error = Tins::EthernetII(at_rs.src_addr(), bed.rs(rs).mac) / ip / unreachable /
               Tins::RawPDU(quoted.data(), uint32_t(quoted.size()));
  bed.rs(rs).port->send(error);
  // Spec 3: the error travels with its connection: from the VIP to the client, TTL - 2, the
  // quoted header rewritten back to CIP:cport -> VIP:vport.
  FrameExpectation want(error);
  want.eth_src(bed.client_gateway_mac())
      .eth_dst(bed.client().mac)
      .ip_src(bed.vip())
      .ip_dst(bed.client().ip)
      .ttl(62)
      .expect_text(Field::QuotedIpSrc, bed.client().ip)
      .expect_text(Field::QuotedIpDst, bed.vip())
      .expect_text(Field::QuotedSrcPort, std::to_string(cport))
      .expect_text(Field::QuotedDstPort, std::to_string(mb.vport()))
      .ignore(Field::Payload)
      .ignore(Field::IpId);
  f.check(bed.checker().expect_frame(*bed.client().port, want, 2s), "ICMP error to the client");
}

}  // namespace vslab::matrix::kinds
