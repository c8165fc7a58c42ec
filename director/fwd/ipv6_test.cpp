// The IPv6 frame functions, checked against libtins: a frame's checksums are right when libtins,
// which computes them afresh on serialising, gives the same bytes back.
#include "fwd/ipv6.h"

#include <gtest/gtest.h>
#include <tins/tins.h>

#include <vector>

#include "fwd/test_frames.h"

namespace vsd::fwd {
namespace {

using Bytes = std::vector<uint8_t>;

constexpr const char* kClientMac = "02:00:00:00:00:01";
constexpr const char* kDirectorMac = "02:00:00:00:00:02";
constexpr const char* kCip = "fd00:10::2";
constexpr const char* kVip = "fd00:20::100";
constexpr const char* kRip = "fd00:168:10::11";

Ip6 ip6(const char* text) {
  Tins::IPv6Address a(text);
  Ip6 out;
  std::copy(a.begin(), a.end(), out.begin());
  return out;
}

Tins::EthernetII eth(const char* dst, const char* src) {
  return Tins::EthernetII(Tins::HWAddress<6>(dst), Tins::HWAddress<6>(src));
}

Bytes serialize(Tins::PDU& pdu) {
  return pdu.serialize();
}

// The frame as libtins writes it with every checksum computed afresh.
Bytes recomputed(const Bytes& frame) {
  Tins::EthernetII e(frame.data(), uint32_t(frame.size()));
  return e.serialize();
}

Bytes tcp_syn(uint8_t hop_limit = 64) {
  Tins::IPv6 ip(kVip, kCip);
  ip.hop_limit(hop_limit);
  Tins::TCP tcp(80, 40000);
  tcp.flags(Tins::TCP::SYN);
  tcp.seq(1000);
  auto frame = eth(kDirectorMac, kClientMac) / ip / tcp / Tins::RawPDU("hello");
  return serialize(frame);
}

Bytes udp_datagram() {
  auto frame = eth(kDirectorMac, kClientMac) / Tins::IPv6(kVip, kCip) / Tins::UDP(53, 40001) /
               Tins::RawPDU("query");
  return serialize(frame);
}

TEST(ParseIpv6, ReadsAddressesPortsAndFlags) {
  Bytes frame = tcp_syn();
  auto p = parse_ipv6(frame);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->src, ip6(kCip));
  EXPECT_EQ(p->dst, ip6(kVip));
  EXPECT_TRUE(p->is_tcp());
  EXPECT_EQ(p->sport, 40000);
  EXPECT_EQ(p->dport, 80);
  EXPECT_EQ(p->tcp_flags, 0x02);
  EXPECT_EQ(p->hop_limit, 64);
  EXPECT_EQ(p->payload_len, 20 + 5);
  EXPECT_TRUE(l4_checksum_ok6(frame, *p));
}

TEST(ParseIpv6, RefusesATruncatedFrameAndLeavesExtensionHeadersAlone) {
  Bytes frame = tcp_syn();
  frame.resize(frame.size() - 1);
  EXPECT_FALSE(parse_ipv6(frame));
  // A hop-by-hop options header (next header 0) in front of the TCP header.
  Bytes with_ext = tcp_syn();
  with_ext[Packet6::kL3 + wire6::kNextHeader] = 0;
  auto p = parse_ipv6(with_ext);
  ASSERT_TRUE(p);
  EXPECT_TRUE(p->other);
  EXPECT_FALSE(p->has_ports());
}

TEST(ParseIpv6, WalksHopByHopDestinationAndRoutingHeadersToUdp) {
  Bytes frame = testing::udp6_datagram(
      100, {testing::pad_extension(kExtHopByHop), testing::pad_extension(kExtDestination),
            testing::routing_extension()});
  auto p = parse_ipv6(frame);
  ASSERT_TRUE(p);
  EXPECT_TRUE(p->is_udp());
  EXPECT_TRUE(p->has_extension_headers());
  EXPECT_EQ(p->l4_at, Packet6::kL4 + 24);
  EXPECT_EQ(p->sport, 40001);
  EXPECT_EQ(p->dport, 53);
  EXPECT_EQ(p->upper_len(), 8u + 100u);
  EXPECT_TRUE(l4_checksum_ok6(frame, *p));
}

TEST(ParseIpv6, NatOverExtensionHeadersRewritesTheUdpHeaderBehindThem) {
  Bytes frame = testing::udp6_datagram(
      40, {testing::pad_extension(kExtHopByHop), testing::pad_extension(kExtDestination)});
  const Bytes before = frame;
  auto p = parse_ipv6(frame);
  ASSERT_TRUE(p);
  nat_in6(frame, *p, ip6(kRip), 5353, *Mac::parse(kDirectorMac));
  auto q = parse_ipv6(frame);
  ASSERT_TRUE(q);
  EXPECT_EQ(q->dport, 5353);
  EXPECT_EQ(q->dst, ip6(kRip));
  EXPECT_TRUE(l4_checksum_ok6(frame, *q));
  // The extension headers travel unchanged.
  EXPECT_TRUE(std::equal(before.begin() + Packet6::kL4, before.begin() + Packet6::kL4 + 16,
                         frame.begin() + Packet6::kL4));
}

TEST(ParseIpv6, AChainItCannotWalkIsNotLookedInto) {
  // Hop-by-hop options after another header (RFC 8200 4.3).
  Bytes late_hop = testing::udp6_datagram(
      20, {testing::pad_extension(kExtDestination), testing::pad_extension(kExtHopByHop)});
  auto p = parse_ipv6(late_hop);
  ASSERT_TRUE(p);
  EXPECT_TRUE(p->other);
  EXPECT_FALSE(p->has_ports());
  // More headers than kMaxExtensionHeaders.
  std::vector<testing::Extension6> many(kMaxExtensionHeaders + 1,
                                        testing::pad_extension(kExtDestination));
  p = parse_ipv6(testing::udp6_datagram(20, many));
  ASSERT_TRUE(p);
  EXPECT_TRUE(p->other);
  // A header whose length runs past the payload.
  Bytes long_header = testing::udp6_datagram(20, {testing::pad_extension(kExtDestination)});
  long_header[Packet6::kL4 + 1] = 200;
  p = parse_ipv6(long_header);
  ASSERT_TRUE(p);
  EXPECT_TRUE(p->other);
  // Every truncation of a frame with a chain parses or is refused, never read past the end.
  Bytes chain = testing::udp6_datagram(
      8, {testing::pad_extension(kExtHopByHop), testing::routing_extension()});
  for (std::size_t n = 0; n < chain.size(); ++n) {
    Bytes cut(chain.begin(), chain.begin() + std::ptrdiff_t(n));
    EXPECT_FALSE(parse_ipv6(cut)) << n;
  }
}

TEST(ParseIpv6, ReadsTheFragmentHeader) {
  Bytes frame = testing::udp6_datagram(64, {testing::pad_extension(kExtHopByHop),
                                            {kExtFragment, {0, 0, 0x05, 0x91, 0, 0, 0x12, 0x34}}});
  auto p = parse_ipv6(frame);
  ASSERT_TRUE(p);
  EXPECT_TRUE(p->fragment);
  EXPECT_FALSE(p->has_ports());
  EXPECT_EQ(p->fragment_at, Packet6::kL4 + 8);
  EXPECT_EQ(p->names_fragment_at, Packet6::kL4);
  EXPECT_EQ(p->fragment_offset, 0x0590);
  EXPECT_TRUE(p->more_fragments);
  EXPECT_EQ(p->fragment_id, 0x1234u);
  EXPECT_EQ(p->l4_at, Packet6::kL4 + 16);
}

TEST(ParseIpv6, ABadChecksumIsSeen) {
  Bytes frame = tcp_syn();
  frame[Packet6::kL4 + 16] ^= 0x01;
  auto p = parse_ipv6(frame);
  ASSERT_TRUE(p);
  EXPECT_FALSE(l4_checksum_ok6(frame, *p));
}

TEST(NatIn6, RewritesDestinationHopLimitAndChecksum) {
  Bytes frame = tcp_syn();
  auto p = parse_ipv6(frame);
  ASSERT_TRUE(p);
  const Mac from{{0x02, 0, 0, 0, 0, 0x03}};
  nat_in6(frame, *p, ip6(kRip), 8080, from);
  Tins::EthernetII out(frame.data(), uint32_t(frame.size()));
  const auto& ip = out.rfind_pdu<Tins::IPv6>();
  EXPECT_EQ(ip.dst_addr().to_string(), kRip);
  EXPECT_EQ(ip.src_addr().to_string(), kCip);
  EXPECT_EQ(ip.hop_limit(), 63);
  EXPECT_EQ(out.rfind_pdu<Tins::TCP>().dport(), 8080);
  EXPECT_EQ(out.rfind_pdu<Tins::TCP>().sport(), 40000);
  EXPECT_EQ(out.src_addr().to_string(), "02:00:00:00:00:03");
  EXPECT_EQ(frame, recomputed(frame));
}

TEST(NatOut6, RewritesSourceToTheVipForUdp) {
  auto reply = eth(kDirectorMac, kClientMac) / Tins::IPv6(kCip, kRip) / Tins::UDP(40001, 8053) /
               Tins::RawPDU("answer");
  Bytes frame = serialize(reply);
  auto p = parse_ipv6(frame);
  ASSERT_TRUE(p);
  nat_out6(frame, *p, ip6(kVip), 53, Mac{{0x02, 0, 0, 0, 0, 0x04}});
  Tins::EthernetII out(frame.data(), uint32_t(frame.size()));
  EXPECT_EQ(out.rfind_pdu<Tins::IPv6>().src_addr().to_string(), kVip);
  EXPECT_EQ(out.rfind_pdu<Tins::UDP>().sport(), 53);
  EXPECT_EQ(frame, recomputed(frame));
}

TEST(NatIn6, LeavesAWrongChecksumWrong) {
  Bytes frame = udp_datagram();
  frame[Packet6::kL4 + 7] ^= 0x10;
  auto p = parse_ipv6(frame);
  ASSERT_TRUE(p);
  nat_in6(frame, *p, ip6(kRip), 8053, Mac{});
  EXPECT_NE(frame, recomputed(frame));
  auto after = parse_ipv6(frame);
  ASSERT_TRUE(after);
  EXPECT_FALSE(l4_checksum_ok6(frame, *after));
}

TEST(DrForward6, ChangesOnlyTheSourceMacAndHopLimit) {
  const Bytes before = tcp_syn();
  Bytes frame = before;
  dr_forward6(frame, Mac{{0x02, 0, 0, 0, 0, 0x05}});
  for (std::size_t at = 0; at < frame.size(); ++at) {
    const bool may_change = (at >= 6 && at < 12) || at == Packet6::kL3 + wire6::kHopLimit;
    if (!may_change) {
      EXPECT_EQ(frame[at], before[at]) << "byte " << at;
    }
  }
  EXPECT_EQ(frame[Packet6::kL3 + wire6::kHopLimit], 63);
}

Bytes solicitation(const char* source, const char* target) {
  Tins::ICMPv6 ns(Tins::ICMPv6::NEIGHBOUR_SOLICIT);
  ns.target_addr(target);
  ns.source_link_layer_addr(Tins::HWAddress<6>("02:00:00:00:00:09"));
  Tins::IPv6 ip("ff02::1:ff00:100", source);
  ip.hop_limit(255);
  auto frame = eth("33:33:ff:00:01:00", "02:00:00:00:00:09") / ip / ns;
  return serialize(frame);
}

TEST(NeighbourDiscovery, AnswersASolicitationAsTheKernelDoes) {
  Bytes ns = solicitation("fd00:20::1", kVip);
  auto p = parse_ipv6(ns);
  ASSERT_TRUE(p);
  auto target = solicited_target(ns, *p);
  ASSERT_TRUE(target);
  EXPECT_EQ(*target, ip6(kVip));
  std::array<uint8_t, 256> out{};
  const Mac mine{{0x02, 0, 0, 0, 0, 0x02}};
  const std::size_t n = build_advert(out, ns, *p, *target, mine);
  ASSERT_GT(n, 0u);
  Bytes frame(out.begin(), out.begin() + std::ptrdiff_t(n));
  EXPECT_EQ(frame, recomputed(frame));
  Tins::EthernetII e(frame.data(), uint32_t(frame.size()));
  EXPECT_EQ(e.dst_addr().to_string(), "02:00:00:00:00:09");
  EXPECT_EQ(e.src_addr().to_string(), "02:00:00:00:00:02");
  const auto& ip = e.rfind_pdu<Tins::IPv6>();
  EXPECT_EQ(ip.src_addr().to_string(), kVip);
  EXPECT_EQ(ip.dst_addr().to_string(), "fd00:20::1");
  EXPECT_EQ(ip.hop_limit(), 255);
  const auto& na = e.rfind_pdu<Tins::ICMPv6>();
  EXPECT_EQ(na.type(), Tins::ICMPv6::NEIGHBOUR_ADVERT);
  EXPECT_EQ(na.target_addr().to_string(), kVip);
  EXPECT_TRUE(na.solicited());
  EXPECT_TRUE(na.override());
  EXPECT_FALSE(na.router());
  EXPECT_EQ(na.target_link_layer_addr().to_string(), "02:00:00:00:00:02");
  // And it is an advertisement vsd itself takes for one.
  auto back = parse_ipv6(frame);
  ASSERT_TRUE(back);
  auto advert = parse_advert(frame, *back);
  ASSERT_TRUE(advert);
  EXPECT_EQ(advert->target, ip6(kVip));
  EXPECT_EQ(advert->mac, mine);
}

TEST(NeighbourDiscovery, LeavesDuplicateAddressDetectionAndForwardedOnesUnanswered) {
  Bytes dad = solicitation("::", kVip);
  auto p = parse_ipv6(dad);
  ASSERT_TRUE(p);
  EXPECT_FALSE(solicited_target(dad, *p));
  Bytes routed = solicitation("fd00:20::1", kVip);
  routed[Packet6::kL3 + wire6::kHopLimit] = 254;  // came through a router: not on the link
  p = parse_ipv6(routed);
  ASSERT_TRUE(p);
  EXPECT_FALSE(solicited_target(routed, *p));
}

TEST(NeighbourDiscovery, SolicitsToTheSolicitedNodeGroup) {
  std::array<uint8_t, 256> out{};
  const std::size_t n =
      build_solicit(out, ip6("fd00:168:10::1"), Mac{{0x02, 0, 0, 0, 0, 0x07}}, ip6(kRip));
  ASSERT_GT(n, 0u);
  Bytes frame(out.begin(), out.begin() + std::ptrdiff_t(n));
  EXPECT_EQ(frame, recomputed(frame));
  Tins::EthernetII e(frame.data(), uint32_t(frame.size()));
  EXPECT_EQ(e.dst_addr().to_string(), "33:33:ff:00:00:11");
  EXPECT_EQ(e.rfind_pdu<Tins::IPv6>().dst_addr().to_string(), "ff02::1:ff00:11");
  const auto& ns = e.rfind_pdu<Tins::ICMPv6>();
  EXPECT_EQ(ns.type(), Tins::ICMPv6::NEIGHBOUR_SOLICIT);
  EXPECT_EQ(ns.target_addr().to_string(), kRip);
  EXPECT_EQ(ns.source_link_layer_addr().to_string(), "02:00:00:00:00:07");
}

TEST(Echo6, RepliesFromTheVipWithTheRequestsTrafficClass) {
  Tins::ICMPv6 echo(Tins::ICMPv6::ECHO_REQUEST);
  echo.identifier(7);
  echo.sequence(3);
  Tins::IPv6 ip(kVip, kCip);
  ip.traffic_class(0x28);
  ip.flow_label(0x12345);
  ip.hop_limit(62);
  auto request = eth(kDirectorMac, kClientMac) / ip / echo / Tins::RawPDU("ping");
  Bytes frame = serialize(request);
  auto p = parse_ipv6(frame);
  ASSERT_TRUE(p);
  ASSERT_TRUE(l4_checksum_ok6(frame, *p));
  std::array<uint8_t, 256> out{};
  const std::size_t n = build_echo_reply6(out, frame, *p, Mac{{0x02, 0, 0, 0, 0, 0x02}});
  ASSERT_EQ(n, frame.size());
  Bytes reply(out.begin(), out.begin() + std::ptrdiff_t(n));
  EXPECT_EQ(reply, recomputed(reply));
  Tins::EthernetII e(reply.data(), uint32_t(reply.size()));
  EXPECT_EQ(e.dst_addr().to_string(), kClientMac);
  const auto& rip = e.rfind_pdu<Tins::IPv6>();
  EXPECT_EQ(rip.src_addr().to_string(), kVip);
  EXPECT_EQ(rip.dst_addr().to_string(), kCip);
  EXPECT_EQ(rip.hop_limit(), 64);
  EXPECT_EQ(rip.traffic_class(), 0x28);
  // Not the request's label (flowlabel_reflect=0): the stack's own for the flow, one for every
  // echo between the two addresses.
  EXPECT_NE(rip.flow_label(), 0u);
  EXPECT_NE(rip.flow_label(), 0x12345u);
  echo.identifier(8);
  ip.flow_label(0);
  auto second = eth(kDirectorMac, kClientMac) / ip / echo / Tins::RawPDU("pong");
  Bytes again = serialize(second);
  std::array<uint8_t, 256> out2{};
  ASSERT_EQ(build_echo_reply6(out2, again, *parse_ipv6(again), Mac{{0x02, 0, 0, 0, 0, 0x02}}),
            again.size());
  EXPECT_EQ(uint32_t(out2[15] & 0x0f) << 16 | uint32_t(out2[16]) << 8 | out2[17], rip.flow_label());
  const auto& icmp = e.rfind_pdu<Tins::ICMPv6>();
  EXPECT_EQ(icmp.type(), Tins::ICMPv6::ECHO_REPLY);
  EXPECT_EQ(icmp.identifier(), 7);
  EXPECT_EQ(icmp.sequence(), 3);
}

}  // namespace
}  // namespace vsd::fwd
