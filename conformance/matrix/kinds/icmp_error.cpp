// The icmp-error kind: an ICMP error about a connection, sent towards the client from the real
// servers' side, reaches the client as the connection's own traffic does (spec 3); one with a
// bad ICMP checksum is dropped. NAT and FULLNAT: the real server's port unreachable about
// what it received. TUN: a frag-needed about the tunnelled packet, sent to the director's
// address and quoting the IPIP header, turned round towards the client (spec 2, TUN).
#include <utility>

#include "matrix/kinds/steps.h"

namespace vslab::matrix::kinds {

using namespace std::chrono_literals;
using expect::Field;
using expect::FrameExpectation;

namespace {

Tins::EthernetII error_frame(const Tins::EthernetII& at_rs, const std::string& rs_mac,
                             Tins::ICMP icmp) {
  // Quoting what the real server received, from its (outer) IP header on.
  const auto& in_ip = at_rs.rfind_pdu<Tins::IP>();
  const auto quoted = Tins::IP(in_ip).serialize();
  Tins::IP ip(in_ip.src_addr(), in_ip.dst_addr());
  ip.ttl(64);
  return Tins::EthernetII(at_rs.src_addr(), rs_mac) / ip / icmp /
         Tins::RawPDU(quoted.data(), uint32_t(quoted.size()));
}

// NAT and FULLNAT: rs`rs`'s port unreachable; spec 3: from the VIP to the client, TTL - 2, the
// quoted header rewritten back to CIP:cport -> VIP:vport.
std::pair<Tins::EthernetII, FrameExpectation> port_unreachable(MatrixBed& mb,
                                                               const Tins::EthernetII& at_rs,
                                                               int rs, uint16_t cport) {
  auto& bed = mb.bed();
  Tins::ICMP unreachable(Tins::ICMP::DEST_UNREACHABLE);
  unreachable.code(3);
  auto error = error_frame(at_rs, bed.rs(rs).mac, unreachable);
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
  return {error, want};
}

// TUN: a frag-needed from the real server's side to the DIP about the IPIP packet. Spec 2: the
// client gets the same type and code from the VIP, quoting the inner packet, the MTU less the
// tunnel's 20 bytes; as any error of the director's own stack (spec 3: TTL 64, TOS 0xc0).
// The reported MTU is the links' own 1500: a lower one would stay in the kernel's route to
// the real server for ten minutes and change what later pmtu cells of this bed see.
std::pair<Tins::EthernetII, FrameExpectation> tunnel_frag_needed(MatrixBed& mb,
                                                                 const Tins::EthernetII& at_rs,
                                                                 int rs) {
  auto& bed = mb.bed();
  Tins::ICMP frag_needed(Tins::ICMP::DEST_UNREACHABLE);
  frag_needed.code(4);
  frag_needed.mtu(1500);
  auto error = error_frame(at_rs, bed.rs(rs).mac, frag_needed);
  const auto& inner = at_rs.rfind_pdu<Tins::IP>().inner_pdu()->rfind_pdu<Tins::IP>();
  return {error, vip_icmp_error_at_client(mb, 3, 4, inner, 1480)};
}

}  // namespace

void icmp_error(MatrixBed& mb, const Cell& c, Findings& f) {
  if (c.family == Family::Ipv6) return icmp_error6(mb, c, f);
  auto& bed = mb.bed();
  bed.restore(mb.rules(Proto::Udp, c.scheduler, kRoomy));
  uint16_t cport = mb.next_client_port();
  auto sent = mb.udp_from_client(cport, "query");
  int rs = forwarded(mb, sent, f, "datagram to the real server");
  if (rs == 0) return;
  const port::CapturedFrame* got = last_claimed(mb, rs);
  if (!f.require(got != nullptr, "the forwarded datagram is gone")) return;
  Tins::EthernetII at_rs(got->bytes.data(), uint32_t(got->bytes.size()));
  auto [error, want] = mb.mode() == Mode::Tun ? tunnel_frag_needed(mb, at_rs, rs)
                                              : port_unreachable(mb, at_rs, rs, cport);
  // The same error with a bad checksum first: dropped (spec 3). The real server's port is
  // read in order, so once the good one is through the bad one has been dealt with.
  send_with_bad_icmp_checksum(*bed.rs(rs).port, error);
  bed.rs(rs).port->send(error);
  f.check(bed.checker().expect_frame(*bed.client().port, want, 2s), "ICMP error to the client");
  f.check(bed.checker().expect_no_other_frames({bed.client().port}, 20ms),
          "the same error with a bad ICMP checksum (to be dropped)");
}

}  // namespace vslab::matrix::kinds
