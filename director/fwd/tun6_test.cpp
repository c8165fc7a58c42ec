// ip6ip6 as ip_vs_tunnel_xmit_v6 builds it and the Packet Too Big for a packet the tunnel
// cannot carry, checked field by field with libtins (which recomputes checksums on writing).
#include "fwd/tun6.h"

#include <gtest/gtest.h>
#include <tins/tins.h>

#include <vector>

namespace vsd::fwd {
namespace {

using Bytes = std::vector<uint8_t>;

constexpr const char* kCip = "fd00:10::2";
constexpr const char* kVip = "fd00:40::100";
constexpr const char* kDip = "fd00:40::2";
constexpr const char* kRip = "fd00:50::11";
const Mac kPortMac{{0x02, 0, 0, 0, 0, 0x03}};

Ip6 ip6(const char* text) {
  Tins::IPv6Address a(text);
  Ip6 out;
  std::copy(a.begin(), a.end(), out.begin());
  return out;
}

// A client's SYN to the VIP with `extra` payload bytes, traffic class and flow label set.
Bytes syn(std::size_t extra = 0, uint8_t tclass = 0x28, uint8_t hop_limit = 62) {
  Tins::IPv6 ip(kVip, kCip);
  ip.hop_limit(hop_limit);
  ip.traffic_class(tclass);
  ip.flow_label(0x12345);
  Tins::TCP tcp(80, 40000);
  tcp.flags(Tins::TCP::SYN);
  auto frame = Tins::EthernetII("02:00:00:00:00:02", "02:00:00:00:00:01") / ip / tcp /
               Tins::RawPDU(Bytes(extra, 0xab));
  return frame.serialize();
}

Tunnel6 tunnel(uint32_t egress_mtu = 1500) {
  return {ip6(kDip), ip6(kRip), egress_mtu, kPortMac};
}

TEST(TunEncapsulate6, WrapsInIp6ip6WithTheInnerHopLimitAndTrafficClass) {
  const Bytes frame = syn();
  const auto p = parse_ipv6(frame);
  ASSERT_TRUE(p);
  Bytes out(2048);
  const auto r = tun_encapsulate6(frame, *p, tunnel(), out);
  ASSERT_EQ(r.verdict, Tun6Verdict::Ok);
  ASSERT_EQ(r.length, frame.size() + 40);
  out.resize(r.length);
  Tins::EthernetII e(out.data(), uint32_t(out.size()));
  EXPECT_EQ(e.src_addr().to_string(), "02:00:00:00:00:03");
  EXPECT_EQ(e.payload_type(), 0x86dd);
  const auto& outer = e.rfind_pdu<Tins::IPv6>();
  EXPECT_EQ(outer.next_header(), 41);
  EXPECT_EQ(outer.src_addr().to_string(), kDip);
  EXPECT_EQ(outer.dst_addr().to_string(), kRip);
  EXPECT_EQ(outer.hop_limit(), 61);
  EXPECT_EQ(outer.traffic_class(), 0x28);
  EXPECT_EQ(outer.flow_label(), 0u);
  EXPECT_EQ(outer.payload_length(), frame.size() - 14);
  // The inner packet: as it came but for its hop limit, its checksum still right.
  Bytes inner_expected(frame.begin() + 14, frame.end());
  inner_expected[7] = 61;
  EXPECT_EQ(Bytes(out.begin() + 54, out.end()), inner_expected);
}

TEST(TunEncapsulate6, CongestionExperiencedIsNotCopiedOutside) {
  const Bytes frame = syn(0, 0x2b);  // DSCP 10, CE
  const auto p = parse_ipv6(frame);
  Bytes out(2048);
  const auto r = tun_encapsulate6(frame, *p, tunnel(), out);
  ASSERT_EQ(r.verdict, Tun6Verdict::Ok);
  EXPECT_EQ(out[14] & 0x0f, 0x02);  // traffic class 0x2a: ECT(0)
  EXPECT_EQ(out[15] >> 4, 0x0a);
  EXPECT_EQ(out[54] & 0x0f, 0x02);  // inner: 0x2b kept
  EXPECT_EQ(out[55] >> 4, 0x0b);
  EXPECT_EQ(encapsulated_traffic_class(0x01), 0x01);
  EXPECT_EQ(encapsulated_traffic_class(0xb8), 0xb8);
}

TEST(TunEncapsulate6, APacketPastTheTunnelsMtuGetsPacketTooBig) {
  // 1460 bytes of IPv6 fit a 1500-byte link's tunnel; 1461 do not.
  const Bytes fits = syn(1460 - 40 - 20);
  const Bytes too_big = syn(1461 - 40 - 20);
  Bytes out(4096);
  EXPECT_EQ(tun_encapsulate6(fits, *parse_ipv6(fits), tunnel(), out).verdict, Tun6Verdict::Ok);
  const auto r = tun_encapsulate6(too_big, *parse_ipv6(too_big), tunnel(), out);
  EXPECT_EQ(r.verdict, Tun6Verdict::PacketTooBig);
  EXPECT_EQ(r.mtu, 1460u);
}

TEST(TunEncapsulate6, ATunnelNarrowerThan1280CarriesNothing) {
  const Bytes small = syn();
  Bytes out(4096);
  EXPECT_EQ(tun_encapsulate6(small, *parse_ipv6(small), tunnel(1319), out).verdict,
            Tun6Verdict::TunnelTooNarrow);
  EXPECT_EQ(tun_encapsulate6(small, *parse_ipv6(small), tunnel(1320), out).verdict,
            Tun6Verdict::Ok);
}

TEST(TunEncapsulate6, RefusesAnOutputThatCannotHoldIt) {
  const Bytes frame = syn();
  Bytes out(frame.size() + 39);
  EXPECT_EQ(tun_encapsulate6(frame, *parse_ipv6(frame), tunnel(), out).verdict,
            Tun6Verdict::BufferTooSmall);
}

TEST(PacketTooBig6, FromTheVipQuotingWhatFitsIn1280Bytes) {
  const Bytes frame = syn(1800);
  const auto p = parse_ipv6(frame);
  Bytes out(4096);
  const std::size_t n = build_packet_too_big6(out, frame, *p, 1460, kPortMac);
  ASSERT_EQ(n, 14u + 1280u);
  out.resize(n);
  Tins::EthernetII e(out.data(), uint32_t(out.size()));
  EXPECT_EQ(e.dst_addr().to_string(), "02:00:00:00:00:01");
  EXPECT_EQ(e.src_addr().to_string(), "02:00:00:00:00:03");
  const auto& ip = e.rfind_pdu<Tins::IPv6>();
  EXPECT_EQ(ip.src_addr().to_string(), kVip);
  EXPECT_EQ(ip.dst_addr().to_string(), kCip);
  EXPECT_EQ(ip.hop_limit(), 64);
  EXPECT_NE(ip.flow_label(), 0u);  // the stack's own, as icmp6_send gives every error
  EXPECT_EQ(ip.next_header(), 58);
  EXPECT_EQ(ip.payload_length(), 1240);
  EXPECT_EQ(out[54], 2);  // Packet Too Big, code 0
  EXPECT_EQ(out[55], 0);
  EXPECT_EQ(uint32_t(out[58] << 24 | out[59] << 16 | out[60] << 8 | out[61]), 1460u);
  // The quote: the packet from its header on, its hop limit one less.
  Bytes quote(frame.begin() + 14, frame.begin() + 14 + 1232);
  quote[7] = 61;
  EXPECT_EQ(Bytes(out.begin() + 62, out.end()), quote);
  // The checksum over the pseudo-header verifies.
  Tins::IPv6 copy(out.data() + 14, uint32_t(out.size() - 14));
  const auto again = Tins::EthernetII(e.dst_addr(), e.src_addr()) / copy;
  EXPECT_EQ(const_cast<Tins::EthernetII&>(again).serialize(), out);
}

TEST(PacketTooBig6, ASmallPacketIsQuotedWhole) {
  const Bytes frame = syn(100);
  const auto p = parse_ipv6(frame);
  Bytes out(4096);
  const std::size_t n = build_packet_too_big6(out, frame, *p, 1280, kPortMac);
  EXPECT_EQ(n, frame.size() + 48);
  EXPECT_EQ(build_packet_too_big6(std::span<uint8_t>(out).first(n - 1), frame, *p, 1280, kPortMac),
            0u);
}

}  // namespace
}  // namespace vsd::fwd
