// The IPv6 cells of the kinds about ICMP and the director's own answers (ttl-one, no-service,
// unknown-flow, icmp-error, client-icmp, unavailable), as a kernel director holding the vip6 sends
// them: its stack's errors and resets from the VIP (icmp6_send, tcp_v6_send_reset: hop limit 64,
// traffic class 0 on errors, the segment's without ECN on a RST) and the errors about a connection
// passed on as ip_vs_in_icmp_v6 and ip_vs_out_icmp_v6 do. The flow label of the director's own
// frames is a keyed hash of the flow (auto_flowlabels, docs/ipvs.md section 3): any value but 0.
#include "matrix/kinds/steps.h"

namespace vslab::matrix::kinds {

using namespace std::chrono_literals;
using expect::Field;
using expect::FrameExpectation;

namespace {

// Above every port fresh_service hands out, as the IPv4 no-service cell's.
constexpr uint16_t kPortWithoutService = 8999;

// What the client receives when the director's stack sends it an ICMPv6 error about `about`
// (as the director received it): from the VIP, hop limit 64 (63 after the router), the quote
// as far as 1280 bytes allow.
FrameExpectation vip_icmp6_error_at_client(MatrixBed& mb, uint8_t type, uint8_t code,
                                           const Tins::IPv6& about) {
  auto& bed = mb.bed();
  auto quoted = Tins::IPv6(about).serialize();
  if (quoted.size() > 1280 - 48) quoted.resize(1280 - 48);
  Tins::ICMPv6 error(static_cast<Tins::ICMPv6::Types>(type));
  error.code(code);
  Tins::IPv6 ip(mb.ipv6_of("client"), mb.vip6());
  ip.hop_limit(63);
  FrameExpectation want(Tins::EthernetII(bed.client().mac, bed.client_gateway_mac()) / ip / error /
                        Tins::RawPDU(quoted.data(), uint32_t(quoted.size())));
  want.in_range(Field::IpFlowLabel, 1, 0xfffff);
  return want;
}

// A segment from the VIP's own stack as the client receives it: hop limit 64, less the router's.
FrameExpectation vip_segment6_at_client(MatrixBed& mb, const Tins::TCP& segment) {
  auto& bed = mb.bed();
  Tins::IPv6 ip(mb.ipv6_of("client"), mb.vip6());
  ip.hop_limit(63);
  FrameExpectation want(Tins::EthernetII(bed.client().mac, bed.client_gateway_mac()) / ip /
                        segment);
  want.in_range(Field::IpFlowLabel, 1, 0xfffff);
  return want;
}

// The cell's UDP service restored and the client's datagram to [vip6]:vport forwarded: the
// client port, the real server that got it and the frame it got (nullptr: a finding is noted).
struct Forwarded {
  uint16_t cport = 0;
  int rs = 0;
  const port::CapturedFrame* got = nullptr;
};
Forwarded datagram_forwarded(MatrixBed& mb, const Cell& c, Findings& f) {
  mb.bed().restore(mb.rules(Proto::Udp, c.scheduler, kRoomy, "", "", c.family));
  Forwarded out;
  out.cport = mb.next_client_port();
  out.rs = forwarded(mb, mb.udp6_from_client(out.cport, "query"), f, "datagram to the real server");
  if (out.rs == 0) return out;
  out.got = last_claimed(mb, out.rs);
  f.require(out.got != nullptr, "the forwarded datagram is gone");
  return out;
}

// A SYN to a port of the vip6 with no service; tcp_v6_send_reset answers RST+ACK from
// [VIP]:port, seq 0, ack = the SYN's seq + 1, window 0.
FrameExpectation syn6_answered(MatrixBed& mb, uint16_t cport) {
  auto& bed = mb.bed();
  auto syn = mb.tcp6_from_client(Tins::TCP::SYN, cport);
  syn.rfind_pdu<Tins::TCP>().dport(kPortWithoutService);
  bed.client().port->send(syn);
  Tins::TCP rst(cport, kPortWithoutService);
  rst.flags(Tins::TCP::RST | Tins::TCP::ACK);
  rst.seq(0);
  rst.ack_seq(syn.rfind_pdu<Tins::TCP>().seq() + 1);
  rst.window(0);
  return vip_segment6_at_client(mb, rst);
}

// A datagram to such a port: port unreachable from the VIP, quoting it as the director got it.
FrameExpectation datagram6_answered(MatrixBed& mb, uint16_t cport) {
  auto& bed = mb.bed();
  auto dgram = mb.udp6_from_client(cport, "query");
  dgram.rfind_pdu<Tins::UDP>().dport(kPortWithoutService);
  bed.client().port->send(dgram);
  Tins::IPv6 about = dgram.rfind_pdu<Tins::IPv6>();
  about.hop_limit(uint8_t(about.hop_limit() - 1));
  return vip_icmp6_error_at_client(mb, 1, 4, about);
}

}  // namespace

void ttl_one6(MatrixBed& mb, const Cell& c, Findings& f) {
  auto& bed = mb.bed();
  bed.restore(mb.rules(Proto::Tcp, c.scheduler, kRoomy, "", "", c.family));
  auto syn = mb.tcp6_from_client(Tins::TCP::SYN, mb.next_client_port());
  syn.rfind_pdu<Tins::IPv6>().hop_limit(2);  // the router takes one
  bed.client().port->send(syn);
  Tins::IPv6 about = syn.rfind_pdu<Tins::IPv6>();
  about.hop_limit(1);
  f.check(bed.checker().expect_frame(*bed.client().port, vip_icmp6_error_at_client(mb, 3, 0, about),
                                     2s),
          "hop limit exceeded from the VIP");
  mb.barrier(Family::Ipv6);
  f.check(bed.checker().expect_no_other_frames(bed.rs_ports(), 20ms), "real servers");
}

void no_service6(MatrixBed& mb, const Cell& c, Findings& f) {
  auto& bed = mb.bed();
  bed.restore(mb.rules(c.proto, c.scheduler, kRoomy, "", "", c.family));
  const uint16_t cport = mb.next_client_port();
  auto want = c.proto == Proto::Tcp ? syn6_answered(mb, cport) : datagram6_answered(mb, cport);
  f.check(bed.checker().expect_frame(*bed.client().port, want, 2s), "the VIP's own answer");
  f.check(bed.checker().expect_no_other_frames(bed.rs_ports(), 50ms), "real servers");
}

void unavailable6(MatrixBed& mb, const Cell& c, Findings& f) {
  auto& bed = mb.bed();
  const bool tcp = c.proto == Proto::Tcp;
  bed.restore(mb.rules(c.proto, c.scheduler, tcp ? std::vector<int>{0, 0, 0} : std::vector<int>{},
                       "", "", c.family));
  const uint16_t cport = mb.next_client_port();
  auto sent =
      tcp ? mb.tcp6_from_client(Tins::TCP::SYN, cport) : mb.udp6_from_client(cport, "query");
  bed.client().port->send(sent);
  // ip_vs_leave over IPv6: ICMPv6 port unreachable (type 1, code 4) from the VIP, for TCP too.
  Tins::IPv6 about = sent.rfind_pdu<Tins::IPv6>();
  about.hop_limit(uint8_t(about.hop_limit() - 1));
  f.check(bed.checker().expect_frame(*bed.client().port, vip_icmp6_error_at_client(mb, 1, 4, about),
                                     2s),
          "port unreachable from the VIP");
  mb.barrier(Family::Ipv6);
  f.check(bed.checker().expect_no_other_frames(bed.rs_ports(), 20ms), "real servers");
  f.require(!listed_connection(mb, "[" + mb.ipv6_of("client") + "]:" + std::to_string(cport)),
            "-L -n -c lists an entry for a packet no destination took");
}

void unknown_flow6(MatrixBed& mb, const Cell& c, Findings& f) {
  auto& bed = mb.bed();
  bed.restore(mb.rules(Proto::Tcp, c.scheduler, kRoomy, "", "", c.family));
  // A non-SYN segment of no connection: RST from [VIP]:vport, seq = its ack.
  const uint16_t cport = mb.next_client_port();
  auto ack = mb.tcp6_from_client(Tins::TCP::ACK, cport, 777);
  ack.rfind_pdu<Tins::TCP>().ack_seq(999);
  bed.client().port->send(ack);
  Tins::TCP rst(cport, mb.vport());
  rst.flags(Tins::TCP::RST);
  rst.seq(999);
  rst.window(0);
  f.check(bed.checker().expect_frame(*bed.client().port, vip_segment6_at_client(mb, rst), 2s),
          "RST from the VIP");
  f.check(bed.checker().expect_no_other_frames(bed.rs_ports(), 50ms), "real servers");
}

void icmp_error6(MatrixBed& mb, const Cell& c, Findings& f) {
  auto& bed = mb.bed();
  const auto [cport, rs, got] = datagram_forwarded(mb, c, f);
  if (!got) return;
  // rs`rs`'s port unreachable quoting what it received: CIP:cport -> RIP:rport.
  Tins::EthernetII at_rs(got->bytes.data(), uint32_t(got->bytes.size()));
  const auto& in_ip = at_rs.rfind_pdu<Tins::IPv6>();
  const auto quoted = Tins::IPv6(in_ip).serialize();
  Tins::ICMPv6 unreachable(Tins::ICMPv6::DEST_UNREACHABLE);
  unreachable.code(4);
  Tins::IPv6 ip(in_ip.src_addr(), in_ip.dst_addr());
  ip.hop_limit(64);
  Tins::EthernetII error = Tins::EthernetII(at_rs.src_addr(), bed.rs(rs).mac) / ip / unreachable /
                           Tins::RawPDU(quoted.data(), uint32_t(quoted.size()));
  if (mb.mode() == Mode::Tun) {
    // The error quotes the ip6ip6 packet (DIP -> RIP): Linux 6.1's ip_vs_in_icmp_v6 finds no
    // connection for it and, unlike IPv4's ip_vs_in_icmp, has no case for its own tunnels, so
    // nothing reaches the client (seen in the qemu guest).
    send_with_bad_icmp_checksum(*bed.rs(rs).port, error);
    bed.rs(rs).port->send(error);
    mb.barrier(Family::Ipv6);
    f.check(bed.checker().expect_no_other_frames({bed.client().port}, 0ms),
            "a real server's error about the tunnelled packet (dropped)");
    return;
  }
  // ip_vs_nat_icmp_v6: from the VIP, the quote's destination back to [VIP]:vport, hop limit
  // less one at the director and the router. FULLNAT (vsd's design, its IPv4 relay's): the
  // error came to the local address and quotes it; the client gets the same, its own address
  // and port back in the quote's source.
  FrameExpectation want(error);
  want.eth_src(bed.client_gateway_mac())
      .eth_dst(bed.client().mac)
      .ip_src(mb.vip6())
      .ip_dst(mb.ipv6_of("client"))
      .ttl(62)
      .expect_text(Field::QuotedIpSrc, mb.ipv6_of("client"))
      .expect_text(Field::QuotedIpDst, mb.vip6())
      .expect_text(Field::QuotedSrcPort, std::to_string(cport))
      .expect_text(Field::QuotedDstPort, std::to_string(mb.vport()))
      .ignore(Field::Payload);
  // The same error with a bad checksum first: dropped. The real server's port is read in
  // order, so once the good one is through the bad one has been dealt with.
  send_with_bad_icmp_checksum(*bed.rs(rs).port, error);
  bed.rs(rs).port->send(error);
  f.check(bed.checker().expect_frame(*bed.client().port, want, 2s), "ICMPv6 error to the client");
  f.check(bed.checker().expect_no_other_frames({bed.client().port}, 20ms),
          "the same error with a bad ICMPv6 checksum (to be dropped)");
}

void client_icmp6(MatrixBed& mb, const Cell& c, Findings& f) {
  auto& bed = mb.bed();
  const auto [cport, rs, got] = datagram_forwarded(mb, c, f);
  if (!got) return;
  // The client's port unreachable about the answer it got from [VIP]:vport, quoted whole.
  Tins::IPv6 answer(mb.ipv6_of("client"), mb.vip6());
  answer.hop_limit(62);
  const auto answer_bytes =
      Tins::IPv6(answer / Tins::UDP(cport, mb.vport()) / Tins::RawPDU("answer")).serialize();
  Tins::ICMPv6 unreachable(Tins::ICMPv6::DEST_UNREACHABLE);
  unreachable.code(4);
  Tins::IPv6 ip(mb.vip6(), mb.ipv6_of("client"));
  ip.hop_limit(64);
  Tins::EthernetII error = Tins::EthernetII(bed.client_gateway_mac(), bed.client().mac) / ip /
                           unreachable /
                           Tins::RawPDU(answer_bytes.data(), uint32_t(answer_bytes.size()));
  if (mb.mode() == Mode::Nat || mb.mode() == Mode::FullNat) {
    // NAT drops the one with a bad checksum, as for IPv4; FULLNAT (vsd's own design, as its
    // IPv4 relay) too.
    send_with_bad_icmp_checksum(*bed.client().port, error);
    bed.client().port->send(error);
    // ip_vs_nat_icmp_v6: to the real server, the quote's source its address and port.
    const std::string rip = mb.ipv6_of("rs" + std::to_string(rs));
    FrameExpectation want(error);
    want.eth_src(bed.mac("director", "eth1"))
        .eth_dst(bed.rs(rs).mac)
        .ip_dst(rip)
        .ttl(62)
        .expect_text(Field::QuotedIpSrc, rip)
        .expect_text(Field::QuotedSrcPort, std::to_string(mb.rport()))
        .ignore(Field::Payload);
    if (mb.mode() == Mode::FullNat) {
      // FULLNAT: from the local address, the quote's destination the local end the real server
      // answered (as its datagram from the director had them).
      Tins::EthernetII at_rs(got->bytes.data(), uint32_t(got->bytes.size()));
      const std::string lip = at_rs.rfind_pdu<Tins::IPv6>().src_addr().to_string();
      const auto lport = at_rs.rfind_pdu<Tins::UDP>().sport();
      want.ip_src(lip)
          .expect_text(Field::QuotedIpDst, lip)
          .expect_text(Field::QuotedDstPort, std::to_string(lport));
    }
    f.check(bed.checker().expect_frame(*bed.rs(rs).port, want, 2s),
            "ICMPv6 error to the real server");
    f.check(bed.checker().expect_no_other_frames(bed.rs_ports(), 20ms),
            "the same error with a bad ICMPv6 checksum (to be dropped)");
    return;
  }
  // DR and TUN send it on as any packet of the connection, the one with a bad checksum too, as
  // it came: ip_vs_in_icmp_v6 checks no checksum (seen in the qemu guest, as over IPv4).
  const std::string bad_checksum = send_with_bad_icmp_checksum(*bed.client().port, error);
  bed.client().port->send(error);
  auto as_sent = mb.at_real_server(error, rs);
  f.check(bed.checker().expect_frame(
              *bed.rs(rs).port,
              FrameExpectation(as_sent).expect_text(Field::L4Checksum, bad_checksum), 2s),
          "the error with a bad ICMPv6 checksum, sent on as it came");
  f.check(bed.checker().expect_frame(*bed.rs(rs).port, as_sent, 2s),
          "ICMPv6 error to the real server");
}

}  // namespace vslab::matrix::kinds
