// TUN encapsulation checked against spec section 2 "TUN" (outer fields, PMTU) and section 12
// (outer / inner columns); the fragment sizes of a wrapped datagram are in fragment_test.cpp.
#include "fwd/tun.h"

#include <gtest/gtest.h>

#include "fwd/test_frames.h"

namespace vsd::fwd {
namespace {

using namespace testing;

constexpr uint16_t kFreshId = 0x5151;

TunnelParams tunnel(uint16_t mtu = 1500) {
  return {ip(kDip), ip(kRip), mtu, kFreshId, {mac(kDirectorIntMac), mac(kRsMac)}};
}

// A client packet to VIP:80 of `ip_length` bytes of IP, TTL 64, TOS 0x10.
Bytes client_packet(std::size_t ip_length, bool dont_fragment) {
  Tins::IP header = ipv4(kCip, kVip);
  header.tos(0x10);
  header.flags(dont_fragment ? Tins::IP::DONT_FRAGMENT : Tins::IP::Flags(0));
  auto frame = ethernet(kClientMac, kDirectorExtMac) / header / Tins::UDP(80, 40000) /
               Tins::RawPDU(payload_bytes(ip_length - 28));
  return serialize(frame);
}

TunResult encapsulate(const Bytes& frame, Bytes& out, uint16_t mtu = 1500) {
  return tun_encapsulate(std::span<const uint8_t>(frame.data(), frame.size()), view_of(frame),
                         tunnel(mtu), span_of(out));
}

TEST(TunEncapsulate, WrapsThePacketAsTheSpecSays) {
  Bytes frame = client_packet(100, true);
  Bytes before = frame;
  Bytes out(2000);
  TunResult result = encapsulate(frame, out);
  ASSERT_EQ(result.verdict, TunVerdict::Ok);
  ASSERT_EQ(result.length, 14u + 20 + 100);
  out.resize(result.length);
  EXPECT_EQ(frame, before);  // the received frame is not touched

  auto parsed = parse(out);
  EXPECT_EQ(parsed.dst_addr().to_string(), kRsMac);
  EXPECT_EQ(parsed.src_addr().to_string(), kDirectorIntMac);
  const auto& outer = parsed.rfind_pdu<Tins::IP>();
  EXPECT_EQ(outer.src_addr().to_string(), kDip);
  EXPECT_EQ(outer.dst_addr().to_string(), kRip);
  EXPECT_EQ(outer.protocol(), 4);
  EXPECT_EQ(outer.ttl(), 63);  // = inner TTL after the decrement
  EXPECT_EQ(outer.tos(), 0x10);
  EXPECT_EQ(outer.flags(), Tins::IP::DONT_FRAGMENT);
  EXPECT_EQ(outer.id(), 0);  // DF: ID 0
  EXPECT_EQ(outer.tot_len(), 120);
  EXPECT_EQ(outer.head_len(), 5);
  EXPECT_TRUE(ip_checksum_valid(out));

  // Inner (from byte 34): the original packet, TTL 63, checksum valid, addresses and ports kept.
  EXPECT_EQ(out[34 + 8], 63);
  EXPECT_TRUE(ip_checksum_valid(out, 34));
  EXPECT_TRUE(l4_checksum_valid(out, 34));
  for (std::size_t i = 0; i < 100; ++i) {
    bool ttl_or_checksum = i == 8 || i == 10 || i == 11;
    if (!ttl_or_checksum) {
      EXPECT_EQ(out[34 + i], frame[14 + i]) << "inner byte " << i;
    }
  }
  EXPECT_EQ(Ipv4::from_host(be32(out, 34 + 16)), ip(kVip));
  EXPECT_EQ(be16(out, 54 + 2), 80);
}

TEST(TunEncapsulate, WithoutDfTheOuterIdIsFreshAndDfClear) {
  Bytes frame = client_packet(100, false);
  Bytes out(2000);
  ASSERT_EQ(encapsulate(frame, out).verdict, TunVerdict::Ok);
  EXPECT_EQ(be16(out, 14 + 4), kFreshId);
  EXPECT_EQ(be16(out, 14 + 6), 0);
  EXPECT_TRUE(ip_checksum_valid(out));
}

TEST(TunEncapsulate, DropsLinkPadding) {
  Bytes frame = client_packet(30, true);
  frame.resize(60, 0xee);
  Bytes out(200);
  TunResult result = encapsulate(frame, out);
  ASSERT_EQ(result.verdict, TunVerdict::Ok);
  EXPECT_EQ(result.length, 14u + 20 + 30);
}

TEST(TunEncapsulate, ADfPacketThatFitsOnlyWithoutTheTunnelNeedsFragNeeded) {
  // 1481 + 20 > 1500; the next-hop MTU to report is 1480 (spec section 2 "PMTU").
  Bytes out(4000);
  EXPECT_EQ(encapsulate(client_packet(1481, true), out).verdict, TunVerdict::NeedsFragNeeded);
  EXPECT_EQ(tun_next_hop_mtu(1500), 1480);
  EXPECT_EQ(encapsulate(client_packet(1480, true), out).verdict, TunVerdict::Ok);
}

TEST(TunEncapsulate, WithPmtuDiscOffATooBigDfPacketIsWrappedForFragmentation) {
  // ensure_mtu_is_adequate lets a tunnelled packet pass when pmtu_disc is 0; the outer header
  // keeps the inner DF (ID 0), and output cuts it.
  Bytes out(4000);
  auto params = tunnel();
  params.pmtu_disc = false;
  Bytes frame = client_packet(1481, true);
  TunResult result = tun_encapsulate(std::span<const uint8_t>(frame.data(), frame.size()),
                                     view_of(frame), params, span_of(out));
  ASSERT_EQ(result.verdict, TunVerdict::NeedsFragmentation);
  EXPECT_EQ(result.length, 14u + 20 + 1481);
  EXPECT_EQ(out[14 + 6] & 0x40, 0x40);
  EXPECT_EQ(out[14 + 4] | out[14 + 5], 0);
}

TEST(TunEncapsulate, ATooBigPacketWithoutDfIsWrappedForFragmentation) {
  Bytes out(4000);
  TunResult result = encapsulate(client_packet(1481, false), out);
  EXPECT_EQ(result.verdict, TunVerdict::NeedsFragmentation);
  EXPECT_EQ(result.length, 14u + 20 + 1481);
}

TEST(TunEncapsulate, ATooBigIcmpErrorIsFragmentedEvenWithDf) {
  // ensure_mtu_is_adequate never answers an ICMP error with frag-needed.
  auto original = ipv4(kCip, kRip) / Tins::UDP(5353, 4000) / Tins::RawPDU(payload_bytes(1600));
  Bytes frame =
      icmp_error_frame(kClientMac, kDirectorExtMac, kCip, kVip, 3, 3, quote_of(original, 1480));
  put_be16(frame, 14 + 6, 0x4000);
  fix_ip_checksum(frame);
  Bytes out(4000);
  EXPECT_EQ(encapsulate(frame, out).verdict, TunVerdict::NeedsFragmentation);
}

TEST(TunEncapsulate, RefusesABufferTooSmall) {
  Bytes out(14 + 20 + 99);
  EXPECT_EQ(encapsulate(client_packet(100, true), out).verdict, TunVerdict::BufferTooSmall);
}

}  // namespace
}  // namespace vsd::fwd
