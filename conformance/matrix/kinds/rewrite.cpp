// The rewrite kind: a client's first packet reaches a real server rewritten as the mode does
// (spec 2), the reply comes back from the VIP where the director sees it, and an echo to the
// VIP is the director's to answer (spec 3). Its sctp cells send an SCTP INIT and answer it
// with an INIT ACK. Its IPv6 cells (tcp6, udp6) do the first two over IPv6, the hop limit
// standing for the TTL. The IPv4 UDP cells of NAT and FULLNAT also pass a datagram without a
// checksum both ways.
#include <memory>
#include <vector>

#include "matrix/kinds/steps.h"

namespace vslab::matrix::kinds {

using namespace std::chrono_literals;
using expect::Field;
using expect::FrameExpectation;

namespace {

// `frame`'s bytes with the UDP checksum 0: sent without one (libtins always computes it).
std::vector<uint8_t> without_udp_checksum(const Tins::EthernetII& frame) {
  auto bytes = Tins::EthernetII(frame).serialize();
  const std::size_t udp = 14 + std::size_t(bytes.at(14) & 0x0f) * 4;
  bytes.at(udp + 6) = 0;
  bytes.at(udp + 7) = 0;
  return bytes;
}

// What the client receives for rs`rs`'s answer to the client's `sent` (NAT and FULLNAT: the
// director sees replies), in the family of `sent`. `answer` is built from what rs`rs` actually
// received; with `no_checksum` a UDP answer goes without a checksum, and must come back with
// one computed (spec 2, NAT).
void reply_comes_back(MatrixBed& mb, int rs, const Tins::EthernetII& sent, Proto proto, Findings& f,
                      bool no_checksum = false) {
  const bool tcp = proto == Proto::Tcp;
  auto& bed = mb.bed();
  const port::CapturedFrame* got = nullptr;
  for (const auto& c : bed.rs(rs).port->captured())
    if (c.claimed) got = &c;
  if (!f.require(got != nullptr, "reply: the forwarded frame is gone")) return;
  Tins::EthernetII at_rs(got->bytes.data(), got->bytes.size());
  std::unique_ptr<Tins::PDU> ip;
  std::string vip, cip;
  if (const auto* in6 = at_rs.find_pdu<Tins::IPv6>()) {
    Tins::IPv6 ip6(in6->src_addr(), in6->dst_addr());
    ip6.hop_limit(64);
    ip.reset(ip6.clone());
    vip = mb.vip6();
    cip = sent.rfind_pdu<Tins::IPv6>().src_addr().to_string();
  } else {
    const auto& in_ip = at_rs.rfind_pdu<Tins::IP>();
    Tins::IP ip4(in_ip.src_addr(), in_ip.dst_addr());
    ip4.ttl(64);
    ip.reset(ip4.clone());
    vip = bed.vip();
    cip = sent.rfind_pdu<Tins::IP>().src_addr().to_string();
  }
  Tins::EthernetII reply = Tins::EthernetII(at_rs.src_addr(), bed.rs(rs).mac) / *ip;
  uint16_t cport = 0;
  if (proto == Proto::Sctp) {
    // The INIT ACK, from RIP:rport as the real server received the INIT.
    const auto& raw = at_rs.rfind_pdu<Tins::RawPDU>().payload();
    const uint16_t from = uint16_t(raw[2] << 8 | raw[3]), to = uint16_t(raw[0] << 8 | raw[1]);
    reply.rfind_pdu<Tins::IP>().protocol(frames::kProtoSctp);
    reply /= Tins::RawPDU(frames::sctp_packet(
        from, to, 0x1000, {frames::sctp_chunk(frames::sctp::kInitAck, 0x1100)}));
    const auto& asked = sent.rfind_pdu<Tins::RawPDU>().payload();
    cport = uint16_t(asked[0] << 8 | asked[1]);
  } else if (tcp) {
    const auto& seg = at_rs.rfind_pdu<Tins::TCP>();
    Tins::TCP synack(seg.sport(), seg.dport());
    synack.flags(Tins::TCP::SYN | Tins::TCP::ACK);
    synack.seq(5000);
    synack.ack_seq(seg.seq() + 1);
    reply /= synack;
  } else {
    const auto& dgram = at_rs.rfind_pdu<Tins::UDP>();
    reply /= Tins::UDP(dgram.sport(), dgram.dport()) / Tins::RawPDU("answer");
  }
  if (no_checksum)
    bed.rs(rs).port->send(without_udp_checksum(reply));
  else
    bed.rs(rs).port->send(reply);
  // Spec 2: VIP:vport -> CIP:cport, TTL (hop limit) - 1 at the director and the router; an
  // SCTP port changed back gets its CRC32c computed again (the checksum stays "valid").
  if (proto != Proto::Sctp)
    cport = tcp ? sent.rfind_pdu<Tins::TCP>().sport() : sent.rfind_pdu<Tins::UDP>().sport();
  FrameExpectation back(reply);
  back.eth_src(bed.client_gateway_mac())
      .eth_dst(bed.client().mac)
      .ip_src(vip)
      .ip_dst(cip)
      .ttl(62)
      .sport(mb.vport())
      .dport(cport);
  f.check(bed.checker().expect_frame(*bed.client().port, back),
          no_checksum ? "reply without a UDP checksum to the client" : "reply to the client");
}

// Spec 2, NAT (and FULLNAT, which rewrites as NAT does): a datagram sent without a checksum
// leaves with one computed over what it carries after the rewrite, both ways, where the
// director rewrites addresses; DR and TUN leave the datagram as it came.
void datagram_without_checksum(MatrixBed& mb, Findings& f) {
  auto sent = mb.udp_from_client(mb.next_client_port(), "no checksum");
  mb.bed().client().port->send(without_udp_checksum(sent));
  // The expectation's checksum is recomputed: "valid".
  const int rs = reached_server(
      mb, [&](int rs) { return mb.at_real_server(sent, rs); }, f,
      "a datagram without a UDP checksum, to the real server");
  if (rs != 0) reply_comes_back(mb, rs, sent, Proto::Udp, f, true);
}

}  // namespace

void rewrite(MatrixBed& mb, const Cell& c, Findings& f) {
  auto& bed = mb.bed();
  if (c.proto == Proto::Icmp) {
    // Spec 3: echo to a VIP is the director's to answer, from the VIP (TTL 64, one hop), with
    // the request's TOS and no DF.
    bed.restore(mb.rules(Proto::Tcp, c.scheduler, kRoomy));
    Tins::ICMP echo(Tins::ICMP::ECHO_REQUEST);
    echo.id(mb.next_client_port());
    echo.sequence(7);
    // A TOS of its own (AF11, ECN bits clear): the reply carries the request's.
    constexpr uint8_t kTos = 0x28;
    auto request = bed.from_client(echo / Tins::RawPDU("ping"));
    request.rfind_pdu<Tins::IP>().tos(kTos);
    bed.client().port->send(request);
    Tins::ICMP reply(Tins::ICMP::ECHO_REPLY);
    reply.id(echo.id());
    reply.sequence(7);
    Tins::IP ip(bed.client().ip, bed.vip());
    ip.ttl(63);
    ip.tos(kTos);
    // No DF: the kernel's ICMP socket does not ask for path MTU discovery; so the ID is the
    // stack's own counter, not pinned down.
    FrameExpectation want(Tins::EthernetII(bed.client().mac, bed.client_gateway_mac()) / ip /
                          reply / Tins::RawPDU("ping"));
    want.df(false).ignore(Field::IpId);
    f.check(bed.checker().expect_frame(*bed.client().port, want, 2s), "echo reply");
    f.check(bed.checker().expect_no_other_frames(bed.rs_ports(), 50ms), "real servers");
    return;
  }
  const bool tcp = c.proto == Proto::Tcp;
  // IPv6 (tcp6, udp6): the same exchange between the topology's IPv6 addresses.
  const bool v6 = c.family == Family::Ipv6;
  bed.restore(mb.rules(c.proto, c.scheduler, kRoomy, "", "", c.family));
  uint16_t cport = mb.next_client_port();
  Tins::EthernetII sent;
  if (c.proto == Proto::Sctp)
    // An INIT, the one chunk that makes a connection: NAT changes its port, so the real server
    // must get a CRC32c computed again; DR and TUN leave the packet's bytes alone.
    sent = mb.sctp_from_client(cport, frames::sctp::kInit);
  else if (v6)
    sent = tcp ? mb.tcp6_from_client(Tins::TCP::SYN, cport) : mb.udp6_from_client(cport, "query");
  else
    sent = tcp ? mb.tcp_from_client(Tins::TCP::SYN, cport) : mb.udp_from_client(cport, "query");
  int rs = forwarded(mb, sent, f, "to the real server");
  if (rs == 0) return;
  if (!replies_pass_director(mb.mode())) return;
  reply_comes_back(mb, rs, sent, c.proto, f);
  if (c.proto == Proto::Udp && !v6) datagram_without_checksum(mb, f);
}

}  // namespace vslab::matrix::kinds
